/* Private to the SQLite backend core (sqlite.c, sql_sqlite.c, migrations.c):
 * how a connection of the SQL seam (sql.h) wraps a sqlite3 handle. */
#ifndef MP_STORE_SQL_SQLITE_H
#define MP_STORE_SQL_SQLITE_H

#include <sqlite3.h>
#include <stdbool.h>

#include "store/sql.h"

/* Wraps an open handle; the connection owns it from now on (mp_sql_close). */
mp_sql_conn_t *mp_sql_sqlite_wrap(sqlite3 *db);
/* The connection's handle, for opening and migrations; NULL for a
 * connection of another backend. */
sqlite3 *mp_sql_sqlite_db(mp_sql_conn_t *c);

#endif
