/* The SQL seam (sql.h) over its backends (sql_int.h): every call is
 * forwarded to the connection's or statement's backend; the error mapping
 * and the deferred batch state are the same for all of them, so they live
 * here, once. */
#include "store/sql_int.h"
#include "util/log.h"

mp_sql_stmt_t *mp_sql_prepare(mp_sql_conn_t *c, const char *sql)
{
    return c->ops->prepare(c, sql);
}

void mp_sql_bind_i64(mp_sql_stmt_t *s, int idx, int64_t v)
{
    s->ops->bind_i64(s, idx, v);
}

void mp_sql_bind_text(mp_sql_stmt_t *s, int idx, const char *v, int len)
{
    s->ops->bind_text(s, idx, v, len, false);
}

void mp_sql_bind_text_copy(mp_sql_stmt_t *s, int idx, const char *v, int len)
{
    s->ops->bind_text(s, idx, v, len, true);
}

void mp_sql_bind_blob(mp_sql_stmt_t *s, int idx, const void *v, int len)
{
    s->ops->bind_blob(s, idx, v, len);
}

void mp_sql_bind_null(mp_sql_stmt_t *s, int idx)
{
    s->ops->bind_null(s, idx);
}

int mp_sql_step(mp_sql_stmt_t *s)
{
    return s->ops->step(s);
}

void mp_sql_reset(mp_sql_stmt_t *s)
{
    s->ops->reset(s);
}

int64_t mp_sql_col_i64(mp_sql_stmt_t *s, int col)
{
    return s->ops->col_i64(s, col);
}

int mp_sql_col_int(mp_sql_stmt_t *s, int col)
{
    return (int)s->ops->col_i64(s, col);
}

const char *mp_sql_col_text(mp_sql_stmt_t *s, int col)
{
    return s->ops->col_text(s, col);
}

const void *mp_sql_col_blob(mp_sql_stmt_t *s, int col)
{
    return s->ops->col_blob(s, col);
}

int mp_sql_col_bytes(mp_sql_stmt_t *s, int col)
{
    return s->ops->col_bytes(s, col);
}

bool mp_sql_col_is_null(mp_sql_stmt_t *s, int col)
{
    return s->ops->col_is_null(s, col);
}

int mp_sql_col_count(mp_sql_stmt_t *s)
{
    return s->ops->col_count(s);
}

bool mp_sql__exhausted(int rc)
{
    switch (rc & 0xff) {
    case MP_SQL_FULL:  /* ENOSPC, max_page_count, a resource of the server */
    case MP_SQL_IOERR: /* EFBIG past a file size limit, EIO, fsync, a lost connection */
    case MP_SQL_NOMEM:
    case MP_SQL_BUSY:     /* the lock wait timed out: load, not a bug */
    case MP_SQL_CANTOPEN: /* out of file descriptors for a journal */
        return true;
    default:
        return false;
    }
}

mp_err_t mp_sql_err(mp_sql_conn_t *c, int rc)
{
    if ((rc & 0xff) == MP_SQL_CONSTRAINT) {
        mp_log_debug("store: constraint: %s", c->ops->errmsg(c));
        return MP_ERR_CONFLICT;
    }
    if (mp_sql__exhausted(rc)) {
        mp_log_error("store: database error %d: %s (resource exhausted: answering unavailable)", rc,
                     c->ops->errmsg(c));
        return MP_ERR_UNAVAILABLE;
    }
    mp_log_error("store: database error %d: %s", rc, c->ops->errmsg(c));
    return MP_ERR_INTERNAL;
}

bool mp_sql_err_is_db(mp_err_t e)
{
    return e == MP_ERR_CONFLICT || e == MP_ERR_UNAVAILABLE || e == MP_ERR_INTERNAL;
}

bool mp_sql_is_constraint(int rc)
{
    return (rc & 0xff) == MP_SQL_CONSTRAINT;
}

bool mp_sql_is_fk_violation(mp_sql_conn_t *c)
{
    return c->ops->last_code(c) == MP_SQL_CONSTRAINT_FOREIGNKEY;
}

const char *mp_sql_errmsg(mp_sql_conn_t *c)
{
    return c->ops->errmsg(c);
}

bool mp_sql_is_pg(mp_sql_conn_t *c)
{
    return c->ops->pg;
}

int64_t mp_sql_changes(mp_sql_conn_t *c)
{
    return c->ops->changes(c);
}

mp_err_t mp_sql_exec(mp_sql_conn_t *c, const char *sql)
{
    int rc = c->ops->exec(c, sql);
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(c, rc);
}

bool mp_sql_begin(mp_sql_conn_t *c, bool write)
{
    return c->ops->txn(c, write ? MP_SQL_TXN_BEGIN_WRITE : MP_SQL_TXN_BEGIN_READ);
}

bool mp_sql_commit(mp_sql_conn_t *c)
{
    return c->ops->txn(c, MP_SQL_TXN_COMMIT);
}

void mp_sql_rollback(mp_sql_conn_t *c)
{
    (void)c->ops->txn(c, MP_SQL_TXN_ROLLBACK);
}

bool mp_sql_savepoint(mp_sql_conn_t *c)
{
    return c->ops->txn(c, MP_SQL_TXN_SAVEPOINT);
}

bool mp_sql_release(mp_sql_conn_t *c)
{
    return c->ops->txn(c, MP_SQL_TXN_RELEASE);
}

bool mp_sql_rollback_to(mp_sql_conn_t *c)
{
    return c->ops->txn(c, MP_SQL_TXN_ROLLBACK_TO);
}

bool mp_sql_in_txn(mp_sql_conn_t *c)
{
    return c->ops->in_txn(c);
}

bool mp_sql_last_exhausted(mp_sql_conn_t *c)
{
    return mp_sql__exhausted(c->ops->last_code(c));
}

void mp_sql_reset_all(mp_sql_conn_t *c)
{
    c->ops->reset_all(c);
}

void mp_sql_close(mp_sql_conn_t *c)
{
    if (c != NULL)
        c->ops->close(c);
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
