/* Reaction emoji: see proto/emoji.h.
 *
 * ICU's UCHAR_RGI_EMOJI is a property of whole strings: a string has it when
 * it is exactly one of the emoji Unicode recommends for general interchange
 * (emoji-sequences.txt and emoji-zwj-sequences.txt), each of which is one
 * grapheme cluster. Membership therefore already means "one emoji, nothing
 * else", and no break iterator is needed: the check holds no state, so it is
 * thread-safe and costs one UTF-8 to UTF-16 conversion and a set lookup.
 *
 * On top of the RGI set, one lenient form: a single pictographic emoji
 * character followed by VS16 (U+FE0F), which some keyboards add to
 * characters that need none ("👍" + VS16). The digits, '#' and '*' (Emoji=Yes
 * in Unicode, for keycaps) are not pictures and stay refused, with or without
 * VS16, as are lone regional indicators (half a flag) and lone skin-tone
 * modifiers plus VS16. A lone skin-tone modifier by itself is RGI (a basic
 * emoji shown as a colour swatch) and is accepted, as Unicode says. */
#include "proto/emoji.h"

#include <unicode/uchar.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include "proto/validate.h"

#define VS16 0xfe0f

/* A character that is an emoji picture on its own. */
static bool pictographic(UChar32 c)
{
    return u_hasBinaryProperty(c, UCHAR_EMOJI) && c >= 0x80 &&
           !u_hasBinaryProperty(c, UCHAR_REGIONAL_INDICATOR) &&
           !u_hasBinaryProperty(c, UCHAR_EMOJI_MODIFIER) &&
           !u_hasBinaryProperty(c, UCHAR_EMOJI_COMPONENT);
}

/* One character + VS16, the character pictographic. */
static bool emoji_vs16(const UChar *u, int32_t n)
{
    int32_t i = 0;
    UChar32 c;
    U16_NEXT(u, i, n, c);
    return n - i == 1 && u[i] == VS16 && pictographic(c);
}

bool mp_emoji_valid(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > MP_EMOJI_MAX_BYTES || !mp_utf8_valid(s, len))
        return false;
    /* Each UTF-8 byte gives at most one UTF-16 unit. */
    UChar u[MP_EMOJI_MAX_BYTES];
    int32_t n = 0;
    UErrorCode err = U_ZERO_ERROR;
    u_strFromUTF8(u, MP_EMOJI_MAX_BYTES, &n, s, (int32_t)len, &err);
    if (U_FAILURE(err) || n <= 0 || n > MP_EMOJI_MAX_BYTES)
        return false;
    if (u_stringHasBinaryProperty(u, n, UCHAR_RGI_EMOJI))
        return true;
    return emoji_vs16(u, n);
}
