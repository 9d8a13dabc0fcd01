/* One pass over the frame's bytes; every "not this shape" is a plain false
 * (see sendscan.h: the general path answers those frames). */
#include "proto/sendscan.h"

#include <string.h>

#include "proto/validate.h"
#include "util/id.h"

/* The members, one bit each: each may come once. */
enum {
    M_ID = 1 << 0,
    M_TYPE = 1 << 1,
    M_CMID = 1 << 2,
    M_TEXT = 1 << 3,
    M_CONV = 1 << 4,
    M_TO = 1 << 5,
};

typedef struct cursor {
    const char *p, *end;
} cursor_t;

/* JSON's whitespace, as jansson skips it. */
static void skip_ws(cursor_t *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool take(cursor_t *c, char ch)
{
    skip_ws(c);
    if (c->p == c->end || *c->p != ch)
        return false;
    c->p++;
    return true;
}

/* A string whose bytes are its value: no escape sequence, and no control
 * byte (which JSON refuses unescaped). */
static bool plain_string(cursor_t *c, const char **s, size_t *len)
{
    if (!take(c, '"'))
        return false;
    const char *start = c->p;
    c->p += mp_json_plain_len(c->p, (size_t)(c->end - c->p));
    if (c->p == c->end || *c->p != '"')
        return false; /* the end, an escape or a control byte */
    *s = start;
    *len = (size_t)(c->p - start);
    c->p++;
    return true;
}

/* A JSON integer in jansson's range (json_int_t, 64 bits): -?(0|[1-9][0-9]*)
 * not followed by a fraction or an exponent, which would make it a real. */
static bool integer(cursor_t *c, int64_t *out)
{
    skip_ws(c);
    bool neg = c->p < c->end && *c->p == '-';
    if (neg)
        c->p++;
    const char *start = c->p;
    uint64_t v = 0;
    for (; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++) {
        unsigned d = (unsigned)(*c->p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    size_t digits = (size_t)(c->p - start);
    if (digits == 0 || (digits > 1 && *start == '0'))
        return false;
    if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E'))
        return false;
    if (v > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        return false;
    *out = !neg ? (int64_t)v : v == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)v;
    return true;
}

static bool id_string(cursor_t *c, uint64_t *out)
{
    const char *s;
    size_t len;
    return plain_string(c, &s, &len) && mp_id_parse_n(s, len, out);
}

/* The field table's MP_F_ASCII check, 1..max bytes. */
static bool cmid_ok(const char *s, size_t len, size_t max)
{
    return len > 0 && len <= max && mp_ascii_printable_len(s, len) == len;
}

/* The field table's MP_F_TEXT check, and kind text's "not empty". */
static bool text_ok(const char *s, size_t len, size_t max_chars)
{
    if (len == 0 || !mp_utf8_valid(s, len))
        return false;
    /* A character is at least one byte: short texts skip the count. */
    if (len > max_chars && mp_utf8_chars(s, len) > max_chars)
        return false;
    return mp_text_check(s, len, MP_TEXT_MESSAGE);
}

/* Which member the key names: one of M_*, or 0. */
static unsigned member_of(const char *k, size_t len)
{
    switch (len) {
    case 2:
        return memcmp(k, "id", 2) == 0 ? M_ID : memcmp(k, "to", 2) == 0 ? M_TO : 0;
    case 4:
        return memcmp(k, "type", 4) == 0 ? M_TYPE : memcmp(k, "text", 4) == 0 ? M_TEXT : 0;
    case 12:
        return memcmp(k, "conversation", 12) == 0 ? M_CONV : 0;
    case 13:
        return memcmp(k, "client_msg_id", 13) == 0 ? M_CMID : 0;
    default:
        return 0;
    }
}

/* Reads the value of member `which`; false when it is not what we read. */
static bool member_value(cursor_t *c, unsigned which, size_t cmid_max, size_t text_max_chars,
                         mp_sendscan_t *out)
{
    const char *s;
    size_t len;
    switch (which) {
    case M_ID:
        return integer(c, &out->id);
    case M_TYPE:
        return plain_string(c, &s, &len) && len == 4 && memcmp(s, "send", 4) == 0;
    case M_CMID:
        if (!plain_string(c, &out->cmid, &out->cmid_len))
            return false;
        return cmid_ok(out->cmid, out->cmid_len, cmid_max);
    case M_TEXT:
        if (!plain_string(c, &out->text, &out->text_len))
            return false;
        return text_ok(out->text, out->text_len, text_max_chars);
    case M_CONV:
        return id_string(c, &out->conversation);
    case M_TO:
        return id_string(c, &out->to);
    default:
        return false;
    }
}

bool mp_sendscan(const char *m, size_t n, size_t cmid_max, size_t text_max_chars,
                 mp_sendscan_t *out)
{
    cursor_t c = {m, m + n};
    unsigned seen = 0;
    memset(out, 0, sizeof *out);
    if (!take(&c, '{'))
        return false;
    do {
        const char *k;
        size_t klen;
        if (!plain_string(&c, &k, &klen) || !take(&c, ':'))
            return false;
        unsigned which = member_of(k, klen);
        if (which == 0 || (seen & which) != 0)
            return false;
        seen |= which;
        if (!member_value(&c, which, cmid_max, text_max_chars, out))
            return false;
    } while (take(&c, ','));
    if (!take(&c, '}'))
        return false;
    skip_ws(&c);
    unsigned need = M_ID | M_TYPE | M_CMID | M_TEXT;
    return c.p == c.end && (seen & need) == need &&
           ((seen & M_CONV) != 0) + ((seen & M_TO) != 0) == 1;
}
