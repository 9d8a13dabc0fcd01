/* Search: the `search` verb and GET /v1/search. The store finds the hits
 * (store/messages.h: what a caller may never see is filtered there); this
 * file checks the input, cuts each hit's snippet (snippet.c) and keeps the
 * page within the reply budget. Newest first; the cursor is the id of the
 * last message returned. */
#include <stdio.h>
#include <string.h>

#include "chat/chat_int.h"
#include "proto/content.h"
#include "store/messages.h"
#include "util/alloc.h"
#include "util/id.h"

#define SEARCH_DEFAULT 20
#define SNIPPET_CHARS 64
#define HIGHLIGHTS_MAX 16
#define SEARCH_ENVELOPE 256

static const char BAD_QUERY[] = "field 'query' must be 1 to 256 characters";

const mp_field_t mp_chat_search_fields[] = {
    {"query", MP_F_STRING, true, 1, MP_CHAT_SEARCH_QUERY_MAX},
    {"conversation", MP_F_ID, false, 0, 0},
    {"sender", MP_F_ID, false, 0, 0},
    {"kind", MP_F_ASCII, false, 1, 16},
    {"from", MP_F_INT, false, 0, INT64_MAX},
    {"to", MP_F_INT, false, 0, INT64_MAX},
    {"before", MP_F_ID, false, 0, 0},
    {"limit", MP_F_INT, false, 1, MP_CHAT_SEARCH_MAX},
    {NULL, 0, false, 0, 0},
};

typedef struct search_ctx {
    mp_chat_rq_t rq;
    mp_search_in_t in;
    char query[4 * MP_CHAT_SEARCH_QUERY_MAX + 1];
    char kind[17];
} search_ctx_t;

static json_t *hit_json(const mp_search_hit_t *h, uint64_t me)
{
    mp_chat_hl_t hl[HIGHLIGHTS_MAX];
    size_t n_hl = 0;
    char *snippet = mp_chat__snippet(h->marked, SNIPPET_CHARS, hl, HIGHLIGHTS_MAX, &n_hl);
    json_t *arr = json_array();
    for (size_t i = 0; i < n_hl; i++)
        json_array_append_new(arr,
                              json_pack("[I,I]", (json_int_t)hl[i].start, (json_int_t)hl[i].len));
    json_t *o =
        json_pack("{s:o,s:s,s:o}", "message", mp_chat__msg_json(&h->msg, h->msg.sender_id == me),
                  "snippet", snippet, "highlights", arr);
    mp_free(snippet);
    return o;
}

static void on_search(mp_err_t rc, const mp_search_hit_t *hits, size_t n, bool more,
                      uint64_t next_before, void *ud)
{
    search_ctx_t *c = ud;
    if (rc != MP_OK) {
        mp_chat__rq_err(&c->rq, rc, NULL);
        mp_free(c);
        return;
    }
    /* A page of large messages ends early (with a cursor) once it would
     * pass the reply budget, as history does; one hit always goes in. */
    size_t budget = mp_chat__reply_budget(c->rq.chat), used = SEARCH_ENVELOPE;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = hit_json(&hits[i], c->rq.user);
        size_t size = mp_chat__json_size(o) + 1;
        if (i > 0 && used + size > budget) {
            json_decref(o);
            more = true;
            next_before = hits[i - 1].msg.id;
            break;
        }
        used += size;
        json_array_append_new(arr, o);
    }
    json_t *body = json_pack("{s:o,s:b}", "results", arr, "has_more", more);
    if (more && next_before != 0)
        json_object_set_new(body, "next_cursor", mp_chat__id_json(next_before));
    mp_chat__rq_ok(&c->rq, body);
    mp_free(c);
}

/* Checks what the field table cannot and starts the search. */
static void search_start(search_ctx_t *c, const char *query, const char *kind)
{
    const char *bad = NULL;
    mp_msg_kind_t k;
    if (query == NULL || query[0] == '\0' || !mp_utf8_valid(query, strlen(query)) ||
        mp_utf8_chars(query, strlen(query)) > MP_CHAT_SEARCH_QUERY_MAX)
        bad = BAD_QUERY;
    else if (kind != NULL && (strlen(kind) >= sizeof c->kind || !mp_kind_parse(kind, &k)))
        bad = "field 'kind' must be a message kind (text, image, file, voice, video, location, "
              "contact)";
    else if (c->in.to_ms != 0 && c->in.from_ms >= c->in.to_ms)
        bad = "field 'to' must be later than 'from'";
    if (bad != NULL) {
        mp_chat__rq_err(&c->rq, MP_ERR_BAD_REQUEST, bad);
        mp_free(c);
        return;
    }
    snprintf(c->query, sizeof c->query, "%s", query);
    c->in.query = c->query;
    if (kind != NULL) {
        snprintf(c->kind, sizeof c->kind, "%s", kind);
        c->in.kind = c->kind;
    }
    c->in.user_id = c->rq.user;
    mp_err_t rc = mp_store_search(c->rq.chat->ctx->store, &c->in, on_search, c);
    if (rc != MP_OK)
        on_search(rc, NULL, 0, false, 0, c);
}

void mp_chat_verb_search(mp_cmd_t *cmd)
{
    search_ctx_t *c = mp_calloc(1, sizeof *c);
    mp_chat__rq_of_cmd(&c->rq, cmd);
    const json_t *f = cmd->frame;
    c->in.conversation_id = mp_chat__obj_id(f, "conversation");
    c->in.sender_id = mp_chat__obj_id(f, "sender");
    c->in.before_id = mp_chat__obj_id(f, "before");
    json_t *from = json_object_get(f, "from"), *to = json_object_get(f, "to");
    json_t *l = json_object_get(f, "limit");
    c->in.from_ms = json_is_integer(from) ? (int64_t)json_integer_value(from) : 0;
    c->in.to_ms = json_is_integer(to) ? (int64_t)json_integer_value(to) : 0;
    c->in.limit = json_is_integer(l) ? (unsigned)json_integer_value(l) : SEARCH_DEFAULT;
    search_start(c, json_string_value(json_object_get(f, "query")),
                 json_string_value(json_object_get(f, "kind")));
}

/* An optional id parameter: absent or empty → 0; false when not an id. */
static bool query_id(mp_http_req_t *req, const char *name, uint64_t *out)
{
    const char *s = mp_http_req_query(req, name);
    *out = 0;
    return s == NULL || s[0] == '\0' || mp_id_parse(s, out);
}

static bool query_int(mp_http_req_t *req, const char *name, int64_t lo, int64_t hi, int64_t *out)
{
    const char *s = mp_http_req_query(req, name);
    return s == NULL || s[0] == '\0' || (mp_chat__parse_i64(s, out) && *out >= lo && *out <= hi);
}

void mp_chat__route_search(mp_http_req_t *req)
{
    search_ctx_t *c = mp_calloc(1, sizeof *c);
    mp_chat__rq_of_req(&c->rq, req);
    int64_t limit = SEARCH_DEFAULT;
    const char *bad = NULL;
    if (!query_id(req, "conversation", &c->in.conversation_id))
        bad = "field 'conversation' must be a conversation id";
    else if (!query_id(req, "sender", &c->in.sender_id))
        bad = "field 'sender' must be a user id";
    else if (!query_id(req, "before", &c->in.before_id))
        bad = "field 'before' must be a cursor from a previous page";
    else if (!query_int(req, "from", 0, INT64_MAX, &c->in.from_ms))
        bad = "field 'from' must be a time in ms";
    else if (!query_int(req, "to", 0, INT64_MAX, &c->in.to_ms))
        bad = "field 'to' must be a time in ms";
    else if (!query_int(req, "limit", 1, MP_CHAT_SEARCH_MAX, &limit))
        bad = "field 'limit' must be an integer from 1 to 50";
    /* A guest names the world (a malformed id is no world either). */
    if (c->rq.guest && !mp_chat__world_guest_reads(c->rq.chat, c->in.conversation_id)) {
        mp_chat__rq_err(&c->rq, MP_ERR_GUEST_FORBIDDEN, "guests may only search the world room");
        mp_free(c);
        return;
    }
    if (bad != NULL) {
        mp_chat__rq_err(&c->rq, MP_ERR_BAD_REQUEST, bad);
        mp_free(c);
        return;
    }
    c->in.limit = (unsigned)limit;
    const char *kind = mp_http_req_query(req, "kind");
    search_start(c, mp_http_req_query(req, "q"), kind != NULL && kind[0] != '\0' ? kind : NULL);
}
