/* Membership routes: the paged member list, add, kick, leave, roles,
 * ownership transfer, mutes and bans. The rules themselves are checked by the
 * store op, in the transaction that applies the change. */
#include <stdlib.h>

#include "groups/groups_int.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"

#define MEMBERS_DEFAULT 50

/* ---- GET /v1/groups/{id}/members?limit=&cursor= -------------------------------- */

static json_t *member_json(const mp_group_member_row_t *m)
{
    json_t *o = json_object();
    json_object_set_new(o, "user_id", mp_groups__id_json(m->user_id));
    json_object_set_new(o, "username", json_string(m->username));
    json_object_set_new(o, "display_name", json_string(m->display_name));
    json_object_set_new(o, "role", json_string(mp_group_role_name(m->role)));
    json_object_set_new(o, "joined_at", json_integer(m->joined_at));
    json_object_set_new(o, "muted_until",
                        m->muted_until ? json_integer(m->muted_until) : json_null());
    return o;
}

static void on_members(mp_err_t rc, const mp_group_member_row_t *rows, size_t n, bool more,
                       void *ud)
{
    mp_http_req_t *req = ud;
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, NULL);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, member_json(&rows[i]));
    json_t *next = json_null();
    if (more && n > 0) {
        char cur[48];
        mp_groups__cursor_format(rows[n - 1].joined_at, rows[n - 1].user_id, cur, sizeof cur);
        next = json_string(cur);
    }
    mp_http_respond(req, 200, json_pack("{s:o,s:o}", "members", arr, "next_cursor", next));
}

/* limit: 1..200 decimal. */
static bool parse_limit(const char *s, unsigned *out)
{
    char *end = NULL;
    if (s[0] < '1' || s[0] > '9')
        return false;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || v < 1 || v > MP_GROUP_PAGE_MAX)
        return false;
    *out = (unsigned)v;
    return true;
}

void mp_groups__route_members(mp_http_req_t *req)
{
    uint64_t conv, after_user = 0;
    int64_t after_joined = -1;
    unsigned limit = MEMBERS_DEFAULT;
    if (!mp_groups__begin(req, &conv, NULL))
        return;
    const char *ql = mp_http_req_query(req, "limit");
    const char *qc = mp_http_req_query(req, "cursor");
    if (ql != NULL && !parse_limit(ql, &limit)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "limit must be an integer from 1 to 200");
        return;
    }
    if (qc != NULL && qc[0] != '\0' && !mp_groups__cursor_parse(qc, &after_joined, &after_user)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "cursor is not a cursor from this list");
        return;
    }
    const mp_module_ctx_t *ctx = mp_groups__of(req)->ctx;
    mp_err_t rc =
        mp_store_group_members(ctx->store, mp_http_req_principal(req)->user_id, conv, after_joined,
                               after_user, limit, mp_now_ms(), on_members, req);
    if (rc != MP_OK)
        on_members(rc, NULL, 0, false, req);
}

/* ---- POST /v1/groups/{id}/members {"user_ids"} ---------------------------------------- */

static const mp_field_t add_fields[] = {
    {"user_ids", MP_F_ARRAY, true, 1, MP_GROUP_USERS_MAX},
    {NULL, 0, false, 0, 0},
};

void mp_groups__route_add(mp_http_req_t *req)
{
    mp_group_op_in_t in = {.op = MP_GOP_ADD};
    if (!mp_groups__begin(req, &in.conversation_id, add_fields))
        return;
    char msg[160];
    uint64_t *ids = NULL;
    if (!mp_groups__ids_parse(json_object_get(mp_http_req_json(req), "user_ids"), "user_ids", &ids,
                              &in.n_users, msg, sizeof msg)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, msg);
        return;
    }
    in.user_ids = ids;
    mp_groups__run(req, &in, MP_GROUPS_ANS_ADDED);
    mp_free(ids);
}

/* ---- kick, leave, role, transfer ---------------------------------------------------------- */

/* Starts an op on {id} about the user in path parameter {user_id}. */
static bool begin_target(mp_http_req_t *req, mp_group_op_in_t *in, const mp_field_t *fields)
{
    return mp_groups__begin(req, &in->conversation_id, fields) &&
           mp_groups__param_user(req, "user_id", &in->target_id);
}

void mp_groups__route_kick(mp_http_req_t *req)
{
    mp_group_op_in_t in = {.op = MP_GOP_REMOVE};
    if (begin_target(req, &in, NULL))
        mp_groups__run(req, &in, MP_GROUPS_ANS_NONE);
}

void mp_groups__route_leave(mp_http_req_t *req)
{
    mp_group_op_in_t in = {.op = MP_GOP_REMOVE};
    if (!mp_groups__begin(req, &in.conversation_id, NULL))
        return;
    in.target_id = mp_http_req_principal(req)->user_id;
    mp_groups__run(req, &in, MP_GROUPS_ANS_NONE);
}

static const mp_field_t role_fields[] = {
    {"role", MP_F_ASCII, true, 1, 16},
    {NULL, 0, false, 0, 0},
};

void mp_groups__route_role(mp_http_req_t *req)
{
    mp_group_op_in_t in = {.op = MP_GOP_ROLE};
    if (!begin_target(req, &in, role_fields))
        return;
    const char *role = json_string_value(json_object_get(mp_http_req_json(req), "role"));
    if (!mp_group_role_parse(role, &in.role) || in.role == MP_GROUP_OWNER) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST,
                              "field 'role' must be \"admin\" or \"member\"");
        return;
    }
    mp_groups__run(req, &in, MP_GROUPS_ANS_NONE);
}

static const mp_field_t user_fields[] = {
    {"user_id", MP_F_ID, true, 0, 0},
    {NULL, 0, false, 0, 0},
};

/* Starts an op on {id} about the body's "user_id". */
static bool begin_body_user(mp_http_req_t *req, mp_group_op_in_t *in)
{
    if (!mp_groups__begin(req, &in->conversation_id, user_fields))
        return false;
    (void)mp_id_parse(json_string_value(json_object_get(mp_http_req_json(req), "user_id")),
                      &in->target_id);
    return true;
}

void mp_groups__route_transfer(mp_http_req_t *req)
{
    mp_group_op_in_t in = {.op = MP_GOP_TRANSFER};
    if (begin_body_user(req, &in))
        mp_groups__run(req, &in, MP_GROUPS_ANS_NONE);
}

/* ---- mutes -------------------------------------------------------------------------------------
 */

static const mp_field_t mute_fields[] = {
    {"until", MP_F_INT, true, 1, INT64_MAX},
    {NULL, 0, false, 0, 0},
};

void mp_groups__route_mute(mp_http_req_t *req)
{
    mp_group_op_in_t in = {.op = MP_GOP_MUTE};
    if (!begin_target(req, &in, mute_fields))
        return;
    in.until = (int64_t)json_integer_value(json_object_get(mp_http_req_json(req), "until"));
    if (in.until <= mp_now_ms()) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST,
                              "field 'until' must be a time in the future");
        return;
    }
    mp_groups__run(req, &in, MP_GROUPS_ANS_NONE);
}

void mp_groups__route_unmute(mp_http_req_t *req)
{
    mp_group_op_in_t in = {.op = MP_GOP_UNMUTE};
    if (begin_target(req, &in, NULL))
        mp_groups__run(req, &in, MP_GROUPS_ANS_NONE);
}

/* ---- bans -------------------------------------------------------------------------------------
 */

void mp_groups__route_ban(mp_http_req_t *req)
{
    mp_group_op_in_t in = {.op = MP_GOP_BAN};
    if (begin_body_user(req, &in))
        mp_groups__run(req, &in, MP_GROUPS_ANS_NONE);
}

void mp_groups__route_unban(mp_http_req_t *req)
{
    mp_group_op_in_t in = {.op = MP_GOP_UNBAN};
    if (begin_target(req, &in, NULL))
        mp_groups__run(req, &in, MP_GROUPS_ANS_NONE);
}

static void on_bans(mp_err_t rc, const mp_group_ban_row_t *rows, size_t n, void *ud)
{
    mp_http_req_t *req = ud;
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, NULL);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:o,s:o,s:I}", "user_id",
                                             mp_groups__id_json(rows[i].user_id), "banned_by",
                                             mp_groups__id_json(rows[i].banned_by), "banned_at",
                                             (json_int_t)rows[i].banned_at));
    mp_http_respond(req, 200, json_pack("{s:o}", "bans", arr));
}

void mp_groups__route_bans(mp_http_req_t *req)
{
    uint64_t conv;
    if (!mp_groups__begin(req, &conv, NULL))
        return;
    const mp_module_ctx_t *ctx = mp_groups__of(req)->ctx;
    mp_err_t rc =
        mp_store_group_bans(ctx->store, mp_http_req_principal(req)->user_id, conv, on_bans, req);
    if (rc != MP_OK)
        on_bans(rc, NULL, 0, req);
}
