/* The blocking and privacy part of the store API (docs/protocol.md
 * "Blocking" and "Privacy settings"): blocks, the per-user privacy settings
 * (users.priv_* of migration 7), and the reads the presence paths need.
 *
 * Same contract as store.h: every op returns MP_OK when queued (its callback
 * runs later on the loop thread) or MP_ERR_UNAVAILABLE when the queue is full
 * (the callback is then NOT called). Rows given to callbacks are borrowed.
 *
 * The rules themselves are proto/privacy.h; the actions they govern (a send
 * in a direct conversation, starting one, adding to a group) check them in
 * their own write jobs (sqlite_chat.c, sqlite_msgs.c, sqlite_groups.c), so a
 * block or a settings change committed before the action always counts. */
#ifndef MP_STORE_PRIVACY_H
#define MP_STORE_PRIVACY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/contact.h"
#include "proto/privacy.h"
#include "store/people.h"
#include "store/store.h"

#define MP_BLOCKS_PAGE_MAX 200 /* rows per page of the block list */

/* ---- blocks ----------------------------------------------------------------- */

typedef struct mp_block_out {
    bool changed;          /* false: the block existed already (nothing written) */
    bool contacts_reset;   /* contact rows of the pair went to state 0 (a friendship or request) */
    int64_t version;       /* their global change version (contacts_reset) */
    mp_contact_t sides[2]; /* contacts_reset: the rows that changed, as stored now (state none) */
    size_t n_sides;        /* 1 or 2: a request the blocker never saw has one side only */
} mp_block_out_t;

typedef void (*mp_store_block_fn)(mp_err_t rc, const mp_block_out_t *out, void *ud);

/* user_id blocks blocked_id, idempotently. In the same transaction every
 * contacts row between the two (either direction, state != 0) becomes state
 * 0 with the next global change version, so sync tells both users' devices
 * that the friendship or pending request is gone. Errors: MP_ERR_BAD_REQUEST
 * (blocked_id == user_id), MP_ERR_NOT_FOUND (blocked_id is no user). */
mp_err_t mp_store_block(mp_store_t *st, uint64_t user_id, uint64_t blocked_id, int64_t now_ms,
                        mp_store_block_fn cb, void *ud) __attribute__((warn_unused_result));
/* Removes the block, idempotently; changed says whether one existed. Contact
 * rows are not restored (a friendship must be asked for again). */
mp_err_t mp_store_unblock(mp_store_t *st, uint64_t user_id, uint64_t blocked_id,
                          mp_store_block_fn cb, void *ud) __attribute__((warn_unused_result));

typedef struct mp_block_row {
    mp_profile_row_t user; /* the blocked user, as the blocker sees them (store/people.h) */
    int64_t blocked_at;
} mp_block_row_t;

typedef void (*mp_store_blocks_fn)(mp_err_t rc, const mp_block_row_t *rows, size_t n, bool has_more,
                                   void *ud);
/* The users user_id blocked, newest block first, after the position
 * (after_at, after_id) of the previous page's last row (after_at < 0: the
 * first page); limit 1..MP_BLOCKS_PAGE_MAX. */
mp_err_t mp_store_block_list(mp_store_t *st, uint64_t user_id, int64_t after_at, uint64_t after_id,
                             unsigned limit, mp_store_blocks_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* ---- privacy settings ------------------------------------------------------------ */

typedef struct mp_privacy_settings {
    mp_privacy_t message;  /* who may write to me in a direct conversation (or start one) */
    mp_privacy_t presence; /* who sees my online status and last seen */
    mp_privacy_t search;   /* who finds me in user search */
    mp_privacy_t groups;   /* who may add me to a group */
    bool receipts;         /* I send (and see) read receipts */
} mp_privacy_settings_t;

enum {
    MP_PRIVSET_MESSAGE = 1u,
    MP_PRIVSET_PRESENCE = 2u,
    MP_PRIVSET_SEARCH = 4u,
    MP_PRIVSET_GROUPS = 8u,
    MP_PRIVSET_RECEIPTS = 16u,
};

typedef void (*mp_store_privacy_fn)(mp_err_t rc, const mp_privacy_settings_t *s, void *ud);
/* The user's settings (read). MP_ERR_NOT_FOUND for an unknown user. */
mp_err_t mp_store_privacy_get(mp_store_t *st, uint64_t user_id, mp_store_privacy_fn cb, void *ud)
    __attribute__((warn_unused_result));
/* Sets the fields of `set` named in mask (MP_PRIVSET_*), and answers the
 * settings as stored afterwards. The caller updates the in-memory receipts
 * flag (core/userflags.h) from them in the callback. MP_ERR_NOT_FOUND for an
 * unknown user. */
mp_err_t mp_store_privacy_set(mp_store_t *st, uint64_t user_id, unsigned mask,
                              const mp_privacy_settings_t *set, mp_store_privacy_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* ---- facts for the loop's own checks ------------------------------------------------ */

/* What the rules of proto/privacy.h need about (actor, target), and the
 * target's settings. */
typedef struct mp_privacy_pair {
    mp_privacy_settings_t target; /* the target's settings */
    bool target_blocked_actor, actor_blocked_target;
    bool friends; /* contacts rows of the pair in state 3 */
} mp_privacy_pair_t;

typedef void (*mp_store_privacy_pair_fn)(mp_err_t rc, const mp_privacy_pair_t *p, void *ud);
/* The facts of the pair (read). MP_ERR_NOT_FOUND when target is no user. */
mp_err_t mp_store_privacy_pair(mp_store_t *st, uint64_t actor_id, uint64_t target_id,
                               mp_store_privacy_pair_fn cb, void *ud)
    __attribute__((warn_unused_result));
/* The facts of the pair for op, as the rule takes them. */
mp_privacy_facts_t mp_privacy_pair_facts(const mp_privacy_pair_t *p, mp_privacy_op_t op);

/* The presence audience of user_id (read): the users mp_store_chat_peers
 * lists (sharing a direct conversation or a group of at most
 * MP_CHAT_PRESENCE_GROUP_MAX members) whom user_id's presence setting lets
 * in and whom user_id has not blocked. */
typedef void (*mp_store_ids_fn)(mp_err_t rc, const uint64_t *users, size_t n, void *ud);
mp_err_t mp_store_presence_audience(mp_store_t *st, uint64_t user_id, mp_store_ids_fn cb, void *ud)
    __attribute__((warn_unused_result));
/* The same peers, all of them, the n_allowed the rules let in first and then
 * those they exclude: for telling both sides after a change of the rules. */
typedef void (*mp_store_split_fn)(mp_err_t rc, const uint64_t *users, size_t n, size_t n_allowed,
                                  void *ud);
mp_err_t mp_store_presence_split(mp_store_t *st, uint64_t user_id, mp_store_split_fn cb, void *ud)
    __attribute__((warn_unused_result));

#endif
