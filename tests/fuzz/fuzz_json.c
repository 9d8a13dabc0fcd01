/* libFuzzer target for JSON frame validation: parses the input with jansson
 * like the gateway does, runs mp_validate against representative field tables,
 * and cross-checks mp_utf8_valid against jansson's own UTF-8 check. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const mp_field_t send_fields[] = {
    {"conversation", MP_F_ID, false, 0, 0},
    {"to", MP_F_ID, false, 0, 0},
    {"client_msg_id", MP_F_ASCII, true, 1, 64},
    {"text", MP_F_STRING, true, 1, 4096},
    {0},
};

static const mp_field_t misc_fields[] = {
    {"id", MP_F_INT, true, 0, 0},
    {"limit", MP_F_INT, false, 1, 200},
    {"before_seq", MP_F_INT, false, 1, 0},
    {"mute", MP_F_BOOL, false, 0, 0},
    {"meta", MP_F_OBJECT, false, 0, 0},
    {"ids", MP_F_ARRAY, false, 1, 100},
    {"name", MP_F_STRING, false, 0, 0},
    {"token", MP_F_ASCII, false, 0, 0},
    {0},
};

static void check_table(const json_t *obj, const mp_field_t *fields)
{
    char msg[256];
    msg[0] = '\0';
    mp_err_t rc = mp_validate(obj, fields, msg, sizeof msg);
    if (rc != MP_OK && rc != MP_ERR_BAD_REQUEST)
        abort();
    if (rc == MP_ERR_BAD_REQUEST && (msg[0] == '\0' || strlen(msg) >= sizeof msg))
        abort();
    /* A message must itself be valid text: it goes back to the client as JSON. */
    if (rc != MP_OK && !mp_utf8_valid(msg, strlen(msg)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;

    /* Differential check: jansson refuses exactly the invalid UTF-8 we refuse. */
    bool ours = mp_utf8_valid(s, size);
    json_t *str = json_stringn(s, size);
    if ((str != NULL) != ours)
        abort();
    if (ours && mp_utf8_chars(s, size) > size)
        abort();
    json_decref(str);

    json_error_t err;
    json_t *obj = json_loadb(s, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (obj == NULL)
        return 0;
    check_table(obj, send_fields);
    check_table(obj, misc_fields);
    /* Every string jansson produced must pass our UTF-8 check. */
    if (json_is_object(obj)) {
        const char *key;
        json_t *v;
        json_object_foreach(obj, key, v)
        {
            if (json_is_string(v) && !mp_utf8_valid(json_string_value(v), json_string_length(v)))
                abort();
        }
    }
    json_decref(obj);
    return 0;
}
