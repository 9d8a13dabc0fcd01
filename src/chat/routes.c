/* The verb and route tables of the chat module, and its HTTP resources: the
 * direct conversation of a pair, and the caller's conversation list. */
#include <stdio.h>
#include <string.h>

#include "chat/chat_int.h"
#include "store/privacy.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"

#define LIST_DEFAULT 50

#define GUEST_WORLD (MP_VERB_GUEST_OK | MP_VERB_WORLD_ONLY)

/* One line per verb: {type, fields (NULL = none), handler, flags}. */
const mp_verb_t mp_chat_verbs[] = {
    {"send", mp_chat_send_fields, mp_chat_verb_send, GUEST_WORLD | MP_VERB_GUEST_WRITE},
    /* Changes of stored messages: guests edit and delete their world posts;
     * forwarding reads another conversation, which guests have none of. */
    {"edit", mp_chat_edit_fields, mp_chat_verb_edit, GUEST_WORLD | MP_VERB_GUEST_WRITE},
    {"delete", mp_chat_delete_fields, mp_chat_verb_delete, GUEST_WORLD | MP_VERB_GUEST_WRITE},
    {"forward", mp_chat_forward_fields, mp_chat_verb_forward, 0},
    {"history", mp_chat_history_fields, mp_chat_verb_history, GUEST_WORLD},
    /* A guest has no member rows and the world is not in sync: an empty result. */
    {"sync", mp_chat_sync_fields, mp_chat_verb_sync, MP_VERB_GUEST_OK},
    {"read", mp_chat_cursor_fields, mp_chat_verb_read, GUEST_WORLD},
    /* Guests keep a delivered cursor in the world like any user (world_reads). */
    {"delivered", mp_chat_cursor_fields, mp_chat_verb_delivered, GUEST_WORLD},
    {"typing", mp_chat_typing_fields, mp_chat_verb_typing, GUEST_WORLD | MP_VERB_GUEST_WRITE},
    /* Reactions and search: guests in the world room only (a guest's search
     * must name the world); pins and the user's settings: members only. */
    {"react", mp_chat_react_fields, mp_chat_verb_react, GUEST_WORLD | MP_VERB_GUEST_WRITE},
    {"unreact", mp_chat_react_fields, mp_chat_verb_unreact, GUEST_WORLD | MP_VERB_GUEST_WRITE},
    {"reactions", mp_chat_reactions_fields, mp_chat_verb_reactions, GUEST_WORLD},
    {"pin", mp_chat_pin_fields, mp_chat_verb_pin, 0},
    {"unpin", mp_chat_pin_fields, mp_chat_verb_unpin, 0},
    {"conversation_update", mp_chat_convset_fields, mp_chat_verb_conv_update, 0},
    {"conversation_clear", mp_chat_conv_fields, mp_chat_verb_conv_clear, 0},
    {"conversation_delete", mp_chat_conv_fields, mp_chat_verb_conv_delete, 0},
    {"search", mp_chat_search_fields, mp_chat_verb_search, GUEST_WORLD},
    {NULL, NULL, NULL, 0},
};

/* The frames read without a JSON tree (the verbs' raw readers). */
const mp_verb_raw_t mp_chat_raw_verbs[] = {
    {"send", mp_chat_verb_send_raw},
    {NULL, NULL},
};

const mp_route_t mp_chat_routes[] = {
    {"POST", "/v1/conversations/direct", MP_ROUTE_AUTH | MP_ROUTE_JSON, mp_chat__route_direct},
    {"GET", "/v1/conversations", MP_ROUTE_AUTH, mp_chat__route_list},
    /* Guests: the world's history only (checked by the handler). */
    {"GET", "/v1/conversations/{id}/messages", MP_ROUTE_AUTH | MP_ROUTE_GUEST_OK,
     mp_chat__route_history},
    {"GET", "/v1/users/{id}/presence", MP_ROUTE_AUTH, mp_chat__route_presence},
    {"GET", "/v1/world", MP_ROUTE_AUTH | MP_ROUTE_GUEST_OK, mp_chat__route_world},
    /* Reactions and search: guests in the world room only (checked by the handlers). */
    {"GET", "/v1/conversations/{id}/messages/{mid}/reactions", MP_ROUTE_AUTH | MP_ROUTE_GUEST_OK,
     mp_chat__route_reactions},
    {"GET", "/v1/conversations/{id}/pins", MP_ROUTE_AUTH, mp_chat__route_pins},
    {"PATCH", "/v1/conversations/{id}", MP_ROUTE_AUTH | MP_ROUTE_JSON, mp_chat__route_conv_patch},
    {"POST", "/v1/conversations/{id}/clear", MP_ROUTE_AUTH, mp_chat__route_conv_clear},
    {"DELETE", "/v1/conversations/{id}", MP_ROUTE_AUTH, mp_chat__route_conv_delete},
    {"GET", "/v1/search", MP_ROUTE_AUTH | MP_ROUTE_GUEST_OK, mp_chat__route_search},
    {NULL, NULL, 0, NULL},
};

/* ---- POST /v1/conversations/direct {"user_id"} or {"username"} ------------- */

static const mp_field_t direct_fields[] = {
    {"user_id", MP_F_ID, false, 0, 0},
    {"username", MP_F_STRING, false, 0, 0},
    {NULL, 0, false, 0, 0},
};

typedef struct direct_ctx {
    mp_http_req_t *req;
    mp_chat_t *chat;
    uint64_t user, other;
    const char *field; /* the field that named the other user */
} direct_ctx_t;

/* Whose block refused it decides the words, and only the blocker learns of
 * their own: read after the refusal, for the message alone. */
static void on_direct_pair(mp_err_t rc, const mp_privacy_pair_t *p, void *ud)
{
    direct_ctx_t *c = ud;
    mp_http_respond_error(c->req, MP_ERR_PRIVACY,
                          mp_chat__privacy_message(rc == MP_OK && p->actor_blocked_target));
    mp_free(c);
}

static void on_direct(mp_err_t rc, uint64_t conv, bool created, void *ud)
{
    direct_ctx_t *c = ud;
    if (rc == MP_ERR_PRIVACY &&
        mp_store_privacy_pair(c->chat->ctx->store, c->user, c->other, on_direct_pair, c) == MP_OK)
        return;
    if (rc != MP_OK) {
        char msg[160];
        const char *m = NULL;
        if (rc == MP_ERR_BAD_REQUEST)
            m = "field '%s' cannot be yourself: a direct conversation needs another user";
        else if (rc == MP_ERR_GUEST_FORBIDDEN)
            m = "field '%s' names a guest: guests can only use the world room";
        else if (rc == MP_ERR_NOT_FOUND)
            m = "field '%s' names no user";
        if (m != NULL)
            snprintf(msg, sizeof msg, m, c->field);
        mp_http_respond_error(c->req, rc, m != NULL ? msg : NULL);
        mp_free(c);
        return;
    }
    uint64_t members[2] = {c->user, c->other};
    if (mp_chat__cache_get(c->chat->cache, conv) == NULL)
        (void)mp_chat__cache_put(c->chat->cache, conv, MP_CONV_DIRECT, members, 2);
    json_t *body = json_object();
    json_object_set_new(body, "conversation_id", mp_chat__id_json(conv));
    json_object_set_new(body, "kind", json_string("direct"));
    json_object_set_new(body, "peer", mp_chat__id_json(c->other));
    json_object_set_new(body, "created", json_boolean(created));
    mp_http_respond(c->req, created ? 201 : 200, body);
    mp_free(c);
}

static void direct_open(direct_ctx_t *c)
{
    mp_err_t rc =
        mp_store_chat_direct(c->chat->ctx->store, c->user, c->other, mp_now_ms(), on_direct, c);
    if (rc != MP_OK)
        on_direct(rc, 0, false, c);
}

static void on_direct_user(mp_err_t rc, uint64_t user_id, void *ud)
{
    direct_ctx_t *c = ud;
    if (rc != MP_OK) {
        on_direct(rc, 0, false, c);
        return;
    }
    c->other = user_id;
    direct_open(c);
}

void mp_chat__route_direct(mp_http_req_t *req)
{
    char msg[256];
    json_t *body = mp_http_req_json(req);
    mp_err_t rc = mp_validate(body, direct_fields, msg, sizeof msg);
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, msg);
        return;
    }
    json_t *id = json_object_get(body, "user_id");
    json_t *name = json_object_get(body, "username");
    if (json_is_string(id) == json_is_string(name)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST,
                              "exactly one of 'user_id' and 'username' is required");
        return;
    }
    direct_ctx_t *c = mp_calloc(1, sizeof *c);
    c->req = req;
    c->chat = mp_chat__of_req(req);
    c->user = mp_http_req_principal(req)->user_id;
    if (json_is_string(id)) {
        c->field = "user_id";
        (void)mp_id_parse(json_string_value(id), &c->other);
        direct_open(c);
        return;
    }
    c->field = "username";
    rc = mp_chat__user_by_name(c->chat, json_string_value(name), on_direct_user, c);
    if (rc != MP_OK)
        on_direct(rc, 0, false, c);
}

/* ---- GET /v1/conversations?limit=&cursor=&archived= -------------------------
 * The store puts the pinned conversations first on the first page. */

typedef struct list_ctx {
    mp_http_req_t *req;
} list_ctx_t;

static json_t *row_json(const mp_chat_list_row_t *r, uint64_t me)
{
    json_t *o = json_object();
    json_object_set_new(o, "conversation_id", mp_chat__id_json(r->id));
    json_object_set_new(o, "kind", json_string(mp_conv_kind_name(r->kind)));
    if (r->title != NULL)
        json_object_set_new(o, "title", json_string(r->title));
    if (r->peer_id != 0)
        json_object_set_new(o, "peer",
                            json_pack("{s:o,s:s,s:s}", "user_id", mp_chat__id_json(r->peer_id),
                                      "username", r->peer_username ? r->peer_username : "",
                                      "display_name",
                                      r->peer_display_name ? r->peer_display_name : ""));
    json_object_set_new(o, "last_message",
                        r->has_last ? mp_chat__msg_json(&r->last, r->last.sender_id == me)
                                    : json_null());
    json_object_set_new(o, "last_seq", json_integer(r->last_seq));
    json_object_set_new(o, "read_seq", json_integer(r->read_seq));
    json_object_set_new(o, "unread", json_integer(r->last_seq - r->read_seq));
    json_object_set_new(o, "active_at", json_integer(r->active_at));
    json_object_set_new(o, "unread_mentions", json_integer(r->unread_mentions));
    json_object_set_new(o, "settings", mp_chat__conv_settings_json(&r->settings));
    json_t *pins = json_array();
    for (size_t i = 0; i < r->n_pinned_ids; i++)
        json_array_append_new(pins, mp_chat__id_json(r->pinned_ids[i]));
    json_object_set_new(o, "pinned_messages", pins);
    return o;
}

static void on_list(mp_err_t rc, const mp_chat_list_row_t *rows, size_t n, bool more, void *ud)
{
    list_ctx_t *c = ud;
    if (rc != MP_OK) {
        mp_http_respond_error(c->req, rc, NULL);
        mp_free(c);
        return;
    }
    uint64_t me = mp_http_req_principal(c->req)->user_id;
    /* Each row carries its last message, which escaping can make ~24 KB:
     * the page ends early, with a cursor, once it would pass the reply
     * budget (always one row at least), as history and sync do. */
    size_t budget = mp_chat__reply_budget(mp_chat__of_req(c->req)), used = 0;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = row_json(&rows[i], me);
        size_t size = mp_chat__json_size(o) + 1;
        if (i > 0 && used + size > budget) {
            json_decref(o);
            n = i;
            more = true;
            break;
        }
        used += size;
        json_array_append_new(arr, o);
    }
    json_t *body = json_object();
    json_object_set_new(body, "conversations", arr);
    if (more && n > 0) {
        char cur[48];
        mp_chat__list_cursor_format(rows[n - 1].active_at, rows[n - 1].id, cur, sizeof cur);
        json_object_set_new(body, "next_cursor", json_string(cur));
    } else {
        json_object_set_new(body, "next_cursor", json_null());
    }
    mp_http_respond(c->req, 200, body);
    mp_free(c);
}

void mp_chat__route_list(mp_http_req_t *req)
{
    int64_t limit = LIST_DEFAULT, after_active = INT64_MAX;
    uint64_t after_id = 0;
    const char *ql = mp_http_req_query(req, "limit");
    const char *qc = mp_http_req_query(req, "cursor");
    const char *qa = mp_http_req_query(req, "archived");
    bool archived = qa != NULL && strcmp(qa, "true") == 0;
    if (qa != NULL && !archived && strcmp(qa, "false") != 0) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "archived must be true or false");
        return;
    }
    if (ql != NULL &&
        (!mp_chat__parse_i64(ql, &limit) || limit < 1 || limit > MP_CHAT_HISTORY_MAX)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "limit must be an integer from 1 to 200");
        return;
    }
    if (qc != NULL && qc[0] != '\0' && !mp_chat__list_cursor_parse(qc, &after_active, &after_id)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "cursor is not a cursor from this list");
        return;
    }
    list_ctx_t *c = mp_calloc(1, sizeof *c);
    c->req = req;
    mp_err_t rc =
        mp_store_chat_list(mp_chat__of_req(req)->ctx->store, mp_http_req_principal(req)->user_id,
                           after_active, after_id, (unsigned)limit, archived, on_list, c);
    if (rc != MP_OK)
        on_list(rc, NULL, 0, false, c);
}
