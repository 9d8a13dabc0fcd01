/* TEMPORARY (issue 10 in progress): placeholders for proto/content.h and
 * proto/emoji.h until content.c and emoji.c land. */
#include <string.h>

#include "proto/content.h"
#include "proto/emoji.h"

const char *mp_kind_name(mp_msg_kind_t kind)
{
    return kind == MP_KIND_TEXT ? "text" : "?";
}

bool mp_kind_parse(const char *s, mp_msg_kind_t *out)
{
    *out = MP_KIND_TEXT;
    return s != NULL && strcmp(s, "text") == 0;
}

bool mp_kind_editable(mp_msg_kind_t kind)
{
    return kind == MP_KIND_TEXT;
}

mp_err_t mp_content_check(const char *kind, const json_t *content, const json_t *text,
                          mp_content_t *out, char *msg, size_t msglen)
{
    (void)kind, (void)content, (void)text, (void)msg, (void)msglen;
    memset(out, 0, sizeof *out);
    return MP_OK;
}

void mp_content_free(mp_content_t *c)
{
    (void)c;
}

bool mp_emoji_valid(const char *s, size_t len)
{
    (void)s;
    return len > 0 && len <= MP_EMOJI_MAX_BYTES;
}
