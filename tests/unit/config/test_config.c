/* Configuration: defaults, file/env/flag precedence, errors naming key and source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "util/log.h"

static char tmp_path[64];

static const char *write_file(const char *text)
{
    strcpy(tmp_path, "/tmp/magpie-test-config-XXXXXX");
    int fd = mkstemp(tmp_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return tmp_path;
}

static int teardown(void **state)
{
    (void)state;
    if (tmp_path[0])
        unlink(tmp_path);
    tmp_path[0] = '\0';
    unsetenv("MAGPIE_MAX_BODY");
    unsetenv("MAGPIE_LISTEN");
    unsetenv("MAGPIE_SEND_RATE");
    return 0;
}

static void test_defaults(void **state)
{
    (void)state;
    mp_config_t c;
    mp_config_defaults(&c);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 8080);
    assert_string_equal(c.data_dir, "./data");
    assert_int_equal(c.log_level, MP_LOG_INFO);
    assert_int_equal(c.node_id, 0);
    assert_int_equal(c.max_body, 1048576);
    assert_int_equal(c.max_header, 16384);
    assert_int_equal(c.header_timeout_ms, 10000);
    assert_int_equal(c.idle_timeout_ms, 60000);
    assert_string_equal(c.cors_origins, "");
    assert_string_equal(c.ws_origins, "");
    assert_int_equal(c.ws_max_message, 65536);
    assert_int_equal(c.ws_ping_interval_ms, 30000);
    assert_int_equal(c.ws_auth_timeout_ms, 10000);
    assert_int_equal(c.ws_max_queue, 1048576);
    assert_int_equal(c.registration, MP_REG_OPEN);
    assert_int_equal(c.login_rate_per_min, 10);
    assert_int_equal(c.access_token_ttl_s, 900);
    assert_int_equal(c.send_rate, 20);
    assert_int_equal(c.send_burst, 50);
}

static void test_precedence(void **state)
{
    (void)state;
    mp_config_t c;
    char err[512];
    const char *path = write_file("max_body = 100\nsend_rate = 7\n[magpie]\nsend_burst = 9\n"
                                  "login_rate = 3\n");
    setenv("MAGPIE_MAX_BODY", "200", 1);
    setenv("MAGPIE_SEND_RATE", "8", 1);
    char *argv[] = {"serve", "--config", (char *)path, "--max_body", "300", NULL};
    mp_config_defaults(&c);
    assert_int_equal(mp_config_load(&c, path, 5, argv, err, sizeof err), 0);
    assert_int_equal(c.max_body, 300); /* flag beats env and file */
    assert_int_equal(c.send_rate, 8);  /* env beats file */
    assert_int_equal(c.send_burst, 9); /* file, [magpie] section */
    assert_int_equal(c.login_rate_per_min, 3);
    assert_int_equal(c.ws_max_queue, 1048576); /* default */
}

static void test_flag_forms(void **state)
{
    (void)state;
    mp_config_t c;
    char err[512];
    char *argv[] = {"serve",
                    "--listen=0.0.0.0:0",
                    "--data",
                    "/tmp/x y",
                    "--print-config",
                    "--max-header",
                    "32k",
                    "--registration=closed",
                    "--log_level",
                    "debug",
                    "--help",
                    NULL};
    mp_config_defaults(&c);
    assert_int_equal(mp_config_load(&c, NULL, 11, argv, err, sizeof err), 0);
    assert_string_equal(c.listen_host, "0.0.0.0");
    assert_int_equal(c.listen_port, 0);
    assert_string_equal(c.data_dir, "/tmp/x y");
    assert_int_equal(c.max_header, 32768);
    assert_int_equal(c.registration, MP_REG_CLOSED);
    assert_int_equal(c.log_level, MP_LOG_DEBUG);
}

static void expect_set_fail(const char *key, const char *value, const char *needle)
{
    mp_config_t c;
    char err[512] = "";
    mp_config_defaults(&c);
    assert_int_equal(mp_config_set(&c, key, value, "flag --x", err, sizeof err), -1);
    if (strstr(err, needle) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", err, needle);
}

static void expect_set_ok(mp_config_t *c, const char *key, const char *value)
{
    char err[512] = "";
    if (mp_config_set(c, key, value, "test", err, sizeof err) != 0)
        fail_msg("%s = %s refused: %s", key, value, err);
}

static void test_sizes_and_durations(void **state)
{
    (void)state;
    mp_config_t c;
    mp_config_defaults(&c);
    expect_set_ok(&c, "max_body", "2m");
    assert_int_equal(c.max_body, 2 * 1024 * 1024);
    expect_set_ok(&c, "max_body", "3K");
    assert_int_equal(c.max_body, 3072);
    expect_set_ok(&c, "max_body", "1g");
    assert_int_equal(c.max_body, 1024 * 1024 * 1024);
    expect_set_ok(&c, "max_body", "12345");
    assert_int_equal(c.max_body, 12345);
    expect_set_ok(&c, "header_timeout", "5s");
    assert_int_equal(c.header_timeout_ms, 5000);
    expect_set_ok(&c, "header_timeout", "250ms");
    assert_int_equal(c.header_timeout_ms, 250);
    expect_set_ok(&c, "idle_timeout", "2m");
    assert_int_equal(c.idle_timeout_ms, 120000);
    expect_set_ok(&c, "idle_timeout", "1500");
    assert_int_equal(c.idle_timeout_ms, 1500);

    {
        mp_config_t w;
        mp_config_defaults(&w);
        assert_int_equal(w.edit_window_ms, 48u * 3600000u);
        assert_int_equal(w.recall_window_ms, 120000);
        assert_true(w.search_index);
        expect_set_ok(&w, "edit_window", "2h");
        assert_int_equal(w.edit_window_ms, 7200000);
        expect_set_ok(&w, "search_index", "off");
        assert_false(w.search_index);
        expect_set_ok(&w, "search_index", "true");
        assert_true(w.search_index);
    }
    expect_set_fail("max_body", "abc", "expected a size in bytes");
    expect_set_fail("max_body", "", "bad value \"\" for max_body");
    expect_set_fail("max_body", "-1", "bad value");
    expect_set_fail("max_body", "1t", "bad value");
    expect_set_fail("max_body", "1mb", "bad value");
    expect_set_fail("max_body", "2g", "bad value");                   /* above the 1g maximum */
    expect_set_fail("max_body", "0", "bad value");                    /* below the minimum */
    expect_set_fail("max_body", "99999999999999999999", "bad value"); /* overflows 64 bits */
    expect_set_fail("max_body", "17179869184g", "bad value");         /* overflows when scaled */
    expect_set_fail("header_timeout", "5d", "expected a duration");
    expect_set_fail("header_timeout", "25h", "bad value"); /* above the 24 h maximum */
    expect_set_fail("search_index", "maybe", "on or off");
    expect_set_fail("edit_window", "31d", "expected a duration");
    expect_set_fail("node_id", "1024", "from 0 to 1023");
    expect_set_fail("node_id", " 1", "bad value");
    expect_set_fail("send_rate", "1k", "bad value");
    expect_set_fail("log_level", "loud", "debug, info");
    expect_set_fail("registration", "maybe", "open or closed");
    expect_set_fail("no_such_key", "1", "unknown key \"no_such_key\" (from flag --x)");

    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    expect_set_fail("cors_origins", big, "at most 1023 bytes");
}

static void test_listen(void **state)
{
    (void)state;
    mp_config_t c;
    mp_config_defaults(&c);
    expect_set_ok(&c, "listen", "10.1.2.3:65535");
    assert_string_equal(c.listen_host, "10.1.2.3");
    assert_int_equal(c.listen_port, 65535);
    expect_set_ok(&c, "listen", "localhost:9000");
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 9000);
    expect_set_ok(&c, "listen", "[::1]:443");
    assert_string_equal(c.listen_host, "::1");
    assert_int_equal(c.listen_port, 443);
    expect_set_ok(&c, "listen", "[::]:0");
    assert_string_equal(c.listen_host, "::");
    assert_int_equal(c.listen_port, 0);

    const char *bad[] = {"8080",     "127.0.0.1",      "127.0.0.1:", "127.0.0.1:65536",
                         "1.2.3:80", "example.com:80", "::1:80",     "[::1]80",
                         "[::1:80",  "[zz]:80",        "1.2.3.4:-1", "1.2.3.4:8o",
                         ":80",      "1.2.3.4:80 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_set_fail("listen", bad[i], "expected HOST:PORT");
}

static void test_file_errors(void **state)
{
    (void)state;
    mp_config_t c;
    char err[1024];
    char *argv[] = {"serve", NULL};

    const char *path = write_file("# comment\nmax_body = 1k\n\nbogus = 1\n");
    mp_config_defaults(&c);
    assert_int_equal(mp_config_load(&c, path, 1, argv, err, sizeof err), -1);
    char want[256];
    snprintf(want, sizeof want, "unknown key \"bogus\" (from file %s:4)", path);
    assert_non_null(strstr(err, want));
    unlink(tmp_path);

    path = write_file("; ok\n[magpie]\nsend_rate = 5\n[other]\nsend_rate = 6\n");
    mp_config_defaults(&c);
    assert_int_equal(mp_config_load(&c, path, 1, argv, err, sizeof err), -1);
    snprintf(want, sizeof want, "key \"send_rate\" in unknown section [other] (from file %s:5)",
             path);
    assert_non_null(strstr(err, want));
    unlink(tmp_path);

    path = write_file("max_body = 1k\nws_max_message = huge\n");
    mp_config_defaults(&c);
    assert_int_equal(mp_config_load(&c, path, 1, argv, err, sizeof err), -1);
    snprintf(want, sizeof want,
             "bad value \"huge\" for ws_max_message (from file %s:2): expected a size", path);
    assert_non_null(strstr(err, want));
    unlink(tmp_path);

    path = write_file("max_body = 1k\nthis line has no equals sign\n");
    mp_config_defaults(&c);
    assert_int_equal(mp_config_load(&c, path, 1, argv, err, sizeof err), -1);
    snprintf(want, sizeof want, "syntax error in file %s:2", path);
    assert_non_null(strstr(err, want));
    unlink(tmp_path);

    mp_config_defaults(&c);
    assert_int_equal(mp_config_load(&c, "/nonexistent/magpie.ini", 1, argv, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot read config file \"/nonexistent/magpie.ini\""));
}

static void test_file_long_line(void **state)
{
    (void)state;
    /* Longer than inih's default 200-byte line buffer. */
    char text[1200] = "cors_origins = ";
    size_t n = strlen(text);
    while (n < 900) {
        memcpy(text + n, "https://a.example,", 18);
        n += 18;
    }
    strcpy(text + n, "https://b.example\nsend_rate = 3\n");
    const char *path = write_file(text);
    mp_config_t c;
    char err[1024];
    char *argv[] = {"serve", NULL};
    mp_config_defaults(&c);
    assert_int_equal(mp_config_load(&c, path, 1, argv, err, sizeof err), 0);
    assert_int_equal(strlen(c.cors_origins), n - strlen("cors_origins = ") + 17);
    assert_int_equal(c.send_rate, 3);
    unlink(tmp_path);

    /* Line numbers stay right after a line that inih read in several chunks. */
    strcpy(text + n, "https://b.example\n\nbogus = 3\n");
    path = write_file(text);
    mp_config_defaults(&c);
    assert_int_equal(mp_config_load(&c, path, 1, argv, err, sizeof err), -1);
    char want[256];
    snprintf(want, sizeof want, "unknown key \"bogus\" (from file %s:3)", path);
    if (strstr(err, want) == NULL)
        fail_msg("%s", err);
}

static void test_env_and_flag_errors(void **state)
{
    (void)state;
    mp_config_t c;
    char err[1024];
    char *argv[] = {"serve", NULL};
    setenv("MAGPIE_MAX_BODY", "abc", 1);
    mp_config_defaults(&c);
    assert_int_equal(mp_config_load(&c, NULL, 1, argv, err, sizeof err), -1);
    assert_string_equal(err, "config: bad value \"abc\" for max_body (from env MAGPIE_MAX_BODY): "
                             "expected a size in bytes from 1 to 1073741824 (suffix k, m or g "
                             "allowed)");
    unsetenv("MAGPIE_MAX_BODY");

    char *a2[] = {"serve", "--nope", "1", NULL};
    mp_config_defaults(&c);
    assert_int_equal(mp_config_load(&c, NULL, 3, a2, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown key \"nope\" (from flag --nope)"));

    char *a3[] = {"serve", "--max_body", NULL};
    mp_config_defaults(&c);
    assert_int_equal(mp_config_load(&c, NULL, 2, a3, err, sizeof err), -1);
    assert_non_null(strstr(err, "flag --max_body needs a value"));

    char *a4[] = {"serve", "stray", NULL};
    mp_config_defaults(&c);
    assert_int_equal(mp_config_load(&c, NULL, 2, a4, err, sizeof err), -1);
    assert_non_null(strstr(err, "unexpected argument \"stray\""));

    char *a5[] = {"serve", "--send_rate=0", NULL};
    mp_config_defaults(&c);
    assert_int_equal(mp_config_load(&c, NULL, 2, a5, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad value \"0\" for send_rate (from flag --send_rate)"));
}

static void test_print_roundtrip(void **state)
{
    (void)state;
    mp_config_t c, d;
    char err[512];
    mp_config_defaults(&c);
    expect_set_ok(&c, "listen", "[::1]:1234");
    expect_set_ok(&c, "max_body", "5k");
    expect_set_ok(&c, "registration", "closed");
    expect_set_ok(&c, "ws_origins", "https://x.example");

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mp_config_print(&c, f);
    fclose(f);
    assert_non_null(strstr(buf, "listen = [::1]:1234\n"));
    assert_non_null(strstr(buf, "max_body = 5120\n"));
    assert_non_null(strstr(buf, "registration = closed\n"));
    assert_non_null(strstr(buf, "log_level = info\n"));

    /* What --print-config prints is a valid config file giving the same config. */
    const char *path = write_file(buf);
    free(buf);
    char *argv[] = {"serve", NULL};
    mp_config_defaults(&d);
    assert_int_equal(mp_config_load(&d, path, 1, argv, err, sizeof err), 0);
    assert_memory_equal(&c, &d, sizeof c);

    buf = NULL;
    f = open_memstream(&buf, &len);
    mp_config_usage(f);
    fclose(f);
    assert_non_null(strstr(buf, "--ws_max_queue"));
    assert_non_null(strstr(buf, "(default \"64k\")"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_defaults, teardown),
        cmocka_unit_test_teardown(test_precedence, teardown),
        cmocka_unit_test_teardown(test_flag_forms, teardown),
        cmocka_unit_test_teardown(test_sizes_and_durations, teardown),
        cmocka_unit_test_teardown(test_listen, teardown),
        cmocka_unit_test_teardown(test_file_errors, teardown),
        cmocka_unit_test_teardown(test_file_long_line, teardown),
        cmocka_unit_test_teardown(test_env_and_flag_errors, teardown),
        cmocka_unit_test_teardown(test_print_roundtrip, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
