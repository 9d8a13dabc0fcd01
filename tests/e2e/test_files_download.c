/* End-to-end tests of downloads: whole bodies byte for byte, HEAD, Range
 * (one range, suffix, open end, past the end, several, garbage), If-Range,
 * If-None-Match, the security headers, EXIF stripped and orientation
 * applied in what is served, thumbnail sizes, active content only as an
 * attachment, safe file names, who may download (token, another user,
 * signed URLs, their expiry and tampering, a kicked member, guests), the
 * file list and record, clients that go away and a blob cut under a
 * download, and 100 parallel downloads of a 4 MiB file while two users
 * exchange messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "test_files_util.h"
#include "test_groups_util.h"

#define FILE_FLAGS                                                                                 \
    CHAT_FLAGS, "--guest_rate", "100000", "--upload_rate", "100000", "--upload_burst", "100000",   \
        "--max_connections_per_ip", "100000"

static mpt_server_t *srv;
static char dir[256]; /* fixtures and downloads */

static int setup(void **state)
{
    (void)state;
    const char *flags[] = {FILE_FLAGS, NULL};
    srv = mpt_server_start(flags);
    snprintf(dir, sizeof dir, "/tmp/mp-dl-XXXXXX");
    return srv != NULL && mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return mpt_server_stop(srv);
}

/* ---- helpers ----------------------------------------------------------------- */

/* Uploads path as name; returns the file object (caller decrefs). */
static json_t *upload(const mpt_session_t *s, const char *path, const char *name)
{
    int st;
    json_t *f = NULL;
    fx_upload(srv->port, s->access, path, name, &st, &f);
    if (st != 201) {
        char *d = f ? json_dumps(f, JSON_COMPACT) : NULL;
        fail_msg("upload of %s: status %d %s", name, st, d ? d : "");
    }
    assert_non_null(jstr(f, "file_id"));
    return f;
}

/* GET (or HEAD) path with token and extra headers, body into memory. */
static int get(const char *method, const char *token, const char *path, const char *extra,
               mpc_response_t *r)
{
    return fx_request(srv->port, method, token, path, extra, r, NULL);
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned len = 0;
    assert_int_equal(EVP_Digest(p, n, md, &len, EVP_sha256(), NULL), 1);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The downloaded body saved to dir/name, for the tools. */
static fx_path_t save(const mpc_response_t *r, const char *name)
{
    fx_path_t p = fx_join(dir, name);
    fx_write(p.s, r->body, r->body_len);
    return p;
}

static int vips_dim(const char *path, const char *field)
{
    char line[64];
    fx_capture(line, sizeof line, "vipsheader -f %s \"%s\"", field, path);
    assert_true(line[0] != '\0');
    return atoi(line);
}

static void file_path(const json_t *f, const char *suffix, char *out, size_t cap)
{
    snprintf(out, cap, "/v1/files/%s%s", jstr(f, "file_id"), suffix);
}

/* The security headers every successful download carries. */
static void check_headers(const mpc_response_t *r)
{
    assert_string_equal(fx_header(r, "Cache-Control"), "private, max-age=31536000, immutable");
    assert_string_equal(fx_header(r, "X-Content-Type-Options"), "nosniff");
    assert_string_equal(fx_header(r, "Content-Security-Policy"), "default-src 'none'; sandbox");
    assert_string_equal(fx_header(r, "Accept-Ranges"), "bytes");
    const char *etag = fx_header(r, "ETag");
    size_t n = strlen(etag);
    assert_true(n > 2 && etag[0] == '"' && etag[n - 1] == '"');
}

static bool starts_with(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* ---- whole bodies, HEAD ------------------------------------------------------------ */

static void test_whole(void **state)
{
    (void)state;
    mpt_session_t a;
    assert_int_equal(mpt_user_new(srv, "dl", &a), 0);
    fx_path_t pdf = fx_pdf_named_jpg(dir, "doc.pdf");
    fx_path_t bin = fx_bytes(dir, "random.bin", 1000003); /* not a multiple of a piece */
    const fx_path_t *src[] = {&pdf, &bin};
    const char *names[] = {"doc.pdf", "random.bin"};
    for (int i = 0; i < 2; i++) {
        json_t *f = upload(&a, src[i]->s, names[i]);
        char path[64];
        file_path(f, "", path, sizeof path);
        mpc_response_t r;
        assert_int_equal(get("GET", a.access, path, NULL, &r), 200);
        check_headers(&r);
        size_t len;
        unsigned char *want = fx_slurp(src[i]->s, &len);
        assert_int_equal(r.body_len, len);
        assert_memory_equal(r.body, want, len);
        char hex[65];
        sha256_hex(r.body, r.body_len, hex);
        assert_string_equal(hex, jstr(f, "sha256"));
        char cl[32];
        snprintf(cl, sizeof cl, "%zu", len);
        assert_string_equal(fx_header(&r, "Content-Length"), cl);
        assert_string_equal(fx_header(&r, "Content-Type"), jstr(f, "served_mime"));
        /* Neither a PDF nor unknown bytes are shown inline. */
        assert_true(starts_with(fx_header(&r, "Content-Disposition"), "attachment; filename=\""));
        free(want);
        mpc_response_free(&r);

        /* HEAD: the same head, no body (the next response on the same
         * connection starts right after it). */
        mpc_conn_t *c = mpc_connect("127.0.0.1", srv->port, 5000);
        assert_non_null(c);
        char raw[4096];
        int n =
            snprintf(raw, sizeof raw,
                     "HEAD %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n"
                     "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                     "Range: bytes=0-9\r\nConnection: close\r\n\r\n",
                     path, mpc_conn_hostport(c), a.access, path, mpc_conn_hostport(c), a.access);
        assert_true(n > 0 && (size_t)n < sizeof raw);
        assert_int_equal(mpc_send_raw(c, raw, (size_t)n, 5000), MPC_OK);
        mpc_response_t h;
        char rest[FX_PIECE];
        size_t nrest;
        assert_int_equal(fx_read_head(c, &h, rest, &nrest), MPC_OK);
        assert_int_equal(h.status, 200);
        assert_string_equal(fx_header(&h, "Content-Length"), cl);
        check_headers(&h);
        mpc_response_free(&h);
        /* What followed the HEAD's head is the 206's head. */
        mpc_http_parser_t *p = mpc_http_parser_new(false);
        size_t used = 0;
        int st = nrest ? mpc_http_parser_feed(p, rest, nrest, &used) : MPC_PARSE_MORE;
        char buf[4096];
        while (st == MPC_PARSE_MORE) {
            long got = mpc_recv_raw(c, buf, sizeof buf, 5000);
            assert_true(got > 0);
            st = mpc_http_parser_feed(p, buf, (size_t)got, &used);
        }
        assert_int_equal(st, MPC_PARSE_DONE);
        mpc_http_parser_take(p, &h);
        assert_int_equal(h.status, 206);
        assert_int_equal(h.body_len, 10);
        want = fx_slurp(src[i]->s, &len);
        assert_memory_equal(h.body, want, 10);
        free(want);
        mpc_response_free(&h);
        mpc_http_parser_free(p);
        mpc_conn_free(c);
        json_decref(f);
    }
}

/* ---- Range, If-Range, If-None-Match ----------------------------------------------- */

/* GET with one extra header line; checks status and, for 206, the bytes and
 * Content-Range against the file. */
static void range_case(const mpt_session_t *a, const char *path, const unsigned char *data,
                       size_t size, const char *extra, int status, size_t first, size_t count)
{
    mpc_response_t r;
    int st = get("GET", a->access, path, extra, &r);
    if (st != status)
        fail_msg("%s: status %d, want %d", extra, st, status);
    if (status == 206 || status == 200) {
        check_headers(&r);
        assert_int_equal(r.body_len, count);
        assert_memory_equal(r.body, data + first, count);
    }
    char cr[96];
    if (status == 206) {
        snprintf(cr, sizeof cr, "bytes %zu-%zu/%zu", first, first + count - 1, size);
        assert_string_equal(fx_header(&r, "Content-Range"), cr);
    } else if (status == 416) {
        snprintf(cr, sizeof cr, "bytes */%zu", size);
        assert_string_equal(fx_header(&r, "Content-Range"), cr);
        assert_string_equal(mpc_response_error_code(&r), "range_not_satisfiable");
    } else {
        assert_string_equal(fx_header(&r, "Content-Range"), "");
    }
    mpc_response_free(&r);
}

static void test_ranges(void **state)
{
    (void)state;
    mpt_session_t a;
    assert_int_equal(mpt_user_new(srv, "rg", &a), 0);
    fx_path_t bin = fx_bytes(dir, "range.bin", 300000);
    json_t *f = upload(&a, bin.s, "range.bin");
    char path[64];
    file_path(f, "", path, sizeof path);
    size_t size;
    unsigned char *data = fx_slurp(bin.s, &size);

    range_case(&a, path, data, size, "Range: bytes=0-99\r\n", 206, 0, 100);
    range_case(&a, path, data, size, "Range: bytes=-10\r\n", 206, size - 10, 10);
    range_case(&a, path, data, size, "Range: bytes=131000-\r\n", 206, 131000, size - 131000);
    range_case(&a, path, data, size, "Range: bytes=299990-400000\r\n", 206, 299990, 10);
    range_case(&a, path, data, size, "Range: bytes=300000-\r\n", 416, 0, 0);
    range_case(&a, path, data, size, "Range: bytes=99999999999999999999999-\r\n", 416, 0, 0);
    range_case(&a, path, data, size, "Range: bytes=0-1,5-9\r\n", 200, 0, size);
    range_case(&a, path, data, size, "Range: bytes=9-1\r\n", 200, 0, size);
    range_case(&a, path, data, size, "Range: pages=1-2\r\n", 200, 0, size);
    range_case(&a, path, data, size, "Range: garbage\r\n", 200, 0, size);

    /* The ETag of the file. */
    mpc_response_t r;
    assert_int_equal(get("HEAD", a.access, path, NULL, &r), 200);
    char etag[160], extra[400];
    snprintf(etag, sizeof etag, "%s", fx_header(&r, "ETag"));
    mpc_response_free(&r);

    /* If-Range: our tag honours the Range, another gives the whole body. */
    snprintf(extra, sizeof extra, "Range: bytes=10-19\r\nIf-Range: %s\r\n", etag);
    range_case(&a, path, data, size, extra, 206, 10, 10);
    range_case(&a, path, data, size, "Range: bytes=10-19\r\nIf-Range: \"other\"\r\n", 200, 0, size);
    range_case(&a, path, data, size,
               "Range: bytes=10-19\r\nIf-Range: Wed, 21 Oct 2015 07:28:00 GMT\r\n", 200, 0, size);

    /* If-None-Match: 304 without a body, with the tag; another tag: 200. */
    snprintf(extra, sizeof extra, "If-None-Match: \"x\", %s\r\n", etag);
    assert_int_equal(get("GET", a.access, path, extra, &r), 304);
    assert_int_equal(r.body_len, 0);
    assert_string_equal(fx_header(&r, "ETag"), etag);
    mpc_response_free(&r);
    range_case(&a, path, data, size, "If-None-Match: \"nope\"\r\n", 200, 0, size);
    free(data);
    json_decref(f);
}

/* ---- what is served of images ------------------------------------------------------ */

static void test_exif_stripped(void **state)
{
    (void)state;
    mpt_session_t a;
    assert_int_equal(mpt_user_new(srv, "ex", &a), 0);
    fx_path_t jpg = fx_jpeg_exif(dir, "gps.jpg", 120, 80, 6);
    assert_true(fx_has_gps(jpg.s));
    json_t *f = upload(&a, jpg.s, "gps.jpg");
    assert_int_equal(jint(f, "width"), 80); /* after orientation */
    assert_int_equal(jint(f, "height"), 120);
    char path[64];
    file_path(f, "", path, sizeof path);
    mpc_response_t r;
    assert_int_equal(get("GET", a.access, path, NULL, &r), 200);
    check_headers(&r);
    assert_string_equal(fx_header(&r, "Content-Type"), "image/jpeg");
    assert_true(starts_with(fx_header(&r, "Content-Disposition"), "inline; filename=\"gps.jpg\""));
    fx_path_t got = save(&r, "gps-served.jpg");
    mpc_response_free(&r);
    assert_false(fx_has_gps(got.s));
    assert_true(fx_orientation(got.s) <= 1);
    assert_int_equal(vips_dim(got.s, "width"), 80);
    assert_int_equal(vips_dim(got.s, "height"), 120);

    /* ?download=1 makes even an image an attachment. */
    file_path(f, "?download=1", path, sizeof path);
    assert_int_equal(get("GET", a.access, path, NULL, &r), 200);
    assert_true(starts_with(fx_header(&r, "Content-Disposition"), "attachment; "));
    mpc_response_free(&r);
    json_decref(f);
}

static void test_thumbnails(void **state)
{
    (void)state;
    mpt_session_t a;
    assert_int_equal(mpt_user_new(srv, "th", &a), 0);
    fx_path_t jpg = fx_image(dir, "wide.jpg", "jpg", 1000, 600);
    json_t *f = upload(&a, jpg.s, "wide.jpg");
    const char *want_q[] = {"", "?size=320", "?size=256", "?size=64"};
    const int want_w[] = {320, 320, 256, 64}, want_h[] = {192, 192, 256, 64};
    for (int i = 0; i < 4; i++) {
        char path[96], suffix[48];
        snprintf(suffix, sizeof suffix, "/thumbnail%s", want_q[i]);
        file_path(f, suffix, path, sizeof path);
        mpc_response_t r;
        assert_int_equal(get("GET", a.access, path, NULL, &r), 200);
        check_headers(&r);
        assert_string_equal(fx_header(&r, "Content-Type"), "image/webp");
        fx_path_t got = save(&r, "thumb.webp");
        mpc_response_free(&r);
        assert_int_equal(vips_dim(got.s, "width"), want_w[i]);
        assert_int_equal(vips_dim(got.s, "height"), want_h[i]);
    }
    char path[96];
    file_path(f, "/thumbnail?size=100", path, sizeof path);
    mpc_response_t r;
    assert_int_equal(get("GET", a.access, path, NULL, &r), 400);
    assert_string_equal(mpc_response_error_code(&r), "bad_request");
    mpc_response_free(&r);
    json_decref(f);

    /* A file without renditions has no thumbnail. */
    fx_path_t pdf = fx_pdf_named_jpg(dir, "nothumb.pdf");
    f = upload(&a, pdf.s, "nothumb.pdf");
    assert_true(json_is_null(json_object_get(f, "thumbnail_url")));
    file_path(f, "/thumbnail", path, sizeof path);
    assert_int_equal(get("GET", a.access, path, NULL, &r), 404);
    assert_string_equal(mpc_response_error_code(&r), "not_found");
    mpc_response_free(&r);
    json_decref(f);
}

/* ---- active content, file names ------------------------------------------------------ */

static void test_active_content(void **state)
{
    (void)state;
    mpt_session_t a;
    assert_int_equal(mpt_user_new(srv, "ac", &a), 0);
    fx_path_t svg = fx_svg_script(dir, "x.svg");
    fx_path_t html = fx_join(dir, "page.html");
    static const char page[] = "<!DOCTYPE html>\n<html><head><title>x</title></head>"
                               "<body><script>alert(document.cookie)</script></body></html>\n";
    fx_write(html.s, page, sizeof page - 1);
    const char *paths[] = {svg.s, html.s};
    const char *names[] = {"x.svg", "page.html"};
    for (int i = 0; i < 2; i++) {
        json_t *f = upload(&a, paths[i], names[i]);
        char path[64];
        file_path(f, "", path, sizeof path);
        mpc_response_t r;
        assert_int_equal(get("GET", a.access, path, NULL, &r), 200);
        check_headers(&r);
        const char *disp = fx_header(&r, "Content-Disposition");
        if (!starts_with(disp, "attachment"))
            fail_msg("%s served with Content-Disposition: %s", names[i], disp);
        /* Not even under a name that says image. */
        json_decref(f);
        mpc_response_free(&r);
        f = upload(&a, paths[i], "innocent.png");
        file_path(f, "", path, sizeof path);
        assert_int_equal(get("GET", a.access, path, NULL, &r), 200);
        assert_true(starts_with(fx_header(&r, "Content-Disposition"), "attachment"));
        assert_false(starts_with(fx_header(&r, "Content-Type"), "image/png"));
        mpc_response_free(&r);
        json_decref(f);
    }
}

/* The quoted filename="..." of a Content-Disposition, checked to hold no
 * quote, backslash, slash or control character. */
static void check_safe_filename(const char *disp)
{
    const char *q = strstr(disp, "filename=\"");
    assert_non_null(q);
    q += 10;
    const char *end = strstr(q, "\"; filename*=UTF-8''");
    if (end == NULL)
        fail_msg("no filename* after the quoted filename: %s", disp);
    for (const char *p = q; p < end; p++)
        if (*p == '"' || *p == '\\' || *p == '/' || (unsigned char)*p < 0x20 ||
            (unsigned char)*p >= 0x7f)
            fail_msg("unsafe character 0x%02x in %s", (unsigned char)*p, disp);
    for (const char *p = end + 20; *p; p++)
        if (strchr("\"\\/; ", *p) != NULL)
            fail_msg("unescaped character '%c' in filename*: %s", *p, disp);
}

static void test_file_names(void **state)
{
    (void)state;
    mpt_session_t a;
    assert_int_equal(mpt_user_new(srv, "fn", &a), 0);
    fx_path_t pdf = fx_pdf_named_jpg(dir, "names.pdf");
    const char *names[] = {"../../etc/passwd", "..\\..\\windows\\win.ini", "a\"b; c=d.pdf",
                           "r\303\251sum\303\251 \342\200\256fdp.exe" /* U+202E */,
                           "x\r\nSet-Cookie: y"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        json_t *f = upload(&a, pdf.s, names[i]);
        char path[64];
        file_path(f, "", path, sizeof path);
        mpc_response_t r;
        assert_int_equal(get("GET", a.access, path, NULL, &r), 200);
        const char *disp = fx_header(&r, "Content-Disposition");
        assert_true(starts_with(disp, "attachment"));
        if (strstr(disp, "filename=") != NULL)
            check_safe_filename(disp);
        assert_null(mpc_response_header(&r, "Set-Cookie"));
        mpc_response_free(&r);
        json_decref(f);
    }
    /* A plain name survives whole; a UTF-8 one in filename*. */
    json_t *f = upload(&a, pdf.s, "r\xc3\xa9sum\xc3\xa9.pdf");
    char path[64];
    file_path(f, "", path, sizeof path);
    mpc_response_t r;
    assert_int_equal(get("GET", a.access, path, NULL, &r), 200);
    assert_string_equal(fx_header(&r, "Content-Disposition"),
                        "attachment; filename=\"r__sum__.pdf\"; "
                        "filename*=UTF-8''r%C3%A9sum%C3%A9.pdf");
    mpc_response_free(&r);
    json_decref(f);
}

/* ---- who may download ------------------------------------------------------------------ */

static void test_access(void **state)
{
    (void)state;
    mpt_session_t a, b;
    assert_int_equal(mpt_user_new(srv, "own", &a), 0);
    assert_int_equal(mpt_user_new(srv, "oth", &b), 0);
    fx_path_t jpg = fx_image(dir, "private.jpg", "jpg", 200, 100);
    json_t *f = upload(&a, jpg.s, "private.jpg");
    char path[96];
    mpc_response_t r, missing;

    /* No token: 401, on every download route. */
    const char *suffixes[] = {"", "/thumbnail", "/thumbnail?size=64"};
    for (int i = 0; i < 3; i++) {
        file_path(f, suffixes[i], path, sizeof path);
        assert_int_equal(get("GET", NULL, path, NULL, &r), 401);
        assert_string_equal(mpc_response_error_code(&r), "unauthorized");
        mpc_response_free(&r);
    }
    /* A bad token is no token. */
    file_path(f, "", path, sizeof path);
    assert_int_equal(get("GET", "not.a.token", path, NULL, &r), 401);
    mpc_response_free(&r);

    /* Another user: exactly the answer for a file that does not exist. */
    assert_int_equal(get("GET", b.access, "/v1/files/1234567890123", NULL, &missing), 404);
    const char *suffixes2[] = {"", "/thumbnail", "/info"};
    for (int i = 0; i < 3; i++) {
        file_path(f, suffixes2[i], path, sizeof path);
        assert_int_equal(get("GET", b.access, path, NULL, &r), 404);
        assert_int_equal(r.body_len, missing.body_len);
        assert_memory_equal(r.body, missing.body, r.body_len);
        mpc_response_free(&r);
        assert_int_equal(get("HEAD", b.access, path, NULL, &r), 404);
        mpc_response_free(&r);
    }
    file_path(f, "/url", path, sizeof path);
    assert_int_equal(mpt_http(srv, "POST", path, b.access, NULL, &r), 404);
    mpc_response_free(&r);
    /* Not an id at all. */
    assert_int_equal(get("GET", a.access, "/v1/files/abc", NULL, &r), 404);
    mpc_response_free(&r);
    assert_int_equal(get("GET", a.access, "/v1/files/0", NULL, &r), 404);
    mpc_response_free(&r);
    mpc_response_free(&missing);

    /* The owner may. */
    file_path(f, "", path, sizeof path);
    assert_int_equal(get("GET", a.access, path, NULL, &r), 200);
    mpc_response_free(&r);
    json_decref(f);
}

/* ---- signed URLs ----------------------------------------------------------------------- */

/* POST /v1/files/{id}/url as s: the body (caller decrefs). */
static json_t *sign(const mpt_session_t *s, const json_t *f)
{
    char path[96];
    file_path(f, "/url", path, sizeof path);
    mpc_response_t r;
    int st = mpt_http(srv, "POST", path, s->access, NULL, &r);
    if (st != 200)
        fail_msg("signing %s: %d %s", path, st, r.body ? r.body : "");
    json_t *j = json_incref(r.json);
    mpc_response_free(&r);
    assert_non_null(jstr(j, "url"));
    assert_true(json_is_integer(json_object_get(j, "expires_at")));
    return j;
}

/* url with the value of query parameter key replaced by val. */
static void with_param(const char *url, const char *key, const char *val, char *out, size_t cap)
{
    char k[16];
    snprintf(k, sizeof k, "%s=", key);
    const char *p = strstr(url, k);
    assert_non_null(p);
    p += strlen(k);
    const char *e = strchr(p, '&');
    snprintf(out, cap, "%.*s%s%s", (int)(p - url), url, val, e ? e : "");
}

static void test_signed(void **state)
{
    (void)state;
    mpt_session_t a, b;
    assert_int_equal(mpt_user_new(srv, "sg", &a), 0);
    assert_int_equal(mpt_user_new(srv, "sg", &b), 0);
    fx_path_t jpg = fx_image(dir, "signed.jpg", "jpg", 400, 300);
    json_t *f = upload(&a, jpg.s, "signed.jpg");
    json_t *u = sign(&a, f);
    const char *url = jstr(u, "url");
    char want[128];
    snprintf(want, sizeof want, "/v1/files/%s?exp=", jstr(f, "file_id"));
    assert_true(starts_with(url, want));
    assert_non_null(strstr(url, "&u="));
    assert_non_null(strstr(url, "&sig="));
    long long exp = jint(u, "expires_at");
    long long now = (long long)time(NULL) * 1000;
    assert_true(exp > now && exp <= now + 11 * 60 * 1000); /* signed_url_ttl = 10m */

    /* Without a token: the file, and its thumbnail. */
    mpc_response_t r, whole;
    assert_int_equal(get("GET", NULL, url, NULL, &r), 200);
    check_headers(&r);
    assert_int_equal(get("GET", a.access, jstr(f, "url"), NULL, &whole), 200);
    assert_int_equal(r.body_len, whole.body_len);
    assert_memory_equal(r.body, whole.body, r.body_len);
    mpc_response_free(&whole);
    mpc_response_free(&r);
    assert_int_equal(get("GET", NULL, url, "Range: bytes=0-9\r\n", &r), 206);
    assert_int_equal(r.body_len, 10);
    mpc_response_free(&r);
    const char *turl = jstr(u, "thumbnail_url");
    assert_non_null(turl);
    assert_int_equal(get("GET", NULL, turl, NULL, &r), 200);
    assert_string_equal(fx_header(&r, "Content-Type"), "image/webp");
    mpc_response_free(&r);
    char t64[600];
    snprintf(t64, sizeof t64, "%s&size=64", turl);
    assert_int_equal(get("GET", NULL, t64, NULL, &r), 200);
    fx_path_t got = save(&r, "signed64.webp");
    mpc_response_free(&r);
    assert_int_equal(vips_dim(got.s, "width"), 64);

    /* Tampered: the signature, the user, the expiry, another file, the
     * thumbnail's signature on the file. All look like a missing file. */
    char bad[600];
    const char *sig = strstr(url, "sig=") + 4;
    char flipped[64];
    snprintf(flipped, sizeof flipped, "%s", sig);
    flipped[5] = flipped[5] == 'A' ? 'B' : 'A';
    with_param(url, "sig", flipped, bad, sizeof bad);
    assert_int_equal(get("GET", NULL, bad, NULL, &r), 404);
    assert_string_equal(mpc_response_error_code(&r), "not_found");
    mpc_response_free(&r);
    with_param(url, "u", b.user_id, bad, sizeof bad);
    assert_int_equal(get("GET", NULL, bad, NULL, &r), 404);
    mpc_response_free(&r);
    char later[32];
    snprintf(later, sizeof later, "%lld", exp + 1000000);
    with_param(url, "exp", later, bad, sizeof bad);
    assert_int_equal(get("GET", NULL, bad, NULL, &r), 404);
    mpc_response_free(&r);
    with_param(url, "sig", "", bad, sizeof bad);
    assert_int_equal(get("GET", NULL, bad, NULL, &r), 404);
    mpc_response_free(&r);
    json_t *f2 = upload(&a, jpg.s, "other.jpg");
    snprintf(bad, sizeof bad, "/v1/files/%s%s", jstr(f2, "file_id"), strchr(url, '?'));
    assert_int_equal(get("GET", NULL, bad, NULL, &r), 404);
    mpc_response_free(&r);
    snprintf(bad, sizeof bad, "%s/thumbnail%s", jstr(f, "url"), strchr(url, '?'));
    assert_int_equal(get("GET", NULL, bad, NULL, &r), 404);
    mpc_response_free(&r);
    /* A signature for another path on the same query is not valid either. */
    snprintf(bad, sizeof bad, "/v1/files/%s/info%s", jstr(f, "file_id"), strchr(url, '?'));
    assert_int_equal(get("GET", NULL, bad, NULL, &r), 401);
    mpc_response_free(&r);

    /* A file without a thumbnail signs no thumbnail URL. */
    fx_path_t pdf = fx_pdf_named_jpg(dir, "signed.pdf");
    json_t *f3 = upload(&a, pdf.s, "signed.pdf");
    json_t *u3 = sign(&a, f3);
    assert_true(json_is_null(json_object_get(u3, "thumbnail_url")));
    assert_int_equal(get("GET", NULL, jstr(u3, "url"), NULL, &r), 200);
    mpc_response_free(&r);
    json_decref(u3);
    json_decref(f3);
    json_decref(f2);
    json_decref(u);
    json_decref(f);
}

/* A server whose signed URLs live one second: a URL works, then stops. */
static void test_signed_expiry(void **state)
{
    (void)state;
    const char *flags[] = {FILE_FLAGS, "--signed_url_ttl", "1s", NULL};
    mpt_server_t *s1 = mpt_server_start(flags);
    assert_non_null(s1);
    mpt_session_t a;
    assert_int_equal(mpt_user_new(s1, "ttl", &a), 0);
    fx_path_t pdf = fx_pdf_named_jpg(dir, "ttl.pdf");
    int st;
    json_t *f = NULL;
    fx_upload(s1->port, a.access, pdf.s, "ttl.pdf", &st, &f);
    assert_int_equal(st, 201);
    char path[96];
    file_path(f, "/url", path, sizeof path);
    mpc_response_t r;
    assert_int_equal(mpt_http(s1, "POST", path, a.access, NULL, &r), 200);
    char url[512];
    snprintf(url, sizeof url, "%s", jstr(r.json, "url"));
    long long exp = jint(r.json, "expires_at");
    mpc_response_free(&r);
    /* Poll until it fails, at most 10 s: it must fail with 404, and not
     * before its expiry. */
    int last = 0, ok = 0;
    for (int i = 0; i < 100; i++) {
        last = fx_request(s1->port, "GET", NULL, url, NULL, &r, NULL);
        mpc_response_free(&r);
        if (last != 200)
            break;
        ok++;
        usleep(100 * 1000);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    assert_int_equal(last, 404);
    assert_true(now >= exp);
    fprintf(stderr, "signed URL worked %d times before it expired\n", ok);
    json_decref(f);
    assert_int_equal(mpt_server_stop(s1), 0);
}

/* A member reads a file through a group message; removed from the group,
 * neither the token nor a URL signed before works any more. */
static void test_kicked_member(void **state)
{
    (void)state;
    chat_dev_t a, b;
    dev_new_user(srv, "ka", &a);
    dev_new_user(srv, "kb", &b);
    char group[24];
    assert_int_equal(
        group_create(srv, a.s.access, "photos", ids_json(b.s.user_id, NULL), NULL, group, NULL),
        201);
    fx_path_t jpg = fx_image(dir, "group.jpg", "jpg", 300, 200);
    json_t *f = upload(&a.s, jpg.s, "group.jpg");
    char path[96];
    file_path(f, "", path, sizeof path);
    mpc_response_t r;
    /* Before the message: B may not. */
    assert_int_equal(get("GET", b.s.access, path, NULL, &r), 404);
    mpc_response_free(&r);
    json_t *rep =
        call(a.ws, "send",
             json_pack("{s:s,s:s,s:s,s:{s:s}}", "conversation", group, "client_msg_id", "img1",
                       "kind", "image", "content", "file_id", jstr(f, "file_id")));
    if (!is_ok(rep)) {
        char *d = json_dumps(rep, JSON_COMPACT);
        fail_msg("send image: %s", d);
    }
    json_decref(rep);
    assert_int_equal(get("GET", b.s.access, path, NULL, &r), 200);
    mpc_response_free(&r);
    json_t *u = sign(&b.s, f);
    assert_int_equal(get("GET", NULL, jstr(u, "url"), NULL, &r), 200);
    mpc_response_free(&r);
    assert_int_equal(get("GET", NULL, jstr(u, "thumbnail_url"), NULL, &r), 200);
    mpc_response_free(&r);

    char kick[128];
    snprintf(kick, sizeof kick, "/v1/groups/%s/members/%s", group, b.s.user_id);
    assert_int_equal(mpt_http(srv, "DELETE", kick, a.s.access, NULL, &r), 204);
    mpc_response_free(&r);
    assert_int_equal(get("GET", b.s.access, path, NULL, &r), 404);
    mpc_response_free(&r);
    assert_int_equal(get("GET", NULL, jstr(u, "url"), NULL, &r), 404);
    mpc_response_free(&r);
    assert_int_equal(get("GET", NULL, jstr(u, "thumbnail_url"), NULL, &r), 404);
    mpc_response_free(&r);
    /* The uploader still may. */
    assert_int_equal(get("GET", a.s.access, path, NULL, &r), 200);
    mpc_response_free(&r);
    json_decref(u);
    json_decref(f);
    dev_close(&a);
    dev_close(&b);
}

/* Guests download their own uploads, also through signed URLs, and nobody
 * else's private files. */
static void test_guest(void **state)
{
    (void)state;
    mpt_session_t a, g;
    assert_int_equal(mpt_user_new(srv, "gu", &a), 0);
    assert_int_equal(guest_new(srv, "Visitor", &g), 200);
    fx_path_t pdf = fx_pdf_named_jpg(dir, "guest.pdf");
    json_t *mine = upload(&g, pdf.s, "guest.pdf");
    json_t *theirs = upload(&a, pdf.s, "user.pdf");
    char path[96];
    mpc_response_t r;
    file_path(mine, "", path, sizeof path);
    assert_int_equal(get("GET", g.access, path, NULL, &r), 200);
    mpc_response_free(&r);
    json_t *u = sign(&g, mine);
    assert_int_equal(get("GET", NULL, jstr(u, "url"), NULL, &r), 200);
    mpc_response_free(&r);
    file_path(theirs, "", path, sizeof path);
    assert_int_equal(get("GET", g.access, path, NULL, &r), 404);
    mpc_response_free(&r);
    json_decref(u);
    json_decref(mine);
    json_decref(theirs);
}

/* ---- cut downloads ------------------------------------------------------------------ */

/* Open descriptors of the server process. */
static int fd_count(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* GET path on a new connection; reads the head only. */
static mpc_conn_t *start_download(const char *token, const char *path, mpc_response_t *head)
{
    mpc_conn_t *c = mpc_connect("127.0.0.1", srv->port, 5000);
    assert_non_null(c);
    mpc_http_req_t req = {.method = "GET", .path = path, .token = token};
    size_t len;
    char *raw = mpc_http_build(&req, &len);
    assert_int_equal(mpc_send_raw(c, raw, len, 5000), MPC_OK);
    free(raw);
    char rest[FX_PIECE];
    size_t nrest;
    assert_int_equal(fx_read_head(c, head, rest, &nrest), MPC_OK);
    assert_int_equal(head->status, 200);
    return c;
}

/* Clients that go away mid-download: the server stops reading for them and
 * closes every blob it had open; a blob cut on disk under a download ends
 * that download early (the connection closes before Content-Length). */
static void test_cut_downloads(void **state)
{
    (void)state;
    mpt_session_t a;
    assert_int_equal(mpt_user_new(srv, "cut", &a), 0);
    enum { CUT_SIZE = 32 * 1024 * 1024, CLIENTS = 20 };
    fx_path_t big = fx_bytes(dir, "cut.bin", CUT_SIZE);
    json_t *f = upload(&a, big.s, "cut.bin");
    const char *url = jstr(f, "url");
    int fds0 = fd_count(srv->pid);

    mpc_conn_t *c[CLIENTS];
    mpc_response_t head;
    for (int i = 0; i < CLIENTS; i++) {
        c[i] = start_download(a.access, url, &head);
        mpc_response_free(&head);
    }
    for (int i = 0; i < CLIENTS; i++)
        mpc_conn_free(c[i]);
    /* Poll (bounded) until the server holds no more descriptors than
     * before: the sockets and the readers are closed. */
    int fds = 0;
    for (int i = 0; i < 100; i++) {
        fds = fd_count(srv->pid);
        if (fds <= fds0)
            break;
        usleep(100 * 1000);
    }
    if (fds > fds0)
        fail_msg("the server holds %d descriptors, %d before the downloads", fds, fds0);

    /* A blob cut under a download. */
    mpc_conn_t *d = start_download(a.access, url, &head);
    char etag[160];
    snprintf(etag, sizeof etag, "%s", fx_header(&head, "ETag"));
    mpc_response_free(&head);
    char key[160], rel[200];
    snprintf(key, sizeof key, "%.*s", (int)strlen(etag) - 2, etag + 1);
    snprintf(rel, sizeof rel, "files/blobs/%.2s/%s", key, key);
    const char *blob = mpt_server_path(srv, rel);
    assert_int_equal(fx_size(blob), CUT_SIZE);
    assert_int_equal(truncate(blob, 1024 * 1024), 0);
    fx_sink_t sink = {0};
    FILE *null = fopen("/dev/null", "wb");
    assert_non_null(null);
    sink.f = null;
    int rc = fx_read_body(d, &sink, CUT_SIZE);
    fclose(null);
    mpc_conn_free(d);
    if (rc == MPC_OK || sink.len >= CUT_SIZE)
        fail_msg("the cut download ended normally (%zu bytes, %s)", sink.len, mpc_strerror(rc));
    fprintf(stderr, "cut download: %zu of %d bytes, then %s\n", sink.len, CUT_SIZE,
            mpc_strerror(rc));
    json_decref(f);
}

/* ---- the list and the record --------------------------------------------------------- */

static void test_list_info(void **state)
{
    (void)state;
    mpt_session_t a;
    assert_int_equal(mpt_user_new(srv, "ls", &a), 0);
    fx_path_t bin = fx_bytes(dir, "list.bin", 1000);
    json_t *f[3];
    for (int i = 0; i < 3; i++)
        f[i] = upload(&a, bin.s, "list.bin");
    mpc_response_t r;
    assert_int_equal(mpt_http(srv, "GET", "/v1/files", a.access, NULL, &r), 200);
    json_t *files = json_object_get(r.json, "files");
    assert_int_equal(json_array_size(files), 3);
    /* Newest first. */
    assert_string_equal(jstr(json_array_get(files, 0), "file_id"), jstr(f[2], "file_id"));
    assert_string_equal(jstr(json_array_get(files, 2), "file_id"), jstr(f[0], "file_id"));
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    assert_int_equal(jint(r.json, "used"), 3000);
    assert_true(json_is_integer(json_object_get(r.json, "quota")));
    mpc_response_free(&r);

    assert_int_equal(mpt_http(srv, "GET", "/v1/files?limit=2", a.access, NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "files")), 2);
    char next[256];
    assert_non_null(jstr(r.json, "next_cursor"));
    snprintf(next, sizeof next, "/v1/files?limit=2&before=%s", jstr(r.json, "next_cursor"));
    mpc_response_free(&r);
    assert_int_equal(mpt_http(srv, "GET", next, a.access, NULL, &r), 200);
    files = json_object_get(r.json, "files");
    assert_int_equal(json_array_size(files), 1);
    assert_string_equal(jstr(json_array_get(files, 0), "file_id"), jstr(f[0], "file_id"));
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    mpc_response_free(&r);

    const char *bad[] = {"/v1/files?limit=0", "/v1/files?limit=101", "/v1/files?limit=x",
                         "/v1/files?before=abc"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(mpt_http(srv, "GET", bad[i], a.access, NULL, &r), 400);
        MPT_ASSERT_HTTP_ERROR(&r, 400, "bad_request");
        mpc_response_free(&r);
    }
    assert_int_equal(mpt_http(srv, "GET", "/v1/files", NULL, NULL, &r), 401);
    mpc_response_free(&r);

    char path[96];
    file_path(f[1], "/info", path, sizeof path);
    assert_int_equal(mpt_http(srv, "GET", path, a.access, NULL, &r), 200);
    assert_string_equal(jstr(r.json, "file_id"), jstr(f[1], "file_id"));
    assert_string_equal(jstr(r.json, "name"), "list.bin");
    assert_int_equal(jint(r.json, "size"), 1000);
    mpc_response_free(&r);
    for (int i = 0; i < 3; i++)
        json_decref(f[i]);
}

/* ---- many downloads beside messaging --------------------------------------------------- */

#define PARALLEL 100
#define BIG (4 * 1024 * 1024)

/* One download of the parallel test. */
typedef struct {
    mpc_conn_t *c;
    int fd;
    char head[8192]; /* the response head while it arrives */
    size_t nhead;
    bool in_body, finished;
    /* results */
    int status;
    long long length; /* Content-Length */
    size_t got;       /* body bytes, each equal to the expected one */
    bool ok;
    double t0, secs;
} dl_job_t;

typedef struct {
    int port;
    const char *path, *token;
    const unsigned char *want; /* the BIG bytes expected */
    atomic_int done;
    dl_job_t jobs[PARALLEL];
} dl_set_t;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void job_end(dl_set_t *set, dl_job_t *j)
{
    j->finished = true;
    j->ok = j->status == 200 && j->length == BIG && j->got == BIG;
    j->secs = mono_s() - j->t0;
    atomic_fetch_add(&set->done, 1);
}

/* Body bytes: compared with the expected ones as they arrive. */
static void job_body(dl_set_t *set, dl_job_t *j, const char *p, size_t n)
{
    if (j->got + n > BIG || memcmp(p, set->want + j->got, n) != 0) {
        job_end(set, j); /* wrong or too many bytes: not ok */
        return;
    }
    j->got += n;
    if (j->got == BIG)
        job_end(set, j);
}

/* Bytes from the socket: the head first (status, Content-Length), then the
 * body. */
static void job_feed(dl_set_t *set, dl_job_t *j, const char *p, size_t n)
{
    if (j->in_body) {
        job_body(set, j, p, n);
        return;
    }
    size_t room = sizeof j->head - 1 - j->nhead, take = n < room ? n : room;
    memcpy(j->head + j->nhead, p, take);
    j->nhead += take;
    j->head[j->nhead] = '\0';
    char *end = strstr(j->head, "\r\n\r\n");
    if (end == NULL) {
        if (j->nhead == sizeof j->head - 1)
            job_end(set, j);
        return;
    }
    size_t headlen = (size_t)(end + 4 - j->head);
    *end = '\0';
    j->status = strncmp(j->head, "HTTP/1.1 ", 9) == 0 ? atoi(j->head + 9) : 0;
    const char *cl = strcasestr(j->head, "\r\nContent-Length:");
    j->length = cl ? atoll(cl + 17) : -1;
    j->in_body = true;
    /* What came after the head in this read: n - (take - (nhead - headlen)). */
    size_t body_in_p = n - (take - (j->nhead - headlen));
    if (body_in_p > 0)
        job_body(set, j, p + (n - body_in_p), body_in_p);
}

/* Runs every download at once from one thread (poll), so that the client
 * takes one core at most and the server's loop is what is measured. No
 * cmocka asserts here (another thread): the main thread checks results. */
static void *downloads_run(void *arg)
{
    dl_set_t *set = arg;
    mpc_http_req_t req = {.method = "GET", .path = set->path, .token = set->token, .close = true};
    size_t len;
    char *raw = mpc_http_build(&req, &len);
    for (int i = 0; i < PARALLEL; i++) {
        dl_job_t *j = &set->jobs[i];
        j->t0 = mono_s();
        j->c = mpc_connect("127.0.0.1", set->port, 10000);
        if (j->c == NULL || mpc_send_raw(j->c, raw, len, 10000) != MPC_OK) {
            job_end(set, j);
            continue;
        }
        j->fd = mpc_conn_fd(j->c);
        fcntl(j->fd, F_SETFL, fcntl(j->fd, F_GETFL) | O_NONBLOCK);
    }
    free(raw);
    static char buf[FX_PIECE];
    double deadline = mono_s() + 120;
    while (atomic_load(&set->done) < PARALLEL && mono_s() < deadline) {
        struct pollfd pf[PARALLEL];
        int map[PARALLEL], n = 0;
        for (int i = 0; i < PARALLEL; i++)
            if (!set->jobs[i].finished) {
                pf[n] = (struct pollfd){.fd = set->jobs[i].fd, .events = POLLIN};
                map[n++] = i;
            }
        if (poll(pf, (nfds_t)n, 1000) < 0)
            break;
        for (int k = 0; k < n; k++) {
            if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            dl_job_t *j = &set->jobs[map[k]];
            ssize_t got = recv(j->fd, buf, sizeof buf, 0);
            if (got > 0)
                job_feed(set, j, buf, (size_t)got);
            else if (got == 0 || (errno != EAGAIN && errno != EINTR))
                job_end(set, j); /* closed before the whole body */
        }
    }
    for (int i = 0; i < PARALLEL; i++)
        if (set->jobs[i].c != NULL)
            mpc_conn_free(set->jobs[i].c);
    return NULL;
}

/* The server's resident set (kB), from /proc. */
static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atol(line + 6);
    if (f != NULL)
        fclose(f);
    return kb;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Message i from one of a, b to the other (alternating): returns the time
 * from the send to the peer's event, in ms. */
static double exchange(chat_dev_t *a, chat_dev_t *b, const char *conv, int i, const char *tag)
{
    chat_dev_t *from = i % 2 ? b : a, *to = i % 2 ? a : b;
    char cmid[16], text[32];
    snprintf(cmid, sizeof cmid, "%s%d", tag, i);
    snprintf(text, sizeof text, "%s %d", tag, i);
    double s0 = mono_s();
    send_text(from, conv, cmid, text, NULL);
    json_t *ev = next_event(to->ws, "message");
    double ms = (mono_s() - s0) * 1000;
    const char *got = jstr(json_object_get(ev, "message"), "text");
    assert_non_null(got);
    assert_string_equal(got, text);
    json_decref(ev);
    return ms;
}

static void test_parallel_downloads(void **state)
{
    (void)state;
    chat_dev_t a, b;
    dev_new_user(srv, "pa", &a);
    dev_new_user(srv, "pb", &b);
    fx_path_t big = fx_bytes(dir, "big.bin", BIG);
    json_t *f = upload(&a.s, big.s, "big.bin");
    size_t len;
    unsigned char *want = fx_slurp(big.s, &len);
    assert_int_equal(len, BIG);
    /* The first message opens the conversation. */
    json_t *rep = send_msg(a.ws, NULL, b.s.user_id, "p0", "hello");
    assert_true(is_ok(rep));
    char conv[24];
    snprintf(conv, sizeof conv, "%s", jstr(rep, "conversation"));
    json_decref(rep);
    json_decref(next_event(b.ws, "message"));

    /* The latency of a message with nothing else going on, to compare. */
    static double base[20];
    for (int i = 0; i < 20; i++)
        base[i] = exchange(&a, &b, conv, i, "b");
    qsort(base, 20, sizeof base[0], cmp_double);

    long rss0 = rss_kb(srv->pid), rss_max = rss0;
    static dl_set_t set;
    memset(&set, 0, sizeof set);
    set.port = srv->port;
    set.path = jstr(f, "url");
    set.token = a.s.access;
    set.want = want;
    double t0 = mono_s();
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, downloads_run, &set), 0);
    /* Messages back and forth while the downloads run: each must arrive;
     * its latency (send to the peer's event) is measured. */
    static double lat[4000];
    int nmsg = 0, during = 0;
    while ((atomic_load(&set.done) < PARALLEL || nmsg < 20) && nmsg < 4000 && mono_s() - t0 < 240) {
        bool running = atomic_load(&set.done) < PARALLEL;
        lat[nmsg] = exchange(&a, &b, conv, nmsg, "q");
        long kb = rss_kb(srv->pid);
        rss_max = kb > rss_max ? kb : rss_max;
        nmsg++;
        during += running;
    }
    pthread_join(th, NULL);
    double total = mono_s() - t0;
    int good = 0;
    double slowest = 0;
    for (int i = 0; i < PARALLEL; i++) {
        const dl_job_t *j = &set.jobs[i];
        if (j->ok)
            good++;
        else
            fprintf(stderr, "download %d: status %d, %zu good bytes\n", i, j->status, j->got);
        if (j->secs > slowest)
            slowest = j->secs;
    }
    qsort(lat, (size_t)nmsg, sizeof lat[0], cmp_double);
    fprintf(stderr,
            "parallel downloads: %d x %d MiB in %.2f s (%.1f MB/s total, slowest %.2f s); "
            "%d messages (%d while downloads ran): latency median %.1f ms, p99 %.1f ms, "
            "max %.1f ms (alone: median %.1f ms, max %.1f ms); server RSS %ld kB before, "
            "at most %ld kB during\n",
            PARALLEL, BIG >> 20, total, (double)PARALLEL * BIG / 1e6 / total, slowest, nmsg, during,
            lat[nmsg / 2], lat[(nmsg * 99) / 100], lat[nmsg - 1], base[10], base[19], rss0,
            rss_max);
    assert_int_equal(good, PARALLEL);
    assert_true(nmsg >= 20);
    free(want);
    dev_close(&a);
    dev_close(&b);
    json_decref(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole),          cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_exif_stripped),  cmocka_unit_test(test_thumbnails),
        cmocka_unit_test(test_active_content), cmocka_unit_test(test_file_names),
        cmocka_unit_test(test_access),         cmocka_unit_test(test_signed),
        cmocka_unit_test(test_signed_expiry),  cmocka_unit_test(test_kicked_member),
        cmocka_unit_test(test_guest),          cmocka_unit_test(test_list_info),
        cmocka_unit_test(test_cut_downloads),  cmocka_unit_test(test_parallel_downloads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
