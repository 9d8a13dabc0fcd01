/* Schema migration 7: people — profiles, discovery, contacts, blocking,
 * privacy, registration modes, account life cycle and server administration
 * (docs/protocol.md "People", "Accounts" and "Administration"). */
#ifndef MP_STORE_MIGRATION_PEOPLE_H
#define MP_STORE_MIGRATION_PEOPLE_H

/* SQL text run as migration 7 inside the migration transaction.
 *
 * - users gains the profile (bio; avatar_file_id, 0 = none), the private
 *   e-mail address (normalised lower-case, unique among accounts that have
 *   one) and whether it still waits for verification (pending = 1: cannot
 *   log in), the server-wide admin flag, disabled_at (0 = active) and
 *   deleted_at (0 = alive; a deleted account keeps its row so that its
 *   messages still name a sender, and its username until the grace period
 *   ends), and the privacy settings: priv_message, priv_presence,
 *   priv_search, priv_groups hold 0 = everyone, 1 = contacts, 2 = nobody;
 *   priv_receipts 0 = send (and see) read receipts, 1 = not.
 * - users_fts: the display names, word-tokenised, for user search by words
 *   (usernames are searched by prefix on their own index). An external
 *   content table over users kept current by triggers: users change rarely.
 * - contacts: one row per user and peer, the user's side of the
 *   relation: state 1 = outgoing request, 2 = incoming request,
 *   3 = friends (mutual), 0 = none any more (kept as a tombstone so that
 *   sync can tell the user's other devices). version is the global change
 *   version of the last change, as for messages.
 * - blocks: who blocked whom; blocks_blocked answers "who blocked me".
 * - invite_codes: registration invites (registration = invite). max_uses 0
 *   and expires_at 0 mean unlimited.
 * - email_codes: at most one live code per user and purpose ('verify',
 *   'reset'); the code is stored hashed, with its expiry and the number of
 *   wrong attempts; sent_at rate-limits resending.
 * - audit_log: every administrative action (actor 0 = the operator on the
 *   control socket).
 * - world_bans: users banned from posting in the world room. */
#define MP_MIGRATION_PEOPLE                                                                        \
    "ALTER TABLE users ADD COLUMN bio TEXT NOT NULL DEFAULT '';"                                   \
    "ALTER TABLE users ADD COLUMN avatar_file_id INTEGER NOT NULL DEFAULT 0;"                      \
    "ALTER TABLE users ADD COLUMN email TEXT;"                                                     \
    "ALTER TABLE users ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;"                             \
    "ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;"                               \
    "ALTER TABLE users ADD COLUMN disabled_at INTEGER NOT NULL DEFAULT 0;"                         \
    "ALTER TABLE users ADD COLUMN deleted_at INTEGER NOT NULL DEFAULT 0;"                          \
    "ALTER TABLE users ADD COLUMN priv_message INTEGER NOT NULL DEFAULT 0;"                        \
    "ALTER TABLE users ADD COLUMN priv_presence INTEGER NOT NULL DEFAULT 0;"                       \
    "ALTER TABLE users ADD COLUMN priv_search INTEGER NOT NULL DEFAULT 0;"                         \
    "ALTER TABLE users ADD COLUMN priv_groups INTEGER NOT NULL DEFAULT 0;"                         \
    "ALTER TABLE users ADD COLUMN priv_receipts INTEGER NOT NULL DEFAULT 0;"                       \
    "CREATE UNIQUE INDEX users_email ON users(email) WHERE email IS NOT NULL;"                     \
    "CREATE INDEX users_flags ON users(id) WHERE admin = 1 OR disabled_at > 0"                     \
    " OR priv_receipts = 1;"                                                                       \
    "CREATE INDEX users_deleted ON users(deleted_at) WHERE deleted_at > 0;"                        \
    "CREATE INDEX users_pending ON users(created_at) WHERE pending = 1;"                           \
    "CREATE VIRTUAL TABLE users_fts USING fts5(display_name, content='users',"                     \
    " content_rowid='id', tokenize='unicode61 remove_diacritics 2');"                              \
    "INSERT INTO users_fts(users_fts) VALUES('rebuild');"                                          \
    "CREATE TRIGGER users_fts_ins AFTER INSERT ON users BEGIN"                                     \
    " INSERT INTO users_fts(rowid, display_name) VALUES(new.id, new.display_name); END;"           \
    "CREATE TRIGGER users_fts_del AFTER DELETE ON users BEGIN"                                     \
    " INSERT INTO users_fts(users_fts, rowid, display_name)"                                       \
    " VALUES('delete', old.id, old.display_name); END;"                                            \
    "CREATE TRIGGER users_fts_upd AFTER UPDATE OF display_name ON users BEGIN"                     \
    " INSERT INTO users_fts(users_fts, rowid, display_name)"                                       \
    " VALUES('delete', old.id, old.display_name);"                                                 \
    " INSERT INTO users_fts(rowid, display_name) VALUES(new.id, new.display_name); END;"           \
    "CREATE TABLE contacts("                                                                       \
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                            \
    " peer_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                            \
    " state INTEGER NOT NULL CHECK(state BETWEEN 0 AND 3),"                                        \
    " message TEXT NOT NULL DEFAULT '',"                                                           \
    " created_at INTEGER NOT NULL,"                                                                \
    " updated_at INTEGER NOT NULL,"                                                                \
    " version INTEGER NOT NULL,"                                                                   \
    " PRIMARY KEY(user_id, peer_id)) WITHOUT ROWID;"                                               \
    "CREATE INDEX contacts_list ON contacts(user_id, state, updated_at);"                          \
    "CREATE INDEX contacts_version ON contacts(user_id, version);"                                 \
    "CREATE TABLE blocks("                                                                         \
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                            \
    " blocked_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                         \
    " created_at INTEGER NOT NULL,"                                                                \
    " PRIMARY KEY(user_id, blocked_id)) WITHOUT ROWID;"                                            \
    "CREATE INDEX blocks_blocked ON blocks(blocked_id, user_id);"                                  \
    "CREATE TABLE invite_codes("                                                                   \
    " code TEXT PRIMARY KEY,"                                                                      \
    " created_by INTEGER NOT NULL,"                                                                \
    " created_at INTEGER NOT NULL,"                                                                \
    " expires_at INTEGER NOT NULL DEFAULT 0,"                                                      \
    " max_uses INTEGER NOT NULL DEFAULT 1,"                                                        \
    " uses INTEGER NOT NULL DEFAULT 0,"                                                            \
    " revoked_at INTEGER NOT NULL DEFAULT 0,"                                                      \
    " note TEXT NOT NULL DEFAULT '') WITHOUT ROWID;"                                               \
    "CREATE TABLE email_codes("                                                                    \
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                            \
    " purpose TEXT NOT NULL CHECK(purpose IN ('verify','reset')),"                                 \
    " code_hash BLOB NOT NULL,"                                                                    \
    " expires_at INTEGER NOT NULL,"                                                                \
    " attempts INTEGER NOT NULL DEFAULT 0,"                                                        \
    " sent_at INTEGER NOT NULL,"                                                                   \
    " PRIMARY KEY(user_id, purpose)) WITHOUT ROWID;"                                               \
    "CREATE TABLE audit_log("                                                                      \
    " id INTEGER PRIMARY KEY,"                                                                     \
    " at INTEGER NOT NULL,"                                                                        \
    " actor_id INTEGER NOT NULL,"                                                                  \
    " action TEXT NOT NULL,"                                                                       \
    " target_id INTEGER NOT NULL DEFAULT 0,"                                                       \
    " detail TEXT NOT NULL DEFAULT '');"                                                           \
    "CREATE TABLE world_bans("                                                                     \
    " user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"                         \
    " banned_by INTEGER NOT NULL,"                                                                 \
    " reason TEXT NOT NULL DEFAULT '',"                                                            \
    " created_at INTEGER NOT NULL);"

#endif
