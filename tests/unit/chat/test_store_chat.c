/* The messaging store ops (store/chat.h) against a real SQLite store in a
 * temporary directory: seq assignment, dedup, authorisation, history, cursors,
 * sync paging and the conversation list. Every wait runs the loop until the
 * callback under test has fired. */
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
#include "store/chat.h"
#include "util/alloc.h"
#include "util/id.h"

typedef struct {
    mpu_store_t s;
    int64_t now;
} fx_t;

enum { ALICE = 1001, BOB = 1002, CAROL = 1003 };

static void add_users(fx_t *f)
{
    mpu_user_add(&f->s, ALICE, "alice", "Alice", false);
    mpu_user_add(&f->s, BOB, "bob", "Bob", false);
    mpu_user_add(&f->s, CAROL, "carol", "Carol", false);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    if (mpu_store_open(&f->s) != 0)
        return -1;
    add_users(f);
    f->now = 1700000000000LL;
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

/* ---- send ---------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t id, conv;
    int64_t seq, created_at;
    bool dup, created;
    char text[64];
} send_res_t;

static void on_send(mp_err_t rc, const mp_chat_send_out_t *o, void *ud)
{
    send_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_OK) {
        r->id = o->msg.id;
        r->conv = o->msg.conversation_id;
        r->seq = o->msg.seq;
        r->created_at = o->msg.created_at;
        r->dup = o->duplicate;
        r->created = o->created_conversation;
        snprintf(r->text, sizeof r->text, "%s", o->msg.text);
    }
}

static void queue_send(fx_t *f, uint64_t from, uint64_t conv, uint64_t to, const char *cmid,
                       const char *text, send_res_t *r)
{
    mp_chat_send_in_t in = {.sender_id = from,
                            .conversation_id = conv,
                            .to_user_id = to,
                            .client_msg_id = cmid,
                            .text = text,
                            .text_len = strlen(text),
                            .now_ms = ++f->now};
    assert_int_equal(mp_store_chat_send(f->s.st, &in, on_send, r), MP_OK);
}

static send_res_t send_sync(fx_t *f, uint64_t from, uint64_t conv, uint64_t to, const char *cmid,
                            const char *text)
{
    send_res_t r = {0};
    queue_send(f, from, conv, to, cmid, text, &r);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static void test_send_seq_and_dedup(void **state)
{
    fx_t *f = *state;
    send_res_t a = send_sync(f, ALICE, 0, BOB, "c1", "hello");
    assert_int_equal(a.rc, MP_OK);
    assert_true(a.created && !a.dup);
    assert_int_equal(a.seq, 1);

    send_res_t b = send_sync(f, BOB, a.conv, 0, "c1", "hi alice");
    assert_int_equal(b.rc, MP_OK);
    assert_int_equal(b.seq, 2);
    assert_false(b.dup);

    /* The retry returns the original even though the text changed. */
    send_res_t again = send_sync(f, ALICE, a.conv, 0, "c1", "changed");
    assert_int_equal(again.rc, MP_OK);
    assert_true(again.dup);
    assert_true(again.id == a.id);
    assert_int_equal(again.seq, 1);
    assert_int_equal(again.created_at, a.created_at);
    assert_string_equal(again.text, "hello");

    /* `to` an existing pair reuses the conversation. */
    send_res_t c = send_sync(f, BOB, 0, ALICE, "c2", "via to");
    assert_true(c.conv == a.conv && !c.created);
    assert_int_equal(c.seq, 3);

    /* Five identical sends queued together (one batch, most likely): one
     * message, the same answer five times. */
    send_res_t five[5] = {0};
    for (int i = 0; i < 5; i++)
        queue_send(f, ALICE, a.conv, 0, "burst", "x", &five[i]);
    for (int i = 0; i < 5; i++)
        MPU_WAIT(&f->s.loop, &five[i].done, 1);
    int dups = 0;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(five[i].rc, MP_OK);
        assert_true(five[i].id == five[0].id);
        assert_int_equal(five[i].seq, 4);
        dups += five[i].dup;
    }
    assert_int_equal(dups, 4);
    assert_int_equal(send_sync(f, ALICE, a.conv, 0, "next", "y").seq, 5);
}

static void test_send_errors(void **state)
{
    fx_t *f = *state;
    send_res_t a = send_sync(f, ALICE, 0, BOB, "e1", "hello");
    assert_int_equal(a.rc, MP_OK);
    assert_int_equal(send_sync(f, CAROL, a.conv, 0, "e2", "intruder").rc, MP_ERR_NOT_MEMBER);
    assert_int_equal(send_sync(f, ALICE, 424242, 0, "e3", "nowhere").rc, MP_ERR_NOT_MEMBER);
    assert_int_equal(send_sync(f, ALICE, 0, 999999, "e4", "ghost").rc, MP_ERR_NOT_FOUND);
    assert_int_equal(send_sync(f, ALICE, 0, ALICE, "e5", "me").rc, MP_ERR_BAD_REQUEST);
    /* A failed send leaves no trace: the client id is still free. */
    send_res_t ok = send_sync(f, CAROL, 0, ALICE, "e2", "hello alice");
    assert_int_equal(ok.rc, MP_OK);
    assert_false(ok.dup);
    assert_int_equal(ok.seq, 1);
}

/* ---- direct, members, peers ------------------------------------------------ */

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t conv;
    bool created;
    mp_conv_kind_t kind;
    uint64_t ids[8];
    size_t n;
} misc_res_t;

static void on_direct(mp_err_t rc, uint64_t conv, bool created, void *ud)
{
    misc_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->conv = conv;
    r->created = created;
}

static void on_members(mp_err_t rc, mp_conv_kind_t kind, const uint64_t *m, size_t n, void *ud)
{
    misc_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->kind = kind;
    r->n = n < 8 ? n : 8;
    if (r->n)
        memcpy(r->ids, m, r->n * sizeof *m);
}

static void on_users(mp_err_t rc, const uint64_t *u, size_t n, void *ud)
{
    on_members(rc, MP_CONV_DIRECT, u, n, ud);
}

static misc_res_t direct_sync(fx_t *f, uint64_t a, uint64_t b)
{
    misc_res_t r = {0};
    assert_int_equal(mp_store_chat_direct(f->s.st, a, b, ++f->now, on_direct, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static void test_direct_members_peers(void **state)
{
    fx_t *f = *state;
    misc_res_t d1 = direct_sync(f, ALICE, BOB);
    assert_int_equal(d1.rc, MP_OK);
    assert_true(d1.created);
    misc_res_t d2 = direct_sync(f, BOB, ALICE);
    assert_true(d2.rc == MP_OK && !d2.created && d2.conv == d1.conv);
    assert_int_equal(direct_sync(f, ALICE, 5555).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(direct_sync(f, ALICE, ALICE).rc, MP_ERR_BAD_REQUEST);
    assert_int_equal(direct_sync(f, CAROL, ALICE).rc, MP_OK);

    misc_res_t m = {0};
    assert_int_equal(mp_store_chat_members(f->s.st, d1.conv, on_members, &m), MP_OK);
    MPU_WAIT(&f->s.loop, &m.done, 1);
    assert_int_equal(m.rc, MP_OK);
    assert_int_equal(m.kind, MP_CONV_DIRECT);
    assert_int_equal(m.n, 2);
    assert_true((m.ids[0] == ALICE && m.ids[1] == BOB) || (m.ids[0] == BOB && m.ids[1] == ALICE));

    misc_res_t none = {0};
    assert_int_equal(mp_store_chat_members(f->s.st, 777, on_members, &none), MP_OK);
    MPU_WAIT(&f->s.loop, &none.done, 1);
    assert_int_equal(none.rc, MP_ERR_NOT_FOUND);

    misc_res_t p = {0};
    assert_int_equal(mp_store_chat_peers(f->s.st, ALICE, on_users, &p), MP_OK);
    MPU_WAIT(&f->s.loop, &p.done, 1);
    assert_int_equal(p.rc, MP_OK);
    assert_int_equal(p.n, 2); /* bob and carol */
}

static void exec_sql(fx_t *f, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(mpu_store_db_path(&f->s), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    mpu_exec(db, sql);
    sqlite3_close(db);
}

typedef struct {
    int done;
    mp_err_t rc;
    size_t n;
} count_res_t;

static void on_count(mp_err_t rc, const uint64_t *u, size_t n, void *ud)
{
    (void)u;
    count_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->n = n;
}

static size_t peers_count(fx_t *f, uint64_t user)
{
    count_res_t p = {0};
    assert_int_equal(mp_store_chat_peers(f->s.st, user, on_count, &p), MP_OK);
    MPU_WAIT(&f->s.loop, &p.done, 1);
    assert_int_equal(p.rc, MP_OK);
    return p.n;
}

/* Presence reaches groups of at most MP_CHAT_PRESENCE_GROUP_MAX members only. */
static void test_peers_group_limit(void **state)
{
    fx_t *f = *state;
    for (int u = 2000; u < 2100; u++) {
        char name[16];
        snprintf(name, sizeof name, "u%d", u);
        mpu_user_add(&f->s, (uint64_t)u, name, "U", false);
    }
    exec_sql(f, "INSERT INTO conversations(id, kind, version, created_at, active_at)"
                " VALUES(9001, 'group', 1, 1, 1), (9002, 'group', 1, 1, 1)");
    exec_sql(f, "INSERT INTO members(conversation_id, user_id, joined_at, version)"
                " VALUES(9001, 1001, 1, 1), (9001, 2000, 1, 1), (9001, 2001, 1, 1),"
                " (9001, 2002, 1, 1)");
    exec_sql(f, "INSERT INTO members(conversation_id, user_id, joined_at, version)"
                " SELECT 9002, id, 1, 1 FROM users WHERE id = 1001 OR id >= 2000");
    /* 101 members in 9002: too big, only the small group's three count. */
    assert_int_equal(peers_count(f, ALICE), 3);
    /* At exactly the limit the group counts again. */
    exec_sql(f, "DELETE FROM members WHERE conversation_id = 9002 AND user_id = 2099");
    assert_int_equal(peers_count(f, ALICE), 99);
}

/* ---- history ------------------------------------------------------------------ */

typedef struct {
    int done;
    mp_err_t rc;
    int64_t seqs[256];
    size_t n;
    bool more;
} hist_res_t;

static void on_hist(mp_err_t rc, const mp_msg_row_t *m, size_t n, bool more, void *ud)
{
    hist_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->n = n;
    r->more = more;
    for (size_t i = 0; i < n && i < 256; i++)
        r->seqs[i] = m[i].seq;
}

static hist_res_t history_bytes(fx_t *f, uint64_t user, uint64_t conv, int64_t before,
                                unsigned limit, size_t max_bytes)
{
    hist_res_t r = {0};
    assert_int_equal(
        mp_store_chat_history(f->s.st, user, conv, before, limit, max_bytes, on_hist, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static hist_res_t history_sync(fx_t *f, uint64_t user, uint64_t conv, int64_t before,
                               unsigned limit)
{
    return history_bytes(f, user, conv, before, limit, SIZE_MAX);
}

static uint64_t fill(fx_t *f, int n)
{
    char cmid[32];
    uint64_t conv = 0;
    for (int i = 0; i < n; i++) {
        snprintf(cmid, sizeof cmid, "fill-%d", i);
        send_res_t r = send_sync(f, i % 2 ? BOB : ALICE, conv, conv ? 0 : BOB, cmid, "m");
        assert_int_equal(r.rc, MP_OK);
        assert_int_equal(r.seq, i + 1);
        conv = r.conv;
    }
    return conv;
}

static void test_history(void **state)
{
    fx_t *f = *state;
    uint64_t conv = fill(f, 12);
    hist_res_t h = history_sync(f, ALICE, conv, INT64_MAX, 5);
    assert_int_equal(h.rc, MP_OK);
    assert_int_equal(h.n, 5);
    assert_true(h.more);
    for (int i = 0; i < 5; i++)
        assert_int_equal(h.seqs[i], 8 + i);
    h = history_sync(f, BOB, conv, 8, 5);
    assert_int_equal(h.n, 5);
    assert_int_equal(h.seqs[0], 3);
    assert_true(h.more);
    h = history_sync(f, BOB, conv, 3, 5);
    assert_int_equal(h.n, 2);
    assert_false(h.more);
    assert_int_equal(h.seqs[0], 1);
    assert_int_equal(history_sync(f, CAROL, conv, INT64_MAX, 5).rc, MP_ERR_NOT_MEMBER);
    assert_int_equal(history_sync(f, ALICE, 31337, INT64_MAX, 5).rc, MP_ERR_NOT_MEMBER);
}

/* Rows of exactly 100 raw bytes (text + client_msg_id + kind). */
static uint64_t fill_100(fx_t *f, const char *prefix, int n, uint64_t conv, uint64_t to)
{
    char cmid[32], text[128];
    for (int i = 0; i < n; i++) {
        snprintf(cmid, sizeof cmid, "%s%04d", prefix, i);
        size_t t = 100 - strlen(cmid) - strlen("text");
        memset(text, 'x', t);
        text[t] = '\0';
        send_res_t r = send_sync(f, ALICE, conv, conv ? 0 : to, cmid, text);
        assert_int_equal(r.rc, MP_OK);
        conv = r.conv;
    }
    return conv;
}

/* A byte budget stops the read early: rows up to the one that passes it,
 * has_more, and paging on with before_seq gets every row once. */
static void test_history_bytes(void **state)
{
    fx_t *f = *state;
    uint64_t conv = fill_100(f, "hb-", 20, 0, BOB);
    /* 350 bytes: 3 rows fit, the 4th passes the budget and ends the page. */
    hist_res_t h = history_bytes(f, BOB, conv, INT64_MAX, 200, 350);
    assert_int_equal(h.rc, MP_OK);
    assert_int_equal(h.n, 4);
    assert_true(h.more);
    assert_int_equal(h.seqs[0], 17);
    assert_int_equal(h.seqs[3], 20);
    /* A budget below one row still returns one. */
    h = history_bytes(f, BOB, conv, INT64_MAX, 200, 1);
    assert_int_equal(h.n, 1);
    assert_true(h.more);
    assert_int_equal(h.seqs[0], 20);
    /* limit still applies first. */
    h = history_bytes(f, BOB, conv, INT64_MAX, 2, 350);
    assert_int_equal(h.n, 2);
    /* Paging: every seq exactly once, newest page first. */
    int64_t before = INT64_MAX, expect = 20;
    for (int pages = 0;; pages++) {
        assert_true(pages < 20);
        h = history_bytes(f, BOB, conv, before, 200, 250);
        assert_int_equal(h.rc, MP_OK);
        assert_true(h.n >= 1 && h.n <= 3);
        for (size_t i = 0; i < h.n; i++)
            assert_int_equal(h.seqs[i], expect - (int64_t)h.n + 1 + (int64_t)i);
        expect -= (int64_t)h.n;
        before = h.seqs[0];
        if (!h.more)
            break;
    }
    assert_int_equal(expect, 0);
    /* Exactly at the end: no has_more. */
    h = history_bytes(f, BOB, conv, 4, 200, 250);
    assert_int_equal(h.n, 3);
    assert_false(h.more);
}

/* ---- cursors ----------------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    mp_chat_cursor_out_t o;
} cur_res_t;

static void on_cursor(mp_err_t rc, const mp_chat_cursor_out_t *o, void *ud)
{
    cur_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (o)
        r->o = *o;
}

static cur_res_t cursor_sync(fx_t *f, uint64_t user, uint64_t conv, mp_chat_cursor_t which,
                             int64_t seq)
{
    cur_res_t r = {0};
    assert_int_equal(mp_store_chat_cursor(f->s.st, user, conv, which, seq, on_cursor, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static void test_cursors(void **state)
{
    fx_t *f = *state;
    uint64_t conv = 0;
    for (int i = 0; i < 6; i++) { /* all from alice: bob's cursors start at 0 */
        char cmid[16];
        snprintf(cmid, sizeof cmid, "cur-%d", i);
        conv = send_sync(f, ALICE, conv, conv ? 0 : BOB, cmid, "m").conv;
    }
    cur_res_t c = cursor_sync(f, BOB, conv, MP_CHAT_CURSOR_DELIVERED, 4);
    assert_int_equal(c.rc, MP_OK);
    assert_true(c.o.changed);
    assert_int_equal(c.o.delivered_seq, 4);
    assert_int_equal(c.o.read_seq, 0);
    c = cursor_sync(f, BOB, conv, MP_CHAT_CURSOR_READ, 3);
    assert_true(c.o.changed);
    assert_int_equal(c.o.read_seq, 3);
    assert_int_equal(c.o.delivered_seq, 4);
    c = cursor_sync(f, BOB, conv, MP_CHAT_CURSOR_READ, 2); /* never back */
    assert_false(c.o.changed);
    assert_int_equal(c.o.read_seq, 3);
    c = cursor_sync(f, BOB, conv, MP_CHAT_CURSOR_READ, 1000); /* clamped to last_seq */
    assert_true(c.o.changed);
    assert_int_equal(c.o.read_seq, 6);
    assert_int_equal(c.o.delivered_seq, 6);
    assert_int_equal(c.o.last_seq, 6);
    assert_int_equal(cursor_sync(f, CAROL, conv, MP_CHAT_CURSOR_READ, 1).rc, MP_ERR_NOT_MEMBER);
    assert_int_equal(cursor_sync(f, BOB, 99, MP_CHAT_CURSOR_DELIVERED, 1).rc, MP_ERR_NOT_MEMBER);
}

/* ---- sync ---------------------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    size_t n_convs, n_msgs, n_rcpts;
    int64_t seqs[1024];
    uint64_t msg_conv[1024];
    size_t msg_raw;
    int64_t cursor;
    bool more;
    mp_chat_receipt_row_t last_rcpt;
} sync_res_t;

static void on_sync(mp_err_t rc, const mp_chat_sync_out_t *o, void *ud)
{
    sync_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc != MP_OK)
        return;
    r->n_convs = o->n_convs;
    r->n_msgs = o->n_msgs;
    r->n_rcpts = o->n_receipts;
    for (size_t i = 0; i < o->n_msgs && i < 1024; i++) {
        r->seqs[i] = o->msgs[i].seq;
        r->msg_conv[i] = o->msgs[i].conversation_id;
        r->msg_raw += mp_chat_msg_raw_bytes(&o->msgs[i]);
        if (i > 0)
            assert_true(o->msgs[i].version > o->msgs[i - 1].version);
    }
    for (size_t i = 1; i < o->n_receipts; i++)
        assert_true(o->receipts[i].version >= o->receipts[i - 1].version);
    if (o->n_receipts)
        r->last_rcpt = o->receipts[o->n_receipts - 1];
    r->cursor = o->cursor;
    r->more = o->has_more;
}

static sync_res_t sync_bytes(fx_t *f, uint64_t user, int64_t since, unsigned max, size_t max_bytes)
{
    sync_res_t r = {0};
    assert_int_equal(mp_store_chat_sync(f->s.st, user, since, max, max_bytes, on_sync, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static sync_res_t sync_sync(fx_t *f, uint64_t user, int64_t since, unsigned max)
{
    return sync_bytes(f, user, since, max, SIZE_MAX);
}

/* Two conversations of 100-byte rows, interleaved in time: pages cut by a
 * byte budget hold about that many bytes, and paging on from each cursor
 * gets every message once, in seq order per conversation. */
static void test_sync_bytes(void **state)
{
    fx_t *f = *state;
    uint64_t ab = 0, ac = 0;
    for (int i = 0; i < 15; i++) {
        char p[16];
        snprintf(p, sizeof p, "sb%d-", i);
        ab = fill_100(f, p, 2, ab, BOB);
        snprintf(p, sizeof p, "sc%d-", i);
        ac = fill_100(f, p, 1, ac, CAROL);
    }
    int64_t since = 0, last_ab = 0, last_ac = 0;
    int pages = 0;
    for (;;) {
        assert_true(pages++ < 100);
        sync_res_t p = sync_bytes(f, ALICE, since, 500, 450);
        assert_int_equal(p.rc, MP_OK);
        /* The rows that fit, plus the one that passes the budget. */
        assert_true(p.msg_raw <= 450 + 100);
        assert_true(p.n_msgs >= 1);
        for (size_t i = 0; i < p.n_msgs; i++) {
            int64_t *last = p.msg_conv[i] == ab ? &last_ab : &last_ac;
            assert_int_equal(p.seqs[i], *last + 1);
            *last = p.seqs[i];
        }
        assert_true(p.cursor > since);
        since = p.cursor;
        if (!p.more)
            break;
    }
    assert_int_equal(last_ab, 30);
    assert_int_equal(last_ac, 15);
    assert_true(pages >= 45 * 100 / 550);
    sync_res_t end = sync_bytes(f, ALICE, since, 500, 450);
    assert_int_equal(end.n_msgs, 0);
    assert_false(end.more);
    /* Items and bytes together: the item limit still cuts first. */
    sync_res_t two = sync_bytes(f, ALICE, 0, 2, 450);
    assert_true(two.n_msgs + two.n_rcpts <= 3);
}

static void test_sync_paging(void **state)
{
    fx_t *f = *state;
    uint64_t conv = fill(f, 25);
    (void)conv;
    send_res_t other = send_sync(f, CAROL, 0, BOB, "to-bob", "hey");
    assert_int_equal(other.rc, MP_OK);

    /* Everything at once: 26 messages, 4 member rows, 2 conversations. */
    sync_res_t all = sync_sync(f, BOB, 0, 500);
    assert_int_equal(all.rc, MP_OK);
    assert_false(all.more);
    assert_int_equal(all.n_msgs, 26);
    assert_int_equal(all.n_rcpts, 4);
    assert_int_equal(all.n_convs, 2);
    assert_int_equal(sync_sync(f, BOB, all.cursor, 500).n_msgs, 0);
    assert_int_equal(sync_sync(f, BOB, all.cursor, 500).cursor, all.cursor);
    /* Alice sees only her conversation. */
    sync_res_t al = sync_sync(f, ALICE, 0, 500);
    assert_int_equal(al.n_msgs, 25);
    assert_int_equal(al.n_convs, 1);

    /* Small pages: every message exactly once, in seq order per conversation. */
    int seen[32] = {0};
    int64_t since = 0, last_seq = 0;
    int pages = 0;
    size_t total = 0;
    for (;;) {
        sync_res_t p = sync_sync(f, ALICE, since, 7);
        assert_int_equal(p.rc, MP_OK);
        assert_true(p.n_msgs + p.n_rcpts <= 8); /* 7, or 8 when two rows share a version */
        for (size_t i = 0; i < p.n_msgs; i++) {
            assert_true(p.seqs[i] == last_seq + 1);
            last_seq = p.seqs[i];
            seen[p.seqs[i]]++;
        }
        total += p.n_msgs;
        assert_true(p.cursor >= since);
        since = p.cursor;
        pages++;
        if (!p.more)
            break;
        assert_true(pages < 20);
    }
    assert_int_equal(total, 25);
    for (int s = 1; s <= 25; s++)
        assert_int_equal(seen[s], 1);
    assert_int_equal(sync_sync(f, ALICE, since, 7).n_msgs, 0);

    /* A read receipt shows up as a member-row change for the other side. */
    cursor_sync(f, BOB, conv, MP_CHAT_CURSOR_READ, 25);
    sync_res_t rc = sync_sync(f, ALICE, since, 500);
    assert_int_equal(rc.n_msgs, 0);
    assert_int_equal(rc.n_rcpts, 1);
    assert_true(rc.last_rcpt.user_id == BOB);
    assert_int_equal(rc.last_rcpt.read_seq, 25);
    assert_int_equal(rc.n_convs, 1);
}

/* ---- list ------------------------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t ids[8], peers[8];
    int64_t active[8], unread[8], last_seq_text[8];
    char peer_names[8][33];
    size_t n;
    bool more;
} list_res_t;

static void on_list(mp_err_t rc, const mp_chat_list_row_t *rows, size_t n, bool more, void *ud)
{
    list_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->n = n;
    r->more = more;
    for (size_t i = 0; i < n && i < 8; i++) {
        r->ids[i] = rows[i].id;
        r->peers[i] = rows[i].peer_id;
        r->active[i] = rows[i].active_at;
        r->unread[i] = rows[i].last_seq - rows[i].read_seq;
        r->last_seq_text[i] = rows[i].has_last ? rows[i].last.seq : -1;
        snprintf(r->peer_names[i], 33, "%s", rows[i].peer_username ? rows[i].peer_username : "");
    }
}

static list_res_t list_sync(fx_t *f, uint64_t user, int64_t aa, uint64_t aid, unsigned limit)
{
    list_res_t r = {0};
    assert_int_equal(mp_store_chat_list(f->s.st, user, aa, aid, limit, false, on_list, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static void test_list(void **state)
{
    fx_t *f = *state;
    send_res_t ab = send_sync(f, ALICE, 0, BOB, "l1", "to bob");
    send_res_t ac = send_sync(f, ALICE, 0, CAROL, "l2", "to carol");
    send_res_t ab2 = send_sync(f, BOB, ab.conv, 0, "l3", "back to alice");
    assert_int_equal(ab2.rc, MP_OK);
    list_res_t l = list_sync(f, ALICE, INT64_MAX, 0, 10);
    assert_int_equal(l.rc, MP_OK);
    assert_int_equal(l.n, 2);
    assert_false(l.more);
    assert_true(l.ids[0] == ab.conv && l.ids[1] == ac.conv); /* most recent first */
    assert_true(l.peers[0] == BOB);
    assert_string_equal(l.peer_names[0], "bob");
    assert_int_equal(l.unread[0], 1); /* her own message counts as read */
    assert_int_equal(l.last_seq_text[0], 2);

    list_res_t p1 = list_sync(f, ALICE, INT64_MAX, 0, 1);
    assert_int_equal(p1.n, 1);
    assert_true(p1.more);
    list_res_t p2 = list_sync(f, ALICE, p1.active[0], p1.ids[0], 1);
    assert_int_equal(p2.n, 1);
    assert_false(p2.more);
    assert_true(p2.ids[0] == ac.conv);
    assert_int_equal(list_sync(f, 4242, INT64_MAX, 0, 10).n, 0);
}

/* ---- pure ------------------------------------------------------------------------------------ */

/* The one cursor rule shared by direct/group members and world readers. */
static void test_cursor_advance(void **state)
{
    (void)state;
    int64_t r = 3, d = 5;
    /* read clamps to last_seq and lifts delivered with it */
    assert_true(mp_chat_cursor_advance(MP_CHAT_CURSOR_READ, 99, 8, &r, &d));
    assert_int_equal(r, 8);
    assert_int_equal(d, 8);
    /* never backwards */
    assert_false(mp_chat_cursor_advance(MP_CHAT_CURSOR_READ, 2, 8, &r, &d));
    assert_false(mp_chat_cursor_advance(MP_CHAT_CURSOR_DELIVERED, 4, 8, &r, &d));
    assert_int_equal(r, 8);
    assert_int_equal(d, 8);
    /* delivered moves alone, clamped, leaving read */
    r = 2;
    d = 4;
    assert_true(mp_chat_cursor_advance(MP_CHAT_CURSOR_DELIVERED, 12, 10, &r, &d));
    assert_int_equal(r, 2);
    assert_int_equal(d, 10);
}

static void test_sync_cut(void **state)
{
    (void)state;
    int64_t v[] = {1, 2, 3, 3, 3, 4, 5};
    assert_int_equal(mp_chat_sync_cut(v, 7, 10), 7);
    assert_int_equal(mp_chat_sync_cut(v, 7, 7), 7);
    assert_int_equal(mp_chat_sync_cut(v, 7, 2), 2);
    assert_int_equal(mp_chat_sync_cut(v, 7, 3), 5); /* never inside version 3 */
    assert_int_equal(mp_chat_sync_cut(v, 7, 4), 5);
    assert_int_equal(mp_chat_sync_cut(v, 7, 6), 6);
    assert_int_equal(mp_chat_sync_cut(v, 0, 3), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_send_seq_and_dedup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_members_peers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peers_group_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test(test_cursor_advance),
        cmocka_unit_test(test_sync_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
