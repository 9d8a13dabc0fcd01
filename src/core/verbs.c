/* The WebSocket verb table: frame type -> field spec -> handler. Adding a verb
 * is one line in `verbs[]` (handlers live in the module that owns them). */
#include "core/verbs.h"

#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "chat/chat.h"
#include "util/clock.h"

static void verb_ping(mp_cmd_t *cmd);

/* One line per verb: {type, fields (NULL = none), handler}. */
static const mp_verb_t verbs[] = {
    {"ping", NULL, verb_ping},
    {"send", mp_chat_send_fields, mp_chat_verb_send},
    {"history", mp_chat_history_fields, mp_chat_verb_history},
    {"sync", mp_chat_sync_fields, mp_chat_verb_sync},
    {"read", mp_chat_cursor_fields, mp_chat_verb_read},
    {"delivered", mp_chat_cursor_fields, mp_chat_verb_delivered},
    {"typing", mp_chat_typing_fields, mp_chat_verb_typing},
    {NULL, NULL, NULL},
};

/* {"type":"ping"} -> {"ok":true,"pong":true,"time":<ms since epoch>}; lets a
 * client measure round trips and check its clock. */
static void verb_ping(mp_cmd_t *cmd)
{
    json_t *fields = json_pack("{s:b,s:I}", "pong", 1, "time", (json_int_t)mp_now_ms());
    mp_gw_reply(cmd->app->srv, cmd->sid, cmd->req_id, fields);
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
