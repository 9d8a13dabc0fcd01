/* From the complete bytes of an upload to a file record, in the order of
 * docs/media.md ("Order of an upload's completion"):
 *   1. pool: SHA-256 of the bytes, fsync;
 *   2. store (read): a blob of the same content? then 4 with it;
 *   3. pool: media processing (heavy queue), then the served copy and the
 *      renditions stored under their keys (mp_blobs_put: durable);
 *   4. store (write): the file record, quota checked again; a blob of the
 *      same content that appeared meanwhile is used instead of ours (dup),
 *      ours is then garbage;
 *   5. pool: the upload's file, media's leftovers and garbage keys deleted;
 *      then the caller's callback.
 * One fin_t carries everything from step to step; it owns the upload's path
 * (always deleted), the media result and the keys it stored (deleted unless
 * the record uses them). A blob row never exists before its bytes are on
 * disk, so a crash between steps leaves only unreferenced files in tmp/
 * (emptied at start) or keys no row names. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sodium.h> /* sodium_bin2hex */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "files/files_int.h"
#include "util/alloc.h"
#include "util/id.h"
#include "util/log.h"

/* Bytes read per call while hashing: few calls, bounded memory. */
#define HASH_PIECE (1024 * 1024)

typedef struct fin {
    mp_files_t *files;
    mp_files_final_fn cb;
    void *ud;
    uint64_t owner, upload_id;
    char name[MP_FILE_NAME_MAX + 1];
    char path[MP_MEDIA_PATH_MAX]; /* the upload's bytes: deleted at the end */
    /* 1 */
    char sha[MP_FILE_SHA_HEX + 1];
    uint64_t size;
    int io_err; /* -errno of the last pool step */
    /* 3 */
    bool processed; /* media ran: media holds a result to free */
    char prefix[MP_MEDIA_PATH_MAX - 16];
    mp_media_result_t media;
    mp_media_rc_t mrc;
    /* Of the served bytes (sha256 "-" id: 85 characters); renditions add
     * "." and their name, and must still fit MP_FILE_KEY_MAX. */
    char key[MP_FILE_KEY_MAX - MP_FILE_REND_NAME_MAX];
    mp_file_rendition_t rend[MP_FILE_RENDITIONS];
    size_t nrend;
    char stored[1 + MP_FILE_RENDITIONS][MP_FILE_KEY_MAX + 1]; /* keys put so far */
    size_t nstored;
    bool keys_used; /* the record names our keys: they are not garbage */
    /* the outcome */
    mp_err_t rc;
    char msg[256];
    mp_file_row_t row;
    bool have_row;
} fin_t;

static void process(fin_t *f);
static void create(fin_t *f, bool known);
static void cleanup(fin_t *f);

static void fail(fin_t *f, mp_err_t rc, const char *msg)
{
    f->rc = rc;
    snprintf(f->msg, sizeof f->msg, "%s", msg ? msg : "");
    cleanup(f);
}

/* ---- 1. hash ---------------------------------------------------------------------- */

static int hash_fd(int fd, unsigned char *buf, unsigned char md[32], uint64_t *size)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return -ENOMEM;
    }
    int err = 0;
    *size = 0;
    for (;;) {
        ssize_t got = read(fd, buf, HASH_PIECE);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            err = -errno;
            break;
        }
        if (got == 0)
            break;
        EVP_DigestUpdate(ctx, buf, (size_t)got);
        *size += (uint64_t)got;
    }
    unsigned mdlen = 0;
    if (err == 0 && EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
        err = -EIO;
    EVP_MD_CTX_free(ctx);
    return err;
}

static void hash_run(void *ud)
{
    fin_t *f = ud;
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        f->io_err = -errno;
        return;
    }
    unsigned char *buf = mp_malloc(HASH_PIECE);
    unsigned char md[32];
    f->io_err = hash_fd(fd, buf, md, &f->size);
    mp_free(buf);
    /* The bytes are durable before anything points at them (put renames
     * this very file, or a copy made from it). */
    if (f->io_err == 0 && fsync(fd) != 0)
        f->io_err = -errno;
    close(fd);
    if (f->io_err == 0)
        sodium_bin2hex(f->sha, sizeof f->sha, md, sizeof md);
}

static void lookup_known(fin_t *f);

static void hash_done(void *ud)
{
    fin_t *f = ud;
    if (f->io_err != 0) {
        mp_log_error("upload %s: reading failed: %s", f->path, uv_strerror(f->io_err));
        fail(f, MP_ERR_INTERNAL, "the upload could not be read back");
        return;
    }
    if (f->size == 0) {
        fail(f, MP_ERR_BAD_REQUEST, "the file is empty");
        return;
    }
    lookup_known(f);
}

/* ---- 2. known content --------------------------------------------------------------- */

static void on_known(mp_err_t rc, const mp_file_row_t *row, void *ud)
{
    (void)row;
    fin_t *f = ud;
    mp_files__release(f->files);
    if (rc == MP_OK)
        create(f, true);
    else if (rc == MP_ERR_NOT_FOUND)
        process(f);
    else
        fail(f, rc, NULL);
}

static void lookup_known(fin_t *f)
{
    mp_files__hold(f->files);
    mp_err_t rc = mp_store_blob_by_sha(f->files->ctx->store, f->sha, on_known, f);
    if (rc != MP_OK) {
        mp_files__release(f->files);
        fail(f, rc, NULL);
    }
}

/* ---- 3. processing and storing ------------------------------------------------------- */

static void media_run(void *ud)
{
    fin_t *f = ud;
    f->mrc = mp_media_process(f->path, f->prefix, &f->files->limits, &f->media);
}

/* Puts the file at path under key; remembers the key (garbage unless the
 * record ends up using it). */
static int put(fin_t *f, const char *path, const char *key)
{
    int rc = mp_blobs_put(f->files->blobs, path, key);
    if (rc == 0) {
        size_t n = strlen(key);
        MP_ASSERT(n < sizeof f->stored[0] && f->nstored < 1 + MP_FILE_RENDITIONS);
        memcpy(f->stored[f->nstored++], key, n + 1);
    }
    return rc;
}

static void put_run(void *ud)
{
    fin_t *f = ud;
    const mp_media_result_t *m = &f->media;
    /* Served as uploaded: the upload's own file becomes the blob. */
    f->io_err = put(f, m->serve_path[0] != '\0' ? m->serve_path : f->path, f->key);
    for (size_t i = 0; f->io_err == 0 && i < m->nrend && i < MP_FILE_RENDITIONS; i++) {
        const mp_media_rendition_t *mr = &m->rend[i];
        mp_file_rendition_t *r = &f->rend[f->nrend];
        snprintf(r->name, sizeof r->name, "%s", mr->name);
        snprintf(r->skey, sizeof r->skey, "%s.%s", f->key, mr->name);
        snprintf(r->mime, sizeof r->mime, "%s", mr->mime);
        r->size = mr->size;
        r->width = mr->width;
        r->height = mr->height;
        f->io_err = put(f, mr->path, r->skey);
        if (f->io_err == 0)
            f->nrend++;
    }
}

static void put_done(void *ud)
{
    fin_t *f = ud;
    if (f->io_err != 0) {
        mp_log_error("upload: storing %s failed: %s", f->key, uv_strerror(f->io_err));
        fail(f, MP_ERR_INTERNAL, "the file could not be stored");
        return;
    }
    create(f, false);
}

static void media_done(void *ud)
{
    fin_t *f = ud;
    switch (f->mrc) {
    case MP_MEDIA_OK:
        mp_files__work(f->files, false, put_run, put_done, f);
        return;
    case MP_MEDIA_BAD:
        fail(f, MP_ERR_BAD_MEDIA, f->media.error[0] ? f->media.error : NULL);
        return;
    case MP_MEDIA_ERROR:
        break;
    }
    mp_log_error("upload: processing %s failed: %s", f->path, f->media.error);
    fail(f, MP_ERR_INTERNAL, "the file could not be processed");
}

static void process(fin_t *f)
{
    if (mp_files__busy(f->files)) {
        fail(f, MP_ERR_UNAVAILABLE, "too many files are being processed; try again shortly");
        return;
    }
    char name[48];
    mp_files__random_name("media-", name, sizeof name);
    if (mp_blobs_tmp_path(f->files->blobs, name, f->prefix, sizeof f->prefix) < 0) {
        fail(f, MP_ERR_INTERNAL, "the files directory path is too long");
        return;
    }
    /* Unique forever: the upload's id, or a fresh id for a plain upload. */
    uint64_t id = f->upload_id != 0 ? f->upload_id : mp_id_next();
    snprintf(f->key, sizeof f->key, "%s-%llu", f->sha, (unsigned long long)id);
    f->processed = true;
    mp_files__work(f->files, true, media_run, media_done, f);
}

/* ---- 4. the record -------------------------------------------------------------------- */

static mp_file_class_t class_of(mp_media_class_t c)
{
    switch (c) {
    case MP_MEDIA_IMAGE:
        return MP_FILE_CLASS_IMAGE;
    case MP_MEDIA_AUDIO:
        return MP_FILE_CLASS_AUDIO;
    case MP_MEDIA_VIDEO:
        return MP_FILE_CLASS_VIDEO;
    case MP_MEDIA_FILE:
        break;
    }
    return MP_FILE_CLASS_FILE;
}

static void on_created(mp_err_t rc, const mp_file_row_t *row, bool dup, void *ud)
{
    fin_t *f = ud;
    mp_files__release(f->files);
    if (rc == MP_OK) {
        f->row = *row;
        f->row.meta = mp_strdup(row->meta ? row->meta : "{}");
        f->have_row = true;
        f->keys_used = !dup;
        f->rc = MP_OK;
        cleanup(f);
        return;
    }
    /* The known blob went away between 2 and 4 (swept): process after all.
     * (NOT_FOUND after processing means the upload session went away.) */
    if (rc == MP_ERR_NOT_FOUND && !f->processed) {
        process(f);
        return;
    }
    fail(f, rc, rc == MP_ERR_NOT_FOUND ? "the upload was deleted or has expired" : NULL);
}

static void create(fin_t *f, bool known)
{
    const mp_media_result_t *m = &f->media;
    bool own = !m->serve_path[0];
    mp_file_create_in_t in = {
        .owner_id = f->owner,
        .name = f->name,
        .quota = f->files->ctx->cfg->upload_quota,
        .upload_id = f->upload_id,
        .blob = {.sha256 = f->sha, .size = f->size},
    };
    if (!known) {
        in.blob.skey = f->key;
        in.blob.serve_size = own ? f->size : m->serve_size;
        in.blob.mime = m->mime;
        in.blob.serve_mime = own ? m->mime : m->serve_mime;
        in.blob.cls = class_of(m->cls);
        in.blob.meta = m->meta;
        in.blob.rend = f->rend;
        in.blob.nrend = f->nrend;
    }
    mp_files__hold(f->files);
    mp_err_t rc = mp_store_file_create(f->files->ctx->store, &in, on_created, f);
    if (rc != MP_OK) {
        mp_files__release(f->files);
        fail(f, rc, NULL);
    }
}

/* ---- 5. cleaning up -------------------------------------------------------------------- */

static void unlink_quiet(const char *path)
{
    if (path[0] != '\0' && unlink(path) != 0 && errno != ENOENT)
        mp_log_warn("upload: could not delete %s: %s", path, strerror(errno));
}

static void cleanup_run(void *ud)
{
    fin_t *f = ud;
    unlink_quiet(f->path); /* gone already when it became the blob */
    if (f->processed) {    /* what put did not move (a failure midway) */
        unlink_quiet(f->media.serve_path);
        for (size_t i = 0; i < f->media.nrend && i < MP_MEDIA_RENDITIONS; i++)
            unlink_quiet(f->media.rend[i].path);
    }
    if (f->keys_used)
        return;
    for (size_t i = 0; i < f->nstored; i++) {
        int rc = mp_blobs_delete(f->files->blobs, f->stored[i]);
        if (rc != 0)
            mp_log_warn("upload: could not delete key %s: %s", f->stored[i], uv_strerror(rc));
    }
}

static void cleanup_done(void *ud)
{
    fin_t *f = ud;
    mp_files_t *files = f->files;
    if (f->processed)
        mp_media_result_free(&f->media);
    f->cb(f->rc, f->rc == MP_OK ? NULL : (f->msg[0] ? f->msg : NULL), f->have_row ? &f->row : NULL,
          f->ud);
    mp_free(f->row.meta);
    mp_free(f);
    mp_files__release(files); /* the hold of mp_files__finalize */
}

static void cleanup(fin_t *f)
{
    mp_files__work(f->files, false, cleanup_run, cleanup_done, f);
}

void mp_files__finalize(mp_files_t *files, const char *path, uint64_t owner_id, const char *name,
                        uint64_t upload_id, mp_files_final_fn cb, void *ud)
{
    fin_t *f = mp_calloc(1, sizeof *f);
    f->files = files;
    f->cb = cb;
    f->ud = ud;
    f->owner = owner_id;
    f->upload_id = upload_id;
    snprintf(f->name, sizeof f->name, "%s", name ? name : "");
    snprintf(f->path, sizeof f->path, "%s", path);
    f->rc = MP_ERR_INTERNAL;
    mp_files__hold(files); /* until cb has run */
    mp_files__work(files, false, hash_run, hash_done, f);
}
