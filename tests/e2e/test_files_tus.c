/* End-to-end tests of resumable uploads (tus 1.0.0 under /v1/uploads): the
 * OPTIONS discovery, creation, an upload in three PATCHes that completes
 * into a file, a PATCH cut mid-way whose bytes are kept and resumed from the
 * offset the server reports (the file's SHA-256 is the original's), the
 * protocol's refusals (offset, version, content type, length, someone
 * else's upload, two PATCHes at once), termination, the expiry of a session
 * and the sweep of a file nothing references. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "test_chat_util.h"
#include "test_files_util.h"

#define TUS "Tus-Resumable: 1.0.0\r\n"
#define FILE_FLAGS CHAT_FLAGS, "--upload_rate", "100000", "--upload_burst", "100000"
/* Sessions that expire after a second, files swept as soon as nothing holds
 * them, and a sweep every 200 ms. */
#define SWEEP_FLAGS                                                                                \
    FILE_FLAGS, "--upload_expiry", "1s", "--file_grace", "0", "--file_sweep_interval", "200ms"

static mpt_server_t *srv, *sweeper;
static char dir[256];

static int setup(void **state)
{
    (void)state;
    const char *flags[] = {FILE_FLAGS, NULL};
    const char *sweep_flags[] = {SWEEP_FLAGS, NULL};
    srv = mpt_server_start(flags);
    sweeper = mpt_server_start(sweep_flags);
    snprintf(dir, sizeof dir, "/tmp/mp-tus-XXXXXX");
    return srv != NULL && sweeper != NULL && mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    int a = mpt_server_stop(srv), b = mpt_server_stop(sweeper);
    return a != 0 ? a : b;
}

/* ---- helpers ----------------------------------------------------------------- */

static void pause_10ms(void)
{
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

static void user(mpt_server_t *s, mpt_session_t *out)
{
    assert_int_equal(mpt_user_new(s, "tus", out), 0);
}

/* A request with an optional body on a fresh connection; status, headers
 * and body in *r (caller mpc_response_free's). */
static int tus_req(mpt_server_t *s, const char *method, const char *token, const char *path,
                   const char *extra, const char *ctype, const void *body, size_t len,
                   mpc_response_t *r)
{
    mpc_conn_t *c = mpc_connect("127.0.0.1", s->port, 5000);
    assert_non_null(c);
    mpc_http_req_t req = {.method = method,
                          .path = path,
                          .host = mpc_conn_hostport(c),
                          .token = token,
                          .extra_headers = extra,
                          .close = true,
                          .content_type = ctype,
                          .body = body,
                          .body_len = len};
    /* An empty PATCH still says Content-Length: 0 (a PATCH without it is
     * refused 411). */
    if (req.body == NULL)
        req.body = "";
    size_t n;
    char *raw = mpc_http_build(&req, &n);
    int rc = mpc_send_raw(c, raw, n, FX_TIMEOUT);
    free(raw);
    memset(r, 0, sizeof *r);
    if (rc == MPC_OK)
        rc = mpc_http_read_response(c, r, FX_TIMEOUT);
    mpc_conn_free(c);
    return rc == MPC_OK ? r->status : rc;
}

/* POST /v1/uploads for length bytes named name; returns the upload's path
 * ("/v1/uploads/ID") in loc. */
static void create(mpt_server_t *s, const mpt_session_t *u, uint64_t length, const char *name,
                   char loc[64])
{
    char extra[512], b64[256];
    sodium_bin2base64(b64, sizeof b64, (const unsigned char *)name, strlen(name),
                      sodium_base64_VARIANT_ORIGINAL);
    snprintf(extra, sizeof extra, TUS "Upload-Length: %llu\r\nUpload-Metadata: filename %s\r\n",
             (unsigned long long)length, b64);
    mpc_response_t r;
    int st = tus_req(s, "POST", u->access, "/v1/uploads", extra, NULL, NULL, 0, &r);
    if (st != 201)
        fail_msg("create: %d %.*s", st, (int)r.body_len, r.body ? r.body : "");
    assert_string_equal(fx_header(&r, "Tus-Resumable"), "1.0.0");
    const char *l = fx_header(&r, "Location");
    assert_true(strncmp(l, "/v1/uploads/", 12) == 0);
    assert_string_equal(jstr(r.json, "upload_id"), l + 12);
    assert_int_equal(jint(r.json, "offset"), 0);
    assert_int_equal(jint(r.json, "length"), (long long)length);
    assert_true(jint(r.json, "expires_at") > 0);
    snprintf(loc, 64, "%s", l);
    mpc_response_free(&r);
}

/* PATCH len bytes of data at offset; the status, headers in *r. */
static int patch(mpt_server_t *s, const mpt_session_t *u, const char *loc, uint64_t offset,
                 const void *data, size_t len, mpc_response_t *r)
{
    char extra[128];
    snprintf(extra, sizeof extra, TUS "Upload-Offset: %llu\r\n", (unsigned long long)offset);
    /* A body pointer, even for 0 bytes, makes the request carry
     * Content-Length (a PATCH without one is 411). */
    return tus_req(s, "PATCH", u->access, loc, extra, "application/offset+octet-stream",
                   data ? data : "", len, r);
}

static uint64_t head_offset(mpt_server_t *s, const mpt_session_t *u, const char *loc)
{
    mpc_response_t r;
    assert_int_equal(fx_request(s->port, "HEAD", u->access, loc, TUS, &r, NULL), 200);
    assert_string_equal(fx_header(&r, "Cache-Control"), "no-store");
    uint64_t off = strtoull(fx_header(&r, "Upload-Offset"), NULL, 10);
    mpc_response_free(&r);
    return off;
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned len = 0;
    assert_int_equal(EVP_Digest(p, n, md, &len, EVP_sha256(), NULL), 1);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static unsigned char *random_bytes(size_t n)
{
    unsigned char *b = malloc(n);
    assert_non_null(b);
    randombytes_buf(b, n);
    return b;
}

static fx_path_t data_path(const mpt_server_t *s, const char *sub, const char *name)
{
    fx_path_t p;
    snprintf(p.s, sizeof p.s, "%s/files/%s/%s", s->data_dir, sub, name);
    return p;
}

/* Polls cond(arg) until true or 10 s: false when it never became true. */
static bool wait_for(bool (*cond)(const void *arg), const void *arg)
{
    int64_t until = mpt_mono_ms() + 10000;
    while (!cond(arg)) {
        if (mpt_mono_ms() > until)
            return false;
        pause_10ms();
    }
    return true;
}

static bool missing(const void *path)
{
    return access(path, F_OK) != 0;
}

/* ---- discovery and creation ------------------------------------------------------ */

static void test_options(void **state)
{
    (void)state;
    mpc_response_t r;
    assert_int_equal(fx_request(srv->port, "OPTIONS", NULL, "/v1/uploads", NULL, &r, NULL), 204);
    assert_string_equal(fx_header(&r, "Tus-Resumable"), "1.0.0");
    assert_string_equal(fx_header(&r, "Tus-Version"), "1.0.0");
    assert_string_equal(fx_header(&r, "Tus-Extension"), "creation,termination");
    assert_string_equal(fx_header(&r, "Tus-Max-Size"), "104857600");
    mpc_response_free(&r);
}

static void test_create_refusals(void **state)
{
    (void)state;
    mpt_session_t u;
    user(srv, &u);
    mpc_response_t r;
    /* No Tus-Resumable: 412 with the version the server speaks. */
    assert_int_equal(
        tus_req(srv, "POST", u.access, "/v1/uploads", "Upload-Length: 10\r\n", NULL, NULL, 0, &r),
        412);
    MPT_ASSERT_HTTP_ERROR(&r, 412, "precondition_failed");
    assert_string_equal(fx_header(&r, "Tus-Version"), "1.0.0");
    mpc_response_free(&r);
    assert_int_equal(tus_req(srv, "POST", u.access, "/v1/uploads", TUS, NULL, NULL, 0, &r), 400);
    MPT_ASSERT_HTTP_ERROR(&r, 400, "bad_request");
    mpc_response_free(&r);
    assert_int_equal(tus_req(srv, "POST", u.access, "/v1/uploads", TUS "Upload-Length: 0\r\n", NULL,
                             NULL, 0, &r),
                     400);
    mpc_response_free(&r);
    assert_int_equal(tus_req(srv, "POST", u.access, "/v1/uploads", TUS "Upload-Length: -5\r\n",
                             NULL, NULL, 0, &r),
                     400);
    mpc_response_free(&r);
    assert_int_equal(tus_req(srv, "POST", u.access, "/v1/uploads",
                             TUS "Upload-Length: 104857601\r\n", NULL, NULL, 0, &r),
                     413);
    MPT_ASSERT_HTTP_ERROR(&r, 413, "too_large");
    mpc_response_free(&r);
    assert_int_equal(tus_req(srv, "POST", u.access, "/v1/uploads",
                             TUS "Upload-Length: 10\r\nUpload-Metadata: filename %%%\r\n", NULL,
                             NULL, 0, &r),
                     400);
    mpc_response_free(&r);
    /* Without a token: 401. */
    assert_int_equal(
        tus_req(srv, "POST", NULL, "/v1/uploads", TUS "Upload-Length: 10\r\n", NULL, NULL, 0, &r),
        401);
    mpc_response_free(&r);
}

/* ---- an upload in pieces ---------------------------------------------------------- */

static void test_three_pieces(void **state)
{
    (void)state;
    mpt_session_t u;
    user(srv, &u);
    fx_path_t img = fx_image(dir, "tus.png", "png", 300, 200);
    size_t len;
    unsigned char *data = fx_slurp(img.s, &len);
    char loc[64];
    create(srv, &u, len, "../holiday.png", loc);
    size_t cut1 = len / 3, cut2 = 2 * len / 3;
    mpc_response_t r;
    assert_int_equal(patch(srv, &u, loc, 0, data, cut1, &r), 204);
    assert_int_equal(strtoull(fx_header(&r, "Upload-Offset"), NULL, 10), cut1);
    assert_string_equal(fx_header(&r, "Tus-Resumable"), "1.0.0");
    assert_string_equal(fx_header(&r, "Magpie-File-Id"), "");
    mpc_response_free(&r);
    assert_int_equal(head_offset(srv, &u, loc), cut1);
    assert_int_equal(patch(srv, &u, loc, cut1, data + cut1, cut2 - cut1, &r), 204);
    mpc_response_free(&r);
    assert_int_equal(patch(srv, &u, loc, cut2, data + cut2, len - cut2, &r), 204);
    assert_int_equal(strtoull(fx_header(&r, "Upload-Offset"), NULL, 10), len);
    char file_id[24];
    snprintf(file_id, sizeof file_id, "%s", fx_header(&r, "Magpie-File-Id"));
    assert_true(file_id[0] != '\0');
    mpc_response_free(&r);
    /* The session shows the file. */
    assert_int_equal(fx_request(srv->port, "GET", u.access, loc, TUS, &r, NULL), 200);
    assert_int_equal(jint(r.json, "offset"), (long long)len);
    assert_int_equal(jint(r.json, "length"), (long long)len);
    json_t *f = json_object_get(r.json, "file");
    assert_string_equal(jstr(f, "file_id"), file_id);
    assert_string_equal(jstr(f, "name"), "holiday.png");
    assert_string_equal(jstr(f, "class"), "image");
    assert_int_equal(jint(f, "width"), 300);
    char sha[65];
    sha256_hex(data, len, sha);
    assert_string_equal(jstr(f, "sha256"), sha);
    mpc_response_free(&r);
    /* A repeat of the last PATCH (its answer was lost) is answered again. */
    assert_int_equal(patch(srv, &u, loc, len, NULL, 0, &r), 204);
    assert_string_equal(fx_header(&r, "Magpie-File-Id"), file_id);
    mpc_response_free(&r);
    /* The upload's own file is gone (it became the blob). */
    char id[32];
    snprintf(id, sizeof id, "%s", loc + 12);
    assert_true(missing(data_path(srv, "uploads", id).s));
    free(data);
}

static void test_cut_and_resume(void **state)
{
    (void)state;
    mpt_session_t u;
    user(srv, &u);
    size_t len = 3 * 1024 * 1024;
    unsigned char *data = random_bytes(len);
    char loc[64];
    create(srv, &u, len, "video.bin", loc);
    mpc_response_t r;
    assert_int_equal(patch(srv, &u, loc, 0, data, 100000, &r), 204);
    mpc_response_free(&r);
    /* A PATCH of the rest, cut after 1 MiB: the connection closes. */
    mpc_conn_t *c = mpc_connect("127.0.0.1", srv->port, 5000);
    assert_non_null(c);
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "PATCH %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n" TUS
                     "Upload-Offset: 100000\r\nContent-Type: application/offset+octet-stream\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     loc, mpc_conn_hostport(c), u.access, len - 100000);
    assert_int_equal(mpc_send_raw(c, head, (size_t)n, FX_TIMEOUT), MPC_OK);
    assert_int_equal(mpc_send_raw(c, data + 100000, 1024 * 1024, FX_TIMEOUT), MPC_OK);
    mpc_conn_free(c);
    /* The server keeps what arrived: the offset grows past 100000 as soon
     * as it has seen the cut and closed the file (bounded wait). A PATCH
     * still in progress answers 409 conflict to a second one meanwhile. */
    uint64_t off = 0;
    int64_t until = mpt_mono_ms() + 10000;
    for (;;) {
        int st = patch(srv, &u, loc, 100000 + 1024 * 1024, NULL, 0, &r);
        mpc_response_free(&r);
        if (st == 204)
            break;
        assert_true(st == 409 && mpt_mono_ms() < until);
        pause_10ms();
    }
    off = head_offset(srv, &u, loc);
    assert_int_equal(off, 100000 + 1024 * 1024);
    /* Resume from the reported offset. */
    assert_int_equal(patch(srv, &u, loc, off, data + off, len - off, &r), 204);
    char file_id[24];
    snprintf(file_id, sizeof file_id, "%s", fx_header(&r, "Magpie-File-Id"));
    assert_true(file_id[0] != '\0');
    mpc_response_free(&r);
    char path[64], sha[65];
    snprintf(path, sizeof path, "/v1/files/%s/info", file_id);
    assert_int_equal(mpt_http(srv, "GET", path, u.access, NULL, &r), 200);
    sha256_hex(data, len, sha);
    assert_string_equal(jstr(r.json, "sha256"), sha);
    assert_int_equal(jint(r.json, "size"), (long long)len);
    assert_string_equal(jstr(r.json, "name"), "video.bin");
    mpc_response_free(&r);
    free(data);
}

/* ---- refusals ---------------------------------------------------------------------- */

static void test_patch_refusals(void **state)
{
    (void)state;
    mpt_session_t u, other;
    user(srv, &u);
    user(srv, &other);
    unsigned char *data = random_bytes(1000);
    char loc[64];
    create(srv, &u, 1000, "x.bin", loc);
    mpc_response_t r;
    assert_int_equal(patch(srv, &u, loc, 0, data, 400, &r), 204);
    mpc_response_free(&r);
    /* Wrong offset. */
    assert_int_equal(patch(srv, &u, loc, 300, data, 100, &r), 409);
    MPT_ASSERT_HTTP_ERROR(&r, 409, "offset_mismatch");
    assert_string_equal(fx_header(&r, "Upload-Offset"), "400");
    mpc_response_free(&r);
    /* Missing Tus-Resumable. */
    assert_int_equal(tus_req(srv, "PATCH", u.access, loc, "Upload-Offset: 400\r\n",
                             "application/offset+octet-stream", data, 10, &r),
                     412);
    MPT_ASSERT_HTTP_ERROR(&r, 412, "precondition_failed");
    mpc_response_free(&r);
    /* Wrong Content-Type. */
    assert_int_equal(tus_req(srv, "PATCH", u.access, loc, TUS "Upload-Offset: 400\r\n",
                             "application/octet-stream", data, 10, &r),
                     415);
    MPT_ASSERT_HTTP_ERROR(&r, 415, "unsupported_media_type");
    mpc_response_free(&r);
    /* Past Upload-Length. */
    assert_int_equal(patch(srv, &u, loc, 400, data, 601, &r), 400);
    MPT_ASSERT_HTTP_ERROR(&r, 400, "bad_request");
    mpc_response_free(&r);
    /* Someone else's upload: as if it did not exist. */
    assert_int_equal(patch(srv, &other, loc, 400, data, 10, &r), 404);
    MPT_ASSERT_HTTP_ERROR(&r, 404, "not_found");
    mpc_response_free(&r);
    assert_int_equal(fx_request(srv->port, "GET", other.access, loc, TUS, &r, NULL), 404);
    mpc_response_free(&r);
    assert_int_equal(tus_req(srv, "DELETE", other.access, loc, TUS, NULL, NULL, 0, &r), 404);
    mpc_response_free(&r);
    assert_int_equal(fx_request(srv->port, "GET", u.access, "/v1/uploads/123", TUS, &r, NULL), 404);
    mpc_response_free(&r);
    /* Nothing of this moved the offset. */
    assert_int_equal(head_offset(srv, &u, loc), 400);
    free(data);
}

/* Another writer of the same upload (a node of the cluster sharing
 * files_dir) holds the file's lock: 409 conflict, nothing written; once it
 * let go, the bytes it wrote count. */
static void test_other_writer(void **state)
{
    (void)state;
    mpt_session_t u;
    user(srv, &u);
    unsigned char *data = random_bytes(1000);
    char loc[64];
    create(srv, &u, 1000, "shared.bin", loc);
    mpc_response_t r;
    assert_int_equal(patch(srv, &u, loc, 0, data, 400, &r), 204);
    mpc_response_free(&r);
    fx_path_t path = data_path(srv, "uploads", loc + 12);
    int fd = open(path.s, O_WRONLY | O_APPEND | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    assert_int_equal(patch(srv, &u, loc, 400, data + 400, 100, &r), 409);
    MPT_ASSERT_HTTP_ERROR(&r, 409, "conflict");
    mpc_response_free(&r);
    assert_int_equal(head_offset(srv, &u, loc), 400);
    /* The other writer appends its 100 bytes and lets go. */
    assert_int_equal(write(fd, data + 400, 100), 100);
    close(fd);
    assert_int_equal(patch(srv, &u, loc, 400, data + 400, 100, &r), 409);
    MPT_ASSERT_HTTP_ERROR(&r, 409, "offset_mismatch");
    assert_string_equal(fx_header(&r, "Upload-Offset"), "500");
    mpc_response_free(&r);
    assert_int_equal(patch(srv, &u, loc, 500, data + 500, 500, &r), 204);
    assert_non_null(fx_header(&r, "Magpie-File-Id"));
    mpc_response_free(&r);
    free(data);
}

static void test_delete(void **state)
{
    (void)state;
    mpt_session_t u;
    user(srv, &u);
    unsigned char *data = random_bytes(5000);
    char loc[64], id[32];
    create(srv, &u, 5000, "gone.bin", loc);
    snprintf(id, sizeof id, "%s", loc + 12);
    mpc_response_t r;
    assert_int_equal(patch(srv, &u, loc, 0, data, 2000, &r), 204);
    mpc_response_free(&r);
    fx_path_t part = data_path(srv, "uploads", id);
    assert_false(missing(part.s));
    assert_int_equal(tus_req(srv, "DELETE", u.access, loc, TUS, NULL, NULL, 0, &r), 204);
    assert_string_equal(fx_header(&r, "Tus-Resumable"), "1.0.0");
    mpc_response_free(&r);
    assert_int_equal(fx_request(srv->port, "HEAD", u.access, loc, TUS, &r, NULL), 404);
    mpc_response_free(&r);
    assert_int_equal(patch(srv, &u, loc, 2000, data + 2000, 100, &r), 404);
    mpc_response_free(&r);
    assert_true(wait_for(missing, part.s));
    free(data);
}

/* A refusal at completion (the content is a truncated image) answers the
 * error and drops the session. */
static void test_refused_at_completion(void **state)
{
    (void)state;
    mpt_session_t u;
    user(srv, &u);
    fx_path_t img = fx_image(dir, "tus-cut.jpg", "jpg", 400, 300);
    fx_truncate(img.s, fx_size(img.s) / 2);
    size_t len;
    unsigned char *data = fx_slurp(img.s, &len);
    char loc[64];
    create(srv, &u, len, "cut.jpg", loc);
    mpc_response_t r;
    assert_int_equal(patch(srv, &u, loc, 0, data, len, &r), 422);
    MPT_ASSERT_HTTP_ERROR(&r, 422, "bad_media");
    mpc_response_free(&r);
    assert_int_equal(fx_request(srv->port, "HEAD", u.access, loc, TUS, &r, NULL), 404);
    mpc_response_free(&r);
    free(data);
}

/* ---- expiry and the sweep ------------------------------------------------------------ */

static bool session_gone(const void *arg)
{
    const char *const *a = arg; /* token, loc */
    mpc_response_t r;
    int st = fx_request(sweeper->port, "HEAD", a[0], a[1], TUS, &r, NULL);
    mpc_response_free(&r);
    return st == 404;
}

static void test_expiry(void **state)
{
    (void)state;
    mpt_session_t u;
    user(sweeper, &u);
    unsigned char *data = random_bytes(4000);
    char loc[64], id[32];
    create(sweeper, &u, 4000, "slow.bin", loc);
    snprintf(id, sizeof id, "%s", loc + 12);
    mpc_response_t r;
    assert_int_equal(patch(sweeper, &u, loc, 0, data, 1000, &r), 204);
    mpc_response_free(&r);
    fx_path_t part = data_path(sweeper, "uploads", id);
    assert_false(missing(part.s));
    const char *arg[] = {u.access, loc};
    assert_true(wait_for(session_gone, arg));
    /* The sweep deletes the expired session's bytes. */
    assert_true(wait_for(missing, part.s));
    free(data);
}

static bool info_gone(const void *arg)
{
    const char *const *a = arg; /* token, path */
    mpc_response_t r;
    int st = mpt_http(sweeper, "GET", a[1], a[0], NULL, &r);
    mpc_response_free(&r);
    return st == 404;
}

static void test_sweep_unreferenced(void **state)
{
    (void)state;
    mpt_session_t u;
    user(sweeper, &u);
    fx_path_t p = fx_bytes(dir, "sweep.bin", 20000);
    int st;
    json_t *f = NULL;
    fx_upload(sweeper->port, u.access, p.s, "sweep.bin", &st, &f);
    assert_int_equal(st, 201);
    char path[80], key_prefix[80];
    snprintf(path, sizeof path, "/v1/files/%s/info", jstr(f, "file_id"));
    snprintf(key_prefix, sizeof key_prefix, "%s-", jstr(f, "sha256"));
    const char *arg[] = {u.access, path};
    assert_true(wait_for(info_gone, arg));
    /* Its bytes are gone from disk too: blobs/<2 chars>/<sha>-<id>. */
    char sub[8];
    snprintf(sub, sizeof sub, "blobs/%.2s", key_prefix);
    fx_path_t blob_dir = data_path(sweeper, sub, "");
    char cmd[1200], out[64];
    snprintf(cmd, sizeof cmd, "ls \"%s\" 2>/dev/null | grep -c \"^%s\" || true", blob_dir.s,
             key_prefix);
    int64_t until = mpt_mono_ms() + 10000;
    for (;;) {
        fx_capture(out, sizeof out, "%s", cmd);
        if (atoi(out) == 0)
            break;
        assert_true(mpt_mono_ms() < until);
        pause_10ms();
    }
    json_decref(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),        cmocka_unit_test(test_create_refusals),
        cmocka_unit_test(test_three_pieces),   cmocka_unit_test(test_cut_and_resume),
        cmocka_unit_test(test_patch_refusals), cmocka_unit_test(test_other_writer),
        cmocka_unit_test(test_delete),         cmocka_unit_test(test_refused_at_completion),
        cmocka_unit_test(test_expiry),         cmocka_unit_test(test_sweep_unreferenced),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
