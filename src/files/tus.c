/* Resumable uploads: the tus 1.0.0 core protocol with the creation and
 * termination extensions (docs/protocol.md, "Resumable uploads").
 *
 * A session is a row (store) and a file, FILES/uploads/<id>, that PATCH
 * requests append to; the offset is that file's size, so bytes that reached
 * the disk before a connection was cut count, across restarts too. One
 * request at a time writes to a session (files->tus_active); a second gets
 * 409 conflict. The nodes of a cluster share files_dir, so that map is not
 * enough there: the writer also holds an exclusive flock on the file (taken
 * on the pool, released when the file closes) and reads its size again under
 * the lock. The PATCH that brings the offset to Upload-Length finishes the
 * upload (mp_files__finalize) before it is answered. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "files/files_int.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"
#include "util/log.h"

#define TUS_VERSION "1.0.0"
#define TUS_CONTENT_TYPE "application/offset+octet-stream"
/* Decoded bytes of a file name in Upload-Metadata (more is refused; what is
 * kept is cut to MP_FILE_NAME_MAX by the sanitiser). */
#define META_NAME_MAX 1024

/* ---- headers -------------------------------------------------------------------------- */

static void add_u64(mp_http_req_t *req, const char *name, uint64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%" PRIu64, v);
    mp_http_add_header(req, name, s);
}

/* Every tus response says which version it speaks; every request but
 * OPTIONS must name the one version there is (else 412 with Tus-Version). */
static bool tus_head_ok(mp_http_req_t *req)
{
    mp_http_add_header(req, "Tus-Resumable", TUS_VERSION);
    const char *v = mp_http_req_header(req, "Tus-Resumable");
    if (v != NULL && strcmp(v, TUS_VERSION) == 0)
        return true;
    mp_http_add_header(req, "Tus-Version", TUS_VERSION);
    mp_http_respond_error(req, MP_ERR_PRECONDITION, "header 'Tus-Resumable' must be " TUS_VERSION);
    return false;
}

/* A header holding a number of bytes: decimal digits only. */
static bool parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL || *s == '\0' || strlen(s) > 20)
        return false;
    uint64_t v = 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool id_param(mp_http_req_t *req, uint64_t *id)
{
    if (mp_id_parse(mp_http_req_param(req, "id"), id))
        return true;
    mp_http_respond_error(req, MP_ERR_NOT_FOUND, NULL);
    return false;
}

static void upload_path(const mp_files_t *files, uint64_t id, char *out, size_t outlen)
{
    int rc = mp_blobs_upload_path(files->blobs, id, out, outlen);
    MP_ASSERT(rc == 0); /* the directory's path fit at open, and an id is 20 digits */
    (void)rc;
}

/* ---- one writer per session --------------------------------------------------------------- */

static bool claim(mp_files_t *files, mp_http_req_t *req, uint64_t id)
{
    bool created = false;
    void **slot = mp_map_upsert(&files->tus_active, id, &created);
    if (created) {
        *slot = (void *)1;
        return true;
    }
    mp_http_respond_error(req, MP_ERR_CONFLICT, "another request is writing to this upload");
    return false;
}

static void unclaim(mp_files_t *files, uint64_t id)
{
    bool was = mp_map_del(&files->tus_active, id, NULL);
    MP_ASSERT(was);
    (void)was;
}

/* ---- OPTIONS ------------------------------------------------------------------------------- */

void mp_files__route_tus_options(mp_http_req_t *req)
{
    mp_files_t *files = mp_files__of(req);
    mp_http_add_header(req, "Tus-Resumable", TUS_VERSION);
    mp_http_add_header(req, "Tus-Version", TUS_VERSION);
    mp_http_add_header(req, "Tus-Extension", "creation,termination");
    add_u64(req, "Tus-Max-Size", files->ctx->cfg->max_upload);
    mp_http_respond(req, 204, NULL);
}

/* ---- POST: creation ------------------------------------------------------------------------- */

/* The value of key in Upload-Metadata ("key base64,key base64,key"): a
 * pointer to its base64 text and its length; false when absent. */
static bool meta_find(const char *meta, const char *key, const char **val, size_t *vlen)
{
    size_t klen = strlen(key);
    const char *p = meta;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        if ((size_t)(end - p) >= klen && strncmp(p, key, klen) == 0 &&
            (p + klen == end || p[klen] == ' ')) {
            const char *v = p + klen;
            while (v < end && *v == ' ')
                v++;
            size_t n = (size_t)(end - v);
            while (n > 0 && v[n - 1] == ' ')
                n--;
            *val = v;
            *vlen = n;
            return true;
        }
        p = end;
    }
    return false;
}

/* The sanitised file name of Upload-Metadata's "filename" (or "name"), ""
 * when it has none; false (answered 400) when it is not base64. */
static bool meta_name(mp_http_req_t *req, char out[MP_FILE_NAME_MAX + 1])
{
    out[0] = '\0';
    const char *meta = mp_http_req_header(req, "Upload-Metadata");
    const char *b64;
    size_t n;
    if (meta == NULL ||
        (!meta_find(meta, "filename", &b64, &n) && !meta_find(meta, "name", &b64, &n)))
        return true;
    unsigned char bin[META_NAME_MAX + 1];
    size_t len = 0;
    const char *end = NULL;
    bool ok = sodium_base642bin(bin, META_NAME_MAX, b64, n, NULL, &len, &end,
                                sodium_base64_VARIANT_ORIGINAL) == 0 &&
              end == b64 + n;
    if (!ok) /* some clients leave the padding out */
        ok = sodium_base642bin(bin, META_NAME_MAX, b64, n, NULL, &len, &end,
                               sodium_base64_VARIANT_ORIGINAL_NO_PADDING) == 0 &&
             end == b64 + n;
    if (!ok) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST,
                              "header 'Upload-Metadata' must carry the file name in base64, "
                              "at most 1024 bytes");
        return false;
    }
    bin[len] = '\0'; /* a NUL inside ends the name */
    mp_files__sanitize_name((const char *)bin, out);
    return true;
}

typedef struct create_ctx {
    mp_files_t *files;
    mp_http_req_t *req;
} create_ctx_t;

static json_t *session_json(const mp_upload_row_t *u, uint64_t offset)
{
    char id[MP_ID_STRLEN];
    return json_pack("{s:s, s:I, s:I, s:I}", "upload_id", mp_id_format(u->id, id), "offset",
                     (json_int_t)offset, "length", (json_int_t)u->length, "expires_at",
                     (json_int_t)u->expires_at);
}

static void on_session_created(mp_err_t rc, const mp_upload_row_t *u, void *ud)
{
    create_ctx_t *c = ud;
    mp_files__release(c->files);
    if (rc != MP_OK) {
        mp_http_respond_error(c->req, rc, NULL);
    } else {
        char loc[64], id[MP_ID_STRLEN];
        snprintf(loc, sizeof loc, "/v1/uploads/%s", mp_id_format(u->id, id));
        mp_http_add_header(c->req, "Location", loc);
        mp_http_respond(c->req, 201, session_json(u, 0));
    }
    mp_free(c);
}

/* Upload-Length: 1..max_upload bytes (answered when not). */
static bool length_header(mp_files_t *files, mp_http_req_t *req, uint64_t *length)
{
    const char *v = mp_http_req_header(req, "Upload-Length");
    if (v == NULL && mp_http_req_header(req, "Upload-Defer-Length") != NULL) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST,
                              "header 'Upload-Defer-Length' is not supported: send "
                              "'Upload-Length'");
        return false;
    }
    if (v == NULL) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "header 'Upload-Length' is required");
        return false;
    }
    if (!parse_u64(v, length)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST,
                              "header 'Upload-Length' must be a number of bytes");
        return false;
    }
    return mp_files__length_ok(files, req, *length, "the upload");
}

void mp_files__route_tus_create(mp_http_req_t *req)
{
    mp_files_t *files = mp_files__of(req);
    if (!tus_head_ok(req))
        return;
    mp_upload_row_t u = {0};
    if (!length_header(files, req, &u.length) || !meta_name(req, u.name))
        return;
    const mp_principal_t *who = mp_http_req_principal(req);
    if (!mp_files__rate_ok(files, req, who->user_id))
        return;
    u.id = mp_id_next();
    u.owner_id = who->user_id;
    u.created_at = mp_now_ms();
    u.expires_at = u.created_at + (int64_t)files->ctx->cfg->upload_expiry_ms;
    create_ctx_t *c = mp_calloc(1, sizeof *c);
    c->files = files;
    c->req = req;
    mp_files__hold(files);
    /* The quota counts the declared length from now on (store/files.h). */
    mp_err_t rc = mp_store_upload_create(files->ctx->store, &u, files->ctx->cfg->upload_quota,
                                         on_session_created, c);
    if (rc != MP_OK) {
        mp_files__release(files);
        mp_free(c);
        mp_http_respond_error(req, rc, NULL);
    }
}

/* ---- GET / HEAD: the state ---------------------------------------------------------------------
 */

typedef struct get_ctx {
    mp_files_t *files;
    mp_http_req_t *req;
    mp_upload_row_t row;
    bool guest;
    char path[MP_MEDIA_PATH_MAX];
} get_ctx_t;

static void get_respond(get_ctx_t *g, uint64_t offset, json_t *file)
{
    add_u64(g->req, "Upload-Offset", offset);
    add_u64(g->req, "Upload-Length", g->row.length);
    mp_http_add_header(g->req, "Cache-Control", "no-store");
    json_t *body = session_json(&g->row, offset);
    json_object_set_new(body, "file", file ? file : json_null());
    mp_http_respond(g->req, 200, body);
    mp_free(g);
}

static void on_get_file(mp_err_t rc, const mp_file_row_t *f, void *ud)
{
    get_ctx_t *g = ud;
    mp_files__release(g->files);
    if (rc != MP_OK && rc != MP_ERR_NOT_FOUND) {
        mp_http_respond_error(g->req, rc, NULL);
        mp_free(g);
        return;
    }
    get_respond(g, g->row.length, rc == MP_OK ? mp_files__json(f) : NULL);
}

static void on_get_stat(uint64_t size, int err, void *ud)
{
    get_ctx_t *g = ud;
    if (err != 0 && err != UV_ENOENT) {
        mp_log_error("upload %s: %s", g->path, uv_strerror(err));
        mp_http_respond_error(g->req, MP_ERR_INTERNAL, NULL);
        mp_free(g);
        return;
    }
    get_respond(g, size < g->row.length ? size : g->row.length, NULL);
}

static void on_get_session(mp_err_t rc, const mp_upload_row_t *u, void *ud)
{
    get_ctx_t *g = ud;
    mp_files_t *files = g->files;
    mp_files__release(files);
    if (rc != MP_OK) {
        mp_http_respond_error(g->req, rc, NULL);
        mp_free(g);
        return;
    }
    g->row = *u;
    if (u->file_id == 0) { /* unfinished: the offset is what is on disk */
        upload_path(files, u->id, g->path, sizeof g->path);
        mp_files__stat(files, g->path, on_get_stat, g);
        return;
    }
    mp_files__hold(files);
    rc = mp_store_file_get(files->ctx->store, u->file_id, u->owner_id, g->guest,
                           files->ctx->world_id, on_get_file, g);
    if (rc != MP_OK) {
        mp_files__release(files);
        mp_http_respond_error(g->req, rc, NULL);
        mp_free(g);
    }
}

void mp_files__route_tus_get(mp_http_req_t *req)
{
    mp_files_t *files = mp_files__of(req);
    uint64_t id;
    if (!tus_head_ok(req) || !id_param(req, &id))
        return;
    const mp_principal_t *who = mp_http_req_principal(req);
    get_ctx_t *g = mp_calloc(1, sizeof *g);
    g->files = files;
    g->req = req;
    g->guest = who->guest;
    mp_files__hold(files);
    mp_err_t rc =
        mp_store_upload_get(files->ctx->store, id, who->user_id, mp_now_ms(), on_get_session, g);
    if (rc != MP_OK) {
        mp_files__release(files);
        mp_free(g);
        mp_http_respond_error(req, rc, NULL);
    }
}

/* ---- PATCH: appending
 * ------------------------------------------------------------------------------ */

typedef struct patch {
    mp_files_sink_t sink;
    mp_files_t *files;
    mp_http_req_t *req;
    uint64_t id, owner;
    uint64_t claimed;  /* Upload-Offset */
    uint64_t body_len; /* Content-Length */
    uint64_t offset;   /* bytes on disk before this request */
    mp_upload_row_t row;
    char path[MP_MEDIA_PATH_MAX];
    mp_err_t final_rc; /* a refusal at completion, answered once the session is gone */
    char final_msg[256];
    int lock_err;       /* the pool's flock: 0, or an errno */
    uint64_t lock_size; /* the file's size under the lock */
} patch_t;

static void patch_end(patch_t *p)
{
    unclaim(p->files, p->id);
    mp_free(p);
}

static void patch_error(patch_t *p, mp_err_t rc, const char *msg)
{
    mp_http_respond_error(p->req, rc, msg);
    patch_end(p);
}

/* 204 with the new offset, and the file once the upload is complete. */
static void patch_ok(patch_t *p, uint64_t offset, uint64_t file_id)
{
    add_u64(p->req, "Upload-Offset", offset);
    if (file_id != 0) {
        char id[MP_ID_STRLEN];
        mp_http_add_header(p->req, "Magpie-File-Id", mp_id_format(file_id, id));
    }
    mp_http_respond(p->req, 204, NULL);
    patch_end(p);
}

static void on_session_dropped(mp_err_t rc, void *ud)
{
    (void)rc; /* NOT_FOUND: deleted or expired meanwhile, gone all the same */
    patch_t *p = ud;
    mp_files__release(p->files);
    patch_error(p, p->final_rc, p->final_msg[0] ? p->final_msg : NULL);
}

static void on_final(mp_err_t rc, const char *msg, const mp_file_row_t *f, void *ud)
{
    patch_t *p = ud;
    if (rc == MP_OK) {
        patch_ok(p, p->row.length, f->id);
        return;
    }
    /* The bytes are gone with the refusal (finalize deletes them): the
     * session goes too, before the answer, so that a client that asks next
     * finds it gone and its length stops counting in the quota. */
    p->final_rc = rc;
    snprintf(p->final_msg, sizeof p->final_msg, "%s", msg ? msg : "");
    mp_files__hold(p->files);
    if (mp_store_upload_delete(p->files->ctx->store, p->id, p->owner, on_session_dropped, p) !=
        MP_OK) {
        mp_files__release(p->files); /* it expires and is swept instead */
        patch_error(p, rc, msg);
    }
}

static void complete(patch_t *p)
{
    mp_files__finalize(p->files, p->path, p->owner, p->row.name, p->id, on_final, p);
}

static void on_patch_body(mp_files_sink_t *s, mp_body_ev_t ev, int err)
{
    patch_t *p = s->ud;
    if (err != 0) {
        mp_log_error("upload %s: writing failed: %s", p->path, uv_strerror(err));
        patch_error(p, MP_ERR_INTERNAL, "the upload could not be written to disk");
        return;
    }
    if (ev != MP_BODY_END) { /* cut: what arrived is on disk and counts */
        patch_error(p, MP_ERR_BAD_REQUEST, "the request was cut short");
        return;
    }
    uint64_t offset = p->offset + s->received;
    if (offset == p->row.length)
        complete(p);
    else
        patch_ok(p, offset, 0);
}

/* A refusal found with the file open: answered once it is closed (which
 * also drops the lock). */
static void on_refused_closed(mp_files_sink_t *s, mp_body_ev_t ev, int err)
{
    (void)ev;
    (void)err;
    patch_t *p = s->ud;
    patch_error(p, p->final_rc, p->final_msg[0] ? p->final_msg : NULL);
}

static void refuse_open(patch_t *p, mp_err_t rc, const char *msg)
{
    p->final_rc = rc;
    snprintf(p->final_msg, sizeof p->final_msg, "%s", msg ? msg : "");
    mp_files__sink_close(&p->sink, on_refused_closed);
}

/* On the pool: flock may wait on a network file system's lock server. */
static void lock_run(void *ud)
{
    patch_t *p = ud;
    struct stat st;
    if (flock(p->sink.fd, LOCK_EX | LOCK_NB) != 0)
        p->lock_err = errno;
    else if (fstat(p->sink.fd, &st) != 0)
        p->lock_err = errno;
    else
        p->lock_size = (uint64_t)st.st_size;
}

static void lock_done(void *ud)
{
    patch_t *p = ud;
    if (p->lock_err == EWOULDBLOCK) {
        refuse_open(p, MP_ERR_CONFLICT, "another request is writing to this upload");
        return;
    }
    if (p->lock_err != 0) {
        mp_log_error("upload %s: cannot lock it: %s", p->path, strerror(p->lock_err));
        refuse_open(p, MP_ERR_INTERNAL, "the upload could not be written to disk");
        return;
    }
    if (p->lock_size != p->offset) { /* another node wrote between our stat and our lock */
        char msg[160];
        snprintf(msg, sizeof msg,
                 "header 'Upload-Offset' is %" PRIu64 " but the upload has %" PRIu64 " bytes",
                 p->claimed, p->lock_size);
        add_u64(p->req, "Upload-Offset", p->lock_size);
        refuse_open(p, MP_ERR_OFFSET_MISMATCH, msg);
        return;
    }
    mp_files__sink_start(&p->sink, on_patch_body);
}

static void on_patch_opened(mp_files_sink_t *s, int err)
{
    patch_t *p = s->ud;
    if (err != 0) {
        mp_log_error("upload %s: %s", p->path, uv_strerror(err));
        patch_error(p, MP_ERR_INTERNAL, "the upload could not be written to disk");
        return;
    }
    mp_files__work(p->files, false, lock_run, lock_done, p);
}

static void on_patch_stat(uint64_t size, int err, void *ud)
{
    patch_t *p = ud;
    char msg[160];
    if (err != 0 && err != UV_ENOENT) {
        mp_log_error("upload %s: %s", p->path, uv_strerror(err));
        patch_error(p, MP_ERR_INTERNAL, NULL);
        return;
    }
    p->offset = size;
    if (size > p->row.length) { /* never written by us: refuse to touch it */
        mp_log_error("upload %s: %" PRIu64 " bytes, more than its length", p->path, size);
        patch_error(p, MP_ERR_INTERNAL, NULL);
        return;
    }
    if (p->claimed != size) {
        snprintf(msg, sizeof msg,
                 "header 'Upload-Offset' is %" PRIu64 " but the upload has %" PRIu64 " bytes",
                 p->claimed, size);
        add_u64(p->req, "Upload-Offset", size);
        patch_error(p, MP_ERR_OFFSET_MISMATCH, msg);
        return;
    }
    if (p->body_len > p->row.length - size) {
        snprintf(msg, sizeof msg, "the body would pass 'Upload-Length' (%" PRIu64 " bytes)",
                 p->row.length);
        patch_error(p, MP_ERR_BAD_REQUEST, msg);
        return;
    }
    if (p->body_len == 0) { /* nothing to write; complete if it is all there */
        if (size == p->row.length)
            complete(p);
        else
            patch_ok(p, size, 0);
        return;
    }
    mp_files__sink_open(&p->sink, p->files, p->req, p->path,
                        O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, on_patch_opened, p);
    p->sink.keep_partial = true;
}

static void on_patch_session(mp_err_t rc, const mp_upload_row_t *u, void *ud)
{
    patch_t *p = ud;
    mp_files__release(p->files);
    if (rc != MP_OK) {
        patch_error(p, rc, NULL);
        return;
    }
    p->row = *u;
    if (u->file_id != 0) { /* complete already: only a repeat of the last PATCH is fine */
        if (p->claimed != u->length) {
            add_u64(p->req, "Upload-Offset", u->length);
            patch_error(p, MP_ERR_OFFSET_MISMATCH, "the upload is complete");
        } else if (p->body_len > 0) {
            patch_error(p, MP_ERR_BAD_REQUEST, "the upload is complete");
        } else {
            patch_ok(p, u->length, u->file_id);
        }
        return;
    }
    upload_path(p->files, p->id, p->path, sizeof p->path);
    mp_files__stat(p->files, p->path, on_patch_stat, p);
}

/* Content-Type application/offset+octet-stream (parameters allowed). */
static bool patch_type_ok(mp_http_req_t *req)
{
    const char *ct = mp_http_req_header(req, "Content-Type");
    size_t n = strlen(TUS_CONTENT_TYPE);
    if (ct != NULL && strncasecmp(ct, TUS_CONTENT_TYPE, n) == 0 &&
        (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
        return true;
    mp_http_respond_error(req, MP_ERR_UNSUPPORTED_MEDIA,
                          "header 'Content-Type' must be " TUS_CONTENT_TYPE);
    return false;
}

void mp_files__route_tus_patch(mp_http_req_t *req)
{
    mp_files_t *files = mp_files__of(req);
    uint64_t id, claimed;
    if (!tus_head_ok(req) || !patch_type_ok(req) || !id_param(req, &id))
        return;
    if (!parse_u64(mp_http_req_header(req, "Upload-Offset"), &claimed)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST,
                              "header 'Upload-Offset' must be a number of bytes");
        return;
    }
    int64_t body_len = mp_http_req_content_length(req);
    if (body_len < 0) {
        mp_http_respond_error(req, MP_ERR_LENGTH_REQUIRED, "header 'Content-Length' is required");
        return;
    }
    if (!claim(files, req, id))
        return;
    const mp_principal_t *who = mp_http_req_principal(req);
    patch_t *p = mp_calloc(1, sizeof *p);
    p->files = files;
    p->req = req;
    p->id = id;
    p->owner = who->user_id;
    p->claimed = claimed;
    p->body_len = (uint64_t)body_len;
    mp_files__hold(files);
    mp_err_t rc =
        mp_store_upload_get(files->ctx->store, id, p->owner, mp_now_ms(), on_patch_session, p);
    if (rc != MP_OK) {
        mp_files__release(files);
        patch_error(p, rc, NULL);
    }
}

/* ---- DELETE: termination
 * ------------------------------------------------------------------------- */

typedef struct del_ctx {
    mp_files_t *files;
    mp_http_req_t *req;
    uint64_t id;
} del_ctx_t;

static void on_deleted(mp_err_t rc, void *ud)
{
    del_ctx_t *d = ud;
    mp_files_t *files = d->files;
    mp_files__release(files);
    if (rc == MP_OK) {
        char path[MP_MEDIA_PATH_MAX];
        upload_path(files, d->id, path, sizeof path);
        mp_files__unlink(files, path);
        mp_http_respond(d->req, 204, NULL);
    } else {
        mp_http_respond_error(d->req, rc, NULL);
    }
    unclaim(files, d->id);
    mp_free(d);
}

void mp_files__route_tus_delete(mp_http_req_t *req)
{
    mp_files_t *files = mp_files__of(req);
    uint64_t id;
    if (!tus_head_ok(req) || !id_param(req, &id) || !claim(files, req, id))
        return;
    del_ctx_t *d = mp_calloc(1, sizeof *d);
    d->files = files;
    d->req = req;
    d->id = id;
    mp_files__hold(files);
    mp_err_t rc = mp_store_upload_delete(files->ctx->store, id, mp_http_req_principal(req)->user_id,
                                         on_deleted, d);
    if (rc != MP_OK) {
        mp_files__release(files);
        unclaim(files, id);
        mp_free(d);
        mp_http_respond_error(req, rc, NULL);
    }
}
