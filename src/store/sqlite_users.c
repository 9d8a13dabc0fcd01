/* User and device operations of store.h on the SQLite job machinery. Each op
 * is a job struct (mp_sql_job_t first, then arguments and result row): run()
 * executes on a store thread, done() calls the user's callback on the loop
 * with borrowed rows, then frees the job. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "store/sqlite_job.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"
#include "util/log.h"

/* ---- helpers ------------------------------------------------------------------ */

static void copy_text(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

static void lower_copy(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i] != '\0' && i + 1 < cap; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = '\0';
}

/* Steps a statement expected to finish without rows. */
/* Submits a job, freeing it when the queue refuses it. */
static mp_err_t submit(mp_store_t *st, mp_sql_job_t *job, bool write)
{
    mp_err_t rc = write ? mp_sqlite__write(st, job) : mp_sqlite__read(st, job);
    if (rc != MP_OK)
        mp_free(job);
    return rc;
}

#define USER_COLS                                                                                  \
    "id, username, display_name, password_hash, created_at, guest, bio, avatar_file_id,"           \
    " email, admin, pending, disabled_at, deleted_at"

static void user_row_read(mp_sql_stmt_t *s, mp_user_row_t *u)
{
    u->id = (uint64_t)mp_sql_col_i64(s, 0);
    copy_text(u->username, sizeof u->username, mp_sql_col_text(s, 1));
    copy_text(u->display_name, sizeof u->display_name, mp_sql_col_text(s, 2));
    copy_text(u->password_hash, sizeof u->password_hash, mp_sql_col_text(s, 3));
    u->created_at = mp_sql_col_i64(s, 4);
    u->guest = mp_sql_col_int(s, 5) != 0;
    copy_text(u->bio, sizeof u->bio, mp_sql_col_text(s, 6));
    u->avatar_file_id = (uint64_t)mp_sql_col_i64(s, 7);
    copy_text(u->email, sizeof u->email, mp_sql_col_text(s, 8));
    u->admin = mp_sql_col_int(s, 9) != 0;
    u->pending = mp_sql_col_int(s, 10) != 0;
    u->disabled_at = mp_sql_col_i64(s, 11);
    u->deleted_at = mp_sql_col_i64(s, 12);
}

#define DEVICE_COLS "id, user_id, name, created_at, last_seen_at, revoked_at"

static void device_row_read(mp_sql_stmt_t *s, mp_device_row_t *d)
{
    d->id = (uint64_t)mp_sql_col_i64(s, 0);
    d->user_id = (uint64_t)mp_sql_col_i64(s, 1);
    copy_text(d->name, sizeof d->name, mp_sql_col_text(s, 2));
    d->created_at = mp_sql_col_i64(s, 3);
    d->last_seen_at = mp_sql_col_i64(s, 4);
    d->revoked_at = mp_sql_col_i64(s, 5);
}

static const char SQL_DEVICE_GET[] = "SELECT " DEVICE_COLS " FROM devices WHERE id = ?1";

static mp_err_t device_load(mp_sql_conn_t *db, uint64_t id, mp_device_row_t *d)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_DEVICE_GET);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, (int64_t)id);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_ROW) {
        device_row_read(s, d);
        return MP_OK;
    }
    return rc == MP_SQL_DONE ? MP_ERR_NOT_FOUND : mp_sql_err(db, rc);
}

/* Simple write job: run() returns the result, done() reports it. */
typedef struct done_job {
    mp_sql_job_t job;
    mp_store_done_fn cb;
    void *ud;
} done_job_t;

static void done_job_done(mp_sql_job_t *job, mp_err_t rc)
{
    done_job_t *j = (done_job_t *)job;
    if (j->cb)
        j->cb(rc, j->ud);
    mp_free(j);
}

/* ---- users -------------------------------------------------------------------- */

typedef struct user_create_job {
    done_job_t base;
    mp_user_row_t u;
} user_create_job_t;

static const char SQL_USER_EXISTS[] = "SELECT 1 FROM users WHERE username = ?1";
static const char SQL_USER_INSERT[] =
    "INSERT INTO users(id, username, display_name, password_hash, guest, created_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/* The name check and insert run in one transaction, so "taken" is exact and
 * the UNIQUE index is only a safety net. */
static mp_err_t user_create_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    const mp_user_row_t *u = &((user_create_job_t *)job)->u;
    if (u->id == 0 || u->username[0] == '\0')
        return MP_ERR_BAD_REQUEST;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_USER_EXISTS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_text(s, 1, u->username, -1);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_ROW)
        return MP_ERR_USERNAME_TAKEN;
    if (rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);

    s = mp_sql_prepare(db, SQL_USER_INSERT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, (int64_t)u->id);
    mp_sql_bind_text(s, 2, u->username, -1);
    mp_sql_bind_text(s, 3, u->display_name, -1);
    mp_sql_bind_text(s, 4, u->password_hash, -1);
    mp_sql_bind_i64(s, 5, u->guest ? 1 : 0);
    mp_sql_bind_i64(s, 6, u->created_at);
    return step_done(db, s);
}

mp_err_t mp_store_user_create(mp_store_t *st, const mp_user_row_t *u, mp_store_done_fn cb, void *ud)
{
    user_create_job_t *j = mp_calloc(1, sizeof *j);
    j->base.job.run = user_create_run;
    j->base.job.done = done_job_done;
    j->base.cb = cb;
    j->base.ud = ud;
    j->u = *u;
    lower_copy(j->u.username, sizeof j->u.username, u->username);
    return submit(st, &j->base.job, true);
}

typedef struct user_get_job {
    mp_sql_job_t job;
    mp_store_user_fn cb;
    void *ud;
    uint64_t id;                    /* by id when non-zero */
    char name[MP_USERNAME_MAX + 1]; /* else by name */
    mp_user_row_t row;
} user_get_job_t;

static const char SQL_USER_BY_ID[] = "SELECT " USER_COLS " FROM users WHERE id = ?1";
static const char SQL_USER_BY_NAME[] = "SELECT " USER_COLS " FROM users WHERE username = ?1";

static mp_err_t user_get_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    user_get_job_t *j = (user_get_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, j->id ? SQL_USER_BY_ID : SQL_USER_BY_NAME);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    if (j->id)
        mp_sql_bind_i64(s, 1, (int64_t)j->id);
    else
        mp_sql_bind_text(s, 1, j->name, -1);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_ROW) {
        user_row_read(s, &j->row);
        return MP_OK;
    }
    return rc == MP_SQL_DONE ? MP_ERR_NOT_FOUND : mp_sql_err(db, rc);
}

static void user_get_done(mp_sql_job_t *job, mp_err_t rc)
{
    user_get_job_t *j = (user_get_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->row : NULL, j->ud);
    mp_free(j);
}

static mp_err_t user_get(mp_store_t *st, uint64_t id, const char *name, mp_store_user_fn cb,
                         void *ud)
{
    user_get_job_t *j = mp_calloc(1, sizeof *j);
    j->job.run = user_get_run;
    j->job.done = user_get_done;
    j->cb = cb;
    j->ud = ud;
    j->id = id;
    if (name != NULL)
        lower_copy(j->name, sizeof j->name, name);
    return submit(st, &j->job, false);
}

mp_err_t mp_store_user_by_name(mp_store_t *st, const char *username, mp_store_user_fn cb, void *ud)
{
    return user_get(st, 0, username, cb, ud);
}

mp_err_t mp_store_user_by_id(mp_store_t *st, uint64_t id, mp_store_user_fn cb, void *ud)
{
    /* id 0 never exists; an empty name matches no row either. */
    return id ? user_get(st, id, NULL, cb, ud) : user_get(st, 0, "", cb, ud);
}

/* ---- devices ------------------------------------------------------------------ */

typedef struct device_create_job {
    done_job_t base;
    mp_device_row_t d;
    uint8_t hash[MP_TOKEN_HASH_LEN];
} device_create_job_t;

static const char SQL_USER_ID_EXISTS[] = "SELECT 1 FROM users WHERE id = ?1";
static const char SQL_DEVICE_INSERT[] =
    "INSERT INTO devices(id, user_id, name, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_TOKEN_INSERT[] =
    "INSERT INTO refresh_tokens(hash, device_id, live, created_at) VALUES (?1, ?2, 1, ?3)";

static mp_err_t token_insert(mp_sql_conn_t *db, const uint8_t *hash, uint64_t device_id,
                             int64_t now)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_TOKEN_INSERT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_blob(s, 1, hash, MP_TOKEN_HASH_LEN);
    mp_sql_bind_i64(s, 2, (int64_t)device_id);
    mp_sql_bind_i64(s, 3, now);
    return step_done(db, s);
}

static mp_err_t device_create_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    device_create_job_t *j = (device_create_job_t *)job;
    if (j->d.id == 0)
        return MP_ERR_BAD_REQUEST;
    /* A missing user (the only foreign key here) is looked up first rather
     * than read from a failed insert: after a failed statement PostgreSQL
     * refuses the rest of the transaction. Nothing can delete the user in
     * between: this job holds the writer. */
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_USER_ID_EXISTS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, (int64_t)j->d.user_id);
    int rc = mp_sql_step(s);
    mp_sql_reset(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_FOUND;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    if ((s = mp_sql_prepare(db, SQL_DEVICE_INSERT)) == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, (int64_t)j->d.id);
    mp_sql_bind_i64(s, 2, (int64_t)j->d.user_id);
    mp_sql_bind_text(s, 3, j->d.name, -1);
    mp_sql_bind_i64(s, 4, j->d.created_at);
    mp_sql_bind_i64(s, 5, j->d.last_seen_at ? j->d.last_seen_at : j->d.created_at);
    mp_err_t err = step_done(db, s);
    if (err != MP_OK)
        return err;
    return token_insert(db, j->hash, j->d.id, j->d.created_at);
}

mp_err_t mp_store_device_create(mp_store_t *st, const mp_device_row_t *d,
                                const uint8_t refresh_hash[MP_TOKEN_HASH_LEN], mp_store_done_fn cb,
                                void *ud)
{
    device_create_job_t *j = mp_calloc(1, sizeof *j);
    j->base.job.run = device_create_run;
    j->base.job.done = done_job_done;
    j->base.cb = cb;
    j->base.ud = ud;
    j->d = *d;
    memcpy(j->hash, refresh_hash, MP_TOKEN_HASH_LEN);
    return submit(st, &j->base.job, true);
}

static const char SQL_DEVICE_REVOKE[] =
    "UPDATE devices SET revoked_at = ?1 WHERE id = ?2 AND revoked_at = 0";
static const char SQL_DEVICE_REVOKE_OWNED[] =
    "UPDATE devices SET revoked_at = ?1 WHERE id = ?2 AND user_id = ?3 AND revoked_at = 0";
static const char SQL_TOKENS_DELETE[] = "DELETE FROM refresh_tokens WHERE device_id = ?1";

/* A revoked device never refreshes again, so its token hashes are useless:
 * delete them (a replay then meets "unknown hash", the same 401). */
static mp_err_t tokens_delete(mp_sql_conn_t *db, uint64_t device_id)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_TOKENS_DELETE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, (int64_t)device_id);
    return step_done(db, s);
}

typedef struct rotate_job {
    mp_sql_job_t job;
    mp_store_device_fn cb;
    void *ud;
    uint8_t old_hash[MP_TOKEN_HASH_LEN], new_hash[MP_TOKEN_HASH_LEN];
    int64_t now;
    mp_err_t result; /* the answer; run() returns MP_OK so a theft revocation commits */
    bool have_dev;
    mp_device_row_t dev;
} rotate_job_t;

static const char SQL_TOKEN_FIND[] =
    "SELECT t.device_id, t.live, d.revoked_at FROM refresh_tokens t"
    " JOIN devices d ON d.id = t.device_id WHERE t.hash = ?1";
static const char SQL_TOKEN_KILL[] = "UPDATE refresh_tokens SET live = 0 WHERE hash = ?1";
/* last_seen_at never moves back; CASE is the larger of two values in both
 * dialects (SQLite's two-argument max() is PostgreSQL's GREATEST). */
static const char SQL_DEVICE_SEEN[] =
    "UPDATE devices SET last_seen_at = CASE WHEN last_seen_at > ?1 THEN last_seen_at ELSE ?1 END"
    " WHERE id = ?2";

static mp_err_t rotate_live(mp_sql_conn_t *db, rotate_job_t *j, uint64_t device_id)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_TOKEN_KILL);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_blob(s, 1, j->old_hash, MP_TOKEN_HASH_LEN);
    mp_err_t rc = step_done(db, s);
    if (rc == MP_OK)
        rc = token_insert(db, j->new_hash, device_id, j->now);
    if (rc == MP_OK && (s = mp_sql_prepare(db, SQL_DEVICE_SEEN)) == NULL)
        rc = MP_ERR_INTERNAL;
    if (rc == MP_OK) {
        mp_sql_bind_i64(s, 1, j->now);
        mp_sql_bind_i64(s, 2, (int64_t)device_id);
        rc = step_done(db, s);
    }
    return rc;
}

static mp_err_t rotate_theft(mp_sql_conn_t *db, rotate_job_t *j, uint64_t device_id)
{
    mp_log_warn("store: dead refresh token replayed for device %llu: revoking it",
                (unsigned long long)device_id);
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_DEVICE_REVOKE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, j->now);
    mp_sql_bind_i64(s, 2, (int64_t)device_id);
    mp_err_t rc = step_done(db, s);
    return rc == MP_OK ? tokens_delete(db, device_id) : rc;
}

static mp_err_t rotate_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    rotate_job_t *j = (rotate_job_t *)job;
    j->result = MP_ERR_UNAUTHORIZED;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_TOKEN_FIND);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_blob(s, 1, j->old_hash, MP_TOKEN_HASH_LEN);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_OK; /* unknown hash */
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    uint64_t device_id = (uint64_t)mp_sql_col_i64(s, 0);
    bool live = mp_sql_col_int(s, 1) != 0;
    bool revoked = mp_sql_col_i64(s, 2) != 0;
    mp_sql_reset(s);
    if (revoked)
        return MP_OK;

    mp_err_t err = live ? rotate_live(db, j, device_id) : rotate_theft(db, j, device_id);
    if (err == MP_OK)
        err = device_load(db, device_id, &j->dev);
    if (err != MP_OK)
        return err;
    j->have_dev = true;
    j->result = live ? MP_OK : MP_ERR_UNAUTHORIZED;
    return MP_OK;
}

static void rotate_done(mp_sql_job_t *job, mp_err_t rc)
{
    rotate_job_t *j = (rotate_job_t *)job;
    if (rc != MP_OK)
        j->cb(rc, NULL, j->ud);
    else
        j->cb(j->result, j->have_dev ? &j->dev : NULL, j->ud);
    mp_free(j);
}

mp_err_t mp_store_refresh_rotate(mp_store_t *st, const uint8_t old_hash[MP_TOKEN_HASH_LEN],
                                 const uint8_t new_hash[MP_TOKEN_HASH_LEN], int64_t now_ms,
                                 mp_store_device_fn cb, void *ud)
{
    rotate_job_t *j = mp_calloc(1, sizeof *j);
    j->job.run = rotate_run;
    j->job.done = rotate_done;
    j->cb = cb;
    j->ud = ud;
    memcpy(j->old_hash, old_hash, MP_TOKEN_HASH_LEN);
    memcpy(j->new_hash, new_hash, MP_TOKEN_HASH_LEN);
    j->now = now_ms;
    return submit(st, &j->job, true);
}

typedef struct revoke_job {
    done_job_t base;
    uint64_t user_id, device_id;
    int64_t now;
} revoke_job_t;

static mp_err_t revoke_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    revoke_job_t *j = (revoke_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_DEVICE_REVOKE_OWNED);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, j->now);
    mp_sql_bind_i64(s, 2, (int64_t)j->device_id);
    mp_sql_bind_i64(s, 3, (int64_t)j->user_id);
    mp_err_t rc = step_done(db, s);
    if (rc != MP_OK)
        return rc;
    if (mp_sql_changes(db) == 0)
        return MP_ERR_NOT_FOUND;
    return tokens_delete(db, j->device_id);
}

mp_err_t mp_store_device_revoke(mp_store_t *st, uint64_t user_id, uint64_t device_id,
                                int64_t now_ms, mp_store_done_fn cb, void *ud)
{
    revoke_job_t *j = mp_calloc(1, sizeof *j);
    j->base.job.run = revoke_run;
    j->base.job.done = done_job_done;
    j->base.cb = cb;
    j->base.ud = ud;
    j->user_id = user_id;
    j->device_id = device_id;
    /* 0 means "active": a revocation must store a non-zero time. */
    j->now = now_ms > 0 ? now_ms : 1;
    return submit(st, &j->base.job, true);
}

typedef struct list_job {
    mp_sql_job_t job;
    mp_store_devices_fn cb;
    void *ud;
    uint64_t user_id;
    mp_device_row_t *devs;
    size_t n, cap;
} list_job_t;

static const char SQL_DEVICE_LIST[] = "SELECT " DEVICE_COLS " FROM devices"
                                      " WHERE user_id = ?1 AND revoked_at = 0"
                                      " ORDER BY created_at, id";

static mp_err_t list_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    list_job_t *j = (list_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_DEVICE_LIST);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, (int64_t)j->user_id);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        if (j->n == j->cap) {
            j->cap = j->cap ? j->cap * 2 : 8;
            j->devs = mp_realloc(j->devs, j->cap * sizeof *j->devs);
        }
        device_row_read(s, &j->devs[j->n++]);
    }
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static void list_done(mp_sql_job_t *job, mp_err_t rc)
{
    list_job_t *j = (list_job_t *)job;
    if (rc == MP_OK)
        j->cb(MP_OK, j->devs, j->n, j->ud);
    else
        j->cb(rc, NULL, 0, j->ud);
    mp_free(j->devs);
    mp_free(j);
}

mp_err_t mp_store_device_list(mp_store_t *st, uint64_t user_id, mp_store_devices_fn cb, void *ud)
{
    list_job_t *j = mp_calloc(1, sizeof *j);
    j->job.run = list_run;
    j->job.done = list_done;
    j->cb = cb;
    j->ud = ud;
    j->user_id = user_id;
    return submit(st, &j->job, false);
}

typedef struct touch_job {
    done_job_t base;
    uint64_t device_id;
    int64_t now;
} touch_job_t;

/* As SQL_DEVICE_SEEN; a NULL last_active_at (never active) counts as 0. */
static const char SQL_USER_ACTIVE[] =
    "UPDATE users SET last_active_at = CASE WHEN coalesce(last_active_at, 0) > ?1"
    " THEN coalesce(last_active_at, 0) ELSE ?1 END"
    " WHERE id = (SELECT user_id FROM devices WHERE id = ?2)";

static mp_err_t touch_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    touch_job_t *j = (touch_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_DEVICE_SEEN);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, j->now);
    mp_sql_bind_i64(s, 2, (int64_t)j->device_id);
    mp_err_t rc = step_done(db, s);
    if (rc != MP_OK)
        return rc;
    if (mp_sql_changes(db) == 0)
        return MP_ERR_NOT_FOUND;
    if ((s = mp_sql_prepare(db, SQL_USER_ACTIVE)) == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, j->now);
    mp_sql_bind_i64(s, 2, (int64_t)j->device_id);
    return step_done(db, s);
}

mp_err_t mp_store_device_touch(mp_store_t *st, uint64_t device_id, int64_t now_ms,
                               mp_store_done_fn cb, void *ud)
{
    touch_job_t *j = mp_calloc(1, sizeof *j);
    j->base.job.run = touch_run;
    j->base.job.done = done_job_done;
    j->base.cb = cb;
    j->base.ud = ud;
    j->device_id = device_id;
    j->now = now_ms;
    return submit(st, &j->base.job, true);
}

/* Synchronous on purpose (start-up only): a private read-only connection, so
 * it neither waits behind queued jobs nor touches the threads' connections. */
mp_err_t mp_store_revoked_since(mp_store_t *st, int64_t since_ms,
                                void (*fn)(uint64_t device_id, void *ud), void *ud)
{
    /* Devices deleted with a swept guest leave a tombstone (migration 4). */
    static const char sql[] = "SELECT id FROM devices WHERE revoked_at > 0 AND revoked_at >= ?1"
                              " UNION ALL SELECT device_id FROM device_tombstones"
                              " WHERE revoked_at >= ?1";
    mp_sql_conn_t *db = mp_sqlite__conn_open(st, true);
    if (db == NULL)
        return MP_ERR_INTERNAL;
    mp_err_t err = MP_ERR_INTERNAL;
    mp_sql_stmt_t *s = mp_sql_prepare(db, sql);
    if (s != NULL) {
        int rc;
        mp_sql_bind_i64(s, 1, since_ms);
        while ((rc = mp_sql_step(s)) == MP_SQL_ROW)
            fn(col_u64(s, 0), ud);
        err = rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
    }
    if (err != MP_OK)
        mp_log_error("store: reading revoked devices failed");
    mp_sql_close(db);
    return err;
}

mp_err_t mp_store_userflags_load(mp_store_t *st,
                                 void (*fn)(uint64_t user_id, bool admin, bool disabled,
                                            bool no_receipts, void *ud),
                                 void *ud)
{
    /* The condition is the one of the partial index users_flags. */
    static const char sql[] = "SELECT id, admin, disabled_at > 0, priv_receipts FROM users"
                              " WHERE admin = 1 OR disabled_at > 0 OR priv_receipts = 1";
    mp_sql_conn_t *db = mp_sqlite__conn_open(st, true);
    if (db == NULL)
        return MP_ERR_INTERNAL;
    mp_err_t err = MP_ERR_INTERNAL;
    mp_sql_stmt_t *s = mp_sql_prepare(db, sql);
    if (s != NULL) {
        int rc;
        while ((rc = mp_sql_step(s)) == MP_SQL_ROW)
            fn(col_u64(s, 0), mp_sql_col_i64(s, 1) != 0, mp_sql_col_i64(s, 2) != 0,
               mp_sql_col_i64(s, 3) != 0, ud);
        err = rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
    }
    if (err != MP_OK)
        mp_log_error("store: reading user flags failed");
    mp_sql_close(db);
    return err;
}
