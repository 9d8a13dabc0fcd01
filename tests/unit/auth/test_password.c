/* argon2id off the loop: hash/verify round trip, the dummy verification for
 * unknown users, the loop staying responsive, the bounded queues, and logins
 * (verifications) overtaking waiting registrations (hashes). */
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
    int order;   /* 0-based position among the completions (see finished) */
} result_t;

/* Completions so far, to record the order in which jobs finished. */
static int finished;

static void on_hash(mp_err_t rc, const char *hash, void *ud)
{
    result_t *r = ud;
    r->done++;
    r->rc = rc;
    if (hash)
        strcpy(r->hash, hash);
    r->ticks = r->ticker ? *r->ticker : 0;
    r->order = finished++;
}

static void on_verify(mp_err_t rc, bool match, void *ud)
{
    result_t *r = ud;
    r->done++;
    r->rc = rc;
    r->match = match;
    r->ms = mp_mono_ms() - r->ms;
    r->order = finished++;
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
    result_t r[6] = {{0}};

    assert_int_equal(uv_loop_init(&loop), 0);
    /* One running, one waiting: the third verification is refused at once. */
    mp_auth_pwpool_t *pool = mp_auth__pwpool_new(&loop, 1, 1);
    assert_int_equal(mp_auth__pw_verify(pool, NULL, "password1", 9, on_verify, &r[0]), MP_OK);
    assert_int_equal(mp_auth__pw_verify(pool, NULL, "password2", 9, on_verify, &r[1]), MP_OK);
    assert_int_equal(mp_auth__pw_verify(pool, NULL, "password3", 9, on_verify, &r[2]),
                     MP_ERR_UNAVAILABLE);
    /* Hashes have their own queue (one place), full after one. Checked
     * after the loop has drained, so that a failure leaves nothing running. */
    mp_err_t rc4 = mp_auth__pw_hash(pool, "password4", 9, on_hash, &r[3]);
    mp_err_t rc5 = mp_auth__pw_hash(pool, "password5", 9, on_hash, &r[4]);
    MPU_RUN_IDLE(&loop);
    assert_int_equal(rc4, MP_OK);
    assert_int_equal(rc5, MP_ERR_UNAVAILABLE);
    assert_int_equal(r[0].done, 1);
    assert_int_equal(r[1].done, 1);
    assert_int_equal(r[2].done, 0);
    assert_int_equal(r[3].done, 1);
    assert_int_equal(r[4].done, 0);
    /* Once drained, it accepts again. */
    assert_int_equal(mp_auth__pw_verify(pool, NULL, "password5", 9, on_verify, &r[2]), MP_OK);
    MPU_RUN_IDLE(&loop);
    assert_int_equal(r[2].done, 1);
    mp_auth__pwpool_free(pool);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A full hash queue refuses registrations but not logins. */
static void test_full_hash_queue_still_verifies(void **state)
{
    (void)state;
    uv_loop_t loop;
    result_t h[4] = {{0}}, v = {0};

    assert_int_equal(uv_loop_init(&loop), 0);
    mp_auth_pwpool_t *pool = mp_auth__pwpool_new(&loop, 2, 2);
    /* parallel 2: one hash runs (one slot is kept for logins), two wait.
     * (Results are checked once the loop has drained: a failed assertion
     * must not leave jobs running on a loop that is gone.) */
    mp_err_t rc[5];
    for (int i = 0; i < 4; i++)
        rc[i] = mp_auth__pw_hash(pool, "password1", 9, on_hash, &h[i]);
    rc[4] = mp_auth__pw_verify(pool, NULL, "password2", 9, on_verify, &v);
    MPU_RUN_IDLE(&loop);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rc[i], MP_OK);
    assert_int_equal(rc[3], MP_ERR_UNAVAILABLE);
    assert_int_equal(rc[4], MP_OK);
    assert_int_equal(v.done, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(h[i].done, 1);
    assert_int_equal(h[3].done, 0);
    mp_auth__pwpool_free(pool);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Submits n hashes, then one verification, and checks that the verification
 * finished before every hash that was still waiting when it arrived: at most
 * the hashes already running (parallel - 1 of them, or 1 when parallel is 1)
 * may finish first. Order of completion, not time. */
static void verify_overtakes(unsigned parallel)
{
    enum { N = 6 };
    uv_loop_t loop;
    result_t h[N] = {{0}}, v = {0};
    int running_before = parallel > 1 ? (int)parallel - 1 : 1;

    assert_int_equal(uv_loop_init(&loop), 0);
    mp_auth_pwpool_t *pool = mp_auth__pwpool_new(&loop, parallel, 16);
    finished = 0;
    for (int i = 0; i < N; i++)
        assert_int_equal(mp_auth__pw_hash(pool, "registration", 12, on_hash, &h[i]), MP_OK);
    assert_int_equal(mp_auth__pw_verify(pool, NULL, "login-pass", 10, on_verify, &v), MP_OK);
    MPU_RUN_IDLE(&loop);
    assert_int_equal(v.done, 1);
    assert_int_equal(v.rc, MP_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(h[i].done, 1);
        assert_int_equal(h[i].rc, MP_OK);
    }
    if (v.order > running_before)
        fail_msg("the verification finished in position %d of %d, behind waiting hashes", v.order,
                 N + 1);
    /* Every hash that was waiting (not running) finished after it. */
    for (int i = running_before; i < N; i++)
        assert_true(h[i].order > v.order);
    mp_auth__pwpool_free(pool);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_verify_overtakes_waiting_hashes(void **state)
{
    (void)state;
    verify_overtakes(2);
}

static void test_verify_overtakes_waiting_hashes_one_slot(void **state)
{
    (void)state;
    verify_overtakes(1);
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
        cmocka_unit_test(test_full_hash_queue_still_verifies),
        cmocka_unit_test(test_verify_overtakes_waiting_hashes),
        cmocka_unit_test(test_verify_overtakes_waiting_hashes_one_slot),
        cmocka_unit_test(test_free_while_running),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
