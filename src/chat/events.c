/* JSON shapes shared by replies, events and sync, and the fan-out of one
 * encoded frame to the online sessions of a conversation's members. */
#include "chat/chat_int.h"

#include "app/app.h"
#include "util/id.h"

json_t *mp_chat__id_json(uint64_t id)
{
    char buf[MP_ID_STRLEN];
    return json_string(mp_id_format(id, buf));
}

json_t *mp_chat__msg_json(const mp_msg_row_t *m, bool with_cmid)
{
    json_t *o = json_object();
    json_object_set_new(o, "message_id", mp_chat__id_json(m->id));
    json_object_set_new(o, "conversation", mp_chat__id_json(m->conversation_id));
    json_object_set_new(o, "seq", json_integer(m->seq));
    json_object_set_new(o, "sender", mp_chat__id_json(m->sender_id));
    json_object_set_new(o, "kind", json_string(m->kind ? m->kind : "text"));
    json_object_set_new(o, "text", json_string(m->text ? m->text : ""));
    json_object_set_new(o, "created_at", json_integer(m->created_at));
    if (with_cmid && m->client_msg_id != NULL)
        json_object_set_new(o, "client_msg_id", json_string(m->client_msg_id));
    return o;
}

void mp_chat__push_members(mp_chat_t *chat, const mp_chat_conv_t *conv, uint64_t skip_user,
                           mp_frame_t *f)
{
    /* World rooms (next issue) fan out through the hub's whole table, not a
     * member list; direct and group rooms list their members. */
    for (uint32_t i = 0; i < conv->n; i++)
        if (conv->members[i] != skip_user)
            mp_hub_push_user(chat->app->hub, conv->members[i], f, 0);
}
