/* TLS between the socket and the HTTP/WebSocket code (tls_cert, tls_key).
 *
 * OpenSSL never touches the socket: each connection's SSL object reads from
 * and writes to two memory BIOs. Ciphertext read by libuv goes into the read
 * BIO, SSL_read turns it into plaintext for the HTTP or WebSocket layer, and
 * whatever SSL puts in the write BIO (handshake messages, records, alerts) is
 * written with libuv. So a handshake is a few steps of the same loop as any
 * other input and never blocks it; one that does not finish in time hits the
 * header deadline.
 *
 * A read hands all the plaintext it decrypted to the layer above in one call,
 * as a plain read hands its buffer: the pipelining and back-pressure rules of
 * the HTTP and WebSocket code stay exactly as they are (nothing stays inside
 * OpenSSL while reading is paused). */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string.h>

#include "net/conn.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/metrics.h"

struct mp_tls {
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    bool ready;       /* handshake finished */
    bool trim_all;    /* handshake just finished: drop its buffers (trim_bios) */
    bool failed;      /* a fatal error: input is discarded until the close */
};

/* Mozilla's "intermediate" TLS 1.2 suites (forward secrecy, AEAD only); TLS
 * 1.3 keeps OpenSSL's own list, which is all AEAD. */
static const char cipher_list[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/* The first OpenSSL error on this thread's queue, for messages; clears it. */
static const char *ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    if (e == 0)
        snprintf(buf, len, "unknown error");
    else
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

/* ALPN: HTTP/1.1 is all this listener speaks. A client that offers only
 * other protocols (h2 alone) goes on without ALPN rather than failing. */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    static const unsigned char ours[] = "\x08http/1.1";
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, ours, sizeof(ours) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

SSL_CTX *mp_tls__ctx_new(char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        char why[256];
        snprintf(err, errlen, "cannot create a TLS context: %s", ssl_reason(why, sizeof why));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ctx, cipher_list);
    /* Renegotiation is a DoS lever and nobody needs it; compression leaks
     * secrets (CRIME). The server's order picks the suite. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Idle WebSockets are most connections: their record buffers go back to
     * the allocator between reads. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
    return ctx;
}

SSL_CTX *mp_tls__ctx_load(const char *cert, const char *key, char *err, size_t errlen)
{
    SSL_CTX *ctx = mp_tls__ctx_new(err, errlen);
    if (ctx == NULL)
        return NULL;
    char why[256];
    ERR_clear_error();
    /* The key first: a certificate that does not match it then drops it
     * quietly, and the check below says so in plain words. */
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        snprintf(err, errlen, "tls_key %s: %s", key, ssl_reason(why, sizeof why));
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        snprintf(err, errlen, "tls_cert %s: %s", cert, ssl_reason(why, sizeof why));
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "tls_key %s does not match the certificate in %s", key, cert);
        goto fail;
    }
    return ctx;
fail:
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

void mp_tls__ctx_free(SSL_CTX *ctx)
{
    SSL_CTX_free(ctx); /* reference counted: connections keep theirs alive */
}

bool mp_tls__conn_new(mp_conn_t *c, SSL_CTX *ctx)
{
    MP_ASSERT(c->tls == NULL);
    SSL *ssl = SSL_new(ctx);
    BIO *rbio = BIO_new(BIO_s_mem());
    BIO *wbio = BIO_new(BIO_s_mem());
    if (ssl == NULL || rbio == NULL || wbio == NULL) {
        SSL_free(ssl);
        BIO_free(rbio);
        BIO_free(wbio);
        ERR_clear_error();
        return false;
    }
    /* An empty read BIO means "more input needed", not end of file. */
    BIO_set_mem_eof_return(rbio, -1);
    SSL_set_bio(ssl, rbio, wbio);
    SSL_set_accept_state(ssl);
    struct mp_tls *t = mp_calloc(1, sizeof(*t));
    t->ssl = ssl;
    t->rbio = rbio;
    t->wbio = wbio;
    c->tls = t;
    return true;
}

void mp_tls__conn_free(mp_conn_t *c)
{
    if (c->tls == NULL)
        return;
    SSL_free(c->tls->ssl);
    mp_free(c->tls);
    c->tls = NULL;
}

bool mp_tls__ready(const mp_conn_t *c)
{
    return c->tls == NULL || c->tls->ready;
}

/* A memory BIO keeps the largest buffer it ever held. Once empty, one that
 * grew past this is replaced, so that a connection that once moved a big
 * upload or download does not keep its buffers while it idles; so are the
 * handshake's (the certificate chain went through them), whatever their
 * size, once it is over: most connections then idle with small frames. */
#define MP_TLS_BIO_KEEP 16384

static BIO *trimmed(BIO *b, size_t keep)
{
    BUF_MEM *m = NULL;
    if (BIO_ctrl_pending(b) != 0 || BIO_get_mem_ptr(b, &m) != 1 || m == NULL || m->max <= keep)
        return NULL;
    BIO *fresh = BIO_new(BIO_s_mem());
    if (fresh != NULL)
        BIO_set_mem_eof_return(fresh, -1);
    return fresh;
}

static void trim_bios(struct mp_tls *t)
{
    size_t keep = t->trim_all ? 0 : MP_TLS_BIO_KEEP;
    t->trim_all = false;
    BIO *b = trimmed(t->rbio, keep);
    if (b != NULL) {
        SSL_set0_rbio(t->ssl, b); /* frees the old one */
        t->rbio = b;
    }
    b = trimmed(t->wbio, keep);
    if (b != NULL) {
        SSL_set0_wbio(t->ssl, b);
        t->wbio = b;
    }
}

static void wrote_nothing(mp_conn_t *c, void *arg)
{
    (void)c;
    (void)arg;
}

/* Moves what SSL wrote into t's write BIO into a buffer of its own
 * (mp_malloc, *len bytes; NULL when there is nothing). False when the BIO
 * did not hand it all over (a memory BIO always does). */
static bool take_records(struct mp_tls *t, char **out, size_t *len)
{
    size_t n = BIO_ctrl_pending(t->wbio);
    *out = NULL;
    *len = n;
    if (n == 0)
        return true;
    char *buf = mp_malloc(n);
    if (BIO_read(t->wbio, buf, (int)n) != (int)n) {
        mp_free(buf);
        ERR_clear_error();
        return false;
    }
    *out = buf;
    return true;
}

/* Moves what SSL wrote into the write BIO to the socket, in one write whose
 * completion runs done(c, arg); done runs now when there is nothing. */
static void flush_out(mp_conn_t *c, mp_conn_wdone_fn done, void *arg)
{
    char *buf;
    size_t n;
    if (!take_records(c->tls, &buf, &n)) {
        done(c, arg);
        mp_conn__close(c);
        return;
    }
    if (n == 0) {
        done(c, arg);
        return;
    }
    mp_conn__send_owned(c, buf, n, done, arg);
}

/* A fatal TLS error: the alert OpenSSL prepared goes out, then the
 * connection closes gracefully (what the peer still sends is discarded). */
static void fail(mp_conn_t *c, int ssl_err)
{
    struct mp_tls *t = c->tls;
    char why[256] = "";
    if (ssl_err == SSL_ERROR_SSL)
        ssl_reason(why, sizeof why);
    ERR_clear_error();
    if (!t->ready) {
        mp_metrics_inc(MP_MC_TLS_FAILURES);
        mp_log_debug("tls: handshake failed: %s", why[0] ? why : "bad input");
    } else {
        mp_log_debug("tls: connection failed: %s", why[0] ? why : "bad input");
    }
    t->failed = true;
    flush_out(c, wrote_nothing, NULL);
    if (c->flags & MP_C_CLOSED)
        return;
    if (!t->ready) {
        /* Nothing above TLS knows this connection yet. */
        c->flags |= MP_C_DRAIN;
        mp_deadline__set(c, MP_T_CLOSING);
        mp_conn__maybe_finish(c);
        return;
    }
    mp_conn__close(c);
}

/* Runs the handshake on what has arrived; true once it is complete. */
static bool handshake(mp_conn_t *c)
{
    struct mp_tls *t = c->tls;
    /* SSL_get_error reads this thread's error queue: whatever else on the
     * loop used libcrypto (token signatures) must not be taken for ours. */
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) {
        t->ready = true;
        t->trim_all = true;
        mp_metrics_inc(MP_MC_TLS_HANDSHAKES);
        /* From here the connection waits for a request like any other. */
        mp_deadline__set(c, MP_T_IDLE);
        return true;
    }
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
        flush_out(c, wrote_nothing, NULL);
        return false;
    }
    fail(c, e);
    return false;
}

/* Room for the plaintext of one read: at most what the read BIO holds (a
 * record's plaintext is never longer than the record). */
static char *plain_room(mp_server_t *srv, size_t need)
{
    if (srv->tls_plain_cap < need) {
        size_t cap = srv->tls_plain_cap ? srv->tls_plain_cap : MP_NET_RBUF;
        while (cap < need)
            cap *= 2;
        srv->tls_plain = mp_realloc(srv->tls_plain, cap);
        srv->tls_plain_cap = cap;
    }
    return srv->tls_plain;
}

void mp_tls__received(mp_conn_t *c, const char *data, size_t len)
{
    struct mp_tls *t = c->tls;
    if (t->failed)
        return;
    if (BIO_write(t->rbio, data, (int)len) != (int)len) {
        mp_conn__close(c);
        return;
    }
    if (!t->ready && !handshake(c))
        return;
    /* Decrypt everything complete; a partial record waits in the BIO. */
    size_t pending = BIO_ctrl_pending(t->rbio) + (size_t)SSL_pending(t->ssl);
    char *plain = plain_room(c->srv, pending + 1);
    size_t n = 0;
    bool eof = false;
    ERR_clear_error();
    for (;;) {
        size_t room = c->srv->tls_plain_cap - n;
        if (room == 0) {
            plain = plain_room(c->srv, c->srv->tls_plain_cap * 2);
            room = c->srv->tls_plain_cap - n;
        }
        int r = SSL_read(t->ssl, plain + n, room > INT32_MAX ? INT32_MAX : (int)room);
        if (r > 0) {
            n += (size_t)r;
            continue;
        }
        int e = SSL_get_error(t->ssl, r);
        if (e == SSL_ERROR_WANT_READ)
            break;
        if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify: the peer is done */
            eof = true;
            break;
        }
        fail(c, e);
        return;
    }
    /* Session tickets, key updates: written before the plaintext's effects. */
    flush_out(c, wrote_nothing, NULL);
    if (!(c->flags & MP_C_CLOSED))
        trim_bios(t);
    if (n > 0 && !(c->flags & MP_C_CLOSED))
        mp_conn__input(c, plain, n);
    if (eof && !(c->flags & MP_C_CLOSED))
        mp_conn__eof(c);
}

/* Encrypts bufs into records in t's write BIO. False when OpenSSL refused
 * (the connection must close). Clears this thread's error queue first. */
static bool seal_into_bio(struct mp_tls *t, const uv_buf_t *bufs, unsigned n)
{
    ERR_clear_error();
    for (unsigned i = 0; i < n; i++) {
        const char *p = bufs[i].base;
        size_t left = bufs[i].len;
        while (left > 0) {
            /* Writes into a memory BIO always complete in full. */
            int want = left > (1u << 30) ? 1 << 30 : (int)left;
            if (SSL_write(t->ssl, p, want) != want) {
                ERR_clear_error();
                return false;
            }
            p += want;
            left -= (size_t)want;
        }
    }
    return true;
}

void mp_tls__write(mp_conn_t *c, const uv_buf_t *bufs, unsigned n, mp_conn_wdone_fn done, void *arg)
{
    struct mp_tls *t = c->tls;
    /* Before the handshake there is no request to answer; after a failure
     * nothing may be sent but the alert. */
    if (!t->ready || t->failed) {
        done(c, arg);
        return;
    }
    if (!seal_into_bio(t, bufs, n)) {
        done(c, arg);
        mp_conn__close(c);
        return;
    }
    flush_out(c, done, arg);
    if (!(c->flags & MP_C_CLOSED))
        trim_bios(t);
}

bool mp_tls__sealable(const mp_conn_t *c)
{
    return c->tls != NULL && c->tls->ready && !c->tls->failed;
}

bool mp_tls__seal(struct mp_tls *t, const uv_buf_t *bufs, unsigned n, char **out, size_t *len)
{
    /* The error queue is this thread's: an I/O helper's, or the loop's. */
    if (!seal_into_bio(t, bufs, n) || !take_records(t, out, len))
        return false;
    /* A batch holds at least a frame header, so there are records. */
    MP_ASSERT(*out != NULL);
    return true;
}

void mp_tls__trim(mp_conn_t *c)
{
    if (!(c->flags & MP_C_CLOSED))
        trim_bios(c->tls);
}

void mp_tls__shutdown(mp_conn_t *c)
{
    struct mp_tls *t = c->tls;
    if (!t->ready || t->failed)
        return;
    /* close_notify, so that the peer can tell the end from a truncation. */
    (void)SSL_shutdown(t->ssl);
    ERR_clear_error();
    flush_out(c, wrote_nothing, NULL);
}
