/* End-to-end tests of the HTTP gateway: health routes, JSON errors, body
 * limits, keep-alive, pipelining and the slow-header (slowloris) cut-off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <poll.h>
#include <time.h>

#include "harness.h"

static mpt_server_t *srv;   /* default configuration */
static mpt_server_t *small; /* --header_timeout 300 --max_body 4096 */

static int setup(void **state)
{
    (void)state;
    srv = mpt_server_start(NULL);
    const char *flags[] = {"--header_timeout", "300", "--max_body", "4096", NULL};
    small = mpt_server_start(flags);
    return srv && small ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int a = mpt_server_stop(srv);
    int b = mpt_server_stop(small);
    srv = small = NULL;
    return a == 0 && b == 0 ? 0 : -1;
}

static void test_healthz(void **state)
{
    (void)state;
    mpc_response_t r;
    assert_int_equal(mpt_http(srv, "GET", "/healthz", NULL, NULL, &r), 200);
    assert_non_null(r.json);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ok");
    assert_non_null(mpc_response_header(&r, "Content-Type"));
    assert_non_null(strstr(mpc_response_header(&r, "Content-Type"), "application/json"));
    mpc_response_free(&r);
}

static void test_readyz(void **state)
{
    (void)state;
    mpc_response_t r;
    assert_int_equal(mpt_http(srv, "GET", "/readyz", NULL, NULL, &r), 200);
    mpc_response_free(&r);
}

static void test_not_found(void **state)
{
    (void)state;
    mpc_response_t r;
    mpt_http(srv, "GET", "/v1/no/such/route", NULL, NULL, &r);
    MPT_ASSERT_HTTP_ERROR(&r, 404, "not_found");
    assert_non_null(
        json_string_value(json_object_get(json_object_get(r.json, "error"), "message")));
    mpc_response_free(&r);
}

static void test_method_not_allowed(void **state)
{
    (void)state;
    mpc_response_t r;
    mpt_http(srv, "GET", "/v1/auth/login", NULL, NULL, &r);
    MPT_ASSERT_HTTP_ERROR(&r, 405, "method_not_allowed");
    mpc_response_free(&r);
    mpt_http(srv, "DELETE", "/healthz", NULL, NULL, &r);
    MPT_ASSERT_HTTP_ERROR(&r, 405, "method_not_allowed");
    mpc_response_free(&r);
}

/* POSTs a raw body with a given content type on a fresh connection. */
static int post_raw(mpt_server_t *s, const char *path, const char *ctype, const char *body,
                    size_t len, mpc_response_t *r)
{
    mpc_conn_t *c = mpt_connect(s);
    assert_non_null(c);
    mpc_http_req_t req = {
        .method = "POST", .path = path, .content_type = ctype, .body = body, .body_len = len};
    int rc = mpc_http_send(c, &req, r, MPT_TIMEOUT);
    mpc_conn_free(c);
    return rc;
}

static void test_bad_json(void **state)
{
    (void)state;
    mpc_response_t r;
    const char *bodies[] = {"{not json", "{\"username\":\"a\",}", "", "\xff\xfe"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        size_t n = strlen(bodies[i]);
        /* An empty body still needs a Content-Length: 0 to be a body. */
        mpc_conn_t *c = mpt_connect(srv);
        assert_non_null(c);
        mpc_http_req_t req = {.method = "POST",
                              .path = "/v1/auth/register",
                              .body = n ? bodies[i] : NULL,
                              .body_len = n,
                              .extra_headers = n ? NULL
                                                 : "Content-Type: application/json\r\n"
                                                   "Content-Length: 0\r\n"};
        assert_int_equal(mpc_http_send(c, &req, &r, MPT_TIMEOUT), MPC_OK);
        mpc_conn_free(c);
        print_message("body %zu: %d %s\n", i, r.status, r.body);
        MPT_ASSERT_HTTP_ERROR(&r, 400, "bad_json");
        mpc_response_free(&r);
    }
}

static void test_wrong_content_type(void **state)
{
    (void)state;
    mpc_response_t r;
    const char *body = "{\"username\":\"abc\",\"password\":\"12345678\"}";
    assert_int_equal(post_raw(srv, "/v1/auth/login", "text/plain", body, strlen(body), &r), 0);
    MPT_ASSERT_HTTP_ERROR(&r, 415, "unsupported_media_type");
    mpc_response_free(&r);
    assert_int_equal(post_raw(srv, "/v1/auth/login", "application/x-www-form-urlencoded", body,
                              strlen(body), &r),
                     0);
    MPT_ASSERT_HTTP_ERROR(&r, 415, "unsupported_media_type");
    mpc_response_free(&r);
    /* A charset parameter is still JSON. */
    assert_int_equal(
        post_raw(srv, "/v1/auth/login", "application/json; charset=utf-8", body, strlen(body), &r),
        0);
    MPT_ASSERT_HTTP_ERROR(&r, 401, "bad_credentials");
    mpc_response_free(&r);
}

/* Sends a POST whose body is len bytes, in chunks, stopping early if the
 * server answers first (it may reject on Content-Length alone), and returns
 * its response. */
static void post_big(mpt_server_t *s, size_t len, mpc_response_t *r)
{
    mpc_conn_t *c = mpt_connect(s);
    assert_non_null(c);
    char head[256];
    snprintf(head, sizeof head,
             "POST /v1/auth/register HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n",
             s->hostport, len);
    assert_int_equal(mpc_send_raw(c, head, strlen(head), MPT_TIMEOUT), MPC_OK);
    char *chunk = malloc(65536);
    memset(chunk, ' ', 65536);
    chunk[0] = '[';
    for (size_t sent = 0; sent < len;) {
        struct pollfd p = {.fd = mpc_conn_fd(c), .events = POLLIN};
        if (poll(&p, 1, 0) > 0)
            break; /* an answer (or a close) already */
        size_t n = len - sent < 65536 ? len - sent : 65536;
        if (mpc_send_raw(c, chunk, n, MPT_TIMEOUT) != MPC_OK)
            break;
        chunk[0] = ' ';
        sent += n;
    }
    free(chunk);
    assert_int_equal(mpc_http_read_response(c, r, MPT_TIMEOUT), MPC_OK);
    mpc_conn_free(c);
}

static void test_oversize_body(void **state)
{
    (void)state;
    mpc_response_t r;
    post_big(srv, 1048576 + 1, &r);
    MPT_ASSERT_HTTP_ERROR(&r, 413, "too_large");
    mpc_response_free(&r);
    /* The server is fine afterwards. */
    assert_int_equal(mpt_http(srv, "GET", "/healthz", NULL, NULL, NULL), 200);
}

static void test_max_body_configurable(void **state)
{
    (void)state;
    mpc_response_t r;
    post_big(small, 5000, &r);
    MPT_ASSERT_HTTP_ERROR(&r, 413, "too_large");
    mpc_response_free(&r);

    /* Under the limit the body is read and judged as JSON. */
    char body[4000];
    memset(body, ' ', sizeof body);
    memcpy(body, "{\"username\":\"nobody\",\"password\":\"whatever1\"}",
           strlen("{\"username\":\"nobody\",\"password\":\"whatever1\"}"));
    assert_int_equal(post_raw(small, "/v1/auth/login", NULL, body, sizeof body, &r), 0);
    MPT_ASSERT_HTTP_ERROR(&r, 401, "bad_credentials");
    mpc_response_free(&r);
}

static void test_keep_alive(void **state)
{
    (void)state;
    mpc_conn_t *c = mpt_connect(srv);
    assert_non_null(c);
    const char *paths[] = {"/healthz", "/readyz", "/v1/nope", "/healthz"};
    const int want[] = {200, 200, 404, 200};
    for (int i = 0; i < 4; i++) {
        mpc_response_t r;
        assert_int_equal(mpc_http_request(c, "GET", paths[i], NULL, NULL, &r, MPT_TIMEOUT), 0);
        assert_int_equal(r.status, want[i]);
        assert_true(r.keep_alive);
        mpc_response_free(&r);
    }
    /* Connection: close is honoured: answer, then EOF. */
    mpc_http_req_t req = {.method = "GET", .path = "/healthz", .close = true};
    mpc_response_t r;
    assert_int_equal(mpc_http_send(c, &req, &r, MPT_TIMEOUT), 0);
    assert_int_equal(r.status, 200);
    assert_false(r.keep_alive);
    mpc_response_free(&r);
    assert_int_equal(mpc_wait_closed(c, MPT_TIMEOUT), MPC_OK);
    mpc_conn_free(c);
}

static void test_pipelining(void **state)
{
    (void)state;
    mpc_conn_t *c = mpt_connect(srv);
    assert_non_null(c);
    /* A slow request (argon2 work behind the login) first, then fast ones:
     * the answers must still come in request order. */
    const char *login = "{\"username\":\"nobody_here\",\"password\":\"whatever1\"}";
    char buf[2048];
    snprintf(buf, sizeof buf,
             "POST /v1/auth/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s"
             "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n"
             "GET /v1/nope HTTP/1.1\r\nHost: %s\r\n\r\n",
             srv->hostport, strlen(login), login, srv->hostport, srv->hostport);
    assert_int_equal(mpc_send_raw(c, buf, strlen(buf), MPT_TIMEOUT), MPC_OK);
    mpc_response_t r;
    assert_int_equal(mpc_http_read_response(c, &r, MPT_TIMEOUT), MPC_OK);
    MPT_ASSERT_HTTP_ERROR(&r, 401, "bad_credentials");
    mpc_response_free(&r);
    assert_int_equal(mpc_http_read_response(c, &r, MPT_TIMEOUT), MPC_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ok");
    mpc_response_free(&r);
    assert_int_equal(mpc_http_read_response(c, &r, MPT_TIMEOUT), MPC_OK);
    MPT_ASSERT_HTTP_ERROR(&r, 404, "not_found");
    mpc_response_free(&r);
    mpc_conn_free(c);
}

/* Trickles a request one byte every 50 ms; returns the ms until the server
 * answered or closed, and whether it answered 408 timeout. */
static int64_t trickle(mpt_server_t *s, int *status_out)
{
    mpc_conn_t *c = mpt_connect(s);
    assert_non_null(c);
    const char *req =
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    *status_out = 0;
    for (size_t i = 0; i < strlen(req); i++) {
        /* The 50 ms pacing is the wait for the server's reaction. */
        struct pollfd p = {.fd = mpc_conn_fd(c), .events = POLLIN};
        if (poll(&p, 1, 50) > 0)
            break;
        if (mpc_send_raw(c, req + i, 1, MPT_TIMEOUT) != MPC_OK)
            break;
    }
    mpc_response_t r;
    int rc = mpc_http_read_response(c, &r, 2000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc == MPC_OK) {
        *status_out = r.status;
        if (r.status == 408)
            assert_string_equal(mpc_response_error_code(&r), "timeout");
        mpc_response_free(&r);
        assert_int_equal(mpc_wait_closed(c, 2000), MPC_OK);
    } else {
        assert_true(rc == MPC_ERR_CLOSED);
    }
    mpc_conn_free(c);
    return (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
}

static void test_slow_headers_cut_off(void **state)
{
    (void)state;
    int status;
    int64_t ms = trickle(small, &status);
    print_message("slow headers: cut after %lld ms, status %d\n", (long long)ms, status);
    /* The full request takes > 5 s to trickle; the server must not wait that long. */
    assert_true(ms < 2500);
    assert_true(status == 0 || status == 408);
    /* Others are still served. */
    assert_int_equal(mpt_http(small, "GET", "/healthz", NULL, NULL, NULL), 200);
}

static void test_oversize_headers(void **state)
{
    (void)state;
    mpc_conn_t *c = mpt_connect(srv);
    assert_non_null(c);
    size_t n = 20000;
    char *big = malloc(n + 200);
    int off = snprintf(big, 200, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(big + off, 'a', n);
    memcpy(big + off + n, "\r\n\r\n", 5);
    (void)mpc_send_raw(c, big, strlen(big), MPT_TIMEOUT);
    free(big);
    mpc_response_t r;
    int rc = mpc_http_read_response(c, &r, MPT_TIMEOUT);
    if (rc == MPC_OK) {
        print_message("oversize headers: %d %s\n", r.status, r.body);
        assert_true(r.status == 431 || r.status == 413 || r.status == 400);
        mpc_response_free(&r);
    } else {
        assert_int_equal(rc, MPC_ERR_CLOSED);
    }
    mpc_conn_free(c);
    assert_int_equal(mpt_http(srv, "GET", "/healthz", NULL, NULL, NULL), 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz),
        cmocka_unit_test(test_readyz),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_wrong_content_type),
        cmocka_unit_test(test_oversize_body),
        cmocka_unit_test(test_max_body_configurable),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_pipelining),
        cmocka_unit_test(test_slow_headers_cut_off),
        cmocka_unit_test(test_oversize_headers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
