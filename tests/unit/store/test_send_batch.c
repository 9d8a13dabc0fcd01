/* The send job's counters (sqlite_chat.c + mp_sql_defer in sqlite.c): many
 * sends in ONE group-commit batch, mixed with other jobs, with
 * a failing send, a duplicate, a job that aborts the transaction and a flush
 * that fails, must leave exactly what one statement per message would have
 * left: gap-free seq, distinct increasing versions, last_seq, the sender's
 * cursors and the global version; and a failing send, with or without a
 * savepoint of its own, nothing of itself. A gate job holds the writer so
 * that everything queued meanwhile lands in the same batch. */
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
#include "store/sqlite_job.h"
#include "util/id.h"

enum { ALICE = 1001, BOB = 1002, CAROL = 1003 };

typedef struct {
    mpu_store_t s;
    int64_t now;
    sqlite3 *peek; /* a separate connection to check what was committed */
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    if (mpu_store_open(&f->s) != 0)
        return -1;
    assert_int_equal(sqlite3_open(mpu_store_db_path(&f->s), &f->peek), SQLITE_OK);
    sqlite3_busy_timeout(f->peek, 5000);
    mpu_user_add(&f->s, ALICE, "alice", "Alice", false);
    mpu_user_add(&f->s, BOB, "bob", "Bob", false);
    mpu_user_add(&f->s, CAROL, "carol", "Carol", false);
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

static int64_t peek_int(fx_t *f, const char *sql)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->peek, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* ---- jobs --------------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t conv;
    int64_t seq, version;
    bool dup;
} send_res_t;

static void on_send(mp_err_t rc, const mp_chat_send_out_t *o, void *ud)
{
    send_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_OK) {
        r->conv = o->msg.conversation_id;
        r->seq = o->msg.seq;
        r->version = o->msg.version;
        r->dup = o->duplicate;
    }
}

static void queue_send(fx_t *f, uint64_t from, uint64_t conv, uint64_t to, const char *cmid,
                       send_res_t *r)
{
    mp_chat_send_in_t in = {.sender_id = from,
                            .conversation_id = conv,
                            .to_user_id = to,
                            .client_msg_id = cmid,
                            .text = "text",
                            .text_len = 4,
                            .now_ms = ++f->now};
    assert_int_equal(mp_store_chat_send(f->s.st, &in, on_send, r), MP_OK);
}

/* A job that ends the batch's transaction behind the writer's back. */
typedef struct {
    mp_sql_job_t base;
    int done;
    mp_err_t rc;
} abort_t;

static mp_err_t abort_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    (void)job;
    return mp_sql_exec(db, "ROLLBACK");
}

static void abort_done(mp_sql_job_t *job, mp_err_t rc)
{
    ((abort_t *)job)->done++;
    ((abort_t *)job)->rc = rc;
}

typedef struct {
    int done;
    mp_err_t rc;
    int64_t last_seq;
} cur_res_t;

static void on_cursor(mp_err_t rc, const mp_chat_cursor_out_t *o, void *ud)
{
    cur_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->last_seq = rc == MP_OK ? o->last_seq : -1;
}

/* A direct conversation ALICE-BOB with one message (seq 1). */
static uint64_t make_conv(fx_t *f)
{
    send_res_t r = {0};
    queue_send(f, ALICE, 0, BOB, "first", &r);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.seq, 1);
    return r.conv;
}

/* ---- tests ---------------------------------------------------------------------- */

#define N 40

static void test_one_batch_mixed(void **state)
{
    fx_t *f = *state;
    uint64_t conv = make_conv(f);
    mpu_gate_t g;
    mpu_gate_close(&f->s, &g);

    send_res_t r[N] = {{0}}, stranger = {0}, dup = {0}, viato = {0};
    cur_res_t cur = {0};
    char cmid[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(cmid[i], sizeof cmid[i], "m%d", i);
        queue_send(f, i % 3 ? ALICE : BOB, conv, 0, cmid[i], &r[i]);
        if (i == 10) /* not a member: fails inside the run, others go on */
            queue_send(f, CAROL, conv, 0, "intruder", &stranger);
        if (i == 20) /* another job type: the counters are written first */
            assert_int_equal(mp_store_chat_cursor(f->s.st, BOB, conv, MP_CHAT_CURSOR_DELIVERED, 5,
                                                  on_cursor, &cur),
                             MP_OK);
        if (i == 30) /* a retry of m3 within the same batch */
            queue_send(f, BOB, conv, 0, "m3", &dup);
        if (i == 35) /* `to` finds the same conversation */
            queue_send(f, BOB, 0, ALICE, "via-to", &viato);
    }
    mpu_gate_open(&f->s, &g);
    for (int i = 0; i < N; i++)
        MPU_WAIT(&f->s.loop, &r[i].done, 1);
    MPU_WAIT(&f->s.loop, &viato.done, 1);

    assert_int_equal(stranger.rc, MP_ERR_NOT_MEMBER);
    assert_int_equal(cur.rc, MP_OK);
    assert_int_equal(cur.last_seq, r[20].seq); /* it saw the sends queued before it */
    assert_int_equal(dup.rc, MP_OK);
    assert_true(dup.dup);
    assert_int_equal(dup.seq, r[3].seq);
    assert_int_equal(viato.rc, MP_OK);
    assert_true(viato.conv == conv);

    /* Gap-free seq in queue order, versions distinct and increasing. */
    int64_t seq = 1, version = 0, last_alice = 1, last_bob = viato.seq;
    for (int i = 0; i < N; i++) {
        assert_int_equal(r[i].rc, MP_OK);
        assert_false(r[i].dup);
        seq += 1 + (i == 36); /* via-to was queued after m35 */
        assert_int_equal(r[i].seq, seq);
        assert_true(r[i].version > version);
        version = r[i].version;
        if (i % 3)
            last_alice = seq;
        else if (seq > last_bob)
            last_bob = seq;
    }
    assert_int_equal(viato.seq, r[35].seq + 1);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM messages"), N + 2);
    assert_int_equal(peek_int(f, "SELECT count(DISTINCT version) FROM messages"), N + 2);

    /* What the per-message statements used to leave. */
    char q[256];
    snprintf(q, sizeof q, "SELECT last_seq FROM conversations WHERE id = %llu",
             (unsigned long long)conv);
    assert_int_equal(peek_int(f, q), seq);
    snprintf(q, sizeof q, "SELECT version FROM conversations WHERE id = %llu",
             (unsigned long long)conv);
    assert_int_equal(peek_int(f, q), r[N - 1].version);
    assert_int_equal(peek_int(f, "SELECT version FROM chat_state"), r[N - 1].version);
    snprintf(q, sizeof q,
             "SELECT read_seq FROM members WHERE conversation_id = %llu AND user_id = %d",
             (unsigned long long)conv, ALICE);
    assert_int_equal(peek_int(f, q), last_alice);
    snprintf(q, sizeof q,
             "SELECT read_seq FROM members WHERE conversation_id = %llu AND user_id = %d",
             (unsigned long long)conv, BOB);
    assert_int_equal(peek_int(f, q), last_bob);
    /* The cursor job's version sits between the messages' versions, unique. */
    snprintf(q, sizeof q,
             "SELECT count(*) FROM messages m JOIN members b ON b.version = m.version"
             " WHERE b.conversation_id = %llu",
             (unsigned long long)conv);
    assert_int_equal(peek_int(f, q), 2); /* each member row carries its last message's version */
}

static void test_aborted_batch_forgets(void **state)
{
    fx_t *f = *state;
    uint64_t conv = make_conv(f);
    mpu_gate_t g;
    mpu_gate_close(&f->s, &g);
    send_res_t a = {0}, b = {0}, c = {0};
    abort_t ab = {{0}, 0, MP_OK};
    ab.base.run = abort_run;
    ab.base.done = abort_done;
    queue_send(f, ALICE, conv, 0, "a", &a);
    queue_send(f, BOB, conv, 0, "b", &b);
    assert_int_equal(mp_sqlite__write(f->s.st, &ab.base), MP_OK);
    queue_send(f, ALICE, conv, 0, "c", &c);
    mpu_gate_open(&f->s, &g);
    MPU_WAIT(&f->s.loop, &c.done, 1);
    MPU_WAIT(&f->s.loop, &ab.done, 1);
    /* Nothing of the batch is durable, so nobody was acked. */
    assert_int_equal(a.rc, MP_ERR_INTERNAL);
    assert_int_equal(b.rc, MP_ERR_INTERNAL);
    assert_int_equal(c.rc, MP_ERR_INTERNAL);
    assert_int_equal(ab.rc, MP_ERR_INTERNAL);

    /* A send that ends the transaction itself (its trigger rolls back
     * everything): the counters of the sends before it are dropped unwritten. */
    assert_int_equal(sqlite3_exec(f->peek,
                                  "CREATE TRIGGER boom BEFORE INSERT ON messages"
                                  " WHEN NEW.client_msg_id = 'boom'"
                                  " BEGIN SELECT RAISE(ROLLBACK, 'boom'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    send_res_t d = {0}, boom = {0}, e = {0};
    mpu_gate_close(&f->s, &g);
    queue_send(f, ALICE, conv, 0, "a", &a);
    queue_send(f, BOB, conv, 0, "d", &d);
    queue_send(f, BOB, conv, 0, "boom", &boom);
    queue_send(f, ALICE, conv, 0, "e", &e);
    mpu_gate_open(&f->s, &g);
    MPU_WAIT(&f->s.loop, &e.done, 1);
    assert_int_equal(a.rc, MP_ERR_INTERNAL);
    assert_int_equal(d.rc, MP_ERR_INTERNAL);
    assert_int_equal(boom.rc, MP_ERR_INTERNAL);
    assert_int_equal(e.rc, MP_ERR_INTERNAL);
    assert_int_equal(sqlite3_exec(f->peek, "DROP TRIGGER boom", NULL, NULL, NULL), SQLITE_OK);

    /* The next send continues from what is stored, not from memory. */
    send_res_t again = {0};
    queue_send(f, ALICE, conv, 0, "a", &again);
    MPU_WAIT(&f->s.loop, &again.done, 1);
    assert_int_equal(again.rc, MP_OK);
    assert_false(again.dup);
    assert_int_equal(again.seq, 2);
    assert_int_equal(peek_int(f, "SELECT last_seq FROM conversations WHERE kind = 'direct'"), 2);
}

static void test_failed_flush_fails_batch(void **state)
{
    fx_t *f = *state;
    uint64_t conv = make_conv(f);
    /* Writing last_seq past 3 fails: the batch's final flush fails. */
    assert_int_equal(sqlite3_exec(f->peek,
                                  "CREATE TRIGGER cap BEFORE UPDATE OF last_seq ON conversations"
                                  " WHEN NEW.last_seq > 3 BEGIN SELECT RAISE(ABORT, 'cap'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    mpu_gate_t g;
    mpu_gate_close(&f->s, &g);
    send_res_t r[4] = {{0}};
    char cmid[4][8];
    for (int i = 0; i < 4; i++) {
        snprintf(cmid[i], sizeof cmid[i], "f%d", i);
        queue_send(f, ALICE, conv, 0, cmid[i], &r[i]);
    }
    mpu_gate_open(&f->s, &g);
    for (int i = 0; i < 4; i++) {
        MPU_WAIT(&f->s.loop, &r[i].done, 1);
        assert_int_equal(r[i].rc, MP_ERR_INTERNAL);
    }
    assert_int_equal(peek_int(f, "SELECT count(*) FROM messages"), 1);

    assert_int_equal(sqlite3_exec(f->peek, "DROP TRIGGER cap", NULL, NULL, NULL), SQLITE_OK);
    send_res_t ok = {0};
    queue_send(f, ALICE, conv, 0, "f0", &ok);
    MPU_WAIT(&f->s.loop, &ok.done, 1);
    assert_int_equal(ok.rc, MP_OK);
    assert_int_equal(ok.seq, 2);
    assert_false(ok.dup);
}

/* A plain send runs without a savepoint of its own (its INSERT is its one
 * change), a send with more to write opens one first. Either way a send that
 * fails leaves nothing of itself and the batch goes on: a failing INSERT is
 * undone by SQLite alone (with what its trigger wrote), a failing mention
 * mark or file reference takes its message row with it, and a failing first message takes
 * the direct conversation its send created. */
static void test_failing_sends_leave_nothing(void **state)
{
    fx_t *f = *state;
    uint64_t conv = make_conv(f);
    assert_int_equal(
        sqlite3_exec(f->peek,
                     "CREATE TABLE side(x);"
                     "CREATE TRIGGER bad BEFORE INSERT ON messages"
                     " WHEN NEW.client_msg_id LIKE 'bad%'"
                     " BEGIN INSERT INTO side VALUES(1); SELECT RAISE(ABORT, 'bad'); END;"
                     "CREATE TRIGGER badmark BEFORE INSERT ON mention_marks"
                     " BEGIN SELECT RAISE(ABORT, 'badmark'); END;"
                     "INSERT INTO blobs(id, sha256, skey, size, serve_size, mime, serve_mime,"
                     " class, created_at) VALUES(7, 'x', 'k', 3, 3, 'text/plain',"
                     " 'text/plain', 'file', 0);"
                     "INSERT INTO files(id, owner_id, blob_id, size, created_at)"
                     " VALUES(77, 1002, 7, 3, 0);"
                     "CREATE TRIGGER badref BEFORE INSERT ON file_refs"
                     " BEGIN SELECT RAISE(ABORT, 'badref'); END",
                     NULL, NULL, NULL),
        SQLITE_OK);
    int64_t convs = peek_int(f, "SELECT count(*) FROM conversations");
    mpu_gate_t g;
    mpu_gate_close(&f->s, &g);
    send_res_t a = {0}, bad = {0}, b = {0}, marked = {0}, c = {0}, fresh = {0}, d = {0},
               filed = {0};
    queue_send(f, ALICE, conv, 0, "a", &a);
    queue_send(f, BOB, conv, 0, "bad-plain", &bad);
    queue_send(f, BOB, conv, 0, "b", &b);
    uint64_t who = ALICE;
    mp_chat_send_in_t in = {.sender_id = BOB,
                            .conversation_id = conv,
                            .client_msg_id = "mentions",
                            .text = "hi @alice",
                            .text_len = 9,
                            .mentions = &who,
                            .n_mentions = 1,
                            .now_ms = ++f->now};
    assert_int_equal(mp_store_chat_send(f->s.st, &in, on_send, &marked), MP_OK);
    mp_chat_send_in_t fin = {.sender_id = BOB,
                             .conversation_id = conv,
                             .client_msg_id = "filed",
                             .kind = "file",
                             .content = "{\"file_id\":\"77\"}",
                             .now_ms = ++f->now};
    assert_int_equal(mp_store_chat_send(f->s.st, &fin, on_send, &filed), MP_OK);
    queue_send(f, ALICE, conv, 0, "c", &c);
    queue_send(f, CAROL, 0, ALICE, "bad-fresh", &fresh); /* would create CAROL-ALICE */
    queue_send(f, BOB, conv, 0, "d", &d);
    mpu_gate_open(&f->s, &g);
    MPU_WAIT(&f->s.loop, &d.done, 1);

    assert_int_not_equal(bad.rc, MP_OK);
    assert_int_not_equal(marked.rc, MP_OK);
    assert_int_not_equal(filed.rc, MP_OK);
    assert_int_not_equal(fresh.rc, MP_OK);
    assert_int_equal(a.rc, MP_OK);
    assert_int_equal(b.rc, MP_OK);
    assert_int_equal(c.rc, MP_OK);
    assert_int_equal(d.rc, MP_OK);
    assert_int_equal(a.seq, 2);
    assert_int_equal(b.seq, 3);
    assert_int_equal(c.seq, 4);
    assert_int_equal(d.seq, 5);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM messages"), 5);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM side"), 0);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM mention_marks"), 0);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM file_refs"), 0);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM conversations"), convs);
    assert_int_equal(peek_int(f, "SELECT max(last_seq) FROM conversations"), 5);
}

/* Sends of one batch after another, with nothing else written between
 * them, go on with the counters and rules the writer read for the first
 * (SQLite's one writer, see sqlite_job.h): every COMMIT still writes
 * last_seq and the cursors. Another job type ends the run, and so does a
 * commit by another connection; the next send then reads them again. */
static void test_counters_kept_across_batches(void **state)
{
    fx_t *f = *state;
    uint64_t conv = make_conv(f);
    char q[160];
    snprintf(q, sizeof q,
             "SELECT read_seq FROM members WHERE conversation_id = %llu AND user_id = %d",
             (unsigned long long)conv, BOB);
    int64_t version = 0, seq = 1;
    uint64_t loads = 0;
    for (int i = 0; i < 4; i++) { /* a batch or two each time */
        send_res_t a = {0}, b = {0};
        char ca[8], cb[8];
        snprintf(ca, sizeof ca, "a%d", i);
        snprintf(cb, sizeof cb, "b%d", i);
        queue_send(f, ALICE, conv, 0, ca, &a);
        queue_send(f, BOB, conv, 0, cb, &b);
        MPU_WAIT(&f->s.loop, &b.done, 1);
        MPU_WAIT(&f->s.loop, &a.done, 1);
        assert_int_equal(a.rc, MP_OK);
        assert_int_equal(b.rc, MP_OK);
        assert_int_equal(a.seq, ++seq);
        assert_int_equal(b.seq, ++seq);
        assert_true(a.version > version && b.version > a.version);
        version = b.version;
        /* Committed with the batch, not only kept in memory. */
        assert_int_equal(peek_int(f, "SELECT last_seq FROM conversations"), b.seq);
        assert_int_equal(peek_int(f, "SELECT version FROM chat_state WHERE id = 1"), b.version);
        assert_int_equal(peek_int(f, q), b.seq);
        if (i == 1) /* Bob's rules were read in the first round: nothing since */
            loads = mp_sqlite__send_loads();
        else if (i > 1)
            assert_int_equal(mp_sqlite__send_loads(), loads);
    }

    /* Another job type ends the run: the next send reads again. */
    cur_res_t cur = {0};
    assert_int_equal(
        mp_store_chat_cursor(f->s.st, BOB, conv, MP_CHAT_CURSOR_DELIVERED, 3, on_cursor, &cur),
        MP_OK);
    MPU_WAIT(&f->s.loop, &cur.done, 1);
    assert_int_equal(cur.rc, MP_OK);
    send_res_t r = {0};
    queue_send(f, ALICE, conv, 0, "after-cursor", &r);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.seq, ++seq);
    assert_true(mp_sqlite__send_loads() > loads);

    /* A commit by another connection: the writer reads what it wrote. */
    assert_int_equal(
        sqlite3_exec(f->peek, "UPDATE conversations SET last_seq = 100", NULL, NULL, NULL),
        SQLITE_OK);
    memset(&r, 0, sizeof r);
    queue_send(f, ALICE, conv, 0, "after-shell", &r);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.seq, 101);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_batch_mixed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aborted_batch_forgets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_flush_fails_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_sends_leave_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters_kept_across_batches, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
