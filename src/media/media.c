/* Media processing: library set-up and the entry point. */
#include <stdio.h>
#include <string.h>

#include "media/media.h"
#include "util/alloc.h"

int mp_media_init(const mp_media_limits_t *lim, char *err, size_t errlen)
{
    (void)lim, (void)err, (void)errlen;
    return 0;
}

void mp_media_shutdown(void) {}

int mp_media_detect(const char *path, char *out, size_t outlen)
{
    (void)path;
    snprintf(out, outlen, "application/octet-stream");
    return 0;
}

mp_media_rc_t mp_media_process(const char *path, const char *out_prefix,
                               const mp_media_limits_t *lim, mp_media_result_t *out)
{
    (void)out_prefix, (void)lim;
    memset(out, 0, sizeof *out);
    mp_media_detect(path, out->mime, sizeof out->mime);
    out->meta = mp_strdup("{}");
    return MP_MEDIA_OK;
}

void mp_media_result_free(mp_media_result_t *r)
{
    mp_free(r->meta);
    r->meta = NULL;
}

bool mp_media_inline_ok(const char *mime)
{
    (void)mime;
    return false;
}
