/* Internals shared by the files of the chat module: module state, the
 * membership cache, JSON shapes of messages and events, fan-out helpers and
 * small parsers. */
#ifndef MP_CHAT_CHAT_INT_H
#define MP_CHAT_CHAT_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chat/chat.h"
#include "config/config.h"
#include "net/gw.h"
#include "store/chat.h"
#include "store/groups.h"
#include "util/ratelimit.h"

/* ---- membership cache (convcache.c) --------------------------------------
 * conversation id -> kind + member user ids, filled from the store on a miss.
 * Direct conversations never change members. Groups also carry whether they
 * were dissolved; every group change drops the entry (mp_chat_conv_changed)
 * and the next use reloads it, so a 10,000-member group costs one flat
 * array, not one allocation per member. Roles and mutes are the store's to
 * check, in the write (a send refused here could not be answered as the
 * retry of a message stored before the mute).
 * Bounded: when full,
 * the whole cache is dropped (a cheap, rare refill beats an LRU on the hot
 * path). Entries are valid until the next put/drop/clear: never hold one
 * across an asynchronous step. */

typedef struct mp_chat_conv {
    uint64_t id;
    mp_conv_kind_t kind;
    uint32_t n;
    uint64_t *members; /* owned, ascending */
    bool dissolved;    /* groups */
} mp_chat_conv_t;

typedef struct mp_chat_cache mp_chat_cache_t;

/* max_entries >= 1. Never returns NULL. */
mp_chat_cache_t *mp_chat__cache_new(size_t max_entries);
void mp_chat__cache_free(mp_chat_cache_t *c);
/* The entry for id, or NULL. */
const mp_chat_conv_t *mp_chat__cache_get(mp_chat_cache_t *c, uint64_t id);
/* Inserts or replaces (members copied). Returns the stored entry. */
const mp_chat_conv_t *mp_chat__cache_put(mp_chat_cache_t *c, uint64_t id, mp_conv_kind_t kind,
                                         const uint64_t *members, size_t n);
/* Inserts or replaces from the store's view (arrays copied). */
const mp_chat_conv_t *mp_chat__cache_put_row(mp_chat_cache_t *c, uint64_t id,
                                             const mp_group_conv_row_t *row);
void mp_chat__cache_drop(mp_chat_cache_t *c, uint64_t id);
size_t mp_chat__cache_size(const mp_chat_cache_t *c);
/* True when user may use conversation e (a member, or the world room). */
bool mp_chat__conv_has(const mp_chat_conv_t *e, uint64_t user);

/* ---- module state (chat.c) -------------------------------------------------- */

typedef struct mp_chat_presence mp_chat_presence_t;
typedef struct mp_chat_world mp_chat_world_t;

struct mp_chat {
    const mp_module_ctx_t *ctx;
    mp_chat_cache_t *cache;
    mp_ratelimit_t *send_rl;      /* cfg send_rate / send_burst per user */
    mp_ratelimit_t *typing_rl;    /* a few typing events per second per user */
    mp_ratelimit_t *react_rl;     /* reactions added or removed per user (react.c) */
    mp_chat_presence_t *presence; /* user -> last_seen_at (presence.c) */
    mp_chat_world_t *world;       /* slow mode and guest activity (world.c) */
    struct mp_chat_load *loading; /* member-list reads in flight (chat.c) */
    uint64_t epoch;               /* bumped by every group change (deliver.c) */
};

/* The module of a command / request. */
mp_chat_t *mp_chat__of_cmd(const mp_cmd_t *cmd);
mp_chat_t *mp_chat__of_req(mp_http_req_t *req);

/* Calls cont with the conversation (from the cache, or loaded into it). On a
 * miss this is asynchronous; an unknown conversation gives MP_ERR_NOT_MEMBER
 * (never "not found": ids must not leak), a full store queue
 * MP_ERR_UNAVAILABLE. conv is valid only during the call. */
typedef void (*mp_chat_conv_cont)(mp_chat_t *chat, mp_err_t rc, const mp_chat_conv_t *conv,
                                  void *ud);
void mp_chat__with_conv(mp_chat_t *chat, uint64_t conv_id, mp_chat_conv_cont cont, void *ud);

/* ---- JSON shapes and fan-out (events.c) ----------------------------------- */

/* The one shape of a message in live events, history, sync, search and
 * pins (docs/protocol.md "The message object"): {"message_id",
 * "conversation","seq","sender"[,"sender_guest":true],"kind","text"
 * [,"content"][,"system"],"created_at"[,"client_msg_id" when with_cmid]
 * [,"reply_to"][,"forwarded_from"][,"mentions"][,"mention_all"]
 * [,"edited_at"][,"reactions"][,"pinned_at","pinned_by"]}; a message deleted
 * for everyone is a tombstone: "text":"", "deleted":true, "deleted_at", and
 * none of the optional parts. "reactions" only when m->reactions is set (the
 * read paths load them; write paths leave it NULL). */
json_t *mp_chat__msg_json(const mp_msg_row_t *m, bool with_cmid);

/* The ids of a stored comma-separated mention list (mp_msg_row_t.mentions;
 * NULL = none), at most max of them, in stored order; malformed entries are
 * skipped. Returns how many were written to out. */
size_t mp_chat__mentions_parse(const char *list, uint64_t *out, size_t max);

/* The frames of one {"event":"message"}, each encoded on first use and then
 * shared by all its sessions: plain (other members), mention (the same with
 * "mention":true, for the users m mentions, or everyone but the sender on
 * mention_all) and own (with client_msg_id, for the sender's other
 * sessions). guest: the sender is a guest (world posts are marked). m is
 * borrowed until mp_chat__frames_free. */
typedef struct mp_chat_frames {
    const mp_msg_row_t *m;
    bool guest;
    json_t *ev, *msg; /* the jansson path only: NULL when chat/msgenc.c writes the frames */
    mp_frame_t *plain, *mention, *own;
    bool mention_all;
    uint64_t mentions[MP_CHAT_MENTIONS_MAX]; /* ascending, no duplicates */
    size_t n_mentions;
} mp_chat_frames_t;

void mp_chat__frames_init(mp_chat_frames_t *fr, const mp_msg_row_t *m, bool guest);
/* The same frames always from a jansson tree: the path for the rows
 * chat/msgenc.c does not cover, and the reference its tests compare with. */
void mp_chat__frames_init_json(mp_chat_frames_t *fr, const mp_msg_row_t *m, bool guest);
/* Whether user gets the mention frame (never the sender). */
bool mp_chat__frames_mentioned(const mp_chat_frames_t *fr, uint64_t user);
mp_frame_t *mp_chat__frames_plain(mp_chat_frames_t *fr);
mp_frame_t *mp_chat__frames_mention(mp_chat_frames_t *fr);
mp_frame_t *mp_chat__frames_own(mp_chat_frames_t *fr);
void mp_chat__frames_free(mp_chat_frames_t *fr);

/* Delivers NEW stored messages of one conversation (n >= 1, in seq order)
 * as "message" events: the other members' sessions (mentioned ones with
 * "mention":true), the sender's sessions other than `except` (which has the
 * ack) with client_msg_id; the world room to every session. peer_id: for a
 * send with `to`, the other member (fills the cache); else 0. Rows are
 * copied when the member list must be loaded first. */
void mp_chat__fan_out_new(mp_chat_t *chat, const mp_msg_row_t *msgs, size_t n, mp_sid_t except,
                          bool guest, uint64_t peer_id);
/* Whether user has a session besides `except`. */
bool mp_chat__has_other_session(mp_chat_t *chat, uint64_t user, mp_sid_t except);

/* The read paths (history, sync) build pages of at most this many bytes of
 * encoded JSON: a page ends early, with has_more, before the message that
 * would pass it, and always carries at least one message (or one version of
 * a sync). One message is under 32 KiB encoded with the default
 * max_reaction_kinds (a text of 4,096 characters that escape to 6 bytes
 * each, a 64-byte client_msg_id of characters that escape to 2, a content
 * object of about 1 KiB, a 100-character reply snapshot, 50 mentions, 20
 * reactions of at most 32-byte emoji, and the fixed fields; about 60 bytes
 * more per allowed reaction kind), so one always fits. The budget also
 * bounds the encoding work one request puts on the loop. */
#define MP_CHAT_REPLY_BYTES (256 * 1024)

/* What a user banned from the world room (store/world.h) is told when they
 * post or react there (MP_ERR_BANNED). */
#define MP_CHAT_WORLD_BANNED "you are banned from the world room"
/* MP_CHAT_REPLY_BYTES, or a quarter of ws_max_queue when that is smaller, so
 * that a reply never trips the slow-reader limit. */
size_t mp_chat__reply_budget(const mp_chat_t *chat);
/* Bytes of j encoded as replies are (compact). */
size_t mp_chat__json_size(const json_t *j);
/* A decimal id string value. */
json_t *mp_chat__id_json(uint64_t id);

/* Sends f to every online session of every member of conv except `skip_user`
 * (0 = none). */
void mp_chat__push_members(mp_chat_t *chat, const mp_chat_conv_t *conv, uint64_t skip_user,
                           mp_frame_t *f);

/* ---- send, edit, delete, forward (send.c, edit.c, forward.c) -------------- */

/* Takes cost tokens (one per message written: a forward of n takes n, at
 * most the burst) from the caller's send bucket (send_rate / send_burst),
 * shared by send, edit and forward. False when it has answered
 * rate_limited with "retry_after_ms". */
bool mp_chat__send_rate_ok(mp_chat_t *chat, const mp_cmd_t *cmd, unsigned cost);
/* The message of privacy_restricted for a direct conversation: the table's
 * default ("this user's privacy settings do not allow it") whether the peer
 * blocked the caller or their setting excludes them — the two must read the
 * same (docs/protocol.md "Blocking") — and, to the blocker alone, that their
 * own block stands in the way. */
const char *mp_chat__privacy_message(bool you_blocked);
/* Answers muted ("you are muted in this group until ...") with
 * "muted_until". */
void mp_chat__muted_error(mp_chat_t *chat, mp_sid_t sid, int64_t req_id, int64_t until);
/* Sends the event of a change of a message in conv_id: `others` to every
 * online session of the other members (world: every session), `own` to the
 * actor's sessions but `except` (the one that gets the reply). own may be
 * others. Takes its own references; waits for the member list when it is
 * not cached. */
void mp_chat__push_change(mp_chat_t *chat, uint64_t conv_id, uint64_t actor, mp_sid_t except,
                          mp_frame_t *others, mp_frame_t *own);

/* ---- read receipts (cursor.c) ---------------------------------------------- */

/* Whether viewer may see the read_seq of user: their own always, another's
 * only when both have read receipts on (MP_UF_NO_RECEIPTS clear for both:
 * docs/protocol.md "Privacy settings"). delivered_seq is always shown. */
bool mp_chat__read_visible(const mp_chat_t *chat, uint64_t user, uint64_t viewer);

/* ---- presence (presence.c) ------------------------------------------------- */

/* Remembers the last-seen time of at most max_users users (>= 1); when full,
 * recording a new one forgets the older half first. */
mp_chat_presence_t *mp_chat__presence_new(size_t max_users);
void mp_chat__presence_free(mp_chat_presence_t *p);
/* Records when user was last seen (now) and returns 0, or looks it up
 * (at_ms < 0): returns the last time recorded, 0 if never or forgotten. */
int64_t mp_chat__presence_seen(mp_chat_presence_t *p, uint64_t user, int64_t at_ms);
/* Drops user's entry (they came online: the time is not read until they
 * leave again, which records a new one). */
void mp_chat__presence_forget(mp_chat_presence_t *p, uint64_t user);
/* Number of users remembered. */
size_t mp_chat__presence_size(const mp_chat_presence_t *p);

/* ---- history pages (history.c) ----------------------------------------------- */

/* Who a history page goes to: a WebSocket request (ws, req_id) or an HTTP
 * one, the reader (their own messages carry client_msg_id), the
 * conversation and the page's byte budget (mp_chat__reply_budget). */
typedef struct mp_chat_page {
    bool ws;
    int64_t req_id;
    uint64_t user, conv;
    size_t budget;
} mp_chat_page_t;

/* Appends the reply of a history page: {["id":..,"ok":true,]"conversation":
 * ..,"messages":[..],"has_more":..}, the bytes jansson gave the same object
 * through mp_gw_reply or mp_http_respond. The page is the newest messages
 * of m (ascending) that fit the budget; it stops before the first message
 * that would pass it (has_more then), so the client's next before_seq (this
 * page's first seq) continues right below it. At least one message always
 * goes in. */
struct mp_msgenc;
void mp_chat__history_page(struct mp_msgenc *out, const mp_chat_page_t *pg, const mp_msg_row_t *m,
                           size_t n, bool more);

/* Appends m's item of a page (history, sync): the bytes of
 * mp_chat__msg_json(m, own) dumped compact, written by chat/msgenc.c for
 * the rows it covers and through the tree for the others. */
void mp_chat__msg_write(struct mp_msgenc *e, const mp_msg_row_t *m, bool own);

/* ---- sync pages (sync.c) ----------------------------------------------------- */

/* The items of a sync reply other than messages, as jansson trees. */
json_t *mp_chat__sync_conv_json(const mp_chat_sync_conv_t *c);
json_t *mp_chat__sync_receipt_json(const mp_chat_t *chat, uint64_t viewer,
                                   const mp_chat_receipt_row_t *r);
json_t *mp_chat__sync_hidden_json(const mp_chat_self_row_t *r);

/* Appends the reply to a sync request: {"id":..,"ok":true,"cursor":..,
 * "has_more":..,"conversations":[..],"messages":[..],"receipts":[..],
 * "hidden":[..],"contacts":[..]} for pg->user (pg->ws must be set; conv
 * is unused), the bytes jansson gave the same object through mp_gw_reply.
 * The store's page o is cut again before the first version whose items
 * would pass pg->budget, so that the cursor resumes right after the last
 * item sent; the first version always goes in. chat: whose read receipts
 * are visible (mp_chat__read_visible). */
void mp_chat__sync_page(struct mp_msgenc *out, const mp_chat_t *chat, const mp_chat_page_t *pg,
                        const mp_chat_sync_out_t *o);

/* ---- HTTP handlers (routes.c, history.c, presence.c) ----------------------- */

void mp_chat__route_direct(mp_http_req_t *req);
void mp_chat__route_list(mp_http_req_t *req);
void mp_chat__route_history(mp_http_req_t *req);
void mp_chat__route_presence(mp_http_req_t *req);

/* ---- the world room (world.c) ---------------------------------------------
 * The world conversation is ctx->world_id; it has no member rows, so
 * mp_chat__conv_has() lets everyone in and fan-out goes to every session. */

/* Never returns NULL. */
mp_chat_world_t *mp_chat__world_new(const mp_config_t *cfg);
void mp_chat__world_free(mp_chat_world_t *w);
/* The slow mode's limiter is shared with the other nodes of a cluster (on)
 * or no longer (off, before freeing). */
void mp_chat__world_share(mp_chat_t *chat, bool on);
/* True when conv is the world conversation. */
bool mp_chat__world_is(const mp_chat_t *chat, uint64_t conv);
/* True when a guest may read conv: it is the world and guests are not off
 * (the HTTP history route; verbs are gated in core/verbs.c). */
bool mp_chat__world_guest_reads(const mp_chat_t *chat, uint64_t conv);
/* Slow mode: takes user's post slot. False (and *retry_ms > 0) when the user
 * posted less than world_slow_mode ms ago. */
bool mp_chat__world_post_ok(mp_chat_t *chat, uint64_t user, int64_t *retry_ms);
/* Answers a request with 429 slow_mode and "retry_after_ms". */
void mp_chat__world_slow_error(mp_chat_t *chat, mp_sid_t sid, int64_t req_id, int64_t retry_ms);
/* Fans a stored world message out to every online session: the sender's
 * other sessions (not `except`, which has the ack) with client_msg_id, the
 * rest without; "sender_guest":true when guest. */
void mp_chat__world_fan_out(mp_chat_t *chat, const mp_msg_row_t *m, mp_sid_t except, bool guest);
/* A world post by a guest's device counts as activity (throttled store touch). */
void mp_chat__world_posted(mp_chat_t *chat, uint64_t device_id, bool guest);
/* GET /v1/world. */
void mp_chat__route_world(mp_http_req_t *req);

/* ---- reactions, pins, the user's settings, search (rq.c, react.c, pins.c,
 * convset.c, search.c, snippet.c) ------------------------------------------ */

/* Who asked and how to answer: a WebSocket request (sid + req_id) or an HTTP
 * request (req). */
typedef struct mp_chat_rq {
    mp_chat_t *chat;
    uint64_t user;
    bool guest;
    mp_sid_t sid;
    int64_t req_id;
    mp_http_req_t *req; /* NULL for WebSocket */
} mp_chat_rq_t;

void mp_chat__rq_of_cmd(mp_chat_rq_t *rq, const mp_cmd_t *cmd);
void mp_chat__rq_of_req(mp_chat_rq_t *rq, mp_http_req_t *req);
/* Answers once: 200 with body (owned) / ok reply with its fields. */
void mp_chat__rq_ok(const mp_chat_rq_t *rq, json_t *body);
/* Answers once with the error (msg NULL = the code's default message). */
void mp_chat__rq_err(const mp_chat_rq_t *rq, mp_err_t rc, const char *msg);
void mp_chat__rq_rate_limited(const mp_chat_rq_t *rq, int64_t retry_ms);
/* f to the caller's other sessions (all of them for an HTTP caller). */
void mp_chat__push_own(const mp_chat_rq_t *rq, mp_frame_t *f);
/* ev to every member session of conv but the caller's asking one. */
void mp_chat__push_conv_rq(const mp_chat_rq_t *rq, const mp_chat_conv_t *conv, json_t *ev);
/* A decimal id string member of obj (a frame or body); 0 when it is absent
 * or not an id (the field tables have already refused a malformed one). */
uint64_t mp_chat__obj_id(const json_t *obj, const char *key);

/* A username (any case, one leading '@' allowed) resolved to the id of a
 * live account by a store read (parse.c). Returns MP_OK when queued (cb runs
 * later with MP_OK, or MP_ERR_NOT_FOUND for a name nobody has, a deleted
 * account or one still pending); else the error, at once, without cb:
 * MP_ERR_NOT_FOUND for a name that cannot be a username, or the store's. */
typedef void (*mp_chat_user_id_fn)(mp_err_t rc, uint64_t user_id, void *ud);
mp_err_t mp_chat__user_by_name(mp_chat_t *chat, const char *name, mp_chat_user_id_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* {"muted_until","pinned","archived","cleared_seq","deleted"}. */
json_t *mp_chat__conv_settings_json(const mp_conv_settings_t *s);

/* A highlight of a search snippet: [start, start + len) in characters. */
typedef struct mp_chat_hl {
    size_t start, len;
} mp_chat_hl_t;
/* The snippet of a search hit: about `window` (> 0) characters of the
 * marked text (store/messages.h: matches between MP_SEARCH_MARK_ON and
 * MP_SEARCH_MARK_OFF) around its first match, whole characters, "…" where
 * the text was cut, marks removed. Fills at most max_hl highlights (in
 * characters of the snippet, the "…" counted) and *n_hl. Returns the
 * snippet (owned: mp_free). */
char *mp_chat__snippet(const char *marked, size_t window, mp_chat_hl_t *hl, size_t max_hl,
                       size_t *n_hl);

void mp_chat__route_reactions(mp_http_req_t *req);
void mp_chat__route_pins(mp_http_req_t *req);
void mp_chat__route_conv_patch(mp_http_req_t *req);
void mp_chat__route_conv_clear(mp_http_req_t *req);
void mp_chat__route_conv_delete(mp_http_req_t *req);
void mp_chat__route_search(mp_http_req_t *req);

/* ---- parsers (parse.c) ------------------------------------------------------ */

/* Strict non-negative decimal (1-19 digits, no sign, no leading zero unless
 * "0"). Returns false on anything else. */
bool mp_chat__parse_i64(const char *s, int64_t *out);
/* The opaque conversation-list cursor "<active_at>.<conversation id>". */
void mp_chat__list_cursor_format(int64_t active_at, uint64_t id, char *out, size_t len);
bool mp_chat__list_cursor_parse(const char *s, int64_t *active_at, uint64_t *id);

#endif
