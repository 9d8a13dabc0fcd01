/* The world room: one public conversation that every user (guests included,
 * as configured) uses without joining. It has no member rows; a post costs
 * one row and one write per ONLINE session (the hub's whole table), the
 * slow mode limits each user to one post per world_slow_mode ms, and guest
 * posts count as guest activity for the sweep. GET /v1/world announces it. */
#include <stdio.h>

#include "chat/chat_int.h"
#include "store/world.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"

/* Users tracked by the slow-mode and activity limiters (memory bound). */
#define WORLD_RL_KEYS 100000
/* A guest's posts are recorded as activity at most this often. */
#define WORLD_TOUCH_MAX_MS 60000

struct mp_chat_world {
    unsigned slow_ms;
    mp_ratelimit_t *slow;  /* NULL when slow mode is off */
    mp_ratelimit_t *touch; /* guest activity writes, per device */
};

mp_chat_world_t *mp_chat__world_new(const mp_config_t *cfg)
{
    mp_chat_world_t *w = mp_calloc(1, sizeof *w);
    w->slow_ms = cfg->world_slow_mode_ms;
    if (w->slow_ms > 0)
        w->slow = mp_ratelimit_new(1, 1000.0 / w->slow_ms, WORLD_RL_KEYS);
    /* Often enough that a posting guest never looks idle to the sweep. */
    uint64_t every = (uint64_t)cfg->guest_ttl_s * 1000 / 4;
    every = every > WORLD_TOUCH_MAX_MS ? WORLD_TOUCH_MAX_MS : every < 10 ? 10 : every;
    w->touch = mp_ratelimit_new(1, 1000.0 / (double)every, WORLD_RL_KEYS);
    return w;
}

void mp_chat__world_free(mp_chat_world_t *w)
{
    if (w == NULL)
        return;
    mp_ratelimit_free(w->slow);
    mp_ratelimit_free(w->touch);
    mp_free(w);
}

void mp_chat__world_share(mp_chat_t *chat, bool on)
{
    if (chat->ctx->hub != NULL && chat->world->slow != NULL)
        mp_hub_share_limit(chat->ctx->hub, MP_HUB_LIMIT_WORLD_SLOW, on ? chat->world->slow : NULL);
}

bool mp_chat__world_is(const mp_chat_t *chat, uint64_t conv)
{
    return conv != 0 && conv == chat->ctx->world_id;
}

bool mp_chat__world_guest_reads(const mp_chat_t *chat, uint64_t conv)
{
    return mp_chat__world_is(chat, conv) && chat->ctx->cfg->guests != MP_GUESTS_OFF;
}

bool mp_chat__world_post_ok(mp_chat_t *chat, uint64_t user, int64_t *retry_ms)
{
    mp_chat_world_t *w = chat->world;
    *retry_ms = 0;
    if (w->slow == NULL)
        return true;
    /* One post per slow-mode period across every node of a cluster. */
    return mp_hub_limit_take(chat->ctx->hub, MP_HUB_LIMIT_WORLD_SLOW, w->slow, user, mp_mono_ms(),
                             retry_ms);
}

void mp_chat__world_slow_error(mp_chat_t *chat, mp_sid_t sid, int64_t req_id, int64_t retry_ms)
{
    char msg[128];
    snprintf(msg, sizeof msg, "slow mode: wait %lld ms before posting in the world room again",
             (long long)retry_ms);
    mp_gw_error(chat->ctx->srv, sid, req_id, MP_ERR_SLOW_MODE, msg,
                json_pack("{s:I}", "retry_after_ms", (json_int_t)retry_ms));
}

void mp_chat__world_posted(mp_chat_t *chat, uint64_t device_id, bool guest)
{
    if (!guest || !mp_ratelimit_take(chat->world->touch, device_id, mp_mono_ms(), NULL))
        return;
    /* Best effort: a full queue only makes the guest look idle a bit longer. */
    mp_err_t queued = mp_store_device_touch(chat->ctx->store, device_id, mp_now_ms(), NULL, NULL);
    (void)queued;
}

/* Every online session but the sender's gets the plain frame, except the
 * mentioned users, who get the mention frame instead: one pass over the
 * hub's table plus one lookup per mentioned user. */
void mp_chat__world_fan_out(mp_chat_t *chat, const mp_msg_row_t *m, mp_sid_t except, bool guest)
{
    mp_hub_t *hub = chat->ctx->hub;
    mp_chat_frames_t fr;
    mp_chat__frames_init(&fr, m, guest);
    uint64_t skip[MP_CHAT_MENTIONS_MAX + 1];
    size_t n_skip = 0;
    bool sender_put = false;
    for (size_t i = 0; i < fr.n_mentions; i++) { /* both ascending: a merge */
        if (!sender_put && m->sender_id <= fr.mentions[i]) {
            skip[n_skip++] = m->sender_id;
            sender_put = true;
        }
        if (fr.mentions[i] != m->sender_id)
            skip[n_skip++] = fr.mentions[i];
    }
    if (!sender_put)
        skip[n_skip++] = m->sender_id;
    mp_hub_push_all_except(hub, mp_chat__frames_plain(&fr), skip, n_skip);
    for (size_t i = 0; i < fr.n_mentions; i++)
        if (fr.mentions[i] != m->sender_id && mp_hub_online(hub, fr.mentions[i]))
            mp_hub_push_user(hub, fr.mentions[i], mp_chat__frames_mention(&fr), 0);
    /* The sender's other sessions get client_msg_id to match their outbox;
     * the sending session has the ack. */
    if (mp_chat__has_other_session(chat, m->sender_id, except))
        mp_hub_push_user(hub, m->sender_id, mp_chat__frames_own(&fr), except);
    mp_chat__frames_free(&fr);
}

/* GET /v1/world: where the world room is and its rules. */
void mp_chat__route_world(mp_http_req_t *req)
{
    const mp_module_ctx_t *ctx = mp_chat__of_req(req)->ctx;
    static const char *const modes[] = {"off", "read", "write"};
    mp_guests_t g = ctx->cfg->guests;
    json_t *o = json_object();
    json_object_set_new(o, "conversation_id", mp_chat__id_json(ctx->world_id));
    json_object_set_new(o, "kind", json_string("world"));
    json_object_set_new(o, "title", json_string(MP_WORLD_TITLE));
    json_object_set_new(o, "slow_mode_ms", json_integer(ctx->cfg->world_slow_mode_ms));
    json_object_set_new(o, "guests", json_string(g <= MP_GUESTS_WRITE ? modes[g] : "off"));
    mp_http_respond(req, 200, o);
}
