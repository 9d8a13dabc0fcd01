/* The hub's cluster side (hub.h, docs/cluster.md): a directory of which
 * users have sessions on which OTHER node, kept from what every node
 * publishes about its own, and the deliveries between nodes.
 *
 * Subjects, and what travels on them (every message starts with its kind,
 * the sender's node id and the sender's epoch, a number new at each start):
 *   mp.dir       H hello (then the sender's snapshot), P its users that came
 *                online or went offline, S a snapshot, B a heartbeat with its
 *                number of online users, G goodbye
 *   mp.node.<N>  D frames for users with sessions on node N, S a snapshot
 *                (the answer to N's hello or question), Q "send me yours"
 *   mp.all       W a world-room frame (with the users to skip), C close a
 *                device's sessions, K close a user's, F a user's flags changed,
 *                L tokens taken from shared rate limiters
 *
 * A push to a user adds the frame to one pending message per node in the
 * user's entry; a run of pushes of the same frame (a group's fan-out) adds
 * only the user id, so a message to a group is one publish per node that
 * has members online. Pending messages go out just before the loop blocks
 * (uv_prepare_t), and before anything else this node publishes, so that
 * everything leaves in the order it was pushed; NATS keeps one connection's
 * order, and the bus delivers in the order received. A node's entry is
 * replaced by each snapshot it sends, so a message lost on the way only
 * lasts until the next snapshot: a node asks for one when a heartbeat's
 * count disagrees with what it holds twice in a row, when it meets a node
 * (or a new epoch of one) it has no snapshot of, and after its own
 * reconnect. A node silent for MP_HUB_NODE_TIMEOUT_MS is forgotten. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/hub_int.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/clock.h"
#include "util/log.h"

#define MP_HUB_BEAT_MS 1000
/* A node that sent nothing for this long (a kill -9, a partition) is
 * forgotten: its users go offline here. */
#define MP_HUB_NODE_TIMEOUT_MS 5000
/* A heartbeat whose count disagrees this many times in a row: ask. */
#define MP_HUB_MISMATCH_BEATS 2
/* Pending deliveries for one node are sent once this big (NATS refuses
 * messages above its max_payload, 1 MiB by default). */
#define MP_HUB_BATCH_MAX (256u << 10)
/* Users per snapshot message (8 bytes each). */
#define MP_HUB_SNAPSHOT_CHUNK 16384
#define MP_HUB_NODES 1024 /* node ids 0..1023 */
#define MP_HUB_HEADER 11  /* kind, node (u16), epoch (u64) */

#define SUBJ_DIR "mp.dir"
#define SUBJ_ALL "mp.all"

enum { SNAP_FIRST = 1, SNAP_LAST = 2 };
enum { HELLO_LOST = 1 };

/* ---- byte buffers ------------------------------------------------------------ */

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf_t;

static void buf_need(buf_t *b, size_t n)
{
    if (b->len + n <= b->cap)
        return;
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + n)
        cap *= 2;
    b->p = mp_realloc(b->p, cap);
    b->cap = cap;
}

static void put_u8(buf_t *b, uint8_t v)
{
    buf_need(b, 1);
    b->p[b->len++] = v;
}

static void put_le(buf_t *b, uint64_t v, int bytes)
{
    buf_need(b, (size_t)bytes);
    for (int i = 0; i < bytes; i++)
        b->p[b->len++] = (uint8_t)(v >> (8 * i));
}

static void set_u32(buf_t *b, size_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b->p[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32_at(const buf_t *b, size_t off)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)b->p[off + (size_t)i] << (8 * i);
    return v;
}

static void put_bytes(buf_t *b, const void *p, size_t n)
{
    buf_need(b, n);
    if (n > 0)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* Reading a received message: every read is bounds-checked; a short message
 * sets bad and reads zeros. */
typedef struct rd {
    const uint8_t *p;
    size_t left;
    bool bad;
} rd_t;

static uint64_t get_le(rd_t *r, int bytes)
{
    if (r->left < (size_t)bytes) {
        r->bad = true;
        r->left = 0;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += bytes;
    r->left -= (size_t)bytes;
    return v;
}

static const uint8_t *get_bytes(rd_t *r, size_t n)
{
    if (r->left < n) {
        r->bad = true;
        r->left = 0;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

/* ---- state --------------------------------------------------------------------- */

/* The other nodes that have a session of one user (n >= 1 while in dir). */
typedef struct dnodes {
    uint16_t n, cap;
    uint16_t v[];
} dnodes_t;

typedef struct node {
    unsigned id;
    uint64_t epoch;
    int64_t last_ms;   /* when it was last heard of (mono) */
    mp_map_t users;    /* its online users (a set: values unused) */
    mp_map_t *staging; /* a snapshot being received, or NULL */
    bool asked;        /* a Q is out, no snapshot came since */
    int mismatch;      /* heartbeats in a row whose count disagreed */
    buf_t out;         /* pending D message for it */
    size_t cnt_off;    /* offset of the last entry's user count in out */
    mp_frame_t *last;  /* frame of that entry (a reference is held) */
    bool pending;      /* listed in cl->pend */
} node_t;

struct mp_hub_cluster {
    mp_hub_t *hub;
    mp_bus_t *bus;
    mp_userflags_t *flags;
    unsigned me;
    uint64_t epoch;
    char subj_me[32];
    mp_map_t nodes; /* node id -> node_t * */
    mp_map_t dir;   /* user id -> dnodes_t *: users online on other nodes */
    buf_t dirbuf;   /* pending P message (this node's users up and down) */
    buf_t limbuf;   /* pending L message (tokens taken from shared limiters) */
    uint16_t pend[MP_HUB_NODES];
    size_t n_pend;
    uv_timer_t beat;
    uv_prepare_t prep;
    int handles; /* of the two above still open (freed when 0 after detach) */
    int64_t dup_logged_ms;
    int64_t last_tick_ms;  /* when the heartbeat timer last ran */
    int64_t last_hello_ms; /* when this node last said hello */
    bool bus_gone;         /* the bus ended for good (MP_BUS_CLOSED) */
};

static void header(const mp_hub_cluster_t *cl, buf_t *b, char kind)
{
    put_u8(b, (uint8_t)kind);
    put_le(b, cl->me, 2);
    put_le(b, cl->epoch, 8);
}

static void publish(mp_hub_cluster_t *cl, const char *subject, const buf_t *b)
{
    /* A full queue is counted by the bus and only costs live delivery. */
    (void)mp_bus_publish(cl->bus, subject, b->p, b->len);
}

static void node_subject(unsigned id, char out[32])
{
    snprintf(out, 32, "mp.node.%u", id);
}

static node_t *node_get(const mp_hub_cluster_t *cl, unsigned id)
{
    return mp_map_get(&cl->nodes, id);
}

/* ---- the directory -------------------------------------------------------------- */

static bool online_anywhere(const mp_hub_cluster_t *cl, uint64_t user)
{
    return mp_map_find(&cl->hub->users, user) != NULL || mp_map_find(&cl->dir, user) != NULL;
}

static void dir_add(mp_hub_cluster_t *cl, uint64_t user, unsigned id)
{
    bool created;
    void **slot = mp_map_upsert(&cl->dir, user, &created);
    dnodes_t *d = *slot;
    if (created) {
        d = mp_malloc(sizeof *d + 2 * sizeof(uint16_t));
        d->n = 0;
        d->cap = 2;
    } else {
        for (uint16_t i = 0; i < d->n; i++)
            if (d->v[i] == id)
                return;
        if (d->n == d->cap) {
            d->cap *= 2;
            d = mp_realloc(d, sizeof *d + d->cap * sizeof(uint16_t));
        }
    }
    d->v[d->n++] = (uint16_t)id;
    *slot = d;
}

static void dir_del(mp_hub_cluster_t *cl, uint64_t user, unsigned id)
{
    void **slot = mp_map_find(&cl->dir, user);
    if (slot == NULL)
        return;
    dnodes_t *d = *slot;
    for (uint16_t i = 0; i < d->n; i++) {
        if (d->v[i] != id)
            continue;
        d->v[i] = d->v[--d->n];
        break;
    }
    if (d->n == 0) {
        mp_free(d);
        (void)mp_map_del(&cl->dir, user, NULL);
    }
}

/* The user came online on node n: presence if nowhere before. */
static void remote_add(mp_hub_cluster_t *cl, node_t *n, uint64_t user)
{
    bool created;
    void **slot = mp_map_upsert(&n->users, user, &created);
    if (!created)
        return;
    *slot = NULL;
    bool was = online_anywhere(cl, user);
    dir_add(cl, user, n->id);
    if (!was)
        mp_hub__presence(cl->hub, user, true);
}

static void remote_del(mp_hub_cluster_t *cl, node_t *n, uint64_t user)
{
    if (!mp_map_del(&n->users, user, NULL))
        return;
    dir_del(cl, user, n->id);
    if (!online_anywhere(cl, user))
        mp_hub__presence(cl->hub, user, false);
}

/* n's entry becomes exactly the users of snap (consumed). */
static void snapshot_apply(mp_hub_cluster_t *cl, node_t *n, mp_map_t *snap)
{
    mp_map_iter_t it;
    uint64_t user;
    mp_map_iter_init(&n->users, &it);
    while (mp_map_iter_next(&n->users, &it, &user, NULL)) {
        if (mp_map_find(snap, user) != NULL)
            continue;
        dir_del(cl, user, n->id);
        if (!online_anywhere(cl, user))
            mp_hub__presence(cl->hub, user, false);
    }
    mp_map_iter_init(snap, &it);
    while (mp_map_iter_next(snap, &it, &user, NULL)) {
        if (mp_map_find(&n->users, user) != NULL)
            continue;
        bool was = online_anywhere(cl, user);
        dir_add(cl, user, n->id);
        if (!was)
            mp_hub__presence(cl->hub, user, true);
    }
    mp_map_free(&n->users);
    n->users = *snap;
    mp_free(snap);
}

static void node_out_reset(node_t *n)
{
    n->out.len = 0;
    if (n->last != NULL)
        mp_frame_unref(n->last);
    n->last = NULL;
}

/* Forgets node n and its users (presence for those now offline everywhere). */
static void node_drop(mp_hub_cluster_t *cl, node_t *n)
{
    mp_map_iter_t it;
    uint64_t user;
    mp_map_iter_init(&n->users, &it);
    while (mp_map_iter_next(&n->users, &it, &user, NULL)) {
        dir_del(cl, user, n->id);
        if (!online_anywhere(cl, user))
            mp_hub__presence(cl->hub, user, false);
    }
    mp_map_free(&n->users);
    if (n->staging != NULL) {
        mp_map_free(n->staging);
        mp_free(n->staging);
    }
    if (n->pending) {
        for (size_t i = 0; i < cl->n_pend; i++)
            if (cl->pend[i] == n->id) {
                cl->pend[i] = cl->pend[--cl->n_pend];
                break;
            }
    }
    node_out_reset(n);
    mp_free(n->out.p);
    (void)mp_map_del(&cl->nodes, n->id, NULL);
    mp_free(n);
}

/* ---- sending ----------------------------------------------------------------------- */

static void node_flush(mp_hub_cluster_t *cl, node_t *n)
{
    if (n->out.len == 0)
        return;
    char subj[32];
    node_subject(n->id, subj);
    publish(cl, subj, &n->out);
    node_out_reset(n);
}

/* Everything pending goes out now, in the order it was pushed per node. */
static void flush_all(mp_hub_cluster_t *cl)
{
    if (cl->dirbuf.len > 0) {
        publish(cl, SUBJ_DIR, &cl->dirbuf);
        cl->dirbuf.len = 0;
    }
    if (cl->limbuf.len > 0) {
        publish(cl, SUBJ_ALL, &cl->limbuf);
        cl->limbuf.len = 0;
    }
    for (size_t i = 0; i < cl->n_pend; i++) {
        node_t *n = node_get(cl, cl->pend[i]);
        MP_ASSERT(n != NULL && n->pending);
        n->pending = false;
        node_flush(cl, n);
    }
    cl->n_pend = 0;
}

static void on_prepare(uv_prepare_t *h)
{
    mp_hub_cluster_t *cl = h->data;
    if (cl->hub != NULL)
        flush_all(cl);
}

/* Sends this node's online users to subject, in chunks. */
static void send_snapshot(mp_hub_cluster_t *cl, const char *subject)
{
    flush_all(cl);
    const mp_map_t *users = &cl->hub->users;
    size_t total = mp_map_len(users), sent = 0;
    buf_t b = {0};
    mp_map_iter_t it;
    uint64_t user;
    mp_map_iter_init(users, &it);
    do {
        size_t n = total - sent < MP_HUB_SNAPSHOT_CHUNK ? total - sent : MP_HUB_SNAPSHOT_CHUNK;
        b.len = 0;
        header(cl, &b, 'S');
        put_u8(&b, (uint8_t)((sent == 0 ? SNAP_FIRST : 0) | (sent + n == total ? SNAP_LAST : 0)));
        put_le(&b, n, 4);
        for (size_t i = 0; i < n; i++) {
            bool more = mp_map_iter_next(users, &it, &user, NULL);
            MP_ASSERT(more);
            (void)more;
            put_le(&b, user, 8);
        }
        publish(cl, subject, &b);
        sent += n;
    } while (sent < total);
    mp_free(b.p);
}

static void send_simple(mp_hub_cluster_t *cl, const char *subject, char kind)
{
    flush_all(cl);
    buf_t b = {0};
    header(cl, &b, kind);
    publish(cl, subject, &b);
    mp_free(b.p);
}

/* Asks node n for its snapshot (once until one comes). */
static void ask(mp_hub_cluster_t *cl, node_t *n)
{
    if (n->asked)
        return;
    n->asked = true;
    char subj[32];
    node_subject(n->id, subj);
    send_simple(cl, subj, 'Q');
}

/* Hello: everyone answers with their snapshot, and replaces ours with the
 * one that follows. lost: this node dropped messages on the way out, so
 * every node's clients may have missed some. */
static void hello(mp_hub_cluster_t *cl, bool lost)
{
    cl->last_hello_ms = mp_mono_ms();
    flush_all(cl);
    buf_t b = {0};
    header(cl, &b, 'H');
    put_u8(&b, lost ? HELLO_LOST : 0);
    publish(cl, SUBJ_DIR, &b);
    mp_free(b.p);
    send_snapshot(cl, SUBJ_DIR);
}

/* ---- what the rest of the hub calls ------------------------------------------------- */

static void dir_change(mp_hub_cluster_t *cl, uint64_t user, bool up)
{
    if (cl->dirbuf.len == 0) {
        header(cl, &cl->dirbuf, 'P');
        put_le(&cl->dirbuf, 0, 4);
    }
    set_u32(&cl->dirbuf, MP_HUB_HEADER, get_u32_at(&cl->dirbuf, MP_HUB_HEADER) + 1);
    put_u8(&cl->dirbuf, up ? 1 : 0);
    put_le(&cl->dirbuf, user, 8);
    if (cl->dirbuf.len >= MP_HUB_BATCH_MAX)
        flush_all(cl);
}

void mp_hub__cl_local_up(mp_hub_cluster_t *cl, uint64_t user_id)
{
    dir_change(cl, user_id, true);
}

void mp_hub__cl_local_down(mp_hub_cluster_t *cl, uint64_t user_id)
{
    dir_change(cl, user_id, false);
}

void mp_hub__cl_limit_taken(mp_hub_cluster_t *cl, unsigned which, uint64_t key)
{
    if (cl->limbuf.len == 0) {
        header(cl, &cl->limbuf, 'L');
        put_le(&cl->limbuf, 0, 4);
    }
    set_u32(&cl->limbuf, MP_HUB_HEADER, get_u32_at(&cl->limbuf, MP_HUB_HEADER) + 1);
    put_u8(&cl->limbuf, (uint8_t)which);
    put_le(&cl->limbuf, key, 8);
    if (cl->limbuf.len >= MP_HUB_BATCH_MAX)
        flush_all(cl);
}

bool mp_hub__cl_ready(const mp_hub_cluster_t *cl)
{
    return !cl->bus_gone;
}

bool mp_hub__cl_leader(const mp_hub_cluster_t *cl)
{
    mp_map_iter_t it;
    uint64_t id;
    mp_map_iter_init(&cl->nodes, &it);
    while (mp_map_iter_next(&cl->nodes, &it, &id, NULL))
        if (id < cl->me)
            return false;
    return true;
}

bool mp_hub__cl_online(const mp_hub_cluster_t *cl, uint64_t user_id)
{
    return mp_map_find(&cl->dir, user_id) != NULL;
}

static void node_queue(mp_hub_cluster_t *cl, node_t *n, uint64_t user, mp_frame_t *f)
{
    buf_t *b = &n->out;
    if (n->last != f) {
        if (b->len == 0)
            header(cl, b, 'D');
        if (n->last != NULL)
            mp_frame_unref(n->last);
        /* Held so that its address cannot be reused by another frame while
         * later pushes are compared with it. */
        n->last = mp_frame_ref(f);
        put_le(b, f->len, 4);
        put_bytes(b, f->data, f->len);
        n->cnt_off = b->len;
        put_le(b, 0, 4);
    }
    set_u32(b, n->cnt_off, get_u32_at(b, n->cnt_off) + 1);
    put_le(b, user, 8);
    if (!n->pending) {
        n->pending = true;
        cl->pend[cl->n_pend++] = (uint16_t)n->id;
    }
    if (b->len >= MP_HUB_BATCH_MAX)
        node_flush(cl, n); /* stays listed: harmless, flush_all skips empty */
}

void mp_hub__cl_push_user(mp_hub_cluster_t *cl, uint64_t user_id, mp_frame_t *f)
{
    const dnodes_t *d = mp_map_get(&cl->dir, user_id);
    for (uint16_t i = 0; d != NULL && i < d->n; i++) {
        node_t *n = node_get(cl, d->v[i]);
        MP_ASSERT(n != NULL);
        node_queue(cl, n, user_id, f);
    }
}

void mp_hub__cl_push_all_except(mp_hub_cluster_t *cl, mp_frame_t *f, const uint64_t *skip,
                                size_t n_skip)
{
    flush_all(cl);
    buf_t b = {0};
    header(cl, &b, 'W');
    put_le(&b, n_skip, 4);
    for (size_t i = 0; i < n_skip; i++)
        put_le(&b, skip[i], 8);
    put_bytes(&b, f->data, f->len);
    publish(cl, SUBJ_ALL, &b);
    mp_free(b.p);
}

void mp_hub__cl_close_device(mp_hub_cluster_t *cl, uint64_t device_id)
{
    flush_all(cl);
    buf_t b = {0};
    header(cl, &b, 'C');
    put_le(&b, device_id, 8);
    publish(cl, SUBJ_ALL, &b);
    mp_free(b.p);
}

void mp_hub__cl_close_user(mp_hub_cluster_t *cl, uint64_t user_id, int code, const char *reason)
{
    flush_all(cl);
    size_t rlen = reason != NULL ? strlen(reason) : 0;
    if (rlen > 123)
        rlen = 123; /* a close reason fits in a control frame */
    buf_t b = {0};
    header(cl, &b, 'K');
    put_le(&b, user_id, 8);
    put_le(&b, (uint64_t)code, 2);
    put_u8(&b, (uint8_t)rlen);
    put_bytes(&b, reason, rlen);
    publish(cl, SUBJ_ALL, &b);
    mp_free(b.p);
}

static void on_flags_changed(void *ud, uint64_t user_id, unsigned mask, bool on)
{
    mp_hub_cluster_t *cl = ud;
    flush_all(cl);
    buf_t b = {0};
    header(cl, &b, 'F');
    put_le(&b, user_id, 8);
    put_le(&b, mask, 4);
    put_u8(&b, on ? 1 : 0);
    publish(cl, SUBJ_ALL, &b);
    mp_free(b.p);
}

/* ---- receiving ------------------------------------------------------------------------ */

/* The sender's entry, made or renewed. NULL for a message to ignore. */
static node_t *node_touch(mp_hub_cluster_t *cl, unsigned id, uint64_t epoch, char kind)
{
    if (id >= MP_HUB_NODES)
        return NULL;
    if (id == cl->me) {
        /* NATS does not echo our own messages: another process has our id,
         * and every id it makes collides with ours. */
        int64_t now = mp_mono_ms();
        if (now - cl->dup_logged_ms >= 10000) {
            cl->dup_logged_ms = now;
            mp_log_error("cluster: another node also has node_id %u; give each node its own", id);
        }
        return NULL;
    }
    node_t *n = node_get(cl, id);
    bool fresh = false;
    if (n == NULL) {
        n = mp_calloc(1, sizeof *n);
        n->id = id;
        mp_map_init(&n->users);
        (void)mp_map_put(&cl->nodes, id, n);
        fresh = true;
        mp_log_info("cluster: node %u is up", id);
    } else if (n->epoch != epoch) {
        fresh = true;
        n->asked = false;
        mp_log_info("cluster: node %u restarted", id);
    }
    n->epoch = epoch;
    n->last_ms = mp_mono_ms();
    /* A hello or a snapshot brings the users; anything else from a node we
     * hold no snapshot of is the cue to ask for one. */
    if (fresh && kind != 'H' && kind != 'S' && kind != 'G')
        ask(cl, n);
    return n;
}

static void recv_snapshot(mp_hub_cluster_t *cl, node_t *n, rd_t *r)
{
    unsigned flags = (unsigned)get_le(r, 1);
    uint32_t count = (uint32_t)get_le(r, 4);
    if (r->bad || r->left != (size_t)count * 8)
        return;
    if (flags & SNAP_FIRST) {
        if (n->staging != NULL)
            mp_map_free(n->staging);
        else
            n->staging = mp_malloc(sizeof *n->staging);
        mp_map_init(n->staging);
    }
    if (n->staging == NULL)
        return; /* the first chunk was lost: wait for a whole one */
    for (uint32_t i = 0; i < count; i++)
        (void)mp_map_put(n->staging, get_le(r, 8), NULL);
    if (flags & SNAP_LAST) {
        mp_map_t *snap = n->staging;
        n->staging = NULL;
        n->asked = false;
        n->mismatch = 0;
        snapshot_apply(cl, n, snap);
    }
}

static void recv_presence(mp_hub_cluster_t *cl, node_t *n, rd_t *r)
{
    uint32_t count = (uint32_t)get_le(r, 4);
    if (r->bad || r->left != (size_t)count * 9)
        return;
    for (uint32_t i = 0; i < count; i++) {
        bool up = get_le(r, 1) != 0;
        uint64_t user = get_le(r, 8);
        if (up)
            remote_add(cl, n, user);
        else
            remote_del(cl, n, user);
    }
}

static void recv_beat(mp_hub_cluster_t *cl, node_t *n, rd_t *r)
{
    uint32_t count = (uint32_t)get_le(r, 4);
    if (r->bad || n->staging != NULL)
        return;
    if (count == mp_map_len(&n->users)) {
        n->mismatch = 0;
        return;
    }
    if (++n->mismatch >= MP_HUB_MISMATCH_BEATS) {
        mp_log_warn("cluster: node %u says %u users are online there, this node knows %zu: "
                    "asking for its list",
                    n->id, count, mp_map_len(&n->users));
        n->mismatch = 0;
        n->asked = false;
        ask(cl, n);
    }
}

static void recv_deliveries(mp_hub_cluster_t *cl, rd_t *r)
{
    while (r->left > 0 && !r->bad) {
        uint32_t flen = (uint32_t)get_le(r, 4);
        const uint8_t *fb = get_bytes(r, flen);
        uint32_t count = (uint32_t)get_le(r, 4);
        if (r->bad || r->left < (size_t)count * 8)
            return;
        mp_frame_t *f = mp_frame_new_text(fb, flen);
        for (uint32_t i = 0; i < count; i++)
            mp_hub__local_push_user(cl->hub, get_le(r, 8), f, 0);
        mp_frame_unref(f);
    }
}

static void recv_world(mp_hub_cluster_t *cl, rd_t *r)
{
    uint32_t n_skip = (uint32_t)get_le(r, 4);
    if (r->bad || r->left < (size_t)n_skip * 8)
        return;
    uint64_t small[16];
    uint64_t *skip = n_skip <= 16 ? small : mp_malloc(n_skip * sizeof *skip);
    for (uint32_t i = 0; i < n_skip; i++)
        skip[i] = get_le(r, 8);
    mp_frame_t *f = mp_frame_new_text(r->p, r->left);
    mp_hub__local_push_all_except(cl->hub, f, skip, n_skip);
    mp_frame_unref(f);
    if (skip != small)
        mp_free(skip);
}

static void recv_close(mp_hub_cluster_t *cl, char kind, rd_t *r)
{
    mp_hub_t *hub = cl->hub;
    uint64_t id = get_le(r, 8);
    if (kind == 'C') {
        if (r->bad)
            return;
        mp_hub__local_close_device(hub, id);
        if (hub->closed != NULL)
            hub->closed(hub->closed_ud, id, 0, 0, NULL);
        return;
    }
    int code = (int)get_le(r, 2);
    size_t rlen = (size_t)get_le(r, 1);
    const uint8_t *rb = get_bytes(r, rlen);
    if (r->bad || rlen > 123)
        return;
    char reason[128];
    memcpy(reason, rb, rlen);
    reason[rlen] = '\0';
    mp_hub__local_close_user(hub, id, code, reason);
    if (hub->closed != NULL)
        hub->closed(hub->closed_ud, 0, id, code, reason);
}

static void recv_limits(mp_hub_cluster_t *cl, rd_t *r)
{
    uint32_t count = (uint32_t)get_le(r, 4);
    if (r->bad || r->left != (size_t)count * 9)
        return;
    int64_t now = mp_mono_ms();
    for (uint32_t i = 0; i < count; i++) {
        unsigned which = (unsigned)get_le(r, 1);
        uint64_t key = get_le(r, 8);
        if (which < MP_HUB__LIMITS && cl->hub->limits[which] != NULL)
            mp_ratelimit_charge(cl->hub->limits[which], key, 1, now);
    }
}

static void recv_flags(mp_hub_cluster_t *cl, rd_t *r)
{
    uint64_t user = get_le(r, 8);
    unsigned mask = (unsigned)get_le(r, 4);
    bool on = get_le(r, 1) != 0;
    if (!r->bad && cl->flags != NULL)
        mp_userflags_apply(cl->flags, user, mask, on);
}

static void resync_local(mp_hub_cluster_t *cl);

/* Every subscription lands here; the kind says what it is. ud is the hub
 * (it outlives the bus), so a message that arrives after detaching finds no
 * cluster and is ignored. */
static void on_bus_msg(void *ud, const void *data, size_t len)
{
    mp_hub_t *hub = ud;
    mp_hub_cluster_t *cl = hub->cl;
    if (cl == NULL)
        return;
    rd_t r = {data, len, false};
    char kind = (char)get_le(&r, 1);
    unsigned from = (unsigned)get_le(&r, 2);
    uint64_t epoch = get_le(&r, 8);
    if (r.bad)
        return;
    node_t *n = node_touch(cl, from, epoch, kind);
    if (n == NULL)
        return;
    char subj[32];
    switch (kind) {
    case 'H':
        if ((get_le(&r, 1) & HELLO_LOST) != 0)
            resync_local(cl);
        node_subject(from, subj);
        send_snapshot(cl, subj);
        break;
    case 'S':
        recv_snapshot(cl, n, &r);
        break;
    case 'P':
        recv_presence(cl, n, &r);
        break;
    case 'B':
        recv_beat(cl, n, &r);
        break;
    case 'G':
        mp_log_info("cluster: node %u left", from);
        node_drop(cl, n);
        break;
    case 'Q':
        node_subject(from, subj);
        send_snapshot(cl, subj);
        break;
    case 'D':
        recv_deliveries(cl, &r);
        break;
    case 'W':
        recv_world(cl, &r);
        break;
    case 'C':
    case 'K':
        recv_close(cl, kind, &r);
        break;
    case 'F':
        recv_flags(cl, &r);
        break;
    case 'L':
        recv_limits(cl, &r);
        break;
    default:
        break; /* a kind from a newer version: not for us */
    }
}

/* ---- the bus's state, heartbeats ---------------------------------------------------- */

/* This node's clients may have missed live events: every session here is
 * told to sync (docs/protocol.md, event `resync`); what was stored is all
 * there. */
static void resync_local(mp_hub_cluster_t *cl)
{
    /* What this node keeps from the others' news is read again too. */
    if (cl->hub->gap != NULL)
        cl->hub->gap(cl->hub->gap_ud);
    if (mp_hub_total_sessions(cl->hub) == 0)
        return;
    json_t *ev = json_pack("{s:s}", "event", "resync");
    mp_frame_t *f = mp_frame_new_json(ev);
    json_decref(ev);
    mp_hub__local_push_every(cl->hub, f);
    mp_frame_unref(f);
}

/* Every node's silence counts from now. */
static void forgive_silence(mp_hub_cluster_t *cl, int64_t now)
{
    mp_map_iter_t it;
    void *v;
    mp_map_iter_init(&cl->nodes, &it);
    while (mp_map_iter_next(&cl->nodes, &it, NULL, &v))
        ((node_t *)v)->last_ms = now;
}

static void on_bus_state(void *ud, mp_bus_state_t st)
{
    mp_hub_t *hub = ud;
    mp_hub_cluster_t *cl = hub->cl;
    if (cl == NULL)
        return;
    switch (st) {
    case MP_BUS_CONNECTED:
        mp_log_info("cluster: connected to NATS as node %u", cl->me);
        hello(cl, mp_bus_take_dropped(cl->bus) > 0);
        resync_local(cl); /* sessions that opened before the bus was up */
        break;
    case MP_BUS_DISCONNECTED:
        mp_log_warn("cluster: lost the NATS connection; live events from other nodes wait "
                    "until it is back (clients then resync)");
        break;
    case MP_BUS_RECONNECTED: {
        mp_log_warn("cluster: NATS connection back; telling this node's clients to resync");
        /* Nodes were not heard from while we were away, through no fault of
         * theirs: their silence counts from now. */
        forgive_silence(cl, mp_mono_ms());
        hello(cl, mp_bus_take_dropped(cl->bus) > 0);
        resync_local(cl);
        break;
    }
    case MP_BUS_CLOSED:
        /* The bus said why; this node cannot deliver to the others any
         * more, so it stops saying it is ready (mp_hub_ready): a load
         * balancer then sends clients to the nodes that can. */
        cl->bus_gone = true;
        mp_log_error("cluster: without NATS for good: /readyz now says not ready");
        break;
    case MP_BUS_LOST:
        mp_log_warn("cluster: messages from other nodes were dropped; asking every node for its "
                    "list and telling this node's clients to resync");
        /* Falling behind again and again must not turn into a storm of
         * lists, each of which costs every node a publish. */
        if (mp_mono_ms() - cl->last_hello_ms >= MP_HUB_BEAT_MS)
            hello(cl, false);
        resync_local(cl);
        break;
    }
}

static void on_beat(uv_timer_t *t)
{
    mp_hub_cluster_t *cl = t->data;
    int64_t now = mp_mono_ms();
    int64_t gap = now - cl->last_tick_ms;
    cl->last_tick_ms = now;
    if (cl->hub == NULL || !mp_bus_connected(cl->bus))
        return; /* silence while we are away is not theirs */
    flush_all(cl);
    buf_t b = {0};
    header(cl, &b, 'B');
    put_le(&b, mp_map_len(&cl->hub->users), 4);
    publish(cl, SUBJ_DIR, &b);
    mp_free(b.p);

    if (gap > 2 * MP_HUB_BEAT_MS) {
        /* This loop was stalled: the others' heartbeats are still in the
         * inbound queue (timers run before it is read), and their silence
         * is ours. If the stall was long enough for them to forget this
         * node, it says hello again and its clients resync: what was sent
         * to them meanwhile went elsewhere. */
        mp_log_warn("cluster: this node's loop was stalled for %lld ms", (long long)gap);
        forgive_silence(cl, now);
        if (gap >= MP_HUB_NODE_TIMEOUT_MS - MP_HUB_BEAT_MS) {
            hello(cl, false);
            resync_local(cl);
        }
        return;
    }

    unsigned gone[MP_HUB_NODES];
    size_t n_gone = 0;
    mp_map_iter_t it;
    void *v;
    mp_map_iter_init(&cl->nodes, &it);
    while (mp_map_iter_next(&cl->nodes, &it, NULL, &v))
        if (now - ((node_t *)v)->last_ms > MP_HUB_NODE_TIMEOUT_MS)
            gone[n_gone++] = ((node_t *)v)->id;
    for (size_t i = 0; i < n_gone; i++) {
        node_t *n = node_get(cl, gone[i]);
        mp_log_warn("cluster: node %u silent for %d ms: forgetting its %zu online users", n->id,
                    MP_HUB_NODE_TIMEOUT_MS, mp_map_len(&n->users));
        node_drop(cl, n);
    }
}

/* ---- attach / detach ------------------------------------------------------------------ */

mp_err_t mp_hub_attach_bus(mp_hub_t *hub, uv_loop_t *loop, mp_bus_t *bus, unsigned node_id,
                           mp_userflags_t *flags)
{
    MP_ASSERT(hub->cl == NULL && node_id < MP_HUB_NODES);
    mp_hub_cluster_t *cl = mp_calloc(1, sizeof *cl);
    cl->hub = hub;
    cl->bus = bus;
    cl->flags = flags;
    cl->me = node_id;
    /* New at every start: tells a restarted node from the one before. */
    cl->epoch = ((uint64_t)mp_now_ms() << 16) ^ (uint64_t)getpid();
    cl->dup_logged_ms = -10000;
    cl->last_tick_ms = mp_mono_ms();
    cl->last_hello_ms = -MP_HUB_BEAT_MS;
    node_subject(node_id, cl->subj_me);
    mp_map_init(&cl->nodes);
    mp_map_init(&cl->dir);
    if (mp_bus_subscribe(bus, SUBJ_DIR, on_bus_msg, hub) != MP_OK ||
        mp_bus_subscribe(bus, SUBJ_ALL, on_bus_msg, hub) != MP_OK ||
        mp_bus_subscribe(bus, cl->subj_me, on_bus_msg, hub) != MP_OK) {
        mp_free(cl);
        return MP_ERR_UNAVAILABLE;
    }
    hub->cl = cl;
    mp_bus_on_state(bus, on_bus_state, hub);
    if (flags != NULL)
        mp_userflags_on_change(flags, on_flags_changed, cl);
    uv_timer_init(loop, &cl->beat);
    cl->beat.data = cl;
    uv_timer_start(&cl->beat, on_beat, MP_HUB_BEAT_MS, MP_HUB_BEAT_MS);
    uv_unref((uv_handle_t *)&cl->beat);
    uv_prepare_init(loop, &cl->prep);
    cl->prep.data = cl;
    uv_prepare_start(&cl->prep, on_prepare);
    uv_unref((uv_handle_t *)&cl->prep);
    cl->handles = 2;
    /* Connected already (the state change is on its way otherwise). */
    if (mp_bus_connected(bus))
        hello(cl, false);
    return MP_OK;
}

static void cl_free(mp_hub_cluster_t *cl)
{
    mp_map_iter_t it;
    void *v;
    mp_map_iter_init(&cl->nodes, &it);
    while (mp_map_iter_next(&cl->nodes, &it, NULL, &v)) {
        node_t *n = v;
        mp_map_free(&n->users);
        if (n->staging != NULL) {
            mp_map_free(n->staging);
            mp_free(n->staging);
        }
        node_out_reset(n);
        mp_free(n->out.p);
        mp_free(n);
    }
    mp_map_free(&cl->nodes);
    mp_map_iter_init(&cl->dir, &it);
    while (mp_map_iter_next(&cl->dir, &it, NULL, &v))
        mp_free(v);
    mp_map_free(&cl->dir);
    mp_free(cl->dirbuf.p);
    mp_free(cl->limbuf.p);
    mp_free(cl);
}

static void on_handle_closed(uv_handle_t *h)
{
    mp_hub_cluster_t *cl = h->data;
    if (--cl->handles == 0)
        cl_free(cl);
}

void mp_hub_detach_bus(mp_hub_t *hub)
{
    mp_hub_cluster_t *cl = hub->cl;
    if (cl == NULL)
        return;
    flush_all(cl);
    send_simple(cl, SUBJ_DIR, 'G');
    mp_bus_on_state(cl->bus, NULL, NULL);
    if (cl->flags != NULL)
        mp_userflags_on_change(cl->flags, NULL, NULL);
    hub->cl = NULL;
    cl->hub = NULL;
    uv_close((uv_handle_t *)&cl->beat, on_handle_closed);
    uv_close((uv_handle_t *)&cl->prep, on_handle_closed);
}
