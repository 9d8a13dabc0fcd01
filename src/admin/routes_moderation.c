/* The HTTP front of the invite and world-moderation operations: each route
 * checks that the caller is an admin (MP_UF_ADMIN), gathers the operation's
 * arguments (the JSON body, the path parameter, the query parameters) into
 * one object and runs the operation of the table, which answers through
 * http_answer. */
#include <string.h>

#include "admin/admin_int.h"
#include "util/alloc.h"
#include "util/assert.h"

static void http_answer(mp_admin_call_t *call, mp_err_t rc, const char *message, json_t *result)
{
    mp_http_req_t *req = call->front;
    if (rc != MP_OK) {
        json_decref(result);
        mp_http_respond_error(req, rc, message);
    } else if (call->http_ok == 204) {
        json_decref(result);
        mp_http_respond(req, 204, NULL);
    } else {
        mp_http_respond(req, call->http_ok ? call->http_ok : 200, result ? result : json_object());
    }
    json_decref(call->args);
    mp_free(call);
}

/* Runs operation op for req; param names the path parameter that becomes
 * the argument arg (NULL: none), queries the query parameters taken as
 * string arguments (NULL-terminated, may be NULL). */
static void http_call(mp_http_req_t *req, const char *op, const char *param, const char *arg,
                      const char *const *queries)
{
    mp_admin_t *admin = mp_admin__of(req);
    const mp_principal_t *who = mp_http_req_principal(req);
    if (who->guest || !mp_userflags_has(admin->ctx->flags, who->user_id, MP_UF_ADMIN)) {
        mp_http_respond_error(req, MP_ERR_FORBIDDEN, "this route is for server admins");
        return;
    }
    const mp_admin_op_t *o = mp_admin__op_find(op);
    MP_ASSERT(o != NULL);
    json_t *body = mp_http_req_json(req);
    json_t *args = json_is_object(body) ? json_deep_copy(body) : json_object();
    if (param != NULL)
        json_object_set_new(args, arg, json_string(mp_http_req_param(req, param)));
    for (size_t i = 0; queries != NULL && queries[i] != NULL; i++) {
        const char *v = mp_http_req_query(req, queries[i]);
        if (v != NULL)
            json_object_set_new(args, queries[i], json_string(v));
    }
    mp_admin_call_t *call = mp_calloc(1, sizeof *call);
    call->admin = admin;
    call->actor_id = who->user_id;
    call->args = args;
    call->answer = http_answer;
    call->front = req;
    o->fn(call);
}

static const char *const PAGE_QUERY[] = {"limit", "cursor", NULL};

void mp_admin__h_invite_create(mp_http_req_t *req)
{
    http_call(req, "invite.create", NULL, NULL, NULL);
}

void mp_admin__h_invite_list(mp_http_req_t *req)
{
    http_call(req, "invite.list", NULL, NULL, PAGE_QUERY);
}

void mp_admin__h_invite_revoke(mp_http_req_t *req)
{
    http_call(req, "invite.revoke", "code", "code", NULL);
}

void mp_admin__h_world_delete(mp_http_req_t *req)
{
    http_call(req, "world.delete_message", "mid", "message_id", NULL);
}

void mp_admin__h_world_ban(mp_http_req_t *req)
{
    http_call(req, "world.ban", NULL, NULL, NULL);
}

void mp_admin__h_world_bans(mp_http_req_t *req)
{
    http_call(req, "world.bans", NULL, NULL, PAGE_QUERY);
}

void mp_admin__h_world_unban(mp_http_req_t *req)
{
    http_call(req, "world.unban", "user_id", "user_id", NULL);
}
