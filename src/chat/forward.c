/* The `forward` verb: copies of up to 100 messages the caller can read, sent
 * by the caller into another conversation (or to a user), as ONE store write
 * (all or nothing, deduplicated on the first copy's client_msg_id). The
 * copies are new messages: they are fanned out exactly as sends are, and
 * cost the sender's send bucket one token each. */
#include <stdio.h>
#include <string.h>

#include "chat/chat_int.h"
#include "store/messages.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"

/* Copy i's client_msg_id is "<client_msg_id>/<i>": 60 + 4 bytes fit the 64
 * of a client_msg_id. */
#define FORWARD_CMID_MAX 60

const mp_field_t mp_chat_forward_fields[] = {
    {"from", MP_F_ID, true, 0, 0},
    {"message_ids", MP_F_ARRAY, true, 1, MP_CHAT_FORWARD_MAX},
    {"conversation", MP_F_ID, false, 0, 0},
    {"to", MP_F_ID, false, 0, 0},
    {"client_msg_id", MP_F_ASCII, true, 1, FORWARD_CMID_MAX},
    {NULL, 0, false, 0, 0},
};

typedef struct fwd_ctx {
    mp_chat_t *chat;
    mp_sid_t sid;
    int64_t req_id;
    json_t *frame; /* a reference: client_msg_id points into it */
    uint64_t ids[MP_CHAT_FORWARD_MAX];
    mp_msg_forward_in_t in;
} fwd_ctx_t;

static void ctx_free(fwd_ctx_t *c)
{
    json_decref(c->frame);
    mp_free(c);
}

static const char *fail_message(const fwd_ctx_t *c, mp_err_t rc, const char *field)
{
    if (field != NULL && strcmp(field, "from") == 0)
        return "field 'from' names a conversation you cannot read";
    if (field != NULL && strcmp(field, "message_ids") == 0)
        return "field 'message_ids' names a message that cannot be forwarded: unknown, of "
               "another conversation, deleted, hidden for you, or a system message";
    if (field != NULL && strcmp(field, "file") == 0)
        return "field 'message_ids' names a message whose file no longer exists";
    switch (rc) {
    case MP_ERR_NOT_MEMBER:
        return "field 'conversation' names a conversation you are not a member of";
    case MP_ERR_NOT_FOUND:
        return "field 'to' names no user";
    case MP_ERR_BAD_REQUEST:
        return c->in.to_user_id != 0 ? "field 'to' cannot be yourself" : NULL;
    case MP_ERR_BANNED:
        return MP_CHAT_WORLD_BANNED;
    case MP_ERR_GUEST_FORBIDDEN:
        return c->in.to_user_id != 0
                   ? "field 'to' names a guest: guests can only use the world room"
                   : "the other member is a guest: guests can only use the world room";
    default:
        return NULL;
    }
}

static void fail(fwd_ctx_t *c, mp_err_t rc, const char *field)
{
    mp_gw_error(c->chat->ctx->srv, c->sid, c->req_id, rc, fail_message(c, rc, field), NULL);
    ctx_free(c);
}

static void reply(fwd_ctx_t *c, const mp_msg_forward_out_t *o)
{
    json_t *msgs = json_array();
    for (size_t i = 0; i < o->n; i++) {
        const mp_msg_row_t *m = &o->msgs[i];
        json_array_append_new(msgs, json_pack("{s:o,s:I,s:I}", "message_id",
                                              mp_chat__id_json(m->id), "seq", (json_int_t)m->seq,
                                              "created_at", (json_int_t)m->created_at));
    }
    json_t *f = json_object();
    uint64_t conv = o->n > 0 ? o->msgs[0].conversation_id : c->in.conversation_id;
    json_object_set_new(f, "conversation", mp_chat__id_json(conv));
    json_object_set_new(f, "messages", msgs);
    json_object_set_new(f, "duplicate", json_boolean(o->duplicate));
    mp_gw_reply(c->chat->ctx->srv, c->sid, c->req_id, f);
}

static void on_forwarded(mp_err_t rc, const mp_msg_forward_out_t *o, void *ud)
{
    fwd_ctx_t *c = ud;
    if (rc == MP_ERR_MUTED && o != NULL) {
        mp_chat__muted_error(c->chat, c->sid, c->req_id, o->muted_until);
        ctx_free(c);
        return;
    }
    if (rc == MP_ERR_PRIVACY) {
        mp_gw_error(c->chat->ctx->srv, c->sid, c->req_id, rc,
                    mp_chat__privacy_message(o != NULL && o->you_blocked), NULL);
        ctx_free(c);
        return;
    }
    if (rc != MP_OK) {
        fail(c, rc, o != NULL ? o->bad_field : NULL);
        return;
    }
    reply(c, o);
    /* A duplicate was delivered when it was stored. */
    if (!o->duplicate)
        mp_chat__fan_out_new(c->chat, o->msgs, o->n, c->sid, false, o->peer_id);
    ctx_free(c);
}

static void store_forward(fwd_ctx_t *c)
{
    c->in.now_ms = mp_now_ms();
    mp_err_t rc = mp_store_msg_forward(c->chat->ctx->store, &c->in, on_forwarded, c);
    if (rc != MP_OK)
        on_forwarded(rc, NULL, c);
}

/* The target as send checks it: membership and the group rules are left to
 * the store, which checks them in the write after its dedup, so that the
 * retry of a forward stored before a mute or a departure gets its copies. */
static void on_target(mp_chat_t *chat, mp_err_t rc, const mp_chat_conv_t *conv, void *ud)
{
    fwd_ctx_t *c = ud;
    int64_t retry_ms = 0;
    /* A forward into the world room is one post for its slow mode. */
    if (rc == MP_OK && conv->kind == MP_CONV_WORLD &&
        !mp_chat__world_post_ok(chat, c->in.sender_id, &retry_ms)) {
        mp_chat__world_slow_error(chat, c->sid, c->req_id, retry_ms);
        ctx_free(c);
        return;
    }
    if (rc != MP_OK)
        fail(c, rc, NULL);
    else
        store_forward(c);
}

/* The ids of message_ids, each once. NULL when fine. */
static const char *parse_ids(json_t *arr, uint64_t *out, size_t *n_out)
{
    size_t i, n = 0;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        uint64_t id = 0;
        if (!json_is_string(v) || !mp_id_parse(json_string_value(v), &id) || id == 0)
            return "field 'message_ids' must be an array of message ids";
        for (size_t k = 0; k < n; k++)
            if (out[k] == id)
                return "field 'message_ids' names a message twice";
        out[n++] = id;
    }
    *n_out = n;
    return NULL;
}

static const char *check_shape(uint64_t conv, uint64_t to, uint64_t me)
{
    if ((conv != 0) == (to != 0))
        return "exactly one of 'conversation' and 'to' is required";
    if (to == me)
        return "field 'to' cannot be yourself: a direct message needs another user";
    return NULL;
}

void mp_chat_verb_forward(mp_cmd_t *cmd)
{
    mp_chat_t *chat = mp_chat__of_cmd(cmd);
    fwd_ctx_t *c = mp_calloc(1, sizeof *c);
    c->chat = chat;
    c->sid = cmd->sid;
    c->req_id = cmd->req_id;
    c->frame = json_incref(cmd->frame);
    c->in = (mp_msg_forward_in_t){
        .sender_id = cmd->who.user_id,
        .sender_device = cmd->who.device_id,
        .from_conversation = mp_chat__obj_id(cmd->frame, "from"),
        .message_ids = c->ids,
        .conversation_id = mp_chat__obj_id(cmd->frame, "conversation"),
        .to_user_id = mp_chat__obj_id(cmd->frame, "to"),
        .client_msg_id = json_string_value(json_object_get(cmd->frame, "client_msg_id")),
        .sender_guest = cmd->who.guest,
        .world_id = chat->ctx->world_id,
    };
    const char *bad = check_shape(c->in.conversation_id, c->in.to_user_id, cmd->who.user_id);
    if (bad == NULL)
        bad = parse_ids(json_object_get(cmd->frame, "message_ids"), c->ids, &c->in.n);
    if (bad != NULL) {
        mp_gw_error(chat->ctx->srv, cmd->sid, cmd->req_id, MP_ERR_BAD_REQUEST, bad, NULL);
        ctx_free(c);
        return;
    }
    if (!mp_chat__send_rate_ok(chat, cmd, (unsigned)c->in.n)) {
        ctx_free(c);
        return;
    }
    if (c->in.conversation_id != 0)
        mp_chat__with_conv(chat, c->in.conversation_id, on_target, c);
    else
        store_forward(c);
}
