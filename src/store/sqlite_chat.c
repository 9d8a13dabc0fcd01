/* SQLite implementation of the messaging store ops (store/chat.h), as jobs on
 * the machinery of sqlite_job.h.
 *
 * Writes run on the single writer thread, so "read last_seq, add one, insert"
 * needs no further locking: seq is gap-free. Dedup is the unique index on
 * (client_msg_id, sender, device): a send inserts with ON CONFLICT DO
 * NOTHING and, when nothing was inserted, reads the original, so it is
 * exact even for duplicates that land in the same group-commit batch. Send
 * jobs keep the global version, each conversation's last_seq and the
 * sender's cursors in the writer's memory for consecutive sends and write
 * them once before each COMMIT (mp_sql_defer).
 * On SQLite they outlive the COMMIT until another job type runs or another
 * connection commits (send_write); a batch that fails to commit drops them,
 * so no stale counter is left behind. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/content.h"
#include "proto/group_rules.h"
#include "store/chat.h"
#include "store/messages.h"
#include "store/sqlite_chat_int.h"
#include "store/sqlite_contacts_int.h"
#include "store/sqlite_files_int.h"
#include "store/sqlite_groups_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_privacy_int.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/log.h"
#include "util/map.h"
#include "util/id.h"

/* ---- small helpers ------------------------------------------------------- */

const char *mp_conv_kind_name(mp_conv_kind_t kind)
{
    switch (kind) {
    case MP_CONV_GROUP:
        return "group";
    case MP_CONV_WORLD:
        return "world";
    case MP_CONV_DIRECT:
    default:
        return "direct";
    }
}

/* ---- message rows (sqlite_chat_int.h) ---------------------------------------- */

mp_conv_kind_t mp_sqlite__conv_kind(const char *s)
{
    if (s != NULL && strcmp(s, "group") == 0)
        return MP_CONV_GROUP;
    if (s != NULL && strcmp(s, "world") == 0)
        return MP_CONV_WORLD;
    return MP_CONV_DIRECT;
}

/* A heap copy of a text column, NULL for SQL NULL (optional strings). */
static char *col_dup_opt(mp_sql_stmt_t *s, int i)
{
    const char *t = mp_sql_col_text(s, i);
    return t != NULL ? mp_strdup(t) : NULL;
}

void mp_sqlite__msgvec_push(mp_sqlite_msgvec_t *mv, mp_sql_stmt_t *s)
{
    if (mv->n == mv->cap) {
        mv->cap = mv->cap ? mv->cap * 2 : 16;
        mv->v = mp_realloc(mv->v, mv->cap * sizeof *mv->v);
    }
    mp_msg_row_t *m = &mv->v[mv->n++];
    memset(m, 0, sizeof *m);
    m->id = col_u64(s, 0);
    m->conversation_id = col_u64(s, 1);
    m->seq = mp_sql_col_i64(s, 2);
    m->sender_id = col_u64(s, 3);
    m->client_msg_id = col_dup(s, 4);
    m->kind = col_dup(s, 5);
    m->text = col_dup(s, 6);
    m->created_at = mp_sql_col_i64(s, 7);
    m->version = mp_sql_col_i64(s, 8);
    m->content = col_dup_opt(s, 9);
    m->search_extra = col_dup_opt(s, 10);
    m->edited_at = mp_sql_col_i64(s, 11); /* NULL reads as 0 */
    m->deleted_at = mp_sql_col_i64(s, 12);
    m->reply_to = col_u64(s, 13);
    m->quote_sender = col_u64(s, 14);
    m->quote_kind = col_dup_opt(s, 15);
    m->quote_text = col_dup_opt(s, 16);
    m->quote_deleted = mp_sql_col_int(s, 17) != 0;
    m->fwd_sender = col_u64(s, 18);
    m->fwd_at = mp_sql_col_i64(s, 19);
    m->mentions = col_dup_opt(s, 20);
    m->mention_all = mp_sql_col_int(s, 21) != 0;
    m->pinned_at = mp_sql_col_i64(s, 22);
    m->pinned_by = col_u64(s, 23);
    m->n_reactions = (size_t)mp_sql_col_i64(s, 24);
    m->sender_guest =
        mp_sql_col_count(s) > MP_SQLITE_MSG_NCOLS &&
        (mp_sql_col_is_null(s, MP_SQLITE_MSG_NCOLS) || mp_sql_col_int(s, MP_SQLITE_MSG_NCOLS) != 0);
}

static size_t len0(const char *s)
{
    return s != NULL ? strlen(s) : 0;
}

size_t mp_chat_msg_raw_bytes(const mp_msg_row_t *m)
{
    return len0(m->text) + len0(m->client_msg_id) + len0(m->kind) + len0(m->content) +
           len0(m->quote_text) + len0(m->mentions) + 16 * m->n_reactions;
}

static char *dup_opt(const char *s)
{
    return s != NULL ? mp_strdup(s) : NULL;
}

void mp_sqlite__msg_copy(mp_msg_row_t *dst, const mp_msg_row_t *m)
{
    *dst = *m;
    dst->client_msg_id = dup_opt(m->client_msg_id);
    dst->kind = dup_opt(m->kind);
    dst->text = dup_opt(m->text);
    dst->content = dup_opt(m->content);
    dst->search_extra = dup_opt(m->search_extra);
    dst->quote_kind = dup_opt(m->quote_kind);
    dst->quote_text = dup_opt(m->quote_text);
    dst->mentions = dup_opt(m->mentions);
    if (m->reactions != NULL) {
        mp_reaction_sum_t *r = mp_malloc((m->n_reactions ? m->n_reactions : 1) * sizeof *r);
        for (size_t i = 0; i < m->n_reactions; i++) {
            r[i] = m->reactions[i];
            r[i].emoji = mp_strdup(m->reactions[i].emoji);
        }
        dst->reactions = r;
    }
}

void mp_sqlite__msg_free(mp_msg_row_t *m)
{
    mp_free((void *)m->client_msg_id);
    mp_free((void *)m->kind);
    mp_free((void *)m->text);
    mp_free((void *)m->content);
    mp_free((void *)m->search_extra);
    mp_free((void *)m->quote_kind);
    mp_free((void *)m->quote_text);
    mp_free((void *)m->mentions);
    if (m->reactions != NULL) {
        for (size_t i = 0; i < m->n_reactions; i++)
            mp_free((void *)m->reactions[i].emoji);
        mp_free((void *)m->reactions);
    }
}

void mp_msg_row_copy(mp_msg_row_t *dst, const mp_msg_row_t *m)
{
    mp_sqlite__msg_copy(dst, m);
}

void mp_msg_row_release(mp_msg_row_t *m)
{
    if (m == NULL)
        return;
    mp_sqlite__msg_free(m);
    memset(m, 0, sizeof *m);
}

void mp_sqlite__msgvec_free(mp_sqlite_msgvec_t *mv)
{
    for (size_t i = 0; i < mv->n; i++)
        mp_sqlite__msg_free(&mv->v[i]);
    mp_free(mv->v);
    mv->v = NULL;
    mv->n = mv->cap = 0;
}

/* ---- shared SQL pieces (writer and readers) ------------------------------ */

static const char SQL_NEXT_VERSION[] =
    "UPDATE chat_state SET version = version + 1 WHERE id = 1 RETURNING version";
static const char SQL_HEAD_VERSION[] = "SELECT version FROM chat_state WHERE id = 1";
/* Reads EXISTS(...) as an integer: SQLite answers 0/1, PostgreSQL a boolean
 * (its side of the seam must convert). */
static const char SQL_ACCESS[] =
    "SELECT c.kind, EXISTS(SELECT 1 FROM members m WHERE m.conversation_id = c.id"
    " AND m.user_id = ?1) FROM conversations c WHERE c.id = ?2";

mp_err_t mp_sqlite__next_version(mp_sql_conn_t *db, int64_t *out)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_NEXT_VERSION);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    *out = mp_sql_col_i64(s, 0);
    mp_sql_reset(s);
    return MP_OK;
}

mp_err_t mp_sqlite__head_version(mp_sql_conn_t *db, int64_t *out)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_HEAD_VERSION);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    *out = mp_sql_col_i64(s, 0);
    return MP_OK;
}

/* MP_OK when user may read and write conversation conv (a member, or the
 * world room); MP_ERR_NOT_MEMBER also when conv does not exist, so that
 * nobody learns which ids exist. */
mp_err_t mp_sqlite__chat_access(mp_sql_conn_t *db, uint64_t user, uint64_t conv,
                                mp_conv_kind_t *kind)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_ACCESS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    bind_u64(s, 2, conv);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_MEMBER;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    mp_conv_kind_t k = mp_sqlite__conv_kind(mp_sql_col_text(s, 0));
    bool member = mp_sql_col_int(s, 1) != 0;
    if (kind)
        *kind = k;
    return member || k == MP_CONV_WORLD ? MP_OK : MP_ERR_NOT_MEMBER;
}

/* ---- direct conversations (writer) ---------------------------------------- */

static const char SQL_PAIR_GET[] =
    "SELECT conversation_id FROM direct_pairs WHERE user_lo = ?1 AND user_hi = ?2";
/* A pending account (e-mail not verified) is nobody yet: not found. */
static const char SQL_USER_GUEST[] = "SELECT guest FROM users WHERE id = ?1 AND pending = 0";
static const char SQL_CONV_INSERT[] =
    "INSERT INTO conversations(id, kind, creator_id, version, created_at, active_at)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?5)";
static const char SQL_MEMBER_INSERT[] =
    "INSERT INTO members(conversation_id, user_id, role, joined_at, version)"
    " VALUES(?1, ?2, ?3, ?4, ?5)";
static const char SQL_PAIR_INSERT[] =
    "INSERT INTO direct_pairs(user_lo, user_hi, conversation_id) VALUES(?1, ?2, ?3)";

/* A direct pair is stored in one order, the lower id first: the key's
 * columns ?1 and ?2 of SQL_PAIR_GET and SQL_PAIR_INSERT. */
static void pair_bind(mp_sql_stmt_t *s, uint64_t a, uint64_t b)
{
    bind_u64(s, 1, a < b ? a : b);
    bind_u64(s, 2, a < b ? b : a);
}

/* The direct conversation of (user, other), if they have one yet. */
static mp_err_t direct_find(mp_sql_conn_t *db, uint64_t user, uint64_t other, uint64_t *conv)
{
    if (user == other)
        return MP_ERR_BAD_REQUEST;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_PAIR_GET);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    pair_bind(s, user, other);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_FOUND;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    *conv = col_u64(s, 0);
    return MP_OK;
}

/* MP_OK when user exists and may be a direct peer: guests may only use the
 * world room (MP_ERR_GUEST_FORBIDDEN), unknown ids are MP_ERR_NOT_FOUND. */
static mp_err_t peer_check(mp_sql_conn_t *db, uint64_t user)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_USER_GUEST);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_FOUND;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    bool guest = mp_sql_col_int(s, 0) != 0;
    mp_sql_reset(s);
    return guest ? MP_ERR_GUEST_FORBIDDEN : MP_OK;
}

static mp_err_t member_insert(mp_sql_conn_t *db, uint64_t conv, uint64_t user, const char *role,
                              int64_t now, int64_t version)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_MEMBER_INSERT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, conv);
    bind_u64(s, 2, user);
    mp_sql_bind_text(s, 3, role, -1);
    mp_sql_bind_i64(s, 4, now);
    mp_sql_bind_i64(s, 5, version);
    return step_done(db, s);
}

/* vnext: NULL takes the version from chat_state; else *vnext is the last
 * version handed out in memory (a send job's counter) and is advanced. */
static mp_err_t direct_create(mp_sql_conn_t *db, uint64_t user, uint64_t other, int64_t now,
                              uint64_t *conv, int64_t *vnext)
{
    int64_t v;
    mp_err_t rc = MP_OK;
    if (vnext != NULL)
        v = ++*vnext;
    else
        rc = mp_sqlite__next_version(db, &v);
    if (rc != MP_OK)
        return rc;
    uint64_t id = mp_id_next();
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_CONV_INSERT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, id);
    mp_sql_bind_text(s, 2, "direct", -1);
    bind_u64(s, 3, user);
    mp_sql_bind_i64(s, 4, v);
    mp_sql_bind_i64(s, 5, now);
    if ((rc = step_done(db, s)) != MP_OK)
        return rc;
    if ((rc = member_insert(db, id, user, "member", now, v)) != MP_OK ||
        (rc = member_insert(db, id, other, "member", now, v)) != MP_OK)
        return rc;
    s = mp_sql_prepare(db, SQL_PAIR_INSERT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    pair_bind(s, user, other);
    bind_u64(s, 3, id);
    if ((rc = step_done(db, s)) != MP_OK)
        return rc;
    *conv = id;
    return MP_OK;
}

/* Creates the direct conversation of (user, other) once direct_find found
 * none; vnext as for direct_create. Creating one is writing to other for
 * the first time: the privacy rule of messages decides (MP_ERR_PRIVACY,
 * *you_blocked when the refusal is user's own block; you_blocked may be
 * NULL). lazy: the job whose savepoint is taken before the first write. */
static mp_err_t direct_open(mp_sql_conn_t *db, uint64_t user, uint64_t other, int64_t now,
                            uint64_t *conv, int64_t *vnext, bool *you_blocked, mp_sql_job_t *lazy)
{
    mp_err_t rc = peer_check(db, other);
    if (rc != MP_OK)
        return rc;
    if ((rc = mp_sqlite__privacy_check(db, user, other, MP_PRIVACY_MESSAGE, you_blocked)) != MP_OK)
        return rc;
    if (lazy != NULL && (rc = mp_sqlite__job_savepoint(db, lazy)) != MP_OK)
        return rc;
    return direct_create(db, user, other, now, conv, vnext);
}

/* Finds or creates the direct conversation of (user, other). An existing
 * one is found whatever the privacy rule says: each send in it is checked
 * on its own. */
static mp_err_t direct_get(mp_sql_conn_t *db, uint64_t user, uint64_t other, int64_t now,
                           uint64_t *conv, bool *created, bool *you_blocked)
{
    *created = false;
    mp_err_t rc = direct_find(db, user, other, conv);
    if (rc != MP_ERR_NOT_FOUND)
        return rc;
    rc = direct_open(db, user, other, now, conv, NULL, you_blocked, NULL);
    *created = rc == MP_OK;
    return rc;
}

/* ---- send (writer) ------------------------------------------------------------ */

typedef struct send_job {
    mp_sql_job_t base;
    mp_chat_send_in_t in;     /* strings and mentions point to the copies below */
    char *cmid, *text, *kind; /* inside this allocation, after the struct */
    char *content, *extra;    /* likewise (NULL when not given) */
    /* Replies and mentions only (the plain send allocates nothing more):
     * the quoted message's snapshot and the mentions as stored. */
    char *quote_kind, *quote_text, *mentions;
    /* Media kinds only: the file named and the content filled from it. */
    uint64_t file_id;
    char *filled;
    mp_chat_send_out_t out;
    mp_sqlite_msgvec_t orig; /* the original message on a duplicate */
    mp_chat_send_fn cb;
    void *ud;
} send_job_t;

/* Dedup is per device (client_msg_id is unique per device, see
 * migration_dedup.h): the unique index messages_dedup serves the lookup,
 * and the INSERT names it as its conflict target, so that a new message
 * (nearly every send) costs one seek of that index, not a lookup and then
 * the same seek again. Any other constraint still fails the INSERT. */
static const char SQL_DEDUP[] = "SELECT " MP_SQLITE_MSG_COLS " FROM messages WHERE sender_id = ?1"
                                " AND sender_device = ?3 AND client_msg_id = ?2";
static const char SQL_MSG_INSERT[] =
    "INSERT INTO messages(id, conversation_id, seq, sender_id, client_msg_id, kind, body,"
    " created_at, version, created_version, sender_device, content, search_extra, reply_to,"
    " quote_sender, quote_kind, quote_text, mentions, mention_all)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
    " ON CONFLICT(client_msg_id, sender_id, sender_device) DO NOTHING";

static mp_err_t send_dedup(mp_sql_conn_t *db, send_job_t *j, bool *found)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_DEDUP);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->in.sender_id);
    mp_sql_bind_text(s, 2, j->in.client_msg_id, -1);
    bind_u64(s, 3, j->in.sender_device);
    int rc = mp_sql_step(s);
    *found = rc == MP_SQL_ROW;
    if (rc == MP_SQL_ROW) {
        mp_sqlite__msgvec_push(&j->orig, s);
        /* The answer to a send carries no reactions (they are a read
         * path's, per reader): drop the stored count the row came with. */
        j->orig.v[0].n_reactions = 0;
        mp_sql_reset(s);
    } else if (rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    return MP_OK;
}

/* ---- send: the search index, replies and mentions ------------------------------ */

static const char SQL_USER_EXISTS[] = "SELECT 1 FROM users WHERE id = ?1";
static const char SQL_MEMBER_EXISTS[] =
    "SELECT 1 FROM members WHERE conversation_id = ?1 AND user_id = ?2";
static const char SQL_QUOTED[] =
    "SELECT conversation_id, sender_id, kind, body, deleted_at FROM messages WHERE id = ?1";
static const char SQL_KIND_ROLE[] =
    "SELECT c.kind, m.role FROM conversations c LEFT JOIN members m"
    " ON m.conversation_id = c.id AND m.user_id = ?1 WHERE c.id = ?2";
static const char SQL_MARK_INSERT[] =
    "INSERT INTO mention_marks(conversation_id, user_id, seq, sender_id) VALUES(?1, ?2, ?3, ?4)"
    " ON CONFLICT DO NOTHING";

/* Whether the statement (one id bound as ?1, another as ?2 when b != 0)
 * finds a row. */
static mp_err_t row_exists(mp_sql_conn_t *db, const char *sql, uint64_t a, uint64_t b, bool *yes)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, sql);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, a);
    if (b != 0)
        bind_u64(s, 2, b);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW && rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    *yes = rc == MP_SQL_ROW;
    mp_sql_reset(s);
    return MP_OK;
}

/* Bytes of the first max_chars characters of the UTF-8 string s: a cut
 * never splits a character. */
static size_t utf8_prefix(const char *s, size_t max_chars)
{
    size_t i = 0, n = 0;
    for (; s[i] != '\0'; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (n == max_chars)
                break;
            n++;
        }
    }
    return i;
}

/* reply_to: a live message of the same conversation; its snapshot is taken
 * now, so that the reply still shows what it answered later. */
static mp_err_t send_quote_load(mp_sql_conn_t *db, send_job_t *j, uint64_t conv)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_QUOTED);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->in.reply_to);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW && rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    if (rc == MP_SQL_DONE || col_u64(s, 0) != conv || mp_sql_col_i64(s, 4) != 0) {
        mp_sql_reset(s);
        return MP_ERR_NOT_FOUND;
    }
    mp_msg_row_t *m = &j->out.msg;
    m->reply_to = j->in.reply_to;
    m->quote_sender = col_u64(s, 1);
    j->quote_kind = col_dup(s, 2);
    const char *body = mp_sql_col_text(s, 3);
    body = body ? body : "";
    size_t n = utf8_prefix(body, MP_CHAT_QUOTE_CHARS);
    j->quote_text = mp_malloc(n + 1);
    memcpy(j->quote_text, body, n);
    j->quote_text[n] = '\0';
    mp_sql_reset(s);
    m->quote_kind = j->quote_kind;
    m->quote_text = j->quote_text;
    return MP_OK;
}

/* mentions: each a member of conv (world: any user), stored once each as a
 * comma list; mention_all: groups only, by their owner or admins. */
static mp_err_t send_mentions_check(mp_sql_conn_t *db, send_job_t *j, uint64_t conv)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_KIND_ROLE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->in.sender_id);
    bind_u64(s, 2, conv);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return rc == MP_SQL_DONE ? MP_ERR_NOT_MEMBER : mp_sql_err(db, rc);
    mp_conv_kind_t kind = mp_sqlite__conv_kind(mp_sql_col_text(s, 0));
    mp_group_role_t role = mp_sqlite__group_role(mp_sql_col_text(s, 1));
    mp_sql_reset(s);

    if (j->in.mention_all) {
        j->out.bad_field = "mention_all";
        if (kind != MP_CONV_GROUP)
            return MP_ERR_BAD_REQUEST;
        if (role < MP_GROUP_ADMIN)
            return MP_ERR_NOT_ALLOWED;
        j->out.bad_field = NULL;
    }
    if (j->in.n_mentions == 0)
        return MP_OK;
    j->out.bad_field = "mentions";
    /* At most MP_CHAT_MENTIONS_MAX ids of at most 20 digits and a comma. */
    j->mentions = mp_malloc(j->in.n_mentions * 21 + 1);
    size_t len = 0;
    for (size_t i = 0; i < j->in.n_mentions; i++) {
        uint64_t u = j->in.mentions[i];
        bool seen = false, ok = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = j->in.mentions[k] == u;
        if (seen)
            continue;
        mp_err_t e = kind == MP_CONV_WORLD ? row_exists(db, SQL_USER_EXISTS, u, 0, &ok)
                                           : row_exists(db, SQL_MEMBER_EXISTS, conv, u, &ok);
        if (e != MP_OK)
            return e;
        if (!ok || u == 0)
            return MP_ERR_BAD_REQUEST;
        char id[MP_ID_STRLEN];
        len += (size_t)sprintf(j->mentions + len, "%s%s", len ? "," : "", mp_id_format(u, id));
    }
    j->out.bad_field = NULL;
    j->out.msg.mentions = j->mentions;
    return MP_OK;
}

/* The file of a media kind: the sender may read it (the access rule of
 * store/files.h, on this connection, so that a kick or a delete that commits
 * first is seen), its class suits the kind, and the content to store is
 * rewritten from it. The rewrite is a pure function of proto/ over the facts
 * read here (the store builds no JSON of its own): the stored content is
 * what every later reader — event, history, sync, search — shows. */
static mp_err_t send_file_check(mp_sql_conn_t *db, send_job_t *j, mp_msg_kind_t kind)
{
    const mp_chat_send_in_t *in = &j->in;
    j->out.bad_field = "content.file_id";
    uint64_t fid = mp_content_file_id(kind, j->content);
    if (fid == 0)
        return MP_ERR_NOT_FOUND;
    mp_file_row_t f;
    memset(&f, 0, sizeof f);
    mp_err_t rc =
        mp_sqlite__file_access(db, fid, in->sender_id, in->sender_guest, in->world_id, &f);
    if (rc == MP_OK) {
        mp_content_file_t cf = {.cls = mp_file_class_name(f.cls),
                                .mime = f.serve_mime,
                                .size = f.serve_size,
                                .meta = f.meta};
        rc = mp_content_fill(kind, j->content, &cf, &j->filled);
    }
    mp_free(f.meta);
    if (rc != MP_OK && rc != MP_ERR_NOT_FOUND && rc != MP_ERR_BAD_REQUEST)
        j->out.bad_field = NULL;
    if (rc != MP_OK)
        return rc;
    j->out.bad_field = NULL;
    j->file_id = fid;
    return MP_OK;
}

/* Everything a send reads besides the posting rules, only for the fields it
 * was given: the plain text send reads nothing here (the hot path). */
static mp_err_t send_extras_check(mp_sql_conn_t *db, send_job_t *j, uint64_t conv)
{
    const mp_chat_send_in_t *in = &j->in;
    mp_err_t rc = MP_OK;
    mp_msg_kind_t kind = MP_KIND_TEXT;
    if (mp_kind_parse(in->kind, &kind) && mp_kind_has_file(kind) &&
        (rc = send_file_check(db, j, kind)) != MP_OK)
        return rc;
    if (in->contact_user != 0) {
        bool ok = false;
        if ((rc = row_exists(db, SQL_USER_EXISTS, in->contact_user, 0, &ok)) != MP_OK)
            return rc;
        if (!ok) {
            j->out.bad_field = "content";
            return MP_ERR_NOT_FOUND;
        }
    }
    if (in->reply_to != 0 && (rc = send_quote_load(db, j, conv)) != MP_OK) {
        if (rc == MP_ERR_NOT_FOUND)
            j->out.bad_field = "reply_to";
        return rc;
    }
    if (in->n_mentions != 0 || in->mention_all)
        rc = send_mentions_check(db, j, conv);
    return rc;
}

/* Whether send_extras_write may write anything after the message's INSERT:
 * the INSERT is then not the send's last change and needs a savepoint (see
 * send_insert). Kept next to send_extras_write so that both change together;
 * a self-mention alone answers true, which costs only an unneeded savepoint. */
static bool send_has_extras(const send_job_t *j)
{
    return j->file_id != 0 || j->in.n_mentions != 0 || j->in.mention_all;
}

/* What the new message adds besides its row: its file reference and the
 * mention marks (unread mentions are counted from them; the sender never
 * mentions themself). */
static mp_err_t send_extras_write(mp_sql_conn_t *db, send_job_t *j, const mp_msg_row_t *m)
{
    mp_err_t rc = MP_OK;
    /* The message's reference to its file: what lets the members read it,
     * and what keeps the sweep away from it. */
    if (j->file_id != 0 &&
        (rc = mp_sqlite__file_ref_add(db, j->file_id, m->id, m->conversation_id)) != MP_OK)
        return rc;
    for (size_t i = 0; i <= j->in.n_mentions && rc == MP_OK; i++) {
        uint64_t u;
        if (i < j->in.n_mentions)
            u = j->in.mentions[i];
        else if (j->in.mention_all)
            u = 0; /* @all */
        else
            break;
        if (u == m->sender_id && i < j->in.n_mentions)
            continue;
        mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_MARK_INSERT);
        if (s == NULL)
            return MP_ERR_INTERNAL;
        bind_u64(s, 1, m->conversation_id);
        bind_u64(s, 2, u);
        mp_sql_bind_i64(s, 3, m->seq);
        bind_u64(s, 4, m->sender_id);
        rc = step_done(db, s);
    }
    /* No index entry here: the indexer adds it later (see
     * sqlite_chat_int.h, "The search index"). */
    return rc;
}

/* ---- send: counters in the writer's memory for a run of sends ------------------ */

/* The run's counters, keyed by (a, b): (conversation, 0) for a
 * conversation's last_seq, (conversation, user) for a sender's cursor and
 * whether that user may post there. The tree's one map (util/map.h) holds, per
 * 64-bit mix of (a, b), a short chain of entries (two pairs mixing to the same
 * key share it), so an entry never moves once made. A run lasts from the
 * first send after any other write job to the next one, across batches on
 * SQLite (send_write). */
/* Past this many (conversation, sender) entries a run's counters are
 * forgotten at the next COMMIT: ~100 bytes each, so a few MiB at most. */
#define MP_SQLITE_SEND_KEEP 65536
typedef struct sent {
    struct sent *next; /* same mixed key */
    uint64_t a, b;
    int64_t seq, version, at;
    int64_t muted_until; /* cursors: the sender's mute in a group (0 = none) */
    mp_err_t deny;       /* cursors: why the sender may not post (MP_OK: may) */
    bool you_blocked;    /* cursors: deny is MP_ERR_PRIVACY for the sender's own block */
    bool access_known;   /* cursors: deny and muted_until are loaded */
    bool dirty;          /* to be written by send_flush */
} sent_t;

typedef struct stab {
    mp_map_t m; /* mixed (a, b) -> sent_t chain */
} stab_t;

typedef struct send_state {
    mp_sql_deferred_t base;
    bool have_version;
    int64_t version; /* the last version handed out */
    bool version_dirty;
    stab_t convs, cursors;
} send_state_t;

static uint64_t stab_key(uint64_t a, uint64_t b)
{
    return a ^ (b * 0x9e3779b97f4a7c15ULL);
}

static sent_t *stab_find(const stab_t *t, uint64_t a, uint64_t b)
{
    for (sent_t *e = mp_map_get(&t->m, stab_key(a, b)); e != NULL; e = e->next)
        if (e->a == a && e->b == b)
            return e;
    return NULL;
}

/* Inserts a zeroed entry for a key that is not there. */
static sent_t *stab_add(stab_t *t, uint64_t a, uint64_t b)
{
    sent_t *e = mp_calloc(1, sizeof *e);
    e->a = a;
    e->b = b;
    void **head = mp_map_upsert(&t->m, stab_key(a, b), NULL);
    e->next = *head;
    *head = e;
    return e;
}

/* Calls fn on every entry until it returns an error. */
static mp_err_t stab_each(const stab_t *t, mp_err_t (*fn)(mp_sql_conn_t *, sent_t *),
                          mp_sql_conn_t *db)
{
    mp_map_iter_t it;
    void *v;
    mp_map_iter_init(&t->m, &it);
    while (mp_map_iter_next(&t->m, &it, NULL, &v))
        for (sent_t *e = v; e != NULL; e = e->next) {
            mp_err_t rc = fn(db, e);
            if (rc != MP_OK)
                return rc;
        }
    return MP_OK;
}

static void stab_free(stab_t *t)
{
    mp_map_iter_t it;
    void *v;
    mp_map_iter_init(&t->m, &it);
    while (mp_map_iter_next(&t->m, &it, NULL, &v))
        for (sent_t *e = v, *next; e != NULL; e = next) {
            next = e->next;
            mp_free(e);
        }
    mp_map_free(&t->m);
}

static void send_state_free(send_state_t *ss)
{
    stab_free(&ss->convs);
    stab_free(&ss->cursors);
    mp_free(ss);
}

static const char SQL_VERSION_SET[] = "UPDATE chat_state SET version = ?1 WHERE id = 1";
static const char SQL_CONV_LAST_SEQ[] = "SELECT last_seq FROM conversations WHERE id = ?1";
static const char SQL_CONV_SET_SEQ[] =
    "UPDATE conversations SET last_seq = ?2, version = ?3, active_at = ?4 WHERE id = ?1";
/* A cursor never moves back: CASE is the larger of two values in both
 * dialects (SQLite's two-argument max() is PostgreSQL's GREATEST). */
static const char SQL_SENDER_READ[] =
    "UPDATE members SET read_seq = CASE WHEN read_seq > ?3 THEN read_seq ELSE ?3 END,"
    " delivered_seq = CASE WHEN delivered_seq > ?3 THEN delivered_seq ELSE ?3 END,"
    " version = ?4 WHERE conversation_id = ?1 AND user_id = ?2";

static mp_err_t exec_4(mp_sql_conn_t *db, const char *sql, int64_t a, int64_t b, int64_t c,
                       int64_t d, int nargs)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, sql);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    int64_t v[4] = {a, b, c, d};
    for (int i = 0; i < nargs; i++)
        mp_sql_bind_i64(s, i + 1, v[i]);
    return step_done(db, s);
}

static mp_err_t flush_conv(mp_sql_conn_t *db, sent_t *e)
{
    if (!e->dirty)
        return MP_OK;
    e->dirty = false;
    return exec_4(db, SQL_CONV_SET_SEQ, (int64_t)e->a, e->seq, e->version, e->at, 4);
}

static mp_err_t flush_cursor(mp_sql_conn_t *db, sent_t *e)
{
    if (!e->dirty)
        return MP_OK;
    e->dirty = false;
    return exec_4(db, SQL_SENDER_READ, (int64_t)e->a, (int64_t)e->b, e->seq, e->version, 4);
}

/* Writes what the batch's sends changed: the version, each conversation's
 * last_seq/version/active_at, and each sender's cursors (the sender has read
 * what they wrote, so their own messages never count as unread). Nothing is
 * dirty afterwards; on failure the batch fails and the state is dropped. */
static mp_err_t send_write(mp_sql_conn_t *db, mp_sql_deferred_t *d)
{
    send_state_t *ss = (send_state_t *)d;
    mp_err_t rc = MP_OK;
    if (ss->version_dirty)
        rc = exec_4(db, SQL_VERSION_SET, ss->version, 0, 0, 0, 1);
    ss->version_dirty = false;
    if (rc == MP_OK)
        rc = stab_each(&ss->convs, flush_conv, db);
    if (rc == MP_OK)
        rc = stab_each(&ss->cursors, flush_cursor, db);
    /* What was read stays true while only sends write (sqlite_job.h), so
     * the next batch goes on without reading each conversation's last_seq
     * and each sender's rules again: with many pairs per batch those reads
     * were as many statements as the messages' own. Past a bound the
     * entries are forgotten, to be read again as needed. */
    if (rc == MP_OK && mp_map_len(&ss->cursors.m) > MP_SQLITE_SEND_KEEP) {
        stab_free(&ss->cursors);
        stab_free(&ss->convs);
    }
    return rc;
}

static mp_err_t send_flush(mp_sql_conn_t *db, mp_sql_deferred_t *d)
{
    mp_err_t rc = send_write(db, d);
    send_state_free((send_state_t *)d);
    return rc;
}

static void send_drop(mp_sql_deferred_t *d)
{
    send_state_free((send_state_t *)d);
}

static mp_err_t send_run(mp_sql_conn_t *db, mp_sql_job_t *job);

/* Reads of a conversation's last_seq or a sender's rules, for the test hook
 * below (process-wide: relaxed, never on a decision's path). */
static atomic_uint_fast64_t send_loads;

uint64_t mp_sqlite__send_loads(void)
{
    return atomic_load_explicit(&send_loads, memory_order_relaxed);
}

/* The state of the current run of sends, registered on the writer's
 * connection on first use (the writer flushes it before any other job). */
static send_state_t *send_state(mp_sql_conn_t *db)
{
    mp_sql_deferred_t *d = mp_sql_deferred(db);
    if (d != NULL && d->owner == send_run)
        return (send_state_t *)d;
    send_state_t *ss = mp_calloc(1, sizeof *ss);
    ss->base.owner = send_run;
    ss->base.flush = send_flush;
    ss->base.drop = send_drop;
    ss->base.write = send_write;
    mp_sql_defer(db, &ss->base);
    return ss;
}

/* The last version handed out (loaded once per run). */
static mp_err_t state_version(mp_sql_conn_t *db, send_state_t *ss, int64_t *out)
{
    if (!ss->have_version) {
        mp_err_t rc = mp_sqlite__head_version(db, &ss->version);
        if (rc != MP_OK)
            return rc;
        ss->have_version = true;
    }
    *out = ss->version;
    return MP_OK;
}

/* conv's entry with its current last_seq (loaded once per run);
 * MP_ERR_NOT_MEMBER when the conversation does not exist. */
static mp_err_t state_conv(mp_sql_conn_t *db, send_state_t *ss, uint64_t conv, sent_t **out)
{
    sent_t *e = stab_find(&ss->convs, conv, 0);
    if (e == NULL) {
        atomic_fetch_add_explicit(&send_loads, 1, memory_order_relaxed);
        mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_CONV_LAST_SEQ);
        if (s == NULL)
            return MP_ERR_INTERNAL;
        bind_u64(s, 1, conv);
        int rc = mp_sql_step(s);
        if (rc != MP_SQL_ROW)
            return rc == MP_SQL_DONE ? MP_ERR_NOT_MEMBER : mp_sql_err(db, rc);
        int64_t seq = mp_sql_col_i64(s, 0);
        mp_sql_reset(s);
        e = stab_add(&ss->convs, conv, 0);
        e->seq = seq;
    }
    *out = e;
    return MP_OK;
}

/* Every rule that decides whether user may post in conv, read in the write
 * transaction itself: the caller's cached view (src/chat) may be a few
 * milliseconds old, and a send that passed it after a dissolve or a mute
 * committed must still be refused here, or it would be stored after the
 * system message that announced the change. */
/* Column 5 reads a boolean expression as an integer (see SQL_ACCESS). */
static const char SQL_SEND_ACCESS[] =
    "SELECT c.kind, c.dissolved_at, c.who_can_post, m.role, m.muted_until,"
    " c.kind = 'direct' AND EXISTS(SELECT 1 FROM members p JOIN users u ON u.id = p.user_id"
    " WHERE p.conversation_id = c.id AND p.user_id <> ?1 AND u.guest = 1)"
    " FROM conversations c LEFT JOIN members m ON m.conversation_id = c.id AND m.user_id = ?1"
    " WHERE c.id = ?2";

/* Loads into e why user may not post in conv (MP_OK: may), in the order the
 * cached pre-check answers: membership, dissolution, who_can_post, a guest
 * peer, then (direct only, the cache knows nothing of it) the privacy rule
 * of messages: blocks both ways and the peer's message setting; the mute's
 * end goes to e->muted_until, compared per send. */
static mp_err_t send_access_load(mp_sql_conn_t *db, uint64_t user, uint64_t conv, sent_t *e)
{
    atomic_fetch_add_explicit(&send_loads, 1, memory_order_relaxed);
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SEND_ACCESS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    bind_u64(s, 2, conv);
    int rc = mp_sql_step(s);
    e->deny = MP_ERR_NOT_MEMBER;
    e->muted_until = 0;
    if (rc == MP_SQL_DONE) {
        e->access_known = true;
        return MP_OK;
    }
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    mp_conv_kind_t kind = mp_sqlite__conv_kind(mp_sql_col_text(s, 0));
    bool member = !mp_sql_col_is_null(s, 3);
    if (kind == MP_CONV_WORLD) {
        mp_sql_reset(s);
        bool banned = false;
        mp_err_t err = mp_sqlite__world_banned(db, user, &banned);
        if (err != MP_OK)
            return err;
        e->deny = banned ? MP_ERR_BANNED : MP_OK;
    } else if (!member)
        e->deny = MP_ERR_NOT_MEMBER;
    else if (kind == MP_CONV_GROUP) /* the mute is compared per send, below */
        e->deny = mp_group_rule(
            MP_GRULE_POST, &(mp_group_facts_t){.member = true,
                                               .dissolved = mp_sql_col_i64(s, 1) != 0,
                                               .role = mp_sqlite__group_role(mp_sql_col_text(s, 3)),
                                               .settings.post_admins = mp_sql_col_int(s, 2) != 0});
    else if (mp_sql_col_int(s, 5) != 0)
        e->deny = MP_ERR_GUEST_FORBIDDEN;
    else
        e->deny = MP_OK;
    if (kind == MP_CONV_GROUP && member)
        e->muted_until = mp_sql_col_i64(s, 4);
    mp_sql_reset(s);
    e->you_blocked = false;
    if (kind == MP_CONV_DIRECT && e->deny == MP_OK) {
        mp_err_t err = mp_sqlite__direct_privacy(db, user, conv, &e->deny, &e->you_blocked);
        if (err != MP_OK)
            return err;
    }
    e->access_known = true;
    return MP_OK;
}

/* Whether user may post in conv at now_ms; the rules are read once per run
 * (they do not change during a run of sends: every other job ends the run).
 * On MP_ERR_MUTED, *muted_until says until when. */
static mp_err_t state_access(mp_sql_conn_t *db, send_state_t *ss, uint64_t user, uint64_t conv,
                             int64_t now_ms, int64_t *muted_until, bool *you_blocked)
{
    sent_t *e = stab_find(&ss->cursors, conv, user);
    if (e == NULL)
        e = stab_add(&ss->cursors, conv, user);
    if (!e->access_known) {
        mp_err_t rc = send_access_load(db, user, conv, e);
        if (rc != MP_OK)
            return rc;
    }
    *you_blocked = e->you_blocked;
    if (e->deny != MP_OK)
        return e->deny;
    if (e->muted_until > now_ms) {
        *muted_until = e->muted_until;
        return MP_ERR_MUTED;
    }
    return MP_OK;
}

/* Inserts the message with the next seq of conv and version ++*vnext, with
 * its mention marks; the counters in ss change only once all of it has
 * succeeded. *inserted is false when the device sent this client_msg_id
 * before: then nothing was written and no counter moved. */
static mp_err_t send_insert(mp_sql_conn_t *db, send_job_t *j, send_state_t *ss, uint64_t conv,
                            int64_t vnext, bool *inserted)
{
    sent_t *ce = NULL;
    mp_err_t rc = state_conv(db, ss, conv, &ce);
    if (rc != MP_OK)
        return rc;
    /* The plain send's one change is this INSERT, its last statement: it
     * needs no savepoint of its own (see run_in_savepoint). */
    if (send_has_extras(j) && (rc = mp_sqlite__job_savepoint(db, &j->base)) != MP_OK)
        return rc;
    mp_msg_row_t *m = &j->out.msg;
    m->version = ++vnext;
    m->seq = ce->seq + 1;
    m->id = mp_id_next();
    m->conversation_id = conv;
    m->sender_id = j->in.sender_id;
    m->created_at = j->in.now_ms;
    m->client_msg_id = j->cmid;
    m->kind = j->kind;
    m->text = j->text;
    m->content = j->filled != NULL ? j->filled : j->content;
    m->search_extra = j->extra;
    m->mention_all = j->in.mention_all;

    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_MSG_INSERT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, m->id);
    bind_u64(s, 2, conv);
    mp_sql_bind_i64(s, 3, m->seq);
    bind_u64(s, 4, m->sender_id);
    mp_sql_bind_text(s, 5, m->client_msg_id, -1);
    mp_sql_bind_text(s, 6, m->kind, -1);
    mp_sql_bind_text(s, 7, m->text, (int)j->in.text_len);
    mp_sql_bind_i64(s, 8, m->created_at);
    mp_sql_bind_i64(s, 9, m->version);
    bind_u64(s, 10, j->in.sender_device);
    /* Unbound parameters are NULL: a plain text send binds none of these. */
    if (m->content != NULL)
        mp_sql_bind_text(s, 11, m->content, -1);
    if (m->search_extra != NULL)
        mp_sql_bind_text(s, 12, m->search_extra, -1);
    if (m->reply_to != 0) {
        bind_u64(s, 13, m->reply_to);
        bind_u64(s, 14, m->quote_sender);
        mp_sql_bind_text(s, 15, m->quote_kind, -1);
        mp_sql_bind_text(s, 16, m->quote_text, -1);
    }
    if (m->mentions != NULL)
        mp_sql_bind_text(s, 17, m->mentions, -1);
    mp_sql_bind_i64(s, 18, m->mention_all);
    if ((rc = step_done(db, s)) != MP_OK)
        return rc;
    if (mp_sql_changes(db) == 0) {
        *inserted = false;
        return MP_OK;
    }
    *inserted = true;
    if ((rc = send_extras_write(db, j, m)) != MP_OK)
        return rc;

    ce->seq = m->seq;
    ce->version = m->version;
    ce->at = m->created_at;
    ce->dirty = true;
    sent_t *ue = stab_find(&ss->cursors, conv, m->sender_id);
    if (ue == NULL)
        ue = stab_add(&ss->cursors, conv, m->sender_id);
    ue->seq = m->seq;
    ue->version = m->version;
    ue->dirty = true;
    ss->version = vnext;
    ss->version_dirty = true;
    return MP_OK;
}

/* The answer to a send the device made before: the original message as
 * stored, and nothing of the checks that ran before it was found. */
static mp_err_t send_duplicate(send_job_t *j)
{
    memset(&j->out, 0, sizeof j->out);
    j->out.msg = j->orig.v[0];
    j->out.duplicate = true;
    return MP_OK;
}

/* The lookup of the original is the exception: a new message is found new
 * by its INSERT. It runs first only where a write would come before the
 * INSERT (the first message between two people creates their
 * conversation), and after a refusal, so that a duplicate is answered the
 * same whatever the checks say. */
static mp_err_t send_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    send_job_t *j = (send_job_t *)job;
    bool found = false, probed = false;
    send_state_t *ss = send_state(db);
    int64_t vnext;
    mp_err_t rc = state_version(db, ss, &vnext);
    if (rc != MP_OK)
        return rc;
    uint64_t conv = j->in.conversation_id;
    if (j->in.to_user_id != 0) {
        rc = direct_find(db, j->in.sender_id, j->in.to_user_id, &conv);
        if (rc == MP_ERR_NOT_FOUND) {
            if ((rc = send_dedup(db, j, &found)) != MP_OK)
                return rc;
            if (found)
                return send_duplicate(j);
            probed = true;
            rc = direct_open(db, j->in.sender_id, j->in.to_user_id, j->in.now_ms, &conv, &vnext,
                             &j->out.you_blocked, &j->base);
            j->out.created_conversation = rc == MP_OK;
        }
        j->out.peer_id = j->in.to_user_id;
    }
    if (rc == MP_OK)
        rc = state_access(db, ss, j->in.sender_id, conv, j->in.now_ms, &j->out.muted_until,
                          &j->out.you_blocked);
    if (rc == MP_OK)
        rc = send_extras_check(db, j, conv);
    bool inserted = false;
    if (rc == MP_OK)
        rc = send_insert(db, j, ss, conv, vnext, &inserted);
    /* A refusal (blocked, muted, left since) is answered with the original
     * when there is one; a failure of the database is not looked past. */
    if (inserted || (rc != MP_OK && (probed || mp_sql_err_is_db(rc))))
        return rc;
    if (rc == MP_OK && j->out.created_conversation)
        /* Another node stored the same send between the lookup and the
         * INSERT (PostgreSQL): undo the conversation made for it. */
        return MP_ERR_CONFLICT;
    mp_err_t drc = send_dedup(db, j, &found);
    if (drc != MP_OK)
        return drc;
    if (found)
        return send_duplicate(j);
    if (rc == MP_OK) {
        /* The INSERT found the key taken, so the lookup must find it. */
        mp_log_error("store: a send's client_msg_id is taken but its message not found");
        return MP_ERR_INTERNAL;
    }
    return rc;
}

static void send_done(mp_sql_job_t *job, mp_err_t rc)
{
    send_job_t *j = (send_job_t *)job;
    bool out = rc == MP_OK || rc == MP_ERR_MUTED || rc == MP_ERR_PRIVACY ||
               (j->out.bad_field != NULL &&
                (rc == MP_ERR_NOT_FOUND || rc == MP_ERR_BAD_REQUEST || rc == MP_ERR_NOT_ALLOWED));
    j->cb(rc, out ? &j->out : NULL, j->ud);
    mp_sqlite__msgvec_free(&j->orig);
    mp_free(j->quote_kind);
    mp_free(j->quote_text);
    mp_free(j->mentions);
    mp_free(j->filled);
    mp_free(j);
}

/* Copies s (len bytes, NUL added) to *at and advances it; s may be NULL
 * when len is 0 (a file message without a caption). */
static char *take_copy(char **at, const char *s, size_t len)
{
    char *d = *at;
    if (len != 0)
        memcpy(d, s, len);
    d[len] = '\0';
    *at += len + 1;
    return d;
}

mp_err_t mp_store_chat_send(mp_store_t *st, const mp_chat_send_in_t *in, mp_chat_send_fn cb,
                            void *ud)
{
    /* One allocation for the job, its mentions and its strings: this is per
     * message. The mentions go first, where the struct's alignment holds. */
    MP_ASSERT(in->n_mentions <= MP_CHAT_MENTIONS_MAX);
    const char *kind = in->kind ? in->kind : "text";
    size_t ncmid = strlen(in->client_msg_id), nkind = strlen(kind);
    size_t ncontent = in->content ? strlen(in->content) + 1 : 0;
    size_t nextra = in->search_extra ? strlen(in->search_extra) + 1 : 0;
    size_t nment = in->n_mentions * sizeof *in->mentions;
    send_job_t *j =
        mp_malloc(sizeof *j + nment + ncmid + 1 + nkind + 1 + in->text_len + 1 + ncontent + nextra);
    memset(j, 0, sizeof *j);
    j->base.run = send_run;
    j->base.lazy_savepoint = true;
    j->base.done = send_done;
    j->in = *in;
    char *at = (char *)(j + 1);
    if (nment != 0) {
        memcpy(at, in->mentions, nment);
        j->in.mentions = (const uint64_t *)(void *)at;
        at += nment;
    } else {
        j->in.mentions = NULL;
    }
    j->cmid = take_copy(&at, in->client_msg_id, ncmid);
    j->kind = take_copy(&at, kind, nkind);
    j->text = take_copy(&at, in->text, in->text_len);
    if (in->content != NULL)
        j->content = take_copy(&at, in->content, ncontent - 1);
    if (in->search_extra != NULL)
        j->extra = take_copy(&at, in->search_extra, nextra - 1);
    j->in.client_msg_id = j->cmid;
    j->in.text = j->text;
    j->in.kind = j->kind;
    j->in.content = j->content;
    j->in.search_extra = j->extra;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}

/* ---- send: the pieces forward reuses (sqlite_chat_int.h) ----------------------- */

mp_err_t mp_sqlite__post_access(mp_sql_conn_t *db, uint64_t user, uint64_t conv, int64_t now_ms,
                                int64_t *muted_until, bool *you_blocked)
{
    sent_t e = {0};
    mp_err_t rc = send_access_load(db, user, conv, &e);
    if (rc != MP_OK)
        return rc;
    if (you_blocked != NULL)
        *you_blocked = e.you_blocked;
    if (e.deny != MP_OK)
        return e.deny;
    if (e.muted_until > now_ms) {
        *muted_until = e.muted_until;
        return MP_ERR_MUTED;
    }
    return MP_OK;
}

mp_err_t mp_sqlite__direct_get(mp_sql_conn_t *db, uint64_t user, uint64_t other, int64_t now_ms,
                               uint64_t *conv, bool *created, bool *you_blocked)
{
    return direct_get(db, user, other, now_ms, conv, created, you_blocked);
}

/* ---- direct (writer) ------------------------------------------------------------- */

typedef struct direct_job {
    mp_sql_job_t base;
    uint64_t user, other, conv;
    int64_t now;
    bool created;
    mp_chat_direct_fn cb;
    void *ud;
} direct_job_t;

static mp_err_t direct_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    direct_job_t *j = (direct_job_t *)job;
    /* A pair made before guests were refused as peers must not be reopened. */
    mp_err_t rc = j->user == j->other ? MP_OK : peer_check(db, j->other);
    if (rc != MP_OK)
        return rc;
    return direct_get(db, j->user, j->other, j->now, &j->conv, &j->created, NULL);
}

static void direct_done(mp_sql_job_t *job, mp_err_t rc)
{
    direct_job_t *j = (direct_job_t *)job;
    j->cb(rc, rc == MP_OK ? j->conv : 0, rc == MP_OK && j->created, j->ud);
    mp_free(j);
}

mp_err_t mp_store_chat_direct(mp_store_t *st, uint64_t user_id, uint64_t other_id, int64_t now_ms,
                              mp_chat_direct_fn cb, void *ud)
{
    direct_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = direct_run;
    j->base.done = direct_done;
    j->user = user_id;
    j->other = other_id;
    j->now = now_ms;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}

/* ---- members / peers (read) ---------------------------------------------------------- */

typedef struct ids_job {
    mp_sql_job_t base;
    uint64_t key; /* conversation (members) or user (peers) */
    mp_conv_kind_t kind;
    uint64_t *ids;
    size_t n, cap;
    mp_chat_members_fn members_cb;
    mp_chat_users_fn users_cb;
    void *ud;
} ids_job_t;

static const char SQL_CONV_KIND[] = "SELECT kind FROM conversations WHERE id = ?1";
static const char SQL_CONV_MEMBERS[] = "SELECT user_id FROM members WHERE conversation_id = ?1";
static void ids_push(ids_job_t *j, uint64_t id)
{
    if (j->n == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 8;
        j->ids = mp_realloc(j->ids, j->cap * sizeof *j->ids);
    }
    j->ids[j->n++] = id;
}

/* Collects column 0 of every row of s into j->ids. */
static mp_err_t ids_collect(mp_sql_conn_t *db, ids_job_t *j, mp_sql_stmt_t *s)
{
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW)
        ids_push(j, col_u64(s, 0));
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static mp_err_t members_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    ids_job_t *j = (ids_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_CONV_KIND);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->key);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_FOUND;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    j->kind = mp_sqlite__conv_kind(mp_sql_col_text(s, 0));
    mp_sql_reset(s);
    if (j->kind == MP_CONV_WORLD)
        return MP_OK;
    if ((s = mp_sql_prepare(db, SQL_CONV_MEMBERS)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->key);
    return ids_collect(db, j, s);
}

static mp_err_t peers_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    ids_job_t *j = (ids_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, MP_SQLITE_PEERS_SQL);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->key);
    mp_sql_bind_i64(s, 2, MP_CHAT_PRESENCE_GROUP_MAX);
    return ids_collect(db, j, s);
}

static void ids_done(mp_sql_job_t *job, mp_err_t rc)
{
    ids_job_t *j = (ids_job_t *)job;
    size_t n = rc == MP_OK ? j->n : 0;
    if (j->members_cb)
        j->members_cb(rc, j->kind, j->ids, n, j->ud);
    else
        j->users_cb(rc, j->ids, n, j->ud);
    mp_free(j->ids);
    mp_free(j);
}

static mp_err_t ids_queue(mp_store_t *st, ids_job_t *j)
{
    j->base.done = ids_done;
    return mp_sqlite__read_or_free(st, &j->base);
}

mp_err_t mp_store_chat_members(mp_store_t *st, uint64_t conversation_id, mp_chat_members_fn cb,
                               void *ud)
{
    ids_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = members_run;
    j->key = conversation_id;
    j->members_cb = cb;
    j->ud = ud;
    return ids_queue(st, j);
}

mp_err_t mp_store_chat_peers(mp_store_t *st, uint64_t user_id, mp_chat_users_fn cb, void *ud)
{
    ids_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = peers_run;
    j->key = user_id;
    j->users_cb = cb;
    j->ud = ud;
    return ids_queue(st, j);
}

/* ---- history (read) --------------------------------------------------------------- */

typedef struct history_job {
    mp_sql_job_t base;
    uint64_t user, conv;
    int64_t before;
    unsigned limit;
    size_t max_bytes;
    mp_sqlite_msgvec_t msgs;
    bool has_more;
    mp_chat_msgs_fn cb;
    void *ud;
} history_job_t;

/* What the user cleared (seq at or below ?4) or deleted for themselves
 * (hidden_messages) never comes back. */
static const char SQL_HISTORY[] =
    "SELECT " MP_SQLITE_MSG_READ_COLS " FROM messages WHERE conversation_id = ?1"
    " AND seq < ?2 AND seq > ?4 AND NOT EXISTS(SELECT 1 FROM hidden_messages h"
    " WHERE h.user_id = ?5 AND h.message_id = messages.id) ORDER BY seq DESC LIMIT ?3";
static const char SQL_CLEARED_SEQ[] =
    "SELECT cleared_seq FROM members WHERE conversation_id = ?1 AND user_id = ?2";

/* The user's cleared_seq of conv (0 without a member row: the world room). */
static mp_err_t cleared_seq(mp_sql_conn_t *db, uint64_t user, uint64_t conv, int64_t *out)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_CLEARED_SEQ);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, conv);
    bind_u64(s, 2, user);
    int rc = mp_sql_step(s);
    *out = rc == MP_SQL_ROW ? mp_sql_col_i64(s, 0) : 0;
    mp_sql_reset(s);
    return rc == MP_SQL_ROW || rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static mp_err_t history_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    history_job_t *j = (history_job_t *)job;
    int64_t cleared = 0;
    mp_err_t err = mp_sqlite__chat_access(db, j->user, j->conv, NULL);
    if (err == MP_OK)
        err = cleared_seq(db, j->user, j->conv, &cleared);
    if (err != MP_OK)
        return err;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_HISTORY);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    mp_sql_bind_i64(s, 2, j->before);
    mp_sql_bind_i64(s, 3, (int64_t)j->limit + 1);
    mp_sql_bind_i64(s, 4, cleared);
    bind_u64(s, 5, j->user);
    /* Stops at limit rows or once the rows read pass max_bytes, so a page of
     * large messages reads about max_bytes, not limit rows; the row that
     * would come next only says that older ones exist. */
    int rc;
    size_t raw = 0;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        if (j->msgs.n == j->limit || raw > j->max_bytes) {
            j->has_more = true;
            break;
        }
        mp_sqlite__msgvec_push(&j->msgs, s);
        raw += mp_chat_msg_raw_bytes(&j->msgs.v[j->msgs.n - 1]);
    }
    mp_sql_reset(s);
    if (rc != MP_SQL_DONE && rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    /* Fetched newest first (to take the page just below before_seq); the
     * client wants ascending seq order. */
    for (size_t a = 0, b = j->msgs.n; a + 1 < b; a++, b--) {
        mp_msg_row_t t = j->msgs.v[a];
        j->msgs.v[a] = j->msgs.v[b - 1];
        j->msgs.v[b - 1] = t;
    }
    return mp_sqlite__msgs_reactions(db, j->msgs.v, j->msgs.n, j->user);
}

static void history_done(mp_sql_job_t *job, mp_err_t rc)
{
    history_job_t *j = (history_job_t *)job;
    if (rc == MP_OK)
        j->cb(rc, j->msgs.v, j->msgs.n, j->has_more, j->ud);
    else
        j->cb(rc, NULL, 0, false, j->ud);
    mp_sqlite__msgvec_free(&j->msgs);
    mp_free(j);
}

mp_err_t mp_store_chat_history(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                               int64_t before_seq, unsigned limit, size_t max_bytes,
                               mp_chat_msgs_fn cb, void *ud)
{
    history_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = history_run;
    j->base.done = history_done;
    j->user = user_id;
    j->conv = conversation_id;
    j->before = before_seq;
    j->limit = limit < 1 ? 1 : limit > MP_CHAT_HISTORY_MAX ? MP_CHAT_HISTORY_MAX : limit;
    j->max_bytes = max_bytes;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}

/* ---- read / delivered cursors (writer) -------------------------------------------- */

typedef struct cursor_job {
    mp_sql_job_t base;
    uint64_t user, conv;
    mp_chat_cursor_t which;
    int64_t seq;
    mp_chat_cursor_out_t out;
    mp_chat_cursor_fn cb;
    void *ud;
} cursor_job_t;

static const char SQL_CURSOR_GET[] =
    "SELECT m.read_seq, m.delivered_seq, c.last_seq FROM members m JOIN conversations c"
    " ON c.id = m.conversation_id WHERE m.conversation_id = ?1 AND m.user_id = ?2";
static const char SQL_CURSOR_SET[] =
    "UPDATE members SET read_seq = ?3, delivered_seq = ?4, version = ?5"
    " WHERE conversation_id = ?1 AND user_id = ?2";
static const char SQL_CONV_TOUCH[] = "UPDATE conversations SET version = ?2 WHERE id = ?1";

static mp_err_t cursor_load(mp_sql_conn_t *db, cursor_job_t *j)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_CURSOR_GET);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    bind_u64(s, 2, j->user);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_MEMBER; /* unknown conversation or not a member (or world) */
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    j->out.read_seq = mp_sql_col_i64(s, 0);
    j->out.delivered_seq = mp_sql_col_i64(s, 1);
    j->out.last_seq = mp_sql_col_i64(s, 2);
    mp_sql_reset(s);
    return MP_OK;
}

static mp_err_t cursor_store(mp_sql_conn_t *db, cursor_job_t *j)
{
    int64_t v;
    mp_err_t rc = mp_sqlite__next_version(db, &v);
    if (rc != MP_OK)
        return rc;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_CURSOR_SET);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    bind_u64(s, 2, j->user);
    mp_sql_bind_i64(s, 3, j->out.read_seq);
    mp_sql_bind_i64(s, 4, j->out.delivered_seq);
    mp_sql_bind_i64(s, 5, v);
    if ((rc = step_done(db, s)) != MP_OK)
        return rc;
    if ((s = mp_sql_prepare(db, SQL_CONV_TOUCH)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    mp_sql_bind_i64(s, 2, v);
    return step_done(db, s);
}

static mp_err_t cursor_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    cursor_job_t *j = (cursor_job_t *)job;
    mp_err_t rc = cursor_load(db, j);
    if (rc != MP_OK)
        return rc;
    if (!mp_chat_cursor_advance(j->which, j->seq, j->out.last_seq, &j->out.read_seq,
                                &j->out.delivered_seq))
        return MP_OK;
    j->out.changed = true;
    return cursor_store(db, j);
}

static void cursor_done(mp_sql_job_t *job, mp_err_t rc)
{
    cursor_job_t *j = (cursor_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->out : NULL, j->ud);
    mp_free(j);
}

mp_err_t mp_store_chat_cursor(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                              mp_chat_cursor_t which, int64_t seq, mp_chat_cursor_fn cb, void *ud)
{
    cursor_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = cursor_run;
    j->base.done = cursor_done;
    j->user = user_id;
    j->conv = conversation_id;
    j->which = which;
    j->seq = seq;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}

/* ---- conversation list (read) ----------------------------------------------------- */

typedef struct list_job {
    mp_sql_job_t base;
    uint64_t user, after_id;
    int64_t after_active;
    unsigned limit;
    bool archived;
    mp_chat_list_row_t *rows;
    size_t n, n_pinned;
    mp_sqlite_msgvec_t last; /* owns the strings of rows[i].last */
    bool has_more;
    mp_chat_list_fn cb;
    void *ud;
} list_job_t;

/* The columns of one list entry (?1 the user, ?2 archived or not); a
 * direct conversation deleted for the user stays out until a message newer
 * than what they cleared arrives. */
#define LIST_COLS                                                                                  \
    "SELECT c.id, c.kind, c.last_seq, c.active_at, m.read_seq, c.title, m.notify_until,"           \
    " m.pinned_at, m.archived, m.cleared_seq, m.hidden FROM members m"                             \
    " JOIN conversations c ON c.id = m.conversation_id WHERE m.user_id = ?1 AND m.archived = ?2"   \
    " AND (m.hidden = 0 OR c.last_seq > m.cleared_seq)"
/* The pinned ones come all together on the first page, so the pages by
 * activity leave them out. Each statement numbers its parameters without a
 * gap (PostgreSQL cannot type a parameter that a statement never uses). */
static const char SQL_LIST[] =
    LIST_COLS " AND m.pinned_at = 0"
              " AND (c.active_at < ?3 OR (c.active_at = ?3 AND c.id < ?4))"
              " ORDER BY c.active_at DESC, c.id DESC LIMIT ?5";
static const char SQL_LIST_PINNED[] =
    LIST_COLS " AND m.pinned_at > 0 ORDER BY m.pinned_at DESC, c.id DESC LIMIT ?3";
static const char SQL_PEER_USER[] =
    "SELECT u.id, u.username, u.display_name FROM members m JOIN users u ON u.id = m.user_id"
    " WHERE m.conversation_id = ?1 AND m.user_id <> ?2 LIMIT 1";
/* The newest message the user may see: above cleared_seq, not hidden. */
static const char SQL_MSG_LAST[] =
    "SELECT " MP_SQLITE_MSG_READ_COLS " FROM messages WHERE conversation_id = ?1 AND seq > ?2"
    " AND NOT EXISTS(SELECT 1 FROM hidden_messages h WHERE h.user_id = ?3"
    " AND h.message_id = messages.id) ORDER BY seq DESC LIMIT 1";
/* The conversation's pinned messages as the user sees them (the pins list's
 * filter: above cleared_seq, not hidden), by the partial index
 * messages_pinned. */
static const char SQL_LIST_PINS[] =
    "SELECT id FROM messages WHERE conversation_id = ?1 AND pinned_at > 0 AND seq > ?2"
    " AND NOT EXISTS(SELECT 1 FROM hidden_messages h WHERE h.user_id = ?3"
    " AND h.message_id = messages.id) ORDER BY pinned_at DESC, id DESC LIMIT ?4";
/* Mentions of the user or of everyone (user_id 0) not yet read; one's own
 * @all does not count. */
static const char SQL_UNREAD_MENTIONS[] =
    "SELECT count(*) FROM mention_marks WHERE conversation_id = ?1 AND user_id IN (?2, 0)"
    " AND seq > ?3 AND sender_id <> ?2";

static mp_err_t unread_mentions(mp_sql_conn_t *db, uint64_t user, uint64_t conv, int64_t read_seq,
                                int64_t *out)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_UNREAD_MENTIONS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, conv);
    bind_u64(s, 2, user);
    mp_sql_bind_i64(s, 3, read_seq);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    *out = mp_sql_col_i64(s, 0);
    mp_sql_reset(s);
    return MP_OK;
}

void mp_sqlite__settings_read(mp_sql_stmt_t *s, int first, int64_t last_seq,
                              mp_conv_settings_t *out)
{
    out->muted_until = mp_sql_col_i64(s, first);
    out->pinned_at = mp_sql_col_i64(s, first + 1);
    out->archived = mp_sql_col_int(s, first + 2) != 0;
    out->cleared_seq = mp_sql_col_i64(s, first + 3);
    /* deleted lasts until a message newer than the clear arrives */
    out->deleted = mp_sql_col_int(s, first + 4) != 0 && last_seq <= out->cleared_seq;
}

static mp_err_t list_peer(mp_sql_conn_t *db, list_job_t *j, mp_chat_list_row_t *r)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_PEER_USER);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, r->id);
    bind_u64(s, 2, j->user);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_ROW) {
        r->peer_id = col_u64(s, 0);
        r->peer_username = col_dup(s, 1);
        r->peer_display_name = col_dup(s, 2);
    } else if (rc != MP_SQL_DONE) {
        return mp_sql_err(db, rc);
    }
    mp_sql_reset(s);
    return MP_OK;
}

static mp_err_t list_last(mp_sql_conn_t *db, list_job_t *j, mp_chat_list_row_t *r)
{
    if (r->last_seq <= r->settings.cleared_seq)
        return MP_OK;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_MSG_LAST);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, r->id);
    mp_sql_bind_i64(s, 2, r->settings.cleared_seq);
    bind_u64(s, 3, j->user);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_ROW) {
        mp_sqlite__msgvec_push(&j->last, s);
        r->has_last = true; /* rows[i].last is filled in list_done's pass */
    } else if (rc != MP_SQL_DONE) {
        return mp_sql_err(db, rc);
    }
    mp_sql_reset(s);
    return MP_OK;
}

static mp_err_t list_pins(mp_sql_conn_t *db, list_job_t *j, mp_chat_list_row_t *r)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_LIST_PINS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, r->id);
    mp_sql_bind_i64(s, 2, r->settings.cleared_seq);
    bind_u64(s, 3, j->user);
    mp_sql_bind_i64(s, 4, MP_CHAT_PINS_MAX);
    uint64_t *ids = NULL;
    size_t n = 0;
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        if (ids == NULL)
            ids = mp_malloc(MP_CHAT_PINS_MAX * sizeof *ids);
        if (n < MP_CHAT_PINS_MAX)
            ids[n++] = col_u64(s, 0);
    }
    r->pinned_ids = ids;
    r->n_pinned_ids = n;
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

/* Appends the rows of sql (at most max) to j->rows: the pinned ones, or
 * (pinned false) a page by activity after the job's cursor. */
static mp_err_t list_query(mp_sql_conn_t *db, list_job_t *j, bool pinned, size_t max)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, pinned ? SQL_LIST_PINNED : SQL_LIST);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    mp_sql_bind_i64(s, 2, j->archived);
    if (pinned) {
        mp_sql_bind_i64(s, 3, (int64_t)max);
    } else {
        mp_sql_bind_i64(s, 3, j->after_active);
        bind_u64(s, 4, j->after_id);
        mp_sql_bind_i64(s, 5, (int64_t)max);
    }
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        mp_chat_list_row_t *r = &j->rows[j->n++];
        r->id = col_u64(s, 0);
        r->kind = mp_sqlite__conv_kind(mp_sql_col_text(s, 1));
        r->last_seq = mp_sql_col_i64(s, 2);
        r->active_at = mp_sql_col_i64(s, 3);
        r->read_seq = mp_sql_col_i64(s, 4);
        if (r->kind != MP_CONV_DIRECT)
            r->title = col_dup(s, 5);
        mp_sqlite__settings_read(s, 6, r->last_seq, &r->settings);
    }
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static mp_err_t list_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    list_job_t *j = (list_job_t *)job;
    j->rows = mp_calloc(j->limit + 1 + MP_CHAT_PINNED_CONVS_MAX, sizeof *j->rows);
    mp_err_t err = MP_OK;
    if (j->after_active == INT64_MAX)
        err = list_query(db, j, true, MP_CHAT_PINNED_CONVS_MAX);
    j->n_pinned = j->n;
    if (err == MP_OK)
        err = list_query(db, j, false, (size_t)j->limit + 1);
    if (err != MP_OK)
        return err;
    if (j->n - j->n_pinned > j->limit) {
        j->has_more = true;
        mp_free((void *)j->rows[--j->n].title);
    }
    for (size_t i = 0; i < j->n; i++) {
        mp_chat_list_row_t *r = &j->rows[i];
        if (r->kind == MP_CONV_DIRECT)
            err = list_peer(db, j, r);
        if (err == MP_OK)
            err = list_last(db, j, r);
        if (err == MP_OK)
            err = unread_mentions(db, j->user, r->id, r->read_seq, &r->unread_mentions);
        if (err == MP_OK)
            err = list_pins(db, j, r);
        if (err != MP_OK)
            return err;
    }
    return mp_sqlite__msgs_reactions(db, j->last.v, j->last.n, j->user);
}

static void list_done(mp_sql_job_t *job, mp_err_t rc)
{
    list_job_t *j = (list_job_t *)job;
    size_t k = 0;
    for (size_t i = 0; i < j->n; i++)
        if (j->rows[i].has_last)
            j->rows[i].last = j->last.v[k++];
    if (rc == MP_OK)
        j->cb(rc, j->rows, j->n, j->has_more, j->ud);
    else
        j->cb(rc, NULL, 0, false, j->ud);
    for (size_t i = 0; i < j->n; i++) {
        mp_free((void *)j->rows[i].peer_username);
        mp_free((void *)j->rows[i].peer_display_name);
        mp_free((void *)j->rows[i].title);
        mp_free((void *)j->rows[i].pinned_ids);
    }
    mp_free(j->rows);
    mp_sqlite__msgvec_free(&j->last);
    mp_free(j);
}

mp_err_t mp_store_chat_list(mp_store_t *st, uint64_t user_id, int64_t after_active,
                            uint64_t after_id, unsigned limit, bool archived, mp_chat_list_fn cb,
                            void *ud)
{
    list_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = list_run;
    j->base.done = list_done;
    j->user = user_id;
    j->after_active = after_active;
    j->after_id = after_id;
    j->limit = limit < 1 ? 1 : limit > MP_CHAT_HISTORY_MAX ? MP_CHAT_HISTORY_MAX : limit;
    j->archived = archived;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}

/* ---- sync (read) -------------------------------------------------------------------- */

typedef struct sync_job {
    mp_sql_job_t base;
    uint64_t user;
    int64_t since;
    unsigned max;
    size_t max_bytes;
    /* Every message of version <= ceiling in the conversations read so far
     * has been read (INT64_MAX: every message was read): a conversation whose
     * read stopped early, or a trim, lowers it, and the page ends there at
     * the latest. */
    int64_t ceiling;
    size_t raw; /* raw bytes of the messages held */
    mp_chat_sync_conv_t *convs;
    size_t n_convs, cap_convs;
    mp_sqlite_msgvec_t msgs;
    mp_chat_receipt_row_t *rcpts;
    size_t n_rcpts, cap_rcpts;
    mp_chat_self_row_t *selfs; /* the user's own changes: paged like receipts */
    size_t n_selfs, cap_selfs;
    mp_contact_t *contacts; /* the user's contact entries (sqlite_contacts.c) */
    size_t n_contacts;
    mp_chat_sync_out_t out;
    mp_chat_sync_fn cb;
    void *ud;
} sync_job_t;

/* A conversation changed for the user when it changed for everyone
 * (c.version), or only for them: their settings (self_version) or a
 * message they deleted for themselves (hidden_messages_sync). */
static const char SQL_SYNC_CONVS[] =
    "SELECT c.id, c.kind, c.last_seq, c.version, m.read_seq, m.delivered_seq, m.notify_until,"
    " m.pinned_at, m.archived, m.cleared_seq, m.hidden, m.self_version FROM members m"
    " JOIN conversations c ON c.id = m.conversation_id WHERE m.user_id = ?1 AND (c.version > ?2"
    " OR m.self_version > ?2 OR EXISTS(SELECT 1 FROM hidden_messages h WHERE h.user_id = ?1"
    " AND h.conversation_id = c.id AND h.version > ?2))";
/* A conversation's messages above `since` come from two ranges (see
 * migration_sync.h), merged by version (sync_conv_msgs):
 * - stored after `since` and unchanged since (version = created_version):
 *   every row from the first such seq on (sync_first_new), in seq order,
 *   which is their version order;
 * - changed after `since` (version > created_version): the partial index
 *   messages_changed, in version order.
 * A message is in exactly one of them. Never what the user cleared (seq at
 * or below the clear) or hid: those are invisible for good, so leaving them
 * out of the version order skips nothing a later page would need. */
static const char SQL_SYNC_NEW[] =
    "SELECT " MP_SQLITE_MSG_READ_COLS " FROM messages WHERE conversation_id = ?1"
    " AND seq >= ?2 AND version = created_version AND NOT EXISTS(SELECT 1 FROM hidden_messages h"
    " WHERE h.user_id = ?4 AND h.message_id = messages.id) ORDER BY seq LIMIT ?3";
static const char SQL_SYNC_CHANGED[] =
    "SELECT " MP_SQLITE_MSG_READ_COLS " FROM messages WHERE conversation_id = ?1"
    " AND version > ?2 AND version > created_version AND seq > ?4"
    " AND NOT EXISTS(SELECT 1 FROM hidden_messages h WHERE h.user_id = ?5"
    " AND h.message_id = messages.id) ORDER BY version LIMIT ?3";
/* The version the first message at or after seq ?2 was stored at. */
static const char SQL_SYNC_PROBE[] =
    "SELECT created_version FROM messages"
    " WHERE conversation_id = ?1 AND seq >= ?2 ORDER BY seq LIMIT 1";
static const char SQL_SYNC_HIDDEN[] =
    "SELECT message_id, version FROM hidden_messages WHERE user_id = ?1 AND conversation_id = ?2"
    " AND version > ?3";
static const char SQL_SYNC_RCPTS[] = "SELECT user_id, read_seq, delivered_seq, version FROM members"
                                     " WHERE conversation_id = ?1 AND version > ?2";
static const char SQL_PEER_ID[] =
    "SELECT user_id FROM members WHERE conversation_id = ?1 AND user_id <> ?2 LIMIT 1";

static mp_err_t sync_load_convs(mp_sql_conn_t *db, sync_job_t *j)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SYNC_CONVS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    mp_sql_bind_i64(s, 2, j->since);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        if (j->n_convs == j->cap_convs) {
            j->cap_convs = j->cap_convs ? j->cap_convs * 2 : 8;
            j->convs = mp_realloc(j->convs, j->cap_convs * sizeof *j->convs);
        }
        mp_chat_sync_conv_t *c = &j->convs[j->n_convs++];
        memset(c, 0, sizeof *c);
        c->id = col_u64(s, 0);
        c->kind = mp_sqlite__conv_kind(mp_sql_col_text(s, 1));
        c->last_seq = mp_sql_col_i64(s, 2);
        c->version = mp_sql_col_i64(s, 3);
        c->read_seq = mp_sql_col_i64(s, 4);
        c->delivered_seq = mp_sql_col_i64(s, 5);
        mp_sqlite__settings_read(s, 6, c->last_seq, &c->settings);
        c->self_version = mp_sql_col_i64(s, 11);
    }
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

/* Whether the first message of conv at or after seq was stored after
 * since (true when there is none). */
static mp_err_t sync_probe(mp_sql_conn_t *db, uint64_t conv, int64_t seq, int64_t since,
                           bool *after)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SYNC_PROBE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, conv);
    mp_sql_bind_i64(s, 2, seq);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW && rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    *after = rc == MP_SQL_DONE || mp_sql_col_i64(s, 0) > since;
    mp_sql_reset(s);
    return MP_OK;
}

/* The first seq in [lo, hi] of conv from which on every message was stored
 * after since (hi: none of them was; hi is one past the last seq). Stored
 * versions grow with seq, so "stored after since" is false and then true
 * along the seqs: galloping back from the end finds the boundary in about
 * 2 log2(k) probes of the seq index for k new messages, one when there is
 * none. */
static mp_err_t sync_first_new(mp_sql_conn_t *db, uint64_t conv, int64_t lo, int64_t hi,
                               int64_t since, int64_t *out)
{
    int64_t good = hi, bad = lo - 1, step = 1; /* after(good) holds, after(bad) does not */
    bool after = false;
    mp_err_t rc;
    while (good - step >= lo) {
        if ((rc = sync_probe(db, conv, good - step, since, &after)) != MP_OK)
            return rc;
        if (!after) {
            bad = good - step;
            break;
        }
        good -= step;
        step *= 2;
    }
    while (good - bad > 1) {
        int64_t mid = bad + (good - bad) / 2;
        if ((rc = sync_probe(db, conv, mid, since, &after)) != MP_OK)
            return rc;
        if (after)
            good = mid;
        else
            bad = mid;
    }
    *out = good;
    return MP_OK;
}

/* The statements of the two ranges of SQL_SYNC_NEW's comment, bound and
 * not yet stepped; *s_new is NULL when the first range is empty (nothing
 * stored after since). */
static mp_err_t sync_ranges_open(mp_sql_conn_t *db, sync_job_t *j, const mp_chat_sync_conv_t *c,
                                 mp_sql_stmt_t **s_new, mp_sql_stmt_t **s_chg)
{
    int64_t first;
    *s_new = NULL;
    *s_chg = NULL;
    mp_err_t rc =
        sync_first_new(db, c->id, c->settings.cleared_seq + 1, c->last_seq + 1, j->since, &first);
    if (rc != MP_OK)
        return rc;
    if (first <= c->last_seq) {
        if ((*s_new = mp_sql_prepare(db, SQL_SYNC_NEW)) == NULL)
            return MP_ERR_INTERNAL;
        bind_u64(*s_new, 1, c->id);
        mp_sql_bind_i64(*s_new, 2, first);
        mp_sql_bind_i64(*s_new, 3, (int64_t)j->max + 1);
        bind_u64(*s_new, 4, j->user);
    }
    if ((*s_chg = mp_sql_prepare(db, SQL_SYNC_CHANGED)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(*s_chg, 1, c->id);
    mp_sql_bind_i64(*s_chg, 2, j->since);
    mp_sql_bind_i64(*s_chg, 3, (int64_t)j->max + 1);
    mp_sql_bind_i64(*s_chg, 4, c->settings.cleared_seq);
    bind_u64(*s_chg, 5, j->user);
    return MP_OK;
}

/* Steps *s to its next row: NULL once it has none left; an error ends it. */
static int sync_range_next(mp_sql_stmt_t **s)
{
    if (*s == NULL)
        return MP_SQL_DONE;
    int rc = mp_sql_step(*s);
    if (rc != MP_SQL_ROW) {
        mp_sql_reset(*s);
        *s = NULL;
    }
    return rc;
}

static bool sync_range_ok(int rc)
{
    return rc == MP_SQL_ROW || rc == MP_SQL_DONE;
}

/* Reads the conversation's messages above `since` in version order: none
 * above the ceiling (the page cannot hold them), and at most max of them and
 * about max_bytes. Stopping before the end lowers the ceiling to the last
 * version read, so nothing of this conversation is skipped: the rest comes
 * in a later page. */
static mp_err_t sync_conv_msgs(mp_sql_conn_t *db, sync_job_t *j, const mp_chat_sync_conv_t *c)
{
    mp_sql_stmt_t *sn = NULL, *sc = NULL;
    mp_err_t err = sync_ranges_open(db, j, c, &sn, &sc);
    if (err != MP_OK)
        return err;
    int rn = sync_range_next(&sn), rch = sync_range_next(&sc);
    size_t n = 0, raw = 0;
    int64_t last = j->since;
    while (sync_range_ok(rn) && sync_range_ok(rch) && (rn == MP_SQL_ROW || rch == MP_SQL_ROW)) {
        /* The row of the lower version first (the ranges share none). */
        bool take_new = rn == MP_SQL_ROW &&
                        (rch != MP_SQL_ROW || mp_sql_col_i64(sn, 8) < mp_sql_col_i64(sc, 8));
        mp_sql_stmt_t *s = take_new ? sn : sc;
        if (mp_sql_col_i64(s, 8) > j->ceiling)
            break;
        if (n == j->max || raw > j->max_bytes) {
            j->ceiling = last;
            break;
        }
        mp_sqlite__msgvec_push(&j->msgs, s);
        const mp_msg_row_t *m = &j->msgs.v[j->msgs.n - 1];
        raw += mp_chat_msg_raw_bytes(m);
        last = m->version;
        n++;
        if (take_new)
            rn = sync_range_next(&sn);
        else
            rch = sync_range_next(&sc);
    }
    if (sn != NULL)
        mp_sql_reset(sn);
    if (sc != NULL)
        mp_sql_reset(sc);
    j->raw += raw;
    if (!sync_range_ok(rn))
        return mp_sql_err(db, rn);
    return sync_range_ok(rch) ? MP_OK : mp_sql_err(db, rch);
}

static mp_err_t sync_conv_rcpts(mp_sql_conn_t *db, sync_job_t *j, uint64_t conv)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SYNC_RCPTS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, conv);
    mp_sql_bind_i64(s, 2, j->since);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        if (j->n_rcpts == j->cap_rcpts) {
            j->cap_rcpts = j->cap_rcpts ? j->cap_rcpts * 2 : 8;
            j->rcpts = mp_realloc(j->rcpts, j->cap_rcpts * sizeof *j->rcpts);
        }
        mp_chat_receipt_row_t *r = &j->rcpts[j->n_rcpts++];
        r->conversation_id = conv;
        r->user_id = col_u64(s, 0);
        r->read_seq = mp_sql_col_i64(s, 1);
        r->delivered_seq = mp_sql_col_i64(s, 2);
        r->version = mp_sql_col_i64(s, 3);
    }
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static void sync_self_push(sync_job_t *j, uint64_t conv, uint64_t msg, int64_t version)
{
    if (j->n_selfs == j->cap_selfs) {
        j->cap_selfs = j->cap_selfs ? j->cap_selfs * 2 : 8;
        j->selfs = mp_realloc(j->selfs, j->cap_selfs * sizeof *j->selfs);
    }
    j->selfs[j->n_selfs++] =
        (mp_chat_self_row_t){.conversation_id = conv, .message_id = msg, .version = version};
}

/* The user's own changes of conversation c above `since`: messages hidden
 * for them and (message_id 0) their settings. Read whole, like receipts. */
static mp_err_t sync_conv_selfs(mp_sql_conn_t *db, sync_job_t *j, const mp_chat_sync_conv_t *c)
{
    if (c->self_version > j->since)
        sync_self_push(j, c->id, 0, c->self_version);
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SYNC_HIDDEN);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    bind_u64(s, 2, c->id);
    mp_sql_bind_i64(s, 3, j->since);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW)
        sync_self_push(j, c->id, col_u64(s, 0), mp_sql_col_i64(s, 1));
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static mp_err_t sync_peer(mp_sql_conn_t *db, sync_job_t *j, mp_chat_sync_conv_t *c)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_PEER_ID);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, c->id);
    bind_u64(s, 2, j->user);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_ROW)
        c->peer_id = col_u64(s, 0);
    else if (rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    mp_sql_reset(s);
    return MP_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_msg_version(const void *a, const void *b)
{
    const mp_msg_row_t *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

static int cmp_rcpt_version(const void *a, const void *b)
{
    const mp_chat_receipt_row_t *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

static int cmp_self_version(const void *a, const void *b)
{
    const mp_chat_self_row_t *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

static int cmp_contact_version(const void *a, const void *b)
{
    const mp_contact_t *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

bool mp_chat_cursor_advance(mp_chat_cursor_t which, int64_t seq, int64_t last_seq,
                            int64_t *read_seq, int64_t *delivered_seq)
{
    int64_t target = seq < last_seq ? seq : last_seq;
    int64_t read = *read_seq, delivered = *delivered_seq;
    if (which == MP_CHAT_CURSOR_READ && target > read)
        read = target;
    int64_t floor = which == MP_CHAT_CURSOR_READ ? read : target;
    if (floor > delivered)
        delivered = floor;
    bool moved = read != *read_seq || delivered != *delivered_seq;
    *read_seq = read;
    *delivered_seq = delivered;
    return moved;
}

size_t mp_chat_sync_cut(const int64_t *versions, size_t n, size_t max_items)
{
    if (n <= max_items)
        return n;
    if (max_items == 0)
        max_items = 1;
    size_t k = max_items;
    while (k < n && versions[k] == versions[k - 1])
        k++;
    return k;
}

/* Drops the messages above the ceiling. */
static void sync_drop_above(sync_job_t *j)
{
    size_t k = 0;
    j->raw = 0;
    for (size_t i = 0; i < j->msgs.n; i++) {
        if (j->msgs.v[i].version > j->ceiling) {
            mp_sqlite__msg_free(&j->msgs.v[i]);
            continue;
        }
        j->raw += mp_chat_msg_raw_bytes(&j->msgs.v[i]);
        j->msgs.v[k++] = j->msgs.v[i];
    }
    j->msgs.n = k;
}

/* Between conversations: when the messages held are more than one page
 * (max items or max_bytes), the page will end at the version where they
 * pass it, so the ceiling drops there and what is above is freed. Memory
 * stays about one page plus one conversation's read. */
static void sync_trim(sync_job_t *j)
{
    if (j->msgs.n <= j->max && j->raw <= j->max_bytes)
        return;
    if (j->msgs.n > 1)
        qsort(j->msgs.v, j->msgs.n, sizeof *j->msgs.v, cmp_msg_version);
    size_t k = 0, raw = 0;
    for (; k < j->msgs.n; k++) {
        raw += mp_chat_msg_raw_bytes(&j->msgs.v[k]);
        if (k + 1 >= j->max || raw > j->max_bytes)
            break;
    }
    if (k + 1 >= j->msgs.n)
        return;
    if (j->msgs.v[k].version < j->ceiling)
        j->ceiling = j->msgs.v[k].version;
    sync_drop_above(j);
}

/* Cuts the candidates at the page limit: the highest version included
 * becomes the cursor. Nothing at or below the ceiling was left unread (see
 * sync_job_t), and the cut never passes the ceiling: nothing is skipped. */
static void sync_cut(sync_job_t *j, int64_t head)
{
    sync_drop_above(j);
    size_t k = 0;
    for (size_t i = 0; i < j->n_rcpts; i++)
        if (j->rcpts[i].version <= j->ceiling)
            j->rcpts[k++] = j->rcpts[i];
    j->n_rcpts = k;
    k = 0;
    for (size_t i = 0; i < j->n_selfs; i++)
        if (j->selfs[i].version <= j->ceiling)
            j->selfs[k++] = j->selfs[i];
    j->n_selfs = k;
    k = 0;
    for (size_t i = 0; i < j->n_contacts; i++)
        if (j->contacts[i].version <= j->ceiling)
            j->contacts[k++] = j->contacts[i];
    j->n_contacts = k;
    size_t n = j->msgs.n + j->n_rcpts + j->n_selfs + j->n_contacts;
    int64_t *vs = mp_malloc((n ? n : 1) * sizeof *vs);
    size_t at = 0;
    for (size_t i = 0; i < j->msgs.n; i++)
        vs[at++] = j->msgs.v[i].version;
    for (size_t i = 0; i < j->n_rcpts; i++)
        vs[at++] = j->rcpts[i].version;
    for (size_t i = 0; i < j->n_selfs; i++)
        vs[at++] = j->selfs[i].version;
    for (size_t i = 0; i < j->n_contacts; i++)
        vs[at++] = j->contacts[i].version;
    if (n > 1)
        qsort(vs, n, sizeof *vs, cmp_i64);
    size_t keep = mp_chat_sync_cut(vs, n, j->max);
    bool capped = j->ceiling != INT64_MAX;
    int64_t cut = keep < n ? vs[keep - 1] : capped ? j->ceiling : head;
    j->out.has_more = keep < n || capped;
    j->out.cursor = cut;
    mp_free(vs);

    if (j->msgs.n > 1)
        qsort(j->msgs.v, j->msgs.n, sizeof *j->msgs.v, cmp_msg_version);
    while (j->msgs.n > 0 && j->msgs.v[j->msgs.n - 1].version > cut)
        mp_sqlite__msg_free(&j->msgs.v[--j->msgs.n]);
    if (j->n_rcpts > 1)
        qsort(j->rcpts, j->n_rcpts, sizeof *j->rcpts, cmp_rcpt_version);
    while (j->n_rcpts > 0 && j->rcpts[j->n_rcpts - 1].version > cut)
        j->n_rcpts--;
    if (j->n_selfs > 1)
        qsort(j->selfs, j->n_selfs, sizeof *j->selfs, cmp_self_version);
    while (j->n_selfs > 0 && j->selfs[j->n_selfs - 1].version > cut)
        j->n_selfs--;
    if (j->n_contacts > 1)
        qsort(j->contacts, j->n_contacts, sizeof *j->contacts, cmp_contact_version);
    while (j->n_contacts > 0 && j->contacts[j->n_contacts - 1].version > cut)
        j->n_contacts--;
}

/* Keeps only the conversations that have an item in the page. */
static void sync_prune_convs(sync_job_t *j)
{
    size_t k = 0;
    for (size_t i = 0; i < j->n_convs; i++) {
        bool used = false;
        for (size_t m = 0; m < j->msgs.n && !used; m++)
            used = j->msgs.v[m].conversation_id == j->convs[i].id;
        for (size_t r = 0; r < j->n_rcpts && !used; r++)
            used = j->rcpts[r].conversation_id == j->convs[i].id;
        for (size_t r = 0; r < j->n_selfs && !used; r++)
            used = j->selfs[r].conversation_id == j->convs[i].id;
        if (used)
            j->convs[k++] = j->convs[i];
    }
    j->n_convs = k;
}

static mp_err_t sync_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    sync_job_t *j = (sync_job_t *)job;
    int64_t head;
    mp_err_t rc = mp_sqlite__head_version(db, &head);
    if (rc == MP_OK)
        rc = sync_load_convs(db, j);
    for (size_t i = 0; rc == MP_OK && i < j->n_convs; i++) {
        rc = sync_conv_msgs(db, j, &j->convs[i]);
        sync_trim(j);
        if (rc == MP_OK)
            rc = sync_conv_rcpts(db, j, j->convs[i].id);
        if (rc == MP_OK)
            rc = sync_conv_selfs(db, j, &j->convs[i]);
        if (rc == MP_OK && j->convs[i].kind == MP_CONV_DIRECT)
            rc = sync_peer(db, j, &j->convs[i]);
    }
    /* Contact entries are not of a conversation: read after the
     * conversations, under the ceiling they left, and lowering it when the
     * user has more of them than a page holds. */
    if (rc == MP_OK)
        rc = mp_sqlite__contacts_since(db, j->user, j->since, j->max, &j->contacts, &j->n_contacts,
                                       &j->ceiling);
    if (rc != MP_OK)
        return rc;
    sync_cut(j, head);
    if (j->out.has_more)
        sync_prune_convs(j);
    for (size_t i = 0; rc == MP_OK && i < j->n_convs; i++)
        rc = unread_mentions(db, j->user, j->convs[i].id, j->convs[i].read_seq,
                             &j->convs[i].unread_mentions);
    if (rc == MP_OK)
        rc = mp_sqlite__msgs_reactions(db, j->msgs.v, j->msgs.n, j->user);
    return rc;
}

static void sync_done(mp_sql_job_t *job, mp_err_t rc)
{
    sync_job_t *j = (sync_job_t *)job;
    j->out.convs = j->convs;
    j->out.n_convs = j->n_convs;
    j->out.msgs = j->msgs.v;
    j->out.n_msgs = j->msgs.n;
    j->out.receipts = j->rcpts;
    j->out.n_receipts = j->n_rcpts;
    j->out.selfs = j->selfs;
    j->out.n_selfs = j->n_selfs;
    j->out.contacts = j->contacts;
    j->out.n_contacts = j->n_contacts;
    j->cb(rc, rc == MP_OK ? &j->out : NULL, j->ud);
    mp_free(j->contacts);
    mp_free(j->convs);
    mp_free(j->rcpts);
    mp_free(j->selfs);
    mp_sqlite__msgvec_free(&j->msgs);
    mp_free(j);
}

mp_err_t mp_store_chat_sync(mp_store_t *st, uint64_t user_id, int64_t since, unsigned max_items,
                            size_t max_bytes, mp_chat_sync_fn cb, void *ud)
{
    sync_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = sync_run;
    j->base.done = sync_done;
    j->user = user_id;
    j->since = since < 0 ? 0 : since;
    j->max = max_items < 1 ? 1 : max_items;
    j->max_bytes = max_bytes;
    j->ceiling = INT64_MAX;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}
