/* The SQLite backend of the SQL seam (sql.h, sql_int.h): a connection with
 * its own prepared-statement cache. SQLite's result codes are the seam's
 * codes, so they pass through unchanged. */
#include <string.h>

#include "store/sql_int.h"
#include "store/sql_sqlite.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/log.h"
#include "util/map.h"

_Static_assert(MP_SQL_ROW == SQLITE_ROW && MP_SQL_DONE == SQLITE_DONE,
               "mp_sql_step passes sqlite3_step's codes through");
_Static_assert(MP_SQL_ERROR == SQLITE_ERROR && MP_SQL_BUSY == SQLITE_BUSY &&
                   MP_SQL_NOMEM == SQLITE_NOMEM && MP_SQL_IOERR == SQLITE_IOERR &&
                   MP_SQL_FULL == SQLITE_FULL && MP_SQL_CANTOPEN == SQLITE_CANTOPEN &&
                   MP_SQL_CONSTRAINT == SQLITE_CONSTRAINT &&
                   MP_SQL_CONSTRAINT_FOREIGNKEY == SQLITE_CONSTRAINT_FOREIGNKEY,
               "the seam's error codes are SQLite's");

typedef struct lite_stmt {
    mp_sql_stmt_t base;
    sqlite3_stmt *s;
    const char *sql; /* key: the literal's address */
    struct lite_conn *conn;
    bool stepped; /* in the connection's stepped list */
} lite_stmt_t;

/* The writer looks up two or three statements per message among the
 * hundred or so its connection has prepared, and resets what a job left
 * open after every job: a map by the literal's address, and the list of
 * the statements stepped since the last reset_all, keep both to the
 * statements at hand. */
typedef struct lite_conn {
    mp_sql_conn_t base;
    sqlite3 *db;
    mp_map_t by_sql; /* (uintptr_t)sql -> lite_stmt_t * (owned) */
    lite_stmt_t **stepped;
    size_t n_stepped, cap_stepped;
} lite_conn_t;

static const mp_sql_ops_t lite_ops;

static inline lite_conn_t *C(mp_sql_conn_t *c)
{
    return (lite_conn_t *)c;
}

static inline sqlite3_stmt *S(mp_sql_stmt_t *s)
{
    return ((lite_stmt_t *)s)->s;
}

mp_sql_conn_t *mp_sql_sqlite_wrap(sqlite3 *db)
{
    lite_conn_t *c = mp_calloc(1, sizeof *c);
    c->base.ops = &lite_ops;
    c->db = db;
    return &c->base;
}

sqlite3 *mp_sql_sqlite_db(mp_sql_conn_t *c)
{
    return c->ops == &lite_ops ? C(c)->db : NULL;
}

static mp_sql_stmt_t *lite_prepare(mp_sql_conn_t *conn, const char *sql)
{
    lite_conn_t *c = C(conn);
    lite_stmt_t *hit = mp_map_get(&c->by_sql, (uintptr_t)sql);
    if (hit != NULL) {
        sqlite3_reset(hit->s);
        sqlite3_clear_bindings(hit->s);
        return &hit->base;
    }
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
    if (rc != SQLITE_OK) {
        mp_log_error("store: cannot prepare \"%s\": %s", sql, sqlite3_errmsg(c->db));
        sqlite3_finalize(s);
        return NULL;
    }
    lite_stmt_t *st = mp_calloc(1, sizeof *st);
    st->base.ops = &lite_ops;
    st->conn = c;
    st->s = s;
    st->sql = sql;
    mp_map_put(&c->by_sql, (uintptr_t)sql, st);
    return &st->base;
}

static void lite_bind_i64(mp_sql_stmt_t *s, int idx, int64_t v)
{
    sqlite3_bind_int64(S(s), idx, (sqlite3_int64)v);
}

static void lite_bind_text(mp_sql_stmt_t *s, int idx, const char *v, int len, bool copy)
{
    sqlite3_bind_text(S(s), idx, v, len, copy ? SQLITE_TRANSIENT : SQLITE_STATIC);
}

static void lite_bind_blob(mp_sql_stmt_t *s, int idx, const void *v, int len)
{
    sqlite3_bind_blob(S(s), idx, v, len, SQLITE_STATIC);
}

static void lite_bind_null(mp_sql_stmt_t *s, int idx)
{
    sqlite3_bind_null(S(s), idx);
}

static int lite_step(mp_sql_stmt_t *s)
{
    lite_stmt_t *st = (lite_stmt_t *)s;
    if (!st->stepped) {
        lite_conn_t *c = st->conn;
        if (c->n_stepped == c->cap_stepped) {
            c->cap_stepped = c->cap_stepped ? 2 * c->cap_stepped : 16;
            c->stepped = mp_realloc(c->stepped, c->cap_stepped * sizeof *c->stepped);
        }
        c->stepped[c->n_stepped++] = st;
        st->stepped = true;
    }
    return sqlite3_step(st->s);
}

static void lite_reset(mp_sql_stmt_t *s)
{
    sqlite3_reset(S(s));
}

static int64_t lite_col_i64(mp_sql_stmt_t *s, int col)
{
    return (int64_t)sqlite3_column_int64(S(s), col);
}

static const char *lite_col_text(mp_sql_stmt_t *s, int col)
{
    return (const char *)sqlite3_column_text(S(s), col);
}

static const void *lite_col_blob(mp_sql_stmt_t *s, int col)
{
    return sqlite3_column_blob(S(s), col);
}

static int lite_col_bytes(mp_sql_stmt_t *s, int col)
{
    return sqlite3_column_bytes(S(s), col);
}

static bool lite_col_is_null(mp_sql_stmt_t *s, int col)
{
    return sqlite3_column_type(S(s), col) == SQLITE_NULL;
}

static int lite_col_count(mp_sql_stmt_t *s)
{
    return sqlite3_column_count(S(s));
}

static int lite_last_code(mp_sql_conn_t *c)
{
    return sqlite3_extended_errcode(C(c)->db);
}

static const char *lite_errmsg(mp_sql_conn_t *c)
{
    return sqlite3_errmsg(C(c)->db);
}

static int64_t lite_changes(mp_sql_conn_t *c)
{
    return (int64_t)sqlite3_changes(C(c)->db);
}

static int lite_exec(mp_sql_conn_t *c, const char *sql)
{
    int rc = sqlite3_exec(C(c)->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? MP_SQL_DONE : rc;
}

/* ---- transactions (cached: they run for every job) ------------------------ */

static const char *const txn_sql[] = {
    [MP_SQL_TXN_BEGIN_READ] = "BEGIN",
    [MP_SQL_TXN_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [MP_SQL_TXN_COMMIT] = "COMMIT",
    [MP_SQL_TXN_ROLLBACK] = "ROLLBACK",
    [MP_SQL_TXN_SAVEPOINT] = "SAVEPOINT job",
    [MP_SQL_TXN_RELEASE] = "RELEASE job",
    [MP_SQL_TXN_ROLLBACK_TO] = "ROLLBACK TO job",
};

static bool lite_txn(mp_sql_conn_t *conn, mp_sql_txn_t op)
{
    lite_conn_t *c = C(conn);
    const char *sql = txn_sql[op];
    mp_sql_stmt_t *st = lite_prepare(conn, sql);
    if (st == NULL)
        return false;
    int rc = sqlite3_step(S(st));
    sqlite3_reset(S(st));
    if (rc != SQLITE_DONE) {
        mp_log_error("store: %s failed: %s%s", sql, sqlite3_errmsg(c->db),
                     mp_sql__exhausted(sqlite3_extended_errcode(c->db))
                         ? " (out of disk space, file size limit or I/O error)"
                         : "");
        return false;
    }
    return true;
}

static bool lite_in_txn(mp_sql_conn_t *c)
{
    return !sqlite3_get_autocommit(C(c)->db);
}

/* ---- lifecycle --------------------------------------------------------------- */

static void lite_reset_all(mp_sql_conn_t *conn)
{
    lite_conn_t *c = C(conn);
    for (size_t i = 0; i < c->n_stepped; i++) {
        lite_stmt_t *st = c->stepped[i];
        MP_ASSERT(st->stepped);
        if (sqlite3_stmt_busy(st->s))
            sqlite3_reset(st->s);
        st->stepped = false;
    }
    c->n_stepped = 0;
}

static void lite_close(mp_sql_conn_t *conn)
{
    lite_conn_t *c = C(conn);
    mp_map_iter_t it;
    uint64_t sql;
    void *v;
    mp_map_iter_init(&c->by_sql, &it);
    while (mp_map_iter_next(&c->by_sql, &it, &sql, &v)) {
        lite_stmt_t *st = v;
        sqlite3_finalize(st->s);
        mp_free(st);
    }
    mp_map_free(&c->by_sql);
    mp_free(c->stepped);
    if (sqlite3_close(c->db) != SQLITE_OK)
        mp_log_error("store: closing a connection failed: %s", sqlite3_errmsg(c->db));
    mp_free(c);
}

static const mp_sql_ops_t lite_ops = {
    .pg = false,
    .prepare = lite_prepare,
    .bind_i64 = lite_bind_i64,
    .bind_text = lite_bind_text,
    .bind_blob = lite_bind_blob,
    .bind_null = lite_bind_null,
    .step = lite_step,
    .reset = lite_reset,
    .col_i64 = lite_col_i64,
    .col_text = lite_col_text,
    .col_blob = lite_col_blob,
    .col_bytes = lite_col_bytes,
    .col_is_null = lite_col_is_null,
    .col_count = lite_col_count,
    .last_code = lite_last_code,
    .errmsg = lite_errmsg,
    .changes = lite_changes,
    .exec = lite_exec,
    .txn = lite_txn,
    .in_txn = lite_in_txn,
    .reset_all = lite_reset_all,
    .close = lite_close,
};
