/* argon2id off the loop: hash/verify round trip, the dummy verification for
 * unknown users, the loop staying responsive, and the bounded queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>
#include <uv.h>

#include "auth/auth_int.h"
#include "fixture.h"
#include "util/clock.h"

typedef struct {
    int done;
    mp_err_t rc;
    bool match;
    char hash[crypto_pwhash_STRBYTES];
    int64_t ms;  /* how long the job took, loop time */
    int ticks;   /* timer ticks seen before the job finished */
    int *ticker; /* shared tick counter */
} result_t;

static void on_hash(mp_err_t rc, const char *hash, void *ud)
{
    result_t *r = ud;
    r->done++;
    r->rc = rc;
    if (hash)
        strcpy(r->hash, hash);
    r->ticks = r->ticker ? *r->ticker : 0;
}

static void on_verify(mp_err_t rc, bool match, void *ud)
{
    result_t *r = ud;
    r->done++;
    r->rc = rc;
    r->match = match;
    r->ms = mp_mono_ms() - r->ms;
}

static int ticks;
static void on_tick(uv_timer_t *t)
{
    (void)t;
    ticks++;
}

static void test_hash_then_verify(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_timer_t timer;
    result_t h = {.ticker = &ticks}, ok = {0}, bad = {0};

    assert_int_equal(uv_loop_init(&loop), 0);
    mp_auth_pwpool_t *pool = mp_auth__pwpool_new(&loop, 2, 16);
    /* A 1 ms timer: if hashing ran on the loop, it could not tick meanwhile. */
    uv_timer_init(&loop, &timer);
    uv_timer_start(&timer, on_tick, 1, 1);
    ticks = 0;
    assert_int_equal(mp_auth__pw_hash(pool, "correct horse", 13, on_hash, &h), MP_OK);
    MPU_WAIT(&loop, &h.done, 1);
    assert_int_equal(h.rc, MP_OK);
    assert_true(h.ticks > 0);
    assert_non_null(strstr(h.hash, "$argon2id$"));
    assert_true(strlen(h.hash) <= MP_PWHASH_MAX);

    ok.ms = mp_mono_ms();
    bad.ms = mp_mono_ms();
    assert_int_equal(mp_auth__pw_verify(pool, h.hash, "correct horse", 13, on_verify, &ok), MP_OK);
    assert_int_equal(mp_auth__pw_verify(pool, h.hash, "correct horsf", 13, on_verify, &bad), MP_OK);
    MPU_WAIT(&loop, &ok.done, 1);
    MPU_WAIT(&loop, &bad.done, 1);
    assert_int_equal(ok.rc, MP_OK);
    assert_true(ok.match);
    assert_int_equal(bad.rc, MP_OK);
    assert_false(bad.match);

    uv_close((uv_handle_t *)&timer, NULL);
    MPU_RUN_IDLE(&loop);
    mp_auth__pwpool_free(pool);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_dummy_verification_does_the_work(void **state)
{
    (void)state;
    uv_loop_t loop;
    result_t none = {0}, empty = {0}, garbage = {0};

    assert_int_equal(uv_loop_init(&loop), 0);
    mp_auth_pwpool_t *pool = mp_auth__pwpool_new(&loop, 1, 16);
    /* Unknown user, guest (empty hash), a corrupt hash: never a match. The
     * dummy password itself must not match either. */
    none.ms = empty.ms = garbage.ms = mp_mono_ms();
    assert_int_equal(
        mp_auth__pw_verify(pool, NULL, "magpie-dummy-password-never-matches", 35, on_verify, &none),
        MP_OK);
    assert_int_equal(mp_auth__pw_verify(pool, "", "whatever1", 9, on_verify, &empty), MP_OK);
    assert_int_equal(
        mp_auth__pw_verify(pool, "$argon2id$garbage", "whatever1", 9, on_verify, &garbage), MP_OK);
    MPU_WAIT(&loop, &none.done, 1);
    MPU_WAIT(&loop, &empty.done, 1);
    MPU_WAIT(&loop, &garbage.done, 1);
    assert_false(none.match);
    assert_false(empty.match);
    assert_false(garbage.match);
    /* The dummy runs a real argon2id (64 MiB, t=2): it takes time. */
    assert_true(none.ms >= 10);
    MPU_RUN_IDLE(&loop);
    mp_auth__pwpool_free(pool);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_queue_is_bounded(void **state)
{
    (void)state;
    uv_loop_t loop;
    result_t r[4] = {{0}};

    assert_int_equal(uv_loop_init(&loop), 0);
    /* One running, one waiting: the third is refused at once. */
    mp_auth_pwpool_t *pool = mp_auth__pwpool_new(&loop, 1, 1);
    assert_int_equal(mp_auth__pw_verify(pool, NULL, "password1", 9, on_verify, &r[0]), MP_OK);
    assert_int_equal(mp_auth__pw_verify(pool, NULL, "password2", 9, on_verify, &r[1]), MP_OK);
    assert_int_equal(mp_auth__pw_verify(pool, NULL, "password3", 9, on_verify, &r[2]),
                     MP_ERR_UNAVAILABLE);
    assert_int_equal(mp_auth__pw_hash(pool, "password4", 9, on_hash, &r[3]), MP_ERR_UNAVAILABLE);
    MPU_RUN_IDLE(&loop);
    assert_int_equal(r[0].done, 1);
    assert_int_equal(r[1].done, 1);
    assert_int_equal(r[2].done, 0);
    assert_int_equal(r[3].done, 0);
    /* Once drained, it accepts again. */
    assert_int_equal(mp_auth__pw_verify(pool, NULL, "password5", 9, on_verify, &r[2]), MP_OK);
    MPU_RUN_IDLE(&loop);
    assert_int_equal(r[2].done, 1);
    mp_auth__pwpool_free(pool);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void never_called(mp_err_t rc, bool match, void *ud)
{
    (void)rc;
    (void)match;
    (void)ud;
    fail_msg("callback after the pool was freed");
}

static void test_free_while_running(void **state)
{
    (void)state;
    uv_loop_t loop;

    assert_int_equal(uv_loop_init(&loop), 0);
    mp_auth_pwpool_t *pool = mp_auth__pwpool_new(&loop, 1, 4);
    assert_int_equal(mp_auth__pw_verify(pool, NULL, "password1", 9, never_called, NULL), MP_OK);
    assert_int_equal(mp_auth__pw_verify(pool, NULL, "password2", 9, never_called, NULL), MP_OK);
    /* One job is on the thread pool, one waits: freeing now must neither call
     * back nor leak (ASan checks) once the running job has finished. */
    mp_auth__pwpool_free(pool);
    MPU_RUN_IDLE(&loop);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static int setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_then_verify),
        cmocka_unit_test(test_dummy_verification_does_the_work),
        cmocka_unit_test(test_queue_is_bounded),
        cmocka_unit_test(test_free_while_running),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
