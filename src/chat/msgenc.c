/* The `message` event and the `send` ack written straight into bytes; see
 * msgenc.h for why and for what it covers. Every choice below copies what
 * jansson 2.x does under JSON_COMPACT (the only flag net/frame.c uses):
 * keys in insertion order, no spaces, integers as "%lld", strings escaped
 * for '"', '\\' and the control characters only (the short forms \b \f \n
 * \r \t, else \u00XX in upper case), '/' and non-ASCII UTF-8 as they are. */
#include <string.h>

#include "chat/chat_int.h"
#include "chat/msgenc.h"
#include "proto/validate.h"
#include "util/alloc.h"
#include "util/assert.h"

void mp_msgenc_init(mp_msgenc_t *e)
{
    e->buf = e->local;
    e->len = 0;
    e->cap = sizeof e->local;
}

void mp_msgenc_free(mp_msgenc_t *e)
{
    if (e->buf != e->local)
        mp_free(e->buf);
    mp_msgenc_init(e);
}

/* The buffer doubled until n more bytes fit. Kept out of line (the
 * attribute is GNU C, which gcc and clang both take): inlined, it made
 * every small write below save and restore six registers, 10 % of the
 * loop thread's instructions per message. */
__attribute__((noinline)) static void grow(mp_msgenc_t *e, size_t n)
{
    size_t cap = e->cap * 2;
    while (cap - e->len < n)
        cap *= 2;
    char *p = mp_malloc(cap);
    memcpy(p, e->buf, e->len);
    if (e->buf != e->local)
        mp_free(e->buf);
    e->buf = p;
    e->cap = cap;
}

/* Room for n more bytes; the writers below check once per piece, then
 * write without checks. */
static inline char *reserve(mp_msgenc_t *e, size_t n)
{
    if (e->cap - e->len < n)
        grow(e, n);
    return e->buf + e->len;
}

static inline void put(mp_msgenc_t *e, const char *s, size_t n)
{
    memcpy(reserve(e, n), s, n);
    e->len += n;
}

/* Literal pieces (keys with their quotes and colon) without a strlen. */
#define PUT_LIT(e, lit) put((e), (lit), sizeof(lit) - 1)

/* Two digits per step: a message's frames carry a dozen ids of 18-19
 * digits each. */
static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                            "25262728293031323334353637383940414243444546474849"
                            "50515253545556575859606162636465666768697071727374"
                            "75767778798081828384858687888990919293949596979899";

/* The two digits of n < 100 at p. */
static inline void put2(char *p, uint32_t n)
{
    memcpy(p, pairs + 2 * n, 2);
}

/* Exactly eight digits of n < 10^8 at p, leading zeros kept. */
static inline void put8(char *p, uint32_t n)
{
    uint32_t hi = n / 10000, lo = n % 10000;
    put2(p, hi / 100);
    put2(p + 2, hi % 100);
    put2(p + 4, lo / 100);
    put2(p + 6, lo % 100);
}

/* Ids are 19 digits: eight at a time in 32-bit arithmetic, from the end,
 * then two at a time. */
static void put_u64(mp_msgenc_t *e, uint64_t v)
{
    char tmp[20];
    char *p = tmp + sizeof tmp;
    while (v >= 100000000) {
        p -= 8;
        put8(p, (uint32_t)(v % 100000000));
        v /= 100000000;
    }
    uint32_t s = (uint32_t)v;
    while (s >= 100) {
        p -= 2;
        put2(p, s % 100);
        s /= 100;
    }
    if (s >= 10) {
        p -= 2;
        put2(p, s);
    } else {
        *--p = (char)('0' + s);
    }
    put(e, p, (size_t)(tmp + sizeof tmp - p));
}

/* A json_integer: signed, as jansson prints json_int_t. */
static void put_i64(mp_msgenc_t *e, int64_t v)
{
    if (v < 0) {
        PUT_LIT(e, "-");
        put_u64(e, (uint64_t)0 - (uint64_t)v); /* INT64_MIN too */
        return;
    }
    put_u64(e, (uint64_t)v);
}

/* An id: a JSON string of the decimal (mp_id_format). */
static void put_id(mp_msgenc_t *e, uint64_t id)
{
    PUT_LIT(e, "\"");
    put_u64(e, id);
    PUT_LIT(e, "\"");
}

/* The escape, under JSON_COMPACT, of one byte that needs one ('"', '\\' or
 * a control character: mp_json_plain_len stops at it), at p; returns the
 * end. Bytes of multi-byte UTF-8 are all >= 0x80 and go as they are. */
static char *put_escape(char *p, unsigned char c)
{
    static const char hex[] = "0123456789ABCDEF";
    *p++ = '\\';
    switch (c) {
    case '"':
    case '\\':
        *p++ = (char)c;
        return p;
    case '\b':
        *p++ = 'b';
        return p;
    case '\f':
        *p++ = 'f';
        return p;
    case '\n':
        *p++ = 'n';
        return p;
    case '\r':
        *p++ = 'r';
        return p;
    case '\t':
        *p++ = 't';
        return p;
    default:
        memcpy(p, "u00", 3);
        p[3] = hex[c >> 4];
        p[4] = hex[c & 0xf];
        return p + 5;
    }
}

/* s is valid UTF-8 (mp_msgenc_covers checked it), so it is copied in runs
 * between the bytes that need an escape. */
static void put_str(mp_msgenc_t *e, const char *s)
{
    size_t n = strlen(s);
    char *out = reserve(e, 2 + 6 * n); /* worst case: every byte \u00XX */
    char *p = out;
    *p++ = '"';
    for (size_t i = 0; i < n; i++) {
        size_t run = i + mp_json_plain_len(s + i, n - i);
        memcpy(p, s + i, run - i);
        p += run - i;
        if (run == n)
            break;
        p = put_escape(p, (unsigned char)s[run]);
        i = run;
    }
    *p++ = '"';
    e->len += (size_t)(p - out);
}

static bool utf8_ok(const char *s)
{
    return s == NULL || mp_utf8_valid(s, strlen(s));
}

bool mp_msgenc_covers(const mp_msg_row_t *m)
{
    /* Tombstones, content, loaded reactions and system records keep the
     * jansson path: each needs parsing or rendering the tree does anyway. */
    if (m->deleted_at != 0 || m->content != NULL || (m->reactions != NULL && m->n_reactions > 0))
        return false;
    if (m->kind != NULL && strcmp(m->kind, "system") == 0)
        return false;
    if (!utf8_ok(m->kind) || !utf8_ok(m->text) || !utf8_ok(m->client_msg_id))
        return false;
    return m->reply_to == 0 || m->quote_deleted ||
           (utf8_ok(m->quote_kind) && utf8_ok(m->quote_text));
}

/* The snapshot of a quoted message, as set_reply_to in events.c. */
static void put_reply_to(mp_msgenc_t *e, const mp_msg_row_t *m)
{
    PUT_LIT(e, ",\"reply_to\":{\"message_id\":");
    put_id(e, m->reply_to);
    if (m->quote_deleted) {
        PUT_LIT(e, ",\"deleted\":true}");
        return;
    }
    PUT_LIT(e, ",\"sender\":");
    put_id(e, m->quote_sender);
    PUT_LIT(e, ",\"kind\":");
    put_str(e, m->quote_kind ? m->quote_kind : "text");
    PUT_LIT(e, ",\"text\":");
    put_str(e, m->quote_text ? m->quote_text : "");
    PUT_LIT(e, "}");
}

static void put_mentions(mp_msgenc_t *e, const mp_msg_row_t *m)
{
    uint64_t ids[MP_CHAT_MENTIONS_MAX];
    size_t n = mp_chat__mentions_parse(m->mentions, ids, MP_CHAT_MENTIONS_MAX);
    for (size_t i = 0; i < n; i++) {
        if (i == 0)
            PUT_LIT(e, ",\"mentions\":[");
        else
            PUT_LIT(e, ",");
        put_id(e, ids[i]);
    }
    if (n > 0)
        PUT_LIT(e, "]");
    if (m->mention_all)
        PUT_LIT(e, ",\"mention_all\":true");
}

/* Where the message object carries the client_msg_id: nowhere (what other
 * members get), after created_at (mp_chat__msg_json with with_cmid: every
 * reply that lists messages), or last (mp_chat__frames_own appends it to the
 * plain event's object). */
typedef enum { CMID_NONE, CMID_AFTER_CREATED, CMID_LAST } cmid_at_t;

static void put_cmid(mp_msgenc_t *e, const mp_msg_row_t *m)
{
    if (m->client_msg_id != NULL) {
        PUT_LIT(e, ",\"client_msg_id\":");
        put_str(e, m->client_msg_id);
    }
}

/* The message object, in the key order of mp_chat__msg_json. */
static void put_msg(mp_msgenc_t *e, const mp_msg_row_t *m, bool guest, cmid_at_t cmid)
{
    PUT_LIT(e, "{\"message_id\":");
    put_id(e, m->id);
    PUT_LIT(e, ",\"conversation\":");
    put_id(e, m->conversation_id);
    PUT_LIT(e, ",\"seq\":");
    put_i64(e, m->seq);
    PUT_LIT(e, ",\"sender\":");
    put_id(e, m->sender_id);
    if (m->sender_guest || guest)
        PUT_LIT(e, ",\"sender_guest\":true");
    PUT_LIT(e, ",\"kind\":");
    put_str(e, m->kind ? m->kind : "text");
    PUT_LIT(e, ",\"text\":");
    put_str(e, m->text ? m->text : "");
    PUT_LIT(e, ",\"created_at\":");
    put_i64(e, m->created_at);
    if (cmid == CMID_AFTER_CREATED)
        put_cmid(e, m);
    if (m->reply_to != 0)
        put_reply_to(e, m);
    if (m->fwd_at != 0) {
        PUT_LIT(e, ",\"forwarded_from\":{\"sender\":");
        put_id(e, m->fwd_sender);
        PUT_LIT(e, ",\"created_at\":");
        put_i64(e, m->fwd_at);
        PUT_LIT(e, "}");
    }
    put_mentions(e, m);
    if (m->edited_at != 0) {
        PUT_LIT(e, ",\"edited_at\":");
        put_i64(e, m->edited_at);
    }
    if (m->pinned_at != 0) {
        PUT_LIT(e, ",\"pinned_at\":");
        put_i64(e, m->pinned_at);
        PUT_LIT(e, ",\"pinned_by\":");
        put_id(e, m->pinned_by);
    }
    if (cmid == CMID_LAST)
        put_cmid(e, m);
    PUT_LIT(e, "}");
}

void mp_msgenc_event(mp_msgenc_t *e, const mp_msg_row_t *m, bool guest, mp_msgenc_variant_t v)
{
    MP_ASSERT(mp_msgenc_covers(m));
    PUT_LIT(e, "{\"event\":\"message\",");
    if (guest)
        PUT_LIT(e, "\"sender_guest\":true,");
    PUT_LIT(e, "\"message\":");
    put_msg(e, m, guest, v == MP_MSGENC_OWN ? CMID_LAST : CMID_NONE);
    if (v == MP_MSGENC_MENTION)
        PUT_LIT(e, ",\"mention\":true");
    PUT_LIT(e, "}");
}

void mp_msgenc_ack(mp_msgenc_t *e, int64_t req_id, const mp_msg_row_t *m, bool duplicate)
{
    /* mp_gw_reply's {"id","ok"} first, then the fields of send.c's reply. */
    PUT_LIT(e, "{\"id\":");
    put_i64(e, req_id);
    PUT_LIT(e, ",\"ok\":true,\"message_id\":");
    put_id(e, m->id);
    PUT_LIT(e, ",\"conversation\":");
    put_id(e, m->conversation_id);
    PUT_LIT(e, ",\"seq\":");
    put_i64(e, m->seq);
    PUT_LIT(e, ",\"created_at\":");
    put_i64(e, m->created_at);
    if (duplicate)
        PUT_LIT(e, ",\"duplicate\":true}");
    else
        PUT_LIT(e, ",\"duplicate\":false}");
}

void mp_msgenc_msg(mp_msgenc_t *e, const mp_msg_row_t *m, bool with_cmid)
{
    MP_ASSERT(mp_msgenc_covers(m));
    put_msg(e, m, false, with_cmid ? CMID_AFTER_CREATED : CMID_NONE);
}

void mp_msgenc_json(mp_msgenc_t *e, const json_t *j)
{
    size_t n = json_dumpb(j, NULL, 0, JSON_COMPACT);
    e->len += json_dumpb(j, reserve(e, n), n, JSON_COMPACT);
}

void mp_msgenc_put(mp_msgenc_t *e, const char *s, size_t n)
{
    put(e, s, n);
}

void mp_msgenc_id(mp_msgenc_t *e, uint64_t id)
{
    put_id(e, id);
}

void mp_msgenc_int(mp_msgenc_t *e, int64_t v)
{
    put_i64(e, v);
}
