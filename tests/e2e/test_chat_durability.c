/* Durability of the send path under kill -9: a client sends pipelined bursts
 * while a killer thread SIGKILLs the server after a random delay (drawn per
 * iteration); the server restarts on the same data dir and the test checks
 * that every acked message is stored exactly once with its acked seq, that
 * seqs are gap-free, and that retrying the unacked sends (same client ids)
 * never creates a second copy.
 *
 * MAGPIE_SOAK_ITERATIONS sets the number of kill/restart rounds (default 10;
 * `make soak` runs 200). MAGPIE_SOAK_SEED replays a run's random delays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <time.h>

#include "test_chat_util.h"

#define BURST 100
#define MAX_DELAY_US 150000

typedef struct rec {
    char cmid[32];
    long long seq; /* acked seq, 0 = not acked yet */
} rec_t;

typedef struct soak {
    mpt_server_t *srv;
    chat_dev_t a, b;
    char conv[24];
    rec_t *recs;
    size_t n, cap;
} soak_t;

static rec_t *rec_add(soak_t *s, const char *cmid)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->recs = realloc(s->recs, s->cap * sizeof *s->recs);
    }
    rec_t *r = &s->recs[s->n++];
    snprintf(r->cmid, sizeof r->cmid, "%s", cmid);
    r->seq = 0;
    return r;
}

/* Pipelined sends of recs[idx[0..n)]: all frames first, then the replies.
 * Stops quietly when the connection dies. Returns replies read. */
static int send_recs(mpc_ws_t *ws, const char *conv, rec_t *recs, const size_t *idx, int n,
                     int64_t base)
{
    int sent = 0, got = 0;
    for (; sent < n; sent++) {
        rec_t *r = &recs[idx[sent]];
        json_t *f =
            json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)(base + sent), "type", "send",
                      "conversation", conv, "client_msg_id", r->cmid, "text", r->cmid);
        int rc = mpc_ws_send_json(ws, f, MPT_TIMEOUT);
        json_decref(f);
        if (rc != MPC_OK)
            break;
    }
    while (got < sent) {
        mpc_ws_msg_t m;
        if (mpc_ws_recv(ws, MPT_TIMEOUT, &m) != MPC_OK)
            break;
        bool closed = m.opcode == MPC_WS_CLOSE;
        json_t *id = m.json ? json_object_get(m.json, "id") : NULL;
        int64_t k = json_is_integer(id) ? (int64_t)json_integer_value(id) - base : -1;
        if (k >= 0 && k < sent) {
            got++;
            rec_t *r = &recs[idx[k]];
            if (is_ok(m.json)) {
                long long seq = jint(m.json, "seq");
                /* A retry of an acked send must answer the same seq. */
                if (r->seq != 0 && r->seq != seq)
                    fail_msg("%s acked as seq %lld, then %lld", r->cmid, r->seq, seq);
                r->seq = seq;
            }
        }
        mpc_ws_msg_free(&m);
        if (closed)
            break;
    }
    return got;
}

typedef struct killer {
    mpt_server_t *srv;
    unsigned delay_us;
} killer_t;

static void *killer_main(void *arg)
{
    killer_t *k = arg;
    struct timespec ts = {k->delay_us / 1000000, (long)(k->delay_us % 1000000) * 1000};
    nanosleep(&ts, NULL); /* the random moment of the crash, not a synchronisation */
    mpt_server_kill9(k->srv);
    return NULL;
}

/* Sends new bursts until the server dies under us. */
static void send_until_killed(soak_t *s, int iter)
{
    int64_t base = 1000000;
    for (int burst = 0;; burst++) {
        size_t idx[BURST];
        for (int i = 0; i < BURST; i++) {
            char cmid[32];
            snprintf(cmid, sizeof cmid, "k%d-%d-%d", iter, burst, i);
            rec_add(s, cmid);
            idx[i] = s->n - 1;
        }
        if (send_recs(s->a.ws, s->conv, s->recs, idx, BURST, base) < BURST)
            return;
        base += BURST;
    }
}

/* The invariants: seqs 1..n without gaps, each client id once, each acked
 * record at its acked seq. Returns the number of stored messages. */
static size_t verify(soak_t *s)
{
    json_t *all = all_history(s->a.ws, s->conv);
    json_t *by_cmid = json_object(); /* client id -> seq */
    size_t n = json_array_size(all);
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(all, i);
        const char *cmid = jstr(m, "client_msg_id");
        if (jint(m, "seq") != (long long)i + 1)
            fail_msg("seq gap: position %zu has seq %lld", i, jint(m, "seq"));
        if (cmid == NULL || json_object_get(by_cmid, cmid) != NULL)
            fail_msg("%s stored twice", cmid ? cmid : "(no client id)");
        json_object_set_new(by_cmid, cmid, json_integer(jint(m, "seq")));
    }
    for (size_t r = 0; r < s->n; r++) {
        json_t *at = json_object_get(by_cmid, s->recs[r].cmid);
        if (s->recs[r].seq != 0 && (at == NULL || json_integer_value(at) != s->recs[r].seq))
            fail_msg("acked %s (seq %lld) lost or moved", s->recs[r].cmid, s->recs[r].seq);
    }
    json_decref(by_cmid);
    json_decref(all);
    return n;
}

static void retry_unacked(soak_t *s)
{
    size_t *idx = malloc((s->n ? s->n : 1) * sizeof *idx);
    int n = 0;
    for (size_t r = 0; r < s->n; r++)
        if (s->recs[r].seq == 0)
            idx[n++] = r;
    for (int off = 0; off < n; off += 200) {
        int k = n - off < 200 ? n - off : 200;
        assert_int_equal(send_recs(s->a.ws, s->conv, s->recs, idx + off, k, 5000000), k);
    }
    for (int i = 0; i < n; i++)
        assert_true(s->recs[idx[i]].seq > 0);
    free(idx);
}

static int iterations(void)
{
    const char *e = getenv("MAGPIE_SOAK_ITERATIONS");
    int n = e ? atoi(e) : 10;
    return n > 0 ? n : 10;
}

static void test_kill9_during_bursts(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS, "--access_token_ttl", "86400", NULL};
    soak_t s = {0};
    s.srv = mpt_server_start(flags);
    assert_non_null(s.srv);
    dev_new_user(s.srv, "dur", &s.a);
    dev_new_user(s.srv, "dur", &s.b);
    dev_close(&s.b);
    assert_int_equal(direct_conv(s.srv, &s.a, s.b.s.user_id, s.conv), 201);

    const char *seed_env = getenv("MAGPIE_SOAK_SEED");
    unsigned seed = seed_env ? (unsigned)strtoul(seed_env, NULL, 10) : (unsigned)time(NULL);
    print_message("durability: %d iterations, MAGPIE_SOAK_SEED=%u\n", iterations(), seed);
    size_t acked_total = 0;
    for (int it = 0; it < iterations(); it++) {
        killer_t k = {s.srv, (unsigned)(rand_r(&seed) % MAX_DELAY_US)};
        pthread_t th;
        size_t before = s.n;
        assert_int_equal(pthread_create(&th, NULL, killer_main, &k), 0);
        send_until_killed(&s, it);
        pthread_join(th, NULL);
        dev_close(&s.a);

        assert_int_equal(mpt_server_restart(s.srv), 0);
        dev_open(s.srv, &s.a);
        size_t acked = 0;
        for (size_t r = before; r < s.n; r++)
            acked += s.recs[r].seq != 0;
        acked_total += acked;
        verify(&s);
        retry_unacked(&s);
        size_t stored = verify(&s);
        assert_int_equal(stored, s.n); /* every client id exactly once */
        print_message("  round %d: killed after %u us, %zu of %zu acked before the kill\n", it,
                      k.delay_us, acked, s.n - before);
    }
    assert_true(acked_total > 0); /* the kills did not all come too early */
    dev_close(&s.a);
    free(s.recs);
    assert_int_equal(mpt_server_stop(s.srv), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_during_bursts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
