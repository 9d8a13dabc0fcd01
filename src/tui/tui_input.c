/* The one-line editor under the conversation: UTF-8 text with a cursor that
 * always sits on a character boundary, so Backspace removes a whole
 * character and never half of one. */
#include <assert.h>
#include <string.h>

#include "tui/tui_int.h"

/* The offset of the character before off. UTF-8 continuation bytes are
 * 10xxxxxx; the buffer only ever holds what mp_tui__input_insert wrote. */
static size_t prev_char(const mp_tui_input_t *in, size_t off)
{
    assert(off > 0);
    off--;
    while (off > 0 && ((unsigned char)in->buf[off] & 0xC0) == 0x80)
        off--;
    return off;
}

static size_t next_char(const mp_tui_input_t *in, size_t off)
{
    assert(off < in->len);
    uint32_t wc;
    return off + mpr_utf8_next(in->buf + off, in->len - off, &wc);
}

void mp_tui__input_clear(mp_tui_input_t *in)
{
    in->len = in->cur = 0;
    in->buf[0] = '\0';
}

bool mp_tui__input_insert(mp_tui_input_t *in, uint32_t wc)
{
    if (mpr_unsafe_char(wc) || wc > 0x10FFFF || (wc >= 0xD800 && wc <= 0xDFFF))
        return false;
    /* The text goes on the wire as UTF-8 whatever the locale. */
    char tmp[4];
    size_t k = mpr_utf8_put(tmp, wc);
    if (in->len + k > MP_TUI_INPUT_MAX)
        return false;
    memmove(in->buf + in->cur + k, in->buf + in->cur, in->len - in->cur);
    memcpy(in->buf + in->cur, tmp, k);
    in->len += k;
    in->cur += k;
    in->buf[in->len] = '\0';
    return true;
}

void mp_tui__input_set(mp_tui_input_t *in, const char *text)
{
    mp_tui__input_clear(in);
    size_t n = strlen(text);
    for (size_t i = 0; i < n;) {
        uint32_t wc;
        i += mpr_utf8_next(text + i, n - i, &wc);
        if (!mp_tui__input_insert(in, wc) && in->len + 4 > MP_TUI_INPUT_MAX)
            break;
    }
}

static void cut(mp_tui_input_t *in, size_t from, size_t to)
{
    assert(from <= to && to <= in->len);
    memmove(in->buf + from, in->buf + to, in->len - to);
    in->len -= to - from;
    in->buf[in->len] = '\0';
    in->cur = from;
}

void mp_tui__input_backspace(mp_tui_input_t *in)
{
    if (in->cur > 0)
        cut(in, prev_char(in, in->cur), in->cur);
}

void mp_tui__input_delete(mp_tui_input_t *in)
{
    if (in->cur < in->len)
        cut(in, in->cur, next_char(in, in->cur));
}

void mp_tui__input_left(mp_tui_input_t *in)
{
    if (in->cur > 0)
        in->cur = prev_char(in, in->cur);
}

void mp_tui__input_right(mp_tui_input_t *in)
{
    if (in->cur < in->len)
        in->cur = next_char(in, in->cur);
}

void mp_tui__input_home(mp_tui_input_t *in)
{
    in->cur = 0;
}

void mp_tui__input_end(mp_tui_input_t *in)
{
    in->cur = in->len;
}

void mp_tui__input_kill(mp_tui_input_t *in)
{
    cut(in, 0, in->cur);
}

size_t mp_tui__input_view(const mp_tui_input_t *in, int width)
{
    /* Start at the cursor and walk back while the text before it fits,
     * keeping one cell for the cursor itself. */
    size_t start = in->cur;
    int w = 1;
    while (start > 0) {
        size_t p = prev_char(in, start);
        int cw = mp_tui__width(in->buf + p, start - p);
        if (w + cw > width)
            break;
        w += cw;
        start = p;
    }
    return start;
}
