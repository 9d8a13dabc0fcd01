/* Internal to src/store: the profile row as every read that returns a user
 * reads it (sqlite_people.c; the block list of sqlite_privacy.c), so that
 * one user looks the same on every route. */
#ifndef MP_STORE_SQLITE_PEOPLE_INT_H
#define MP_STORE_SQLITE_PEOPLE_INT_H

#include "store/people.h"
#include "store/sql.h"

/* The profile columns of users `u` as viewer ?1 sees them, in the order
 * mp_sqlite__profile_read reads them (columns 0..9). */
#define MP_SQLITE_PROFILE_COLS                                                                     \
    "u.id, u.username, u.display_name, u.bio, u.avatar_file_id, u.created_at, u.guest,"            \
    " u.deleted_at, COALESCE((SELECT state FROM contacts"                                          \
    " WHERE user_id = ?1 AND peer_id = u.id), 0),"                                                 \
    " EXISTS (SELECT 1 FROM blocks WHERE user_id = ?1 AND blocked_id = u.id)"
#define MP_SQLITE_PROFILE_NCOLS 10

/* Reads columns 0..9 of s (MP_SQLITE_PROFILE_COLS) into p. */
void mp_sqlite__profile_read(mp_sql_stmt_t *s, mp_profile_row_t *p);

/* An avatar (of a user: sqlite_people.c; of a group: sqlite_groups.c) must
 * be an upload of the one who sets it, of class image: MP_OK, else
 * MP_ERR_NOT_FOUND (no such file, or someone else's), MP_ERR_BAD_REQUEST
 * (not an image), MP_ERR_INTERNAL. On the writer's connection inside the job
 * that sets it, so nothing changes between the check and the write. */
mp_err_t mp_sqlite__avatar_check(mp_sql_conn_t *db, uint64_t file_id, uint64_t owner_id);

#endif
