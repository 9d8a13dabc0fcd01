/* Serving the client from a directory (web_root), for its development: the
 * files are read as they are on disk at each request (a rebuild shows at the
 * next reload), never cached by the browser, never compressed. The reads go
 * through libuv's thread pool: the loop never touches the disk. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util/alloc.h"
#include "util/log.h"
#include "web/web.h"
#include "web/web_int.h"

/* A development server has no business with larger files. */
#define MAX_FILE (32u << 20)

typedef struct root_job {
    uv_fs_t fs;
    mp_http_req_t *req;
    mp_web_t *web;
    uv_file fd;
    bool index; /* serving index.html for a client route */
    char *buf;
    size_t len;
    char path[1300];
    char name[1024]; /* the file's path below web_root, for its type */
} root_job_t;

static void job_free(root_job_t *j)
{
    mp_free(j->buf);
    mp_free(j);
}

static void closed(uv_fs_t *fs)
{
    uv_fs_req_cleanup(fs);
    job_free(fs->data);
}

/* Answers (or not, with status 0), then closes the file if one is open. */
static void finish(root_job_t *j, int status, const char *msg)
{
    if (status == 200) {
        mp_web__headers(j->req, j->index || strstr(j->name, ".html"), false);
        if (mp_http_stream_begin_length(j->req, 200, mp_web_mime(j->name), j->len))
            mp_http_stream_write(j->req, j->buf, j->len);
        mp_http_stream_end(j->req, true);
    } else {
        mp_http_respond_error(j->req, status == 404 ? MP_ERR_NOT_FOUND : MP_ERR_INTERNAL, msg);
    }
    if (j->fd < 0) {
        job_free(j);
        return;
    }
    j->fs.data = j;
    uv_fs_close(j->web->loop, &j->fs, j->fd, closed);
}

static void read_done(uv_fs_t *fs)
{
    root_job_t *j = fs->data;
    ssize_t r = fs->result;
    uv_fs_req_cleanup(fs);
    if (r < 0) {
        mp_log_warn("web_root: reading %s: %s", j->path, uv_strerror((int)r));
        finish(j, 500, "the file could not be read");
        return;
    }
    j->len = (size_t)r; /* a file that shrank meanwhile is served as it is now */
    finish(j, 200, NULL);
}

static void stat_done(uv_fs_t *fs)
{
    root_job_t *j = fs->data;
    int r = (int)fs->result;
    uv_stat_t st = fs->statbuf;
    uv_fs_req_cleanup(fs);
    if (r < 0 || !S_ISREG(st.st_mode)) {
        finish(j, 404, NULL);
        return;
    }
    if (st.st_size > MAX_FILE) {
        finish(j, 500, "the file is too large for web_root");
        return;
    }
    j->buf = mp_malloc(st.st_size ? (size_t)st.st_size : 1);
    uv_buf_t b = uv_buf_init(j->buf, (unsigned)st.st_size);
    j->fs.data = j;
    uv_fs_read(j->web->loop, &j->fs, j->fd, &b, 1, 0, read_done);
}

static void start(root_job_t *j);

static void open_done(uv_fs_t *fs)
{
    root_job_t *j = fs->data;
    int r = (int)fs->result;
    uv_fs_req_cleanup(fs);
    if (r < 0) {
        /* A client route (/chats/123) is no file: the client's page shows it. */
        if (!j->index && (r == UV_ENOENT || r == UV_ENOTDIR) && mp_web__is_route(j->name)) {
            j->index = true;
            snprintf(j->name, sizeof j->name, "/index.html");
            start(j);
            return;
        }
        finish(j, 404, NULL);
        return;
    }
    j->fd = r;
    j->fs.data = j;
    uv_fs_fstat(j->web->loop, &j->fs, j->fd, stat_done);
}

static void start(root_job_t *j)
{
    snprintf(j->path, sizeof j->path, "%s%s", j->web->cfg->web_root, j->name);
    j->fs.data = j;
    int r = uv_fs_open(j->web->loop, &j->fs, j->path, O_RDONLY | O_CLOEXEC, 0, open_done);
    if (r < 0) {
        uv_fs_req_cleanup(&j->fs);
        finish(j, 404, NULL);
    }
}

void mp_web__serve_root(mp_web_t *web, mp_http_req_t *req, const char *path)
{
    if (!mp_web__path_ok(path) || strlen(path) >= sizeof(((root_job_t *)0)->name)) {
        mp_http_respond_error(req, MP_ERR_NOT_FOUND, NULL);
        return;
    }
    root_job_t *j = mp_calloc(1, sizeof(*j));
    j->req = req;
    j->web = web;
    j->fd = -1;
    snprintf(j->name, sizeof j->name, "%s", path);
    start(j);
}
