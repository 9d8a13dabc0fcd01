/* The cluster under chaos: 30,000 messages are sent through three nodes (one
 * nats-server, a PostgreSQL cluster of the test's own) while the test kills a
 * node with -9 and restarts it, restarts PostgreSQL and restarts NATS.
 *
 * Senders are spread over the nodes, each pipelining a window of sends with a
 * unique client_msg_id each, into a direct conversation (its peer sends from
 * another node) and, for some, a group with members on every node. A sender
 * whose WebSocket dies reconnects (to its node once it is back, else to
 * another) and sends every unacked message again with the same
 * client_msg_id; a send answered `unavailable` is sent again too. Other
 * devices of some users sync repeatedly during all of it, keeping their
 * cursor.
 *
 * Afterwards: every acked message is stored exactly once at its acked seq,
 * every conversation's seqs are 1..n, no retried send made a second copy;
 * every sender's device syncs from the start and reads every conversation's
 * history and finds exactly the acked messages, each once, in seq order; and
 * each device that synced during the chaos got every message exactly once
 * and in seq order.
 *
 * MAGPIE_CHAOS_MESSAGES sets the number of messages (default 30000). Skipped
 * on the SQLite run: several nodes need a shared database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <time.h>

#include "test_chat_util.h"
#include "test_cluster_util.h"

#define NODES 3
#define SENDERS 30
/* Users 0..GROUP_MEMBERS-1 share one group (two per node). */
#define GROUP_MEMBERS 6
/* Users 0..SYNCERS-1 have a second device that syncs during the chaos. */
#define SYNCERS 6
/* Sends in flight per sender. */
#define WINDOW 40
/* A sender waits this long for the replies of its window; then it takes the
 * connection for dead, reconnects and sends again. */
#define REPLY_TIMEOUT_MS 30000
/* The whole sending phase, chaos included. */
#define SEND_DEADLINE_MS 240000
/* A message that keeps failing past this many sends is a bug. */
#define MAX_SENDS_PER_MSG 50
#define MAX_RECONNECTS 200
/* Sync pages a syncer reads per round (the rest comes next round). */
#define SYNC_PAGES_PER_ROUND 4

static mpt_pg_own_t pg;
static mpt_nats_t nats;
static mpt_server_t *node[NODES];
static bool have_pg;

/* ---- the messages ----------------------------------------------------------------- */

enum { M_NEW, M_INFLIGHT, M_RETRY, M_ACKED };

typedef struct rec {
    char cmid[24];
    int conv;  /* index into convs */
    int state; /* M_ */
    int sends; /* frames sent for it */
    long long seq;
    char message_id[24];
} rec_t;

typedef struct conv {
    char id[24];
    int members[GROUP_MEMBERS]; /* user indexes */
    int n_members;
    long long acked; /* messages acked into it */
} conv_t;

typedef struct sender {
    chat_dev_t d;
    int home; /* node index */
    int at;   /* node index it is connected to, -1 when disconnected */
    rec_t *recs;
    int n;              /* its messages */
    int lo;             /* every rec below is acked */
    int flight[WINDOW]; /* rec index per request id - round base */
    int n_flight;
    int64_t base; /* request id of flight[0] */
} sender_t;

/* A device that syncs during the chaos: per conversation the highest seq it
 * got, and every message of ours it got (by its text, our client_msg_id). */
typedef struct syncer {
    chat_dev_t d;
    int home, at;
    char cursor[32];
    json_t *last_seq; /* conversation id -> highest seq seen */
    json_t *seen;     /* client_msg_id -> [seq, message_id] */
    long long messages, syncs;
} syncer_t;

#define MAX_CONVS (SENDERS / 2 + 1)
static conv_t convs[MAX_CONVS];
static int n_convs;
static sender_t snd[SENDERS];
static syncer_t syn[SYNCERS];

/* Figures. */
static long long n_retries, n_reconnects, n_error_replies, n_duplicates, n_timeouts;
static long long n_sync_reconnects;
static json_t *error_codes; /* code -> how many error replies had it */
static long long n_resend_unavailable;

static bool is_member(int conv, int user)
{
    for (int i = 0; i < convs[conv].n_members; i++)
        if (convs[conv].members[i] == user)
            return true;
    return false;
}

static int total_messages(void)
{
    const char *e = getenv("MAGPIE_CHAOS_MESSAGES");
    int n = e ? atoi(e) : 30000;
    return n >= SENDERS ? n : 30000;
}

/* Users, conversations and each sender's messages: sender i is on node
 * i % 3 and talks to its pair (i ^ 1, on another node); the group members
 * send every third message into the group. */
static void world_up(int total)
{
    for (int i = 0; i < SENDERS; i++) {
        snd[i].home = i % NODES;
        assert_int_equal(mpt_user_new(node[snd[i].home], "cha", &snd[i].d.s), 0);
    }
    for (int i = 0; i < SENDERS; i += 2) {
        conv_t *c = &convs[n_convs++];
        assert_int_equal(direct_conv(node[snd[i].home], &snd[i].d, snd[i + 1].d.s.user_id, c->id),
                         201);
        c->members[0] = i;
        c->members[1] = i + 1;
        c->n_members = 2;
    }
    json_t *ids = json_array();
    for (int i = 1; i < GROUP_MEMBERS; i++)
        json_array_append_new(ids, json_string(snd[i].d.s.user_id));
    json_t *body = NULL;
    int st = http_json(node[1], "POST", "/v1/groups", snd[0].d.s.access,
                       json_pack("{s:s,s:o}", "title", "Chaos", "member_ids", ids), &body);
    assert_int_equal(st, 201);
    conv_t *g = &convs[n_convs++];
    snprintf(g->id, sizeof g->id, "%s", jstr(body, "conversation_id"));
    json_decref(body);
    for (int i = 0; i < GROUP_MEMBERS; i++)
        g->members[i] = i;
    g->n_members = GROUP_MEMBERS;
    int group = n_convs - 1;

    for (int i = 0; i < SENDERS; i++) {
        sender_t *s = &snd[i];
        s->n = total / SENDERS + (i < total % SENDERS ? 1 : 0);
        s->recs = calloc((size_t)s->n, sizeof *s->recs);
        for (int j = 0; j < s->n; j++) {
            rec_t *r = &s->recs[j];
            snprintf(r->cmid, sizeof r->cmid, "x%d-%d", i, j);
            r->conv = i < GROUP_MEMBERS && j % 3 == 0 ? group : i / 2;
        }
        dev_open(node[s->home], &s->d);
        s->at = s->home;
    }
    for (int i = 0; i < SYNCERS; i++) {
        syncer_t *y = &syn[i];
        assert_int_equal(mpt_device_new(node[0], &snd[i].d.s, &y->d.s), 0);
        y->home = (snd[i].home + 1) % NODES;
        dev_open(node[y->home], &y->d);
        y->at = y->home;
        snprintf(y->cursor, sizeof y->cursor, "0");
        y->last_seq = json_object();
        y->seen = json_object();
    }
}

/* ---- sending -------------------------------------------------------------------------- */

static bool node_up[NODES] = {true, true, true};

/* Opens d's WebSocket on its home node if it is up, else on another one.
 * Returns the node index, or -1 (try again next round). */
static int reconnect(chat_dev_t *d, int home)
{
    dev_close(d);
    for (int k = 0; k < NODES; k++) {
        int i = (home + k) % NODES;
        if (!node_up[i])
            continue;
        d->ws = mpt_ws_open(node[i], d->s.access);
        if (d->ws != NULL)
            return i;
    }
    return -1;
}

/* The connection died: what it did not answer is sent again. */
static void sender_lost(sender_t *s)
{
    for (int k = 0; k < s->n_flight; k++)
        if (s->recs[s->flight[k]].state == M_INFLIGHT)
            s->recs[s->flight[k]].state = M_RETRY;
    s->n_flight = 0;
    dev_close(&s->d);
    s->at = -1;
}

/* Sends up to WINDOW frames: the unacked ones first (same client_msg_id),
 * then new ones. */
static void sender_write(sender_t *s, int64_t base)
{
    s->base = base;
    s->n_flight = 0;
    while (s->lo < s->n && s->recs[s->lo].state == M_ACKED)
        s->lo++;
    for (int j = s->lo; j < s->n && s->n_flight < WINDOW; j++) {
        rec_t *r = &s->recs[j];
        if (r->state == M_ACKED || r->state == M_INFLIGHT)
            continue;
        if (r->state == M_RETRY)
            n_retries++;
        if (++r->sends > MAX_SENDS_PER_MSG)
            fail_msg("%s was sent %d times and never acked", r->cmid, MAX_SENDS_PER_MSG);
        json_t *f = json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)(base + s->n_flight),
                              "type", "send", "conversation", convs[r->conv].id, "client_msg_id",
                              r->cmid, "text", r->cmid);
        int rc = mpc_ws_send_json(s->d.ws, f, MPT_TIMEOUT);
        json_decref(f);
        r->state = M_INFLIGHT;
        s->flight[s->n_flight++] = j;
        if (rc != MPC_OK) {
            sender_lost(s);
            return;
        }
    }
}

/* Takes the reply to r's send; what is wrong with it goes to err. */
static void take_reply(rec_t *r, json_t *reply, char err[160])
{
    if (is_ok(reply)) {
        long long seq = jint(reply, "seq");
        const char *mid = jstr(reply, "message_id") ? jstr(reply, "message_id") : "";
        /* A retry of a stored send must answer the original. */
        if (r->seq != 0 && (r->seq != seq || strcmp(r->message_id, mid) != 0)) {
            snprintf(err, 160, "%s acked as seq %lld, then as seq %lld", r->cmid, r->seq, seq);
            return;
        }
        if (json_is_true(json_object_get(reply, "duplicate")))
            n_duplicates++;
        if (r->state != M_ACKED)
            convs[r->conv].acked++;
        r->seq = seq;
        snprintf(r->message_id, sizeof r->message_id, "%s", mid);
        r->state = M_ACKED;
        return;
    }
    const char *code = mpt_error_code(reply);
    /* Only "try again" (the database is restarting) is expected. */
    if (code == NULL || strcmp(code, "unavailable") != 0) {
        snprintf(err, 160, "%s answered %s", r->cmid, code ? code : "(no code)");
        return;
    }
    n_error_replies++;
    json_object_set_new(error_codes, code,
                        json_integer(json_integer_value(json_object_get(error_codes, code)) + 1));
    r->state = M_RETRY;
}

/* Reads the replies to the window (events in between are skipped). */
static void sender_read(sender_t *s)
{
    int got = 0;
    long long deadline = mpt_mono_ms() + REPLY_TIMEOUT_MS;
    while (got < s->n_flight) {
        long long left = deadline - mpt_mono_ms();
        mpc_ws_msg_t m;
        int rc = left > 0 ? mpc_ws_recv(s->d.ws, (int)left, &m) : MPC_ERR_TIMEOUT;
        if (rc != MPC_OK) {
            if (rc == MPC_ERR_TIMEOUT)
                n_timeouts++;
            sender_lost(s);
            return;
        }
        if (m.opcode == MPC_WS_CLOSE) {
            mpc_ws_msg_free(&m);
            sender_lost(s);
            return;
        }
        json_t *id = m.json ? json_object_get(m.json, "id") : NULL;
        int64_t k = json_is_integer(id) ? (int64_t)json_integer_value(id) - s->base : -1;
        char err[160] = "";
        if (k >= 0 && k < s->n_flight) {
            got++;
            take_reply(&s->recs[s->flight[k]], m.json, err);
        }
        mpc_ws_msg_free(&m); /* before failing: nothing leaks */
        if (err[0])
            fail_msg("%s", err);
    }
    s->n_flight = 0;
}

/* A client that never saw its acks sends its last window again, through
 * another node: every send must come back as the original (duplicate, same
 * seq and message id) and store nothing. `unavailable` is sent again, as a
 * client does (a node's first use of a database connection that died in the
 * restart can fail). Returns how many were resent. */
static int resend_acked(sender_t *s)
{
    int to = (s->at + 1) % NODES;
    dev_close(&s->d);
    s->d.ws = mpt_ws_open(node[to], s->d.s.access);
    assert_non_null(s->d.ws);
    s->at = to;
    int from = s->n > WINDOW ? s->n - WINDOW : 0, n = s->n - from;
    int pending[WINDOW], n_pending = n;
    for (int k = 0; k < n; k++)
        pending[k] = from + k;
    for (int pass = 0; n_pending > 0; pass++) {
        if (pass == 20)
            fail_msg("sender %s: retries still unavailable after 20 passes", s->d.s.user_id);
        if (pass > 0)
            pause_ms(100);
        int64_t base = (int64_t)pass * WINDOW + 1;
        for (int k = 0; k < n_pending; k++) {
            rec_t *r = &s->recs[pending[k]];
            json_t *f = json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)(base + k), "type",
                                  "send", "conversation", convs[r->conv].id, "client_msg_id",
                                  r->cmid, "text", r->cmid);
            assert_int_equal(mpc_ws_send_json(s->d.ws, f, MPT_TIMEOUT), MPC_OK);
            json_decref(f);
        }
        int again[WINDOW], n_again = 0;
        for (int got = 0; got < n_pending;) {
            mpc_ws_msg_t m;
            assert_int_equal(mpc_ws_recv(s->d.ws, REPLY_TIMEOUT_MS, &m), MPC_OK);
            json_t *id = m.json ? json_object_get(m.json, "id") : NULL;
            int64_t k = json_is_integer(id) ? (int64_t)json_integer_value(id) - base : -1;
            char err[400] = "";
            if (k >= 0 && k < n_pending) {
                rec_t *r = &s->recs[pending[k]];
                const char *code = mpt_error_code(m.json);
                if (code != NULL && strcmp(code, "unavailable") == 0) {
                    again[n_again++] = pending[k];
                    n_resend_unavailable++;
                } else if (!is_ok(m.json) || !json_is_true(json_object_get(m.json, "duplicate")) ||
                           jint(m.json, "seq") != r->seq ||
                           strcmp(jstr(m.json, "message_id") ? jstr(m.json, "message_id") : "",
                                  r->message_id) != 0) {
                    char *dump = json_dumps(m.json, JSON_COMPACT);
                    snprintf(err, sizeof err, "%s (seq %lld, %s) sent again: %.200s", r->cmid,
                             r->seq, r->message_id, dump ? dump : "?");
                    free(dump);
                }
                got++;
            }
            mpc_ws_msg_free(&m); /* before failing: nothing leaks */
            if (err[0])
                fail_msg("%s", err);
        }
        memcpy(pending, again, sizeof again[0] * (size_t)n_again);
        n_pending = n_again;
    }
    return n;
}

/* ---- syncing -------------------------------------------------------------------------- */

/* Takes one sync reply's messages into y, checking that each message of a
 * conversation is the next seq of it (exactly once, in order). */
static void syncer_take(syncer_t *y, json_t *msgs)
{
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        const char *conv = jstr(m, "conversation");
        long long seq = jint(m, "seq");
        long long last = (long long)json_integer_value(json_object_get(y->last_seq, conv));
        if (seq != last + 1)
            fail_msg("device %s: conversation %s seq %lld after %lld", y->d.s.device_id, conv, seq,
                     last);
        json_object_set_new(y->last_seq, conv, json_integer(seq));
        /* Ours carry their client_msg_id as text (the id itself is shown
         * only to the sender's devices). */
        const char *text = jstr(m, "text");
        if (text != NULL && text[0] == 'x') {
            if (json_object_get(y->seen, text) != NULL)
                fail_msg("device %s got %s twice", y->d.s.device_id, text);
            json_object_set_new(y->seen, text,
                                json_pack("[I,s]", (json_int_t)seq, jstr(m, "message_id")));
        }
        y->messages++;
    }
}

/* Up to `pages` sync pages from y's cursor. Returns true when caught up
 * (has_more false); false when there is more or the connection failed (then
 * it reconnects next time; the cursor is kept). */
static bool syncer_step(syncer_t *y, int pages)
{
    if (y->d.ws == NULL) {
        y->at = reconnect(&y->d, y->home);
        if (y->at < 0)
            return false;
        n_sync_reconnects++;
    }
    for (int p = 0; p < pages; p++) {
        json_t *req = json_pack("{s:s,s:s}", "type", "sync", "since", y->cursor);
        json_t *r = NULL;
        int rc = mpc_ws_request(y->d.ws, req, REPLY_TIMEOUT_MS, &r);
        json_decref(req);
        if (rc != MPC_OK) {
            dev_close(&y->d);
            return false;
        }
        if (!is_ok(r)) {
            const char *code = mpt_error_code(r);
            if (code == NULL || strcmp(code, "unavailable") != 0)
                fail_msg("sync answered %s", code ? code : "(no code)");
            json_decref(r);
            return false;
        }
        syncer_take(y, json_object_get(r, "messages"));
        snprintf(y->cursor, sizeof y->cursor, "%s", jstr(r, "cursor"));
        y->syncs++;
        bool more = json_is_true(json_object_get(r, "has_more"));
        json_decref(r);
        /* Live events are not what this device checks; drop them so that
         * they do not pile up. */
        json_t *ev = NULL;
        while (mpc_ws_next_event(y->d.ws, 0, &ev) == MPC_OK)
            json_decref(ev);
        if (!more)
            return true;
    }
    return false;
}

/* ---- the chaos -------------------------------------------------------------------------- */

typedef struct step {
    double at; /* fraction of the messages acked */
    const char *what;
    bool done;
} step_t;

static step_t steps[] = {
    {0.10, "kill -9 node 3", false},     {0.25, "restart node 3", false},
    {0.40, "restart PostgreSQL", false}, {0.60, "kill -9 NATS", false},
    {0.75, "restart NATS", false},
};
#define N_STEPS (sizeof steps / sizeof steps[0])

/* Waits (bounded) for s's first reply; it is not taken as an ack. */
static void wait_first_reply(sender_t *s)
{
    long long deadline = mpt_mono_ms() + REPLY_TIMEOUT_MS;
    for (;;) {
        long long left = deadline - mpt_mono_ms();
        mpc_ws_msg_t m;
        if (left <= 0 || mpc_ws_recv(s->d.ws, (int)left, &m) != MPC_OK)
            fail_msg("node 3 answered no send within %d ms", REPLY_TIMEOUT_MS);
        bool reply = m.json != NULL && json_is_integer(json_object_get(m.json, "id"));
        mpc_ws_msg_free(&m);
        if (reply)
            return;
    }
}

static void chaos(int k, long long t0)
{
    fprintf(stderr, "chaos: %.1f s: %s\n", (double)(mpt_mono_ms() - t0) / 1000, steps[k].what);
    switch (k) {
    case 0:
        /* Once node 3 answers the first send of the window it is committing
         * it: the kill then lands among stored sends whose acks its clients
         * never read, so their retries must come back as duplicates. */
        for (int i = 0; i < SENDERS; i++)
            if (snd[i].at == 2 && snd[i].n_flight > 0) {
                wait_first_reply(&snd[i]);
                break;
            }
        node_up[2] = false;
        mpt_server_kill9(node[2]);
        break;
    case 1:
        assert_int_equal(mpt_server_restart(node[2]), 0);
        node_up[2] = true;
        break;
    case 2:
        assert_int_equal(mpt_pg_own_restart(&pg), 0);
        break;
    case 3:
        mpt_nats_kill9(&nats);
        break;
    case 4:
        assert_int_equal(mpt_nats_start(&nats, nats.port), 0);
        break;
    }
    steps[k].done = true;
}

/* ---- checks ------------------------------------------------------------------------------ */

static long long db_i64(const char *sql)
{
    long long v = -1;
    assert_int_equal(mpt_db_i64(node[0], sql, &v), 0);
    return v;
}

static void check_database(int total)
{
    char sql[512];
    assert_int_equal(db_i64("SELECT count(*) FROM messages WHERE client_msg_id LIKE 'x%'"), total);
    assert_int_equal(
        db_i64("SELECT count(DISTINCT client_msg_id) FROM messages WHERE client_msg_id LIKE 'x%'"),
        total);
    for (int c = 0; c < n_convs; c++) {
        snprintf(sql, sizeof sql,
                 "SELECT count(*) = max(seq) AND min(seq) = 1 AND count(DISTINCT seq) = count(*)"
                 " FROM messages WHERE conversation_id = %s",
                 convs[c].id);
        if (db_i64(sql) != 1)
            fail_msg("conversation %s: seqs are not 1..n", convs[c].id);
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM messages WHERE conversation_id = %s AND client_msg_id LIKE "
                 "'x%%'",
                 convs[c].id);
        assert_int_equal(db_i64(sql), convs[c].acked);
    }
    /* Every acked message at its acked place, in one query. */
    size_t cap = (size_t)total * 128 + 512, len = 0; /* a tuple is under 100 bytes */
    char *q = malloc(cap);
    len += (size_t)snprintf(q + len, cap - len, "SELECT count(*) FROM (VALUES ");
    bool first = true;
    for (int i = 0; i < SENDERS; i++)
        for (int j = 0; j < snd[i].n; j++) {
            rec_t *r = &snd[i].recs[j];
            len += (size_t)snprintf(q + len, cap - len,
                                    "%s('%s',%s::bigint,%lld::bigint,%s::bigint)", first ? "" : ",",
                                    r->cmid, convs[r->conv].id, r->seq, r->message_id);
            first = false;
        }
    snprintf(q + len, cap - len,
             ") AS v(cmid, conv, seq, id) JOIN messages m ON m.client_msg_id = v.cmid AND "
             "m.conversation_id = v.conv AND m.seq = v.seq AND m.id = v.id");
    assert_int_equal(db_i64(q), total);
    free(q);
}

/* Whether a message seen (as [seq, message_id]) is r as acked. */
static bool seen_as_acked(const json_t *at, const rec_t *r)
{
    return at != NULL && json_integer_value(json_array_get(at, 0)) == r->seq &&
           strcmp(json_string_value(json_array_get(at, 1)), r->message_id) == 0;
}

/* User u's device saw every acked message of u's conversations at its
 * acked seq with its acked id, nothing else of ours, and each conversation
 * up to its stored end. */
static void check_seen(const char *who, int u, json_t *last_seq, json_t *seen)
{
    size_t want = 0;
    for (int i = 0; i < SENDERS; i++)
        for (int j = 0; j < snd[i].n; j++) {
            rec_t *r = &snd[i].recs[j];
            if (!is_member(r->conv, u))
                continue;
            want++;
            if (!seen_as_acked(json_object_get(seen, r->cmid), r))
                fail_msg("%s: acked %s (seq %lld) missing or moved", who, r->cmid, r->seq);
        }
    if (json_object_size(seen) != want)
        fail_msg("%s has %zu of our messages, %zu were sent to it", who, json_object_size(seen),
                 want);
    /* And nothing of its conversations is missing at the end (system
     * messages included): the last seq is the stored count. */
    char sql[256];
    for (int c = 0; c < n_convs; c++) {
        if (!is_member(c, u))
            continue;
        snprintf(sql, sizeof sql, "SELECT count(*) FROM messages WHERE conversation_id = %s",
                 convs[c].id);
        long long n = db_i64(sql);
        long long got = (long long)json_integer_value(json_object_get(last_seq, convs[c].id));
        if (got != n)
            fail_msg("%s: conversation %s up to seq %lld of %lld", who, convs[c].id, got, n);
    }
}

/* A full sync from "0" and every conversation's history, on sender u's
 * device (connected through the chaos). */
static void check_device(int u)
{
    sender_t *s = &snd[u];
    char who[64];
    snprintf(who, sizeof who, "sender %d", u);
    if (s->d.ws == NULL)
        assert_true(reconnect(&s->d, s->home) >= 0);
    syncer_t y = {.d = s->d, .home = s->home};
    snprintf(y.cursor, sizeof y.cursor, "0");
    y.last_seq = json_object();
    y.seen = json_object();
    for (int p = 0; !syncer_step(&y, 1); p++)
        if (p > 10000 || y.d.ws == NULL)
            fail_msg("%s: sync from 0 did not finish", who);
    check_seen(who, u, y.last_seq, y.seen);
    json_decref(y.last_seq);
    json_decref(y.seen);

    for (int c = 0; c < n_convs; c++) {
        if (!is_member(c, u))
            continue;
        json_t *all = all_history(s->d.ws, convs[c].id);
        json_t *last = json_object(), *seen = json_object();
        syncer_t h = {.d = s->d, .last_seq = last, .seen = seen};
        syncer_take(&h, all); /* the same once-and-in-order check */
        json_decref(all);
        /* Only this conversation: compare its part. */
        size_t want = 0;
        for (int i = 0; i < SENDERS; i++)
            for (int j = 0; j < snd[i].n; j++) {
                rec_t *r = &snd[i].recs[j];
                if (r->conv != c)
                    continue;
                want++;
                if (!seen_as_acked(json_object_get(seen, r->cmid), r))
                    fail_msg("%s: history lacks %s (seq %lld)", who, r->cmid, r->seq);
            }
        assert_int_equal(json_object_size(seen), want);
        json_decref(last);
        json_decref(seen);
    }
}

/* ---- the cluster -------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    have_pg = mpt_backend_pg();
    if (!have_pg)
        return 0;
    /* Its own PostgreSQL: the shared test cluster serves other tests that
     * run in parallel and must not be restarted under them. */
    if (mpt_pg_own_start(&pg) != 0 || mpt_nats_start(&nats, 0) != 0)
        return -1;
    const char *more[] = {"--access_token_ttl", "86400", NULL};
    for (int i = 0; i < NODES; i++) {
        node[i] = cluster_node_start(i + 1, nats.url, pg.url, more); /* node 1 migrates */
        if (node[i] == NULL)
            return -1;
    }
    for (int i = 1; i < NODES; i++)
        cluster_share_secret(node[0], node[i]);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (!have_pg)
        return 0;
    /* What the test had open, also when an assertion ended it early. */
    for (int i = 0; i < SENDERS; i++) {
        dev_close(&snd[i].d);
        free(snd[i].recs);
    }
    for (int i = 0; i < SYNCERS; i++) {
        dev_close(&syn[i].d);
        json_decref(syn[i].last_seq);
        json_decref(syn[i].seen);
    }
    json_decref(error_codes);
    int rc = 0;
    for (int i = NODES - 1; i >= 0; i--)
        if (mpt_server_stop(node[i]) != 0)
            rc = -1;
    mpt_nats_stop(&nats);
    if (mpt_pg_own_stop(&pg) != 0)
        rc = -1;
    return rc;
}

/* ---- the test ------------------------------------------------------------------------------ */

static void test_chaos(void **state)
{
    (void)state;
    if (!have_pg)
        skip();
    int total = total_messages();
    error_codes = json_object();
    long long t0 = mpt_mono_ms();
    world_up(total);
    fprintf(stderr, "chaos: %d users, %d conversations, %d devices up in %.1f s\n", SENDERS,
            n_convs, SENDERS + SYNCERS, (double)(mpt_mono_ms() - t0) / 1000);
    t0 = mpt_mono_ms();
    int64_t base = 1;
    int acked = 0, rounds = 0;
    while (acked < total) {
        if (mpt_mono_ms() - t0 > SEND_DEADLINE_MS)
            fail_msg("only %d of %d messages acked after %d s", acked, total,
                     SEND_DEADLINE_MS / 1000);
        rounds++;
        bool any = false;
        for (int i = 0; i < SENDERS; i++) {
            sender_t *s = &snd[i];
            if (s->d.ws == NULL) {
                if (n_reconnects >= MAX_RECONNECTS)
                    fail_msg("more than %d reconnects", MAX_RECONNECTS);
                s->at = reconnect(&s->d, s->home);
                if (s->at < 0)
                    continue;
                n_reconnects++;
            }
            sender_write(s, base);
            any = any || s->n_flight > 0;
        }
        base += WINDOW;
        /* The chaos strikes while the window is in flight. */
        for (size_t k = 0; k < N_STEPS; k++)
            if (!steps[k].done && acked >= (int)(steps[k].at * total)) {
                chaos((int)k, t0);
                break;
            }
        for (int i = 0; i < SENDERS; i++) {
            if (snd[i].d.ws == NULL || snd[i].n_flight == 0)
                continue;
            /* The killed node's clients lose the replies it sent before
             * it died, as a client does whose connection breaks: what it
             * stored of their window comes back as duplicates. */
            if (!node_up[snd[i].at])
                sender_lost(&snd[i]);
            else
                sender_read(&snd[i]);
        }
        for (int i = 0; i < SYNCERS; i++)
            syncer_step(&syn[i], SYNC_PAGES_PER_ROUND);
        acked = 0;
        for (int c = 0; c < n_convs; c++)
            acked += (int)convs[c].acked;
        if (!any)
            pause_ms(50); /* everyone disconnected: a node or the database is coming back */
    }
    long long send_ms = mpt_mono_ms() - t0;
    for (size_t k = 0; k < N_STEPS; k++)
        if (!steps[k].done)
            chaos((int)k, t0); /* a tiny MAGPIE_CHAOS_MESSAGES: still every step */
    char *codes = json_dumps(error_codes, JSON_COMPACT | JSON_SORT_KEYS);
    fprintf(stderr,
            "chaos: %d messages acked in %.1f s over %d rounds (%.0f/s): %lld resent, %lld error "
            "replies %s, %lld duplicate acks, %lld reply timeouts, %lld reconnects\n",
            total, (double)send_ms / 1000, rounds, total * 1000.0 / (double)send_ms, n_retries,
            n_error_replies, codes, n_duplicates, n_timeouts, n_reconnects);
    free(codes);
    /* The chaos reached the senders, and sends stored before the kill were
     * retried. */
    assert_true(n_reconnects > 0);
    assert_true(n_duplicates > 0);

    /* Retries of acked sends, deterministically, through other nodes. */
    long long t1 = mpt_mono_ms();
    int resent = 0;
    for (int i = 0; i < SENDERS; i++)
        resent += resend_acked(&snd[i]);
    fprintf(stderr,
            "chaos: %d acked sends sent again through another node: all duplicates (%lld "
            "unavailable, sent once more)\n",
            resent, n_resend_unavailable);
    check_database(total);
    fprintf(stderr, "chaos: database checked in %.1f s\n", (double)(mpt_mono_ms() - t1) / 1000);

    /* The devices that synced during the chaos: catch up, then compare. */
    t1 = mpt_mono_ms();
    for (int i = 0; i < SYNCERS; i++) {
        syncer_t *y = &syn[i];
        long long deadline = mpt_mono_ms() + 60000;
        while (!syncer_step(y, 50))
            if (mpt_mono_ms() > deadline)
                fail_msg("syncer %d did not catch up", i);
        char who[64];
        snprintf(who, sizeof who, "syncer %d", i);
        check_seen(who, i, y->last_seq, y->seen);
        fprintf(stderr,
                "chaos: syncer %d: %lld messages over %lld syncs, %lld reconnects overall\n", i,
                y->messages, y->syncs, n_sync_reconnects);
    }
    for (int i = 0; i < SENDERS; i++)
        check_device(i);
    fprintf(stderr, "chaos: %d devices synced from the start and read every history in %.1f s\n",
            SENDERS, (double)(mpt_mono_ms() - t1) / 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chaos),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
