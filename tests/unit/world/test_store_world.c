/* The world-room and guest store ops (store/world.h) against a real SQLite
 * store in a temporary directory: the world conversation at start-up, guest
 * creation, the inactivity sweep and the world read cursors. Every wait runs
 * the loop until the callback under test has fired. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fixture.h"
#include "store/world.h"
#include "util/alloc.h"
#include "util/id.h"
#include "util/log.h"

typedef struct {
    mpu_store_t s;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    mp_log_set_level(MP_LOG_WARN);
    if (mpu_store_open(&f->s) != 0)
        return -1;
    mp_id_init(2);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    mpu_store_close(&f->s);
    free(f);
    return 0;
}

/* One integer from a private connection (the store's are busy elsewhere). */
static int64_t sql_int(fx_t *f, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_open(mpu_store_db_path(&f->s), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static void sql_exec(fx_t *f, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(mpu_store_db_path(&f->s), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void on_done(mp_err_t rc, void *ud)
{
    int *r = ud;
    r[0]++;
    r[1] = (int)rc;
}

/* Creates a guest created (and last active) at `at` with one device. */
static mp_err_t make_guest(fx_t *f, uint64_t user, uint64_t dev, int64_t at, const char *name)
{
    mp_user_row_t u = {.id = user, .created_at = at, .guest = true};
    mp_device_row_t d = {.id = dev, .user_id = user, .created_at = at, .last_seen_at = at};
    uint8_t hash[MP_TOKEN_HASH_LEN];
    memset(hash, (int)(dev & 0xff), sizeof hash);
    snprintf(u.username, sizeof u.username, "%s", name);
    snprintf(u.display_name, sizeof u.display_name, "Guest %s", name);
    snprintf(d.name, sizeof d.name, "guest");
    int r[2] = {0, -1};
    assert_int_equal(mp_store_guest_create(f->s.st, &u, &d, hash, on_done, r), MP_OK);
    MPU_WAIT(&f->s.loop, &r[0], 1);
    return (mp_err_t)r[1];
}

/* ---- the world conversation ------------------------------------------------ */

static void test_world_ensure(void **state)
{
    fx_t *f = *state;
    uint64_t a = 0, b = 0;
    assert_int_equal(mp_store_world_ensure(f->s.st, 1700000000000LL, &a), MP_OK);
    assert_true(a != 0);
    assert_int_equal(mp_store_world_ensure(f->s.st, 1700000000001LL, &b), MP_OK);
    assert_true(a == b); /* found, not created again */
    assert_int_equal(sql_int(f, "SELECT count(*) FROM conversations WHERE kind = 'world'"), 1);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM members"), 0);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT title = 'World' FROM conversations WHERE id = %llu",
             (unsigned long long)a);
    assert_int_equal(sql_int(f, sql), 1);
}

/* ---- guests ------------------------------------------------------------------ */

typedef struct {
    int done;
    mp_err_t rc;
    mp_user_row_t u;
} user_res_t;

static void on_user(mp_err_t rc, const mp_user_row_t *u, void *ud)
{
    user_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_OK)
        r->u = *u;
}

static void test_guest_create(void **state)
{
    fx_t *f = *state;
    assert_int_equal(make_guest(f, 501, 601, 1000, "guest_501"), MP_OK);
    /* The same name again: taken, and nothing of the second one is written. */
    assert_int_equal(make_guest(f, 502, 602, 1000, "GUEST_501"), MP_ERR_USERNAME_TAKEN);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM devices WHERE id = 602"), 0);

    user_res_t r = {0};
    assert_int_equal(mp_store_user_by_id(f->s.st, 501, on_user, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    const mp_user_row_t u = r.u;
    assert_int_equal(u.id, 501);
    assert_true(u.guest);
    assert_string_equal(u.username, "guest_501");
    assert_string_equal(u.display_name, "Guest guest_501");
    assert_string_equal(u.password_hash, "");
    assert_int_equal(sql_int(f, "SELECT last_active_at FROM users WHERE id = 501"), 1000);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM refresh_tokens WHERE device_id = 601"), 1);
}

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t users[16], devices[16];
    size_t n_users, n_devices;
} sweep_res_t;

static void on_swept(mp_err_t rc, const mp_guest_sweep_out_t *o, void *ud)
{
    sweep_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc != MP_OK)
        return;
    r->n_users = o->n_users;
    r->n_devices = o->n_devices;
    for (size_t i = 0; i < o->n_users && i < 16; i++)
        r->users[i] = o->users[i];
    for (size_t i = 0; i < o->n_devices && i < 16; i++)
        r->devices[i] = o->devices[i];
}

static void sweep(fx_t *f, int64_t cutoff, unsigned max, sweep_res_t *r)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(mp_store_guest_sweep(f->s.st, cutoff, max, on_swept, r), MP_OK);
    MPU_WAIT(&f->s.loop, &r->done, 1);
    assert_int_equal(r->rc, MP_OK);
}

typedef struct {
    uint64_t ids[16];
    size_t n;
} revoked_t;

static void on_revoked(uint64_t device_id, void *ud)
{
    revoked_t *r = ud;
    if (r->n < 16)
        r->ids[r->n] = device_id;
    r->n++;
}

static void test_guest_sweep(void **state)
{
    fx_t *f = *state;
    uint64_t world = 0;
    assert_int_equal(mp_store_world_ensure(f->s.st, 1, &world), MP_OK);
    assert_int_equal(make_guest(f, 701, 801, 1000, "guest_701"), MP_OK); /* idle */
    assert_int_equal(make_guest(f, 702, 802, 1000, "guest_702"), MP_OK); /* refreshed */
    assert_int_equal(make_guest(f, 703, 803, 1000, "guest_703"), MP_OK); /* touched */
    assert_int_equal(make_guest(f, 704, 804, 9000, "guest_704"), MP_OK); /* young */
    mpu_user_add(&f->s, 705, "olduser", "Old", false); /* registered: never swept */
    /* Idle as long as the guests; the store API does not set last_active_at. */
    sql_exec(f, "UPDATE users SET last_active_at = 1 WHERE id = 705");
    sql_exec(f, "INSERT INTO devices(id, user_id, created_at) VALUES(811, 701, 1000)");
    sql_exec(f, "UPDATE devices SET last_seen_at = 6000 WHERE id = 802");
    sql_exec(f, "UPDATE users SET last_active_at = 6000 WHERE id = 703");
    /* A world post and a world cursor of the idle guest. */
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO messages(id, conversation_id, seq, sender_id, client_msg_id, body,"
             " created_at, version) VALUES(901, %llu, 1, 701, 'c1', 'hi', 1000, 1)",
             (unsigned long long)world);
    sql_exec(f, sql);
    snprintf(sql, sizeof sql, "INSERT INTO world_reads(user_id, conversation_id) VALUES(701, %llu)",
             (unsigned long long)world);
    sql_exec(f, sql);

    sweep_res_t r;
    sweep(f, 5000, 100, &r);
    assert_int_equal(r.n_users, 1);
    assert_int_equal(r.users[0], 701);
    assert_int_equal(r.n_devices, 2);
    assert_true((r.devices[0] == 801 && r.devices[1] == 811) ||
                (r.devices[0] == 811 && r.devices[1] == 801));
    assert_int_equal(sql_int(f, "SELECT count(*) FROM users WHERE id = 701"), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM devices WHERE user_id = 701"), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM refresh_tokens WHERE device_id = 801"), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM world_reads"), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM messages WHERE sender_id = 701"), 1);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM users"), 4);
    /* The deleted devices' access tokens are still refused after a restart:
     * the revoked set rebuilt at start-up sees their tombstones. */
    revoked_t rv = {0};
    assert_int_equal(mp_store_revoked_since(f->s.st, 0, on_revoked, &rv), MP_OK);
    assert_int_equal(rv.n, 2);
    assert_true((rv.ids[0] == 801 && rv.ids[1] == 811) || (rv.ids[0] == 811 && rv.ids[1] == 801));

    /* Later on, everyone but the registered user is due; max bounds a batch. */
    sweep(f, 100000, 2, &r);
    assert_int_equal(r.n_users, 2);
    sweep(f, 100000, 2, &r);
    assert_int_equal(r.n_users, 1);
    sweep(f, 100000, 2, &r);
    assert_int_equal(r.n_users, 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM users"), 1);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM users WHERE id = 705"), 1);
}

/* ---- world cursors ------------------------------------------------------------ */

typedef struct {
    int done;
    mp_err_t rc;
    mp_chat_cursor_out_t out;
} cursor_res_t;

static void on_cursor(mp_err_t rc, const mp_chat_cursor_out_t *o, void *ud)
{
    cursor_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_OK)
        r->out = *o;
}

static cursor_res_t cursor(fx_t *f, uint64_t user, uint64_t conv, mp_chat_cursor_t which,
                           int64_t seq)
{
    cursor_res_t r = {0};
    assert_int_equal(mp_store_world_cursor(f->s.st, user, conv, which, seq, on_cursor, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static void on_sent(mp_err_t rc, const mp_chat_send_out_t *o, void *ud)
{
    (void)o;
    int *r = ud;
    r[0]++;
    r[1] = (int)rc;
}

static void test_world_cursor(void **state)
{
    fx_t *f = *state;
    uint64_t world = 0;
    assert_int_equal(mp_store_world_ensure(f->s.st, 1, &world), MP_OK);
    mpu_user_add(&f->s, 1001, "alice", "Alice", false);
    mpu_user_add(&f->s, 1002, "bob", "Bob", false);
    /* Anyone may post to the world without a member row. */
    for (int i = 0; i < 3; i++) {
        char cmid[16];
        snprintf(cmid, sizeof cmid, "m%d", i);
        mp_chat_send_in_t in = {.sender_id = 1001,
                                .conversation_id = world,
                                .client_msg_id = cmid,
                                .text = "hello",
                                .text_len = 5,
                                .now_ms = 5000 + i};
        int r[2] = {0, -1};
        assert_int_equal(mp_store_chat_send(f->s.st, &in, on_sent, r), MP_OK);
        MPU_WAIT(&f->s.loop, &r[0], 1);
        assert_int_equal(r[1], MP_OK);
    }
    assert_int_equal(sql_int(f, "SELECT count(*) FROM world_reads"), 0);

    cursor_res_t r = cursor(f, 1002, world, MP_CHAT_CURSOR_DELIVERED, 1);
    assert_int_equal(r.rc, MP_OK);
    assert_true(r.out.changed);
    assert_int_equal(r.out.delivered_seq, 1);
    assert_int_equal(r.out.read_seq, 0);
    assert_int_equal(r.out.last_seq, 3);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM world_reads"), 1); /* created lazily */

    r = cursor(f, 1002, world, MP_CHAT_CURSOR_READ, 99); /* clamped to last_seq */
    assert_true(r.out.changed);
    assert_int_equal(r.out.read_seq, 3);
    assert_int_equal(r.out.delivered_seq, 3);

    r = cursor(f, 1002, world, MP_CHAT_CURSOR_READ, 2); /* never back */
    assert_int_equal(r.rc, MP_OK);
    assert_false(r.out.changed);
    assert_int_equal(r.out.read_seq, 3);

    /* Another user's cursor is their own. */
    r = cursor(f, 1001, world, MP_CHAT_CURSOR_READ, 2);
    assert_int_equal(r.out.read_seq, 2);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM world_reads"), 2);

    /* Not the world: no such cursor here. */
    r = cursor(f, 1001, world + 1, MP_CHAT_CURSOR_READ, 1);
    assert_int_equal(r.rc, MP_ERR_NOT_MEMBER);
    /* The world stays out of every member table. */
    assert_int_equal(sql_int(f, "SELECT count(*) FROM members"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_world_ensure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_world_cursor, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
