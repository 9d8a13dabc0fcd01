/* Module life of groups: the handles its routes use. */
#include "groups/groups_int.h"
#include "util/alloc.h"

mp_groups_t *mp_groups_new(const mp_module_ctx_t *ctx, mp_chat_t *chat)
{
    mp_groups_t *groups = mp_calloc(1, sizeof *groups);
    groups->ctx = ctx;
    groups->chat = chat;
    return groups;
}

void mp_groups_free(mp_groups_t *groups)
{
    mp_free(groups);
}

mp_groups_t *mp_groups__of(mp_http_req_t *req)
{
    return mp_http_req_mod(req);
}
