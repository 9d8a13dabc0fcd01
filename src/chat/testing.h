/* The jansson references of what chat/msgenc.c and the sync page write, for
 * the unit tests and the fuzzer that compare the two
 * (tests/unit/chat/test_msgenc.c, tests/unit/chat/test_sync_page.c,
 * tests/fuzz/fuzz_msgenc.c). Linked by tests and fuzzers only
 * (magpie_testing). */
#ifndef MP_CHAT_TESTING_H
#define MP_CHAT_TESTING_H

#include <stdbool.h>
#include <stdint.h>

#include "chat/chat_int.h"
#include "store/chat.h"

/* Whether mp_msgenc_ack writes the ack send.c and mp_gw_reply built with
 * jansson. */
bool mp_chat__ack_same(int64_t req_id, const mp_msg_row_t *m, bool duplicate);

/* Whether mp_msgenc_msg writes m's item of a history page as
 * mp_chat__msg_json dumped compact does, with (own) and without the
 * client_msg_id; true for a row the encoder does not cover. */
bool mp_chat__item_same(const mp_msg_row_t *m, bool own);

/* Whether mp_chat__sync_page writes the reply sync.c built with jansson
 * before (each item a tree, staged per version in five arrays, measured
 * with a dump, then mp_gw_reply's object). At most 16 conversations. */
bool mp_chat__sync_page_same(const mp_chat_t *chat, const mp_chat_page_t *pg,
                             const mp_chat_sync_out_t *o);

/* Gives rows m[0..9) the variants a page mixes: content (m[2]), loaded
 * reactions (m[4]) and a tombstone (m[5]), which the encoder leaves to
 * jansson, a quote of m[6] (m[7]) and mentions (m[8]). */
void mp_chat__vary_rows(mp_msg_row_t m[9]);

#endif
