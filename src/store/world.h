/* The world-room and guest part of the store API: the one public "world"
 * conversation, guest accounts (created in one job, swept after inactivity)
 * and the world read cursors.
 *
 * Same contract as store.h: asynchronous ops return MP_OK when queued (the
 * callback runs later on the loop thread) or MP_ERR_UNAVAILABLE when the
 * queue is full (the callback is then NOT called). Rows given to callbacks are
 * borrowed and valid only until the callback returns. */
#ifndef MP_STORE_WORLD_H
#define MP_STORE_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/chat.h"
#include "store/store.h"

#define MP_WORLD_TITLE "World"

/* Synchronous, for start-up only (like mp_store_revoked_since): returns the
 * id of the world conversation in *id, creating it (kind 'world', title
 * "World", no member rows) when the database has none. Idempotent. */
mp_err_t mp_store_world_ensure(mp_store_t *st, int64_t now_ms, uint64_t *id)
    __attribute__((warn_unused_result));

/* Creates a guest: the user row u (guest = 1, no password; last activity =
 * u->created_at), its device d and the device's first refresh-token hash, in
 * ONE write job. MP_ERR_USERNAME_TAKEN if u->username exists. */
mp_err_t mp_store_guest_create(mp_store_t *st, const mp_user_row_t *u, const mp_device_row_t *d,
                               const uint8_t refresh_hash[MP_TOKEN_HASH_LEN], mp_store_done_fn cb,
                               void *ud) __attribute__((warn_unused_result));

/* What a sweep removed: the deleted guests and every device they had (the
 * caller revokes those in memory and closes their sessions). Borrowed. */
typedef struct mp_guest_sweep_out {
    const uint64_t *users;
    size_t n_users;
    const uint64_t *devices;
    size_t n_devices;
    /* System messages of groups that lost their owner (handed on or
     * dissolved, see mp_sqlite__groups_owner_gone): the caller forgets those
     * conversations' cached membership and delivers the messages. */
    const mp_msg_row_t *msgs;
    size_t n_msgs;
} mp_guest_sweep_out_t;

typedef void (*mp_guest_sweep_fn)(mp_err_t rc, const mp_guest_sweep_out_t *out, void *ud);

/* Deletes up to max guests whose last activity is before cutoff_ms, in one
 * write job. A guest's last activity is the latest of its creation, its
 * users.last_active_at (device touches: WebSocket session open, requests,
 * world posts) and its devices' last_seen_at (refresh). Deleting a user
 * removes its devices, refresh tokens and world read cursors (cascade); its
 * messages stay; a live group it owned passes to its longest-standing admin,
 * else member, else is dissolved. out->n_users == max means more may be
 * due. */
mp_err_t mp_store_guest_sweep(mp_store_t *st, int64_t cutoff_ms, unsigned max, mp_guest_sweep_fn cb,
                              void *ud) __attribute__((warn_unused_result));

/* The world read/delivered cursor of user_id, kept in a separate table
 * (world_reads) whose row is created on the first move: the world costs no
 * row for users who never read it. Same rules as mp_store_chat_cursor:
 * forward only, never past last_seq, read also moves delivered. No global
 * version is bumped (the world is not part of sync). MP_ERR_NOT_MEMBER when
 * conversation_id is not the world conversation. */
mp_err_t mp_store_world_cursor(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                               mp_chat_cursor_t which, int64_t seq, mp_chat_cursor_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* ---- world bans (admins moderate the world room) ------------------------------ */

#define MP_WORLD_BAN_REASON_MAX 1024 /* bytes (256 characters of up to 4 bytes) */
#define MP_WORLD_BANS_MAX 200        /* rows per page */

typedef struct mp_world_ban_row {
    uint64_t user_id;
    char username[MP_USERNAME_MAX + 1];
    uint64_t banned_by; /* the admin; 0 = the operator (control socket) */
    char reason[MP_WORLD_BAN_REASON_MAX + 1];
    int64_t created_at;
} mp_world_ban_row_t;

/* created: false when the user was banned already (row is the standing ban,
 * unchanged). */
typedef void (*mp_world_ban_fn)(mp_err_t rc, const mp_world_ban_row_t *row, bool created, void *ud);
typedef void (*mp_world_bans_fn)(mp_err_t rc, const mp_world_ban_row_t *rows, size_t n,
                                 bool has_more, void *ud);

/* Bans user_id from posting (send, forward, react) in the world room; the
 * send and reaction jobs read the ban in their own transaction, so nothing
 * the user sends after this commits gets in. MP_ERR_NOT_FOUND for an unknown
 * user. reason may be NULL (""). */
mp_err_t mp_store_world_ban(mp_store_t *st, uint64_t user_id, uint64_t banned_by,
                            const char *reason, int64_t now_ms, mp_world_ban_fn cb, void *ud)
    __attribute__((warn_unused_result));
/* Lifts the ban; MP_ERR_NOT_FOUND when user_id is not banned. */
mp_err_t mp_store_world_unban(mp_store_t *st, uint64_t user_id, mp_store_done_fn cb, void *ud)
    __attribute__((warn_unused_result));
/* The bans newest first (by created_at, then user id), at most limit
 * (1..MP_WORLD_BANS_MAX), after the cursor (after_at, after_user): the last
 * row's created_at and user_id, or (0, 0) for the first page. Read. */
mp_err_t mp_store_world_bans(mp_store_t *st, int64_t after_at, uint64_t after_user, unsigned limit,
                             mp_world_bans_fn cb, void *ud) __attribute__((warn_unused_result));

#endif
