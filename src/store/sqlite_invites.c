/* SQLite implementation of store/invites.h: registration invite codes
 * (create and revoke on the writer, list on a reader) and the use counted
 * by a registration (mp_sqlite__invite_use, run inside the user-create job
 * of sqlite_users.c). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "store/invites.h"
#include "store/sqlite_invites_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"

/* ---- rows ------------------------------------------------------------------------ */

void mp_sqlite__invite_code_norm(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src != NULL && src[i] != '\0' && i + 1 < cap; i++)
        dst[i] = (char)toupper((unsigned char)src[i]);
    dst[i] = '\0';
}

mp_invite_state_t mp_invite_state(const mp_invite_row_t *row, int64_t now_ms)
{
    if (row->revoked_at != 0)
        return MP_INVITE_REVOKED;
    if (row->max_uses != 0 && row->uses >= row->max_uses)
        return MP_INVITE_USED_UP;
    if (row->expires_at != 0 && row->expires_at <= now_ms)
        return MP_INVITE_EXPIRED;
    return MP_INVITE_ACTIVE;
}

const char *mp_invite_state_name(mp_invite_state_t st)
{
    switch (st) {
    case MP_INVITE_EXPIRED:
        return "expired";
    case MP_INVITE_REVOKED:
        return "revoked";
    case MP_INVITE_USED_UP:
        return "used_up";
    case MP_INVITE_ACTIVE:
    default:
        return "active";
    }
}

#define INVITE_COLS "code, created_by, created_at, expires_at, max_uses, uses, revoked_at, note"

static void invite_read(mp_sql_stmt_t *s, mp_invite_row_t *r)
{
    const char *code = mp_sql_col_text(s, 0), *note = mp_sql_col_text(s, 7);
    snprintf(r->code, sizeof r->code, "%s", code ? code : "");
    r->created_by = col_u64(s, 1);
    r->created_at = mp_sql_col_i64(s, 2);
    r->expires_at = mp_sql_col_i64(s, 3);
    r->max_uses = mp_sql_col_i64(s, 4);
    r->uses = mp_sql_col_i64(s, 5);
    r->revoked_at = mp_sql_col_i64(s, 6);
    snprintf(r->note, sizeof r->note, "%s", note ? note : "");
}

static const char SQL_INVITE_GET[] = "SELECT " INVITE_COLS " FROM invite_codes WHERE code = ?1";

static mp_err_t invite_load(mp_sql_conn_t *db, const char *code, mp_invite_row_t *r)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_INVITE_GET);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_text(s, 1, code, -1);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_FOUND;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    invite_read(s, r);
    mp_sql_reset(s);
    return MP_OK;
}

/* ---- one-row jobs: create, revoke (writer) ------------------------------------------ */

typedef struct invite_job {
    mp_sql_job_t base;
    mp_invite_row_t row; /* in: the new row / the code; out: the row after the change */
    int64_t now;
    mp_invite_fn cb;
    void *ud;
} invite_job_t;

static void invite_done(mp_sql_job_t *job, mp_err_t rc)
{
    invite_job_t *j = (invite_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->row : NULL, j->ud);
    mp_free(j);
}

static const char SQL_INVITE_INSERT[] =
    "INSERT INTO invite_codes(code, created_by, created_at, expires_at, max_uses, uses,"
    " revoked_at, note) VALUES(?1, ?2, ?3, ?4, ?5, 0, 0, ?6)";

static mp_err_t create_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    invite_job_t *j = (invite_job_t *)job;
    if (j->row.code[0] == '\0' || j->row.max_uses < 0 || j->row.expires_at < 0)
        return MP_ERR_BAD_REQUEST;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_INVITE_INSERT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_text(s, 1, j->row.code, -1);
    bind_u64(s, 2, j->row.created_by);
    mp_sql_bind_i64(s, 3, j->row.created_at);
    mp_sql_bind_i64(s, 4, j->row.expires_at);
    mp_sql_bind_i64(s, 5, j->row.max_uses);
    mp_sql_bind_text(s, 6, j->row.note, -1);
    /* The primary key is the only constraint: an existing code is CONFLICT. */
    mp_err_t rc = step_done(db, s);
    if (rc != MP_OK)
        return rc;
    return invite_load(db, j->row.code, &j->row);
}

mp_err_t mp_store_invite_create(mp_store_t *st, const mp_invite_row_t *row, mp_invite_fn cb,
                                void *ud)
{
    invite_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = create_run;
    j->base.done = invite_done;
    j->row = *row;
    mp_sqlite__invite_code_norm(j->row.code, sizeof j->row.code, row->code);
    j->row.uses = 0;
    j->row.revoked_at = 0;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}

/* Keeps the first revocation's time: revoking again changes nothing. */
static const char SQL_INVITE_REVOKE[] =
    "UPDATE invite_codes SET revoked_at = ?2 WHERE code = ?1 AND revoked_at = 0";

static mp_err_t revoke_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    invite_job_t *j = (invite_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_INVITE_REVOKE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_text(s, 1, j->row.code, -1);
    mp_sql_bind_i64(s, 2, j->now);
    mp_err_t rc = step_done(db, s);
    return rc != MP_OK ? rc : invite_load(db, j->row.code, &j->row);
}

mp_err_t mp_store_invite_revoke(mp_store_t *st, const char *code, int64_t now_ms, mp_invite_fn cb,
                                void *ud)
{
    invite_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = revoke_run;
    j->base.done = invite_done;
    mp_sqlite__invite_code_norm(j->row.code, sizeof j->row.code, code);
    j->now = now_ms;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}

/* ---- list (reader) ------------------------------------------------------------------- */

typedef struct list_job {
    mp_sql_job_t base;
    int64_t after_at;
    char after_code[MP_INVITE_CODE_MAX + 1];
    unsigned limit;
    mp_invite_row_t *rows;
    size_t n;
    bool more;
    mp_invites_fn cb;
    void *ud;
} list_job_t;

/* Keyset paging on (created_at, code), newest first; ?1 = 0 is the first page. */
static const char SQL_INVITE_LIST[] =
    "SELECT " INVITE_COLS " FROM invite_codes"
    " WHERE ?1 = 0 OR created_at < ?1 OR (created_at = ?1 AND code < ?2)"
    " ORDER BY created_at DESC, code DESC LIMIT ?3";

static mp_err_t list_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    list_job_t *j = (list_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_INVITE_LIST);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, j->after_at);
    mp_sql_bind_text(s, 2, j->after_code, -1);
    mp_sql_bind_i64(s, 3, (int64_t)j->limit + 1); /* one more tells has_more */
    j->rows = mp_calloc(j->limit + 1, sizeof *j->rows);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW)
        invite_read(s, &j->rows[j->n++]);
    if (rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    if (j->n > j->limit) {
        j->n = j->limit;
        j->more = true;
    }
    return MP_OK;
}

static void list_done(mp_sql_job_t *job, mp_err_t rc)
{
    list_job_t *j = (list_job_t *)job;
    if (rc == MP_OK)
        j->cb(MP_OK, j->rows, j->n, j->more, j->ud);
    else
        j->cb(rc, NULL, 0, false, j->ud);
    mp_free(j->rows);
    mp_free(j);
}

mp_err_t mp_store_invite_list(mp_store_t *st, int64_t after_at, const char *after_code,
                              unsigned limit, mp_invites_fn cb, void *ud)
{
    list_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = list_run;
    j->base.done = list_done;
    j->after_at = after_at;
    mp_sqlite__invite_code_norm(j->after_code, sizeof j->after_code, after_code);
    j->limit = limit < 1 ? 1 : limit > MP_INVITE_LIST_MAX ? MP_INVITE_LIST_MAX : limit;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}

/* ---- a registration's use (writer, inside the user-create job) ------------------------ */

/* The check and the count are one statement in the writer's transaction:
 * two registrations racing for the last use run one after the other, and
 * the second finds uses = max_uses. */
static const char SQL_INVITE_USE[] =
    "UPDATE invite_codes SET uses = uses + 1 WHERE code = ?1 AND revoked_at = 0"
    " AND (expires_at = 0 OR expires_at > ?2) AND (max_uses = 0 OR uses < max_uses)";

mp_err_t mp_sqlite__invite_use(mp_sql_conn_t *db, const char *code, int64_t now_ms)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_INVITE_USE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_text(s, 1, code, -1);
    mp_sql_bind_i64(s, 2, now_ms);
    mp_err_t rc = step_done(db, s);
    if (rc != MP_OK)
        return rc;
    return mp_sql_changes(db) == 1 ? MP_OK : MP_ERR_INVALID_INVITE;
}
