/* Ids: strictly increasing, node-aware, and a strict decimal form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "util/clock.h"
#include "util/id.h"

static void test_monotonic(void **state)
{
    (void)state;
    mp_id_init(5);
    uint64_t prev = mp_id_next();
    /* More than 4096 ids in a row cross the 12-bit counter within one ms. */
    for (int i = 0; i < 20000; i++) {
        uint64_t id = mp_id_next();
        assert_true(id > prev);
        assert_int_equal((id >> 12) & 0x3ff, 5);
        prev = id;
    }
    int64_t t = mp_id_time_ms(prev);
    int64_t now = mp_now_ms();
    /* The counter may run ahead of the clock by a few ms under this burst. */
    assert_true(t >= now - 1000 && t <= now + 1000);
}

static void test_nodes_differ(void **state)
{
    (void)state;
    mp_id_init(1);
    uint64_t a = mp_id_next();
    mp_id_init(2);
    uint64_t b = mp_id_next();
    assert_int_not_equal(a, b);
    assert_int_equal((a >> 12) & 0x3ff, 1);
    assert_int_equal((b >> 12) & 0x3ff, 2);
    mp_id_init(0);
}

static void test_roundtrip(void **state)
{
    (void)state;
    char buf[MP_ID_STRLEN];
    uint64_t samples[] = {1, 9, 10, 1234567890123ULL, UINT64_MAX, mp_id_next()};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        uint64_t back = 0;
        mp_id_format(samples[i], buf);
        assert_true(mp_id_parse(buf, &back));
        assert_true(back == samples[i]);
    }
    assert_string_equal(mp_id_format(UINT64_MAX, buf), "18446744073709551615");
}

/* An id stored before a restart, from a clock that has since gone back
 * (here: an hour ahead of now), still bounds every new id from below. */
static void test_after(void **state)
{
    (void)state;
    uint64_t now = mp_id_next();
    uint64_t stored = now + ((uint64_t)3600 * 1000 << 22) + 5;
    mp_id_after(stored);
    uint64_t a = mp_id_next(), b = mp_id_next();
    assert_true(a > stored);
    assert_true(b > a);
    mp_id_after(now); /* an older id changes nothing */
    assert_true(mp_id_next() > b);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "0",
                         "01",
                         "-1",
                         "+1",
                         " 1",
                         "1 ",
                         "1a",
                         "a1",
                         "1.0",
                         "0x1",
                         "18446744073709551616",
                         "99999999999999999999",
                         "100000000000000000000"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 42;
        if (mp_id_parse(bad[i], &v) || mp_id_parse_n(bad[i], strlen(bad[i]), &v))
            fail_msg("accepted \"%s\"", bad[i]);
        assert_true(v == 42); /* untouched on failure */
    }
    uint64_t v;
    assert_false(mp_id_parse(NULL, &v));
    assert_true(mp_id_parse("10", &v));
    assert_true(v == 10);
}

/* mp_id_parse_n reads exactly len bytes, NUL or not after them. */
static void test_parse_n(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_true(mp_id_parse_n("123abc", 3, &v));
    assert_true(v == 123);
    assert_true(mp_id_parse_n("18446744073709551615\"", 20, &v));
    assert_true(v == UINT64_MAX);
    assert_false(mp_id_parse_n("123", 0, &v));
    assert_false(mp_id_parse_n("123abc", 4, &v));
    assert_false(mp_id_parse_n("0123", 4, &v));
    assert_false(mp_id_parse_n("184467440737095516150", 21, &v));
    assert_false(mp_id_parse_n(NULL, 1, &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monotonic),     cmocka_unit_test(test_nodes_differ),
        cmocka_unit_test(test_roundtrip),     cmocka_unit_test(test_after),
        cmocka_unit_test(test_parse_rejects), cmocka_unit_test(test_parse_n),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
