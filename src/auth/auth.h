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

/* Remembers a device another node of the cluster revoked (its sessions here
 * are closed already, core/hub.h), so that its access tokens are refused
 * here too and not only when they expire. */
void mp_auth_revoked_elsewhere(mp_auth_t *auth, uint64_t device_id);

/* Issues an access token for (user, device); returns a heap string (mp_free). */
char *mp_auth_issue_token(mp_auth_t *auth, uint64_t user_id, uint64_t device_id, bool guest);

/* ---- account operations shared with the admin module ------------------- */

typedef void (*mp_auth_done_fn)(mp_err_t rc, void *ud);
/* rc MP_OK with the new user's id, or the error (MP_ERR_USERNAME_TAKEN,
 * MP_ERR_BAD_USERNAME, MP_ERR_WEAK_PASSWORD, MP_ERR_BAD_REQUEST for a bad
 * display name, MP_ERR_UNAVAILABLE, MP_ERR_INTERNAL). */
typedef void (*mp_auth_user_fn)(mp_err_t rc, uint64_t user_id, void *ud);

/* Creates an account whatever the registration mode (an admin's act):
 * checks the fields like registration, hashes the password off the loop,
 * stores the user (admin flag as given, the in-memory flag set too). Returns
 * MP_OK when queued (cb runs later), else the error (cb not called). */
mp_err_t mp_auth_create_user(mp_auth_t *auth, const char *username, const char *password,
                             size_t password_len, const char *display_name, bool admin,
                             mp_auth_user_fn cb, void *ud) __attribute__((warn_unused_result));
/* Sets a user's password (checked like registration, hashed off the loop)
 * and revokes every device of the user but keep_device (0 = revoke them
 * all), in the store and in memory (their sessions close). MP_ERR_NOT_FOUND
 * for an unknown or deleted user. Returns like mp_auth_create_user. */
mp_err_t mp_auth_set_password(mp_auth_t *auth, uint64_t user_id, const char *password,
                              size_t password_len, uint64_t keep_device, mp_auth_done_fn cb,
                              void *ud) __attribute__((warn_unused_result));
/* Deletes an account (docs/protocol.md "Deleting an account"): devices
 * revoked and sessions closed, profile, e-mail, contacts and blocks erased,
 * groups left; messages stay. MP_ERR_NOT_FOUND for an unknown or already
 * deleted user. Returns like mp_auth_create_user. */
mp_err_t mp_auth_delete_account(mp_auth_t *auth, uint64_t user_id, mp_auth_done_fn cb, void *ud)
    __attribute__((warn_unused_result));
/* Closes every WebSocket session of user_id within this loop turn (close
 * 1008 "account disabled"). Its tokens are refused while the in-memory flag
 * MP_UF_DISABLED is set (so they work again once it is cleared: devices are
 * not revoked); the store's rows are the caller's business. */
void mp_auth_close_user(mp_auth_t *auth, uint64_t user_id);

/* Password jobs (login, register) running on the thread pool or waiting for
 * it; shutdown runs the loop until there are none, so that their callbacks
 * run while the modules they use still exist. */
size_t mp_auth_pending_jobs(const mp_auth_t *auth);

/* The HTTP routes of this module, ended by a zeroed entry:
 * POST /v1/auth/register, /v1/auth/login, /v1/auth/refresh, /v1/auth/logout,
 * GET /v1/devices, DELETE /v1/devices/{id}, GET /v1/me. */
extern const mp_route_t mp_auth_routes[];

#endif
