/* Internals of the admin module: its state, and the operation abstraction
 * shared by the HTTP and control-socket front-ends.
 *
 * An operation is a function that reads its arguments from a JSON object
 * (the request body plus the path parameters for HTTP, the command line for
 * the socket), does its work (usually one store job) and answers exactly
 * once through mp_admin__reply(), possibly later on the loop. It never
 * knows which front-end called it. */
#ifndef MP_ADMIN_ADMIN_INT_H
#define MP_ADMIN_ADMIN_INT_H

#include <jansson.h>
#include <stdint.h>

#include "admin/admin.h"

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
    int http_ok; /* HTTP status on success (200, 201, 204), set by the op */
};

typedef void (*mp_admin_op_fn)(mp_admin_call_t *call);

typedef struct mp_admin_op {
    const char *name; /* "user.add", "invite.list", ... the socket's "cmd" */
    mp_admin_op_fn fn;
} mp_admin_op_t;

/* Every operation, ended by a zeroed entry (ops.c). */
extern const mp_admin_op_t mp_admin__ops[];
const mp_admin_op_t *mp_admin__op_find(const char *name);

/* Answers the call (exactly once). */
void mp_admin__reply(mp_admin_call_t *call, mp_err_t rc, const char *message, json_t *result);
/* Records an admin action in the audit log (a write job of its own, queued
 * after the action's write succeeded, so it lands in the same or the next
 * group commit). detail may be NULL; it is stolen. Best effort: a failure
 * is logged. */
void mp_admin__audit(mp_admin_call_t *call, const char *action, uint64_t target_id, json_t *detail);

struct mp_admin {
    const mp_module_ctx_t *ctx;
    mp_auth_t *auth;
    mp_chat_t *chat;
    void *ctl; /* the control socket server (control.c) */
};

/* The mp_admin_t of the request's route. */
mp_admin_t *mp_admin__of(mp_http_req_t *req);

#endif
