/* Media processing on real files made at test time by vips, exiftool and
 * ffmpeg (tests/e2e/test_files_util.h): types from content, image sizes and
 * renditions, EXIF stripping and orientation, decompression bombs, truncated
 * and foreign files, voice notes' duration and waveform, video posters, the
 * deadline, the memory cap and which types may be shown inline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <vips/vips.h>

#include "../../e2e/test_files_util.h"
#include "media/media.h"
#include "util/clock.h"

static char dir[] = "/tmp/magpie-media-XXXXXX";
static const mp_media_limits_t lim = {50000000, 30000, 512u << 20};

static int setup(void **state)
{
    (void)state;
    char err[256];
    if (mkdtemp(dir) == NULL || mp_media_init(&lim, err, sizeof err) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_media_shutdown();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Processes path with outputs under dir/out-<name>; asserts the return code. */
static void process(const char *path, const char *name, const mp_media_limits_t *l,
                    mp_media_rc_t want, mp_media_result_t *r)
{
    fx_path_t prefix = fx_join(dir, name);
    mp_media_rc_t rc = mp_media_process(path, prefix.s, l, r);
    if (rc != want)
        fail_msg("%s: rc %d (%s), expected %d", path, rc, r->error, want);
}

static json_t *meta(const mp_media_result_t *r)
{
    assert_non_null(r->meta);
    json_t *m = json_loads(r->meta, 0, NULL);
    assert_true(json_is_object(m));
    return m;
}

static long long mint(const json_t *m, const char *k)
{
    assert_true(json_is_integer(json_object_get(m, k)));
    return (long long)json_integer_value(json_object_get(m, k));
}

/* Decodes a file (or buffer) with libvips and checks its size. */
static void assert_image_size(VipsImage *im, int w, int h)
{
    assert_non_null(im);
    if (im->Xsize != w || im->Ysize != h)
        fail_msg("image is %dx%d, expected %dx%d", im->Xsize, im->Ysize, w, h);
    g_object_unref(im);
}

static void assert_file_size(const char *path, int w, int h)
{
    assert_image_size(vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, NULL), w, h);
}

/* The preview is a data URL of a WebP at most 40 px on its longer side. */
static void assert_preview(const char *url, int w, int h)
{
    static const char head[] = "data:image/webp;base64,";
    assert_non_null(url);
    assert_memory_equal(url, head, sizeof head - 1);
    unsigned char bin[8192];
    size_t len = 0;
    assert_int_equal(sodium_base642bin(bin, sizeof bin, url + sizeof head - 1,
                                       strlen(url + sizeof head - 1), NULL, &len, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_image_size(vips_image_new_from_buffer(bin, len, "", NULL), w, h);
}

static const mp_media_rendition_t *rend(const mp_media_result_t *r, const char *name)
{
    for (size_t i = 0; i < r->nrend; i++)
        if (strcmp(r->rend[i].name, name) == 0) {
            assert_string_equal(r->rend[i].mime, "image/webp");
            assert_int_equal(r->rend[i].size, fx_size(r->rend[i].path));
            return &r->rend[i];
        }
    fail_msg("no rendition %s", name);
    return NULL;
}

/* thumb fits 320 (never upscaled), s256 and s64 are square. */
static void assert_renditions(const mp_media_result_t *r, int w, int h)
{
    assert_int_equal(r->nrend, 3);
    const mp_media_rendition_t *t = rend(r, "thumb");
    int tw = w, th = h;
    if (w > 320 || h > 320)
        tw = w >= h ? 320 : (w * 320 + h / 2) / h, th = w >= h ? (h * 320 + w / 2) / w : 320;
    assert_file_size(t->path, tw, th);
    assert_int_equal(t->width, tw);
    int side = w < h ? w : h;
    int s256 = side < 256 ? side : 256, s64 = side < 64 ? side : 64;
    assert_file_size(rend(r, "s256")->path, s256, s256);
    assert_file_size(rend(r, "s64")->path, s64, s64);
}

static void assert_detected(const char *path, const char *mime)
{
    char got[MP_MEDIA_MIME_MAX + 1];
    assert_int_equal(mp_media_detect(path, got, sizeof got), 0);
    assert_string_equal(got, mime);
}

static void check_image(const char *fmt, const char *mime, const char *serve_mime)
{
    char name[32];
    snprintf(name, sizeof name, "in-%s.bin", fmt);
    fx_path_t p = fx_image(dir, name, fmt, 640, 480);
    mp_media_result_t r;
    process(p.s, fmt, &lim, MP_MEDIA_OK, &r);
    assert_int_equal(r.cls, MP_MEDIA_IMAGE);
    assert_string_equal(r.mime, mime);
    json_t *m = meta(&r);
    assert_int_equal(mint(m, "width"), 640);
    assert_int_equal(mint(m, "height"), 480);
    assert_preview(json_string_value(json_object_get(m, "preview")), 40, 30);
    json_decref(m);
    assert_renditions(&r, 640, 480);
    if (serve_mime == NULL) {
        assert_string_equal(r.serve_path, ""); /* served as uploaded */
    } else {
        assert_string_equal(r.serve_mime, serve_mime);
        assert_detected(r.serve_path, serve_mime);
        assert_int_equal(r.serve_size, fx_size(r.serve_path));
        assert_file_size(r.serve_path, 640, 480);
    }
    mp_media_result_free(&r);
}

static void test_images(void **state)
{
    (void)state;
    check_image("jpg", "image/jpeg", "image/jpeg");
    check_image("png", "image/png", "image/png");
    check_image("webp", "image/webp", "image/webp");
    check_image("gif", "image/gif", NULL);
    check_image("heic", "image/heic", "image/jpeg");
    check_image("avif", "image/avif", "image/jpeg");
}

static void test_small_not_upscaled(void **state)
{
    (void)state;
    fx_path_t p = fx_image(dir, "small.png", "png", 100, 50);
    mp_media_result_t r;
    process(p.s, "small", &lim, MP_MEDIA_OK, &r);
    assert_renditions(&r, 100, 50); /* thumb 100x50, s256 and s64 50x50 */
    mp_media_result_free(&r);
}

static void test_exif_stripped_and_rotated(void **state)
{
    (void)state;
    fx_path_t p = fx_jpeg_exif(dir, "exif.jpg", 640, 480, 6);
    assert_true(fx_has_gps(p.s));
    mp_media_result_t r;
    process(p.s, "exif", &lim, MP_MEDIA_OK, &r);
    assert_false(fx_has_gps(r.serve_path));
    assert_true(fx_orientation(r.serve_path) <= 1);
    assert_file_size(r.serve_path, 480, 640); /* turned as a viewer shows it */
    json_t *m = meta(&r);
    assert_int_equal(mint(m, "width"), 480);
    assert_int_equal(mint(m, "height"), 640);
    json_decref(m);
    assert_renditions(&r, 480, 640);
    for (size_t i = 0; i < r.nrend; i++)
        assert_false(fx_has_gps(r.rend[i].path));
    mp_media_result_free(&r);
}

static long rss_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%ld %ld", &pages, &resident), 2);
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void assert_no_outputs(const char *name)
{
    const char *sfx[] = {".serve", ".thumb", ".s256", ".s64"};
    for (int i = 0; i < 4; i++) {
        char n[64];
        snprintf(n, sizeof n, "%s%s", name, sfx[i]);
        assert_int_not_equal(access(fx_join(dir, n).s, F_OK), 0);
    }
}

static void test_bomb_refused_before_decode(void **state)
{
    (void)state;
    const char *names[] = {"bomb.png", "bomb.jpg"};
    for (int i = 0; i < 2; i++) {
        fx_path_t p = fx_bomb(dir, names[i]);
        long before = rss_kb();
        int64_t t0 = mp_mono_ms();
        mp_media_result_t r;
        process(p.s, "bomb", &lim, MP_MEDIA_BAD, &r);
        assert_true(mp_mono_ms() - t0 < 1000);
        assert_true(rss_kb() - before < 64 * 1024); /* 900 MP would be 2.7 GB */
        assert_non_null(strstr(r.error, "30000x30000"));
        assert_non_null(strstr(r.error, "max_image_pixels"));
        assert_int_equal(r.cls, MP_MEDIA_IMAGE);
        assert_null(r.meta);
        assert_no_outputs("bomb");
        mp_media_result_free(&r);
    }
}

static void test_truncated(void **state)
{
    (void)state;
    const char *fmt[] = {"jpg", "png", "webp"};
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "cut.%s", fmt[i]);
        fx_path_t p = fx_image(dir, name, fmt[i], 320, 240);
        fx_truncate(p.s, fx_size(p.s) / 2);
        mp_media_result_t r;
        process(p.s, "cut", &lim, MP_MEDIA_BAD, &r);
        assert_non_null(strstr(r.error, "cannot be decoded"));
        assert_no_outputs("cut");
        mp_media_result_free(&r);
    }
}

static void assert_plain_file(const char *path, const char *mime)
{
    mp_media_result_t r;
    process(path, "plain", &lim, MP_MEDIA_OK, &r);
    assert_int_equal(r.cls, MP_MEDIA_FILE);
    assert_string_equal(r.mime, mime);
    assert_string_equal(r.meta, "{}");
    assert_string_equal(r.serve_path, "");
    assert_int_equal(r.nrend, 0);
    mp_media_result_free(&r);
}

static void test_other_files(void **state)
{
    (void)state;
    assert_plain_file(fx_bytes(dir, "random.jpg", 20000).s, "application/octet-stream");
    assert_plain_file(fx_pdf_named_jpg(dir, "doc.jpg").s, "application/pdf");
    assert_plain_file(fx_svg_script(dir, "x.svg").s, "image/svg+xml");
}

static void check_voice(const char *fmt, const char *mime)
{
    char name[16];
    snprintf(name, sizeof name, "voice.%s", fmt);
    fx_path_t p = fx_voice(dir, name, fmt, 2.5);
    mp_media_result_t r;
    process(p.s, "voice", &lim, MP_MEDIA_OK, &r);
    assert_int_equal(r.cls, MP_MEDIA_AUDIO);
    assert_string_equal(r.mime, mime);
    assert_int_equal(r.nrend, 0);
    json_t *m = meta(&r);
    long long ms = mint(m, "duration_ms");
    if (ms < 2450 || ms > 2550)
        fail_msg("%s: duration %lld ms, expected 2500", fmt, ms);
    json_t *wf = json_object_get(m, "waveform");
    assert_int_equal(json_array_size(wf), 64);
    for (size_t i = 0; i < 64; i++) {
        long long v = (long long)json_integer_value(json_array_get(wf, i));
        assert_true(v >= 5 && v <= 100); /* ffmpeg's sine is 1/8 of full scale */
    }
    json_decref(m);
    mp_media_result_free(&r);
}

static void test_voice(void **state)
{
    (void)state;
    check_voice("ogg", "audio/ogg");
    check_voice("webm", "audio/webm"); /* a WebM without pictures is a sound */
}

static void test_voice_silence(void **state)
{
    (void)state;
    fx_path_t p = fx_voice_gap(dir, "gap.ogg", "ogg", 1, 1);
    mp_media_result_t r;
    process(p.s, "gap", &lim, MP_MEDIA_OK, &r);
    json_t *m = meta(&r);
    long long ms = mint(m, "duration_ms");
    assert_true(ms > 1950 && ms < 2050);
    json_t *wf = json_object_get(m, "waveform");
    for (size_t i = 0; i < 28; i++) /* the tone */
        assert_true(json_integer_value(json_array_get(wf, i)) >= 5);
    for (size_t i = 36; i < 64; i++) /* the silence */
        assert_true(json_integer_value(json_array_get(wf, i)) <= 1);
    json_decref(m);
    mp_media_result_free(&r);
}

static void check_video(const char *fmt, const char *mime)
{
    char name[16];
    snprintf(name, sizeof name, "clip.%s", fmt);
    fx_path_t p = fx_video(dir, name, fmt, 2, 320, 240);
    mp_media_result_t r;
    process(p.s, "clip", &lim, MP_MEDIA_OK, &r);
    assert_int_equal(r.cls, MP_MEDIA_VIDEO);
    assert_string_equal(r.mime, mime);
    assert_string_equal(r.serve_path, "");
    json_t *m = meta(&r);
    long long ms = mint(m, "duration_ms");
    if (ms < 1950 || ms > 2100)
        fail_msg("%s: duration %lld ms, expected 2000", fmt, ms);
    assert_int_equal(mint(m, "width"), 320);
    assert_int_equal(mint(m, "height"), 240);
    assert_preview(json_string_value(json_object_get(m, "preview")), 40, 30);
    json_decref(m);
    assert_renditions(&r, 320, 240);
    mp_media_result_free(&r);
}

static void test_video(void **state)
{
    (void)state;
    check_video("mp4", "video/mp4");
    check_video("webm", "video/webm");
}

/* A phone's portrait video: frames stored 320x240 with a display matrix
 * turning them 90 degrees. Size and poster are those of what is shown. */
static void test_video_rotated(void **state)
{
    (void)state;
    fx_path_t p = fx_video(dir, "rot.mp4", "mp4", 1, 320, 240);
    fx_run(dir, "exiftool -q -overwrite_original -Rotation=90 \"%s\"", p.s);
    mp_media_result_t r;
    process(p.s, "rot", &lim, MP_MEDIA_OK, &r);
    json_t *m = meta(&r);
    assert_int_equal(mint(m, "width"), 240);
    assert_int_equal(mint(m, "height"), 320);
    json_decref(m);
    assert_renditions(&r, 240, 320);
    mp_media_result_free(&r);
}

static void test_timeout(void **state)
{
    (void)state;
    fx_path_t p = fx_image(dir, "big.jpg", "jpg", 4000, 3000);
    mp_media_result_t r;
    int64_t t0 = mp_mono_ms();
    process(p.s, "big", &lim, MP_MEDIA_OK, &r);
    int64_t full = mp_mono_ms() - t0;
    mp_media_result_free(&r);
    mp_media_limits_t quick = lim;
    quick.timeout_ms = 1;
    t0 = mp_mono_ms();
    process(p.s, "big", &quick, MP_MEDIA_BAD, &r);
    /* Stopped inside the decode, not after it: a fraction of the full run. */
    int64_t cut = mp_mono_ms() - t0;
    if (cut * 4 > full)
        fail_msg("stopped after %lld ms, the full run takes %lld ms", (long long)cut,
                 (long long)full);
    assert_non_null(strstr(r.error, "media_timeout"));
    assert_no_outputs("big");
    mp_media_result_free(&r);

    fx_path_t v = fx_voice(dir, "long.ogg", "ogg", 30);
    process(v.s, "long", &quick, MP_MEDIA_BAD, &r);
    assert_non_null(strstr(r.error, "media_timeout"));
    mp_media_result_free(&r);
}

static void test_memory_cap(void **state)
{
    (void)state;
    fx_path_t p = fx_image(dir, "mem.png", "png", 1500, 1000); /* 4.5 MB decoded */
    mp_media_limits_t small = lim;
    small.memory = 4u << 20;
    mp_media_result_t r;
    process(p.s, "mem", &small, MP_MEDIA_BAD, &r);
    assert_non_null(strstr(r.error, "media_memory"));
    mp_media_result_free(&r);
}

typedef struct worker {
    pthread_t t;
    const char *path;
    char prefix[32];
    mp_media_rc_t rc;
    mp_media_result_t r;
} worker_t;

static void *work(void *arg)
{
    worker_t *w = arg;
    w->rc = mp_media_process(w->path, fx_join(dir, w->prefix).s, &lim, &w->r);
    return NULL;
}

/* The server runs media_workers files at once on the pool: libmagic's
 * cookie, libvips and libav must give each the same answer as alone. */
static void test_concurrent(void **state)
{
    (void)state;
    fx_path_t in[3] = {fx_image(dir, "c.jpg", "jpg", 800, 600), fx_voice(dir, "c.ogg", "ogg", 1),
                       fx_video(dir, "c.mp4", "mp4", 1, 160, 120)};
    const mp_media_class_t cls[3] = {MP_MEDIA_IMAGE, MP_MEDIA_AUDIO, MP_MEDIA_VIDEO};
    worker_t w[6];
    for (int i = 0; i < 6; i++) {
        w[i].path = in[i % 3].s;
        snprintf(w[i].prefix, sizeof w[i].prefix, "conc%d", i);
        assert_int_equal(pthread_create(&w[i].t, NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        assert_int_equal(pthread_join(w[i].t, NULL), 0);
        assert_int_equal(w[i].rc, MP_MEDIA_OK);
        assert_int_equal(w[i].r.cls, cls[i % 3]);
        assert_int_equal(w[i].r.nrend, i % 3 == 1 ? 0 : 3);
        mp_media_result_free(&w[i].r);
    }
}

static void test_inline_ok(void **state)
{
    (void)state;
    const char *yes[] = {
        "image/jpeg", "image/png", "image/webp", "image/gif", "audio/ogg",
        "audio/webm", "video/mp4", "video/webm", "IMAGE/PNG", "image/png; charset=binary"};
    const char *no[] = {"image/svg+xml",
                        "text/html",
                        "application/xhtml+xml",
                        "text/xml",
                        "application/xml",
                        "application/javascript",
                        "text/javascript",
                        "application/pdf",
                        "text/plain",
                        "application/octet-stream",
                        "image/heic",
                        "",
                        "video/vnd.html",
                        NULL};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!mp_media_inline_ok(yes[i]))
            fail_msg("%s should be shown inline", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (mp_media_inline_ok(no[i]))
            fail_msg("%s must be an attachment", no[i] ? no[i] : "NULL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_images),
        cmocka_unit_test(test_small_not_upscaled),
        cmocka_unit_test(test_exif_stripped_and_rotated),
        cmocka_unit_test(test_bomb_refused_before_decode),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_other_files),
        cmocka_unit_test(test_voice),
        cmocka_unit_test(test_voice_silence),
        cmocka_unit_test(test_video),
        cmocka_unit_test(test_video_rotated),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_memory_cap),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_inline_ok),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
