/* The `send` verb, the heart of Magpie: validate → rate limit → membership
 * (cache) → ONE store write job (dedup, seq, insert, group-committed and
 * fsynced) → ack the sender → fan the event out, encoded once per audience.
 *
 * The sending session gets the ack only, not the event: the ack carries
 * everything the event would. Every other session of the sender gets the
 * event with client_msg_id (so it can match its own outbox); the other
 * members' sessions get it without. A duplicate (retried send) is acked with
 * the original and NOT fanned out again: the original was delivered when it
 * was stored, and if the server died between commit and fan-out every device
 * reconnects and syncs anyway. */
#include <stdio.h>
#include <string.h>

#include "chat/chat_int.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"

const mp_field_t mp_chat_send_fields[] = {
    {"client_msg_id", MP_F_ASCII, true, 1, MP_CHAT_CMID_MAX},
    {"text", MP_F_TEXT, true, 1, MP_CHAT_TEXT_MAX_CHARS},
    {"conversation", MP_F_ID, false, 0, 0},
    {"to", MP_F_ID, false, 0, 0},
    {"kind", MP_F_ASCII, false, 1, 16},
    {"reply_to", MP_F_ID, false, 0, 0},
    {NULL, 0, false, 0, 0},
};

typedef struct send_ctx {
    mp_chat_t *chat;
    mp_sid_t sid;
    int64_t req_id;
    json_t *frame; /* a reference: the strings below point into it */
    mp_chat_send_in_t in;
    bool guest; /* the sender is a guest (world posts are marked) */
    uint64_t device_id;
} send_ctx_t;

static void ctx_free(send_ctx_t *c)
{
    json_decref(c->frame);
    mp_free(c);
}

/* A message naming the cause where the table's default would not. */
static const char *fail_message(const send_ctx_t *c, mp_err_t rc)
{
    if (rc == MP_ERR_GUEST_FORBIDDEN)
        return c->in.to_user_id != 0
                   ? "field 'to' names a guest: guests can only use the world room"
                   : "the other member is a guest: guests can only use the world room";
    return NULL;
}

static void fail(send_ctx_t *c, mp_err_t rc)
{
    mp_gw_error(c->chat->ctx->srv, c->sid, c->req_id, rc, fail_message(c, rc), NULL);
    ctx_free(c);
}

/* muted, with the time the mute ends (from the cache or from the store). */
static void fail_muted(send_ctx_t *c, int64_t until)
{
    char when[25], msg[96];
    mp_time_format(until, when);
    snprintf(msg, sizeof msg, "you are muted in this group until %s", when);
    mp_gw_error(c->chat->ctx->srv, c->sid, c->req_id, MP_ERR_MUTED, msg,
                json_pack("{s:I}", "muted_until", (json_int_t)until));
    ctx_free(c);
}

static void reply(send_ctx_t *c, const mp_chat_send_out_t *o)
{
    json_t *f = json_object();
    json_object_set_new(f, "message_id", mp_chat__id_json(o->msg.id));
    json_object_set_new(f, "conversation", mp_chat__id_json(o->msg.conversation_id));
    json_object_set_new(f, "seq", json_integer(o->msg.seq));
    json_object_set_new(f, "created_at", json_integer(o->msg.created_at));
    json_object_set_new(f, "duplicate", json_boolean(o->duplicate));
    mp_gw_reply(c->chat->ctx->srv, c->sid, c->req_id, f);
}

typedef struct others {
    mp_sid_t except;
    bool any;
} others_t;

static void count_other(mp_sid_t sid, uint64_t device_id, void *ud)
{
    (void)device_id;
    others_t *o = ud;
    if (sid != o->except)
        o->any = true;
}

/* Whether user has a session besides `except` (the sending one, which gets
 * the ack instead; it may also have closed meanwhile). */
static bool has_other_session(mp_hub_t *hub, uint64_t user, mp_sid_t except)
{
    others_t o = {except, false};
    if (mp_hub_sessions(hub, user) == 0)
        return false;
    mp_hub_each(hub, user, count_other, &o);
    return o.any;
}

/* Two frames at most, each encoded once and shared by all its sessions. */
static void fan_out(mp_chat_t *chat, const mp_chat_conv_t *conv, const mp_msg_row_t *m,
                    mp_sid_t except)
{
    mp_hub_t *hub = chat->ctx->hub;
    json_t *ev = json_object();
    json_t *msg = mp_chat__msg_json(m, false);
    json_object_set_new(ev, "event", json_string("message"));
    json_object_set(ev, "message", msg);
    mp_frame_t *plain = NULL;
    for (uint32_t i = 0; i < conv->n; i++) {
        uint64_t u = conv->members[i];
        if (u == m->sender_id || !mp_hub_online(hub, u))
            continue;
        if (plain == NULL)
            plain = mp_frame_new_json(ev);
        mp_hub_push_user(hub, u, plain, 0);
    }
    if (has_other_session(hub, m->sender_id, except)) {
        json_object_set_new(msg, "client_msg_id", json_string(m->client_msg_id));
        mp_frame_t *own = mp_frame_new_json(ev);
        mp_hub_push_user(hub, m->sender_id, own, except);
        mp_frame_unref(own);
    }
    if (plain != NULL)
        mp_frame_unref(plain);
    json_decref(msg);
    json_decref(ev);
}

/* A message whose conversation is not cached (rare: the cache was just
 * dropped) waits for the member list; it owns a copy of the row. */
typedef struct late_fan {
    mp_sid_t except;
    mp_msg_row_t m;
    char *cmid, *kind, *text;
} late_fan_t;

static void on_late_conv(mp_chat_t *chat, mp_err_t rc, const mp_chat_conv_t *conv, void *ud)
{
    late_fan_t *l = ud;
    if (rc == MP_OK)
        fan_out(chat, conv, &l->m, l->except);
    mp_free(l->cmid);
    mp_free(l->kind);
    mp_free(l->text);
    mp_free(l);
}

static void fan_out_later(mp_chat_t *chat, const mp_msg_row_t *m, mp_sid_t except)
{
    late_fan_t *l = mp_calloc(1, sizeof *l);
    l->except = except;
    l->m = *m;
    l->m.client_msg_id = l->cmid = mp_strdup(m->client_msg_id);
    l->m.kind = l->kind = mp_strdup(m->kind);
    l->m.text = l->text = mp_strdup(m->text);
    mp_chat__with_conv(chat, m->conversation_id, on_late_conv, l);
}

static void on_sent(mp_err_t rc, const mp_chat_send_out_t *o, void *ud)
{
    send_ctx_t *c = ud;
    mp_chat_t *chat = c->chat;
    if (rc == MP_ERR_MUTED && o != NULL) {
        fail_muted(c, o->muted_until);
        return;
    }
    if (rc != MP_OK) {
        fail(c, rc);
        return;
    }
    reply(c, o);
    if (!o->duplicate && mp_chat__world_is(chat, o->msg.conversation_id)) {
        mp_chat__world_fan_out(chat, &o->msg, c->sid, c->guest);
        mp_chat__world_posted(chat, c->device_id, c->guest);
    } else if (!o->duplicate) {
        const mp_chat_conv_t *conv = mp_chat__cache_get(chat->cache, o->msg.conversation_id);
        if (conv == NULL && o->peer_id != 0) {
            /* `to`: a direct conversation, whose members we know. */
            uint64_t members[2] = {o->msg.sender_id, o->peer_id};
            conv =
                mp_chat__cache_put(chat->cache, o->msg.conversation_id, MP_CONV_DIRECT, members, 2);
        }
        if (conv != NULL)
            fan_out(chat, conv, &o->msg, c->sid);
        else
            fan_out_later(chat, &o->msg, c->sid);
    }
    ctx_free(c);
}

static void store_send(send_ctx_t *c)
{
    c->in.now_ms = mp_now_ms();
    mp_err_t rc = mp_store_chat_send(c->chat->ctx->store, &c->in, on_sent, c);
    if (rc != MP_OK)
        fail(c, rc);
}

/* Group rules (dissolved, who_can_post, mutes) from the cached entry: a fast
 * refusal only. The store checks them all again in the write that assigns
 * the seq, because the entry may be older than a change that just committed.
 * False when it has answered (and freed c). */
static bool group_may_post(send_ctx_t *c, const mp_chat_conv_t *conv)
{
    int64_t until = 0;
    mp_err_t rc = mp_chat__conv_may_post(conv, c->in.sender_id, mp_now_ms(), &until);
    if (rc == MP_OK)
        return true;
    if (rc == MP_ERR_MUTED)
        fail_muted(c, until);
    else
        fail(c, rc);
    return false;
}

static void on_conv(mp_chat_t *chat, mp_err_t rc, const mp_chat_conv_t *conv, void *ud)
{
    send_ctx_t *c = ud;
    int64_t retry_ms = 0;
    if (rc == MP_OK && !mp_chat__conv_has(conv, c->in.sender_id))
        rc = MP_ERR_NOT_MEMBER;
    if (rc == MP_OK && conv->kind == MP_CONV_GROUP && !group_may_post(c, conv))
        return;
    if (rc == MP_OK && conv->kind == MP_CONV_WORLD &&
        !mp_chat__world_post_ok(chat, c->in.sender_id, &retry_ms)) {
        mp_chat__world_slow_error(chat, c->sid, c->req_id, retry_ms);
        ctx_free(c);
        return;
    }
    if (rc != MP_OK)
        fail(c, rc);
    else
        store_send(c);
}

static uint64_t frame_id(json_t *frame, const char *name)
{
    uint64_t id = 0;
    const char *s = json_string_value(json_object_get(frame, name));
    if (s != NULL && !mp_id_parse(s, &id))
        id = 0;
    return id;
}

/* Checks the rules the field table cannot express. NULL when fine. */
static const char *check_shape(json_t *frame, uint64_t conv, uint64_t to, uint64_t me)
{
    if ((conv != 0) == (to != 0))
        return "exactly one of 'conversation' and 'to' is required";
    if (to == me)
        return "field 'to' cannot be yourself: a direct message needs another user";
    const char *kind = json_string_value(json_object_get(frame, "kind"));
    if (kind != NULL && strcmp(kind, "text") != 0)
        return "field 'kind' must be \"text\"";
    if (json_object_get(frame, "reply_to") != NULL &&
        !json_is_null(json_object_get(frame, "reply_to")))
        return "field 'reply_to' is reserved and not supported yet";
    return NULL;
}

static bool rate_ok(mp_chat_t *chat, mp_cmd_t *cmd)
{
    int64_t retry = 0;
    if (mp_ratelimit_take(chat->send_rl, cmd->who.user_id, mp_mono_ms(), &retry))
        return true;
    mp_gw_error(chat->ctx->srv, cmd->sid, cmd->req_id, MP_ERR_RATE_LIMITED, NULL,
                json_pack("{s:I}", "retry_after_ms", (json_int_t)retry));
    return false;
}

void mp_chat_verb_send(mp_cmd_t *cmd)
{
    mp_chat_t *chat = mp_chat__of_cmd(cmd);
    uint64_t conv = frame_id(cmd->frame, "conversation");
    uint64_t to = frame_id(cmd->frame, "to");
    const char *bad = check_shape(cmd->frame, conv, to, cmd->who.user_id);
    if (bad != NULL) {
        mp_gw_error(chat->ctx->srv, cmd->sid, cmd->req_id, MP_ERR_BAD_REQUEST, bad, NULL);
        return;
    }
    if (!rate_ok(chat, cmd))
        return;
    json_t *text = json_object_get(cmd->frame, "text");
    send_ctx_t *c = mp_calloc(1, sizeof *c);
    c->chat = chat;
    c->sid = cmd->sid;
    c->req_id = cmd->req_id;
    c->frame = json_incref(cmd->frame);
    c->guest = cmd->who.guest;
    c->device_id = cmd->who.device_id;
    c->in = (mp_chat_send_in_t){
        .sender_id = cmd->who.user_id,
        .sender_device = cmd->who.device_id,
        .conversation_id = conv,
        .to_user_id = to,
        .client_msg_id = json_string_value(json_object_get(cmd->frame, "client_msg_id")),
        .text = json_string_value(text),
        .text_len = json_string_length(text),
        .kind = "text",
    };
    if (conv != 0)
        mp_chat__with_conv(chat, conv, on_conv, c);
    else
        store_send(c);
}
