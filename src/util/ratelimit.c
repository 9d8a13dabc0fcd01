/* Token-bucket rate limiter: the buckets live in the tree's one map
 * (util/map.h), one small allocation per key, at most max_keys of them. */
#include "util/ratelimit.h"

#include <math.h>

#include "util/alloc.h"
#include "util/map.h"

typedef struct mp_rl_bucket {
    double tokens;
    int64_t last_ms;
} mp_rl_bucket_t;

struct mp_ratelimit {
    double capacity;
    double rate_per_ms;
    size_t max_keys;
    mp_map_t buckets; /* key -> mp_rl_bucket_t * */
    int64_t next_sweep_ms;
};

/* Sampled buckets when no bucket is full and something must go. */
#define MP_RL_SAMPLE 16
/* A full sweep costs O(keys), so under a flood of fresh keys it runs at most
 * this often; in between, eviction samples. */
#define MP_RL_SWEEP_INTERVAL_MS 1000

uint64_t mp_ratelimit_key_str(const char *s)
{
    /* FNV-1a, then a finaliser so that every bit depends on every byte. */
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

mp_ratelimit_t *mp_ratelimit_new(unsigned capacity, double refill_per_sec, size_t max_keys)
{
    mp_ratelimit_t *rl = mp_calloc(1, sizeof(*rl));

    if (capacity < 1)
        capacity = 1;
    if (!(refill_per_sec > 0))
        refill_per_sec = 1e-9;
    if (max_keys < 1)
        max_keys = 1;
    rl->capacity = capacity;
    rl->rate_per_ms = refill_per_sec / 1000.0;
    rl->max_keys = max_keys;
    mp_map_init(&rl->buckets);
    return rl;
}

void mp_ratelimit_free(mp_ratelimit_t *rl)
{
    if (!rl)
        return;
    mp_map_iter_t it;
    void *v;
    mp_map_iter_init(&rl->buckets, &it);
    while (mp_map_iter_next(&rl->buckets, &it, NULL, &v))
        mp_free(v);
    mp_map_free(&rl->buckets);
    mp_free(rl);
}

size_t mp_ratelimit_size(const mp_ratelimit_t *rl)
{
    return mp_map_len(&rl->buckets);
}

/* Brings b's tokens up to date at now_ms. */
static void mp_rl_refill(const mp_ratelimit_t *rl, mp_rl_bucket_t *b, int64_t now_ms)
{
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * rl->rate_per_ms;
        if (b->tokens > rl->capacity)
            b->tokens = rl->capacity;
        b->last_ms = now_ms;
    }
}

/* Drops every bucket that has refilled completely. */
static void mp_rl_sweep(mp_ratelimit_t *rl, int64_t now_ms)
{
    mp_map_iter_t it;
    void *v;
    mp_map_iter_init(&rl->buckets, &it);
    while (mp_map_iter_next(&rl->buckets, &it, NULL, &v)) {
        mp_rl_bucket_t *b = v;
        mp_rl_refill(rl, b, now_ms);
        if (b->tokens >= rl->capacity) {
            mp_free(b);
            mp_map_iter_del(&rl->buckets, &it);
        }
    }
}

/* Drops the fullest of up to MP_RL_SAMPLE buckets. */
static void mp_rl_evict_sample(mp_ratelimit_t *rl, int64_t now_ms)
{
    mp_map_iter_t it;
    uint64_t k, best_key = 0;
    void *v;
    mp_rl_bucket_t *best = NULL;
    int seen = 0;

    mp_map_iter_init(&rl->buckets, &it);
    while (seen < MP_RL_SAMPLE && mp_map_iter_next(&rl->buckets, &it, &k, &v)) {
        mp_rl_bucket_t *b = v;
        mp_rl_refill(rl, b, now_ms);
        if (!best || b->tokens > best->tokens) {
            best = b;
            best_key = k;
        }
        seen++;
    }
    if (best) {
        mp_map_del(&rl->buckets, best_key, NULL);
        mp_free(best);
    }
}

static void mp_rl_make_room(mp_ratelimit_t *rl, int64_t now_ms)
{
    if (now_ms >= rl->next_sweep_ms) {
        mp_rl_sweep(rl, now_ms);
        rl->next_sweep_ms = now_ms + MP_RL_SWEEP_INTERVAL_MS;
    }
    if (mp_map_len(&rl->buckets) >= rl->max_keys)
        mp_rl_evict_sample(rl, now_ms);
}

bool mp_ratelimit_take(mp_ratelimit_t *rl, uint64_t key, int64_t now_ms, int64_t *retry_after_ms)
{
    return mp_ratelimit_take_n(rl, key, 1, now_ms, retry_after_ms);
}

/* key's bucket, made full when new, refilled to now. */
static mp_rl_bucket_t *mp_rl_bucket(mp_ratelimit_t *rl, uint64_t key, int64_t now_ms)
{
    mp_rl_bucket_t *b = mp_map_get(&rl->buckets, key);

    if (!b) {
        if (mp_map_len(&rl->buckets) >= rl->max_keys)
            mp_rl_make_room(rl, now_ms);
        b = mp_malloc(sizeof(*b));
        b->tokens = rl->capacity;
        b->last_ms = now_ms;
        mp_map_put(&rl->buckets, key, b);
    }
    mp_rl_refill(rl, b, now_ms);
    return b;
}

void mp_ratelimit_charge(mp_ratelimit_t *rl, uint64_t key, unsigned n, int64_t now_ms)
{
    mp_rl_bucket_t *b = mp_rl_bucket(rl, key, now_ms);
    b->tokens -= n == 0 ? 1.0 : (double)n;
    if (b->tokens < 0)
        b->tokens = 0;
}

bool mp_ratelimit_take_n(mp_ratelimit_t *rl, uint64_t key, unsigned n, int64_t now_ms,
                         int64_t *retry_after_ms)
{
    mp_rl_bucket_t *b = mp_rl_bucket(rl, key, now_ms);
    /* More than a full bucket could never be had: a full bucket will do. */
    double cost = n == 0 ? 1.0 : (double)n;
    if (cost > rl->capacity)
        cost = rl->capacity;
    if (b->tokens >= cost - 1e-9) { /* tolerate rounding of the refill */
        b->tokens -= cost;
        return true;
    }
    if (retry_after_ms) {
        double wait = ceil((cost - b->tokens) / rl->rate_per_ms);
        *retry_after_ms = wait < 1.0 ? 1 : (wait > 9e15 ? (int64_t)9e15 : (int64_t)wait);
    }
    return false;
}

void mp_ratelimit_reset(mp_ratelimit_t *rl, uint64_t key)
{
    void *old;
    if (mp_map_del(&rl->buckets, key, &old))
        mp_free(old);
}
