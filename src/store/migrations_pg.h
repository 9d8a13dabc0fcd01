/* Private to the store's backend core: the PostgreSQL schema, as versioned
 * migrations numbered exactly like the SQLite ones (migrations.c). */
#ifndef MP_STORE_MIGRATIONS_PG_H
#define MP_STORE_MIGRATIONS_PG_H

/* Entry i upgrades schema version i to i + 1, the same change as entry i of
 * mp_sqlite__migrations in PostgreSQL's dialect; NULL-terminated, and exactly
 * as long as the SQLite list (a unit test checks). */
extern const char *const mp_pg__migrations[];

#endif
