/* Files in the store: uploads (files), the content-addressed blobs behind
 * them and their renditions, which messages reference which file, resumable
 * upload sessions, who may read a file, storage quotas and the sweep of
 * unreferenced files (schema: store/migration_media.h; the routes and the
 * processing live in the files and media modules). Facts only: no JSON of the
 * wire, no paths on disk (blobs are named by storage keys, see blobs/blobs.h). */
#ifndef MP_STORE_FILES_H
#define MP_STORE_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define MP_FILE_NAME_MAX 255 /* bytes of a sanitised file name */
#define MP_FILE_MIME_MAX 127 /* bytes of a MIME type */
#define MP_FILE_KEY_MAX 100  /* bytes of a storage key */
#define MP_FILE_SHA_HEX 64   /* hex digits of a SHA-256 */
#define MP_FILE_RENDITIONS 4 /* renditions one blob may have */
#define MP_FILE_REND_NAME_MAX 7

typedef enum {
    MP_FILE_CLASS_FILE = 0, /* stored and served as is */
    MP_FILE_CLASS_IMAGE,
    MP_FILE_CLASS_AUDIO,
    MP_FILE_CLASS_VIDEO,
} mp_file_class_t;

/* "file", "image", "audio", "video"; parse returns false for others. */
const char *mp_file_class_name(mp_file_class_t c);
bool mp_file_class_parse(const char *s, mp_file_class_t *out);

/* A derived image of a blob: "thumb" (fits 320x320), "s256", "s64" (square
 * crops for avatars). */
typedef struct mp_file_rendition {
    char name[MP_FILE_REND_NAME_MAX + 1];
    char skey[MP_FILE_KEY_MAX + 1];
    char mime[MP_FILE_MIME_MAX + 1];
    uint64_t size;
    int width, height;
} mp_file_rendition_t;

/* One upload with what its blob says about the content. */
typedef struct mp_file_row {
    uint64_t id;
    uint64_t owner_id;
    uint64_t blob_id;
    char name[MP_FILE_NAME_MAX + 1]; /* sanitised original name ("" when none was given) */
    uint64_t size;                   /* bytes uploaded */
    int64_t created_at;              /* ms since the epoch */
    char sha256[MP_FILE_SHA_HEX + 1];
    char mime[MP_FILE_MIME_MAX + 1];       /* detected from the content */
    char serve_mime[MP_FILE_MIME_MAX + 1]; /* of the bytes served */
    char skey[MP_FILE_KEY_MAX + 1];        /* storage key of the bytes served */
    uint64_t serve_size;
    mp_file_class_t cls;
    char *meta; /* JSON object text (owned by the row's holder; "{}" when nothing) */
    mp_file_rendition_t rend[MP_FILE_RENDITIONS];
    size_t nrend;
} mp_file_row_t;

/* The rendition called name, or NULL. */
const mp_file_rendition_t *mp_file_rendition(const mp_file_row_t *f, const char *name);

/* Callbacks get rows valid during the call only (copy what you keep). */
typedef void (*mp_file_fn)(mp_err_t rc, const mp_file_row_t *f, void *ud);

/* ---- uploads ------------------------------------------------------------ */

/* What processing found about new content (mp_store_file_create). */
typedef struct mp_file_blob_in {
    const char *sha256;     /* hex */
    const char *skey;       /* where the served bytes are stored (unique) */
    uint64_t size;          /* bytes uploaded */
    uint64_t serve_size;    /* bytes served */
    const char *mime;       /* detected */
    const char *serve_mime; /* served */
    mp_file_class_t cls;
    const char *meta; /* JSON object text; NULL = "{}" */
    const mp_file_rendition_t *rend;
    size_t nrend;
} mp_file_blob_in_t;

typedef struct mp_file_create_in {
    uint64_t owner_id;
    const char *name; /* sanitised, may be "" */
    uint64_t quota;   /* bytes the owner may keep (0 = no quota) */
    /* The blob: when blob.skey is NULL, only a blob that already has this
     * sha256 may be used (MP_ERR_NOT_FOUND if there is none: process the
     * content, then call again with the blob filled in). */
    mp_file_blob_in_t blob;
    uint64_t upload_id; /* a resumable upload that this completes (0 = none) */
} mp_file_create_in_t;

/* The result: the new file, and whether the blob given in `in` was NOT used
 * because another with the same sha256 was there already (its storage keys,
 * and those of its renditions, are then garbage the caller deletes). */
typedef void (*mp_file_created_fn)(mp_err_t rc, const mp_file_row_t *f, bool dup, void *ud);

/* Creates a file (write job). In one transaction: the quota check (the sum of
 * the owner's files' sizes, plus the declared lengths of their other
 * unfinished sessions that have not expired, plus in->blob.size must not pass
 * in->quota: MP_ERR_QUOTA_EXCEEDED), the blob lookup by sha256 (reused when
 * present, else inserted with its renditions when given), the file row
 * (created_at: now), and, with an upload_id, the session's file_id
 * (MP_ERR_NOT_FOUND, and nothing stored, when that is not an unfinished
 * session of the owner). The strings are copied; MP_ERR_BAD_REQUEST (no job)
 * when one does not fit its MP_FILE_*_MAX or there are too many renditions. */
mp_err_t mp_store_file_create(mp_store_t *st, const mp_file_create_in_t *in, mp_file_created_fn cb,
                              void *ud) __attribute__((warn_unused_result));

/* A blob that already has this content (read), so that an upload of known
 * content skips processing: MP_ERR_NOT_FOUND when none. The row has only the
 * blob's fields (id, owner_id, name and size are 0/""). */
mp_err_t mp_store_blob_by_sha(mp_store_t *st, const char *sha256, mp_file_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* Bytes of uploads user_id keeps (read): the sum of their files' sizes plus
 * the declared lengths of their unfinished resumable uploads that have not
 * expired; files: how many files they keep. */
typedef void (*mp_file_usage_fn)(mp_err_t rc, uint64_t used, uint64_t files, void *ud);
mp_err_t mp_store_file_usage(mp_store_t *st, uint64_t user_id, mp_file_usage_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* ---- resumable upload sessions ------------------------------------------ */

typedef struct mp_upload_row {
    uint64_t id;
    uint64_t owner_id;
    uint64_t length;
    char name[MP_FILE_NAME_MAX + 1];
    uint64_t file_id; /* 0 until complete */
    int64_t created_at, expires_at;
} mp_upload_row_t;
typedef void (*mp_upload_fn)(mp_err_t rc, const mp_upload_row_t *u, void *ud);

/* Creates a session (write job) after checking the quota in the same
 * transaction (used + length > quota: MP_ERR_QUOTA_EXCEEDED). id is chosen by
 * the caller (an mp_id), so the temporary file can be named before. */
mp_err_t mp_store_upload_create(mp_store_t *st, const mp_upload_row_t *u, uint64_t quota,
                                mp_upload_fn cb, void *ud) __attribute__((warn_unused_result));
/* The session id if owner_id owns it and it has not expired at now
 * (MP_ERR_NOT_FOUND otherwise; read). */
mp_err_t mp_store_upload_get(mp_store_t *st, uint64_t id, uint64_t owner_id, int64_t now,
                             mp_upload_fn cb, void *ud) __attribute__((warn_unused_result));
/* Deletes the session (write; the caller deletes its bytes). NOT_FOUND when
 * it is not owner_id's. */
mp_err_t mp_store_upload_delete(mp_store_t *st, uint64_t id, uint64_t owner_id,
                                void (*cb)(mp_err_t rc, void *ud), void *ud)
    __attribute__((warn_unused_result));

/* ---- reading and access -------------------------------------------------- */

/* The file if user_id may read it (read job), else MP_ERR_NOT_FOUND — the
 * same answer as for a file that does not exist. user_id may read a file when
 * they uploaded it; or a message that references it (file_refs) is in a
 * conversation they are a member of now, or in the world room (world_id);
 * or it is the avatar of a user who is not deleted; or the avatar of a group
 * they are a member of. guest: the caller is a guest (only their own
 * uploads, the world room and user avatars). */
mp_err_t mp_store_file_get(mp_store_t *st, uint64_t file_id, uint64_t user_id, bool guest,
                           uint64_t world_id, mp_file_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* The files user_id uploaded, newest first (read): up to limit rows with id
 * below before_id (0 = from the newest). */
typedef void (*mp_file_list_fn)(mp_err_t rc, const mp_file_row_t *rows, size_t n, bool more,
                                void *ud);
mp_err_t mp_store_file_list(mp_store_t *st, uint64_t user_id, uint64_t before_id, size_t limit,
                            mp_file_list_fn cb, void *ud) __attribute__((warn_unused_result));

/* ---- references (writer thread, inside other modules' write jobs) -------- */

/* For the write jobs of send and forward (store/sqlite_*.c), on the writer
 * connection: checks that user_id may read file_id (the rule of
 * mp_store_file_get) and reads it into *out (meta allocated: free with
 * mp_free), MP_ERR_NOT_FOUND otherwise. Declared in sqlite_files_int.h. */

/* ---- sweep --------------------------------------------------------------- */

/* Storage keys the sweep removed from the store: the caller deletes their
 * bytes, and the temporary files of the expired upload sessions. */
typedef struct mp_file_sweep_out {
    char (*skeys)[MP_FILE_KEY_MAX + 1];
    size_t nskeys;
    uint64_t *uploads; /* ids of expired upload sessions */
    size_t nuploads;
    size_t files; /* file rows deleted */
} mp_file_sweep_out_t;
typedef void (*mp_file_sweep_fn)(mp_err_t rc, const mp_file_sweep_out_t *out, void *ud);

/* One batch of the sweep (a read job finds the candidates, then one write
 * job checks each again and deletes it), at most limit rows of each kind:
 * deletes the files created before older_than that no message (file_refs),
 * user avatar or group avatar references and that complete no live upload
 * session; then the blobs no file uses any more, with their renditions; and
 * the upload sessions that expired before now. out->nskeys + files +
 * nuploads == 0 means nothing is left to sweep (or all that was found gained
 * a reference meanwhile: the next run goes on). */
mp_err_t mp_store_file_sweep(mp_store_t *st, int64_t older_than, int64_t now, size_t limit,
                             mp_file_sweep_fn cb, void *ud) __attribute__((warn_unused_result));

/* ---- server secrets ------------------------------------------------------ */

/* The secret called name (read, then written if missing, in one write job):
 * len random bytes made once (libsodium's randombytes_buf) and kept in
 * server_secrets, so signed URLs stay valid across restarts. */
typedef void (*mp_secret_fn)(mp_err_t rc, const unsigned char *value, size_t len, void *ud);
mp_err_t mp_store_secret(mp_store_t *st, const char *name, size_t len, mp_secret_fn cb, void *ud)
    __attribute__((warn_unused_result));

#endif
