/* A small open-addressing hash map from WebSocket session id to connection:
 * O(1) lookups for mp_gw_* calls that name sessions by id. */
#ifndef MP_NET_SIDMAP_H
#define MP_NET_SIDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct mp_sidmap_slot {
    uint64_t key; /* 0 = empty (session ids start at 1) */
    void *val;
} mp_sidmap_slot_t;

typedef struct mp_sidmap {
    mp_sidmap_slot_t *slots; /* NULL until the first insert */
    size_t cap;              /* power of two */
    size_t len;
} mp_sidmap_t;

void mp_sidmap_init(mp_sidmap_t *m);
void mp_sidmap_free(mp_sidmap_t *m);
/* Inserts or replaces key (must be non-zero). */
void mp_sidmap_put(mp_sidmap_t *m, uint64_t key, void *val);
/* Returns the value of key or NULL. */
void *mp_sidmap_get(const mp_sidmap_t *m, uint64_t key);
/* Removes key if present. */
void mp_sidmap_del(mp_sidmap_t *m, uint64_t key);

#endif
