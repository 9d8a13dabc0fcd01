/* The snippet of a search hit, cut from the store's marked text (matches
 * wrapped in MP_SEARCH_MARK_ON / MP_SEARCH_MARK_OFF). Pure: no module state,
 * unit-tested in tests/unit/chat/test_snippet.c. Positions count Unicode
 * code points, as every length of the protocol does, so a client can slice
 * its own string with them. */
#include <assert.h>
#include <string.h>

#include "chat/chat_int.h"
#include "store/messages.h"
#include "util/alloc.h"

/* Characters of context shown before the first match when the text is
 * longer than the window: enough to read the words that lead to it (a
 * third of a smaller window, so that the match stays in it). */
#define SNIPPET_LEAD 20

static const char ELLIPSIS[] = "\xe2\x80\xa6"; /* U+2026 */

/* The text without marks, the byte offset of each character (and of the
 * end), and the match ranges in characters. */
typedef struct clean {
    char *text;
    size_t *off; /* n + 1 entries */
    size_t n;
    mp_chat_hl_t *ranges;
    size_t n_ranges;
} clean_t;

static void clean_parse(const char *marked, clean_t *c)
{
    size_t len = strlen(marked);
    c->text = mp_malloc(len + 1);
    c->off = mp_malloc((len + 1) * sizeof *c->off);
    c->ranges = mp_malloc((len / 2 + 1) * sizeof *c->ranges);
    c->n = c->n_ranges = 0;
    size_t out = 0;
    bool open = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)marked[i];
        if (b == (unsigned char)MP_SEARCH_MARK_ON) {
            if (!open)
                c->ranges[c->n_ranges] = (mp_chat_hl_t){c->n, 0};
            open = true;
            continue;
        }
        if (b == (unsigned char)MP_SEARCH_MARK_OFF) {
            if (open)
                c->ranges[c->n_ranges].len = c->n - c->ranges[c->n_ranges].start;
            c->n_ranges += open && c->ranges[c->n_ranges].len > 0;
            open = false;
            continue;
        }
        if ((b & 0xc0) != 0x80) /* the first byte of a character */
            c->off[c->n++] = out;
        c->text[out++] = (char)b;
    }
    if (open) { /* an unclosed mark runs to the end */
        c->ranges[c->n_ranges].len = c->n - c->ranges[c->n_ranges].start;
        c->n_ranges += c->ranges[c->n_ranges].len > 0;
    }
    c->text[out] = '\0';
    c->off[c->n] = out;
}

char *mp_chat__snippet(const char *marked, size_t window, mp_chat_hl_t *hl, size_t max_hl,
                       size_t *n_hl)
{
    assert(window > 0);
    clean_t c;
    clean_parse(marked != NULL ? marked : "", &c);
    size_t first = c.n_ranges > 0 ? c.ranges[0].start : 0;
    size_t start = 0, end = c.n;
    if (c.n > window) {
        size_t lead = window / 3 < SNIPPET_LEAD ? window / 3 : SNIPPET_LEAD;
        start = first > lead ? first - lead : 0;
        end = start + window < c.n ? start + window : c.n;
        start = end - window; /* near the end: show a full window */
    }
    bool cut_head = start > 0, cut_tail = end < c.n;
    size_t body = c.off[end] - c.off[start];
    char *s = mp_malloc(body + 2 * (sizeof ELLIPSIS - 1) + 1), *p = s;
    if (cut_head) {
        memcpy(p, ELLIPSIS, sizeof ELLIPSIS - 1);
        p += sizeof ELLIPSIS - 1;
    }
    memcpy(p, c.text + c.off[start], body);
    p += body;
    if (cut_tail) {
        memcpy(p, ELLIPSIS, sizeof ELLIPSIS - 1);
        p += sizeof ELLIPSIS - 1;
    }
    *p = '\0';
    *n_hl = 0;
    for (size_t i = 0; i < c.n_ranges && *n_hl < max_hl; i++) {
        size_t a = c.ranges[i].start, b = a + c.ranges[i].len;
        if (b <= start || a >= end)
            continue; /* outside the window */
        a = a < start ? start : a;
        b = b > end ? end : b;
        hl[(*n_hl)++] = (mp_chat_hl_t){a - start + (cut_head ? 1 : 0), b - a};
    }
    mp_free(c.text);
    mp_free(c.off);
    mp_free(c.ranges);
    return s;
}
