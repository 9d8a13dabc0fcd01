/* The `read` and `delivered` verbs: move the caller's cursor forward (never
 * back, never past last_seq) in one write job, then tell the others.
 * - read:      the other members get {"event":"receipt",...}; the caller's
 *              other sessions get {"event":"read","conversation","read_seq",
 *              "unread"} so their badges follow.
 * - delivered: a device that received messages up to seq reports it; the
 *              other members (the senders) get {"event":"receipt",...}.
 * A receipt carries both cursors: {"event":"receipt","conversation",
 * "user_id","read_seq","delivered_seq"}. Nothing is sent when the cursor did
 * not move. read_seq is left out of the receipt for a member who may not
 * see it: unless both the reader and that member have read receipts on
 * (docs/protocol.md "Privacy settings"), they get delivered_seq alone. */
#include "chat/chat_int.h"
#include "store/world.h"
#include "util/alloc.h"
#include "util/id.h"

const mp_field_t mp_chat_cursor_fields[] = {
    {"conversation", MP_F_ID, true, 0, 0},
    {"seq", MP_F_INT, true, 0, INT64_MAX},
    {NULL, 0, false, 0, 0},
};

typedef struct cursor_ctx {
    mp_chat_t *chat;
    mp_sid_t sid;
    int64_t req_id;
    uint64_t user, conv;
    mp_chat_cursor_t which;
    mp_chat_cursor_out_t out;
} cursor_ctx_t;

bool mp_chat__read_visible(const mp_chat_t *chat, uint64_t user, uint64_t viewer)
{
    if (user == viewer)
        return true;
    const mp_userflags_t *uf = chat->ctx->flags;
    return !mp_userflags_has(uf, user, MP_UF_NO_RECEIPTS) &&
           !mp_userflags_has(uf, viewer, MP_UF_NO_RECEIPTS);
}

static mp_frame_t *receipt_frame(const cursor_ctx_t *c, bool with_read)
{
    json_t *ev = json_object();
    json_object_set_new(ev, "event", json_string("receipt"));
    json_object_set_new(ev, "conversation", mp_chat__id_json(c->conv));
    json_object_set_new(ev, "user_id", mp_chat__id_json(c->user));
    if (with_read)
        json_object_set_new(ev, "read_seq", json_integer(c->out.read_seq));
    json_object_set_new(ev, "delivered_seq", json_integer(c->out.delivered_seq));
    mp_frame_t *f = mp_frame_new_json(ev);
    json_decref(ev);
    return f;
}

static mp_frame_t *read_frame(const cursor_ctx_t *c)
{
    json_t *ev = json_object();
    json_object_set_new(ev, "event", json_string("read"));
    json_object_set_new(ev, "conversation", mp_chat__id_json(c->conv));
    json_object_set_new(ev, "read_seq", json_integer(c->out.read_seq));
    json_object_set_new(ev, "unread", json_integer(c->out.last_seq - c->out.read_seq));
    mp_frame_t *f = mp_frame_new_json(ev);
    json_decref(ev);
    return f;
}

/* Each member gets the receipt with or without read_seq (each frame encoded
 * once, on first use). The world room never gets here. */
static void on_conv(mp_chat_t *chat, mp_err_t rc, const mp_chat_conv_t *conv, void *ud)
{
    cursor_ctx_t *c = ud;
    mp_frame_t *full = NULL, *bare = NULL;
    for (uint32_t i = 0; rc == MP_OK && conv->kind != MP_CONV_WORLD && i < conv->n; i++) {
        uint64_t m = conv->members[i];
        if (m == c->user || !mp_hub_online(chat->ctx->hub, m))
            continue;
        bool with_read = mp_chat__read_visible(chat, c->user, m);
        mp_frame_t **f = with_read ? &full : &bare;
        if (*f == NULL)
            *f = receipt_frame(c, with_read);
        mp_hub_push_user(chat->ctx->hub, m, *f, 0);
    }
    if (full != NULL)
        mp_frame_unref(full);
    if (bare != NULL)
        mp_frame_unref(bare);
    mp_free(c);
}

static void on_cursor(mp_err_t rc, const mp_chat_cursor_out_t *o, void *ud)
{
    cursor_ctx_t *c = ud;
    mp_server_t *srv = c->chat->ctx->srv;
    if (rc != MP_OK) {
        mp_gw_error(srv, c->sid, c->req_id, rc, NULL, NULL);
        mp_free(c);
        return;
    }
    c->out = *o;
    json_t *f = json_object();
    json_object_set_new(f, "conversation", mp_chat__id_json(c->conv));
    json_object_set_new(f, "read_seq", json_integer(o->read_seq));
    json_object_set_new(f, "delivered_seq", json_integer(o->delivered_seq));
    json_object_set_new(f, "last_seq", json_integer(o->last_seq));
    json_object_set_new(f, "unread", json_integer(o->last_seq - o->read_seq));
    mp_gw_reply(srv, c->sid, c->req_id, f);
    if (!o->changed) {
        mp_free(c);
        return;
    }
    if (c->which == MP_CHAT_CURSOR_READ) {
        mp_frame_t *rf = read_frame(c);
        mp_hub_push_user(c->chat->ctx->hub, c->user, rf, c->sid);
        mp_frame_unref(rf);
    }
    if (mp_chat__world_is(c->chat, c->conv)) {
        /* Receipts in a room of everyone would tell everyone: none. */
        mp_free(c);
        return;
    }
    mp_chat__with_conv(c->chat, c->conv, on_conv, c);
}

static void cursor_verb(mp_cmd_t *cmd, mp_chat_cursor_t which)
{
    mp_chat_t *chat = mp_chat__of_cmd(cmd);
    cursor_ctx_t *c = mp_calloc(1, sizeof *c);
    c->chat = chat;
    c->sid = cmd->sid;
    c->req_id = cmd->req_id;
    c->user = cmd->who.user_id;
    c->which = which;
    (void)mp_id_parse(json_string_value(json_object_get(cmd->frame, "conversation")), &c->conv);
    int64_t seq = (int64_t)json_integer_value(json_object_get(cmd->frame, "seq"));
    /* The world keeps its cursors apart (no member rows): store/world.h. */
    mp_err_t rc =
        mp_chat__world_is(chat, c->conv)
            ? mp_store_world_cursor(chat->ctx->store, c->user, c->conv, which, seq, on_cursor, c)
            : mp_store_chat_cursor(chat->ctx->store, c->user, c->conv, which, seq, on_cursor, c);
    if (rc != MP_OK) {
        mp_gw_error(chat->ctx->srv, cmd->sid, cmd->req_id, rc, NULL, NULL);
        mp_free(c);
    }
}

void mp_chat_verb_read(mp_cmd_t *cmd)
{
    cursor_verb(cmd, MP_CHAT_CURSOR_READ);
}

void mp_chat_verb_delivered(mp_cmd_t *cmd)
{
    cursor_verb(cmd, MP_CHAT_CURSOR_DELIVERED);
}
