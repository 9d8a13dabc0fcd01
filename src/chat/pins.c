/* Pinned messages: the verbs pin / unpin {conversation, message_id} →
 * {"message_id","pinned","pinned_at"} with {"event":"pinned"} to every member
 * session, and GET /v1/conversations/{id}/pins (newest pin first). Who may
 * pin is the store's rule (store/messages.h), checked in the write. */
#include <stdio.h>

#include "chat/chat_int.h"
#include "store/messages.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"

const mp_field_t mp_chat_pin_fields[] = {
    {"conversation", MP_F_ID, true, 0, 0},
    {"message_id", MP_F_ID, true, 0, 0},
    {NULL, 0, false, 0, 0},
};

typedef struct pin_ctx {
    mp_chat_rq_t rq;
    uint64_t conv, msg;
    bool pin;
    int64_t at;
} pin_ctx_t;

static void pin_push(mp_chat_t *chat, mp_err_t rc, const mp_chat_conv_t *conv, void *ud)
{
    (void)chat;
    pin_ctx_t *c = ud;
    if (rc == MP_OK) {
        json_t *ev =
            json_pack("{s:s,s:o,s:o,s:b,s:o,s:I}", "event", "pinned", "conversation",
                      mp_chat__id_json(c->conv), "message_id", mp_chat__id_json(c->msg), "pinned",
                      c->pin, "by", mp_chat__id_json(c->rq.user), "at", (json_int_t)c->at);
        mp_chat__push_conv_rq(&c->rq, conv, ev);
        json_decref(ev);
    }
    mp_free(c);
}

static const char *pin_error(mp_err_t rc, char *buf, size_t len)
{
    switch (rc) {
    case MP_ERR_NOT_FOUND:
        return "field 'message_id' names no message you can see here";
    case MP_ERR_NOT_ALLOWED:
        return "only the group's owner and admins may pin here";
    case MP_ERR_FORBIDDEN:
        return "only world moderators may pin in the world room";
    case MP_ERR_LIMIT_REACHED:
        snprintf(buf, len, "a conversation can have at most %d pinned messages", MP_CHAT_PINS_MAX);
        return buf;
    default:
        return NULL;
    }
}

static void on_pin(mp_err_t rc, const mp_msg_row_t *m, void *ud)
{
    pin_ctx_t *c = ud;
    if (rc != MP_OK) {
        char buf[96];
        mp_chat__rq_err(&c->rq, rc, pin_error(rc, buf, sizeof buf));
        mp_free(c);
        return;
    }
    /* Pinning an already pinned message keeps its first pin time and tells
     * nobody. The store says whether it pinned now: comparing its pin time
     * with ours would take a second pin in the same millisecond for new. */
    bool again = c->pin && !m->changed;
    if (c->pin)
        c->at = m->pinned_at;
    mp_chat__rq_ok(&c->rq,
                   json_pack("{s:o,s:b,s:I}", "message_id", mp_chat__id_json(c->msg), "pinned",
                             c->pin, "pinned_at", (json_int_t)(c->pin ? c->at : 0)));
    if (again) {
        mp_free(c);
        return;
    }
    mp_chat__with_conv(c->rq.chat, c->conv, pin_push, c);
}

static void pin(mp_cmd_t *cmd, bool on)
{
    pin_ctx_t *c = mp_calloc(1, sizeof *c);
    mp_chat__rq_of_cmd(&c->rq, cmd);
    c->conv = mp_chat__obj_id(cmd->frame, "conversation");
    c->msg = mp_chat__obj_id(cmd->frame, "message_id");
    c->pin = on;
    c->at = mp_now_ms();
    const mp_config_t *cfg = c->rq.chat->ctx->cfg;
    mp_msg_actor_t actor = {.user_id = c->rq.user, .world_moderators = cfg->world_moderators};
    mp_err_t rc =
        mp_store_msg_pin(c->rq.chat->ctx->store, &actor, c->conv, c->msg, on, c->at, on_pin, c);
    if (rc != MP_OK)
        on_pin(rc, NULL, c);
}

void mp_chat_verb_pin(mp_cmd_t *cmd)
{
    pin(cmd, true);
}

void mp_chat_verb_unpin(mp_cmd_t *cmd)
{
    pin(cmd, false);
}

/* ---- GET /v1/conversations/{id}/pins ------------------------------------------- */

static void on_pins(mp_err_t rc, const mp_msg_row_t *m, size_t n, void *ud)
{
    mp_chat_rq_t *rq = ud;
    if (rc != MP_OK) {
        mp_chat__rq_err(rq, rc, NULL);
        mp_free(rq);
        return;
    }
    /* At most MP_CHAT_PINS_MAX messages of under 25 KiB each: no paging. */
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, mp_chat__msg_json(&m[i], m[i].sender_id == rq->user));
    mp_chat__rq_ok(rq, json_pack("{s:o}", "messages", arr));
    mp_free(rq);
}

void mp_chat__route_pins(mp_http_req_t *req)
{
    uint64_t conv = 0;
    if (!mp_id_parse(mp_http_req_param(req, "id"), &conv)) {
        mp_http_respond_error(req, MP_ERR_NOT_MEMBER, NULL);
        return;
    }
    mp_chat_rq_t *rq = mp_calloc(1, sizeof *rq);
    mp_chat__rq_of_req(rq, req);
    mp_err_t rc = mp_store_msg_pins(rq->chat->ctx->store, rq->user, conv, on_pins, rq);
    if (rc != MP_OK)
        on_pins(rc, NULL, 0, rq);
}
