/* Internal to src/store: the part of the invite codes (sqlite_invites.c)
 * that the registration job in sqlite_users.c runs in its own transaction. */
#ifndef MP_STORE_SQLITE_INVITES_INT_H
#define MP_STORE_SQLITE_INVITES_INT_H

#include <stddef.h>
#include <stdint.h>

#include "store/sql.h"

/* Writer only: counts one use of code if it is usable at now_ms (known, not
 * revoked, not expired, uses below max_uses); MP_ERR_INVALID_INVITE when it
 * is not (nothing changed). */
mp_err_t mp_sqlite__invite_use(mp_sql_conn_t *db, const char *code, int64_t now_ms)
    __attribute__((warn_unused_result));

/* Copies the code src (NULL: "") upper-cased into dst (cap bytes, cut to
 * fit): codes are case-insensitive. */
void mp_sqlite__invite_code_norm(char *dst, size_t cap, const char *src);

#endif
