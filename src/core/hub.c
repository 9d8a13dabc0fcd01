/* The routing table user -> online sessions, as an open-addressing hash map
 * (linear probing, backward-shift deletion, no tombstones). Sized for tens of
 * thousands of sessions: a user with one session costs one 32-byte slot and no
 * allocation; only users with several devices online get a session array. */
#include "core/hub.h"

#include <string.h>

#include "util/alloc.h"
#include "util/hash.h"

typedef struct {
    mp_sid_t sid;
    uint64_t device_id;
} hub_sess_t;

typedef struct {
    uint64_t user_id; /* 0 = empty slot (user ids are never 0) */
    uint32_t n, cap;  /* cap 0 = the single session is stored inline */
    union {
        hub_sess_t one;
        hub_sess_t *many;
    } u;
} hub_slot_t;

struct mp_hub {
    mp_server_t *srv;
    hub_slot_t *slots;
    size_t mask; /* capacity - 1; capacity is a power of two */
    size_t used; /* users with at least one session */
    mp_hub_presence_fn presence;
    void *presence_ud;
};

#define HUB_MIN_CAP 64

/* splitmix64 finaliser: ids are time-ordered, so their low bits are a counter
 * and would cluster badly without mixing. */
static hub_sess_t *slot_sessions(hub_slot_t *s)
{
    return s->cap == 0 ? &s->u.one : s->u.many;
}

static const hub_sess_t *slot_csessions(const hub_slot_t *s)
{
    return s->cap == 0 ? &s->u.one : s->u.many;
}

mp_hub_t *mp_hub_new(mp_server_t *srv)
{
    mp_hub_t *hub = mp_calloc(1, sizeof *hub);
    hub->srv = srv;
    hub->slots = mp_calloc(HUB_MIN_CAP, sizeof *hub->slots);
    hub->mask = HUB_MIN_CAP - 1;
    return hub;
}

void mp_hub_free(mp_hub_t *hub)
{
    if (hub == NULL)
        return;
    for (size_t i = 0; i <= hub->mask; i++)
        if (hub->slots[i].user_id != 0 && hub->slots[i].cap != 0)
            mp_free(hub->slots[i].u.many);
    mp_free(hub->slots);
    mp_free(hub);
}

void mp_hub_on_presence(mp_hub_t *hub, mp_hub_presence_fn fn, void *ud)
{
    hub->presence = fn;
    hub->presence_ud = ud;
}

static hub_slot_t *find_slot(const mp_hub_t *hub, uint64_t user_id)
{
    if (user_id == 0)
        return NULL;
    for (size_t i = mp_hash_u64(user_id) & hub->mask;; i = (i + 1) & hub->mask) {
        hub_slot_t *s = &hub->slots[i];
        if (s->user_id == user_id)
            return s;
        if (s->user_id == 0)
            return NULL;
    }
}

/* Slot for user_id, claiming an empty one if absent (the table is never full:
 * it grows at 50% load). */
static hub_slot_t *claim_slot(mp_hub_t *hub, uint64_t user_id)
{
    size_t i = mp_hash_u64(user_id) & hub->mask;
    while (hub->slots[i].user_id != 0 && hub->slots[i].user_id != user_id)
        i = (i + 1) & hub->mask;
    return &hub->slots[i];
}

static void grow(mp_hub_t *hub)
{
    hub_slot_t *old = hub->slots;
    size_t oldcap = hub->mask + 1;
    hub->slots = mp_calloc(oldcap * 2, sizeof *hub->slots);
    hub->mask = oldcap * 2 - 1;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].user_id != 0)
            *claim_slot(hub, old[i].user_id) = old[i];
    mp_free(old);
}

/* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
static void delete_slot(mp_hub_t *hub, hub_slot_t *s)
{
    size_t i = (size_t)(s - hub->slots);
    size_t j = i;
    for (;;) {
        j = (j + 1) & hub->mask;
        if (hub->slots[j].user_id == 0)
            break;
        size_t home = mp_hash_u64(hub->slots[j].user_id) & hub->mask;
        /* Move j back into the hole at i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            hub->slots[i] = hub->slots[j];
            i = j;
        }
    }
    memset(&hub->slots[i], 0, sizeof hub->slots[i]);
    hub->used--;
}

static void push_session(hub_slot_t *s, mp_sid_t sid, uint64_t device_id)
{
    hub_sess_t sess = {sid, device_id};
    if (s->n == 0) {
        s->u.one = sess;
    } else if (s->cap == 0) {
        hub_sess_t first = s->u.one;
        s->cap = 4;
        s->u.many = mp_malloc(s->cap * sizeof(hub_sess_t));
        s->u.many[0] = first;
        s->u.many[1] = sess;
    } else {
        if (s->n == s->cap) {
            s->cap *= 2;
            s->u.many = mp_realloc(s->u.many, s->cap * sizeof(hub_sess_t));
        }
        s->u.many[s->n] = sess;
    }
    s->n++;
}

void mp_hub_add(mp_hub_t *hub, mp_sid_t sid, const mp_principal_t *who)
{
    if (who == NULL || who->user_id == 0)
        return;
    hub_slot_t *s = find_slot(hub, who->user_id);
    if (s != NULL) {
        const hub_sess_t *v = slot_csessions(s);
        for (uint32_t i = 0; i < s->n; i++)
            if (v[i].sid == sid)
                return; /* already known */
        push_session(s, sid, who->device_id);
        return;
    }
    if ((hub->used + 1) * 2 > hub->mask + 1)
        grow(hub);
    s = claim_slot(hub, who->user_id);
    s->user_id = who->user_id;
    hub->used++;
    push_session(s, sid, who->device_id);
    if (hub->presence != NULL)
        hub->presence(hub->presence_ud, who->user_id, true);
}

void mp_hub_remove(mp_hub_t *hub, mp_sid_t sid, const mp_principal_t *who)
{
    if (who == NULL)
        return;
    hub_slot_t *s = find_slot(hub, who->user_id);
    if (s == NULL)
        return;
    hub_sess_t *v = slot_sessions(s);
    uint32_t i = 0;
    while (i < s->n && v[i].sid != sid)
        i++;
    if (i == s->n)
        return;
    v[i] = v[s->n - 1]; /* order of a user's sessions does not matter */
    s->n--;
    if (s->n == 1 && s->cap != 0) {
        hub_sess_t last = s->u.many[0];
        mp_free(s->u.many);
        s->cap = 0;
        s->u.one = last;
    }
    if (s->n > 0)
        return;
    uint64_t user_id = s->user_id;
    delete_slot(hub, s);
    if (hub->presence != NULL)
        hub->presence(hub->presence_ud, user_id, false);
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
    const hub_slot_t *s = find_slot(hub, user_id);
    snap->n = s ? s->n : 0;
    snap->v = snap->n <= 8 ? snap->small : mp_malloc(snap->n * sizeof(hub_sess_t));
    if (snap->n > 0)
        memcpy(snap->v, slot_csessions(s), snap->n * sizeof(hub_sess_t));
}

static void snapshot_release(snapshot_t *snap)
{
    if (snap->v != snap->small)
        mp_free(snap->v);
}

void mp_hub_push_user(mp_hub_t *hub, uint64_t user_id, mp_frame_t *f, mp_sid_t except)
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

/* Every session id except skip_user's, copied out first: a send may
 * disconnect a slow reader, whose close hook changes the table under us. */
static mp_sid_t *all_sids(const mp_hub_t *hub, uint64_t skip_user, size_t *n_out)
{
    size_t n = 0, cap = hub->used + 8;
    mp_sid_t *sids = mp_malloc(cap * sizeof *sids);
    for (size_t i = 0; i <= hub->mask; i++) {
        const hub_slot_t *s = &hub->slots[i];
        if (s->user_id == 0 || s->user_id == skip_user)
            continue;
        const hub_sess_t *v = slot_csessions(s);
        for (uint32_t k = 0; k < s->n; k++) {
            if (n == cap)
                sids = mp_realloc(sids, (cap *= 2) * sizeof *sids);
            sids[n++] = v[k].sid;
        }
    }
    *n_out = n;
    return sids;
}

void mp_hub_push_all(mp_hub_t *hub, mp_frame_t *f, uint64_t skip_user)
{
    if (hub->srv == NULL)
        return;
    size_t n;
    mp_sid_t *sids = all_sids(hub, skip_user, &n);
    for (size_t i = 0; i < n; i++)
        mp_gw_send(hub->srv, sids[i], f);
    mp_free(sids);
}

size_t mp_hub_total_sessions(const mp_hub_t *hub)
{
    size_t n = 0;
    for (size_t i = 0; i <= hub->mask; i++)
        n += hub->slots[i].user_id != 0 ? hub->slots[i].n : 0;
    return n;
}

void mp_hub_close_device(mp_hub_t *hub, uint64_t device_id)
{
    /* Revocation is rare, so a full scan beats keeping a second index (and its
     * memory) for every session. */
    size_t n = 0, cap = 8;
    mp_sid_t *sids = mp_malloc(cap * sizeof *sids);
    for (size_t i = 0; i <= hub->mask; i++) {
        const hub_slot_t *s = &hub->slots[i];
        if (s->user_id == 0)
            continue;
        const hub_sess_t *v = slot_csessions(s);
        for (uint32_t k = 0; k < s->n; k++) {
            if (v[k].device_id != device_id)
                continue;
            if (n == cap)
                sids = mp_realloc(sids, (cap *= 2) * sizeof *sids);
            sids[n++] = v[k].sid;
        }
    }
    for (size_t i = 0; i < n && hub->srv != NULL; i++)
        mp_gw_close(hub->srv, sids[i], 1008, "device revoked");
    mp_free(sids);
}

bool mp_hub_online(const mp_hub_t *hub, uint64_t user_id)
{
    return find_slot(hub, user_id) != NULL;
}

size_t mp_hub_sessions(const mp_hub_t *hub, uint64_t user_id)
{
    const hub_slot_t *s = find_slot(hub, user_id);
    return s ? s->n : 0;
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
