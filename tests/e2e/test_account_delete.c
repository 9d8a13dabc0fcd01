/* End-to-end tests of account deletion (DELETE /v1/me): the password check,
 * what goes (devices, sessions, profile, e-mail, contacts, blocks, group
 * memberships: an owned group passes on), what stays (messages, with their
 * sender), and the username: taken during account_delete_grace, free after. */
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

static long long q1(const mpt_server_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static long long q1(const mpt_server_t *s, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return db_count(s, sql);
}

static void test_delete_password_and_guests(void **state)
{
    (void)state;
    mpt_session_t a;
    assert_int_equal(mpt_user_new(srv, "dpw", &a), 0);
    EXPECT(400, "bad_request", srv, "DELETE", a.access, json_object(), "/v1/me");
    EXPECT(400, "bad_request", srv, "DELETE", a.access, json_pack("{s:i}", "password", 1),
           "/v1/me");
    EXPECT(401, "bad_credentials", srv, "DELETE", a.access,
           json_pack("{s:s}", "password", "wrong password"), "/v1/me");
    EXPECT(401, "unauthorized", srv, "DELETE", NULL, json_pack("{s:s}", "password", a.password),
           "/v1/me");
    /* Still alive after the refusals. */
    EXPECT(200, NULL, srv, "GET", a.access, NULL, "/v1/me");
    assert_int_equal(q1(srv, "SELECT deleted_at FROM users WHERE id = %s", a.user_id), 0);

    /* Guests expire anyway: they cannot delete (nor export). */
    mpt_session_t g;
    assert_int_equal(guest_new(srv, "Passing by", &g), 200);
    EXPECT(403, "guest_forbidden", srv, "DELETE", g.access,
           json_pack("{s:s}", "password", "whatever1"), "/v1/me");
    EXPECT(403, "guest_forbidden", srv, "GET", g.access, NULL, "/v1/me/export");
}

static void test_delete_account(void **state)
{
    (void)state;
    chat_dev_t a, a2, b, c;
    dev_new_user(srv, "dela", &a);
    dev_new_device(srv, &a, &a2);
    dev_new_user(srv, "delb", &b);
    dev_new_user(srv, "delc", &c);

    /* A direct conversation with messages from both sides. */
    char dm[24];
    assert_int_equal(direct_conv(srv, &a, b.s.user_id, dm), 201);
    send_text(&a, dm, "del-1", "hello from a", NULL);
    send_text(&b, dm, "del-2", "hello from b", NULL);
    send_text(&a, dm, "del-3", "bye from a", NULL);

    /* A group a owns (b and c are members) and one b owns with a in it. */
    char owned[24], other[24];
    assert_int_equal(group_create(srv, a.s.access, "A's group",
                                  ids_json(b.s.user_id, c.s.user_id, NULL), NULL, owned, NULL),
                     201);
    send_text(&a, owned, "del-g1", "in my group", NULL);
    assert_int_equal(
        group_create(srv, b.s.access, "B's group", ids_json(a.s.user_id, NULL), NULL, other, NULL),
        201);

    /* Contacts through their routes: a and b friends, c asked a. */
    EXPECT(200, NULL, srv, "POST", a.s.access, json_pack("{s:s}", "user_id", b.s.user_id),
           "/v1/contacts/requests");
    EXPECT(200, NULL, srv, "POST", b.s.access, NULL, "/v1/contacts/requests/%s/accept",
           a.s.user_id);
    EXPECT(200, NULL, srv, "POST", c.s.access, json_pack("{s:s}", "user_id", a.s.user_id),
           "/v1/contacts/requests");
    /* Blocks and an e-mail code, as their routes would store them (a blob
     * literal is the one spelling the two dialects do not share). */
    char sql[2048];
    snprintf(sql, sizeof sql,
             "UPDATE users SET email = 'a%s@example.org', bio = 'my bio', admin = 1 WHERE id = %s;"
             "INSERT INTO blocks(user_id, blocked_id, created_at) VALUES(%s, %s, 1), (%s, %s, 1);"
             "INSERT INTO email_codes(user_id, purpose, code_hash, expires_at, sent_at)"
             " VALUES(%s, 'verify', %s, 1, 1);",
             a.s.user_id, a.s.user_id, c.s.user_id, a.s.user_id, a.s.user_id, b.s.user_id,
             a.s.user_id, mpt_backend_pg() ? "'\\x00'::bytea" : "x'00'");
    db_exec(srv, sql);
    long long v0 = q1(srv, "SELECT max(version) FROM contacts");
    drop_events(b.ws);
    drop_events(c.ws);

    EXPECT(204, NULL, srv, "DELETE", a.s.access, json_pack("{s:s}", "password", a.s.password),
           "/v1/me");

    /* Every device: tokens refused, sockets closed with 1008, no login. */
    int code = 0;
    assert_int_equal(mpc_ws_wait_close(a.ws, MPT_TIMEOUT, &code, NULL), MPC_OK);
    assert_int_equal(code, 1008);
    assert_int_equal(mpc_ws_wait_close(a2.ws, MPT_TIMEOUT, &code, NULL), MPC_OK);
    assert_int_equal(code, 1008);
    dev_close(&a);
    dev_close(&a2);
    EXPECT(401, "unauthorized", srv, "GET", a.s.access, NULL, "/v1/me");
    EXPECT(401, "unauthorized", srv, "GET", a2.s.access, NULL, "/v1/me");
    EXPECT(401, "unauthorized", srv, "POST", NULL, json_pack("{s:s}", "refresh_token", a.s.refresh),
           "/v1/auth/refresh");
    EXPECT(401, "bad_credentials", srv, "POST", NULL,
           json_pack("{s:s,s:s}", "username", a.s.username, "password", a.s.password),
           "/v1/auth/login");
    EXPECT(401, "unauthorized", srv, "DELETE", a.s.access,
           json_pack("{s:s}", "password", a.s.password), "/v1/me");
    assert_int_equal(
        q1(srv, "SELECT count(*) FROM devices WHERE user_id = %s AND revoked_at = 0", a.s.user_id),
        0);
    assert_int_equal(q1(srv,
                        "SELECT count(*) FROM refresh_tokens WHERE device_id IN"
                        " (SELECT id FROM devices WHERE user_id = %s)",
                        a.s.user_id),
                     0);

    /* The profile is erased; the row stays (and its username, for now). */
    assert_int_equal(q1(srv,
                        "SELECT count(*) FROM users WHERE id = %s AND deleted_at > 0"
                        " AND display_name = 'Deleted account' AND bio = '' AND email IS NULL"
                        " AND password_hash = '' AND admin = 0 AND avatar_file_id = 0"
                        " AND username = '%s'",
                        a.s.user_id, a.s.username),
                     1);
    EXPECT(409, "username_taken", srv, "POST", NULL,
           json_pack("{s:s,s:s}", "username", a.s.username, "password", "another password"),
           "/v1/auth/register");

    /* Contacts: both sides at state 0 with a new version, the peers told
     * (events, lists); blocks and codes gone. */
    assert_int_equal(q1(srv,
                        "SELECT count(*) FROM contacts WHERE (user_id = %s OR peer_id = %s)"
                        " AND state <> 0",
                        a.s.user_id, a.s.user_id),
                     0);
    assert_int_equal(q1(srv,
                        "SELECT count(*) FROM contacts WHERE (user_id = %s OR peer_id = %s)"
                        " AND state = 0 AND version > %lld",
                        a.s.user_id, a.s.user_id, v0),
                     4);
    chat_dev_t *peers[] = {&b, &c};
    for (int i = 0; i < 2; i++) {
        json_t *ev = next_event(peers[i]->ws, "contact");
        json_t *ct = json_object_get(ev, "contact");
        assert_string_equal(jstr(ct, "state"), "none");
        assert_string_equal(jstr(json_object_get(ct, "user"), "user_id"), a.s.user_id);
        assert_string_equal(jstr(json_object_get(ct, "user"), "display_name"), "Deleted account");
        json_decref(ev);
    }
    json_t *list = EXPECT_BODY(200, NULL, srv, "GET", b.s.access, NULL, "/v1/contacts");
    assert_int_equal(json_array_size(json_object_get(list, "contacts")), 0);
    json_decref(list);
    list = EXPECT_BODY(200, NULL, srv, "GET", c.s.access, NULL,
                       "/v1/contacts/requests?direction=outgoing");
    assert_int_equal(json_array_size(json_object_get(list, "contacts")), 0);
    json_decref(list);
    /* The profile shows the deleted account. */
    json_t *prof =
        EXPECT_BODY(200, NULL, srv, "GET", b.s.access, NULL, "/v1/users/%s", a.s.user_id);
    assert_true(json_is_true(json_object_get(prof, "deleted")));
    assert_string_equal(jstr(prof, "display_name"), "Deleted account");
    assert_string_equal(jstr(prof, "bio"), "");
    json_decref(prof);
    assert_int_equal(q1(srv, "SELECT count(*) FROM blocks WHERE user_id = %s OR blocked_id = %s",
                        a.s.user_id, a.s.user_id),
                     0);
    assert_int_equal(q1(srv, "SELECT count(*) FROM email_codes WHERE user_id = %s", a.s.user_id),
                     0);

    /* The group a owned passed to a member, who is told. */
    json_t *g = EXPECT_BODY(200, NULL, srv, "GET", b.s.access, NULL, "/v1/groups/%s", owned);
    const char *owner = jstr(g, "owner_id");
    assert_non_null(owner);
    assert_true(strcmp(owner, b.s.user_id) == 0 || strcmp(owner, c.s.user_id) == 0);
    json_decref(g);
    /* Both groups' members are told: the owned one changed hands, and a
     * left b's group as a member leaving does (in either order). */
    bool handed = false, left = false;
    while (!handed || !left) {
        json_t *ev = next_event(b.ws, "message");
        json_t *one = json_array();
        json_array_append(one, json_object_get(ev, "message"));
        handed = handed || find_msg(one, owned, NULL, "ownership_transferred") != NULL;
        left = left || find_msg(one, other, NULL, "member_left") != NULL;
        json_decref(one);
        json_decref(ev);
    }
    assert_int_equal(q1(srv,
                        "SELECT count(*) FROM members WHERE user_id = %s AND conversation_id"
                        " IN (SELECT id FROM conversations WHERE kind = 'group')",
                        a.s.user_id),
                     0);

    /* Messages stay, with their sender: the peer's history still has them. */
    json_t *all = all_history(b.ws, dm);
    json_t *m = find_msg(all, dm, "hello from a", NULL);
    assert_non_null(m);
    assert_string_equal(jstr(m, "sender"), a.s.user_id);
    assert_non_null(find_msg(all, dm, "bye from a", NULL));
    assert_non_null(find_msg(all, dm, "hello from b", NULL));
    json_decref(all);
    all = all_history(c.ws, owned);
    assert_non_null(find_msg(all, owned, "in my group", NULL));
    json_decref(all);
    /* The direct conversation stays for the peer, who can no longer reach a
     * (a's devices are gone), but whose own account is untouched. A deleted
     * account takes no new messages: the answer of a "nobody" setting. */
    EXPECT(200, NULL, srv, "GET", b.s.access, NULL, "/v1/me");
    json_t *r = send_msg(b.ws, dm, NULL, "del-4", "are you there?");
    assert_err(r, "privacy_restricted");
    dev_close(&b);
    dev_close(&c);
}

static void test_username_grace(void **state)
{
    (void)state;
    /* A short grace: long enough to see the name taken right after the
     * deletion on a loaded machine, short enough for a test. */
    const char *flags[] = {CHAT_FLAGS, "--account_delete_grace", "2s", NULL};
    mpt_server_t *s2 = mpt_server_start(flags);
    assert_non_null(s2);
    mpt_session_t d;
    assert_int_equal(mpt_user_new(s2, "grace", &d), 0);
    EXPECT(204, NULL, s2, "DELETE", d.access, json_pack("{s:s}", "password", d.password), "/v1/me");
    EXPECT(409, "username_taken", s2, "POST", NULL,
           json_pack("{s:s,s:s}", "username", d.username, "password", "another password"),
           "/v1/auth/register");

    /* The sweep renames the account; then the name is anyone's. */
    long long t0 = mpt_mono_ms();
    while (q1(s2, "SELECT count(*) FROM users WHERE id = %s AND username = 'deleted_%s'", d.user_id,
              d.user_id) == 0) {
        assert_true(mpt_mono_ms() - t0 < 20000);
        sleep_ms(50);
    }
    long long after = mpt_mono_ms() - t0;
    fprintf(stderr, "username freed after %lld ms\n", after);
    char uid[24];
    assert_int_equal(mpt_register(s2, d.username, "a new owner's password", uid), 201);
    assert_string_not_equal(uid, d.user_id);
    /* The freed form cannot be registered by anyone. */
    char freed[40];
    snprintf(freed, sizeof freed, "deleted_%s", d.user_id);
    EXPECT(400, "bad_username", s2, "POST", NULL,
           json_pack("{s:s,s:s}", "username", freed, "password", "another password"),
           "/v1/auth/register");
    EXPECT(400, "bad_username", s2, "POST", NULL,
           json_pack("{s:s,s:s}", "username", "deleted_1", "password", "another password"),
           "/v1/auth/register");
    /* deleted_ followed by anything but digits is an ordinary name. */
    assert_int_equal(mpt_register(s2, "deleted_x1", "another password", NULL), 201);
    /* The new owner logs in; the deleted account stays deleted. */
    mpt_session_t n;
    assert_int_equal(mpt_login(s2, d.username, "a new owner's password", NULL, &n), 200);
    assert_string_equal(n.user_id, uid);
    assert_int_equal(q1(s2, "SELECT deleted_at > 0 FROM users WHERE id = %s", d.user_id), 1);
    assert_int_equal(mpt_server_stop(s2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delete_password_and_guests),
        cmocka_unit_test(test_delete_account),
        cmocka_unit_test(test_username_grace),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
