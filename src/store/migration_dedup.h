/* Schema migration 5: dedup of sends per device instead of per user, and
 * guests out of groups. */
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
 * device's send with a message that is not its own.)
 *
 * Guests may only use the world room, but older versions let users add them
 * to groups (and a swept guest could leave its group without an owner). A
 * live group whose owner is a guest or no longer exists passes to its
 * longest-standing non-guest admin, else member, else is dissolved; then
 * every guest membership of a group is removed. (No system message: a
 * migration cannot take message ids; the member list shows the change.)
 * Direct conversations with a guest are kept: sends into them are refused. */
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
    "CREATE UNIQUE INDEX messages_dedup ON messages(sender_id, sender_device, client_msg_id);"     \
    "UPDATE conversations SET owner_id = coalesce((SELECT m.user_id FROM members m"                \
    " JOIN users u ON u.id = m.user_id WHERE m.conversation_id = conversations.id"                 \
    " AND u.guest = 0 ORDER BY m.role = 'admin' DESC, m.joined_at, m.user_id LIMIT 1), 0)"         \
    " WHERE kind = 'group' AND dissolved_at = 0"                                                   \
    " AND owner_id NOT IN (SELECT id FROM users WHERE guest = 0);"                                 \
    "UPDATE conversations SET dissolved_at = CAST(strftime('%s','now') AS INTEGER) * 1000"         \
    " WHERE kind = 'group' AND dissolved_at = 0 AND owner_id = 0;"                                 \
    "UPDATE members SET role = 'owner' WHERE role <> 'owner' AND EXISTS(SELECT 1"                  \
    " FROM conversations c WHERE c.id = members.conversation_id AND c.kind = 'group'"              \
    " AND c.owner_id = members.user_id);"                                                          \
    "DELETE FROM members WHERE user_id IN (SELECT id FROM users WHERE guest = 1)"                  \
    " AND conversation_id IN (SELECT id FROM conversations WHERE kind = 'group');"

/* Schema migration 9: the dedup index keyed by client_msg_id first. The
 * same uniqueness and the same one-seek probe (all three columns are
 * given), but where the entries land: keyed by sender first, every sender
 * was a place of its own in the index, so each group commit wrote a leaf
 * page per sender (half of all the pages a commit wrote). Keyed by the
 * client's id first, ids that grow with time (the web client's, the CLI's,
 * docs/protocol.md) all land at the index's end. */
#define MP_MIGRATION_DEDUP_ORDER                                                                   \
    "DROP INDEX messages_dedup;"                                                                   \
    "CREATE UNIQUE INDEX messages_dedup ON messages(client_msg_id, sender_id, sender_device);"

#endif
