/* Registration invite codes (registration = invite, docs/protocol.md
 * "Invite codes"): created, listed and revoked by admins, and used up by
 * registrations, each use counted in the same write job as the user insert.
 *
 * Same contract as store.h: asynchronous ops return MP_OK when queued (the
 * callback runs later on the loop thread) or MP_ERR_UNAVAILABLE when the
 * queue is full (the callback is then NOT called). Rows given to callbacks
 * are borrowed and valid only until the callback returns.
 *
 * Codes are case-insensitive: every op takes a code in any case and
 * upper-cases it (ASCII) before it reaches the table, as the user ops
 * lower-case usernames. */
#ifndef MP_STORE_INVITES_H
#define MP_STORE_INVITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define MP_INVITE_CODE_MAX 32   /* bytes of a code (the server makes 12) */
#define MP_INVITE_NOTE_MAX 1024 /* bytes of a note (256 characters of up to 4 bytes) */
#define MP_INVITE_LIST_MAX 200  /* rows per page */

typedef enum {
    MP_INVITE_ACTIVE = 0,
    MP_INVITE_EXPIRED,
    MP_INVITE_REVOKED,
    MP_INVITE_USED_UP,
} mp_invite_state_t;

typedef struct mp_invite_row {
    char code[MP_INVITE_CODE_MAX + 1]; /* upper-case */
    uint64_t created_by;               /* the admin; 0 = the operator (control socket) */
    int64_t created_at;                /* ms since epoch */
    int64_t expires_at;                /* ms; 0 = never */
    int64_t max_uses;                  /* 0 = unlimited */
    int64_t uses;
    int64_t revoked_at; /* ms; 0 = not revoked */
    char note[MP_INVITE_NOTE_MAX + 1];
} mp_invite_row_t;

/* The state of row at now_ms: revoked wins over used up, which wins over
 * expired (the order in which an admin would want to be told). */
mp_invite_state_t mp_invite_state(const mp_invite_row_t *row, int64_t now_ms);
/* "active", "expired", "revoked", "used_up". */
const char *mp_invite_state_name(mp_invite_state_t st);

typedef void (*mp_invite_fn)(mp_err_t rc, const mp_invite_row_t *row, void *ud);
typedef void (*mp_invites_fn)(mp_err_t rc, const mp_invite_row_t *rows, size_t n, bool has_more,
                              void *ud);

/* Stores a new code (row->uses and revoked_at are ignored: 0). MP_ERR_CONFLICT
 * when the code exists (the caller draws another), MP_ERR_BAD_REQUEST for an
 * empty code. The callback gets the row as stored. */
mp_err_t mp_store_invite_create(mp_store_t *st, const mp_invite_row_t *row, mp_invite_fn cb,
                                void *ud) __attribute__((warn_unused_result));

/* Codes newest first (by created_at, then code), at most limit
 * (1..MP_INVITE_LIST_MAX) of them, starting after the cursor (after_at,
 * after_code): pass the last row's created_at and code for the next page,
 * (0, "") for the first. Read. */
mp_err_t mp_store_invite_list(mp_store_t *st, int64_t after_at, const char *after_code,
                              unsigned limit, mp_invites_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* Revokes a code at now_ms (a revoked code stays listed). Revoking a revoked
 * code is MP_OK and keeps the first revoked_at; MP_ERR_NOT_FOUND for an
 * unknown code. The callback gets the row after the change. */
mp_err_t mp_store_invite_revoke(mp_store_t *st, const char *code, int64_t now_ms, mp_invite_fn cb,
                                void *ud) __attribute__((warn_unused_result));

#endif
