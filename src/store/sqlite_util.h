/* Internal to src/store: the small statement helpers every SQLite op file
 * uses. Ids are unsigned 64-bit in C and signed INTEGER in SQLite; these
 * conversions keep the cast in one place. */
#ifndef MP_STORE_SQLITE_UTIL_H
#define MP_STORE_SQLITE_UTIL_H

#include <sqlite3.h>
#include <stdint.h>

#include "store/sqlite_job.h"
#include "util/alloc.h"

static inline void bind_u64(sqlite3_stmt *s, int i, uint64_t v)
{
    sqlite3_bind_int64(s, i, (sqlite3_int64)v);
}

static inline uint64_t col_u64(sqlite3_stmt *s, int i)
{
    return (uint64_t)sqlite3_column_int64(s, i);
}

/* A heap copy of a text column (mp_free); "" for NULL. */
static inline char *col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return mp_strdup(t ? (const char *)t : "");
}

/* Steps a statement that returns no row. */
static inline mp_err_t step_done(sqlite3 *db, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    return rc == SQLITE_DONE ? MP_OK : mp_sqlite__err(db, rc);
}

/* Writer only: bumps and returns the global change version (chat_state),
 * which sync compares cursors against. Every change that sync must carry
 * takes its version from here (sqlite_chat.c). */
mp_err_t mp_sqlite__next_version(sqlite3 *db, int64_t *out);

#endif
