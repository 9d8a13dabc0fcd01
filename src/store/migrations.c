/* Versioned schema migrations compiled into the binary, and the code that
 * applies them at start. Never edit a shipped migration: append a new one. */
#include <stdio.h>

#include "store/migration_chat.h"
#include "store/migration_dedup.h"
#include "store/migration_groups.h"
#include "store/migration_media.h"
#include "store/migration_messages.h"
#include "store/migration_people.h"
#include "store/migration_search.h"
#include "store/migration_sync.h"
#include "store/migration_world.h"
#include "store/sqlite_int.h"
#include "store/store.h"
#include "util/log.h"

/* 1: accounts. Ids are time-ordered 64-bit ids chosen by the server (they fit
 * a signed INTEGER: the top bit is never set). Times are ms since the epoch;
 * 0 means "never" for last_seen_at and revoked_at. Dead refresh-token hashes
 * are kept while their device lives so that a replayed one is recognised
 * (theft detection); revoking a device deletes them. */
#define MIGRATION_1                                                                                \
    "CREATE TABLE users("                                                                          \
    " id INTEGER PRIMARY KEY,"                                                                     \
    " username TEXT NOT NULL UNIQUE COLLATE NOCASE,"                                               \
    " display_name TEXT NOT NULL,"                                                                 \
    " password_hash TEXT NOT NULL DEFAULT '',"                                                     \
    " guest INTEGER NOT NULL DEFAULT 0,"                                                           \
    " created_at INTEGER NOT NULL,"                                                                \
    " last_active_at INTEGER);"                                                                    \
    "CREATE TABLE devices("                                                                        \
    " id INTEGER PRIMARY KEY,"                                                                     \
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                            \
    " name TEXT NOT NULL DEFAULT '',"                                                              \
    " created_at INTEGER NOT NULL,"                                                                \
    " last_seen_at INTEGER NOT NULL DEFAULT 0,"                                                    \
    " revoked_at INTEGER NOT NULL DEFAULT 0);"                                                     \
    "CREATE INDEX devices_user ON devices(user_id, created_at);"                                   \
    "CREATE INDEX devices_revoked ON devices(revoked_at) WHERE revoked_at > 0;"                    \
    "CREATE TABLE refresh_tokens("                                                                 \
    " hash BLOB PRIMARY KEY,"                                                                      \
    " device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"                        \
    " live INTEGER NOT NULL,"                                                                      \
    " created_at INTEGER NOT NULL) WITHOUT ROWID;"                                                 \
    "CREATE INDEX refresh_tokens_device ON refresh_tokens(device_id);"

const char *const mp_sqlite__migrations[] = {MIGRATION_1,
                                             MP_MIGRATION_CHAT,
                                             MP_MIGRATION_GROUPS,
                                             MP_MIGRATION_WORLD,
                                             MP_MIGRATION_DEDUP,
                                             MP_MIGRATION_MESSAGES,
                                             MP_MIGRATION_PEOPLE,
                                             MP_MIGRATION_MEDIA,
                                             MP_MIGRATION_DEDUP_ORDER,
                                             MP_MIGRATION_SYNC,
                                             MP_MIGRATION_SEARCH,
                                             MP_MIGRATION_CONV_KEY,
                                             NULL};

int mp_store_schema_version(void)
{
    int n = 0;
    while (mp_sqlite__migrations[n] != NULL)
        n++;
    return n;
}

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

static int read_version(sqlite3 *db, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    } else {
        rc = SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : -1;
}

/* The version check happens inside the write transaction, so two processes
 * starting on one directory cannot both apply the same migration. */
int mp_sqlite__migrate(sqlite3 *db, char *err, size_t errlen)
{
    const int want = mp_store_schema_version();
    int have = 0;
    char sql[64];

    if (exec(db, "BEGIN IMMEDIATE", err, errlen) != 0)
        return -1;
    if (read_version(db, &have) != 0) {
        snprintf(err, errlen, "cannot read schema version: %s", sqlite3_errmsg(db));
        goto fail;
    }
    if (have > want) {
        snprintf(err, errlen,
                 "database schema version %d is newer than this magpie (%d); "
                 "upgrade magpie",
                 have, want);
        goto fail;
    }
    for (int v = have; v < want; v++) {
        char e[256];
        if (exec(db, mp_sqlite__migrations[v], e, sizeof e) != 0) {
            snprintf(err, errlen, "migration %d failed: %s", v + 1, e);
            goto fail;
        }
    }
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", want);
    if (exec(db, sql, err, errlen) != 0 || exec(db, "COMMIT", err, errlen) != 0)
        goto fail;
    if (have < want)
        mp_log_info("store: schema migrated from version %d to %d", have, want);
    return 0;
fail:
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}
