/* TLS on the listener (tls_cert, tls_key), with the clients an operator
 * would use: curl --cacert over HTTPS, Python's websockets over wss:// (two
 * users exchange a message), openssl s_client for the protocol versions,
 * ciphers and ALPN the server accepts or refuses, and an OpenSSL client of
 * the test's own that holds a connection open across a certificate swap and
 * SIGHUP. Garbage, plain HTTP and stalled handshakes on the TLS port are
 * closed (a stall at header_timeout) without disturbing the server, and
 * tls_redirect_listen answers plain HTTP with redirects to https://. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static char scratch[256]; /* certs: a/ (CN magpie-a), b/ (CN magpie-b), live/ */

/* Runs cmd under `timeout 30` with stdout and stderr into out; returns its
 * exit status (124: timed out). */
static int run(char *out, size_t outlen, const char *fmt, ...)
{
    char cmd[2048];
    int n = snprintf(cmd, sizeof cmd, "timeout 30 ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t len = 0;
    out[0] = '\0';
    for (;;) {
        size_t room = outlen - 1 - len;
        size_t got = room ? fread(out + len, 1, room, p) : 0;
        if (got == 0) {
            char sink[4096]; /* past outlen: read and drop, so the child ends */
            if (fread(sink, 1, sizeof sink, p) == 0)
                break;
            continue;
        }
        len += got;
    }
    out[len] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int setup(void **state)
{
    (void)state;
    snprintf(scratch, sizeof scratch, "/tmp/mpt-tls-XXXXXX");
    assert_non_null(mkdtemp(scratch));
    char out[4096];
    if (run(out, sizeof out,
            "%s %s/a magpie-a && %s %s/b magpie-b && mkdir %s/live && cp %s/a/chain.pem "
            "%s/a/key.pem %s/live/",
            MPT_CERTS, scratch, MPT_CERTS, scratch, scratch, scratch, scratch, scratch) != 0) {
        fprintf(stderr, "test-certs.sh failed: %s\n", out);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char out[256];
    run(out, sizeof out, "rm -rf %s", scratch);
    return 0;
}

static mpt_server_t *start_tls(const char *certdir, const char *const *more)
{
    char cert[300], key[300];
    snprintf(cert, sizeof cert, "%s/%s/chain.pem", scratch, certdir);
    snprintf(key, sizeof key, "%s/%s/key.pem", scratch, certdir);
    const char *args[16] = {"--tls_cert", cert, "--tls_key", key};
    size_t n = 4;
    for (size_t i = 0; more && more[i] && n < 15; i++)
        args[n++] = more[i];
    args[n] = NULL;
    return mpt_server_start(args);
}

/* ---- a TLS client of our own: a connection held across SIGHUP ---------- */

typedef struct {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
} tls_client_t;

/* Connects and handshakes, verifying the server against ca; NULL on failure. */
static tls_client_t *tls_open(int port, const char *ca)
{
    tls_client_t *t = calloc(1, sizeof *t);
    t->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {MPT_TIMEOUT / 1000, 0}; /* every read and write bounded */
    setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(t->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    t->ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    bool ok = connect(t->fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
              SSL_CTX_load_verify_locations(t->ctx, ca, NULL) == 1;
    if (ok) {
        t->ssl = SSL_new(t->ctx);
        SSL_set1_host(t->ssl, "localhost");
        SSL_set_fd(t->ssl, t->fd);
        ok = SSL_connect(t->ssl) == 1;
    }
    if (!ok) {
        ERR_print_errors_fp(stderr);
        SSL_free(t->ssl);
        SSL_CTX_free(t->ctx);
        close(t->fd);
        free(t);
        return NULL;
    }
    return t;
}

static void tls_close(tls_client_t *t)
{
    SSL_shutdown(t->ssl);
    SSL_free(t->ssl);
    SSL_CTX_free(t->ctx);
    close(t->fd);
    free(t);
}

/* The common name of the certificate the server presented. */
static void tls_peer_cn(tls_client_t *t, char *out, size_t len)
{
    X509 *x = SSL_get1_peer_certificate(t->ssl);
    assert_non_null(x);
    out[0] = '\0';
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)len);
    X509_free(x);
}

/* GET /healthz on the held connection; the status (0: no answer). */
static int tls_healthz(tls_client_t *t)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
    if (SSL_write(t->ssl, req, sizeof req - 1) != (int)sizeof req - 1)
        return 0;
    char buf[2048];
    size_t len = 0;
    while (len < sizeof buf - 1) { /* the answer is small: read until its body */
        int n = SSL_read(t->ssl, buf + len, (int)(sizeof buf - 1 - len));
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "{\"status\":\"ok\"}") != NULL)
            break;
    }
    buf[len] = '\0';
    int status = 0;
    return sscanf(buf, "HTTP/1.1 %d", &status) == 1 ? status : 0;
}

/* The status of a WebSocket upgrade with this Origin over a new TLS
 * connection. */
static int tls_upgrade_status(int port, const char *ca, const char *origin)
{
    tls_client_t *t = tls_open(port, ca);
    assert_non_null(t);
    char req[512], buf[2048];
    int n = snprintf(req, sizeof req,
                     "GET /v1/ws HTTP/1.1\r\nHost: localhost:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: %s\r\n\r\n",
                     port, origin);
    assert_int_equal(SSL_write(t->ssl, req, n), n);
    size_t len = 0;
    while (len < sizeof buf - 1) {
        int got = SSL_read(t->ssl, buf + len, (int)(sizeof buf - 1 - len));
        if (got <= 0)
            break;
        len += (size_t)got;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL)
            break;
    }
    buf[len] = '\0';
    int status = 0;
    sscanf(buf, "HTTP/1.1 %d", &status);
    tls_close(t);
    return status;
}

/* ---- tests ---------------------------------------------------------------- */

static int raw_connect(int port);

/* HTTPS with curl and a whole conversation over wss:// with Python. */
static void test_curl_and_wss(void **state)
{
    (void)state;
    mpt_server_t *srv = start_tls("a", NULL);
    assert_non_null(srv);
    char out[8192];
    int rc = run(out, sizeof out, "curl -sS --cacert %s/a/ca.pem https://127.0.0.1:%d/healthz",
                 scratch, srv->port);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "{\"status\":\"ok\"}");
    /* The intermediate comes from tls_cert (the chain), the root from the
     * client: localhost is in the certificate too, and HTTP/2 is not
     * offered back (ALPN http/1.1). */
    rc = run(out, sizeof out,
             "curl -sS --http2 -o /dev/null -w '%%{http_version} %%{http_code}' --cacert "
             "%s/a/ca.pem https://localhost:%d/healthz",
             scratch, srv->port);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "1.1 200");
    /* A connection that has said nothing yet is in its handshake. */
    int silent = raw_connect(srv->port);
    rc = run(out, sizeof out, "curl -sS --cacert %s/a/ca.pem https://127.0.0.1:%d/metrics", scratch,
             srv->port);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "\nmagpie_connections{kind=\"http\",state=\"handshaking\"} 1\n"));
    close(silent);
    /* Without the root the certificate is not trusted (curl: 60). */
    rc = run(out, sizeof out, "curl -sS https://127.0.0.1:%d/healthz", srv->port);
    assert_int_equal(rc, 60);
    /* Plain HTTP on the TLS port gets no answer. */
    rc = run(out, sizeof out, "curl -sS http://127.0.0.1:%d/healthz", srv->port);
    assert_true(rc == 52 || rc == 56);
    /* A page's own origin on this listener is https://: a browser's
     * WebSocket is accepted; the same host on http:// is another origin. */
    char ca[300], origin[80];
    snprintf(ca, sizeof ca, "%s/a/ca.pem", scratch);
    snprintf(origin, sizeof origin, "https://localhost:%d", srv->port);
    assert_int_equal(tls_upgrade_status(srv->port, ca, origin), 101);
    snprintf(origin, sizeof origin, "http://localhost:%d", srv->port);
    assert_int_equal(tls_upgrade_status(srv->port, ca, origin), 403);
    char user[33];
    mpt_username(user, "tls");
    mpt_record_secret("correct horse battery"); /* the Python client's password */
    rc = run(out, sizeof out, "%s %s %s/a/ca.pem %s", MPT_WSS_CLIENT, srv->hostport, scratch, user);
    if (rc != 0)
        fail_msg("wss client: %s", out);
    assert_string_equal(out, "ok 1\n");
    assert_int_equal(mpt_server_stop(srv), 0);
}

/* TLS 1.2 and 1.3 only; TLS 1.2 with forward-secret AEAD suites only. */
static void test_versions(void **state)
{
    (void)state;
    mpt_server_t *srv = start_tls("a", NULL);
    assert_non_null(srv);
    char out[16384];
    /* SECLEVEL=0 lets the client offer the old versions and suites, so that
     * what refuses them is the server. */
    static const char *const refused[] = {
        "-tls1 -cipher DEFAULT@SECLEVEL=0", "-tls1_1 -cipher DEFAULT@SECLEVEL=0",
        "-tls1_2 -cipher AES128-SHA@SECLEVEL=0", "-tls1_2 -cipher AES128-GCM-SHA256@SECLEVEL=0"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        int rc = run(out, sizeof out,
                     "openssl s_client -connect 127.0.0.1:%d -CAfile %s/a/ca.pem %s </dev/null",
                     srv->port, scratch, refused[i]);
        if (rc == 0 || strstr(out, "alert") == NULL)
            fail_msg("openssl s_client %s was not refused by the server (%d): %s", refused[i], rc,
                     out);
    }
    static const struct {
        const char *args, *protocol;
    } accepted[] = {{"-tls1_2", "New, TLSv1.2, Cipher is ECDHE-"}, {"-tls1_3", "New, TLSv1.3, "}};
    for (size_t i = 0; i < 2; i++) {
        int rc =
            run(out, sizeof out,
                "openssl s_client -connect 127.0.0.1:%d -CAfile %s/a/ca.pem -verify_return_error "
                "-alpn h2,http/1.1 %s </dev/null",
                srv->port, scratch, accepted[i].args);
        if (rc != 0 || strstr(out, accepted[i].protocol) == NULL ||
            strstr(out, "Verify return code: 0 (ok)") == NULL ||
            strstr(out, "ALPN protocol: http/1.1") == NULL)
            fail_msg("openssl s_client %s (%d): %s", accepted[i].args, rc, out);
    }
    assert_int_equal(mpt_server_stop(srv), 0);
}

/* Waits (bounded) until stderr.log holds `what` n times. */
static void wait_log(mpt_server_t *srv, const char *what, int n)
{
    long long end = mpt_mono_ms() + 10000;
    for (;;) {
        size_t len = 0;
        unsigned char *log = mpt_read_file(mpt_server_path(srv, "stderr.log"), &len);
        int seen = 0;
        for (const char *p = log ? (const char *)log : ""; (p = strstr(p, what)) != NULL; p++)
            seen++;
        free(log);
        if (seen >= n)
            return;
        if (mpt_mono_ms() > end)
            fail_msg("\"%s\" not seen %d times in the server's log within 10 s", what, n);
        usleep(20000);
    }
}

static void install(const char *from_cert, const char *from_key)
{
    char out[1024];
    /* Written beside and renamed into place, as certbot's deploy does. */
    int rc = run(out, sizeof out,
                 "cp %s/%s %s/live/new.pem && mv %s/live/new.pem %s/live/chain.pem && "
                 "cp %s/%s %s/live/new.key && mv %s/live/new.key %s/live/key.pem",
                 scratch, from_cert, scratch, scratch, scratch, scratch, from_key, scratch, scratch,
                 scratch);
    assert_int_equal(rc, 0);
}

/* A new connection, checked against ca: it presents the certificate named
 * cn and answers a request. */
static tls_client_t *expect_cert(int port, const char *ca, const char *cn)
{
    char got[64];
    tls_client_t *t = tls_open(port, ca);
    assert_non_null(t);
    tls_peer_cn(t, got, sizeof got);
    assert_string_equal(got, cn);
    assert_int_equal(tls_healthz(t), 200);
    return t;
}

/* A renewed certificate is served to new connections after SIGHUP; one
 * already open keeps its session; a broken pair leaves the current one. */
static void test_sighup_reload(void **state)
{
    (void)state;
    install("a/chain.pem", "a/key.pem");
    mpt_server_t *srv = start_tls("live", NULL);
    assert_non_null(srv);
    char ca_a[300], ca_b[300], cn[64];
    snprintf(ca_a, sizeof ca_a, "%s/a/ca.pem", scratch);
    snprintf(ca_b, sizeof ca_b, "%s/b/ca.pem", scratch);
    tls_client_t *held = expect_cert(srv->port, ca_a, "magpie-a");

    install("b/chain.pem", "b/key.pem");
    assert_int_equal(kill(srv->pid, SIGHUP), 0);
    wait_log(srv, "TLS certificate reloaded", 1);
    tls_client_t *fresh = expect_cert(srv->port, ca_b, "magpie-b");
    /* The connection made before the reload goes on with its session. */
    assert_int_equal(tls_healthz(held), 200);
    tls_peer_cn(held, cn, sizeof cn);
    assert_string_equal(cn, "magpie-a");

    /* Certificate b with key a: refused, b stays in use. */
    install("b/chain.pem", "a/key.pem");
    assert_int_equal(kill(srv->pid, SIGHUP), 0);
    wait_log(srv, "the TLS certificate was not reloaded", 1);
    tls_client_t *after = expect_cert(srv->port, ca_b, "magpie-b");
    tls_close(held);
    tls_close(fresh);
    tls_close(after);
    assert_int_equal(mpt_server_stop(srv), 0);
}

/* A raw TCP connection to the server. */
static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* Reads until the server closes; the milliseconds that took (the read is
 * bounded by SO_RCVTIMEO: -1 when the server kept the connection open). */
static long long until_closed(int fd)
{
    long long t0 = mpt_mono_ms();
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            break;
        if (n < 0 && errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    close(fd);
    return mpt_mono_ms() - t0;
}

/* Garbage and plain HTTP before the handshake are closed at once; a client
 * that stalls mid-handshake at header_timeout. The server serves on. */
static void test_garbage_and_stalls(void **state)
{
    (void)state;
    mpt_server_t *srv = start_tls("a", (const char *const[]){"--header_timeout", "1s", NULL});
    assert_non_null(srv);
    uint8_t junk[4096];
    uint32_t x = 2463534242u; /* xorshift: the same bytes every run */
    for (size_t i = 0; i < sizeof junk; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        junk[i] = (uint8_t)x;
    }
    int fd = raw_connect(srv->port);
    assert_int_equal(send(fd, junk, sizeof junk, MSG_NOSIGNAL), (ssize_t)sizeof junk);
    long long ms = until_closed(fd);
    assert_true(ms >= 0 && ms < 900); /* not the timeout: the error */

    static const char plain[] = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
    fd = raw_connect(srv->port);
    assert_int_equal(send(fd, plain, sizeof plain - 1, MSG_NOSIGNAL), (ssize_t)sizeof plain - 1);
    ms = until_closed(fd);
    assert_true(ms >= 0 && ms < 900);

    /* Silent, then a handshake record announced but never completed. */
    static const uint8_t partial[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc};
    for (int i = 0; i < 2; i++) {
        fd = raw_connect(srv->port);
        if (i == 1)
            assert_int_equal(send(fd, partial, sizeof partial, MSG_NOSIGNAL),
                             (ssize_t)sizeof partial);
        ms = until_closed(fd);
        if (ms < 900 || ms > 5000)
            fail_msg("a stalled handshake was closed after %lld ms, not at header_timeout", ms);
    }

    char out[65536];
    int rc = run(out, sizeof out, "curl -sS --cacert %s/a/ca.pem https://127.0.0.1:%d/metrics",
                 scratch, srv->port);
    assert_int_equal(rc, 0);
    const char *m = strstr(out, "\nmagpie_tls_handshake_failures_total ");
    assert_non_null(m);
    assert_true(atoi(m + strlen("\nmagpie_tls_handshake_failures_total ")) >= 4);
    m = strstr(out, "\nmagpie_tls_handshakes_total ");
    assert_non_null(m);
    assert_true(atoi(m + strlen("\nmagpie_tls_handshakes_total ")) >= 1);
    assert_int_equal(mpt_server_stop(srv), 0);
}

/* The port of the tls_redirect_listen listener, from the server's log. */
static int redirect_port(mpt_server_t *srv)
{
    static const char marker[] = "magpie: redirecting to https on 127.0.0.1:";
    wait_log(srv, marker, 1);
    size_t len = 0;
    unsigned char *log = mpt_read_file(mpt_server_path(srv, "stderr.log"), &len);
    const char *m = strstr((const char *)log, marker);
    int port = atoi(m + strlen(marker));
    free(log);
    return port;
}

/* Plain HTTP on tls_redirect_listen: 301 for GET, 308 for the rest, to the
 * same host and target on the TLS port; and the configuration mistakes an
 * operator can make are refused with a clear message. */
static void test_redirect_and_config(void **state)
{
    (void)state;
    mpt_server_t *srv =
        start_tls("a", (const char *const[]){"--tls_redirect_listen", "127.0.0.1:0", NULL});
    assert_non_null(srv);
    int rport = redirect_port(srv);
    assert_true(rport > 0);
    char out[4096], want[256];
    int rc = run(out, sizeof out,
                 "curl -sS -o /dev/null -w '%%{http_code} %%{redirect_url}' "
                 "'http://localhost:%d/chat/x?y=1'",
                 rport);
    assert_int_equal(rc, 0);
    snprintf(want, sizeof want, "301 https://localhost:%d/chat/x?y=1", srv->port);
    assert_string_equal(out, want);
    rc = run(out, sizeof out,
             "curl -sS -X POST -o /dev/null -w '%%{http_code} %%{redirect_url}' "
             "http://127.0.0.1:%d/v1/auth/login",
             rport);
    assert_int_equal(rc, 0);
    snprintf(want, sizeof want, "308 https://127.0.0.1:%d/v1/auth/login", srv->port);
    assert_string_equal(out, want);
    /* Followed, the redirect lands on the TLS listener. */
    rc = run(out, sizeof out, "curl -sSL --cacert %s/a/ca.pem http://localhost:%d/healthz", scratch,
             rport);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "{\"status\":\"ok\"}");
    assert_int_equal(mpt_server_stop(srv), 0);

    const char *bin = getenv("MAGPIE_BIN");
    assert_non_null(bin);
    rc =
        run(out, sizeof out, "%s serve --listen 127.0.0.1:0 --data %s/d1 --tls_cert %s/a/chain.pem",
            bin, scratch, scratch);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "tls_cert and tls_key go together"));
    rc = run(out, sizeof out,
             "%s serve --listen 127.0.0.1:0 --data %s/d2 --tls_cert %s/nothing.pem --tls_key "
             "%s/a/key.pem",
             bin, scratch, scratch, scratch);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "tls_cert"));
    assert_non_null(strstr(out, "nothing.pem"));
    rc = run(out, sizeof out,
             "%s serve --listen 127.0.0.1:0 --data %s/d3 --tls_cert %s/a/chain.pem --tls_key "
             "%s/b/key.pem",
             bin, scratch, scratch, scratch);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "does not match the certificate"));
    rc = run(out, sizeof out,
             "%s serve --listen 127.0.0.1:0 --data %s/d4 --tls_redirect_listen 127.0.0.1:0", bin,
             scratch);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "tls_redirect_listen needs tls_cert"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_curl_and_wss),        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_sighup_reload),       cmocka_unit_test(test_garbage_and_stalls),
        cmocka_unit_test(test_redirect_and_config),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
