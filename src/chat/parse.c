/* Strict parsers for the numbers and cursors that arrive as text (query
 * strings, the sync cursor), so that "12abc" or "-1" is an error, not 12;
 * and the resolution of a username given instead of a user id. */
#include <stdio.h>
#include <string.h>

#include "chat/chat_int.h"
#include "proto/names.h"
#include "util/alloc.h"

bool mp_chat__parse_i64(const char *s, int64_t *out)
{
    if (s == NULL || s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
        return false;
    size_t n = strlen(s);
    if (n > 19)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return false;
    *out = (int64_t)v;
    return true;
}

void mp_chat__list_cursor_format(int64_t active_at, uint64_t id, char *out, size_t len)
{
    snprintf(out, len, "%lld.%llu", (long long)active_at, (unsigned long long)id);
}

bool mp_chat__list_cursor_parse(const char *s, int64_t *active_at, uint64_t *id)
{
    if (s == NULL)
        return false;
    const char *dot = strchr(s, '.');
    char head[24];
    int64_t tail;
    if (dot == NULL || (size_t)(dot - s) >= sizeof head)
        return false;
    memcpy(head, s, (size_t)(dot - s));
    head[dot - s] = '\0';
    if (!mp_chat__parse_i64(head, active_at) || !mp_chat__parse_i64(dot + 1, &tail) || tail == 0)
        return false;
    *id = (uint64_t)tail;
    return true;
}

/* ---- usernames -------------------------------------------------------------------- */

typedef struct name_ctx {
    mp_chat_user_id_fn cb;
    void *ud;
} name_ctx_t;

static void on_user_by_name(mp_err_t rc, const mp_user_row_t *u, void *ud)
{
    name_ctx_t c = *(name_ctx_t *)ud;
    mp_free(ud);
    /* A deleted account keeps its name only to reserve it; a pending one
     * cannot be used yet: neither is someone to write to. */
    if (rc == MP_OK && (u->deleted_at > 0 || u->pending))
        rc = MP_ERR_NOT_FOUND;
    c.cb(rc, rc == MP_OK ? u->id : 0, c.ud);
}

mp_err_t mp_chat__user_by_name(mp_chat_t *chat, const char *name, mp_chat_user_id_fn cb, void *ud)
{
    char norm[MP_NAME_USERNAME_MAX + 1];
    if (name[0] == '@')
        name++;
    if (mp_name_username_norm(name, strlen(name), norm) != MP_OK)
        return MP_ERR_NOT_FOUND;
    name_ctx_t *c = mp_malloc(sizeof *c);
    *c = (name_ctx_t){.cb = cb, .ud = ud};
    mp_err_t rc = mp_store_user_by_name(chat->ctx->store, norm, on_user_by_name, c);
    if (rc != MP_OK)
        mp_free(c);
    return rc;
}
