/* Messaging (1:1 now; groups and the world room next): the send path, sync,
 * history, read/delivered receipts, typing and presence, over WebSocket verbs
 * and HTTP routes. Runs on the core loop; state lives in the store and in a
 * small membership cache. */
#ifndef MP_CHAT_CHAT_H
#define MP_CHAT_CHAT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/verbs.h"
#include "net/gw.h"
#include "net/http.h"
#include "proto/validate.h"
#include "store/chat.h"

typedef struct mp_chat mp_chat_t;

/* Creates the module (ctx->store, ->srv, ->hub and ->cfg must be set; ctx
 * must outlive the module, which is the module state of mp_chat_routes and
 * mp_chat_verbs). Never returns NULL. */
mp_chat_t *mp_chat_new(const mp_module_ctx_t *ctx);
/* Frees the module. Call after the store has delivered its last completion
 * (mp_store_close + running the loop): pending requests hold no pointer into
 * the module by then. NULL is ignored. */
void mp_chat_free(mp_chat_t *chat);

/* The hub's presence hook (mp_hub_presence_fn; ud is the mp_chat_t): a user's
 * first session opened (online) or last one closed. Tells the users who share
 * a conversation with them. */
void mp_chat_presence(void *chat, uint64_t user_id, bool online);

/* HTTP routes, ended by a zeroed entry:
 * POST /v1/conversations/direct, GET /v1/conversations,
 * GET /v1/conversations/{id}/messages, GET /v1/users/{id}/presence,
 * GET /v1/conversations/{id}/messages/{mid}/reactions,
 * GET /v1/conversations/{id}/pins, PATCH and DELETE /v1/conversations/{id},
 * POST /v1/conversations/{id}/clear, GET /v1/search. */
extern const mp_route_t mp_chat_routes[];

/* WebSocket verbs, ended by a zeroed entry (the module state of the table is
 * the mp_chat_t): send, history, sync, read, delivered, typing, react,
 * unreact, reactions, pin, unpin, conversation_update, conversation_clear,
 * conversation_delete, search. Handlers
 * answer exactly once with mp_gw_reply / mp_gw_error. See docs/protocol.md,
 * "Messaging". */
extern const mp_verb_t mp_chat_verbs[];
extern const mp_verb_raw_t mp_chat_raw_verbs[];

/* The verbs of mp_chat_verbs that change stored messages: edit, delete (edit.c) and forward
 * (forward.c). */
extern const mp_field_t mp_chat_edit_fields[];
extern const mp_field_t mp_chat_delete_fields[];
extern const mp_field_t mp_chat_forward_fields[];
void mp_chat_verb_edit(mp_cmd_t *cmd);
void mp_chat_verb_delete(mp_cmd_t *cmd);
void mp_chat_verb_forward(mp_cmd_t *cmd);

/* The fields and handlers of mp_chat_verbs. */
extern const mp_field_t mp_chat_send_fields[];
extern const mp_field_t mp_chat_history_fields[];
extern const mp_field_t mp_chat_sync_fields[];
extern const mp_field_t mp_chat_cursor_fields[]; /* read, delivered */
extern const mp_field_t mp_chat_typing_fields[];

void mp_chat_verb_send(mp_cmd_t *cmd);
bool mp_chat_verb_send_raw(mp_cmd_t *cmd, const char *m, size_t n);
void mp_chat_verb_history(mp_cmd_t *cmd);
void mp_chat_verb_sync(mp_cmd_t *cmd);
void mp_chat_verb_read(mp_cmd_t *cmd);
void mp_chat_verb_delivered(mp_cmd_t *cmd);
void mp_chat_verb_typing(mp_cmd_t *cmd);

/* Reactions, pins, the user's own conversation settings and search. */
extern const mp_field_t mp_chat_react_fields[]; /* react, unreact */
extern const mp_field_t mp_chat_reactions_fields[];
extern const mp_field_t mp_chat_pin_fields[]; /* pin, unpin */
extern const mp_field_t mp_chat_convset_fields[];
extern const mp_field_t mp_chat_conv_fields[]; /* conversation_clear, conversation_delete */
extern const mp_field_t mp_chat_search_fields[];

void mp_chat_verb_react(mp_cmd_t *cmd);
void mp_chat_verb_unreact(mp_cmd_t *cmd);
void mp_chat_verb_reactions(mp_cmd_t *cmd);
void mp_chat_verb_pin(mp_cmd_t *cmd);
void mp_chat_verb_unpin(mp_cmd_t *cmd);
void mp_chat_verb_conv_update(mp_cmd_t *cmd);
void mp_chat_verb_conv_clear(mp_cmd_t *cmd);
void mp_chat_verb_conv_delete(mp_cmd_t *cmd);
void mp_chat_verb_search(mp_cmd_t *cmd);

/* ---- world moderation (the admin module) -------------------------------------- */

/* rc MP_OK with the deleted message's sender, or the store's error
 * (MP_ERR_NOT_FOUND: no such message in the world room). */
typedef void (*mp_chat_deleted_fn)(mp_err_t rc, uint64_t sender_id, void *ud);
/* Deletes message_id of the world room for everyone with a moderator's right
 * (the caller has checked that actor_id, 0 = the operator, may), exactly like
 * the `delete` verb: the content is erased in the same write and every online
 * session gets {"event":"message_deleted",...,"for":"everyone"}. Deleting a
 * deleted message again is MP_OK. Returns MP_OK when queued (cb runs later),
 * else the error (cb not called). */
mp_err_t mp_chat_world_delete(mp_chat_t *chat, uint64_t message_id, uint64_t actor_id,
                              mp_chat_deleted_fn cb, void *ud) __attribute__((warn_unused_result));

/* ---- hooks for the groups module (deliver.c) -------------------------------- */

/* Delivers stored messages of ONE conversation (n >= 1, in seq order) as
 * {"event":"message"} to every online session of its members, and of the
 * `extra` users who are no longer members (a kicked or leaving user). Each
 * message is encoded once. Rows are copied; may complete asynchronously. */
void mp_chat_deliver(mp_chat_t *chat, const mp_msg_row_t *msgs, size_t n, const uint64_t *extra,
                     size_t n_extra);
/* Sends f (not consumed: the callee takes its own reference) to every online
 * session of the members of conv_id. */
void mp_chat_push_conv(mp_chat_t *chat, uint64_t conv_id, mp_frame_t *f);
/* The membership, roles, mutes or settings of conv_id changed in the store:
 * forget the cached entry (and do not cache reads already in flight). */
void mp_chat_conv_changed(mp_chat_t *chat, uint64_t conv_id);

#endif
