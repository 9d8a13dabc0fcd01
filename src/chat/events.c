/* JSON shapes shared by replies, events and sync, and the fan-out of one
 * encoded frame to the online sessions of a conversation's members. */
#include <string.h>

#include "chat/chat_int.h"
#include "chat/sysmsg.h"
#include "util/alloc.h"

#include "util/id.h"

size_t mp_chat__reply_budget(const mp_chat_t *chat)
{
    size_t quarter = chat->ctx->cfg->ws_max_queue / 4;
    return quarter < MP_CHAT_REPLY_BYTES ? quarter : MP_CHAT_REPLY_BYTES;
}

size_t mp_chat__json_size(const json_t *j)
{
    /* Replies are encoded compact (net/frame.c, net/http_req.c), and a value
     * takes the same bytes inside an array as on its own. */
    return json_dumpb(j, NULL, 0, JSON_COMPACT);
}

json_t *mp_chat__id_json(uint64_t id)
{
    char buf[MP_ID_STRLEN];
    return json_string(mp_id_format(id, buf));
}

/* A system message's body is the record of proto/group_fact.h: its
 * "system" object goes to the message object, with the line rendered from it
 * as "text"; a body that does not parse is shown as it is. */
static void set_text(json_t *o, const mp_msg_row_t *m)
{
    json_t *body = NULL;
    if (m->kind != NULL && strcmp(m->kind, "system") == 0 && m->text != NULL)
        body = json_loads(m->text, 0, NULL);
    char *line = mp_chat_sysmsg_text(body);
    json_t *text = line != NULL ? json_string(line) : NULL;
    mp_free(line);
    if (text != NULL) {
        json_object_set_new(o, "text", text);
        json_object_set(o, "system", json_object_get(body, "system"));
    } else {
        json_object_set_new(o, "text", json_string(m->text ? m->text : ""));
    }
    json_decref(body);
}

json_t *mp_chat__msg_json(const mp_msg_row_t *m, bool with_cmid)
{
    json_t *o = json_object();
    json_object_set_new(o, "message_id", mp_chat__id_json(m->id));
    json_object_set_new(o, "conversation", mp_chat__id_json(m->conversation_id));
    json_object_set_new(o, "seq", json_integer(m->seq));
    json_object_set_new(o, "sender", mp_chat__id_json(m->sender_id));
    if (m->sender_guest)
        json_object_set_new(o, "sender_guest", json_true());
    json_object_set_new(o, "kind", json_string(m->kind ? m->kind : "text"));
    set_text(o, m);
    json_object_set_new(o, "created_at", json_integer(m->created_at));
    if (with_cmid && m->client_msg_id != NULL && json_object_get(o, "system") == NULL)
        json_object_set_new(o, "client_msg_id", json_string(m->client_msg_id));
    return o;
}

void mp_chat__push_members(mp_chat_t *chat, const mp_chat_conv_t *conv, uint64_t skip_user,
                           mp_frame_t *f)
{
    /* The world room fans out through the hub's whole table, not a member
     * list; direct and group rooms list their members. */
    if (conv->kind == MP_CONV_WORLD) {
        mp_hub_push_all(chat->ctx->hub, f, skip_user);
        return;
    }
    for (uint32_t i = 0; i < conv->n; i++)
        if (conv->members[i] != skip_user)
            mp_hub_push_user(chat->ctx->hub, conv->members[i], f, 0);
}
