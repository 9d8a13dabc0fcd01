/* The stored record of a system message: see proto/group_fact.h. */
#include "proto/group_fact.h"

#include <jansson.h>
#include <stdlib.h>

#include "util/alloc.h"
#include "util/id.h"

static json_t *id_json(uint64_t id)
{
    char buf[MP_ID_STRLEN];
    return json_string(mp_id_format(id, buf));
}

static const char *who(bool admins)
{
    return admins ? "admins" : "all";
}

/* The object clients receive; its members in the order they always had. */
static json_t *system_json(const mp_group_fact_t *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "action", json_string(f->action));
    json_object_set_new(o, "actor_id", id_json(f->actor_id));
    if (f->reason != NULL)
        json_object_set_new(o, "reason", json_string(f->reason));
    if (f->role != NULL)
        json_object_set_new(o, "role", json_string(f->role));
    if (f->until != 0)
        json_object_set_new(o, "until", json_integer(f->until));
    if (f->has_users) {
        json_t *a = json_array();
        for (size_t i = 0; i < f->n_users; i++)
            json_array_append_new(a, id_json(f->user_ids[i]));
        json_object_set_new(o, "user_ids", a);
    }
    if (f->title != NULL)
        json_object_set_new(o, "title", json_string(f->title));
    if (f->description != NULL)
        json_object_set_new(o, "description", json_string(f->description));
    if (f->has_avatar)
        json_object_set_new(o, "avatar_file_id",
                            f->avatar_file_id != 0 ? id_json(f->avatar_file_id) : json_null());
    if (f->settings != NULL)
        json_object_set_new(
            o, "settings",
            json_pack("{s:s,s:s,s:s,s:s}", "who_can_post", who(f->settings->post_admins),
                      "who_can_invite", who(f->settings->invite_admins), "who_can_edit_info",
                      who(f->settings->edit_admins), "who_can_pin", who(f->settings->pin_admins)));
    if (f->text != NULL)
        json_object_set_new(o, "text", json_string(f->text));
    return o;
}

char *mp_group_fact_encode(const mp_group_fact_t *f)
{
    json_t *names = json_array();
    for (size_t i = 0; i < f->n_names && i < MP_GROUP_FACT_NAMES; i++) {
        /* null keeps the places of the others, even for a name jansson
         * refuses (the store only holds valid UTF-8) */
        json_t *name = f->names[i] != NULL ? json_string(f->names[i]) : NULL;
        json_array_append_new(names, name != NULL ? name : json_null());
    }
    json_t *body = json_pack("{s:o,s:o}", "system", system_json(f), "names", names);
    if (body != NULL && f->renamed)
        json_object_set_new(body, "renamed", json_true());
    char *dump = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    char *out = dump != NULL ? mp_strdup(dump) : NULL;
    free(dump); /* jansson's allocator is the C library's */
    return out;
}
