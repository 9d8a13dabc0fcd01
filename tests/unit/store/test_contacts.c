/* Contacts (store/contacts.h) against a real SQLite store in a temporary
 * directory: every transition and its repeat (nothing written, no version
 * taken), a request to someone who asked first is an accept, the refusals
 * (yourself, unknown, deleted and guest users, ops that do not apply), a
 * request to a user who blocked the requester stays on the requester's side,
 * the lists paged newest first, and sync: contact entries (tombstones too)
 * arrive once, in version order with messages, over pages of any size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "msg_util.h"
#include "store/contacts.h"
#include "store/sqlite_contacts_int.h"

enum { GUEST = 1009, DAVE = 1004 };

static int setup(void **state)
{
    if (fx_setup(state) != 0)
        return -1;
    fx_t *f = *state;
    mpu_user_add(&f->s, DAVE, "dave", "Dave", false);
    mpu_user_add(&f->s, GUEST, "guest_1009", "Visitor", true);
    return 0;
}

/* ---- blocking wrappers -------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    mp_contact_change_t o;
} change_res_t;

static void on_change(mp_err_t rc, const mp_contact_change_t *o, void *ud)
{
    change_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_OK)
        r->o = *o;
    else
        assert_null(o);
}

static change_res_t op_named(fx_t *f, mp_contact_op_t op, uint64_t user, uint64_t peer,
                             const char *name, const char *msg)
{
    change_res_t *r = calloc(1, sizeof *r);
    assert_int_equal(
        mp_store_contact_change(f->s.st, op, user, peer, name, msg, ++f->now, on_change, r), MP_OK);
    MPU_WAIT(&f->s.loop, &r->done, 1);
    change_res_t out = *r;
    free(r);
    return out;
}

static change_res_t op(fx_t *f, mp_contact_op_t o, uint64_t user, uint64_t peer)
{
    return op_named(f, o, user, peer, NULL, NULL);
}

/* The op succeeds; returns its answer. */
static mp_contact_change_t op_ok(fx_t *f, mp_contact_op_t o, uint64_t user, uint64_t peer)
{
    change_res_t r = op(f, o, user, peer);
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.o.mine.user_id, user);
    assert_int_equal(r.o.mine.peer_id, peer);
    return r.o;
}

typedef struct {
    int done;
    mp_err_t rc;
    mp_contact_t v[16];
    size_t n;
    bool more;
} list_res_t;

static void on_list(mp_err_t rc, const mp_contact_page_t *p, void *ud)
{
    list_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc != MP_OK)
        return;
    assert_true(p->n <= 16);
    memcpy(r->v, p->v, p->n * sizeof *p->v);
    r->n = p->n;
    r->more = p->has_more;
}

static list_res_t list(fx_t *f, uint64_t user, mp_contact_state_t state, int64_t after_updated,
                       uint64_t after_peer, unsigned limit)
{
    list_res_t *r = calloc(1, sizeof *r);
    assert_int_equal(
        mp_store_contact_list(f->s.st, user, state, after_updated, after_peer, limit, on_list, r),
        MP_OK);
    MPU_WAIT(&f->s.loop, &r->done, 1);
    assert_int_equal(r->rc, MP_OK);
    list_res_t out = *r;
    free(r);
    return out;
}

/* The state of user's side towards peer as the lists show it (NONE when in
 * no list). */
static mp_contact_state_t listed(fx_t *f, uint64_t user, uint64_t peer)
{
    const mp_contact_state_t states[] = {MP_CONTACT_OUTGOING, MP_CONTACT_INCOMING,
                                         MP_CONTACT_FRIENDS};
    for (size_t s = 0; s < 3; s++) {
        list_res_t r = list(f, user, states[s], INT64_MAX, UINT64_MAX, 16);
        for (size_t i = 0; i < r.n; i++)
            if (r.v[i].peer_id == peer)
                return states[s];
    }
    return MP_CONTACT_NONE;
}

/* A sync page as the contacts tests look at it: every item's version in
 * order, the contact entries, and the messages' ids. */
typedef struct {
    int done;
    mp_err_t rc;
    mp_contact_t c[16];
    size_t n_c;
    uint64_t msg_ids[16];
    size_t n_msgs;
    int64_t cursor;
    bool more;
} csync_res_t;

static void on_csync(mp_err_t rc, const mp_chat_sync_out_t *o, void *ud)
{
    csync_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc != MP_OK)
        return;
    assert_true(o->n_contacts <= 16 && o->n_msgs <= 16);
    for (size_t i = 1; i < o->n_contacts; i++)
        assert_true(o->contacts[i].version > o->contacts[i - 1].version);
    for (size_t i = 0; i < o->n_contacts; i++) {
        r->c[i] = o->contacts[i];
        assert_true(o->contacts[i].version <= o->cursor);
    }
    r->n_c = o->n_contacts;
    for (size_t i = 0; i < o->n_msgs; i++)
        r->msg_ids[i] = o->msgs[i].id;
    r->n_msgs = o->n_msgs;
    r->cursor = o->cursor;
    r->more = o->has_more;
}

static csync_res_t csync(fx_t *f, uint64_t user, int64_t since, unsigned max)
{
    csync_res_t *r = calloc(1, sizeof *r);
    assert_int_equal(mp_store_chat_sync(f->s.st, user, since, max, SIZE_MAX, on_csync, r), MP_OK);
    MPU_WAIT(&f->s.loop, &r->done, 1);
    assert_int_equal(r->rc, MP_OK);
    csync_res_t out = *r;
    free(r);
    return out;
}

/* ---- transitions ------------------------------------------------------------------------ */

static void test_request_then_accept(void **state)
{
    fx_t *f = *state;
    change_res_t r = op_named(f, MP_CONTACT_OP_REQUEST, ALICE, BOB, NULL, "hi Bob\nit's me");
    assert_int_equal(r.rc, MP_OK);
    assert_true(r.o.changed);
    assert_true(r.o.delivered);
    assert_int_equal(r.o.mine.state, MP_CONTACT_OUTGOING);
    assert_string_equal(r.o.mine.username, "bob");
    assert_string_equal(r.o.mine.display_name, "Bob");
    assert_string_equal(r.o.mine.message, "hi Bob\nit's me");
    assert_int_equal(r.o.theirs.user_id, BOB);
    assert_int_equal(r.o.theirs.peer_id, ALICE);
    assert_int_equal(r.o.theirs.state, MP_CONTACT_INCOMING);
    assert_string_equal(r.o.theirs.username, "alice");
    assert_string_equal(r.o.theirs.message, "hi Bob\nit's me");
    assert_true(r.o.mine.version > 0);
    assert_int_equal(r.o.mine.version, r.o.theirs.version); /* one change, one version */
    int64_t v = r.o.mine.version, created = r.o.mine.created_at;

    /* A repeat changes nothing and takes no version; the message stays. */
    r = op_named(f, MP_CONTACT_OP_REQUEST, ALICE, BOB, NULL, "another text");
    assert_int_equal(r.rc, MP_OK);
    assert_false(r.o.changed);
    assert_false(r.o.delivered);
    assert_int_equal(r.o.mine.state, MP_CONTACT_OUTGOING);
    assert_int_equal(r.o.mine.version, v);
    assert_string_equal(r.o.mine.message, "hi Bob\nit's me");
    assert_int_equal(listed(f, ALICE, BOB), MP_CONTACT_OUTGOING);
    assert_int_equal(listed(f, BOB, ALICE), MP_CONTACT_INCOMING);

    /* Only the one asked may accept. */
    assert_int_equal(op(f, MP_CONTACT_OP_ACCEPT, ALICE, BOB).rc, MP_ERR_NOT_FOUND);
    mp_contact_change_t o = op_ok(f, MP_CONTACT_OP_ACCEPT, BOB, ALICE);
    assert_true(o.changed && o.delivered);
    assert_int_equal(o.mine.state, MP_CONTACT_FRIENDS);
    assert_int_equal(o.theirs.state, MP_CONTACT_FRIENDS);
    assert_true(o.mine.version > v);
    assert_int_equal(o.theirs.created_at, created); /* the relation began with the request */
    assert_true(o.theirs.updated_at > created);
    assert_int_equal(listed(f, ALICE, BOB), MP_CONTACT_FRIENDS);
    assert_int_equal(listed(f, BOB, ALICE), MP_CONTACT_FRIENDS);

    /* Accepting again, or asking again, changes nothing. */
    o = op_ok(f, MP_CONTACT_OP_ACCEPT, BOB, ALICE);
    assert_false(o.changed || o.delivered);
    o = op_ok(f, MP_CONTACT_OP_REQUEST, ALICE, BOB);
    assert_false(o.changed || o.delivered);
    assert_int_equal(o.mine.state, MP_CONTACT_FRIENDS);
}

static void test_request_to_one_who_asked_is_accept(void **state)
{
    fx_t *f = *state;
    op_ok(f, MP_CONTACT_OP_REQUEST, BOB, CAROL);
    mp_contact_change_t o = op_ok(f, MP_CONTACT_OP_REQUEST, CAROL, BOB);
    assert_true(o.changed && o.delivered);
    assert_int_equal(o.mine.state, MP_CONTACT_FRIENDS);
    assert_int_equal(o.theirs.state, MP_CONTACT_FRIENDS);
    assert_int_equal(listed(f, BOB, CAROL), MP_CONTACT_FRIENDS);
}

static void test_decline_cancel_remove(void **state)
{
    fx_t *f = *state;
    /* decline: both sides none, the message gone */
    op_ok(f, MP_CONTACT_OP_REQUEST, ALICE, BOB);
    assert_int_equal(op(f, MP_CONTACT_OP_DECLINE, ALICE, BOB).rc, MP_ERR_NOT_FOUND);
    mp_contact_change_t o = op_ok(f, MP_CONTACT_OP_DECLINE, BOB, ALICE);
    assert_true(o.changed && o.delivered);
    assert_int_equal(o.mine.state, MP_CONTACT_NONE);
    assert_int_equal(o.theirs.state, MP_CONTACT_NONE);
    assert_string_equal(o.theirs.message, "");
    o = op_ok(f, MP_CONTACT_OP_DECLINE, BOB, ALICE); /* a repeat */
    assert_false(o.changed || o.delivered);
    assert_int_equal(listed(f, ALICE, BOB), MP_CONTACT_NONE);
    assert_int_equal(listed(f, BOB, ALICE), MP_CONTACT_NONE);

    /* asking again after a decline starts a new relation */
    o = op_ok(f, MP_CONTACT_OP_REQUEST, ALICE, BOB);
    assert_true(o.changed && o.delivered);
    assert_int_equal(o.theirs.state, MP_CONTACT_INCOMING);

    /* cancel: only the one who asked */
    assert_int_equal(op(f, MP_CONTACT_OP_CANCEL, BOB, ALICE).rc, MP_ERR_NOT_FOUND);
    o = op_ok(f, MP_CONTACT_OP_CANCEL, ALICE, BOB);
    assert_true(o.changed && o.delivered);
    assert_int_equal(o.mine.state, MP_CONTACT_NONE);
    assert_int_equal(o.theirs.state, MP_CONTACT_NONE);
    o = op_ok(f, MP_CONTACT_OP_CANCEL, ALICE, BOB);
    assert_false(o.changed || o.delivered);

    /* remove: only friends */
    op_ok(f, MP_CONTACT_OP_REQUEST, ALICE, BOB);
    assert_int_equal(op(f, MP_CONTACT_OP_REMOVE, ALICE, BOB).rc, MP_ERR_NOT_FOUND);
    op_ok(f, MP_CONTACT_OP_ACCEPT, BOB, ALICE);
    assert_int_equal(op(f, MP_CONTACT_OP_CANCEL, ALICE, BOB).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(op(f, MP_CONTACT_OP_DECLINE, BOB, ALICE).rc, MP_ERR_NOT_FOUND);
    o = op_ok(f, MP_CONTACT_OP_REMOVE, BOB, ALICE);
    assert_true(o.changed && o.delivered);
    assert_int_equal(o.theirs.state, MP_CONTACT_NONE);
    o = op_ok(f, MP_CONTACT_OP_REMOVE, BOB, ALICE);
    assert_false(o.changed || o.delivered);
    assert_int_equal(listed(f, ALICE, BOB), MP_CONTACT_NONE);
}

static void test_refusals(void **state)
{
    fx_t *f = *state;
    assert_int_equal(op(f, MP_CONTACT_OP_REQUEST, ALICE, ALICE).rc, MP_ERR_BAD_REQUEST);
    assert_int_equal(op_named(f, MP_CONTACT_OP_REQUEST, ALICE, 0, "ALICE", NULL).rc,
                     MP_ERR_BAD_REQUEST);
    assert_int_equal(op(f, MP_CONTACT_OP_REQUEST, ALICE, 4242).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(op_named(f, MP_CONTACT_OP_REQUEST, ALICE, 0, "nobody", NULL).rc,
                     MP_ERR_NOT_FOUND);
    assert_int_equal(op(f, MP_CONTACT_OP_REQUEST, ALICE, GUEST).rc, MP_ERR_GUEST_FORBIDDEN);
    assert_int_equal(op(f, MP_CONTACT_OP_ACCEPT, ALICE, 4242).rc, MP_ERR_NOT_FOUND);
    exec_sql(f, "UPDATE users SET deleted_at = 1 WHERE id = 1004");
    assert_int_equal(op(f, MP_CONTACT_OP_REQUEST, ALICE, DAVE).rc, MP_ERR_NOT_FOUND);
    exec_sql(f, "UPDATE users SET deleted_at = 0, pending = 1 WHERE id = 1004");
    assert_int_equal(op(f, MP_CONTACT_OP_REQUEST, ALICE, DAVE).rc, MP_ERR_NOT_FOUND);
    /* a username names a user whatever its case */
    mp_contact_change_t o = op_named(f, MP_CONTACT_OP_REQUEST, ALICE, 0, "Bob", NULL).o;
    assert_int_equal(o.mine.peer_id, BOB);
    assert_int_equal(o.mine.state, MP_CONTACT_OUTGOING);
    /* nothing of the refusals was written */
    assert_int_equal(listed(f, ALICE, DAVE), MP_CONTACT_NONE);
    assert_int_equal(list(f, ALICE, MP_CONTACT_OUTGOING, INT64_MAX, UINT64_MAX, 16).n, 1);
}

static void test_blocked_requester_never_reaches(void **state)
{
    fx_t *f = *state;
    exec_sql(f, "INSERT INTO blocks(user_id, blocked_id, created_at) VALUES(1002, 1001, 1)");
    int64_t bob_since = csync(f, BOB, 0, 500).cursor;
    change_res_t r = op_named(f, MP_CONTACT_OP_REQUEST, ALICE, BOB, NULL, "hello?");
    assert_int_equal(r.rc, MP_OK);
    /* to alice it looks like any request */
    assert_true(r.o.changed);
    assert_int_equal(r.o.mine.state, MP_CONTACT_OUTGOING);
    assert_string_equal(r.o.mine.message, "hello?");
    /* but bob has nothing: no row, no list entry, nothing to sync */
    assert_false(r.o.delivered);
    assert_int_equal(listed(f, ALICE, BOB), MP_CONTACT_OUTGOING);
    assert_int_equal(listed(f, BOB, ALICE), MP_CONTACT_NONE);
    assert_int_equal(csync(f, BOB, bob_since, 500).n_c, 0);
    assert_int_equal(op(f, MP_CONTACT_OP_ACCEPT, BOB, ALICE).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(op(f, MP_CONTACT_OP_DECLINE, BOB, ALICE).rc, MP_OK); /* none: a repeat */
    /* a repeat stays undelivered */
    r = op(f, MP_CONTACT_OP_REQUEST, ALICE, BOB);
    assert_false(r.o.changed || r.o.delivered);
    assert_int_equal(listed(f, BOB, ALICE), MP_CONTACT_NONE);

    /* alice may cancel it: only her side changes */
    mp_contact_change_t o = op_ok(f, MP_CONTACT_OP_CANCEL, ALICE, BOB);
    assert_true(o.changed);
    assert_false(o.delivered);
    assert_int_equal(csync(f, BOB, bob_since, 500).n_c, 0);

    /* asked again; if bob asks her himself, that is an accept */
    op_ok(f, MP_CONTACT_OP_REQUEST, ALICE, BOB);
    o = op_ok(f, MP_CONTACT_OP_REQUEST, BOB, ALICE);
    assert_true(o.changed && o.delivered);
    assert_int_equal(o.mine.state, MP_CONTACT_FRIENDS);
    assert_int_equal(o.theirs.state, MP_CONTACT_FRIENDS);

    /* a block the other way round does not stop a request */
    o = op_ok(f, MP_CONTACT_OP_REQUEST, BOB, CAROL);
    assert_true(o.delivered);
}

/* mp_sqlite__contacts_end inside a write job of its own, as a block's job
 * would call it. */
typedef struct {
    mp_sql_job_t base;
    uint64_t a, b;
    int64_t v;
    mp_contact_t sa, sb;
    bool ca, cb;
    int done;
    mp_err_t rc;
} end_job_t;

static mp_err_t end_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    end_job_t *j = (end_job_t *)job;
    return mp_sqlite__contacts_end(db, j->a, j->b, 1, &j->v, &j->sa, &j->ca, &j->sb, &j->cb);
}

static void end_done(mp_sql_job_t *job, mp_err_t rc)
{
    end_job_t *j = (end_job_t *)job;
    j->rc = rc;
    j->done++;
}

static end_job_t end_pair(fx_t *f, uint64_t a, uint64_t b)
{
    end_job_t *j = calloc(1, sizeof *j);
    j->base.run = end_run;
    j->base.done = end_done;
    j->a = a;
    j->b = b;
    assert_int_equal(mp_sqlite__write(f->s.st, &j->base), MP_OK);
    MPU_WAIT(&f->s.loop, &j->done, 1);
    assert_int_equal(j->rc, MP_OK);
    end_job_t out = *j;
    free(j);
    return out;
}

static void test_end_relation_from_another_job(void **state)
{
    fx_t *f = *state;
    op_ok(f, MP_CONTACT_OP_REQUEST, ALICE, BOB);
    op_ok(f, MP_CONTACT_OP_ACCEPT, BOB, ALICE);
    int64_t since = csync(f, BOB, 0, 500).cursor;
    end_job_t e = end_pair(f, BOB, ALICE);
    assert_true(e.ca && e.cb);
    assert_true(e.v > since);
    assert_int_equal(e.sa.state, MP_CONTACT_NONE);
    assert_int_equal(e.sa.peer_id, ALICE);
    assert_string_equal(e.sa.username, "alice");
    assert_int_equal(e.sb.state, MP_CONTACT_NONE);
    assert_int_equal(e.sb.version, e.v);
    assert_string_equal(e.sb.username, "bob");
    assert_int_equal(listed(f, ALICE, BOB), MP_CONTACT_NONE);
    csync_res_t r = csync(f, BOB, since, 500);
    assert_int_equal(r.n_c, 1);
    assert_int_equal(r.c[0].state, MP_CONTACT_NONE);
    /* nothing left to end: nothing changes, no version taken */
    e = end_pair(f, BOB, ALICE);
    assert_false(e.ca || e.cb);
    assert_int_equal(e.v, 0);
    /* an undelivered request (the blocked side only) ends on its side */
    exec_sql(f, "INSERT INTO blocks(user_id, blocked_id, created_at) VALUES(1003, 1001, 1)");
    op_ok(f, MP_CONTACT_OP_REQUEST, ALICE, CAROL);
    e = end_pair(f, CAROL, ALICE);
    assert_false(e.ca);
    assert_true(e.cb);
    assert_int_equal(listed(f, ALICE, CAROL), MP_CONTACT_NONE);
}

/* ---- lists ------------------------------------------------------------------------------ */

static void test_lists_page_newest_first(void **state)
{
    fx_t *f = *state;
    enum { N = 7 };
    for (int i = 0; i < N; i++) {
        char name[16];
        snprintf(name, sizeof name, "fan%d", i);
        mpu_user_add(&f->s, 2000 + (uint64_t)i, name, name, false);
        op_ok(f, MP_CONTACT_OP_REQUEST, 2000 + (uint64_t)i, ALICE);
    }
    op_ok(f, MP_CONTACT_OP_REQUEST, ALICE, BOB);
    /* two of them share one updated_at: the peer id orders them */
    exec_sql(f, "UPDATE contacts SET updated_at = 5 WHERE user_id = 1001 AND peer_id IN (2002,"
                " 2003)");
    uint64_t want[N] = {2006, 2005, 2004, 2001, 2000, 2003, 2002};
    size_t got = 0;
    int64_t after_u = INT64_MAX;
    uint64_t after_p = UINT64_MAX;
    for (int page = 0; page < 10; page++) {
        list_res_t r = list(f, ALICE, MP_CONTACT_INCOMING, after_u, after_p, 3);
        for (size_t i = 0; i < r.n; i++) {
            assert_true(got < N);
            assert_int_equal(r.v[i].peer_id, want[got++]);
            assert_int_equal(r.v[i].state, MP_CONTACT_INCOMING);
        }
        if (!r.more)
            break;
        after_u = r.v[r.n - 1].updated_at;
        after_p = r.v[r.n - 1].peer_id;
    }
    assert_int_equal(got, N);
    list_res_t r = list(f, ALICE, MP_CONTACT_OUTGOING, INT64_MAX, UINT64_MAX, 50);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0].peer_id, BOB);
    assert_string_equal(r.v[0].display_name, "Bob");
    assert_false(r.more);
    assert_int_equal(list(f, ALICE, MP_CONTACT_FRIENDS, INT64_MAX, UINT64_MAX, 50).n, 0);
}

/* ---- sync ------------------------------------------------------------------------------- */

static void test_sync_carries_changes_once(void **state)
{
    fx_t *f = *state;
    int64_t since = csync(f, BOB, 0, 500).cursor;
    op_ok(f, MP_CONTACT_OP_REQUEST, ALICE, BOB);
    csync_res_t r = csync(f, BOB, since, 500);
    assert_int_equal(r.n_c, 1);
    assert_int_equal(r.c[0].user_id, BOB);
    assert_int_equal(r.c[0].peer_id, ALICE);
    assert_int_equal(r.c[0].state, MP_CONTACT_INCOMING);
    assert_string_equal(r.c[0].username, "alice");
    assert_false(r.more);
    /* not again */
    csync_res_t again = csync(f, BOB, r.cursor, 500);
    assert_int_equal(again.n_c, 0);
    assert_int_equal(again.cursor, r.cursor);
    /* the decline reaches alice's other devices as a tombstone, once */
    int64_t a_since = csync(f, ALICE, 0, 500).cursor;
    op_ok(f, MP_CONTACT_OP_DECLINE, BOB, ALICE);
    r = csync(f, ALICE, a_since, 500);
    assert_int_equal(r.n_c, 1);
    assert_int_equal(r.c[0].state, MP_CONTACT_NONE);
    assert_int_equal(r.c[0].peer_id, BOB);
    assert_int_equal(csync(f, ALICE, r.cursor, 500).n_c, 0);
    /* a fresh device gets the current state of every row, tombstones too */
    r = csync(f, ALICE, 0, 500);
    assert_int_equal(r.n_c, 1);
    assert_int_equal(r.c[0].state, MP_CONTACT_NONE);
}

/* Contact changes and messages interleaved, synced one item per page and
 * with larger pages: every item arrives exactly once, in version order. */
static void test_sync_pages_merge_with_messages(void **state)
{
    fx_t *f = *state;
    int64_t since = csync(f, BOB, 0, 500).cursor;
    send_res_t m1 = send_msg(f, ALICE, 0, BOB, "one");
    op_ok(f, MP_CONTACT_OP_REQUEST, ALICE, BOB);
    send_res_t m2 = send_msg(f, ALICE, m1.conv, 0, "two");
    op_ok(f, MP_CONTACT_OP_REQUEST, CAROL, BOB);
    op_ok(f, MP_CONTACT_OP_ACCEPT, BOB, ALICE);
    send_res_t m3 = send_msg(f, BOB, m1.conv, 0, "three");
    op_ok(f, MP_CONTACT_OP_REQUEST, DAVE, BOB);

    for (unsigned max = 1; max <= 4; max++) {
        int64_t cur = since;
        size_t n_c = 0, n_m = 0;
        mp_contact_state_t alice_state = MP_CONTACT_NONE;
        bool carol = false, dave = false;
        uint64_t msgs[8];
        for (int page = 0; page < 40; page++) {
            csync_res_t r = csync(f, BOB, cur, max);
            assert_true(r.cursor >= cur);
            for (size_t i = 0; i < r.n_c; i++) {
                if (r.c[i].peer_id == ALICE)
                    alice_state = r.c[i].state;
                carol |= r.c[i].peer_id == CAROL;
                dave |= r.c[i].peer_id == DAVE;
            }
            n_c += r.n_c;
            for (size_t i = 0; i < r.n_msgs; i++) {
                assert_true(n_m < 8);
                msgs[n_m++] = r.msg_ids[i];
            }
            cur = r.cursor;
            if (!r.more)
                break;
            assert_true(r.n_c + r.n_msgs > 0); /* a page always moves on */
        }
        /* alice's row changed twice but is one row: it comes once, current */
        assert_int_equal(n_c, 3);
        assert_int_equal(alice_state, MP_CONTACT_FRIENDS);
        assert_true(carol && dave);
        assert_int_equal(n_m, 3);
        assert_int_equal(msgs[0], m1.id);
        assert_int_equal(msgs[1], m2.id);
        assert_int_equal(msgs[2], m3.id);
        csync_res_t end = csync(f, BOB, cur, max);
        assert_int_equal(end.n_c + end.n_msgs, 0);
        assert_false(end.more);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_then_accept, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_request_to_one_who_asked_is_accept, setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_decline_cancel_remove, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_blocked_requester_never_reaches, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_end_relation_from_another_job, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_lists_page_newest_first, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sync_carries_changes_once, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sync_pages_merge_with_messages, setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
