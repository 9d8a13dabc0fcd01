/* JSON shapes shared by replies, events and sync, and the fan-out of one
 * encoded frame to the online sessions of a conversation's members. */
#include <string.h>

#include "chat/chat_int.h"
#include "chat/msgenc.h"
#include "chat/sysmsg.h"
#include "util/metrics.h"
#include "util/alloc.h"

#include "util/id.h"

size_t mp_chat__reply_budget(const mp_chat_t *chat)
{
    size_t quarter = chat->ctx->cfg->ws_max_queue / 4;
    return quarter < MP_CHAT_REPLY_BYTES ? quarter : MP_CHAT_REPLY_BYTES;
}

size_t mp_chat__json_size(const json_t *j)
{
    /* Replies are encoded compact (net/frame.c, net/http_req.c), and a value
     * takes the same bytes inside an array as on its own. */
    return json_dumpb(j, NULL, 0, JSON_COMPACT);
}

json_t *mp_chat__id_json(uint64_t id)
{
    char buf[MP_ID_STRLEN];
    return json_string(mp_id_format(id, buf));
}

/* A system message's body is the record of proto/group_fact.h: its
 * "system" object goes to the message object, with the line rendered from it
 * as "text"; a body that does not parse is shown as it is. */
static void set_text(json_t *o, const mp_msg_row_t *m)
{
    json_t *body = NULL;
    if (m->kind != NULL && strcmp(m->kind, "system") == 0 && m->text != NULL)
        body = json_loads(m->text, 0, NULL);
    char *line = mp_chat_sysmsg_text(body);
    json_t *text = line != NULL ? json_string(line) : NULL;
    mp_free(line);
    if (text != NULL) {
        json_object_set_new(o, "text", text);
        json_object_set(o, "system", json_object_get(body, "system"));
    } else {
        json_object_set_new(o, "text", json_string(m->text ? m->text : ""));
    }
    json_decref(body);
}

/* The stored content is the canonical JSON text that proto/content.c wrote;
 * it is parsed back into an object so that clients get structure, not a
 * string to parse twice. Text that is not an object (never written so) is
 * left out rather than shown half-broken. */
static void set_content(json_t *o, const mp_msg_row_t *m)
{
    if (m->content == NULL)
        return;
    json_t *c = json_loads(m->content, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(c))
        json_object_set_new(o, "content", c);
    else
        json_decref(c);
}

/* The snapshot of the quoted message, as it was when the reply was sent;
 * once the quoted message is deleted for everyone only its id is left. */
static void set_reply_to(json_t *o, const mp_msg_row_t *m)
{
    if (m->reply_to == 0)
        return;
    json_t *q = json_object();
    json_object_set_new(q, "message_id", mp_chat__id_json(m->reply_to));
    if (m->quote_deleted) {
        json_object_set_new(q, "deleted", json_true());
    } else {
        json_object_set_new(q, "sender", mp_chat__id_json(m->quote_sender));
        json_object_set_new(q, "kind", json_string(m->quote_kind ? m->quote_kind : "text"));
        json_object_set_new(q, "text", json_string(m->quote_text ? m->quote_text : ""));
    }
    json_object_set_new(o, "reply_to", q);
}

size_t mp_chat__mentions_parse(const char *list, uint64_t *out, size_t max)
{
    size_t n = 0;
    for (const char *p = list; p != NULL && *p != '\0' && n < max;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char buf[MP_ID_STRLEN];
        uint64_t id = 0;
        if (len > 0 && len < sizeof buf) {
            memcpy(buf, p, len);
            buf[len] = '\0';
            if (mp_id_parse(buf, &id) && id != 0)
                out[n++] = id;
        }
        p = comma ? comma + 1 : NULL;
    }
    return n;
}

static void set_mentions(json_t *o, const mp_msg_row_t *m)
{
    uint64_t ids[MP_CHAT_MENTIONS_MAX];
    size_t n = mp_chat__mentions_parse(m->mentions, ids, MP_CHAT_MENTIONS_MAX);
    if (n > 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, mp_chat__id_json(ids[i]));
        json_object_set_new(o, "mentions", arr);
    }
    if (m->mention_all)
        json_object_set_new(o, "mention_all", json_true());
}

/* Reactions as the reader sees them. Write paths (edits, events) carry the
 * stored count but not the sums (reactions NULL): then the array is left
 * out and clients keep the reactions they know. */
static void set_reactions(json_t *o, const mp_msg_row_t *m)
{
    if (m->reactions == NULL || m->n_reactions == 0)
        return;
    json_t *arr = json_array();
    for (size_t i = 0; i < m->n_reactions; i++) {
        const mp_reaction_sum_t *r = &m->reactions[i];
        json_t *e = json_object();
        json_object_set_new(e, "emoji", json_string(r->emoji ? r->emoji : ""));
        json_object_set_new(e, "count", json_integer(r->count));
        json_object_set_new(e, "me", json_boolean(r->me));
        json_array_append_new(arr, e);
    }
    json_object_set_new(o, "reactions", arr);
}

/* The message object of every API answer and event. A field added here
 * must also be written by chat/msgenc.c (the live "message" event of common
 * rows, byte for byte the same) or make mp_msgenc_covers refuse the rows
 * that have it; tests/unit/chat/test_msgenc.c compares the two. */
json_t *mp_chat__msg_json(const mp_msg_row_t *m, bool with_cmid)
{
    bool deleted = m->deleted_at != 0;
    json_t *o = json_object();
    json_object_set_new(o, "message_id", mp_chat__id_json(m->id));
    json_object_set_new(o, "conversation", mp_chat__id_json(m->conversation_id));
    json_object_set_new(o, "seq", json_integer(m->seq));
    json_object_set_new(o, "sender", mp_chat__id_json(m->sender_id));
    if (m->sender_guest)
        json_object_set_new(o, "sender_guest", json_true());
    json_object_set_new(o, "kind", json_string(m->kind ? m->kind : "text"));
    if (deleted)
        json_object_set_new(o, "text", json_string(""));
    else
        set_text(o, m);
    json_object_set_new(o, "created_at", json_integer(m->created_at));
    if (with_cmid && m->client_msg_id != NULL && json_object_get(o, "system") == NULL)
        json_object_set_new(o, "client_msg_id", json_string(m->client_msg_id));
    if (deleted) {
        /* A tombstone: the store erased the rest; nothing of it is shown
         * even if a row still carried some. */
        json_object_set_new(o, "deleted", json_true());
        json_object_set_new(o, "deleted_at", json_integer(m->deleted_at));
        return o;
    }
    set_content(o, m);
    set_reply_to(o, m);
    if (m->fwd_at != 0)
        json_object_set_new(o, "forwarded_from",
                            json_pack("{s:o,s:I}", "sender", mp_chat__id_json(m->fwd_sender),
                                      "created_at", (json_int_t)m->fwd_at));
    set_mentions(o, m);
    if (m->edited_at != 0)
        json_object_set_new(o, "edited_at", json_integer(m->edited_at));
    set_reactions(o, m);
    if (m->pinned_at != 0) {
        json_object_set_new(o, "pinned_at", json_integer(m->pinned_at));
        json_object_set_new(o, "pinned_by", mp_chat__id_json(m->pinned_by));
    }
    return o;
}

void mp_chat__push_members(mp_chat_t *chat, const mp_chat_conv_t *conv, uint64_t skip_user,
                           mp_frame_t *f)
{
    /* The world room fans out through the hub's whole table, not a member
     * list; direct and group rooms list their members. */
    if (conv->kind == MP_CONV_WORLD) {
        mp_hub_push_all(chat->ctx->hub, f, skip_user);
        return;
    }
    for (uint32_t i = 0; i < conv->n; i++)
        if (conv->members[i] != skip_user)
            mp_hub_push_user(chat->ctx->hub, conv->members[i], f, 0);
}

/* ---- "message" events ------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The sorted, unique mention list that mp_chat__frames_mentioned searches. */
static void frames_mentions(mp_chat_frames_t *fr, const mp_msg_row_t *m)
{
    fr->mention_all = m->mention_all;
    fr->n_mentions = mp_chat__mentions_parse(m->mentions, fr->mentions, MP_CHAT_MENTIONS_MAX);
    qsort(fr->mentions, fr->n_mentions, sizeof *fr->mentions, cmp_u64);
    size_t k = 0; /* drop duplicates (the store never writes them) */
    for (size_t i = 0; i < fr->n_mentions; i++)
        if (k == 0 || fr->mentions[k - 1] != fr->mentions[i])
            fr->mentions[k++] = fr->mentions[i];
    fr->n_mentions = k;
}

void mp_chat__frames_init(mp_chat_frames_t *fr, const mp_msg_row_t *m, bool guest)
{
    /* The common row (a live message without content or reactions) is
     * written by chat/msgenc.c without a tree; the rest builds one. */
    if (!mp_msgenc_covers(m)) {
        mp_chat__frames_init_json(fr, m, guest);
        return;
    }
    memset(fr, 0, sizeof *fr);
    fr->m = m;
    fr->guest = guest;
    frames_mentions(fr, m);
}

void mp_chat__frames_init_json(mp_chat_frames_t *fr, const mp_msg_row_t *m, bool guest)
{
    memset(fr, 0, sizeof *fr);
    fr->m = m;
    fr->guest = guest;
    mp_msg_row_t row = *m;
    row.sender_guest = row.sender_guest || guest;
    fr->msg = mp_chat__msg_json(&row, false);
    fr->ev = json_object();
    json_object_set_new(fr->ev, "event", json_string("message"));
    /* World posts by guests say so at the top of the event too (as before
     * the mark moved into the message). */
    if (guest)
        json_object_set_new(fr->ev, "sender_guest", json_true());
    json_object_set(fr->ev, "message", fr->msg);
    frames_mentions(fr, m);
}

bool mp_chat__frames_mentioned(const mp_chat_frames_t *fr, uint64_t user)
{
    if (user == fr->m->sender_id)
        return false;
    return fr->mention_all ||
           bsearch(&user, fr->mentions, fr->n_mentions, sizeof user, cmp_u64) != NULL;
}

/* One variant from chat/msgenc.c, for frames without a tree. */
static mp_frame_t *frames_fast(const mp_chat_frames_t *fr, mp_msgenc_variant_t v)
{
    mp_msgenc_t e;
    mp_msgenc_init(&e);
    mp_msgenc_event(&e, fr->m, fr->guest, v);
    mp_frame_t *f = mp_frame_new_text(e.buf, e.len);
    mp_msgenc_free(&e);
    return f;
}

mp_frame_t *mp_chat__frames_plain(mp_chat_frames_t *fr)
{
    if (fr->plain == NULL)
        fr->plain = fr->ev == NULL ? frames_fast(fr, MP_MSGENC_PLAIN) : mp_frame_new_json(fr->ev);
    return fr->plain;
}

mp_frame_t *mp_chat__frames_mention(mp_chat_frames_t *fr)
{
    if (fr->mention == NULL && fr->ev == NULL) {
        fr->mention = frames_fast(fr, MP_MSGENC_MENTION);
    } else if (fr->mention == NULL) {
        json_object_set_new(fr->ev, "mention", json_true());
        fr->mention = mp_frame_new_json(fr->ev);
        json_object_del(fr->ev, "mention");
    }
    return fr->mention;
}

mp_frame_t *mp_chat__frames_own(mp_chat_frames_t *fr)
{
    if (fr->own == NULL && fr->ev == NULL) {
        fr->own = frames_fast(fr, MP_MSGENC_OWN);
    } else if (fr->own == NULL) {
        const char *cmid = fr->m->client_msg_id;
        if (cmid != NULL && json_object_get(fr->msg, "system") == NULL)
            json_object_set_new(fr->msg, "client_msg_id", json_string(cmid));
        fr->own = mp_frame_new_json(fr->ev);
        json_object_del(fr->msg, "client_msg_id");
    }
    return fr->own;
}

void mp_chat__frames_free(mp_chat_frames_t *fr)
{
    if (fr->plain != NULL)
        mp_frame_unref(fr->plain);
    if (fr->mention != NULL)
        mp_frame_unref(fr->mention);
    if (fr->own != NULL)
        mp_frame_unref(fr->own);
    json_decref(fr->msg);
    json_decref(fr->ev);
    memset(fr, 0, sizeof *fr);
}

bool mp_chat__has_other_session(mp_chat_t *chat, uint64_t user, mp_sid_t except)
{
    return mp_hub_online_except(chat->ctx->hub, user, except);
}

/* One message to the members of a direct or group conversation: at most
 * three frames, each encoded once and shared by all its sessions. */
static void fan_out_members(mp_chat_t *chat, const mp_chat_conv_t *conv, const mp_msg_row_t *m,
                            mp_sid_t except)
{
    mp_hub_t *hub = chat->ctx->hub;
    mp_chat_frames_t fr;
    mp_chat__frames_init(&fr, m, false);
    for (uint32_t i = 0; i < conv->n; i++) {
        uint64_t u = conv->members[i];
        if (u == m->sender_id || !mp_hub_online(hub, u))
            continue;
        mp_frame_t *f = mp_chat__frames_mentioned(&fr, u) ? mp_chat__frames_mention(&fr)
                                                          : mp_chat__frames_plain(&fr);
        mp_hub_push_user(hub, u, f, 0);
        mp_metrics_inc(MP_MC_MESSAGES_DELIVERED);
    }
    if (mp_chat__has_other_session(chat, m->sender_id, except))
        mp_hub_push_user(hub, m->sender_id, mp_chat__frames_own(&fr), except);
    mp_chat__frames_free(&fr);
}

/* Messages whose conversation is not cached (rare: the cache was just
 * dropped) wait for the member list with copies of the rows. */
typedef struct late_fan {
    mp_sid_t except;
    mp_msg_row_t *msgs;
    size_t n;
} late_fan_t;

static void on_late_conv(mp_chat_t *chat, mp_err_t rc, const mp_chat_conv_t *conv, void *ud)
{
    late_fan_t *l = ud;
    for (size_t i = 0; i < l->n; i++) {
        if (rc == MP_OK)
            fan_out_members(chat, conv, &l->msgs[i], l->except);
        mp_msg_row_release(&l->msgs[i]);
    }
    mp_free(l->msgs);
    mp_free(l);
}

void mp_chat__fan_out_new(mp_chat_t *chat, const mp_msg_row_t *msgs, size_t n, mp_sid_t except,
                          bool guest, uint64_t peer_id)
{
    if (n == 0)
        return;
    uint64_t conv_id = msgs[0].conversation_id;
    if (mp_chat__world_is(chat, conv_id)) {
        for (size_t i = 0; i < n; i++)
            mp_chat__world_fan_out(chat, &msgs[i], except, guest);
        return;
    }
    const mp_chat_conv_t *conv = mp_chat__cache_get(chat->cache, conv_id);
    if (conv == NULL && peer_id != 0) {
        /* `to`: a direct conversation, whose members we know. */
        uint64_t members[2] = {msgs[0].sender_id, peer_id};
        conv = mp_chat__cache_put(chat->cache, conv_id, MP_CONV_DIRECT, members, 2);
    }
    if (conv != NULL) {
        for (size_t i = 0; i < n; i++)
            fan_out_members(chat, conv, &msgs[i], except);
        return;
    }
    late_fan_t *l = mp_calloc(1, sizeof *l);
    l->except = except;
    l->n = n;
    l->msgs = mp_calloc(n, sizeof *l->msgs);
    for (size_t i = 0; i < n; i++)
        mp_msg_row_copy(&l->msgs[i], &msgs[i]);
    mp_chat__with_conv(chat, conv_id, on_late_conv, l);
}

/* ---- change events ------------------------------------------------------------ */

typedef struct change_push {
    uint64_t actor;
    mp_sid_t except;
    mp_frame_t *others, *own;
} change_push_t;

static void push_change_now(mp_chat_t *chat, const mp_chat_conv_t *conv, const change_push_t *p)
{
    mp_chat__push_members(chat, conv, p->actor, p->others);
    mp_hub_push_user(chat->ctx->hub, p->actor, p->own, p->except);
}

static void on_change_conv(mp_chat_t *chat, mp_err_t rc, const mp_chat_conv_t *conv, void *ud)
{
    change_push_t *p = ud;
    if (rc == MP_OK)
        push_change_now(chat, conv, p);
    else /* the actor's own devices still learn what they did */
        mp_hub_push_user(chat->ctx->hub, p->actor, p->own, p->except);
    mp_frame_unref(p->others);
    mp_frame_unref(p->own);
    mp_free(p);
}

void mp_chat__push_change(mp_chat_t *chat, uint64_t conv_id, uint64_t actor, mp_sid_t except,
                          mp_frame_t *others, mp_frame_t *own)
{
    change_push_t now = {actor, except, others, own};
    const mp_chat_conv_t *conv = mp_chat__cache_get(chat->cache, conv_id);
    if (conv != NULL) {
        push_change_now(chat, conv, &now);
        return;
    }
    change_push_t *p = mp_malloc(sizeof *p);
    *p = now;
    p->others = mp_frame_ref(others);
    p->own = mp_frame_ref(own);
    mp_chat__with_conv(chat, conv_id, on_change_conv, p);
}
