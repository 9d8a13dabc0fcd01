/* The hub's cluster directory against a real nats-server: several hubs (one
 * per node, without a server: the directory, not the sockets) on one loop.
 * Presence fires once per node on the cluster-wide transitions only,
 * mp_hub_online answers for every node, a late node learns who is online,
 * a node that leaves says so and one that goes silent is forgotten, user
 * flags and rate-limit tokens reach every node, and the lowest node id
 * leads. Deliveries to sockets are tested end to end
 * (tests/e2e/test_cluster.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "bus/bus.h"
#include "core/hub.h"
#include "core/userflags.h"
#include "fixture.h"
#include "nats.h"

#define MAX_EVENTS 64

typedef struct node {
    mp_hub_t *hub;
    mp_bus_t *bus;
    mp_userflags_t *flags;
    unsigned id;
    int n_ev;
    struct {
        uint64_t user;
        bool online;
    } ev[MAX_EVENTS];
} node_t;

static uv_loop_t loop;
static mpu_nats_t nats;

static void on_presence(void *ud, uint64_t user, bool online)
{
    node_t *n = ud;
    assert_true(n->n_ev < MAX_EVENTS);
    n->ev[n->n_ev].user = user;
    n->ev[n->n_ev].online = online;
    n->n_ev++;
}

static void node_up_at(node_t *n, unsigned id, const char *url)
{
    char err[256] = "";
    memset(n, 0, sizeof *n);
    n->id = id;
    n->hub = mp_hub_new(NULL);
    n->flags = mp_userflags_new();
    mp_hub_on_presence(n->hub, on_presence, n);
    n->bus = mp_bus_open(&loop, url, id, err, sizeof err);
    if (n->bus == NULL)
        fail_msg("mp_bus_open: %s", err);
    assert_int_equal(mp_hub_attach_bus(n->hub, &loop, n->bus, id, n->flags), MP_OK);
}

static void node_up(node_t *n, unsigned id)
{
    node_up_at(n, id, nats.url);
}

static void node_down(node_t *n)
{
    mp_hub_detach_bus(n->hub);
    mp_bus_close(n->bus);
    mp_hub_free(n->hub);
    mp_userflags_free(n->flags);
    n->hub = NULL;
}

/* Presence events node n got for user, as a string of '+' and '-'. */
static const char *events(const node_t *n, uint64_t user)
{
    static char out[MAX_EVENTS + 1];
    size_t k = 0;
    for (int i = 0; i < n->n_ev; i++)
        if (n->ev[i].user == user)
            out[k++] = n->ev[i].online ? '+' : '-';
    out[k] = '\0';
    return out;
}

typedef struct want {
    node_t **nodes;
    int n;
    uint64_t user;
    bool online;
} want_t;

static bool all_see(void *ud)
{
    want_t *w = ud;
    for (int i = 0; i < w->n; i++)
        if (mp_hub_online(w->nodes[i]->hub, w->user) != w->online)
            return false;
    return true;
}

#define WAIT_ALL(online_, user_, ...)                                                              \
    do {                                                                                           \
        node_t *ns_[] = {__VA_ARGS__};                                                             \
        want_t w_ = {ns_, (int)(sizeof ns_ / sizeof ns_[0]), (user_), (online_)};                  \
        MPU_WAIT_UNTIL(&loop, all_see, &w_);                                                       \
    } while (0)

static mp_principal_t who(uint64_t user, uint64_t device)
{
    mp_principal_t p;
    memset(&p, 0, sizeof p);
    p.user_id = user;
    p.device_id = device;
    return p;
}

/* Every node has said hello and heard the others: a user added on each one
 * is seen by all. */
static void converge(node_t **ns, int n)
{
    for (int i = 0; i < n; i++) {
        mp_principal_t p = who(9000 + (uint64_t)i, 1);
        mp_hub_add(ns[i]->hub, 1, &p);
    }
    for (int i = 0; i < n; i++) {
        want_t w = {ns, n, 9000 + (uint64_t)i, true};
        MPU_WAIT_UNTIL(&loop, all_see, &w);
    }
    for (int i = 0; i < n; i++) {
        mp_principal_t p = who(9000 + (uint64_t)i, 1);
        mp_hub_remove(ns[i]->hub, 1, &p);
    }
    for (int i = 0; i < n; i++) {
        want_t w = {ns, n, 9000 + (uint64_t)i, false};
        MPU_WAIT_UNTIL(&loop, all_see, &w);
    }
}

static int setup(void **state)
{
    (void)state;
    uv_loop_init(&loop);
    return mpu_nats_start(&nats, 0);
}

/* A NATS server that wants a password (nats.url carries none). */
static int setup_password(void **state)
{
    (void)state;
    uv_loop_init(&loop);
    snprintf(nats.user, sizeof nats.user, "magpie");
    snprintf(nats.pass, sizeof nats.pass, "hub-test-pass");
    int rc = mpu_nats_start(&nats, 0);
    nats.user[0] = nats.pass[0] = '\0';
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    MPU_RUN_IDLE(&loop);
    assert_int_equal(uv_loop_close(&loop), 0);
    mpu_nats_stop(&nats);
    return 0;
}

static bool a_knows_alice_on_b(void *ud)
{
    return mp_hub_online_except(ud, 100, 1);
}

static bool flag_arrived(void *ud)
{
    return mp_userflags_has(ud, 301, MP_UF_DISABLED);
}

static void test_presence_across_nodes(void **state)
{
    (void)state;
    node_t a, b, c;
    node_up(&a, 1);
    node_up(&b, 2);
    node_up(&c, 3);
    node_t *all[] = {&a, &b, &c};
    converge(all, 3);

    const uint64_t alice = 100, bob = 200;
    mp_principal_t alice_a = who(alice, 11), alice_b = who(alice, 12), bob_c = who(bob, 21);
    a.n_ev = b.n_ev = c.n_ev = 0;

    /* First session anywhere: online everywhere, one event per node. */
    mp_hub_add(a.hub, 1, &alice_a);
    assert_string_equal(events(&a, alice), "+");
    WAIT_ALL(true, alice, &a, &b, &c);
    assert_string_equal(events(&b, alice), "+");
    assert_string_equal(events(&c, alice), "+");
    assert_false(mp_hub_online_except(a.hub, alice, 1));
    assert_true(mp_hub_online_except(a.hub, alice, 2));

    /* A second node with alice: no event anywhere; her other session on
     * another node counts for online_except. */
    mp_hub_add(b.hub, 2, &alice_b);
    mp_hub_add(c.hub, 3, &bob_c);
    WAIT_ALL(true, bob, &a, &b, &c);
    MPU_WAIT_UNTIL(&loop, a_knows_alice_on_b, a.hub);
    assert_string_equal(events(&a, alice), "+");
    assert_string_equal(events(&b, alice), "+");
    assert_string_equal(events(&c, alice), "+");

    /* Leaving one of two nodes: still online, no event. */
    mp_hub_remove(a.hub, 1, &alice_a);
    assert_true(mp_hub_online(a.hub, alice));
    assert_string_equal(events(&a, alice), "+");
    /* Bob's own node: an event for bob going offline only there at once. */
    mp_hub_remove(c.hub, 3, &bob_c);
    assert_string_equal(events(&c, bob), "+-");
    WAIT_ALL(false, bob, &a, &b, &c);
    assert_string_equal(events(&a, bob), "+-");
    assert_string_equal(events(&b, bob), "+-");

    /* Last session anywhere: offline everywhere, once. */
    mp_hub_remove(b.hub, 2, &alice_b);
    WAIT_ALL(false, alice, &a, &b, &c);
    assert_string_equal(events(&a, alice), "+-");
    assert_string_equal(events(&b, alice), "+-");
    assert_string_equal(events(&c, alice), "+-");

    node_down(&a);
    node_down(&b);
    node_down(&c);
}

/* A node that starts later learns who is online from the others' answers
 * to its hello; a node that leaves takes its users offline at once. */
static void test_late_node_and_goodbye(void **state)
{
    (void)state;
    node_t a, b, c;
    node_up(&a, 1);
    node_up(&b, 2);
    node_t *ab[] = {&a, &b};
    converge(ab, 2);
    mp_principal_t u1 = who(301, 1), u2 = who(302, 2);
    mp_hub_add(a.hub, 1, &u1);
    mp_hub_add(b.hub, 2, &u2);
    WAIT_ALL(true, 301, &b);
    WAIT_ALL(true, 302, &a);

    node_up(&c, 3);
    WAIT_ALL(true, 301, &c);
    WAIT_ALL(true, 302, &c);
    assert_string_equal(events(&c, 301), "+");

    /* Flags set on one node reach the others. */
    mp_userflags_set(a.flags, 301, MP_UF_DISABLED, true);
    MPU_WAIT_UNTIL(&loop, flag_arrived, b.flags);
    MPU_WAIT_UNTIL(&loop, flag_arrived, c.flags);
    assert_false(mp_userflags_has(b.flags, 301, MP_UF_ADMIN));

    /* a leaves (goodbye): 301 goes offline on b and c without waiting for
     * a's silence to count. */
    uint64_t t0 = uv_now(&loop);
    node_down(&a);
    WAIT_ALL(false, 301, &b, &c);
    assert_true(uv_now(&loop) - t0 < 2000);
    assert_string_equal(events(&b, 301), "+-");
    assert_true(mp_hub_online(c.hub, 302));

    mp_hub_remove(b.hub, 2, &u2);
    node_down(&b);
    node_down(&c);
}

/* A node that dies without a word (its connection just stops, as with
 * kill -9) is forgotten after a few seconds of silence. */
static void test_silent_node_is_forgotten(void **state)
{
    (void)state;
    node_t a, b;
    node_up(&a, 1);
    node_up(&b, 2);
    node_t *ab[] = {&a, &b};
    converge(ab, 2);
    mp_principal_t u = who(401, 1);
    mp_hub_add(b.hub, 1, &u);
    WAIT_ALL(true, 401, &a);
    /* b's connection goes away without a goodbye: its bus is closed first,
     * so the goodbye of its detach finds it closing and is not sent. */
    mp_bus_close(b.bus);
    mp_hub_free(b.hub);
    mp_userflags_free(b.flags);
    uint64_t t0 = uv_now(&loop);
    WAIT_ALL(false, 401, &a);
    uint64_t took = uv_now(&loop) - t0;
    assert_true(took >= 3000 && took < 10000);
    assert_string_equal(events(&a, 401), "+-");
    node_down(&a);
}

static bool leads(void *ud)
{
    return mp_hub_leader(ud);
}

static bool flag_777(void *ud)
{
    return mp_userflags_has(ud, 777, MP_UF_NO_RECEIPTS);
}

/* Tokens taken on one node are taken on the others; the lowest node id
 * leads (the sweeps), and the next one once it leaves. */
static void test_shared_limits_and_leader(void **state)
{
    (void)state;
    node_t a, b, c;
    node_up(&a, 1);
    node_up(&b, 2);
    node_up(&c, 3);
    node_t *all[] = {&a, &b, &c};
    converge(all, 3);
    assert_true(mp_hub_leader(a.hub));
    assert_false(mp_hub_leader(b.hub));
    assert_false(mp_hub_leader(c.hub));

    /* 3 per key, refilling one a day: nothing comes back during the test. */
    mp_ratelimit_t *rl_a = mp_ratelimit_new(3, 1.0 / 86400, 16);
    mp_ratelimit_t *rl_b = mp_ratelimit_new(3, 1.0 / 86400, 16);
    mp_hub_share_limit(a.hub, MP_HUB_LIMIT_LOGIN_USER, rl_a);
    mp_hub_share_limit(b.hub, MP_HUB_LIMIT_LOGIN_USER, rl_b);
    int64_t now = 1000;
    for (int i = 0; i < 3; i++)
        assert_true(mp_hub_limit_take(a.hub, MP_HUB_LIMIT_LOGIN_USER, rl_a, 42, now, NULL));
    assert_false(mp_hub_limit_take(a.hub, MP_HUB_LIMIT_LOGIN_USER, rl_a, 42, now, NULL));
    /* A flag set after the takes travels behind them: once b has it, b has
     * been charged. Another key and another kind are untouched. */
    mp_userflags_set(a.flags, 777, MP_UF_NO_RECEIPTS, true);
    MPU_WAIT_UNTIL(&loop, flag_777, b.flags);
    int64_t wait = 0;
    assert_false(mp_hub_limit_take(b.hub, MP_HUB_LIMIT_LOGIN_USER, rl_b, 42, now, &wait));
    assert_true(wait > 0);
    assert_true(mp_hub_limit_take(b.hub, MP_HUB_LIMIT_LOGIN_USER, rl_b, 43, now, NULL));
    /* c shares no limiter of that kind: the charge finds nothing there. */
    MPU_WAIT_UNTIL(&loop, flag_777, c.flags);
    /* Without a hub it is a plain take. */
    assert_true(mp_hub_limit_take(NULL, MP_HUB_LIMIT_LOGIN_USER, rl_b, 44, now, NULL));
    mp_hub_share_limit(a.hub, MP_HUB_LIMIT_LOGIN_USER, NULL);
    mp_hub_share_limit(b.hub, MP_HUB_LIMIT_LOGIN_USER, NULL);
    mp_ratelimit_free(rl_a);
    mp_ratelimit_free(rl_b);

    /* a leaves: b leads once it has heard the goodbye. */
    node_down(&a);
    MPU_WAIT_UNTIL(&loop, leads, b.hub);
    assert_false(mp_hub_leader(c.hub));
    node_down(&b);
    node_down(&c);
}

static bool not_ready(void *ud)
{
    return !mp_hub_ready(ud);
}

/* A node the NATS server refuses (no password) says it is not ready, for
 * good; one with the password in its URL is ready and works. */
static void test_refused_node_is_not_ready(void **state)
{
    (void)state;
    char url[128];
    snprintf(url, sizeof url, "nats://magpie:hub-test-pass@127.0.0.1:%d", nats.port);
    node_t a, b, anon;
    node_up_at(&a, 1, url);
    node_up_at(&b, 2, url);
    node_up(&anon, 3);
    assert_true(mp_hub_ready(a.hub));
    mp_principal_t alice = who(100, 1);
    mp_hub_add(b.hub, 10, &alice);
    MPU_WAIT_UNTIL(&loop, a_knows_alice_on_b, a.hub);
    MPU_WAIT_UNTIL(&loop, not_ready, anon.hub);
    assert_true(mp_hub_ready(a.hub));
    assert_true(mp_hub_ready(b.hub));
    assert_false(mp_hub_online_except(anon.hub, 100, 1));
    mp_hub_remove(b.hub, 10, &alice);
    node_down(&anon);
    node_down(&b);
    node_down(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_presence_across_nodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_node_and_goodbye, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_node_is_forgotten, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_limits_and_leader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_node_is_not_ready, setup_password, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
