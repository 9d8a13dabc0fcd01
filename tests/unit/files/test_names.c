/* File names made safe to store and to show (mp_files__sanitize_name), and
 * the file object of the wire (mp_files__json). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "files/files_int.h"

static void expect_name(const char *in, const char *want)
{
    char out[MP_FILE_NAME_MAX + 1];
    memset(out, 'x', sizeof out);
    mp_files__sanitize_name(in, out);
    if (strcmp(out, want) != 0)
        fail_msg("sanitize(\"%s\") = \"%s\", expected \"%s\"", in, out, want);
}

static void test_plain_names_kept(void **state)
{
    (void)state;
    expect_name("photo.jpg", "photo.jpg");
    expect_name("My holiday (2).jpeg", "My holiday (2).jpeg");
    expect_name("Grüße aus Köln.pdf", "Grüße aus Köln.pdf");
    expect_name("日本語のファイル.txt", "日本語のファイル.txt");
    expect_name("emoji 😀.png", "emoji 😀.png");
    expect_name("", "");
}

static void test_path_components(void **state)
{
    (void)state;
    expect_name("../../etc/passwd", "passwd");
    expect_name("/etc/shadow", "shadow");
    expect_name("C:\\Users\\me\\Desktop\\report.docx", "report.docx");
    expect_name("a/b\\c/d.txt", "d.txt");
    expect_name("dir/", "");
    expect_name("..\\..\\boot.ini", "boot.ini");
}

static void test_dots_and_spaces(void **state)
{
    (void)state;
    expect_name(".", "");
    expect_name("..", "");
    expect_name("...", "");
    expect_name("  . .  ", "");
    expect_name(".hidden", "hidden");
    expect_name("  name.txt  ", "name.txt");
    expect_name("name.txt.", "name.txt");
    expect_name("a . b", "a . b");
    /* A control dropped at the front leaves a dot that is trimmed too. */
    expect_name("\x01.profile", "profile");
}

static void test_controls_and_quotes(void **state)
{
    (void)state;
    expect_name("a\tb\nc\rd", "abcd");
    expect_name("nul\x7f"
                "del",
                "nuldel");
    expect_name("c1\xc2\x85here", "c1here"); /* U+0085 NEL */
    expect_name("say \"hi\".txt", "say hi.txt");
    expect_name("x\xe2\x80\xae"
                "fdp.exe",
                "xfdp.exe"); /* U+202E right-to-left override */
    expect_name("a\xe2\x80\x8e"
                "b\xe2\x80\x8f"
                "c",
                "abc"); /* U+200E, U+200F */
    expect_name("\xe2\x81\xa6"
                "iso\xe2\x81\xa9",
                "iso"); /* U+2066 .. U+2069 */
    expect_name("\xe2\x80\xaa"
                "e\xe2\x80\xac",
                "e"); /* U+202A, U+202C */
}

static void test_invalid_utf8_dropped(void **state)
{
    (void)state;
    expect_name("bad\xff"
                "byte",
                "badbyte");
    expect_name("over\xc0\xaflong", "overlong");
    expect_name("cut\xe2\x82", "cut");
    expect_name("sur\xed\xa0\x80rogate", "surrogate");
    expect_name("\x80\x80start", "start");
}

static void test_length_on_char_boundary(void **state)
{
    (void)state;
    char in[1200], out[MP_FILE_NAME_MAX + 1];
    memset(in, 'a', 400);
    in[400] = '\0';
    mp_files__sanitize_name(in, out);
    assert_int_equal(strlen(out), MP_FILE_NAME_MAX);
    /* 254 ASCII bytes then a 2-byte character: it does not fit whole. */
    memset(in, 'b', 254);
    strcpy(in + 254, "\xc3\xa9tail");
    mp_files__sanitize_name(in, out);
    assert_int_equal(strlen(out), 254);
    /* 3-byte characters only: 85 of them are 255 bytes. */
    in[0] = '\0';
    for (int i = 0; i < 300; i++)
        strcat(in, "\xe2\x82\xac"); /* U+20AC */
    mp_files__sanitize_name(in, out);
    assert_int_equal(strlen(out), 255);
    /* A cut that leaves a trailing space or dot trims it. */
    memset(in, 'c', 254);
    in[254] = ' ';
    strcpy(in + 255, "tail");
    mp_files__sanitize_name(in, out);
    assert_int_equal(strlen(out), 254);
}

static void test_file_json(void **state)
{
    (void)state;
    mp_file_row_t f = {
        .id = 383000000000000001ULL,
        .owner_id = 383000000000000002ULL,
        .size = 123456,
        .created_at = 1735689600000LL,
        .cls = MP_FILE_CLASS_IMAGE,
        .nrend = 1,
    };
    strcpy(f.name, "photo.jpg");
    strcpy(f.mime, "image/jpeg");
    strcpy(f.serve_mime, "image/jpeg");
    strcpy(f.sha256, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    strcpy(f.rend[0].name, "thumb");
    /* Meta is flattened, and never overrides the file's own members. */
    f.meta = "{\"width\":1280,\"height\":960,\"preview\":\"data:image/webp;base64,AA\","
             "\"file_id\":\"1\"}";
    json_t *o = mp_files__json(&f);
    assert_string_equal(json_string_value(json_object_get(o, "file_id")), "383000000000000001");
    assert_string_equal(json_string_value(json_object_get(o, "owner_id")), "383000000000000002");
    assert_string_equal(json_string_value(json_object_get(o, "name")), "photo.jpg");
    assert_int_equal(json_integer_value(json_object_get(o, "size")), 123456);
    assert_string_equal(json_string_value(json_object_get(o, "class")), "image");
    assert_string_equal(json_string_value(json_object_get(o, "served_mime")), "image/jpeg");
    assert_int_equal(json_integer_value(json_object_get(o, "width")), 1280);
    assert_int_equal(json_integer_value(json_object_get(o, "height")), 960);
    assert_string_equal(json_string_value(json_object_get(o, "url")),
                        "/v1/files/383000000000000001");
    assert_string_equal(json_string_value(json_object_get(o, "thumbnail_url")),
                        "/v1/files/383000000000000001/thumbnail");
    json_decref(o);
    /* Without a thumbnail: null; meta "{}" adds nothing. */
    f.nrend = 0;
    f.cls = MP_FILE_CLASS_FILE;
    f.meta = "{}";
    o = mp_files__json(&f);
    assert_true(json_is_null(json_object_get(o, "thumbnail_url")));
    assert_null(json_object_get(o, "width"));
    assert_string_equal(json_string_value(json_object_get(o, "class")), "file");
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_names_kept),
        cmocka_unit_test(test_path_components),
        cmocka_unit_test(test_dots_and_spaces),
        cmocka_unit_test(test_controls_and_quotes),
        cmocka_unit_test(test_invalid_utf8_dropped),
        cmocka_unit_test(test_length_on_char_boundary),
        cmocka_unit_test(test_file_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
