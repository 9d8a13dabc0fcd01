/* Per-connection cache of prepared statements (the hot path prepares nothing),
 * plus the SQLite → mp_err_t mapping.
 *
 * mp_sqlite__stmt() gets only the connection, so caches live in a small
 * global registry keyed by the sqlite3 pointer. Each connection is used by one
 * thread at a time, and a thread-local pointer remembers the cache it used
 * last, so the common lookup takes no lock. A global epoch, bumped whenever a
 * cache is destroyed, keeps a stale thread-local pointer from ever being used
 * (a new connection may reuse a closed one's address). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "store/sqlite_int.h"
#include "store/sqlite_job.h"
#include "util/alloc.h"
#include "util/log.h"

typedef struct stmt_cache {
    sqlite3 *db;
    struct {
        const char *sql; /* key: the literal's address */
        sqlite3_stmt *stmt;
    } * e;
    size_t n, cap;
    struct stmt_cache *next; /* registry link */
} stmt_cache_t;

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static stmt_cache_t *registry;
static atomic_uint_fast64_t epoch = 1;

static _Thread_local stmt_cache_t *tl_cache;
static _Thread_local uint_fast64_t tl_epoch;

static stmt_cache_t *cache_find(sqlite3 *db, bool create)
{
    uint_fast64_t now = atomic_load_explicit(&epoch, memory_order_acquire);
    if (tl_cache != NULL && tl_epoch == now && tl_cache->db == db)
        return tl_cache;

    stmt_cache_t *c;
    pthread_mutex_lock(&registry_mu);
    for (c = registry; c != NULL && c->db != db; c = c->next)
        ;
    if (c == NULL && create) {
        c = mp_calloc(1, sizeof *c);
        c->db = db;
        c->next = registry;
        registry = c;
    }
    now = atomic_load_explicit(&epoch, memory_order_acquire);
    pthread_mutex_unlock(&registry_mu);
    if (c != NULL) {
        tl_cache = c;
        tl_epoch = now;
    }
    return c;
}

sqlite3_stmt *mp_sqlite__stmt(sqlite3 *db, const char *sql)
{
    stmt_cache_t *c = cache_find(db, true);
    for (size_t i = 0; i < c->n; i++) {
        if (c->e[i].sql == sql) {
            sqlite3_stmt *s = c->e[i].stmt;
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            return s;
        }
    }
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
    if (rc != SQLITE_OK) {
        mp_log_error("store: cannot prepare \"%s\": %s", sql, sqlite3_errmsg(db));
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
    return s;
}

void mp_sqlite__reset_all(sqlite3 *db)
{
    stmt_cache_t *c = cache_find(db, false);
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        if (sqlite3_stmt_busy(c->e[i].stmt))
            sqlite3_reset(c->e[i].stmt);
}

void mp_sqlite__close_conn(sqlite3 *db)
{
    if (db == NULL)
        return;
    stmt_cache_t *c = NULL;
    pthread_mutex_lock(&registry_mu);
    for (stmt_cache_t **pp = &registry; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->db == db) {
            c = *pp;
            *pp = c->next;
            break;
        }
    }
    atomic_fetch_add_explicit(&epoch, 1, memory_order_acq_rel);
    pthread_mutex_unlock(&registry_mu);
    if (c != NULL) {
        for (size_t i = 0; i < c->n; i++)
            sqlite3_finalize(c->e[i].stmt);
        mp_free(c->e);
        mp_free(c);
    }
    if (tl_cache == c)
        tl_cache = NULL;
    if (sqlite3_close(db) != SQLITE_OK)
        mp_log_error("store: closing a connection failed: %s", sqlite3_errmsg(db));
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

mp_err_t mp_sqlite__err(sqlite3 *db, int rc)
{
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        mp_log_debug("store: constraint: %s", sqlite3_errmsg(db));
        return MP_ERR_CONFLICT;
    }
    if (mp_sqlite__exhausted(rc)) {
        mp_log_error("store: sqlite error %d: %s (resource exhausted: answering unavailable)", rc,
                     sqlite3_errmsg(db));
        return MP_ERR_UNAVAILABLE;
    }
    mp_log_error("store: sqlite error %d: %s", rc, sqlite3_errmsg(db));
    return MP_ERR_INTERNAL;
}
