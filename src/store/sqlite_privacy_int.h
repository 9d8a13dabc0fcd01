/* Internal to src/store: the privacy facts the write jobs of other files
 * (sqlite_chat.c: send and direct conversations, sqlite_msgs.c: forward,
 * sqlite_groups.c: create and add) read inside their own transaction before
 * they call the rule of proto/privacy.h (docs/protocol.md "Blocking"). */
#ifndef MP_STORE_SQLITE_PRIVACY_INT_H
#define MP_STORE_SQLITE_PRIVACY_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/privacy.h"
#include "store/sql.h"

/* The facts of (actor, target) for op, read on db. MP_ERR_NOT_FOUND when
 * target is no user. */
mp_err_t mp_sqlite__privacy_facts(mp_sql_conn_t *db, uint64_t actor, uint64_t target,
                                  mp_privacy_op_t op, mp_privacy_facts_t *f)
    __attribute__((warn_unused_result));

/* Whether actor may do op to target: MP_OK, or MP_ERR_PRIVACY with
 * *you_blocked (when not NULL) true when the refusal is the actor's own
 * block. Other errors: as mp_sqlite__privacy_facts. */
mp_err_t mp_sqlite__privacy_check(mp_sql_conn_t *db, uint64_t actor, uint64_t target,
                                  mp_privacy_op_t op, bool *you_blocked)
    __attribute__((warn_unused_result));

/* The send path's check of a direct conversation, ONE prepared point lookup
 * (the peer's member row, their message setting, blocks both ways, and the
 * contacts row only when the setting is "contacts"): *deny is MP_OK or
 * MP_ERR_PRIVACY (*you_blocked as above). sender must be a member of the
 * direct conversation conv. */
mp_err_t mp_sqlite__direct_privacy(mp_sql_conn_t *db, uint64_t sender, uint64_t conv,
                                   mp_err_t *deny, bool *you_blocked)
    __attribute__((warn_unused_result));

#endif
