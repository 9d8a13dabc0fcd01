/* End-to-end tests of the world room: GET /v1/world, posting and
 * reading without joining (and without member rows), live delivery to every
 * online user, absence from sync, and per-user slow mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_groups_util.h"

static mpt_server_t *srv;
static char world[24];

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

/* The world's id as announced to this session. */
static void get_world(const mpt_session_t *s)
{
    json_t *w = EXPECT_BODY(200, NULL, srv, "GET", s->access, NULL, "/v1/world");
    snprintf(world, sizeof world, "%s", jstr(w, "conversation_id"));
    json_decref(w);
}

/* The next message event in conv with this text (others skipped). */
static json_t *next_msg_with(mpc_ws_t *ws, const char *conv, const char *text)
{
    for (;;) {
        json_t *ev = next_event(ws, "message");
        json_t *m = json_object_get(ev, "message");
        if (strcmp(jstr(m, "conversation"), conv) == 0 && strcmp(jstr(m, "text"), text) == 0)
            return ev;
        json_decref(ev);
    }
}

static void test_world_info_and_persistence(void **state)
{
    (void)state;
    mpt_session_t a;
    assert_int_equal(mpt_user_new(srv, "wi", &a), 0);
    EXPECT(401, "unauthorized", srv, "GET", NULL, NULL, "/v1/world");
    json_t *w = EXPECT_BODY(200, NULL, srv, "GET", a.access, NULL, "/v1/world");
    assert_non_null(jstr(w, "conversation_id"));
    assert_string_equal(jstr(w, "kind"), "world");
    assert_string_equal(jstr(w, "title"), "World");
    assert_int_equal(jint(w, "slow_mode_ms"), 1000);
    assert_string_equal(jstr(w, "guests"), "write");
    char id[24];
    snprintf(id, sizeof id, "%s", jstr(w, "conversation_id"));
    json_decref(w);
    assert_int_equal(db_count(srv, "SELECT COUNT(*) FROM conversations WHERE kind='world'"), 1);

    /* The same room after a restart: created once. */
    assert_int_equal(mpt_server_restart(srv), 0);
    w = EXPECT_BODY(200, NULL, srv, "GET", a.access, NULL, "/v1/world");
    assert_string_equal(jstr(w, "conversation_id"), id);
    json_decref(w);
    assert_int_equal(db_count(srv, "SELECT COUNT(*) FROM conversations WHERE kind='world'"), 1);
}

static void test_post_read_without_joining(void **state)
{
    (void)state;
    chat_dev_t a, b, c;
    dev_new_user(srv, "wp", &a);
    dev_new_user(srv, "wp", &b);
    dev_new_user(srv, "wp", &c);
    get_world(&a.s);

    /* Three strangers: no conversation in common, all get world posts. */
    json_t *r = send_msg(a.ws, world, NULL, "w-a-1", "hello world from a");
    assert_true(is_ok(r));
    long long seq_a = jint(r, "seq");
    json_decref(r);
    json_t *ev = next_msg_with(b.ws, world, "hello world from a");
    json_t *m = json_object_get(ev, "message");
    assert_string_equal(jstr(m, "sender"), a.s.user_id);
    assert_int_equal(jint(m, "seq"), seq_a);
    assert_string_equal(jstr(m, "kind"), "text");
    assert_false(json_is_true(json_object_get(m, "sender_guest")));
    json_decref(ev);
    ev = next_msg_with(c.ws, world, "hello world from a");
    json_decref(ev);

    r = send_msg(b.ws, world, NULL, "w-b-1", "and from b");
    assert_true(is_ok(r));
    long long seq_b = jint(r, "seq");
    assert_true(seq_b > seq_a);
    json_decref(r);
    ev = next_msg_with(a.ws, world, "and from b");
    json_decref(ev);

    /* c never posted: history over WebSocket and HTTP, and read. */
    json_t *all = all_history(c.ws, world);
    assert_non_null(find_msg(all, world, "hello world from a", NULL));
    assert_non_null(find_msg(all, world, "and from b", NULL));
    json_decref(all);
    json_t *h = EXPECT_BODY(200, NULL, srv, "GET", c.s.access, NULL,
                            "/v1/conversations/%s/messages?limit=200", world);
    assert_non_null(find_msg(json_object_get(h, "messages"), world, "and from b", NULL));
    json_decref(h);
    r = call(c.ws, "read", json_pack("{s:s,s:I}", "conversation", world, "seq", (json_int_t)seq_b));
    assert_true(is_ok(r));
    json_decref(r);

    /* No member rows for the world. */
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM members WHERE conversation_id = %s", world);
    assert_int_equal(db_count(srv, sql), 0);

    /* The world is not in sync (clients use history for it). */
    char cursor[32] = "0";
    json_t *msgs = json_array(), *convs = json_array();
    assert_true(sync_until_done(c.ws, cursor, msgs, convs));
    assert_null(find_msg(msgs, world, NULL, NULL));
    size_t i;
    json_t *cv;
    json_array_foreach(convs, i, cv)
    {
        assert_string_not_equal(jstr(cv, "conversation_id"), world);
    }
    json_decref(msgs);
    json_decref(convs);

    /* Nor in the conversation list (documented: clients page it with
     * history). */
    json_t *list = EXPECT_BODY(200, NULL, srv, "GET", a.s.access, NULL, "/v1/conversations");
    json_array_foreach(json_object_get(list, "conversations"), i, cv)
    {
        assert_string_not_equal(jstr(cv, "conversation_id"), world);
    }
    json_decref(list);

    /* System messages cannot be posted there either. */
    json_t *f = json_pack("{s:s,s:s,s:s,s:s}", "conversation", world, "client_msg_id", "w-sys",
                          "text", "x", "kind", "system");
    assert_err(call(c.ws, "send", f), "bad_request");
    dev_close(&a);
    dev_close(&b);
    dev_close(&c);
}

static void test_slow_mode(void **state)
{
    (void)state;
    chat_dev_t d, e;
    dev_new_user(srv, "ws", &d);
    dev_new_user(srv, "ws", &e);
    get_world(&d.s);

    json_t *r = send_msg(d.ws, world, NULL, "slow-1", "first");
    assert_true(is_ok(r));
    json_decref(r);
    r = send_msg(d.ws, world, NULL, "slow-2", "second too soon");
    assert_string_equal(mpt_error_code(r), "slow_mode");
    json_t *err = json_object_get(r, "error");
    assert_true(json_is_integer(json_object_get(err, "retry_after_ms")));
    long long wait = jint(err, "retry_after_ms");
    assert_true(wait >= 1 && wait <= 1000);
    json_decref(r);

    /* Another user is not slowed down by d. */
    r = send_msg(e.ws, world, NULL, "slow-e", "e is free");
    assert_true(is_ok(r));
    json_decref(r);

    /* After the announced wait, d may post again (bounded retries). */
    long long deadline = mpt_mono_ms() + 5000;
    for (;;) {
        sleep_ms((long)wait); /* the server asked for this wait */
        r = send_msg(d.ws, world, NULL, "slow-3", "second, later");
        if (is_ok(r)) {
            json_decref(r);
            break;
        }
        assert_string_equal(mpt_error_code(r), "slow_mode");
        wait = jint(json_object_get(r, "error"), "retry_after_ms");
        json_decref(r);
        assert_true(mpt_mono_ms() < deadline);
    }
    /* The refused post was not stored. */
    json_t *all = all_history(e.ws, world);
    assert_null(find_msg(all, world, "second too soon", NULL));
    assert_non_null(find_msg(all, world, "second, later", NULL));
    json_decref(all);
    dev_close(&d);
    dev_close(&e);
}

/* A configured interval is announced and enforced. */
static void test_slow_mode_configured(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS, "--world_slow_mode", "60000", NULL};
    mpt_server_t *s2 = mpt_server_start(flags);
    assert_non_null(s2);
    chat_dev_t d;
    assert_int_equal(mpt_user_new(s2, "wc", &d.s), 0);
    dev_open(s2, &d);
    json_t *w = EXPECT_BODY(200, NULL, s2, "GET", d.s.access, NULL, "/v1/world");
    assert_int_equal(jint(w, "slow_mode_ms"), 60000);
    char id[24];
    snprintf(id, sizeof id, "%s", jstr(w, "conversation_id"));
    json_decref(w);
    json_t *r = send_msg(d.ws, id, NULL, "c-1", "one");
    assert_true(is_ok(r));
    json_decref(r);
    r = send_msg(d.ws, id, NULL, "c-2", "two");
    assert_string_equal(mpt_error_code(r), "slow_mode");
    long long wait = jint(json_object_get(r, "error"), "retry_after_ms");
    assert_true(wait > 50000 && wait <= 60000);
    json_decref(r);
    dev_close(&d);
    assert_int_equal(mpt_server_stop(s2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_world_info_and_persistence),
        cmocka_unit_test(test_post_read_without_joining),
        cmocka_unit_test(test_slow_mode),
        cmocka_unit_test(test_slow_mode_configured),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
