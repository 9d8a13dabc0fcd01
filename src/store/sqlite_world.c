/* SQLite implementation of store/world.h: the world conversation at start-up,
 * guest creation and the guest sweep, and the world read cursors. */
#include <stdio.h>
#include <string.h>

#include "store/sqlite_groups_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_util.h"
#include "store/world.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"
#include "util/log.h"

/* ---- helpers ------------------------------------------------------------------ */

/* A growable array of ids. */
typedef struct idvec {
    uint64_t *v;
    size_t n, cap;
} idvec_t;

static void idvec_push(idvec_t *iv, uint64_t id)
{
    if (iv->n == iv->cap) {
        iv->cap = iv->cap ? iv->cap * 2 : 16;
        iv->v = mp_realloc(iv->v, iv->cap * sizeof *iv->v);
    }
    iv->v[iv->n++] = id;
}

/* ---- the world conversation (synchronous, start-up) ------------------------------- */

static const char SQL_WORLD_FIND[] =
    "SELECT id FROM conversations WHERE kind = 'world' ORDER BY id LIMIT 1";
static const char SQL_WORLD_INSERT[] =
    "INSERT INTO conversations(id, kind, title, version, created_at, active_at)"
    " VALUES(?1, 'world', ?2, (SELECT version + 1 FROM chat_state WHERE id = 1), ?3, ?3)";
static const char SQL_WORLD_VERSION[] = "UPDATE chat_state SET version = version + 1 WHERE id = 1";

/* Finds the world conversation; 0 in *id when there is none. */
static mp_err_t world_find(mp_sql_conn_t *db, uint64_t *id)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_WORLD_FIND);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    return step_u64(db, s, id);
}

/* Inserts the world conversation, stamped with a fresh global version like
 * every other change. */
static mp_err_t world_insert(mp_sql_conn_t *db, int64_t now_ms, uint64_t id)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_WORLD_INSERT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, id);
    mp_sql_bind_text(s, 2, MP_WORLD_TITLE, -1);
    mp_sql_bind_i64(s, 3, now_ms);
    mp_err_t err = step_done(db, s);
    if (err != MP_OK)
        return err;
    s = mp_sql_prepare(db, SQL_WORLD_VERSION);
    return s == NULL ? MP_ERR_INTERNAL : step_done(db, s);
}

/* A private read-write connection, used before the writer has any job: the
 * write lock (BEGIN IMMEDIATE) makes find-or-create exact even if two
 * processes start on one directory. */
mp_err_t mp_store_world_ensure(mp_store_t *st, int64_t now_ms, uint64_t *id)
{
    mp_sql_conn_t *db = mp_sqlite__conn_open(st, false);
    if (db == NULL)
        return MP_ERR_INTERNAL;
    uint64_t found = 0;
    mp_err_t err = mp_sql_begin(db, true) ? MP_OK : MP_ERR_INTERNAL;
    if (err == MP_OK && (err = world_find(db, &found)) == MP_OK && found == 0) {
        found = mp_id_next();
        err = world_insert(db, now_ms, found);
        if (err == MP_OK)
            mp_log_info("store: created the world conversation %llu", (unsigned long long)found);
    }
    if (err == MP_OK && !mp_sql_commit(db))
        err = MP_ERR_INTERNAL;
    if (err == MP_OK) {
        *id = found;
    } else {
        mp_log_error("store: cannot find or create the world conversation");
        /* Closing the connection rolls back whatever a failed ROLLBACK left. */
        if (mp_sql_in_txn(db))
            mp_sql_rollback(db);
    }
    mp_sql_close(db);
    return err;
}

/* ---- guest creation (writer) --------------------------------------------------- */

typedef struct guest_job {
    mp_sql_job_t base;
    mp_user_row_t u;
    mp_device_row_t d;
    uint8_t hash[MP_TOKEN_HASH_LEN];
    mp_store_done_fn cb;
    void *ud;
} guest_job_t;

static const char SQL_NAME_TAKEN[] = "SELECT 1 FROM users WHERE username = ?1";
static const char SQL_GUEST_INSERT[] =
    "INSERT INTO users(id, username, display_name, password_hash, guest, created_at,"
    " last_active_at) VALUES(?1, ?2, ?3, '', 1, ?4, ?4)";
static const char SQL_GUEST_DEVICE[] =
    "INSERT INTO devices(id, user_id, name, created_at, last_seen_at) VALUES(?1, ?2, ?3, ?4, ?4)";
static const char SQL_GUEST_TOKEN[] =
    "INSERT INTO refresh_tokens(hash, device_id, live, created_at) VALUES(?1, ?2, 1, ?3)";

static mp_err_t guest_user_insert(mp_sql_conn_t *db, const mp_user_row_t *u)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_NAME_TAKEN);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_text(s, 1, u->username, -1);
    int rc = mp_sql_step(s);
    mp_sql_reset(s);
    if (rc == MP_SQL_ROW)
        return MP_ERR_USERNAME_TAKEN;
    if (rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    if ((s = mp_sql_prepare(db, SQL_GUEST_INSERT)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, u->id);
    mp_sql_bind_text(s, 2, u->username, -1);
    mp_sql_bind_text(s, 3, u->display_name, -1);
    mp_sql_bind_i64(s, 4, u->created_at);
    return step_done(db, s);
}

static mp_err_t guest_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    guest_job_t *j = (guest_job_t *)job;
    if (j->u.id == 0 || j->d.id == 0 || j->u.username[0] == '\0')
        return MP_ERR_BAD_REQUEST;
    mp_err_t rc = guest_user_insert(db, &j->u);
    if (rc != MP_OK)
        return rc;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_GUEST_DEVICE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->d.id);
    bind_u64(s, 2, j->u.id);
    mp_sql_bind_text(s, 3, j->d.name, -1);
    mp_sql_bind_i64(s, 4, j->d.created_at);
    if ((rc = step_done(db, s)) != MP_OK)
        return rc;
    if ((s = mp_sql_prepare(db, SQL_GUEST_TOKEN)) == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_blob(s, 1, j->hash, MP_TOKEN_HASH_LEN);
    bind_u64(s, 2, j->d.id);
    mp_sql_bind_i64(s, 3, j->d.created_at);
    return step_done(db, s);
}

static void guest_done(mp_sql_job_t *job, mp_err_t rc)
{
    guest_job_t *j = (guest_job_t *)job;
    if (j->cb)
        j->cb(rc, j->ud);
    mp_free(j);
}

mp_err_t mp_store_guest_create(mp_store_t *st, const mp_user_row_t *u, const mp_device_row_t *d,
                               const uint8_t refresh_hash[MP_TOKEN_HASH_LEN], mp_store_done_fn cb,
                               void *ud)
{
    guest_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = guest_run;
    j->base.done = guest_done;
    j->u = *u;
    j->d = *d;
    memcpy(j->hash, refresh_hash, MP_TOKEN_HASH_LEN);
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}

/* ---- guest sweep (writer) --------------------------------------------------------- */

typedef struct sweep_job {
    mp_sql_job_t base;
    int64_t cutoff;
    unsigned max;
    idvec_t users, devices;
    mp_sqlite_msgs_t msgs; /* groups handed on or dissolved */
    mp_guest_sweep_fn cb;
    void *ud;
} sweep_job_t;

/* The partial index users_guest_active serves the range; a device seen
 * (refreshed) after the cutoff keeps its guest alive. */
static const char SQL_SWEEP_DUE[] =
    "SELECT u.id FROM users u WHERE u.guest = 1 AND u.last_active_at < ?1"
    " AND NOT EXISTS(SELECT 1 FROM devices d WHERE d.user_id = u.id AND d.last_seen_at >= ?1)"
    " ORDER BY u.last_active_at LIMIT ?2";
static const char SQL_SWEEP_DEVICES[] = "SELECT id FROM devices WHERE user_id = ?1";
static const char SQL_SWEEP_NAME[] = "SELECT display_name FROM users WHERE id = ?1";
static const char SQL_SWEEP_DELETE[] = "DELETE FROM users WHERE id = ?1 AND guest = 1";
/* Tombstones outlive the longest access-token lifetime (access_token_ttl is
 * at most 30 days), then go. Their time (?2 here, ?1 in the prune) is the
 * job's clock, bound from C: the two dialects share no spelling of "now".
 * A tombstone that exists already takes the new time. */
static const char SQL_SWEEP_TOMBSTONE[] =
    "INSERT INTO device_tombstones(device_id, revoked_at)"
    " SELECT id, ?2 FROM devices WHERE user_id = ?1"
    " ON CONFLICT(device_id) DO UPDATE SET revoked_at = excluded.revoked_at";
static const char SQL_SWEEP_PRUNE[] = "DELETE FROM device_tombstones WHERE revoked_at < ?1";
#define TOMBSTONE_KEEP_S (31 * 86400)

static mp_err_t sweep_collect(mp_sql_conn_t *db, mp_sql_stmt_t *s, idvec_t *out)
{
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW)
        idvec_push(out, (uint64_t)mp_sql_col_i64(s, 0));
    mp_sql_reset(s);
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

/* Deletes one guest (cascading to devices, tokens and world cursors) and
 * records its devices. Every reference to a user cascades (the
 * migrations), so the delete meets no constraint; one that did would fail
 * the sweep rather than skip the guest, since after a failed statement
 * PostgreSQL refuses the rest of the transaction. now_s: the job's clock in
 * seconds. */
static mp_err_t sweep_one(mp_sql_conn_t *db, sweep_job_t *j, uint64_t user, int64_t now_s,
                          bool *deleted)
{
    size_t mark = j->devices.n;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SWEEP_DEVICES);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    mp_err_t err = sweep_collect(db, s, &j->devices);
    if (err != MP_OK)
        return err;
    if ((s = mp_sql_prepare(db, SQL_SWEEP_TOMBSTONE)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    mp_sql_bind_i64(s, 2, now_s * 1000);
    if ((err = step_done(db, s)) != MP_OK)
        return err;
    char name[200] = "a guest";
    if ((s = mp_sql_prepare(db, SQL_SWEEP_NAME)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_ROW)
        snprintf(name, sizeof name, "%s", mp_sql_col_text(s, 0));
    else if (rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    mp_sql_reset(s);
    if ((s = mp_sql_prepare(db, SQL_SWEEP_DELETE)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    if ((err = step_done(db, s)) != MP_OK)
        return err;
    *deleted = mp_sql_changes(db) > 0;
    if (!*deleted) {
        j->devices.n = mark;
        return MP_OK;
    }
    /* Guests can no longer own groups, but one may from before that rule. */
    return mp_sqlite__groups_owner_gone(db, user, name, mp_now_ms(), &j->msgs);
}

static mp_err_t prune_tombstones(mp_sql_conn_t *db, int64_t now_s)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SWEEP_PRUNE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, (now_s - TOMBSTONE_KEEP_S) * 1000);
    return step_done(db, s);
}

static mp_err_t sweep_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    sweep_job_t *j = (sweep_job_t *)job;
    idvec_t due = {0};
    /* Whole seconds, as the tombstones have always been stamped. */
    int64_t now_s = mp_now_ms() / 1000;
    mp_err_t err = prune_tombstones(db, now_s);
    mp_sql_stmt_t *s = err == MP_OK ? mp_sql_prepare(db, SQL_SWEEP_DUE) : NULL;
    if (err == MP_OK && s == NULL)
        err = MP_ERR_INTERNAL;
    if (err == MP_OK) {
        mp_sql_bind_i64(s, 1, j->cutoff);
        mp_sql_bind_i64(s, 2, (int64_t)j->max);
        err = sweep_collect(db, s, &due);
    }
    for (size_t i = 0; err == MP_OK && i < due.n; i++) {
        bool deleted = false;
        err = sweep_one(db, j, due.v[i], now_s, &deleted);
        if (err == MP_OK && deleted)
            idvec_push(&j->users, due.v[i]);
    }
    mp_free(due.v);
    return err;
}

static void sweep_done(mp_sql_job_t *job, mp_err_t rc)
{
    sweep_job_t *j = (sweep_job_t *)job;
    mp_guest_sweep_out_t out = {0};
    if (rc == MP_OK)
        out = (mp_guest_sweep_out_t){j->users.v,   j->users.n, j->devices.v,
                                     j->devices.n, j->msgs.v,  j->msgs.n};
    j->cb(rc, rc == MP_OK ? &out : NULL, j->ud);
    mp_free(j->users.v);
    mp_free(j->devices.v);
    mp_sqlite__msgs_free(&j->msgs);
    mp_free(j);
}

mp_err_t mp_store_guest_sweep(mp_store_t *st, int64_t cutoff_ms, unsigned max, mp_guest_sweep_fn cb,
                              void *ud)
{
    sweep_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = sweep_run;
    j->base.done = sweep_done;
    j->cutoff = cutoff_ms;
    j->max = max ? max : 1;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}

/* ---- world read cursors (writer) ---------------------------------------------------- */

typedef struct wcursor_job {
    mp_sql_job_t base;
    uint64_t user, conv;
    mp_chat_cursor_t which;
    int64_t seq;
    mp_chat_cursor_out_t out;
    mp_chat_cursor_fn cb;
    void *ud;
} wcursor_job_t;

static const char SQL_WCURSOR_GET[] =
    "SELECT c.last_seq, coalesce(w.read_seq, 0), coalesce(w.delivered_seq, 0)"
    " FROM conversations c LEFT JOIN world_reads w"
    " ON w.conversation_id = c.id AND w.user_id = ?2 WHERE c.id = ?1 AND c.kind = 'world'";
static const char SQL_WCURSOR_SET[] =
    "INSERT INTO world_reads(user_id, conversation_id, read_seq, delivered_seq)"
    " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(user_id, conversation_id)"
    " DO UPDATE SET read_seq = excluded.read_seq, delivered_seq = excluded.delivered_seq";

static mp_err_t wcursor_load(mp_sql_conn_t *db, wcursor_job_t *j)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_WCURSOR_GET);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    bind_u64(s, 2, j->user);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_MEMBER; /* not the world (or no such conversation) */
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    j->out.last_seq = mp_sql_col_i64(s, 0);
    j->out.read_seq = mp_sql_col_i64(s, 1);
    j->out.delivered_seq = mp_sql_col_i64(s, 2);
    mp_sql_reset(s);
    return MP_OK;
}

static mp_err_t wcursor_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    wcursor_job_t *j = (wcursor_job_t *)job;
    mp_err_t rc = wcursor_load(db, j);
    if (rc != MP_OK)
        return rc;
    if (!mp_chat_cursor_advance(j->which, j->seq, j->out.last_seq, &j->out.read_seq,
                                &j->out.delivered_seq))
        return MP_OK;
    j->out.changed = true;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_WCURSOR_SET);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    bind_u64(s, 2, j->conv);
    mp_sql_bind_i64(s, 3, j->out.read_seq);
    mp_sql_bind_i64(s, 4, j->out.delivered_seq);
    return step_done(db, s);
}

static void wcursor_done(mp_sql_job_t *job, mp_err_t rc)
{
    wcursor_job_t *j = (wcursor_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->out : NULL, j->ud);
    mp_free(j);
}

mp_err_t mp_store_world_cursor(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                               mp_chat_cursor_t which, int64_t seq, mp_chat_cursor_fn cb, void *ud)
{
    wcursor_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = wcursor_run;
    j->base.done = wcursor_done;
    j->user = user_id;
    j->conv = conversation_id;
    j->which = which;
    j->seq = seq;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}
