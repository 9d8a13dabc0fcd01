/* TEMPORARY (issue 10 in progress): placeholders for the ops of
 * store/messages.h implemented by sqlite_reactions.c and sqlite_convset.c.
 * This file is deleted when they land. */
#include "store/messages.h"
#include "store/sqlite_chat_int.h"

mp_err_t mp_store_msg_react(mp_store_t *st, const mp_msg_actor_t *actor, uint64_t conversation_id,
                            uint64_t message_id, const char *emoji, bool add, unsigned max_kinds,
                            int64_t now_ms, mp_msg_react_fn cb, void *ud)
{
    (void)st, (void)actor, (void)conversation_id, (void)message_id, (void)emoji, (void)add;
    (void)max_kinds, (void)now_ms, (void)cb, (void)ud;
    return MP_ERR_UNAVAILABLE;
}

mp_err_t mp_store_msg_reactors(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                               uint64_t message_id, const char *emoji, uint64_t after_user,
                               unsigned limit, mp_msg_reactors_fn cb, void *ud)
{
    (void)st, (void)user_id, (void)conversation_id, (void)message_id, (void)emoji;
    (void)after_user, (void)limit, (void)cb, (void)ud;
    return MP_ERR_UNAVAILABLE;
}

mp_err_t mp_store_msg_pin(mp_store_t *st, const mp_msg_actor_t *actor, uint64_t conversation_id,
                          uint64_t message_id, bool pin, int64_t now_ms, mp_msg_fn cb, void *ud)
{
    (void)st, (void)actor, (void)conversation_id, (void)message_id, (void)pin, (void)now_ms;
    (void)cb, (void)ud;
    return MP_ERR_UNAVAILABLE;
}

mp_err_t mp_store_msg_pins(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                           mp_msg_rows_fn cb, void *ud)
{
    (void)st, (void)user_id, (void)conversation_id, (void)cb, (void)ud;
    return MP_ERR_UNAVAILABLE;
}

mp_err_t mp_store_conv_settings(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                                const mp_convset_in_t *in, int64_t now_ms, mp_convset_fn cb,
                                void *ud)
{
    (void)st, (void)user_id, (void)conversation_id, (void)in, (void)now_ms, (void)cb, (void)ud;
    return MP_ERR_UNAVAILABLE;
}

mp_err_t mp_sqlite__msgs_reactions(mp_sql_conn_t *db, mp_msg_row_t *msgs, size_t n, uint64_t reader)
{
    (void)db, (void)reader;
    for (size_t i = 0; i < n; i++)
        msgs[i].n_reactions = 0;
    return MP_OK;
}
