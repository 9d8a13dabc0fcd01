/* HTTP/1.1 handling through fake connections (no sockets): responses, limits,
 * timeouts, pipelining, keep-alive, routing errors, authentication, JSON
 * bodies and CORS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "net/server.h"
#include "net/testing.h"
#include "util/log.h"

static uv_loop_t loop;
static mp_config_t cfg;
static mp_server_t *srv;
static mp_http_req_t *held[64];
static int nheld;
static bool ready = true;
static mp_principal_t seen;

static void h_echo(mp_http_req_t *req)
{
    seen = *mp_http_req_principal(req);
    json_t *j = mp_http_req_json(req);
    mp_http_respond(req, 201, j ? json_deep_copy(j) : json_object());
}

static void h_item(mp_http_req_t *req)
{
    seen = *mp_http_req_principal(req);
    const char *q = mp_http_req_query(req, "q");
    mp_http_respond(req, 200,
                    json_pack("{s:s,s:s,s:s?}", "id", mp_http_req_param(req, "id"), "path",
                              mp_http_req_path(req), "q", q));
}

static void h_hold(mp_http_req_t *req)
{
    held[nheld++] = req;
}

static int nbig;

/* A large reply at once: 300 KB of text. */
static void h_big(mp_http_req_t *req)
{
    static char text[300 * 1000];
    memset(text, 'x', sizeof(text) - 1);
    nbig++;
    mp_http_respond(req, 200, json_pack("{s:s}", "t", text));
}

static const mp_route_t routes[] = {
    {"GET", "/v1/items/{id}", MP_ROUTE_PUBLIC, h_item},
    {"DELETE", "/v1/items/{id}", MP_ROUTE_AUTH, h_item},
    {"POST", "/v1/items", MP_ROUTE_AUTH | MP_ROUTE_JSON, h_echo},
    {"GET", "/v1/hold", MP_ROUTE_PUBLIC, h_hold},
    {"GET", "/v1/big", MP_ROUTE_PUBLIC, h_big},
    {0},
};

static mp_err_t auth(void *ctx, const char *token, mp_principal_t *who)
{
    (void)ctx;
    if (strcmp(token, "tok") != 0)
        return MP_ERR_UNAUTHORIZED;
    who->user_id = 7;
    who->device_id = 8;
    return MP_OK;
}

static int is_ready(void *ctx)
{
    (void)ctx;
    return ready;
}

static int setup(void **state)
{
    (void)state;
    static const mp_server_hooks_t hooks = {.authenticate = auth, .ready = is_ready};
    mp_log_set_level(MP_LOG_WARN);
    mp_config_defaults(&cfg);
    cfg.max_header = 1024;
    cfg.max_body = 100;
    snprintf(cfg.cors_origins, sizeof(cfg.cors_origins), "https://app.example, http://x.test");
    uv_loop_init(&loop);
    srv = mp_server_new(&loop, &cfg, routes, &hooks, NULL);
    nheld = 0;
    nbig = 0;
    ready = true;
    memset(&seen, 0, sizeof(seen));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mpu_server_close(&loop, srv);
    return 0;
}

static const char *feed(mp_conn_t *c, const char *bytes)
{
    mp_net__fake_feed(c, bytes, strlen(bytes));
    return mp_net__fake_output(c, NULL);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_healthz(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(out, "X-Request-Id: "));
    assert_non_null(strstr(out, "Content-Type: application/json\r\n"));
    assert_non_null(strstr(out, "Content-Length: 15\r\n"));
    assert_non_null(strstr(out, "Connection: keep-alive\r\n"));
    assert_non_null(strstr(out, "\r\n\r\n{\"status\":\"ok\"}"));
    assert_false(mp_net__fake_closing(c));
    assert_int_equal(mp_server_connections(srv), 1);
    mp_net__fake_free(c);
    assert_int_equal(mp_server_connections(srv), 0);
}

static void test_readyz(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    assert_non_null(strstr(feed(c, "GET /readyz HTTP/1.1\r\n\r\n"), "{\"status\":\"ready\"}"));
    ready = false;
    mp_net__fake_clear(c);
    const char *out = feed(c, "GET /readyz HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 503 "));
    assert_non_null(strstr(out, "\"code\":\"unavailable\""));
    mp_net__fake_free(c);
}

static void test_not_found_and_method(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "GET /nope HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 404 Not Found\r\n"));
    assert_non_null(strstr(out, "{\"error\":{\"code\":\"not_found\",\"message\":"));
    mp_net__fake_clear(c);
    out = feed(c, "PUT /v1/items/3 HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 405 Method Not Allowed\r\n"));
    assert_non_null(strstr(out, "Allow: GET, HEAD, DELETE\r\n"));
    assert_non_null(strstr(out, "\"code\":\"method_not_allowed\""));
    assert_false(mp_net__fake_closing(c));
    mp_net__fake_free(c);
}

static void test_params_query_decoding(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "GET /v1/items/a%20b?q=x%2By+z&t=1 HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(out, "\"id\":\"a b\""));
    assert_non_null(strstr(out, "\"path\":\"/v1/items/a b\""));
    assert_non_null(strstr(out, "\"q\":\"x+y z\""));
    mp_net__fake_free(c);
}

static void test_pipelining_in_order(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "GET /v1/hold HTTP/1.1\r\n\r\nGET /v1/items/2 HTTP/1.1\r\n\r\n"
                              "GET /healthz HTTP/1.1\r\n\r\n");
    /* The second and third are answered, but wait for the first. */
    assert_int_equal(nheld, 1);
    assert_string_equal(out, "");
    mp_http_respond(held[0], 200, json_pack("{s:i}", "first", 1));
    out = mp_net__fake_output(c, NULL);
    assert_int_equal(count(out, "HTTP/1.1 200 OK"), 3);
    const char *a = strstr(out, "\"first\""), *b = strstr(out, "\"id\":\"2\""),
               *d = strstr(out, "\"status\":\"ok\"");
    assert_true(a && b && d && a < b && b < d);
    mp_net__fake_free(c);
}

static void test_pipelining_backpressure(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    char big[40 * 32];
    big[0] = '\0';
    for (int i = 0; i < 40; i++)
        strcat(big, "GET /v1/hold HTTP/1.1\r\n\r\n");
    feed(c, big);
    /* One handler at a time; the rest waits unparsed, then flows. */
    assert_int_equal(nheld, 1);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(nheld, i + 1);
        mp_http_respond(held[i], i < 32 ? 200 : 204, NULL);
    }
    const char *out = mp_net__fake_output(c, NULL);
    assert_int_equal(count(out, "HTTP/1.1 200 OK"), 32);
    assert_int_equal(count(out, "HTTP/1.1 204 No Content"), 8);
    mp_net__fake_free(c);
}

/* Replies are not built ahead of a slow one: reading stops instead of
 * queueing reply after reply behind it. */
static void test_pipelined_output_bounded(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    char reqs[64 * 32];
    strcpy(reqs, "GET /v1/hold HTTP/1.1\r\n\r\n");
    for (int i = 0; i < 60; i++)
        strcat(reqs, "GET /v1/big HTTP/1.1\r\n\r\n");
    feed(c, reqs);
    assert_int_equal(nheld, 1);
    assert_string_equal(mp_net__fake_output(c, NULL), "");
    print_message("built %d large replies behind the held one\n", nbig);
    assert_int_equal(nbig, 0);
    /* Once the head is answered everything flows, in order. */
    mp_http_respond(held[0], 204, NULL);
    size_t len;
    const char *out = mp_net__fake_output(c, &len);
    assert_int_equal(nbig, 60);
    assert_int_equal(count(out, "HTTP/1.1 200 OK"), 60);
    assert_true(strncmp(out, "HTTP/1.1 204", 12) == 0);
    mp_net__fake_free(c);
}

/* A peer that does not read: the server stops reading it once it holds
 * MP_NET_HTTP_WQ (1 MiB) of its responses, and goes on when it reads. */
static void test_unread_output_bounded(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    mp_net__fake_stall(c, true);
    char reqs[64 * 16];
    reqs[0] = '\0';
    for (int i = 0; i < 10; i++)
        strcat(reqs, "GET /v1/big HTTP/1.1\r\n\r\n");
    feed(c, reqs);
    assert_int_equal(nbig, 4); /* 4 x 300 KB >= 1 MiB */
    assert_true(mp_net__out_total(srv) >= 1200000);
    mp_net__fake_stall(c, false);
    mp_net__fake_drain(c);
    assert_int_equal(nbig, 10);
    assert_int_equal(count(mp_net__fake_output(c, NULL), "HTTP/1.1 200 OK"), 10);
    assert_int_equal(mp_net__out_total(srv), 0);
    mp_net__fake_free(c);
}

/* A peer that reads nothing is closed by the idle deadline even though the
 * server still holds output for it, and that output is released. */
static void test_stalled_peer_times_out(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    mp_net__fake_stall(c, true);
    feed(c, "GET /v1/big HTTP/1.1\r\n\r\nGET /v1/big HTTP/1.1\r\n\r\n");
    assert_true(mp_net__out_total(srv) >= 600000);
    assert_false(mp_net__fake_closing(c));
    mp_net__fake_expire(c); /* idle_timeout without the peer reading */
    assert_true(mp_net__fake_closing(c));
    assert_int_equal(mp_net__out_total(srv), 0);
    mp_net__fake_free(c);
}

/* Over max_output_total, a connection holding unread output is not read;
 * one whose peer keeps up is served as usual. */
static void test_output_budget(void **state)
{
    (void)state;
    cfg.max_output_total = 64 * 1024;
    mp_conn_t *a = mp_net__fake_new(srv);
    mp_net__fake_stall(a, true);
    feed(a, "GET /v1/big HTTP/1.1\r\n\r\nGET /v1/big HTTP/1.1\r\n\r\n"
            "GET /v1/big HTTP/1.1\r\n\r\n");
    assert_int_equal(nbig, 1); /* 300 KB held: over the budget, under 1 MiB */
    mp_conn_t *b = mp_net__fake_new(srv);
    const char *out = feed(b, "GET /healthz HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n");
    assert_int_equal(count(out, "HTTP/1.1 200 OK"), 2);
    /* a reads what it was sent: one more reply, held again. */
    mp_net__fake_drain(a);
    assert_int_equal(nbig, 2);
    mp_net__fake_stall(a, false);
    mp_net__fake_drain(a);
    assert_int_equal(nbig, 3);
    assert_int_equal(count(mp_net__fake_output(a, NULL), "HTTP/1.1 200 OK"), 3);
    assert_int_equal(mp_net__out_total(srv), 0);
    mp_net__fake_free(a);
    mp_net__fake_free(b);
}

static void test_http10_closes(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "GET /healthz HTTP/1.0\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n");
    assert_int_equal(count(out, "HTTP/1.1 200"), 1);
    assert_non_null(strstr(out, "Connection: close\r\n"));
    assert_true(mp_net__fake_closing(c));
    mp_net__fake_free(c);
    c = mp_net__fake_new(srv);
    out = feed(c, "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_non_null(strstr(out, "Connection: keep-alive\r\n"));
    assert_false(mp_net__fake_closing(c));
    mp_net__fake_free(c);
}

static void test_connection_close(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(out, "Connection: close\r\n"));
    assert_true(mp_net__fake_closing(c));
    mp_net__fake_free(c);
}

static void test_header_too_large(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    char req[3000];
    char pad[1500];
    memset(pad, 'a', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nX-Pad: %s\r\n\r\n", pad);
    const char *out = feed(c, req);
    assert_non_null(strstr(out, "HTTP/1.1 431 "));
    assert_non_null(strstr(out, "\"code\":\"too_large\""));
    assert_non_null(strstr(out, "Connection: close\r\n"));
    assert_true(mp_net__fake_closing(c));
    mp_net__fake_free(c);
}

#define X16 "xxxxxxxxxxxxxxxx"
#define X64 X16 X16 X16 X16

static void test_body_too_large(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "POST /v1/items HTTP/1.1\r\nAuthorization: Bearer tok\r\n"
                              "Content-Type: application/json\r\nContent-Length: 101\r\n\r\n");
    /* Refused on the declared length, before any body byte. */
    assert_non_null(strstr(out, "HTTP/1.1 413 Payload Too Large\r\n"));
    assert_non_null(strstr(out, "\"code\":\"too_large\""));
    assert_true(mp_net__fake_closing(c));
    mp_net__fake_free(c);

    c = mp_net__fake_new(srv);
    feed(c, "POST /v1/items HTTP/1.1\r\nAuthorization: Bearer tok\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            "40\r\n" X64 "\r\n");
    assert_string_equal(mp_net__fake_output(c, NULL), "");
    out = feed(c, "40\r\n" X64 "\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 413 "));
    assert_true(mp_net__fake_closing(c));
    mp_net__fake_free(c);
}

static void test_header_timeout(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    feed(c, "GET /healthz HTTP/1.1\r\nX-Slow: ");
    mp_net__fake_expire(c); /* the header deadline */
    const char *out = mp_net__fake_output(c, NULL);
    assert_non_null(strstr(out, "HTTP/1.1 408 Request Timeout\r\n"));
    assert_non_null(strstr(out, "\"code\":\"timeout\""));
    assert_true(mp_net__fake_closing(c));
    mp_net__fake_free(c);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    feed(c, "GET /healthz HTTP/1.1\r\n\r\n");
    mp_net__fake_clear(c);
    mp_net__fake_expire(c); /* the keep-alive deadline: closed without a word */
    assert_true(mp_net__fake_closing(c));
    assert_string_equal(mp_net__fake_output(c, NULL), "");
    mp_net__fake_free(c);
}

static void test_bad_syntax(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 400 "));
    assert_non_null(strstr(out, "\"code\":\"bad_request\""));
    assert_true(mp_net__fake_closing(c));
    mp_net__fake_free(c);
}

static void test_auth(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "DELETE /v1/items/1 HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 401 Unauthorized\r\n"));
    assert_non_null(strstr(out, "WWW-Authenticate: Bearer\r\n"));
    assert_non_null(strstr(out, "\"code\":\"unauthorized\""));
    mp_net__fake_clear(c);
    out = feed(c, "DELETE /v1/items/1 HTTP/1.1\r\nAuthorization: Bearer nope\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 401 "));
    mp_net__fake_clear(c);
    out = feed(c, "DELETE /v1/items/1 HTTP/1.1\r\nAuthorization: bearer tok\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 200 "));
    assert_int_equal(seen.user_id, 7);
    assert_int_equal(seen.device_id, 8);
    /* Public route: a bad token is ignored, a good one is parsed. */
    mp_net__fake_clear(c);
    out = feed(c, "GET /v1/items/1 HTTP/1.1\r\nAuthorization: Bearer nope\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 200 "));
    assert_int_equal(seen.user_id, 0);
    feed(c, "GET /v1/items/1 HTTP/1.1\r\nAuthorization: Bearer tok\r\n\r\n");
    assert_int_equal(seen.user_id, 7);
    mp_net__fake_free(c);
}

static const char *post(mp_conn_t *c, const char *ctype, const char *body)
{
    char req[512];
    snprintf(req, sizeof(req),
             "POST /v1/items HTTP/1.1\r\nAuthorization: Bearer tok\r\n%s%s%s"
             "Content-Length: %zu\r\n\r\n%s",
             ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "", strlen(body),
             body);
    mp_net__fake_clear(c);
    return feed(c, req);
}

static void test_json_body(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = post(c, "text/plain", "{}");
    assert_non_null(strstr(out, "HTTP/1.1 415 "));
    assert_non_null(strstr(out, "\"code\":\"unsupported_media_type\""));
    out = post(c, NULL, "{}");
    assert_non_null(strstr(out, "HTTP/1.1 415 "));
    out = post(c, "application/json", "{\"a\":");
    assert_non_null(strstr(out, "HTTP/1.1 400 "));
    assert_non_null(strstr(out, "\"code\":\"bad_json\""));
    out = post(c, "application/json", "[1,2]");
    assert_non_null(strstr(out, "\"code\":\"bad_json\""));
    out = post(c, "application/json", "");
    assert_non_null(strstr(out, "\"code\":\"bad_json\""));
    out = post(c, "Application/JSON; charset=utf-8", "{\"a\":\"\xc3\xa9\"}");
    assert_non_null(strstr(out, "HTTP/1.1 201 Created\r\n"));
    assert_non_null(strstr(out, "{\"a\":\"\xc3\xa9\"}"));
    out = post(c, "application/json", "{\"a\":\"\xff\"}");
    assert_non_null(strstr(out, "\"code\":\"bad_json\""));
    assert_false(mp_net__fake_closing(c)); /* errors keep the connection */
    mp_net__fake_free(c);
}

static void test_cors(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "OPTIONS /v1/items HTTP/1.1\r\nOrigin: https://app.example\r\n"
                              "Access-Control-Request-Method: POST\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 204 No Content\r\n"));
    assert_non_null(strstr(out, "Access-Control-Allow-Origin: https://app.example\r\n"));
    assert_non_null(
        strstr(out, "Access-Control-Allow-Headers: Authorization, Content-Type, Tus-Resumable, "));
    assert_non_null(strstr(out, "Access-Control-Allow-Methods: "));
    assert_non_null(strstr(out, "Access-Control-Max-Age: "));
    mp_net__fake_clear(c);
    out = feed(c, "OPTIONS /v1/items HTTP/1.1\r\nOrigin: https://evil.example\r\n"
                  "Access-Control-Request-Method: POST\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 403 "));
    assert_null(strstr(out, "Access-Control-Allow-Origin"));
    mp_net__fake_clear(c);
    out = feed(c, "GET /healthz HTTP/1.1\r\nOrigin: http://x.test\r\n\r\n");
    assert_non_null(strstr(out, "Access-Control-Allow-Origin: http://x.test\r\n"));
    mp_net__fake_clear(c);
    out = feed(c, "GET /healthz HTTP/1.1\r\nOrigin: http://y.test\r\n\r\n");
    assert_null(strstr(out, "Access-Control-Allow-Origin"));
    mp_net__fake_free(c);
}

static void test_expect_continue(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "POST /v1/items HTTP/1.1\r\nAuthorization: Bearer tok\r\n"
                              "Content-Type: application/json\r\nExpect: 100-continue\r\n"
                              "Content-Length: 2\r\n\r\n");
    assert_string_equal(out, "HTTP/1.1 100 Continue\r\n\r\n");
    out = feed(c, "{}");
    assert_non_null(strstr(out, "HTTP/1.1 201 Created\r\n"));
    mp_net__fake_free(c);
}

static void test_respond_after_gone(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    feed(c, "GET /v1/hold HTTP/1.1\r\n\r\n");
    assert_int_equal(nheld, 1);
    assert_false(mp_http_req_gone(held[0]));
    mp_net__fake_free(c);
    assert_true(mp_http_req_gone(held[0]));
    mp_http_respond(held[0], 200, json_object()); /* freed, nothing written */
}

static void test_ws_route_without_upgrade(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "GET /v1/ws HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 400 "));
    mp_net__fake_clear(c);
    out = feed(c, "POST /v1/ws HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 405 "));
    mp_net__fake_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_healthz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readyz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found_and_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_params_query_decoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelining_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelining_backpressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_output_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unread_output_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stalled_peer_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http10_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_syntax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expect_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_respond_after_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ws_route_without_upgrade, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
