/* One caller for the verbs and routes that exist both over WebSocket and
 * HTTP: whoever asked gets exactly one answer, in the form they asked in. */
#include "chat/chat_int.h"
#include "core/hub.h"
#include "util/id.h"

void mp_chat__rq_of_cmd(mp_chat_rq_t *rq, const mp_cmd_t *cmd)
{
    *rq = (mp_chat_rq_t){.chat = mp_chat__of_cmd(cmd),
                         .user = cmd->who.user_id,
                         .guest = cmd->who.guest,
                         .sid = cmd->sid,
                         .req_id = cmd->req_id};
}

void mp_chat__rq_of_req(mp_chat_rq_t *rq, mp_http_req_t *req)
{
    const mp_principal_t *who = mp_http_req_principal(req);
    *rq = (mp_chat_rq_t){
        .chat = mp_chat__of_req(req), .user = who->user_id, .guest = who->guest, .req = req};
}

void mp_chat__rq_ok(const mp_chat_rq_t *rq, json_t *body)
{
    if (rq->req != NULL)
        mp_http_respond(rq->req, 200, body);
    else
        mp_gw_reply(rq->chat->ctx->srv, rq->sid, rq->req_id, body);
}

void mp_chat__rq_err(const mp_chat_rq_t *rq, mp_err_t rc, const char *msg)
{
    if (rq->req != NULL)
        mp_http_respond_error(rq->req, rc, msg);
    else
        mp_gw_error(rq->chat->ctx->srv, rq->sid, rq->req_id, rc, msg, NULL);
}

void mp_chat__rq_rate_limited(const mp_chat_rq_t *rq, int64_t retry_ms)
{
    if (rq->req != NULL) {
        mp_http_respond_retry(rq->req, MP_ERR_RATE_LIMITED, NULL,
                              (unsigned)((retry_ms + 999) / 1000));
        return;
    }
    mp_gw_error(rq->chat->ctx->srv, rq->sid, rq->req_id, MP_ERR_RATE_LIMITED, NULL,
                json_pack("{s:I}", "retry_after_ms", (json_int_t)retry_ms));
}

void mp_chat__push_own(const mp_chat_rq_t *rq, mp_frame_t *f)
{
    /* An HTTP caller has no session that already knows: all of them hear. */
    mp_hub_push_user(rq->chat->ctx->hub, rq->user, f, rq->req != NULL ? 0 : rq->sid);
}

void mp_chat__push_conv_rq(const mp_chat_rq_t *rq, const mp_chat_conv_t *conv, json_t *ev)
{
    /* The same fan-out as edits and deletes: one frame for the members and
     * the actor's other sessions (all of them for an HTTP caller). */
    mp_frame_t *f = mp_frame_new_json(ev);
    mp_chat__push_change(rq->chat, conv->id, rq->user, rq->req != NULL ? 0 : rq->sid, f, f);
    mp_frame_unref(f);
}

uint64_t mp_chat__obj_id(const json_t *obj, const char *key)
{
    uint64_t id = 0;
    if (!mp_id_parse(json_string_value(json_object_get(obj, key)), &id))
        id = 0;
    return id;
}
