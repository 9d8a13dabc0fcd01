/* Invite codes and world bans (store/invites.h, store/world.h) against a real
 * SQLite store in a temporary directory: create, list in pages, revoke
 * (idempotent, unknown code), codes compared without case; a registration
 * counts exactly one use in its own write (unknown, expired, revoked and used
 * up codes refused, a taken name gives the use back, unlimited codes);
 * two registrations racing for the last use in one group-commit batch: exactly
 * one gets it. World bans: ban, ban again, list, unban; a banned user's send,
 * forward and reaction in the world refused in the write, other rooms not
 * affected; deletion for everyone by an admin (users.admin) or with the
 * moderator right vouched by the caller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "msg_util.h"
#include "store/account.h"
#include "store/invites.h"
#include "store/world.h"

enum { WORLD = 9100, ADMIN = 1004, GUEST = 1005 };

static int setup(void **state)
{
    if (fx_setup(state) != 0)
        return -1;
    fx_t *f = *state;
    mpu_user_add(&f->s, ADMIN, "root", "Root", false);
    mpu_user_add(&f->s, GUEST, "guest1", "Guest", true);
    exec_sql(f, "INSERT INTO conversations(id, kind, title, version, created_at, active_at)"
                " VALUES(9100, 'world', 'World', 1, 1, 1)");
    exec_sql(f, "UPDATE users SET admin = 1 WHERE id = 1004");
    return 0;
}

/* ---- blocking wrappers ---------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    mp_invite_row_t row;
} inv_res_t;

static void on_invite(mp_err_t rc, const mp_invite_row_t *row, void *ud)
{
    inv_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_OK)
        r->row = *row;
    else
        assert_null(row);
}

static inv_res_t invite_new(fx_t *f, const char *code, int64_t max_uses, int64_t expires_at)
{
    mp_invite_row_t in = {.created_by = ADMIN,
                          .created_at = ++f->now,
                          .max_uses = max_uses,
                          .expires_at = expires_at};
    snprintf(in.code, sizeof in.code, "%s", code);
    snprintf(in.note, sizeof in.note, "for %s", code);
    inv_res_t r = {0};
    assert_int_equal(mp_store_invite_create(f->s.st, &in, on_invite, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static inv_res_t invite_revoke(fx_t *f, const char *code)
{
    inv_res_t r = {0};
    assert_int_equal(mp_store_invite_revoke(f->s.st, code, ++f->now, on_invite, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

typedef struct {
    int done;
    mp_err_t rc;
    mp_invite_row_t rows[8];
    size_t n;
    bool more;
} list_res_t;

static void on_list(mp_err_t rc, const mp_invite_row_t *rows, size_t n, bool more, void *ud)
{
    list_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->n = n < 8 ? n : 8;
    if (r->n)
        memcpy(r->rows, rows, r->n * sizeof *rows);
    r->more = more;
}

static list_res_t *invite_list(fx_t *f, int64_t after_at, const char *after_code, unsigned limit)
{
    list_res_t *r = calloc(1, sizeof *r);
    assert_int_equal(mp_store_invite_list(f->s.st, after_at, after_code, limit, on_list, r), MP_OK);
    MPU_WAIT(&f->s.loop, &r->done, 1);
    return r;
}

/* The stored row of code (asserting it is listed on the first page). */
static mp_invite_row_t invite_get(fx_t *f, const char *code)
{
    list_res_t *l = invite_list(f, 0, "", 8);
    assert_int_equal(l->rc, MP_OK);
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->rows[i].code, code) == 0) {
            mp_invite_row_t row = l->rows[i];
            free(l);
            return row;
        }
    fail_msg("code %s not listed", code);
    free(l);
    return (mp_invite_row_t){0};
}

typedef struct {
    int done;
    mp_err_t rc;
} done_res_t;

static void on_done(mp_err_t rc, void *ud)
{
    done_res_t *r = ud;
    r->done++;
    r->rc = rc;
}

static void queue_register(fx_t *f, uint64_t id, const char *name, const char *code, done_res_t *r)
{
    mp_user_row_t u = {.id = id, .created_at = ++f->now};
    snprintf(u.username, sizeof u.username, "%s", name);
    snprintf(u.display_name, sizeof u.display_name, "%s", name);
    snprintf(u.password_hash, sizeof u.password_hash, "$argon2id$fake");
    assert_int_equal(mp_store_account_create(f->s.st, &u, NULL, false, NULL, 0, code, on_done, r),
                     MP_OK);
}

static mp_err_t register_with(fx_t *f, uint64_t id, const char *name, const char *code)
{
    done_res_t r = {0};
    queue_register(f, id, name, code, &r);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r.rc;
}

/* ---- invite codes ------------------------------------------------------------------------- */

static void test_invite_create_list_revoke(void **state)
{
    fx_t *f = *state;
    inv_res_t a = invite_new(f, "AAAA2222BBBB", 1, 0);
    assert_int_equal(a.rc, MP_OK);
    assert_string_equal(a.row.code, "AAAA2222BBBB");
    assert_int_equal(a.row.max_uses, 1);
    assert_int_equal(a.row.uses, 0);
    assert_int_equal(a.row.revoked_at, 0);
    assert_true(a.row.created_by == ADMIN);
    assert_string_equal(a.row.note, "for AAAA2222BBBB");
    assert_int_equal(mp_invite_state(&a.row, f->now), MP_INVITE_ACTIVE);
    /* Codes are stored upper-case: the same code in lower case conflicts. */
    assert_int_equal(invite_new(f, "aaaa2222bbbb", 1, 0).rc, MP_ERR_CONFLICT);
    assert_string_equal(invite_new(f, "cccc3333dddd", 0, 0).row.code, "CCCC3333DDDD");
    assert_int_equal(invite_new(f, "EEEE4444FFFF", 5, f->now + 1000).rc, MP_OK);

    /* Newest first, paged. */
    list_res_t *p1 = invite_list(f, 0, "", 2);
    assert_int_equal(p1->rc, MP_OK);
    assert_int_equal(p1->n, 2);
    assert_true(p1->more);
    assert_string_equal(p1->rows[0].code, "EEEE4444FFFF");
    assert_string_equal(p1->rows[1].code, "CCCC3333DDDD");
    list_res_t *p2 = invite_list(f, p1->rows[1].created_at, p1->rows[1].code, 2);
    assert_int_equal(p2->n, 1);
    assert_false(p2->more);
    assert_string_equal(p2->rows[0].code, "AAAA2222BBBB");
    free(p1);
    free(p2);

    /* Revoke (any case), again (first time kept), unknown. */
    inv_res_t r = invite_revoke(f, "aaaa2222BBBB");
    assert_int_equal(r.rc, MP_OK);
    int64_t at = r.row.revoked_at;
    assert_true(at != 0);
    assert_int_equal(mp_invite_state(&r.row, f->now), MP_INVITE_REVOKED);
    r = invite_revoke(f, "AAAA2222BBBB");
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.row.revoked_at, at);
    assert_int_equal(invite_revoke(f, "NOPE").rc, MP_ERR_NOT_FOUND);

    /* The state names. */
    mp_invite_row_t e = invite_get(f, "EEEE4444FFFF");
    assert_string_equal(mp_invite_state_name(mp_invite_state(&e, e.expires_at)), "expired");
    e.uses = 5;
    assert_string_equal(mp_invite_state_name(mp_invite_state(&e, 0)), "used_up");
    assert_string_equal(mp_invite_state_name(MP_INVITE_ACTIVE), "active");
}

static void test_invite_consumption(void **state)
{
    fx_t *f = *state;
    assert_int_equal(invite_new(f, "TWO2TWO2TWO2", 2, 0).rc, MP_OK);
    /* A taken name fails and gives the use back. */
    assert_int_equal(register_with(f, 2001, "alice", "TWO2TWO2TWO2"), MP_ERR_USERNAME_TAKEN);
    assert_int_equal(invite_get(f, "TWO2TWO2TWO2").uses, 0);
    assert_int_equal(register_with(f, 2002, "dave", "two2two2two2"), MP_OK);
    assert_int_equal(invite_get(f, "TWO2TWO2TWO2").uses, 1);
    assert_int_equal(register_with(f, 2003, "erin", "TWO2TWO2TWO2"), MP_OK);
    mp_invite_row_t two = invite_get(f, "TWO2TWO2TWO2");
    assert_int_equal(two.uses, 2);
    assert_int_equal(mp_invite_state(&two, f->now), MP_INVITE_USED_UP);
    /* Used up: refused, and nothing stored. */
    assert_int_equal(register_with(f, 2004, "frank", "TWO2TWO2TWO2"), MP_ERR_INVALID_INVITE);
    assert_int_equal(invite_get(f, "TWO2TWO2TWO2").uses, 2);
    assert_int_equal(register_with(f, 2004, "frank", "UNKNOWNCODE1"), MP_ERR_INVALID_INVITE);

    /* Expired (expires_at is exclusive), revoked. */
    assert_int_equal(invite_new(f, "EXP2EXP2EXP2", 1, f->now + 2).rc, MP_OK);
    f->now += 5;
    assert_int_equal(register_with(f, 2004, "frank", "EXP2EXP2EXP2"), MP_ERR_INVALID_INVITE);
    assert_int_equal(invite_new(f, "REV2REV2REV2", 1, 0).rc, MP_OK);
    assert_int_equal(invite_revoke(f, "REV2REV2REV2").rc, MP_OK);
    assert_int_equal(register_with(f, 2004, "frank", "REV2REV2REV2"), MP_ERR_INVALID_INVITE);
    assert_int_equal(invite_get(f, "REV2REV2REV2").uses, 0);

    /* Unlimited: counted, never used up. */
    assert_int_equal(invite_new(f, "ANY2ANY2ANY2", 0, f->now + 100000).rc, MP_OK);
    char name[16];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "many%d", i);
        assert_int_equal(register_with(f, 2100 + (uint64_t)i, name, "ANY2ANY2ANY2"), MP_OK);
    }
    assert_int_equal(invite_get(f, "ANY2ANY2ANY2").uses, 5);
    /* frank never got in: the name is still free. */
    assert_int_equal(register_with(f, 2004, "frank", "ANY2ANY2ANY2"), MP_OK);
}

/* Two registrations for the last use in ONE batch (the writer held by a
 * gate while both are queued): exactly one gets it, whatever the order. */
static void test_invite_race_last_use(void **state)
{
    fx_t *f = *state;
    assert_int_equal(invite_new(f, "LAST2LAST2LA", 3, 0).rc, MP_OK);
    assert_int_equal(register_with(f, 3001, "first", "LAST2LAST2LA"), MP_OK);
    assert_int_equal(register_with(f, 3002, "second", "LAST2LAST2LA"), MP_OK);
    mpu_gate_t g;
    mpu_gate_close(&f->s, &g);
    done_res_t a = {0}, b = {0};
    queue_register(f, 3003, "racer_a", "LAST2LAST2LA", &a);
    queue_register(f, 3004, "racer_b", "last2last2la", &b);
    mpu_gate_open(&f->s, &g);
    MPU_WAIT(&f->s.loop, &a.done, 1);
    MPU_WAIT(&f->s.loop, &b.done, 1);
    assert_true((a.rc == MP_OK) != (b.rc == MP_OK));
    assert_int_equal(a.rc == MP_OK ? b.rc : a.rc, MP_ERR_INVALID_INVITE);
    assert_int_equal(invite_get(f, "LAST2LAST2LA").uses, 3);
}

/* ---- world bans ---------------------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    mp_world_ban_row_t row;
    bool created;
} ban_res_t;

static void on_ban(mp_err_t rc, const mp_world_ban_row_t *row, bool created, void *ud)
{
    ban_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->created = created;
    if (rc == MP_OK)
        r->row = *row;
    else
        assert_null(row);
}

static ban_res_t ban(fx_t *f, uint64_t user, const char *reason)
{
    ban_res_t r = {0};
    assert_int_equal(mp_store_world_ban(f->s.st, user, ADMIN, reason, ++f->now, on_ban, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static mp_err_t unban(fx_t *f, uint64_t user)
{
    done_res_t r = {0};
    assert_int_equal(mp_store_world_unban(f->s.st, user, on_done, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r.rc;
}

typedef struct {
    int done;
    mp_err_t rc;
    mp_world_ban_row_t rows[8];
    size_t n;
    bool more;
} bans_res_t;

static void on_bans(mp_err_t rc, const mp_world_ban_row_t *rows, size_t n, bool more, void *ud)
{
    bans_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->n = n < 8 ? n : 8;
    if (r->n)
        memcpy(r->rows, rows, r->n * sizeof *rows);
    r->more = more;
}

static bans_res_t *bans(fx_t *f, int64_t after_at, uint64_t after_user, unsigned limit)
{
    bans_res_t *r = calloc(1, sizeof *r);
    assert_int_equal(mp_store_world_bans(f->s.st, after_at, after_user, limit, on_bans, r), MP_OK);
    MPU_WAIT(&f->s.loop, &r->done, 1);
    return r;
}

/* A send's result code (msg_util.h's send_msg asserts MP_OK). */
static mp_err_t try_send(fx_t *f, uint64_t from, uint64_t conv, uint64_t to)
{
    static int n;
    char cmid[32];
    snprintf(cmid, sizeof cmid, "t-%d", ++n);
    mp_chat_send_in_t in = {.sender_id = from,
                            .sender_device = 1,
                            .conversation_id = conv,
                            .to_user_id = to,
                            .client_msg_id = cmid,
                            .text = "hi",
                            .text_len = 2,
                            .now_ms = ++f->now};
    send_res_t r = {0};
    assert_int_equal(mp_store_chat_send(f->s.st, &in, on_send, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r.rc;
}

static void on_react_rc(mp_err_t rc, const mp_msg_react_out_t *o, void *ud)
{
    (void)o;
    on_done(rc, ud);
}

static mp_err_t try_react(fx_t *f, uint64_t user, uint64_t msg)
{
    done_res_t r = {0};
    mp_msg_actor_t a = {.user_id = user};
    assert_int_equal(mp_store_msg_react(f->s.st, &a, WORLD, msg, "\xF0\x9F\x91\x8D", true, 20,
                                        ++f->now, on_react_rc, &r),
                     MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r.rc;
}

static void on_fwd(mp_err_t rc, const mp_msg_forward_out_t *o, void *ud)
{
    (void)o;
    on_done(rc, ud);
}

static mp_err_t try_forward(fx_t *f, uint64_t user, uint64_t from, uint64_t msg, uint64_t to_conv)
{
    done_res_t r = {0};
    mp_msg_forward_in_t in = {.sender_id = user,
                              .sender_device = 1,
                              .from_conversation = from,
                              .message_ids = &msg,
                              .n = 1,
                              .conversation_id = to_conv,
                              .client_msg_id = "fwd",
                              .now_ms = ++f->now};
    assert_int_equal(mp_store_msg_forward(f->s.st, &in, on_fwd, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r.rc;
}

static void on_del(mp_err_t rc, const mp_msg_row_t *m, void *ud)
{
    if (rc == MP_OK)
        assert_true(m->deleted_at != 0);
    on_done(rc, ud);
}

static mp_err_t try_delete(fx_t *f, mp_msg_actor_t a, uint64_t msg)
{
    done_res_t r = {0};
    assert_int_equal(mp_store_msg_delete(f->s.st, &a, WORLD, msg, true, 0, ++f->now, on_del, &r),
                     MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r.rc;
}

static void test_world_bans(void **state)
{
    fx_t *f = *state;
    assert_int_equal(ban(f, 999999, "nobody").rc, MP_ERR_NOT_FOUND);
    ban_res_t b = ban(f, BOB, "spam");
    assert_int_equal(b.rc, MP_OK);
    assert_true(b.created);
    assert_true(b.row.user_id == BOB);
    assert_string_equal(b.row.username, "bob");
    assert_true(b.row.banned_by == ADMIN);
    assert_string_equal(b.row.reason, "spam");
    /* Again: the standing ban, unchanged. */
    ban_res_t again = ban(f, BOB, "other");
    assert_int_equal(again.rc, MP_OK);
    assert_false(again.created);
    assert_string_equal(again.row.reason, "spam");
    assert_int_equal(again.row.created_at, b.row.created_at);
    assert_int_equal(ban(f, GUEST, NULL).rc, MP_OK); /* guests post in the world too */
    assert_int_equal(ban(f, CAROL, "").rc, MP_OK);

    bans_res_t *p1 = bans(f, 0, 0, 2);
    assert_int_equal(p1->rc, MP_OK);
    assert_int_equal(p1->n, 2);
    assert_true(p1->more);
    assert_true(p1->rows[0].user_id == CAROL);
    assert_true(p1->rows[1].user_id == GUEST);
    bans_res_t *p2 = bans(f, p1->rows[1].created_at, p1->rows[1].user_id, 2);
    assert_int_equal(p2->n, 1);
    assert_false(p2->more);
    assert_true(p2->rows[0].user_id == BOB);
    free(p1);
    free(p2);

    assert_int_equal(unban(f, CAROL), MP_OK);
    assert_int_equal(unban(f, CAROL), MP_ERR_NOT_FOUND);
    assert_int_equal(unban(f, 999999), MP_ERR_NOT_FOUND);
}

static void test_world_ban_enforced(void **state)
{
    fx_t *f = *state;
    send_res_t w = send_msg(f, ALICE, WORLD, 0, "hello world");
    send_res_t d = send_msg(f, BOB, 0, ALICE, "hello alice");
    assert_int_equal(ban(f, BOB, "spam").rc, MP_OK);
    assert_int_equal(try_send(f, BOB, WORLD, 0), MP_ERR_BANNED);
    assert_int_equal(try_react(f, BOB, w.id), MP_ERR_BANNED);
    assert_int_equal(try_forward(f, BOB, d.conv, d.id, WORLD), MP_ERR_BANNED);
    /* Only the world room: a direct conversation works as before. */
    assert_int_equal(try_send(f, BOB, d.conv, 0), MP_OK);
    assert_int_equal(try_send(f, ALICE, WORLD, 0), MP_OK);
    assert_int_equal(try_react(f, ALICE, w.id), MP_OK);

    /* A ban in the middle of a batch of sends: the sends queued after it
     * are refused, those before it are stored. */
    assert_int_equal(unban(f, BOB), MP_OK);
    mpu_gate_t g;
    mpu_gate_close(&f->s, &g);
    send_res_t before = {0}, after = {0};
    ban_res_t mid = {0};
    mp_chat_send_in_t in = {.sender_id = BOB,
                            .sender_device = 1,
                            .conversation_id = WORLD,
                            .client_msg_id = "before",
                            .text = "x",
                            .text_len = 1,
                            .now_ms = ++f->now};
    assert_int_equal(mp_store_chat_send(f->s.st, &in, on_send, &before), MP_OK);
    assert_int_equal(mp_store_world_ban(f->s.st, BOB, ADMIN, "", ++f->now, on_ban, &mid), MP_OK);
    in.client_msg_id = "after";
    assert_int_equal(mp_store_chat_send(f->s.st, &in, on_send, &after), MP_OK);
    mpu_gate_open(&f->s, &g);
    MPU_WAIT(&f->s.loop, &after.done, 1);
    assert_int_equal(before.rc, MP_OK);
    assert_int_equal(mid.rc, MP_OK);
    assert_int_equal(after.rc, MP_ERR_BANNED);
    assert_int_equal(unban(f, BOB), MP_OK);
    assert_int_equal(try_send(f, BOB, WORLD, 0), MP_OK);
}

static void test_world_moderation_delete(void **state)
{
    fx_t *f = *state;
    send_res_t w1 = send_msg(f, ALICE, WORLD, 0, "one");
    send_res_t w2 = send_msg(f, ALICE, WORLD, 0, "two");
    send_res_t w3 = send_msg(f, ALICE, WORLD, 0, "three");
    /* A plain user may not delete another's world message. */
    assert_int_equal(try_delete(f, (mp_msg_actor_t){.user_id = BOB}, w1.id), MP_ERR_FORBIDDEN);
    /* A server admin moderates the world room (users.admin read in the write). */
    assert_int_equal(try_delete(f, (mp_msg_actor_t){.user_id = ADMIN}, w1.id), MP_OK);
    /* The operator (user 0) with the right vouched by the caller. */
    assert_int_equal(try_delete(f, (mp_msg_actor_t){.user_id = 0, .moderator = true}, w2.id),
                     MP_OK);
    /* Demoted: no longer. */
    exec_sql(f, "UPDATE users SET admin = 0 WHERE id = 1004");
    assert_int_equal(try_delete(f, (mp_msg_actor_t){.user_id = ADMIN}, w3.id), MP_ERR_FORBIDDEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_invite_create_list_revoke, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_invite_consumption, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_invite_race_last_use, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_world_bans, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_world_ban_enforced, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_world_moderation_delete, setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
