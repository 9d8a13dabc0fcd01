/* The groups part of the store API: group state, membership changes, bans,
 * mutes, announcements and invite links.
 *
 * Same contract as store.h / store/chat.h: every op returns MP_OK when queued
 * (its callback runs later on the loop thread) or MP_ERR_UNAVAILABLE when the
 * queue is full (the callback is then NOT called). Rows given to callbacks are
 * borrowed and valid only until the callback returns.
 *
 * Every rule (membership, role, ban, limit, dissolution) is checked inside the
 * same write transaction that applies the change, so two racing requests can
 * never both pass a check that only one of them may pass. Each change ALSO
 * inserts its system message(s) into the conversation (kind "system", next
 * seq, new global version), so sync carries it to offline members.
 *
 * A system message's body records facts, not prose: the JSON text of
 * proto/group_fact.h, {"system":{"action","actor_id",...},"names":[...]};
 * src/chat renders its line (chat/sysmsg.h) and sends "text" + "system".
 * The rules themselves are proto/group_rules.h. */
#ifndef MP_STORE_GROUPS_H
#define MP_STORE_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/group_rules.h"
#include "store/chat.h"
#include "store/store.h"

#define MP_GROUP_TITLE_MAX 128     /* characters */
#define MP_GROUP_DESC_MAX 1024     /* characters */
#define MP_GROUP_ANNOUNCE_MAX 2048 /* characters */
#define MP_GROUP_USERS_MAX 100     /* user ids per create / add request */
#define MP_GROUP_PAGE_MAX 200      /* members per page */
#define MP_GROUP_INVITE_USES_MAX 1000000
#define MP_GROUP_TOKEN_MAX 64 /* bytes of an invite token */

/* mp_group_role_t, mp_group_settings_t: proto/group_rules.h. */

/* "member", "admin", "owner". */
const char *mp_group_role_name(mp_group_role_t role);
/* Parses one of the names above; false otherwise. */
bool mp_group_role_parse(const char *s, mp_group_role_t *out);

/* Which settings a partial update gives. */
enum {
    MP_GROUP_SET_POST = 1 << 0,
    MP_GROUP_SET_INVITE = 1 << 1,
    MP_GROUP_SET_EDIT = 1 << 2,
    MP_GROUP_SET_PIN = 1 << 3,
};

/* One group as seen by one user (the caller). Strings borrowed. */
typedef struct mp_group_row {
    uint64_t id, owner_id;
    const char *title, *description;
    mp_group_settings_t settings;
    int64_t created_at;
    int64_t dissolved_at; /* 0 = alive */
    int64_t member_count;
    mp_group_role_t my_role;
    int64_t announcement_at;  /* 0 = no announcement */
    const char *announcement; /* "" when none */
    uint64_t announcement_by;
    uint64_t avatar_file_id; /* 0 = none */
} mp_group_row_t;

/* One invite link. */
typedef struct mp_group_invite_row {
    const char *token;
    uint64_t conversation_id, created_by;
    int64_t created_at;
    int64_t expires_at; /* 0 = never */
    int64_t max_uses;   /* 0 = unlimited */
    int64_t uses;
    bool revoked;
} mp_group_invite_row_t;

/* ---- the membership cache's view of a conversation (read) ----------------- */

/* Kind, members sorted by user id, and (groups) dissolution: what the loop
 * needs to route a send and fan it out. World rooms have no members. Roles,
 * mutes and the group's settings are not here: the store checks them in
 * each write. */
typedef struct mp_group_conv_row {
    mp_conv_kind_t kind;
    bool dissolved;
    const uint64_t *members; /* ascending */
    size_t n;
} mp_group_conv_row_t;

/* MP_ERR_NOT_FOUND when the conversation does not exist. */
typedef void (*mp_group_conv_fn)(mp_err_t rc, const mp_group_conv_row_t *conv, void *ud);
mp_err_t mp_store_group_conv(mp_store_t *st, uint64_t conversation_id, mp_group_conv_fn cb,
                             void *ud) __attribute__((warn_unused_result));

/* ---- write ops ------------------------------------------------------------ */

typedef enum {
    MP_GOP_CREATE,     /* title, description?, settings?, user_ids (initial members) */
    MP_GOP_PATCH,      /* title?, description?, avatar?, settings? (info = title, description
                          and avatar: one message; settings: another) */
    MP_GOP_ADD,        /* user_ids */
    MP_GOP_REMOVE,     /* target (== actor: leave) */
    MP_GOP_ROLE,       /* target, role */
    MP_GOP_TRANSFER,   /* target */
    MP_GOP_BAN,        /* target */
    MP_GOP_UNBAN,      /* target */
    MP_GOP_MUTE,       /* target, until */
    MP_GOP_UNMUTE,     /* target */
    MP_GOP_DISSOLVE,   /* - */
    MP_GOP_ANNOUNCE,   /* text */
    MP_GOP_UNANNOUNCE, /* - */
    MP_GOP_INVITE,     /* token, until (expires_at, 0 = never), max_uses (0 = unlimited) */
    MP_GOP_REVOKE,     /* token */
    MP_GOP_JOIN,       /* token (conversation_id is ignored) */
} mp_group_op_t;

/* Strings and arrays are copied by mp_store_group_op. NULL strings = "not
 * given". */
typedef struct mp_group_op_in {
    mp_group_op_t op;
    uint64_t actor_id;
    uint64_t conversation_id; /* ignored by CREATE and JOIN */
    uint64_t target_id;
    const uint64_t *user_ids;
    size_t n_users;
    const char *title, *description, *text, *token;
    bool set_avatar;         /* PATCH: avatar_file_id is given */
    uint64_t avatar_file_id; /* 0 clears; else the actor's own upload of an image */
    unsigned settings_mask;  /* MP_GROUP_SET_* given in settings */
    mp_group_settings_t settings;
    mp_group_role_t role;
    int64_t until;
    int64_t max_uses;
    unsigned max_members; /* config group_max_members */
    int64_t now_ms;
} mp_group_op_in_t;

typedef struct mp_group_op_out {
    uint64_t conversation_id;
    mp_group_row_t group;     /* the group after the change, as the actor sees it */
    const mp_msg_row_t *msgs; /* system messages written (0..2), in seq order */
    size_t n_msgs;
    const uint64_t *added; /* ADD / CREATE / JOIN: users who became members */
    size_t n_added;
    uint64_t removed_id;          /* REMOVE / BAN: a user who lost membership (0 = none) */
    mp_group_invite_row_t invite; /* INVITE */
    bool already_member;          /* JOIN: nothing was written */
    uint64_t refused_id; /* MP_ERR_PRIVACY (CREATE/ADD): the user who may not be added (the only
                            field set then) */
} mp_group_op_out_t;

/* Runs one group change as ONE write job. Errors, in the order checked:
 * - MP_ERR_NOT_MEMBER: unknown conversation, not a group, or the actor is
 *   not a member (JOIN: never);
 * - MP_ERR_NOT_FOUND: JOIN/REVOKE: unknown token; targets: the target is not
 *   a member (UNBAN: not banned; BAN: no such user); ADD/CREATE: an unknown
 *   user id; PATCH: avatar_file_id names no file the actor uploaded;
 * - MP_ERR_BAD_REQUEST: PATCH: avatar_file_id names a file that is not an
 *   image (MUTE: an end in the past);
 * - MP_ERR_DISSOLVED: the group was dissolved (every op);
 * - MP_ERR_NOT_ALLOWED: the actor's role does not permit it;
 * - MP_ERR_CONFLICT: the owner leaves, the owner's role is changed,
 *   transfer to oneself;
 * - MP_ERR_GUEST_FORBIDDEN: CREATE/ADD naming a guest, JOIN by a guest,
 *   TRANSFER to a guest (guests may only use the world room);
 * - MP_ERR_BANNED: ADD/JOIN of a banned user;
 * - MP_ERR_PRIVACY: CREATE/ADD naming a user (not yet a member) who blocked
 *   the actor or whose groups setting excludes the actor (proto/privacy.h);
 *   the callback gets out with refused_id, the first such user; nothing is
 *   written (all or nothing, as for the errors above);
 * - MP_ERR_GROUP_FULL: max_members would be exceeded;
 * - MP_ERR_INVITE_REVOKED / _EXPIRED / _EXHAUSTED: JOIN;
 * - MP_ERR_INTERNAL. */
typedef void (*mp_group_op_fn)(mp_err_t rc, const mp_group_op_out_t *out, void *ud);
mp_err_t mp_store_group_op(mp_store_t *st, const mp_group_op_in_t *in, mp_group_op_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* ---- reads ---------------------------------------------------------------- */

/* The group as user_id sees it. MP_ERR_NOT_MEMBER as above. */
typedef void (*mp_group_fn)(mp_err_t rc, const mp_group_row_t *g, void *ud);
mp_err_t mp_store_group_get(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                            mp_group_fn cb, void *ud) __attribute__((warn_unused_result));

typedef struct mp_group_member_row {
    uint64_t user_id;
    const char *username, *display_name;
    mp_group_role_t role;
    int64_t joined_at;
    int64_t muted_until; /* 0 = not muted (also when it has passed) */
} mp_group_member_row_t;

/* Members ordered by (joined_at, user_id), starting after (after_joined,
 * after_user) — (-1, 0) for the first page; limit 1..MP_GROUP_PAGE_MAX.
 * MP_ERR_NOT_MEMBER as above. */
typedef void (*mp_group_members_fn)(mp_err_t rc, const mp_group_member_row_t *rows, size_t n,
                                    bool has_more, void *ud);
mp_err_t mp_store_group_members(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                                int64_t after_joined, uint64_t after_user, unsigned limit,
                                int64_t now_ms, mp_group_members_fn cb, void *ud)
    __attribute__((warn_unused_result));

typedef struct mp_group_ban_row {
    uint64_t user_id, banned_by;
    int64_t banned_at;
} mp_group_ban_row_t;

/* Bans (admins only: MP_ERR_NOT_ALLOWED otherwise), oldest first. */
typedef void (*mp_group_bans_fn)(mp_err_t rc, const mp_group_ban_row_t *rows, size_t n, void *ud);
mp_err_t mp_store_group_bans(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                             mp_group_bans_fn cb, void *ud) __attribute__((warn_unused_result));

/* Invite links, revoked ones included (admins only), oldest first. */
typedef void (*mp_group_invites_fn)(mp_err_t rc, const mp_group_invite_row_t *rows, size_t n,
                                    void *ud);
mp_err_t mp_store_group_invites(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                                mp_group_invites_fn cb, void *ud)
    __attribute__((warn_unused_result));

#endif
