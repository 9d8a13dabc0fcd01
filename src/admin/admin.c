/* Module life of admin, the answer path and the audit log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_int.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/clock.h"
#include "util/log.h"

mp_admin_t *mp_admin_new(const mp_module_ctx_t *ctx, mp_auth_t *auth, mp_chat_t *chat, char *err,
                         size_t errlen)
{
    mp_admin_t *admin = mp_calloc(1, sizeof *admin);
    admin->ctx = ctx;
    admin->auth = auth;
    admin->chat = chat;
    admin->started_at = mp_now_ms();
    if (mp_admin__ctl_open(admin, err, errlen) != 0) {
        mp_free(admin);
        return NULL;
    }
    return admin;
}

void mp_admin_free(mp_admin_t *admin)
{
    if (admin == NULL)
        return;
    /* The control socket's handles close on the loop; the module goes with
     * the last of them (or at once when there are none). */
    mp_admin__ctl_close(admin);
}

void mp_admin__freed(mp_admin_t *admin)
{
    mp_free(admin);
}

mp_admin_t *mp_admin__of(mp_http_req_t *req)
{
    return mp_http_req_mod(req);
}

static void deliver(mp_admin_call_t *call, mp_err_t rc, const char *message, json_t *result)
{
    call->answer(call, rc, message, result);
}

void mp_admin__reply(mp_admin_call_t *call, mp_err_t rc, const char *message, json_t *result)
{
    MP_ASSERT(!call->held);
    if (call->audits_pending == 0) {
        deliver(call, rc, message, result);
        return;
    }
    call->held = true;
    call->held_rc = rc;
    call->held_message = message != NULL ? mp_strdup(message) : NULL;
    call->held_result = result;
}

/* ---- audit log ------------------------------------------------------------ */

typedef struct {
    mp_admin_call_t *call;
    char action[MP_AUDIT_ACTION_MAX + 1];
    uint64_t target_id;
} audit_job_t;

static void audit_done(mp_err_t rc, void *ud)
{
    audit_job_t *a = ud;
    mp_admin_call_t *call = a->call;
    if (rc != MP_OK)
        mp_log_warn("audit log: cannot record %s on %llu: %s", a->action,
                    (unsigned long long)a->target_id, mp_err_code(rc));
    mp_free(a);
    MP_ASSERT(call->audits_pending > 0);
    if (--call->audits_pending > 0 || !call->held)
        return;
    char *message = call->held_message;
    deliver(call, call->held_rc, message, call->held_result);
    mp_free(message);
}

void mp_admin__audit(mp_admin_call_t *call, const char *action, uint64_t target_id, json_t *detail)
{
    char *text = NULL;
    if (detail != NULL) {
        text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(detail);
        if (text != NULL && strlen(text) > MP_AUDIT_DETAIL_MAX) {
            free(text); /* jansson's allocator */
            text = NULL;
        }
    }
    audit_job_t *a = mp_calloc(1, sizeof *a);
    a->call = call;
    snprintf(a->action, sizeof a->action, "%s", action);
    a->target_id = target_id;
    call->audits_pending++;
    mp_err_t rc = mp_store_audit_add(call->admin->ctx->store, mp_now_ms(), call->actor_id, action,
                                     target_id, text, audit_done, a);
    free(text);
    if (rc != MP_OK)
        audit_done(rc, a);
}
