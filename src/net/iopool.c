/* I/O threads: see iopool.h. One run at a time, started by the loop.
 *
 * A run is "open" from its start until the caller has finished its own
 * share: a helper joins it only while it is open (checked under the mutex)
 * and the caller, once done, closes it and waits for the helpers that
 * joined. A helper that wakes late finds the run closed and goes back to
 * sleep, so it can never touch a later run's jobs with an earlier run's
 * view of them. */
#include "net/iopool.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include "util/alloc.h"
#include "util/thread.h"

/* Jobs a thread claims at once: small, so that a helper the kernel
 * descheduled mid-chunk holds the caller up for a few writes at most. */
#define CHUNK 4

typedef struct helper {
    mp_iopool_t *pool;
    unsigned idx; /* 1.. (0 is the caller) */
    uv_thread_t thread;
} helper_t;

struct mp_iopool {
    uv_mutex_t mu;
    uv_cond_t go;   /* a run opened, or stop */
    uv_cond_t idle; /* the last helper of a run finished */
    unsigned nhelpers;
    helper_t *helpers;
    /* Under mu: */
    uint64_t gen;      /* runs opened so far */
    bool open;         /* the current run takes helpers */
    bool stop;         /* helpers exit */
    bool helpers_only; /* the caller writes nothing (tests) */
    unsigned active;   /* helpers working on the current run */
    /* The current run: set under mu before it opens, read-only until the
     * caller has waited for the helpers. */
    mp_iojob_t *jobs;
    size_t njobs;
    const struct iovec *iov;
    atomic_size_t next; /* first job not yet claimed */
};

static void write_job(mp_iojob_t *j, const struct iovec *iov, unsigned by)
{
    j->by = by;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    struct iovec one;
    if (j->prep) {
        if (!j->prep(j, iov)) {
            j->n = -EPROTO;
            return;
        }
        one = (struct iovec){j->buf, j->len};
        msg.msg_iov = &one;
        msg.msg_iovlen = 1;
    } else {
        msg.msg_iov = (struct iovec *)(iov + j->iov_off);
        msg.msg_iovlen = j->niov;
    }
    ssize_t n;
    do
        n = sendmsg(j->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    j->n = n < 0 ? -errno : n;
}

/* Claims and writes chunks until none is left. */
static void work(mp_iopool_t *p, unsigned by)
{
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&p->next, CHUNK, memory_order_relaxed);
        if (i >= p->njobs)
            return;
        size_t end = i + CHUNK < p->njobs ? i + CHUNK : p->njobs;
        for (; i < end; i++)
            write_job(&p->jobs[i], p->iov, by);
    }
}

static void helper_main(void *arg)
{
    helper_t *h = arg;
    mp_iopool_t *p = h->pool;
    mp_thread_name("mp-io");
    uint64_t seen = 0;
    uv_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && !(p->open && p->gen != seen))
            uv_cond_wait(&p->go, &p->mu);
        if (p->stop)
            break;
        seen = p->gen;
        p->active++;
        uv_mutex_unlock(&p->mu);
        work(p, h->idx);
        uv_mutex_lock(&p->mu);
        if (--p->active == 0)
            uv_cond_signal(&p->idle);
    }
    uv_mutex_unlock(&p->mu);
}

static void stop_helpers(mp_iopool_t *p, unsigned started)
{
    uv_mutex_lock(&p->mu);
    p->stop = true;
    uv_cond_broadcast(&p->go);
    uv_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < started; i++)
        uv_thread_join(&p->helpers[i].thread);
}

mp_iopool_t *mp_iopool_new(unsigned nthreads)
{
    assert(nthreads >= 2);
    mp_iopool_t *p = mp_calloc(1, sizeof(*p));
    if (uv_mutex_init(&p->mu) != 0) {
        mp_free(p);
        return NULL;
    }
    if (uv_cond_init(&p->go) != 0 || uv_cond_init(&p->idle) != 0)
        abort(); /* only fails without memory, as mp_malloc would */
    atomic_init(&p->next, 0);
    p->nhelpers = nthreads - 1;
    p->helpers = mp_calloc(p->nhelpers, sizeof(*p->helpers));
    for (unsigned i = 0; i < p->nhelpers; i++) {
        p->helpers[i].pool = p;
        p->helpers[i].idx = i + 1;
        if (uv_thread_create(&p->helpers[i].thread, helper_main, &p->helpers[i]) != 0) {
            stop_helpers(p, i);
            p->nhelpers = 0;
            mp_iopool_free(p);
            return NULL;
        }
    }
    return p;
}

void mp_iopool_free(mp_iopool_t *p)
{
    if (p == NULL)
        return;
    if (p->nhelpers)
        stop_helpers(p, p->nhelpers);
    uv_cond_destroy(&p->go);
    uv_cond_destroy(&p->idle);
    uv_mutex_destroy(&p->mu);
    mp_free(p->helpers);
    mp_free(p);
}

unsigned mp_iopool_threads(const mp_iopool_t *p)
{
    return p->nhelpers + 1;
}

void mp_iopool_run(mp_iopool_t *p, mp_iojob_t *jobs, size_t n, const struct iovec *iov)
{
    if (n == 0)
        return;
    uv_mutex_lock(&p->mu);
    assert(!p->open && p->active == 0);
    p->jobs = jobs;
    p->njobs = n;
    p->iov = iov;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    p->gen++;
    p->open = true;
    /* More than one chunk: a helper has something to claim. */
    if (n > CHUNK || p->helpers_only)
        uv_cond_broadcast(&p->go);
    uv_mutex_unlock(&p->mu);

    if (!p->helpers_only)
        work(p, 0);

    uv_mutex_lock(&p->mu);
    while (p->helpers_only && atomic_load_explicit(&p->next, memory_order_relaxed) < n)
        uv_cond_wait(&p->idle, &p->mu);
    p->open = false;
    while (p->active > 0)
        uv_cond_wait(&p->idle, &p->mu);
    p->jobs = NULL;
    p->njobs = 0;
    uv_mutex_unlock(&p->mu);
}

void mp_iopool_helpers_only(mp_iopool_t *p, bool on)
{
    uv_mutex_lock(&p->mu);
    p->helpers_only = on;
    uv_mutex_unlock(&p->mu);
}
