/* The one fixture library of the unit tests: a real store on a temporary data
 * dir with its loop, bounded waits that fail the test with a message instead
 * of hanging until ctest's timeout, and users created through the store API.
 * Include after cmocka.h. */
#ifndef MPU_FIXTURE_H
#define MPU_FIXTURE_H

#include <stdbool.h>
#include <sqlite3.h>
#include <stdint.h>
#include <uv.h>

#include "net/server.h"
#include "store/sqlite_job.h"
#include "store/store.h"

/* Bound of every wait (ms): generous, since sanitizers and a loaded machine
 * slow everything; a lost callback still fails in seconds, not minutes. */
#define MPU_TIMEOUT 30000

typedef struct mpu_store {
    uv_loop_t loop;
    mp_store_t *st;
    char dir[64]; /* mkdtemp'd, removed by mpu_store_close */
} mpu_store_t;

/* mkdtemp + loop + mp_store_open. Returns 0, or -1 after printing why (for
 * cmocka setup functions). */
int mpu_store_open(mpu_store_t *f);
/* Closes the store, runs the loop until its handles are closed, closes the
 * loop (asserting nothing is left open) and removes the data dir. */
void mpu_store_close(mpu_store_t *f);
/* Path of the database file (static buffer), for tests that peek with their
 * own sqlite3 connection. */
const char *mpu_store_db_path(const mpu_store_t *f);
/* The first column of the first row of the printf-formatted query on db, as
 * an integer; fails the test when the query fails or returns no row. */
int64_t mpu_peek_int(sqlite3 *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same on a connection of its own to the store's database, opened and
 * closed around the query. */
int64_t mpu_store_peek_int(const mpu_store_t *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Runs sql (one or more statements) on db; fails the test with SQLite's
 * message when it fails. */
void mpu_exec(sqlite3 *db, const char *sql);
/* The nice value of this process's thread named `name` (as it named itself
 * with mp_thread_name); fails the test when there is none. */
int mpu_thread_nice(const char *name);

/* Runs loop until *counter >= want; fails the test naming `what` if that
 * takes longer than timeout_ms. */
void mpu_wait_int(uv_loop_t *loop, const volatile int *counter, int want, int timeout_ms,
                  const char *what);
/* Runs loop until *counter <= want (counters of pending operations). */
void mpu_wait_down(uv_loop_t *loop, const volatile int *counter, int want, int timeout_ms,
                   const char *what);
/* Longest turn (ms) of mpu_wait_until. */
#define MPU_TICK 1
/* Runs the loop one turn at a time (each at most MPU_TICK ms) until step(ud)
 * returns true; fails the test naming `what` after timeout_ms. step is
 * called before every turn and may act too (read a socket, send one more
 * frame): for conditions that are not a counter, or that the loop does not
 * wake up for. */
void mpu_wait_until(uv_loop_t *loop, bool (*step)(void *ud), void *ud, int timeout_ms,
                    const char *what);
/* uv_run(UV_RUN_DEFAULT), bounded: runs until no handle or request is left
 * (a store closed, a pool drained); fails naming `what` after timeout_ms. */
void mpu_run_idle(uv_loop_t *loop, int timeout_ms, const char *what);

/* Shuts an in-process server down, runs loop until every handle is closed,
 * frees srv and closes loop; fails the test if the shutdown never completes
 * or a handle is left open. */
void mpu_server_close(uv_loop_t *loop, mp_server_t *srv);

/* The wait names its counter and where it was called from. */
#define MPU_STR_(x) #x
#define MPU_STR(x) MPU_STR_(x)
#define MPU_AT " (" __FILE__ ":" MPU_STR(__LINE__) ")"
#define MPU_WAIT(loop, counter, want)                                                              \
    mpu_wait_int(loop, counter, want, MPU_TIMEOUT, #counter MPU_AT)
#define MPU_WAIT_ZERO(loop, counter) mpu_wait_down(loop, counter, 0, MPU_TIMEOUT, #counter MPU_AT)
#define MPU_WAIT_UNTIL(loop, step, ud) mpu_wait_until(loop, step, ud, MPU_TIMEOUT, #step MPU_AT)
#define MPU_RUN_IDLE(loop) mpu_run_idle(loop, MPU_TIMEOUT, "the loop to run out of work" MPU_AT)

/* Creates a user through mp_store_user_create (the way the server does) and
 * waits for the commit; fails the test on any error. */
void mpu_user_add(mpu_store_t *f, uint64_t id, const char *username, const char *display_name,
                  bool guest);

/* A write job that holds the store's writer until opened, so that what is
 * queued meanwhile forms the next group-commit batch. Both sides wait with a
 * bound (MPU_TIMEOUT); a gate left closed by a failing test lets the writer
 * go after that bound rather than hang the store's shutdown. */
typedef struct mpu_gate {
    mp_sql_job_t base;
    uv_mutex_t mu;
    uv_cond_t cv;
    bool inside, go;
    int done; /* the gate's done() ran */
} mpu_gate_t;

/* Queues the gate and returns once the writer is inside it. */
void mpu_gate_close(mpu_store_t *f, mpu_gate_t *g);
/* Lets the writer go on and waits for the gate's own completion. */
void mpu_gate_open(mpu_store_t *f, mpu_gate_t *g);

#endif
