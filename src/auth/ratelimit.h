/* Token-bucket rate limiter keyed by string (usernames, peer IPs, user ids),
 * with a fixed cap on the number of keys so that a flood of distinct keys
 * cannot grow memory without bound. */
#ifndef MP_AUTH_RATELIMIT_H
#define MP_AUTH_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mp_ratelimit mp_ratelimit_t;

/* Each key gets a bucket of `capacity` tokens (the burst) that refills at
 * `refill_per_sec` tokens per second (may be fractional, e.g. 10.0 / 60 for
 * "10 per minute"); a new key starts full. At most `max_keys` keys are held:
 * when the table is full, buckets that have refilled completely (they carry no
 * information) are dropped first; if none has, the fullest of a few sampled
 * buckets is dropped (so a flood of fresh keys can at worst make the limiter
 * more lenient for some keys, never lock everyone out).
 * capacity >= 1, refill_per_sec > 0, max_keys >= 1. Never returns NULL.
 * Not thread-safe: use one limiter per loop thread. */
mp_ratelimit_t *mp_ratelimit_new(unsigned capacity, double refill_per_sec, size_t max_keys);
void mp_ratelimit_free(mp_ratelimit_t *rl);

/* Takes one token from key's bucket at time now_ms (any monotonic millisecond
 * clock, e.g. mp_mono_ms(); a clock going backwards is treated as no time
 * passing). Returns true when allowed. Returns false when the bucket is empty
 * and, if retry_after_ms is not NULL, stores there how long until one token is
 * available again (>= 1). key is copied; any length is fine. */
bool mp_ratelimit_take(mp_ratelimit_t *rl, const char *key, int64_t now_ms,
                       int64_t *retry_after_ms);

/* Forgets key (its next take starts from a full bucket). */
void mp_ratelimit_reset(mp_ratelimit_t *rl, const char *key);

/* Number of keys currently held (<= max_keys). */
size_t mp_ratelimit_size(const mp_ratelimit_t *rl);

#endif
