/* chat/msgenc.c against the jansson path it replaces, byte for byte: the
 * three frames of a "message" event (plain, mention, own) for every optional
 * field the encoder covers, guest marks, texts with control bytes, quotes,
 * backslashes, '/', multi-byte UTF-8 and emoji, at the maximum length and
 * random; the rows it does not cover still come out of mp_chat__frames_init
 * as before; the send ack against the tree send.c built before; and the
 * items and pages of history against mp_chat__msg_json and the tree
 * history.c built before. */
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

/* A history page's item, with and without the client_msg_id. */
static void check_items(const mp_msg_row_t *m)
{
    assert_true(mp_chat__item_same(m, false));
    assert_true(mp_chat__item_same(m, true));
}

static void check_all_orders(const mp_msg_row_t *m)
{
    check_items(m);
    static const char *const orders[] = {"pmo", "omp", "mop"};
    for (size_t g = 0; g < 2; g++)
        for (size_t i = 0; i < 3; i++)
            check_frames(m, g == 1, orders[i]);
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
        assert_true(mp_chat__ack_same(ints[(i + 5) % 8], &m, i % 2 == 0));
        assert_true(mp_chat__ack_same(ints[i], &m, i % 2 == 1));
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
            assert_true(mp_chat__ack_same(k <= 18 ? (int64_t)ids[i] : 7, &m, i % 2 == 0));
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
        check_items(&m);
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

/* The history page as history.c built it with jansson before: the items
 * from the newest down while they fit the budget (after 256 bytes kept for
 * the envelope), then the object mp_gw_reply or mp_http_respond encoded. */
static char *ref_page(const mp_chat_page_t *pg, const mp_msg_row_t *m, size_t n, bool more)
{
    json_t **enc = calloc(n ? n : 1, sizeof *enc);
    size_t used = 256, first = n;
    while (first > 0) {
        const mp_msg_row_t *r = &m[first - 1];
        json_t *j = mp_chat__msg_json(r, r->sender_id == pg->user);
        size_t size = json_dumpb(j, NULL, 0, JSON_COMPACT) + 1;
        if (first < n && used + size > pg->budget) {
            json_decref(j);
            more = true;
            break;
        }
        used += size;
        enc[--first] = j;
    }
    json_t *arr = json_array();
    for (size_t i = first; i < n; i++)
        json_array_append_new(arr, enc[i]);
    free(enc);
    json_t *o = json_object();
    if (pg->ws) {
        json_object_set_new(o, "id", json_integer(pg->req_id));
        json_object_set_new(o, "ok", json_true());
    }
    json_object_set_new(o, "conversation", mp_chat__id_json(pg->conv));
    json_object_set_new(o, "messages", arr);
    json_object_set_new(o, "has_more", json_boolean(more));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

/* Pages of rows the encoder covers and rows it leaves to jansson, the
 * reader's own among them, over WebSocket and HTTP, at every budget from
 * one message to all of them: the same bytes as the jansson page, cut at
 * the same message. */
static void test_history_page(void **state)
{
    (void)state;
    enum { N = 9 };
    mp_msg_row_t m[N];
    for (size_t i = 0; i < N; i++) {
        m[i] = text_row(nasty[i % (sizeof nasty / sizeof *nasty)]);
        m[i].id += i;
        m[i].seq = (int64_t)i + 1;
        m[i].sender_id = i % 3 == 0 ? 7 : 8;
    }
    mp_chat__vary_rows(m);
    char *whole = ref_page(&(mp_chat_page_t){.budget = SIZE_MAX}, m, N, false);
    size_t all = strlen(whole);
    free(whole);
    static const size_t sizes[] = {0, 1, 4, N};
    for (int ws = 0; ws < 2; ws++)
        for (size_t budget = 0; budget < all + 300; budget += 7)
            for (int more = 0; more < 2; more++)
                for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
                    size_t n = sizes[k];
                    mp_chat_page_t pg = {.ws = ws,
                                         .req_id = -12345 + (int64_t)budget,
                                         .user = 7,
                                         .conv = 18446744073709551615ULL - budget,
                                         .budget = budget};
                    char *ref = ref_page(&pg, m + N - n, n, more);
                    mp_msgenc_t e;
                    mp_msgenc_init(&e);
                    mp_chat__history_page(&e, &pg, m + N - n, n, more);
                    if (e.len != strlen(ref) || memcmp(e.buf, ref, e.len) != 0)
                        fail_msg("page (ws %d, budget %zu, n %zu) differs:\n fast %.*s\n json %s",
                                 ws, budget, n, (int)e.len, e.buf, ref);
                    mp_msgenc_free(&e);
                    free(ref);
                }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_optional_fields),  cmocka_unit_test(test_integers),
        cmocka_unit_test(test_digit_boundaries), cmocka_unit_test(test_max_length),
        cmocka_unit_test(test_random_texts),     cmocka_unit_test(test_fallback),
        cmocka_unit_test(test_history_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
