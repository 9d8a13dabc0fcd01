/* Authorisation of every verb and route that acts on an existing message or
 * on the caller's own view of a conversation: react, unreact, reactions,
 * pin, unpin, conversation_update / _clear / _delete, search, edit, delete
 * and forward, and their HTTP routes. A non-member, anyone naming an unknown
 * conversation, and a kicked member get not_member (like send and history);
 * a message id that is not of the conversation gets not_found; a guest gets
 * guest_forbidden outside the world room. */
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
    const char *flags[] = {CHAT_FLAGS, "--guests", "write", NULL};
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

static int status_of(const char *code)
{
    if (strcmp(code, "not_found") == 0)
        return 404;
    return 403; /* not_member, guest_forbidden */
}

/* Every verb naming a message (conv, mid) answers `code` to d. */
static void verbs_refused(chat_dev_t *d, const char *conv, const char *mid, const char *code)
{
    const char *two = "{s:s,s:s}", *three = "{s:s,s:s,s:s}";
    assert_err(call(d->ws, "react",
                    json_pack(three, "conversation", conv, "message_id", mid, "emoji", "👍")),
               code);
    assert_err(call(d->ws, "unreact",
                    json_pack(three, "conversation", conv, "message_id", mid, "emoji", "👍")),
               code);
    assert_err(call(d->ws, "reactions",
                    json_pack(three, "conversation", conv, "message_id", mid, "emoji", "👍")),
               code);
    assert_err(call(d->ws, "pin", json_pack(two, "conversation", conv, "message_id", mid)), code);
    assert_err(call(d->ws, "unpin", json_pack(two, "conversation", conv, "message_id", mid)), code);
    assert_err(call(d->ws, "edit",
                    json_pack(three, "conversation", conv, "message_id", mid, "text", "changed")),
               code);
    assert_err(call(d->ws, "delete",
                    json_pack(three, "conversation", conv, "message_id", mid, "for", "everyone")),
               code);
    assert_err(call(d->ws, "delete",
                    json_pack(three, "conversation", conv, "message_id", mid, "for", "me")),
               code);
}

/* The verbs and routes that name only the conversation answer `code`. */
static void conv_refused(chat_dev_t *d, const char *conv, const char *code)
{
    int st = status_of(code);
    assert_err(call(d->ws, "conversation_update",
                    json_pack("{s:s,s:b}", "conversation", conv, "archived", 1)),
               code);
    assert_err(call(d->ws, "conversation_clear", json_pack("{s:s}", "conversation", conv)), code);
    assert_err(call(d->ws, "conversation_delete", json_pack("{s:s}", "conversation", conv)), code);
    assert_err(
        call(d->ws, "search", json_pack("{s:s,s:s}", "query", "secret", "conversation", conv)),
        code);
    EXPECT(st, code, srv, "GET", d->s.access, NULL, "/v1/conversations/%s/pins", conv);
    EXPECT(st, code, srv, "PATCH", d->s.access, json_pack("{s:b}", "pinned", 1),
           "/v1/conversations/%s", conv);
    EXPECT(st, code, srv, "POST", d->s.access, NULL, "/v1/conversations/%s/clear", conv);
    EXPECT(st, code, srv, "DELETE", d->s.access, NULL, "/v1/conversations/%s", conv);
    EXPECT(st, code, srv, "GET", d->s.access, NULL, "/v1/search?q=secret&conversation=%s", conv);
}

/* Everything of (conv, mid) refused with `code`, over WebSocket and HTTP. */
/* Someone to forward to (not the caller). */
static char forward_to[24];

static void all_refused(chat_dev_t *d, const char *conv, const char *mid, const char *code)
{
    conv_refused(d, conv, code);
    EXPECT(status_of(code), code, srv, "GET", d->s.access, NULL,
           "/v1/conversations/%s/messages/%s/reactions?emoji=%%F0%%9F%%91%%8D", conv, mid);
    verbs_refused(d, conv, mid, code);
    /* Forwarding out of it: the source is refused. */
    json_t *f = json_pack("{s:s,s:[s],s:s,s:s}", "from", conv, "message_ids", mid, "to", forward_to,
                          "client_msg_id", "fw-intruder");
    json_t *r = call(d->ws, "forward", f);
    if (strcmp(code, "guest_forbidden") == 0)
        assert_err(r, code);
    else
        assert_err(r, "not_member");
}

static void test_non_member_and_unknown(void **state)
{
    (void)state;
    chat_dev_t a, b, c;
    dev_new_user(srv, "mauth", &a);
    dev_new_user(srv, "mauth", &b);
    dev_new_user(srv, "mauth", &c);
    char ab[24], ac[24], mid[24], other[24];
    assert_int_equal(direct_conv(srv, &a, b.s.user_id, ab), 201);
    assert_int_equal(direct_conv(srv, &a, c.s.user_id, ac), 201);
    send_text(&a, ab, "s1", "secret for bob", mid);
    send_text(&a, ac, "s2", "hello carol", other);
    snprintf(forward_to, sizeof forward_to, "%s", a.s.user_id);

    /* Carol is not a member of ab; an unknown conversation id is the same. */
    all_refused(&c, ab, mid, "not_member");
    all_refused(&c, "987654321987", mid, "not_member");
    /* A message of another conversation named in one's own: not found. */
    verbs_refused(&c, ac, mid, "not_found");
    verbs_refused(&c, ac, "987654321987", "not_found");
    EXPECT(404, "not_found", srv, "GET", c.s.access, NULL,
           "/v1/conversations/%s/messages/%s/reactions?emoji=%%F0%%9F%%91%%8D", ac, mid);
    json_t *r = call(c.ws, "forward",
                     json_pack("{s:s,s:[s],s:s,s:s}", "from", ac, "message_ids", mid, "to",
                               b.s.user_id, "client_msg_id", "fw-foreign"));
    assert_err(r, "not_found");
    /* Nothing reached Bob. */
    assert_int_equal(drain_events(b.ws, "reaction"), 0);
    assert_int_equal(drain_events(b.ws, "pinned"), 0);
    dev_close(&a);
    dev_close(&b);
    dev_close(&c);
}

static void test_kicked_member(void **state)
{
    (void)state;
    chat_dev_t o, k;
    dev_new_user(srv, "mkick", &o);
    dev_new_user(srv, "mkick", &k);
    char g[24], mid[24];
    assert_int_equal(
        group_create(srv, o.s.access, "team", ids_json(k.s.user_id, NULL), NULL, g, NULL), 201);
    send_text(&o, g, "g1", "before the kick", mid);
    snprintf(forward_to, sizeof forward_to, "%s", o.s.user_id);
    /* While a member, the reads work. */
    json_t *r =
        call(k.ws, "reactions",
             json_pack("{s:s,s:s,s:s}", "conversation", g, "message_id", mid, "emoji", "👍"));
    assert_true(is_ok(r));
    json_decref(r);
    EXPECT(204, NULL, srv, "DELETE", o.s.access, NULL, "/v1/groups/%s/members/%s", g, k.s.user_id);
    all_refused(&k, g, mid, "not_member");
    dev_close(&o);
    dev_close(&k);
}

static void test_guest(void **state)
{
    (void)state;
    chat_dev_t a, b, gd;
    dev_new_user(srv, "mguest", &a);
    dev_new_user(srv, "mguest", &b);
    char ab[24], mid[24];
    assert_int_equal(direct_conv(srv, &a, b.s.user_id, ab), 201);
    send_text(&a, ab, "s1", "not for guests", mid);
    snprintf(forward_to, sizeof forward_to, "%s", a.s.user_id);
    assert_int_equal(guest_new(srv, "Visitor", &gd.s), 200);
    dev_open(srv, &gd);
    all_refused(&gd, ab, mid, "guest_forbidden");
    /* A search without a conversation is outside the world too. */
    assert_err(call(gd.ws, "search", json_pack("{s:s}", "query", "guests")), "guest_forbidden");
    EXPECT(403, "guest_forbidden", srv, "GET", gd.s.access, NULL, "/v1/search?q=guests");

    /* In the world room a guest may react, list reactors and search, but
     * not pin nor keep settings. */
    json_t *w = EXPECT_BODY(200, NULL, srv, "GET", a.s.access, NULL, "/v1/world");
    char world[24], wmid[24];
    snprintf(world, sizeof world, "%s", jstr(w, "conversation_id"));
    json_decref(w);
    send_text(&a, world, "w1", "world news", wmid);
    json_t *r =
        call(gd.ws, "react",
             json_pack("{s:s,s:s,s:s}", "conversation", world, "message_id", wmid, "emoji", "🎉"));
    assert_true(is_ok(r));
    json_decref(r);
    r = call(gd.ws, "reactions",
             json_pack("{s:s,s:s,s:s}", "conversation", world, "message_id", wmid, "emoji", "🎉"));
    assert_true(is_ok(r));
    json_decref(r);
    r = call(gd.ws, "search", json_pack("{s:s,s:s}", "query", "world news", "conversation", world));
    assert_true(is_ok(r));
    json_decref(r);
    json_decref(EXPECT_BODY(200, NULL, srv, "GET", gd.s.access, NULL,
                            "/v1/search?q=news&conversation=%s", world));
    assert_err(
        call(gd.ws, "pin", json_pack("{s:s,s:s}", "conversation", world, "message_id", wmid)),
        "guest_forbidden");
    assert_err(call(gd.ws, "conversation_update",
                    json_pack("{s:s,s:i}", "conversation", world, "muted_until", -1)),
               "guest_forbidden");
    EXPECT(403, "guest_forbidden", srv, "GET", gd.s.access, NULL, "/v1/conversations/%s/pins",
           world);
    dev_close(&a);
    dev_close(&b);
    dev_close(&gd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_non_member_and_unknown),
        cmocka_unit_test(test_kicked_member),
        cmocka_unit_test(test_guest),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
