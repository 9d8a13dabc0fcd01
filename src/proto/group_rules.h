/* The rules of groups (docs/protocol.md "Roles and settings"): who may do
 * what, as pure functions of facts the caller has read. No storage, no JSON,
 * no I/O, so they can be tested row by row and called from every place that
 * has to decide: the store calls them inside the write transaction that
 * applies a change (that is what makes a check race-free), and only there:
 * a send refused before the store could not be answered as the retry of a
 * message stored before the rule changed.
 *
 * They live in proto/ rather than groups/ because the store (below groups in
 * the layers of docs/architecture.md) must call them, and they are protocol
 * rules: a function table handed from groups to the store at open time would
 * buy nothing but an indirection. */
#ifndef MP_PROTO_GROUP_RULES_H
#define MP_PROTO_GROUP_RULES_H

#include <stdbool.h>

#include "proto/error.h"

/* Ordered: a larger role may do all a smaller one may. */
typedef enum {
    MP_GROUP_MEMBER = 0,
    MP_GROUP_ADMIN = 1,
    MP_GROUP_OWNER = 2,
} mp_group_role_t;

/* Each setting: false = "all", true = "admins" (owner or admin). */
typedef struct mp_group_settings {
    bool post_admins, invite_admins, edit_admins;
    bool pin_admins; /* who_can_pin */
} mp_group_settings_t;

/* What the actor wants to do. */
typedef enum {
    MP_GRULE_READ,          /* get the group, list members (members) */
    MP_GRULE_READ_ADMIN,    /* list bans, list invite links (admins) */
    MP_GRULE_WRITE,         /* any change: a member of a live group (the base of the rest) */
    MP_GRULE_POST,          /* send (who_can_post, mute) */
    MP_GRULE_EDIT_INFO,     /* change title / description (who_can_edit_info) */
    MP_GRULE_EDIT_SETTINGS, /* change settings (admins) */
    MP_GRULE_INVITE,        /* add members, create an invite link (who_can_invite) */
    MP_GRULE_REVOKE_INVITE, /* revoke an invite link (admins) */
    MP_GRULE_KICK,          /* remove another member (admins, hierarchy) */
    MP_GRULE_LEAVE,         /* remove oneself (anyone but the owner) */
    MP_GRULE_BAN,           /* ban a user, member or not (admins, hierarchy) */
    MP_GRULE_UNBAN,         /* (admins) */
    MP_GRULE_MUTE,          /* mute or unmute a member (admins, hierarchy) */
    MP_GRULE_ANNOUNCE,      /* set or clear the announcement (admins) */
    MP_GRULE_ROLE,          /* make a member admin or member (owner) */
    MP_GRULE_TRANSFER,      /* hand the group over (owner) */
    MP_GRULE_DISSOLVE,      /* (owner) */
    MP_GRULE_PIN,           /* pin or unpin a message (who_can_pin) */
    MP_GRULE_DELETE_ANY,    /* delete another member's message for everyone (admins, hierarchy) */
} mp_group_rule_op_t;

/* The facts a rule looks at. Fields an op does not use are ignored. */
typedef struct mp_group_facts {
    bool member;                  /* the actor is a member of the group */
    bool dissolved;               /* the group is dissolved */
    mp_group_role_t role;         /* the actor's, when member */
    mp_group_settings_t settings; /* the group's */
    bool muted;                   /* POST: the actor's mute has not passed */
    /* Ops on a target user (KICK, BAN, MUTE, ROLE, TRANSFER). */
    bool self;                   /* the target is the actor */
    bool target_exists;          /* BAN: the target is a known user */
    bool target_guest;           /* TRANSFER: the target is a guest */
    bool target_member;          /* the target is a member */
    mp_group_role_t target_role; /* when target_member */
    mp_group_role_t new_role;    /* ROLE: the role asked for */
} mp_group_facts_t;

/* MP_OK when the actor may do op, else why not, in the documented order:
 * membership (MP_ERR_NOT_MEMBER), dissolution (MP_ERR_DISSOLVED, writes
 * only), role and settings (MP_ERR_NOT_ALLOWED), mute (MP_ERR_MUTED), then
 * the op's own rules about its target (MP_ERR_NOT_FOUND for a target that is
 * not a member, MP_ERR_NOT_ALLOWED for the hierarchy, MP_ERR_CONFLICT for
 * the owner leaving or being given a role, ...). */
mp_err_t mp_group_rule(mp_group_rule_op_t op, const mp_group_facts_t *f);

/* Hierarchy: whether actor may kick, ban or mute someone of role target.
 * The owner may act on anyone else; an admin on members; a member on
 * nobody. */
bool mp_group_rule_outranks(mp_group_role_t actor, mp_group_role_t target);

#endif
