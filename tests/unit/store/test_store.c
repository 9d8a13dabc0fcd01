/* Unit tests of the SQLite store: migrations, user/device ops, refresh-token
 * rotation, group commit, reader pool, backpressure and durability. Each test
 * gets its own temporary directory and loop, and drives the loop until the
 * callbacks it waits for have arrived. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fixture.h"
#include "store/admin.h"
#include "store/sqlite_job.h"
#include "store/store.h"

typedef struct fx {
    mpu_store_t s;
    int pending; /* callbacks still expected */
} fx_t;

static void fx_open(fx_t *f)
{
    char err[256] = "";
    mp_err_t rc = mp_store_open(f->s.dir, &f->s.loop, &f->s.st, err, sizeof err);
    if (rc != MP_OK)
        fail_msg("open: %s", err);
}

/* Closes the store and runs the loop until every handle is closed, which is
 * also when the store delivers its last completions and frees itself. */
static void fx_close(fx_t *f)
{
    mp_store_close(f->s.st);
    f->s.st = NULL;
    MPU_RUN_IDLE(&f->s.loop);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    if (mpu_store_open(&f->s) != 0)
        return -1;
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

/* ---- callbacks recording their results ----------------------------------------- */

typedef struct res {
    fx_t *f;
    int calls;
    mp_err_t rc;
    bool have_row;
    mp_user_row_t user;
    mp_device_row_t dev;
    mp_device_row_t devs[8];
    size_t ndevs;
} res_t;

static void on_done(mp_err_t rc, void *ud)
{
    res_t *r = ud;
    r->calls++;
    r->rc = rc;
    r->f->pending--;
}

static void on_user(mp_err_t rc, const mp_user_row_t *u, void *ud)
{
    res_t *r = ud;
    r->calls++;
    r->rc = rc;
    r->have_row = u != NULL;
    if (u)
        r->user = *u;
    r->f->pending--;
}

static void on_device(mp_err_t rc, const mp_device_row_t *d, void *ud)
{
    res_t *r = ud;
    r->calls++;
    r->rc = rc;
    r->have_row = d != NULL;
    if (d)
        r->dev = *d;
    r->f->pending--;
}

static void on_devices(mp_err_t rc, const mp_device_row_t *d, size_t n, void *ud)
{
    res_t *r = ud;
    r->calls++;
    r->rc = rc;
    r->ndevs = n;
    for (size_t i = 0; i < n && i < 8; i++)
        r->devs[i] = d[i];
    r->f->pending--;
}

/* ---- synchronous wrappers ---------------------------------------------------- */

static mp_err_t user_create(fx_t *f, uint64_t id, const char *name)
{
    mp_user_row_t u = {.id = id, .created_at = 1000 + (int64_t)id};
    snprintf(u.username, sizeof u.username, "%s", name);
    snprintf(u.display_name, sizeof u.display_name, "The %s", name);
    snprintf(u.password_hash, sizeof u.password_hash, "$argon2id$fake");
    res_t r = {.f = f};
    f->pending++;
    assert_int_equal(mp_store_user_create(f->s.st, &u, on_done, &r), MP_OK);
    MPU_WAIT_ZERO(&f->s.loop, &f->pending);
    assert_int_equal(r.calls, 1);
    return r.rc;
}

static res_t user_by_name(fx_t *f, const char *name)
{
    res_t r = {.f = f};
    f->pending++;
    assert_int_equal(mp_store_user_by_name(f->s.st, name, on_user, &r), MP_OK);
    MPU_WAIT_ZERO(&f->s.loop, &f->pending);
    assert_int_equal(r.calls, 1);
    return r;
}

static void hash_of(uint8_t h[MP_TOKEN_HASH_LEN], int n)
{
    memset(h, 0, MP_TOKEN_HASH_LEN);
    h[0] = 0xAB;
    h[1] = (uint8_t)n;
}

static mp_err_t device_create(fx_t *f, uint64_t id, uint64_t user_id, int64_t at, int token)
{
    mp_device_row_t d = {.id = id, .user_id = user_id, .created_at = at};
    snprintf(d.name, sizeof d.name, "device %llu", (unsigned long long)id);
    uint8_t h[MP_TOKEN_HASH_LEN];
    hash_of(h, token);
    res_t r = {.f = f};
    f->pending++;
    assert_int_equal(mp_store_device_create(f->s.st, &d, h, on_done, &r), MP_OK);
    MPU_WAIT_ZERO(&f->s.loop, &f->pending);
    return r.rc;
}

static res_t device_list(fx_t *f, uint64_t user_id)
{
    res_t r = {.f = f};
    f->pending++;
    assert_int_equal(mp_store_device_list(f->s.st, user_id, on_devices, &r), MP_OK);
    MPU_WAIT_ZERO(&f->s.loop, &f->pending);
    return r;
}

static mp_err_t device_revoke(fx_t *f, uint64_t user_id, uint64_t device_id, int64_t now)
{
    res_t r = {.f = f};
    f->pending++;
    assert_int_equal(mp_store_device_revoke(f->s.st, user_id, device_id, now, on_done, &r), MP_OK);
    MPU_WAIT_ZERO(&f->s.loop, &f->pending);
    return r.rc;
}

static res_t rotate(fx_t *f, int old_token, int new_token, int64_t now)
{
    uint8_t o[MP_TOKEN_HASH_LEN], n[MP_TOKEN_HASH_LEN];
    hash_of(o, old_token);
    hash_of(n, new_token);
    res_t r = {.f = f};
    f->pending++;
    assert_int_equal(mp_store_refresh_rotate(f->s.st, o, n, now, on_device, &r), MP_OK);
    MPU_WAIT_ZERO(&f->s.loop, &f->pending);
    return r;
}

/* ---- a job that holds the writer (or a reader) until released -------------- */

typedef struct blocker {
    mp_sql_job_t job;
    uv_sem_t started, release;
    fx_t *f;
    int done_calls;
    mp_err_t done_rc;
} blocker_t;

static mp_err_t blocker_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    (void)db;
    blocker_t *b = (blocker_t *)job;
    uv_sem_post(&b->started);
    uv_sem_wait(&b->release);
    return MP_OK;
}

static void blocker_done(mp_sql_job_t *job, mp_err_t rc)
{
    blocker_t *b = (blocker_t *)job; /* owned by the test: not freed here */
    b->done_calls++;
    b->done_rc = rc;
    b->f->pending--;
}

/* Queues the blocker and returns once the writer is inside it. */
static void block_writer(fx_t *f, blocker_t *b)
{
    memset(b, 0, sizeof *b);
    b->job.run = blocker_run;
    b->job.done = blocker_done;
    b->f = f;
    assert_int_equal(uv_sem_init(&b->started, 0), 0);
    assert_int_equal(uv_sem_init(&b->release, 0), 0);
    f->pending++;
    assert_int_equal(mp_sqlite__write(f->s.st, &b->job), MP_OK);
    uv_sem_wait(&b->started);
}

static void unblock(blocker_t *b)
{
    uv_sem_post(&b->release);
}

static void blocker_destroy(blocker_t *b)
{
    uv_sem_destroy(&b->started);
    uv_sem_destroy(&b->release);
}

/* ---- tests ---------------------------------------------------------------------- */

static int pragma_int(const char *dir, const char *pragma)
{
    char path[128];
    snprintf(path, sizeof path, "%s/magpie.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, pragma, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* Closes the store and opens its database read-only, to look at the
 * schema the migrations left. */
static sqlite3 *schema_of(fx_t *f)
{
    fx_close(f);
    char path[128];
    snprintf(path, sizeof path, "%s/magpie.db", f->s.dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    return db;
}

/* The query plan of sql (one line), in out. */
static void plan_of(sqlite3 *db, const char *sql, char *out, size_t n)
{
    char q[512];
    snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    snprintf(out, n, "%s", (const char *)sqlite3_column_text(s, 3));
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
}

/* The dedup index is keyed by client_msg_id first (migration 9): ids that
 * grow with time then land at its end instead of one place per sender, and
 * the send's probe, which gives all three columns, is still one seek in it. */
static void test_dedup_index_order(void **state)
{
    sqlite3 *db = schema_of(*state);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT name FROM pragma_index_info('messages_dedup')"
                                        " ORDER BY seqno",
                                        -1, &s, NULL),
                     SQLITE_OK);
    const char *want[] = {"client_msg_id", "sender_id", "sender_device"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(s, 0), want[i]);
    }
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    char plan[256];
    plan_of(db,
            "SELECT id FROM messages WHERE sender_id = 1 AND sender_device = 2"
            " AND client_msg_id = 'x'",
            plan, sizeof plan);
    assert_non_null(
        strstr(plan, "INDEX messages_dedup (client_msg_id=? AND sender_id=? AND sender_device=?)"));
    sqlite3_close(db);
}

/* Sync's reads of messages (migration 10, sqlite_chat.c): storing a message
 * writes no index keyed by version, changed messages are read from the
 * partial index messages_changed in version order, and new ones by seq,
 * with no sort in either. */
static void test_sync_indexes(void **state)
{
    sqlite3 *db = schema_of(*state);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                                        " AND tbl_name = 'messages' AND sql LIKE '%version%'",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "messages_changed");
    assert_non_null(
        strstr((const char *)sqlite3_column_text(s, 1), "WHERE version > created_version"));
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);

    char plan[256];
    plan_of(db,
            "SELECT id FROM messages WHERE conversation_id = 1 AND version > 5"
            " AND version > created_version AND seq > 0 ORDER BY version LIMIT 9",
            plan, sizeof plan);
    assert_string_equal(
        plan, "SEARCH messages USING INDEX messages_changed (conversation_id=? AND version>?)");
    plan_of(db,
            "SELECT id FROM messages WHERE conversation_id = 1 AND seq >= 3"
            " AND version = created_version ORDER BY seq LIMIT 9",
            plan, sizeof plan);
    assert_string_equal(
        plan,
        "SEARCH messages USING INDEX sqlite_autoindex_messages_1 (conversation_id=? AND seq>?)");
    sqlite3_close(db);
}

static void test_open_migrate_reopen(void **state)
{
    fx_t *f = *state;
    assert_true(mp_store_ready(f->s.st));
    assert_true(mp_store_schema_version() >= 2);
    assert_int_equal(user_create(f, 1, "alice"), MP_OK);
    fx_close(f);
    assert_int_equal(pragma_int(f->s.dir, "PRAGMA user_version"), mp_store_schema_version());

    char path[128];
    snprintf(path, sizeof path, "%s/magpie.db", f->s.dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(db);

    fx_open(f); /* reopen: no migration to apply, data still there */
    res_t r = user_by_name(f, "alice");
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.user.id, 1);
}

static void test_open_creates_nested_dir(void **state)
{
    fx_t *f = *state;
    fx_close(f); /* so that running the loop to completion below ends */
    char sub[128], err[256];
    snprintf(sub, sizeof sub, "%s/a/b", f->s.dir);
    mp_store_t *st = NULL;
    assert_int_equal(mp_store_open(sub, &f->s.loop, &st, err, sizeof err), MP_OK);
    assert_true(mp_store_ready(st));
    mp_store_close(st);
    MPU_RUN_IDLE(&f->s.loop);
}

static void test_newer_schema_refused(void **state)
{
    fx_t *f = *state;
    fx_close(f);
    char path[128], sql[64];
    snprintf(path, sizeof path, "%s/magpie.db", f->s.dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", mp_store_schema_version() + 5);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    char err[256] = "";
    mp_store_t *st = NULL;
    assert_int_not_equal(mp_store_open(f->s.dir, &f->s.loop, &st, err, sizeof err), MP_OK);
    assert_null(st);
    char want[160];
    snprintf(want, sizeof want,
             "database schema version %d is newer than this magpie (%d); upgrade magpie",
             mp_store_schema_version() + 5, mp_store_schema_version());
    assert_string_equal(err, want);
}

static void test_users(void **state)
{
    fx_t *f = *state;
    assert_int_equal(user_create(f, 10, "Alice"), MP_OK);
    assert_int_equal(user_create(f, 11, "alice"), MP_ERR_USERNAME_TAKEN);
    assert_int_equal(user_create(f, 12, "ALICE"), MP_ERR_USERNAME_TAKEN);
    assert_int_equal(user_create(f, 13, "bob"), MP_OK);

    res_t r = user_by_name(f, "aLiCe");
    assert_int_equal(r.rc, MP_OK);
    assert_true(r.have_row);
    assert_int_equal(r.user.id, 10);
    assert_string_equal(r.user.username, "alice");
    assert_string_equal(r.user.display_name, "The Alice");
    assert_string_equal(r.user.password_hash, "$argon2id$fake");
    assert_int_equal(r.user.created_at, 1010);
    assert_false(r.user.guest);

    r = (res_t){.f = f};
    f->pending++;
    assert_int_equal(mp_store_user_by_id(f->s.st, 13, on_user, &r), MP_OK);
    MPU_WAIT_ZERO(&f->s.loop, &f->pending);
    assert_int_equal(r.rc, MP_OK);
    assert_string_equal(r.user.username, "bob");

    r = user_by_name(f, "carol");
    assert_int_equal(r.rc, MP_ERR_NOT_FOUND);
    assert_false(r.have_row);
    r = (res_t){.f = f};
    f->pending++;
    assert_int_equal(mp_store_user_by_id(f->s.st, 999, on_user, &r), MP_OK);
    MPU_WAIT_ZERO(&f->s.loop, &f->pending);
    assert_int_equal(r.rc, MP_ERR_NOT_FOUND);
}

static void collect_ids(uint64_t id, void *ud)
{
    uint64_t *ids = ud;
    ids[++ids[0]] = id;
}

/* mp_store_cached_state's answer, copied. */
typedef struct cached {
    fx_t *f;
    mp_err_t rc;
    size_t n_flags, n_revoked;
    mp_userflag_row_t flags[4];
    uint64_t revoked[4];
} cached_t;

static void on_cached(mp_err_t rc, const mp_userflag_row_t *flags, size_t n_flags,
                      const uint64_t *revoked, size_t n_revoked, void *ud)
{
    cached_t *c = ud;
    c->rc = rc;
    c->n_flags = n_flags;
    c->n_revoked = n_revoked;
    for (size_t i = 0; i < n_flags && i < 4; i++)
        c->flags[i] = flags[i];
    for (size_t i = 0; i < n_revoked && i < 4; i++)
        c->revoked[i] = revoked[i];
    c->f->pending--;
}

static cached_t cached_state(fx_t *f, int64_t since)
{
    cached_t c = {.f = f, .rc = MP_ERR_INTERNAL};
    f->pending++;
    assert_int_equal(mp_store_cached_state(f->s.st, since, on_cached, &c), MP_OK);
    MPU_WAIT_ZERO(&f->s.loop, &f->pending);
    return c;
}

static void on_flag(mp_err_t rc, bool changed, void *ud)
{
    (void)changed;
    res_t *r = ud;
    r->rc = rc;
    r->f->pending--;
}

static void test_devices(void **state)
{
    fx_t *f = *state;
    assert_int_equal(user_create(f, 1, "alice"), MP_OK);
    assert_int_equal(user_create(f, 2, "bob"), MP_OK);
    assert_int_equal(device_create(f, 100, 1, 5000, 1), MP_OK);
    assert_int_equal(device_create(f, 101, 1, 6000, 2), MP_OK);
    assert_int_equal(device_create(f, 200, 2, 5500, 3), MP_OK);
    assert_int_equal(device_create(f, 300, 42, 5500, 4), MP_ERR_NOT_FOUND); /* no such user */
    assert_int_equal(device_create(f, 100, 1, 7000, 5), MP_ERR_CONFLICT);   /* id reused */
    /* the device row is written, then its token hash collides: the job's
     * savepoint must undo the device row too */
    assert_int_equal(device_create(f, 102, 1, 7000, 2), MP_ERR_CONFLICT);

    res_t r = device_list(f, 1);
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.ndevs, 2);
    assert_int_equal(r.devs[0].id, 100); /* oldest first */
    assert_int_equal(r.devs[1].id, 101);
    assert_string_equal(r.devs[0].name, "device 100");
    assert_int_equal(r.devs[0].user_id, 1);
    assert_int_equal(r.devs[0].created_at, 5000);
    assert_int_equal(r.devs[0].revoked_at, 0);

    assert_int_equal(device_revoke(f, 2, 100, 8000), MP_ERR_NOT_FOUND); /* bob's? no */
    assert_int_equal(device_revoke(f, 1, 999, 8000), MP_ERR_NOT_FOUND);
    assert_int_equal(device_revoke(f, 1, 100, 8000), MP_OK);
    assert_int_equal(device_revoke(f, 1, 100, 8100), MP_ERR_NOT_FOUND); /* already */
    r = device_list(f, 1);
    assert_int_equal(r.ndevs, 1);
    assert_int_equal(r.devs[0].id, 101);
    assert_int_equal(device_list(f, 77).ndevs, 0);

    /* touch: last_seen_at only moves forward */
    res_t t = {.f = f};
    f->pending += 2;
    assert_int_equal(mp_store_device_touch(f->s.st, 101, 9000, on_done, &t), MP_OK);
    assert_int_equal(mp_store_device_touch(f->s.st, 101, 8500, on_done, &t), MP_OK);
    assert_int_equal(mp_store_device_touch(f->s.st, 101, 9100, NULL, NULL), MP_OK);
    MPU_WAIT_ZERO(&f->s.loop, &f->pending);
    assert_int_equal(t.calls, 2);
    /* the NULL-callback touch has no ack of its own: a later acked write
     * proves it committed (the writer keeps submission order) */
    t = (res_t){.f = f};
    f->pending++;
    assert_int_equal(mp_store_device_touch(f->s.st, 101, 100, on_done, &t), MP_OK);
    MPU_WAIT_ZERO(&f->s.loop, &f->pending);
    r = device_list(f, 1);
    assert_int_equal(r.devs[0].last_seen_at, 9100);

    uint64_t ids[8] = {0};
    assert_int_equal(mp_store_revoked_since(f->s.st, 8000, collect_ids, ids), MP_OK);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 100);
    ids[0] = 0;
    assert_int_equal(mp_store_revoked_since(f->s.st, 8001, collect_ids, ids), MP_OK);
    assert_int_equal(ids[0], 0);

    /* The same while running, with the flags, as one read. */
    cached_t c = cached_state(f, 8000);
    assert_int_equal(c.rc, MP_OK);
    assert_int_equal(c.n_revoked, 1);
    assert_int_equal(c.revoked[0], 100);
    assert_int_equal(c.n_flags, 0);
    res_t fr = {.f = f};
    f->pending++;
    assert_int_equal(mp_store_admin_set_admin(f->s.st, 1, true, on_flag, &fr), MP_OK);
    MPU_WAIT_ZERO(&f->s.loop, &f->pending);
    assert_int_equal(fr.rc, MP_OK);
    c = cached_state(f, 8001);
    assert_int_equal(c.n_revoked, 0);
    assert_int_equal(c.n_flags, 1);
    assert_int_equal(c.flags[0].user_id, 1);
    assert_true(c.flags[0].admin);
    assert_false(c.flags[0].disabled);
    assert_false(c.flags[0].no_receipts);
}

static void test_refresh_rotation(void **state)
{
    fx_t *f = *state;
    assert_int_equal(user_create(f, 1, "alice"), MP_OK);
    assert_int_equal(device_create(f, 100, 1, 5000, 1), MP_OK);
    assert_int_equal(device_create(f, 101, 1, 5000, 50), MP_OK);

    res_t r = rotate(f, 1, 2, 6000); /* live → rotated */
    assert_int_equal(r.rc, MP_OK);
    assert_true(r.have_row);
    assert_int_equal(r.dev.id, 100);
    assert_int_equal(r.dev.last_seen_at, 6000);
    assert_int_equal(r.dev.revoked_at, 0);
    r = rotate(f, 2, 3, 7000);
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.dev.id, 100);

    r = rotate(f, 99, 4, 7100); /* unknown */
    assert_int_equal(r.rc, MP_ERR_UNAUTHORIZED);
    assert_false(r.have_row);

    r = rotate(f, 1, 5, 7200); /* dead token replayed: theft → device revoked */
    assert_int_equal(r.rc, MP_ERR_UNAUTHORIZED);
    assert_true(r.have_row);
    assert_int_equal(r.dev.id, 100);
    assert_int_equal(r.dev.revoked_at, 7200);

    r = rotate(f, 3, 6, 7300); /* the thief's (or owner's) live token is dead too */
    assert_int_equal(r.rc, MP_ERR_UNAUTHORIZED);
    assert_false(r.have_row);
    r = rotate(f, 5, 7, 7300); /* the new hash of the refused call never became live */
    assert_int_equal(r.rc, MP_ERR_UNAUTHORIZED);
    assert_false(r.have_row);

    /* the revocation is durable and the other device is untouched */
    res_t l = device_list(f, 1);
    assert_int_equal(l.ndevs, 1);
    assert_int_equal(l.devs[0].id, 101);
    r = rotate(f, 50, 51, 8000);
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.dev.id, 101);
}

typedef struct many {
    fx_t *f;
    int ok, other;
} many_t;

static void on_many(mp_err_t rc, void *ud)
{
    many_t *m = ud;
    if (rc == MP_OK)
        m->ok++;
    else
        m->other++;
    m->f->pending--;
}

static void submit_users(fx_t *f, many_t *m, uint64_t first, int n)
{
    for (int i = 0; i < n; i++) {
        mp_user_row_t u = {.id = first + (uint64_t)i, .created_at = 1};
        snprintf(u.username, sizeof u.username, "user%llu", (unsigned long long)u.id);
        snprintf(u.display_name, sizeof u.display_name, "U");
        f->pending++;
        assert_int_equal(mp_store_user_create(f->s.st, &u, on_many, m), MP_OK);
    }
}

static void test_group_commit(void **state)
{
    fx_t *f = *state;
    uint64_t b0, j0, b1, j1;

    /* Deterministic: with the writer held, 1000 writes pile up and must be
     * committed as exactly one batch after the blocker's. */
    blocker_t b;
    block_writer(f, &b);
    mp_store_stats(f->s.st, &b0, &j0);
    many_t m = {.f = f};
    submit_users(f, &m, 1, 1000);
    unblock(&b);
    MPU_WAIT_ZERO(&f->s.loop, &f->pending);
    mp_store_stats(f->s.st, &b1, &j1);
    assert_int_equal(m.ok, 1000);
    assert_int_equal(b.done_rc, MP_OK);
    assert_int_equal(j1 - j0, 1001);
    assert_int_equal(b1 - b0, 2);
    blocker_destroy(&b);

    /* Free-running: 1000 concurrent writes still share transactions. */
    m = (many_t){.f = f};
    submit_users(f, &m, 5001, 1000);
    MPU_WAIT_ZERO(&f->s.loop, &f->pending);
    mp_store_stats(f->s.st, &b0, &j0);
    assert_int_equal(m.ok, 1000);
    assert_int_equal(j0 - j1, 1000);
    assert_true(b0 - b1 < 1000);

    res_t r = user_by_name(f, "user6000");
    assert_int_equal(r.rc, MP_OK);
}

/* One failing job in a batch rolls back alone; the others commit. */
static void test_savepoint_isolation(void **state)
{
    fx_t *f = *state;
    blocker_t b;
    block_writer(f, &b);
    res_t r1 = {.f = f}, r2 = {.f = f}, r3 = {.f = f};
    mp_user_row_t u = {.id = 1, .created_at = 1};
    snprintf(u.username, sizeof u.username, "dora");
    snprintf(u.display_name, sizeof u.display_name, "D");
    f->pending += 3;
    assert_int_equal(mp_store_user_create(f->s.st, &u, on_done, &r1), MP_OK);
    u.id = 2; /* same name */
    assert_int_equal(mp_store_user_create(f->s.st, &u, on_done, &r2), MP_OK);
    u.id = 3;
    snprintf(u.username, sizeof u.username, "erik");
    assert_int_equal(mp_store_user_create(f->s.st, &u, on_done, &r3), MP_OK);
    uint64_t b0, b1;
    mp_store_stats(f->s.st, &b0, NULL);
    unblock(&b);
    MPU_WAIT_ZERO(&f->s.loop, &f->pending);
    mp_store_stats(f->s.st, &b1, NULL);
    blocker_destroy(&b);
    assert_int_equal(b1 - b0, 2); /* the blocker's batch, then all three together */
    assert_int_equal(r1.rc, MP_OK);
    assert_int_equal(r2.rc, MP_ERR_USERNAME_TAKEN);
    assert_int_equal(r3.rc, MP_OK);
    assert_int_equal(user_by_name(f, "dora").user.id, 1);
    assert_int_equal(user_by_name(f, "erik").user.id, 3);
}

static void test_reads_while_writes_queued(void **state)
{
    fx_t *f = *state;
    assert_int_equal(user_create(f, 1, "alice"), MP_OK);
    blocker_t b;
    block_writer(f, &b);
    many_t m = {.f = f};
    submit_users(f, &m, 100, 10);

    res_t r = {.f = f};
    f->pending++;
    assert_int_equal(mp_store_user_by_name(f->s.st, "alice", on_user, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.calls, 1);
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.user.id, 1);
    assert_int_equal(m.ok + m.other, 0); /* the writes are still held */
    assert_int_equal(b.done_calls, 0);

    r = (res_t){.f = f}; /* a queued, uncommitted user is invisible to readers */
    f->pending++;
    assert_int_equal(mp_store_user_by_name(f->s.st, "user100", on_user, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.calls, 1);
    assert_int_equal(r.rc, MP_ERR_NOT_FOUND);

    unblock(&b);
    MPU_WAIT_ZERO(&f->s.loop, &f->pending);
    blocker_destroy(&b);
    assert_int_equal(m.ok, 10);
}

static void test_backpressure(void **state)
{
    fx_t *f = *state;
    assert_int_equal(user_create(f, 1, "alice"), MP_OK);
    assert_int_equal(device_create(f, 100, 1, 5000, 1), MP_OK);
    mp_sqlite__set_limits(f->s.st, 4, 2);

    blocker_t b;
    block_writer(f, &b); /* taken off the queue: the queue is empty again */
    many_t m = {.f = f};
    for (int i = 0; i < 4; i++) {
        f->pending++;
        assert_int_equal(mp_store_device_touch(f->s.st, 100, 6000 + i, on_many, &m), MP_OK);
    }
    res_t r = {.f = f};
    assert_int_equal(mp_store_device_touch(f->s.st, 100, 7000, on_done, &r), MP_ERR_UNAVAILABLE);
    mp_user_row_t u = {.id = 9, .created_at = 1};
    snprintf(u.username, sizeof u.username, "zed");
    assert_int_equal(mp_store_user_create(f->s.st, &u, on_done, &r), MP_ERR_UNAVAILABLE);
    unblock(&b);
    MPU_WAIT_ZERO(&f->s.loop, &f->pending);
    blocker_destroy(&b);
    assert_int_equal(m.ok, 4);
    assert_int_equal(r.calls, 0); /* refused ops never call back */

    /* reads have their own bound: hold both readers, fill the read queue */
    blocker_t rb[2];
    for (int i = 0; i < 2; i++) {
        memset(&rb[i], 0, sizeof rb[i]);
        rb[i].job.run = blocker_run;
        rb[i].job.done = blocker_done;
        rb[i].f = f;
        assert_int_equal(uv_sem_init(&rb[i].started, 0), 0);
        assert_int_equal(uv_sem_init(&rb[i].release, 0), 0);
        f->pending++;
        assert_int_equal(mp_sqlite__read(f->s.st, &rb[i].job), MP_OK);
        uv_sem_wait(&rb[i].started);
    }
    res_t q1 = {.f = f}, q2 = {.f = f}, q3 = {.f = f};
    f->pending += 2;
    assert_int_equal(mp_store_user_by_id(f->s.st, 1, on_user, &q1), MP_OK);
    assert_int_equal(mp_store_device_list(f->s.st, 1, on_devices, &q2), MP_OK);
    assert_int_equal(mp_store_user_by_id(f->s.st, 1, on_user, &q3), MP_ERR_UNAVAILABLE);
    for (int i = 0; i < 2; i++)
        unblock(&rb[i]);
    MPU_WAIT_ZERO(&f->s.loop, &f->pending);
    for (int i = 0; i < 2; i++)
        blocker_destroy(&rb[i]);
    assert_int_equal(q1.rc, MP_OK);
    assert_int_equal(q2.ndevs, 1);
    assert_int_equal(q2.devs[0].last_seen_at, 6003);
    assert_int_equal(q3.calls, 0);
}

/* Acknowledged writes survive a close; writes queued at close are finished and
 * acknowledged; nothing is accepted after close. */
static void test_durability_and_close(void **state)
{
    fx_t *f = *state;
    many_t m = {.f = f};
    submit_users(f, &m, 1, 50);
    MPU_WAIT_ZERO(&f->s.loop, &f->pending);
    assert_int_equal(m.ok, 50);

    m = (many_t){.f = f};
    submit_users(f, &m, 100, 200); /* still queued or in flight */
    mp_store_t *st = f->s.st;
    mp_store_close(st);
    assert_false(mp_store_ready(st));
    res_t r = {.f = f};
    assert_int_equal(mp_store_user_by_id(st, 1, on_user, &r), MP_ERR_UNAVAILABLE);
    f->s.st = NULL;
    MPU_RUN_IDLE(&f->s.loop); /* delivers the rest, frees the store */
    assert_int_equal(m.ok, 200);
    assert_int_equal(f->pending, 0);

    fx_open(f);
    assert_int_equal(user_by_name(f, "user1").rc, MP_OK);
    assert_int_equal(user_by_name(f, "user50").rc, MP_OK);
    assert_int_equal(user_by_name(f, "user299").rc, MP_OK);
    assert_int_equal(user_by_name(f, "user51").rc, MP_ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_migrate_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_index_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_creates_nested_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_users, setup, teardown),
        cmocka_unit_test_setup_teardown(test_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_savepoint_isolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_while_writes_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durability_and_close, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
