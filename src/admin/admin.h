/* Server administration: the admin operations (accounts, invites, world
 * moderation, statistics, the audit log), reachable two ways — the admin
 * HTTP API under /v1/admin (admin tokens only) and the control socket in the
 * data directory (DATA/control.sock, mode 0600: whoever can open it is the
 * operator), which `magpie admin` speaks. Both front-ends call the same
 * operation table, so the two can never differ. */
#ifndef MP_ADMIN_ADMIN_H
#define MP_ADMIN_ADMIN_H

#include "auth/auth.h"
#include "chat/chat.h"
#include "core/module.h"
#include "net/http.h"

typedef struct mp_admin mp_admin_t;

/* Creates the module (ctx, auth and chat must outlive it; it is the module
 * state of mp_admin_routes) and opens the control socket. Returns NULL with
 * a message in err when the socket cannot be created. */
mp_admin_t *mp_admin_new(const mp_module_ctx_t *ctx, mp_auth_t *auth, mp_chat_t *chat, char *err,
                         size_t errlen);
/* Closes the control socket (removing the file) and frees the module once
 * its handles have closed: run the loop afterwards. NULL is ignored. */
void mp_admin_free(mp_admin_t *admin);

/* HTTP routes, ended by a zeroed entry (docs/protocol.md, "Administration"). */
extern const mp_route_t mp_admin_routes[];

#endif
