/* Store ops of the account life cycle (store/account.h) on a real store:
 * unique addresses checked in the insert, codes (attempts, expiry, single
 * use, rate of mails), password changes that revoke devices, the sweep of
 * unverified accounts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "store/account.h"

static mpu_store_t F;

static int setup(void **state)
{
    (void)state;
    return mpu_store_open(&F);
}

static int teardown(void **state)
{
    (void)state;
    mpu_store_close(&F);
    return 0;
}

/* ---- synchronous wrappers ------------------------------------------------------- */

typedef struct res {
    int done;
    mp_err_t rc;
    uint64_t user_id;
    uint64_t devs[16];
    size_t n;
} res_t;

static void on_done(mp_err_t rc, void *ud)
{
    res_t *r = ud;
    r->rc = rc;
    r->done++;
}

static void on_id(mp_err_t rc, uint64_t user_id, void *ud)
{
    res_t *r = ud;
    r->rc = rc;
    r->user_id = user_id;
    r->done++;
}

static void on_revoked(mp_err_t rc, uint64_t user_id, const uint64_t *devs, size_t n, void *ud)
{
    res_t *r = ud;
    r->rc = rc;
    r->user_id = user_id;
    r->n = n < 16 ? n : 16;
    if (devs)
        memcpy(r->devs, devs, r->n * sizeof *devs);
    r->done++;
}

static mp_err_t create(uint64_t id, const char *name, const char *email, bool pending,
                       const uint8_t *code, int64_t now)
{
    mp_user_row_t u = {.id = id, .created_at = now};
    snprintf(u.username, sizeof u.username, "%s", name);
    snprintf(u.display_name, sizeof u.display_name, "%s", name);
    snprintf(u.password_hash, sizeof u.password_hash, "$hash-of-%s", name);
    res_t r = {0};
    assert_int_equal(
        mp_store_account_create(F.st, &u, email, pending, code, now + 1000, NULL, on_done, &r),
        MP_OK);
    MPU_WAIT(&F.loop, &r.done, 1);
    return r.rc;
}

static mp_err_t is_free(const char *name, const char *email)
{
    res_t r = {0};
    assert_int_equal(mp_store_account_free(F.st, name, email, on_done, &r), MP_OK);
    MPU_WAIT(&F.loop, &r.done, 1);
    return r.rc;
}

static res_t use(const char *email, mp_code_purpose_t p, const uint8_t *code, int64_t now,
                 const char *new_hash)
{
    res_t r = {0};
    assert_int_equal(
        mp_store_email_code_use(F.st, email, p, code, now, 5, new_hash, on_revoked, &r), MP_OK);
    MPU_WAIT(&F.loop, &r.done, 1);
    return r;
}

static res_t code_new(const char *email, mp_code_purpose_t p, const uint8_t *code, int64_t now,
                      int64_t gap)
{
    res_t r = {0};
    assert_int_equal(mp_store_email_code_new(F.st, email, p, code, now, now + 1000, gap, on_id, &r),
                     MP_OK);
    MPU_WAIT(&F.loop, &r.done, 1);
    return r;
}

typedef struct user_res {
    int done;
    mp_err_t rc;
    mp_user_row_t u;
} user_res_t;

static void on_user(mp_err_t rc, const mp_user_row_t *u, void *ud)
{
    user_res_t *r = ud;
    r->rc = rc;
    if (rc == MP_OK)
        r->u = *u;
    r->done++;
}

static mp_user_row_t get_user(uint64_t id)
{
    user_res_t r = {0};
    assert_int_equal(mp_store_user_by_id(F.st, id, on_user, &r), MP_OK);
    MPU_WAIT(&F.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    return r.u;
}

static void device(uint64_t id, uint64_t user_id)
{
    mp_device_row_t d = {.id = id, .user_id = user_id, .created_at = 1};
    uint8_t hash[MP_TOKEN_HASH_LEN];
    memset(hash, (int)id, sizeof hash);
    res_t r = {0};
    assert_int_equal(mp_store_device_create(F.st, &d, hash, on_done, &r), MP_OK);
    MPU_WAIT(&F.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_unique_names_and_addresses(void **state)
{
    (void)state;
    uint8_t code[MP_STORE_CODE_HASH_LEN] = {1};
    assert_int_equal(is_free("uaa", "a@x.org"), MP_OK);
    assert_int_equal(create(101, "uaa", "a@x.org", true, code, 1000), MP_OK);
    assert_int_equal(is_free("uaa", ""), MP_ERR_USERNAME_TAKEN);
    assert_int_equal(is_free("UAA", NULL), MP_ERR_USERNAME_TAKEN);
    assert_int_equal(is_free("uab", "a@x.org"), MP_ERR_EMAIL_TAKEN);
    assert_int_equal(create(102, "uab", "a@x.org", false, NULL, 1000), MP_ERR_EMAIL_TAKEN);
    assert_int_equal(create(103, "UAA", "b@x.org", false, NULL, 1000), MP_ERR_USERNAME_TAKEN);
    /* Many accounts without an address. */
    assert_int_equal(create(104, "uac", NULL, false, NULL, 1000), MP_OK);
    assert_int_equal(create(105, "uad", "", false, NULL, 1000), MP_OK);
    mp_user_row_t u = get_user(101);
    assert_true(u.pending);
    u = get_user(104);
    assert_false(u.pending);
}

static void test_codes(void **state)
{
    (void)state;
    uint8_t right[MP_STORE_CODE_HASH_LEN], wrong[MP_STORE_CODE_HASH_LEN];
    memset(right, 7, sizeof right);
    memset(wrong, 8, sizeof wrong);
    assert_int_equal(create(201, "ucode", "c@x.org", true, right, 10000), MP_OK);
    /* Code expires at 11000. Wrong codes count; the unknown address is the
     * same refusal. */
    assert_int_equal(use("nobody@x.org", MP_CODE_VERIFY, right, 10001, NULL).rc,
                     MP_ERR_INVALID_CODE);
    for (int i = 0; i < 4; i++)
        assert_int_equal(use("c@x.org", MP_CODE_VERIFY, wrong, 10001, NULL).rc,
                         MP_ERR_INVALID_CODE);
    /* The wrong purpose never matches. */
    assert_int_equal(use("c@x.org", MP_CODE_RESET, right, 10001, "$new").rc, MP_ERR_INVALID_CODE);
    res_t r = use("c@x.org", MP_CODE_VERIFY, right, 10002, NULL);
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.user_id, 201);
    assert_false(get_user(201).pending);
    /* Single use. */
    assert_int_equal(use("c@x.org", MP_CODE_VERIFY, right, 10003, NULL).rc, MP_ERR_INVALID_CODE);

    /* Five wrong attempts kill it. */
    assert_int_equal(create(202, "ucode2", "d@x.org", true, right, 10000), MP_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(use("d@x.org", MP_CODE_VERIFY, wrong, 10001, NULL).rc,
                         MP_ERR_INVALID_CODE);
    assert_int_equal(use("d@x.org", MP_CODE_VERIFY, right, 10001, NULL).rc, MP_ERR_INVALID_CODE);
    /* A new code (rate: none within 500 ms of the last mail at 10000). */
    assert_int_equal(code_new("d@x.org", MP_CODE_VERIFY, right, 10400, 500).rc,
                     MP_ERR_RATE_LIMITED);
    res_t n = code_new("d@x.org", MP_CODE_VERIFY, right, 10500, 500);
    assert_int_equal(n.rc, MP_OK);
    assert_int_equal(n.user_id, 202);
    /* Expired at 11500. */
    assert_int_equal(use("d@x.org", MP_CODE_VERIFY, right, 11500, NULL).rc, MP_ERR_INVALID_CODE);
    /* Verify codes only for pending accounts, reset codes only for the others. */
    assert_int_equal(code_new("c@x.org", MP_CODE_VERIFY, right, 20000, 0).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(code_new("d@x.org", MP_CODE_RESET, right, 20000, 0).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(code_new("zz@x.org", MP_CODE_RESET, right, 20000, 0).rc, MP_ERR_NOT_FOUND);
}

static void test_reset_and_set_password(void **state)
{
    (void)state;
    uint8_t code[MP_STORE_CODE_HASH_LEN];
    memset(code, 3, sizeof code);
    assert_int_equal(create(301, "upw", "p@x.org", false, NULL, 1000), MP_OK);
    device(3011, 301);
    device(3012, 301);
    device(3013, 301);

    /* Change keeping one device: the two others are revoked. */
    res_t r = {0};
    assert_int_equal(mp_store_user_set_password(F.st, 301, "$h2", 3012, 5000, on_revoked, &r),
                     MP_OK);
    MPU_WAIT(&F.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.n, 2);
    assert_true((r.devs[0] == 3011 && r.devs[1] == 3013) ||
                (r.devs[0] == 3013 && r.devs[1] == 3011));
    assert_string_equal(get_user(301).password_hash, "$h2");

    /* Keep all: nothing revoked. */
    memset(&r, 0, sizeof r);
    assert_int_equal(mp_store_user_set_password(F.st, 301, "$h3", MP_STORE_KEEP_ALL_DEVICES, 5001,
                                                on_revoked, &r),
                     MP_OK);
    MPU_WAIT(&F.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.n, 0);

    /* Reset: the code sets the password and revokes every device. */
    assert_int_equal(code_new("p@x.org", MP_CODE_RESET, code, 6000, 0).rc, MP_OK);
    r = use("p@x.org", MP_CODE_RESET, code, 6001, "$h4");
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.devs[0], 3012);
    assert_string_equal(get_user(301).password_hash, "$h4");

    /* A password change kills a live reset code. */
    assert_int_equal(code_new("p@x.org", MP_CODE_RESET, code, 7000, 0).rc, MP_OK);
    memset(&r, 0, sizeof r);
    assert_int_equal(mp_store_user_set_password(F.st, 301, "$h5", 0, 7001, on_revoked, &r), MP_OK);
    MPU_WAIT(&F.loop, &r.done, 1);
    assert_int_equal(use("p@x.org", MP_CODE_RESET, code, 7002, "$h6").rc, MP_ERR_INVALID_CODE);

    /* Unknown and guest users. */
    memset(&r, 0, sizeof r);
    assert_int_equal(mp_store_user_set_password(F.st, 999, "$h", 0, 7001, on_revoked, &r), MP_OK);
    MPU_WAIT(&F.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_ERR_NOT_FOUND);
    mpu_user_add(&F, 302, "upwguest", "G", true);
    memset(&r, 0, sizeof r);
    assert_int_equal(mp_store_user_set_password(F.st, 302, "$h", 0, 7001, on_revoked, &r), MP_OK);
    MPU_WAIT(&F.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_ERR_NOT_FOUND);
}

static void on_count(mp_err_t rc, size_t n, void *ud)
{
    res_t *r = ud;
    r->rc = rc;
    r->n = n;
    r->done++;
}

static void test_pending_sweep(void **state)
{
    (void)state;
    uint8_t code[MP_STORE_CODE_HASH_LEN] = {9};
    assert_int_equal(create(401, "usw1", "s1@x.org", true, code, 50000), MP_OK);
    assert_int_equal(create(402, "usw2", "s2@x.org", true, code, 60000), MP_OK);
    assert_int_equal(create(403, "usw3", "s3@x.org", false, NULL, 40000), MP_OK);
    res_t r = {0};
    assert_int_equal(mp_store_pending_sweep(F.st, 55000, 100, on_count, &r), MP_OK);
    MPU_WAIT(&F.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    /* 401 and the pending accounts of the earlier tests (created before). */
    assert_true(r.n >= 1);
    assert_int_equal(is_free("usw1", "s1@x.org"), MP_OK);
    assert_int_equal(is_free("usw2", NULL), MP_ERR_USERNAME_TAKEN);
    assert_int_equal(is_free("usw3", NULL), MP_ERR_USERNAME_TAKEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unique_names_and_addresses),
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_reset_and_set_password),
        cmocka_unit_test(test_pending_sweep),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
