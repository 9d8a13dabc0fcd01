/* Private to the store's backend core: the PostgreSQL backend of the SQL
 * seam (sql.h), over libpq. */
#ifndef MP_STORE_SQL_PG_H
#define MP_STORE_SQL_PG_H

#include <stdbool.h>
#include <stddef.h>

#include "store/sql.h"

/* Connects to conninfo (a libpq URL or key=value string). readonly: the
 * session refuses writes (reader connections). NULL on failure, with err
 * set. The connection belongs to the calling thread until mp_sql_close. */
mp_sql_conn_t *mp_sql_pg_open(const char *conninfo, bool readonly, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Brings the database to the binary's schema version (migrations_pg.h) in
 * one transaction that holds a cluster-wide lock, so two nodes starting at
 * once never both migrate. Refuses a newer database. 0, or -1 with err set. */
int mp_sql_pg_migrate(mp_sql_conn_t *c, char *err, size_t errlen);

#endif
