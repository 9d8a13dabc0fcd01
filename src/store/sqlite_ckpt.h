/* The WAL checkpointer thread of the SQLite backend (sqlite_ckpt.c): private
 * to sqlite.c. */
#ifndef MP_STORE_SQLITE_CKPT_H
#define MP_STORE_SQLITE_CKPT_H

#include <sqlite3.h>
#include <stddef.h>

/* Frames (pages of 4 KiB) beyond the last copy that wake the thread, and
 * the WAL size past which the writer copies the rest itself so that its next
 * transaction starts the WAL over. Larger than SQLite's 1,000: a hot page
 * written by many batches is copied once per checkpoint, so fewer, larger
 * checkpoints copy less in all. The reset size is the journal_size_limit
 * (64 MiB) the WAL is truncated to. */
#define MP_SQLITE_CKPT_PAGES 4000
#define MP_SQLITE_CKPT_RESET 16000

typedef struct mp_sqlite_ckpt mp_sqlite_ckpt_t;

/* Opens a connection of its own to path, starts the thread and takes over
 * checkpointing from writer (its WAL hook), whose commits must then run on
 * one thread only (the writer's). NULL with err set on failure. Call with
 * signals blocked: the thread inherits the mask. */
mp_sqlite_ckpt_t *mp_sqlite__ckpt_start(const char *path, sqlite3 *writer, char *err,
                                        size_t errlen);

/* Joins the thread and closes its connection; the writer is left without a
 * hook (its close checkpoints the rest). Call after the writer's last
 * commit, before closing the writer. NULL is ignored. */
void mp_sqlite__ckpt_stop(mp_sqlite_ckpt_t *c);

#endif
