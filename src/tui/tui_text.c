/* Text for the terminal: widths in cells, and wrapping and truncating by
 * width rather than by bytes, on the UTF-8 decoding of remote.h (malformed
 * input never stops the display). */
#include <assert.h>
#include <string.h>
#include <wchar.h>

#include "tui/tui_int.h"

int mp_tui__wcwidth(uint32_t cp)
{
    int w = wcwidth((wchar_t)cp);
    /* An unprintable character is drawn as one replacement cell. */
    if (w < 0)
        return 1;
    return w > 2 ? 2 : w;
}

int mp_tui__width(const char *s, size_t len)
{
    int w = 0;
    for (size_t i = 0; i < len;) {
        uint32_t wc;
        i += mpr_utf8_next(s + i, len - i, &wc);
        w += mp_tui__wcwidth(wc);
    }
    return w;
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
        uint32_t wc;
        size_t k = mpr_utf8_next(text + i, len - i, &wc);
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
        uint32_t wc;
        size_t k = mpr_utf8_next(s + i, len - i, &wc);
        int cw = mp_tui__wcwidth(wc);
        if (w + cw > width - ew || o + k + sizeof ell > cap)
            break;
        memcpy(out + o, s + i, k);
        o += k, i += k, w += cw;
    }
    memcpy(out + o, ell, sizeof ell);
    return w + ew;
}
