/* Helpers of the store tests of reactions, pins and conversation settings
 * (test_reactions.c, test_convset.c): a fixture with three users, sends,
 * history, sync and list as blocking calls (bounded waits), and raw SQL for
 * rows no op makes yet. Include after cmocka.h. */
#ifndef MPU_MSG_UTIL_H
#define MPU_MSG_UTIL_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "store/chat.h"
#include "store/messages.h"

typedef struct {
    mpu_store_t s;
    int64_t now;
} fx_t;

enum { ALICE = 1001, BOB = 1002, CAROL = 1003 };

static inline int fx_setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    if (mpu_store_open(&f->s) != 0)
        return -1;
    mpu_user_add(&f->s, ALICE, "alice", "Alice", false);
    mpu_user_add(&f->s, BOB, "bob", "Bob", false);
    mpu_user_add(&f->s, CAROL, "carol", "Carol", false);
    f->now = 1700000000000LL;
    *state = f;
    return 0;
}

static inline int fx_teardown(void **state)
{
    fx_t *f = *state;
    mpu_store_close(&f->s);
    free(f);
    return 0;
}

static inline void exec_sql(fx_t *f, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(mpu_store_db_path(&f->s), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    mpu_exec(db, sql);
    sqlite3_close(db);
}

/* ---- send ---------------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t id, conv;
    int64_t seq;
} send_res_t;

static inline void on_send(mp_err_t rc, const mp_chat_send_out_t *o, void *ud)
{
    send_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_OK) {
        r->id = o->msg.id;
        r->conv = o->msg.conversation_id;
        r->seq = o->msg.seq;
    }
}

/* Sends text from `from` to conv (or, conv 0, to user `to`) mentioning
 * mentions[0..n) (and everyone when all); asserts MP_OK. */
static inline send_res_t send_mention(fx_t *f, uint64_t from, uint64_t conv, uint64_t to,
                                      const char *text, const uint64_t *mentions, size_t n_mentions,
                                      bool all)
{
    static int n;
    char cmid[32];
    snprintf(cmid, sizeof cmid, "m-%d", ++n);
    mp_chat_send_in_t in = {.sender_id = from,
                            .sender_device = 1,
                            .conversation_id = conv,
                            .to_user_id = to,
                            .client_msg_id = cmid,
                            .text = text,
                            .text_len = strlen(text),
                            .now_ms = ++f->now,
                            .mentions = mentions,
                            .n_mentions = n_mentions,
                            .mention_all = all};
    send_res_t r = {0};
    assert_int_equal(mp_store_chat_send(f->s.st, &in, on_send, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    return r;
}

static inline send_res_t send_msg(fx_t *f, uint64_t from, uint64_t conv, uint64_t to,
                                  const char *text)
{
    return send_mention(f, from, conv, to, text, NULL, 0, false);
}

static inline void on_hide(mp_err_t rc, const mp_msg_row_t *m, void *ud)
{
    (void)m;
    int *done = ud;
    assert_int_equal(rc, MP_OK);
    ++*done;
}

/* Deletes message mid of conv for `user` only (delete for me). */
static inline void hide_msg(fx_t *f, uint64_t user, uint64_t conv, uint64_t mid)
{
    int done = 0;
    mp_msg_actor_t a = {.user_id = user};
    assert_int_equal(
        mp_store_msg_delete(f->s.st, &a, conv, mid, false, 0, ++f->now, on_hide, &done), MP_OK);
    MPU_WAIT(&f->s.loop, &done, 1);
}

/* ---- history --------------------------------------------------------------------- */

/* One message of a read as the test checks it. */
typedef struct {
    uint64_t id;
    int64_t seq, pinned_at, version;
    uint64_t pinned_by;
    bool changed; /* a pin call: it changed the pin state */
    size_t n_reactions;
    char emoji[4][MP_CHAT_EMOJI_MAX + 1];
    int64_t count[4];
    bool me[4];
} seen_msg_t;

static inline void seen_copy(seen_msg_t *d, const mp_msg_row_t *m)
{
    memset(d, 0, sizeof *d);
    d->id = m->id;
    d->seq = m->seq;
    d->pinned_at = m->pinned_at;
    d->pinned_by = m->pinned_by;
    d->changed = m->changed;
    d->version = m->version;
    d->n_reactions = m->n_reactions;
    assert_true(m->n_reactions == 0 || m->reactions != NULL);
    for (size_t i = 0; i < m->n_reactions && i < 4; i++) {
        snprintf(d->emoji[i], sizeof d->emoji[i], "%s", m->reactions[i].emoji);
        d->count[i] = m->reactions[i].count;
        d->me[i] = m->reactions[i].me;
    }
}

typedef struct {
    int done;
    mp_err_t rc;
    seen_msg_t m[64];
    size_t n;
    bool more;
} hist_res_t;

static inline void on_hist(mp_err_t rc, const mp_msg_row_t *m, size_t n, bool more, void *ud)
{
    hist_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->n = n < 64 ? n : 64;
    r->more = more;
    for (size_t i = 0; i < r->n; i++)
        seen_copy(&r->m[i], &m[i]);
}

static inline hist_res_t history(fx_t *f, uint64_t user, uint64_t conv)
{
    hist_res_t *r = calloc(1, sizeof *r);
    assert_int_equal(
        mp_store_chat_history(f->s.st, user, conv, INT64_MAX, 64, SIZE_MAX, on_hist, r), MP_OK);
    MPU_WAIT(&f->s.loop, &r->done, 1);
    hist_res_t out = *r;
    free(r);
    return out;
}

/* ---- sync ------------------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    seen_msg_t m[64];
    size_t n_msgs;
    mp_chat_sync_conv_t convs[16];
    size_t n_convs;
    mp_chat_self_row_t selfs[64];
    size_t n_selfs, n_rcpts;
    int64_t cursor;
    bool more;
} sync_res_t;

static inline void on_sync(mp_err_t rc, const mp_chat_sync_out_t *o, void *ud)
{
    sync_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc != MP_OK)
        return;
    r->n_msgs = o->n_msgs < 64 ? o->n_msgs : 64;
    for (size_t i = 0; i < r->n_msgs; i++)
        seen_copy(&r->m[i], &o->msgs[i]);
    r->n_convs = o->n_convs < 16 ? o->n_convs : 16;
    if (r->n_convs)
        memcpy(r->convs, o->convs, r->n_convs * sizeof *o->convs);
    r->n_selfs = o->n_selfs < 64 ? o->n_selfs : 64;
    if (r->n_selfs)
        memcpy(r->selfs, o->selfs, r->n_selfs * sizeof *o->selfs);
    for (size_t i = 1; i < o->n_selfs; i++)
        assert_true(o->selfs[i].version >= o->selfs[i - 1].version);
    r->n_rcpts = o->n_receipts;
    r->cursor = o->cursor;
    r->more = o->has_more;
}

static inline sync_res_t sync_max(fx_t *f, uint64_t user, int64_t since, unsigned max)
{
    sync_res_t *r = calloc(1, sizeof *r);
    assert_int_equal(mp_store_chat_sync(f->s.st, user, since, max, SIZE_MAX, on_sync, r), MP_OK);
    MPU_WAIT(&f->s.loop, &r->done, 1);
    sync_res_t out = *r;
    free(r);
    return out;
}

static inline sync_res_t sync_all(fx_t *f, uint64_t user, int64_t since)
{
    return sync_max(f, user, since, MP_CHAT_SYNC_MAX);
}

/* The conversation entry of conv in a sync page, or NULL. */
static inline const mp_chat_sync_conv_t *sync_conv(const sync_res_t *r, uint64_t conv)
{
    for (size_t i = 0; i < r->n_convs; i++)
        if (r->convs[i].id == conv)
            return &r->convs[i];
    return NULL;
}

/* Whether message id is among the sync page's messages. */
static inline bool sync_has_msg(const sync_res_t *r, uint64_t id)
{
    for (size_t i = 0; i < r->n_msgs; i++)
        if (r->m[i].id == id)
            return true;
    return false;
}

#endif
