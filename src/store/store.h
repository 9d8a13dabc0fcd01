/* The store API: durable state behind an asynchronous interface.
 *
 * The event loop never waits on disk. Every operation here returns at once;
 * its callback runs later on the loop thread given to mp_store_open(). Writes
 * go to one writer thread that commits everything pending in ONE transaction
 * (group commit, synchronous=FULL), so a write's callback with MP_OK means the
 * data is on disk. Reads run on a small pool of read-only connections.
 *
 * Rows passed to callbacks are borrowed: valid only until the callback returns.
 * Every op returns MP_OK when queued, or MP_ERR_UNAVAILABLE when the queue is
 * full (backpressure); then the callback is NOT called. */
#ifndef MP_STORE_STORE_H
#define MP_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "proto/error.h"

typedef struct mp_store mp_store_t;

/* Opens (creating if needed) DIR/magpie.db, applies migrations, starts the
 * writer thread. Refuses a database whose schema is newer than this binary.
 * Returns MP_OK or an error with a message in err. Synchronous: call at start. */
mp_err_t mp_store_open(const char *dir, uv_loop_t *loop, mp_store_t **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* The same on PostgreSQL when url (a libpq connection string or URL) is
 * neither NULL nor empty: many nodes may share the database (docs/cluster.md);
 * dir is then only created. */
mp_err_t mp_store_open_url(const char *dir, const char *url, uv_loop_t *loop, mp_store_t **out,
                           char *err, size_t errlen) __attribute__((warn_unused_result));
/* Finishes queued writes (their callbacks run if the loop runs), stops the
 * threads and closes connections. Call on the loop thread; new ops are refused
 * from then on. Completions not yet delivered, and the freeing of st, happen
 * in a close callback: run the loop afterwards until its handles are closed. */
void mp_store_close(mp_store_t *st);
/* Schema version this binary writes. */
int mp_store_schema_version(void);
/* True while the store answers (readyz): false after a write transaction
 * failed (e.g. the disk is full) until one succeeds again. */
bool mp_store_ready(mp_store_t *st);
/* When not ready, queues one small write (at most one at a time) whose success
 * makes the store ready again: without it a server taken out of rotation by
 * readyz would never write again and never come back. Loop thread only. */
void mp_store_probe(mp_store_t *st);
/* Group-commit counters since open: transactions committed (or failed) by the
 * writer, and write jobs they carried. Either pointer may be NULL. */
void mp_store_stats(mp_store_t *st, uint64_t *batches, uint64_t *jobs);
/* Jobs waiting in the write queue (for the writer) and the read queue (for
 * the readers) right now. Any thread. */
void mp_store_queue_depths(mp_store_t *st, size_t *writes, size_t *reads);

/* ---- users and devices -------------------------------------------------- */

#define MP_USERNAME_MAX 32
#define MP_DISPLAY_NAME_MAX 256 /* bytes (64 characters of up to 4 bytes) */
#define MP_PWHASH_MAX 128
#define MP_DEVICE_NAME_MAX 256
#define MP_TOKEN_HASH_LEN 32 /* SHA-256 / BLAKE2b-256 of a refresh token */
#define MP_BIO_MAX 1024      /* bytes (256 characters of up to 4 bytes) */
#define MP_EMAIL_MAX 254     /* bytes */

typedef struct mp_user_row {
    uint64_t id;
    char username[MP_USERNAME_MAX + 1]; /* lower-case */
    char display_name[MP_DISPLAY_NAME_MAX + 1];
    char password_hash[MP_PWHASH_MAX + 1]; /* argon2id string; empty for guests */
    int64_t created_at;                    /* ms since epoch */
    bool guest;
    /* Read by the lookups; mp_store_user_create ignores them (defaults). */
    char bio[MP_BIO_MAX + 1];
    uint64_t avatar_file_id;         /* 0 = none */
    char email[MP_EMAIL_MAX + 1];    /* "" = none */
    bool admin, pending;             /* pending: e-mail not verified yet */
    int64_t disabled_at, deleted_at; /* 0 = active / alive */
} mp_user_row_t;

typedef struct mp_device_row {
    uint64_t id;
    uint64_t user_id;
    char name[MP_DEVICE_NAME_MAX + 1];
    int64_t created_at;
    int64_t last_seen_at;
    int64_t revoked_at; /* 0 = active */
} mp_device_row_t;

typedef void (*mp_store_done_fn)(mp_err_t rc, void *ud);
typedef void (*mp_store_user_fn)(mp_err_t rc, const mp_user_row_t *user, void *ud);
typedef void (*mp_store_device_fn)(mp_err_t rc, const mp_device_row_t *dev, void *ud);
typedef void (*mp_store_devices_fn)(mp_err_t rc, const mp_device_row_t *devs, size_t n, void *ud);

/* Inserts a user. MP_ERR_USERNAME_TAKEN when the (lower-case) name exists. */
mp_err_t mp_store_user_create(mp_store_t *st, const mp_user_row_t *u, mp_store_done_fn cb, void *ud)
    __attribute__((warn_unused_result));
/* Looks a user up; MP_ERR_NOT_FOUND when absent. */
mp_err_t mp_store_user_by_name(mp_store_t *st, const char *username, mp_store_user_fn cb, void *ud)
    __attribute__((warn_unused_result));
mp_err_t mp_store_user_by_id(mp_store_t *st, uint64_t id, mp_store_user_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* Inserts a device with its first refresh-token hash. */
mp_err_t mp_store_device_create(mp_store_t *st, const mp_device_row_t *d,
                                const uint8_t refresh_hash[MP_TOKEN_HASH_LEN], mp_store_done_fn cb,
                                void *ud) __attribute__((warn_unused_result));
/* Refresh-token rotation, atomically: if old_hash is the live token of an
 * active device, it dies and new_hash becomes live → MP_OK with the device.
 * If old_hash is a dead (already rotated) token, its device is revoked
 * (theft detection) → MP_ERR_UNAUTHORIZED with the device. Unknown hash or a
 * revoked device → MP_ERR_UNAUTHORIZED with dev NULL. */
mp_err_t mp_store_refresh_rotate(mp_store_t *st, const uint8_t old_hash[MP_TOKEN_HASH_LEN],
                                 const uint8_t new_hash[MP_TOKEN_HASH_LEN], int64_t now_ms,
                                 mp_store_device_fn cb, void *ud)
    __attribute__((warn_unused_result));
/* Revokes device_id if it belongs to user_id (MP_ERR_NOT_FOUND otherwise,
 * also when already revoked). */
mp_err_t mp_store_device_revoke(mp_store_t *st, uint64_t user_id, uint64_t device_id,
                                int64_t now_ms, mp_store_done_fn cb, void *ud)
    __attribute__((warn_unused_result));
/* Active (not revoked) devices of a user, oldest first. */
mp_err_t mp_store_device_list(mp_store_t *st, uint64_t user_id, mp_store_devices_fn cb, void *ud)
    __attribute__((warn_unused_result));
/* Records last_seen_at (best effort; cb may be NULL). */
mp_err_t mp_store_device_touch(mp_store_t *st, uint64_t device_id, int64_t now_ms,
                               mp_store_done_fn cb, void *ud) __attribute__((warn_unused_result));
/* Synchronous, for start-up only: calls fn for every device revoked at or
 * after since_ms (access tokens of older revocations have expired anyway). */
mp_err_t mp_store_revoked_since(mp_store_t *st, int64_t since_ms,
                                void (*fn)(uint64_t device_id, void *ud), void *ud)
    __attribute__((warn_unused_result));

/* Synchronous, for start-up only: calls fn for every user with a flag that
 * the loop keeps in memory (core/userflags.h): admin, disabled, or read
 * receipts turned off. */
mp_err_t mp_store_userflags_load(mp_store_t *st,
                                 void (*fn)(uint64_t user_id, bool admin, bool disabled,
                                            bool no_receipts, void *ud),
                                 void *ud) __attribute__((warn_unused_result));

/* The same two, read again while the server runs (a node of a cluster that
 * may have missed another node's news of them), in one read transaction:
 * cb gets every user with a flag and every device revoked at or after
 * since_ms, both borrowed for the call. */
typedef struct mp_userflag_row {
    uint64_t user_id;
    bool admin, disabled, no_receipts;
} mp_userflag_row_t;
typedef void (*mp_store_cached_fn)(mp_err_t rc, const mp_userflag_row_t *flags, size_t n_flags,
                                   const uint64_t *revoked, size_t n_revoked, void *ud);
mp_err_t mp_store_cached_state(mp_store_t *st, int64_t since_ms, mp_store_cached_fn cb, void *ud)
    __attribute__((warn_unused_result));

#endif
