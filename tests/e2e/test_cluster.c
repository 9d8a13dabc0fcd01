/* A cluster of real processes: one PostgreSQL database (in the test cluster
 * of scripts/pg-test-server.sh, MAGPIE_TEST_PG_DIR), one nats-server and
 * three `magpie serve` nodes (node_id 1, 2, 3) sharing the database and one
 * token-signing secret. Clients spread over the nodes chat in a direct
 * conversation, a group and the world room, and every message arrives live
 * on the other nodes; typing and the world room's slow mode cross nodes; a
 * device revoked through one node loses its WebSocket on another within 1 s
 * and its token is refused there; when NATS is killed and restarted every
 * client is told to resync and live delivery resumes; a node killed with -9
 * takes its users offline on the others. Skipped on the SQLite run: several
 * nodes need a shared database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <time.h>

#include "test_chat_util.h"
#include "test_cluster_util.h"

#define NODES 3
/* A message sent through one node must reach a WebSocket on another within
 * this (it takes a few ms on loopback; the bound is for loaded machines). */
#define LIVE_MS 5000

static mpt_nats_t nats;
static mpt_server_t *node[NODES];
static bool have_pg;

/* ---- the cluster -------------------------------------------------------------- */

/* Node 1 gets a fresh database from the harness; the others share it. A
 * slow mode long enough that a second post within it is refused however slow
 * the machine. */
static mpt_server_t *node_start(int i)
{
    const char *more[] = {"--world_slow_mode", "60s", NULL};
    return cluster_node_start(i + 1, nats.url, i == 0 ? NULL : node[0]->db_url, more);
}

static int group_setup(void **state)
{
    (void)state;
    have_pg = mpt_backend_pg();
    if (!have_pg)
        return 0;
    if (mpt_nats_start(&nats, 0) != 0)
        return -1;
    for (int i = 0; i < NODES; i++) {
        node[i] = node_start(i); /* node 1 first: it creates the tables */
        if (node[i] == NULL)
            return -1;
    }
    for (int i = 1; i < NODES; i++)
        cluster_share_secret(node[0], node[i]);
    return 0;
}

/* Node 1 last: stopping it drops the shared database. */
static int group_teardown(void **state)
{
    (void)state;
    if (!have_pg)
        return 0;
    int rc = 0;
    for (int i = NODES - 1; i >= 0; i--)
        if (mpt_server_stop(node[i]) != 0)
            rc = -1;
    mpt_nats_stop(&nats);
    return rc;
}

/* ---- helpers -------------------------------------------------------------------- */

/* Waits until `via` (a node) says user_id is online: its directory has the
 * user's node. Bounded; polled, since nothing else says when a node learns
 * it (and presence events need a shared conversation). */
static void wait_online(const mpt_server_t *via, const char *token, const char *user_id,
                        bool online)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/users/%s/presence", user_id);
    long long deadline = mpt_mono_ms() + LIVE_MS + 10000;
    for (;;) {
        json_t *body = NULL;
        int st = http_json(via, "GET", path, token, NULL, &body);
        bool now = st == 200 && json_is_true(json_object_get(body, "online"));
        json_decref(body);
        if (now == online)
            return;
        if (mpt_mono_ms() >= deadline)
            fail_msg("node %s never saw user %s %s", via->hostport, user_id,
                     online ? "online" : "offline");
        pause_ms(20);
    }
}

/* The next `message` event with this text (others skipped), within LIVE_MS;
 * how long it took goes to *ms. */
static json_t *live_msg(mpc_ws_t *ws, const char *text, long long *ms)
{
    long long t0 = mpt_mono_ms();
    for (;;) {
        long long left = t0 + LIVE_MS - mpt_mono_ms();
        json_t *ev = NULL;
        int rc = mpc_ws_next_event(ws, left > 0 ? (int)left : 0, &ev);
        if (rc != MPC_OK)
            fail_msg("waiting %d ms for message \"%s\": %s", LIVE_MS, text, mpc_strerror(rc));
        if (strcmp(jstr(ev, "event"), "message") == 0) {
            const char *t = jstr(json_object_get(ev, "message"), "text");
            if (t != NULL && strcmp(t, text) == 0) {
                if (ms != NULL)
                    *ms = mpt_mono_ms() - t0;
                return ev;
            }
        }
        json_decref(ev);
    }
}

static void expect_live(mpc_ws_t *ws, const char *text, const char *who)
{
    long long ms = 0;
    json_t *ev = live_msg(ws, text, &ms);
    fprintf(stderr, "cluster: \"%s\" reached %s in %lld ms\n", text, who, ms);
    json_decref(ev);
}

/* Users: alice (devices on nodes 1 and 3), bob (node 2), carol (node 3). */
static chat_dev_t alice1, alice3, bob2, carol3;

static void users_up(void)
{
    /* Registered and signed in through node 1; the tokens work on all. */
    assert_int_equal(mpt_user_new(node[0], "cla", &alice1.s), 0);
    assert_int_equal(mpt_device_new(node[0], &alice1.s, &alice3.s), 0);
    assert_int_equal(mpt_user_new(node[0], "clb", &bob2.s), 0);
    assert_int_equal(mpt_user_new(node[0], "clc", &carol3.s), 0);
    dev_open(node[0], &alice1);
    dev_open(node[2], &alice3);
    dev_open(node[1], &bob2);
    dev_open(node[2], &carol3);
    /* Each node knows where the others' users are. */
    wait_online(node[0], alice1.s.access, bob2.s.user_id, true);
    wait_online(node[0], alice1.s.access, carol3.s.user_id, true);
    wait_online(node[1], bob2.s.access, alice1.s.user_id, true);
    wait_online(node[1], bob2.s.access, carol3.s.user_id, true);
    wait_online(node[2], carol3.s.access, bob2.s.user_id, true);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_chat_across_nodes(void **state)
{
    (void)state;
    if (!have_pg)
        skip();
    users_up();

    /* Direct: alice on node 1 -> bob on node 2, and alice's own device on
     * node 3 gets her message with its client_msg_id. */
    char direct[24];
    assert_int_equal(direct_conv(node[0], &alice1, bob2.s.user_id, direct), 201);
    send_text(&alice1, direct, "cl-d1", "direct from node 1", NULL);
    expect_live(bob2.ws, "direct from node 1", "bob on node 2");
    json_t *own = live_msg(alice3.ws, "direct from node 1", NULL);
    assert_string_equal(jstr(json_object_get(own, "message"), "client_msg_id"), "cl-d1");
    json_decref(own);
    send_text(&bob2, direct, "cl-d2", "reply from node 2", NULL);
    expect_live(alice1.ws, "reply from node 2", "alice on node 1");
    expect_live(alice3.ws, "reply from node 2", "alice on node 3");

    /* Typing crosses nodes too. */
    json_t *r = call(alice1.ws, "typing", json_pack("{s:s}", "conversation", direct));
    assert_true(is_ok(r));
    json_decref(r);
    json_t *ev = next_event(bob2.ws, "typing");
    assert_string_equal(jstr(ev, "user_id"), alice1.s.user_id);
    json_decref(ev);

    /* A group made on node 3: carol's message reaches nodes 1 and 2. */
    json_t *members = json_pack("[s,s]", alice1.s.user_id, bob2.s.user_id);
    json_t *body = NULL;
    int st = http_json(node[2], "POST", "/v1/groups", carol3.s.access,
                       json_pack("{s:s,s:o}", "title", "Across", "member_ids", members), &body);
    assert_int_equal(st, 201);
    char group[24];
    snprintf(group, sizeof group, "%s", jstr(body, "conversation_id"));
    json_decref(body);
    send_text(&carol3, group, "cl-g1", "group from node 3", NULL);
    expect_live(alice1.ws, "group from node 3", "alice on node 1");
    expect_live(bob2.ws, "group from node 3", "bob on node 2");
    expect_live(alice3.ws, "group from node 3", "alice on node 3");
    send_text(&bob2, group, "cl-g2", "group from node 2", NULL);
    expect_live(carol3.ws, "group from node 2", "carol on node 3");
    expect_live(alice1.ws, "group from node 2", "alice on node 1");

    /* The world room: one publish reaches every node's sessions. */
    body = NULL;
    assert_int_equal(http_json(node[1], "GET", "/v1/world", bob2.s.access, NULL, &body), 200);
    char world[24];
    snprintf(world, sizeof world, "%s", jstr(body, "conversation_id"));
    json_decref(body);
    send_text(&alice1, world, "cl-w1", "world from node 1", NULL);
    expect_live(bob2.ws, "world from node 1", "bob on node 2");
    expect_live(carol3.ws, "world from node 1", "carol on node 3");
    expect_live(alice3.ws, "world from node 1", "alice on node 3");
    /* The slow mode holds across nodes: alice's token was taken on node 3
     * too (it travels ahead of the message she just received there). */
    json_t *slow = send_msg(alice3.ws, world, NULL, "cl-w1b", "too soon, from node 3");
    assert_err(slow, "slow_mode");
    send_text(&carol3, world, "cl-w2", "world from node 3", NULL);
    expect_live(alice1.ws, "world from node 3", "alice on node 1");
    expect_live(bob2.ws, "world from node 3", "bob on node 2");
}

/* Revoked through node 1, alice's device on node 3 loses its WebSocket
 * within 1 s, and its access token is refused there from then on. */
static void test_revoke_across_nodes(void **state)
{
    (void)state;
    if (!have_pg)
        skip();
    char path[96];
    snprintf(path, sizeof path, "/v1/devices/%s", alice3.s.device_id);
    long long t0 = mpt_mono_ms();
    assert_int_equal(http_json(node[0], "DELETE", path, alice1.s.access, NULL, NULL), 204);
    int code = 0;
    char *reason = NULL;
    int rc = mpc_ws_wait_close(alice3.ws, 1000, &code, &reason);
    long long took = mpt_mono_ms() - t0;
    if (rc != MPC_OK)
        fail_msg("the revoked device's WebSocket on node 3 is still open after %lld ms", took);
    fprintf(stderr, "cluster: revoked on node 1, closed on node 3 in %lld ms (%d %s)\n", took, code,
            reason ? reason : "");
    assert_int_equal(code, 1008);
    free(reason);
    dev_close(&alice3);
    assert_int_equal(http_json(node[2], "GET", "/v1/me", alice3.s.access, NULL, NULL), 401);
    assert_int_equal(http_json(node[1], "GET", "/v1/me", alice3.s.access, NULL, NULL), 401);
    /* alice's other device is untouched. */
    assert_int_equal(http_json(node[0], "GET", "/v1/me", alice1.s.access, NULL, NULL), 200);
}

/* NATS dies and comes back: every node's clients are told to resync, and
 * live delivery between nodes resumes. */
static void test_bus_restart(void **state)
{
    (void)state;
    if (!have_pg)
        skip();
    mpt_nats_kill9(&nats);
    assert_int_equal(mpt_nats_start(&nats, nats.port), 0);
    mpc_ws_t *all[] = {alice1.ws, bob2.ws, carol3.ws};
    for (int i = 0; i < 3; i++) {
        json_t *ev = NULL;
        long long deadline = mpt_mono_ms() + 15000;
        for (;;) {
            long long left = deadline - mpt_mono_ms();
            int rc = mpc_ws_next_event(all[i], left > 0 ? (int)left : 0, &ev);
            if (rc != MPC_OK)
                fail_msg("client %d got no resync event: %s", i, mpc_strerror(rc));
            bool resync = strcmp(jstr(ev, "event"), "resync") == 0;
            json_decref(ev);
            if (resync)
                break;
        }
    }
    wait_online(node[0], alice1.s.access, bob2.s.user_id, true);
    wait_online(node[1], bob2.s.access, alice1.s.user_id, true);
    char direct[24];
    assert_int_equal(direct_conv(node[0], &alice1, bob2.s.user_id, direct), 200); /* exists */
    send_text(&alice1, direct, "cl-r1", "after the bus came back", NULL);
    expect_live(bob2.ws, "after the bus came back", "bob on node 2");
}

/* Node 3 is killed with -9: the others forget its users after a few
 * seconds, and alice (who shares a group with carol) hears carol go. */
static void test_node_killed(void **state)
{
    (void)state;
    if (!have_pg)
        skip();
    mpt_server_kill9(node[2]);
    dev_close(&carol3);
    long long t0 = mpt_mono_ms();
    for (;;) {
        json_t *ev = NULL;
        long long left = t0 + 15000 - mpt_mono_ms();
        int rc = mpc_ws_next_event(alice1.ws, left > 0 ? (int)left : 0, &ev);
        if (rc != MPC_OK)
            fail_msg("no presence event for carol after node 3 died: %s", mpc_strerror(rc));
        bool gone = strcmp(jstr(ev, "event"), "presence") == 0 &&
                    strcmp(jstr(ev, "user_id"), carol3.s.user_id) == 0 &&
                    json_is_false(json_object_get(ev, "online"));
        json_decref(ev);
        if (gone)
            break;
    }
    fprintf(stderr, "cluster: node 3 killed, carol offline on node 1 after %lld ms\n",
            mpt_mono_ms() - t0);
    wait_online(node[1], bob2.s.access, carol3.s.user_id, false);
    /* Back: its users come online again on the other nodes. */
    assert_int_equal(mpt_server_restart(node[2]), 0);
    dev_open(node[2], &carol3);
    wait_online(node[0], alice1.s.access, carol3.s.user_id, true);
    dev_close(&alice1);
    dev_close(&bob2);
    dev_close(&carol3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_across_nodes),
        cmocka_unit_test(test_revoke_across_nodes),
        cmocka_unit_test(test_bus_restart),
        cmocka_unit_test(test_node_killed),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
