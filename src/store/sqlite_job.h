/* Internal to src/store: the job machinery of the SQLite backend, used by the
 * files that implement store operations (sqlite_users.c, sqlite_chat.c, ...).
 *
 * A job is a struct that embeds mp_sql_job_t as its FIRST member. run() executes
 * on the writer thread (inside the group-commit transaction, wrapped in its own
 * SAVEPOINT so a failing job rolls back alone; a job with lazy_savepoint
 * opens it itself, when it needs one) or on a reader thread; it must
 * only touch the job and the connection. done() runs on the loop thread after
 * the transaction is durable (or failed: then every job of the batch gets
 * MP_ERR_UNAVAILABLE when the disk refused the commit, else MP_ERR_INTERNAL) and must free the job.
 */
#ifndef MP_STORE_SQLITE_JOB_H
#define MP_STORE_SQLITE_JOB_H

#include <stdbool.h>

#include "store/sql.h"
#include "store/store.h"
#include "util/alloc.h"

typedef struct mp_sql_job mp_sql_job_t;
struct mp_sql_job {
    mp_err_t (*run)(mp_sql_conn_t *db, mp_sql_job_t *job);
    void (*done)(mp_sql_job_t *job, mp_err_t rc);
    mp_sql_job_t *next; /* queue link, owned by the store */
    mp_err_t rc;
    /* Set by the job's maker: run() calls mp_sqlite__job_savepoint before
     * its first change unless that change is a single statement and its
     * last one (see run_in_savepoint in sqlite.c). */
    bool lazy_savepoint;
    bool in_savepoint; /* the writer's, during run() */
};

/* Opens the running job's savepoint if it has none yet (writer thread, from
 * run() of a job with lazy_savepoint). */
mp_err_t mp_sqlite__job_savepoint(mp_sql_conn_t *db, mp_sql_job_t *j)
    __attribute__((warn_unused_result));

/* Queues a write job. MP_ERR_UNAVAILABLE when the bounded queue is full (the
 * job is then not taken: the caller frees it). */
mp_err_t mp_sqlite__write(mp_store_t *st, mp_sql_job_t *job) __attribute__((warn_unused_result));
/* Queues a read job on a read-only connection. Same contract. */
mp_err_t mp_sqlite__read(mp_store_t *st, mp_sql_job_t *job) __attribute__((warn_unused_result));

/* The same, for a job allocated with mp_malloc/mp_calloc as one block: when
 * the queue refuses it, the job is freed here (its done() never runs). */
static inline mp_err_t mp_sqlite__write_or_free(mp_store_t *st, mp_sql_job_t *job)
{
    mp_err_t rc = mp_sqlite__write(st, job);
    if (rc != MP_OK)
        mp_free(job);
    return rc;
}

static inline mp_err_t mp_sqlite__read_or_free(mp_store_t *st, mp_sql_job_t *job)
{
    mp_err_t rc = mp_sqlite__read(st, job);
    if (rc != MP_OK)
        mp_free(job);
    return rc;
}

/* A private connection to the store's database for synchronous start-up
 * work on the calling thread (read-only or read-write, with the settings of
 * the store's own connections); close it with mp_sql_close. NULL on failure
 * (logged). */
mp_sql_conn_t *mp_sqlite__conn_open(mp_store_t *st, bool readonly)
    __attribute__((warn_unused_result));

/* Deferred writes (writer thread only). A job type may keep counters in
 * memory across the CONSECUTIVE jobs of one batch (of several, see write
 * below) that share its run function
 * (owner) and write them once: the writer calls flush() before COMMIT and
 * before running any job with another run function (which may read or change
 * the same rows), and drop() instead when the transaction is rolled back.
 * Either one ends the registration and must forget the state (flush() also
 * when it fails; a failing flush() fails the whole batch).
 * The owner's jobs must leave d unchanged when they fail (their savepoint is
 * rolled back). */
struct mp_sql_deferred {
    mp_err_t (*owner)(mp_sql_conn_t *db, mp_sql_job_t *job);
    mp_err_t (*flush)(mp_sql_conn_t *db, mp_sql_deferred_t *d);
    void (*drop)(mp_sql_deferred_t *d);
    /* Optional (NULL: none). Writes the state as flush() does but keeps it
     * registered across the COMMIT, so that the owner's jobs of the next
     * batches go on with it until another job type runs (flush()) or a
     * batch fails (drop()). The writer uses it only on SQLite, where it is
     * the database's one writer (one server per data directory): what the
     * state read from the database then stays true while only the owner's
     * jobs write. A commit by any other connection (PRAGMA data_version)
     * drops it at the next batch's start. PostgreSQL has other nodes
     * writing: every batch starts afresh there. */
    mp_err_t (*write)(mp_sql_conn_t *db, mp_sql_deferred_t *d);
};
/* The state lives on the writer's connection: mp_sql_defer(db, d) registers
 * it for the rest of the current batch, mp_sql_deferred(db) finds it again.
 * Only from an owner job's run(), on the writer thread. */

/* Test hook: changes the bounds of the write and read queues (defaults 65536
 * and 16384), e.g. to exercise backpressure with a handful of jobs. */
void mp_sqlite__set_limits(mp_store_t *st, size_t max_writes, size_t max_reads);

/* Test hooks of the search indexer (loop thread). hold: nothing queues an
 * indexer pass while held (one in flight still completes), so a test can
 * look at messages and changes the index has not reached. index_now: queues
 * a pass now, as the timer would; false when one is in flight, the index is
 * not kept or the store is closing. */
void mp_sqlite__index_hold(mp_store_t *st, bool hold);
bool mp_sqlite__index_now(mp_store_t *st);

/* Test hook: how many times sends read a conversation's last_seq or a
 * sender's rules from the database, in this process so far. */
uint64_t mp_sqlite__send_loads(void);

#endif
