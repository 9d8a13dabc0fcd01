/* Asynchronous WebSocket client connection for the load generator (conn.h).
 * Handshake state lives in a side struct freed once the upgrade is done, and
 * reads share one buffer, so an idle open connection is the uv_tcp_t plus a
 * few words (and, over TLS, its SSL object). */
#include "bench/conn.h"

#include <assert.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "util/alloc.h"

#define MAX_MESSAGE (4u << 20)

/* ST_TLS: the TLS handshake (wss:// only); ST_HANDSHAKE: the HTTP upgrade. */
enum { ST_CONNECTING, ST_TLS, ST_HANDSHAKE, ST_OPEN, ST_CLOSING };

typedef struct handshake {
    uv_connect_t creq;
    uv_write_t wreq;
    char *req; /* from mpc_ws_build_handshake (malloc) */
    size_t req_len;
    mpc_http_parser_t *hp;
    char accept[29];
} handshake_t;

struct mp_bench_conn {
    uv_tcp_t tcp;
    SSL *ssl; /* NULL in the clear; else between the socket and everything below */
    const mp_bench_conn_cbs_t *cbs;
    void *ud;
    handshake_t *hs; /* until open */
    char *why;       /* failure reason, reported in on_close */
    uint8_t *pend;   /* bytes of an incomplete frame */
    size_t pend_len;
    uint8_t *frag; /* payload of a fragmented message so far */
    size_t frag_len;
    uint8_t frag_op;
    uint8_t state;
    bool opened;
    bool out_listed; /* on out_list */
    uint8_t *out;    /* encoded frames not yet written */
    size_t out_len, out_cap;
    mp_bench_conn_t *out_next;
};

typedef struct wreq {
    uv_write_t req;
    uint8_t *buf; /* malloc'd by the client library's encoder */
} wreq_t;

/* One read buffer per process (and loop): read_cb consumes it completely
 * before libuv asks for the next one. */
static _Thread_local char rbuf[1 << 16];
/* The same for plaintext out of SSL_read (wss://). */
static _Thread_local char pbuf[1 << 16];

/* Output coalescing: while read callbacks run (in_read > 0), sends only
 * append to the connection's out buffer and list it; the outermost read
 * callback writes every listed connection's frames with one syscall each. */
static _Thread_local int in_read;
static _Thread_local mp_bench_conn_t *out_list;

/* Masking keys (RFC 6455 5.3) from a xorshift generator seeded once from the
 * OS: the masks of a load generator need not resist prediction, and asking
 * the OS or OpenSSL per frame cost a tenth of the client's CPU. */
static _Thread_local uint64_t mask_state;

static uint32_t next_mask(void)
{
    if (mask_state == 0 &&
        (uv_random(NULL, NULL, &mask_state, sizeof mask_state, 0, NULL) != 0 || mask_state == 0))
        mask_state = uv_hrtime() | 1;
    mask_state ^= mask_state << 13;
    mask_state ^= mask_state >> 7;
    mask_state ^= mask_state << 17;
    return (uint32_t)(mask_state >> 16);
}

static void close_cb(uv_handle_t *h)
{
    mp_bench_conn_t *c = h->data;
    c->cbs->on_close(c, c->opened, c->why);
    SSL_free(c->ssl);
    if (c->hs != NULL) {
        free(c->hs->req);
        mpc_http_parser_free(c->hs->hp);
        mp_free(c->hs);
    }
    mp_free(c->why);
    mp_free(c->out);
    mp_free(c->pend);
    mp_free(c->frag);
    mp_free(c);
}

static void conn_fail(mp_bench_conn_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void conn_fail(mp_bench_conn_t *c, const char *fmt, ...)
{
    if (c->state == ST_CLOSING)
        return;
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->why = mp_strdup(msg);
    c->state = ST_CLOSING;
    uv_close((uv_handle_t *)&c->tcp, close_cb);
}

void mp_bench_conn_close(mp_bench_conn_t *c)
{
    if (c->state == ST_CLOSING)
        return;
    c->state = ST_CLOSING;
    uv_close((uv_handle_t *)&c->tcp, close_cb);
}

void *mp_bench_conn_ud(const mp_bench_conn_t *c)
{
    return c->ud;
}

int mp_bench_conn_is_open(const mp_bench_conn_t *c)
{
    return c->state == ST_OPEN;
}

size_t mp_bench_conn_size(void)
{
    return sizeof(mp_bench_conn_t);
}

static void write_cb(uv_write_t *req, int status)
{
    wreq_t *w = (wreq_t *)req;
    mp_bench_conn_t *c = req->handle->data;
    mp_free(w->buf);
    mp_free(w);
    if (status < 0 && status != UV_ECANCELED)
        conn_fail(c, "write: %s", uv_strerror(status));
}

static void conn_fail_tls(mp_bench_conn_t *c, int ret)
{
    char why[160];
    mpc_tls_describe(c->ssl, ret, why, sizeof(why));
    conn_fail(c, "%s", why);
}

/* Writes the ciphertext SSL left in its write BIO: directly when the socket
 * takes it all, else the rest is copied to a uv_write (the BIO is emptied
 * either way). As in flush_out, uv_try_write keeps the order. */
static void flush_wbio(mp_bench_conn_t *c)
{
    BIO *wbio = SSL_get_wbio(c->ssl);
    char *data;
    long len = BIO_get_mem_data(wbio, &data);
    if (len <= 0)
        return;
    uv_buf_t b = uv_buf_init(data, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    int rc = n < 0 && n != UV_EAGAIN ? n : 0;
    size_t off = n > 0 ? (size_t)n : 0;
    if (rc == 0 && off < (size_t)len) {
        wreq_t *w = mp_malloc(sizeof(*w));
        w->buf = mp_malloc((size_t)len - off);
        memcpy(w->buf, data + off, (size_t)len - off);
        b = uv_buf_init((char *)w->buf, (unsigned)((size_t)len - off));
        rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, write_cb);
        if (rc != 0) {
            mp_free(w->buf);
            mp_free(w);
        }
    }
    (void)BIO_reset(wbio);
    if (rc != 0)
        conn_fail(c, "write: %s", uv_strerror(rc));
}

/* Memory BIOs never shrink: after a burst, an empty one past 16 KiB is
 * replaced, so that an idle connection keeps none of the burst's buffers. */
static void trim_bios(mp_bench_conn_t *c)
{
    BIO *r = SSL_get_rbio(c->ssl), *w = SSL_get_wbio(c->ssl), *fresh;
    BUF_MEM *m;
    if (BIO_ctrl_pending(r) == 0 && BIO_get_mem_ptr(r, &m) == 1 && m->max > 16384 &&
        (fresh = BIO_new(BIO_s_mem())) != NULL) {
        BIO_set_mem_eof_return(fresh, -1); /* as mpc_tls_new's: empty = wait */
        SSL_set0_rbio(c->ssl, fresh);
    }
    if (BIO_ctrl_pending(w) == 0 && BIO_get_mem_ptr(w, &m) == 1 && m->max > 16384 &&
        (fresh = BIO_new(BIO_s_mem())) != NULL)
        SSL_set0_wbio(c->ssl, fresh);
}

/* flush_out over TLS: the coalesced frames become one SSL_write (records of
 * up to 16 KiB) and one write to the socket; the out buffer is kept. */
static void flush_tls(mp_bench_conn_t *c)
{
    assert(c->state == ST_OPEN); /* frames are only sent on an open connection */
    int n = SSL_write(c->ssl, c->out, (int)c->out_len);
    c->out_len = 0;
    if (n <= 0) {
        conn_fail_tls(c, n);
        return;
    }
    flush_wbio(c);
    if (c->state != ST_CLOSING)
        trim_bios(c);
}

/* Writes the out buffer: directly when the socket takes it all (one syscall,
 * the buffer is kept for the next frames), else the rest is handed to a
 * uv_write with the buffer. uv_try_write refuses while earlier writes are
 * queued, so bytes never overtake each other. */
static void flush_out(mp_bench_conn_t *c)
{
    if (c->out_len == 0)
        return;
    if (c->ssl != NULL) {
        flush_tls(c);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)c->out, (unsigned)c->out_len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == (int)c->out_len) {
        c->out_len = 0;
        return;
    }
    if (n < 0 && n != UV_EAGAIN) {
        c->out_len = 0;
        conn_fail(c, "write: %s", uv_strerror(n));
        return;
    }
    size_t off = n > 0 ? (size_t)n : 0;
    wreq_t *w = mp_malloc(sizeof(*w));
    w->buf = c->out;
    b = uv_buf_init((char *)c->out + off, (unsigned)(c->out_len - off));
    c->out = NULL;
    c->out_len = c->out_cap = 0;
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, write_cb);
    if (rc != 0) {
        mp_free(w->buf);
        mp_free(w);
        conn_fail(c, "write: %s", uv_strerror(rc));
    }
}

static void flush_listed(void)
{
    while (out_list != NULL) {
        mp_bench_conn_t *c = out_list;
        out_list = c->out_next;
        c->out_next = NULL;
        c->out_listed = false;
        if (c->state == ST_OPEN)
            flush_out(c);
        else
            c->out_len = 0;
    }
}

/* Appends one masked frame (client frames are always masked) to c->out. */
static void encode_frame(mp_bench_conn_t *c, int opcode, const void *data, size_t len)
{
    if (c->out_len + len + 14 > c->out_cap) {
        size_t cap = c->out_cap ? 2 * c->out_cap : 512;
        while (cap < c->out_len + len + 14)
            cap *= 2;
        c->out = mp_realloc(c->out, cap);
        c->out_cap = cap;
    }
    uint8_t *f = c->out + c->out_len;
    size_t n = 0;
    f[n++] = (uint8_t)(0x80 | (opcode & 0x0f));
    if (len < 126) {
        f[n++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        f[n++] = 0x80 | 126;
        f[n++] = (uint8_t)(len >> 8);
        f[n++] = (uint8_t)len;
    } else {
        f[n++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            f[n++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    uint32_t m = next_mask();
    uint8_t mask[4] = {(uint8_t)m, (uint8_t)(m >> 8), (uint8_t)(m >> 16), (uint8_t)(m >> 24)};
    memcpy(f + n, mask, 4);
    n += 4;
    const uint8_t *src = data;
    for (size_t i = 0; i < len; i++)
        f[n + i] = src[i] ^ mask[i & 3];
    c->out_len += n + len;
}

static void send_frame(mp_bench_conn_t *c, int opcode, const void *data, size_t len)
{
    encode_frame(c, opcode, data, len);
    if (in_read == 0) {
        flush_out(c);
    } else if (!c->out_listed) {
        c->out_listed = true;
        c->out_next = out_list;
        out_list = c;
    }
}

int mp_bench_conn_send(mp_bench_conn_t *c, const char *text, size_t len)
{
    if (c->state != ST_OPEN)
        return -1;
    send_frame(c, MPC_WS_TEXT, text, len);
    return 0;
}

static void deliver(mp_bench_conn_t *c, int opcode, const uint8_t *data, size_t len)
{
    if (opcode != MPC_WS_TEXT)
        return; /* the protocol is JSON text; binary is not ours to judge */
    if (c->cbs->on_text != NULL && c->cbs->on_text(c, (const char *)data, len))
        return;
    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, len, 0, &jerr);
    if (j == NULL) {
        conn_fail(c, "server sent a frame that is not JSON: %s", jerr.text);
        return;
    }
    c->cbs->on_frame(c, j);
    json_decref(j);
}

static void data_frame(mp_bench_conn_t *c, const mpc_ws_frame_t *f)
{
    bool cont = f->opcode == MPC_WS_CONT;
    if (cont != (c->frag_op != 0)) {
        conn_fail(c, "bad fragmentation from server");
        return;
    }
    if (!cont && f->fin) {
        deliver(c, f->opcode, f->payload, f->plen);
        return;
    }
    if (c->frag_len + f->plen > MAX_MESSAGE) {
        conn_fail(c, "message from server over %u bytes", MAX_MESSAGE);
        return;
    }
    if (!cont)
        c->frag_op = (uint8_t)f->opcode;
    c->frag = mp_realloc(c->frag, c->frag_len + f->plen);
    memcpy(c->frag + c->frag_len, f->payload, f->plen);
    c->frag_len += f->plen;
    if (!f->fin)
        return;
    uint8_t *msg = c->frag;
    size_t mlen = c->frag_len;
    int op = c->frag_op;
    c->frag = NULL;
    c->frag_len = 0;
    c->frag_op = 0;
    deliver(c, op, msg, mlen);
    mp_free(msg);
}

static void control_frame(mp_bench_conn_t *c, const mpc_ws_frame_t *f)
{
    if (!f->fin || f->plen > 125) {
        conn_fail(c, "bad control frame from server");
        return;
    }
    switch (f->opcode) {
    case MPC_WS_PING:
        send_frame(c, MPC_WS_PONG, f->payload, f->plen);
        break;
    case MPC_WS_PONG:
        break;
    case MPC_WS_CLOSE: {
        int code = f->plen >= 2 ? (f->payload[0] << 8) | f->payload[1] : 1005;
        int rlen = f->plen > 2 ? (int)f->plen - 2 : 0;
        conn_fail(c, "server closed: %d %.*s", code, rlen, (const char *)f->payload + 2);
        break;
    }
    default:
        conn_fail(c, "unknown opcode %d from server", f->opcode);
    }
}

static void ws_input(mp_bench_conn_t *c, uint8_t *data, size_t len)
{
    uint8_t *buf = data;
    size_t blen = len, off = 0;
    if (c->pend_len > 0) {
        c->pend = mp_realloc(c->pend, c->pend_len + len);
        memcpy(c->pend + c->pend_len, data, len);
        c->pend_len += len;
        buf = c->pend;
        blen = c->pend_len;
    }
    while (c->state == ST_OPEN && off < blen) {
        mpc_ws_frame_t f;
        long n = mpc_ws_decode(buf + off, blen - off, MAX_MESSAGE, &f);
        if (n == 0)
            break;
        if (n < 0) {
            conn_fail(c, "frame from server over %u bytes", MAX_MESSAGE);
            break;
        }
        off += (size_t)n;
        if (f.masked)
            conn_fail(c, "masked frame from server");
        else if (f.opcode >= 0x8)
            control_frame(c, &f);
        else if (f.opcode <= MPC_WS_BINARY)
            data_frame(c, &f);
        else
            conn_fail(c, "reserved opcode %d from server", f.opcode);
    }
    size_t rest = blen - off;
    if (c->state != ST_OPEN || rest == 0) {
        mp_free(c->pend);
        c->pend = NULL;
        c->pend_len = 0;
    } else if (buf == c->pend) {
        memmove(c->pend, c->pend + off, rest);
        c->pend_len = rest;
    } else {
        c->pend = mp_malloc(rest);
        memcpy(c->pend, buf + off, rest);
        c->pend_len = rest;
    }
}

/* Returns bytes of data consumed by the HTTP response, or -1 after conn_fail(). */
static long handshake_input(mp_bench_conn_t *c, const char *data, size_t len)
{
    handshake_t *hs = c->hs;
    size_t used = 0;
    int rc = mpc_http_parser_feed(hs->hp, data, len, &used);
    if (rc == MPC_PARSE_MORE)
        return (long)used;
    if (rc == MPC_PARSE_ERROR) {
        conn_fail(c, "malformed upgrade response");
        return -1;
    }
    mpc_response_t resp;
    mpc_http_parser_take(hs->hp, &resp);
    const char *acc = mpc_response_header(&resp, "Sec-WebSocket-Accept");
    if (resp.status != 101) {
        const char *code = mpc_response_error_code(&resp);
        conn_fail(c, "upgrade refused: http %d %s", resp.status, code ? code : "");
    } else if (acc == NULL || strcmp(acc, hs->accept) != 0) {
        conn_fail(c, "upgrade: wrong Sec-WebSocket-Accept");
    }
    mpc_response_free(&resp);
    if (c->state == ST_CLOSING)
        return -1;
    mpc_http_parser_free(hs->hp);
    mp_free(hs);
    c->hs = NULL;
    c->state = ST_OPEN;
    c->opened = true;
    c->cbs->on_open(c);
    return (long)used;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(rbuf, sizeof(rbuf));
}

/* Plaintext from the server, in the clear or out of SSL_read. */
static void plain_input(mp_bench_conn_t *c, char *data, size_t len)
{
    if (c->state == ST_HANDSHAKE) {
        long used = handshake_input(c, data, len);
        if (used < 0)
            return;
        data += used;
        len -= (size_t)used;
    }
    if (c->state == ST_OPEN && len > 0)
        ws_input(c, (uint8_t *)data, len);
}

/* Advances the TLS handshake; once it is done, sends the upgrade request. */
static void tls_handshake(mp_bench_conn_t *c)
{
    assert(c->state == ST_TLS && c->hs != NULL && c->hs->req != NULL);
    ERR_clear_error(); /* as in tls_input */
    int r = SSL_do_handshake(c->ssl);
    int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
    flush_wbio(c); /* the ClientHello, the Finished, or an alert explaining a refusal */
    if (c->state == ST_CLOSING || e == SSL_ERROR_WANT_READ)
        return;
    if (e != SSL_ERROR_NONE) {
        conn_fail_tls(c, r);
        return;
    }
    c->state = ST_HANDSHAKE;
    int n = SSL_write(c->ssl, c->hs->req, (int)c->hs->req_len);
    free(c->hs->req);
    c->hs->req = NULL;
    if (n <= 0) {
        conn_fail_tls(c, n);
        return;
    }
    flush_wbio(c);
}

/* Ciphertext from the server: into the read BIO, then every byte of
 * plaintext SSL can make of it into plain_input. */
static void tls_input(mp_bench_conn_t *c, const char *data, size_t len)
{
    if (BIO_write(SSL_get_rbio(c->ssl), data, (int)len) != (int)len) {
        conn_fail(c, "TLS: out of memory");
        return;
    }
    ERR_clear_error(); /* SSL_get_error below reads this thread's queue */
    if (c->state == ST_TLS)
        tls_handshake(c);
    while (c->state == ST_HANDSHAKE || c->state == ST_OPEN) {
        int n = SSL_read(c->ssl, pbuf, (int)sizeof(pbuf));
        if (n > 0) {
            plain_input(c, pbuf, (size_t)n);
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_ZERO_RETURN)
            conn_fail(c, "server closed the connection");
        else if (e != SSL_ERROR_WANT_READ)
            conn_fail_tls(c, n);
        break;
    }
    /* Whatever SSL_read had to answer (a TLS 1.3 key update). Frames sent
     * meanwhile wait in c->out for flush_listed. */
    if (c->state != ST_CLOSING)
        flush_wbio(c);
    if (c->state != ST_CLOSING)
        trim_bios(c);
}

static void read_input(mp_bench_conn_t *c, ssize_t nread, const uv_buf_t *buf)
{
    if (nread == 0 || c->state == ST_CLOSING)
        return;
    if (nread < 0) {
        if (nread == UV_EOF)
            conn_fail(c, "server closed the connection");
        else
            conn_fail(c, "read: %s", uv_strerror((int)nread));
        return;
    }
    if (c->ssl != NULL)
        tls_input(c, buf->base, (size_t)nread);
    else
        plain_input(c, buf->base, (size_t)nread);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    in_read++;
    read_input(s->data, nread, buf);
    if (--in_read == 0)
        flush_listed();
}

static void hs_write_cb(uv_write_t *req, int status)
{
    mp_bench_conn_t *c = req->handle->data;
    if (status < 0 && status != UV_ECANCELED)
        conn_fail(c, "write: %s", uv_strerror(status));
    if (c->hs != NULL) {
        free(c->hs->req);
        c->hs->req = NULL;
    }
}

static void connect_cb(uv_connect_t *req, int status)
{
    mp_bench_conn_t *c = req->handle->data;
    if (c->state == ST_CLOSING)
        return;
    if (status < 0) {
        conn_fail(c, "connect: %s", uv_strerror(status));
        return;
    }
    if (c->ssl != NULL) {
        c->state = ST_TLS;
        int rc = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
        if (rc != 0)
            conn_fail(c, "TLS: %s", uv_strerror(rc));
        else
            tls_handshake(c);
        return;
    }
    c->state = ST_HANDSHAKE;
    uv_buf_t b = uv_buf_init(c->hs->req, (unsigned)c->hs->req_len);
    int rc = uv_write(&c->hs->wreq, (uv_stream_t *)&c->tcp, &b, 1, hs_write_cb);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    if (rc != 0)
        conn_fail(c, "upgrade: %s", uv_strerror(rc));
}

/* Binds to the source address without reserving a port: with
 * IP_BIND_ADDRESS_NO_PORT the kernel picks the port at connect time per
 * (source, destination), so 127.0.0.x sources each get the whole port range. */
static int bind_source(mp_bench_conn_t *c, const struct sockaddr_in *source)
{
    uv_os_fd_t fd;
    int one = 1;
    int rc = uv_fileno((uv_handle_t *)&c->tcp, &fd);
    if (rc != 0)
        return rc;
    if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) != 0)
        return uv_translate_sys_error(errno);
    return uv_tcp_bind(&c->tcp, (const struct sockaddr *)source, 0);
}

mp_bench_conn_t *mp_bench_conn_new(uv_loop_t *loop, const struct sockaddr_in *server,
                                   const struct sockaddr_in *source, const char *hostport,
                                   const char *tls_host, const char *token,
                                   const mp_bench_conn_cbs_t *cbs, void *ud)
{
    mp_bench_conn_t *c = mp_calloc(1, sizeof(*c));
    c->cbs = cbs;
    c->ud = ud;
    c->state = ST_CONNECTING;
    c->hs = mp_calloc(1, sizeof(*c->hs));
    c->hs->hp = mpc_http_parser_new(false);
    char key[25];
    mpc_ws_make_key(key);
    mpc_ws_accept_for(key, c->hs->accept);
    c->hs->req = mpc_ws_build_handshake(hostport, "/v1/ws", key, token, NULL, &c->hs->req_len);

    int rc = 0;
    if (source != NULL) {
        rc = uv_tcp_init_ex(loop, &c->tcp, AF_INET);
        if (rc != 0)
            uv_tcp_init(loop, &c->tcp); /* never fails: only so it can be closed */
        else
            rc = bind_source(c, source);
    } else {
        uv_tcp_init(loop, &c->tcp);
    }
    c->tcp.data = c;
    if (rc == 0 && tls_host != NULL) {
        char why[160];
        c->ssl = mpc_tls_new(tls_host, why, sizeof(why));
        if (c->ssl == NULL) {
            conn_fail(c, "%s", why);
            return c;
        }
        /* SSL's own record buffers only while a record is in flight: an idle
         * connection stays small (see conn.h). */
        SSL_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS);
    }
    /* Latency is what we measure: no Nagle (applied when the socket exists). */
    (void)uv_tcp_nodelay(&c->tcp, 1);
    if (rc == 0)
        rc = uv_tcp_connect(&c->hs->creq, &c->tcp, (const struct sockaddr *)server, connect_cb);
    if (rc != 0)
        conn_fail(c, "connect: %s", uv_strerror(rc));
    return c;
}
