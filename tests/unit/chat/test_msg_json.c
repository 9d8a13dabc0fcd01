/* The one message object of the chat module (mp_chat__msg_json): every
 * optional part, the tombstone that shows none of them, the reply snapshot
 * and what is left of it after a delete, reactions only where loaded; the
 * stored mention list; deep row copies; and the frames of a "message" event
 * (plain, mention, own). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chat/chat_int.h"

static const mp_reaction_sum_t reactions[] = {
    {"\xf0\x9f\x91\x8d", 2, true},
    {"\xe2\x9d\xa4\xef\xb8\x8f", 1, false},
};

/* A message with every optional part set. */
static mp_msg_row_t full_row(void)
{
    return (mp_msg_row_t){
        .id = 900,
        .conversation_id = 10,
        .sender_id = 1,
        .seq = 7,
        .created_at = 1000,
        .version = 55,
        .client_msg_id = "c-7",
        .kind = "image",
        .text = "the view",
        .content = "{\"file_id\":\"77\",\"width\":640}",
        .search_extra = NULL,
        .edited_at = 2000,
        .reply_to = 800,
        .quote_sender = 2,
        .quote_kind = "text",
        .quote_text = "where?",
        .fwd_sender = 3,
        .fwd_at = 500,
        .mentions = "2,3",
        .mention_all = true,
        .pinned_at = 3000,
        .pinned_by = 2,
        .reactions = reactions,
        .n_reactions = 2,
    };
}

static const char *s(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static long long i(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static void test_full_object(void **state)
{
    (void)state;
    mp_msg_row_t m = full_row();
    json_t *o = mp_chat__msg_json(&m, true);
    assert_string_equal(s(o, "message_id"), "900");
    assert_string_equal(s(o, "conversation"), "10");
    assert_int_equal(i(o, "seq"), 7);
    assert_string_equal(s(o, "sender"), "1");
    assert_string_equal(s(o, "kind"), "image");
    assert_string_equal(s(o, "text"), "the view");
    assert_int_equal(i(o, "created_at"), 1000);
    assert_string_equal(s(o, "client_msg_id"), "c-7");
    json_t *c = json_object_get(o, "content");
    assert_true(json_is_object(c));
    assert_string_equal(s(c, "file_id"), "77");
    assert_int_equal(i(c, "width"), 640);
    json_t *q = json_object_get(o, "reply_to");
    assert_string_equal(s(q, "message_id"), "800");
    assert_string_equal(s(q, "sender"), "2");
    assert_string_equal(s(q, "kind"), "text");
    assert_string_equal(s(q, "text"), "where?");
    assert_null(json_object_get(q, "deleted"));
    json_t *f = json_object_get(o, "forwarded_from");
    assert_string_equal(s(f, "sender"), "3");
    assert_int_equal(i(f, "created_at"), 500);
    json_t *ms = json_object_get(o, "mentions");
    assert_int_equal(json_array_size(ms), 2);
    assert_string_equal(json_string_value(json_array_get(ms, 1)), "3");
    assert_true(json_is_true(json_object_get(o, "mention_all")));
    assert_int_equal(i(o, "edited_at"), 2000);
    json_t *rs = json_object_get(o, "reactions");
    assert_int_equal(json_array_size(rs), 2);
    assert_string_equal(s(json_array_get(rs, 0), "emoji"), "\xf0\x9f\x91\x8d");
    assert_int_equal(i(json_array_get(rs, 0), "count"), 2);
    assert_true(json_is_true(json_object_get(json_array_get(rs, 0), "me")));
    assert_true(json_is_false(json_object_get(json_array_get(rs, 1), "me")));
    assert_int_equal(i(o, "pinned_at"), 3000);
    assert_string_equal(s(o, "pinned_by"), "2");
    assert_null(json_object_get(o, "deleted"));
    assert_null(json_object_get(o, "search_extra"));
    json_decref(o);

    /* Another reader: no client_msg_id. */
    o = mp_chat__msg_json(&m, false);
    assert_null(json_object_get(o, "client_msg_id"));
    json_decref(o);
}

static void test_plain_text_has_no_optional_parts(void **state)
{
    (void)state;
    mp_msg_row_t m = {
        .id = 1, .conversation_id = 2, .sender_id = 3, .seq = 1, .kind = "text", .text = "hi"};
    json_t *o = mp_chat__msg_json(&m, true);
    const char *absent[] = {"content",       "reply_to",  "forwarded_from", "mentions",
                            "mention_all",   "edited_at", "deleted",        "deleted_at",
                            "reactions",     "pinned_at", "pinned_by",      "sender_guest",
                            "client_msg_id", "system"};
    for (size_t k = 0; k < sizeof absent / sizeof absent[0]; k++)
        if (json_object_get(o, absent[k]) != NULL)
            fail_msg("unexpected member %s", absent[k]);
    assert_int_equal(json_object_size(o), 7);
    json_decref(o);
}

static void test_tombstone(void **state)
{
    (void)state;
    mp_msg_row_t m = full_row();
    m.deleted_at = 4000; /* even if a row still carried its parts */
    json_t *o = mp_chat__msg_json(&m, true);
    assert_true(json_is_true(json_object_get(o, "deleted")));
    assert_int_equal(i(o, "deleted_at"), 4000);
    assert_string_equal(s(o, "text"), "");
    const char *absent[] = {"content",     "reply_to",  "forwarded_from", "mentions",
                            "mention_all", "edited_at", "reactions",      "pinned_at"};
    for (size_t k = 0; k < sizeof absent / sizeof absent[0]; k++)
        if (json_object_get(o, absent[k]) != NULL)
            fail_msg("a tombstone shows %s", absent[k]);
    char *d = json_dumps(o, JSON_COMPACT);
    assert_null(strstr(d, "the view"));
    assert_null(strstr(d, "where?"));
    free(d);
    json_decref(o);
}

static void test_quote_deleted_and_reactions_not_loaded(void **state)
{
    (void)state;
    mp_msg_row_t m = full_row();
    m.quote_deleted = true;
    m.quote_text = NULL;
    m.quote_kind = NULL;
    m.reactions = NULL; /* a write path: the count is known, the sums are not */
    m.mention_all = false;
    m.mentions = NULL;
    json_t *o = mp_chat__msg_json(&m, false);
    json_t *q = json_object_get(o, "reply_to");
    assert_int_equal(json_object_size(q), 2);
    assert_string_equal(s(q, "message_id"), "800");
    assert_true(json_is_true(json_object_get(q, "deleted")));
    assert_null(json_object_get(o, "reactions"));
    assert_null(json_object_get(o, "mentions"));
    assert_null(json_object_get(o, "mention_all"));
    json_decref(o);

    /* Content that is not an object is left out, not shown broken. */
    m.content = "[1,2";
    o = mp_chat__msg_json(&m, false);
    assert_null(json_object_get(o, "content"));
    json_decref(o);
}

static void test_mentions_parse(void **state)
{
    (void)state;
    uint64_t ids[4];
    assert_int_equal(mp_chat__mentions_parse(NULL, ids, 4), 0);
    assert_int_equal(mp_chat__mentions_parse("", ids, 4), 0);
    assert_int_equal(mp_chat__mentions_parse("12", ids, 4), 1);
    assert_true(ids[0] == 12);
    /* Malformed entries are skipped; the bound holds. */
    assert_int_equal(mp_chat__mentions_parse("1,,x,0,2,012,3,4,5", ids, 4), 4);
    assert_true(ids[0] == 1 && ids[1] == 2 && ids[2] == 3 && ids[3] == 4);
    assert_int_equal(mp_chat__mentions_parse("99999999999999999999999,7", ids, 4), 1);
    assert_true(ids[0] == 7);
}

static void test_copy_release(void **state)
{
    (void)state;
    mp_msg_row_t m = full_row(), copy;
    mp_msg_row_copy(&copy, &m);
    assert_ptr_not_equal(copy.text, m.text);
    assert_ptr_not_equal(copy.reactions, m.reactions);
    json_t *a = mp_chat__msg_json(&m, true), *b = mp_chat__msg_json(&copy, true);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    mp_msg_row_release(&copy);
    assert_null(copy.text);
    mp_msg_row_t bare = {.id = 1}; /* NULL strings copy as NULL */
    mp_msg_row_copy(&copy, &bare);
    assert_null(copy.kind);
    mp_msg_row_release(&copy);
}

static json_t *frame_json(const mp_frame_t *f)
{
    json_t *j = json_loadb(f->data, f->len, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_frames(void **state)
{
    (void)state;
    mp_msg_row_t m = full_row();
    m.mention_all = false;
    m.mentions = "3,2,3";
    mp_chat_frames_t fr;
    mp_chat__frames_init(&fr, &m, false);
    assert_int_equal(fr.n_mentions, 2);
    assert_true(mp_chat__frames_mentioned(&fr, 2));
    assert_true(mp_chat__frames_mentioned(&fr, 3));
    assert_false(mp_chat__frames_mentioned(&fr, 4));
    assert_false(mp_chat__frames_mentioned(&fr, 1)); /* never the sender */

    /* Built in any order, each frame says only its own thing. */
    json_t *mention = frame_json(mp_chat__frames_mention(&fr));
    json_t *own = frame_json(mp_chat__frames_own(&fr));
    json_t *plain = frame_json(mp_chat__frames_plain(&fr));
    assert_string_equal(s(plain, "event"), "message");
    assert_null(json_object_get(plain, "mention"));
    assert_null(json_object_get(json_object_get(plain, "message"), "client_msg_id"));
    assert_true(json_is_true(json_object_get(mention, "mention")));
    assert_null(json_object_get(json_object_get(mention, "message"), "client_msg_id"));
    assert_null(json_object_get(own, "mention"));
    assert_string_equal(s(json_object_get(own, "message"), "client_msg_id"), "c-7");
    assert_ptr_equal(mp_chat__frames_plain(&fr), fr.plain); /* encoded once */
    json_decref(mention);
    json_decref(own);
    json_decref(plain);
    mp_chat__frames_free(&fr);

    /* @all: everyone but the sender; a guest sender is marked. */
    m.mention_all = true;
    m.mentions = NULL;
    mp_chat__frames_init(&fr, &m, true);
    assert_true(mp_chat__frames_mentioned(&fr, 12345));
    assert_false(mp_chat__frames_mentioned(&fr, 1));
    plain = frame_json(mp_chat__frames_plain(&fr));
    assert_true(json_is_true(json_object_get(plain, "sender_guest")));
    assert_true(json_is_true(json_object_get(json_object_get(plain, "message"), "sender_guest")));
    json_decref(plain);
    mp_chat__frames_free(&fr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_object),
        cmocka_unit_test(test_plain_text_has_no_optional_parts),
        cmocka_unit_test(test_tombstone),
        cmocka_unit_test(test_quote_deleted_and_reactions_not_loaded),
        cmocka_unit_test(test_mentions_parse),
        cmocka_unit_test(test_copy_release),
        cmocka_unit_test(test_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
