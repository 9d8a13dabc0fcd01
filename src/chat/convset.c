/* The user's own settings of a conversation: conversation_update (mute,
 * pin to the top of the list, archive), conversation_clear (history for me)
 * and conversation_delete (a direct conversation, until a new message), over
 * WebSocket and HTTP (PATCH /v1/conversations/{id}, POST .../clear,
 * DELETE /v1/conversations/{id}). Each answers {"conversation","settings"}
 * and tells the caller's OTHER sessions {"event":"conversation_updated"}: the
 * settings are nobody else's business. */
#include <stdio.h>

#include "chat/chat_int.h"
#include "store/messages.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"

const mp_field_t mp_chat_convset_fields[] = {
    {"conversation", MP_F_ID, true, 0, 0},
    {"muted_until", MP_F_INT, false, -1, INT64_MAX},
    {"pinned", MP_F_BOOL, false, 0, 0},
    {"archived", MP_F_BOOL, false, 0, 0},
    {NULL, 0, false, 0, 0},
};

/* The body of PATCH /v1/conversations/{id}: the conversation is in the path. */
static const mp_field_t patch_fields[] = {
    {"muted_until", MP_F_INT, false, -1, INT64_MAX},
    {"pinned", MP_F_BOOL, false, 0, 0},
    {"archived", MP_F_BOOL, false, 0, 0},
    {NULL, 0, false, 0, 0},
};

const mp_field_t mp_chat_conv_fields[] = {
    {"conversation", MP_F_ID, true, 0, 0},
    {NULL, 0, false, 0, 0},
};

json_t *mp_chat__conv_settings_json(const mp_conv_settings_t *s)
{
    return json_pack("{s:I,s:b,s:b,s:I,s:b}", "muted_until", (json_int_t)s->muted_until, "pinned",
                     s->pinned_at != 0, "archived", s->archived, "cleared_seq",
                     (json_int_t)s->cleared_seq, "deleted", s->deleted);
}

typedef struct convset_ctx {
    mp_chat_rq_t rq;
    uint64_t conv;
    mp_convset_in_t in;
} convset_ctx_t;

static const char *convset_error(const convset_ctx_t *c, mp_err_t rc, char *buf, size_t len)
{
    if (rc == MP_ERR_LIMIT_REACHED) {
        snprintf(buf, len, "at most %d conversations can be pinned", MP_CHAT_PINNED_CONVS_MAX);
        return buf;
    }
    if (rc != MP_ERR_BAD_REQUEST)
        return NULL;
    if (mp_chat__world_is(c->rq.chat, c->conv))
        return "the world room has no settings of yours";
    if (c->in.what & MP_CONVSET_DELETE)
        return "only a direct conversation can be deleted: leave the group instead";
    return NULL;
}

static void on_convset(mp_err_t rc, const mp_conv_settings_t *now, int64_t version, void *ud)
{
    convset_ctx_t *c = ud;
    if (rc != MP_OK) {
        char buf[96];
        mp_chat__rq_err(&c->rq, rc, convset_error(c, rc, buf, sizeof buf));
        mp_free(c);
        return;
    }
    json_t *body = json_pack("{s:o,s:o}", "conversation", mp_chat__id_json(c->conv), "settings",
                             mp_chat__conv_settings_json(now));
    if (version != 0) { /* something changed: the other devices follow */
        json_t *ev = json_pack("{s:s,s:O,s:O}", "event", "conversation_updated", "conversation",
                               json_object_get(body, "conversation"), "settings",
                               json_object_get(body, "settings"));
        mp_frame_t *f = mp_frame_new_json(ev);
        json_decref(ev);
        mp_chat__push_own(&c->rq, f);
        mp_frame_unref(f);
    }
    mp_chat__rq_ok(&c->rq, body);
    mp_free(c);
}

static void convset_start(convset_ctx_t *c)
{
    mp_err_t rc = mp_store_conv_settings(c->rq.chat->ctx->store, c->rq.user, c->conv, &c->in,
                                         mp_now_ms(), on_convset, c);
    if (rc != MP_OK)
        on_convset(rc, NULL, 0, c);
}

/* Reads the update fields of obj (validated) into c->in. Returns NULL or the
 * refusal's message. */
static const char *update_parse(convset_ctx_t *c, const json_t *obj)
{
    json_t *mu = json_object_get(obj, "muted_until");
    json_t *pin = json_object_get(obj, "pinned");
    json_t *arch = json_object_get(obj, "archived");
    if (mu != NULL) {
        int64_t v = (int64_t)json_integer_value(mu);
        if (v > 0 && v <= mp_now_ms())
            return "field 'muted_until' must be 0 (unmute), -1 (forever) or a time in the future";
        c->in.what |= MP_CONVSET_MUTE;
        c->in.muted_until = v;
    }
    if (pin != NULL) {
        c->in.what |= MP_CONVSET_PIN;
        c->in.pinned = json_is_true(pin);
    }
    if (arch != NULL) {
        c->in.what |= MP_CONVSET_ARCHIVE;
        c->in.archived = json_is_true(arch);
    }
    if (c->in.what == 0)
        return "give at least one of the fields 'muted_until', 'pinned', 'archived'";
    return NULL;
}

static void update_run(convset_ctx_t *c, const json_t *obj)
{
    const char *bad = update_parse(c, obj);
    if (bad != NULL) {
        mp_chat__rq_err(&c->rq, MP_ERR_BAD_REQUEST, bad);
        mp_free(c);
        return;
    }
    convset_start(c);
}

static convset_ctx_t *of_cmd(mp_cmd_t *cmd, unsigned what)
{
    convset_ctx_t *c = mp_calloc(1, sizeof *c);
    mp_chat__rq_of_cmd(&c->rq, cmd);
    c->conv = mp_chat__obj_id(cmd->frame, "conversation");
    c->in.what = what;
    return c;
}

void mp_chat_verb_conv_update(mp_cmd_t *cmd)
{
    update_run(of_cmd(cmd, 0), cmd->frame);
}

void mp_chat_verb_conv_clear(mp_cmd_t *cmd)
{
    convset_start(of_cmd(cmd, MP_CONVSET_CLEAR));
}

void mp_chat_verb_conv_delete(mp_cmd_t *cmd)
{
    convset_start(of_cmd(cmd, MP_CONVSET_DELETE));
}

/* The conversation of the path, or NULL after answering not_member. */
static convset_ctx_t *of_req(mp_http_req_t *req, unsigned what)
{
    uint64_t conv = 0;
    if (!mp_id_parse(mp_http_req_param(req, "id"), &conv)) {
        mp_http_respond_error(req, MP_ERR_NOT_MEMBER, NULL);
        return NULL;
    }
    convset_ctx_t *c = mp_calloc(1, sizeof *c);
    mp_chat__rq_of_req(&c->rq, req);
    c->conv = conv;
    c->in.what = what;
    return c;
}

void mp_chat__route_conv_patch(mp_http_req_t *req)
{
    char msg[256];
    json_t *body = mp_http_req_json(req);
    mp_err_t rc = mp_validate(body, patch_fields, msg, sizeof msg);
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, msg);
        return;
    }
    convset_ctx_t *c = of_req(req, 0);
    if (c != NULL)
        update_run(c, body);
}

void mp_chat__route_conv_clear(mp_http_req_t *req)
{
    convset_ctx_t *c = of_req(req, MP_CONVSET_CLEAR);
    if (c != NULL)
        convset_start(c);
}

void mp_chat__route_conv_delete(mp_http_req_t *req)
{
    convset_ctx_t *c = of_req(req, MP_CONVSET_DELETE);
    if (c != NULL)
        convset_start(c);
}
