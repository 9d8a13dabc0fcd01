/* I/O threads (io_threads): the socket writes of one flush, shared between
 * the loop thread and io_threads - 1 helpers.
 *
 * The loop builds every write of a flush first (which bytes go to which
 * socket), then mp_iopool_run hands them out in small chunks to whichever
 * thread is free, the loop among them, and returns once all are done. Only
 * the system calls run on the helpers: they touch nothing but the jobs and
 * the bytes the jobs point to, which nobody changes until mp_iopool_run
 * returns. So a fan-out to thousands of sockets costs the loop its share of
 * the writes, not all of them, and no lock is taken on the loop's own state.
 * Internal to the gateway (net/server.c). */
#ifndef MP_NET_IOPOOL_H
#define MP_NET_IOPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef struct mp_iopool mp_iopool_t;

typedef struct mp_iojob mp_iojob_t;

/* Runs on the thread that writes j, just before the write: turns the job's
 * buffers into the bytes to send (a TLS connection's records), which it
 * puts in j->buf (allocated with mp_malloc, j->len bytes; the caller of
 * mp_iopool_run frees it). False when it failed: nothing is written and
 * j->n is -EPROTO. It may touch only what belongs to j. */
typedef bool (*mp_ioprep_fn)(mp_iojob_t *j, const struct iovec *iov);

/* One socket write: iov[0..niov) of the run's array to fd (or, with prep,
 * what prep made of them), one sendmsg. */
struct mp_iojob {
    int fd;
    unsigned iov_off;  /* first buffer in the run's iov array */
    unsigned niov;     /* buffers, at most IOV_MAX */
    mp_ioprep_fn prep; /* NULL: the buffers are sent as they are */
    void *ud;          /* for prep */
    char *buf;         /* out (prep): the bytes sent instead of the buffers */
    size_t len;        /* out (prep): their length */
    unsigned by;       /* out: the thread that wrote it, 0 = the caller */
    ssize_t n;         /* out: bytes the kernel took, or -errno (EAGAIN: none) */
};

/* A pool of nthreads - 1 helper threads (named mp-io), nthreads >= 2. NULL
 * when a thread could not be started (what was started is stopped). */
mp_iopool_t *mp_iopool_new(unsigned nthreads);
/* Stops and joins the helpers. NULL is a no-op. */
void mp_iopool_free(mp_iopool_t *p);
/* Threads in the pool, the caller's included. */
unsigned mp_iopool_threads(const mp_iopool_t *p);

/* Runs jobs[0..n): each is one non-blocking sendmsg (no SIGPIPE), by the
 * calling thread or a helper. Returns when every job is done; the jobs and
 * the bytes their buffers point to must stay unchanged until then. A helper
 * that is slow to wake does not hold the caller up: the caller takes its
 * share of the jobs, and only waits for chunks a helper already began. */
void mp_iopool_run(mp_iopool_t *p, mp_iojob_t *jobs, size_t n, const struct iovec *iov);

/* For tests: the caller takes no job of its own and waits for the helpers
 * to write them all, so that a test knows the helpers wrote. */
void mp_iopool_helpers_only(mp_iopool_t *p, bool on);

#endif
