/* The guest gates and the world fan-out against the real gateway, through
 * fake connections: the verb flags (guests kept to the world room, guests =
 * read / off), the HTTP route flag MP_ROUTE_GUEST_OK, mp_hub_push_all, the
 * guest config keys and the sweep period. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "auth/sweep.h"
#include "chat/chat.h"
#include "core/hub.h"
#include "core/verbs.h"
#include "net/server.h"
#include "net/testing.h"
#include "util/log.h"

#define WORLD 777ULL
#define OTHER_CONV 778ULL

static uv_loop_t loop;
static mp_config_t cfg;
static mp_module_ctx_t app;
static mp_verbs_t *verbs;
static int handled; /* route handler calls */

/* "g<N>" is guest user 100+N (device N); "u<N>" registered user 200+N. */
static mp_err_t auth(void *ctx, const char *token, mp_principal_t *who)
{
    (void)ctx;
    if ((token[0] != 'g' && token[0] != 'u') || token[1] < '1' || token[1] > '9')
        return MP_ERR_UNAUTHORIZED;
    who->guest = token[0] == 'g';
    who->user_id = (uint64_t)(who->guest ? 100 : 200) + (uint64_t)(token[1] - '0');
    who->device_id = (uint64_t)(token[1] - '0');
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

static void ok_handler(mp_http_req_t *req)
{
    handled++;
    mp_http_respond(req, 200, json_pack("{s:b}", "ok", 1));
}

static const mp_route_t routes[] = {
    {"GET", "/members-only", MP_ROUTE_AUTH, ok_handler},
    {"GET", "/guests-too", MP_ROUTE_AUTH | MP_ROUTE_GUEST_OK, ok_handler},
    {"GET", "/public", MP_ROUTE_PUBLIC, ok_handler},
    {NULL, NULL, 0, NULL},
};

/* The verbs of chat (without a chat module: the frames these tests send
 * never reach a chat handler). */
static void on_frame(void *ctx, mp_sid_t sid, const mp_principal_t *who, int64_t req_id,
                     const char *type, json_t *frame)
{
    (void)ctx;
    mp_verbs_dispatch(verbs, sid, who, req_id, type, frame);
}

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
                                            .frame = on_frame};
    mp_log_set_level(MP_LOG_WARN);
    mp_config_defaults(&cfg);
    uv_loop_init(&loop);
    memset(&app, 0, sizeof app);
    app.loop = &loop;
    app.cfg = &cfg;
    app.world_id = WORLD;
    app.srv = mp_server_new(&loop, &cfg, routes, &hooks, &app);
    app.hub = mp_hub_new(app.srv);
    static const mp_verb_table_t tables[] = {{mp_chat_verbs, NULL, NULL}, {NULL, NULL, NULL}};
    verbs = mp_verbs_new(&app, tables);
    handled = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int finished = 0;
    mp_server_shutdown(app.srv, done, &finished);
    MPU_RUN_IDLE(&loop);
    assert_int_equal(finished, 1);
    assert_int_equal(mp_hub_total_sessions(app.hub), 0);
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

/* Payload of the index-th server text frame after the handshake, or NULL. */
static json_t *frame_json(mp_conn_t *c, int index)
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
        if (i == index)
            return json_loadb((const char *)d + h, pl, 0, NULL);
        d += h + pl;
    }
    return NULL;
}

static void assert_code(mp_conn_t *c, int index, const char *code)
{
    json_t *j = frame_json(c, index);
    assert_non_null(j);
    const char *got = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
    assert_non_null(got);
    assert_string_equal(got, code);
    json_decref(j);
}

/* Frames that the gate refuses never reach a handler (this app has no chat
 * module at all, so a frame that got through would crash the test). */
static void test_verb_gate_write_mode(void **state)
{
    (void)state;
    mp_conn_t *g = open_session("g1");
    send_text(g, "{\"id\":1,\"type\":\"send\",\"conversation\":\"778\",\"client_msg_id\":\"a\","
                 "\"text\":\"x\"}");
    assert_code(g, 0, "guest_forbidden");
    send_text(g, "{\"id\":2,\"type\":\"send\",\"to\":\"201\",\"client_msg_id\":\"a\","
                 "\"text\":\"x\"}");
    assert_code(g, 1, "guest_forbidden");
    send_text(g, "{\"id\":3,\"type\":\"history\",\"conversation\":\"778\"}");
    assert_code(g, 2, "guest_forbidden");
    send_text(g, "{\"id\":4,\"type\":\"delivered\",\"conversation\":\"778\",\"seq\":1}");
    assert_code(g, 3, "guest_forbidden");
    send_text(g, "{\"id\":5,\"type\":\"read\",\"conversation\":\"778\",\"seq\":1}");
    assert_code(g, 4, "guest_forbidden");
    send_text(g, "{\"id\":6,\"type\":\"typing\",\"conversation\":\"778\"}");
    assert_code(g, 5, "guest_forbidden");
    /* Validation still comes first, and ping is always allowed. */
    send_text(g, "{\"id\":7,\"type\":\"history\"}");
    assert_code(g, 6, "bad_request");
    send_text(g, "{\"id\":8,\"type\":\"ping\"}");
    json_t *j = frame_json(g, 7);
    assert_true(json_is_true(json_object_get(j, "pong")));
    json_decref(j);
    assert_false(mp_net__fake_closing(g));
    mp_net__fake_free(g);
}

static void test_verb_gate_read_and_off(void **state)
{
    (void)state;
    mp_conn_t *g = open_session("g2");
    cfg.guests = MP_GUESTS_READ;
    send_text(g, "{\"id\":1,\"type\":\"send\",\"conversation\":\"777\",\"client_msg_id\":\"a\","
                 "\"text\":\"x\"}");
    assert_code(g, 0, "guest_forbidden");
    send_text(g, "{\"id\":2,\"type\":\"typing\",\"conversation\":\"777\"}");
    assert_code(g, 1, "guest_forbidden");
    cfg.guests = MP_GUESTS_OFF;
    send_text(g, "{\"id\":3,\"type\":\"history\",\"conversation\":\"777\"}");
    assert_code(g, 2, "guest_forbidden");
    send_text(g, "{\"id\":4,\"type\":\"sync\",\"since\":\"0\"}");
    assert_code(g, 3, "guest_forbidden");
    send_text(g, "{\"id\":5,\"type\":\"ping\"}");
    json_t *j = frame_json(g, 4);
    assert_true(json_is_true(json_object_get(j, "pong")));
    json_decref(j);
    mp_net__fake_free(g);
}

static int http_status(const char *path, const char *token, const char **code, json_t **body)
{
    char req[256];
    size_t len;
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n%s%s%s\r\n", path,
             token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "");
    mp_conn_t *c = mp_net__fake_new(app.srv);
    mp_net__fake_feed(c, req, strlen(req));
    const char *out = mp_net__fake_output(c, &len);
    int status = 0;
    assert_int_equal(sscanf(out, "HTTP/1.1 %d", &status), 1);
    const char *b = strstr(out, "\r\n\r\n");
    *body = b ? json_loads(b + 4, 0, NULL) : NULL;
    *code = json_string_value(json_object_get(json_object_get(*body, "error"), "code"));
    mp_net__fake_free(c);
    return status;
}

static void test_route_gate(void **state)
{
    (void)state;
    const char *code;
    json_t *body;
    assert_int_equal(http_status("/members-only", "g1", &code, &body), 403);
    assert_string_equal(code, "guest_forbidden");
    json_decref(body);
    assert_int_equal(handled, 0);
    assert_int_equal(http_status("/members-only", "u1", &code, &body), 200);
    json_decref(body);
    assert_int_equal(http_status("/guests-too", "g1", &code, &body), 200);
    json_decref(body);
    assert_int_equal(http_status("/public", "g1", &code, &body), 200);
    json_decref(body);
    assert_int_equal(handled, 3);
    /* No token at all is still 401, not guest_forbidden. */
    assert_int_equal(http_status("/members-only", NULL, &code, &body), 401);
    json_decref(body);
}

static void test_push_all(void **state)
{
    (void)state;
    mp_conn_t *u1 = open_session("u1");
    mp_conn_t *u1b = open_session("u1");
    mp_conn_t *u2 = open_session("u2");
    mp_conn_t *g3 = open_session("g3");
    assert_int_equal(mp_hub_total_sessions(app.hub), 4);
    json_t *ev = json_pack("{s:s}", "event", "world");
    mp_frame_t *f = mp_frame_new_json(ev);
    json_decref(ev);
    mp_hub_push_all(app.hub, f, 201); /* everyone but u1's sessions */
    mp_frame_unref(f);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_null(frame_json(u1, 0));
    assert_null(frame_json(u1b, 0));
    mp_conn_t *got[] = {u2, g3};
    for (int i = 0; i < 2; i++) {
        json_t *j = frame_json(got[i], 0);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "event")), "world");
        json_decref(j);
    }
    mp_net__fake_free(u1);
    mp_net__fake_free(u1b);
    mp_net__fake_free(u2);
    mp_net__fake_free(g3);
}

static void test_config_and_period(void **state)
{
    (void)state;
    mp_config_t c;
    char err[256];
    mp_config_defaults(&c);
    assert_int_equal(c.guests, MP_GUESTS_WRITE);
    assert_int_equal(c.guest_ttl_s, 86400);
    assert_int_equal(c.guest_sweep_interval_ms, 60000);
    assert_int_equal(c.guest_rate_per_min, 10);
    assert_int_equal(c.world_slow_mode_ms, 1000);
    assert_int_equal(mp_config_set(&c, "guests", "read", "flag", err, sizeof err), 0);
    assert_int_equal(c.guests, MP_GUESTS_READ);
    assert_int_equal(mp_config_set(&c, "guests", "off", "flag", err, sizeof err), 0);
    assert_int_equal(c.guests, MP_GUESTS_OFF);
    assert_int_equal(mp_config_set(&c, "guests", "maybe", "flag", err, sizeof err), -1);
    assert_non_null(strstr(err, "off, read or write"));
    assert_int_equal(mp_config_set(&c, "world_slow_mode", "0", "flag", err, sizeof err), 0);
    assert_int_equal(c.world_slow_mode_ms, 0);
    assert_int_equal(mp_config_set(&c, "world_slow_mode", "2s", "flag", err, sizeof err), 0);
    assert_int_equal(c.world_slow_mode_ms, 2000);
    assert_int_equal(mp_config_set(&c, "guest_ttl", "0", "flag", err, sizeof err), -1);

    assert_int_equal(mp_sweep_interval_ms(86400, 60000), 60000); /* the default: a minute */
    assert_int_equal(mp_sweep_interval_ms(100, 60000), 25000);   /* ttl / 4 */
    assert_int_equal(mp_sweep_interval_ms(1, 200), 200);         /* the tests' setting */
    assert_int_equal(mp_sweep_interval_ms(1, 5), 10);            /* floor */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_verb_gate_write_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verb_gate_read_and_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_gate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_push_all, setup, teardown),
        cmocka_unit_test(test_config_and_period),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
