/* Schema migration 3: groups (settings, owner, announcement, dissolution),
 * bans, invite links and member mutes, on top of the messaging tables. */
#ifndef MP_STORE_MIGRATION_GROUPS_H
#define MP_STORE_MIGRATION_GROUPS_H

/* SQL text run as migration 3 inside the migration transaction.
 *
 * - conversations gains the group columns. Settings are stored as 0 = all,
 *   1 = admins (owner or admin). dissolved_at is 0 while the group lives.
 *   announcement_at is 0 when no announcement is pinned. Direct and world
 *   rows keep the defaults and never read them.
 * - members.muted_until: 0 = not muted, else ms since the epoch; a mute that
 *   has passed is simply ignored (no sweep needed).
 * - members_joined serves the member list, ordered by (joined_at, user_id).
 * - group_bans: one row per banned user; a ban removes the member row and
 *   blocks adding and joining by link.
 * - group_invites: the token itself is the key (22+ characters of
 *   base64url from 16 random bytes); revoked_at 0 = live, expires_at and
 *   max_uses 0 = none. */
#define MP_MIGRATION_GROUPS                                                                        \
    "ALTER TABLE conversations ADD COLUMN description TEXT NOT NULL DEFAULT '';"                   \
    "ALTER TABLE conversations ADD COLUMN owner_id INTEGER NOT NULL DEFAULT 0;"                    \
    "ALTER TABLE conversations ADD COLUMN who_can_post INTEGER NOT NULL DEFAULT 0;"                \
    "ALTER TABLE conversations ADD COLUMN who_can_invite INTEGER NOT NULL DEFAULT 0;"              \
    "ALTER TABLE conversations ADD COLUMN who_can_edit_info INTEGER NOT NULL DEFAULT 0;"           \
    "ALTER TABLE conversations ADD COLUMN dissolved_at INTEGER NOT NULL DEFAULT 0;"                \
    "ALTER TABLE conversations ADD COLUMN announcement TEXT NOT NULL DEFAULT '';"                  \
    "ALTER TABLE conversations ADD COLUMN announcement_by INTEGER NOT NULL DEFAULT 0;"             \
    "ALTER TABLE conversations ADD COLUMN announcement_at INTEGER NOT NULL DEFAULT 0;"             \
    "ALTER TABLE members ADD COLUMN muted_until INTEGER NOT NULL DEFAULT 0;"                       \
    "CREATE INDEX members_joined ON members(conversation_id, joined_at, user_id);"                 \
    "CREATE TABLE group_bans("                                                                     \
    " conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"            \
    " user_id INTEGER NOT NULL,"                                                                   \
    " banned_by INTEGER NOT NULL,"                                                                 \
    " banned_at INTEGER NOT NULL,"                                                                 \
    " PRIMARY KEY(conversation_id, user_id)) WITHOUT ROWID;"                                       \
    "CREATE TABLE group_invites("                                                                  \
    " token TEXT PRIMARY KEY,"                                                                     \
    " conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"            \
    " created_by INTEGER NOT NULL,"                                                                \
    " created_at INTEGER NOT NULL,"                                                                \
    " expires_at INTEGER NOT NULL DEFAULT 0,"                                                      \
    " max_uses INTEGER NOT NULL DEFAULT 0,"                                                        \
    " uses INTEGER NOT NULL DEFAULT 0,"                                                            \
    " revoked_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"                                       \
    "CREATE INDEX group_invites_conv ON group_invites(conversation_id, created_at);"

#endif
