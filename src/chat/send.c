/* The `send` verb, the heart of Magpie: validate → rate limit → the
 * conversation (cache) → ONE store write job (membership and group rules,
 * seq, insert with dedup, group-committed and fsynced) → ack the sender →
 * fan the event out, encoded once per audience.
 *
 * The sending session gets the ack only, not the event: the ack carries
 * everything the event would. Every other session of the sender gets the
 * event with client_msg_id (so it can match its own outbox); the other
 * members' sessions get it without. A duplicate (retried send) is acked with
 * the original and NOT fanned out again: the original was delivered when it
 * was stored, and if the server died between commit and fan-out every device
 * reconnects and syncs anyway.
 *
 * Kinds other than text carry a typed `content` (proto/content.h checks it
 * field by field); `reply_to` quotes a message of the same conversation,
 * `mentions` / `mention_all` flag the event of the users they name. The
 * store checks what needs its data (the quoted message, the members, the
 * role for mention_all) in the write, and names the field when it refuses. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "chat/chat_int.h"
#include "chat/msgenc.h"
#include "proto/content.h"
#include "proto/sendscan.h"
#include "util/assert.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"
#include "util/metrics.h"

const mp_field_t mp_chat_send_fields[] = {
    {"client_msg_id", MP_F_ASCII, true, 1, MP_CHAT_CMID_MAX},
    /* Required for kind text, a caption for media, refused for location and
     * contact: mp_content_check decides with the kind. */
    {"text", MP_F_TEXT, false, 0, MP_CHAT_TEXT_MAX_CHARS},
    {"conversation", MP_F_ID, false, 0, 0},
    {"to", MP_F_ID, false, 0, 0},
    {"to_username", MP_F_STRING, false, 0, 0},
    {"kind", MP_F_ASCII, false, 1, 16},
    {"content", MP_F_OBJECT, false, 0, 0},
    {"reply_to", MP_F_ID, false, 0, 0},
    {"mentions", MP_F_ARRAY, false, 0, MP_CHAT_MENTIONS_MAX},
    {"mention_all", MP_F_BOOL, false, 0, 0},
    {NULL, 0, false, 0, 0},
};

typedef struct send_ctx {
    mp_chat_t *chat;
    mp_sid_t sid;
    int64_t req_id;
    json_t *frame; /* a reference: the strings below point into it */
    mp_chat_send_in_t in;
    mp_content_t content; /* owned: in.content and in.search_extra point into it */
    const char *to_field; /* "to" or "to_username": what named the peer */
    uint64_t start_ns;    /* the frame's arrival (uv_hrtime), for the send-ack histogram */
    /* What the context carries behind it: a raw-read frame's strings (frame
     * is then NULL), or the mentions' ids (in.mentions). Most sends carry no
     * mentions, so the room for fifty is not in every context. */
    char strs[];
} send_ctx_t;
_Static_assert(offsetof(send_ctx_t, strs) % _Alignof(uint64_t) == 0,
               "the mentions' ids are stored at strs");

/* A context for cmd's send with room for `extra` bytes of strings; c->in
 * names the sender, the caller fills in the message. */
static send_ctx_t *ctx_new(mp_chat_t *chat, const mp_cmd_t *cmd, size_t extra)
{
    send_ctx_t *c = mp_calloc(1, sizeof *c + extra);
    c->start_ns = uv_hrtime();
    c->chat = chat;
    c->sid = cmd->sid;
    c->req_id = cmd->req_id;
    c->in.sender_id = cmd->who.user_id;
    c->in.sender_device = cmd->who.device_id;
    c->in.sender_guest = cmd->who.guest;
    c->in.world_id = chat->ctx->world_id;
    return c;
}

static void ctx_free(send_ctx_t *c)
{
    mp_content_free(&c->content);
    json_decref(c->frame);
    mp_free(c);
}

/* The store's refusal of content.file_id: no file the sender may read (the
 * same words whether it does not exist or is someone else's), or one of the
 * wrong class for the kind. */
static const char *file_message(mp_msg_kind_t kind, mp_err_t rc)
{
    if (rc != MP_ERR_BAD_REQUEST)
        return "field 'content.file_id' names no file you can send";
    switch (kind) {
    case MP_KIND_IMAGE:
        return "field 'content.file_id' names a file that is not an image";
    case MP_KIND_VOICE:
        return "field 'content.file_id' names a file that is not a sound";
    case MP_KIND_VIDEO:
        return "field 'content.file_id' names a file that is not a video";
    default:
        return NULL;
    }
}

/* The store's refusal of an input field, in words. */
static const char *field_message(const send_ctx_t *c, mp_err_t rc, const char *field)
{
    if (strcmp(field, "reply_to") == 0)
        return "field 'reply_to' names no message of this conversation (or a deleted one)";
    if (strcmp(field, "mentions") == 0)
        return mp_chat__world_is(c->chat, c->in.conversation_id)
                   ? "field 'mentions' names a user who does not exist"
                   : "field 'mentions' names a user who is not a member of this conversation";
    if (strcmp(field, "mention_all") == 0)
        return rc == MP_ERR_NOT_ALLOWED ? "field 'mention_all' is for group owners and admins"
                                        : "field 'mention_all' is only for groups";
    if (strcmp(field, "content") == 0)
        return "field 'content.user_id' names no user";
    if (strcmp(field, "content.file_id") == 0)
        return file_message(c->content.kind, rc);
    return NULL;
}

/* A message naming the cause where the table's default would not. */
static const char *fail_message(const send_ctx_t *c, mp_err_t rc, const char *field)
{
    if (field != NULL)
        return field_message(c, rc, field);
    if (rc == MP_ERR_BANNED) /* group bans keep users out; only the world bans posters */
        return MP_CHAT_WORLD_BANNED;
    if (rc == MP_ERR_GUEST_FORBIDDEN)
        return c->in.to_user_id == 0 ? "the other member is a guest: guests can only use the "
                                       "world room"
               : strcmp(c->to_field, "to") == 0
                   ? "field 'to' names a guest: guests can only use the world room"
                   : "field 'to_username' names a guest: guests can only use the world room";
    if (rc == MP_ERR_NOT_FOUND && c->to_field != NULL && strcmp(c->to_field, "to_username") == 0)
        return "field 'to_username' names no user";
    if (rc == MP_ERR_BAD_REQUEST && c->to_field != NULL && strcmp(c->to_field, "to_username") == 0)
        return "field 'to_username' cannot be yourself: a direct message needs another user";
    return NULL;
}

static void fail_field(send_ctx_t *c, mp_err_t rc, const char *field)
{
    mp_gw_error(c->chat->ctx->srv, c->sid, c->req_id, rc, fail_message(c, rc, field), NULL);
    ctx_free(c);
}

static void fail(send_ctx_t *c, mp_err_t rc)
{
    fail_field(c, rc, NULL);
}

const char *mp_chat__privacy_message(bool you_blocked)
{
    return you_blocked ? "you blocked this user; unblock them to write" : NULL;
}

/* muted, with the time the mute ends (from the cache or from the store). */
void mp_chat__muted_error(mp_chat_t *chat, mp_sid_t sid, int64_t req_id, int64_t until)
{
    char when[25], msg[96];
    mp_time_format(until, when);
    snprintf(msg, sizeof msg, "you are muted in this group until %s", when);
    mp_gw_error(chat->ctx->srv, sid, req_id, MP_ERR_MUTED, msg,
                json_pack("{s:I}", "muted_until", (json_int_t)until));
}

static void fail_muted(send_ctx_t *c, int64_t until)
{
    mp_chat__muted_error(c->chat, c->sid, c->req_id, until);
    ctx_free(c);
}

/* The ack is written by chat/msgenc.c: it has the same fields for every
 * send, and it is the second-largest cost of a send on the loop. */
static void reply(send_ctx_t *c, const mp_chat_send_out_t *o)
{
    mp_msgenc_t e;
    mp_msgenc_init(&e);
    mp_msgenc_ack(&e, c->req_id, &o->msg, o->duplicate);
    mp_gw_reply_text(c->chat->ctx->srv, c->sid, e.buf, e.len);
    mp_msgenc_free(&e);
    mp_metrics_inc(o->duplicate ? MP_MC_MESSAGES_DEDUP : MP_MC_MESSAGES_SENT);
    mp_metrics_observe(MP_MH_SEND_ACK_SECONDS, uv_hrtime() - c->start_ns);
}

static void on_sent(mp_err_t rc, const mp_chat_send_out_t *o, void *ud)
{
    send_ctx_t *c = ud;
    mp_chat_t *chat = c->chat;
    if (rc == MP_ERR_MUTED && o != NULL) {
        fail_muted(c, o->muted_until);
        return;
    }
    if (rc == MP_ERR_PRIVACY) {
        mp_gw_error(chat->ctx->srv, c->sid, c->req_id, rc,
                    mp_chat__privacy_message(o != NULL && o->you_blocked), NULL);
        ctx_free(c);
        return;
    }
    if (rc != MP_OK) {
        fail_field(c, rc, o != NULL ? o->bad_field : NULL);
        return;
    }
    reply(c, o);
    if (!o->duplicate) {
        mp_chat__fan_out_new(chat, &o->msg, 1, c->sid, c->in.sender_guest, o->peer_id);
        if (mp_chat__world_is(chat, o->msg.conversation_id))
            mp_chat__world_posted(chat, c->in.sender_device, c->in.sender_guest);
    }
    ctx_free(c);
}

static void store_send(send_ctx_t *c)
{
    c->in.now_ms = mp_now_ms();
    mp_err_t rc = mp_store_chat_send(c->chat->ctx->store, &c->in, on_sent, c);
    if (rc != MP_OK)
        fail(c, rc);
}

static void on_conv(mp_chat_t *chat, mp_err_t rc, const mp_chat_conv_t *conv, void *ud)
{
    send_ctx_t *c = ud;
    int64_t retry_ms = 0;
    /* Membership and the group rules (dissolved, who_can_post, mutes) as the
     * cached entry has them are not a refusal here: the send may be the retry
     * of a message stored before the mute or the departure whose ack was
     * lost, and the store, which checks them all again in the write that
     * assigns the seq, answers such a retry with its original (exactly-once)
     * and refuses anything else the same way. */
    bool member = rc == MP_OK && mp_chat__conv_has(conv, c->in.sender_id);
    if (member && c->in.mention_all && conv->kind != MP_CONV_GROUP) {
        fail_field(c, MP_ERR_BAD_REQUEST, "mention_all");
        return;
    }
    if (member && conv->kind == MP_CONV_WORLD &&
        !mp_chat__world_post_ok(chat, c->in.sender_id, &retry_ms)) {
        mp_chat__world_slow_error(chat, c->sid, c->req_id, retry_ms);
        ctx_free(c);
        return;
    }
    if (rc != MP_OK)
        fail(c, rc);
    else
        store_send(c);
}

/* Checks the rules the field table cannot express. NULL when fine. */
static const char *check_shape(uint64_t conv, uint64_t to, const char *to_name, uint64_t me,
                               bool mention_all)
{
    if ((conv != 0) + (to != 0) + (to_name != NULL) != 1)
        return "exactly one of 'conversation', 'to' and 'to_username' is required";
    if (to == me)
        return "field 'to' cannot be yourself: a direct message needs another user";
    if ((to != 0 || to_name != NULL) && mention_all)
        return "field 'mention_all' is only for groups";
    return NULL;
}

/* to_username resolved: on as with `to`. */
static void on_to_user(mp_err_t rc, uint64_t user_id, void *ud)
{
    send_ctx_t *c = ud;
    if (rc == MP_OK && user_id == c->in.sender_id)
        rc = MP_ERR_BAD_REQUEST;
    if (rc != MP_OK) {
        fail(c, rc);
        return;
    }
    c->in.to_user_id = user_id;
    store_send(c);
}

/* "mentions": user id strings, each once (repeats are dropped). NULL when
 * fine. */
static const char *parse_mentions(json_t *arr, uint64_t *out, size_t *n_out)
{
    size_t i, n = 0;
    json_t *v;
    *n_out = 0;
    if (arr == NULL || json_is_null(arr))
        return NULL;
    json_array_foreach(arr, i, v)
    {
        uint64_t id = 0;
        if (!json_is_string(v) || !mp_id_parse(json_string_value(v), &id) || id == 0)
            return "field 'mentions' must be an array of user ids";
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = out[k] == id;
        if (!seen) {
            MP_ASSERT(n < MP_CHAT_MENTIONS_MAX); /* the field table bounds the array */
            out[n++] = id;
        }
    }
    *n_out = n;
    return NULL;
}

/* Kind, content and text together (proto/content.h). False when it has
 * answered. */
static bool check_content(mp_chat_t *chat, mp_cmd_t *cmd, mp_content_t *out)
{
    char msg[256] = "";
    json_t *f = cmd->frame;
    json_t *content = json_object_get(f, "content");
    json_t *text = json_object_get(f, "text");
    if (json_is_null(content))
        content = NULL;
    mp_err_t rc = mp_content_check(json_string_value(json_object_get(f, "kind")), content, text,
                                   out, msg, sizeof msg);
    /* Kind text needs its text (the field table allows "" for captions). */
    if (rc == MP_OK && out->kind == MP_KIND_TEXT &&
        (!json_is_string(text) || json_string_length(text) == 0)) {
        mp_content_free(out);
        rc = MP_ERR_BAD_REQUEST;
        snprintf(msg, sizeof msg, "field 'text' must be 1 to %d characters",
                 MP_CHAT_TEXT_MAX_CHARS);
    }
    if (rc == MP_OK)
        return true;
    mp_gw_error(chat->ctx->srv, cmd->sid, cmd->req_id, rc, msg[0] ? msg : NULL, NULL);
    return false;
}

/* On from a complete c->in: to the conversation's rules, to the user that
 * to_name names, or (`to`) straight to the store. */
static void send_route(send_ctx_t *c, const char *to_name)
{
    if (c->in.conversation_id != 0) {
        mp_chat__with_conv(c->chat, c->in.conversation_id, on_conv, c);
    } else if (to_name != NULL) {
        mp_err_t rc = mp_chat__user_by_name(c->chat, to_name, on_to_user, c);
        if (rc != MP_OK)
            fail(c, rc);
    } else {
        store_send(c);
    }
}

bool mp_chat__send_rate_ok(mp_chat_t *chat, const mp_cmd_t *cmd, unsigned cost)
{
    int64_t retry = 0;
    if (mp_ratelimit_take_n(chat->send_rl, cmd->who.user_id, cost, mp_mono_ms(), &retry))
        return true;
    mp_gw_error(chat->ctx->srv, cmd->sid, cmd->req_id, MP_ERR_RATE_LIMITED, NULL,
                json_pack("{s:I}", "retry_after_ms", (json_int_t)retry));
    return false;
}

void mp_chat_verb_send(mp_cmd_t *cmd)
{
    mp_chat_t *chat = mp_chat__of_cmd(cmd);
    uint64_t conv = mp_chat__obj_id(cmd->frame, "conversation");
    uint64_t to = mp_chat__obj_id(cmd->frame, "to");
    const char *to_name = json_string_value(json_object_get(cmd->frame, "to_username"));
    bool mention_all = json_is_true(json_object_get(cmd->frame, "mention_all"));
    uint64_t mentions[MP_CHAT_MENTIONS_MAX];
    size_t n_mentions = 0;
    const char *bad = check_shape(conv, to, to_name, cmd->who.user_id, mention_all);
    if (bad == NULL)
        bad = parse_mentions(json_object_get(cmd->frame, "mentions"), mentions, &n_mentions);
    if (bad != NULL) {
        mp_gw_error(chat->ctx->srv, cmd->sid, cmd->req_id, MP_ERR_BAD_REQUEST, bad, NULL);
        return;
    }
    mp_content_t content;
    if (!check_content(chat, cmd, &content))
        return;
    if (!mp_chat__send_rate_ok(chat, cmd, 1)) {
        mp_content_free(&content);
        return;
    }
    json_t *text = json_object_get(cmd->frame, "text");
    send_ctx_t *c = ctx_new(chat, cmd, n_mentions * sizeof *mentions);
    c->frame = json_incref(cmd->frame);
    c->to_field = to_name != NULL ? "to_username" : "to";
    c->content = content;
    uint64_t *kept = (uint64_t *)(void *)c->strs;
    memcpy(kept, mentions, n_mentions * sizeof *mentions);
    mp_chat_send_in_t *in = &c->in;
    in->conversation_id = conv;
    in->to_user_id = to;
    in->client_msg_id = json_string_value(json_object_get(cmd->frame, "client_msg_id"));
    in->text = json_is_string(text) ? json_string_value(text) : "";
    in->text_len = json_is_string(text) ? json_string_length(text) : 0;
    in->kind = mp_kind_name(content.kind);
    in->content = c->content.json;
    in->search_extra = c->content.search_extra;
    in->contact_user = c->content.contact_user;
    in->reply_to = mp_chat__obj_id(cmd->frame, "reply_to");
    in->mentions = n_mentions > 0 ? kept : NULL;
    in->n_mentions = n_mentions;
    in->mention_all = mention_all;
    /* to_name points into c->frame, which c holds. */
    send_route(c, to_name);
}

/* The plain text send read from the frame's bytes (proto/sendscan.h): what
 * mp_chat_verb_send does for that shape, without the JSON tree. Anything
 * the scanner does not take, and a send to oneself, goes to the handler. */
bool mp_chat_verb_send_raw(mp_cmd_t *cmd, const char *m, size_t n)
{
    mp_sendscan_t f;
    if (!mp_sendscan(m, n, MP_CHAT_CMID_MAX, MP_CHAT_TEXT_MAX_CHARS, &f) ||
        f.to == cmd->who.user_id)
        return false;
    cmd->req_id = f.id;
    mp_chat_t *chat = mp_chat__of_cmd(cmd);
    if (!mp_chat__send_rate_ok(chat, cmd, 1))
        return true;
    /* The frame's bytes are the gateway's: the strings are copied behind c. */
    send_ctx_t *c = ctx_new(chat, cmd, f.cmid_len + f.text_len + 2);
    char *cmid = c->strs, *text = c->strs + f.cmid_len + 1;
    memcpy(cmid, f.cmid, f.cmid_len);
    cmid[f.cmid_len] = '\0';
    memcpy(text, f.text, f.text_len);
    text[f.text_len] = '\0';
    c->to_field = "to";
    c->content.kind = MP_KIND_TEXT;
    c->in.conversation_id = f.conversation;
    c->in.to_user_id = f.to;
    c->in.client_msg_id = cmid;
    c->in.text = text;
    c->in.text_len = f.text_len;
    c->in.kind = mp_kind_name(MP_KIND_TEXT);
    send_route(c, NULL);
    return true;
}
