/* The `sync` verb: everything the caller missed since the cursor it holds.
 * The algorithm (store/chat.h, docs/protocol.md "sync"): every change gets a
 * global version; the reply lists what has a version above `since`, at most
 * ~500 items per call, and the cursor to continue from. */
#include <stdio.h>

#include "app/app.h"
#include "chat/chat_int.h"
#include "util/alloc.h"

const mp_field_t mp_chat_sync_fields[] = {
    {"since", MP_F_ASCII, true, 1, 19},
    {"limit", MP_F_INT, false, 1, MP_CHAT_SYNC_MAX},
    {NULL, 0, false, 0, 0},
};

typedef struct sync_ctx {
    mp_chat_t *chat;
    mp_sid_t sid;
    int64_t req_id;
    uint64_t user;
} sync_ctx_t;

static json_t *conv_json(const mp_chat_sync_conv_t *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "conversation_id", mp_chat__id_json(c->id));
    json_object_set_new(o, "kind", json_string(mp_conv_kind_name(c->kind)));
    json_object_set_new(o, "last_seq", json_integer(c->last_seq));
    json_object_set_new(o, "read_seq", json_integer(c->read_seq));
    json_object_set_new(o, "delivered_seq", json_integer(c->delivered_seq));
    json_object_set_new(o, "unread", json_integer(c->last_seq - c->read_seq));
    if (c->peer_id != 0)
        json_object_set_new(o, "peer", mp_chat__id_json(c->peer_id));
    return o;
}

static json_t *receipt_json(const mp_chat_receipt_row_t *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "conversation", mp_chat__id_json(r->conversation_id));
    json_object_set_new(o, "user_id", mp_chat__id_json(r->user_id));
    json_object_set_new(o, "read_seq", json_integer(r->read_seq));
    json_object_set_new(o, "delivered_seq", json_integer(r->delivered_seq));
    return o;
}

static json_t *sync_json(const sync_ctx_t *c, const mp_chat_sync_out_t *o)
{
    char cursor[24];
    json_t *convs = json_array(), *msgs = json_array(), *rcpts = json_array();
    for (size_t i = 0; i < o->n_convs; i++)
        json_array_append_new(convs, conv_json(&o->convs[i]));
    for (size_t i = 0; i < o->n_msgs; i++)
        json_array_append_new(msgs,
                              mp_chat__msg_json(&o->msgs[i], o->msgs[i].sender_id == c->user));
    for (size_t i = 0; i < o->n_receipts; i++)
        json_array_append_new(rcpts, receipt_json(&o->receipts[i]));
    snprintf(cursor, sizeof cursor, "%lld", (long long)o->cursor);
    json_t *f = json_object();
    json_object_set_new(f, "cursor", json_string(cursor));
    json_object_set_new(f, "has_more", json_boolean(o->has_more));
    json_object_set_new(f, "conversations", convs);
    json_object_set_new(f, "messages", msgs);
    json_object_set_new(f, "receipts", rcpts);
    return f;
}

static void on_sync(mp_err_t rc, const mp_chat_sync_out_t *o, void *ud)
{
    sync_ctx_t *c = ud;
    mp_server_t *srv = c->chat->app->srv;
    if (rc != MP_OK)
        mp_gw_error(srv, c->sid, c->req_id, rc, NULL, NULL);
    else
        mp_gw_reply(srv, c->sid, c->req_id, sync_json(c, o));
    mp_free(c);
}

void mp_chat_verb_sync(mp_cmd_t *cmd)
{
    mp_chat_t *chat = mp_chat__of_cmd(cmd);
    int64_t since;
    if (!mp_chat__parse_i64(json_string_value(json_object_get(cmd->frame, "since")), &since)) {
        mp_gw_error(chat->app->srv, cmd->sid, cmd->req_id, MP_ERR_BAD_REQUEST,
                    "field 'since' must be a cursor from a previous sync, or \"0\"", NULL);
        return;
    }
    json_t *l = json_object_get(cmd->frame, "limit");
    unsigned limit = json_is_integer(l) ? (unsigned)json_integer_value(l) : MP_CHAT_SYNC_MAX;
    sync_ctx_t *c = mp_calloc(1, sizeof *c);
    *c = (sync_ctx_t){
        .chat = chat, .sid = cmd->sid, .req_id = cmd->req_id, .user = cmd->who.user_id};
    mp_err_t rc = mp_store_chat_sync(chat->app->store, c->user, since, limit, on_sync, c);
    if (rc != MP_OK)
        on_sync(rc, NULL, c);
}
