/* The SQLite backend core: opening, the group-commit writer thread, the
 * reader pool, and completion of jobs back on the loop thread.
 *
 * Flow: a loop-thread caller queues a job (bounded queue, MP_ERR_UNAVAILABLE
 * when full) → the writer takes EVERY pending job, runs each in its own
 * SAVEPOINT inside one BEGIN IMMEDIATE..COMMIT (one fsync per batch) → the
 * batch goes onto the completed list and a uv_async_t wakes the loop, which
 * calls done() for each job in submission order.
 *
 * The search indexer (see sqlite_chat_int.h, the watermark; sqlite_index.c)
 * runs on a thread of its own with its own connection, and writes only its
 * own file (DIR/search.db), so its work never holds up a send's commit. The
 * writer records the largest message id and the last search change it
 * committed; a timer on the loop queues an indexer pass when either is
 * beyond where the index stands and none is in flight, and a full chunk
 * queues the next one at once while the write queue is short. So the index
 * catches up right after a burst, sends have the cores during one, and an
 * idle store writes nothing.
 *
 * Checkpoints (copying the WAL back into the database file) run on a
 * thread of their own, off the commit path: sqlite_ckpt.c.
 *
 * Shutdown (mp_store_close): the indexer's timer is closed, queues stop
 * accepting, the threads finish what is queued and are joined, connections
 * close, and the async handle is closed. Completions not yet delivered are
 * delivered from the handle's close callback; the store is freed once both
 * handles are closed, so the caller must run the loop after mp_store_close
 * until its handles are closed (it must anyway to close the loop). */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/backup.h"
#include "store/sqlite_chat_int.h"
#include "store/sqlite_ckpt.h"
#include "store/sqlite_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_walbuf.h"
#include "store/sql_pg.h"
#include "store/sql_sqlite.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/id.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/thread.h"

#define MP_SQLITE_READERS 2
#define MP_SQLITE_WRITE_MAX 65536
#define MP_SQLITE_READ_MAX 16384
#define MP_SQLITE_BUSY_MS 5000
/* The indexer: messages (and changes) per pass and the text a pass may hold
 * at most, the timer's period, and the write queue length up to which a
 * full chunk is followed at once (it shares the cores with the sends).
 * Every pass writes a new FTS5 segment that later merges copy again, so
 * larger passes cost less per message: 2,048 took 20-30 % less of the
 * indexer's CPU than 256, and 8,192 15 % fewer instructions than 2,048
 * (docs/performance.md, "Search"; 16,384 no fewer). Nobody waits for a
 * pass (queries read the index's last commit), so its length is free; its
 * memory is bounded by the bytes. */
#define MP_SQLITE_INDEX_CHUNK 8192
#define MP_SQLITE_INDEX_BYTES (8u << 20)
#define MP_SQLITE_INDEX_PERIOD_MS 100
#define MP_SQLITE_INDEX_QUEUE_SHORT 32

typedef struct job_queue {
    uv_mutex_t mu;
    uv_cond_t cv;
    mp_sql_job_t *head, *tail;
    size_t n, max;
    bool stopping;
} job_queue_t;

typedef struct reader {
    mp_store_t *st;
    mp_sql_conn_t *db;
    uv_thread_t thread;
} reader_t;

struct mp_store {
    uv_loop_t *loop;
    uv_thread_t loop_thread; /* queues jobs and runs every done() */
    char *path;              /* DIR/magpie.db */
    char *url;               /* PostgreSQL's conninfo, or NULL for SQLite */
    char *search_path;       /* DIR/search.db (SQLite only) */
    mp_sql_conn_t *wdb;
    mp_sqlite_ckpt_t *ckpt; /* SQLite only: the WAL checkpointer thread */
    uv_thread_t writer;
    job_queue_t wq, rq;
    /* SQLite only: the indexer, its connection (magpie.db with search.db
     * attached) and its queue (one pass at a time). */
    mp_sql_conn_t *idb;
    uv_thread_t indexer;
    bool indexer_started;
    job_queue_t iq;
    reader_t readers[MP_SQLITE_READERS];
    int nreaders;
    bool writer_started;
    bool probing; /* a probe write is queued (loop thread only) */

    uv_async_t async;
    uv_timer_t index_timer; /* the indexer's schedule (loop thread) */
    int handles;            /* of the two above still open */
    /* Loop thread only: the watermark and the last change applied as last
     * known (the indexer's result), the changes forgotten, an indexer pass
     * or a trim queued and not completed, and the test hold. */
    uint64_t fts_upto, changes_upto, changes_trimmed;
    bool indexing, trimming, index_held;
    uv_mutex_t done_mu;
    mp_sql_job_t *done_head, *done_tail;

    /* The online backup (at most one): its thread, started and joined on
     * the loop thread (mp_store_backup, backup_done, stop_threads). */
    uv_thread_t backup_thread;
    bool backup_running, backup_joined;

    atomic_bool writer_alive;
    atomic_bool healthy; /* false after a failed batch, true after a good one */
    atomic_bool closing;
    atomic_bool fts_kept; /* the writer keeps the search index (mp_store_search_index) */
    /* The largest message id and search change committed (set by the
     * writer after each commit, read by the indexer's timer). */
    atomic_uint_fast64_t msg_high, changes_high;
    atomic_uint_fast64_t batches, jobs;
    /* Writer only, logged at close: where a batch's time goes. */
    uint64_t run_ns, commit_ns, max_batch;
    int64_t data_version; /* the writer's PRAGMA data_version at its last BEGIN */
};

/* ---- queues --------------------------------------------------------------- */

static void queue_init(job_queue_t *q, size_t max)
{
    uv_mutex_init(&q->mu);
    uv_cond_init(&q->cv);
    q->head = q->tail = NULL;
    q->n = 0;
    q->max = max;
    q->stopping = false;
}

static void queue_destroy(job_queue_t *q)
{
    uv_cond_destroy(&q->cv);
    uv_mutex_destroy(&q->mu);
}

static mp_err_t queue_push(job_queue_t *q, mp_sql_job_t *job)
{
    mp_err_t rc = MP_OK;
    job->next = NULL;
    job->rc = MP_OK;
    uv_mutex_lock(&q->mu);
    if (q->stopping || q->n >= q->max) {
        rc = MP_ERR_UNAVAILABLE;
    } else {
        if (q->tail)
            q->tail->next = job;
        else
            q->head = job;
        q->tail = job;
        q->n++;
        MP_ASSERT(q->n <= q->max);
        uv_cond_signal(&q->cv);
    }
    uv_mutex_unlock(&q->mu);
    return rc;
}

/* Blocks until jobs are queued; takes up to max of them (0 = all). Returns
 * NULL once the queue is stopping and empty. */
static mp_sql_job_t *queue_take(job_queue_t *q, size_t max)
{
    uv_mutex_lock(&q->mu);
    while (q->head == NULL && !q->stopping)
        uv_cond_wait(&q->cv, &q->mu);
    mp_sql_job_t *first = q->head;
    if (first != NULL) {
        mp_sql_job_t *last = first;
        size_t n = 1;
        while (last->next != NULL && (max == 0 || n < max)) {
            last = last->next;
            n++;
        }
        q->head = last->next;
        if (q->head == NULL)
            q->tail = NULL;
        last->next = NULL;
        q->n -= n;
    }
    uv_mutex_unlock(&q->mu);
    return first;
}

static void queue_stop(job_queue_t *q)
{
    uv_mutex_lock(&q->mu);
    q->stopping = true;
    uv_cond_broadcast(&q->cv);
    uv_mutex_unlock(&q->mu);
}

/* ---- completion ------------------------------------------------------------ */

static void complete(mp_store_t *st, mp_sql_job_t *first)
{
    mp_sql_job_t *last = first;
    while (last->next != NULL)
        last = last->next;
    uv_mutex_lock(&st->done_mu);
    if (st->done_tail)
        st->done_tail->next = first;
    else
        st->done_head = first;
    st->done_tail = last;
    uv_mutex_unlock(&st->done_mu);
    uv_async_send(&st->async);
}

static void deliver(mp_store_t *st)
{
    MP_ASSERT_THREAD(st->loop_thread); /* callbacks run on the loop, never a store thread */
    uv_mutex_lock(&st->done_mu);
    mp_sql_job_t *j = st->done_head;
    st->done_head = st->done_tail = NULL;
    uv_mutex_unlock(&st->done_mu);
    while (j != NULL) {
        mp_sql_job_t *next = j->next; /* done() frees j */
        j->done(j, j->rc);
        j = next;
    }
}

static void on_async(uv_async_t *h)
{
    deliver(h->data);
}

/* ---- the threads ---------------------------------------------------------- */

/* Writes the deferred state registered on the writer's connection, see
 * mp_sql_defer. keep (before COMMIT): where its owner can, the state stays
 * registered for the next batch (mp_sql_deferred_t's write, SQLite only);
 * otherwise it ends here. */
static bool deferred_flush(mp_sql_conn_t *db, bool keep)
{
    mp_sql_deferred_t *d = mp_sql_deferred(db);
    if (d == NULL)
        return true;
    keep = keep && d->write != NULL && !mp_sql_is_pg(db);
    if (!keep)
        mp_sql_undefer(db);
    mp_err_t rc = keep ? d->write(db, d) : d->flush(db, d);
    mp_sql_reset_all(db);
    if (rc != MP_OK)
        mp_log_error("store: writing deferred state failed: %s", mp_err_code(rc));
    return rc == MP_OK && mp_sql_in_txn(db);
}

static void deferred_drop(mp_sql_conn_t *db)
{
    mp_sql_deferred_t *d = mp_sql_undefer(db);
    if (d != NULL)
        d->drop(d);
}

mp_err_t mp_sqlite__job_savepoint(mp_sql_conn_t *db, mp_sql_job_t *j)
{
    if (j->in_savepoint)
        return MP_OK;
    if (!mp_sql_savepoint(db))
        return MP_ERR_INTERNAL;
    j->in_savepoint = true;
    return MP_OK;
}

/* Runs one job inside its own savepoint, so a failing job rolls back alone.
 * A job that opens its savepoint itself (lazy_savepoint) and never needs
 * one costs two statements less: SQLite undoes a failing statement alone,
 * so a job whose one change is its last statement has nothing to roll back.
 * PostgreSQL aborts the whole transaction on any failing statement: there
 * every job gets its savepoint first. */
static mp_err_t run_in_savepoint(mp_sql_conn_t *db, mp_sql_job_t *j)
{
    j->in_savepoint = false;
    if ((!j->lazy_savepoint || mp_sql_is_pg(db)) && mp_sqlite__job_savepoint(db, j) != MP_OK)
        return MP_ERR_INTERNAL;
    mp_err_t rc = j->run(db, j);
    mp_sql_reset_all(db);
    if (!mp_sql_in_txn(db))
        return rc != MP_OK ? rc : MP_ERR_INTERNAL; /* the job ended the transaction */
    if (!j->in_savepoint)
        return rc;
    if (rc != MP_OK && !mp_sql_rollback_to(db))
        return rc;
    if (!mp_sql_release(db))
        return MP_ERR_INTERNAL;
    return rc;
}

/* Drops the state a job type kept from the last batch (mp_sql_deferred_t's
 * write) when another connection committed to the database since: nothing
 * of Magpie's does, but a person with the sqlite3 shell may, and the state
 * would then silently disagree with the rows. PRAGMA data_version changes
 * only with other connections' commits; read inside BEGIN IMMEDIATE, no
 * commit can come between it and the batch. A failed read drops too. */
static void kept_check(mp_store_t *st, mp_sql_conn_t *db)
{
    if (mp_sql_is_pg(db))
        return;
    mp_sql_stmt_t *s = mp_sql_prepare(db, "PRAGMA data_version");
    int64_t v = -1;
    if (s != NULL && mp_sql_step(s) == MP_SQL_ROW)
        v = mp_sql_col_i64(s, 0);
    if (s != NULL)
        mp_sql_reset(s);
    if (v != st->data_version || v < 0)
        deferred_drop(db);
    st->data_version = v;
}

/* The largest message id and search change in the writer's transaction:
 * one seek to the end of each table (both are keyed by them). */
static bool msg_high_read(mp_sql_conn_t *db, uint64_t *high, uint64_t *changes)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, "SELECT (SELECT coalesce(max(id), 0) FROM messages),"
                                          " (SELECT coalesce(max(seq), 0) FROM search_changes)");
    if (s == NULL)
        return false;
    bool ok = mp_sql_step(s) == MP_SQL_ROW;
    if (ok) {
        *high = (uint64_t)mp_sql_col_i64(s, 0);
        *changes = (uint64_t)mp_sql_col_i64(s, 1);
    }
    mp_sql_reset(s);
    return ok;
}

/* One group-commit batch. If the transaction cannot commit, nothing of it is
 * durable, so every job of the batch fails with MP_ERR_INTERNAL. */
static void write_batch(mp_store_t *st, mp_sql_job_t *batch)
{
    mp_sql_conn_t *db = st->wdb;
    uint_fast64_t n = 0;
    uint64_t t0 = uv_hrtime();
    bool ok = mp_sql_begin(db, true);
    if (ok)
        kept_check(st, db);

    for (mp_sql_job_t *j = batch; j != NULL; j = j->next) {
        n++;
        mp_sql_deferred_t *d = mp_sql_deferred(db);
        if (ok && d != NULL && j->run != d->owner)
            ok = deferred_flush(db, false);
        if (!ok)
            continue;
        j->rc = run_in_savepoint(db, j);
        if (!mp_sql_in_txn(db)) {
            mp_log_error("store: a job aborted the batch transaction");
            ok = false;
        }
    }
    if (ok)
        ok = deferred_flush(db, true);
    /* Read before COMMIT, published after it: the indexer's timer must see
     * only what is durable (a failed read just leaves the old value; the
     * next batch corrects it). */
    uint64_t high = 0, changes = 0;
    bool have_high = ok && atomic_load(&st->fts_kept) && msg_high_read(db, &high, &changes);
    uint64_t t1 = uv_hrtime();
    if (ok)
        ok = mp_sql_commit(db);
    if (ok && have_high) {
        atomic_store(&st->msg_high, high);
        atomic_store(&st->changes_high, changes);
    }
    uint64_t t2 = uv_hrtime();
    st->run_ns += t1 - t0;
    st->commit_ns += t2 - t1;
    mp_metrics_observe(MP_MH_STORE_BATCH_JOBS, n);
    mp_metrics_observe(MP_MH_STORE_TXN_SECONDS, t2 - t0);
    mp_metrics_observe(MP_MH_STORE_COMMIT_SECONDS, t2 - t1);
    if (n > st->max_batch)
        st->max_batch = n;
    if (!ok) {
        /* A full disk is not a bug: the client may retry later. */
        mp_err_t fail = mp_sql_last_exhausted(db) ? MP_ERR_UNAVAILABLE : MP_ERR_INTERNAL;
        /* A failed ROLLBACK is logged; the connection then stays in the
         * transaction and the next BEGIN fails the next batch too. */
        if (mp_sql_in_txn(db))
            mp_sql_rollback(db);
        deferred_drop(db);
        for (mp_sql_job_t *j = batch; j != NULL; j = j->next)
            j->rc = fail;
    }
    atomic_store(&st->healthy, ok);
    atomic_fetch_add(&st->batches, 1);
    atomic_fetch_add(&st->jobs, n);
    complete(st, batch);
}

static void writer_main(void *arg)
{
    mp_thread_name("mp-writer");
    mp_store_t *st = arg;
    mp_sql_job_t *batch;
    while ((batch = queue_take(&st->wq, 0)) != NULL)
        write_batch(st, batch);
    atomic_store(&st->writer_alive, false);
}

/* A read job runs in its own read transaction: one consistent snapshot even
 * when it issues several queries. */
static void read_one(mp_sql_conn_t *db, mp_sql_job_t *j)
{
    if (!mp_sql_begin(db, false)) {
        /* A lost database connection (PostgreSQL restarting) is "try again",
         * as for a write batch; it is re-established at the next BEGIN. */
        j->rc = mp_sql_last_exhausted(db) ? MP_ERR_UNAVAILABLE : MP_ERR_INTERNAL;
        return;
    }
    j->rc = j->run(db, j);
    mp_sql_reset_all(db);
    /* Ending a read transaction changes nothing the job reported; a
     * failure is logged by mp_sql_commit. */
    if (mp_sql_in_txn(db)) {
        bool ended = mp_sql_commit(db);
        (void)ended;
    }
}

static void reader_main(void *arg)
{
    mp_thread_name("mp-reader");
    reader_t *r = arg;
    mp_sql_job_t *j;
    while ((j = queue_take(&r->st->rq, 1)) != NULL) {
        read_one(r->db, j);
        complete(r->st, j);
    }
}

/* The indexer: one pass at a time, each managing its own transactions
 * (sqlite_index.c), completed on the loop like any job. */
static void indexer_main(void *arg)
{
    mp_thread_name("mp-indexer");
    /* Nobody waits for the index (search scans what it has not reached),
     * while a send waits for the writer and its fan-out for the loop: with
     * every core busy those go first, and the index catches up after. */
    mp_thread_background(10);
    mp_store_t *st = arg;
    mp_sql_job_t *j;
    while ((j = queue_take(&st->iq, 1)) != NULL) {
        j->rc = j->run(st->idb, j);
        complete(st, j);
    }
}

/* ---- open / close ----------------------------------------------------------- */

static int mkdir_p(const char *dir, char *err, size_t errlen)
{
    if (dir[0] == '\0') {
        snprintf(err, errlen, "the data directory name is empty");
        return -1;
    }
    char *p = mp_strdup(dir);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create directory %s: %s", p, strerror(errno));
            rc = -1;
            break;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    mp_free(p);
    return rc;
}

static int conn_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    snprintf(err, errlen, "%s: %s", sql, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

/* Opens a connection with our settings, through vfs (NULL: the default).
 * Read-write connections get WAL (persistent in the file, so readers inherit
 * it) and synchronous=FULL: a commit returns only after fsync, which the
 * "acked = durable" promise needs. */
static mp_sql_conn_t *sqlite_open(const char *path, bool readonly, const char *vfs, char *err,
                                  size_t errlen)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_NOMUTEX |
                (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (sqlite3_open_v2(path, &db, flags, vfs) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(db, MP_SQLITE_BUSY_MS);
    /* journal_size_limit: truncate the WAL after a checkpoint instead of
     * keeping its peak size forever. */
    if (!readonly && conn_exec(db, "PRAGMA journal_mode=WAL; PRAGMA journal_size_limit=67108864",
                               err, errlen) != 0)
        goto fail;
    if (conn_exec(db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", err, errlen) != 0)
        goto fail;
    /* The writer's page cache: 64 MiB (-KiB; an upper bound, pages are
     * allocated as they are used). Its batches dirty many pages at once (the
     * rows, three indexes, the counters); with the default 2 MiB a big batch
     * spills dirty pages to the WAL before its commit and writes them again
     * at it. */
    if (!readonly && conn_exec(db, "PRAGMA cache_size=-65536", err, errlen) != 0)
        goto fail;
    return mp_sql_sqlite_wrap(db);
fail:
    sqlite3_close(db);
    return NULL;
}

/* A connection to the store's database, of whichever backend it is on. */
static mp_sql_conn_t *conn_open(mp_store_t *st, bool readonly, char *err, size_t errlen)
{
    if (st->url != NULL)
        return mp_sql_pg_open(st->url, readonly, err, errlen);
    return sqlite_open(st->path, readonly, NULL, err, errlen);
}

static int check_wal(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *s = NULL;
    int ok = sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL) == SQLITE_OK &&
             sqlite3_step(s) == SQLITE_ROW &&
             strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
    sqlite3_finalize(s);
    if (!ok)
        snprintf(err, errlen, "cannot switch the database to WAL mode");
    return ok ? 0 : -1;
}

static void free_store(mp_store_t *st)
{
    queue_destroy(&st->wq);
    queue_destroy(&st->rq);
    queue_destroy(&st->iq);
    uv_mutex_destroy(&st->done_mu);
    mp_free(st->path);
    mp_free(st->search_path);
    mp_free(st->url);
    mp_free(st);
}

static int open_readers(mp_store_t *st, char *err, size_t errlen)
{
    for (int i = 0; i < MP_SQLITE_READERS; i++) {
        st->readers[i].st = st;
        st->readers[i].db = conn_open(st, true, err, errlen);
        if (st->readers[i].db == NULL)
            return -1;
        if (st->url == NULL &&
            mp_sqlite__search_attach(st->readers[i].db, st->search_path) != MP_OK) {
            snprintf(err, errlen, "cannot attach the search index %s to a reader: %s",
                     st->search_path, mp_sql_errmsg(st->readers[i].db));
            return -1;
        }
    }
    return 0;
}

static void close_readers(mp_store_t *st)
{
    for (int i = 0; i < MP_SQLITE_READERS; i++) {
        mp_sql_close(st->readers[i].db);
        st->readers[i].db = NULL;
    }
}

/* No signal masking here: `magpie serve` blocks its signals in every thread
 * before the store exists, and one thread takes them (app/signals.h). */
static int start_threads(mp_store_t *st, char *err, size_t errlen)
{
    if (st->url == NULL && (st->ckpt = mp_sqlite__ckpt_start(st->path, mp_sql_sqlite_db(st->wdb),
                                                             err, errlen)) == NULL)
        return -1;
    atomic_store(&st->writer_alive, true);
    if (uv_thread_create(&st->writer, writer_main, st) != 0) {
        atomic_store(&st->writer_alive, false);
        snprintf(err, errlen, "cannot start the store writer thread");
        return -1;
    }
    st->writer_started = true;
    if (st->idb != NULL) {
        if (uv_thread_create(&st->indexer, indexer_main, st) != 0) {
            snprintf(err, errlen, "cannot start the search indexer thread");
            return -1;
        }
        st->indexer_started = true;
    }
    for (int i = 0; i < MP_SQLITE_READERS; i++) {
        if (uv_thread_create(&st->readers[i].thread, reader_main, &st->readers[i]) != 0) {
            snprintf(err, errlen, "cannot start a store reader thread");
            return -1;
        }
        st->nreaders++;
    }
    return 0;
}

/* Stops the threads (each finishes its queue first) and closes connections.
 * Readers close first so the writer's close does the final checkpoint. */
static void stop_threads(mp_store_t *st)
{
    queue_stop(&st->wq);
    queue_stop(&st->rq);
    queue_stop(&st->iq);
    /* A backup sees `closing` between two chunks and gives up; its
     * completion is delivered with the others from the close callback. */
    if (st->backup_running && !st->backup_joined) {
        uv_thread_join(&st->backup_thread);
        st->backup_joined = true;
    }
    for (int i = 0; i < st->nreaders; i++)
        uv_thread_join(&st->readers[i].thread);
    st->nreaders = 0;
    close_readers(st);
    if (st->indexer_started)
        uv_thread_join(&st->indexer);
    st->indexer_started = false;
    mp_sql_close(st->idb);
    st->idb = NULL;
    if (st->writer_started)
        uv_thread_join(&st->writer);
    st->writer_started = false;
    mp_sqlite__ckpt_stop(st->ckpt);
    st->ckpt = NULL;
    uint64_t b = atomic_load(&st->batches), j = atomic_load(&st->jobs);
    if (b > 0)
        mp_log_info("store: %llu write jobs in %llu batches (mean %.1f, max %llu); per batch "
                    "%.3f ms running jobs, %.3f ms commit (fsync included)",
                    (unsigned long long)j, (unsigned long long)b, (double)j / (double)b,
                    (unsigned long long)st->max_batch, (double)st->run_ns / 1e6 / (double)b,
                    (double)st->commit_ns / 1e6 / (double)b);
    /* State kept across batches was written with the last COMMIT. */
    deferred_drop(st->wdb);
    mp_sql_close(st->wdb);
    st->wdb = NULL;
}

static void handle_closed(mp_store_t *st)
{
    MP_ASSERT(st->handles > 0);
    if (--st->handles == 0)
        free_store(st);
}

/* Last steps of a store's life: the async handle is closed, so no thread can
 * complete anything any more; deliver what is left. The store is freed once
 * the timer is closed too. */
static void on_async_closed(uv_handle_t *h)
{
    mp_store_t *st = h->data;
    deliver(st);
    handle_closed(st);
}

static void on_timer_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

/* ---- the search indexer (loop thread) ------------------------------------------ */

typedef struct index_job {
    mp_sql_job_t base;
    mp_store_t *st;
    mp_sqlite_index_pos_t pos;
} index_job_t;

/* On the indexer's thread and connection. */
static mp_err_t index_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    index_job_t *j = (index_job_t *)job;
    return mp_sqlite__fts_index_pass(db, MP_SQLITE_INDEX_CHUNK, MP_SQLITE_INDEX_BYTES, &j->pos);
}

static size_t write_queue_len(mp_store_t *st)
{
    uv_mutex_lock(&st->wq.mu);
    size_t n = st->wq.n;
    uv_mutex_unlock(&st->wq.mu);
    return n;
}

typedef struct trim_job {
    mp_sql_job_t base;
    mp_store_t *st;
    uint64_t upto;
} trim_job_t;

static mp_err_t trim_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    return mp_sqlite__search_trim(db, ((trim_job_t *)job)->upto);
}

static void trim_done(mp_sql_job_t *job, mp_err_t rc)
{
    trim_job_t *j = (trim_job_t *)job;
    if (rc == MP_OK)
        j->st->changes_trimmed = j->upto;
    j->st->trimming = false;
    mp_free(j);
}

/* The changes the index has applied are forgotten by the writer (the
 * indexer writes only its own file): a small job, after the edits that
 * made them. */
static void trim_queue(mp_store_t *st)
{
    if (st->trimming || st->changes_upto <= st->changes_trimmed || atomic_load(&st->closing))
        return;
    trim_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = trim_run;
    j->base.done = trim_done;
    j->st = st;
    j->upto = st->changes_upto;
    if (mp_sqlite__write_or_free(st, &j->base) == MP_OK)
        st->trimming = true;
}

static bool index_queue(mp_store_t *st);

static void index_done(mp_sql_job_t *job, mp_err_t rc)
{
    index_job_t *j = (index_job_t *)job;
    mp_store_t *st = j->st;
    bool more = rc == MP_OK && j->pos.full;
    if (rc == MP_OK) {
        st->fts_upto = j->pos.upto;
        st->changes_upto = j->pos.changes_upto;
        trim_queue(st);
    } else {
        mp_log_error("store: indexing messages for search failed: %s", mp_err_code(rc));
    }
    mp_free(j);
    st->indexing = false;
    /* Behind: go on at once unless sends are waiting (then the timer
     * resumes once the queue is short again). Never after close. */
    if (more && !st->index_held && write_queue_len(st) <= MP_SQLITE_INDEX_QUEUE_SHORT)
        (void)index_queue(st);
}

/* Queues an indexer pass unless one is in flight, the index is not kept or
 * the store is closing. */
static bool index_queue(mp_store_t *st)
{
    MP_ASSERT_THREAD(st->loop_thread);
    if (st->indexing || st->idb == NULL || atomic_load(&st->closing) || !atomic_load(&st->fts_kept))
        return false;
    index_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = index_run;
    j->base.done = index_done;
    j->st = st;
    if (queue_push(&st->iq, &j->base) != MP_OK) {
        mp_free(j);
        return false;
    }
    st->indexing = true;
    return true;
}

/* Only when something committed lies beyond where the index stands: an
 * idle store must not wake the indexer for nothing. */
static void on_index_timer(uv_timer_t *t)
{
    mp_store_t *st = t->data;
    if (!st->index_held && (atomic_load(&st->msg_high) > st->fts_upto ||
                            atomic_load(&st->changes_high) > st->changes_upto))
        (void)index_queue(st);
}

/* The indexer's connection, with search.db ready. The index is derived
 * data: a file that cannot be used as one (not SQLite, damaged) is removed
 * and the index built again, rather than the server kept from starting. */
static int indexer_open(mp_store_t *st, char *err, size_t errlen)
{
    for (int attempt = 0;; attempt++) {
        if ((st->idb = sqlite_open(st->path, false, NULL, err, errlen)) == NULL)
            return -1;
        if (mp_sqlite__search_prepare(st->idb, st->search_path, err, errlen) == 0)
            return 0;
        mp_sql_close(st->idb);
        st->idb = NULL;
        if (attempt > 0)
            return -1;
        mp_log_warn("store: %s; removing it: the search index is built again", err);
        static const char *const suffix[] = {"", "-wal", "-shm"};
        for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s%s", st->search_path, suffix[i]);
            if (unlink(path) != 0 && errno != ENOENT) {
                snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
                return -1;
            }
        }
    }
}

/* The largest message id and search change as stored, read at open: the
 * id generator moves past the former (see sqlite_chat_int.h). With SQLite
 * also the indexer's connection and search.db made ready; where the index
 * stands is learnt from the first pass (the loop's view starts at nothing
 * done, so the timer queues one). */
static int index_state_load(mp_store_t *st, char *err, size_t errlen)
{
    uint64_t high = 0, changes = 0;
    if (st->url == NULL && indexer_open(st, err, errlen) != 0)
        return -1;
    bool ok = msg_high_read(st->wdb, &high, &changes);
    mp_sql_reset_all(st->wdb);
    if (!ok) {
        snprintf(err, errlen, "cannot read the last message id: %s", mp_sql_errmsg(st->wdb));
        return -1;
    }
    atomic_store(&st->msg_high, high);
    atomic_store(&st->changes_high, changes);
    mp_id_after(high);
    return 0;
}

/* The writer's connection, with the schema brought up to date. */
static int open_writer(mp_store_t *st, char *err, size_t errlen)
{
    /* On SQLite the writer writes nearly every WAL frame: through the VFS
     * of sqlite_walbuf.h, a commit's frames reach the kernel in writes of
     * up to 128 KiB instead of two per page. */
    st->wdb = st->url != NULL ? conn_open(st, false, err, errlen)
                              : sqlite_open(st->path, false, mp_sqlite__walbuf_vfs(), err, errlen);
    if (st->wdb == NULL)
        return -1;
    if (st->url != NULL)
        return mp_sql_pg_migrate(st->wdb, err, errlen);
    sqlite3 *db = mp_sql_sqlite_db(st->wdb);
    if (check_wal(db, err, errlen) != 0)
        return -1;
    return mp_sqlite__migrate(db, err, errlen);
}

mp_err_t mp_store_open(const char *dir, uv_loop_t *loop, mp_store_t **out, char *err, size_t errlen)
{
    return mp_store_open_url(dir, NULL, loop, out, err, errlen);
}

/* Process-wide SQLite settings, before its first use. Memory statistics
 * off: with them on, every allocation SQLite makes takes a global mutex to
 * count itself (~5 % of the writer's time at full speed), and nothing here
 * reads the counts. SQLITE_MISUSE (SQLite already initialised, e.g. by a
 * tool that used it first) leaves the default, which is only slower. */
static void sqlite_configure(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

mp_err_t mp_store_open_url(const char *dir, const char *url, uv_loop_t *loop, mp_store_t **out,
                           char *err, size_t errlen)
{
    static uv_once_t configured = UV_ONCE_INIT;
    uv_once(&configured, sqlite_configure);
    *out = NULL;
    if (mkdir_p(dir, err, errlen) != 0)
        return MP_ERR_INTERNAL;

    mp_store_t *st = mp_calloc(1, sizeof *st);
    size_t len = strlen(dir) + sizeof "/magpie.db";
    st->path = mp_malloc(len);
    snprintf(st->path, len, "%s/magpie.db", dir);
    len = strlen(dir) + sizeof "/search.db";
    st->search_path = mp_malloc(len);
    snprintf(st->search_path, len, "%s/search.db", dir);
    st->url = url != NULL && url[0] != '\0' ? mp_strdup(url) : NULL;
    st->loop = loop;
    st->loop_thread = uv_thread_self();
    queue_init(&st->wq, MP_SQLITE_WRITE_MAX);
    queue_init(&st->rq, MP_SQLITE_READ_MAX);
    queue_init(&st->iq, 1);
    uv_mutex_init(&st->done_mu);
    atomic_init(&st->healthy, true);
    atomic_init(&st->closing, false);
    atomic_init(&st->writer_alive, false);
    /* PostgreSQL keeps no search index: search scans there. */
    atomic_init(&st->fts_kept, st->url == NULL);
    atomic_init(&st->msg_high, 0);
    atomic_init(&st->changes_high, 0);
    atomic_init(&st->batches, 0);
    atomic_init(&st->jobs, 0);

    if (open_writer(st, err, errlen) != 0 || index_state_load(st, err, errlen) != 0 ||
        open_readers(st, err, errlen) != 0)
        goto fail;
    if (uv_async_init(loop, &st->async, on_async) != 0) {
        snprintf(err, errlen, "cannot create the store's async handle");
        goto fail;
    }
    st->async.data = st;
    st->handles = 1;
    if (start_threads(st, err, errlen) != 0) {
        /* Nothing was queued, so nothing is pending; the handle's close
         * callback frees the store when the loop next runs. */
        atomic_store(&st->closing, true);
        stop_threads(st);
        uv_close((uv_handle_t *)&st->async, on_async_closed);
        return MP_ERR_INTERNAL;
    }
    /* Background work: the timer alone does not keep the loop alive. */
    uv_timer_init(loop, &st->index_timer);
    st->index_timer.data = st;
    st->handles = 2;
    uv_timer_start(&st->index_timer, on_index_timer, MP_SQLITE_INDEX_PERIOD_MS,
                   MP_SQLITE_INDEX_PERIOD_MS);
    uv_unref((uv_handle_t *)&st->index_timer);
    /* Not the URL: it may carry a password. */
    mp_log_info("store: %s open (schema version %d)",
                st->url != NULL ? "the PostgreSQL database" : st->path, mp_store_schema_version());
    *out = st;
    return MP_OK;
fail:
    close_readers(st);
    mp_sql_close(st->idb);
    mp_sql_close(st->wdb);
    free_store(st);
    return MP_ERR_INTERNAL;
}

void mp_store_close(mp_store_t *st)
{
    if (st == NULL || atomic_exchange(&st->closing, true))
        return;
    /* No indexer pass is queued from here on (index_queue checks closing);
     * one in flight is finished by the indexer before its thread ends. */
    uv_close((uv_handle_t *)&st->index_timer, on_timer_closed);
    stop_threads(st);
    uv_close((uv_handle_t *)&st->async, on_async_closed);
}

/* A write that leaves the data as it was but still commits (and fsyncs) a
 * page: proof that the disk takes writes again. Two real changes, because
 * SQLite does not dirty a page for an update that rewrites the same bytes.
 * The writer sets `healthy` from the batch's outcome. */
static mp_err_t probe_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    (void)job;
    static const char *const sql[] = {
        "UPDATE chat_state SET version = version + 1 WHERE id = 1",
        "UPDATE chat_state SET version = version - 1 WHERE id = 1",
    };
    for (size_t i = 0; i < 2; i++) {
        mp_sql_stmt_t *s = mp_sql_prepare(db, sql[i]);
        if (s == NULL)
            return MP_ERR_INTERNAL;
        int rc = mp_sql_step(s);
        if (rc != MP_SQL_DONE)
            return mp_sql_err(db, rc);
    }
    return MP_OK;
}

typedef struct probe_job {
    mp_sql_job_t base;
    mp_store_t *st;
} probe_job_t;

static void probe_done(mp_sql_job_t *job, mp_err_t rc)
{
    probe_job_t *p = (probe_job_t *)job;
    if (rc == MP_OK)
        mp_log_info("store: writes succeed again");
    p->st->probing = false;
    mp_free(p);
}

void mp_store_probe(mp_store_t *st)
{
    if (st == NULL || st->probing || atomic_load(&st->closing) || atomic_load(&st->healthy))
        return;
    probe_job_t *p = mp_calloc(1, sizeof *p);
    p->base.run = probe_run;
    p->base.done = probe_done;
    p->st = st;
    if (mp_sqlite__write_or_free(st, &p->base) == MP_OK)
        st->probing = true;
}

bool mp_store_ready(mp_store_t *st)
{
    return st != NULL && !atomic_load(&st->closing) && atomic_load(&st->writer_alive) &&
           atomic_load(&st->healthy);
}

void mp_store_stats(mp_store_t *st, uint64_t *batches, uint64_t *jobs)
{
    if (batches)
        *batches = atomic_load(&st->batches);
    if (jobs)
        *jobs = atomic_load(&st->jobs);
}

void mp_store_queue_depths(mp_store_t *st, size_t *writes, size_t *reads)
{
    uv_mutex_lock(&st->wq.mu);
    *writes = st->wq.n;
    uv_mutex_unlock(&st->wq.mu);
    uv_mutex_lock(&st->rq.mu);
    *reads = st->rq.n;
    uv_mutex_unlock(&st->rq.mu);
}

mp_err_t mp_sqlite__write(mp_store_t *st, mp_sql_job_t *job)
{
    MP_ASSERT_THREAD(st->loop_thread);
    return queue_push(&st->wq, job);
}

mp_err_t mp_sqlite__read(mp_store_t *st, mp_sql_job_t *job)
{
    MP_ASSERT_THREAD(st->loop_thread);
    return queue_push(&st->rq, job);
}

void mp_sqlite__set_limits(mp_store_t *st, size_t max_writes, size_t max_reads)
{
    uv_mutex_lock(&st->wq.mu);
    st->wq.max = max_writes;
    uv_mutex_unlock(&st->wq.mu);
    uv_mutex_lock(&st->rq.mu);
    st->rq.max = max_reads;
    uv_mutex_unlock(&st->rq.mu);
}

bool mp_sqlite__fts_kept(mp_store_t *st)
{
    return atomic_load(&st->fts_kept);
}

void mp_sqlite__fts_keep(mp_store_t *st, bool on)
{
    atomic_store(&st->fts_kept, on);
}

void mp_sqlite__fts_upto_known(mp_store_t *st, uint64_t upto, uint64_t changes_upto)
{
    MP_ASSERT_THREAD(st->loop_thread);
    st->fts_upto = upto;
    st->changes_upto = changes_upto;
}

const char *mp_sqlite__search_path(const mp_store_t *st)
{
    return st->search_path;
}

void mp_sqlite__index_hold(mp_store_t *st, bool hold)
{
    MP_ASSERT_THREAD(st->loop_thread);
    st->index_held = hold;
}

bool mp_sqlite__index_now(mp_store_t *st)
{
    return index_queue(st);
}

/* ---- online backup ---------------------------------------------------------------- */

typedef struct backup_job {
    mp_sql_job_t base; /* completed through the done list like any job */
    mp_store_t *st;
    char *path;
    bool force;
    mp_store_backup_fn cb;
    void *ud;
    mp_store_backup_info_t info;
    char msg[512];
} backup_job_t;

/* Its own thread, not a reader: a copy of a large database takes a while
 * and must not hold up history and sync reads for that long. */
static void backup_main(void *arg)
{
    mp_thread_name("mp-backup");
    backup_job_t *j = arg;
    mp_store_t *st = j->st;
    j->base.rc = mp_sqlite__backup_copy(st->path, j->path, j->force, &st->closing, &j->info, j->msg,
                                        sizeof j->msg);
    if (j->base.rc == MP_OK)
        mp_log_info("store: backup written to %s (%llu bytes, %llu ms)", j->path,
                    (unsigned long long)j->info.bytes, (unsigned long long)j->info.ms);
    else
        mp_log_warn("store: backup to %s failed: %s", j->path, j->msg);
    complete(st, &j->base);
}

static void backup_done(mp_sql_job_t *job, mp_err_t rc)
{
    backup_job_t *j = (backup_job_t *)job;
    mp_store_t *st = j->st;
    /* The thread's last act was to complete the job: joining is immediate. */
    if (!st->backup_joined)
        uv_thread_join(&st->backup_thread);
    st->backup_running = false;
    j->cb(rc, rc == MP_OK ? NULL : j->msg, &j->info, j->ud);
    mp_free(j->path);
    mp_free(j);
}

mp_err_t mp_store_backup(mp_store_t *st, const char *path, bool force, mp_store_backup_fn cb,
                         void *ud, char *err, size_t errlen)
{
    MP_ASSERT_THREAD(st->loop_thread);
    if (st->url != NULL) {
        snprintf(err, errlen,
                 "the server runs on PostgreSQL: back it up with pg_dump or pg_basebackup "
                 "(see docs/operations.md)");
        return MP_ERR_BAD_REQUEST;
    }
    if (st->backup_running) {
        snprintf(err, errlen, "a backup is already running; wait for it to finish");
        return MP_ERR_CONFLICT;
    }
    if (atomic_load(&st->closing)) {
        snprintf(err, errlen, "the server is shutting down");
        return MP_ERR_UNAVAILABLE;
    }
    backup_job_t *j = mp_calloc(1, sizeof *j);
    j->base.done = backup_done;
    j->st = st;
    j->path = mp_strdup(path);
    j->force = force;
    j->cb = cb;
    j->ud = ud;
    if (uv_thread_create(&st->backup_thread, backup_main, j) != 0) {
        mp_free(j->path);
        mp_free(j);
        snprintf(err, errlen, "cannot start the backup thread");
        return MP_ERR_INTERNAL;
    }
    st->backup_running = true;
    st->backup_joined = false;
    return MP_OK;
}

mp_sql_conn_t *mp_sqlite__conn_open(mp_store_t *st, bool readonly)
{
    char err[256];
    mp_sql_conn_t *c = conn_open(st, readonly, err, sizeof err);
    if (c == NULL)
        mp_log_error("store: %s", err);
    return c;
}
