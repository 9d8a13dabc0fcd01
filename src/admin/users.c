/* The account operations of administration: user.add, user.get, user.list,
 * user.passwd, user.disable, user.enable, user.promote, user.demote,
 * user.delete, and stats and audit.list. Each is one store job (or an auth
 * operation), its in-memory flag set in the job's completion, then an audit
 * row and the answer. A user is named by "user_id" (HTTP) or "username"
 * (the control socket). */
#include <stdio.h>
#include <string.h>

#include "admin/admin_int.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"

#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX 200
#define PASSWORD_MAX_BYTES 1024

static json_t *id_json(uint64_t id)
{
    char buf[MP_ID_STRLEN];
    return id != 0 ? json_string(mp_id_format(id, buf)) : json_null();
}

static json_t *time_json(int64_t ms)
{
    return ms != 0 ? json_integer(ms) : json_null();
}

/* A user as administrators see it (docs/protocol.md, "Administration"). */
static json_t *user_json(mp_admin_t *admin, const mp_admin_user_row_t *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "user_id", id_json(r->u.id));
    json_object_set_new(o, "username", json_string(r->u.username));
    json_object_set_new(o, "display_name", json_string(r->u.display_name));
    json_object_set_new(o, "guest", json_boolean(r->u.guest));
    json_object_set_new(o, "email", r->email[0] ? json_string(r->email) : json_null());
    json_object_set_new(o, "pending", json_boolean(r->pending));
    json_object_set_new(o, "admin", json_boolean(r->admin));
    json_object_set_new(o, "disabled", json_boolean(r->disabled_at != 0));
    json_object_set_new(o, "disabled_at", time_json(r->disabled_at));
    json_object_set_new(o, "deleted", json_boolean(r->deleted_at != 0));
    json_object_set_new(o, "created_at", json_integer(r->u.created_at));
    json_object_set_new(o, "last_seen_at", time_json(r->last_seen_at));
    json_object_set_new(o, "sessions",
                        json_integer((json_int_t)mp_hub_sessions(admin->ctx->hub, r->u.id)));
    return o;
}

static mp_store_t *store_of(mp_admin_call_t *call)
{
    return call->admin->ctx->store;
}

/* The answer of a flag change: {"user_id","username",<field>:value,"changed"}. */
static json_t *flag_result(const mp_admin_user_row_t *u, const char *field, bool value,
                           bool changed)
{
    json_t *o = json_object();
    json_object_set_new(o, "user_id", id_json(u->u.id));
    json_object_set_new(o, "username", json_string(u->u.username));
    json_object_set_new(o, field, json_boolean(value));
    json_object_set_new(o, "changed", json_boolean(changed));
    return o;
}

/* What a flag op carries from the user lookup to the store's answer. */
typedef struct {
    mp_admin_call_t *call;
    mp_admin_user_row_t user;
    const char *action; /* "user.disable", ... */
    bool on;
} flag_op_t;

static flag_op_t *flag_op_new(mp_admin_call_t *call, const mp_admin_user_row_t *u,
                              const char *action, bool on)
{
    flag_op_t *f = mp_calloc(1, sizeof *f);
    f->call = call;
    f->user = *u;
    f->action = action;
    f->on = on;
    return f;
}

static void audit_user(mp_admin_call_t *call, const char *action, const mp_admin_user_row_t *u,
                       bool changed)
{
    json_t *detail = json_pack("{s:s}", "username", u->u.username);
    if (!changed)
        json_object_set_new(detail, "changed", json_false());
    mp_admin__audit(call, action, u->u.id, detail);
}

/* ---- user.get ------------------------------------------------------------------ */

static void get_found(mp_admin_call_t *call, const mp_admin_user_row_t *u)
{
    mp_admin__reply(call, MP_OK, NULL, json_pack("{s:o}", "user", user_json(call->admin, u)));
}

void mp_admin__op_user_get(mp_admin_call_t *call)
{
    mp_admin__with_user(call, get_found);
}

/* ---- user.list ------------------------------------------------------------------ */

static void list_done(mp_err_t rc, const mp_admin_user_row_t *users, size_t n, bool has_more,
                      void *ud)
{
    mp_admin_call_t *call = ud;
    if (rc != MP_OK) {
        mp_admin__reply(call, rc, NULL, NULL);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, user_json(call->admin, &users[i]));
    json_t *next = has_more && n > 0 ? json_string(users[n - 1].u.username) : json_null();
    mp_admin__reply(call, MP_OK, NULL, json_pack("{s:o, s:o}", "users", arr, "next_cursor", next));
}

void mp_admin__op_user_list(mp_admin_call_t *call)
{
    mp_admin_user_filter_t f = {0};
    const char *cursor = NULL;
    int deleted = -1;
    int64_t limit = 0;
    if (!mp_admin__arg_str(call, "q", false, 64, &f.q) ||
        !mp_admin__arg_bool(call, "admin", &f.admin) ||
        !mp_admin__arg_bool(call, "disabled", &f.disabled) ||
        !mp_admin__arg_bool(call, "guest", &f.guest) ||
        !mp_admin__arg_bool(call, "deleted", &deleted) ||
        !mp_admin__arg_int(call, "limit", 1, LIST_LIMIT_MAX, LIST_LIMIT_DEFAULT, &limit) ||
        !mp_admin__arg_str(call, "cursor", false, MP_USERNAME_MAX, &cursor))
        return;
    f.with_deleted = deleted == 1;
    mp_err_t rc =
        mp_store_admin_user_list(store_of(call), &f, cursor, (size_t)limit, list_done, call);
    if (rc != MP_OK)
        mp_admin__reply(call, rc, NULL, NULL);
}

/* ---- user.add ------------------------------------------------------------------- */

static void add_read(mp_err_t rc, const mp_admin_user_row_t *u, void *ud)
{
    mp_admin_call_t *call = ud;
    if (rc != MP_OK) {
        mp_admin__reply(call, rc, NULL, NULL);
        return;
    }
    call->http_ok = 201;
    mp_admin__audit(call, "user.add", u->u.id,
                    json_pack("{s:s, s:b}", "username", u->u.username, "admin", u->admin));
    mp_admin__reply(call, MP_OK, NULL, json_pack("{s:o}", "user", user_json(call->admin, u)));
}

static void add_created(mp_err_t rc, uint64_t user_id, void *ud)
{
    mp_admin_call_t *call = ud;
    if (rc == MP_OK)
        rc = mp_store_admin_user_get(store_of(call), user_id, NULL, add_read, call);
    if (rc != MP_OK)
        mp_admin__reply(call, rc, NULL, NULL);
}

void mp_admin__op_user_add(mp_admin_call_t *call)
{
    const char *username = NULL, *password = NULL, *display_name = NULL;
    int admin = -1;
    if (!mp_admin__arg_str(call, "username", true, 0, &username) ||
        !mp_admin__arg_str(call, "password", true, 0, &password) ||
        !mp_admin__arg_str(call, "display_name", false, 0, &display_name) ||
        !mp_admin__arg_bool(call, "admin", &admin))
        return;
    size_t plen = json_string_length(json_object_get(call->args, "password"));
    mp_err_t rc = mp_auth_create_user(call->admin->auth, username, password, plen, display_name,
                                      admin == 1, add_created, call);
    if (rc == MP_ERR_BAD_REQUEST)
        mp_admin__reply(call, rc,
                        "field 'display_name' must be 1 to 64 characters without control "
                        "characters, bidirectional controls or invisible characters",
                        NULL);
    else if (rc != MP_OK)
        mp_admin__reply(call, rc, NULL, NULL);
}

/* ---- user.passwd ------------------------------------------------------------------- */

static void passwd_done(mp_err_t rc, void *ud)
{
    flag_op_t *f = ud;
    mp_admin_call_t *call = f->call;
    if (rc == MP_OK) {
        audit_user(call, "user.passwd", &f->user, true);
        call->http_ok = 204;
        mp_admin__reply(call, MP_OK, NULL,
                        json_pack("{s:o, s:s}", "user_id", id_json(f->user.u.id), "username",
                                  f->user.u.username));
    } else {
        mp_admin__reply(call, rc, NULL, NULL);
    }
    mp_free(f);
}

static void passwd_found(mp_admin_call_t *call, const mp_admin_user_row_t *u)
{
    json_t *pw = json_object_get(call->args, "password");
    if (!json_is_string(pw) || json_string_length(pw) == 0) {
        mp_admin__reply(call, MP_ERR_BAD_REQUEST, "field 'password' is required", NULL);
        return;
    }
    if (u->u.guest || u->deleted_at != 0) {
        mp_admin__reply(call, u->u.guest ? MP_ERR_BAD_REQUEST : MP_ERR_NOT_FOUND,
                        u->u.guest ? "guests have no password" : "no such user", NULL);
        return;
    }
    flag_op_t *f = flag_op_new(call, u, "user.passwd", true);
    mp_err_t rc = mp_auth_set_password(call->admin->auth, u->u.id, json_string_value(pw),
                                       json_string_length(pw), 0, passwd_done, f);
    if (rc != MP_OK) {
        mp_free(f);
        mp_admin__reply(call, rc, NULL, NULL);
    }
}

void mp_admin__op_user_passwd(mp_admin_call_t *call)
{
    mp_admin__with_user(call, passwd_found);
}

/* ---- user.disable / user.enable ------------------------------------------------------- */

static void disabled_set(mp_err_t rc, bool changed, void *ud)
{
    flag_op_t *f = ud;
    mp_admin_call_t *call = f->call;
    if (rc == MP_OK) {
        mp_admin_t *admin = call->admin;
        mp_userflags_set(admin->ctx->flags, f->user.u.id, MP_UF_DISABLED, f->on);
        /* From here its tokens are refused; its open sockets close now. */
        if (f->on)
            mp_auth_close_user(admin->auth, f->user.u.id);
        audit_user(call, f->action, &f->user, changed);
        mp_admin__reply(call, MP_OK, NULL, flag_result(&f->user, "disabled", f->on, changed));
    } else {
        mp_admin__reply(call, rc, rc == MP_ERR_NOT_FOUND ? "no such user" : NULL, NULL);
    }
    mp_free(f);
}

static void set_disabled(mp_admin_call_t *call, const mp_admin_user_row_t *u, bool on)
{
    flag_op_t *f = flag_op_new(call, u, on ? "user.disable" : "user.enable", on);
    mp_err_t rc =
        mp_store_admin_set_disabled(store_of(call), u->u.id, on, mp_now_ms(), disabled_set, f);
    if (rc != MP_OK) {
        mp_free(f);
        mp_admin__reply(call, rc, NULL, NULL);
    }
}

static void disable_found(mp_admin_call_t *call, const mp_admin_user_row_t *u)
{
    set_disabled(call, u, true);
}

static void enable_found(mp_admin_call_t *call, const mp_admin_user_row_t *u)
{
    set_disabled(call, u, false);
}

void mp_admin__op_user_disable(mp_admin_call_t *call)
{
    mp_admin__with_user(call, disable_found);
}

void mp_admin__op_user_enable(mp_admin_call_t *call)
{
    mp_admin__with_user(call, enable_found);
}

/* ---- user.promote / user.demote ------------------------------------------------------- */

static void admin_set(mp_err_t rc, bool changed, void *ud)
{
    flag_op_t *f = ud;
    mp_admin_call_t *call = f->call;
    if (rc == MP_OK) {
        mp_userflags_set(call->admin->ctx->flags, f->user.u.id, MP_UF_ADMIN, f->on);
        audit_user(call, f->action, &f->user, changed);
        mp_admin__reply(call, MP_OK, NULL, flag_result(&f->user, "admin", f->on, changed));
    } else if (rc == MP_ERR_CONFLICT) {
        mp_admin__reply(call, rc,
                        "this is the last active administrator; promote another user first", NULL);
    } else if (rc == MP_ERR_BAD_REQUEST) {
        mp_admin__reply(call, rc, "guests cannot be administrators", NULL);
    } else {
        mp_admin__reply(call, rc, rc == MP_ERR_NOT_FOUND ? "no such user" : NULL, NULL);
    }
    mp_free(f);
}

static void set_admin(mp_admin_call_t *call, const mp_admin_user_row_t *u, bool on)
{
    flag_op_t *f = flag_op_new(call, u, on ? "user.promote" : "user.demote", on);
    mp_err_t rc = mp_store_admin_set_admin(store_of(call), u->u.id, on, admin_set, f);
    if (rc != MP_OK) {
        mp_free(f);
        mp_admin__reply(call, rc, NULL, NULL);
    }
}

static void promote_found(mp_admin_call_t *call, const mp_admin_user_row_t *u)
{
    set_admin(call, u, true);
}

static void demote_found(mp_admin_call_t *call, const mp_admin_user_row_t *u)
{
    set_admin(call, u, false);
}

void mp_admin__op_user_promote(mp_admin_call_t *call)
{
    mp_admin__with_user(call, promote_found);
}

void mp_admin__op_user_demote(mp_admin_call_t *call)
{
    mp_admin__with_user(call, demote_found);
}

/* ---- user.delete ----------------------------------------------------------------------- */

static void delete_done(mp_err_t rc, void *ud)
{
    flag_op_t *f = ud;
    mp_admin_call_t *call = f->call;
    if (rc == MP_OK) {
        audit_user(call, "user.delete", &f->user, true);
        call->http_ok = 204;
        mp_admin__reply(call, MP_OK, NULL,
                        json_pack("{s:o, s:s}", "user_id", id_json(f->user.u.id), "username",
                                  f->user.u.username));
    } else {
        mp_admin__reply(call, rc, rc == MP_ERR_NOT_FOUND ? "no such user" : NULL, NULL);
    }
    mp_free(f);
}

static void delete_found(mp_admin_call_t *call, const mp_admin_user_row_t *u)
{
    if (u->deleted_at != 0) {
        mp_admin__reply(call, MP_ERR_NOT_FOUND, "the account is already deleted", NULL);
        return;
    }
    flag_op_t *f = flag_op_new(call, u, "user.delete", true);
    mp_err_t rc = mp_auth_delete_account(call->admin->auth, u->u.id, delete_done, f);
    if (rc != MP_OK) {
        mp_free(f);
        mp_admin__reply(call, rc, NULL, NULL);
    }
}

void mp_admin__op_user_delete(mp_admin_call_t *call)
{
    mp_admin__with_user(call, delete_found);
}

/* ---- stats ---------------------------------------------------------------------------- */

static void stats_done(mp_err_t rc, const mp_admin_stats_t *t, void *ud)
{
    mp_admin_call_t *call = ud;
    if (rc != MP_OK) {
        mp_admin__reply(call, rc, NULL, NULL);
        return;
    }
    mp_admin_t *admin = call->admin;
    int64_t up = (mp_now_ms() - admin->started_at) / 1000;
    json_t *o = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:I, s:I}",
        "users", (json_int_t)t->users, "guests", (json_int_t)t->guests, "admins",
        (json_int_t)t->admins, "disabled", (json_int_t)t->disabled, "pending",
        (json_int_t)t->pending, "deleted", (json_int_t)t->deleted, "conversations",
        (json_int_t)t->conversations, "direct", (json_int_t)t->direct, "groups",
        (json_int_t)t->groups, "messages", (json_int_t)t->messages, "online_sessions",
        (json_int_t)mp_hub_total_sessions(admin->ctx->hub), "uptime_s",
        (json_int_t)(up > 0 ? up : 0), "version", MAGPIE_VERSION, "connections",
        (json_int_t)mp_server_connections(admin->ctx->srv), "db_bytes", (json_int_t)t->db_bytes,
        "files", (json_int_t)t->files, "file_bytes", (json_int_t)t->file_bytes);
    mp_admin__reply(call, MP_OK, NULL, o);
}

void mp_admin__op_stats(mp_admin_call_t *call)
{
    mp_err_t rc = mp_store_admin_stats(store_of(call), stats_done, call);
    if (rc != MP_OK)
        mp_admin__reply(call, rc, NULL, NULL);
}

/* ---- audit.list ------------------------------------------------------------------------- */

static void audit_done(mp_err_t rc, const mp_audit_row_t *rows, size_t n, bool has_more, void *ud)
{
    mp_admin_call_t *call = ud;
    if (rc != MP_OK) {
        mp_admin__reply(call, rc, NULL, NULL);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const mp_audit_row_t *r = &rows[i];
        json_t *detail = r->detail[0] ? json_loads(r->detail, 0, NULL) : NULL;
        json_t *o = json_object();
        json_object_set_new(o, "id", id_json(r->id));
        json_object_set_new(o, "at", json_integer(r->at));
        json_object_set_new(o, "actor_id", id_json(r->actor_id));
        json_object_set_new(o, "actor_username",
                            r->actor_name[0] ? json_string(r->actor_name) : json_null());
        json_object_set_new(o, "action", json_string(r->action));
        json_object_set_new(o, "target_id", id_json(r->target_id));
        json_object_set_new(o, "detail", detail != NULL ? detail : json_null());
        json_array_append_new(arr, o);
    }
    char buf[MP_ID_STRLEN];
    json_t *next = has_more && n > 0 ? json_string(mp_id_format(rows[n - 1].id, buf)) : json_null();
    mp_admin__reply(call, MP_OK, NULL,
                    json_pack("{s:o, s:o}", "entries", arr, "next_cursor", next));
}

void mp_admin__op_audit_list(mp_admin_call_t *call)
{
    int64_t limit = 0;
    uint64_t before = 0;
    if (!mp_admin__arg_int(call, "limit", 1, LIST_LIMIT_MAX, LIST_LIMIT_DEFAULT, &limit) ||
        !mp_admin__arg_id(call, "cursor", false, &before))
        return;
    mp_err_t rc = mp_store_audit_page(store_of(call), before, (size_t)limit, audit_done, call);
    if (rc != MP_OK)
        mp_admin__reply(call, rc, NULL, NULL);
}
