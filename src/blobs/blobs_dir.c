/* The local directory backend of the storage seam: each key is one file,
 * dir/blobs/<first two characters>/<key>, so that no directory grows past
 * a few thousand entries per million blobs. Files are written elsewhere
 * (dir/tmp, dir/uploads) and moved in whole by put, so a key never names
 * half a file. Everything goes through one descriptor of dir/blobs opened
 * at start, and every name below it comes from a checked key (blobs.c):
 * nothing can reach outside it, and O_NOFOLLOW refuses links planted in it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blobs/blobs_int.h"
#include "util/alloc.h"

typedef struct dir_state {
    int blobs_fd; /* dir/blobs */
} dir_state_t;

typedef struct dir_reader {
    mp_blob_reader_t base; /* FIRST */
    int fd;
} dir_reader_t;

static int blobs_fd(const mp_blobs_t *b)
{
    return ((const dir_state_t *)b->impl)->blobs_fd;
}

/* The fan-out directory of key ("ab" for "abc..."; a one-character key
 * "a" goes to "a_", which a longer key may share: sharing is harmless). */
static void fan_name(const char *key, char fan[3])
{
    fan[0] = key[0];
    fan[1] = key[1] != '\0' ? key[1] : '_';
    fan[2] = '\0';
}

/* "<fan>/<key>", relative to dir/blobs. */
static void rel_path(const char *key, char out[3 + 1 + MP_BLOBS_KEY_MAX + 1])
{
    char fan[3];
    fan_name(key, fan);
    snprintf(out, 3 + 1 + MP_BLOBS_KEY_MAX + 1, "%s/%s", fan, key);
}

static int fsync_path(const char *path, int flags)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | flags);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

/* Opens (creating it when missing) the fan-out directory of key. A new
 * directory's own entry is made durable in dir/blobs before anything is put
 * in it. */
static int fan_open(mp_blobs_t *b, const char *key)
{
    char fan[3];
    fan_name(key, fan);
    int bfd = blobs_fd(b);
    if (mkdirat(bfd, fan, 0700) == 0) {
        if (fsync(bfd) != 0)
            return -errno;
    } else if (errno != EEXIST) {
        return -errno;
    }
    int fd = openat(bfd, fan, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    return fd >= 0 ? fd : -errno;
}

/* Moves path to fan_fd/key unless key exists: rename without replacing,
 * or, where the file system cannot do that, a hard link (which fails on an
 * existing name too) and the removal of path. */
static int move_noreplace(const char *path, int fan_fd, const char *key)
{
    if (renameat2(AT_FDCWD, path, fan_fd, key, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return -errno;
    if (linkat(AT_FDCWD, path, fan_fd, key, 0) != 0)
        return -errno;
    return unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
}

/* Durability order: the bytes, then the new name, then the directory that
 * holds the name. Only after that does the caller record the key. */
static int dir_put(mp_blobs_t *b, const char *path, const char *key)
{
    int rc = fsync_path(path, O_NOFOLLOW);
    if (rc != 0)
        return rc;
    int fan_fd = fan_open(b, key);
    if (fan_fd < 0)
        return fan_fd;
    rc = move_noreplace(path, fan_fd, key);
    if (rc == 0 && fsync(fan_fd) != 0)
        rc = -errno;
    close(fan_fd);
    /* The directory path was staged in is not synced: a staged copy that
     * comes back after a crash is in tmp/ (emptied at start) or is an
     * upload's bytes that its session names anyway. */
    return rc;
}

static int dir_open(mp_blobs_t *b, const char *key, mp_blob_reader_t **out, uint64_t *size)
{
    char rel[3 + 1 + MP_BLOBS_KEY_MAX + 1];
    rel_path(key, rel);
    int fd = openat(blobs_fd(b), rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ELOOP ? -ENOENT : -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return -ENOENT; /* nothing put there: a key is always a regular file */
    }
    dir_reader_t *r = mp_calloc(1, sizeof *r);
    r->fd = fd;
    *size = (uint64_t)st.st_size;
    *out = &r->base;
    return 0;
}

static ssize_t dir_read(mp_blob_reader_t *rd, void *buf, size_t len, uint64_t off)
{
    dir_reader_t *r = (dir_reader_t *)rd;
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(r->fd, (char *)buf + got, len - got, (off_t)(off + got));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return got > 0 ? (ssize_t)got : -errno;
        }
        if (n == 0)
            break; /* the end */
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static void dir_close(mp_blob_reader_t *rd)
{
    dir_reader_t *r = (dir_reader_t *)rd;
    close(r->fd);
    mp_free(r);
}

static int dir_delete(mp_blobs_t *b, const char *key)
{
    char rel[3 + 1 + MP_BLOBS_KEY_MAX + 1];
    rel_path(key, rel);
    if (unlinkat(blobs_fd(b), rel, 0) == 0 || errno == ENOENT || errno == ENOTDIR)
        return 0;
    return -errno;
}

static bool dir_exists(mp_blobs_t *b, const char *key, uint64_t *size)
{
    char rel[3 + 1 + MP_BLOBS_KEY_MAX + 1];
    rel_path(key, rel);
    struct stat st;
    if (fstatat(blobs_fd(b), rel, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
        return false;
    *size = (uint64_t)st.st_size;
    return true;
}

static void dir_destroy(mp_blobs_t *b)
{
    dir_state_t *s = b->impl;
    if (s != NULL && s->blobs_fd >= 0)
        close(s->blobs_fd);
    mp_free(s);
    b->impl = NULL;
}

static const mp_blobs_ops_t DIR_OPS = {
    .put = dir_put,
    .open = dir_open,
    .read = dir_read,
    .close = dir_close,
    .del = dir_delete,
    .exists = dir_exists,
    .destroy = dir_destroy,
};

mp_blobs_t *mp_blobs_open_dir(const char *dir, char *err, size_t errlen)
{
    mp_blobs_t *b = mp_calloc(1, sizeof *b);
    dir_state_t *s = mp_calloc(1, sizeof *s);
    s->blobs_fd = -1;
    b->ops = &DIR_OPS;
    b->impl = s;
    if (mp_blobs__local_init(b, dir, err, errlen) != 0) {
        mp_blobs_close(b);
        return NULL;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/blobs", b->dir);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        mp_blobs_close(b);
        return NULL;
    }
    s->blobs_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (s->blobs_fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        mp_blobs_close(b);
        return NULL;
    }
    return b;
}
