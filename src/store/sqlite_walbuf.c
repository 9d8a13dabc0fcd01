/* The WAL-batching VFS (sqlite_walbuf.h). A shim over the default VFS:
 * every file it opens is the default VFS's file with a small header in
 * front. Database files only learn which WAL is theirs (so that their
 * shared-memory barrier can write it out); WAL files buffer their appends.
 *
 * A file belongs to one connection, and a connection is used by one thread
 * at a time, so a file's buffer needs no lock. */
#include "store/sqlite_walbuf.h"

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include <uv.h>

#include "util/alloc.h"
#include "util/assert.h"

#define WALBUF_NAME "magpie-walbuf"

/* Our part of every file, in front of the default VFS's own (`real` points
 * just behind it, in the memory SQLite allocated: szOsFile covers both). */
typedef struct shim_file {
    sqlite3_file base;
    sqlite3_file *real;
    struct shim_file *wal; /* a database file: its connection's WAL, while open */
    struct shim_file *db;  /* a WAL file: its database file, while both are open */
    /* A WAL file's buffer: len bytes that belong at offset off. */
    char *buf;
    size_t len;
    sqlite3_int64 off;
} shim_file_t;

static sqlite3_vfs shim_vfs;
static sqlite3_io_methods db_methods_v1, db_methods_v2, db_methods_v3;
static sqlite3_io_methods wal_methods;
static atomic_uint_fast64_t n_appends, n_writes;

static sqlite3_vfs *real_vfs(void)
{
    return shim_vfs.pAppData;
}

static shim_file_t *shim(sqlite3_file *f)
{
    return (shim_file_t *)f;
}

/* ---- the WAL's buffer ------------------------------------------------------ */

/* Writes the buffer out. On failure the buffer is kept, so that a later
 * flush (the next sync, read or close) tries again and reports it again:
 * nothing SQLite wrote is dropped silently. */
static int wal_flush(shim_file_t *w)
{
    MP_ASSERT(w->len <= MP_SQLITE_WALBUF_BYTES);
    if (w->len == 0)
        return SQLITE_OK;
    int rc = w->real->pMethods->xWrite(w->real, w->buf, (int)w->len, w->off);
    atomic_fetch_add_explicit(&n_writes, 1, memory_order_relaxed);
    if (rc == SQLITE_OK)
        w->len = 0;
    return rc;
}

static bool overlaps(const shim_file_t *w, sqlite3_int64 off, sqlite3_int64 n)
{
    return w->len > 0 && off < w->off + (sqlite3_int64)w->len && w->off < off + n;
}

static int wal_write(sqlite3_file *f, const void *data, int n, sqlite3_int64 off)
{
    shim_file_t *w = shim(f);
    MP_ASSERT(n >= 0);
    bool at_end = w->len > 0 && off == w->off + (sqlite3_int64)w->len;
    if (w->len > 0 && (!at_end || w->len + (size_t)n > MP_SQLITE_WALBUF_BYTES)) {
        int rc = wal_flush(w);
        if (rc != SQLITE_OK)
            return rc;
    }
    if ((size_t)n > MP_SQLITE_WALBUF_BYTES) {
        atomic_fetch_add_explicit(&n_writes, 1, memory_order_relaxed);
        return w->real->pMethods->xWrite(w->real, data, n, off);
    }
    if (w->buf == NULL)
        w->buf = mp_malloc(MP_SQLITE_WALBUF_BYTES);
    if (w->len == 0)
        w->off = off;
    memcpy(w->buf + w->len, data, (size_t)n);
    w->len += (size_t)n;
    atomic_fetch_add_explicit(&n_appends, 1, memory_order_relaxed);
    return SQLITE_OK;
}

static int wal_read(sqlite3_file *f, void *data, int n, sqlite3_int64 off)
{
    shim_file_t *w = shim(f);
    if (overlaps(w, off, n)) {
        int rc = wal_flush(w);
        if (rc != SQLITE_OK)
            return rc;
    }
    return w->real->pMethods->xRead(w->real, data, n, off);
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    shim_file_t *w = shim(f);
    int rc = wal_flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xTruncate(w->real, size);
}

static int wal_sync(sqlite3_file *f, int flags)
{
    shim_file_t *w = shim(f);
    int rc = wal_flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xSync(w->real, flags);
}

static int wal_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    shim_file_t *w = shim(f);
    int rc = wal_flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xFileSize(w->real, size);
}

static int wal_close(sqlite3_file *f)
{
    shim_file_t *w = shim(f);
    int rc = wal_flush(w);
    if (w->db != NULL && w->db->wal == w)
        w->db->wal = NULL;
    mp_free(w->buf);
    w->buf = NULL;
    int rc2 = w->real->pMethods->xClose(w->real);
    return rc != SQLITE_OK ? rc : rc2;
}

/* ---- calls passed through ------------------------------------------------- */

static int fwd_close(sqlite3_file *f)
{
    shim_file_t *s = shim(f);
    /* SQLite closes a WAL before its database file; should it ever not,
     * the WAL must not point at a file that is gone. */
    if (s->wal != NULL)
        s->wal->db = NULL;
    return s->real->pMethods->xClose(s->real);
}
static int fwd_read(sqlite3_file *f, void *d, int n, sqlite3_int64 o)
{
    return shim(f)->real->pMethods->xRead(shim(f)->real, d, n, o);
}
static int fwd_write(sqlite3_file *f, const void *d, int n, sqlite3_int64 o)
{
    return shim(f)->real->pMethods->xWrite(shim(f)->real, d, n, o);
}
static int fwd_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return shim(f)->real->pMethods->xTruncate(shim(f)->real, size);
}
static int fwd_sync(sqlite3_file *f, int flags)
{
    return shim(f)->real->pMethods->xSync(shim(f)->real, flags);
}
static int fwd_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return shim(f)->real->pMethods->xFileSize(shim(f)->real, size);
}
static int fwd_lock(sqlite3_file *f, int l)
{
    return shim(f)->real->pMethods->xLock(shim(f)->real, l);
}
static int fwd_unlock(sqlite3_file *f, int l)
{
    return shim(f)->real->pMethods->xUnlock(shim(f)->real, l);
}
static int fwd_check_reserved(sqlite3_file *f, int *out)
{
    return shim(f)->real->pMethods->xCheckReservedLock(shim(f)->real, out);
}
static int fwd_file_control(sqlite3_file *f, int op, void *arg)
{
    return shim(f)->real->pMethods->xFileControl(shim(f)->real, op, arg);
}
static int fwd_sector_size(sqlite3_file *f)
{
    return shim(f)->real->pMethods->xSectorSize(shim(f)->real);
}
static int fwd_device_chars(sqlite3_file *f)
{
    return shim(f)->real->pMethods->xDeviceCharacteristics(shim(f)->real);
}
static int fwd_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **out)
{
    return shim(f)->real->pMethods->xShmMap(shim(f)->real, pg, sz, extend, out);
}
static int fwd_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return shim(f)->real->pMethods->xShmLock(shim(f)->real, off, n, flags);
}
static int fwd_shm_unmap(sqlite3_file *f, int del)
{
    return shim(f)->real->pMethods->xShmUnmap(shim(f)->real, del);
}
static int fwd_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
    return shim(f)->real->pMethods->xFetch(shim(f)->real, off, n, out);
}
static int fwd_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return shim(f)->real->pMethods->xUnfetch(shim(f)->real, off, p);
}

/* SQLite calls the database file's barrier between writing the two copies
 * of a new WAL-index header, the second of which makes a commit visible to
 * other connections: the commit's frames must be in the file by then. The
 * barrier cannot fail; a failed write leaves the frames in the buffer, and
 * the error comes back from the WAL's next sync, read or close. With
 * synchronous=FULL (the writer's) the sync before it has written them out
 * already and this finds the buffer empty. */
static void db_shm_barrier(sqlite3_file *f)
{
    shim_file_t *s = shim(f);
    if (s->wal != NULL)
        (void)wal_flush(s->wal);
    s->real->pMethods->xShmBarrier(s->real);
}

/* ---- opening -------------------------------------------------------------- */

static void methods_init(void)
{
    const sqlite3_io_methods base = {
        .iVersion = 3,
        .xClose = fwd_close,
        .xRead = fwd_read,
        .xWrite = fwd_write,
        .xTruncate = fwd_truncate,
        .xSync = fwd_sync,
        .xFileSize = fwd_file_size,
        .xLock = fwd_lock,
        .xUnlock = fwd_unlock,
        .xCheckReservedLock = fwd_check_reserved,
        .xFileControl = fwd_file_control,
        .xSectorSize = fwd_sector_size,
        .xDeviceCharacteristics = fwd_device_chars,
        .xShmMap = fwd_shm_map,
        .xShmLock = fwd_shm_lock,
        .xShmBarrier = db_shm_barrier,
        .xShmUnmap = fwd_shm_unmap,
        .xFetch = fwd_fetch,
        .xUnfetch = fwd_unfetch,
    };
    /* The shim must offer exactly the methods the real file has: SQLite
     * looks at iVersion to decide what it may call. */
    db_methods_v3 = base;
    db_methods_v2 = base;
    db_methods_v2.iVersion = 2;
    db_methods_v2.xFetch = NULL;
    db_methods_v2.xUnfetch = NULL;
    db_methods_v1 = db_methods_v2;
    db_methods_v1.iVersion = 1;
    db_methods_v1.xShmMap = NULL;
    db_methods_v1.xShmLock = NULL;
    db_methods_v1.xShmBarrier = NULL;
    db_methods_v1.xShmUnmap = NULL;
    /* A WAL file has no shared memory and is never mapped. */
    wal_methods = db_methods_v1;
    wal_methods.xClose = wal_close;
    wal_methods.xRead = wal_read;
    wal_methods.xWrite = wal_write;
    wal_methods.xTruncate = wal_truncate;
    wal_methods.xSync = wal_sync;
    wal_methods.xFileSize = wal_file_size;
}

static const sqlite3_io_methods *db_methods(int version)
{
    return version >= 3 ? &db_methods_v3 : version == 2 ? &db_methods_v2 : &db_methods_v1;
}

static int shim_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                     int *out_flags)
{
    (void)vfs;
    shim_file_t *s = shim(f);
    memset(s, 0, sizeof *s);
    s->real = (sqlite3_file *)(s + 1);
    int rc = real_vfs()->xOpen(real_vfs(), name, s->real, flags, out_flags);
    if (s->real->pMethods == NULL) {
        s->base.pMethods = NULL;
        return rc;
    }
    if ((flags & SQLITE_OPEN_WAL) && name != NULL) {
        s->base.pMethods = &wal_methods;
        /* The database file is open already, through this VFS too. */
        sqlite3_file *db = sqlite3_database_file_object(name);
        if (db != NULL && db->pMethods != NULL && db->pMethods->xShmBarrier == db_shm_barrier) {
            s->db = shim(db);
            s->db->wal = s;
        }
        return rc;
    }
    s->base.pMethods = db_methods(s->real->pMethods->iVersion);
    return rc;
}

/* The rest of the VFS is the default one's. */
static int v_delete(sqlite3_vfs *v, const char *n, int sync)
{
    (void)v;
    return real_vfs()->xDelete(real_vfs(), n, sync);
}
static int v_access(sqlite3_vfs *v, const char *n, int flags, int *out)
{
    (void)v;
    return real_vfs()->xAccess(real_vfs(), n, flags, out);
}
static int v_full_pathname(sqlite3_vfs *v, const char *n, int len, char *out)
{
    (void)v;
    return real_vfs()->xFullPathname(real_vfs(), n, len, out);
}
static void *v_dlopen(sqlite3_vfs *v, const char *n)
{
    (void)v;
    return real_vfs()->xDlOpen(real_vfs(), n);
}
static void v_dlerror(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    real_vfs()->xDlError(real_vfs(), n, out);
}
static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    (void)v;
    return real_vfs()->xDlSym(real_vfs(), h, sym);
}
static void v_dlclose(sqlite3_vfs *v, void *h)
{
    (void)v;
    real_vfs()->xDlClose(real_vfs(), h);
}
static int v_randomness(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return real_vfs()->xRandomness(real_vfs(), n, out);
}
static int v_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return real_vfs()->xSleep(real_vfs(), us);
}
static int v_current_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return real_vfs()->xCurrentTime(real_vfs(), out);
}
static int v_last_error(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return real_vfs()->xGetLastError(real_vfs(), n, out);
}
static int v_current_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    (void)v;
    return real_vfs()->xCurrentTimeInt64(real_vfs(), out);
}

static const char *registered;

static void walbuf_register(void)
{
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);
    /* Version 2 covers everything called here; the system-call overrides
     * of version 3 are only for tests of SQLite itself. */
    if (real == NULL || real->iVersion < 2)
        return;
    methods_init();
    shim_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(shim_file_t) + real->szOsFile,
        .mxPathname = real->mxPathname,
        .zName = WALBUF_NAME,
        .pAppData = real,
        .xOpen = shim_open,
        .xDelete = v_delete,
        .xAccess = v_access,
        .xFullPathname = v_full_pathname,
        .xDlOpen = v_dlopen,
        .xDlError = v_dlerror,
        .xDlSym = v_dlsym,
        .xDlClose = v_dlclose,
        .xRandomness = v_randomness,
        .xSleep = v_sleep,
        .xCurrentTime = v_current_time,
        .xGetLastError = v_last_error,
        .xCurrentTimeInt64 = v_current_time64,
    };
    if (sqlite3_vfs_register(&shim_vfs, 0) == SQLITE_OK)
        registered = WALBUF_NAME;
}

const char *mp_sqlite__walbuf_vfs(void)
{
    static uv_once_t once = UV_ONCE_INIT;
    uv_once(&once, walbuf_register);
    return registered;
}

void mp_sqlite__walbuf_stats(mp_sqlite_walbuf_stats_t *out)
{
    out->appends = atomic_load_explicit(&n_appends, memory_order_relaxed);
    out->writes = atomic_load_explicit(&n_writes, memory_order_relaxed);
}
