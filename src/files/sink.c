/* A streamed request body written to a file: pieces are gathered up to
 * MP_FILES_SINK_BUF, then written with reading paused until the write is
 * done, so that an upload of any size holds a bounded buffer and the loop
 * never waits on the disk. Also the module's small file system requests. */
#include <string.h>

#include "files/files_int.h"
#include "util/alloc.h"

/* Room for one socket read past the flush mark, so that a piece is copied
 * whole without growing the buffer in the common case. */
#define SINK_SLACK (64 * 1024)

static uv_loop_t *loop_of(const mp_files_t *files)
{
    return files->ctx->loop;
}

static void fs_finished(mp_files_sink_t *s)
{
    uv_fs_req_cleanup(&s->fs);
    mp_files__release(s->files);
}

static void on_open(uv_fs_t *r)
{
    mp_files_sink_t *s = r->data;
    ssize_t res = r->result;
    fs_finished(s);
    if (res >= 0)
        s->fd = (uv_file)res;
    s->opened(s, res < 0 ? (int)res : 0);
}

void mp_files__sink_open(mp_files_sink_t *s, mp_files_t *files, mp_http_req_t *req,
                         const char *path, int flags, mp_files_sink_open_fn opened, void *ud)
{
    memset(s, 0, sizeof *s);
    s->files = files;
    s->req = req;
    s->ud = ud;
    s->fd = -1;
    s->opened = opened;
    s->fs.data = s;
    mp_files__hold(files);
    int rc = uv_fs_open(loop_of(files), &s->fs, path, flags, 0600, on_open);
    MP_ASSERT(rc == 0); /* with a callback, only invalid arguments fail here */
    (void)rc;
}

/* ---- closing --------------------------------------------------------------------- */

static void finish(mp_files_sink_t *s)
{
    mp_free(s->buf);
    s->buf = NULL;
    s->nbuf = s->sent = 0;
    s->done(s, s->ended ? MP_BODY_END : MP_BODY_ABORT, s->err);
}

static void on_close(uv_fs_t *r)
{
    mp_files_sink_t *s = r->data;
    ssize_t res = r->result;
    fs_finished(s);
    s->fd = -1;
    /* A failed close may have lost written data (NFS, quota): an error. */
    if (res < 0 && s->err == 0)
        s->err = (int)res;
    finish(s);
}

static void close_file(mp_files_sink_t *s)
{
    s->closing = true;
    if (s->fd < 0) {
        finish(s);
        return;
    }
    mp_files__hold(s->files);
    int rc = uv_fs_close(loop_of(s->files), &s->fs, s->fd, on_close);
    MP_ASSERT(rc == 0);
    (void)rc;
}

void mp_files__sink_close(mp_files_sink_t *s, mp_files_sink_done_fn done)
{
    MP_ASSERT(!s->closing && !s->writing);
    s->done = done;
    close_file(s);
}

/* ---- writing ---------------------------------------------------------------------- */

static void write_buf(mp_files_sink_t *s);

/* What follows a write (or an END / ABORT while none is in flight). */
static void step(mp_files_sink_t *s)
{
    if (s->err != 0)
        close_file(s);
    else if ((s->ended || (s->aborted && s->keep_partial)) && s->nbuf > 0)
        write_buf(s);
    else if (s->ended || s->aborted)
        close_file(s);
    else
        mp_http_body_pause(s->req, false);
}

static void on_write(uv_fs_t *r)
{
    mp_files_sink_t *s = r->data;
    ssize_t res = r->result;
    fs_finished(s);
    s->writing = false;
    if (res < 0) {
        s->err = (int)res;
    } else {
        s->sent += (size_t)res;
        if (s->sent < s->nbuf) { /* a short write: the rest */
            write_buf(s);
            return;
        }
        s->nbuf = s->sent = 0;
    }
    step(s);
}

static void write_buf(mp_files_sink_t *s)
{
    MP_ASSERT(!s->writing && s->fd >= 0 && s->sent < s->nbuf);
    s->writing = true;
    mp_http_body_pause(s->req, true);
    uv_buf_t b = uv_buf_init(s->buf + s->sent, (unsigned)(s->nbuf - s->sent));
    mp_files__hold(s->files);
    /* Offset -1: at the file position (the end, for an O_APPEND file). */
    int rc = uv_fs_write(loop_of(s->files), &s->fs, s->fd, &b, 1, -1, on_write);
    MP_ASSERT(rc == 0);
    (void)rc;
}

static void take(mp_files_sink_t *s, const char *data, size_t len)
{
    /* Reading is paused while a write is in flight: the buffer the pool is
     * writing from must not move. */
    MP_ASSERT(!s->writing);
    if (s->nbuf + len > s->cap) { /* a socket read larger than the slack */
        s->cap = s->nbuf + len;
        s->buf = mp_realloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->nbuf, data, len);
    s->nbuf += len;
    s->received += len;
    if (s->nbuf >= MP_FILES_SINK_BUF)
        write_buf(s);
}

static void on_body(mp_http_req_t *req, mp_body_ev_t ev, const char *data, size_t len, void *ud)
{
    (void)req;
    mp_files_sink_t *s = ud;
    /* After a failed write the file is being closed: nothing more is taken. */
    if (s->closing || s->err != 0)
        return;
    switch (ev) {
    case MP_BODY_DATA:
        take(s, data, len);
        return;
    case MP_BODY_END:
        s->ended = true;
        break;
    case MP_BODY_ABORT:
        s->aborted = true;
        break;
    }
    if (!s->writing)
        step(s);
}

void mp_files__sink_start(mp_files_sink_t *s, mp_files_sink_done_fn done)
{
    MP_ASSERT(s->fd >= 0 && s->buf == NULL);
    s->done = done;
    s->cap = MP_FILES_SINK_BUF + SINK_SLACK;
    s->buf = mp_malloc(s->cap);
    mp_http_body_start(s->req, on_body, s);
}

/* ---- small requests ------------------------------------------------------------------ */

typedef struct fs_req {
    uv_fs_t fs;
    mp_files_t *files;
    mp_files_stat_fn cb;
    void *ud;
} fs_req_t;

static fs_req_t *fs_req_new(mp_files_t *files)
{
    fs_req_t *q = mp_calloc(1, sizeof *q);
    q->files = files;
    q->fs.data = q;
    mp_files__hold(files);
    return q;
}

static void fs_req_free(fs_req_t *q)
{
    uv_fs_req_cleanup(&q->fs);
    mp_files__release(q->files);
    mp_free(q);
}

static void on_unlinked(uv_fs_t *r)
{
    fs_req_free(r->data);
}

void mp_files__unlink(mp_files_t *files, const char *path)
{
    fs_req_t *q = fs_req_new(files);
    int rc = uv_fs_unlink(loop_of(files), &q->fs, path, on_unlinked);
    MP_ASSERT(rc == 0);
    (void)rc;
}

static void on_stat(uv_fs_t *r)
{
    fs_req_t *q = r->data;
    int err = r->result < 0 ? (int)r->result : 0;
    uint64_t size = err == 0 ? (uint64_t)r->statbuf.st_size : 0;
    mp_files_stat_fn cb = q->cb;
    void *ud = q->ud;
    fs_req_free(q);
    cb(size, err, ud);
}

void mp_files__stat(mp_files_t *files, const char *path, mp_files_stat_fn cb, void *ud)
{
    fs_req_t *q = fs_req_new(files);
    q->cb = cb;
    q->ud = ud;
    int rc = uv_fs_stat(loop_of(files), &q->fs, path, on_stat);
    MP_ASSERT(rc == 0);
    (void)rc;
}
