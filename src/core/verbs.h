/* WebSocket verbs: one table maps each frame type to its field spec and its
 * handler (one handler per verb, in the module that owns it). The gateway hands
 * every request frame of an authenticated session to mp_verbs_dispatch(). */
#ifndef MP_CORE_VERBS_H
#define MP_CORE_VERBS_H

#include <jansson.h>
#include <stdint.h>

#include "net/gw.h"
#include "proto/principal.h"
#include "proto/validate.h"

struct mp_app;

/* One request, valid only while the handler runs: copy sid/req_id (and incref
 * frame) to answer later. The handler answers exactly once with mp_gw_reply()
 * or mp_gw_error() on cmd->app->srv. */
typedef struct mp_cmd {
    struct mp_app *app;
    mp_sid_t sid;
    int64_t req_id;
    const char *type;
    json_t *frame; /* borrowed, already validated against the verb's fields */
    mp_principal_t who;
} mp_cmd_t;

typedef void (*mp_verb_fn)(mp_cmd_t *cmd);

/* Verb flags: what a guest may do (guests may only use the world room; a
 * verb without MP_VERB_GUEST_OK answers a guest with guest_forbidden). */
enum {
    MP_VERB_GUEST_OK = 1 << 0,    /* guests may use it (if cfg guests is not off) */
    MP_VERB_WORLD_ONLY = 1 << 1,  /* for guests: "conversation" must be the world */
    MP_VERB_GUEST_WRITE = 1 << 2, /* for guests: needs cfg guests = write */
};

typedef struct mp_verb {
    const char *type;
    const mp_field_t *fields; /* NULL = no fields besides id/type */
    mp_verb_fn fn;
    unsigned flags; /* MP_VERB_* */
} mp_verb_t;

/* Looks type up, validates, runs the handler; answers unknown_type or
 * bad_request itself. Matches mp_server_hooks_t.frame (ctx is the app). */
void mp_verbs_dispatch(void *app, mp_sid_t sid, const mp_principal_t *who, int64_t req_id,
                       const char *type, json_t *frame);

#endif
