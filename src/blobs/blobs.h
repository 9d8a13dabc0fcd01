/* The storage seam for file bytes: uploads, re-encoded copies and renditions
 * are stored and read by storage key, through this small interface, so that
 * an object store (S3 and compatible) can be added beside the local
 * directory without touching the routes. Keys are made by the files module:
 * [0-9a-z._-], at most MP_BLOBS_KEY_MAX bytes, never reused.
 *
 * Every call here may block on the disk: call them from a thread of the pool,
 * never from the loop. A backend is thread-safe. */
#ifndef MP_BLOBS_BLOBS_H
#define MP_BLOBS_BLOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MP_BLOBS_KEY_MAX 100

typedef struct mp_blobs mp_blobs_t;
typedef struct mp_blob_reader mp_blob_reader_t;

/* The local directory backend: dir/blobs/<k0k1>/<key> (two levels of fan-out
 * by the key's first characters), dir/uploads/ (resumable uploads in
 * progress) and dir/tmp/ (everything else in progress; emptied at open, as
 * nothing in it can be finished after a restart). Creates what is missing
 * (mode 0700). NULL with a message in err on failure. */
mp_blobs_t *mp_blobs_open_dir(const char *dir, char *err, size_t errlen);
void mp_blobs_close(mp_blobs_t *b);

/* True when key is a valid storage key. */
bool mp_blobs_key_ok(const char *key);

/* A path in dir/tmp (name: [0-9a-z._-]) or dir/uploads for a file the
 * caller writes before handing it to put. Local paths, on the same file
 * system as the blobs, so that put is a rename. -1 when it does not fit. */
int mp_blobs_tmp_path(const mp_blobs_t *b, const char *name, char *out, size_t outlen);
int mp_blobs_upload_path(const mp_blobs_t *b, uint64_t upload_id, char *out, size_t outlen);

/* Stores the finished file at path under key, durably (the data and the
 * directory entry are on disk when it returns 0); path is gone afterwards.
 * A key that exists already is an error (-EEXIST). 0 or -errno. */
int mp_blobs_put(mp_blobs_t *b, const char *path, const char *key);

/* Opens key for reading; *size gets its length. 0 or -errno (-ENOENT). */
int mp_blobs_open(mp_blobs_t *b, const char *key, mp_blob_reader_t **out, uint64_t *size);
/* Reads up to len bytes at off (short only at the end). Bytes read, or
 * -errno. */
ssize_t mp_blobs_read(mp_blob_reader_t *r, void *buf, size_t len, uint64_t off);
void mp_blobs_reader_close(mp_blob_reader_t *r);

/* Deletes key; a key that is not there is not an error. 0 or -errno. */
int mp_blobs_delete(mp_blobs_t *b, const char *key);
/* True when key is stored (*size its length when size is not NULL). */
bool mp_blobs_exists(mp_blobs_t *b, const char *key, uint64_t *size);

#endif
