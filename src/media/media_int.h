/* Inside src/media: what the entry point (media.c), detection (detect.c),
 * images (image.c) and sound / video (av.c) share. */
#ifndef MP_MEDIA_MEDIA_INT_H
#define MP_MEDIA_MEDIA_INT_H

#include <stdint.h>

#include "media/media.h"

/* One file's processing: its limits, deadline and where outputs go. */
typedef struct mp_media_job {
    const char *path;
    const char *prefix; /* out_prefix */
    const mp_media_limits_t *lim;
    int64_t deadline; /* mp_mono_ms() after which everything stops */
    mp_media_result_t *out;
} mp_media_job_t;

/* detect.c: libmagic's cookie, loaded once. */
int mp_media__magic_init(char *err, size_t errlen);
void mp_media__magic_shutdown(void);
mp_media_class_t mp_media__class_of(const char *mime);

/* image.c: libvips set-up, images, and the renditions of any picture. */
int mp_media__vips_init(const mp_media_limits_t *lim, char *err, size_t errlen);
void mp_media__vips_shutdown(void);
mp_media_rc_t mp_media__image(mp_media_job_t *job);
/* Poster of a video: a packed RGB24 frame (w x h, rotated by `rotate`
 * degrees clockwise: 0, 90, 180, 270) -> thumb, s256, s64 and the preview
 * data URL in *preview (mp_malloc'd). */
mp_media_rc_t mp_media__poster(mp_media_job_t *job, const uint8_t *rgb, int w, int h, int rotate,
                               char **preview);

/* av.c: libavformat / libavcodec. */
void mp_media__av_init(void);
mp_media_rc_t mp_media__av(mp_media_job_t *job);

/* media.c: helpers. */
mp_media_rc_t mp_media__bad(mp_media_job_t *job, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* out_prefix + suffix into out (false if it does not fit). */
bool mp_media__out_path(const mp_media_job_t *job, const char *suffix, char *out, size_t cap);
bool mp_media__expired(const mp_media_job_t *job);

#endif
