/* TEMPORARY (issue 10 in progress): placeholders for the ops of
 * store/messages.h implemented by sqlite_msgs.c and sqlite_search.c. This
 * file is deleted when they land. */
#include "store/messages.h"

mp_err_t mp_store_msg_edit(mp_store_t *st, const mp_msg_actor_t *actor, uint64_t conversation_id,
                           uint64_t message_id, const char *text, size_t text_len,
                           int64_t edit_window_ms, int64_t now_ms, mp_msg_fn cb, void *ud)
{
    (void)st, (void)actor, (void)conversation_id, (void)message_id, (void)text, (void)text_len;
    (void)edit_window_ms, (void)now_ms, (void)cb, (void)ud;
    return MP_ERR_UNAVAILABLE;
}

mp_err_t mp_store_msg_delete(mp_store_t *st, const mp_msg_actor_t *actor, uint64_t conversation_id,
                             uint64_t message_id, bool for_everyone, int64_t recall_window_ms,
                             int64_t now_ms, mp_msg_fn cb, void *ud)
{
    (void)st, (void)actor, (void)conversation_id, (void)message_id, (void)for_everyone;
    (void)recall_window_ms, (void)now_ms, (void)cb, (void)ud;
    return MP_ERR_UNAVAILABLE;
}

mp_err_t mp_store_msg_forward(mp_store_t *st, const mp_msg_forward_in_t *in, mp_msg_forward_fn cb,
                              void *ud)
{
    (void)st, (void)in, (void)cb, (void)ud;
    return MP_ERR_UNAVAILABLE;
}

mp_err_t mp_store_search(mp_store_t *st, const mp_search_in_t *in, mp_search_fn cb, void *ud)
{
    (void)st, (void)in, (void)cb, (void)ud;
    return MP_ERR_UNAVAILABLE;
}

mp_err_t mp_store_search_index(mp_store_t *st, bool on, char *err, size_t errlen)
{
    (void)st, (void)on, (void)err, (void)errlen;
    return MP_OK;
}
