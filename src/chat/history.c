/* Message history of one conversation, newest page first but each page in
 * ascending seq order: the `history` verb and
 * GET /v1/conversations/{id}/messages?before_seq=&limit=. Both answer
 * {"conversation","messages":[...],"has_more"}; a non-member (or an unknown
 * id) gets 403 not_member. A page holds at most `limit` messages and at most
 * the reply budget of encoded bytes (mp_chat__reply_budget). */
#include "chat/chat_int.h"
#include "util/alloc.h"
#include "util/id.h"

#define HISTORY_DEFAULT 50
/* Bytes kept for the page's envelope: {"id":..,"ok":true,"conversation":"..",
 * "messages":[],"has_more":false} and the separators' slack. */
#define HISTORY_ENVELOPE 256

const mp_field_t mp_chat_history_fields[] = {
    {"conversation", MP_F_ID, true, 0, 0},
    {"before_seq", MP_F_INT, false, 1, INT64_MAX},
    {"limit", MP_F_INT, false, 1, MP_CHAT_HISTORY_MAX},
    {NULL, 0, false, 0, 0},
};

typedef struct hist_ctx {
    mp_chat_t *chat;
    uint64_t user, conv;
    mp_sid_t sid; /* WebSocket: sid + req_id; HTTP: req */
    int64_t req_id;
    mp_http_req_t *req;
    size_t budget; /* encoded bytes of one page */
} hist_ctx_t;

/* The page is the newest messages of m (ascending) that fit the budget: it is
 * filled from the newest down, and stops before the first message that would
 * pass the budget, so the client's next before_seq (this page's first seq)
 * continues right below it. At least one message always goes in. Encoding
 * stops there too: the work on the loop is at most about one budget. */
static json_t *page_json(const hist_ctx_t *c, const mp_msg_row_t *m, size_t n, bool more)
{
    json_t **enc = mp_calloc(n ? n : 1, sizeof *enc);
    size_t used = HISTORY_ENVELOPE, first = n;
    while (first > 0) {
        const mp_msg_row_t *r = &m[first - 1];
        json_t *j = mp_chat__msg_json(r, r->sender_id == c->user);
        size_t size = mp_chat__json_size(j) + 1; /* and its comma */
        if (first < n && used + size > c->budget) {
            json_decref(j);
            more = true;
            break;
        }
        used += size;
        enc[--first] = j;
    }
    json_t *arr = json_array();
    for (size_t i = first; i < n; i++)
        json_array_append_new(arr, enc[i]);
    mp_free(enc);
    json_t *o = json_object();
    json_object_set_new(o, "conversation", mp_chat__id_json(c->conv));
    json_object_set_new(o, "messages", arr);
    json_object_set_new(o, "has_more", json_boolean(more));
    return o;
}

static void on_history(mp_err_t rc, const mp_msg_row_t *m, size_t n, bool more, void *ud)
{
    hist_ctx_t *c = ud;
    if (c->req != NULL) {
        if (rc != MP_OK)
            mp_http_respond_error(c->req, rc, NULL);
        else
            mp_http_respond(c->req, 200, page_json(c, m, n, more));
    } else {
        mp_server_t *srv = c->chat->ctx->srv;
        if (rc != MP_OK)
            mp_gw_error(srv, c->sid, c->req_id, rc, NULL, NULL);
        else
            mp_gw_reply(srv, c->sid, c->req_id, page_json(c, m, n, more));
    }
    mp_free(c);
}

/* Queues the read; on a full queue answers unavailable itself. */
static void start(hist_ctx_t *c, int64_t before, unsigned limit)
{
    /* The store stops reading once the raw rows pass the budget: encoded
     * JSON is never smaller than the raw text, so what it leaves out could
     * not have fitted. */
    c->budget = mp_chat__reply_budget(c->chat);
    mp_err_t rc = mp_store_chat_history(c->chat->ctx->store, c->user, c->conv, before, limit,
                                        c->budget, on_history, c);
    if (rc != MP_OK)
        on_history(rc, NULL, 0, false, c);
}

void mp_chat_verb_history(mp_cmd_t *cmd)
{
    hist_ctx_t *c = mp_calloc(1, sizeof *c);
    c->chat = mp_chat__of_cmd(cmd);
    c->user = cmd->who.user_id;
    c->sid = cmd->sid;
    c->req_id = cmd->req_id;
    (void)mp_id_parse(json_string_value(json_object_get(cmd->frame, "conversation")), &c->conv);
    json_t *b = json_object_get(cmd->frame, "before_seq");
    json_t *l = json_object_get(cmd->frame, "limit");
    int64_t before = json_is_integer(b) ? (int64_t)json_integer_value(b) : INT64_MAX;
    unsigned limit = json_is_integer(l) ? (unsigned)json_integer_value(l) : HISTORY_DEFAULT;
    start(c, before, limit);
}

void mp_chat__route_history(mp_http_req_t *req)
{
    uint64_t conv = 0;
    int64_t before = INT64_MAX, limit = HISTORY_DEFAULT;
    const char *qb = mp_http_req_query(req, "before_seq");
    const char *ql = mp_http_req_query(req, "limit");
    bool is_id = mp_id_parse(mp_http_req_param(req, "id"), &conv);
    if (mp_http_req_principal(req)->guest &&
        !mp_chat__world_guest_reads(mp_chat__of_req(req), is_id ? conv : 0)) {
        mp_http_respond_error(req, MP_ERR_GUEST_FORBIDDEN, "guests may only use the world room");
        return;
    }
    if (!is_id) {
        /* Not an id at all: the same answer as an unknown one. */
        mp_http_respond_error(req, MP_ERR_NOT_MEMBER, NULL);
        return;
    }
    if (qb != NULL && (!mp_chat__parse_i64(qb, &before) || before < 1)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "before_seq must be a positive integer");
        return;
    }
    if (ql != NULL &&
        (!mp_chat__parse_i64(ql, &limit) || limit < 1 || limit > MP_CHAT_HISTORY_MAX)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "limit must be an integer from 1 to 200");
        return;
    }
    hist_ctx_t *c = mp_calloc(1, sizeof *c);
    c->chat = mp_chat__of_req(req);
    c->user = mp_http_req_principal(req)->user_id;
    c->conv = conv;
    c->req = req;
    start(c, before, (unsigned)limit);
}
