/* End-to-end tests of the WebSocket endpoint: handshake and Origin rule, the
 * two ways to authenticate, the auth timeout, JSON frame errors, size limits,
 * malformed frames (each with its close code), revocation and keep-alive
 * pings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sys/socket.h>

#include "harness.h"

#define GOOD_ORIGIN "https://chat.example.org"

static mpt_server_t *srv;
static mpt_session_t alice; /* one account for tests that need any user */

static int setup(void **state)
{
    (void)state;
    const char *flags[] = {"--ws_auth_timeout", "300", "--ws_max_message", "4096", "--ws_origins",
                           GOOD_ORIGIN,         NULL};
    srv = mpt_server_start(flags);
    if (!srv || mpt_user_new(srv, "ws", &alice) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = mpt_server_stop(srv);
    srv = NULL;
    return rc == 0 ? 0 : -1;
}

static mpc_ws_t *open_authed(void)
{
    mpc_ws_t *ws = mpt_ws_open(srv, alice.access);
    assert_non_null(ws);
    return ws;
}

/* The connection still answers the ping verb. */
static void assert_ping_works(mpc_ws_t *ws)
{
    json_t *reply = mpt_ws_call(ws, "ping", NULL);
    assert_non_null(reply);
    assert_true(json_is_true(json_object_get(reply, "ok")));
    assert_true(json_is_true(json_object_get(reply, "pong")));
    json_decref(reply);
}

/* The server closes with want (or one of two codes, want2 >= 0) in time. */
static void assert_closed_with(mpc_ws_t *ws, int want, int want2, int timeout_ms)
{
    int code = 0;
    char *reason = NULL;
    assert_int_equal(mpc_ws_wait_close(ws, timeout_ms, &code, &reason), MPC_OK);
    print_message("closed with %d (%s)\n", code, reason ? reason : "");
    free(reason);
    if (code != want)
        assert_int_equal(code, want2);
}

/* The next text message, which must be an error reply with this code. */
static void assert_next_error(mpc_ws_t *ws, const char *code)
{
    mpc_ws_msg_t m;
    assert_int_equal(mpc_ws_recv(ws, MPT_TIMEOUT, &m), MPC_OK);
    while (m.opcode == MPC_WS_PING || m.opcode == MPC_WS_PONG) {
        mpc_ws_msg_free(&m);
        assert_int_equal(mpc_ws_recv(ws, MPT_TIMEOUT, &m), MPC_OK);
    }
    assert_int_equal(m.opcode, MPC_WS_TEXT);
    print_message("reply: %s\n", m.data);
    MPT_ASSERT_WS_ERROR(m.json, code);
    assert_non_null(
        json_string_value(json_object_get(json_object_get(m.json, "error"), "message")));
    mpc_ws_msg_free(&m);
}

/* ---- handshake and authentication ---- */

static void test_auth_by_header(void **state)
{
    (void)state;
    mpc_ws_t *ws = open_authed();
    json_t *req = json_pack("{s:s}", "type", "ping");
    json_t *reply = NULL;
    int64_t id = mpc_ws_next_id(ws);
    assert_int_equal(mpc_ws_request(ws, req, MPT_TIMEOUT, &reply), MPC_OK);
    assert_int_equal(json_integer_value(json_object_get(reply, "id")), id);
    assert_true(json_is_true(json_object_get(reply, "ok")));
    assert_true(json_is_true(json_object_get(reply, "pong")));
    json_decref(req);
    json_decref(reply);
    mpc_ws_free(ws);
}

static void test_auth_by_first_frame(void **state)
{
    (void)state;
    mpc_ws_t *ws = mpt_ws_open(srv, NULL);
    assert_non_null(ws);
    json_t *fields = json_pack("{s:s}", "token", alice.access);
    json_t *reply = mpt_ws_call(ws, "auth", fields);
    json_decref(fields);
    assert_non_null(reply);
    assert_true(json_is_true(json_object_get(reply, "ok")));
    assert_string_equal(json_string_value(json_object_get(reply, "user_id")), alice.user_id);
    assert_string_equal(json_string_value(json_object_get(reply, "device_id")), alice.device_id);
    json_decref(reply);
    assert_ping_works(ws);
    mpc_ws_free(ws);
}

static void test_bad_token_in_auth_frame_then_good(void **state)
{
    (void)state;
    mpc_ws_t *ws = mpt_ws_open(srv, NULL);
    assert_non_null(ws);
    json_t *fields = json_pack("{s:s}", "token", "not.a.token");
    json_t *reply = mpt_ws_call(ws, "auth", fields);
    json_decref(fields);
    MPT_ASSERT_WS_ERROR(reply, "unauthorized");
    json_decref(reply);
    fields = json_pack("{s:s}", "token", alice.access);
    reply = mpt_ws_call(ws, "auth", fields);
    json_decref(fields);
    assert_non_null(reply);
    assert_true(json_is_true(json_object_get(reply, "ok")));
    json_decref(reply);
    assert_ping_works(ws);
    mpc_ws_free(ws);
}

static void test_bad_token_in_header(void **state)
{
    (void)state;
    mpc_ws_t *ws = NULL;
    int status = 0;
    int rc = mpc_ws_connect(srv->host, srv->port, "/v1/ws", "not.a.token", NULL, &ws, &status,
                            MPT_TIMEOUT);
    assert_int_equal(rc, MPC_ERR_PROTO);
    assert_int_equal(status, 401);
    assert_null(ws);
}

static void test_no_auth_times_out(void **state)
{
    (void)state;
    mpc_ws_t *ws = mpt_ws_open(srv, NULL);
    assert_non_null(ws);
    int64_t t0 = mpt_mono_ms();
    assert_closed_with(ws, 1008, -1, 3000);
    int64_t took = mpt_mono_ms() - t0;
    print_message("auth timeout after %lld ms\n", (long long)took);
    assert_true(took >= 200); /* not before the configured 300 ms (some slack) */
    mpc_ws_free(ws);
}

static void test_origin(void **state)
{
    (void)state;
    mpc_ws_t *ws = NULL;
    int status = 0;
    int rc = mpc_ws_connect(srv->host, srv->port, "/v1/ws", alice.access, "https://evil.example",
                            &ws, &status, MPT_TIMEOUT);
    assert_int_equal(rc, MPC_ERR_PROTO);
    assert_int_equal(status, 403);
    assert_null(ws);

    /* An allow-listed origin and the server's own host are accepted. */
    assert_int_equal(mpc_ws_connect(srv->host, srv->port, "/v1/ws", alice.access, GOOD_ORIGIN, &ws,
                                    &status, MPT_TIMEOUT),
                     MPC_OK);
    assert_ping_works(ws);
    mpc_ws_free(ws);
    char same[128];
    snprintf(same, sizeof same, "http://%s", srv->hostport);
    assert_int_equal(mpc_ws_connect(srv->host, srv->port, "/v1/ws", alice.access, same, &ws,
                                    &status, MPT_TIMEOUT),
                     MPC_OK);
    assert_ping_works(ws);
    mpc_ws_free(ws);
}

/* ---- JSON frames ---- */

static void test_ping_verb(void **state)
{
    (void)state;
    mpc_ws_t *ws = open_authed();
    for (int i = 0; i < 3; i++)
        assert_ping_works(ws);
    /* A large id is echoed exactly. */
    assert_int_equal(
        mpc_ws_send_text(ws, "{\"id\":9007199254740000,\"type\":\"ping\"}", MPT_TIMEOUT), MPC_OK);
    mpc_ws_msg_t m;
    assert_int_equal(mpc_ws_recv(ws, MPT_TIMEOUT, &m), MPC_OK);
    assert_int_equal(json_integer_value(json_object_get(m.json, "id")), 9007199254740000LL);
    assert_true(json_is_true(json_object_get(m.json, "pong")));
    mpc_ws_msg_free(&m);
    mpc_ws_free(ws);
}

static void test_bad_json_frame(void **state)
{
    (void)state;
    mpc_ws_t *ws = open_authed();
    assert_int_equal(mpc_ws_send_text(ws, "{\"id\":1,\"type\":", MPT_TIMEOUT), MPC_OK);
    assert_next_error(ws, "bad_json");
    assert_int_equal(mpc_ws_send_text(ws, "not json at all", MPT_TIMEOUT), MPC_OK);
    assert_next_error(ws, "bad_json");
    assert_ping_works(ws);
    mpc_ws_free(ws);
}

static void test_unknown_type(void **state)
{
    (void)state;
    mpc_ws_t *ws = open_authed();
    json_t *reply = mpt_ws_call(ws, "no_such_verb", NULL);
    MPT_ASSERT_WS_ERROR(reply, "unknown_type");
    json_decref(reply);
    assert_ping_works(ws);
    mpc_ws_free(ws);
}

static void test_missing_id_and_bad_fields(void **state)
{
    (void)state;
    mpc_ws_t *ws = open_authed();
    assert_int_equal(mpc_ws_send_text(ws, "{\"type\":\"ping\"}", MPT_TIMEOUT), MPC_OK);
    assert_next_error(ws, "bad_request");
    assert_int_equal(mpc_ws_send_text(ws, "{\"id\":\"7\",\"type\":\"ping\"}", MPT_TIMEOUT), MPC_OK);
    assert_next_error(ws, "bad_request");
    assert_int_equal(mpc_ws_send_text(ws, "{\"id\":7}", MPT_TIMEOUT), MPC_OK);
    assert_next_error(ws, "bad_request");
    /* Valid JSON that is not an object is refused like unparsable JSON. */
    assert_int_equal(mpc_ws_send_text(ws, "[1,2,3]", MPT_TIMEOUT), MPC_OK);
    assert_next_error(ws, "bad_json");
    assert_ping_works(ws);
    mpc_ws_free(ws);
}

/* ---- limits and malformed frames ---- */

static void test_fragmented_message(void **state)
{
    (void)state;
    mpc_ws_t *ws = open_authed();
    const char *parts[] = {"{\"id\":", "42,\"type\"", ":\"ping\"}"};
    assert_int_equal(
        mpc_ws_send_frame(ws, MPC_WS_TEXT, false, parts[0], strlen(parts[0]), MPT_TIMEOUT), 0);
    /* A control frame may come between fragments. */
    assert_int_equal(mpc_ws_send_frame(ws, MPC_WS_PING, true, "hi", 2, MPT_TIMEOUT), 0);
    assert_int_equal(
        mpc_ws_send_frame(ws, MPC_WS_CONT, false, parts[1], strlen(parts[1]), MPT_TIMEOUT), 0);
    assert_int_equal(
        mpc_ws_send_frame(ws, MPC_WS_CONT, true, parts[2], strlen(parts[2]), MPT_TIMEOUT), 0);
    bool pong = false, reply = false;
    while (!pong || !reply) {
        mpc_ws_msg_t m;
        assert_int_equal(mpc_ws_recv(ws, MPT_TIMEOUT, &m), MPC_OK);
        if (m.opcode == MPC_WS_PONG) {
            assert_string_equal(m.data, "hi");
            pong = true;
        } else if (m.opcode == MPC_WS_TEXT) {
            assert_int_equal(json_integer_value(json_object_get(m.json, "id")), 42);
            assert_true(json_is_true(json_object_get(m.json, "pong")));
            reply = true;
        }
        mpc_ws_msg_free(&m);
    }
    mpc_ws_free(ws);
}

static void test_oversize_message(void **state)
{
    (void)state;
    char *big = malloc(5001);
    memset(big, 'a', 5000);
    big[5000] = '\0';
    mpc_ws_t *ws = open_authed();
    (void)mpc_ws_send_text(ws, big, MPT_TIMEOUT);
    assert_closed_with(ws, 1009, -1, MPT_TIMEOUT);
    mpc_ws_free(ws);

    /* The same size in fragments, each under the limit. */
    ws = open_authed();
    for (int i = 0; i < 5; i++)
        (void)mpc_ws_send_frame(ws, i ? MPC_WS_CONT : MPC_WS_TEXT, i == 4, big, 1000, MPT_TIMEOUT);
    assert_closed_with(ws, 1009, -1, MPT_TIMEOUT);
    mpc_ws_free(ws);
    free(big);

    /* A message just under the limit is read (and judged as JSON). */
    char ok[4000];
    memset(ok, ' ', sizeof ok - 1);
    ok[sizeof ok - 1] = '\0';
    memcpy(ok, "{\"id\":5,\"type\":\"ping\"}", strlen("{\"id\":5,\"type\":\"ping\"}"));
    ws = open_authed();
    assert_int_equal(mpc_ws_send_text(ws, ok, MPT_TIMEOUT), MPC_OK);
    mpc_ws_msg_t m;
    assert_int_equal(mpc_ws_recv(ws, MPT_TIMEOUT, &m), MPC_OK);
    assert_true(json_is_true(json_object_get(m.json, "pong")));
    mpc_ws_msg_free(&m);
    mpc_ws_free(ws);
}

static void test_length_2_63(void **state)
{
    (void)state;
    mpc_ws_t *ws = open_authed();
    /* FIN+text, MASK+127, then 0x8000000000000000, then a mask key. */
    const uint8_t frame[] = {0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 'x'};
    assert_int_equal(mpc_ws_send_raw(ws, frame, sizeof frame, MPT_TIMEOUT), MPC_OK);
    assert_closed_with(ws, 1009, 1002, MPT_TIMEOUT);
    mpc_ws_free(ws);
    /* 2^64 - 1 too. */
    ws = open_authed();
    const uint8_t frame2[] = {0x81, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                              0xFF, 0xFF, 0xFF, 1,    2,    3,    4};
    assert_int_equal(mpc_ws_send_raw(ws, frame2, sizeof frame2, MPT_TIMEOUT), MPC_OK);
    assert_closed_with(ws, 1009, 1002, MPT_TIMEOUT);
    mpc_ws_free(ws);
    /* The server lives on. */
    assert_int_equal(mpt_http(srv, "GET", "/healthz", NULL, NULL, NULL), 200);
    ws = open_authed();
    assert_ping_works(ws);
    mpc_ws_free(ws);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    mpc_ws_t *ws = open_authed();
    const char bad[] = "{\"id\":1,\"type\":\"ping\",\"x\":\"\xC3\x28\"}";
    assert_int_equal(mpc_ws_send_frame(ws, MPC_WS_TEXT, true, bad, strlen(bad), MPT_TIMEOUT), 0);
    assert_closed_with(ws, 1007, -1, MPT_TIMEOUT);
    mpc_ws_free(ws);
    /* Split across fragments: the first ends inside a valid sequence, the
     * second continues it wrongly. */
    ws = open_authed();
    assert_int_equal(mpc_ws_send_frame(ws, MPC_WS_TEXT, false, "\"\xE2\x82", 3, MPT_TIMEOUT), 0);
    assert_int_equal(mpc_ws_send_frame(ws, MPC_WS_CONT, true, "A\"", 2, MPT_TIMEOUT), 0);
    assert_closed_with(ws, 1007, -1, MPT_TIMEOUT);
    mpc_ws_free(ws);
}

static void test_unmasked_frame(void **state)
{
    (void)state;
    mpc_ws_t *ws = open_authed();
    const char *text = "{\"id\":1,\"type\":\"ping\"}";
    size_t len;
    uint8_t *f = mpc_ws_frame_encode(MPC_WS_TEXT, true, false, 0, text, strlen(text), &len);
    assert_int_equal(mpc_ws_send_raw(ws, f, len, MPT_TIMEOUT), MPC_OK);
    free(f);
    assert_closed_with(ws, 1002, -1, MPT_TIMEOUT);
    mpc_ws_free(ws);
}

static void test_bad_opcode_and_rsv(void **state)
{
    (void)state;
    size_t len;
    uint8_t *f;
    mpc_ws_t *ws = open_authed();
    f = mpc_ws_frame_encode(0x3, true, true, 0, "x", 1, &len);
    assert_int_equal(mpc_ws_send_raw(ws, f, len, MPT_TIMEOUT), MPC_OK);
    free(f);
    assert_closed_with(ws, 1002, -1, MPT_TIMEOUT);
    mpc_ws_free(ws);

    ws = open_authed();
    f = mpc_ws_frame_encode(MPC_WS_TEXT, true, true, 4, "{}", 2, &len);
    assert_int_equal(mpc_ws_send_raw(ws, f, len, MPT_TIMEOUT), MPC_OK);
    free(f);
    assert_closed_with(ws, 1002, -1, MPT_TIMEOUT);
    mpc_ws_free(ws);

    /* A continuation with nothing to continue. */
    ws = open_authed();
    f = mpc_ws_frame_encode(MPC_WS_CONT, true, true, 0, "x", 1, &len);
    assert_int_equal(mpc_ws_send_raw(ws, f, len, MPT_TIMEOUT), MPC_OK);
    free(f);
    assert_closed_with(ws, 1002, -1, MPT_TIMEOUT);
    mpc_ws_free(ws);
}

static void test_binary_frame(void **state)
{
    (void)state;
    mpc_ws_t *ws = open_authed();
    assert_int_equal(mpc_ws_send_frame(ws, MPC_WS_BINARY, true, "\x01\x02", 2, MPT_TIMEOUT), 0);
    assert_closed_with(ws, 1003, -1, MPT_TIMEOUT);
    mpc_ws_free(ws);
}

static void test_client_close_is_echoed(void **state)
{
    (void)state;
    mpc_ws_t *ws = open_authed();
    assert_int_equal(mpc_ws_send_close(ws, 1000, "bye", MPT_TIMEOUT), MPC_OK);
    assert_closed_with(ws, 1000, -1, MPT_TIMEOUT);
    mpc_ws_free(ws);
}

/* ---- revocation ---- */

static void test_device_delete_closes_socket(void **state)
{
    (void)state;
    mpt_session_t other;
    assert_int_equal(mpt_device_new(srv, &alice, &other), 0);
    mpc_ws_t *ws = mpt_ws_open(srv, other.access);
    assert_non_null(ws);
    assert_ping_works(ws);
    char path[128];
    snprintf(path, sizeof path, "/v1/devices/%s", other.device_id);
    assert_int_equal(mpt_http(srv, "DELETE", path, alice.access, NULL, NULL), 204);
    int64_t t0 = mpt_mono_ms();
    assert_closed_with(ws, 1008, -1, 1000);
    print_message("closed %lld ms after the DELETE answered\n", (long long)(mpt_mono_ms() - t0));
    mpc_ws_free(ws);
    /* Its token no longer opens one. */
    int status = 0;
    assert_int_equal(mpc_ws_connect(srv->host, srv->port, "/v1/ws", other.access, NULL, &ws,
                                    &status, MPT_TIMEOUT),
                     MPC_ERR_PROTO);
    assert_int_equal(status, 401);
}

/* ---- keep-alive pings (their own server: a 200 ms ping interval) ---- */

static void test_server_ping_keeps_alive(void **state)
{
    (void)state;
    const char *flags[] = {"--ws_ping_interval", "200", NULL};
    mpt_server_t *ps = mpt_server_start(flags);
    assert_non_null(ps);
    mpt_session_t s;
    assert_int_equal(mpt_user_new(ps, "pg", &s), 0);

    /* With pongs: five pings come (about a second) and the socket lives on. */
    mpc_ws_t *ws = mpt_ws_open(ps, s.access);
    assert_non_null(ws);
    int64_t t0 = mpt_mono_ms();
    while (mpc_ws_pings_seen(ws) < 5) {
        mpc_ws_msg_t m;
        int rc = mpc_ws_recv(ws, 2000, &m);
        assert_int_equal(rc, MPC_OK);
        assert_int_not_equal(m.opcode, MPC_WS_CLOSE);
        mpc_ws_msg_free(&m);
    }
    print_message("5 pings in %lld ms\n", (long long)(mpt_mono_ms() - t0));
    assert_ping_works(ws);

    /* Without pongs: dropped after two missed ones. Meanwhile the first
     * socket keeps reading (and so answering pings) in short turns. */
    mpc_ws_t *silent = mpt_ws_open(ps, s.access);
    assert_non_null(silent);
    mpc_ws_set_auto_pong(silent, false);
    int code = 0, rc = MPC_ERR_TIMEOUT;
    for (int64_t end = mpt_mono_ms() + 3000; rc == MPC_ERR_TIMEOUT && mpt_mono_ms() < end;) {
        rc = mpc_ws_wait_close(silent, 50, &code, NULL);
        mpc_ws_msg_t m;
        if (mpc_ws_recv(ws, 50, &m) == MPC_OK) {
            assert_int_not_equal(m.opcode, MPC_WS_CLOSE);
            mpc_ws_msg_free(&m);
        }
    }
    assert_int_equal(rc, MPC_OK);
    print_message("silent client dropped with %d after %u pings\n", code,
                  mpc_ws_pings_seen(silent));
    assert_true(mpc_ws_pings_seen(silent) >= 2);
    mpc_ws_free(silent);

    /* The ponging one is still fine. */
    assert_ping_works(ws);
    mpc_ws_free(ws);
    assert_int_equal(mpt_server_stop(ps), 0);
}

/* ---- slow readers (their own server: a 16 KiB outgoing queue) ---- */

static void test_slow_reader_is_disconnected(void **state)
{
    (void)state;
    const char *flags[] = {"--ws_max_queue", "16384", NULL};
    mpt_server_t *qs = mpt_server_start(flags);
    assert_non_null(qs);
    mpt_session_t s;
    assert_int_equal(mpt_user_new(qs, "sr", &s), 0);
    mpc_ws_t *slow = mpt_ws_open(qs, s.access);
    mpc_ws_t *fast = mpt_ws_open(qs, s.access);
    assert_non_null(slow);
    assert_non_null(fast);
    /* A small receive buffer so that the kernel does not absorb megabytes
     * of replies before the server's own queue fills. */
    int small = 4096;
    setsockopt(mpc_conn_fd(mpc_ws_conn(slow)), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);

    /* Requests in big batches, never reading the replies. */
    char batch[64 * 1024];
    size_t n = 0;
    const char *req = "{\"id\":1,\"type\":\"ping\"}";
    size_t flen;
    uint8_t *f = mpc_ws_frame_encode(MPC_WS_TEXT, true, true, 0, req, strlen(req), &flen);
    while (n + flen <= sizeof batch) {
        memcpy(batch + n, f, flen);
        n += flen;
    }
    free(f);
    int rc = MPC_OK;
    for (int i = 0; i < 200 && rc == MPC_OK; i++)
        rc = mpc_ws_send_raw(slow, batch, n, 2000);
    print_message("stopped sending: %s\n", mpc_strerror(rc));

    /* Draining now, we find the replies end in a close 1008. */
    int code = 0;
    char *reason = NULL;
    assert_int_equal(mpc_ws_wait_close(slow, 10000, &code, &reason), MPC_OK);
    print_message("slow reader closed with %d (%s)\n", code, reason ? reason : "");
    assert_int_equal(code, 1008);
    free(reason);
    mpc_ws_free(slow);
    /* Others were not affected. */
    assert_ping_works(fast);
    mpc_ws_free(fast);
    assert_int_equal(mpt_server_stop(qs), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_by_header),
        cmocka_unit_test(test_auth_by_first_frame),
        cmocka_unit_test(test_bad_token_in_auth_frame_then_good),
        cmocka_unit_test(test_bad_token_in_header),
        cmocka_unit_test(test_no_auth_times_out),
        cmocka_unit_test(test_origin),
        cmocka_unit_test(test_ping_verb),
        cmocka_unit_test(test_bad_json_frame),
        cmocka_unit_test(test_unknown_type),
        cmocka_unit_test(test_missing_id_and_bad_fields),
        cmocka_unit_test(test_fragmented_message),
        cmocka_unit_test(test_oversize_message),
        cmocka_unit_test(test_length_2_63),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_unmasked_frame),
        cmocka_unit_test(test_bad_opcode_and_rsv),
        cmocka_unit_test(test_binary_frame),
        cmocka_unit_test(test_client_close_is_echoed),
        cmocka_unit_test(test_device_delete_closes_socket),
        cmocka_unit_test(test_server_ping_keeps_alive),
        cmocka_unit_test(test_slow_reader_is_disconnected),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
