/* Blocking layer: a non-blocking TCP socket driven with poll() deadlines,
 * plus HTTP request/response over it (TLS, when asked for, is in tls.c). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include "client/client.h"
#include "client/conn_internal.h"

int64_t mpc__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline (>= 0). */
static int left_ms(int64_t deadline)
{
    int64_t d = deadline - mpc__now_ms();
    return d > 0 ? (int)d : 0;
}

/* Waits for events on fd until deadline: 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = events};
        int rc = poll(&pfd, 1, left_ms(deadline));
        if (rc > 0)
            return 1;
        if (rc == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* Binds fd to the numeric address source (port chosen by the kernel). */
static int bind_source(int fd, int family, const char *source)
{
    struct addrinfo hints = {.ai_family = family, .ai_flags = AI_NUMERICHOST}, *res = NULL;
    if (getaddrinfo(source, NULL, &hints, &res) != 0)
        return -1;
    int rc = bind(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return rc;
}

/* A connected non-blocking socket, or -1 with the errno value in *why. */
static int connect_one(const struct addrinfo *ai, const char *source, int64_t deadline, int *why)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        *why = errno;
        return -1;
    }
    if (source && bind_source(fd, ai->ai_family, source) < 0) {
        *why = errno ? errno : EADDRNOTAVAIL;
        close(fd);
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        int err = 0, w = 0;
        socklen_t elen = sizeof err;
        if (errno != EINPROGRESS)
            err = errno;
        else if ((w = wait_fd(fd, POLLOUT, deadline)) != 1)
            err = w == 0 ? ETIMEDOUT : errno;
        else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
            err = errno;
        if (err != 0) {
            *why = err;
            close(fd);
            return -1;
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

mpc_conn_t *mpc_connect(const char *host, int port, int timeout_ms)
{
    return mpc_connect_ex(host, port, NULL, timeout_ms, NULL, 0);
}

mpc_conn_t *mpc_connect_from(const char *host, int port, const char *source, int timeout_ms)
{
    mpc_connect_opts_t o = {.source = source};
    return mpc_connect_ex(host, port, &o, timeout_ms, NULL, 0);
}

mpc_conn_t *mpc_connect_ex(const char *host, int port, const mpc_connect_opts_t *o, int timeout_ms,
                           char *err, size_t errlen)
{
    static const mpc_connect_opts_t plain = {0};
    int64_t deadline = mpc__now_ms() + timeout_ms;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char portstr[16], scratch[8];
    int fd = -1, why = 0;

    if (!o)
        o = &plain;
    if (!err) {
        err = scratch;
        errlen = sizeof scratch;
    }
    snprintf(portstr, sizeof portstr, "%d", port);
    int gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
        return NULL;
    }
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
        fd = connect_one(ai, o->source, deadline, &why);
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(why));
        return NULL;
    }

    mpc_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->fd = fd;
    if (strchr(host, ':'))
        snprintf(c->hostport, sizeof c->hostport, "[%s]:%d", host, port);
    else
        snprintf(c->hostport, sizeof c->hostport, "%s:%d", host, port);
    if (o->tls && mpc__tls_handshake(c, host, deadline, err, errlen) != MPC_OK) {
        mpc_conn_free(c);
        return NULL;
    }
    return c;
}

void mpc_conn_free(mpc_conn_t *c)
{
    if (!c)
        return;
    /* No close_notify: every exchange here is framed (Content-Length, a
     * WebSocket close), so there is nothing to protect from truncation, and
     * waiting for the peer's reply could only delay the caller. */
    SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    free(c->rbuf);
    free(c);
}

const char *mpc_conn_hostport(const mpc_conn_t *c)
{
    return c->hostport;
}

int mpc_conn_fd(const mpc_conn_t *c)
{
    return c->fd;
}

int mpc__send_until(mpc_conn_t *c, const void *data, size_t len, int64_t deadline)
{
    if (c->ssl)
        return mpc__tls_send(c, data, len, deadline);
    return mpc__send_fd(c, data, len, deadline);
}

int mpc__send_fd(mpc_conn_t *c, const void *data, size_t len, int64_t deadline)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int w = wait_fd(c->fd, POLLOUT, deadline);
            if (w == 0)
                return MPC_ERR_TIMEOUT;
            if (w < 0)
                return MPC_ERR_IO;
            continue;
        }
        return (errno == EPIPE || errno == ECONNRESET) ? MPC_ERR_CLOSED : MPC_ERR_IO;
    }
    return MPC_OK;
}

int mpc_send_raw(mpc_conn_t *c, const void *data, size_t len, int timeout_ms)
{
    return mpc__send_until(c, data, len, mpc__now_ms() + timeout_ms);
}

void mpc__reserve(mpc_conn_t *c)
{
    if (c->rcap - c->rlen < 16384) {
        c->rcap = c->rcap ? c->rcap * 2 : 65536;
        c->rbuf = realloc(c->rbuf, c->rcap);
        if (!c->rbuf)
            abort();
    }
}

long mpc__fill(mpc_conn_t *c, int64_t deadline)
{
    if (c->ssl)
        return mpc__tls_fill(c, deadline);
    mpc__reserve(c);
    long n = mpc__recv_fd(c, c->rbuf + c->rlen, c->rcap - c->rlen, deadline);
    if (n > 0)
        c->rlen += (size_t)n;
    return n;
}

long mpc__recv_fd(mpc_conn_t *c, void *buf, size_t cap, int64_t deadline)
{
    for (;;) {
        ssize_t n = recv(c->fd, buf, cap, 0);
        if (n > 0)
            return n;
        if (n == 0)
            return MPC_ERR_CLOSED;
        if (errno == EINTR)
            continue;
        if (errno == ECONNRESET)
            return MPC_ERR_CLOSED;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return MPC_ERR_IO;
        int w = wait_fd(c->fd, POLLIN, deadline);
        if (w == 0)
            return MPC_ERR_TIMEOUT;
        if (w < 0)
            return MPC_ERR_IO;
    }
}

void mpc__consume(mpc_conn_t *c, size_t n)
{
    if (n == 0)
        return;
    memmove(c->rbuf, c->rbuf + n, c->rlen - n);
    c->rlen -= n;
}

long mpc_recv_raw(mpc_conn_t *c, void *buf, size_t cap, int timeout_ms)
{
    if (c->rlen == 0) {
        long rc = mpc__fill(c, mpc__now_ms() + timeout_ms);
        if (rc < 0)
            return rc;
    }
    size_t n = c->rlen < cap ? c->rlen : cap;
    memcpy(buf, c->rbuf, n);
    mpc__consume(c, n);
    return (long)n;
}

int mpc_wait_closed(mpc_conn_t *c, int timeout_ms)
{
    int64_t deadline = mpc__now_ms() + timeout_ms;
    for (;;) {
        c->rlen = 0;
        long rc = mpc__fill(c, deadline);
        if (rc == MPC_ERR_CLOSED || rc == MPC_ERR_IO)
            return MPC_OK;
        if (rc == MPC_ERR_TIMEOUT)
            return MPC_ERR_TIMEOUT;
    }
}

int mpc__read_response(mpc_conn_t *c, bool head_only, mpc_response_t *out, int64_t deadline)
{
    mpc_http_parser_t *p = mpc_http_parser_new(head_only);
    int rc = MPC_ERR_PROTO;

    memset(out, 0, sizeof *out);
    for (;;) {
        size_t used = 0;
        int st = mpc_http_parser_feed(p, c->rbuf ? c->rbuf : "", c->rlen, &used);
        mpc__consume(c, used);
        if (st == MPC_PARSE_DONE)
            break;
        if (st == MPC_PARSE_ERROR)
            goto done;
        long n = mpc__fill(c, deadline);
        if (n == MPC_ERR_CLOSED) {
            if (mpc_http_parser_eof(p) == MPC_PARSE_DONE)
                break;
            rc = MPC_ERR_CLOSED;
            goto done;
        }
        if (n < 0) {
            rc = (int)n;
            goto done;
        }
    }
    mpc_http_parser_take(p, out);
    rc = MPC_OK;
done:
    mpc_http_parser_free(p);
    return rc;
}

int mpc_http_read_response(mpc_conn_t *c, mpc_response_t *out, int timeout_ms)
{
    return mpc__read_response(c, false, out, mpc__now_ms() + timeout_ms);
}

int mpc_http_send(mpc_conn_t *c, const mpc_http_req_t *req, mpc_response_t *out, int timeout_ms)
{
    int64_t deadline = mpc__now_ms() + timeout_ms;
    mpc_http_req_t r = *req;
    size_t len;

    memset(out, 0, sizeof *out);
    if (!r.host)
        r.host = c->hostport;
    char *bytes = mpc_http_build(&r, &len);
    int rc = mpc__send_until(c, bytes, len, deadline);
    free(bytes);
    if (rc != MPC_OK)
        return rc;
    return mpc__read_response(c, strcmp(r.method, "HEAD") == 0, out, deadline);
}

int mpc_http_request(mpc_conn_t *c, const char *method, const char *path, const char *token,
                     json_t *body, mpc_response_t *out, int timeout_ms)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    mpc_http_req_t req = {
        .method = method,
        .path = path,
        .token = token,
        .body = text,
        .body_len = text ? strlen(text) : 0,
    };
    if (body && !text)
        return MPC_ERR_PROTO;
    int rc = mpc_http_send(c, &req, out, timeout_ms);
    free(text);
    return rc;
}
