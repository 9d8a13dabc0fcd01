/* The per-user flags kept in memory (see userflags.h). The flags are stored
 * in the map's values themselves: no allocation per user. */
#include "core/userflags.h"

#include "util/alloc.h"
#include "util/assert.h"
#include "util/map.h"

struct mp_userflags {
    mp_map_t users;   /* user id -> (void *)(uintptr_t)flags, never 0 */
    int refreshing;   /* refreshes begun and not ended */
    mp_map_t touched; /* users changed here since the first of them began (a set) */
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
    mp_map_free(&uf->touched);
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
    if (uf->refreshing > 0)
        (void)mp_map_put(&uf->touched, user_id, NULL);
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

void mp_userflags_refresh_begin(mp_userflags_t *uf)
{
    uf->refreshing++;
}

static void refresh_done(mp_userflags_t *uf)
{
    MP_ASSERT(uf->refreshing > 0);
    if (--uf->refreshing == 0)
        mp_map_free(&uf->touched);
}

void mp_userflags_refresh_abort(mp_userflags_t *uf)
{
    refresh_done(uf);
}

void mp_userflags_refresh_end(mp_userflags_t *uf, const mp_userflag_row_t *rows, size_t n)
{
    /* The new table: the rows, except the users changed here meanwhile,
     * who keep what they have now (newer than what was read). */
    mp_map_t next;
    mp_map_init(&next);
    mp_map_reserve(&next, n);
    for (size_t i = 0; i < n; i++) {
        if (mp_map_find(&uf->touched, rows[i].user_id) != NULL)
            continue;
        unsigned f = (rows[i].admin ? MP_UF_ADMIN : 0) | (rows[i].disabled ? MP_UF_DISABLED : 0) |
                     (rows[i].no_receipts ? MP_UF_NO_RECEIPTS : 0);
        if (f != 0)
            (void)mp_map_put(&next, rows[i].user_id, (void *)(uintptr_t)f);
    }
    mp_map_iter_t it;
    uint64_t user;
    mp_map_iter_init(&uf->touched, &it);
    while (mp_map_iter_next(&uf->touched, &it, &user, NULL)) {
        unsigned f = mp_userflags_get(uf, user);
        if (f != 0)
            (void)mp_map_put(&next, user, (void *)(uintptr_t)f);
    }
    mp_map_free(&uf->users);
    uf->users = next;
    refresh_done(uf);
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
