/* Strict parsers for the numbers and cursors that arrive as text (query
 * strings, the sync cursor), so that "12abc" or "-1" is an error, not 12. */
#include <stdio.h>
#include <string.h>

#include "chat/chat_int.h"

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
