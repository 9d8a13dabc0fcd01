/* The sweep of unreferenced files (store/files.h mp_store_file_sweep): one
 * write job per batch, so that nothing can reference a file between the
 * check and the delete (send, forward and avatar changes are write jobs too,
 * serialised with this one). */
#include <string.h>

#include "store/files.h"
#include "store/sqlite_files_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"
#include "util/assert.h"

typedef struct sweep_job {
    mp_sql_job_t base;
    int64_t older_than, now;
    size_t limit;
    uint64_t *ids; /* scratch: the rows of one kind picked for deletion */
    size_t nids;
    mp_file_sweep_out_t out;
    size_t cap_keys;
    mp_file_sweep_fn cb;
    void *ud;
} sweep_job_t;

/* Files past the grace that nothing holds: no message (file_refs primary
 * key), no user or group avatar (the partial avatar indexes; the literal
 * "> 0" terms let the planner use them), no session that this file
 * completed and that is still live (a client may still ask for it). The
 * grace counts from the upload, and the file row is created in the same
 * transaction as its blob, so a blob is never older than every file that
 * could still claim it. files_created gives the range. */
static const char SQL_SWEEP_FILES[] =
    "SELECT f.id FROM files f WHERE f.created_at < ?1"
    " AND NOT EXISTS(SELECT 1 FROM file_refs r WHERE r.file_id = f.id)"
    " AND NOT EXISTS(SELECT 1 FROM users u WHERE u.avatar_file_id = f.id"
    " AND u.avatar_file_id > 0)"
    " AND NOT EXISTS(SELECT 1 FROM conversations c WHERE c.avatar_file_id = f.id"
    " AND c.avatar_file_id > 0)"
    " AND NOT EXISTS(SELECT 1 FROM uploads p WHERE p.file_id = f.id AND p.expires_at >= ?2)"
    " ORDER BY f.created_at LIMIT ?3";
static const char SQL_FILE_DELETE[] = "DELETE FROM files WHERE id = ?1";

/* Blobs no file uses (files_blob answers each probe). Besides the files this
 * job deleted, this also finds blobs left by any other path that deletes
 * files rows. */
static const char SQL_SWEEP_BLOBS[] =
    "SELECT b.id FROM blobs b WHERE NOT EXISTS(SELECT 1 FROM files f WHERE f.blob_id = b.id)"
    " LIMIT ?1";
static const char SQL_BLOB_KEYS[] = "SELECT skey FROM blobs WHERE id = ?1"
                                    " UNION ALL SELECT skey FROM renditions WHERE blob_id = ?1";
static const char SQL_REND_DELETE[] = "DELETE FROM renditions WHERE blob_id = ?1";
static const char SQL_BLOB_DELETE[] = "DELETE FROM blobs WHERE id = ?1";

static const char SQL_SWEEP_UPLOADS[] =
    "SELECT id FROM uploads WHERE expires_at < ?1 ORDER BY expires_at LIMIT ?2";
static const char SQL_UPLOAD_DELETE[] = "DELETE FROM uploads WHERE id = ?1";

/* Collects the first column of s (bound) into j->ids (at most j->limit). */
static mp_err_t ids_collect(mp_sql_conn_t *db, sweep_job_t *j, mp_sql_stmt_t *s)
{
    j->nids = 0;
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW && j->nids < j->limit)
        j->ids[j->nids++] = col_u64(s, 0);
    mp_sql_reset(s);
    return rc == MP_SQL_DONE || rc == MP_SQL_ROW ? MP_OK : mp_sql_err(db, rc);
}

/* Runs the one-parameter statement sql with each collected id. */
static mp_err_t ids_each(mp_sql_conn_t *db, const sweep_job_t *j, const char *sql)
{
    for (size_t i = 0; i < j->nids; i++) {
        mp_sql_stmt_t *s = mp_sql_prepare(db, sql);
        if (s == NULL)
            return MP_ERR_INTERNAL;
        bind_u64(s, 1, j->ids[i]);
        mp_err_t rc = step_done(db, s);
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

static mp_err_t sweep_files(mp_sql_conn_t *db, sweep_job_t *j)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SWEEP_FILES);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, j->older_than);
    mp_sql_bind_i64(s, 2, j->now);
    mp_sql_bind_i64(s, 3, (int64_t)j->limit);
    mp_err_t rc = ids_collect(db, j, s);
    if (rc == MP_OK)
        rc = ids_each(db, j, SQL_FILE_DELETE);
    j->out.files = rc == MP_OK ? j->nids : 0;
    return rc;
}

static void key_push(sweep_job_t *j, const char *key)
{
    if (j->out.nskeys == j->cap_keys) {
        j->cap_keys = j->cap_keys ? j->cap_keys * 2 : 16;
        j->out.skeys = mp_realloc(j->out.skeys, j->cap_keys * sizeof *j->out.skeys);
    }
    char *dst = j->out.skeys[j->out.nskeys++];
    size_t n = key ? strlen(key) : 0;
    MP_ASSERT(n <= MP_FILE_KEY_MAX); /* keys are checked before they are stored */
    memcpy(dst, key ? key : "", n);
    dst[n] = '\0';
}

static mp_err_t blob_keys(mp_sql_conn_t *db, sweep_job_t *j, uint64_t blob)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_BLOB_KEYS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, blob);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        const char *k = mp_sql_col_text(s, 0);
        if (k != NULL && k[0] != '\0' && strlen(k) <= MP_FILE_KEY_MAX)
            key_push(j, k);
    }
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static mp_err_t sweep_blobs(mp_sql_conn_t *db, sweep_job_t *j)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SWEEP_BLOBS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, (int64_t)j->limit);
    mp_err_t rc = ids_collect(db, j, s);
    for (size_t i = 0; rc == MP_OK && i < j->nids; i++)
        rc = blob_keys(db, j, j->ids[i]);
    if (rc == MP_OK)
        rc = ids_each(db, j, SQL_REND_DELETE);
    return rc == MP_OK ? ids_each(db, j, SQL_BLOB_DELETE) : rc;
}

static mp_err_t sweep_uploads(mp_sql_conn_t *db, sweep_job_t *j)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SWEEP_UPLOADS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, j->now);
    mp_sql_bind_i64(s, 2, (int64_t)j->limit);
    mp_err_t rc = ids_collect(db, j, s);
    if (rc == MP_OK)
        rc = ids_each(db, j, SQL_UPLOAD_DELETE);
    if (rc != MP_OK)
        return rc;
    j->out.uploads = mp_malloc((j->nids ? j->nids : 1) * sizeof *j->out.uploads);
    memcpy(j->out.uploads, j->ids, j->nids * sizeof *j->ids);
    j->out.nuploads = j->nids;
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
    out_clear(j); /* a retried job starts over */
    mp_err_t rc = sweep_files(db, j);
    if (rc == MP_OK)
        rc = sweep_blobs(db, j);
    if (rc == MP_OK)
        rc = sweep_uploads(db, j);
    if (rc != MP_OK)
        out_clear(j); /* rolled back: nothing was deleted */
    return rc;
}

static void sweep_done(mp_sql_job_t *job, mp_err_t rc)
{
    sweep_job_t *j = (sweep_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->out : NULL, j->ud);
    out_clear(j);
    mp_free(j->ids);
    mp_free(j);
}

mp_err_t mp_store_file_sweep(mp_store_t *st, int64_t older_than, int64_t now, size_t limit,
                             mp_file_sweep_fn cb, void *ud)
{
    MP_ASSERT(cb != NULL);
    sweep_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = sweep_run;
    j->base.done = sweep_done;
    j->older_than = older_than;
    j->now = now;
    j->limit = limit < 1 ? 1 : limit > 10000 ? 10000 : limit;
    j->ids = mp_calloc(j->limit, sizeof *j->ids);
    j->cb = cb;
    j->ud = ud;
    mp_err_t rc = mp_sqlite__write(st, &j->base);
    if (rc != MP_OK) {
        mp_free(j->ids);
        mp_free(j);
    }
    return rc;
}
