/* The WebSocket verb dispatcher: frame type -> field spec -> handler, over the
 * tables of the modules (handlers live in the module that owns them; adding a
 * verb is one line in its module's table). */
#include "core/verbs.h"

#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/clock.h"
#include "util/id.h"
#include "util/metrics.h"

static void verb_ping(mp_cmd_t *cmd);

/* The verbs of no module. */
static const mp_verb_t builtin_verbs[] = {
    {"ping", NULL, verb_ping, MP_VERB_GUEST_OK},
    {NULL, NULL, NULL, 0},
};

/* One verb of the concatenated table, with the state of its module. */
typedef struct mp_verb_entry {
    const mp_verb_t *verb;
    void *mod;
    mp_verb_raw_fn raw; /* in `raws` only */
} mp_verb_entry_t;

struct mp_verbs {
    const mp_module_ctx_t *ctx;
    mp_verb_entry_t *all;  /* ended by verb NULL */
    mp_verb_entry_t *raws; /* the raw readers, each with the entry of its
                              verb; ended by verb NULL */
};

static const mp_verb_entry_t *find_verb(const mp_verbs_t *v, const char *type)
{
    for (const mp_verb_entry_t *e = v->all; e->verb != NULL; e++)
        if (strcmp(e->verb->type, type) == 0)
            return e;
    return NULL;
}

mp_verbs_t *mp_verbs_new(const mp_module_ctx_t *ctx, const mp_verb_table_t *tables)
{
    mp_verbs_t *v = mp_calloc(1, sizeof *v);
    size_t n = 0;
    v->ctx = ctx;
    for (const mp_verb_t *b = builtin_verbs; b->type != NULL; b++)
        n++;
    for (size_t t = 0; tables != NULL && tables[t].verbs != NULL; t++)
        for (const mp_verb_t *b = tables[t].verbs; b->type != NULL; b++)
            n++;
    size_t nraw = 0;
    for (size_t t = 0; tables != NULL && tables[t].verbs != NULL; t++)
        for (const mp_verb_raw_t *r = tables[t].raws; r != NULL && r->type != NULL; r++)
            nraw++;
    v->all = mp_calloc(n + 1, sizeof *v->all);
    n = 0;
    for (const mp_verb_t *b = builtin_verbs; b->type != NULL; b++)
        v->all[n++] = (mp_verb_entry_t){b, NULL, NULL};
    for (size_t t = 0; tables != NULL && tables[t].verbs != NULL; t++)
        for (const mp_verb_t *b = tables[t].verbs; b->type != NULL; b++)
            v->all[n++] = (mp_verb_entry_t){b, tables[t].mod, NULL};
    /* A reader goes with the verb its type reaches, which is its own
     * table's: a frame a reader takes is one that verb would have had. */
    v->raws = mp_calloc(nraw + 1, sizeof *v->raws);
    nraw = 0;
    for (size_t t = 0; tables != NULL && tables[t].verbs != NULL; t++)
        for (const mp_verb_raw_t *r = tables[t].raws; r != NULL && r->type != NULL; r++) {
            const mp_verb_entry_t *e = find_verb(v, r->type);
            MP_ASSERT(e != NULL && e->mod == tables[t].mod);
            v->raws[nraw++] = (mp_verb_entry_t){e->verb, e->mod, r->fn};
        }
    return v;
}

void mp_verbs_free(mp_verbs_t *v)
{
    if (v == NULL)
        return;
    mp_free(v->all);
    mp_free(v->raws);
    mp_free(v);
}

/* {"type":"ping"} -> {"ok":true,"pong":true,"time":<ms since epoch>}; lets a
 * client measure round trips and check its clock. */
static void verb_ping(mp_cmd_t *cmd)
{
    json_t *fields = json_pack("{s:b,s:I}", "pong", 1, "time", (json_int_t)mp_now_ms());
    mp_gw_reply(cmd->ctx->srv, cmd->sid, cmd->req_id, fields);
}

/* The one place where guests are kept to the world room over WebSocket.
 * Returns NULL when the guest may go on, else the refusal's message. */
static const char *guest_refusal(const mp_module_ctx_t *ctx, const mp_verb_t *verb, json_t *frame)
{
    mp_guests_t mode = ctx->cfg->guests;
    if (!(verb->flags & MP_VERB_GUEST_OK))
        return "guests may only use the world room";
    if (mode == MP_GUESTS_OFF && strcmp(verb->type, "ping") != 0)
        return "guest accounts are disabled";
    if ((verb->flags & MP_VERB_GUEST_WRITE) && mode != MP_GUESTS_WRITE)
        return "guests may only read the world room";
    if (verb->flags & MP_VERB_WORLD_ONLY) {
        uint64_t conv = 0;
        const char *s = json_string_value(json_object_get(frame, "conversation"));
        if (s == NULL || !mp_id_parse(s, &conv) || conv != ctx->world_id)
            return "guests may only use the world room";
    }
    return NULL;
}

void mp_verbs_dispatch(void *verbs, mp_sid_t sid, const mp_principal_t *who, int64_t req_id,
                       const char *type, json_t *frame)
{
    mp_verbs_t *v = verbs;
    const mp_module_ctx_t *ctx = v->ctx;
    const mp_verb_entry_t *entry = find_verb(v, type);
    /* The verb's own name from the table, never the client's string. */
    mp_metrics_ws_request(entry != NULL ? entry->verb->type : "unknown");
    if (entry == NULL) {
        char msg[160];
        /* Echo at most 64 bytes of the type (it is attacker-controlled), cut at
         * a character boundary so that the reply stays valid UTF-8. */
        int n = (int)strnlen(type, 64);
        while (n > 0 && type[n] != '\0' && ((unsigned char)type[n] & 0xc0) == 0x80)
            n--;
        snprintf(msg, sizeof msg, "unknown type '%.*s'", n, type);
        mp_gw_error(ctx->srv, sid, req_id, MP_ERR_UNKNOWN_TYPE, msg, NULL);
        return;
    }
    const mp_verb_t *verb = entry->verb;
    if (verb->fields != NULL) {
        char msg[256];
        mp_err_t rc = mp_validate(frame, verb->fields, msg, sizeof msg);
        if (rc != MP_OK) {
            mp_gw_error(ctx->srv, sid, req_id, rc, msg, NULL);
            return;
        }
    }
    const char *refused = who->guest ? guest_refusal(ctx, verb, frame) : NULL;
    if (refused != NULL) {
        mp_gw_error(ctx->srv, sid, req_id, MP_ERR_GUEST_FORBIDDEN, refused, NULL);
        return;
    }
    mp_cmd_t cmd = {
        .ctx = ctx,
        .mod = entry->mod,
        .sid = sid,
        .req_id = req_id,
        .type = type,
        .frame = frame,
        .who = *who,
    };
    verb->fn(&cmd);
}

bool mp_verbs_raw(void *verbs, mp_sid_t sid, const mp_principal_t *who, const char *m, size_t n)
{
    mp_verbs_t *v = verbs;
    /* A guest's frames meet guest_refusal in mp_verbs_dispatch first. */
    if (who->guest)
        return false;
    for (const mp_verb_entry_t *e = v->raws; e->verb != NULL; e++) {
        mp_cmd_t cmd = {
            .ctx = v->ctx,
            .mod = e->mod,
            .sid = sid,
            .type = e->verb->type,
            .who = *who,
        };
        if (e->raw(&cmd, m, n)) {
            mp_metrics_ws_request(e->verb->type);
            return true;
        }
    }
    return false;
}
