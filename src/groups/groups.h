/* Groups: group conversations with roles, settings, moderation
 * (kick, ban, mute), announcements, dissolution and invite links, over HTTP.
 * A group IS a conversation of kind "group": sending, history, sync and
 * receipts are the chat module's; this module changes membership and
 * settings, and each change is also a system message in the conversation.
 * Its state is its handles: the rest lives in the store and in the chat
 * module's membership cache, which this module invalidates after every
 * change. */
#ifndef MP_GROUPS_GROUPS_H
#define MP_GROUPS_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chat/chat.h"
#include "core/module.h"
#include "net/http.h"

typedef struct mp_groups mp_groups_t;

/* Creates the module (ctx and chat must outlive it; it is the module state
 * of mp_groups_routes). Never returns NULL. */
mp_groups_t *mp_groups_new(const mp_module_ctx_t *ctx, mp_chat_t *chat);
/* NULL is ignored. */
void mp_groups_free(mp_groups_t *groups);

/* HTTP routes, ended by a zeroed entry (see docs/protocol.md, "Groups"):
 * /v1/groups, /v1/groups/{id}[/members|/leave|/transfer|/bans|/dissolve|
 * /announcement|/invites...], POST /v1/invites/{token}/join. */
extern const mp_route_t mp_groups_routes[];

/* A new invite token: 16 random bytes as base64url without padding (22
 * characters) into out (at least 23 bytes). */
void mp_groups_token(char out[23]);

/* True when s looks like an invite token (1-64 characters of base64url);
 * anything else is answered 404 without a store round trip. */
bool mp_groups_token_valid(const char *s);

#endif
