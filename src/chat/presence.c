/* Presence: when a user's first session opens or last one closes (the hub's
 * hook), the users who share a conversation with them and are online get
 * {"event":"presence","user_id","online","last_seen_at"}; and
 * GET /v1/users/{id}/presence answers {"user_id","online","last_seen_at"}.
 * last_seen_at is kept in memory (user -> ms, bounded: see below), so after a
 * restart it is null until the user is seen again. Any authenticated user may
 * ask.
 *
 * Both follow the user's presence setting and blocks (proto/privacy.h): a
 * viewer the setting excludes, or whom the user blocked, gets no events and
 * reads online:false, last_seen_at:null — what a user never seen reads, so a
 * block looks like the setting "nobody" and both like a user who is away. */
#include <stdlib.h>
#include <string.h>

#include "chat/chat_int.h"
#include "store/privacy.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"
#include "util/map.h"

/* Times are stored in the map's values themselves: no allocation per user. */
_Static_assert(sizeof(uintptr_t) >= sizeof(int64_t), "a last-seen time must fit in a map value");

/* user -> last_seen_at (ms), for users who are offline: an online user's
 * entry is dropped when they connect (while online, GET answers "now", and
 * going offline writes a fresh time), so the table never grows with the
 * number of open sessions.
 *
 * Bound: at most max users are remembered. When one more must be recorded,
 * the older half of the table by last-seen time (every entry at or below the
 * median) is forgotten first, in one pass: users who left longest ago, guests
 * the sweep has deleted among them, go first, and their last_seen_at reads as
 * null again as after a restart. The pass sorts a copy of the times (8 bytes
 * per entry, freed at once) and runs at most once per max/2 new users, so it
 * costs O(log max) per recorded user. */
struct mp_chat_presence {
    mp_map_t seen; /* user id -> (void *)(uintptr_t)at_ms */
    size_t max;
};

mp_chat_presence_t *mp_chat__presence_new(size_t max_users)
{
    mp_chat_presence_t *p = mp_calloc(1, sizeof *p);
    mp_map_init(&p->seen);
    p->max = max_users ? max_users : 1;
    return p;
}

void mp_chat__presence_free(mp_chat_presence_t *p)
{
    if (p == NULL)
        return;
    mp_map_free(&p->seen);
    mp_free(p);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Forgets every user seen at or before the median time: at least half. */
static void forget_older_half(mp_chat_presence_t *p)
{
    size_t n = mp_map_len(&p->seen);
    if (n == 0)
        return;
    int64_t *ats = mp_malloc(n * sizeof *ats);
    size_t k = 0;
    mp_map_iter_t it;
    void *v;
    mp_map_iter_init(&p->seen, &it);
    while (mp_map_iter_next(&p->seen, &it, NULL, &v))
        ats[k++] = (int64_t)(uintptr_t)v;
    qsort(ats, n, sizeof *ats, cmp_i64);
    int64_t cut = ats[(n - 1) / 2];
    mp_free(ats);
    mp_map_iter_init(&p->seen, &it);
    while (mp_map_iter_next(&p->seen, &it, NULL, &v))
        if ((int64_t)(uintptr_t)v <= cut)
            mp_map_iter_del(&p->seen, &it);
}

int64_t mp_chat__presence_seen(mp_chat_presence_t *p, uint64_t user, int64_t at_ms)
{
    if (at_ms < 0)
        return (int64_t)(uintptr_t)mp_map_get(&p->seen, user);
    if (mp_map_find(&p->seen, user) == NULL && mp_map_len(&p->seen) >= p->max)
        forget_older_half(p);
    (void)mp_map_put(&p->seen, user, (void *)(uintptr_t)at_ms);
    return 0;
}

void mp_chat__presence_forget(mp_chat_presence_t *p, uint64_t user)
{
    (void)mp_map_del(&p->seen, user, NULL);
}

size_t mp_chat__presence_size(const mp_chat_presence_t *p)
{
    return mp_map_len(&p->seen);
}

/* ---- events --------------------------------------------------------------- */

typedef struct presence_ctx {
    mp_chat_t *chat;
    uint64_t user;
    bool online;
    int64_t at;
} presence_ctx_t;

static json_t *presence_json(uint64_t user, bool online, int64_t at)
{
    json_t *o = json_object();
    json_object_set_new(o, "user_id", mp_chat__id_json(user));
    json_object_set_new(o, "online", json_boolean(online));
    json_object_set_new(o, "last_seen_at", at > 0 ? json_integer(at) : json_null());
    return o;
}

static void on_peers(mp_err_t rc, const uint64_t *users, size_t n, void *ud)
{
    presence_ctx_t *c = ud;
    mp_hub_t *hub = c->chat->ctx->hub;
    mp_frame_t *f = NULL;
    /* Reads run on a pool and may complete out of order: a user who came
     * and went quickly could otherwise be announced online after the
     * offline notice. A notice the user's state has moved past is dropped;
     * the later transition has its own notice in flight. */
    if (mp_hub_online(hub, c->user) != c->online)
        rc = MP_ERR_CONFLICT;
    for (size_t i = 0; rc == MP_OK && i < n; i++) {
        if (!mp_hub_online(hub, users[i]))
            continue;
        if (f == NULL) {
            json_t *ev = presence_json(c->user, c->online, c->at);
            json_object_set_new(ev, "event", json_string("presence"));
            f = mp_frame_new_json(ev);
            json_decref(ev);
        }
        /* Every node of a cluster runs this hook for the same transition:
         * each tells its own sessions. */
        mp_hub_push_local(hub, users[i], f, 0);
    }
    if (f != NULL)
        mp_frame_unref(f);
    mp_free(c);
}

void mp_chat_presence(void *ud, uint64_t user_id, bool online)
{
    mp_chat_t *chat = ud;
    presence_ctx_t *c = mp_malloc(sizeof *c);
    *c = (presence_ctx_t){.chat = chat, .user = user_id, .online = online, .at = mp_now_ms()};
    if (online)
        mp_chat__presence_forget(chat->presence, user_id);
    else
        (void)mp_chat__presence_seen(chat->presence, user_id, c->at);
    /* Nobody here to tell (a node of a cluster with no session open). A
     * full queue (or shutdown) only costs this notification. */
    if (mp_hub_total_sessions(chat->ctx->hub) == 0 ||
        mp_store_presence_audience(chat->ctx->store, user_id, on_peers, c) != MP_OK)
        mp_free(c);
}

/* ---- GET /v1/users/{id}/presence ---------------------------------------------- */

typedef struct presence_req {
    mp_http_req_t *req;
    uint64_t user;
} presence_req_t;

static void on_pair(mp_err_t rc, const mp_privacy_pair_t *p, void *ud)
{
    presence_req_t *r = ud;
    mp_http_req_t *req = r->req;
    uint64_t user = r->user;
    mp_free(r);
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, NULL);
        return;
    }
    mp_chat_t *chat = mp_chat__of_req(req);
    bool self = user == mp_http_req_principal(req)->user_id;
    mp_privacy_facts_t f = mp_privacy_pair_facts(p, MP_PRIVACY_PRESENCE);
    if (!self && mp_privacy_rule(MP_PRIVACY_PRESENCE, &f) != MP_PRIVACY_ALLOWED) {
        mp_http_respond(req, 200, presence_json(user, false, 0));
        return;
    }
    bool online = mp_hub_online(chat->ctx->hub, user);
    int64_t at = online ? mp_now_ms() : mp_chat__presence_seen(chat->presence, user, -1);
    mp_http_respond(req, 200, presence_json(user, online, at));
}

void mp_chat__route_presence(mp_http_req_t *req)
{
    uint64_t id;
    if (!mp_id_parse(mp_http_req_param(req, "id"), &id)) {
        mp_http_respond_error(req, MP_ERR_NOT_FOUND, NULL);
        return;
    }
    mp_chat_t *chat = mp_chat__of_req(req);
    presence_req_t *r = mp_malloc(sizeof *r);
    *r = (presence_req_t){req, id};
    /* The target's setting and blocks, with whether the two are friends. */
    mp_err_t rc = mp_store_privacy_pair(chat->ctx->store, mp_http_req_principal(req)->user_id, id,
                                        on_pair, r);
    if (rc != MP_OK) {
        mp_free(r);
        mp_http_respond_error(req, rc, NULL);
    }
}
