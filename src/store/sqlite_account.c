/* The account life-cycle ops of store/account.h on the SQLite job machinery
 * (see sqlite_users.c for the pattern). Rules that must hold against races
 * (unique e-mail, attempts, single use, rate of mails) run inside the write
 * jobs. */
#include <stdio.h>
#include <string.h>

#include "store/account.h"
#include "store/invites.h"
#include "store/sqlite_invites_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"

static const char *const purpose_name[] = {"verify", "reset"};

static bool hash_equal(const void *a, const void *b, size_t n)
{
    /* Constant time: the comparison must not tell how much of a code matched. */
    const unsigned char *x = a, *y = b;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(x[i] ^ y[i]);
    return d == 0;
}

static void lower_copy(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src && src[i] != '\0' && i + 1 < cap; i++)
        dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] - 'A' + 'a') : src[i];
    dst[i] = '\0';
}

/* ---- shared pieces -------------------------------------------------------------- */

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

static const char SQL_NAME_TAKEN[] = "SELECT 1 FROM users WHERE username = ?1";
static const char SQL_EMAIL_TAKEN[] = "SELECT 1 FROM users WHERE email = ?1";

/* MP_OK when no row answers sql bound to text, else taken (or an error). */
static mp_err_t none_with(mp_sql_conn_t *db, const char *sql, const char *text, mp_err_t taken)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, sql);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_text(s, 1, text, -1);
    int rc = mp_sql_step(s);
    mp_sql_reset(s);
    if (rc == MP_SQL_ROW)
        return taken;
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static mp_err_t names_free(mp_sql_conn_t *db, const char *username, const char *email)
{
    mp_err_t rc = none_with(db, SQL_NAME_TAKEN, username, MP_ERR_USERNAME_TAKEN);
    if (rc == MP_OK && email[0] != '\0')
        rc = none_with(db, SQL_EMAIL_TAKEN, email, MP_ERR_EMAIL_TAKEN);
    return rc;
}

/* Revoked device ids gathered by a write, handed to the callback. */
typedef struct revoked_job {
    mp_sql_job_t job;
    mp_store_revoked_fn cb;
    void *ud;
    mp_err_t result; /* answer when run() commits (a wrong code's attempt) */
    uint64_t user_id;
    uint64_t *devs;
    size_t n, cap;
} revoked_job_t;

static void revoked_job_done(mp_sql_job_t *job, mp_err_t rc)
{
    revoked_job_t *j = (revoked_job_t *)job;
    if (rc == MP_OK)
        rc = j->result;
    if (rc == MP_OK)
        j->cb(MP_OK, j->user_id, j->devs, j->n, j->ud);
    else
        j->cb(rc, j->user_id, NULL, 0, j->ud);
    mp_free(j->devs);
}

static const char SQL_DEVICES_ACTIVE[] =
    "SELECT id FROM devices WHERE user_id = ?1 AND revoked_at = 0 AND id <> ?2";
static const char SQL_DEVICES_REVOKE[] =
    "UPDATE devices SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at = 0 AND id <> ?3";
static const char SQL_DEVICES_TOKENS[] =
    "DELETE FROM refresh_tokens WHERE device_id IN"
    " (SELECT id FROM devices WHERE user_id = ?1 AND revoked_at = ?2 AND id <> ?3)";

/* Revokes every active device of the user but keep (0 keeps none), noting
 * their ids in j; their refresh tokens go (a revoked device never refreshes). */
static mp_err_t revoke_all(mp_sql_conn_t *db, revoked_job_t *j, uint64_t user_id, uint64_t keep,
                           int64_t now)
{
    if (keep == MP_STORE_KEEP_ALL_DEVICES)
        return MP_OK;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_DEVICES_ACTIVE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user_id);
    bind_u64(s, 2, keep);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        if (j->n == j->cap) {
            j->cap = j->cap ? j->cap * 2 : 8;
            j->devs = mp_realloc(j->devs, j->cap * sizeof *j->devs);
        }
        j->devs[j->n++] = col_u64(s, 0);
    }
    if (rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    if (j->n == 0)
        return MP_OK;
    if ((s = mp_sql_prepare(db, SQL_DEVICES_REVOKE)) == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, now);
    bind_u64(s, 2, user_id);
    bind_u64(s, 3, keep);
    mp_err_t err = step_done(db, s);
    if (err != MP_OK)
        return err;
    if ((s = mp_sql_prepare(db, SQL_DEVICES_TOKENS)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user_id);
    mp_sql_bind_i64(s, 2, now);
    bind_u64(s, 3, keep);
    return step_done(db, s);
}

/* ---- mp_store_account_free ------------------------------------------------------- */

typedef struct free_job {
    done_job_t base;
    char username[MP_USERNAME_MAX + 1];
    char email[MP_EMAIL_MAX + 1];
} free_job_t;

static mp_err_t free_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    free_job_t *j = (free_job_t *)job;
    return names_free(db, j->username, j->email);
}

mp_err_t mp_store_account_free(mp_store_t *st, const char *username, const char *email,
                               mp_store_done_fn cb, void *ud)
{
    free_job_t *j = mp_calloc(1, sizeof *j);
    j->base.job.run = free_run;
    j->base.job.done = done_job_done;
    j->base.cb = cb;
    j->base.ud = ud;
    lower_copy(j->username, sizeof j->username, username);
    lower_copy(j->email, sizeof j->email, email);
    return mp_sqlite__read_or_free(st, &j->base.job);
}

/* ---- mp_store_account_create ----------------------------------------------------- */

typedef struct create_job {
    done_job_t base;
    mp_user_row_t u;
    char email[MP_EMAIL_MAX + 1];
    bool pending, has_code;
    uint8_t code_hash[MP_STORE_CODE_HASH_LEN];
    int64_t code_expires_at;
    char invite[MP_INVITE_CODE_MAX + 1]; /* "" = none */
} create_job_t;

static const char SQL_ACCOUNT_INSERT[] =
    "INSERT INTO users(id, username, display_name, password_hash, guest, created_at, email,"
    " pending) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7)";
static const char SQL_CODE_UPSERT[] =
    "INSERT INTO email_codes(user_id, purpose, code_hash, expires_at, attempts, sent_at)"
    " VALUES (?1, ?2, ?3, ?4, 0, ?5) ON CONFLICT(user_id, purpose) DO UPDATE SET"
    " code_hash = excluded.code_hash, expires_at = excluded.expires_at, attempts = 0,"
    " sent_at = excluded.sent_at";

static mp_err_t code_store(mp_sql_conn_t *db, uint64_t user_id, mp_code_purpose_t purpose,
                           const uint8_t *hash, int64_t expires_at, int64_t now)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_CODE_UPSERT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user_id);
    mp_sql_bind_text(s, 2, purpose_name[purpose], -1);
    mp_sql_bind_blob(s, 3, hash, MP_STORE_CODE_HASH_LEN);
    mp_sql_bind_i64(s, 4, expires_at);
    mp_sql_bind_i64(s, 5, now);
    return step_done(db, s);
}

/* Name and address checks and the insert share one transaction, so "taken"
 * is exact; the UNIQUE indexes are only a safety net. */
static mp_err_t create_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    create_job_t *j = (create_job_t *)job;
    if (j->u.id == 0 || j->u.username[0] == '\0')
        return MP_ERR_BAD_REQUEST;
    mp_err_t err = names_free(db, j->u.username, j->email);
    if (err != MP_OK)
        return err;
    /* After the name checks, so that a taken name uses no invite; the job's
     * savepoint undoes the use if the insert fails. */
    if (j->invite[0] != '\0' &&
        (err = mp_sqlite__invite_use(db, j->invite, j->u.created_at)) != MP_OK)
        return err;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_ACCOUNT_INSERT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->u.id);
    mp_sql_bind_text(s, 2, j->u.username, -1);
    mp_sql_bind_text(s, 3, j->u.display_name, -1);
    mp_sql_bind_text(s, 4, j->u.password_hash, -1);
    mp_sql_bind_i64(s, 5, j->u.created_at);
    if (j->email[0] != '\0')
        mp_sql_bind_text(s, 6, j->email, -1);
    else
        mp_sql_bind_null(s, 6);
    mp_sql_bind_i64(s, 7, j->pending ? 1 : 0);
    if ((err = step_done(db, s)) != MP_OK)
        return err;
    if (!j->has_code)
        return MP_OK;
    return code_store(db, j->u.id, MP_CODE_VERIFY, j->code_hash, j->code_expires_at,
                      j->u.created_at);
}

static void create_done(mp_sql_job_t *job, mp_err_t rc)
{
    create_job_t *j = (create_job_t *)job;
    j->base.cb(rc, j->base.ud);
    memset(&j->u, 0, sizeof j->u); /* the password hash */
    mp_free(j);
}

mp_err_t mp_store_account_create(mp_store_t *st, const mp_user_row_t *u, const char *email,
                                 bool pending, const uint8_t *code_hash, int64_t code_expires_at,
                                 const char *invite_code, mp_store_done_fn cb, void *ud)
{
    create_job_t *j = mp_calloc(1, sizeof *j);
    if (invite_code != NULL)
        mp_sqlite__invite_code_norm(j->invite, sizeof j->invite, invite_code);
    j->base.job.run = create_run;
    j->base.job.done = create_done;
    j->base.cb = cb;
    j->base.ud = ud;
    j->u = *u;
    lower_copy(j->u.username, sizeof j->u.username, u->username);
    lower_copy(j->email, sizeof j->email, email);
    j->pending = pending;
    if (code_hash != NULL) {
        j->has_code = true;
        memcpy(j->code_hash, code_hash, MP_STORE_CODE_HASH_LEN);
    }
    j->code_expires_at = code_expires_at;
    return mp_sqlite__write_or_free(st, &j->base.job);
}

/* ---- mp_store_email_code_new ------------------------------------------------------ */

typedef struct code_new_job {
    mp_sql_job_t job;
    mp_store_id_fn cb;
    void *ud;
    char email[MP_EMAIL_MAX + 1];
    mp_code_purpose_t purpose;
    uint8_t hash[MP_STORE_CODE_HASH_LEN];
    int64_t now, expires_at, min_interval;
    uint64_t user_id;
} code_new_job_t;

static const char SQL_ACCOUNT_BY_EMAIL[] =
    "SELECT id, pending FROM users WHERE email = ?1 AND deleted_at = 0 AND guest = 0";
static const char SQL_LAST_SENT[] =
    "SELECT coalesce(max(sent_at), 0) FROM email_codes WHERE user_id = ?1";

/* The live (not deleted, not guest) account with this address: MP_OK with
 * its id and pending flag, or MP_ERR_NOT_FOUND. */
static mp_err_t account_by_email(mp_sql_conn_t *db, const char *email, uint64_t *id, bool *pending)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_ACCOUNT_BY_EMAIL);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_text(s, 1, email, -1);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_ROW) {
        *id = col_u64(s, 0);
        *pending = mp_sql_col_int(s, 1) != 0;
        mp_sql_reset(s);
        return MP_OK;
    }
    return rc == MP_SQL_DONE ? MP_ERR_NOT_FOUND : mp_sql_err(db, rc);
}

static mp_err_t code_new_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    code_new_job_t *j = (code_new_job_t *)job;
    bool pending = false;
    mp_err_t err = account_by_email(db, j->email, &j->user_id, &pending);
    if (err != MP_OK)
        return err;
    if (pending != (j->purpose == MP_CODE_VERIFY))
        return MP_ERR_NOT_FOUND;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_LAST_SENT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user_id);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    int64_t last = mp_sql_col_i64(s, 0);
    mp_sql_reset(s);
    if (last > 0 && j->now - last < j->min_interval)
        return MP_ERR_RATE_LIMITED;
    return code_store(db, j->user_id, j->purpose, j->hash, j->expires_at, j->now);
}

static void code_new_done(mp_sql_job_t *job, mp_err_t rc)
{
    code_new_job_t *j = (code_new_job_t *)job;
    j->cb(rc, j->user_id, j->ud);
    mp_free(j);
}

mp_err_t mp_store_email_code_new(mp_store_t *st, const char *email, mp_code_purpose_t purpose,
                                 const uint8_t code_hash[MP_STORE_CODE_HASH_LEN], int64_t now_ms,
                                 int64_t expires_at, int64_t min_interval_ms, mp_store_id_fn cb,
                                 void *ud)
{
    code_new_job_t *j = mp_calloc(1, sizeof *j);
    j->job.run = code_new_run;
    j->job.done = code_new_done;
    j->cb = cb;
    j->ud = ud;
    lower_copy(j->email, sizeof j->email, email);
    j->purpose = purpose;
    memcpy(j->hash, code_hash, MP_STORE_CODE_HASH_LEN);
    j->now = now_ms;
    j->expires_at = expires_at;
    j->min_interval = min_interval_ms;
    return mp_sqlite__write_or_free(st, &j->job);
}

/* ---- mp_store_email_code_use ------------------------------------------------------ */

typedef struct code_use_job {
    revoked_job_t base;
    char email[MP_EMAIL_MAX + 1];
    mp_code_purpose_t purpose;
    uint8_t hash[MP_STORE_CODE_HASH_LEN];
    int64_t now;
    unsigned max_attempts;
    char new_hash[MP_PWHASH_MAX + 1];
} code_use_job_t;

static const char SQL_CODE_GET[] =
    "SELECT code_hash, expires_at, attempts FROM email_codes WHERE user_id = ?1 AND purpose = ?2";
static const char SQL_CODE_MISS[] =
    "UPDATE email_codes SET attempts = attempts + 1 WHERE user_id = ?1 AND purpose = ?2";
static const char SQL_CODE_DELETE[] = "DELETE FROM email_codes WHERE user_id = ?1 AND purpose = ?2";
static const char SQL_USER_VERIFIED[] = "UPDATE users SET pending = 0 WHERE id = ?1";
static const char SQL_USER_PASSWORD[] =
    "UPDATE users SET password_hash = ?1 WHERE id = ?2 AND deleted_at = 0 AND guest = 0";

static mp_err_t code_exec(mp_sql_conn_t *db, const char *sql, uint64_t user_id,
                          mp_code_purpose_t purpose)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, sql);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user_id);
    mp_sql_bind_text(s, 2, purpose_name[purpose], -1);
    return step_done(db, s);
}

static mp_err_t password_store(mp_sql_conn_t *db, uint64_t user_id, const char *hash)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_USER_PASSWORD);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_text(s, 1, hash, -1);
    bind_u64(s, 2, user_id);
    mp_err_t err = step_done(db, s);
    if (err == MP_OK && mp_sql_changes(db) == 0)
        err = MP_ERR_NOT_FOUND;
    return err;
}

/* The code is right: it dies, and the account gets what it was for. */
static mp_err_t code_apply(mp_sql_conn_t *db, code_use_job_t *j, uint64_t user_id)
{
    mp_err_t err = code_exec(db, SQL_CODE_DELETE, user_id, j->purpose);
    if (err != MP_OK)
        return err;
    if (j->purpose == MP_CODE_RESET) {
        if ((err = password_store(db, user_id, j->new_hash)) != MP_OK)
            return err;
        return revoke_all(db, &j->base, user_id, 0, j->now);
    }
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_USER_VERIFIED);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user_id);
    return step_done(db, s);
}

static mp_err_t code_use_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    code_use_job_t *j = (code_use_job_t *)job;
    uint64_t user_id = 0;
    bool pending = false;
    j->base.result = MP_ERR_INVALID_CODE;
    mp_err_t err = account_by_email(db, j->email, &user_id, &pending);
    if (err == MP_ERR_NOT_FOUND)
        return MP_OK;
    if (err != MP_OK)
        return err;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_CODE_GET);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user_id);
    mp_sql_bind_text(s, 2, purpose_name[j->purpose], -1);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_OK;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    bool same = mp_sql_col_bytes(s, 0) == MP_STORE_CODE_HASH_LEN &&
                hash_equal(mp_sql_col_blob(s, 0), j->hash, MP_STORE_CODE_HASH_LEN);
    bool expired = mp_sql_col_i64(s, 1) <= j->now;
    bool spent = mp_sql_col_i64(s, 2) >= (int64_t)j->max_attempts;
    mp_sql_reset(s);
    if (expired || spent)
        return MP_OK; /* dead: even the right code no longer works */
    if (!same)
        return code_exec(db, SQL_CODE_MISS, user_id, j->purpose); /* committed: it counts */
    if ((err = code_apply(db, j, user_id)) != MP_OK)
        return err;
    j->base.user_id = user_id;
    j->base.result = MP_OK;
    return MP_OK;
}

static void code_use_done(mp_sql_job_t *job, mp_err_t rc)
{
    code_use_job_t *j = (code_use_job_t *)job;
    revoked_job_done(job, rc);
    memset(j->new_hash, 0, sizeof j->new_hash);
    mp_free(j);
}

mp_err_t mp_store_email_code_use(mp_store_t *st, const char *email, mp_code_purpose_t purpose,
                                 const uint8_t code_hash[MP_STORE_CODE_HASH_LEN], int64_t now_ms,
                                 unsigned max_attempts, const char *new_hash,
                                 mp_store_revoked_fn cb, void *ud)
{
    if (purpose == MP_CODE_RESET && (new_hash == NULL || strlen(new_hash) > MP_PWHASH_MAX))
        return MP_ERR_BAD_REQUEST;
    code_use_job_t *j = mp_calloc(1, sizeof *j);
    j->base.job.run = code_use_run;
    j->base.job.done = code_use_done;
    j->base.cb = cb;
    j->base.ud = ud;
    lower_copy(j->email, sizeof j->email, email);
    j->purpose = purpose;
    memcpy(j->hash, code_hash, MP_STORE_CODE_HASH_LEN);
    j->now = now_ms;
    j->max_attempts = max_attempts;
    if (new_hash != NULL)
        snprintf(j->new_hash, sizeof j->new_hash, "%s", new_hash);
    return mp_sqlite__write_or_free(st, &j->base.job);
}

/* ---- mp_store_user_set_password --------------------------------------------------- */

typedef struct set_pw_job {
    revoked_job_t base;
    char hash[MP_PWHASH_MAX + 1];
    uint64_t keep;
    int64_t now;
} set_pw_job_t;

static mp_err_t set_pw_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    set_pw_job_t *j = (set_pw_job_t *)job;
    j->base.result = MP_OK;
    mp_err_t err = password_store(db, j->base.user_id, j->hash);
    if (err == MP_OK) /* a reset code mailed before would undo this change */
        err = code_exec(db, SQL_CODE_DELETE, j->base.user_id, MP_CODE_RESET);
    if (err == MP_OK)
        err = revoke_all(db, &j->base, j->base.user_id, j->keep, j->now);
    return err;
}

static void set_pw_done(mp_sql_job_t *job, mp_err_t rc)
{
    set_pw_job_t *j = (set_pw_job_t *)job;
    revoked_job_done(job, rc);
    memset(j->hash, 0, sizeof j->hash);
    mp_free(j);
}

mp_err_t mp_store_user_set_password(mp_store_t *st, uint64_t user_id, const char *hash,
                                    uint64_t keep_device, int64_t now_ms, mp_store_revoked_fn cb,
                                    void *ud)
{
    if (hash == NULL || hash[0] == '\0' || strlen(hash) > MP_PWHASH_MAX)
        return MP_ERR_BAD_REQUEST;
    set_pw_job_t *j = mp_calloc(1, sizeof *j);
    j->base.job.run = set_pw_run;
    j->base.job.done = set_pw_done;
    j->base.cb = cb;
    j->base.ud = ud;
    j->base.user_id = user_id;
    snprintf(j->hash, sizeof j->hash, "%s", hash);
    j->keep = keep_device;
    /* 0 means "active": a revocation must store a non-zero time. */
    j->now = now_ms > 0 ? now_ms : 1;
    return mp_sqlite__write_or_free(st, &j->base.job);
}

/* ---- mp_store_pending_sweep -------------------------------------------------------- */

typedef struct sweep_job {
    mp_sql_job_t job;
    mp_store_count_fn cb;
    void *ud;
    int64_t cutoff;
    size_t batch, n;
} sweep_job_t;

/* A pending account never logged in: it has no device, membership or
 * message, so deleting the row (its codes cascade) leaves nothing behind. */
static const char SQL_PENDING_DELETE[] =
    "DELETE FROM users WHERE id IN (SELECT id FROM users WHERE pending = 1 AND created_at < ?1"
    " LIMIT ?2)";

static mp_err_t sweep_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    sweep_job_t *j = (sweep_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_PENDING_DELETE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, j->cutoff);
    mp_sql_bind_i64(s, 2, (int64_t)j->batch);
    mp_err_t err = step_done(db, s);
    if (err == MP_OK)
        j->n = (size_t)mp_sql_changes(db);
    return err;
}

static void sweep_done(mp_sql_job_t *job, mp_err_t rc)
{
    sweep_job_t *j = (sweep_job_t *)job;
    j->cb(rc, rc == MP_OK ? j->n : 0, j->ud);
    mp_free(j);
}

mp_err_t mp_store_pending_sweep(mp_store_t *st, int64_t cutoff_ms, size_t batch,
                                mp_store_count_fn cb, void *ud)
{
    sweep_job_t *j = mp_calloc(1, sizeof *j);
    j->job.run = sweep_run;
    j->job.done = sweep_done;
    j->cb = cb;
    j->ud = ud;
    j->cutoff = cutoff_ms;
    j->batch = batch ? batch : 1;
    return mp_sqlite__write_or_free(st, &j->job);
}
