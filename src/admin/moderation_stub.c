/* Placeholders for the invite and world-moderation operations, so that the
 * op table links before they are written. Each one moves to the file of its
 * area when it is written; the last one deletes this file. */
#include "admin/admin_int.h"

static void not_yet(mp_admin_call_t *call)
{
    mp_admin__reply(call, MP_ERR_INTERNAL, "this operation is not available yet", NULL);
}

void mp_admin__op_invite_create(mp_admin_call_t *call)
{
    not_yet(call);
}

void mp_admin__op_invite_list(mp_admin_call_t *call)
{
    not_yet(call);
}

void mp_admin__op_invite_revoke(mp_admin_call_t *call)
{
    not_yet(call);
}

void mp_admin__op_world_delete_message(mp_admin_call_t *call)
{
    not_yet(call);
}

void mp_admin__op_world_ban(mp_admin_call_t *call)
{
    not_yet(call);
}

void mp_admin__op_world_bans(mp_admin_call_t *call)
{
    not_yet(call);
}

void mp_admin__op_world_unban(mp_admin_call_t *call)
{
    not_yet(call);
}
