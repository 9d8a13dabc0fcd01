/* Search (mp_store_search, mp_store_search_index) against a real SQLite store
 * in a temporary directory: words and CJK substrings through the trigram
 * index, short queries through the scan, what is never returned
 * (conversations of others, deleted, hidden, cleared, system messages), the
 * filters, the paging cursor and the scan budget, the index turned off and
 * rebuilt, edits and deletes the indexer has not applied yet, the index's
 * own file (its lock holds up no send; one built from another copy of the
 * database is started over). Every wait runs the loop until the callback
 * has fired. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fixture.h"
#include "search_util.h"
#include "store/chat.h"
#include "store/groups.h"
#include "store/messages.h"
#include "store/sqlite_chat_int.h"
#include "store/world.h"
#include "util/alloc.h"
#include "util/id.h"

enum { OWNER = 5001, MEMBER = 5002, OTHER = 5003, OUT = 5004 };

typedef struct {
    mpu_store_t s;
    int64_t now;
    sqlite3 *peek;
    uint64_t world, g, d, d_out;
} fx_t;

static void exec_sql(fx_t *f, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    mpu_exec(f->peek, sql);
}

/* ---- sending ------------------------------------------------------------------ */

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t id, conv;
    int64_t seq;
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
    }
}

static int cmid_n;

static send_res_t send_in(fx_t *f, mp_chat_send_in_t in)
{
    char cmid[32];
    snprintf(cmid, sizeof cmid, "s%d", ++cmid_n);
    in.client_msg_id = cmid;
    in.sender_device = in.sender_id;
    in.text_len = strlen(in.text);
    in.now_ms = in.now_ms ? in.now_ms : ++f->now;
    send_res_t r = {0};
    assert_int_equal(mp_store_chat_send(f->s.st, &in, on_send, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    return r;
}

static uint64_t say(fx_t *f, uint64_t from, uint64_t conv, const char *text)
{
    return send_in(f, (mp_chat_send_in_t){.sender_id = from, .conversation_id = conv, .text = text})
        .id;
}

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t conv;
} op_res_t;

static void on_op(mp_err_t rc, const mp_group_op_out_t *o, void *ud)
{
    op_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_OK)
        r->conv = o->conversation_id;
}

static uint64_t direct_of(fx_t *f, uint64_t a, uint64_t b)
{
    return send_in(f, (mp_chat_send_in_t){.sender_id = a, .to_user_id = b, .text = "hello"}).conv;
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    if (mpu_store_open(&f->s) != 0)
        return -1;
    mp_id_init(5);
    assert_int_equal(sqlite3_open(mpu_store_db_path(&f->s), &f->peek), SQLITE_OK);
    sqlite3_busy_timeout(f->peek, 5000);
    exec_sql(f, "ATTACH '%s/search.db' AS search", f->s.dir);
    mpu_user_add(&f->s, OWNER, "olga", "Olga", false);
    mpu_user_add(&f->s, MEMBER, "mia", "Mia", false);
    mpu_user_add(&f->s, OTHER, "otto", "Otto", false);
    mpu_user_add(&f->s, OUT, "fay", "Fay", false);
    f->now = 1700000000000LL;
    assert_int_equal(mp_store_world_ensure(f->s.st, f->now, &f->world), MP_OK);
    uint64_t users[] = {MEMBER, OTHER};
    mp_group_op_in_t in = {.op = MP_GOP_CREATE,
                           .actor_id = OWNER,
                           .title = "quick group",
                           .user_ids = users,
                           .n_users = 2,
                           .max_members = 100,
                           .now_ms = ++f->now};
    op_res_t r = {0};
    assert_int_equal(mp_store_group_op(f->s.st, &in, on_op, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    f->g = r.conv;
    f->d = direct_of(f, MEMBER, OTHER);
    f->d_out = direct_of(f, OWNER, OUT);
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

typedef struct {
    int done;
    mp_err_t rc;
} msg_res_t;

static void on_msg(mp_err_t rc, const mp_msg_row_t *m, void *ud)
{
    (void)m;
    msg_res_t *r = ud;
    r->done++;
    r->rc = rc;
}

/* ---- searching ------------------------------------------------------------------ */

#define HITS_MAX MP_CHAT_SEARCH_MAX

typedef struct {
    int done;
    mp_err_t rc;
    size_t n;
    uint64_t ids[HITS_MAX];
    char marked[HITS_MAX][160];
    bool has_more;
    uint64_t next_before;
} search_res_t;

static void on_search(mp_err_t rc, const mp_search_hit_t *hits, size_t n, bool has_more,
                      uint64_t next_before, void *ud)
{
    search_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->n = n;
    r->has_more = has_more;
    r->next_before = next_before;
    for (size_t i = 0; i < n && i < HITS_MAX; i++) {
        r->ids[i] = hits[i].msg.id;
        assert_true(hits[i].msg.deleted_at == 0);
        snprintf(r->marked[i], sizeof r->marked[i], "%s", hits[i].marked);
    }
}

static search_res_t *search(fx_t *f, mp_search_in_t in)
{
    static search_res_t r;
    memset(&r, 0, sizeof r);
    if (in.limit == 0)
        in.limit = 20;
    assert_int_equal(mp_store_search(f->s.st, &in, on_search, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return &r;
}

static search_res_t *find(fx_t *f, uint64_t user, const char *q)
{
    return search(f, (mp_search_in_t){.user_id = user, .query = q});
}

/* Whether id is among the hits. */
static bool has(const search_res_t *r, uint64_t id)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->ids[i] == id)
            return true;
    return false;
}

/* ---- the indexer --------------------------------------------------------------------- */

static bool no_changes_left(void *ud)
{
    return mpu_peek_int(((fx_t *)ud)->peek, "SELECT count(*) FROM search_changes") == 0;
}

typedef struct {
    uv_loop_t *loop;
    uint64_t until;
} clock_wait_t;

static bool time_passed(void *ud)
{
    clock_wait_t *c = ud;
    uv_update_time(c->loop);
    return uv_now(c->loop) >= c->until;
}

/* Runs the loop for ms: only to show that something does NOT happen. */
static void run_for(fx_t *f, uint64_t ms)
{
    uv_update_time(&f->s.loop);
    clock_wait_t c = {&f->s.loop, uv_now(&f->s.loop) + ms};
    MPU_WAIT_UNTIL(&f->s.loop, time_passed, &c);
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_words_and_cjk(void **state)
{
    fx_t *f = *state;
    uint64_t en = say(f, OTHER, f->g, "The Quick brown fox; quick!");
    uint64_t ja = say(f, OTHER, f->d, "東京タワーに行きました");
    /* The file the message names: an upload of OTHER's. */
    exec_sql(f,
             "INSERT INTO blobs(id, sha256, skey, size, serve_size, mime, serve_mime, class,"
             " created_at) VALUES(1, 'r', 'r-5', 9, 9, 'application/pdf', 'application/pdf',"
             " 'file', 1); INSERT INTO files(id, owner_id, blob_id, size, created_at)"
             " VALUES(5, %d, 1, 9, 1)",
             OTHER);
    uint64_t file = send_in(f, (mp_chat_send_in_t){.sender_id = OTHER,
                                                   .conversation_id = f->d,
                                                   .kind = "file",
                                                   .text = "",
                                                   .content = "{\"file_id\":\"5\",\"name\":\"r\"}",
                                                   .search_extra = "annual-report.pdf"})
                        .id;

    search_res_t *r = find(f, MEMBER, "quick");
    assert_int_equal(r->rc, MP_OK);
    assert_int_equal(r->n, 1);
    assert_true(r->ids[0] == en);
    assert_string_equal(r->marked[0], "The \x02Quick\x03 brown fox; \x02quick\x03!");
    assert_false(r->has_more);

    r = find(f, MEMBER, "タワー"); /* 3 characters: the index */
    assert_int_equal(r->n, 1);
    assert_true(r->ids[0] == ja);
    assert_string_equal(r->marked[0], "東京\x02タワー\x03に行きました");

    r = find(f, MEMBER, "東京"); /* 2 characters: the scan */
    assert_int_equal(r->n, 1);
    assert_true(r->ids[0] == ja);
    assert_string_equal(r->marked[0], "\x02東京\x03タワーに行きました");

    r = find(f, MEMBER, "report");
    assert_int_equal(r->n, 1);
    assert_true(r->ids[0] == file);
    assert_string_equal(r->marked[0], "annual-\x02report\x03.pdf");
    r = find(f, MEMBER, "ep"); /* the scan looks at the file name too */
    assert_int_equal(r->n, 1);

    /* A query with FTS5 syntax in it is only text. */
    r = find(f, MEMBER, "fox\" OR \"x");
    assert_int_equal(r->rc, MP_OK);
    assert_int_equal(r->n, 0);
}

static void test_never_returned(void **state)
{
    fx_t *f = *state;
    uint64_t mine = say(f, OTHER, f->g, "zebra in the group");
    uint64_t others = say(f, OWNER, f->d_out, "zebra between others");
    uint64_t world = say(f, OUT, f->world, "zebra in the world");
    uint64_t gone = say(f, OTHER, f->d, "zebra deleted");
    uint64_t hid = say(f, OTHER, f->d, "zebra hidden");
    int64_t cleared_seq = send_in(f, (mp_chat_send_in_t){.sender_id = OTHER,
                                                         .conversation_id = f->g,
                                                         .text = "zebra before a clear"})
                              .seq;
    /* A system message (the writer never indexes them; put one in the index
     * by hand to prove search filters them anyway). */
    exec_sql(f,
             "INSERT INTO messages(id, conversation_id, seq, sender_id, client_msg_id, kind, body,"
             " created_at, version) VALUES(77, %llu, 9999, %d, 'sys', 'system', 'zebra system',"
             " 1, 1); INSERT INTO messages_fts(rowid, body) VALUES(77, 'zebra system')",
             (unsigned long long)f->g, OWNER);

    msg_res_t d = {0};
    mp_msg_actor_t other = {.user_id = OTHER}, member = {.user_id = MEMBER};
    assert_int_equal(
        mp_store_msg_delete(f->s.st, &other, f->d, gone, true, 0, ++f->now, on_msg, &d), MP_OK);
    MPU_WAIT(&f->s.loop, &d.done, 1);
    assert_int_equal(d.rc, MP_OK);
    memset(&d, 0, sizeof d);
    assert_int_equal(
        mp_store_msg_delete(f->s.st, &member, f->d, hid, false, 0, ++f->now, on_msg, &d), MP_OK);
    MPU_WAIT(&f->s.loop, &d.done, 1);
    assert_int_equal(d.rc, MP_OK);
    exec_sql(f,
             "UPDATE members SET cleared_seq = %lld WHERE conversation_id = %llu AND user_id = %d",
             (long long)cleared_seq, (unsigned long long)f->g, MEMBER);

    const char *queries[] = {"zebra", "ze"}; /* the index and the scan */
    for (size_t q = 0; q < 2; q++) {
        search_res_t *r = find(f, MEMBER, queries[q]);
        assert_int_equal(r->rc, MP_OK);
        assert_int_equal(r->n, 0);
        /* OTHER cleared nothing and hid nothing: the group message, the
         * hidden one, and the one before the clear. */
        r = find(f, OTHER, queries[q]);
        assert_int_equal(r->n, 3);
        assert_true(has(r, hid) && has(r, mine));
        assert_false(has(r, others) || has(r, gone) || has(r, 77) || has(r, world));
        /* The world only when asked for. */
        r = search(f, (mp_search_in_t){
                          .user_id = MEMBER, .query = queries[q], .conversation_id = f->world});
        assert_int_equal(r->n, 1);
        assert_true(r->ids[0] == world);
        r = search(f, (mp_search_in_t){
                          .user_id = MEMBER, .query = queries[q], .conversation_id = f->d_out});
        assert_int_equal(r->rc, MP_ERR_NOT_MEMBER);
    }
    (void)mine;
}

static void test_filters_and_paging(void **state)
{
    fx_t *f = *state;
    uint64_t ids[30];
    int64_t at[30];
    for (int i = 0; i < 30; i++) {
        char t[32];
        snprintf(t, sizeof t, "item number %d", i);
        ids[i] = say(f, i % 2 ? OTHER : MEMBER, i < 20 ? f->g : f->d, t);
        at[i] = f->now;
    }
    /* Pages of 8, newest first, through the cursor. */
    const char *queries[] = {"item", "it"};
    for (size_t q = 0; q < 2; q++) {
        uint64_t before = 0;
        int seen = 29;
        for (int page = 0; page < 4; page++) {
            search_res_t *r = search(
                f, (mp_search_in_t){
                       .user_id = MEMBER, .query = queries[q], .before_id = before, .limit = 8});
            assert_int_equal(r->rc, MP_OK);
            for (size_t i = 0; i < r->n; i++)
                assert_true(r->ids[i] == ids[seen--]);
            assert_int_equal(r->has_more, page < 3);
            before = r->next_before;
        }
        assert_int_equal(seen, -1);
    }
    search_res_t *r = search(
        f, (mp_search_in_t){.user_id = MEMBER, .query = "item", .sender_id = OTHER, .limit = 50});
    assert_int_equal(r->n, 15);
    r = search(f, (mp_search_in_t){
                      .user_id = MEMBER, .query = "item", .conversation_id = f->d, .limit = 50});
    assert_int_equal(r->n, 10);
    r = search(f, (mp_search_in_t){.user_id = MEMBER,
                                   .query = "it",
                                   .conversation_id = f->g,
                                   .sender_id = MEMBER,
                                   .limit = 50});
    assert_int_equal(r->n, 10);
    r = search(
        f, (mp_search_in_t){
               .user_id = MEMBER, .query = "item", .from_ms = at[5], .to_ms = at[9], .limit = 50});
    assert_int_equal(r->n, 4);
    assert_true(r->ids[0] == ids[8] && r->ids[3] == ids[5]);
    r = search(f, (mp_search_in_t){.user_id = MEMBER, .query = "item", .kind = "image"});
    assert_int_equal(r->n, 0);
    r = search(f, (mp_search_in_t){.user_id = MEMBER, .query = "item", .kind = "text"});
    assert_int_equal(r->n, 20);
}

/* The scan stops after MP_CHAT_SEARCH_SCAN candidates and says where to go
 * on; the next request finds what lies beyond. */
static void test_scan_budget(void **state)
{
    fx_t *f = *state;
    exec_sql(
        f,
        "INSERT INTO messages(id, conversation_id, seq, sender_id, client_msg_id, kind, body,"
        " created_at, version) VALUES(1000, %llu, 100000, %d, 'old', 'text', 'qz needle', 1, 1)",
        (unsigned long long)f->g, OTHER);
    exec_sql(f,
             "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
             " INSERT INTO messages(id, conversation_id, seq, sender_id, client_msg_id, kind, body,"
             " created_at, version) SELECT 2000 + i, %llu, 200000 + i, %d, 'f' || i, 'text',"
             " 'filler', 1, 1 FROM n",
             MP_CHAT_SEARCH_SCAN, (unsigned long long)f->g, OTHER);
    search_res_t *r = find(f, MEMBER, "qz");
    assert_int_equal(r->rc, MP_OK);
    assert_int_equal(r->n, 0);
    assert_true(r->has_more);
    assert_true(r->next_before > 1000);
    uint64_t before = r->next_before;
    r = search(f, (mp_search_in_t){.user_id = MEMBER, .query = "qz", .before_id = before});
    assert_int_equal(r->n, 1);
    assert_true(r->ids[0] == 1000);
    assert_false(r->has_more);
}

/* Within one conversation the index itself keeps to it (conv_key): an old
 * match there is found at once although more than a whole scan budget of
 * newer matches sit in another conversation of the same user. */
static void test_conversation_scope_in_index(void **state)
{
    fx_t *f = *state;
    /* The rows below go in under the watermark, where the indexer never
     * looks again. */
    mpu_fts_catch_up(&f->s, f->peek);
    mp_sqlite__index_hold(f->s.st, true);
    exec_sql(f,
             "INSERT INTO messages(id, conversation_id, seq, sender_id, client_msg_id, kind, body,"
             " created_at, version) VALUES(1000, %llu, 100000, %d, 'old', 'text', 'a needle here', "
             "1, 1)",
             (unsigned long long)f->g, OTHER);
    exec_sql(f,
             "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
             " INSERT INTO messages(id, conversation_id, seq, sender_id, client_msg_id, kind, body,"
             " created_at, version) SELECT 2000 + i, %llu, 200000 + i, %d, 'f' || i, 'text',"
             " 'needle ' || i, 1, 1 FROM n",
             MP_CHAT_SEARCH_SCAN + 10, (unsigned long long)f->d, OTHER);
    /* Below the watermark: indexed by hand, as the indexer would have. The
     * key written out here as the code points it stands for, so that the
     * query's key (mp_sqlite__conv_key) is checked against them. */
    exec_sql(f, "INSERT INTO messages_fts(rowid, body, search_extra, conv_key)"
                " SELECT id, body, search_extra, " MPU_INDEX_KEY_SQL
                " FROM messages WHERE id < 1000000");
    search_res_t *r =
        search(f, (mp_search_in_t){.user_id = MEMBER, .query = "needle", .conversation_id = f->g});
    assert_int_equal(r->rc, MP_OK);
    assert_int_equal(r->n, 1);
    assert_true(r->ids[0] == 1000);
    assert_false(r->has_more);
    /* Across conversations the newest come first. */
    r = search(f, (mp_search_in_t){.user_id = MEMBER, .query = "needle", .limit = 5});
    assert_int_equal(r->n, 5);
    assert_true(r->ids[0] == 2000 + MP_CHAT_SEARCH_SCAN + 10);
    assert_true(r->has_more);
}

static void test_index_off_then_on(void **state)
{
    fx_t *f = *state;
    uint64_t a = say(f, OTHER, f->g, "kept in the index");
    mpu_fts_catch_up(&f->s, f->peek);
    assert_int_equal(mpu_fts_count(f->peek, "index"), 1);
    char err[256];
    assert_int_equal(mp_store_search_index(f->s.st, false, err, sizeof err), MP_OK);
    assert_int_equal(mpu_peek_int(f->peek, "SELECT complete FROM search.state"), 0);
    assert_int_equal(mpu_fts_count(f->peek, "index"), 0);
    /* An indexer pass that runs after that (one queued before) puts nothing
     * back into the index. */
    mp_sql_conn_t *db = mp_sqlite__conn_open(f->s.st, false);
    assert_non_null(db);
    assert_int_equal(mp_sqlite__search_attach(db, mp_sqlite__search_path(f->s.st)), MP_OK);
    mp_sqlite_index_pos_t pos = {.upto = 1, .full = true};
    assert_int_equal(mp_sqlite__fts_index_pass(db, 256, 1u << 20, &pos), MP_OK);
    mp_sql_close(db);
    assert_true(pos.upto == 0 && !pos.full);
    assert_int_equal(mpu_fts_count(f->peek, "index"), 0);
    uint64_t b = say(f, OTHER, f->g, "written while the index is off");
    assert_int_equal(mpu_fts_count(f->peek, "written"), 0);
    /* Search still answers, by scanning. */
    search_res_t *r = find(f, MEMBER, "index");
    assert_int_equal(r->n, 2);
    assert_true(r->ids[0] == b && r->ids[1] == a);

    /* On again: started over from the first message, in the background;
     * search answers meanwhile (the scan above the watermark). */
    assert_int_equal(mp_store_search_index(f->s.st, true, err, sizeof err), MP_OK);
    assert_int_equal(mpu_peek_int(f->peek, "SELECT complete FROM search.state"), 1);
    r = find(f, MEMBER, "index");
    assert_int_equal(r->n, 2);
    mpu_fts_catch_up(&f->s, f->peek);
    assert_int_equal(mpu_fts_count(f->peek, "index"), 2);
    assert_int_equal(mpu_fts_count(f->peek, "written"), 1);
    assert_int_equal(mpu_fts_count(f->peek, "quick group"), 0); /* system messages stay out */
    assert_true(mpu_fts_upto(f->peek) >= b);
    uint64_t c = say(f, OTHER, f->g, "after the rebuild, index again");
    r = find(f, MEMBER, "index");
    assert_int_equal(r->n, 3);
    assert_true(r->ids[0] == c);
    mpu_fts_catch_up(&f->s, f->peek);
    assert_int_equal(mpu_fts_count(f->peek, "index"), 3);
}

/* A message is found as soon as its send is acked, before the indexer has
 * reached it (the scan above the watermark), and after; the two parts page
 * as one list with one cursor. */
static void test_found_before_indexed(void **state)
{
    fx_t *f = *state;
    uint64_t ids[6];
    char t[32];
    for (int i = 0; i < 6; i++) {
        if (i == 3) {
            mpu_fts_catch_up(&f->s, f->peek);
            mp_sqlite__index_hold(f->s.st, true);
        }
        snprintf(t, sizeof t, "pelican number %d", i);
        ids[i] = say(f, i % 2 ? OTHER : MEMBER, f->g, t);
    }
    assert_true(mpu_fts_upto(f->peek) >= ids[2] && mpu_fts_upto(f->peek) < ids[3]);
    assert_int_equal(mpu_fts_count(f->peek, "pelican"), 3);

    for (int pass = 0; pass < 2; pass++) {
        search_res_t *r = find(f, MEMBER, "number 5");
        assert_int_equal(r->n, 1);
        assert_true(r->ids[0] == ids[5]);
        assert_string_equal(r->marked[0], "pelican \x02number 5\x03");
        /* Pages of 2, newest first; the second crosses the watermark. */
        uint64_t before = 0;
        int seen = 5;
        for (int page = 0; page < 3; page++) {
            r = search(f,
                       (mp_search_in_t){
                           .user_id = MEMBER, .query = "pelican", .before_id = before, .limit = 2});
            assert_int_equal(r->rc, MP_OK);
            assert_int_equal(r->n, 2);
            for (size_t i = 0; i < r->n; i++)
                assert_true(r->ids[i] == ids[seen--]);
            assert_int_equal(r->has_more, page < 2);
            before = r->next_before;
        }
        /* The same within one conversation. */
        r = search(
            f, (mp_search_in_t){
                   .user_id = MEMBER, .query = "pelican", .conversation_id = f->g, .limit = 50});
        assert_int_equal(r->n, 6);
        assert_true(r->ids[0] == ids[5] && r->ids[5] == ids[0]);
        r = search(f, (mp_search_in_t){.user_id = MEMBER,
                                       .query = "pelican",
                                       .conversation_id = f->g,
                                       .before_id = ids[4],
                                       .limit = 50});
        assert_int_equal(r->n, 4);
        assert_true(r->ids[0] == ids[3]);
        mpu_fts_catch_up(&f->s, f->peek); /* the second pass: all of it through the index */
        assert_int_equal(mpu_fts_count(f->peek, "pelican"), 6);
    }
}

/* The watermark passes messages the index must not hold: system messages
 * (a group's creation) and messages deleted for everyone. */
static void test_watermark_skips(void **state)
{
    fx_t *f = *state;
    mp_sqlite__index_hold(f->s.st, true);
    uint64_t gone = say(f, OTHER, f->d, "walrus gone");
    msg_res_t d = {0};
    mp_msg_actor_t other = {.user_id = OTHER};
    assert_int_equal(
        mp_store_msg_delete(f->s.st, &other, f->d, gone, true, 0, ++f->now, on_msg, &d), MP_OK);
    MPU_WAIT(&f->s.loop, &d.done, 1);
    assert_int_equal(d.rc, MP_OK);
    uint64_t users[] = {MEMBER};
    op_res_t r = {0};
    mp_group_op_in_t in = {.op = MP_GOP_CREATE,
                           .actor_id = OWNER,
                           .title = "walrus club",
                           .user_ids = users,
                           .n_users = 1,
                           .max_members = 100,
                           .now_ms = ++f->now};
    assert_int_equal(mp_store_group_op(f->s.st, &in, on_op, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    uint64_t sys = (uint64_t)mpu_peek_int(f->peek, "SELECT max(id) FROM messages");
    assert_true(sys > gone && mpu_fts_upto(f->peek) < gone);
    mpu_fts_catch_up(&f->s, f->peek);
    assert_true(mpu_fts_upto(f->peek) == sys);
    assert_int_equal(mpu_fts_count(f->peek, "walrus"), 0);
    assert_int_equal(find(f, MEMBER, "walrus")->n, 0);
}

/* Once the index has caught up, an idle store writes nothing: no batch of
 * the writer, no transaction in the index's file. */
static void test_idle_store_writes_nothing(void **state)
{
    fx_t *f = *state;
    say(f, OTHER, f->g, "one more");
    mpu_fts_catch_up(&f->s, f->peek);
    run_for(f, 50); /* the indexer's completion is delivered */
    uint64_t before = 0, after = 0;
    mp_store_stats(f->s.st, &before, NULL);
    int64_t v0 = mpu_peek_int(f->peek, "PRAGMA search.data_version");
    run_for(f, 350); /* a few timer periods */
    mp_store_stats(f->s.st, &after, NULL);
    assert_int_equal(after, before);
    assert_int_equal(mpu_peek_int(f->peek, "PRAGMA search.data_version"), v0);
}

/* Closing with an indexer pass queued: the indexer finishes it (the chunk is
 * committed), its completion queues nothing more, and every handle closes. */
static void test_close_while_indexing(void **state)
{
    fx_t *f = *state;
    mp_sqlite__index_hold(f->s.st, true);
    uint64_t last = 0;
    for (int i = 0; i < 5; i++)
        last = say(f, OTHER, f->g, "closing time");
    assert_true(mpu_fts_upto(f->peek) < last);
    assert_true(mp_sqlite__index_now(f->s.st));
    assert_false(mp_sqlite__index_now(f->s.st)); /* one at a time */
    mp_store_close(f->s.st);
    f->s.st = NULL;
    MPU_RUN_IDLE(&f->s.loop);
    assert_true(mpu_fts_upto(f->peek) == last);
    assert_int_equal(mpu_fts_count(f->peek, "closing"), 5);
}

/* A pass stops once it holds max_bytes of text, says it is full, and the
 * next pass goes on from there: long messages cannot make a pass hold more
 * than its bound (plus one message), and every message is indexed once. */
static void test_pass_bounded_by_bytes(void **state)
{
    fx_t *f = *state;
    mpu_fts_catch_up(&f->s, f->peek);
    mp_sqlite__index_hold(f->s.st, true);
    char text[3001];
    uint64_t ids[5];
    for (int i = 0; i < 5; i++) {
        memset(text, 'a' + i, sizeof text - 1);
        text[sizeof text - 1] = '\0';
        memcpy(text, "long one", 8);
        ids[i] = say(f, OTHER, f->g, text);
    }
    mp_sql_conn_t *db = mp_sqlite__conn_open(f->s.st, false);
    assert_non_null(db);
    assert_int_equal(mp_sqlite__search_attach(db, mp_sqlite__search_path(f->s.st)), MP_OK);
    /* 3,000 bytes each against a bound of 5,000: two per pass. */
    uint64_t want[] = {ids[1], ids[3], ids[4]};
    for (int i = 0; i < 3; i++) {
        mp_sqlite_index_pos_t pos = {0};
        assert_int_equal(mp_sqlite__fts_index_pass(db, 256, 5000, &pos), MP_OK);
        assert_true(pos.upto == want[i]);
        assert_true(mpu_fts_upto(f->peek) == want[i]);
        assert_int_equal(pos.full, i < 2);
    }
    /* One message above the bound is still indexed, alone. */
    char big[4001];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    uint64_t b = say(f, OTHER, f->g, big);
    mp_sqlite_index_pos_t pos = {0};
    assert_int_equal(mp_sqlite__fts_index_pass(db, 256, 3500, &pos), MP_OK);
    assert_true(pos.upto == b && pos.full);
    assert_int_equal(mp_sqlite__fts_index_pass(db, 256, 3500, &pos), MP_OK);
    assert_true(pos.upto == b && !pos.full);
    mp_sql_close(db);
    assert_int_equal(mpu_fts_count(f->peek, "long one"), 5);
    assert_int_equal(mpu_fts_count(f->peek, "zzzz"), 1);
    assert_int_equal(mpu_fts_count(f->peek, "eeee"), 1);
}

static void edit(fx_t *f, uint64_t user, uint64_t conv, uint64_t mid, const char *text)
{
    msg_res_t r = {0};
    mp_msg_actor_t a = {.user_id = user};
    assert_int_equal(mp_store_msg_edit(f->s.st, &a, conv, mid, text, strlen(text),
                                       48 * 3600 * 1000LL, ++f->now, on_msg, &r),
                     MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
}

/* Edits and deletes for everyone reach the index after they commit (the
 * indexer applies search_changes); until then search checks the changed
 * messages themselves, in their place: the new text is found at once, the
 * old one and the deleted message never. Applied changes are forgotten. */
static void test_changes_before_applied(void **state)
{
    fx_t *f = *state;
    uint64_t older = say(f, OTHER, f->g, "heron one");
    uint64_t e = say(f, OTHER, f->g, "heron draft");
    uint64_t gone = say(f, OTHER, f->g, "heron to delete");
    uint64_t newer = say(f, OTHER, f->g, "heron four");
    mpu_fts_catch_up(&f->s, f->peek);
    mp_sqlite__index_hold(f->s.st, true);
    edit(f, OTHER, f->g, e, "egret final");
    msg_res_t d = {0};
    mp_msg_actor_t other = {.user_id = OTHER};
    assert_int_equal(
        mp_store_msg_delete(f->s.st, &other, f->g, gone, true, 0, ++f->now, on_msg, &d), MP_OK);
    MPU_WAIT(&f->s.loop, &d.done, 1);
    assert_int_equal(d.rc, MP_OK);
    assert_int_equal(mpu_peek_int(f->peek, "SELECT count(*) FROM search_changes"), 2);
    assert_int_equal(mpu_fts_count(f->peek, "draft"), 1); /* not applied yet */

    for (int pass = 0; pass < 2; pass++) {
        search_res_t *r = find(f, MEMBER, "egret");
        assert_int_equal(r->n, 1);
        assert_true(r->ids[0] == e);
        assert_string_equal(r->marked[0], "\x02"
                                          "egret\x03 final");
        assert_int_equal(find(f, MEMBER, "draft")->n, 0);
        /* The index's hits and the changed message, newest first, paged
         * with one cursor. */
        r = search(f, (mp_search_in_t){.user_id = MEMBER, .query = "heron", .limit = 1});
        assert_int_equal(r->n, 1);
        assert_true(r->ids[0] == newer && r->has_more);
        r = search(
            f, (mp_search_in_t){
                   .user_id = MEMBER, .query = "heron", .before_id = r->next_before, .limit = 5});
        assert_int_equal(r->n, 1);
        assert_true(r->ids[0] == older);
        r = search(f, (mp_search_in_t){.user_id = MEMBER, .query = "e", .limit = 50});
        assert_false(has(r, gone));
        mpu_fts_catch_up(&f->s, f->peek); /* the second pass: the changes applied */
        assert_int_equal(mpu_fts_count(f->peek, "draft"), 0);
        assert_int_equal(mpu_fts_count(f->peek, "egret"), 1);
        assert_int_equal(mpu_fts_count(f->peek, "delete"), 0);
    }
    /* The writer forgets what the index has applied. */
    MPU_WAIT_UNTIL(&f->s.loop, no_changes_left, f);
}

/* The index has a file, a lock and a thread of its own: while another
 * connection holds search.db's write lock (as a long FTS5 merge does), sends
 * are stored and acked; the indexer catches up once it is free. */
static void test_index_lock_holds_up_no_send(void **state)
{
    fx_t *f = *state;
    mpu_fts_catch_up(&f->s, f->peek);
    char path[128];
    snprintf(path, sizeof path, "%s/search.db", f->s.dir);
    sqlite3 *lock = NULL;
    assert_int_equal(sqlite3_open(path, &lock), SQLITE_OK);
    assert_int_equal(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    uint64_t first = say(f, OTHER, f->g, "lynx one");
    assert_true(mp_sqlite__index_now(f->s.st)); /* the indexer now waits for the lock */
    uint64_t last = 0;
    for (int i = 0; i < 20; i++)
        last = say(f, OTHER, f->g, "lynx more");
    assert_true(mpu_fts_upto(f->peek) < first);
    /* Found meanwhile by the scan above the watermark. */
    assert_int_equal(
        search(f, (mp_search_in_t){.user_id = MEMBER, .query = "lynx", .limit = 50})->n, 21);
    assert_int_equal(sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(lock);
    mpu_fts_catch_up(&f->s, f->peek);
    assert_true(mpu_fts_upto(f->peek) >= last);
    assert_int_equal(mpu_fts_count(f->peek, "lynx"), 21);
}

/* A message with text, indexed; then the store closed (search.db stays
 * attached to the fixture's own connection). */
static void index_then_close(fx_t *f, const char *text)
{
    say(f, OTHER, f->g, text);
    mpu_fts_catch_up(&f->s, f->peek);
    assert_int_equal(mpu_fts_count(f->peek, text), 1);
    mp_store_close(f->s.st);
    f->s.st = NULL;
    MPU_RUN_IDLE(&f->s.loop);
}

/* After index_then_close(f, "puffin") and a stale entry 42 put in by hand,
 * the store reopened: the index was emptied, is filled again, and search
 * finds the message and never 42. */
static void rebuilt_without_42(fx_t *f)
{
    assert_int_equal(mpu_fts_count(f->peek, "puffin"), 0);
    mpu_fts_catch_up(&f->s, f->peek);
    assert_int_equal(mpu_fts_count(f->peek, "puffin"), 1);
    search_res_t *r = find(f, MEMBER, "puffin");
    assert_int_equal(r->n, 1);
    assert_false(has(r, 42));
}

/* A search.db that is not a database (damaged, overwritten) does not keep
 * the server from starting: it is removed and the index built again. */
static void test_damaged_index_file_rebuilt(void **state)
{
    fx_t *f = *state;
    index_then_close(f, "marmot");
    exec_sql(f, "DETACH search");
    char path[128];
    snprintf(path, sizeof path, "%s/search.db", f->s.dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 1000; i++)
        fputs("not a database at all ", fp);
    fclose(fp);
    char err[256];
    assert_int_equal(mp_store_open(f->s.dir, &f->s.loop, &f->s.st, err, sizeof err), MP_OK);
    exec_sql(f, "ATTACH '%s' AS search", path);
    assert_int_equal(mpu_fts_upto(f->peek), 0);
    mpu_fts_catch_up(&f->s, f->peek);
    assert_int_equal(mpu_fts_count(f->peek, "marmot"), 1);
    assert_int_equal(find(f, MEMBER, "marmot")->n, 1);
}

/* An entry already in the index for a message above the watermark (the
 * state and the index out of step, which their shared commits prevent)
 * is replaced: the indexer goes on rather than fail on it for good. */
static void test_entry_already_there_replaced(void **state)
{
    fx_t *f = *state;
    mpu_fts_catch_up(&f->s, f->peek);
    mp_sqlite__index_hold(f->s.st, true);
    uint64_t id = say(f, OTHER, f->g, "narwhal");
    uint64_t next = say(f, OTHER, f->g, "narwhal after");
    exec_sql(f, "INSERT INTO search.messages_fts(rowid, body, conv_key) VALUES(%llu, 'stale', '')",
             (unsigned long long)id);
    mpu_fts_catch_up(&f->s, f->peek);
    assert_true(mpu_fts_upto(f->peek) >= next);
    assert_int_equal(mpu_fts_count(f->peek, "narwhal"), 2);
    assert_int_equal(mpu_fts_count(f->peek, "stale"), 0);
    exec_sql(f, "INSERT INTO messages_fts(messages_fts, rank) VALUES('integrity-check', 0)");
}

/* Nobody waits for the indexer: it runs 10 nice values below the rest
 * (this thread stands for the loop), so that with every core busy the
 * sends go first. */
static void test_indexer_runs_in_the_background(void **state)
{
    fx_t *f = *state;
    int mine = getpriority(PRIO_PROCESS, 0);
    assert_int_equal(mpu_thread_nice("mp-indexer"), mine + 10 > 19 ? 19 : mine + 10);
    assert_int_equal(mpu_thread_nice("mp-writer"), mine);
    assert_int_equal(getpriority(PRIO_PROCESS, 0), mine);
    (void)f;
}

/* search.db records the database it was built from: opened next to another
 * copy (here: the stamp changed, as a restored or copied magpie.db has
 * another) it is started over and filled again, never trusted. */
static void test_rebuilt_for_another_database(void **state)
{
    fx_t *f = *state;
    index_then_close(f, "puffin");
    exec_sql(f, "UPDATE chat_state SET search_stamp = 'another'");
    /* The stale index holds a message the database does not have. */
    exec_sql(f, "INSERT INTO search.messages_fts(rowid, body, conv_key) VALUES(42, 'puffin', '')");
    assert_int_equal(mpu_fts_count(f->peek, "puffin"), 2);
    char err[256];
    assert_int_equal(mp_store_open(f->s.dir, &f->s.loop, &f->s.st, err, sizeof err), MP_OK);
    assert_int_equal(
        mpu_peek_int(f->peek, "SELECT stamp = 'another' AND upto = 0 FROM search.state"), 1);
    rebuilt_without_42(f);
}

/* The index keeps which messages hold a trigram, not where: a message that
 * holds every trigram of the query but not the query is a candidate, checked
 * against its text and left out; one that holds it is found (ASCII letters
 * in any case, as the scan finds them). */
static void test_trigrams_apart_not_found(void **state)
{
    fx_t *f = *state;
    uint64_t apart = say(f, OTHER, f->g, "abc then bcd");
    uint64_t whole = say(f, OTHER, f->g, "xAbCdx");
    mpu_fts_catch_up(&f->s, f->peek);
    assert_true(mpu_fts_upto(f->peek) >= whole);
    search_res_t *r = find(f, MEMBER, "abcd");
    assert_int_equal(r->n, 1);
    assert_true(has(r, whole));
    assert_false(has(r, apart));
}

/* The query the index is asked: each distinct trigram quoted on its own
 * (quotes doubled), ANDed; within a conversation its key first. */
static void test_fts_query_terms(void **state)
{
    (void)state;
    char *q = mp_sqlite__fts_query("ab\"c", 0);
    assert_string_equal(q, "\"ab\"\"\" AND \"b\"\"c\"");
    mp_free(q);
    q = mp_sqlite__fts_query("aaaaa", 0);
    assert_string_equal(q, "\"aaa\"");
    mp_free(q);
    q = mp_sqlite__fts_query("東京見面", 0);
    assert_string_equal(q, "\"東京見\" AND \"京見面\"");
    mp_free(q);
    char key[MP_SQLITE_CONV_KEY_LEN];
    mp_sqlite__conv_key(7, key);
    char want[128];
    snprintf(want, sizeof want, "\"%.12s\" AND \"abc\"", key);
    q = mp_sqlite__fts_query("abc", 7);
    assert_string_equal(q, want);
    mp_free(q);
}

/* A search.db of an older release, whose index kept positions, is emptied
 * and filled again at open, though its state says it belongs. */
static void test_older_format_rebuilt(void **state)
{
    fx_t *f = *state;
    index_then_close(f, "puffin");
    exec_sql(f, "DROP TABLE search.messages_fts");
    exec_sql(f, "CREATE VIRTUAL TABLE search.messages_fts USING"
                " fts5(body, search_extra, conv_key, tokenize='trigram')");
    exec_sql(f, "INSERT INTO search.messages_fts(rowid, body, conv_key) VALUES(42, 'puffin', '')");
    char err[256];
    assert_int_equal(mp_store_open(f->s.dir, &f->s.loop, &f->s.st, err, sizeof err), MP_OK);
    assert_int_equal(mpu_fts_upto(f->peek), 0);
    assert_int_equal(mpu_peek_int(f->peek, "SELECT count(*) FROM search.sqlite_master WHERE"
                                           " name = 'messages_fts' AND sql LIKE '%%detail=none%%'"),
                     1);
    rebuilt_without_42(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_words_and_cjk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_returned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filters_and_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conversation_scope_in_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_off_then_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_found_before_indexed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watermark_skips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_store_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_while_indexing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pass_bounded_by_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changes_before_applied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_lock_holds_up_no_send, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indexer_runs_in_the_background, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_index_file_rebuilt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_already_there_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuilt_for_another_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trigrams_apart_not_found, setup, teardown),
        cmocka_unit_test(test_fts_query_terms),
        cmocka_unit_test_setup_teardown(test_older_format_rebuilt, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
