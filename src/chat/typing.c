/* The `typing` verb: {"conversation"} → {"event":"typing","conversation",
 * "user_id"} to the other members' sessions. Not stored. Limited to a few per
 * second per user (rate_limited beyond). In a direct conversation typing is
 * the start of a message: the privacy rule of messages decides (a block
 * either way, the peer's message setting), read from the store for each
 * event — the rate limit bounds those reads. */
#include "chat/chat_int.h"
#include "store/privacy.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"

const mp_field_t mp_chat_typing_fields[] = {
    {"conversation", MP_F_ID, true, 0, 0},
    {NULL, 0, false, 0, 0},
};

typedef struct typing_ctx {
    mp_chat_t *chat;
    uint64_t peer; /* direct: the other member */
    mp_sid_t sid;
    int64_t req_id;
    uint64_t user, conv;
    bool guest; /* marked in the event (guests type only in the world) */
} typing_ctx_t;

static mp_frame_t *typing_frame(const typing_ctx_t *c)
{
    json_t *ev = json_object();
    json_object_set_new(ev, "event", json_string("typing"));
    json_object_set_new(ev, "conversation", mp_chat__id_json(c->conv));
    json_object_set_new(ev, "user_id", mp_chat__id_json(c->user));
    if (c->guest)
        json_object_set_new(ev, "sender_guest", json_true());
    mp_frame_t *f = mp_frame_new_json(ev);
    json_decref(ev);
    return f;
}

static void on_pair(mp_err_t rc, const mp_privacy_pair_t *p, void *ud)
{
    typing_ctx_t *c = ud;
    mp_server_t *srv = c->chat->ctx->srv;
    mp_privacy_verdict_t v = MP_PRIVACY_ALLOWED;
    if (rc == MP_OK) {
        mp_privacy_facts_t f = mp_privacy_pair_facts(p, MP_PRIVACY_MESSAGE);
        v = mp_privacy_rule(MP_PRIVACY_MESSAGE, &f);
    }
    if (rc == MP_ERR_NOT_FOUND) /* a swept peer: nobody to tell */
        rc = MP_OK;
    if (rc == MP_OK && v != MP_PRIVACY_ALLOWED)
        mp_gw_error(srv, c->sid, c->req_id, MP_ERR_PRIVACY,
                    mp_chat__privacy_message(v == MP_PRIVACY_YOU_BLOCKED), NULL);
    else if (rc != MP_OK)
        mp_gw_error(srv, c->sid, c->req_id, rc, NULL, NULL);
    else {
        mp_frame_t *f = typing_frame(c);
        mp_hub_push_user(c->chat->ctx->hub, c->peer, f, 0);
        mp_frame_unref(f);
        mp_gw_reply(srv, c->sid, c->req_id, NULL);
    }
    mp_free(c);
}

static void on_conv(mp_chat_t *chat, mp_err_t rc, const mp_chat_conv_t *conv, void *ud)
{
    typing_ctx_t *c = ud;
    mp_server_t *srv = chat->ctx->srv;
    if (rc == MP_OK && !mp_chat__conv_has(conv, c->user))
        rc = MP_ERR_NOT_MEMBER;
    if (rc == MP_OK && conv->kind == MP_CONV_GROUP && conv->dissolved)
        rc = MP_ERR_DISSOLVED; /* nobody will post there again */
    if (rc == MP_OK && conv->kind == MP_CONV_DIRECT) {
        for (uint32_t i = 0; i < conv->n; i++)
            if (conv->members[i] != c->user)
                c->peer = conv->members[i];
        rc = mp_store_privacy_pair(chat->ctx->store, c->user, c->peer, on_pair, c);
        if (rc == MP_OK)
            return;
    }
    if (rc != MP_OK) {
        mp_gw_error(srv, c->sid, c->req_id, rc, NULL, NULL);
        mp_free(c);
        return;
    }
    mp_frame_t *f = typing_frame(c);
    mp_chat__push_members(chat, conv, c->user, f);
    mp_frame_unref(f);
    mp_gw_reply(srv, c->sid, c->req_id, NULL);
    mp_free(c);
}

void mp_chat_verb_typing(mp_cmd_t *cmd)
{
    mp_chat_t *chat = mp_chat__of_cmd(cmd);
    int64_t retry = 0;
    if (!mp_ratelimit_take(chat->typing_rl, cmd->who.user_id, mp_mono_ms(), &retry)) {
        mp_gw_error(chat->ctx->srv, cmd->sid, cmd->req_id, MP_ERR_RATE_LIMITED, NULL,
                    json_pack("{s:I}", "retry_after_ms", (json_int_t)retry));
        return;
    }
    typing_ctx_t *c = mp_calloc(1, sizeof *c);
    c->chat = chat;
    c->sid = cmd->sid;
    c->req_id = cmd->req_id;
    c->user = cmd->who.user_id;
    c->guest = cmd->who.guest;
    (void)mp_id_parse(json_string_value(json_object_get(cmd->frame, "conversation")), &c->conv);
    mp_chat__with_conv(chat, c->conv, on_conv, c);
}
