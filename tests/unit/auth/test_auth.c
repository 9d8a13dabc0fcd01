/* The auth module as the gateway sees it: mp_auth_new (secret file),
 * mp_auth_authenticate with the revoked-device set, login rate limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "fixture.h"
#include "auth/auth_int.h"
#include "util/alloc.h"
#include "util/clock.h"

typedef struct {
    mpu_store_t s; /* its dir is the data dir; the store only serves the restart test */
    mp_config_t cfg;
    mp_module_ctx_t ctx;
    mp_auth_t *auth;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    char err[256];

    if (mpu_store_open(&f->s) != 0)
        return -1;
    mp_config_defaults(&f->cfg);
    snprintf(f->cfg.data_dir, sizeof(f->cfg.data_dir), "%s", f->s.dir);
    f->ctx.loop = &f->s.loop;
    f->ctx.cfg = &f->cfg;
    /* No store and no hub: mp_auth_new then skips loading revocations and
     * closing sockets; everything else is the real code. */
    f->auth = mp_auth_new(&f->ctx, err, sizeof(err));
    if (!f->auth)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    mp_auth_free(f->auth);
    mpu_store_close(&f->s);
    free(f);
    return 0;
}

static void test_authenticate_and_revoke(void **state)
{
    fixture_t *f = *state;
    mp_principal_t who = {0};

    char *a = mp_auth_issue_token(f->auth, 11, 101, false);
    char *b = mp_auth_issue_token(f->auth, 11, 102, false);
    char *g = mp_auth_issue_token(f->auth, 12, 201, true);
    assert_int_equal(mp_auth_authenticate(f->auth, a, &who), MP_OK);
    assert_true(who.user_id == 11 && who.device_id == 101 && !who.guest);
    assert_int_equal(mp_auth_authenticate(f->auth, g, &who), MP_OK);
    assert_true(who.user_id == 12 && who.device_id == 201 && who.guest);

    /* Revoking device 101 kills its token at once, not the other device's. */
    mp_auth__revoke(f->auth, 101);
    assert_int_equal(mp_auth_authenticate(f->auth, a, &who), MP_ERR_UNAUTHORIZED);
    assert_int_equal(mp_auth_authenticate(f->auth, b, &who), MP_OK);
    assert_true(who.device_id == 102);
    assert_int_equal(mp_auth_authenticate(f->auth, NULL, &who), MP_ERR_UNAUTHORIZED);
    assert_int_equal(mp_auth_authenticate(f->auth, "garbage", &who), MP_ERR_UNAUTHORIZED);
    mp_free(a);
    mp_free(b);
    mp_free(g);
}

static void test_revoked_set_grows(void **state)
{
    fixture_t *f = *state;
    for (uint64_t id = 1000; id < 6000; id++)
        mp_auth__revoke(f->auth, id);
    for (uint64_t id = 1000; id < 6000; id++)
        assert_true(mp_auth__is_revoked(f->auth, id));
    assert_false(mp_auth__is_revoked(f->auth, 999));
    assert_false(mp_auth__is_revoked(f->auth, 6000));
    assert_int_equal(mp_map_len(&f->auth->revoked), 5000);
    /* Revoking again does not count twice. */
    mp_auth__revoke(f->auth, 1000);
    assert_int_equal(mp_map_len(&f->auth->revoked), 5000);
}

static void test_restart_keeps_secret(void **state)
{
    fixture_t *f = *state;
    mp_principal_t who = {0};
    char err[256];
    char *tok = mp_auth_issue_token(f->auth, 5, 6, false);

    /* A second instance on the same data dir (a restart) accepts the token. */
    mp_module_ctx_t ctx2 = f->ctx;
    mp_auth_t *auth2 = mp_auth_new(&ctx2, err, sizeof(err));
    assert_non_null(auth2);
    assert_int_equal(mp_auth_authenticate(auth2, tok, &who), MP_OK);
    mp_auth_free(auth2);

    /* Another secret (another server) refuses it. */
    uint8_t other[MP_AUTH_SECRET_LEN] = {1};
    auth2 = mp_auth__create(&ctx2, other);
    assert_int_equal(mp_auth_authenticate(auth2, tok, &who), MP_ERR_UNAUTHORIZED);
    mp_auth_free(auth2);
    mp_free(tok);
}

static void test_login_limits(void **state)
{
    fixture_t *f = *state;
    mp_auth_t *auth = f->auth;
    char name[32];

    /* Defaults: 10 per minute per username and per IP (keys 10.0.0.x); the
     * 11th is refused with a Retry-After of about 6 s. */
    for (int i = 0; i < 10; i++)
        assert_int_equal(mp_auth__login_limit(auth, "alice", 0x0a000001u), 0);
    unsigned wait = mp_auth__login_limit(auth, "alice", 0x0a000002u);
    assert_in_range(wait, 1, 6);
    /* Same IP, many usernames: the IP limit catches it. */
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "user%d", i);
        assert_int_equal(mp_auth__login_limit(auth, name, 0x0a000003u), 0);
    }
    assert_true(mp_auth__login_limit(auth, "someone", 0x0a000003u) > 0);
    assert_int_equal(mp_auth__login_limit(auth, "bob", 0x0a000004u), 0);
}

static int pending;
static mp_err_t last_rc;
static void on_done(mp_err_t rc, void *ud)
{
    (void)ud;
    last_rc = rc;
    pending--;
}

static void wait_done(uv_loop_t *loop, mp_err_t rc)
{
    assert_int_equal(rc, MP_OK); /* queued */
    MPU_WAIT_ZERO(loop, &pending);
    assert_int_equal(last_rc, MP_OK);
}

static void add_device(fixture_t *f, uint64_t user_id, uint64_t id)
{
    mp_device_row_t d = {.id = id, .user_id = user_id, .created_at = 1, .last_seen_at = 1};
    uint8_t hash[MP_TOKEN_HASH_LEN] = {0};
    hash[0] = (uint8_t)id;
    strcpy(d.name, "phone");
    pending = 1;
    wait_done(&f->s.loop, mp_store_device_create(f->s.st, &d, hash, on_done, NULL));
}

/* Revocations recorded in the store are known again after a restart, so a
 * still-unexpired token of a revoked device stays refused. */
static void test_revocations_survive_restart(void **state)
{
    fixture_t *f = *state;
    mp_principal_t who = {0};
    char err[256];

    mpu_user_add(&f->s, 77, "alice", "Alice", false);
    add_device(f, 77, 1001);
    add_device(f, 77, 1002);
    pending = 1;
    wait_done(&f->s.loop, mp_store_device_revoke(f->s.st, 77, 1001, mp_now_ms(), on_done, NULL));

    char *t1 = mp_auth_issue_token(f->auth, 77, 1001, false);
    char *t2 = mp_auth_issue_token(f->auth, 77, 1002, false);
    mp_module_ctx_t ctx2 = f->ctx;
    ctx2.store = f->s.st;
    mp_auth_t *auth2 = mp_auth_new(&ctx2, err, sizeof(err));
    assert_non_null(auth2);
    assert_int_equal(mp_auth_authenticate(auth2, t1, &who), MP_ERR_UNAUTHORIZED);
    assert_int_equal(mp_auth_authenticate(auth2, t2, &who), MP_OK);
    mp_free(t1);
    mp_free(t2);

    mp_auth_free(auth2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_authenticate_and_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoked_set_grows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revocations_survive_restart, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
