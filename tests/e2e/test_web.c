/* End-to-end tests of the web client's files as `magpie serve` serves them:
 * the page and its client routes, caching and validation, the precompressed
 * copies, the Content-Security-Policy, API paths kept apart, `web = off`, and
 * `web_root` (a directory, with paths that try to leave it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static mpt_server_t *srv; /* the client built into the binary */

static int setup(void **state)
{
    (void)state;
    srv = mpt_server_start(NULL);
    return srv ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int r = mpt_server_stop(srv);
    srv = NULL;
    return r;
}

/* One request with extra raw header lines; returns the status. */
static int get(const mpt_server_t *s, const char *method, const char *path, const char *headers,
               mpc_response_t *out)
{
    mpc_conn_t *c = mpt_connect(s);
    assert_non_null(c);
    mpc_http_req_t req = {.method = method, .path = path, .extra_headers = headers, .close = true};
    int rc = mpc_http_send(c, &req, out, 10000);
    mpc_conn_free(c);
    assert_int_equal(rc, MPC_OK);
    return out->status;
}

static const char *hdr(const mpc_response_t *r, const char *name)
{
    const char *v = mpc_response_header(r, name);
    return v ? v : "";
}

/* The first "/assets/....js" named by the page. */
static void script_path(char *out, size_t cap)
{
    mpc_response_t r;
    assert_int_equal(get(srv, "GET", "/", NULL, &r), 200);
    const char *a = strstr(r.body, "/assets/");
    assert_non_null(a);
    size_t n = strcspn(a, "\"");
    assert_true(n < cap && n > 8);
    memcpy(out, a, n);
    out[n] = '\0';
    mpc_response_free(&r);
}

static void test_page(void **state)
{
    (void)state;
    mpc_response_t r;
    assert_int_equal(get(srv, "GET", "/", NULL, &r), 200);
    assert_non_null(strstr(hdr(&r, "Content-Type"), "text/html"));
    assert_non_null(strstr(r.body, "<div id=\"app\">"));
    assert_string_equal(hdr(&r, "Cache-Control"), "no-cache");
    assert_string_equal(hdr(&r, "X-Content-Type-Options"), "nosniff");
    const char *csp = hdr(&r, "Content-Security-Policy");
    assert_non_null(strstr(csp, "script-src 'self';"));
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));
    assert_null(strstr(csp, "unsafe-inline"));
    assert_null(strstr(csp, "unsafe-eval"));
    /* A strict policy is only worth it when the page needs nothing more. */
    assert_null(strstr(r.body, "<script>"));
    assert_null(strstr(r.body, " style="));
    mpc_response_free(&r);
}

static void test_client_routes(void **state)
{
    (void)state;
    const char *routes[] = {"/chats", "/chats/383209117054926848", "/join/abcDEF123",
                            "/admin/users", "/settings/devices"};
    mpc_response_t page, r;
    assert_int_equal(get(srv, "GET", "/index.html", NULL, &page), 200);
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        assert_int_equal(get(srv, "GET", routes[i], NULL, &r), 200);
        assert_string_equal(r.body, page.body);
        assert_string_equal(hdr(&r, "Cache-Control"), "no-cache");
        mpc_response_free(&r);
    }
    mpc_response_free(&page);
    /* A missing file is a 404, not the page: a broken script tag must fail. */
    assert_int_equal(get(srv, "GET", "/assets/nope-123.js", NULL, &r), 404);
    mpc_response_free(&r);
    assert_int_equal(get(srv, "GET", "/favicon.png", NULL, &r), 404);
    mpc_response_free(&r);
}

static void test_api_stays_json(void **state)
{
    (void)state;
    mpc_response_t r;
    assert_int_equal(get(srv, "GET", "/v1/nope", NULL, &r), 404);
    assert_string_equal(mpc_response_error_code(&r), "not_found");
    mpc_response_free(&r);
    assert_int_equal(get(srv, "GET", "/healthz", NULL, &r), 200);
    assert_non_null(r.json);
    mpc_response_free(&r);
    /* Only GET and HEAD reach the client's files. */
    assert_int_equal(get(srv, "POST", "/chats", NULL, &r), 404);
    assert_string_equal(mpc_response_error_code(&r), "not_found");
    mpc_response_free(&r);
}

static void test_assets_immutable(void **state)
{
    (void)state;
    char js[256];
    script_path(js, sizeof js);
    mpc_response_t r;
    assert_int_equal(get(srv, "GET", js, NULL, &r), 200);
    assert_non_null(strstr(hdr(&r, "Content-Type"), "text/javascript"));
    assert_string_equal(hdr(&r, "Cache-Control"), "public, max-age=31536000, immutable");
    assert_string_equal(hdr(&r, "Content-Encoding"), "");
    assert_true(r.body_len > 1000);
    assert_int_equal(strtoull(hdr(&r, "Content-Length"), NULL, 10), r.body_len);
    /* Scripts never get the page's headers. */
    assert_string_equal(hdr(&r, "Content-Security-Policy"), "");
    mpc_response_free(&r);
}

static void test_encodings(void **state)
{
    (void)state;
    char js[256];
    script_path(js, sizeof js);
    mpc_response_t plain, br, gz, none;
    get(srv, "GET", js, NULL, &plain);
    assert_int_equal(get(srv, "GET", js, "Accept-Encoding: gzip, deflate, br\r\n", &br), 200);
    assert_string_equal(hdr(&br, "Content-Encoding"), "br");
    assert_string_equal(hdr(&br, "Vary"), "Accept-Encoding");
    assert_true(br.body_len < plain.body_len / 2);
    assert_int_equal(get(srv, "GET", js, "Accept-Encoding: gzip\r\n", &gz), 200);
    assert_string_equal(hdr(&gz, "Content-Encoding"), "gzip");
    assert_true(gz.body_len < plain.body_len / 2);
    assert_true((unsigned char)gz.body[0] == 0x1f && (unsigned char)gz.body[1] == 0x8b);
    /* q=0 refuses a coding. */
    assert_int_equal(get(srv, "GET", js, "Accept-Encoding: br;q=0, gzip;q=0\r\n", &none), 200);
    assert_string_equal(hdr(&none, "Content-Encoding"), "");
    assert_int_equal(none.body_len, plain.body_len);
    /* Each representation has its own validator. */
    assert_string_not_equal(hdr(&br, "ETag"), hdr(&gz, "ETag"));
    assert_string_not_equal(hdr(&gz, "ETag"), hdr(&plain, "ETag"));
    mpc_response_free(&plain);
    mpc_response_free(&br);
    mpc_response_free(&gz);
    mpc_response_free(&none);
}

static void test_etag_and_head(void **state)
{
    (void)state;
    mpc_response_t r, again, head;
    assert_int_equal(get(srv, "GET", "/", NULL, &r), 200);
    char line[160];
    snprintf(line, sizeof line, "If-None-Match: %s\r\n", hdr(&r, "ETag"));
    assert_true(strlen(hdr(&r, "ETag")) > 4);
    assert_int_equal(get(srv, "GET", "/", line, &again), 304);
    assert_int_equal(again.body_len, 0);
    assert_string_equal(hdr(&again, "ETag"), hdr(&r, "ETag"));
    mpc_response_free(&again);
    assert_int_equal(get(srv, "GET", "/", "If-None-Match: \"stale\"\r\n", &again), 200);
    mpc_response_free(&again);
    assert_int_equal(get(srv, "HEAD", "/", NULL, &head), 200);
    assert_int_equal(head.body_len, 0);
    assert_string_equal(hdr(&head, "Content-Length"), hdr(&r, "Content-Length"));
    mpc_response_free(&head);
    mpc_response_free(&r);
}

static void test_web_off(void **state)
{
    (void)state;
    const char *flags[] = {"--web", "off", NULL};
    mpt_server_t *off = mpt_server_start(flags);
    assert_non_null(off);
    mpc_response_t r;
    assert_int_equal(get(off, "GET", "/", NULL, &r), 404);
    assert_string_equal(mpc_response_error_code(&r), "not_found");
    mpc_response_free(&r);
    assert_int_equal(get(off, "GET", "/healthz", NULL, &r), 200);
    mpc_response_free(&r);
    assert_int_equal(mpt_server_stop(off), 0);
}

static void put_file(const char *dir, const char *name, const char *text)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_web_root(void **state)
{
    (void)state;
    char root[] = "/tmp/magpie-webroot-XXXXXX";
    assert_non_null(mkdtemp(root));
    char sub[1100], outside[1100];
    snprintf(sub, sizeof sub, "%s/site", root);
    assert_int_equal(mkdir(sub, 0700), 0);
    put_file(sub, "index.html", "<!doctype html><p>dev page</p>");
    put_file(sub, "app.js", "console.log(1)");
    put_file(sub, ".env", "SECRET=1");
    put_file(root, "secret.txt", "outside the root");
    snprintf(outside, sizeof outside, "%s/site/sub", root);
    assert_int_equal(mkdir(outside, 0700), 0);
    const char *flags[] = {"--web_root", sub, NULL};
    mpt_server_t *dev = mpt_server_start(flags);
    assert_non_null(dev);
    mpc_response_t r;
    assert_int_equal(get(dev, "GET", "/", NULL, &r), 200);
    assert_string_equal(r.body, "<!doctype html><p>dev page</p>");
    assert_non_null(strstr(hdr(&r, "Content-Security-Policy"), "script-src 'self'"));
    mpc_response_free(&r);
    assert_int_equal(get(dev, "GET", "/chats/12", NULL, &r), 200);
    assert_string_equal(r.body, "<!doctype html><p>dev page</p>");
    mpc_response_free(&r);
    assert_int_equal(get(dev, "GET", "/app.js", NULL, &r), 200);
    assert_string_equal(r.body, "console.log(1)");
    assert_non_null(strstr(hdr(&r, "Content-Type"), "text/javascript"));
    assert_string_equal(hdr(&r, "Cache-Control"), "no-cache");
    mpc_response_free(&r);
    /* An edit shows at the next request: nothing is cached. */
    put_file(sub, "app.js", "console.log(2)");
    assert_int_equal(get(dev, "GET", "/app.js", NULL, &r), 200);
    assert_string_equal(r.body, "console.log(2)");
    mpc_response_free(&r);
    /* Nothing outside the root, no dotfiles, no directories. */
    const char *bad[] = {"/../secret.txt", "/%2e%2e/secret.txt", "/sub/../../secret.txt", "/.env",
                         "/sub",           "/missing.js"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(get(dev, "GET", bad[i], NULL, &r), 404);
        assert_null(strstr(r.body ? r.body : "", "outside the root"));
        assert_null(strstr(r.body ? r.body : "", "SECRET"));
        mpc_response_free(&r);
    }
    assert_int_equal(mpt_server_stop(dev), 0);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page),           cmocka_unit_test(test_client_routes),
        cmocka_unit_test(test_api_stays_json), cmocka_unit_test(test_assets_immutable),
        cmocka_unit_test(test_encodings),      cmocka_unit_test(test_etag_and_head),
        cmocka_unit_test(test_web_off),        cmocka_unit_test(test_web_root),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
