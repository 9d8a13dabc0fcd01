/* The `edit` and `delete` verbs: change a stored message, answer the
 * caller, and tell every device that shows it. The store decides who may
 * (own messages, windows, group roles, world moderators) in the write that
 * makes the change; this file maps its answers to words and builds the
 * events. The acting session learns the outcome from its reply only. */
#include <stdio.h>
#include <string.h>

#include "chat/chat_int.h"
#include "store/messages.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"

const mp_field_t mp_chat_edit_fields[] = {
    {"conversation", MP_F_ID, true, 0, 0},
    {"message_id", MP_F_ID, true, 0, 0},
    /* 1..4096 for kind text, 0..4096 for a caption: the store knows the kind. */
    {"text", MP_F_TEXT, true, 0, MP_CHAT_TEXT_MAX_CHARS},
    {NULL, 0, false, 0, 0},
};

const mp_field_t mp_chat_delete_fields[] = {
    {"conversation", MP_F_ID, true, 0, 0},
    {"message_id", MP_F_ID, true, 0, 0},
    {"for", MP_F_ASCII, true, 1, 16},
    {NULL, 0, false, 0, 0},
};

typedef struct change_ctx {
    mp_chat_t *chat;
    mp_sid_t sid;
    int64_t req_id;
    uint64_t actor;
    bool guest;
    bool empty_text;   /* edit: the new text is "" */
    bool for_everyone; /* delete */
} change_ctx_t;

static change_ctx_t *ctx_new(mp_cmd_t *cmd)
{
    change_ctx_t *c = mp_calloc(1, sizeof *c);
    c->chat = mp_chat__of_cmd(cmd);
    c->sid = cmd->sid;
    c->req_id = cmd->req_id;
    c->actor = cmd->who.user_id;
    c->guest = cmd->who.guest;
    return c;
}

static mp_msg_actor_t actor_of(const mp_cmd_t *cmd)
{
    const mp_chat_t *chat = mp_chat__of_cmd(cmd);
    return (mp_msg_actor_t){
        .user_id = cmd->who.user_id,
        .world_moderators = chat->ctx->cfg->world_moderators,
    };
}

/* ---- edit ------------------------------------------------------------------- */

static const char *edit_message(const change_ctx_t *c, mp_err_t rc)
{
    switch (rc) {
    case MP_ERR_NOT_FOUND:
        return "field 'message_id' names no message of this conversation (or a deleted one)";
    case MP_ERR_FORBIDDEN:
        return "you can only edit your own messages";
    case MP_ERR_TOO_LATE:
        return "the edit window has passed: this message can no longer be edited";
    case MP_ERR_BAD_REQUEST:
        return c->empty_text ? "field 'text' must be 1 to 4096 characters for a message of kind "
                               "text"
                             : "field 'message_id' names a message whose kind cannot be edited "
                               "(only text, image, file, voice and video)";
    default:
        return NULL;
    }
}

/* {"event":"message_edited","message":{...}}: the other members' sessions
 * without client_msg_id, the sender's other sessions with it. */
static void edited_fan_out(change_ctx_t *c, const mp_msg_row_t *m)
{
    mp_msg_row_t row = *m;
    row.sender_guest = row.sender_guest || c->guest;
    json_t *msg = mp_chat__msg_json(&row, false);
    json_t *ev = json_pack("{s:s,s:O}", "event", "message_edited", "message", msg);
    mp_frame_t *others = mp_frame_new_json(ev);
    if (m->client_msg_id != NULL)
        json_object_set_new(msg, "client_msg_id", json_string(m->client_msg_id));
    mp_frame_t *own = mp_frame_new_json(ev);
    mp_chat__push_change(c->chat, m->conversation_id, c->actor, c->sid, others, own);
    mp_frame_unref(others);
    mp_frame_unref(own);
    json_decref(ev);
    json_decref(msg);
}

static void on_edited(mp_err_t rc, const mp_msg_row_t *m, void *ud)
{
    change_ctx_t *c = ud;
    mp_server_t *srv = c->chat->ctx->srv;
    if (rc != MP_OK) {
        mp_gw_error(srv, c->sid, c->req_id, rc, edit_message(c, rc), NULL);
        mp_free(c);
        return;
    }
    json_t *f = json_object();
    json_object_set_new(f, "message_id", mp_chat__id_json(m->id));
    json_object_set_new(f, "edited_at", json_integer(m->edited_at));
    mp_gw_reply(srv, c->sid, c->req_id, f);
    edited_fan_out(c, m);
    mp_free(c);
}

void mp_chat_verb_edit(mp_cmd_t *cmd)
{
    mp_chat_t *chat = mp_chat__of_cmd(cmd);
    if (!mp_chat__send_rate_ok(chat, cmd, 1))
        return;
    json_t *text = json_object_get(cmd->frame, "text");
    change_ctx_t *c = ctx_new(cmd);
    c->empty_text = json_string_length(text) == 0;
    mp_msg_actor_t actor = actor_of(cmd);
    mp_err_t rc = mp_store_msg_edit(
        chat->ctx->store, &actor, mp_chat__obj_id(cmd->frame, "conversation"),
        mp_chat__obj_id(cmd->frame, "message_id"), json_string_value(text),
        json_string_length(text), chat->ctx->cfg->edit_window_ms, mp_now_ms(), on_edited, c);
    if (rc != MP_OK)
        on_edited(rc, NULL, c);
}

/* ---- delete ------------------------------------------------------------------- */

static const char *delete_message(mp_err_t rc)
{
    switch (rc) {
    case MP_ERR_NOT_FOUND:
        return "field 'message_id' names no message of this conversation";
    case MP_ERR_FORBIDDEN:
    case MP_ERR_NOT_ALLOWED:
        return "you may not delete this message for everyone: only its sender, a group owner or "
               "admin above the sender, or a world moderator may (delete it for yourself with "
               "\"for\":\"me\")";
    case MP_ERR_TOO_LATE:
        return "the recall window has passed: the message can only be deleted for you "
               "(\"for\":\"me\")";
    default:
        return NULL;
    }
}

/* {"event":"message_deleted","conversation","message_id","seq","for"}. */
static mp_frame_t *deleted_frame(const mp_msg_row_t *m, bool everyone)
{
    json_t *ev = json_object();
    json_object_set_new(ev, "event", json_string("message_deleted"));
    json_object_set_new(ev, "conversation", mp_chat__id_json(m->conversation_id));
    json_object_set_new(ev, "message_id", mp_chat__id_json(m->id));
    json_object_set_new(ev, "seq", json_integer(m->seq));
    json_object_set_new(ev, "for", json_string(everyone ? "everyone" : "me"));
    mp_frame_t *f = mp_frame_new_json(ev);
    json_decref(ev);
    return f;
}

static void on_deleted(mp_err_t rc, const mp_msg_row_t *m, void *ud)
{
    change_ctx_t *c = ud;
    mp_server_t *srv = c->chat->ctx->srv;
    if (rc != MP_OK) {
        mp_gw_error(srv, c->sid, c->req_id, rc, delete_message(rc), NULL);
        mp_free(c);
        return;
    }
    json_t *r = json_object();
    json_object_set_new(r, "message_id", mp_chat__id_json(m->id));
    json_object_set_new(r, "for", json_string(c->for_everyone ? "everyone" : "me"));
    mp_gw_reply(srv, c->sid, c->req_id, r);
    mp_frame_t *f = deleted_frame(m, c->for_everyone);
    if (c->for_everyone) /* every member's devices drop the content */
        mp_chat__push_change(c->chat, m->conversation_id, c->actor, c->sid, f, f);
    else /* hidden for the actor only: their other devices */
        mp_hub_push_user(c->chat->ctx->hub, c->actor, f, c->sid);
    mp_frame_unref(f);
    mp_free(c);
}

void mp_chat_verb_delete(mp_cmd_t *cmd)
{
    mp_chat_t *chat = mp_chat__of_cmd(cmd);
    const char *who = json_string_value(json_object_get(cmd->frame, "for"));
    bool everyone = strcmp(who, "everyone") == 0;
    if (!everyone && strcmp(who, "me") != 0) {
        mp_gw_error(chat->ctx->srv, cmd->sid, cmd->req_id, MP_ERR_BAD_REQUEST,
                    "field 'for' must be \"me\" or \"everyone\"", NULL);
        return;
    }
    change_ctx_t *c = ctx_new(cmd);
    c->for_everyone = everyone;
    mp_msg_actor_t actor = actor_of(cmd);
    mp_err_t rc =
        mp_store_msg_delete(chat->ctx->store, &actor, mp_chat__obj_id(cmd->frame, "conversation"),
                            mp_chat__obj_id(cmd->frame, "message_id"), everyone,
                            chat->ctx->cfg->recall_window_ms, mp_now_ms(), on_deleted, c);
    if (rc != MP_OK)
        on_deleted(rc, NULL, c);
}

/* ---- deletion by a world moderator (the admin module) ----------------------------- */

typedef struct mod_delete {
    mp_chat_t *chat;
    uint64_t actor;
    mp_chat_deleted_fn cb;
    void *ud;
} mod_delete_t;

static void on_mod_deleted(mp_err_t rc, const mp_msg_row_t *m, void *ud)
{
    mod_delete_t *d = ud;
    if (rc == MP_OK) {
        /* The same event as a delete for everyone by a member: every online
         * session of the world room drops the content. */
        mp_frame_t *f = deleted_frame(m, true);
        mp_chat__push_change(d->chat, m->conversation_id, d->actor, 0, f, f);
        mp_frame_unref(f);
    }
    d->cb(rc, rc == MP_OK ? m->sender_id : 0, d->ud);
    mp_free(d);
}

mp_err_t mp_chat_world_delete(mp_chat_t *chat, uint64_t message_id, uint64_t actor_id,
                              mp_chat_deleted_fn cb, void *ud)
{
    mod_delete_t *d = mp_calloc(1, sizeof *d);
    *d = (mod_delete_t){chat, actor_id, cb, ud};
    mp_msg_actor_t actor = {
        .user_id = actor_id,
        .world_moderators = chat->ctx->cfg->world_moderators,
        .moderator = true,
    };
    mp_err_t rc = mp_store_msg_delete(chat->ctx->store, &actor, chat->ctx->world_id, message_id,
                                      true, 0, mp_now_ms(), on_mod_deleted, d);
    if (rc != MP_OK)
        mp_free(d);
    return rc;
}
