/* Helpers shared by the file and media tests: fixtures made at test time with
 * the real tools (vips, exiftool, ffmpeg) in a directory the test owns, and
 * raw HTTP helpers for uploads and downloads over the client library.
 *
 * Every command runs under `timeout 60`; a failing command fails the test
 * with its stderr. Paths must not contain a single quote (commands go through
 * sh -c '...'). Only client/client.h is needed, so unit tests may include
 * this header too (they never call the HTTP part). Include after cmocka.h. */
#ifndef MPT_FILES_UTIL_H
#define MPT_FILES_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client.h"

#define FX_UNUSED __attribute__((unused))
#define FX_TIMEOUT 60000 /* ms: one upload or download, processing included */
#define FX_PIECE 65536   /* bytes per send / receive */

/* A path returned by value, so that a test never manages its storage. */
typedef struct fx_path {
    char s[1024];
} fx_path_t;

static FX_UNUSED fx_path_t fx_join(const char *dir, const char *name)
{
    fx_path_t p;
    int n = snprintf(p.s, sizeof p.s, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < sizeof p.s);
    assert_null(strchr(p.s, '\''));
    return p;
}

/* ------------------------------------------------------------------------
 * Running the tools
 * ------------------------------------------------------------------------ */

/* Runs `timeout 60 sh -c '<cmd>'` in dir with stdout discarded; fails the
 * test with the command and its stderr when it does not exit with 0. */
static FX_UNUSED void fx_run(const char *dir, const char *fmt, ...)
{
    char cmd[4096], sh[5120];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof cmd);
    assert_null(strchr(cmd, '\''));
    fx_path_t err = fx_join(dir, ".fx-stderr");
    snprintf(sh, sizeof sh, "cd '%s' && timeout 60 sh -c '%s' >/dev/null 2>'%s'", dir, cmd, err.s);
    int rc = system(sh);
    if (rc != 0) {
        char msg[2048] = "";
        FILE *f = fopen(err.s, "r");
        if (f) {
            size_t got = fread(msg, 1, sizeof msg - 1, f);
            msg[got] = '\0';
            fclose(f);
        }
        fail_msg("command failed (%d): %s\n%s", rc, cmd, msg);
    }
    unlink(err.s);
}

/* The first line a command prints on stdout ("" when none), under the same
 * timeout. For reading tool output (exiftool, ffprobe, file). */
static FX_UNUSED void fx_capture(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[4096], sh[4200];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof cmd);
    assert_null(strchr(cmd, '\''));
    snprintf(sh, sizeof sh, "timeout 60 sh -c '%s' 2>/dev/null", cmd);
    FILE *p = popen(sh, "r");
    assert_non_null(p);
    out[0] = '\0';
    if (fgets(out, (int)cap, p) == NULL)
        out[0] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    char sink[256];
    while (fgets(sink, sizeof sink, p)) /* let the command finish writing */
        ;
    pclose(p);
}

static FX_UNUSED uint64_t fx_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* ------------------------------------------------------------------------
 * Fixtures
 * ------------------------------------------------------------------------ */

/* A w x h colour picture in fmt ("jpg", "png", "webp", "gif", "heic",
 * "avif"), written as dir/name whatever its extension. Perlin and gaussian
 * noise, so that the encoded size is that of a photo, not of a flat colour. */
static FX_UNUSED fx_path_t fx_image(const char *dir, const char *name, const char *fmt, int w,
                                    int h)
{
    fx_path_t out = fx_join(dir, name);
    fx_run(dir,
           "vips perlin .fx-p.v %d %d --uchar && "
           "vips gaussnoise .fx-g.v %d %d --mean 128 --sigma 30 && "
           "vips bandjoin \".fx-p.v .fx-g.v .fx-p.v\" .fx-j.v && "
           "vips cast .fx-j.v .fx-out.%s uchar && mv .fx-out.%s \"%s\" && rm -f .fx-*.v",
           w, h, w, h, fmt, fmt, out.s);
    return out;
}

/* A JPEG carrying an EXIF GPS position (Paris) and Orientation=orientation
 * (1..8). The pixels are stored w x h; a viewer shows them rotated. */
static FX_UNUSED fx_path_t fx_jpeg_exif(const char *dir, const char *name, int w, int h,
                                        int orientation)
{
    fx_path_t out = fx_image(dir, name, "jpg", w, h);
    fx_run(dir,
           "exiftool -q -overwrite_original -n -GPSLatitude=48.8566 -GPSLatitudeRef=N "
           "-GPSLongitude=2.3522 -GPSLongitudeRef=E -Orientation=%d \"%s\"",
           orientation, out.s);
    return out;
}

/* Whether the file carries an EXIF GPS latitude. */
static FX_UNUSED bool fx_has_gps(const char *path)
{
    char line[256];
    fx_capture(line, sizeof line, "exiftool -n -s3 -GPSLatitude \"%s\"", path);
    return line[0] != '\0';
}

/* The EXIF Orientation of a file (0 when it has none). */
static FX_UNUSED int fx_orientation(const char *path)
{
    char line[64];
    fx_capture(line, sizeof line, "exiftool -n -s3 -Orientation \"%s\"", path);
    return atoi(line);
}

/* A voice note: a 440 Hz tone of `seconds`, Opus in fmt ("ogg" or "webm"). */
static FX_UNUSED fx_path_t fx_voice(const char *dir, const char *name, const char *fmt,
                                    double seconds)
{
    fx_path_t out = fx_join(dir, name);
    fx_run(dir,
           "ffmpeg -nostdin -v error -y -f lavfi -i sine=frequency=440:duration=%.3f "
           "-c:a libopus -f %s \"%s\"",
           seconds, fmt, out.s);
    return out;
}

/* A tone of tone_s seconds followed by silence_s seconds of silence (Opus in
 * fmt): the waveform's later buckets must be low. */
static FX_UNUSED fx_path_t fx_voice_gap(const char *dir, const char *name, const char *fmt,
                                        double tone_s, double silence_s)
{
    fx_path_t out = fx_join(dir, name);
    fx_run(dir,
           "ffmpeg -nostdin -v error -y -f lavfi -i sine=frequency=440:sample_rate=48000:"
           "duration=%.3f -f lavfi -i anullsrc=r=48000:cl=mono -filter_complex "
           "\"[1]atrim=duration=%.3f[s];[0][s]concat=n=2:v=0:a=1\" -c:a libopus -f %s \"%s\"",
           tone_s, silence_s, fmt, out.s);
    return out;
}

/* A test-pattern video of `seconds`, w x h at 25 fps, without sound: H.264
 * (yuv420p, what browsers play) in "mp4", VP8 in "webm". */
static FX_UNUSED fx_path_t fx_video(const char *dir, const char *name, const char *fmt,
                                    double seconds, int w, int h)
{
    fx_path_t out = fx_join(dir, name);
    const char *codec =
        strcmp(fmt, "mp4") == 0 ? "-c:v libx264 -pix_fmt yuv420p" : "-c:v libvpx -b:v 500k";
    fx_run(dir,
           "ffmpeg -nostdin -v error -y -f lavfi -i testsrc=duration=%.3f:size=%dx%d:rate=25 "
           "%s -f %s \"%s\"",
           seconds, w, h, codec, fmt, out.s);
    return out;
}

static FX_UNUSED void fx_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static FX_UNUSED unsigned char *fx_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = (size_t)fx_size(path) + 1, n = 0;
    unsigned char *b = malloc(cap);
    assert_non_null(b);
    n = fread(b, 1, cap, f);
    fclose(f);
    *len = n;
    return b;
}

/* CRC-32 of PNG chunks (bitwise: a handful of bytes only). */
static FX_UNUSED uint32_t fx_crc32(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

static FX_UNUSED void fx_be16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 8), p[1] = (unsigned char)v;
}

static FX_UNUSED void fx_be32(unsigned char *p, uint32_t v)
{
    fx_be16(p, v >> 16), fx_be16(p + 2, v & 0xffff);
}

/* Rewrites the dimensions of a small PNG's IHDR (and its CRC). */
static FX_UNUSED void fx_patch_png(unsigned char *b, size_t len, unsigned w, unsigned h)
{
    assert_true(len > 33 && memcmp(b + 12, "IHDR", 4) == 0);
    fx_be32(b + 16, w), fx_be32(b + 20, h);
    fx_be32(b + 29, fx_crc32(b + 12, 17));
}

/* Rewrites the dimensions of a small JPEG's first SOF0/SOF2 segment. */
static FX_UNUSED void fx_patch_jpeg(unsigned char *b, size_t len, unsigned w, unsigned h)
{
    for (size_t i = 2; i + 9 < len; i++)
        if (b[i] == 0xff && (b[i + 1] == 0xc0 || b[i + 1] == 0xc2)) {
            fx_be16(b + i + 5, h), fx_be16(b + i + 7, w);
            return;
        }
    fail_msg("no SOF marker in the JPEG");
}

/* A decompression bomb: a 64x64 image (JPEG if name ends in ".jpg", else
 * PNG) whose header claims 30000 x 30000 = 900 MP. A few KB on disk; any
 * decoder that trusts the header allocates gigabytes. */
static FX_UNUSED fx_path_t fx_bomb(const char *dir, const char *name)
{
    size_t nl = strlen(name);
    bool jpeg = nl > 4 && strcmp(name + nl - 4, ".jpg") == 0;
    fx_path_t out = fx_image(dir, name, jpeg ? "jpg" : "png", 64, 64);
    size_t len;
    unsigned char *b = fx_slurp(out.s, &len);
    if (jpeg)
        fx_patch_jpeg(b, len, 30000, 30000);
    else
        fx_patch_png(b, len, 30000, 30000);
    fx_write(out.s, b, len);
    free(b);
    return out;
}

/* Cuts a file to its first `bytes` bytes (a truncated upload). */
static FX_UNUSED void fx_truncate(const char *path, uint64_t bytes)
{
    assert_int_equal(truncate(path, (off_t)bytes), 0);
}

/* n random bytes that libmagic calls application/octet-stream. About one
 * random file in fifty looks like a DOS executable to it (a jump opcode and
 * a plausible layout are enough), which would make the tests that expect a
 * plain file fail now and then: such a draw is made again. */
static FX_UNUSED fx_path_t fx_bytes(const char *dir, const char *name, size_t n)
{
    fx_path_t out = fx_join(dir, name);
    char mime[128] = "";
    for (int tries = 0; tries < 20; tries++) {
        fx_run(dir, "head -c %zu /dev/urandom > \"%s\"", n, out.s);
        fx_capture(mime, sizeof mime, "file -b --mime-type \"%s\"", out.s);
        if (strcmp(mime, "application/octet-stream") == 0)
            break;
    }
    assert_string_equal(mime, "application/octet-stream");
    assert_int_equal(fx_size(out.s), n);
    return out;
}

/* An SVG that runs script when a browser opens it inline. */
static FX_UNUSED fx_path_t fx_svg_script(const char *dir, const char *name)
{
    static const char svg[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\" height=\"100\">\n"
        "  <rect width=\"100\" height=\"100\" fill=\"red\"/>\n"
        "  <script type=\"text/javascript\">alert(document.cookie)</script>\n"
        "</svg>\n";
    fx_path_t out = fx_join(dir, name);
    fx_write(out.s, svg, sizeof svg - 1);
    return out;
}

/* A small valid PDF under whatever name is given (e.g. "photo.jpg"): the
 * type must come from the content, not the name. */
static FX_UNUSED fx_path_t fx_pdf_named_jpg(const char *dir, const char *name)
{
    static const char pdf[] = "%PDF-1.4\n"
                              "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
                              "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
                              "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> "
                              "endobj\n"
                              "trailer << /Root 1 0 R >>\n"
                              "%%EOF\n";
    fx_path_t out = fx_join(dir, name);
    fx_write(out.s, pdf, sizeof pdf - 1);
    return out;
}

/* ------------------------------------------------------------------------
 * Raw HTTP
 * ------------------------------------------------------------------------ */

/* Percent-encodes s for a query value. */
static FX_UNUSED void fx_qescape(char *out, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < cap; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            out[o++] = (char)*p;
        else
            out[o++] = '%', out[o++] = hex[*p >> 4], out[o++] = hex[*p & 15];
    }
    out[o] = '\0';
}

/* The head of POST /v1/files?name=NAME for a body of len bytes. */
static FX_UNUSED int fx_upload_head(mpc_conn_t *c, const char *token, const char *name,
                                    uint64_t len)
{
    char q[700], head[2048];
    fx_qescape(q, sizeof q, name);
    int n = snprintf(head, sizeof head,
                     "POST /v1/files?name=%s HTTP/1.1\r\nHost: %s\r\n"
                     "Authorization: Bearer %s\r\nContent-Type: application/octet-stream\r\n"
                     "Content-Length: %llu\r\n\r\n",
                     q, mpc_conn_hostport(c), token, (unsigned long long)len);
    assert_true(n > 0 && (size_t)n < sizeof head);
    return mpc_send_raw(c, head, (size_t)n, FX_TIMEOUT);
}

/* Sends up to `limit` bytes of the file at path in FX_PIECE pieces. MPC_OK or
 * the first send error (the server may answer and close early, e.g. 413). */
static FX_UNUSED int fx_send_file(mpc_conn_t *c, const char *path, uint64_t limit)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    static char buf[FX_PIECE];
    int rc = MPC_OK;
    while (limit > 0 && rc == MPC_OK) {
        ssize_t got = read(fd, buf, limit < sizeof buf ? (size_t)limit : sizeof buf);
        if (got <= 0)
            break;
        rc = mpc_send_raw(c, buf, (size_t)got, FX_TIMEOUT);
        limit -= (uint64_t)got;
    }
    close(fd);
    return rc;
}

/* Uploads the file at path as `name` (POST /v1/files, body streamed in
 * pieces). Returns the status (or an MPC_ERR_); *json gets the body (caller
 * decrefs; NULL if none). json may be NULL. */
static FX_UNUSED int fx_upload(int port, const char *token, const char *path, const char *name,
                               int *status, json_t **json)
{
    if (json)
        *json = NULL;
    *status = 0;
    mpc_conn_t *c = mpc_connect("127.0.0.1", port, 5000);
    assert_non_null(c);
    uint64_t len = fx_size(path);
    if (fx_upload_head(c, token, name, len) == MPC_OK)
        fx_send_file(c, path, len); /* an early answer is read below */
    mpc_response_t r;
    int rc = mpc_http_read_response(c, &r, FX_TIMEOUT);
    mpc_conn_free(c);
    if (rc != MPC_OK)
        return *status = rc;
    *status = r.status;
    if (json && r.json)
        *json = json_incref(r.json);
    mpc_response_free(&r);
    return *status;
}

/* Starts an upload of the file at path (full Content-Length), sends only
 * stop_after_bytes of its body, then closes the connection. Returns MPC_OK or
 * the send error. */
static FX_UNUSED int fx_upload_cut(int port, const char *token, const char *path,
                                   uint64_t stop_after_bytes)
{
    mpc_conn_t *c = mpc_connect("127.0.0.1", port, 5000);
    assert_non_null(c);
    int rc = fx_upload_head(c, token, "cut.bin", fx_size(path));
    if (rc == MPC_OK)
        rc = fx_send_file(c, path, stop_after_bytes);
    mpc_conn_free(c);
    return rc;
}

/* Reads a response head (status and headers) into *head: the bytes are fed
 * to a head-only parser; what followed the head is copied into rest. */
static FX_UNUSED int fx_read_head(mpc_conn_t *c, mpc_response_t *head, char *rest, size_t *nrest)
{
    mpc_http_parser_t *p = mpc_http_parser_new(true);
    char buf[FX_PIECE];
    int rc = MPC_ERR_PROTO;
    *nrest = 0;
    for (;;) {
        long got = mpc_recv_raw(c, buf, sizeof buf, FX_TIMEOUT);
        if (got <= 0) {
            rc = (int)got;
            break;
        }
        size_t used = 0;
        int st = mpc_http_parser_feed(p, buf, (size_t)got, &used);
        if (st == MPC_PARSE_ERROR)
            break;
        if (st == MPC_PARSE_DONE) {
            mpc_http_parser_take(p, head);
            memcpy(rest, buf + used, (size_t)got - used);
            *nrest = (size_t)got - used;
            rc = MPC_OK;
            break;
        }
    }
    mpc_http_parser_free(p);
    return rc;
}

/* Where a body goes: a file (large downloads) or memory. */
typedef struct fx_sink {
    FILE *f;
    char *mem;
    size_t len, cap;
} fx_sink_t;

static FX_UNUSED void fx_sink_put(fx_sink_t *s, const char *data, size_t n)
{
    if (s->f) {
        assert_int_equal(fwrite(data, 1, n, s->f), n);
        s->len += n;
        return;
    }
    /* A bound gcc can see: a body piece is never near SIZE_MAX. */
    if (n > ((size_t)1 << 40))
        fail_msg("a body piece of %zu bytes", n);
    if (s->len + n + 1 > s->cap) {
        s->cap = (s->len + n + 1) * 2;
        s->mem = realloc(s->mem, s->cap);
        assert_non_null(s->mem);
    }
    memcpy(s->mem + s->len, data, n);
    s->len += n;
    s->mem[s->len] = '\0';
}

/* Reads `want` body bytes (-1: until the peer closes) into the sink. */
static FX_UNUSED int fx_read_body(mpc_conn_t *c, fx_sink_t *s, long long want)
{
    char buf[FX_PIECE];
    while (want < 0 || (long long)s->len < want) {
        size_t cap = sizeof buf;
        if (want >= 0 && (unsigned long long)(want - (long long)s->len) < cap)
            cap = (size_t)(want - (long long)s->len);
        long got = mpc_recv_raw(c, buf, cap, FX_TIMEOUT);
        if (got == MPC_ERR_CLOSED && want < 0)
            return MPC_OK;
        if (got <= 0)
            return (int)got;
        fx_sink_put(s, buf, (size_t)got);
    }
    return MPC_OK;
}

/* Whether a response to `method` with this head has a body. */
static FX_UNUSED bool fx_has_body(const char *method, const mpc_response_t *head)
{
    return strcmp(method, "HEAD") != 0 && head->status != 204 && head->status != 304 &&
           head->status / 100 != 1;
}

/* A request without a body (GET, HEAD, DELETE...). token and extra ("Name:
 * value\r\n" lines) may be NULL. The status and headers land in *out (caller
 * mpc_response_free's); the body is written to the file body_path when it is
 * not NULL (out->body then stays empty, for downloads of any size), else into
 * out->body / out->json. Returns the status or an MPC_ERR_. */
static FX_UNUSED int fx_request(int port, const char *method, const char *token, const char *path,
                                const char *extra, mpc_response_t *out, const char *body_path)
{
    memset(out, 0, sizeof *out);
    mpc_conn_t *c = mpc_connect("127.0.0.1", port, 5000);
    assert_non_null(c);
    mpc_http_req_t req = {
        .method = method, .path = path, .token = token, .extra_headers = extra, .close = true};
    size_t len;
    char *raw = mpc_http_build(&req, &len);
    int rc = mpc_send_raw(c, raw, len, FX_TIMEOUT);
    free(raw);
    char rest[FX_PIECE];
    size_t nrest = 0;
    if (rc == MPC_OK)
        rc = fx_read_head(c, out, rest, &nrest);
    if (rc == MPC_OK && fx_has_body(method, out)) {
        fx_sink_t s = {.f = body_path ? fopen(body_path, "wb") : NULL};
        assert_true(body_path == NULL || s.f != NULL);
        const char *cl = mpc_response_header(out, "Content-Length");
        fx_sink_put(&s, rest, nrest);
        rc = fx_read_body(c, &s, cl ? atoll(cl) : -1);
        if (s.f)
            assert_int_equal(fclose(s.f), 0);
        if (s.mem) {
            free(out->body);
            out->body = s.mem, out->body_len = s.len;
            out->json = json_loadb(s.mem, s.len, JSON_DECODE_ANY, NULL);
        }
    }
    mpc_conn_free(c);
    return rc == MPC_OK ? out->status : rc;
}

/* GET path_with_query: see fx_request. */
static FX_UNUSED int fx_get(int port, const char *token, const char *path, const char *extra,
                            mpc_response_t *out, const char *body_path)
{
    return fx_request(port, "GET", token, path, extra, out, body_path);
}

/* A response header ("" when absent, never NULL), for assert_string_equal. */
static FX_UNUSED const char *fx_header(const mpc_response_t *r, const char *name)
{
    const char *v = mpc_response_header(r, name);
    return v ? v : "";
}

/* Whether two files hold the same bytes. */
static FX_UNUSED bool fx_same_file(const char *a, const char *b)
{
    size_t la, lb;
    unsigned char *pa = fx_slurp(a, &la), *pb = fx_slurp(b, &lb);
    bool same = la == lb && memcmp(pa, pb, la) == 0;
    free(pa), free(pb);
    return same;
}

#endif
