/* Internal to src/store: what the write jobs of other store files (send and
 * forward in sqlite_chat.c / sqlite_msgs.c, delete for everyone) do with
 * files, on the writer's connection inside their own transaction. */
#ifndef MP_STORE_SQLITE_FILES_INT_H
#define MP_STORE_SQLITE_FILES_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "store/files.h"
#include "store/sql.h"

/* The rule of mp_store_file_get, on db: MP_OK with *out filled (out->meta
 * mp_malloc'd: free it) when user_id may read file_id, MP_ERR_NOT_FOUND
 * when not (or no such file), MP_ERR_INTERNAL on an SQL error. */
mp_err_t mp_sqlite__file_access(mp_sql_conn_t *db, uint64_t file_id, uint64_t user_id, bool guest,
                                uint64_t world_id, mp_file_row_t *out);
/* Records that message_id of conversation_id references file_id. */
mp_err_t mp_sqlite__file_ref_add(mp_sql_conn_t *db, uint64_t file_id, uint64_t message_id,
                                 uint64_t conversation_id);
/* Drops the references of message_id (deleted for everyone). */
mp_err_t mp_sqlite__file_refs_drop(mp_sql_conn_t *db, uint64_t message_id);

/* Between the two halves of the files code (sqlite_files.c reads,
 * sqlite_files_write.c writes): the file by id without any access check, and
 * the blob by content (the file's fields 0 / ""), with renditions; out->meta
 * mp_malloc'd on MP_OK only. MP_ERR_NOT_FOUND when there is none. */
mp_err_t mp_sqlite__file_read(mp_sql_conn_t *db, uint64_t file_id, mp_file_row_t *out);
mp_err_t mp_sqlite__blob_by_sha(mp_sql_conn_t *db, const char *sha256, mp_file_row_t *out);

#endif
