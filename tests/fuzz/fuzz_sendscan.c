/* libFuzzer target for the scanner of the hot send frame (proto/sendscan.h).
 * Property: a frame the scanner accepts is one the general path accepts with
 * the same values: jansson (JSON_REJECT_DUPLICATES) reads an object of exactly
 * id, type "send", client_msg_id, text and one of conversation / to; the id,
 * the strings (length and bytes) and the ids of conversation / to are what the
 * scanner read; the send verb's field table accepts it; the text is not
 * empty. Run with the server's limits and with small ones (8 bytes of
 * client_msg_id, 5 characters of text), which the scanner must keep to; what
 * it accepts with the small limits it accepts with the server's. The scanner
 * allocates nothing; nothing leaks. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat/chat.h"
#include "proto/sendscan.h"
#include "proto/validate.h"
#include "store/chat.h"
#include "util/alloc.h"
#include "util/id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The jansson string v is exactly s[0..len). */
static bool same_string(const json_t *v, const char *s, size_t len)
{
    return json_is_string(v) && json_string_length(v) == len &&
           (len == 0 || memcmp(json_string_value(v), s, len) == 0);
}

/* s points into m[0..n). */
static bool inside(const char *s, size_t len, const char *m, size_t n)
{
    return s != NULL && s >= m && len <= n && s <= m + n - len;
}

/* The id member v names id (an mp_id_parse id), or v is absent and id 0. */
static bool same_id(const json_t *v, uint64_t id)
{
    if (v == NULL)
        return id == 0;
    uint64_t parsed = 0;
    return json_is_string(v) && mp_id_parse(json_string_value(v), &parsed) && parsed == id &&
           id != 0;
}

/* What an accepted frame must be to the general path. */
static void check_accepted(const char *m, size_t n, const mp_sendscan_t *s, size_t cmid_max,
                           size_t text_max)
{
    if (!inside(s->cmid, s->cmid_len, m, n) || !inside(s->text, s->text_len, m, n))
        abort();
    if (s->cmid_len < 1 || s->cmid_len > cmid_max || s->text_len < 1)
        abort();
    if (!mp_utf8_valid(s->text, s->text_len) || mp_utf8_chars(s->text, s->text_len) > text_max ||
        !mp_text_check(s->text, s->text_len, MP_TEXT_MESSAGE))
        abort();
    if ((s->conversation != 0) == (s->to != 0))
        abort();

    json_error_t err;
    json_t *obj = json_loadb(m, n, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(obj) || json_object_size(obj) != 5)
        abort();
    const json_t *id = json_object_get(obj, "id");
    if (!json_is_integer(id) || json_integer_value(id) != s->id)
        abort();
    if (!same_string(json_object_get(obj, "type"), "send", 4))
        abort();
    if (!same_string(json_object_get(obj, "client_msg_id"), s->cmid, s->cmid_len) ||
        !same_string(json_object_get(obj, "text"), s->text, s->text_len))
        abort();
    const json_t *conv = json_object_get(obj, "conversation");
    const json_t *to = json_object_get(obj, "to");
    if ((conv == NULL) == (to == NULL) || !same_id(conv, s->conversation) || !same_id(to, s->to))
        abort();
    char msg[256];
    msg[0] = '\0';
    if (mp_validate(obj, mp_chat_send_fields, msg, sizeof msg) != MP_OK)
        abort();
    json_decref(obj);
}

static bool run(const char *m, size_t n, size_t cmid_max, size_t text_max)
{
    mp_sendscan_t s;
    bool ok = mp_sendscan(m, n, cmid_max, text_max, &s);
    if (ok)
        check_accepted(m, n, &s, cmid_max, text_max);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t before = mp_alloc_used();
    const char *m = (const char *)data;
    bool wide = run(m, size, MP_CHAT_CMID_MAX, MP_CHAT_TEXT_MAX_CHARS);
    bool narrow = run(m, size, 8, 5);
    /* The limits are the only difference: what fits the small ones fits the
     * server's. */
    if (narrow && !wide)
        abort();
    if (mp_alloc_used() != before)
        abort(); /* a leak through mp_malloc */
    return 0;
}
