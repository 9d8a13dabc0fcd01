/* Scenario `group`: fan-out to one large group. acc[0] owns the group and
 * sends to it at --rate for --duration from process 0; --online other members
 * hold one WebSocket each, spread over the processes (receiver r, the account
 * acc[1 + r], lives in process r % procs). Per message: the time until the
 * LAST online device has it.
 *
 * The processes share one anonymous mapping made before fork (gshm): a start
 * barrier (the sender starts once every process has its receivers up), the
 * sender's send times and acks, and per process and message the number of
 * arrivals and the latest arrival time. Times are CLOCK_REALTIME nanoseconds,
 * which every process on the machine shares; the send time also travels in
 * the message text, so each receiver measures its own send->delivery. The
 * parent takes, per message, the latest arrival over the processes
 * (mp_bench__group_collect).
 *
 * Each member coming online makes the server tell every online member who
 * shares a conversation with them (presence): N members connecting cost the
 * server N queries of the whole member list and up to N^2/2 events. The
 * sender waits until no presence event has arrived anywhere for QUIET_MS and
 * a probe (a direct message to acc[1], which goes through the same loop and
 * store writer) is acked within PROBE_OK_MS, so the measured phase is the
 * fan-out of messages, not the tail of that storm (nor the sessions' own
 * bookkeeping writes); how long that took after the last connection is
 * reported as "settled in". */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "bench/bench_int.h"
#include "util/alloc.h"
#include "util/clock.h"

#define MAX_FRAME 8192
#define STUCK_S 60
#define POLL_MS 2
#define MAX_MSGS (UINT64_C(1) << 24)
#define QUIET_MS 500
#define PROBE_OK_MS 50
#define PROBE_ID (INT64_C(1) << 40) /* request ids of probes: PROBE_ID + n */
#define QUIET_MAX_S 600

enum { A_PENDING = 0, A_ACKED, A_FAILED };

struct mp_bench_gshm {
    atomic_uint ready;      /* processes whose connections have all settled */
    atomic_ullong online;   /* receivers open at that moment, all processes */
    atomic_int sender_done; /* 1: n_sent, n_acked and acked[] are final */
    atomic_ullong n_sent;   /* messages sent (indexes 0 .. n_sent-1) */
    atomic_ullong n_acked;
    atomic_llong last_presence_ns; /* mono ns of the latest presence event, any process */
    atomic_llong settle_ms;        /* last connection up -> the sender started */
    size_t map_len;
    uint64_t cap; /* messages the tables hold */
    unsigned nprocs;
    int64_t *send_ns; /* [cap] realtime ns at send (sender) */
    uint8_t *acked;   /* [cap] A_ */
    int64_t *last_ns; /* [nprocs][cap] latest arrival in that process, realtime ns */
    uint32_t *got;    /* [nprocs][cap] arrivals in that process */
};

static int64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- shared memory (parent) --------------------------------------------------- */

static uint64_t msg_capacity(const mp_bench_opts_t *o)
{
    if (o->rate <= 0)
        return MAX_MSGS;
    double n = o->rate * o->duration_s * 1.01 + 64;
    return n < (double)MAX_MSGS ? (uint64_t)n : MAX_MSGS;
}

int mp_bench__group_prepare(mp_bench_ctx_t *ctx, char *err, size_t errlen)
{
    const mp_bench_opts_t *o = ctx->o;
    uint64_t cap = msg_capacity(o);
    size_t head = (sizeof(mp_bench_gshm_t) + 63) & ~(size_t)63;
    size_t len = head + cap * (sizeof(int64_t) + 1) + 64 +
                 (size_t)o->procs * cap * (sizeof(int64_t) + sizeof(uint32_t));
    /* Pages are only touched as messages are sent: a large cap costs nothing. */
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "group: cannot map %zu bytes of shared memory", len);
        return -1;
    }
    mp_bench_gshm_t *g = p;
    g->map_len = len;
    g->cap = cap;
    g->nprocs = o->procs;
    char *b = (char *)p + head;
    g->send_ns = (int64_t *)b;
    g->last_ns = (int64_t *)(b + cap * sizeof(int64_t));
    g->got = (uint32_t *)(b + cap * sizeof(int64_t) * (1 + o->procs));
    g->acked =
        (uint8_t *)(b + cap * (sizeof(int64_t) * (1 + o->procs) + sizeof(uint32_t) * o->procs));
    ctx->gshm = g;
    return 0;
}

void mp_bench__group_release(mp_bench_ctx_t *ctx)
{
    if (ctx->gshm != NULL)
        munmap(ctx->gshm, ctx->gshm->map_len);
    ctx->gshm = NULL;
}

void mp_bench__group_collect(const mp_bench_ctx_t *ctx, mp_bench_stats_t *st,
                             mp_bench_group_result_t *res)
{
    const mp_bench_gshm_t *g = ctx->gshm;
    uint64_t n = atomic_load(&g->n_sent), acked = 0;
    memset(res, 0, sizeof(*res));
    res->members = ctx->o->members;
    res->online = atomic_load(&g->online);
    res->settle_ms = atomic_load(&g->settle_ms);
    if (n > g->cap)
        n = g->cap;
    for (uint64_t i = 0; i < n; i++) {
        if (g->acked[i] != A_ACKED)
            continue;
        acked++;
        uint64_t total = 0;
        int64_t last = 0;
        for (unsigned p = 0; p < g->nprocs; p++) {
            total += g->got[p * g->cap + i];
            if (g->last_ns[p * g->cap + i] > last)
                last = g->last_ns[p * g->cap + i];
        }
        if (total == res->online) {
            res->complete++;
            if (res->online > 0)
                mp_bench_hist_record(&st->hist[MP_BENCH_H_LAST],
                                     last > g->send_ns[i] ? (uint64_t)(last - g->send_ns[i]) : 0);
        } else {
            res->incomplete++;
            mp_bench_stats_error(
                st, "message %" PRIu64 " reached %" PRIu64 " of %" PRIu64 " online devices", i,
                total, res->online);
        }
    }
    res->expected = acked * res->online;
    if (st->delivered != res->expected)
        mp_bench_stats_error(st,
                             "%" PRIu64 " deliveries, expected %" PRIu64 " (%" PRIu64
                             " acked x %" PRIu64 " online)",
                             st->delivered, res->expected, acked, res->online);
    if (acked != st->acked)
        mp_bench_stats_error(st, "internal: %" PRIu64 " acks counted, %" PRIu64 " in the table",
                             st->acked, acked);
}

/* ---- one worker process --------------------------------------------------------- */

typedef struct gengine gengine_t;

typedef struct gpeer {
    gengine_t *e;
    mp_bench_conn_t *conn;
    const mp_bench_account_t *acc;
    int64_t t_start;
    bool open;
    bool sender;
} gpeer_t;

/* The sender's side runs in process 0 only; every process has receivers. */
enum { S_NONE, S_WAIT, S_RUN, S_DRAIN, S_DONE };

struct gengine {
    mp_bench_rt_t rt;
    mp_bench_gshm_t *g;
    gpeer_t *peers;
    unsigned n_peers, settled;
    gpeer_t *sender;
    int s_phase;
    bool settled_all;    /* every local connection opened or failed */
    bool saw_done;       /* receivers noticed the sender finished */
    bool listening_over; /* receivers are done */
    bool finished;
    uint64_t local_online;
    uv_timer_t poll, tick, run_timer;
    int64_t t_wait_limit;   /* mono ns: longest wait for the other processes */
    int64_t t_listen_limit; /* mono ns: longest wait for deliveries */
    int64_t t_all_up;       /* mono ns: every process had its connections up */
    int64_t t_run0, t_run_end, t_drain_end;
    uint64_t issued, ticks, inflight, acked;
    uint64_t probes;       /* probes sent */
    int64_t probe_sent_ns; /* mono ns of the probe in flight, 0 if none */
    int64_t *sent_mono;    /* [cap] sender: mono ns at send, for send->ack */
    char *pad;
    uint64_t held;
};

static void finish(gengine_t *e)
{
    if (e->finished)
        return;
    e->finished = true;
    e->held = e->rt.st->conns_open;
    for (unsigned i = 0; i < e->n_peers; i++)
        if (e->peers[i].conn != NULL)
            mp_bench_conn_close(e->peers[i].conn);
    uv_close((uv_handle_t *)&e->poll, NULL);
    uv_close((uv_handle_t *)&e->tick, NULL);
    uv_close((uv_handle_t *)&e->run_timer, NULL);
    mp_bench__rt_stop(&e->rt);
}

/* The sender's results become visible to every process. */
static void publish(gengine_t *e)
{
    mp_bench_gshm_t *g = e->g;
    atomic_store(&g->n_sent, e->issued);
    atomic_store(&g->n_acked, e->acked);
    atomic_store(&g->sender_done, 1);
    e->s_phase = S_DONE;
    uv_timer_stop(&e->tick);
}

static bool send_message(gengine_t *e)
{
    gpeer_t *p = e->sender;
    mp_bench_gshm_t *g = e->g;
    if (p == NULL || !p->open || e->inflight >= e->rt.o->window || e->issued >= g->cap)
        return false;
    uint64_t i = e->issued++;
    char buf[MAX_FRAME];
    int64_t now = real_ns();
    g->send_ns[i] = now;
    e->sent_mono[i] = mp_mono_ns();
    /* Request id i + 1 names message i; the text carries the send time
     * (realtime, common to every process) and the index for the receivers. */
    int n =
        snprintf(buf, sizeof(buf),
                 "{\"id\":%" PRIu64 ",\"type\":\"send\",\"conversation\":\"%s\","
                 "\"client_msg_id\":\"%s-g-%" PRIu64 "\",\"text\":\"%" PRId64 " %" PRIu64 " %s\"}",
                 i + 1, e->rt.ctx->group, e->rt.ctx->nonce, i, now, i, e->pad);
    mp_bench_conn_send(p->conn, buf, (size_t)n);
    e->inflight++;
    e->rt.st->sent++;
    return true;
}

/* Unthrottled: keep the window full while the run lasts. */
static void pump(gengine_t *e)
{
    if (e->s_phase != S_RUN || e->rt.o->rate > 0)
        return;
    while (send_message(e))
        ;
}

static void start_run(gengine_t *e);

static void send_probe(gengine_t *e, int64_t now)
{
    char buf[256];
    int n = snprintf(buf, sizeof(buf),
                     "{\"id\":%" PRId64 ",\"type\":\"send\",\"to\":\"%s\","
                     "\"client_msg_id\":\"%s-p-%" PRIu64 "\",\"text\":\"probe\"}",
                     PROBE_ID + (int64_t)e->probes, e->rt.ctx->acc[1].user_id, e->rt.ctx->nonce,
                     e->probes);
    if (e->sender->conn == NULL || mp_bench_conn_send(e->sender->conn, buf, (size_t)n) != 0) {
        start_run(e); /* the sender is gone: the run records it */
        return;
    }
    e->probes++;
    e->probe_sent_ns = now;
}

/* A fast probe ack: the server has caught up; a slow one: try again. */
static void on_probe_reply(gengine_t *e, json_t *j, json_int_t id)
{
    if (id != PROBE_ID + (int64_t)e->probes - 1 || e->probe_sent_ns == 0) {
        mp_bench_stats_error(e->rt.st, "reply to unknown probe id %" PRId64, (int64_t)id);
        return;
    }
    int64_t lat = mp_mono_ns() - e->probe_sent_ns;
    e->probe_sent_ns = 0;
    if (!json_is_true(json_object_get(j, "ok"))) {
        const char *code = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
        mp_bench_stats_error(e->rt.st, "probe send: %s", code ? code : "no ok");
        start_run(e); /* the run will show the same error if it matters */
    } else if (lat < PROBE_OK_MS * INT64_C(1000000)) {
        start_run(e);
    }
}

static void on_reply(gengine_t *e, json_t *j, json_int_t id)
{
    mp_bench_stats_t *st = e->rt.st;
    mp_bench_gshm_t *g = e->g;
    if (id >= PROBE_ID && e->s_phase == S_WAIT) {
        on_probe_reply(e, j, id);
        return;
    }
    if (id < 1 || (uint64_t)id > e->issued || g->acked[id - 1] != A_PENDING) {
        mp_bench_stats_error(st, "reply to unknown request id %" PRId64, (int64_t)id);
        return;
    }
    uint64_t i = (uint64_t)id - 1;
    e->inflight--;
    if (json_is_true(json_object_get(j, "ok"))) {
        g->acked[i] = A_ACKED;
        e->acked++;
        st->acked++;
        mp_bench_hist_record(&st->hist[MP_BENCH_H_ACK], (uint64_t)(mp_mono_ns() - e->sent_mono[i]));
    } else {
        const char *code = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
        g->acked[i] = A_FAILED;
        st->send_errors++;
        mp_bench_stats_error(st, "send: %s", code ? code : "reply without ok or error");
    }
    pump(e);
}

/* One arrival of the message whose text is "SEND_NS INDEX PAD". */
static void record(gengine_t *e, const char *text, size_t len)
{
    mp_bench_stats_t *st = e->rt.st;
    mp_bench_gshm_t *g = e->g;
    int64_t now = real_ns();
    char buf[48];
    snprintf(buf, sizeof(buf), "%.*s", (int)(len < sizeof(buf) - 1 ? len : sizeof(buf) - 1), text);
    char *end;
    long long sent = strtoll(buf, &end, 10);
    unsigned long long i = strtoull(end, &end, 10);
    if (sent <= 0 || *end != ' ' || i >= g->cap) {
        mp_bench_stats_error(st, "group message with an unexpected text");
        return;
    }
    size_t k = (size_t)e->rt.idx * g->cap + i;
    g->got[k]++;
    if (now > g->last_ns[k])
        g->last_ns[k] = now;
    st->delivered++;
    mp_bench_hist_record(&st->hist[MP_BENCH_H_DELIVER], now > sent ? (uint64_t)(now - sent) : 0);
}

static void on_message(gengine_t *e, json_t *m)
{
    mp_bench_stats_t *st = e->rt.st;
    const char *conv = json_string_value(json_object_get(m, "conversation"));
    const char *kind = json_string_value(json_object_get(m, "kind"));
    if (conv == NULL || strcmp(conv, e->rt.ctx->group) != 0 ||
        (kind != NULL && strcmp(kind, "system") == 0))
        return; /* not this run's group, or a membership notice */
    const char *sender = json_string_value(json_object_get(m, "sender"));
    const char *text = json_string_value(json_object_get(m, "text"));
    if (sender == NULL || text == NULL || strcmp(sender, e->rt.ctx->acc[0].user_id) != 0) {
        mp_bench_stats_error(st, "group message from an unexpected sender or without text");
        return;
    }
    record(e, text, strlen(text));
}

/* The value of the first "key":"..." in d, if it has no escapes. JSON
 * escapes every quote inside a string, so the pattern cannot match inside a
 * value. */
static const char *str_field(const char *d, size_t n, const char *key, size_t *len)
{
    char pat[32];
    int pn = snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    const char *v = memmem(d, n, pat, (size_t)pn);
    if (v == NULL)
        return NULL;
    v += pn;
    const char *q = memchr(v, '"', (size_t)(d + n - v));
    if (q == NULL || memchr(v, '\\', (size_t)(q - v)) != NULL)
        return NULL;
    *len = (size_t)(q - v);
    return v;
}

static bool field_is(const char *v, size_t len, const char *want)
{
    return v != NULL && len == strlen(want) && memcmp(v, want, len) == 0;
}

/* The hot frames without a JSON tree (the bench shares the server's cores,
 * and each message arrives once per online device): presence events, and
 * this group's text messages. Anything else, or anything unexpected, returns
 * false and goes through the parser and on_frame. */
static bool on_text(mp_bench_conn_t *c, const char *d, size_t n)
{
    gpeer_t *p = mp_bench_conn_ud(c);
    gengine_t *e = p->e;
    if (memmem(d, n, "\"event\":\"presence\"", 18) != NULL) {
        atomic_store(&e->g->last_presence_ns, mp_mono_ns());
        return true;
    }
    if (p->sender || memmem(d, n, "\"event\":\"message\"", 17) == NULL)
        return false;
    size_t kl = 0, cl = 0, sl = 0, tl = 0;
    const char *kind = str_field(d, n, "kind", &kl);
    const char *conv = str_field(d, n, "conversation", &cl);
    const char *sender = str_field(d, n, "sender", &sl);
    const char *text = str_field(d, n, "text", &tl);
    if (!field_is(kind, kl, "text") || !field_is(conv, cl, e->rt.ctx->group) ||
        !field_is(sender, sl, e->rt.ctx->acc[0].user_id) || text == NULL)
        return false;
    record(e, text, tl);
    return true;
}

static void on_frame(mp_bench_conn_t *c, json_t *j)
{
    gpeer_t *p = mp_bench_conn_ud(c);
    json_t *id = json_object_get(j, "id");
    if (json_is_integer(id)) {
        if (p->sender)
            on_reply(p->e, j, json_integer_value(id));
        return;
    }
    const char *ev = json_string_value(json_object_get(j, "event"));
    if (ev != NULL && strcmp(ev, "message") == 0 && !p->sender)
        on_message(p->e, json_object_get(j, "message"));
    else if (ev != NULL && strcmp(ev, "presence") == 0)
        atomic_store(&p->e->g->last_presence_ns, mp_mono_ns());
    /* presence and the rest: not what this scenario measures */
}

static void settle(gengine_t *e)
{
    if (++e->settled < e->n_peers || e->settled_all)
        return;
    e->settled_all = true;
    for (unsigned i = 0; i < e->n_peers; i++)
        if (!e->peers[i].sender && e->peers[i].open)
            e->local_online++;
    atomic_fetch_add(&e->g->online, e->local_online);
    atomic_fetch_add(&e->g->ready, 1);
    if (e->sender != NULL && !e->sender->open) {
        mp_bench_stats_error(e->rt.st, "the sender could not connect: nothing to measure");
        publish(e);
    }
}

static void on_open(mp_bench_conn_t *c)
{
    gpeer_t *p = mp_bench_conn_ud(c);
    mp_bench_stats_t *st = p->e->rt.st;
    p->open = true;
    st->conns_ok++;
    st->conns_open++;
    mp_bench_hist_record(&st->hist[MP_BENCH_H_CONNECT], (uint64_t)(mp_mono_ns() - p->t_start));
    settle(p->e);
}

static void on_close(mp_bench_conn_t *c, int opened, const char *why)
{
    gpeer_t *p = mp_bench_conn_ud(c);
    gengine_t *e = p->e;
    mp_bench_stats_t *st = e->rt.st;
    p->conn = NULL;
    p->open = false;
    if (!opened) {
        st->conns_failed++;
        mp_bench_stats_error(st, "%s: %s", p->acc->name, why ? why : "closed");
        settle(e);
        return;
    }
    st->conns_open--;
    if (why == NULL)
        return; /* we closed it */
    st->conns_dropped++;
    mp_bench_stats_error(st, "%s%s: connection lost: %s", p->acc->name,
                         p->sender ? " (the sender)" : "", why);
    if (p->sender) {
        e->inflight = 0; /* those replies will never come */
        if (e->s_phase == S_RUN || e->s_phase == S_DRAIN)
            publish(e);
    }
}

static const mp_bench_conn_cbs_t cbs = {
    .on_open = on_open, .on_frame = on_frame, .on_close = on_close, .on_text = on_text};

static void start_peer(mp_bench_rt_t *rt, unsigned i, void *ud)
{
    gengine_t *e = ud;
    gpeer_t *p = &e->peers[i];
    p->t_start = mp_mono_ns();
    p->conn = mp_bench__rt_connect(rt, p->acc->token, &cbs, p);
}

static void rate_cb(uv_timer_t *t)
{
    gengine_t *e = t->data;
    double want = (double)(mp_mono_ns() - e->t_run0) / 1e9 * e->rt.o->rate;
    while ((double)e->ticks < want) {
        e->ticks++;
        if (!send_message(e))
            e->rt.st->late++; /* window full: the server is behind the rate */
    }
}

static void run_over_cb(uv_timer_t *t)
{
    gengine_t *e = t->data;
    uv_timer_stop(&e->tick);
    if (e->s_phase != S_RUN)
        return; /* the sender was lost and has published already */
    e->t_run_end = mp_mono_ns();
    e->t_drain_end = e->t_run_end + (int64_t)(e->rt.o->drain_s * 1e9);
    e->rt.st->elapsed_ms = (e->t_run_end - e->t_run0) / 1000000;
    e->s_phase = S_DRAIN;
}

static void start_run(gengine_t *e)
{
    e->s_phase = S_RUN;
    e->t_run0 = mp_mono_ns();
    atomic_store(&e->g->settle_ms, (e->t_run0 - e->t_all_up) / 1000000);
    mp_bench__timer(&e->rt, &e->run_timer, (uint64_t)(e->rt.o->duration_s * 1000), 0, run_over_cb,
                    e);
    if (e->rt.o->rate > 0)
        mp_bench__timer(&e->rt, &e->tick, 1, 1, rate_cb, e);
    else
        pump(e);
}

/* The sender's phases that wait on something outside this process. */
static void sender_step(gengine_t *e, int64_t now)
{
    mp_bench_gshm_t *g = e->g;
    if (e->s_phase == S_WAIT && e->settled_all) {
        if (atomic_load(&g->ready) == g->nprocs) {
            if (e->t_all_up == 0)
                e->t_all_up = now;
            int64_t last = atomic_load(&g->last_presence_ns);
            int64_t quiet = now - (last > e->t_all_up ? last : e->t_all_up);
            if (now - e->t_all_up > QUIET_MAX_S * INT64_C(1000000000))
                start_run(e); /* never quiet: measure anyway */
            else if (quiet >= QUIET_MS * INT64_C(1000000) && e->probe_sent_ns == 0)
                send_probe(e, now);
        } else if (now > e->t_wait_limit) {
            mp_bench_stats_error(e->rt.st, "only %u of %u processes got their connections up",
                                 atomic_load(&g->ready), g->nprocs);
            publish(e);
        }
    } else if (e->s_phase == S_DRAIN) {
        if (e->inflight == 0) {
            publish(e);
        } else if (now > e->t_drain_end) {
            mp_bench_stats_error(e->rt.st, "%" PRIu64 " sends unanswered %.1f s after the run",
                                 e->inflight, e->rt.o->drain_s);
            publish(e);
        }
    }
}

/* Receivers are done once every acked message reached each of them, or the
 * drain time after the sender finished is over. */
static void receiver_step(gengine_t *e, int64_t now)
{
    mp_bench_gshm_t *g = e->g;
    if (!e->settled_all || e->listening_over)
        return;
    if (!atomic_load(&g->sender_done)) {
        if (now > e->t_listen_limit) {
            mp_bench_stats_error(e->rt.st, "worker %u: the sender never finished", e->rt.idx);
            e->listening_over = true;
        }
        return;
    }
    if (!e->saw_done) {
        e->saw_done = true;
        e->t_listen_limit = now + (int64_t)(e->rt.o->drain_s * 1e9);
    }
    uint64_t expected = atomic_load(&g->n_acked) * e->local_online;
    if (e->rt.st->delivered >= expected || now > e->t_listen_limit)
        e->listening_over = true; /* the parent checks every message */
}

static void poll_cb(uv_timer_t *t)
{
    gengine_t *e = t->data;
    int64_t now = mp_mono_ns();
    if (e->sender != NULL)
        sender_step(e, now);
    receiver_step(e, now);
    if (e->listening_over && (e->sender == NULL || e->s_phase == S_DONE))
        finish(e);
}

static void stuck_connect(gengine_t *e)
{
    unsigned pending = 0;
    for (unsigned i = 0; i < e->n_peers; i++)
        if (e->peers[i].conn != NULL && !e->peers[i].open)
            pending++;
    if (pending == 0)
        return;
    mp_bench_stats_error(e->rt.st, "%u connections still not up after %d s", pending, STUCK_S);
    for (unsigned i = 0; i < e->n_peers; i++)
        if (e->peers[i].conn != NULL && !e->peers[i].open)
            mp_bench_conn_close(e->peers[i].conn); /* settles as failed */
}

static void stuck_cb(uv_timer_t *t)
{
    gengine_t *e = t->data;
    if (!e->settled_all)
        stuck_connect(e);
}

int mp_bench__group_worker(unsigned idx, unsigned nprocs, mp_bench_stats_t *st,
                           mp_bench_reporter_t *rep, void *ud)
{
    const mp_bench_ctx_t *ctx = ud;
    const mp_bench_opts_t *o = ctx->o;
    gengine_t *e = mp_calloc(1, sizeof(*e));
    mp_bench__rt_init(&e->rt, ctx, idx, nprocs, st, rep);
    e->g = ctx->gshm;
    uv_timer_init(&e->rt.loop, &e->poll);
    uv_timer_init(&e->rt.loop, &e->tick);
    uv_timer_init(&e->rt.loop, &e->run_timer);
    e->pad = mp_malloc(o->size + 1);
    memset(e->pad, 'x', o->size);
    e->pad[o->size] = '\0';

    unsigned local = idx == 0 ? 1 : 0;
    for (unsigned r = idx; r < o->online; r += nprocs)
        local++;
    e->n_peers = local;
    e->peers = mp_calloc(local ? local : 1, sizeof(gpeer_t));
    unsigned k = 0;
    if (idx == 0) {
        e->sender = &e->peers[k++];
        e->sender->sender = true;
        e->sender->acc = &ctx->acc[0];
        e->sent_mono = mp_calloc(e->g->cap, sizeof(int64_t));
        e->s_phase = S_WAIT;
    }
    for (unsigned r = idx; r < o->online; r += nprocs)
        e->peers[k++].acc = &ctx->acc[1 + r];
    for (unsigned i = 0; i < local; i++)
        e->peers[i].e = e;

    double ramp = o->ramp > 0 ? o->ramp / nprocs : 0;
    int64_t connect_ns = (STUCK_S + (ramp > 0 ? (int64_t)(local / ramp) : 0)) * INT64_C(1000000000);
    e->t_wait_limit = mp_mono_ns() + connect_ns + INT64_C(10000000000);
    /* The sender's run, its drain, and a minute of slack. */
    e->t_listen_limit = e->t_wait_limit + (int64_t)((o->duration_s + o->drain_s + 60) * 1e9);
    mp_bench__timer(&e->rt, &e->run_timer, (uint64_t)(connect_ns / 1000000), 0, stuck_cb, e);
    mp_bench__timer(&e->rt, &e->poll, POLL_MS, POLL_MS, poll_cb, e);
    if (local == 0)
        settle(e); /* nothing to connect here: ready at once */
    else
        mp_bench__rt_ramp(&e->rt, local, ramp, start_peer, e);
    mp_bench__rt_run(&e->rt);
    st->conns_open = e->held;

    mp_free(e->sent_mono);
    mp_free(e->peers);
    mp_free(e->pad);
    mp_free(e);
    return 0;
}
