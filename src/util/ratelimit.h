/* Token-bucket rate limiter keyed by a 64-bit number (a user or device id, an
 * IP address, a hash of a name), with a fixed cap on the number of keys so
 * that a flood of distinct keys cannot grow memory without bound. */
#ifndef MP_UTIL_RATELIMIT_H
#define MP_UTIL_RATELIMIT_H

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
 * available again (>= 1). Every key is allowed, 0 included. */
bool mp_ratelimit_take(mp_ratelimit_t *rl, uint64_t key, int64_t now_ms, int64_t *retry_after_ms);

/* The same for a request that costs n tokens (one per message of a
 * forward): all of them or none. A cost above the capacity is taken as the
 * capacity, so that the largest request is possible on a full bucket. n 0
 * counts as 1. */
bool mp_ratelimit_take_n(mp_ratelimit_t *rl, uint64_t key, unsigned n, int64_t now_ms,
                         int64_t *retry_after_ms);

/* Takes n tokens (0 counts as 1) from key's bucket whatever it holds: a bucket
 * with fewer is left empty. For tokens taken elsewhere (another node of a
 * cluster took them for the same key), which must count here too. */
void mp_ratelimit_charge(mp_ratelimit_t *rl, uint64_t key, unsigned n, int64_t now_ms);

/* Forgets key (its next take starts from a full bucket). */
void mp_ratelimit_reset(mp_ratelimit_t *rl, uint64_t key);

/* Number of keys currently held (<= max_keys). */
size_t mp_ratelimit_size(const mp_ratelimit_t *rl);

/* A key for a string (e.g. a lower-cased username): a 64-bit hash of it. Two
 * strings with the same hash share one bucket, which can only make the limit
 * stricter for both, never looser; with 64 bits that takes about 2^32 names. */
uint64_t mp_ratelimit_key_str(const char *s);

#endif
