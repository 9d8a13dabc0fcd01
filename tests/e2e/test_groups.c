/* End-to-end tests of groups over real sockets: creation and the
 * group object, member paging, system messages live and through sync,
 * invite link lifecycle, ban vs. link, dissolve, ownership transfer,
 * announcements, mutes, post permissions and the member limit. */
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
    const char *flags[] = {CHAT_FLAGS, NULL};
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

/* Checks every member of the group object of the spec. */
static void check_group(json_t *g, const char *id, const char *title, long long member_count,
                        const char *my_role, const char *owner_id, bool dissolved)
{
    assert_non_null(g);
    if (id)
        assert_string_equal(jstr(g, "conversation_id"), id);
    else
        assert_non_null(jstr(g, "conversation_id"));
    assert_string_equal(jstr(g, "kind"), "group");
    assert_string_equal(jstr(g, "title"), title);
    assert_true(json_is_string(json_object_get(g, "description")));
    assert_true(json_is_null(json_object_get(g, "avatar_file_id")));
    assert_null(json_object_get(g, "avatar"));
    assert_int_equal(jint(g, "member_count"), member_count);
    assert_string_equal(jstr(g, "my_role"), my_role);
    json_t *s = json_object_get(g, "settings");
    assert_true(json_is_object(s));
    const char *keys[] = {"who_can_post", "who_can_invite", "who_can_edit_info", "who_can_pin"};
    assert_int_equal(json_object_size(s), 4);
    for (int i = 0; i < 4; i++) {
        const char *v = jstr(s, keys[i]);
        assert_non_null(v);
        assert_true(strcmp(v, "all") == 0 || strcmp(v, "admins") == 0);
    }
    assert_non_null(json_object_get(g, "announcement"));
    assert_true(json_is_boolean(json_object_get(g, "dissolved")));
    assert_int_equal(json_is_true(json_object_get(g, "dissolved")), dissolved);
    assert_string_equal(jstr(g, "owner_id"), owner_id);
    assert_true(json_is_integer(json_object_get(g, "created_at")));
}

static void test_create_get_patch(void **state)
{
    (void)state;
    chat_dev_t o, a, b;
    dev_new_user(srv, "gc", &o);
    dev_new_user(srv, "gc", &a);
    dev_new_user(srv, "gc", &b);
    const char *ot = o.s.access;

    /* Validation: nothing is created by a refused request. */
    long long groups0 = db_count(srv, "SELECT COUNT(*) FROM conversations WHERE kind='group'");
    EXPECT(400, "bad_request", srv, "POST", ot, json_pack("{s:s}", "title", ""), "/v1/groups");
    EXPECT(400, "bad_request", srv, "POST", ot, json_pack("{}"), "/v1/groups");
    char longtitle[130];
    memset(longtitle, 'x', 129);
    longtitle[129] = '\0';
    EXPECT(400, "bad_request", srv, "POST", ot, json_pack("{s:s}", "title", longtitle),
           "/v1/groups");
    longtitle[128] = '\0';
    char *longdesc = malloc(1026);
    memset(longdesc, 'd', 1025);
    longdesc[1025] = '\0';
    EXPECT(400, "bad_request", srv, "POST", ot,
           json_pack("{s:s,s:s}", "title", "t", "description", longdesc), "/v1/groups");
    free(longdesc);
    json_t *many = json_array();
    for (int i = 0; i < 101; i++)
        json_array_append_new(many, json_string(a.s.user_id));
    EXPECT(400, "bad_request", srv, "POST", ot,
           json_pack("{s:s,s:o}", "title", "t", "member_ids", many), "/v1/groups");
    EXPECT(404, "not_found", srv, "POST", ot,
           json_pack("{s:s,s:[s,s]}", "title", "t", "member_ids", a.s.user_id, "424242424242"),
           "/v1/groups");
    EXPECT(400, "bad_request", srv, "POST", ot,
           json_pack("{s:s,s:{s:s}}", "title", "t", "settings", "who_can_post", "everyone"),
           "/v1/groups");
    assert_int_equal(db_count(srv, "SELECT COUNT(*) FROM conversations WHERE kind='group'"),
                     groups0);

    /* Creation: a 128-character title, duplicates and the creator ignored,
     * partial settings. */
    json_t *g =
        EXPECT_BODY(201, NULL, srv, "POST", ot,
                    json_pack("{s:s,s:s,s:[s,s,s],s:{s:s}}", "title", longtitle, "description",
                              "about", "member_ids", a.s.user_id, a.s.user_id, o.s.user_id,
                              "settings", "who_can_post", "admins"),
                    "/v1/groups");
    check_group(g, NULL, longtitle, 2, "owner", o.s.user_id, false);
    assert_string_equal(jstr(g, "description"), "about");
    assert_string_equal(jstr(json_object_get(g, "settings"), "who_can_post"), "admins");
    /* Settings not given take the documented default, "all". */
    assert_string_equal(jstr(json_object_get(g, "settings"), "who_can_invite"), "all");
    assert_string_equal(jstr(json_object_get(g, "settings"), "who_can_edit_info"), "all");
    assert_string_equal(jstr(json_object_get(g, "settings"), "who_can_pin"), "all");
    assert_true(json_is_null(json_object_get(g, "announcement")));
    char id[24];
    snprintf(id, sizeof id, "%s", jstr(g, "conversation_id"));
    json_decref(g);

    /* A member sees the same group with its own role; the group is a
     * conversation (its id works with history). */
    g = EXPECT_BODY(200, NULL, srv, "GET", a.s.access, NULL, "/v1/groups/%s", id);
    check_group(g, id, longtitle, 2, "member", o.s.user_id, false);
    json_decref(g);
    EXPECT(403, "not_member", srv, "GET", b.s.access, NULL, "/v1/groups/%s", id);
    json_t *h =
        EXPECT_BODY(200, NULL, srv, "GET", a.s.access, NULL, "/v1/conversations/%s/messages", id);
    json_t *msgs = json_object_get(h, "messages");
    json_t *created = find_msg(msgs, id, NULL, "created");
    assert_non_null(created);
    assert_string_equal(jstr(created, "sender"), o.s.user_id);
    assert_string_equal(jstr(json_object_get(created, "system"), "actor_id"), o.s.user_id);
    assert_int_equal(jint(created, "seq"), 1);
    assert_true(
        json_has_str(json_object_get(json_object_get(created, "system"), "user_ids"), a.s.user_id));
    assert_true(json_is_string(json_object_get(created, "text")));
    json_decref(h);

    /* PATCH: info and settings, validation. The member gets info_changed
     * and settings_changed live. */
    g = EXPECT_BODY(200, NULL, srv, "PATCH", ot,
                    json_pack("{s:s,s:s}", "title", "renamed", "description", ""), "/v1/groups/%s",
                    id);
    check_group(g, id, "renamed", 2, "owner", o.s.user_id, false);
    assert_string_equal(jstr(g, "description"), "");
    json_decref(g);
    json_t *ev = next_system_event(a.ws, id, "info_changed");
    json_decref(ev);
    g = EXPECT_BODY(200, NULL, srv, "PATCH", ot,
                    json_pack("{s:{s:s}}", "settings", "who_can_invite", "admins"), "/v1/groups/%s",
                    id);
    assert_string_equal(jstr(json_object_get(g, "settings"), "who_can_invite"), "admins");
    assert_string_equal(jstr(json_object_get(g, "settings"), "who_can_post"), "admins");
    json_decref(g);
    ev = next_system_event(a.ws, id, "settings_changed");
    json_decref(ev);
    EXPECT(400, "bad_request", srv, "PATCH", ot, json_pack("{s:s}", "title", ""), "/v1/groups/%s",
           id);
    EXPECT(400, "bad_request", srv, "PATCH", ot,
           json_pack("{s:{s:s}}", "settings", "who_can_post", "x"), "/v1/groups/%s", id);
    EXPECT(400, "bad_request", srv, "PATCH", ot,
           json_pack("{s:{s:s}}", "settings", "who_can_pin", "members"), "/v1/groups/%s", id);

    /* The group is in the members' conversation list, kind "group". */
    json_t *list = EXPECT_BODY(200, NULL, srv, "GET", a.s.access, NULL, "/v1/conversations");
    size_t i;
    json_t *c;
    bool found = false;
    json_array_foreach(json_object_get(list, "conversations"), i, c)
    {
        if (strcmp(jstr(c, "conversation_id"), id) == 0) {
            found = true;
            assert_string_equal(jstr(c, "kind"), "group");
            assert_non_null(json_string_value(json_object_get(c, "title")));
        }
    }
    assert_true(found);
    json_decref(list);

    dev_close(&o);
    dev_close(&a);
    dev_close(&b);
}

static void test_members_paging(void **state)
{
    (void)state;
    mpt_session_t o, m[5];
    assert_int_equal(mpt_user_new(srv, "gp", &o), 0);
    json_t *ids = json_array();
    for (int i = 0; i < 5; i++) {
        assert_int_equal(mpt_user_new(srv, "gp", &m[i]), 0);
        json_array_append_new(ids, json_string(m[i].user_id));
    }
    char g[24];
    assert_int_equal(group_create(srv, o.access, "paging", ids, NULL, g, NULL), 201);

    EXPECT(400, "bad_request", srv, "GET", o.access, NULL, "/v1/groups/%s/members?limit=0", g);
    EXPECT(400, "bad_request", srv, "GET", o.access, NULL, "/v1/groups/%s/members?limit=201", g);
    EXPECT(400, "bad_request", srv, "GET", o.access, NULL, "/v1/groups/%s/members?cursor=zzz", g);

    json_t *all = json_array();
    char cursor[256] = "";
    for (int page = 0; page < 10; page++) {
        json_t *b = cursor[0] ? EXPECT_BODY(200, NULL, srv, "GET", m[0].access, NULL,
                                            "/v1/groups/%s/members?limit=2&cursor=%s", g, cursor)
                              : EXPECT_BODY(200, NULL, srv, "GET", m[0].access, NULL,
                                            "/v1/groups/%s/members?limit=2", g);
        json_t *page_members = json_object_get(b, "members");
        assert_true(json_array_size(page_members) <= 2);
        json_array_extend(all, page_members);
        json_t *next = json_object_get(b, "next_cursor");
        bool last = json_is_null(next);
        if (!last) {
            assert_true(json_is_string(next));
            snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
        }
        json_decref(b);
        if (last)
            break;
    }
    assert_int_equal(json_array_size(all), 6);
    /* Ordered by joined_at then user_id; each user once; shapes. */
    long long prev_joined = 0;
    char prev_id[24] = "";
    int owners = 0;
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e)
    {
        assert_non_null(jstr(e, "user_id"));
        assert_non_null(jstr(e, "username"));
        assert_non_null(jstr(e, "display_name"));
        assert_true(json_is_null(json_object_get(e, "muted_until")));
        long long joined = jint(e, "joined_at");
        assert_true(joined >= prev_joined);
        if (joined == prev_joined) {
            unsigned long long a = strtoull(prev_id, NULL, 10),
                               b = strtoull(jstr(e, "user_id"), NULL, 10);
            assert_true(b > a);
        }
        prev_joined = joined;
        snprintf(prev_id, sizeof prev_id, "%s", jstr(e, "user_id"));
        const char *role = jstr(e, "role");
        if (strcmp(role, "owner") == 0) {
            owners++;
            assert_string_equal(jstr(e, "user_id"), o.user_id);
            assert_string_equal(jstr(e, "username"), o.username);
        } else
            assert_string_equal(role, "member");
    }
    assert_int_equal(owners, 1);
    json_decref(all);
}

/* Membership changes are system messages: live to online members (the
 * removed user included), and through sync to an offline member. */
static void test_system_messages_live_and_sync(void **state)
{
    (void)state;
    chat_dev_t o, a, k, off;
    dev_new_user(srv, "gs", &o);
    dev_new_user(srv, "gs", &a);
    dev_new_user(srv, "gs", &k);
    dev_new_user(srv, "gs", &off);
    mpt_session_t late;
    assert_int_equal(mpt_user_new(srv, "gs", &late), 0);

    /* The offline member syncs once, then goes away. */
    char cursor[32] = "0";
    assert_true(sync_until_done(off.ws, cursor, NULL, NULL));
    dev_close(&off);

    char g[24];
    assert_int_equal(group_create(srv, o.s.access, "sys",
                                  ids_json(a.s.user_id, k.s.user_id, off.s.user_id, NULL), NULL, g,
                                  NULL),
                     201);
    /* An online member learns of the group through its first message. */
    json_t *ev = next_system_event(a.ws, g, "created");
    json_t *m = json_object_get(ev, "message");
    assert_string_equal(jstr(m, "kind"), "system");
    assert_true(jint(m, "seq") >= 1);
    json_decref(ev);

    EXPECT(200, NULL, srv, "POST", o.s.access, json_pack("{s:[s]}", "user_ids", late.user_id),
           "/v1/groups/%s/members", g);
    ev = next_system_event(a.ws, g, "members_added");
    json_t *sys = json_object_get(json_object_get(ev, "message"), "system");
    assert_string_equal(jstr(sys, "actor_id"), o.s.user_id);
    assert_true(json_has_str(json_object_get(sys, "user_ids"), late.user_id));
    json_decref(ev);

    EXPECT(204, NULL, srv, "PUT", o.s.access, json_pack("{s:s}", "role", "admin"),
           "/v1/groups/%s/members/%s/role", g, a.s.user_id);
    ev = next_system_event(a.ws, g, "role_changed");
    json_decref(ev);

    /* Kick: the kicked user's device gets the removal too, and then the
     * conversation is closed to them. */
    EXPECT(204, NULL, srv, "DELETE", a.s.access, NULL, "/v1/groups/%s/members/%s", g, k.s.user_id);
    ev = next_system_event(k.ws, g, "member_removed");
    sys = json_object_get(json_object_get(ev, "message"), "system");
    assert_string_equal(jstr(sys, "actor_id"), a.s.user_id);
    assert_true(json_has_str(json_object_get(sys, "user_ids"), k.s.user_id));
    json_decref(ev);
    ev = next_system_event(o.ws, g, "member_removed");
    json_decref(ev);
    json_t *r = send_msg(k.ws, g, NULL, "kicked-1", "still here?");
    assert_err(r, "not_member");
    EXPECT(404, "not_found", srv, "DELETE", o.s.access, NULL, "/v1/groups/%s/members/%s", g,
           k.s.user_id);

    /* Leave. */
    EXPECT(204, NULL, srv, "POST", late.access, NULL, "/v1/groups/%s/leave", g);
    ev = next_system_event(o.ws, g, "member_left");
    json_decref(ev);
    EXPECT(403, "not_member", srv, "GET", late.access, NULL, "/v1/groups/%s", g);

    /* An ordinary message after all that. */
    r = send_msg(o.ws, g, NULL, "after-sys", "hello all");
    assert_true(is_ok(r));
    long long last = jint(r, "seq");
    json_decref(r);

    /* Nobody can send a system message. */
    json_t *f = json_pack("{s:s,s:s,s:s,s:s}", "conversation", g, "client_msg_id", "fake-sys",
                          "text", "x", "kind", "system");
    assert_err(call(o.ws, "send", f), "bad_request");

    /* The offline member comes back: sync carries every change, in seq
     * order, gap-free, ending with the message. */
    dev_open(srv, &off);
    json_t *msgs = json_array();
    assert_true(sync_until_done(off.ws, cursor, msgs, NULL));
    const char *actions[] = {"created", "members_added", "role_changed", "member_removed",
                             "member_left"};
    for (int i = 0; i < 5; i++)
        if (find_msg(msgs, g, NULL, actions[i]) == NULL)
            fail_msg("sync lacks the %s system message", actions[i]);
    assert_non_null(find_msg(msgs, g, "hello all", NULL));
    long long expect_seq = 0;
    size_t i;
    json_t *e;
    json_array_foreach(msgs, i, e)
    {
        if (strcmp(jstr(e, "conversation"), g) != 0)
            continue;
        if (expect_seq == 0)
            expect_seq = jint(e, "seq");
        assert_int_equal(jint(e, "seq"), expect_seq);
        expect_seq++;
    }
    assert_int_equal(expect_seq - 1, last);
    json_decref(msgs);

    dev_close(&o);
    dev_close(&a);
    dev_close(&k);
    dev_close(&off);
}

static void test_invite_lifecycle(void **state)
{
    (void)state;
    chat_dev_t o;
    dev_new_user(srv, "gi", &o);
    mpt_session_t j[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(mpt_user_new(srv, "gi", &j[i]), 0);
    char g[24];
    assert_int_equal(group_create(srv, o.s.access, "invites", NULL,
                                  settings_json("all", "admins", "admins"), g, NULL),
                     201);
    const char *ot = o.s.access;

    /* Validation. */
    EXPECT(400, "bad_request", srv, "POST", ot,
           json_pack("{s:I}", "expires_at", (json_int_t)(mpt_now_ms() - 1000)),
           "/v1/groups/%s/invites", g);
    EXPECT(400, "bad_request", srv, "POST", ot, json_pack("{s:i}", "max_uses", 0),
           "/v1/groups/%s/invites", g);
    EXPECT(400, "bad_request", srv, "POST", ot, json_pack("{s:i}", "max_uses", 1000001),
           "/v1/groups/%s/invites", g);

    /* Create: the shape, a token of >= 22 base64url characters. */
    json_t *inv = EXPECT_BODY(201, NULL, srv, "POST", ot, json_pack("{s:i}", "max_uses", 2),
                              "/v1/groups/%s/invites", g);
    char tok[128];
    snprintf(tok, sizeof tok, "%s", jstr(inv, "token"));
    assert_true(strlen(tok) >= 22);
    for (const char *p = tok; *p; p++)
        assert_true((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_');
    assert_string_equal(jstr(inv, "conversation_id"), g);
    assert_true(json_is_null(json_object_get(inv, "expires_at")));
    assert_int_equal(jint(inv, "max_uses"), 2);
    assert_int_equal(jint(inv, "uses"), 0);
    assert_string_equal(jstr(inv, "created_by"), o.s.user_id);
    assert_true(json_is_integer(json_object_get(inv, "created_at")));
    assert_true(json_is_false(json_object_get(inv, "revoked")));
    json_decref(inv);

    /* Two joins use it up; a repeated join by a member is free. */
    json_t *gj = EXPECT_BODY(200, NULL, srv, "POST", j[0].access, NULL, "/v1/invites/%s/join", tok);
    assert_string_equal(jstr(gj, "conversation_id"), g);
    assert_string_equal(jstr(gj, "my_role"), "member");
    assert_int_equal(jint(gj, "member_count"), 2);
    json_decref(gj);
    json_t *ev = next_system_event(o.ws, g, "joined_by_link");
    assert_string_equal(jstr(json_object_get(ev, "message"), "sender"), j[0].user_id);
    json_decref(ev);
    EXPECT(200, NULL, srv, "POST", j[0].access, NULL, "/v1/invites/%s/join", tok);
    json_t *list = EXPECT_BODY(200, NULL, srv, "GET", ot, NULL, "/v1/groups/%s/invites", g);
    assert_int_equal(json_array_size(json_object_get(list, "invites")), 1);
    assert_int_equal(jint(json_array_get(json_object_get(list, "invites"), 0), "uses"), 1);
    json_decref(list);
    EXPECT(200, NULL, srv, "POST", j[1].access, NULL, "/v1/invites/%s/join", tok);
    EXPECT(410, "invite_exhausted", srv, "POST", j[2].access, NULL, "/v1/invites/%s/join", tok);
    EXPECT(403, "not_member", srv, "GET", j[2].access, NULL, "/v1/groups/%s", g);

    /* Unknown token; a group route with an unknown token. */
    EXPECT(404, "not_found", srv, "POST", j[2].access, NULL, "/v1/invites/%s/join",
           "AAAAAAAAAAAAAAAAAAAAAA");
    EXPECT(404, "not_found", srv, "DELETE", ot, NULL, "/v1/groups/%s/invites/%s", g,
           "AAAAAAAAAAAAAAAAAAAAAA");
    EXPECT(401, "unauthorized", srv, "POST", NULL, NULL, "/v1/invites/%s/join", tok);

    /* Expiry: a link valid for 800 ms (room for a loaded machine) is refused
     * once that passed. */
    long long exp = mpt_now_ms() + 800;
    inv = EXPECT_BODY(201, NULL, srv, "POST", ot, json_pack("{s:I}", "expires_at", (json_int_t)exp),
                      "/v1/groups/%s/invites", g);
    assert_int_equal(jint(inv, "expires_at"), exp);
    assert_true(json_is_null(json_object_get(inv, "max_uses")));
    char etok[128];
    snprintf(etok, sizeof etok, "%s", jstr(inv, "token"));
    json_decref(inv);
    while (mpt_now_ms() <= exp + 5)
        sleep_ms(20); /* time itself is what is waited for here */
    EXPECT(410, "invite_expired", srv, "POST", j[2].access, NULL, "/v1/invites/%s/join", etok);

    /* Revocation. */
    inv = EXPECT_BODY(201, NULL, srv, "POST", ot, json_object(), "/v1/groups/%s/invites", g);
    char rtok[128];
    snprintf(rtok, sizeof rtok, "%s", jstr(inv, "token"));
    json_decref(inv);
    EXPECT(204, NULL, srv, "DELETE", ot, NULL, "/v1/groups/%s/invites/%s", g, rtok);
    EXPECT(410, "invite_revoked", srv, "POST", j[2].access, NULL, "/v1/invites/%s/join", rtok);
    list = EXPECT_BODY(200, NULL, srv, "GET", ot, NULL, "/v1/groups/%s/invites", g);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(list, "invites"), i, e)
    {
        if (strcmp(jstr(e, "token"), rtok) == 0)
            assert_true(json_is_true(json_object_get(e, "revoked")));
    }
    json_decref(list);

    /* A valid link still works for the third user. */
    inv = EXPECT_BODY(201, NULL, srv, "POST", ot, json_object(), "/v1/groups/%s/invites", g);
    gj = EXPECT_BODY(200, NULL, srv, "POST", j[2].access, NULL, "/v1/invites/%s/join",
                     jstr(inv, "token"));
    assert_int_equal(jint(gj, "member_count"), 4);
    json_decref(gj);
    json_decref(inv);
    dev_close(&o);
}

static void test_ban_vs_link_and_add(void **state)
{
    (void)state;
    chat_dev_t o, x;
    dev_new_user(srv, "gb", &o);
    dev_new_user(srv, "gb", &x);
    mpt_session_t y;
    assert_int_equal(mpt_user_new(srv, "gb", &y), 0);
    char g[24];
    assert_int_equal(
        group_create(srv, o.s.access, "bans", ids_json(x.s.user_id, NULL), NULL, g, NULL), 201);
    json_t *inv =
        EXPECT_BODY(201, NULL, srv, "POST", o.s.access, json_object(), "/v1/groups/%s/invites", g);
    char tok[128];
    snprintf(tok, sizeof tok, "%s", jstr(inv, "token"));
    json_decref(inv);

    /* Banning a member removes them; they learn it live. */
    EXPECT(204, NULL, srv, "POST", o.s.access, json_pack("{s:s}", "user_id", x.s.user_id),
           "/v1/groups/%s/bans", g);
    json_t *ev = next_system_event(x.ws, g, "banned");
    json_decref(ev);
    assert_err(send_msg(x.ws, g, NULL, "banned-1", "hi"), "not_member");
    EXPECT(403, "not_member", srv, "GET", x.s.access, NULL, "/v1/groups/%s", g);

    /* No way back: not by link, not by being added (and nobody else in that
     * request is added). */
    EXPECT(403, "banned", srv, "POST", x.s.access, NULL, "/v1/invites/%s/join", tok);
    EXPECT(403, "banned", srv, "POST", o.s.access,
           json_pack("{s:[s,s]}", "user_ids", y.user_id, x.s.user_id), "/v1/groups/%s/members", g);
    EXPECT(403, "not_member", srv, "GET", y.access, NULL, "/v1/groups/%s", g);
    json_t *bans = EXPECT_BODY(200, NULL, srv, "GET", o.s.access, NULL, "/v1/groups/%s/bans", g);
    json_t *b0 = json_array_get(json_object_get(bans, "bans"), 0);
    assert_int_equal(json_array_size(json_object_get(bans, "bans")), 1);
    assert_string_equal(jstr(b0, "user_id"), x.s.user_id);
    assert_string_equal(jstr(b0, "banned_by"), o.s.user_id);
    assert_true(json_is_integer(json_object_get(b0, "banned_at")));
    json_decref(bans);

    /* A non-member can be banned pre-emptively. */
    EXPECT(204, NULL, srv, "POST", o.s.access, json_pack("{s:s}", "user_id", y.user_id),
           "/v1/groups/%s/bans", g);
    EXPECT(403, "banned", srv, "POST", y.access, NULL, "/v1/invites/%s/join", tok);

    /* Unban: the link works again; unbanning twice is 404. */
    EXPECT(204, NULL, srv, "DELETE", o.s.access, NULL, "/v1/groups/%s/bans/%s", g, x.s.user_id);
    ev = next_system_event(o.ws, g, "unbanned");
    json_decref(ev);
    EXPECT(404, "not_found", srv, "DELETE", o.s.access, NULL, "/v1/groups/%s/bans/%s", g,
           x.s.user_id);
    json_t *gj = EXPECT_BODY(200, NULL, srv, "POST", x.s.access, NULL, "/v1/invites/%s/join", tok);
    assert_string_equal(jstr(gj, "my_role"), "member");
    json_decref(gj);
    json_t *r = send_msg(x.ws, g, NULL, "back-1", "back");
    assert_true(is_ok(r));
    json_decref(r);
    dev_close(&o);
    dev_close(&x);
}

static void test_dissolve(void **state)
{
    (void)state;
    chat_dev_t o, m;
    dev_new_user(srv, "gd", &o);
    dev_new_user(srv, "gd", &m);
    mpt_session_t out;
    assert_int_equal(mpt_user_new(srv, "gd", &out), 0);
    char g[24];
    assert_int_equal(group_create(srv, o.s.access, "dissolve", ids_json(m.s.user_id, NULL),
                                  settings_json("all", "all", "all"), g, NULL),
                     201);
    json_t *inv =
        EXPECT_BODY(201, NULL, srv, "POST", o.s.access, json_object(), "/v1/groups/%s/invites", g);
    char tok[128];
    snprintf(tok, sizeof tok, "%s", jstr(inv, "token"));
    json_decref(inv);
    json_t *r = send_msg(m.ws, g, NULL, "before-dissolve", "before");
    assert_true(is_ok(r));
    json_decref(r);
    char cursor[32] = "0";
    assert_true(sync_until_done(m.ws, cursor, NULL, NULL));

    EXPECT(403, "not_allowed", srv, "POST", m.s.access, NULL, "/v1/groups/%s/dissolve", g);
    EXPECT(204, NULL, srv, "POST", o.s.access, NULL, "/v1/groups/%s/dissolve", g);
    json_t *ev = next_system_event(m.ws, g, "dissolved");
    json_decref(ev);

    /* Reads keep working. */
    json_t *gr = EXPECT_BODY(200, NULL, srv, "GET", m.s.access, NULL, "/v1/groups/%s", g);
    assert_true(json_is_true(json_object_get(gr, "dissolved")));
    json_decref(gr);
    json_t *all = all_history(m.ws, g);
    assert_non_null(find_msg(all, g, "before", NULL));
    assert_non_null(find_msg(all, g, NULL, "dissolved"));
    json_decref(all);
    json_t *msgs = json_array();
    assert_true(sync_until_done(m.ws, cursor, msgs, NULL));
    assert_non_null(find_msg(msgs, g, NULL, "dissolved"));
    json_decref(msgs);
    EXPECT(200, NULL, srv, "GET", m.s.access, NULL, "/v1/groups/%s/members", g);
    r = call(m.ws, "read", json_pack("{s:s,s:i}", "conversation", g, "seq", 1));
    assert_true(is_ok(r));
    json_decref(r);

    /* Every write is 410 dissolved. */
    assert_err(send_msg(m.ws, g, NULL, "after-dissolve", "after"), "dissolved");
    assert_err(send_msg(o.ws, g, NULL, "after-dissolve-o", "after"), "dissolved");
    EXPECT(410, "dissolved", srv, "POST", o.s.access, json_pack("{s:[s]}", "user_ids", out.user_id),
           "/v1/groups/%s/members", g);
    EXPECT(410, "dissolved", srv, "PATCH", o.s.access, json_pack("{s:s}", "title", "zombie"),
           "/v1/groups/%s", g);
    EXPECT(410, "dissolved", srv, "POST", o.s.access, json_object(), "/v1/groups/%s/invites", g);
    EXPECT(410, "dissolved", srv, "PUT", o.s.access, json_pack("{s:s}", "text", "x"),
           "/v1/groups/%s/announcement", g);
    EXPECT(410, "dissolved", srv, "POST", out.access, NULL, "/v1/invites/%s/join", tok);
    EXPECT(403, "not_member", srv, "GET", out.access, NULL, "/v1/groups/%s", g);
    dev_close(&o);
    dev_close(&m);
}

static void test_transfer_and_roles(void **state)
{
    (void)state;
    chat_dev_t o, m;
    dev_new_user(srv, "gt", &o);
    dev_new_user(srv, "gt", &m);
    mpt_session_t out;
    assert_int_equal(mpt_user_new(srv, "gt", &out), 0);
    char g[24];
    assert_int_equal(
        group_create(srv, o.s.access, "transfer", ids_json(m.s.user_id, NULL), NULL, g, NULL), 201);

    /* Role changes: validation, the owner's role is fixed, targets must be
     * members. */
    EXPECT(400, "bad_request", srv, "PUT", o.s.access, json_pack("{s:s}", "role", "owner"),
           "/v1/groups/%s/members/%s/role", g, m.s.user_id);
    EXPECT(409, "conflict", srv, "PUT", o.s.access, json_pack("{s:s}", "role", "member"),
           "/v1/groups/%s/members/%s/role", g, o.s.user_id);
    EXPECT(404, "not_found", srv, "PUT", o.s.access, json_pack("{s:s}", "role", "admin"),
           "/v1/groups/%s/members/%s/role", g, out.user_id);
    EXPECT(404, "not_found", srv, "POST", o.s.access, json_pack("{s:s}", "user_id", out.user_id),
           "/v1/groups/%s/transfer", g);
    /* The owner cannot leave before handing over. */
    EXPECT(409, "conflict", srv, "POST", o.s.access, NULL, "/v1/groups/%s/leave", g);

    EXPECT(204, NULL, srv, "POST", o.s.access, json_pack("{s:s}", "user_id", m.s.user_id),
           "/v1/groups/%s/transfer", g);
    json_t *ev = next_system_event(m.ws, g, "ownership_transferred");
    json_decref(ev);
    json_t *gr = EXPECT_BODY(200, NULL, srv, "GET", m.s.access, NULL, "/v1/groups/%s", g);
    assert_string_equal(jstr(gr, "my_role"), "owner");
    assert_string_equal(jstr(gr, "owner_id"), m.s.user_id);
    json_decref(gr);
    gr = EXPECT_BODY(200, NULL, srv, "GET", o.s.access, NULL, "/v1/groups/%s", g);
    assert_string_equal(jstr(gr, "my_role"), "admin");
    json_decref(gr);

    /* The old owner is an admin now: owner-only actions are refused, the
     * new owner has them, and the old owner may leave. */
    EXPECT(403, "not_allowed", srv, "POST", o.s.access, json_pack("{s:s}", "user_id", o.s.user_id),
           "/v1/groups/%s/transfer", g);
    EXPECT(403, "not_allowed", srv, "POST", o.s.access, NULL, "/v1/groups/%s/dissolve", g);
    EXPECT(403, "not_allowed", srv, "DELETE", o.s.access, NULL, "/v1/groups/%s/members/%s", g,
           m.s.user_id);
    EXPECT(204, NULL, srv, "PUT", m.s.access, json_pack("{s:s}", "role", "member"),
           "/v1/groups/%s/members/%s/role", g, o.s.user_id);
    gr = EXPECT_BODY(200, NULL, srv, "GET", o.s.access, NULL, "/v1/groups/%s", g);
    assert_string_equal(jstr(gr, "my_role"), "member");
    json_decref(gr);
    EXPECT(204, NULL, srv, "POST", o.s.access, NULL, "/v1/groups/%s/leave", g);
    gr = EXPECT_BODY(200, NULL, srv, "GET", m.s.access, NULL, "/v1/groups/%s", g);
    assert_int_equal(jint(gr, "member_count"), 1);
    json_decref(gr);
    dev_close(&o);
    dev_close(&m);
}

static void test_announcement(void **state)
{
    (void)state;
    chat_dev_t o, m;
    dev_new_user(srv, "ga", &o);
    dev_new_user(srv, "ga", &m);
    char g[24];
    assert_int_equal(
        group_create(srv, o.s.access, "ann", ids_json(m.s.user_id, NULL), NULL, g, NULL), 201);
    EXPECT(400, "bad_request", srv, "PUT", o.s.access, json_pack("{s:s}", "text", ""),
           "/v1/groups/%s/announcement", g);
    char *big = malloc(2050);
    memset(big, 'a', 2049);
    big[2049] = '\0';
    EXPECT(400, "bad_request", srv, "PUT", o.s.access, json_pack("{s:s}", "text", big),
           "/v1/groups/%s/announcement", g);
    big[2048] = '\0';
    json_t *a = EXPECT_BODY(200, NULL, srv, "PUT", o.s.access, json_pack("{s:s}", "text", big),
                            "/v1/groups/%s/announcement", g);
    json_t *ann = json_object_get(a, "announcement");
    assert_string_equal(jstr(ann, "text"), big);
    assert_string_equal(jstr(ann, "set_by"), o.s.user_id);
    long long set_at = jint(ann, "set_at");
    assert_true(set_at > 0);
    json_decref(a);

    json_t *ev = next_event(m.ws, "announcement");
    assert_string_equal(jstr(ev, "conversation"), g);
    assert_string_equal(jstr(json_object_get(ev, "announcement"), "text"), big);
    assert_string_equal(jstr(json_object_get(ev, "announcement"), "set_by"), o.s.user_id);
    json_decref(ev);
    ev = next_system_event(m.ws, g, "announcement_set");
    json_decref(ev);
    json_t *gr = EXPECT_BODY(200, NULL, srv, "GET", m.s.access, NULL, "/v1/groups/%s", g);
    assert_string_equal(jstr(json_object_get(gr, "announcement"), "text"), big);
    assert_int_equal(jint(json_object_get(gr, "announcement"), "set_at"), set_at);
    json_decref(gr);
    free(big);

    EXPECT(204, NULL, srv, "DELETE", o.s.access, NULL, "/v1/groups/%s/announcement", g);
    ev = next_event(m.ws, "announcement");
    assert_string_equal(jstr(ev, "conversation"), g);
    assert_true(json_is_null(json_object_get(ev, "announcement")));
    json_decref(ev);
    ev = next_system_event(m.ws, g, "announcement_cleared");
    json_decref(ev);
    gr = EXPECT_BODY(200, NULL, srv, "GET", m.s.access, NULL, "/v1/groups/%s", g);
    assert_true(json_is_null(json_object_get(gr, "announcement")));
    json_decref(gr);
    dev_close(&o);
    dev_close(&m);
}

static void test_mute_and_post_permission(void **state)
{
    (void)state;
    chat_dev_t o, m;
    dev_new_user(srv, "gm", &o);
    dev_new_user(srv, "gm", &m);
    char g[24];
    assert_int_equal(group_create(srv, o.s.access, "mute", ids_json(m.s.user_id, NULL),
                                  settings_json("all", "admins", "admins"), g, NULL),
                     201);
    const char *path_fmt = "/v1/groups/%s/members/%s/mute";
    EXPECT(400, "bad_request", srv, "POST", o.s.access,
           json_pack("{s:I}", "until", (json_int_t)(mpt_now_ms() - 1000)), path_fmt, g,
           m.s.user_id);
    EXPECT(400, "bad_request", srv, "POST", o.s.access, json_object(), path_fmt, g, m.s.user_id);

    /* A message sent before the mute, whose ack the client may have lost. */
    json_t *r = send_msg(m.ws, g, NULL, "pre-mute-1", "before");
    assert_true(is_ok(r));
    char pre_id[24], fw_id[24];
    snprintf(pre_id, sizeof pre_id, "%s", jstr(r, "message_id"));
    json_decref(r);
    r = call(m.ws, "forward",
             json_pack("{s:s,s:[s],s:s,s:s}", "from", g, "message_ids", pre_id, "conversation", g,
                       "client_msg_id", "pre-mute-fw"));
    assert_true(is_ok(r));
    snprintf(fw_id, sizeof fw_id, "%s",
             jstr(json_array_get(json_object_get(r, "messages"), 0), "message_id"));
    json_decref(r);

    /* A long mute: sends fail with `muted`, the member list shows it,
     * unmute lifts it. */
    long long until = mpt_now_ms() + 3600000;
    EXPECT(204, NULL, srv, "POST", o.s.access, json_pack("{s:I}", "until", (json_int_t)until),
           path_fmt, g, m.s.user_id);
    json_t *ev = next_system_event(m.ws, g, "muted");
    json_decref(ev);
    r = send_msg(m.ws, g, NULL, "muted-1", "can you hear me");
    const char *msg = jstr(json_object_get(r, "error"), "message");
    assert_non_null(msg);
    assert_true(strlen(msg) > 0);
    assert_int_equal(jint(json_object_get(r, "error"), "muted_until"), until);
    assert_err(r, "muted");
    /* The retry of what was stored before the mute gets its original. */
    r = send_msg(m.ws, g, NULL, "pre-mute-1", "before");
    assert_true(is_ok(r));
    assert_true(json_is_true(json_object_get(r, "duplicate")));
    assert_string_equal(jstr(r, "message_id"), pre_id);
    json_decref(r);
    r = call(m.ws, "forward",
             json_pack("{s:s,s:[s],s:s,s:s}", "from", g, "message_ids", pre_id, "conversation", g,
                       "client_msg_id", "pre-mute-fw"));
    assert_true(is_ok(r));
    assert_true(json_is_true(json_object_get(r, "duplicate")));
    assert_string_equal(jstr(json_array_get(json_object_get(r, "messages"), 0), "message_id"),
                        fw_id);
    json_decref(r);
    json_t *ml =
        EXPECT_BODY(200, NULL, srv, "GET", o.s.access, NULL, "/v1/groups/%s/members?limit=200", g);
    size_t i;
    json_t *e;
    bool seen = false;
    json_array_foreach(json_object_get(ml, "members"), i, e)
    {
        if (strcmp(jstr(e, "user_id"), m.s.user_id) == 0) {
            seen = true;
            assert_int_equal(jint(e, "muted_until"), until);
        }
    }
    assert_true(seen);
    json_decref(ml);
    /* Reading and typing are not posting. */
    r = call(m.ws, "history", json_pack("{s:s}", "conversation", g));
    assert_true(is_ok(r));
    json_decref(r);
    EXPECT(204, NULL, srv, "DELETE", o.s.access, NULL, path_fmt, g, m.s.user_id);
    ev = next_system_event(m.ws, g, "unmuted");
    json_decref(ev);
    r = send_msg(m.ws, g, NULL, "unmuted-1", "back");
    assert_true(is_ok(r));
    json_decref(r);

    /* A short mute ends by itself. */
    until = mpt_now_ms() + 1000; /* room for a loaded machine before the first send */
    EXPECT(204, NULL, srv, "POST", o.s.access, json_pack("{s:I}", "until", (json_int_t)until),
           path_fmt, g, m.s.user_id);
    assert_err(send_msg(m.ws, g, NULL, "short-1", "x"), "muted");
    while (mpt_now_ms() <= until + 5)
        sleep_ms(20); /* waiting for the time itself */
    r = send_msg(m.ws, g, NULL, "short-2", "free again");
    assert_true(is_ok(r));
    json_decref(r);

    /* who_can_post = admins. */
    EXPECT(200, NULL, srv, "PATCH", o.s.access,
           json_pack("{s:{s:s}}", "settings", "who_can_post", "admins"), "/v1/groups/%s", g);
    assert_err(send_msg(m.ws, g, NULL, "admins-only-1", "x"), "not_allowed");
    r = send_msg(m.ws, g, NULL, "pre-mute-1", "before");
    assert_true(is_ok(r));
    assert_true(json_is_true(json_object_get(r, "duplicate")));
    assert_string_equal(jstr(r, "message_id"), pre_id);
    json_decref(r);
    r = send_msg(o.ws, g, NULL, "admins-only-2", "owner may");
    assert_true(is_ok(r));
    json_decref(r);
    EXPECT(204, NULL, srv, "PUT", o.s.access, json_pack("{s:s}", "role", "admin"),
           "/v1/groups/%s/members/%s/role", g, m.s.user_id);
    r = send_msg(m.ws, g, NULL, "admins-only-3", "admin now");
    assert_true(is_ok(r));
    json_decref(r);
    dev_close(&o);
    dev_close(&m);
}

/* Additions: members skipped, unknown users refused atomically. */
static void test_add_members_rules(void **state)
{
    (void)state;
    mpt_session_t o, a, b;
    assert_int_equal(mpt_user_new(srv, "gadd", &o), 0);
    assert_int_equal(mpt_user_new(srv, "gadd", &a), 0);
    assert_int_equal(mpt_user_new(srv, "gadd", &b), 0);
    char g[24];
    assert_int_equal(group_create(srv, o.access, "add", ids_json(a.user_id, NULL), NULL, g, NULL),
                     201);
    EXPECT(400, "bad_request", srv, "POST", o.access, json_pack("{s:[]}", "user_ids"),
           "/v1/groups/%s/members", g);
    json_t *many = json_array();
    for (int i = 0; i < 101; i++)
        json_array_append_new(many, json_string(b.user_id));
    EXPECT(400, "bad_request", srv, "POST", o.access, json_pack("{s:o}", "user_ids", many),
           "/v1/groups/%s/members", g);
    EXPECT(404, "not_found", srv, "POST", o.access,
           json_pack("{s:[s,s]}", "user_ids", b.user_id, "424242424242"), "/v1/groups/%s/members",
           g);
    EXPECT(403, "not_member", srv, "GET", b.access, NULL, "/v1/groups/%s", g);
    json_t *r = EXPECT_BODY(200, NULL, srv, "POST", o.access,
                            json_pack("{s:[s,s,s]}", "user_ids", a.user_id, b.user_id, o.user_id),
                            "/v1/groups/%s/members", g);
    json_t *added = json_object_get(r, "added");
    assert_int_equal(json_array_size(added), 1);
    assert_string_equal(json_string_value(json_array_get(added, 0)), b.user_id);
    json_decref(r);
    r = EXPECT_BODY(200, NULL, srv, "POST", o.access, json_pack("{s:[s]}", "user_ids", b.user_id),
                    "/v1/groups/%s/members", g);
    assert_int_equal(json_array_size(json_object_get(r, "added")), 0);
    json_decref(r);
}

/* group_max_members, on a server of its own with a limit of 3. */
static void test_member_limit(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS, "--group_max_members", "3", NULL};
    mpt_server_t *small = mpt_server_start(flags);
    assert_non_null(small);
    mpt_session_t u[5];
    for (int i = 0; i < 5; i++)
        assert_int_equal(mpt_user_new(small, "gl", &u[i]), 0);
    char g[24];
    assert_int_equal(group_create(small, u[0].access, "small", ids_json(u[1].user_id, NULL),
                                  settings_json("all", "all", "all"), g, NULL),
                     201);
    EXPECT(409, "group_full", small, "POST", u[0].access,
           json_pack("{s:[s,s]}", "user_ids", u[2].user_id, u[3].user_id), "/v1/groups/%s/members",
           g);
    json_t *inv = EXPECT_BODY(201, NULL, small, "POST", u[0].access, json_object(),
                              "/v1/groups/%s/invites", g);
    char tok[128];
    snprintf(tok, sizeof tok, "%s", jstr(inv, "token"));
    json_decref(inv);
    EXPECT(200, NULL, small, "POST", u[2].access, NULL, "/v1/invites/%s/join", tok);
    EXPECT(409, "group_full", small, "POST", u[3].access, NULL, "/v1/invites/%s/join", tok);
    EXPECT(409, "group_full", small, "POST", u[0].access,
           json_pack("{s:[s]}", "user_ids", u[4].user_id), "/v1/groups/%s/members", g);
    /* Creating over the limit. */
    EXPECT(409, "group_full", small, "POST", u[0].access,
           json_pack("{s:s,s:[s,s,s]}", "title", "big", "member_ids", u[1].user_id, u[2].user_id,
                     u[3].user_id),
           "/v1/groups");
    /* Someone leaves: there is room again. */
    EXPECT(204, NULL, small, "POST", u[2].access, NULL, "/v1/groups/%s/leave", g);
    EXPECT(200, NULL, small, "POST", u[3].access, NULL, "/v1/invites/%s/join", tok);
    assert_int_equal(mpt_server_stop(small), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_get_patch),
        cmocka_unit_test(test_members_paging),
        cmocka_unit_test(test_system_messages_live_and_sync),
        cmocka_unit_test(test_invite_lifecycle),
        cmocka_unit_test(test_ban_vs_link_and_add),
        cmocka_unit_test(test_dissolve),
        cmocka_unit_test(test_transfer_and_roles),
        cmocka_unit_test(test_announcement),
        cmocka_unit_test(test_mute_and_post_permission),
        cmocka_unit_test(test_add_members_rules),
        cmocka_unit_test(test_member_limit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
