/* Schema migration 8: files and media — uploads, the content-addressed blobs
 * behind them, their renditions, which messages reference which file,
 * resumable upload sessions and group avatars (docs/media.md). */
#ifndef MP_STORE_MIGRATION_MEDIA_H
#define MP_STORE_MIGRATION_MEDIA_H

/* SQL text run as migration 8 inside the migration transaction.
 *
 * - blobs: stored content, one row per distinct SHA-256 of uploaded bytes
 *   (sha256 is unique: identical uploads share the row and the bytes on
 *   disk). skey is the storage key of the bytes served for it — the upload
 *   itself, or for an image the re-encoded copy without metadata — unique
 *   per blob row (the SHA-256 plus a suffix), so that a key the sweep is
 *   deleting can never be reused by a new upload of the same content.
 *   mime is the type the server detected (libmagic), serve_mime the type of
 *   the bytes served (a HEIC photo is served as JPEG), class 'image',
 *   'audio', 'video' or 'file', meta the JSON object of what processing
 *   found (width, height, duration_ms, waveform, preview).
 * - renditions: derived images of a blob (name 'thumb', 's64', 's256'), each
 *   with its own storage key; deleted with the blob.
 * - files: one row per upload — what a person owns and what access is
 *   checked on. size is the uploaded size (the quota counts it per upload,
 *   even when the bytes are shared). name is the sanitised original name.
 * - file_refs: which message references which file, with the message's
 *   conversation, so that a download checks membership in one lookup. A
 *   message deleted for everyone drops its rows.
 * - uploads: resumable upload sessions; the bytes received so far are in a
 *   temporary file named after the id. file_id: the file it became once
 *   complete (0 before), so that a client whose last request was cut can
 *   still learn it. expires_at: the session and its bytes are dropped by the
 *   sweep after it.
 * - conversations.avatar_file_id: a group's avatar (0 = none).
 * - server_secrets: keys the server generates once, e.g. the HMAC key of
 *   signed download URLs. */
#define MP_MIGRATION_MEDIA                                                                         \
    "CREATE TABLE blobs("                                                                          \
    " id INTEGER PRIMARY KEY,"                                                                     \
    " sha256 TEXT NOT NULL UNIQUE,"                                                                \
    " skey TEXT NOT NULL UNIQUE,"                                                                  \
    " size INTEGER NOT NULL,"                                                                      \
    " serve_size INTEGER NOT NULL,"                                                                \
    " mime TEXT NOT NULL,"                                                                         \
    " serve_mime TEXT NOT NULL,"                                                                   \
    " class TEXT NOT NULL CHECK(class IN ('image','audio','video','file')),"                       \
    " meta TEXT NOT NULL DEFAULT '{}',"                                                            \
    " created_at INTEGER NOT NULL);"                                                               \
    "CREATE TABLE renditions("                                                                     \
    " blob_id INTEGER NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,"                            \
    " name TEXT NOT NULL,"                                                                         \
    " skey TEXT NOT NULL UNIQUE,"                                                                  \
    " mime TEXT NOT NULL,"                                                                         \
    " size INTEGER NOT NULL,"                                                                      \
    " width INTEGER NOT NULL,"                                                                     \
    " height INTEGER NOT NULL,"                                                                    \
    " PRIMARY KEY(blob_id, name)) WITHOUT ROWID;"                                                  \
    "CREATE TABLE files("                                                                          \
    " id INTEGER PRIMARY KEY,"                                                                     \
    " owner_id INTEGER NOT NULL,"                                                                  \
    " blob_id INTEGER NOT NULL REFERENCES blobs(id),"                                              \
    " name TEXT NOT NULL DEFAULT '',"                                                              \
    " size INTEGER NOT NULL,"                                                                      \
    " created_at INTEGER NOT NULL);"                                                               \
    "CREATE INDEX files_owner ON files(owner_id, id);"                                             \
    "CREATE INDEX files_blob ON files(blob_id);"                                                   \
    "CREATE INDEX files_created ON files(created_at);"                                             \
    "CREATE TABLE file_refs("                                                                      \
    " file_id INTEGER NOT NULL,"                                                                   \
    " message_id INTEGER NOT NULL,"                                                                \
    " conversation_id INTEGER NOT NULL,"                                                           \
    " PRIMARY KEY(file_id, message_id)) WITHOUT ROWID;"                                            \
    "CREATE INDEX file_refs_message ON file_refs(message_id);"                                     \
    "CREATE TABLE uploads("                                                                        \
    " id INTEGER PRIMARY KEY,"                                                                     \
    " owner_id INTEGER NOT NULL,"                                                                  \
    " length INTEGER NOT NULL,"                                                                    \
    " name TEXT NOT NULL DEFAULT '',"                                                              \
    " file_id INTEGER NOT NULL DEFAULT 0,"                                                         \
    " created_at INTEGER NOT NULL,"                                                                \
    " expires_at INTEGER NOT NULL);"                                                               \
    "CREATE INDEX uploads_owner ON uploads(owner_id);"                                             \
    "CREATE INDEX uploads_expires ON uploads(expires_at);"                                         \
    "ALTER TABLE conversations ADD COLUMN avatar_file_id INTEGER NOT NULL DEFAULT 0;"              \
    "CREATE INDEX users_avatar ON users(avatar_file_id) WHERE avatar_file_id > 0;"                 \
    "CREATE INDEX conversations_avatar ON conversations(avatar_file_id)"                           \
    " WHERE avatar_file_id > 0;"                                                                   \
    "CREATE TABLE server_secrets("                                                                 \
    " name TEXT PRIMARY KEY,"                                                                      \
    " value BLOB NOT NULL) WITHOUT ROWID;"

#endif
