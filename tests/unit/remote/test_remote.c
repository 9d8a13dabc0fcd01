/* src/remote without a server: URLs, percent-encoding, message ids, and the
 * credentials file (entries, the default user, cursors, modes). */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "remote/remote.h"

static char home[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static int setup(void **state)
{
    (void)state;
    snprintf(home, sizeof home, "/tmp/magpie-remote-XXXXXX");
    if (mkdtemp(home) == NULL)
        return -1;
    setenv("XDG_CONFIG_HOME", home, 1);
    unsetenv("MAGPIE_USER");
    unsetenv("MAGPIE_URL");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return nftw(home, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void test_url_parse(void **state)
{
    (void)state;
    mpr_url_t u;
    mpr_err_t e = {0};
    assert_int_equal(mpr_url_parse("http://127.0.0.1:8080", &u, &e), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 8080);
    assert_string_equal(u.url, "http://127.0.0.1:8080");
    /* One server, one key: case, a trailing slash and the default port. */
    assert_int_equal(mpr_url_parse("http://Chat.Example.ORG/", &u, &e), 0);
    assert_string_equal(u.url, "http://chat.example.org:80");
    assert_int_equal(mpr_url_parse("http://[::1]:9000", &u, &e), 0);
    assert_string_equal(u.host, "::1");
    assert_string_equal(u.url, "http://[::1]:9000");
    assert_false(u.tls);
    /* https: port 443 by default, and the scheme stays in the key, so that
     * credentials of http://h:p never travel to https://h:p or back. */
    assert_int_equal(mpr_url_parse("https://Chat.Example.ORG/", &u, &e), 0);
    assert_true(u.tls);
    assert_int_equal(u.port, 443);
    assert_string_equal(u.url, "https://chat.example.org:443");
    assert_int_equal(mpr_url_parse("https://127.0.0.1:8443", &u, &e), 0);
    assert_string_equal(u.url, "https://127.0.0.1:8443");
    assert_int_equal(mpr_url_parse("https://[::1]", &u, &e), 0);
    assert_string_equal(u.host, "::1");
    assert_string_equal(u.url, "https://[::1]:443");

    static const char *const bad[] = {
        "",           "127.0.0.1:8080", "ftp://x",      "http://",        "http://:80",
        "http://h:0", "http://h:65536", "http://h:12x", "http://h/v1/ws", "http://[::1",
        "https://",   "https:/h",       "https://h/x",  "wss://h",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(&e, 0, sizeof e);
        if (mpr_url_parse(bad[i], &u, &e) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_int_equal(e.exit, MPR_EXIT_USAGE);
    }
}

static void test_url_choose(void **state)
{
    (void)state;
    assert_string_equal(mpr_url_choose(NULL), MPR_DEFAULT_URL);
    setenv("MAGPIE_URL", "http://10.0.0.1:1", 1);
    assert_string_equal(mpr_url_choose(NULL), "http://10.0.0.1:1");
    assert_string_equal(mpr_url_choose("http://h:2"), "http://h:2");
    unsetenv("MAGPIE_URL");
}

static void test_urlencode(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(mpr_urlencode("a b/c?d=é~", out, sizeof out), 0);
    assert_string_equal(out, "a%20b%2Fc%3Fd%3D%C3%A9~");
    assert_int_equal(mpr_urlencode("", out, sizeof out), 0);
    assert_string_equal(out, "");
    char small[4];
    assert_int_equal(mpr_urlencode("abc", small, sizeof small), 0);
    assert_int_equal(mpr_urlencode("abcd", small, sizeof small), -1);
    assert_int_equal(mpr_urlencode(" ", small, sizeof small), 0); /* %20 + NUL */
    assert_int_equal(mpr_urlencode("a ", small, sizeof small), -1);
}

static void test_msg_id(void **state)
{
    (void)state;
    char a[24], b[24];
    mpr_msg_id(a);
    /* Until the clock's millisecond moves on (at most a second). */
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        mpr_msg_id(b);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (memcmp(a, b, 15) == 0 && now.tv_sec - t0.tv_sec < 2);
    assert_memory_not_equal(a, b, 15);
    assert_int_equal(strlen(a), 23);
    assert_memory_equal(a, "cli-", 4);
    assert_string_not_equal(a, b);
    /* Later ids sort after earlier ones (the server's dedup index keeps
     * them together): the time comes first, as fixed-width hex. */
    assert_true(strcmp(a, b) < 0);
    for (int i = 4; i < 23; i++)
        assert_true(isxdigit((unsigned char)a[i]) && !isupper((unsigned char)a[i]));
}

static mpr_cred_t cred(const char *url, const char *user, const char *dev, int64_t updated)
{
    mpr_cred_t c = {0};
    snprintf(c.url, sizeof c.url, "%s", url);
    snprintf(c.username, sizeof c.username, "%s", user);
    snprintf(c.user_id, sizeof c.user_id, "1");
    snprintf(c.device_id, sizeof c.device_id, "%s", dev);
    snprintf(c.access_token, sizeof c.access_token, "acc-%s", dev);
    snprintf(c.refresh_token, sizeof c.refresh_token, "ref-%s", dev);
    c.access_expires_ms = 4102444800000;
    c.updated_ms = updated;
    return c;
}

static void test_creds(void **state)
{
    (void)state;
    mpr_err_t e = {0};
    mpr_cred_t got;
    const char *u1 = "http://127.0.0.1:1", *u2 = "http://127.0.0.1:2";
    /* Nobody yet: exit 3, not_logged_in. */
    assert_int_equal(mpr_creds_find(u1, NULL, &got, &e), -1);
    assert_int_equal(e.exit, MPR_EXIT_OFFLINE);
    assert_string_equal(e.code, "not_logged_in");

    mpr_cred_t a = cred(u1, "alice", "10", 100), b = cred(u1, "bob", "20", 200),
               c = cred(u2, "alice", "30", 50);
    assert_int_equal(mpr_creds_store(&a, &e), 0);
    assert_int_equal(mpr_creds_store(&b, &e), 0);
    assert_int_equal(mpr_creds_store(&c, &e), 0);

    char path[256];
    assert_int_equal(mpr_creds_path(path, sizeof path, &e), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* The latest login of a URL is its default; a name picks (any case, one @). */
    assert_int_equal(mpr_creds_find(u1, NULL, &got, &e), 0);
    assert_string_equal(got.username, "bob");
    assert_int_equal(mpr_creds_find(u1, "@ALICE", &got, &e), 0);
    assert_string_equal(got.device_id, "10");
    assert_string_equal(got.refresh_token, "ref-10");
    assert_int_equal(got.access_expires_ms, 4102444800000);
    setenv("MAGPIE_USER", "alice", 1);
    assert_int_equal(mpr_creds_find(u1, NULL, &got, &e), 0);
    assert_string_equal(got.username, "alice");
    unsetenv("MAGPIE_USER");
    assert_int_equal(mpr_creds_find(u2, NULL, &got, &e), 0);
    assert_string_equal(got.device_id, "30");
    assert_int_equal(mpr_creds_find(u2, "bob", &got, &e), -1);

    /* Cursors belong to the entry: kept by a refresh, dropped by a new device. */
    char cur[24];
    assert_int_equal(mpr_cursor_get(u1, "alice", "*", cur), 0);
    assert_string_equal(cur, "0");
    assert_int_equal(mpr_cursor_set(u1, "alice", "*", "1843", &e), 0);
    assert_int_equal(mpr_cursor_set(u1, "alice", "555", "12", &e), 0);
    assert_int_equal(mpr_cursor_get(u1, "alice", "*", cur), 0);
    assert_string_equal(cur, "1843");
    a.updated_ms = 300;
    snprintf(a.access_token, sizeof a.access_token, "acc-refreshed");
    assert_int_equal(mpr_creds_store(&a, &e), 0);
    assert_int_equal(mpr_cursor_get(u1, "alice", "555", cur), 0);
    assert_string_equal(cur, "12");
    mpr_cred_t a2 = cred(u1, "alice", "11", 400);
    assert_int_equal(mpr_creds_store(&a2, &e), 0);
    assert_int_equal(mpr_cursor_get(u1, "alice", "*", cur), 0);
    assert_string_equal(cur, "0");
    assert_int_equal(mpr_cursor_set(u1, "nobody", "*", "1", &e), -1);

    assert_int_equal(mpr_creds_remove(u1, "bob", &e), 0);
    assert_int_equal(mpr_creds_remove(u1, "bob", &e), 0); /* gone already: fine */
    assert_int_equal(mpr_creds_find(u1, NULL, &got, &e), 0);
    assert_string_equal(got.username, "alice");
    assert_int_equal(mpr_creds_find(u2, "alice", &got, &e), 0); /* the others stay */
}

static void test_damaged_file(void **state)
{
    (void)state;
    mpr_err_t e = {0};
    char path[256];
    assert_int_equal(mpr_creds_path(path, sizeof path, &e), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{not json", f);
    fclose(f);
    mpr_cred_t got;
    assert_int_equal(mpr_creds_find("http://127.0.0.1:1", NULL, &got, &e), -1);
    assert_int_equal(e.exit, MPR_EXIT_OFFLINE);
    assert_non_null(strstr(e.msg, "damaged"));
    assert_string_equal(e.code, "credentials");
    /* Valid JSON of another shape is no better. */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("[]", f);
    fclose(f);
    mpr_cred_t c = cred("http://127.0.0.1:1", "x", "1", 1);
    assert_int_equal(mpr_creds_store(&c, &e), -1);
    assert_non_null(strstr(e.msg, "damaged"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parse), cmocka_unit_test(test_url_choose),
        cmocka_unit_test(test_urlencode), cmocka_unit_test(test_msg_id),
        cmocka_unit_test(test_creds),     cmocka_unit_test(test_damaged_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
