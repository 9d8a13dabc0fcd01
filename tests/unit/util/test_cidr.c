/* CIDR lists (trusted_proxies): parsing, refusals with the bad entry named,
 * and matching for IPv4, IPv6 and IPv4-mapped addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "util/cidr.h"

static bool in(const mp_cidr_t *b, int n, const char *addr)
{
    uint8_t a[16];
    assert_true(mp_cidr_addr_parse(addr, a));
    return mp_cidr_match(b, (size_t)n, a);
}

static void test_parse_and_match(void **state)
{
    (void)state;
    mp_cidr_t b[8];
    char err[160];
    int n = mp_cidr_parse_list(" 127.0.0.1, 10.0.0.0/8,fd00::/8 ,192.168.1.128/25", b, 8, err,
                               sizeof err);
    assert_int_equal(n, 4);
    assert_true(in(b, n, "127.0.0.1"));
    assert_false(in(b, n, "127.0.0.2"));
    assert_true(in(b, n, "10.255.1.2"));
    assert_false(in(b, n, "11.0.0.1"));
    assert_true(in(b, n, "fd12:3456::1"));
    assert_false(in(b, n, "fe80::1"));
    assert_true(in(b, n, "192.168.1.200"));
    assert_false(in(b, n, "192.168.1.127"));
    /* An IPv4 block matches the IPv4-mapped IPv6 form of its addresses. */
    assert_true(in(b, n, "::ffff:10.1.2.3"));
    assert_int_equal(mp_cidr_parse_list("", b, 8, err, sizeof err), 0);
    assert_int_equal(mp_cidr_parse_list(" , ", b, 8, err, sizeof err), 0);
    n = mp_cidr_parse_list("0.0.0.0/0", b, 8, err, sizeof err);
    assert_int_equal(n, 1);
    assert_true(in(b, n, "8.8.8.8"));
    assert_false(in(b, n, "2001:db8::1"));
    /* Back to text: IPv4 as IPv4, IPv6 in its short form. */
    uint8_t a[16];
    char text[46];
    assert_true(mp_cidr_addr_parse("203.0.113.5", a));
    mp_cidr_addr_format(a, text, sizeof text);
    assert_string_equal(text, "203.0.113.5");
    assert_true(mp_cidr_addr_parse("2001:DB8:0:0::7", a));
    mp_cidr_addr_format(a, text, sizeof text);
    assert_string_equal(text, "2001:db8::7");
}

static void test_refusals(void **state)
{
    (void)state;
    mp_cidr_t b[2];
    char err[160];
    const char *bad[] = {"10.0.0.0/33", "::/129",       "10.0.0.0/",    "10.0.0.0/x",
                         "10.0.0.256",  "host.example", "10.0.0.0/8/8", "1.2.3.4/-1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        assert_int_equal(mp_cidr_parse_list(bad[i], b, 2, err, sizeof err), -1);
        assert_non_null(strstr(err, "is not an IP address"));
    }
    assert_int_equal(mp_cidr_parse_list("1.1.1.1,2.2.2.2,3.3.3.3", b, 2, err, sizeof err), -1);
    assert_non_null(strstr(err, "more than 2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_match),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
