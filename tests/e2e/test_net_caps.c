/* End-to-end tests of the connection caps (server-wide, per client address,
 * WebSockets per user, buffered request bodies) and of the Host allow-list
 * and the Origin scheme rule of the WebSocket handshake. Each server runs
 * with small caps so that a few connections reach them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/resource.h>
#include <time.h>

#include "harness.h"

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    assert_true(kb > 0);
    return kb;
}

/* A connection from source that the server admitted: it answers /healthz
 * and stays open (keep-alive). */
static mpc_conn_t *open_admitted(const mpt_server_t *s, const char *source)
{
    mpc_conn_t *c = mpc_connect_from(s->host, s->port, source, MPT_TIMEOUT);
    assert_non_null(c);
    mpc_response_t r;
    assert_int_equal(mpc_http_request(c, "GET", "/healthz", NULL, NULL, &r, MPT_TIMEOUT), MPC_OK);
    assert_int_equal(r.status, 200);
    assert_true(r.keep_alive);
    mpc_response_free(&r);
    return c;
}

/* A connection from source that the server refuses at once: the error comes
 * without a request, then the connection closes. */
static void expect_refused(const mpt_server_t *s, const char *source, int status, const char *code,
                           const char *msg_part)
{
    mpc_conn_t *c = mpc_connect_from(s->host, s->port, source, MPT_TIMEOUT);
    assert_non_null(c);
    mpc_response_t r;
    int rc = mpc_http_read_response(c, &r, MPT_TIMEOUT);
    if (rc != MPC_OK)
        fail_msg("no answer from a connection over the cap: %s", mpc_strerror(rc));
    print_message("refused: %d %s\n", r.status, r.body);
    MPT_ASSERT_HTTP_ERROR(&r, status, code);
    const char *msg =
        json_string_value(json_object_get(json_object_get(r.json, "error"), "message"));
    assert_non_null(msg);
    assert_non_null(strstr(msg, msg_part));
    assert_false(r.keep_alive);
    mpc_response_free(&r);
    assert_int_equal(mpc_wait_closed(c, MPT_TIMEOUT), MPC_OK);
    mpc_conn_free(c);
}

/* Once a counted connection closed, the server frees its place when it sees
 * the close; until then a new one is still refused. Waits (bounded) for the
 * place to come back. */
static mpc_conn_t *admitted_eventually(const mpt_server_t *s, const char *source)
{
    int64_t end = mpt_mono_ms() + MPT_TIMEOUT;
    for (;;) {
        mpc_conn_t *c = mpc_connect_from(s->host, s->port, source, MPT_TIMEOUT);
        assert_non_null(c);
        mpc_response_t r;
        if (mpc_http_request(c, "GET", "/healthz", NULL, NULL, &r, MPT_TIMEOUT) == MPC_OK &&
            r.status == 200) {
            mpc_response_free(&r);
            return c;
        }
        mpc_response_free(&r);
        mpc_conn_free(c);
        if (mpt_mono_ms() > end)
            fail_msg("the freed place did not come back within %d ms", MPT_TIMEOUT);
    }
}

static void test_per_ip_cap(void **state)
{
    (void)state;
    const char *flags[] = {"--max_connections_per_ip", "3", NULL};
    mpt_server_t *s = mpt_server_start(flags);
    assert_non_null(s);
    mpc_conn_t *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = open_admitted(s, "127.0.0.1");
    expect_refused(s, "127.0.0.1", 429, "rate_limited", "too many connections");
    /* Another address is not affected, and has its own count. */
    mpc_conn_t *other = open_admitted(s, "127.0.0.2");
    mpc_conn_t *other2 = open_admitted(s, "127.0.0.2");
    /* The refused connection was not counted, and a closed one is
     * uncounted: exactly one new connection fits again. */
    mpc_conn_free(c[0]);
    c[0] = admitted_eventually(s, "127.0.0.1");
    expect_refused(s, "127.0.0.1", 429, "rate_limited", "too many connections");
    for (int i = 0; i < 3; i++)
        mpc_conn_free(c[i]);
    mpc_conn_free(other);
    mpc_conn_free(other2);
    assert_int_equal(mpt_server_stop(s), 0);
}

static void test_global_cap(void **state)
{
    (void)state;
    const char *flags[] = {"--max_connections", "4", NULL};
    mpt_server_t *s = mpt_server_start(flags);
    assert_non_null(s);
    const char *src[] = {"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"};
    mpc_conn_t *c[4];
    for (int i = 0; i < 4; i++)
        c[i] = open_admitted(s, src[i]);
    expect_refused(s, "127.0.0.5", 503, "unavailable", "too many connections");
    expect_refused(s, "127.0.0.1", 503, "unavailable", "too many connections");
    mpc_conn_free(c[2]);
    c[2] = admitted_eventually(s, "127.0.0.6");
    expect_refused(s, "127.0.0.7", 503, "unavailable", "too many connections");
    for (int i = 0; i < 4; i++)
        mpc_conn_free(c[i]);
    assert_int_equal(mpt_server_stop(s), 0);
}

/* An upgrade with token: the HTTP status (101 on success, *ws set). */
static int ws_status(const mpt_server_t *s, const char *token, mpc_ws_t **ws)
{
    int status = 0;
    *ws = NULL;
    int rc = mpc_ws_connect(s->host, s->port, "/v1/ws", token, NULL, ws, &status, MPT_TIMEOUT);
    return rc == MPC_OK ? 101 : status;
}

static void test_ws_per_user(void **state)
{
    (void)state;
    const char *flags[] = {"--max_ws_per_user", "2", NULL};
    mpt_server_t *s = mpt_server_start(flags);
    assert_non_null(s);
    mpt_session_t alice, alice2, bob;
    assert_int_equal(mpt_user_new(s, "capa", &alice), 0);
    assert_int_equal(mpt_device_new(s, &alice, &alice2), 0);
    assert_int_equal(mpt_user_new(s, "capb", &bob), 0);

    mpc_ws_t *w[2];
    w[0] = mpt_ws_open(s, alice.access);
    w[1] = mpt_ws_open(s, alice2.access); /* another device, same user */
    assert_non_null(w[0]);
    assert_non_null(w[1]);
    mpc_ws_t *extra = NULL;
    /* The third is refused, whichever device asks... */
    assert_int_equal(ws_status(s, alice.access, &extra), 429);
    assert_int_equal(ws_status(s, alice2.access, &extra), 429);
    /* ...and through the auth frame too, with a clear error and a close. */
    int status = 0;
    assert_int_equal(
        mpc_ws_connect(s->host, s->port, "/v1/ws", NULL, NULL, &extra, &status, MPT_TIMEOUT),
        MPC_OK);
    json_t *auth = json_pack("{s:s}", "token", alice.access);
    json_t *reply = mpt_ws_call(extra, "auth", auth);
    json_decref(auth);
    MPT_ASSERT_WS_ERROR(reply, "rate_limited");
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(reply, "error"), "message")),
               "too many open WebSockets"));
    json_decref(reply);
    int code = 0;
    assert_int_equal(mpc_ws_wait_close(extra, MPT_TIMEOUT, &code, NULL), MPC_OK);
    assert_int_equal(code, 1008);
    mpc_ws_free(extra);
    /* Another user is not affected. */
    mpc_ws_t *b = mpt_ws_open(s, bob.access);
    assert_non_null(b);

    /* After one closes, one more is allowed again (once the server saw the
     * close), and only one. */
    assert_int_equal(mpc_ws_send_close(w[0], 1000, "bye", MPT_TIMEOUT), MPC_OK);
    assert_int_equal(mpc_ws_wait_close(w[0], MPT_TIMEOUT, &code, NULL), MPC_OK);
    mpc_ws_free(w[0]);
    int64_t end = mpt_mono_ms() + MPT_TIMEOUT;
    int st;
    while ((st = ws_status(s, alice.access, &w[0])) != 101) {
        assert_int_equal(st, 429);
        if (mpt_mono_ms() > end)
            fail_msg("the closed WebSocket was not uncounted within %d ms", MPT_TIMEOUT);
    }
    json_t *pong = mpt_ws_call(w[0], "ping", NULL);
    assert_non_null(pong);
    json_decref(pong);
    assert_int_equal(ws_status(s, alice.access, &extra), 429);
    /* A socket that just vanishes (no close frame) is uncounted as well. */
    mpc_ws_free(w[1]);
    end = mpt_mono_ms() + MPT_TIMEOUT;
    while ((st = ws_status(s, alice2.access, &w[1])) != 101) {
        assert_int_equal(st, 429);
        if (mpt_mono_ms() > end)
            fail_msg("the vanished WebSocket was not uncounted within %d ms", MPT_TIMEOUT);
    }
    mpc_ws_free(w[0]);
    mpc_ws_free(w[1]);
    mpc_ws_free(b);
    /* The server asserts that every count went back to zero exactly once. */
    assert_int_equal(mpt_server_stop(s), 0);
}

/* Sends the head of a POST declaring a 1 MiB body with Expect: 100-continue
 * and returns the server's first answer (100, or an error). */
static int post_head(const mpt_server_t *s, mpc_conn_t **out, mpc_response_t *r, bool chunked)
{
    mpc_conn_t *c = mpt_connect(s);
    assert_non_null(c);
    char head[512];
    snprintf(head, sizeof head,
             "POST /v1/auth/register HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
             "%s\r\nExpect: 100-continue\r\n\r\n",
             s->hostport, chunked ? "Transfer-Encoding: chunked" : "Content-Length: 1048576");
    assert_int_equal(mpc_send_raw(c, head, strlen(head), MPT_TIMEOUT), MPC_OK);
    *out = c;
    int rc = mpc_http_read_response(c, r, MPT_TIMEOUT);
    if (rc != MPC_OK)
        fail_msg("no answer to the request head: %s", mpc_strerror(rc));
    return r->status;
}

#define PART (768 * 1024)

static void test_body_budget(void **state)
{
    (void)state;
    enum { HOLD = 4, MORE = 8 };
    const char *flags[] = {"--max_body", "1m", "--max_body_total", "4m", NULL};
    mpt_server_t *s = mpt_server_start(flags);
    assert_non_null(s);
    char *part = malloc(PART);
    memset(part, ' ', PART);
    part[0] = '[';
    long rss0 = rss_kb(s->pid);

    /* Four requests take the whole budget; their bodies are partly sent. */
    mpc_conn_t *hold[HOLD], *more[MORE + 1];
    mpc_response_t r;
    for (int i = 0; i < HOLD; i++) {
        assert_int_equal(post_head(s, &hold[i], &r, false), 100);
        mpc_response_free(&r);
        assert_int_equal(mpc_send_raw(hold[i], part, PART, MPT_TIMEOUT), MPC_OK);
    }
    /* Every further body is refused before it is buffered, declared or
     * chunked, and the refused clients' bytes are thrown away. */
    for (int i = 0; i <= MORE; i++) {
        int st = post_head(s, &more[i], &r, i == MORE);
        if (i == MORE && st == 100) { /* chunked: refused once bytes come */
            mpc_response_free(&r);
            const char *chunk = "400\r\n";
            assert_int_equal(mpc_send_raw(more[i], chunk, strlen(chunk), MPT_TIMEOUT), MPC_OK);
            (void)mpc_send_raw(more[i], part, 1024, MPT_TIMEOUT);
            assert_int_equal(mpc_http_read_response(more[i], &r, MPT_TIMEOUT), MPC_OK);
        }
        MPT_ASSERT_HTTP_ERROR(&r, 503, "unavailable");
        assert_false(r.keep_alive);
        mpc_response_free(&r);
        (void)mpc_send_raw(more[i], part, PART, 1000); /* may fail once closed */
    }
    /* The server still answers others promptly, and holds about the budget. */
    int64_t t0 = mpt_mono_ms();
    assert_int_equal(mpt_http(s, "GET", "/healthz", NULL, NULL, NULL), 200);
    assert_true(mpt_mono_ms() - t0 < 2000);
    long grew = rss_kb(s->pid) - rss0;
    print_message("RSS grew by %ld KiB with %d bodies held and %d refused\n", grew, HOLD, MORE + 1);
    /* 4 MiB of bodies (doubling buffers touch up to twice that) plus slack;
     * the 9 refused megabytes must not be in it. */
    assert_true(grew < 16 * 1024);

    /* The budget is given back when the requests go away. */
    for (int i = 0; i < HOLD; i++)
        mpc_conn_free(hold[i]);
    for (int i = 0; i <= MORE; i++)
        mpc_conn_free(more[i]);
    int64_t end = mpt_mono_ms() + MPT_TIMEOUT;
    for (;;) {
        mpc_conn_t *c;
        int st = post_head(s, &c, &r, false);
        mpc_response_free(&r);
        mpc_conn_free(c);
        if (st == 100)
            break;
        assert_int_equal(st, 503);
        if (mpt_mono_ms() > end)
            fail_msg("the body budget was not given back within %d ms", MPT_TIMEOUT);
    }
    free(part);
    assert_int_equal(mpt_server_stop(s), 0);
}

/* Sends raw request text on a fresh connection and returns the response. */
static int raw_request(const mpt_server_t *s, const char *text, mpc_response_t *r)
{
    mpc_conn_t *c = mpt_connect(s);
    assert_non_null(c);
    assert_int_equal(mpc_send_raw(c, text, strlen(text), MPT_TIMEOUT), MPC_OK);
    int rc = mpc_http_read_response(c, r, MPT_TIMEOUT);
    mpc_conn_free(c);
    assert_int_equal(rc, MPC_OK);
    return r->status;
}

static int get_with_host(const mpt_server_t *s, const char *path, const char *host,
                         mpc_response_t *r)
{
    char buf[512];
    snprintf(buf, sizeof buf, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path,
             host);
    return raw_request(s, buf, r);
}

/* A WebSocket upgrade with the given Host, Origin (NULL: none) and extra
 * header lines; returns the status (101 when switched). */
static int upgrade_with(const mpt_server_t *s, const char *host, const char *origin,
                        const char *extra)
{
    char key[25], buf[1024];
    mpc_ws_make_key(key);
    char ob[256] = "";
    if (origin)
        snprintf(ob, sizeof ob, "Origin: %s\r\n", origin);
    snprintf(buf, sizeof buf,
             "GET /v1/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s%s\r\n",
             host, key, ob, extra ? extra : "");
    mpc_response_t r;
    int st = raw_request(s, buf, &r);
    if (st != 101)
        print_message("upgrade Host %s Origin %s: %d %s\n", host, origin ? origin : "-", st,
                      r.body);
    mpc_response_free(&r);
    return st;
}

static void test_origin_scheme(void **state)
{
    (void)state;
    mpt_server_t *s = mpt_server_start(NULL);
    assert_non_null(s);
    char o[128];
    /* Same host but another scheme is another origin. */
    snprintf(o, sizeof o, "http://%s", s->hostport);
    assert_int_equal(upgrade_with(s, s->hostport, o, NULL), 101);
    snprintf(o, sizeof o, "https://%s", s->hostport);
    assert_int_equal(upgrade_with(s, s->hostport, o, NULL), 403);
    snprintf(o, sizeof o, "ftp://%s", s->hostport);
    assert_int_equal(upgrade_with(s, s->hostport, o, NULL), 403);
    snprintf(o, sizeof o, "HTTP://%s", s->hostport);
    assert_int_equal(upgrade_with(s, s->hostport, o, NULL), 101);
    /* Behind a TLS-terminating proxy the page is https, and only then. */
    snprintf(o, sizeof o, "https://%s", s->hostport);
    assert_int_equal(upgrade_with(s, s->hostport, o, "X-Forwarded-Proto: https\r\n"), 101);
    snprintf(o, sizeof o, "http://%s", s->hostport);
    assert_int_equal(upgrade_with(s, s->hostport, o, "X-Forwarded-Proto: https\r\n"), 403);

    /* Without allowed_hosts any Host is served, as before. */
    mpc_response_t r;
    assert_int_equal(get_with_host(s, "/v1/nope", "evil.example:8080", &r), 404);
    mpc_response_free(&r);
    assert_int_equal(upgrade_with(s, "evil.example:8080", NULL, NULL), 101);
    assert_int_equal(upgrade_with(s, "evil.example:8080", "http://evil.example:8080", NULL), 101);
    assert_int_equal(mpt_server_stop(s), 0);
}

static void test_allowed_hosts(void **state)
{
    (void)state;
    const char *flags[] = {"--allowed_hosts", "chat.example, Other.Example:8443", NULL};
    mpt_server_t *s = mpt_server_start(flags);
    assert_non_null(s);
    mpc_response_t r;
    /* A name that is not listed (a rebinding attacker's) is refused... */
    assert_int_equal(get_with_host(s, "/v1/nope", "evil.example:8080", &r), 400);
    MPT_ASSERT_HTTP_ERROR(&r, 400, "bad_request");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r.json, "error"), "message")),
        "Host not allowed");
    mpc_response_free(&r);
    assert_int_equal(get_with_host(s, "/v1/me", "other.example:9000", &r), 400);
    mpc_response_free(&r);
    assert_int_equal(raw_request(s, "GET /v1/nope HTTP/1.0\r\n\r\n", &r), 400); /* no Host */
    mpc_response_free(&r);
    /* ...listed ones reach the routes (any port when none is listed)... */
    assert_int_equal(get_with_host(s, "/v1/nope", "chat.example", &r), 404);
    mpc_response_free(&r);
    assert_int_equal(get_with_host(s, "/v1/nope", "CHAT.example.:8080", &r), 404);
    mpc_response_free(&r);
    assert_int_equal(get_with_host(s, "/v1/nope", "other.example:8443", &r), 404);
    mpc_response_free(&r);
    /* ...and so do loopback names, the listener being loopback. */
    char h[128];
    snprintf(h, sizeof h, "localhost:%d", s->port);
    assert_int_equal(get_with_host(s, "/v1/nope", h, &r), 404);
    mpc_response_free(&r);
    assert_int_equal(get_with_host(s, "/v1/nope", s->hostport, &r), 404);
    mpc_response_free(&r);
    snprintf(h, sizeof h, "[::1]:%d", s->port);
    assert_int_equal(get_with_host(s, "/v1/nope", h, &r), 404);
    mpc_response_free(&r);
    /* Health probes answer whatever the Host. */
    assert_int_equal(get_with_host(s, "/healthz", "10.1.2.3:8080", &r), 200);
    mpc_response_free(&r);

    /* The WebSocket upgrade follows the same list. */
    assert_int_equal(upgrade_with(s, "evil.example:8080", NULL, NULL), 400);
    assert_int_equal(upgrade_with(s, "evil.example:8080", "http://evil.example:8080", NULL), 400);
    assert_int_equal(upgrade_with(s, "chat.example", "http://chat.example", NULL), 101);
    assert_int_equal(upgrade_with(s, "chat.example", "https://chat.example", NULL), 403);
    assert_int_equal(upgrade_with(s, s->hostport, NULL, NULL), 101);
    assert_int_equal(mpt_server_stop(s), 0);
}

/* Runs last: it lowers this process's hard open-file limit for good, so that
 * the server it starts inherits a limit below max_connections (10000). */
/* New connections a second per address: a burst of conn_rate_per_ip, then
 * 429 with Retry-After; other addresses are not affected. */
static void test_conn_rate(void **state)
{
    (void)state;
    const char *flags[] = {"--conn_rate_per_ip", "3", NULL};
    mpt_server_t *s = mpt_server_start(flags);
    assert_non_null(s);
    /* The bucket refills 3 a second: a burst of 3 quick ones passes, and
     * within the same moment a 4th cannot. Taken from 127.0.0.5 so that
     * nothing else of the test counts. */
    mpc_conn_t *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = open_admitted(s, "127.0.0.5");
    mpc_conn_t *x = mpc_connect_from(s->host, s->port, "127.0.0.5", MPT_TIMEOUT);
    assert_non_null(x);
    mpc_response_t r;
    assert_int_equal(mpc_http_read_response(x, &r, MPT_TIMEOUT), MPC_OK);
    MPT_ASSERT_HTTP_ERROR(&r, 429, "rate_limited");
    const char *retry = mpc_response_header(&r, "Retry-After");
    assert_non_null(retry);
    assert_true(atoi(retry) >= 1);
    mpc_response_free(&r);
    mpc_conn_free(x);
    /* Another address still gets in. */
    mpc_conn_t *o = open_admitted(s, "127.0.0.6");
    mpc_conn_free(o);
    for (int i = 0; i < 3; i++)
        mpc_conn_free(c[i]);
    assert_int_equal(mpt_server_stop(s), 0);
}

/* max_ws_per_device: one device's sockets are capped; the user's other
 * device is not. */
static void test_ws_per_device(void **state)
{
    (void)state;
    const char *flags[] = {"--max_ws_per_device", "2", NULL};
    mpt_server_t *s = mpt_server_start(flags);
    assert_non_null(s);
    mpt_session_t a, a2;
    assert_int_equal(mpt_user_new(s, "capd", &a), 0);
    assert_int_equal(mpt_device_new(s, &a, &a2), 0);
    mpc_ws_t *w0 = mpt_ws_open(s, a.access), *w1 = mpt_ws_open(s, a.access), *extra = NULL;
    assert_non_null(w0);
    assert_non_null(w1);
    int status = 0;
    assert_int_not_equal(
        mpc_ws_connect(s->host, s->port, "/v1/ws", a.access, NULL, &extra, &status, MPT_TIMEOUT),
        MPC_OK);
    assert_int_equal(status, 429);
    mpc_ws_t *other = mpt_ws_open(s, a2.access);
    assert_non_null(other);
    mpc_ws_free(other);
    mpc_ws_free(w0);
    mpc_ws_free(w1);
    assert_int_equal(mpt_server_stop(s), 0);
}

/* POST /v1/auth/register from a "client" behind a proxy: X-Forwarded-For
 * names it. Returns the status. */
static int register_via(const mpt_server_t *s, const char *source, const char *xff)
{
    char name[33], body[160], req[700];
    mpt_username(name, "px");
    int bl =
        snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"correct horse 1\"}", name);
    char xh[200] = "";
    if (xff != NULL)
        snprintf(xh, sizeof xh, "X-Forwarded-For: %s\r\n", xff);
    snprintf(req, sizeof req,
             "POST /v1/auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
             "application/json\r\nContent-Length: %d\r\n%sConnection: close\r\n\r\n%s",
             bl, xh, body);
    mpc_conn_t *c = mpc_connect_from(s->host, s->port, source, MPT_TIMEOUT);
    assert_non_null(c);
    assert_int_equal(mpc_send_raw(c, req, strlen(req), MPT_TIMEOUT), MPC_OK);
    mpc_response_t r;
    assert_int_equal(mpc_http_read_response(c, &r, MPT_TIMEOUT), MPC_OK);
    int st = r.status;
    mpc_response_free(&r);
    mpc_conn_free(c);
    return st;
}

/* trusted_proxies: behind the proxy (127.0.0.7) the per-address limits use
 * the client of X-Forwarded-For (the last entry that is not a proxy) and the
 * proxy's own connections are not capped per address; from anyone else the
 * header changes nothing. */
static void test_trusted_proxies(void **state)
{
    (void)state;
    const char *flags[] = {"--trusted_proxies",
                           "127.0.0.7, 10.1.0.0/16",
                           "--register_rate",
                           "1",
                           "--max_connections_per_ip",
                           "2",
                           NULL};
    mpt_server_t *s = mpt_server_start(flags);
    assert_non_null(s);
    assert_int_equal(register_via(s, "127.0.0.7", "203.0.113.5"), 201);
    assert_int_equal(register_via(s, "127.0.0.7", "203.0.113.5"), 429);
    /* Another client behind the same proxy has its own allowance; a chain
     * through a second trusted proxy names the same client; what the client
     * wrote left of it is not believed. */
    assert_int_equal(register_via(s, "127.0.0.7", "203.0.113.6"), 201);
    assert_int_equal(register_via(s, "127.0.0.7", "1.2.3.4, 203.0.113.6, 10.1.2.3"), 429);
    assert_int_equal(register_via(s, "127.0.0.7", "198.51.100.9, 203.0.113.77"), 201);
    /* Not from a proxy: the header is ignored, the TCP address counts. */
    assert_int_equal(register_via(s, "127.0.0.8", "198.51.100.1"), 201);
    assert_int_equal(register_via(s, "127.0.0.8", "198.51.100.2"), 429);
    /* The proxy holds more connections than max_connections_per_ip. */
    mpc_conn_t *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = open_admitted(s, "127.0.0.7");
    for (int i = 0; i < 3; i++)
        mpc_conn_free(c[i]);
    assert_int_equal(mpt_server_stop(s), 0);

    /* A bad list stops the server at start with a clear message. */
    const char *bad[] = {"--trusted_proxies", "10.0.0.0/33", NULL};
    assert_null(mpt_server_start(bad));
}

static void test_cap_below_fd_limit(void **state)
{
    (void)state;
    enum { LIMIT = 400, ROOM = LIMIT - 128 }; /* the server keeps 128 for itself */
    struct rlimit rl = {.rlim_cur = LIMIT, .rlim_max = LIMIT};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    mpt_server_t *s = mpt_server_start(NULL);
    assert_non_null(s);
    /* Opening them all may take a while under sanitizers: no timing here. */
    mpc_conn_t **c = calloc(ROOM, sizeof(*c));
    for (int i = 0; i < ROOM; i++) {
        char src[32];
        snprintf(src, sizeof src, "127.0.1.%d", 1 + i % 250);
        c[i] = open_admitted(s, src);
    }
    /* Polite refusals instead of accept() failing for want of descriptors. */
    expect_refused(s, "127.0.2.1", 503, "unavailable", "too many connections");
    expect_refused(s, "127.0.2.2", 503, "unavailable", "too many connections");
    mpc_conn_free(c[0]);
    c[0] = admitted_eventually(s, "127.0.2.3");
    for (int i = 0; i < ROOM; i++)
        mpc_conn_free(c[i]);
    free(c);
    assert_int_equal(mpt_server_stop(s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_ip_cap),
        cmocka_unit_test(test_global_cap),
        cmocka_unit_test(test_ws_per_user),
        cmocka_unit_test(test_body_budget),
        cmocka_unit_test(test_origin_scheme),
        cmocka_unit_test(test_allowed_hosts),
        cmocka_unit_test(test_conn_rate),
        cmocka_unit_test(test_ws_per_device),
        cmocka_unit_test(test_trusted_proxies),
        cmocka_unit_test(test_cap_below_fd_limit), /* last: lowers the open-file limit */
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
