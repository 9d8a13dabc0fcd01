/* The references of chat/testing.h. A difference is printed to stderr with
 * both texts, so that the test or fuzzer that stops on it says why. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/chat_int.h"
#include "chat/msgenc.h"
#include "chat/testing.h"
#include "net/gw.h"

static bool same(const char *what, const mp_msgenc_t *e, const char *ref, size_t ref_len)
{
    if (e->len == ref_len && memcmp(e->buf, ref, ref_len) == 0)
        return true;
    fprintf(stderr, "%s differs:\n fast %.*s\n json %.*s\n", what, (int)e->len, e->buf,
            (int)ref_len, ref);
    return false;
}

bool mp_chat__ack_same(int64_t req_id, const mp_msg_row_t *m, bool duplicate)
{
    json_t *f = json_object();
    json_object_set_new(f, "message_id", mp_chat__id_json(m->id));
    json_object_set_new(f, "conversation", mp_chat__id_json(m->conversation_id));
    json_object_set_new(f, "seq", json_integer(m->seq));
    json_object_set_new(f, "created_at", json_integer(m->created_at));
    json_object_set_new(f, "duplicate", json_boolean(duplicate));
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(req_id));
    json_object_set_new(o, "ok", json_true());
    json_object_update(o, f);
    json_decref(f);
    mp_frame_t *ref = mp_frame_new_json(o);
    json_decref(o);
    mp_msgenc_t e;
    mp_msgenc_init(&e);
    mp_msgenc_ack(&e, req_id, m, duplicate);
    bool ok = same("ack", &e, ref->data, ref->len);
    mp_msgenc_free(&e);
    mp_frame_unref(ref);
    return ok;
}

bool mp_chat__item_same(const mp_msg_row_t *m, bool own)
{
    if (!mp_msgenc_covers(m))
        return true;
    json_t *j = mp_chat__msg_json(m, own);
    char *ref = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    mp_msgenc_t e;
    mp_msgenc_init(&e);
    mp_msgenc_msg(&e, m, own);
    bool ok = ref != NULL && same(own ? "item (own)" : "item", &e, ref, strlen(ref));
    mp_msgenc_free(&e);
    free(ref);
    return ok;
}
