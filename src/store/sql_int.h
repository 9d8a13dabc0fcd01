/* Private to the store's backends (sql.c, sql_sqlite.c, sql_pg.c): what a
 * connection and a statement of the SQL seam (sql.h) are.
 *
 * A backend embeds mp_sql_conn_t / mp_sql_stmt_t as the FIRST member of its
 * own structs and fills in one table of functions; sql.c forwards every call
 * of the seam through it and keeps what all backends share (the error
 * mapping, the deferred batch state). One indirect call per seam call is
 * nothing next to a database round trip or a b-tree step. */
#ifndef MP_STORE_SQL_INT_H
#define MP_STORE_SQL_INT_H

#include "store/sql.h"

typedef enum {
    MP_SQL_TXN_BEGIN_READ,
    MP_SQL_TXN_BEGIN_WRITE,
    MP_SQL_TXN_COMMIT,
    MP_SQL_TXN_ROLLBACK,
    MP_SQL_TXN_SAVEPOINT,
    MP_SQL_TXN_RELEASE,
    MP_SQL_TXN_ROLLBACK_TO
} mp_sql_txn_t;

typedef struct mp_sql_ops {
    bool pg;
    mp_sql_stmt_t *(*prepare)(mp_sql_conn_t *c, const char *sql);
    void (*bind_i64)(mp_sql_stmt_t *s, int idx, int64_t v);
    /* copy: the value must be copied (it may not outlive the call). */
    void (*bind_text)(mp_sql_stmt_t *s, int idx, const char *v, int len, bool copy);
    void (*bind_blob)(mp_sql_stmt_t *s, int idx, const void *v, int len);
    void (*bind_null)(mp_sql_stmt_t *s, int idx);
    int (*step)(mp_sql_stmt_t *s);
    void (*reset)(mp_sql_stmt_t *s);
    int64_t (*col_i64)(mp_sql_stmt_t *s, int col);
    const char *(*col_text)(mp_sql_stmt_t *s, int col);
    const void *(*col_blob)(mp_sql_stmt_t *s, int col);
    int (*col_bytes)(mp_sql_stmt_t *s, int col);
    bool (*col_is_null)(mp_sql_stmt_t *s, int col);
    int (*col_count)(mp_sql_stmt_t *s);
    /* The last error's code (extended where the backend has one) and text. */
    int (*last_code)(mp_sql_conn_t *c);
    const char *(*errmsg)(mp_sql_conn_t *c);
    int64_t (*changes)(mp_sql_conn_t *c);
    /* Runs sql (no parameters, not cached): MP_SQL_DONE or an error code. */
    int (*exec)(mp_sql_conn_t *c, const char *sql);
    /* One transaction step; false on failure, logged. */
    bool (*txn)(mp_sql_conn_t *c, mp_sql_txn_t op);
    bool (*in_txn)(mp_sql_conn_t *c);
    void (*reset_all)(mp_sql_conn_t *c);
    void (*close)(mp_sql_conn_t *c);
} mp_sql_ops_t;

struct mp_sql_conn {
    const mp_sql_ops_t *ops;
    mp_sql_deferred_t *deferred; /* writer only: the current batch's */
};

struct mp_sql_stmt {
    const mp_sql_ops_t *ops;
};

/* True for codes (primary or extended) that mean the machine ran out of
 * something — disk space, a file size limit, I/O, memory, lock time, the
 * database server — and not that the request or the code is wrong. */
bool mp_sql__exhausted(int rc);

#endif
