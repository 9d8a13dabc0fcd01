/* Account field rules: usernames, passwords, display and device names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth_int.h"

static mp_err_t norm(const char *s, char out[MP_USERNAME_MAX + 1])
{
    return mp_auth__username_norm(s, strlen(s), out);
}

static void test_usernames(void **state)
{
    (void)state;
    char out[MP_USERNAME_MAX + 1];

    assert_int_equal(norm("alice", out), MP_OK);
    assert_string_equal(out, "alice");
    assert_int_equal(norm("Alice.Smith_99", out), MP_OK);
    assert_string_equal(out, "alice.smith_99");
    assert_int_equal(norm("abc", out), MP_OK);
    assert_int_equal(norm("abcdefghijklmnopqrstuvwxyz012345", out), MP_OK); /* 32 */
    assert_string_equal(out, "abcdefghijklmnopqrstuvwxyz012345");

    const char *bad[] = {"",
                         "ab",
                         "abcdefghijklmnopqrstuvwxyz0123456",
                         "a b",
                         "al-ice",
                         "alice!",
                         "al\xc3\xa9x",
                         "tab\tx",
                         "a/b",
                         "@bob"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(norm(bad[i], out), MP_ERR_BAD_USERNAME);
    /* An embedded NUL (JSON "\u0000") is not a username character. */
    assert_int_equal(mp_auth__username_norm("abc\0def", 7, out), MP_ERR_BAD_USERNAME);
}

static void test_passwords(void **state)
{
    (void)state;
    assert_int_equal(mp_auth__password_check(0), MP_ERR_WEAK_PASSWORD);
    assert_int_equal(mp_auth__password_check(7), MP_ERR_WEAK_PASSWORD);
    assert_int_equal(mp_auth__password_check(8), MP_OK);
    assert_int_equal(mp_auth__password_check(1024), MP_OK);
    assert_int_equal(mp_auth__password_check(1025), MP_ERR_WEAK_PASSWORD);
}

static bool clean(const char *in, char *out, size_t outlen)
{
    return mp_auth__label_clean(in, strlen(in), out, outlen);
}

static void test_labels(void **state)
{
    (void)state;
    char out[300];

    assert_true(clean("Alice", out, sizeof(out)));
    assert_string_equal(out, "Alice");
    assert_true(clean("  Alice Smith \t", out, sizeof(out)));
    assert_string_equal(out, "Alice Smith");
    /* Unicode spaces trimmed too (U+3000, U+00A0). */
    assert_true(clean("\xe3\x80\x80Z\xc3\xa9\xc2\xa0", out, sizeof(out)));
    assert_string_equal(out, "Z\xc3\xa9");
    assert_false(clean("", out, sizeof(out)));
    assert_false(clean("   ", out, sizeof(out)));
    assert_false(clean("a\nb", out, sizeof(out)));
    assert_false(clean("a\x7f", out, sizeof(out)));
    assert_false(clean("a\xc2\x85z", out, sizeof(out))); /* U+0085, a C1 control */
    assert_false(mp_auth__label_clean("a\0b", 3, out, sizeof(out)));
    /* Bidi overrides and isolates, zero-width and invisible characters make
     * a name look like another: refused anywhere in it. */
    assert_false(clean("admin\xe2\x80\xae", out, sizeof(out))); /* U+202E RLO */
    assert_false(clean("\xe2\x80\xae"
                       "admin",
                       out, sizeof(out)));                                  /* leading */
    assert_false(clean("ad\xe2\x81\xa6min\xe2\x81\xa9", out, sizeof(out))); /* LRI..PDI */
    assert_false(clean("ad\xe2\x80\x8b"
                       "min",
                       out, sizeof(out)));                      /* U+200B ZWSP */
    assert_false(clean("ad\xe2\x80\x8fmin", out, sizeof(out))); /* U+200F RLM */
    assert_false(clean("ad\xe2\x81\xa0min", out, sizeof(out))); /* U+2060 WJ */
    assert_false(clean("ad\xef\xbb\xbfmin", out, sizeof(out))); /* U+FEFF inside */
    assert_false(clean("ad\xd8\x9c"
                       "min",
                       out, sizeof(out)));            /* U+061C ALM */
    assert_false(clean("ad\tmin", out, sizeof(out))); /* tab inside */
    /* Ordinary non-Latin names stay fine. */
    assert_true(clean("\xd9\x85\xd8\xad\xd9\x85\xd8\xaf", out, sizeof(out))); /* Arabic */
    assert_true(clean("\xe5\xb1\xb1\xe7\x94\xb0", out, sizeof(out)));         /* CJK */

    /* 64 characters, counted as characters not bytes. */
    char s[400] = "";
    for (int i = 0; i < 64; i++)
        strcat(s, "\xe2\x82\xac"); /* U+20AC, 3 bytes */
    assert_true(clean(s, out, sizeof(out)));
    assert_int_equal(strlen(out), 192);
    strcat(s, "x");
    assert_false(clean(s, out, sizeof(out)));
    /* 64 four-byte characters fit the store's 256-byte column. */
    s[0] = '\0';
    for (int i = 0; i < 64; i++)
        strcat(s, "\xf0\x9f\x90\xa6"); /* U+1F426 */
    assert_true(clean(s, out, MP_DISPLAY_NAME_MAX + 1));
    /* Output buffer too small is a refusal, not an overflow. */
    assert_false(clean("abcdef", out, 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usernames),
        cmocka_unit_test(test_passwords),
        cmocka_unit_test(test_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
