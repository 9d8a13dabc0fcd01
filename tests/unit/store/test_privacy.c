/* Blocking and the privacy settings in the store (store/privacy.h), against
 * a real SQLite store in a temporary directory:
 * - block / unblock are idempotent, refuse oneself and unknown users, end a
 *   friendship or pending request (both rows to state 0, one new version),
 *   and list newest first, paged;
 * - settings: the defaults, a partial change answers the stored values;
 * - the write jobs of the actions refuse what the rules refuse, reading the
 *   facts in their own transaction: a send in a direct conversation (both
 *   blocks, the message setting, "contacts" = friends), a send with `to`,
 *   starting a direct conversation, a forward, creating a group with members
 *   and adding members (naming the refused user) — and a block committed in
 *   the same group-commit batch, before the send, counts;
 * - the presence audience follows the presence setting and the user's
 *   blocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fixture.h"
#include "store/chat.h"
#include "store/contacts.h"
#include "store/groups.h"
#include "store/messages.h"
#include "store/privacy.h"
#include "util/id.h"

enum { ANA = 4001, BEN = 4002, CAT = 4003, DAN = 4004, GUEST = 4009 };

typedef struct {
    mpu_store_t s;
    int64_t now;
    sqlite3 *peek;
} fx_t;

static void exec_sql(fx_t *f, const char *fmt, ...)
{
    char sql[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    char *msg = NULL;
    if (sqlite3_exec(f->peek, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

static int64_t peek_int(fx_t *f, const char *fmt, ...)
{
    char sql[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->peek, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) != SQLITE_ROW)
        fail_msg("no row: %s", sql);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    if (mpu_store_open(&f->s) != 0)
        return -1;
    mp_id_init(4);
    assert_int_equal(sqlite3_open(mpu_store_db_path(&f->s), &f->peek), SQLITE_OK);
    sqlite3_busy_timeout(f->peek, 5000);
    mpu_user_add(&f->s, ANA, "ana", "Ana", false);
    mpu_user_add(&f->s, BEN, "ben", "Ben", false);
    mpu_user_add(&f->s, CAT, "cat", "Cat", false);
    mpu_user_add(&f->s, DAN, "dan", "Dan", false);
    mpu_user_add(&f->s, GUEST, "guest_4009", "Gus", true);
    f->now = 1700000000000LL;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    sqlite3_close(f->peek);
    mpu_store_close(&f->s);
    free(f);
    return 0;
}

/* Two contacts rows of a pair in one state (what the contacts routes write). */
static void contacts_set(fx_t *f, uint64_t a, uint64_t b, int sa, int sb, int64_t version)
{
    exec_sql(f,
             "INSERT OR REPLACE INTO contacts(user_id, peer_id, state, created_at, updated_at,"
             " version) VALUES(%llu, %llu, %d, 1, 1, %lld), (%llu, %llu, %d, 1, 1, %lld)",
             (unsigned long long)a, (unsigned long long)b, sa, (long long)version,
             (unsigned long long)b, (unsigned long long)a, sb, (long long)version);
}

/* ---- block / unblock --------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    mp_block_out_t out;
} block_res_t;

static void on_block(mp_err_t rc, const mp_block_out_t *o, void *ud)
{
    block_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_OK)
        r->out = *o;
    else
        assert_null(o);
}

static block_res_t block_now(fx_t *f, uint64_t who, uint64_t whom, bool block)
{
    block_res_t r = {0};
    if (block)
        assert_int_equal(mp_store_block(f->s.st, who, whom, ++f->now, on_block, &r), MP_OK);
    else
        assert_int_equal(mp_store_unblock(f->s.st, who, whom, on_block, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static void on_contact(mp_err_t rc, const mp_contact_change_t *o, void *ud)
{
    (void)o;
    block_res_t *r = ud;
    r->done++;
    r->rc = rc;
}

static mp_err_t contact_now(fx_t *f, mp_contact_op_t op, uint64_t who, uint64_t peer)
{
    block_res_t r = {0};
    assert_int_equal(
        mp_store_contact_change(f->s.st, op, who, peer, NULL, NULL, ++f->now, on_contact, &r),
        MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r.rc;
}

static void test_block_idempotent(void **state)
{
    fx_t *f = *state;
    assert_int_equal(block_now(f, ANA, ANA, true).rc, MP_ERR_BAD_REQUEST);
    assert_int_equal(block_now(f, ANA, 999, true).rc, MP_ERR_NOT_FOUND);
    block_res_t r = block_now(f, ANA, BEN, true);
    assert_int_equal(r.rc, MP_OK);
    assert_true(r.out.changed);
    assert_false(r.out.contacts_reset);
    r = block_now(f, ANA, BEN, true);
    assert_int_equal(r.rc, MP_OK);
    assert_false(r.out.changed);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM blocks"), 1);
    /* Blocking is one-way: Ben did not block Ana. */
    assert_int_equal(peek_int(f, "SELECT count(*) FROM blocks WHERE user_id = %d", BEN), 0);
    r = block_now(f, ANA, BEN, false);
    assert_int_equal(r.rc, MP_OK);
    assert_true(r.out.changed);
    r = block_now(f, ANA, BEN, false);
    assert_int_equal(r.rc, MP_OK);
    assert_false(r.out.changed);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM blocks"), 0);
}

static void test_block_ends_contacts(void **state)
{
    fx_t *f = *state;
    contacts_set(f, ANA, BEN, 3, 3, 5); /* friends */
    contacts_set(f, ANA, CAT, 2, 1, 6); /* Cat asked Ana */
    contacts_set(f, BEN, CAT, 3, 3, 7); /* not Ana's business */
    int64_t head = peek_int(f, "SELECT version FROM chat_state WHERE id = 1");
    block_res_t r = block_now(f, ANA, BEN, true);
    assert_int_equal(r.rc, MP_OK);
    assert_true(r.out.contacts_reset);
    assert_true(r.out.version > head);
    assert_int_equal(peek_int(f,
                              "SELECT count(*) FROM contacts WHERE state = 0 AND version = %lld"
                              " AND ((user_id = %d AND peer_id = %d) OR (user_id = %d AND"
                              " peer_id = %d))",
                              (long long)r.out.version, ANA, BEN, BEN, ANA),
                     2);
    /* Cat blocked by Ana (the blocked side made the request). */
    r = block_now(f, ANA, CAT, true);
    assert_true(r.out.contacts_reset);
    assert_int_equal(
        peek_int(f,
                 "SELECT count(*) FROM contacts WHERE state <> 0 AND (user_id = %d OR peer_id"
                 " = %d)",
                 ANA, ANA),
        0);
    assert_int_equal(
        peek_int(f, "SELECT state FROM contacts WHERE user_id = %d AND peer_id = %d", BEN, CAT), 3);
    /* A repeated block touches nothing, not even a row made since. */
    contacts_set(f, BEN, ANA, 1, 0, 99);
    r = block_now(f, ANA, BEN, true);
    assert_false(r.out.changed);
    assert_false(r.out.contacts_reset);
    assert_int_equal(
        peek_int(f, "SELECT state FROM contacts WHERE user_id = %d AND peer_id = %d", BEN, ANA), 1);
}

typedef struct {
    int done;
    mp_err_t rc;
    size_t n;
    bool more;
    uint64_t ids[8];
    int64_t at[8];
    char name0[40];
} list_res_t;

static void on_list(mp_err_t rc, const mp_block_row_t *rows, size_t n, bool more, void *ud)
{
    list_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->n = n;
    r->more = more;
    for (size_t i = 0; i < n && i < 8; i++) {
        r->ids[i] = rows[i].user.id;
        r->at[i] = rows[i].blocked_at;
    }
    if (n > 0)
        snprintf(r->name0, sizeof r->name0, "%s/%s/%d", rows[0].user.username,
                 rows[0].user.display_name, rows[0].user.blocked);
}

static list_res_t list_now(fx_t *f, uint64_t who, int64_t after_at, uint64_t after_id,
                           unsigned limit)
{
    list_res_t r = {0};
    assert_int_equal(mp_store_block_list(f->s.st, who, after_at, after_id, limit, on_list, &r),
                     MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static void test_block_list_paged(void **state)
{
    fx_t *f = *state;
    assert_int_equal(list_now(f, ANA, -1, 0, 10).n, 0);
    assert_int_equal(block_now(f, ANA, BEN, true).rc, MP_OK);
    assert_int_equal(block_now(f, ANA, CAT, true).rc, MP_OK);
    assert_int_equal(block_now(f, ANA, GUEST, true).rc, MP_OK);
    assert_int_equal(block_now(f, DAN, ANA, true).rc, MP_OK);
    list_res_t p1 = list_now(f, ANA, -1, 0, 2);
    assert_int_equal(p1.rc, MP_OK);
    assert_int_equal(p1.n, 2);
    assert_true(p1.more);
    assert_true(p1.ids[0] == GUEST); /* newest first */
    assert_true(p1.ids[1] == CAT);
    assert_string_equal(p1.name0, "guest_4009/Gus/1");
    list_res_t p2 = list_now(f, ANA, p1.at[1], p1.ids[1], 2);
    assert_int_equal(p2.n, 1);
    assert_false(p2.more);
    assert_true(p2.ids[0] == BEN);
    /* Same time: the id orders them. */
    exec_sql(f, "UPDATE blocks SET created_at = 5 WHERE user_id = %d", ANA);
    p1 = list_now(f, ANA, -1, 0, 1);
    assert_true(p1.ids[0] == GUEST);
    p2 = list_now(f, ANA, 5, GUEST, 1);
    assert_true(p2.ids[0] == CAT);
    p2 = list_now(f, ANA, 5, CAT, 5);
    assert_int_equal(p2.n, 1);
    assert_true(p2.ids[0] == BEN);
}

/* ---- settings ------------------------------------------------------------------------ */

typedef struct {
    int done;
    mp_err_t rc;
    mp_privacy_settings_t s;
} priv_res_t;

static void on_priv(mp_err_t rc, const mp_privacy_settings_t *s, void *ud)
{
    priv_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_OK)
        r->s = *s;
}

static priv_res_t priv_get(fx_t *f, uint64_t who)
{
    priv_res_t r = {0};
    assert_int_equal(mp_store_privacy_get(f->s.st, who, on_priv, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static priv_res_t priv_set(fx_t *f, uint64_t who, unsigned mask, mp_privacy_settings_t set)
{
    priv_res_t r = {0};
    assert_int_equal(mp_store_privacy_set(f->s.st, who, mask, &set, on_priv, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static void test_settings(void **state)
{
    fx_t *f = *state;
    priv_res_t r = priv_get(f, ANA);
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.s.message, MP_PRIV_EVERYONE);
    assert_int_equal(r.s.presence, MP_PRIV_EVERYONE);
    assert_int_equal(r.s.search, MP_PRIV_EVERYONE);
    assert_int_equal(r.s.groups, MP_PRIV_EVERYONE);
    assert_true(r.s.receipts);
    assert_int_equal(priv_get(f, 999).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(priv_set(f, 999, MP_PRIVSET_MESSAGE, (mp_privacy_settings_t){0}).rc,
                     MP_ERR_NOT_FOUND);

    /* Only the named fields change; the answer is what is stored. */
    r = priv_set(f, ANA, MP_PRIVSET_MESSAGE | MP_PRIVSET_RECEIPTS,
                 (mp_privacy_settings_t){
                     .message = MP_PRIV_CONTACTS, .presence = MP_PRIV_NOBODY, .receipts = false});
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.s.message, MP_PRIV_CONTACTS);
    assert_int_equal(r.s.presence, MP_PRIV_EVERYONE);
    assert_false(r.s.receipts);
    assert_int_equal(peek_int(f, "SELECT priv_receipts FROM users WHERE id = %d", ANA), 1);
    r = priv_set(f, ANA, MP_PRIVSET_PRESENCE | MP_PRIVSET_SEARCH | MP_PRIVSET_GROUPS,
                 (mp_privacy_settings_t){.presence = MP_PRIV_NOBODY,
                                         .search = MP_PRIV_CONTACTS,
                                         .groups = MP_PRIV_NOBODY});
    assert_int_equal(r.s.message, MP_PRIV_CONTACTS);
    assert_int_equal(r.s.presence, MP_PRIV_NOBODY);
    assert_int_equal(r.s.search, MP_PRIV_CONTACTS);
    assert_int_equal(r.s.groups, MP_PRIV_NOBODY);
    assert_false(r.s.receipts);
    r = priv_get(f, ANA);
    assert_int_equal(r.s.groups, MP_PRIV_NOBODY);
    /* An empty change answers the settings. */
    r = priv_set(f, ANA, 0, (mp_privacy_settings_t){0});
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.s.search, MP_PRIV_CONTACTS);
    assert_int_equal(priv_get(f, BEN).s.message, MP_PRIV_EVERYONE);
}

/* ---- sends and direct conversations ------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    bool you_blocked;
    uint64_t conv;
} send_res_t;

static void on_send(mp_err_t rc, const mp_chat_send_out_t *o, void *ud)
{
    send_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_ERR_PRIVACY) {
        assert_non_null(o);
        r->you_blocked = o->you_blocked;
    }
    if (rc == MP_OK)
        r->conv = o->msg.conversation_id;
}

static void queue_send(fx_t *f, uint64_t from, uint64_t conv, uint64_t to, send_res_t *r)
{
    char cmid[32];
    snprintf(cmid, sizeof cmid, "c%lld", (long long)++f->now);
    memset(r, 0, sizeof *r);
    mp_chat_send_in_t in = {.sender_id = from,
                            .sender_device = from,
                            .conversation_id = conv,
                            .to_user_id = to,
                            .client_msg_id = cmid,
                            .text = "hi",
                            .text_len = 2,
                            .now_ms = f->now};
    assert_int_equal(mp_store_chat_send(f->s.st, &in, on_send, r), MP_OK);
}

static send_res_t send_now(fx_t *f, uint64_t from, uint64_t conv, uint64_t to)
{
    send_res_t r;
    queue_send(f, from, conv, to, &r);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t conv;
    bool created;
} direct_res_t;

static void on_direct(mp_err_t rc, uint64_t conv, bool created, void *ud)
{
    direct_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->conv = conv;
    r->created = created;
}

static direct_res_t direct_now(fx_t *f, uint64_t a, uint64_t b)
{
    direct_res_t r = {0};
    assert_int_equal(mp_store_chat_direct(f->s.st, a, b, ++f->now, on_direct, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static void test_send_direct_blocks(void **state)
{
    fx_t *f = *state;
    direct_res_t d = direct_now(f, ANA, BEN);
    assert_int_equal(d.rc, MP_OK);
    assert_int_equal(send_now(f, ANA, d.conv, 0).rc, MP_OK);

    /* Ben blocks Ana: Ana is refused as by a setting; Ben is told it is his block. */
    assert_int_equal(block_now(f, BEN, ANA, true).rc, MP_OK);
    send_res_t r = send_now(f, ANA, d.conv, 0);
    assert_int_equal(r.rc, MP_ERR_PRIVACY);
    assert_false(r.you_blocked);
    r = send_now(f, BEN, d.conv, 0);
    assert_int_equal(r.rc, MP_ERR_PRIVACY);
    assert_true(r.you_blocked);
    /* `to` into the existing conversation: the same. */
    r = send_now(f, ANA, 0, BEN);
    assert_int_equal(r.rc, MP_ERR_PRIVACY);
    assert_false(r.you_blocked);
    /* The existing conversation is still found; a new one is refused. */
    assert_int_equal(direct_now(f, ANA, BEN).rc, MP_OK);
    assert_int_equal(block_now(f, CAT, ANA, true).rc, MP_OK);
    assert_int_equal(direct_now(f, ANA, CAT).rc, MP_ERR_PRIVACY);
    assert_int_equal(direct_now(f, CAT, ANA).rc, MP_ERR_PRIVACY);
    r = send_now(f, ANA, 0, CAT);
    assert_int_equal(r.rc, MP_ERR_PRIVACY);
    assert_false(r.you_blocked);
    r = send_now(f, CAT, 0, ANA);
    assert_int_equal(r.rc, MP_ERR_PRIVACY);
    assert_true(r.you_blocked);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM direct_pairs"), 1);

    /* Unblocked: both write again. */
    assert_int_equal(block_now(f, BEN, ANA, false).rc, MP_OK);
    assert_int_equal(send_now(f, ANA, d.conv, 0).rc, MP_OK);
    assert_int_equal(send_now(f, BEN, d.conv, 0).rc, MP_OK);
}

static void test_send_message_setting(void **state)
{
    fx_t *f = *state;
    direct_res_t d = direct_now(f, ANA, BEN);
    assert_int_equal(
        priv_set(f, BEN, MP_PRIVSET_MESSAGE, (mp_privacy_settings_t){.message = MP_PRIV_CONTACTS})
            .rc,
        MP_OK);
    send_res_t r = send_now(f, ANA, d.conv, 0);
    assert_int_equal(r.rc, MP_ERR_PRIVACY);
    assert_false(r.you_blocked);
    /* Ben may still write to Ana: the setting is about who writes to Ben. */
    assert_int_equal(send_now(f, BEN, d.conv, 0).rc, MP_OK);
    /* A pending request is not a friendship; an accepted one is. Both go
     * through the writer, between sends: the rules the writer keeps for a
     * run of sends must not outlive them. */
    assert_int_equal(contact_now(f, MP_CONTACT_OP_REQUEST, ANA, BEN), MP_OK);
    assert_int_equal(send_now(f, ANA, d.conv, 0).rc, MP_ERR_PRIVACY);
    assert_int_equal(contact_now(f, MP_CONTACT_OP_ACCEPT, BEN, ANA), MP_OK);
    assert_int_equal(send_now(f, ANA, d.conv, 0).rc, MP_OK);
    assert_int_equal(
        priv_set(f, BEN, MP_PRIVSET_MESSAGE, (mp_privacy_settings_t){.message = MP_PRIV_NOBODY}).rc,
        MP_OK);
    assert_int_equal(send_now(f, ANA, d.conv, 0).rc, MP_ERR_PRIVACY);
    assert_int_equal(direct_now(f, CAT, BEN).rc, MP_ERR_PRIVACY);
    assert_int_equal(send_now(f, CAT, 0, BEN).rc, MP_ERR_PRIVACY);
    /* Someone with "nobody" writes to others freely. */
    assert_int_equal(send_now(f, BEN, 0, CAT).rc, MP_OK);
    assert_int_equal(
        priv_set(f, BEN, MP_PRIVSET_MESSAGE, (mp_privacy_settings_t){.message = MP_PRIV_EVERYONE})
            .rc,
        MP_OK);
    assert_int_equal(send_now(f, ANA, d.conv, 0).rc, MP_OK);
}

/* A block committed in the same batch, before the send, refuses it: the
 * send's cached access of the run ends with any other job. */
static void test_block_races_send(void **state)
{
    fx_t *f = *state;
    direct_res_t d = direct_now(f, ANA, BEN);
    mpu_gate_t gate;
    send_res_t before, after;
    block_res_t blk = {0};
    mpu_gate_close(&f->s, &gate);
    queue_send(f, ANA, d.conv, 0, &before);
    assert_int_equal(mp_store_block(f->s.st, BEN, ANA, ++f->now, on_block, &blk), MP_OK);
    queue_send(f, ANA, d.conv, 0, &after);
    mpu_gate_open(&f->s, &gate);
    MPU_WAIT(&f->s.loop, &after.done, 1);
    MPU_WAIT(&f->s.loop, &before.done, 1);
    MPU_WAIT(&f->s.loop, &blk.done, 1);
    assert_int_equal(before.rc, MP_OK);
    assert_int_equal(blk.rc, MP_OK);
    assert_int_equal(after.rc, MP_ERR_PRIVACY);
}

typedef struct {
    int done;
    mp_err_t rc;
    bool you_blocked;
} fwd_res_t;

static void on_fwd(mp_err_t rc, const mp_msg_forward_out_t *o, void *ud)
{
    fwd_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_ERR_PRIVACY)
        r->you_blocked = o->you_blocked;
}

static fwd_res_t forward_now(fx_t *f, uint64_t who, uint64_t from, uint64_t msg, uint64_t conv,
                             uint64_t to)
{
    char cmid[32];
    snprintf(cmid, sizeof cmid, "f%lld", (long long)++f->now);
    fwd_res_t r = {0};
    mp_msg_forward_in_t in = {.sender_id = who,
                              .sender_device = who,
                              .from_conversation = from,
                              .message_ids = &msg,
                              .n = 1,
                              .conversation_id = conv,
                              .to_user_id = to,
                              .client_msg_id = cmid,
                              .now_ms = f->now};
    assert_int_equal(mp_store_msg_forward(f->s.st, &in, on_fwd, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

typedef struct {
    int done;
    uint64_t id;
} msg_id_t;

static void on_send_id(mp_err_t rc, const mp_chat_send_out_t *o, void *ud)
{
    msg_id_t *r = ud;
    assert_int_equal(rc, MP_OK);
    r->id = o->msg.id;
    r->done++;
}

static void test_forward_refused(void **state)
{
    fx_t *f = *state;
    direct_res_t ac = direct_now(f, ANA, CAT);
    direct_res_t ab = direct_now(f, ANA, BEN);
    msg_id_t m = {0};
    mp_chat_send_in_t in = {.sender_id = CAT,
                            .sender_device = CAT,
                            .conversation_id = ac.conv,
                            .client_msg_id = "src",
                            .text = "x",
                            .text_len = 1,
                            .now_ms = ++f->now};
    assert_int_equal(mp_store_chat_send(f->s.st, &in, on_send_id, &m), MP_OK);
    MPU_WAIT(&f->s.loop, &m.done, 1);
    assert_int_equal(forward_now(f, ANA, ac.conv, m.id, ab.conv, 0).rc, MP_OK);
    assert_int_equal(block_now(f, BEN, ANA, true).rc, MP_OK);
    fwd_res_t r = forward_now(f, ANA, ac.conv, m.id, ab.conv, 0);
    assert_int_equal(r.rc, MP_ERR_PRIVACY);
    assert_false(r.you_blocked);
    r = forward_now(f, ANA, ac.conv, m.id, 0, BEN);
    assert_int_equal(r.rc, MP_ERR_PRIVACY);
    /* To Dan (no conversation yet), whose setting is nobody: not created. */
    assert_int_equal(
        priv_set(f, DAN, MP_PRIVSET_MESSAGE, (mp_privacy_settings_t){.message = MP_PRIV_NOBODY}).rc,
        MP_OK);
    assert_int_equal(forward_now(f, ANA, ac.conv, m.id, 0, DAN).rc, MP_ERR_PRIVACY);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM direct_pairs"), 2);
    /* Ana blocked Cat: forwarding into their conversation is her own block. */
    assert_int_equal(block_now(f, ANA, CAT, true).rc, MP_OK);
    r = forward_now(f, ANA, ac.conv, m.id, ac.conv, 0);
    assert_int_equal(r.rc, MP_ERR_PRIVACY);
    assert_true(r.you_blocked);
}

/* ---- groups ------------------------------------------------------------------------------ */

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t conv, refused;
    size_t n_added;
} op_res_t;

static void on_op(mp_err_t rc, const mp_group_op_out_t *o, void *ud)
{
    op_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_ERR_PRIVACY) {
        assert_non_null(o);
        r->refused = o->refused_id;
    }
    if (rc == MP_OK) {
        r->conv = o->conversation_id;
        r->n_added = o->n_added;
    }
}

static op_res_t op_now(fx_t *f, mp_group_op_in_t in)
{
    op_res_t r = {0};
    in.now_ms = ++f->now;
    in.max_members = 1000;
    in.title = in.op == MP_GOP_CREATE ? "G" : NULL;
    assert_int_equal(mp_store_group_op(f->s.st, &in, on_op, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static void test_group_adds(void **state)
{
    fx_t *f = *state;
    /* Cat blocked Ana; Dan lets only friends add him. */
    assert_int_equal(block_now(f, CAT, ANA, true).rc, MP_OK);
    assert_int_equal(
        priv_set(f, DAN, MP_PRIVSET_GROUPS, (mp_privacy_settings_t){.groups = MP_PRIV_CONTACTS}).rc,
        MP_OK);
    uint64_t bc[] = {BEN, CAT};
    op_res_t r = op_now(
        f, (mp_group_op_in_t){.op = MP_GOP_CREATE, .actor_id = ANA, .user_ids = bc, .n_users = 2});
    assert_int_equal(r.rc, MP_ERR_PRIVACY);
    assert_true(r.refused == CAT);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM conversations WHERE kind = 'group'"), 0);
    uint64_t bd[] = {BEN, DAN};
    r = op_now(
        f, (mp_group_op_in_t){.op = MP_GOP_CREATE, .actor_id = ANA, .user_ids = bd, .n_users = 2});
    assert_int_equal(r.rc, MP_ERR_PRIVACY);
    assert_true(r.refused == DAN);
    r = op_now(
        f, (mp_group_op_in_t){.op = MP_GOP_CREATE, .actor_id = ANA, .user_ids = bd, .n_users = 1});
    assert_int_equal(r.rc, MP_OK);
    uint64_t g = r.conv;

    /* Adding: the same rules, all or nothing. */
    uint64_t c[] = {CAT};
    r = op_now(
        f,
        (mp_group_op_in_t){
            .op = MP_GOP_ADD, .actor_id = ANA, .conversation_id = g, .user_ids = c, .n_users = 1});
    assert_int_equal(r.rc, MP_ERR_PRIVACY);
    assert_true(r.refused == CAT);
    uint64_t d[] = {DAN};
    r = op_now(
        f,
        (mp_group_op_in_t){
            .op = MP_GOP_ADD, .actor_id = ANA, .conversation_id = g, .user_ids = d, .n_users = 1});
    assert_int_equal(r.rc, MP_ERR_PRIVACY);
    /* Ben, not blocked by Cat, may add Cat; friends of Dan may add Dan. */
    r = op_now(
        f,
        (mp_group_op_in_t){
            .op = MP_GOP_ADD, .actor_id = BEN, .conversation_id = g, .user_ids = c, .n_users = 1});
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.n_added, 1);
    contacts_set(f, ANA, DAN, 3, 3, 1);
    r = op_now(
        f,
        (mp_group_op_in_t){
            .op = MP_GOP_ADD, .actor_id = ANA, .conversation_id = g, .user_ids = d, .n_users = 1});
    assert_int_equal(r.rc, MP_OK);
    /* Naming Cat, now a member, changes nothing and refuses nothing. */
    r = op_now(
        f,
        (mp_group_op_in_t){
            .op = MP_GOP_ADD, .actor_id = ANA, .conversation_id = g, .user_ids = c, .n_users = 1});
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.n_added, 0);
    /* Cat and Ana still share the group: posting there is not a DM. */
    assert_int_equal(send_now(f, ANA, g, 0).rc, MP_OK);
    assert_int_equal(send_now(f, CAT, g, 0).rc, MP_OK);
    /* The adder's own block is no bar. */
    assert_int_equal(block_now(f, ANA, BEN, true).rc, MP_OK);
    uint64_t b[] = {BEN};
    r = op_now(
        f, (mp_group_op_in_t){.op = MP_GOP_CREATE, .actor_id = ANA, .user_ids = b, .n_users = 1});
    assert_int_equal(r.rc, MP_OK);
    /* nobody: not even friends. */
    assert_int_equal(
        priv_set(f, DAN, MP_PRIVSET_GROUPS, (mp_privacy_settings_t){.groups = MP_PRIV_NOBODY}).rc,
        MP_OK);
    r = op_now(
        f, (mp_group_op_in_t){.op = MP_GOP_CREATE, .actor_id = ANA, .user_ids = d, .n_users = 1});
    assert_int_equal(r.rc, MP_ERR_PRIVACY);
}

/* ---- presence ------------------------------------------------------------------------------ */

typedef struct {
    int done;
    mp_err_t rc;
    size_t n, n_allowed;
    uint64_t ids[8];
} ids_res_t;

static void on_ids(mp_err_t rc, const uint64_t *users, size_t n, void *ud)
{
    ids_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->n = n;
    for (size_t i = 0; i < n && i < 8; i++)
        r->ids[i] = users[i];
}

static void on_split(mp_err_t rc, const uint64_t *users, size_t n, size_t n_allowed, void *ud)
{
    ids_res_t *r = ud;
    on_ids(rc, users, n, ud);
    r->n_allowed = n_allowed;
}

static bool has(const ids_res_t *r, uint64_t id)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->ids[i] == id)
            return true;
    return false;
}

static ids_res_t audience(fx_t *f, uint64_t who)
{
    ids_res_t r = {0};
    assert_int_equal(mp_store_presence_audience(f->s.st, who, on_ids, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    return r;
}

typedef struct {
    int done;
    mp_err_t rc;
    mp_privacy_pair_t p;
} pair_res_t;

static void on_pair(mp_err_t rc, const mp_privacy_pair_t *p, void *ud)
{
    pair_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_OK)
        r->p = *p;
}

static pair_res_t pair_now(fx_t *f, uint64_t actor, uint64_t target)
{
    pair_res_t r = {0};
    assert_int_equal(mp_store_privacy_pair(f->s.st, actor, target, on_pair, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static void test_presence(void **state)
{
    fx_t *f = *state;
    assert_int_equal(direct_now(f, ANA, BEN).rc, MP_OK);
    uint64_t cd[] = {CAT, DAN};
    assert_int_equal(op_now(f,
                            (mp_group_op_in_t){
                                .op = MP_GOP_CREATE, .actor_id = ANA, .user_ids = cd, .n_users = 2})
                         .rc,
                     MP_OK);
    ids_res_t r = audience(f, ANA);
    assert_int_equal(r.n, 3);
    /* Ana blocks Ben: Ben hears nothing of Ana; Ben's own audience keeps Ana. */
    assert_int_equal(block_now(f, ANA, BEN, true).rc, MP_OK);
    r = audience(f, ANA);
    assert_int_equal(r.n, 2);
    assert_false(has(&r, BEN));
    ids_res_t rb = audience(f, BEN);
    assert_true(has(&rb, ANA));
    /* contacts: friends only. */
    contacts_set(f, ANA, CAT, 3, 3, 1);
    contacts_set(f, ANA, DAN, 1, 2, 1);
    assert_int_equal(
        priv_set(f, ANA, MP_PRIVSET_PRESENCE, (mp_privacy_settings_t){.presence = MP_PRIV_CONTACTS})
            .rc,
        MP_OK);
    r = audience(f, ANA);
    assert_int_equal(r.n, 1);
    assert_true(r.ids[0] == CAT);
    /* Split: every peer, the allowed first. */
    ids_res_t sp = {0};
    assert_int_equal(mp_store_presence_split(f->s.st, ANA, on_split, &sp), MP_OK);
    MPU_WAIT(&f->s.loop, &sp.done, 1);
    assert_int_equal(sp.n, 3);
    assert_int_equal(sp.n_allowed, 1);
    assert_true(sp.ids[0] == CAT);
    assert_true(has(&sp, BEN) && has(&sp, DAN));
    assert_int_equal(
        priv_set(f, ANA, MP_PRIVSET_PRESENCE, (mp_privacy_settings_t){.presence = MP_PRIV_NOBODY})
            .rc,
        MP_OK);
    assert_int_equal(audience(f, ANA).n, 0);
    assert_int_equal(audience(f, 999).n, 0);

    /* The pair's facts, for the GET route: Ana seen by Ben and by Cat. */
    pair_res_t p = pair_now(f, BEN, ANA);
    assert_int_equal(p.rc, MP_OK);
    assert_true(p.p.target_blocked_actor);
    assert_false(p.p.actor_blocked_target);
    assert_int_equal(p.p.target.presence, MP_PRIV_NOBODY);
    mp_privacy_facts_t facts = mp_privacy_pair_facts(&p.p, MP_PRIVACY_PRESENCE);
    assert_int_equal(mp_privacy_rule(MP_PRIVACY_PRESENCE, &facts), MP_PRIVACY_REFUSED);
    p = pair_now(f, CAT, ANA);
    assert_true(p.p.friends);
    assert_false(p.p.target_blocked_actor);
    p = pair_now(f, ANA, BEN);
    assert_true(p.p.actor_blocked_target);
    assert_int_equal(pair_now(f, ANA, 999).rc, MP_ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_block_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_ends_contacts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_list_paged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_direct_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_message_setting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_races_send, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_adds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_presence, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
