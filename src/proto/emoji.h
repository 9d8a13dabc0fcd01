/* Reaction emoji: one emoji, not arbitrary text. */
#ifndef MP_PROTO_EMOJI_H
#define MP_PROTO_EMOJI_H

#include <stdbool.h>
#include <stddef.h>

#define MP_EMOJI_MAX_BYTES 32

/* True when s[0..len) (UTF-8) is exactly one grapheme cluster of at most
 * MP_EMOJI_MAX_BYTES bytes that Unicode lists as an emoji (an RGI emoji:
 * single characters, keycaps, flags, modifier and ZWJ sequences; via ICU's
 * UCHAR_RGI_EMOJI), also accepting a lone emoji character followed by
 * VS16. Everything else — letters, two emoji, an emoji with text — is
 * false. Thread-safe. */
bool mp_emoji_valid(const char *s, size_t len);

#endif
