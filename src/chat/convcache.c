/* The membership cache: conversation id -> kind + members, an open-addressing
 * hash map (linear probing, backward-shift deletion). Lets the send path check
 * membership and fan out without a store round trip. */
#include <string.h>

#include "chat/chat_int.h"
#include "util/alloc.h"

struct mp_chat_cache {
    mp_chat_conv_t *slots;
    size_t mask; /* capacity - 1 (a power of two, at least twice max) */
    size_t used, max;
};

/* splitmix64 finaliser: ids are time-ordered, their low bits a counter. */
static size_t hash_id(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (size_t)x;
}

mp_chat_cache_t *mp_chat__cache_new(size_t max_entries)
{
    mp_chat_cache_t *c = mp_calloc(1, sizeof *c);
    size_t cap = 16;
    c->max = max_entries ? max_entries : 1;
    while (cap < 2 * c->max)
        cap *= 2;
    c->slots = mp_calloc(cap, sizeof *c->slots);
    c->mask = cap - 1;
    return c;
}

static void clear(mp_chat_cache_t *c)
{
    for (size_t i = 0; i <= c->mask; i++) {
        mp_free(c->slots[i].members);
        memset(&c->slots[i], 0, sizeof c->slots[i]);
    }
    c->used = 0;
}

void mp_chat__cache_free(mp_chat_cache_t *c)
{
    if (c == NULL)
        return;
    clear(c);
    mp_free(c->slots);
    mp_free(c);
}

static size_t find(const mp_chat_cache_t *c, uint64_t id)
{
    size_t i = hash_id(id) & c->mask;
    while (c->slots[i].id != 0 && c->slots[i].id != id)
        i = (i + 1) & c->mask;
    return i;
}

const mp_chat_conv_t *mp_chat__cache_get(mp_chat_cache_t *c, uint64_t id)
{
    if (id == 0)
        return NULL;
    size_t i = find(c, id);
    return c->slots[i].id == id ? &c->slots[i] : NULL;
}

const mp_chat_conv_t *mp_chat__cache_put(mp_chat_cache_t *c, uint64_t id, mp_conv_kind_t kind,
                                         const uint64_t *members, size_t n)
{
    size_t i = find(c, id);
    if (c->slots[i].id != id) {
        if (c->used >= c->max) {
            clear(c);
            i = find(c, id);
        }
        c->used++;
    }
    mp_chat_conv_t *e = &c->slots[i];
    mp_free(e->members);
    e->id = id;
    e->kind = kind;
    e->n = (uint32_t)n;
    e->members = NULL;
    if (n > 0) {
        e->members = mp_malloc(n * sizeof *members);
        memcpy(e->members, members, n * sizeof *members);
    }
    return e;
}

void mp_chat__cache_drop(mp_chat_cache_t *c, uint64_t id)
{
    size_t i = find(c, id);
    if (id == 0 || c->slots[i].id != id)
        return;
    mp_free(c->slots[i].members);
    memset(&c->slots[i], 0, sizeof c->slots[i]);
    c->used--;
    /* Backward-shift: move later entries of the probe run into the hole. */
    for (size_t j = (i + 1) & c->mask; c->slots[j].id != 0; j = (j + 1) & c->mask) {
        size_t home = hash_id(c->slots[j].id) & c->mask;
        if (((j - home) & c->mask) >= ((j - i) & c->mask)) {
            c->slots[i] = c->slots[j];
            memset(&c->slots[j], 0, sizeof c->slots[j]);
            i = j;
        }
    }
}

size_t mp_chat__cache_size(const mp_chat_cache_t *c)
{
    return c->used;
}

bool mp_chat__conv_has(const mp_chat_conv_t *e, uint64_t user)
{
    if (e->kind == MP_CONV_WORLD)
        return true;
    for (uint32_t k = 0; k < e->n; k++)
        if (e->members[k] == user)
            return true;
    return false;
}
