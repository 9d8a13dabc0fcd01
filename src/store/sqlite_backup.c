/* The file work of `magpie backup` and `magpie check` (store/backup.h): the
 * online copy, run on the backup thread that sqlite.c starts, and the
 * offline check.
 *
 * Why the online backup API from a pinned read transaction, rather than
 * VACUUM INTO: both give one consistent snapshot without blocking the
 * writer (in WAL mode a reader never blocks a writer). sqlite3_backup_step
 * opens a read transaction of its own for each step when none is open,
 * and a step that finds the database changed by another connection starts
 * the copy over, so under a steady load a copy made in chunks might never
 * finish. Holding one read transaction on the source connection across
 * every step (backup_step then uses it) pins the snapshot: no restart, one
 * consistent copy. Unlike VACUUM INTO (one statement), the copy then goes
 * in chunks of pages, so it can be cancelled at shutdown and the copy's
 * dirty pages can be written out as it goes instead of in one large fsync at
 * the end that would hold up the writer's commit fsyncs (see flush_chunk). It copies
 * pages as they are (no rebuild), which is also the cheapest in CPU. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/backup.h"
#include "store/sqlite_int.h"
#include "util/alloc.h"

/* Pages per step (1 MiB at the default 4 KiB page): each step holds the
 * source's and the copy's connection mutexes only, never a lock the writer
 * waits for; what it competes with the writer for is the disk, so a chunk
 * is small enough that a commit's fsync never queues behind much of it,
 * and a pause follows each one (see flush_chunk). */
#define BACKUP_CHUNK_PAGES 256
#define BACKUP_PAUSE_US 1000
/* Without sync_file_range: the copy's dirty pages are flushed every this
 * many bytes. */
#define BACKUP_SYNC_BYTES (32u << 20)
#define BACKUP_BUSY_MS 5000

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Writes the chunk just copied out to the disk before the next one, so that
 * at most one chunk of the copy is ever dirty and the final fsync has next
 * to nothing left to write. Measured (tests/e2e/test_backup.c with
 * MAGPIE_BACKUP_BULK_MIB=200: a 200 MiB database, one send in flight at a
 * time, ext4 on a 2-core VM), the longest send->ack during the copy: with
 * one fsync at the end, 220-330 ms (that fsync held up the writer's commit
 * fsyncs: the file system's journal commits both); with an fdatasync every
 * 32 MiB, about 60 ms; with 4 MiB chunks written back by sync_file_range
 * (the data only, no journal commit), about 30 ms; with 1 MiB chunks and
 * a 1 ms pause after each, 9-13 ms (p99 6-10 ms, 2-4 ms without a
 * backup), the copy still at about 200 MB/s. */
static void flush_chunk(int fd, uint64_t *unsynced)
{
#ifdef SYNC_FILE_RANGE_WRITE
    (void)unsynced;
    (void)sync_file_range(
        fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
#else
    *unsynced += (uint64_t)BACKUP_CHUNK_PAGES * 4096u; /* about: the usual page size */
    if (*unsynced >= BACKUP_SYNC_BYTES) {
        (void)fdatasync(fd); /* the final fsync reports any failure */
        *unsynced = 0;
    }
#endif
}

static int fsync_dir_of(const char *path)
{
    char *copy = mp_strdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    mp_free(copy);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* The checks before anything is written: the directory exists and the
 * server may write there, the target is free (or force), and it is not the
 * live database or one of its companion files. */
static mp_err_t check_target(const char *src, const char *dst, bool force, char *msg, size_t msglen)
{
    if (dst[0] != '/') {
        snprintf(msg, msglen, "the backup file must be an absolute path: %s", dst);
        return MP_ERR_BAD_REQUEST;
    }
    char *dcopy = mp_strdup(dst), *scopy = mp_strdup(src);
    const char *dir = dirname(dcopy), *sdir = dirname(scopy);
    mp_err_t rc = MP_OK;
    struct stat st, sst;
    if (stat(dir, &st) != 0) {
        snprintf(msg, msglen, "cannot use the directory %s: %s", dir, strerror(errno));
        rc = MP_ERR_BAD_REQUEST;
    } else if (!S_ISDIR(st.st_mode)) {
        snprintf(msg, msglen, "%s is not a directory", dir);
        rc = MP_ERR_BAD_REQUEST;
    } else if (access(dir, W_OK | X_OK) != 0) {
        snprintf(msg, msglen, "the server (uid %d) cannot write into %s: %s", (int)geteuid(), dir,
                 strerror(errno));
        rc = MP_ERR_BAD_REQUEST;
    } else if (stat(sdir, &sst) == 0 && sst.st_dev == st.st_dev && sst.st_ino == st.st_ino) {
        /* magpie.db, magpie.db-wal, -shm, -journal: overwriting any of them
         * would destroy the database being copied. */
        const char *base = strrchr(dst, '/') + 1, *sbase = strrchr(src, '/') + 1;
        if (strncmp(base, sbase, strlen(sbase)) == 0) {
            snprintf(msg, msglen,
                     "%s is the live database or one of its files; choose another name", dst);
            rc = MP_ERR_BAD_REQUEST;
        }
    }
    if (rc == MP_OK && lstat(dst, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            snprintf(msg, msglen, "%s is a directory; give a file name", dst);
            rc = MP_ERR_BAD_REQUEST;
        } else if (!force) {
            snprintf(msg, msglen, "%s exists; remove it or use --force to replace it", dst);
            rc = MP_ERR_CONFLICT;
        }
    }
    mp_free(dcopy);
    mp_free(scopy);
    return rc;
}

static mp_err_t sqlite_fail(sqlite3 *db, int rc, const char *what, char *msg, size_t msglen)
{
    snprintf(msg, msglen, "%s: %s", what, db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    int prim = rc & 0xff;
    return prim == SQLITE_FULL || prim == SQLITE_IOERR || prim == SQLITE_NOMEM ? MP_ERR_UNAVAILABLE
                                                                               : MP_ERR_INTERNAL;
}

/* Opens the source read-only and starts its read transaction; the first
 * read pins the snapshot (and reads the schema version from it). */
static sqlite3 *open_source(const char *src, int *version, mp_err_t *rc, char *msg, size_t msglen)
{
    sqlite3 *db = NULL;
    int r = sqlite3_open_v2(src, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    sqlite3_stmt *s = NULL;
    if (r == SQLITE_OK) {
        sqlite3_busy_timeout(db, BACKUP_BUSY_MS);
        r = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    }
    if (r == SQLITE_OK)
        r = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
    if (r == SQLITE_OK && (r = sqlite3_step(s)) == SQLITE_ROW) {
        *version = sqlite3_column_int(s, 0);
        r = SQLITE_OK;
    }
    sqlite3_finalize(s);
    if (r != SQLITE_OK) {
        *rc = sqlite_fail(db, r, "cannot read the database", msg, msglen);
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

/* Marks the copy as a rollback-journal database (header bytes 18 and 19,
 * "file format write/read version": 2 means WAL). Pages are copied as they
 * are, so the copy says WAL like its source; as 1 it is a self-contained
 * file that opens read-only anywhere without a -wal or -shm beside it. A
 * server started on it switches it back to WAL. */
static int mark_rollback(int fd)
{
    unsigned char head[20];
    if (pread(fd, head, sizeof head, 0) != (ssize_t)sizeof head ||
        memcmp(head, "SQLite format 3", 16) != 0)
        return -1;
    if (head[18] == 1 && head[19] == 1)
        return 0;
    static const unsigned char one[2] = {1, 1};
    return pwrite(fd, one, 2, 18) == 2 ? 0 : -1;
}

mp_err_t mp_sqlite__backup_copy(const char *src, const char *dst, bool force,
                                const atomic_bool *cancel, mp_store_backup_info_t *info, char *msg,
                                size_t msglen)
{
    uint64_t t0 = mono_ms();
    memset(info, 0, sizeof *info);
    mp_err_t rc = check_target(src, dst, force, msg, msglen);
    if (rc != MP_OK)
        return rc;
    size_t n = strlen(dst) + sizeof ".tmp";
    char *tmp = mp_malloc(n);
    snprintf(tmp, n, "%s.tmp", dst);
    sqlite3 *sdb = NULL, *ddb = NULL;
    sqlite3_backup *b = NULL;
    int fd = -1;
    bool made = false;

    /* A .tmp left by a crash mid-backup is ours to replace. The file is
     * created here, 0600 (it holds password hashes), and SQLite finds it
     * empty, which is a new database to it. */
    if (unlink(tmp) != 0 && errno != ENOENT) {
        snprintf(msg, msglen, "cannot remove the stale %s: %s", tmp, strerror(errno));
        rc = MP_ERR_BAD_REQUEST;
        goto done;
    }
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(msg, msglen, "cannot create %s: %s", tmp, strerror(errno));
        rc = errno == ENOSPC ? MP_ERR_UNAVAILABLE : MP_ERR_BAD_REQUEST;
        goto done;
    }
    made = true;
    sdb = open_source(src, &info->schema_version, &rc, msg, msglen);
    if (sdb == NULL)
        goto done;
    int r = sqlite3_open_v2(tmp, &ddb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    /* Nobody else sees the .tmp: no journal, and the durability comes from
     * our own fsync before the rename. */
    if (r == SQLITE_OK)
        r = sqlite3_exec(ddb, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF", NULL, NULL, NULL);
    if (r != SQLITE_OK) {
        rc = sqlite_fail(ddb, r, "cannot open the backup file", msg, msglen);
        goto done;
    }
    b = sqlite3_backup_init(ddb, "main", sdb, "main");
    if (b == NULL) {
        rc = sqlite_fail(ddb, sqlite3_errcode(ddb), "cannot start the backup", msg, msglen);
        goto done;
    }
    uint64_t unsynced = 0;
    for (;;) {
        if (atomic_load(cancel)) {
            snprintf(msg, msglen, "the server is shutting down; the backup was abandoned");
            rc = MP_ERR_UNAVAILABLE;
            goto done;
        }
        r = sqlite3_backup_step(b, BACKUP_CHUNK_PAGES);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_OK) {
            /* BUSY/LOCKED cannot happen on a private destination with the
             * source's read transaction held; anything else is fatal. */
            rc = sqlite_fail(ddb, r, "the backup failed", msg, msglen);
            goto done;
        }
        flush_chunk(fd, &unsynced);
        /* Leave the disk and the CPU to the writer between chunks. */
        usleep(BACKUP_PAUSE_US);
    }
    info->pages = (uint64_t)sqlite3_backup_pagecount(b);
    r = sqlite3_backup_finish(b);
    b = NULL;
    if (r != SQLITE_OK) {
        rc = sqlite_fail(ddb, r, "the backup failed", msg, msglen);
        goto done;
    }
    r = sqlite3_close(ddb);
    ddb = NULL;
    if (r != SQLITE_OK) {
        snprintf(msg, msglen, "cannot close the backup file: %s", sqlite3_errstr(r));
        rc = MP_ERR_INTERNAL;
        goto done;
    }
    /* The snapshot is no longer needed: the WAL may be checkpointed past it. */
    sqlite3_exec(sdb, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(sdb);
    sdb = NULL;

    struct stat fst;
    if (mark_rollback(fd) != 0 || fsync(fd) != 0 || fstat(fd, &fst) != 0) {
        snprintf(msg, msglen, "cannot write %s: %s", tmp, strerror(errno));
        rc = errno == ENOSPC || errno == EIO ? MP_ERR_UNAVAILABLE : MP_ERR_INTERNAL;
        goto done;
    }
    info->bytes = (uint64_t)fst.st_size;
    /* Without force, link() refuses a file that appeared meanwhile (rename
     * would replace it); with force, rename replaces atomically. */
    if (force ? rename(tmp, dst) != 0 : link(tmp, dst) != 0) {
        snprintf(msg, msglen, "cannot create %s: %s%s", dst, strerror(errno),
                 errno == EEXIST ? "; use --force to replace it" : "");
        rc = errno == EEXIST ? MP_ERR_CONFLICT : MP_ERR_INTERNAL;
        goto done;
    }
    if (!force)
        unlink(tmp);
    made = false;
    if (fsync_dir_of(dst) != 0) {
        snprintf(msg, msglen, "cannot sync the directory of %s: %s", dst, strerror(errno));
        rc = MP_ERR_INTERNAL;
        goto done;
    }
    rc = MP_OK;
done:
    if (b != NULL)
        sqlite3_backup_finish(b);
    sqlite3_close(ddb);
    if (sdb != NULL) {
        sqlite3_exec(sdb, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(sdb);
    }
    if (fd >= 0)
        close(fd);
    if (made)
        unlink(tmp);
    mp_free(tmp);
    info->ms = mono_ms() - t0;
    return rc;
}

/* ---- the offline check ----------------------------------------------------- */

mp_check_result_t mp_store_check_file(const char *path, bool quick, int *version, char *msg,
                                      size_t msglen)
{
    *version = 0;
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(msg, msglen, "cannot read %s: %s", path, strerror(errno));
        return MP_CHECK_ERROR;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(msg, msglen, "%s is not a regular file", path);
        return MP_CHECK_ERROR;
    }
    /* SQLite takes an empty file for an empty database; a backup is never
     * empty. The header is checked here too, for a clear message. */
    FILE *f = fopen(path, "rb");
    char head[16] = {0};
    size_t got = f != NULL ? fread(head, 1, sizeof head, f) : 0;
    if (f != NULL)
        fclose(f);
    if (f == NULL) {
        snprintf(msg, msglen, "cannot read %s: %s", path, strerror(errno));
        return MP_CHECK_ERROR;
    }
    if (got < sizeof head || memcmp(head, "SQLite format 3", 16) != 0) {
        snprintf(msg, msglen, "%s is not an SQLite database", path);
        return MP_CHECK_NOT_SQLITE;
    }

    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    mp_check_result_t res = MP_CHECK_ERROR;
    int r = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (r == SQLITE_OK) {
        sqlite3_busy_timeout(db, BACKUP_BUSY_MS);
        r = sqlite3_prepare_v2(db, quick ? "PRAGMA quick_check(10)" : "PRAGMA integrity_check(10)",
                               -1, &s, NULL);
    }
    if (r != SQLITE_OK) {
        snprintf(msg, msglen, "cannot open %s: %s", path,
                 db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(r));
        res = (r & 0xff) == SQLITE_NOTADB    ? MP_CHECK_NOT_SQLITE
              : (r & 0xff) == SQLITE_CORRUPT ? MP_CHECK_CORRUPT
                                             : MP_CHECK_ERROR;
        goto done;
    }
    /* The check's answer: one row "ok", or up to 10 rows naming problems. */
    size_t used = 0;
    bool ok = false;
    msg[0] = '\0';
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(s, 0);
        if (line != NULL && strcmp(line, "ok") == 0) {
            ok = true;
            continue;
        }
        if (used < msglen)
            used += (size_t)snprintf(msg + used, msglen - used, "%s%s", used ? "; " : "",
                                     line != NULL ? line : "?");
    }
    if (r != SQLITE_DONE) {
        int prim = sqlite3_errcode(db) & 0xff;
        snprintf(msg, msglen, "%s: %s", path, sqlite3_errmsg(db));
        res = prim == SQLITE_CORRUPT  ? MP_CHECK_CORRUPT
              : prim == SQLITE_NOTADB ? MP_CHECK_NOT_SQLITE
                                      : MP_CHECK_ERROR;
        goto done;
    }
    if (!ok) {
        res = MP_CHECK_CORRUPT;
        goto done;
    }
    sqlite3_finalize(s);
    s = NULL;
    r = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
    if (r != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
        snprintf(msg, msglen, "cannot read the schema version: %s", sqlite3_errmsg(db));
        goto done;
    }
    *version = sqlite3_column_int(s, 0);
    int want = mp_store_schema_version();
    if (*version == 0) {
        snprintf(msg, msglen, "%s is an SQLite database but not Magpie's (no schema version)",
                 path);
        res = MP_CHECK_NOT_MAGPIE;
    } else if (*version > want) {
        snprintf(msg, msglen,
                 "schema version %d is newer than this magpie knows (%d): use a newer magpie",
                 *version, want);
        res = MP_CHECK_NEWER;
    } else if (*version < want) {
        snprintf(msg, msglen,
                 "schema version %d is older than this magpie's (%d): a server started on it "
                 "migrates it",
                 *version, want);
        res = MP_CHECK_OLDER;
    } else {
        snprintf(msg, msglen, "schema version %d, as this magpie", *version);
        res = MP_CHECK_OK;
    }
done:
    sqlite3_finalize(s);
    sqlite3_close(db);
    return res;
}
