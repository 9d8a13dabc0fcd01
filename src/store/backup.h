/* Online backup of the SQLite database (`magpie backup`) and the offline
 * check of a database file (`magpie check`): store operations that work on
 * whole files rather than rows. PostgreSQL has its own tools (pg_dump,
 * pg_basebackup; docs/operations.md). */
#ifndef MP_STORE_BACKUP_H
#define MP_STORE_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct mp_store_backup_info {
    uint64_t bytes;     /* the size of the copy */
    uint64_t pages;     /* database pages copied */
    int schema_version; /* of the copy (PRAGMA user_version) */
    uint64_t ms;        /* wall time the copy took, checks and fsyncs included */
} mp_store_backup_info_t;

/* rc MP_OK with info, or an error with a message saying why (both borrowed
 * until the callback returns). */
typedef void (*mp_store_backup_fn)(mp_err_t rc, const char *message,
                                   const mp_store_backup_info_t *info, void *ud);

/* Starts a consistent copy of the live database into path (absolute) on a
 * thread of its own, from one read transaction: writers go on meanwhile
 * (WAL), and the copy is the database as of the moment it started. The copy
 * is written to path.tmp, fsynced and renamed, so path is never a partial
 * file. Loop thread only.
 *
 * Refused at once (the callback is then not called), with a message in err:
 * MP_ERR_BAD_REQUEST on PostgreSQL, MP_ERR_CONFLICT while another backup
 * runs, MP_ERR_UNAVAILABLE when the store is closing. Otherwise the callback
 * runs on the loop with MP_OK, or MP_ERR_CONFLICT (path exists and force is
 * false), MP_ERR_BAD_REQUEST (path not absolute, its directory missing or
 * not writable by the server, path is the live database), MP_ERR_UNAVAILABLE
 * (the store closed meanwhile, or the disk is full) or MP_ERR_INTERNAL. */
mp_err_t mp_store_backup(mp_store_t *st, const char *path, bool force, mp_store_backup_fn cb,
                         void *ud, char *err, size_t errlen) __attribute__((warn_unused_result));

/* The outcome of mp_store_check_file. */
typedef enum {
    MP_CHECK_OK = 0,     /* sound, and at this binary's schema version */
    MP_CHECK_OLDER,      /* sound, an older schema: migrated when a server starts on it */
    MP_CHECK_NEWER,      /* sound, but written by a newer magpie */
    MP_CHECK_NOT_MAGPIE, /* an SQLite database, but no schema version: not Magpie's */
    MP_CHECK_CORRUPT,    /* the integrity check found problems */
    MP_CHECK_NOT_SQLITE, /* not an SQLite database at all */
    MP_CHECK_ERROR,      /* cannot be read (missing, permissions, I/O) */
} mp_check_result_t;

/* Verifies a database file offline, synchronously, opening it read-only:
 * PRAGMA integrity_check (quick_check when quick: skips the index/table
 * cross-checks, much faster on a large file) and the schema version against
 * mp_store_schema_version(). *version gets the file's version (0 when
 * unknown); msg a one-line explanation (the check's first problems when
 * corrupt). */
mp_check_result_t mp_store_check_file(const char *path, bool quick, int *version, char *msg,
                                      size_t msglen);

#endif
