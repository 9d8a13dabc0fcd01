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
#include <stdio.h>
#include <stdlib.h>

#include "chat/chat_int.h"
#include "proto/contact.h"
#include "util/alloc.h"

const mp_field_t mp_chat_sync_fields[] = {
    {"since", MP_F_ASCII, true, 1, 19},
    {"limit", MP_F_INT, false, 1, MP_CHAT_SYNC_MAX},
    {NULL, 0, false, 0, 0},
};

typedef struct sync_ctx {
    mp_chat_t *chat;
    mp_sid_t sid;
    int64_t req_id;
    uint64_t user;
    size_t budget; /* encoded bytes of one reply */
} sync_ctx_t;

/* Bytes kept for the reply's envelope: {"id":..,"ok":true,"cursor":"..",
 * "has_more":false,"conversations":[],"messages":[],"receipts":[],
 * "hidden":[],"contacts":[]}. */
#define SYNC_ENVELOPE 512

static json_t *conv_json(const mp_chat_sync_conv_t *c)
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
static json_t *hidden_json(const mp_chat_self_row_t *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "conversation", mp_chat__id_json(r->conversation_id));
    json_object_set_new(o, "message_id", mp_chat__id_json(r->message_id));
    return o;
}

static json_t *receipt_json(const mp_chat_receipt_row_t *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "conversation", mp_chat__id_json(r->conversation_id));
    json_object_set_new(o, "user_id", mp_chat__id_json(r->user_id));
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

/* The reply being built. Items are staged one version at a time and kept
 * only if the whole version fits: a cursor never falls inside a version. */
typedef struct page {
    const mp_chat_sync_out_t *o;
    conv_ref_t *refs; /* o->convs sorted by id */
    bool *conv_in;    /* by index of o->convs: its entry is in the reply */
    json_t *convs, *msgs, *rcpts, *hidden, *contacts;
    size_t used;
    /* the version being staged */
    json_t *s_convs, *s_msgs, *s_rcpts, *s_hidden, *s_contacts;
    size_t s_size;
    size_t *s_marked; /* conv_in entries set by the stage */
    size_t s_n, s_cap;
} page_t;

static void stage_add(page_t *p, json_t *arr, json_t *item)
{
    p->s_size += mp_chat__json_size(item) + 1; /* and its comma */
    json_array_append_new(arr, item);
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
    stage_add(p, p->s_convs, conv_json(&p->o->convs[r->idx]));
}

/* Moves the staged version into the reply (keep) or drops it. */
static void stage_end(page_t *p, bool keep)
{
    if (keep) {
        json_array_extend(p->convs, p->s_convs);
        json_array_extend(p->msgs, p->s_msgs);
        json_array_extend(p->rcpts, p->s_rcpts);
        json_array_extend(p->hidden, p->s_hidden);
        json_array_extend(p->contacts, p->s_contacts);
        p->used += p->s_size;
    } else {
        for (size_t i = 0; i < p->s_n; i++)
            p->conv_in[p->s_marked[i]] = false;
    }
    json_array_clear(p->s_convs);
    json_array_clear(p->s_msgs);
    json_array_clear(p->s_rcpts);
    json_array_clear(p->s_hidden);
    json_array_clear(p->s_contacts);
    p->s_size = 0;
    p->s_n = 0;
}

/* The store's page (items sorted by version), cut again where its encoded
 * size would pass the budget: before the first version that does not fit,
 * so the cursor (the last version sent) resumes right after the last item
 * sent and nothing is skipped or repeated. Conversation entries go
 * with the first item that names them. The first version always goes in.
 * Encoding stops at the cut: the work on the loop is about one budget. */
static json_t *sync_json(const sync_ctx_t *c, const mp_chat_sync_out_t *o)
{
    page_t p = {.o = o, .used = SYNC_ENVELOPE};
    p.refs = mp_malloc((o->n_convs ? o->n_convs : 1) * sizeof *p.refs);
    p.conv_in = mp_calloc(o->n_convs ? o->n_convs : 1, sizeof *p.conv_in);
    for (size_t i = 0; i < o->n_convs; i++)
        p.refs[i] = (conv_ref_t){.id = o->convs[i].id, .idx = i};
    qsort(p.refs, o->n_convs, sizeof *p.refs, cmp_conv_ref);
    p.convs = json_array();
    p.msgs = json_array();
    p.rcpts = json_array();
    p.hidden = json_array();
    p.contacts = json_array();
    p.s_convs = json_array();
    p.s_msgs = json_array();
    p.s_rcpts = json_array();
    p.s_hidden = json_array();
    p.s_contacts = json_array();

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
        for (; im < o->n_msgs && o->msgs[im].version == v; im++) {
            const mp_msg_row_t *m = &o->msgs[im];
            stage_conv(&p, m->conversation_id);
            stage_add(&p, p.s_msgs, mp_chat__msg_json(m, m->sender_id == c->user));
        }
        for (; ir < o->n_receipts && o->receipts[ir].version == v; ir++) {
            stage_conv(&p, o->receipts[ir].conversation_id);
            stage_add(&p, p.s_rcpts, receipt_json(&o->receipts[ir]));
        }
        /* The caller's own changes: a hidden message, or new settings (the
         * conversation entry, which carries them, is the item). */
        for (; is < o->n_selfs && o->selfs[is].version == v; is++) {
            stage_conv(&p, o->selfs[is].conversation_id);
            if (o->selfs[is].message_id != 0)
                stage_add(&p, p.s_hidden, hidden_json(&o->selfs[is]));
        }
        for (; ic < o->n_contacts && o->contacts[ic].version == v; ic++)
            stage_add(&p, p.s_contacts, mp_contact_json(&o->contacts[ic]));
        if (any && p.used + p.s_size > c->budget) {
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
            json_array_append_new(p.convs, conv_json(&o->convs[i]));

    char cur[24];
    snprintf(cur, sizeof cur, "%lld", (long long)cursor);
    json_t *f = json_object();
    json_object_set_new(f, "cursor", json_string(cur));
    json_object_set_new(f, "has_more", json_boolean(more));
    json_object_set_new(f, "conversations", p.convs);
    json_object_set_new(f, "messages", p.msgs);
    json_object_set_new(f, "receipts", p.rcpts);
    json_object_set_new(f, "hidden", p.hidden);
    json_object_set_new(f, "contacts", p.contacts);
    json_decref(p.s_convs);
    json_decref(p.s_msgs);
    json_decref(p.s_rcpts);
    json_decref(p.s_hidden);
    json_decref(p.s_contacts);
    mp_free(p.s_marked);
    mp_free(p.refs);
    mp_free(p.conv_in);
    return f;
}

static void on_sync(mp_err_t rc, const mp_chat_sync_out_t *o, void *ud)
{
    sync_ctx_t *c = ud;
    mp_server_t *srv = c->chat->ctx->srv;
    if (rc != MP_OK)
        mp_gw_error(srv, c->sid, c->req_id, rc, NULL, NULL);
    else
        mp_gw_reply(srv, c->sid, c->req_id, sync_json(c, o));
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
    *c = (sync_ctx_t){
        .chat = chat, .sid = cmd->sid, .req_id = cmd->req_id, .user = cmd->who.user_id};
    /* The store stops reading once the raw messages pass the budget (their
     * JSON is never smaller); sync_json cuts on the encoded size. */
    c->budget = mp_chat__reply_budget(chat);
    mp_err_t rc =
        mp_store_chat_sync(chat->ctx->store, c->user, since, limit, c->budget, on_sync, c);
    if (rc != MP_OK)
        on_sync(rc, NULL, c);
}
