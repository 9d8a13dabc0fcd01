/* End-to-end tests of profiles and discovery: GET and PATCH /v1/me, GET
 * /v1/users/{id} and /v1/users/by-username/{name} with the caller's relation,
 * the profile_updated event and who gets it, user search (order, words, exclusions, privacy,
 * paging, rate limit), guests refused, and direct conversations by username (POST
 * /v1/conversations/direct and `send` with to_username). */
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

/* ---- helpers ----------------------------------------------------------------------- */

/* Registers `name` (exactly), logs in, and sets the display name when given. */
static void user_named(const char *name, const char *display, mpt_session_t *s)
{
    assert_int_equal(mpt_register(srv, name, "correct horse 1", NULL), 201);
    assert_int_equal(mpt_login(srv, name, "correct horse 1", NULL, s), 200);
    if (display != NULL)
        EXPECT(200, NULL, srv, "PATCH", s->access, json_pack("{s:s}", "display_name", display),
               "/v1/me");
}

/* a asks b to be friends and b accepts (the contact routes). */
static void make_friends(const mpt_session_t *a, const mpt_session_t *b)
{
    EXPECT(200, NULL, srv, "POST", a->access, json_pack("{s:s}", "user_id", b->user_id),
           "/v1/contacts/requests");
    EXPECT(200, NULL, srv, "POST", b->access, NULL, "/v1/contacts/requests/%s/accept", a->user_id);
}

/* The error message of a body, "" when none. */
static const char *err_msg(const json_t *body)
{
    const char *m = json_string_value(json_object_get(json_object_get(body, "error"), "message"));
    return m ? m : "";
}

/* An error whose message names the field: "'field'" appears in it. */
#define EXPECT_FIELD(st, code, field, ...)                                                         \
    do {                                                                                           \
        json_t *b_ = EXPECT_BODY(st, code, __VA_ARGS__);                                           \
        if (strstr(err_msg(b_), "'" field "'") == NULL)                                            \
            fail_msg("line %d: message \"%s\" does not name '%s'", __LINE__, err_msg(b_), field);  \
        json_decref(b_);                                                                           \
    } while (0)

/* GET /v1/users/search?<query>: the usernames found, in order, as one
 * comma-separated string, and the next cursor ("" at the end). */
static void search_names(const char *token, const char *query, char *out, size_t outlen,
                         char next[64])
{
    json_t *r = EXPECT_BODY(200, NULL, srv, "GET", token, NULL, "/v1/users/search?%s", query);
    json_t *users = json_object_get(r, "users");
    assert_true(json_is_array(users));
    out[0] = '\0';
    size_t i;
    json_t *u;
    json_array_foreach(users, i, u)
    {
        /* Every entry is a full profile. */
        assert_non_null(jstr(u, "user_id"));
        assert_non_null(jstr(u, "contact"));
        assert_true(json_is_boolean(json_object_get(u, "blocked")));
        snprintf(out + strlen(out), outlen - strlen(out), "%s%s", i ? "," : "",
                 jstr(u, "username"));
    }
    json_t *nc = json_object_get(r, "next_cursor");
    assert_true(json_is_null(nc) || json_is_string(nc));
    snprintf(next, 64, "%s", json_is_string(nc) ? json_string_value(nc) : "");
    json_decref(r);
}

/* ---- GET/PATCH /v1/me, GET /v1/users/... ------------------------------------------ */

static void test_me_and_profiles(void **state)
{
    (void)state;
    mpt_session_t al, bo;
    user_named("alma", NULL, &al);
    user_named("boris", NULL, &bo);

    json_t *me = EXPECT_BODY(200, NULL, srv, "GET", al.access, NULL, "/v1/me");
    assert_string_equal(jstr(me, "username"), "alma");
    assert_string_equal(jstr(me, "bio"), "");
    assert_true(json_is_null(json_object_get(me, "avatar_file_id")));
    assert_true(json_is_null(json_object_get(me, "email")));
    assert_true(json_is_false(json_object_get(me, "admin")));
    json_decref(me);

    json_t *p = EXPECT_BODY(
        200, NULL, srv, "PATCH", al.access,
        json_pack("{s:s,s:s}", "display_name", "  Alma Mater ", "bio", "first line\nsecond line"),
        "/v1/me");
    assert_string_equal(jstr(p, "user_id"), al.user_id);
    assert_string_equal(jstr(p, "display_name"), "Alma Mater"); /* trimmed */
    assert_string_equal(jstr(p, "bio"), "first line\nsecond line");
    assert_string_equal(jstr(p, "contact"), "none");
    assert_true(json_is_false(json_object_get(p, "blocked")));
    assert_true(json_is_false(json_object_get(p, "deleted")));
    assert_true(json_is_false(json_object_get(p, "guest")));
    assert_true(jint(p, "created_at") > 0);
    json_decref(p);
    me = EXPECT_BODY(200, NULL, srv, "GET", al.access, NULL, "/v1/me");
    assert_string_equal(jstr(me, "display_name"), "Alma Mater");
    assert_string_equal(jstr(me, "bio"), "first line\nsecond line");
    json_decref(me);

    /* Another user sees the profile, by id and by username (any case, '@'). */
    p = EXPECT_BODY(200, NULL, srv, "GET", bo.access, NULL, "/v1/users/%s", al.user_id);
    assert_string_equal(jstr(p, "username"), "alma");
    assert_string_equal(jstr(p, "bio"), "first line\nsecond line");
    assert_true(json_is_null(json_object_get(p, "avatar_file_id")));
    json_decref(p);
    p = EXPECT_BODY(200, NULL, srv, "GET", bo.access, NULL, "/v1/users/by-username/ALMA");
    assert_string_equal(jstr(p, "user_id"), al.user_id);
    json_decref(p);
    p = EXPECT_BODY(200, NULL, srv, "GET", bo.access, NULL, "/v1/users/by-username/%%40alma");
    assert_string_equal(jstr(p, "user_id"), al.user_id);
    json_decref(p);
    EXPECT(404, "not_found", srv, "GET", bo.access, NULL, "/v1/users/by-username/nobody_here");
    EXPECT(404, "not_found", srv, "GET", bo.access, NULL, "/v1/users/by-username/no!");
    EXPECT(404, "not_found", srv, "GET", bo.access, NULL, "/v1/users/123456789");
    EXPECT(404, "not_found", srv, "GET", bo.access, NULL, "/v1/users/abc");
    EXPECT(401, "unauthorized", srv, "GET", NULL, NULL, "/v1/users/%s", al.user_id);
    /* The presence route still answers beside /v1/users/{id}. */
    EXPECT(200, NULL, srv, "GET", bo.access, NULL, "/v1/users/%s/presence", al.user_id);
    /* A user named like a fixed segment is found by name. */
    mpt_session_t pr;
    user_named("presence", NULL, &pr);
    p = EXPECT_BODY(200, NULL, srv, "GET", bo.access, NULL, "/v1/users/by-username/presence");
    assert_string_equal(jstr(p, "user_id"), pr.user_id);
    json_decref(p);
}

static void test_patch_validation(void **state)
{
    (void)state;
    mpt_session_t u;
    user_named("valerie", NULL, &u);
    EXPECT(400, "bad_request", srv, "PATCH", u.access, json_object(), "/v1/me");
    EXPECT_FIELD(400, "bad_request", "display_name", srv, "PATCH", u.access,
                 json_pack("{s:s}", "display_name", "   "), "/v1/me");
    EXPECT_FIELD(400, "bad_request", "display_name", srv, "PATCH", u.access,
                 json_pack("{s:i}", "display_name", 5), "/v1/me");
    char name[66];
    memset(name, 'n', 65);
    name[65] = '\0';
    EXPECT_FIELD(400, "bad_request", "display_name", srv, "PATCH", u.access,
                 json_pack("{s:s}", "display_name", name), "/v1/me");
    EXPECT_FIELD(400, "bad_request", "display_name", srv, "PATCH", u.access,
                 json_pack("{s:s}", "display_name",
                           "a\xe2\x80\xae"
                           "b"),
                 "/v1/me");

    /* bio: 0..256 characters (not bytes), newlines allowed, no controls. */
    char bio[258 * 2];
    for (int i = 0; i < 257; i++)
        memcpy(bio + 2 * i, "\xc3\xa9", 2);
    bio[2 * 257] = '\0';
    EXPECT_FIELD(400, "bad_request", "bio", srv, "PATCH", u.access, json_pack("{s:s}", "bio", bio),
                 "/v1/me");
    bio[2 * 256] = '\0';
    json_t *p =
        EXPECT_BODY(200, NULL, srv, "PATCH", u.access, json_pack("{s:s}", "bio", bio), "/v1/me");
    assert_string_equal(jstr(p, "bio"), bio);
    json_decref(p);
    EXPECT_FIELD(400, "bad_request", "bio", srv, "PATCH", u.access,
                 json_pack("{s:s}", "bio", "bell\x07"), "/v1/me");
    p = EXPECT_BODY(200, NULL, srv, "PATCH", u.access, json_pack("{s:s}", "bio", ""), "/v1/me");
    assert_string_equal(jstr(p, "bio"), "");
    json_decref(p);

    /* avatar_file_id: an id that names no upload of the caller's is not found (see
     * test_files_access.c for real ones); null clears. */
    EXPECT_FIELD(404, "not_found", "avatar_file_id", srv, "PATCH", u.access,
                 json_pack("{s:s}", "avatar_file_id", "383208533019066368"), "/v1/me");
    EXPECT_FIELD(400, "bad_request", "avatar_file_id", srv, "PATCH", u.access,
                 json_pack("{s:i}", "avatar_file_id", 7), "/v1/me");
    EXPECT_FIELD(400, "bad_request", "avatar_file_id", srv, "PATCH", u.access,
                 json_pack("{s:s}", "avatar_file_id", "x1"), "/v1/me");
    p = EXPECT_BODY(200, NULL, srv, "PATCH", u.access, json_pack("{s:n}", "avatar_file_id"),
                    "/v1/me");
    assert_true(json_is_null(json_object_get(p, "avatar_file_id")));
    json_decref(p);
    /* Nothing was changed by the refused requests. */
    json_t *me = EXPECT_BODY(200, NULL, srv, "GET", u.access, NULL, "/v1/me");
    assert_string_equal(jstr(me, "display_name"), "valerie");
    json_decref(me);
}

/* ---- profile_updated ---------------------------------------------------------------- */

static void test_profile_updated_audience(void **state)
{
    (void)state;
    chat_dev_t a, a2, peer, friend, asker, stranger;
    user_named("evan", NULL, &a.s);
    dev_open(srv, &a);
    dev_new_device(srv, &a, &a2);
    user_named("evpeer", NULL, &peer.s);
    dev_open(srv, &peer);
    user_named("evfriend", NULL, &friend.s);
    dev_open(srv, &friend);
    user_named("evasker", NULL, &asker.s);
    dev_open(srv, &asker);
    user_named("evstranger", NULL, &stranger.s);
    dev_open(srv, &stranger);
    EXPECT(201, NULL, srv, "POST", a.s.access, json_pack("{s:s}", "user_id", peer.s.user_id),
           "/v1/conversations/direct");
    make_friends(&a.s, &friend.s);
    EXPECT(200, NULL, srv, "POST", asker.s.access, json_pack("{s:s}", "username", "evan"),
           "/v1/contacts/requests");
    /* The relation as each caller sees it. */
    json_t *p =
        EXPECT_BODY(200, NULL, srv, "GET", a.s.access, NULL, "/v1/users/%s", friend.s.user_id);
    assert_string_equal(jstr(p, "contact"), "friends");
    json_decref(p);
    p = EXPECT_BODY(200, NULL, srv, "GET", a.s.access, NULL, "/v1/users/%s", asker.s.user_id);
    assert_string_equal(jstr(p, "contact"), "incoming");
    json_decref(p);
    p = EXPECT_BODY(200, NULL, srv, "GET", asker.s.access, NULL, "/v1/users/by-username/evan");
    assert_string_equal(jstr(p, "contact"), "outgoing");
    json_decref(p);
    drop_events(asker.ws);
    drop_events(a.ws);
    drop_events(a2.ws);
    drop_events(peer.ws);
    drop_events(friend.ws);
    drop_events(stranger.ws);

    EXPECT(200, NULL, srv, "PATCH", a.s.access,
           json_pack("{s:s,s:s}", "display_name", "Evan Evans", "bio", "hello"), "/v1/me");
    chat_dev_t *told[] = {&a, &a2, &peer, &friend, &asker};
    for (size_t i = 0; i < sizeof told / sizeof told[0]; i++) {
        json_t *ev = next_event(told[i]->ws, "profile_updated");
        json_t *user = json_object_get(ev, "user");
        assert_string_equal(jstr(user, "user_id"), a.s.user_id);
        assert_string_equal(jstr(user, "username"), "evan");
        assert_string_equal(jstr(user, "display_name"), "Evan Evans");
        assert_string_equal(jstr(user, "bio"), "hello");
        /* The same frame for all: no viewer's relation in it. */
        assert_null(json_object_get(user, "contact"));
        json_decref(ev);
    }
    assert_int_equal(drain_events(stranger.ws, "profile_updated"), 0);
    dev_close(&a);
    dev_close(&a2);
    dev_close(&peer);
    dev_close(&friend);
    dev_close(&asker);
    dev_close(&stranger);
}

/* ---- search ---------------------------------------------------------------------------- */

static void test_search(void **state)
{
    (void)state;
    mpt_session_t me, pat, patx, patty, smith, hide, pfriend, g;
    user_named("seeker", NULL, &me);
    user_named("pat", NULL, &pat);
    user_named("pat_x", NULL, &patx);
    user_named("patty", NULL, &patty);
    user_named("zed1", "Pat Smith", &smith);
    user_named("pathide", NULL, &hide);
    user_named("patfriend", NULL, &pfriend);
    assert_int_equal(guest_new(srv, "Pat Guest", &g), 200);
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE users SET priv_search = 2 WHERE id = %s", hide.user_id);
    db_exec(srv, sql);
    snprintf(sql, sizeof sql, "UPDATE users SET priv_search = 1 WHERE id = %s", pfriend.user_id);
    db_exec(srv, sql);

    char got[512], next[64];
    /* Exact, then username prefixes by name ('_' sorts before letters),
     * then display-name words; never guests or users hidden by privacy. */
    search_names(me.access, "q=pat", got, sizeof got, next);
    assert_string_equal(got, "pat,pat_x,patty,zed1");
    assert_string_equal(next, "");
    search_names(me.access, "q=%40PAT", got, sizeof got, next);
    assert_string_equal(got, "pat,pat_x,patty,zed1");
    search_names(me.access, "q=smi%20pa", got, sizeof got, next);
    assert_string_equal(got, "zed1");
    search_names(me.access, "q=pat_", got, sizeof got, next);
    /* pat_x by username; by the word "pat" (display names default to the
     * username) the others, in id order. */
    assert_string_equal(got, "pat_x,pat,patty,zed1");

    /* "contacts": friends find them; "nobody": not even friends. */
    make_friends(&me, &pfriend);
    make_friends(&me, &hide);
    search_names(me.access, "q=pat", got, sizeof got, next);
    assert_string_equal(got, "pat,pat_x,patfriend,patty,zed1");
    search_names(pat.access, "q=patf", got, sizeof got, next);
    assert_string_equal(got, "");

    /* Paging with limit 2: the same sequence, across the two parts. */
    char all[512] = "", cursor[64] = "";
    for (int page = 0; page < 10; page++) {
        char q[128];
        snprintf(q, sizeof q, "q=pat&limit=2%s%s", cursor[0] ? "&cursor=" : "", cursor);
        search_names(me.access, q, got, sizeof got, next);
        snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", all[0] ? "," : "", got);
        if (next[0] == '\0')
            break;
        snprintf(cursor, sizeof cursor, "%s", next);
    }
    assert_string_equal(all, "pat,pat_x,patfriend,patty,zed1");

    /* Validation names the field. */
    EXPECT_FIELD(400, "bad_request", "q", srv, "GET", me.access, NULL, "/v1/users/search");
    EXPECT_FIELD(400, "bad_request", "q", srv, "GET", me.access, NULL, "/v1/users/search?q=");
    EXPECT_FIELD(400, "bad_request", "q", srv, "GET", me.access, NULL, "/v1/users/search?q=%%40");
    char longq[80];
    memset(longq, 'p', 65);
    longq[65] = '\0';
    EXPECT_FIELD(400, "bad_request", "q", srv, "GET", me.access, NULL, "/v1/users/search?q=%s",
                 longq);
    longq[64] = '\0';
    EXPECT(200, NULL, srv, "GET", me.access, NULL, "/v1/users/search?q=%s", longq);
    EXPECT_FIELD(400, "bad_request", "limit", srv, "GET", me.access, NULL,
                 "/v1/users/search?q=pat&limit=0");
    EXPECT_FIELD(400, "bad_request", "limit", srv, "GET", me.access, NULL,
                 "/v1/users/search?q=pat&limit=51");
    EXPECT_FIELD(400, "bad_request", "limit", srv, "GET", me.access, NULL,
                 "/v1/users/search?q=pat&limit=2x");
    EXPECT_FIELD(400, "bad_request", "cursor", srv, "GET", me.access, NULL,
                 "/v1/users/search?q=pat&cursor=zzz");
    EXPECT(405, "method_not_allowed", srv, "POST", me.access, json_object(), "/v1/users/search");
}

static void test_search_rate_limit(void **state)
{
    (void)state;
    mpt_session_t u, other;
    user_named("ratey", NULL, &u);
    user_named("ratey2", NULL, &other);
    /* A burst of 30, then one a second: 40 quick searches meet the limit. */
    bool limited = false;
    for (int i = 0; i < 40 && !limited; i++) {
        mpc_response_t r;
        int st = mpt_http(srv, "GET", "/v1/users/search?q=rat", u.access, NULL, &r);
        if (st == 429) {
            assert_string_equal(mpc_response_error_code(&r), "rate_limited");
            assert_non_null(mpc_response_header(&r, "Retry-After"));
            limited = true;
        } else {
            assert_int_equal(st, 200);
        }
        mpc_response_free(&r);
    }
    assert_true(limited);
    /* Per user: another user is not held back. */
    EXPECT(200, NULL, srv, "GET", other.access, NULL, "/v1/users/search?q=rat");
}

/* ---- guests ------------------------------------------------------------------------------ */

static void test_guests_refused(void **state)
{
    (void)state;
    mpt_session_t g, u;
    assert_int_equal(guest_new(srv, "Visitor", &g), 200);
    user_named("hostess", NULL, &u);
    EXPECT(403, "guest_forbidden", srv, "PATCH", g.access, json_pack("{s:s}", "bio", "x"),
           "/v1/me");
    EXPECT(403, "guest_forbidden", srv, "GET", g.access, NULL, "/v1/users/%s", u.user_id);
    EXPECT(403, "guest_forbidden", srv, "GET", g.access, NULL, "/v1/users/by-username/hostess");
    EXPECT(403, "guest_forbidden", srv, "GET", g.access, NULL, "/v1/users/search?q=host");
    json_t *me = EXPECT_BODY(200, NULL, srv, "GET", g.access, NULL, "/v1/me");
    assert_true(json_is_true(json_object_get(me, "guest")));
    assert_string_equal(jstr(me, "bio"), "");
    json_decref(me);
    /* A guest's profile is public to users, marked as a guest. */
    json_t *p = EXPECT_BODY(200, NULL, srv, "GET", u.access, NULL, "/v1/users/%s", g.user_id);
    assert_true(json_is_true(json_object_get(p, "guest")));
    json_decref(p);
}

/* ---- direct conversations by username ------------------------------------------------- */

static void test_direct_by_username(void **state)
{
    (void)state;
    chat_dev_t a, b, c;
    user_named("dora", NULL, &a.s);
    dev_open(srv, &a);
    user_named("dmitri", NULL, &b.s);
    user_named("dolly", NULL, &c.s);
    mpt_session_t g;
    assert_int_equal(guest_new(srv, "Guest D", &g), 200);

    json_t *d = EXPECT_BODY(201, NULL, srv, "POST", a.s.access,
                            json_pack("{s:s}", "username", "Dmitri"), "/v1/conversations/direct");
    char conv[24];
    snprintf(conv, sizeof conv, "%s", jstr(d, "conversation_id"));
    assert_string_equal(jstr(d, "peer"), b.s.user_id);
    json_decref(d);
    d = EXPECT_BODY(200, NULL, srv, "POST", a.s.access, json_pack("{s:s}", "user_id", b.s.user_id),
                    "/v1/conversations/direct");
    assert_string_equal(jstr(d, "conversation_id"), conv);
    json_decref(d);
    EXPECT_FIELD(404, "not_found", "username", srv, "POST", a.s.access,
                 json_pack("{s:s}", "username", "nobody_here"), "/v1/conversations/direct");
    EXPECT_FIELD(404, "not_found", "username", srv, "POST", a.s.access,
                 json_pack("{s:s}", "username", "no way"), "/v1/conversations/direct");
    EXPECT_FIELD(400, "bad_request", "username", srv, "POST", a.s.access,
                 json_pack("{s:s}", "username", "dora"), "/v1/conversations/direct");
    char gname[64];
    snprintf(gname, sizeof gname, "guest_%s", g.user_id);
    EXPECT_FIELD(403, "guest_forbidden", "username", srv, "POST", a.s.access,
                 json_pack("{s:s}", "username", gname), "/v1/conversations/direct");
    EXPECT_FIELD(400, "bad_request", "username", srv, "POST", a.s.access,
                 json_pack("{s:s,s:s}", "username", "dmitri", "user_id", b.s.user_id),
                 "/v1/conversations/direct");
    EXPECT_FIELD(400, "bad_request", "user_id", srv, "POST", a.s.access, json_object(),
                 "/v1/conversations/direct");

    /* send with to_username: the same pair's conversation, or a new one. */
    json_t *r = call(
        a.ws, "send",
        json_pack("{s:s,s:s,s:s}", "client_msg_id", "tu-1", "text", "hi", "to_username", "DMITRI"));
    assert_true(is_ok(r));
    assert_string_equal(jstr(r, "conversation"), conv);
    json_decref(r);
    r = call(
        a.ws, "send",
        json_pack("{s:s,s:s,s:s}", "client_msg_id", "tu-2", "text", "hi", "to_username", "@dolly"));
    assert_true(is_ok(r));
    assert_string_not_equal(jstr(r, "conversation"), conv);
    json_decref(r);
    r = call(a.ws, "send",
             json_pack("{s:s,s:s,s:s}", "client_msg_id", "tu-3", "text", "hi", "to_username",
                       "nobody_here"));
    assert_non_null(strstr(err_msg(r), "'to_username'"));
    assert_err(r, "not_found");
    r = call(
        a.ws, "send",
        json_pack("{s:s,s:s,s:s}", "client_msg_id", "tu-4", "text", "hi", "to_username", "dora"));
    assert_non_null(strstr(err_msg(r), "'to_username'"));
    assert_err(r, "bad_request");
    r = call(
        a.ws, "send",
        json_pack("{s:s,s:s,s:s}", "client_msg_id", "tu-5", "text", "hi", "to_username", gname));
    assert_non_null(strstr(err_msg(r), "'to_username'"));
    assert_err(r, "guest_forbidden");
    r = call(a.ws, "send",
             json_pack("{s:s,s:s,s:s,s:s}", "client_msg_id", "tu-6", "text", "hi", "to_username",
                       "dmitri", "to", b.s.user_id));
    assert_non_null(strstr(err_msg(r), "'to_username'"));
    assert_err(r, "bad_request");
    r = call(a.ws, "send",
             json_pack("{s:s,s:s,s:s,s:s}", "client_msg_id", "tu-7", "text", "hi", "to_username",
                       "dmitri", "conversation", conv));
    assert_err(r, "bad_request");
    dev_close(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_me_and_profiles),          cmocka_unit_test(test_patch_validation),
        cmocka_unit_test(test_profile_updated_audience), cmocka_unit_test(test_search),
        cmocka_unit_test(test_search_rate_limit),        cmocka_unit_test(test_guests_refused),
        cmocka_unit_test(test_direct_by_username),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
