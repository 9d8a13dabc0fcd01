/* The listener and the connection life cycle: accept, read into a shared
 * buffer, write, graceful and hard close, server shutdown. */
#include <assert.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "net/conn.h"
#include "net/ws.h"
#include "util/alloc.h"
#include "util/log.h"

typedef struct mp_wr {
    uv_write_t req;
    mp_conn_wdone_fn done;
    void *arg;
    size_t len;  /* bytes written, counted in the connection's obytes */
    char *owned; /* freed once written (TLS records), or NULL */
} mp_wr_t;

static void handle_closed(mp_server_t *srv)
{
    srv->nhandles--;
    if (srv->shutting_down && srv->nhandles == 0 && srv->done) {
        void (*done)(void *) = srv->done;
        srv->done = NULL;
        done(srv->done_arg);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

/* The deadline timer and the flusher serve the connections still closing
 * after a shutdown began; they go once the last socket is released. */
static void close_timers(mp_server_t *srv)
{
    if (srv->timers_closed)
        return;
    srv->timers_closed = true;
    uv_timer_stop(&srv->timer);
    srv->timer_due = -1;
    uv_close((uv_handle_t *)&srv->timer, on_handle_closed);
    uv_prepare_stop(&srv->flusher);
    uv_close((uv_handle_t *)&srv->flusher, on_handle_closed);
}

static void on_prepare(uv_prepare_t *h)
{
    mp_server_t *srv = h->data;
    if (srv->io)
        mp_ws__flush_shared(srv); /* takes what it can, leaves NULL in pend */
    /* Flushing may close connections whose hooks queue more: re-read npend. */
    for (size_t i = 0; i < srv->npend; i++) {
        mp_conn_t *c = srv->pend[i];
        if (c == NULL)
            continue;
        c->pend_idx = 0;
        if (c->ws && !(c->flags & MP_C_CLOSED))
            mp_ws__flush(c);
    }
    srv->npend = 0;
}

void mp_conn__want_flush(mp_conn_t *c)
{
    mp_server_t *srv = c->srv;
    if (c->flags & MP_C_FAKE) { /* no loop turns for fakes */
        mp_ws__flush(c);
        return;
    }
    if (c->pend_idx)
        return;
    if (srv->npend == srv->pend_cap) {
        srv->pend_cap = srv->pend_cap ? srv->pend_cap * 2 : 64;
        srv->pend = mp_realloc(srv->pend, srv->pend_cap * sizeof(*srv->pend));
    }
    srv->pend[srv->npend++] = c;
    c->pend_idx = (uint32_t)srv->npend;
}

mp_server_t *mp_server_new(uv_loop_t *loop, const mp_config_t *cfg, const mp_route_t *routes,
                           const mp_server_hooks_t *hooks, void *ctx)
{
    mp_server_t *srv = mp_calloc(1, sizeof(*srv));
    srv->loop = loop;
    srv->loop_thread = uv_thread_self();
    srv->cfg = cfg;
    srv->routes = routes;
    for (const mp_route_t *r = routes; r && r->method; r++)
        srv->stream_routes |= (r->flags & MP_ROUTE_BODY_STREAM) != 0;
    if (hooks)
        srv->hooks = *hooks;
    srv->ctx = ctx;
    srv->rid_salt = (uint32_t)((uintptr_t)srv >> 4) ^ (uint32_t)uv_hrtime();
    srv->rbuf = mp_malloc(MP_NET_RBUF);
    mp_sidmap_init(&srv->sids);
    mp_caps__init(srv);
    mp_deadline__init(srv);
    /* Prepare handles run just before the loop polls, after timers and I/O
     * callbacks: everything queued meanwhile leaves in one write. */
    uv_prepare_init(loop, &srv->flusher);
    srv->flusher.data = srv;
    uv_prepare_start(&srv->flusher, on_prepare);
    uv_unref((uv_handle_t *)&srv->flusher);
    srv->nhandles = 2; /* the timer and the prepare handle */
    /* libuv counts the time its poll waits once asked to (it may be asked
     * again by another server on the same loop): the rest is busy time. */
    srv->idle_known = uv_loop_configure(loop, UV_METRICS_IDLE_TIME) == 0;
    srv->born_ns = uv_hrtime();
    srv->idle0_ns = srv->idle_known ? uv_metrics_idle_time(loop) : 0;
    return srv;
}

double mp_server_loop_busy_seconds(const mp_server_t *srv)
{
    if (!srv->idle_known)
        return -1;
    uint64_t gone = uv_hrtime() - srv->born_ns;
    uint64_t idle = uv_metrics_idle_time(srv->loop) - srv->idle0_ns;
    return idle < gone ? (double)(gone - idle) / 1e9 : 0;
}

bool mp_server_on_loop(const mp_server_t *srv)
{
    uv_thread_t self = uv_thread_self();
    return uv_thread_equal(&self, &srv->loop_thread) != 0;
}

void mp_conn__init(mp_server_t *srv, mp_conn_t *c)
{
    c->srv = srv;
    c->tcp.data = c;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    mp_http__conn_init(c);
}

static void conn_unlink(mp_conn_t *c)
{
    mp_server_t *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    srv->nconns--;
}

void mp_conn__release(mp_conn_t *c)
{
    MP_NET_ASSERT_LOOP(c->srv);
    MP_ASSERT(!(c->flags & MP_C_RELEASED));
    c->flags |= MP_C_RELEASED;
    if (c->pend_idx) {
        c->srv->pend[c->pend_idx - 1] = NULL;
        c->pend_idx = 0;
    }
    if (c->ws)
        mp_ws__release(c);
    mp_http__conn_free(c);
    mp_tls__conn_free(c);
    mp_caps__conn_gone(c);
    if (c->prev || c->next || c->srv->conns == c)
        conn_unlink(c);
}

static void on_close(uv_handle_t *h)
{
    mp_conn_t *c = h->data;
    mp_server_t *srv = c->srv;
    mp_conn__release(c);
    mp_free(c);
    srv->nsockets--;
    if (srv->shutting_down && srv->nsockets == 0)
        close_timers(srv);
    handle_closed(srv);
}

void mp_conn__out_add(mp_conn_t *c, size_t n)
{
    if (c->flags & MP_C_CLOSED)
        return;
    c->obytes += n;
    c->srv->out_total += n;
}

void mp_conn__out_sub(mp_conn_t *c, size_t n)
{
    if (c->flags & MP_C_CLOSED)
        return;
    assert(c->obytes >= n && c->srv->out_total >= n);
    c->obytes -= n;
    c->srv->out_total -= n;
}

bool mp_conn__over_budget(const mp_conn_t *c)
{
    return c->obytes > 0 && c->srv->out_total > c->srv->cfg->max_output_total;
}

void mp_conn__close(mp_conn_t *c)
{
    if (c->flags & MP_C_CLOSED)
        return;
    c->flags |= MP_C_CLOSED;
    /* Whatever is still held is freed with the connection, not sent. */
    c->srv->out_total -= c->obytes;
    c->obytes = 0;
    mp_deadline__set(c, MP_T_NONE);
    if (c->ws)
        mp_ws__closed(c);
    mp_http__conn_release(c);
    if (c->flags & MP_C_FAKE)
        return;
    uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void ws_input(mp_conn_t *c);

static void on_write(uv_write_t *req, int status)
{
    mp_wr_t *w = (mp_wr_t *)req;
    mp_conn_t *c = req->handle->data;
    mp_conn_wdone_fn done = w->done;
    void *arg = w->arg;
    size_t len = w->len;
    mp_free(w->owned);
    mp_free(w);
    mp_conn__wrote(c, done, arg, len, status);
}

void mp_conn__wrote(mp_conn_t *c, mp_conn_wdone_fn done, void *arg, size_t len, int status)
{
    c->nwrites--;
    mp_conn__out_sub(c, len);
    done(c, arg);
    if (status < 0) {
        mp_conn__close(c);
        return;
    }
    if (c->flags & MP_C_CLOSED)
        return;
    /* The peer is reading: that is activity, and may end back-pressure. */
    if (c->tkind == MP_T_IDLE)
        mp_deadline__set(c, MP_T_IDLE);
    if (c->ws) {
        ws_input(c);
    } else {
        mp_http__stream_drained(c);
        if (c->flags & MP_C_CLOSED)
            return;
        mp_http__resume(c);
    }
    mp_conn__maybe_finish(c);
}

mp_net_fake_ops_t mp_net__fake_ops;

/* Hands bufs (len bytes are counted for them: see mp_conn__write_rest) to
 * the socket (or a fake's capture); owned, if not NULL, is freed once they
 * are written. */
static void send_bufs_len(mp_conn_t *c, const uv_buf_t *bufs, unsigned n, size_t len,
                          mp_conn_wdone_fn done, void *arg, char *owned)
{
    if (c->flags & MP_C_CLOSED) {
        mp_free(owned);
        done(c, arg);
        return;
    }
    if (c->flags & MP_C_FAKE) {
        size_t got = mp_net__fake_ops.capture(c, bufs, n);
        mp_free(owned); /* captured: a copy */
        if (!mp_net__fake_ops.hold(c, done, arg, got)) {
            done(c, arg);
            return;
        }
        c->nwrites++;
        mp_conn__out_add(c, got);
        return;
    }
    mp_wr_t *w = mp_malloc(sizeof(*w));
    w->done = done;
    w->arg = arg;
    w->owned = owned;
    w->len = len;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, bufs, n, on_write) < 0) {
        mp_free(w->owned);
        mp_free(w);
        done(c, arg);
        mp_conn__close(c);
        return;
    }
    c->nwrites++;
    mp_conn__out_add(c, w->len);
}

static void send_bufs(mp_conn_t *c, const uv_buf_t *bufs, unsigned n, mp_conn_wdone_fn done,
                      void *arg, char *owned)
{
    size_t len = 0;
    for (unsigned i = 0; i < n; i++)
        len += bufs[i].len;
    send_bufs_len(c, bufs, n, len, done, arg, owned);
}

/* A write of len bytes that an I/O thread made whole: it is over now, as
 * on_write would say on the next turn. Nothing of c is queued in libuv, so
 * nothing can come between. */
static void wrote_now(mp_conn_t *c, size_t len, mp_conn_wdone_fn done, void *arg)
{
    if (c->flags & MP_C_CLOSED) {
        done(c, arg);
        return;
    }
    c->nwrites++;
    mp_conn__out_add(c, len);
    mp_conn__wrote(c, done, arg, len, 0);
}

void mp_conn__write_rest(mp_conn_t *c, uv_buf_t *bufs, unsigned n, size_t len, size_t written,
                         mp_conn_wdone_fn done, void *arg)
{
    MP_NET_ASSERT_LOOP(c->srv);
    assert(c->tls == NULL && !(c->flags & MP_C_FAKE) && c->nwrites == 0);
    assert(written <= len);
    unsigned i = 0;
    while (i < n && written >= bufs[i].len)
        written -= bufs[i++].len;
    if (i == n) {
        wrote_now(c, len, done, arg);
        return;
    }
    bufs[i].base += written;
    bufs[i].len -= written;
    send_bufs_len(c, bufs + i, n - i, len, done, arg, NULL);
}

void mp_conn__send_owned_rest(mp_conn_t *c, char *buf, size_t len, size_t written,
                              mp_conn_wdone_fn done, void *arg)
{
    MP_NET_ASSERT_LOOP(c->srv);
    assert(!(c->flags & MP_C_FAKE) && c->nwrites == 0 && written <= len);
    if (written < len) {
        uv_buf_t b = uv_buf_init(buf + written, (unsigned)(len - written));
        send_bufs_len(c, &b, 1, len, done, arg, buf);
        return;
    }
    mp_free(buf);
    wrote_now(c, len, done, arg);
}

void mp_conn__write(mp_conn_t *c, const uv_buf_t *bufs, unsigned n, mp_conn_wdone_fn done,
                    void *arg)
{
    MP_NET_ASSERT_LOOP(c->srv);
    if (c->tls && !(c->flags & MP_C_CLOSED))
        mp_tls__write(c, bufs, n, done, arg); /* encrypts, then mp_conn__send_owned */
    else
        send_bufs(c, bufs, n, done, arg, NULL);
}

void mp_conn__send_owned(mp_conn_t *c, char *buf, size_t len, mp_conn_wdone_fn done, void *arg)
{
    uv_buf_t b = uv_buf_init(buf, (unsigned)len);
    send_bufs(c, &b, 1, done, arg, buf);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    mp_conn_t *c = req->handle->data;
    mp_free(req);
    /* The peer already left, or the socket failed: nothing more to wait for. */
    if (status < 0 || (c->flags & MP_C_EOF))
        mp_conn__close(c);
}

void mp_conn__maybe_finish(mp_conn_t *c)
{
    if (!(c->flags & MP_C_DRAIN) || (c->flags & (MP_C_CLOSED | MP_C_SHUT)))
        return;
    if (c->nwrites > 0 || (c->ws ? !mp_ws__idle(c) : c->http->head != NULL))
        return;
    c->flags |= MP_C_SHUT;
    /* Half-close and keep reading (discarding) until EOF: closing with
     * unread input would send a RST that can destroy the reply in flight. */
    if (c->tkind != MP_T_CLOSING)
        mp_deadline__set(c, MP_T_CLOSING);
    if (c->tls)
        mp_tls__shutdown(c);
    if (c->flags & (MP_C_FAKE | MP_C_CLOSED))
        return;
    uv_shutdown_t *sr = mp_malloc(sizeof(*sr));
    if (uv_shutdown(sr, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        mp_free(sr);
        mp_conn__close(c);
    }
}

void mp_conn__drain(mp_conn_t *c)
{
    c->flags |= MP_C_DRAIN;
    if (c->flags & MP_C_PAUSED)
        mp_conn__pause(c, false);
    mp_conn__maybe_finish(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    /* One buffer per server: read_cb consumes it before the next alloc_cb,
     * so an idle connection holds no read buffer. */
    mp_conn_t *c = h->data;
    buf->base = c->srv->rbuf;
    buf->len = MP_NET_RBUF;
}

void mp_conn__eof(mp_conn_t *c)
{
    c->flags |= MP_C_EOF;
    if (!(c->flags & MP_C_FAKE))
        uv_read_stop((uv_stream_t *)&c->tcp);
    /* A streamed body cut short: its consumer is told (MP_BODY_ABORT). */
    mp_http_req_t *s = c->http ? c->http->sreq : NULL;
    if (s && (s->bstate == MP_B_WAIT || s->bstate == MP_B_RECV)) {
        mp_conn__close(c);
        return;
    }
    /* A client may half-close after its last request: answer it first. */
    if (!c->ws && c->http->head && !(c->flags & MP_C_SHUT)) {
        mp_conn__drain(c);
        return;
    }
    mp_conn__close(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    mp_conn_t *c = s->data;
    if (nread == 0 || (c->flags & MP_C_CLOSED))
        return;
    if (nread == UV_EOF) {
        mp_conn__eof(c);
        return;
    }
    if (nread < 0) {
        mp_conn__close(c);
        return;
    }
    if (c->tls)
        mp_tls__received(c, buf->base, (size_t)nread); /* plaintext: mp_conn__input */
    else
        mp_conn__input(c, buf->base, (size_t)nread);
}

void mp_conn__input(mp_conn_t *c, const char *data, size_t len)
{
    if (c->ws) {
        mp_ws__feed(c, (const uint8_t *)data, len);
        ws_input(c);
    } else if (!(c->flags & (MP_C_SHUT | MP_C_DRAIN))) {
        mp_http__feed(c, data, len);
    }
}

/* A WebSocket is not read while the server is over its output budget and
 * holds output for it: its requests would only add more. Its own writes
 * completing (the peer reading) resume it; a peer that reads nothing stops
 * answering pings too, and the ping deadline closes it. */
static void ws_input(mp_conn_t *c)
{
    if (c->flags & (MP_C_CLOSED | MP_C_DRAIN))
        return;
    bool over = mp_conn__over_budget(c);
    if (over != !!(c->flags & MP_C_PAUSED))
        mp_conn__pause(c, over);
}

void mp_conn__pause(mp_conn_t *c, bool paused)
{
    if (paused == !!(c->flags & MP_C_PAUSED))
        return;
    if (paused)
        c->flags |= MP_C_PAUSED;
    else
        c->flags &= (uint16_t)~MP_C_PAUSED;
    if (c->flags & (MP_C_FAKE | MP_C_CLOSED | MP_C_EOF))
        return;
    if (paused)
        uv_read_stop((uv_stream_t *)&c->tcp);
    else
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_connection(uv_stream_t *server, int status)
{
    mp_server_t *srv = server->data;
    if (status < 0 || srv->shutting_down) {
        mp_log_warn("net: accept failed: %s", uv_strerror(status));
        return;
    }
    mp_conn_t *c = mp_calloc(1, sizeof(*c));
    uv_tcp_init(srv->loop, &c->tcp);
    srv->nhandles++;
    srv->nsockets++;
    mp_conn__init(srv, c);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        mp_conn__close(c);
        return;
    }
    if (!mp_caps__admit(c))
        return;
    uv_tcp_nodelay(&c->tcp, 1);
    if (srv->tls_ctx != NULL) {
        if (!mp_tls__conn_new(c, srv->tls_ctx)) {
            mp_conn__close(c);
            return;
        }
        /* The handshake must be over within the time a request's head has. */
        mp_deadline__set(c, MP_T_HEADER);
    } else {
        mp_deadline__set(c, MP_T_IDLE);
    }
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        mp_conn__close(c);
}

static int resolve(const char *host, int port, struct sockaddr_storage *ss)
{
    if (host[0] == '\0' || strcmp(host, "*") == 0)
        host = "0.0.0.0";
    else if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0)
        return 0;
    return uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss);
}

int mp_server_listen(mp_server_t *srv, int *port_out)
{
    /* A peer that vanishes mid-write must cost an EPIPE, not the process. */
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_storage ss;
    int rc = resolve(srv->cfg->listen_host, srv->cfg->listen_port, &ss);
    if (rc < 0)
        return rc;
    mp_caps__fit_fd_limit(srv);
    if (!srv->listener_init) {
        uv_tcp_init(srv->loop, &srv->listener);
        srv->listener.data = srv;
        srv->listener_init = true;
        srv->nhandles++;
    }
    /* libuv sets SO_REUSEADDR on every TCP bind on Unix. */
    rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection);
    if (rc < 0)
        return rc;
    int len = sizeof(ss);
    rc = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len);
    if (rc < 0)
        return rc;
    if (port_out)
        *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

void mp_server_shutdown(mp_server_t *srv, void (*done)(void *arg), void *arg)
{
    if (srv->shutting_down)
        return;
    srv->shutting_down = true;
    srv->done = done;
    srv->done_arg = arg;
    if (srv->listener_init)
        uv_close((uv_handle_t *)&srv->listener, on_handle_closed);
    /* WebSockets are told why they go (1001) and get MP_NET_CLOSE_MS, the
     * closing deadline, to receive it; HTTP connections close now. Their
     * handlers still answer into a request whose connection is gone. */
    for (mp_conn_t *c = srv->conns; c; c = c->next) {
        if (c->ws && !(c->flags & (MP_C_CLOSED | MP_C_FAKE)))
            mp_ws__fail(c, 1001, "going away");
        else
            mp_conn__close(c);
    }
    if (srv->nsockets == 0)
        close_timers(srv);
}

void mp_server_free(mp_server_t *srv)
{
    if (srv == NULL)
        return;
    mp_sidmap_free(&srv->sids);
    mp_caps__free(srv);
    mp_free(srv->pend);
    mp_ws__io_free(srv);
    mp_free(srv->rbuf);
    mp_free(srv->tls_plain);
    if (srv->tls_ctx)
        mp_tls__ctx_free(srv->tls_ctx);
    mp_free(srv);
}

size_t mp_server_connections(const mp_server_t *srv)
{
    return srv->nconns;
}

void mp_conn__peer(mp_conn_t *c, char *out, size_t len)
{
    struct sockaddr_storage ss;
    int n = sizeof(ss);
    snprintf(out, len, "?");
    if ((c->flags & MP_C_FAKE) || uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &n) != 0)
        return;
    if (ss.ss_family == AF_INET)
        uv_ip4_name((struct sockaddr_in *)&ss, out, len);
    else if (ss.ss_family == AF_INET6)
        uv_ip6_name((struct sockaddr_in6 *)&ss, out, len);
}

void mp_server_set_fallback(mp_server_t *srv, mp_http_handler_fn fn, void *mod)
{
    srv->fallback = fn;
    srv->fallback_mod = mod;
}

void mp_server_set_route_mods(mp_server_t *srv, void *const *mods)
{
    srv->route_mods = mods;
}

void mp_server_set_metrics_only(mp_server_t *srv)
{
    srv->metrics_only = true;
}

uint64_t mp_conn__peer_key(mp_conn_t *c)
{
    return c->ip_key; /* computed once at accept (mp_caps__admit) */
}

int mp_server_tls_load(mp_server_t *srv, char *err, size_t errlen)
{
    MP_NET_ASSERT_LOOP(srv);
    struct ssl_ctx_st *ctx = mp_tls__ctx_load(srv->cfg->tls_cert, srv->cfg->tls_key, err, errlen);
    if (ctx == NULL)
        return -1;
    /* Open connections hold a reference to the context they began with. */
    if (srv->tls_ctx)
        mp_tls__ctx_free(srv->tls_ctx);
    srv->tls_ctx = ctx;
    return 0;
}

void mp_server_set_https_redirect(mp_server_t *srv, int https_port)
{
    srv->https_redirect = https_port;
}
