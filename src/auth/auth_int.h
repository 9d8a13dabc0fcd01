/* Internals shared by the files of the auth module: the mp_auth state, the
 * password work pool, account-field rules and the route handlers. */
#ifndef MP_AUTH_AUTH_INT_H
#define MP_AUTH_AUTH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "auth/auth.h"
#include "auth/token.h"
#include "mail/mail.h"
#include "proto/validate.h"
#include "net/http.h"
#include "store/account.h"
#include "store/deletion.h"
#include "store/store.h"
#include "util/map.h"
#include "util/ratelimit.h"

/* ---- password hashing off the loop (password.c) ------------------------- */

typedef struct mp_auth_pwpool mp_auth_pwpool_t;

/* hash is valid only during the call. rc: MP_OK, MP_ERR_INTERNAL. */
typedef void (*mp_auth_pw_hash_fn)(mp_err_t rc, const char *hash, void *ud);
/* match is true only when the password matched a real hash. rc: MP_OK or
 * MP_ERR_INTERNAL (job cancelled at shutdown). */
typedef void (*mp_auth_pw_verify_fn)(mp_err_t rc, bool match, void *ud);

/* Runs argon2id jobs on the libuv thread pool of loop, at most `parallel` at a
 * time (each takes 64 MiB and a core). Waiting jobs sit in two FIFOs of at
 * most queue_max jobs each: verifications (logins) and hashes (registrations).
 * A free slot goes to a waiting verification first, and hashes run in at most
 * parallel - 1 slots (when parallel > 1), so that logins never queue behind
 * registrations. */
mp_auth_pwpool_t *mp_auth__pwpool_new(uv_loop_t *loop, unsigned parallel, size_t queue_max);
/* Jobs still queued are dropped without their callback; jobs running on the
 * thread pool finish without their callback and the pool is released after
 * the last one (so run the loop after this until it is empty). Normally
 * called at shutdown once the loop has drained, when nothing is pending. */
void mp_auth__pwpool_free(mp_auth_pwpool_t *p);
/* Hashes pw[0..len) with crypto_pwhash_str (interactive limits), as a bulk
 * job. The password is copied (and wiped after use). Returns MP_OK when queued
 * (cb runs later on the loop), MP_ERR_UNAVAILABLE when the hash queue is full
 * (cb is not called). */
mp_err_t mp_auth__pw_hash(mp_auth_pwpool_t *p, const char *pw, size_t len, mp_auth_pw_hash_fn cb,
                          void *ud) __attribute__((warn_unused_result));
/* Verifies pw against hash, as an interactive job (ahead of every waiting
 * hash); returns like mp_auth__pw_hash, about the verification queue. hash
 * NULL (unknown user, guest) verifies against a fixed dummy hash instead,
 * doing the same work, and never matches. */
mp_err_t mp_auth__pw_verify(mp_auth_pwpool_t *p, const char *hash, const char *pw, size_t len,
                            mp_auth_pw_verify_fn cb, void *ud) __attribute__((warn_unused_result));

/* ---- account field rules (rules.c) --------------------------------------- */

#define MP_AUTH_USERNAME_MIN 3
#define MP_AUTH_PASSWORD_MIN 8
#define MP_AUTH_PASSWORD_MAX 1024
#define MP_AUTH_LABEL_MAX_CHARS 64 /* display and device names */
/* The 400 message for a refused display or device name: printf format with
 * the field name and MP_AUTH_LABEL_MAX_CHARS. */
#define MP_AUTH_LABEL_RULE                                                                         \
    "field '%s' must be 1 to %d characters without control characters, bidirectional "             \
    "controls or invisible characters"

/* Checks a username (len bytes, 3-32 of [A-Za-z0-9_.]) and writes its
 * lower-case form to out. Returns MP_OK or MP_ERR_BAD_USERNAME. */
mp_err_t mp_auth__username_norm(const char *in, size_t len, char out[MP_USERNAME_MAX + 1]);
/* Returns MP_OK or MP_ERR_WEAK_PASSWORD (8-1024 bytes). */
mp_err_t mp_auth__password_check(size_t len);
/* Trims white space at both ends of valid UTF-8 in[0..len) and checks that
 * 1-64 characters remain with none that mp_text_check refuses in a name
 * (controls, bidi controls, invisible characters). Writes the trimmed text to
 * out (outlen >= len + 1 suffices). Returns false if invalid. */
bool mp_auth__label_clean(const char *in, size_t len, char *out, size_t outlen);

/* ---- module state (auth.c) ----------------------------------------------- */

struct mp_auth {
    const mp_module_ctx_t *ctx; /* NULL in unit tests that need no loop or store */
    uint8_t secret[MP_AUTH_SECRET_LEN];
    unsigned ttl_s;
    /* Devices revoked within the access-token lifetime: device id -> when we
     * learnt of it (wall-clock ms, stored in the value), pruned of entries
     * older than the lifetime whenever it has doubled since the last prune. */
    mp_map_t revoked;
    size_t revoked_prune_at;
    mp_ratelimit_t *login_by_user, *login_by_ip; /* NULL when login_rate is 0 */
    mp_ratelimit_t *guest_by_ip;                 /* guest creations (cfg guest_rate) */
    mp_ratelimit_t *register_by_ip;              /* registrations (cfg register_rate) */
    /* One token per device per minute: when to record last_seen_at. */
    mp_ratelimit_t *touch;
    mp_auth_pwpool_t *pw;
    /* Account deletion (delete.c): what other modules are told. */
    void (*on_deleted)(void *ud, const mp_account_delete_out_t *out);
    void *on_deleted_ud;
    /* Data exports running (export.c): user id -> its export, one at a time. */
    mp_map_t exports;
};

/* Builds the state around a known secret without touching disk or store
 * (mp_auth_new = secret file + this + revoked devices from the store). */
mp_auth_t *mp_auth__create(const mp_module_ctx_t *ctx, const uint8_t secret[MP_AUTH_SECRET_LEN]);
/* Marks a device revoked (its access tokens stop working at once) and closes
 * its WebSocket sessions through the hub, if there is one. */
void mp_auth__revoke(mp_auth_t *auth, uint64_t device_id);
bool mp_auth__is_revoked(const mp_auth_t *auth, uint64_t device_id);
/* True when an administrator disabled the user's account (the in-memory
 * flag; false without a module context). */
bool mp_auth__disabled(const mp_auth_t *auth, uint64_t user_id);
/* Checks both login limiters, counting the attempt in each. Returns 0 when
 * allowed, else the seconds to wait (>= 1). */
unsigned mp_auth__login_limit(mp_auth_t *auth, const char *username_lc, uint64_t peer_key);
/* Counts a registration from peer_key (mp_http_req_peer_key). Returns 0 when
 * allowed, else the seconds to wait (>= 1). */
unsigned mp_auth__register_limit(mp_auth_t *auth, uint64_t peer_key);
/* The mp_auth_t of the request's route. */
mp_auth_t *mp_auth__of(mp_http_req_t *req);
/* Responds 201/200 helper: JSON for the login/refresh answer (owned). */
json_t *mp_auth__pair_json(mp_auth_t *auth, uint64_t user_id, uint64_t device_id, bool guest,
                           const char *refresh_token);

/* ---- e-mail codes and passwords (email.c, password_set.c) ------------------- */

#define MP_AUTH_CODE_LEN 6      /* digits of a mailed code */
#define MP_AUTH_CODE_ATTEMPTS 5 /* wrong tries that kill a code */

/* A fresh random code of MP_AUTH_CODE_LEN digits. */
void mp_auth__code_new(char code[MP_AUTH_CODE_LEN + 1]);
/* What the store keeps of a code: BLAKE2b keyed with the server secret, so
 * that a copy of the database does not give the codes away by brute force
 * of their million values. */
void mp_auth__code_hash(const mp_auth_t *auth, const char *code, size_t len,
                        uint8_t out[MP_STORE_CODE_HASH_LEN]);
/* Mails code to `to` for purpose. Returns like mp_mail_send. */
mp_err_t mp_auth__mail_code(mp_auth_t *auth, const char *to, mp_code_purpose_t purpose,
                            const char *code, mp_mail_done_fn cb, void *ud)
    __attribute__((warn_unused_result));
/* mp_auth_set_password, with keep_device MP_STORE_KEEP_ALL_DEVICES allowed
 * (no device revoked). */
mp_err_t mp_auth__set_password(mp_auth_t *auth, uint64_t user_id, const char *password,
                               size_t password_len, uint64_t keep_device, mp_auth_done_fn cb,
                               void *ud) __attribute__((warn_unused_result));
/* Revokes devs in memory (their tokens stop working, sessions close). */
void mp_auth__revoke_list(mp_auth_t *auth, const uint64_t *devs, size_t n);
/* Validates the request body against fields (answers 400 and returns false
 * if it does not fit) and reads a string member (NULL if absent). */
bool mp_auth__body_ok(mp_http_req_t *req, const mp_field_t *fields);
const char *mp_auth__str(mp_http_req_t *req, const char *name, size_t *len);

/* ---- route handlers ------------------------------------------------------ */

void mp_auth__h_register(mp_http_req_t *req);
void mp_auth__h_login(mp_http_req_t *req);
void mp_auth__h_refresh(mp_http_req_t *req);
void mp_auth__h_logout(mp_http_req_t *req);
void mp_auth__h_me(mp_http_req_t *req);
void mp_auth__h_devices(mp_http_req_t *req);
void mp_auth__h_device_delete(mp_http_req_t *req);
/* POST /v1/auth/verify-email, /v1/auth/resend-code, /v1/auth/password-reset,
 * /v1/auth/password-reset/confirm (email.c). */
void mp_auth__h_verify_email(mp_http_req_t *req);
void mp_auth__h_resend_code(mp_http_req_t *req);
void mp_auth__h_password_reset(mp_http_req_t *req);
void mp_auth__h_password_reset_confirm(mp_http_req_t *req);
/* POST /v1/me/password (password_set.c). */
void mp_auth__h_password_change(mp_http_req_t *req);
/* DELETE /v1/me (delete.c). */
void mp_auth__h_delete_me(mp_http_req_t *req);
/* GET /v1/me/export (export.c). */
void mp_auth__h_export(mp_http_req_t *req);
/* Ends every export still running (module teardown). */
void mp_auth__exports_free(mp_auth_t *auth);
/* POST /v1/auth/guest (guest.c). */
void mp_auth__h_guest(mp_http_req_t *req);

#endif
