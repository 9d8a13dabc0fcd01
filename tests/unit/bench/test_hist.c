/* Unit tests of the bench latency histogram: the 1 % error bound against
 * exact sorted percentiles, merge, and the JSON round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>

#include <cmocka.h>

/* src/bench is linked into the magpie binary, not into magpie_core, which is
 * what unit tests link; compile the unit under test into this binary. */
#include "bench/hist.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    /* xorshift64*: deterministic, so a failure reproduces. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* Log-uniform between 1 us and 60 s: every decade matters for latency. */
static uint64_t rand_latency(void)
{
    double u = (double)(rng() >> 11) / 9007199254740992.0;
    return (uint64_t)exp(log(1e3) + u * (log(60e9) - log(1e3)));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t exact_percentile(const uint64_t *sorted, size_t n, double q)
{
    double r = q / 100.0 * (double)n;
    size_t rank = (size_t)r;
    if ((double)rank < r)
        rank++;
    if (rank == 0)
        rank = 1;
    return sorted[rank - 1];
}

static void check_bound(const mp_bench_hist_t *h, const uint64_t *sorted, size_t n)
{
    static const double qs[] = {0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100};
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        uint64_t want = exact_percentile(sorted, n, qs[i]);
        uint64_t got = mp_bench_hist_percentile(h, qs[i]);
        double err = fabs((double)got - (double)want) / (double)want;
        if (err > 0.01)
            fail_msg("q=%g want %llu got %llu err %.4f", qs[i], (unsigned long long)want,
                     (unsigned long long)got, err);
    }
    assert_int_equal(h->min, sorted[0]);
    assert_int_equal(h->max, sorted[n - 1]);
}

static void test_error_bound_random(void **state)
{
    (void)state;
    enum { N = 200000 };
    uint64_t *v = malloc(N * sizeof(*v));
    mp_bench_hist_t *h = malloc(sizeof(*h));
    mp_bench_hist_reset(h);
    for (size_t i = 0; i < N; i++) {
        v[i] = rand_latency();
        mp_bench_hist_record(h, v[i]);
    }
    qsort(v, N, sizeof(*v), cmp_u64);
    assert_int_equal(h->n, N);
    check_bound(h, v, N);
    free(v);
    free(h);
}

/* A narrow, realistic distribution (tens of microseconds, small spread) is
 * where a coarse histogram would collapse several percentiles into one. */
static void test_error_bound_narrow(void **state)
{
    (void)state;
    enum { N = 50000 };
    uint64_t *v = malloc(N * sizeof(*v));
    mp_bench_hist_t *h = malloc(sizeof(*h));
    mp_bench_hist_reset(h);
    for (size_t i = 0; i < N; i++) {
        v[i] = 40000 + rng() % 3000;
        mp_bench_hist_record(h, v[i]);
    }
    qsort(v, N, sizeof(*v), cmp_u64);
    check_bound(h, v, N);
    free(v);
    free(h);
}

static void test_every_bucket_is_narrow(void **state)
{
    (void)state;
    for (unsigned i = 0; i < MP_BENCH_HIST_BUCKETS; i++) {
        uint64_t lo, hi;
        mp_bench_hist_bucket_range(i, &lo, &hi);
        assert_int_equal(mp_bench_hist_index(lo), i);
        assert_int_equal(mp_bench_hist_index(hi), i);
        if (i + 1 < MP_BENCH_HIST_BUCKETS)
            assert_int_equal(mp_bench_hist_index(hi + 1), i + 1);
        if (lo > 0)
            assert_true((double)(hi - lo) / (double)lo <= 0.01);
    }
    /* 60 s fits below the clamp. */
    assert_true(mp_bench_hist_index(60000000000ull) < MP_BENCH_HIST_BUCKETS - 1);
}

static void test_small_values_exact_and_clamp(void **state)
{
    (void)state;
    mp_bench_hist_t *h = malloc(sizeof(*h));
    mp_bench_hist_reset(h);
    assert_int_equal(mp_bench_hist_percentile(h, 50), 0);
    for (uint64_t v = 1; v <= 100; v++)
        mp_bench_hist_record(h, v);
    assert_int_equal(mp_bench_hist_percentile(h, 50), 50);
    assert_int_equal(mp_bench_hist_percentile(h, 99), 99);
    assert_int_equal(mp_bench_hist_percentile(h, 100), 100);
    mp_bench_hist_record(h, UINT64_MAX / 2);
    assert_int_equal(mp_bench_hist_percentile(h, 100), UINT64_MAX / 2);
    assert_int_equal(h->counts[MP_BENCH_HIST_BUCKETS - 1], 1);
    assert_true(fabs(mp_bench_hist_mean(h) - ((5050.0 + (double)(UINT64_MAX / 2)) / 101.0)) < 1e6);
    free(h);
}

static void test_merge_equals_single(void **state)
{
    (void)state;
    mp_bench_hist_t *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)), *all = malloc(sizeof(*all));
    mp_bench_hist_reset(a);
    mp_bench_hist_reset(b);
    mp_bench_hist_reset(all);
    mp_bench_hist_merge(a, b); /* empty into empty */
    assert_int_equal(a->n, 0);
    for (int i = 0; i < 10000; i++) {
        uint64_t v = rand_latency();
        mp_bench_hist_record(i % 3 ? a : b, v);
        mp_bench_hist_record(all, v);
    }
    mp_bench_hist_merge(a, b);
    assert_int_equal(a->n, all->n);
    assert_int_equal(a->min, all->min);
    assert_int_equal(a->max, all->max);
    assert_memory_equal(a->counts, all->counts, sizeof(a->counts));
    free(a);
    free(b);
    free(all);
}

static void test_json_round_trip(void **state)
{
    (void)state;
    mp_bench_hist_t *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
    mp_bench_hist_reset(a);
    for (int i = 0; i < 5000; i++)
        mp_bench_hist_record(a, rand_latency());
    json_t *j = mp_bench_hist_to_json(a);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    json_t *back = json_loads(s, 0, NULL);
    free(s);
    assert_int_equal(mp_bench_hist_from_json(b, back), 0);
    json_decref(back);
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->min, b->min);
    assert_int_equal(a->max, b->max);
    assert_memory_equal(a->counts, b->counts, sizeof(a->counts));
    assert_int_equal(mp_bench_hist_percentile(a, 99.9), mp_bench_hist_percentile(b, 99.9));

    /* Empty histograms round-trip too. */
    mp_bench_hist_reset(a);
    j = mp_bench_hist_to_json(a);
    assert_int_equal(mp_bench_hist_from_json(b, j), 0);
    assert_int_equal(b->n, 0);
    json_decref(j);
    free(a);
    free(b);
}

static void test_json_rejects_malformed(void **state)
{
    (void)state;
    static const char *bad[] = {
        "{}",
        "[]",
        "{\"n\":1,\"min\":1,\"max\":1,\"sum\":1.0,\"b\":[5]}",
        "{\"n\":2,\"min\":1,\"max\":1,\"sum\":1.0,\"b\":[5,1]}",
        "{\"n\":1,\"min\":1,\"max\":1,\"sum\":1.0,\"b\":[99999,1]}",
        "{\"n\":1,\"min\":1,\"max\":1,\"sum\":1.0,\"b\":[-1,1]}",
        "{\"n\":1,\"min\":1,\"max\":1,\"sum\":1.0,\"b\":[5,0]}",
        "{\"n\":1,\"min\":2,\"max\":1,\"sum\":1.0,\"b\":[5,1]}",
        "{\"n\":1,\"min\":1,\"max\":1,\"sum\":1.0,\"b\":[\"5\",1]}",
    };
    mp_bench_hist_t *h = malloc(sizeof(*h));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        assert_non_null(j);
        if (mp_bench_hist_from_json(h, j) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_int_equal(h->n, 0);
        json_decref(j);
    }
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_bound_random),
        cmocka_unit_test(test_error_bound_narrow),
        cmocka_unit_test(test_every_bucket_is_narrow),
        cmocka_unit_test(test_small_values_exact_and_clamp),
        cmocka_unit_test(test_merge_equals_single),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_json_rejects_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
