/* The scanner of the hot frame: recognises the plain text `send` frame
 *
 *   {"id":7,"type":"send","conversation":"123","client_msg_id":"m1","text":"hi"}
 *
 * ("to" instead of "conversation"; members in any order; JSON whitespace
 * between tokens) straight from the frame's bytes, without building a JSON
 * tree: that tree, its strings and its hash table were the largest part of
 * a send's cost on the loop thread.
 *
 * It only ever accepts. Anything it does not recognise — another member, a
 * duplicate one, a null, an escape sequence in a string, a number with a
 * fraction or exponent, a value the send verb's field table (or its shape
 * check) would refuse, trailing bytes — answers false, and the caller parses
 * the frame with jansson and validates it as before, which gives every
 * refusal its usual error. So a frame the scanner accepts is one the general
 * path accepts with the same values; tests/fuzz/fuzz_sendscan.c holds it to
 * that against jansson and mp_validate. */
#ifndef MP_PROTO_SENDSCAN_H
#define MP_PROTO_SENDSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a recognised frame says. The strings point into the frame (not NUL
 * terminated) and are what jansson would have decoded: they hold no escape
 * sequence, so their bytes are their value. */
typedef struct mp_sendscan {
    int64_t id;            /* the request id: any JSON integer jansson reads */
    uint64_t conversation; /* exactly one of conversation and to is non-zero */
    uint64_t to;
    const char *cmid; /* client_msg_id: 1..cmid_max bytes of printable ASCII */
    size_t cmid_len;
    const char *text; /* 1..text_max_chars characters of valid UTF-8 that */
    size_t text_len;  /* mp_text_check(MP_TEXT_MESSAGE) accepts */
} mp_sendscan_t;

/* True when m[0..n) is the frame above with members id, type ("send"),
 * client_msg_id, text and exactly one of conversation / to, each once and
 * nothing else, and values within the limits (the send verb's field table:
 * MP_CHAT_CMID_MAX, MP_CHAT_TEXT_MAX_CHARS); *out is then filled. False
 * otherwise, *out unspecified. m need not be valid UTF-8 (a text that is not
 * answers false). */
bool mp_sendscan(const char *m, size_t n, size_t cmid_max, size_t text_max_chars,
                 mp_sendscan_t *out);

#endif
