/* Reading the arguments of an admin operation. HTTP query and path values
 * are strings, the control socket's are JSON values: each reader accepts
 * both forms, and answers a bad value itself, naming the field. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_int.h"
#include "proto/validate.h"
#include "util/alloc.h"
#include "util/id.h"

static bool refuse(mp_admin_call_t *call, const char *fmt, const char *name)
{
    char msg[160];
    snprintf(msg, sizeof msg, fmt, name);
    mp_admin__reply(call, MP_ERR_BAD_REQUEST, msg, NULL);
    return false;
}

bool mp_admin__arg_str(mp_admin_call_t *call, const char *name, bool required, size_t max_chars,
                       const char **out)
{
    json_t *v = json_object_get(call->args, name);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return required ? refuse(call, "field '%s' is required", name) : true;
    if (!json_is_string(v))
        return refuse(call, "field '%s' must be a string", name);
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len == 0 || memchr(s, '\0', len) != NULL)
        return refuse(call, "field '%s' must not be empty or contain NUL", name);
    if (max_chars > 0 && mp_utf8_chars(s, len) > max_chars) {
        char msg[160];
        snprintf(msg, sizeof msg, "field '%s' must be at most %zu characters", name, max_chars);
        mp_admin__reply(call, MP_ERR_BAD_REQUEST, msg, NULL);
        return false;
    }
    *out = s;
    return true;
}

bool mp_admin__arg_id(mp_admin_call_t *call, const char *name, bool required, uint64_t *out)
{
    json_t *v = json_object_get(call->args, name);
    *out = 0;
    if (v == NULL || json_is_null(v))
        return required ? refuse(call, "field '%s' is required", name) : true;
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    if (json_is_string(v) && mp_id_parse(json_string_value(v), out) && *out != 0)
        return true;
    *out = 0;
    return refuse(call, "field '%s' must be an id (a decimal string)", name);
}

/* Parses all of s as a decimal integer. */
static bool parse_int(const char *s, int64_t *out)
{
    if (*s == '\0' || strlen(s) > 20)
        return false;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = n;
    return true;
}

bool mp_admin__arg_int(mp_admin_call_t *call, const char *name, int64_t min, int64_t max,
                       int64_t dflt, int64_t *out)
{
    json_t *v = json_object_get(call->args, name);
    int64_t n = 0;
    *out = dflt;
    if (v == NULL || json_is_null(v))
        return true;
    bool ok = json_is_integer(v) ? (n = json_integer_value(v), true)
                                 : json_is_string(v) && parse_int(json_string_value(v), &n);
    if (!ok || n < min || n > max) {
        char msg[160];
        snprintf(msg, sizeof msg, "field '%s' must be an integer from %lld to %lld", name,
                 (long long)min, (long long)max);
        mp_admin__reply(call, MP_ERR_BAD_REQUEST, msg, NULL);
        return false;
    }
    *out = n;
    return true;
}

bool mp_admin__arg_text(mp_admin_call_t *call, const char *name, size_t max_chars, const char **out)
{
    json_t *v = json_object_get(call->args, name);
    *out = "";
    if (v == NULL || json_is_null(v))
        return true;
    if (!json_is_string(v))
        return refuse(call, "field '%s' must be a string", name);
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (mp_utf8_chars(s, len) > max_chars || !mp_text_check(s, len, MP_TEXT_MESSAGE)) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "field '%s' must be at most %zu characters, without control characters", name,
                 max_chars);
        mp_admin__reply(call, MP_ERR_BAD_REQUEST, msg, NULL);
        return false;
    }
    *out = s;
    return true;
}

bool mp_admin__arg_bool(mp_admin_call_t *call, const char *name, int *out)
{
    json_t *v = json_object_get(call->args, name);
    *out = -1;
    if (v == NULL || json_is_null(v))
        return true;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return true;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
            return *out = 1, true;
        if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
            return *out = 0, true;
    }
    return refuse(call, "field '%s' must be true or false", name);
}

/* ---- the target user ------------------------------------------------------ */

typedef struct {
    mp_admin_call_t *call;
    mp_admin_user_fn fn;
} with_user_t;

static void with_user_done(mp_err_t rc, const mp_admin_user_row_t *user, void *ud)
{
    with_user_t *w = ud;
    mp_admin_call_t *call = w->call;
    mp_admin_user_fn fn = w->fn;
    mp_free(w);
    if (rc == MP_ERR_NOT_FOUND)
        mp_admin__reply(call, rc, "no such user", NULL);
    else if (rc != MP_OK)
        mp_admin__reply(call, rc, NULL, NULL);
    else
        fn(call, user);
}

void mp_admin__with_user(mp_admin_call_t *call, mp_admin_user_fn fn)
{
    uint64_t id = 0;
    const char *name = NULL;
    if (!mp_admin__arg_id(call, "user_id", false, &id) ||
        !mp_admin__arg_str(call, "username", false, 0, &name))
        return;
    if ((id == 0) == (name == NULL)) {
        mp_admin__reply(call, MP_ERR_BAD_REQUEST, "give exactly one of 'user_id' and 'username'",
                        NULL);
        return;
    }
    if (name != NULL && name[0] == '@')
        name++; /* "@alice" is how people write names */
    with_user_t *w = mp_calloc(1, sizeof *w);
    w->call = call;
    w->fn = fn;
    mp_err_t rc = mp_store_admin_user_get(call->admin->ctx->store, id, name, with_user_done, w);
    if (rc != MP_OK) {
        mp_free(w);
        mp_admin__reply(call, rc, NULL, NULL);
    }
}
