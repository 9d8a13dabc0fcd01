/* End-to-end tests of world-room moderation by server admins: an admin
 * deletes any world message (admin route and the `delete` verb) and every
 * online session gets message_deleted; a banned user's send, forward and
 * reactions in the world are refused with `banned` while other rooms work,
 * and posting works again after the unban; bans listed and paged; every
 * admin route refused to non-admins, guests and anonymous callers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_invites_util.h"

#define FLAGS CHAT_FLAGS, "--world_slow_mode", "0"
#define THUMBS "\xF0\x9F\x91\x8D"

static mpt_server_t *srv;
static mpt_session_t admin;
static char world[24];

static int setup(void **state)
{
    (void)state;
    const char *flags[] = {FLAGS, NULL};
    srv = mpt_server_start(flags);
    if (srv == NULL || mpt_user_new(srv, "wmadm", &admin) != 0)
        return -1;
    promote_and_restart(srv, admin.user_id, flags);
    json_t *w = EXPECT_BODY(200, NULL, srv, "GET", admin.access, NULL, "/v1/world");
    snprintf(world, sizeof world, "%s", jstr(w, "conversation_id"));
    json_decref(w);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = mpt_server_stop(srv);
    srv = NULL;
    return rc == 0 ? 0 : -1;
}

/* The next message_deleted event for message mid (others skipped). */
static void expect_deleted(mpc_ws_t *ws, const char *mid)
{
    for (;;) {
        json_t *ev = next_event(ws, "message_deleted");
        bool match = strcmp(jstr(ev, "message_id"), mid) == 0;
        if (match) {
            assert_string_equal(jstr(ev, "conversation"), world);
            assert_string_equal(jstr(ev, "for"), "everyone");
        }
        json_decref(ev);
        if (match)
            return;
    }
}

/* The world message mid as history shows it to d (fails when absent). */
static json_t *world_msg(chat_dev_t *d, const char *mid)
{
    json_t *all = all_history(d->ws, world);
    json_t *found = NULL, *m;
    size_t i;
    json_array_foreach(all, i, m)
    {
        if (strcmp(jstr(m, "message_id"), mid) == 0)
            found = json_incref(m);
    }
    json_decref(all);
    assert_non_null(found);
    return found;
}

static void test_admin_deletes_any_world_message(void **state)
{
    (void)state;
    chat_dev_t a1, a2, b, adm;
    dev_new_user(srv, "wma", &a1);
    dev_new_device(srv, &a1, &a2);
    dev_new_user(srv, "wmb", &b);
    adm.s = admin;
    dev_open(srv, &adm);
    char m1[24], m2[24];
    send_text(&a1, world, "wm-1", "rude words", m1);
    send_text(&a1, world, "wm-2", "more rude words", m2);

    /* A plain user may not: the route, and the verb. */
    EXPECT(403, "forbidden", srv, "DELETE", b.s.access, NULL, "/v1/admin/world/messages/%s", m1);
    assert_err(call(b.ws, "delete",
                    json_pack("{s:s,s:s,s:s}", "conversation", world, "message_id", m1, "for",
                              "everyone")),
               "forbidden");

    /* The admin route: every online session hears of it, the author's too. */
    EXPECT(204, NULL, srv, "DELETE", admin.access, NULL, "/v1/admin/world/messages/%s", m1);
    json_t *e = audit_newest(srv, admin.access, "world.delete_message", m1);
    assert_string_equal(jstr(e, "actor_id"), admin.user_id);
    assert_string_equal(jstr(json_object_get(e, "detail"), "sender_id"), a1.s.user_id);
    json_decref(e);
    expect_deleted(a1.ws, m1);
    expect_deleted(a2.ws, m1);
    expect_deleted(b.ws, m1);
    expect_deleted(adm.ws, m1);
    json_t *m = world_msg(&b, m1);
    assert_true(jint(m, "deleted_at") > 0);
    assert_string_equal(jstr(m, "text"), "");
    json_decref(m);
    /* Again: nothing left to do, still 204; unknown ids are 404. */
    EXPECT(204, NULL, srv, "DELETE", admin.access, NULL, "/v1/admin/world/messages/%s", m1);
    EXPECT(404, "not_found", srv, "DELETE", admin.access, NULL, "/v1/admin/world/messages/12345");
    EXPECT(400, "bad_request", srv, "DELETE", admin.access, NULL,
           "/v1/admin/world/messages/notanid");

    /* Admins are world moderators for the verb as well. */
    json_t *r = call(
        adm.ws, "delete",
        json_pack("{s:s,s:s,s:s}", "conversation", world, "message_id", m2, "for", "everyone"));
    assert_true(is_ok(r));
    json_decref(r);
    expect_deleted(a1.ws, m2);
    expect_deleted(b.ws, m2);

    /* Not a way into other rooms: a direct message is not a world message. */
    char conv[24], dm[24];
    assert_int_equal(direct_conv(srv, &a1, b.s.user_id, conv), 201);
    send_text(&a1, conv, "wm-dm", "private", dm);
    EXPECT(404, "not_found", srv, "DELETE", admin.access, NULL, "/v1/admin/world/messages/%s", dm);
    assert_int_equal(drain_events(b.ws, "message_deleted"), 0);
    dev_close(&a1);
    dev_close(&a2);
    dev_close(&b);
    dev_close(&adm);
}

static void test_ban_and_unban(void **state)
{
    (void)state;
    chat_dev_t a, b;
    dev_new_user(srv, "wbn", &a);
    dev_new_user(srv, "wbn", &b);
    char wm[24], conv[24], dm[24];
    send_text(&a, world, "wb-1", "a post to react to", wm);
    assert_int_equal(direct_conv(srv, &b, a.s.user_id, conv), 201);
    send_text(&b, conv, "wb-dm", "to forward", dm);
    drain_events(a.ws, NULL);

    json_t *ban = EXPECT_BODY(201, NULL, srv, "POST", admin.access,
                              json_pack("{s:s,s:s}", "user_id", b.s.user_id, "reason", "spam"),
                              "/v1/admin/world/bans");
    assert_string_equal(jstr(ban, "user_id"), b.s.user_id);
    assert_string_equal(jstr(ban, "username"), b.s.username);
    assert_string_equal(jstr(ban, "reason"), "spam");
    assert_string_equal(jstr(ban, "banned_by"), admin.user_id);
    long long at = jint(ban, "created_at");
    json_decref(ban);
    json_t *e = audit_newest(srv, admin.access, "world.ban", b.s.user_id);
    assert_string_equal(jstr(json_object_get(e, "detail"), "reason"), "spam");
    json_decref(e);
    /* Again: the standing ban, unchanged. */
    ban = EXPECT_BODY(200, NULL, srv, "POST", admin.access,
                      json_pack("{s:s,s:s}", "user_id", b.s.user_id, "reason", "other"),
                      "/v1/admin/world/bans");
    assert_string_equal(jstr(ban, "reason"), "spam");
    assert_int_equal(jint(ban, "created_at"), at);
    json_decref(ban);

    /* Refused in the world, with words. */
    json_t *r = send_msg(b.ws, world, NULL, "wb-2", "let me in");
    assert_string_equal(jstr(json_object_get(r, "error"), "message"),
                        "you are banned from the world room");
    assert_err(r, "banned");
    assert_err(
        call(b.ws, "react",
             json_pack("{s:s,s:s,s:s}", "conversation", world, "message_id", wm, "emoji", THUMBS)),
        "banned");
    assert_err(call(b.ws, "forward",
                    json_pack("{s:s,s:s,s:[s],s:s}", "conversation", world, "from", conv,
                              "message_ids", dm, "client_msg_id", "wb-fwd")),
               "banned");
    /* Nothing of it reached anyone. */
    assert_int_equal(drain_events(a.ws, "message"), 0);
    assert_int_equal(drain_events(a.ws, "reaction"), 0);
    /* Reading the world and other rooms still work. */
    json_t *all = all_history(b.ws, world);
    json_decref(all);
    send_text(&b, conv, "wb-dm2", "still here", NULL);

    json_t *list = EXPECT_BODY(200, NULL, srv, "GET", admin.access, NULL, "/v1/admin/world/bans");
    json_t *first = json_array_get(json_object_get(list, "bans"), 0);
    assert_string_equal(jstr(first, "user_id"), b.s.user_id);
    json_decref(list);

    EXPECT(204, NULL, srv, "DELETE", admin.access, NULL, "/v1/admin/world/bans/%s", b.s.user_id);
    json_decref(audit_newest(srv, admin.access, "world.unban", b.s.user_id));
    EXPECT(404, "not_found", srv, "DELETE", admin.access, NULL, "/v1/admin/world/bans/%s",
           b.s.user_id);
    send_text(&b, world, "wb-3", "back again", NULL);
    r = call(b.ws, "react",
             json_pack("{s:s,s:s,s:s}", "conversation", world, "message_id", wm, "emoji", THUMBS));
    assert_true(is_ok(r));
    json_decref(r);
    dev_close(&a);
    dev_close(&b);
}

static void test_ban_args_and_paging(void **state)
{
    (void)state;
    EXPECT(404, "not_found", srv, "POST", admin.access, json_pack("{s:s}", "user_id", "12345"),
           "/v1/admin/world/bans");
    EXPECT(400, "bad_request", srv, "POST", admin.access, json_object(), "/v1/admin/world/bans");
    EXPECT(400, "bad_request", srv, "POST", admin.access, json_pack("{s:s}", "user_id", "x5"),
           "/v1/admin/world/bans");
    char long_reason[300];
    memset(long_reason, 'r', 257);
    long_reason[257] = '\0';
    EXPECT(400, "bad_request", srv, "POST", admin.access,
           json_pack("{s:s,s:s}", "user_id", admin.user_id, "reason", long_reason),
           "/v1/admin/world/bans");
    /* Guests post in the world: they can be banned too. */
    mpt_session_t g;
    assert_int_equal(guest_new(srv, "Troll", &g), 200);
    mpc_ws_t *gws = mpt_ws_open(srv, g.access);
    assert_non_null(gws);
    char ids[3][24];
    snprintf(ids[0], sizeof ids[0], "%s", g.user_id);
    for (int i = 1; i < 3; i++) {
        mpt_session_t u;
        assert_int_equal(mpt_user_new(srv, "wbp", &u), 0);
        snprintf(ids[i], sizeof ids[i], "%s", u.user_id);
    }
    for (int i = 0; i < 3; i++)
        EXPECT(201, NULL, srv, "POST", admin.access, json_pack("{s:s}", "user_id", ids[i]),
               "/v1/admin/world/bans");
    assert_err(call(gws, "send",
                    json_pack("{s:s,s:s,s:s}", "conversation", world, "client_msg_id", "g-1",
                              "text", "spam")),
               "banned");
    mpc_ws_free(gws);

    json_t *p1 =
        EXPECT_BODY(200, NULL, srv, "GET", admin.access, NULL, "/v1/admin/world/bans?limit=2");
    json_t *a = json_object_get(p1, "bans");
    assert_int_equal(json_array_size(a), 2);
    assert_string_equal(jstr(json_array_get(a, 0), "user_id"), ids[2]);
    assert_string_equal(jstr(json_array_get(a, 1), "user_id"), ids[1]);
    assert_non_null(jstr(p1, "next_cursor"));
    json_t *p2 = EXPECT_BODY(200, NULL, srv, "GET", admin.access, NULL,
                             "/v1/admin/world/bans?limit=2&cursor=%s", jstr(p1, "next_cursor"));
    assert_string_equal(jstr(json_array_get(json_object_get(p2, "bans"), 0), "user_id"), ids[0]);
    json_decref(p1);
    json_decref(p2);
    for (int i = 0; i < 3; i++)
        EXPECT(204, NULL, srv, "DELETE", admin.access, NULL, "/v1/admin/world/bans/%s", ids[i]);
}

static void test_non_admins_refused(void **state)
{
    (void)state;
    mpt_session_t u, g;
    assert_int_equal(mpt_user_new(srv, "wmn", &u), 0);
    assert_int_equal(guest_new(srv, "Visitor", &g), 200);
    const char *routes[][2] = {
        {"DELETE", "/v1/admin/world/messages/12345"},
        {"POST", "/v1/admin/world/bans"},
        {"GET", "/v1/admin/world/bans"},
        {"DELETE", "/v1/admin/world/bans/12345"},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        json_t *body = json_pack("{s:s}", "user_id", u.user_id);
        EXPECT(403, "forbidden", srv, routes[i][0], u.access, body, "%s", routes[i][1]);
        body = json_pack("{s:s}", "user_id", u.user_id);
        EXPECT(403, NULL, srv, routes[i][0], g.access, body, "%s", routes[i][1]);
        EXPECT(401, "unauthorized", srv, routes[i][0], NULL, NULL, "%s", routes[i][1]);
    }
    /* The user was not banned by any of it. */
    json_t *list = EXPECT_BODY(200, NULL, srv, "GET", admin.access, NULL, "/v1/admin/world/bans");
    assert_int_equal(json_array_size(json_object_get(list, "bans")), 0);
    json_decref(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admin_deletes_any_world_message),
        cmocka_unit_test(test_ban_and_unban),
        cmocka_unit_test(test_ban_args_and_paging),
        cmocka_unit_test(test_non_admins_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
