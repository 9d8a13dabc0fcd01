/* Internal to src/blobs: the backend interface behind blobs.h. A backend
 * fills an ops table; blobs.c checks every key before it reaches one, so a
 * backend never sees a key outside [0-9a-z._-]{1,100} or starting with '.'.
 * The staging directories (tmp, uploads) are local for every backend: files
 * are written there first and handed to put. */
#ifndef MP_BLOBS_INT_H
#define MP_BLOBS_INT_H

#include <limits.h>

#include "blobs/blobs.h"

typedef struct mp_blobs_ops {
    /* Stores the finished local file at path under key durably, never
     * replacing a stored key (-EEXIST); path is gone after 0. */
    int (*put)(mp_blobs_t *b, const char *path, const char *key);
    /* A reader of key, whose first member is an mp_blob_reader_t. */
    int (*open)(mp_blobs_t *b, const char *key, mp_blob_reader_t **out, uint64_t *size);
    ssize_t (*read)(mp_blob_reader_t *r, void *buf, size_t len, uint64_t off);
    void (*close)(mp_blob_reader_t *r);
    /* 0 also when key is not there. */
    int (*del)(mp_blobs_t *b, const char *key);
    bool (*exists)(mp_blobs_t *b, const char *key, uint64_t *size);
    /* Frees the backend's state (b->impl), not b. */
    void (*destroy)(mp_blobs_t *b);
} mp_blobs_ops_t;

struct mp_blobs {
    const mp_blobs_ops_t *ops;
    void *impl;         /* the backend's state, immutable after open */
    char dir[PATH_MAX]; /* the local directory of tmp/ and uploads/ */
};

/* The head of every backend's reader. */
struct mp_blob_reader {
    const mp_blobs_ops_t *ops;
};

/* Creates dir (and its parents) and dir/tmp and dir/uploads (0700), and
 * empties dir/tmp of regular files (what was in progress before a restart
 * can never be finished). Fills b->dir. 0 or -errno with a message in err. */
int mp_blobs__local_init(mp_blobs_t *b, const char *dir, char *err, size_t errlen);

#endif
