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
    uint64_t file_id;      /* image/file/voice/video: content.file_id (the store checks it) */
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

/* ---- the file of a media message ----------------------------------------
 *
 * The content of image/file/voice/video names an uploaded file; the store
 * checks, inside the write that stores the message, that the sender may read
 * it and that its class suits the kind, then stores the content rewritten
 * from what the server found in the file (docs/protocol.md "Kinds and
 * content"). These are the pure parts of that: the store calls them with the
 * facts it read, so that no JSON is built in the store itself. */

/* True for the kinds whose content names a file (image, file, voice, video). */
bool mp_kind_has_file(mp_msg_kind_t kind);

/* content.file_id of a stored content of such a kind (JSON object text); 0
 * when the kind names no file or the text holds no valid id. */
uint64_t mp_content_file_id(mp_msg_kind_t kind, const char *content);

/* What the store knows about the file a message names. */
typedef struct mp_content_file {
    const char *cls;  /* "image", "audio", "video" or "file" */
    const char *mime; /* of the bytes a download serves */
    uint64_t size;    /* bytes a download serves */
    const char *meta; /* JSON object text of what processing found: width, height,
                         duration_ms, waveform, preview (NULL = none) */
} mp_content_file_t;

/* The content to store for a message of kind (image/file/voice/video) whose
 * checked content (canonical JSON text, see mp_content_check) names the file
 * f: MP_ERR_BAD_REQUEST when f's class does not suit kind (image -> image,
 * voice -> audio, video -> video; file takes any), else MP_OK and *out (free
 * with mp_free) = the canonical object with what the server found replacing
 * what the client said, in a fixed order:
 *   image {file_id, width, height, mime, size, preview}
 *   file  {file_id, name, size, mime}         (name: the client's)
 *   voice {file_id, duration_ms, waveform, mime, size}
 *   video {file_id, duration_ms, width, height, mime, size, preview}
 * A field the file's metadata lacks keeps the client's value when it gave
 * one (e.g. a video whose dimensions could not be read), else is left out.
 * MP_ERR_INTERNAL when content is not a JSON object. */
mp_err_t mp_content_fill(mp_msg_kind_t kind, const char *content, const mp_content_file_t *f,
                         char **out);

#endif
