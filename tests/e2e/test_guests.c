/* End-to-end tests of guests: creation and its shape, the world
 * room as their only place (guest_forbidden everywhere else, over HTTP and
 * WebSocket), the sender_guest mark, guests = read | off, the per-IP
 * creation limit, and the inactivity sweep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_groups_util.h"

static mpt_server_t *srv;

static int setup(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS, "--guest_rate", "100000", NULL};
    srv = mpt_server_start(flags);
    return srv ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = mpt_server_stop(srv);
    srv = NULL;
    return rc == 0 ? 0 : -1;
}

static void world_id(const mpt_server_t *s, const char *token, char out[24])
{
    json_t *w = EXPECT_BODY(200, NULL, s, "GET", token, NULL, "/v1/world");
    snprintf(out, 24, "%s", jstr(w, "conversation_id"));
    json_decref(w);
}

static void test_guest_creation(void **state)
{
    (void)state;
    /* Validation. */
    EXPECT(400, "bad_request", srv, "POST", NULL, json_pack("{s:s}", "display_name", ""),
           "/v1/auth/guest");
    EXPECT(400, "bad_request", srv, "POST", NULL, json_object(), "/v1/auth/guest");
    char name[66];
    memset(name, 'g', 65);
    name[65] = '\0';
    EXPECT(400, "bad_request", srv, "POST", NULL, json_pack("{s:s}", "display_name", name),
           "/v1/auth/guest");
    name[64] = '\0';

    /* The shape: the login answer plus "guest": true. */
    json_t *g = EXPECT_BODY(200, NULL, srv, "POST", NULL, json_pack("{s:s}", "display_name", name),
                            "/v1/auth/guest");
    assert_non_null(jstr(g, "user_id"));
    assert_non_null(jstr(g, "device_id"));
    assert_non_null(jstr(g, "access_token"));
    assert_string_equal(jstr(g, "token_type"), "Bearer");
    assert_true(jint(g, "expires_in") > 0);
    assert_non_null(jstr(g, "refresh_token"));
    assert_true(json_is_true(json_object_get(g, "guest")));
    char uid[24], access[1024], refresh[256];
    snprintf(uid, sizeof uid, "%s", jstr(g, "user_id"));
    snprintf(access, sizeof access, "%s", jstr(g, "access_token"));
    snprintf(refresh, sizeof refresh, "%s", jstr(g, "refresh_token"));
    json_decref(g);

    json_t *me = EXPECT_BODY(200, NULL, srv, "GET", access, NULL, "/v1/me");
    assert_string_equal(jstr(me, "user_id"), uid);
    char uname[64];
    snprintf(uname, sizeof uname, "guest_%s", uid);
    assert_string_equal(jstr(me, "username"), uname);
    assert_string_equal(jstr(me, "display_name"), name);
    assert_true(json_is_true(json_object_get(me, "guest")));
    json_decref(me);

    /* A regular user is not a guest. */
    mpt_session_t u;
    assert_int_equal(mpt_user_new(srv, "gr", &u), 0);
    me = EXPECT_BODY(200, NULL, srv, "GET", u.access, NULL, "/v1/me");
    assert_false(json_is_true(json_object_get(me, "guest")));
    json_decref(me);

    /* Refresh and logout are allowed to guests. */
    json_t *p = EXPECT_BODY(200, NULL, srv, "POST", NULL,
                            json_pack("{s:s}", "refresh_token", refresh), "/v1/auth/refresh");
    snprintf(access, sizeof access, "%s", jstr(p, "access_token"));
    json_decref(p);
    EXPECT(200, NULL, srv, "GET", access, NULL, "/v1/world");
    EXPECT(204, NULL, srv, "POST", access, NULL, "/v1/auth/logout");
    EXPECT(401, "unauthorized", srv, "GET", access, NULL, "/v1/me");
}

/* Every HTTP route outside the world room. */
static void test_guest_forbidden_http(void **state)
{
    (void)state;
    mpt_session_t g, u, v;
    assert_int_equal(guest_new(srv, "Guest", &g), 200);
    assert_int_equal(mpt_user_new(srv, "gf", &u), 0);
    assert_int_equal(mpt_user_new(srv, "gf", &v), 0);
    char direct[24], group[24], tok[128];
    chat_dev_t ud = {.s = u};
    assert_int_equal(direct_conv(srv, &ud, v.user_id, direct), 201);
    assert_int_equal(group_create(srv, u.access, "g", ids_json(v.user_id, NULL), NULL, group, NULL),
                     201);
    json_t *inv = EXPECT_BODY(201, NULL, srv, "POST", u.access, json_object(),
                              "/v1/groups/%s/invites", group);
    snprintf(tok, sizeof tok, "%s", jstr(inv, "token"));
    json_decref(inv);

    const char *ga = g.access;
    EXPECT(200, NULL, srv, "GET", ga, NULL, "/v1/me");
    EXPECT(200, NULL, srv, "GET", ga, NULL, "/v1/world");
    EXPECT(403, "guest_forbidden", srv, "GET", ga, NULL, "/v1/conversations");
    EXPECT(403, "guest_forbidden", srv, "POST", ga, json_pack("{s:s}", "user_id", u.user_id),
           "/v1/conversations/direct");
    EXPECT(403, "guest_forbidden", srv, "GET", ga, NULL, "/v1/conversations/%s/messages", direct);
    EXPECT(403, "guest_forbidden", srv, "GET", ga, NULL, "/v1/users/%s/presence", u.user_id);
    EXPECT(403, "guest_forbidden", srv, "GET", ga, NULL, "/v1/devices");
    EXPECT(403, "guest_forbidden", srv, "POST", ga, json_pack("{s:s}", "title", "mine"),
           "/v1/groups");
    EXPECT(403, "guest_forbidden", srv, "GET", ga, NULL, "/v1/groups/%s", group);
    EXPECT(403, "guest_forbidden", srv, "GET", ga, NULL, "/v1/groups/%s/members", group);
    EXPECT(403, "guest_forbidden", srv, "POST", ga, NULL, "/v1/groups/%s/leave", group);
    EXPECT(403, "guest_forbidden", srv, "POST", ga, NULL, "/v1/invites/%s/join", tok);
    /* The world's history over HTTP is the world room: allowed. */
    char w[24];
    world_id(srv, ga, w);
    EXPECT(200, NULL, srv, "GET", ga, NULL, "/v1/conversations/%s/messages", w);
}

static void test_guest_websocket(void **state)
{
    (void)state;
    chat_dev_t g, u;
    assert_int_equal(guest_new(srv, "Wanderer", &g.s), 200);
    dev_open(srv, &g);
    dev_new_user(srv, "gw", &u);
    chat_dev_t v;
    dev_new_user(srv, "gw", &v);
    char direct[24], group[24], w[24];
    assert_int_equal(direct_conv(srv, &u, v.s.user_id, direct), 201);
    assert_int_equal(
        group_create(srv, u.s.access, "g", ids_json(v.s.user_id, NULL), NULL, group, NULL), 201);
    world_id(srv, g.s.access, w);

    /* Outside the world: guest_forbidden, whatever the conversation. */
    assert_err(send_msg(g.ws, NULL, u.s.user_id, "gd-1", "hi"), "guest_forbidden");
    assert_err(send_msg(g.ws, direct, NULL, "gd-2", "hi"), "guest_forbidden");
    assert_err(send_msg(g.ws, group, NULL, "gd-3", "hi"), "guest_forbidden");
    assert_err(call(g.ws, "history", json_pack("{s:s}", "conversation", group)), "guest_forbidden");
    assert_err(call(g.ws, "read", json_pack("{s:s,s:i}", "conversation", direct, "seq", 1)),
               "guest_forbidden");
    assert_err(call(g.ws, "typing", json_pack("{s:s}", "conversation", group)), "guest_forbidden");
    assert_err(call(g.ws, "delivered", json_pack("{s:s,s:i}", "conversation", direct, "seq", 1)),
               "guest_forbidden");
    /* sync answers an empty result; ping works. */
    json_t *r = call(g.ws, "sync", json_pack("{s:s}", "since", "0"));
    assert_true(is_ok(r));
    assert_int_equal(json_array_size(json_object_get(r, "messages")), 0);
    assert_int_equal(json_array_size(json_object_get(r, "conversations")), 0);
    assert_false(json_is_true(json_object_get(r, "has_more")));
    json_decref(r);
    r = call(g.ws, "ping", json_object());
    assert_true(is_ok(r));
    json_decref(r);

    /* In the world: post (marked as a guest), history, read, typing. */
    r = send_msg(g.ws, w, NULL, "gw-1", "a guest says hi");
    assert_true(is_ok(r));
    long long seq = jint(r, "seq");
    json_decref(r);
    for (;;) {
        json_t *ev = next_event(u.ws, "message");
        json_t *m = json_object_get(ev, "message");
        bool hit = strcmp(jstr(m, "conversation"), w) == 0 && jint(m, "seq") == seq;
        if (hit) {
            assert_string_equal(jstr(m, "sender"), g.s.user_id);
            assert_string_equal(jstr(m, "text"), "a guest says hi");
            assert_true(json_is_true(json_object_get(m, "sender_guest")));
        }
        json_decref(ev);
        if (hit)
            break;
    }
    json_t *all = all_history(g.ws, w);
    assert_non_null(find_msg(all, w, "a guest says hi", NULL));
    json_decref(all);
    r = call(g.ws, "read", json_pack("{s:s,s:I}", "conversation", w, "seq", (json_int_t)seq));
    assert_true(is_ok(r));
    json_decref(r);
    /* A guest keeps a delivered cursor in the world like anyone. */
    r = call(g.ws, "delivered", json_pack("{s:s,s:I}", "conversation", w, "seq", (json_int_t)seq));
    assert_true(is_ok(r));
    assert_int_equal(jint(r, "delivered_seq"), seq);
    json_decref(r);
    r = call(g.ws, "typing", json_pack("{s:s}", "conversation", w));
    assert_true(is_ok(r));
    json_decref(r);
    /* Slow mode applies to guests too. */
    r = send_msg(g.ws, w, NULL, "gw-2", "again");
    assert_string_equal(mpt_error_code(r), "slow_mode");
    assert_true(jint(json_object_get(r, "error"), "retry_after_ms") > 0);
    json_decref(r);
    /* The regular sender is not marked. */
    r = send_msg(u.ws, w, NULL, "uw-1", "a user says hi");
    assert_true(is_ok(r));
    json_decref(r);
    for (;;) {
        json_t *ev = next_event(g.ws, "message");
        json_t *m = json_object_get(ev, "message");
        bool hit = strcmp(jstr(m, "text"), "a user says hi") == 0;
        if (hit)
            assert_false(json_is_true(json_object_get(m, "sender_guest")));
        json_decref(ev);
        if (hit)
            break;
    }
    dev_close(&g);
    dev_close(&u);
    dev_close(&v);
}

static void test_guests_read_only(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS, "--guests", "read", NULL};
    mpt_server_t *s2 = mpt_server_start(flags);
    assert_non_null(s2);
    chat_dev_t g, u;
    assert_int_equal(guest_new(s2, "Reader", &g.s), 200);
    dev_open(s2, &g);
    assert_int_equal(mpt_user_new(s2, "gro", &u.s), 0);
    dev_open(s2, &u);
    json_t *wj = EXPECT_BODY(200, NULL, s2, "GET", g.s.access, NULL, "/v1/world");
    assert_string_equal(jstr(wj, "guests"), "read");
    char w[24];
    snprintf(w, sizeof w, "%s", jstr(wj, "conversation_id"));
    json_decref(wj);
    json_t *r = send_msg(u.ws, w, NULL, "ro-u", "users still post");
    assert_true(is_ok(r));
    json_decref(r);
    assert_err(send_msg(g.ws, w, NULL, "ro-g", "may I?"), "guest_forbidden");
    json_t *all = all_history(g.ws, w);
    assert_non_null(find_msg(all, w, "users still post", NULL));
    assert_null(find_msg(all, w, "may I?", NULL));
    json_decref(all);
    dev_close(&g);
    dev_close(&u);
    assert_int_equal(mpt_server_stop(s2), 0);
}

static void test_guests_off(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS, "--guests", "off", NULL};
    mpt_server_t *s2 = mpt_server_start(flags);
    assert_non_null(s2);
    EXPECT(403, "guest_forbidden", s2, "POST", NULL, json_pack("{s:s}", "display_name", "Nope"),
           "/v1/auth/guest");
    mpt_session_t u;
    assert_int_equal(mpt_user_new(s2, "goff", &u), 0);
    json_t *wj = EXPECT_BODY(200, NULL, s2, "GET", u.access, NULL, "/v1/world");
    assert_string_equal(jstr(wj, "guests"), "off");
    json_decref(wj);
    assert_int_equal(mpt_server_stop(s2), 0);
}

/* POST /v1/auth/guest from a chosen source address (127.0.0.x). */
static int guest_from(const mpt_server_t *s, const char *source, mpc_response_t *resp)
{
    mpc_conn_t *c = mpc_connect_from(s->host, s->port, source, MPT_TIMEOUT);
    if (c == NULL)
        return MPC_ERR_IO;
    json_t *body = json_pack("{s:s}", "display_name", "Rate");
    int rc = mpc_http_request(c, "POST", "/v1/auth/guest", NULL, body, resp, MPT_TIMEOUT);
    json_decref(body);
    mpc_conn_free(c);
    return rc == MPC_OK ? resp->status : rc;
}

static void test_guest_rate_per_ip(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS, "--guest_rate", "3", NULL};
    mpt_server_t *s2 = mpt_server_start(flags);
    assert_non_null(s2);
    mpc_response_t r;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(guest_from(s2, "127.0.0.1", &r), 200);
        mpc_response_free(&r);
    }
    assert_int_equal(guest_from(s2, "127.0.0.1", &r), 429);
    MPT_ASSERT_HTTP_ERROR(&r, 429, "rate_limited");
    const char *ra = mpc_response_header(&r, "Retry-After");
    assert_non_null(ra);
    assert_true(atoi(ra) >= 1 && atoi(ra) <= 60);
    mpc_response_free(&r);
    /* Another address has its own budget. */
    assert_int_equal(guest_from(s2, "127.0.0.2", &r), 200);
    mpc_response_free(&r);
    assert_int_equal(mpt_server_stop(s2), 0);
}

/* Sweep: an idle guest is deleted after guest_ttl (its socket closes, its
 * tokens die, its world messages stay); a guest that keeps posting is not.
 * The idle guest's close is what paces the busy one's posts. */
static void test_guest_sweep(void **state)
{
    (void)state;
    /* guest_ttl 4 s: long enough that the busy guest's posts (and the
     * logins of setup) keep it alive on a loaded machine, short enough for a
     * test. */
    const char *flags[] = {CHAT_FLAGS, "--guest_ttl",       "4",  "--guest_sweep_interval",
                           "200",      "--world_slow_mode", "50", NULL};
    mpt_server_t *s2 = mpt_server_start(flags);
    assert_non_null(s2);
    chat_dev_t idle, busy, u;
    /* The regular user first: its argon2id register and login can take
     * longer than guest_ttl in slow (sanitizer) builds, and the guests must
     * not go idle before the test has even started. */
    assert_int_equal(mpt_user_new(s2, "gsw", &u.s), 0);
    assert_int_equal(guest_new(s2, "Ephemeral", &idle.s), 200);
    dev_open(s2, &idle);
    assert_int_equal(guest_new(s2, "Chatty", &busy.s), 200);
    dev_open(s2, &busy);
    char w[24];
    world_id(s2, idle.s.access, w);
    json_t *r = send_msg(idle.ws, w, NULL, "eph-1", "soon gone");
    assert_true(is_ok(r));
    json_decref(r);

    /* The busy guest posts every 400 ms until the idle one is swept. */
    long long t0 = mpt_mono_ms();
    int code = 0, posts = 0;
    char *reason = NULL;
    for (;;) {
        int rc = mpc_ws_wait_close(idle.ws, 400, &code, &reason);
        if (rc == MPC_OK)
            break;
        assert_int_equal(rc, MPC_ERR_TIMEOUT);
        assert_true(mpt_mono_ms() - t0 < 30000);
        char cmid[32];
        snprintf(cmid, sizeof cmid, "busy-%d", posts++);
        r = send_msg(busy.ws, w, NULL, cmid, "still here");
        assert_true(is_ok(r));
        json_decref(r);
    }
    long long closed_after = mpt_mono_ms() - t0;
    fprintf(stderr, "idle guest socket closed after %lld ms with %d (%s)\n", closed_after, code,
            reason ? reason : "");
    free(reason);
    assert_int_equal(code, 1008);
    dev_close(&idle);
    EXPECT(401, "unauthorized", s2, "GET", idle.s.access, NULL, "/v1/me");
    EXPECT(401, "unauthorized", s2, "POST", NULL,
           json_pack("{s:s}", "refresh_token", idle.s.refresh), "/v1/auth/refresh");
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM users WHERE id = %s", idle.s.user_id);
    assert_int_equal(db_count(s2, sql), 0);

    /* The busy guest outlived guest_ttl because it was active. */
    assert_true(closed_after >= 2500);
    EXPECT(200, NULL, s2, "GET", busy.s.access, NULL, "/v1/me");
    r = call(busy.ws, "ping", json_object());
    assert_true(is_ok(r));
    json_decref(r);

    /* The idle guest's world message stays; the regular user is untouched. */
    dev_open(s2, &u);
    json_t *all = all_history(u.ws, w);
    json_t *m = find_msg(all, w, "soon gone", NULL);
    assert_non_null(m);
    assert_string_equal(jstr(m, "sender"), idle.s.user_id);
    json_decref(all);
    EXPECT(200, NULL, s2, "GET", u.s.access, NULL, "/v1/me");
    dev_close(&u);
    dev_close(&busy);
    assert_int_equal(mpt_server_stop(s2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guest_creation),  cmocka_unit_test(test_guest_forbidden_http),
        cmocka_unit_test(test_guest_websocket), cmocka_unit_test(test_guests_read_only),
        cmocka_unit_test(test_guests_off),      cmocka_unit_test(test_guest_rate_per_ip),
        cmocka_unit_test(test_guest_sweep),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
