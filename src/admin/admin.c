/* Module life of admin, the operation table's lookup and the answer path. */
#include <string.h>

#include "admin/admin_int.h"
#include "util/alloc.h"

mp_admin_t *mp_admin_new(const mp_module_ctx_t *ctx, mp_auth_t *auth, mp_chat_t *chat, char *err,
                         size_t errlen)
{
    (void)err, (void)errlen;
    mp_admin_t *admin = mp_calloc(1, sizeof *admin);
    admin->ctx = ctx;
    admin->auth = auth;
    admin->chat = chat;
    return admin;
}

void mp_admin_free(mp_admin_t *admin)
{
    mp_free(admin);
}

mp_admin_t *mp_admin__of(mp_http_req_t *req)
{
    return mp_http_req_mod(req);
}

const mp_admin_op_t *mp_admin__op_find(const char *name)
{
    for (const mp_admin_op_t *op = mp_admin__ops; op->name != NULL; op++)
        if (strcmp(op->name, name) == 0)
            return op;
    return NULL;
}

void mp_admin__reply(mp_admin_call_t *call, mp_err_t rc, const char *message, json_t *result)
{
    call->answer(call, rc, message, result);
}

void mp_admin__audit(mp_admin_call_t *call, const char *action, uint64_t target_id, json_t *detail)
{
    (void)call, (void)action, (void)target_id;
    json_decref(detail);
}

const mp_admin_op_t mp_admin__ops[] = {
    {"invite.create", mp_admin__op_invite_create},
    {"invite.list", mp_admin__op_invite_list},
    {"invite.revoke", mp_admin__op_invite_revoke},
    {"world.delete_message", mp_admin__op_world_delete_message},
    {"world.ban", mp_admin__op_world_ban},
    {"world.unban", mp_admin__op_world_unban},
    {"world.bans", mp_admin__op_world_bans},
    {0},
};

#define ADMIN_ROUTE (MP_ROUTE_AUTH | MP_ROUTE_GUEST_OK)
#define ADMIN_BODY (ADMIN_ROUTE | MP_ROUTE_JSON | MP_ROUTE_JSON_EMPTY_OK)

const mp_route_t mp_admin_routes[] = {
    {"POST", "/v1/admin/invites", ADMIN_BODY, mp_admin__h_invite_create},
    {"GET", "/v1/admin/invites", ADMIN_ROUTE, mp_admin__h_invite_list},
    {"DELETE", "/v1/admin/invites/{code}", ADMIN_ROUTE, mp_admin__h_invite_revoke},
    {"DELETE", "/v1/admin/world/messages/{mid}", ADMIN_ROUTE, mp_admin__h_world_delete},
    {"POST", "/v1/admin/world/bans", ADMIN_BODY, mp_admin__h_world_ban},
    {"GET", "/v1/admin/world/bans", ADMIN_ROUTE, mp_admin__h_world_bans},
    {"DELETE", "/v1/admin/world/bans/{user_id}", ADMIN_ROUTE, mp_admin__h_world_unban},
    {0},
};
