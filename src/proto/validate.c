/* Declarative request validation (see validate.h) and strict UTF-8 checks.
 * Every message names the offending field so that a client can fix its request. */
#include "proto/validate.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/id.h"
#include "util/swar.h"

/* Strict UTF-8 after the Unicode standard, table 3-7 ("well-formed byte
 * sequences"): the second byte's range depends on the first, which is what
 * rules out overlongs, surrogates and code points past U+10FFFF. */
bool mp_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        /* Most text is ASCII: eight bytes at a time while no byte has its
         * high bit set (every frame and message text comes through here,
         * several times on its way). */
        if (len - i >= 8 && mp_swar_high(mp_swar_load(s + i)) == 0) {
            i += 8;
            continue;
        }
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            if (c == 0xe0)
                lo = 0xa0; /* overlong below U+0800 */
            else if (c == 0xed)
                hi = 0x9f; /* surrogates U+D800..DFFF */
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            if (c == 0xf0)
                lo = 0x90; /* overlong below U+10000 */
            else if (c == 0xf4)
                hi = 0x8f; /* above U+10FFFF */
        } else {
            return false; /* stray continuation, 0xc0/0xc1 overlongs, 0xf5.. */
        }
        if (len - i <= need)
            return false; /* truncated */
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= need; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf)
                return false;
        i += need + 1;
    }
    return true;
}

/* The bytes a JSON string cannot hold as they are. */
static bool json_special(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

static uint64_t json_special_mask(uint64_t w)
{
    return mp_swar_below(w, 0x20) | mp_swar_eq(w, '"') | mp_swar_eq(w, '\\');
}

static bool unprintable(unsigned char c)
{
    return c < 0x20 || c > 0x7e;
}

/* The first byte of a word that its non-zero mask flags. */
static size_t first_flagged(const char *w, uint64_t mask, bool (*special)(unsigned char))
{
#if MP_SWAR_LE
    (void)w;
    (void)special;
    return mp_swar_first(mask);
#else
    (void)mask;
    size_t k = 0;
    while (!special((unsigned char)w[k]))
        k++;
    return k;
#endif
}

/* The first i in s[0..len) where `special` holds (len if none), a word at a
 * time. The tail is read as a word padded with 'a', which no mask flags, so
 * a short string (most keys and ids) takes one step. Inlined into each
 * caller, where the two functions are constants. */
static inline size_t first_special(const char *s, size_t len, uint64_t (*mask_of)(uint64_t),
                                   bool (*special)(unsigned char))
{
    for (size_t i = 0; i < len; i += 8) {
        size_t n = len - i < 8 ? len - i : 8;
        uint64_t m = mask_of(n == 8 ? mp_swar_load(s + i) : mp_swar_load_tail(s + i, n, 'a'));
        if (m != 0)
            return i + first_flagged(s + i, m, special);
    }
    return len;
}

size_t mp_json_plain_len(const char *s, size_t len)
{
    return first_special(s, len, json_special_mask, json_special);
}

size_t mp_ascii_printable_len(const char *s, size_t len)
{
    return first_special(s, len, mp_swar_unprintable, unprintable);
}

size_t mp_utf8_chars(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            n++;
    return n;
}

static bool is_control(uint32_t c, bool allow_tab_newline)
{
    if (allow_tab_newline && (c == 0x09 || c == 0x0a))
        return false;
    return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/* Characters that change the direction of, or hide, the text around them. */
static bool is_bidi_or_invisible(uint32_t c)
{
    return c == 0x061c || (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
           (c >= 0x2060 && c <= 0x2064) || (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

bool mp_text_check(const char *str, size_t len, mp_text_kind_t kind)
{
    const unsigned char *s = (const unsigned char *)str;
    static const unsigned char lead_mask[5] = {0, 0x7f, 0x1f, 0x0f, 0x07};
    size_t i = 0;

    while (i < len) {
        /* Printable ASCII is allowed in every kind: skipped a word at a time. */
        i += mp_ascii_printable_len(str + i, len - i);
        if (i == len)
            break;
        /* The input is valid UTF-8: the lead byte gives the length. */
        size_t n = s[i] < 0x80 ? 1 : s[i] < 0xe0 ? 2 : s[i] < 0xf0 ? 3 : 4;
        if (n > len - i)
            return false;
        uint32_t c = s[i] & lead_mask[n];
        for (size_t k = 1; k < n; k++)
            c = (c << 6) | (s[i + k] & 0x3f);
        i += n;
        if (kind == MP_TEXT_MESSAGE && is_control(c, true))
            return false;
        if (kind == MP_TEXT_NAME && (is_control(c, false) || is_bidi_or_invisible(c)))
            return false;
    }
    return true;
}

static bool has_range(const mp_field_t *f)
{
    return f->min != 0 || f->max != 0;
}

/* max < min means "no upper bound" (e.g. {min = 1, max = 0}: at least 1). */
static bool in_range(const mp_field_t *f, int64_t v)
{
    if (!has_range(f))
        return true;
    if (v < f->min)
        return false;
    return f->max < f->min || v <= f->max;
}

/* Writes " of 1 to 4096 <unit>", " of at least 1 <unit>" or "" into buf. */
static void describe_range(const mp_field_t *f, const char *unit, char *buf, size_t len)
{
    if (!has_range(f))
        buf[0] = '\0';
    else if (f->max < f->min)
        snprintf(buf, len, " of at least %lld %s", (long long)f->min, unit);
    else
        snprintf(buf, len, " of %lld to %lld %s", (long long)f->min, (long long)f->max, unit);
}

static mp_err_t fail(char *msg, size_t msglen, const char *fmt, const char *name, const char *range)
{
    if (msg != NULL && msglen > 0)
        snprintf(msg, msglen, fmt, name, range);
    return MP_ERR_BAD_REQUEST;
}

static mp_err_t check_string(const mp_field_t *f, const json_t *v, char *msg, size_t msglen)
{
    char range[96];
    describe_range(f, "characters", range, sizeof range);
    const char *fmt = "field '%s' must be a string%s";
    if (!json_is_string(v))
        return fail(msg, msglen, fmt, f->name, range);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    /* jansson allows "\u0000" inside strings; C code downstream would silently
     * truncate such a string, so it is refused here. */
    if (memchr(s, '\0', len) != NULL || !mp_utf8_valid(s, len))
        return fail(msg, msglen, "field '%s' must be valid UTF-8 text without NUL%s", f->name, "");
    if (!in_range(f, (int64_t)mp_utf8_chars(s, len)))
        return fail(msg, msglen, fmt, f->name, range);
    return MP_OK;
}

static mp_err_t check_text(const mp_field_t *f, const json_t *v, char *msg, size_t msglen)
{
    mp_err_t rc = check_string(f, v, msg, msglen);
    if (rc != MP_OK)
        return rc;
    if (!mp_text_check(json_string_value(v), json_string_length(v), MP_TEXT_MESSAGE))
        return fail(msg, msglen,
                    "field '%s' must not contain control characters (tab and newline are "
                    "allowed)%s",
                    f->name, "");
    return MP_OK;
}

static mp_err_t check_ascii(const mp_field_t *f, const json_t *v, char *msg, size_t msglen)
{
    char range[96];
    describe_range(f, "printable ASCII characters", range, sizeof range);
    const char *fmt = has_range(f) ? "field '%s' must be a string%s"
                                   : "field '%s' must be a string of printable ASCII%s";
    if (!json_is_string(v))
        return fail(msg, msglen, fmt, f->name, range);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (mp_ascii_printable_len(s, len) != len)
        return fail(msg, msglen, fmt, f->name, range);
    if (len > INT64_MAX || !in_range(f, (int64_t)len))
        return fail(msg, msglen, fmt, f->name, range);
    return MP_OK;
}

static mp_err_t check_int(const mp_field_t *f, const json_t *v, char *msg, size_t msglen)
{
    char range[96] = "";
    if (has_range(f) && f->max < f->min)
        snprintf(range, sizeof range, " of at least %lld", (long long)f->min);
    else if (has_range(f))
        snprintf(range, sizeof range, " from %lld to %lld", (long long)f->min, (long long)f->max);
    if (!json_is_integer(v) || !in_range(f, (int64_t)json_integer_value(v)))
        return fail(msg, msglen, "field '%s' must be an integer%s", f->name, range);
    return MP_OK;
}

static mp_err_t check_id(const mp_field_t *f, const json_t *v, char *msg, size_t msglen)
{
    uint64_t id;
    if (!json_is_string(v) || memchr(json_string_value(v), '\0', json_string_length(v)) ||
        !mp_id_parse(json_string_value(v), &id))
        return fail(msg, msglen, "field '%s' must be an id (a decimal string)%s", f->name, "");
    return MP_OK;
}

static mp_err_t check_array(const mp_field_t *f, const json_t *v, char *msg, size_t msglen)
{
    char range[96];
    describe_range(f, "elements", range, sizeof range);
    if (!json_is_array(v) || !in_range(f, (int64_t)json_array_size(v)))
        return fail(msg, msglen, "field '%s' must be an array%s", f->name, range);
    return MP_OK;
}

static mp_err_t check_field(const mp_field_t *f, const json_t *v, char *msg, size_t msglen)
{
    switch (f->type) {
    case MP_F_STRING:
        return check_string(f, v, msg, msglen);
    case MP_F_ASCII:
        return check_ascii(f, v, msg, msglen);
    case MP_F_INT:
        return check_int(f, v, msg, msglen);
    case MP_F_BOOL:
        if (!json_is_boolean(v))
            return fail(msg, msglen, "field '%s' must be true or false%s", f->name, "");
        return MP_OK;
    case MP_F_ID:
        return check_id(f, v, msg, msglen);
    case MP_F_OBJECT:
        if (!json_is_object(v))
            return fail(msg, msglen, "field '%s' must be an object%s", f->name, "");
        return MP_OK;
    case MP_F_ARRAY:
        return check_array(f, v, msg, msglen);
    case MP_F_TEXT:
        return check_text(f, v, msg, msglen);
    }
    return fail(msg, msglen, "field '%s' has an unknown type in the server's table%s", f->name, "");
}

mp_err_t mp_validate(const json_t *obj, const mp_field_t *fields, char *msg, size_t msglen)
{
    if (!json_is_object(obj))
        return fail(msg, msglen, "the request must be a JSON object%s%s", "", "");
    for (const mp_field_t *f = fields; f != NULL && f->name != NULL; f++) {
        /* JSON null counts as absent: clients often send "field": null for
         * "not given". */
        const json_t *v = json_object_get(obj, f->name);
        if (v == NULL || json_is_null(v)) {
            if (f->required)
                return fail(msg, msglen, "field '%s' is required%s", f->name, "");
            continue;
        }
        mp_err_t rc = check_field(f, v, msg, msglen);
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}
