/* WebSocket session id -> connection, for the mp_gw_* calls that name
 * sessions by id: a thin veneer over the tree's one map (util/map.h), kept so
 * that the server code reads in its own terms. The map costs 17 bytes per slot
 * (16-byte key/value slot + 1 `used` byte) at a load between 35 % and 70 %. */
#ifndef MP_NET_SIDMAP_H
#define MP_NET_SIDMAP_H

#include <stddef.h>
#include <stdint.h>

#include "util/map.h"

typedef mp_map_t mp_sidmap_t;

static inline void mp_sidmap_init(mp_sidmap_t *m)
{
    mp_map_init(m);
}

static inline void mp_sidmap_free(mp_sidmap_t *m)
{
    mp_map_free(m);
}

/* Inserts or replaces key. */
static inline void mp_sidmap_put(mp_sidmap_t *m, uint64_t key, void *val)
{
    (void)mp_map_put(m, key, val);
}

/* Returns the value of key or NULL. */
static inline void *mp_sidmap_get(const mp_sidmap_t *m, uint64_t key)
{
    return mp_map_get(m, key);
}

/* Removes key if present. */
static inline void mp_sidmap_del(mp_sidmap_t *m, uint64_t key)
{
    (void)mp_map_del(m, key, NULL);
}

#endif
