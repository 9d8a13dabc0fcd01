/* The local directory backend of the storage seam. */
#include <errno.h>
#include <stdio.h>

#include "blobs/blobs.h"
#include "util/alloc.h"

struct mp_blobs {
    char dir[1024];
};

mp_blobs_t *mp_blobs_open_dir(const char *dir, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    mp_blobs_t *b = mp_calloc(1, sizeof *b);
    snprintf(b->dir, sizeof b->dir, "%s", dir);
    return b;
}

void mp_blobs_close(mp_blobs_t *b)
{
    mp_free(b);
}

bool mp_blobs_key_ok(const char *key)
{
    (void)key;
    return false;
}

int mp_blobs_tmp_path(const mp_blobs_t *b, const char *name, char *out, size_t outlen)
{
    return snprintf(out, outlen, "%s/tmp/%s", b->dir, name) < (int)outlen ? 0 : -1;
}

int mp_blobs_upload_path(const mp_blobs_t *b, uint64_t upload_id, char *out, size_t outlen)
{
    return snprintf(out, outlen, "%s/uploads/%llu", b->dir, (unsigned long long)upload_id) <
                   (int)outlen
               ? 0
               : -1;
}

int mp_blobs_put(mp_blobs_t *b, const char *path, const char *key)
{
    (void)b, (void)path, (void)key;
    return -ENOSYS;
}

int mp_blobs_open(mp_blobs_t *b, const char *key, mp_blob_reader_t **out, uint64_t *size)
{
    (void)b, (void)key, (void)out, (void)size;
    return -ENOENT;
}

ssize_t mp_blobs_read(mp_blob_reader_t *r, void *buf, size_t len, uint64_t off)
{
    (void)r, (void)buf, (void)len, (void)off;
    return -EIO;
}

void mp_blobs_reader_close(mp_blob_reader_t *r)
{
    (void)r;
}

int mp_blobs_delete(mp_blobs_t *b, const char *key)
{
    (void)b, (void)key;
    return 0;
}

bool mp_blobs_exists(mp_blobs_t *b, const char *key, uint64_t *size)
{
    (void)b, (void)key, (void)size;
    return false;
}
