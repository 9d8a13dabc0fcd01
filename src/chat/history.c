/* Message history of one conversation, newest page first but each page in
 * ascending seq order: the `history` verb and
 * GET /v1/conversations/{id}/messages?before_seq=&limit=. Both answer
 * {"conversation","messages":[...],"has_more"}; a non-member (or an unknown
 * id) gets 403 not_member. A page holds at most `limit` messages and at most
 * the reply budget of encoded bytes (mp_chat__reply_budget). */
#include "chat/chat_int.h"
#include "chat/msgenc.h"
#include "util/assert.h"
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
    mp_sid_t sid;       /* WebSocket: sid and pg.req_id */
    mp_http_req_t *req; /* HTTP */
    mp_chat_page_t pg;  /* the reader, the conversation, the budget */
} hist_ctx_t;

/* The hand-written encoder for the common rows, the jansson tree for the
 * others (content, reactions, tombstones, system records), the same bytes
 * either way. */
void mp_chat__msg_write(mp_msgenc_t *e, const mp_msg_row_t *r, bool own)
{
    if (mp_msgenc_covers(r)) {
        mp_msgenc_msg(e, r, own);
        return;
    }
    json_t *j = mp_chat__msg_json(r, own);
    mp_msgenc_json(e, j);
    json_decref(j);
}

/* Encoded newest first into `items`, so that encoding stops at the budget:
 * the work on the loop is at most about one budget. */
void mp_chat__history_page(mp_msgenc_t *out, const mp_chat_page_t *pg, const mp_msg_row_t *m,
                           size_t n, bool more)
{
    mp_msgenc_t items;
    mp_msgenc_init(&items);
    size_t *start = mp_calloc(n ? n : 1, sizeof *start); /* of m[i]'s item in items */
    size_t used = HISTORY_ENVELOPE, first = n;
    while (first > 0) {
        const mp_msg_row_t *r = &m[first - 1];
        size_t at = items.len;
        mp_chat__msg_write(&items, r, r->sender_id == pg->user);
        size_t size = items.len - at + 1; /* and its comma */
        if (first < n && used + size > pg->budget) {
            items.len = at;
            more = true;
            break;
        }
        used += size;
        start[--first] = at;
    }
    if (pg->ws) {
        MP_MSGENC_LIT(out, "{\"id\":");
        mp_msgenc_int(out, pg->req_id);
        MP_MSGENC_LIT(out, ",\"ok\":true,");
    } else {
        MP_MSGENC_LIT(out, "{");
    }
    MP_MSGENC_LIT(out, "\"conversation\":");
    mp_msgenc_id(out, pg->conv);
    MP_MSGENC_LIT(out, ",\"messages\":[");
    /* Encoded newest first, written oldest first: item k ends where the
     * older item k - 1 begins, and the oldest, first, at the end of items. */
    for (size_t k = first; k < n; k++) {
        size_t end = k == first ? items.len : start[k - 1];
        MP_ASSERT(end > start[k]);
        if (k > first)
            MP_MSGENC_LIT(out, ",");
        mp_msgenc_put(out, items.buf + start[k], end - start[k]);
    }
    MP_MSGENC_LIT(out, "],\"has_more\":");
    if (more)
        MP_MSGENC_LIT(out, "true}");
    else
        MP_MSGENC_LIT(out, "false}");
    mp_free(start);
    mp_msgenc_free(&items);
}

static void on_history(mp_err_t rc, const mp_msg_row_t *m, size_t n, bool more, void *ud)
{
    hist_ctx_t *c = ud;
    mp_server_t *srv = c->chat->ctx->srv;
    if (rc != MP_OK) {
        if (c->req != NULL)
            mp_http_respond_error(c->req, rc, NULL);
        else
            mp_gw_error(srv, c->sid, c->pg.req_id, rc, NULL, NULL);
        mp_free(c);
        return;
    }
    mp_msgenc_t out;
    mp_msgenc_init(&out);
    mp_chat__history_page(&out, &c->pg, m, n, more);
    if (c->req != NULL)
        mp_http_respond_text(c->req, 200, out.buf, out.len);
    else
        mp_gw_reply_text(srv, c->sid, out.buf, out.len);
    mp_msgenc_free(&out);
    mp_free(c);
}

/* Queues the read; on a full queue answers unavailable itself. */
static void start(hist_ctx_t *c, int64_t before, unsigned limit)
{
    /* The store stops reading once the raw rows pass the budget: encoded
     * JSON is never smaller than the raw text, so what it leaves out could
     * not have fitted. */
    c->pg.budget = mp_chat__reply_budget(c->chat);
    mp_err_t rc = mp_store_chat_history(c->chat->ctx->store, c->pg.user, c->pg.conv, before, limit,
                                        c->pg.budget, on_history, c);
    if (rc != MP_OK)
        on_history(rc, NULL, 0, false, c);
}

void mp_chat_verb_history(mp_cmd_t *cmd)
{
    hist_ctx_t *c = mp_calloc(1, sizeof *c);
    c->chat = mp_chat__of_cmd(cmd);
    c->pg.user = cmd->who.user_id;
    c->sid = cmd->sid;
    c->pg.req_id = cmd->req_id;
    c->pg.ws = true;
    (void)mp_id_parse(json_string_value(json_object_get(cmd->frame, "conversation")), &c->pg.conv);
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
    c->pg.user = mp_http_req_principal(req)->user_id;
    c->pg.conv = conv;
    c->req = req;
    start(c, before, (unsigned)limit);
}
