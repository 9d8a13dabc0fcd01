/* A hand-written JSON encoder for the two frames every durable send makes:
 * the `message` event (plain, mention, own) and the `send` ack, and for the
 * message objects of history pages. It writes
 * the bytes that building the jansson tree (chat/events.c) and dumping it
 * with JSON_COMPACT give, byte for byte (key order, escapes, non-ASCII
 * as UTF-8, "/" as is), without the tree: the callgrind profile of the loop
 * had the event ~30 % and the ack ~15 % of its instructions per message.
 *
 * It covers the common rows only (mp_msgenc_covers); everything else keeps
 * the jansson path, so a row it does not know is never shown differently.
 * tests/unit/chat/test_msgenc.c and tests/fuzz/fuzz_msgenc.c compare the
 * two paths. */
#ifndef MP_CHAT_MSGENC_H
#define MP_CHAT_MSGENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store/chat.h"

/* The growable output: starts in `local` (acks and almost every event fit),
 * moves to the heap for long texts. */
typedef struct mp_msgenc {
    char *buf; /* local or owned heap memory */
    size_t len, cap;
    char local[2048];
} mp_msgenc_t;

/* Which frame of a "message" event: the one most members get, the one
 * mentioned members get ("mention":true), the one the sender's other
 * sessions get (with client_msg_id). */
typedef enum { MP_MSGENC_PLAIN, MP_MSGENC_MENTION, MP_MSGENC_OWN } mp_msgenc_variant_t;

void mp_msgenc_init(mp_msgenc_t *e);
void mp_msgenc_free(mp_msgenc_t *e);

/* Whether mp_msgenc_event can write m's event: a live message without
 * content, reactions or system record, whose strings are valid UTF-8 (the
 * jansson path leaves out what is not). */
bool mp_msgenc_covers(const mp_msg_row_t *m);

/* Appends the "message" event of m (mp_msgenc_covers(m) must hold), as
 * mp_chat__frames_plain / _mention / _own encode it. guest: the sender is
 * a guest (marked at the top and in the message). */
void mp_msgenc_event(mp_msgenc_t *e, const mp_msg_row_t *m, bool guest, mp_msgenc_variant_t v);

/* Appends the ack of a send: {"id":req_id,"ok":true,"message_id":..,
 * "conversation":..,"seq":..,"created_at":..,"duplicate":..}. */
void mp_msgenc_ack(mp_msgenc_t *e, int64_t req_id, const mp_msg_row_t *m, bool duplicate);

/* Appends m's message object as mp_chat__msg_json(m, with_cmid) encodes it
 * (mp_msgenc_covers(m) must hold): the items of history pages. */
void mp_msgenc_msg(mp_msgenc_t *e, const mp_msg_row_t *m, bool with_cmid);

/* Appends j encoded as replies are (JSON_COMPACT): the rows the encoder
 * does not cover, between the ones it writes. */
void mp_msgenc_json(mp_msgenc_t *e, const json_t *j);

/* Pieces of an envelope around those: n bytes as they are, an id as its
 * JSON string, an integer. */
void mp_msgenc_put(mp_msgenc_t *e, const char *s, size_t n);
/* A string literal, without a strlen. */
#define MP_MSGENC_LIT(e, lit) mp_msgenc_put((e), (lit), sizeof(lit) - 1)
void mp_msgenc_id(mp_msgenc_t *e, uint64_t id);
void mp_msgenc_int(mp_msgenc_t *e, int64_t v);

#endif
