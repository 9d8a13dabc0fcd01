/* The one internal error enum (0 = success) and its mapping to wire codes.
 *
 * Every error a client can see is one of these. The table in error.c gives its
 * stable lowercase code, HTTP status and default message; docs/protocol.md
 * prints the same table. Add new errors at the end of the enum and the table. */
#ifndef MP_PROTO_ERROR_H
#define MP_PROTO_ERROR_H

typedef enum {
    MP_OK = 0,
    MP_ERR_BAD_REQUEST,         /* 400 bad_request: a field is missing or invalid */
    MP_ERR_BAD_JSON,            /* 400 bad_json: the body or frame is not valid JSON */
    MP_ERR_UNAUTHORIZED,        /* 401 unauthorized: missing, invalid or expired token */
    MP_ERR_BAD_CREDENTIALS,     /* 401 bad_credentials: wrong username or password */
    MP_ERR_FORBIDDEN,           /* 403 forbidden */
    MP_ERR_REGISTRATION_CLOSED, /* 403 registration_closed */
    MP_ERR_NOT_MEMBER,          /* 403 not_member */
    MP_ERR_NOT_FOUND,           /* 404 not_found */
    MP_ERR_METHOD_NOT_ALLOWED,  /* 405 method_not_allowed */
    MP_ERR_USERNAME_TAKEN,      /* 409 username_taken */
    MP_ERR_CONFLICT,            /* 409 conflict */
    MP_ERR_TOO_LARGE,           /* 413 too_large */
    MP_ERR_UNSUPPORTED_MEDIA,   /* 415 unsupported_media_type */
    MP_ERR_WEAK_PASSWORD,       /* 400 weak_password */
    MP_ERR_BAD_USERNAME,        /* 400 bad_username */
    MP_ERR_RATE_LIMITED,        /* 429 rate_limited */
    MP_ERR_UNKNOWN_TYPE,        /* 400 unknown_type: unknown WebSocket frame type */
    MP_ERR_INTERNAL,            /* 500 internal */
    MP_ERR_UNAVAILABLE,         /* 503 unavailable: overloaded or store not ready */
    MP_ERR_TIMEOUT,             /* 408 timeout: the request took too long to arrive */
    MP_ERR_PRIVACY,             /* 403 privacy_restricted: the other user's privacy settings
                                   (or a block, told apart from them on purpose) refuse it */
    MP_ERR_NOT_ALLOWED,         /* 403 not_allowed: your role in this group does not permit it */
    MP_ERR_MUTED,               /* 403 muted: you are muted in this group */
    MP_ERR_BANNED,              /* 403 banned: the user is banned from this group */
    MP_ERR_GUEST_FORBIDDEN,     /* 403 guest_forbidden: guests may only use the world room */
    MP_ERR_DISSOLVED,           /* 410 dissolved: the group was dissolved */
    MP_ERR_INVITE_EXPIRED,      /* 410 invite_expired */
    MP_ERR_INVITE_REVOKED,      /* 410 invite_revoked */
    MP_ERR_INVITE_EXHAUSTED,    /* 410 invite_exhausted: the link reached its max uses */
    MP_ERR_GROUP_FULL,          /* 409 group_full: the member limit is reached */
    MP_ERR_ALREADY_MEMBER,      /* 409 already_member */
    MP_ERR_SLOW_MODE,           /* 429 slow_mode: wait before posting again */
    MP_ERR_TOO_LATE,            /* 403 too_late: the edit or recall window has passed */
    MP_ERR_LIMIT_REACHED,       /* 409 limit_reached: reactions per message, pins */
    MP_ERR_ACCOUNT_DISABLED,    /* 403 account_disabled: an admin disabled this account */
    MP_ERR_EMAIL_UNVERIFIED,    /* 403 email_unverified: verify the e-mail address first */
    MP_ERR_INVITE_REQUIRED,     /* 403 invite_required: registration needs an invite code */
    MP_ERR_INVALID_INVITE,      /* 403 invalid_invite: unknown, expired, revoked or used up */
    MP_ERR_INVALID_CODE,        /* 400 invalid_code: wrong, expired or used verification code */
    MP_ERR_EMAIL_TAKEN,         /* 409 email_taken: another account has this e-mail address */
    MP_ERR_BAD_EMAIL,           /* 400 bad_email: not an e-mail address */
    MP_ERR_QUOTA_EXCEEDED,      /* 413 quota_exceeded: the user's storage quota is used up */
    MP_ERR_LENGTH_REQUIRED,     /* 411 length_required: an upload without Content-Length */
    MP_ERR_RANGE,               /* 416 range_not_satisfiable: a Range outside the file */
    MP_ERR_PRECONDITION,        /* 412 precondition_failed: unsupported Tus-Resumable version */
    MP_ERR_OFFSET_MISMATCH,     /* 409 offset_mismatch: Upload-Offset is not the bytes received */
    MP_ERR_BAD_MEDIA,           /* 422 bad_media: the file cannot be decoded as its type */
    MP__ERR_COUNT
} mp_err_t;

/* Stable lowercase wire code, e.g. "not_member". */
const char *mp_err_code(mp_err_t err);
/* HTTP status used for this error. */
int mp_err_status(mp_err_t err);
/* Default human-readable message. */
const char *mp_err_message(mp_err_t err);

#endif
