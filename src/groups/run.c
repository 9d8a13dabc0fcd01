/* The runner every group change goes through: guest and id checks, one store
 * op, the answer, then the side effects on the core loop — drop the cached
 * membership, deliver the system messages live, announce the announcement. */
#include <stdio.h>

#include "chat/chat.h"
#include "groups/groups_int.h"
#include "net/gw.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"

bool mp_groups__begin(mp_http_req_t *req, uint64_t *conv, const mp_field_t *fields)
{
    if (mp_http_req_principal(req)->guest) {
        mp_http_respond_error(req, MP_ERR_GUEST_FORBIDDEN, NULL);
        return false;
    }
    if (conv != NULL && !mp_id_parse(mp_http_req_param(req, "id"), conv)) {
        mp_http_respond_error(req, MP_ERR_NOT_MEMBER, NULL);
        return false;
    }
    if (fields != NULL) {
        char msg[256];
        mp_err_t rc = mp_validate(mp_http_req_json(req), fields, msg, sizeof msg);
        if (rc != MP_OK) {
            mp_http_respond_error(req, rc, msg);
            return false;
        }
    }
    return true;
}

bool mp_groups__param_user(mp_http_req_t *req, const char *name, uint64_t *out)
{
    if (mp_id_parse(mp_http_req_param(req, name), out))
        return true;
    mp_http_respond_error(req, MP_ERR_NOT_FOUND, "no such user");
    return false;
}

typedef struct run_ctx {
    mp_http_req_t *req;
    mp_groups_t *groups;
    mp_group_op_t op;
    mp_groups_ans_t ans;
} run_ctx_t;

/* A clearer message than the table's default where the cause is specific. */
static const char *error_message(mp_group_op_t op, mp_err_t rc)
{
    switch (rc) {
    case MP_ERR_CONFLICT:
        if (op == MP_GOP_REMOVE)
            return "the owner cannot leave: transfer ownership first";
        if (op == MP_GOP_ROLE)
            return "the owner's role cannot be changed: transfer ownership instead";
        if (op == MP_GOP_TRANSFER)
            return "you already own this group";
        return NULL;
    case MP_ERR_NOT_FOUND:
        if (op == MP_GOP_JOIN || op == MP_GOP_REVOKE)
            return "no such invite link";
        if (op == MP_GOP_UNBAN)
            return "this user is not banned";
        if (op == MP_GOP_CREATE || op == MP_GOP_ADD || op == MP_GOP_BAN)
            return "no such user";
        if (op == MP_GOP_PATCH)
            return "field 'avatar_file_id' names no uploaded file";
        return "this user is not a member of the group";
    case MP_ERR_BAD_REQUEST:
        if (op == MP_GOP_PATCH)
            return "field 'avatar_file_id' must name an image";
        return op == MP_GOP_MUTE ? "field 'until' must be a time in the future" : NULL;
    case MP_ERR_GUEST_FORBIDDEN:
        if (op == MP_GOP_CREATE)
            return "field 'member_ids' names a guest: guests can only use the world room";
        if (op == MP_GOP_ADD)
            return "field 'user_ids' names a guest: guests can only use the world room";
        if (op == MP_GOP_TRANSFER)
            return "field 'user_id' names a guest: guests can only use the world room";
        return "guests can only use the world room";
    default:
        return NULL;
    }
}

static void answer(run_ctx_t *c, const mp_group_op_out_t *o)
{
    json_t *body = NULL;
    int status = 200;
    switch (c->ans) {
    case MP_GROUPS_ANS_GROUP_NEW:
        status = 201;
        /* fall through */
    case MP_GROUPS_ANS_GROUP:
        body = mp_groups__group_json(&o->group);
        break;
    case MP_GROUPS_ANS_NONE:
        status = 204;
        break;
    case MP_GROUPS_ANS_ADDED: {
        json_t *a = json_array();
        for (size_t i = 0; i < o->n_added; i++)
            json_array_append_new(a, mp_groups__id_json(o->added[i]));
        body = json_pack("{s:o}", "added", a);
        break;
    }
    case MP_GROUPS_ANS_ANNOUNCEMENT:
        body = json_pack("{s:o}", "announcement", mp_groups__announcement_json(&o->group));
        break;
    case MP_GROUPS_ANS_INVITE:
        status = 201;
        body = mp_groups__invite_json(&o->invite);
        break;
    }
    mp_http_respond(c->req, status, body);
}

static void announce(mp_groups_t *groups, const mp_group_op_out_t *o)
{
    json_t *ev = json_object();
    json_object_set_new(ev, "event", json_string("announcement"));
    json_object_set_new(ev, "conversation", mp_groups__id_json(o->conversation_id));
    json_object_set_new(ev, "announcement", mp_groups__announcement_json(&o->group));
    mp_frame_t *f = mp_frame_new_json(ev);
    json_decref(ev);
    mp_chat_push_conv(groups->chat, o->conversation_id, f);
    mp_frame_unref(f);
}

/* privacy_restricted names the user who may not be added, in the words a
 * "nobody" setting gets: a block reads the same (docs/protocol.md
 * "Blocking"). */
static void privacy_error(run_ctx_t *c, const mp_group_op_out_t *o)
{
    char msg[200];
    snprintf(msg, sizeof msg,
             "field '%s' names user %llu, whose privacy settings do not allow you to add them to "
             "a group: send them an invite link instead",
             c->op == MP_GOP_CREATE ? "member_ids" : "user_ids",
             (unsigned long long)(o != NULL ? o->refused_id : 0));
    mp_http_respond_error(c->req, MP_ERR_PRIVACY, msg);
}

static void on_op(mp_err_t rc, const mp_group_op_out_t *o, void *ud)
{
    run_ctx_t *c = ud;
    if (rc == MP_ERR_PRIVACY && o != NULL) {
        privacy_error(c, o);
        mp_free(c);
        return;
    }
    if (rc != MP_OK) {
        mp_http_respond_error(c->req, rc, error_message(c->op, rc));
        mp_free(c);
        return;
    }
    answer(c, o);
    if (o->n_msgs > 0) {
        mp_chat_conv_changed(c->groups->chat, o->conversation_id);
        /* The event first: a client showing the banner needs no history. */
        if (c->op == MP_GOP_ANNOUNCE || c->op == MP_GOP_UNANNOUNCE)
            announce(c->groups, o);
        mp_chat_deliver(c->groups->chat, o->msgs, o->n_msgs, &o->removed_id,
                        o->removed_id != 0 ? 1 : 0);
    }
    mp_free(c);
}

void mp_groups__run(mp_http_req_t *req, mp_group_op_in_t *in, mp_groups_ans_t ans)
{
    run_ctx_t *c = mp_calloc(1, sizeof *c);
    c->req = req;
    c->groups = mp_groups__of(req);
    c->op = in->op;
    c->ans = ans;
    in->actor_id = mp_http_req_principal(req)->user_id;
    in->now_ms = mp_now_ms();
    in->max_members = c->groups->ctx->cfg->group_max_members;
    mp_err_t rc = mp_store_group_op(c->groups->ctx->store, in, on_op, c);
    if (rc != MP_OK)
        on_op(rc, NULL, c);
}
