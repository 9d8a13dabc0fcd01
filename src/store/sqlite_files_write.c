/* Files in the SQLite store (store/files.h), the writing half: creating a
 * file (quota, blob by content, renditions, the session it completes),
 * resumable upload sessions, usage, the sweep and server secrets. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "store/files.h"
#include "store/sqlite_files_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/clock.h"
#include "util/id.h"

static void copy_text(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* True when s (NULL counts as "") fits in a buffer of cap bytes. */
static bool fits(const char *s, size_t cap)
{
    return s == NULL || strlen(s) < cap;
}

/* ---- usage and quota -------------------------------------------------------------- */

/* What the owner keeps: every file's uploaded size (shared bytes count once
 * per upload) plus the declared length of every unfinished session that has
 * not expired (an expired one is dead: upload_get no longer finds it, and
 * the sweep drops it), except the session ?2 that is being completed (its
 * file is counted instead). files_owner and uploads_owner serve both sums. */
static const char SQL_USED[] =
    "SELECT (SELECT COALESCE(sum(size), 0) FROM files WHERE owner_id = ?1)"
    " + (SELECT COALESCE(sum(length), 0) FROM uploads WHERE owner_id = ?1 AND file_id = 0"
    " AND id <> ?2 AND expires_at > ?3),"
    " (SELECT count(*) FROM files WHERE owner_id = ?1)";

static mp_err_t used_read(mp_sql_conn_t *db, uint64_t owner, uint64_t except_upload, int64_t now,
                          uint64_t *used, uint64_t *files)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_USED);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, owner);
    bind_u64(s, 2, except_upload);
    mp_sql_bind_i64(s, 3, now);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return rc == MP_SQL_DONE ? MP_ERR_INTERNAL : mp_sql_err(db, rc);
    *used = col_u64(s, 0);
    if (files != NULL)
        *files = col_u64(s, 1);
    mp_sql_reset(s);
    return MP_OK;
}

/* MP_ERR_QUOTA_EXCEEDED when adding size bytes passes quota (0 = none). */
static mp_err_t quota_check(mp_sql_conn_t *db, uint64_t owner, uint64_t except_upload,
                            uint64_t size, uint64_t quota)
{
    if (quota == 0)
        return MP_OK;
    uint64_t used = 0;
    mp_err_t rc = used_read(db, owner, except_upload, mp_now_ms(), &used, NULL);
    if (rc != MP_OK)
        return rc;
    return size > quota || used > quota - size ? MP_ERR_QUOTA_EXCEEDED : MP_OK;
}

typedef struct usage_job {
    mp_sql_job_t base;
    uint64_t user, used, files;
    mp_file_usage_fn cb;
    void *ud;
} usage_job_t;

static mp_err_t usage_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    usage_job_t *j = (usage_job_t *)job;
    return used_read(db, j->user, 0, mp_now_ms(), &j->used, &j->files);
}

static void usage_done(mp_sql_job_t *job, mp_err_t rc)
{
    usage_job_t *j = (usage_job_t *)job;
    j->cb(rc, rc == MP_OK ? j->used : 0, rc == MP_OK ? j->files : 0, j->ud);
    mp_free(j);
}

mp_err_t mp_store_file_usage(mp_store_t *st, uint64_t user_id, mp_file_usage_fn cb, void *ud)
{
    usage_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = usage_run;
    j->base.done = usage_done;
    j->user = user_id;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}

/* ---- create (writer) ----------------------------------------------------------------- */

typedef struct create_job {
    mp_sql_job_t base;
    uint64_t owner, quota, upload, size, serve_size;
    mp_file_class_t cls;
    bool has_blob; /* the caller processed the content and stored its bytes */
    char name[MP_FILE_NAME_MAX + 1];
    char sha[MP_FILE_SHA_HEX + 1];
    char skey[MP_FILE_KEY_MAX + 1];
    char mime[MP_FILE_MIME_MAX + 1];
    char serve_mime[MP_FILE_MIME_MAX + 1];
    char *meta;
    mp_file_rendition_t rend[MP_FILE_RENDITIONS];
    size_t nrend;
    mp_file_row_t row;
    bool dup;
    mp_file_created_fn cb;
    void *ud;
} create_job_t;

static const char SQL_BLOB_INSERT[] =
    "INSERT INTO blobs(id, sha256, skey, size, serve_size, mime, serve_mime, class, meta,"
    " created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char SQL_REND_INSERT[] =
    "INSERT INTO renditions(blob_id, name, skey, mime, size, width, height)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_FILE_INSERT[] = "INSERT INTO files(id, owner_id, blob_id, name, size, "
                                      "created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_UPLOAD_DONE[] =
    "UPDATE uploads SET file_id = ?2 WHERE id = ?1 AND owner_id = ?3 AND file_id = 0";

static mp_err_t blob_insert(mp_sql_conn_t *db, const create_job_t *j, uint64_t id, int64_t now)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_BLOB_INSERT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, id);
    mp_sql_bind_text(s, 2, j->sha, -1);
    mp_sql_bind_text(s, 3, j->skey, -1);
    bind_u64(s, 4, j->size);
    bind_u64(s, 5, j->serve_size);
    mp_sql_bind_text(s, 6, j->mime, -1);
    mp_sql_bind_text(s, 7, j->serve_mime, -1);
    mp_sql_bind_text(s, 8, mp_file_class_name(j->cls), -1);
    mp_sql_bind_text(s, 9, j->meta, -1);
    mp_sql_bind_i64(s, 10, now);
    mp_err_t rc = step_done(db, s);
    for (size_t i = 0; rc == MP_OK && i < j->nrend; i++) {
        const mp_file_rendition_t *r = &j->rend[i];
        if ((s = mp_sql_prepare(db, SQL_REND_INSERT)) == NULL)
            return MP_ERR_INTERNAL;
        bind_u64(s, 1, id);
        mp_sql_bind_text(s, 2, r->name, -1);
        mp_sql_bind_text(s, 3, r->skey, -1);
        mp_sql_bind_text(s, 4, r->mime, -1);
        bind_u64(s, 5, r->size);
        mp_sql_bind_i64(s, 6, r->width);
        mp_sql_bind_i64(s, 7, r->height);
        rc = step_done(db, s);
    }
    return rc;
}

/* The blob for the new file: the one that has this content already (then
 * ours, if given, is a duplicate), else ours, inserted now. */
static mp_err_t blob_pick(mp_sql_conn_t *db, create_job_t *j, uint64_t *blob_id, int64_t now)
{
    mp_file_row_t known = {0};
    mp_err_t rc = mp_sqlite__blob_by_sha(db, j->sha, &known);
    if (rc == MP_OK) {
        *blob_id = known.blob_id;
        /* The same key again (a retried call) is ours, not garbage: the
         * caller must not delete the bytes the row points at. */
        j->dup = j->has_blob && strcmp(known.skey, j->skey) != 0;
        mp_free(known.meta);
        return MP_OK;
    }
    if (rc != MP_ERR_NOT_FOUND || !j->has_blob)
        return rc;
    *blob_id = mp_id_next();
    return blob_insert(db, j, *blob_id, now);
}

static mp_err_t create_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    create_job_t *j = (create_job_t *)job;
    j->dup = false;
    mp_err_t rc = quota_check(db, j->owner, j->upload, j->size, j->quota);
    if (rc != MP_OK)
        return rc;
    int64_t now = mp_now_ms();
    uint64_t blob_id = 0;
    if ((rc = blob_pick(db, j, &blob_id, now)) != MP_OK)
        return rc;
    uint64_t id = mp_id_next();
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_FILE_INSERT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, id);
    bind_u64(s, 2, j->owner);
    bind_u64(s, 3, blob_id);
    mp_sql_bind_text(s, 4, j->name, -1);
    bind_u64(s, 5, j->size);
    mp_sql_bind_i64(s, 6, now);
    if ((rc = step_done(db, s)) != MP_OK)
        return rc;
    if (j->upload != 0) {
        if ((s = mp_sql_prepare(db, SQL_UPLOAD_DONE)) == NULL)
            return MP_ERR_INTERNAL;
        bind_u64(s, 1, j->upload);
        bind_u64(s, 2, id);
        bind_u64(s, 3, j->owner);
        if ((rc = step_done(db, s)) != MP_OK)
            return rc;
        if (mp_sql_changes(db) == 0)
            return MP_ERR_NOT_FOUND; /* deleted, swept or completed meanwhile */
    }
    return mp_sqlite__file_read(db, id, &j->row);
}

static void create_done(mp_sql_job_t *job, mp_err_t rc)
{
    create_job_t *j = (create_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->row : NULL, rc == MP_OK && j->dup, j->ud);
    mp_free(j->row.meta);
    mp_free(j->meta);
    mp_free(j);
}

static bool create_in_ok(const mp_file_create_in_t *in)
{
    const mp_file_blob_in_t *b = &in->blob;
    if (b->sha256 == NULL || !fits(b->sha256, MP_FILE_SHA_HEX + 1) ||
        !fits(in->name, MP_FILE_NAME_MAX + 1) || b->nrend > MP_FILE_RENDITIONS)
        return false;
    if (b->skey == NULL)
        return true;
    return b->skey[0] != '\0' && fits(b->skey, MP_FILE_KEY_MAX + 1) &&
           fits(b->mime, MP_FILE_MIME_MAX + 1) && fits(b->serve_mime, MP_FILE_MIME_MAX + 1) &&
           (b->nrend == 0 || b->rend != NULL);
}

mp_err_t mp_store_file_create(mp_store_t *st, const mp_file_create_in_t *in, mp_file_created_fn cb,
                              void *ud)
{
    MP_ASSERT(in != NULL && cb != NULL);
    if (!create_in_ok(in))
        return MP_ERR_BAD_REQUEST; /* a caller's bug: nothing is cut silently */
    const mp_file_blob_in_t *b = &in->blob;
    create_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = create_run;
    j->base.done = create_done;
    j->owner = in->owner_id;
    j->quota = in->quota;
    j->upload = in->upload_id;
    j->size = b->size;
    j->serve_size = b->serve_size;
    j->cls = b->cls;
    j->has_blob = b->skey != NULL;
    copy_text(j->name, sizeof j->name, in->name);
    copy_text(j->sha, sizeof j->sha, b->sha256);
    copy_text(j->skey, sizeof j->skey, b->skey);
    copy_text(j->mime, sizeof j->mime, b->mime);
    copy_text(j->serve_mime, sizeof j->serve_mime, b->serve_mime);
    j->meta = mp_strdup(b->meta != NULL && b->meta[0] != '\0' ? b->meta : "{}");
    if (j->has_blob)
        for (size_t i = 0; i < b->nrend; i++)
            j->rend[j->nrend++] = b->rend[i];
    j->cb = cb;
    j->ud = ud;
    mp_err_t rc = mp_sqlite__write(st, &j->base);
    if (rc != MP_OK) {
        mp_free(j->meta);
        mp_free(j);
    }
    return rc;
}

/* ---- upload sessions ----------------------------------------------------------------- */

typedef struct upload_job {
    mp_sql_job_t base;
    mp_upload_row_t row;
    uint64_t quota;
    int64_t now;
    mp_upload_fn cb;
    void (*del_cb)(mp_err_t rc, void *ud);
    void *ud;
} upload_job_t;

static const char SQL_UPLOAD_INSERT[] =
    "INSERT INTO uploads(id, owner_id, length, name, file_id, created_at, expires_at)"
    " VALUES(?1, ?2, ?3, ?4, 0, ?5, ?6)";

static mp_err_t upload_create_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    upload_job_t *j = (upload_job_t *)job;
    mp_err_t rc = quota_check(db, j->row.owner_id, 0, j->row.length, j->quota);
    if (rc != MP_OK)
        return rc;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_UPLOAD_INSERT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->row.id);
    bind_u64(s, 2, j->row.owner_id);
    bind_u64(s, 3, j->row.length);
    mp_sql_bind_text(s, 4, j->row.name, -1);
    mp_sql_bind_i64(s, 5, j->row.created_at);
    mp_sql_bind_i64(s, 6, j->row.expires_at);
    return step_done(db, s);
}

static void upload_done(mp_sql_job_t *job, mp_err_t rc)
{
    upload_job_t *j = (upload_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->row : NULL, j->ud);
    mp_free(j);
}

mp_err_t mp_store_upload_create(mp_store_t *st, const mp_upload_row_t *u, uint64_t quota,
                                mp_upload_fn cb, void *ud)
{
    MP_ASSERT(u != NULL && cb != NULL);
    upload_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = upload_create_run;
    j->base.done = upload_done;
    j->row = *u;
    j->row.name[MP_FILE_NAME_MAX] = '\0';
    j->row.file_id = 0;
    j->quota = quota;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}

static const char SQL_UPLOAD_GET[] =
    "SELECT id, owner_id, length, name, file_id, created_at, expires_at FROM uploads"
    " WHERE id = ?1 AND owner_id = ?2 AND expires_at > ?3";

static mp_err_t upload_get_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    upload_job_t *j = (upload_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_UPLOAD_GET);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->row.id);
    bind_u64(s, 2, j->row.owner_id);
    mp_sql_bind_i64(s, 3, j->now);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return rc == MP_SQL_DONE ? MP_ERR_NOT_FOUND : mp_sql_err(db, rc);
    mp_upload_row_t *u = &j->row;
    u->id = col_u64(s, 0);
    u->owner_id = col_u64(s, 1);
    u->length = col_u64(s, 2);
    copy_text(u->name, sizeof u->name, mp_sql_col_text(s, 3));
    u->file_id = col_u64(s, 4);
    u->created_at = mp_sql_col_i64(s, 5);
    u->expires_at = mp_sql_col_i64(s, 6);
    mp_sql_reset(s);
    return MP_OK;
}

mp_err_t mp_store_upload_get(mp_store_t *st, uint64_t id, uint64_t owner_id, int64_t now,
                             mp_upload_fn cb, void *ud)
{
    MP_ASSERT(cb != NULL);
    upload_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = upload_get_run;
    j->base.done = upload_done;
    j->row.id = id;
    j->row.owner_id = owner_id;
    j->now = now;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}

static const char SQL_UPLOAD_DELETE[] = "DELETE FROM uploads WHERE id = ?1 AND owner_id = ?2";

static mp_err_t upload_delete_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    upload_job_t *j = (upload_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_UPLOAD_DELETE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->row.id);
    bind_u64(s, 2, j->row.owner_id);
    mp_err_t rc = step_done(db, s);
    return rc == MP_OK && mp_sql_changes(db) == 0 ? MP_ERR_NOT_FOUND : rc;
}

static void upload_delete_done(mp_sql_job_t *job, mp_err_t rc)
{
    upload_job_t *j = (upload_job_t *)job;
    j->del_cb(rc, j->ud);
    mp_free(j);
}

mp_err_t mp_store_upload_delete(mp_store_t *st, uint64_t id, uint64_t owner_id,
                                void (*cb)(mp_err_t rc, void *ud), void *ud)
{
    MP_ASSERT(cb != NULL);
    upload_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = upload_delete_run;
    j->base.done = upload_delete_done;
    j->row.id = id;
    j->row.owner_id = owner_id;
    j->del_cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}

/* ---- server secrets (writer) ----------------------------------------------------------- */

#define SECRET_NAME_MAX 64
#define SECRET_LEN_MAX 1024

typedef struct secret_job {
    mp_sql_job_t base;
    char name[SECRET_NAME_MAX + 1];
    size_t len;
    unsigned char *value;
    size_t value_len;
    mp_secret_fn cb;
    void *ud;
} secret_job_t;

static const char SQL_SECRET_GET[] = "SELECT value FROM server_secrets WHERE name = ?1";
/* Another process on the same database may have made it first: ours is
 * then dropped and both read the same value back. */
static const char SQL_SECRET_ADD[] =
    "INSERT INTO server_secrets(name, value) VALUES(?1, ?2) ON CONFLICT DO NOTHING";

/* The stored value into j (MP_ERR_NOT_FOUND when there is none). */
static mp_err_t secret_read(mp_sql_conn_t *db, secret_job_t *j)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SECRET_GET);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_text(s, 1, j->name, -1);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return rc == MP_SQL_DONE ? MP_ERR_NOT_FOUND : mp_sql_err(db, rc);
    int n = mp_sql_col_bytes(s, 0);
    const void *v = mp_sql_col_blob(s, 0);
    if (n <= 0 || v == NULL) {
        mp_sql_reset(s);
        return MP_ERR_INTERNAL; /* an empty secret protects nothing */
    }
    j->value = mp_malloc((size_t)n);
    memcpy(j->value, v, (size_t)n);
    j->value_len = (size_t)n;
    mp_sql_reset(s);
    return MP_OK;
}

static mp_err_t secret_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    secret_job_t *j = (secret_job_t *)job;
    mp_err_t rc = secret_read(db, j);
    if (rc != MP_ERR_NOT_FOUND)
        return rc;
    unsigned char fresh[SECRET_LEN_MAX];
    randombytes_buf(fresh, j->len);
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SECRET_ADD);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_text(s, 1, j->name, -1);
    mp_sql_bind_blob(s, 2, fresh, (int)j->len);
    rc = step_done(db, s);
    sodium_memzero(fresh, sizeof fresh);
    return rc != MP_OK ? rc : secret_read(db, j);
}

static void secret_done(mp_sql_job_t *job, mp_err_t rc)
{
    secret_job_t *j = (secret_job_t *)job;
    if (rc == MP_OK)
        j->cb(rc, j->value, j->value_len, j->ud);
    else
        j->cb(rc, NULL, 0, j->ud);
    if (j->value != NULL) {
        sodium_memzero(j->value, j->value_len);
        mp_free(j->value);
    }
    mp_free(j);
}

mp_err_t mp_store_secret(mp_store_t *st, const char *name, size_t len, mp_secret_fn cb, void *ud)
{
    MP_ASSERT(name != NULL && cb != NULL);
    if (name[0] == '\0' || strlen(name) > SECRET_NAME_MAX || len == 0 || len > SECRET_LEN_MAX)
        return MP_ERR_BAD_REQUEST;
    secret_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = secret_run;
    j->base.done = secret_done;
    copy_text(j->name, sizeof j->name, name);
    j->len = len;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}
