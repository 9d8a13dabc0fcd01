/* The engine behind the direct, history and sync scenarios: pairs of users,
 * one WebSocket each, exchanging messages (direct) or reading history pages
 * (history) or sync pages (sync) with a window of requests in flight per
 * connection, at a fixed total rate or as fast as the window allows.
 *
 * Phases: connect (ramped) -> seed (history, sync: store messages to read)
 * -> run (measured) -> drain (no new requests; wait for every reply and
 * delivery) -> finish (check counts, close). Pairs live entirely inside one
 * process, so "every acked message was delivered" is checked per process. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_int.h"
#include "util/alloc.h"
#include "util/clock.h"

enum { PH_CONNECT, PH_SEED, PH_RUN, PH_DRAIN, PH_DONE };
enum { K_FREE = 0, K_SEND, K_READ };

#define MAX_FRAME 8192
#define STUCK_S 60

typedef struct engine engine_t;

typedef struct peer {
    engine_t *e;
    mp_bench_conn_t *conn;
    const mp_bench_account_t *me, *other;
    char *conv; /* the pair's conversation id, "" until known */
    unsigned pair;
    uint8_t side;
    bool open;
    bool active; /* both ends of the pair are up */
    uint32_t inflight;
    uint32_t to_seed;
    int64_t next_id;
    uint64_t n_msgs;
    int64_t t_start; /* connect start, ns */
    /* in-flight requests: a ring of cap (a power of two) entries indexed by
     * the request id modulo cap; ids are sequential, so no hashing */
    int64_t *slot_id;
    int64_t *slot_t;
    uint8_t *slot_kind;
} peer_t;

struct engine {
    mp_bench_rt_t rt;
    mp_bench_pairs_mode_t mode;
    peer_t *peers;
    unsigned n_peers;
    unsigned cap;
    int phase;
    unsigned settled;
    uv_timer_t tick, phase_timer;
    int64_t t_run0, t_run_end, drain_deadline;
    double rate_proc;
    uint64_t issued;
    unsigned rr;
    char *pad;
    char (*conv)[24]; /* per local pair */
    uint64_t held;    /* connections open when the run ended */
};

static void enter_phase(engine_t *e, int phase);

static uint64_t total_inflight(const engine_t *e)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < e->n_peers; i++)
        n += e->peers[i].inflight;
    return n;
}

/* Takes a free slot for a new request; returns its id or 0 (window full). */
static int64_t take_slot(peer_t *p, int kind)
{
    engine_t *e = p->e;
    if (!p->open || !p->active || p->inflight >= e->rt.o->window)
        return 0;
    int64_t id = p->next_id;
    unsigned s = (unsigned)id & (e->cap - 1);
    if (p->slot_kind[s] != K_FREE)
        return 0; /* an older reply is overdue: wait for it */
    p->next_id++;
    p->slot_id[s] = id;
    p->slot_kind[s] = (uint8_t)kind;
    p->slot_t[s] = mp_mono_ns();
    p->inflight++;
    return id;
}

static bool send_message(peer_t *p)
{
    engine_t *e = p->e;
    int64_t id = take_slot(p, K_SEND);
    if (id == 0)
        return false;
    char buf[MAX_FRAME];
    unsigned s = (unsigned)id & (e->cap - 1);
    /* The send time travels in the text: the peer's delivery latency is
     * measured against the same monotonic clock (same machine). */
    /* Until the conversation id is known (no POST /v1/conversations/direct
     * on this server), "to" creates or finds the direct conversation. */
    bool to = p->conv[0] == '\0';
    /* client_msg_id as the clients make it (docs/protocol.md): the time
     * first, so that ids grow with it, then what makes it unique. */
    int n = snprintf(buf, sizeof(buf),
                     "{\"id\":%" PRId64 ",\"type\":\"send\",\"%s\":\"%s\","
                     "\"client_msg_id\":\"%011" PRIx64 "-%s-%u-%u-%" PRIu64 "\","
                     "\"text\":\"%" PRId64 " %s\"}",
                     id, to ? "to" : "conversation", to ? p->other->user_id : p->conv,
                     (uint64_t)mp_now_ms(), e->rt.ctx->nonce, p->pair, p->side, p->n_msgs++,
                     p->slot_t[s], e->pad);
    mp_bench_conn_send(p->conn, buf, (size_t)n);
    e->rt.st->sent++;
    return true;
}

static bool send_read(peer_t *p)
{
    if (p->conv[0] == '\0')
        return false; /* nothing was seeded, so no conversation to read */
    int64_t id = take_slot(p, K_READ);
    if (id == 0)
        return false;
    char buf[256];
    int n;
    if (p->e->mode == MP_BENCH_PAIRS_SYNC)
        n = snprintf(buf, sizeof(buf),
                     "{\"id\":%" PRId64 ",\"type\":\"sync\",\"since\":\"0\",\"limit\":%u}", id,
                     p->e->rt.o->limit);
    else
        n = snprintf(buf, sizeof(buf),
                     "{\"id\":%" PRId64 ",\"type\":\"history\",\"conversation\":\"%s\","
                     "\"limit\":%u}",
                     id, p->conv, p->e->rt.o->limit);
    mp_bench_conn_send(p->conn, buf, (size_t)n);
    return true;
}

/* One request of the kind the phase wants; false if none could be sent. */
static bool send_one(peer_t *p)
{
    engine_t *e = p->e;
    if (e->phase == PH_SEED) {
        if (p->to_seed == 0 || !send_message(p))
            return false;
        p->to_seed--;
        return true;
    }
    if (e->phase != PH_RUN)
        return false;
    return e->mode == MP_BENCH_PAIRS_DIRECT ? send_message(p) : send_read(p);
}

/* Fills the window (unthrottled modes). */
static void pump(peer_t *p)
{
    engine_t *e = p->e;
    if (e->phase == PH_RUN && e->rate_proc > 0)
        return; /* the rate tick decides */
    while (send_one(p))
        ;
}

static void check_seeded(engine_t *e)
{
    for (unsigned i = 0; i < e->n_peers; i++)
        if (e->peers[i].active && (e->peers[i].to_seed > 0 || e->peers[i].inflight > 0))
            return;
    if (e->rt.st->delivered < e->rt.st->acked)
        return; /* the pages to read must hold everything that was seeded */
    enter_phase(e, PH_RUN);
}

/* Frees the slot of request id; its kind, or K_FREE (error counted) when
 * no such request is in flight. *lat is its latency. */
static int reply_slot(peer_t *p, int64_t id, uint64_t *lat)
{
    engine_t *e = p->e;
    unsigned s = (unsigned)id & (e->cap - 1);
    if (p->slot_kind[s] == K_FREE || p->slot_id[s] != id) {
        mp_bench_stats_error(e->rt.st, "reply to unknown request id %" PRId64, id);
        return K_FREE;
    }
    int kind = p->slot_kind[s];
    *lat = (uint64_t)(mp_mono_ns() - p->slot_t[s]);
    p->slot_kind[s] = K_FREE;
    p->inflight--;
    return kind;
}

/* A send was answered: ok, or error code. cid (may be NULL, cid_len bytes)
 * is the conversation of a successful send. */
static void send_replied(peer_t *p, bool ok, const char *code, const char *cid, size_t cid_len,
                         uint64_t lat)
{
    mp_bench_stats_t *st = p->e->rt.st;
    if (ok && p->conv[0] == '\0' && cid != NULL && cid_len < 24) {
        memcpy(p->conv, cid, cid_len);
        p->conv[cid_len] = '\0';
    }
    if (ok) {
        st->acked++;
        mp_bench_hist_record(&st->hist[MP_BENCH_H_ACK], lat);
    } else {
        st->send_errors++;
        mp_bench_stats_error(st, "send: %s", code ? code : "reply without ok or error");
    }
}

/* A read was answered: a page with messages (ok), or an error code. */
static void read_replied(peer_t *p, bool ok, const char *code, uint64_t lat)
{
    mp_bench_stats_t *st = p->e->rt.st;
    if (ok) {
        st->reads++;
        mp_bench_hist_record(&st->hist[MP_BENCH_H_READ], lat);
    } else {
        st->read_errors++;
        mp_bench_stats_error(st, "%s: %s", p->e->mode == MP_BENCH_PAIRS_SYNC ? "sync" : "history",
                             code ? code : "reply without messages");
    }
}

static void after_reply(peer_t *p)
{
    if (p->e->phase == PH_SEED)
        check_seeded(p->e);
    pump(p);
}

static void on_reply(peer_t *p, json_t *j, int64_t id)
{
    uint64_t lat = 0;
    int kind = reply_slot(p, id, &lat);
    if (kind == K_FREE)
        return;
    json_t *err = json_object_get(j, "error");
    const char *code = json_string_value(json_object_get(err, "code"));
    bool ok = json_is_true(json_object_get(j, "ok"));
    if (kind == K_SEND) {
        const char *cid = json_string_value(json_object_get(j, "conversation"));
        send_replied(p, ok, code, cid, cid ? strlen(cid) : 0, lat);
    } else {
        /* A sync page also carries the cursor to continue from. */
        bool sync = p->e->mode == MP_BENCH_PAIRS_SYNC;
        read_replied(p,
                     ok && json_array_size(json_object_get(j, "messages")) > 0 &&
                         (!sync || json_is_string(json_object_get(j, "cursor"))),
                     code, lat);
    }
    after_reply(p);
}

/* A message event from sender (slen bytes) whose text starts with the send
 * time t (0 if it does not). */
static void message_seen(peer_t *p, const char *sender, size_t slen, int64_t t)
{
    mp_bench_stats_t *st = p->e->rt.st;
    const char *me = p->me->user_id, *other = p->other->user_id;
    if (slen == strlen(me) && memcmp(sender, me, slen) == 0)
        return; /* our own message echoed to this device: not a delivery */
    if (slen != strlen(other) || memcmp(sender, other, slen) != 0) {
        mp_bench_stats_error(st, "message from unexpected sender %.*s", (int)slen, sender);
        return;
    }
    st->delivered++;
    if (t > 0)
        mp_bench_hist_record(&st->hist[MP_BENCH_H_DELIVER], (uint64_t)(mp_mono_ns() - t));
    if (p->e->phase == PH_SEED)
        check_seeded(p->e);
}

static void on_message(peer_t *p, json_t *m)
{
    const char *sender = json_string_value(json_object_get(m, "sender"));
    const char *text = json_string_value(json_object_get(m, "text"));
    if (sender == NULL || text == NULL) {
        mp_bench_stats_error(p->e->rt.st, "message event without sender or text");
        return;
    }
    char *end;
    long long t = strtoll(text, &end, 10);
    message_seen(p, sender, strlen(sender), end != text ? t : 0);
}

static void on_frame(mp_bench_conn_t *c, json_t *j)
{
    peer_t *p = mp_bench_conn_ud(c);
    json_t *id = json_object_get(j, "id");
    if (json_is_integer(id)) {
        on_reply(p, j, json_integer_value(id));
        return;
    }
    const char *ev = json_string_value(json_object_get(j, "event"));
    if (ev != NULL && strcmp(ev, "message") == 0)
        on_message(p, json_object_get(j, "message"));
    /* presence, receipts, typing: not what this scenario measures */
}

/* ---- the fast path for the two hot frames --------------------------------- */

/* Whether d[0..n) starts with the literal lit. */
static bool starts(const char *d, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && memcmp(d, lit, k) == 0;
}

/* The value of the first string member "key" in d[0..n) (a compact JSON
 * object as the server writes it): *len bytes at the result, or NULL if absent
 * or escaped. A quoted key followed by ':"' can only be a key, never text
 * inside a string (whose quotes would be escaped). */
static const char *str_member(const char *d, size_t n, const char *key, size_t *len)
{
    char pat[32];
    int k = snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *at = memmem(d, n, pat, (size_t)k);
    if (at == NULL)
        return NULL;
    const char *v = at + k, *end = d + n;
    const char *q = memchr(v, '"', (size_t)(end - v));
    if (q == NULL || memchr(v, '\\', (size_t)(q - v)) != NULL)
        return NULL;
    *len = (size_t)(q - v);
    return v;
}

/* A history or sync page answering request id (rest: its bytes from
 * ,"ok":true, on) that holds messages, as the slow path judges it, without
 * parsing the page (12 KB and more): under the mixed load of `make
 * bench-targets` the tree of 500 pages a second was most of this client's
 * CPU, taken from the cores the server shares with it. A quoted key
 * followed by ':[{' can only be a key (quotes inside strings are escaped).
 * False leaves the frame to the slow path. */
static bool read_fast(peer_t *p, int64_t id, const char *rest, size_t n)
{
    engine_t *e = p->e;
    static const char msgs[] = "\"messages\":[{";
    if (e->mode == MP_BENCH_PAIRS_SYNC && !starts(rest, n, ",\"ok\":true,\"cursor\":\""))
        return false;
    if (memmem(rest, n, msgs, sizeof msgs - 1) == NULL)
        return false;
    uint64_t lat = 0;
    /* The caller matched the slot: reply_slot cannot fail here. */
    (void)reply_slot(p, id, &lat);
    read_replied(p, true, NULL, lat);
    after_reply(p);
    return true;
}

/* Recognises {"id":N,"ok":true,...} answering a send or a read (read_fast),
 * and {"event":"message","message":{...}}, the frames of the hot path,
 * without a JSON tree; everything else (errors, other events, other key
 * orders) returns false and goes through the parser. The server writes these
 * compactly with keys in insertion order (jansson keeps it). */
static bool on_text(mp_bench_conn_t *c, const char *d, size_t n)
{
    peer_t *p = mp_bench_conn_ud(c);
    if (starts(d, n, "{\"id\":")) {
        size_t i = 6;
        int64_t id = 0;
        while (i < n && d[i] >= '0' && d[i] <= '9' && i < 24)
            id = id * 10 + (d[i++] - '0');
        if (i == 6 || !starts(d + i, n - i, ",\"ok\":true,"))
            return false;
        unsigned s = (unsigned)id & (p->e->cap - 1);
        if (p->slot_kind[s] == K_READ && p->slot_id[s] == id)
            return read_fast(p, id, d + i, n - i);
        if (p->slot_kind[s] != K_SEND || p->slot_id[s] != id)
            return false; /* unknown id: the slow path judges */
        size_t cid_len = 0;
        const char *cid = p->conv[0] == '\0' ? str_member(d, n, "conversation", &cid_len) : NULL;
        uint64_t lat = 0;
        reply_slot(p, id, &lat);
        send_replied(p, true, NULL, cid, cid_len, lat);
        after_reply(p);
        return true;
    }
    if (!starts(d, n, "{\"event\":\"message\",\"message\":{"))
        return false;
    size_t slen = 0, tlen = 0;
    const char *sender = str_member(d, n, "sender", &slen);
    const char *text = str_member(d, n, "text", &tlen);
    if (sender == NULL || text == NULL)
        return false;
    int64_t t = 0;
    for (size_t i = 0; i < tlen && i < 19 && text[i] >= '0' && text[i] <= '9'; i++)
        t = t * 10 + (text[i] - '0');
    message_seen(p, sender, slen, t);
    return true;
}

static void settle(engine_t *e)
{
    if (++e->settled == e->n_peers && e->phase == PH_CONNECT)
        enter_phase(e, e->mode == MP_BENCH_PAIRS_DIRECT ? PH_RUN : PH_SEED);
}

static void on_open(mp_bench_conn_t *c)
{
    peer_t *p = mp_bench_conn_ud(c);
    mp_bench_stats_t *st = p->e->rt.st;
    p->open = true;
    st->conns_ok++;
    st->conns_open++;
    mp_bench_hist_record(&st->hist[MP_BENCH_H_CONNECT], (uint64_t)(mp_mono_ns() - p->t_start));
    settle(p->e);
}

static void on_close(mp_bench_conn_t *c, int opened, const char *why)
{
    peer_t *p = mp_bench_conn_ud(c);
    engine_t *e = p->e;
    mp_bench_stats_t *st = e->rt.st;
    p->conn = NULL;
    p->open = false;
    if (!opened) {
        st->conns_failed++;
        mp_bench_stats_error(st, "%s: %s", p->me->name, why ? why : "closed");
        settle(e);
        return;
    }
    st->conns_open--;
    if (why == NULL)
        return; /* we closed it */
    st->conns_dropped++;
    mp_bench_stats_error(st, "%s: connection lost with %u requests in flight: %s", p->me->name,
                         p->inflight, why);
    p->inflight = 0;
    memset(p->slot_kind, K_FREE, e->cap);
}

static const mp_bench_conn_cbs_t cbs = {on_open, on_frame, on_close, on_text};

static void start_peer(mp_bench_rt_t *rt, unsigned i, void *ud)
{
    engine_t *e = ud;
    peer_t *p = &e->peers[i];
    p->t_start = mp_mono_ns();
    p->conn = mp_bench__rt_connect(rt, p->me->token, &cbs, p);
}

static void rate_cb(uv_timer_t *t)
{
    engine_t *e = t->data;
    double want = (double)(mp_mono_ns() - e->t_run0) / 1e9 * e->rate_proc;
    while ((double)e->issued < want) {
        e->issued++;
        peer_t *p = &e->peers[e->rr];
        e->rr = (e->rr + 1) % e->n_peers;
        if (p->active && !send_one(p))
            e->rt.st->late++; /* window full: the server is behind the rate */
    }
}

static void finish(engine_t *e)
{
    mp_bench_stats_t *st = e->rt.st;
    uint64_t left = total_inflight(e);
    if (left > 0)
        mp_bench_stats_error(st, "%" PRIu64 " requests unanswered %.1f s after the run", left,
                             e->rt.o->drain_s);
    if (st->delivered != st->acked)
        mp_bench_stats_error(st, "%" PRIu64 " messages acked but %" PRIu64 " delivered", st->acked,
                             st->delivered);
    st->elapsed_ms = (e->t_run_end - e->t_run0) / 1000000;
    e->held = st->conns_open;
    for (unsigned i = 0; i < e->n_peers; i++)
        if (e->peers[i].conn != NULL)
            mp_bench_conn_close(e->peers[i].conn);
    uv_close((uv_handle_t *)&e->tick, NULL);
    uv_close((uv_handle_t *)&e->phase_timer, NULL);
    mp_bench__rt_stop(&e->rt);
}

static void drain_cb(uv_timer_t *t)
{
    engine_t *e = t->data;
    bool quiet = total_inflight(e) == 0 && e->rt.st->delivered >= e->rt.st->acked;
    if (quiet || mp_mono_ns() >= e->drain_deadline)
        enter_phase(e, PH_DONE);
}

/* Connecting or seeding took far too long: count it and end the run. */
static void stuck_cb(uv_timer_t *t)
{
    engine_t *e = t->data;
    if (e->phase == PH_CONNECT) {
        mp_bench_stats_error(e->rt.st, "connections still not up after %d s", STUCK_S);
        for (unsigned i = 0; i < e->n_peers; i++)
            if (e->peers[i].conn != NULL && !e->peers[i].open)
                mp_bench_conn_close(e->peers[i].conn); /* settles as failed */
        return;
    }
    mp_bench_stats_error(e->rt.st, "seeding not finished after %d s", STUCK_S);
    e->t_run0 = mp_mono_ns();
    enter_phase(e, PH_DRAIN);
}

static void run_over_cb(uv_timer_t *t)
{
    enter_phase(t->data, PH_DRAIN);
}

static void activate_pairs(engine_t *e)
{
    for (unsigned i = 0; i < e->n_peers; i += 2) {
        peer_t *a = &e->peers[i], *b = &e->peers[i + 1];
        a->active = b->active = a->open && b->open;
        if (!a->active) { /* its partner failed: nothing to measure */
            if (a->conn)
                mp_bench_conn_close(a->conn);
            if (b->conn)
                mp_bench_conn_close(b->conn);
        }
    }
}

static void enter_phase(engine_t *e, int phase)
{
    const mp_bench_opts_t *o = e->rt.o;
    e->phase = phase;
    switch (phase) {
    case PH_SEED:
        activate_pairs(e);
        mp_bench__timer(&e->rt, &e->phase_timer, STUCK_S * 1000, 0, stuck_cb, e);
        for (unsigned i = 0; i < e->n_peers; i += 2)
            e->peers[i].to_seed = o->seed;
        for (unsigned i = 0; i < e->n_peers; i++)
            pump(&e->peers[i]);
        check_seeded(e);
        break;
    case PH_RUN:
        if (e->mode == MP_BENCH_PAIRS_DIRECT)
            activate_pairs(e);
        e->t_run0 = mp_mono_ns();
        mp_bench__timer(&e->rt, &e->phase_timer, (uint64_t)(o->duration_s * 1000), 0, run_over_cb,
                        e);
        if (e->rate_proc > 0)
            mp_bench__timer(&e->rt, &e->tick, 1, 1, rate_cb, e);
        for (unsigned i = 0; i < e->n_peers; i++)
            pump(&e->peers[i]);
        break;
    case PH_DRAIN:
        e->t_run_end = mp_mono_ns();
        uv_timer_stop(&e->tick);
        e->drain_deadline = e->t_run_end + (int64_t)(o->drain_s * 1e9);
        mp_bench__timer(&e->rt, &e->phase_timer, 0, 5, drain_cb, e);
        break;
    case PH_DONE:
        finish(e);
        break;
    }
}

int mp_bench__pairs_run(mp_bench_pairs_mode_t mode, unsigned idx, unsigned nprocs,
                        mp_bench_stats_t *st, mp_bench_reporter_t *rep, const mp_bench_ctx_t *ctx)
{
    const mp_bench_opts_t *o = ctx->o;
    engine_t *e = mp_calloc(1, sizeof(*e));
    mp_bench__rt_init(&e->rt, ctx, idx, nprocs, st, rep);
    uv_timer_init(&e->rt.loop, &e->tick);
    uv_timer_init(&e->rt.loop, &e->phase_timer);
    e->mode = mode;
    e->cap = 1;
    while (e->cap < o->window)
        e->cap <<= 1;
    e->pad = mp_malloc(o->size + 1);
    memset(e->pad, 'x', o->size);
    e->pad[o->size] = '\0';

    unsigned local = 0;
    for (unsigned i = idx; i < ctx->n_pairs; i += nprocs)
        local++;
    e->n_peers = 2 * local;
    e->peers = mp_calloc(e->n_peers ? e->n_peers : 1, sizeof(peer_t));
    e->conv = mp_calloc(local ? local : 1, sizeof(*e->conv));
    unsigned k = 0;
    for (unsigned i = idx; i < ctx->n_pairs; i += nprocs) {
        for (uint8_t side = 0; side < 2; side++, k++) {
            peer_t *p = &e->peers[k];
            p->e = e;
            p->pair = i;
            p->side = side;
            p->me = &ctx->acc[2 * i + side];
            p->other = &ctx->acc[2 * i + 1 - side];
            p->conv = e->conv[k / 2];
            memcpy(p->conv, ctx->conv[i], sizeof(ctx->conv[i]));
            p->next_id = 1;
            p->slot_id = mp_calloc(e->cap, sizeof(int64_t));
            p->slot_t = mp_calloc(e->cap, sizeof(int64_t));
            p->slot_kind = mp_calloc(e->cap, 1);
        }
    }
    if (o->rate > 0 && ctx->n_pairs > 0)
        e->rate_proc = o->rate * (double)e->n_peers / (2.0 * ctx->n_pairs);

    if (e->n_peers == 0)
        enter_phase(e, PH_DONE);
    else {
        mp_bench__timer(&e->rt, &e->phase_timer, STUCK_S * 1000, 0, stuck_cb, e);
        mp_bench__rt_ramp(&e->rt, e->n_peers, o->ramp / nprocs, start_peer, e);
    }
    mp_bench__rt_run(&e->rt);
    st->conns_open = e->held;

    for (unsigned i = 0; i < e->n_peers; i++) {
        mp_free(e->peers[i].slot_id);
        mp_free(e->peers[i].slot_t);
        mp_free(e->peers[i].slot_kind);
    }
    mp_free(e->peers);
    mp_free(e->conv);
    mp_free(e->pad);
    mp_free(e);
    return 0;
}
