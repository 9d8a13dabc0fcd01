/* End-to-end tests of plain uploads (POST /v1/files): images of each format
 * with their size, thumbnail and preview, a voice note with its duration and
 * waveform, types decided by the content whatever the name says, the empty,
 * too large, over-quota and rate-limited uploads refused at the head, content
 * stored once for two uploads, a cut upload leaving nothing behind, hostile
 * images (truncated, a decompression bomb), a path in the name, and the
 * server's memory while it takes a 1 GiB upload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "test_chat_util.h"
#include "test_files_util.h"

/* How much the server's RSS may grow while it takes a 1 GiB upload: the
 * 256 KiB buffer, a socket read, the pool's stacks and allocator slack.
 * ThreadSanitizer shadows every byte the program touches with about four
 * more, so under it the same bound is counted in its units. */
#if defined(__SANITIZE_THREAD__)
#define RSS_GROWTH_MAX_KIB (5 * 32 * 1024)
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RSS_GROWTH_MAX_KIB (5 * 32 * 1024)
#endif
#endif
#ifndef RSS_GROWTH_MAX_KIB
#define RSS_GROWTH_MAX_KIB (32 * 1024)
#endif

#define BIG_UPLOAD (1024ULL * 1024 * 1024)

#define FILE_FLAGS                                                                                 \
    CHAT_FLAGS, "--upload_rate", "100000", "--upload_burst", "100000", "--max_upload", "2g",       \
        "--upload_quota", "0"

/* Small limits: each test there uses fresh users (the limits are per user). */
#define SMALL_FLAGS                                                                                \
    CHAT_FLAGS, "--max_upload", "1m", "--upload_quota", "300k", "--upload_burst", "2",             \
        "--upload_rate", "1"

static mpt_server_t *srv, *small;
static char dir[256]; /* fixtures */

static int setup(void **state)
{
    (void)state;
    const char *flags[] = {FILE_FLAGS, NULL};
    const char *small_flags[] = {SMALL_FLAGS, NULL};
    srv = mpt_server_start(flags);
    small = mpt_server_start(small_flags);
    snprintf(dir, sizeof dir, "/tmp/mp-up-XXXXXX");
    return srv != NULL && small != NULL && mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    int a = mpt_server_stop(srv), b = mpt_server_stop(small);
    return a != 0 ? a : b;
}

/* ---- helpers ----------------------------------------------------------------- */

static void user(mpt_server_t *s, mpt_session_t *out)
{
    assert_int_equal(mpt_user_new(s, "up", out), 0);
}

/* Uploads path as name to server s; the status, *json the body. */
static int upload_to(mpt_server_t *s, const mpt_session_t *u, const char *path, const char *name,
                     json_t **json)
{
    int st;
    fx_upload(s->port, u->access, path, name, &st, json);
    return st;
}

/* Uploads and expects 201; returns the file object (caller decrefs). */
static json_t *upload_ok(const mpt_session_t *u, const char *path, const char *name)
{
    json_t *f = NULL;
    int st = upload_to(srv, u, path, name, &f);
    if (st != 201) {
        char *d = f ? json_dumps(f, JSON_COMPACT) : NULL;
        fail_msg("upload of %s: status %d %s", name, st, d ? d : "");
    }
    assert_non_null(jstr(f, "file_id"));
    return f;
}

static void expect_error(int st, json_t *body, int want, const char *code)
{
    char *d = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (st != want || body == NULL || mpt_error_code(body) == NULL ||
        strcmp(mpt_error_code(body), code) != 0)
        fail_msg("expected %d %s, got %d %s", want, code, st, d ? d : "");
    free(d);
}

/* Regular files under dir (recursively) whose name starts with prefix
 * ("" for all). */
static int count_files(const char *path, const char *prefix)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        struct stat st;
        if (stat(sub, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            n += count_files(sub, prefix);
        else if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static fx_path_t files_dir(const mpt_server_t *s, const char *sub)
{
    fx_path_t p;
    snprintf(p.s, sizeof p.s, "%s/files/%s", s->data_dir, sub);
    return p;
}

/* The number of files GET /v1/files lists for u. */
static size_t listed(const mpt_server_t *s, const mpt_session_t *u)
{
    mpc_response_t r;
    assert_int_equal(mpt_http(s, "GET", "/v1/files", u->access, NULL, &r), 200);
    size_t n = json_array_size(json_object_get(r.json, "files"));
    mpc_response_free(&r);
    return n;
}

/* ---- what a file is ------------------------------------------------------------ */

static void test_images(void **state)
{
    (void)state;
    mpt_session_t u;
    user(srv, &u);
    const char *fmt[] = {"jpg", "png", "webp", "gif", "heic"};
    const char *mime[] = {"image/jpeg", "image/png", "image/webp", "image/gif", "image/heic"};
    for (size_t i = 0; i < sizeof fmt / sizeof fmt[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "pic-%s.%s", fmt[i], fmt[i]);
        fx_path_t p = fx_image(dir, name, fmt[i], 480, 300);
        json_t *f = upload_ok(&u, p.s, name);
        assert_string_equal(jstr(f, "class"), "image");
        assert_string_equal(jstr(f, "mime"), mime[i]);
        assert_string_equal(jstr(f, "name"), name);
        assert_int_equal(jint(f, "size"), (long long)fx_size(p.s));
        assert_int_equal(jint(f, "width"), 480);
        assert_int_equal(jint(f, "height"), 300);
        assert_int_equal(strlen(jstr(f, "sha256")), 64);
        assert_string_equal(jstr(f, "owner_id"), u.user_id);
        assert_non_null(jstr(f, "thumbnail_url"));
        assert_non_null(jstr(f, "url"));
        assert_true(jint(f, "created_at") > 0);
        const char *preview = jstr(f, "preview");
        assert_non_null(preview);
        assert_true(strncmp(preview, "data:image/webp;base64,", 23) == 0);
        /* HEIC is served as JPEG; the others in their own format. */
        assert_string_equal(jstr(f, "served_mime"),
                            strcmp(fmt[i], "heic") == 0 ? "image/jpeg" : mime[i]);
        json_decref(f);
    }
}

static void test_voice_note(void **state)
{
    (void)state;
    mpt_session_t u;
    user(srv, &u);
    fx_path_t p = fx_voice(dir, "voice.ogg", "ogg", 2.0);
    json_t *f = upload_ok(&u, p.s, "voice.ogg");
    assert_string_equal(jstr(f, "class"), "audio");
    long long ms = jint(f, "duration_ms");
    assert_true(ms > 1900 && ms < 2100);
    json_t *wave = json_object_get(f, "waveform");
    assert_int_equal(json_array_size(wave), 64);
    for (size_t i = 0; i < 64; i++) {
        long long v = json_integer_value(json_array_get(wave, i));
        assert_true(v >= 0 && v <= 100);
    }
    assert_true(json_is_null(json_object_get(f, "thumbnail_url")));
    json_decref(f);
}

static void test_type_from_content(void **state)
{
    (void)state;
    mpt_session_t u;
    user(srv, &u);
    fx_path_t pdf = fx_pdf_named_jpg(dir, "doc-x.jpg");
    json_t *f = upload_ok(&u, pdf.s, "x.jpg");
    assert_string_equal(jstr(f, "class"), "file");
    assert_string_equal(jstr(f, "mime"), "application/pdf");
    assert_string_equal(jstr(f, "name"), "x.jpg");
    assert_true(json_is_null(json_object_get(f, "thumbnail_url")));
    assert_null(json_object_get(f, "width"));
    json_decref(f);
    fx_path_t rnd = fx_bytes(dir, "random-x.jpg", 50000);
    f = upload_ok(&u, rnd.s, "x.jpg");
    assert_string_equal(jstr(f, "class"), "file");
    assert_string_equal(jstr(f, "mime"), "application/octet-stream");
    json_decref(f);
}

static void test_path_in_name(void **state)
{
    (void)state;
    mpt_session_t u;
    user(srv, &u);
    fx_path_t p = fx_bytes(dir, "traversal.bin", 1000);
    json_t *f = upload_ok(&u, p.s, "../../etc/passwd");
    assert_string_equal(jstr(f, "name"), "passwd");
    json_decref(f);
    f = upload_ok(&u, p.s,
                  "..\\..\\evil\"\xe2\x80\xae"
                  "gpj.exe");
    assert_string_equal(jstr(f, "name"), "evilgpj.exe");
    json_decref(f);
}

static void test_hostile_images(void **state)
{
    (void)state;
    mpt_session_t u;
    user(srv, &u);
    fx_path_t cut = fx_image(dir, "cut.jpg", "jpg", 640, 480);
    fx_truncate(cut.s, fx_size(cut.s) / 2);
    json_t *body = NULL;
    int st = upload_to(srv, &u, cut.s, "cut.jpg", &body);
    expect_error(st, body, 422, "bad_media");
    json_decref(body);
    const char *bombs[] = {"bomb.png", "bomb.jpg"};
    for (size_t i = 0; i < 2; i++) {
        fx_path_t bomb = fx_bomb(dir, bombs[i]);
        body = NULL;
        st = upload_to(srv, &u, bomb.s, bombs[i], &body);
        expect_error(st, body, 422, "bad_media");
        const char *msg =
            json_string_value(json_object_get(json_object_get(body, "error"), "message"));
        assert_non_null(msg);
        assert_non_null(strstr(msg, "30000"));
        json_decref(body);
    }
    /* Nothing is kept of a refused file. */
    assert_int_equal(listed(srv, &u), 0);
    assert_int_equal(count_files(files_dir(srv, "tmp").s, ""), 0);
}

/* ---- the same content twice ------------------------------------------------------ */

static void test_dedup(void **state)
{
    (void)state;
    mpt_session_t a, b;
    user(srv, &a);
    user(srv, &b);
    fx_path_t p = fx_image(dir, "same.png", "png", 200, 150);
    json_t *f1 = upload_ok(&a, p.s, "one.png");
    json_t *f2 = upload_ok(&b, p.s, "two.png");
    assert_string_equal(jstr(f1, "sha256"), jstr(f2, "sha256"));
    assert_string_not_equal(jstr(f1, "file_id"), jstr(f2, "file_id"));
    assert_string_equal(jstr(f2, "owner_id"), b.user_id);
    assert_string_equal(jstr(f2, "name"), "two.png");
    assert_int_equal(jint(f2, "width"), 200);
    /* One served copy on disk, with its three renditions. */
    char prefix[80];
    snprintf(prefix, sizeof prefix, "%s-", jstr(f1, "sha256"));
    assert_int_equal(count_files(files_dir(srv, "blobs").s, prefix), 4);
    json_decref(f1);
    json_decref(f2);
}

/* ---- refused at the head ------------------------------------------------------------ */

static void test_empty(void **state)
{
    (void)state;
    mpt_session_t u;
    user(srv, &u);
    fx_path_t p = fx_join(dir, "empty.bin");
    fx_write(p.s, "", 0);
    json_t *body = NULL;
    int st = upload_to(srv, &u, p.s, "empty.bin", &body);
    expect_error(st, body, 400, "bad_request");
    json_decref(body);
}

/* The head alone gets the answer: the body is never read. */
static void test_too_large(void **state)
{
    (void)state;
    mpt_session_t u;
    user(small, &u);
    mpc_conn_t *c = mpc_connect("127.0.0.1", small->port, 5000);
    assert_non_null(c);
    assert_int_equal(fx_upload_head(c, u.access, "big.bin", 2 * 1024 * 1024), MPC_OK);
    mpc_response_t r;
    assert_int_equal(mpc_http_read_response(c, &r, FX_TIMEOUT), MPC_OK);
    MPT_ASSERT_HTTP_ERROR(&r, 413, "too_large");
    mpc_response_free(&r);
    mpc_conn_free(c);
}

static void test_length_required(void **state)
{
    (void)state;
    mpt_session_t u;
    user(srv, &u);
    mpc_response_t r;
    char extra[64] = "";
    int st = fx_request(srv->port, "POST", u.access, "/v1/files?name=x", extra, &r, NULL);
    assert_int_equal(st, 411);
    MPT_ASSERT_HTTP_ERROR(&r, 411, "length_required");
    mpc_response_free(&r);
}

static void test_quota(void **state)
{
    (void)state;
    mpt_session_t u;
    user(small, &u);
    fx_path_t p = fx_bytes(dir, "q200k.bin", 200 * 1024);
    json_t *body = NULL;
    assert_int_equal(upload_to(small, &u, p.s, "a.bin", &body), 201);
    json_decref(body);
    /* The same bytes again: stored once, but counted for each upload. */
    body = NULL;
    int st = upload_to(small, &u, p.s, "b.bin", &body);
    expect_error(st, body, 413, "quota_exceeded");
    json_decref(body);
    assert_int_equal(listed(small, &u), 1);
}

static void test_rate(void **state)
{
    (void)state;
    mpt_session_t u;
    user(small, &u);
    fx_path_t p = fx_bytes(dir, "rate.bin", 1000);
    for (int i = 0; i < 2; i++) {
        json_t *body = NULL;
        assert_int_equal(upload_to(small, &u, p.s, "r.bin", &body), 201);
        json_decref(body);
    }
    mpc_conn_t *c = mpc_connect("127.0.0.1", small->port, 5000);
    assert_non_null(c);
    assert_int_equal(fx_upload_head(c, u.access, "r.bin", 1000), MPC_OK);
    mpc_response_t r;
    assert_int_equal(mpc_http_read_response(c, &r, FX_TIMEOUT), MPC_OK);
    MPT_ASSERT_HTTP_ERROR(&r, 429, "rate_limited");
    assert_true(atoi(fx_header(&r, "Retry-After")) >= 1);
    mpc_response_free(&r);
    mpc_conn_free(c);
}

/* ---- a cut upload -------------------------------------------------------------------- */

/* Polls until count_files(path) == want, for up to 10 s. */
static void wait_files(const char *path, int want)
{
    int64_t until = mpt_mono_ms() + 10000;
    while (count_files(path, "") != want && mpt_mono_ms() < until) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(count_files(path, ""), want);
}

static void test_cut_upload(void **state)
{
    (void)state;
    mpt_session_t u;
    user(srv, &u);
    fx_path_t p = fx_bytes(dir, "cut.bin", 3 * 1024 * 1024);
    fx_path_t tmp = files_dir(srv, "tmp");
    /* A third of the body, and the connection stays open: the server is
     * receiving into a temporary file. */
    mpc_conn_t *c = mpc_connect("127.0.0.1", srv->port, 5000);
    assert_non_null(c);
    assert_int_equal(fx_upload_head(c, u.access, "cut.bin", fx_size(p.s)), MPC_OK);
    assert_int_equal(fx_send_file(c, p.s, 1024 * 1024 + 12345), MPC_OK);
    wait_files(tmp.s, 1);
    /* The cut: the temporary file goes and nothing is stored. */
    mpc_conn_free(c);
    wait_files(tmp.s, 0);
    assert_int_equal(listed(srv, &u), 0);
    /* And the server is fine: the same file uploads whole. */
    json_t *f = upload_ok(&u, p.s, "whole.bin");
    assert_int_equal(jint(f, "size"), 3 * 1024 * 1024);
    json_decref(f);
}

/* A server stopped while an upload is in progress exits cleanly (no leak,
 * no work left on the pool) and leaves nothing in tmp/ at the next start. */
static void test_stop_mid_upload(void **state)
{
    (void)state;
    const char *flags[] = {FILE_FLAGS, NULL};
    mpt_server_t *s = mpt_server_start(flags);
    assert_non_null(s);
    mpt_session_t u;
    user(s, &u);
    fx_path_t p = fx_bytes(dir, "stop.bin", 2 * 1024 * 1024);
    mpc_conn_t *c = mpc_connect("127.0.0.1", s->port, 5000);
    assert_non_null(c);
    assert_int_equal(fx_upload_head(c, u.access, "stop.bin", fx_size(p.s)), MPC_OK);
    assert_int_equal(fx_send_file(c, p.s, 512 * 1024), MPC_OK);
    wait_files(files_dir(s, "tmp").s, 1);
    assert_int_equal(mpt_server_terminate(s), 0);
    mpc_conn_free(c);
    assert_int_equal(mpt_server_restart(s), 0);
    assert_int_equal(count_files(files_dir(s, "tmp").s, ""), 0);
    assert_int_equal(mpt_server_stop(s), 0);
}

/* ---- memory ---------------------------------------------------------------------------- */

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

typedef struct sampler {
    pid_t pid;
    atomic_bool stop;
    long max_kib;
} sampler_t;

static void *sample(void *arg)
{
    sampler_t *s = arg;
    while (!atomic_load(&s->stop)) {
        long k = rss_kib(s->pid);
        if (k > s->max_kib)
            s->max_kib = k;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* xorshift64: bytes nobody stored before, made as they are sent. */
static void fill(unsigned char *buf, size_t n, uint64_t *x)
{
    for (size_t i = 0; i + 8 <= n; i += 8) {
        *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
        memcpy(buf + i, x, 8);
    }
}

static void test_big_upload_memory(void **state)
{
    (void)state;
    mpt_session_t u;
    user(srv, &u);
    /* A first upload warms the pool's threads and the allocator. */
    fx_path_t warm = fx_bytes(dir, "warm.bin", 4 * 1024 * 1024);
    json_decref(upload_ok(&u, warm.s, "warm.bin"));
    sampler_t s = {.pid = srv->pid};
    long before = rss_kib(srv->pid);
    s.max_kib = before;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, sample, &s), 0);
    int64_t t0 = mpt_mono_ms();
    mpc_conn_t *c = mpc_connect("127.0.0.1", srv->port, 5000);
    assert_non_null(c);
    assert_int_equal(fx_upload_head(c, u.access, "big.bin", BIG_UPLOAD), MPC_OK);
    static unsigned char buf[256 * 1024];
    uint64_t x = (uint64_t)mpt_mono_ms() | 1;
    for (uint64_t sent = 0; sent < BIG_UPLOAD; sent += sizeof buf) {
        fill(buf, sizeof buf, &x);
        assert_int_equal(mpc_send_raw(c, buf, sizeof buf, FX_TIMEOUT), MPC_OK);
    }
    mpc_response_t r;
    assert_int_equal(mpc_http_read_response(c, &r, 120000), MPC_OK);
    int64_t ms = mpt_mono_ms() - t0;
    atomic_store(&s.stop, true);
    pthread_join(th, NULL);
    assert_int_equal(r.status, 201);
    assert_int_equal(jint(r.json, "size"), (long long)BIG_UPLOAD);
    assert_string_equal(jstr(r.json, "class"), "file");
    mpc_response_free(&r);
    mpc_conn_free(c);
    fprintf(stderr, "upload of %llu MiB: %lld ms; server RSS %ld KiB before, %ld KiB at most\n",
            BIG_UPLOAD >> 20, (long long)ms, before, s.max_kib);
    assert_true(s.max_kib - before < RSS_GROWTH_MAX_KIB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_images),
        cmocka_unit_test(test_voice_note),
        cmocka_unit_test(test_type_from_content),
        cmocka_unit_test(test_path_in_name),
        cmocka_unit_test(test_hostile_images),
        cmocka_unit_test(test_dedup),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_length_required),
        cmocka_unit_test(test_quota),
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_cut_upload),
        cmocka_unit_test(test_stop_mid_upload),
        cmocka_unit_test(test_big_upload_memory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
