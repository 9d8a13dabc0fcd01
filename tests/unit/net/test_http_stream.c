/* Streamed HTTP responses through fake connections: chunked encoding,
 * HTTP/1.0 close-delimited bodies, waiting for output to drain, a client
 * that goes away while the producer waits or works, a producer that fails
 * midway, and pipelined requests after a stream. */
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
static mp_http_req_t *held;

static void h_stream(mp_http_req_t *req)
{
    held = req;
}

static void h_plain(mp_http_req_t *req)
{
    mp_http_respond(req, 200, json_pack("{s:s}", "after", "stream"));
}

static const mp_route_t routes[] = {
    {"GET", "/v1/stream", MP_ROUTE_PUBLIC, h_stream},
    {"GET", "/v1/plain", MP_ROUTE_PUBLIC, h_plain},
    {0},
};

static int setup(void **state)
{
    (void)state;
    mp_log_set_level(MP_LOG_WARN);
    mp_config_defaults(&cfg);
    uv_loop_init(&loop);
    srv = mp_server_new(&loop, &cfg, routes, NULL, NULL);
    held = NULL;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mpu_server_close(&loop, srv);
    return 0;
}

static mp_conn_t *start(const char *request)
{
    mp_conn_t *c = mp_net__fake_new(srv);
    mp_net__fake_feed(c, request, strlen(request));
    assert_non_null(held);
    return c;
}

static void test_chunked(void **state)
{
    (void)state;
    mp_conn_t *c = start("GET /v1/stream HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /v1/plain HTTP/1.1\r\nHost: x\r\n\r\n");
    mp_http_add_header(held, "Cache-Control", "no-store");
    assert_true(mp_http_stream_begin(held, 200, "application/json"));
    const char *out = mp_net__fake_output(c, NULL);
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(out, "Content-Type: application/json\r\n"));
    assert_non_null(strstr(out, "Transfer-Encoding: chunked\r\n"));
    assert_non_null(strstr(out, "Cache-Control: no-store\r\n"));
    assert_null(strstr(out, "Content-Length"));
    /* The pipelined request waits for the stream. */
    assert_null(strstr(out, "\"after\""));
    assert_true(mp_http_stream_write(held, "hello", 5));
    assert_true(mp_http_stream_write(held, "", 0)); /* not an end */
    char big[300];
    memset(big, 'y', sizeof big);
    assert_true(mp_http_stream_write(held, big, sizeof big));
    mp_http_stream_end(held, true);
    out = mp_net__fake_output(c, NULL);
    const char *body = strstr(out, "\r\n\r\n") + 4;
    assert_memory_equal(body, "5\r\nhello\r\n12c\r\nyyy", 18);
    const char *last = strstr(body, "0\r\n\r\n");
    assert_non_null(last);
    assert_ptr_equal(last, body + 10 + 5 + 300 + 2);
    /* Then the next request is answered on the same connection. */
    assert_non_null(strstr(last, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(last, "{\"after\":\"stream\"}"));
    assert_false(mp_net__fake_closing(c));
    mp_net__fake_free(c);
}

static void test_http10_close_delimited(void **state)
{
    (void)state;
    mp_conn_t *c = start("GET /v1/stream HTTP/1.0\r\n\r\n");
    assert_true(mp_http_stream_begin(held, 200, "text/plain"));
    assert_true(mp_http_stream_write(held, "abc", 3));
    assert_true(mp_http_stream_write(held, "def", 3));
    mp_http_stream_end(held, true);
    const char *out = mp_net__fake_output(c, NULL);
    assert_null(strstr(out, "Transfer-Encoding"));
    assert_null(strstr(out, "Content-Length"));
    assert_non_null(strstr(out, "Connection: close\r\n"));
    assert_non_null(strstr(out, "\r\n\r\nabcdef"));
    assert_null(strstr(out, "0\r\n\r\n"));
    /* The end of the body is the end of the connection. */
    assert_true(mp_net__fake_closing(c));
    mp_net__fake_free(c);
}

static int drained_calls, gone_calls;

static void on_drained(mp_http_req_t *req, bool gone, void *ud)
{
    (void)ud;
    if (gone) {
        gone_calls++;
        mp_http_stream_end(req, false); /* frees req */
        held = NULL;
    } else {
        drained_calls++;
    }
}

static void test_wait_for_drain(void **state)
{
    (void)state;
    drained_calls = gone_calls = 0;
    mp_conn_t *c = start("GET /v1/stream HTTP/1.1\r\n\r\n");
    mp_net__fake_stall(c, true);
    assert_true(mp_http_stream_begin(held, 200, "application/json"));
    static char page[100 * 1000];
    memset(page, 'p', sizeof page);
    assert_true(mp_http_stream_write(held, page, sizeof page));
    assert_true(mp_http_stream_queued(held) >= sizeof page);
    mp_http_stream_wait(held, 1000, on_drained, NULL);
    assert_int_equal(drained_calls, 0);
    /* The client reads: the producer is told, once. */
    mp_net__fake_drain(c);
    assert_int_equal(drained_calls, 1);
    assert_true(mp_http_stream_queued(held) <= 1000);
    /* At or below the mark already: at once. */
    mp_http_stream_wait(held, 1000, on_drained, NULL);
    assert_int_equal(drained_calls, 2);
    mp_net__fake_stall(c, false);
    mp_http_stream_end(held, true);
    assert_int_equal(gone_calls, 0);
    mp_net__fake_free(c);
}

static void test_gone_while_waiting(void **state)
{
    (void)state;
    drained_calls = gone_calls = 0;
    mp_conn_t *c = start("GET /v1/stream HTTP/1.1\r\n\r\n");
    mp_net__fake_stall(c, true);
    assert_true(mp_http_stream_begin(held, 200, "application/json"));
    static char page[100 * 1000];
    memset(page, 'q', sizeof page);
    assert_true(mp_http_stream_write(held, page, sizeof page));
    mp_http_stream_wait(held, 0, on_drained, NULL);
    /* The client goes: the waiting producer learns it and ends (frees) its
     * request; the sanitizer build checks nothing is left. */
    mp_net__fake_free(c);
    assert_int_equal(gone_calls, 1);
    assert_int_equal(drained_calls, 0);
    assert_null(held);
}

static void test_gone_while_producing(void **state)
{
    (void)state;
    mp_conn_t *c = start("GET /v1/stream HTTP/1.1\r\n\r\n");
    assert_true(mp_http_stream_begin(held, 200, "application/json"));
    mp_net__fake_free(c);
    /* Later, e.g. when a store read completes: writes say so, end frees. */
    assert_true(mp_http_req_gone(held));
    assert_false(mp_http_stream_write(held, "x", 1));
    assert_int_equal(mp_http_stream_queued(held), 0);
    mp_http_stream_end(held, true);

    /* Gone before the head was even sent. */
    c = start("GET /v1/stream HTTP/1.1\r\n\r\n");
    mp_net__fake_free(c);
    assert_false(mp_http_stream_begin(held, 200, "application/json"));
    mp_http_stream_end(held, true);
}

static void test_producer_fails(void **state)
{
    (void)state;
    mp_conn_t *c = start("GET /v1/stream HTTP/1.1\r\n\r\n"
                         "GET /v1/plain HTTP/1.1\r\n\r\n");
    assert_true(mp_http_stream_begin(held, 200, "application/json"));
    assert_true(mp_http_stream_write(held, "{\"partial\":", 11));
    mp_http_stream_end(held, false);
    const char *out = mp_net__fake_output(c, NULL);
    /* No last chunk: the client sees a truncated body, and nothing more. */
    assert_null(strstr(out, "0\r\n\r\n"));
    assert_null(strstr(out, "\"after\""));
    assert_true(mp_net__fake_closing(c));
    mp_net__fake_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chunked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http10_close_delimited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_for_drain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gone_while_waiting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gone_while_producing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_producer_fails, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
