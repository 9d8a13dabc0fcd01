/* Profiles: PATCH /v1/me (one's own display name, bio and avatar, told to
 * everyone who shows them as profile_updated), GET /v1/users/{id} and GET
 * /v1/users/by-username/{name}, and the public profile object. */
#include <stdio.h>
#include <string.h>

#include "people/people_int.h"
#include "proto/names.h"
#include "proto/validate.h"
#include "util/alloc.h"
#include "util/id.h"

#define BIO_MAX_CHARS 256

/* Shown instead of what a deleted account had: its messages keep naming a
 * sender, but the person is gone. */
#define DELETED_NAME "Deleted account"

static json_t *id_json(uint64_t id)
{
    char buf[MP_ID_STRLEN];
    return json_string(mp_id_format(id, buf));
}

/* The profile without the viewer's relation: what the event carries to
 * everyone alike (a profile change does not change a relation). */
static json_t *profile_public_json(const mp_profile_row_t *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "user_id", id_json(p->id));
    json_object_set_new(o, "username", json_string(p->username));
    json_object_set_new(o, "display_name",
                        json_string(p->deleted ? DELETED_NAME : p->display_name));
    json_object_set_new(o, "bio", json_string(p->deleted ? "" : p->bio));
    json_object_set_new(o, "avatar_file_id",
                        p->deleted || p->avatar_file_id == 0 ? json_null()
                                                             : id_json(p->avatar_file_id));
    json_object_set_new(o, "guest", json_boolean(p->guest));
    json_object_set_new(o, "deleted", json_boolean(p->deleted));
    json_object_set_new(o, "created_at", json_integer(p->created_at));
    return o;
}

json_t *mp_people__profile_json(const mp_profile_row_t *p)
{
    json_t *o = profile_public_json(p);
    json_object_set_new(o, "contact", json_string(mp_contact_state_name(p->contact)));
    json_object_set_new(o, "blocked", json_boolean(p->blocked));
    return o;
}

/* ---- GET /v1/users/{id}, GET /v1/users/by-username/{name} ---------------------- */

static void on_profile(mp_err_t rc, const mp_profile_row_t *p, void *ud)
{
    mp_http_req_t *req = ud;
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, rc == MP_ERR_NOT_FOUND ? "no such user" : NULL);
        return;
    }
    mp_http_respond(req, 200, mp_people__profile_json(p));
}

void mp_people__route_user(mp_http_req_t *req)
{
    uint64_t id = 0;
    /* Like every {id} route: what is not an id names nobody. */
    if (!mp_id_parse(mp_http_req_param(req, "id"), &id) || id == 0) {
        mp_http_respond_error(req, MP_ERR_NOT_FOUND, "no such user");
        return;
    }
    mp_people_t *people = mp_people__of(req);
    mp_err_t rc = mp_store_people_by_id(people->ctx->store, mp_http_req_principal(req)->user_id, id,
                                        on_profile, req);
    if (rc != MP_OK)
        mp_http_respond_error(req, rc, NULL);
}

void mp_people__route_by_username(mp_http_req_t *req)
{
    const char *name = mp_http_req_param(req, "name");
    char norm[MP_NAME_USERNAME_MAX + 1];
    /* A leading '@' is how people write a username: accept it. */
    if (name != NULL && name[0] == '@')
        name++;
    if (name == NULL || mp_name_username_norm(name, strlen(name), norm) != MP_OK) {
        mp_http_respond_error(req, MP_ERR_NOT_FOUND, "no user has this username");
        return;
    }
    mp_people_t *people = mp_people__of(req);
    mp_err_t rc = mp_store_people_by_username(
        people->ctx->store, mp_http_req_principal(req)->user_id, norm, on_profile, req);
    if (rc != MP_OK)
        mp_http_respond_error(req, rc, NULL);
}

/* ---- PATCH /v1/me -------------------------------------------------------------- */

static const mp_field_t me_fields[] = {
    {"display_name", MP_F_STRING, false, 0, 0},
    {"bio", MP_F_TEXT, false, 0, BIO_MAX_CHARS},
    {NULL, 0, false, 0, 0},
};

typedef struct me_ctx {
    mp_http_req_t *req;
    mp_people_t *people;
    char name[MP_DISPLAY_NAME_MAX + 1];
    bool avatar; /* an avatar_file_id was given (not null) */
} me_ctx_t;

/* profile_updated to every session of the user (their other devices) and of
 * everyone in the audience who is online: encoded once. */
static void tell(mp_people_t *people, const mp_profile_row_t *p, const uint64_t *audience, size_t n)
{
    json_t *ev = json_pack("{s:s,s:o}", "event", "profile_updated", "user", profile_public_json(p));
    mp_frame_t *f = mp_frame_new_json(ev);
    json_decref(ev);
    if (f == NULL)
        return;
    mp_hub_push_user(people->ctx->hub, p->id, f, 0);
    for (size_t i = 0; i < n; i++)
        mp_hub_push_user(people->ctx->hub, audience[i], f, 0);
    mp_frame_unref(f);
}

static void on_updated(mp_err_t rc, const mp_profile_row_t *p, const uint64_t *audience, size_t n,
                       void *ud)
{
    me_ctx_t *c = ud;
    if (rc != MP_OK && c->avatar && (rc == MP_ERR_NOT_FOUND || rc == MP_ERR_BAD_REQUEST)) {
        /* The only not found / bad request of an update that passed the
         * route's checks by an active user: the avatar's file. */
        mp_http_respond_error(c->req, rc,
                              rc == MP_ERR_NOT_FOUND
                                  ? "field 'avatar_file_id' names no uploaded file"
                                  : "field 'avatar_file_id' must name an image");
    } else if (rc != MP_OK) {
        mp_http_respond_error(c->req, rc, NULL);
    } else {
        mp_http_respond(c->req, 200, mp_people__profile_json(p));
        tell(c->people, p, audience, n);
    }
    mp_free(c);
}

/* avatar_file_id: absent (unchanged), null (cleared) or a file id. False when
 * it has answered. */
static bool avatar_field(mp_http_req_t *req, json_t *body, mp_people_update_t *u)
{
    json_t *v = json_object_get(body, "avatar_file_id");
    uint64_t id = 0;
    if (v == NULL)
        return true;
    if (json_is_null(v)) {
        u->set_avatar = true;
        u->avatar_file_id = 0;
        return true;
    }
    if (!json_is_string(v) || !mp_id_parse(json_string_value(v), &id) || id == 0) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST,
                              "field 'avatar_file_id' must be a file id (a string) or null");
        return false;
    }
    /* Whose file it is and its class are checked in the write that sets it
     * (mp_store_people_update), so a file swept or replaced meanwhile cannot
     * slip through. */
    u->set_avatar = true;
    u->avatar_file_id = id;
    return true;
}

void mp_people__route_me_patch(mp_http_req_t *req)
{
    char msg[256] = "";
    json_t *body = mp_http_req_json(req);
    if (mp_validate(body, me_fields, msg, sizeof msg) != MP_OK) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, msg);
        return;
    }
    json_t *name = json_object_get(body, "display_name");
    json_t *bio = json_object_get(body, "bio");
    mp_people_update_t u = {0};
    if (!avatar_field(req, body, &u))
        return;
    me_ctx_t *c = mp_calloc(1, sizeof *c);
    c->req = req;
    c->people = mp_people__of(req);
    c->avatar = u.set_avatar && u.avatar_file_id != 0;
    if (json_is_string(name)) {
        if (!mp_name_label_clean(json_string_value(name), json_string_length(name), c->name,
                                 sizeof c->name)) {
            snprintf(msg, sizeof msg, MP_NAME_LABEL_RULE, "display_name", MP_NAME_LABEL_MAX_CHARS);
            mp_http_respond_error(req, MP_ERR_BAD_REQUEST, msg);
            mp_free(c);
            return;
        }
        u.set_display_name = true;
        u.display_name = c->name;
    }
    if (json_is_string(bio)) {
        u.set_bio = true;
        u.bio = json_string_value(bio);
    }
    if (!u.set_display_name && !u.set_bio && !u.set_avatar) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST,
                              "give at least one of 'display_name', 'bio' and 'avatar_file_id'");
        mp_free(c);
        return;
    }
    mp_err_t rc = mp_store_people_update(c->people->ctx->store, mp_http_req_principal(req)->user_id,
                                         &u, on_updated, c);
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, NULL);
        mp_free(c);
    }
}
