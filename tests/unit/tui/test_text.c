/* The terminal chat's text handling: display widths of ASCII, CJK, emoji and
 * combining marks; wrapping by width (never inside a character, never past
 * the width); truncation with an ellipsis; control characters made harmless;
 * and the line editor's operations on multi-byte characters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "tui/tui_int.h"
#include "util/alloc.h"

static int width(const char *s)
{
    return mp_tui__width(s, strlen(s));
}

static void test_widths(void **state)
{
    (void)state;
    assert_int_equal(width(""), 0);
    assert_int_equal(width("hello"), 5);
    assert_int_equal(width("漢字"), 4); /* CJK: two cells each */
    assert_int_equal(width("한국어"), 6);
    assert_int_equal(width("😀"), 2);         /* emoji: as wcwidth says, 2 here */
    assert_int_equal(width("e\xCC\x81"), 1); /* e + combining acute: one cell */
    assert_int_equal(width("a\xFF"
                           "b"),
                     3);                        /* a malformed byte is one cell */
    assert_int_equal(width("\xE2\x80\xA6"), 1); /* … */
}

static void test_utf8_decoding(void **state)
{
    (void)state;
    uint32_t wc;
    assert_int_equal(mpr_utf8_next("\xE6\xBC\xA2", 3, &wc), 3);
    assert_int_equal(wc, 0x6F22);
    assert_int_equal(mpr_utf8_next("\xF0\x9F\x98\x80", 4, &wc), 4);
    assert_int_equal(wc, 0x1F600);
    /* truncated, overlong, surrogate: one byte each, U+FFFD */
    assert_int_equal(mpr_utf8_next("\xE6\xBC", 2, &wc), 1);
    assert_int_equal(wc, 0xFFFD);
    assert_int_equal(mpr_utf8_next("\xC0\xAF", 2, &wc), 1);
    assert_int_equal(wc, 0xFFFD);
    assert_int_equal(mpr_utf8_next("\xED\xA0\x80", 3, &wc), 1);
    assert_int_equal(wc, 0xFFFD);
    char out[4];
    assert_int_equal(mpr_utf8_put(out, 0x1F600), 4);
    assert_memory_equal(out, "\xF0\x9F\x98\x80", 4);
}

static void test_sanitize(void **state)
{
    (void)state;
    /* an escape sequence that would clear the screen and recolour it */
    char *s = mpr_clean_text("a\x1b[2J\x1b]0;title\x07z", false);
    assert_null(strchr(s, 0x1b));
    assert_null(strchr(s, 0x07));
    assert_string_equal(s, "a\xEF\xBF\xBD[2J\xEF\xBF\xBD]0;title\xEF\xBF\xBDz");
    mp_free(s);
    /* C1 controls (U+009B is CSI), DEL, bidi overrides */
    s = mpr_clean_text("x\xC2\x9B"
                       "1m\x7F\xE2\x80\xAEy",
                       false);
    assert_string_equal(s, "x\xEF\xBF\xBD"
                           "1m\xEF\xBF\xBD\xEF\xBF\xBDy");
    mp_free(s);
    /* tab becomes a space; newlines kept only when asked */
    s = mpr_clean_text("a\tb\nc", true);
    assert_string_equal(s, "a b\nc");
    mp_free(s);
    s = mpr_clean_text("a\tb\nc", false);
    assert_string_equal(s, "a b c");
    mp_free(s);
    /* malformed UTF-8 comes out valid */
    s = mpr_clean_text("ok\xFF", false);
    assert_string_equal(s, "ok\xEF\xBF\xBD");
    mp_free(s);
    /* wide text passes unchanged */
    s = mpr_clean_text("漢字 😀 e\xCC\x81", false);
    assert_string_equal(s, "漢字 😀 e\xCC\x81");
    mp_free(s);
}

/* Checks every line of a wrap: within the width, on character boundaries,
 * and together the whole text. */
static size_t check_wrap(const char *text, int first, int rest, mp_tui_span_t *sp, size_t max)
{
    size_t n = mp_tui__wrap(text, first, rest, sp, max);
    assert_true(n <= max);
    size_t covered = 0;
    for (size_t i = 0; i < n; i++) {
        int limit = i == 0 ? first : rest;
        assert_true(sp[i].width <= limit);
        assert_int_equal(sp[i].width, mp_tui__width(text + sp[i].off, sp[i].len));
        /* starts on a character: never a UTF-8 continuation byte */
        assert_true(((unsigned char)text[sp[i].off] & 0xC0) != 0x80 || sp[i].len == 0);
        assert_true(sp[i].off >= covered);
        covered = sp[i].off + sp[i].len;
    }
    return n;
}

static void test_wrap(void **state)
{
    (void)state;
    mp_tui_span_t sp[64];
    /* words move down whole */
    const char *fox = "the quick brown fox";
    size_t n = check_wrap(fox, 10, 10, sp, 64);
    assert_int_equal(n, 2);
    assert_int_equal(sp[0].len, 10); /* "the quick " */
    assert_memory_equal("brown fox", fox + sp[1].off, 9);
    /* a CJK string: 2 cells per character, an odd width never splits one */
    const char *cjk = "漢字漢字漢字漢字漢字";
    n = check_wrap(cjk, 5, 5, sp, 64);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(sp[i].width, 4);
        assert_int_equal(sp[i].len, 6);
    }
    /* a different first width */
    n = check_wrap(cjk, 2, 8, sp, 64);
    assert_int_equal(n, 4);
    assert_int_equal(sp[0].width, 2);
    /* emoji and a combining mark that stays with its letter */
    const char *mixed = "ab😀😀e\xCC\x81"
                        "cd";
    n = check_wrap(mixed, 5, 5, sp, 64);
    assert_int_equal(n, 2);
    assert_int_equal(sp[0].width, 4); /* "ab😀" */
    assert_int_equal(sp[1].width, 5); /* "😀é" "cd" */
    /* newlines force a break; an empty text is one empty line */
    n = check_wrap("one\ntwo", 20, 20, sp, 64);
    assert_int_equal(n, 2);
    assert_int_equal(sp[1].len, 3);
    n = check_wrap("", 20, 20, sp, 64);
    assert_int_equal(n, 1);
    assert_int_equal(sp[0].len, 0);
    /* counting without room */
    assert_int_equal(mp_tui__wrap(cjk, 5, 5, NULL, 0), 5);
}

static void test_truncate(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(mp_tui__truncate("short", 10, out, sizeof out), 5);
    assert_string_equal(out, "short");
    assert_int_equal(mp_tui__truncate("a long label", 6, out, sizeof out), 6);
    assert_string_equal(out, "a lon\xE2\x80\xA6");
    /* CJK: 漢字 is 4 cells; in 4 cells with an ellipsis only 漢 fits */
    int w = mp_tui__truncate("漢字漢字", 4, out, sizeof out);
    assert_string_equal(out, "漢\xE2\x80\xA6");
    assert_int_equal(w, 3);
    assert_true(width(out) <= 4);
    assert_int_equal(mp_tui__truncate("anything", 0, out, sizeof out), 0);
    assert_string_equal(out, "");
}

static void test_input_editing(void **state)
{
    (void)state;
    mp_tui_input_t *in = calloc(1, sizeof *in);
    assert_non_null(in);
    mp_tui__input_clear(in);
    const uint32_t typed[] = {'a', 0x6F22, 0x1F600, 'b', 0};
    for (size_t i = 0; typed[i]; i++)
        assert_true(mp_tui__input_insert(in, typed[i]));
    assert_string_equal(in->buf, "a漢😀b");
    assert_int_equal(in->cur, in->len);
    /* control characters are refused */
    assert_false(mp_tui__input_insert(in, 0x1b));
    assert_false(mp_tui__input_insert(in, '\n'));
    /* Backspace removes whole characters */
    mp_tui__input_backspace(in);
    assert_string_equal(in->buf, "a漢😀");
    mp_tui__input_backspace(in);
    assert_string_equal(in->buf, "a漢");
    /* Left over a multi-byte character, insert in the middle */
    mp_tui__input_left(in);
    assert_int_equal(in->cur, 1);
    assert_true(mp_tui__input_insert(in, L'字'));
    assert_string_equal(in->buf, "a字漢");
    mp_tui__input_right(in);
    assert_int_equal(in->cur, in->len);
    mp_tui__input_right(in); /* at the end: nothing */
    assert_int_equal(in->cur, in->len);
    /* Home, Delete, End */
    mp_tui__input_home(in);
    mp_tui__input_delete(in);
    assert_string_equal(in->buf, "字漢");
    mp_tui__input_left(in); /* at the start: nothing */
    assert_int_equal(in->cur, 0);
    mp_tui__input_end(in);
    assert_int_equal(in->cur, strlen("字漢"));
    /* Ctrl-U kills up to the cursor */
    mp_tui__input_left(in);
    mp_tui__input_kill(in);
    assert_string_equal(in->buf, "漢");
    assert_int_equal(in->cur, 0);
    /* the view keeps the cursor visible in a narrow field */
    mp_tui__input_clear(in);
    for (int i = 0; i < 30; i++)
        assert_true(mp_tui__input_insert(in, L'漢'));
    size_t from = mp_tui__input_view(in, 11);
    assert_true(mp_tui__width(in->buf + from, in->cur - from) + 1 <= 11);
    assert_int_equal(mp_tui__width(in->buf + from, in->cur - from), 10);
    mp_tui__input_home(in);
    assert_int_equal(mp_tui__input_view(in, 11), 0);
    /* a full line refuses more */
    mp_tui__input_clear(in);
    size_t n = 0;
    while (mp_tui__input_insert(in, L'😀'))
        n++;
    assert_int_equal(n, MP_TUI_INPUT_MAX / 4);
    assert_true(in->len <= MP_TUI_INPUT_MAX);
    /* a whole text at once (a refused message given back): controls dropped */
    mp_tui__input_set(in, "back \x1b"
                          "again 漢");
    assert_string_equal(in->buf, "back again 漢");
    assert_int_equal(in->cur, in->len);
    free(in);
}

int main(void)
{
    /* widths are the locale's: the chat runs in the user's UTF-8 locale */
    if (setlocale(LC_ALL, "C.UTF-8") == NULL)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_widths),   cmocka_unit_test(test_utf8_decoding),
        cmocka_unit_test(test_sanitize), cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_truncate), cmocka_unit_test(test_input_editing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
