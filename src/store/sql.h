/* Internal to src/store: the one seam between store code and a database.
 *
 * Operation files (sqlite_chat.c, sqlite_groups*.c, sqlite_users.c,
 * sqlite_world.c) talk to the database only through this header, so another
 * database can implement it without changing anything above it. The SQLite
 * implementation is sql_sqlite.c; only it and the backend core (sqlite.c:
 * opening, threads, migrations) call libsqlite3.
 *
 * A connection is used by one thread at a time. It owns its prepared
 * statements (the hot path prepares nothing) and the deferred state of the
 * current write batch (see sqlite_job.h).
 *
 * SQL passed here must be in the subset SQLite and PostgreSQL both understand
 * (INSERT ... ON CONFLICT, RETURNING, numbered parameters ?1..?n that an
 * implementation may rewrite); a query that still uses a SQLite-only
 * construct says so in a comment next to it. */
#ifndef MP_STORE_SQL_H
#define MP_STORE_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/error.h"

typedef struct mp_sql_conn mp_sql_conn_t;
/* A prepared statement, owned by its connection's cache. */
typedef struct mp_sql_stmt mp_sql_stmt_t;
typedef struct mp_sql_deferred mp_sql_deferred_t;

/* What mp_sql_step returns besides an error code (which only mp_sql_err,
 * mp_sql_is_constraint and mp_sql_last_exhausted interpret). */
#define MP_SQL_ROW 100
#define MP_SQL_DONE 101

/* The error codes every backend speaks: SQLite's primary result codes, which
 * the SQLite backend passes through (with its extended codes) and the
 * PostgreSQL one maps its SQLSTATEs to (sql_pg.c). */
#define MP_SQL_ERROR 1       /* anything not below: a bug or bad SQL */
#define MP_SQL_BUSY 5        /* a lock wait timed out, a deadlock, a serialization failure */
#define MP_SQL_NOMEM 7       /* out of memory */
#define MP_SQL_IOERR 10      /* I/O error, or the connection to the database server is lost */
#define MP_SQL_FULL 13       /* disk full, or another resource of the server exhausted */
#define MP_SQL_CANTOPEN 14   /* cannot open a file (out of descriptors) */
#define MP_SQL_CONSTRAINT 19 /* a constraint (unique, check, not null, foreign key) */
#define MP_SQL_CONSTRAINT_FOREIGNKEY (MP_SQL_CONSTRAINT | (3 << 8))

/* The connection's cached statement for sql, reset and with its bindings
 * cleared. sql must be a string literal: its address is the cache key.
 * NULL on prepare error (logged). */
mp_sql_stmt_t *mp_sql_prepare(mp_sql_conn_t *c, const char *sql)
    __attribute__((warn_unused_result));

/* Parameters are numbered from 1. Text and blobs are NOT copied: they must
 * stay valid until the statement is stepped to its end or prepared again;
 * mp_sql_bind_text_copy copies. len < 0: text up to its NUL. */
void mp_sql_bind_i64(mp_sql_stmt_t *s, int idx, int64_t v);
void mp_sql_bind_text(mp_sql_stmt_t *s, int idx, const char *v, int len);
void mp_sql_bind_text_copy(mp_sql_stmt_t *s, int idx, const char *v, int len);
void mp_sql_bind_blob(mp_sql_stmt_t *s, int idx, const void *v, int len);
void mp_sql_bind_null(mp_sql_stmt_t *s, int idx);

/* MP_SQL_ROW, MP_SQL_DONE, or a backend error code for mp_sql_err. */
int mp_sql_step(mp_sql_stmt_t *s) __attribute__((warn_unused_result));
/* Ends a statement early (releases its read snapshot and locks). */
void mp_sql_reset(mp_sql_stmt_t *s);

/* Columns are numbered from 0, valid until the next step or reset. Text is
 * NULL for SQL NULL. */
int64_t mp_sql_col_i64(mp_sql_stmt_t *s, int col);
int mp_sql_col_int(mp_sql_stmt_t *s, int col);
const char *mp_sql_col_text(mp_sql_stmt_t *s, int col);
const void *mp_sql_col_blob(mp_sql_stmt_t *s, int col);
int mp_sql_col_bytes(mp_sql_stmt_t *s, int col);
bool mp_sql_col_is_null(mp_sql_stmt_t *s, int col);
int mp_sql_col_count(mp_sql_stmt_t *s);

/* Maps a step's error code to mp_err_t, in one place: a constraint →
 * MP_ERR_CONFLICT (logged at debug), exhausted resources (disk, file size,
 * I/O, memory, lock wait, descriptors) → MP_ERR_UNAVAILABLE, anything else →
 * MP_ERR_INTERNAL (both logged with the database's message). */
mp_err_t mp_sql_err(mp_sql_conn_t *c, int rc) __attribute__((warn_unused_result));
/* True when e is one of the codes mp_sql_err returns: a failure of the
 * database itself, after which the transaction may accept no further
 * statement (PostgreSQL), as opposed to a refusal decided by a job. */
bool mp_sql_err_is_db(mp_err_t e);
/* True when rc (from mp_sql_step) is a constraint violation. */
bool mp_sql_is_constraint(int rc);
/* True when the connection's last error was a foreign key violation. */
bool mp_sql_is_fk_violation(mp_sql_conn_t *c);
/* The database's message for the connection's last error. */
const char *mp_sql_errmsg(mp_sql_conn_t *c);

/* True when the connection is to PostgreSQL: an operation file picks the
 * PostgreSQL spelling of the few queries that differ (see the comment next
 * to each), e.g. mp_sql_prepare(db, mp_sql_is_pg(db) ? SQL_X_PG : SQL_X). */
bool mp_sql_is_pg(mp_sql_conn_t *c);

/* Rows changed by the connection's last INSERT, UPDATE or DELETE. */
int64_t mp_sql_changes(mp_sql_conn_t *c);

/* Runs sql (one or more statements, no parameters, not cached). */
mp_err_t mp_sql_exec(mp_sql_conn_t *c, const char *sql) __attribute__((warn_unused_result));

/* Transactions. begin(write=true) takes the write lock at once. The
 * savepoint functions work on the one savepoint each write job runs in.
 * Failures are logged; they answer false. */
bool mp_sql_begin(mp_sql_conn_t *c, bool write) __attribute__((warn_unused_result));
bool mp_sql_commit(mp_sql_conn_t *c) __attribute__((warn_unused_result));
/* Rolling back is the last resort after a failure: its own failure is
 * logged and leaves nothing for the caller to do, so its result is void. */
void mp_sql_rollback(mp_sql_conn_t *c);
bool mp_sql_savepoint(mp_sql_conn_t *c) __attribute__((warn_unused_result));
bool mp_sql_release(mp_sql_conn_t *c) __attribute__((warn_unused_result));
bool mp_sql_rollback_to(mp_sql_conn_t *c) __attribute__((warn_unused_result));
/* True inside a transaction. */
bool mp_sql_in_txn(mp_sql_conn_t *c);
/* True when the connection's last failure means the machine ran out of
 * something (see mp_sql_err), not that the request or the code is wrong. */
bool mp_sql_last_exhausted(mp_sql_conn_t *c);

/* Resets every cached statement that is still running, so that no read
 * transaction or statement journal outlives a job. */
void mp_sql_reset_all(mp_sql_conn_t *c);
/* Finalizes the statement cache and closes the connection (NULL: no-op).
 * Call on the thread that uses it, after its last job. */
void mp_sql_close(mp_sql_conn_t *c);

/* The deferred state registered for the current write batch, or NULL (see
 * sqlite_job.h). mp_sql_defer registers d (replacing any); mp_sql_undefer
 * forgets the registration and returns what was registered. */
mp_sql_deferred_t *mp_sql_deferred(mp_sql_conn_t *c);
void mp_sql_defer(mp_sql_conn_t *c, mp_sql_deferred_t *d);
mp_sql_deferred_t *mp_sql_undefer(mp_sql_conn_t *c);

#endif
