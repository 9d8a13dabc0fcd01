/* Internals shared by the files of the groups module: the request prologue,
 * the runner of store ops (answer + cache invalidation + fan-out of system
 * messages) and the JSON shapes. */
#ifndef MP_GROUPS_GROUPS_INT_H
#define MP_GROUPS_GROUPS_INT_H

#include <jansson.h>

#include "chat/chat.h"
#include "core/module.h"
#include "groups/groups.h"
#include "proto/validate.h"
#include "store/groups.h"

struct mp_groups {
    const mp_module_ctx_t *ctx;
    /* Every change goes through chat: its membership cache is dropped and
     * the system messages are delivered by it. */
    mp_chat_t *chat;
};

/* What a successful op answers. */
typedef enum {
    MP_GROUPS_ANS_GROUP,        /* 200 group */
    MP_GROUPS_ANS_GROUP_NEW,    /* 201 group */
    MP_GROUPS_ANS_NONE,         /* 204 */
    MP_GROUPS_ANS_ADDED,        /* 200 {"added":[ids]} */
    MP_GROUPS_ANS_ANNOUNCEMENT, /* 200 {"announcement":{...}} */
    MP_GROUPS_ANS_INVITE,       /* 201 invite */
} mp_groups_ans_t;

/* The module of a request's route. */
mp_groups_t *mp_groups__of(mp_http_req_t *req);

/* Common start of every group route: refuses guests (guest_forbidden), and
 * parses path parameter {id} into *conv when conv != NULL (anything but an
 * id is answered like an unknown group: not_member). When fields != NULL the
 * JSON body is validated against them. Returns false when it has answered. */
bool mp_groups__begin(mp_http_req_t *req, uint64_t *conv, const mp_field_t *fields);

/* Parses path parameter `name` as a user id; answers 404 not_found itself
 * and returns false when it is not one. */
bool mp_groups__param_user(mp_http_req_t *req, const char *name, uint64_t *out);

/* Queues `in` (actor and now filled in here) and answers with `ans` when
 * done; then drops the conversation from the membership cache, delivers the
 * system messages to the members (and to a removed user) and, for
 * announcement changes, sends the announcement event. */
void mp_groups__run(mp_http_req_t *req, mp_group_op_in_t *in, mp_groups_ans_t ans);

/* ---- JSON (json.c) ----------------------------------------------------------- */

json_t *mp_groups__id_json(uint64_t id);
json_t *mp_groups__group_json(const mp_group_row_t *g);
/* null, or {"text","set_by","set_at"}. */
json_t *mp_groups__announcement_json(const mp_group_row_t *g);
json_t *mp_groups__invite_json(const mp_group_invite_row_t *inv);
/* Parses a partial settings object into *mask / *out. NULL or JSON null is
 * "none given". Returns false (with msg) on an unknown value. */
bool mp_groups__settings_parse(const json_t *obj, unsigned *mask, mp_group_settings_t *out,
                               char *msg, size_t len);
/* Parses an array of id strings into a new array (*out, mp_free'd by the
 * caller). Returns false (with msg) when an element is not an id. */
bool mp_groups__ids_parse(const json_t *arr, const char *field, uint64_t **out, size_t *n,
                          char *msg, size_t len);

/* ---- HTTP handlers ----------------------------------------------------------- */

void mp_groups__route_create(mp_http_req_t *req);
void mp_groups__route_get(mp_http_req_t *req);
void mp_groups__route_patch(mp_http_req_t *req);
void mp_groups__route_dissolve(mp_http_req_t *req);
void mp_groups__route_announce(mp_http_req_t *req);
void mp_groups__route_unannounce(mp_http_req_t *req);

void mp_groups__route_members(mp_http_req_t *req);
void mp_groups__route_add(mp_http_req_t *req);
void mp_groups__route_kick(mp_http_req_t *req);
void mp_groups__route_leave(mp_http_req_t *req);
void mp_groups__route_role(mp_http_req_t *req);
void mp_groups__route_transfer(mp_http_req_t *req);
void mp_groups__route_mute(mp_http_req_t *req);
void mp_groups__route_unmute(mp_http_req_t *req);

void mp_groups__route_ban(mp_http_req_t *req);
void mp_groups__route_unban(mp_http_req_t *req);
void mp_groups__route_bans(mp_http_req_t *req);

void mp_groups__route_invite(mp_http_req_t *req);
void mp_groups__route_invites(mp_http_req_t *req);
void mp_groups__route_revoke(mp_http_req_t *req);
void mp_groups__route_join(mp_http_req_t *req);

/* Members-list cursor "<joined_at>.<user_id>". */
void mp_groups__cursor_format(int64_t joined_at, uint64_t user, char *out, size_t len);
bool mp_groups__cursor_parse(const char *s, int64_t *joined_at, uint64_t *user);

#endif
