/* Unit tests of the client library's sans-I/O core: HTTP request builder and
 * response parser, WebSocket handshake values, frame encoder and decoders.
 *
 * Unit tests link magpie_core only (see CMakeLists.txt), not magpie_client,
 * so the sources under test are compiled into this binary directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/client.h"

/* ---- HTTP ---- */

static void test_build_request(void **state)
{
    (void)state;
    size_t len;
    mpc_http_req_t req = {
        .method = "POST",
        .path = "/v1/auth/login",
        .host = "127.0.0.1:9",
        .token = "abc",
        .origin = "http://x",
        .body = "{}",
        .body_len = 2,
    };
    char *s = mpc_http_build(&req, &len);
    assert_int_equal(len, strlen(s));
    assert_non_null(strstr(s, "POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"));
    assert_non_null(strstr(s, "Authorization: Bearer abc\r\n"));
    assert_non_null(strstr(s, "Origin: http://x\r\n"));
    assert_non_null(strstr(s, "Content-Type: application/json\r\n"));
    assert_non_null(strstr(s, "Content-Length: 2\r\n"));
    assert_string_equal(s + len - 6, "\r\n\r\n{}");
    free(s);

    mpc_http_req_t get = {.method = "GET", .path = "/healthz", .close = true};
    s = mpc_http_build(&get, &len);
    assert_null(strstr(s, "Content-Length"));
    assert_non_null(strstr(s, "Connection: close\r\n"));
    assert_string_equal(s + len - 4, "\r\n\r\n");
    free(s);
}

static const char resp1[] = "HTTP/1.1 404 Not Found\r\n"
                            "Content-Type: application/json\r\n"
                            "content-length: 47\r\n"
                            "\r\n"
                            "{\"error\":{\"code\":\"not_found\",\"message\":\"nope\"}}";

static void test_parse_whole(void **state)
{
    (void)state;
    mpc_http_parser_t *p = mpc_http_parser_new(false);
    size_t used;
    assert_int_equal(mpc_http_parser_feed(p, resp1, strlen(resp1), &used), MPC_PARSE_DONE);
    assert_int_equal(used, strlen(resp1));
    mpc_response_t r;
    mpc_http_parser_take(p, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.reason, "Not Found");
    assert_true(r.keep_alive);
    assert_string_equal(mpc_response_header(&r, "Content-Length"), "47");
    assert_string_equal(mpc_response_header(&r, "CONTENT-TYPE"), "application/json");
    assert_null(mpc_response_header(&r, "X-Nope"));
    assert_int_equal(r.body_len, 47);
    assert_non_null(r.json);
    assert_string_equal(mpc_response_error_code(&r), "not_found");
    mpc_response_free(&r);
    mpc_response_free(&r); /* harmless twice */
    mpc_http_parser_free(p);
}

static void test_parse_bytewise_and_pipelined(void **state)
{
    (void)state;
    char two[1024];
    snprintf(two, sizeof two, "%s%s", resp1,
             "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
    size_t total = strlen(two), off = 0;
    mpc_http_parser_t *p = mpc_http_parser_new(false);
    mpc_response_t r;
    int st = MPC_PARSE_MORE;
    /* First response one byte at a time: it must stop exactly at its end. */
    while (st == MPC_PARSE_MORE) {
        size_t used;
        st = mpc_http_parser_feed(p, two + off, 1, &used);
        off += used;
    }
    assert_int_equal(st, MPC_PARSE_DONE);
    assert_int_equal(off, strlen(resp1));
    mpc_http_parser_take(p, &r);
    assert_int_equal(r.status, 404);
    mpc_response_free(&r);
    /* Second response from the rest in one go. */
    size_t used;
    assert_int_equal(mpc_http_parser_feed(p, two + off, total - off, &used), MPC_PARSE_DONE);
    assert_int_equal(off + used, total);
    mpc_http_parser_take(p, &r);
    assert_int_equal(r.status, 204);
    assert_false(r.keep_alive);
    assert_int_equal(r.body_len, 0);
    assert_string_equal(r.body, "");
    assert_null(r.json);
    mpc_response_free(&r);
    mpc_http_parser_free(p);
}

static void test_parse_until_eof_and_errors(void **state)
{
    (void)state;
    const char *s = "HTTP/1.0 200 OK\r\n\r\nhello";
    size_t used;
    mpc_http_parser_t *p = mpc_http_parser_new(false);
    assert_int_equal(mpc_http_parser_feed(p, s, strlen(s), &used), MPC_PARSE_MORE);
    assert_int_equal(mpc_http_parser_eof(p), MPC_PARSE_DONE);
    mpc_response_t r;
    mpc_http_parser_take(p, &r);
    assert_string_equal(r.body, "hello");
    assert_false(r.keep_alive);
    mpc_response_free(&r);

    /* Truncated Content-Length body at EOF is an error. */
    const char *t = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    assert_int_equal(mpc_http_parser_feed(p, t, strlen(t), &used), MPC_PARSE_MORE);
    assert_int_equal(mpc_http_parser_eof(p), MPC_PARSE_ERROR);
    mpc_http_parser_free(p);

    const char *bad[] = {"HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = mpc_http_parser_new(false);
        assert_int_equal(mpc_http_parser_feed(p, bad[i], strlen(bad[i]), &used), MPC_PARSE_ERROR);
        mpc_http_parser_free(p);
    }
}

static void test_parse_head_only(void **state)
{
    (void)state;
    const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
    size_t used;
    mpc_http_parser_t *p = mpc_http_parser_new(true);
    assert_int_equal(mpc_http_parser_feed(p, s, strlen(s), &used), MPC_PARSE_DONE);
    mpc_response_t r;
    mpc_http_parser_take(p, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    mpc_response_free(&r);
    mpc_http_parser_free(p);
}

/* ---- WebSocket ---- */

static void test_accept_key(void **state)
{
    (void)state;
    char acc[29], key[25], key2[25];
    /* The example of RFC 6455 section 1.3. */
    mpc_ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==", acc);
    assert_string_equal(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    mpc_ws_make_key(key);
    mpc_ws_make_key(key2);
    assert_int_equal(strlen(key), 24);
    assert_string_equal(key + 22, "==");
    assert_string_not_equal(key, key2);

    size_t len;
    char *hs = mpc_ws_build_handshake("h:1", "/v1/ws", key, "tok", "http://o", &len);
    assert_non_null(strstr(hs, "GET /v1/ws HTTP/1.1\r\n"));
    assert_non_null(strstr(hs, "Upgrade: websocket\r\n"));
    assert_non_null(strstr(hs, "Sec-WebSocket-Version: 13\r\n"));
    assert_non_null(strstr(hs, "Authorization: Bearer tok\r\n"));
    assert_non_null(strstr(hs, "Origin: http://o\r\n"));
    assert_non_null(strstr(hs, key));
    free(hs);
}

static void roundtrip(size_t plen, bool masked)
{
    uint8_t *payload = malloc(plen + 1);
    for (size_t i = 0; i < plen; i++)
        payload[i] = (uint8_t)(i * 7 + 3);
    size_t flen;
    uint8_t *f = mpc_ws_frame_encode(MPC_WS_BINARY, true, masked, 0, payload, plen, &flen);
    size_t hdr = (plen < 126 ? 2 : plen <= 0xffff ? 4 : 10) + (masked ? 4 : 0);
    assert_int_equal(flen, hdr + plen);
    assert_int_equal((f[1] & 0x80) != 0, masked);
    /* Every proper prefix needs more bytes. */
    mpc_ws_frame_t fr;
    for (size_t cut = 0; cut < flen; cut += (flen > 300 ? 97 : 1))
        assert_int_equal(mpc_ws_decode(f, cut, UINT64_MAX, &fr), 0);
    assert_int_equal(mpc_ws_decode(f, flen, UINT64_MAX, &fr), (long)flen);
    assert_int_equal(fr.opcode, MPC_WS_BINARY);
    assert_true(fr.fin);
    assert_int_equal(fr.masked, masked);
    assert_int_equal(fr.plen, plen);
    if (plen)
        assert_memory_equal(fr.payload, payload, plen);
    free(f);
    free(payload);
}

static void test_frame_roundtrip(void **state)
{
    (void)state;
    size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 200000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        roundtrip(sizes[i], true);
        roundtrip(sizes[i], false);
    }
}

static void test_decode_limits(void **state)
{
    (void)state;
    /* A header declaring 2^63 bytes. */
    uint8_t huge[10] = {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0};
    mpc_ws_frame_t fr;
    assert_int_equal(mpc_ws_decode(huge, sizeof huge, 1 << 20, &fr), -1);
    size_t flen;
    uint8_t *f = mpc_ws_frame_encode(MPC_WS_TEXT, true, false, 0, "abcdef", 6, &flen);
    assert_int_equal(mpc_ws_decode(f, flen, 5, &fr), -1);
    assert_int_equal(mpc_ws_decode(f, flen, 6, &fr), (long)flen);
    free(f);
    f = mpc_ws_frame_encode(MPC_WS_TEXT, false, true, 5, "x", 1, &flen);
    assert_int_equal(f[0], 0x51); /* RSV1|RSV3, no FIN, text */
    assert_int_equal(mpc_ws_decode(f, flen, 10, &fr), (long)flen);
    assert_int_equal(fr.rsv, 5);
    assert_false(fr.fin);
    free(f);
}

/* Appends a frame (unmasked, as a server sends) to the decoder. */
static void feed_frame(mpc_ws_decoder_t *d, int op, bool fin, const char *data, size_t n)
{
    size_t flen;
    uint8_t *f = mpc_ws_frame_encode(op, fin, false, 0, data, n, &flen);
    mpc_ws_decoder_feed(d, f, flen);
    free(f);
}

static void test_decoder_messages(void **state)
{
    (void)state;
    mpc_ws_decoder_t *d = mpc_ws_decoder_new(1024);
    mpc_ws_msg_t m;
    assert_int_equal(mpc_ws_decoder_next(d, &m), 0);

    feed_frame(d, MPC_WS_TEXT, false, "{\"id\":", 6);
    assert_int_equal(mpc_ws_decoder_next(d, &m), 0);
    feed_frame(d, MPC_WS_PING, true, "pp", 2);
    feed_frame(d, MPC_WS_CONT, false, "7,\"ok\"", 6);
    feed_frame(d, MPC_WS_CONT, true, ":true}", 6);
    uint8_t close[] = {0x03, 0xF1, 'b', 'y', 'e'}; /* 1009 "bye" */
    feed_frame(d, MPC_WS_CLOSE, true, (const char *)close, sizeof close);
    feed_frame(d, MPC_WS_CLOSE, true, "", 0);

    assert_int_equal(mpc_ws_decoder_next(d, &m), 1);
    assert_int_equal(m.opcode, MPC_WS_PING);
    assert_string_equal(m.data, "pp");
    mpc_ws_msg_free(&m);
    assert_int_equal(mpc_ws_decoder_next(d, &m), 1);
    assert_int_equal(m.opcode, MPC_WS_TEXT);
    assert_string_equal(m.data, "{\"id\":7,\"ok\":true}");
    assert_int_equal(json_integer_value(json_object_get(m.json, "id")), 7);
    mpc_ws_msg_free(&m);
    assert_int_equal(mpc_ws_decoder_next(d, &m), 1);
    assert_int_equal(m.opcode, MPC_WS_CLOSE);
    assert_int_equal(m.close_code, 1009);
    assert_string_equal(m.close_reason, "bye");
    mpc_ws_msg_free(&m);
    assert_int_equal(mpc_ws_decoder_next(d, &m), 1);
    assert_int_equal(m.close_code, 1005);
    assert_string_equal(m.close_reason, "");
    mpc_ws_msg_free(&m);
    assert_int_equal(mpc_ws_decoder_next(d, &m), 0);
    mpc_ws_decoder_free(d);
}

static void test_decoder_errors(void **state)
{
    (void)state;
    mpc_ws_msg_t m;
    struct {
        int op;
        bool fin;
    } bad[] = {{MPC_WS_CONT, true}, {0x3, true}, {MPC_WS_PING, false}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mpc_ws_decoder_t *d = mpc_ws_decoder_new(1024);
        feed_frame(d, bad[i].op, bad[i].fin, "x", 1);
        assert_int_equal(mpc_ws_decoder_next(d, &m), -1);
        mpc_ws_decoder_free(d);
    }
    /* A new data frame while a fragmented one is in progress. */
    mpc_ws_decoder_t *d = mpc_ws_decoder_new(1024);
    feed_frame(d, MPC_WS_TEXT, false, "a", 1);
    feed_frame(d, MPC_WS_TEXT, true, "b", 1);
    assert_int_equal(mpc_ws_decoder_next(d, &m), -1);
    mpc_ws_decoder_free(d);
    /* Fragments adding up past the limit. */
    d = mpc_ws_decoder_new(8);
    feed_frame(d, MPC_WS_TEXT, false, "abcde", 5);
    feed_frame(d, MPC_WS_CONT, true, "fghij", 5);
    assert_int_equal(mpc_ws_decoder_next(d, &m), -1);
    mpc_ws_decoder_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_request),
        cmocka_unit_test(test_parse_whole),
        cmocka_unit_test(test_parse_bytewise_and_pipelined),
        cmocka_unit_test(test_parse_until_eof_and_errors),
        cmocka_unit_test(test_parse_head_only),
        cmocka_unit_test(test_accept_key),
        cmocka_unit_test(test_frame_roundtrip),
        cmocka_unit_test(test_decode_limits),
        cmocka_unit_test(test_decoder_messages),
        cmocka_unit_test(test_decoder_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
