/* Internal to src/store: what the SQLite files of the messaging store
 * (sqlite_chat.c: send, history, sync, list; sqlite_msgs.c: edit, delete,
 * forward; sqlite_reactions.c, sqlite_convset.c, sqlite_search.c) share:
 * the message row reader and the access check. */
#ifndef MP_STORE_SQLITE_CHAT_INT_H
#define MP_STORE_SQLITE_CHAT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/chat.h"
#include "store/sql.h"

/* Every message SELECT returns these columns in this order (MSG_NCOLS of
 * them); reads add the sender's guest mark as column MSG_NCOLS. */
#define MP_SQLITE_MSG_COLS                                                                         \
    "id, conversation_id, seq, sender_id, client_msg_id, kind, body, created_at, version,"         \
    " content, search_extra, edited_at, deleted_at, reply_to, quote_sender, quote_kind,"           \
    " quote_text, quote_deleted, fwd_sender, fwd_at, mentions, mention_all, pinned_at,"            \
    " pinned_by, n_reactions"
#define MP_SQLITE_MSG_NCOLS 25
/* A sender without a user row was a guest: only the guest sweep deletes
 * users, and its messages stay. */
#define MP_SQLITE_MSG_READ_COLS                                                                    \
    MP_SQLITE_MSG_COLS ", (SELECT guest FROM users WHERE users.id = messages.sender_id)"
/* The same columns of a table aliased `m` (for joins). */
#define MP_SQLITE_MSG_COLS_M                                                                       \
    "m.id, m.conversation_id, m.seq, m.sender_id, m.client_msg_id, m.kind, m.body,"                \
    " m.created_at, m.version, m.content, m.search_extra, m.edited_at, m.deleted_at,"              \
    " m.reply_to, m.quote_sender, m.quote_kind, m.quote_text, m.quote_deleted, m.fwd_sender,"      \
    " m.fwd_at, m.mentions, m.mention_all, m.pinned_at, m.pinned_by, m.n_reactions,"               \
    " (SELECT guest FROM users WHERE users.id = m.sender_id)"

/* The presence audience of user ?1 (mp_store_chat_peers): every user who
 * shares a direct conversation, or a group without a member at offset ?2
 * (MP_CHAT_PRESENCE_GROUP_MAX), with them — a bounded probe of the
 * (conversation_id, user_id) primary key, not a count. Also the core of the
 * audience of a profile change (sqlite_people.c). */
#define MP_SQLITE_PEERS_SQL "SELECT DISTINCT m2.user_id" MP_SQLITE_PEERS_FROM
/* The FROM and WHERE of MP_SQLITE_PEERS_SQL, for queries that read more of
 * each peer (m2.user_id) than the id (the privacy audience of presence). */
#define MP_SQLITE_PEERS_FROM                                                                       \
    " FROM members m1"                                                                             \
    " JOIN conversations c ON c.id = m1.conversation_id"                                           \
    " JOIN members m2 ON m2.conversation_id = m1.conversation_id"                                  \
    " WHERE m1.user_id = ?1 AND m2.user_id <> ?1"                                                  \
    " AND (c.kind = 'direct' OR (SELECT m3.user_id FROM members m3"                                \
    " WHERE m3.conversation_id = m1.conversation_id"                                               \
    " ORDER BY m3.user_id LIMIT 1 OFFSET ?2) IS NULL)"

/* A growable array of message rows whose strings (and reaction sums) the
 * array owns. */
typedef struct mp_sqlite_msgvec {
    mp_msg_row_t *v;
    size_t n, cap;
} mp_sqlite_msgvec_t;

/* Appends the row s is on (columns as above). After the push, n_reactions
 * holds the STORED number of reaction rows and reactions is NULL:
 * mp_sqlite__msgs_reactions() turns that into the per-emoji sums as a
 * reader sees them; paths that never show reactions leave it. */
void mp_sqlite__msgvec_push(mp_sqlite_msgvec_t *mv, mp_sql_stmt_t *s);
/* Frees one row's strings and reactions (not the row). */
void mp_sqlite__msg_free(mp_msg_row_t *m);
void mp_sqlite__msgvec_free(mp_sqlite_msgvec_t *mv);
/* A deep copy of m into dst (strings and reactions owned by dst). */
void mp_sqlite__msg_copy(mp_msg_row_t *dst, const mp_msg_row_t *m);

/* What keys a conversation in the search index (the conv_key column of
 * search.messages_fts): each 16 bits of the low 48 of its id, high to low,
 * as the code point U+F0000 + n, four UTF-8 bytes each: one trigram, which
 * finds one conversation's messages. Text seldom holds it (the code points
 * are private use), and two ids share their low 48 bits only when made a
 * multiple of 2^26 ms (~18.6 hours: bit 48 is bit 26 of the id's time)
 * apart on the same node with the same counter; either way a candidate is
 * checked against its message. The high bits are
 * left out because they are the same for every conversation made around
 * the same time: a trigram of them would be in nearly every entry, and
 * ANDing it in doubled the time of a rare word's search within a large
 * conversation. No NUL is written. */
#define MP_SQLITE_CONV_KEY_LEN 12
void mp_sqlite__conv_key(uint64_t conv, char out[MP_SQLITE_CONV_KEY_LEN]);

/* The FTS5 query for the text q (3 or more characters) and, unless conv is
 * 0, that conversation: conv's key and each distinct trigram of q, each a
 * quoted string of its own, all ANDed. The index keeps no positions, so
 * this finds the messages holding every trigram somewhere: those holding
 * q and some others, which the caller checks. Freed by the caller. */
char *mp_sqlite__fts_query(const char *q, uint64_t conv);

/* "direct" / "group" / "world" → kind (anything else: direct). */
mp_conv_kind_t mp_sqlite__conv_kind(const char *s);

/* The head of the global change version (read). */
mp_err_t mp_sqlite__head_version(mp_sql_conn_t *db, int64_t *out)
    __attribute__((warn_unused_result));

/* MP_OK when user may read conversation conv (a member, or the world room);
 * MP_ERR_NOT_MEMBER also when conv does not exist, so that nobody learns
 * which ids exist. *kind (may be NULL) gets its kind. */
mp_err_t mp_sqlite__chat_access(mp_sql_conn_t *db, uint64_t user, uint64_t conv,
                                mp_conv_kind_t *kind) __attribute__((warn_unused_result));

/* The search index (sqlite_index.c) is kept in DIR/search.db behind a
 * watermark, upto: every indexable message (not system, not deleted for
 * everyone) with id <= upto has its entry, and no message above it has one.
 * Sends and forwards do not touch the index (the trigram insert would cost
 * them half their rate); the indexer, a thread of the store with its own
 * connection (sqlite.c), indexes the messages above the watermark in id
 * order, a chunk at a time, and moves it up. Edit and delete for everyone
 * add a row to search_changes, which the indexer applies after them; search
 * scans the messages above the watermark, asks the index below it, and
 * checks a message with a change not applied yet itself.
 *
 * Why a watermark is enough: message ids come from mp_id_next(), which is
 * strictly increasing within the process, and every INSERT INTO messages
 * (send, forward, group system messages; world posts are sends) draws its id
 * inside its run() on the writer thread, which runs jobs one at a time and
 * commits each batch before it starts the next. So a message drawn after
 * another commits with it or after it: every snapshot of the database holds
 * all the messages up to some id and none above it, and when the indexer
 * reads message X in its snapshot, no message with a smaller id can appear
 * later. Across restarts mp_store_open advances the id generator past the
 * largest stored id (mp_id_after), so a clock set back does not break this
 * either.
 *
 * mp_sqlite__fts_kept: whether the index is kept at all: on unless
 * mp_store_search_index turned it off at start-up. Jobs read it when queued
 * (loop thread) and carry it, since run() sees only the connection.
 * Defined in sqlite.c. */
bool mp_sqlite__fts_kept(mp_store_t *st);
void mp_sqlite__fts_keep(mp_store_t *st, bool on);
/* Tells the scheduler where the index stands (loop thread; after
 * mp_store_search_index changed it). Defined in sqlite.c. */
void mp_sqlite__fts_upto_known(mp_store_t *st, uint64_t upto, uint64_t changes_upto);
/* DIR/search.db. Defined in sqlite.c. */
const char *mp_sqlite__search_path(const mp_store_t *st);

/* Attaches the index's file as "search" to a connection on magpie.db (a
 * read-only connection attaches it read-only). */
mp_err_t mp_sqlite__search_attach(mp_sql_conn_t *db, const char *path)
    __attribute__((warn_unused_result));
/* The indexer's connection at open: attaches the file, creates what is
 * missing and starts the index over when it was built from another copy of
 * the database (a restored backup, a copied file). -1 with err set. */
int mp_sqlite__search_prepare(mp_sql_conn_t *db, const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Where the indexer is: the watermark, the last change applied, and whether
 * a pass found a full chunk (more may wait). */
typedef struct mp_sqlite_index_pos {
    uint64_t upto, changes_upto;
    bool full;
} mp_sqlite_index_pos_t;

/* One pass of the indexer (its connection): the next max changes and the
 * next max messages above the watermark, read in one read transaction and
 * written to search.db in another. Reading stops early once the text read
 * reaches max_bytes (at least one message is always read), and the pass
 * then counts as full. *pos gets the state after it; nothing is written
 * when there was nothing to do. */
mp_err_t mp_sqlite__fts_index_pass(mp_sql_conn_t *db, size_t max, size_t max_bytes,
                                   mp_sqlite_index_pos_t *pos) __attribute__((warn_unused_result));

/* Writer: message id changed in a way search must see (an edit, a delete
 * for everyone). Nothing on PostgreSQL, which keeps no index. */
mp_err_t mp_sqlite__search_changed(mp_sql_conn_t *db, uint64_t id)
    __attribute__((warn_unused_result));
/* Writer: forgets the changes the index has applied (seq <= upto). */
mp_err_t mp_sqlite__search_trim(mp_sql_conn_t *db, uint64_t upto)
    __attribute__((warn_unused_result));

/* Send-path pieces other writes reuse (defined in sqlite_chat.c, send
 * section). post_access: whether user may post in conv at now_ms, read in
 * the write transaction (MP_ERR_NOT_MEMBER, MP_ERR_DISSOLVED,
 * MP_ERR_NOT_ALLOWED, MP_ERR_GUEST_FORBIDDEN, MP_ERR_MUTED with
 * *muted_until, MP_ERR_PRIVACY in a direct conversation). direct_get: finds
 * or creates the direct conversation of (user, other), taking versions from
 * chat_state (creating one: MP_ERR_PRIVACY as for a send). On
 * MP_ERR_PRIVACY, *you_blocked (may be NULL) says it is user's own block. */
mp_err_t mp_sqlite__post_access(mp_sql_conn_t *db, uint64_t user, uint64_t conv, int64_t now_ms,
                                int64_t *muted_until, bool *you_blocked)
    __attribute__((warn_unused_result));
mp_err_t mp_sqlite__direct_get(mp_sql_conn_t *db, uint64_t user, uint64_t other, int64_t now_ms,
                               uint64_t *conv, bool *created, bool *you_blocked)
    __attribute__((warn_unused_result));

/* The user's settings from columns first.. of s (members.notify_until,
 * pinned_at, archived, cleared_seq, hidden, in this order), given the
 * conversation's last_seq: a deleted conversation counts as deleted only
 * until a message newer than what was cleared arrives. */
void mp_sqlite__settings_read(mp_sql_stmt_t *s, int first, int64_t last_seq,
                              mp_conv_settings_t *out);

/* For each row of msgs[0..n) with stored reactions, loads the per-emoji
 * sums as reader sees them (count, and whether reader is among them),
 * ordered by each emoji's first reaction. Defined in sqlite_reactions.c. */
mp_err_t mp_sqlite__msgs_reactions(mp_sql_conn_t *db, mp_msg_row_t *msgs, size_t n, uint64_t reader)
    __attribute__((warn_unused_result));

/* Whether user is banned from the world room (world_bans), read in the
 * caller's transaction: the send, forward and reaction jobs refuse a banned
 * user's post with MP_ERR_BANNED. Defined in sqlite_world_bans.c. */
mp_err_t mp_sqlite__world_banned(mp_sql_conn_t *db, uint64_t user, bool *banned)
    __attribute__((warn_unused_result));

#endif
