/* Declarative validation: every field type and limit, strict UTF-8, and the
 * characters refused in message text and in names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "proto/validate.h"

static const mp_field_t send_fields[] = {
    {"conversation", MP_F_ID, false, 0, 0},
    {"client_msg_id", MP_F_ASCII, true, 1, 64},
    {"text", MP_F_STRING, true, 1, 4096},
    {0},
};

static const mp_field_t misc_fields[] = {
    {"limit", MP_F_INT, false, 1, 200},
    {"offset", MP_F_INT, false, -5, 0},
    {"at_least", MP_F_INT, false, 3, 0},
    {"any_int", MP_F_INT, false, 0, 0},
    {"mute", MP_F_BOOL, false, 0, 0},
    {"meta", MP_F_OBJECT, false, 0, 0},
    {"ids", MP_F_ARRAY, false, 1, 3},
    {"list", MP_F_ARRAY, false, 0, 0},
    {"name", MP_F_STRING, false, 0, 0},
    {"token", MP_F_ASCII, false, 0, 0},
    {0},
};

/* Validates JSON text against fields; returns the message ("" when valid). */
static const char *check(const char *text, const mp_field_t *fields)
{
    static char msg[256];
    json_error_t e;
    json_t *obj = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (obj == NULL)
        fail_msg("bad test JSON %s: %s", text, e.text);
    strcpy(msg, "(unset)");
    mp_err_t rc = mp_validate(obj, fields, msg, sizeof msg);
    json_decref(obj);
    if (rc == MP_OK)
        return "";
    assert_int_equal(rc, MP_ERR_BAD_REQUEST);
    return msg;
}

static void test_required_and_types(void **state)
{
    (void)state;
    assert_string_equal(check("{\"client_msg_id\":\"a\",\"text\":\"hi\"}", send_fields), "");
    assert_string_equal(check("{\"text\":\"hi\"}", send_fields),
                        "field 'client_msg_id' is required");
    assert_string_equal(check("{\"client_msg_id\":null,\"text\":\"hi\"}", send_fields),
                        "field 'client_msg_id' is required");
    assert_string_equal(check("{\"client_msg_id\":\"a\"}", send_fields),
                        "field 'text' is required");
    assert_string_equal(check("{\"client_msg_id\":\"a\",\"text\":5}", send_fields),
                        "field 'text' must be a string of 1 to 4096 characters");
    assert_string_equal(check("[1]", send_fields), "the request must be a JSON object");
    assert_string_equal(check("{}", misc_fields), "");
    /* Unknown members are ignored; null optional members count as absent. */
    assert_string_equal(check("{\"zzz\":1,\"limit\":null}", misc_fields), "");
    assert_string_equal(check("{}", NULL), "");
}

static void test_string_limits(void **state)
{
    (void)state;
    char buf[20000];
    assert_string_equal(check("{\"client_msg_id\":\"a\",\"text\":\"\"}", send_fields),
                        "field 'text' must be a string of 1 to 4096 characters");
    /* 4096 characters of 3 bytes each (U+20AC) are fine; 4097 are not. */
    strcpy(buf, "{\"client_msg_id\":\"a\",\"text\":\"");
    for (int i = 0; i < 4096; i++)
        strcat(buf, "\xe2\x82\xac");
    strcat(buf, "\"}");
    assert_string_equal(check(buf, send_fields), "");
    buf[strlen(buf) - 2] = '\0';
    strcat(buf, "x\"}");
    assert_string_equal(check(buf, send_fields),
                        "field 'text' must be a string of 1 to 4096 characters");
    /* An embedded NUL is refused. */
    assert_string_equal(check("{\"client_msg_id\":\"a\",\"text\":\"a\\u0000b\"}", send_fields),
                        "field 'text' must be valid UTF-8 text without NUL");
    assert_string_equal(check("{\"name\":\"\"}", misc_fields), "");
    assert_string_equal(check("{\"name\":[]}", misc_fields), "field 'name' must be a string");
}

static void test_ascii(void **state)
{
    (void)state;
    char buf[200];
    const char *want = "field 'client_msg_id' must be a string of 1 to 64 printable ASCII "
                       "characters";
    assert_string_equal(check("{\"client_msg_id\":\"\",\"text\":\"x\"}", send_fields), want);
    assert_string_equal(check("{\"client_msg_id\":\"a b~!\",\"text\":\"x\"}", send_fields), "");
    assert_string_equal(check("{\"client_msg_id\":\"a\\tb\",\"text\":\"x\"}", send_fields), want);
    assert_string_equal(check("{\"client_msg_id\":\"\\u007f\",\"text\":\"x\"}", send_fields), want);
    assert_string_equal(check("{\"client_msg_id\":\"\xc3\xa9\",\"text\":\"x\"}", send_fields),
                        want);
    assert_string_equal(check("{\"client_msg_id\":\"a\\u0000\",\"text\":\"x\"}", send_fields),
                        want);
    assert_string_equal(check("{\"client_msg_id\":7,\"text\":\"x\"}", send_fields), want);
    snprintf(buf, sizeof buf, "{\"client_msg_id\":\"%064d\",\"text\":\"x\"}", 1);
    assert_string_equal(check(buf, send_fields), "");
    snprintf(buf, sizeof buf, "{\"client_msg_id\":\"%065d\",\"text\":\"x\"}", 1);
    assert_string_equal(check(buf, send_fields), want);
    assert_string_equal(check("{\"token\":\"\\n\"}", misc_fields),
                        "field 'token' must be a string of printable ASCII");
}

static void test_ints(void **state)
{
    (void)state;
    assert_string_equal(check("{\"limit\":1}", misc_fields), "");
    assert_string_equal(check("{\"limit\":200}", misc_fields), "");
    assert_string_equal(check("{\"limit\":0}", misc_fields),
                        "field 'limit' must be an integer from 1 to 200");
    assert_string_equal(check("{\"limit\":201}", misc_fields),
                        "field 'limit' must be an integer from 1 to 200");
    assert_string_equal(check("{\"limit\":5.0}", misc_fields),
                        "field 'limit' must be an integer from 1 to 200");
    assert_string_equal(check("{\"limit\":\"5\"}", misc_fields),
                        "field 'limit' must be an integer from 1 to 200");
    assert_string_equal(check("{\"offset\":-5}", misc_fields), "");
    assert_string_equal(check("{\"offset\":1}", misc_fields),
                        "field 'offset' must be an integer from -5 to 0");
    assert_string_equal(check("{\"at_least\":9223372036854775807}", misc_fields), "");
    assert_string_equal(check("{\"at_least\":2}", misc_fields),
                        "field 'at_least' must be an integer of at least 3");
    assert_string_equal(check("{\"any_int\":-9223372036854775808}", misc_fields), "");
    assert_string_equal(check("{\"any_int\":true}", misc_fields),
                        "field 'any_int' must be an integer");
}

static void test_other_types(void **state)
{
    (void)state;
    assert_string_equal(check("{\"mute\":false}", misc_fields), "");
    assert_string_equal(check("{\"mute\":0}", misc_fields), "field 'mute' must be true or false");
    assert_string_equal(check("{\"meta\":{}}", misc_fields), "");
    assert_string_equal(check("{\"meta\":[]}", misc_fields), "field 'meta' must be an object");
    assert_string_equal(check("{\"ids\":[1]}", misc_fields), "");
    assert_string_equal(check("{\"ids\":[1,2,3]}", misc_fields), "");
    assert_string_equal(check("{\"ids\":[]}", misc_fields),
                        "field 'ids' must be an array of 1 to 3 elements");
    assert_string_equal(check("{\"ids\":[1,2,3,4]}", misc_fields),
                        "field 'ids' must be an array of 1 to 3 elements");
    assert_string_equal(check("{\"ids\":{}}", misc_fields),
                        "field 'ids' must be an array of 1 to 3 elements");
    assert_string_equal(check("{\"list\":[]}", misc_fields), "");
    assert_string_equal(check("{\"list\":1}", misc_fields), "field 'list' must be an array");
}

static void test_ids(void **state)
{
    (void)state;
    const char *want = "field 'conversation' must be an id (a decimal string)";
    const char *ok = "{\"conversation\":\"18446744073709551615\",\"client_msg_id\":\"a\","
                     "\"text\":\"x\"}";
    assert_string_equal(check(ok, send_fields), "");
    const char *bad[] = {"\"0\"",   "\"01\"", "\"-1\"", "\"18446744073709551616\"",
                         "\"12a\"", "\"\"",   "12",     "\"1\\u00002\"",
                         "\" 1\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[200];
        snprintf(buf, sizeof buf, "{\"conversation\":%s,\"client_msg_id\":\"a\",\"text\":\"x\"}",
                 bad[i]);
        assert_string_equal(check(buf, send_fields), want);
    }
}

static void test_utf8(void **state)
{
    (void)state;
#define V(s) mp_utf8_valid(s, sizeof(s) - 1)
    assert_true(V(""));
    assert_true(V("plain ascii"));
    assert_true(V("\x00"));             /* NUL is valid UTF-8 (refused by the validator) */
    assert_true(V("\xc2\x80"));         /* U+0080, smallest 2-byte */
    assert_true(V("\xdf\xbf"));         /* U+07FF */
    assert_true(V("\xe0\xa0\x80"));     /* U+0800, smallest 3-byte */
    assert_true(V("\xed\x9f\xbf"));     /* U+D7FF, just below the surrogates */
    assert_true(V("\xee\x80\x80"));     /* U+E000, just above */
    assert_true(V("\xef\xbf\xbf"));     /* U+FFFF */
    assert_true(V("\xf0\x90\x80\x80")); /* U+10000, smallest 4-byte */
    assert_true(V("\xf4\x8f\xbf\xbf")); /* U+10FFFF, the maximum */
    assert_true(V("h\xc3\xa9llo \xf0\x9f\x90\xa6"));

    assert_false(V("\xc0\xaf"));         /* overlong '/' */
    assert_false(V("\xc1\xbf"));         /* overlong */
    assert_false(V("\xe0\x80\xaf"));     /* overlong 3-byte */
    assert_false(V("\xe0\x9f\xbf"));     /* overlong U+07FF */
    assert_false(V("\xf0\x80\x80\xaf")); /* overlong 4-byte */
    assert_false(V("\xf0\x8f\xbf\xbf")); /* overlong U+FFFF */
    assert_false(V("\xed\xa0\x80"));     /* U+D800 surrogate */
    assert_false(V("\xed\xbf\xbf"));     /* U+DFFF surrogate */
    assert_false(V("\xf4\x90\x80\x80")); /* U+110000 */
    assert_false(V("\xf5\x80\x80\x80"));
    assert_false(V("\xf8\x88\x80\x80\x80")); /* 5-byte form */
    assert_false(V("\xff"));
    assert_false(V("\x80")); /* stray continuation */
    assert_false(V("a\xbf"));
    assert_false(V("\xc3"));         /* truncated */
    assert_false(V("\xe2\x82"));     /* truncated */
    assert_false(V("\xf0\x9f\x90")); /* truncated */
    assert_false(V("\xe2\x82x"));    /* bad continuation */
    assert_false(V("\xc3\xc3\xa9"));
    /* The length is respected: a valid prefix of an invalid buffer is valid. */
    assert_true(mp_utf8_valid("ab\xff", 2));
    assert_false(mp_utf8_valid("\xe2\x82\xac", 2));
    /* ASCII is taken eight bytes at a time: a bad byte or a sequence at
     * every offset of a long run, and a sequence across an 8-byte step. */
    char run[40];
    for (size_t at = 0; at + 4 <= sizeof run; at++) {
        memset(run, 'a', sizeof run);
        run[at] = (char)0xff;
        assert_false(mp_utf8_valid(run, sizeof run));
        assert_true(mp_utf8_valid(run, at));
        memcpy(run + at, "\xf0\x9f\x90\xa6", 4);
        assert_true(mp_utf8_valid(run, sizeof run));
        assert_false(mp_utf8_valid(run, at + 3)); /* cut inside the sequence */
        run[at + 3] = 'a';
        assert_false(mp_utf8_valid(run, sizeof run));
    }
#undef V
    assert_int_equal(mp_utf8_chars("", 0), 0);
    assert_int_equal(mp_utf8_chars("abc", 3), 3);
    assert_int_equal(mp_utf8_chars("h\xc3\xa9\xe2\x82\xac\xf0\x9f\x90\xa6", 10), 4);
}

/* Encodes code point cp as UTF-8 into out (NUL-terminated); returns the length. */
static size_t enc(uint32_t cp, char out[5])
{
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        out[0] = (char)(0xf0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    out[n] = '\0';
    return n;
}

/* "a<cp>b" checked as kind. */
static bool text_with(uint32_t cp, mp_text_kind_t kind)
{
    char buf[16] = "a";
    char c[5];
    size_t n = enc(cp, c);
    memcpy(buf + 1, c, n);
    buf[1 + n] = 'b';
    assert_true(mp_utf8_valid(buf, n + 2));
    return mp_text_check(buf, n + 2, kind);
}

static void test_text_message(void **state)
{
    (void)state;
    assert_true(mp_text_check("", 0, MP_TEXT_MESSAGE));
    assert_true(mp_text_check("line 1\nline 2\tcol", 17, MP_TEXT_MESSAGE));
    /* Every C0 control but tab and newline, DEL, every C1 control. */
    for (uint32_t c = 0; c < 0x20; c++)
        if (text_with(c, MP_TEXT_MESSAGE) != (c == 0x09 || c == 0x0a))
            fail_msg("U+%04X in message text", (unsigned)c);
    assert_false(text_with(0x0d, MP_TEXT_MESSAGE)); /* CR: newline is \n only */
    assert_false(text_with(0x7f, MP_TEXT_MESSAGE));
    for (uint32_t c = 0x80; c <= 0x9f; c++)
        if (text_with(c, MP_TEXT_MESSAGE))
            fail_msg("U+%04X (C1) accepted in message text", (unsigned)c);
    /* Edges of those ranges and everything else are fine in messages,
     * bidi marks and zero-width joiners included (scripts and emoji need them). */
    static const uint32_t ok[] = {0x20,   0x7e,   0xa0,   0xff,   0x061c,  0x200d,
                                  0x202e, 0x2066, 0xfeff, 0xfffd, 0x1f426, 0x10ffff};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!text_with(ok[i], MP_TEXT_MESSAGE))
            fail_msg("U+%04X refused in message text", (unsigned)ok[i]);
    /* An emoji ZWJ sequence (man, ZWJ, woman, ZWJ, girl). */
    const char *family = "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7";
    assert_true(mp_text_check(family, strlen(family), MP_TEXT_MESSAGE));
    /* The length is respected: a control past len is not looked at. */
    assert_true(mp_text_check("ab\x01", 2, MP_TEXT_MESSAGE));
}

static void test_text_name(void **state)
{
    (void)state;
    assert_true(mp_text_check("R\xc3\xa9ka \xc3\x9c", 8, MP_TEXT_NAME));
    for (uint32_t c = 0; c < 0x20; c++)
        if (text_with(c, MP_TEXT_NAME))
            fail_msg("U+%04X accepted in a name", (unsigned)c);
    assert_false(text_with(0x7f, MP_TEXT_NAME));
    for (uint32_t c = 0x80; c <= 0x9f; c++)
        if (text_with(c, MP_TEXT_NAME))
            fail_msg("U+%04X (C1) accepted in a name", (unsigned)c);
    /* Each refused range, every member. */
    static const uint32_t ranges[][2] = {
        {0x202a, 0x202e}, /* LRE RLE PDF LRO RLO */
        {0x2066, 0x2069}, /* LRI RLI FSI PDI */
        {0x200b, 0x200f}, /* ZWSP ZWNJ ZWJ LRM RLM */
        {0x2060, 0x2064}, /* word joiner, invisible operators */
        {0xfeff, 0xfeff}, /* BOM / zero-width no-break space */
        {0x061c, 0x061c}, /* Arabic letter mark */
        {0x2028, 0x2029}, /* line and paragraph separators */
    };
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++)
        for (uint32_t c = ranges[r][0]; c <= ranges[r][1]; c++)
            if (text_with(c, MP_TEXT_NAME))
                fail_msg("U+%04X accepted in a name", (unsigned)c);
    /* Their neighbours are ordinary characters. */
    static const uint32_t ok[] = {0x20,   0x7e,   0xa0,   0x061b,  0x061d,  0x200a,
                                  0x2010, 0x2027, 0x202f, 0x205f,  0x2065,  0x206a,
                                  0xfefe, 0xff01, 0xfffd, 0x1f426, 0x10ffff};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!text_with(ok[i], MP_TEXT_NAME))
            fail_msg("U+%04X refused in a name", (unsigned)ok[i]);
}

static const mp_field_t text_fields[] = {
    {"text", MP_F_TEXT, true, 1, 10},
    {"description", MP_F_TEXT, false, 0, 0},
    {0},
};

static void test_text_field(void **state)
{
    (void)state;
    const char *ctl = "field 'text' must not contain control characters (tab and newline are "
                      "allowed)";
    assert_string_equal(check("{\"text\":\"a\\tb\\nc\"}", text_fields), "");
    assert_string_equal(check("{\"text\":\"a\\u0007b\"}", text_fields), ctl);
    assert_string_equal(check("{\"text\":\"a\\rb\"}", text_fields), ctl);
    assert_string_equal(check("{\"text\":\"a\\u007fb\"}", text_fields), ctl);
    assert_string_equal(check("{\"text\":\"a\\u009bb\"}", text_fields), ctl);
    assert_string_equal(check("{\"text\":\"ok\",\"description\":\"\\u001b[31m\"}", text_fields),
                        "field 'description' must not contain control characters (tab and "
                        "newline are allowed)");
    /* Still a string with the usual checks first. */
    assert_string_equal(check("{\"text\":5}", text_fields),
                        "field 'text' must be a string of 1 to 10 characters");
    assert_string_equal(check("{\"text\":\"\"}", text_fields),
                        "field 'text' must be a string of 1 to 10 characters");
    assert_string_equal(check("{\"text\":\"a\\u0000b\"}", text_fields),
                        "field 'text' must be valid UTF-8 text without NUL");
    /* Bidi controls are allowed in message text. */
    assert_string_equal(check("{\"text\":\"a\\u202eb\"}", text_fields), "");
}

/* The word-at-a-time scans against their byte rules: every byte value at
 * every offset of a run longer than two words (so it falls in the first,
 * the second and the byte tail), and the run's own end. */
static void test_word_scans(void **state)
{
    (void)state;
    char buf[20];
    for (size_t len = 0; len <= sizeof buf; len++) {
        memset(buf, 'a', sizeof buf);
        assert_int_equal(mp_json_plain_len(buf, len), len);
        assert_int_equal(mp_ascii_printable_len(buf, len), len);
        assert_true(mp_text_check(buf, len, MP_TEXT_MESSAGE));
    }
    for (size_t at = 0; at < sizeof buf; at++) {
        for (unsigned b = 0; b < 256; b++) {
            memset(buf, 'a', sizeof buf);
            buf[at] = (char)b;
            bool plain = b >= 0x20 && b != '"' && b != '\\';
            bool printable = b >= 0x20 && b <= 0x7e;
            assert_int_equal(mp_json_plain_len(buf, sizeof buf), plain ? sizeof buf : at);
            assert_int_equal(mp_ascii_printable_len(buf, sizeof buf), printable ? sizeof buf : at);
            if (b < 0x80) /* alone, a byte above is not UTF-8 */
                assert_int_equal(mp_text_check(buf, sizeof buf, MP_TEXT_MESSAGE),
                                 printable || b == '\t' || b == '\n');
        }
    }
    /* A C1 control (U+0085) across the end of a word, after printable words. */
    memset(buf, 'a', sizeof buf);
    memcpy(buf + 15, "\xc2\x85", 2);
    assert_false(mp_text_check(buf, sizeof buf, MP_TEXT_MESSAGE));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_required_and_types),
        cmocka_unit_test(test_string_limits),
        cmocka_unit_test(test_ascii),
        cmocka_unit_test(test_ints),
        cmocka_unit_test(test_other_types),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_text_message),
        cmocka_unit_test(test_text_name),
        cmocka_unit_test(test_text_field),
        cmocka_unit_test(test_word_scans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
