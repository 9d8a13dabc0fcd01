/* The PostgreSQL schema: see migrations_pg.h. Never edit a shipped
 * migration: append a new one, to both lists.
 *
 * Entry i is SQLite migration i (migrations.c, migration_*.h: they say what
 * each table and column is for) in PostgreSQL 15's dialect. The translation
 * is the same everywhere, and only what differs is said below:
 * - INTEGER is BIGINT: ids are 64-bit and chosen by the server, times are
 *   ms since the epoch. Flags stay integers (0/1), not booleans, because the
 *   queries are shared and compare them with numbers.
 * - TEXT is TEXT COLLATE "C", whatever the database's locale: SQLite's
 *   default BINARY collation compares bytes, and paged lists use text
 *   cursors (username > ?), so a locale order would page differently.
 * - BLOB is BYTEA. WITHOUT ROWID is dropped: every PostgreSQL table is a
 *   heap with separate indexes.
 * - No full-text tables (FTS5) nor what only feeds them (triggers, the
 *   generated conv_key, filling): on PostgreSQL search scans the rows (for
 *   messages, what SQLite's search does when search_index = off).
 * - An `INTEGER PRIMARY KEY` that inserts leave out (SQLite then takes the
 *   next rowid) is an identity column.
 * - A constraint a later migration drops is named explicitly. */
#include "store/migrations_pg.h"

#include <stddef.h>

/* 1: accounts. username is COLLATE NOCASE on SQLite. Every path that stores
 * one writes it lower-case (mp_name_username_norm, lowered again by the
 * store; guest_<id>, deleted_<id>), so comparing bytes of lower-case names
 * is what NOCASE does and a plain column suffices; the CHECK keeps it so,
 * so that UNIQUE still means unique regardless of case (lower() under
 * COLLATE "C" folds ASCII only, like NOCASE). A lookup by name must bind
 * the name lower-cased. */
#define PG_MIGRATION_1                                                                             \
    "CREATE TABLE users("                                                                          \
    " id BIGINT PRIMARY KEY,"                                                                      \
    " username TEXT COLLATE \"C\" NOT NULL UNIQUE"                                                 \
    " CONSTRAINT users_username_lower CHECK(username = lower(username)),"                          \
    " display_name TEXT COLLATE \"C\" NOT NULL,"                                                   \
    " password_hash TEXT COLLATE \"C\" NOT NULL DEFAULT '',"                                       \
    " guest BIGINT NOT NULL DEFAULT 0,"                                                            \
    " created_at BIGINT NOT NULL,"                                                                 \
    " last_active_at BIGINT);"                                                                     \
    "CREATE TABLE devices("                                                                        \
    " id BIGINT PRIMARY KEY,"                                                                      \
    " user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                             \
    " name TEXT COLLATE \"C\" NOT NULL DEFAULT '',"                                                \
    " created_at BIGINT NOT NULL,"                                                                 \
    " last_seen_at BIGINT NOT NULL DEFAULT 0,"                                                     \
    " revoked_at BIGINT NOT NULL DEFAULT 0);"                                                      \
    "CREATE INDEX devices_user ON devices(user_id, created_at);"                                   \
    "CREATE INDEX devices_revoked ON devices(revoked_at) WHERE revoked_at > 0;"                    \
    "CREATE TABLE refresh_tokens("                                                                 \
    " hash BYTEA PRIMARY KEY,"                                                                     \
    " device_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"                         \
    " live BIGINT NOT NULL,"                                                                       \
    " created_at BIGINT NOT NULL);"                                                                \
    "CREATE INDEX refresh_tokens_device ON refresh_tokens(device_id);"

/* 2: the messaging tables (migration_chat.h). The dedup constraint is named
 * because migration 5 drops it. */
#define PG_MIGRATION_2                                                                             \
    "CREATE TABLE chat_state("                                                                     \
    " id BIGINT PRIMARY KEY CHECK(id = 1),"                                                        \
    " version BIGINT NOT NULL);"                                                                   \
    "INSERT INTO chat_state(id, version) VALUES(1, 0);"                                            \
    "CREATE TABLE conversations("                                                                  \
    " id BIGINT PRIMARY KEY,"                                                                      \
    " kind TEXT COLLATE \"C\" NOT NULL CHECK(kind IN ('direct','group','world')),"                 \
    " title TEXT COLLATE \"C\" NOT NULL DEFAULT '',"                                               \
    " topic TEXT COLLATE \"C\" NOT NULL DEFAULT '',"                                               \
    " creator_id BIGINT,"                                                                          \
    " last_seq BIGINT NOT NULL DEFAULT 0,"                                                         \
    " version BIGINT NOT NULL,"                                                                    \
    " created_at BIGINT NOT NULL,"                                                                 \
    " active_at BIGINT NOT NULL);"                                                                 \
    "CREATE INDEX conversations_world ON conversations(kind) WHERE kind = 'world';"                \
    "CREATE TABLE members("                                                                        \
    " conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"             \
    " user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                             \
    " role TEXT COLLATE \"C\" NOT NULL DEFAULT 'member'"                                           \
    " CHECK(role IN ('owner','admin','member')),"                                                  \
    " read_seq BIGINT NOT NULL DEFAULT 0,"                                                         \
    " delivered_seq BIGINT NOT NULL DEFAULT 0,"                                                    \
    " muted BIGINT NOT NULL DEFAULT 0,"                                                            \
    " joined_at BIGINT NOT NULL,"                                                                  \
    " version BIGINT NOT NULL,"                                                                    \
    " PRIMARY KEY(conversation_id, user_id));"                                                     \
    "CREATE INDEX members_user ON members(user_id, conversation_id);"                              \
    "CREATE TABLE direct_pairs("                                                                   \
    " user_lo BIGINT NOT NULL,"                                                                    \
    " user_hi BIGINT NOT NULL,"                                                                    \
    " conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"             \
    " PRIMARY KEY(user_lo, user_hi));"                                                             \
    "CREATE TABLE messages("                                                                       \
    " id BIGINT PRIMARY KEY,"                                                                      \
    " conversation_id BIGINT NOT NULL,"                                                            \
    " seq BIGINT NOT NULL,"                                                                        \
    " sender_id BIGINT NOT NULL,"                                                                  \
    " client_msg_id TEXT COLLATE \"C\" NOT NULL,"                                                  \
    " kind TEXT COLLATE \"C\" NOT NULL DEFAULT 'text',"                                            \
    " body TEXT COLLATE \"C\" NOT NULL,"                                                           \
    " reply_to BIGINT,"                                                                            \
    " created_at BIGINT NOT NULL,"                                                                 \
    " edited_at BIGINT,"                                                                           \
    " deleted_at BIGINT,"                                                                          \
    " version BIGINT NOT NULL,"                                                                    \
    " UNIQUE(conversation_id, seq),"                                                               \
    " CONSTRAINT messages_sender_client UNIQUE(sender_id, client_msg_id));"                        \
    "CREATE INDEX messages_version ON messages(conversation_id, version);"

/* 3: groups (migration_groups.h). */
#define PG_MIGRATION_3                                                                             \
    "ALTER TABLE conversations ADD COLUMN description TEXT COLLATE \"C\" NOT NULL DEFAULT '';"     \
    "ALTER TABLE conversations ADD COLUMN owner_id BIGINT NOT NULL DEFAULT 0;"                     \
    "ALTER TABLE conversations ADD COLUMN who_can_post BIGINT NOT NULL DEFAULT 0;"                 \
    "ALTER TABLE conversations ADD COLUMN who_can_invite BIGINT NOT NULL DEFAULT 0;"               \
    "ALTER TABLE conversations ADD COLUMN who_can_edit_info BIGINT NOT NULL DEFAULT 0;"            \
    "ALTER TABLE conversations ADD COLUMN dissolved_at BIGINT NOT NULL DEFAULT 0;"                 \
    "ALTER TABLE conversations ADD COLUMN announcement TEXT COLLATE \"C\" NOT NULL DEFAULT '';"    \
    "ALTER TABLE conversations ADD COLUMN announcement_by BIGINT NOT NULL DEFAULT 0;"              \
    "ALTER TABLE conversations ADD COLUMN announcement_at BIGINT NOT NULL DEFAULT 0;"              \
    "ALTER TABLE members ADD COLUMN muted_until BIGINT NOT NULL DEFAULT 0;"                        \
    "CREATE INDEX members_joined ON members(conversation_id, joined_at, user_id);"                 \
    "CREATE TABLE group_bans("                                                                     \
    " conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"             \
    " user_id BIGINT NOT NULL,"                                                                    \
    " banned_by BIGINT NOT NULL,"                                                                  \
    " banned_at BIGINT NOT NULL,"                                                                  \
    " PRIMARY KEY(conversation_id, user_id));"                                                     \
    "CREATE TABLE group_invites("                                                                  \
    " token TEXT COLLATE \"C\" PRIMARY KEY,"                                                       \
    " conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"             \
    " created_by BIGINT NOT NULL,"                                                                 \
    " created_at BIGINT NOT NULL,"                                                                 \
    " expires_at BIGINT NOT NULL DEFAULT 0,"                                                       \
    " max_uses BIGINT NOT NULL DEFAULT 0,"                                                         \
    " uses BIGINT NOT NULL DEFAULT 0,"                                                             \
    " revoked_at BIGINT NOT NULL DEFAULT 0);"                                                      \
    "CREATE INDEX group_invites_conv ON group_invites(conversation_id, created_at);"

/* 4: the world room's cursors, the guest sweep's index, device tombstones
 * (migration_world.h). */
#define PG_MIGRATION_4                                                                             \
    "CREATE TABLE world_reads("                                                                    \
    " user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                             \
    " conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"             \
    " read_seq BIGINT NOT NULL DEFAULT 0,"                                                         \
    " delivered_seq BIGINT NOT NULL DEFAULT 0,"                                                    \
    " PRIMARY KEY(user_id, conversation_id));"                                                     \
    "UPDATE users SET last_active_at = created_at WHERE guest = 1 AND last_active_at IS NULL;"     \
    "CREATE INDEX users_guest_active ON users(last_active_at) WHERE guest = 1;"                    \
    "CREATE TABLE device_tombstones("                                                              \
    " device_id BIGINT PRIMARY KEY,"                                                               \
    " revoked_at BIGINT NOT NULL);"

/* 5: dedup per device, guests out of groups (migration_dedup.h). SQLite
 * rebuilds messages because it cannot drop a table constraint; PostgreSQL
 * can, so the table is changed in place: the new column comes last, as in
 * the rebuilt table, and UNIQUE(conversation_id, seq) and messages_version
 * stay as they are. strftime is SQLite's: the time is taken from now(), in
 * whole seconds as there. */
#define PG_MIGRATION_5                                                                             \
    "ALTER TABLE messages ADD COLUMN sender_device BIGINT NOT NULL DEFAULT 0;"                     \
    "ALTER TABLE messages DROP CONSTRAINT messages_sender_client;"                                 \
    "CREATE UNIQUE INDEX messages_dedup ON messages(sender_id, sender_device, client_msg_id);"     \
    "UPDATE conversations SET owner_id = coalesce((SELECT m.user_id FROM members m"                \
    " JOIN users u ON u.id = m.user_id WHERE m.conversation_id = conversations.id"                 \
    " AND u.guest = 0 ORDER BY m.role = 'admin' DESC, m.joined_at, m.user_id LIMIT 1), 0)"         \
    " WHERE kind = 'group' AND dissolved_at = 0"                                                   \
    " AND owner_id NOT IN (SELECT id FROM users WHERE guest = 0);"                                 \
    "UPDATE conversations SET dissolved_at = CAST(floor(extract(epoch FROM now())) AS BIGINT)"     \
    " * 1000 WHERE kind = 'group' AND dissolved_at = 0 AND owner_id = 0;"                          \
    "UPDATE members SET role = 'owner' WHERE role <> 'owner' AND EXISTS(SELECT 1"                  \
    " FROM conversations c WHERE c.id = members.conversation_id AND c.kind = 'group'"              \
    " AND c.owner_id = members.user_id);"                                                          \
    "DELETE FROM members WHERE user_id IN (SELECT id FROM users WHERE guest = 1)"                  \
    " AND conversation_id IN (SELECT id FROM conversations WHERE kind = 'group');"

/* 6: what people do with messages (migration_messages.h). Without
 * messages_fts there is no conv_key (it only keys the index; PostgreSQL 15
 * has no virtual generated columns either) and no filling. chat_state keeps
 * fts_complete and fts_upto so that the queries are the same, set to what
 * search_index = off leaves on SQLite: no index kept, nothing below the
 * watermark, so every search takes the scan. */
#define PG_MIGRATION_6                                                                             \
    "ALTER TABLE messages ADD COLUMN content TEXT COLLATE \"C\";"                                  \
    "ALTER TABLE messages ADD COLUMN search_extra TEXT COLLATE \"C\";"                             \
    "ALTER TABLE messages ADD COLUMN quote_sender BIGINT;"                                         \
    "ALTER TABLE messages ADD COLUMN quote_kind TEXT COLLATE \"C\";"                               \
    "ALTER TABLE messages ADD COLUMN quote_text TEXT COLLATE \"C\";"                               \
    "ALTER TABLE messages ADD COLUMN quote_deleted BIGINT NOT NULL DEFAULT 0;"                     \
    "ALTER TABLE messages ADD COLUMN fwd_sender BIGINT;"                                           \
    "ALTER TABLE messages ADD COLUMN fwd_at BIGINT;"                                               \
    "ALTER TABLE messages ADD COLUMN mentions TEXT COLLATE \"C\";"                                 \
    "ALTER TABLE messages ADD COLUMN mention_all BIGINT NOT NULL DEFAULT 0;"                       \
    "ALTER TABLE messages ADD COLUMN pinned_at BIGINT NOT NULL DEFAULT 0;"                         \
    "ALTER TABLE messages ADD COLUMN pinned_by BIGINT NOT NULL DEFAULT 0;"                         \
    "ALTER TABLE messages ADD COLUMN n_reactions BIGINT NOT NULL DEFAULT 0;"                       \
    "CREATE INDEX messages_reply ON messages(reply_to) WHERE reply_to IS NOT NULL;"                \
    "CREATE INDEX messages_pinned ON messages(conversation_id, pinned_at) WHERE pinned_at > 0;"    \
    "CREATE TABLE reactions("                                                                      \
    " message_id BIGINT NOT NULL,"                                                                 \
    " emoji TEXT COLLATE \"C\" NOT NULL,"                                                          \
    " user_id BIGINT NOT NULL,"                                                                    \
    " created_at BIGINT NOT NULL,"                                                                 \
    " PRIMARY KEY(message_id, emoji, user_id));"                                                   \
    "CREATE TABLE hidden_messages("                                                                \
    " user_id BIGINT NOT NULL,"                                                                    \
    " message_id BIGINT NOT NULL,"                                                                 \
    " conversation_id BIGINT NOT NULL,"                                                            \
    " version BIGINT NOT NULL,"                                                                    \
    " PRIMARY KEY(user_id, message_id));"                                                          \
    "CREATE INDEX hidden_messages_sync ON hidden_messages(user_id, conversation_id, version);"     \
    "CREATE TABLE mention_marks("                                                                  \
    " conversation_id BIGINT NOT NULL,"                                                            \
    " user_id BIGINT NOT NULL,"                                                                    \
    " seq BIGINT NOT NULL,"                                                                        \
    " sender_id BIGINT NOT NULL,"                                                                  \
    " PRIMARY KEY(conversation_id, user_id, seq));"                                                \
    "ALTER TABLE members ADD COLUMN notify_until BIGINT NOT NULL DEFAULT 0;"                       \
    "ALTER TABLE members ADD COLUMN pinned_at BIGINT NOT NULL DEFAULT 0;"                          \
    "ALTER TABLE members ADD COLUMN archived BIGINT NOT NULL DEFAULT 0;"                           \
    "ALTER TABLE members ADD COLUMN cleared_seq BIGINT NOT NULL DEFAULT 0;"                        \
    "ALTER TABLE members ADD COLUMN hidden BIGINT NOT NULL DEFAULT 0;"                             \
    "ALTER TABLE members ADD COLUMN self_version BIGINT NOT NULL DEFAULT 0;"                       \
    "ALTER TABLE conversations ADD COLUMN who_can_pin BIGINT NOT NULL DEFAULT 0;"                  \
    "ALTER TABLE chat_state ADD COLUMN fts_complete BIGINT NOT NULL DEFAULT 1;"                    \
    "ALTER TABLE chat_state ADD COLUMN fts_upto BIGINT NOT NULL DEFAULT 0;"                        \
    "UPDATE chat_state SET fts_complete = 0, fts_upto = 0 WHERE id = 1;"

/* 7: people (migration_people.h). No users_fts nor its triggers: user
 * search by display-name words scans on PostgreSQL. The e-mail address is
 * stored normalised lower-case, so its unique index compares bytes as on
 * SQLite. audit_log is the one table whose inserts leave the id out (it
 * grows with every insert, newest first is by id): an identity column. */
#define PG_MIGRATION_7                                                                             \
    "ALTER TABLE users ADD COLUMN bio TEXT COLLATE \"C\" NOT NULL DEFAULT '';"                     \
    "ALTER TABLE users ADD COLUMN avatar_file_id BIGINT NOT NULL DEFAULT 0;"                       \
    "ALTER TABLE users ADD COLUMN email TEXT COLLATE \"C\";"                                       \
    "ALTER TABLE users ADD COLUMN pending BIGINT NOT NULL DEFAULT 0;"                              \
    "ALTER TABLE users ADD COLUMN admin BIGINT NOT NULL DEFAULT 0;"                                \
    "ALTER TABLE users ADD COLUMN disabled_at BIGINT NOT NULL DEFAULT 0;"                          \
    "ALTER TABLE users ADD COLUMN deleted_at BIGINT NOT NULL DEFAULT 0;"                           \
    "ALTER TABLE users ADD COLUMN priv_message BIGINT NOT NULL DEFAULT 0;"                         \
    "ALTER TABLE users ADD COLUMN priv_presence BIGINT NOT NULL DEFAULT 0;"                        \
    "ALTER TABLE users ADD COLUMN priv_search BIGINT NOT NULL DEFAULT 0;"                          \
    "ALTER TABLE users ADD COLUMN priv_groups BIGINT NOT NULL DEFAULT 0;"                          \
    "ALTER TABLE users ADD COLUMN priv_receipts BIGINT NOT NULL DEFAULT 0;"                        \
    "CREATE UNIQUE INDEX users_email ON users(email) WHERE email IS NOT NULL;"                     \
    "CREATE INDEX users_flags ON users(id) WHERE admin = 1 OR disabled_at > 0"                     \
    " OR priv_receipts = 1;"                                                                       \
    "CREATE INDEX users_deleted ON users(deleted_at) WHERE deleted_at > 0;"                        \
    "CREATE INDEX users_pending ON users(created_at) WHERE pending = 1;"                           \
    "CREATE TABLE contacts("                                                                       \
    " user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                             \
    " peer_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                             \
    " state BIGINT NOT NULL CHECK(state BETWEEN 0 AND 3),"                                         \
    " message TEXT COLLATE \"C\" NOT NULL DEFAULT '',"                                             \
    " created_at BIGINT NOT NULL,"                                                                 \
    " updated_at BIGINT NOT NULL,"                                                                 \
    " version BIGINT NOT NULL,"                                                                    \
    " PRIMARY KEY(user_id, peer_id));"                                                             \
    "CREATE INDEX contacts_list ON contacts(user_id, state, updated_at);"                          \
    "CREATE INDEX contacts_version ON contacts(user_id, version);"                                 \
    "CREATE TABLE blocks("                                                                         \
    " user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                             \
    " blocked_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                          \
    " created_at BIGINT NOT NULL,"                                                                 \
    " PRIMARY KEY(user_id, blocked_id));"                                                          \
    "CREATE INDEX blocks_blocked ON blocks(blocked_id, user_id);"                                  \
    "CREATE TABLE invite_codes("                                                                   \
    " code TEXT COLLATE \"C\" PRIMARY KEY,"                                                        \
    " created_by BIGINT NOT NULL,"                                                                 \
    " created_at BIGINT NOT NULL,"                                                                 \
    " expires_at BIGINT NOT NULL DEFAULT 0,"                                                       \
    " max_uses BIGINT NOT NULL DEFAULT 1,"                                                         \
    " uses BIGINT NOT NULL DEFAULT 0,"                                                             \
    " revoked_at BIGINT NOT NULL DEFAULT 0,"                                                       \
    " note TEXT COLLATE \"C\" NOT NULL DEFAULT '');"                                               \
    "CREATE TABLE email_codes("                                                                    \
    " user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                             \
    " purpose TEXT COLLATE \"C\" NOT NULL CHECK(purpose IN ('verify','reset')),"                   \
    " code_hash BYTEA NOT NULL,"                                                                   \
    " expires_at BIGINT NOT NULL,"                                                                 \
    " attempts BIGINT NOT NULL DEFAULT 0,"                                                         \
    " sent_at BIGINT NOT NULL,"                                                                    \
    " PRIMARY KEY(user_id, purpose));"                                                             \
    "CREATE TABLE audit_log("                                                                      \
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"                                     \
    " at BIGINT NOT NULL,"                                                                         \
    " actor_id BIGINT NOT NULL,"                                                                   \
    " action TEXT COLLATE \"C\" NOT NULL,"                                                         \
    " target_id BIGINT NOT NULL DEFAULT 0,"                                                        \
    " detail TEXT COLLATE \"C\" NOT NULL DEFAULT '');"                                             \
    "CREATE TABLE world_bans("                                                                     \
    " user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"                          \
    " banned_by BIGINT NOT NULL,"                                                                  \
    " reason TEXT COLLATE \"C\" NOT NULL DEFAULT '',"                                              \
    " created_at BIGINT NOT NULL);"

/* 8: files and media (migration_media.h). files.blob_id keeps SQLite's
 * default action (NO ACTION: a blob still referenced cannot go). */
#define PG_MIGRATION_8                                                                             \
    "CREATE TABLE blobs("                                                                          \
    " id BIGINT PRIMARY KEY,"                                                                      \
    " sha256 TEXT COLLATE \"C\" NOT NULL UNIQUE,"                                                  \
    " skey TEXT COLLATE \"C\" NOT NULL UNIQUE,"                                                    \
    " size BIGINT NOT NULL,"                                                                       \
    " serve_size BIGINT NOT NULL,"                                                                 \
    " mime TEXT COLLATE \"C\" NOT NULL,"                                                           \
    " serve_mime TEXT COLLATE \"C\" NOT NULL,"                                                     \
    " class TEXT COLLATE \"C\" NOT NULL CHECK(class IN ('image','audio','video','file')),"         \
    " meta TEXT COLLATE \"C\" NOT NULL DEFAULT '{}',"                                              \
    " created_at BIGINT NOT NULL);"                                                                \
    "CREATE TABLE renditions("                                                                     \
    " blob_id BIGINT NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,"                             \
    " name TEXT COLLATE \"C\" NOT NULL,"                                                           \
    " skey TEXT COLLATE \"C\" NOT NULL UNIQUE,"                                                    \
    " mime TEXT COLLATE \"C\" NOT NULL,"                                                           \
    " size BIGINT NOT NULL,"                                                                       \
    " width BIGINT NOT NULL,"                                                                      \
    " height BIGINT NOT NULL,"                                                                     \
    " PRIMARY KEY(blob_id, name));"                                                                \
    "CREATE TABLE files("                                                                          \
    " id BIGINT PRIMARY KEY,"                                                                      \
    " owner_id BIGINT NOT NULL,"                                                                   \
    " blob_id BIGINT NOT NULL REFERENCES blobs(id),"                                               \
    " name TEXT COLLATE \"C\" NOT NULL DEFAULT '',"                                                \
    " size BIGINT NOT NULL,"                                                                       \
    " created_at BIGINT NOT NULL);"                                                                \
    "CREATE INDEX files_owner ON files(owner_id, id);"                                             \
    "CREATE INDEX files_blob ON files(blob_id);"                                                   \
    "CREATE INDEX files_created ON files(created_at);"                                             \
    "CREATE TABLE file_refs("                                                                      \
    " file_id BIGINT NOT NULL,"                                                                    \
    " message_id BIGINT NOT NULL,"                                                                 \
    " conversation_id BIGINT NOT NULL,"                                                            \
    " PRIMARY KEY(file_id, message_id));"                                                          \
    "CREATE INDEX file_refs_message ON file_refs(message_id);"                                     \
    "CREATE TABLE uploads("                                                                        \
    " id BIGINT PRIMARY KEY,"                                                                      \
    " owner_id BIGINT NOT NULL,"                                                                   \
    " length BIGINT NOT NULL,"                                                                     \
    " name TEXT COLLATE \"C\" NOT NULL DEFAULT '',"                                                \
    " file_id BIGINT NOT NULL DEFAULT 0,"                                                          \
    " created_at BIGINT NOT NULL,"                                                                 \
    " expires_at BIGINT NOT NULL);"                                                                \
    "CREATE INDEX uploads_owner ON uploads(owner_id);"                                             \
    "CREATE INDEX uploads_expires ON uploads(expires_at);"                                         \
    "ALTER TABLE conversations ADD COLUMN avatar_file_id BIGINT NOT NULL DEFAULT 0;"               \
    "CREATE INDEX users_avatar ON users(avatar_file_id) WHERE avatar_file_id > 0;"                 \
    "CREATE INDEX conversations_avatar ON conversations(avatar_file_id)"                           \
    " WHERE avatar_file_id > 0;"                                                                   \
    "CREATE TABLE server_secrets("                                                                 \
    " name TEXT COLLATE \"C\" PRIMARY KEY,"                                                        \
    " value BYTEA NOT NULL);"

/* 9: the dedup index keyed by client_msg_id first (migration_dedup.h). */
#define PG_MIGRATION_9                                                                             \
    "DROP INDEX messages_dedup;"                                                                   \
    "CREATE UNIQUE INDEX messages_dedup ON messages(client_msg_id, sender_id, sender_device);"

/* 10: sync finds new messages by seq; messages_version becomes the partial
 * index messages_changed (migration_sync.h). */
#define PG_MIGRATION_10                                                                            \
    "ALTER TABLE messages ADD COLUMN created_version BIGINT NOT NULL DEFAULT 0;"                   \
    "DROP INDEX messages_version;"                                                                 \
    "CREATE INDEX messages_changed ON messages(conversation_id, version)"                          \
    " WHERE version > created_version;"

/* 11: the table of changes the search index has to apply, and the stamp
 * that names the database (migration_search.h). PostgreSQL keeps no index,
 * so nothing writes the table there; it exists so that both schemas agree. */
#define PG_MIGRATION_11                                                                            \
    "CREATE TABLE search_changes(seq BIGSERIAL PRIMARY KEY, message_id BIGINT NOT NULL);"          \
    "ALTER TABLE chat_state ADD COLUMN search_stamp TEXT NOT NULL DEFAULT '';"

/* 12: SQLite drops the generated conv_key (migration_search.h), which
 * PostgreSQL never had: nothing to do, so that the versions stay one. */
#define PG_MIGRATION_12 "SELECT 1;"

const char *const mp_pg__migrations[] = {PG_MIGRATION_1,
                                         PG_MIGRATION_2,
                                         PG_MIGRATION_3,
                                         PG_MIGRATION_4,
                                         PG_MIGRATION_5,
                                         PG_MIGRATION_6,
                                         PG_MIGRATION_7,
                                         PG_MIGRATION_8,
                                         PG_MIGRATION_9,
                                         PG_MIGRATION_10,
                                         PG_MIGRATION_11,
                                         PG_MIGRATION_12,
                                         NULL};
