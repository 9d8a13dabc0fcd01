/* The routing table user -> online sessions: the tree's map (util/map.h) from
 * user id to a small array of that user's sessions. A user with one session
 * costs one 17-byte map slot (at 35-70 % load) and one 24-byte allocation
 * (a 32-byte malloc chunk); the array doubles for users with several devices
 * online and halves again when they leave. With a bus attached, each public
 * call does this node's part here and hands the other nodes' part to
 * hub_cluster.c. */
#include <string.h>

#include "core/hub_int.h"
#include "net/server.h"
#include "util/alloc.h"
#include "util/assert.h"

static hub_user_t *user_alloc(hub_user_t *u, uint32_t cap)
{
    u = mp_realloc(u, sizeof *u + cap * sizeof(hub_sess_t));
    u->cap = cap;
    return u;
}

mp_hub_t *mp_hub_new(mp_server_t *srv)
{
    mp_hub_t *hub = mp_calloc(1, sizeof *hub);
    hub->srv = srv;
    mp_map_init(&hub->users);
    return hub;
}

void mp_hub_free(mp_hub_t *hub)
{
    if (hub == NULL)
        return;
    mp_hub_detach_bus(hub);
    mp_map_iter_t it;
    void *u;
    mp_map_iter_init(&hub->users, &it);
    while (mp_map_iter_next(&hub->users, &it, NULL, &u))
        mp_free(u);
    mp_map_free(&hub->users);
    mp_free(hub);
}

void mp_hub_on_presence(mp_hub_t *hub, mp_hub_presence_fn fn, void *ud)
{
    hub->presence = fn;
    hub->presence_ud = ud;
}

void mp_hub_on_remote_close(mp_hub_t *hub, mp_hub_closed_fn fn, void *ud)
{
    hub->closed = fn;
    hub->closed_ud = ud;
}

void mp_hub_on_gap(mp_hub_t *hub, mp_hub_gap_fn fn, void *ud)
{
    hub->gap = fn;
    hub->gap_ud = ud;
}

void mp_hub__presence(mp_hub_t *hub, uint64_t user_id, bool online)
{
    if (hub->presence != NULL)
        hub->presence(hub->presence_ud, user_id, online);
}

static const hub_user_t *find_user(const mp_hub_t *hub, uint64_t user_id)
{
    return user_id == 0 ? NULL : mp_map_get(&hub->users, user_id);
}

void mp_hub_add(mp_hub_t *hub, mp_sid_t sid, const mp_principal_t *who)
{
    MP_ASSERT(hub->srv == NULL || mp_server_on_loop(hub->srv)); /* no locks here */
    if (who == NULL || who->user_id == 0)
        return;
    bool created;
    void **slot = mp_map_upsert(&hub->users, who->user_id, &created);
    hub_user_t *u = *slot;
    if (created) {
        u = user_alloc(NULL, 1);
        u->n = 0;
    } else {
        for (uint32_t i = 0; i < u->n; i++)
            if (u->v[i].sid == sid)
                return; /* already known */
        if (u->n == u->cap)
            u = user_alloc(u, u->cap * 2);
    }
    u->v[u->n++] = (hub_sess_t){sid, who->device_id};
    *slot = u;
    hub->sessions++;
    if (!created)
        return;
    /* Online in the cluster only if no other node had the user already. */
    bool elsewhere = hub->cl != NULL && mp_hub__cl_online(hub->cl, who->user_id);
    if (hub->cl != NULL)
        mp_hub__cl_local_up(hub->cl, who->user_id);
    if (!elsewhere)
        mp_hub__presence(hub, who->user_id, true);
}

void mp_hub_remove(mp_hub_t *hub, mp_sid_t sid, const mp_principal_t *who)
{
    MP_ASSERT(hub->srv == NULL || mp_server_on_loop(hub->srv)); /* no locks here */
    if (who == NULL || who->user_id == 0)
        return;
    void **slot = mp_map_find(&hub->users, who->user_id);
    if (slot == NULL)
        return;
    hub_user_t *u = *slot;
    uint32_t i = 0;
    while (i < u->n && u->v[i].sid != sid)
        i++;
    if (i == u->n)
        return;
    u->v[i] = u->v[u->n - 1]; /* order of a user's sessions does not matter */
    u->n--;
    hub->sessions--;
    if (u->n > 0) {
        /* Give back what a burst of devices took, keeping room to grow. */
        if (u->n * 4 <= u->cap)
            *slot = user_alloc(u, u->cap / 2);
        return;
    }
    mp_free(u);
    (void)mp_map_del(&hub->users, who->user_id, NULL);
    if (hub->cl != NULL)
        mp_hub__cl_local_down(hub->cl, who->user_id);
    if (hub->cl == NULL || !mp_hub__cl_online(hub->cl, who->user_id))
        mp_hub__presence(hub, who->user_id, false);
}

/* Callbacks below may change the table (a send can disconnect a slow reader,
 * whose close hook removes it from the hub), so each walk works on a copy. */
typedef struct {
    hub_sess_t small[8];
    hub_sess_t *v;
    uint32_t n;
} snapshot_t;

static void snapshot_take(const mp_hub_t *hub, uint64_t user_id, snapshot_t *snap)
{
    const hub_user_t *u = find_user(hub, user_id);
    snap->n = u ? u->n : 0;
    snap->v = snap->n <= 8 ? snap->small : mp_malloc(snap->n * sizeof(hub_sess_t));
    if (snap->n > 0)
        memcpy(snap->v, u->v, snap->n * sizeof(hub_sess_t));
}

static void snapshot_release(snapshot_t *snap)
{
    if (snap->v != snap->small)
        mp_free(snap->v);
}

void mp_hub__local_push_user(mp_hub_t *hub, uint64_t user_id, mp_frame_t *f, mp_sid_t except)
{
    if (hub->srv == NULL)
        return;
    snapshot_t snap;
    snapshot_take(hub, user_id, &snap);
    for (uint32_t i = 0; i < snap.n; i++)
        if (snap.v[i].sid != except)
            mp_gw_send(hub->srv, snap.v[i].sid, f);
    snapshot_release(&snap);
}

void mp_hub_push_local(mp_hub_t *hub, uint64_t user_id, mp_frame_t *f, mp_sid_t except)
{
    mp_hub__local_push_user(hub, user_id, f, except);
}

void mp_hub_push_user(mp_hub_t *hub, uint64_t user_id, mp_frame_t *f, mp_sid_t except)
{
    mp_hub__local_push_user(hub, user_id, f, except);
    if (hub->cl != NULL)
        mp_hub__cl_push_user(hub->cl, user_id, f);
}

static bool skipped(uint64_t user_id, const uint64_t *skip, size_t n_skip)
{
    size_t lo = 0, hi = n_skip;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (skip[mid] == user_id)
            return true;
        if (skip[mid] < user_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Every session id except those of the skipped users, copied out first: a
 * send may disconnect a slow reader, whose close hook changes the table
 * under us. */
static mp_sid_t *all_sids(const mp_hub_t *hub, const uint64_t *skip, size_t n_skip, size_t *n_out)
{
    size_t n = 0;
    mp_sid_t *sids = mp_malloc((hub->sessions + 1) * sizeof *sids);
    mp_map_iter_t it;
    uint64_t user_id;
    void *val;
    mp_map_iter_init(&hub->users, &it);
    while (mp_map_iter_next(&hub->users, &it, &user_id, &val)) {
        const hub_user_t *u = val;
        if (skipped(user_id, skip, n_skip))
            continue;
        for (uint32_t k = 0; k < u->n; k++)
            sids[n++] = u->v[k].sid;
    }
    *n_out = n;
    return sids;
}

void mp_hub__local_push_all_except(mp_hub_t *hub, mp_frame_t *f, const uint64_t *skip,
                                   size_t n_skip)
{
    if (hub->srv == NULL)
        return;
    size_t n;
    mp_sid_t *sids = all_sids(hub, skip, n_skip, &n);
    for (size_t i = 0; i < n; i++)
        mp_gw_send(hub->srv, sids[i], f);
    mp_free(sids);
}

void mp_hub__local_push_every(mp_hub_t *hub, mp_frame_t *f)
{
    mp_hub__local_push_all_except(hub, f, NULL, 0);
}

void mp_hub_push_all_except(mp_hub_t *hub, mp_frame_t *f, const uint64_t *skip, size_t n_skip)
{
    for (size_t i = 1; i < n_skip; i++)
        MP_ASSERT(skip[i - 1] < skip[i]);
    mp_hub__local_push_all_except(hub, f, skip, n_skip);
    if (hub->cl != NULL)
        mp_hub__cl_push_all_except(hub->cl, f, skip, n_skip);
}

void mp_hub_push_all(mp_hub_t *hub, mp_frame_t *f, uint64_t skip_user)
{
    mp_hub_push_all_except(hub, f, &skip_user, skip_user != 0 ? 1 : 0);
}

size_t mp_hub_total_sessions(const mp_hub_t *hub)
{
    return hub->sessions;
}

void mp_hub__local_close_device(mp_hub_t *hub, uint64_t device_id)
{
    /* Revocation is rare, so a full scan beats keeping a second index (and its
     * memory) for every session. */
    size_t n = 0, cap = 8;
    mp_sid_t *sids = mp_malloc(cap * sizeof *sids);
    mp_map_iter_t it;
    void *val;
    mp_map_iter_init(&hub->users, &it);
    while (mp_map_iter_next(&hub->users, &it, NULL, &val)) {
        const hub_user_t *u = val;
        for (uint32_t k = 0; k < u->n; k++) {
            if (u->v[k].device_id != device_id)
                continue;
            if (n == cap)
                sids = mp_realloc(sids, (cap *= 2) * sizeof *sids);
            sids[n++] = u->v[k].sid;
        }
    }
    for (size_t i = 0; i < n && hub->srv != NULL; i++)
        mp_gw_close(hub->srv, sids[i], 1008, "device revoked");
    mp_free(sids);
}

void mp_hub_close_device(mp_hub_t *hub, uint64_t device_id)
{
    mp_hub__local_close_device(hub, device_id);
    if (hub->cl != NULL)
        mp_hub__cl_close_device(hub->cl, device_id);
}

void mp_hub__local_close_user(mp_hub_t *hub, uint64_t user_id, int code, const char *reason)
{
    if (hub->srv == NULL)
        return;
    /* A snapshot: each close removes its session from the table. */
    snapshot_t snap;
    snapshot_take(hub, user_id, &snap);
    for (uint32_t i = 0; i < snap.n; i++)
        mp_gw_close(hub->srv, snap.v[i].sid, code, reason);
    snapshot_release(&snap);
}

void mp_hub_close_user(mp_hub_t *hub, uint64_t user_id, int code, const char *reason)
{
    mp_hub__local_close_user(hub, user_id, code, reason);
    if (hub->cl != NULL)
        mp_hub__cl_close_user(hub->cl, user_id, code, reason);
}

bool mp_hub_ready(const mp_hub_t *hub)
{
    return hub->cl == NULL || mp_hub__cl_ready(hub->cl);
}

bool mp_hub_leader(const mp_hub_t *hub)
{
    return hub->cl == NULL || mp_hub__cl_leader(hub->cl);
}

void mp_hub_share_limit(mp_hub_t *hub, mp_hub_limit_t which, mp_ratelimit_t *rl)
{
    MP_ASSERT(which < MP_HUB__LIMITS);
    hub->limits[which] = rl;
}

bool mp_hub_limit_take(mp_hub_t *hub, mp_hub_limit_t which, mp_ratelimit_t *rl, uint64_t key,
                       int64_t now_ms, int64_t *retry_after_ms)
{
    if (!mp_ratelimit_take(rl, key, now_ms, retry_after_ms))
        return false;
    if (hub != NULL && hub->cl != NULL)
        mp_hub__cl_limit_taken(hub->cl, which, key);
    return true;
}

bool mp_hub_online(const mp_hub_t *hub, uint64_t user_id)
{
    return find_user(hub, user_id) != NULL ||
           (hub->cl != NULL && mp_hub__cl_online(hub->cl, user_id));
}

bool mp_hub_online_except(const mp_hub_t *hub, uint64_t user_id, mp_sid_t except)
{
    const hub_user_t *u = find_user(hub, user_id);
    for (uint32_t i = 0; u != NULL && i < u->n; i++)
        if (u->v[i].sid != except)
            return true;
    return hub->cl != NULL && mp_hub__cl_online(hub->cl, user_id);
}

size_t mp_hub_sessions(const mp_hub_t *hub, uint64_t user_id)
{
    const hub_user_t *u = find_user(hub, user_id);
    return u ? u->n : 0;
}

void mp_hub_each(const mp_hub_t *hub, uint64_t user_id,
                 void (*fn)(mp_sid_t sid, uint64_t device_id, void *ud), void *ud)
{
    snapshot_t snap;
    snapshot_take(hub, user_id, &snap);
    for (uint32_t i = 0; i < snap.n; i++)
        fn(snap.v[i].sid, snap.v[i].device_id, ud);
    snapshot_release(&snap);
}
