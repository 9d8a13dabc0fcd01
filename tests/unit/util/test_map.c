/* The hash map: insert/get/replace/delete, deletion inside collision runs,
 * growth, iteration with deletes, extreme keys, and a randomized run against
 * a sorted-array reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/hash.h"
#include "util/map.h"

#define V(n) ((void *)(uintptr_t)(n))

/* Bytes the allocator counts (0 in builds without the count, e.g. Release:
 * then only LeakSanitizer checks that mp_map_free gives everything back). */
static size_t alloc_used(void)
{
#ifdef MP_ALLOC_STATS
    return mp_alloc_used();
#else
    return 0;
#endif
}

static void test_basic(void **state)
{
    (void)state;
    size_t base = alloc_used();
    mp_map_t m;
    mp_map_init(&m);
    assert_int_equal(mp_map_len(&m), 0);
    assert_null(mp_map_get(&m, 42));
    assert_null(mp_map_find(&m, 42));
    assert_false(mp_map_del(&m, 42, NULL));

    assert_null(mp_map_put(&m, 42, V(1)));
    assert_int_equal(mp_map_len(&m), 1);
    assert_ptr_equal(mp_map_get(&m, 42), V(1));
    /* Replacing returns the old value and keeps the count. */
    assert_ptr_equal(mp_map_put(&m, 42, V(2)), V(1));
    assert_int_equal(mp_map_len(&m), 1);
    assert_ptr_equal(mp_map_get(&m, 42), V(2));

    /* A NULL value is present for find, absent-looking for get. */
    mp_map_put(&m, 7, NULL);
    assert_non_null(mp_map_find(&m, 7));
    assert_null(mp_map_get(&m, 7));
    assert_int_equal(mp_map_len(&m), 2);

    bool created;
    void **slot = mp_map_upsert(&m, 9, &created);
    assert_true(created);
    assert_null(*slot);
    *slot = V((uintptr_t)*slot + 5);
    slot = mp_map_upsert(&m, 9, &created);
    assert_false(created);
    assert_ptr_equal(*slot, V(5));

    void *old = NULL;
    assert_true(mp_map_del(&m, 42, &old));
    assert_ptr_equal(old, V(2));
    assert_null(mp_map_find(&m, 42));
    assert_false(mp_map_del(&m, 42, &old));
    assert_int_equal(mp_map_len(&m), 2);

    mp_map_free(&m);
    assert_int_equal(mp_map_len(&m), 0);
    assert_int_equal(alloc_used(), base); /* the table was all it held */
    /* Reusable after free. */
    mp_map_put(&m, 1, V(1));
    assert_ptr_equal(mp_map_get(&m, 1), V(1));
    mp_map_free(&m);
}

static void test_extreme_keys(void **state)
{
    (void)state;
    mp_map_t m;
    mp_map_init(&m);
    mp_map_put(&m, 0, V(10));
    mp_map_put(&m, UINT64_MAX, V(20));
    assert_int_equal(mp_map_len(&m), 2);
    assert_ptr_equal(mp_map_get(&m, 0), V(10));
    assert_ptr_equal(mp_map_get(&m, UINT64_MAX), V(20));
    assert_null(mp_map_get(&m, 1));
    assert_true(mp_map_del(&m, 0, NULL));
    assert_null(mp_map_find(&m, 0));
    assert_ptr_equal(mp_map_get(&m, UINT64_MAX), V(20));
    assert_true(mp_map_del(&m, UINT64_MAX, NULL));
    assert_int_equal(mp_map_len(&m), 0);
    mp_map_free(&m);
}

/* n keys whose home slot in a table of cap slots is home. */
static void keys_at(size_t cap, size_t home, uint64_t *out, size_t n)
{
    size_t got = 0;
    for (uint64_t k = 0; got < n; k++)
        if ((mp_hash_u64(k) & (cap - 1)) == home)
            out[got++] = k;
}

static void test_collisions(void **state)
{
    (void)state;
    mp_map_t m;
    mp_map_init(&m);
    mp_map_reserve(&m, 5);
    assert_int_equal(m.cap, 8); /* the smallest table: 5 keys fit */
    /* Three keys share home slot 6 (their run wraps around the end), two
     * have home 7 and 0 and sit inside that run. */
    uint64_t a[3], b[1], c[1];
    keys_at(8, 6, a, 3);
    keys_at(8, 7, b, 1);
    keys_at(8, 0, c, 1);
    uint64_t all[5] = {a[0], a[1], b[0], a[2], c[0]};
    for (int i = 0; i < 5; i++)
        mp_map_put(&m, all[i], V(i + 1));
    assert_int_equal(m.cap, 8);
    for (int i = 0; i < 5; i++)
        assert_ptr_equal(mp_map_get(&m, all[i]), V(i + 1));
    /* Deleting the head of the run must keep every later key reachable,
     * including the ones that wrapped to slots 0 and 1. */
    assert_true(mp_map_del(&m, a[0], NULL));
    for (int i = 1; i < 5; i++)
        assert_ptr_equal(mp_map_get(&m, all[i]), V(i + 1));
    assert_true(mp_map_del(&m, b[0], NULL));
    assert_ptr_equal(mp_map_get(&m, a[1]), V(2));
    assert_ptr_equal(mp_map_get(&m, a[2]), V(4));
    assert_ptr_equal(mp_map_get(&m, c[0]), V(5));
    assert_null(mp_map_get(&m, a[0]));
    assert_null(mp_map_get(&m, b[0]));
    /* Re-insert into the holes and delete from the middle. */
    mp_map_put(&m, a[0], V(11));
    assert_true(mp_map_del(&m, a[2], NULL));
    assert_ptr_equal(mp_map_get(&m, a[0]), V(11));
    assert_ptr_equal(mp_map_get(&m, a[1]), V(2));
    assert_ptr_equal(mp_map_get(&m, c[0]), V(5));
    assert_int_equal(mp_map_len(&m), 3);
    /* No key left sits more than its run away: every slot is either empty
     * or reachable from its home without crossing an empty slot. */
    for (size_t i = 0; i < m.cap; i++) {
        if (!m.used[i])
            continue;
        for (size_t j = mp_hash_u64(m.slots[i].key) & 7; j != i; j = (j + 1) & 7)
            assert_true(m.used[j]);
    }
    mp_map_free(&m);
}

static void test_growth(void **state)
{
    (void)state;
    mp_map_t m;
    mp_map_init(&m);
    size_t last_cap = 0;
    int grew = 0;
    for (uint64_t k = 1; k <= 100000; k++) {
        mp_map_put(&m, k * 0x10001, V(k));
        assert_true(mp_map_len(&m) * 10 <= m.cap * 7); /* load stays <= 0.7 */
        if (m.cap != last_cap) {
            grew++;
            last_cap = m.cap;
        }
    }
    assert_true(grew > 10);
    for (uint64_t k = 1; k <= 100000; k++)
        assert_ptr_equal(mp_map_get(&m, k * 0x10001), V(k));
    assert_null(mp_map_get(&m, 3));
    /* Reserving what already fits allocates nothing. */
    size_t cap = m.cap;
    mp_map_reserve(&m, 1000);
    assert_int_equal(m.cap, cap);
    mp_map_free(&m);
}

static void test_iteration(void **state)
{
    (void)state;
    enum { N = 1000 };
    mp_map_t m;
    mp_map_init(&m);
    mp_map_iter_t it;
    mp_map_iter_init(&m, &it);
    assert_false(mp_map_iter_next(&m, &it, NULL, NULL)); /* empty, no table */
    for (uint64_t k = 0; k < N; k++)
        mp_map_put(&m, k, V(k + 1));
    /* Delete every third key, then iterate: each survivor exactly once. */
    for (uint64_t k = 0; k < N; k += 3)
        assert_true(mp_map_del(&m, k, NULL));
    static unsigned seen[N];
    memset(seen, 0, sizeof seen);
    uint64_t key;
    void *val;
    size_t n = 0;
    mp_map_iter_init(&m, &it);
    while (mp_map_iter_next(&m, &it, &key, &val)) {
        assert_true(key < N && key % 3 != 0);
        assert_ptr_equal(val, V(key + 1));
        seen[key]++;
        n++;
    }
    assert_int_equal(n, mp_map_len(&m));
    for (uint64_t k = 0; k < N; k++)
        assert_int_equal(seen[k], k % 3 ? 1 : 0);

    /* Deleting during the iteration (every even key) still visits every key
     * exactly once, even those shifted back into already-seen slots. */
    memset(seen, 0, sizeof seen);
    mp_map_iter_init(&m, &it);
    while (mp_map_iter_next(&m, &it, &key, NULL)) {
        seen[key]++;
        if (key % 2 == 0)
            mp_map_iter_del(&m, &it);
    }
    for (uint64_t k = 0; k < N; k++) {
        assert_int_equal(seen[k], k % 3 ? 1 : 0);
        assert_true((mp_map_find(&m, k) != NULL) == (k % 3 != 0 && k % 2 != 0));
    }
    /* Deleting everything while iterating empties the map. */
    mp_map_iter_init(&m, &it);
    while (mp_map_iter_next(&m, &it, NULL, NULL))
        mp_map_iter_del(&m, &it);
    assert_int_equal(mp_map_len(&m), 0);
    mp_map_free(&m);
}

/* Reference: a sorted array of (key, value). */
typedef struct {
    uint64_t key;
    uintptr_t val;
} ref_t;

static size_t ref_find(const ref_t *r, size_t n, uint64_t key, bool *found)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < n && r[lo].key == key;
    return lo;
}

static uint64_t rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void test_random_against_reference(void **state)
{
    (void)state;
    enum { OPS = 200000, MAXN = 4096 };
    ref_t *ref = malloc(MAXN * sizeof(*ref));
    size_t n = 0;
    uint64_t seed = 12345;
    mp_map_t m;
    mp_map_init(&m);
    for (int op = 0; op < OPS; op++) {
        uint64_t r = rng(&seed);
        /* A small key space so that puts replace and deletes hit; the top
         * bits mix in 0 and UINT64_MAX as well. */
        uint64_t key = (r >> 8) % 3000;
        if (key == 2999)
            key = UINT64_MAX;
        else if (key == 2998)
            key = 0;
        bool found;
        size_t pos = ref_find(ref, n, key, &found);
        switch (r & 3) {
        case 0:
        case 1: { /* put */
            uintptr_t v = (uintptr_t)(rng(&seed) | 1);
            void *old = mp_map_put(&m, key, V(v));
            if (found) {
                assert_ptr_equal(old, V(ref[pos].val));
                ref[pos].val = v;
            } else {
                assert_null(old);
                assert_true(n < MAXN);
                memmove(ref + pos + 1, ref + pos, (n - pos) * sizeof(*ref));
                ref[pos].key = key;
                ref[pos].val = v;
                n++;
            }
            break;
        }
        case 2: { /* delete */
            void *old = NULL;
            assert_int_equal(mp_map_del(&m, key, &old), found);
            if (found) {
                assert_ptr_equal(old, V(ref[pos].val));
                memmove(ref + pos, ref + pos + 1, (n - pos - 1) * sizeof(*ref));
                n--;
            }
            break;
        }
        default: /* get */
            assert_ptr_equal(mp_map_get(&m, key), found ? V(ref[pos].val) : NULL);
            break;
        }
        assert_int_equal(mp_map_len(&m), n);
        if (op % 20000 == 0) { /* full comparison through iteration */
            size_t count = 0;
            mp_map_iter_t it;
            uint64_t k;
            void *v;
            mp_map_iter_init(&m, &it);
            while (mp_map_iter_next(&m, &it, &k, &v)) {
                size_t p = ref_find(ref, n, k, &found);
                assert_true(found);
                assert_ptr_equal(v, V(ref[p].val));
                count++;
            }
            assert_int_equal(count, n);
        }
    }
    for (size_t i = 0; i < n; i++)
        assert_ptr_equal(mp_map_get(&m, ref[i].key), V(ref[i].val));
    mp_map_free(&m);
    free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),      cmocka_unit_test(test_extreme_keys),
        cmocka_unit_test(test_collisions), cmocka_unit_test(test_growth),
        cmocka_unit_test(test_iteration),  cmocka_unit_test(test_random_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
