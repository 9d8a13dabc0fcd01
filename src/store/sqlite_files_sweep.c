/* The sweep of unreferenced files (store/files.h mp_store_file_sweep).
 *
 * One batch is two jobs. A read job looks for candidates: the files past
 * the grace that nothing holds and the blobs no file uses. Finding them
 * walks every old file (and every blob), which takes a fraction of a second
 * per million rows: on a reader that costs nobody anything, on the writer it
 * would hold every send for that long. Then one write job checks each
 * candidate again by id, with the same rule, and deletes it in the same
 * transaction, so nothing can reference a file between the check that
 * counts and the delete (send, forward and avatar changes are write jobs
 * too, serialised with this one). A candidate that gained a reference
 * meanwhile is simply kept. */
#include <string.h>

#include "store/files.h"
#include "store/sqlite_files_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"
#include "util/assert.h"

#define SWEEP_LIMIT_MAX 10000

/* Nothing holds file f: no message (file_refs primary key), no user or
 * group avatar (the partial avatar indexes; the literal "> 0" terms let the
 * planner use them), no session that this file completed and that is still
 * live at ?2 (its client may still ask for the file). */
#define UNHELD                                                                                     \
    " NOT EXISTS(SELECT 1 FROM file_refs r WHERE r.file_id = f.id)"                                \
    " AND NOT EXISTS(SELECT 1 FROM users u WHERE u.avatar_file_id = f.id"                          \
    " AND u.avatar_file_id > 0)"                                                                   \
    " AND NOT EXISTS(SELECT 1 FROM conversations c WHERE c.avatar_file_id = f.id"                  \
    " AND c.avatar_file_id > 0)"                                                                   \
    " AND NOT EXISTS(SELECT 1 FROM uploads p WHERE p.file_id = f.id AND p.expires_at >= ?2)"

/* The grace counts from the upload (?1 = now - grace), and a file row is
 * created in the same transaction as its blob, so a new blob always has a
 * file younger than the grace until that file is swept. files_created
 * gives the range. */
static const char SQL_SCAN_FILES[] =
    "SELECT f.id FROM files f WHERE f.created_at < ?1 AND" UNHELD " ORDER BY f.created_at LIMIT ?3";
static const char SQL_CHECK_FILE[] =
    "SELECT f.blob_id FROM files f WHERE f.id = ?3 AND f.created_at < ?1 AND" UNHELD;
static const char SQL_FILE_DELETE[] = "DELETE FROM files WHERE id = ?1";

/* Blobs no file uses (files_blob answers each probe). Besides those of the
 * files a batch deleted, this finds blobs left by any other path that
 * deletes file rows. */
static const char SQL_SCAN_BLOBS[] =
    "SELECT b.id FROM blobs b WHERE NOT EXISTS(SELECT 1 FROM files f WHERE f.blob_id = b.id)"
    " LIMIT ?1";
static const char SQL_CHECK_BLOB[] =
    "SELECT skey FROM blobs b WHERE b.id = ?1"
    " AND NOT EXISTS(SELECT 1 FROM files f WHERE f.blob_id = b.id)";
static const char SQL_REND_KEYS[] = "SELECT skey FROM renditions WHERE blob_id = ?1";
static const char SQL_REND_DELETE[] = "DELETE FROM renditions WHERE blob_id = ?1";
static const char SQL_BLOB_DELETE[] = "DELETE FROM blobs WHERE id = ?1";

/* uploads_expires gives the range: cheap on the writer. */
static const char SQL_SCAN_UPLOADS[] =
    "SELECT id FROM uploads WHERE expires_at < ?1 ORDER BY expires_at LIMIT ?2";
static const char SQL_UPLOAD_DELETE[] = "DELETE FROM uploads WHERE id = ?1";

typedef struct idlist {
    uint64_t *v;
    size_t n, cap;
} idlist_t;

static void idlist_push(idlist_t *l, uint64_t id)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = mp_realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = id;
}

typedef struct sweep_job {
    mp_sql_job_t base;
    mp_store_t *st;
    int64_t older_than, now;
    size_t limit;
    idlist_t files, blobs; /* candidates found by the read job */
    mp_file_sweep_out_t out;
    size_t cap_keys;
    mp_file_sweep_fn cb;
    void *ud;
} sweep_job_t;

/* Steps s (bound) and appends its first column to l, at most max rows. */
static mp_err_t ids_collect(mp_sql_conn_t *db, mp_sql_stmt_t *s, idlist_t *l, size_t max)
{
    int rc = MP_SQL_DONE;
    while (l->n < max && (rc = mp_sql_step(s)) == MP_SQL_ROW)
        idlist_push(l, col_u64(s, 0));
    if (rc == MP_SQL_ROW)
        rc = MP_SQL_DONE; /* stopped at max */
    mp_sql_reset(s);
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static mp_err_t exec_id(mp_sql_conn_t *db, const char *sql, uint64_t id)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, sql);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, id);
    return step_done(db, s);
}

/* ---- the scan (reader) -------------------------------------------------------------- */

static mp_err_t scan_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    sweep_job_t *j = (sweep_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SCAN_FILES);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, j->older_than);
    mp_sql_bind_i64(s, 2, j->now);
    mp_sql_bind_i64(s, 3, (int64_t)j->limit);
    mp_err_t rc = ids_collect(db, s, &j->files, j->limit);
    if (rc != MP_OK)
        return rc;
    if ((s = mp_sql_prepare(db, SQL_SCAN_BLOBS)) == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, (int64_t)j->limit);
    return ids_collect(db, s, &j->blobs, j->limit);
}

/* ---- the check and the deletes (writer) ----------------------------------------------- */

/* Whether file_id may go now (the rule of SQL_SCAN_FILES, by id); *blob_id
 * gets its blob. Shared with a test through sqlite_files_int.h. */
mp_err_t mp_sqlite__file_sweepable(mp_sql_conn_t *db, uint64_t file_id, int64_t older_than,
                                   int64_t now, bool *yes, uint64_t *blob_id)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_CHECK_FILE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, older_than);
    mp_sql_bind_i64(s, 2, now);
    bind_u64(s, 3, file_id);
    int rc = mp_sql_step(s);
    *yes = rc == MP_SQL_ROW;
    if (rc == MP_SQL_ROW) {
        *blob_id = col_u64(s, 0);
        mp_sql_reset(s);
        return MP_OK;
    }
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static mp_err_t sweep_files(mp_sql_conn_t *db, sweep_job_t *j)
{
    for (size_t i = 0; i < j->files.n; i++) {
        bool yes = false;
        uint64_t blob = 0;
        mp_err_t rc =
            mp_sqlite__file_sweepable(db, j->files.v[i], j->older_than, j->now, &yes, &blob);
        if (rc == MP_OK && yes)
            rc = exec_id(db, SQL_FILE_DELETE, j->files.v[i]);
        if (rc != MP_OK)
            return rc;
        if (yes) {
            j->out.files++;
            idlist_push(&j->blobs, blob); /* perhaps its last file */
        }
    }
    return MP_OK;
}

static void key_push(sweep_job_t *j, const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > MP_FILE_KEY_MAX)
        return; /* keys are checked before they are stored: never here */
    if (j->out.nskeys == j->cap_keys) {
        j->cap_keys = j->cap_keys ? j->cap_keys * 2 : 16;
        j->out.skeys = mp_realloc(j->out.skeys, j->cap_keys * sizeof *j->out.skeys);
    }
    memcpy(j->out.skeys[j->out.nskeys++], key, n + 1);
}

/* Deletes blob_id if no file uses it, handing back its keys and those of its
 * renditions; *gone says whether it did (a blob listed twice, or reused by
 * a new upload meanwhile, stays). */
static mp_err_t blob_sweep(mp_sql_conn_t *db, sweep_job_t *j, uint64_t blob_id, bool *gone)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_CHECK_BLOB);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, blob_id);
    int rc = mp_sql_step(s);
    *gone = rc == MP_SQL_ROW;
    if (rc != MP_SQL_ROW)
        return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
    const char *k = mp_sql_col_text(s, 0);
    key_push(j, k != NULL ? k : "");
    mp_sql_reset(s);
    if ((s = mp_sql_prepare(db, SQL_REND_KEYS)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, blob_id);
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        k = mp_sql_col_text(s, 0);
        key_push(j, k != NULL ? k : "");
    }
    if (rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    mp_err_t err = exec_id(db, SQL_REND_DELETE, blob_id);
    return err != MP_OK ? err : exec_id(db, SQL_BLOB_DELETE, blob_id);
}

static mp_err_t sweep_blobs(mp_sql_conn_t *db, sweep_job_t *j)
{
    size_t deleted = 0;
    for (size_t i = 0; i < j->blobs.n && deleted < j->limit; i++) {
        bool gone = false;
        mp_err_t rc = blob_sweep(db, j, j->blobs.v[i], &gone);
        if (rc != MP_OK)
            return rc;
        deleted += gone;
    }
    return MP_OK;
}

static mp_err_t sweep_uploads(mp_sql_conn_t *db, sweep_job_t *j)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SCAN_UPLOADS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, j->now);
    mp_sql_bind_i64(s, 2, (int64_t)j->limit);
    idlist_t ids = {0};
    mp_err_t rc = ids_collect(db, s, &ids, j->limit);
    for (size_t i = 0; rc == MP_OK && i < ids.n; i++)
        rc = exec_id(db, SQL_UPLOAD_DELETE, ids.v[i]);
    if (rc != MP_OK) {
        mp_free(ids.v);
        return rc;
    }
    j->out.uploads = ids.v;
    j->out.nuploads = ids.n;
    return MP_OK;
}

static void out_clear(sweep_job_t *j)
{
    mp_free(j->out.skeys);
    mp_free(j->out.uploads);
    memset(&j->out, 0, sizeof j->out);
    j->cap_keys = 0;
}

static mp_err_t sweep_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    sweep_job_t *j = (sweep_job_t *)job;
    size_t scanned_blobs = j->blobs.n;
    out_clear(j);
    mp_err_t rc = sweep_files(db, j);
    if (rc == MP_OK)
        rc = sweep_blobs(db, j);
    if (rc == MP_OK)
        rc = sweep_uploads(db, j);
    if (rc != MP_OK)
        out_clear(j);           /* rolled back: nothing was deleted */
    j->blobs.n = scanned_blobs; /* the job leaves its input as it found it */
    return rc;
}

static void sweep_free(sweep_job_t *j)
{
    out_clear(j);
    mp_free(j->files.v);
    mp_free(j->blobs.v);
    mp_free(j);
}

static void sweep_done(mp_sql_job_t *job, mp_err_t rc)
{
    sweep_job_t *j = (sweep_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->out : NULL, j->ud);
    sweep_free(j);
}

/* The scan is done (loop thread): the same job goes on to the writer. */
static void scan_done(mp_sql_job_t *job, mp_err_t rc)
{
    sweep_job_t *j = (sweep_job_t *)job;
    if (rc == MP_OK) {
        j->base.run = sweep_run;
        j->base.done = sweep_done;
        rc = mp_sqlite__write(j->st, &j->base);
    }
    if (rc != MP_OK) {
        j->cb(rc, NULL, j->ud);
        sweep_free(j);
    }
}

mp_err_t mp_store_file_sweep(mp_store_t *st, int64_t older_than, int64_t now, size_t limit,
                             mp_file_sweep_fn cb, void *ud)
{
    MP_ASSERT(cb != NULL);
    sweep_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = scan_run;
    j->base.done = scan_done;
    j->st = st;
    j->older_than = older_than;
    j->now = now;
    j->limit = limit < 1 ? 1 : limit > SWEEP_LIMIT_MAX ? SWEEP_LIMIT_MAX : limit;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}
