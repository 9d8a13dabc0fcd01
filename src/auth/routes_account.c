/* HTTP routes for accounts and sessions: register, login, refresh, logout,
 * me. Each handler starts a password job or store op and answers from its
 * callback; a request context lives exactly until that answer. */
#include "auth/auth_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "proto/validate.h"
#include "store/invites.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"

#define MP_AUTH_DEFAULT_DEVICE_NAME "unnamed device"
/* Key length the login limiter sees: longer names cannot exist anyway. */
#define MP_AUTH_LIMIT_KEY_MAX 64

static const mp_config_t *mp_auth__cfg(mp_http_req_t *req)
{
    return mp_auth__of(req)->ctx->cfg;
}

static mp_store_t *mp_auth__store(mp_http_req_t *req)
{
    return mp_auth__of(req)->ctx->store;
}

/* Validates the body against fields; on failure answers 400 and returns false. */
bool mp_auth__body_ok(mp_http_req_t *req, const mp_field_t *fields)
{
    char msg[200];
    json_t *body = mp_http_req_json(req);

    if (!json_is_object(body)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "the body must be a JSON object");
        return false;
    }
    msg[0] = '\0';
    if (mp_validate(body, fields, msg, sizeof(msg)) != MP_OK) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, msg[0] ? msg : NULL);
        return false;
    }
    return true;
}

/* A string member of the (validated) body, with its byte length; NULL if absent. */
const char *mp_auth__str(mp_http_req_t *req, const char *name, size_t *len)
{
    json_t *v = json_object_get(mp_http_req_json(req), name);
    if (!json_is_string(v))
        return NULL;
    *len = json_string_length(v);
    return json_string_value(v);
}

/* Cleans an optional display/device name into out; answers 400 naming the
 * field and returns false when present but invalid. */
static bool mp_auth__label(mp_http_req_t *req, const char *field, const char *dflt, char *out,
                           size_t outlen)
{
    size_t len = 0;
    const char *s = mp_auth__str(req, field, &len);
    char msg[160];

    if (!s) {
        snprintf(out, outlen, "%s", dflt);
        return true;
    }
    if (mp_auth__label_clean(s, len, out, outlen))
        return true;
    snprintf(msg, sizeof(msg), MP_AUTH_LABEL_RULE, field, MP_AUTH_LABEL_MAX_CHARS);
    mp_http_respond_error(req, MP_ERR_BAD_REQUEST, msg);
    return false;
}

/* ---- POST /v1/auth/register ------------------------------------------------ */

/* With registration = email the code is mailed BEFORE anything is stored:
 * an address that cannot be reached creates nothing (503), and the insert
 * that follows still checks name and address in its own transaction. */
typedef struct mp_auth_reg {
    mp_http_req_t *req;
    mp_user_row_t user;
    char invite[MP_INVITE_CODE_MAX + 1]; /* registration = invite: the code ("" otherwise) */
    char email[MP_EMAIL_MAX + 1];        /* "" = none given */
    bool verify; /* registration = email: pending until the code comes back */
    char code[MP_AUTH_CODE_LEN + 1];
    uint8_t code_hash[MP_STORE_CODE_HASH_LEN];
} mp_auth_reg_t;

static void mp_auth__reg_free(mp_auth_reg_t *ctx)
{
    sodium_memzero(ctx, sizeof(*ctx));
    mp_free(ctx);
}

static void mp_auth__reg_created(mp_err_t rc, void *ud)
{
    mp_auth_reg_t *ctx = ud;
    char uid[MP_ID_STRLEN];

    if (rc != MP_OK) {
        mp_http_respond_error(ctx->req, rc, NULL);
    } else {
        json_t *out =
            json_pack("{s:s, s:s, s:s}", "user_id", mp_id_format(ctx->user.id, uid), "username",
                      ctx->user.username, "display_name", ctx->user.display_name);
        if (ctx->verify)
            json_object_set_new(out, "verification", json_string("email_sent"));
        mp_http_respond(ctx->req, 201, out);
    }
    mp_auth__reg_free(ctx);
}

static void mp_auth__reg_store(mp_auth_reg_t *ctx)
{
    const mp_config_t *cfg = mp_auth__cfg(ctx->req);
    int64_t expires = ctx->user.created_at + (int64_t)cfg->email_code_ttl_s * 1000;
    mp_err_t rc =
        mp_store_account_create(mp_auth__store(ctx->req), &ctx->user, ctx->email, ctx->verify,
                                ctx->verify ? ctx->code_hash : NULL, expires,
                                ctx->invite[0] ? ctx->invite : NULL, mp_auth__reg_created, ctx);
    if (rc != MP_OK)
        mp_auth__reg_created(rc, ctx);
}

static void mp_auth__reg_mailed(mp_err_t rc, void *ud)
{
    mp_auth_reg_t *ctx = ud;

    if (rc != MP_OK) {
        mp_http_respond_error(ctx->req, MP_ERR_UNAVAILABLE,
                              "cannot send e-mail now; nothing was created");
        mp_auth__reg_free(ctx);
        return;
    }
    mp_auth__reg_store(ctx);
}

/* registration = invite: the body's invite_code, checked here only for
 * presence and size (no hash is spent on a request that cannot succeed);
 * whether the code is usable is decided in the write that stores the user,
 * which counts the use (mp_store_account_create). Other modes ignore
 * the field. Answers and returns false when refused. */
static bool mp_auth__reg_invite(mp_http_req_t *req, mp_auth_reg_t *ctx)
{
    size_t len = 0;

    if (mp_auth__cfg(req)->registration != MP_REG_INVITE)
        return true;
    const char *code = mp_auth__str(req, "invite_code", &len);
    if (code == NULL || len == 0) {
        mp_http_respond_error(req, MP_ERR_INVITE_REQUIRED,
                              "registration on this server needs an invite code: field "
                              "'invite_code' is required");
        return false;
    }
    if (len > MP_INVITE_CODE_MAX || strlen(code) != len) { /* no code is that long */
        mp_http_respond_error(req, MP_ERR_INVALID_INVITE, NULL);
        return false;
    }
    memcpy(ctx->invite, code, len + 1);
    return true;
}

static void mp_auth__reg_hashed(mp_err_t rc, const char *hash, void *ud)
{
    mp_auth_reg_t *ctx = ud;

    if (rc == MP_OK && strlen(hash) > MP_PWHASH_MAX)
        rc = MP_ERR_INTERNAL;
    if (rc != MP_OK) {
        mp_auth__reg_created(rc, ctx);
        return;
    }
    memcpy(ctx->user.password_hash, hash, strlen(hash) + 1);
    if (!ctx->verify) {
        mp_auth__reg_store(ctx);
        return;
    }
    mp_auth__code_new(ctx->code);
    mp_auth__code_hash(mp_auth__of(ctx->req), ctx->code, MP_AUTH_CODE_LEN, ctx->code_hash);
    rc = mp_auth__mail_code(mp_auth__of(ctx->req), ctx->email, MP_CODE_VERIFY, ctx->code,
                            mp_auth__reg_mailed, ctx);
    if (rc != MP_OK)
        mp_auth__reg_mailed(rc, ctx);
}

/* Name and address are free (as far as a read can tell): hash the password. */
static void mp_auth__reg_free_checked(mp_err_t rc, void *ud)
{
    mp_auth_reg_t *ctx = ud;
    mp_http_req_t *req = ctx->req;

    if (rc == MP_OK) {
        size_t plen = 0;
        const char *password = mp_auth__str(req, "password", &plen);
        rc = mp_auth__pw_hash(mp_auth__of(req)->pw, password, plen, mp_auth__reg_hashed, ctx);
        if (rc == MP_OK)
            return;
    }
    mp_auth__reg_created(rc, ctx);
}

/* The optional (required when registration = email) "email" member into
 * ctx->email; answers 400 and returns false when it does not fit. */
static bool mp_auth__reg_email(mp_http_req_t *req, mp_auth_reg_t *ctx)
{
    size_t len = 0;
    const char *email = mp_auth__str(req, "email", &len);

    if (email == NULL) {
        if (!ctx->verify)
            return true;
        mp_http_respond_error(req, MP_ERR_BAD_EMAIL,
                              "field 'email' is required: this server verifies e-mail addresses");
        return false;
    }
    if (strlen(email) != len || mp_mail_addr_norm(email, len, ctx->email) != MP_OK) {
        mp_http_respond_error(req, MP_ERR_BAD_EMAIL, "field 'email' must be an e-mail address");
        return false;
    }
    if (ctx->verify && !mp_mail_enabled(mp_auth__of(req)->ctx->mail)) {
        mp_http_respond_error(req, MP_ERR_UNAVAILABLE, "this server sends no e-mail (no smtp_url)");
        return false;
    }
    return true;
}

void mp_auth__h_register(mp_http_req_t *req)
{
    static const mp_field_t fields[] = {
        {"username", MP_F_STRING, true, 0, 0},      {"password", MP_F_STRING, true, 0, 0},
        {"display_name", MP_F_STRING, false, 0, 0}, {"invite_code", MP_F_STRING, false, 0, 0},
        {"email", MP_F_STRING, false, 0, 0},        {0},
    };
    size_t ulen = 0, plen = 0;
    mp_err_t rc;

    if (mp_auth__cfg(req)->registration == MP_REG_CLOSED) {
        mp_http_respond_error(req, MP_ERR_REGISTRATION_CLOSED, NULL);
        return;
    }
    if (!mp_auth__body_ok(req, fields))
        return;
    const char *username = mp_auth__str(req, "username", &ulen);
    (void)mp_auth__str(req, "password", &plen);

    mp_auth_reg_t *ctx = mp_calloc(1, sizeof(*ctx));
    ctx->req = req;
    ctx->verify = mp_auth__cfg(req)->registration == MP_REG_EMAIL;
    if ((rc = mp_auth__username_norm(username, ulen, ctx->user.username)) != MP_OK ||
        (rc = mp_auth__password_check(plen)) != MP_OK) {
        mp_http_respond_error(req, rc, NULL);
        mp_free(ctx);
        return;
    }
    if (!mp_auth__label(req, "display_name", ctx->user.username, ctx->user.display_name,
                        sizeof(ctx->user.display_name)) ||
        !mp_auth__reg_invite(req, ctx) || !mp_auth__reg_email(req, ctx)) {
        mp_free(ctx);
        return;
    }
    /* Charged only for requests that would cost a hash (or a mail): a flood
     * from one address must not fill the hashing capacity (logins have their
     * own share of it, see password.c). */
    unsigned wait_s = mp_auth__register_limit(mp_auth__of(req), mp_http_req_peer_key(req));
    if (wait_s > 0) {
        mp_http_respond_retry(req, MP_ERR_RATE_LIMITED, "too many registrations from this address",
                              wait_s);
        mp_free(ctx);
        return;
    }
    ctx->user.id = mp_id_next();
    ctx->user.created_at = mp_now_ms();
    rc = mp_store_account_free(mp_auth__store(req), ctx->user.username, ctx->email,
                               mp_auth__reg_free_checked, ctx);
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, NULL);
        mp_free(ctx);
    }
}

/* ---- POST /v1/auth/login ------------------------------------------------------ */

typedef struct mp_auth_login {
    mp_http_req_t *req;
    mp_auth_t *auth;
    char *password;
    size_t password_len;
    uint64_t user_id;
    bool guest;
    bool pending; /* the account waits for its e-mail verification */
    mp_device_row_t dev;
    char refresh[MP_AUTH_REFRESH_LEN + 1];
    uint8_t refresh_hash[MP_TOKEN_HASH_LEN];
} mp_auth_login_t;

/* Answers (error rc, or the token pair when rc is MP_OK) and frees ctx. */
static void mp_auth__login_finish(mp_auth_login_t *ctx, mp_err_t rc)
{
    json_t *out = NULL;

    if (rc == MP_OK) {
        out = mp_auth__pair_json(ctx->auth, ctx->user_id, ctx->dev.id, ctx->guest, ctx->refresh);
        if (!out)
            rc = MP_ERR_INTERNAL;
    }
    if (rc == MP_OK)
        mp_http_respond(ctx->req, 200, out);
    else
        mp_http_respond_error(ctx->req, rc, NULL);
    if (ctx->password) {
        sodium_memzero(ctx->password, ctx->password_len);
        mp_free(ctx->password);
    }
    sodium_memzero(ctx->refresh, sizeof(ctx->refresh));
    mp_free(ctx);
}

static void mp_auth__login_device_created(mp_err_t rc, void *ud)
{
    mp_auth__login_finish(ud, rc);
}

static void mp_auth__login_verified(mp_err_t rc, bool match, void *ud)
{
    mp_auth_login_t *ctx = ud;

    if (rc != MP_OK || !match) {
        mp_auth__login_finish(ctx, rc != MP_OK ? rc : MP_ERR_BAD_CREDENTIALS);
        return;
    }
    /* Only now: a disabled account is not revealed to a wrong password. */
    if (mp_auth__disabled(ctx->auth, ctx->user_id)) {
        mp_auth__login_finish(ctx, MP_ERR_ACCOUNT_DISABLED);
        return;
    }
    /* Told only to whoever knows the password: it reveals nothing else. */
    if (ctx->pending) {
        mp_auth__login_finish(ctx, MP_ERR_EMAIL_UNVERIFIED);
        return;
    }
    int64_t now = mp_now_ms();
    ctx->dev.id = mp_id_next();
    ctx->dev.user_id = ctx->user_id;
    ctx->dev.created_at = now;
    ctx->dev.last_seen_at = now;
    mp_auth__refresh_new(ctx->refresh, ctx->refresh_hash);
    rc = mp_store_device_create(mp_auth__store(ctx->req), &ctx->dev, ctx->refresh_hash,
                                mp_auth__login_device_created, ctx);
    if (rc != MP_OK)
        mp_auth__login_finish(ctx, rc);
}

/* hash NULL = no such user (or a guest): the dummy verification runs anyway. */
static void mp_auth__login_verify(mp_auth_login_t *ctx, const char *hash)
{
    mp_err_t rc = mp_auth__pw_verify(ctx->auth->pw, hash, ctx->password, ctx->password_len,
                                     mp_auth__login_verified, ctx);
    if (rc != MP_OK)
        mp_auth__login_finish(ctx, rc);
}

static void mp_auth__login_user(mp_err_t rc, const mp_user_row_t *user, void *ud)
{
    mp_auth_login_t *ctx = ud;

    if (rc == MP_OK && user) {
        ctx->user_id = user->id;
        ctx->guest = user->guest;
        ctx->pending = user->pending;
        /* Guests have no password: they verify against the dummy and fail. */
        mp_auth__login_verify(ctx, user->guest ? NULL : user->password_hash);
    } else if (rc == MP_ERR_NOT_FOUND || rc == MP_OK) {
        mp_auth__login_verify(ctx, NULL);
    } else {
        mp_auth__login_finish(ctx, rc);
    }
}

/* The limiter key: the name as typed, lower-cased, bounded. */
static void mp_auth__limit_key(const char *s, size_t len, char out[MP_AUTH_LIMIT_KEY_MAX + 1])
{
    size_t n = len < MP_AUTH_LIMIT_KEY_MAX ? len : MP_AUTH_LIMIT_KEY_MAX;
    for (size_t i = 0; i < n; i++)
        out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    out[n] = '\0';
}

void mp_auth__h_login(mp_http_req_t *req)
{
    static const mp_field_t fields[] = {
        {"username", MP_F_STRING, true, 0, 0},
        {"password", MP_F_STRING, true, 0, 0},
        {"device_name", MP_F_STRING, false, 0, 0},
        {0},
    };
    mp_auth_t *auth = mp_auth__of(req);
    size_t ulen = 0, plen = 0;
    char key[MP_AUTH_LIMIT_KEY_MAX + 1], username[MP_USERNAME_MAX + 1];
    mp_err_t rc;

    if (!mp_auth__body_ok(req, fields))
        return;
    const char *user_in = mp_auth__str(req, "username", &ulen);
    const char *password = mp_auth__str(req, "password", &plen);

    mp_auth__limit_key(user_in, ulen, key);
    unsigned wait_s = mp_auth__login_limit(auth, key, mp_http_req_peer_key(req));
    if (wait_s > 0) {
        mp_http_respond_retry(req, MP_ERR_RATE_LIMITED, NULL, wait_s);
        return;
    }
    mp_auth_login_t *ctx = mp_calloc(1, sizeof(*ctx));
    ctx->req = req;
    ctx->auth = auth;
    if (!mp_auth__label(req, "device_name", MP_AUTH_DEFAULT_DEVICE_NAME, ctx->dev.name,
                        sizeof(ctx->dev.name))) {
        mp_free(ctx);
        return;
    }
    if (plen > MP_AUTH_PASSWORD_MAX) { /* no account has such a password */
        mp_auth__login_finish(ctx, MP_ERR_BAD_CREDENTIALS);
        return;
    }
    ctx->password = mp_malloc(plen + 1);
    memcpy(ctx->password, password, plen);
    ctx->password[plen] = '\0';
    ctx->password_len = plen;

    if (strlen(user_in) != ulen || mp_auth__username_norm(user_in, ulen, username) != MP_OK) {
        mp_auth__login_verify(ctx, NULL); /* cannot exist; same work, same answer */
        return;
    }
    rc = mp_store_user_by_name(mp_auth__store(req), username, mp_auth__login_user, ctx);
    if (rc != MP_OK)
        mp_auth__login_finish(ctx, rc);
}

/* ---- POST /v1/auth/refresh ------------------------------------------------------ */

static void mp_auth__refresh_user(mp_err_t rc, const mp_user_row_t *user, void *ud)
{
    mp_auth_login_t *ctx = ud;

    if (rc == MP_OK && user && mp_auth__disabled(ctx->auth, user->id))
        rc = MP_ERR_ACCOUNT_DISABLED; /* the rotated token is not handed out */
    else if (rc == MP_OK && user)
        ctx->guest = user->guest;
    else if (rc == MP_OK || rc == MP_ERR_NOT_FOUND)
        rc = MP_ERR_UNAUTHORIZED;
    mp_auth__login_finish(ctx, rc);
}

static void mp_auth__refresh_rotated(mp_err_t rc, const mp_device_row_t *dev, void *ud)
{
    mp_auth_login_t *ctx = ud;

    if (rc == MP_OK && dev) {
        ctx->dev = *dev;
        ctx->user_id = dev->user_id;
        /* The token carries the guest flag, which lives on the user row. */
        rc =
            mp_store_user_by_id(mp_auth__store(ctx->req), dev->user_id, mp_auth__refresh_user, ctx);
        if (rc != MP_OK)
            mp_auth__login_finish(ctx, rc);
        return;
    }
    if (rc == MP_ERR_UNAUTHORIZED && dev)
        mp_auth__revoke(ctx->auth, dev->id); /* a dead token came back: theft */
    if (rc == MP_OK || rc == MP_ERR_NOT_FOUND)
        rc = MP_ERR_UNAUTHORIZED;
    mp_auth__login_finish(ctx, rc);
}

void mp_auth__h_refresh(mp_http_req_t *req)
{
    static const mp_field_t fields[] = {
        {"refresh_token", MP_F_STRING, true, 0, 0},
        {0},
    };
    size_t len = 0;
    uint8_t old_hash[MP_TOKEN_HASH_LEN];

    if (!mp_auth__body_ok(req, fields))
        return;
    const char *old = mp_auth__str(req, "refresh_token", &len);
    if (strlen(old) != len || !mp_auth__refresh_hash(old, old_hash)) {
        mp_http_respond_error(req, MP_ERR_UNAUTHORIZED, "unknown refresh token");
        return;
    }
    mp_auth_login_t *ctx = mp_calloc(1, sizeof(*ctx));
    ctx->req = req;
    ctx->auth = mp_auth__of(req);
    mp_auth__refresh_new(ctx->refresh, ctx->refresh_hash);
    mp_err_t rc = mp_store_refresh_rotate(mp_auth__store(req), old_hash, ctx->refresh_hash,
                                          mp_now_ms(), mp_auth__refresh_rotated, ctx);
    if (rc != MP_OK)
        mp_auth__login_finish(ctx, rc);
}

/* ---- POST /v1/auth/logout ---------------------------------------------------------- */

static void mp_auth__logout_done(mp_err_t rc, void *ud)
{
    mp_http_req_t *req = ud;

    /* NOT_FOUND: already revoked by a concurrent request; logout is idempotent. */
    if (rc != MP_OK && rc != MP_ERR_NOT_FOUND) {
        mp_http_respond_error(req, rc, NULL);
        return;
    }
    mp_auth__revoke(mp_auth__of(req), mp_http_req_principal(req)->device_id);
    mp_http_respond(req, 204, NULL);
}

void mp_auth__h_logout(mp_http_req_t *req)
{
    const mp_principal_t *who = mp_http_req_principal(req);
    mp_err_t rc = mp_store_device_revoke(mp_auth__store(req), who->user_id, who->device_id,
                                         mp_now_ms(), mp_auth__logout_done, req);
    if (rc != MP_OK)
        mp_http_respond_error(req, rc, NULL);
}

/* ---- GET /v1/me ----------------------------------------------------------------------- */

/* The caller's own account: the public profile plus what only they see
 * (their e-mail address, whether they administer the server). */
static json_t *mp_auth__me_json(const mp_user_row_t *user)
{
    char uid[MP_ID_STRLEN], fid[MP_ID_STRLEN];
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:b, s:s, s:b}", "user_id",
                          mp_id_format(user->id, uid), "username", user->username, "display_name",
                          user->display_name, "created_at", (json_int_t)user->created_at, "guest",
                          (int)user->guest, "bio", user->bio, "admin", (int)user->admin);
    json_object_set_new(o, "avatar_file_id",
                        user->avatar_file_id ? json_string(mp_id_format(user->avatar_file_id, fid))
                                             : json_null());
    json_object_set_new(o, "email", user->email[0] ? json_string(user->email) : json_null());
    return o;
}

static void mp_auth__me_user(mp_err_t rc, const mp_user_row_t *user, void *ud)
{
    mp_http_req_t *req = ud;

    if (rc == MP_OK && user) {
        mp_http_respond(req, 200, mp_auth__me_json(user));
        return;
    }
    /* A valid token for a user who no longer exists identifies nobody. */
    mp_http_respond_error(req, (rc == MP_OK || rc == MP_ERR_NOT_FOUND) ? MP_ERR_UNAUTHORIZED : rc,
                          NULL);
}

void mp_auth__h_me(mp_http_req_t *req)
{
    mp_err_t rc = mp_store_user_by_id(mp_auth__store(req), mp_http_req_principal(req)->user_id,
                                      mp_auth__me_user, req);
    if (rc != MP_OK)
        mp_http_respond_error(req, rc, NULL);
}
