/* End-to-end tests of reactions, pinned messages and the user's own
 * conversation settings: two users, three devices (Alice has two) plus an
 * offline device of Alice's that catches up through sync; the emoji check and
 * the per-message limit (default and --max_reaction_kinds); reactors paging;
 * who may pin in a group; mute, pin order, the archive filter, clearing and
 * deleting a direct conversation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_chat_util.h"
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

static json_t *react(chat_dev_t *d, const char *verb, const char *conv, const char *mid,
                     const char *emoji)
{
    return call(
        d->ws, verb,
        json_pack("{s:s,s:s,s:s}", "conversation", conv, "message_id", mid, "emoji", emoji));
}

static void react_ok(chat_dev_t *d, const char *verb, const char *conv, const char *mid,
                     const char *emoji, long long count, bool changed)
{
    json_t *r = react(d, verb, conv, mid, emoji);
    if (!is_ok(r))
        fail_msg("%s %s: %s", verb, emoji, mpt_error_code(r));
    assert_string_equal(jstr(r, "emoji"), emoji);
    assert_int_equal(jint(r, "count"), count);
    assert_true(json_is_true(json_object_get(r, "changed")) == changed);
    json_decref(r);
}

static void check_reaction_event(mpc_ws_t *ws, const char *conv, const char *mid, const char *emoji,
                                 const char *user, bool added, long long count)
{
    json_t *ev = next_event(ws, "reaction");
    assert_string_equal(jstr(ev, "conversation"), conv);
    assert_string_equal(jstr(ev, "message_id"), mid);
    assert_string_equal(jstr(ev, "emoji"), emoji);
    assert_string_equal(jstr(ev, "user_id"), user);
    assert_true(json_is_true(json_object_get(ev, "added")) == added);
    assert_int_equal(jint(ev, "count"), count);
    json_decref(ev);
}

/* The message of arr with this id (borrowed), or fails. */
static json_t *msg_by_id(json_t *arr, const char *mid)
{
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m)
    {
        if (jstr(m, "message_id") && strcmp(jstr(m, "message_id"), mid) == 0)
            return m;
    }
    fail_msg("message %s not found", mid);
    return NULL;
}

/* The last state of a message in a list where it may come several times
 * (sync brings a changed message again). */
static json_t *last_by_id(json_t *arr, const char *mid)
{
    json_t *found = NULL;
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m)
    {
        if (jstr(m, "message_id") && strcmp(jstr(m, "message_id"), mid) == 0)
            found = m;
    }
    return found;
}

static json_t *conv_by_id(json_t *arr, const char *conv)
{
    json_t *found = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(arr, i, c)
    {
        if (jstr(c, "conversation_id") && strcmp(jstr(c, "conversation_id"), conv) == 0)
            found = c;
    }
    return found;
}

static void test_reactions_three_devices_and_offline(void **state)
{
    (void)state;
    chat_dev_t a1, a2, b1;
    mpt_session_t a3; /* offline until the end */
    dev_new_user(srv, "react", &a1);
    dev_new_device(srv, &a1, &a2);
    assert_int_equal(mpt_device_new(srv, &a1.s, &a3), 0);
    dev_new_user(srv, "react", &b1);
    char ab[24], m1[24], m2[24], m3[24];
    assert_int_equal(direct_conv(srv, &a1, b1.s.user_id, ab), 201);
    send_text(&a1, ab, "r1", "react to me", m1);
    send_text(&a1, ab, "r2", "pin me", m2);
    send_text(&a1, ab, "r3", "hide me", m3);
    drain_events(a2.ws, NULL);
    drain_events(b1.ws, NULL);

    /* Bob reacts: both of Alice's devices hear it, Bob's asking session does not. */
    react_ok(&b1, "react", ab, m1, "👍", 1, true);
    check_reaction_event(a1.ws, ab, m1, "👍", b1.s.user_id, true, 1);
    check_reaction_event(a2.ws, ab, m1, "👍", b1.s.user_id, true, 1);
    assert_int_equal(drain_events(b1.ws, "reaction"), 0);
    /* Again: nothing changes, nobody is told. */
    react_ok(&b1, "react", ab, m1, "👍", 1, false);
    assert_int_equal(drain_events(a1.ws, "reaction"), 0);
    react_ok(&a1, "react", ab, m1, "👍", 2, true);
    check_reaction_event(b1.ws, ab, m1, "👍", a1.s.user_id, true, 2);
    check_reaction_event(a2.ws, ab, m1, "👍", a1.s.user_id, true, 2);
    /* Several different emoji per user; flags and ZWJ sequences are one emoji. */
    react_ok(&b1, "react", ab, m1, "❤️", 1, true);
    react_ok(&b1, "react", ab, m1, "🇯🇵", 1, true);
    react_ok(&b1, "react", ab, m1, "👩‍👩‍👧", 1, true);
    react_ok(&b1, "unreact", ab, m1, "👩‍👩‍👧", 0, true);
    react_ok(&b1, "unreact", ab, m1, "👩‍👩‍👧", 0, false);

    /* Not one emoji. */
    const char *bad[] = {"a", "👍👍", "👍a", " ", "ab"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *r = react(&b1, "react", ab, m1, bad[i]);
        assert_err(r, "bad_request");
    }
    json_t *r = react(&b1, "react", ab, m1, "x");
    assert_string_equal(jstr(json_object_get(r, "error"), "message"),
                        "field 'emoji' must be a single emoji");
    json_decref(r);

    /* Read paths: counts, and "me" per reader. */
    json_t *hist = all_history(a1.ws, ab);
    json_t *reacts = json_object_get(msg_by_id(hist, m1), "reactions");
    assert_int_equal(json_array_size(reacts), 3);
    json_t *thumbs = json_array_get(reacts, 0);
    assert_string_equal(jstr(thumbs, "emoji"), "👍");
    assert_int_equal(jint(thumbs, "count"), 2);
    assert_true(json_is_true(json_object_get(thumbs, "me")));
    assert_false(json_is_true(json_object_get(json_array_get(reacts, 1), "me")));
    assert_null(json_object_get(msg_by_id(hist, m2), "reactions"));
    json_decref(hist);

    /* Reactors, paged by user id. */
    r = call(a1.ws, "reactions",
             json_pack("{s:s,s:s,s:s,s:i}", "conversation", ab, "message_id", m1, "emoji", "👍",
                       "limit", 1));
    assert_true(is_ok(r));
    json_t *users = json_object_get(r, "users");
    assert_int_equal(json_array_size(users), 1);
    assert_true(json_is_true(json_object_get(r, "has_more")));
    char first[24], cursor[24];
    snprintf(first, sizeof first, "%s", jstr(json_array_get(users, 0), "user_id"));
    snprintf(cursor, sizeof cursor, "%s", jstr(r, "next_cursor"));
    assert_string_equal(first, cursor);
    assert_true(json_is_integer(json_object_get(json_array_get(users, 0), "reacted_at")));
    json_decref(r);
    json_t *page = EXPECT_BODY(200, NULL, srv, "GET", b1.s.access, NULL,
                               "/v1/conversations/%s/messages/%s/reactions?emoji=%%F0%%9F%%91%%8D"
                               "&after=%s&limit=1",
                               ab, m1, cursor);
    users = json_object_get(page, "users");
    assert_int_equal(json_array_size(users), 1);
    assert_string_not_equal(jstr(json_array_get(users, 0), "user_id"), first);
    assert_false(json_is_true(json_object_get(page, "has_more")));
    assert_null(json_object_get(page, "next_cursor"));
    json_decref(page);
    EXPECT(400, "bad_request", srv, "GET", b1.s.access, NULL,
           "/v1/conversations/%s/messages/%s/reactions?emoji=abc", ab, m1);

    /* Pin (direct: either member), then the offline device catches up. */
    r = call(b1.ws, "pin", json_pack("{s:s,s:s}", "conversation", ab, "message_id", m2));
    assert_true(is_ok(r));
    assert_true(json_is_true(json_object_get(r, "pinned")));
    long long pinned_at = jint(r, "pinned_at");
    assert_true(pinned_at > 0);
    json_decref(r);
    json_t *ev = next_event(a2.ws, "pinned");
    assert_string_equal(jstr(ev, "message_id"), m2);
    assert_string_equal(jstr(ev, "by"), b1.s.user_id);
    assert_true(json_is_true(json_object_get(ev, "pinned")));
    assert_int_equal(jint(ev, "at"), pinned_at);
    json_decref(ev);
    r = call(a1.ws, "delete",
             json_pack("{s:s,s:s,s:s}", "conversation", ab, "message_id", m3, "for", "me"));
    assert_true(is_ok(r));
    json_decref(r);
    r = call(a1.ws, "conversation_update",
             json_pack("{s:s,s:i,s:b}", "conversation", ab, "muted_until", -1, "pinned", 1));
    assert_true(is_ok(r));
    json_decref(r);

    chat_dev_t a3d = {.s = a3};
    dev_open(srv, &a3d);
    char cur[32] = "0";
    json_t *msgs = json_array(), *convs = json_array();
    assert_true(sync_until_done(a3d.ws, cur, msgs, convs));
    json_t *sm1 = last_by_id(msgs, m1);
    assert_non_null(sm1);
    thumbs = json_array_get(json_object_get(sm1, "reactions"), 0);
    assert_int_equal(jint(thumbs, "count"), 2);
    assert_true(json_is_true(json_object_get(thumbs, "me")));
    json_t *sm2 = last_by_id(msgs, m2);
    assert_int_equal(jint(sm2, "pinned_at"), pinned_at);
    assert_non_null(jstr(sm2, "pinned_by"));
    assert_string_equal(jstr(sm2, "pinned_by"), b1.s.user_id);
    assert_null(last_by_id(msgs, m3)); /* hidden for Alice */
    json_t *settings = json_object_get(conv_by_id(convs, ab), "settings");
    assert_int_equal(jint(settings, "muted_until"), -1);
    assert_true(json_is_true(json_object_get(settings, "pinned")));
    json_decref(msgs);
    json_decref(convs);
    /* Bob's sync: the reactions with his own "me", Alice's settings not his. */
    snprintf(cur, sizeof cur, "0");
    msgs = json_array();
    convs = json_array();
    assert_true(sync_until_done(b1.ws, cur, msgs, convs));
    assert_non_null(last_by_id(msgs, m3)); /* hidden for Alice only */
    settings = json_object_get(conv_by_id(convs, ab), "settings");
    assert_int_equal(jint(settings, "muted_until"), 0);
    assert_false(json_is_true(json_object_get(settings, "pinned")));
    json_decref(msgs);
    json_decref(convs);
    dev_close(&a1);
    dev_close(&a2);
    dev_close(&a3d);
    dev_close(&b1);
}

static const char *const EMOJI[] = {"😀",    "😁", "😂", "🤣", "😃",    "😄",    "😅",
                                    "😆",    "😉", "😊", "😋",    "😎",    "😍",    "😘",
                                    "🥰", "😗", "😙", "😚",    "🙂", "🤗", "🤩"};

/* max_reaction_kinds = 20 by default: the 21st distinct emoji is refused,
 * one already there is still accepted. Three users share the work so that
 * the per-user rate limit is not what stops them. */
static void test_reaction_kinds_default(void **state)
{
    (void)state;
    chat_dev_t o, u[3];
    dev_new_user(srv, "kinds", &o);
    for (int i = 0; i < 3; i++)
        dev_new_user(srv, "kinds", &u[i]);
    char g[24], mid[24];
    assert_int_equal(group_create(srv, o.s.access, "kinds",
                                  ids_json(u[0].s.user_id, u[1].s.user_id, u[2].s.user_id, NULL),
                                  NULL, g, NULL),
                     201);
    send_text(&o, g, "k1", "react a lot", mid);
    for (int i = 0; i < 20; i++)
        react_ok(&u[i % 3], "react", g, mid, EMOJI[i], 1, true);
    assert_err(react(&u[0], "react", g, mid, EMOJI[20]), "limit_reached");
    react_ok(&o, "react", g, mid, EMOJI[0], 2, true);
    /* Removing one kind makes room. */
    react_ok(&u[0], "unreact", g, mid, EMOJI[3], 0, true);
    react_ok(&u[1], "react", g, mid, EMOJI[20], 1, true);
    dev_close(&o);
    for (int i = 0; i < 3; i++)
        dev_close(&u[i]);
}

static void test_reaction_kinds_flag(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS, "--max_reaction_kinds", "2", NULL};
    mpt_server_t *s2 = mpt_server_start(flags);
    assert_non_null(s2);
    chat_dev_t a, b;
    dev_new_user(s2, "kinds2", &a);
    dev_new_user(s2, "kinds2", &b);
    char ab[24], mid[24];
    assert_int_equal(direct_conv(s2, &a, b.s.user_id, ab), 201);
    send_text(&a, ab, "k1", "two kinds only", mid);
    react_ok(&a, "react", ab, mid, "👍", 1, true);
    react_ok(&b, "react", ab, mid, "🎉", 1, true);
    assert_err(react(&b, "react", ab, mid, "😀"), "limit_reached");
    react_ok(&b, "react", ab, mid, "👍", 2, true);
    dev_close(&a);
    dev_close(&b);
    assert_int_equal(mpt_server_stop(s2), 0);
}

/* Reactions are limited per user: a burst of 20, then 5 a second. 60 quick
 * calls cannot all pass unless they took over 8 seconds. */
static void test_reaction_rate_limit(void **state)
{
    (void)state;
    chat_dev_t a, b;
    dev_new_user(srv, "rrl", &a);
    dev_new_user(srv, "rrl", &b);
    char ab[24], mid[24];
    assert_int_equal(direct_conv(srv, &a, b.s.user_id, ab), 201);
    send_text(&a, ab, "x1", "tap tap", mid);
    int limited = 0;
    for (int i = 0; i < 60 && limited == 0; i++) {
        json_t *r = react(&b, i % 2 ? "unreact" : "react", ab, mid, "👍");
        if (!is_ok(r)) {
            assert_string_equal(mpt_error_code(r), "rate_limited");
            json_t *err = json_object_get(r, "error");
            assert_true(json_integer_value(json_object_get(err, "retry_after_ms")) > 0);
            limited++;
        }
        json_decref(r);
    }
    assert_int_equal(limited, 1);
    dev_close(&a);
    dev_close(&b);
}

static void test_pins_group_rules(void **state)
{
    (void)state;
    chat_dev_t o, m;
    dev_new_user(srv, "pins", &o);
    dev_new_user(srv, "pins", &m);
    char g[24], mid[24], mid2[24];
    assert_int_equal(
        group_create(srv, o.s.access, "pins", ids_json(m.s.user_id, NULL), NULL, g, NULL), 201);
    send_text(&o, g, "p1", "first", mid);
    send_text(&o, g, "p2", "second", mid2);
    /* who_can_pin = all by default: a member pins. */
    json_t *r = call(m.ws, "pin", json_pack("{s:s,s:s}", "conversation", g, "message_id", mid));
    assert_true(is_ok(r));
    json_decref(r);
    json_t *ev = next_event(o.ws, "pinned");
    assert_string_equal(jstr(ev, "by"), m.s.user_id);
    json_decref(ev);
    json_decref(EXPECT_BODY(200, NULL, srv, "PATCH", o.s.access,
                            json_pack("{s:{s:s}}", "settings", "who_can_pin", "admins"),
                            "/v1/groups/%s", g));
    assert_err(call(m.ws, "pin", json_pack("{s:s,s:s}", "conversation", g, "message_id", mid2)),
               "not_allowed");
    assert_err(call(m.ws, "unpin", json_pack("{s:s,s:s}", "conversation", g, "message_id", mid)),
               "not_allowed");
    r = call(o.ws, "pin", json_pack("{s:s,s:s}", "conversation", g, "message_id", mid2));
    assert_true(is_ok(r));
    long long at = jint(r, "pinned_at");
    json_decref(r);
    /* The event follows the reply (the member list may be read first). */
    ev = next_event(m.ws, "pinned");
    assert_string_equal(jstr(ev, "message_id"), mid2);
    json_decref(ev);
    /* Again: the first pin time, and no second event (checked below: none
     * comes before the event of the unpin that follows), even within the
     * same millisecond as the first. */
    r = call(o.ws, "pin", json_pack("{s:s,s:s}", "conversation", g, "message_id", mid2));
    assert_true(is_ok(r));
    assert_int_equal(jint(r, "pinned_at"), at);
    json_decref(r);
    /* The list: most recently pinned first, with who pinned. */
    json_t *pins =
        EXPECT_BODY(200, NULL, srv, "GET", m.s.access, NULL, "/v1/conversations/%s/pins", g);
    json_t *arr = json_object_get(pins, "messages");
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(jstr(json_array_get(arr, 0), "message_id"), mid2);
    assert_non_null(jstr(json_array_get(arr, 0), "pinned_by"));
    assert_string_equal(jstr(json_array_get(arr, 0), "pinned_by"), o.s.user_id);
    assert_string_equal(jstr(json_array_get(arr, 1), "message_id"), mid);
    json_decref(pins);
    /* The conversation list carries the same ids, in the same order. */
    json_t *list = EXPECT_BODY(200, NULL, srv, "GET", m.s.access, NULL, "/v1/conversations");
    json_t *entry = NULL;
    for (size_t i = 0; i < json_array_size(json_object_get(list, "conversations")); i++) {
        json_t *e = json_array_get(json_object_get(list, "conversations"), i);
        if (strcmp(jstr(e, "conversation_id"), g) == 0)
            entry = e;
    }
    assert_non_null(entry);
    json_t *ids = json_object_get(entry, "pinned_messages");
    assert_int_equal(json_array_size(ids), 2);
    assert_string_equal(json_string_value(json_array_get(ids, 0)), mid2);
    assert_string_equal(json_string_value(json_array_get(ids, 1)), mid);
    json_decref(list);
    r = call(o.ws, "unpin", json_pack("{s:s,s:s}", "conversation", g, "message_id", mid));
    assert_true(is_ok(r));
    assert_false(json_is_true(json_object_get(r, "pinned")));
    json_decref(r);
    /* Events of one conversation arrive in order: the unpin's is the next. */
    ev = next_event(m.ws, "pinned");
    assert_string_equal(jstr(ev, "message_id"), mid);
    assert_false(json_is_true(json_object_get(ev, "pinned")));
    json_decref(ev);
    pins = EXPECT_BODY(200, NULL, srv, "GET", m.s.access, NULL, "/v1/conversations/%s/pins", g);
    assert_int_equal(json_array_size(json_object_get(pins, "messages")), 1);
    json_decref(pins);
    dev_close(&o);
    dev_close(&m);
}

/* GET /v1/conversations (archived filter) as a list of ids, in order. */
static json_t *list_ids(const chat_dev_t *d, const char *query)
{
    json_t *body =
        EXPECT_BODY(200, NULL, srv, "GET", d->s.access, NULL, "/v1/conversations%s", query);
    json_t *ids = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(body, "conversations"), i, c)
    {
        json_array_append_new(ids, json_string(jstr(c, "conversation_id")));
        assert_true(json_is_integer(json_object_get(c, "unread_mentions")));
        assert_non_null(json_object_get(c, "settings"));
    }
    json_decref(body);
    return ids;
}

static json_t *convset(chat_dev_t *d, json_t *fields)
{
    return call(d->ws, "conversation_update", fields);
}

static void test_settings(void **state)
{
    (void)state;
    chat_dev_t a1, a2, b, c, e;
    dev_new_user(srv, "cset", &a1);
    dev_new_device(srv, &a1, &a2);
    dev_new_user(srv, "cset", &b);
    dev_new_user(srv, "cset", &c);
    dev_new_user(srv, "cset", &e);
    char ab[24], ac[24], ae[24], mid[24];
    assert_int_equal(direct_conv(srv, &a1, b.s.user_id, ab), 201);
    send_text(&a1, ab, "s1", "to bob", mid);
    assert_int_equal(direct_conv(srv, &a1, c.s.user_id, ac), 201);
    send_text(&a1, ac, "s2", "to carol", mid);
    assert_int_equal(direct_conv(srv, &a1, e.s.user_id, ae), 201);
    send_text(&a1, ae, "s3", "to eve about tokyo", mid);
    drain_events(a2.ws, NULL);

    /* Mute forever: the other device follows, the peer hears nothing. */
    json_t *r = convset(&a1, json_pack("{s:s,s:i}", "conversation", ab, "muted_until", -1));
    assert_true(is_ok(r));
    assert_int_equal(jint(json_object_get(r, "settings"), "muted_until"), -1);
    json_decref(r);
    json_t *ev = next_event(a2.ws, "conversation_updated");
    assert_string_equal(jstr(ev, "conversation"), ab);
    assert_int_equal(jint(json_object_get(ev, "settings"), "muted_until"), -1);
    json_decref(ev);
    assert_int_equal(drain_events(a1.ws, "conversation_updated"), 0);
    assert_int_equal(drain_events(b.ws, "conversation_updated"), 0);
    /* A time in the past, or nothing to change. */
    assert_err(convset(&a1, json_pack("{s:s,s:i}", "conversation", ab, "muted_until", 1000)),
               "bad_request");
    assert_err(convset(&a1, json_pack("{s:s}", "conversation", ab)), "bad_request");
    assert_err(convset(&a1, json_pack("{s:s,s:i}", "conversation", ab, "muted_until", -2)),
               "bad_request");

    /* Pin the oldest: it comes first; the others by activity. */
    r = convset(&a1, json_pack("{s:s,s:b}", "conversation", ab, "pinned", 1));
    assert_true(is_ok(r));
    json_decref(r);
    json_t *ids = list_ids(&a1, "");
    assert_int_equal(json_array_size(ids), 3);
    assert_string_equal(json_string_value(json_array_get(ids, 0)), ab);
    assert_string_equal(json_string_value(json_array_get(ids, 1)), ae);
    assert_string_equal(json_string_value(json_array_get(ids, 2)), ac);
    json_decref(ids);
    /* Over HTTP too; Bob's list is his own. */
    json_decref(EXPECT_BODY(200, NULL, srv, "PATCH", a1.s.access, json_pack("{s:b}", "archived", 1),
                            "/v1/conversations/%s", ac));
    EXPECT(400, "bad_request", srv, "PATCH", a1.s.access, json_pack("{s:i}", "muted_until", 5),
           "/v1/conversations/%s", ac);
    ids = list_ids(&a1, "?archived=false");
    assert_int_equal(json_array_size(ids), 2);
    json_decref(ids);
    ids = list_ids(&a1, "?archived=true");
    assert_int_equal(json_array_size(ids), 1);
    assert_string_equal(json_string_value(json_array_get(ids, 0)), ac);
    json_decref(ids);
    EXPECT(400, "bad_request", srv, "GET", a1.s.access, NULL, "/v1/conversations?archived=maybe");
    json_t *bl = EXPECT_BODY(200, NULL, srv, "GET", b.s.access, NULL, "/v1/conversations");
    json_t *bs =
        json_object_get(json_array_get(json_object_get(bl, "conversations"), 0), "settings");
    assert_int_equal(jint(bs, "muted_until"), 0);
    assert_false(json_is_true(json_object_get(bs, "pinned")));
    json_decref(bl);

    /* Clear: history, sync and search show nothing older. */
    r = call(a1.ws, "conversation_clear", json_pack("{s:s}", "conversation", ae));
    assert_true(is_ok(r));
    assert_int_equal(jint(json_object_get(r, "settings"), "cleared_seq"), 1);
    json_decref(r);
    json_t *hist = all_history(a1.ws, ae);
    assert_int_equal(json_array_size(hist), 0);
    json_decref(hist);
    r = call(a1.ws, "search", json_pack("{s:s,s:s}", "query", "tokyo", "conversation", ae));
    assert_true(is_ok(r));
    assert_int_equal(json_array_size(json_object_get(r, "results")), 0);
    json_decref(r);
    char cur[32] = "0";
    json_t *msgs = json_array();
    assert_true(sync_until_done(a2.ws, cur, msgs, NULL));
    assert_null(find_msg(msgs, ae, "to eve about tokyo", NULL));
    json_decref(msgs);
    /* Eve still has it. */
    hist = all_history(e.ws, ae);
    assert_int_equal(json_array_size(hist), 1);
    json_decref(hist);

    /* Delete the direct conversation: gone from the list until a new message. */
    json_t *d =
        EXPECT_BODY(200, NULL, srv, "DELETE", a1.s.access, NULL, "/v1/conversations/%s", ab);
    assert_true(json_is_true(json_object_get(json_object_get(d, "settings"), "deleted")));
    json_decref(d);
    ids = list_ids(&a1, "");
    assert_false(json_has_str(ids, ab));
    json_decref(ids);
    send_text(&b, ab, "back", "are you there?", mid);
    ids = list_ids(&a1, "");
    assert_true(json_has_str(ids, ab));
    json_decref(ids);
    hist = all_history(a1.ws, ab);
    assert_int_equal(json_array_size(hist), 1);
    assert_string_equal(jstr(json_array_get(hist, 0), "text"), "are you there?");
    json_decref(hist);

    /* A group cannot be deleted (leave it); the world has no settings. */
    char g[24];
    assert_int_equal(
        group_create(srv, a1.s.access, "grp", ids_json(b.s.user_id, NULL), NULL, g, NULL), 201);
    assert_err(call(a1.ws, "conversation_delete", json_pack("{s:s}", "conversation", g)),
               "bad_request");
    r = call(a1.ws, "conversation_clear", json_pack("{s:s}", "conversation", g));
    assert_true(is_ok(r));
    json_decref(r);
    json_t *w = EXPECT_BODY(200, NULL, srv, "GET", a1.s.access, NULL, "/v1/world");
    char world[24];
    snprintf(world, sizeof world, "%s", jstr(w, "conversation_id"));
    json_decref(w);
    assert_err(convset(&a1, json_pack("{s:s,s:b}", "conversation", world, "archived", 1)),
               "bad_request");

    dev_close(&a1);
    dev_close(&a2);
    dev_close(&b);
    dev_close(&c);
    dev_close(&e);
}

/* At most 10 pinned conversations per user and 50 pinned messages per
 * conversation: one more is limit_reached, and unpinning makes room. */
static void test_pin_limits(void **state)
{
    (void)state;
    chat_dev_t a, peer[11];
    dev_new_user(srv, "plim", &a);
    char conv[11][24], mid[24];
    for (int i = 0; i < 11; i++) {
        assert_int_equal(mpt_user_new(srv, "plim", &peer[i].s), 0);
        assert_int_equal(direct_conv(srv, &a, peer[i].s.user_id, conv[i]), 201);
        json_t *r = convset(&a, json_pack("{s:s,s:b}", "conversation", conv[i], "pinned", 1));
        if (i < 10) {
            assert_true(is_ok(r));
            json_decref(r);
        } else {
            assert_err(r, "limit_reached");
        }
    }
    json_t *r = convset(&a, json_pack("{s:s,s:b}", "conversation", conv[0], "pinned", 0));
    assert_true(is_ok(r));
    json_decref(r);
    r = convset(&a, json_pack("{s:s,s:b}", "conversation", conv[10], "pinned", 1));
    assert_true(is_ok(r));
    json_decref(r);

    for (int i = 0; i <= 50; i++) {
        char cmid[16];
        snprintf(cmid, sizeof cmid, "pl%d", i);
        send_text(&a, conv[0], cmid, cmid, mid);
        r = call(a.ws, "pin", json_pack("{s:s,s:s}", "conversation", conv[0], "message_id", mid));
        if (i < 50) {
            assert_true(is_ok(r));
            json_decref(r);
        } else {
            assert_err(r, "limit_reached");
        }
    }
    json_t *pins =
        EXPECT_BODY(200, NULL, srv, "GET", a.s.access, NULL, "/v1/conversations/%s/pins", conv[0]);
    assert_int_equal(json_array_size(json_object_get(pins, "messages")), 50);
    json_decref(pins);
    dev_close(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reactions_three_devices_and_offline),
        cmocka_unit_test(test_reaction_kinds_default),
        cmocka_unit_test(test_reaction_kinds_flag),
        cmocka_unit_test(test_reaction_rate_limit),
        cmocka_unit_test(test_pins_group_rules),
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_pin_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
