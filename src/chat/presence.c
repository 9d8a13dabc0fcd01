/* Presence: when a user's first session opens or last one closes (the hub's
 * hook), the users who share a conversation with them and are online get
 * {"event":"presence","user_id","online","last_seen_at"}; and
 * GET /v1/users/{id}/presence answers {"user_id","online","last_seen_at"}.
 * last_seen_at is kept in memory (user -> ms), so after a restart it is null
 * until the user is seen again. Any authenticated user may ask. */
#include <string.h>

#include "app/app.h"
#include "chat/chat_int.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"
#include "util/hash.h"

typedef struct seen_slot {
    uint64_t user; /* 0 = empty */
    int64_t at;
} seen_slot_t;

/* Open addressing, grows at half full; one 16-byte slot per user seen. */
struct mp_chat_presence {
    seen_slot_t *slots;
    size_t mask, used;
};

mp_chat_presence_t *mp_chat__presence_new(void)
{
    mp_chat_presence_t *p = mp_calloc(1, sizeof *p);
    p->mask = 255;
    p->slots = mp_calloc(p->mask + 1, sizeof *p->slots);
    return p;
}

void mp_chat__presence_free(mp_chat_presence_t *p)
{
    if (p == NULL)
        return;
    mp_free(p->slots);
    mp_free(p);
}

static seen_slot_t *slot(mp_chat_presence_t *p, uint64_t user)
{
    size_t i = mp_hash_u64(user) & p->mask;
    while (p->slots[i].user != 0 && p->slots[i].user != user)
        i = (i + 1) & p->mask;
    return &p->slots[i];
}

static void grow(mp_chat_presence_t *p)
{
    seen_slot_t *old = p->slots;
    size_t n = p->mask + 1;
    p->mask = n * 2 - 1;
    p->slots = mp_calloc(n * 2, sizeof *p->slots);
    for (size_t i = 0; i < n; i++)
        if (old[i].user != 0)
            *slot(p, old[i].user) = old[i];
    mp_free(old);
}

int64_t mp_chat__presence_seen(mp_chat_presence_t *p, uint64_t user, int64_t at_ms)
{
    seen_slot_t *s = slot(p, user);
    if (at_ms < 0)
        return s->user == user ? s->at : 0;
    if (s->user != user) {
        if (2 * (p->used + 1) > p->mask + 1) {
            grow(p);
            s = slot(p, user);
        }
        s->user = user;
        p->used++;
    }
    s->at = at_ms;
    return 0;
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
    mp_hub_t *hub = c->chat->app->hub;
    mp_frame_t *f = NULL;
    for (size_t i = 0; rc == MP_OK && i < n; i++) {
        if (!mp_hub_online(hub, users[i]))
            continue;
        if (f == NULL) {
            json_t *ev = presence_json(c->user, c->online, c->at);
            json_object_set_new(ev, "event", json_string("presence"));
            f = mp_frame_new_json(ev);
            json_decref(ev);
        }
        mp_hub_push_user(hub, users[i], f, 0);
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
    (void)mp_chat__presence_seen(chat->presence, user_id, c->at);
    /* A full queue (or shutdown) only costs this notification. */
    if (mp_store_chat_peers(chat->app->store, user_id, on_peers, c) != MP_OK)
        mp_free(c);
}

/* ---- GET /v1/users/{id}/presence ---------------------------------------------- */

static void on_user(mp_err_t rc, const mp_user_row_t *user, void *ud)
{
    mp_http_req_t *req = ud;
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, NULL);
        return;
    }
    mp_chat_t *chat = mp_chat__of_req(req);
    bool online = mp_hub_online(chat->app->hub, user->id);
    int64_t at = online ? mp_now_ms() : mp_chat__presence_seen(chat->presence, user->id, -1);
    mp_http_respond(req, 200, presence_json(user->id, online, at));
}

void mp_chat__route_presence(mp_http_req_t *req)
{
    uint64_t id;
    if (!mp_id_parse(mp_http_req_param(req, "id"), &id)) {
        mp_http_respond_error(req, MP_ERR_NOT_FOUND, NULL);
        return;
    }
    mp_chat_t *chat = mp_chat__of_req(req);
    mp_err_t rc = mp_store_user_by_id(chat->app->store, id, on_user, req);
    if (rc != MP_OK)
        mp_http_respond_error(req, rc, NULL);
}
