/* Internal to src/store: what the write jobs of other store files (send and
 * forward in sqlite_chat.c / sqlite_msgs.c, delete for everyone) do with
 * files, on the writer's connection inside their own transaction. */
#ifndef MP_STORE_SQLITE_FILES_INT_H
#define MP_STORE_SQLITE_FILES_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "store/files.h"
#include "store/sql.h"

/* The rule of mp_store_file_get as an SQL condition on files f (?1 the file,
 * ?2 the user, ?3 1 for a guest, ?4 the world room), in one statement where
 * every branch is an index lookup: file_refs by its primary key (file_id,
 * message_id), then members by (conversation_id, user_id) for each
 * conversation that references the file; the avatars through the partial
 * indexes users_avatar and conversations_avatar (the literal
 * "avatar_file_id > 0" terms let the planner use them), a group's avatar
 * before the membership (nested, so that the few groups with this avatar are
 * probed, not every conversation of the user). Guests are in no
 * group and do not read direct conversations' files, so the member branches
 * are closed to them. (Here so that a test can check its query plan.) */
#define MP_SQLITE_FILE_ACCESS_RULE                                                                 \
    "(f.owner_id = ?2"                                                                             \
    " OR EXISTS(SELECT 1 FROM file_refs r WHERE r.file_id = f.id AND ((?4 <> 0 AND"                \
    " r.conversation_id = ?4) OR (?3 = 0 AND EXISTS(SELECT 1 FROM members m"                       \
    " WHERE m.conversation_id = r.conversation_id AND m.user_id = ?2))))"                          \
    " OR EXISTS(SELECT 1 FROM users u WHERE u.avatar_file_id = f.id AND u.avatar_file_id > 0"      \
    " AND u.deleted_at = 0)"                                                                       \
    " OR (?3 = 0 AND EXISTS(SELECT 1 FROM conversations c WHERE c.avatar_file_id = f.id"           \
    " AND c.avatar_file_id > 0 AND EXISTS(SELECT 1 FROM members m"                                 \
    " WHERE m.conversation_id = c.id AND m.user_id = ?2))))"

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

/* The sweep's rule for one file (sqlite_files_sweep.c), checked again on the
 * writer before the delete: *yes when file_id was created before older_than
 * and nothing holds it at now (message, avatar, live session it completed);
 * *blob_id its blob then. */
mp_err_t mp_sqlite__file_sweepable(mp_sql_conn_t *db, uint64_t file_id, int64_t older_than,
                                   int64_t now, bool *yes, uint64_t *blob_id);

#endif
