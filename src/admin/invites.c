/* The invite-code operations (registration = invite): invite.create,
 * invite.list, invite.revoke. Codes are drawn here (12 characters of an
 * alphabet without look-alikes), stored and counted by store/invites.h,
 * which also makes them case-insensitive. See docs/protocol.md "Invite
 * codes" and "Invites and world moderation". */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "admin/admin_int.h"
#include "proto/validate.h"
#include "store/invites.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"

/* No 0/O, 1/I/L: a code read aloud or typed from paper survives. 31
 * symbols, 12 of them: about 59 bits, far beyond guessing at the
 * registration rate limit. */
static const char CODE_ALPHABET[] = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
#define CODE_LEN 12
#define CODE_TRIES 3 /* draws before a (practically impossible) collision is an error */
#define MAX_USES_MAX 1000000
#define EXPIRES_IN_MAX (10LL * 365 * 86400) /* seconds */
#define LIST_DEFAULT 50

static void draw_code(char out[CODE_LEN + 1])
{
    for (int i = 0; i < CODE_LEN; i++)
        out[i] = CODE_ALPHABET[randombytes_uniform(sizeof CODE_ALPHABET - 1)];
    out[CODE_LEN] = '\0';
}

bool mp_admin__args_valid(mp_admin_call_t *call, const mp_field_t *fields)
{
    char msg[200] = "";
    if (mp_validate(call->args, fields, msg, sizeof msg) == MP_OK)
        return true;
    mp_admin__reply(call, MP_ERR_BAD_REQUEST, msg[0] ? msg : NULL, NULL);
    return false;
}

json_t *mp_admin__json_id_or_null(uint64_t id)
{
    char buf[MP_ID_STRLEN];
    return id != 0 ? json_string(mp_id_format(id, buf)) : json_null();
}

/* The wire form of an invite (docs/protocol.md "Invite codes"). */
static json_t *invite_json(const mp_invite_row_t *r, int64_t now_ms)
{
    return json_pack(
        "{s:s, s:I, s:I, s:I, s:s, s:I, s:o, s:I, s:s}", "code", r->code, "max_uses",
        (json_int_t)r->max_uses, "uses", (json_int_t)r->uses, "expires_at",
        (json_int_t)r->expires_at, "note", r->note, "created_at", (json_int_t)r->created_at,
        "created_by", mp_admin__json_id_or_null(r->created_by), "revoked_at",
        (json_int_t)r->revoked_at, "state", mp_invite_state_name(mp_invite_state(r, now_ms)));
}

/* ---- invite.create ----------------------------------------------------------------- */

typedef struct create_ctx {
    mp_admin_call_t *call;
    mp_invite_row_t row;
    int tries;
} create_ctx_t;

static void create_submit(create_ctx_t *c);

static void on_created(mp_err_t rc, const mp_invite_row_t *row, void *ud)
{
    create_ctx_t *c = ud;
    if (rc == MP_ERR_CONFLICT && c->tries < CODE_TRIES) { /* the code exists: draw again */
        create_submit(c);
        return;
    }
    if (rc != MP_OK) {
        mp_admin__reply(c->call, rc == MP_ERR_CONFLICT ? MP_ERR_INTERNAL : rc, NULL, NULL);
        mp_free(c);
        return;
    }
    mp_admin__audit(c->call, "invite.create", 0,
                    json_pack("{s:s, s:I, s:I}", "code", row->code, "max_uses",
                              (json_int_t)row->max_uses, "expires_at",
                              (json_int_t)row->expires_at));
    c->call->http_ok = 201;
    mp_admin__reply(c->call, MP_OK, NULL, invite_json(row, mp_now_ms()));
    mp_free(c);
}

static void create_submit(create_ctx_t *c)
{
    c->tries++;
    draw_code(c->row.code);
    mp_err_t rc = mp_store_invite_create(c->call->admin->ctx->store, &c->row, on_created, c);
    if (rc != MP_OK) {
        mp_admin__reply(c->call, rc, NULL, NULL);
        mp_free(c);
    }
}

/* expires_at (ms since the epoch, 0 = never) or expires_in (seconds from
 * now) into *out; answers 400 and returns false when unusable. */
static bool expiry_arg(mp_admin_call_t *call, int64_t now, int64_t *out)
{
    json_t *at = json_object_get(call->args, "expires_at");
    json_t *in = json_object_get(call->args, "expires_in");
    *out = 0;
    if (at != NULL && in != NULL && !json_is_null(at) && !json_is_null(in)) {
        mp_admin__reply(call, MP_ERR_BAD_REQUEST,
                        "give at most one of fields 'expires_at' and 'expires_in'", NULL);
        return false;
    }
    if (json_is_integer(in)) {
        *out = now + json_integer_value(in) * 1000;
        return true;
    }
    if (json_is_integer(at) && json_integer_value(at) != 0) {
        if (json_integer_value(at) <= now) {
            mp_admin__reply(call, MP_ERR_BAD_REQUEST,
                            "field 'expires_at' must be in the future (ms since the epoch), or "
                            "0 for a code that never expires",
                            NULL);
            return false;
        }
        *out = json_integer_value(at);
    }
    return true;
}

void mp_admin__op_invite_create(mp_admin_call_t *call)
{
    static const mp_field_t fields[] = {
        {"max_uses", MP_F_INT, false, 0, MAX_USES_MAX},
        {"expires_at", MP_F_INT, false, 0, INT64_MAX},
        {"expires_in", MP_F_INT, false, 1, EXPIRES_IN_MAX},
        {"note", MP_F_TEXT, false, 0, 256},
        {0},
    };
    if (!mp_admin__args_valid(call, fields))
        return;
    int64_t now = mp_now_ms(), expires = 0;
    if (!expiry_arg(call, now, &expires))
        return;
    json_t *uses = json_object_get(call->args, "max_uses");
    json_t *note = json_object_get(call->args, "note");
    create_ctx_t *c = mp_calloc(1, sizeof *c);
    c->call = call;
    c->row.created_by = call->actor_id;
    c->row.created_at = now;
    c->row.expires_at = expires;
    c->row.max_uses = json_is_integer(uses) ? json_integer_value(uses) : 1;
    snprintf(c->row.note, sizeof c->row.note, "%s",
             json_is_string(note) ? json_string_value(note) : "");
    create_submit(c);
}

/* ---- invite.list -------------------------------------------------------------------- */

bool mp_admin__args_limit(mp_admin_call_t *call, unsigned max, unsigned *out)
{
    json_t *v = json_object_get(call->args, "limit");
    long long n = LIST_DEFAULT;
    char extra;
    if (v == NULL || json_is_null(v))
        n = LIST_DEFAULT;
    else if (json_is_integer(v))
        n = json_integer_value(v);
    else if (!json_is_string(v) || sscanf(json_string_value(v), "%lld%c", &n, &extra) != 1)
        n = -1;
    if (n < 1 || n > (long long)max) {
        char msg[96];
        snprintf(msg, sizeof msg, "field 'limit' must be an integer from 1 to %u", max);
        mp_admin__reply(call, MP_ERR_BAD_REQUEST, msg, NULL);
        return false;
    }
    *out = (unsigned)n;
    return true;
}

static void on_listed(mp_err_t rc, const mp_invite_row_t *rows, size_t n, bool more, void *ud)
{
    mp_admin_call_t *call = ud;
    if (rc != MP_OK) {
        mp_admin__reply(call, rc, NULL, NULL);
        return;
    }
    int64_t now = mp_now_ms();
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, invite_json(&rows[i], now));
    json_t *next = json_null();
    if (more && n > 0) {
        char cur[64 + MP_INVITE_CODE_MAX];
        snprintf(cur, sizeof cur, "%" PRId64 ".%s", rows[n - 1].created_at, rows[n - 1].code);
        next = json_string(cur);
    }
    call->http_ok = 200;
    mp_admin__reply(call, MP_OK, NULL,
                    json_pack("{s:o, s:o}", "invites", arr, "next_cursor", next));
}

void mp_admin__op_invite_list(mp_admin_call_t *call)
{
    unsigned limit = 0;
    if (!mp_admin__args_limit(call, MP_INVITE_LIST_MAX, &limit))
        return;
    /* The cursor is "<created_at>.<code>" of the last row of the page before. */
    json_t *cv = json_object_get(call->args, "cursor");
    const char *cs = json_is_string(cv) ? json_string_value(cv) : NULL;
    long long at = 0;
    char code[MP_INVITE_CODE_MAX + 1] = "";
    bool first = cv == NULL || json_is_null(cv) || (cs != NULL && cs[0] == '\0');
    if (!first && (cs == NULL || sscanf(cs, "%lld.%32[0-9A-Za-z]", &at, code) != 2 || at <= 0)) {
        mp_admin__reply(call, MP_ERR_BAD_REQUEST,
                        "field 'cursor' must be the next_cursor of a previous page", NULL);
        return;
    }
    mp_err_t rc =
        mp_store_invite_list(call->admin->ctx->store, (int64_t)at, code, limit, on_listed, call);
    if (rc != MP_OK)
        mp_admin__reply(call, rc, NULL, NULL);
}

/* ---- invite.revoke ------------------------------------------------------------------- */

static void on_revoked(mp_err_t rc, const mp_invite_row_t *row, void *ud)
{
    mp_admin_call_t *call = ud;
    if (rc != MP_OK) {
        mp_admin__reply(call, rc,
                        rc == MP_ERR_NOT_FOUND ? "field 'code' names no invite code" : NULL, NULL);
        return;
    }
    mp_admin__audit(call, "invite.revoke", 0, json_pack("{s:s}", "code", row->code));
    call->http_ok = 204;
    mp_admin__reply(call, MP_OK, NULL, NULL);
}

void mp_admin__op_invite_revoke(mp_admin_call_t *call)
{
    static const mp_field_t fields[] = {
        {"code", MP_F_ASCII, true, 1, MP_INVITE_CODE_MAX},
        {0},
    };
    if (!mp_admin__args_valid(call, fields))
        return;
    mp_err_t rc = mp_store_invite_revoke(call->admin->ctx->store,
                                         json_string_value(json_object_get(call->args, "code")),
                                         mp_now_ms(), on_revoked, call);
    if (rc != MP_OK)
        mp_admin__reply(call, rc, NULL, NULL);
}
