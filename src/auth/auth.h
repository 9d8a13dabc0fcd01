/* Accounts, devices and tokens: registration, login (argon2id off the loop),
 * JWT access tokens (HS256, algorithm pinned, exp checked by us), rotating
 * refresh tokens with theft detection, device revocation. */
#ifndef MP_AUTH_AUTH_H
#define MP_AUTH_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/module.h"
#include "net/http.h"
#include "proto/error.h"
#include "proto/principal.h"

typedef struct mp_auth mp_auth_t;

/* Loads or creates DATA/jwt.secret (mode 0600), loads recently revoked devices
 * (ctx->store may be NULL: none are loaded). ctx must outlive the module; it
 * is the module state of mp_auth_routes. Returns NULL with a message in err
 * on failure. */
mp_auth_t *mp_auth_new(const mp_module_ctx_t *ctx, char *err, size_t errlen);
void mp_auth_free(mp_auth_t *auth);

/* Validates an access token: signature (HS256 only), exp, and that the device
 * is not revoked. auth NULL refuses every token. */
mp_err_t mp_auth_authenticate(mp_auth_t *auth, const char *token, mp_principal_t *who);

/* Revokes a device in memory (its access tokens stop working at once) and
 * closes its WebSocket sessions; for devices already gone from the store
 * (e.g. deleted with their guest by the sweep). */
void mp_auth_revoke_device(mp_auth_t *auth, uint64_t device_id);

/* Issues an access token for (user, device); returns a heap string (mp_free). */
char *mp_auth_issue_token(mp_auth_t *auth, uint64_t user_id, uint64_t device_id, bool guest);

/* Password jobs (login, register) running on the thread pool or waiting for
 * it; shutdown runs the loop until there are none, so that their callbacks
 * run while the modules they use still exist. */
size_t mp_auth_pending_jobs(const mp_auth_t *auth);

/* The HTTP routes of this module, ended by a zeroed entry:
 * POST /v1/auth/register, /v1/auth/login, /v1/auth/refresh, /v1/auth/logout,
 * GET /v1/devices, DELETE /v1/devices/{id}, GET /v1/me. */
extern const mp_route_t mp_auth_routes[];

#endif
