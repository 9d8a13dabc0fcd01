/* A SQLite VFS for the writer's connection that hands a commit's WAL frames
 * to the kernel in writes of up to MP_SQLITE_WALBUF_BYTES instead of two
 * per page (sqlite_walbuf.c): private to sqlite.c.
 *
 * SQLite appends a frame as two writes (its 24-byte header, then the page),
 * and a frame of 4,120 bytes straddles pages of the file, so a commit of a
 * hundred pages costs two hundred syscalls that each dirty one or two file
 * pages. This VFS keeps a connection's appends to its WAL in a buffer and
 * writes them out, in as few writes as its size allows, before anything may
 * depend on them:
 *
 *  - before the WAL is synced (a commit at synchronous=FULL, the WAL header
 *    when the WAL starts over): what is durable is exactly what SQLite wrote;
 *  - before the commit is published to other connections (the database
 *    file's shared-memory barrier, which SQLite calls before it writes the
 *    new WAL-index header), so no reader can see a frame that is not in the
 *    file, whatever the synchronous setting;
 *  - before a read, a size query or a truncation of the WAL, and before a
 *    write anywhere but at the buffer's end (SQLite rewriting a frame of the
 *    open transaction), so the file always reads as if every write had gone
 *    straight through;
 *  - when the buffer is full (MP_SQLITE_WALBUF_BYTES) and at close.
 *
 * Every other file, and every other call, goes straight to the default VFS. */
#ifndef MP_STORE_SQLITE_WALBUF_H
#define MP_STORE_SQLITE_WALBUF_H

#include <stdint.h>

/* Appends buffered per WAL file before they are written out regardless:
 * the most the default (unix) VFS writes in one call (it masks a write's
 * length with 0x1ffff), 31 frames of 4 KiB pages. */
#define MP_SQLITE_WALBUF_BYTES 0x1ffffu

/* Registers the VFS (once, thread-safe; not as the default) and returns its
 * name for sqlite3_open_v2(), or NULL when SQLite refused it (then open with
 * the default VFS: only the batching is lost). */
const char *mp_sqlite__walbuf_vfs(void);

/* Counts over every file of the VFS since start, for tests and to check
 * that a commit really is a few writes. */
typedef struct mp_sqlite_walbuf_stats {
    uint64_t appends; /* WAL writes taken into a buffer */
    uint64_t writes;  /* writes handed to the default VFS for WAL files */
} mp_sqlite_walbuf_stats_t;

void mp_sqlite__walbuf_stats(mp_sqlite_walbuf_stats_t *out);

#endif
