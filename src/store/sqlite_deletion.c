/* Account deletion (store/deletion.h) on the SQLite job machinery: the
 * deletion itself, one write job, and the grace sweep's renaming job. */
#include <stdio.h>
#include <string.h>

#include "store/deletion.h"
#include "store/sqlite_groups_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"

typedef struct idvec {
    uint64_t *v;
    size_t n;
} idvec_t;

static void idvec_push(idvec_t *iv, uint64_t id)
{
    iv->v = mp_realloc(iv->v, (iv->n + 1) * sizeof *iv->v);
    iv->v[iv->n++] = id;
}

/* Runs s (bound by the caller) and collects its first column. */
static mp_err_t collect(mp_sql_conn_t *db, mp_sql_stmt_t *s, idvec_t *out)
{
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW)
        idvec_push(out, col_u64(s, 0));
    mp_sql_reset(s);
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

/* Runs a statement bound as (?1 = user, ?2 = a) that returns no row. */
static mp_err_t exec_user(mp_sql_conn_t *db, const char *sql, uint64_t user, int64_t a, bool bind2)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, sql);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    if (bind2)
        mp_sql_bind_i64(s, 2, a);
    return step_done(db, s);
}

/* ---- the deletion (writer) ------------------------------------------------------------- */

typedef struct delete_job {
    mp_sql_job_t base;
    uint64_t user;
    int64_t now;
    char username[MP_USERNAME_MAX + 1];
    idvec_t devices;
    mp_account_peer_t *peers;
    size_t n_peers;
    int64_t version;
    mp_sqlite_msgs_t msgs;
    mp_account_delete_fn cb;
    void *ud;
} delete_job_t;

static const char SQL_DEL_USER[] =
    "SELECT display_name, username FROM users WHERE id = ?1 AND deleted_at = 0 AND guest = 0";
static const char SQL_DEL_DEVICES[] =
    "SELECT id FROM devices WHERE user_id = ?1 AND revoked_at = 0";
static const char SQL_DEL_REVOKE[] =
    "UPDATE devices SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at = 0";
static const char SQL_DEL_TOKENS[] =
    "DELETE FROM refresh_tokens WHERE device_id IN (SELECT id FROM devices WHERE user_id = ?1)";
static const char SQL_DEL_PROFILE[] =
    "UPDATE users SET display_name = '" MP_DELETED_DISPLAY_NAME "', bio = '', avatar_file_id = 0,"
    " email = NULL, pending = 0, admin = 0, password_hash = '', priv_message = 0,"
    " priv_presence = 0, priv_search = 0, priv_groups = 0, priv_receipts = 0, deleted_at = ?2"
    " WHERE id = ?1";
/* The peers' sides that are live: those peers must learn of the change (a
 * live side of the account alone, a request to someone who blocked it, was
 * never seen by the peer). */
static const char SQL_DEL_PEERS[] =
    "SELECT user_id, created_at FROM contacts WHERE peer_id = ?1 AND state <> 0";
static const char SQL_DEL_OWN[] = "SELECT count(*) FROM contacts WHERE user_id = ?1 AND state <> 0";
static const char SQL_DEL_CONTACTS[] =
    "UPDATE contacts SET state = 0, message = '', updated_at = ?3, version = ?2"
    " WHERE (user_id = ?1 OR peer_id = ?1) AND state <> 0";
static const char SQL_DEL_BLOCKS[] = "DELETE FROM blocks WHERE user_id = ?1 OR blocked_id = ?1";
static const char SQL_DEL_CODES[] = "DELETE FROM email_codes WHERE user_id = ?1";

/* The account's display name (for the groups' system lines) and username,
 * or MP_ERR_NOT_FOUND. */
static mp_err_t delete_load(mp_sql_conn_t *db, delete_job_t *j, char *name, size_t cap)
{
    uint64_t user = j->user;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_DEL_USER);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_FOUND;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    const char *t = mp_sql_col_text(s, 0);
    snprintf(name, cap, "%s", t ? t : "");
    t = mp_sql_col_text(s, 1);
    snprintf(j->username, sizeof j->username, "%s", t ? t : "");
    mp_sql_reset(s);
    return MP_OK;
}

static mp_err_t delete_devices(mp_sql_conn_t *db, delete_job_t *j)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_DEL_DEVICES);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    mp_err_t rc = collect(db, s, &j->devices);
    if (rc == MP_OK)
        rc = exec_user(db, SQL_DEL_REVOKE, j->user, j->now, true);
    if (rc == MP_OK)
        rc = exec_user(db, SQL_DEL_TOKENS, j->user, 0, false);
    return rc;
}

static mp_err_t delete_contacts(mp_sql_conn_t *db, delete_job_t *j)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_DEL_PEERS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        j->peers = mp_realloc(j->peers, (j->n_peers + 1) * sizeof *j->peers);
        j->peers[j->n_peers++] = (mp_account_peer_t){col_u64(s, 0), mp_sql_col_i64(s, 1)};
    }
    mp_sql_reset(s);
    if (rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    if ((s = mp_sql_prepare(db, SQL_DEL_OWN)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    if ((rc = mp_sql_step(s)) != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    int64_t own = mp_sql_col_i64(s, 0);
    mp_sql_reset(s);
    if (own == 0 && j->n_peers == 0)
        return MP_OK;
    /* One version for every row: the peers' other devices learn of it
     * through sync. */
    mp_err_t err = mp_sqlite__next_version(db, &j->version);
    if (err != MP_OK)
        return err;
    if ((s = mp_sql_prepare(db, SQL_DEL_CONTACTS)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    mp_sql_bind_i64(s, 2, j->version);
    mp_sql_bind_i64(s, 3, j->now);
    return step_done(db, s);
}

static mp_err_t delete_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    delete_job_t *j = (delete_job_t *)job;
    char name[256];
    mp_err_t rc = delete_load(db, j, name, sizeof name);
    if (rc != MP_OK)
        return rc;
    /* Groups first, while the profile still names who left. */
    if ((rc = mp_sqlite__groups_user_gone(db, j->user, name, j->now, &j->msgs)) != MP_OK ||
        (rc = delete_devices(db, j)) != MP_OK ||
        (rc = exec_user(db, SQL_DEL_PROFILE, j->user, j->now, true)) != MP_OK ||
        (rc = delete_contacts(db, j)) != MP_OK ||
        (rc = exec_user(db, SQL_DEL_BLOCKS, j->user, 0, false)) != MP_OK)
        return rc;
    return exec_user(db, SQL_DEL_CODES, j->user, 0, false);
}

static void delete_done(mp_sql_job_t *job, mp_err_t rc)
{
    delete_job_t *j = (delete_job_t *)job;
    if (rc == MP_OK) {
        mp_account_delete_out_t out = {
            .base = {&j->user, 1, j->devices.v, j->devices.n, j->msgs.v, j->msgs.n},
            .username = j->username,
            .peers = j->peers,
            .n_peers = j->n_peers,
            .version = j->version,
            .at = j->now,
        };
        j->cb(rc, &out, j->ud);
    } else {
        j->cb(rc, NULL, j->ud);
    }
    mp_free(j->devices.v);
    mp_free(j->peers);
    mp_sqlite__msgs_free(&j->msgs);
    mp_free(j);
}

mp_err_t mp_store_account_delete(mp_store_t *st, uint64_t user_id, int64_t now_ms,
                                 mp_account_delete_fn cb, void *ud)
{
    delete_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = delete_run;
    j->base.done = delete_done;
    j->user = user_id;
    j->now = now_ms;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}

/* ---- freeing usernames after the grace period (writer) ---------------------------------- */

typedef struct release_job {
    mp_sql_job_t base;
    int64_t since, cutoff;
    unsigned max;
    size_t n;
    int64_t last;
    mp_account_release_fn cb;
    void *ud;
} release_job_t;

/* The partial index users_deleted serves the range. The id goes through
 * CAST(... AS TEXT) before ||: both dialects would turn a bare integer into
 * its decimal digits, but a text operand is one || that both read the same
 * way, with no reliance on implicit conversions. */
static const char SQL_REL_DUE[] =
    "SELECT id, deleted_at FROM users WHERE deleted_at > 0 AND deleted_at >= ?1"
    " AND deleted_at < ?2 AND username <> 'deleted_' || CAST(id AS TEXT)"
    " ORDER BY deleted_at, id LIMIT ?3";
static const char SQL_REL_RENAME[] =
    "UPDATE users SET username = 'deleted_' || CAST(id AS TEXT) WHERE id = ?1"
    " AND NOT EXISTS(SELECT 1 FROM users WHERE username = 'deleted_' || CAST(?1 AS TEXT))";

static mp_err_t release_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    release_job_t *j = (release_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_REL_DUE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, j->since);
    mp_sql_bind_i64(s, 2, j->cutoff);
    mp_sql_bind_i64(s, 3, (int64_t)j->max);
    idvec_t due = {0};
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        idvec_push(&due, col_u64(s, 0));
        j->last = mp_sql_col_i64(s, 1);
    }
    mp_sql_reset(s);
    mp_err_t err = rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
    for (size_t i = 0; err == MP_OK && i < due.n; i++)
        err = exec_user(db, SQL_REL_RENAME, due.v[i], 0, false);
    j->n = due.n;
    mp_free(due.v);
    return err;
}

static void release_done(mp_sql_job_t *job, mp_err_t rc)
{
    release_job_t *j = (release_job_t *)job;
    j->cb(rc, rc == MP_OK ? j->n : 0, rc == MP_OK ? j->last : 0, j->ud);
    mp_free(j);
}

mp_err_t mp_store_account_release_names(mp_store_t *st, int64_t since_ms, int64_t cutoff_ms,
                                        unsigned max, mp_account_release_fn cb, void *ud)
{
    release_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = release_run;
    j->base.done = release_done;
    j->since = since_ms;
    j->cutoff = cutoff_ms;
    j->max = max ? max : 1;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}
