/* Store operations of the account life cycle: registration with an e-mail
 * address, e-mail codes (verification and password reset), password
 * changes, and the sweep of accounts never verified. Same contract as
 * store.h: every op returns MP_OK when queued (the callback runs later on
 * the loop) or MP_ERR_UNAVAILABLE when the queue is full (callback not
 * called); rows and arrays passed to callbacks are borrowed. */
#ifndef MP_STORE_ACCOUNT_H
#define MP_STORE_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define MP_STORE_CODE_HASH_LEN 32 /* keyed BLAKE2b of a mailed code */
/* keep_device value of mp_store_user_set_password that revokes no device. */
#define MP_STORE_KEEP_ALL_DEVICES UINT64_MAX

typedef enum { MP_CODE_VERIFY = 0, MP_CODE_RESET } mp_code_purpose_t;

/* rc with the ids of the devices the write revoked (n may be 0). */
typedef void (*mp_store_revoked_fn)(mp_err_t rc, uint64_t user_id, const uint64_t *devices,
                                    size_t n, void *ud);
typedef void (*mp_store_id_fn)(mp_err_t rc, uint64_t user_id, void *ud);
typedef void (*mp_store_count_fn)(mp_err_t rc, size_t n, void *ud);

/* Read: MP_OK when neither the (lower-case) username nor the e-mail address
 * (email NULL or "" = not checked) belongs to an account, else
 * MP_ERR_USERNAME_TAKEN or MP_ERR_EMAIL_TAKEN. Advisory (an early answer
 * before work such as mailing); mp_store_account_create decides. */
mp_err_t mp_store_account_free(mp_store_t *st, const char *username, const char *email,
                               mp_store_done_fn cb, void *ud) __attribute__((warn_unused_result));

/* Inserts a user like mp_store_user_create, with an e-mail address (NULL or
 * "" = none) and the pending flag (waiting for verification: cannot log in);
 * code_hash non-NULL also stores a live 'verify' code expiring at
 * code_expires_at (sent at u->created_at); invite_code non-NULL must be a
 * usable invite code, whose use is counted in the same write (as
 * mp_store_user_create_invited does). MP_ERR_USERNAME_TAKEN,
 * MP_ERR_EMAIL_TAKEN, MP_ERR_INVALID_INVITE, checked in the same transaction
 * as the insert. */
mp_err_t mp_store_account_create(mp_store_t *st, const mp_user_row_t *u, const char *email,
                                 bool pending, const uint8_t *code_hash, int64_t code_expires_at,
                                 const char *invite_code, mp_store_done_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* Replaces the live code of purpose for the account with this e-mail address
 * (attempts back to 0), unless a code of any purpose was sent to the account
 * less than min_interval_ms before now. The account must be alive and not a
 * guest; for MP_CODE_VERIFY it must be pending, for MP_CODE_RESET not.
 * rc: MP_OK with the user id (send the mail now), MP_ERR_NOT_FOUND (no such
 * account), MP_ERR_RATE_LIMITED (too soon; user id given). */
mp_err_t mp_store_email_code_new(mp_store_t *st, const char *email, mp_code_purpose_t purpose,
                                 const uint8_t code_hash[MP_STORE_CODE_HASH_LEN], int64_t now_ms,
                                 int64_t expires_at, int64_t min_interval_ms, mp_store_id_fn cb,
                                 void *ud) __attribute__((warn_unused_result));

/* Uses a code, in one write: the account with this address must have a live
 * code of purpose, not expired, with fewer than max_attempts wrong attempts,
 * equal to code_hash. A wrong code counts an attempt (committed); every
 * refusal is MP_ERR_INVALID_CODE (whatever the reason, so nothing tells
 * whether the address exists). A right code is deleted (single use), then:
 * MP_CODE_VERIFY clears pending; MP_CODE_RESET stores new_hash (non-NULL) as
 * the password hash and revokes every device (their ids are returned). */
mp_err_t mp_store_email_code_use(mp_store_t *st, const char *email, mp_code_purpose_t purpose,
                                 const uint8_t code_hash[MP_STORE_CODE_HASH_LEN], int64_t now_ms,
                                 unsigned max_attempts, const char *new_hash,
                                 mp_store_revoked_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* Stores a new password hash for a live, non-guest user and revokes every
 * active device of the user but keep_device (0 = none kept,
 * MP_STORE_KEEP_ALL_DEVICES = none revoked); a live password-reset code
 * dies too. MP_ERR_NOT_FOUND for an unknown, deleted or guest user. */
mp_err_t mp_store_user_set_password(mp_store_t *st, uint64_t user_id, const char *hash,
                                    uint64_t keep_device, int64_t now_ms, mp_store_revoked_fn cb,
                                    void *ud) __attribute__((warn_unused_result));

/* Deletes at most batch accounts still pending (never verified) created
 * before cutoff_ms, freeing their usernames and addresses; n = deleted. */
mp_err_t mp_store_pending_sweep(mp_store_t *st, int64_t cutoff_ms, size_t batch,
                                mp_store_count_fn cb, void *ud) __attribute__((warn_unused_result));

#endif
