/* E-mail codes: verifying the address of a new account (registration =
 * email), resending that code, and resetting a forgotten password.
 *
 * Codes are MP_AUTH_CODE_LEN random digits, stored only as a keyed hash, live
 * email_code_ttl seconds, die after MP_AUTH_CODE_ATTEMPTS wrong tries and on
 * use. The routes that take an address answer the same whether or not an
 * account has it (202 for resend and reset requests, invalid_code for every
 * refused code), so they cannot be used to learn who is registered. */
#include "auth/auth_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/clock.h"
#include "util/log.h"

void mp_auth__code_new(char code[MP_AUTH_CODE_LEN + 1])
{
    snprintf(code, MP_AUTH_CODE_LEN + 1, "%06u", (unsigned)randombytes_uniform(1000000));
}

void mp_auth__code_hash(const mp_auth_t *auth, const char *code, size_t len,
                        uint8_t out[MP_STORE_CODE_HASH_LEN])
{
    crypto_generichash(out, MP_STORE_CODE_HASH_LEN, (const unsigned char *)code, len, auth->secret,
                       sizeof auth->secret);
}

mp_err_t mp_auth__mail_code(mp_auth_t *auth, const char *to, mp_code_purpose_t purpose,
                            const char *code, mp_mail_done_fn cb, void *ud)
{
    unsigned minutes = (auth->ctx->cfg->email_code_ttl_s + 59) / 60;
    char body[600];
    const char *subject;
    if (purpose == MP_CODE_VERIFY) {
        subject = "Your Magpie verification code";
        snprintf(body, sizeof body,
                 "Your verification code is %s\n\n"
                 "Enter it to confirm this e-mail address for your new Magpie account.\n"
                 "It works once, for %u minute%s.\n\n"
                 "If you did not create an account, ignore this message: without the code\n"
                 "the account is deleted within a day.\n",
                 code, minutes, minutes == 1 ? "" : "s");
    } else {
        subject = "Your Magpie password reset code";
        snprintf(body, sizeof body,
                 "Your password reset code is %s\n\n"
                 "Enter it with a new password to reset the password of your Magpie account.\n"
                 "It works once, for %u minute%s. Resetting signs out every device.\n\n"
                 "If you did not ask for this, ignore this message: your password stays as "
                 "it is.\n",
                 code, minutes, minutes == 1 ? "" : "s");
    }
    mp_err_t rc = mp_mail_send(auth->ctx->mail, to, subject, body, cb, ud);
    sodium_memzero(body, sizeof body);
    return rc;
}

/* The normalised "email" of a validated body into out; answers 400 bad_email
 * naming the field and returns false when it is not an address. */
static bool email_field(mp_http_req_t *req, char out[MP_EMAIL_MAX + 1])
{
    size_t len = 0;
    const char *s = mp_auth__str(req, "email", &len);
    if (s != NULL && strlen(s) == len && mp_mail_addr_norm(s, len, out) == MP_OK)
        return true;
    mp_http_respond_error(req, MP_ERR_BAD_EMAIL, "field 'email' must be an e-mail address");
    return false;
}

/* A code as typed: exactly MP_AUTH_CODE_LEN digits (else it cannot be right:
 * invalid_code, without costing an attempt). */
static bool code_shape_ok(const char *s, size_t len)
{
    if (len != MP_AUTH_CODE_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool mail_needed(mp_http_req_t *req)
{
    if (mp_mail_enabled(mp_auth__of(req)->ctx->mail))
        return true;
    mp_http_respond_error(req, MP_ERR_UNAVAILABLE, "this server sends no e-mail (no smtp_url)");
    return false;
}

/* Charges the login limiter (per address and per client) for a code
 * attempt; answers 429 and returns false when over it. */
static bool attempt_allowed(mp_http_req_t *req, const char *email)
{
    unsigned wait_s = mp_auth__login_limit(mp_auth__of(req), email, mp_http_req_peer_key(req));
    if (wait_s == 0)
        return true;
    mp_http_respond_retry(req, MP_ERR_RATE_LIMITED, NULL, wait_s);
    return false;
}

/* ---- POST /v1/auth/verify-email --------------------------------------------------- */

static void verified(mp_err_t rc, uint64_t user_id, const uint64_t *devs, size_t n, void *ud)
{
    mp_http_req_t *req = ud;
    (void)devs, (void)n;
    if (rc == MP_OK) {
        mp_log_info("auth: user %llu verified their e-mail address", (unsigned long long)user_id);
        mp_http_respond(req, 204, NULL);
    } else {
        mp_http_respond_error(req, rc, NULL);
    }
}

void mp_auth__h_verify_email(mp_http_req_t *req)
{
    static const mp_field_t fields[] = {
        {"email", MP_F_STRING, true, 0, 0},
        {"code", MP_F_STRING, true, 0, 0},
        {0},
    };
    mp_auth_t *auth = mp_auth__of(req);
    char email[MP_EMAIL_MAX + 1];
    uint8_t hash[MP_STORE_CODE_HASH_LEN];
    size_t clen = 0;

    if (!mp_auth__body_ok(req, fields) || !email_field(req, email) || !attempt_allowed(req, email))
        return;
    const char *code = mp_auth__str(req, "code", &clen);
    if (!code_shape_ok(code, clen)) {
        mp_http_respond_error(req, MP_ERR_INVALID_CODE, "field 'code' must be the 6 digits mailed");
        return;
    }
    mp_auth__code_hash(auth, code, clen, hash);
    mp_err_t rc = mp_store_email_code_use(auth->ctx->store, email, MP_CODE_VERIFY, hash,
                                          mp_now_ms(), MP_AUTH_CODE_ATTEMPTS, NULL, verified, req);
    if (rc != MP_OK)
        mp_http_respond_error(req, rc, NULL);
}

/* ---- POST /v1/auth/resend-code and /v1/auth/password-reset -------------------------- */

/* A code mailed on request: the client was answered 202 already, so this
 * lives on its own until the mail is sent. */
typedef struct code_mail {
    mp_auth_t *auth;
    mp_code_purpose_t purpose;
    char email[MP_EMAIL_MAX + 1];
    char code[MP_AUTH_CODE_LEN + 1];
    mp_http_req_t *req; /* until the store answered */
} code_mail_t;

static void code_mail_free(code_mail_t *m)
{
    sodium_memzero(m->code, sizeof m->code);
    mp_free(m);
}

static void code_mailed(mp_err_t rc, void *ud)
{
    code_mail_t *m = ud;
    if (rc != MP_OK)
        mp_log_warn("auth: a %s code could not be mailed; the user may ask again",
                    m->purpose == MP_CODE_VERIFY ? "verification" : "password reset");
    code_mail_free(m);
}

static void code_stored(mp_err_t rc, uint64_t user_id, void *ud)
{
    code_mail_t *m = ud;
    (void)user_id;
    /* The same answer whatever happened: whether an account has this
     * address, or got a mail recently, is nobody's business here. */
    if (rc == MP_OK || rc == MP_ERR_NOT_FOUND || rc == MP_ERR_RATE_LIMITED)
        mp_http_respond(m->req, 202, NULL);
    else
        mp_http_respond_error(m->req, rc, NULL);
    m->req = NULL;
    if (rc == MP_OK &&
        mp_auth__mail_code(m->auth, m->email, m->purpose, m->code, code_mailed, m) == MP_OK)
        return;
    if (rc == MP_OK)
        mp_log_warn("auth: the mail queue is full; a code was not sent");
    code_mail_free(m);
}

static void code_request(mp_http_req_t *req, mp_code_purpose_t purpose)
{
    static const mp_field_t fields[] = {
        {"email", MP_F_STRING, true, 0, 0},
        {0},
    };
    mp_auth_t *auth = mp_auth__of(req);
    char email[MP_EMAIL_MAX + 1];
    uint8_t hash[MP_STORE_CODE_HASH_LEN];

    if (!mp_auth__body_ok(req, fields) || !email_field(req, email) || !mail_needed(req))
        return;
    /* Each request may cost a mail: a flood from one address must not turn
     * the server into a mail cannon (per account, the store allows one mail
     * per email_resend_interval). */
    unsigned wait_s = mp_auth__register_limit(auth, mp_http_req_peer_key(req));
    if (wait_s > 0) {
        mp_http_respond_retry(req, MP_ERR_RATE_LIMITED, "too many requests from this address",
                              wait_s);
        return;
    }
    code_mail_t *m = mp_calloc(1, sizeof *m);
    m->auth = auth;
    m->purpose = purpose;
    m->req = req;
    memcpy(m->email, email, sizeof m->email);
    mp_auth__code_new(m->code);
    mp_auth__code_hash(auth, m->code, MP_AUTH_CODE_LEN, hash);
    int64_t now = mp_now_ms();
    mp_err_t rc =
        mp_store_email_code_new(auth->ctx->store, email, purpose, hash, now,
                                now + (int64_t)auth->ctx->cfg->email_code_ttl_s * 1000,
                                (int64_t)auth->ctx->cfg->email_resend_interval_ms, code_stored, m);
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, NULL);
        code_mail_free(m);
    }
}

void mp_auth__h_resend_code(mp_http_req_t *req)
{
    code_request(req, MP_CODE_VERIFY);
}

void mp_auth__h_password_reset(mp_http_req_t *req)
{
    code_request(req, MP_CODE_RESET);
}

/* ---- POST /v1/auth/password-reset/confirm --------------------------------------------- */

typedef struct reset {
    mp_http_req_t *req;
    mp_auth_t *auth;
    char email[MP_EMAIL_MAX + 1];
    uint8_t hash[MP_STORE_CODE_HASH_LEN];
} reset_t;

static void reset_done(mp_err_t rc, uint64_t user_id, const uint64_t *devs, size_t n, void *ud)
{
    reset_t *r = ud;
    if (rc == MP_OK) {
        mp_auth__revoke_list(r->auth, devs, n);
        mp_log_info("auth: user %llu reset their password (%zu device(s) signed out)",
                    (unsigned long long)user_id, n);
        mp_http_respond(r->req, 204, NULL);
    } else {
        mp_http_respond_error(r->req, rc, NULL);
    }
    mp_free(r);
}

static void reset_hashed(mp_err_t rc, const char *pwhash, void *ud)
{
    reset_t *r = ud;
    if (rc == MP_OK)
        rc = mp_store_email_code_use(r->auth->ctx->store, r->email, MP_CODE_RESET, r->hash,
                                     mp_now_ms(), MP_AUTH_CODE_ATTEMPTS, pwhash, reset_done, r);
    if (rc == MP_OK)
        return;
    mp_http_respond_error(r->req, rc, NULL);
    mp_free(r);
}

void mp_auth__h_password_reset_confirm(mp_http_req_t *req)
{
    static const mp_field_t fields[] = {
        {"email", MP_F_STRING, true, 0, 0},
        {"code", MP_F_STRING, true, 0, 0},
        {"new_password", MP_F_STRING, true, 0, 0},
        {0},
    };
    mp_auth_t *auth = mp_auth__of(req);
    char email[MP_EMAIL_MAX + 1];
    size_t clen = 0, plen = 0;

    if (!mp_auth__body_ok(req, fields) || !email_field(req, email) || !mail_needed(req))
        return;
    const char *code = mp_auth__str(req, "code", &clen);
    const char *pw = mp_auth__str(req, "new_password", &plen);
    mp_err_t rc = mp_auth__password_check(plen);
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, NULL);
        return;
    }
    if (!attempt_allowed(req, email))
        return;
    if (!code_shape_ok(code, clen)) {
        mp_http_respond_error(req, MP_ERR_INVALID_CODE, "field 'code' must be the 6 digits mailed");
        return;
    }
    reset_t *r = mp_calloc(1, sizeof *r);
    r->req = req;
    r->auth = auth;
    memcpy(r->email, email, sizeof r->email);
    mp_auth__code_hash(auth, code, clen, r->hash);
    /* Hashed before the code is checked, so that a right code is used (and
     * every device revoked) in the same write that stores the password. */
    rc = mp_auth__pw_hash(auth->pw, pw, plen, reset_hashed, r);
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, NULL);
        mp_free(r);
    }
}
