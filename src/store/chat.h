/* The messaging part of the store API: conversations, members and messages.
 *
 * Same contract as store.h: every op returns MP_OK when queued (its callback
 * runs later on the loop thread) or MP_ERR_UNAVAILABLE when the queue is full
 * (the callback is then NOT called). Rows given to callbacks are borrowed and
 * valid only until the callback returns. Write ops run on the writer thread in
 * the group-commit transaction: their callback with MP_OK means "fsynced".
 *
 * Authorisation lives here too, in the same transaction as the data it
 * guards: every op that names a conversation answers MP_ERR_NOT_MEMBER both
 * when the conversation does not exist and when the user is not a member. */
#ifndef MP_STORE_CHAT_H
#define MP_STORE_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/contact.h"
#include "store/store.h"

#define MP_CHAT_CMID_MAX 64         /* client_msg_id bytes (printable ASCII) */
#define MP_CHAT_TEXT_MAX_CHARS 4096 /* Unicode characters */
#define MP_CHAT_HISTORY_MAX 200     /* messages per history page */
#define MP_CHAT_SYNC_MAX 500        /* items (messages + receipts) per sync page */

typedef enum { MP_CONV_DIRECT = 0, MP_CONV_GROUP, MP_CONV_WORLD } mp_conv_kind_t;

/* "direct", "group", "world". */
const char *mp_conv_kind_name(mp_conv_kind_t kind);

/* One reaction emoji of a message as one reader sees it (read paths). */
typedef struct mp_reaction_sum {
    const char *emoji;
    int64_t count;
    bool me; /* the reader is one of them */
} mp_reaction_sum_t;

/* One stored message. Strings are NUL-terminated and borrowed; optional
 * strings are NULL when absent. A deleted message (deleted_at != 0) has
 * text "" and no content, quote, mentions, forward or reactions. */
typedef struct mp_msg_row {
    uint64_t id;
    uint64_t conversation_id;
    uint64_t sender_id;
    int64_t seq;
    int64_t created_at; /* ms since the epoch */
    int64_t version;    /* global change version of its latest change */
    const char *client_msg_id;
    const char *kind;         /* "text", "image", ..., "system" */
    const char *text;         /* text, caption, or "" */
    bool sender_guest;        /* read paths: the sender is a guest (or a swept one) */
    const char *content;      /* JSON object text of non-text kinds (opaque here) */
    const char *search_extra; /* file name / location title (search only) */
    int64_t edited_at;        /* 0 = never */
    int64_t deleted_at;       /* 0 = live */
    uint64_t reply_to;        /* 0 = not a reply */
    uint64_t quote_sender;    /* the snapshot of the quoted message (reply_to != 0) */
    const char *quote_kind;
    const char *quote_text; /* first 100 characters */
    bool quote_deleted;     /* the quoted message was deleted for everyone */
    uint64_t fwd_sender;    /* forwarded_from (fwd_at != 0) */
    int64_t fwd_at;
    const char *mentions; /* comma-separated decimal user ids */
    bool mention_all;
    int64_t pinned_at; /* 0 = not pinned */
    uint64_t pinned_by;
    bool changed; /* mp_store_msg_pin: this call pinned or unpinned it (false: it already was) */
    const mp_reaction_sum_t *reactions; /* read paths; by first reaction time */
    size_t n_reactions;
} mp_msg_row_t;

/* A deep copy of m into dst: dst owns its strings and reactions, to be
 * freed with mp_msg_row_release (for rows kept past a callback). */
void mp_msg_row_copy(mp_msg_row_t *dst, const mp_msg_row_t *m);
/* Frees what a copy owns and zeroes the row. NULL is ignored. */
void mp_msg_row_release(mp_msg_row_t *m);

/* ---- send --------------------------------------------------------------- */

/* Exactly one of conversation_id / to_user_id is non-zero. Strings are copied
 * by mp_store_chat_send. */
typedef struct mp_chat_send_in {
    uint64_t sender_id;
    uint64_t sender_device; /* the sending device: dedup is per device */
    uint64_t conversation_id;
    uint64_t to_user_id;
    const char *client_msg_id;
    const char *text;
    size_t text_len;
    const char *kind; /* NULL = "text" */
    int64_t now_ms;
    /* Issue 10 additions (all optional; copied by mp_store_chat_send). */
    const char *content;      /* JSON object text (non-text kinds), validated by the caller */
    const char *search_extra; /* file name / location title */
    uint64_t contact_user;    /* kind contact: must name an existing user (else MP_ERR_NOT_FOUND,
                                 bad_field "content") */
    uint64_t reply_to; /* a live message of the same conversation (else MP_ERR_NOT_FOUND, bad_field
                          "reply_to") */
    const uint64_t *mentions; /* members of the conversation (world: existing users) */
    size_t n_mentions;        /* <= MP_CHAT_MENTIONS_MAX */
    bool mention_all; /* groups only, owner/admin (MP_ERR_NOT_ALLOWED); else MP_ERR_BAD_REQUEST */
    /* Issue 12: kinds image/file/voice/video name a file in content.file_id
     * that the sender must be able to read (store/files.h, the rule of
     * mp_store_file_get, for which these two say who the sender is) — else
     * MP_ERR_NOT_FOUND, bad_field "content.file_id" — and whose class suits
     * the kind — else MP_ERR_BAD_REQUEST, same bad_field. The stored content
     * is then rewritten from the file (proto/content.h mp_content_fill) and a
     * file_refs row added, in the same transaction. */
    bool sender_guest;
    uint64_t world_id; /* the world conversation (0 = none) */
} mp_chat_send_in_t;

#define MP_CHAT_MENTIONS_MAX 50

typedef struct mp_chat_send_out {
    mp_msg_row_t msg;          /* the new message, or the ORIGINAL on a duplicate */
    bool duplicate;            /* (sender, device, client_msg_id) existed: nothing was written */
    bool created_conversation; /* `to` created the direct conversation */
    uint64_t peer_id;          /* for `to`: the other member (to_user_id) */
    int64_t muted_until;       /* MP_ERR_MUTED: when the mute ends (the only field set) */
    const char *bad_field;     /* on MP_ERR_NOT_FOUND / MP_ERR_BAD_REQUEST / MP_ERR_NOT_ALLOWED
                                * about an input field: "reply_to", "mentions", "mention_all",
                                * "content" (the contact's user), "content.file_id"; NULL
                                * otherwise */
    bool you_blocked; /* MP_ERR_PRIVACY: the sender blocked the peer (else the peer's block or
                         message setting refused it, which the sender is not told apart) */
} mp_chat_send_out_t;

typedef void (*mp_chat_send_fn)(mp_err_t rc, const mp_chat_send_out_t *out, void *ud);

/* The whole send as ONE write job: dedup lookup by (sender, sender_device,
 * client_msg_id) (found → the original, duplicate=true, even if text or
 * target differ; another device's id never matches); else, for `to`, find or
 * create the direct conversation; check every rule of posting there in the
 * same transaction (the caller's cached pre-check may be stale); next seq of
 * the conversation, bump the global version, insert with id mp_id_next().
 * Errors: MP_ERR_NOT_MEMBER (unknown conversation or not a member),
 * MP_ERR_DISSOLVED (a dissolved group), MP_ERR_NOT_ALLOWED (who_can_post is
 * admins and the sender is a member), MP_ERR_MUTED (the callback gets out
 * with muted_until), MP_ERR_GUEST_FORBIDDEN (the direct peer is a guest),
 * MP_ERR_NOT_FOUND (`to` names no user), MP_ERR_BAD_REQUEST (`to` is the
 * sender), MP_ERR_PRIVACY (direct: the peer blocked the sender, the sender
 * blocked the peer, or the peer's message setting excludes the sender — in a
 * conversation that exists as when starting one; the callback gets out with
 * you_blocked), MP_ERR_INTERNAL. */
mp_err_t mp_store_chat_send(mp_store_t *st, const mp_chat_send_in_t *in, mp_chat_send_fn cb,
                            void *ud) __attribute__((warn_unused_result));

/* ---- conversations ------------------------------------------------------ */

/* The direct conversation of (user_id, other_id), created when missing.
 * Errors: MP_ERR_NOT_FOUND (other is no user), MP_ERR_BAD_REQUEST (other ==
 * user), MP_ERR_GUEST_FORBIDDEN (other is a guest), MP_ERR_PRIVACY (creating
 * it: other blocked user, user blocked other, or other's message setting
 * excludes user; an existing one is answered as it is). */
typedef void (*mp_chat_direct_fn)(mp_err_t rc, uint64_t conversation_id, bool created, void *ud);
mp_err_t mp_store_chat_direct(mp_store_t *st, uint64_t user_id, uint64_t other_id, int64_t now_ms,
                              mp_chat_direct_fn cb, void *ud) __attribute__((warn_unused_result));

/* Kind and member user ids of a conversation (read). World rooms report no
 * members (everyone is one). MP_ERR_NOT_FOUND when it does not exist. */
typedef void (*mp_chat_members_fn)(mp_err_t rc, mp_conv_kind_t kind, const uint64_t *members,
                                   size_t n, void *ud);
mp_err_t mp_store_chat_members(mp_store_t *st, uint64_t conversation_id, mp_chat_members_fn cb,
                               void *ud) __attribute__((warn_unused_result));

/* Users sharing a direct conversation, or a group of at most
 * MP_CHAT_PRESENCE_GROUP_MAX members, with user_id (read; world rooms
 * excluded), for presence. Larger groups are left out on purpose: telling
 * every member of a 10,000-member group about every member's arrival costs
 * N^2 events while everyone connects; clients ask GET /v1/users/{id}/presence
 * for the few members they show. */
#define MP_CHAT_PRESENCE_GROUP_MAX 100
typedef void (*mp_chat_users_fn)(mp_err_t rc, const uint64_t *users, size_t n, void *ud);
mp_err_t mp_store_chat_peers(mp_store_t *st, uint64_t user_id, mp_chat_users_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* A user's own settings of one conversation (members columns). */
typedef struct mp_conv_settings {
    int64_t muted_until; /* notifications: 0 = on, -1 = muted forever, else ms */
    int64_t pinned_at;   /* 0 = not pinned to the top of the list */
    bool archived;
    int64_t cleared_seq; /* history at or below is hidden for the user */
    bool deleted;        /* a direct conversation deleted for the user (until a new message) */
} mp_conv_settings_t;

/* One entry of the conversation list. */
typedef struct mp_chat_list_row {
    uint64_t id;
    mp_conv_kind_t kind;
    int64_t last_seq, read_seq, active_at;
    uint64_t peer_id;  /* direct: the other member (0 otherwise) */
    const char *title; /* group/world: its title (NULL for direct) */
    const char *peer_username, *peer_display_name;
    bool has_last;
    mp_msg_row_t last; /* the newest message the user may see, when has_last */
    int64_t unread_mentions;
    mp_conv_settings_t settings; /* the user's own settings */
    const uint64_t *pinned_ids;  /* pinned messages the user may see, most recently pinned first */
    size_t n_pinned_ids;
} mp_chat_list_row_t;

/* The caller's conversations: on the first page (after_active == INT64_MAX)
 * every pinned one first (most recently pinned first, at most
 * MP_CHAT_PINNED_CONVS_MAX), then the unpinned ones most recently active
 * first, starting after the position (after_active, after_id) — pass
 * (INT64_MAX, 0) for the first page. archived: list only the archived ones
 * (else only the others). Deleted-for-me direct conversations with no newer
 * message are left out. has_more says whether another page follows. limit
 * 1..MP_CHAT_HISTORY_MAX (pinned ones come on top of it). */
#define MP_CHAT_PINNED_CONVS_MAX 10
typedef void (*mp_chat_list_fn)(mp_err_t rc, const mp_chat_list_row_t *rows, size_t n,
                                bool has_more, void *ud);
mp_err_t mp_store_chat_list(mp_store_t *st, uint64_t user_id, int64_t after_active,
                            uint64_t after_id, unsigned limit, bool archived, mp_chat_list_fn cb,
                            void *ud) __attribute__((warn_unused_result));

/* ---- messages and cursors ------------------------------------------------ */

/* Raw bytes of a message row: its text, client_msg_id and kind. Reads use it
 * to stop early; the store knows nothing of how a row is encoded. */
size_t mp_chat_msg_raw_bytes(const mp_msg_row_t *m);

/* Messages of a conversation visible to user_id (above their cleared_seq,
 * not hidden for them; deleted ones come as tombstones) with seq < before_seq (INT64_MAX = the
 * newest), the newest ones up to limit (1..MP_CHAT_HISTORY_MAX) rows, returned in ASCENDING seq
 * order; has_more when older ones exist. Rows stop early, with has_more, once the raw bytes
 * (mp_chat_msg_raw_bytes) of the rows read pass max_bytes: every row but the oldest returned fits
 * in max_bytes, and at least one row is returned. MP_ERR_NOT_MEMBER as above. */
typedef void (*mp_chat_msgs_fn)(mp_err_t rc, const mp_msg_row_t *msgs, size_t n, bool has_more,
                                void *ud);
mp_err_t mp_store_chat_history(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                               int64_t before_seq, unsigned limit, size_t max_bytes,
                               mp_chat_msgs_fn cb, void *ud) __attribute__((warn_unused_result));

typedef enum { MP_CHAT_CURSOR_READ = 0, MP_CHAT_CURSOR_DELIVERED } mp_chat_cursor_t;

typedef struct mp_chat_cursor_out {
    int64_t read_seq, delivered_seq, last_seq;
    bool changed; /* false: the cursor was already there (nothing written) */
} mp_chat_cursor_out_t;

/* Moves the user's read or delivered cursor forward to min(seq, last_seq),
 * never back. Reading also moves delivered_seq up to read_seq. A move bumps
 * the global version on the member row and the conversation (sync carries
 * it as a receipt). MP_ERR_NOT_MEMBER as above. */
typedef void (*mp_chat_cursor_fn)(mp_err_t rc, const mp_chat_cursor_out_t *out, void *ud);
mp_err_t mp_store_chat_cursor(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                              mp_chat_cursor_t which, int64_t seq, mp_chat_cursor_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* ---- sync ----------------------------------------------------------------- */

typedef struct mp_chat_sync_conv {
    uint64_t id;
    mp_conv_kind_t kind;
    int64_t last_seq, read_seq, delivered_seq, version;
    uint64_t peer_id; /* direct: the other member */
    int64_t unread_mentions;
    mp_conv_settings_t settings;
    int64_t self_version; /* version of the user's last settings change (0 = none) */
} mp_chat_sync_conv_t;

/* A per-user item of sync: a message deleted for the user ("hidden") or a
 * change of the user's settings of a conversation (message_id 0; the
 * settings are in the conversation entry). */
typedef struct mp_chat_self_row {
    uint64_t conversation_id, message_id;
    int64_t version;
} mp_chat_self_row_t;

typedef struct mp_chat_receipt_row {
    uint64_t conversation_id, user_id;
    int64_t read_seq, delivered_seq, version;
} mp_chat_receipt_row_t;

typedef struct mp_chat_sync_out {
    const mp_chat_sync_conv_t *convs; /* conversations with items in this page */
    size_t n_convs;
    const mp_msg_row_t *msgs; /* ordered by version (= seq order per conversation) */
    size_t n_msgs;
    const mp_chat_receipt_row_t *receipts; /* member rows that changed, by version */
    size_t n_receipts;
    const mp_chat_self_row_t *selfs; /* the user's own changes, by version */
    size_t n_selfs;
    const mp_contact_t *contacts; /* the user's contact entries that changed, by version */
    size_t n_contacts;
    bool has_more;  /* call again with `cursor` */
    int64_t cursor; /* the version to pass as `since` next time */
} mp_chat_sync_out_t;

/* Everything of user_id's conversations, and their contact entries
 * (store/contacts.h), with a version above `since`, at
 * most about max_items items (messages + receipts + own changes + contact
 * entries; never cutting between
 * items of one version), in one read transaction. The page also ends early
 * once the raw bytes (mp_chat_msg_raw_bytes) of its messages pass about
 * max_bytes (at least one version is always included), so a page of large
 * messages reads about max_bytes per conversation, not max_items rows. The
 * page is a prefix by version: the caller may cut it shorter at any version
 * boundary and continue from there. Cost: one scan of the user's membership
 * rows plus index ranges of what changed. */
typedef void (*mp_chat_sync_fn)(mp_err_t rc, const mp_chat_sync_out_t *out, void *ud);
mp_err_t mp_store_chat_sync(mp_store_t *st, uint64_t user_id, int64_t since, unsigned max_items,
                            size_t max_bytes, mp_chat_sync_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* ---- pure helpers (unit-tested) ----------------------------------------- */

/* Sync page cut: given the versions of candidate items sorted ascending
 * (n of them) and max_items, returns how many to include: the first
 * max_items, extended over items that share the last one's version (a cursor
 * must never fall inside one version). Returns n when n <= max_items. */
size_t mp_chat_sync_cut(const int64_t *versions, size_t n, size_t max_items);

/* The cursor rule, one copy for every kind of conversation: seq is clamped to
 * last_seq; `read` moves forward only (MP_CHAT_CURSOR_READ); `delivered` moves
 * forward only, to seq (MP_CHAT_CURSOR_DELIVERED) or to the new read (reading
 * implies delivery).
 * Updates *read_seq and *delivered_seq; returns true when either moved. */
bool mp_chat_cursor_advance(mp_chat_cursor_t which, int64_t seq, int64_t last_seq,
                            int64_t *read_seq, int64_t *delivered_seq);

#endif
