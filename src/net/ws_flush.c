/* WebSocket output flushed with the help of I/O threads (io_threads, see
 * iopool.h): when one loop turn left output for many sockets (a message to
 * a large group, the world room), the loop takes every socket's batch as
 * mp_ws__flush would, the pool's threads and the loop write them side by
 * side, and each batch then goes on as an ordinary write whose first bytes
 * the kernel already took. Whatever a socket did not take (a full send
 * buffer) is queued by libuv as usual, so back-pressure, the slow-reader
 * bound and the callbacks are exactly those of a write by the loop. On a
 * TLS connection the thread that writes the batch also seals it into
 * records (mp_tls__seal), which is most of the cost there. */
#include <stddef.h>
#include <sys/uio.h>

#include "net/conn.h"
#include "net/iopool.h"
#include "net/ws.h"
#include "util/alloc.h"
#include "util/metrics.h"

/* Below this many sockets in one flush, waking a helper costs more than the
 * writes it would take. */
#define SHARE_MIN 32

/* uv_buf_t is struct iovec on Unix (libuv says so): the batches taken into
 * uv_buf_t go to sendmsg as they are. */
_Static_assert(sizeof(uv_buf_t) == sizeof(struct iovec) &&
                   offsetof(uv_buf_t, base) == offsetof(struct iovec, iov_base) &&
                   offsetof(uv_buf_t, len) == offsetof(struct iovec, iov_len),
               "uv_buf_t is not struct iovec");

typedef struct taken {
    mp_conn_t *c;
    void *batch;
    size_t bytes;
} taken_t;

/* What a shared flush keeps from one to the next (grown, never shrunk: it
 * is as large as the largest fan-out seen). */
struct mp_ioflush {
    mp_iojob_t *jobs;
    taken_t *taken;
    size_t jobs_cap;
    uv_buf_t *bufs;
    size_t bufs_cap;
};

void mp_server_set_io_threads(mp_server_t *srv, unsigned n)
{
    MP_NET_ASSERT_LOOP(srv);
    mp_ws__io_free(srv);
    if (n < 2)
        return;
    srv->io = mp_iopool_new(n);
    if (srv->io)
        srv->iof = mp_calloc(1, sizeof(*srv->iof));
}

unsigned mp_server_io_threads(const mp_server_t *srv)
{
    return srv->io ? mp_iopool_threads(srv->io) : 1;
}

void mp_ws__io_free(mp_server_t *srv)
{
    mp_iopool_free(srv->io);
    srv->io = NULL;
    if (srv->iof) {
        mp_free(srv->iof->jobs);
        mp_free(srv->iof->taken);
        mp_free(srv->iof->bufs);
        mp_free(srv->iof);
        srv->iof = NULL;
    }
}

/* A connection whose next batch an I/O thread may write: a socket with
 * output queued and nothing in flight, so that the bytes it writes are the
 * next the peer gets; on TLS, one whose records may be written. */
static bool shareable(const mp_conn_t *c)
{
    return c != NULL && c->ws != NULL && !c->ws->writing && c->ws->qhead != NULL &&
           (c->tls == NULL || mp_tls__sealable(c)) && c->nwrites == 0 &&
           c->tcp.write_queue_size == 0 && !(c->flags & (MP_C_CLOSED | MP_C_SHUT | MP_C_FAKE));
}

/* On the thread that writes it: a TLS connection's batch becomes records.
 * Only this job touches the connection's SSL until the flush returns. */
static bool seal(mp_iojob_t *j, const struct iovec *iov)
{
    return mp_tls__seal(j->ud, (const uv_buf_t *)(iov + j->iov_off), j->niov, &j->buf, &j->len);
}

/* The loop's half of a job, once the writes are done. */
static void finish(const mp_iojob_t *job, taken_t *t, uv_buf_t *bufs)
{
    /* A failed write (the peer left) is tried again by libuv, which then
     * reports the error the usual way. */
    size_t written = job->n > 0 ? (size_t)job->n : 0;
    mp_conn_t *c = t->c;
    if (job->prep == NULL) {
        mp_conn__write_rest(c, bufs + job->iov_off, job->niov, t->bytes, written, mp_ws__batch_done,
                            t->batch);
        return;
    }
    if (job->buf == NULL) { /* OpenSSL refused, as mp_tls__write would close */
        mp_conn__close(c);
        mp_ws__batch_done(c, t->batch);
        return;
    }
    mp_conn__send_owned_rest(c, job->buf, job->len, written, mp_ws__batch_done, t->batch);
    mp_tls__trim(c);
}

static void reserve(struct mp_ioflush *f, size_t jobs, size_t bufs)
{
    if (jobs > f->jobs_cap) {
        f->jobs_cap = jobs;
        f->jobs = mp_realloc(f->jobs, jobs * sizeof(*f->jobs));
        f->taken = mp_realloc(f->taken, jobs * sizeof(*f->taken));
    }
    if (bufs > f->bufs_cap) {
        f->bufs_cap = bufs > 2 * f->bufs_cap ? bufs : 2 * f->bufs_cap;
        f->bufs = mp_realloc(f->bufs, f->bufs_cap * sizeof(*f->bufs));
    }
}

void mp_ws__flush_shared(mp_server_t *srv)
{
    size_t n = 0;
    for (size_t i = 0; i < srv->npend && n < SHARE_MIN; i++)
        n += shareable(srv->pend[i]);
    if (n < SHARE_MIN)
        return;
    struct mp_ioflush *f = srv->iof;
    reserve(f, srv->npend, 0);
    size_t nb = 0;
    n = 0;
    for (size_t i = 0; i < srv->npend; i++) {
        mp_conn_t *c = srv->pend[i];
        int fd;
        if (!shareable(c) || uv_fileno((const uv_handle_t *)&c->tcp, &fd) != 0)
            continue;
        reserve(f, 0, nb + MP_WS_BATCH_BUFS);
        taken_t *t = &f->taken[n];
        unsigned k = mp_ws__take(c, f->bufs + nb, &t->batch, &t->bytes);
        if (k == 0)
            continue;
        t->c = c;
        f->jobs[n] = (mp_iojob_t){.fd = fd,
                                  .iov_off = (unsigned)nb,
                                  .niov = k,
                                  .prep = c->tls ? seal : NULL,
                                  .ud = c->tls};
        nb += k;
        n++;
        c->pend_idx = 0;
        srv->pend[i] = NULL;
    }
    mp_iopool_run(srv->io, f->jobs, n, (const struct iovec *)f->bufs);
    uint64_t helped = 0;
    for (size_t j = 0; j < n; j++) {
        helped += f->jobs[j].by != 0;
        finish(&f->jobs[j], &f->taken[j], f->bufs);
    }
    mp_metrics_inc(MP_MC_IO_SHARED_FLUSHES);
    mp_metrics_add(MP_MC_IO_HELPER_WRITES, helped);
}
