/* The PostgreSQL backend of the SQL seam (sql.h, sql_int.h), over libpq.
 *
 * A connection belongs to one store thread (the writer or a reader), which
 * waits for the server's answers; the event loop never does. The shared SQL
 * text is rewritten once per statement (?N -> $N) and prepared on the server
 * lazily, at its first execution, with the parameter types of the bindings
 * (bigint, text, bytea; NULL leaves the type to the server), so one SQL
 * literal may have a few prepared variants. Parameters go in binary form,
 * which for text and bytea is the bytes themselves: nothing is formatted or
 * escaped. Results come as text: integers are parsed, a boolean reads as 1
 * or 0, bytea is decoded on demand.
 *
 * Write batches run in one transaction that first takes a cluster-wide
 * advisory lock, so the write batches of all nodes are serialised: change
 * versions and seqs are handed out in commit order (docs/cluster.md proves
 * why sync never skips a change). Read jobs run in REPEATABLE READ READ ONLY
 * transactions: one snapshot per job, like SQLite's read transactions.
 *
 * A connection the server dropped (restart, failover) is re-established at
 * the next transaction (whose BEGIN is what finds an idle connection dead);
 * until then every statement fails with MP_SQL_IOERR, which the store
 * answers as unavailable. */
#include "store/sql_pg.h"

#include <endian.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/migrations_pg.h"
#include "store/sql_int.h"
#include "store/store.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/log.h"

/* Type oids of the built-in types we send (pg_type.h is a server header). */
#define PG_BYTEA 17
#define PG_INT8 20
#define PG_TEXT 25
#define PG_BOOL 16

/* The advisory lock keys: every write batch of the cluster, and migrations. */
#define PG_LOCK_WRITE 0x6d61677069650001LL
#define PG_LOCK_MIGRATE 0x6d61677069650002LL

typedef struct pg_param {
    Oid type; /* 0: NULL */
    const char *val;
    int len;
    uint64_t be;   /* an integer, big-endian */
    char *own;     /* a copied value */
    size_t owncap; /* of own */
} pg_param_t;

typedef struct pg_variant {
    Oid *types; /* np of them */
    char name[24];
} pg_variant_t;

typedef struct pg_conn pg_conn_t;

typedef struct pg_stmt {
    mp_sql_stmt_t base;
    pg_conn_t *c;
    const char *key; /* the literal's address */
    char *text;      /* with $N */
    int np;
    pg_param_t *p;
    const char **values;
    int *lengths, *formats;
    Oid *types;
    pg_variant_t *v;
    int nv;
    PGresult *res; /* after the first step */
    int row, nrows, ncols;
    unsigned char **blob; /* decoded bytea of the current row, per column */
    size_t *bloblen;
} pg_stmt_t;

struct pg_conn {
    mp_sql_conn_t base;
    PGconn *pg;
    bool readonly;
    pg_stmt_t **e;
    size_t n, cap;
    unsigned names; /* prepared statements named so far */
    int last_code;
    int64_t changes;
    char errmsg[512];
};

static const mp_sql_ops_t pg_ops;

static inline pg_conn_t *C(mp_sql_conn_t *c)
{
    return (pg_conn_t *)c;
}

static inline pg_stmt_t *S(mp_sql_stmt_t *s)
{
    return (pg_stmt_t *)s;
}

/* ---- errors ------------------------------------------------------------------ */

/* The seam's code for a SQLSTATE (NULL: no answer from the server). */
static int code_of(const char *state)
{
    if (state == NULL || strlen(state) != 5)
        return MP_SQL_IOERR;
    if (strcmp(state, "23503") == 0)
        return MP_SQL_CONSTRAINT_FOREIGNKEY;
    if (strncmp(state, "23", 2) == 0)
        return MP_SQL_CONSTRAINT;
    if (strcmp(state, "53200") == 0)
        return MP_SQL_NOMEM;
    if (strncmp(state, "53", 2) == 0) /* disk full, too many connections */
        return MP_SQL_FULL;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0 ||
        strcmp(state, "57014") == 0)
        return MP_SQL_BUSY; /* serialization, deadlock, lock timeout, cancel */
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
        strcmp(state, "58030") == 0)
        return MP_SQL_IOERR; /* connection lost, server shutting down, I/O */
    return MP_SQL_ERROR;
}

/* Records a failed result (res may be NULL) and returns its code. */
static int fail(pg_conn_t *c, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    if (msg == NULL || msg[0] == '\0')
        msg = PQerrorMessage(c->pg);
    c->last_code = PQstatus(c->pg) == CONNECTION_OK ? code_of(state) : MP_SQL_IOERR;
    snprintf(c->errmsg, sizeof c->errmsg, "%s%s%s", state ? state : "", state ? ": " : "",
             msg ? msg : "unknown error");
    size_t n = strlen(c->errmsg);
    while (n > 0 && (c->errmsg[n - 1] == '\n' || c->errmsg[n - 1] == ' '))
        c->errmsg[--n] = '\0';
    return c->last_code;
}

static bool result_ok(const PGresult *res)
{
    ExecStatusType t = PQresultStatus(res);
    return t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK;
}

/* ---- statements ---------------------------------------------------------------- */

/* SQL with ?N (or a bare ?, numbered on) rewritten to $N outside string
 * literals and quoted identifiers; *np is the largest number. */
static char *rewrite(const char *sql, int *np)
{
    size_t len = strlen(sql);
    char *out = mp_malloc(len * 2 + 1);
    char *o = out;
    int max = 0, next = 1;
    char quote = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
            *o++ = *p;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
            *o++ = *p;
        } else if (*p == '?') {
            int n = 0;
            while (p[1] >= '0' && p[1] <= '9')
                n = n * 10 + (*++p - '0');
            if (n == 0)
                n = next;
            next = n + 1;
            if (n > max)
                max = n;
            o += sprintf(o, "$%d", n);
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    *np = max;
    return out;
}

static void clear_row(pg_stmt_t *s)
{
    if (s->blob == NULL)
        return;
    for (int i = 0; i < s->ncols; i++) {
        if (s->blob[i] != NULL)
            PQfreemem(s->blob[i]);
        s->blob[i] = NULL;
    }
}

static void clear_result(pg_stmt_t *s)
{
    clear_row(s);
    mp_free(s->blob);
    mp_free(s->bloblen);
    s->blob = NULL;
    s->bloblen = NULL;
    if (s->res != NULL)
        PQclear(s->res);
    s->res = NULL;
    s->row = -1;
    s->nrows = s->ncols = 0;
}

static void clear_bindings(pg_stmt_t *s)
{
    for (int i = 0; i < s->np; i++) {
        s->p[i].type = 0;
        s->p[i].val = NULL;
        s->p[i].len = 0;
    }
}

/* The server forgot its prepared statements (a new session). */
static void forget_prepared(pg_conn_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        pg_stmt_t *s = c->e[i];
        for (int k = 0; k < s->nv; k++)
            mp_free(s->v[k].types);
        mp_free(s->v);
        s->v = NULL;
        s->nv = 0;
    }
}

static mp_sql_stmt_t *pg_prepare(mp_sql_conn_t *conn, const char *sql)
{
    pg_conn_t *c = C(conn);
    for (size_t i = 0; i < c->n; i++) {
        if (c->e[i]->key == sql) {
            pg_stmt_t *s = c->e[i];
            clear_result(s);
            clear_bindings(s);
            return &s->base;
        }
    }
    pg_stmt_t *s = mp_calloc(1, sizeof *s);
    s->base.ops = &pg_ops;
    s->c = c;
    s->key = sql;
    s->text = rewrite(sql, &s->np);
    s->row = -1;
    if (s->np > 0) {
        s->p = mp_calloc((size_t)s->np, sizeof *s->p);
        s->values = mp_calloc((size_t)s->np, sizeof *s->values);
        s->lengths = mp_calloc((size_t)s->np, sizeof *s->lengths);
        s->formats = mp_calloc((size_t)s->np, sizeof *s->formats);
        s->types = mp_calloc((size_t)s->np, sizeof *s->types);
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 32;
        c->e = mp_realloc(c->e, c->cap * sizeof *c->e);
    }
    c->e[c->n++] = s;
    return &s->base;
}

static pg_param_t *param(pg_stmt_t *s, int idx)
{
    MP_ASSERT(idx >= 1 && idx <= s->np);
    clear_result(s);
    return &s->p[idx - 1];
}

static void pg_bind_i64(mp_sql_stmt_t *st, int idx, int64_t v)
{
    pg_param_t *p = param(S(st), idx);
    p->type = PG_INT8;
    p->be = htobe64((uint64_t)v);
    p->val = (const char *)&p->be;
    p->len = 8;
}

static void bind_bytes(pg_param_t *p, Oid type, const void *v, int len, bool copy)
{
    p->type = type;
    p->len = len;
    if (copy || v == NULL) {
        if (p->owncap < (size_t)len + 1) {
            p->owncap = (size_t)len + 1;
            p->own = mp_realloc(p->own, p->owncap);
        }
        if (len > 0)
            memcpy(p->own, v, (size_t)len);
        p->own[len] = '\0';
        p->val = p->own;
    } else {
        p->val = v;
    }
}

static void pg_bind_text(mp_sql_stmt_t *st, int idx, const char *v, int len, bool copy)
{
    pg_param_t *p = param(S(st), idx);
    if (v == NULL) {
        p->type = 0;
        p->val = NULL;
        return;
    }
    bind_bytes(p, PG_TEXT, v, len < 0 ? (int)strlen(v) : len, copy);
}

static void pg_bind_blob(mp_sql_stmt_t *st, int idx, const void *v, int len)
{
    pg_param_t *p = param(S(st), idx);
    bind_bytes(p, PG_BYTEA, v, len, false);
}

static void pg_bind_null(mp_sql_stmt_t *st, int idx)
{
    pg_param_t *p = param(S(st), idx);
    p->type = 0;
    p->val = NULL;
}

/* The server-side statement for the current parameter types, prepared now
 * if this combination is new. NULL on failure (recorded). */
static const char *variant(pg_stmt_t *s)
{
    pg_conn_t *c = s->c;
    for (int k = 0; k < s->nv; k++)
        if (s->np == 0 || memcmp(s->v[k].types, s->types, (size_t)s->np * sizeof(Oid)) == 0)
            return s->v[k].name;
    pg_variant_t v;
    snprintf(v.name, sizeof v.name, "m%u", c->names++);
    PGresult *res = PQprepare(c->pg, v.name, s->text, s->np, s->types);
    if (!result_ok(res)) {
        fail(c, res);
        mp_log_error("store: cannot prepare \"%s\": %s", s->key, c->errmsg);
        PQclear(res);
        return NULL;
    }
    PQclear(res);
    v.types = mp_malloc((size_t)(s->np > 0 ? s->np : 1) * sizeof(Oid));
    if (s->np > 0)
        memcpy(v.types, s->types, (size_t)s->np * sizeof(Oid));
    s->v = mp_realloc(s->v, (size_t)(s->nv + 1) * sizeof *s->v);
    s->v[s->nv] = v;
    return s->v[s->nv++].name;
}

static int execute(pg_stmt_t *s)
{
    pg_conn_t *c = s->c;
    for (int i = 0; i < s->np; i++) {
        s->types[i] = s->p[i].type;
        s->values[i] = s->p[i].type ? s->p[i].val : NULL;
        s->lengths[i] = s->p[i].len;
        s->formats[i] = 1;
    }
    const char *name = variant(s);
    if (name == NULL)
        return c->last_code;
    PGresult *res = PQexecPrepared(c->pg, name, s->np, s->values, s->lengths, s->formats, 0);
    if (!result_ok(res)) {
        int rc = fail(c, res);
        PQclear(res);
        return rc;
    }
    const char *n = PQcmdTuples(res);
    c->changes = n[0] ? strtoll(n, NULL, 10) : 0;
    s->res = res;
    s->row = -1;
    s->nrows = PQntuples(res);
    s->ncols = PQnfields(res);
    if (s->ncols > 0) {
        s->blob = mp_calloc((size_t)s->ncols, sizeof *s->blob);
        s->bloblen = mp_calloc((size_t)s->ncols, sizeof *s->bloblen);
    }
    return MP_SQL_DONE;
}

static int pg_step(mp_sql_stmt_t *st)
{
    pg_stmt_t *s = S(st);
    if (s->res == NULL) {
        int rc = execute(s);
        if (rc != MP_SQL_DONE)
            return rc;
    }
    clear_row(s);
    if (s->row < s->nrows)
        s->row++;
    return s->row < s->nrows ? MP_SQL_ROW : MP_SQL_DONE;
}

static void pg_reset(mp_sql_stmt_t *st)
{
    clear_result(S(st));
}

static bool in_row(pg_stmt_t *s, int col)
{
    return s->res != NULL && s->row >= 0 && s->row < s->nrows && col >= 0 && col < s->ncols;
}

static int64_t pg_col_i64(mp_sql_stmt_t *st, int col)
{
    pg_stmt_t *s = S(st);
    if (!in_row(s, col) || PQgetisnull(s->res, s->row, col))
        return 0;
    const char *v = PQgetvalue(s->res, s->row, col);
    if (PQftype(s->res, col) == PG_BOOL)
        return v[0] == 't';
    return strtoll(v, NULL, 10);
}

static const char *pg_col_text(mp_sql_stmt_t *st, int col)
{
    pg_stmt_t *s = S(st);
    if (!in_row(s, col) || PQgetisnull(s->res, s->row, col))
        return NULL;
    return PQgetvalue(s->res, s->row, col);
}

/* bytea arrives as text (\x...): decoded once per row and column. */
static bool decoded(pg_stmt_t *s, int col)
{
    if (s->blob[col] == NULL)
        s->blob[col] = PQunescapeBytea((const unsigned char *)PQgetvalue(s->res, s->row, col),
                                       &s->bloblen[col]);
    return s->blob[col] != NULL;
}

static const void *pg_col_blob(mp_sql_stmt_t *st, int col)
{
    pg_stmt_t *s = S(st);
    if (!in_row(s, col) || PQgetisnull(s->res, s->row, col))
        return NULL;
    if (PQftype(s->res, col) != PG_BYTEA)
        return PQgetvalue(s->res, s->row, col);
    return decoded(s, col) ? s->blob[col] : NULL;
}

static int pg_col_bytes(mp_sql_stmt_t *st, int col)
{
    pg_stmt_t *s = S(st);
    if (!in_row(s, col) || PQgetisnull(s->res, s->row, col))
        return 0;
    if (PQftype(s->res, col) != PG_BYTEA)
        return PQgetlength(s->res, s->row, col);
    return decoded(s, col) ? (int)s->bloblen[col] : 0;
}

static bool pg_col_is_null(mp_sql_stmt_t *st, int col)
{
    pg_stmt_t *s = S(st);
    return !in_row(s, col) || PQgetisnull(s->res, s->row, col);
}

static int pg_col_count(mp_sql_stmt_t *st)
{
    return S(st)->ncols;
}

static void stmt_free(pg_stmt_t *s)
{
    clear_result(s);
    for (int i = 0; i < s->np; i++)
        mp_free(s->p[i].own);
    for (int k = 0; k < s->nv; k++)
        mp_free(s->v[k].types);
    mp_free(s->v);
    mp_free(s->p);
    mp_free(s->values);
    mp_free(s->lengths);
    mp_free(s->formats);
    mp_free(s->types);
    mp_free(s->text);
    mp_free(s);
}

/* ---- the connection ------------------------------------------------------------ */

static int pg_last_code(mp_sql_conn_t *c)
{
    return C(c)->last_code;
}

static const char *pg_errmsg(mp_sql_conn_t *c)
{
    return C(c)->errmsg;
}

static int64_t pg_changes(mp_sql_conn_t *c)
{
    return C(c)->changes;
}

/* Runs sql through the simple protocol (several statements allowed). */
static int simple(pg_conn_t *c, const char *sql)
{
    PGresult *res = PQexec(c->pg, sql);
    if (!result_ok(res)) {
        int rc = fail(c, res);
        PQclear(res);
        return rc;
    }
    PQclear(res);
    return MP_SQL_DONE;
}

static int pg_exec(mp_sql_conn_t *c, const char *sql)
{
    return simple(C(c), sql);
}

/* Session settings, on every new session. synchronous_commit = on whatever
 * the server's default: a commit returns only once it is durable, which the
 * "acked = durable" promise needs. */
static int session_setup(pg_conn_t *c)
{
    return simple(c, c->readonly ? "SET synchronous_commit = on;"
                                   " SET default_transaction_read_only = on;"
                                   " SET lock_timeout = '5s'"
                                 : "SET synchronous_commit = on; SET lock_timeout = '5s'");
}

/* A connection the server dropped is re-established here, before a new
 * transaction: the statements of the old session are gone with it. */
static bool ensure_connected(pg_conn_t *c)
{
    if (PQstatus(c->pg) == CONNECTION_OK)
        return true;
    PQreset(c->pg);
    forget_prepared(c);
    if (PQstatus(c->pg) != CONNECTION_OK || session_setup(c) != MP_SQL_DONE) {
        fail(c, NULL);
        mp_log_error("store: cannot reconnect to PostgreSQL: %s", c->errmsg);
        return false;
    }
    mp_log_info("store: reconnected to PostgreSQL");
    return true;
}

static bool pg_txn(mp_sql_conn_t *conn, mp_sql_txn_t op)
{
    pg_conn_t *c = C(conn);
    static const char *const sql[] = {
        [MP_SQL_TXN_BEGIN_READ] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        [MP_SQL_TXN_BEGIN_WRITE] = "BEGIN; SELECT pg_advisory_xact_lock(7881694555377303553)",
        [MP_SQL_TXN_COMMIT] = "COMMIT",
        [MP_SQL_TXN_ROLLBACK] = "ROLLBACK",
        [MP_SQL_TXN_SAVEPOINT] = "SAVEPOINT job",
        [MP_SQL_TXN_RELEASE] = "RELEASE job",
        [MP_SQL_TXN_ROLLBACK_TO] = "ROLLBACK TO job",
    };
    _Static_assert(PG_LOCK_WRITE == 7881694555377303553LL, "the write lock's key, spelled out");
    bool begin = op == MP_SQL_TXN_BEGIN_READ || op == MP_SQL_TXN_BEGIN_WRITE;
    if (begin && !ensure_connected(c))
        return false;
    PGresult *res = PQexec(c->pg, sql[op]);
    bool ok = result_ok(res);
    /* A connection the server dropped while it sat idle (a restart) looks
     * alive until it is used: found dead by BEGIN, it is re-established and
     * BEGIN runs again, once (no transaction existed yet), so that the first
     * request after the database is back does not fail. */
    if (!ok && begin && PQstatus(c->pg) != CONNECTION_OK) {
        PQclear(res);
        mp_log_info("store: the PostgreSQL connection was lost; reconnecting");
        if (!ensure_connected(c))
            return false;
        res = PQexec(c->pg, sql[op]);
        ok = result_ok(res);
    }
    /* COMMIT of a transaction that failed rolls back and says so without
     * an error: that is not durable, so it is a failure. */
    if (ok && op == MP_SQL_TXN_COMMIT && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        ok = false;
        c->last_code = MP_SQL_ERROR;
        snprintf(c->errmsg, sizeof c->errmsg, "the transaction had failed and was rolled back");
    } else if (!ok) {
        fail(c, res);
    }
    PQclear(res);
    if (!ok)
        mp_log_error("store: %s failed: %s", sql[op], c->errmsg);
    return ok;
}

static bool pg_in_txn(mp_sql_conn_t *c)
{
    PGTransactionStatusType t = PQtransactionStatus(C(c)->pg);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

static void pg_reset_all(mp_sql_conn_t *conn)
{
    pg_conn_t *c = C(conn);
    for (size_t i = 0; i < c->n; i++)
        if (c->e[i]->res != NULL)
            clear_result(c->e[i]);
}

static void pg_close(mp_sql_conn_t *conn)
{
    pg_conn_t *c = C(conn);
    for (size_t i = 0; i < c->n; i++)
        stmt_free(c->e[i]);
    mp_free(c->e);
    PQfinish(c->pg);
    mp_free(c);
}

static const mp_sql_ops_t pg_ops = {
    .pg = true,
    .prepare = pg_prepare,
    .bind_i64 = pg_bind_i64,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .reset = pg_reset,
    .col_i64 = pg_col_i64,
    .col_text = pg_col_text,
    .col_blob = pg_col_blob,
    .col_bytes = pg_col_bytes,
    .col_is_null = pg_col_is_null,
    .col_count = pg_col_count,
    .last_code = pg_last_code,
    .errmsg = pg_errmsg,
    .changes = pg_changes,
    .exec = pg_exec,
    .txn = pg_txn,
    .in_txn = pg_in_txn,
    .reset_all = pg_reset_all,
    .close = pg_close,
};

/* PostgreSQL's notices (e.g. "relation already exists, skipping" from the
 * migrations' IF NOT EXISTS) are not problems: libpq would print them on
 * stderr; they go to the debug log instead. */
static void on_notice(void *arg, const char *msg)
{
    (void)arg;
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        n--;
    mp_log_debug("postgres: %.*s", (int)n, msg);
}

mp_sql_conn_t *mp_sql_pg_open(const char *conninfo, bool readonly, char *err, size_t errlen)
{
    /* The URL comes last so that what it says wins over these defaults. */
    const char *const keys[] = {"connect_timeout", "application_name", "client_encoding", "dbname",
                                NULL};
    const char *const vals[] = {"10", "magpie", "UTF8", conninfo, NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", pg ? PQerrorMessage(pg) : "out of memory");
        size_t n = strlen(msg);
        while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
            msg[--n] = '\0';
        snprintf(err, errlen, "cannot connect to PostgreSQL: %s", msg);
        PQfinish(pg);
        return NULL;
    }
    PQsetNoticeProcessor(pg, on_notice, NULL);
    pg_conn_t *c = mp_calloc(1, sizeof *c);
    c->base.ops = &pg_ops;
    c->pg = pg;
    c->readonly = readonly;
    if (session_setup(c) != MP_SQL_DONE) {
        snprintf(err, errlen, "cannot set up the PostgreSQL session: %s", c->errmsg);
        pg_close(&c->base);
        return NULL;
    }
    return &c->base;
}

/* ---- migrations ----------------------------------------------------------------- */

static int schema_count(void)
{
    int n = 0;
    while (mp_pg__migrations[n] != NULL)
        n++;
    return n;
}

static int read_version(pg_conn_t *c, int *have)
{
    PGresult *res = PQexec(c->pg, "SELECT version FROM magpie_schema");
    if (!result_ok(res)) {
        fail(c, res);
        PQclear(res);
        return -1;
    }
    *have = PQntuples(res) > 0 ? atoi(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    return 0;
}

int mp_sql_pg_migrate(mp_sql_conn_t *conn, char *err, size_t errlen)
{
    pg_conn_t *c = C(conn);
    const int want = mp_store_schema_version();
    int have = 0;
    char sql[96];
    if (schema_count() != want) {
        snprintf(err, errlen, "this magpie has %d PostgreSQL migrations for schema version %d",
                 schema_count(), want);
        return -1;
    }
    if (simple(c, "BEGIN; SELECT pg_advisory_xact_lock(7881694555377303554);"
                  " CREATE TABLE IF NOT EXISTS magpie_schema(version INTEGER NOT NULL)") !=
            MP_SQL_DONE ||
        read_version(c, &have) != 0) {
        snprintf(err, errlen, "cannot read the schema version: %s", c->errmsg);
        goto fail;
    }
    _Static_assert(PG_LOCK_MIGRATE == 7881694555377303554LL, "the migration lock's key");
    if (have > want) {
        snprintf(err, errlen,
                 "database schema version %d is newer than this magpie (%d); upgrade magpie", have,
                 want);
        goto fail;
    }
    for (int v = have; v < want; v++) {
        if (simple(c, mp_pg__migrations[v]) != MP_SQL_DONE) {
            snprintf(err, errlen, "migration %d failed: %s", v + 1, c->errmsg);
            goto fail;
        }
    }
    snprintf(sql, sizeof sql, "DELETE FROM magpie_schema; INSERT INTO magpie_schema VALUES(%d)",
             want);
    if (simple(c, sql) != MP_SQL_DONE || simple(c, "COMMIT") != MP_SQL_DONE) {
        snprintf(err, errlen, "cannot record the schema version: %s", c->errmsg);
        goto fail;
    }
    if (have < want)
        mp_log_info("store: schema migrated from version %d to %d", have, want);
    return 0;
fail:
    if (pg_in_txn(conn))
        (void)simple(c, "ROLLBACK");
    return -1;
}
