/* The contact entry on the wire: see proto/contact.h. */
#include "proto/contact.h"

#include "util/id.h"

const char *mp_contact_state_name(mp_contact_state_t state)
{
    switch (state) {
    case MP_CONTACT_OUTGOING:
        return "outgoing";
    case MP_CONTACT_INCOMING:
        return "incoming";
    case MP_CONTACT_FRIENDS:
        return "friends";
    case MP_CONTACT_NONE:
        break;
    }
    return "none";
}

json_t *mp_contact_json(const mp_contact_t *c)
{
    char buf[MP_ID_STRLEN];
    json_t *user = json_object();
    json_object_set_new(user, "user_id", json_string(mp_id_format(c->peer_id, buf)));
    json_object_set_new(user, "username", json_string(c->username));
    json_object_set_new(user, "display_name", json_string(c->display_name));
    json_t *o = json_object();
    json_object_set_new(o, "user", user);
    json_object_set_new(o, "state", json_string(mp_contact_state_name(c->state)));
    json_object_set_new(o, "message", json_string(c->message));
    json_object_set_new(o, "created_at", json_integer(c->created_at));
    json_object_set_new(o, "updated_at", json_integer(c->updated_at));
    return o;
}
