/* Reactions and pins (store/messages.h) against a real SQLite store in a
 * temporary directory: a reaction added twice changes nothing, one user may
 * add several emoji, the distinct-emoji limit, counts and "me" as each
 * reader sees them in history, who reacted paged by user id, pins with their
 * limit and rights (direct members, who_can_pin, world moderators), and the
 * refusals: not a member, kicked, dissolved, unknown or foreign message.
 * Every wait runs the loop until the callback under test has fired. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "msg_util.h"

#define THUMBS "\xF0\x9F\x91\x8D" /* U+1F44D */
#define HEART "\xE2\x9D\xA4\xEF\xB8\x8F"
#define SMILE "\xF0\x9F\x98\x80"

/* ---- blocking wrappers -------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    mp_msg_react_out_t o;
} react_res_t;

static void on_react(mp_err_t rc, const mp_msg_react_out_t *o, void *ud)
{
    react_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_OK)
        r->o = *o;
    else
        assert_null(o);
}

static react_res_t react_n(fx_t *f, uint64_t user, uint64_t conv, uint64_t msg, const char *emoji,
                           bool add, unsigned max_kinds)
{
    react_res_t r = {0};
    mp_msg_actor_t a = {.user_id = user};
    assert_int_equal(
        mp_store_msg_react(f->s.st, &a, conv, msg, emoji, add, max_kinds, ++f->now, on_react, &r),
        MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static react_res_t react(fx_t *f, uint64_t user, uint64_t conv, uint64_t msg, const char *emoji,
                         bool add)
{
    return react_n(f, user, conv, msg, emoji, add, 20);
}

typedef struct {
    int done;
    mp_err_t rc;
    mp_msg_reactor_t rows[8];
    size_t n;
    bool more;
} reactors_res_t;

static void on_reactors(mp_err_t rc, const mp_msg_reactor_t *rows, size_t n, bool more, void *ud)
{
    reactors_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->n = n < 8 ? n : 8;
    if (r->n)
        memcpy(r->rows, rows, r->n * sizeof *rows);
    r->more = more;
}

static reactors_res_t reactors(fx_t *f, uint64_t user, uint64_t conv, uint64_t msg,
                               const char *emoji, uint64_t after, unsigned limit)
{
    reactors_res_t r = {0};
    assert_int_equal(
        mp_store_msg_reactors(f->s.st, user, conv, msg, emoji, after, limit, on_reactors, &r),
        MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

typedef struct {
    int done;
    mp_err_t rc;
    seen_msg_t m;
} pin_res_t;

static void on_pin(mp_err_t rc, const mp_msg_row_t *m, void *ud)
{
    pin_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_OK)
        seen_copy(&r->m, m);
    else
        assert_null(m);
}

static pin_res_t pin_as(fx_t *f, uint64_t user, const char *mods, uint64_t conv, uint64_t msg,
                        bool pin)
{
    pin_res_t r = {0};
    mp_msg_actor_t a = {.user_id = user, .world_moderators = mods};
    assert_int_equal(mp_store_msg_pin(f->s.st, &a, conv, msg, pin, ++f->now, on_pin, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static pin_res_t pin(fx_t *f, uint64_t user, uint64_t conv, uint64_t msg, bool on)
{
    return pin_as(f, user, NULL, conv, msg, on);
}

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t ids[64];
    size_t n;
} pins_res_t;

static void on_pins(mp_err_t rc, const mp_msg_row_t *m, size_t n, void *ud)
{
    pins_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->n = n;
    for (size_t i = 0; i < n && i < 64; i++)
        r->ids[i] = m[i].id;
}

static pins_res_t pins(fx_t *f, uint64_t user, uint64_t conv)
{
    pins_res_t r = {0};
    assert_int_equal(mp_store_msg_pins(f->s.st, user, conv, on_pins, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

/* A group 9001 owned by alice with bob as a member; carol is outside. */
static void make_group(fx_t *f, int who_can_pin)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO conversations(id, kind, owner_id, version, created_at, active_at,"
             " who_can_pin) VALUES(9001, 'group', 1001, 1, 1, 1, %d)",
             who_can_pin);
    exec_sql(f, sql);
    exec_sql(f, "INSERT INTO members(conversation_id, user_id, role, joined_at, version)"
                " VALUES(9001, 1001, 'owner', 1, 1), (9001, 1002, 'member', 1, 1)");
}

/* ---- reactions ------------------------------------------------------------------------- */

static void test_react_basics(void **state)
{
    fx_t *f = *state;
    send_res_t m = send_msg(f, ALICE, 0, BOB, "hello");
    react_res_t r = react(f, BOB, m.conv, m.id, THUMBS, true);
    assert_int_equal(r.rc, MP_OK);
    assert_true(r.o.changed);
    assert_int_equal(r.o.count, 1);
    assert_true(r.o.message_id == m.id && r.o.conversation_id == m.conv);
    int64_t v1 = r.o.version;
    assert_true(v1 > 0);

    /* Twice: nothing changes, not even the version. */
    r = react(f, BOB, m.conv, m.id, THUMBS, true);
    assert_int_equal(r.rc, MP_OK);
    assert_false(r.o.changed);
    assert_int_equal(r.o.count, 1);
    assert_int_equal(r.o.version, v1);

    /* Several emoji of one user, and another user's. */
    assert_true(react(f, BOB, m.conv, m.id, HEART, true).o.changed);
    r = react(f, ALICE, m.conv, m.id, THUMBS, true);
    assert_int_equal(r.o.count, 2);
    assert_true(r.o.version > v1);

    /* Counts and "me" as each reader sees them, by first reaction time. */
    hist_res_t h = history(f, ALICE, m.conv);
    assert_int_equal(h.rc, MP_OK);
    assert_int_equal(h.n, 1);
    assert_int_equal(h.m[0].n_reactions, 2);
    assert_string_equal(h.m[0].emoji[0], THUMBS);
    assert_int_equal(h.m[0].count[0], 2);
    assert_true(h.m[0].me[0]);
    assert_string_equal(h.m[0].emoji[1], HEART);
    assert_int_equal(h.m[0].count[1], 1);
    assert_false(h.m[0].me[1]);
    h = history(f, BOB, m.conv);
    assert_true(h.m[0].me[0] && h.m[0].me[1]);

    /* Unreact, twice. */
    r = react(f, BOB, m.conv, m.id, THUMBS, false);
    assert_true(r.o.changed);
    assert_int_equal(r.o.count, 1);
    r = react(f, BOB, m.conv, m.id, THUMBS, false);
    assert_false(r.o.changed);
    assert_int_equal(r.o.count, 1);
    assert_true(react(f, BOB, m.conv, m.id, HEART, false).o.changed);
    assert_true(react(f, ALICE, m.conv, m.id, THUMBS, false).o.changed);
    h = history(f, BOB, m.conv);
    assert_int_equal(h.m[0].n_reactions, 0);

    /* Sync carries the change with the message's new version. */
    sync_res_t s = sync_all(f, BOB, v1);
    assert_true(sync_has_msg(&s, m.id));
}

static void test_react_limit(void **state)
{
    fx_t *f = *state;
    send_res_t m = send_msg(f, ALICE, 0, BOB, "hello");
    assert_int_equal(react_n(f, BOB, m.conv, m.id, THUMBS, true, 2).rc, MP_OK);
    assert_int_equal(react_n(f, ALICE, m.conv, m.id, HEART, true, 2).rc, MP_OK);
    /* A third distinct emoji is over the limit; a known one is not. */
    assert_int_equal(react_n(f, ALICE, m.conv, m.id, SMILE, true, 2).rc, MP_ERR_LIMIT_REACHED);
    react_res_t r = react_n(f, ALICE, m.conv, m.id, THUMBS, true, 2);
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.o.count, 2);
    /* Once one is gone, a new one fits. */
    assert_int_equal(react_n(f, ALICE, m.conv, m.id, HEART, false, 2).rc, MP_OK);
    assert_int_equal(react_n(f, BOB, m.conv, m.id, SMILE, true, 2).rc, MP_OK);
}

static void test_react_refusals(void **state)
{
    fx_t *f = *state;
    send_res_t m = send_msg(f, ALICE, 0, BOB, "hello");
    send_res_t other = send_msg(f, ALICE, 0, CAROL, "elsewhere");
    assert_int_equal(react(f, CAROL, m.conv, m.id, THUMBS, true).rc, MP_ERR_NOT_MEMBER);
    assert_int_equal(react(f, ALICE, 424242, m.id, THUMBS, true).rc, MP_ERR_NOT_MEMBER);
    assert_int_equal(react(f, ALICE, m.conv, 777, THUMBS, true).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(react(f, ALICE, m.conv, other.id, THUMBS, true).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(reactors(f, CAROL, m.conv, m.id, THUMBS, 0, 10).rc, MP_ERR_NOT_MEMBER);

    /* Deleted for everyone, or hidden for the reader: not found. */
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE messages SET deleted_at = 5 WHERE id = %llu",
             (unsigned long long)m.id);
    exec_sql(f, sql);
    assert_int_equal(react(f, BOB, m.conv, m.id, THUMBS, true).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(pin(f, BOB, m.conv, m.id, true).rc, MP_ERR_NOT_FOUND);
    send_res_t m2 = send_msg(f, ALICE, m.conv, 0, "again");
    snprintf(sql, sizeof sql,
             "INSERT INTO hidden_messages(user_id, message_id, conversation_id, version)"
             " VALUES(1002, %llu, %llu, 1)",
             (unsigned long long)m2.id, (unsigned long long)m2.conv);
    exec_sql(f, sql);
    assert_int_equal(react(f, BOB, m.conv, m2.id, THUMBS, true).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(react(f, ALICE, m.conv, m2.id, THUMBS, true).rc, MP_OK);

    /* Groups: a kicked member is no member; a dissolved group refuses. */
    make_group(f, 0);
    send_res_t g = send_msg(f, ALICE, 9001, 0, "group hello");
    assert_int_equal(react(f, BOB, 9001, g.id, THUMBS, true).rc, MP_OK);
    exec_sql(f, "DELETE FROM members WHERE conversation_id = 9001 AND user_id = 1002");
    assert_int_equal(react(f, BOB, 9001, g.id, HEART, true).rc, MP_ERR_NOT_MEMBER);
    exec_sql(f, "UPDATE conversations SET dissolved_at = 7 WHERE id = 9001");
    assert_int_equal(react(f, ALICE, 9001, g.id, HEART, true).rc, MP_ERR_DISSOLVED);
    assert_int_equal(pin(f, ALICE, 9001, g.id, true).rc, MP_ERR_DISSOLVED);
}

static void test_reactors_paging(void **state)
{
    fx_t *f = *state;
    make_group(f, 0);
    exec_sql(f, "INSERT INTO members(conversation_id, user_id, role, joined_at, version)"
                " VALUES(9001, 1003, 'member', 1, 1)");
    send_res_t g = send_msg(f, ALICE, 9001, 0, "react to me");
    /* In the order carol, alice, bob: pages come by user id anyway. */
    assert_int_equal(react(f, CAROL, 9001, g.id, THUMBS, true).rc, MP_OK);
    assert_int_equal(react(f, ALICE, 9001, g.id, THUMBS, true).rc, MP_OK);
    assert_int_equal(react(f, BOB, 9001, g.id, THUMBS, true).rc, MP_OK);
    assert_int_equal(react(f, BOB, 9001, g.id, HEART, true).rc, MP_OK);
    reactors_res_t p = reactors(f, CAROL, 9001, g.id, THUMBS, 0, 2);
    assert_int_equal(p.rc, MP_OK);
    assert_int_equal(p.n, 2);
    assert_true(p.more);
    assert_true(p.rows[0].user_id == ALICE && p.rows[1].user_id == BOB);
    assert_true(p.rows[0].reacted_at > 0);
    p = reactors(f, CAROL, 9001, g.id, THUMBS, p.rows[1].user_id, 2);
    assert_int_equal(p.n, 1);
    assert_false(p.more);
    assert_true(p.rows[0].user_id == CAROL);
    p = reactors(f, ALICE, 9001, g.id, HEART, 0, 50);
    assert_int_equal(p.n, 1);
    assert_true(p.rows[0].user_id == BOB);
    assert_int_equal(reactors(f, ALICE, 9001, g.id, SMILE, 0, 50).n, 0);
}

/* ---- pins ------------------------------------------------------------------------------- */

static void test_pin_direct(void **state)
{
    fx_t *f = *state;
    send_res_t a = send_msg(f, ALICE, 0, BOB, "first");
    send_res_t b = send_msg(f, ALICE, a.conv, 0, "second");
    pin_res_t p = pin(f, BOB, a.conv, a.id, true);
    assert_int_equal(p.rc, MP_OK);
    assert_true(p.m.id == a.id && p.m.pinned_at > 0 && p.m.pinned_by == BOB && p.m.changed);
    int64_t v = p.m.version;
    /* Already pinned: MP_OK, nothing changes, and the answer says so (the
     * caller tells nobody then). */
    p = pin(f, ALICE, a.conv, a.id, true);
    assert_int_equal(p.rc, MP_OK);
    assert_false(p.m.changed);
    assert_int_equal(p.m.version, v);
    assert_true(p.m.pinned_by == BOB);
    assert_int_equal(pin(f, ALICE, a.conv, b.id, true).rc, MP_OK);
    pins_res_t l = pins(f, BOB, a.conv);
    assert_int_equal(l.rc, MP_OK);
    assert_int_equal(l.n, 2);
    assert_true(l.ids[0] == b.id && l.ids[1] == a.id); /* newest pin first */
    assert_int_equal(pins(f, CAROL, a.conv).rc, MP_ERR_NOT_MEMBER);
    assert_int_equal(pin(f, CAROL, a.conv, a.id, true).rc, MP_ERR_NOT_MEMBER);

    p = pin(f, ALICE, a.conv, a.id, false);
    assert_int_equal(p.rc, MP_OK);
    assert_true(p.m.pinned_at == 0 && p.m.pinned_by == 0 && p.m.version > v && p.m.changed);
    l = pins(f, BOB, a.conv);
    assert_int_equal(l.n, 1);
    assert_true(l.ids[0] == b.id);
}

static void test_pin_limit(void **state)
{
    fx_t *f = *state;
    send_res_t first = send_msg(f, ALICE, 0, BOB, "m");
    uint64_t ids[MP_CHAT_PINS_MAX + 1];
    ids[0] = first.id;
    for (int i = 1; i <= MP_CHAT_PINS_MAX; i++)
        ids[i] = send_msg(f, ALICE, first.conv, 0, "m").id;
    for (int i = 0; i < MP_CHAT_PINS_MAX; i++)
        assert_int_equal(pin(f, ALICE, first.conv, ids[i], true).rc, MP_OK);
    assert_int_equal(pin(f, ALICE, first.conv, ids[MP_CHAT_PINS_MAX], true).rc,
                     MP_ERR_LIMIT_REACHED);
    assert_int_equal(pins(f, ALICE, first.conv).n, MP_CHAT_PINS_MAX);
    assert_int_equal(pin(f, ALICE, first.conv, ids[0], false).rc, MP_OK);
    assert_int_equal(pin(f, ALICE, first.conv, ids[MP_CHAT_PINS_MAX], true).rc, MP_OK);
}

static void test_pin_group_rights(void **state)
{
    fx_t *f = *state;
    make_group(f, 1); /* who_can_pin: admins */
    send_res_t g = send_msg(f, BOB, 9001, 0, "pin me");
    assert_int_equal(pin(f, BOB, 9001, g.id, true).rc, MP_ERR_NOT_ALLOWED);
    assert_int_equal(pin(f, CAROL, 9001, g.id, true).rc, MP_ERR_NOT_MEMBER);
    assert_int_equal(pin(f, ALICE, 9001, g.id, true).rc, MP_OK);
    exec_sql(f, "UPDATE conversations SET who_can_pin = 0 WHERE id = 9001");
    assert_int_equal(pin(f, BOB, 9001, g.id, false).rc, MP_OK);
}

static void test_pin_world(void **state)
{
    fx_t *f = *state;
    exec_sql(f, "INSERT INTO conversations(id, kind, title, version, created_at, active_at)"
                " VALUES(9100, 'world', 'World', 1, 1, 1)");
    send_res_t w = send_msg(f, CAROL, 9100, 0, "hello world");
    assert_int_equal(pin_as(f, CAROL, NULL, 9100, w.id, true).rc, MP_ERR_FORBIDDEN);
    assert_int_equal(pin_as(f, CAROL, "alice, bobby", 9100, w.id, true).rc, MP_ERR_FORBIDDEN);
    assert_int_equal(pin_as(f, BOB, "alice,bobby", 9100, w.id, true).rc, MP_ERR_FORBIDDEN);
    /* Moderator names compare without case, blanks around them ignored. */
    pin_res_t p = pin_as(f, BOB, "alice, BOB ", 9100, w.id, true);
    assert_int_equal(p.rc, MP_OK);
    assert_true(p.m.pinned_by == BOB);
    pins_res_t l = pins(f, CAROL, 9100); /* everyone reads the world */
    assert_int_equal(l.n, 1);
    /* Everyone may react in the world. */
    assert_int_equal(react(f, CAROL, 9100, w.id, THUMBS, true).rc, MP_OK);
    hist_res_t h = history(f, ALICE, 9100);
    assert_int_equal(h.m[0].n_reactions, 1);
    assert_false(h.m[0].me[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_react_basics, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_react_limit, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_react_refusals, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reactors_paging, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pin_direct, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pin_limit, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pin_group_rights, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pin_world, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
