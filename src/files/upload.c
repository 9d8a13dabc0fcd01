/* POST /v1/files: a plain upload, the body streamed to a temporary file.
 *
 * Everything that can refuse the upload is decided at the head, before a
 * byte of the body is read: its length (Content-Length, max_upload, not
 * empty), the uploader's rate and quota. Only then is the temporary file
 * opened and the body taken (sink.c); a cut upload deletes it and stores
 * nothing. The complete file goes through mp_files__finalize. */
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "files/files_int.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/log.h"

typedef struct upload {
    mp_files_sink_t sink;
    mp_files_t *files;
    mp_http_req_t *req;
    uint64_t owner;
    uint64_t length; /* Content-Length */
    char name[MP_FILE_NAME_MAX + 1];
    char path[MP_MEDIA_PATH_MAX];
} upload_t;

/* ---- checks shared with tus.c ------------------------------------------------------ */

bool mp_files__rate_ok(mp_files_t *files, mp_http_req_t *req, uint64_t user)
{
    int64_t retry_ms = 0;
    if (mp_ratelimit_take(files->upload_limit, user, mp_mono_ms(), &retry_ms))
        return true;
    mp_http_respond_retry(req, MP_ERR_RATE_LIMITED, "too many uploads; try again later",
                          (unsigned)((retry_ms + 999) / 1000));
    return false;
}

bool mp_files__length_ok(mp_files_t *files, mp_http_req_t *req, uint64_t length, const char *what)
{
    char msg[160];
    if (length == 0) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "the file is empty");
        return false;
    }
    size_t max = files->ctx->cfg->max_upload;
    if (length > max) {
        snprintf(msg, sizeof msg, "%s of %" PRIu64 " bytes is larger than max_upload (%zu bytes)",
                 what, length, max);
        mp_http_respond_error(req, MP_ERR_TOO_LARGE, msg);
        return false;
    }
    return true;
}

bool mp_files__quota_ok(const mp_files_t *files, uint64_t used, uint64_t length)
{
    uint64_t quota = files->ctx->cfg->upload_quota;
    return quota == 0 || (length <= quota && used <= quota - length);
}

void mp_files__random_name(const char *prefix, char *out, size_t outlen)
{
    unsigned char r[16];
    char hex[sizeof r * 2 + 1];
    randombytes_buf(r, sizeof r);
    sodium_bin2hex(hex, sizeof hex, r, sizeof r);
    snprintf(out, outlen, "%s%s", prefix, hex);
}

/* ---- the upload ----------------------------------------------------------------------- */

static void upload_free(upload_t *up)
{
    mp_free(up);
}

static void respond_error(upload_t *up, mp_err_t rc, const char *msg)
{
    mp_http_respond_error(up->req, rc, msg);
    upload_free(up);
}

static void on_final(mp_err_t rc, const char *msg, const mp_file_row_t *f, void *ud)
{
    upload_t *up = ud;
    if (rc != MP_OK) {
        respond_error(up, rc, msg);
        return;
    }
    mp_http_respond(up->req, 201, mp_files__json(f));
    upload_free(up);
}

static void on_body_done(mp_files_sink_t *s, mp_body_ev_t ev, int err)
{
    upload_t *up = s->ud;
    if (err != 0) {
        mp_log_error("upload: writing %s failed: %s", up->path, uv_strerror(err));
        mp_files__unlink(up->files, up->path);
        respond_error(up, MP_ERR_INTERNAL, "the upload could not be written to disk");
        return;
    }
    if (ev != MP_BODY_END || s->received != up->length) {
        /* Cut short: nothing is stored (the answer goes nowhere). */
        mp_files__unlink(up->files, up->path);
        respond_error(up, MP_ERR_BAD_REQUEST, "the upload was cut short");
        return;
    }
    mp_files__finalize(up->files, up->path, up->owner, up->name, 0, on_final, up);
}

static void on_opened(mp_files_sink_t *s, int err)
{
    upload_t *up = s->ud;
    if (err != 0) {
        mp_log_error("upload: creating %s failed: %s", up->path, uv_strerror(err));
        respond_error(up, MP_ERR_INTERNAL, "the upload could not be written to disk");
        return;
    }
    mp_files__sink_start(s, on_body_done);
}

static void open_tmp(upload_t *up)
{
    char name[48];
    mp_files__random_name("upload-", name, sizeof name);
    if (mp_blobs_tmp_path(up->files->blobs, name, up->path, sizeof up->path) < 0) {
        respond_error(up, MP_ERR_INTERNAL, "the files directory path is too long");
        return;
    }
    mp_files__sink_open(&up->sink, up->files, up->req, up->path,
                        O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, on_opened, up);
}

static void on_usage(mp_err_t rc, uint64_t used, uint64_t nfiles, void *ud)
{
    (void)nfiles;
    upload_t *up = ud;
    mp_files__release(up->files);
    if (rc != MP_OK) {
        respond_error(up, rc, NULL);
        return;
    }
    if (!mp_files__quota_ok(up->files, used, up->length)) {
        respond_error(up, MP_ERR_QUOTA_EXCEEDED, NULL);
        return;
    }
    open_tmp(up);
}

void mp_files__route_upload(mp_http_req_t *req)
{
    mp_files_t *files = mp_files__of(req);
    const mp_principal_t *who = mp_http_req_principal(req);
    int64_t length = mp_http_req_content_length(req);
    if (length < 0) {
        mp_http_respond_error(req, MP_ERR_LENGTH_REQUIRED, "header 'Content-Length' is required");
        return;
    }
    if (!mp_files__length_ok(files, req, (uint64_t)length, "the file"))
        return;
    if (!mp_files__rate_ok(files, req, who->user_id))
        return;
    upload_t *up = mp_calloc(1, sizeof *up);
    up->files = files;
    up->req = req;
    up->owner = who->user_id;
    up->length = (uint64_t)length;
    const char *name = mp_http_req_query(req, "name");
    mp_files__sanitize_name(name ? name : "", up->name);
    mp_files__hold(files);
    mp_err_t rc = mp_store_file_usage(files->ctx->store, up->owner, on_usage, up);
    if (rc != MP_OK) {
        mp_files__release(files);
        respond_error(up, rc, NULL);
    }
}
