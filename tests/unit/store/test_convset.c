/* A user's own conversation settings (mp_store_conv_settings) against a real
 * SQLite store in a temporary directory: mute, pin (at most 10), archive,
 * clear and delete; how the list orders and filters by them; sync carrying
 * them (and messages deleted for the user) to that user only, never the
 * messages they cleared or hid; unread mentions. Every wait runs the loop
 * until the callback under test has fired. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "msg_util.h"

/* ---- blocking wrappers -------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    mp_conv_settings_t set;
    int64_t version;
} set_res_t;

static void on_set(mp_err_t rc, const mp_conv_settings_t *now, int64_t version, void *ud)
{
    set_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->version = version;
    if (rc == MP_OK)
        r->set = *now;
    else
        assert_null(now);
}

static set_res_t convset(fx_t *f, uint64_t user, uint64_t conv, mp_convset_in_t in)
{
    set_res_t r = {0};
    assert_int_equal(mp_store_conv_settings(f->s.st, user, conv, &in, ++f->now, on_set, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static set_res_t set_pin(fx_t *f, uint64_t user, uint64_t conv, bool on)
{
    return convset(f, user, conv, (mp_convset_in_t){.what = MP_CONVSET_PIN, .pinned = on});
}

typedef struct {
    int done;
    mp_err_t rc;
    size_t n;
    bool more;
    uint64_t ids[32];
    int64_t active[32];
    bool has_last[32];
    int64_t last_seq_shown[32];
    int64_t unread_mentions[32];
    mp_conv_settings_t set[32];
} list_res_t;

static void on_list(mp_err_t rc, const mp_chat_list_row_t *rows, size_t n, bool more, void *ud)
{
    list_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->n = n;
    r->more = more;
    for (size_t i = 0; i < n && i < 32; i++) {
        r->ids[i] = rows[i].id;
        r->active[i] = rows[i].active_at;
        r->has_last[i] = rows[i].has_last;
        r->last_seq_shown[i] = rows[i].has_last ? rows[i].last.seq : -1;
        r->unread_mentions[i] = rows[i].unread_mentions;
        r->set[i] = rows[i].settings;
    }
}

static list_res_t list_page(fx_t *f, uint64_t user, int64_t aa, uint64_t aid, unsigned limit,
                            bool archived)
{
    list_res_t *r = calloc(1, sizeof *r);
    assert_int_equal(mp_store_chat_list(f->s.st, user, aa, aid, limit, archived, on_list, r),
                     MP_OK);
    MPU_WAIT(&f->s.loop, &r->done, 1);
    list_res_t out = *r;
    free(r);
    return out;
}

static list_res_t list_all(fx_t *f, uint64_t user, bool archived)
{
    return list_page(f, user, INT64_MAX, 0, 50, archived);
}

/* Index of conv in a list answer, -1 when absent. */
static int list_find(const list_res_t *l, uint64_t conv)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->ids[i] == conv)
            return (int)i;
    return -1;
}

/* ---- settings -------------------------------------------------------------------------- */

static void test_mute_pin_archive(void **state)
{
    fx_t *f = *state;
    send_res_t m = send_msg(f, ALICE, 0, BOB, "hi");
    set_res_t r =
        convset(f, ALICE, m.conv, (mp_convset_in_t){.what = MP_CONVSET_MUTE, .muted_until = -1});
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.set.muted_until, -1);
    assert_true(r.version > 0);
    /* The same again: nothing changes, no version. */
    r = convset(f, ALICE, m.conv, (mp_convset_in_t){.what = MP_CONVSET_MUTE, .muted_until = -1});
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.version, 0);

    r = convset(f, ALICE, m.conv,
                (mp_convset_in_t){.what = MP_CONVSET_PIN | MP_CONVSET_ARCHIVE | MP_CONVSET_MUTE,
                                  .pinned = true,
                                  .archived = true,
                                  .muted_until = 0});
    assert_int_equal(r.rc, MP_OK);
    assert_true(r.set.pinned_at > 0 && r.set.archived && r.set.muted_until == 0);

    /* Bob's settings are his own. */
    list_res_t l = list_all(f, BOB, false);
    assert_int_equal(l.n, 1);
    assert_true(l.set[0].pinned_at == 0 && !l.set[0].archived);

    /* Refusals: not a member, unknown, the world room, delete of a group. */
    assert_int_equal(set_pin(f, CAROL, m.conv, true).rc, MP_ERR_NOT_MEMBER);
    assert_int_equal(set_pin(f, ALICE, 424242, true).rc, MP_ERR_NOT_MEMBER);
    exec_sql(f, "INSERT INTO conversations(id, kind, title, version, created_at, active_at)"
                " VALUES(9100, 'world', 'World', 1, 1, 1)");
    assert_int_equal(set_pin(f, ALICE, 9100, true).rc, MP_ERR_BAD_REQUEST);
    exec_sql(f, "INSERT INTO conversations(id, kind, owner_id, version, created_at, active_at)"
                " VALUES(9001, 'group', 1001, 1, 1, 1)");
    exec_sql(f, "INSERT INTO members(conversation_id, user_id, role, joined_at, version)"
                " VALUES(9001, 1001, 'owner', 1, 1)");
    assert_int_equal(convset(f, ALICE, 9001, (mp_convset_in_t){.what = MP_CONVSET_DELETE}).rc,
                     MP_ERR_BAD_REQUEST);
    assert_int_equal(convset(f, ALICE, 9001, (mp_convset_in_t){.what = MP_CONVSET_CLEAR}).rc,
                     MP_OK);
}

static void test_pinned_limit_and_order(void **state)
{
    fx_t *f = *state;
    uint64_t convs[12];
    for (int i = 0; i < 12; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        mpu_user_add(&f->s, (uint64_t)(2000 + i), name, "P", false);
        convs[i] = send_msg(f, ALICE, 0, (uint64_t)(2000 + i), "hi").conv;
    }
    for (int i = 0; i < MP_CHAT_PINNED_CONVS_MAX; i++)
        assert_int_equal(set_pin(f, ALICE, convs[i], true).rc, MP_OK);
    assert_int_equal(set_pin(f, ALICE, convs[10], true).rc, MP_ERR_LIMIT_REACHED);
    /* Pinning one that is pinned already is no new pin. */
    assert_int_equal(set_pin(f, ALICE, convs[3], true).rc, MP_OK);
    assert_int_equal(set_pin(f, ALICE, convs[0], false).rc, MP_OK);
    assert_int_equal(set_pin(f, ALICE, convs[10], true).rc, MP_OK);

    /* First page: the pinned ones, most recently pinned first, then the
     * others by activity (convs[11] newest, then convs[0]). */
    list_res_t l = list_page(f, ALICE, INT64_MAX, 0, 1, false);
    assert_int_equal(l.n, MP_CHAT_PINNED_CONVS_MAX + 1);
    assert_true(l.ids[0] == convs[10]);
    assert_true(l.ids[1] == convs[9]);
    assert_true(l.ids[9] == convs[1]);
    assert_true(l.ids[10] == convs[11]);
    assert_true(l.more);
    list_res_t p2 = list_page(f, ALICE, l.active[10], l.ids[10], 1, false);
    assert_int_equal(p2.n, 1);
    assert_true(p2.ids[0] == convs[0]);
    assert_false(p2.more);
    /* Activity moves an unpinned one up, not above the pinned ones. */
    send_msg(f, BOB, 0, ALICE, "new");
    l = list_all(f, ALICE, false);
    assert_int_equal(l.n, 13);
    assert_true(l.ids[0] == convs[10]);
    assert_int_equal(l.set[10].pinned_at, 0);
}

static void test_archive_filter(void **state)
{
    fx_t *f = *state;
    send_res_t ab = send_msg(f, ALICE, 0, BOB, "to bob");
    send_res_t ac = send_msg(f, ALICE, 0, CAROL, "to carol");
    assert_int_equal(
        convset(f, ALICE, ab.conv, (mp_convset_in_t){.what = MP_CONVSET_ARCHIVE, .archived = true})
            .rc,
        MP_OK);
    list_res_t l = list_all(f, ALICE, false);
    assert_int_equal(l.n, 1);
    assert_true(l.ids[0] == ac.conv);
    l = list_all(f, ALICE, true);
    assert_int_equal(l.n, 1);
    assert_true(l.ids[0] == ab.conv && l.set[0].archived);
    assert_int_equal(list_all(f, BOB, false).n, 1); /* bob's list is his */
}

static void test_clear_and_delete(void **state)
{
    fx_t *f = *state;
    send_res_t m1 = send_msg(f, ALICE, 0, BOB, "one");
    send_msg(f, BOB, m1.conv, 0, "two");
    set_res_t r = convset(f, ALICE, m1.conv, (mp_convset_in_t){.what = MP_CONVSET_CLEAR});
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.set.cleared_seq, 2);
    assert_false(r.set.deleted);
    assert_int_equal(history(f, ALICE, m1.conv).n, 0);
    assert_int_equal(history(f, BOB, m1.conv).n, 2);
    list_res_t l = list_all(f, ALICE, false);
    assert_int_equal(l.n, 1); /* cleared, still listed, no last message */
    assert_false(l.has_last[0]);

    send_res_t m3 = send_msg(f, BOB, m1.conv, 0, "three");
    hist_res_t h = history(f, ALICE, m1.conv);
    assert_int_equal(h.n, 1);
    assert_int_equal(h.m[0].seq, m3.seq);

    /* Delete: gone from the list until a newer message arrives. */
    r = convset(f, ALICE, m1.conv, (mp_convset_in_t){.what = MP_CONVSET_DELETE});
    assert_int_equal(r.rc, MP_OK);
    assert_true(r.set.deleted);
    assert_int_equal(r.set.cleared_seq, 3);
    l = list_all(f, ALICE, false);
    assert_int_equal(list_find(&l, m1.conv), -1);
    assert_int_equal(list_all(f, BOB, false).n, 1);
    send_res_t m4 = send_msg(f, BOB, m1.conv, 0, "four");
    l = list_all(f, ALICE, false);
    int i = list_find(&l, m1.conv);
    assert_true(i >= 0);
    assert_false(l.set[i].deleted);
    assert_int_equal(l.last_seq_shown[i], m4.seq);
    h = history(f, ALICE, m1.conv);
    assert_int_equal(h.n, 1);
    assert_int_equal(h.m[0].seq, m4.seq);
}

/* ---- sync ------------------------------------------------------------------------------- */

static void test_sync_settings_and_hidden(void **state)
{
    fx_t *f = *state;
    send_res_t m1 = send_msg(f, ALICE, 0, BOB, "one");
    send_res_t m2 = send_msg(f, ALICE, m1.conv, 0, "two");
    int64_t since = sync_all(f, ALICE, 0).cursor;
    int64_t bob_since = sync_all(f, BOB, 0).cursor;

    set_res_t r = set_pin(f, ALICE, m1.conv, true);
    assert_int_equal(r.rc, MP_OK);
    hide_msg(f, ALICE, m1.conv, m1.id);

    sync_res_t s = sync_all(f, ALICE, since);
    assert_int_equal(s.rc, MP_OK);
    assert_int_equal(s.n_msgs, 0);
    assert_int_equal(s.n_selfs, 2);
    assert_true(s.selfs[0].message_id == 0 && s.selfs[0].version == r.version);
    assert_true(s.selfs[1].message_id == m1.id && s.selfs[1].conversation_id == m1.conv);
    const mp_chat_sync_conv_t *c = sync_conv(&s, m1.conv);
    assert_non_null(c);
    assert_true(c->settings.pinned_at > 0);
    assert_int_equal(c->self_version, r.version);

    /* Bob sees nothing of it. */
    s = sync_all(f, BOB, bob_since);
    assert_int_equal(s.n_msgs + s.n_selfs + s.n_rcpts + s.n_convs, 0);

    /* Paging never cuts between them and pages on to the end. */
    s = sync_max(f, ALICE, since, 1);
    assert_int_equal(s.n_selfs, 1);
    assert_true(s.more);
    s = sync_max(f, ALICE, s.cursor, 1);
    assert_int_equal(s.n_selfs, 1);
    assert_true(s.selfs[0].message_id == m1.id);

    /* A device syncing from 0 sees m2 but not the hidden m1. */
    s = sync_all(f, ALICE, 0);
    assert_false(sync_has_msg(&s, m1.id));
    assert_true(sync_has_msg(&s, m2.id));
    s = sync_all(f, BOB, 0);
    assert_true(sync_has_msg(&s, m1.id) && sync_has_msg(&s, m2.id));
    hist_res_t h = history(f, ALICE, m1.conv);
    assert_int_equal(h.n, 1);
    assert_true(h.m[0].id == m2.id);
}

static void test_sync_after_clear(void **state)
{
    fx_t *f = *state;
    send_res_t m1 = send_msg(f, ALICE, 0, BOB, "one");
    send_msg(f, BOB, m1.conv, 0, "two");
    set_res_t r = convset(f, BOB, m1.conv, (mp_convset_in_t){.what = MP_CONVSET_CLEAR});
    assert_int_equal(r.rc, MP_OK);
    send_res_t m3 = send_msg(f, ALICE, m1.conv, 0, "three");

    /* From 0: only what came after the clear, and the settings. */
    sync_res_t s = sync_all(f, BOB, 0);
    assert_int_equal(s.n_msgs, 1);
    assert_true(s.m[0].id == m3.id);
    const mp_chat_sync_conv_t *c = sync_conv(&s, m1.conv);
    assert_non_null(c);
    assert_int_equal(c->settings.cleared_seq, 2);
    assert_int_equal(c->read_seq, 2); /* the clear read them too */
    assert_false(s.more);
    /* Alice's devices see every message. */
    assert_int_equal(sync_all(f, ALICE, 0).n_msgs, 3);
}

static void test_unread_mentions(void **state)
{
    fx_t *f = *state;
    exec_sql(f, "INSERT INTO conversations(id, kind, owner_id, version, created_at, active_at)"
                " VALUES(9001, 'group', 1001, 1, 1, 1)");
    exec_sql(f, "INSERT INTO members(conversation_id, user_id, role, joined_at, version)"
                " VALUES(9001, 1001, 'owner', 1, 1), (9001, 1002, 'member', 1, 1),"
                " (9001, 1003, 'member', 1, 1)");
    const uint64_t bob[] = {BOB};
    send_mention(f, ALICE, 9001, 0, "@bob", bob, 1, false); /* seq 1 */
    send_mention(f, ALICE, 9001, 0, "@all", NULL, 0, true); /* seq 2 */
    send_mention(f, CAROL, 9001, 0, "@bob", bob, 1, false); /* seq 3 */
    send_msg(f, CAROL, 9001, 0, "no mention");              /* seq 4 */
    list_res_t l = list_all(f, BOB, false);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.unread_mentions[0], 3);
    l = list_all(f, ALICE, false);
    assert_int_equal(l.unread_mentions[0], 0); /* her own @all does not count */
    l = list_all(f, CAROL, false);
    assert_int_equal(l.unread_mentions[0], 0); /* she read up to 4 by sending */

    sync_res_t s = sync_all(f, BOB, 0);
    const mp_chat_sync_conv_t *c = sync_conv(&s, 9001);
    assert_non_null(c);
    assert_int_equal(c->unread_mentions, 3);
    exec_sql(f, "UPDATE members SET read_seq = 2 WHERE conversation_id = 9001 AND user_id = 1002");
    assert_int_equal(list_all(f, BOB, false).unread_mentions[0], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mute_pin_archive, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pinned_limit_and_order, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_archive_filter, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_clear_and_delete, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sync_settings_and_hidden, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sync_after_clear, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unread_mentions, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
