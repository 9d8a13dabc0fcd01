/* Schema migration 11: the search index moves out of the database into a
 * file of its own, written by a thread of its own. */
#ifndef MP_STORE_MIGRATION_SEARCH_H
#define MP_STORE_MIGRATION_SEARCH_H

/* SQL text run as migration 11 inside the migration transaction.
 *
 * The FTS5 index (messages_fts, migration 6) was written by the writer
 * thread, in the same transactions as the sends. FTS5 merges its segments as
 * it grows, and a merge copies the whole list of documents of each term it
 * meets in one step: with the trigram tokenizer a common trigram is in most
 * messages, so once the index holds millions of them one chunk of the
 * indexer now and then rewrote tens of megabytes and held every send behind
 * it for seconds (docs/performance.md, "Search"). The index now lives in
 * DIR/search.db (sqlite_index.c): its own file, its own write lock, its own
 * thread, so no merge can hold up a send; it is derived data, rebuilt from
 * the messages whenever it is missing or does not belong to this database.
 *
 * search_changes: edits and deletes for everyone add a row here in their
 * own transaction (the index's file is not theirs to write); the indexer
 * applies them in seq order, and search treats a message with a change not
 * yet applied as unindexed (it checks the message itself). The indexer's
 * progress through this table is kept in search.db; rows it has passed are
 * removed by the writer later. AUTOINCREMENT: a seq is never handed out
 * twice, also once every row has been removed (the indexer's progress is
 * a seq).
 *
 * search_stamp: a random value that names this database. search.db records
 * the stamp it was built for; a different one (a restored or copied
 * database) makes the store rebuild the index rather than trust it.
 * chat_state.fts_complete and fts_upto are no longer read: their values
 * now live in search.db. */
#define MP_MIGRATION_SEARCH                                                                        \
    "DROP TABLE messages_fts;"                                                                     \
    "CREATE TABLE search_changes(seq INTEGER PRIMARY KEY AUTOINCREMENT,"                           \
    " message_id INTEGER NOT NULL);"                                                               \
    "ALTER TABLE chat_state ADD COLUMN search_stamp TEXT NOT NULL DEFAULT '';"                     \
    "UPDATE chat_state SET search_stamp = lower(hex(randomblob(16))), fts_upto = 0 WHERE id = 1;"

/* Schema migration 12: messages loses the generated column conv_key.
 *
 * The column (migration 6) gave the index's conv_key to the FTS5 table that
 * read its content from messages. Since migration 11 the indexer reads each
 * message and writes search.db itself, so it builds the key from
 * conversation_id (mp_sqlite__conv_key). The column was VIRTUAL, yet SQLite
 * computes every generated column of a row it inserts: its char() of four
 * code points cost about 2,000 instructions of each stored message, a
 * sixteenth of the writer's work per message. Dropping a VIRTUAL column
 * rewrites no row, so the migration takes the same time on any database. */
#define MP_MIGRATION_CONV_KEY "ALTER TABLE messages DROP COLUMN conv_key;"

#endif
