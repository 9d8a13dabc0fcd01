/* Internal to src/store: the small statement helpers every SQLite op file
 * uses. Ids are unsigned 64-bit in C and signed INTEGER in SQLite; these
 * conversions keep the cast in one place. */
#ifndef MP_STORE_SQLITE_UTIL_H
#define MP_STORE_SQLITE_UTIL_H

#include <stdint.h>

#include "store/sqlite_job.h"
#include "util/alloc.h"

static inline void bind_u64(mp_sql_stmt_t *s, int i, uint64_t v)
{
    mp_sql_bind_i64(s, i, (int64_t)v);
}

static inline uint64_t col_u64(mp_sql_stmt_t *s, int i)
{
    return (uint64_t)mp_sql_col_i64(s, i);
}

/* A heap copy of a text column (mp_free); "" for NULL. */
static inline char *col_dup(mp_sql_stmt_t *s, int i)
{
    const char *t = mp_sql_col_text(s, i);
    return mp_strdup(t ? t : "");
}

/* Steps a statement that returns no row. */
__attribute__((warn_unused_result)) static inline mp_err_t step_done(mp_sql_conn_t *db,
                                                                     mp_sql_stmt_t *s)
{
    int rc = mp_sql_step(s);
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

/* Steps a statement that returns at most one row and resets it: the row's
 * first column (an id) in *out, 0 when there is no row. */
__attribute__((warn_unused_result)) static inline mp_err_t step_u64(mp_sql_conn_t *db,
                                                                    mp_sql_stmt_t *s, uint64_t *out)
{
    int rc = mp_sql_step(s);
    *out = rc == MP_SQL_ROW ? col_u64(s, 0) : 0;
    mp_sql_reset(s);
    return rc == MP_SQL_ROW || rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

/* Writer only: bumps and returns the global change version (chat_state),
 * which sync compares cursors against. Every change that sync must carry
 * takes its version from here (sqlite_chat.c). */
mp_err_t mp_sqlite__next_version(mp_sql_conn_t *db, int64_t *out)
    __attribute__((warn_unused_result));

#endif
