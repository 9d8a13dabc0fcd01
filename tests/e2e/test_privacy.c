/* End-to-end tests of blocking and the privacy settings against a real
 * server (docs/protocol.md "Blocking", "Privacy settings"):
 * - the routes: POST/DELETE/GET /v1/blocks (idempotent, paged, guests
 *   refused, the blocker's sessions told), GET/PATCH /v1/me/privacy
 *   (defaults, partial changes, bad values naming the field);
 * - a blocked user on every route and verb a block governs — send in the
 *   existing direct conversation, send with "to", POST
 *   /v1/conversations/direct, forward into the conversation and with "to",
 *   group create with member_ids, POST members, presence GET and events —
 *   is told exactly what a user whose setting is "nobody" tells them (same
 *   code, same message); the blocker is told it is their own block; edits
 *   and reactions on existing messages and shared groups keep working;
 * - each setting on the routes and events it governs: message, groups,
 *   presence (GET and events), read_receipts (receipt events, sync).
 * - "contacts" = friends (made through the contacts routes) for each
 *   setting; a block ends a friendship, and a blocked user's contact
 *   request never reaches the blocker;
 * - search: who finds whom in user search (the exact lookup stays open). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    assert_int_equal(mpt_server_stop(srv), 0);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------- */

/* The error message of a WebSocket reply or HTTP body ("" when none). */
static const char *err_message(const json_t *j)
{
    const char *m = jstr(json_object_get(j, "error"), "message");
    return m ? m : "";
}

/* Asserts a privacy_restricted WebSocket reply and copies its message. */
static void ws_refused(json_t *reply, char msg[256])
{
    snprintf(msg, 256, "%s", err_message(reply));
    assert_err(reply, "privacy_restricted");
}

/* An HTTP call that must answer 403 privacy_restricted; copies the message. */
static void http_refused(const char *method, const char *path, const char *token, json_t *body,
                         char msg[256])
{
    json_t *out = EXPECT_BODY(403, "privacy_restricted", srv, method, token, body, "%s", path);
    snprintf(msg, 256, "%s", err_message(out));
    json_decref(out);
}

static void privacy_patch(const chat_dev_t *d, json_t *body)
{
    EXPECT(200, NULL, srv, "PATCH", d->s.access, body, "/v1/me/privacy");
}

static void block(const chat_dev_t *by, const chat_dev_t *whom)
{
    EXPECT(204, NULL, srv, "POST", by->s.access, json_pack("{s:s}", "user_id", whom->s.user_id),
           "/v1/blocks");
}

/* The presence of user as seen by d: online and last_seen_at (-1 = null). */
static void presence_of(const chat_dev_t *d, const char *user, bool *online, long long *at)
{
    json_t *b =
        EXPECT_BODY(200, NULL, srv, "GET", d->s.access, NULL, "/v1/users/%s/presence", user);
    *online = json_is_true(json_object_get(b, "online"));
    json_t *ls = json_object_get(b, "last_seen_at");
    *at = json_is_integer(ls) ? (long long)json_integer_value(ls) : -1;
    json_decref(b);
}

/* Presence events about user queued on ws (after a ping round trip), all
 * events dropped. */
static int presence_events_about(mpc_ws_t *ws, const char *user)
{
    json_t *pong = mpt_ws_call(ws, "ping", NULL);
    assert_true(is_ok(pong));
    json_decref(pong);
    int n = 0;
    json_t *ev = NULL;
    while (mpc_ws_next_event(ws, 0, &ev) == MPC_OK) {
        if (strcmp(jstr(ev, "event"), "presence") == 0 && strcmp(jstr(ev, "user_id"), user) == 0)
            n++;
        json_decref(ev);
    }
    return n;
}

/* The next message event of conversation conv: the system messages of the
 * groups the test made before may still be on their way. */
static json_t *next_message_in(mpc_ws_t *ws, const char *conv)
{
    for (;;) {
        json_t *ev = next_event(ws, "message");
        const char *c = jstr(json_object_get(ev, "message"), "conversation");
        if (c != NULL && strcmp(c, conv) == 0)
            return ev;
        json_decref(ev);
    }
}

/* The next presence event about user (others skipped). */
static json_t *next_presence(mpc_ws_t *ws, const char *user)
{
    for (;;) {
        json_t *ev = next_event(ws, "presence");
        if (strcmp(jstr(ev, "user_id"), user) == 0)
            return ev;
        json_decref(ev);
    }
}

/* The next presence event about user is "offline, never seen" (hidden) or
 * "online" (shown): what a change of the rules sends to an online user's
 * peers. */
static void expect_presence(mpc_ws_t *ws, const char *user, bool shown)
{
    json_t *ev = next_presence(ws, user);
    if (shown) {
        assert_true(json_is_true(json_object_get(ev, "online")));
    } else {
        assert_false(json_is_true(json_object_get(ev, "online")));
        assert_true(json_is_null(json_object_get(ev, "last_seen_at")));
    }
    json_decref(ev);
}

static json_t *forward_msg(mpc_ws_t *ws, const char *from, const char *msg_id, const char *conv,
                           const char *to, const char *cmid)
{
    json_t *f =
        json_pack("{s:s,s:[s],s:s}", "from", from, "message_ids", msg_id, "client_msg_id", cmid);
    if (conv)
        json_object_set_new(f, "conversation", json_string(conv));
    if (to)
        json_object_set_new(f, "to", json_string(to));
    return call(ws, "forward", f);
}

/* a asks b to be contacts, b accepts: friends. */
static void befriend(const chat_dev_t *a, const chat_dev_t *b)
{
    EXPECT(200, NULL, srv, "POST", a->s.access, json_pack("{s:s}", "user_id", b->s.user_id),
           "/v1/contacts/requests");
    EXPECT(200, NULL, srv, "POST", b->s.access, NULL, "/v1/contacts/requests/%s/accept",
           a->s.user_id);
}

/* Waits for a contact event about peer in this state (earlier ones are
 * skipped); fails after MPT_TIMEOUT. */
static void expect_contact_event(mpc_ws_t *ws, const char *peer, const char *state)
{
    for (;;) {
        json_t *ev = next_event(ws, "contact");
        json_t *c = json_object_get(ev, "contact");
        bool hit = strcmp(jstr(json_object_get(c, "user"), "user_id"), peer) == 0 &&
                   strcmp(jstr(c, "state"), state) == 0;
        json_decref(ev);
        if (hit)
            return;
    }
}

/* ---- the routes ------------------------------------------------------------------------ */

static void test_block_routes(void **state)
{
    (void)state;
    chat_dev_t a, a2, b, c, d;
    dev_new_user(srv, "blk", &a);
    dev_new_device(srv, &a, &a2);
    dev_new_user(srv, "blk", &b);
    dev_new_user(srv, "blk", &c);
    dev_new_user(srv, "blk", &d);

    EXPECT(400, "bad_request", srv, "POST", a.s.access, json_pack("{s:s}", "user_id", a.s.user_id),
           "/v1/blocks");
    EXPECT(404, "not_found", srv, "POST", a.s.access, json_pack("{s:s}", "user_id", "123456789"),
           "/v1/blocks");
    EXPECT(400, "bad_request", srv, "POST", a.s.access, json_pack("{s:i}", "user_id", 5),
           "/v1/blocks");
    EXPECT(400, "bad_request", srv, "POST", a.s.access, json_object(), "/v1/blocks");
    EXPECT(401, "unauthorized", srv, "GET", NULL, NULL, "/v1/blocks");

    /* Idempotent: the second block is 204 again, and only the first is an event. */
    block(&a, &b);
    block(&a, &b);
    json_t *ev = next_event(a2.ws, "block");
    assert_string_equal(jstr(ev, "user_id"), b.s.user_id);
    assert_true(json_is_true(json_object_get(ev, "blocked")));
    json_decref(ev);
    assert_int_equal(drain_events(a2.ws, "block"), 0);
    /* The blocked user hears nothing. */
    assert_int_equal(drain_events(b.ws, NULL), 0);
    block(&a, &c);
    block(&a, &d);
    assert_int_equal(drain_events(a2.ws, "block"), 2);

    /* Newest first (blocks of one millisecond by id), paged: every block once. */
    json_t *p1 = EXPECT_BODY(200, NULL, srv, "GET", a.s.access, NULL, "/v1/blocks?limit=2");
    json_t *all = json_array();
    json_array_extend(all, json_object_get(p1, "blocks"));
    assert_int_equal(json_array_size(all), 2);
    const char *cur = jstr(p1, "next_cursor");
    assert_non_null(cur);
    json_t *p2 =
        EXPECT_BODY(200, NULL, srv, "GET", a.s.access, NULL, "/v1/blocks?limit=2&cursor=%s", cur);
    json_array_extend(all, json_object_get(p2, "blocks"));
    assert_int_equal(json_array_size(all), 3);
    assert_true(json_is_null(json_object_get(p2, "next_cursor")));
    /* Bob was blocked first (a round trip before the others): last. Each
     * row is the public profile, as on every route that returns a user. */
    json_t *bu = json_object_get(json_array_get(all, 2), "user");
    assert_string_equal(jstr(bu, "user_id"), b.s.user_id);
    assert_string_equal(jstr(bu, "username"), b.s.username);
    assert_true(json_is_true(json_object_get(bu, "blocked")));
    assert_string_equal(jstr(bu, "contact"), "none");
    bool seen_c = false, seen_d = false;
    for (size_t i = 0; i < 3; i++) {
        json_t *row = json_array_get(all, i);
        const char *uid = jstr(json_object_get(row, "user"), "user_id");
        seen_c |= strcmp(uid, c.s.user_id) == 0;
        seen_d |= strcmp(uid, d.s.user_id) == 0;
        if (i > 0)
            assert_true(jint(row, "blocked_at") <= jint(json_array_get(all, i - 1), "blocked_at"));
    }
    assert_true(seen_c && seen_d);
    json_decref(all);
    json_decref(p1);
    json_decref(p2);
    EXPECT(400, "bad_request", srv, "GET", a.s.access, NULL, "/v1/blocks?limit=0");
    EXPECT(400, "bad_request", srv, "GET", a.s.access, NULL, "/v1/blocks?limit=201");
    EXPECT(400, "bad_request", srv, "GET", a.s.access, NULL, "/v1/blocks?cursor=x");
    /* Lists are one's own: Bob blocked nobody. */
    json_t *bl = EXPECT_BODY(200, NULL, srv, "GET", b.s.access, NULL, "/v1/blocks");
    assert_int_equal(json_array_size(json_object_get(bl, "blocks")), 0);
    json_decref(bl);

    /* Unblock, idempotently. */
    EXPECT(204, NULL, srv, "DELETE", a.s.access, NULL, "/v1/blocks/%s", b.s.user_id);
    EXPECT(204, NULL, srv, "DELETE", a.s.access, NULL, "/v1/blocks/%s", b.s.user_id);
    EXPECT(404, "not_found", srv, "DELETE", a.s.access, NULL, "/v1/blocks/nope");
    ev = next_event(a2.ws, "block");
    assert_string_equal(jstr(ev, "user_id"), b.s.user_id);
    assert_true(json_is_false(json_object_get(ev, "blocked")));
    json_decref(ev);
    assert_int_equal(drain_events(a2.ws, "block"), 0);
    bl = EXPECT_BODY(200, NULL, srv, "GET", a.s.access, NULL, "/v1/blocks");
    assert_int_equal(json_array_size(json_object_get(bl, "blocks")), 2);
    json_decref(bl);

    /* Guests: none of it. */
    mpt_session_t g;
    assert_int_equal(guest_new(srv, "Gus", &g), 200);
    EXPECT(403, "guest_forbidden", srv, "POST", g.access,
           json_pack("{s:s}", "user_id", a.s.user_id), "/v1/blocks");
    EXPECT(403, "guest_forbidden", srv, "GET", g.access, NULL, "/v1/blocks");
    EXPECT(403, "guest_forbidden", srv, "DELETE", g.access, NULL, "/v1/blocks/%s", a.s.user_id);
    EXPECT(403, "guest_forbidden", srv, "GET", g.access, NULL, "/v1/me/privacy");
    EXPECT(403, "guest_forbidden", srv, "PATCH", g.access, json_pack("{s:s}", "message", "nobody"),
           "/v1/me/privacy");
    dev_close(&a);
    dev_close(&a2);
    dev_close(&b);
    dev_close(&c);
    dev_close(&d);
}

static void test_privacy_routes(void **state)
{
    (void)state;
    chat_dev_t a, a2;
    dev_new_user(srv, "prv", &a);
    dev_new_device(srv, &a, &a2);
    json_t *p = EXPECT_BODY(200, NULL, srv, "GET", a.s.access, NULL, "/v1/me/privacy");
    assert_string_equal(jstr(p, "message"), "everyone");
    assert_string_equal(jstr(p, "presence"), "everyone");
    assert_string_equal(jstr(p, "search"), "everyone");
    assert_string_equal(jstr(p, "groups"), "everyone");
    assert_true(json_is_true(json_object_get(p, "read_receipts")));
    json_decref(p);

    p = EXPECT_BODY(200, NULL, srv, "PATCH", a.s.access,
                    json_pack("{s:s,s:b}", "presence", "contacts", "read_receipts", 0),
                    "/v1/me/privacy");
    assert_string_equal(jstr(p, "message"), "everyone");
    assert_string_equal(jstr(p, "presence"), "contacts");
    assert_false(json_is_true(json_object_get(p, "read_receipts")));
    json_decref(p);
    json_t *ev = next_event(a2.ws, "privacy");
    assert_string_equal(jstr(json_object_get(ev, "privacy"), "presence"), "contacts");
    json_decref(ev);
    p = EXPECT_BODY(200, NULL, srv, "PATCH", a.s.access,
                    json_pack("{s:s,s:s}", "search", "nobody", "groups", "contacts"),
                    "/v1/me/privacy");
    assert_string_equal(jstr(p, "presence"), "contacts");
    assert_string_equal(jstr(p, "search"), "nobody");
    assert_string_equal(jstr(p, "groups"), "contacts");
    json_decref(p);
    p = EXPECT_BODY(200, NULL, srv, "GET", a.s.access, NULL, "/v1/me/privacy");
    assert_string_equal(jstr(p, "groups"), "contacts");
    assert_false(json_is_true(json_object_get(p, "read_receipts")));
    json_decref(p);

    /* Bad values name the field; nothing is changed. */
    json_t *e = EXPECT_BODY(400, "bad_request", srv, "PATCH", a.s.access,
                            json_pack("{s:s,s:s}", "message", "nobody", "presence", "friends"),
                            "/v1/me/privacy");
    assert_non_null(strstr(err_message(e), "'presence'"));
    json_decref(e);
    e = EXPECT_BODY(400, "bad_request", srv, "PATCH", a.s.access, json_pack("{s:i}", "groups", 2),
                    "/v1/me/privacy");
    assert_non_null(strstr(err_message(e), "'groups'"));
    json_decref(e);
    e = EXPECT_BODY(400, "bad_request", srv, "PATCH", a.s.access,
                    json_pack("{s:s}", "read_receipts", "off"), "/v1/me/privacy");
    assert_non_null(strstr(err_message(e), "'read_receipts'"));
    json_decref(e);
    e = EXPECT_BODY(400, "bad_request", srv, "PATCH", a.s.access,
                    json_pack("{s:s}", "last_seen", "nobody"), "/v1/me/privacy");
    assert_non_null(strstr(err_message(e), "'last_seen'"));
    json_decref(e);
    p = EXPECT_BODY(200, NULL, srv, "GET", a.s.access, NULL, "/v1/me/privacy");
    assert_string_equal(jstr(p, "message"), "everyone");
    json_decref(p);
    dev_close(&a);
    dev_close(&a2);
}

/* ---- a blocked user, everywhere -------------------------------------------------------------- */

static void test_blocked_everywhere(void **state)
{
    (void)state;
    /* Bob is the one refused. Ann blocks him; Cy's settings are all "nobody"
     * (the reference: what a block must look like). Dee blocks him and Eve
     * says nobody before he ever wrote to them (starting a conversation).
     * Fay is a bystander who shares a conversation with Ann. */
    chat_dev_t ann, bob, cy, dee, eve, fay;
    dev_new_user(srv, "ann", &ann);
    dev_new_user(srv, "bob", &bob);
    dev_new_user(srv, "cy", &cy);
    dev_new_user(srv, "dee", &dee);
    dev_new_user(srv, "eve", &eve);
    dev_new_user(srv, "fay", &fay);
    char ab[24], cb[24], af[24], src[24], old_ab[24], shared[24];
    assert_int_equal(direct_conv(srv, &bob, ann.s.user_id, ab), 201);
    assert_int_equal(direct_conv(srv, &bob, cy.s.user_id, cb), 201);
    assert_int_equal(direct_conv(srv, &fay, ann.s.user_id, af), 201);
    send_text(&ann, ab, "before", "before", old_ab);
    /* A source for forwards: Bob's own group. */
    assert_int_equal(group_create(srv, bob.s.access, "notes", NULL, NULL, src, NULL), 201);
    char note[24];
    send_text(&bob, src, "note", "a note", note);
    /* A group of all three, made before. */
    assert_int_equal(group_create(srv, ann.s.access, "shared",
                                  ids_json(bob.s.user_id, cy.s.user_id, NULL), NULL, shared, NULL),
                     201);

    block(&ann, &bob);
    block(&dee, &bob);
    json_t *nobody =
        json_pack("{s:s,s:s,s:s}", "message", "nobody", "presence", "nobody", "groups", "nobody");
    privacy_patch(&cy, json_deep_copy(nobody));
    privacy_patch(&eve, nobody);
    /* Bob had seen Ann and Cy online: now both read as away, the same way;
     * Fay, who may still see Ann, is told she is online. */
    expect_presence(bob.ws, ann.s.user_id, false);
    expect_presence(bob.ws, cy.s.user_id, false);
    expect_presence(fay.ws, ann.s.user_id, true);

    char m1[256], m2[256];
    /* send in the existing direct conversation */
    ws_refused(send_msg(bob.ws, ab, NULL, "s1", "hi"), m1);
    ws_refused(send_msg(bob.ws, cb, NULL, "s2", "hi"), m2);
    assert_string_equal(m1, m2);
    /* send with "to": into the existing conversation, and starting one */
    ws_refused(send_msg(bob.ws, NULL, ann.s.user_id, "s3", "hi"), m1);
    ws_refused(send_msg(bob.ws, NULL, cy.s.user_id, "s4", "hi"), m2);
    assert_string_equal(m1, m2);
    ws_refused(send_msg(bob.ws, NULL, dee.s.user_id, "s5", "hi"), m1);
    ws_refused(send_msg(bob.ws, NULL, eve.s.user_id, "s6", "hi"), m2);
    assert_string_equal(m1, m2);
    /* POST /v1/conversations/direct: refused when it would start one; an
     * existing one is found either way, as for a setting. */
    char path[64];
    snprintf(path, sizeof path, "/v1/conversations/direct");
    http_refused("POST", path, bob.s.access, json_pack("{s:s}", "user_id", dee.s.user_id), m1);
    http_refused("POST", path, bob.s.access, json_pack("{s:s}", "user_id", eve.s.user_id), m2);
    assert_string_equal(m1, m2);
    assert_int_equal(direct_conv(srv, &bob, ann.s.user_id, NULL), 200);
    assert_int_equal(direct_conv(srv, &bob, cy.s.user_id, NULL), 200);
    /* forward into the conversation, and with "to" */
    ws_refused(forward_msg(bob.ws, src, note, ab, NULL, "f1"), m1);
    ws_refused(forward_msg(bob.ws, src, note, cb, NULL, "f2"), m2);
    assert_string_equal(m1, m2);
    ws_refused(forward_msg(bob.ws, src, note, NULL, dee.s.user_id, "f3"), m1);
    ws_refused(forward_msg(bob.ws, src, note, NULL, eve.s.user_id, "f4"), m2);
    assert_string_equal(m1, m2);
    /* typing in the direct conversation: refused, nothing reaches Ann */
    ws_refused(call(bob.ws, "typing", json_pack("{s:s}", "conversation", ab)), m1);
    ws_refused(call(bob.ws, "typing", json_pack("{s:s}", "conversation", cb)), m2);
    assert_string_equal(m1, m2);
    assert_int_equal(drain_events(ann.ws, "typing"), 0);
    assert_int_equal(drain_events(cy.ws, "typing"), 0);
    /* group create with member_ids: the message names the user, else the same */
    char want[256];
    http_refused("POST", "/v1/groups", bob.s.access,
                 json_pack("{s:s,s:[s]}", "title", "g", "member_ids", ann.s.user_id), m1);
    assert_non_null(strstr(m1, ann.s.user_id));
    http_refused("POST", "/v1/groups", bob.s.access,
                 json_pack("{s:s,s:[s]}", "title", "g", "member_ids", cy.s.user_id), m2);
    snprintf(want, sizeof want, "%s", m2);
    char *at = strstr(want, cy.s.user_id);
    assert_non_null(at);
    memcpy(at, ann.s.user_id, strlen(ann.s.user_id)); /* ids have the same length */
    assert_string_equal(m1, want);
    /* POST members */
    snprintf(path, sizeof path, "/v1/groups/%s/members", src);
    http_refused("POST", path, bob.s.access, json_pack("{s:[s]}", "user_ids", ann.s.user_id), m1);
    http_refused("POST", path, bob.s.access, json_pack("{s:[s]}", "user_ids", cy.s.user_id), m2);
    snprintf(want, sizeof want, "%s", m2);
    at = strstr(want, cy.s.user_id);
    memcpy(at, ann.s.user_id, strlen(ann.s.user_id));
    assert_string_equal(m1, want);
    /* Fay may add Ann: the block is Bob's alone. */
    char fg[24];
    assert_int_equal(
        group_create(srv, fay.s.access, "fay's", ids_json(ann.s.user_id, NULL), NULL, fg, NULL),
        201);

    /* presence GET: Ann and Cy are online, Bob sees neither; Fay sees Ann. */
    bool online;
    long long seen;
    presence_of(&bob, ann.s.user_id, &online, &seen);
    assert_false(online);
    assert_int_equal(seen, -1);
    presence_of(&bob, cy.s.user_id, &online, &seen);
    assert_false(online);
    assert_int_equal(seen, -1);
    presence_of(&fay, ann.s.user_id, &online, &seen);
    assert_true(online);
    presence_of(&ann, ann.s.user_id, &online, &seen);
    assert_true(online);
    /* Bob's own presence is not Ann's to hide: she still sees him. */
    presence_of(&ann, bob.s.user_id, &online, &seen);
    assert_true(online);

    /* presence events: Ann and Cy leave and come back; Fay hears of Ann,
     * Bob of neither. */
    assert_int_equal(presence_events_about(bob.ws, ann.s.user_id), 0);
    dev_close(&ann);
    dev_close(&cy);
    json_t *ev = next_presence(fay.ws, ann.s.user_id);
    assert_false(json_is_true(json_object_get(ev, "online")));
    json_decref(ev);
    presence_of(&bob, ann.s.user_id, &online, &seen);
    assert_int_equal(seen, -1);
    presence_of(&fay, ann.s.user_id, &online, &seen);
    assert_true(seen > 0);
    dev_open(srv, &ann);
    dev_open(srv, &cy);
    ev = next_presence(fay.ws, ann.s.user_id);
    assert_true(json_is_true(json_object_get(ev, "online")));
    json_decref(ev);
    assert_int_equal(presence_events_about(bob.ws, ann.s.user_id), 0);
    assert_int_equal(presence_events_about(bob.ws, cy.s.user_id), 0);

    /* The blocker is told it is her own block. */
    json_t *r = send_msg(ann.ws, ab, NULL, "a1", "hi");
    assert_string_equal(err_message(r), "you blocked this user; unblock them to write");
    assert_err(r, "privacy_restricted");
    r = send_msg(ann.ws, NULL, bob.s.user_id, "a2", "hi");
    assert_string_equal(err_message(r), "you blocked this user; unblock them to write");
    assert_err(r, "privacy_restricted");
    json_t *body =
        EXPECT_BODY(403, "privacy_restricted", srv, "POST", dee.s.access,
                    json_pack("{s:s}", "user_id", bob.s.user_id), "/v1/conversations/direct");
    assert_string_equal(err_message(body), "you blocked this user; unblock them to write");
    json_decref(body);

    /* Existing messages stay editable and reactable (Telegram's rule: a
     * block stops new messages only). */
    char bobs[24];
    r = call(ann.ws, "react",
             json_pack("{s:s,s:s,s:s}", "conversation", ab, "message_id", old_ab, "emoji", "👍"));
    assert_true(is_ok(r));
    json_decref(r);
    r = call(bob.ws, "react",
             json_pack("{s:s,s:s,s:s}", "conversation", ab, "message_id", old_ab, "emoji", "👀"));
    assert_true(is_ok(r));
    json_decref(r);
    r = call(
        ann.ws, "edit",
        json_pack("{s:s,s:s,s:s}", "conversation", ab, "message_id", old_ab, "text", "edited"));
    assert_true(is_ok(r));
    json_decref(r);

    /* Groups they share keep working for both. */
    send_text(&bob, shared, "g1", "from bob", bobs);
    ev = next_message_in(ann.ws, shared);
    assert_string_equal(jstr(json_object_get(ev, "message"), "text"), "from bob");
    json_decref(ev);
    send_text(&ann, shared, "g2", "from ann", NULL);
    ev = next_message_in(bob.ws, shared);
    assert_string_equal(jstr(json_object_get(ev, "message"), "text"), "from ann");
    json_decref(ev);

    /* Unblocked: both write again. */
    EXPECT(204, NULL, srv, "DELETE", ann.s.access, NULL, "/v1/blocks/%s", bob.s.user_id);
    send_text(&bob, ab, "s7", "hello again", NULL);
    send_text(&ann, ab, "a3", "hi bob", NULL);
    presence_of(&bob, ann.s.user_id, &online, &seen);
    assert_true(online);

    dev_close(&ann);
    dev_close(&bob);
    dev_close(&cy);
    dev_close(&dee);
    dev_close(&eve);
    dev_close(&fay);
}

/* ---- each setting ------------------------------------------------------------------------- */

static void test_message_setting(void **state)
{
    (void)state;
    chat_dev_t a, b, c;
    dev_new_user(srv, "msg", &a);
    dev_new_user(srv, "msg", &b);
    dev_new_user(srv, "msg", &c);
    char ab[24];
    assert_int_equal(direct_conv(srv, &a, b.s.user_id, ab), 201);
    send_text(&a, ab, "1", "one", NULL);
    privacy_patch(&b, json_pack("{s:s}", "message", "nobody"));
    /* Every send, not only the first; starting one too. */
    char m[256];
    ws_refused(send_msg(a.ws, ab, NULL, "2", "two"), m);
    assert_string_equal(m, "this user's privacy settings do not allow it");
    ws_refused(send_msg(c.ws, NULL, b.s.user_id, "3", "three"), m);
    EXPECT(403, "privacy_restricted", srv, "POST", c.s.access,
           json_pack("{s:s}", "user_id", b.s.user_id), "/v1/conversations/direct");
    /* "contacts" without a friendship: the same. */
    privacy_patch(&b, json_pack("{s:s}", "message", "contacts"));
    ws_refused(send_msg(a.ws, ab, NULL, "4", "four"), m);
    /* The setting is about writing to Bob: Bob writes freely. */
    send_text(&b, ab, "5", "five", NULL);
    json_t *r = send_msg(b.ws, NULL, c.s.user_id, "6", "six");
    assert_true(is_ok(r));
    json_decref(r);
    privacy_patch(&b, json_pack("{s:s}", "message", "everyone"));
    send_text(&a, ab, "7", "seven", NULL);
    dev_close(&a);
    dev_close(&b);
    dev_close(&c);
}

static void test_groups_setting(void **state)
{
    (void)state;
    chat_dev_t a, b, c;
    dev_new_user(srv, "grp", &a);
    dev_new_user(srv, "grp", &b);
    dev_new_user(srv, "grp", &c);
    privacy_patch(&b, json_pack("{s:s}", "groups", "contacts"));
    char g[24], m[256];
    http_refused("POST", "/v1/groups", a.s.access,
                 json_pack("{s:s,s:[s,s]}", "title", "g", "member_ids", c.s.user_id, b.s.user_id),
                 m);
    assert_non_null(strstr(m, b.s.user_id));
    assert_non_null(strstr(m, "'member_ids'"));
    assert_non_null(strstr(m, "invite link"));
    /* All or nothing: no group was made. */
    json_t *list = EXPECT_BODY(200, NULL, srv, "GET", c.s.access, NULL, "/v1/conversations");
    assert_int_equal(json_array_size(json_object_get(list, "conversations")), 0);
    json_decref(list);
    assert_int_equal(group_create(srv, a.s.access, "g", ids_json(c.s.user_id, NULL), NULL, g, NULL),
                     201);
    char path[64];
    snprintf(path, sizeof path, "/v1/groups/%s/members", g);
    http_refused("POST", path, a.s.access, json_pack("{s:[s]}", "user_ids", b.s.user_id), m);
    assert_non_null(strstr(m, "'user_ids'"));
    assert_non_null(strstr(m, b.s.user_id));
    /* The way in that stays open: an invite link Bob uses himself. */
    json_t *inv =
        EXPECT_BODY(201, NULL, srv, "POST", a.s.access, json_object(), "/v1/groups/%s/invites", g);
    EXPECT(200, NULL, srv, "POST", b.s.access, NULL, "/v1/invites/%s/join", jstr(inv, "token"));
    json_decref(inv);
    privacy_patch(&b, json_pack("{s:s}", "groups", "everyone"));
    assert_int_equal(
        group_create(srv, a.s.access, "g2", ids_json(b.s.user_id, NULL), NULL, NULL, NULL), 201);
    dev_close(&a);
    dev_close(&b);
    dev_close(&c);
}

static void test_presence_setting(void **state)
{
    (void)state;
    chat_dev_t a, b, stranger;
    dev_new_user(srv, "pre", &a);
    dev_new_user(srv, "pre", &b);
    dev_new_user(srv, "pre", &stranger);
    char ab[24];
    assert_int_equal(direct_conv(srv, &a, b.s.user_id, ab), 201);
    privacy_patch(&b, json_pack("{s:s}", "presence", "nobody"));
    expect_presence(a.ws, b.s.user_id, false);
    bool online;
    long long seen;
    presence_of(&a, b.s.user_id, &online, &seen);
    assert_false(online);
    assert_int_equal(seen, -1);
    presence_of(&stranger, b.s.user_id, &online, &seen);
    assert_false(online);
    presence_of(&b, b.s.user_id, &online, &seen);
    assert_true(online); /* one's own, always */
    dev_close(&b);
    dev_open(srv, &b);
    assert_int_equal(presence_events_about(a.ws, b.s.user_id), 0);
    /* "contacts" without a friendship hides it too; "everyone" shows it. */
    privacy_patch(&b, json_pack("{s:s}", "presence", "contacts"));
    expect_presence(a.ws, b.s.user_id, false);
    presence_of(&a, b.s.user_id, &online, &seen);
    assert_false(online);
    privacy_patch(&b, json_pack("{s:s}", "presence", "everyone"));
    expect_presence(a.ws, b.s.user_id, true);
    presence_of(&a, b.s.user_id, &online, &seen);
    assert_true(online);
    dev_close(&b);
    json_t *ev = next_presence(a.ws, b.s.user_id);
    assert_false(json_is_true(json_object_get(ev, "online")));
    assert_true(json_is_integer(json_object_get(ev, "last_seen_at")));
    json_decref(ev);
    dev_close(&a);
    dev_close(&stranger);
}

/* The receipt Alice's device gets for Bob's cursor, from sync. NULL when
 * none. Caller decrefs. */
static json_t *sync_receipt_of(mpc_ws_t *ws, const char *user)
{
    json_t *r = call(ws, "sync", json_pack("{s:s}", "since", "0"));
    assert_true(is_ok(r));
    json_t *rc = json_object_get(r, "receipts"), *found = NULL;
    for (size_t i = 0; i < json_array_size(rc); i++) {
        json_t *x = json_array_get(rc, i);
        if (strcmp(jstr(x, "user_id"), user) == 0)
            found = json_incref(x);
    }
    json_decref(r);
    return found;
}

static void test_read_receipts_setting(void **state)
{
    (void)state;
    chat_dev_t a, b, b2;
    dev_new_user(srv, "rr", &a);
    dev_new_user(srv, "rr", &b);
    dev_new_device(srv, &b, &b2);
    char ab[24];
    assert_int_equal(direct_conv(srv, &a, b.s.user_id, ab), 201);
    send_text(&a, ab, "1", "one", NULL);
    send_text(&a, ab, "2", "two", NULL);
    privacy_patch(&b, json_pack("{s:b}", "read_receipts", 0));

    /* Bob reads: his own cursor moves, Alice sees only delivered_seq. */
    json_t *r = call(b.ws, "read", json_pack("{s:s,s:i}", "conversation", ab, "seq", 2));
    assert_true(is_ok(r));
    assert_int_equal(jint(r, "read_seq"), 2);
    assert_int_equal(jint(r, "unread"), 0);
    json_decref(r);
    json_t *ev = next_event(a.ws, "receipt");
    assert_null(json_object_get(ev, "read_seq"));
    assert_int_equal(jint(ev, "delivered_seq"), 2);
    json_decref(ev);
    ev = next_event(b2.ws, "read");
    assert_int_equal(jint(ev, "read_seq"), 2);
    json_decref(ev);
    json_t *x = sync_receipt_of(a.ws, b.s.user_id);
    assert_non_null(x);
    assert_null(json_object_get(x, "read_seq"));
    assert_int_equal(jint(x, "delivered_seq"), 2);
    json_decref(x);
    /* Bob's own devices still see his cursor in sync. */
    x = sync_receipt_of(b2.ws, b.s.user_id);
    assert_int_equal(jint(x, "read_seq"), 2);
    json_decref(x);

    /* Both ways: Bob does not see Alice's read_seq either. */
    send_text(&b, ab, "3", "three", NULL);
    r = call(a.ws, "read", json_pack("{s:s,s:i}", "conversation", ab, "seq", 3));
    assert_true(is_ok(r));
    json_decref(r);
    ev = next_event(b.ws, "receipt");
    assert_string_equal(jstr(ev, "user_id"), a.s.user_id);
    assert_null(json_object_get(ev, "read_seq"));
    json_decref(ev);
    x = sync_receipt_of(b.ws, a.s.user_id);
    assert_null(json_object_get(x, "read_seq"));
    json_decref(x);

    /* On again: both see read_seq at once. */
    privacy_patch(&b, json_pack("{s:b}", "read_receipts", 1));
    send_text(&a, ab, "4", "four", NULL);
    r = call(b.ws, "read", json_pack("{s:s,s:i}", "conversation", ab, "seq", 4));
    json_decref(r);
    ev = next_event(a.ws, "receipt");
    assert_int_equal(jint(ev, "read_seq"), 4);
    json_decref(ev);
    x = sync_receipt_of(b.ws, a.s.user_id);
    assert_int_equal(jint(x, "read_seq"), 4); /* her own send moved it */
    json_decref(x);
    dev_close(&a);
    dev_close(&b);
    dev_close(&b2);
}

/* "contacts" means friends: each setting lets a friend in and keeps
 * everyone else (a pending request included) out. */
static void test_contacts_option(void **state)
{
    (void)state;
    chat_dev_t a, friend_, asker, stranger;
    dev_new_user(srv, "cop", &a);
    dev_new_user(srv, "cop", &friend_);
    dev_new_user(srv, "cop", &asker);
    dev_new_user(srv, "cop", &stranger);
    befriend(&friend_, &a);
    EXPECT(200, NULL, srv, "POST", asker.s.access, json_pack("{s:s}", "user_id", a.s.user_id),
           "/v1/contacts/requests");
    char fa[24], sa[24], qa[24];
    assert_int_equal(direct_conv(srv, &friend_, a.s.user_id, fa), 201);
    assert_int_equal(direct_conv(srv, &stranger, a.s.user_id, sa), 201);
    assert_int_equal(direct_conv(srv, &asker, a.s.user_id, qa), 201);
    privacy_patch(&a, json_pack("{s:s,s:s,s:s}", "message", "contacts", "presence", "contacts",
                                "groups", "contacts"));
    expect_presence(friend_.ws, a.s.user_id, true);
    expect_presence(stranger.ws, a.s.user_id, false);
    expect_presence(asker.ws, a.s.user_id, false);
    char m[256];
    /* message */
    send_text(&friend_, fa, "1", "hi", NULL);
    ws_refused(send_msg(stranger.ws, sa, NULL, "2", "hi"), m);
    ws_refused(send_msg(asker.ws, qa, NULL, "3", "hi"), m);
    /* presence */
    bool online;
    long long seen;
    presence_of(&friend_, a.s.user_id, &online, &seen);
    assert_true(online);
    presence_of(&stranger, a.s.user_id, &online, &seen);
    assert_false(online);
    assert_int_equal(seen, -1);
    dev_close(&a);
    json_t *ev = next_presence(friend_.ws, a.s.user_id);
    assert_false(json_is_true(json_object_get(ev, "online")));
    json_decref(ev);
    assert_int_equal(presence_events_about(stranger.ws, a.s.user_id), 0);
    assert_int_equal(presence_events_about(asker.ws, a.s.user_id), 0);
    dev_open(srv, &a);
    /* groups */
    assert_int_equal(
        group_create(srv, friend_.s.access, "f", ids_json(a.s.user_id, NULL), NULL, NULL, NULL),
        201);
    EXPECT(403, "privacy_restricted", srv, "POST", stranger.s.access,
           json_pack("{s:s,s:[s]}", "title", "s", "member_ids", a.s.user_id), "/v1/groups");
    /* The friendship ends: so does what it allowed. */
    EXPECT(200, NULL, srv, "DELETE", a.s.access, NULL, "/v1/contacts/%s", friend_.s.user_id);
    ws_refused(send_msg(friend_.ws, fa, NULL, "4", "hi"), m);
    presence_of(&friend_, a.s.user_id, &online, &seen);
    assert_false(online);
    dev_close(&a);
    dev_close(&friend_);
    dev_close(&asker);
    dev_close(&stranger);
}

/* Contacts and blocks: a block ends a friendship on both sides (each told
 * as after a removal); a request from a blocked user looks sent to them and
 * never reaches the blocker. */
static void test_block_and_contacts(void **state)
{
    (void)state;
    chat_dev_t a, b;
    dev_new_user(srv, "bc", &a);
    dev_new_user(srv, "bc", &b);
    befriend(&a, &b);
    expect_contact_event(a.ws, b.s.user_id, "friends");
    expect_contact_event(b.ws, a.s.user_id, "friends");
    block(&a, &b);
    expect_contact_event(a.ws, b.s.user_id, "none");
    expect_contact_event(b.ws, a.s.user_id, "none");
    json_t *l = EXPECT_BODY(200, NULL, srv, "GET", b.s.access, NULL, "/v1/contacts");
    assert_int_equal(json_array_size(json_object_get(l, "contacts")), 0);
    json_decref(l);

    /* Bob asks again: answered as sent; Ann hears nothing and has nothing. */
    json_t *r = EXPECT_BODY(200, NULL, srv, "POST", b.s.access,
                            json_pack("{s:s}", "user_id", a.s.user_id), "/v1/contacts/requests");
    assert_string_equal(jstr(json_object_get(r, "contact"), "state"), "outgoing");
    json_decref(r);
    assert_int_equal(drain_events(a.ws, "contact"), 0);
    l = EXPECT_BODY(200, NULL, srv, "GET", a.s.access, NULL,
                    "/v1/contacts/requests?direction=incoming");
    assert_int_equal(json_array_size(json_object_get(l, "contacts")), 0);
    json_decref(l);
    /* Unblocking restores nothing. */
    EXPECT(204, NULL, srv, "DELETE", a.s.access, NULL, "/v1/blocks/%s", b.s.user_id);
    l = EXPECT_BODY(200, NULL, srv, "GET", a.s.access, NULL, "/v1/contacts");
    assert_int_equal(json_array_size(json_object_get(l, "contacts")), 0);
    json_decref(l);
    dev_close(&a);
    dev_close(&b);
}

/* Whether GET /v1/users/search?q=q as d lists user. */
static bool search_finds(const chat_dev_t *d, const char *q, const char *user)
{
    json_t *b = EXPECT_BODY(200, NULL, srv, "GET", d->s.access, NULL, "/v1/users/search?q=%s", q);
    json_t *users = json_object_get(b, "users");
    bool found = false;
    for (size_t i = 0; i < json_array_size(users); i++)
        found |= strcmp(jstr(json_array_get(users, i), "user_id"), user) == 0;
    json_decref(b);
    return found;
}

/* search: who finds me in user search; the exact username lookup stays
 * open to everyone, and a block does not hide the blocker (Telegram). */
static void test_search_setting(void **state)
{
    (void)state;
    chat_dev_t a, friend_, stranger;
    dev_new_user(srv, "srch", &a);
    dev_new_user(srv, "srch", &friend_);
    dev_new_user(srv, "srch", &stranger);
    befriend(&friend_, &a);
    assert_true(search_finds(&stranger, a.s.username, a.s.user_id));
    privacy_patch(&a, json_pack("{s:s}", "search", "contacts"));
    assert_true(search_finds(&friend_, a.s.username, a.s.user_id));
    assert_false(search_finds(&stranger, a.s.username, a.s.user_id));
    privacy_patch(&a, json_pack("{s:s}", "search", "nobody"));
    assert_false(search_finds(&friend_, a.s.username, a.s.user_id));
    EXPECT(200, NULL, srv, "GET", stranger.s.access, NULL, "/v1/users/by-username/%s",
           a.s.username);
    privacy_patch(&a, json_pack("{s:s}", "search", "everyone"));
    block(&a, &stranger);
    assert_true(search_finds(&stranger, a.s.username, a.s.user_id));
    json_t *p =
        EXPECT_BODY(200, NULL, srv, "GET", stranger.s.access, NULL, "/v1/users/%s", a.s.user_id);
    /* "blocked" is the caller's own block, never the other's. */
    assert_false(json_is_true(json_object_get(p, "blocked")));
    json_decref(p);
    p = EXPECT_BODY(200, NULL, srv, "GET", a.s.access, NULL, "/v1/users/%s", stranger.s.user_id);
    assert_true(json_is_true(json_object_get(p, "blocked")));
    json_decref(p);
    dev_close(&a);
    dev_close(&friend_);
    dev_close(&stranger);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_routes),          cmocka_unit_test(test_privacy_routes),
        cmocka_unit_test(test_blocked_everywhere),    cmocka_unit_test(test_message_setting),
        cmocka_unit_test(test_groups_setting),        cmocka_unit_test(test_presence_setting),
        cmocka_unit_test(test_read_receipts_setting), cmocka_unit_test(test_contacts_option),
        cmocka_unit_test(test_block_and_contacts),    cmocka_unit_test(test_search_setting),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
