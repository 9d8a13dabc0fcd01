/* Text for the terminal: decoding UTF-8 by hand (so that malformed input
 * never stops the display), widths in cells, making text safe to show, and
 * wrapping and truncating by width rather than by bytes. */
#include <assert.h>
#include <string.h>
#include <wchar.h>

#include "tui/tui_int.h"
#include "util/alloc.h"

#define REPLACEMENT 0xFFFD

size_t mp_tui__utf8_next(const char *s, size_t n, wchar_t *wc)
{
    assert(n > 0);
    const unsigned char *u = (const unsigned char *)s;
    unsigned c = u[0];
    size_t need;
    unsigned min;
    if (c < 0x80) {
        *wc = (wchar_t)c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        need = 2, min = 0x80, c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3, min = 0x800, c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4, min = 0x10000, c &= 0x07;
    } else {
        *wc = REPLACEMENT;
        return 1;
    }
    if (n < need) {
        *wc = REPLACEMENT;
        return 1;
    }
    for (size_t i = 1; i < need; i++) {
        if ((u[i] & 0xC0) != 0x80) {
            *wc = REPLACEMENT;
            return 1;
        }
        c = (c << 6) | (u[i] & 0x3F);
    }
    /* overlong forms, surrogates and values past U+10FFFF are malformed */
    if (c < min || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) {
        *wc = REPLACEMENT;
        return 1;
    }
    *wc = (wchar_t)c;
    return need;
}

int mp_tui__wcwidth(wchar_t wc)
{
    int w = wcwidth(wc);
    /* An unprintable character is drawn as one replacement cell. */
    if (w < 0)
        return 1;
    return w > 2 ? 2 : w;
}

int mp_tui__width(const char *s, size_t len)
{
    int w = 0;
    for (size_t i = 0; i < len;) {
        wchar_t wc;
        i += mp_tui__utf8_next(s + i, len - i, &wc);
        w += mp_tui__wcwidth(wc);
    }
    return w;
}

/* Characters that change how the terminal or the text around them behaves:
 * controls, and the bidirectional embeddings, overrides and isolates that
 * could make a line read differently from its bytes. */
static bool is_unsafe(wchar_t wc)
{
    return wc < 0x20 || (wc >= 0x7F && wc <= 0x9F) || (wc >= 0x202A && wc <= 0x202E) ||
           (wc >= 0x2066 && wc <= 0x2069) || wc == 0x2028 || wc == 0x2029;
}

size_t mp_tui__utf8_put(char *out, wchar_t wc)
{
    unsigned c = (unsigned)wc;
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    } else if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    } else if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

char *mp_tui__sanitize(const char *s, bool keep_newlines)
{
    size_t n = strlen(s);
    /* every input byte becomes at most 3 output bytes (U+FFFD) */
    char *out = mp_malloc(n * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        wchar_t wc;
        i += mp_tui__utf8_next(s + i, n - i, &wc);
        if (wc == '\t' || (wc == '\n' && !keep_newlines))
            wc = ' ';
        else if (wc != '\n' && is_unsafe(wc))
            wc = REPLACEMENT;
        o += mp_tui__utf8_put(out + o, wc);
    }
    out[o] = '\0';
    return out;
}

static void span_put(mp_tui_span_t *out, size_t max, size_t n, size_t off, size_t len, int width)
{
    if (n < max)
        out[n] = (mp_tui_span_t){.off = off, .len = len, .width = width};
}

size_t mp_tui__wrap(const char *text, int first, int rest, mp_tui_span_t *out, size_t max)
{
    assert(first >= 2 && rest >= 2);
    size_t n = 0, len = strlen(text);
    size_t start = 0;
    int w = 0;
    /* the last break opportunity on the current line: after a space */
    size_t brk = 0;
    int brk_w = 0;
    for (size_t i = 0; i < len;) {
        int limit = n == 0 ? first : rest;
        wchar_t wc;
        size_t k = mp_tui__utf8_next(text + i, len - i, &wc);
        if (wc == '\n') {
            span_put(out, max, n++, start, i - start, w);
            i += k;
            start = i, w = 0, brk = 0;
            continue;
        }
        int cw = mp_tui__wcwidth(wc);
        if (w + cw > limit && i > start) {
            if (brk > start) {
                /* break after the last space; what follows moves down */
                span_put(out, max, n++, start, brk - start, brk_w);
                w -= brk_w;
                start = brk;
            } else {
                span_put(out, max, n++, start, i - start, w);
                start = i, w = 0;
            }
            brk = 0;
            continue; /* measure this character again against the new line */
        }
        w += cw;
        i += k;
        if (wc == ' ')
            brk = i, brk_w = w;
    }
    span_put(out, max, n++, start, len - start, w);
    return n;
}

int mp_tui__truncate(const char *s, int width, char *out, size_t cap)
{
    assert(cap > 0);
    size_t len = strlen(s);
    if (width <= 0) {
        out[0] = '\0';
        return 0;
    }
    if (mp_tui__width(s, len) <= width && len < cap) {
        memcpy(out, s, len + 1);
        return mp_tui__width(s, len);
    }
    static const char ell[] = "\xE2\x80\xA6"; /* … */
    int ew = mp_tui__width(ell, sizeof ell - 1);
    size_t o = 0;
    int w = 0;
    for (size_t i = 0; i < len;) {
        wchar_t wc;
        size_t k = mp_tui__utf8_next(s + i, len - i, &wc);
        int cw = mp_tui__wcwidth(wc);
        if (w + cw > width - ew || o + k + sizeof ell > cap)
            break;
        memcpy(out + o, s + i, k);
        o += k, i += k, w += cw;
    }
    memcpy(out + o, ell, sizeof ell);
    return w + ew;
}
