/* The data export's reads (store/export.h): read jobs, one per page, each
 * seeking its keyset index so that a page costs the same at the end of a
 * long list as at its start. */
#include <stdio.h>
#include <string.h>

#include "store/export.h"
#include "store/sqlite_job.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"

/* ---- the profile (reader) ---------------------------------------------------------- */

typedef struct profile_job {
    mp_sql_job_t base;
    uint64_t user;
    mp_export_profile_t p;
    char *username, *display_name, *bio, *email;
    mp_export_profile_fn cb;
    void *ud;
} profile_job_t;

static const char SQL_PROFILE[] =
    "SELECT username, display_name, bio, email, pending, guest, admin, avatar_file_id,"
    " created_at, deleted_at, priv_message, priv_presence, priv_search, priv_groups,"
    " priv_receipts FROM users WHERE id = ?1";

static mp_err_t profile_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    profile_job_t *j = (profile_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_PROFILE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_FOUND;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    mp_export_profile_t *p = &j->p;
    p->id = j->user;
    p->username = j->username = col_dup(s, 0);
    p->display_name = j->display_name = col_dup(s, 1);
    p->bio = j->bio = col_dup(s, 2);
    p->email = j->email = mp_sql_col_is_null(s, 3) ? NULL : col_dup(s, 3);
    p->email_pending = mp_sql_col_int(s, 4) != 0;
    p->guest = mp_sql_col_int(s, 5) != 0;
    p->admin = mp_sql_col_int(s, 6) != 0;
    p->avatar_file_id = col_u64(s, 7);
    p->created_at = mp_sql_col_i64(s, 8);
    p->deleted_at = mp_sql_col_i64(s, 9);
    p->priv_message = mp_sql_col_int(s, 10);
    p->priv_presence = mp_sql_col_int(s, 11);
    p->priv_search = mp_sql_col_int(s, 12);
    p->priv_groups = mp_sql_col_int(s, 13);
    p->no_receipts = mp_sql_col_int(s, 14) != 0;
    mp_sql_reset(s);
    return MP_OK;
}

static void profile_done(mp_sql_job_t *job, mp_err_t rc)
{
    profile_job_t *j = (profile_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->p : NULL, j->ud);
    mp_free(j->username);
    mp_free(j->display_name);
    mp_free(j->bio);
    mp_free(j->email);
    mp_free(j);
}

mp_err_t mp_store_export_profile(mp_store_t *st, uint64_t user_id, mp_export_profile_fn cb,
                                 void *ud)
{
    profile_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = profile_run;
    j->base.done = profile_done;
    j->user = user_id;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}

/* ---- one page of a list (reader) ------------------------------------------------------ */

typedef struct page_job {
    mp_sql_job_t base;
    uint64_t user;
    mp_export_list_t list;
    mp_export_cursor_t from, next;
    unsigned limit;
    size_t max_bytes;
    mp_export_row_t *rows;
    size_t n;
    bool more;
    mp_export_page_fn cb;
    void *ud;
} page_job_t;

/* Each query returns, in this order: id, ref, ref2, at, at2, at3, name,
 * text, extra (the table in export.h), then for messages the keyset
 * (sender_device, client_msg_id); ?1 = user, ?2 = cursor id (or device),
 * ?3 = limit, ?4 = cursor client_msg_id. */
static const char SQL_DEVICES[] =
    "SELECT id, 0, 0, created_at, last_seen_at, revoked_at, name, NULL, NULL FROM devices"
    " WHERE user_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3";
static const char SQL_CONTACTS[] =
    "SELECT c.peer_id, 0, 0, c.created_at, c.updated_at, c.state, u.username, c.message, NULL"
    " FROM contacts c JOIN users u ON u.id = c.peer_id"
    " WHERE c.user_id = ?1 AND c.peer_id > ?2 AND c.state <> 0 ORDER BY c.peer_id LIMIT ?3";
static const char SQL_BLOCKS[] =
    "SELECT b.blocked_id, 0, 0, b.created_at, 0, 0, u.username, NULL, NULL"
    " FROM blocks b JOIN users u ON u.id = b.blocked_id"
    " WHERE b.user_id = ?1 AND b.blocked_id > ?2 ORDER BY b.blocked_id LIMIT ?3";
static const char SQL_CONVERSATIONS[] =
    "SELECT c.id, coalesce(p.user_id, 0), 0, m.joined_at, 0, 0, c.kind,"
    " CASE WHEN c.kind = 'direct' THEN coalesce(u.username, '') ELSE c.title END, m.role"
    " FROM members m JOIN conversations c ON c.id = m.conversation_id"
    " LEFT JOIN members p ON c.kind = 'direct' AND p.conversation_id = c.id"
    " AND p.user_id <> ?1 LEFT JOIN users u ON u.id = p.user_id"
    " WHERE m.user_id = ?1 AND m.conversation_id > ?2 ORDER BY m.conversation_id LIMIT ?3";
/* The dedup index (sender_id, sender_device, client_msg_id) is the keyset:
 * a seek per page, never a sort. */
static const char SQL_MESSAGES[] =
    "SELECT id, conversation_id, coalesce(reply_to, 0), created_at, coalesce(edited_at, 0), seq,"
    " kind, body, content, sender_device, client_msg_id, deleted_at FROM messages"
    " WHERE sender_id = ?1 AND (sender_device, client_msg_id) > (?2, ?4)"
    " ORDER BY sender_device, client_msg_id LIMIT ?3";

static const char *const SQL_LIST[] = {
    [MP_EXPORT_DEVICES] = SQL_DEVICES,   [MP_EXPORT_CONTACTS] = SQL_CONTACTS,
    [MP_EXPORT_BLOCKS] = SQL_BLOCKS,     [MP_EXPORT_CONVERSATIONS] = SQL_CONVERSATIONS,
    [MP_EXPORT_MESSAGES] = SQL_MESSAGES,
};

static char *col_dup_or_null(mp_sql_stmt_t *s, int i)
{
    return mp_sql_col_is_null(s, i) ? NULL : col_dup(s, i);
}

static size_t slen(const char *s)
{
    return s ? strlen(s) : 0;
}

/* Reads the current row into a new row of j; returns its string bytes. */
static size_t row_read(mp_sql_stmt_t *s, page_job_t *j)
{
    mp_export_row_t *r = &j->rows[j->n++];
    r->id = col_u64(s, 0);
    r->ref = col_u64(s, 1);
    r->ref2 = col_u64(s, 2);
    r->at = mp_sql_col_i64(s, 3);
    r->at2 = mp_sql_col_i64(s, 4);
    r->at3 = mp_sql_col_i64(s, 5);
    r->name = col_dup_or_null(s, 6);
    r->text = col_dup_or_null(s, 7);
    r->extra = col_dup_or_null(s, 8);
    return slen(r->name) + slen(r->text) + slen(r->extra);
}

/* Moves the cursor past the current row; false when the row is not part of
 * the export (a system line or a message deleted for everyone). */
static bool row_seen(mp_sql_stmt_t *s, page_job_t *j)
{
    if (j->list != MP_EXPORT_MESSAGES) {
        j->next.id = col_u64(s, 0);
        return true;
    }
    j->next.id = col_u64(s, 0);
    j->next.device = mp_sql_col_i64(s, 9);
    const char *c = mp_sql_col_text(s, 10);
    snprintf(j->next.cmid, sizeof j->next.cmid, "%s", c ? c : "");
    const char *kind = mp_sql_col_text(s, 6);
    return mp_sql_col_is_null(s, 11) && !(kind != NULL && strcmp(kind, "system") == 0);
}

/* Rows looked at per page, skipped ones included, as a multiple of limit:
 * bounds one job's work whatever is skipped. */
#define MP_EXPORT_SCAN 4

static mp_err_t page_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    page_job_t *j = (page_job_t *)job;
    bool msgs = j->list == MP_EXPORT_MESSAGES;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_LIST[j->list]);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    int64_t scan = (int64_t)j->limit * MP_EXPORT_SCAN;
    bind_u64(s, 1, j->user);
    mp_sql_bind_i64(s, 2, msgs ? j->from.device : (int64_t)j->from.id);
    mp_sql_bind_i64(s, 3, scan + 1);
    if (msgs)
        mp_sql_bind_text(s, 4, j->from.cmid, -1);
    j->rows = mp_calloc(j->limit, sizeof *j->rows);
    j->next = j->from;
    size_t bytes = 0;
    int64_t seen = 0;
    int rc;
    /* Messages deleted for everyone and system lines are skipped here: a
     * condition in SQL would not make the seek skip them any faster. */
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        if (j->n == j->limit || seen == scan || (j->n > 0 && bytes >= j->max_bytes)) {
            j->more = true;
            break;
        }
        seen++;
        if (row_seen(s, j))
            bytes += row_read(s, j);
    }
    mp_sql_reset(s);
    return rc == MP_SQL_ROW || rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static void page_free_rows(page_job_t *j)
{
    for (size_t i = 0; i < j->n; i++) {
        mp_free((void *)j->rows[i].name);
        mp_free((void *)j->rows[i].text);
        mp_free((void *)j->rows[i].extra);
    }
    mp_free(j->rows);
}

static void page_done(mp_sql_job_t *job, mp_err_t rc)
{
    page_job_t *j = (page_job_t *)job;
    j->cb(rc, rc == MP_OK ? j->rows : NULL, rc == MP_OK ? j->n : 0, rc == MP_OK && j->more,
          rc == MP_OK ? &j->next : NULL, j->ud);
    page_free_rows(j);
    mp_free(j);
}

mp_err_t mp_store_export_page(mp_store_t *st, uint64_t user_id, mp_export_list_t list,
                              const mp_export_cursor_t *from, unsigned limit, size_t max_bytes,
                              mp_export_page_fn cb, void *ud)
{
    page_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = page_run;
    j->base.done = page_done;
    j->user = user_id;
    j->list = list;
    if (from != NULL)
        j->from = *from;
    j->limit = limit ? limit : 1;
    j->max_bytes = max_bytes;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}
