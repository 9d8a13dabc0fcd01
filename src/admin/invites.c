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
#define EXPIRES_IN_MAX (100LL * 365 * 86400) /* seconds, as `magpie admin --expires` */
#define LIST_DEFAULT 50

static void draw_code(char out[CODE_LEN + 1])
{
    for (int i = 0; i < CODE_LEN; i++)
        out[i] = CODE_ALPHABET[randombytes_uniform(sizeof CODE_ALPHABET - 1)];
    out[CODE_LEN] = '\0';
}

static json_t *id_or_null(uint64_t id)
{
    char buf[MP_ID_STRLEN];
    return id != 0 ? json_string(mp_id_format(id, buf)) : json_null();
}

/* The wire form of an invite (docs/protocol.md "Invite codes"). */
static json_t *invite_json(const mp_invite_row_t *r, int64_t now_ms)
{
    return json_pack("{s:s, s:I, s:I, s:I, s:s, s:I, s:o, s:I, s:s}", "code", r->code, "max_uses",
                     (json_int_t)r->max_uses, "uses", (json_int_t)r->uses, "expires_at",
                     (json_int_t)r->expires_at, "note", r->note, "created_at",
                     (json_int_t)r->created_at, "created_by", id_or_null(r->created_by),
                     "revoked_at", (json_int_t)r->revoked_at, "state",
                     mp_invite_state_name(mp_invite_state(r, now_ms)));
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

void mp_admin__op_invite_create(mp_admin_call_t *call)
{
    int64_t now = mp_now_ms(), uses = 1, at = 0, in = 0;
    const char *note = "";
    if (!mp_admin__arg_int(call, "max_uses", 0, MAX_USES_MAX, 1, &uses) ||
        !mp_admin__arg_int(call, "expires_at", 0, INT64_MAX / 2, 0, &at) ||
        !mp_admin__arg_int(call, "expires_in", 1, EXPIRES_IN_MAX, 0, &in) ||
        !mp_admin__arg_text(call, "note", 256, &note))
        return;
    if (at != 0 && in != 0) {
        mp_admin__reply(call, MP_ERR_BAD_REQUEST,
                        "give at most one of fields 'expires_at' and 'expires_in'", NULL);
        return;
    }
    if (at != 0 && at <= now) {
        mp_admin__reply(call, MP_ERR_BAD_REQUEST,
                        "field 'expires_at' must be in the future (ms since the epoch), or 0 for "
                        "a code that never expires",
                        NULL);
        return;
    }
    create_ctx_t *c = mp_calloc(1, sizeof *c);
    c->call = call;
    c->row.created_by = call->actor_id;
    c->row.created_at = now;
    c->row.expires_at = in != 0 ? now + in * 1000 : at;
    c->row.max_uses = uses;
    snprintf(c->row.note, sizeof c->row.note, "%s", note);
    create_submit(c);
}

/* ---- invite.list -------------------------------------------------------------------- */

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
    int64_t limit = 0;
    const char *cs = NULL;
    if (!mp_admin__arg_int(call, "limit", 1, MP_INVITE_LIST_MAX, LIST_DEFAULT, &limit) ||
        !mp_admin__arg_str(call, "cursor", false, 0, &cs))
        return;
    /* The cursor is "<created_at>.<code>" of the last row of the page before. */
    long long at = 0;
    char code[MP_INVITE_CODE_MAX + 1] = "";
    if (cs != NULL && (sscanf(cs, "%lld.%32[0-9A-Za-z]", &at, code) != 2 || at <= 0)) {
        mp_admin__reply(call, MP_ERR_BAD_REQUEST,
                        "field 'cursor' must be the next_cursor of a previous page", NULL);
        return;
    }
    mp_err_t rc = mp_store_invite_list(call->admin->ctx->store, (int64_t)at, code, (unsigned)limit,
                                       on_listed, call);
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
    const char *code = NULL;
    if (!mp_admin__arg_str(call, "code", true, MP_INVITE_CODE_MAX, &code))
        return;
    mp_err_t rc =
        mp_store_invite_revoke(call->admin->ctx->store, code, mp_now_ms(), on_revoked, call);
    if (rc != MP_OK)
        mp_admin__reply(call, rc, NULL, NULL);
}
