/* The WebSocket verb table: frame type -> field spec -> handler. Adding a verb
 * is one line in `verbs[]` (handlers live in the module that owns them). */
#include "core/verbs.h"

#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "chat/chat.h"
#include "util/clock.h"
#include "util/id.h"

static void verb_ping(mp_cmd_t *cmd);

#define GUEST_WORLD (MP_VERB_GUEST_OK | MP_VERB_WORLD_ONLY)

/* One line per verb: {type, fields (NULL = none), handler, flags}. */
static const mp_verb_t verbs[] = {
    {"ping", NULL, verb_ping, MP_VERB_GUEST_OK},
    {"send", mp_chat_send_fields, mp_chat_verb_send, GUEST_WORLD | MP_VERB_GUEST_WRITE},
    {"history", mp_chat_history_fields, mp_chat_verb_history, GUEST_WORLD},
    /* A guest has no member rows and the world is not in sync: an empty result. */
    {"sync", mp_chat_sync_fields, mp_chat_verb_sync, MP_VERB_GUEST_OK},
    {"read", mp_chat_cursor_fields, mp_chat_verb_read, GUEST_WORLD},
    /* Guests keep a delivered cursor in the world like any user (world_reads). */
    {"delivered", mp_chat_cursor_fields, mp_chat_verb_delivered, GUEST_WORLD},
    {"typing", mp_chat_typing_fields, mp_chat_verb_typing, GUEST_WORLD | MP_VERB_GUEST_WRITE},
    {NULL, NULL, NULL, 0},
};

/* {"type":"ping"} -> {"ok":true,"pong":true,"time":<ms since epoch>}; lets a
 * client measure round trips and check its clock. */
static void verb_ping(mp_cmd_t *cmd)
{
    json_t *fields = json_pack("{s:b,s:I}", "pong", 1, "time", (json_int_t)mp_now_ms());
    mp_gw_reply(cmd->app->srv, cmd->sid, cmd->req_id, fields);
}

/* The one place where guests are kept to the world room over WebSocket.
 * Returns NULL when the guest may go on, else the refusal's message. */
static const char *guest_refusal(const mp_app_t *app, const mp_verb_t *verb, json_t *frame)
{
    mp_guests_t mode = app->cfg->guests;
    if (!(verb->flags & MP_VERB_GUEST_OK))
        return "guests may only use the world room";
    if (mode == MP_GUESTS_OFF && strcmp(verb->type, "ping") != 0)
        return "guest accounts are disabled";
    if ((verb->flags & MP_VERB_GUEST_WRITE) && mode != MP_GUESTS_WRITE)
        return "guests may only read the world room";
    if (verb->flags & MP_VERB_WORLD_ONLY) {
        uint64_t conv = 0;
        const char *s = json_string_value(json_object_get(frame, "conversation"));
        if (s == NULL || !mp_id_parse(s, &conv) || conv != app->world_id)
            return "guests may only use the world room";
    }
    return NULL;
}

static const mp_verb_t *find_verb(const char *type)
{
    for (const mp_verb_t *v = verbs; v->type != NULL; v++)
        if (strcmp(v->type, type) == 0)
            return v;
    return NULL;
}

void mp_verbs_dispatch(void *ctx, mp_sid_t sid, const mp_principal_t *who, int64_t req_id,
                       const char *type, json_t *frame)
{
    mp_app_t *app = ctx;
    const mp_verb_t *verb = find_verb(type);
    if (verb == NULL) {
        char msg[160];
        /* Echo at most 64 bytes of the type (it is attacker-controlled), cut at
         * a character boundary so that the reply stays valid UTF-8. */
        int n = (int)strnlen(type, 64);
        while (n > 0 && type[n] != '\0' && ((unsigned char)type[n] & 0xc0) == 0x80)
            n--;
        snprintf(msg, sizeof msg, "unknown type '%.*s'", n, type);
        mp_gw_error(app->srv, sid, req_id, MP_ERR_UNKNOWN_TYPE, msg, NULL);
        return;
    }
    if (verb->fields != NULL) {
        char msg[256];
        mp_err_t rc = mp_validate(frame, verb->fields, msg, sizeof msg);
        if (rc != MP_OK) {
            mp_gw_error(app->srv, sid, req_id, rc, msg, NULL);
            return;
        }
    }
    const char *refused = who->guest ? guest_refusal(app, verb, frame) : NULL;
    if (refused != NULL) {
        mp_gw_error(app->srv, sid, req_id, MP_ERR_GUEST_FORBIDDEN, refused, NULL);
        return;
    }
    mp_cmd_t cmd = {
        .app = app,
        .sid = sid,
        .req_id = req_id,
        .type = type,
        .frame = frame,
        .who = *who,
    };
    verb->fn(&cmd);
}
