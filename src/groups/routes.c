/* The route table of the groups module and the group itself: create, read,
 * edit, dissolve, and the pinned announcement. */
#include "groups/groups_int.h"
#include "util/alloc.h"
#include "util/id.h"

#define AUTH MP_ROUTE_AUTH
#define JSON (MP_ROUTE_AUTH | MP_ROUTE_JSON)

const mp_route_t mp_groups_routes[] = {
    {"POST", "/v1/groups", JSON, mp_groups__route_create},
    {"GET", "/v1/groups/{id}", AUTH, mp_groups__route_get},
    {"PATCH", "/v1/groups/{id}", JSON, mp_groups__route_patch},
    {"GET", "/v1/groups/{id}/members", AUTH, mp_groups__route_members},
    {"POST", "/v1/groups/{id}/members", JSON, mp_groups__route_add},
    {"DELETE", "/v1/groups/{id}/members/{user_id}", AUTH, mp_groups__route_kick},
    {"PUT", "/v1/groups/{id}/members/{user_id}/role", JSON, mp_groups__route_role},
    {"POST", "/v1/groups/{id}/members/{user_id}/mute", JSON, mp_groups__route_mute},
    {"DELETE", "/v1/groups/{id}/members/{user_id}/mute", AUTH, mp_groups__route_unmute},
    {"POST", "/v1/groups/{id}/leave", AUTH, mp_groups__route_leave},
    {"POST", "/v1/groups/{id}/transfer", JSON, mp_groups__route_transfer},
    {"POST", "/v1/groups/{id}/bans", JSON, mp_groups__route_ban},
    {"GET", "/v1/groups/{id}/bans", AUTH, mp_groups__route_bans},
    {"DELETE", "/v1/groups/{id}/bans/{user_id}", AUTH, mp_groups__route_unban},
    {"POST", "/v1/groups/{id}/dissolve", AUTH, mp_groups__route_dissolve},
    {"PUT", "/v1/groups/{id}/announcement", JSON, mp_groups__route_announce},
    {"DELETE", "/v1/groups/{id}/announcement", AUTH, mp_groups__route_unannounce},
    /* Every field of an invite is optional: no body at all is fine. */
    {"POST", "/v1/groups/{id}/invites", JSON | MP_ROUTE_JSON_EMPTY_OK, mp_groups__route_invite},
    {"GET", "/v1/groups/{id}/invites", AUTH, mp_groups__route_invites},
    {"DELETE", "/v1/groups/{id}/invites/{token}", AUTH, mp_groups__route_revoke},
    {"POST", "/v1/invites/{token}/join", AUTH, mp_groups__route_join},
    {NULL, NULL, 0, NULL},
};

/* ---- POST /v1/groups ------------------------------------------------------------ */

static const mp_field_t create_fields[] = {
    {"title", MP_F_TEXT, true, 1, MP_GROUP_TITLE_MAX},
    {"description", MP_F_TEXT, false, 0, MP_GROUP_DESC_MAX},
    {"member_ids", MP_F_ARRAY, false, 0, MP_GROUP_USERS_MAX},
    {"settings", MP_F_OBJECT, false, 0, 0},
    {NULL, 0, false, 0, 0},
};

void mp_groups__route_create(mp_http_req_t *req)
{
    if (!mp_groups__begin(req, NULL, create_fields))
        return;
    json_t *body = mp_http_req_json(req);
    char msg[160];
    mp_group_op_in_t in = {.op = MP_GOP_CREATE};
    uint64_t *ids = NULL;
    if (!mp_groups__settings_parse(json_object_get(body, "settings"), &in.settings_mask,
                                   &in.settings, msg, sizeof msg) ||
        !mp_groups__ids_parse(json_object_get(body, "member_ids"), "member_ids", &ids, &in.n_users,
                              msg, sizeof msg)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, msg);
        return;
    }
    in.user_ids = ids;
    in.title = json_string_value(json_object_get(body, "title"));
    in.description = json_string_value(json_object_get(body, "description"));
    mp_groups__run(req, &in, MP_GROUPS_ANS_GROUP_NEW);
    mp_free(ids);
}

/* ---- GET /v1/groups/{id} ------------------------------------------------------------ */

static void on_get(mp_err_t rc, const mp_group_row_t *g, void *ud)
{
    mp_http_req_t *req = ud;
    if (rc != MP_OK)
        mp_http_respond_error(req, rc, NULL);
    else
        mp_http_respond(req, 200, mp_groups__group_json(g));
}

void mp_groups__route_get(mp_http_req_t *req)
{
    uint64_t conv;
    if (!mp_groups__begin(req, &conv, NULL))
        return;
    const mp_module_ctx_t *ctx = mp_groups__of(req)->ctx;
    mp_err_t rc =
        mp_store_group_get(ctx->store, mp_http_req_principal(req)->user_id, conv, on_get, req);
    if (rc != MP_OK)
        on_get(rc, NULL, req);
}

/* ---- PATCH /v1/groups/{id} ---------------------------------------------------------- */

static const mp_field_t patch_fields[] = {
    {"title", MP_F_TEXT, false, 1, MP_GROUP_TITLE_MAX},
    {"description", MP_F_TEXT, false, 0, MP_GROUP_DESC_MAX},
    {"settings", MP_F_OBJECT, false, 0, 0},
    {NULL, 0, false, 0, 0},
};

/* avatar_file_id: absent (unchanged), null (cleared) or a file id, which the
 * store checks in the write (the actor's own upload, an image). False when
 * it has answered. */
static bool avatar_field(mp_http_req_t *req, json_t *body, mp_group_op_in_t *in)
{
    json_t *v = json_object_get(body, "avatar_file_id");
    if (v == NULL)
        return true;
    in->set_avatar = true;
    if (json_is_null(v))
        return true;
    if (!json_is_string(v) || !mp_id_parse(json_string_value(v), &in->avatar_file_id) ||
        in->avatar_file_id == 0) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST,
                              "field 'avatar_file_id' must be a file id (a string) or null");
        return false;
    }
    return true;
}

void mp_groups__route_patch(mp_http_req_t *req)
{
    mp_group_op_in_t in = {.op = MP_GOP_PATCH};
    if (!mp_groups__begin(req, &in.conversation_id, patch_fields))
        return;
    json_t *body = mp_http_req_json(req);
    char msg[160];
    if (!mp_groups__settings_parse(json_object_get(body, "settings"), &in.settings_mask,
                                   &in.settings, msg, sizeof msg)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, msg);
        return;
    }
    in.title = json_string_value(json_object_get(body, "title"));
    in.description = json_string_value(json_object_get(body, "description"));
    if (!avatar_field(req, body, &in))
        return;
    mp_groups__run(req, &in, MP_GROUPS_ANS_GROUP);
}

/* ---- dissolve and announcement --------------------------------------------------------- */

void mp_groups__route_dissolve(mp_http_req_t *req)
{
    mp_group_op_in_t in = {.op = MP_GOP_DISSOLVE};
    if (mp_groups__begin(req, &in.conversation_id, NULL))
        mp_groups__run(req, &in, MP_GROUPS_ANS_NONE);
}

static const mp_field_t announce_fields[] = {
    {"text", MP_F_TEXT, true, 1, MP_GROUP_ANNOUNCE_MAX},
    {NULL, 0, false, 0, 0},
};

void mp_groups__route_announce(mp_http_req_t *req)
{
    mp_group_op_in_t in = {.op = MP_GOP_ANNOUNCE};
    if (!mp_groups__begin(req, &in.conversation_id, announce_fields))
        return;
    in.text = json_string_value(json_object_get(mp_http_req_json(req), "text"));
    mp_groups__run(req, &in, MP_GROUPS_ANS_ANNOUNCEMENT);
}

void mp_groups__route_unannounce(mp_http_req_t *req)
{
    mp_group_op_in_t in = {.op = MP_GOP_UNANNOUNCE};
    if (mp_groups__begin(req, &in.conversation_id, NULL))
        mp_groups__run(req, &in, MP_GROUPS_ANS_NONE);
}
