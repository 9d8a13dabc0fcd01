/* The storage seam (blobs/blobs.h): key checks, the local staging
 * directories every backend shares, and the dispatch to a backend's ops.
 * Every call that takes a key checks it here first, so that no backend can
 * be handed a key that leaves its directory or bucket prefix. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blobs/blobs_int.h"
#include "util/alloc.h"

bool mp_blobs_key_ok(const char *key)
{
    if (key == NULL || key[0] == '\0' || key[0] == '.')
        return false; /* "", ".", ".." and hidden names */
    size_t n = 0;
    for (const char *p = key; *p != '\0'; p++, n++) {
        char c = *p;
        bool ok =
            (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '.' || c == '_' || c == '-';
        if (!ok || n >= MP_BLOBS_KEY_MAX)
            return false;
    }
    return true;
}

/* ---- local staging ------------------------------------------------------------------ */

static int fail(char *err, size_t errlen, int e, const char *what, const char *path)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
    return -e;
}

/* mkdir -p with mode 0700 for what it creates; an existing directory is fine. */
static int mkdirs(const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return -ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return -errno;
        buf[i] = saved;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Deletes the regular files directly in dir (nothing else: no recursion, no
 * symbolic links followed). */
static int tmp_empty(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (dfd < 0)
        return -errno;
    DIR *d = fdopendir(dfd);
    if (d == NULL) {
        int e = errno;
        close(dfd);
        return -e;
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (unlinkat(dfd, de->d_name, 0) != 0 && errno != ENOENT)
            rc = -errno;
    }
    closedir(d); /* closes dfd */
    return rc;
}

int mp_blobs__local_init(mp_blobs_t *b, const char *dir, char *err, size_t errlen)
{
    if (dir == NULL || dir[0] == '\0')
        return fail(err, errlen, EINVAL, "files directory", "(empty)");
    /* Room for "/uploads/<20 digits>" and "/tmp/<key>" after it. */
    if (strlen(dir) + 16 + MP_BLOBS_KEY_MAX >= sizeof b->dir)
        return fail(err, errlen, ENAMETOOLONG, "files directory", dir);
    snprintf(b->dir, sizeof b->dir, "%s", dir);
    static const char *const subs[] = {"", "/tmp", "/uploads"};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s%s", dir, subs[i]);
        int rc = mkdirs(path);
        if (rc != 0)
            return fail(err, errlen, -rc, "cannot create", path);
    }
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/tmp", dir);
    int rc = tmp_empty(tmp);
    return rc == 0 ? 0 : fail(err, errlen, -rc, "cannot empty", tmp);
}

int mp_blobs_tmp_path(const mp_blobs_t *b, const char *name, char *out, size_t outlen)
{
    if (!mp_blobs_key_ok(name))
        return -1;
    int n = snprintf(out, outlen, "%s/tmp/%s", b->dir, name);
    return n >= 0 && (size_t)n < outlen ? 0 : -1;
}

int mp_blobs_upload_path(const mp_blobs_t *b, uint64_t upload_id, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/uploads/%llu", b->dir, (unsigned long long)upload_id);
    return n >= 0 && (size_t)n < outlen ? 0 : -1;
}

/* ---- dispatch -------------------------------------------------------------------------- */

void mp_blobs_close(mp_blobs_t *b)
{
    if (b == NULL)
        return;
    if (b->ops != NULL && b->ops->destroy != NULL)
        b->ops->destroy(b);
    mp_free(b);
}

int mp_blobs_put(mp_blobs_t *b, const char *path, const char *key)
{
    if (!mp_blobs_key_ok(key) || path == NULL)
        return -EINVAL;
    return b->ops->put(b, path, key);
}

int mp_blobs_open(mp_blobs_t *b, const char *key, mp_blob_reader_t **out, uint64_t *size)
{
    *out = NULL;
    if (!mp_blobs_key_ok(key))
        return -EINVAL;
    uint64_t ignored;
    int rc = b->ops->open(b, key, out, size != NULL ? size : &ignored);
    if (rc == 0)
        (*out)->ops = b->ops;
    return rc;
}

ssize_t mp_blobs_read(mp_blob_reader_t *r, void *buf, size_t len, uint64_t off)
{
    return r->ops->read(r, buf, len, off);
}

void mp_blobs_reader_close(mp_blob_reader_t *r)
{
    if (r != NULL)
        r->ops->close(r);
}

int mp_blobs_delete(mp_blobs_t *b, const char *key)
{
    if (!mp_blobs_key_ok(key))
        return -EINVAL;
    return b->ops->del(b, key);
}

bool mp_blobs_exists(mp_blobs_t *b, const char *key, uint64_t *size)
{
    if (!mp_blobs_key_ok(key))
        return false;
    uint64_t ignored;
    return b->ops->exists(b, key, size != NULL ? size : &ignored);
}
