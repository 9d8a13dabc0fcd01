/* The guest sweep: a timer on the loop that deletes guests inactive for
 * guest_ttl seconds (store op mp_store_guest_sweep) and revokes their devices
 * in memory, which closes their WebSocket sessions. What other modules must
 * do about the deleted guests (groups that changed hands) goes through a hook
 * that the composition root wires. The same timer deletes accounts that
 * never verified their e-mail address within email_pending_ttl seconds. */
#ifndef MP_AUTH_SWEEP_H
#define MP_AUTH_SWEEP_H

#include <stdint.h>
#include <uv.h>

#include "auth/auth.h"
#include "config/config.h"
#include "store/store.h"
#include "store/world.h"

typedef struct mp_sweep mp_sweep_t;

/* Called on the loop after each sweep that succeeded, once the swept guests'
 * devices are revoked: out->msgs are the system messages of groups that lost
 * their owner (forget their cached membership, deliver them). Only valid
 * during the call. */
typedef void (*mp_sweep_hook_fn)(void *ud, const mp_guest_sweep_out_t *out);

/* The timer period: min(guest_ttl / 4, guest_sweep_interval), at least 10 ms. */
uint64_t mp_sweep_interval_ms(unsigned guest_ttl_s, unsigned sweep_interval_ms);

/* Starts the timer on loop (cfg, store and auth must outlive mp_sweep_free;
 * hook may be NULL). Never returns NULL. */
mp_sweep_t *mp_sweep_start(uv_loop_t *loop, const mp_config_t *cfg, mp_store_t *store,
                           mp_auth_t *auth, mp_sweep_hook_fn hook, void *hook_ud);

/* Runs one sweep now (unless one is in flight); for tests. */
void mp_sweep_run(mp_sweep_t *sw);

/* Number of guests deleted since start. */
uint64_t mp_sweep_deleted(const mp_sweep_t *sw);

/* Stops the timer. The memory is released once the timer handle has closed
 * and a sweep still in the store has completed, so run the loop afterwards
 * (as teardown does). From this call on, completions touch nothing outside
 * the sweep. NULL is ignored. */
void mp_sweep_free(mp_sweep_t *sw);

#endif
