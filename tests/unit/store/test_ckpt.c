/* Unit tests of the WAL checkpointer thread (store/sqlite_ckpt.c) on a real
 * SQLite file in WAL mode: its thread copies frames into the database file
 * while the writer goes on committing, the WAL starts over instead of
 * growing without bound under continuous writes, and nothing committed is
 * lost across stop and close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fixture.h"
#include "store/sqlite_ckpt.h"

/* Rows of about a page each: every commit below adds ROWS_PER_TXN frames or
 * a few more (the table's interior pages). */
#define ROW_BYTES 3500
#define ROWS_PER_TXN 16

typedef struct fx {
    mpu_store_t s; /* for its data dir and loop; the store itself is not used */
    char path[128];
    sqlite3 *db;
    long rows;
} fx_t;

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    if (mpu_store_open(&f->s) != 0)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/ckpt.db", f->s.dir);
    if (sqlite3_open(f->path, &f->db) != SQLITE_OK)
        return -1;
    /* synchronous=OFF: the test is about who copies frames, not fsync. */
    mpu_exec(f->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
                    " CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB NOT NULL)");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    sqlite3_close(f->db);
    mpu_store_close(&f->s);
    free(f);
    return 0;
}

/* One transaction of ROWS_PER_TXN rows. */
static void commit_rows(fx_t *f)
{
    mpu_exec(f->db, "BEGIN");
    sqlite3_stmt *s = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(f->db, "INSERT INTO t(b) VALUES(randomblob(?1))", -1, &s, NULL),
        SQLITE_OK);
    for (int i = 0; i < ROWS_PER_TXN; i++) {
        sqlite3_bind_int(s, 1, ROW_BYTES);
        assert_int_equal(sqlite3_step(s), SQLITE_DONE);
        sqlite3_reset(s);
        f->rows++;
    }
    sqlite3_finalize(s);
    mpu_exec(f->db, "COMMIT");
}

static long count_rows(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    long n = (long)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

typedef struct grows {
    const char *path;
    long above;
} grows_t;

static bool db_file_grew(void *ud)
{
    grows_t *g = ud;
    return file_size(g->path) > g->above;
}

/* Past MP_SQLITE_CKPT_PAGES frames, the thread copies them into the
 * database file while the writer (this test) does nothing more. */
static void test_thread_copies(void **state)
{
    fx_t *f = *state;
    char err[256] = "";
    mp_sqlite_ckpt_t *c = mp_sqlite__ckpt_start(f->path, f->db, err, sizeof err);
    if (c == NULL)
        fail_msg("start: %s", err);
    long before = file_size(f->path);
    /* Below the thread's threshold nothing is copied: SQLite's own
     * checkpoint (at 1,000 frames, in the commit) is off. */
    while (f->rows < MP_SQLITE_CKPT_PAGES / 2)
        commit_rows(f);
    assert_int_equal(file_size(f->path), before);
    while (f->rows < MP_SQLITE_CKPT_PAGES + ROWS_PER_TXN)
        commit_rows(f);
    /* The writer's own copy starts only at the reset size. */
    assert_true(MP_SQLITE_CKPT_PAGES + 2 * ROWS_PER_TXN < MP_SQLITE_CKPT_RESET);
    grows_t g = {f->path, before + (long)MP_SQLITE_CKPT_PAGES * ROW_BYTES};
    mpu_wait_until(&f->s.loop, db_file_grew, &g, MPU_TIMEOUT, "the database file holds the rows");
    mp_sqlite__ckpt_stop(c);
    assert_int_equal(count_rows(f->path), f->rows);
}

/* Continuous commits: the WAL starts over rather than grow, whatever the
 * thread manages meanwhile; every row is there after stop and close, and
 * the close removes the WAL (everything was copied). */
static void test_wal_bounded(void **state)
{
    fx_t *f = *state;
    char err[256] = "";
    mp_sqlite_ckpt_t *c = mp_sqlite__ckpt_start(f->path, f->db, err, sizeof err);
    if (c == NULL)
        fail_msg("start: %s", err);
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    /* A frame is a page plus its 24-byte header. The writer copies the
     * rest at the reset size when the thread is not copying, and waits for
     * it at twice that; one transaction may pass either before the hook
     * sees it. Writing three times the bound proves the WAL started over. */
    long bound = 32 + (long)(2 * MP_SQLITE_CKPT_RESET + 4 * ROWS_PER_TXN) * (4096 + 24);
    long peak = 0;
    while (f->rows < 6L * MP_SQLITE_CKPT_RESET) {
        commit_rows(f);
        long w = file_size(wal);
        if (w > peak)
            peak = w;
    }
    assert_true(peak > 0);
    if (peak > bound)
        fail_msg("the WAL grew to %ld bytes (bound %ld)", peak, bound);
    mp_sqlite__ckpt_stop(c);
    assert_int_equal(count_rows(f->path), f->rows);
    assert_int_equal(sqlite3_close(f->db), SQLITE_OK);
    f->db = NULL;
    assert_int_equal(file_size(wal), -1);
    assert_int_equal(count_rows(f->path), f->rows);
}

/* A start and a stop with nothing written in between, and a stop of NULL. */
static void test_idle_stop(void **state)
{
    fx_t *f = *state;
    char err[256] = "";
    mp_sqlite_ckpt_t *c = mp_sqlite__ckpt_start(f->path, f->db, err, sizeof err);
    assert_non_null(c);
    mp_sqlite__ckpt_stop(c);
    mp_sqlite__ckpt_stop(NULL);
    commit_rows(f);
    assert_int_equal(count_rows(f->path), ROWS_PER_TXN);
}

/* A path that does not exist: an error that names it, no thread. */
static void test_start_fails(void **state)
{
    fx_t *f = *state;
    char err[256] = "", bad[200];
    snprintf(bad, sizeof bad, "%s/missing/x.db", f->s.dir);
    assert_null(mp_sqlite__ckpt_start(bad, f->db, err, sizeof err));
    assert_non_null(strstr(err, "missing/x.db"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_thread_copies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_fails, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
