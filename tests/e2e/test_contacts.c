/* End-to-end tests of contacts (docs/protocol.md "Contacts"): a request and
 * its accept with `contact` events to every device of both users, each with
 * its own side; repeats that change nothing and send nothing (checked by a
 * later change's event arriving first); a request to someone who asked
 * first is an accept; decline, cancel and remove; the lists and their
 * paging; `sync` bringing the changes to a device that was offline, once; a
 * request to someone who blocked the requester never reaching them, a
 * block ending a friendship; the
 * validation errors naming their field, and guests refused. */
#include <setjmp.h>
#include <stdarg.h>
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

/* ---- helpers ------------------------------------------------------------------------------ */

/* POST /v1/contacts/requests naming the peer by id; returns the body. */
static json_t *request(const chat_dev_t *from, const char *peer_id, int want_st)
{
    return EXPECT_BODY(want_st, NULL, srv, "POST", from->s.access,
                       json_pack("{s:s}", "user_id", peer_id), "/v1/contacts/requests");
}

/* Asserts an entry: the other user, the state, and (when non-NULL) the
 * message. */
static void assert_entry(const json_t *c, const char *peer_id, const char *state, const char *msg)
{
    assert_non_null(c);
    const json_t *u = json_object_get(c, "user");
    assert_non_null(jstr(u, "user_id"));
    assert_string_equal(jstr(u, "user_id"), peer_id);
    assert_non_null(jstr(u, "username"));
    assert_non_null(jstr(u, "display_name"));
    assert_string_equal(jstr(c, "state"), state);
    if (msg)
        assert_string_equal(jstr(c, "message"), msg);
    assert_true(json_is_integer(json_object_get(c, "created_at")));
    assert_true(json_is_integer(json_object_get(c, "updated_at")));
}

/* The answer of a change: {"contact":entry,"changed":bool}. */
static void assert_answer(json_t *body, const char *peer_id, const char *state, bool changed)
{
    assert_non_null(body);
    assert_entry(json_object_get(body, "contact"), peer_id, state, NULL);
    assert_true(json_is_boolean(json_object_get(body, "changed")));
    assert_int_equal(json_is_true(json_object_get(body, "changed")), changed);
    json_decref(body);
}

/* The next `contact` event on ws must be about peer in this state (other
 * kinds of events are skipped; a bounded wait). */
static void expect_contact_event(chat_dev_t *d, const char *peer_id, const char *state)
{
    json_t *ev = next_event(d->ws, "contact");
    assert_entry(json_object_get(ev, "contact"), peer_id, state, NULL);
    json_decref(ev);
}

/* The entries of a list route (caller decrefs the body, *arr is borrowed). */
static json_t *list_body(const chat_dev_t *d, const char *path, json_t **arr)
{
    json_t *b = EXPECT_BODY(200, NULL, srv, "GET", d->s.access, NULL, "%s", path);
    *arr = json_object_get(b, "contacts");
    assert_true(json_is_array(*arr));
    return b;
}

/* Number of entries of a list route. */
static size_t list_len(const chat_dev_t *d, const char *path)
{
    json_t *arr;
    json_t *b = list_body(d, path, &arr);
    size_t n = json_array_size(arr);
    json_decref(b);
    return n;
}

/* Runs `sync` from cursor until has_more is false, collecting the contact
 * entries into contacts. */
static void sync_contacts(chat_dev_t *d, char cursor[32], json_t *contacts)
{
    for (int pages = 0; pages < 100; pages++) {
        json_t *r = call(d->ws, "sync", json_pack("{s:s,s:i}", "since", cursor, "limit", 1));
        assert_true(is_ok(r));
        json_t *c = json_object_get(r, "contacts");
        assert_true(json_is_array(c));
        json_array_extend(contacts, c);
        snprintf(cursor, 32, "%s", jstr(r, "cursor"));
        bool more = json_is_true(json_object_get(r, "has_more"));
        json_decref(r);
        if (!more)
            return;
    }
    fail_msg("sync did not end");
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_request_accept_remove_events(void **state)
{
    (void)state;
    chat_dev_t a1, a2, b1;
    dev_new_user(srv, "ca", &a1);
    dev_new_device(srv, &a1, &a2);
    dev_new_user(srv, "cb", &b1);
    const char *A = a1.s.user_id, *B = b1.s.user_id;

    /* by username, with a message */
    json_t *body = EXPECT_BODY(
        200, NULL, srv, "POST", a1.s.access,
        json_pack("{s:s,s:s}", "username", b1.s.username, "message", "hi, it's A\nfrom the meetup"),
        "/v1/contacts/requests");
    assert_entry(json_object_get(body, "contact"), B, "outgoing", "hi, it's A\nfrom the meetup");
    assert_string_equal(jstr(json_object_get(json_object_get(body, "contact"), "user"), "username"),
                        b1.s.username);
    assert_answer(body, B, "outgoing", true);
    /* every device of both users, each with its own side */
    expect_contact_event(&a1, B, "outgoing");
    expect_contact_event(&a2, B, "outgoing");
    json_t *ev = next_event(b1.ws, "contact");
    assert_entry(json_object_get(ev, "contact"), A, "incoming", "hi, it's A\nfrom the meetup");
    json_decref(ev);

    /* a repeat (by id this time) changes nothing and sends nothing: the
     * accept's event is the next one everywhere */
    assert_answer(request(&a1, B, 200), B, "outgoing", false);
    assert_answer(EXPECT_BODY(200, NULL, srv, "POST", b1.s.access, NULL,
                              "/v1/contacts/requests/%s/accept", A),
                  A, "friends", true);
    expect_contact_event(&a1, B, "friends");
    expect_contact_event(&a2, B, "friends");
    expect_contact_event(&b1, A, "friends");

    /* accepting again or asking again: nothing; then the removal is next */
    assert_answer(EXPECT_BODY(200, NULL, srv, "POST", b1.s.access, NULL,
                              "/v1/contacts/requests/%s/accept", A),
                  A, "friends", false);
    assert_answer(request(&b1, A, 200), A, "friends", false);
    json_t *arr;
    json_t *lb = list_body(&a1, "/v1/contacts", &arr);
    assert_int_equal(json_array_size(arr), 1);
    assert_entry(json_array_get(arr, 0), B, "friends", NULL);
    assert_true(json_is_null(json_object_get(lb, "next_cursor")));
    json_decref(lb);
    assert_answer(EXPECT_BODY(200, NULL, srv, "DELETE", a2.s.access, NULL, "/v1/contacts/%s", B), B,
                  "none", true);
    expect_contact_event(&a1, B, "none");
    expect_contact_event(&a2, B, "none");
    expect_contact_event(&b1, A, "none");
    assert_answer(EXPECT_BODY(200, NULL, srv, "DELETE", a2.s.access, NULL, "/v1/contacts/%s", B), B,
                  "none", false);
    assert_int_equal(list_len(&a1, "/v1/contacts"), 0);
    assert_int_equal(list_len(&b1, "/v1/contacts"), 0);
    /* nothing else was sent */
    assert_int_equal(drain_events(a1.ws, "contact"), 0);
    assert_int_equal(drain_events(b1.ws, "contact"), 0);
    dev_close(&a1);
    dev_close(&a2);
    dev_close(&b1);
}

static void test_request_to_one_who_asked_accepts(void **state)
{
    (void)state;
    chat_dev_t a, b;
    dev_new_user(srv, "cx", &a);
    dev_new_user(srv, "cy", &b);
    assert_answer(request(&a, b.s.user_id, 200), b.s.user_id, "outgoing", true);
    expect_contact_event(&b, a.s.user_id, "incoming");
    assert_answer(request(&b, a.s.user_id, 200), a.s.user_id, "friends", true);
    expect_contact_event(&a, b.s.user_id, "outgoing");
    expect_contact_event(&a, b.s.user_id, "friends");
    expect_contact_event(&b, a.s.user_id, "friends");
    assert_int_equal(list_len(&a, "/v1/contacts"), 1);
    assert_int_equal(list_len(&a, "/v1/contacts/requests?direction=outgoing"), 0);
    assert_int_equal(list_len(&b, "/v1/contacts/requests?direction=incoming"), 0);
    dev_close(&a);
    dev_close(&b);
}

static void test_decline_and_cancel(void **state)
{
    (void)state;
    chat_dev_t a, b;
    dev_new_user(srv, "cd", &a);
    dev_new_user(srv, "ce", &b);
    const char *A = a.s.user_id, *B = b.s.user_id;
    json_decref(request(&a, B, 200));
    expect_contact_event(&a, B, "outgoing");
    expect_contact_event(&b, A, "incoming");
    /* the requester cannot accept or decline their own request */
    EXPECT(404, "not_found", srv, "POST", a.s.access, NULL, "/v1/contacts/requests/%s/accept", B);
    EXPECT(404, "not_found", srv, "POST", a.s.access, NULL, "/v1/contacts/requests/%s/decline", B);
    EXPECT(404, "not_found", srv, "DELETE", b.s.access, NULL, "/v1/contacts/requests/%s", A);
    EXPECT(404, "not_found", srv, "DELETE", a.s.access, NULL, "/v1/contacts/%s", B);
    assert_answer(EXPECT_BODY(200, NULL, srv, "POST", b.s.access, NULL,
                              "/v1/contacts/requests/%s/decline", A),
                  A, "none", true);
    expect_contact_event(&a, B, "none");
    expect_contact_event(&b, A, "none");
    assert_answer(EXPECT_BODY(200, NULL, srv, "POST", b.s.access, NULL,
                              "/v1/contacts/requests/%s/decline", A),
                  A, "none", false);
    /* asked again, then cancelled; the repeat of the cancel is silent */
    json_decref(request(&a, B, 200));
    assert_answer(
        EXPECT_BODY(200, NULL, srv, "DELETE", a.s.access, NULL, "/v1/contacts/requests/%s", B), B,
        "none", true);
    assert_answer(
        EXPECT_BODY(200, NULL, srv, "DELETE", a.s.access, NULL, "/v1/contacts/requests/%s", B), B,
        "none", false);
    expect_contact_event(&b, A, "incoming");
    expect_contact_event(&b, A, "none");
    assert_int_equal(drain_events(b.ws, "contact"), 0);
    assert_int_equal(list_len(&b, "/v1/contacts/requests?direction=incoming"), 0);
    dev_close(&a);
    dev_close(&b);
}

static void test_lists_and_paging(void **state)
{
    (void)state;
    enum { N = 5 };
    chat_dev_t me;
    dev_new_user(srv, "cl", &me);
    mpt_session_t fans[N];
    for (int i = 0; i < N; i++) {
        assert_int_equal(mpt_user_new(srv, "cf", &fans[i]), 0);
        chat_dev_t f = {.s = fans[i]};
        json_decref(request(&f, me.s.user_id, 200));
    }
    chat_dev_t out;
    dev_new_user(srv, "co", &out);
    json_decref(request(&me, out.s.user_id, 200));

    /* newest first, two per page, each once */
    char path[256] = "/v1/contacts/requests?direction=incoming&limit=2";
    int seen[N] = {0}, got = 0;
    for (int page = 0; page < 10; page++) {
        json_t *arr;
        json_t *b = list_body(&me, path, &arr);
        assert_true(json_array_size(arr) <= 2);
        size_t i;
        json_t *e;
        json_array_foreach(arr, i, e)
        {
            const char *id = jstr(json_object_get(e, "user"), "user_id");
            assert_string_equal(jstr(e, "state"), "incoming");
            int k = N - 1 - got; /* the last request is the newest */
            assert_string_equal(id, fans[k].user_id);
            seen[k]++;
            got++;
        }
        const char *next = jstr(b, "next_cursor");
        if (next == NULL) {
            json_decref(b);
            break;
        }
        snprintf(path, sizeof path, "/v1/contacts/requests?direction=incoming&limit=2&cursor=%s",
                 next);
        json_decref(b);
    }
    assert_int_equal(got, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    json_t *arr;
    json_t *b = list_body(&me, "/v1/contacts/requests?direction=outgoing", &arr);
    assert_int_equal(json_array_size(arr), 1);
    assert_entry(json_array_get(arr, 0), out.s.user_id, "outgoing", "");
    json_decref(b);
    assert_int_equal(list_len(&out, "/v1/contacts/requests?direction=incoming"), 1);
    assert_int_equal(list_len(&me, "/v1/contacts"), 0);

    EXPECT(400, "bad_request", srv, "GET", me.s.access, NULL, "/v1/contacts/requests");
    EXPECT(400, "bad_request", srv, "GET", me.s.access, NULL,
           "/v1/contacts/requests?direction=sideways");
    EXPECT(400, "bad_request", srv, "GET", me.s.access, NULL, "/v1/contacts?limit=0");
    EXPECT(400, "bad_request", srv, "GET", me.s.access, NULL, "/v1/contacts?limit=101");
    EXPECT(400, "bad_request", srv, "GET", me.s.access, NULL, "/v1/contacts?cursor=nope");
    dev_close(&me);
    dev_close(&out);
}

static void test_sync_brings_changes_to_offline_device(void **state)
{
    (void)state;
    chat_dev_t a1, a2, b, c;
    dev_new_user(srv, "cs", &a1);
    dev_new_device(srv, &a1, &a2);
    dev_new_user(srv, "ct", &b);
    dev_new_user(srv, "cu", &c);
    const char *A = a1.s.user_id;
    /* a2 takes a cursor and goes offline */
    char cursor[32] = "0";
    json_t *none = json_array();
    sync_contacts(&a2, cursor, none);
    assert_int_equal(json_array_size(none), 0);
    json_decref(none);
    dev_close(&a2);

    /* meanwhile: b asks a (accepted from a1), a asks c, c declines */
    json_decref(request(&b, A, 200));
    EXPECT(200, NULL, srv, "POST", a1.s.access, NULL, "/v1/contacts/requests/%s/accept",
           b.s.user_id);
    json_decref(request(&a1, c.s.user_id, 200));
    EXPECT(200, NULL, srv, "POST", c.s.access, NULL, "/v1/contacts/requests/%s/decline", A);

    /* a2 comes back: each relation once, in its current state (the ended
     * one as a tombstone), one item per page */
    dev_open(srv, &a2);
    json_t *got = json_array();
    sync_contacts(&a2, cursor, got);
    assert_int_equal(json_array_size(got), 2);
    size_t i;
    json_t *e;
    bool saw_b = false, saw_c = false;
    json_array_foreach(got, i, e)
    {
        const char *id = jstr(json_object_get(e, "user"), "user_id");
        if (strcmp(id, b.s.user_id) == 0) {
            assert_entry(e, b.s.user_id, "friends", NULL);
            saw_b = true;
        } else {
            assert_entry(e, c.s.user_id, "none", "");
            saw_c = true;
        }
    }
    assert_true(saw_b && saw_c);
    json_decref(got);
    /* and not again */
    got = json_array();
    sync_contacts(&a2, cursor, got);
    assert_int_equal(json_array_size(got), 0);
    json_decref(got);
    /* b's own sync shows its side */
    char bc[32] = "0";
    got = json_array();
    sync_contacts(&b, bc, got);
    assert_int_equal(json_array_size(got), 1);
    assert_entry(json_array_get(got, 0), A, "friends", NULL);
    json_decref(got);
    dev_close(&a1);
    dev_close(&a2);
    dev_close(&b);
    dev_close(&c);
}

/* blocker blocks blocked through POST /v1/blocks. */
static void block(const chat_dev_t *blocker, const char *blocked)
{
    EXPECT(204, NULL, srv, "POST", blocker->s.access, json_pack("{s:s}", "user_id", blocked),
           "/v1/blocks");
}

static void test_blocked_requester_never_reaches_blocker(void **state)
{
    (void)state;
    chat_dev_t a, b;
    dev_new_user(srv, "cv", &a);
    dev_new_user(srv, "cw", &b);
    const char *A = a.s.user_id, *B = b.s.user_id;
    block(&b, A);
    char bc[32] = "0";
    json_t *got = json_array();
    sync_contacts(&b, bc, got);
    json_decref(got);
    /* to a it looks like any request */
    json_t *body = EXPECT_BODY(200, NULL, srv, "POST", a.s.access,
                               json_pack("{s:s,s:s}", "user_id", B, "message", "hello?"),
                               "/v1/contacts/requests");
    assert_entry(json_object_get(body, "contact"), B, "outgoing", "hello?");
    assert_answer(body, B, "outgoing", true);
    expect_contact_event(&a, B, "outgoing");
    assert_int_equal(list_len(&a, "/v1/contacts/requests?direction=outgoing"), 1);
    /* b hears nothing: no event (a later change's event comes first), no
     * list entry, nothing in sync */
    chat_dev_t c;
    dev_new_user(srv, "cz", &c);
    json_decref(request(&c, B, 200));
    expect_contact_event(&b, c.s.user_id, "incoming");
    assert_int_equal(list_len(&b, "/v1/contacts/requests?direction=incoming"), 1);
    got = json_array();
    sync_contacts(&b, bc, got);
    assert_int_equal(json_array_size(got), 1);
    assert_entry(json_array_get(got, 0), c.s.user_id, "incoming", NULL);
    json_decref(got);
    EXPECT(404, "not_found", srv, "POST", b.s.access, NULL, "/v1/contacts/requests/%s/accept", A);
    dev_close(&a);
    dev_close(&b);
    dev_close(&c);
}

/* A block ends a friendship: both sides none, told to both users' devices
 * like a removal. */
static void test_block_ends_friendship(void **state)
{
    (void)state;
    chat_dev_t a, b;
    dev_new_user(srv, "ck", &a);
    dev_new_user(srv, "cj", &b);
    const char *A = a.s.user_id, *B = b.s.user_id;
    json_decref(request(&a, B, 200));
    EXPECT(200, NULL, srv, "POST", b.s.access, NULL, "/v1/contacts/requests/%s/accept", A);
    expect_contact_event(&a, B, "outgoing");
    expect_contact_event(&a, B, "friends");
    expect_contact_event(&b, A, "incoming");
    expect_contact_event(&b, A, "friends");
    block(&a, B);
    expect_contact_event(&a, B, "none");
    expect_contact_event(&b, A, "none");
    assert_int_equal(list_len(&a, "/v1/contacts"), 0);
    assert_int_equal(list_len(&b, "/v1/contacts"), 0);
    /* b's request now stays on b's side */
    assert_answer(request(&b, A, 200), A, "outgoing", true);
    expect_contact_event(&b, A, "outgoing");
    assert_int_equal(list_len(&a, "/v1/contacts/requests?direction=incoming"), 0);
    assert_int_equal(drain_events(a.ws, "contact"), 0);
    dev_close(&a);
    dev_close(&b);
}

static void test_validation_and_guests(void **state)
{
    (void)state;
    chat_dev_t a, b;
    dev_new_user(srv, "cq", &a);
    dev_new_user(srv, "cr", &b);
    const char *tok = a.s.access, *B = b.s.user_id;
    const char *path = "/v1/contacts/requests";
    json_t *r;
#define BAD(body, field)                                                                           \
    do {                                                                                           \
        r = EXPECT_BODY(400, "bad_request", srv, "POST", tok, body, "%s", path);                   \
        const char *m = jstr(json_object_get(r, "error"), "message");                              \
        if (m == NULL || strstr(m, field) == NULL)                                                 \
            fail_msg("the message \"%s\" does not name %s", m ? m : "", field);                    \
        json_decref(r);                                                                            \
    } while (0)
    BAD(json_object(), "'user_id'");
    BAD(json_pack("{s:s,s:s}", "user_id", B, "username", b.s.username), "'username'");
    BAD(json_pack("{s:s}", "user_id", "x12"), "'user_id'");
    BAD(json_pack("{s:i}", "user_id", 12), "'user_id'");
    BAD(json_pack("{s:s}", "user_id", a.s.user_id), "'user_id'");
    char long_msg[300];
    memset(long_msg, 'm', 257);
    long_msg[257] = '\0';
    BAD(json_pack("{s:s,s:s}", "user_id", B, "message", long_msg), "'message'");
    BAD(json_pack("{s:s,s:s}", "user_id", B, "message", "bell\a"), "'message'");
    BAD(json_pack("{s:s,s:i}", "user_id", B, "message", 5), "'message'");
    long_msg[256] = '\0'; /* 256 characters are fine */
    EXPECT(200, NULL, srv, "POST", tok, json_pack("{s:s,s:s}", "user_id", B, "message", long_msg),
           "%s", path);
    BAD(json_pack("{s:s}", "username", a.s.username), "'username'");
#undef BAD
    EXPECT(404, "not_found", srv, "POST", tok, json_pack("{s:s}", "username", "nobody_here_zz"),
           "%s", path);
    EXPECT(404, "not_found", srv, "POST", tok, json_pack("{s:s}", "user_id", "4242"), "%s", path);
    EXPECT(404, "not_found", srv, "POST", tok, NULL, "/v1/contacts/requests/abc/accept");
    EXPECT(404, "not_found", srv, "DELETE", tok, NULL, "/v1/contacts/abc");
    EXPECT(401, "unauthorized", srv, "GET", NULL, NULL, "/v1/contacts");

    /* guests: neither asking nor asked */
    mpt_session_t g;
    assert_int_equal(guest_new(srv, "Visitor", &g), 200);
    EXPECT(403, "guest_forbidden", srv, "POST", tok, json_pack("{s:s}", "user_id", g.user_id), "%s",
           path);
    const char *ga = g.access;
    EXPECT(403, "guest_forbidden", srv, "POST", ga, json_pack("{s:s}", "user_id", B), "%s", path);
    EXPECT(403, "guest_forbidden", srv, "GET", ga, NULL,
           "/v1/contacts/requests?direction=incoming");
    EXPECT(403, "guest_forbidden", srv, "POST", ga, NULL, "/v1/contacts/requests/%s/accept", B);
    EXPECT(403, "guest_forbidden", srv, "POST", ga, NULL, "/v1/contacts/requests/%s/decline", B);
    EXPECT(403, "guest_forbidden", srv, "DELETE", ga, NULL, "/v1/contacts/requests/%s", B);
    EXPECT(403, "guest_forbidden", srv, "GET", ga, NULL, "/v1/contacts");
    EXPECT(403, "guest_forbidden", srv, "DELETE", ga, NULL, "/v1/contacts/%s", B);
    assert_int_equal(list_len(&b, "/v1/contacts/requests?direction=incoming"), 1);
    dev_close(&a);
    dev_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_accept_remove_events),
        cmocka_unit_test(test_request_to_one_who_asked_accepts),
        cmocka_unit_test(test_decline_and_cancel),
        cmocka_unit_test(test_lists_and_paging),
        cmocka_unit_test(test_sync_brings_changes_to_offline_device),
        cmocka_unit_test(test_blocked_requester_never_reaches_blocker),
        cmocka_unit_test(test_block_ends_friendship),
        cmocka_unit_test(test_validation_and_guests),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
