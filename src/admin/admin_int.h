/* Internals of the admin module: its state, and the operation abstraction
 * shared by the HTTP and control-socket front-ends.
 *
 * An operation is a function that reads its arguments from a JSON object
 * (the request body plus the path and query parameters for HTTP, the command
 * line for the socket), does its work (usually one store job) and answers
 * exactly once through mp_admin__reply(), possibly later on the loop. It
 * never knows which front-end called it.
 *
 * Every operation is one line of MP_ADMIN_OPS below: its name (the socket's
 * "cmd"), its function, its HTTP method and route. The op table
 * (mp_admin__ops) and the HTTP route table (mp_admin_routes) are both made
 * from that one list (ops.c), so the two can never differ. */
#ifndef MP_ADMIN_ADMIN_INT_H
#define MP_ADMIN_ADMIN_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "admin/admin.h"
#include "store/admin.h"

typedef struct mp_admin_call mp_admin_call_t;

/* How a front-end receives the answer: rc MP_OK with result (owned by the
 * callee, may be NULL for an empty object), or an error and its message
 * (NULL = the code's default message). Frees the call. */
typedef void (*mp_admin_answer_fn)(mp_admin_call_t *call, mp_err_t rc, const char *message,
                                   json_t *result);

struct mp_admin_call {
    mp_admin_t *admin;
    uint64_t actor_id; /* the admin user, 0 = the operator on the control socket */
    json_t *args;      /* owned by the call, an object */
    mp_admin_answer_fn answer;
    void *front; /* the front-end's state (the HTTP request, the socket client) */
    int http_ok; /* HTTP status on success (200, 201, 204), set by the op; 0 = 200 */
    /* Private to admin.c: the answer waits for the audit rows being written,
     * so that an action is in the log by the time its answer arrives. */
    unsigned audits_pending;
    bool held;
    mp_err_t held_rc;
    char *held_message;
    json_t *held_result;
};

typedef void (*mp_admin_op_fn)(mp_admin_call_t *call);

/* ---- the operations -------------------------------------------------------
 *
 * X(name, function, METHOD, route, query) for each operation:
 *   name     the control socket's "cmd" and the audit log's action
 *   METHOD   GET, POST or DELETE (a token: POST routes take a JSON body,
 *            which may be empty)
 *   route    the HTTP route; each {param} becomes the argument of that name
 *   query    the query parameters copied into the arguments, space-separated
 *            ("" for none)
 * Path parameters override body members of the same name. Query and path
 * values arrive as strings: read arguments with the mp_admin__arg_* helpers,
 * which accept a JSON value or its text form. Add a line here and the
 * function in the file of its area; the docs test wants the route in the
 * route table of docs/protocol.md. */
#define MP_ADMIN_OPS(X)                                                                            \
    X("user.list", mp_admin__op_user_list, GET, "/v1/admin/users",                                 \
      "q admin disabled guest limit cursor")                                                       \
    X("user.add", mp_admin__op_user_add, POST, "/v1/admin/users", "")                              \
    X("user.get", mp_admin__op_user_get, GET, "/v1/admin/users/{user_id}", "")                     \
    X("user.delete", mp_admin__op_user_delete, DELETE, "/v1/admin/users/{user_id}", "")            \
    X("user.passwd", mp_admin__op_user_passwd, POST, "/v1/admin/users/{user_id}/password", "")     \
    X("user.disable", mp_admin__op_user_disable, POST, "/v1/admin/users/{user_id}/disable", "")    \
    X("user.enable", mp_admin__op_user_enable, POST, "/v1/admin/users/{user_id}/enable", "")       \
    X("user.promote", mp_admin__op_user_promote, POST, "/v1/admin/users/{user_id}/promote", "")    \
    X("user.demote", mp_admin__op_user_demote, POST, "/v1/admin/users/{user_id}/demote", "")       \
    X("invite.create", mp_admin__op_invite_create, POST, "/v1/admin/invites", "")                  \
    X("invite.list", mp_admin__op_invite_list, GET, "/v1/admin/invites", "limit cursor")           \
    X("invite.revoke", mp_admin__op_invite_revoke, DELETE, "/v1/admin/invites/{code}", "")         \
    X("world.delete_message", mp_admin__op_world_delete_message, DELETE,                           \
      "/v1/admin/world/messages/{message_id}", "")                                                 \
    X("world.ban", mp_admin__op_world_ban, POST, "/v1/admin/world/bans", "")                       \
    X("world.bans", mp_admin__op_world_bans, GET, "/v1/admin/world/bans", "limit cursor")          \
    X("world.unban", mp_admin__op_world_unban, DELETE, "/v1/admin/world/bans/{user_id}", "")       \
    X("stats", mp_admin__op_stats, GET, "/v1/admin/stats", "")                                     \
    X("audit.list", mp_admin__op_audit_list, GET, "/v1/admin/audit", "limit cursor")

/* Operations of the control socket alone, X(name, function): no HTTP route,
 * because they act on the server's files, which only the operator who owns
 * the data directory may do (an administrator account is not that). */
#define MP_ADMIN_CTL_OPS(X) X("backup", mp_admin__op_backup)

#define MP_ADMIN__DECLARE_OP(name, fn, method, route, query) void fn(mp_admin_call_t *call);
MP_ADMIN_OPS(MP_ADMIN__DECLARE_OP)
#undef MP_ADMIN__DECLARE_OP
#define MP_ADMIN__DECLARE_CTL_OP(name, fn) void fn(mp_admin_call_t *call);
MP_ADMIN_CTL_OPS(MP_ADMIN__DECLARE_CTL_OP)
#undef MP_ADMIN__DECLARE_CTL_OP

typedef struct mp_admin_op {
    const char *name; /* "user.add", "invite.list", ... the socket's "cmd" */
    mp_admin_op_fn fn;
    const char *method; /* "GET", "POST", "DELETE"; NULL: control socket only */
    const char *route;  /* "/v1/admin/users/{user_id}"; NULL: control socket only */
    const char *query;  /* "limit cursor" */
} mp_admin_op_t;

/* Every operation, ended by a zeroed entry (ops.c). */
extern const mp_admin_op_t mp_admin__ops[];
const mp_admin_op_t *mp_admin__op_find(const char *name);

/* Answers the call (exactly once). */
void mp_admin__reply(mp_admin_call_t *call, mp_err_t rc, const char *message, json_t *result);
/* Records an admin action in the audit log (a write job of its own, queued
 * after the action's write succeeded, so it lands in the same or the next
 * group commit). detail may be NULL; it is stolen. Best effort: a failure
 * is logged. Call it BEFORE mp_admin__reply (which frees the call): the
 * answer is then held back until the row is written. */
void mp_admin__audit(mp_admin_call_t *call, const char *action, uint64_t target_id, json_t *detail);

/* ---- reading arguments ----------------------------------------------------
 *
 * Each reads one member of call->args. On a missing required or an invalid
 * value it ANSWERS the call (400 bad_request naming the field) and returns
 * false: the op must then return without touching the call. */

/* A string of 1..max_chars characters (0 = no limit); *out NULL when absent
 * and optional. Borrowed from call->args. */
bool mp_admin__arg_str(mp_admin_call_t *call, const char *name, bool required, size_t max_chars,
                       const char **out);
/* An id (decimal string, or a JSON integer); *out 0 when absent and optional. */
bool mp_admin__arg_id(mp_admin_call_t *call, const char *name, bool required, uint64_t *out);
/* An integer in [min, max] (JSON integer or its decimal text); dflt when absent. */
bool mp_admin__arg_int(mp_admin_call_t *call, const char *name, int64_t min, int64_t max,
                       int64_t dflt, int64_t *out);
/* Optional text shown to people (an invite's note, a ban's reason): 0..
 * max_chars characters, no control characters but tab and newline; *out ""
 * when absent. */
bool mp_admin__arg_text(mp_admin_call_t *call, const char *name, size_t max_chars,
                        const char **out);
/* A boolean (JSON true/false or "true"/"false"/"1"/"0"); *out -1 when absent. */
bool mp_admin__arg_bool(mp_admin_call_t *call, const char *name, int *out);

/* The op's target user, named by "user_id" or "username" (exactly one; the
 * control socket names users, HTTP routes carry ids). Looks the user up and
 * calls fn with the row (guests and deleted accounts included), or answers
 * 400 (neither or both given) or 404 not_found itself. */
typedef void (*mp_admin_user_fn)(mp_admin_call_t *call, const mp_admin_user_row_t *user);
void mp_admin__with_user(mp_admin_call_t *call, mp_admin_user_fn fn);

/* ---- module state -------------------------------------------------------- */

struct mp_admin {
    const mp_module_ctx_t *ctx;
    mp_auth_t *auth;
    mp_chat_t *chat;
    void *ctl;          /* the control socket server (control.c) */
    int64_t started_at; /* wall clock ms, for stats' uptime */
};

/* The control socket (control.c): opens DATA/control.sock (0 or -1 with a
 * message in err); closes it, removing the file, and calls mp_admin__freed
 * once its handles have closed. */
int mp_admin__ctl_open(mp_admin_t *admin, char *err, size_t errlen);
void mp_admin__ctl_close(mp_admin_t *admin);
void mp_admin__freed(mp_admin_t *admin);

/* The mp_admin_t of the request's route. */
mp_admin_t *mp_admin__of(mp_http_req_t *req);

#endif
