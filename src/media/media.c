/* Media processing: library set-up and the entry point, which detects the
 * type and hands the file to images (image.c) or sound and video (av.c). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "media/media_int.h"
#include "util/alloc.h"
#include "util/clock.h"

static const char *const out_suffix[] = {".serve", ".thumb", ".s256", ".s64"};

int mp_media_init(const mp_media_limits_t *lim, char *err, size_t errlen)
{
    if (mp_media__magic_init(err, errlen) != 0)
        return -1;
    if (mp_media__vips_init(lim, err, errlen) != 0) {
        mp_media__magic_shutdown();
        return -1;
    }
    mp_media__av_init();
    return 0;
}

void mp_media_shutdown(void)
{
    mp_media__vips_shutdown();
    mp_media__magic_shutdown();
}

mp_media_rc_t mp_media__bad(mp_media_job_t *job, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(job->out->error, sizeof job->out->error, fmt, ap);
    va_end(ap);
    return MP_MEDIA_BAD;
}

bool mp_media__out_path(const mp_media_job_t *job, const char *suffix, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s%s", job->prefix, suffix);
    return n > 0 && (size_t)n < cap;
}

bool mp_media__expired(const mp_media_job_t *job)
{
    return mp_mono_ms() > job->deadline;
}

/* Removes every file this job may have written: a refused or failed file
 * leaves nothing behind, whichever step it stopped at. */
static void remove_outputs(const mp_media_job_t *job)
{
    for (size_t i = 0; i < sizeof out_suffix / sizeof out_suffix[0]; i++) {
        char p[MP_MEDIA_PATH_MAX];
        if (mp_media__out_path(job, out_suffix[i], p, sizeof p))
            unlink(p);
    }
}

static void reset_result(mp_media_result_t *r)
{
    mp_free(r->meta);
    /* What the file is and why it was refused stay (for the caller's log). */
    char mime[sizeof r->mime], error[sizeof r->error];
    mp_media_class_t cls = r->cls;
    memcpy(mime, r->mime, sizeof mime);
    memcpy(error, r->error, sizeof error);
    memset(r, 0, sizeof *r);
    memcpy(r->mime, mime, sizeof mime);
    memcpy(r->error, error, sizeof error);
    r->cls = cls;
}

mp_media_rc_t mp_media_process(const char *path, const char *out_prefix,
                               const mp_media_limits_t *lim, mp_media_result_t *out)
{
    memset(out, 0, sizeof *out);
    mp_media_job_t job = {.path = path,
                          .prefix = out_prefix,
                          .lim = lim,
                          .out = out,
                          .deadline = mp_mono_ms() + lim->timeout_ms};
    if (access(path, R_OK) != 0 || mp_media_detect(path, out->mime, sizeof out->mime) != 0) {
        snprintf(out->error, sizeof out->error, "cannot read the file");
        return MP_MEDIA_ERROR;
    }
    out->cls = mp_media__class_of(out->mime);
    mp_media_rc_t rc = MP_MEDIA_OK;
    if (out->cls == MP_MEDIA_IMAGE)
        rc = mp_media__image(&job);
    else if (out->cls == MP_MEDIA_AUDIO || out->cls == MP_MEDIA_VIDEO)
        rc = mp_media__av(&job);
    else
        out->meta = mp_strdup("{}");
    if (rc != MP_MEDIA_OK) {
        remove_outputs(&job);
        reset_result(out);
    }
    return rc;
}

void mp_media_result_free(mp_media_result_t *r)
{
    mp_free(r->meta);
    r->meta = NULL;
}
