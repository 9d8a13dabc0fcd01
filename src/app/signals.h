/* The server's shutdown and reload signals, taken by one thread.
 *
 * A signal sent to the process goes to any one of its threads that does not
 * block it. The server has many (store, search index, I/O helpers, libuv's
 * pool, libvips, libnats), and a handler that runs in one of them, or is
 * deferred there by a sanitizer's runtime, may never reach the loop: SIGTERM
 * would be lost. So the signals are blocked in every thread, the loop's
 * included, and one small thread takes them with sigwait() and hands each to
 * the loop through a uv_async_t.
 *
 * Use: mp_signals_block() first in the process, before any thread exists
 * (threads inherit their creator's mask), and mp_signals_start() at once;
 * mp_signals_arm() once the loop can act on them; mp_signals_stop() before
 * the loop's handles are closed. */
#ifndef MP_APP_SIGNALS_H
#define MP_APP_SIGNALS_H

#include <stdbool.h>
#include <uv.h>

typedef struct mp_signals mp_signals_t;

/* Called on the loop thread, once for each signal received (two of the same
 * signal before the loop runs count as one). */
typedef void (*mp_signals_cb)(int signum, void *ud);

/* Blocks SIGINT and SIGTERM, and SIGHUP when `hup`, in the calling thread and
 * so in every thread it starts later. A signal that arrives before
 * mp_signals_start() waits, pending, and is taken then. Without `hup`,
 * SIGHUP keeps its default action (the end of the process). */
void mp_signals_block(bool hup);

/* Starts the thread that waits for the signals blocked by mp_signals_block(),
 * which must have been called first.
 * Until mp_signals_arm(), a signal has its default action: the process ends
 * at once, as a server that does not serve yet has nothing to finish (a
 * start-up stuck on a database must not outlive a stop). NULL if the thread
 * cannot start, or if the signals are not blocked in the calling thread. */
__attribute__((warn_unused_result)) mp_signals_t *mp_signals_start(uv_loop_t *loop,
                                                                   mp_signals_cb cb, void *ud);

/* From now on each signal goes to `cb` on the loop thread. */
void mp_signals_arm(mp_signals_t *sg);

/* Stops and joins the thread, and closes the handle; the loop must run once
 * more for the close. Signals stay blocked: one that arrives after this
 * changes nothing. NULL is accepted. */
void mp_signals_stop(mp_signals_t *sg);

#endif
