/* Reaction emoji: exactly one RGI emoji (docs/protocol.md "react"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "proto/emoji.h"

static bool valid(const char *s)
{
    return mp_emoji_valid(s, strlen(s));
}

static void test_accepted(void **state)
{
    (void)state;
    const char *good[] = {
        "\xF0\x9F\x91\x8D",                 /* 👍 */
        "\xE2\x9D\xA4\xEF\xB8\x8F",         /* ❤️ red heart with VS16 */
        "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7", /* 🇫🇷 flag */
        "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7", /* 👩‍👩‍👧
                                                                                     */
        "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD", /* 👍🏽 skin tone */
        "1\xEF\xB8\x8F\xE2\x83\xA3",        /* 1️⃣ keycap */
        "#\xEF\xB8\x8F\xE2\x83\xA3",        /* #️⃣ keycap */
        "\xF0\x9F\x98\x80",                 /* 😀 */
        "\xE2\x9C\x85",                     /* ✅ Emoji_Presentation, BMP */
        "\xF0\x9F\x91\x8D\xEF\xB8\x8F",     /* 👍 + redundant VS16 */
        "\xE2\x98\xBA\xEF\xB8\x8F",         /* ☺️ */
        /* 🏴󠁧󠁢󠁳󠁣󠁴󠁿 Scotland: a tag sequence of 28 bytes */
        "\xF0\x9F\x8F\xB4\xF3\xA0\x81\xA7\xF3\xA0\x81\xA2\xF3\xA0\x81\xB3\xF3\xA0\x81\xA3"
        "\xF3\xA0\x81\xB4\xF3\xA0\x81\xBF",
        /* 👨‍👩‍👧‍👦 family of four: 25 bytes */
        "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7\xE2\x80\x8D"
        "\xF0\x9F\x91\xA6",
        /* A lone skin-tone modifier: RGI (a basic emoji, shown as a swatch). */
        "\xF0\x9F\x8F\xBD",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (!valid(good[i]))
            fail_msg("refused: good[%zu]", i);
    }
}

static void test_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        "a",
        "1", /* Emoji=Yes in Unicode (for keycaps), but no picture */
        "#",
        "1\xEF\xB8\x8F",                    /* 1 + VS16 without the keycap */
        "\xF0\x9F\x91\x8D\xF0\x9F\x91\x8D", /* 👍👍 */
        ("\xF0\x9F\x91\x8D"
         "a"),                                              /* 👍a */
        "a\xF0\x9F\x91\x8D",                                /* a👍 */
        "\xF0\x9F\x91\x8D ",                                /* trailing space */
        "\xE2\x80\x8D",                                     /* a lone ZWJ */
        "\xEF\xB8\x8F",                                     /* a lone VS16 */
        "\xF0\x9F\x87\xAB",                                 /* half a flag */
        "\xF0\x9F\x87\xAB\xEF\xB8\x8F",                     /* half a flag + VS16 */
        "\xF0\x9F\x8F\xBD\xEF\xB8\x8F",                     /* modifier + VS16 */
        "\xE2\x9D\xA4",                                     /* ❤ without VS16: text style */
        "\xE2\x9D\xA4\xEF\xB8\x8F\xEF\xB8\x8F",             /* two VS16 */
        "\xC3\xA9",                                         /* é */
        "\xE4\xB8\xAD",                                     /* 中 */
        "\xF0\x9F\x91\xA9\xE2\x80\x8D",                     /* 👩 + dangling ZWJ */
        "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD\xF0\x9F\x8F\xBD", /* two modifiers */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (valid(bad[i]))
            fail_msg("accepted: bad[%zu]", i);
    }
}

static void test_bytes(void **state)
{
    (void)state;
    assert_false(mp_emoji_valid("", 0));
    assert_false(mp_emoji_valid(NULL, 0));
    /* The length counts, not a NUL: 👍 followed by NUL is two characters. */
    assert_false(mp_emoji_valid("\xF0\x9F\x91\x8D\0", 5));
    assert_true(mp_emoji_valid("\xF0\x9F\x91\x8D"
                               "zz",
                               4));
    /* Invalid UTF-8: truncated, a stray continuation, a surrogate, overlong. */
    assert_false(mp_emoji_valid("\xF0\x9F\x91", 3));
    assert_false(mp_emoji_valid("\x8D", 1));
    assert_false(mp_emoji_valid("\xED\xA0\xBD\xED\xB1\x8D", 6));
    assert_false(mp_emoji_valid("\xC0\xA1", 2));
    /* 40 bytes: ten thumbs. */
    char big[41] = "";
    for (int i = 0; i < 10; i++)
        strcat(big, "\xF0\x9F\x91\x8D");
    assert_false(mp_emoji_valid(big, 40));
    /* An RGI emoji longer than MP_EMOJI_MAX_BYTES is refused too: the kiss
     * with two skin tones is 35 bytes. */
    const char *kiss = "\xF0\x9F\x91\xA9\xF0\x9F\x8F\xBB\xE2\x80\x8D\xE2\x9D\xA4\xEF\xB8\x8F"
                       "\xE2\x80\x8D\xF0\x9F\x92\x8B\xE2\x80\x8D\xF0\x9F\x91\xA8\xF0\x9F\x8F\xBC";
    assert_int_equal(strlen(kiss), 35);
    assert_false(valid(kiss));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
