/* Streamed request bodies (MP_ROUTE_BODY_STREAM), HEAD, explicit OPTIONS
 * routes and fixed-length streamed responses, through fake connections;
 * test_http_body_socket.c runs large bodies over real sockets. */
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
#include "util/alloc.h"
#include "util/log.h"

static uv_loop_t loop;
static mp_config_t cfg;
static mp_server_t *srv;

/* What the upload handler does at the head. */
enum { M_START, M_REFUSE, M_HOLD };
static int mode;
static bool pause_each; /* the consumer pauses after every piece */
static bool answer_at_end = true;
static mp_http_req_t *held; /* M_HOLD, or the request being consumed */
static size_t got, max_piece, pieces;
static int ends, aborts, handled;
static char last[64];

static void consume(mp_http_req_t *req, mp_body_ev_t ev, const char *data, size_t len, void *ud)
{
    (void)ud;
    if (ev == MP_BODY_DATA) {
        got += len;
        pieces++;
        if (len > max_piece)
            max_piece = len;
        size_t k = len < sizeof last - 1 ? len : sizeof last - 1;
        memcpy(last, data + len - k, k);
        last[k] = '\0';
        if (pause_each)
            mp_http_body_pause(req, true);
        return;
    }
    if (ev == MP_BODY_END) {
        ends++;
        if (answer_at_end) {
            held = NULL;
            mp_http_respond(req, 201, json_pack("{s:I}", "bytes", (json_int_t)got));
        }
        return;
    }
    aborts++;
    held = NULL;
    mp_http_respond(req, 500, NULL); /* discarded, frees req */
}

static void h_upload(mp_http_req_t *req)
{
    handled++;
    held = req;
    if (mode == M_REFUSE) {
        held = NULL;
        mp_http_respond_error(req, MP_ERR_TOO_LARGE, NULL);
    } else if (mode == M_START) {
        mp_http_body_start(req, consume, NULL);
    }
}

static void h_json(mp_http_req_t *req)
{
    mp_http_respond(req, 200, json_pack("{s:s}", "a", "bcd"));
}

static size_t dl_len = 10, dl_write = 10;

/* A fixed-length download of dl_len bytes of which dl_write are written in
 * two owned pieces. */
static void h_download(mp_http_req_t *req)
{
    mp_http_add_header(req, "ETag", "\"k\"");
    if (!mp_http_stream_begin_length(req, 200, "application/octet-stream", dl_len)) {
        mp_http_stream_end(req, false);
        return;
    }
    size_t half = dl_write / 2;
    char *a = mp_malloc(half + 1), *b = mp_malloc(dl_write - half + 1);
    for (size_t i = 0; i < half; i++)
        a[i] = (char)('0' + i % 10);
    for (size_t i = half; i < dl_write; i++)
        b[i - half] = (char)('0' + i % 10);
    bool ok = mp_http_stream_write_owned(req, a, half);
    if (ok)
        ok = mp_http_stream_write_owned(req, b, dl_write - half);
    else
        mp_free(b); /* never given */
    mp_http_stream_end(req, ok);
}

/* A chunked stream written with owned buffers. */
static void h_chunked(mp_http_req_t *req)
{
    mp_http_stream_begin(req, 200, "text/plain");
    mp_http_stream_write_owned(req, mp_strdup("hello "), 6);
    mp_http_stream_write_owned(req, mp_strdup("world"), 5);
    mp_http_stream_end(req, true);
}

static void h_options(mp_http_req_t *req)
{
    mp_http_add_header(req, "Tus-Resumable", "1.0.0");
    mp_http_respond(req, 204, NULL);
}

static const mp_route_t routes[] = {
    {"POST", "/v1/up", MP_ROUTE_PUBLIC | MP_ROUTE_BODY_STREAM, h_upload},
    {"PATCH", "/v1/up/{id}", MP_ROUTE_AUTH | MP_ROUTE_BODY_STREAM, h_upload},
    {"GET", "/v1/json", MP_ROUTE_PUBLIC, h_json},
    {"GET", "/v1/dl", MP_ROUTE_PUBLIC, h_download},
    {"GET", "/v1/chunked", MP_ROUTE_PUBLIC, h_chunked},
    {"OPTIONS", "/v1/tus", MP_ROUTE_PUBLIC, h_options},
    {"POST", "/v1/tus", MP_ROUTE_PUBLIC, h_json},
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

static int setup(void **state)
{
    (void)state;
    static const mp_server_hooks_t hooks = {.authenticate = auth};
    mp_log_set_level(MP_LOG_OFF);
    mp_config_defaults(&cfg);
    cfg.max_body = 100;
    cfg.max_body_total = 1000;
    snprintf(cfg.cors_origins, sizeof(cfg.cors_origins), "https://app.example");
    uv_loop_init(&loop);
    srv = mp_server_new(&loop, &cfg, routes, &hooks, NULL);
    mode = M_START;
    pause_each = false;
    answer_at_end = true;
    held = NULL;
    got = max_piece = pieces = 0;
    ends = aborts = handled = 0;
    dl_len = dl_write = 10;
    last[0] = '\0';
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

/* A body far over max_body goes through piece by piece; the connection then
 * carries the next request. */
static void test_stream_and_keep_alive(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "POST /v1/up HTTP/1.1\r\nContent-Length: 1000\r\n\r\n");
    assert_int_equal(handled, 1);
    assert_string_equal(out, ""); /* no 100 Continue: not asked for */
    char piece[250];
    memset(piece, 'x', sizeof piece);
    for (int i = 0; i < 4; i++)
        mp_net__fake_feed(c, piece, sizeof piece);
    assert_int_equal(got, 1000);
    assert_int_equal(pieces, 4);
    assert_int_equal(max_piece, 250);
    assert_int_equal(ends, 1);
    assert_int_equal(aborts, 0);
    out = mp_net__fake_output(c, NULL);
    assert_non_null(strstr(out, "HTTP/1.1 201 Created\r\n"));
    assert_non_null(strstr(out, "Connection: keep-alive\r\n"));
    assert_non_null(strstr(out, "{\"bytes\":1000}"));
    assert_false(mp_net__fake_closing(c));
    mp_net__fake_clear(c);
    out = feed(c, "GET /v1/json HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
    assert_false(mp_net__fake_closing(c));
    mp_net__fake_free(c);
    assert_int_equal(aborts, 0);
}

/* Everything in one read: head, body and a pipelined request; the next
 * request waits for the answer, given after END. */
static void test_one_read_pipelined(void **state)
{
    (void)state;
    answer_at_end = false;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "POST /v1/up HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
                              "GET /v1/json HTTP/1.1\r\n\r\n");
    assert_int_equal(ends, 1);
    assert_string_equal(last, "hello");
    assert_string_equal(out, ""); /* the GET waits */
    mp_http_respond(held, 204, NULL);
    held = NULL;
    out = mp_net__fake_output(c, NULL);
    assert_non_null(strstr(out, "HTTP/1.1 204 No Content\r\n"));
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
    assert_true(strstr(out, "204 No Content") < strstr(out, "200 OK"));
    mp_net__fake_free(c);
}

/* The consumer pauses after every piece: nothing more is delivered until it
 * resumes, and what arrived meanwhile comes first. */
static void test_pause_resume(void **state)
{
    (void)state;
    pause_each = true;
    mp_conn_t *c = mp_net__fake_new(srv);
    feed(c, "POST /v1/up HTTP/1.1\r\nContent-Length: 12\r\n\r\nabcd");
    assert_int_equal(pieces, 1);
    feed(c, "efgh");
    feed(c, "ijkl");
    assert_int_equal(pieces, 1); /* paused: kept unread */
    mp_http_body_pause(held, false);
    assert_int_equal(pieces, 2);
    assert_string_equal(last, "efghijkl");
    /* The end, too, waits for the consumer. */
    assert_int_equal(ends, 0);
    mp_http_body_pause(held, false);
    assert_int_equal(ends, 1);
    assert_non_null(strstr(mp_net__fake_output(c, NULL), "{\"bytes\":12}"));
    mp_net__fake_free(c);
}

/* The handler starts the body later (after a store job, say). */
static void test_start_later_and_continue(void **state)
{
    (void)state;
    mode = M_HOLD;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "POST /v1/up HTTP/1.1\r\nContent-Length: 3\r\n"
                              "Expect: 100-continue\r\n\r\n");
    assert_int_equal(handled, 1);
    assert_string_equal(out, ""); /* 100 Continue only once the handler takes the body */
    assert_non_null(held);
    assert_int_equal(mp_http_req_content_length(held), 3);
    mp_http_body_start(held, consume, NULL);
    out = mp_net__fake_output(c, NULL);
    assert_string_equal(out, "HTTP/1.1 100 Continue\r\n\r\n");
    feed(c, "abc");
    assert_int_equal(ends, 1);
    assert_non_null(strstr(mp_net__fake_output(c, NULL), "HTTP/1.1 201 Created\r\n"));
    mp_net__fake_free(c);
}

/* An answer at the head: no 100 Continue, the body is never read and the
 * connection closes after the answer. */
static void test_answer_before_body(void **state)
{
    (void)state;
    mode = M_REFUSE;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "POST /v1/up HTTP/1.1\r\nContent-Length: 100000000\r\n"
                              "Expect: 100-continue\r\n\r\nsome body");
    assert_null(strstr(out, "100 Continue"));
    assert_non_null(strstr(out, "HTTP/1.1 413 Payload Too Large\r\n"));
    assert_non_null(strstr(out, "Connection: close\r\n"));
    assert_true(mp_net__fake_closing(c));
    mp_net__fake_free(c);
    assert_int_equal(got, 0);
    assert_int_equal(aborts, 0);
}

/* Answering midway (a disk error) closes too, and no piece follows. */
static void test_answer_midway(void **state)
{
    (void)state;
    answer_at_end = false;
    mp_conn_t *c = mp_net__fake_new(srv);
    feed(c, "POST /v1/up HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
    assert_int_equal(got, 3);
    mp_http_respond_error(held, MP_ERR_INTERNAL, NULL);
    held = NULL;
    feed(c, "defghij");
    assert_int_equal(got, 3);
    const char *out = mp_net__fake_output(c, NULL);
    assert_non_null(strstr(out, "HTTP/1.1 500 "));
    assert_non_null(strstr(out, "Connection: close\r\n"));
    assert_true(mp_net__fake_closing(c));
    mp_net__fake_free(c);
    assert_int_equal(ends + aborts, 0);
}

static void test_chunked_length_required(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "POST /v1/up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "5\r\nhello\r\n0\r\n\r\n");
    assert_int_equal(handled, 0);
    assert_non_null(strstr(out, "HTTP/1.1 411 Length Required\r\n"));
    assert_non_null(strstr(out, "\"code\":\"length_required\""));
    assert_true(mp_net__fake_closing(c));
    mp_net__fake_free(c);
    /* No length at all is refused the same way. */
    c = mp_net__fake_new(srv);
    out = feed(c, "POST /v1/up HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 411 Length Required\r\n"));
    mp_net__fake_free(c);
    assert_int_equal(handled, 0);
}

/* Authentication is checked at the head, before the handler and the body. */
static void test_auth_at_head(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "PATCH /v1/up/1 HTTP/1.1\r\nContent-Length: 5\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 401 Unauthorized\r\n"));
    assert_true(mp_net__fake_closing(c));
    mp_net__fake_free(c);
    assert_int_equal(handled, 0);
    c = mp_net__fake_new(srv);
    feed(c, "PATCH /v1/up/1 HTTP/1.1\r\nAuthorization: Bearer tok\r\nContent-Length: 5\r\n\r\n"
            "12345");
    assert_int_equal(handled, 1);
    assert_int_equal(ends, 1);
    mp_net__fake_free(c);
}

static void test_empty_body(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "POST /v1/up HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
                              "GET /v1/json HTTP/1.1\r\n\r\n");
    assert_int_equal(ends, 1);
    assert_int_equal(pieces, 0);
    assert_non_null(strstr(out, "HTTP/1.1 201 Created\r\n"));
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
    assert_false(mp_net__fake_closing(c));
    mp_net__fake_free(c);
    /* Refused at the head, an empty body leaves the connection open. */
    mode = M_REFUSE;
    c = mp_net__fake_new(srv);
    out = feed(c, "POST /v1/up HTTP/1.1\r\nContent-Length: 0\r\n\r\nGET /v1/json HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 413 "));
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
    assert_false(mp_net__fake_closing(c));
    mp_net__fake_free(c);
}

/* The client goes away midway: ABORT once, whether reading or paused, and
 * the handler's answer then only frees the request. */
static void test_abort(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    feed(c, "POST /v1/up HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
    mp_net__fake_free(c);
    assert_int_equal(aborts, 1);
    assert_int_equal(ends, 0);
    pause_each = true;
    c = mp_net__fake_new(srv);
    feed(c, "POST /v1/up HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
    assert_non_null(held);
    mp_net__fake_free(c);
    assert_int_equal(aborts, 2);
    /* Gone before the handler took the body: ABORT from body_start. */
    mode = M_HOLD;
    c = mp_net__fake_new(srv);
    feed(c, "POST /v1/up HTTP/1.1\r\nContent-Length: 10\r\n\r\n");
    mp_http_req_t *r = held;
    mp_net__fake_free(c);
    assert_int_equal(aborts, 2);
    assert_true(mp_http_req_gone(r));
    mp_http_body_start(r, consume, NULL);
    assert_int_equal(aborts, 3);
}

/* idle_timeout between pieces, also while the consumer is paused. */
static void test_idle_timeout(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    feed(c, "POST /v1/up HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
    mp_net__fake_expire(c);
    assert_int_equal(aborts, 1);
    assert_true(mp_net__fake_closing(c));
    mp_net__fake_free(c);
    pause_each = true;
    c = mp_net__fake_new(srv);
    feed(c, "POST /v1/up HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
    mp_net__fake_expire(c);
    assert_int_equal(aborts, 2);
    mp_net__fake_free(c);
    assert_int_equal(aborts, 2);
}

static void test_head_json(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    size_t len;
    const char *out = feed(c, "HEAD /v1/json HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(out, "Content-Length: 11\r\n")); /* {"a":"bcd"} */
    assert_non_null(strstr(out, "Content-Type: application/json\r\n"));
    out = mp_net__fake_output(c, &len);
    assert_true(len >= 4 && memcmp(out + len - 4, "\r\n\r\n", 4) == 0); /* no body */
    mp_net__fake_clear(c);
    /* Errors too, and the connection stays usable. */
    out = feed(c, "HEAD /v1/nope HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 404 Not Found\r\n"));
    out = mp_net__fake_output(c, &len);
    assert_true(memcmp(out + len - 4, "\r\n\r\n", 4) == 0);
    assert_null(strstr(out, "not_found"));
    mp_net__fake_clear(c);
    out = feed(c, "HEAD /healthz HTTP/1.1\r\n\r\nGET /v1/json HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(out, "Content-Length: 15\r\n")); /* {"status":"ok"} */
    assert_non_null(strstr(out, "{\"a\":\"bcd\"}"));
    assert_null(strstr(out, "status"));
    mp_net__fake_free(c);
}

static void test_fixed_length_and_head(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "GET /v1/dl HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(out, "Content-Length: 10\r\n"));
    assert_non_null(strstr(out, "Connection: keep-alive\r\n"));
    assert_non_null(strstr(out, "ETag: \"k\"\r\n"));
    assert_null(strstr(out, "chunked"));
    assert_non_null(strstr(out, "\r\n\r\n0123456789"));
    mp_net__fake_clear(c);
    size_t len;
    out = feed(c, "HEAD /v1/dl HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(out, "Content-Length: 10\r\n"));
    out = mp_net__fake_output(c, &len);
    assert_true(memcmp(out + len - 4, "\r\n\r\n", 4) == 0);
    mp_net__fake_clear(c);
    out = feed(c, "GET /v1/chunked HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(out, "Transfer-Encoding: chunked\r\n"));
    assert_non_null(strstr(out, "6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n"));
    mp_net__fake_clear(c);
    out = feed(c, "HEAD /v1/chunked HTTP/1.1\r\n\r\n");
    out = mp_net__fake_output(c, &len);
    assert_true(memcmp(out + len - 4, "\r\n\r\n", 4) == 0);
    assert_null(strstr(out, "hello"));
    assert_false(mp_net__fake_closing(c));
    mp_net__fake_free(c);
}

/* A producer that ends short closes the connection; one that writes too
 * much is cut off at once. */
static void test_length_mismatch(void **state)
{
    (void)state;
    dl_write = 6;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "GET /v1/dl HTTP/1.1\r\n\r\nGET /v1/json HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(out, "Content-Length: 10\r\n"));
    assert_non_null(strstr(out, "012345"));
    assert_null(strstr(out, "bcd")); /* the next request is not served */
    assert_true(mp_net__fake_closing(c));
    mp_net__fake_free(c);
    dl_len = 4;
    dl_write = 10;
    c = mp_net__fake_new(srv);
    out = feed(c, "GET /v1/dl HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(out, "Content-Length: 4\r\n"));
    assert_null(strstr(out, "01234"));
    assert_true(mp_net__fake_closing(c));
    mp_net__fake_free(c);
}

static void test_options(void **state)
{
    (void)state;
    mp_conn_t *c = mp_net__fake_new(srv);
    const char *out = feed(c, "OPTIONS /v1/tus HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 204 No Content\r\n"));
    assert_non_null(strstr(out, "Tus-Resumable: 1.0.0\r\n"));
    mp_net__fake_clear(c);
    /* A CORS preflight to the same path gets the preflight answer. */
    out = feed(c, "OPTIONS /v1/tus HTTP/1.1\r\nOrigin: https://app.example\r\n"
                  "Access-Control-Request-Method: PATCH\r\n"
                  "Access-Control-Request-Headers: upload-offset\r\n\r\n");
    assert_non_null(strstr(out, "HTTP/1.1 204 No Content\r\n"));
    assert_null(strstr(out, "Tus-Resumable: 1.0.0\r\n"));
    assert_non_null(strstr(out, "Access-Control-Allow-Methods: GET, HEAD, POST"));
    assert_non_null(strstr(out, "Upload-Offset"));
    assert_non_null(strstr(out, "If-None-Match"));
    mp_net__fake_clear(c);
    /* Elsewhere OPTIONS is the generic answer, as before. */
    out = feed(c, "OPTIONS /v1/json HTTP/1.1\r\n\r\n");
    assert_non_null(strstr(out, "Allow: GET, HEAD, POST"));
    mp_net__fake_clear(c);
    /* Responses to an allowed origin expose the upload headers. */
    out = feed(c, "GET /v1/json HTTP/1.1\r\nOrigin: https://app.example\r\n\r\n");
    assert_non_null(strstr(out, "Access-Control-Expose-Headers: Upload-Offset, "));
    assert_non_null(strstr(out, "Magpie-File-Id"));
    assert_int_equal(count(out, "HTTP/1.1"), 1);
    mp_net__fake_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stream_and_keep_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_read_pipelined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_later_and_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_before_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_midway, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_length_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_at_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fixed_length_and_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_length_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
