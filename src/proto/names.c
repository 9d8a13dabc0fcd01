/* The username and display-name rules of proto/names.h. */
#include "proto/names.h"

#include <stdint.h>
#include <string.h>

#include "proto/validate.h"

mp_err_t mp_name_username_norm(const char *in, size_t len, char *out)
{
    if (len < MP_NAME_USERNAME_MIN || len > MP_NAME_USERNAME_MAX)
        return MP_ERR_BAD_USERNAME;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return MP_ERR_BAD_USERNAME;
        out[i] = c;
    }
    out[len] = '\0';
    return MP_OK;
}

/* Decodes one code point of valid UTF-8 at s (n bytes left); returns its length. */
static size_t mp_name__utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len = s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
    if (len > n) {
        *cp = 0xfffd;
        return n;
    }
    static const unsigned char lead_mask[5] = {0, 0x7f, 0x1f, 0x0f, 0x07};
    uint32_t c = s[0] & lead_mask[len];
    for (size_t i = 1; i < len; i++)
        c = (c << 6) | (s[i] & 0x3f);
    *cp = c;
    return len;
}

static bool mp_name__is_space(uint32_t c)
{
    return c == 0x20 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 ||
           c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000 || c == 0xfeff ||
           (c >= 0x09 && c <= 0x0d) || c == 0x85;
}

bool mp_name_label_clean(const char *in, size_t len, char *out, size_t outlen)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t start = 0, end = 0, chars = 0, pos = 0;
    bool seen = false;

    /* One pass: [start, end) spans first to last non-space character. */
    while (pos < len) {
        uint32_t c;
        size_t n = mp_name__utf8_next(s + pos, len - pos, &c);
        if (!mp_name__is_space(c)) {
            if (!seen)
                start = pos;
            seen = true;
            end = pos + n;
        }
        pos += n;
    }
    if (!seen || end - start + 1 > outlen)
        return false;
    for (pos = start; pos < end;) {
        uint32_t c;
        pos += mp_name__utf8_next(s + pos, end - pos, &c);
        if (++chars > MP_NAME_LABEL_MAX_CHARS)
            return false;
    }
    /* Controls, bidi overrides and invisible characters (the list is in
     * validate.h): a name must look like what it is. */
    if (!mp_text_check(in + start, end - start, MP_TEXT_NAME))
        return false;
    memcpy(out, in + start, end - start);
    out[end - start] = '\0';
    return true;
}
