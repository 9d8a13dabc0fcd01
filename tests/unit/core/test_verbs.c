/* The verb table and the hub against the real gateway, through fake
 * connections: ping, unknown types, validation before handlers, raw readers
 * tried first (never for guests), pushes to a
 * user's other sessions and closing a revoked device's sessions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "chat/chat.h"
#include "core/hub.h"
#include "core/verbs.h"
#include "net/server.h"
#include "net/testing.h"
#include "util/clock.h"
#include "util/log.h"

#define USER 4242424242ULL

static uv_loop_t loop;
static mp_config_t cfg;
static mp_module_ctx_t app;
static mp_verbs_t *verbs;

/* "tok<N>" authenticates device N of USER, "gst<N>" the same as a guest. */
static mp_err_t auth(void *ctx, const char *token, mp_principal_t *who)
{
    (void)ctx;
    bool guest = strncmp(token, "gst", 3) == 0;
    if ((strncmp(token, "tok", 3) != 0 && !guest) || token[3] < '1' || token[3] > '9')
        return MP_ERR_UNAUTHORIZED;
    who->user_id = USER;
    who->device_id = (uint64_t)(token[3] - '0');
    who->guest = guest;
    return MP_OK;
}

static void on_open(void *ctx, mp_sid_t sid, const mp_principal_t *who)
{
    mp_hub_add(((mp_module_ctx_t *)ctx)->hub, sid, who);
}

static void on_close(void *ctx, mp_sid_t sid, const mp_principal_t *who)
{
    mp_hub_remove(((mp_module_ctx_t *)ctx)->hub, sid, who);
}

/* The verbs of chat (without a chat module: the frames these tests send
 * never reach a chat handler). */
static void on_frame(void *ctx, mp_sid_t sid, const mp_principal_t *who, int64_t req_id,
                     const char *type, json_t *frame)
{
    (void)ctx;
    mp_verbs_dispatch(verbs, sid, who, req_id, type, frame);
}

static bool on_raw_frame(void *ctx, mp_sid_t sid, const mp_principal_t *who, const char *m,
                         size_t n)
{
    (void)ctx;
    return mp_verbs_raw(verbs, sid, who, m, n);
}

/* A verb of the tests' own, "shout", answered {"how":"parsed"} by its
 * handler; its raw reader takes exactly one frame and answers {"how":"raw"}. */
#define SHOUT_RAW "{\"id\":5,\"type\":\"shout\",\"fast\":true}"

static void verb_shout(mp_cmd_t *cmd)
{
    mp_gw_reply(cmd->ctx->srv, cmd->sid, cmd->req_id, json_pack("{s:s}", "how", "parsed"));
}

static bool raw_shout(mp_cmd_t *cmd, const char *m, size_t n)
{
    assert_null(cmd->frame);
    assert_string_equal(cmd->type, "shout");
    if (n != strlen(SHOUT_RAW) || memcmp(m, SHOUT_RAW, n) != 0)
        return false;
    cmd->req_id = 5;
    mp_gw_reply(cmd->ctx->srv, cmd->sid, cmd->req_id, json_pack("{s:s}", "how", "raw"));
    return true;
}

static const mp_verb_t shout_verbs[] = {
    {"shout", NULL, verb_shout, 0},
    {NULL, NULL, NULL, 0},
};

static const mp_verb_raw_t shout_raws[] = {
    {"shout", raw_shout},
    {NULL, NULL},
};

static void done(void *arg)
{
    *(int *)arg = 1;
}

static int setup(void **state)
{
    (void)state;
    static const mp_server_hooks_t hooks = {.authenticate = auth,
                                            .session_open = on_open,
                                            .session_close = on_close,
                                            .frame = on_frame,
                                            .raw_frame = on_raw_frame};
    mp_log_set_level(MP_LOG_WARN);
    mp_config_defaults(&cfg);
    uv_loop_init(&loop);
    memset(&app, 0, sizeof app);
    app.loop = &loop;
    app.cfg = &cfg;
    app.srv = mp_server_new(&loop, &cfg, NULL, &hooks, &app);
    app.hub = mp_hub_new(app.srv);
    static const mp_verb_table_t tables[] = {
        {mp_chat_verbs, NULL, NULL}, {shout_verbs, NULL, shout_raws}, {NULL, NULL, NULL}};
    verbs = mp_verbs_new(&app, tables);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int finished = 0;
    mp_server_shutdown(app.srv, done, &finished);
    MPU_RUN_IDLE(&loop);
    assert_int_equal(finished, 1);
    assert_false(mp_hub_online(app.hub, USER)); /* every session left the hub */
    mp_hub_free(app.hub);
    mp_verbs_free(verbs);
    mp_server_free(app.srv);
    assert_int_equal(uv_loop_close(&loop), 0);
    return 0;
}

static mp_conn_t *open_session(const char *token)
{
    char req[512];
    snprintf(req, sizeof req,
             "GET /v1/ws HTTP/1.1\r\nHost: chat.example\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer %s\r\n\r\n",
             token);
    mp_conn_t *c = mp_net__fake_new(app.srv);
    mp_net__fake_feed(c, req, strlen(req));
    assert_true(mp_net__fake_sid(c) != 0);
    return c;
}

static void send_text(mp_conn_t *c, const char *text)
{
    static const uint8_t key[4] = {0x01, 0x02, 0x03, 0x04};
    uint8_t buf[1024];
    size_t len = strlen(text), h = 0;
    assert_true(len < 126);
    buf[h++] = 0x81;
    buf[h++] = 0x80 | (uint8_t)len;
    memcpy(buf + h, key, 4);
    h += 4;
    for (size_t i = 0; i < len; i++)
        buf[h + i] = (uint8_t)text[i] ^ key[i % 4];
    mp_net__fake_feed(c, buf, h + len);
}

/* The index-th server frame after the handshake: opcode and payload. */
static int server_frame(mp_conn_t *c, int index, char *payload, size_t cap)
{
    size_t len;
    const char *out = mp_net__fake_output(c, &len);
    const char *p = strstr(out, "\r\n\r\n");
    assert_non_null(p);
    const uint8_t *d = (const uint8_t *)p + 4, *end = (const uint8_t *)out + len;
    for (int i = 0; d + 2 <= end; i++) {
        size_t pl = d[1] & 0x7f, h = 2;
        if (pl == 126) {
            pl = (size_t)d[2] << 8 | d[3];
            h = 4;
        }
        if (i == index) {
            assert_true(pl < cap);
            memcpy(payload, d + h, pl);
            payload[pl] = '\0';
            return d[0] & 0x0f;
        }
        d += h + pl;
    }
    return -1;
}

static json_t *reply(mp_conn_t *c, int index)
{
    char payload[2048];
    assert_int_equal(server_frame(c, index, payload, sizeof payload), 1);
    json_t *j = json_loads(payload, 0, NULL);
    assert_non_null(j);
    return j;
}

static void assert_error(mp_conn_t *c, int index, int64_t id, const char *code, const char *msg)
{
    json_t *j = reply(c, index);
    json_int_t got_id = -1;
    const char *got_code = NULL, *got_msg = NULL;
    assert_int_equal(json_unpack(j, "{s:I,s:{s:s,s:s}}", "id", &got_id, "error", "code", &got_code,
                                 "message", &got_msg),
                     0);
    assert_int_equal(got_id, id);
    assert_string_equal(got_code, code);
    assert_string_equal(got_msg, msg);
    json_decref(j);
}

static void test_ping(void **state)
{
    (void)state;
    mp_conn_t *c = open_session("tok1");
    int64_t before = mp_now_ms();
    send_text(c, "{\"id\":7,\"type\":\"ping\"}");
    json_t *j = reply(c, 0);
    json_int_t id = 0, t = 0;
    int ok = 0, pong = 0;
    assert_int_equal(
        json_unpack(j, "{s:I,s:b,s:b,s:I}", "id", &id, "ok", &ok, "pong", &pong, "time", &t), 0);
    assert_int_equal(id, 7);
    assert_true(ok && pong);
    assert_true(t >= before && t <= mp_now_ms());
    json_decref(j);
    mp_net__fake_free(c);
}

static void test_unknown_and_invalid(void **state)
{
    (void)state;
    mp_conn_t *c = open_session("tok1");
    send_text(c, "{\"id\":1,\"type\":\"xyz\"}");
    assert_error(c, 0, 1, "unknown_type", "unknown type 'xyz'");
    /* Validation runs before the handler (which would need a chat module). */
    send_text(c, "{\"id\":2,\"type\":\"history\",\"conversation\":\"0\"}");
    assert_error(c, 1, 2, "bad_request", "field 'conversation' must be an id (a decimal string)");
    send_text(c, "{\"id\":3,\"type\":\"typing\"}");
    assert_error(c, 2, 3, "bad_request", "field 'conversation' is required");
    /* The session is still usable afterwards. */
    send_text(c, "{\"id\":4,\"type\":\"ping\"}");
    json_t *j = reply(c, 3);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 4);
    json_decref(j);
    assert_false(mp_net__fake_closing(c));
    mp_net__fake_free(c);
}

/* A raw reader answers the frames it takes; the rest, and every frame of a
 * guest, go through the parser to the verb's handler and its rules. */
static void test_raw_readers(void **state)
{
    (void)state;
    mp_conn_t *c = open_session("tok1");
    send_text(c, SHOUT_RAW);
    json_t *j = reply(c, 0);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 5);
    assert_string_equal(json_string_value(json_object_get(j, "how")), "raw");
    json_decref(j);
    send_text(c, "{\"id\":6,\"type\":\"shout\"}");
    j = reply(c, 1);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 6);
    assert_string_equal(json_string_value(json_object_get(j, "how")), "parsed");
    json_decref(j);
    /* Declined frames still get the parser's answers. */
    send_text(c, "{\"id\":7,\"type\":");
    j = reply(c, 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                        "bad_json");
    json_decref(j);
    mp_net__fake_free(c);

    mp_conn_t *g = open_session("gst1");
    send_text(g, SHOUT_RAW); /* not raw: the verb is not for guests */
    assert_error(g, 0, 5, "guest_forbidden", "guests may only use the world room");
    mp_net__fake_free(g);
}

static void test_hub_push_and_revoke(void **state)
{
    (void)state;
    mp_conn_t *a = open_session("tok1");
    mp_conn_t *b = open_session("tok2");
    mp_conn_t *b2 = open_session("tok2");
    assert_int_equal(mp_hub_sessions(app.hub, USER), 3);

    json_t *ev = json_pack("{s:s}", "event", "hello");
    mp_frame_t *f = mp_frame_new_json(ev);
    json_decref(ev);
    mp_hub_push_user(app.hub, USER, f, mp_net__fake_sid(a));
    mp_frame_unref(f);
    uv_run(&loop, UV_RUN_NOWAIT);
    char payload[256];
    assert_int_equal(server_frame(a, 0, payload, sizeof payload), -1); /* excepted */
    assert_int_equal(server_frame(b, 0, payload, sizeof payload), 1);
    assert_string_equal(payload, "{\"event\":\"hello\"}");
    assert_int_equal(server_frame(b2, 0, payload, sizeof payload), 1);

    mp_hub_close_device(app.hub, 2);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_true(mp_net__fake_closing(b));
    assert_true(mp_net__fake_closing(b2));
    assert_false(mp_net__fake_closing(a));
    assert_int_equal(server_frame(b, 1, payload, sizeof payload), 8);
    assert_int_equal((uint8_t)payload[0] << 8 | (uint8_t)payload[1], 1008);
    assert_string_equal(payload + 2, "device revoked");

    mp_net__fake_free(b);
    mp_net__fake_free(b2);
    assert_int_equal(mp_hub_sessions(app.hub, USER), 1);
    mp_net__fake_free(a);
    assert_false(mp_hub_online(app.hub, USER));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_and_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_readers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hub_push_and_revoke, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
