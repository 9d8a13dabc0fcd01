/* Internal to src/store: what the two files of the SQLite groups backend
 * (sqlite_groups.c: the write op; sqlite_groups_read.c: the reads) share. */
#ifndef MP_STORE_SQLITE_GROUPS_INT_H
#define MP_STORE_SQLITE_GROUPS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "store/groups.h"
#include "store/sql.h"

/* A group row and the strings it owns. */
typedef struct mp_sqlite_grow {
    mp_group_row_t row;
    char *title, *desc, *ann;
} mp_sqlite_grow_t;

/* Frees the strings and zeroes g. */
void mp_sqlite__grow_free(mp_sqlite_grow_t *g);

/* Loads group conv as user sees it into g (its previous strings freed).
 * MP_ERR_NOT_MEMBER when conv is no group, or (need_member) user is not a
 * member of it. */
mp_err_t mp_sqlite__group_load(mp_sql_conn_t *db, uint64_t conv, uint64_t user, bool need_member,
                               mp_sqlite_grow_t *g) __attribute__((warn_unused_result));

/* The role stored as text ("owner", "admin", anything else = member). */
mp_group_role_t mp_sqlite__group_role(const char *s);

/* System messages written by mp_sqlite__groups_owner_gone; the vector owns
 * the rows' strings. */
typedef struct mp_sqlite_msgs {
    mp_msg_row_t *v;
    size_t n;
} mp_sqlite_msgs_t;

/* Frees the rows' strings and the array, and zeroes m. */
void mp_sqlite__msgs_free(mp_sqlite_msgs_t *m);

/* Called in the write transaction right AFTER user's row was deleted (its
 * member rows are gone with it): no live group may stay without an owner.
 * Every live group whose owner_id is user passes to its longest-standing
 * admin, else its longest-standing member (guests are never chosen), else is
 * dissolved; each change stores its system message (actor = the deleted
 * user, named `name`), appended to *out. */
mp_err_t mp_sqlite__groups_owner_gone(mp_sql_conn_t *db, uint64_t user, const char *name,
                                      int64_t now_ms, mp_sqlite_msgs_t *out)
    __attribute__((warn_unused_result));

/* Called in the write transaction that deletes user's account (its row
 * stays, see store/deletion.h): user leaves every group. A live group it
 * does not own gets the "member_left" system message of a member's own
 * leave; a group it owns passes on as in mp_sqlite__groups_owner_gone (named
 * `name`); a dissolved group's membership just goes. The system messages are
 * appended to *out. */
mp_err_t mp_sqlite__groups_user_gone(mp_sql_conn_t *db, uint64_t user, const char *name,
                                     int64_t now_ms, mp_sqlite_msgs_t *out)
    __attribute__((warn_unused_result));

#endif
