/* The hash map of the tree: uint64_t keys to void * values, open addressing
 * with linear probing, backward-shift deletion (no tombstones, so lookups stay
 * short however many keys came and went) and mp_hash_u64 as the one hash.
 *
 * Ownership: the map owns its table only. It never frees, copies or looks at
 * the values; whoever puts a pointer in stays its owner (free the values
 * before mp_map_free, e.g. with an iteration). Small integers may be stored
 * as values with (void *)(uintptr_t)n.
 *
 * Every key is allowed, 0 and UINT64_MAX included. The table doubles when more
 * than 7/10 of its slots would be used and never shrinks (mp_map_free gives
 * the memory back). Not thread-safe: one owner thread per map. Pointers
 * returned by mp_map_find/mp_map_upsert stay valid until the next call that
 * inserts, deletes or reserves. */
#ifndef MP_UTIL_MAP_H
#define MP_UTIL_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mp_map_slot {
    uint64_t key;
    void *val;
} mp_map_slot_t;

/* Embed it by value; the fields are private. Zero-initialised = empty map. */
typedef struct mp_map {
    mp_map_slot_t *slots; /* NULL until the first insert */
    uint8_t *used;        /* one byte per slot: 1 = occupied */
    size_t cap;           /* 0 or a power of two >= 8 */
    size_t len;
} mp_map_t;

/* An empty map (allocates nothing). */
void mp_map_init(mp_map_t *m);
/* Frees the table (not the values) and leaves m empty and reusable. */
void mp_map_free(mp_map_t *m);
/* Number of keys. */
size_t mp_map_len(const mp_map_t *m);
/* Grows the table so that n keys fit without another allocation. */
void mp_map_reserve(mp_map_t *m, size_t n);

/* The value of key, or NULL when absent (use mp_map_find when NULL is a
 * value you store). */
void *mp_map_get(const mp_map_t *m, uint64_t key);
/* Pointer to key's value slot, or NULL when absent. */
void **mp_map_find(const mp_map_t *m, uint64_t key);
/* Pointer to key's value slot, inserting key with value NULL when absent
 * (then *created = true, else false; created may be NULL). */
void **mp_map_upsert(mp_map_t *m, uint64_t key, bool *created);
/* Sets key to val. Returns the value it replaces (NULL if key was absent),
 * so that the caller can release it. */
void *mp_map_put(mp_map_t *m, uint64_t key, void *val);
/* Removes key. Returns true if it was present, with its value in *old (old
 * may be NULL). */
bool mp_map_del(mp_map_t *m, uint64_t key, void **old);

/* Iteration in no particular order. The map must not change during an
 * iteration except through mp_map_iter_del, which removes the entry just
 * returned; every other entry is still returned exactly once.
 *
 *     mp_map_iter_t it;
 *     uint64_t k;
 *     void *v;
 *     mp_map_iter_init(m, &it);
 *     while (mp_map_iter_next(m, &it, &k, &v))
 *         ...
 */
typedef struct mp_map_iter {
    size_t start; /* an empty slot: no probe run wraps past it */
    size_t step;  /* slots visited so far */
    size_t cur;   /* slot of the entry last returned */
} mp_map_iter_t;

void mp_map_iter_init(const mp_map_t *m, mp_map_iter_t *it);
/* Next entry into *key and *val (either may be NULL). Returns false at the
 * end. */
bool mp_map_iter_next(const mp_map_t *m, mp_map_iter_t *it, uint64_t *key, void **val);
/* Removes the entry the last mp_map_iter_next returned. */
void mp_map_iter_del(mp_map_t *m, mp_map_iter_t *it);

#endif
