/* The WAL checkpointer: copies committed WAL frames back into the database
 * file on a thread of its own, so that the writer's commits (and the acks
 * waiting on them) do not pay for it.
 *
 * SQLite's default checkpoints inside the commit that takes the WAL past
 * 1,000 frames: that commit then copies every page written since the last
 * one and fsyncs the database file, in the middle of the send path. Here
 * the writer's WAL hook only counts: once MP_SQLITE_CKPT_PAGES frames lie
 * beyond what was last copied, it wakes this thread, which runs a PASSIVE
 * checkpoint from its own connection (it waits for nobody and blocks
 * nobody; the writer goes on appending meanwhile). A PASSIVE checkpoint
 * never restarts the WAL, and under continuous load the writer never finds
 * it fully copied, so the file would only grow: past MP_SQLITE_CKPT_RESET
 * frames the writer checkpoints what is left itself (little: the thread
 * copied the rest) unless the thread is at it, and its next transaction
 * starts the WAL over from the beginning. At twice that size the writer
 * waits for the thread's pass to end rather than let the file grow on.
 *
 * Durability is SQLite's own: a frame is durable once its commit's fsync
 * returned, whichever connection later copies it. */
#include <stdatomic.h>
#include <stdio.h>

#include <uv.h>

#include "store/sqlite_ckpt.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/log.h"
#include "util/thread.h"

struct mp_sqlite_ckpt {
    sqlite3 *db; /* this thread's own connection */
    sqlite3 *writer;
    uv_thread_t thread;
    uv_mutex_t mu;
    uv_cond_t cv;
    /* Held by whichever thread runs a checkpoint: SQLite would answer the
     * second one SQLITE_BUSY at once. */
    uv_mutex_t run_mu;
    bool want, stop; /* under mu */
    /* Frames copied by the last checkpoint of either thread (the WAL's
     * frame count then). Written by both, read by the writer's hook. */
    atomic_int copied;
    /* Counted for the log line at stop. */
    atomic_uint_fast64_t passes, by_writer;
};

static void run_checkpoint(mp_sqlite_ckpt_t *c, sqlite3 *db)
{
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    /* SQLITE_BUSY: another process's connection is checkpointing (ours
     * take turns under run_mu); anything else is worth a line, not a stop:
     * the WAL keeps every frame until a later checkpoint succeeds. */
    if (rc == SQLITE_OK)
        atomic_store(&c->copied, done > 0 ? done : 0);
    else if (rc != SQLITE_BUSY)
        mp_log_warn("store: WAL checkpoint failed: %s", sqlite3_errmsg(db));
}

static void ckpt_main(void *arg)
{
    mp_thread_name("mp-checkpoint");
    mp_sqlite_ckpt_t *c = arg;
    uv_mutex_lock(&c->mu);
    for (;;) {
        while (!c->want && !c->stop)
            uv_cond_wait(&c->cv, &c->mu);
        if (c->stop)
            break;
        c->want = false;
        uv_mutex_unlock(&c->mu);
        uv_mutex_lock(&c->run_mu);
        run_checkpoint(c, c->db);
        uv_mutex_unlock(&c->run_mu);
        atomic_fetch_add(&c->passes, 1);
        uv_mutex_lock(&c->mu);
    }
    uv_mutex_unlock(&c->mu);
}

/* The writer's WAL hook, after each commit, with `frames` in the WAL. A
 * count below the last copy means the WAL started over. */
static int on_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)name;
    mp_sqlite_ckpt_t *c = arg;
    /* At the reset size the writer copies the rest unless the thread is
     * at it (then it tries again at its next commit); at twice that it
     * waits for the thread's pass to end, so the WAL stays bounded even
     * when the thread is slower than the writer. */
    if (frames >= MP_SQLITE_CKPT_RESET) {
        if (frames >= 2 * MP_SQLITE_CKPT_RESET)
            uv_mutex_lock(&c->run_mu);
        else if (uv_mutex_trylock(&c->run_mu) != 0)
            return SQLITE_OK;
        run_checkpoint(c, db);
        uv_mutex_unlock(&c->run_mu);
        atomic_fetch_add(&c->by_writer, 1);
        return SQLITE_OK;
    }
    int copied = atomic_load(&c->copied);
    int pending = frames >= copied ? frames - copied : frames;
    if (pending >= MP_SQLITE_CKPT_PAGES) {
        uv_mutex_lock(&c->mu);
        c->want = true;
        uv_cond_signal(&c->cv);
        uv_mutex_unlock(&c->mu);
    }
    return SQLITE_OK;
}

mp_sqlite_ckpt_t *mp_sqlite__ckpt_start(const char *path, sqlite3 *writer, char *err, size_t errlen)
{
    mp_sqlite_ckpt_t *c = mp_calloc(1, sizeof *c);
    c->writer = writer;
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s for the checkpointer: %s", path,
                 c->db ? sqlite3_errmsg(c->db) : "out of memory");
        goto fail;
    }
    /* synchronous=FULL as on the writer: a checkpoint then fsyncs the
     * database file before it lets the WAL be reused. And a connection
     * learns that the file is in WAL mode when it first reads it; until then
     * a checkpoint does nothing (and reports -1 frames). */
    if (sqlite3_exec(c->db, "PRAGMA synchronous=FULL; SELECT count(*) FROM sqlite_master", NULL,
                     NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot read %s for the checkpointer: %s", path,
                 sqlite3_errmsg(c->db));
        goto fail;
    }
    uv_mutex_init(&c->mu);
    uv_mutex_init(&c->run_mu);
    uv_cond_init(&c->cv);
    if (uv_thread_create(&c->thread, ckpt_main, c) != 0) {
        snprintf(err, errlen, "cannot start the store checkpointer thread");
        uv_cond_destroy(&c->cv);
        uv_mutex_destroy(&c->run_mu);
        uv_mutex_destroy(&c->mu);
        goto fail;
    }
    /* Replaces SQLite's automatic checkpoint (itself a WAL hook). */
    sqlite3_wal_hook(writer, on_commit, c);
    return c;
fail:
    sqlite3_close(c->db);
    mp_free(c);
    return NULL;
}

void mp_sqlite__ckpt_stop(mp_sqlite_ckpt_t *c)
{
    if (c == NULL)
        return;
    uv_mutex_lock(&c->mu);
    c->stop = true;
    uv_cond_signal(&c->cv);
    uv_mutex_unlock(&c->mu);
    uv_thread_join(&c->thread);
    /* The writer has stopped; its close checkpoints the rest. */
    sqlite3_wal_hook(c->writer, NULL, NULL);
    sqlite3_close(c->db);
    uint64_t p = atomic_load(&c->passes), w = atomic_load(&c->by_writer);
    if (p + w > 0)
        mp_log_info("store: %llu WAL checkpoints on the checkpointer thread, %llu by the writer",
                    (unsigned long long)p, (unsigned long long)w);
    uv_cond_destroy(&c->cv);
    uv_mutex_destroy(&c->run_mu);
    uv_mutex_destroy(&c->mu);
    mp_free(c);
}
