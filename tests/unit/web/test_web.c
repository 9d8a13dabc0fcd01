/* The pure parts of serving the web client (src/web): content types by
 * extension, which paths are client routes (answered with the page) rather
 * than missing files, which paths may be mapped onto web_root, and the
 * embedded table's order, which the lookup's binary search relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "web/web.h"
#include "web/web_int.h"

static void test_mime(void **state)
{
    (void)state;
    assert_string_equal(mp_web_mime("/index.html"), "text/html; charset=utf-8");
    assert_string_equal(mp_web_mime("/assets/index-AB12.js"), "text/javascript; charset=utf-8");
    assert_string_equal(mp_web_mime("/assets/index-AB12.CSS"), "text/css; charset=utf-8");
    assert_string_equal(mp_web_mime("/favicon.svg"), "image/svg+xml");
    assert_string_equal(mp_web_mime("/x.woff2"), "font/woff2");
    /* Unknown, none, or a dot in a folder name only. */
    assert_string_equal(mp_web_mime("/x.exe"), "application/octet-stream");
    assert_string_equal(mp_web_mime("/README"), "application/octet-stream");
    assert_string_equal(mp_web_mime("/a.b/README"), "application/octet-stream");
}

static void test_routes(void **state)
{
    (void)state;
    assert_true(mp_web__is_route("/"));
    assert_true(mp_web__is_route("/chats/383209117054926848"));
    assert_true(mp_web__is_route("/join/AbC-_d"));
    assert_true(mp_web__is_route("/v.2/chats"));
    assert_false(mp_web__is_route("/assets/app-1.js"));
    assert_false(mp_web__is_route("/favicon.ico"));
}

static void test_paths(void **state)
{
    (void)state;
    assert_true(mp_web__path_ok("/index.html"));
    assert_true(mp_web__path_ok("/assets/a-b_c.js"));
    assert_true(mp_web__path_ok("/a..b.js")); /* dots inside a name are fine */
    assert_false(mp_web__path_ok("/../etc/passwd"));
    assert_false(mp_web__path_ok("/assets/../../x"));
    assert_false(mp_web__path_ok("/.env"));
    assert_false(mp_web__path_ok("/assets/.git/config"));
    assert_false(mp_web__path_ok("/a\\..\\b"));
    assert_false(mp_web__path_ok("relative.js"));
    assert_false(mp_web__path_ok(""));
}

static void test_table_sorted(void **state)
{
    (void)state;
    for (size_t i = 1; i < mp_web__nassets; i++)
        assert_true(strcmp(mp_web__assets[i - 1].path, mp_web__assets[i].path) < 0);
    for (size_t i = 0; i < mp_web__nassets; i++) {
        const mp_web_asset_t *a = &mp_web__assets[i];
        assert_true(a->path[0] == '/');
        assert_true(mp_web__path_ok(a->path));
        /* A compressed copy is kept only when it is smaller. */
        assert_true(a->gz == NULL || a->gz_len < a->len);
        assert_true(a->br == NULL || a->br_len < a->len);
    }
    assert_int_equal(mp_web_embedded_count(), mp_web__nassets);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mime),
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_table_sorted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
