/* Schema migration 4: the world room's read cursors and the index the guest
 * sweep walks. The world conversation itself is created at start-up
 * (mp_store_world_ensure), because its id comes from mp_id_next(). */
#ifndef MP_STORE_MIGRATION_WORLD_H
#define MP_STORE_MIGRATION_WORLD_H

/* - world_reads: (user, world conversation) -> cursors, a row only for users
 *   who ever sent `read`/`delivered` in the world (the world has no member
 *   rows). Deleting a user (guest sweep) deletes its row.
 * - users_guest_active: guests by last activity, so that the sweep reads only
 *   the guests that are due, not every user.
 * - device_tombstones: devices deleted with their guest. Their access tokens
 *   stay cryptographically valid until they expire, so the revoked set that
 *   is rebuilt at start-up must still know them (mp_store_revoked_since). */
#define MP_MIGRATION_WORLD                                                                         \
    "CREATE TABLE world_reads("                                                                    \
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                            \
    " conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"            \
    " read_seq INTEGER NOT NULL DEFAULT 0,"                                                        \
    " delivered_seq INTEGER NOT NULL DEFAULT 0,"                                                   \
    " PRIMARY KEY(user_id, conversation_id)) WITHOUT ROWID;"                                       \
    "UPDATE users SET last_active_at = created_at WHERE guest = 1 AND last_active_at IS NULL;"     \
    "CREATE INDEX users_guest_active ON users(last_active_at) WHERE guest = 1;"                    \
    "CREATE TABLE device_tombstones("                                                              \
    " device_id INTEGER PRIMARY KEY,"                                                              \
    " revoked_at INTEGER NOT NULL);"

#endif
