/* Private to the SQLite backend core (sqlite.c, migrations.c): the
 * compiled-in migrations. Operation files need only sqlite_job.h. */
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

#endif
