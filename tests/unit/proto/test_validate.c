/* Declarative validation: every field type and limit, and strict UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

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
#undef V
    assert_int_equal(mp_utf8_chars("", 0), 0);
    assert_int_equal(mp_utf8_chars("abc", 3), 3);
    assert_int_equal(mp_utf8_chars("h\xc3\xa9\xe2\x82\xac\xf0\x9f\x90\xa6", 10), 4);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
