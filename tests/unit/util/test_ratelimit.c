/* Token-bucket limiter: burst, refusal with a sensible retry time, refill over
 * (explicitly passed) time, independent keys, bounded key count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "util/ratelimit.h"

#define ALICE 7u
#define BOB 8u

static void test_eleventh_take_fails_then_refills(void **state)
{
    (void)state;
    /* "10 per minute": burst 10, one token back every 6 s. */
    mp_ratelimit_t *rl = mp_ratelimit_new(10, 10.0 / 60.0, 100);
    int64_t t0 = 1000000, retry = -1;

    for (int i = 0; i < 10; i++)
        assert_true(mp_ratelimit_take(rl, ALICE, t0 + i, &retry));
    assert_false(mp_ratelimit_take(rl, ALICE, t0 + 10, &retry));
    /* 10 ms have passed since the first take: about 6 s to the next token. */
    assert_in_range(retry, 5900, 6000);
    /* Refused attempts do not consume anything, so asking again is the same. */
    int64_t retry2 = -1;
    assert_false(mp_ratelimit_take(rl, ALICE, t0 + 10, &retry2));
    assert_int_equal(retry, retry2);
    /* Just before the token is back: still refused; at the time: allowed. */
    assert_false(mp_ratelimit_take(rl, ALICE, t0 + 10 + retry - 2, NULL));
    assert_true(mp_ratelimit_take(rl, ALICE, t0 + 10 + retry, &retry));
    assert_false(mp_ratelimit_take(rl, ALICE, t0 + 10 + retry, NULL));
    /* A minute later the bucket is full again: 10 more, then refused. */
    int64_t t1 = t0 + 10 + 60000 + 6000;
    for (int i = 0; i < 10; i++)
        assert_true(mp_ratelimit_take(rl, ALICE, t1, NULL));
    assert_false(mp_ratelimit_take(rl, ALICE, t1, NULL));
    mp_ratelimit_free(rl);
}

/* A request costing n tokens takes all or none; more than the burst costs
 * the burst, so the largest request still passes on a full bucket. */
static void test_take_n(void **state)
{
    (void)state;
    mp_ratelimit_t *rl = mp_ratelimit_new(10, 1.0, 100); /* one token per second */
    int64_t t0 = 1000000, retry = -1;
    assert_true(mp_ratelimit_take_n(rl, ALICE, 7, t0, &retry));
    /* 3 left: 4 is refused and takes nothing; the wait is for the missing one. */
    assert_false(mp_ratelimit_take_n(rl, ALICE, 4, t0, &retry));
    assert_in_range(retry, 999, 1000);
    assert_true(mp_ratelimit_take_n(rl, ALICE, 3, t0, NULL));
    assert_false(mp_ratelimit_take(rl, ALICE, t0, NULL));
    /* 100 on a full bucket costs the whole bucket (10), then nothing is left. */
    assert_true(mp_ratelimit_take_n(rl, BOB, 100, t0, NULL));
    assert_false(mp_ratelimit_take_n(rl, BOB, 1, t0, &retry));
    assert_false(mp_ratelimit_take_n(rl, BOB, 100, t0 + 9000, &retry));
    assert_in_range(retry, 999, 1000);
    assert_true(mp_ratelimit_take_n(rl, BOB, 100, t0 + 10000, NULL));
    mp_ratelimit_free(rl);
}

/* Tokens taken elsewhere: a charge empties at most, and counts like takes. */
static void test_charge(void **state)
{
    (void)state;
    mp_ratelimit_t *rl = mp_ratelimit_new(3, 1.0, 16); /* 3, then one per second */
    mp_ratelimit_charge(rl, 7, 2, 0);
    assert_true(mp_ratelimit_take(rl, 7, 0, NULL));
    int64_t wait = 0;
    assert_false(mp_ratelimit_take(rl, 7, 0, &wait));
    assert_in_range(wait, 999, 1000);
    mp_ratelimit_charge(rl, 7, 5, 0); /* more than it holds: empty, not owing */
    assert_true(mp_ratelimit_take(rl, 7, 1000, NULL));
    mp_ratelimit_charge(rl, 8, 0, 0); /* n = 0 counts as 1; a new key starts full */
    assert_true(mp_ratelimit_take_n(rl, 8, 2, 0, NULL));
    assert_false(mp_ratelimit_take(rl, 8, 0, NULL));
    mp_ratelimit_free(rl);
}

static void test_keys_are_independent(void **state)
{
    (void)state;
    mp_ratelimit_t *rl = mp_ratelimit_new(2, 1.0, 100);
    /* 0 and UINT64_MAX are keys like any other. */
    assert_true(mp_ratelimit_take(rl, 0, 0, NULL));
    assert_true(mp_ratelimit_take(rl, 0, 0, NULL));
    assert_false(mp_ratelimit_take(rl, 0, 0, NULL));
    assert_true(mp_ratelimit_take(rl, 1, 0, NULL));
    assert_true(mp_ratelimit_take(rl, UINT64_MAX, 0, NULL));
    assert_int_equal(mp_ratelimit_size(rl), 3);
    mp_ratelimit_reset(rl, 0);
    assert_int_equal(mp_ratelimit_size(rl), 2);
    assert_true(mp_ratelimit_take(rl, 0, 0, NULL));
    mp_ratelimit_free(rl);
}

static void test_fast_rate_with_burst(void **state)
{
    (void)state;
    /* Send limits: 20/s, burst 50. */
    mp_ratelimit_t *rl = mp_ratelimit_new(50, 20.0, 10);
    int64_t retry = 0;
    for (int i = 0; i < 50; i++)
        assert_true(mp_ratelimit_take(rl, 42, 0, NULL));
    assert_false(mp_ratelimit_take(rl, 42, 0, &retry));
    assert_int_equal(retry, 50);
    assert_true(mp_ratelimit_take(rl, 42, 50, NULL));
    /* A clock going backwards gives nothing back and breaks nothing. */
    assert_false(mp_ratelimit_take(rl, 42, 10, &retry));
    assert_true(retry >= 1);
    mp_ratelimit_free(rl);
}

static void test_bounded_keys_evict_full_buckets_first(void **state)
{
    (void)state;
    mp_ratelimit_t *rl = mp_ratelimit_new(3, 1.0, 8);
    const uint64_t VICTIM = 1000000;

    /* VICTIM is drained; the other keys used one token each. */
    for (int i = 0; i < 3; i++)
        assert_true(mp_ratelimit_take(rl, VICTIM, 0, NULL));
    for (int i = 0; i < 7; i++) {
        assert_true(mp_ratelimit_take(rl, (uint64_t)i, 0, NULL));
    }
    assert_int_equal(mp_ratelimit_size(rl), 8);
    /* After 1.5 s the k* buckets are full again (and carry no information)
     * while victim is not: a flood of new keys evicts them, not victim. */
    for (int i = 0; i < 1000; i++) {
        assert_true(mp_ratelimit_take(rl, 100 + (uint64_t)i, 1500, NULL));
        assert_true(mp_ratelimit_size(rl) <= 8);
    }
    /* Even when nothing is full, the table never grows past max_keys, and
     * victim (the emptiest bucket) survived: it has 1 token (refilled 1.5). */
    assert_true(mp_ratelimit_take(rl, VICTIM, 1500, NULL));
    assert_false(mp_ratelimit_take(rl, VICTIM, 1500, NULL));
    mp_ratelimit_free(rl);
}

static void test_many_keys_lookup_after_removals(void **state)
{
    (void)state;
    /* Every key stays findable after removals around it. */
    mp_ratelimit_t *rl = mp_ratelimit_new(1, 0.001, 4096);
    for (int i = 0; i < 3000; i++) {
        assert_true(mp_ratelimit_take(rl, (uint64_t)i << 20, 0, NULL));
    }
    for (int i = 0; i < 3000; i += 3) {
        mp_ratelimit_reset(rl, (uint64_t)i << 20);
    }
    for (int i = 0; i < 3000; i++) {
        /* Reset keys start full again; the others are still empty. */
        assert_int_equal(mp_ratelimit_take(rl, (uint64_t)i << 20, 1, NULL), i % 3 == 0);
    }
    assert_int_equal(mp_ratelimit_size(rl), 3000);
    mp_ratelimit_free(rl);
}

static void test_string_keys(void **state)
{
    (void)state;
    /* A name's key is stable and names differ in their keys (a collision
     * would only merge two buckets, making the limit stricter). */
    assert_true(mp_ratelimit_key_str("alice") == mp_ratelimit_key_str("alice"));
    assert_true(mp_ratelimit_key_str("alice") != mp_ratelimit_key_str("alicf"));
    assert_true(mp_ratelimit_key_str("") != mp_ratelimit_key_str("a"));
    mp_ratelimit_t *rl = mp_ratelimit_new(1, 1.0, 10);
    assert_true(mp_ratelimit_take(rl, mp_ratelimit_key_str("bob"), 0, NULL));
    assert_false(mp_ratelimit_take(rl, mp_ratelimit_key_str("bob"), 0, NULL));
    assert_true(mp_ratelimit_take(rl, mp_ratelimit_key_str("carol"), 0, NULL));
    mp_ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eleventh_take_fails_then_refills),
        cmocka_unit_test(test_take_n),
        cmocka_unit_test(test_charge),
        cmocka_unit_test(test_keys_are_independent),
        cmocka_unit_test(test_fast_rate_with_burst),
        cmocka_unit_test(test_bounded_keys_evict_full_buckets_first),
        cmocka_unit_test(test_many_keys_lookup_after_removals),
        cmocka_unit_test(test_string_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
