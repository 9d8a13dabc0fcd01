/* Downloads: the file, its thumbnail, its record, and the caller's list.
 *
 * A download is: who asks (bearer token or signed URL), may they read it (a
 * read job: the rule of mp_store_file_get, checked at every request, so that
 * a kicked member loses access at once), then the bytes. Those are read on
 * the thread pool in pieces of PIECE bytes, one piece in flight per
 * download, each handed to the connection without a copy; the next read
 * starts only when the connection's queued output has fallen to LOW_MARK.
 * So a download holds at most about two pieces of memory whatever its size,
 * a slow client slows only its own reads, and the loop only moves buffers,
 * which keeps message delivery going beside many large downloads. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "files/files_int.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"
#include "util/log.h"

#define PIECE (128 * 1024)
#define LOW_MARK PIECE
#define LIST_DEFAULT 50
#define LIST_MAX 100

/* ---- pure parts: Range, If-Range, Content-Disposition ---- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* A run of digits at *p: its value, saturated at UINT64_MAX, and where it
 * ends. false when there is no digit. */
static bool digits(const char **p, uint64_t *v, const char **start, size_t *len)
{
    const char *s = *p;
    uint64_t x = 0;
    bool sat = false;
    while (is_digit(*s)) {
        unsigned d = (unsigned)(*s - '0');
        if (sat || x > (UINT64_MAX - d) / 10)
            sat = true;
        else
            x = x * 10 + d;
        s++;
    }
    if (s == *p)
        return false;
    *start = *p;
    *len = (size_t)(s - *p);
    *v = sat ? UINT64_MAX : x;
    *p = s;
    return true;
}

/* a <= b for two digit strings of any length. */
static bool num_le(const char *a, size_t alen, const char *b, size_t blen)
{
    while (alen > 1 && *a == '0')
        a++, alen--;
    while (blen > 1 && *b == '0')
        b++, blen--;
    if (alen != blen)
        return alen < blen;
    return memcmp(a, b, alen) <= 0;
}

mp_range_t mp_files__range_parse(const char *range, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (range == NULL)
        return MP_RANGE_NONE;
    const char *p = skip_ows(range);
    if (strncasecmp(p, "bytes", 5) != 0)
        return MP_RANGE_NONE;
    p = skip_ows(p + 5);
    if (*p != '=')
        return MP_RANGE_NONE;
    p = skip_ows(p + 1);
    /* Several ranges would need multipart/byteranges: the whole body is a
     * valid answer to any of them (RFC 9110 14.2). */
    if (strchr(p, ',') != NULL)
        return MP_RANGE_NONE;
    uint64_t a, b;
    const char *as, *bs;
    size_t al, bl;
    if (*p == '-') { /* suffix: the last n bytes */
        p++;
        if (!digits(&p, &b, &bs, &bl) || *skip_ows(p) != '\0')
            return MP_RANGE_NONE;
        if (b == 0 || size == 0)
            return MP_RANGE_UNSAT;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return MP_RANGE_ONE;
    }
    if (!digits(&p, &a, &as, &al) || *p != '-')
        return MP_RANGE_NONE;
    p++;
    bool open = !is_digit(*p);
    if (!open && !digits(&p, &b, &bs, &bl))
        return MP_RANGE_NONE;
    if (*skip_ows(p) != '\0')
        return MP_RANGE_NONE;
    if (!open && !num_le(as, al, bs, bl)) /* last before first: invalid, ignored */
        return MP_RANGE_NONE;
    if (a >= size)
        return MP_RANGE_UNSAT;
    *first = a;
    *last = open || b >= size ? size - 1 : b;
    return MP_RANGE_ONE;
}

bool mp_files__if_range_ok(const char *if_range, const char *etag)
{
    if (if_range == NULL)
        return true;
    /* Our ETags are strong; a weak tag or a date never matches (we send no
     * Last-Modified), and the client then gets the whole, current body. */
    const char *p = skip_ows(if_range);
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    return n == strlen(etag) && memcmp(p, etag, n) == 0;
}

/* RFC 8187 attr-char: sent as is in filename*; everything else is %XX. */
static bool attr_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit((char)c) ||
           strchr("!#$&+-.^_`|~", c) != NULL;
}

void mp_files__disposition(const char *name, bool attachment, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *type = attachment ? "attachment" : "inline";
    size_t nlen = strnlen(name, MP_FILE_NAME_MAX);
    if (nlen == 0) {
        snprintf(out, MP_FILES_DISPOSITION_MAX, "%s", type);
        return;
    }
    size_t o = (size_t)snprintf(out, MP_FILES_DISPOSITION_MAX, "%s; filename=\"", type);
    /* The fallback for clients without RFC 8187: printable ASCII only; a
     * character that could end the quoted string, escape, name a directory
     * or start a percent escape becomes '_', and so does each byte of a
     * character beyond ASCII. */
    for (size_t i = 0; i < nlen; i++) {
        unsigned char c = (unsigned char)name[i];
        bool ok = c >= 0x20 && c < 0x7f && strchr("\"\\/%", c) == NULL;
        out[o++] = ok ? (char)c : '_';
    }
    o += (size_t)snprintf(out + o, MP_FILES_DISPOSITION_MAX - o, "\"; filename*=UTF-8''");
    for (size_t i = 0; i < nlen; i++) {
        unsigned char c = (unsigned char)name[i];
        if (attr_char(c)) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

/* ---- who asks ----------------------------------------------------------------- */

/* The caller of a download route: the bearer token's user, or the user a
 * valid signed URL for path was made for. false after answering: 401 with
 * neither, 404 for a bad or expired signature (a signed URL that stopped
 * working looks like a file that is gone). */
static bool caller(mp_http_req_t *req, mp_files_t *files, const char *path, uint64_t *user,
                   bool *guest)
{
    const mp_principal_t *p = mp_http_req_principal(req);
    if (p->user_id != 0) {
        *user = p->user_id;
        *guest = p->guest;
        return true;
    }
    const char *exp = mp_http_req_query(req, "exp"), *u = mp_http_req_query(req, "u"),
               *sig = mp_http_req_query(req, "sig");
    if (exp == NULL && u == NULL && sig == NULL) {
        mp_http_respond_error(req, MP_ERR_UNAUTHORIZED, NULL);
        return false;
    }
    if (!mp_files__signed_check(files, path, exp, u, sig, mp_now_ms(), user, guest) ||
        mp_userflags_has(files->ctx->flags, *user, MP_UF_DISABLED)) {
        mp_http_respond_error(req, MP_ERR_NOT_FOUND, "no such file");
        return false;
    }
    return true;
}

/* ---- a download ------------------------------------------------------------------ */

typedef struct dl {
    mp_files_t *files;
    mp_http_req_t *req;   /* NULL once the response ended */
    const char *rend;     /* rendition served ("thumb", "s256", "s64"), NULL: the file */
    bool want_attachment; /* ?download=1 */
    /* From the record. */
    char skey[MP_FILE_KEY_MAX + 1];
    char mime[MP_FILE_MIME_MAX + 1];
    char name[MP_FILE_NAME_MAX + 1];
    char etag[MP_FILE_KEY_MAX + 3];
    /* The bytes. */
    mp_blob_reader_t *reader;
    int err;       /* of the open (pool) */
    uint64_t size; /* as stored */
    uint64_t off, end;
    void *buf; /* the piece in flight */
    size_t want;
    ssize_t got;
} dl_t;

static void dl_free(dl_t *d)
{
    mp_free(d->buf);
    mp_free(d);
}

static void close_fn(void *ud)
{
    dl_t *d = ud;
    mp_blobs_reader_close(d->reader);
    d->reader = NULL;
}

static void closed(void *ud)
{
    dl_free(ud);
}

/* Ends the response (complete: the whole body went out), then closes the
 * reader on the pool and frees d. */
static void finish(dl_t *d, bool complete)
{
    mp_http_stream_end(d->req, complete);
    d->req = NULL;
    if (d->reader != NULL)
        mp_files__work(d->files, false, close_fn, closed, d);
    else
        dl_free(d);
}

/* Answers with an error instead of a body (nothing was sent yet). */
static void fail(dl_t *d, mp_err_t err, const char *msg)
{
    mp_http_respond_error(d->req, err, msg);
    d->req = NULL;
    if (d->reader != NULL)
        mp_files__work(d->files, false, close_fn, closed, d);
    else
        dl_free(d);
}

static void next(dl_t *d);

static void drained(mp_http_req_t *req, bool gone, void *ud)
{
    (void)req;
    dl_t *d = ud;
    if (gone)
        finish(d, false);
    else
        next(d);
}

static void read_fn(void *ud)
{
    dl_t *d = ud;
    d->got = mp_blobs_read(d->reader, d->buf, d->want, d->off);
}

static void read_done(void *ud)
{
    dl_t *d = ud;
    if (mp_http_req_gone(d->req)) { /* the client left: no more reads */
        finish(d, false);
        return;
    }
    if (d->got != (ssize_t)d->want) {
        /* Content-Length is out already: the client can only see a cut body. */
        mp_log_error("files: reading %s at %" PRIu64 ": %s", d->skey, d->off,
                     d->got < 0 ? strerror((int)-d->got) : "shorter than recorded");
        finish(d, false);
        return;
    }
    void *buf = d->buf;
    d->buf = NULL;
    d->off += d->want;
    if (!mp_http_stream_write_owned(d->req, buf, d->want)) {
        finish(d, false);
        return;
    }
    mp_http_stream_wait(d->req, LOW_MARK, drained, d);
}

static void next(dl_t *d)
{
    if (d->off == d->end) {
        finish(d, true);
        return;
    }
    uint64_t left = d->end - d->off;
    d->want = left < PIECE ? (size_t)left : PIECE;
    d->buf = mp_malloc(d->want);
    mp_files__work(d->files, false, read_fn, read_done, d);
}

static void add_common_headers(mp_http_req_t *req, const char *etag)
{
    mp_http_add_header(req, "ETag", etag);
    /* A storage key is never reused: what it names never changes. */
    mp_http_add_header(req, "Cache-Control", "private, max-age=31536000, immutable");
}

/* The blob is open: the head (200, 206 or 416) and the body. */
static void opened(void *ud)
{
    dl_t *d = ud;
    mp_http_req_t *req = d->req;
    if (d->err != 0) {
        if (d->err == -ENOENT) /* swept since the record was read */
            fail(d, MP_ERR_NOT_FOUND, "no such file");
        else {
            mp_log_error("files: opening %s: %s", d->skey, strerror(-d->err));
            fail(d, MP_ERR_UNAVAILABLE, NULL);
        }
        return;
    }
    char cr[80];
    uint64_t first = 0, last = 0;
    mp_range_t r = MP_RANGE_NONE;
    /* Range is defined for GET only (RFC 9110 14.2): HEAD describes the
     * whole body. */
    if (!mp_http_req_is_head(req) &&
        mp_files__if_range_ok(mp_http_req_header(req, "If-Range"), d->etag))
        r = mp_files__range_parse(mp_http_req_header(req, "Range"), d->size, &first, &last);
    if (r == MP_RANGE_UNSAT) {
        snprintf(cr, sizeof cr, "bytes */%" PRIu64, d->size);
        mp_http_add_header(req, "Content-Range", cr);
        fail(d, MP_ERR_RANGE, "the range is outside the file");
        return;
    }
    add_common_headers(req, d->etag);
    mp_http_add_header(req, "Accept-Ranges", "bytes");
    mp_http_add_header(req, "X-Content-Type-Options", "nosniff");
    mp_http_add_header(req, "Content-Security-Policy", "default-src 'none'; sandbox");
    char disp[MP_FILES_DISPOSITION_MAX];
    mp_files__disposition(d->name, d->want_attachment || !mp_media_inline_ok(d->mime), disp);
    mp_http_add_header(req, "Content-Disposition", disp);
    int status = 200;
    if (r == MP_RANGE_ONE) {
        status = 206;
        snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, d->size);
        mp_http_add_header(req, "Content-Range", cr);
        d->off = first;
        d->end = last + 1;
    } else {
        d->off = 0;
        d->end = d->size;
    }
    if (!mp_http_stream_begin_length(req, status, d->mime, d->end - d->off) ||
        mp_http_req_is_head(req)) {
        finish(d, !mp_http_req_gone(req));
        return;
    }
    next(d);
}

static void open_fn(void *ud)
{
    dl_t *d = ud;
    d->err = mp_blobs_open(d->files->blobs, d->skey, &d->reader, &d->size);
    if (d->err != 0)
        d->reader = NULL;
}

/* The caller may read the file. */
static void on_file(mp_err_t rc, const mp_file_row_t *f, void *ud)
{
    dl_t *d = ud;
    if (rc != MP_OK) {
        fail(d, rc, rc == MP_ERR_NOT_FOUND ? "no such file" : NULL);
        return;
    }
    if (d->rend != NULL) {
        const mp_file_rendition_t *r = mp_file_rendition(f, d->rend);
        if (r == NULL) {
            fail(d, MP_ERR_NOT_FOUND, "the file has no thumbnail");
            return;
        }
        snprintf(d->skey, sizeof d->skey, "%s", r->skey);
        snprintf(d->mime, sizeof d->mime, "%s", r->mime);
    } else {
        snprintf(d->skey, sizeof d->skey, "%s", f->skey);
        snprintf(d->mime, sizeof d->mime, "%s", f->serve_mime);
        snprintf(d->name, sizeof d->name, "%s", f->name);
    }
    snprintf(d->etag, sizeof d->etag, "\"%s\"", d->skey);
    if (mp_http_etag_match(mp_http_req_header(d->req, "If-None-Match"), d->etag)) {
        add_common_headers(d->req, d->etag);
        mp_http_respond(d->req, 304, NULL);
        d->req = NULL;
        dl_free(d);
        return;
    }
    mp_files__work(d->files, false, open_fn, opened, d);
}

/* GET|HEAD of the file (rend NULL) or one of its renditions. */
static void serve(mp_http_req_t *req, const char *rend)
{
    mp_files_t *files = mp_files__of(req);
    const char *param = mp_http_req_param(req, "id");
    char path[MP_FILE_KEY_MAX + 1];
    /* A parameter too long for path cannot be an id: the cut path then
     * matches no signature. */
    snprintf(path, sizeof path, "/v1/files/%s%s", param, rend ? "/thumbnail" : "");
    uint64_t user, file_id;
    bool guest;
    if (!caller(req, files, path, &user, &guest))
        return;
    if (!mp_id_parse(param, &file_id)) {
        mp_http_respond_error(req, MP_ERR_NOT_FOUND, "no such file");
        return;
    }
    if (rend != NULL) {
        const char *size = mp_http_req_query(req, "size");
        if (size == NULL || strcmp(size, "320") == 0)
            rend = "thumb";
        else if (strcmp(size, "256") == 0)
            rend = "s256";
        else if (strcmp(size, "64") == 0)
            rend = "s64";
        else {
            mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "query 'size' must be 320, 256 or 64");
            return;
        }
    }
    const char *dl = mp_http_req_query(req, "download");
    dl_t *d = mp_calloc(1, sizeof *d);
    d->files = files;
    d->req = req;
    d->rend = rend;
    d->want_attachment = dl != NULL && strcmp(dl, "1") == 0;
    mp_err_t rc = mp_store_file_get(files->ctx->store, file_id, user, guest, files->ctx->world_id,
                                    on_file, d);
    if (rc != MP_OK)
        on_file(rc, NULL, d);
}

void mp_files__route_download(mp_http_req_t *req)
{
    serve(req, NULL);
}

void mp_files__route_thumbnail(mp_http_req_t *req)
{
    serve(req, "thumb");
}

/* ---- GET /v1/files/{id}/info ------------------------------------------------------- */

static void on_info(mp_err_t rc, const mp_file_row_t *f, void *ud)
{
    mp_http_req_t *req = ud;
    if (rc != MP_OK)
        mp_http_respond_error(req, rc, rc == MP_ERR_NOT_FOUND ? "no such file" : NULL);
    else
        mp_http_respond(req, 200, mp_files__json(f));
}

void mp_files__route_info(mp_http_req_t *req)
{
    mp_files_t *files = mp_files__of(req);
    const mp_principal_t *p = mp_http_req_principal(req);
    uint64_t file_id;
    if (!mp_id_parse(mp_http_req_param(req, "id"), &file_id)) {
        mp_http_respond_error(req, MP_ERR_NOT_FOUND, "no such file");
        return;
    }
    mp_err_t rc = mp_store_file_get(files->ctx->store, file_id, p->user_id, p->guest,
                                    files->ctx->world_id, on_info, req);
    if (rc != MP_OK)
        on_info(rc, NULL, req);
}

/* ---- GET /v1/files ------------------------------------------------------------------- */

typedef struct {
    mp_http_req_t *req;
    mp_files_t *files;
    json_t *body; /* {"files","next_cursor"} so far */
} list_t;

static void list_end(list_t *l, mp_err_t rc)
{
    if (rc != MP_OK) {
        mp_http_respond_error(l->req, rc, NULL);
        json_decref(l->body);
    } else {
        mp_http_respond(l->req, 200, l->body);
    }
    mp_free(l);
}

static void on_usage(mp_err_t rc, uint64_t used, uint64_t nfiles, void *ud)
{
    (void)nfiles;
    list_t *l = ud;
    if (rc == MP_OK) {
        json_object_set_new(l->body, "used", json_integer((json_int_t)used));
        json_object_set_new(l->body, "quota",
                            json_integer((json_int_t)l->files->ctx->cfg->upload_quota));
    }
    list_end(l, rc);
}

static void on_list(mp_err_t rc, const mp_file_row_t *rows, size_t n, bool more, void *ud)
{
    list_t *l = ud;
    if (rc != MP_OK) {
        list_end(l, rc);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, mp_files__json(&rows[i]));
    json_object_set_new(l->body, "files", arr);
    char id[MP_ID_STRLEN];
    json_object_set_new(l->body, "next_cursor",
                        more && n > 0 ? json_string(mp_id_format(rows[n - 1].id, id))
                                      : json_null());
    rc = mp_store_file_usage(l->files->ctx->store, mp_http_req_principal(l->req)->user_id, on_usage,
                             l);
    if (rc != MP_OK)
        list_end(l, rc);
}

void mp_files__route_list(mp_http_req_t *req)
{
    mp_files_t *files = mp_files__of(req);
    const char *qb = mp_http_req_query(req, "before"), *ql = mp_http_req_query(req, "limit");
    uint64_t before = 0;
    long long limit = LIST_DEFAULT;
    if (qb != NULL && qb[0] != '\0' && !mp_id_parse(qb, &before)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "query 'before' must be a file id");
        return;
    }
    if (ql != NULL) {
        char *end;
        limit = strtoll(ql, &end, 10);
        if (ql[0] == '\0' || *end != '\0' || limit < 1 || limit > LIST_MAX) {
            mp_http_respond_error(req, MP_ERR_BAD_REQUEST,
                                  "query 'limit' must be an integer from 1 to 100");
            return;
        }
    }
    list_t *l = mp_calloc(1, sizeof *l);
    *l = (list_t){.req = req, .files = files, .body = json_object()};
    mp_err_t rc = mp_store_file_list(files->ctx->store, mp_http_req_principal(req)->user_id, before,
                                     (size_t)limit, on_list, l);
    if (rc != MP_OK)
        list_end(l, rc);
}
