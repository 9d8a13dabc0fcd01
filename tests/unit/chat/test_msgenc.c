/* chat/msgenc.c against the jansson path it replaces, byte for byte: the
 * three frames of a "message" event (plain, mention, own) for every optional
 * field the encoder covers, guest marks, texts with control bytes, quotes,
 * backslashes, '/', multi-byte UTF-8 and emoji, at the maximum length and
 * random; the rows it does not cover still come out of mp_chat__frames_init
 * as before; and the send ack against the tree send.c built before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chat/chat_int.h"
#include "chat/msgenc.h"
#include "util/alloc.h"

/* Both paths' frames of m, asked for in the order `order` names. */
static void check_frames(const mp_msg_row_t *m, bool guest, const char *order)
{
    mp_chat_frames_t fast, ref;
    mp_chat__frames_init(&fast, m, guest);
    mp_chat__frames_init_json(&ref, m, guest);
    assert_int_equal(fast.ev == NULL, mp_msgenc_covers(m));
    for (const char *o = order; *o; o++) {
        mp_frame_t *a, *b;
        if (*o == 'p') {
            a = mp_chat__frames_plain(&fast);
            b = mp_chat__frames_plain(&ref);
        } else if (*o == 'm') {
            a = mp_chat__frames_mention(&fast);
            b = mp_chat__frames_mention(&ref);
        } else {
            a = mp_chat__frames_own(&fast);
            b = mp_chat__frames_own(&ref);
        }
        if (a->len != b->len || memcmp(a->data, b->data, a->len) != 0)
            fail_msg("frame %c differs:\n fast %.*s\n json %.*s", *o, (int)a->len, a->data,
                     (int)b->len, b->data);
    }
    assert_int_equal(fast.n_mentions, ref.n_mentions);
    assert_memory_equal(fast.mentions, ref.mentions, fast.n_mentions * sizeof *fast.mentions);
    mp_chat__frames_free(&fast);
    mp_chat__frames_free(&ref);
}

static void check_all_orders(const mp_msg_row_t *m)
{
    static const char *const orders[] = {"pmo", "omp", "mop"};
    for (size_t g = 0; g < 2; g++)
        for (size_t i = 0; i < 3; i++)
            check_frames(m, g == 1, orders[i]);
}

/* The ack as send.c and mp_gw_reply built it with jansson. */
static void check_ack(int64_t req_id, const mp_msg_row_t *m, bool duplicate)
{
    json_t *f = json_object();
    json_object_set_new(f, "message_id", mp_chat__id_json(m->id));
    json_object_set_new(f, "conversation", mp_chat__id_json(m->conversation_id));
    json_object_set_new(f, "seq", json_integer(m->seq));
    json_object_set_new(f, "created_at", json_integer(m->created_at));
    json_object_set_new(f, "duplicate", json_boolean(duplicate));
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(req_id));
    json_object_set_new(o, "ok", json_true());
    json_object_update(o, f);
    json_decref(f);
    mp_frame_t *ref = mp_frame_new_json(o);
    json_decref(o);
    mp_msgenc_t e;
    mp_msgenc_init(&e);
    mp_msgenc_ack(&e, req_id, m, duplicate);
    if (e.len != ref->len || memcmp(e.buf, ref->data, e.len) != 0)
        fail_msg("ack differs:\n fast %.*s\n json %.*s", (int)e.len, e.buf, (int)ref->len,
                 ref->data);
    mp_msgenc_free(&e);
    mp_frame_unref(ref);
}

static mp_msg_row_t text_row(const char *text)
{
    return (mp_msg_row_t){
        .id = 1234567890123456789ULL,
        .conversation_id = 42,
        .sender_id = 7,
        .seq = 3,
        .created_at = 1764000000000LL,
        .client_msg_id = "c-1",
        .kind = "text",
        .text = text,
    };
}

static const char *const nasty[] = {
    "hello",
    "",
    "a/b\\c\"d'e",
    "\x01\x02\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x1b\x1f\x7f",
    "tab\there\r\nnew line",
    "caf\xc3\xa9 \xe2\x82\xac \xe4\xb8\xad\xe6\x96\x87",
    "\xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd\xe2\x80\x8d\xe2\x9d\xa4\xef\xb8\x8f",
    "\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
    "</script><!-- \\u0000 \\/ -->",
    "\"\"\"\\\\\\",
};

/* Every optional part the encoder covers, alone and together. */
static void test_optional_fields(void **state)
{
    (void)state;
    for (unsigned bits = 0; bits < 256; bits++) {
        for (size_t t = 0; t < sizeof nasty / sizeof *nasty; t += (bits == 0 ? 1 : 3)) {
            mp_msg_row_t m = text_row(nasty[t]);
            if (bits & 1)
                m.sender_guest = true;
            if (bits & 2) {
                m.reply_to = 99;
                m.quote_sender = 8;
                m.quote_kind = (bits & 64) ? NULL : "image";
                m.quote_text = (bits & 128) ? NULL : nasty[(t + 1) % 10];
                m.quote_deleted = (bits & 32) != 0 && (bits & 64) != 0;
            }
            if (bits & 4) {
                m.fwd_sender = 9;
                m.fwd_at = 1700000000000LL;
            }
            if (bits & 8)
                m.mentions = (bits & 64) ? "7,8,8,x,,18446744073709551615" : "8";
            if (bits & 16)
                m.mention_all = true;
            if (bits & 32)
                m.edited_at = 1764000000001LL;
            if (bits & 64) {
                m.pinned_at = 1764000000002LL;
                m.pinned_by = 7;
            }
            if (bits & 128) {
                m.client_msg_id = NULL;
                m.kind = NULL;
                m.text = NULL;
            }
            assert_true(mp_msgenc_covers(&m));
            check_all_orders(&m);
        }
    }
}

/* Integers at their ends: ids are unsigned, seq and times signed. */
static void test_integers(void **state)
{
    (void)state;
    static const int64_t ints[] = {0, 1, -1, 9, 10, INT64_MAX, INT64_MIN, 1764000000000LL};
    static const uint64_t ids[] = {0, 1, 10, UINT64_MAX, 18446744073709551614ULL};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        mp_msg_row_t m = text_row("x");
        m.seq = ints[i];
        m.created_at = ints[(i + 1) % 8];
        m.edited_at = ints[(i + 2) % 8];
        m.fwd_at = ints[(i + 3) % 8];
        m.fwd_sender = ids[i % 5];
        m.id = ids[(i + 1) % 5];
        m.conversation_id = ids[(i + 2) % 5];
        m.sender_id = ids[(i + 3) % 5];
        m.pinned_at = ints[(i + 4) % 8];
        m.pinned_by = ids[(i + 4) % 5];
        check_all_orders(&m);
        check_ack(ints[(i + 5) % 8], &m, i % 2 == 0);
        check_ack(ints[i], &m, i % 2 == 1);
    }
}

/* Every number of digits, at each side of its power of ten: the encoder
 * writes eight digits at a time, then two, then one. */
static void test_digit_boundaries(void **state)
{
    (void)state;
    uint64_t p = 1;
    for (int k = 0; k <= 19; k++, p *= 10) {
        const uint64_t ids[] = {p - 1, p, p + 1, p + p / 2};
        for (size_t i = 0; i < 4; i++) {
            mp_msg_row_t m = text_row("x");
            m.id = ids[i];
            m.conversation_id = ids[(i + 1) % 4];
            m.sender_id = ids[(i + 2) % 4];
            if (k <= 18) {
                m.seq = (int64_t)ids[i];
                m.created_at = -(int64_t)ids[(i + 3) % 4];
            }
            check_all_orders(&m);
            check_ack(k <= 18 ? (int64_t)ids[i] : 7, &m, i % 2 == 0);
        }
    }
}

/* The longest text a send accepts, of the widest characters and of the
 * byte that escapes longest: both paths leave their stack buffers. */
static void test_max_length(void **state)
{
    (void)state;
    static const char *const units[] = {"\xf0\x9f\x98\x80", "\x01", "\"", "a", "\xc3\xa9"};
    for (size_t u = 0; u < sizeof units / sizeof *units; u++) {
        size_t ul = strlen(units[u]);
        char *text = mp_malloc(MP_CHAT_TEXT_MAX_CHARS * ul + 1);
        for (size_t i = 0; i < MP_CHAT_TEXT_MAX_CHARS; i++)
            memcpy(text + i * ul, units[u], ul);
        text[MP_CHAT_TEXT_MAX_CHARS * ul] = '\0';
        mp_msg_row_t m = text_row(text);
        m.reply_to = 5;
        m.quote_text = text;
        check_all_orders(&m);
        mp_free(text);
    }
}

/* Random valid UTF-8 with every control byte likely: 2,000 texts. */
static void test_random_texts(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "\\",           "\"",          "/", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
        "\xed\x9f\xbf", "\xee\x80\x80"};
    srand(1);
    char text[512];
    for (int n = 0; n < 2000; n++) {
        size_t len = 0, want = (size_t)(rand() % 120);
        while (len < want) {
            int r = rand() % 4;
            if (r == 0) {
                text[len++] = (char)(1 + rand() % 0x1f);
            } else if (r == 1) {
                text[len++] = (char)(0x20 + rand() % 0x5f);
            } else {
                const char *p = pieces[rand() % 9];
                memcpy(text + len, p, strlen(p));
                len += strlen(p);
            }
        }
        text[len] = '\0';
        mp_msg_row_t m = text_row(text);
        m.client_msg_id = text;
        m.mentions = n % 3 == 0 ? "5,6" : NULL;
        check_frames(&m, n % 2 == 0, n % 2 ? "pmo" : "omp");
    }
}

/* Rows the encoder leaves to jansson still make the same frames through
 * mp_chat__frames_init (which falls back), and are not claimed. */
static void test_fallback(void **state)
{
    (void)state;
    static const mp_reaction_sum_t r[] = {{"\xf0\x9f\x91\x8d", 2, true}};
    mp_msg_row_t rows[7];
    for (size_t i = 0; i < 7; i++)
        rows[i] = text_row("x");
    rows[0].kind = "image";
    rows[0].content = "{\"file_id\":\"77\",\"width\":640}";
    rows[1].reactions = r;
    rows[1].n_reactions = 1;
    rows[2].deleted_at = 5;
    rows[3].kind = "system";
    rows[3].text = "{\"system\":{\"type\":\"group_created\"}}";
    rows[4].text = "bad \xff utf-8";
    rows[5].client_msg_id = "\xc0\x80";
    rows[6].reply_to = 3;
    rows[6].quote_text = "\xed\xa0\x80"; /* a surrogate */
    for (size_t i = 0; i < 7; i++) {
        assert_false(mp_msgenc_covers(&rows[i]));
        check_all_orders(&rows[i]);
    }
    mp_msg_row_t ok = text_row("x");
    ok.reactions = r; /* a count without the loaded sums: covered */
    ok.n_reactions = 0;
    assert_true(mp_msgenc_covers(&ok));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_optional_fields),  cmocka_unit_test(test_integers),
        cmocka_unit_test(test_digit_boundaries), cmocka_unit_test(test_max_length),
        cmocka_unit_test(test_random_texts),     cmocka_unit_test(test_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
