/* SQLite implementation of store/admin.h: accounts as an administrator sees
 * them, the admin and disabled flags, the audit log and the counts. The
 * rules that must hold against races (the last administrator) run inside
 * the write job. */
#include <stdio.h>
#include <string.h>

#include "store/admin.h"
#include "store/sqlite_job.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"

static void copy_text(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* A username as stored (ASCII lower case, as account creation stores it):
 * what SQLite's COLLATE NOCASE compares, spelled so that PostgreSQL (whose
 * text compares by bytes) finds the same rows. */
static void lower_copy(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src != NULL && src[i] != '\0' && i + 1 < cap; i++)
        dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] - 'A' + 'a') : src[i];
    dst[i] = '\0';
}

#define ADMIN_USER_COLS                                                                            \
    "u.id, u.username, u.display_name, u.created_at, u.guest, COALESCE(u.email, ''), u.pending,"   \
    " u.admin, u.disabled_at, u.deleted_at,"                                                       \
    " (SELECT COALESCE(max(d.last_seen_at), 0) FROM devices d WHERE d.user_id = u.id)"

static void admin_user_read(mp_sql_stmt_t *s, mp_admin_user_row_t *r)
{
    memset(r, 0, sizeof *r);
    r->u.id = col_u64(s, 0);
    copy_text(r->u.username, sizeof r->u.username, mp_sql_col_text(s, 1));
    copy_text(r->u.display_name, sizeof r->u.display_name, mp_sql_col_text(s, 2));
    r->u.created_at = mp_sql_col_i64(s, 3);
    r->u.guest = mp_sql_col_int(s, 4) != 0;
    copy_text(r->email, sizeof r->email, mp_sql_col_text(s, 5));
    r->pending = mp_sql_col_int(s, 6) != 0;
    r->admin = mp_sql_col_int(s, 7) != 0;
    r->disabled_at = mp_sql_col_i64(s, 8);
    r->deleted_at = mp_sql_col_i64(s, 9);
    r->last_seen_at = mp_sql_col_i64(s, 10);
}

/* ---- one user ------------------------------------------------------------------ */

typedef struct {
    mp_sql_job_t job;
    mp_store_admin_user_fn cb;
    void *ud;
    uint64_t id;
    char name[MP_USERNAME_MAX + 1];
    mp_admin_user_row_t row;
} user_get_job_t;

static const char SQL_USER_BY_ID[] = "SELECT " ADMIN_USER_COLS " FROM users u WHERE u.id = ?1";
/* The name is bound in lower case (lower_copy), as usernames are stored. */
static const char SQL_USER_BY_NAME[] =
    "SELECT " ADMIN_USER_COLS " FROM users u WHERE u.username = ?1";

static mp_err_t user_get_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    user_get_job_t *j = (user_get_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, j->id ? SQL_USER_BY_ID : SQL_USER_BY_NAME);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    if (j->id)
        bind_u64(s, 1, j->id);
    else
        mp_sql_bind_text(s, 1, j->name, -1);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_ROW) {
        admin_user_read(s, &j->row);
        return MP_OK;
    }
    return rc == MP_SQL_DONE ? MP_ERR_NOT_FOUND : mp_sql_err(db, rc);
}

static void user_get_done(mp_sql_job_t *job, mp_err_t rc)
{
    user_get_job_t *j = (user_get_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->row : NULL, j->ud);
    mp_free(j);
}

mp_err_t mp_store_admin_user_get(mp_store_t *st, uint64_t id, const char *username,
                                 mp_store_admin_user_fn cb, void *ud)
{
    if (id == 0 && (username == NULL || strlen(username) > MP_USERNAME_MAX))
        return MP_ERR_NOT_FOUND;
    user_get_job_t *j = mp_calloc(1, sizeof *j);
    j->job.run = user_get_run;
    j->job.done = user_get_done;
    j->cb = cb;
    j->ud = ud;
    j->id = id;
    if (id == 0)
        lower_copy(j->name, sizeof j->name, username);
    return mp_sqlite__read_or_free(st, &j->job);
}

/* ---- the user list --------------------------------------------------------------- */

typedef struct {
    mp_sql_job_t job;
    mp_store_admin_users_fn cb;
    void *ud;
    char *q; /* LIKE pattern, lower-case, "" = none */
    int admin, disabled, guest;
    bool with_deleted;
    char after[MP_USERNAME_MAX + 1];
    size_t limit;
    mp_admin_user_row_t *rows;
    size_t n;
    bool has_more;
} user_list_job_t;

/* The filters are parameters (-1 = either) so that one statement serves
 * every combination; an administrator's listing is rare enough for the
 * scan that the substring match costs. No pattern is "" (a made pattern
 * never is), not NULL: PostgreSQL cannot type a NULL that is only tested
 * for NULL. Both sides of LIKE are lower case: SQLite's LIKE ignores ASCII
 * case, PostgreSQL's does not; lower() folds ASCII in both (PostgreSQL's
 * columns are COLLATE "C"). */
static const char SQL_USER_LIST[] = "SELECT " ADMIN_USER_COLS " FROM users u WHERE u.username > ?1"
                                    " AND (?2 < 0 OR u.admin = ?2)"
                                    " AND (?3 < 0 OR (u.disabled_at > 0) = (?3 > 0))"
                                    " AND (?4 < 0 OR u.guest = ?4)"
                                    " AND (?5 > 0 OR u.deleted_at = 0)"
                                    " AND (?6 = '' OR lower(u.username) LIKE ?6 ESCAPE '\\'"
                                    "      OR lower(u.display_name) LIKE ?6 ESCAPE '\\'"
                                    "      OR lower(COALESCE(u.email, '')) LIKE ?6 ESCAPE '\\')"
                                    " ORDER BY u.username LIMIT ?7";

static mp_err_t user_list_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    user_list_job_t *j = (user_list_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_USER_LIST);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_text(s, 1, j->after, -1);
    mp_sql_bind_i64(s, 2, j->admin);
    mp_sql_bind_i64(s, 3, j->disabled);
    mp_sql_bind_i64(s, 4, j->guest);
    mp_sql_bind_i64(s, 5, j->with_deleted ? 1 : 0);
    mp_sql_bind_text(s, 6, j->q != NULL ? j->q : "", -1);
    mp_sql_bind_i64(s, 7, (int64_t)j->limit + 1);
    j->rows = mp_calloc(j->limit + 1, sizeof *j->rows);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        if (j->n == j->limit) {
            j->has_more = true;
            continue;
        }
        admin_user_read(s, &j->rows[j->n++]);
    }
    mp_sql_reset(s);
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static void user_list_done(mp_sql_job_t *job, mp_err_t rc)
{
    user_list_job_t *j = (user_list_job_t *)job;
    j->cb(rc, rc == MP_OK ? j->rows : NULL, rc == MP_OK ? j->n : 0, rc == MP_OK && j->has_more,
          j->ud);
    mp_free(j->rows);
    mp_free(j->q);
    mp_free(j);
}

/* "%q%" with LIKE's wildcards and the escape itself escaped, lower-cased
 * (ASCII: SQLite's lower() folds nothing else either). */
static char *like_pattern(const char *q)
{
    size_t n = strlen(q);
    char *p = mp_malloc(2 * n + 3), *o = p;
    *o++ = '%';
    for (size_t i = 0; i < n; i++) {
        char c = q[i];
        if (c == '%' || c == '_' || c == '\\')
            *o++ = '\\';
        *o++ = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    *o++ = '%';
    *o = '\0';
    return p;
}

mp_err_t mp_store_admin_user_list(mp_store_t *st, const mp_admin_user_filter_t *f,
                                  const char *after, size_t limit, mp_store_admin_users_fn cb,
                                  void *ud)
{
    if (limit == 0 || limit > 1000)
        return MP_ERR_BAD_REQUEST;
    user_list_job_t *j = mp_calloc(1, sizeof *j);
    j->job.run = user_list_run;
    j->job.done = user_list_done;
    j->cb = cb;
    j->ud = ud;
    j->q = f->q != NULL && f->q[0] != '\0' ? like_pattern(f->q) : NULL;
    j->admin = f->admin;
    j->disabled = f->disabled;
    j->guest = f->guest;
    j->with_deleted = f->with_deleted;
    lower_copy(j->after, sizeof j->after, after);
    j->limit = limit;
    mp_err_t rc = mp_sqlite__read(st, &j->job);
    if (rc != MP_OK) {
        mp_free(j->q);
        mp_free(j);
    }
    return rc;
}

/* ---- flags -------------------------------------------------------------------------- */

typedef struct {
    mp_sql_job_t job;
    mp_store_admin_flag_fn cb;
    void *ud;
    uint64_t user_id;
    bool on;
    int64_t now_ms;
    bool changed;
} flag_job_t;

static void flag_done(mp_sql_job_t *job, mp_err_t rc)
{
    flag_job_t *j = (flag_job_t *)job;
    j->cb(rc, rc == MP_OK && j->changed, j->ud);
    mp_free(j);
}

static const char SQL_USER_FLAGS[] =
    "SELECT admin, guest, deleted_at, disabled_at FROM users WHERE id = ?1";

typedef struct {
    bool admin, guest, deleted;
    int64_t disabled_at;
} user_flags_t;

static mp_err_t user_flags(mp_sql_conn_t *db, uint64_t id, user_flags_t *f)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_USER_FLAGS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, id);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_ROW) {
        f->admin = mp_sql_col_int(s, 0) != 0;
        f->guest = mp_sql_col_int(s, 1) != 0;
        f->deleted = mp_sql_col_i64(s, 2) != 0;
        f->disabled_at = mp_sql_col_i64(s, 3);
        mp_sql_reset(s);
        return f->deleted ? MP_ERR_NOT_FOUND : MP_OK;
    }
    return rc == MP_SQL_DONE ? MP_ERR_NOT_FOUND : mp_sql_err(db, rc);
}

/* Other administrators who can still act: not disabled, not deleted. */
static const char SQL_OTHER_ADMINS[] = "SELECT count(*) FROM users WHERE admin = 1 AND id <> ?1"
                                       " AND disabled_at = 0 AND deleted_at = 0";
static const char SQL_SET_ADMIN[] = "UPDATE users SET admin = ?2 WHERE id = ?1";

static mp_err_t set_admin_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    flag_job_t *j = (flag_job_t *)job;
    user_flags_t f;
    mp_err_t err = user_flags(db, j->user_id, &f);
    if (err != MP_OK)
        return err;
    if (f.guest)
        return MP_ERR_BAD_REQUEST;
    if (f.admin == j->on)
        return MP_OK; /* changed stays false */
    if (!j->on) {
        mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_OTHER_ADMINS);
        if (s == NULL)
            return MP_ERR_INTERNAL;
        bind_u64(s, 1, j->user_id);
        int rc = mp_sql_step(s);
        if (rc != MP_SQL_ROW)
            return mp_sql_err(db, rc);
        int64_t others = mp_sql_col_i64(s, 0);
        mp_sql_reset(s);
        if (others == 0)
            return MP_ERR_CONFLICT;
    }
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SET_ADMIN);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user_id);
    mp_sql_bind_i64(s, 2, j->on ? 1 : 0);
    err = step_done(db, s);
    j->changed = err == MP_OK;
    return err;
}

mp_err_t mp_store_admin_set_admin(mp_store_t *st, uint64_t user_id, bool admin,
                                  mp_store_admin_flag_fn cb, void *ud)
{
    flag_job_t *j = mp_calloc(1, sizeof *j);
    j->job.run = set_admin_run;
    j->job.done = flag_done;
    j->cb = cb;
    j->ud = ud;
    j->user_id = user_id;
    j->on = admin;
    return mp_sqlite__write_or_free(st, &j->job);
}

static const char SQL_SET_DISABLED[] = "UPDATE users SET disabled_at = ?2 WHERE id = ?1";

static mp_err_t set_disabled_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    flag_job_t *j = (flag_job_t *)job;
    user_flags_t f;
    mp_err_t err = user_flags(db, j->user_id, &f);
    if (err != MP_OK)
        return err;
    if ((f.disabled_at != 0) == j->on)
        return MP_OK; /* changed stays false; the first disabled_at is kept */
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SET_DISABLED);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user_id);
    /* 0 means active: a clock at the epoch still marks the account disabled. */
    mp_sql_bind_i64(s, 2, j->on ? (j->now_ms > 0 ? j->now_ms : 1) : 0);
    err = step_done(db, s);
    j->changed = err == MP_OK;
    return err;
}

mp_err_t mp_store_admin_set_disabled(mp_store_t *st, uint64_t user_id, bool disabled,
                                     int64_t now_ms, mp_store_admin_flag_fn cb, void *ud)
{
    flag_job_t *j = mp_calloc(1, sizeof *j);
    j->job.run = set_disabled_run;
    j->job.done = flag_done;
    j->cb = cb;
    j->ud = ud;
    j->user_id = user_id;
    j->on = disabled;
    j->now_ms = now_ms;
    return mp_sqlite__write_or_free(st, &j->job);
}

/* ---- the audit log ---------------------------------------------------------------- */

typedef struct {
    mp_sql_job_t job;
    mp_store_done_fn cb;
    void *ud;
    int64_t at;
    uint64_t actor_id, target_id;
    char action[MP_AUDIT_ACTION_MAX + 1];
    char *detail;
} audit_add_job_t;

static const char SQL_AUDIT_ADD[] =
    "INSERT INTO audit_log(at, actor_id, action, target_id, detail) VALUES (?1, ?2, ?3, ?4, ?5)";

static mp_err_t audit_add_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    audit_add_job_t *j = (audit_add_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_AUDIT_ADD);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_i64(s, 1, j->at);
    bind_u64(s, 2, j->actor_id);
    mp_sql_bind_text(s, 3, j->action, -1);
    bind_u64(s, 4, j->target_id);
    mp_sql_bind_text(s, 5, j->detail != NULL ? j->detail : "", -1);
    return step_done(db, s);
}

static void audit_add_done(mp_sql_job_t *job, mp_err_t rc)
{
    audit_add_job_t *j = (audit_add_job_t *)job;
    if (j->cb)
        j->cb(rc, j->ud);
    mp_free(j->detail);
    mp_free(j);
}

mp_err_t mp_store_audit_add(mp_store_t *st, int64_t at, uint64_t actor_id, const char *action,
                            uint64_t target_id, const char *detail, mp_store_done_fn cb, void *ud)
{
    if (action == NULL || action[0] == '\0' || strlen(action) > MP_AUDIT_ACTION_MAX ||
        (detail != NULL && strlen(detail) > MP_AUDIT_DETAIL_MAX))
        return MP_ERR_BAD_REQUEST;
    audit_add_job_t *j = mp_calloc(1, sizeof *j);
    j->job.run = audit_add_run;
    j->job.done = audit_add_done;
    j->cb = cb;
    j->ud = ud;
    j->at = at;
    j->actor_id = actor_id;
    j->target_id = target_id;
    copy_text(j->action, sizeof j->action, action);
    j->detail = detail != NULL ? mp_strdup(detail) : NULL;
    mp_err_t rc = mp_sqlite__write(st, &j->job);
    if (rc != MP_OK) {
        mp_free(j->detail);
        mp_free(j);
    }
    return rc;
}

typedef struct {
    mp_sql_job_t job;
    mp_store_audit_fn cb;
    void *ud;
    uint64_t before;
    size_t limit;
    mp_audit_row_t *rows;
    size_t n;
    bool has_more;
} audit_page_job_t;

/* id is the rowid, so it grows with every insert: newest first is by id. */
static const char SQL_AUDIT_PAGE[] =
    "SELECT a.id, a.at, a.actor_id, a.action, a.target_id, a.detail, u.username"
    " FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id"
    " WHERE ?1 = 0 OR a.id < ?1 ORDER BY a.id DESC LIMIT ?2";

static mp_err_t audit_page_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    audit_page_job_t *j = (audit_page_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_AUDIT_PAGE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->before);
    mp_sql_bind_i64(s, 2, (int64_t)j->limit + 1);
    j->rows = mp_calloc(j->limit + 1, sizeof *j->rows);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        if (j->n == j->limit) {
            j->has_more = true;
            continue;
        }
        mp_audit_row_t *r = &j->rows[j->n++];
        r->id = col_u64(s, 0);
        r->at = mp_sql_col_i64(s, 1);
        r->actor_id = col_u64(s, 2);
        copy_text(r->action, sizeof r->action, mp_sql_col_text(s, 3));
        r->target_id = col_u64(s, 4);
        r->detail = col_dup(s, 5);
        copy_text(r->actor_name, sizeof r->actor_name, mp_sql_col_text(s, 6));
    }
    mp_sql_reset(s);
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static void audit_page_done(mp_sql_job_t *job, mp_err_t rc)
{
    audit_page_job_t *j = (audit_page_job_t *)job;
    j->cb(rc, rc == MP_OK ? j->rows : NULL, rc == MP_OK ? j->n : 0, rc == MP_OK && j->has_more,
          j->ud);
    for (size_t i = 0; i < j->n; i++)
        mp_free(j->rows[i].detail);
    mp_free(j->rows);
    mp_free(j);
}

mp_err_t mp_store_audit_page(mp_store_t *st, uint64_t before, size_t limit, mp_store_audit_fn cb,
                             void *ud)
{
    if (limit == 0 || limit > 1000)
        return MP_ERR_BAD_REQUEST;
    audit_page_job_t *j = mp_calloc(1, sizeof *j);
    j->job.run = audit_page_run;
    j->job.done = audit_page_done;
    j->cb = cb;
    j->ud = ud;
    j->before = before;
    j->limit = limit;
    return mp_sqlite__read_or_free(st, &j->job);
}

/* ---- counts ------------------------------------------------------------------------- */

typedef struct {
    mp_sql_job_t job;
    mp_store_admin_stats_fn cb;
    void *ud;
    mp_admin_stats_t stats;
} stats_job_t;

/* Counting rows that meet a condition is count(CASE ...): a comparison is
 * a boolean in PostgreSQL, which sum() does not add. */
static const char SQL_STATS_USERS[] =
    "SELECT count(CASE WHEN guest = 0 AND deleted_at = 0 THEN 1 END),"
    " count(CASE WHEN guest = 1 THEN 1 END),"
    " count(CASE WHEN admin = 1 AND deleted_at = 0 THEN 1 END),"
    " count(CASE WHEN disabled_at > 0 AND deleted_at = 0 THEN 1 END),"
    " count(CASE WHEN pending = 1 AND deleted_at = 0 THEN 1 END),"
    " count(CASE WHEN deleted_at > 0 THEN 1 END) FROM users";
static const char SQL_STATS_CONVS[] =
    "SELECT count(*), count(CASE WHEN kind = 'direct' THEN 1 END),"
    " count(CASE WHEN kind = 'group' THEN 1 END) FROM conversations";
static const char SQL_STATS_MSGS[] = "SELECT count(*) FROM messages";
/* The size of the database: a dialect pair (SQLite's pages, PostgreSQL's
 * own function). */
static const char SQL_STATS_DB[] =
    "SELECT p.page_count * s.page_size FROM pragma_page_count() p, pragma_page_size() s";
static const char SQL_STATS_DB_PG[] = "SELECT pg_database_size(current_database())";
static const char SQL_STATS_FILES[] =
    "SELECT count(*), coalesce(sum(serve_size), 0)"
    " + (SELECT coalesce(sum(size), 0) FROM renditions) FROM blobs";

/* Runs a one-row statement and reads its first n columns into out. */
static mp_err_t one_row(mp_sql_conn_t *db, const char *sql, uint64_t *const *out, int n)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, sql);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    for (int i = 0; i < n; i++)
        *out[i] = col_u64(s, i);
    mp_sql_reset(s);
    return MP_OK;
}

static mp_err_t stats_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    mp_admin_stats_t *t = &((stats_job_t *)job)->stats;
    uint64_t *const users[] = {&t->users,    &t->guests,  &t->admins,
                               &t->disabled, &t->pending, &t->deleted};
    uint64_t *const convs[] = {&t->conversations, &t->direct, &t->groups};
    uint64_t *const msgs[] = {&t->messages};
    uint64_t *const dbsize[] = {&t->db_bytes};
    uint64_t *const files[] = {&t->files, &t->file_bytes};
    mp_err_t rc = one_row(db, SQL_STATS_USERS, users, 6);
    if (rc == MP_OK)
        rc = one_row(db, SQL_STATS_CONVS, convs, 3);
    if (rc == MP_OK)
        rc = one_row(db, SQL_STATS_MSGS, msgs, 1);
    if (rc == MP_OK)
        rc = one_row(db, mp_sql_is_pg(db) ? SQL_STATS_DB_PG : SQL_STATS_DB, dbsize, 1);
    if (rc == MP_OK)
        rc = one_row(db, SQL_STATS_FILES, files, 2);
    return rc;
}

static void stats_done(mp_sql_job_t *job, mp_err_t rc)
{
    stats_job_t *j = (stats_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->stats : NULL, j->ud);
    mp_free(j);
}

mp_err_t mp_store_admin_stats(mp_store_t *st, mp_store_admin_stats_fn cb, void *ud)
{
    stats_job_t *j = mp_calloc(1, sizeof *j);
    j->job.run = stats_run;
    j->job.done = stats_done;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->job);
}
