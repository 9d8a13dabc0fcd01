/* What any module may need to know of a user at once, without a store round
 * trip: the server-wide admin flag, a disabled account, and whether the user
 * turned read receipts off. Only users with a flag set are kept (few: admins,
 * disabled accounts, people who hide receipts), as one map entry each. Loaded
 * from the store at start; whoever changes a flag in the store sets it here
 * in the completion of that write, on the loop, so the two agree from the
 * next event on; in a cluster the hub carries the change to the other nodes
 * (mp_userflags_on_change). Loop thread only. */
#ifndef MP_CORE_USERFLAGS_H
#define MP_CORE_USERFLAGS_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

enum {
    MP_UF_ADMIN = 1u,       /* server administrator (the /v1/admin routes) */
    MP_UF_DISABLED = 2u,    /* every token, login and refresh refused */
    MP_UF_NO_RECEIPTS = 4u, /* sends no read receipts and sees none */
};

typedef struct mp_userflags mp_userflags_t;

mp_userflags_t *mp_userflags_new(void);
void mp_userflags_free(mp_userflags_t *uf);
/* Synchronous, for start-up only: loads every user with a flag set. */
mp_err_t mp_userflags_load(mp_userflags_t *uf, mp_store_t *st) __attribute__((warn_unused_result));
/* The user's flags (0 for every user without any). uf NULL answers 0. */
unsigned mp_userflags_get(const mp_userflags_t *uf, uint64_t user_id);
static inline bool mp_userflags_has(const mp_userflags_t *uf, uint64_t user_id, unsigned flag)
{
    return (mp_userflags_get(uf, user_id) & flag) != 0;
}
/* Sets (on) or clears the bits of mask for user_id, then calls the change
 * hook (if any). */
void mp_userflags_set(mp_userflags_t *uf, uint64_t user_id, unsigned mask, bool on);
/* The same without calling the hook: a change another node made. */
void mp_userflags_apply(mp_userflags_t *uf, uint64_t user_id, unsigned mask, bool on);
/* Who hears of every mp_userflags_set (the cluster tells the other nodes,
 * see hub.h); NULL to stop. */
typedef void (*mp_userflags_change_fn)(void *ud, uint64_t user_id, unsigned mask, bool on);
void mp_userflags_on_change(mp_userflags_t *uf, mp_userflags_change_fn fn, void *ud);
/* Reading the flags again while running (a node of a cluster that may have
 * missed another node's news): between begin and end, the users whose flags
 * change here keep what they have; end gives every other user exactly the
 * flags of rows (mp_store_cached_state), abort drops the refresh. Several
 * refreshes may overlap (each begin with one end or abort). */
void mp_userflags_refresh_begin(mp_userflags_t *uf);
void mp_userflags_refresh_end(mp_userflags_t *uf, const mp_userflag_row_t *rows, size_t n);
void mp_userflags_refresh_abort(mp_userflags_t *uf);
/* Number of users with at least one flag. */
size_t mp_userflags_count(const mp_userflags_t *uf);
/* Calls fn for each user with any of the bits of mask set (any order). */
void mp_userflags_each(const mp_userflags_t *uf, unsigned mask,
                       void (*fn)(uint64_t user_id, unsigned flags, void *ud), void *ud);

#endif
