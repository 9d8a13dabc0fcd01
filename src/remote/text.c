/* Text that comes from the server, made safe to show: UTF-8 decoded by hand
 * (malformed input never stops the display), characters that would drive
 * the terminal or reorder a line replaced, JSON lines whose every control
 * character is escaped. And the pacing of reconnections. */
#include "remote/remote.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util/alloc.h"

#define REPLACEMENT 0xFFFD

size_t mpr_utf8_next(const char *s, size_t n, uint32_t *cp)
{
    assert(n > 0);
    const unsigned char *u = (const unsigned char *)s;
    uint32_t c = u[0];
    size_t need;
    uint32_t min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        need = 2, min = 0x80, c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3, min = 0x800, c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4, min = 0x10000, c &= 0x07;
    } else {
        *cp = REPLACEMENT;
        return 1;
    }
    if (n < need) {
        *cp = REPLACEMENT;
        return 1;
    }
    for (size_t i = 1; i < need; i++) {
        if ((u[i] & 0xC0) != 0x80) {
            *cp = REPLACEMENT;
            return 1;
        }
        c = (c << 6) | (u[i] & 0x3F);
    }
    /* overlong forms, surrogates and values past U+10FFFF are malformed */
    if (c < min || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) {
        *cp = REPLACEMENT;
        return 1;
    }
    *cp = c;
    return need;
}

size_t mpr_utf8_put(char *out, uint32_t c)
{
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

bool mpr_unsafe_char(uint32_t c)
{
    /* C0 and C1 controls and DEL; the bidirectional embeddings, overrides
     * and isolates, and the line/paragraph separators, which can make a
     * line read differently from its bytes. */
    return c < 0x20 || (c >= 0x7F && c <= 0x9F) || (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2066 && c <= 0x2069) || c == 0x2028 || c == 0x2029;
}

char *mpr_clean_text(const char *s, bool keep_newlines)
{
    size_t n = strlen(s);
    /* every input byte becomes at most 3 output bytes (U+FFFD) */
    char *out = mp_malloc(n * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        i += mpr_utf8_next(s + i, n - i, &c);
        if (c == '\t' || (c == '\n' && !keep_newlines))
            c = ' ';
        else if (c != '\n' && mpr_unsafe_char(c))
            c = REPLACEMENT;
        o += mpr_utf8_put(out + o, c);
    }
    out[o] = '\0';
    return out;
}

void mpr_clean_line(const char *s, char *out, size_t cap)
{
    assert(cap > 0);
    char *clean = mpr_clean_text(s != NULL ? s : "", false);
    size_t n = strlen(clean), o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t k = mpr_utf8_next(clean + i, n - i, &c);
        if (o + k >= cap)
            break; /* whole characters only */
        memcpy(out + o, clean + i, k);
        o += k;
        i += k;
    }
    out[o] = '\0';
    mp_free(clean);
}

int mpr_print_json_line(FILE *f, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    if (s == NULL)
        return -1;
    /* jansson escapes C0 controls but writes DEL and C1 controls (U+0080 to
     * U+009F) as they are; inside strings (the only place they can be) an
     * escape means the same and cannot drive a terminal the line reaches. */
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && rc >= 0; p++) {
        if (*p == 0x7F)
            rc = fputs("\\u007f", f);
        else if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
            rc = fprintf(f, "\\u%04x", *++p);
        else
            rc = fputc(*p, f);
    }
    free(s);
    if (rc < 0 || fputc('\n', f) == EOF || fflush(f) == EOF)
        return -1;
    return 0;
}

/* ---- reconnection pacing -------------------------------------------------------- */

int mpr_backoff_next(mpr_backoff_t *b)
{
    int bound = b->next_ms > 0 ? b->next_ms : MPR_BACKOFF_FIRST_MS;
    int max = b->max_ms > 0 ? b->max_ms : MPR_BACKOFF_MAX_MS;
    b->next_ms = bound * 2 > max ? max : bound * 2;
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        r = (uint32_t)time(NULL); /* jitter only: any value will do */
    return bound / 2 + (int)(r % (uint32_t)(bound / 2 + 1));
}

void mpr_backoff_reset(mpr_backoff_t *b)
{
    b->next_ms = 0;
}
