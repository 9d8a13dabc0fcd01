/* Linear probing with backward-shift deletion: no tombstones, so lookups stay
 * short however many sessions came and went. */
#include "net/sidmap.h"

#include "util/alloc.h"

static size_t slot_of(uint64_t key, size_t cap)
{
    /* Session ids are sequential; a multiplicative hash spreads them. */
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

void mp_sidmap_init(mp_sidmap_t *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->len = 0;
}

void mp_sidmap_free(mp_sidmap_t *m)
{
    mp_free(m->slots);
    mp_sidmap_init(m);
}

static void insert_slot(mp_sidmap_slot_t *slots, size_t cap, uint64_t key, void *val)
{
    size_t i = slot_of(key, cap);
    while (slots[i].key != 0 && slots[i].key != key)
        i = (i + 1) & (cap - 1);
    slots[i].key = key;
    slots[i].val = val;
}

static void grow(mp_sidmap_t *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    mp_sidmap_slot_t *ns = mp_calloc(ncap, sizeof(*ns));
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key != 0)
            insert_slot(ns, ncap, m->slots[i].key, m->slots[i].val);
    mp_free(m->slots);
    m->slots = ns;
    m->cap = ncap;
}

void mp_sidmap_put(mp_sidmap_t *m, uint64_t key, void *val)
{
    if ((m->len + 1) * 10 > m->cap * 7)
        grow(m);
    if (mp_sidmap_get(m, key) == NULL)
        m->len++;
    insert_slot(m->slots, m->cap, key, val);
}

static size_t find(const mp_sidmap_t *m, uint64_t key)
{
    if (m->cap == 0 || key == 0)
        return SIZE_MAX;
    size_t i = slot_of(key, m->cap);
    while (m->slots[i].key != 0) {
        if (m->slots[i].key == key)
            return i;
        i = (i + 1) & (m->cap - 1);
    }
    return SIZE_MAX;
}

void *mp_sidmap_get(const mp_sidmap_t *m, uint64_t key)
{
    size_t i = find(m, key);
    return i == SIZE_MAX ? NULL : m->slots[i].val;
}

void mp_sidmap_del(mp_sidmap_t *m, uint64_t key)
{
    size_t i = find(m, key);
    if (i == SIZE_MAX)
        return;
    size_t mask = m->cap - 1;
    size_t j = i;
    /* Shift back every following entry whose home slot does not lie in the
     * cyclic range (i, j]: it would otherwise become unreachable. */
    for (;;) {
        m->slots[i].key = 0;
        m->slots[i].val = NULL;
        for (;;) {
            j = (j + 1) & mask;
            if (m->slots[j].key == 0) {
                m->len--;
                return;
            }
            size_t home = slot_of(m->slots[j].key, m->cap);
            int stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays)
                break;
        }
        m->slots[i] = m->slots[j];
        i = j;
    }
}
