/* The `sync` verb: everything the caller missed since the cursor it holds.
 * The algorithm (store/chat.h, docs/protocol.md "sync"): every change gets a
 * global version; the reply lists what has a version above `since`, at most
 * ~500 items and the reply budget of encoded bytes per call, and the cursor
 * to continue from. Items are messages (new, or changed: edited, deleted,
 * reacted to, pinned — in their current state), receipts, and the caller's
 * own changes: messages hidden for them ("hidden") and settings changes,
 * whose item is the conversation entry that carries the settings, and the
 * caller's contact entries that changed ("contacts", tombstones of state
 * none included). */
#include <stdlib.h>
#include <string.h>

#include "chat/chat_int.h"
#include "chat/msgenc.h"
#include "proto/contact.h"
#include "util/alloc.h"
#include "util/assert.h"

const mp_field_t mp_chat_sync_fields[] = {
    {"since", MP_F_ASCII, true, 1, 19},
    {"limit", MP_F_INT, false, 1, MP_CHAT_SYNC_MAX},
    {NULL, 0, false, 0, 0},
};

typedef struct sync_ctx {
    mp_chat_t *chat;
    mp_sid_t sid;
    mp_chat_page_t pg; /* the caller, the request id, the budget */
} sync_ctx_t;

/* Bytes kept for the reply's envelope: {"id":..,"ok":true,"cursor":"..",
 * "has_more":false,"conversations":[],"messages":[],"receipts":[],
 * "hidden":[],"contacts":[]}. */
#define SYNC_ENVELOPE 512

json_t *mp_chat__sync_conv_json(const mp_chat_sync_conv_t *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "conversation_id", mp_chat__id_json(c->id));
    json_object_set_new(o, "kind", json_string(mp_conv_kind_name(c->kind)));
    json_object_set_new(o, "last_seq", json_integer(c->last_seq));
    json_object_set_new(o, "read_seq", json_integer(c->read_seq));
    json_object_set_new(o, "delivered_seq", json_integer(c->delivered_seq));
    json_object_set_new(o, "unread", json_integer(c->last_seq - c->read_seq));
    json_object_set_new(o, "unread_mentions", json_integer(c->unread_mentions));
    if (c->peer_id != 0)
        json_object_set_new(o, "peer", mp_chat__id_json(c->peer_id));
    json_object_set_new(o, "settings", mp_chat__conv_settings_json(&c->settings));
    return o;
}

/* A message deleted for the caller: their devices drop it. */
json_t *mp_chat__sync_hidden_json(const mp_chat_self_row_t *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "conversation", mp_chat__id_json(r->conversation_id));
    json_object_set_new(o, "message_id", mp_chat__id_json(r->message_id));
    return o;
}

/* Another member's read_seq only when both have read receipts on. */
json_t *mp_chat__sync_receipt_json(const mp_chat_t *chat, uint64_t viewer,
                                   const mp_chat_receipt_row_t *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "conversation", mp_chat__id_json(r->conversation_id));
    json_object_set_new(o, "user_id", mp_chat__id_json(r->user_id));
    if (mp_chat__read_visible(chat, r->user_id, viewer))
        json_object_set_new(o, "read_seq", json_integer(r->read_seq));
    json_object_set_new(o, "delivered_seq", json_integer(r->delivered_seq));
    return o;
}

/* A conversation of the store's page, for lookups by id. */
typedef struct conv_ref {
    uint64_t id;
    size_t idx; /* in o->convs */
} conv_ref_t;

static int cmp_conv_ref(const void *a, const void *b)
{
    uint64_t x = ((const conv_ref_t *)a)->id, y = ((const conv_ref_t *)b)->id;
    return (x > y) - (x < y);
}

/* The reply's five arrays, in the order they are written. */
enum { A_CONVS, A_MSGS, A_RCPTS, A_HIDDEN, A_CONTACTS, N_ARRAYS };
static const char *const array_key[N_ARRAYS] = {
    ",\"conversations\":[", "],\"messages\":[", "],\"receipts\":[",
    "],\"hidden\":[",       "],\"contacts\":[",
};

/* The reply being built: each array's items, comma-separated, as bytes.
 * Items are added one version at a time and kept only if the whole version
 * fits (a cursor never falls inside a version): a version that does not is
 * dropped by cutting each array back to where it stood before it. */
typedef struct page {
    const mp_chat_t *chat;
    const mp_chat_page_t *pg;
    const mp_chat_sync_out_t *o;
    conv_ref_t *refs; /* o->convs sorted by id */
    bool *conv_in;    /* by index of o->convs: its entry is in the reply */
    mp_msgenc_t arr[N_ARRAYS];
    size_t used; /* the envelope and every kept item with its comma */
    /* the version being staged */
    size_t s_len[N_ARRAYS]; /* each array's length before it */
    size_t s_size;          /* its items' bytes, a comma each */
    size_t *s_marked;       /* conv_in entries set by the stage */
    size_t s_n, s_cap;
} page_t;

/* Where the next item of array a begins (after its comma). */
static size_t item_begin(page_t *p, int a)
{
    if (p->arr[a].len > 0)
        MP_MSGENC_LIT(&p->arr[a], ",");
    return p->arr[a].len;
}

static void item_end(page_t *p, int a, size_t at)
{
    MP_ASSERT(p->arr[a].len > at);
    p->s_size += p->arr[a].len - at + 1;
}

static void add_json(page_t *p, int a, json_t *j)
{
    size_t at = item_begin(p, a);
    mp_msgenc_json(&p->arr[a], j);
    json_decref(j);
    item_end(p, a, at);
}

/* Stages the entry of conversation id, the first time an item names it. */
static void stage_conv(page_t *p, uint64_t id)
{
    conv_ref_t key = {.id = id}, *r;
    r = bsearch(&key, p->refs, p->o->n_convs, sizeof *p->refs, cmp_conv_ref);
    if (r == NULL || p->conv_in[r->idx])
        return;
    p->conv_in[r->idx] = true;
    if (p->s_n == p->s_cap) {
        p->s_cap = p->s_cap ? p->s_cap * 2 : 4;
        p->s_marked = mp_realloc(p->s_marked, p->s_cap * sizeof *p->s_marked);
    }
    p->s_marked[p->s_n++] = r->idx;
    add_json(p, A_CONVS, mp_chat__sync_conv_json(&p->o->convs[r->idx]));
}

static void stage_begin(page_t *p)
{
    for (int a = 0; a < N_ARRAYS; a++)
        p->s_len[a] = p->arr[a].len;
    p->s_size = 0;
    p->s_n = 0;
}

/* Keeps the staged version in the reply, or drops it. */
static void stage_end(page_t *p, bool keep)
{
    if (keep) {
        p->used += p->s_size;
        return;
    }
    for (int a = 0; a < N_ARRAYS; a++)
        p->arr[a].len = p->s_len[a];
    for (size_t i = 0; i < p->s_n; i++)
        p->conv_in[p->s_marked[i]] = false;
}

/* Stages the items of version v, advancing the four indexes past them. */
static void stage_version(page_t *p, int64_t v, size_t *im, size_t *ir, size_t *is, size_t *ic)
{
    const mp_chat_sync_out_t *o = p->o;
    uint64_t user = p->pg->user;
    for (; *im < o->n_msgs && o->msgs[*im].version == v; (*im)++) {
        const mp_msg_row_t *m = &o->msgs[*im];
        stage_conv(p, m->conversation_id);
        size_t at = item_begin(p, A_MSGS);
        mp_chat__msg_write(&p->arr[A_MSGS], m, m->sender_id == user);
        item_end(p, A_MSGS, at);
    }
    for (; *ir < o->n_receipts && o->receipts[*ir].version == v; (*ir)++) {
        stage_conv(p, o->receipts[*ir].conversation_id);
        add_json(p, A_RCPTS, mp_chat__sync_receipt_json(p->chat, user, &o->receipts[*ir]));
    }
    /* The caller's own changes: a hidden message, or new settings (the
     * conversation entry, which carries them, is the item). */
    for (; *is < o->n_selfs && o->selfs[*is].version == v; (*is)++) {
        stage_conv(p, o->selfs[*is].conversation_id);
        if (o->selfs[*is].message_id != 0)
            add_json(p, A_HIDDEN, mp_chat__sync_hidden_json(&o->selfs[*is]));
    }
    for (; *ic < o->n_contacts && o->contacts[*ic].version == v; (*ic)++)
        add_json(p, A_CONTACTS, mp_contact_json(&o->contacts[*ic]));
}

/* The store's page (items sorted by version), cut again where its encoded
 * size would pass the budget: before the first version that does not fit,
 * so the cursor (the last version sent) resumes right after the last item
 * sent and nothing is skipped or repeated. Conversation entries go
 * with the first item that names them. The first version always goes in.
 * Encoding stops at the cut: the work on the loop is about one budget. */
void mp_chat__sync_page(mp_msgenc_t *out, const mp_chat_t *chat, const mp_chat_page_t *pg,
                        const mp_chat_sync_out_t *o)
{
    MP_ASSERT(pg->ws);
    page_t p = {.chat = chat, .pg = pg, .o = o, .used = SYNC_ENVELOPE};
    p.refs = mp_malloc((o->n_convs ? o->n_convs : 1) * sizeof *p.refs);
    p.conv_in = mp_calloc(o->n_convs ? o->n_convs : 1, sizeof *p.conv_in);
    for (size_t i = 0; i < o->n_convs; i++)
        p.refs[i] = (conv_ref_t){.id = o->convs[i].id, .idx = i};
    qsort(p.refs, o->n_convs, sizeof *p.refs, cmp_conv_ref);
    for (int a = 0; a < N_ARRAYS; a++)
        mp_msgenc_init(&p.arr[a]);

    int64_t cursor = o->cursor;
    bool more = o->has_more, any = false;
    size_t im = 0, ir = 0, is = 0, ic = 0;
    while (im < o->n_msgs || ir < o->n_receipts || is < o->n_selfs || ic < o->n_contacts) {
        int64_t v = im < o->n_msgs ? o->msgs[im].version : INT64_MAX;
        if (ir < o->n_receipts && o->receipts[ir].version < v)
            v = o->receipts[ir].version;
        if (is < o->n_selfs && o->selfs[is].version < v)
            v = o->selfs[is].version;
        if (ic < o->n_contacts && o->contacts[ic].version < v)
            v = o->contacts[ic].version;
        stage_begin(&p);
        stage_version(&p, v, &im, &ir, &is, &ic);
        if (any && p.used + p.s_size > pg->budget) {
            stage_end(&p, false);
            more = true;
            break;
        }
        stage_end(&p, true);
        cursor = v;
        any = true;
    }
    if (!more)
        cursor = o->cursor;
    /* Entries of conversations without items (none today: every change of a
     * conversation stamps an item) stay in a complete reply. */
    for (size_t i = 0; !more && i < o->n_convs; i++)
        if (!p.conv_in[i])
            add_json(&p, A_CONVS, mp_chat__sync_conv_json(&o->convs[i]));

    MP_MSGENC_LIT(out, "{\"id\":");
    mp_msgenc_int(out, pg->req_id);
    MP_MSGENC_LIT(out, ",\"ok\":true,\"cursor\":\"");
    mp_msgenc_int(out, cursor);
    if (more)
        MP_MSGENC_LIT(out, "\",\"has_more\":true");
    else
        MP_MSGENC_LIT(out, "\",\"has_more\":false");
    for (int a = 0; a < N_ARRAYS; a++) {
        mp_msgenc_put(out, array_key[a], strlen(array_key[a]));
        mp_msgenc_put(out, p.arr[a].buf, p.arr[a].len);
        mp_msgenc_free(&p.arr[a]);
    }
    MP_MSGENC_LIT(out, "]}");
    mp_free(p.s_marked);
    mp_free(p.refs);
    mp_free(p.conv_in);
}

static void on_sync(mp_err_t rc, const mp_chat_sync_out_t *o, void *ud)
{
    sync_ctx_t *c = ud;
    mp_server_t *srv = c->chat->ctx->srv;
    if (rc != MP_OK) {
        mp_gw_error(srv, c->sid, c->pg.req_id, rc, NULL, NULL);
    } else {
        mp_msgenc_t out;
        mp_msgenc_init(&out);
        mp_chat__sync_page(&out, c->chat, &c->pg, o);
        mp_gw_reply_text(srv, c->sid, out.buf, out.len);
        mp_msgenc_free(&out);
    }
    mp_free(c);
}

void mp_chat_verb_sync(mp_cmd_t *cmd)
{
    mp_chat_t *chat = mp_chat__of_cmd(cmd);
    int64_t since;
    if (!mp_chat__parse_i64(json_string_value(json_object_get(cmd->frame, "since")), &since)) {
        mp_gw_error(chat->ctx->srv, cmd->sid, cmd->req_id, MP_ERR_BAD_REQUEST,
                    "field 'since' must be a cursor from a previous sync, or \"0\"", NULL);
        return;
    }
    json_t *l = json_object_get(cmd->frame, "limit");
    unsigned limit = json_is_integer(l) ? (unsigned)json_integer_value(l) : MP_CHAT_SYNC_MAX;
    sync_ctx_t *c = mp_calloc(1, sizeof *c);
    *c = (sync_ctx_t){.chat = chat,
                      .sid = cmd->sid,
                      .pg = {.ws = true, .req_id = cmd->req_id, .user = cmd->who.user_id}};
    /* The store stops reading once the raw messages pass the budget (their
     * JSON is never smaller); mp_chat__sync_page cuts on the encoded size. */
    c->pg.budget = mp_chat__reply_budget(chat);
    mp_err_t rc =
        mp_store_chat_sync(chat->ctx->store, c->pg.user, since, limit, c->pg.budget, on_sync, c);
    if (rc != MP_OK)
        on_sync(rc, NULL, c);
}
