/* The in-memory user flags: sets call the change hook (the cluster's way to
 * the other nodes), applies do not; a refresh from the store replaces every
 * user's flags except those changed while it was being read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/userflags.h"

typedef struct seen {
    int calls;
    uint64_t user;
    unsigned mask;
    bool on;
} seen_t;

static void on_change(void *ud, uint64_t user, unsigned mask, bool on)
{
    seen_t *s = ud;
    s->calls++;
    s->user = user;
    s->mask = mask;
    s->on = on;
}

static void test_set_and_apply(void **state)
{
    (void)state;
    mp_userflags_t *uf = mp_userflags_new();
    seen_t seen = {0};
    mp_userflags_on_change(uf, on_change, &seen);
    mp_userflags_set(uf, 5, MP_UF_ADMIN, true);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.user, 5);
    assert_int_equal(seen.mask, MP_UF_ADMIN);
    assert_true(seen.on);
    mp_userflags_apply(uf, 6, MP_UF_DISABLED, true); /* another node's change */
    assert_int_equal(seen.calls, 1);
    assert_true(mp_userflags_has(uf, 6, MP_UF_DISABLED));
    mp_userflags_on_change(uf, NULL, NULL);
    mp_userflags_set(uf, 5, MP_UF_ADMIN, false);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(mp_userflags_count(uf), 1);
    mp_userflags_free(uf);
}

static void test_refresh(void **state)
{
    (void)state;
    mp_userflags_t *uf = mp_userflags_new();
    mp_userflags_apply(uf, 1, MP_UF_ADMIN, true);    /* gone from the store: dropped */
    mp_userflags_apply(uf, 2, MP_UF_DISABLED, true); /* changed meanwhile: kept */
    mp_userflags_refresh_begin(uf);
    mp_userflags_apply(uf, 2, MP_UF_NO_RECEIPTS, true);
    mp_userflags_apply(uf, 3, MP_UF_ADMIN, true); /* set meanwhile, not in the rows: kept */
    const mp_userflag_row_t rows[] = {
        {2, false, false, false}, /* read before the change above */
        {4, false, true, false},  /* missed news: now disabled here */
        {5, false, false, false}, /* no flag: no entry */
    };
    mp_userflags_refresh_end(uf, rows, 3);
    assert_int_equal(mp_userflags_get(uf, 1), 0);
    assert_int_equal(mp_userflags_get(uf, 2), MP_UF_DISABLED | MP_UF_NO_RECEIPTS);
    assert_int_equal(mp_userflags_get(uf, 3), MP_UF_ADMIN);
    assert_int_equal(mp_userflags_get(uf, 4), MP_UF_DISABLED);
    assert_int_equal(mp_userflags_count(uf), 3);

    /* Overlapping refreshes; an aborted one changes nothing. */
    mp_userflags_refresh_begin(uf);
    mp_userflags_refresh_begin(uf);
    mp_userflags_apply(uf, 4, MP_UF_DISABLED, false);
    mp_userflags_refresh_abort(uf);
    const mp_userflag_row_t later[] = {{4, false, true, false}, {7, true, false, false}};
    mp_userflags_refresh_end(uf, later, 2);
    assert_int_equal(mp_userflags_get(uf, 4), 0); /* the change here is newer */
    assert_int_equal(mp_userflags_get(uf, 7), MP_UF_ADMIN);
    assert_int_equal(mp_userflags_get(uf, 2), 0); /* not in the rows, not touched */
    /* After the last refresh ended, changes are not remembered any more. */
    mp_userflags_apply(uf, 9, MP_UF_ADMIN, true);
    mp_userflags_refresh_begin(uf);
    mp_userflags_refresh_end(uf, NULL, 0);
    assert_int_equal(mp_userflags_count(uf), 0);
    mp_userflags_free(uf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_and_apply),
        cmocka_unit_test(test_refresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
