/* Account deletion: mp_auth_delete_account (the store's one write job, then
 * on the loop: devices revoked in memory, sessions closed, the in-memory
 * flags cleared, other modules told through the hook) and DELETE /v1/me,
 * which checks the password first. */
#include "auth/auth_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/deletion.h"
#include "core/userflags.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/log.h"

void mp_auth_on_deleted(mp_auth_t *auth, mp_auth_deleted_fn fn, void *ud)
{
    auth->on_deleted = fn;
    auth->on_deleted_ud = ud;
}

/* ---- the operation ------------------------------------------------------------ */

typedef struct delete_op {
    mp_auth_t *auth;
    uint64_t user;
    mp_auth_done_fn cb;
    void *ud;
} delete_op_t;

static void deleted(mp_err_t rc, const mp_account_delete_out_t *out, void *ud)
{
    delete_op_t *op = ud;
    mp_auth_t *auth = op->auth;
    if (rc == MP_OK) {
        for (size_t i = 0; i < out->base.n_devices; i++)
            mp_auth__revoke(auth, out->base.devices[i]);
        if (auth->ctx && auth->ctx->flags)
            mp_userflags_set(auth->ctx->flags, op->user, MP_UF_ADMIN | MP_UF_NO_RECEIPTS, false);
        if (auth->on_deleted)
            auth->on_deleted(auth->on_deleted_ud, out);
        mp_log_info("account %llu deleted (%zu device(s) revoked, %zu group message(s))",
                    (unsigned long long)op->user, out->base.n_devices, out->base.n_msgs);
    }
    op->cb(rc, op->ud);
    mp_free(op);
}

mp_err_t mp_auth_delete_account(mp_auth_t *auth, uint64_t user_id, mp_auth_done_fn cb, void *ud)
{
    if (auth->ctx == NULL || auth->ctx->store == NULL)
        return MP_ERR_INTERNAL;
    delete_op_t *op = mp_calloc(1, sizeof *op);
    op->auth = auth;
    op->user = user_id;
    op->cb = cb;
    op->ud = ud;
    mp_err_t rc = mp_store_account_delete(auth->ctx->store, user_id, mp_now_ms(), deleted, op);
    if (rc != MP_OK)
        mp_free(op);
    return rc;
}

/* ---- DELETE /v1/me {"password"} ----------------------------------------------- */

typedef struct delete_req {
    mp_http_req_t *req;
    mp_auth_t *auth;
    uint64_t user;
    char *password;
    size_t password_len;
} delete_req_t;

static void delete_req_free(delete_req_t *d)
{
    if (d->password) {
        sodium_memzero(d->password, d->password_len);
        mp_free(d->password);
    }
    mp_free(d);
}

static void delete_finish(delete_req_t *d, mp_err_t rc)
{
    if (rc == MP_OK)
        mp_http_respond(d->req, 204, NULL);
    else if (rc == MP_ERR_NOT_FOUND) /* deleted meanwhile: the token names nobody */
        mp_http_respond_error(d->req, MP_ERR_UNAUTHORIZED, NULL);
    else
        mp_http_respond_error(d->req, rc, NULL);
    delete_req_free(d);
}

static void delete_done(mp_err_t rc, void *ud)
{
    delete_finish(ud, rc);
}

static void delete_verified(mp_err_t rc, bool match, void *ud)
{
    delete_req_t *d = ud;
    if (rc == MP_OK && !match)
        rc = MP_ERR_BAD_CREDENTIALS;
    if (rc == MP_OK)
        rc = mp_auth_delete_account(d->auth, d->user, delete_done, d);
    if (rc != MP_OK)
        delete_finish(d, rc);
}

static void delete_user(mp_err_t rc, const mp_user_row_t *user, void *ud)
{
    delete_req_t *d = ud;
    if (rc == MP_ERR_NOT_FOUND) {
        delete_finish(d, rc);
        return;
    }
    if (rc == MP_OK)
        rc = mp_auth__pw_verify(d->auth->pw, user->password_hash[0] ? user->password_hash : NULL,
                                d->password, d->password_len, delete_verified, d);
    if (rc != MP_OK)
        delete_finish(d, rc);
}

void mp_auth__h_delete_me(mp_http_req_t *req)
{
    mp_auth_t *auth = mp_auth__of(req);
    const mp_principal_t *who = mp_http_req_principal(req);
    json_t *pw = json_object_get(mp_http_req_json(req), "password");
    if (!json_is_string(pw)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "field 'password' must be a string");
        return;
    }
    /* Counted like a login, against the account and the address: the
     * password must not be guessable through this route either. */
    char key[32];
    snprintf(key, sizeof key, "#%llu", (unsigned long long)who->user_id);
    unsigned wait_s = mp_auth__login_limit(auth, key, mp_http_req_peer_key(req));
    if (wait_s > 0) {
        mp_http_respond_retry(req, MP_ERR_RATE_LIMITED, NULL, wait_s);
        return;
    }
    size_t len = json_string_length(pw);
    if (len > MP_AUTH_PASSWORD_MAX) {
        mp_http_respond_error(req, MP_ERR_BAD_CREDENTIALS, NULL);
        return;
    }
    delete_req_t *d = mp_calloc(1, sizeof *d);
    d->req = req;
    d->auth = auth;
    d->user = who->user_id;
    d->password = mp_malloc(len + 1);
    memcpy(d->password, json_string_value(pw), len);
    d->password[len] = '\0';
    d->password_len = len;
    mp_err_t rc = mp_store_user_by_id(auth->ctx->store, d->user, delete_user, d);
    if (rc != MP_OK)
        delete_finish(d, rc);
}
