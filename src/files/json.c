/* The file object of the wire, and file names made safe. */
#include <stdio.h>
#include <string.h>

#include "files/files_int.h"
#include "proto/validate.h"
#include "util/id.h"

/* ---- the file object ------------------------------------------------------------ */

static void set_id(json_t *o, const char *key, uint64_t id)
{
    char s[MP_ID_STRLEN];
    json_object_set_new(o, key, json_string(mp_id_format(id, s)));
}

/* The meta object's members (width, height, preview, duration_ms, waveform)
 * become members of the file object; a member of the file itself always wins,
 * so that stored meta can never rewrite an id or a URL. */
static void flatten_meta(json_t *o, const char *meta)
{
    if (meta == NULL || meta[0] == '\0')
        return;
    json_t *m = json_loads(meta, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(m))
        json_object_update_missing(o, m);
    json_decref(m);
}

json_t *mp_files__json(const mp_file_row_t *f)
{
    char id[MP_ID_STRLEN], path[64];
    mp_id_format(f->id, id);
    json_t *o = json_object();
    json_object_set_new(o, "file_id", json_string(id));
    set_id(o, "owner_id", f->owner_id);
    json_object_set_new(o, "name", json_string(f->name));
    json_object_set_new(o, "size", json_integer((json_int_t)f->size));
    json_object_set_new(o, "mime", json_string(f->mime));
    json_object_set_new(o, "served_mime", json_string(f->serve_mime));
    json_object_set_new(o, "class", json_string(mp_file_class_name(f->cls)));
    json_object_set_new(o, "sha256", json_string(f->sha256));
    json_object_set_new(o, "created_at", json_integer(f->created_at));
    snprintf(path, sizeof path, "/v1/files/%s", id);
    json_object_set_new(o, "url", json_string(path));
    if (mp_file_rendition(f, "thumb") != NULL) {
        snprintf(path, sizeof path, "/v1/files/%s/thumbnail", id);
        json_object_set_new(o, "thumbnail_url", json_string(path));
    } else {
        json_object_set_new(o, "thumbnail_url", json_null());
    }
    flatten_meta(o, f->meta);
    return o;
}

/* ---- file names ----------------------------------------------------------------- */

/* Bytes of the UTF-8 sequence at s[0..len) when it is one valid character,
 * else 0 (the byte is dropped and the next one looked at). */
static size_t char_len(const unsigned char *s, size_t len)
{
    size_t n = s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
    if (n > len || !mp_utf8_valid((const char *)s, n))
        return 0;
    return n;
}

/* A character a file name keeps: not a control (C0, DEL, C1), not one that
 * reorders or hides the text around it (the rule of display names:
 * proto/validate.h, MP_TEXT_NAME), and not a double quote (it would end the
 * quoted filename of a Content-Disposition header). */
static bool char_kept(const unsigned char *s, size_t n)
{
    return !(n == 1 && s[0] == '"') && mp_text_check((const char *)s, n, MP_TEXT_NAME);
}

static bool trimmed(char c)
{
    return c == ' ' || c == '.';
}

void mp_files__sanitize_name(const char *in, char *out)
{
    /* The last path component: '/' and '\\' never occur inside a multi-byte
     * UTF-8 sequence, so a byte search is exact. */
    const char *base = in;
    for (const char *p = in; *p != '\0'; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    const unsigned char *s = (const unsigned char *)base;
    size_t len = strlen(base), o = 0, i = 0;
    /* Leading spaces and dots go before anything is copied. */
    while (i < len && trimmed((char)s[i]))
        i++;
    while (i < len) {
        size_t n = char_len(s + i, len - i);
        if (n == 0) {
            i++;
            continue;
        }
        if (char_kept(s + i, n)) {
            if (o + n > MP_FILE_NAME_MAX)
                break; /* cut on a character boundary */
            memcpy(out + o, s + i, n);
            o += n;
        }
        i += n;
        /* A character dropped may leave spaces or dots at the front. */
        if (o == 0)
            while (i < len && trimmed((char)s[i]))
                i++;
    }
    while (o > 0 && trimmed(out[o - 1]))
        o--;
    out[o] = '\0';
}
