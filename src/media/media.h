/* Media processing: what an uploaded file is and what is derived from it.
 * The type is decided from the content (libmagic), never from a name or a
 * client's header. Images (JPEG, PNG, WebP, GIF, HEIC/AVIF) go through
 * libvips: size, orientation applied, metadata stripped from the copy that is
 * served, a thumbnail, two square crops for avatars and a tiny inline
 * preview. Audio (Ogg/Opus, WebM/Opus and the other formats libavformat
 * reads) gets its duration and a waveform computed from the decoded samples;
 * video its duration, size and a poster frame (libavformat, libavcodec,
 * libswscale), from which the same image renditions are made.
 *
 * Hostile input is expected: image dimensions are read from the header and
 * refused above max_pixels before anything is decoded; every file has a
 * deadline (timeout_ms) after which libvips / libavformat are told to stop;
 * libvips' tracked memory is capped. Everything here blocks: run it on a
 * thread of the pool, at most media_workers at a time. Thread-safe. */
#ifndef MP_MEDIA_MEDIA_H
#define MP_MEDIA_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_MEDIA_MIME_MAX 127
#define MP_MEDIA_PATH_MAX 1100
#define MP_MEDIA_RENDITIONS 4
#define MP_MEDIA_WAVEFORM 64 /* buckets of a voice note's waveform */
#define MP_MEDIA_THUMB_PX 320
#define MP_MEDIA_PREVIEW_PX 40

typedef struct mp_media_limits {
    unsigned max_pixels; /* width x height x frames */
    unsigned timeout_ms; /* per file */
    size_t memory;       /* libvips tracked memory, all threads */
} mp_media_limits_t;

/* Once per process, before any other call (libvips, libmagic's database).
 * 0, or -1 with a message in err. */
int mp_media_init(const mp_media_limits_t *lim, char *err, size_t errlen);
void mp_media_shutdown(void);

typedef enum {
    MP_MEDIA_FILE = 0, /* anything else: stored and served as is */
    MP_MEDIA_IMAGE,
    MP_MEDIA_AUDIO,
    MP_MEDIA_VIDEO,
} mp_media_class_t;

typedef struct mp_media_rendition {
    char name[8];                 /* "thumb", "s256", "s64" */
    char path[MP_MEDIA_PATH_MAX]; /* the file written */
    char mime[32];                /* "image/webp" */
    uint64_t size;
    int width, height;
} mp_media_rendition_t;

typedef struct mp_media_result {
    char mime[MP_MEDIA_MIME_MAX + 1]; /* detected, e.g. "image/jpeg", "application/pdf" */
    mp_media_class_t cls;
    /* A copy to serve instead of the upload ("" = serve the upload as is):
     * an image re-encoded without metadata, with its orientation applied
     * (a HEIC/AVIF photo becomes JPEG). */
    char serve_path[MP_MEDIA_PATH_MAX];
    char serve_mime[MP_MEDIA_MIME_MAX + 1];
    uint64_t serve_size;
    /* JSON object text (mp_malloc'd; never NULL after success): image
     * {"width","height","preview"}, audio {"duration_ms","waveform":[64 ints
     * 0-100]}, video {"duration_ms","width","height","preview"}, file {}.
     * preview is a data: URL of a WebP at most 40 px on its longer side. */
    char *meta;
    mp_media_rendition_t rend[MP_MEDIA_RENDITIONS];
    size_t nrend;
    char error[256]; /* why the file was refused (MP_MEDIA_BAD) */
} mp_media_result_t;

typedef enum {
    MP_MEDIA_OK = 0,
    MP_MEDIA_BAD = 1,   /* the content says image/audio/video but cannot be decoded
                           safely: truncated, corrupt, over max_pixels, over the
                           memory cap or the deadline. error says which. */
    MP_MEDIA_ERROR = -1 /* I/O error on our side (disk full, ...) */
} mp_media_rc_t;

/* Detects the type of the file at path (libmagic on its first bytes).
 * out gets the MIME type ("application/octet-stream" when unknown). */
int mp_media_detect(const char *path, char *out, size_t outlen);

/* Detects and processes the file at path. Files it writes (the served copy,
 * the renditions) are named out_prefix + ".serve", ".thumb", ".s256", ".s64";
 * on failure none is left behind. Free out with mp_media_result_free (does
 * not delete the files). */
mp_media_rc_t mp_media_process(const char *path, const char *out_prefix,
                               const mp_media_limits_t *lim, mp_media_result_t *out);
void mp_media_result_free(mp_media_result_t *r);

/* True only for the types a browser may show inline without running script:
 * raster images (JPEG, PNG, WebP, GIF), every audio and video type. Everything else
 * — HTML, SVG, XML, JavaScript, PDF, text, unknown — is served only as an
 * attachment (a stored-XSS vector otherwise). */
bool mp_media_inline_ok(const char *mime);

#endif
