/* The guest sweep: a timer on the core loop that deletes guests inactive for
 * guest_ttl seconds (store op mp_store_guest_sweep) and revokes their devices
 * in memory, which closes their WebSocket sessions. */
#ifndef MP_CORE_SWEEP_H
#define MP_CORE_SWEEP_H

#include <stdint.h>

struct mp_app;
typedef struct mp_sweep mp_sweep_t;

/* The timer period: min(guest_ttl / 4, guest_sweep_interval), at least 10 ms. */
uint64_t mp_sweep_interval_ms(unsigned guest_ttl_s, unsigned sweep_interval_ms);

/* Starts the timer on app->loop (app->cfg, ->store and ->auth must be set and
 * outlive mp_sweep_free). Never returns NULL. */
mp_sweep_t *mp_sweep_start(struct mp_app *app);

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
