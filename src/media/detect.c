/* What a file is, from its content (libmagic), and what may be shown inline.
 * The client's name and Content-Type never decide: a PDF named photo.jpg is a
 * PDF. */
#include <magic.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "media/media_int.h"

/* A libmagic cookie is not thread-safe and loading its database takes tens
 * of milliseconds: one cookie, loaded once, used under a lock (a lookup
 * reads a few KB and takes well under a millisecond). */
static magic_t cookie;
static pthread_mutex_t cookie_lock = PTHREAD_MUTEX_INITIALIZER;

int mp_media__magic_init(char *err, size_t errlen)
{
    if (cookie)
        return 0; /* loaded already (tests start several times) */
    /* No decompression (MAGIC_COMPRESS off): a zip bomb is just a zip here. */
    cookie = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
    if (cookie == NULL || magic_load(cookie, NULL) != 0) {
        snprintf(err, errlen, "cannot load libmagic's database: %s",
                 cookie ? magic_error(cookie) : "out of memory");
        mp_media__magic_shutdown();
        return -1;
    }
    return 0;
}

void mp_media__magic_shutdown(void)
{
    if (cookie)
        magic_close(cookie);
    cookie = NULL;
}

int mp_media_detect(const char *path, char *out, size_t outlen)
{
    pthread_mutex_lock(&cookie_lock);
    const char *mime = cookie ? magic_file(cookie, path) : NULL;
    int rc = mime ? 0 : -1;
    snprintf(out, outlen, "%s", mime ? mime : "application/octet-stream");
    pthread_mutex_unlock(&cookie_lock);
    return rc;
}

static bool in_list(const char *mime, const char *const *list)
{
    for (; *list; list++)
        if (strcasecmp(mime, *list) == 0)
            return true;
    return false;
}

static const char *const image_types[] = {"image/jpeg", "image/png",  "image/webp", "image/gif",
                                          "image/heic", "image/heif", "image/avif", NULL};
/* Only what libavformat demuxes and libavcodec decodes in a stock Debian
 * FFmpeg; any other audio type (MIDI, tracker modules, playlists) is a plain file
 * rather than a refused upload. */
static const char *const audio_types[] = {
    "audio/ogg",   "audio/opus", "audio/webm",          "audio/mpeg",       "audio/mp4",
    "audio/x-m4a", "audio/aac",  "audio/x-hx-aac-adts", "audio/flac",       "audio/x-flac",
    "audio/x-wav", "audio/wav",  "audio/vnd.wave",      "audio/x-matroska", NULL};
static const char *const video_types[] = {"video/mp4", "video/webm", "video/quicktime",
                                          "video/x-matroska", NULL};

mp_media_class_t mp_media__class_of(const char *mime)
{
    if (in_list(mime, image_types))
        return MP_MEDIA_IMAGE;
    if (in_list(mime, audio_types))
        return MP_MEDIA_AUDIO;
    if (in_list(mime, video_types))
        return MP_MEDIA_VIDEO;
    return MP_MEDIA_FILE;
}

bool mp_media_inline_ok(const char *mime)
{
    static const char *const raster[] = {"image/jpeg", "image/png", "image/webp", "image/gif",
                                         NULL};
    if (mime == NULL)
        return false;
    size_t n = strcspn(mime, "; \t"); /* the type without parameters */
    char type[MP_MEDIA_MIME_MAX + 1];
    if (n == 0 || n > MP_MEDIA_MIME_MAX)
        return false;
    memcpy(type, mime, n);
    type[n] = '\0';
    /* A sound or a video plays in a media element, which runs no script; any
     * subtype with markup in it is refused all the same. */
    bool av = strncasecmp(type, "audio/", 6) == 0 || strncasecmp(type, "video/", 6) == 0;
    if (av && strcasestr(type, "xml") == NULL && strcasestr(type, "html") == NULL)
        return true;
    return in_list(type, raster);
}
