/* Schema migration 6: what people do with messages — replies, forwards,
 * mentions, edits, deletion, reactions, pins, per-user conversation settings
 * and full-text search (docs/protocol.md "Messages"). */
#ifndef MP_STORE_MIGRATION_MESSAGES_H
#define MP_STORE_MIGRATION_MESSAGES_H

/* SQL text run as migration 6 inside the migration transaction.
 *
 * - messages gains the typed content of non-text kinds (JSON text the store
 *   does not read), search_extra (a file name or place title, indexed with
 *   the text), the snapshot of the quoted message taken at send (a reply
 *   shows what it answered even when it scrolled out; quote_deleted when the
 *   quoted one was deleted for everyone, whose snapshot is then erased), the
 *   forward's origin, mentions (comma-separated user ids; mention_all for
 *   @all), the pin, and n_reactions so that reads skip the reaction lookup
 *   for the (many) messages without any. reply_to, edited_at and deleted_at
 *   exist since migration 2.
 * - messages_reply finds the replies quoting a message deleted for everyone;
 *   partial, so messages that reply to nothing cost no index entry.
 * - messages_pinned serves a conversation's pinned list.
 * - reactions: one row per (message, emoji, user); the primary key serves
 *   the counts per emoji and "who reacted" paged by user id.
 * - hidden_messages: messages deleted for one user ("for me"). Its version
 *   is the change version sync carries to the user's other devices.
 * - mention_marks: one row per mentioned user (0 = @all) and message, so
 *   unread mentions are a range count above the user's read_seq.
 * - members gains the user's own settings of the conversation and
 *   self_version, the change version of the last one (sync carries it to
 *   that user only: other members never see them).
 * - conversations gains who_can_pin (0 = all, 1 = admins), a group setting.
 * - messages_fts: an external-content FTS5 index over messages(body,
 *   search_extra) with the trigram tokenizer: it matches any substring of 3+
 *   characters, so Chinese and Japanese text (no spaces between words) is
 *   found as well as space-separated languages, at the price of a larger
 *   index than unicode61 (measured in docs/performance.md). No triggers:
 *   an index entry costs ~20 us, which would halve the send rate, so sends
 *   and forwards leave the index alone and an indexer job on the writer
 *   catches up behind them, in id order (sqlite_chat_int.h says why ids
 *   allow that). chat_state.fts_upto is its watermark: every message that
 *   search may find (not system, not deleted for everyone) with id <=
 *   fts_upto is in the index and nothing above it is; search scans the
 *   messages above it. chat_state.fts_complete says whether the index is
 *   kept at all (search_index = off empties it). Filled here from the
 *   messages already stored, so the watermark starts at the last one. */
#define MP_MIGRATION_MESSAGES                                                                      \
    "ALTER TABLE messages ADD COLUMN content TEXT;"                                                \
    "ALTER TABLE messages ADD COLUMN search_extra TEXT;"                                           \
    "ALTER TABLE messages ADD COLUMN quote_sender INTEGER;"                                        \
    "ALTER TABLE messages ADD COLUMN quote_kind TEXT;"                                             \
    "ALTER TABLE messages ADD COLUMN quote_text TEXT;"                                             \
    "ALTER TABLE messages ADD COLUMN quote_deleted INTEGER NOT NULL DEFAULT 0;"                    \
    "ALTER TABLE messages ADD COLUMN fwd_sender INTEGER;"                                          \
    "ALTER TABLE messages ADD COLUMN fwd_at INTEGER;"                                              \
    "ALTER TABLE messages ADD COLUMN mentions TEXT;"                                               \
    "ALTER TABLE messages ADD COLUMN mention_all INTEGER NOT NULL DEFAULT 0;"                      \
    "ALTER TABLE messages ADD COLUMN pinned_at INTEGER NOT NULL DEFAULT 0;"                        \
    "ALTER TABLE messages ADD COLUMN pinned_by INTEGER NOT NULL DEFAULT 0;"                        \
    "ALTER TABLE messages ADD COLUMN n_reactions INTEGER NOT NULL DEFAULT 0;"                      \
    "CREATE INDEX messages_reply ON messages(reply_to) WHERE reply_to IS NOT NULL;"                \
    "CREATE INDEX messages_pinned ON messages(conversation_id, pinned_at) WHERE pinned_at > 0;"    \
    "CREATE TABLE reactions("                                                                      \
    " message_id INTEGER NOT NULL,"                                                                \
    " emoji TEXT NOT NULL,"                                                                        \
    " user_id INTEGER NOT NULL,"                                                                   \
    " created_at INTEGER NOT NULL,"                                                                \
    " PRIMARY KEY(message_id, emoji, user_id)) WITHOUT ROWID;"                                     \
    "CREATE TABLE hidden_messages("                                                                \
    " user_id INTEGER NOT NULL,"                                                                   \
    " message_id INTEGER NOT NULL,"                                                                \
    " conversation_id INTEGER NOT NULL,"                                                           \
    " version INTEGER NOT NULL,"                                                                   \
    " PRIMARY KEY(user_id, message_id)) WITHOUT ROWID;"                                            \
    "CREATE INDEX hidden_messages_sync ON hidden_messages(user_id, conversation_id, version);"     \
    "CREATE TABLE mention_marks("                                                                  \
    " conversation_id INTEGER NOT NULL,"                                                           \
    " user_id INTEGER NOT NULL,"                                                                   \
    " seq INTEGER NOT NULL,"                                                                       \
    " sender_id INTEGER NOT NULL,"                                                                 \
    " PRIMARY KEY(conversation_id, user_id, seq)) WITHOUT ROWID;"                                  \
    "ALTER TABLE members ADD COLUMN notify_until INTEGER NOT NULL DEFAULT 0;"                      \
    "ALTER TABLE members ADD COLUMN pinned_at INTEGER NOT NULL DEFAULT 0;"                         \
    "ALTER TABLE members ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;"                          \
    "ALTER TABLE members ADD COLUMN cleared_seq INTEGER NOT NULL DEFAULT 0;"                       \
    "ALTER TABLE members ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;"                            \
    "ALTER TABLE members ADD COLUMN self_version INTEGER NOT NULL DEFAULT 0;"                      \
    "ALTER TABLE conversations ADD COLUMN who_can_pin INTEGER NOT NULL DEFAULT 0;"                 \
    "ALTER TABLE chat_state ADD COLUMN fts_complete INTEGER NOT NULL DEFAULT 1;"                   \
    "ALTER TABLE chat_state ADD COLUMN fts_upto INTEGER NOT NULL DEFAULT 0;"                       \
    "ALTER TABLE messages ADD COLUMN conv_key TEXT GENERATED ALWAYS AS (char("                     \
    " 983040 + ((conversation_id >> 48) & 65535), 983040 + ((conversation_id >> 32) & 65535),"     \
    " 983040 + ((conversation_id >> 16) & 65535), 983040 + (conversation_id & 65535))) VIRTUAL;"   \
    "CREATE VIRTUAL TABLE messages_fts USING fts5(body, search_extra, conv_key,"                   \
    " content='messages', content_rowid='id', tokenize='trigram');"                                \
    "INSERT INTO messages_fts(rowid, body, conv_key) SELECT id, body, conv_key FROM messages"      \
    " WHERE kind <> 'system' AND deleted_at IS NULL;"                                              \
    "UPDATE chat_state SET fts_upto = (SELECT coalesce(max(id), 0) FROM messages) WHERE id = 1;"

#endif
