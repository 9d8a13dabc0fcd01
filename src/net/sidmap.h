/* WebSocket session id -> connection, for the mp_gw_* calls that name
 * sessions by id: a slot table. An id is its slot (low 32 bits, plus one,
 * so that no id is 0) and a generation (high 32 bits, counting up), so a
 * lookup is an index, not a hash, and a session costs one 8-byte slot (the
 * table doubles: 8-16 bytes) where a hash map cost ~28. A slot is reused
 * once freed: the value found may be a later session's, so the caller
 * compares the id that the value keeps with the one it looks up. Ids are
 * local to one server and never leave the process. */
#ifndef MP_NET_SIDMAP_H
#define MP_NET_SIDMAP_H

#include <stdint.h>

typedef struct mp_sidmap {
    uintptr_t *slot; /* a value, or a free slot: (next free slot + 1) << 1 | 1 */
    uint32_t n;      /* slots handed out so far (in use or free) */
    uint32_t cap;    /* slots allocated */
    uint32_t free;   /* the first free slot + 1, or 0 */
    uint32_t gen;    /* the generation of the next id */
    uint32_t len;    /* values held */
} mp_sidmap_t;

void mp_sidmap_init(mp_sidmap_t *m);
void mp_sidmap_free(mp_sidmap_t *m);
/* Allocates room for n values now (for the fuzzers' steady allocation
 * counts). */
void mp_sidmap_reserve(mp_sidmap_t *m, uint32_t n);
/* Stores val (not NULL, at least 2-byte aligned) in a free slot and returns
 * its new id. */
uint64_t mp_sidmap_add(mp_sidmap_t *m, void *val);
/* The value in id's slot, or NULL: possibly a later session's (see above). */
void *mp_sidmap_slot(const mp_sidmap_t *m, uint64_t id);
/* Frees id's slot; the caller holds it (mp_sidmap_slot(m, id) is its value). */
void mp_sidmap_del(mp_sidmap_t *m, uint64_t id);

#endif
