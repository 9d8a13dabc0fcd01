/* The snippet of a search hit (mp_chat__snippet): whole characters around the
 * first match, "…" where cut, highlights in characters of the snippet, the
 * marks removed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "chat/chat_int.h"
#include "util/alloc.h"

#define ON "\x02"
#define OFF "\x03"

typedef struct snip {
    char *text;
    mp_chat_hl_t hl[8];
    size_t n;
} snip_t;

static snip_t cut(const char *marked, size_t window)
{
    snip_t s;
    s.text = mp_chat__snippet(marked, window, s.hl, 8, &s.n);
    return s;
}

static void test_short_text_whole(void **state)
{
    (void)state;
    snip_t s = cut("hello " ON "world" OFF "!", 64);
    assert_string_equal(s.text, "hello world!");
    assert_int_equal(s.n, 1);
    assert_int_equal(s.hl[0].start, 6);
    assert_int_equal(s.hl[0].len, 5);
    mp_free(s.text);
}

static void test_several_matches(void **state)
{
    (void)state;
    snip_t s = cut(ON "ab" OFF " x " ON "ab" OFF, 64);
    assert_string_equal(s.text, "ab x ab");
    assert_int_equal(s.n, 2);
    assert_true(s.hl[0].start == 0 && s.hl[0].len == 2);
    assert_true(s.hl[1].start == 5 && s.hl[1].len == 2);
    mp_free(s.text);
}

/* CJK: positions count characters, not bytes. */
static void test_cjk_characters(void **state)
{
    (void)state;
    snip_t s = cut("我住在" ON "东京" OFF "。", 64);
    assert_string_equal(s.text, "我住在东京。");
    assert_int_equal(s.n, 1);
    assert_int_equal(s.hl[0].start, 3);
    assert_int_equal(s.hl[0].len, 2);
    mp_free(s.text);
}

/* A long text is cut on both sides with "…", which counts as one character
 * before the highlight. */
static void test_cut_both_sides(void **state)
{
    (void)state;
    char in[512], want[256];
    memset(in, 0, sizeof in);
    for (int i = 0; i < 100; i++)
        strcat(in, "a");
    strcat(in, ON "needle" OFF);
    for (int i = 0; i < 100; i++)
        strcat(in, "b");
    snip_t s = cut(in, 64);
    /* 20 characters of lead, the match, then the rest of 64 characters. */
    char bs[39];
    memset(bs, 'b', 38);
    bs[38] = '\0';
    snprintf(want, sizeof want, "\xe2\x80\xa6%s%s%s\xe2\x80\xa6", "aaaaaaaaaaaaaaaaaaaa", "needle",
             bs);
    assert_string_equal(s.text, want);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.hl[0].start, 21);
    assert_int_equal(s.hl[0].len, 6);
    mp_free(s.text);
}

/* A match near the end: the window ends with the text, no trailing "…". */
static void test_cut_near_end(void **state)
{
    (void)state;
    char in[256];
    memset(in, 0, sizeof in);
    for (int i = 0; i < 40; i++)
        strcat(in, "é");
    strcat(in, ON "zz" OFF "!");
    snip_t s = cut(in, 10);
    assert_string_equal(s.text, "\xe2\x80\xa6"
                                "ééééééézz!");
    assert_int_equal(s.n, 1);
    assert_int_equal(s.hl[0].start, 8);
    assert_int_equal(s.hl[0].len, 2);
    mp_free(s.text);
}

/* A match longer than the window is clipped to it; matches outside are left out. */
static void test_clip_and_outside(void **state)
{
    (void)state;
    snip_t s = cut(ON "abcdefghij" OFF "xxxxxxxxxxxxxxxxxxxx" ON "q" OFF, 4);
    assert_string_equal(s.text, "abcd\xe2\x80\xa6");
    assert_int_equal(s.n, 1);
    assert_true(s.hl[0].start == 0 && s.hl[0].len == 4);
    mp_free(s.text);
}

/* No mark at all (a scan hit of a short query may come so), an unclosed mark,
 * a stray end mark: still a clean snippet. */
static void test_odd_marks(void **state)
{
    (void)state;
    snip_t s = cut("plain", 64);
    assert_string_equal(s.text, "plain");
    assert_int_equal(s.n, 0);
    mp_free(s.text);
    s = cut("ab" ON "cd", 64);
    assert_string_equal(s.text, "abcd");
    assert_true(s.n == 1 && s.hl[0].start == 2 && s.hl[0].len == 2);
    mp_free(s.text);
    s = cut("a" OFF "b" ON OFF "c", 64);
    assert_string_equal(s.text, "abc");
    assert_int_equal(s.n, 0);
    mp_free(s.text);
    s = cut("", 64);
    assert_string_equal(s.text, "");
    mp_free(s.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_text_whole), cmocka_unit_test(test_several_matches),
        cmocka_unit_test(test_cjk_characters),   cmocka_unit_test(test_cut_both_sides),
        cmocka_unit_test(test_cut_near_end),     cmocka_unit_test(test_clip_and_outside),
        cmocka_unit_test(test_odd_marks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
