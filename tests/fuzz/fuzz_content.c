/* libFuzzer target for message content and reaction emoji. The input is
 * offered to mp_emoji_valid as raw bytes and, when it is JSON, read as a send
 * ({"kind","content","text", "emoji"}) and checked with mp_content_check.
 * Properties: every refusal says why in valid UTF-8; accepted content is
 * canonical (checking its own JSON again gives the same JSON, search text and
 * contact); nothing leaks; an accepted emoji is short valid UTF-8 and two of
 * it are never one. Accepted content of a kind with a file names the file id
 * the store reads back from it (mp_content_file_id), and the content filled
 * from a file (mp_content_fill, with the input's "meta" text as the file's
 * metadata) is a JSON object naming the same file, or a refusal of the
 * class. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/content.h"
#include "proto/emoji.h"
#include "proto/validate.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_emoji(const char *s, size_t len)
{
    bool ok = mp_emoji_valid(s, len);
    if (!ok)
        return;
    if (len == 0 || len > MP_EMOJI_MAX_BYTES || !mp_utf8_valid(s, len))
        abort();
    char twice[2 * MP_EMOJI_MAX_BYTES];
    memcpy(twice, s, len);
    memcpy(twice + len, s, len);
    if (mp_emoji_valid(twice, 2 * len))
        abort();
}

static bool same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Accepted content checked again from its canonical JSON. */
static void check_canonical(const char *kind, const json_t *text, const mp_content_t *c)
{
    if ((c->kind == MP_KIND_TEXT) != (c->json == NULL))
        abort();
    if (c->json == NULL)
        return;
    json_error_t e;
    json_t *again = json_loads(c->json, 0, &e);
    if (!json_is_object(again))
        abort();
    mp_content_t c2;
    char msg[256];
    if (mp_content_check(kind, again, text, &c2, msg, sizeof msg) != MP_OK)
        abort();
    if (c2.kind != c->kind || !same(c2.json, c->json) || !same(c2.search_extra, c->search_extra) ||
        c2.contact_user != c->contact_user)
        abort();
    mp_content_free(&c2);
    json_decref(again);
}

/* The fill of accepted content c of a kind with a file, with meta as the
 * file's metadata (any text: it is parsed, never trusted). */
static void check_fill(const mp_content_t *c, const char *meta)
{
    if (!mp_kind_has_file(c->kind))
        return;
    uint64_t id = mp_content_file_id(c->kind, c->json);
    if (id == 0 || id != c->file_id)
        abort();
    static const char *const classes[] = {"image", "audio", "video", "file"};
    for (size_t i = 0; i < 4; i++) {
        mp_content_file_t f = {.cls = classes[i], .mime = "image/png", .size = 7, .meta = meta};
        char *out = NULL;
        mp_err_t rc = mp_content_fill(c->kind, c->json, &f, &out);
        if (rc == MP_ERR_BAD_REQUEST && out == NULL && c->kind != MP_KIND_FILE)
            continue;
        if (rc != MP_OK || out == NULL || mp_content_file_id(c->kind, out) != id)
            abort();
        mp_free(out);
    }
}

static void check_send(const json_t *obj)
{
    const json_t *k = json_object_get(obj, "kind");
    const char *kind = json_is_string(k) ? json_string_value(k) : NULL;
    const json_t *content = json_object_get(obj, "content");
    const json_t *text = json_object_get(obj, "text");
    mp_content_t c;
    char msg[256];
    msg[0] = '\0';
    mp_err_t rc = mp_content_check(kind, content, text, &c, msg, sizeof msg);
    if (rc == MP_OK) {
        check_canonical(kind, text, &c);
        const json_t *meta = json_object_get(obj, "meta");
        check_fill(&c, json_is_string(meta) ? json_string_value(meta) : NULL);
        if (c.search_extra != NULL && !mp_utf8_valid(c.search_extra, strlen(c.search_extra)))
            abort();
    } else {
        /* The message goes back to the client inside JSON. */
        if (rc != MP_ERR_BAD_REQUEST || msg[0] == '\0' || strlen(msg) >= sizeof msg ||
            !mp_utf8_valid(msg, strlen(msg)))
            abort();
        if (c.json != NULL || c.search_extra != NULL)
            abort();
    }
    mp_content_free(&c);

    const json_t *emoji = json_object_get(obj, "emoji");
    if (json_is_string(emoji))
        check_emoji(json_string_value(emoji), json_string_length(emoji));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t before = mp_alloc_used();
    check_emoji((const char *)data, size);
    json_error_t err;
    json_t *obj = json_loadb((const char *)data, size, JSON_ALLOW_NUL, &err);
    if (json_is_object(obj))
        check_send(obj);
    json_decref(obj);
    if (mp_alloc_used() != before)
        abort(); /* a leak through mp_malloc */
    return 0;
}
