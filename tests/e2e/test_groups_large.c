/* A 5,000-member group with 300 connected devices (large groups):
 * one message reaches all 300 online devices, the messages table grows by
 * exactly one row (no per-member copy), and a member who was offline finds
 * it through sync with the right unread count.
 *
 * Registering 5,000 users through the API would cost 5,000 argon2 hashes
 * (~90 ms each), so the users are written into the database while the server
 * is stopped, with a cheap argon2id hash of a known password so that 301 of
 * them log in through the API quickly; memberships go through the API in
 * chunks of 100. The server runs with I/O threads (io_threads), and the
 * message to the 300 leaves in a flush they share. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "test_groups_util.h"

#define N_USERS 4999 /* plus the owner: 5,000 members */
#define N_ONLINE 300
#define LOGIN_THREADS 4

typedef struct {
    char id[24];
    char name[33];
} big_user_t;

static big_user_t users[N_USERS];
static mpt_session_t sessions[N_ONLINE + 1]; /* the last one is the offline member */

/* Writes N_USERS users straight into the (stopped) server's database. Their
 * ids use node 1023 and milliseconds before the owner's id, so they can
 * never collide with an id the server (node 0) hands out. */
static void insert_users(const mpt_server_t *srv, const mpt_session_t *owner)
{
    /* A real argon2id hash of the owner's password, with the smallest cost
     * parameters: verification reads them from the hash, so these users log
     * in through the API in microseconds instead of ~90 ms. */
    assert_true(sodium_init() >= 0);
    char hash[crypto_pwhash_STRBYTES];
    assert_int_equal(crypto_pwhash_str(hash, owner->password, strlen(owner->password),
                                       crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN),
                     0);

    /* One transaction of multi-row INSERTs, as literal SQL both databases
     * take (names, display names and the hash hold no quote). */
    uint64_t owner_id = strtoull(owner->user_id, NULL, 10);
    uint64_t ms = owner_id >> 22;
    size_t cap = (size_t)N_USERS * (sizeof hash + 128) + 64, len = 0;
    char *sql = malloc(cap);
    assert_non_null(sql);
    len += (size_t)snprintf(sql + len, cap - len, "BEGIN;");
    for (int i = 0; i < N_USERS; i++) {
        uint64_t id =
            ((ms - 1 - (uint64_t)(i / 4096)) << 22) | (1023u << 12) | (uint64_t)(i % 4096);
        snprintf(users[i].id, sizeof users[i].id, "%llu", (unsigned long long)id);
        snprintf(users[i].name, sizeof users[i].name, "big%dx%d", (int)getpid(), i);
        if (i % 500 == 0)
            len += (size_t)snprintf(sql + len, cap - len,
                                    "%sINSERT INTO users(id, username, display_name, "
                                    "password_hash, created_at) VALUES",
                                    i ? ";" : "");
        len += (size_t)snprintf(sql + len, cap - len, "%s(%s, '%s', 'Big %d', '%s', %lld)",
                                i % 500 ? "," : "", users[i].id, users[i].name, i, hash,
                                (long long)mpt_now_ms());
        assert_true(len < cap);
    }
    len += (size_t)snprintf(sql + len, cap - len, ";COMMIT;");
    assert_true(len < cap);
    db_exec(srv, sql);
    free(sql);
}

typedef struct {
    const mpt_server_t *srv;
    const char *password;
    atomic_int next;
    atomic_int failed;
} login_job_t;

static void *login_worker(void *arg)
{
    login_job_t *j = arg;
    int i;
    while ((i = atomic_fetch_add(&j->next, 1)) <= N_ONLINE) {
        int st = mpt_login(j->srv, users[i].name, j->password, "big", &sessions[i]);
        if (st != 200) {
            fprintf(stderr, "login %s: %d\n", users[i].name, st);
            atomic_fetch_add(&j->failed, 1);
        }
    }
    return NULL;
}

/* The value of counter `name` in the server's /metrics. */
static long long metric(const mpt_server_t *srv, const char *name)
{
    mpc_response_t r;
    assert_int_equal(mpt_http(srv, "GET", "/metrics", NULL, NULL, &r), 200);
    size_t n = strlen(name);
    long long v = -1;
    for (const char *l = r.body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, name, n) == 0 && l[n] == ' ')
            v = strtoll(l + n + 1, NULL, 10);
    mpc_response_free(&r);
    assert_true(v >= 0);
    return v;
}

static void test_group_of_5000_with_300_online(void **state)
{
    (void)state;
    long long t0 = mpt_mono_ms();
    /* Two I/O helpers, whatever the machine's cores: the fan-out to 300
     * devices is written by them and the loop together. */
    const char *flags[] = {CHAT_FLAGS, "--io_threads", "3", NULL};
    mpt_server_t *srv = mpt_server_start(flags);
    assert_non_null(srv);
    chat_dev_t owner;
    assert_int_equal(mpt_user_new(srv, "bigo", &owner.s), 0);
    char g[24];
    assert_int_equal(group_create(srv, owner.s.access, "five thousand", NULL, NULL, g, NULL), 201);

    assert_int_equal(mpt_server_terminate(srv), 0);
    insert_users(srv, &owner.s);
    assert_int_equal(mpt_server_restart(srv), 0);
    fprintf(stderr, "users inserted after %lld ms\n", mpt_mono_ms() - t0);

    /* Memberships through the API, 100 at a time. */
    for (int base = 0; base < N_USERS; base += 100) {
        json_t *ids = json_array();
        for (int i = base; i < base + 100 && i < N_USERS; i++)
            json_array_append_new(ids, json_string(users[i].id));
        json_t *r = EXPECT_BODY(200, NULL, srv, "POST", owner.s.access,
                                json_pack("{s:o}", "user_ids", ids), "/v1/groups/%s/members", g);
        assert_int_equal(json_array_size(json_object_get(r, "added")),
                         base + 100 <= N_USERS ? 100 : N_USERS - base);
        json_decref(r);
    }
    json_t *gr = EXPECT_BODY(200, NULL, srv, "GET", owner.s.access, NULL, "/v1/groups/%s", g);
    assert_int_equal(jint(gr, "member_count"), N_USERS + 1);
    json_decref(gr);
    fprintf(stderr, "members added after %lld ms\n", mpt_mono_ms() - t0);

    /* 301 logins through the API. */
    login_job_t job = {.srv = srv, .password = owner.s.password};
    pthread_t th[LOGIN_THREADS];
    for (int t = 0; t < LOGIN_THREADS; t++)
        pthread_create(&th[t], NULL, login_worker, &job);
    for (int t = 0; t < LOGIN_THREADS; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(atomic_load(&job.failed), 0);
    fprintf(stderr, "logins done after %lld ms\n", mpt_mono_ms() - t0);

    /* The offline member: syncs up to now, then leaves. */
    chat_dev_t off = {.s = sessions[N_ONLINE]};
    dev_open(srv, &off);
    char cursor[32] = "0";
    assert_true(sync_until_done(off.ws, cursor, NULL, NULL));
    dev_close(&off);

    /* 300 devices online, plus the owner's. */
    static chat_dev_t online[N_ONLINE];
    for (int i = 0; i < N_ONLINE; i++) {
        online[i].s = sessions[i];
        dev_open(srv, &online[i]);
    }
    dev_open(srv, &owner);
    for (int i = 0; i < N_ONLINE; i++)
        drain_events(online[i].ws, NULL);
    fprintf(stderr, "%d devices online after %lld ms\n", N_ONLINE, mpt_mono_ms() - t0);

    long long rows0 = db_count(srv, "SELECT COUNT(*) FROM messages");
    long long shared0 = metric(srv, "magpie_io_shared_flushes_total");
    long long t_send = mpt_mono_ms();
    json_t *r = send_msg(owner.ws, g, NULL, "big-1", "hello five thousand");
    assert_true(is_ok(r));
    long long seq = jint(r, "seq");
    json_decref(r);
    for (int i = 0; i < N_ONLINE; i++) {
        json_t *ev = NULL;
        for (;;) {
            ev = next_event(online[i].ws, "message");
            if (strcmp(jstr(json_object_get(ev, "message"), "conversation"), g) == 0 &&
                jint(json_object_get(ev, "message"), "seq") == seq)
                break;
            json_decref(ev);
        }
        json_t *m = json_object_get(ev, "message");
        assert_string_equal(jstr(m, "text"), "hello five thousand");
        assert_string_equal(jstr(m, "sender"), owner.s.user_id);
        json_decref(ev);
    }
    fprintf(stderr, "delivered to %d devices in %lld ms (includes reading)\n", N_ONLINE,
            mpt_mono_ms() - t_send);
    assert_int_equal(db_count(srv, "SELECT COUNT(*) FROM messages"), rows0 + 1);
    /* The event left in a flush shared with the I/O threads. */
    assert_true(metric(srv, "magpie_io_shared_flushes_total") > shared0);

    /* The offline member catches up by sync; unread = last_seq - read_seq. */
    dev_open(srv, &off);
    json_t *msgs = json_array(), *convs = json_array();
    assert_true(sync_until_done(off.ws, cursor, msgs, convs));
    assert_non_null(find_msg(msgs, g, "hello five thousand", NULL));
    size_t i;
    json_t *c;
    bool found = false;
    json_array_foreach(convs, i, c)
    {
        if (strcmp(jstr(c, "conversation_id"), g) == 0) {
            found = true;
            assert_string_equal(jstr(c, "kind"), "group");
            assert_int_equal(jint(c, "last_seq"), seq);
            assert_int_equal(jint(c, "unread"), jint(c, "last_seq") - jint(c, "read_seq"));
            assert_true(jint(c, "unread") >= 1);
        }
    }
    assert_true(found);
    json_decref(msgs);
    json_decref(convs);
    dev_close(&off);

    for (int k = 0; k < N_ONLINE; k++)
        dev_close(&online[k]);
    dev_close(&owner);
    assert_int_equal(mpt_server_stop(srv), 0);
    fprintf(stderr, "total %lld ms\n", mpt_mono_ms() - t0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_of_5000_with_300_online),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
