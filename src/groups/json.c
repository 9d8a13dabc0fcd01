/* JSON shapes of the groups API (group, announcement, invite) and parsers
 * for the parts of request bodies that the field tables cannot express. */
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "groups/groups_int.h"
#include "util/alloc.h"
#include "util/id.h"

json_t *mp_groups__id_json(uint64_t id)
{
    char buf[MP_ID_STRLEN];
    return json_string(mp_id_format(id, buf));
}

static const char *who(bool admins)
{
    return admins ? "admins" : "all";
}

json_t *mp_groups__announcement_json(const mp_group_row_t *g)
{
    if (g->announcement_at == 0)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "text", json_string(g->announcement ? g->announcement : ""));
    json_object_set_new(o, "set_by", mp_groups__id_json(g->announcement_by));
    json_object_set_new(o, "set_at", json_integer(g->announcement_at));
    return o;
}

json_t *mp_groups__group_json(const mp_group_row_t *g)
{
    json_t *o = json_object();
    json_object_set_new(o, "conversation_id", mp_groups__id_json(g->id));
    json_object_set_new(o, "kind", json_string("group"));
    json_object_set_new(o, "title", json_string(g->title ? g->title : ""));
    json_object_set_new(o, "description", json_string(g->description ? g->description : ""));
    json_object_set_new(o, "avatar_file_id",
                        g->avatar_file_id != 0 ? mp_groups__id_json(g->avatar_file_id)
                                               : json_null());
    json_object_set_new(o, "member_count", json_integer(g->member_count));
    json_object_set_new(o, "my_role", json_string(mp_group_role_name(g->my_role)));
    json_object_set_new(o, "settings",
                        json_pack("{s:s,s:s,s:s,s:s}", "who_can_post", who(g->settings.post_admins),
                                  "who_can_invite", who(g->settings.invite_admins),
                                  "who_can_edit_info", who(g->settings.edit_admins), "who_can_pin",
                                  who(g->settings.pin_admins)));
    json_object_set_new(o, "announcement", mp_groups__announcement_json(g));
    json_object_set_new(o, "dissolved", json_boolean(g->dissolved_at != 0));
    json_object_set_new(o, "owner_id", mp_groups__id_json(g->owner_id));
    json_object_set_new(o, "created_at", json_integer(g->created_at));
    return o;
}

json_t *mp_groups__invite_json(const mp_group_invite_row_t *inv)
{
    json_t *o = json_object();
    json_object_set_new(o, "token", json_string(inv->token ? inv->token : ""));
    json_object_set_new(o, "conversation_id", mp_groups__id_json(inv->conversation_id));
    json_object_set_new(o, "expires_at",
                        inv->expires_at ? json_integer(inv->expires_at) : json_null());
    json_object_set_new(o, "max_uses", inv->max_uses ? json_integer(inv->max_uses) : json_null());
    json_object_set_new(o, "uses", json_integer(inv->uses));
    json_object_set_new(o, "created_by", mp_groups__id_json(inv->created_by));
    json_object_set_new(o, "created_at", json_integer(inv->created_at));
    json_object_set_new(o, "revoked", json_boolean(inv->revoked));
    return o;
}

bool mp_groups__settings_parse(const json_t *obj, unsigned *mask, mp_group_settings_t *out,
                               char *msg, size_t len)
{
    static const struct {
        const char *name;
        unsigned bit;
        size_t off;
    } keys[] = {
        {"who_can_post", MP_GROUP_SET_POST, offsetof(mp_group_settings_t, post_admins)},
        {"who_can_invite", MP_GROUP_SET_INVITE, offsetof(mp_group_settings_t, invite_admins)},
        {"who_can_edit_info", MP_GROUP_SET_EDIT, offsetof(mp_group_settings_t, edit_admins)},
        {"who_can_pin", MP_GROUP_SET_PIN, offsetof(mp_group_settings_t, pin_admins)},
    };
    *mask = 0;
    memset(out, 0, sizeof *out);
    if (obj == NULL || json_is_null(obj))
        return true;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const json_t *v = json_object_get(obj, keys[i].name);
        if (v == NULL || json_is_null(v))
            continue;
        const char *s = json_string_value(v);
        if (s == NULL || (strcmp(s, "all") != 0 && strcmp(s, "admins") != 0)) {
            snprintf(msg, len, "field 'settings.%s' must be \"all\" or \"admins\"", keys[i].name);
            return false;
        }
        *(bool *)((char *)out + keys[i].off) = strcmp(s, "admins") == 0;
        *mask |= keys[i].bit;
    }
    return true;
}

bool mp_groups__ids_parse(const json_t *arr, const char *field, uint64_t **out, size_t *n,
                          char *msg, size_t len)
{
    *out = NULL;
    *n = 0;
    if (arr == NULL || json_is_null(arr))
        return true;
    size_t count = json_array_size(arr);
    uint64_t *ids = mp_malloc((count ? count : 1) * sizeof *ids);
    for (size_t i = 0; i < count; i++) {
        const json_t *v = json_array_get(arr, i);
        if (!json_is_string(v) || !mp_id_parse(json_string_value(v), &ids[i])) {
            snprintf(msg, len, "field '%s' must be an array of user ids (decimal strings)", field);
            mp_free(ids);
            return false;
        }
    }
    *out = ids;
    *n = count;
    return true;
}

void mp_groups__cursor_format(int64_t joined_at, uint64_t user, char *out, size_t len)
{
    snprintf(out, len, "%lld.%llu", (long long)joined_at, (unsigned long long)user);
}

/* Strict: "<digits>.<id>", no signs, no spaces. */
bool mp_groups__cursor_parse(const char *s, int64_t *joined_at, uint64_t *user)
{
    const char *dot = s ? strchr(s, '.') : NULL;
    if (dot == NULL || dot == s || dot - s > 19)
        return false;
    uint64_t v = 0;
    for (const char *p = s; p < dot; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (uint64_t)(*p - '0'); /* 19 digits cannot wrap a uint64_t */
    }
    if (v > INT64_MAX || !mp_id_parse(dot + 1, user))
        return false;
    *joined_at = (int64_t)v;
    return true;
}

void mp_groups_token(char out[23])
{
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, 23, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

bool mp_groups_token_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > MP_GROUP_TOKEN_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}
