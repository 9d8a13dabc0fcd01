/* Schema migration 2: the messaging tables (conversations, members, direct
 * pairs, messages) and the global change counter that sync is built on. */
#ifndef MP_STORE_MIGRATION_CHAT_H
#define MP_STORE_MIGRATION_CHAT_H

/* SQL text run as migration 2 inside the migration transaction.
 *
 * - chat_state holds ONE row: `version`, the global change counter. The
 *   writer thread bumps it for every change (message, cursor move, membership
 *   change) and stamps the changed row and its conversation with the new
 *   value; sync asks "what has a version above my cursor".
 * - conversations: kind direct | group | world. `active_at` is the time of
 *   the last message (creation time until then) and orders the conversation
 *   list. title/topic/creator_id are used by groups.
 * - members: one row per (conversation, user) for direct and group rooms;
 *   the world room has NO member rows (everyone is in it), so it costs no row
 *   per user. The index on (user_id, conversation_id) makes "my
 *   conversations" proportional to the user's conversations.
 * - direct_pairs: (smaller user id, larger user id) -> the one direct
 *   conversation of that pair.
 * - messages: the rowid IS the message id (one b-tree fewer than a separate
 *   UNIQUE(id)); (conversation_id, seq) is unique, as is (sender_id,
 *   client_msg_id) for dedup; (conversation_id, version) serves sync. No
 *   foreign keys here: the writer has already checked the conversation and
 *   the sender, and FK lookups would cost on every insert of the hot path. */
#define MP_MIGRATION_CHAT                                                                          \
    "CREATE TABLE chat_state("                                                                     \
    " id INTEGER PRIMARY KEY CHECK(id = 1),"                                                       \
    " version INTEGER NOT NULL);"                                                                  \
    "INSERT INTO chat_state(id, version) VALUES(1, 0);"                                            \
    "CREATE TABLE conversations("                                                                  \
    " id INTEGER PRIMARY KEY,"                                                                     \
    " kind TEXT NOT NULL CHECK(kind IN ('direct','group','world')),"                               \
    " title TEXT NOT NULL DEFAULT '',"                                                             \
    " topic TEXT NOT NULL DEFAULT '',"                                                             \
    " creator_id INTEGER,"                                                                         \
    " last_seq INTEGER NOT NULL DEFAULT 0,"                                                        \
    " version INTEGER NOT NULL,"                                                                   \
    " created_at INTEGER NOT NULL,"                                                                \
    " active_at INTEGER NOT NULL);"                                                                \
    "CREATE INDEX conversations_world ON conversations(kind) WHERE kind = 'world';"                \
    "CREATE TABLE members("                                                                        \
    " conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"            \
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                            \
    " role TEXT NOT NULL DEFAULT 'member' CHECK(role IN ('owner','admin','member')),"              \
    " read_seq INTEGER NOT NULL DEFAULT 0,"                                                        \
    " delivered_seq INTEGER NOT NULL DEFAULT 0,"                                                   \
    " muted INTEGER NOT NULL DEFAULT 0,"                                                           \
    " joined_at INTEGER NOT NULL,"                                                                 \
    " version INTEGER NOT NULL,"                                                                   \
    " PRIMARY KEY(conversation_id, user_id)) WITHOUT ROWID;"                                       \
    "CREATE INDEX members_user ON members(user_id, conversation_id);"                              \
    "CREATE TABLE direct_pairs("                                                                   \
    " user_lo INTEGER NOT NULL,"                                                                   \
    " user_hi INTEGER NOT NULL,"                                                                   \
    " conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"            \
    " PRIMARY KEY(user_lo, user_hi)) WITHOUT ROWID;"                                               \
    "CREATE TABLE messages("                                                                       \
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
    " UNIQUE(conversation_id, seq),"                                                               \
    " UNIQUE(sender_id, client_msg_id));"                                                          \
    "CREATE INDEX messages_version ON messages(conversation_id, version);"

#endif
