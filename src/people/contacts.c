/* Contacts: friend requests and the mutual contact list (docs/protocol.md
 * "Contacts"). Every change is one store write (store/contacts.h) that
 * decides in its own transaction; its completion answers the caller and
 * sends {"event":"contact","contact":{...}} to every session of each user
 * whose side changed, each with their own side. A repeat changes nothing and
 * tells nobody; a request to someone who blocked the caller changes only
 * the caller's side, so only the caller hears of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "people/people_int.h"
#include "proto/contact.h"
#include "proto/validate.h"
#include "store/contacts.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"

#define LIST_DEFAULT 50

/* ---- events and answers ------------------------------------------------------------- */

void mp_people__contact_push(const mp_module_ctx_t *ctx, const mp_contact_t *c)
{
    json_t *ev = json_object();
    json_object_set_new(ev, "event", json_string("contact"));
    json_object_set_new(ev, "contact", mp_contact_json(c));
    mp_frame_t *f = mp_frame_new_json(ev);
    json_decref(ev);
    mp_hub_push_user(ctx->hub, c->user_id, f, 0);
    mp_frame_unref(f);
}

typedef struct change_ctx {
    mp_http_req_t *req;
    mp_people_t *people;
    mp_contact_op_t op;
    bool by_name; /* the peer was named by "username" */
} change_ctx_t;

/* What a refusal means for this op, in words. */
static const char *error_message(const change_ctx_t *c, mp_err_t rc)
{
    mp_contact_op_t op = c->op;
    if (rc == MP_ERR_BAD_REQUEST)
        return c->by_name ? "field 'username' names yourself: you cannot be your own contact"
                          : "you cannot be your own contact";
    if (rc == MP_ERR_GUEST_FORBIDDEN)
        return "guests cannot be contacts";
    if (rc != MP_ERR_NOT_FOUND)
        return NULL;
    switch (op) {
    case MP_CONTACT_OP_REQUEST:
        return "no such user";
    case MP_CONTACT_OP_ACCEPT:
    case MP_CONTACT_OP_DECLINE:
        return "no pending contact request from this user";
    case MP_CONTACT_OP_CANCEL:
        return "no pending contact request to this user";
    case MP_CONTACT_OP_REMOVE:
        return "this user is not your contact";
    }
    return NULL;
}

static void on_change(mp_err_t rc, const mp_contact_change_t *out, void *ud)
{
    change_ctx_t *c = ud;
    if (rc != MP_OK) {
        mp_http_respond_error(c->req, rc, error_message(c, rc));
        mp_free(c);
        return;
    }
    const mp_module_ctx_t *ctx = c->people->ctx;
    if (out->changed)
        mp_people__contact_push(ctx, &out->mine);
    if (out->delivered)
        mp_people__contact_push(ctx, &out->theirs);
    json_t *body = json_object();
    json_object_set_new(body, "contact", mp_contact_json(&out->mine));
    json_object_set_new(body, "changed", json_boolean(out->changed));
    mp_http_respond(c->req, 200, body);
    mp_free(c);
}

static void change(mp_http_req_t *req, mp_contact_op_t op, uint64_t peer, const char *username,
                   const char *message)
{
    change_ctx_t *c = mp_calloc(1, sizeof *c);
    *c = (change_ctx_t){
        .req = req, .people = mp_people__of(req), .op = op, .by_name = username != NULL};
    mp_err_t rc =
        mp_store_contact_change(c->people->ctx->store, op, mp_http_req_principal(req)->user_id,
                                peer, username, message, mp_now_ms(), on_change, c);
    if (rc != MP_OK)
        on_change(rc, NULL, c);
}

/* ---- POST /v1/contacts/requests -------------------------------------------------------- */

static const mp_field_t request_fields[] = {
    {"user_id", MP_F_ID, false, 0, 0},
    {"username", MP_F_ASCII, false, 1, 64},
    {"message", MP_F_TEXT, false, 0, MP_CONTACT_MESSAGE_MAX},
    {NULL, 0, false, 0, 0},
};

void mp_people__route_contact_request(mp_http_req_t *req)
{
    json_t *body = mp_http_req_json(req);
    char msg[256];
    if (mp_validate(body, request_fields, msg, sizeof msg) != MP_OK) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, msg);
        return;
    }
    const char *id = json_string_value(json_object_get(body, "user_id"));
    const char *name = json_string_value(json_object_get(body, "username"));
    if ((id == NULL) == (name == NULL)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST,
                              "give exactly one of the fields 'user_id' and 'username'");
        return;
    }
    uint64_t peer = 0;
    if (id != NULL && !mp_id_parse(id, &peer)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "field 'user_id' must be a user id");
        return;
    }
    if (name != NULL && name[0] == '@')
        name++; /* "@bob" names bob, as people write it */
    if (name != NULL && (name[0] == '\0' || strlen(name) > MP_USERNAME_MAX)) {
        mp_http_respond_error(req, MP_ERR_NOT_FOUND, "no such user");
        return;
    }
    if (peer == mp_http_req_principal(req)->user_id) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST,
                              "field 'user_id' names yourself: you cannot be your own contact");
        return;
    }
    change(req, MP_CONTACT_OP_REQUEST, peer, name,
           json_string_value(json_object_get(body, "message")));
}

/* ---- accept, decline, cancel, remove -------------------------------------------------- */

/* The {user_id} of the path; answers 404 for anything that is no id. */
static bool path_user(mp_http_req_t *req, uint64_t *out)
{
    if (mp_id_parse(mp_http_req_param(req, "user_id"), out))
        return true;
    mp_http_respond_error(req, MP_ERR_NOT_FOUND, "no such user");
    return false;
}

static void path_op(mp_http_req_t *req, mp_contact_op_t op)
{
    uint64_t peer;
    if (path_user(req, &peer))
        change(req, op, peer, NULL, NULL);
}

void mp_people__route_contact_accept(mp_http_req_t *req)
{
    path_op(req, MP_CONTACT_OP_ACCEPT);
}

void mp_people__route_contact_decline(mp_http_req_t *req)
{
    path_op(req, MP_CONTACT_OP_DECLINE);
}

void mp_people__route_contact_cancel(mp_http_req_t *req)
{
    path_op(req, MP_CONTACT_OP_CANCEL);
}

void mp_people__route_contact_remove(mp_http_req_t *req)
{
    path_op(req, MP_CONTACT_OP_REMOVE);
}

/* ---- lists ------------------------------------------------------------------------------ */

/* The cursor is "updated_at.peer_id" of the last entry of a page. */
static bool cursor_parse(const char *s, int64_t *updated, uint64_t *peer)
{
    const char *dot = strchr(s, '.');
    if (dot == NULL || dot == s || dot - s > 19)
        return false;
    char num[20];
    memcpy(num, s, (size_t)(dot - s));
    num[dot - s] = '\0';
    for (const char *p = num; *p != '\0'; p++)
        if (*p < '0' || *p > '9')
            return false;
    char *end;
    long long v = strtoll(num, &end, 10);
    if (*end != '\0' || v < 0)
        return false;
    *updated = v;
    return mp_id_parse(dot + 1, peer);
}

static void on_list(mp_err_t rc, const mp_contact_page_t *page, void *ud)
{
    mp_http_req_t *req = ud;
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, NULL);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < page->n; i++)
        json_array_append_new(arr, mp_contact_json(&page->v[i]));
    json_t *body = json_object();
    json_object_set_new(body, "contacts", arr);
    if (page->has_more && page->n > 0) {
        const mp_contact_t *last = &page->v[page->n - 1];
        char id[MP_ID_STRLEN], cur[48];
        snprintf(cur, sizeof cur, "%lld.%s", (long long)last->updated_at,
                 mp_id_format(last->peer_id, id));
        json_object_set_new(body, "next_cursor", json_string(cur));
    } else {
        json_object_set_new(body, "next_cursor", json_null());
    }
    mp_http_respond(req, 200, body);
}

static void list(mp_http_req_t *req, mp_contact_state_t state)
{
    const char *ql = mp_http_req_query(req, "limit");
    const char *qc = mp_http_req_query(req, "cursor");
    long long limit = LIST_DEFAULT;
    if (ql != NULL) {
        char *end;
        limit = strtoll(ql, &end, 10);
        if (ql[0] == '\0' || *end != '\0' || limit < 1 || limit > MP_CONTACT_LIST_MAX) {
            mp_http_respond_error(req, MP_ERR_BAD_REQUEST,
                                  "query 'limit' must be an integer from 1 to 100");
            return;
        }
    }
    int64_t after_updated = INT64_MAX;
    uint64_t after_peer = UINT64_MAX;
    if (qc != NULL && qc[0] != '\0' && !cursor_parse(qc, &after_updated, &after_peer)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST,
                              "query 'cursor' is not a cursor from this list");
        return;
    }
    mp_err_t rc =
        mp_store_contact_list(mp_people__of(req)->ctx->store, mp_http_req_principal(req)->user_id,
                              state, after_updated, after_peer, (unsigned)limit, on_list, req);
    if (rc != MP_OK)
        on_list(rc, NULL, req);
}

void mp_people__route_contact_requests(mp_http_req_t *req)
{
    const char *d = mp_http_req_query(req, "direction");
    if (d != NULL && strcmp(d, "incoming") == 0)
        list(req, MP_CONTACT_INCOMING);
    else if (d != NULL && strcmp(d, "outgoing") == 0)
        list(req, MP_CONTACT_OUTGOING);
    else
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST,
                              "query 'direction' must be 'incoming' or 'outgoing'");
}

void mp_people__route_contacts(mp_http_req_t *req)
{
    list(req, MP_CONTACT_FRIENDS);
}

/* ---- a deleted account ----------------------------------------------------------------- */

void mp_people_account_deleted(mp_people_t *people, const mp_account_delete_out_t *out)
{
    if (out->base.n_users == 0)
        return;
    mp_contact_t c = {
        .peer_id = out->base.users[0],
        .state = MP_CONTACT_NONE,
        .updated_at = out->at,
        .version = out->version,
    };
    snprintf(c.username, sizeof c.username, "%s", out->username ? out->username : "");
    snprintf(c.display_name, sizeof c.display_name, "%s", MP_DELETED_DISPLAY_NAME);
    for (size_t i = 0; i < out->n_peers; i++) {
        c.user_id = out->peers[i].user_id;
        c.created_at = out->peers[i].created_at;
        mp_people__contact_push(people->ctx, &c);
    }
}
