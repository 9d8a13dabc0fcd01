/* Open addressing with linear probing; see map.h for the contract. Deletion
 * shifts the rest of the probe run back instead of leaving tombstones. */
#include "util/map.h"

#include <assert.h>
#include <string.h>

#include "util/alloc.h"
#include "util/hash.h"

#define MIN_CAP 8

static size_t home_of(uint64_t key, size_t cap)
{
    return mp_hash_u64(key) & (cap - 1);
}

void mp_map_init(mp_map_t *m)
{
    memset(m, 0, sizeof(*m));
}

void mp_map_free(mp_map_t *m)
{
    mp_free(m->slots);
    mp_free(m->used);
    mp_map_init(m);
}

size_t mp_map_len(const mp_map_t *m)
{
    return m->len;
}

/* Slot of key, or the empty slot where it would go. cap must be > 0. */
static size_t probe(const mp_map_slot_t *slots, const uint8_t *used, size_t cap, uint64_t key)
{
    size_t i = home_of(key, cap);
    while (used[i] && slots[i].key != key)
        i = (i + 1) & (cap - 1);
    return i;
}

static void rehash(mp_map_t *m, size_t ncap)
{
    mp_map_slot_t *ns = mp_malloc(ncap * sizeof(*ns));
    uint8_t *nu = mp_calloc(ncap, 1);
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->used[i])
            continue;
        size_t j = probe(ns, nu, ncap, m->slots[i].key);
        nu[j] = 1;
        ns[j] = m->slots[i];
    }
    mp_free(m->slots);
    mp_free(m->used);
    m->slots = ns;
    m->used = nu;
    m->cap = ncap;
}

/* Keeps the load at or below 7/10 so that probe runs stay short and at least
 * one slot is always empty (probe and iteration rely on it). */
static bool fits(size_t n, size_t cap)
{
    return n * 10 <= cap * 7;
}

void mp_map_reserve(mp_map_t *m, size_t n)
{
    size_t cap = m->cap ? m->cap : MIN_CAP;
    while (!fits(n, cap))
        cap *= 2;
    if (cap != m->cap)
        rehash(m, cap);
}

/* Slot index of key, or SIZE_MAX when absent. */
static size_t find_idx(const mp_map_t *m, uint64_t key)
{
    if (m->len == 0)
        return SIZE_MAX;
    size_t i = probe(m->slots, m->used, m->cap, key);
    return m->used[i] ? i : SIZE_MAX;
}

void **mp_map_find(const mp_map_t *m, uint64_t key)
{
    size_t i = find_idx(m, key);
    return i == SIZE_MAX ? NULL : &m->slots[i].val;
}

void *mp_map_get(const mp_map_t *m, uint64_t key)
{
    void **v = mp_map_find(m, key);
    return v ? *v : NULL;
}

void **mp_map_upsert(mp_map_t *m, uint64_t key, bool *created)
{
    void **v = mp_map_find(m, key);
    if (created)
        *created = v == NULL;
    if (v)
        return v;
    mp_map_reserve(m, m->len + 1);
    size_t i = probe(m->slots, m->used, m->cap, key);
    m->used[i] = 1;
    m->slots[i].key = key;
    m->slots[i].val = NULL;
    m->len++;
    return &m->slots[i].val;
}

void *mp_map_put(mp_map_t *m, uint64_t key, void *val)
{
    void **v = mp_map_upsert(m, key, NULL);
    void *old = *v;
    *v = val;
    return old;
}

/* Empties slot i and moves back every later entry of its probe run whose home
 * does not lie in the cyclic range (i, j]: with a hole at i it would become
 * unreachable. */
static void remove_at(mp_map_t *m, size_t i)
{
    size_t mask = m->cap - 1;
    size_t j = i;
    m->used[i] = 0;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->used[j])
            break;
        size_t home = home_of(m->slots[j].key, m->cap);
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        m->slots[i] = m->slots[j];
        m->used[i] = 1;
        m->used[j] = 0;
        i = j;
    }
    m->len--;
}

bool mp_map_del(mp_map_t *m, uint64_t key, void **old)
{
    size_t i = find_idx(m, key);
    if (i == SIZE_MAX)
        return false;
    if (old)
        *old = m->slots[i].val;
    remove_at(m, i);
    return true;
}

void mp_map_iter_init(const mp_map_t *m, mp_map_iter_t *it)
{
    it->start = 0;
    it->step = 0;
    it->cur = SIZE_MAX;
    while (it->start < m->cap && m->used[it->start])
        it->start++;
}

bool mp_map_iter_next(const mp_map_t *m, mp_map_iter_t *it, uint64_t *key, void **val)
{
    /* Walking forward from an empty slot, no probe run is entered in its
     * middle: an entry that mp_map_iter_del shifts back comes from a slot not
     * visited yet, and lands in one revisited next. */
    while (it->step < m->cap) {
        size_t i = (it->start + ++it->step) & (m->cap - 1);
        if (!m->used[i])
            continue;
        it->cur = i;
        if (key)
            *key = m->slots[i].key;
        if (val)
            *val = m->slots[i].val;
        return true;
    }
    return false;
}

void mp_map_iter_del(mp_map_t *m, mp_map_iter_t *it)
{
    assert(it->cur < m->cap && m->used[it->cur]);
    remove_at(m, it->cur);
    it->cur = SIZE_MAX;
    it->step--; /* look at this slot again: a later entry may have moved in */
}
