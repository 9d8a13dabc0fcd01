/* Scenario `search`: the cost of full-text search on a seeded database.
 *
 * One user owns 1 + --convs groups (a group may have its owner alone): the
 * first gets --seed messages, each of the others --per-conv. The texts are
 * generated from a fixed pseudo-random sequence of made-up words, with a few
 * marker words at known rates and Chinese/Japanese sentences mixed in, so
 * every run searches the same text. Seeding uses one WebSocket with --window
 * sends in flight (start the server with a high send_rate).
 *
 * Then each query of the table below is sent --queries times, one at a time
 * (latency, not throughput), within the big conversation and across every
 * conversation; the report gives p50/p99/max per query and the hits of one
 * page. With --rate the queries start on a fixed schedule (one in flight: a
 * query behind it starts as soon as the one before is answered), so that a
 * background load of searches has a known size whatever the server's
 * speed. Runs in the parent process: there is nothing to spread over
 * processes. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_int.h"
#include "client/client.h"
#include "util/alloc.h"
#include "util/clock.h"

#define TIMEOUT_MS 60000
#define RARE_EVERY 50000 /* "zebracorn": one message in this many */
#define MID_EVERY 100    /* "kettle" */
#define CJK_EVERY 10     /* one of the CJK sentences */

static const char *const SYLL[] = {"ka", "ri", "mo", "te",  "su", "na", "lo", "pe", "vi",
                                   "ra", "zu", "do", "shi", "an", "el", "or", "ti", "bu"};
static const char *const CJK[] = {"東京タワーに行きました", "我们明天在北京见面",
                                  "今日はいい天気ですね", "这个周末去上海玩"};

/* One query of the report: text and whether it targets the big conversation. */
typedef struct query {
    const char *label;
    const char *text;
    bool one_conv;
} query_t;

static const query_t QUERIES[] = {
    {"rare word (1 in 50,000)", "zebracorn", true},
    {"word in 1% of messages", "kettle", true},
    {"Japanese, 5 characters", "東京タワー", true},
    {"Chinese, 2 characters (scan)", "北京", true},
    {"rare word (1 in 50,000)", "zebracorn", false},
    {"word in 1% of messages", "kettle", false},
    {"Japanese, 5 characters", "東京タワー", false},
    {"Chinese, 2 characters (scan)", "北京", false},
};
#define NQUERIES (sizeof QUERIES / sizeof QUERIES[0])

typedef struct seeder {
    const mp_bench_opts_t *o;
    mpc_ws_t *ws;
    uint64_t rng;
    uint64_t n; /* messages generated so far (all conversations) */
    char nonce[24];
} seeder_t;

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The text of message number n: 6-14 made-up words, and the markers. */
static void gen_text(seeder_t *sd, char *buf, size_t cap)
{
    size_t len = 0;
    unsigned words = 6 + (unsigned)(next_rand(&sd->rng) % 9);
    for (unsigned w = 0; w < words && len + 16 < cap; w++) {
        unsigned sy = 1 + (unsigned)(next_rand(&sd->rng) % 3);
        if (w > 0)
            buf[len++] = ' ';
        for (unsigned k = 0; k < sy; k++) {
            const char *s = SYLL[next_rand(&sd->rng) % (sizeof SYLL / sizeof SYLL[0])];
            size_t l = strlen(s);
            memcpy(buf + len, s, l);
            len += l;
        }
    }
    buf[len] = '\0';
    if (sd->n % MID_EVERY == 7)
        len += (size_t)snprintf(buf + len, cap - len, " kettle");
    if (sd->n % RARE_EVERY == 11)
        len += (size_t)snprintf(buf + len, cap - len, " zebracorn");
    if (sd->n % CJK_EVERY == 3)
        snprintf(buf + len, cap - len, " %s", CJK[(sd->n / CJK_EVERY) % 4]);
    sd->n++;
}

static int reply_ok(const mpc_ws_msg_t *m, char *err, size_t errlen)
{
    json_t *j = json_loadb(m->data, m->len, 0, NULL);
    if (j == NULL || json_object_get(j, "event") != NULL) {
        json_decref(j);
        return 1; /* an event: not a reply */
    }
    int rc = 0;
    if (json_object_get(j, "error") != NULL) {
        char *s = json_dumps(json_object_get(j, "error"), JSON_COMPACT);
        snprintf(err, errlen, "seed: send refused: %s", s ? s : "?");
        free(s);
        rc = -1;
    }
    json_decref(j);
    return rc;
}

/* Stores n messages in conversation conv, o->window in flight. */
static int seed_conv(seeder_t *sd, const char *conv, unsigned n, char *err, size_t errlen)
{
    unsigned sent = 0, acked = 0, inflight = 0;
    char text[512], frame[1024];
    while (acked < n) {
        while (sent < n && inflight < sd->o->window) {
            gen_text(sd, text, sizeof text);
            int len = snprintf(frame, sizeof frame,
                               "{\"id\":%" PRIu64 ",\"type\":\"send\",\"conversation\":\"%s\","
                               "\"client_msg_id\":\"%s-%" PRIu64 "\",\"text\":\"%s\"}",
                               sd->n + 1, conv, sd->nonce, sd->n, text);
            if (len <= 0 || (size_t)len >= sizeof frame ||
                mpc_ws_send_text(sd->ws, frame, TIMEOUT_MS) != MPC_OK) {
                snprintf(err, errlen, "seed: cannot send");
                return -1;
            }
            sent++;
            inflight++;
        }
        mpc_ws_msg_t m;
        int rc = mpc_ws_recv(sd->ws, TIMEOUT_MS, &m);
        if (rc != MPC_OK) {
            snprintf(err, errlen, "seed: no reply: %s", mpc_strerror(rc));
            return -1;
        }
        int r = reply_ok(&m, err, errlen);
        mpc_ws_msg_free(&m);
        if (r < 0)
            return -1;
        if (r == 0) {
            acked++;
            inflight--;
        }
    }
    return 0;
}

static int create_group(const mp_bench_opts_t *o, const char *token, unsigned i, char *id,
                        size_t idlen, char *err, size_t errlen)
{
    char why[256];
    mpc_conn_t *c = mp_bench__dial(o, TIMEOUT_MS, why, sizeof why);
    if (c == NULL) {
        snprintf(err, errlen, "setup: %s", why);
        return -1;
    }
    char title[48];
    snprintf(title, sizeof title, "search bench %u", i);
    json_t *body = json_pack("{s:s}", "title", title);
    mpc_response_t r = {0};
    int rc = mpc_http_request(c, "POST", "/v1/groups", token, body, &r, TIMEOUT_MS);
    json_decref(body);
    const char *cid = r.json ? json_string_value(json_object_get(r.json, "conversation_id")) : NULL;
    int out = 0;
    if (rc != MPC_OK || r.status != 201 || cid == NULL) {
        snprintf(err, errlen, "setup: POST /v1/groups: %d", rc != MPC_OK ? rc : r.status);
        out = -1;
    } else {
        snprintf(id, idlen, "%s", cid);
    }
    mpc_response_free(&r);
    mpc_conn_free(c);
    return out;
}

/* CPU time (utime + stime, clock ticks) of pid from /proc/PID/stat, or -1. */
static long long cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long ut, st;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

/* The server indexes new messages for search in the background, behind
 * the sends (docs/architecture.md): right after seeding, searches would
 * time a catching-up index. With --server-pid, waits (at most SETTLE_MAX_S)
 * until the server uses under 5% of a core over half a second, and says how
 * long that took: the index's lag after the burst. */
#define SETTLE_MAX_S 1800
static void settle(const mp_bench_opts_t *o)
{
    if (o->server_pid <= 0)
        return;
    long hz = sysconf(_SC_CLK_TCK);
    int64_t t0 = mp_mono_ms();
    long long prev = cpu_ticks(o->server_pid);
    while (prev >= 0 && mp_mono_ms() - t0 < SETTLE_MAX_S * 1000) {
        struct timespec half = {0, 500 * 1000 * 1000};
        nanosleep(&half, NULL);
        long long now = cpu_ticks(o->server_pid);
        if (now < 0)
            break;
        bool idle = (double)(now - prev) < 0.05 * 0.5 * (double)hz;
        prev = now;
        if (idle) {
            printf("search: the server went idle %.1f s after seeding (background indexing done)\n",
                   (double)(mp_mono_ms() - t0) / 1000.0);
            return;
        }
    }
    printf("search: the server did not go idle after seeding; timing a busy server\n");
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* With --rate, waits until query i of a run that started at t0 is due. */
static void pace(double rate, int64_t t0, unsigned i)
{
    if (rate <= 0)
        return;
    int64_t due = t0 + (int64_t)((double)i * 1e9 / rate);
    int64_t wait = due - mp_mono_ns();
    if (wait <= 0)
        return;
    struct timespec ts = {(time_t)(wait / 1000000000), (long)(wait % 1000000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Runs one query q times; fills the sorted latencies (ns) and the hits of
 * the last page. */
static int run_query(mpc_ws_t *ws, const query_t *q, const char *conv, unsigned times, double rate,
                     int64_t *lat, size_t *hits, char *err, size_t errlen)
{
    int64_t start = mp_mono_ns();
    for (unsigned i = 0; i < times; i++) {
        pace(rate, start, i);
        json_t *req = json_pack("{s:s,s:s,s:i}", "type", "search", "query", q->text, "limit", 20);
        if (q->one_conv)
            json_object_set_new(req, "conversation", json_string(conv));
        json_t *reply = NULL;
        int64_t t0 = mp_mono_ns();
        int rc = mpc_ws_request(ws, req, TIMEOUT_MS, &reply);
        lat[i] = mp_mono_ns() - t0;
        json_decref(req);
        json_t *res = reply ? json_object_get(reply, "results") : NULL;
        if (rc != MPC_OK || !json_is_array(res)) {
            char *s = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
            snprintf(err, errlen, "search '%s': %s %s", q->text, mpc_strerror(rc), s ? s : "");
            free(s);
            json_decref(reply);
            return -1;
        }
        *hits = json_array_size(res);
        json_decref(reply);
    }
    qsort(lat, times, sizeof *lat, cmp_i64);
    return 0;
}

static double ms_at(const int64_t *lat, unsigned n, double p)
{
    size_t i = (size_t)(p * (n - 1) + 0.5);
    return (double)lat[i] / 1e6;
}

int mp_bench__search_main(const mp_bench_ctx_t *ctx)
{
    const mp_bench_opts_t *o = ctx->o;
    const char *token = ctx->acc[0].token;
    char err[512], big[24];
    unsigned nconv = o->convs;
    char(*convs)[24] = mp_calloc(nconv ? nconv : 1, sizeof *convs);
    int64_t *lat = mp_calloc(o->queries, sizeof *lat);
    seeder_t sd = {.o = o, .rng = 0x9e3779b97f4a7c15ULL};
    snprintf(sd.nonce, sizeof sd.nonce, "%s", ctx->nonce);
    int rc = -1;

    if (create_group(o, token, 0, big, sizeof big, err, sizeof err) != 0)
        goto out;
    for (unsigned i = 0; i < nconv; i++)
        if (create_group(o, token, i + 1, convs[i], sizeof convs[i], err, sizeof err) != 0)
            goto out;
    mpc_conn_t *wc = mp_bench__dial(o, TIMEOUT_MS, err, sizeof err);
    if (wc == NULL)
        goto out;
    if (mpc_ws_upgrade(wc, "/v1/ws", token, NULL, &sd.ws, NULL, TIMEOUT_MS) != MPC_OK) {
        snprintf(err, sizeof err, "cannot open a WebSocket");
        goto out;
    }
    int64_t t0 = mp_mono_ms();
    if (seed_conv(&sd, big, o->seed, err, sizeof err) != 0)
        goto out;
    for (unsigned i = 0; i < nconv; i++)
        if (seed_conv(&sd, convs[i], o->per_conv, err, sizeof err) != 0)
            goto out;
    double seed_s = (double)(mp_mono_ms() - t0) / 1000.0;
    printf("search: seeded %" PRIu64 " messages (1 conversation of %u, %u of %u) in %.1f s, "
           "%.0f messages/s\n",
           sd.n, o->seed, nconv, o->per_conv, seed_s, seed_s > 0 ? (double)sd.n / seed_s : 0.0);
    fflush(stdout);
    settle(o);
    printf("%-30s %-6s %9s %9s %9s %6s\n", "query", "scope", "p50 ms", "p99 ms", "max ms", "hits");
    for (size_t q = 0; q < NQUERIES; q++) {
        size_t hits = 0;
        if (run_query(sd.ws, &QUERIES[q], big, o->queries, o->rate, lat, &hits, err, sizeof err) !=
            0)
            goto out;
        printf("%-30s %-6s %9.2f %9.2f %9.2f %6zu\n", QUERIES[q].label,
               QUERIES[q].one_conv ? "one" : "all", ms_at(lat, o->queries, 0.5),
               ms_at(lat, o->queries, 0.99), (double)lat[o->queries - 1] / 1e6, hits);
    }
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "magpie bench: %s\n", err);
    if (sd.ws != NULL)
        mpc_ws_free(sd.ws);
    mp_free(convs);
    mp_free(lat);
    return rc;
}
