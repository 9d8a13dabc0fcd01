/* The scanner of the hot send frame (proto/sendscan.h): every shape it
 * accepts, each field of what it reads, and one refusal per deviation. Every
 * accepted frame is also read by the general path (jansson, the send verb's
 * field table and shape) and must give the same values there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>

#include "chat/chat.h"
#include "proto/sendscan.h"
#include "proto/validate.h"
#include "store/chat.h"
#include "util/id.h"

#define CMID_MAX MP_CHAT_CMID_MAX
#define TEXT_MAX MP_CHAT_TEXT_MAX_CHARS

/* The bench's frame (src/bench/pairs.c), with "conversation" and with "to". */
#define BENCH_CONV                                                                                 \
    "{\"id\":42,\"type\":\"send\",\"conversation\":\"612345678901234567\","                        \
    "\"client_msg_id\":\"0000194a2b3c4-f00d-3-1-17\",\"text\":\"1234567 padpadpad\"}"
#define BENCH_TO                                                                                   \
    "{\"id\":43,\"type\":\"send\",\"to\":\"612345678901234568\","                                  \
    "\"client_msg_id\":\"0000194a2b3c4-f00d-3-0-18\",\"text\":\"7654321 pad\"}"

/* A heap copy of m[0..n) of exactly n bytes, so that AddressSanitizer sees a
 * read past the frame's end. */
static char *exact_copy(const char *m, size_t n)
{
    char *c = malloc(n > 0 ? n : 1);
    assert_non_null(c);
    if (n > 0)
        memcpy(c, m, n);
    return c;
}

/* The general path's reading of m[0..n) as a plain text send: jansson with
 * JSON_REJECT_DUPLICATES, the gateway's id and type checks, the send verb's
 * field table and shape check (exactly one of conversation and to, kind text
 * with a non-empty text). True when it accepts; *g then holds its values
 * (strings pointing into *obj, which the caller releases) and *members the
 * object's member count. */
static bool general(const char *m, size_t n, mp_sendscan_t *g, json_t **obj, size_t *members)
{
    json_error_t err;
    json_t *o = json_loadb(m, n, JSON_REJECT_DUPLICATES, &err);
    *obj = o;
    memset(g, 0, sizeof *g);
    if (!json_is_object(o))
        return false;
    *members = json_object_size(o);
    json_t *id = json_object_get(o, "id");
    json_t *type = json_object_get(o, "type");
    if (!json_is_integer(id) || !json_is_string(type) || strcmp(json_string_value(type), "send"))
        return false;
    char msg[256] = "";
    if (mp_validate(o, mp_chat_send_fields, msg, sizeof msg) != MP_OK)
        return false;
    json_t *conv = json_object_get(o, "conversation");
    json_t *to = json_object_get(o, "to");
    json_t *kind = json_object_get(o, "kind");
    json_t *cmid = json_object_get(o, "client_msg_id");
    json_t *text = json_object_get(o, "text");
    if (json_is_string(conv) && !mp_id_parse(json_string_value(conv), &g->conversation))
        return false;
    if (json_is_string(to) && !mp_id_parse(json_string_value(to), &g->to))
        return false;
    if ((g->conversation != 0) + (g->to != 0) != 1 || json_object_get(o, "to_username") != NULL)
        return false;
    if (kind != NULL && !json_is_null(kind) && strcmp(json_string_value(kind), "text") != 0)
        return false;
    if (!json_is_string(text) || json_string_length(text) == 0)
        return false;
    g->id = json_integer_value(id);
    g->cmid = json_string_value(cmid);
    g->cmid_len = json_string_length(cmid);
    g->text = json_string_value(text);
    g->text_len = json_string_length(text);
    return true;
}

static bool general_accepts(const char *m, size_t n)
{
    mp_sendscan_t g;
    json_t *o;
    size_t members;
    bool ok = general(m, n, &g, &o, &members);
    json_decref(o);
    return ok;
}

/* Scans m[0..n) with the given limits; when accepted, checks what was read
 * against the general path and the contract. Returns the scanner's answer. */
static bool scan_lim(const char *m, size_t n, size_t cmid_max, size_t text_max, mp_sendscan_t *out)
{
    char *c = exact_copy(m, n);
    mp_sendscan_t s;
    bool ok = mp_sendscan(c, n, cmid_max, text_max, &s);
    if (ok) {
        /* The strings point into the frame. */
        assert_true(s.cmid >= c && s.cmid_len <= n && s.cmid <= c + n - s.cmid_len);
        assert_true(s.text >= c && s.text_len <= n && s.text <= c + n - s.text_len);
        assert_true(s.cmid_len >= 1 && s.cmid_len <= cmid_max);
        for (size_t i = 0; i < s.cmid_len; i++)
            assert_true(s.cmid[i] >= 0x20 && s.cmid[i] <= 0x7e);
        assert_true(s.text_len >= 1);
        assert_true(mp_utf8_valid(s.text, s.text_len));
        assert_true(mp_utf8_chars(s.text, s.text_len) <= text_max);
        assert_true(mp_text_check(s.text, s.text_len, MP_TEXT_MESSAGE));
        assert_true((s.conversation != 0) != (s.to != 0));

        mp_sendscan_t g;
        json_t *o;
        size_t members = 0;
        assert_true(general(c, n, &g, &o, &members));
        assert_int_equal(members, 5);
        assert_true(g.id == s.id);
        assert_true(g.conversation == s.conversation);
        assert_true(g.to == s.to);
        assert_int_equal(g.cmid_len, s.cmid_len);
        assert_memory_equal(g.cmid, s.cmid, s.cmid_len);
        assert_int_equal(g.text_len, s.text_len);
        assert_memory_equal(g.text, s.text, s.text_len);
        json_decref(o);

        if (out != NULL) {
            /* Rebased onto the caller's m, which the copy mirrors. */
            *out = s;
            out->cmid = m + (s.cmid - c);
            out->text = m + (s.text - c);
        }
    }
    free(c);
    return ok;
}

static bool scan(const char *m, size_t n, mp_sendscan_t *out)
{
    return scan_lim(m, n, CMID_MAX, TEXT_MAX, out);
}

/* Accepted with the server's limits; returns what was read. */
static mp_sendscan_t accepted_n(const char *m, size_t n)
{
    mp_sendscan_t s;
    if (!scan(m, n, &s))
        fail_msg("refused: %.*s", (int)(n < 300 ? n : 300), m);
    return s;
}

static mp_sendscan_t accepted(const char *m)
{
    return accepted_n(m, strlen(m));
}

static void refuse_n(const char *m, size_t n)
{
    if (scan(m, n, NULL))
        fail_msg("accepted: %.*s", (int)(n < 300 ? n : 300), m);
}

/* A string literal, NUL bytes included. */
#define REFUSE_LIT(lit) refuse_n(lit, sizeof(lit) - 1)

static void refuse(const char *m)
{
    refuse_n(m, strlen(m));
}

/* Refused by the scanner although the general path takes it: the frame goes
 * to the general path, which answers it as before. */
static void fallback(const char *m)
{
    refuse(m);
    assert_true(general_accepts(m, strlen(m)));
}

/* Refused by both. */
static void invalid(const char *m)
{
    refuse(m);
    assert_false(general_accepts(m, strlen(m)));
}

/* Every proper prefix of m (which ends with its closing brace) is refused. */
static void refuse_prefixes(const char *m)
{
    size_t n = strlen(m);
    assert_true(n > 0 && m[n - 1] == '}');
    for (size_t k = 0; k < n; k++)
        refuse_n(m, k);
    accepted_n(m, n);
}

/* printf into a buffer that the caller frees. */
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int len = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    assert_true(len >= 0);
    char *s = malloc((size_t)len + 1);
    assert_non_null(s);
    va_start(ap, f);
    vsnprintf(s, (size_t)len + 1, f, ap);
    va_end(ap);
    return s;
}

/* count copies of unit, NUL terminated; the caller frees. */
static char *repeat(const char *unit, size_t count)
{
    size_t w = strlen(unit);
    char *s = malloc(w * count + 1);
    assert_non_null(s);
    for (size_t i = 0; i < count; i++)
        memcpy(s + i * w, unit, w);
    s[w * count] = '\0';
    return s;
}

/* A conversation frame with this text (raw bytes between the quotes). */
static char *with_text(const char *text)
{
    return fmt("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\","
               "\"text\":\"%s\"}",
               text);
}

static char *with_cmid(const char *cmid)
{
    return fmt("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"%s\","
               "\"text\":\"t\"}",
               cmid);
}

/* A frame with this raw id value and the rest valid. */
static char *with_id(const char *id)
{
    return fmt("{\"id\":%s,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}",
               id);
}

/* A frame with this raw conversation value. */
static char *with_conv(const char *conv)
{
    return fmt("{\"id\":1,\"type\":\"send\",\"conversation\":%s,\"client_msg_id\":\"c\","
               "\"text\":\"t\"}",
               conv);
}

static void test_bench_frames(void **state)
{
    (void)state;
    const char *m = BENCH_CONV;
    mp_sendscan_t s = accepted(m);
    assert_true(s.id == 42);
    assert_true(s.conversation == 612345678901234567ull);
    assert_true(s.to == 0);
    assert_ptr_equal(s.cmid, strstr(m, "0000194a2b3c4"));
    assert_int_equal(s.cmid_len, strlen("0000194a2b3c4-f00d-3-1-17"));
    assert_ptr_equal(s.text, strstr(m, "1234567 pad"));
    assert_int_equal(s.text_len, strlen("1234567 padpadpad"));

    m = BENCH_TO;
    s = accepted(m);
    assert_true(s.id == 43);
    assert_true(s.conversation == 0);
    assert_true(s.to == 612345678901234568ull);
    assert_ptr_equal(s.cmid, strstr(m, "0000194a2b3c4"));
    assert_int_equal(s.cmid_len, strlen("0000194a2b3c4-f00d-3-0-18"));
    assert_ptr_equal(s.text, strstr(m, "7654321 pad"));
    assert_int_equal(s.text_len, strlen("7654321 pad"));

    /* The header's own example. */
    m = "{\"id\":7,\"type\":\"send\",\"conversation\":\"123\",\"client_msg_id\":\"m1\","
        "\"text\":\"hi\"}";
    s = accepted(m);
    assert_true(s.id == 7);
    assert_true(s.conversation == 123);
    assert_true(s.to == 0);
    assert_ptr_equal(s.cmid, m + strlen(m) - strlen("m1\",\"text\":\"hi\"}"));
    assert_int_equal(s.cmid_len, 2);
    assert_ptr_equal(s.text, m + strlen(m) - strlen("hi\"}"));
    assert_int_equal(s.text_len, 2);
}

static void test_member_order(void **state)
{
    (void)state;
    /* Every rotation of the five members, and a few shuffles. */
    static const char *const mem[] = {"\"id\":-3", "\"type\":\"send\"", "\"to\":\"77\"",
                                      "\"client_msg_id\":\"abc\"", "\"text\":\"h\xc3\xa9\""};
    static const int orders[][5] = {
        {0, 1, 2, 3, 4}, {1, 2, 3, 4, 0}, {2, 3, 4, 0, 1}, {3, 4, 0, 1, 2}, {4, 0, 1, 2, 3},
        {4, 3, 2, 1, 0}, {2, 0, 4, 1, 3}, {1, 0, 3, 2, 4}, {3, 1, 4, 0, 2},
    };
    for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
        const int *o = orders[i];
        char *m = fmt("{%s,%s,%s,%s,%s}", mem[o[0]], mem[o[1]], mem[o[2]], mem[o[3]], mem[o[4]]);
        mp_sendscan_t s = accepted(m);
        assert_true(s.id == -3);
        assert_true(s.to == 77);
        assert_true(s.conversation == 0);
        assert_int_equal(s.cmid_len, 3);
        assert_memory_equal(s.cmid, "abc", 3);
        assert_ptr_equal(s.cmid, strstr(m, "abc\""));
        assert_int_equal(s.text_len, 3);
        assert_memory_equal(s.text, "h\xc3\xa9", 3);
        assert_ptr_equal(s.text, strstr(m, "h\xc3\xa9"));
        free(m);
    }
}

static void test_whitespace(void **state)
{
    (void)state;
    const char *m = " \t\r\n{ \t\r\n\"id\" \t\r\n: \t\r\n9 \t\r\n, \t\r\n\"type\"\n:\n\"send\"\r,\r"
                    "\"conversation\"\t:\t\"11\"  ,  \"client_msg_id\"  :  \"x y\"\n\n,\n\n"
                    "\"text\" : \" a b \" \t\r\n} \t\r\n";
    mp_sendscan_t s = accepted(m);
    assert_true(s.id == 9);
    assert_true(s.conversation == 11);
    assert_int_equal(s.cmid_len, 3);
    assert_memory_equal(s.cmid, "x y", 3);
    /* Spaces inside a string are its value. */
    assert_int_equal(s.text_len, 5);
    assert_memory_equal(s.text, " a b ", 5);
    assert_ptr_equal(s.text, strstr(m, " a b "));

    /* Whitespace JSON does not have, between tokens. */
    refuse("{\"id\":1,\f\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}");
    refuse("{\"id\":1,\v\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}");
    refuse("{\"id\":1,\xc2\xa0\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\","
           "\"text\":\"t\"}");
    refuse("\xef\xbb\xbf{\"id\":1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\","
           "\"text\":\"t\"}");
    refuse("{\"id\":1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}\f");
}

static void test_ids(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t value;
    } ok[] = {
        {"0", 0},
        {"-0", 0},
        {"-1", -1},
        {"1", 1},
        {"123456789", 123456789},
        {"9223372036854775807", INT64_MAX},
        {"-9223372036854775808", INT64_MIN},
        {"-9223372036854775807", -INT64_MAX},
        {"9223372036854775806", INT64_MAX - 1},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *m = with_id(ok[i].text);
        mp_sendscan_t s = accepted(m);
        if (s.id != ok[i].value)
            fail_msg("id %s read as %" PRId64, ok[i].text, s.id);
        free(m);
    }

    /* Not an integer jansson reads. */
    static const char *const bad[] = {
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999999",
        "-",
        "--1",
        "+1",
        "01",
        "00",
        "-01",
        "-00",
        "1.0",
        "1.",
        "7.5",
        "1e3",
        "1E3",
        "1e+3",
        "0e0",
        "-1e3",
        ".5",
        "0x10",
        "1a",
        "",
        "true",
        "false",
        "null",
        "[1]",
        "{}",
        "Infinity",
        "NaN",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *m = with_id(bad[i]);
        invalid(m);
        free(m);
    }
    /* A string id: the general path refuses it ("must be an integer"). */
    char *m = with_id("\"7\"");
    invalid(m);
    free(m);
}

static void test_type(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\"sendx\"", "\"Send\"",   "\"SEND\"",        "\"sen\"", "\"\"",
        "\" send\"", "\"send \"",  "\"history\"",     "1",       "null",
        "true",      "[\"send\"]", "\"send\\u0000\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *m = fmt("{\"id\":1,\"type\":%s,\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}",
                      bad[i]);
        invalid(m);
        free(m);
    }
    /* "send" written with an escape is "send" to jansson: the general path. */
    fallback("{\"id\":1,\"type\":\"s\\u0065nd\",\"to\":\"9\",\"client_msg_id\":\"c\","
             "\"text\":\"t\"}");
}

static void test_members(void **state)
{
    (void)state;
    /* Another member, even one the general path knows. */
    fallback("{\"id\":1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\","
             "\"kind\":\"text\"}");
    fallback("{\"x\":1,\"id\":1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\","
             "\"text\":\"t\"}");
    fallback("{\"id\":1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\","
             "\"mention_all\":false}");
    refuse("{\"id\":1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\","
           "\"\":0}");
    /* A name that starts or ends like a member's. */
    refuse("{\"idx\":1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}");
    refuse("{\"i\":1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}");
    refuse("{\"id\":1,\"type\":\"send\",\"tO\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}");
    refuse("{\"id\":1,\"type\":\"send\",\"to\":\"9\",\"client_msg_idx\":\"c\",\"text\":\"t\"}");
    refuse("{\"id\":1,\"type\":\"send\",\"conversations\":\"9\",\"client_msg_id\":\"c\","
           "\"text\":\"t\"}");

    /* Each member twice (jansson refuses duplicates). */
    invalid("{\"id\":1,\"id\":1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\","
            "\"text\":\"t\"}");
    invalid("{\"id\":1,\"type\":\"send\",\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\","
            "\"text\":\"t\"}");
    invalid("{\"id\":1,\"type\":\"send\",\"to\":\"9\",\"to\":\"9\",\"client_msg_id\":\"c\","
            "\"text\":\"t\"}");
    invalid("{\"id\":1,\"type\":\"send\",\"conversation\":\"9\",\"conversation\":\"8\","
            "\"client_msg_id\":\"c\",\"text\":\"t\"}");
    invalid("{\"id\":1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\","
            "\"client_msg_id\":\"d\",\"text\":\"t\"}");
    invalid("{\"id\":1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\","
            "\"text\":\"t\"}");

    /* Both conversation and to, neither. */
    invalid("{\"id\":1,\"type\":\"send\",\"conversation\":\"8\",\"to\":\"9\","
            "\"client_msg_id\":\"c\",\"text\":\"t\"}");
    invalid("{\"id\":1,\"type\":\"send\",\"client_msg_id\":\"c\",\"text\":\"t\"}");

    /* Each required member missing. */
    invalid("{\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}");
    invalid("{\"id\":1,\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}");
    invalid("{\"id\":1,\"type\":\"send\",\"to\":\"9\",\"text\":\"t\"}");
    invalid("{\"id\":1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\"}");
    refuse("{}");
    refuse("{ }");

    /* null for each member (null is "absent" to the field table). */
    static const char *const vals[] = {"1", "\"send\"", "\"5\"", "\"c\"", "\"t\""};
    for (size_t i = 0; i < 5; i++) {
        const char *v[5];
        for (size_t j = 0; j < 5; j++)
            v[j] = j == i ? "null" : vals[j];
        char *m =
            fmt("{\"id\":%s,\"type\":%s,\"conversation\":%s,\"client_msg_id\":%s,\"text\":%s}",
                v[0], v[1], v[2], v[3], v[4]);
        invalid(m);
        free(m);
    }
    /* A null "to" beside a conversation is "absent" to the general path. */
    fallback("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"to\":null,"
             "\"client_msg_id\":\"c\",\"text\":\"t\"}");
}

static void test_escapes(void **state)
{
    (void)state;
    /* In the text: the general path reads them, the scanner does not. */
    fallback("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\","
             "\"text\":\"a\\nb\"}");
    fallback("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\","
             "\"text\":\"say \\\"hi\\\"\"}");
    fallback("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\","
             "\"text\":\"caf\\u00e9\"}");
    fallback("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\","
             "\"text\":\"a\\\\b\"}");
    fallback("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\","
             "\"text\":\"a\\/b\"}");
    fallback("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\","
             "\"text\":\"\\ud83d\\ude00\"}");
    /* A backslash at the end, an unknown escape. */
    invalid("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\","
            "\"text\":\"a\\\"}");
    invalid("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\","
            "\"text\":\"a\\qb\"}");
    /* In the other strings. */
    fallback("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\\u0064\","
             "\"text\":\"t\"}");
    fallback("{\"id\":1,\"type\":\"send\",\"conversation\":\"\\u0035\",\"client_msg_id\":\"c\","
             "\"text\":\"t\"}");
    /* In a key. */
    fallback("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\","
             "\"t\\u0065xt\":\"t\"}");
    fallback("{\"\\u0069d\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\","
             "\"text\":\"t\"}");
    fallback("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client\\u005fmsg_id\":\"c\","
             "\"text\":\"t\"}");
}

static void test_raw_controls(void **state)
{
    (void)state;
    /* Unescaped control bytes inside strings are not JSON. */
    static const char *const texts[] = {"a\tb", "a\nb", "a\rb", "\x01", "a\x1f"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char *m = with_text(texts[i]);
        invalid(m);
        free(m);
        m = with_cmid(texts[i]);
        invalid(m);
        free(m);
    }
    invalid("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\","
            "\"te\txt\":\"t\"}");
    /* A NUL byte in the text, in a key, after the frame. */
    REFUSE_LIT("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\","
               "\"text\":\"a\0b\"}");
    REFUSE_LIT("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\","
               "\"text\0\":\"t\"}");
    REFUSE_LIT("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\","
               "\"text\":\"t\"}\0");
    REFUSE_LIT("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\0\","
               "\"text\":\"t\"}");
}

static void test_text(void **state)
{
    (void)state;
    /* Exactly the limit, in characters of each width. */
    static const char *const units[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t w = strlen(units[u]);
        char *t = repeat(units[u], TEXT_MAX);
        char *m = with_text(t);
        mp_sendscan_t s = accepted(m);
        assert_int_equal(s.text_len, w * TEXT_MAX);
        assert_ptr_equal(s.text, strstr(m, t));
        assert_memory_equal(s.text, t, w * TEXT_MAX);
        free(m);
        free(t);
        /* One more character is too long, for both paths. */
        t = repeat(units[u], TEXT_MAX + 1);
        m = with_text(t);
        invalid(m);
        free(m);
        free(t);
    }
    /* The limit mixed: 4095 one-byte characters and one of four bytes. */
    char *t = repeat("a", TEXT_MAX - 1);
    char *m = fmt("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\","
                  "\"text\":\"%s\xf0\x9f\x98\x80\"}",
                  t);
    accepted(m);
    free(m);
    m = fmt("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\","
            "\"text\":\"%s\xf0\x9f\x98\x80\xc3\xa9\"}",
            t);
    invalid(m);
    free(m);
    free(t);

    /* Characters message text may hold. */
    static const char *const good[] = {
        "x",
        " ",
        "\x7e",
        "\xc2\xa0",
        "\xc2\xa0\x61",
        "\xe2\x80\xae",
        "\xe2\x80\xa8",
        "\xef\xbb\xbf",
        "\xf4\x8f\xbf\xbf",
        "{}[],:'",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        m = with_text(good[i]);
        mp_sendscan_t s = accepted(m);
        assert_int_equal(s.text_len, strlen(good[i]));
        free(m);
    }

    /* Empty; DEL and C1 controls (mp_text_check refuses them); invalid UTF-8. */
    static const char *const bad[] = {
        "",
        "\x7f",
        "a\x7f",
        "\xc2\x80",
        "\xc2\x85",
        "ok\xc2\x85",
        "\xc2\x9f",
        "\xff",
        "\xfe",
        "a\xc3",
        "\xc3(",
        "\x80",
        "\xc0\x80",
        "\xc1\xbf",
        "\xe0\x80\xaf",
        "\xed\xa0\x80",
        "\xed\xbf\xbf",
        "\xf4\x90\x80\x80",
        "\xf5\x80\x80\x80",
        "\xf0\x9f\x98",
        "\xe2\x82",
        "\xf8\x88\x80\x80\x80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = with_text(bad[i]);
        invalid(m);
        free(m);
    }
    /* A text that is not a string. */
    static const char *const notstr[] = {"1", "true", "[\"t\"]", "{\"a\":\"t\"}"};
    for (size_t i = 0; i < sizeof notstr / sizeof notstr[0]; i++) {
        m = fmt("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":\"c\","
                "\"text\":%s}",
                notstr[i]);
        invalid(m);
        free(m);
    }
}

static void test_cmid(void **state)
{
    (void)state;
    /* Exactly the limit, every printable ASCII byte but the two that need an
     * escape. */
    char cmid[CMID_MAX + 2];
    for (size_t i = 0; i < CMID_MAX; i++) {
        char ch = (char)(0x20 + i % (0x7f - 0x20));
        cmid[i] = ch == '"' || ch == '\\' ? '#' : ch;
    }
    cmid[CMID_MAX] = '\0';
    char *m = with_cmid(cmid);
    mp_sendscan_t s = accepted(m);
    assert_int_equal(s.cmid_len, CMID_MAX);
    assert_memory_equal(s.cmid, cmid, CMID_MAX);
    assert_ptr_equal(s.cmid, strstr(m, cmid));
    free(m);
    /* The rest of printable ASCII. */
    char rest[64];
    size_t k = 0;
    for (int ch = 0x20 + CMID_MAX; ch <= 0x7e; ch++)
        if (ch != '"' && ch != '\\')
            rest[k++] = (char)ch;
    rest[k] = '\0';
    m = with_cmid(rest);
    s = accepted(m);
    assert_int_equal(s.cmid_len, k);
    free(m);
    /* One byte too many. */
    cmid[CMID_MAX] = 'z';
    cmid[CMID_MAX + 1] = '\0';
    m = with_cmid(cmid);
    invalid(m);
    free(m);

    static const char *const bad[] = {
        "", "\xc3\xa9", "ab\xc3\xa9", "\x7f", "a\x7f", "\xc2\x85", "\xff",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = with_cmid(bad[i]);
        invalid(m);
        free(m);
    }
    /* Not a string. */
    invalid("{\"id\":1,\"type\":\"send\",\"conversation\":\"5\",\"client_msg_id\":7,"
            "\"text\":\"t\"}");
}

static void test_conversation_and_to(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t value;
    } ok[] = {
        {"\"1\"", 1},
        {"\"9\"", 9},
        {"\"10\"", 10},
        {"\"18446744073709551615\"", UINT64_MAX},
        {"\"18446744073709551614\"", UINT64_MAX - 1},
        {"\"9223372036854775808\"", 9223372036854775808ull},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *m = with_conv(ok[i].text);
        mp_sendscan_t s = accepted(m);
        assert_true(s.conversation == ok[i].value);
        assert_true(s.to == 0);
        free(m);
        m = fmt("{\"id\":1,\"type\":\"send\",\"to\":%s,\"client_msg_id\":\"c\",\"text\":\"t\"}",
                ok[i].text);
        s = accepted(m);
        assert_true(s.to == ok[i].value);
        assert_true(s.conversation == 0);
        free(m);
    }

    static const char *const bad[] = {
        "\"0\"",
        "\"00\"",
        "\"01\"",
        "\"abc\"",
        "\"1a\"",
        "\"\"",
        "\" 1\"",
        "\"1 \"",
        "\"-1\"",
        "\"+1\"",
        "\"1.0\"",
        "\"18446744073709551616\"",
        "\"99999999999999999999\"",
        "\"000000000000000000001\"",
        "\"100000000000000000000\"",
        "123",
        "0",
        "1.5",
        "true",
        "[\"1\"]",
        "{}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *m = with_conv(bad[i]);
        invalid(m);
        free(m);
        m = fmt("{\"id\":1,\"type\":\"send\",\"to\":%s,\"client_msg_id\":\"c\",\"text\":\"t\"}",
                bad[i]);
        invalid(m);
        free(m);
    }
}

static void test_not_the_frame(void **state)
{
    (void)state;
    /* Nothing, or nothing but whitespace. */
    refuse_n("", 0);
    refuse(" ");
    refuse(" \t\r\n");
    /* Not an object. */
    refuse("[]");
    refuse("\"x\"");
    refuse("1");
    refuse("null");
    refuse("[{\"id\":1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}]");
    refuse("\"{\\\"id\\\":1}\"");
    refuse("{");
    refuse("}");
    /* Broken syntax around a valid frame's members. */
    invalid("{\"id\":1 \"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}");
    invalid("{\"id\" 1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}");
    invalid("{\"id\"::1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}");
    invalid("{\"id\":1,,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}");
    invalid("{,\"id\":1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}");
    invalid("{\"id\":1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\",}");
    invalid("{id:1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}");
    invalid("{'id':1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}");
    invalid("{\"id\":1,\"type\":'send',\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}");
    invalid("{\"id\":1;\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}");
    invalid("{\"id\"=1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"}");
    invalid("{\"id\":1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\"]");
    invalid("{\"id\":1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t}");
    invalid("{\"id\":1,\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":t\"}");

    /* Trailing bytes after the closing brace. */
    static const char *const tails[] = {"x", "}", ",", " {}", "\n]", " 1", "\"", "/", "//"};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        char *m = fmt("%s%s", BENCH_CONV, tails[i]);
        invalid(m);
        free(m);
    }
    invalid(BENCH_CONV BENCH_TO);
    /* Trailing whitespace is fine. */
    accepted(BENCH_CONV " \n\t\r ");
}

static void test_prefixes(void **state)
{
    (void)state;
    refuse_prefixes(BENCH_CONV);
    refuse_prefixes(BENCH_TO);
    refuse_prefixes(
        "{\"id\":-9223372036854775808,\"type\":\"send\",\"to\":\"18446744073709551615\","
        "\"client_msg_id\":\"c\",\"text\":\"\xf0\x9f\x98\x80\xc3\xa9\"}");
    refuse_prefixes("{ \"text\" : \"\xe2\x82\xac\" , \"client_msg_id\" : \"c\" , \"id\" : 10 , "
                    "\"conversation\" : \"12\" , \"type\" : \"send\" }");
    /* A prefix that ends inside a number is still a number, but not the frame. */
    refuse("{\"type\":\"send\",\"to\":\"9\",\"client_msg_id\":\"c\",\"text\":\"t\",\"id\":12");
}

static void test_limits(void **state)
{
    (void)state;
    mp_sendscan_t s;
    /* Smaller limits than the server's: both bounds are the caller's. */
    char *m = with_cmid("12345678");
    assert_true(scan_lim(m, strlen(m), 8, 5, &s));
    assert_int_equal(s.cmid_len, 8);
    assert_false(scan_lim(m, strlen(m), 7, 5, &s));
    free(m);
    m = with_text("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    assert_true(scan_lim(m, strlen(m), 8, 5, &s));
    assert_int_equal(s.text_len, 10);
    assert_false(scan_lim(m, strlen(m), 8, 4, &s));
    free(m);
    m = with_text("abcde");
    assert_true(scan_lim(m, strlen(m), 8, 5, &s));
    assert_false(scan_lim(m, strlen(m), 8, 4, &s));
    free(m);
    m = with_text("\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98"
                  "\x80");
    assert_true(scan_lim(m, strlen(m), 8, 5, &s));
    assert_int_equal(s.text_len, 20);
    assert_false(scan_lim(m, strlen(m), 8, 4, &s));
    free(m);
    /* Zero limits take nothing. */
    assert_false(scan_lim(BENCH_CONV, strlen(BENCH_CONV), 0, TEXT_MAX, &s));
    assert_false(scan_lim(BENCH_CONV, strlen(BENCH_CONV), CMID_MAX, 0, &s));
    assert_true(scan_lim(BENCH_CONV, strlen(BENCH_CONV), 25, 17, &s));
    assert_false(scan_lim(BENCH_CONV, strlen(BENCH_CONV), 24, 17, &s));
    assert_false(scan_lim(BENCH_CONV, strlen(BENCH_CONV), 25, 16, &s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bench_frames),
        cmocka_unit_test(test_member_order),
        cmocka_unit_test(test_whitespace),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_type),
        cmocka_unit_test(test_members),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_raw_controls),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_cmid),
        cmocka_unit_test(test_conversation_and_to),
        cmocka_unit_test(test_not_the_frame),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
