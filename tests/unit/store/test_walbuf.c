/* Unit tests of the WAL-batching VFS (store/sqlite_walbuf.c) on real SQLite
 * files: a commit's frames reach the kernel in a few writes, other
 * connections (on the default VFS, as the store's readers are) see every
 * commit as soon as it returns, even without a sync, and transactions that
 * spill, rewrite frames, roll back or checkpoint leave a database that
 * reads back whole. That a commit survives kill -9 is the e2e tests' part
 * (the server's writer uses this VFS). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fixture.h"
#include "store/sqlite_walbuf.h"

#define ROW_BYTES 3500

typedef struct fx {
    mpu_store_t s; /* for its data dir; the store itself is not used */
    char path[128];
    sqlite3 *db;     /* through the VFS */
    sqlite3 *reader; /* the default VFS */
    long rows;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    if (mpu_store_open(&f->s) != 0)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/walbuf.db", f->s.dir);
    const char *vfs = mp_sqlite__walbuf_vfs();
    if (vfs == NULL || strcmp(vfs, "magpie-walbuf") != 0)
        return -1;
    if (sqlite3_open_v2(f->path, &f->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs) !=
        SQLITE_OK)
        return -1;
    mpu_exec(f->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                    " CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB NOT NULL)");
    if (sqlite3_open_v2(f->path, &f->reader, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    sqlite3_close(f->reader);
    sqlite3_close(f->db);
    mpu_store_close(&f->s);
    free(f);
    return 0;
}

/* n rows of about a page each, in one transaction of the VFS's connection. */
static void insert_rows(fx_t *f, int n)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(f->db, "INSERT INTO t(b) VALUES(randomblob(?1))", -1, &s, NULL),
        SQLITE_OK);
    for (int i = 0; i < n; i++) {
        sqlite3_bind_int(s, 1, ROW_BYTES);
        assert_int_equal(sqlite3_step(s), SQLITE_DONE);
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
}

static void commit_rows(fx_t *f, int n)
{
    mpu_exec(f->db, "BEGIN");
    insert_rows(f, n);
    mpu_exec(f->db, "COMMIT");
    f->rows += n;
}

/* The whole file, read by a fresh connection on the default VFS. */
static void assert_whole(fx_t *f)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "ok");
    sqlite3_finalize(s);
    assert_int_equal(mpu_peek_int(db, "SELECT count(*) FROM t"), f->rows);
    sqlite3_close(db);
}

/* A commit of 20 pages is 40 appends (header and page per frame) and at
 * most three writes: the WAL header (written and synced on its own when
 * the WAL starts), the frames, and one more if they cross the buffer's
 * size. Without the VFS it would be 41 writes. */
static void test_commit_is_few_writes(void **state)
{
    fx_t *f = *state;
    commit_rows(f, 1); /* the WAL exists and has its header */
    mp_sqlite_walbuf_stats_t a, b;
    mp_sqlite__walbuf_stats(&a);
    commit_rows(f, 20);
    mp_sqlite__walbuf_stats(&b);
    assert_true(b.appends - a.appends >= 40);
    if (b.writes - a.writes > 3)
        fail_msg("%llu writes for one commit of 20 pages",
                 (unsigned long long)(b.writes - a.writes));
    assert_whole(f);
}

/* synchronous=NORMAL: nothing syncs the WAL at a commit, so only the
 * barrier before the WAL-index header writes the frames out. A reader that
 * saw the new header without the frames would read zeros (a malformed page
 * or a wrong count). */
static void test_readers_see_every_commit(void **state)
{
    fx_t *f = *state;
    mpu_exec(f->db, "PRAGMA synchronous=NORMAL");
    for (int i = 0; i < 50; i++) {
        commit_rows(f, 1 + i % 7);
        assert_int_equal(mpu_peek_int(f->reader, "SELECT count(*) FROM t"), f->rows);
        assert_int_equal(mpu_peek_int(f->reader, "SELECT sum(length(b)) FROM t"),
                         f->rows * ROW_BYTES);
    }
    assert_whole(f);
}

/* A page cache of 10 pages: a transaction of 400 rows spills frames to the
 * WAL before its commit, writes some pages again (SQLite rewrites their
 * frames in place, behind the buffer's end) and reads spilled pages back;
 * a rolled-back one leaves frames that the next transaction writes over. */
static void test_spill_rewrite_rollback(void **state)
{
    fx_t *f = *state;
    mpu_exec(f->db, "PRAGMA cache_size=10");
    commit_rows(f, 400);
    /* 20 pages spilled and still in the buffer, read back at once. */
    mpu_exec(f->db, "BEGIN");
    insert_rows(f, 20);
    assert_int_equal(mpu_peek_int(f->db, "SELECT sum(length(b)) FROM t"),
                     (f->rows + 20) * ROW_BYTES);
    mpu_exec(f->db, "COMMIT");
    f->rows += 20;
    /* The update writes pages of this transaction's own spilled rows. */
    mpu_exec(f->db, "BEGIN");
    insert_rows(f, 300);
    mpu_exec(f->db, "UPDATE t SET b = randomblob(3400) WHERE id > 420 AND id % 3 = 0");
    mpu_exec(f->db, "COMMIT");
    f->rows += 300;
    assert_int_equal(mpu_peek_int(f->reader, "SELECT count(*) FROM t WHERE length(b) = 3400"), 100);
    mpu_exec(f->db, "BEGIN");
    insert_rows(f, 300);
    mpu_exec(f->db, "UPDATE t SET b = randomblob(100) WHERE id % 3 = 0");
    mpu_exec(f->db, "ROLLBACK");
    commit_rows(f, 50);
    mpu_exec(f->db, "BEGIN; UPDATE t SET b = randomblob(3500) WHERE id % 2 = 0; COMMIT");
    assert_int_equal(mpu_peek_int(f->reader, "SELECT count(*) FROM t WHERE length(b) = 3400"), 50);
    assert_int_equal(mpu_peek_int(f->reader, "SELECT count(*) FROM t"), f->rows);
    assert_whole(f);
}

/* A checkpoint that truncates the WAL, by the VFS's connection, then more
 * commits into the WAL started over. */
static void test_checkpoint_and_restart(void **state)
{
    fx_t *f = *state;
    commit_rows(f, 40);
    mpu_exec(f->db, "PRAGMA wal_checkpoint(TRUNCATE)");
    commit_rows(f, 40);
    assert_int_equal(mpu_peek_int(f->reader, "SELECT count(*) FROM t"), f->rows);
    mpu_exec(f->db, "PRAGMA wal_checkpoint(TRUNCATE)");
    commit_rows(f, 3);
    assert_int_equal(sqlite3_close(f->db), SQLITE_OK);
    f->db = NULL;
    assert_whole(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_is_few_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readers_see_every_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spill_rewrite_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_and_restart, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
