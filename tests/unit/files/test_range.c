/* The pure parts of a download: Range, If-Range, If-None-Match and
 * Content-Disposition (files/download.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "files/files_int.h"

/* One case: the header, the body size, the result and the range. */
static void check(const char *hdr, uint64_t size, mp_range_t want, uint64_t wf, uint64_t wl)
{
    uint64_t f = 12345, l = 12345;
    mp_range_t r = mp_files__range_parse(hdr, size, &f, &l);
    if (r != want)
        fail_msg("Range '%s' of %llu bytes: result %d, want %d", hdr ? hdr : "(null)",
                 (unsigned long long)size, (int)r, (int)want);
    if (want == MP_RANGE_ONE && (f != wf || l != wl))
        fail_msg("Range '%s' of %llu bytes: %llu-%llu, want %llu-%llu", hdr,
                 (unsigned long long)size, (unsigned long long)f, (unsigned long long)l,
                 (unsigned long long)wf, (unsigned long long)wl);
}

static void test_range_one(void **state)
{
    (void)state;
    check("bytes=0-99", 1000, MP_RANGE_ONE, 0, 99);
    check("bytes=10-10", 1000, MP_RANGE_ONE, 10, 10);
    check("bytes=990-5000", 1000, MP_RANGE_ONE, 990, 999); /* last clamped */
    check("bytes=500-", 1000, MP_RANGE_ONE, 500, 999);
    check("bytes=999-", 1000, MP_RANGE_ONE, 999, 999);
    check("bytes=-10", 1000, MP_RANGE_ONE, 990, 999);
    check("bytes=-1000", 1000, MP_RANGE_ONE, 0, 999);
    check("bytes=-5000", 1000, MP_RANGE_ONE, 0, 999); /* more than all: all */
    check("Bytes = 0-0 ", 1000, MP_RANGE_ONE, 0, 0);  /* unit is case-insensitive; OWS */
    check("bytes=0005-0009", 1000, MP_RANGE_ONE, 5, 9);
}

static void test_range_unsatisfiable(void **state)
{
    (void)state;
    check("bytes=1000-", 1000, MP_RANGE_UNSAT, 0, 0);
    check("bytes=1000-2000", 1000, MP_RANGE_UNSAT, 0, 0);
    check("bytes=5000-", 1000, MP_RANGE_UNSAT, 0, 0);
    check("bytes=-0", 1000, MP_RANGE_UNSAT, 0, 0);
    check("bytes=0-", 0, MP_RANGE_UNSAT, 0, 0);
    check("bytes=-5", 0, MP_RANGE_UNSAT, 0, 0);
}

static void test_range_ignored(void **state)
{
    (void)state;
    check(NULL, 1000, MP_RANGE_NONE, 0, 0);
    check("", 1000, MP_RANGE_NONE, 0, 0);
    check("bytes=0-9,20-29", 1000, MP_RANGE_NONE, 0, 0); /* several: the whole body */
    check("bytes=0-9,", 1000, MP_RANGE_NONE, 0, 0);
    check("bytes=5000-6000,0-1", 1000, MP_RANGE_NONE, 0, 0);
    check("items=0-9", 1000, MP_RANGE_NONE, 0, 0);
    check("bytes0-9", 1000, MP_RANGE_NONE, 0, 0);
    check("bytes=", 1000, MP_RANGE_NONE, 0, 0);
    check("bytes=-", 1000, MP_RANGE_NONE, 0, 0);
    check("bytes=a-b", 1000, MP_RANGE_NONE, 0, 0);
    check("bytes=9-1", 1000, MP_RANGE_NONE, 0, 0); /* last before first: invalid */
    check("bytes=1-2x", 1000, MP_RANGE_NONE, 0, 0);
    check("bytes=--1", 1000, MP_RANGE_NONE, 0, 0);
    check("bytes=+1-2", 1000, MP_RANGE_NONE, 0, 0);
    check("bytes=1 -2", 1000, MP_RANGE_NONE, 0, 0);
    check("bytes=-1-2", 1000, MP_RANGE_NONE, 0, 0);
    check("garbage", 1000, MP_RANGE_NONE, 0, 0);
}

/* Numbers longer than 64 bits neither wrap nor crash. */
static void test_range_overflow(void **state)
{
    (void)state;
    const char *big = "99999999999999999999999999"; /* > 2^64 */
    char h[128];
    snprintf(h, sizeof h, "bytes=%s-", big);
    check(h, 1000, MP_RANGE_UNSAT, 0, 0);
    snprintf(h, sizeof h, "bytes=0-%s", big);
    check(h, 1000, MP_RANGE_ONE, 0, 999);
    snprintf(h, sizeof h, "bytes=-%s", big);
    check(h, 1000, MP_RANGE_ONE, 0, 999);
    /* 2^64 + 1 would wrap to 1 in 64-bit arithmetic. */
    check("bytes=18446744073709551617-", 1000, MP_RANGE_UNSAT, 0, 0);
    check("bytes=5-18446744073709551617", 1000, MP_RANGE_ONE, 5, 999);
    check("bytes=18446744073709551615-18446744073709551615", UINT64_MAX, MP_RANGE_UNSAT, 0, 0);
    check("bytes=18446744073709551614-", UINT64_MAX, MP_RANGE_ONE, UINT64_MAX - 1, UINT64_MAX - 1);
    /* Both beyond 64 bits, last before first: invalid, not unsatisfiable. */
    check("bytes=99999999999999999999999-99999999999999999999998", 1000, MP_RANGE_NONE, 0, 0);
    check("bytes=99999999999999999999998-99999999999999999999999", 1000, MP_RANGE_UNSAT, 0, 0);
}

static void test_if_range(void **state)
{
    (void)state;
    const char *etag = "\"abc-1\"";
    assert_true(mp_files__if_range_ok(NULL, etag));
    assert_true(mp_files__if_range_ok("\"abc-1\"", etag));
    assert_true(mp_files__if_range_ok(" \"abc-1\" ", etag));
    assert_false(mp_files__if_range_ok("\"abc-2\"", etag));
    assert_false(mp_files__if_range_ok("W/\"abc-1\"", etag)); /* weak never matches */
    assert_false(mp_files__if_range_ok("Wed, 21 Oct 2015 07:28:00 GMT", etag));
    assert_false(mp_files__if_range_ok("", etag));
    assert_false(mp_files__if_range_ok("\"abc-1", etag));
}

static void test_if_none_match(void **state)
{
    (void)state;
    const char *etag = "\"abc-1\"";
    assert_false(mp_http_etag_match(NULL, etag));
    assert_false(mp_http_etag_match("", etag));
    assert_true(mp_http_etag_match("\"abc-1\"", etag));
    assert_true(mp_http_etag_match("W/\"abc-1\"", etag)); /* weak comparison */
    assert_true(mp_http_etag_match("*", etag));
    assert_true(mp_http_etag_match(" * ", etag));
    assert_true(mp_http_etag_match("\"x\", \"abc-1\"", etag));
    assert_true(mp_http_etag_match("\"x\",W/\"abc-1\" ,\"y\"", etag));
    assert_true(mp_http_etag_match(",, \"abc-1\"", etag));
    assert_false(mp_http_etag_match("\"abc-2\"", etag));
    assert_false(mp_http_etag_match("\"abc-1", etag));
    assert_false(mp_http_etag_match("abc-1", etag));
    assert_false(mp_http_etag_match("\"abc-12\"", etag));
    assert_false(mp_http_etag_match("*x", etag));
    assert_false(mp_http_etag_match("garbage, \"x\"", etag));
    assert_true(mp_http_etag_match("garbage, \"abc-1\"", etag));
}

static void test_disposition(void **state)
{
    (void)state;
    char out[MP_FILES_DISPOSITION_MAX];
    mp_files__disposition("photo.jpg", false, out);
    assert_string_equal(out, "inline; filename=\"photo.jpg\"; filename*=UTF-8''photo.jpg");
    mp_files__disposition("", true, out);
    assert_string_equal(out, "attachment");
    mp_files__disposition("my report (v2).pdf", true, out);
    assert_string_equal(out, "attachment; filename=\"my report (v2).pdf\"; "
                             "filename*=UTF-8''my%20report%20%28v2%29.pdf");
    /* Quotes, backslashes, slashes and percent signs never reach the quoted
     * fallback; non-ASCII becomes '_' there and UTF-8 escapes in filename*. */
    mp_files__disposition("a\"b\\c/d%e.txt", true, out);
    assert_string_equal(out, "attachment; filename=\"a_b_c_d_e.txt\"; "
                             "filename*=UTF-8''a%22b%5Cc%2Fd%25e.txt");
    mp_files__disposition("\xc3\xa9t\xc3\xa9.png", false, out); /* "été.png" */
    assert_string_equal(out, "inline; filename=\"__t__.png\"; filename*=UTF-8''%C3%A9t%C3%A9.png");
    mp_files__disposition("../../etc/passwd", true, out);
    assert_string_equal(out, "attachment; filename=\".._.._etc_passwd\"; "
                             "filename*=UTF-8''..%2F..%2Fetc%2Fpasswd");
    mp_files__disposition("x\r\ny: z", true, out);
    assert_null(strpbrk(out, "\r\n"));
    /* The longest name, every byte escaped, fits. */
    char name[MP_FILE_NAME_MAX + 1];
    memset(name, '\xff', MP_FILE_NAME_MAX);
    name[MP_FILE_NAME_MAX] = '\0';
    mp_files__disposition(name, true, out);
    assert_true(strlen(out) < sizeof out);
    assert_non_null(strstr(out, "%FF%FF"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_one),     cmocka_unit_test(test_range_unsatisfiable),
        cmocka_unit_test(test_range_ignored), cmocka_unit_test(test_range_overflow),
        cmocka_unit_test(test_if_range),      cmocka_unit_test(test_if_none_match),
        cmocka_unit_test(test_disposition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
