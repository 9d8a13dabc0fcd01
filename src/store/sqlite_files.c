/* Files in the SQLite store (store/files.h), the reading half: rows, the
 * access rule, references from messages, and the read jobs (get, list, blob
 * by content). The writes (create, upload sessions, usage, sweep, secrets)
 * are in sqlite_files_write.c. */
#include <stdio.h>
#include <string.h>

#include "store/files.h"
#include "store/sqlite_files_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"
#include "util/assert.h"

static const char *const class_names[] = {"file", "image", "audio", "video"};

const char *mp_file_class_name(mp_file_class_t c)
{
    return (unsigned)c < 4 ? class_names[c] : "file";
}

bool mp_file_class_parse(const char *s, mp_file_class_t *out)
{
    for (unsigned i = 0; i < 4; i++)
        if (strcmp(s, class_names[i]) == 0) {
            *out = (mp_file_class_t)i;
            return true;
        }
    return false;
}

const mp_file_rendition_t *mp_file_rendition(const mp_file_row_t *f, const char *name)
{
    for (size_t i = 0; i < f->nrend; i++)
        if (strcmp(f->rend[i].name, name) == 0)
            return &f->rend[i];
    return NULL;
}

/* ---- rows ------------------------------------------------------------------------ */

static void copy_text(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* Reads the columns of MP_SQLITE_FILE_COLS; out->meta is allocated. */
static void file_row_read(mp_sql_stmt_t *s, mp_file_row_t *out)
{
    out->id = col_u64(s, 0);
    out->owner_id = col_u64(s, 1);
    out->blob_id = col_u64(s, 2);
    copy_text(out->name, sizeof out->name, mp_sql_col_text(s, 3));
    out->size = col_u64(s, 4);
    out->created_at = mp_sql_col_i64(s, 5);
    copy_text(out->sha256, sizeof out->sha256, mp_sql_col_text(s, 6));
    copy_text(out->mime, sizeof out->mime, mp_sql_col_text(s, 7));
    copy_text(out->serve_mime, sizeof out->serve_mime, mp_sql_col_text(s, 8));
    copy_text(out->skey, sizeof out->skey, mp_sql_col_text(s, 9));
    out->serve_size = col_u64(s, 10);
    const char *cls = mp_sql_col_text(s, 11);
    if (cls == NULL || !mp_file_class_parse(cls, &out->cls))
        out->cls = MP_FILE_CLASS_FILE;
    const char *meta = mp_sql_col_text(s, 12);
    out->meta = mp_strdup(meta != NULL && meta[0] != '\0' ? meta : "{}");
    out->nrend = 0;
}

/* At most MP_FILE_RENDITIONS rows per blob (primary key (blob_id, name)). */
static const char SQL_RENDITIONS[] = "SELECT name, skey, mime, size, width, height FROM renditions"
                                     " WHERE blob_id = ?1 ORDER BY name LIMIT 4";

static mp_err_t renditions_read(mp_sql_conn_t *db, mp_file_row_t *out)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_RENDITIONS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, out->blob_id);
    int rc;
    out->nrend = 0;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW && out->nrend < MP_FILE_RENDITIONS) {
        mp_file_rendition_t *r = &out->rend[out->nrend++];
        copy_text(r->name, sizeof r->name, mp_sql_col_text(s, 0));
        copy_text(r->skey, sizeof r->skey, mp_sql_col_text(s, 1));
        copy_text(r->mime, sizeof r->mime, mp_sql_col_text(s, 2));
        r->size = col_u64(s, 3);
        r->width = mp_sql_col_int(s, 4);
        r->height = mp_sql_col_int(s, 5);
    }
    mp_sql_reset(s);
    return rc == MP_SQL_DONE || rc == MP_SQL_ROW ? MP_OK : mp_sql_err(db, rc);
}

/* Steps s (bound, selecting MP_SQLITE_FILE_COLS) for one row and reads it
 * with its renditions. MP_ERR_NOT_FOUND when there is no row; out->meta is
 * allocated only on MP_OK. */
static mp_err_t file_row_one(mp_sql_conn_t *db, mp_sql_stmt_t *s, mp_file_row_t *out)
{
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return rc == MP_SQL_DONE ? MP_ERR_NOT_FOUND : mp_sql_err(db, rc);
    file_row_read(s, out);
    mp_sql_reset(s);
    mp_err_t err = renditions_read(db, out);
    if (err != MP_OK) {
        mp_free(out->meta);
        out->meta = NULL;
    }
    return err;
}

#define FILE_COLS                                                                                  \
    "f.id, f.owner_id, f.blob_id, f.name, f.size, f.created_at, b.sha256, b.mime, b.serve_mime,"   \
    " b.skey, b.serve_size, b.class, b.meta"

static const char SQL_FILE_BY_ID[] =
    "SELECT " FILE_COLS " FROM files f JOIN blobs b ON b.id = f.blob_id WHERE f.id = ?1";

mp_err_t mp_sqlite__file_read(mp_sql_conn_t *db, uint64_t file_id, mp_file_row_t *out)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_FILE_BY_ID);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, file_id);
    return file_row_one(db, s, out);
}

/* ---- access ------------------------------------------------------------------------ */

static const char SQL_FILE_ACCESS[] =
    "SELECT " FILE_COLS " FROM files f JOIN blobs b ON b.id = f.blob_id"
    " WHERE f.id = ?1 AND " MP_SQLITE_FILE_ACCESS_RULE;

mp_err_t mp_sqlite__file_access(mp_sql_conn_t *db, uint64_t file_id, uint64_t user_id, bool guest,
                                uint64_t world_id, mp_file_row_t *out)
{
    MP_ASSERT(out != NULL);
    out->meta = NULL;
    if (file_id == 0)
        return MP_ERR_NOT_FOUND;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_FILE_ACCESS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, file_id);
    bind_u64(s, 2, user_id);
    mp_sql_bind_i64(s, 3, guest ? 1 : 0);
    bind_u64(s, 4, world_id);
    return file_row_one(db, s, out);
}

/* ---- references ---------------------------------------------------------------------- */

/* A message names its file once; a second add of the same pair changes nothing. */
static const char SQL_REF_ADD[] =
    "INSERT INTO file_refs(file_id, message_id, conversation_id) VALUES(?1, ?2, ?3)"
    " ON CONFLICT DO NOTHING";
static const char SQL_REFS_DROP[] = "DELETE FROM file_refs WHERE message_id = ?1";

mp_err_t mp_sqlite__file_ref_add(mp_sql_conn_t *db, uint64_t file_id, uint64_t message_id,
                                 uint64_t conversation_id)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_REF_ADD);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, file_id);
    bind_u64(s, 2, message_id);
    bind_u64(s, 3, conversation_id);
    return step_done(db, s);
}

mp_err_t mp_sqlite__file_refs_drop(mp_sql_conn_t *db, uint64_t message_id)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_REFS_DROP);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, message_id);
    return step_done(db, s);
}

/* ---- get (read) ------------------------------------------------------------------------ */

typedef struct get_job {
    mp_sql_job_t base;
    uint64_t file, user, world;
    bool guest;
    mp_file_row_t row;
    mp_file_fn cb;
    void *ud;
} get_job_t;

static mp_err_t get_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    get_job_t *j = (get_job_t *)job;
    return mp_sqlite__file_access(db, j->file, j->user, j->guest, j->world, &j->row);
}

static void row_done(mp_sql_job_t *job, mp_err_t rc)
{
    get_job_t *j = (get_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->row : NULL, j->ud);
    mp_free(j->row.meta);
    mp_free(j);
}

mp_err_t mp_store_file_get(mp_store_t *st, uint64_t file_id, uint64_t user_id, bool guest,
                           uint64_t world_id, mp_file_fn cb, void *ud)
{
    get_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = get_run;
    j->base.done = row_done;
    j->file = file_id;
    j->user = user_id;
    j->guest = guest;
    j->world = world_id;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}

/* ---- blob by content (read) --------------------------------------------------------------- */

typedef struct sha_job {
    get_job_t g; /* FIRST: row_done reads it */
    char sha[MP_FILE_SHA_HEX + 1];
} sha_job_t;

/* The blob alone: the file's columns are 0 / "" (store/files.h). */
static const char SQL_BLOB_BY_SHA[] =
    "SELECT 0, 0, b.id, '', 0, 0, b.sha256, b.mime, b.serve_mime, b.skey, b.serve_size, b.class,"
    " b.meta FROM blobs b WHERE b.sha256 = ?1";

mp_err_t mp_sqlite__blob_by_sha(mp_sql_conn_t *db, const char *sha256, mp_file_row_t *out)
{
    out->meta = NULL;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_BLOB_BY_SHA);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_text(s, 1, sha256, -1);
    return file_row_one(db, s, out);
}

static mp_err_t sha_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    sha_job_t *j = (sha_job_t *)job;
    return mp_sqlite__blob_by_sha(db, j->sha, &j->g.row);
}

mp_err_t mp_store_blob_by_sha(mp_store_t *st, const char *sha256, mp_file_fn cb, void *ud)
{
    MP_ASSERT(sha256 != NULL);
    sha_job_t *j = mp_calloc(1, sizeof *j);
    j->g.base.run = sha_run;
    j->g.base.done = row_done;
    /* A longer text is no SHA-256 in hex: cut, it matches nothing. */
    copy_text(j->sha, sizeof j->sha, sha256);
    j->g.cb = cb;
    j->g.ud = ud;
    return mp_sqlite__read_or_free(st, &j->g.base);
}

/* ---- list (read) ----------------------------------------------------------------------------- */

#define LIST_MAX 100

typedef struct list_job {
    mp_sql_job_t base;
    uint64_t user, before;
    size_t limit, n;
    bool more;
    mp_file_row_t *rows;
    mp_file_list_fn cb;
    void *ud;
} list_job_t;

/* files_owner (owner_id, id) gives the order and the page without sorting. */
static const char SQL_FILE_LIST[] =
    "SELECT " FILE_COLS " FROM files f JOIN blobs b ON b.id = f.blob_id"
    " WHERE f.owner_id = ?1 AND f.id < ?2 ORDER BY f.id DESC LIMIT ?3";

static mp_err_t list_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    list_job_t *j = (list_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_FILE_LIST);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    /* Ids fit in 63 bits (util/id.h), so INT64_MAX is above all of them. */
    mp_sql_bind_i64(s, 2, j->before == 0 || j->before > INT64_MAX ? INT64_MAX : (int64_t)j->before);
    mp_sql_bind_i64(s, 3, (int64_t)j->limit + 1);
    j->rows = mp_calloc(j->limit + 1, sizeof *j->rows);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW && j->n <= j->limit)
        file_row_read(s, &j->rows[j->n++]);
    mp_sql_reset(s);
    if (rc != MP_SQL_DONE && rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    if (j->n > j->limit) {
        j->more = true;
        mp_free(j->rows[j->limit].meta);
        j->rows[j->limit].meta = NULL;
        j->n = j->limit;
    }
    for (size_t i = 0; i < j->n; i++) {
        mp_err_t err = renditions_read(db, &j->rows[i]);
        if (err != MP_OK)
            return err;
    }
    return MP_OK;
}

static void list_done(mp_sql_job_t *job, mp_err_t rc)
{
    list_job_t *j = (list_job_t *)job;
    if (rc == MP_OK)
        j->cb(rc, j->rows, j->n, j->more, j->ud);
    else
        j->cb(rc, NULL, 0, false, j->ud);
    if (j->rows != NULL)
        for (size_t i = 0; i <= j->limit; i++)
            mp_free(j->rows[i].meta);
    mp_free(j->rows);
    mp_free(j);
}

mp_err_t mp_store_file_list(mp_store_t *st, uint64_t user_id, uint64_t before_id, size_t limit,
                            mp_file_list_fn cb, void *ud)
{
    list_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = list_run;
    j->base.done = list_done;
    j->user = user_id;
    j->before = before_id;
    j->limit = limit < 1 ? 1 : limit > LIST_MAX ? LIST_MAX : limit;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}
