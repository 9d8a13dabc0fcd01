/* Schema migration 10: sync finds new messages by seq, so that storing a
 * message writes no index keyed by version. */
#ifndef MP_STORE_MIGRATION_SYNC_H
#define MP_STORE_MIGRATION_SYNC_H

/* SQL text run as migration 10 inside the migration transaction.
 *
 * Sync asks "what of conversation C has a version above V?". Until now the
 * index messages_version (conversation_id, version) answered it, and every
 * stored message added an entry to it: at full speed that index was nearly
 * half of the pages each group commit wrote (one leaf per conversation the
 * commit touched), the same as the (conversation_id, seq) index beside it.
 *
 * created_version is the version a message was stored at; version is still
 * the version of its last change. Within a conversation both seq and
 * created_version grow with each message stored (one writer hands out both,
 * on PostgreSQL under the cluster's write lock), so the messages stored
 * after V are exactly those from some seq on, found by a few probes of the
 * (conversation_id, seq) index (sqlite_chat.c, sync_first_new). A message
 * changed since it was stored (edited, deleted, reacted to, pinned: version
 * > created_version) is in the partial index messages_changed, which a plain
 * send never touches. Rows stored before this migration get created_version
 * 0, so they are all in messages_changed (the index has the entries the old
 * one had) and never counted as new. */
#define MP_MIGRATION_SYNC                                                                          \
    "ALTER TABLE messages ADD COLUMN created_version INTEGER NOT NULL DEFAULT 0;"                  \
    "DROP INDEX messages_version;"                                                                 \
    "CREATE INDEX messages_changed ON messages(conversation_id, version)"                          \
    " WHERE version > created_version;"

#endif
