/* Hooks for the groups module: deliver stored system messages to the online
 * members of a conversation (plus users who just lost membership, so that
 * their clients learn it), push any event to a conversation's members, and
 * forget a conversation's cached membership after a change. */
#include <string.h>

#include "chat/chat_int.h"
#include "util/alloc.h"

typedef struct deliver_ctx {
    mp_msg_row_t *msgs; /* deep copies */
    size_t n;
    uint64_t *extra;
    size_t n_extra;
} deliver_ctx_t;

static void push_msg(mp_chat_t *chat, const mp_chat_conv_t *conv, const deliver_ctx_t *d,
                     const mp_msg_row_t *m)
{
    json_t *ev = json_object();
    json_object_set_new(ev, "event", json_string("message"));
    json_object_set_new(ev, "message", mp_chat__msg_json(m, false));
    mp_frame_t *f = mp_frame_new_json(ev);
    json_decref(ev);
    if (conv != NULL)
        mp_chat__push_members(chat, conv, 0, f);
    for (size_t i = 0; i < d->n_extra; i++)
        if (conv == NULL || !mp_chat__conv_has(conv, d->extra[i]))
            mp_hub_push_user(chat->ctx->hub, d->extra[i], f, 0);
    mp_frame_unref(f);
}

static void on_deliver_conv(mp_chat_t *chat, mp_err_t rc, const mp_chat_conv_t *conv, void *ud)
{
    deliver_ctx_t *d = ud;
    for (size_t i = 0; i < d->n; i++) {
        push_msg(chat, rc == MP_OK ? conv : NULL, d, &d->msgs[i]);
        mp_msg_row_release(&d->msgs[i]);
    }
    mp_free(d->msgs);
    mp_free(d->extra);
    mp_free(d);
}

void mp_chat_deliver(mp_chat_t *chat, const mp_msg_row_t *msgs, size_t n, const uint64_t *extra,
                     size_t n_extra)
{
    if (n == 0)
        return;
    deliver_ctx_t *d = mp_calloc(1, sizeof *d);
    d->msgs = mp_calloc(n, sizeof *d->msgs);
    d->n = n;
    for (size_t i = 0; i < n; i++)
        mp_msg_row_copy(&d->msgs[i], &msgs[i]);
    if (n_extra > 0) {
        d->extra = mp_malloc(n_extra * sizeof *extra);
        memcpy(d->extra, extra, n_extra * sizeof *extra);
        d->n_extra = n_extra;
    }
    mp_chat__with_conv(chat, msgs[0].conversation_id, on_deliver_conv, d);
}

static void on_push_conv(mp_chat_t *chat, mp_err_t rc, const mp_chat_conv_t *conv, void *ud)
{
    mp_frame_t *f = ud;
    if (rc == MP_OK)
        mp_chat__push_members(chat, conv, 0, f);
    mp_frame_unref(f);
}

void mp_chat_push_conv(mp_chat_t *chat, uint64_t conv_id, mp_frame_t *f)
{
    mp_chat__with_conv(chat, conv_id, on_push_conv, mp_frame_ref(f));
}

void mp_chat_conv_changed(mp_chat_t *chat, uint64_t conv_id)
{
    chat->epoch++;
    mp_chat__cache_drop(chat->cache, conv_id);
}
