/* The per-user flags kept in memory (see userflags.h). The flags are stored
 * in the map's values themselves: no allocation per user. */
#include "core/userflags.h"

#include "util/alloc.h"
#include "util/assert.h"
#include "util/map.h"

struct mp_userflags {
    mp_map_t users; /* user id -> (void *)(uintptr_t)flags, never 0 */
    mp_userflags_change_fn changed;
    void *changed_ud;
};

mp_userflags_t *mp_userflags_new(void)
{
    mp_userflags_t *uf = mp_calloc(1, sizeof *uf);
    mp_map_init(&uf->users);
    return uf;
}

void mp_userflags_free(mp_userflags_t *uf)
{
    if (uf == NULL)
        return;
    mp_map_free(&uf->users);
    mp_free(uf);
}

static void load_one(uint64_t user_id, bool admin, bool disabled, bool no_receipts, void *ud)
{
    unsigned f = (admin ? MP_UF_ADMIN : 0) | (disabled ? MP_UF_DISABLED : 0) |
                 (no_receipts ? MP_UF_NO_RECEIPTS : 0);
    mp_userflags_apply(ud, user_id, f, true);
}

mp_err_t mp_userflags_load(mp_userflags_t *uf, mp_store_t *st)
{
    return mp_store_userflags_load(st, load_one, uf);
}

unsigned mp_userflags_get(const mp_userflags_t *uf, uint64_t user_id)
{
    if (uf == NULL)
        return 0;
    return (unsigned)(uintptr_t)mp_map_get(&uf->users, user_id);
}

void mp_userflags_apply(mp_userflags_t *uf, uint64_t user_id, unsigned mask, bool on)
{
    MP_ASSERT(uf != NULL);
    unsigned f = mp_userflags_get(uf, user_id);
    f = on ? (f | mask) : (f & ~mask);
    if (f == 0)
        mp_map_del(&uf->users, user_id, NULL);
    else
        mp_map_put(&uf->users, user_id, (void *)(uintptr_t)f);
}

void mp_userflags_set(mp_userflags_t *uf, uint64_t user_id, unsigned mask, bool on)
{
    mp_userflags_apply(uf, user_id, mask, on);
    if (uf->changed != NULL)
        uf->changed(uf->changed_ud, user_id, mask, on);
}

void mp_userflags_on_change(mp_userflags_t *uf, mp_userflags_change_fn fn, void *ud)
{
    uf->changed = fn;
    uf->changed_ud = ud;
}

size_t mp_userflags_count(const mp_userflags_t *uf)
{
    return mp_map_len(&uf->users);
}

void mp_userflags_each(const mp_userflags_t *uf, unsigned mask,
                       void (*fn)(uint64_t user_id, unsigned flags, void *ud), void *ud)
{
    mp_map_iter_t it;
    uint64_t k;
    void *v;
    mp_map_iter_init(&uf->users, &it);
    while (mp_map_iter_next(&uf->users, &it, &k, &v)) {
        unsigned f = (unsigned)(uintptr_t)v;
        if (f & mask)
            fn(k, f, ud);
    }
}
