/* Setting a password: the account operation mp_auth_set_password (used by
 * the admin module and by POST /v1/me/password) and that route. The new
 * password is hashed on the password pool, stored with the revocation of
 * the devices in one write, and the revoked devices are then closed in
 * memory. */
#include "auth/auth_int.h"

#include <sodium.h>
#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/clock.h"
#include "util/log.h"

void mp_auth__revoke_list(mp_auth_t *auth, const uint64_t *devs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mp_auth__revoke(auth, devs[i]);
}

typedef struct set_pw {
    mp_auth_t *auth;
    uint64_t user_id, keep;
    mp_auth_done_fn cb;
    void *ud;
} set_pw_t;

static void set_pw_stored(mp_err_t rc, uint64_t user_id, const uint64_t *devs, size_t n, void *ud)
{
    set_pw_t *p = ud;
    (void)user_id;
    if (rc == MP_OK)
        mp_auth__revoke_list(p->auth, devs, n);
    mp_auth_done_fn cb = p->cb;
    void *cb_ud = p->ud;
    mp_free(p);
    cb(rc, cb_ud);
}

static void set_pw_hashed(mp_err_t rc, const char *hash, void *ud)
{
    set_pw_t *p = ud;
    if (rc == MP_OK)
        rc = mp_store_user_set_password(p->auth->ctx->store, p->user_id, hash, p->keep, mp_now_ms(),
                                        set_pw_stored, p);
    if (rc != MP_OK)
        set_pw_stored(rc, p->user_id, NULL, 0, p);
}

mp_err_t mp_auth__set_password(mp_auth_t *auth, uint64_t user_id, const char *password,
                               size_t password_len, uint64_t keep_device, mp_auth_done_fn cb,
                               void *ud)
{
    mp_err_t rc = mp_auth__password_check(password_len);
    if (rc != MP_OK)
        return rc;
    if (user_id == 0)
        return MP_ERR_NOT_FOUND;
    set_pw_t *p = mp_calloc(1, sizeof *p);
    p->auth = auth;
    p->user_id = user_id;
    p->keep = keep_device;
    p->cb = cb;
    p->ud = ud;
    rc = mp_auth__pw_hash(auth->pw, password, password_len, set_pw_hashed, p);
    if (rc != MP_OK)
        mp_free(p);
    return rc;
}

mp_err_t mp_auth_set_password(mp_auth_t *auth, uint64_t user_id, const char *password,
                              size_t password_len, uint64_t keep_device, mp_auth_done_fn cb,
                              void *ud)
{
    MP_ASSERT(keep_device != MP_STORE_KEEP_ALL_DEVICES);
    return mp_auth__set_password(auth, user_id, password, password_len, keep_device, cb, ud);
}

/* ---- POST /v1/me/password ----------------------------------------------------------- */

typedef struct pw_change {
    mp_http_req_t *req;
    mp_auth_t *auth;
    char *current, *next;
    size_t current_len, next_len;
    uint64_t keep;
} pw_change_t;

static void pw_change_free(pw_change_t *c)
{
    sodium_memzero(c->current, c->current_len);
    sodium_memzero(c->next, c->next_len);
    mp_free(c->current);
    mp_free(c->next);
    mp_free(c);
}

static void pw_change_finish(pw_change_t *c, mp_err_t rc)
{
    if (rc == MP_OK)
        mp_http_respond(c->req, 204, NULL);
    else
        mp_http_respond_error(c->req, rc, NULL);
    pw_change_free(c);
}

static void pw_change_set(mp_err_t rc, void *ud)
{
    pw_change_finish(ud, rc);
}

static void pw_change_verified(mp_err_t rc, bool match, void *ud)
{
    pw_change_t *c = ud;
    if (rc == MP_OK && !match)
        rc = MP_ERR_BAD_CREDENTIALS;
    if (rc == MP_OK)
        rc = mp_auth__set_password(c->auth, mp_http_req_principal(c->req)->user_id, c->next,
                                   c->next_len, c->keep, pw_change_set, c);
    if (rc != MP_OK)
        pw_change_finish(c, rc);
}

static void pw_change_user(mp_err_t rc, const mp_user_row_t *user, void *ud)
{
    pw_change_t *c = ud;
    if (rc != MP_OK || user == NULL) {
        pw_change_finish(c, (rc == MP_OK || rc == MP_ERR_NOT_FOUND) ? MP_ERR_UNAUTHORIZED : rc);
        return;
    }
    /* The same limiter as login: a stolen access token must not become a
     * password oracle. */
    unsigned wait_s = mp_auth__login_limit(c->auth, user->username, mp_http_req_peer_key(c->req));
    if (wait_s > 0) {
        mp_http_respond_retry(c->req, MP_ERR_RATE_LIMITED, NULL, wait_s);
        pw_change_free(c);
        return;
    }
    rc = c->current_len > MP_AUTH_PASSWORD_MAX
             ? MP_ERR_BAD_CREDENTIALS
             : mp_auth__pw_verify(c->auth->pw, user->password_hash, c->current, c->current_len,
                                  pw_change_verified, c);
    if (rc != MP_OK)
        pw_change_finish(c, rc);
}

static char *dup_len(const char *s, size_t len)
{
    char *d = mp_malloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

void mp_auth__h_password_change(mp_http_req_t *req)
{
    static const mp_field_t fields[] = {
        {"current_password", MP_F_STRING, true, 0, 0},
        {"new_password", MP_F_STRING, true, 0, 0},
        {"keep_other_devices", MP_F_BOOL, false, 0, 0},
        {0},
    };
    mp_auth_t *auth = mp_auth__of(req);
    size_t clen = 0, nlen = 0;

    if (!mp_auth__body_ok(req, fields))
        return;
    const char *cur = mp_auth__str(req, "current_password", &clen);
    const char *next = mp_auth__str(req, "new_password", &nlen);
    mp_err_t rc = mp_auth__password_check(nlen);
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, "field 'new_password' must be 8 to 1024 bytes");
        return;
    }
    json_t *keep = json_object_get(mp_http_req_json(req), "keep_other_devices");
    pw_change_t *c = mp_calloc(1, sizeof *c);
    c->req = req;
    c->auth = auth;
    c->current = dup_len(cur, clen);
    c->current_len = clen;
    c->next = dup_len(next, nlen);
    c->next_len = nlen;
    /* The device that asked stays signed in; the others go unless kept. */
    c->keep =
        json_is_true(keep) ? MP_STORE_KEEP_ALL_DEVICES : mp_http_req_principal(req)->device_id;
    rc = mp_store_user_by_id(auth->ctx->store, mp_http_req_principal(req)->user_id, pw_change_user,
                             c);
    if (rc != MP_OK)
        pw_change_finish(c, rc);
}
