/* Account deletion's parts that the composition root wires: the hook that
 * tells other modules what a deletion changed, and the grace sweep, a timer
 * that frees the usernames of accounts deleted account_delete_grace ago
 * (docs/protocol.md "Deleting an account"). */
#ifndef MP_AUTH_DELETION_H
#define MP_AUTH_DELETION_H

#include <stdint.h>
#include <uv.h>

#include "auth/auth.h"
#include "config/config.h"
#include "store/deletion.h"
#include "store/store.h"

/* Called on the loop after each deletion that succeeded, once the account's
 * devices are revoked: out->base.msgs are the system messages of the groups
 * it left or that changed hands (forget their cached membership, deliver
 * them); out->peers lost their contact entry with it. Only valid during the
 * call. */
typedef void (*mp_auth_deleted_fn)(void *ud, const mp_account_delete_out_t *out);

/* Sets the hook (NULL: none). */
void mp_auth_on_deleted(mp_auth_t *auth, mp_auth_deleted_fn fn, void *ud);

typedef struct mp_grace mp_grace_t;

/* Starts the grace sweep on loop: every min(grace / 4, 1 hour) (at least
 * 10 ms) it renames, in batches, the accounts deleted more than
 * cfg->account_delete_grace_ms ago (mp_store_account_release_names); in a
 * cluster only the node that leads (mp_hub_leader) does. cfg, store and hub
 * (may be NULL) must outlive mp_grace_free. Never returns NULL. */
mp_grace_t *mp_grace_start(uv_loop_t *loop, const mp_config_t *cfg, mp_store_t *store,
                           mp_hub_t *hub);

/* Runs one sweep now (unless one is in flight); for tests. */
void mp_grace_run(mp_grace_t *g);

/* Stops the timer; the memory goes once the handle has closed and a job
 * still in the store has completed (run the loop afterwards). NULL is
 * ignored. */
void mp_grace_free(mp_grace_t *g);

#endif
