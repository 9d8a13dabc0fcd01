/* Private to the SQLite backend core (sqlite.c, migrations.c,
 * sqlite_backup.c): the compiled-in migrations and the backup copy.
 * Operation files need only sqlite_job.h. */
#ifndef MP_STORE_SQLITE_INT_H
#define MP_STORE_SQLITE_INT_H

#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>

#include "store/backup.h"
#include "store/store.h"

/* Migration SQL scripts in order; entry i upgrades schema version i to i+1.
 * NULL-terminated. The schema version is stored in PRAGMA user_version. */
extern const char *const mp_sqlite__migrations[];

/* Brings db (a read-write connection) to the binary's schema version in one
 * transaction. Refuses a newer database. 0 on success, else -1 with err set. */
int mp_sqlite__migrate(sqlite3 *db, char *err, size_t errlen);

/* The online copy of src into dst (sqlite_backup.c), run on the backup
 * thread: see mp_store_backup for the checks, the errors and the file
 * protocol. Stops early, with MP_ERR_UNAVAILABLE, once *cancel is set. Fills
 * info (ms even on failure) and, on failure, msg. */
mp_err_t mp_sqlite__backup_copy(const char *src, const char *dst, bool force,
                                const atomic_bool *cancel, mp_store_backup_info_t *info, char *msg,
                                size_t msglen);

#endif
