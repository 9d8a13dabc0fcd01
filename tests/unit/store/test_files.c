/* Files in the store (store/files.h) against a real SQLite store in a
 * temporary directory: creating files (the full row back, blob reuse by
 * content and the duplicate flag, the quota with unfinished upload sessions
 * counted), the access rule case by case (owner, member through a message,
 * removed member, non-member, the world room, guests, user avatars, a
 * deleted user's avatar, group avatars), listing pages, upload sessions,
 * the sweep (what it deletes, what it keeps and the storage keys it hands
 * back) and the server secret kept across a restart. Conversations,
 * memberships and avatars are plain rows written with a separate
 * connection; message references go through the writer as send does. */
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
#include "store/files.h"
#include "store/sqlite_files_int.h"
#include "store/sqlite_job.h"
#include "util/clock.h"

enum { ALICE = 1001, BOB = 1002, CAROL = 1003, GUEST = 1004, DAVE = 1005 };
enum { WORLD = 9000, GROUP = 9001, DIRECT = 9002 };

typedef struct {
    mpu_store_t s;
} fx_t;

static void exec_sql(fx_t *f, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(mpu_store_db_path(&f->s), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

static int64_t query_i64(fx_t *f, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_open(mpu_store_db_path(&f->s), &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    if (mpu_store_open(&f->s) != 0)
        return -1;
    mpu_user_add(&f->s, ALICE, "alice", "Alice", false);
    mpu_user_add(&f->s, BOB, "bob", "Bob", false);
    mpu_user_add(&f->s, CAROL, "carol", "Carol", false);
    mpu_user_add(&f->s, GUEST, "guest", "Guest", true);
    mpu_user_add(&f->s, DAVE, "dave", "Dave", false);
    /* A group of Alice and Bob, a direct conversation of Alice and the guest. */
    exec_sql(f,
             "INSERT INTO conversations(id, kind, version, created_at, active_at)"
             " VALUES(%d, 'group', 0, 0, 0), (%d, 'direct', 0, 0, 0);"
             "INSERT INTO members(conversation_id, user_id, joined_at, version)"
             " VALUES(%d, %d, 0, 0), (%d, %d, 0, 0), (%d, %d, 0, 0), (%d, %d, 0, 0)",
             GROUP, DIRECT, GROUP, ALICE, GROUP, BOB, DIRECT, ALICE, DIRECT, GUEST);
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

/* ---- blocking wrappers ------------------------------------------------------------ */

/* A row as the test keeps it (meta copied). */
typedef struct {
    mp_file_row_t f;
    char meta[256];
} row_t;

static void row_copy(row_t *d, const mp_file_row_t *f)
{
    d->f = *f;
    snprintf(d->meta, sizeof d->meta, "%s", f->meta ? f->meta : "(null)");
    d->f.meta = d->meta;
}

typedef struct {
    int done;
    mp_err_t rc;
    row_t row;
    bool dup;
} create_res_t;

static void on_created(mp_err_t rc, const mp_file_row_t *f, bool dup, void *ud)
{
    create_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->dup = dup;
    if (rc == MP_OK)
        row_copy(&r->row, f);
    else
        assert_null(f);
}

static const mp_file_rendition_t RENDS[2] = {
    {.name = "thumb", .skey = "", .mime = "image/webp", .size = 900, .width = 320, .height = 240},
    {.name = "s64", .skey = "", .mime = "image/webp", .size = 100, .width = 64, .height = 64},
};

/* Creates a file of owner for the content called sha (one letter repeated:
 * "a" -> 64 a's). skey NULL: only a known blob may be used; else the blob
 * gets renditions skey.thumb and skey.s64. */
static create_res_t create_q(fx_t *f, uint64_t owner, char sha, const char *skey, uint64_t size,
                             uint64_t quota, uint64_t upload)
{
    char hex[MP_FILE_SHA_HEX + 1];
    memset(hex, sha, MP_FILE_SHA_HEX);
    hex[MP_FILE_SHA_HEX] = '\0';
    mp_file_rendition_t rend[2];
    memcpy(rend, RENDS, sizeof rend);
    if (skey != NULL)
        for (int i = 0; i < 2; i++)
            snprintf(rend[i].skey, sizeof rend[i].skey, "%s.%s", skey, rend[i].name);
    mp_file_create_in_t in = {
        .owner_id = owner,
        .name = "photo.jpg",
        .quota = quota,
        .blob = {.sha256 = hex,
                 .skey = skey,
                 .size = size,
                 .serve_size = size - 1,
                 .mime = "image/heic",
                 .serve_mime = "image/jpeg",
                 .cls = MP_FILE_CLASS_IMAGE,
                 .meta = "{\"width\":640,\"height\":480}",
                 .rend = rend,
                 .nrend = 2},
        .upload_id = upload,
    };
    create_res_t r = {0};
    assert_int_equal(mp_store_file_create(f->s.st, &in, on_created, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

/* A new file with new content; asserts success and returns its id. */
static uint64_t create_new(fx_t *f, uint64_t owner, char sha)
{
    char key[MP_FILE_KEY_MAX + 1];
    snprintf(key, sizeof key, "%c%c-%d", sha, sha, rand());
    create_res_t r = create_q(f, owner, sha, key, 100, 0, 0);
    assert_int_equal(r.rc, MP_OK);
    return r.row.f.id;
}

typedef struct {
    int done;
    mp_err_t rc;
    row_t row;
} get_res_t;

static void on_row(mp_err_t rc, const mp_file_row_t *f, void *ud)
{
    get_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_OK)
        row_copy(&r->row, f);
    else
        assert_null(f);
}

static get_res_t get_as(fx_t *f, uint64_t file, uint64_t user, bool guest)
{
    get_res_t r = {0};
    assert_int_equal(mp_store_file_get(f->s.st, file, user, guest, WORLD, on_row, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

/* Whether user may read file, asserting that a refusal is NOT_FOUND. */
static bool can_read(fx_t *f, uint64_t file, uint64_t user, bool guest)
{
    get_res_t r = get_as(f, file, user, guest);
    if (r.rc != MP_OK)
        assert_int_equal(r.rc, MP_ERR_NOT_FOUND);
    else
        assert_int_equal(r.row.f.id, file);
    return r.rc == MP_OK;
}

static get_res_t blob_by_sha(fx_t *f, char sha)
{
    char hex[MP_FILE_SHA_HEX + 1];
    memset(hex, sha, MP_FILE_SHA_HEX);
    hex[MP_FILE_SHA_HEX] = '\0';
    get_res_t r = {0};
    assert_int_equal(mp_store_blob_by_sha(f->s.st, hex, on_row, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

/* A write job that runs one of the reference functions, as send and delete do. */
typedef struct {
    mp_sql_job_t base;
    uint64_t file, msg, conv;
    bool drop;
    int done;
    mp_err_t rc;
} ref_job_t;

static mp_err_t ref_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    ref_job_t *j = (ref_job_t *)job;
    return j->drop ? mp_sqlite__file_refs_drop(db, j->msg)
                   : mp_sqlite__file_ref_add(db, j->file, j->msg, j->conv);
}

static void ref_done(mp_sql_job_t *job, mp_err_t rc)
{
    ref_job_t *j = (ref_job_t *)job;
    j->rc = rc;
    j->done++;
}

static void ref_op(fx_t *f, uint64_t file, uint64_t msg, uint64_t conv, bool drop)
{
    ref_job_t j = {.base = {.run = ref_run, .done = ref_done},
                   .file = file,
                   .msg = msg,
                   .conv = conv,
                   .drop = drop};
    assert_int_equal(mp_sqlite__write(f->s.st, &j.base), MP_OK);
    MPU_WAIT(&f->s.loop, &j.done, 1);
    assert_int_equal(j.rc, MP_OK);
}

#define REF(f, file, msg, conv) ref_op(f, file, msg, conv, false)
#define UNREF(f, msg) ref_op(f, 0, msg, 0, true)

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t used, files;
} usage_res_t;

static void on_usage(mp_err_t rc, uint64_t used, uint64_t files, void *ud)
{
    usage_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->used = used;
    r->files = files;
}

static usage_res_t usage(fx_t *f, uint64_t user)
{
    usage_res_t r = {0};
    assert_int_equal(mp_store_file_usage(f->s.st, user, on_usage, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    return r;
}

typedef struct {
    int done;
    mp_err_t rc;
    mp_upload_row_t u;
} upload_res_t;

static void on_upload(mp_err_t rc, const mp_upload_row_t *u, void *ud)
{
    upload_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_OK)
        r->u = *u;
    else
        assert_null(u);
}

static upload_res_t upload_create(fx_t *f, uint64_t id, uint64_t owner, uint64_t length,
                                  int64_t expires_at, uint64_t quota)
{
    mp_upload_row_t u = {.id = id,
                         .owner_id = owner,
                         .length = length,
                         .name = "video.mp4",
                         .created_at = mp_now_ms(),
                         .expires_at = expires_at};
    upload_res_t r = {0};
    assert_int_equal(mp_store_upload_create(f->s.st, &u, quota, on_upload, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static upload_res_t upload_get(fx_t *f, uint64_t id, uint64_t owner, int64_t now)
{
    upload_res_t r = {0};
    assert_int_equal(mp_store_upload_get(f->s.st, id, owner, now, on_upload, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

typedef struct {
    int done;
    mp_err_t rc;
} done_res_t;

static void on_done(mp_err_t rc, void *ud)
{
    done_res_t *r = ud;
    r->done++;
    r->rc = rc;
}

static mp_err_t upload_delete(fx_t *f, uint64_t id, uint64_t owner)
{
    done_res_t r = {0};
    assert_int_equal(mp_store_upload_delete(f->s.st, id, owner, on_done, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r.rc;
}

#define LIST_CAP 16

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t ids[LIST_CAP];
    size_t n;
    bool more;
} list_res_t;

static void on_list(mp_err_t rc, const mp_file_row_t *rows, size_t n, bool more, void *ud)
{
    list_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->more = more;
    r->n = n;
    assert_true(n <= LIST_CAP);
    for (size_t i = 0; i < n; i++) {
        r->ids[i] = rows[i].id;
        assert_non_null(rows[i].meta);
        assert_int_equal(rows[i].nrend, 2);
    }
}

static list_res_t list(fx_t *f, uint64_t user, uint64_t before, size_t limit)
{
    list_res_t r = {0};
    assert_int_equal(mp_store_file_list(f->s.st, user, before, limit, on_list, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    return r;
}

#define SWEEP_CAP 32

typedef struct {
    int done;
    mp_err_t rc;
    char keys[SWEEP_CAP][MP_FILE_KEY_MAX + 1];
    size_t nkeys;
    uint64_t uploads[SWEEP_CAP];
    size_t nuploads, files;
} sweep_res_t;

static void on_sweep(mp_err_t rc, const mp_file_sweep_out_t *o, void *ud)
{
    sweep_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc != MP_OK)
        return;
    assert_true(o->nskeys <= SWEEP_CAP && o->nuploads <= SWEEP_CAP);
    r->nkeys = o->nskeys;
    for (size_t i = 0; i < o->nskeys; i++)
        snprintf(r->keys[i], sizeof r->keys[i], "%s", o->skeys[i]);
    r->nuploads = o->nuploads;
    for (size_t i = 0; i < o->nuploads; i++)
        r->uploads[i] = o->uploads[i];
    r->files = o->files;
}

static sweep_res_t sweep(fx_t *f, int64_t older_than, int64_t now, size_t limit)
{
    sweep_res_t *r = calloc(1, sizeof *r);
    assert_int_equal(mp_store_file_sweep(f->s.st, older_than, now, limit, on_sweep, r), MP_OK);
    MPU_WAIT(&f->s.loop, &r->done, 1);
    assert_int_equal(r->rc, MP_OK);
    sweep_res_t out = *r;
    free(r);
    return out;
}

static bool has_key(const sweep_res_t *r, const char *key)
{
    for (size_t i = 0; i < r->nkeys; i++)
        if (strcmp(r->keys[i], key) == 0)
            return true;
    return false;
}

static bool file_exists(fx_t *f, uint64_t id)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM files WHERE id = %llu", (unsigned long long)id);
    return query_i64(f, sql) == 1;
}

/* ---- create ---------------------------------------------------------------------- */

static void test_create_row_and_dedup(void **state)
{
    fx_t *f = *state;
    create_res_t a = create_q(f, ALICE, 'a', "aa-1", 1000, 0, 0);
    assert_int_equal(a.rc, MP_OK);
    assert_false(a.dup);
    const mp_file_row_t *r = &a.row.f;
    assert_true(r->id != 0 && r->blob_id != 0);
    assert_int_equal(r->owner_id, ALICE);
    assert_string_equal(r->name, "photo.jpg");
    assert_int_equal(r->size, 1000);
    assert_int_equal(r->serve_size, 999);
    assert_true(r->created_at > 0);
    assert_int_equal(strlen(r->sha256), MP_FILE_SHA_HEX);
    assert_string_equal(r->mime, "image/heic");
    assert_string_equal(r->serve_mime, "image/jpeg");
    assert_string_equal(r->skey, "aa-1");
    assert_int_equal(r->cls, MP_FILE_CLASS_IMAGE);
    assert_string_equal(a.row.meta, "{\"width\":640,\"height\":480}");
    assert_int_equal(r->nrend, 2);
    const mp_file_rendition_t *t = mp_file_rendition(r, "thumb");
    assert_non_null(t);
    assert_string_equal(t->skey, "aa-1.thumb");
    assert_string_equal(t->mime, "image/webp");
    assert_int_equal(t->size, 900);
    assert_int_equal(t->width, 320);
    assert_int_equal(t->height, 240);
    assert_non_null(mp_file_rendition(r, "s64"));
    assert_null(mp_file_rendition(r, "s256"));

    /* The blob alone, for an upload of known content. */
    get_res_t b = blob_by_sha(f, 'a');
    assert_int_equal(b.rc, MP_OK);
    assert_int_equal(b.row.f.id, 0);
    assert_int_equal(b.row.f.owner_id, 0);
    assert_int_equal(b.row.f.blob_id, r->blob_id);
    assert_string_equal(b.row.f.skey, "aa-1");
    assert_int_equal(b.row.f.nrend, 2);
    assert_int_equal(blob_by_sha(f, 'b').rc, MP_ERR_NOT_FOUND);

    /* Known content without a blob of our own: the same blob, no duplicate. */
    create_res_t c = create_q(f, BOB, 'a', NULL, 1000, 0, 0);
    assert_int_equal(c.rc, MP_OK);
    assert_false(c.dup);
    assert_int_not_equal(c.row.f.id, r->id);
    assert_int_equal(c.row.f.owner_id, BOB);
    assert_int_equal(c.row.f.blob_id, r->blob_id);
    assert_string_equal(c.row.f.skey, "aa-1");
    assert_int_equal(c.row.f.nrend, 2);

    /* Processed in parallel with another upload of the same content: the
     * blob that was there wins and ours is garbage. */
    create_res_t d = create_q(f, CAROL, 'a', "aa-2", 1000, 0, 0);
    assert_int_equal(d.rc, MP_OK);
    assert_true(d.dup);
    assert_int_equal(d.row.f.blob_id, r->blob_id);
    assert_string_equal(d.row.f.skey, "aa-1");
    assert_string_equal(mp_file_rendition(&d.row.f, "thumb")->skey, "aa-1.thumb");
    assert_int_equal(query_i64(f, "SELECT count(*) FROM blobs"), 1);
    assert_int_equal(query_i64(f, "SELECT count(*) FROM renditions"), 2);
    assert_int_equal(query_i64(f, "SELECT count(*) FROM files"), 3);

    /* The same key again (a retried call) is not garbage. */
    create_res_t e = create_q(f, CAROL, 'a', "aa-1", 1000, 0, 0);
    assert_int_equal(e.rc, MP_OK);
    assert_false(e.dup);

    /* Unknown content without a blob: process it first. */
    assert_int_equal(create_q(f, ALICE, 'c', NULL, 10, 0, 0).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(query_i64(f, "SELECT count(*) FROM files"), 4);
}

static void test_create_refuses_bad_input(void **state)
{
    fx_t *f = *state;
    char longkey[MP_FILE_KEY_MAX + 2];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    mp_file_create_in_t in = {
        .owner_id = ALICE,
        .name = "x",
        .blob = {.sha256 = "ab", .skey = longkey, .mime = "a", .serve_mime = "a"}};
    assert_int_equal(mp_store_file_create(f->s.st, &in, on_created, NULL), MP_ERR_BAD_REQUEST);
    in.blob.skey = "";
    assert_int_equal(mp_store_file_create(f->s.st, &in, on_created, NULL), MP_ERR_BAD_REQUEST);
    in.blob.skey = "ok";
    in.blob.nrend = MP_FILE_RENDITIONS + 1;
    in.blob.rend = RENDS;
    assert_int_equal(mp_store_file_create(f->s.st, &in, on_created, NULL), MP_ERR_BAD_REQUEST);
}

static void test_quota(void **state)
{
    fx_t *f = *state;
    int64_t later = mp_now_ms() + 3600000;
    assert_int_equal(create_q(f, ALICE, 'a', "a-1", 60, 100, 0).rc, MP_OK);
    assert_int_equal(create_q(f, ALICE, 'b', "b-1", 50, 100, 0).rc, MP_ERR_QUOTA_EXCEEDED);
    /* Shared bytes count once per upload. */
    assert_int_equal(create_q(f, ALICE, 'a', NULL, 60, 100, 0).rc, MP_ERR_QUOTA_EXCEEDED);
    assert_int_equal(create_q(f, ALICE, 'b', "b-2", 40, 100, 0).rc, MP_OK); /* exactly full */
    assert_int_equal(usage(f, ALICE).used, 100);
    assert_int_equal(usage(f, ALICE).files, 2);
    /* Another owner is not affected; quota 0 is none. */
    assert_int_equal(create_q(f, BOB, 'a', NULL, 60, 100, 0).rc, MP_OK);
    assert_int_equal(create_q(f, ALICE, 'a', NULL, 60, 0, 0).rc, MP_OK);
    assert_int_equal(usage(f, ALICE).used, 160);

    /* Unfinished sessions count with their declared length. */
    assert_int_equal(upload_create(f, 501, CAROL, 30, later, 100).rc, MP_OK);
    assert_int_equal(upload_create(f, 502, CAROL, 80, later, 100).rc, MP_ERR_QUOTA_EXCEEDED);
    assert_int_equal(create_q(f, CAROL, 'c', "c-1", 60, 100, 0).rc, MP_OK); /* 30 + 60 */
    assert_int_equal(create_q(f, CAROL, 'd', "d-1", 20, 100, 0).rc, MP_ERR_QUOTA_EXCEEDED);
    usage_res_t u = usage(f, CAROL);
    assert_int_equal(u.used, 90);
    assert_int_equal(u.files, 1);
    /* The file that completes the session replaces it in the count. */
    create_res_t done = create_q(f, CAROL, 'e', "e-1", 30, 100, 501);
    assert_int_equal(done.rc, MP_OK);
    assert_int_equal(usage(f, CAROL).used, 90);
    assert_int_equal(usage(f, CAROL).files, 2);
    upload_res_t g = upload_get(f, 501, CAROL, mp_now_ms());
    assert_int_equal(g.rc, MP_OK);
    assert_int_equal(g.u.file_id, done.row.f.id);
    /* A session completes once. */
    assert_int_equal(create_q(f, CAROL, 'f', "f-1", 1, 0, 501).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(create_q(f, ALICE, 'f', "f-2", 1, 0, 999).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(blob_by_sha(f, 'f').rc, MP_ERR_NOT_FOUND); /* rolled back */

    /* An expired session holds nothing. */
    assert_int_equal(upload_create(f, 503, DAVE, 50, mp_now_ms() - 1, 0).rc, MP_OK);
    assert_int_equal(usage(f, DAVE).used, 0);
}

static void test_upload_sessions(void **state)
{
    fx_t *f = *state;
    int64_t now = mp_now_ms();
    upload_res_t c = upload_create(f, 700, ALICE, 12345, now + 1000, 0);
    assert_int_equal(c.rc, MP_OK);
    assert_int_equal(c.u.id, 700);
    assert_int_equal(c.u.file_id, 0);
    upload_res_t g = upload_get(f, 700, ALICE, now);
    assert_int_equal(g.rc, MP_OK);
    assert_int_equal(g.u.length, 12345);
    assert_int_equal(g.u.owner_id, ALICE);
    assert_string_equal(g.u.name, "video.mp4");
    assert_int_equal(g.u.expires_at, now + 1000);
    assert_int_equal(upload_get(f, 700, BOB, now).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(upload_get(f, 700, ALICE, now + 1000).rc, MP_ERR_NOT_FOUND); /* expired */
    assert_int_equal(upload_get(f, 701, ALICE, now).rc, MP_ERR_NOT_FOUND);
    /* The same id twice is a conflict. */
    assert_int_equal(upload_create(f, 700, ALICE, 1, now + 1000, 0).rc, MP_ERR_CONFLICT);
    assert_int_equal(upload_delete(f, 700, BOB), MP_ERR_NOT_FOUND);
    assert_int_equal(upload_delete(f, 700, ALICE), MP_OK);
    assert_int_equal(upload_get(f, 700, ALICE, now).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(upload_delete(f, 700, ALICE), MP_ERR_NOT_FOUND);
}

/* ---- access ---------------------------------------------------------------------- */

static void test_access_owner_and_messages(void **state)
{
    fx_t *f = *state;
    uint64_t a = create_new(f, ALICE, 'a');
    assert_true(can_read(f, a, ALICE, false));
    assert_false(can_read(f, a, BOB, false));
    assert_false(can_read(f, a, GUEST, true));
    assert_false(can_read(f, a + 1, ALICE, false)); /* no such file */
    assert_false(can_read(f, 0, ALICE, false));

    /* A message of the group: its members now, not others. */
    REF(f, a, 50001, GROUP);
    REF(f, a, 50001, GROUP); /* the same pair again changes nothing */
    assert_true(can_read(f, a, BOB, false));
    assert_false(can_read(f, a, CAROL, false));
    /* Removed from the group: access ends with the membership. */
    exec_sql(f, "DELETE FROM members WHERE conversation_id = %d AND user_id = %d", GROUP, BOB);
    assert_false(can_read(f, a, BOB, false));
    exec_sql(f,
             "INSERT INTO members(conversation_id, user_id, joined_at, version)"
             " VALUES(%d, %d, 0, 0)",
             GROUP, BOB);
    assert_true(can_read(f, a, BOB, false));
    /* Deleted for everyone: the reference goes, and access with it. */
    UNREF(f, 50001);
    assert_false(can_read(f, a, BOB, false));
    assert_true(can_read(f, a, ALICE, false));

    /* A guest does not read files through a direct conversation, the
     * other member does. */
    uint64_t g = create_new(f, ALICE, 'g');
    REF(f, g, 50002, DIRECT);
    assert_false(can_read(f, g, GUEST, true));
    exec_sql(f,
             "INSERT INTO members(conversation_id, user_id, joined_at, version)"
             " VALUES(%d, %d, 0, 0)",
             DIRECT, CAROL);
    assert_true(can_read(f, g, CAROL, false));
    /* A guest's own upload is theirs. */
    uint64_t mine = create_new(f, GUEST, 'm');
    assert_true(can_read(f, mine, GUEST, true));

    /* The world room: everyone, guests too. */
    uint64_t w = create_new(f, BOB, 'w');
    assert_false(can_read(f, w, CAROL, false));
    REF(f, w, 50003, WORLD);
    assert_true(can_read(f, w, CAROL, false));
    assert_true(can_read(f, w, GUEST, true));
    assert_true(can_read(f, w, DAVE, false));

    /* Two references: dropping one leaves the other. */
    REF(f, w, 50004, GROUP);
    UNREF(f, 50003);
    assert_false(can_read(f, w, CAROL, false));
    assert_true(can_read(f, w, ALICE, false));
}

static void test_access_avatars(void **state)
{
    fx_t *f = *state;
    uint64_t bob_av = create_new(f, BOB, 'b');
    assert_false(can_read(f, bob_av, CAROL, false));
    exec_sql(f, "UPDATE users SET avatar_file_id = %llu WHERE id = %d", (unsigned long long)bob_av,
             BOB);
    assert_true(can_read(f, bob_av, CAROL, false));
    assert_true(can_read(f, bob_av, GUEST, true));

    /* A deleted user's avatar is no one's to read any more but the uploader's. */
    uint64_t dave_av = create_new(f, DAVE, 'd');
    exec_sql(f, "UPDATE users SET avatar_file_id = %llu, deleted_at = 5 WHERE id = %d",
             (unsigned long long)dave_av, DAVE);
    assert_false(can_read(f, dave_av, CAROL, false));
    assert_false(can_read(f, dave_av, GUEST, true));

    /* A group's avatar: its members. */
    uint64_t grp_av = create_new(f, ALICE, 'p');
    exec_sql(f, "UPDATE conversations SET avatar_file_id = %llu WHERE id = %d",
             (unsigned long long)grp_av, GROUP);
    assert_true(can_read(f, grp_av, BOB, false));
    assert_false(can_read(f, grp_av, CAROL, false));
    assert_false(can_read(f, grp_av, GUEST, true));
    /* Even a guest with a members row (which no path makes) is kept out. */
    exec_sql(f,
             "INSERT INTO members(conversation_id, user_id, joined_at, version)"
             " VALUES(%d, %d, 0, 0)",
             GROUP, GUEST);
    assert_false(can_read(f, grp_av, GUEST, true));
}

/* The rule uses indexes only: no full scan of any table. */
static void test_access_plan(void **state)
{
    fx_t *f = *state;
    (void)create_new(f, ALICE, 'a');
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(mpu_store_db_path(&f->s), &db), SQLITE_OK);
    static const char sql[] =
        "EXPLAIN QUERY PLAN SELECT f.id FROM files f JOIN blobs b"
        " ON b.id = f.blob_id WHERE f.id = ?1 AND " MP_SQLITE_FILE_ACCESS_RULE;
    sqlite3_stmt *s = NULL;
    char bad[256] = "";
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *detail = (const char *)sqlite3_column_text(s, 3);
        /* A scan, or the walk over every membership of the user. */
        if (strncmp(detail, "SCAN ", 5) == 0 || strstr(detail, "members_user") != NULL)
            snprintf(bad, sizeof bad, "%s", detail);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    if (bad[0] != '\0')
        fail_msg("the access rule does not use its indexes: %s", bad);
}

/* ---- list ----------------------------------------------------------------------------- */

static void test_list_pages(void **state)
{
    fx_t *f = *state;
    uint64_t ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = create_new(f, ALICE, (char)('a' + i));
    (void)create_new(f, BOB, 'z');
    list_res_t p = list(f, ALICE, 0, 2);
    assert_int_equal(p.n, 2);
    assert_true(p.more);
    assert_int_equal(p.ids[0], ids[4]);
    assert_int_equal(p.ids[1], ids[3]);
    p = list(f, ALICE, p.ids[1], 2);
    assert_int_equal(p.n, 2);
    assert_true(p.more);
    assert_int_equal(p.ids[0], ids[2]);
    assert_int_equal(p.ids[1], ids[1]);
    p = list(f, ALICE, p.ids[1], 2);
    assert_int_equal(p.n, 1);
    assert_false(p.more);
    assert_int_equal(p.ids[0], ids[0]);
    p = list(f, ALICE, 0, 5);
    assert_int_equal(p.n, 5);
    assert_false(p.more);
    assert_int_equal(list(f, CAROL, 0, 10).n, 0);
}

/* ---- sweep ---------------------------------------------------------------------------- */

static void test_sweep_rule(void **state)
{
    fx_t *f = *state;
    int64_t now = mp_now_ms();
    create_res_t old = create_q(f, ALICE, 'o', "oo-1", 10, 0, 0);
    uint64_t refd = create_new(f, ALICE, 'r');
    uint64_t user_av = create_new(f, BOB, 'u');
    uint64_t grp_av = create_new(f, ALICE, 'g');
    REF(f, refd, 60001, DIRECT);
    exec_sql(f, "UPDATE users SET avatar_file_id = %llu WHERE id = %d", (unsigned long long)user_av,
             BOB);
    exec_sql(f, "UPDATE conversations SET avatar_file_id = %llu WHERE id = %d",
             (unsigned long long)grp_av, GROUP);
    /* A session completed by a file: the file stays while the session lives. */
    assert_int_equal(upload_create(f, 800, CAROL, 10, now + 60000, 0).rc, MP_OK);
    create_res_t tus = create_q(f, CAROL, 't', "tt-1", 10, 0, 800);
    assert_int_equal(tus.rc, MP_OK);
    /* An expired session, not completed. */
    assert_int_equal(upload_create(f, 801, CAROL, 10, now - 1, 0).rc, MP_OK);

    /* Within the grace nothing goes, but the expired session does. */
    sweep_res_t r = sweep(f, old.row.f.created_at, now, 100);
    assert_int_equal(r.files, 0);
    assert_int_equal(r.nkeys, 0);
    assert_int_equal(r.nuploads, 1);
    assert_int_equal(r.uploads[0], 801);

    /* Past the grace: only the file nothing holds, with its blob's keys. */
    int64_t past = mp_now_ms() + 1;
    r = sweep(f, past, now, 100);
    assert_int_equal(r.files, 1);
    assert_int_equal(r.nuploads, 0);
    assert_int_equal(r.nkeys, 3);
    assert_true(has_key(&r, "oo-1"));
    assert_true(has_key(&r, "oo-1.thumb"));
    assert_true(has_key(&r, "oo-1.s64"));
    assert_false(file_exists(f, old.row.f.id));
    assert_int_equal(blob_by_sha(f, 'o').rc, MP_ERR_NOT_FOUND);
    assert_int_equal(query_i64(f, "SELECT count(*) FROM renditions WHERE skey LIKE 'oo-1%'"), 0);
    assert_true(file_exists(f, refd));
    assert_true(file_exists(f, user_av));
    assert_true(file_exists(f, grp_av));
    assert_true(file_exists(f, tus.row.f.id));
    r = sweep(f, past, now, 100);
    assert_int_equal(r.files + r.nkeys + r.nuploads, 0); /* nothing left */

    /* Once the session has expired, its file goes and the session too. */
    r = sweep(f, past, now + 60001, 100);
    assert_int_equal(r.files, 1);
    assert_true(has_key(&r, "tt-1"));
    assert_int_equal(r.nuploads, 1);
    assert_int_equal(r.uploads[0], 800);
    assert_false(file_exists(f, tus.row.f.id));

    /* Released holds: the message deleted, the avatars changed. */
    UNREF(f, 60001);
    exec_sql(f,
             "UPDATE users SET avatar_file_id = 0 WHERE id = %d;"
             "UPDATE conversations SET avatar_file_id = 0 WHERE id = %d",
             BOB, GROUP);
    r = sweep(f, past, now, 100);
    assert_int_equal(r.files, 3);
    assert_int_equal(r.nkeys, 9);
    assert_int_equal(query_i64(f, "SELECT count(*) FROM files"), 0);
    assert_int_equal(query_i64(f, "SELECT count(*) FROM blobs"), 0);
}

static void test_sweep_shared_blob_and_batches(void **state)
{
    fx_t *f = *state;
    int64_t now = mp_now_ms();
    create_res_t one = create_q(f, ALICE, 's', "ss-1", 10, 0, 0);
    create_res_t two = create_q(f, BOB, 's', NULL, 10, 0, 0);
    assert_int_equal(one.row.f.blob_id, two.row.f.blob_id);
    REF(f, two.row.f.id, 61001, GROUP);
    int64_t past = mp_now_ms() + 1;
    /* One file gone: the blob still serves the other. */
    sweep_res_t r = sweep(f, past, now, 100);
    assert_int_equal(r.files, 1);
    assert_int_equal(r.nkeys, 0);
    assert_false(file_exists(f, one.row.f.id));
    assert_int_equal(blob_by_sha(f, 's').rc, MP_OK);
    assert_true(can_read(f, two.row.f.id, BOB, false));
    /* Both gone: the blob and its renditions. */
    UNREF(f, 61001);
    r = sweep(f, past, now, 100);
    assert_int_equal(r.files, 1);
    assert_int_equal(r.nkeys, 3);
    assert_true(has_key(&r, "ss-1"));

    /* Batches: at most limit rows of each kind per call. */
    for (int i = 0; i < 3; i++)
        (void)create_new(f, CAROL, (char)('a' + i));
    past = mp_now_ms() + 1;
    size_t files = 0, keys = 0, calls = 0;
    for (;;) {
        r = sweep(f, past, now, 1);
        assert_true(r.files <= 1 && r.nkeys <= 3);
        calls++;
        if (r.files + r.nkeys + r.nuploads == 0)
            break;
        files += r.files;
        keys += r.nkeys;
        assert_true(calls < 10);
    }
    assert_int_equal(files, 3);
    assert_int_equal(keys, 9);
    assert_int_equal(calls, 4);
}

/* The writer's check before each delete: a file the scan found but that
 * gained a hold before the write job ran is kept. */
typedef struct {
    mp_sql_job_t base;
    uint64_t file;
    int64_t older_than, now;
    bool yes;
    uint64_t blob;
    int done;
    mp_err_t rc;
} sweepable_job_t;

static mp_err_t sweepable_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    sweepable_job_t *j = (sweepable_job_t *)job;
    return mp_sqlite__file_sweepable(db, j->file, j->older_than, j->now, &j->yes, &j->blob);
}

static void sweepable_done(mp_sql_job_t *job, mp_err_t rc)
{
    sweepable_job_t *j = (sweepable_job_t *)job;
    j->rc = rc;
    j->done++;
}

static bool sweepable(fx_t *f, uint64_t file, int64_t older_than, int64_t now, uint64_t *blob)
{
    sweepable_job_t j = {.base = {.run = sweepable_run, .done = sweepable_done},
                         .file = file,
                         .older_than = older_than,
                         .now = now};
    assert_int_equal(mp_sqlite__write(f->s.st, &j.base), MP_OK);
    MPU_WAIT(&f->s.loop, &j.done, 1);
    assert_int_equal(j.rc, MP_OK);
    if (blob != NULL)
        *blob = j.blob;
    return j.yes;
}

static void test_sweep_check_again(void **state)
{
    fx_t *f = *state;
    int64_t now = mp_now_ms();
    create_res_t a = create_q(f, ALICE, 'a', "aa-1", 10, 0, 0);
    assert_int_equal(a.rc, MP_OK);
    uint64_t id = a.row.f.id, blob = 0;
    int64_t past = mp_now_ms() + 1;
    assert_true(sweepable(f, id, past, now, &blob));
    assert_int_equal(blob, a.row.f.blob_id);
    assert_false(sweepable(f, id, a.row.f.created_at, now, NULL)); /* within the grace */
    assert_false(sweepable(f, id + 1, past, now, NULL));           /* no such file */
    REF(f, id, 70001, GROUP);
    assert_false(sweepable(f, id, past, now, NULL));
    UNREF(f, 70001);
    exec_sql(f, "UPDATE users SET avatar_file_id = %llu WHERE id = %d", (unsigned long long)id,
             CAROL);
    assert_false(sweepable(f, id, past, now, NULL));
    exec_sql(f,
             "UPDATE users SET avatar_file_id = 0 WHERE id = %d;"
             "UPDATE conversations SET avatar_file_id = %llu WHERE id = %d",
             CAROL, (unsigned long long)id, GROUP);
    assert_false(sweepable(f, id, past, now, NULL));
    exec_sql(f,
             "UPDATE conversations SET avatar_file_id = 0 WHERE id = %d;"
             "INSERT INTO uploads(id, owner_id, length, file_id, created_at, expires_at)"
             " VALUES(900, %d, 10, %llu, 0, %lld)",
             GROUP, ALICE, (unsigned long long)id, (long long)now + 10);
    assert_false(sweepable(f, id, past, now, NULL));
    assert_true(sweepable(f, id, past, now + 11, NULL)); /* the session expired */
}

/* ---- secrets --------------------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    unsigned char v[64];
    size_t len;
} secret_res_t;

static void on_secret(mp_err_t rc, const unsigned char *v, size_t len, void *ud)
{
    secret_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->len = len;
    if (rc == MP_OK && len <= sizeof r->v)
        memcpy(r->v, v, len);
}

static secret_res_t secret(fx_t *f, const char *name, size_t len)
{
    secret_res_t r = {0};
    assert_int_equal(mp_store_secret(f->s.st, name, len, on_secret, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    return r;
}

static void test_secret_stable(void **state)
{
    fx_t *f = *state;
    secret_res_t a = secret(f, "url_key", 32);
    assert_int_equal(a.len, 32);
    static const unsigned char zero[32];
    assert_memory_not_equal(a.v, zero, 32);
    secret_res_t b = secret(f, "url_key", 32);
    assert_memory_equal(a.v, b.v, 32);
    secret_res_t other = secret(f, "other", 32);
    assert_memory_not_equal(a.v, other.v, 32);
    assert_int_equal(mp_store_secret(f->s.st, "", 32, on_secret, NULL), MP_ERR_BAD_REQUEST);
    assert_int_equal(mp_store_secret(f->s.st, "x", 0, on_secret, NULL), MP_ERR_BAD_REQUEST);

    /* A restart reads the same key. */
    mp_store_close(f->s.st);
    f->s.st = NULL;
    MPU_RUN_IDLE(&f->s.loop);
    char err[256];
    if (mp_store_open(f->s.dir, &f->s.loop, &f->s.st, err, sizeof err) != MP_OK)
        fail_msg("store: %s", err);
    secret_res_t c = secret(f, "url_key", 32);
    assert_int_equal(c.len, 32);
    assert_memory_equal(a.v, c.v, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_row_and_dedup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_refuses_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_owner_and_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_avatars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_plan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_shared_blob_and_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_check_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_stable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
