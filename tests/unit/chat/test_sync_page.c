/* chat/sync.c's reply against the jansson tree it replaced, byte for byte:
 * a page of conversations, messages the encoder covers and messages it
 * leaves to jansson (the caller's own among them), read receipts visible
 * and hidden, hidden messages, settings changes and contact entries, items
 * sharing a version, at every budget, byte by byte, from the first version
 * to all of them, with the store's has_more in and out. The reference
 * (mp_chat__sync_page_same, chat/testing.c) is the construction sync.c used
 * before: each item a tree, staged per version in five arrays, measured
 * with a dump, then the object mp_gw_reply encoded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chat/chat_int.h"
#include "chat/msgenc.h"
#include "chat/testing.h"
#include "core/userflags.h"
#include "proto/contact.h"

static const char *const texts[] = {
    "hello",
    "a/b\\c\"d'e",
    "\x01\x02\x1f\x7f tab\there\r\n",
    "caf\xc3\xa9 \xe2\x82\xac \xe4\xb8\xad\xe6\x96\x87",
    "\xf0\x9f\x98\x80\xf0\x9f\x91\x8d",
    "</script><!-- \\u0000 \\/ -->",
};

static void check(const mp_chat_t *chat, const mp_chat_sync_out_t *o, size_t budget, int64_t req)
{
    mp_chat_page_t pg = {.ws = true, .req_id = req, .user = 7, .budget = budget};
    if (!mp_chat__sync_page_same(chat, &pg, o))
        fail_msg("sync page (budget %zu, has_more %d) differs (above)", budget, o->has_more);
}

static void test_sync_page(void **state)
{
    (void)state;
    mp_userflags_t *uf = mp_userflags_new();
    mp_userflags_set(uf, 9, MP_UF_NO_RECEIPTS, true); /* user 9 shows no read_seq */
    mp_module_ctx_t ctx = {.flags = uf};
    mp_chat_t chat = {.ctx = &ctx};

    mp_chat_sync_conv_t convs[3] = {
        {.id = 42, .kind = MP_CONV_DIRECT, .last_seq = 9, .read_seq = 4, .peer_id = 8},
        {.id = 18446744073709551615ULL,
         .kind = MP_CONV_GROUP,
         .last_seq = 3,
         .unread_mentions = 2,
         .settings = {.muted_until = -1, .pinned_at = 5, .archived = true, .cleared_seq = 1}},
        {.id = 77, .kind = MP_CONV_GROUP, .last_seq = 1, .read_seq = 1}, /* no item names it */
    };
    enum { NM = 12 };
    mp_msg_row_t m[NM];
    int64_t v = 100;
    for (size_t i = 0; i < NM; i++) {
        m[i] = (mp_msg_row_t){
            .id = 1234567890123456789ULL + i,
            .conversation_id = i % 4 == 3 ? convs[1].id : 42,
            .sender_id = i % 3 == 0 ? 7 : 8,
            .seq = (int64_t)i + 1,
            .created_at = 1764000000000LL + (int64_t)i,
            .client_msg_id = "c-1",
            .kind = "text",
            .text = texts[i % (sizeof texts / sizeof *texts)],
            .version = v,
        };
        v += i % 5 == 1 ? 0 : 2; /* some messages share a version */
    }
    mp_chat__vary_rows(m);
    /* Receipts, own changes and contacts between and on the messages'
     * versions (odd ones fall between them). */
    mp_chat_receipt_row_t rc[3] = {
        {.conversation_id = 42, .user_id = 8, .read_seq = 3, .delivered_seq = 4, .version = 101},
        {.conversation_id = convs[1].id, .user_id = 9, .read_seq = 2, .version = 104},
        {.conversation_id = convs[1].id, .user_id = 7, .read_seq = 3, .version = 111},
    };
    mp_chat_self_row_t selfs[2] = {
        {.conversation_id = 42, .message_id = m[4].id, .version = 104},
        {.conversation_id = convs[1].id, .message_id = 0, .version = 113}, /* settings */
    };
    mp_contact_t contacts[2] = {
        {.user_id = 7,
         .peer_id = 8,
         .username = "bob",
         .display_name = "Bob \"B\"",
         .state = MP_CONTACT_FRIENDS,
         .created_at = 1,
         .updated_at = 2,
         .version = 103},
        {.user_id = 7,
         .peer_id = 10,
         .username = "eve",
         .state = MP_CONTACT_INCOMING,
         .message = "hi \xe2\x82\xac",
         .created_at = 3,
         .updated_at = 3,
         .version = 200},
    };
    mp_chat_sync_out_t o = {.convs = convs,
                            .n_convs = 3,
                            .msgs = m,
                            .n_msgs = NM,
                            .receipts = rc,
                            .n_receipts = 3,
                            .selfs = selfs,
                            .n_selfs = 2,
                            .contacts = contacts,
                            .n_contacts = 2,
                            .cursor = 250};

    mp_chat_page_t whole = {.ws = true, .user = 7, .budget = SIZE_MAX};
    mp_msgenc_t all;
    mp_msgenc_init(&all);
    mp_chat__sync_page(&all, &chat, &whole, &o);
    size_t size = all.len;
    mp_msgenc_free(&all);
    for (int more = 0; more < 2; more++) {
        o.has_more = more;
        for (size_t budget = 0; budget < size + 600; budget++)
            check(&chat, &o, budget, -40 + (int64_t)budget);
    }
    /* An empty page, and one of conversation entries alone. */
    mp_chat_sync_out_t none = {.cursor = 17};
    check(&chat, &none, 0, 1);
    mp_chat_sync_out_t bare = {.convs = convs, .n_convs = 3, .cursor = 3};
    check(&chat, &bare, 4096, 2);
    mp_userflags_free(uf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
