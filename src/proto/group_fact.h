/* The stored record of a group's system message: facts, not English.
 *
 * A group change stores one message of kind "system" whose body is the JSON
 * text {"system":{...},"names":[...]} (plus "renamed":true for a new title):
 *   - "system" is exactly the object clients receive (docs/protocol.md
 *     "System messages"): "action", "actor_id" and the action's own fields;
 *   - "names" are the display names as they were when it happened, the
 *     actor's first, then those of "user_ids" when the line names them
 *     (null: a user that no longer exists).
 * The human line ("alice added bob") is rendered from it when the message is
 * encoded (chat/sysmsg.h), so the store writes no prose. Rows written before
 * this record carried the line itself in "text"; readers still honour it.
 *
 * Here, below the store, so the store can encode the record inside its write
 * transaction without building JSON itself. */
#ifndef MP_PROTO_GROUP_FACT_H
#define MP_PROTO_GROUP_FACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/group_rules.h"

#define MP_GROUP_FACT_NAMES 4 /* the actor and up to three users */

typedef struct mp_group_fact {
    const char *action; /* "created", "members_added", ... */
    uint64_t actor_id;
    const char *reason;       /* "owner_deleted", or NULL */
    const char *role;         /* role_changed: the new role, or NULL */
    int64_t until;            /* muted: the end of the mute (0 = absent) */
    bool has_users;           /* "user_ids" is present (possibly empty) */
    const uint64_t *user_ids; /* the users concerned, in order */
    size_t n_users;
    const char *title;                   /* created, info_changed, or NULL */
    const char *description;             /* info_changed, or NULL */
    const mp_group_settings_t *settings; /* settings_changed, or NULL */
    const char *text;                    /* announcement_set: the announcement, or NULL */
    bool renamed;                        /* info_changed: the title changed */
    bool has_avatar;                     /* info_changed: "avatar_file_id" is present */
    uint64_t avatar_file_id;             /* the group's avatar after the change (0: null) */
    /* Display names when it happened: [0] the actor, then one per user id
     * the line names; a NULL entry is a user that no longer exists. */
    const char *names[MP_GROUP_FACT_NAMES];
    size_t n_names;
} mp_group_fact_t;

/* The record as compact JSON text (mp_free it); NULL when it cannot be
 * built. */
char *mp_group_fact_encode(const mp_group_fact_t *f);

#endif
