/* Private to the SQLite backend core (sqlite.c, sqlite_stmt.c, migrations.c,
 * sqlite_users.c): the compiled-in migrations and connection lifecycle
 * helpers. Operation files normally need only sqlite_job.h. */
#ifndef MP_STORE_SQLITE_INT_H
#define MP_STORE_SQLITE_INT_H

#include <sqlite3.h>
#include <stddef.h>

#include "store/store.h"

/* Migration SQL scripts in order; entry i upgrades schema version i to i+1.
 * NULL-terminated. The schema version is stored in PRAGMA user_version. */
extern const char *const mp_sqlite__migrations[];

/* Brings db (a read-write connection) to the binary's schema version in one
 * transaction. Refuses a newer database. 0 on success, else -1 with err set. */
int mp_sqlite__migrate(sqlite3 *db, char *err, size_t errlen);

/* Resets every cached statement of db that is still running, so that no read
 * transaction or statement journal outlives a job. */
void mp_sqlite__reset_all(sqlite3 *db);
/* Finalizes db's statement cache and closes db. Call on the thread that owns
 * db, after its last job. */
void mp_sqlite__close_conn(sqlite3 *db);

/* DIR/magpie.db of an open store (for short-lived synchronous connections). */
const char *mp_sqlite__path(mp_store_t *st);

#endif
