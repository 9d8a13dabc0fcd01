#include "app/signals.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/assert.h"

struct mp_signals {
    uv_async_t async;   /* first: the close callback frees the struct */
    uv_thread_t thread; /* in sigwait() on `set` */
    sigset_t set;
    mp_signals_cb cb;
    void *ud;
    atomic_uint pending; /* bit n: signal n arrived, not yet handed on */
    atomic_bool armed;   /* the loop takes them; before, the default action */
    atomic_bool quit;
};

/* The set mp_signals_block() blocked, and those of it that the server's
 * parent left ignored (nohup ignores SIGHUP): their default action until
 * armed is to do nothing. Written before the signal thread exists, read only
 * by it and by mp_signals_start(). */
static sigset_t blocked;
static sigset_t ignored;

void mp_signals_block(bool hup)
{
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGTERM);
    if (hup)
        sigaddset(&blocked, SIGHUP);
    sigemptyset(&ignored);
    for (int signum = 1; signum < 32; signum++) {
        struct sigaction sa;
        if (sigismember(&blocked, signum) == 1 && sigaction(signum, NULL, &sa) == 0 &&
            sa.sa_handler == SIG_IGN)
            sigaddset(&ignored, signum);
    }
    int rc = pthread_sigmask(SIG_BLOCK, &blocked, NULL);
    MP_ASSERT(rc == 0); /* fails only for a bad `how` */
    (void)rc;
}

/* mp_signals_block() ran, and every signal it blocked is still blocked in
 * the calling thread. */
static bool still_blocked(void)
{
    if (sigismember(&blocked, SIGTERM) != 1)
        return false; /* mp_signals_block() never ran */
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    for (int signum = 1; signum < 32; signum++)
        if (sigismember(&blocked, signum) == 1 && sigismember(&cur, signum) != 1)
            return false;
    return true;
}

/* What the signal would have done unblocked and unhandled: the end of the
 * process, by that signal (a supervisor sees the same status as ever). */
_Noreturn static void default_action(int signum)
{
    signal(signum, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, signum);
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    raise(signum); /* to this thread, which no longer blocks it */
    _exit(128 + signum);
}

static void signal_main(void *arg)
{
    mp_signals_t *sg = arg;
    for (;;) {
        int signum = 0;
        if (sigwait(&sg->set, &signum) != 0)
            continue;
        if (atomic_load(&sg->quit))
            return;
        if (!atomic_load(&sg->armed)) {
            if (sigismember(&ignored, signum) == 1)
                continue;
            default_action(signum);
        }
        MP_ASSERT(signum > 0 && signum < 32);
        atomic_fetch_or(&sg->pending, 1u << signum);
        uv_async_send(&sg->async); /* thread-safe; coalesced until the loop runs */
    }
}

static void on_async(uv_async_t *a)
{
    mp_signals_t *sg = (mp_signals_t *)a;
    unsigned bits = atomic_exchange(&sg->pending, 0);
    for (int signum = 1; signum < 32; signum++)
        if (bits & (1u << signum))
            sg->cb(signum, sg->ud);
}

mp_signals_t *mp_signals_start(uv_loop_t *loop, mp_signals_cb cb, void *ud)
{
    /* The new thread inherits the caller's mask: the set must be blocked,
     * or a signal could run its default action between two sigwait()s. */
    if (!still_blocked())
        return NULL;
    mp_signals_t *sg = mp_calloc(1, sizeof *sg);
    sg->set = blocked;
    sg->cb = cb;
    sg->ud = ud;
    atomic_init(&sg->pending, 0);
    atomic_init(&sg->armed, false);
    atomic_init(&sg->quit, false);
    if (uv_async_init(loop, &sg->async, on_async) != 0) {
        mp_free(sg);
        return NULL;
    }
    if (uv_thread_create(&sg->thread, signal_main, sg) != 0) {
        uv_close((uv_handle_t *)&sg->async, (uv_close_cb)mp_free);
        return NULL;
    }
    /* Named here rather than by the thread itself, so that the name is
     * there as soon as the server says it listens (best effort). */
    (void)pthread_setname_np(sg->thread, "mp-signals");
    return sg;
}

void mp_signals_arm(mp_signals_t *sg)
{
    atomic_store(&sg->armed, true);
}

void mp_signals_stop(mp_signals_t *sg)
{
    if (sg == NULL)
        return;
    atomic_store(&sg->quit, true);
    /* Aimed at that thread alone, and in its set: sigwait() returns it. */
    int rc = pthread_kill(sg->thread, SIGTERM);
    MP_ASSERT(rc == 0); /* the thread exists until it is joined */
    rc = uv_thread_join(&sg->thread);
    MP_ASSERT(rc == 0);
    (void)rc;
    uv_close((uv_handle_t *)&sg->async, (uv_close_cb)mp_free);
}
