/* The error table: one row per mp_err_t, in enum order. */
#include "proto/error.h"

static const struct {
    const char *code;
    int status;
    const char *message;
} table[MP__ERR_COUNT] = {
    [MP_OK] = {"ok", 200, "ok"},
    [MP_ERR_BAD_REQUEST] = {"bad_request", 400, "the request is invalid"},
    [MP_ERR_BAD_JSON] = {"bad_json", 400, "the body is not valid JSON"},
    [MP_ERR_UNAUTHORIZED] = {"unauthorized", 401, "a valid access token is required"},
    [MP_ERR_BAD_CREDENTIALS] = {"bad_credentials", 401, "wrong username or password"},
    [MP_ERR_FORBIDDEN] = {"forbidden", 403, "not allowed"},
    [MP_ERR_REGISTRATION_CLOSED] = {"registration_closed", 403, "registration is closed"},
    [MP_ERR_NOT_MEMBER] = {"not_member", 403, "not a member of this conversation"},
    [MP_ERR_NOT_FOUND] = {"not_found", 404, "not found"},
    [MP_ERR_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405, "method not allowed"},
    [MP_ERR_USERNAME_TAKEN] = {"username_taken", 409, "this username is taken"},
    [MP_ERR_CONFLICT] = {"conflict", 409, "conflicting state"},
    [MP_ERR_TOO_LARGE] = {"too_large", 413, "the request is too large"},
    [MP_ERR_UNSUPPORTED_MEDIA] = {"unsupported_media_type", 415,
                                  "the body must be application/json"},
    [MP_ERR_WEAK_PASSWORD] = {"weak_password", 400, "the password must be 8 to 1024 bytes"},
    [MP_ERR_BAD_USERNAME] = {"bad_username", 400,
                             "the username must be 3 to 32 characters of a-z 0-9 _ ."},
    [MP_ERR_RATE_LIMITED] = {"rate_limited", 429, "too many requests, slow down"},
    [MP_ERR_UNKNOWN_TYPE] = {"unknown_type", 400, "unknown frame type"},
    [MP_ERR_INTERNAL] = {"internal", 500, "internal error"},
    [MP_ERR_UNAVAILABLE] =
        {"unavailable", 503,
         "the server cannot take this now (overloaded, or out of disk space); retry later"},
    [MP_ERR_TIMEOUT] = {"timeout", 408, "the request took too long"},
    [MP_ERR_PRIVACY] = {"privacy_restricted", 403, "this user's privacy settings do not allow it"},
    [MP_ERR_NOT_ALLOWED] = {"not_allowed", 403, "your role does not permit this"},
    [MP_ERR_MUTED] = {"muted", 403, "you are muted in this group"},
    [MP_ERR_BANNED] = {"banned", 403, "banned from this group"},
    [MP_ERR_GUEST_FORBIDDEN] = {"guest_forbidden", 403, "guests may only use the world room"},
    [MP_ERR_DISSOLVED] = {"dissolved", 410, "the group was dissolved"},
    [MP_ERR_INVITE_EXPIRED] = {"invite_expired", 410, "the invite link has expired"},
    [MP_ERR_INVITE_REVOKED] = {"invite_revoked", 410, "the invite link was revoked"},
    [MP_ERR_INVITE_EXHAUSTED] = {"invite_exhausted", 410, "the invite link has been used up"},
    [MP_ERR_GROUP_FULL] = {"group_full", 409, "the group has reached its member limit"},
    [MP_ERR_ALREADY_MEMBER] = {"already_member", 409, "already a member"},
    [MP_ERR_SLOW_MODE] = {"slow_mode", 429, "slow mode: wait before posting again"},
    [MP_ERR_TOO_LATE] = {"too_late", 403, "the edit or recall window has passed"},
    [MP_ERR_LIMIT_REACHED] = {"limit_reached", 409, "a limit was reached"},
    [MP_ERR_ACCOUNT_DISABLED] = {"account_disabled", 403, "this account is disabled"},
    [MP_ERR_EMAIL_UNVERIFIED] = {"email_unverified", 403,
                                 "verify the e-mail address of this account first"},
    [MP_ERR_INVITE_REQUIRED] = {"invite_required", 403, "registration needs an invite code"},
    [MP_ERR_INVALID_INVITE] = {"invalid_invite", 403,
                               "this invite code is unknown, expired, revoked or used up"},
    [MP_ERR_INVALID_CODE] = {"invalid_code", 400, "the code is wrong, expired or already used"},
    [MP_ERR_EMAIL_TAKEN] = {"email_taken", 409, "another account uses this e-mail address"},
    [MP_ERR_BAD_EMAIL] = {"bad_email", 400, "field 'email' must be an e-mail address"},
    [MP_ERR_QUOTA_EXCEEDED] = {"quota_exceeded", 413, "your storage quota is used up"},
    [MP_ERR_LENGTH_REQUIRED] = {"length_required", 411, "an upload needs a Content-Length"},
    [MP_ERR_RANGE] = {"range_not_satisfiable", 416, "the range is outside the file"},
    [MP_ERR_PRECONDITION] = {"precondition_failed", 412, "unsupported protocol version"},
    [MP_ERR_OFFSET_MISMATCH] = {"offset_mismatch", 409,
                                "Upload-Offset is not the number of bytes received"},
    [MP_ERR_BAD_MEDIA] = {"bad_media", 422, "the file cannot be decoded as its type"},
};

static mp_err_t clamp(mp_err_t err)
{
    return (unsigned)err < MP__ERR_COUNT ? err : MP_ERR_INTERNAL;
}

const char *mp_err_code(mp_err_t err)
{
    return table[clamp(err)].code;
}

int mp_err_status(mp_err_t err)
{
    return table[clamp(err)].status;
}

const char *mp_err_message(mp_err_t err)
{
    return table[clamp(err)].message;
}
