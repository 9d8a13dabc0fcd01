/* The SQLite implementation of the SQL seam (sql.h): a connection with its
 * own prepared-statement cache and deferred batch state, and the one place
 * where SQLite result codes become mp_err_t.
 *
 * A statement of the seam IS a sqlite3_stmt: the opaque type only keeps
 * libsqlite3 out of the operation files, at no cost on the hot path. */
#include <string.h>

#include "store/sql_sqlite.h"
#include "util/alloc.h"
#include "util/log.h"

_Static_assert(MP_SQL_ROW == SQLITE_ROW && MP_SQL_DONE == SQLITE_DONE,
               "mp_sql_step passes sqlite3_step's codes through");

struct mp_sql_conn {
    sqlite3 *db;
    struct {
        const char *sql; /* key: the literal's address */
        sqlite3_stmt *stmt;
    } * e;
    size_t n, cap;
    mp_sql_deferred_t *deferred; /* writer only: the current batch's */
};

static inline sqlite3_stmt *S(mp_sql_stmt_t *s)
{
    return (sqlite3_stmt *)s;
}

mp_sql_conn_t *mp_sql_sqlite_wrap(sqlite3 *db)
{
    mp_sql_conn_t *c = mp_calloc(1, sizeof *c);
    c->db = db;
    return c;
}

sqlite3 *mp_sql_sqlite_db(mp_sql_conn_t *c)
{
    return c->db;
}

mp_sql_stmt_t *mp_sql_prepare(mp_sql_conn_t *c, const char *sql)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->e[i].sql == sql) {
            sqlite3_stmt *s = c->e[i].stmt;
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            return (mp_sql_stmt_t *)s;
        }
    }
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
    if (rc != SQLITE_OK) {
        mp_log_error("store: cannot prepare \"%s\": %s", sql, sqlite3_errmsg(c->db));
        sqlite3_finalize(s);
        return NULL;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 32;
        c->e = mp_realloc(c->e, c->cap * sizeof *c->e);
    }
    c->e[c->n].sql = sql;
    c->e[c->n].stmt = s;
    c->n++;
    return (mp_sql_stmt_t *)s;
}

void mp_sql_bind_i64(mp_sql_stmt_t *s, int idx, int64_t v)
{
    sqlite3_bind_int64(S(s), idx, (sqlite3_int64)v);
}

void mp_sql_bind_text(mp_sql_stmt_t *s, int idx, const char *v, int len)
{
    sqlite3_bind_text(S(s), idx, v, len, SQLITE_STATIC);
}

void mp_sql_bind_text_copy(mp_sql_stmt_t *s, int idx, const char *v, int len)
{
    sqlite3_bind_text(S(s), idx, v, len, SQLITE_TRANSIENT);
}

void mp_sql_bind_blob(mp_sql_stmt_t *s, int idx, const void *v, int len)
{
    sqlite3_bind_blob(S(s), idx, v, len, SQLITE_STATIC);
}

void mp_sql_bind_null(mp_sql_stmt_t *s, int idx)
{
    sqlite3_bind_null(S(s), idx);
}

int mp_sql_step(mp_sql_stmt_t *s)
{
    return sqlite3_step(S(s));
}

void mp_sql_reset(mp_sql_stmt_t *s)
{
    sqlite3_reset(S(s));
}

int64_t mp_sql_col_i64(mp_sql_stmt_t *s, int col)
{
    return (int64_t)sqlite3_column_int64(S(s), col);
}

int mp_sql_col_int(mp_sql_stmt_t *s, int col)
{
    return sqlite3_column_int(S(s), col);
}

const char *mp_sql_col_text(mp_sql_stmt_t *s, int col)
{
    return (const char *)sqlite3_column_text(S(s), col);
}

const void *mp_sql_col_blob(mp_sql_stmt_t *s, int col)
{
    return sqlite3_column_blob(S(s), col);
}

int mp_sql_col_bytes(mp_sql_stmt_t *s, int col)
{
    return sqlite3_column_bytes(S(s), col);
}

bool mp_sql_col_is_null(mp_sql_stmt_t *s, int col)
{
    return sqlite3_column_type(S(s), col) == SQLITE_NULL;
}

int mp_sql_col_count(mp_sql_stmt_t *s)
{
    return sqlite3_column_count(S(s));
}

bool mp_sqlite__exhausted(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_FULL:  /* ENOSPC, or max_page_count */
    case SQLITE_IOERR: /* EFBIG past a file size limit, EIO, fsync failure */
    case SQLITE_NOMEM:
    case SQLITE_BUSY:     /* the lock wait timed out: load, not a bug */
    case SQLITE_CANTOPEN: /* out of file descriptors for a journal */
        return true;
    default:
        return false;
    }
}

mp_err_t mp_sql_err(mp_sql_conn_t *c, int rc)
{
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        mp_log_debug("store: constraint: %s", sqlite3_errmsg(c->db));
        return MP_ERR_CONFLICT;
    }
    if (mp_sqlite__exhausted(rc)) {
        mp_log_error("store: sqlite error %d: %s (resource exhausted: answering unavailable)", rc,
                     sqlite3_errmsg(c->db));
        return MP_ERR_UNAVAILABLE;
    }
    mp_log_error("store: sqlite error %d: %s", rc, sqlite3_errmsg(c->db));
    return MP_ERR_INTERNAL;
}

bool mp_sql_is_constraint(int rc)
{
    return (rc & 0xff) == SQLITE_CONSTRAINT;
}

bool mp_sql_is_fk_violation(mp_sql_conn_t *c)
{
    return sqlite3_extended_errcode(c->db) == SQLITE_CONSTRAINT_FOREIGNKEY;
}

const char *mp_sql_errmsg(mp_sql_conn_t *c)
{
    return sqlite3_errmsg(c->db);
}

bool mp_sql_is_pg(mp_sql_conn_t *c)
{
    (void)c;
    return false;
}

int64_t mp_sql_changes(mp_sql_conn_t *c)
{
    return (int64_t)sqlite3_changes(c->db);
}

mp_err_t mp_sql_exec(mp_sql_conn_t *c, const char *sql)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? MP_OK : mp_sql_err(c, rc);
}

/* ---- transactions (cached: they run for every job) ------------------------ */

static const char SQL_BEGIN_IMMEDIATE[] = "BEGIN IMMEDIATE";
static const char SQL_BEGIN[] = "BEGIN";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_SAVEPOINT[] = "SAVEPOINT job";
static const char SQL_RELEASE[] = "RELEASE job";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO job";

static bool exec_cached(mp_sql_conn_t *c, const char *sql)
{
    sqlite3_stmt *s = S(mp_sql_prepare(c, sql));
    if (s == NULL)
        return false;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        mp_log_error("store: %s failed: %s%s", sql, sqlite3_errmsg(c->db),
                     mp_sqlite__exhausted(sqlite3_extended_errcode(c->db))
                         ? " (out of disk space, file size limit or I/O error)"
                         : "");
        return false;
    }
    return true;
}

bool mp_sql_begin(mp_sql_conn_t *c, bool write)
{
    return exec_cached(c, write ? SQL_BEGIN_IMMEDIATE : SQL_BEGIN);
}

bool mp_sql_commit(mp_sql_conn_t *c)
{
    return exec_cached(c, SQL_COMMIT);
}

void mp_sql_rollback(mp_sql_conn_t *c)
{
    (void)exec_cached(c, SQL_ROLLBACK);
}

bool mp_sql_savepoint(mp_sql_conn_t *c)
{
    return exec_cached(c, SQL_SAVEPOINT);
}

bool mp_sql_release(mp_sql_conn_t *c)
{
    return exec_cached(c, SQL_RELEASE);
}

bool mp_sql_rollback_to(mp_sql_conn_t *c)
{
    return exec_cached(c, SQL_ROLLBACK_TO);
}

bool mp_sql_in_txn(mp_sql_conn_t *c)
{
    return !sqlite3_get_autocommit(c->db);
}

bool mp_sql_last_exhausted(mp_sql_conn_t *c)
{
    return mp_sqlite__exhausted(sqlite3_extended_errcode(c->db));
}

/* ---- lifecycle --------------------------------------------------------------- */

void mp_sql_reset_all(mp_sql_conn_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        if (sqlite3_stmt_busy(c->e[i].stmt))
            sqlite3_reset(c->e[i].stmt);
}

void mp_sql_close(mp_sql_conn_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        sqlite3_finalize(c->e[i].stmt);
    mp_free(c->e);
    if (sqlite3_close(c->db) != SQLITE_OK)
        mp_log_error("store: closing a connection failed: %s", sqlite3_errmsg(c->db));
    mp_free(c);
}

mp_sql_deferred_t *mp_sql_deferred(mp_sql_conn_t *c)
{
    return c->deferred;
}

void mp_sql_defer(mp_sql_conn_t *c, mp_sql_deferred_t *d)
{
    c->deferred = d;
}

mp_sql_deferred_t *mp_sql_undefer(mp_sql_conn_t *c)
{
    mp_sql_deferred_t *d = c->deferred;
    c->deferred = NULL;
    return d;
}
