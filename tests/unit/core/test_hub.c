/* The routing table: sessions per user, presence transitions, and the hash map
 * staying consistent under many adds and removes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/hub.h"

typedef struct {
    uint64_t user[64];
    bool online[64];
    int n;
} presence_log_t;

static void on_presence(void *ud, uint64_t user_id, bool online)
{
    presence_log_t *log = ud;
    assert_true(log->n < 64);
    log->user[log->n] = user_id;
    log->online[log->n] = online;
    log->n++;
}

typedef struct {
    mp_sid_t sid[16];
    uint64_t dev[16];
    int n;
} each_log_t;

static void on_each(mp_sid_t sid, uint64_t device_id, void *ud)
{
    each_log_t *log = ud;
    assert_true(log->n < 16);
    log->sid[log->n] = sid;
    log->dev[log->n] = device_id;
    log->n++;
}

static bool each_has(const each_log_t *log, mp_sid_t sid, uint64_t dev)
{
    for (int i = 0; i < log->n; i++)
        if (log->sid[i] == sid && log->dev[i] == dev)
            return true;
    return false;
}

static void test_presence_transitions(void **state)
{
    (void)state;
    presence_log_t log = {0};
    mp_hub_t *hub = mp_hub_new(NULL);
    mp_hub_on_presence(hub, on_presence, &log);
    mp_principal_t alice_phone = {.user_id = 100, .device_id = 1};
    mp_principal_t alice_laptop = {.user_id = 100, .device_id = 2};
    mp_principal_t bob = {.user_id = 200, .device_id = 3};

    assert_false(mp_hub_online(hub, 100));
    mp_hub_add(hub, 11, &alice_phone);
    assert_int_equal(log.n, 1);
    assert_true(log.user[0] == 100 && log.online[0]);
    mp_hub_add(hub, 12, &alice_laptop); /* second device: no presence event */
    mp_hub_add(hub, 13, &alice_laptop); /* second tab of the same device */
    mp_hub_add(hub, 13, &alice_laptop); /* duplicate: ignored */
    assert_int_equal(log.n, 1);
    assert_int_equal(mp_hub_sessions(hub, 100), 3);
    mp_hub_add(hub, 21, &bob);
    assert_int_equal(log.n, 2);
    assert_true(log.user[1] == 200 && log.online[1]);

    each_log_t each = {0};
    mp_hub_each(hub, 100, on_each, &each);
    assert_int_equal(each.n, 3);
    assert_true(each_has(&each, 11, 1) && each_has(&each, 12, 2) && each_has(&each, 13, 2));

    mp_hub_remove(hub, 12, &alice_laptop);
    mp_hub_remove(hub, 99, &alice_laptop); /* unknown sid: ignored */
    mp_hub_remove(hub, 21, &alice_laptop); /* bob's sid under alice: ignored */
    assert_int_equal(mp_hub_sessions(hub, 100), 2);
    mp_hub_remove(hub, 11, &alice_phone);
    assert_int_equal(log.n, 2);
    assert_true(mp_hub_online(hub, 100));
    mp_hub_remove(hub, 13, &alice_laptop);
    assert_int_equal(log.n, 3);
    assert_true(log.user[2] == 100 && !log.online[2]);
    assert_false(mp_hub_online(hub, 100));
    assert_int_equal(mp_hub_sessions(hub, 100), 0);
    mp_hub_remove(hub, 13, &alice_laptop); /* again: no second offline event */
    assert_int_equal(log.n, 3);
    assert_true(mp_hub_online(hub, 200));

    each = (each_log_t){0};
    mp_hub_each(hub, 100, on_each, &each);
    assert_int_equal(each.n, 0);

    /* Coming back online is a new transition. */
    mp_hub_add(hub, 14, &alice_phone);
    assert_int_equal(log.n, 4);
    assert_true(log.user[3] == 100 && log.online[3]);

    /* Anonymous principals are never routed. */
    mp_principal_t anon = {0};
    mp_hub_add(hub, 50, &anon);
    assert_false(mp_hub_online(hub, 0));
    assert_int_equal(log.n, 4);

    /* Without a server, pushes and closes are no-ops (and must not crash). */
    mp_hub_push_user(hub, 200, NULL, 0);
    mp_hub_close_device(hub, 3);
    assert_true(mp_hub_online(hub, 200));
    mp_hub_free(hub); /* frees with sessions still in it */
}

/* A walk over a user's sessions whose callback removes sessions (its own,
 * another of the same user, another user's, at last the user's final one):
 * what a send that disconnects slow readers does. Every session is visited
 * exactly once and the table stays consistent. */
typedef struct {
    mp_hub_t *hub;
    each_log_t seen;
} churn_t;

static void on_each_remove(mp_sid_t sid, uint64_t device_id, void *ud)
{
    churn_t *c = ud;
    on_each(sid, device_id, &c->seen);
    mp_principal_t who = {.user_id = 100, .device_id = device_id};
    mp_hub_remove(c->hub, sid, &who); /* itself */
    if (c->seen.n == 1) {
        /* Another session of the same user, not visited yet, and one of a
         * user whose slot may sit in the same probe run. */
        mp_principal_t other = {.user_id = 100, .device_id = 5};
        mp_hub_remove(c->hub, 105, &other);
        mp_principal_t carol = {.user_id = 300, .device_id = 9};
        mp_hub_remove(c->hub, 301, &carol);
    }
}

static void test_remove_while_iterating(void **state)
{
    (void)state;
    presence_log_t log = {0};
    mp_hub_t *hub = mp_hub_new(NULL);
    mp_hub_on_presence(hub, on_presence, &log);
    for (mp_sid_t k = 0; k < 6; k++) {
        mp_principal_t who = {.user_id = 100, .device_id = k};
        mp_hub_add(hub, 100 + k, &who);
    }
    mp_principal_t carol = {.user_id = 300, .device_id = 9};
    mp_hub_add(hub, 301, &carol);
    mp_hub_add(hub, 302, &carol);
    assert_int_equal(mp_hub_total_sessions(hub), 8);
    assert_int_equal(log.n, 2);

    churn_t c = {.hub = hub};
    mp_hub_each(hub, 100, on_each_remove, &c);
    assert_int_equal(c.seen.n, 6); /* the walk saw the table as it began */
    for (mp_sid_t k = 0; k < 6; k++)
        assert_true(each_has(&c.seen, 100 + k, k));
    assert_false(mp_hub_online(hub, 100));
    assert_int_equal(mp_hub_sessions(hub, 100), 0);
    assert_int_equal(log.n, 3); /* exactly one offline transition */
    assert_true(log.user[2] == 100 && !log.online[2]);
    assert_int_equal(mp_hub_sessions(hub, 300), 1);
    assert_int_equal(mp_hub_total_sessions(hub), 1);

    each_log_t each = {0};
    mp_hub_each(hub, 300, on_each, &each);
    assert_int_equal(each.n, 1);
    assert_true(each_has(&each, 302, 9));
    mp_hub_free(hub);
}

/* A user's session array grows for many devices and shrinks as they leave,
 * removing from the middle, the end and the front. */
static void test_many_devices(void **state)
{
    (void)state;
    mp_hub_t *hub = mp_hub_new(NULL);
    enum { N = 40 };
    bool live[N];
    for (int k = 0; k < N; k++) {
        mp_principal_t who = {.user_id = 7, .device_id = 1000 + (uint64_t)k};
        mp_hub_add(hub, 1 + (mp_sid_t)k, &who);
        live[k] = true;
    }
    assert_int_equal(mp_hub_sessions(hub, 7), N);
    static const int order[] = {20, 39, 0,  1,  38, 21, 5,  10, 15, 25, 30, 35, 2,  3,
                                4,  6,  7,  8,  9,  11, 12, 13, 14, 16, 17, 18, 19, 22,
                                23, 24, 26, 27, 28, 29, 31, 32, 33, 34, 36, 37};
    size_t left = N;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        int k = order[i];
        mp_principal_t who = {.user_id = 7, .device_id = 1000 + (uint64_t)k};
        mp_hub_remove(hub, 1 + (mp_sid_t)k, &who);
        live[k] = false;
        left--;
        assert_int_equal(mp_hub_sessions(hub, 7), left);
        assert_int_equal(mp_hub_total_sessions(hub), left);
        if (left > 16)
            continue; /* each_log_t holds 16 */
        each_log_t each = {0};
        mp_hub_each(hub, 7, on_each, &each);
        assert_int_equal(each.n, (int)left);
        for (int j = 0; j < N; j++)
            if (live[j])
                assert_true(each_has(&each, 1 + (mp_sid_t)j, 1000 + (uint64_t)j));
    }
    assert_false(mp_hub_online(hub, 7));
    mp_hub_free(hub);
}

/* Many users with random adds and removes against a plain reference model:
 * exercises growth and backward-shift deletion in the table. */
#define USERS 3000
#define MAXS 5

static void test_many_users(void **state)
{
    (void)state;
    static mp_sid_t model[USERS][MAXS]; /* 0 = free */
    memset(model, 0, sizeof model);
    mp_hub_t *hub = mp_hub_new(NULL);
    srand(12345);
    mp_sid_t next_sid = 1;
    for (int step = 0; step < 60000; step++) {
        int u = rand() % USERS;
        int k = rand() % MAXS;
        /* Sequential-ish ids like real time-ordered ids, to stress clustering. */
        mp_principal_t who = {.user_id = 1000000 + (uint64_t)u * 4096, .device_id = (uint64_t)k};
        if (model[u][k] == 0) {
            model[u][k] = next_sid++;
            mp_hub_add(hub, model[u][k], &who);
        } else {
            mp_hub_remove(hub, model[u][k], &who);
            model[u][k] = 0;
        }
        if (step % 5000 != 0 && step != 59999)
            continue;
        size_t total = 0;
        for (int v = 0; v < USERS; v++)
            for (int j = 0; j < MAXS; j++)
                total += model[v][j] != 0;
        assert_int_equal(mp_hub_total_sessions(hub), total);
        for (int v = 0; v < USERS; v++) {
            size_t n = 0;
            for (int j = 0; j < MAXS; j++)
                n += model[v][j] != 0;
            uint64_t id = 1000000 + (uint64_t)v * 4096;
            assert_int_equal(mp_hub_sessions(hub, id), n);
            assert_int_equal(mp_hub_online(hub, id), n > 0);
            each_log_t each = {0};
            mp_hub_each(hub, id, on_each, &each);
            assert_int_equal(each.n, (int)n);
            for (int j = 0; j < MAXS; j++)
                if (model[v][j] != 0)
                    assert_true(each_has(&each, model[v][j], (uint64_t)j));
        }
    }
    mp_hub_free(hub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presence_transitions),
        cmocka_unit_test(test_remove_while_iterating),
        cmocka_unit_test(test_many_devices),
        cmocka_unit_test(test_many_users),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
