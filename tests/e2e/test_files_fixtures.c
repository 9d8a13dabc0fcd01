/* The fixtures and raw HTTP helpers of test_files_util.h do what they say:
 * every generator makes a file the real tools recognise (file, vipsheader,
 * ffprobe, exiftool), and the HTTP helpers read heads, bodies in memory and
 * bodies streamed to a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "harness.h"
#include "test_files_util.h"

static char dir[] = "/tmp/magpie-fx-XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void assert_mime(const char *path, const char *want)
{
    char got[128];
    fx_capture(got, sizeof got, "file -b --mime-type \"%s\"", path);
    if (strcmp(got, want) != 0)
        fail_msg("%s: file says %s, expected %s", path, got, want);
}

static int vips_field(const char *path, const char *field)
{
    char got[64];
    fx_capture(got, sizeof got, "vipsheader -f %s \"%s\"", field, path);
    return atoi(got);
}

static void probe(const char *path, const char *entry, char *out, size_t cap)
{
    fx_capture(out, cap, "ffprobe -v error -show_entries %s -of default=nw=1:nk=1 \"%s\"", entry,
               path);
}

static void test_images(void **state)
{
    (void)state;
    const char *fmt[] = {"jpg", "png", "webp", "gif", "heic", "avif"};
    const char *mime[] = {"image/jpeg", "image/png",  "image/webp",
                          "image/gif",  "image/heic", "image/avif"};
    for (size_t i = 0; i < sizeof fmt / sizeof fmt[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "img-%s.bin", fmt[i]); /* the name does not decide */
        fx_path_t p = fx_image(dir, name, fmt[i], 320, 200);
        assert_mime(p.s, mime[i]);
        assert_int_equal(vips_field(p.s, "width"), 320);
        assert_int_equal(vips_field(p.s, "height"), 200);
        /* Noise does not compress: a realistic size, not a flat colour's. */
        assert_true(fx_size(p.s) > 8000);
    }
}

static void test_exif(void **state)
{
    (void)state;
    fx_path_t plain = fx_image(dir, "plain.jpg", "jpg", 64, 48);
    assert_false(fx_has_gps(plain.s));
    assert_true(fx_orientation(plain.s) <= 1); /* vips writes 1 (upright) */
    fx_path_t p = fx_jpeg_exif(dir, "gps.jpg", 64, 48, 6);
    assert_mime(p.s, "image/jpeg");
    assert_true(fx_has_gps(p.s));
    assert_int_equal(fx_orientation(p.s), 6);
}

static void assert_duration(const char *path, double want)
{
    char got[64];
    probe(path, "format=duration", got, sizeof got);
    if (fabs(atof(got) - want) > 0.1)
        fail_msg("%s: duration %s, expected %.3f", path, got, want);
}

static void test_voice(void **state)
{
    (void)state;
    fx_path_t ogg = fx_voice(dir, "v.ogg", "ogg", 1.5);
    assert_mime(ogg.s, "audio/ogg");
    assert_duration(ogg.s, 1.5);
    fx_path_t webm = fx_voice(dir, "v.webm", "webm", 2);
    assert_duration(webm.s, 2);
    char codec[32];
    probe(webm.s, "stream=codec_name", codec, sizeof codec);
    assert_string_equal(codec, "opus");
    fx_path_t gap = fx_voice_gap(dir, "gap.ogg", "ogg", 1, 1);
    assert_duration(gap.s, 2);
}

static void test_video(void **state)
{
    (void)state;
    const char *fmt[] = {"mp4", "webm"}, *codec[] = {"h264", "vp8"};
    for (int i = 0; i < 2; i++) {
        char name[16], got[32];
        snprintf(name, sizeof name, "m.%s", fmt[i]);
        fx_path_t p = fx_video(dir, name, fmt[i], 1, 160, 120);
        probe(p.s, "stream=codec_name", got, sizeof got);
        assert_string_equal(got, codec[i]);
        probe(p.s, "stream=width", got, sizeof got);
        assert_int_equal(atoi(got), 160);
        assert_duration(p.s, 1);
    }
    assert_mime(fx_join(dir, "m.mp4").s, "video/mp4");
    assert_mime(fx_join(dir, "m.webm").s, "video/webm");
}

static void test_bomb(void **state)
{
    (void)state;
    const char *names[] = {"bomb.png", "bomb.jpg"};
    for (int i = 0; i < 2; i++) {
        fx_path_t p = fx_bomb(dir, names[i]);
        assert_int_equal(vips_field(p.s, "width"), 30000);
        assert_int_equal(vips_field(p.s, "height"), 30000);
        assert_true(fx_size(p.s) < 64 * 1024);
    }
    assert_mime(fx_join(dir, "bomb.png").s, "image/png");
    assert_mime(fx_join(dir, "bomb.jpg").s, "image/jpeg");
}

static void test_other(void **state)
{
    (void)state;
    fx_path_t r = fx_bytes(dir, "r.bin", 5000);
    assert_mime(r.s, "application/octet-stream");
    fx_truncate(r.s, 100);
    assert_int_equal(fx_size(r.s), 100);
    assert_mime(fx_svg_script(dir, "x.svg").s, "image/svg+xml");
    assert_mime(fx_pdf_named_jpg(dir, "photo.jpg").s, "application/pdf");
}

static void test_http(void **state)
{
    (void)state;
    mpt_server_t *srv = mpt_server_start(NULL);
    assert_non_null(srv);
    mpc_response_t r;
    assert_int_equal(fx_get(srv->port, NULL, "/healthz", NULL, &r, NULL), 200);
    assert_non_null(r.json);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ok");
    assert_non_null(strstr(fx_header(&r, "Content-Type"), "application/json"));
    assert_string_equal(fx_header(&r, "X-No-Such-Header"), "");
    size_t len = r.body_len;
    mpc_response_free(&r);

    /* The same body streamed to a file. */
    fx_path_t out = fx_join(dir, "healthz.json");
    assert_int_equal(fx_get(srv->port, NULL, "/healthz", NULL, &r, out.s), 200);
    assert_int_equal(r.body_len, 0);
    assert_int_equal(fx_size(out.s), len);
    mpc_response_free(&r);

    /* An upload is answered with a JSON object, whatever the answer is. */
    mpt_session_t s;
    assert_int_equal(mpt_user_new(srv, "fx", &s), 0);
    fx_path_t img = fx_image(dir, "up.png", "png", 64, 64);
    int status = 0;
    json_t *j = NULL;
    assert_true(fx_upload(srv->port, s.access, img.s, "up é.png", &status, &j) > 0);
    assert_non_null(j);
    json_decref(j);
    assert_int_equal(fx_upload_cut(srv->port, s.access, img.s, 100), MPC_OK);
    assert_int_equal(mpt_server_stop(srv), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_images), cmocka_unit_test(test_exif), cmocka_unit_test(test_voice),
        cmocka_unit_test(test_video),  cmocka_unit_test(test_bomb), cmocka_unit_test(test_other),
        cmocka_unit_test(test_http),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
