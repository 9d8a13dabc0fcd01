/* End-to-end tests of messaging authorisation and input limits: every verb
 * and route with a non-member, a foreign conversation id, an unknown id and
 * a revoked device; every limit of `send`, `history`, `sync`, `read` with its
 * exact error, the connection staying usable after each; the send rate limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_chat_util.h"

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

static void assert_alive(mpc_ws_t *ws)
{
    json_t *r = mpt_ws_call(ws, "ping", NULL);
    assert_true(is_ok(r));
    json_decref(r);
}

/* Every conversation verb and route on conv answers not_member to d. */
static void assert_locked_out(chat_dev_t *d, const char *conv)
{
    assert_err(send_msg(d->ws, conv, NULL, "intrude", "let me in"), "not_member");
    assert_err(call(d->ws, "history", json_pack("{s:s}", "conversation", conv)), "not_member");
    assert_err(call(d->ws, "read", json_pack("{s:s,s:i}", "conversation", conv, "seq", 1)),
               "not_member");
    assert_err(call(d->ws, "delivered", json_pack("{s:s,s:i}", "conversation", conv, "seq", 1)),
               "not_member");
    assert_err(call(d->ws, "typing", json_pack("{s:s}", "conversation", conv)), "not_member");
    char path[128];
    json_t *body = NULL;
    snprintf(path, sizeof path, "/v1/conversations/%s/messages", conv);
    assert_int_equal(http_json(srv, "GET", path, d->s.access, NULL, &body), 403);
    assert_string_equal(mpt_error_code(body), "not_member");
    json_decref(body);
    assert_alive(d->ws);
}

static void test_non_member_foreign_and_unknown(void **state)
{
    (void)state;
    chat_dev_t a, b, c;
    dev_new_user(srv, "authz", &a);
    dev_new_user(srv, "authz", &b);
    dev_new_user(srv, "authz", &c);
    char ab[24], ac[24];
    assert_int_equal(direct_conv(srv, &a, b.s.user_id, ab), 201);
    assert_int_equal(direct_conv(srv, &a, c.s.user_id, ac), 201);
    json_t *r = send_msg(a.ws, ab, NULL, "secret", "for bob only");
    assert_true(is_ok(r));
    json_decref(r);

    /* Carol: not a member of ab (a conversation id foreign to her), and an
     * unknown id gets the very same answer. */
    assert_locked_out(&c, ab);
    assert_locked_out(&c, "987654321987");
    assert_locked_out(&b, ac);
    /* Not even a well-formed id over HTTP: the same 403. */
    json_t *body = NULL;
    assert_int_equal(
        http_json(srv, "GET", "/v1/conversations/abc/messages", c.s.access, NULL, &body), 403);
    json_decref(body);

    /* Nothing leaked: Carol's sync and list do not show ab. */
    r = call(c.ws, "sync", json_pack("{s:s}", "since", "0"));
    json_t *convs = json_object_get(r, "conversations");
    for (size_t i = 0; i < json_array_size(convs); i++)
        assert_string_not_equal(jstr(json_array_get(convs, i), "conversation_id"), ab);
    json_t *msgs = json_object_get(r, "messages");
    for (size_t i = 0; i < json_array_size(msgs); i++)
        assert_string_not_equal(jstr(json_array_get(msgs, i), "text"), "for bob only");
    json_decref(r);
    assert_int_equal(http_json(srv, "GET", "/v1/conversations", c.s.access, NULL, &body), 200);
    convs = json_object_get(body, "conversations");
    assert_int_equal(json_array_size(convs), 1);
    assert_string_equal(jstr(json_array_get(convs, 0), "conversation_id"), ac);
    json_decref(body);
    /* Bob saw no typing or receipt from Carol's attempts. */
    assert_int_equal(drain_events(b.ws, "typing"), 0);
    dev_close(&a);
    dev_close(&b);
    dev_close(&c);
}

static void test_revoked_device(void **state)
{
    (void)state;
    chat_dev_t a, a2, b;
    dev_new_user(srv, "revk", &a);
    dev_new_device(srv, &a, &a2);
    dev_new_user(srv, "revk", &b);
    char conv[24];
    assert_int_equal(direct_conv(srv, &a, b.s.user_id, conv), 201);

    char path[128];
    snprintf(path, sizeof path, "/v1/devices/%s", a2.s.device_id);
    assert_int_equal(http_json(srv, "DELETE", path, a.s.access, NULL, NULL) / 100, 2);
    /* Its WebSocket is closed, its token refused on every chat route. */
    int code = 0;
    char *reason = NULL;
    assert_int_equal(mpc_ws_wait_close(a2.ws, MPT_TIMEOUT, &code, &reason), MPC_OK);
    free(reason);
    dev_close(&a2);
    mpc_ws_t *ws = NULL;
    int status = 0;
    assert_int_not_equal(mpc_ws_connect(srv->host, srv->port, "/v1/ws", a2.s.access, NULL, &ws,
                                        &status, MPT_TIMEOUT),
                         MPC_OK);
    assert_int_equal(status, 401);
    snprintf(path, sizeof path, "/v1/conversations/%s/messages", conv);
    assert_int_equal(http_json(srv, "GET", path, a2.s.access, NULL, NULL), 401);
    assert_int_equal(http_json(srv, "GET", "/v1/conversations", a2.s.access, NULL, NULL), 401);
    assert_int_equal(http_json(srv, "POST", "/v1/conversations/direct", a2.s.access,
                               json_pack("{s:s}", "user_id", b.s.user_id), NULL),
                     401);
    snprintf(path, sizeof path, "/v1/users/%s/presence", b.s.user_id);
    assert_int_equal(http_json(srv, "GET", path, a2.s.access, NULL, NULL), 401);
    /* No token at all: the same. */
    assert_int_equal(http_json(srv, "GET", "/v1/conversations", NULL, NULL, NULL), 401);
    /* The other device is unaffected. */
    json_t *r = send_msg(a.ws, conv, NULL, "still", "works");
    assert_true(is_ok(r));
    json_decref(r);
    dev_close(&a);
    dev_close(&b);
}

static void test_bad_input(void **state)
{
    (void)state;
    chat_dev_t a, b;
    dev_new_user(srv, "bad", &a);
    dev_new_user(srv, "bad", &b);
    char conv[24];
    assert_int_equal(direct_conv(srv, &a, b.s.user_id, conv), 201);
    mpc_ws_t *ws = a.ws;
    char long_id[66], long_text[4098];
    memset(long_id, 'x', 65);
    long_id[65] = '\0';
    memset(long_text, 'y', 4097);
    long_text[4097] = '\0';

    /* send: each field limit. */
    assert_err(call(ws, "send", json_pack("{s:s,s:s}", "conversation", conv, "text", "t")),
               "bad_request");
    assert_err(send_msg(ws, conv, NULL, "", "t"), "bad_request");
    assert_err(send_msg(ws, conv, NULL, long_id, "t"), "bad_request");
    assert_err(send_msg(ws, conv, NULL, "tab\there", "t"), "bad_request");
    assert_err(send_msg(ws, conv, NULL, "caf\xc3\xa9", "t"), "bad_request");
    assert_err(send_msg(ws, conv, NULL, "c1", ""), "bad_request");
    assert_err(send_msg(ws, conv, NULL, "c1", long_text), "bad_request");
    assert_err(call(ws, "send", json_pack("{s:s,s:s}", "client_msg_id", "c1", "text", "t")),
               "bad_request"); /* neither conversation nor to */
    assert_err(send_msg(ws, conv, b.s.user_id, "c1", "t"), "bad_request"); /* both */
    assert_err(send_msg(ws, "not-an-id", NULL, "c1", "t"), "bad_request");
    assert_err(call(ws, "send",
                    json_pack("{s:s,s:s,s:s,s:s}", "conversation", conv, "client_msg_id", "c1",
                              "text", "t", "kind", "image")),
               "bad_request");
    assert_err(
        call(ws, "send",
             json_pack("{s:s,s:s,s:i}", "conversation", conv, "client_msg_id", "c1", "text", 5)),
        "bad_request");
    assert_err(send_msg(ws, NULL, a.s.user_id, "c1", "to myself"), "bad_request");
    assert_err(send_msg(ws, NULL, "123456789", "c1", "nobody"), "not_found");
    /* None of that stored anything: c1 is still free and gets seq 1. */
    json_t *r = send_msg(ws, conv, NULL, "c1", "fine");
    assert_true(is_ok(r));
    assert_int_equal(jint(r, "seq"), 1);
    json_decref(r);

    /* history, sync, read, delivered, typing. */
    assert_err(call(ws, "history", json_pack("{s:s,s:i}", "conversation", conv, "limit", 0)),
               "bad_request");
    assert_err(call(ws, "history", json_pack("{s:s,s:i}", "conversation", conv, "limit", 201)),
               "bad_request");
    assert_err(call(ws, "history", json_pack("{s:s,s:i}", "conversation", conv, "before_seq", 0)),
               "bad_request");
    assert_err(call(ws, "history", json_pack("{}")), "bad_request");
    assert_err(call(ws, "sync", json_pack("{}")), "bad_request");
    assert_err(call(ws, "sync", json_pack("{s:s}", "since", "abc")), "bad_request");
    assert_err(call(ws, "sync", json_pack("{s:s}", "since", "-1")), "bad_request");
    assert_err(call(ws, "sync", json_pack("{s:s}", "since", "007")), "bad_request");
    assert_err(call(ws, "sync", json_pack("{s:i}", "since", 0)), "bad_request");
    assert_err(call(ws, "read", json_pack("{s:s,s:i}", "conversation", conv, "seq", -1)),
               "bad_request");
    assert_err(call(ws, "read", json_pack("{s:s}", "conversation", conv)), "bad_request");
    assert_err(call(ws, "delivered", json_pack("{s:s,s:s}", "conversation", conv, "seq", "1")),
               "bad_request");
    assert_err(call(ws, "typing", json_pack("{}")), "bad_request");
    assert_alive(ws);

    /* HTTP query and body limits. */
    char path[160];
    json_t *body = NULL;
    snprintf(path, sizeof path, "/v1/conversations/%s/messages?limit=0", conv);
    assert_int_equal(http_json(srv, "GET", path, a.s.access, NULL, &body), 400);
    assert_string_equal(mpt_error_code(body), "bad_request");
    json_decref(body);
    snprintf(path, sizeof path, "/v1/conversations/%s/messages?limit=12abc", conv);
    assert_int_equal(http_json(srv, "GET", path, a.s.access, NULL, NULL), 400);
    snprintf(path, sizeof path, "/v1/conversations/%s/messages?before_seq=-3", conv);
    assert_int_equal(http_json(srv, "GET", path, a.s.access, NULL, NULL), 400);
    assert_int_equal(http_json(srv, "GET", "/v1/conversations?limit=500", a.s.access, NULL, NULL),
                     400);
    assert_int_equal(http_json(srv, "GET", "/v1/conversations?cursor=zzz", a.s.access, NULL, NULL),
                     400);
    assert_int_equal(http_json(srv, "POST", "/v1/conversations/direct", a.s.access,
                               json_pack("{s:i}", "user_id", 5), NULL),
                     400);
    assert_int_equal(
        http_json(srv, "POST", "/v1/conversations/direct", a.s.access, json_pack("{}"), NULL), 400);
    assert_alive(ws);
    dev_close(&a);
    dev_close(&b);
}

static void test_send_rate_limit(void **state)
{
    (void)state;
    const char *flags[] = {"--login_rate", "100000", "--send_rate", "1", "--send_burst", "3", NULL};
    mpt_server_t *s2 = mpt_server_start(flags);
    assert_non_null(s2);
    chat_dev_t a, b;
    dev_new_user(s2, "rl", &a);
    dev_new_user(s2, "rl", &b);
    char conv[24];
    assert_int_equal(direct_conv(s2, &a, b.s.user_id, conv), 201);
    int ok = 0, limited = 0;
    for (int i = 0; i < 6; i++) {
        char cmid[16];
        snprintf(cmid, sizeof cmid, "rl%d", i);
        json_t *r = send_msg(a.ws, conv, NULL, cmid, "fast");
        if (is_ok(r)) {
            ok++;
        } else {
            assert_string_equal(mpt_error_code(r), "rate_limited");
            json_t *err = json_object_get(r, "error");
            assert_true(jint(err, "retry_after_ms") >= 1);
            limited++;
        }
        json_decref(r);
    }
    /* The burst of 3 (maybe one more refilled meanwhile), the rest refused. */
    assert_true(ok >= 3 && ok <= 4);
    assert_int_equal(ok + limited, 6);
    assert_alive(a.ws);
    /* Another user is not affected by Alice's flood. */
    json_t *r = send_msg(b.ws, conv, NULL, "bob1", "calm");
    assert_true(is_ok(r));
    json_decref(r);
    dev_close(&a);
    dev_close(&b);
    assert_int_equal(mpt_server_stop(s2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_non_member_foreign_and_unknown),
        cmocka_unit_test(test_revoked_device),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_send_rate_limit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
