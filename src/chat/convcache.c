/* The membership cache: conversation id -> kind + members, on the tree's map
 * (util/map.h) with one allocated entry per conversation. Lets the send path
 * check membership and fan out without a store round trip. */
#include <stdlib.h>
#include <string.h>

#include "chat/chat_int.h"
#include "util/alloc.h"
#include "util/map.h"

struct mp_chat_cache {
    mp_map_t convs; /* id -> mp_chat_conv_t * (owned) */
    size_t max;
};

mp_chat_cache_t *mp_chat__cache_new(size_t max_entries)
{
    mp_chat_cache_t *c = mp_calloc(1, sizeof *c);
    c->max = max_entries ? max_entries : 1;
    mp_map_init(&c->convs);
    return c;
}

static void entry_free(mp_chat_conv_t *e)
{
    mp_free(e->members);
    memset(e, 0, sizeof *e);
}

/* Frees every entry; the table keeps its size for the refill. */
static void clear(mp_chat_cache_t *c)
{
    mp_map_iter_t it;
    void *e;
    mp_map_iter_init(&c->convs, &it);
    while (mp_map_iter_next(&c->convs, &it, NULL, &e)) {
        entry_free(e);
        mp_free(e);
        mp_map_iter_del(&c->convs, &it);
    }
}

void mp_chat__cache_free(mp_chat_cache_t *c)
{
    if (c == NULL)
        return;
    clear(c);
    mp_map_free(&c->convs);
    mp_free(c);
}

const mp_chat_conv_t *mp_chat__cache_get(mp_chat_cache_t *c, uint64_t id)
{
    return mp_map_get(&c->convs, id);
}

static void *dup_array(const void *src, size_t n, size_t size)
{
    if (n == 0 || src == NULL)
        return NULL;
    void *p = mp_malloc(n * size);
    memcpy(p, src, n * size);
    return p;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The (emptied) entry for id, inserting it when absent. */
static mp_chat_conv_t *slot_for(mp_chat_cache_t *c, uint64_t id)
{
    mp_chat_conv_t *e = mp_map_get(&c->convs, id);
    if (e != NULL) {
        entry_free(e);
    } else {
        if (mp_map_len(&c->convs) >= c->max)
            clear(c);
        e = mp_calloc(1, sizeof *e);
        (void)mp_map_put(&c->convs, id, e);
    }
    e->id = id;
    return e;
}

const mp_chat_conv_t *mp_chat__cache_put(mp_chat_cache_t *c, uint64_t id, mp_conv_kind_t kind,
                                         const uint64_t *members, size_t n)
{
    mp_chat_conv_t *e = slot_for(c, id);
    e->kind = kind;
    e->n = (uint32_t)n;
    e->members = dup_array(members, n, sizeof *members);
    if (n > 1)
        qsort(e->members, n, sizeof *e->members, cmp_u64); /* conv_has bisects */
    return e;
}

const mp_chat_conv_t *mp_chat__cache_put_row(mp_chat_cache_t *c, uint64_t id,
                                             const mp_group_conv_row_t *row)
{
    mp_chat_conv_t *e = slot_for(c, id);
    e->kind = row->kind;
    e->n = (uint32_t)row->n;
    e->members = dup_array(row->members, row->n, sizeof *row->members); /* ascending */
    e->dissolved = row->dissolved;
    return e;
}

void mp_chat__cache_drop(mp_chat_cache_t *c, uint64_t id)
{
    void *e;
    if (!mp_map_del(&c->convs, id, &e))
        return;
    entry_free(e);
    mp_free(e);
}

size_t mp_chat__cache_size(const mp_chat_cache_t *c)
{
    return mp_map_len(&c->convs);
}

/* Index of user in the ascending ids[0..n), or -1. */
static long bisect(const uint64_t *ids, uint32_t n, uint64_t user)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < user)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && ids[lo] == user ? (long)lo : -1;
}

bool mp_chat__conv_has(const mp_chat_conv_t *e, uint64_t user)
{
    if (e->kind == MP_CONV_WORLD)
        return true;
    return bisect(e->members, e->n, user) >= 0;
}
