/* Account deletion in the store: the one write job that deletes an account
 * (its row stays: messages keep naming their sender) and the grace sweep's
 * job that frees the usernames of accounts deleted long enough ago.
 *
 * Same contract as store.h: asynchronous ops return MP_OK when queued (the
 * callback runs later on the loop thread) or MP_ERR_UNAVAILABLE when the
 * queue is full (the callback is then NOT called). Rows given to callbacks
 * are borrowed and valid only until the callback returns. */
#ifndef MP_STORE_DELETION_H
#define MP_STORE_DELETION_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/world.h"

/* What a deleted profile shows (docs/protocol.md "Deleting an account"). */
#define MP_DELETED_DISPLAY_NAME "Deleted account"

/* A user whose contact entry with the deleted account went to state none
 * (their side was not none before), and when that relation began. */
typedef struct mp_account_peer {
    uint64_t user_id;
    int64_t created_at;
} mp_account_peer_t;

/* What a deletion changed. out->base has the shape of a guest sweep's result
 * (so the same hook serves both): users = the deleted account, devices = its
 * devices that were active (the caller revokes them in memory), msgs = the
 * system messages of the groups it left or that passed to another member.
 * peers: whose contact entries with the account went to none, at `version`
 * and time `at` (their devices are told; username is the account's). */
typedef struct mp_account_delete_out {
    mp_guest_sweep_out_t base;
    const char *username;
    const mp_account_peer_t *peers;
    size_t n_peers;
    int64_t version; /* of the contact changes; 0 when there were none */
    int64_t at;
} mp_account_delete_out_t;

typedef void (*mp_account_delete_fn)(mp_err_t rc, const mp_account_delete_out_t *out, void *ud);

/* Deletes user_id's account in ONE write job: every device revoked (refresh
 * tokens gone), the profile erased (display name MP_DELETED_DISPLAY_NAME, bio
 * "", no avatar, no e-mail, no password, admin off, privacy settings reset)
 * and deleted_at = now_ms; every contact row between the account and anyone
 * (both sides) set to state 0 with the next global change version; blocks in
 * both directions and pending e-mail codes removed; every group left
 * (mp_sqlite__groups_user_gone: owned groups pass on or dissolve). Direct
 * conversations and messages stay; the username stays taken until
 * mp_store_account_release_names frees it. MP_ERR_NOT_FOUND for an unknown,
 * already deleted or guest account. */
mp_err_t mp_store_account_delete(mp_store_t *st, uint64_t user_id, int64_t now_ms,
                                 mp_account_delete_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* n = accounts looked at (each renamed unless its new name was taken);
 * last_deleted_at = the deleted_at of the last account
 * looked at (0 when none). */
typedef void (*mp_account_release_fn)(mp_err_t rc, size_t n, int64_t last_deleted_at, void *ud);

/* Frees the usernames of up to max accounts deleted in [since_ms, cutoff_ms)
 * whose name is still their own, oldest first, in one write job: each is
 * renamed "deleted_<id>" (a form registration refuses, so the name is free
 * unless the database was written by an older version: then the account
 * keeps its name). n == max means more may be due (from last_deleted_at
 * on). */
mp_err_t mp_store_account_release_names(mp_store_t *st, int64_t since_ms, int64_t cutoff_ms,
                                        unsigned max, mp_account_release_fn cb, void *ud)
    __attribute__((warn_unused_result));

#endif
