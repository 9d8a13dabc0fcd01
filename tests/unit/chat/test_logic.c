/* Pure logic of the chat module: the membership cache (insert, replace, drop
 * with backward shift, the size bound), the bound of the presence table and
 * the strict text parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chat/chat_int.h"

static void test_cache_basic(void **state)
{
    (void)state;
    mp_chat_cache_t *c = mp_chat__cache_new(8);
    uint64_t m[2] = {10, 20};
    assert_null(mp_chat__cache_get(c, 1));
    const mp_chat_conv_t *e = mp_chat__cache_put(c, 1, MP_CONV_DIRECT, m, 2);
    assert_true(e->id == 1 && e->n == 2);
    assert_true(mp_chat__conv_has(e, 10));
    assert_true(mp_chat__conv_has(e, 20));
    assert_false(mp_chat__conv_has(e, 30));
    /* Replacing keeps one entry; the world room admits everyone. */
    e = mp_chat__cache_put(c, 1, MP_CONV_WORLD, NULL, 0);
    assert_int_equal(mp_chat__cache_size(c), 1);
    assert_true(mp_chat__conv_has(e, 30));
    mp_chat__cache_drop(c, 1);
    assert_null(mp_chat__cache_get(c, 1));
    assert_int_equal(mp_chat__cache_size(c), 0);
    mp_chat__cache_drop(c, 12345); /* absent: harmless */
    mp_chat__cache_free(c);
}

static void test_cache_many_and_bound(void **state)
{
    (void)state;
    mp_chat_cache_t *c = mp_chat__cache_new(1000);
    /* Time-ordered ids with a shared prefix collide in low bits unless mixed;
     * insert, drop every third, and check every survivor is still found
     * (backward-shift deletion must not break probe runs). */
    uint64_t base = 0x176fd82e00000000ULL;
    for (uint64_t i = 1; i <= 900; i++) {
        uint64_t m = i;
        mp_chat__cache_put(c, base + i, MP_CONV_DIRECT, &m, 1);
    }
    for (uint64_t i = 1; i <= 900; i += 3)
        mp_chat__cache_drop(c, base + i);
    for (uint64_t i = 1; i <= 900; i++) {
        const mp_chat_conv_t *e = mp_chat__cache_get(c, base + i);
        if (i % 3 == 1) {
            assert_null(e);
        } else {
            assert_non_null(e);
            assert_true(e->members[0] == i);
        }
    }
    assert_int_equal(mp_chat__cache_size(c), 600);
    /* Past the bound the cache starts over instead of growing. */
    for (uint64_t i = 1000; i < 1500; i++)
        mp_chat__cache_put(c, base + i, MP_CONV_DIRECT, NULL, 0);
    assert_true(mp_chat__cache_size(c) <= 1000);
    assert_non_null(mp_chat__cache_get(c, base + 1499));
    mp_chat__cache_free(c);
}

/* The presence table keeps at most max users: recording one more forgets the
 * older half by last-seen time; re-recording a known user never evicts. */
static void test_presence_bound(void **state)
{
    (void)state;
    mp_chat_presence_t *p = mp_chat__presence_new(8);
    assert_int_equal(mp_chat__presence_seen(p, 1, -1), 0);
    for (uint64_t u = 1; u <= 8; u++)
        mp_chat__presence_seen(p, u, 1000 + (int64_t)u * 10);
    assert_int_equal(mp_chat__presence_size(p), 8);
    mp_chat__presence_seen(p, 3, 5000); /* user 3 leaves again, later */
    assert_int_equal(mp_chat__presence_size(p), 8);
    assert_int_equal(mp_chat__presence_seen(p, 3, -1), 5000);

    /* Times now 1010 1020 1040 1050 1060 1070 1080 5000: the median is 1050,
     * so users 1, 2, 4 and 5 are forgotten to make room for user 9. */
    mp_chat__presence_seen(p, 9, 6000);
    assert_int_equal(mp_chat__presence_size(p), 5);
    assert_int_equal(mp_chat__presence_seen(p, 1, -1), 0);
    assert_int_equal(mp_chat__presence_seen(p, 2, -1), 0);
    assert_int_equal(mp_chat__presence_seen(p, 4, -1), 0);
    assert_int_equal(mp_chat__presence_seen(p, 5, -1), 0);
    assert_int_equal(mp_chat__presence_seen(p, 3, -1), 5000);
    assert_int_equal(mp_chat__presence_seen(p, 6, -1), 1060);
    assert_int_equal(mp_chat__presence_seen(p, 7, -1), 1070);
    assert_int_equal(mp_chat__presence_seen(p, 8, -1), 1080);
    assert_int_equal(mp_chat__presence_seen(p, 9, -1), 6000);

    /* Coming online drops the entry (the next departure records anew). */
    mp_chat__presence_forget(p, 6);
    mp_chat__presence_forget(p, 12345); /* absent: harmless */
    assert_int_equal(mp_chat__presence_seen(p, 6, -1), 0);
    assert_int_equal(mp_chat__presence_size(p), 4);

    /* A stream of departures never takes more than the bound, and the latest
     * one is always remembered. Equal times are all forgotten together. */
    for (uint64_t u = 100; u < 5000; u++) {
        mp_chat__presence_seen(p, u, 10000 + (int64_t)(u / 4));
        assert_true(mp_chat__presence_size(p) <= 8);
        assert_int_equal(mp_chat__presence_seen(p, u, -1), 10000 + (int64_t)(u / 4));
    }
    mp_chat__presence_free(p);
}

static void test_parse_i64(void **state)
{
    (void)state;
    int64_t v = -1;
    assert_true(mp_chat__parse_i64("0", &v) && v == 0);
    assert_true(mp_chat__parse_i64("42", &v) && v == 42);
    assert_true(mp_chat__parse_i64("9223372036854775807", &v) && v == INT64_MAX);
    assert_false(mp_chat__parse_i64("9223372036854775808", &v));
    assert_false(mp_chat__parse_i64("99999999999999999999", &v));
    assert_false(mp_chat__parse_i64("", &v));
    assert_false(mp_chat__parse_i64(NULL, &v));
    assert_false(mp_chat__parse_i64("-1", &v));
    assert_false(mp_chat__parse_i64("+1", &v));
    assert_false(mp_chat__parse_i64("007", &v));
    assert_false(mp_chat__parse_i64("12abc", &v));
    assert_false(mp_chat__parse_i64(" 1", &v));
}

static void test_list_cursor(void **state)
{
    (void)state;
    char buf[48];
    int64_t at;
    uint64_t id;
    mp_chat__list_cursor_format(1700000000123LL, 1234567890123ULL, buf, sizeof buf);
    assert_string_equal(buf, "1700000000123.1234567890123");
    assert_true(mp_chat__list_cursor_parse(buf, &at, &id));
    assert_true(at == 1700000000123LL && id == 1234567890123ULL);
    assert_false(mp_chat__list_cursor_parse("zzz", &at, &id));
    assert_false(mp_chat__list_cursor_parse("12.", &at, &id));
    assert_false(mp_chat__list_cursor_parse(".12", &at, &id));
    assert_false(mp_chat__list_cursor_parse("12.0", &at, &id));
    assert_false(mp_chat__list_cursor_parse("12.3.4", &at, &id));
    assert_false(mp_chat__list_cursor_parse("123456789012345678901234.5", &at, &id));
    assert_false(mp_chat__list_cursor_parse(NULL, &at, &id));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_basic),    cmocka_unit_test(test_cache_many_and_bound),
        cmocka_unit_test(test_presence_bound), cmocka_unit_test(test_parse_i64),
        cmocka_unit_test(test_list_cursor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
