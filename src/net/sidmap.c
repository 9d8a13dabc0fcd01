/* The session slot table (sidmap.h). */
#include "net/sidmap.h"

#include <stddef.h>

#include "util/alloc.h"
#include "util/assert.h"

#define FREE_BIT ((uintptr_t)1)

void mp_sidmap_init(mp_sidmap_t *m)
{
    *m = (mp_sidmap_t){.gen = 1};
}

void mp_sidmap_free(mp_sidmap_t *m)
{
    mp_free(m->slot);
    *m = (mp_sidmap_t){.gen = 1};
}

void mp_sidmap_reserve(mp_sidmap_t *m, uint32_t n)
{
    if (n <= m->cap)
        return;
    uint32_t cap = m->cap ? m->cap : 64;
    while (cap < n)
        cap *= 2;
    m->slot = mp_realloc(m->slot, (size_t)cap * sizeof *m->slot);
    m->cap = cap;
}

uint64_t mp_sidmap_add(mp_sidmap_t *m, void *val)
{
    uintptr_t v = (uintptr_t)val;
    MP_ASSERT(v != 0 && !(v & FREE_BIT));
    uint32_t i;
    if (m->free != 0) {
        i = m->free - 1;
        MP_ASSERT(m->slot[i] & FREE_BIT);
        m->free = (uint32_t)(m->slot[i] >> 1);
    } else {
        MP_ASSERT(m->n < UINT32_MAX - 1);
        if (m->n == m->cap)
            mp_sidmap_reserve(m, m->n + 1);
        i = m->n++;
    }
    m->slot[i] = v;
    m->len++;
    /* Generation 0 is skipped when the counter wraps: every id is then
     * above 2^32, whatever its slot. */
    uint32_t gen = m->gen++;
    if (m->gen == 0)
        m->gen = 1;
    return (uint64_t)gen << 32 | (uint64_t)(i + 1);
}

void *mp_sidmap_slot(const mp_sidmap_t *m, uint64_t id)
{
    uint32_t i = (uint32_t)id;
    if (i == 0 || i > m->n)
        return NULL;
    uintptr_t v = m->slot[i - 1];
    return v & FREE_BIT ? NULL : (void *)v;
}

void mp_sidmap_del(mp_sidmap_t *m, uint64_t id)
{
    uint32_t i = (uint32_t)id;
    MP_ASSERT(i != 0 && i <= m->n && !(m->slot[i - 1] & FREE_BIT));
    m->slot[i - 1] = (uintptr_t)m->free << 1 | FREE_BIT;
    m->free = i;
    m->len--;
}
