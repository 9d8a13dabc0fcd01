/* End-to-end tests of rules that must hold in the write itself, not only in
 * a cached pre-check, and of their error answers:
 * - sends racing a mute or a dissolve (from another connection) are never
 *   acked or stored after the system message announcing the change;
 * - client_msg_id dedup is per device: two devices of one user may both use
 *   "1"; a retry from one device returns its own message, after a restart too;
 * - guests are refused as group members (create, add, join, transfer) and as
 *   direct peers (send `to`, open a direct conversation) with guest_forbidden;
 * - error messages name the field; an invite may be created with no body; a
 *   guest may report `delivered` in the world room. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
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

/* The error message of a WebSocket reply or an HTTP error body. */
static const char *err_msg(const json_t *j)
{
    return jstr(json_object_get(j, "error"), "message");
}

static void assert_msg_names(const json_t *j, const char *field)
{
    const char *m = err_msg(j);
    if (m == NULL || strstr(m, field) == NULL)
        fail_msg("message '%s' does not name %s", m ? m : "(none)", field);
}

/* ---- sends racing a rule change ------------------------------------------------- */

/* At most PUMP_MAX sends before the stop (their replies, unread until the
 * end, stay far below the server's per-connection queue), then PUMP_AFTER. */
#define PUMP_MAX 2000
#define PUMP_AFTER 50

/* Streams sends to conv on ws (without waiting for replies) until told to
 * stop, then PUMP_AFTER more. */
typedef struct pump {
    mpc_ws_t *ws;
    const char *conv, *prefix;
    atomic_int sent;
    atomic_bool stop;
    int failed; /* a send that could not be written */
} pump_t;

static void *pump_run(void *arg)
{
    pump_t *p = arg;
    int after = 0;
    for (int i = 0; after < PUMP_AFTER; i++) {
        if (i >= PUMP_MAX) /* a slow stop: wait for it (bounded by the caller's wait) */
            while (!atomic_load(&p->stop))
                sched_yield();
        if (atomic_load(&p->stop))
            after++;
        char cmid[32];
        snprintf(cmid, sizeof cmid, "%s-%d", p->prefix, i);
        json_t *f = json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)(i + 1), "type", "send",
                              "conversation", p->conv, "client_msg_id", cmid, "text", "race");
        int rc = mpc_ws_send_json(p->ws, f, MPT_TIMEOUT);
        json_decref(f);
        if (rc != MPC_OK) {
            p->failed = 1;
            break;
        }
        atomic_fetch_add(&p->sent, 1);
    }
    return NULL;
}

/* Waits (bounded) until the pump has sent at least n frames. */
static void pump_wait(pump_t *p, int n)
{
    long long deadline = mpt_mono_ms() + MPT_TIMEOUT;
    while (atomic_load(&p->sent) < n) {
        if (mpt_mono_ms() > deadline)
            fail_msg("the pump sent only %d frames", atomic_load(&p->sent));
        sched_yield();
    }
}

/* Reads the pump's replies: the highest seq acked, and how many were ok and
 * refused with `code`. Any other error fails. */
static void pump_replies(pump_t *p, const char *code, long long *max_seq, int *ok, int *refused)
{
    int want = atomic_load(&p->sent);
    *max_seq = 0;
    *ok = *refused = 0;
    for (int got = 0; got < want;) {
        mpc_ws_msg_t m;
        int rc = mpc_ws_recv(p->ws, MPT_TIMEOUT, &m);
        if (rc != MPC_OK)
            fail_msg("reply %d of %d: %s", got, want, mpc_strerror(rc));
        json_t *r = m.json ? json_incref(m.json) : NULL;
        mpc_ws_msg_free(&m);
        if (r == NULL || !json_is_integer(json_object_get(r, "id"))) {
            json_decref(r);
            continue;
        }
        got++;
        if (is_ok(r)) {
            (*ok)++;
            if (jint(r, "seq") > *max_seq)
                *max_seq = jint(r, "seq");
        } else if (mpt_error_code(r) && strcmp(mpt_error_code(r), code) == 0) {
            (*refused)++;
        } else {
            char *d = json_dumps(r, JSON_COMPACT);
            fail_msg("unexpected reply %s", d ? d : "?");
        }
        json_decref(r);
    }
}

/* The seq of the system message with this action in conv (from history). */
static long long system_seq(mpc_ws_t *ws, const char *conv, const char *action)
{
    json_t *all = all_history(ws, conv);
    json_t *m = find_msg(all, conv, NULL, action);
    if (m == NULL)
        fail_msg("no %s message in the history", action);
    long long seq = jint(m, "seq");
    json_decref(all);
    return seq;
}

/* How many messages of sender in conv have a seq above `seq` (history). */
static int sent_after(mpc_ws_t *ws, const char *conv, const char *sender, long long seq)
{
    json_t *all = all_history(ws, conv);
    size_t i;
    json_t *m;
    int n = 0;
    json_array_foreach(all, i, m)
    {
        if (jint(m, "seq") > seq && strcmp(jstr(m, "sender"), sender) == 0)
            n++;
    }
    json_decref(all);
    return n;
}

static void test_send_races_mute(void **state)
{
    (void)state;
    chat_dev_t owner, member;
    dev_new_user(srv, "rm", &owner);
    dev_new_user(srv, "rm", &member);
    char g[24];
    assert_int_equal(
        group_create(srv, owner.s.access, "race", ids_json(member.s.user_id, NULL), NULL, g, NULL),
        201);
    /* Warm the membership cache: the pre-check then answers from memory. */
    json_t *r = send_msg(member.ws, g, NULL, "warm", "hi");
    assert_true(is_ok(r));
    json_decref(r);

    pump_t p = {.ws = member.ws, .conv = g, .prefix = "rm"};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, pump_run, &p), 0);
    pump_wait(&p, 20);
    EXPECT(204, NULL, srv, "POST", owner.s.access,
           json_pack("{s:I}", "until", (json_int_t)(mpt_now_ms() + 3600 * 1000)),
           "/v1/groups/%s/members/%s/mute", g, member.s.user_id);
    atomic_store(&p.stop, true);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(p.failed, 0);

    long long max_seq;
    int ok, refused;
    pump_replies(&p, "muted", &max_seq, &ok, &refused);
    assert_true(refused >= PUMP_AFTER); /* everything sent after the reply */
    long long mute_seq = system_seq(owner.ws, g, "muted");
    if (max_seq > mute_seq)
        fail_msg("a send was acked with seq %lld after the mute (seq %lld)", max_seq, mute_seq);
    assert_int_equal(sent_after(owner.ws, g, member.s.user_id, mute_seq), 0);

    /* Right after the reply, on another connection of the member: refused. */
    chat_dev_t other;
    other.s = member.s;
    dev_open(srv, &other);
    r = send_msg(other.ws, g, NULL, "after", "hi");
    assert_string_equal(mpt_error_code(r), "muted");
    assert_true(jint(json_object_get(r, "error"), "muted_until") > mpt_now_ms());
    json_decref(r);
    dev_close(&other);
    dev_close(&owner);
    dev_close(&member);
}

static void test_send_races_dissolve(void **state)
{
    (void)state;
    chat_dev_t owner, member;
    dev_new_user(srv, "rd", &owner);
    dev_new_user(srv, "rd", &member);
    char g[24];
    assert_int_equal(
        group_create(srv, owner.s.access, "race", ids_json(member.s.user_id, NULL), NULL, g, NULL),
        201);
    json_t *r = send_msg(member.ws, g, NULL, "warm", "hi");
    assert_true(is_ok(r));
    json_decref(r);

    pump_t p = {.ws = member.ws, .conv = g, .prefix = "rd"};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, pump_run, &p), 0);
    pump_wait(&p, 20);
    EXPECT(204, NULL, srv, "POST", owner.s.access, NULL, "/v1/groups/%s/dissolve", g);
    atomic_store(&p.stop, true);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(p.failed, 0);

    long long max_seq;
    int ok, refused;
    pump_replies(&p, "dissolved", &max_seq, &ok, &refused);
    assert_true(refused >= PUMP_AFTER);
    long long end = system_seq(owner.ws, g, "dissolved");
    if (max_seq > end)
        fail_msg("a send was acked with seq %lld after the dissolve (seq %lld)", max_seq, end);
    assert_int_equal(sent_after(owner.ws, g, member.s.user_id, end), 0);
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM messages WHERE conversation_id = %s AND seq > %lld", g, end);
    assert_int_equal(db_count(srv, sql), 0);
    dev_close(&owner);
    dev_close(&member);
}

/* ---- dedup per device ------------------------------------------------------------ */

static void test_dedup_two_devices(void **state)
{
    (void)state;
    chat_dev_t d1, d2, peer;
    dev_new_user(srv, "dd", &d1);
    dev_new_device(srv, &d1, &d2);
    dev_new_user(srv, "dd", &peer);

    json_t *a = send_msg(d1.ws, NULL, peer.s.user_id, "1", "from device one");
    assert_true(is_ok(a));
    assert_false(json_is_true(json_object_get(a, "duplicate")));
    json_t *b = send_msg(d2.ws, NULL, peer.s.user_id, "1", "from device two");
    assert_true(is_ok(b));
    assert_false(json_is_true(json_object_get(b, "duplicate")));
    assert_string_not_equal(jstr(a, "message_id"), jstr(b, "message_id"));
    char conv[24], id1[24], id2[24];
    snprintf(conv, sizeof conv, "%s", jstr(a, "conversation"));
    snprintf(id1, sizeof id1, "%s", jstr(a, "message_id"));
    snprintf(id2, sizeof id2, "%s", jstr(b, "message_id"));
    json_decref(a);
    json_decref(b);

    /* Both are stored, as the peer sees them. */
    json_t *all = all_history(peer.ws, conv);
    assert_int_equal(json_array_size(all), 2);
    assert_non_null(find_msg(all, conv, "from device one", NULL));
    assert_non_null(find_msg(all, conv, "from device two", NULL));
    json_decref(all);

    /* A retry from device one returns device one's message. */
    json_t *r = send_msg(d1.ws, NULL, peer.s.user_id, "1", "from device one");
    assert_true(is_ok(r));
    assert_true(json_is_true(json_object_get(r, "duplicate")));
    assert_string_equal(jstr(r, "message_id"), id1);
    json_decref(r);

    /* ... and so after a restart, for each device. */
    dev_close(&d1);
    dev_close(&d2);
    dev_close(&peer);
    assert_int_equal(mpt_server_restart(srv), 0);
    dev_open(srv, &d1);
    dev_open(srv, &d2);
    r = send_msg(d2.ws, NULL, peer.s.user_id, "1", "from device two");
    assert_true(json_is_true(json_object_get(r, "duplicate")));
    assert_string_equal(jstr(r, "message_id"), id2);
    json_decref(r);
    r = send_msg(d1.ws, conv, NULL, "1", "from device one");
    assert_true(json_is_true(json_object_get(r, "duplicate")));
    assert_string_equal(jstr(r, "message_id"), id1);
    json_decref(r);
    all = all_history(d1.ws, conv);
    assert_int_equal(json_array_size(all), 2);
    json_decref(all);
    dev_close(&d1);
    dev_close(&d2);
}

/* ---- guests outside the world ------------------------------------------------------ */

static void test_guests_refused_everywhere(void **state)
{
    (void)state;
    chat_dev_t u;
    mpt_session_t g, v;
    dev_new_user(srv, "gr", &u);
    assert_int_equal(mpt_user_new(srv, "gr", &v), 0);
    assert_int_equal(guest_new(srv, "Gus", &g), 200);

    /* Group create with a guest among member_ids. */
    json_t *b = json_pack("{s:s,s:[s,s]}", "title", "t", "member_ids", v.user_id, g.user_id);
    json_t *e = EXPECT_BODY(403, "guest_forbidden", srv, "POST", u.s.access, b, "/v1/groups");
    assert_msg_names(e, "member_ids");
    json_decref(e);

    char grp[24];
    assert_int_equal(group_create(srv, u.s.access, "t", ids_json(v.user_id, NULL), NULL, grp, NULL),
                     201);
    /* Add a guest. */
    e = EXPECT_BODY(403, "guest_forbidden", srv, "POST", u.s.access,
                    json_pack("{s:[s]}", "user_ids", g.user_id), "/v1/groups/%s/members", grp);
    assert_msg_names(e, "user_ids");
    json_decref(e);
    /* Transfer the ownership to a guest. */
    e = EXPECT_BODY(403, "guest_forbidden", srv, "POST", u.s.access,
                    json_pack("{s:s}", "user_id", g.user_id), "/v1/groups/%s/transfer", grp);
    assert_msg_names(e, "user_id");
    json_decref(e);
    /* A guest joining by invite link. */
    json_t *inv = EXPECT_BODY(201, NULL, srv, "POST", u.s.access, json_object(),
                              "/v1/groups/%s/invites", grp);
    EXPECT(403, "guest_forbidden", srv, "POST", g.access, NULL, "/v1/invites/%s/join",
           jstr(inv, "token"));
    json_decref(inv);
    json_t *members =
        EXPECT_BODY(200, NULL, srv, "GET", u.s.access, NULL, "/v1/groups/%s/members", grp);
    char *dump = json_dumps(members, JSON_COMPACT);
    assert_non_null(dump);
    assert_null(strstr(dump, g.user_id));
    free(dump);
    json_decref(members);

    /* A direct conversation with a guest: neither opened nor sent to. */
    e = EXPECT_BODY(403, "guest_forbidden", srv, "POST", u.s.access,
                    json_pack("{s:s}", "user_id", g.user_id), "/v1/conversations/direct");
    assert_msg_names(e, "user_id");
    json_decref(e);
    json_t *r = send_msg(u.ws, NULL, g.user_id, "to-guest", "hi");
    assert_string_equal(mpt_error_code(r), "guest_forbidden");
    assert_msg_names(r, "'to'");
    json_decref(r);

    /* The guest has no conversation outside the world. */
    chat_dev_t gd = {.s = g};
    dev_open(srv, &gd);
    r = call(gd.ws, "sync", json_pack("{s:s}", "since", "0"));
    assert_true(is_ok(r));
    assert_int_equal(json_array_size(json_object_get(r, "conversations")), 0);
    json_decref(r);
    dev_close(&gd);
    dev_close(&u);
}

/* ---- error answers ------------------------------------------------------------------ */

static void test_error_answers(void **state)
{
    (void)state;
    chat_dev_t u;
    dev_new_user(srv, "ea", &u);

    /* To yourself: bad_request naming the field. */
    json_t *r = send_msg(u.ws, NULL, u.s.user_id, "self", "hi");
    assert_string_equal(mpt_error_code(r), "bad_request");
    assert_msg_names(r, "'to'");
    json_decref(r);
    json_t *e = EXPECT_BODY(400, "bad_request", srv, "POST", u.s.access,
                            json_pack("{s:s}", "user_id", u.s.user_id), "/v1/conversations/direct");
    assert_msg_names(e, "'user_id'");
    json_decref(e);

    /* An invite with no body at all: every field is optional. */
    char grp[24];
    assert_int_equal(group_create(srv, u.s.access, "t", NULL, NULL, grp, NULL), 201);
    mpc_response_t resp;
    char path[96];
    snprintf(path, sizeof path, "/v1/groups/%s/invites", grp);
    int st = mpt_http(srv, "POST", path, u.s.access, NULL, &resp);
    if (st != 201)
        fail_msg("empty invite body: %d %.*s", st, (int)resp.body_len, resp.body);
    mpc_response_free(&resp);
    /* An empty object, as before. */
    e = EXPECT_BODY(201, NULL, srv, "POST", u.s.access, json_object(), "/v1/groups/%s/invites",
                    grp);
    assert_non_null(jstr(e, "token"));
    json_decref(e);

    /* A guest reports delivery in the world room. */
    mpt_session_t g;
    assert_int_equal(guest_new(srv, "Gia", &g), 200);
    chat_dev_t gd = {.s = g};
    dev_open(srv, &gd);
    json_t *w = EXPECT_BODY(200, NULL, srv, "GET", g.access, NULL, "/v1/world");
    char world[24];
    snprintf(world, sizeof world, "%s", jstr(w, "conversation_id"));
    json_decref(w);
    r = send_msg(u.ws, world, NULL, "w-1", "hello world");
    assert_true(is_ok(r));
    long long seq = jint(r, "seq");
    json_decref(r);
    r = call(gd.ws, "delivered",
             json_pack("{s:s,s:I}", "conversation", world, "seq", (json_int_t)seq));
    assert_true(is_ok(r));
    assert_int_equal(jint(r, "delivered_seq"), seq);
    json_decref(r);
    dev_close(&gd);
    dev_close(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_races_mute),   cmocka_unit_test(test_send_races_dissolve),
        cmocka_unit_test(test_dedup_two_devices), cmocka_unit_test(test_guests_refused_everywhere),
        cmocka_unit_test(test_error_answers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
