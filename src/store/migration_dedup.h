/* Schema migration 5: dedup of sends per device instead of per user. */
#ifndef MP_STORE_MIGRATION_DEDUP_H
#define MP_STORE_MIGRATION_DEDUP_H

/* SQL text run as migration 5 inside the migration transaction.
 *
 * client_msg_id is documented as unique per DEVICE (a per-device counter is
 * fine), so the old UNIQUE(sender_id, client_msg_id) made the second device
 * of a user that reused an id get the first device's message back as a
 * "duplicate", and its own message was never stored. messages gains
 * sender_device (the device that sent it; 0 for system messages and for rows
 * written before this migration, whose device is unknown) and the dedup key
 * becomes (sender_id, sender_device, client_msg_id).
 *
 * SQLite cannot drop a table constraint, so the table is rebuilt: copied
 * into a new one without the old UNIQUE, renamed, and its indexes created
 * again. (Rows from before keep device 0: a retry of such a row from a real
 * device is stored as a new message rather than risk answering another
 * device's send with a message that is not its own.) */
#define MP_MIGRATION_DEDUP                                                                         \
    "CREATE TABLE messages_by_device("                                                             \
    " id INTEGER PRIMARY KEY,"                                                                     \
    " conversation_id INTEGER NOT NULL,"                                                           \
    " seq INTEGER NOT NULL,"                                                                       \
    " sender_id INTEGER NOT NULL,"                                                                 \
    " client_msg_id TEXT NOT NULL,"                                                                \
    " kind TEXT NOT NULL DEFAULT 'text',"                                                          \
    " body TEXT NOT NULL,"                                                                         \
    " reply_to INTEGER,"                                                                           \
    " created_at INTEGER NOT NULL,"                                                                \
    " edited_at INTEGER,"                                                                          \
    " deleted_at INTEGER,"                                                                         \
    " version INTEGER NOT NULL,"                                                                   \
    " sender_device INTEGER NOT NULL DEFAULT 0,"                                                   \
    " UNIQUE(conversation_id, seq));"                                                              \
    "INSERT INTO messages_by_device(id, conversation_id, seq, sender_id, client_msg_id, kind,"     \
    " body, reply_to, created_at, edited_at, deleted_at, version)"                                 \
    " SELECT id, conversation_id, seq, sender_id, client_msg_id, kind, body, reply_to,"            \
    " created_at, edited_at, deleted_at, version FROM messages;"                                   \
    "DROP TABLE messages;"                                                                         \
    "ALTER TABLE messages_by_device RENAME TO messages;"                                           \
    "CREATE INDEX messages_version ON messages(conversation_id, version);"                         \
    "CREATE UNIQUE INDEX messages_dedup ON messages(sender_id, sender_device, client_msg_id);"

#endif
