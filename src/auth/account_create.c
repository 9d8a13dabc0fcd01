/* mp_auth_create_user: an account created by an administrator, whatever the
 * registration mode. The same field rules and the same password pool as
 * registration; the admin flag, when asked, is set by a second write job
 * queued once the user exists, and mirrored in memory in its completion. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth_int.h"
#include "store/admin.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"

typedef struct {
    mp_auth_t *auth;
    mp_user_row_t user;
    bool admin;
    mp_auth_user_fn cb;
    void *ud;
} create_t;

static void create_finish(create_t *c, mp_err_t rc)
{
    c->cb(rc, rc == MP_OK ? c->user.id : 0, c->ud);
    sodium_memzero(&c->user, sizeof c->user);
    mp_free(c);
}

static void create_promoted(mp_err_t rc, bool changed, void *ud)
{
    (void)changed;
    create_t *c = ud;
    if (rc == MP_OK)
        mp_userflags_set(c->auth->ctx->flags, c->user.id, MP_UF_ADMIN, true);
    create_finish(c, rc);
}

static void create_stored(mp_err_t rc, void *ud)
{
    create_t *c = ud;
    if (rc == MP_OK && c->admin) {
        rc = mp_store_admin_set_admin(c->auth->ctx->store, c->user.id, true, create_promoted, c);
        if (rc == MP_OK)
            return;
    }
    create_finish(c, rc);
}

static void create_hashed(mp_err_t rc, const char *hash, void *ud)
{
    create_t *c = ud;
    if (rc == MP_OK && strlen(hash) > MP_PWHASH_MAX)
        rc = MP_ERR_INTERNAL;
    if (rc == MP_OK) {
        memcpy(c->user.password_hash, hash, strlen(hash) + 1);
        rc = mp_store_user_create(c->auth->ctx->store, &c->user, create_stored, c);
        if (rc == MP_OK)
            return;
    }
    create_finish(c, rc);
}

mp_err_t mp_auth_create_user(mp_auth_t *auth, const char *username, const char *password,
                             size_t password_len, const char *display_name, bool admin,
                             mp_auth_user_fn cb, void *ud)
{
    char name[MP_USERNAME_MAX + 1];
    mp_err_t rc;
    if (auth->ctx == NULL || auth->ctx->store == NULL)
        return MP_ERR_UNAVAILABLE;
    if (username == NULL || password == NULL)
        return MP_ERR_BAD_REQUEST;
    if ((rc = mp_auth__username_norm(username, strlen(username), name)) != MP_OK ||
        (rc = mp_auth__password_check(password_len)) != MP_OK)
        return rc;
    create_t *c = mp_calloc(1, sizeof *c);
    memcpy(c->user.username, name, sizeof name);
    if (display_name == NULL) {
        snprintf(c->user.display_name, sizeof c->user.display_name, "%s", name);
    } else if (!mp_auth__label_clean(display_name, strlen(display_name), c->user.display_name,
                                     sizeof c->user.display_name)) {
        mp_free(c);
        return MP_ERR_BAD_REQUEST;
    }
    c->auth = auth;
    c->admin = admin;
    c->cb = cb;
    c->ud = ud;
    c->user.id = mp_id_next();
    c->user.created_at = mp_now_ms();
    rc = mp_auth__pw_hash(auth->pw, password, password_len, create_hashed, c);
    if (rc != MP_OK)
        mp_free(c);
    return rc;
}
