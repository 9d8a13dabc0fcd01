/* libFuzzer target for chat/msgenc.c: a message row is built from the input
 * (a header of flags and integers, then NUL-separated strings for the text,
 * kind, client_msg_id, quote kind and text, and mention list) and its
 * "message" frames (plain, mention, own), send ack and history item (with
 * and without client_msg_id) are written by the hand-written encoder and by
 * the jansson path, and so is a sync page of three such rows (the caller's
 * own, another's, a tombstone) with a receipt and a hidden message at a
 * budget and versions the input picks. Properties: the bytes are
 * identical whenever the encoder claims the row; rows it does not claim come
 * out of mp_chat__frames_init as from the jansson path; nothing leaks. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat/chat_int.h"
#include "chat/msgenc.h"
#include "chat/testing.h"
#include "core/userflags.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEADER 42 /* 1 flag byte, 5 ids and integers of 8 bytes, 1 byte of req id */

static uint64_t u64_at(const uint8_t *p)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void same_frame(const mp_frame_t *a, const mp_frame_t *b)
{
    if (a->len != b->len || memcmp(a->data, b->data, a->len) != 0)
        abort();
}

static void check_frames(const mp_msg_row_t *m, bool guest, unsigned order)
{
    mp_chat_frames_t fast, ref;
    mp_chat__frames_init(&fast, m, guest);
    mp_chat__frames_init_json(&ref, m, guest);
    if ((fast.ev == NULL) != mp_msgenc_covers(m))
        abort();
    for (unsigned i = 0; i < 3; i++) {
        switch ((order + i) % 3) {
        case 0:
            same_frame(mp_chat__frames_plain(&fast), mp_chat__frames_plain(&ref));
            break;
        case 1:
            same_frame(mp_chat__frames_mention(&fast), mp_chat__frames_mention(&ref));
            break;
        default:
            same_frame(mp_chat__frames_own(&fast), mp_chat__frames_own(&ref));
        }
    }
    mp_chat__frames_free(&fast);
    mp_chat__frames_free(&ref);
}

/* The module a sync page asks whose read receipts are visible: user 9 has
 * them off. Made once, before the first input's allocations are counted. */
static const mp_chat_t *sync_chat(void)
{
    static mp_module_ctx_t ctx;
    static mp_chat_t chat;
    if (ctx.flags == NULL) {
        ctx.flags = mp_userflags_new();
        mp_userflags_set(ctx.flags, 9, MP_UF_NO_RECEIPTS, true);
        chat.ctx = &ctx;
    }
    return &chat;
}

/* A sync page around m; knob: versions shared or not, the receipt's
 * author, has_more, and with m's seq the budget (0 to 2,047 bytes). */
static void check_sync_page(const mp_msg_row_t *m, uint8_t knob)
{
    uint64_t other = m->conversation_id ^ 1;
    mp_msg_row_t rows[3] = {*m, *m, *m};
    rows[0].version = 10;
    rows[1].sender_id = 7;
    rows[1].conversation_id = other;
    rows[1].version = 10 + (knob & 1);
    rows[2].deleted_at = 1;
    rows[2].version = 12;
    mp_chat_sync_conv_t convs[2] = {
        {.id = m->conversation_id, .kind = MP_CONV_DIRECT, .last_seq = m->seq, .peer_id = 8},
        {.id = other, .kind = MP_CONV_GROUP, .unread_mentions = 1},
    };
    mp_chat_receipt_row_t rc = {.conversation_id = m->conversation_id,
                                .user_id = knob & 2 ? 9 : 8,
                                .read_seq = m->seq,
                                .version = 11};
    mp_chat_self_row_t self = {.conversation_id = other, .message_id = m->id, .version = 12};
    mp_chat_sync_out_t o = {.convs = convs,
                            .n_convs = 2,
                            .msgs = rows,
                            .n_msgs = 3,
                            .receipts = &rc,
                            .n_receipts = 1,
                            .selfs = &self,
                            .n_selfs = 1,
                            .has_more = knob & 4,
                            .cursor = m->seq};
    mp_chat_page_t pg = {.ws = true,
                         .req_id = m->created_at,
                         .user = 7,
                         .budget = (size_t)(knob >> 3) * 64 + (size_t)(m->seq & 63)};
    if (!mp_chat__sync_page_same(sync_chat(), &pg, &o))
        abort();
}

/* The i-th NUL-separated string of the tail, or NULL when the tail has
 * fewer (and for the flag's "absent" choice). */
static const char *nth(const char *tail, size_t len, size_t i)
{
    const char *p = tail, *end = tail + len;
    for (; i > 0 && p < end; i--)
        p += strlen(p) + 1;
    return p < end ? p : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER)
        return 0;
    (void)sync_chat();
    size_t before = mp_alloc_used();
    uint8_t fl = data[0];
    const uint8_t *h = data + 1;
    size_t tlen = size - HEADER;
    char *tail = mp_malloc(tlen + 1);
    memcpy(tail, data + HEADER, tlen);
    tail[tlen] = '\0';
    mp_msg_row_t m = {
        .id = u64_at(h),
        .conversation_id = u64_at(h + 8) >> (fl & 7) * 8, /* short ids too */
        .sender_id = u64_at(h + 16) & 0xffff,
        .seq = (int64_t)u64_at(h + 24),
        .created_at = (int64_t)u64_at(h + 32) >> 16,
        .text = nth(tail, tlen, 0),
        .kind = nth(tail, tlen, 1),
        .client_msg_id = nth(tail, tlen, 2),
        .quote_kind = nth(tail, tlen, 3),
        .quote_text = nth(tail, tlen, 4),
        .mentions = nth(tail, tlen, 5),
        .sender_guest = fl & 8,
        .mention_all = fl & 16,
    };
    if (fl & 32) {
        m.reply_to = m.id ^ 1;
        m.quote_sender = m.sender_id + 1;
        m.quote_deleted = (fl & 0xc0) == 0xc0;
    }
    if (fl & 64) {
        m.fwd_sender = m.conversation_id;
        m.fwd_at = m.created_at - 7;
    }
    if (fl & 128) {
        m.edited_at = m.seq;
        m.pinned_at = m.created_at + 1;
        m.pinned_by = m.sender_id;
    }
    check_frames(&m, h[40] & 1, h[40] >> 1);
    if (!mp_chat__ack_same((int8_t)h[40], &m, fl & 1) || !mp_chat__item_same(&m, false) ||
        !mp_chat__item_same(&m, true))
        abort();
    check_sync_page(&m, h[39]);
    mp_free(tail);
    if (mp_alloc_used() != before)
        abort(); /* a leak through mp_malloc */
    return 0;
}
