/* SQLite implementation of the world bans of store/world.h: ban and unban on
 * the writer, the list on a reader, and the check the send, forward and
 * reaction jobs make in their own transaction (mp_sqlite__world_banned). */
#include <stdio.h>
#include <string.h>

#include "store/sqlite_chat_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_util.h"
#include "store/world.h"
#include "util/alloc.h"

static const char SQL_BANNED[] = "SELECT 1 FROM world_bans WHERE user_id = ?1";

mp_err_t mp_sqlite__world_banned(mp_sql_conn_t *db, uint64_t user, bool *banned)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_BANNED);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW && rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    *banned = rc == MP_SQL_ROW;
    mp_sql_reset(s);
    return MP_OK;
}

#define BAN_COLS "b.user_id, coalesce(u.username, ''), b.banned_by, b.reason, b.created_at"
#define BAN_FROM " FROM world_bans b LEFT JOIN users u ON u.id = b.user_id"

static void ban_read(mp_sql_stmt_t *s, mp_world_ban_row_t *r)
{
    const char *name = mp_sql_col_text(s, 1), *reason = mp_sql_col_text(s, 3);
    r->user_id = col_u64(s, 0);
    snprintf(r->username, sizeof r->username, "%s", name ? name : "");
    r->banned_by = col_u64(s, 2);
    snprintf(r->reason, sizeof r->reason, "%s", reason ? reason : "");
    r->created_at = mp_sql_col_i64(s, 4);
}

/* ---- ban and unban (writer) ------------------------------------------------------------ */

typedef struct ban_job {
    mp_sql_job_t base;
    mp_world_ban_row_t row;
    bool created;
    mp_world_ban_fn ban_cb;
    mp_store_done_fn done_cb;
    void *ud;
} ban_job_t;

static const char SQL_BAN_GET[] = "SELECT " BAN_COLS BAN_FROM " WHERE b.user_id = ?1";
static const char SQL_USER_EXISTS[] = "SELECT 1 FROM users WHERE id = ?1";
/* SQLite and PostgreSQL both: ON CONFLICT DO NOTHING keeps a standing ban. */
static const char SQL_BAN_INSERT[] =
    "INSERT INTO world_bans(user_id, banned_by, reason, created_at) VALUES(?1, ?2, ?3, ?4)"
    " ON CONFLICT(user_id) DO NOTHING";
static const char SQL_BAN_DELETE[] = "DELETE FROM world_bans WHERE user_id = ?1";

static mp_err_t ban_load(mp_sql_conn_t *db, uint64_t user, mp_world_ban_row_t *r)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_BAN_GET);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_FOUND;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    ban_read(s, r);
    mp_sql_reset(s);
    return MP_OK;
}

static mp_err_t ban_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    ban_job_t *j = (ban_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_USER_EXISTS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->row.user_id);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_FOUND;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    mp_sql_reset(s);
    if ((s = mp_sql_prepare(db, SQL_BAN_INSERT)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->row.user_id);
    bind_u64(s, 2, j->row.banned_by);
    mp_sql_bind_text(s, 3, j->row.reason, -1);
    mp_sql_bind_i64(s, 4, j->row.created_at);
    mp_err_t err = step_done(db, s);
    if (err != MP_OK)
        return err;
    j->created = mp_sql_changes(db) == 1;
    return ban_load(db, j->row.user_id, &j->row);
}

static void ban_done(mp_sql_job_t *job, mp_err_t rc)
{
    ban_job_t *j = (ban_job_t *)job;
    j->ban_cb(rc, rc == MP_OK ? &j->row : NULL, j->created, j->ud);
    mp_free(j);
}

mp_err_t mp_store_world_ban(mp_store_t *st, uint64_t user_id, uint64_t banned_by,
                            const char *reason, int64_t now_ms, mp_world_ban_fn cb, void *ud)
{
    ban_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = ban_run;
    j->base.done = ban_done;
    j->row.user_id = user_id;
    j->row.banned_by = banned_by;
    snprintf(j->row.reason, sizeof j->row.reason, "%s", reason ? reason : "");
    j->row.created_at = now_ms;
    j->ban_cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}

static mp_err_t unban_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    ban_job_t *j = (ban_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_BAN_DELETE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->row.user_id);
    mp_err_t rc = step_done(db, s);
    if (rc != MP_OK)
        return rc;
    return mp_sql_changes(db) == 1 ? MP_OK : MP_ERR_NOT_FOUND;
}

static void unban_done(mp_sql_job_t *job, mp_err_t rc)
{
    ban_job_t *j = (ban_job_t *)job;
    if (j->done_cb)
        j->done_cb(rc, j->ud);
    mp_free(j);
}

mp_err_t mp_store_world_unban(mp_store_t *st, uint64_t user_id, mp_store_done_fn cb, void *ud)
{
    ban_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = unban_run;
    j->base.done = unban_done;
    j->row.user_id = user_id;
    j->done_cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}

/* ---- list (reader) --------------------------------------------------------------------- */

typedef struct bans_job {
    mp_sql_job_t base;
    int64_t after_at;
    uint64_t after_user;
    unsigned limit;
    mp_world_ban_row_t *rows;
    size_t n;
    bool more;
    mp_world_bans_fn cb;
    void *ud;
} bans_job_t;

/* Keyset paging on (created_at, user_id), newest first; ?1 = 0 is the first page. */
static const char SQL_BANS_LIST[] =
    "SELECT " BAN_COLS BAN_FROM
    " WHERE ?1 = 0 OR b.created_at < ?1 OR (b.created_at = ?1 AND b.user_id < ?2)"
    " ORDER BY b.created_at DESC, b.user_id DESC LIMIT ?3";

static mp_err_t bans_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    bans_job_t *j = (bans_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_BANS_LIST);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, j->after_at);
    bind_u64(s, 2, j->after_user);
    mp_sql_bind_i64(s, 3, (int64_t)j->limit + 1); /* one more tells has_more */
    j->rows = mp_calloc(j->limit + 1, sizeof *j->rows);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW)
        ban_read(s, &j->rows[j->n++]);
    if (rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    if (j->n > j->limit) {
        j->n = j->limit;
        j->more = true;
    }
    return MP_OK;
}

static void bans_done(mp_sql_job_t *job, mp_err_t rc)
{
    bans_job_t *j = (bans_job_t *)job;
    if (rc == MP_OK)
        j->cb(MP_OK, j->rows, j->n, j->more, j->ud);
    else
        j->cb(rc, NULL, 0, false, j->ud);
    mp_free(j->rows);
    mp_free(j);
}

mp_err_t mp_store_world_bans(mp_store_t *st, int64_t after_at, uint64_t after_user, unsigned limit,
                             mp_world_bans_fn cb, void *ud)
{
    bans_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = bans_run;
    j->base.done = bans_done;
    j->after_at = after_at;
    j->after_user = after_user;
    j->limit = limit < 1 ? 1 : limit > MP_WORLD_BANS_MAX ? MP_WORLD_BANS_MAX : limit;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}
