/* TLS for the client library: the shared client context, verified SSL objects
 * on memory BIOs, and the blocking layer's handshake, send and receive over
 * them.
 *
 * Memory BIOs rather than a socket BIO: OpenSSL's socket BIO writes with
 * write(), which raises SIGPIPE on a reset connection, and a library must not
 * kill its caller; here the ciphertext goes through the same send(MSG_NOSIGNAL)
 * and recv() with poll() deadlines as plain bytes do, and the load generator
 * drives the very same SSL objects from libuv. */
#include <arpa/inet.h>
#include <assert.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "client/client.h"
#include "client/conn_internal.h"

/* Plaintext per SSL_write: bounds the ciphertext held in the write BIO (an
 * upload of many MiB is encrypted and sent a slice at a time). */
#define TLS_WRITE_SLICE 65536
/* Ciphertext per recv(): a whole TLS record with its header fits. */
#define TLS_READ_CHUNK (16384 + 2048)

/* Made once per process (pthread_once: the bench's set-up connects from
 * several threads), never freed. */
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static SSL_CTX *client_ctx;
static char ctx_err[256]; /* why client_ctx is NULL */

static void openssl_reason(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    snprintf(err, errlen, "%s: %s", what, r ? r : "unknown OpenSSL error");
    ERR_clear_error();
}

static void make_ctx(void)
{
    /* ALPN wire format: length-prefixed protocol names. */
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        openssl_reason(ctx_err, sizeof ctx_err, "TLS");
        return;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* An unclean EOF reads as a plain one: every exchange here is framed by
     * Content-Length or a WebSocket close, so truncation is seen anyway, and
     * servers commonly drop the connection without close_notify. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_default_verify_paths(ctx) != 1 ||
        SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1) != 0) {
        openssl_reason(ctx_err, sizeof ctx_err, "TLS");
        SSL_CTX_free(ctx);
        return;
    }
    client_ctx = ctx;
}

SSL_CTX *mpc_tls_ctx(char *err, size_t errlen)
{
    pthread_once(&ctx_once, make_ctx);
    if (!client_ctx)
        snprintf(err, errlen, "%s", ctx_err);
    return client_ctx;
}

/* Whether host is an IP literal (checked against the certificate's IP
 * addresses; RFC 6066 does not allow one in SNI). */
static bool is_ip_literal(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

SSL *mpc_tls_new(const char *host, char *err, size_t errlen)
{
    SSL_CTX *ctx = mpc_tls_ctx(err, errlen);
    if (!ctx)
        return NULL;
    SSL *ssl = SSL_new(ctx);
    BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());
    if (!ssl || !rbio || !wbio) {
        openssl_reason(err, errlen, "TLS");
        goto fail;
    }
    /* An empty read BIO means "wait for more", not EOF. */
    BIO_set_mem_eof_return(rbio, -1);
    SSL_set_bio(ssl, rbio, wbio); /* ssl owns both now */
    rbio = wbio = NULL;
    int ok;
    if (is_ip_literal(host))
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
    else
        ok = SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1;
    if (ok != 1) {
        snprintf(err, errlen, "TLS: cannot verify the host %s", host);
        ERR_clear_error();
        goto fail;
    }
    SSL_set_connect_state(ssl);
    return ssl;
fail:
    BIO_free(rbio);
    BIO_free(wbio);
    SSL_free(ssl);
    return NULL;
}

void mpc_tls_describe(SSL *ssl, int ret, char *err, size_t errlen)
{
    long v = SSL_get_verify_result(ssl);
    int e = SSL_get_error(ssl, ret);
    if (v != X509_V_OK) {
        snprintf(err, errlen, "certificate verify failed: %s", X509_verify_cert_error_string(v));
    } else if (e == SSL_ERROR_ZERO_RETURN) {
        snprintf(err, errlen, "TLS: the server closed the connection");
    } else {
        unsigned long q = ERR_peek_last_error();
        const char *r = q ? ERR_reason_error_string(q) : NULL;
        snprintf(err, errlen, "TLS handshake failed: %s%s", r ? r : "unknown error",
                 ERR_GET_REASON(q) == SSL_R_WRONG_VERSION_NUMBER
                     ? " (does the server speak plain http?)"
                     : "");
    }
    ERR_clear_error();
}

/* Sends whatever SSL has written to its write BIO. */
static int flush_wbio(mpc_conn_t *c, int64_t deadline)
{
    BIO *wbio = SSL_get_wbio(c->ssl);
    char *data;
    long n = BIO_get_mem_data(wbio, &data);
    if (n <= 0)
        return MPC_OK;
    int rc = mpc__send_fd(c, data, (size_t)n, deadline);
    (void)BIO_reset(wbio);
    return rc;
}

/* Receives ciphertext (at least one byte) into SSL's read BIO. */
static long feed_rbio(mpc_conn_t *c, int64_t deadline)
{
    char buf[TLS_READ_CHUNK];
    long n = mpc__recv_fd(c, buf, sizeof buf, deadline);
    if (n > 0 && BIO_write(SSL_get_rbio(c->ssl), buf, (int)n) != (int)n)
        abort(); /* a memory BIO only refuses when out of memory */
    return n;
}

int mpc__tls_handshake(mpc_conn_t *c, const char *host, int64_t deadline, char *err, size_t errlen)
{
    assert(c->ssl == NULL); /* one handshake per connection, right after connect */
    c->ssl = mpc_tls_new(host, err, errlen);
    if (!c->ssl)
        return MPC_ERR_PROTO;
    ERR_clear_error();
    for (;;) {
        int r = SSL_do_handshake(c->ssl);
        /* The ClientHello, the Finished, or an alert that explains a refusal. */
        int rc = flush_wbio(c, deadline);
        if (r == 1 && rc == MPC_OK)
            return MPC_OK;
        if (rc != MPC_OK) {
            snprintf(err, errlen, "TLS handshake: %s", mpc_strerror(rc));
            return rc;
        }
        if (SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_READ) {
            mpc_tls_describe(c->ssl, r, err, errlen);
            return MPC_ERR_PROTO;
        }
        long n = feed_rbio(c, deadline);
        if (n < 0) {
            snprintf(err, errlen, "TLS handshake: %s",
                     n == MPC_ERR_CLOSED ? "the server closed the connection"
                                         : mpc_strerror((int)n));
            return (int)n;
        }
    }
}

int mpc__tls_send(mpc_conn_t *c, const void *data, size_t len, int64_t deadline)
{
    const char *p = data;
    assert(c->ssl != NULL);
    ERR_clear_error(); /* SSL_get_error reads this thread's queue: no stale entries */
    while (len > 0) {
        int slice = len < TLS_WRITE_SLICE ? (int)len : TLS_WRITE_SLICE;
        int n = SSL_write(c->ssl, p, slice);
        int rc = flush_wbio(c, deadline);
        if (rc != MPC_OK)
            return rc;
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        /* The write BIO never fills up; only a (TLS 1.2) renegotiation can
         * make SSL wait, for the server's part of it. */
        if (SSL_get_error(c->ssl, n) != SSL_ERROR_WANT_READ) {
            ERR_clear_error();
            return MPC_ERR_IO;
        }
        long r = feed_rbio(c, deadline);
        if (r < 0)
            return (int)r;
    }
    return MPC_OK;
}

long mpc__tls_fill(mpc_conn_t *c, int64_t deadline)
{
    long got = 0;
    assert(c->ssl != NULL);
    ERR_clear_error(); /* as in mpc__tls_send */
    for (;;) {
        mpc__reserve(c);
        size_t room = c->rcap - c->rlen;
        int n = SSL_read(c->ssl, c->rbuf + c->rlen, room < INT_MAX ? (int)room : INT_MAX);
        if (n > 0) {
            /* Keep decrypting what was received: plaintext must not stay
             * inside SSL, where a poll() on the socket would not see it. */
            c->rlen += (size_t)n;
            got += n;
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        int rc = flush_wbio(c, deadline); /* e.g. an answer to a key update */
        if (got > 0)
            return got;
        if (rc != MPC_OK)
            return rc;
        if (e == SSL_ERROR_ZERO_RETURN)
            return MPC_ERR_CLOSED;
        if (e != SSL_ERROR_WANT_READ) {
            ERR_clear_error();
            return MPC_ERR_IO;
        }
        long r = feed_rbio(c, deadline);
        if (r < 0)
            return r;
    }
}
