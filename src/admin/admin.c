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
    {0},
};

const mp_route_t mp_admin_routes[] = {
    {0},
};
