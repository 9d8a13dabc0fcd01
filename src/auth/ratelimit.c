/* Token-bucket rate limiter: an open-addressing hash table (linear probing,
 * backward-shift deletion) of at most max_keys buckets. */
#include "auth/ratelimit.h"

#include <math.h>
#include <string.h>

#include "util/alloc.h"

typedef struct mp_rl_bucket {
    char *key; /* NULL = empty slot */
    uint64_t hash;
    double tokens;
    int64_t last_ms;
} mp_rl_bucket_t;

struct mp_ratelimit {
    double capacity;
    double rate_per_ms;
    size_t max_keys;
    size_t count;
    size_t mask; /* slots - 1; slots is a power of two >= 2 * max_keys */
    mp_rl_bucket_t *slots;
    int64_t next_sweep_ms;
    size_t sample_pos; /* where the next eviction sample starts */
};

/* Sampled buckets when no bucket is full and something must go. */
#define MP_RL_SAMPLE 16
/* A full sweep costs O(slots), so under a flood of fresh keys it runs at most
 * this often; in between, eviction samples. */
#define MP_RL_SWEEP_INTERVAL_MS 1000

static uint64_t mp_rl_hash(const char *s)
{
    /* FNV-1a, then a finaliser so that low bits (used for the index) mix well. */
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
    size_t slots = 2;

    if (capacity < 1)
        capacity = 1;
    if (!(refill_per_sec > 0))
        refill_per_sec = 1e-9;
    if (max_keys < 1)
        max_keys = 1;
    while (slots < 2 * max_keys)
        slots *= 2;
    rl->capacity = capacity;
    rl->rate_per_ms = refill_per_sec / 1000.0;
    rl->max_keys = max_keys;
    rl->mask = slots - 1;
    rl->slots = mp_calloc(slots, sizeof(*rl->slots));
    return rl;
}

void mp_ratelimit_free(mp_ratelimit_t *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i <= rl->mask; i++)
        mp_free(rl->slots[i].key);
    mp_free(rl->slots);
    mp_free(rl);
}

size_t mp_ratelimit_size(const mp_ratelimit_t *rl)
{
    return rl->count;
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

static bool mp_rl_is_full(const mp_ratelimit_t *rl, mp_rl_bucket_t *b, int64_t now_ms)
{
    mp_rl_refill(rl, b, now_ms);
    return b->tokens >= rl->capacity;
}

/* Slot of key, or the empty slot where it would go. */
static size_t mp_rl_find(const mp_ratelimit_t *rl, const char *key, uint64_t h)
{
    size_t i = (size_t)h & rl->mask;
    while (rl->slots[i].key && !(rl->slots[i].hash == h && strcmp(rl->slots[i].key, key) == 0))
        i = (i + 1) & rl->mask;
    return i;
}

/* Removes slot i, shifting later members of its probe run back so that
 * lookups never stop early at a hole (no tombstones needed). */
static void mp_rl_remove_at(mp_ratelimit_t *rl, size_t i)
{
    size_t j = i;

    mp_free(rl->slots[i].key);
    rl->slots[i].key = NULL;
    rl->count--;
    for (;;) {
        j = (j + 1) & rl->mask;
        if (!rl->slots[j].key)
            return;
        size_t home = (size_t)rl->slots[j].hash & rl->mask;
        /* Move j into the hole i unless its home lies cyclically in (i, j]. */
        bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            rl->slots[i] = rl->slots[j];
            rl->slots[j].key = NULL;
            i = j;
        }
    }
}

/* Drops every bucket that has refilled completely. */
static void mp_rl_sweep(mp_ratelimit_t *rl, int64_t now_ms)
{
    size_t i = 0;
    while (i <= rl->mask) {
        /* After a removal slot i may hold a shifted-back bucket: look again. */
        if (rl->slots[i].key && mp_rl_is_full(rl, &rl->slots[i], now_ms))
            mp_rl_remove_at(rl, i);
        else
            i++;
    }
}

/* Drops the fullest of up to MP_RL_SAMPLE occupied buckets. */
static void mp_rl_evict_sample(mp_ratelimit_t *rl, int64_t now_ms)
{
    size_t best = SIZE_MAX, seen = 0, i = rl->sample_pos & rl->mask;

    for (size_t step = 0; step <= rl->mask && seen < MP_RL_SAMPLE; step++) {
        mp_rl_bucket_t *b = &rl->slots[i];
        if (b->key) {
            mp_rl_refill(rl, b, now_ms);
            if (best == SIZE_MAX || b->tokens > rl->slots[best].tokens)
                best = i;
            seen++;
        }
        i = (i + 1) & rl->mask;
    }
    rl->sample_pos = i;
    if (best != SIZE_MAX)
        mp_rl_remove_at(rl, best);
}

static void mp_rl_make_room(mp_ratelimit_t *rl, int64_t now_ms)
{
    if (now_ms >= rl->next_sweep_ms) {
        mp_rl_sweep(rl, now_ms);
        rl->next_sweep_ms = now_ms + MP_RL_SWEEP_INTERVAL_MS;
    }
    if (rl->count >= rl->max_keys)
        mp_rl_evict_sample(rl, now_ms);
}

bool mp_ratelimit_take(mp_ratelimit_t *rl, const char *key, int64_t now_ms, int64_t *retry_after_ms)
{
    uint64_t h = mp_rl_hash(key);
    size_t i = mp_rl_find(rl, key, h);
    mp_rl_bucket_t *b = &rl->slots[i];

    if (!b->key) {
        if (rl->count >= rl->max_keys) {
            mp_rl_make_room(rl, now_ms);
            i = mp_rl_find(rl, key, h); /* removals shift buckets */
            b = &rl->slots[i];
        }
        b->key = mp_strdup(key);
        b->hash = h;
        b->tokens = rl->capacity;
        b->last_ms = now_ms;
        rl->count++;
    }
    mp_rl_refill(rl, b, now_ms);
    if (b->tokens >= 1.0 - 1e-9) { /* tolerate rounding of the refill */
        b->tokens -= 1.0;
        return true;
    }
    if (retry_after_ms) {
        double wait = ceil((1.0 - b->tokens) / rl->rate_per_ms);
        *retry_after_ms = wait < 1.0 ? 1 : (wait > 9e15 ? (int64_t)9e15 : (int64_t)wait);
    }
    return false;
}

void mp_ratelimit_reset(mp_ratelimit_t *rl, const char *key)
{
    uint64_t h = mp_rl_hash(key);
    size_t i = mp_rl_find(rl, key, h);
    if (rl->slots[i].key)
        mp_rl_remove_at(rl, i);
}
