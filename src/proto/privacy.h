/* The privacy rules (docs/protocol.md "Blocking" and "Privacy settings"):
 * who may write to, add to a group, or see the presence of whom, as pure
 * functions of facts the caller has read. The store calls them inside the
 * write transaction that performs the action (send to a direct
 * conversation, start one, add to a group), so a block or a settings change
 * can never race the action it governs; the presence paths call them with
 * the facts of a read.
 *
 * The model is Telegram's: a user someone blocked is told exactly what a
 * user their "nobody" setting excludes is told, so a block cannot be told
 * apart from a privacy setting. Only the blocker, who knows, hears why. */
#ifndef MP_PROTO_PRIVACY_H
#define MP_PROTO_PRIVACY_H

#include <stdbool.h>

/* One setting, as stored in users.priv_* (migration 7). */
typedef enum {
    MP_PRIV_EVERYONE = 0,
    MP_PRIV_CONTACTS = 1, /* friends: a contacts row in state 3 */
    MP_PRIV_NOBODY = 2,
} mp_privacy_t;

/* "everyone", "contacts" or "nobody" → *out; false for anything else (NULL
 * included). */
bool mp_privacy_parse(const char *s, mp_privacy_t *out);
/* The wire name of a setting; "nobody" for an out-of-range value (the
 * strictest reading of a corrupt row). */
const char *mp_privacy_name(mp_privacy_t p);
/* A stored integer as a setting: out-of-range values read as nobody. */
mp_privacy_t mp_privacy_from_int(long long v);

/* Whether a setting lets someone in: everyone always, contacts only a
 * contact (friend), nobody never. */
bool mp_privacy_allows(mp_privacy_t setting, bool is_contact);

/* What the actor wants to do to the target. */
typedef enum {
    MP_PRIVACY_MESSAGE,  /* send in a direct conversation with the target, or start one */
    MP_PRIVACY_GROUP,    /* add the target to a group (create with members, add members) */
    MP_PRIVACY_PRESENCE, /* see the target's online status and last_seen_at */
} mp_privacy_op_t;

/* The facts of one (actor, target) pair the rules look at. */
typedef struct mp_privacy_facts {
    bool target_blocked_actor; /* the target blocked the actor */
    bool actor_blocked_target; /* the actor blocked the target */
    mp_privacy_t setting;      /* the target's setting for the op */
    bool friends;              /* the two are contacts (state 3) */
} mp_privacy_facts_t;

typedef enum {
    MP_PRIVACY_ALLOWED = 0,
    MP_PRIVACY_REFUSED,     /* the target's block or setting: the same answer for both */
    MP_PRIVACY_YOU_BLOCKED, /* MESSAGE only: the actor blocked the target and may be told */
} mp_privacy_verdict_t;

/* The rule of op for the facts:
 * - MESSAGE: the actor's own block first (YOU_BLOCKED: the blocker knows),
 *   then the target's block or the target's message setting (REFUSED);
 * - GROUP: the target's block or groups setting (REFUSED); the actor's own
 *   block does not stop them adding someone (their choice to share a group);
 * - PRESENCE: the target's block or presence setting (REFUSED: the actor
 *   sees offline and no last seen). */
mp_privacy_verdict_t mp_privacy_rule(mp_privacy_op_t op, const mp_privacy_facts_t *f);

#endif
