/* Message kinds and their content (docs/protocol.md "Message kinds"): every
 * kind valid and invalid, each field's bounds, unknown keys, the text and
 * caption rules, and the canonical JSON that is stored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "proto/content.h"
#include "util/alloc.h"

/* The outcome of one check: "ok <json>|<search_extra>|<contact>" or the
 * error message. */
static char result[1024];

static const char *run(const char *kind, const char *content, const char *text)
{
    json_error_t e;
    json_t *c = content ? json_loads(content, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e) : NULL;
    json_t *t = text ? json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e) : NULL;
    if (content != NULL)
        assert_non_null(c);
    if (text != NULL)
        assert_non_null(t);
    mp_content_t out;
    char msg[256] = "";
    mp_err_t rc = mp_content_check(kind, c, t, &out, msg, sizeof msg);
    if (rc == MP_OK) {
        assert_string_equal(msg, "");
        snprintf(result, sizeof result, "ok %s|%s|%llu", out.json ? out.json : "-",
                 out.search_extra ? out.search_extra : "-", (unsigned long long)out.contact_user);
    } else {
        assert_int_equal(rc, MP_ERR_BAD_REQUEST);
        /* The output is left empty on failure. */
        assert_null(out.json);
        assert_null(out.search_extra);
        assert_int_equal(out.contact_user, 0);
        assert_int_equal(out.file_id, 0);
        snprintf(result, sizeof result, "%s", msg);
    }
    mp_content_free(&out);
    json_decref(c);
    json_decref(t);
    return result;
}

/* A string of n copies of the UTF-8 character ch, as a JSON string. */
static const char *jrepeat(const char *ch, size_t n)
{
    static char buf[4 * 5000 + 3];
    size_t w = strlen(ch), o = 0;
    assert_true(n * w + 3 <= sizeof buf);
    buf[o++] = '"';
    for (size_t i = 0; i < n; i++, o += w)
        memcpy(buf + o, ch, w);
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

static void test_kind_names(void **state)
{
    (void)state;
    const char *names[] = {"text",  "image",    "file",    "voice",
                           "video", "location", "contact", "system"};
    for (unsigned k = 0; k < MP__KIND_COUNT; k++) {
        mp_msg_kind_t got;
        assert_string_equal(mp_kind_name((mp_msg_kind_t)k), names[k]);
        assert_true(mp_kind_parse(names[k], &got));
        assert_int_equal(got, k);
    }
    mp_msg_kind_t got;
    assert_false(mp_kind_parse("Text", &got));
    assert_false(mp_kind_parse("", &got));
    assert_false(mp_kind_parse(NULL, &got));
    assert_null(mp_kind_name(MP__KIND_COUNT));
    assert_true(mp_kind_editable(MP_KIND_TEXT));
    assert_true(mp_kind_editable(MP_KIND_IMAGE));
    assert_true(mp_kind_editable(MP_KIND_FILE));
    assert_true(mp_kind_editable(MP_KIND_VOICE));
    assert_true(mp_kind_editable(MP_KIND_VIDEO));
    assert_false(mp_kind_editable(MP_KIND_LOCATION));
    assert_false(mp_kind_editable(MP_KIND_CONTACT));
    assert_false(mp_kind_editable(MP_KIND_SYSTEM));
}

static void test_kind(void **state)
{
    (void)state;
    assert_string_equal(run(NULL, NULL, "\"hi\""), "ok -|-|0");
    assert_string_equal(run("text", NULL, "\"hi\""), "ok -|-|0");
    assert_string_equal(run("sticker", NULL, "\"hi\""),
                        "field 'kind' must be one of text, image, file, voice, video, location, "
                        "contact");
    assert_string_equal(run("system", NULL, "\"hi\""),
                        "field 'kind' must not be system: only the server sends those");
    assert_string_equal(run("system", "{}", NULL),
                        "field 'kind' must not be system: only the server sends those");
}

static void test_text_kind(void **state)
{
    (void)state;
    assert_string_equal(run("text", NULL, NULL), "field 'text' is required");
    assert_string_equal(run("text", NULL, "null"), "field 'text' is required");
    assert_string_equal(run("text", NULL, "\"\""),
                        "field 'text' must be a string of 1 to 4096 characters");
    assert_string_equal(run("text", NULL, "5"),
                        "field 'text' must be a string of 1 to 4096 characters");
    assert_string_equal(run("text", NULL, jrepeat("é", 4096)), "ok -|-|0");
    assert_string_equal(run("text", NULL, jrepeat("a", 4097)),
                        "field 'text' must be a string of 1 to 4096 characters");
    assert_string_equal(run("text", NULL, "\"a\\u0000b\""),
                        "field 'text' must be valid UTF-8 text without NUL");
    assert_string_equal(run("image", "{\"file_id\":\"1\"}", "\"\\u0000\""),
                        "field 'text' must be valid UTF-8 text without NUL");
    assert_string_equal(run("text", NULL, "\"a\\u001bb\""),
                        "field 'text' must not contain control characters (tab and newline are "
                        "allowed)");
    assert_string_equal(run("text", NULL, "\"a\\tb\\nc\""), "ok -|-|0");
    assert_string_equal(run("text", "{\"file_id\":\"1\"}", "\"hi\""),
                        "field 'content' is not allowed for kind text");
    /* null is absence, as for every optional field. */
    assert_string_equal(run("text", "null", "\"hi\""), "ok -|-|0");
}

static void test_image(void **state)
{
    (void)state;
    assert_string_equal(run("image", "{\"file_id\":\"42\"}", NULL), "ok {\"file_id\":\"42\"}|-|0");
    /* Canonical: the fixed order, whatever the client's. */
    assert_string_equal(run("image", "{\"height\":2,\"width\":1,\"file_id\":\"42\"}", "\"cap\""),
                        "ok {\"file_id\":\"42\",\"width\":1,\"height\":2}|-|0");
    assert_string_equal(
        run("image", "{\"file_id\":\"42\",\"width\":65535,\"height\":null}", "\"\""),
        "ok {\"file_id\":\"42\",\"width\":65535}|-|0");
    assert_string_equal(run("image", NULL, NULL), "field 'content' is required for kind image");
    assert_string_equal(run("image", "null", "\"x\""),
                        "field 'content' is required for kind image");
    assert_string_equal(run("image", "[]", NULL), "field 'content' must be an object");
    assert_string_equal(run("image", "{}", NULL), "field 'content.file_id' is required");
    assert_string_equal(run("image", "{\"file_id\":\"42\",\"width\":0}", NULL),
                        "field 'content.width' must be an integer from 1 to 65535");
    assert_string_equal(run("image", "{\"file_id\":\"42\",\"height\":65536}", NULL),
                        "field 'content.height' must be an integer from 1 to 65535");
    assert_string_equal(run("image", "{\"file_id\":\"42\",\"width\":10.0}", NULL),
                        "field 'content.width' must be an integer from 1 to 65535");
    assert_string_equal(run("image", "{\"file_id\":\"42\",\"width\":\"10\"}", NULL),
                        "field 'content.width' must be an integer from 1 to 65535");
    assert_string_equal(run("image", "{\"file_id\":\"42\",\"url\":\"x\"}", NULL),
                        "field 'content' has an unknown key 'url'");
}

static void test_file_id(void **state)
{
    (void)state;
    const char *bad[] = {
        "\"0\"",        "\"01\"", "\"\"", "\"-1\"", "\"1a\"", "42", "\"12345678901234567890\"",
        "\"1\\u00002\""};
    char content[128];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(content, sizeof content, "{\"file_id\":%s}", bad[i]);
        assert_string_equal(run("image", content, NULL),
                            "field 'content.file_id' must be a file id (a decimal string)");
    }
    assert_string_equal(run("image", "{\"file_id\":\"1234567890123456789\"}", NULL),
                        "ok {\"file_id\":\"1234567890123456789\"}|-|0");
}

static void test_file(void **state)
{
    (void)state;
    assert_string_equal(
        run("file",
            "{\"mime\":\"application/pdf\",\"size\":0,\"name\":\"a.pdf\",\"file_id\":\"7\"}", NULL),
        "ok "
        "{\"file_id\":\"7\",\"name\":\"a.pdf\",\"size\":0,\"mime\":\"application/pdf\"}|a.pdf|0");
    assert_string_equal(
        run("file", "{\"file_id\":\"7\",\"name\":\"x\",\"size\":9007199254740992}", "\"caption\""),
        "ok {\"file_id\":\"7\",\"name\":\"x\",\"size\":9007199254740992}|x|0");
    assert_string_equal(
        run("file", "{\"file_id\":\"7\",\"name\":\"x\",\"size\":9007199254740993}", NULL),
        "field 'content.size' must be an integer from 0 to 9007199254740992");
    assert_string_equal(run("file", "{\"file_id\":\"7\",\"name\":\"x\",\"size\":-1}", NULL),
                        "field 'content.size' must be an integer from 0 to 9007199254740992");
    assert_string_equal(run("file", "{\"file_id\":\"7\"}", NULL),
                        "field 'content.name' is required");

    const char *name_msg = "field 'content.name' must be a file name of 1 to 255 characters, "
                           "without control or direction characters, '/' or '\\'";
    const char *bad_names[] = {"\"\"",          "\"a/b\"",      "\"a\\\\b\"",   "\".\"",
                               "\"..\"",        "\"a\\tb\"",    "\"a\\nb\"",    "\"a\\u202eb\"",
                               "\"a\\u200bb\"", "\"a\\u0000\"", "\"a\\u0085\"", "7"};
    char content[128];
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        snprintf(content, sizeof content, "{\"file_id\":\"7\",\"name\":%s}", bad_names[i]);
        assert_string_equal(run("file", content, NULL), name_msg);
    }
    char big[1200];
    snprintf(big, sizeof big, "{\"file_id\":\"7\",\"name\":%s}", jrepeat("ж", 255));
    assert_memory_equal(run("file", big, NULL), "ok ", 3);
    snprintf(big, sizeof big, "{\"file_id\":\"7\",\"name\":%s}", jrepeat("ж", 256));
    assert_string_equal(run("file", big, NULL), name_msg);
    /* Dots inside a name are fine. */
    assert_string_equal(run("file", "{\"file_id\":\"7\",\"name\":\"...a\"}", NULL),
                        "ok {\"file_id\":\"7\",\"name\":\"...a\"}|...a|0");
}

static void test_mime(void **state)
{
    (void)state;
    const char *good[] = {"text/plain", "image/svg+xml", "application/vnd.ms-excel", "A/B",
                          "x/y.z"};
    const char *bad[] = {"text",      "text/", "/plain", "text/plain/x",     "text/ plain", ".a/b",
                         "text/pl;a", "ä/b",   "",       "text/plain\\u0000"};
    char content[256];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(content, sizeof content, "{\"file_id\":\"7\",\"name\":\"n\",\"mime\":\"%s\"}",
                 good[i]);
        assert_memory_equal(run("file", content, NULL), "ok ", 3);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(content, sizeof content, "{\"file_id\":\"7\",\"name\":\"n\",\"mime\":\"%s\"}",
                 bad[i]);
        assert_string_equal(run("file", content, NULL),
                            "field 'content.mime' must be a media type \"type/subtype\" of at "
                            "most 127 ASCII characters");
    }
    /* 127 bytes pass, 128 do not. */
    char mime[129];
    memset(mime, 'a', sizeof mime);
    mime[1] = '/';
    mime[127] = '\0';
    snprintf(content, sizeof content, "{\"file_id\":\"7\",\"name\":\"n\",\"mime\":\"%s\"}", mime);
    assert_memory_equal(run("file", content, NULL), "ok ", 3);
    mime[127] = 'a';
    mime[128] = '\0';
    snprintf(content, sizeof content, "{\"file_id\":\"7\",\"name\":\"n\",\"mime\":\"%s\"}", mime);
    assert_string_equal(run("file", content, NULL),
                        "field 'content.mime' must be a media type \"type/subtype\" of at most "
                        "127 ASCII characters");
}

static void test_voice_video(void **state)
{
    (void)state;
    assert_string_equal(run("voice", "{\"duration_ms\":1,\"file_id\":\"3\"}", "\"c\""),
                        "ok {\"file_id\":\"3\",\"duration_ms\":1}|-|0");
    assert_string_equal(run("voice", "{\"file_id\":\"3\",\"duration_ms\":3600000}", NULL),
                        "ok {\"file_id\":\"3\",\"duration_ms\":3600000}|-|0");
    /* duration_ms is optional: the server computes it (mp_content_fill). */
    assert_string_equal(run("voice", "{\"file_id\":\"3\"}", NULL), "ok {\"file_id\":\"3\"}|-|0");
    assert_string_equal(run("voice", "{\"file_id\":\"3\",\"duration_ms\":0}", NULL),
                        "field 'content.duration_ms' must be an integer from 1 to 3600000");
    assert_string_equal(run("voice", "{\"file_id\":\"3\",\"duration_ms\":3600001}", NULL),
                        "field 'content.duration_ms' must be an integer from 1 to 3600000");
    assert_string_equal(run("voice", "{\"file_id\":\"3\",\"duration_ms\":5,\"width\":5}", NULL),
                        "field 'content' has an unknown key 'width'");

    assert_string_equal(run("video", "{\"file_id\":\"3\"}", NULL), "ok {\"file_id\":\"3\"}|-|0");
    assert_string_equal(
        run("video", "{\"height\":720,\"width\":1280,\"duration_ms\":10,\"file_id\":\"3\"}", NULL),
        "ok {\"file_id\":\"3\",\"duration_ms\":10,\"width\":1280,\"height\":720}|-|0");
    assert_string_equal(run("video", "{\"file_id\":\"3\",\"duration_ms\":-5}", NULL),
                        "field 'content.duration_ms' must be an integer from 1 to 3600000");
    assert_string_equal(run("video", "{\"file_id\":\"3\",\"width\":70000}", NULL),
                        "field 'content.width' must be an integer from 1 to 65535");
}

static void test_location(void **state)
{
    (void)state;
    assert_string_equal(run("location", "{\"longitude\":2,\"latitude\":48.5}", NULL),
                        "ok {\"latitude\":48.5,\"longitude\":2.0}|-|0");
    assert_string_equal(
        run("location", "{\"latitude\":-90,\"longitude\":180,\"title\":\"Pôle sud\"}", "\"\""),
        "ok {\"latitude\":-90.0,\"longitude\":180.0,\"title\":\"Pôle sud\"}|Pôle sud|0");
    assert_string_equal(run("location", "{\"latitude\":90.0001,\"longitude\":0}", NULL),
                        "field 'content.latitude' must be a number from -90 to 90");
    assert_string_equal(run("location", "{\"latitude\":-91,\"longitude\":0}", NULL),
                        "field 'content.latitude' must be a number from -90 to 90");
    assert_string_equal(run("location", "{\"latitude\":\"1\",\"longitude\":0}", NULL),
                        "field 'content.latitude' must be a number from -90 to 90");
    assert_string_equal(run("location", "{\"latitude\":0,\"longitude\":-180.5}", NULL),
                        "field 'content.longitude' must be a number from -180 to 180");
    assert_string_equal(run("location", "{\"latitude\":0,\"longitude\":1e300}", NULL),
                        "field 'content.longitude' must be a number from -180 to 180");
    assert_string_equal(run("location", "{\"latitude\":0}", NULL),
                        "field 'content.longitude' is required");
    assert_string_equal(run("location", "{\"longitude\":0}", NULL),
                        "field 'content.latitude' is required");
    assert_string_equal(run("location", "{\"latitude\":0,\"longitude\":0,\"title\":\"\"}", NULL),
                        "field 'content.title' must be a string of 1 to 256 characters without "
                        "control characters");
    assert_string_equal(
        run("location", "{\"latitude\":0,\"longitude\":0,\"title\":\"a\\u0007\"}", NULL),
        "field 'content.title' must be a string of 1 to 256 characters without control "
        "characters");
    char big[1400];
    snprintf(big, sizeof big, "{\"latitude\":0,\"longitude\":0,\"title\":%s}", jrepeat("я", 256));
    assert_memory_equal(run("location", big, NULL), "ok ", 3);
    snprintf(big, sizeof big, "{\"latitude\":0,\"longitude\":0,\"title\":%s}", jrepeat("я", 257));
    assert_string_equal(run("location", big, NULL),
                        "field 'content.title' must be a string of 1 to 256 characters without "
                        "control characters");
    /* No text, but "" (what a location reads back as, above) is accepted. */
    assert_string_equal(run("location", "{\"latitude\":0,\"longitude\":0}", "\"here\""),
                        "field 'text' is not allowed for kind location");
    assert_string_equal(run("location", "{\"latitude\":0,\"longitude\":0}", "3"),
                        "field 'text' must be a string of 0 to 4096 characters");
    assert_string_equal(run("location", "{\"latitude\":0,\"longitude\":0,\"foo\":1}", NULL),
                        "field 'content' has an unknown key 'foo'");
}

static void test_contact(void **state)
{
    (void)state;
    assert_string_equal(run("contact", "{\"user_id\":\"383209117054926848\"}", NULL),
                        "ok {\"user_id\":\"383209117054926848\"}|-|383209117054926848");
    assert_string_equal(run("contact", "{\"user_id\":\"0\"}", NULL),
                        "field 'content.user_id' must be a user id (a decimal string)");
    assert_string_equal(run("contact", "{\"user_id\":383209117054926848}", NULL),
                        "field 'content.user_id' must be a user id (a decimal string)");
    assert_string_equal(run("contact", "{\"user_id\":\"18446744073709551616\"}", NULL),
                        "field 'content.user_id' must be a user id (a decimal string)");
    assert_string_equal(run("contact", "{}", NULL), "field 'content.user_id' is required");
    assert_string_equal(run("contact", "{\"user_id\":\"5\"}", "\"hello\""),
                        "field 'text' is not allowed for kind contact");
    assert_string_equal(run("contact", "{\"user_id\":\"5\",\"name\":\"bob\"}", NULL),
                        "field 'content' has an unknown key 'name'");
}

static void test_caption(void **state)
{
    (void)state;
    assert_string_equal(run("image", "{\"file_id\":\"1\"}", "\"\""), "ok {\"file_id\":\"1\"}|-|0");
    char content[] = "{\"file_id\":\"1\"}";
    assert_memory_equal(run("image", content, jrepeat("a", 4096)), "ok ", 3);
    assert_string_equal(run("image", content, jrepeat("a", 4097)),
                        "field 'text' must be a string of 0 to 4096 characters");
    assert_string_equal(run("file", "{\"file_id\":\"1\",\"name\":\"n\"}", "\"a\\u0001\""),
                        "field 'text' must not contain control characters (tab and newline are "
                        "allowed)");
    assert_string_equal(run("voice", "{\"file_id\":\"1\",\"duration_ms\":1}", "[]"),
                        "field 'text' must be a string of 0 to 4096 characters");
    /* Content is checked before the caption. */
    assert_string_equal(run("video", "{}", "5"), "field 'content.file_id' is required");
}

static void test_unknown_key_quoted_safely(void **state)
{
    (void)state;
    /* A long key is cut at a character boundary so the message stays UTF-8. */
    char content[1024];
    snprintf(content, sizeof content, "{\"file_id\":\"1\",%s:1}", jrepeat("é", 100));
    const char *msg = run("image", content, NULL);
    assert_memory_equal(msg, "field 'content' has an unknown key 'éé", 38);
    assert_true(strlen(msg) < 100);
    json_t *s = json_string(msg);
    assert_non_null(s); /* jansson refuses invalid UTF-8 */
    json_decref(s);
}

/* ---- the file of a media message --------------------------------------------- */

static void test_content_file_id(void **state)
{
    (void)state;
    mp_content_t out;
    char msg[128] = "";
    json_t *c = json_loads("{\"file_id\":\"383209000000000123\"}", 0, NULL);
    assert_int_equal(mp_content_check("image", c, NULL, &out, msg, sizeof msg), MP_OK);
    assert_int_equal(out.file_id, 383209000000000123ULL);
    mp_content_free(&out);
    json_decref(c);

    assert_int_equal(mp_content_file_id(MP_KIND_VOICE, "{\"file_id\":\"42\"}"), 42);
    assert_int_equal(mp_content_file_id(MP_KIND_LOCATION, "{\"file_id\":\"42\"}"), 0);
    assert_int_equal(mp_content_file_id(MP_KIND_IMAGE, "{\"file_id\":42}"), 0);
    assert_int_equal(mp_content_file_id(MP_KIND_IMAGE, "{\"file_id\":\"x\"}"), 0);
    assert_int_equal(mp_content_file_id(MP_KIND_IMAGE, "not json"), 0);
    assert_int_equal(mp_content_file_id(MP_KIND_FILE, NULL), 0);
    assert_true(mp_kind_has_file(MP_KIND_VIDEO));
    assert_false(mp_kind_has_file(MP_KIND_CONTACT));
}

/* mp_content_fill's result as "rc json" for a short assert. */
static const char *fill(mp_msg_kind_t kind, const char *content, const char *cls, const char *meta)
{
    static char filled[1024];
    mp_content_file_t f = {.cls = cls, .mime = "image/webp", .size = 1234, .meta = meta};
    char *out = (char *)"unset";
    mp_err_t rc = mp_content_fill(kind, content, &f, &out);
    snprintf(filled, sizeof filled, "%s %s", (rc == MP_OK ? "ok" : mp_err_code(rc)),
             out != NULL ? out : "-");
    if (rc == MP_OK)
        mp_free(out);
    else
        assert_null(out);
    return filled;
}

static void test_fill(void **state)
{
    (void)state;
    /* The server's values win; the client's stay only where the file says
     * nothing; the order is fixed. */
    assert_string_equal(
        fill(MP_KIND_IMAGE, "{\"file_id\":\"7\",\"width\":5000,\"height\":1}", "image",
             "{\"preview\":\"data:image/webp;base64,AA\",\"height\":30,\"width\":40}"),
        "ok {\"file_id\":\"7\",\"width\":40,\"height\":30,\"mime\":\"image/webp\",\"size\":1234,"
        "\"preview\":\"data:image/webp;base64,AA\"}");
    assert_string_equal(fill(MP_KIND_IMAGE, "{\"file_id\":\"7\"}", "audio", "{}"), "bad_request -");
    assert_string_equal(fill(MP_KIND_VOICE, "{\"file_id\":\"7\"}", "image", "{}"), "bad_request -");
    assert_string_equal(fill(MP_KIND_VIDEO, "{\"file_id\":\"7\"}", "audio", "{}"), "bad_request -");
    assert_string_equal(
        fill(MP_KIND_VOICE, "{\"file_id\":\"7\",\"duration_ms\":99999}", "audio",
             "{\"waveform\":[0,50,100],\"duration_ms\":2500}"),
        "ok {\"file_id\":\"7\",\"duration_ms\":2500,\"waveform\":[0,50,100],\"mime\":\"image/"
        "webp\",\"size\":1234}");
    /* A client's size and mime of a file are replaced; any class will do. */
    assert_string_equal(fill(MP_KIND_FILE,
                             "{\"file_id\":\"7\",\"name\":\"a.pdf\",\"size\":1,\"mime\":\"x/y\"}",
                             "image", "{\"width\":3}"),
                        "ok {\"file_id\":\"7\",\"name\":\"a.pdf\",\"size\":1234,\"mime\":\"image/"
                        "webp\"}");
    /* A video whose dimensions could not be read keeps the client's; metadata
     * of the wrong type is ignored. */
    assert_string_equal(
        fill(MP_KIND_VIDEO, "{\"file_id\":\"7\",\"width\":640,\"height\":480}", "video",
             "{\"duration_ms\":1000,\"preview\":5}"),
        "ok {\"file_id\":\"7\",\"duration_ms\":1000,\"width\":640,\"height\":480,\"mime\":"
        "\"image/webp\",\"size\":1234}");
    assert_string_equal(fill(MP_KIND_VIDEO, "{\"file_id\":\"7\"}", "video", NULL),
                        "ok {\"file_id\":\"7\",\"mime\":\"image/webp\",\"size\":1234}");
    assert_string_equal(fill(MP_KIND_IMAGE, "[1]", "image", NULL), "internal -");
    assert_string_equal(fill(MP_KIND_TEXT, "{}", "image", NULL), "internal -");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_kind),
        cmocka_unit_test(test_text_kind),
        cmocka_unit_test(test_image),
        cmocka_unit_test(test_file_id),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_mime),
        cmocka_unit_test(test_voice_video),
        cmocka_unit_test(test_content_file_id),
        cmocka_unit_test(test_fill),
        cmocka_unit_test(test_location),
        cmocka_unit_test(test_contact),
        cmocka_unit_test(test_caption),
        cmocka_unit_test(test_unknown_key_quoted_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
