/* Account deletion and the export's reads (store/deletion.h, store/export.h)
 * against a real SQLite store in a temporary directory: what one deletion
 * changes and reports (devices, profile, contacts on both sides at one new
 * version, blocks, codes; unknown, deleted and guest accounts refused), the
 * grace sweep's renaming (the window, batches, a name already taken), and
 * the keyset pages of own messages (each exactly once over pages of any
 * size, system lines and messages deleted for everyone skipped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "msg_util.h"
#include "store/deletion.h"
#include "store/export.h"

enum { GUEST = 1009 };

static int setup(void **state)
{
    if (fx_setup(state) != 0)
        return -1;
    fx_t *f = *state;
    mpu_user_add(&f->s, GUEST, "guest_1009", "Visitor", true);
    return 0;
}

/* ---- blocking wrappers -------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    size_t n_users, n_devices, n_peers;
    uint64_t device, peer;
    int64_t version;
    char username[40];
} del_res_t;

static void on_deleted(mp_err_t rc, const mp_account_delete_out_t *o, void *ud)
{
    del_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc != MP_OK) {
        assert_null(o);
        return;
    }
    r->n_users = o->base.n_users;
    r->n_devices = o->base.n_devices;
    r->device = o->base.n_devices ? o->base.devices[0] : 0;
    r->n_peers = o->n_peers;
    r->peer = o->n_peers ? o->peers[0].user_id : 0;
    r->version = o->version;
    snprintf(r->username, sizeof r->username, "%s", o->username);
}

static del_res_t delete_user(fx_t *f, uint64_t user)
{
    del_res_t r = {0};
    assert_int_equal(mp_store_account_delete(f->s.st, user, ++f->now, on_deleted, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

typedef struct {
    int done;
    mp_err_t rc;
    size_t n;
    int64_t last;
} rel_res_t;

static void on_released(mp_err_t rc, size_t n, int64_t last, void *ud)
{
    rel_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->n = n;
    r->last = last;
}

static rel_res_t release(fx_t *f, int64_t since, int64_t cutoff, unsigned max)
{
    rel_res_t r = {0};
    assert_int_equal(mp_store_account_release_names(f->s.st, since, cutoff, max, on_released, &r),
                     MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    return r;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_delete(void **state)
{
    fx_t *f = *state;
    exec_sql(f, "INSERT INTO devices(id, user_id, name, created_at) VALUES(11, 1001, 'a', 1),"
                " (12, 1001, 'b', 1), (21, 1002, 'c', 1);"
                "UPDATE devices SET revoked_at = 5 WHERE id = 12;"
                "INSERT INTO refresh_tokens(hash, device_id, live, created_at)"
                " VALUES(x'01', 11, 1, 1), (x'02', 21, 1, 1);"
                "UPDATE users SET email = 'alice@example.org', bio = 'hi', admin = 1,"
                " priv_message = 2, priv_receipts = 1 WHERE id = 1001;"
                "INSERT INTO contacts(user_id, peer_id, state, created_at, updated_at, version)"
                " VALUES(1001, 1002, 3, 1, 1, 1), (1002, 1001, 3, 1, 1, 1),"
                " (1001, 1003, 1, 1, 1, 1), (1003, 1002, 3, 1, 1, 1), (1002, 1003, 3, 1, 1, 1);"
                "INSERT INTO blocks(user_id, blocked_id, created_at) VALUES(1001, 1003, 1),"
                " (1003, 1001, 1), (1002, 1003, 1);"
                "INSERT INTO email_codes(user_id, purpose, code_hash, expires_at, sent_at)"
                " VALUES(1001, 'reset', x'00', 1, 1);");
    send_msg(f, ALICE, 0, BOB, "stays");

    del_res_t r = delete_user(f, ALICE);
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.n_users, 1);
    assert_int_equal(r.n_devices, 1); /* the one still active */
    assert_int_equal(r.device, 11);
    /* Bob's side was live; Carol never saw Alice's request (no row). */
    assert_int_equal(r.n_peers, 1);
    assert_int_equal(r.peer, BOB);
    assert_true(r.version > 1);
    assert_string_equal(r.username, "alice");

    assert_int_equal(
        mpu_store_peek_int(&f->s,
                           "SELECT count(*) FROM devices WHERE user_id = 1001 AND revoked_at = 0"),
        0);
    assert_int_equal(mpu_store_peek_int(&f->s, "SELECT revoked_at FROM devices WHERE id = 12"), 5);
    assert_int_equal(mpu_store_peek_int(&f->s, "SELECT count(*) FROM refresh_tokens"),
                     1); /* bob's */
    assert_int_equal(
        mpu_store_peek_int(&f->s,
                           "SELECT count(*) FROM users WHERE id = 1001 AND deleted_at > 0"
                           " AND display_name = 'Deleted account' AND bio = '' AND email IS NULL"
                           " AND admin = 0 AND password_hash = '' AND priv_message = 0"
                           " AND priv_receipts = 0 AND username = 'alice'"),
        1);
    assert_int_equal(
        mpu_store_peek_int(&f->s,
                           "SELECT count(*) FROM contacts WHERE (user_id = 1001 OR peer_id = 1001)"
                           " AND state = 0 AND version = %lld",
                           (long long)r.version),
        3);
    /* Others' relations and blocks are untouched. */
    assert_int_equal(mpu_store_peek_int(&f->s, "SELECT count(*) FROM contacts WHERE state = 3"), 2);
    assert_int_equal(mpu_store_peek_int(&f->s, "SELECT count(*) FROM blocks"), 1);
    assert_int_equal(mpu_store_peek_int(&f->s, "SELECT count(*) FROM email_codes"), 0);
    assert_int_equal(
        mpu_store_peek_int(&f->s, "SELECT count(*) FROM messages WHERE sender_id = 1001"), 1);

    /* Once only; guests and unknown users are no accounts to delete. */
    assert_int_equal(delete_user(f, ALICE).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(delete_user(f, GUEST).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(delete_user(f, 4242).rc, MP_ERR_NOT_FOUND);

    /* Carol's friend Bob is told; she had no device. */
    del_res_t c = delete_user(f, CAROL);
    assert_int_equal(c.rc, MP_OK);
    assert_int_equal(c.n_peers, 1); /* bob was carol's friend */
    assert_int_equal(c.n_devices, 0);
}

static void test_release_names(void **state)
{
    fx_t *f = *state;
    del_res_t r = delete_user(f, ALICE);
    assert_int_equal(r.rc, MP_OK);
    int64_t at_a = f->now;
    r = delete_user(f, BOB);
    int64_t at_b = f->now;
    r = delete_user(f, CAROL);
    int64_t at_c = f->now;
    /* Someone holds Carol's freed form already (an older database). */
    exec_sql(f, "INSERT INTO users(id, username, display_name, password_hash, guest, created_at)"
                " VALUES(5000, 'deleted_1003', 'x', '', 0, 1)");

    /* Within the grace: nothing. */
    assert_int_equal(release(f, 0, at_a, 10).n, 0);
    assert_int_equal(
        mpu_store_peek_int(&f->s, "SELECT count(*) FROM users WHERE username = 'alice'"), 1);
    /* In batches, oldest first. */
    rel_res_t x = release(f, 0, at_c + 1, 1);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.last, at_a);
    assert_int_equal(
        mpu_store_peek_int(
            &f->s, "SELECT count(*) FROM users WHERE id = 1001 AND username = 'deleted_1001'"),
        1);
    assert_int_equal(mpu_store_peek_int(&f->s, "SELECT count(*) FROM users WHERE username = 'bob'"),
                     1);
    x = release(f, x.last, at_c + 1, 1);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.last, at_b);
    assert_int_equal(mpu_store_peek_int(&f->s, "SELECT count(*) FROM users WHERE username = 'bob'"),
                     0);
    /* Carol's new name is taken: she keeps hers, and the sweep moves on. */
    x = release(f, x.last, at_c + 1, 10);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.last, at_c);
    assert_int_equal(
        mpu_store_peek_int(&f->s,
                           "SELECT count(*) FROM users WHERE id = 1003 AND username = 'carol'"),
        1);
    /* Renamed accounts are not looked at again. */
    assert_int_equal(release(f, 0, at_b + 1, 10).n, 0);
}

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t ids[64];
    size_t n;
    bool more;
    mp_export_cursor_t next;
} page_res_t;

static void on_page(mp_err_t rc, const mp_export_row_t *rows, size_t n, bool more,
                    const mp_export_cursor_t *next, void *ud)
{
    page_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc != MP_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        assert_true(r->n < 64);
        assert_string_equal(rows[i].name, "text");
        r->ids[r->n++] = rows[i].id;
    }
    r->more = more;
    if (more)
        r->next = *next;
}

/* Every own message of user, in pages of limit rows; returns the count. */
static size_t export_all(fx_t *f, uint64_t user, unsigned limit, uint64_t *ids)
{
    page_res_t r = {0};
    mp_export_cursor_t from = {0};
    size_t total = 0;
    for (int pages = 0;; pages++) {
        assert_true(pages < 100);
        r.done = 0;
        r.n = 0;
        r.more = false;
        assert_int_equal(mp_store_export_page(f->s.st, user, MP_EXPORT_MESSAGES, &from, limit,
                                              1 << 20, on_page, &r),
                         MP_OK);
        MPU_WAIT(&f->s.loop, &r.done, 1);
        assert_int_equal(r.rc, MP_OK);
        memcpy(ids + total, r.ids, r.n * sizeof *ids);
        total += r.n;
        if (!r.more)
            return total;
        from = r.next;
    }
}

static void test_export_messages(void **state)
{
    fx_t *f = *state;
    uint64_t own[20];
    size_t n_own = 0;
    send_res_t first = send_msg(f, ALICE, 0, BOB, "a0");
    own[n_own++] = first.id;
    for (int i = 1; i < 9; i++) {
        char t[16];
        snprintf(t, sizeof t, "a%d", i);
        own[n_own++] = send_msg(f, ALICE, first.conv, 0, t).id;
        send_msg(f, BOB, first.conv, 0, "from bob");
    }
    /* A system line by alice and one of her messages deleted for everyone. */
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO messages(id, conversation_id, seq, sender_id, client_msg_id, kind, body,"
             " created_at, version) VALUES(77, %llu, 1000, 1001, 'sys-77', 'system', '{}', 1, 1);"
             "UPDATE messages SET deleted_at = 5 WHERE id = %llu;",
             (unsigned long long)first.conv, (unsigned long long)own[4]);
    exec_sql(f, sql);
    own[4] = own[--n_own];

    for (unsigned limit = 1; limit <= 10; limit++) {
        uint64_t got[64];
        size_t n = export_all(f, ALICE, limit, got);
        assert_int_equal(n, n_own);
        for (size_t i = 0; i < n_own; i++) {
            size_t hits = 0;
            for (size_t k = 0; k < n; k++)
                hits += got[k] == own[i];
            assert_int_equal(hits, 1);
        }
    }
    uint64_t got[64];
    assert_int_equal(export_all(f, BOB, 3, got), 8);
    assert_int_equal(export_all(f, CAROL, 3, got), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delete, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_release_names, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_export_messages, setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
