/* The store ops that change or find existing messages: edit, delete (for
 * me / for everyone), forward, reactions, pins, the user's own conversation
 * settings, and search. Same contract as store.h and store/chat.h: every op
 * returns MP_OK when queued (its callback runs later on the loop thread) or
 * MP_ERR_UNAVAILABLE (the callback is then NOT called); rows are borrowed
 * for the callback only; write callbacks with MP_OK mean "fsynced".
 *
 * Every write is ONE job that checks membership and role in its own
 * transaction (race-free against kick, ban and dissolve) and takes the next
 * global change version: the changed message's version (or the user's
 * hidden row / settings) is set to it, so sync carries the change.
 *
 * Errors shared by all ops naming (conversation, message): MP_ERR_NOT_MEMBER
 * when the conversation does not exist or the user may not read it;
 * MP_ERR_NOT_FOUND when the message does not exist, is of another
 * conversation, is deleted for everyone (except for delete-for-me), or is
 * hidden for the user. */
#ifndef MP_STORE_MESSAGES_H
#define MP_STORE_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/chat.h"

#define MP_CHAT_FORWARD_MAX 100      /* messages per forward */
#define MP_CHAT_PINS_MAX 50          /* pinned messages per conversation */
#define MP_CHAT_EMOJI_MAX 32         /* bytes of one reaction emoji */
#define MP_CHAT_QUOTE_CHARS 100      /* characters of a reply's snapshot */
#define MP_CHAT_SEARCH_QUERY_MAX 256 /* characters */
#define MP_CHAT_SEARCH_MAX 50        /* results per page */
#define MP_CHAT_SEARCH_SCAN 20000    /* candidates examined per search request */

/* Who acts. world_moderators is the comma-separated usernames of the
 * world_moderators key (case-insensitive; borrowed: it must outlive the
 * op, the config does); the store compares the actor's username with it
 * in the write, only when a world moderation right is needed. Server
 * admins (users.admin, read in the same write) moderate the world room
 * too. moderator: the caller has already established the right (an admin
 * operation, possibly by the operator with user_id 0): the actor moderates
 * the world room whoever they are. */
typedef struct mp_msg_actor {
    uint64_t user_id;
    const char *world_moderators;
    bool moderator;
} mp_msg_actor_t;

/* ---- edit ------------------------------------------------------------------- */

/* Replaces the text (kind text) or the caption (image, file, voice, video;
 * MP_ERR_BAD_REQUEST for other kinds and system messages) of the actor's own
 * message (MP_ERR_FORBIDDEN for another's). edit_window_ms 0 = unlimited,
 * else created_at + window must not have passed (MP_ERR_TOO_LATE). Group
 * posting rules apply (dissolved, who_can_post, mute). Sets edited_at,
 * updates the search index. The callback gets the message's new state. */
typedef void (*mp_msg_fn)(mp_err_t rc, const mp_msg_row_t *msg, void *ud);
mp_err_t mp_store_msg_edit(mp_store_t *st, const mp_msg_actor_t *actor, uint64_t conversation_id,
                           uint64_t message_id, const char *text, size_t text_len,
                           int64_t edit_window_ms, int64_t now_ms, mp_msg_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* ---- delete ----------------------------------------------------------------- */

/* for_everyone false: hides the message for the actor's devices (any message
 * the actor can read, also a deleted one; hiding twice is MP_OK). true: the
 * sender within recall_window_ms (0 = any time; else MP_ERR_TOO_LATE), a
 * group owner/admin who outranks the sender (or deletes their own), a world
 * moderator; else MP_ERR_FORBIDDEN. Erases the content for good (text,
 * content, search_extra, quote, mentions, reactions, pin, index entry;
 * replies quoting it get quote_deleted and lose their snapshot, with a new
 * version each; the message's file_refs rows go, so its file is readable
 * through it no more and can be swept). Deleting a deleted message again is MP_OK (nothing
 * changes). The callback gets the tombstone (or, for me, the row as it was
 * with version = the hidden row's version). */
mp_err_t mp_store_msg_delete(mp_store_t *st, const mp_msg_actor_t *actor, uint64_t conversation_id,
                             uint64_t message_id, bool for_everyone, int64_t recall_window_ms,
                             int64_t now_ms, mp_msg_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* ---- forward ---------------------------------------------------------------- */

typedef struct mp_msg_forward_in {
    uint64_t sender_id, sender_device;
    uint64_t from_conversation;
    const uint64_t *message_ids; /* 1..MP_CHAT_FORWARD_MAX */
    size_t n;
    uint64_t conversation_id; /* the target; exactly one of it and to_user_id */
    uint64_t to_user_id;
    const char *client_msg_id; /* copy i gets "<client_msg_id>/<i>" */
    int64_t now_ms;
    /* Who the sender is for the access rule of the files the messages name
     * (store/files.h): a copy of a message with a file needs the sender to be
     * able to read it — they can, through the source's file_refs row — and
     * gets a file_refs row of its own. */
    bool sender_guest;
    uint64_t world_id; /* the world conversation (0 = none) */
} mp_msg_forward_in_t;

typedef struct mp_msg_forward_out {
    const mp_msg_row_t *msgs; /* the copies (or the originals on a duplicate), in order */
    size_t n;
    bool duplicate;
    bool created_conversation;
    uint64_t peer_id;      /* `to`: the other member */
    int64_t muted_until;   /* MP_ERR_MUTED */
    const char *bad_field; /* "from" / "message_ids" when the error is about the source;
                              "file" (MP_ERR_NOT_FOUND): a message names a file the sender
                              cannot read (one that no longer exists) */
    bool you_blocked;      /* MP_ERR_PRIVACY: the sender blocked the direct peer */
} mp_msg_forward_out_t;

/* Copies the messages (in the order given) into the target as new messages
 * of the sender, with forwarded_from = the original's forwarded_from, else
 * its (sender, created_at). Source errors: MP_ERR_NOT_MEMBER (bad_field
 * "from"), MP_ERR_NOT_FOUND (bad_field "message_ids": unknown, of another
 * conversation, deleted, hidden, or a system message). Target errors as
 * mp_store_chat_send. All or nothing. */
typedef void (*mp_msg_forward_fn)(mp_err_t rc, const mp_msg_forward_out_t *out, void *ud);
mp_err_t mp_store_msg_forward(mp_store_t *st, const mp_msg_forward_in_t *in, mp_msg_forward_fn cb,
                              void *ud) __attribute__((warn_unused_result));

/* ---- reactions ---------------------------------------------------------------- */

typedef struct mp_msg_react_out {
    int64_t count;   /* reactions with this emoji after the change */
    bool changed;    /* false: it was already so */
    int64_t version; /* the message's version after the change */
    uint64_t conversation_id, message_id;
} mp_msg_react_out_t;

/* add: the actor reacts with emoji (validated by the caller); a new distinct
 * emoji beyond max_kinds is MP_ERR_LIMIT_REACHED. !add: removes it. Group:
 * a member of a live group (MP_ERR_DISSOLVED); mutes do not stop reactions. */
typedef void (*mp_msg_react_fn)(mp_err_t rc, const mp_msg_react_out_t *out, void *ud);
mp_err_t mp_store_msg_react(mp_store_t *st, const mp_msg_actor_t *actor, uint64_t conversation_id,
                            uint64_t message_id, const char *emoji, bool add, unsigned max_kinds,
                            int64_t now_ms, mp_msg_react_fn cb, void *ud)
    __attribute__((warn_unused_result));

typedef struct mp_msg_reactor {
    uint64_t user_id;
    int64_t reacted_at;
} mp_msg_reactor_t;

/* Who reacted with emoji, by user id above after_user, at most limit
 * (1..100). Read. */
typedef void (*mp_msg_reactors_fn)(mp_err_t rc, const mp_msg_reactor_t *rows, size_t n,
                                   bool has_more, void *ud);
mp_err_t mp_store_msg_reactors(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                               uint64_t message_id, const char *emoji, uint64_t after_user,
                               unsigned limit, mp_msg_reactors_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* ---- pins -------------------------------------------------------------------- */

/* Pins (pin true) or unpins a message. direct: either member; group: by
 * who_can_pin (MP_ERR_NOT_ALLOWED), live group; world: moderators
 * (MP_ERR_FORBIDDEN). More than MP_CHAT_PINS_MAX: MP_ERR_LIMIT_REACHED.
 * Already so: MP_OK, msg unchanged (version not bumped). */
mp_err_t mp_store_msg_pin(mp_store_t *st, const mp_msg_actor_t *actor, uint64_t conversation_id,
                          uint64_t message_id, bool pin, int64_t now_ms, mp_msg_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* The pinned messages of a conversation, most recently pinned first (read;
 * reactions as user_id sees them). */
typedef void (*mp_msg_rows_fn)(mp_err_t rc, const mp_msg_row_t *msgs, size_t n, void *ud);
mp_err_t mp_store_msg_pins(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                           mp_msg_rows_fn cb, void *ud) __attribute__((warn_unused_result));

/* ---- the user's own conversation settings -------------------------------------- */

typedef enum {
    MP_CONVSET_MUTE = 1 << 0,    /* muted_until */
    MP_CONVSET_PIN = 1 << 1,     /* pinned (pinned_at = now, or 0) */
    MP_CONVSET_ARCHIVE = 1 << 2, /* archived */
    MP_CONVSET_CLEAR = 1 << 3,   /* clear history: cleared_seq = read_seq = last_seq */
    MP_CONVSET_DELETE = 1 << 4,  /* direct only (else MP_ERR_BAD_REQUEST): clear + deleted */
} mp_convset_what_t;

typedef struct mp_convset_in {
    unsigned what; /* mp_convset_what_t bits */
    int64_t muted_until;
    bool pinned, archived;
} mp_convset_in_t;

/* Changes the user's own settings of a conversation they are a member of
 * (the world room has no member rows: MP_ERR_BAD_REQUEST). Pinning an 11th
 * conversation is MP_ERR_LIMIT_REACHED. The callback gets the settings after
 * the change and the version it took (0 when nothing changed). */
typedef void (*mp_convset_fn)(mp_err_t rc, const mp_conv_settings_t *now, int64_t version,
                              void *ud);
mp_err_t mp_store_conv_settings(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                                const mp_convset_in_t *in, int64_t now_ms, mp_convset_fn cb,
                                void *ud) __attribute__((warn_unused_result));

/* ---- search -------------------------------------------------------------------- */

typedef struct mp_search_in {
    uint64_t user_id;
    const char *query;        /* 1..MP_CHAT_SEARCH_QUERY_MAX characters, copied */
    uint64_t conversation_id; /* 0 = every direct and group conversation of the user */
    uint64_t sender_id;       /* 0 = any */
    const char *kind;         /* NULL = any; copied */
    int64_t from_ms, to_ms;   /* created_at in [from, to); 0 = open */
    uint64_t before_id;       /* cursor: only messages with id below (0 = newest) */
    unsigned limit;           /* 1..MP_CHAT_SEARCH_MAX */
} mp_search_in_t;

typedef struct mp_search_hit {
    mp_msg_row_t msg;
    /* The matched text with every match wrapped in MP_SEARCH_MARK_ON /
     * MP_SEARCH_MARK_OFF (bytes that message text can never contain): the
     * caller cuts the snippet and computes offsets from it. */
    const char *marked;
} mp_search_hit_t;

#define MP_SEARCH_MARK_ON '\x02'
#define MP_SEARCH_MARK_OFF '\x03'

/* Newest first. Examines at most MP_CHAT_SEARCH_SCAN candidates per call:
 * has_more with next_before (the cursor to pass as before_id) also when the
 * scan budget ran out before limit hits were found. MP_ERR_NOT_MEMBER when
 * conversation_id is given and the user may not read it. Uses the FTS5
 * trigram index for queries of 3+ characters when it is on, else scans
 * messages newest first (same budget). */
typedef void (*mp_search_fn)(mp_err_t rc, const mp_search_hit_t *hits, size_t n, bool has_more,
                             uint64_t next_before, void *ud);
mp_err_t mp_store_search(mp_store_t *st, const mp_search_in_t *in, mp_search_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* Synchronous, at start-up after mp_store_open and before any other op: keep
 * the FTS index (on) or not. Turning it on after it was off rebuilds it
 * (logged; takes a while on a large database). */
mp_err_t mp_store_search_index(mp_store_t *st, bool on, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
