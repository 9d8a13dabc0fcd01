/* Images with libvips: the size read from the header and refused above
 * max_pixels before any pixel is decoded, one streamed decode into memory
 * under a deadline and a memory cap, then from that copy the served image
 * (orientation applied, metadata stripped), the renditions and the preview.
 *
 * libvips decodes lazily: a loader returns after the header, and pixels are
 * produced only when something is written. Every write here goes through an
 * image whose "eval" callback (guard) checks the deadline and libvips'
 * tracked memory, and sets the kill flag to stop the computation. */
#include <gmodule.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <vips/vips.h>

#include "media/media_int.h"
#include "util/alloc.h"
#include "util/log.h"

#define Q_SERVE 90
#define Q_RENDITION 80
#define Q_PREVIEW 50
#define AVATAR_PX 256
#define SMALL_PX 64

static void on_glib_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer ud);

/* libvips loads every module of its module directory at start: ImageMagick,
 * poppler (PDF), OpenSlide, JPEG XL and HEIF, with dozens of libraries behind
 * them — 40 to 90 ms of start-up and their code in memory, for formats
 * Magpie never decodes but HEIF. So libvips is started with VIPSHOME naming
 * a place without modules (unless the operator set VIPSHOME), and only the
 * HEIF module is loaded, from the directory the build found libvips in.
 * Opening a module registers its loaders (its g_module_check_init). */
#define NO_MODULES_HOME "/nonexistent/magpie-vips-without-modules"

static void load_heif_module(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/vips-modules-%d.%d/vips-heif.so", MP_VIPS_LIBDIR,
             vips_version(0), vips_version(1));
    GModule *m = g_module_open(path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
    if (m == NULL) {
        mp_log_warn("media: cannot load %s (%s): HEIC and AVIF photos are kept as plain files",
                    path, g_module_error());
        return;
    }
    g_module_make_resident(m); /* its types stay registered */
}

static int start_vips(char *err, size_t errlen)
{
    bool own_home = getenv("VIPSHOME") == NULL;
    if (own_home)
        setenv("VIPSHOME", NO_MODULES_HOME, 1);
    int rc = VIPS_INIT("magpie");
    if (own_home)
        unsetenv("VIPSHOME"); /* read once by VIPS_INIT; children must not inherit it */
    if (rc != 0) {
        snprintf(err, errlen, "cannot start libvips: %s", vips_error_buffer());
        vips_error_clear();
        return -1;
    }
    if (own_home && vips_type_find("VipsOperation", "heifload") == 0)
        load_heif_module();
    return 0;
}

int mp_media__vips_init(const mp_media_limits_t *lim, char *err, size_t errlen)
{
    (void)lim;
    if (start_vips(err, errlen) != 0)
        return -1;
    /* Parallelism comes from media_workers; one thread per file keeps the
     * cost of one hostile file to one core. */
    vips_concurrency_set(1);
    /* The operation cache would keep decoded uploads (and open files) alive
     * after their processing: nothing here is ever computed twice. */
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    /* Loaders and savers marked untrusted (ImageMagick, PDF, SVG, FITS, ...)
     * are refused outright; only the five named below are ever called. */
    vips_block_untrusted_set(TRUE);
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO,
                      on_glib_log, NULL);
    return 0;
}

/* libvips warns through GLib (a truncated tile, an ignored colour profile):
 * per hostile file, so to our log at debug level, not to stderr. */
static void on_glib_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer ud)
{
    (void)level, (void)ud;
    mp_log_debug("media: %s: %s", domain ? domain : "glib", msg);
}

void mp_media__vips_shutdown(void)
{
    vips_shutdown();
}

/* ---- the guard -------------------------------------------------------- */

typedef struct guard {
    mp_media_job_t *job;
    const char *why; /* NULL, or what stopped the computation */
} guard_t;

static void on_eval(VipsImage *image, VipsProgress *progress, void *data)
{
    (void)progress;
    guard_t *g = data;
    if (g->why == NULL && mp_media__expired(g->job))
        g->why = "processing took longer than media_timeout";
    else if (g->why == NULL && vips_tracked_get_mem() > g->job->lim->memory)
        g->why = "the server's media_memory is exhausted";
    /* Set again on each call: libvips clears the flag when it sees it. */
    if (g->why)
        vips_image_set_kill(image, TRUE);
}

/* Reports progress of every computation that reads `im` to the guard. The
 * guard must outlive im (both live in one call below). */
static void guard_attach(VipsImage *im, guard_t *g)
{
    vips_image_set_progress(im, TRUE);
    g_signal_connect(im, "eval", G_CALLBACK(on_eval), g);
}

/* A libvips failure: the guard's reason, else `bad` (BAD) or an I/O error
 * of ours (ERROR when bad is NULL). libvips' own message names our temp
 * paths: it goes to the log, not to the client. */
static mp_media_rc_t failed(guard_t *g, const char *bad)
{
    char *msg = vips_error_buffer_copy();
    mp_log_debug("media: libvips: %s", msg);
    g_free(msg);
    if (g->why)
        return mp_media__bad(g->job, "%s", g->why);
    if (bad)
        return mp_media__bad(g->job, "%s", bad);
    snprintf(g->job->out->error, sizeof g->job->out->error, "cannot write a derived image");
    return MP_MEDIA_ERROR;
}

/* ---- loading ---------------------------------------------------------- */

/* The loader is chosen by the type libmagic found, never by libvips' own
 * sniffing, so that a polyglot cannot reach another decoder. Sequential
 * access: the decode streams top to bottom (and notices the kill flag). */
static int load(const char *path, const char *mime, VipsImage **out)
{
    VipsAccess seq = VIPS_ACCESS_SEQUENTIAL;
    VipsFailOn fail = VIPS_FAIL_ON_ERROR; /* truncated or corrupt: refused */
    if (strcmp(mime, "image/jpeg") == 0)
        return vips_jpegload(path, out, "access", seq, "fail_on", fail, NULL);
    if (strcmp(mime, "image/png") == 0)
        return vips_pngload(path, out, "access", seq, "fail_on", fail, NULL);
    /* Every frame of an animation: its size counts against max_pixels. */
    if (strcmp(mime, "image/webp") == 0)
        return vips_webpload(path, out, "access", seq, "fail_on", fail, "n", -1, NULL);
    if (strcmp(mime, "image/gif") == 0)
        return vips_gifload(path, out, "access", seq, "fail_on", fail, "n", -1, NULL);
    return vips_heifload(path, out, "access", seq, "fail_on", fail, NULL);
}

/* Header-only checks, before a single pixel is decoded: the pixel count of
 * every frame, and the memory the decoded copy will take. */
static mp_media_rc_t check_header(mp_media_job_t *job, VipsImage *im)
{
    int page_h = vips_image_get_page_height(im);
    int pages = im->Ysize / page_h;
    uint64_t pixels = (uint64_t)im->Xsize * (uint64_t)im->Ysize;
    if (pixels > job->lim->max_pixels)
        return mp_media__bad(job, "image of %dx%d pixels%s is larger than max_image_pixels",
                             im->Xsize, page_h, pages > 1 ? " per frame" : "");
    uint64_t bytes = pixels * (uint64_t)im->Bands * vips_format_sizeof(im->BandFmt);
    if (bytes > job->lim->memory)
        return mp_media__bad(job, "decoding the image needs %llu MiB, more than media_memory",
                             (unsigned long long)(bytes >> 20));
    return MP_MEDIA_OK;
}

/* Loads and decodes the whole image into memory (*out). */
static mp_media_rc_t decode(mp_media_job_t *job, guard_t *g, VipsImage **out)
{
    VipsImage *lazy = NULL;
    if (load(job->path, job->out->mime, &lazy) != 0)
        return failed(g, "the image cannot be decoded (truncated or corrupt)");
    mp_media_rc_t rc = check_header(job, lazy);
    if (rc == MP_MEDIA_OK) {
        guard_attach(lazy, g);
        *out = vips_image_copy_memory(lazy);
        if (*out == NULL)
            rc = failed(g, "the image cannot be decoded (truncated or corrupt)");
    }
    g_object_unref(lazy);
    return rc;
}

/* ---- preparing the picture ------------------------------------------- */

static bool is_metadata(const char *field)
{
    static const char *const prefixes[] = {"exif-",       "xmp-",        "iptc-",
                                           "icc-",        "photoshop-",  "orientation",
                                           "png-comment", "gif-comment", "heif-"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(field, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

/* A copy of the header without metadata: the EXIF, XMP, IPTC and ICC blocks
 * and the "exif-ifd*" fields libvips parsed from them (GPS position
 * included). libvips 8.14 rebuilds an EXIF block from those fields on save,
 * even with strip set (and its WebP saver ignores strip): what is not in the
 * header cannot reach a derived file. Takes over `in`; NULL on failure. */
static VipsImage *bare(VipsImage *in)
{
    VipsImage *out = NULL;
    int rc = vips_copy(in, &out, NULL);
    g_object_unref(in);
    if (rc != 0)
        return NULL; /* never the image with its metadata */
    char **fields = vips_image_get_fields(out);
    for (char **f = fields; *f; f++)
        if (is_metadata(*f))
            vips_image_remove(out, *f);
    g_strfreev(fields);
    return out;
}

/* The picture as shown: orientation applied (single images only: EXIF
 * rotation of an animation is not a thing browsers do), converted to sRGB
 * from its ICC profile (the profile is stripped on save). Lazy; NULL on
 * failure. */
static VipsImage *upright(VipsImage *mem)
{
    VipsImage *rot = NULL, *srgb = NULL;
    if (vips_image_get_n_pages(mem) > 1 || vips_autorot(mem, &rot, NULL) != 0) {
        vips_error_clear();
        rot = mem;
        g_object_ref(rot);
    }
    if (vips_image_get_typeof(rot, VIPS_META_ICC_NAME) &&
        vips_icc_transform(rot, &srgb, "srgb", "embedded", TRUE, NULL) == 0) {
        g_object_unref(rot);
        rot = srgb;
    }
    vips_error_clear(); /* a broken profile: keep the pixels as they are */
    return bare(rot);
}

/* The first frame (renditions of an animation show its first frame). */
static VipsImage *first_frame(VipsImage *im)
{
    VipsImage *f = NULL;
    int page_h = vips_image_get_page_height(im);
    if (page_h == im->Ysize || vips_extract_area(im, &f, 0, 0, im->Xsize, page_h, NULL) != 0) {
        vips_error_clear();
        g_object_ref(im);
        return im;
    }
    return f;
}

/* ---- outputs ---------------------------------------------------------- */

static int save_serve(VipsImage *im, const char *mime, const char *path)
{
    if (strcmp(mime, "image/png") == 0)
        return vips_pngsave(im, path, "strip", TRUE, NULL);
    if (strcmp(mime, "image/webp") == 0)
        return vips_webpsave(im, path, "Q", Q_SERVE, "strip", TRUE, NULL);
    /* JPEG, and HEIC/HEIF/AVIF, which browsers mostly cannot show. */
    return vips_jpegsave(im, path, "Q", Q_SERVE, "strip", TRUE, "optimize_coding", TRUE, NULL);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The served copy (GIF: none, the upload is served as is). */
static mp_media_rc_t serve_copy(mp_media_job_t *job, guard_t *g, VipsImage *up)
{
    mp_media_result_t *r = job->out;
    if (strcmp(r->mime, "image/gif") == 0)
        return MP_MEDIA_OK;
    bool jpeg = strcmp(r->mime, "image/png") != 0 && strcmp(r->mime, "image/webp") != 0;
    snprintf(r->serve_mime, sizeof r->serve_mime, "%s", jpeg ? "image/jpeg" : r->mime);
    if (!mp_media__out_path(job, ".serve", r->serve_path, sizeof r->serve_path))
        return mp_media__bad(job, "path too long");
    if (save_serve(up, r->serve_mime, r->serve_path) != 0)
        return failed(g, NULL);
    r->serve_size = file_size(r->serve_path);
    return MP_MEDIA_OK;
}

/* A WebP rendition fitting size x size (never upscaled); square: the centre
 * square of the picture first. */
static mp_media_rc_t rendition(mp_media_job_t *job, guard_t *g, VipsImage *src, const char *name,
                               int size, bool square)
{
    VipsImage *sq = NULL, *t = NULL;
    int side = VIPS_MIN(src->Xsize, src->Ysize);
    if (square && vips_extract_area(src, &sq, (src->Xsize - side) / 2, (src->Ysize - side) / 2,
                                    side, side, NULL) != 0)
        return failed(g, NULL);
    mp_media_rendition_t *rd = &job->out->rend[job->out->nrend];
    mp_media_rc_t rc = MP_MEDIA_OK;
    char suffix[16];
    snprintf(suffix, sizeof suffix, ".%s", name);
    if (!mp_media__out_path(job, suffix, rd->path, sizeof rd->path))
        rc = mp_media__bad(job, "path too long");
    else if (vips_thumbnail_image(sq ? sq : src, &t, size, "height", size, "size", VIPS_SIZE_DOWN,
                                  "no_rotate", TRUE, NULL) != 0 ||
             vips_webpsave(t, rd->path, "Q", Q_RENDITION, "strip", TRUE, NULL) != 0)
        rc = failed(g, NULL);
    if (rc == MP_MEDIA_OK) {
        snprintf(rd->name, sizeof rd->name, "%s", name);
        snprintf(rd->mime, sizeof rd->mime, "image/webp");
        rd->size = file_size(rd->path);
        rd->width = t->Xsize, rd->height = t->Ysize;
        job->out->nrend++;
    }
    if (sq)
        g_object_unref(sq);
    if (t)
        g_object_unref(t);
    return rc;
}

/* "data:image/webp;base64,..." of a WebP at most 40 px on its longer side. */
static mp_media_rc_t preview(guard_t *g, VipsImage *src, char **out)
{
    static const char head[] = "data:image/webp;base64,";
    VipsImage *t = NULL;
    void *buf = NULL;
    size_t len = 0;
    int px = MP_MEDIA_PREVIEW_PX;
    if (vips_thumbnail_image(src, &t, px, "height", px, "size", VIPS_SIZE_DOWN, "no_rotate", TRUE,
                             NULL) != 0 ||
        vips_webpsave_buffer(t, &buf, &len, "Q", Q_PREVIEW, "strip", TRUE, NULL) != 0) {
        if (t)
            g_object_unref(t);
        return failed(g, NULL);
    }
    g_object_unref(t);
    size_t b64 = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    *out = mp_malloc(sizeof head - 1 + b64);
    memcpy(*out, head, sizeof head - 1);
    sodium_bin2base64(*out + sizeof head - 1, b64, buf, len, sodium_base64_VARIANT_ORIGINAL);
    g_free(buf);
    return MP_MEDIA_OK;
}

/* thumb, s256, s64 and the preview of an upright single picture. */
static mp_media_rc_t derive(mp_media_job_t *job, guard_t *g, VipsImage *pic, char **prev)
{
    mp_media_rc_t rc = rendition(job, g, pic, "thumb", MP_MEDIA_THUMB_PX, false);
    if (rc == MP_MEDIA_OK)
        rc = rendition(job, g, pic, "s256", AVATAR_PX, true);
    if (rc == MP_MEDIA_OK)
        rc = rendition(job, g, pic, "s64", SMALL_PX, true);
    if (rc == MP_MEDIA_OK)
        rc = preview(g, pic, prev);
    return rc;
}

static char *image_meta(int w, int h, const char *prev)
{
    size_t cap = strlen(prev) + 96;
    char *m = mp_malloc(cap);
    snprintf(m, cap, "{\"width\":%d,\"height\":%d,\"preview\":\"%s\"}", w, h, prev);
    return m;
}

mp_media_rc_t mp_media__image(mp_media_job_t *job)
{
    guard_t g = {.job = job};
    VipsImage *mem = NULL;
    mp_media_rc_t rc = decode(job, &g, &mem);
    if (rc != MP_MEDIA_OK)
        return rc;
    guard_attach(mem, &g); /* the steps below read the decoded copy */
    VipsImage *up = upright(mem);
    g_object_unref(mem); /* up holds it */
    if (up == NULL)
        return failed(&g, NULL);
    VipsImage *pic = first_frame(up);
    char *prev = NULL;
    rc = serve_copy(job, &g, up);
    if (rc == MP_MEDIA_OK)
        rc = derive(job, &g, pic, &prev);
    if (rc == MP_MEDIA_OK)
        job->out->meta = image_meta(pic->Xsize, pic->Ysize, prev);
    mp_free(prev);
    g_object_unref(pic);
    g_object_unref(up);
    return rc;
}

/* A video's first frame, packed RGB24 from libswscale. */
mp_media_rc_t mp_media__poster(mp_media_job_t *job, const uint8_t *rgb, int w, int h, int rotate,
                               char **prev)
{
    guard_t g = {.job = job};
    VipsImage *frame =
        vips_image_new_from_memory_copy(rgb, (size_t)w * h * 3, w, h, 3, VIPS_FORMAT_UCHAR);
    if (frame == NULL)
        return failed(&g, NULL);
    guard_attach(frame, &g);
    VipsImage *pic = NULL;
    VipsAngle angle = rotate == 90    ? VIPS_ANGLE_D90
                      : rotate == 180 ? VIPS_ANGLE_D180
                      : rotate == 270 ? VIPS_ANGLE_D270
                                      : VIPS_ANGLE_D0;
    mp_media_rc_t rc = MP_MEDIA_OK;
    if (vips_rot(frame, &pic, angle, NULL) != 0)
        rc = failed(&g, NULL);
    else
        rc = derive(job, &g, pic, prev);
    if (pic)
        g_object_unref(pic);
    g_object_unref(frame);
    return rc;
}
