/* WebSocket verbs: each feature module exports a table that maps its frame
 * types to their field specs and handlers; the composition root hands the
 * tables to mp_verbs_new() (as it concatenates the route tables), and the
 * gateway hands every request frame of an authenticated session to
 * mp_verbs_dispatch(). */
#ifndef MP_CORE_VERBS_H
#define MP_CORE_VERBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/module.h"
#include "net/gw.h"
#include "proto/principal.h"
#include "proto/validate.h"

/* One request, valid only while the handler runs: copy sid/req_id (and incref
 * frame) to answer later. The handler answers exactly once with mp_gw_reply()
 * or mp_gw_error() on cmd->ctx->srv. */
typedef struct mp_cmd {
    const mp_module_ctx_t *ctx;
    void *mod; /* the state of the module whose table holds the verb */
    mp_sid_t sid;
    int64_t req_id;
    const char *type;
    json_t *frame; /* borrowed, already validated against the verb's fields */
    mp_principal_t who;
} mp_cmd_t;

typedef void (*mp_verb_fn)(mp_cmd_t *cmd);

/* A verb's reader of its own frames, tried on the frame's bytes before
 * they are parsed as JSON (cmd->frame is NULL, cmd->req_id 0): true when m
 * is a frame of its verb in a shape it reads itself; it has then set
 * cmd->req_id and answers as the verb's handler would (the answer may come
 * later: copy what it needs of m). False, having answered nothing, leaves
 * the frame to the parser, the field table and the handler: a reader only
 * ever takes frames those would accept, so that it changes no answer. */
typedef bool (*mp_verb_raw_fn)(mp_cmd_t *cmd, const char *m, size_t n);

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

/* A raw reader of one of the table's verbs (never tried for a guest). */
typedef struct mp_verb_raw {
    const char *type;
    mp_verb_raw_fn fn;
} mp_verb_raw_t;

/* A module's verb table (ended by a zeroed entry) and the module state its
 * handlers find in cmd->mod. */
typedef struct mp_verb_table {
    const mp_verb_t *verbs;
    void *mod;
    const mp_verb_raw_t *raws; /* NULL, or ended by a zeroed entry */
} mp_verb_table_t;

typedef struct mp_verbs mp_verbs_t;

/* The dispatcher: the built-in verbs (ping) and every table of `tables`
 * (ended by an entry with verbs NULL), concatenated; a type listed twice goes
 * to its first entry. ctx and the verb arrays must outlive it (`tables`
 * itself is copied). Never returns NULL. */
mp_verbs_t *mp_verbs_new(const mp_module_ctx_t *ctx, const mp_verb_table_t *tables);
/* NULL is ignored. */
void mp_verbs_free(mp_verbs_t *v);

/* Looks type up, validates, runs the handler; answers unknown_type or
 * bad_request itself. Matches mp_server_hooks_t.frame with ctx the
 * dispatcher. */
void mp_verbs_dispatch(void *verbs, mp_sid_t sid, const mp_principal_t *who, int64_t req_id,
                       const char *type, json_t *frame);

/* Offers frame m[0..n) (valid UTF-8) to the verbs' raw readers: true when
 * one took it. Guests' frames always go to mp_verbs_dispatch, where their
 * rules are. Matches mp_server_hooks_t.raw_frame with ctx the dispatcher. */
bool mp_verbs_raw(void *verbs, mp_sid_t sid, const mp_principal_t *who, const char *m, size_t n);

#endif
