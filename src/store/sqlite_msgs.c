/* SQLite implementation of the changes to stored messages (store/messages.h):
 * edit, delete (for me / for everyone) and forward.
 *
 * Each op is ONE write job that reads the actor's membership, role and the
 * conversation's state in its own transaction, so a kick, ban, mute or
 * dissolve committed just before it is always seen. These jobs have their
 * own run functions, so the writer has flushed any send counters (see
 * sqlite_job.h) before they run: they read and write conversations.last_seq
 * and the cursors directly. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proto/content.h"
#include "proto/group_rules.h"
#include "store/messages.h"
#include "store/sqlite_chat_int.h"
#include "store/sqlite_files_int.h"
#include "store/sqlite_groups_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/id.h"

/* ---- what the checks read ----------------------------------------------------- */

typedef struct conv_facts {
    mp_conv_kind_t kind;
    bool member, dissolved, post_admins;
    mp_group_role_t role;
    int64_t muted_until;
} conv_facts_t;

static const char SQL_FACTS[] =
    "SELECT c.kind, c.dissolved_at, c.who_can_post, m.role, m.muted_until"
    " FROM conversations c LEFT JOIN members m ON m.conversation_id = c.id AND m.user_id = ?1"
    " WHERE c.id = ?2";
static const char SQL_MSG_GET[] = "SELECT " MP_SQLITE_MSG_READ_COLS " FROM messages WHERE id = ?1";
static const char SQL_HIDDEN_GET[] =
    "SELECT version FROM hidden_messages WHERE user_id = ?1 AND message_id = ?2";
static const char SQL_ROLE_GET[] =
    "SELECT role FROM members WHERE conversation_id = ?1 AND user_id = ?2";
static const char SQL_USERNAME[] = "SELECT username, admin FROM users WHERE id = ?1";
static const char SQL_CONV_TOUCH[] = "UPDATE conversations SET version = ?2 WHERE id = ?1";

/* The conversation as user sees it: MP_ERR_NOT_MEMBER when it does not
 * exist or user may not read it (not a member, and not the world room). */
static mp_err_t facts_load(mp_sql_conn_t *db, uint64_t user, uint64_t conv, conv_facts_t *f)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_FACTS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    bind_u64(s, 2, conv);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return rc == MP_SQL_DONE ? MP_ERR_NOT_MEMBER : mp_sql_err(db, rc);
    memset(f, 0, sizeof *f);
    f->kind = mp_sqlite__conv_kind(mp_sql_col_text(s, 0));
    f->dissolved = mp_sql_col_i64(s, 1) != 0;
    f->post_admins = mp_sql_col_int(s, 2) != 0;
    f->member = !mp_sql_col_is_null(s, 3);
    f->role = mp_sqlite__group_role(mp_sql_col_text(s, 3));
    f->muted_until = mp_sql_col_i64(s, 4);
    mp_sql_reset(s);
    return f->member || f->kind == MP_CONV_WORLD ? MP_OK : MP_ERR_NOT_MEMBER;
}

static mp_group_facts_t group_facts(const conv_facts_t *f, int64_t now_ms)
{
    return (mp_group_facts_t){.member = f->member,
                              .dissolved = f->dissolved,
                              .role = f->role,
                              .settings.post_admins = f->post_admins,
                              .muted = f->muted_until > now_ms};
}

/* Pushes message mid of conversation conv onto mv (MP_ERR_NOT_FOUND when
 * there is none in conv); *hidden_v gets the version of user's hidden row
 * (0: not hidden for user). Deleted ones load too: callers decide. */
static mp_err_t msg_load(mp_sql_conn_t *db, uint64_t user, uint64_t conv, uint64_t mid,
                         mp_sqlite_msgvec_t *mv, int64_t *hidden_v)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_MSG_GET);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, mid);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return rc == MP_SQL_DONE ? MP_ERR_NOT_FOUND : mp_sql_err(db, rc);
    if (col_u64(s, 1) != conv) {
        mp_sql_reset(s);
        return MP_ERR_NOT_FOUND;
    }
    mp_sqlite__msgvec_push(mv, s);
    mp_sql_reset(s);
    if ((s = mp_sql_prepare(db, SQL_HIDDEN_GET)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    bind_u64(s, 2, mid);
    rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW && rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    *hidden_v = rc == MP_SQL_ROW ? mp_sql_col_i64(s, 0) : 0;
    mp_sql_reset(s);
    return MP_OK;
}

static mp_err_t conv_touch(mp_sql_conn_t *db, uint64_t conv, int64_t v)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_CONV_TOUCH);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, conv);
    mp_sql_bind_i64(s, 2, v);
    return step_done(db, s);
}

/* Whether name is one of the comma-separated names of list (spaces around
 * a name ignored, case-insensitive). */
static bool name_listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ',');
        const char *stop = end ? end : p + strlen(p);
        while (p < stop && *p == ' ')
            p++;
        const char *q = stop;
        while (q > p && q[-1] == ' ')
            q--;
        if ((size_t)(q - p) == n && n > 0 && strncasecmp(p, name, n) == 0)
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

/* Whether user moderates the world room: vouched for by the caller, a
 * server admin, or named by world_moderators. */
static mp_err_t world_moderator(mp_sql_conn_t *db, const mp_msg_actor_t *a, bool *yes)
{
    *yes = a->moderator;
    if (*yes)
        return MP_OK;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_USERNAME);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, a->user_id);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_ROW) {
        const char *name = mp_sql_col_text(s, 0);
        *yes = mp_sql_col_int(s, 1) != 0 || (name != NULL && a->world_moderators != NULL &&
                                             name_listed(a->world_moderators, name));
        mp_sql_reset(s);
        return MP_OK;
    }
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static bool window_open(int64_t window_ms, int64_t created_at, int64_t now_ms)
{
    return window_ms == 0 || now_ms <= created_at + window_ms;
}

static void set_str(const char **field, const char *v)
{
    mp_free((void *)*field);
    *field = v != NULL ? mp_strdup(v) : NULL;
}

/* ---- edit and delete: one job type ------------------------------------------------ */

typedef struct msg_job {
    mp_sql_job_t base;
    mp_msg_actor_t actor;
    uint64_t conv, mid;
    char *text; /* edit: inside this allocation */
    size_t text_len;
    int64_t window, now;
    bool for_everyone, fts;
    mp_sqlite_msgvec_t msg; /* the message's state after the op */
    mp_msg_fn cb;
    void *ud;
} msg_job_t;

static void msg_done(mp_sql_job_t *job, mp_err_t rc)
{
    msg_job_t *j = (msg_job_t *)job;
    j->cb(rc, rc == MP_OK && j->msg.n == 1 ? &j->msg.v[0] : NULL, j->ud);
    mp_sqlite__msgvec_free(&j->msg);
    mp_free(j);
}

/* Tells the search index that m changed (an edit, a delete for everyone):
 * the indexer replaces its entry after this commits, and search checks m
 * itself until then. PostgreSQL keeps no index at all. */
static mp_err_t msg_changed(mp_sql_conn_t *db, const msg_job_t *j, const mp_msg_row_t *m)
{
    if (!j->fts || mp_sql_is_pg(db) || strcmp(m->kind, "system") == 0)
        return MP_OK;
    return mp_sqlite__search_changed(db, m->id);
}

static msg_job_t *msg_job_new(mp_store_t *st, const mp_msg_actor_t *actor, uint64_t conv,
                              uint64_t mid, size_t extra, mp_msg_fn cb, void *ud)
{
    msg_job_t *j = mp_calloc(1, sizeof *j + extra);
    j->base.done = msg_done;
    j->actor = *actor;
    j->conv = conv;
    j->mid = mid;
    j->fts = mp_sqlite__fts_kept(st);
    j->cb = cb;
    j->ud = ud;
    return j;
}

/* ---- edit --------------------------------------------------------------------------- */

static const char SQL_EDIT[] =
    "UPDATE messages SET body = ?2, edited_at = ?3, version = ?4 WHERE id = ?1";

static bool editable_kind(const char *kind)
{
    static const char *const kinds[] = {"text", "image", "file", "voice", "video"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kind, kinds[i]) == 0)
            return true;
    return false;
}

/* Refusals in order: membership, the group's posting rules, the message
 * (missing, deleted, hidden), ownership, kind, the window. */
static mp_err_t edit_check(mp_sql_conn_t *db, msg_job_t *j)
{
    conv_facts_t f;
    int64_t hidden_v = 0;
    mp_err_t rc = facts_load(db, j->actor.user_id, j->conv, &f);
    if (rc != MP_OK)
        return rc;
    mp_group_facts_t gf = group_facts(&f, j->now);
    if (f.kind == MP_CONV_GROUP && (rc = mp_group_rule(MP_GRULE_POST, &gf)) != MP_OK)
        return rc;
    if ((rc = msg_load(db, j->actor.user_id, j->conv, j->mid, &j->msg, &hidden_v)) != MP_OK)
        return rc;
    const mp_msg_row_t *m = &j->msg.v[0];
    if (m->deleted_at != 0 || hidden_v != 0)
        return MP_ERR_NOT_FOUND;
    if (m->sender_id != j->actor.user_id)
        return MP_ERR_FORBIDDEN;
    if (!editable_kind(m->kind) || (strcmp(m->kind, "text") == 0 && j->text_len == 0))
        return MP_ERR_BAD_REQUEST;
    return window_open(j->window, m->created_at, j->now) ? MP_OK : MP_ERR_TOO_LATE;
}

static mp_err_t edit_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    msg_job_t *j = (msg_job_t *)job;
    mp_err_t rc = edit_check(db, j);
    if (rc != MP_OK)
        return rc;
    mp_msg_row_t *m = &j->msg.v[0];
    int64_t v;
    if ((rc = mp_sqlite__next_version(db, &v)) != MP_OK)
        return rc;
    if ((rc = msg_changed(db, j, m)) != MP_OK)
        return rc;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_EDIT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, m->id);
    mp_sql_bind_text(s, 2, j->text, (int)j->text_len);
    mp_sql_bind_i64(s, 3, j->now);
    mp_sql_bind_i64(s, 4, v);
    if ((rc = step_done(db, s)) != MP_OK || (rc = conv_touch(db, j->conv, v)) != MP_OK)
        return rc;
    set_str(&m->text, j->text);
    m->edited_at = j->now;
    m->version = v;
    return mp_sqlite__msgs_reactions(db, m, 1, j->actor.user_id);
}

mp_err_t mp_store_msg_edit(mp_store_t *st, const mp_msg_actor_t *actor, uint64_t conversation_id,
                           uint64_t message_id, const char *text, size_t text_len,
                           int64_t edit_window_ms, int64_t now_ms, mp_msg_fn cb, void *ud)
{
    msg_job_t *j = msg_job_new(st, actor, conversation_id, message_id, text_len + 1, cb, ud);
    j->base.run = edit_run;
    j->text = (char *)(j + 1);
    memcpy(j->text, text, text_len);
    j->text[text_len] = '\0';
    j->text_len = text_len;
    j->window = edit_window_ms;
    j->now = now_ms;
    return mp_sqlite__write_or_free(st, &j->base);
}

/* ---- delete ------------------------------------------------------------------------- */

static const char SQL_HIDE[] = "INSERT INTO hidden_messages(user_id, message_id, conversation_id,"
                               " version) VALUES(?1, ?2, ?3, ?4)";
/* The tombstone keeps who sent what kind when; everything said goes. */
static const char SQL_ERASE[] =
    "UPDATE messages SET body = '', content = NULL, search_extra = NULL, reply_to = NULL,"
    " quote_sender = NULL, quote_kind = NULL, quote_text = NULL, quote_deleted = 0,"
    " fwd_sender = NULL, fwd_at = NULL, mentions = NULL, mention_all = 0, pinned_at = 0,"
    " pinned_by = 0, n_reactions = 0, deleted_at = ?2, version = ?3 WHERE id = ?1";
static const char SQL_ERASE_REACTIONS[] = "DELETE FROM reactions WHERE message_id = ?1";
static const char SQL_ERASE_MARKS[] =
    "DELETE FROM mention_marks WHERE conversation_id = ?1 AND seq = ?2";
/* Served by the partial index messages_reply. */
static const char SQL_ERASE_QUOTES[] =
    "UPDATE messages SET quote_deleted = 1, quote_text = NULL, quote_kind = NULL, version = ?2"
    " WHERE reply_to = ?1";

static mp_err_t hide_run(mp_sql_conn_t *db, msg_job_t *j, int64_t hidden_v)
{
    mp_msg_row_t *m = &j->msg.v[0];
    mp_err_t rc = MP_OK;
    if (hidden_v == 0) { /* hiding twice changes nothing */
        if ((rc = mp_sqlite__next_version(db, &hidden_v)) != MP_OK)
            return rc;
        mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_HIDE);
        if (s == NULL)
            return MP_ERR_INTERNAL;
        bind_u64(s, 1, j->actor.user_id);
        bind_u64(s, 2, m->id);
        bind_u64(s, 3, j->conv);
        mp_sql_bind_i64(s, 4, hidden_v);
        if ((rc = step_done(db, s)) != MP_OK)
            return rc;
    }
    m->version = hidden_v;
    return mp_sqlite__msgs_reactions(db, m, 1, j->actor.user_id);
}

/* Who may delete m for everyone (see mp_store_msg_delete). */
static mp_err_t erase_right(mp_sql_conn_t *db, const msg_job_t *j, const conv_facts_t *f,
                            const mp_msg_row_t *m)
{
    bool own = m->sender_id == j->actor.user_id;
    bool in_window = window_open(j->window, m->created_at, j->now);
    mp_err_t rc;
    if (f->kind == MP_CONV_GROUP) {
        mp_group_facts_t gf = group_facts(f, j->now);
        gf.self = own;
        if ((rc = mp_group_rule(MP_GRULE_WRITE, &gf)) != MP_OK)
            return rc;
        if (!own) {
            mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_ROLE_GET);
            if (s == NULL)
                return MP_ERR_INTERNAL;
            bind_u64(s, 1, j->conv);
            bind_u64(s, 2, m->sender_id);
            int src = mp_sql_step(s);
            if (src != MP_SQL_ROW && src != MP_SQL_DONE)
                return mp_sql_err(db, src);
            gf.target_member = src == MP_SQL_ROW;
            gf.target_role =
                gf.target_member ? mp_sqlite__group_role(mp_sql_col_text(s, 0)) : MP_GROUP_MEMBER;
            mp_sql_reset(s);
        }
        if (mp_group_rule(MP_GRULE_DELETE_ANY, &gf) == MP_OK)
            return MP_OK;
    } else if (f->kind == MP_CONV_WORLD && !(own && in_window)) {
        bool mod = false;
        if ((rc = world_moderator(db, &j->actor, &mod)) != MP_OK)
            return rc;
        if (mod)
            return MP_OK;
    }
    if (!own)
        return MP_ERR_FORBIDDEN;
    return in_window ? MP_OK : MP_ERR_TOO_LATE;
}

/* Runs sql bound as (?1 = id) or, with has_a, (?1 = id, ?2 = a): exactly
 * the parameters the statement has (PostgreSQL refuses others). */
static mp_err_t exec_id_i64(mp_sql_conn_t *db, const char *sql, uint64_t id, bool has_a, int64_t a)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, sql);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, id);
    if (has_a)
        mp_sql_bind_i64(s, 2, a);
    return step_done(db, s);
}

/* Erases m for good, in the rows and in the index, and turns the row in
 * memory into its tombstone. */
static mp_err_t erase_run(mp_sql_conn_t *db, msg_job_t *j, mp_msg_row_t *m)
{
    int64_t v;
    mp_err_t rc = mp_sqlite__next_version(db, &v);
    if (rc != MP_OK)
        return rc;
    if ((rc = msg_changed(db, j, m)) != MP_OK)
        return rc;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_ERASE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, m->id);
    mp_sql_bind_i64(s, 2, j->now);
    mp_sql_bind_i64(s, 3, v);
    if ((rc = step_done(db, s)) != MP_OK ||
        (rc = exec_id_i64(db, SQL_ERASE_REACTIONS, m->id, false, 0)) != MP_OK ||
        (rc = exec_id_i64(db, SQL_ERASE_MARKS, j->conv, true, m->seq)) != MP_OK ||
        (rc = exec_id_i64(db, SQL_ERASE_QUOTES, m->id, true, v)) != MP_OK ||
        (rc = mp_sqlite__file_refs_drop(db, m->id)) != MP_OK ||
        (rc = conv_touch(db, j->conv, v)) != MP_OK)
        return rc;
    set_str(&m->text, "");
    set_str(&m->content, NULL);
    set_str(&m->search_extra, NULL);
    set_str(&m->quote_kind, NULL);
    set_str(&m->quote_text, NULL);
    set_str(&m->mentions, NULL);
    m->reply_to = m->quote_sender = m->fwd_sender = m->pinned_by = 0;
    m->fwd_at = m->pinned_at = 0;
    m->quote_deleted = m->mention_all = false;
    m->deleted_at = j->now;
    m->version = v;
    m->n_reactions = 0;
    return MP_OK;
}

static mp_err_t delete_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    msg_job_t *j = (msg_job_t *)job;
    conv_facts_t f;
    int64_t hidden_v = 0;
    mp_err_t rc = facts_load(db, j->actor.user_id, j->conv, &f);
    if (rc != MP_OK ||
        (rc = msg_load(db, j->actor.user_id, j->conv, j->mid, &j->msg, &hidden_v)) != MP_OK)
        return rc;
    mp_msg_row_t *m = &j->msg.v[0];
    if (!j->for_everyone)
        return hide_run(db, j, hidden_v);
    if (hidden_v != 0)
        return MP_ERR_NOT_FOUND;
    if (m->deleted_at != 0) { /* already a tombstone: nothing changes */
        m->n_reactions = 0;
        return MP_OK;
    }
    if ((rc = erase_right(db, j, &f, m)) != MP_OK)
        return rc;
    return erase_run(db, j, m);
}

mp_err_t mp_store_msg_delete(mp_store_t *st, const mp_msg_actor_t *actor, uint64_t conversation_id,
                             uint64_t message_id, bool for_everyone, int64_t recall_window_ms,
                             int64_t now_ms, mp_msg_fn cb, void *ud)
{
    msg_job_t *j = msg_job_new(st, actor, conversation_id, message_id, 0, cb, ud);
    j->base.run = delete_run;
    j->for_everyone = for_everyone;
    j->window = recall_window_ms;
    j->now = now_ms;
    return mp_sqlite__write_or_free(st, &j->base);
}

/* ---- forward ------------------------------------------------------------------------ */

typedef struct fwd_job {
    mp_sql_job_t base;
    mp_msg_forward_in_t in; /* ids and client_msg_id point into this allocation */
    mp_sqlite_msgvec_t src, copies;
    mp_msg_forward_out_t out;
    mp_msg_forward_fn cb;
    void *ud;
} fwd_job_t;

static const char SQL_FWD_DEDUP[] = "SELECT " MP_SQLITE_MSG_COLS " FROM messages WHERE"
                                    " sender_id = ?1 AND sender_device = ?3 AND client_msg_id = ?2";
static const char SQL_FWD_NEXT_SEQ[] =
    "UPDATE conversations SET last_seq = last_seq + 1, version = ?2, active_at = ?3"
    " WHERE id = ?1 RETURNING last_seq";
static const char SQL_FWD_INSERT[] =
    "INSERT INTO messages(id, conversation_id, seq, sender_id, client_msg_id, kind, body,"
    " created_at, version, sender_device, content, search_extra, fwd_sender, fwd_at)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
/* CASE: the larger of two values in both dialects (see SQL_SENDER_READ). */
static const char SQL_FWD_READ[] =
    "UPDATE members SET read_seq = CASE WHEN read_seq > ?3 THEN read_seq ELSE ?3 END,"
    " delivered_seq = CASE WHEN delivered_seq > ?3 THEN delivered_seq ELSE ?3 END,"
    " version = ?4 WHERE conversation_id = ?1 AND user_id = ?2";

static void copy_cmid(const fwd_job_t *j, size_t i, char *out, size_t n)
{
    snprintf(out, n, "%s/%zu", j->in.client_msg_id, i);
}

/* A retry: copy 0 exists. The answer is every copy of that forward. */
static mp_err_t fwd_dedup(mp_sql_conn_t *db, fwd_job_t *j, bool *found)
{
    *found = false;
    for (size_t i = 0; i < MP_CHAT_FORWARD_MAX; i++) {
        char cmid[MP_CHAT_CMID_MAX + 8];
        copy_cmid(j, i, cmid, sizeof cmid);
        mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_FWD_DEDUP);
        if (s == NULL)
            return MP_ERR_INTERNAL;
        bind_u64(s, 1, j->in.sender_id);
        mp_sql_bind_text(s, 2, cmid, -1);
        bind_u64(s, 3, j->in.sender_device);
        int rc = mp_sql_step(s);
        if (rc == MP_SQL_DONE)
            break;
        if (rc != MP_SQL_ROW)
            return mp_sql_err(db, rc);
        mp_sqlite__msgvec_push(&j->copies, s);
        j->copies.v[j->copies.n - 1].n_reactions = 0;
        mp_sql_reset(s);
        *found = true;
    }
    return MP_OK;
}

/* Every source must be one the sender may read: in `from`, live, not hidden
 * for them, not a system message. */
static mp_err_t fwd_sources(mp_sql_conn_t *db, fwd_job_t *j)
{
    j->out.bad_field = "from";
    mp_err_t rc = mp_sqlite__chat_access(db, j->in.sender_id, j->in.from_conversation, NULL);
    if (rc != MP_OK)
        return rc;
    j->out.bad_field = "message_ids";
    for (size_t i = 0; i < j->in.n; i++) {
        int64_t hidden_v = 0;
        rc = msg_load(db, j->in.sender_id, j->in.from_conversation, j->in.message_ids[i], &j->src,
                      &hidden_v);
        if (rc != MP_OK)
            return rc;
        const mp_msg_row_t *m = &j->src.v[j->src.n - 1];
        if (m->deleted_at != 0 || hidden_v != 0 || strcmp(m->kind, "system") == 0)
            return MP_ERR_NOT_FOUND;
    }
    j->out.bad_field = NULL;
    return MP_OK;
}

/* The file source m names (0 = none), which the sender must be able to
 * read: they can read m, so m's own file_refs row grants it; what fails here
 * is a message whose file is gone (stored before files were checked). The
 * content is copied as it is stored: the server filled it at the send. */
static mp_err_t fwd_file(mp_sql_conn_t *db, fwd_job_t *j, const mp_msg_row_t *m, uint64_t *fid)
{
    mp_msg_kind_t kind;
    *fid = 0;
    if (!mp_kind_parse(m->kind, &kind) || !mp_kind_has_file(kind))
        return MP_OK;
    uint64_t id = mp_content_file_id(kind, m->content);
    mp_file_row_t f;
    memset(&f, 0, sizeof f);
    mp_err_t rc = id != 0 ? mp_sqlite__file_access(db, id, j->in.sender_id, j->in.sender_guest,
                                                   j->in.world_id, &f)
                          : MP_ERR_NOT_FOUND;
    mp_free(f.meta);
    if (rc == MP_ERR_NOT_FOUND)
        j->out.bad_field = "file";
    if (rc == MP_OK)
        *fid = id;
    return rc;
}

/* Stores copy i of source m in conv; its row in memory goes to j->copies. */
static mp_err_t fwd_copy(mp_sql_conn_t *db, fwd_job_t *j, uint64_t conv, size_t i,
                         const mp_msg_row_t *m)
{
    int64_t v, seq;
    uint64_t fid;
    mp_err_t rc = fwd_file(db, j, m, &fid);
    if (rc == MP_OK)
        rc = mp_sqlite__next_version(db, &v);
    if (rc != MP_OK)
        return rc;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_FWD_NEXT_SEQ);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, conv);
    mp_sql_bind_i64(s, 2, v);
    mp_sql_bind_i64(s, 3, j->in.now_ms);
    int src = mp_sql_step(s);
    if (src != MP_SQL_ROW)
        return src == MP_SQL_DONE ? MP_ERR_NOT_MEMBER : mp_sql_err(db, src);
    seq = mp_sql_col_i64(s, 0);
    mp_sql_reset(s);

    char cmid[MP_CHAT_CMID_MAX + 8];
    copy_cmid(j, i, cmid, sizeof cmid);
    mp_msg_row_t c = {
        .id = mp_id_next(),
        .conversation_id = conv,
        .sender_id = j->in.sender_id,
        .seq = seq,
        .created_at = j->in.now_ms,
        .version = v,
        .client_msg_id = mp_strdup(cmid),
        .kind = mp_strdup(m->kind),
        .text = mp_strdup(m->text),
        .content = m->content ? mp_strdup(m->content) : NULL,
        .search_extra = m->search_extra ? mp_strdup(m->search_extra) : NULL,
        /* A forward of a forward names the first sender. */
        .fwd_sender = m->fwd_at != 0 ? m->fwd_sender : m->sender_id,
        .fwd_at = m->fwd_at != 0 ? m->fwd_at : m->created_at,
    };
    if (j->copies.n == j->copies.cap) {
        j->copies.cap = j->copies.cap ? j->copies.cap * 2 : j->in.n;
        j->copies.v = mp_realloc(j->copies.v, j->copies.cap * sizeof *j->copies.v);
    }
    j->copies.v[j->copies.n++] = c;

    if ((s = mp_sql_prepare(db, SQL_FWD_INSERT)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, c.id);
    bind_u64(s, 2, conv);
    mp_sql_bind_i64(s, 3, seq);
    bind_u64(s, 4, c.sender_id);
    mp_sql_bind_text(s, 5, c.client_msg_id, -1);
    mp_sql_bind_text(s, 6, c.kind, -1);
    mp_sql_bind_text(s, 7, c.text, -1);
    mp_sql_bind_i64(s, 8, c.created_at);
    mp_sql_bind_i64(s, 9, v);
    bind_u64(s, 10, j->in.sender_device);
    if (c.content != NULL)
        mp_sql_bind_text(s, 11, c.content, -1);
    if (c.search_extra != NULL)
        mp_sql_bind_text(s, 12, c.search_extra, -1);
    bind_u64(s, 13, c.fwd_sender);
    mp_sql_bind_i64(s, 14, c.fwd_at);
    /* The copy is indexed later by the indexer, like a send. */
    if ((rc = step_done(db, s)) != MP_OK)
        return rc;
    return fid != 0 ? mp_sqlite__file_ref_add(db, fid, c.id, conv) : MP_OK;
}

static mp_err_t fwd_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    fwd_job_t *j = (fwd_job_t *)job;
    bool dup = false;
    mp_err_t rc = fwd_dedup(db, j, &dup);
    if (rc != MP_OK || (j->out.duplicate = dup))
        return rc;
    if ((rc = fwd_sources(db, j)) != MP_OK)
        return rc;
    uint64_t conv = j->in.conversation_id;
    if (j->in.to_user_id != 0) {
        j->out.peer_id = j->in.to_user_id;
        if ((rc = mp_sqlite__direct_get(db, j->in.sender_id, j->in.to_user_id, j->in.now_ms, &conv,
                                        &j->out.created_conversation, &j->out.you_blocked)) !=
            MP_OK)
            return rc;
    }
    if ((rc = mp_sqlite__post_access(db, j->in.sender_id, conv, j->in.now_ms, &j->out.muted_until,
                                     &j->out.you_blocked)) != MP_OK)
        return rc;
    for (size_t i = 0; i < j->src.n; i++)
        if ((rc = fwd_copy(db, j, conv, i, &j->src.v[i])) != MP_OK)
            return rc;
    /* The sender has read what they wrote, as after a send. */
    const mp_msg_row_t *last = &j->copies.v[j->copies.n - 1];
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_FWD_READ);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, conv);
    bind_u64(s, 2, j->in.sender_id);
    mp_sql_bind_i64(s, 3, last->seq);
    mp_sql_bind_i64(s, 4, last->version);
    return step_done(db, s);
}

static void fwd_done(mp_sql_job_t *job, mp_err_t rc)
{
    fwd_job_t *j = (fwd_job_t *)job;
    j->out.msgs = j->copies.v;
    j->out.n = rc == MP_OK ? j->copies.n : 0;
    bool out =
        rc == MP_OK || rc == MP_ERR_MUTED || rc == MP_ERR_PRIVACY || j->out.bad_field != NULL;
    j->cb(rc, out ? &j->out : NULL, j->ud);
    mp_sqlite__msgvec_free(&j->src);
    mp_sqlite__msgvec_free(&j->copies);
    mp_free(j);
}

mp_err_t mp_store_msg_forward(mp_store_t *st, const mp_msg_forward_in_t *in, mp_msg_forward_fn cb,
                              void *ud)
{
    MP_ASSERT(in->n >= 1 && in->n <= MP_CHAT_FORWARD_MAX);
    size_t nids = in->n * sizeof *in->message_ids, ncmid = strlen(in->client_msg_id) + 1;
    fwd_job_t *j = mp_calloc(1, sizeof *j + nids + ncmid);
    j->base.run = fwd_run;
    j->base.done = fwd_done;
    j->in = *in;
    uint64_t *ids = (uint64_t *)(void *)(j + 1);
    memcpy(ids, in->message_ids, nids);
    char *cmid = (char *)(ids + in->n);
    memcpy(cmid, in->client_msg_id, ncmid);
    j->in.message_ids = ids;
    j->in.client_msg_id = cmid;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}
