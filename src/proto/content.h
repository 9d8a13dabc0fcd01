/* Message kinds and their typed content (docs/protocol.md "Message kinds"):
 * which kinds a client may send, the shape of each kind's `content` object,
 * checked field by field, and what of it search indexes. Pure: no storage,
 * no I/O, so the rules are unit-tested and shared by send and forward. */
#ifndef MP_PROTO_CONTENT_H
#define MP_PROTO_CONTENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/error.h"

typedef enum {
    MP_KIND_TEXT = 0,
    MP_KIND_IMAGE,
    MP_KIND_FILE,
    MP_KIND_VOICE,
    MP_KIND_VIDEO,
    MP_KIND_LOCATION,
    MP_KIND_CONTACT,
    MP_KIND_SYSTEM, /* server only */
    MP__KIND_COUNT
} mp_msg_kind_t;

/* "text", "image", ... Never NULL for a valid kind. */
const char *mp_kind_name(mp_msg_kind_t kind);
/* The kind named s; false for an unknown name. */
bool mp_kind_parse(const char *s, mp_msg_kind_t *out);
/* True for the kinds whose text is a caption that the sender may edit
 * (text, image, file, voice, video). */
bool mp_kind_editable(mp_msg_kind_t kind);

/* The checked content of a send. Strings are owned (free with
 * mp_content_free). */
typedef struct mp_content {
    mp_msg_kind_t kind;
    char *json;            /* canonical JSON object text of the content; NULL for text */
    char *search_extra;    /* file name / location title; NULL when none */
    uint64_t contact_user; /* kind contact: the user id (the store checks it exists) */
} mp_content_t;

/* Checks a send's kind (NULL = "text"), `content` (NULL when absent) and
 * `text` (NULL when absent) together: text requires text and no content;
 * image/file/voice/video require content and allow text as a caption
 * (0..4096 characters); location/contact require content and refuse text;
 * system is refused. On failure returns MP_ERR_BAD_REQUEST with a message
 * naming the field ("field 'content.latitude' must be a number from -90 to
 * 90") in msg; out is then empty. The canonical JSON keeps only the known
 * keys, in a fixed order. */
mp_err_t mp_content_check(const char *kind, const json_t *content, const json_t *text,
                          mp_content_t *out, char *msg, size_t msglen);
void mp_content_free(mp_content_t *c);

#endif
