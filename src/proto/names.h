/* What makes a username or a display name acceptable: one rule for every
 * module that takes one (registration, profile changes, lookups). */
#ifndef MP_PROTO_NAMES_H
#define MP_PROTO_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/error.h"

#define MP_NAME_USERNAME_MIN 3
#define MP_NAME_USERNAME_MAX 32
#define MP_NAME_LABEL_MAX_CHARS 64 /* display and device names */
/* The 400 message for a refused display or device name: printf format with
 * the field name and MP_NAME_LABEL_MAX_CHARS. */
#define MP_NAME_LABEL_RULE                                                                         \
    "field '%s' must be 1 to %d characters without control characters, bidirectional "             \
    "controls or invisible characters"

/* Checks a username (len bytes, 3-32 of [A-Za-z0-9_.]) and writes its
 * lower-case form to out (MP_NAME_USERNAME_MAX + 1 bytes). Returns MP_OK or
 * MP_ERR_BAD_USERNAME. */
mp_err_t mp_name_username_norm(const char *in, size_t len, char *out);
/* Trims white space at both ends of valid UTF-8 in[0..len) and checks that
 * 1-64 characters remain with none that mp_text_check refuses in a name
 * (controls, bidi controls, invisible characters). Writes the trimmed text to
 * out (outlen >= len + 1 suffices). Returns false if invalid. */
bool mp_name_label_clean(const char *in, size_t len, char *out, size_t outlen);

#endif
