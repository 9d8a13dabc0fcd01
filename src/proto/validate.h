/* Declarative validation of JSON request objects (WebSocket frames and HTTP
 * bodies): each frame type has a table of expected fields, checked in one place
 * before any handler runs. */
#ifndef MP_PROTO_VALIDATE_H
#define MP_PROTO_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/error.h"

typedef enum {
    MP_F_STRING, /* min/max = length in Unicode code points (UTF-8 is already valid) */
    MP_F_ASCII,  /* printable ASCII (0x20-0x7e) string; min/max = length in bytes */
    MP_F_INT,    /* JSON integer; min/max = value range */
    MP_F_BOOL,
    MP_F_ID, /* decimal id string (mp_id_parse) */
    MP_F_OBJECT,
    MP_F_ARRAY, /* min/max = element count */
    MP_F_TEXT,  /* MP_F_STRING shown to people (messages, titles): also refuses
                   control characters other than tab and newline (mp_text_check) */
} mp_field_type_t;

typedef struct mp_field {
    const char *name;
    mp_field_type_t type;
    bool required;
    int64_t min, max; /* 0,0 = unchecked */
} mp_field_t;

/* Checks obj against fields (a table ended by a zeroed entry). Unknown members
 * are ignored. On failure returns MP_ERR_BAD_REQUEST and writes a message that
 * names the field (e.g. "field 'text' must be 1 to 4096 characters") into msg. */
mp_err_t mp_validate(const json_t *obj, const mp_field_t *fields, char *msg, size_t msglen);

/* What text of a kind may not contain (besides invalid UTF-8 and NUL). */
typedef enum {
    /* Message text, group titles and descriptions: C0 controls other than
     * tab (U+0009) and newline (U+000A), DEL (U+007F), C1 (U+0080-U+009F). */
    MP_TEXT_MESSAGE,
    /* Display and device names: every C0 control, DEL, C1, and the characters
     * that reorder or hide text, used to impersonate: bidi embeddings and
     * overrides U+202A-U+202E, isolates U+2066-U+2069, the Arabic letter mark
     * U+061C, zero-width and direction marks U+200B-U+200F, word joiner and
     * invisible operators U+2060-U+2064, BOM / zero-width no-break space
     * U+FEFF, and the line and paragraph separators U+2028, U+2029. */
    MP_TEXT_NAME,
} mp_text_kind_t;

/* True when valid UTF-8 s[0..len) has none of the characters refused in text
 * of this kind. The one place that says which characters those are. */
bool mp_text_check(const char *s, size_t len, mp_text_kind_t kind);

/* Number of Unicode code points in valid UTF-8 s of len bytes. */
size_t mp_utf8_chars(const char *s, size_t len);
/* True when s[0..len) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool mp_utf8_valid(const char *s, size_t len);

/* The length of the longest prefix of s[0..len) that a JSON string holds
 * as it is: no '"', no '\\' and no control byte (below 0x20). Both the
 * scanner of incoming frames and the writer of outgoing ones run on it. */
size_t mp_json_plain_len(const char *s, size_t len);

/* The length of the longest prefix of s[0..len) in printable ASCII
 * (0x20..0x7e), which MP_F_ASCII fields are made of. */
size_t mp_ascii_printable_len(const char *s, size_t len);

#endif
