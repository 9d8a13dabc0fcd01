/* Message kinds and their typed content: see proto/content.h.
 *
 * Each kind has a table of its content fields in the order the canonical
 * JSON lists them. The check walks the client's object once for unknown
 * keys, then the table once, building the canonical object as it goes, so
 * what is stored is exactly what was checked and nothing else. */
#include "proto/content.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/validate.h"
#include "util/alloc.h"
#include "util/id.h"

#define TEXT_MAX 4096      /* characters of a text or a caption */
#define NAME_MAX_CHARS 255 /* a file name */
#define TITLE_MAX 256      /* a location title */
#define MIME_MAX 127       /* bytes of "type/subtype" */
#define FILE_ID_DIGITS 19  /* until the media issue: an opaque id of 1..19 digits */
#define DIM_MAX 65535      /* width, height */
#define DURATION_MAX 3600000
#define SIZE_MAX_BYTES 9007199254740992LL /* 2^53: exact in a JavaScript number */

static const char *const kind_names[MP__KIND_COUNT] = {
    [MP_KIND_TEXT] = "text",       [MP_KIND_IMAGE] = "image",   [MP_KIND_FILE] = "file",
    [MP_KIND_VOICE] = "voice",     [MP_KIND_VIDEO] = "video",   [MP_KIND_LOCATION] = "location",
    [MP_KIND_CONTACT] = "contact", [MP_KIND_SYSTEM] = "system",
};

const char *mp_kind_name(mp_msg_kind_t kind)
{
    return (unsigned)kind < MP__KIND_COUNT ? kind_names[kind] : NULL;
}

bool mp_kind_parse(const char *s, mp_msg_kind_t *out)
{
    for (unsigned k = 0; s != NULL && k < MP__KIND_COUNT; k++) {
        if (strcmp(s, kind_names[k]) == 0) {
            *out = (mp_msg_kind_t)k;
            return true;
        }
    }
    return false;
}

bool mp_kind_editable(mp_msg_kind_t kind)
{
    return kind <= MP_KIND_VIDEO;
}

/* What one content field holds; each has its own check and message. */
typedef enum {
    CF_FILE_ID,  /* decimal id string, 1..19 digits, non-zero */
    CF_INT,      /* JSON integer in [min, max] */
    CF_NUMBER,   /* JSON integer or real in [min, max] (degrees) */
    CF_FILENAME, /* 1..255 characters, MP_TEXT_NAME, no path separators */
    CF_TITLE,    /* 1..256 characters, MP_TEXT_MESSAGE */
    CF_MIME,     /* "type/subtype" */
    CF_USER_ID,  /* a user id string */
} cfield_type_t;

typedef struct cfield {
    const char *name;
    cfield_type_t type;
    bool required;
    long long min, max; /* CF_INT, CF_NUMBER */
} cfield_t;

static const cfield_t image_fields[] = {
    {"file_id", CF_FILE_ID, true, 0, 0},
    {"width", CF_INT, false, 1, DIM_MAX},
    {"height", CF_INT, false, 1, DIM_MAX},
    {0},
};
static const cfield_t file_fields[] = {
    {"file_id", CF_FILE_ID, true, 0, 0},
    {"name", CF_FILENAME, true, 0, 0},
    {"size", CF_INT, false, 0, SIZE_MAX_BYTES},
    {"mime", CF_MIME, false, 0, 0},
    {0},
};
/* duration_ms is optional: the server computes it from the audio and
 * replaces the client's (mp_content_fill). */
static const cfield_t voice_fields[] = {
    {"file_id", CF_FILE_ID, true, 0, 0},
    {"duration_ms", CF_INT, false, 1, DURATION_MAX},
    {0},
};
static const cfield_t video_fields[] = {
    {"file_id", CF_FILE_ID, true, 0, 0},
    {"duration_ms", CF_INT, false, 1, DURATION_MAX},
    {"width", CF_INT, false, 1, DIM_MAX},
    {"height", CF_INT, false, 1, DIM_MAX},
    {0},
};
static const cfield_t location_fields[] = {
    {"latitude", CF_NUMBER, true, -90, 90},
    {"longitude", CF_NUMBER, true, -180, 180},
    {"title", CF_TITLE, false, 0, 0},
    {0},
};
static const cfield_t contact_fields[] = {
    {"user_id", CF_USER_ID, true, 0, 0},
    {0},
};

/* The content fields of a kind; NULL for the kinds without content. */
static const cfield_t *kind_fields(mp_msg_kind_t kind)
{
    switch (kind) {
    case MP_KIND_IMAGE:
        return image_fields;
    case MP_KIND_FILE:
        return file_fields;
    case MP_KIND_VOICE:
        return voice_fields;
    case MP_KIND_VIDEO:
        return video_fields;
    case MP_KIND_LOCATION:
        return location_fields;
    case MP_KIND_CONTACT:
        return contact_fields;
    default:
        return NULL;
    }
}

static mp_err_t fail(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static mp_err_t fail(char *msg, size_t msglen, const char *fmt, ...)
{
    if (msg != NULL && msglen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msglen, fmt, ap);
        va_end(ap);
    }
    return MP_ERR_BAD_REQUEST;
}

/* A jansson string C code can use as is: no embedded NUL (jansson's strings
 * are valid UTF-8 already, but "\u0000" is allowed inside them). */
static bool plain_string(const json_t *v)
{
    return json_is_string(v) && memchr(json_string_value(v), '\0', json_string_length(v)) == NULL;
}

/* A string of 1..max characters free of the characters refused in kind. */
static bool text_ok(const json_t *v, size_t max, mp_text_kind_t kind)
{
    if (!plain_string(v))
        return false;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    size_t chars = mp_utf8_chars(s, len);
    return chars >= 1 && chars <= max && mp_utf8_valid(s, len) && mp_text_check(s, len, kind);
}

/* A file name is shown to people and often becomes the name of a saved file:
 * besides what display names refuse (controls, bidi overrides that disguise
 * "gpj.exe" as "exe.jpg"), it is one path component, so no separators and
 * not "." or "..". */
static bool filename_ok(const json_t *v)
{
    if (!text_ok(v, NAME_MAX_CHARS, MP_TEXT_NAME))
        return false;
    const char *s = json_string_value(v);
    return strpbrk(s, "/\\") == NULL && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* RFC 6838 restricted-name: a letter or digit, then up to 126 of
 * letters, digits and !#$&-^_.+ */
static size_t mime_part(const char *s)
{
    static const char extra[] = "!#$&-^_.+";
    size_t n = 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
          (s[0] >= '0' && s[0] <= '9')))
        return 0;
    while (s[n] != '\0' && ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
                            (s[n] >= '0' && s[n] <= '9') || strchr(extra, s[n]) != NULL))
        n++;
    return n;
}

static bool mime_ok(const json_t *v)
{
    if (!plain_string(v) || json_string_length(v) > MIME_MAX)
        return false;
    const char *s = json_string_value(v);
    size_t type = mime_part(s);
    if (type == 0 || s[type] != '/')
        return false;
    size_t sub = mime_part(s + type + 1);
    return sub > 0 && s[type + 1 + sub] == '\0';
}

static bool file_id_ok(const json_t *v)
{
    uint64_t id;
    return plain_string(v) && json_string_length(v) <= FILE_ID_DIGITS &&
           mp_id_parse(json_string_value(v), &id);
}

/* Checks one present field; on success returns the value to store (a new
 * reference) and, for a contact, the user id, for a file id the file. */
static mp_err_t check_field(const cfield_t *f, const json_t *v, json_t **val, uint64_t *user,
                            uint64_t *file, char *msg, size_t msglen)
{
    switch (f->type) {
    case CF_FILE_ID:
        if (!file_id_ok(v))
            return fail(msg, msglen, "field 'content.%s' must be a file id (a decimal string)",
                        f->name);
        (void)mp_id_parse(json_string_value(v), file); /* file_id_ok parsed it */
        *val = json_string(json_string_value(v));
        return MP_OK;
    case CF_INT:
        if (!json_is_integer(v) || json_integer_value(v) < f->min || json_integer_value(v) > f->max)
            return fail(msg, msglen, "field 'content.%s' must be an integer from %lld to %lld",
                        f->name, f->min, f->max);
        *val = json_integer(json_integer_value(v));
        return MP_OK;
    case CF_NUMBER: {
        double d = json_number_value(v);
        /* jansson never parses NaN or infinities; isfinite keeps it so. */
        if (!json_is_number(v) || !isfinite(d) || d < (double)f->min || d > (double)f->max)
            return fail(msg, msglen, "field 'content.%s' must be a number from %lld to %lld",
                        f->name, f->min, f->max);
        /* Always a real, so 45 and 45.0 store alike. */
        *val = json_real(d);
        return MP_OK;
    }
    case CF_FILENAME:
        if (!filename_ok(v))
            return fail(msg, msglen,
                        "field 'content.%s' must be a file name of 1 to %d characters, without "
                        "control or direction characters, '/' or '\\'",
                        f->name, NAME_MAX_CHARS);
        *val = json_string(json_string_value(v));
        return MP_OK;
    case CF_TITLE:
        if (!text_ok(v, TITLE_MAX, MP_TEXT_MESSAGE))
            return fail(msg, msglen,
                        "field 'content.%s' must be a string of 1 to %d characters without "
                        "control characters",
                        f->name, TITLE_MAX);
        *val = json_string(json_string_value(v));
        return MP_OK;
    case CF_MIME:
        if (!mime_ok(v))
            return fail(msg, msglen,
                        "field 'content.%s' must be a media type \"type/subtype\" of at most %d "
                        "ASCII characters",
                        f->name, MIME_MAX);
        *val = json_string(json_string_value(v));
        return MP_OK;
    case CF_USER_ID:
        if (!plain_string(v) || !mp_id_parse(json_string_value(v), user))
            return fail(msg, msglen, "field 'content.%s' must be a user id (a decimal string)",
                        f->name);
        *val = json_string(json_string_value(v));
        return MP_OK;
    }
    return MP_ERR_INTERNAL;
}

static bool known_key(const cfield_t *fields, const char *key)
{
    for (const cfield_t *f = fields; f->name != NULL; f++)
        if (strcmp(f->name, key) == 0)
            return true;
    return false;
}

/* Writes at most max bytes of UTF-8 s into out, cut at a character boundary,
 * so that an error message quoting a client's key stays valid UTF-8. */
static void quote_prefix(const char *s, char *out, size_t max)
{
    size_t n = strlen(s);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

static mp_err_t check_unknown(const cfield_t *fields, const json_t *content, char *msg,
                              size_t msglen)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)content, key, v)
    {
        if (!known_key(fields, key)) {
            char shown[49];
            quote_prefix(key, shown, sizeof shown - 1);
            return fail(msg, msglen, "field 'content' has an unknown key '%s'", shown);
        }
    }
    return MP_OK;
}

/* Builds the canonical object of content into *out. */
static mp_err_t check_fields(const cfield_t *fields, const json_t *content, json_t *out,
                             mp_content_t *c, char *msg, size_t msglen)
{
    for (const cfield_t *f = fields; f->name != NULL; f++) {
        const json_t *v = json_object_get(content, f->name);
        if (v == NULL || json_is_null(v)) {
            if (f->required)
                return fail(msg, msglen, "field 'content.%s' is required", f->name);
            continue;
        }
        json_t *val = NULL;
        mp_err_t rc = check_field(f, v, &val, &c->contact_user, &c->file_id, msg, msglen);
        if (rc != MP_OK)
            return rc;
        if (val == NULL || json_object_set_new(out, f->name, val) != 0)
            return MP_ERR_INTERNAL;
        if (f->type == CF_FILENAME || f->type == CF_TITLE)
            c->search_extra = mp_strdup(json_string_value(val));
    }
    return MP_OK;
}

static mp_err_t check_content(const cfield_t *fields, const json_t *content, mp_content_t *c,
                              char *msg, size_t msglen)
{
    if (!json_is_object(content))
        return fail(msg, msglen, "field 'content' must be an object");
    mp_err_t rc = check_unknown(fields, content, msg, msglen);
    if (rc != MP_OK)
        return rc;
    json_t *canon = json_object();
    if (canon == NULL)
        return MP_ERR_INTERNAL;
    rc = check_fields(fields, content, canon, c, msg, msglen);
    if (rc == MP_OK) {
        char *dump = json_dumps(canon, JSON_COMPACT | JSON_PRESERVE_ORDER);
        c->json = dump != NULL ? mp_strdup(dump) : NULL;
        free(dump); /* jansson's allocator is the C library's */
        if (c->json == NULL)
            rc = MP_ERR_INTERNAL;
    }
    json_decref(canon);
    return rc;
}

/* text: required 1..4096 characters for kind text; an optional caption of
 * 0..4096 for media; for location and contact only "" (what they read back
 * as) or absent. */
static mp_err_t check_text(mp_msg_kind_t kind, const json_t *text, char *msg, size_t msglen)
{
    const char *kn = kind_names[kind];
    bool present = text != NULL && !json_is_null(text);
    if (!present)
        return kind == MP_KIND_TEXT ? fail(msg, msglen, "field 'text' is required") : MP_OK;
    size_t min = kind == MP_KIND_TEXT ? 1 : 0;
    if (!json_is_string(text))
        return fail(msg, msglen, "field 'text' must be a string of %zu to %d characters", min,
                    TEXT_MAX);
    if (!plain_string(text))
        return fail(msg, msglen, "field 'text' must be valid UTF-8 text without NUL");
    const char *s = json_string_value(text);
    size_t len = json_string_length(text);
    if (kind == MP_KIND_LOCATION || kind == MP_KIND_CONTACT)
        return len == 0 ? MP_OK : fail(msg, msglen, "field 'text' is not allowed for kind %s", kn);
    size_t chars = mp_utf8_chars(s, len);
    if (!mp_utf8_valid(s, len) || chars < min || chars > TEXT_MAX)
        return fail(msg, msglen, "field 'text' must be a string of %zu to %d characters", min,
                    TEXT_MAX);
    if (!mp_text_check(s, len, MP_TEXT_MESSAGE))
        return fail(msg, msglen,
                    "field 'text' must not contain control characters (tab and newline are "
                    "allowed)");
    return MP_OK;
}

static mp_err_t check_kind(const char *kind, mp_msg_kind_t *out, char *msg, size_t msglen)
{
    if (kind == NULL) {
        *out = MP_KIND_TEXT;
        return MP_OK;
    }
    if (!mp_kind_parse(kind, out))
        return fail(msg, msglen,
                    "field 'kind' must be one of text, image, file, voice, video, location, "
                    "contact");
    if (*out == MP_KIND_SYSTEM)
        return fail(msg, msglen, "field 'kind' must not be system: only the server sends those");
    return MP_OK;
}

mp_err_t mp_content_check(const char *kind, const json_t *content, const json_t *text,
                          mp_content_t *out, char *msg, size_t msglen)
{
    memset(out, 0, sizeof *out);
    mp_msg_kind_t k;
    mp_err_t rc = check_kind(kind, &k, msg, msglen);
    if (rc != MP_OK)
        return rc;
    out->kind = k;
    const cfield_t *fields = kind_fields(k);
    bool has_content = content != NULL && !json_is_null(content);
    if (fields == NULL && has_content)
        rc = fail(msg, msglen, "field 'content' is not allowed for kind %s", kind_names[k]);
    else if (fields != NULL && !has_content)
        rc = fail(msg, msglen, "field 'content' is required for kind %s", kind_names[k]);
    else if (fields != NULL)
        rc = check_content(fields, content, out, msg, msglen);
    if (rc == MP_OK)
        rc = check_text(k, text, msg, msglen);
    if (rc != MP_OK) {
        mp_content_free(out);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

void mp_content_free(mp_content_t *c)
{
    if (c == NULL)
        return;
    mp_free(c->json);
    mp_free(c->search_extra);
    c->json = NULL;
    c->search_extra = NULL;
}

/* ---- the file of a media message ---------------------------------------- */

bool mp_kind_has_file(mp_msg_kind_t kind)
{
    return kind == MP_KIND_IMAGE || kind == MP_KIND_FILE || kind == MP_KIND_VOICE ||
           kind == MP_KIND_VIDEO;
}

uint64_t mp_content_file_id(mp_msg_kind_t kind, const char *content)
{
    if (!mp_kind_has_file(kind) || content == NULL)
        return 0;
    json_t *o = json_loads(content, JSON_REJECT_DUPLICATES, NULL);
    uint64_t id = 0;
    const json_t *v = json_object_get(o, "file_id");
    if (!file_id_ok(v) || !mp_id_parse(json_string_value(v), &id))
        id = 0;
    json_decref(o);
    return id;
}

/* The file class kind needs; NULL when any will do. */
static const char *kind_class(mp_msg_kind_t kind)
{
    switch (kind) {
    case MP_KIND_IMAGE:
        return "image";
    case MP_KIND_VOICE:
        return "audio";
    case MP_KIND_VIDEO:
        return "video";
    default:
        return NULL;
    }
}

/* Where a filled field comes from. */
typedef enum {
    FF_CLIENT, /* the client's checked value (file_id, name) */
    FF_META,   /* the file's metadata, else the client's value */
    FF_MIME,   /* the served type */
    FF_SIZE,   /* the served size */
    FF_SERVER, /* the metadata only (a client never sends it) */
} ffield_src_t;

typedef struct ffield {
    const char *name;
    ffield_src_t src;
} ffield_t;

static const ffield_t image_fill[] = {
    {"file_id", FF_CLIENT},
    {"width", FF_META},
    {"height", FF_META},
    {"mime", FF_MIME},
    {"size", FF_SIZE},
    {"preview", FF_SERVER},
    {0},
};
static const ffield_t file_fill[] = {
    {"file_id", FF_CLIENT}, {"name", FF_CLIENT}, {"size", FF_SIZE}, {"mime", FF_MIME}, {0},
};
static const ffield_t voice_fill[] = {
    {"file_id", FF_CLIENT}, {"duration_ms", FF_META}, {"waveform", FF_SERVER},
    {"mime", FF_MIME},      {"size", FF_SIZE},        {0},
};
static const ffield_t video_fill[] = {
    {"file_id", FF_CLIENT}, {"duration_ms", FF_META}, {"width", FF_META},     {"height", FF_META},
    {"mime", FF_MIME},      {"size", FF_SIZE},        {"preview", FF_SERVER}, {0},
};

static const ffield_t *kind_fill(mp_msg_kind_t kind)
{
    switch (kind) {
    case MP_KIND_IMAGE:
        return image_fill;
    case MP_KIND_FILE:
        return file_fill;
    case MP_KIND_VOICE:
        return voice_fill;
    case MP_KIND_VIDEO:
        return video_fill;
    default:
        return NULL;
    }
}

/* A metadata value of the type its field has, or NULL: the metadata was
 * written by our own processing, but a value of the wrong type must not
 * reach clients that trust the shapes in docs/protocol.md. */
static json_t *meta_value(const json_t *meta, const char *name)
{
    json_t *v = json_object_get(meta, name);
    if (strcmp(name, "preview") == 0)
        return json_is_string(v) ? v : NULL;
    if (strcmp(name, "waveform") == 0)
        return json_is_array(v) ? v : NULL;
    return json_is_integer(v) && json_integer_value(v) > 0 ? v : NULL;
}

static json_t *fill_value(const ffield_t *ff, const json_t *client, const json_t *meta,
                          const mp_content_file_t *f)
{
    json_t *v = NULL;
    switch (ff->src) {
    case FF_CLIENT:
        v = json_object_get(client, ff->name);
        return v != NULL ? json_incref(v) : NULL;
    case FF_META:
        v = meta_value(meta, ff->name);
        if (v == NULL)
            v = json_object_get(client, ff->name);
        return v != NULL ? json_incref(v) : NULL;
    case FF_SERVER:
        v = meta_value(meta, ff->name);
        return v != NULL ? json_incref(v) : NULL;
    case FF_MIME:
        return f->mime != NULL && f->mime[0] != '\0' ? json_string(f->mime) : NULL;
    case FF_SIZE:
        return json_integer((json_int_t)f->size);
    }
    return NULL;
}

mp_err_t mp_content_fill(mp_msg_kind_t kind, const char *content, const mp_content_file_t *f,
                         char **out)
{
    *out = NULL;
    const ffield_t *fields = kind_fill(kind);
    if (fields == NULL || content == NULL)
        return MP_ERR_INTERNAL;
    const char *need = kind_class(kind);
    if (need != NULL && (f->cls == NULL || strcmp(f->cls, need) != 0))
        return MP_ERR_BAD_REQUEST;
    json_t *client = json_loads(content, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(client)) {
        json_decref(client);
        return MP_ERR_INTERNAL;
    }
    json_t *meta = f->meta != NULL ? json_loads(f->meta, 0, NULL) : NULL;
    json_t *o = json_object();
    mp_err_t rc = o != NULL ? MP_OK : MP_ERR_INTERNAL;
    for (const ffield_t *ff = fields; ff->name != NULL && rc == MP_OK; ff++) {
        json_t *v = fill_value(ff, client, json_is_object(meta) ? meta : NULL, f);
        if (v != NULL && json_object_set_new(o, ff->name, v) != 0)
            rc = MP_ERR_INTERNAL;
    }
    if (rc == MP_OK) {
        char *dump = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        *out = dump != NULL ? mp_strdup(dump) : NULL;
        free(dump); /* jansson's allocator is the C library's */
        if (*out == NULL)
            rc = MP_ERR_INTERNAL;
    }
    json_decref(o);
    json_decref(meta);
    json_decref(client);
    return rc;
}
