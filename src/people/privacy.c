/* GET and PATCH /v1/me/privacy: the caller's privacy settings
 * (docs/protocol.md "Privacy settings"). The store keeps them; the rules
 * that apply them run where each action is stored (proto/privacy.h). The
 * read-receipts setting is also kept in memory (MP_UF_NO_RECEIPTS), set here
 * in the completion of the write, so the next receipt already follows it.
 * The caller's sessions get {"event":"privacy","privacy":{...}} after a
 * change. */
#include <stdio.h>
#include <string.h>

#include "people/people_int.h"
#include "store/privacy.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/log.h"

static json_t *settings_json(const mp_privacy_settings_t *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "message", json_string(mp_privacy_name(s->message)));
    json_object_set_new(o, "presence", json_string(mp_privacy_name(s->presence)));
    json_object_set_new(o, "search", json_string(mp_privacy_name(s->search)));
    json_object_set_new(o, "groups", json_string(mp_privacy_name(s->groups)));
    json_object_set_new(o, "read_receipts", json_boolean(s->receipts));
    return o;
}

static void on_get(mp_err_t rc, const mp_privacy_settings_t *s, void *ud)
{
    mp_http_req_t *req = ud;
    if (rc != MP_OK)
        mp_http_respond_error(req, rc, NULL);
    else
        mp_http_respond(req, 200, settings_json(s));
}

void mp_people__route_privacy_get(mp_http_req_t *req)
{
    mp_err_t rc = mp_store_privacy_get(mp_people__of(req)->ctx->store,
                                       mp_http_req_principal(req)->user_id, on_get, req);
    if (rc != MP_OK)
        mp_http_respond_error(req, rc, NULL);
}

typedef struct patch_ctx {
    mp_http_req_t *req;
    const mp_module_ctx_t *ctx;
    uint64_t user;
    bool presence; /* the presence setting was given */
} patch_ctx_t;

/* ---- presence after a change of its rules ------------------------------------------- */

typedef struct refresh_ctx {
    const mp_module_ctx_t *ctx;
    uint64_t user;
} refresh_ctx_t;

/* The presence event of chat's presence.c: at is 0 for null. */
static mp_frame_t *presence_frame(uint64_t user, bool online, int64_t at)
{
    char id[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)user);
    json_t *ev = json_object();
    json_object_set_new(ev, "event", json_string("presence"));
    json_object_set_new(ev, "user_id", json_string(id));
    json_object_set_new(ev, "online", json_boolean(online));
    json_object_set_new(ev, "last_seen_at", at > 0 ? json_integer(at) : json_null());
    mp_frame_t *f = mp_frame_new_json(ev);
    json_decref(ev);
    return f;
}

/* A refresh the store refused or failed: peers keep what they were told
 * until the user's next presence change, so say so. */
static void refresh_lost(uint64_t user, mp_err_t rc)
{
    mp_log_warn("people: presence of user %llu not refreshed after a rule change: %s",
                (unsigned long long)user, mp_err_code(rc));
}

static void on_split(mp_err_t rc, const uint64_t *users, size_t n, size_t n_allowed, void *ud)
{
    refresh_ctx_t *c = ud;
    mp_hub_t *hub = c->ctx->hub;
    if (rc != MP_OK)
        refresh_lost(c->user, rc);
    /* Gone offline meanwhile: the offline notice followed the new rules. */
    if (rc == MP_OK && mp_hub_online(hub, c->user)) {
        mp_frame_t *on = NULL, *off = NULL;
        for (size_t i = 0; i < n; i++) {
            if (!mp_hub_online(hub, users[i]))
                continue;
            bool allowed = i < n_allowed;
            mp_frame_t **f = allowed ? &on : &off;
            if (*f == NULL)
                *f = presence_frame(c->user, allowed, allowed ? mp_now_ms() : 0);
            mp_hub_push_user(hub, users[i], *f, 0);
        }
        if (on != NULL)
            mp_frame_unref(on);
        if (off != NULL)
            mp_frame_unref(off);
    }
    mp_free(c);
}

void mp_people__presence_refresh(const mp_module_ctx_t *ctx, uint64_t user)
{
    if (!mp_hub_online(ctx->hub, user))
        return; /* the last notice was "offline", which says nothing more */
    refresh_ctx_t *c = mp_malloc(sizeof *c);
    *c = (refresh_ctx_t){ctx, user};
    /* A full queue only costs this refresh. */
    mp_err_t rc = mp_store_presence_split(ctx->store, user, on_split, c);
    if (rc != MP_OK) {
        refresh_lost(user, rc);
        mp_free(c);
    }
}

/* ---- PATCH ----------------------------------------------------------------------------- */

static void on_set(mp_err_t rc, const mp_privacy_settings_t *s, void *ud)
{
    patch_ctx_t *c = ud;
    if (rc != MP_OK) {
        mp_http_respond_error(c->req, rc, NULL);
        mp_free(c);
        return;
    }
    /* Before anything else runs on the loop: the next receipt follows it. */
    mp_userflags_set(c->ctx->flags, c->user, MP_UF_NO_RECEIPTS, !s->receipts);
    mp_http_respond(c->req, 200, settings_json(s));
    json_t *ev = json_object();
    json_object_set_new(ev, "event", json_string("privacy"));
    json_object_set_new(ev, "privacy", settings_json(s));
    mp_frame_t *f = mp_frame_new_json(ev);
    json_decref(ev);
    mp_hub_push_user(c->ctx->hub, c->user, f, 0);
    mp_frame_unref(f);
    if (c->presence)
        mp_people__presence_refresh(c->ctx, c->user);
    mp_free(c);
}

static const struct {
    const char *name;
    unsigned bit;
} SETTINGS[] = {
    {"message", MP_PRIVSET_MESSAGE},
    {"presence", MP_PRIVSET_PRESENCE},
    {"search", MP_PRIVSET_SEARCH},
    {"groups", MP_PRIVSET_GROUPS},
};

/* One setting of the body into *set; false with msg when it is not one of
 * the three values. */
static bool parse_setting(const char *name, json_t *v, unsigned bit, mp_privacy_settings_t *set,
                          char *msg, size_t len)
{
    mp_privacy_t p;
    if (!mp_privacy_parse(json_string_value(v), &p)) {
        snprintf(msg, len, "field '%s' must be \"everyone\", \"contacts\" or \"nobody\"", name);
        return false;
    }
    if (bit == MP_PRIVSET_MESSAGE)
        set->message = p;
    else if (bit == MP_PRIVSET_PRESENCE)
        set->presence = p;
    else if (bit == MP_PRIVSET_SEARCH)
        set->search = p;
    else
        set->groups = p;
    return true;
}

/* Every member of the body must be a known setting with a valid value: a
 * misspelt name would otherwise be a setting silently not applied. */
static bool parse_body(json_t *body, unsigned *mask, mp_privacy_settings_t *set, char *msg,
                       size_t len)
{
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        unsigned bit = 0;
        for (size_t i = 0; i < sizeof SETTINGS / sizeof SETTINGS[0] && bit == 0; i++)
            if (strcmp(key, SETTINGS[i].name) == 0)
                bit = SETTINGS[i].bit;
        if (bit != 0) {
            if (!parse_setting(key, v, bit, set, msg, len))
                return false;
        } else if (strcmp(key, "read_receipts") == 0) {
            if (!json_is_boolean(v)) {
                snprintf(msg, len, "field 'read_receipts' must be true or false");
                return false;
            }
            bit = MP_PRIVSET_RECEIPTS;
            set->receipts = json_is_true(v);
        } else {
            snprintf(msg, len,
                     "field '%.64s' is not a privacy setting (message, presence, search, groups, "
                     "read_receipts)",
                     key);
            return false;
        }
        *mask |= bit;
    }
    return true;
}

void mp_people__route_privacy_patch(mp_http_req_t *req)
{
    char msg[200];
    unsigned mask = 0;
    mp_privacy_settings_t set = {0};
    if (!parse_body(mp_http_req_json(req), &mask, &set, msg, sizeof msg)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, msg);
        return;
    }
    patch_ctx_t *c = mp_calloc(1, sizeof *c);
    c->req = req;
    c->ctx = mp_people__of(req)->ctx;
    c->user = mp_http_req_principal(req)->user_id;
    c->presence = (mask & MP_PRIVSET_PRESENCE) != 0;
    mp_err_t rc = mp_store_privacy_set(c->ctx->store, c->user, mask, &set, on_set, c);
    if (rc != MP_OK)
        on_set(rc, NULL, c);
}
