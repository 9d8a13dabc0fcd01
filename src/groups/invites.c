/* Invite links: create (who_can_invite), list and revoke (admins), and join
 * by token. The token is 16 random bytes from libsodium in base64url. */
#include "groups/groups_int.h"
#include "util/clock.h"

static const mp_field_t invite_fields[] = {
    {"expires_at", MP_F_INT, false, 1, INT64_MAX},
    {"max_uses", MP_F_INT, false, 1, MP_GROUP_INVITE_USES_MAX},
    {NULL, 0, false, 0, 0},
};

void mp_groups__route_invite(mp_http_req_t *req)
{
    mp_group_op_in_t in = {.op = MP_GOP_INVITE};
    if (!mp_groups__begin(req, &in.conversation_id, invite_fields))
        return;
    json_t *body = mp_http_req_json(req);
    json_t *exp = json_object_get(body, "expires_at");
    json_t *uses = json_object_get(body, "max_uses");
    in.until = json_is_integer(exp) ? (int64_t)json_integer_value(exp) : 0;
    in.max_uses = json_is_integer(uses) ? (int64_t)json_integer_value(uses) : 0;
    if (in.until != 0 && in.until <= mp_now_ms()) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST,
                              "field 'expires_at' must be a time in the future");
        return;
    }
    char token[23];
    mp_groups_token(token);
    in.token = token;
    mp_groups__run(req, &in, MP_GROUPS_ANS_INVITE);
}

static void on_invites(mp_err_t rc, const mp_group_invite_row_t *rows, size_t n, void *ud)
{
    mp_http_req_t *req = ud;
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, NULL);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, mp_groups__invite_json(&rows[i]));
    mp_http_respond(req, 200, json_pack("{s:o}", "invites", arr));
}

void mp_groups__route_invites(mp_http_req_t *req)
{
    uint64_t conv;
    if (!mp_groups__begin(req, &conv, NULL))
        return;
    const mp_module_ctx_t *ctx = mp_groups__of(req)->ctx;
    mp_err_t rc = mp_store_group_invites(ctx->store, mp_http_req_principal(req)->user_id, conv,
                                         on_invites, req);
    if (rc != MP_OK)
        on_invites(rc, NULL, 0, req);
}

void mp_groups__route_revoke(mp_http_req_t *req)
{
    mp_group_op_in_t in = {.op = MP_GOP_REVOKE};
    if (!mp_groups__begin(req, &in.conversation_id, NULL))
        return;
    in.token = mp_http_req_param(req, "token");
    if (!mp_groups_token_valid(in.token)) {
        mp_http_respond_error(req, MP_ERR_NOT_FOUND, "no such invite link");
        return;
    }
    mp_groups__run(req, &in, MP_GROUPS_ANS_NONE);
}

void mp_groups__route_join(mp_http_req_t *req)
{
    mp_group_op_in_t in = {.op = MP_GOP_JOIN};
    if (!mp_groups__begin(req, NULL, NULL))
        return;
    in.token = mp_http_req_param(req, "token");
    if (!mp_groups_token_valid(in.token)) {
        mp_http_respond_error(req, MP_ERR_NOT_FOUND, "no such invite link");
        return;
    }
    mp_groups__run(req, &in, MP_GROUPS_ANS_GROUP);
}
