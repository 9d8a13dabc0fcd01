/* The world-room moderation operations: world.delete_message (through the
 * chat module's delete for everyone, so every session hears of it),
 * world.ban, world.unban and world.bans (store/world.h; the ban itself is
 * enforced by the store's send, forward and reaction writes). See
 * docs/protocol.md "World moderation" and "Invites and world moderation". */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "admin/admin_int.h"
#include "store/world.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"

static json_t *id_or_null(uint64_t id)
{
    char buf[MP_ID_STRLEN];
    return id != 0 ? json_string(mp_id_format(id, buf)) : json_null();
}

static json_t *ban_json(const mp_world_ban_row_t *r)
{
    return json_pack("{s:o, s:s, s:s, s:o, s:I}", "user_id", id_or_null(r->user_id), "username",
                     r->username, "reason", r->reason, "banned_by", id_or_null(r->banned_by),
                     "created_at", (json_int_t)r->created_at);
}

/* ---- world.delete_message --------------------------------------------------------- */

typedef struct del_ctx {
    mp_admin_call_t *call;
    uint64_t message_id;
} del_ctx_t;

static void on_deleted(mp_err_t rc, uint64_t sender_id, void *ud)
{
    del_ctx_t *d = ud;
    mp_admin_call_t *call = d->call;
    uint64_t mid = d->message_id;
    mp_free(d);
    if (rc != MP_OK) {
        mp_admin__reply(call, rc,
                        rc == MP_ERR_NOT_FOUND || rc == MP_ERR_NOT_MEMBER
                            ? "field 'message_id' names no message of the world room"
                            : NULL,
                        NULL);
        return;
    }
    mp_admin__audit(call, "world.delete_message", mid,
                    json_pack("{s:o}", "sender_id", id_or_null(sender_id)));
    call->http_ok = 204;
    mp_admin__reply(call, MP_OK, NULL, NULL);
}

void mp_admin__op_world_delete_message(mp_admin_call_t *call)
{
    uint64_t mid = 0;
    if (!mp_admin__arg_id(call, "message_id", true, &mid))
        return;
    del_ctx_t *d = mp_calloc(1, sizeof *d);
    d->call = call;
    d->message_id = mid;
    mp_err_t rc = mp_chat_world_delete(call->admin->chat, mid, call->actor_id, on_deleted, d);
    if (rc != MP_OK) {
        mp_free(d);
        mp_admin__reply(call, rc, NULL, NULL);
    }
}

/* ---- world.ban, world.unban ------------------------------------------------------------ */

static void on_banned(mp_err_t rc, const mp_world_ban_row_t *row, bool created, void *ud)
{
    mp_admin_call_t *call = ud;
    if (rc != MP_OK) {
        mp_admin__reply(call, rc, rc == MP_ERR_NOT_FOUND ? "field 'user_id' names no user" : NULL,
                        NULL);
        return;
    }
    if (created)
        mp_admin__audit(call, "world.ban", row->user_id, json_pack("{s:s}", "reason", row->reason));
    call->http_ok = created ? 201 : 200;
    mp_admin__reply(call, MP_OK, NULL, ban_json(row));
}

static void ban_user(mp_admin_call_t *call, const mp_admin_user_row_t *user)
{
    const char *reason = "";
    if (!mp_admin__arg_text(call, "reason", 256, &reason))
        return;
    mp_err_t rc = mp_store_world_ban(call->admin->ctx->store, user->u.id, call->actor_id, reason,
                                     mp_now_ms(), on_banned, call);
    if (rc != MP_OK)
        mp_admin__reply(call, rc, NULL, NULL);
}

/* The user is named by "user_id" or (on the control socket) "username". */
void mp_admin__op_world_ban(mp_admin_call_t *call)
{
    mp_admin__with_user(call, ban_user);
}

typedef struct unban_ctx {
    mp_admin_call_t *call;
    uint64_t user_id;
} unban_ctx_t;

static void on_unbanned(mp_err_t rc, void *ud)
{
    unban_ctx_t *u = ud;
    mp_admin_call_t *call = u->call;
    uint64_t user = u->user_id;
    mp_free(u);
    if (rc != MP_OK) {
        mp_admin__reply(call, rc,
                        rc == MP_ERR_NOT_FOUND
                            ? "field 'user_id' names no user banned from the world room"
                            : NULL,
                        NULL);
        return;
    }
    mp_admin__audit(call, "world.unban", user, NULL);
    call->http_ok = 204;
    mp_admin__reply(call, MP_OK, NULL, NULL);
}

static void unban_user(mp_admin_call_t *call, const mp_admin_user_row_t *user)
{
    unban_ctx_t *u = mp_calloc(1, sizeof *u);
    u->call = call;
    u->user_id = user->u.id;
    mp_err_t rc = mp_store_world_unban(call->admin->ctx->store, u->user_id, on_unbanned, u);
    if (rc != MP_OK) {
        mp_free(u);
        mp_admin__reply(call, rc, NULL, NULL);
    }
}

void mp_admin__op_world_unban(mp_admin_call_t *call)
{
    mp_admin__with_user(call, unban_user);
}

/* ---- world.bans --------------------------------------------------------------------------- */

static void on_bans(mp_err_t rc, const mp_world_ban_row_t *rows, size_t n, bool more, void *ud)
{
    mp_admin_call_t *call = ud;
    if (rc != MP_OK) {
        mp_admin__reply(call, rc, NULL, NULL);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, ban_json(&rows[i]));
    json_t *next = json_null();
    if (more && n > 0) {
        char cur[64];
        snprintf(cur, sizeof cur, "%" PRId64 ".%" PRIu64, rows[n - 1].created_at,
                 rows[n - 1].user_id);
        next = json_string(cur);
    }
    call->http_ok = 200;
    mp_admin__reply(call, MP_OK, NULL, json_pack("{s:o, s:o}", "bans", arr, "next_cursor", next));
}

void mp_admin__op_world_bans(mp_admin_call_t *call)
{
    int64_t limit = 0;
    const char *cs = NULL;
    if (!mp_admin__arg_int(call, "limit", 1, MP_WORLD_BANS_MAX, 50, &limit) ||
        !mp_admin__arg_str(call, "cursor", false, 0, &cs))
        return;
    /* The cursor is "<created_at>.<user_id>" of the last row of the page before. */
    long long at = 0;
    unsigned long long user = 0;
    if (cs != NULL && (sscanf(cs, "%lld.%llu", &at, &user) != 2 || at <= 0)) {
        mp_admin__reply(call, MP_ERR_BAD_REQUEST,
                        "field 'cursor' must be the next_cursor of a previous page", NULL);
        return;
    }
    mp_err_t rc = mp_store_world_bans(call->admin->ctx->store, (int64_t)at, (uint64_t)user,
                                      (unsigned)limit, on_bans, call);
    if (rc != MP_OK)
        mp_admin__reply(call, rc, NULL, NULL);
}
