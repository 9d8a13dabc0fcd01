/* WebSocket handling: the accept key, frame refcounts, the header checks and
 * whole sessions through fake connections (handshake, auth, frames, errors and
 * close codes), plus a real-socket run for the listener and the slow reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"
#include "net/server.h"
#include "net/testing.h"
#include "net/ws.h"
#include "util/log.h"

static uv_loop_t loop;
static mp_config_t cfg;
static mp_server_t *srv;
static int opens, closes;
static mp_sid_t last_sid;
static char last_type[32];
static int64_t last_id;

static mp_err_t auth(void *ctx, const char *token, mp_principal_t *who)
{
    (void)ctx;
    if (strcmp(token, "tok") != 0)
        return MP_ERR_UNAUTHORIZED;
    who->user_id = 12345678901234567ull;
    who->device_id = 9;
    return MP_OK;
}

static void on_open(void *ctx, mp_sid_t sid, const mp_principal_t *who)
{
    (void)ctx;
    (void)who;
    opens++;
    last_sid = sid;
}

static void on_close(void *ctx, mp_sid_t sid, const mp_principal_t *who)
{
    (void)ctx;
    (void)sid;
    (void)who;
    closes++;
}

static void on_frame(void *ctx, mp_sid_t sid, const mp_principal_t *who, int64_t id,
                     const char *type, json_t *frame)
{
    (void)ctx;
    (void)frame;
    (void)who;
    snprintf(last_type, sizeof(last_type), "%s", type);
    last_id = id;
    if (strcmp(type, "ping") == 0)
        mp_gw_reply(srv, sid, id, json_pack("{s:b}", "pong", 1));
}

static int setup(void **state)
{
    (void)state;
    static const mp_server_hooks_t hooks = {.authenticate = auth,
                                            .session_open = on_open,
                                            .session_close = on_close,
                                            .frame = on_frame};
    mp_log_set_level(MP_LOG_WARN);
    mp_config_defaults(&cfg);
    snprintf(cfg.listen_host, sizeof(cfg.listen_host), "127.0.0.1");
    cfg.listen_port = 0;
    cfg.ws_max_message = 1000;
    cfg.ws_max_queue = 64 * 1024;
    snprintf(cfg.ws_origins, sizeof(cfg.ws_origins), "https://app.example");
    uv_loop_init(&loop);
    srv = mp_server_new(&loop, &cfg, NULL, &hooks, NULL);
    opens = closes = 0;
    last_sid = 0;
    last_type[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mpu_server_close(&loop, srv);
    assert_int_equal(opens, closes);
    return 0;
}

/* ---- helpers: client frames and parsing server frames ---- */

static size_t client_frame(uint8_t *out, uint8_t b0, const void *payload, uint64_t len, bool masked)
{
    static const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};
    size_t h = 0;
    out[h++] = b0;
    uint8_t m = masked ? 0x80 : 0;
    if (len < 126) {
        out[h++] = m | (uint8_t)len;
    } else if (len < 65536) {
        out[h++] = m | 126;
        out[h++] = (uint8_t)(len >> 8);
        out[h++] = (uint8_t)len;
    } else {
        out[h++] = m | 127;
        for (int i = 0; i < 8; i++)
            out[h++] = (uint8_t)(len >> (56 - 8 * i));
    }
    if (masked) {
        memcpy(out + h, key, 4);
        h += 4;
    }
    if (payload)
        for (uint64_t i = 0; i < len; i++)
            out[h + i] = ((const uint8_t *)payload)[i] ^ (masked ? key[i % 4] : 0);
    return h + (payload ? len : 0);
}

static void send_text(mp_conn_t *c, const char *text)
{
    uint8_t buf[4096];
    size_t n = client_frame(buf, 0x81, text, strlen(text), true);
    mp_net__fake_feed(c, buf, n);
}

typedef struct {
    int op;
    char payload[2048];
    size_t len;
} frame_t;

/* Parses the index-th server frame found after the HTTP response head. */
static bool server_frame(mp_conn_t *c, int index, frame_t *f)
{
    size_t len;
    const char *out = mp_net__fake_output(c, &len);
    const char *p = strstr(out, "\r\n\r\n");
    const uint8_t *d = p ? (const uint8_t *)p + 4 : (const uint8_t *)out;
    const uint8_t *end = (const uint8_t *)out + len;
    for (int i = 0; d + 2 <= end; i++) {
        size_t pl = d[1] & 0x7f, h = 2;
        if (pl == 126) {
            pl = (size_t)d[2] << 8 | d[3];
            h = 4;
        }
        assert_true(pl < 127 || h == 4);
        assert_false(d[1] & 0x80); /* servers never mask */
        if (i == index) {
            f->op = d[0] & 0x0f;
            f->len = pl;
            memcpy(f->payload, d + h, pl);
            f->payload[pl] = '\0';
            return true;
        }
        d += h + pl;
    }
    return false;
}

static int close_code(mp_conn_t *c, int index)
{
    frame_t f;
    if (!server_frame(c, index, &f) || f.op != 8 || f.len < 2)
        return -1;
    return (uint8_t)f.payload[0] << 8 | (uint8_t)f.payload[1];
}

static mp_conn_t *upgrade(const char *extra)
{
    char req[1024];
    snprintf(req, sizeof(req),
             "GET /v1/ws HTTP/1.1\r\nHost: chat.example:8080\r\nUpgrade: websocket\r\n"
             "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n%s\r\n",
             extra ? extra : "");
    mp_conn_t *c = mp_net__fake_new(srv);
    mp_net__fake_feed(c, req, strlen(req));
    return c;
}

/* ---- tests ---- */

static void test_accept_key(void **state)
{
    (void)state;
    char out[29];
    mp_ws__accept_key("dGhlIHNhbXBsZSBub25jZQ==", out);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_frame_refcount(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:i,s:s}", "id", 1, "t", "x");
    mp_frame_t *f = mp_frame_new_json(o);
    json_decref(o);
    assert_int_equal(f->refs, 1);
    assert_int_equal(f->len, strlen("{\"id\":1,\"t\":\"x\"}"));
    assert_memory_equal(f->data, "{\"id\":1,\"t\":\"x\"}", f->len);
    assert_ptr_equal(mp_frame_ref(f), f);
    assert_int_equal(f->refs, 2);
    mp_frame_unref(f);
    assert_int_equal(f->refs, 1);
    mp_frame_unref(f); /* freed: ASan reports a leak or double free otherwise */
}

static int track(const uint8_t *d, size_t n, size_t *ok)
{
    mp_ws_t ws;
    memset(&ws, 0, sizeof(ws));
    int code;
    *ok = mp_ws__track(&ws, d, n, 1000, &code);
    return code;
}

static void test_header_checks(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t ok, n;
    n = client_frame(b, 0x81, "hi", 2, true);
    n += client_frame(b + n, 0x81, "hi", 2, false); /* unmasked */
    assert_int_equal(track(b, n, &ok), 1002);
    assert_int_equal(ok, 8); /* the first frame is still processed */
    n = client_frame(b, 0x82, NULL, 3, true);
    assert_int_equal(track(b, n, &ok), 1003);
    n = client_frame(b, 0x81, NULL, 1ull << 63, true);
    assert_int_equal(track(b, n, &ok), 1009);
    assert_int_equal(ok, 0);
    n = client_frame(b, 0x81, NULL, 1001, true);
    assert_int_equal(track(b, n, &ok), 1009);
    n = client_frame(b, 0x80, NULL, 3, true); /* continuation without a start */
    assert_int_equal(track(b, n, &ok), 1002);
    n = client_frame(b, 0x91, NULL, 3, true); /* RSV1 */
    assert_int_equal(track(b, n, &ok), 1002);
    n = client_frame(b, 0x09, NULL, 3, true); /* fragmented ping */
    assert_int_equal(track(b, n, &ok), 1002);
    n = client_frame(b, 0x83, NULL, 3, true); /* reserved opcode */
    assert_int_equal(track(b, n, &ok), 1002);
    uint8_t nonmin[8] = {0x81, 0xfe, 0x00, 0x05, 1, 2, 3, 4}; /* 5 in 16 bits */
    assert_int_equal(track(nonmin, 8, &ok), 1002);
    /* Fragments add up: 600 + 600 > 1000. */
    n = client_frame(b, 0x01, NULL, 600, true);
    mp_ws_t ws;
    memset(&ws, 0, sizeof(ws));
    int code;
    mp_ws__track(&ws, b, n, 1000, &code);
    assert_int_equal(code, 0);
    ws.t_left = 0; /* pretend the payload went by */
    n = client_frame(b, 0x80, NULL, 600, true);
    mp_ws__track(&ws, b, n, 1000, &code);
    assert_int_equal(code, 1009);
}

static void test_handshake(void **state)
{
    (void)state;
    mp_conn_t *c = upgrade(NULL);
    const char *out = mp_net__fake_output(c, NULL);
    assert_non_null(strstr(out, "HTTP/1.1 101 Switching Protocols\r\n"));
    assert_non_null(strstr(out, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    assert_true(mp_net__fake_sid(c) > 0);
    assert_int_equal(opens, 0); /* not authenticated yet */
    mp_net__fake_free(c);
}

static void test_handshake_errors(void **state)
{
    (void)state;
    mp_conn_t *c = upgrade("Origin: https://evil.example\r\n");
    assert_non_null(strstr(mp_net__fake_output(c, NULL), "HTTP/1.1 403 "));
    assert_non_null(strstr(mp_net__fake_output(c, NULL), "\"code\":\"forbidden\""));
    assert_int_equal(mp_net__fake_sid(c), 0);
    mp_net__fake_free(c);
    c = upgrade("Origin: https://app.example\r\n"); /* listed */
    assert_non_null(strstr(mp_net__fake_output(c, NULL), "HTTP/1.1 101 "));
    mp_net__fake_free(c);
    c = upgrade("Origin: http://chat.example:8080\r\n"); /* same host */
    assert_non_null(strstr(mp_net__fake_output(c, NULL), "HTTP/1.1 101 "));
    mp_net__fake_free(c);
    c = upgrade("Authorization: Bearer wrong\r\n");
    assert_non_null(strstr(mp_net__fake_output(c, NULL), "HTTP/1.1 401 "));
    assert_int_equal(mp_net__fake_sid(c), 0);
    mp_net__fake_free(c);

    const char *bad[] = {
        "GET /v1/ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 12\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        "GET /v1/ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n",
        "GET /v1/ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n",
    };
    for (size_t i = 0; i < 3; i++) {
        c = mp_net__fake_new(srv);
        mp_net__fake_feed(c, bad[i], strlen(bad[i]));
        assert_non_null(strstr(mp_net__fake_output(c, NULL), "HTTP/1.1 400 "));
        assert_true(mp_net__fake_closing(c));
        mp_net__fake_free(c);
    }
}

static void test_auth_frame(void **state)
{
    (void)state;
    mp_conn_t *c = upgrade(NULL);
    frame_t f;
    send_text(c, "{\"id\":1,\"type\":\"ping\"}");
    assert_true(server_frame(c, 0, &f));
    assert_string_equal(f.payload, "{\"id\":1,\"error\":{\"code\":\"unauthorized\",\"message\":"
                                   "\"authenticate first (auth frame)\"}}");
    send_text(c, "{\"id\":2,\"type\":\"auth\",\"token\":\"bad\"}");
    assert_true(server_frame(c, 1, &f));
    assert_non_null(strstr(f.payload, "{\"id\":2,\"error\":{\"code\":\"unauthorized\""));
    assert_int_equal(opens, 0);
    send_text(c, "{\"id\":3,\"type\":\"auth\",\"token\":\"tok\"}");
    assert_true(server_frame(c, 2, &f));
    assert_string_equal(
        f.payload, "{\"id\":3,\"ok\":true,\"user_id\":\"12345678901234567\",\"device_id\":\"9\"}");
    assert_int_equal(opens, 1);
    assert_int_equal(last_sid, mp_net__fake_sid(c));
    send_text(c, "{\"id\":4,\"type\":\"auth\",\"token\":\"tok\"}");
    assert_true(server_frame(c, 3, &f));
    assert_non_null(strstr(f.payload, "{\"id\":4,\"error\":{\"code\":\"bad_request\""));
    send_text(c, "{\"id\":5,\"type\":\"ping\"}");
    assert_true(server_frame(c, 4, &f));
    assert_string_equal(f.payload, "{\"id\":5,\"ok\":true,\"pong\":true}");
    assert_string_equal(last_type, "ping");
    mp_net__fake_free(c);
    assert_int_equal(closes, 1);
}

static void test_header_auth_and_gw(void **state)
{
    (void)state;
    mp_conn_t *c = upgrade("Authorization: Bearer tok\r\n");
    assert_int_equal(opens, 1);
    mp_sid_t sid = mp_net__fake_sid(c);
    json_t *o = json_pack("{s:s}", "event", "hello");
    mp_frame_t *fr = mp_frame_new_json(o);
    json_decref(o);
    mp_gw_send(srv, sid, fr);
    mp_gw_send(srv, sid + 1000, fr); /* unknown: no-op */
    mp_frame_unref(fr);
    mp_gw_error(srv, sid, 9, MP_ERR_RATE_LIMITED, NULL, json_pack("{s:i}", "retry_after_ms", 50));
    mp_gw_reply(srv, sid + 1000, 1, json_object());
    frame_t f;
    assert_true(server_frame(c, 0, &f));
    assert_string_equal(f.payload, "{\"event\":\"hello\"}");
    assert_true(server_frame(c, 1, &f));
    assert_string_equal(f.payload, "{\"id\":9,\"error\":{\"code\":\"rate_limited\",\"message\":"
                                   "\"too many requests, slow down\",\"retry_after_ms\":50}}");
    mp_gw_close(srv, sid, 4001, "revoked");
    assert_int_equal(close_code(c, 2), 4001);
    assert_true(server_frame(c, 2, &f));
    assert_string_equal(f.payload + 2, "revoked");
    mp_gw_send(srv, sid, NULL); /* closing: skipped */
    assert_false(server_frame(c, 3, &f));
    /* The peer's close reply completes the handshake. */
    uint8_t b[16];
    uint8_t code[2] = {0x0f, 0xa1};
    size_t n = client_frame(b, 0x88, code, 2, true);
    mp_net__fake_feed(c, b, n);
    assert_true(mp_net__fake_closing(c));
    assert_int_equal(closes, 1);
    mp_net__fake_free(c);
    assert_int_equal(closes, 1);
}

/* A frame of size bytes of JSON text. */
static mp_frame_t *frame_of(size_t size)
{
    char *text = malloc(size + 1);
    assert_non_null(text);
    memset(text, 'x', size);
    text[size] = '\0';
    json_t *o = json_pack("{s:s}", "t", text);
    free(text);
    mp_frame_t *f = mp_frame_new_json(o);
    json_decref(o);
    return f;
}

/* Walks the server frames captured (any length); returns how many, with the
 * opcode of the last one and, for a close frame, its code and reason. */
static int walk_frames(mp_conn_t *c, int *last_op, int *code, char *reason, size_t rcap)
{
    size_t len;
    const uint8_t *d = (const uint8_t *)mp_net__fake_output(c, &len), *end = d + len;
    int n = 0;
    while (d + 2 <= end) {
        uint64_t pl = d[1] & 0x7f;
        size_t h = 2;
        if (pl == 126) {
            pl = (uint64_t)d[2] << 8 | d[3];
            h = 4;
        } else if (pl == 127) {
            pl = 0;
            for (int i = 0; i < 8; i++)
                pl = pl << 8 | d[2 + i];
            h = 10;
        }
        assert_true(d + h + pl <= end);
        *last_op = d[0] & 0x0f;
        if (*last_op == 8 && pl >= 2) {
            *code = d[h] << 8 | d[h + 1];
            snprintf(reason, rcap, "%.*s", (int)(pl - 2), (const char *)d + h + 2);
        }
        d += h + pl;
        n++;
    }
    return n;
}

/* One frame larger than ws_max_queue (64 KiB here) reaches a peer who reads,
 * even twice in a row; only bytes left unread ahead of a frame make a slow
 * reader. */
static void test_queue_bound_is_ahead_of_frame(void **state)
{
    (void)state;
    mp_conn_t *c = upgrade("Authorization: Bearer tok\r\n");
    mp_net__fake_clear(c);
    mp_sid_t sid = mp_net__fake_sid(c);
    mp_frame_t *big = frame_of(200 * 1000);
    mp_gw_send(srv, sid, big);
    mp_gw_send(srv, sid, big);
    int op = 0, code = 0;
    char reason[128] = "";
    assert_int_equal(walk_frames(c, &op, &code, reason, sizeof reason), 2);
    assert_int_equal(op, 1);
    assert_false(mp_net__fake_closing(c));

    /* The peer stops reading: one more large frame is still taken (nothing
     * unread ahead of it), the next finds 200 KB unread: slow reader. */
    mp_net__fake_clear(c);
    mp_net__fake_stall(c, true);
    mp_gw_send(srv, sid, big);
    assert_int_equal(walk_frames(c, &op, &code, reason, sizeof reason), 1);
    assert_true(mp_net__out_total(srv) >= 200 * 1000);
    mp_gw_send(srv, sid, big);
    mp_frame_unref(big);
    mp_net__fake_stall(c, false);
    mp_net__fake_drain(c);
    assert_int_equal(walk_frames(c, &op, &code, reason, sizeof reason), 2);
    assert_int_equal(op, 8);
    assert_int_equal(code, 1008);
    assert_string_equal(reason, "slow reader");
    assert_true(mp_net__fake_closing(c));
    mp_net__fake_free(c);
}

static void test_frame_errors_keep_session(void **state)
{
    (void)state;
    mp_conn_t *c = upgrade("Authorization: Bearer tok\r\n");
    frame_t f;
    send_text(c, "{\"id\":1,");
    assert_true(server_frame(c, 0, &f));
    assert_non_null(strstr(f.payload, "{\"id\":null,\"error\":{\"code\":\"bad_json\""));
    send_text(c, "[1]");
    assert_true(server_frame(c, 1, &f));
    assert_non_null(strstr(f.payload, "\"code\":\"bad_json\""));
    send_text(c, "{\"type\":\"ping\"}");
    assert_true(server_frame(c, 2, &f));
    assert_string_equal(f.payload, "{\"id\":null,\"error\":{\"code\":\"bad_request\",\"message\":"
                                   "\"field 'id' must be an integer\"}}");
    send_text(c, "{\"id\":\"7\",\"type\":\"ping\"}");
    assert_true(server_frame(c, 3, &f));
    assert_non_null(strstr(f.payload, "field 'id' must be an integer"));
    send_text(c, "{\"id\":8,\"type\":3}");
    assert_true(server_frame(c, 4, &f));
    assert_string_equal(f.payload, "{\"id\":8,\"error\":{\"code\":\"bad_request\",\"message\":"
                                   "\"field 'type' must be a string\"}}");
    send_text(c, "{\"id\":10,\"type\":\"ping\"}");
    assert_true(server_frame(c, 5, &f));
    assert_string_equal(f.payload, "{\"id\":10,\"ok\":true,\"pong\":true}");
    assert_false(mp_net__fake_closing(c));
    mp_net__fake_free(c);
}

static void test_fragments_and_control(void **state)
{
    (void)state;
    mp_conn_t *c = upgrade("Authorization: Bearer tok\r\n");
    uint8_t b[256];
    size_t n = client_frame(b, 0x01, "{\"id\":3,", 8, true);
    n += client_frame(b + n, 0x89, "hb", 2, true); /* ping between fragments */
    n += client_frame(b + n, 0x80, "\"type\":\"ping\"}", 14, true);
    /* Byte by byte: every split point of headers and payloads. */
    for (size_t i = 0; i < n; i++)
        mp_net__fake_feed(c, b + i, 1);
    frame_t f;
    assert_true(server_frame(c, 0, &f));
    assert_int_equal(f.op, 10);
    assert_string_equal(f.payload, "hb");
    assert_true(server_frame(c, 1, &f));
    assert_string_equal(f.payload, "{\"id\":3,\"ok\":true,\"pong\":true}");
    mp_net__fake_free(c);
}

/* One read of whole text frames (one on the heap, past the stack buffer),
 * a control frame between them and a frame cut by the end of the read:
 * whole text frames are unmasked without wslay, the rest goes through it,
 * and the answers are those of wslay alone, in order. */
static void whole_frames_run(bool wslay_only, char *out, size_t cap)
{
    srv->ws_wslay_only = wslay_only;
    cfg.ws_max_message = 4000;
    mp_conn_t *c = upgrade("Authorization: Bearer tok\r\n");
    static uint8_t b[8192];
    char big[1600];
    int k = snprintf(big, sizeof big, "{\"id\":2,\"type\":\"ping\",\"pad\":\"");
    memset(big + k, 'x', sizeof big - (size_t)k - 3);
    memcpy(big + sizeof big - 3, "\"}", 3);
    size_t n = client_frame(b, 0x81, "{\"id\":1,\"type\":\"ping\"}", 22, true);
    n += client_frame(b + n, 0x81, big, strlen(big), true);
    n += client_frame(b + n, 0x89, "hb", 2, true);
    n += client_frame(b + n, 0x81, "{\"id\":3,\"type\":\"ping\"}", 22, true);
    size_t cut = n + 9; /* inside the next frame's payload */
    n += client_frame(b + n, 0x81, "{\"id\":4,\"type\":\"ping\"}", 22, true);
    n += client_frame(b + n, 0x81, "{\"id\":5,\"type\":\"ping\"}", 22, true);
    mp_net__fake_feed(c, b, cut);
    mp_net__fake_feed(c, b + cut, n - cut);
    assert_null(c->ws->rx); /* nothing held once the reads end on a boundary */
    frame_t f;
    const char *want[] = {"{\"id\":1,\"ok\":true,\"pong\":true}",
                          "{\"id\":2,\"ok\":true,\"pong\":true}",
                          "hb",
                          "{\"id\":3,\"ok\":true,\"pong\":true}",
                          "{\"id\":4,\"ok\":true,\"pong\":true}",
                          "{\"id\":5,\"ok\":true,\"pong\":true}"};
    for (int i = 0; i < 6; i++) {
        assert_true(server_frame(c, i, &f));
        assert_int_equal(f.op, i == 2 ? 10 : 1);
        assert_string_equal(f.payload, want[i]);
    }
    assert_false(server_frame(c, 6, &f));
    size_t len;
    const char *o = strstr(mp_net__fake_output(c, &len), "\r\n\r\n");
    assert_non_null(o);
    snprintf(out, cap, "%s", o);
    mp_net__fake_free(c);
    srv->ws_wslay_only = false;
}

static void test_whole_frames_in_one_read(void **state)
{
    (void)state;
    char direct[1024], wslay[1024];
    whole_frames_run(false, direct, sizeof direct);
    whole_frames_run(true, wslay, sizeof wslay);
    assert_string_equal(direct, wslay);
}

/* An idle session carries neither the HTTP state nor the receive state; a
 * fragmented message keeps the latter until its last fragment. */
static void test_idle_session_memory(void **state)
{
    (void)state;
    mp_conn_t *c = upgrade("Authorization: Bearer tok\r\n");
    assert_non_null(c->ws);
    assert_null(c->http);
    assert_null(c->ws->rx);
    uint8_t b[256];
    size_t n = client_frame(b, 0x01, "{\"id\":4,", 8, true);
    mp_net__fake_feed(c, b, n);
    assert_non_null(c->ws->rx);
    assert_non_null(c->ws->rx->msg);
    n = client_frame(b, 0x89, "x", 1, true); /* a ping between fragments */
    mp_net__fake_feed(c, b, n);
    assert_non_null(c->ws->rx);
    n = client_frame(b, 0x80, "\"type\":\"ping\"}", 14, true);
    mp_net__fake_feed(c, b, 3); /* split inside the last frame's header */
    assert_non_null(c->ws->rx);
    mp_net__fake_feed(c, b + 3, n - 3);
    assert_null(c->ws->rx);
    assert_int_equal(last_id, 4);
    assert_string_equal(last_type, "ping");
    mp_net__fake_free(c);
}

static void expect_close(const uint8_t *b, size_t n, int code)
{
    mp_conn_t *c = upgrade("Authorization: Bearer tok\r\n");
    mp_net__fake_feed(c, b, n);
    assert_int_equal(close_code(c, 0), code);
    assert_true(mp_net__fake_closing(c));
    send_text(c, "{\"id\":1,\"type\":\"ping\"}"); /* ignored after a failure */
    frame_t f;
    assert_false(server_frame(c, 1, &f));
    mp_net__fake_free(c);
}

static void test_close_codes(void **state)
{
    (void)state;
    uint8_t b[2048];
    size_t n = client_frame(b, 0x81, "{}", 2, false);
    expect_close(b, n, 1002);
    n = client_frame(b, 0x81, "\"\xc3\x28\"", 4, true);
    expect_close(b, n, 1007);
    n = client_frame(b, 0x82, "ab", 2, true);
    expect_close(b, n, 1003);
    n = client_frame(b, 0x81, NULL, 1ull << 63, true);
    expect_close(b, n, 1009);
    char big[1001];
    memset(big, ' ', sizeof(big));
    n = client_frame(b, 0x81, big, sizeof(big), true);
    expect_close(b, n, 1009);
    n = client_frame(b, 0x01, big, 600, true);
    n += client_frame(b + n, 0x80, big, 600, true);
    expect_close(b, n, 1009);
    uint8_t code[2] = {0x03, 0xe8};
    n = client_frame(b, 0x88, code, 2, true); /* the peer closes: echoed */
    expect_close(b, n, 1000);
}

static void test_auth_timeout(void **state)
{
    (void)state;
    mp_conn_t *c = upgrade(NULL);
    mp_net__fake_expire(c);
    assert_int_equal(close_code(c, 0), 1008);
    frame_t f;
    server_frame(c, 0, &f);
    assert_string_equal(f.payload + 2, "authentication timeout");
    mp_net__fake_free(c);
    assert_int_equal(closes, 0);
}

static void test_ping_pong(void **state)
{
    (void)state;
    mp_conn_t *c = upgrade("Authorization: Bearer tok\r\n");
    frame_t f;
    mp_net__fake_expire(c); /* ping 1 */
    assert_true(server_frame(c, 0, &f));
    assert_int_equal(f.op, 9);
    uint8_t b[16];
    size_t n = client_frame(b, 0x8a, NULL, 0, true);
    mp_net__fake_feed(c, b, n); /* pong */
    mp_net__fake_expire(c);     /* ping */
    mp_net__fake_expire(c);     /* ping, one missed */
    assert_false(mp_net__fake_closing(c));
    mp_net__fake_expire(c); /* two missed: dropped */
    assert_true(mp_net__fake_closing(c));
    assert_int_equal(closes, 1);
    mp_net__fake_free(c);
}

/* ---- real sockets ---- */

static int client_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rcv = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* One more frame for the client that never reads, until its session is
 * dropped. */
static bool send_until_dropped(void *frame)
{
    if (closes > 0)
        return true;
    mp_gw_send(srv, last_sid, frame);
    return false;
}

static void test_socket_slow_reader(void **state)
{
    (void)state;
    int port = 0;
    assert_int_equal(mp_server_listen(srv, &port), 0);
    assert_true(port > 0);
    int fd = client_connect(port);
    const char *up = "GET /v1/ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Authorization: Bearer tok\r\n\r\n";
    assert_int_equal(write(fd, up, strlen(up)), (ssize_t)strlen(up));
    MPU_WAIT(&loop, &opens, 1);
    assert_int_equal(opens, 1);
    assert_int_equal(mp_server_connections(srv), 1);
    /* The client never reads: the queue fills and the session is dropped. */
    json_t *o = json_pack("{s:s}", "pad", "");
    char pad[8000];
    memset(pad, 'x', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    json_object_set_new(o, "pad", json_string(pad));
    mp_frame_t *f = mp_frame_new_json(o);
    json_decref(o);
    MPU_WAIT_UNTIL(&loop, send_until_dropped, f);
    mp_frame_unref(f);
    /* Close 1008 is queued behind the stuck write; the hard close follows
     * within about a second. */
    MPU_WAIT(&loop, &closes, 1);
    assert_int_equal(closes, 1);
    close(fd);
}

/* The test's end of a socket, read without blocking. */
typedef struct {
    int fd;
    char buf[1024];
    size_t got;
    bool eof;
} reader_t;

static bool read_until_eof(void *ud)
{
    reader_t *r = ud;
    ssize_t n = read(r->fd, r->buf + r->got, sizeof(r->buf) - 1 - r->got);
    if (n > 0)
        r->got += (size_t)n;
    else if (n == 0)
        r->eof = true; /* the server half-closed after the response */
    return r->eof;
}

static bool no_connections(void *ud)
{
    (void)ud;
    return mp_server_connections(srv) == 0;
}

static void test_socket_http(void **state)
{
    (void)state;
    int port = 0;
    assert_int_equal(mp_server_listen(srv, &port), 0);
    int fd = client_connect(port);
    const char *req = "GET /healthz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    reader_t r = {.fd = fd};
    MPU_WAIT_UNTIL(&loop, read_until_eof, &r);
    r.buf[r.got] = '\0';
    assert_true(r.eof);
    assert_non_null(strstr(r.buf, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(r.buf, "{\"status\":\"ok\"}"));
    close(fd);
    MPU_WAIT_UNTIL(&loop, no_connections, NULL);
    assert_int_equal(mp_server_connections(srv), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key),
        cmocka_unit_test(test_frame_refcount),
        cmocka_unit_test(test_header_checks),
        cmocka_unit_test_setup_teardown(test_handshake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_auth_and_gw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_bound_is_ahead_of_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frame_errors_keep_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fragments_and_control, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whole_frames_in_one_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_session_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_pong, setup, teardown),
        cmocka_unit_test_setup_teardown(test_socket_slow_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_socket_http, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
