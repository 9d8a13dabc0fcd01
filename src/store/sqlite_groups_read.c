/* SQLite implementation of the groups reads (store/groups.h): the group as a
 * user sees it, the membership cache's view of a conversation, and the member,
 * ban and invite lists. All run on the read pool. */
#include <string.h>

#include "proto/group_rules.h"
#include "store/groups.h"
#include "store/sqlite_groups_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"

/* ---- reads: the group, the cache's view ---------------------------------------- */

typedef struct get_job {
    mp_sql_job_t base;
    uint64_t user, conv;
    mp_sqlite_grow_t g;
    mp_group_fn cb;
    void *ud;
} get_job_t;

static mp_err_t get_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    get_job_t *j = (get_job_t *)job;
    return mp_sqlite__group_load(db, j->conv, j->user, true, &j->g);
}

static void get_done(mp_sql_job_t *job, mp_err_t rc)
{
    get_job_t *j = (get_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->g.row : NULL, j->ud);
    mp_sqlite__grow_free(&j->g);
    mp_free(j);
}

mp_err_t mp_store_group_get(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                            mp_group_fn cb, void *ud)
{
    get_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = get_run;
    j->base.done = get_done;
    j->user = user_id;
    j->conv = conversation_id;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}

typedef struct conv_job {
    mp_sql_job_t base;
    uint64_t conv;
    mp_group_conv_row_t out;
    uint64_t *members;
    size_t cap;
    mp_group_conv_fn cb;
    void *ud;
} conv_job_t;

static const char SQL_CONV_STATE[] = "SELECT kind, dissolved_at FROM conversations WHERE id = ?1";
static const char SQL_CONV_MEMBERS[] =
    "SELECT user_id FROM members WHERE conversation_id = ?1 ORDER BY user_id";

static void conv_push(conv_job_t *j, mp_sql_stmt_t *s)
{
    mp_group_conv_row_t *o = &j->out;
    if (o->n == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 16;
        j->members = mp_realloc(j->members, j->cap * sizeof *j->members);
    }
    j->members[o->n++] = col_u64(s, 0);
}

static mp_err_t conv_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    conv_job_t *j = (conv_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_CONV_STATE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_FOUND;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    const char *kind = mp_sql_col_text(s, 0);
    mp_group_conv_row_t *o = &j->out;
    o->kind = strcmp(kind, "group") == 0   ? MP_CONV_GROUP
              : strcmp(kind, "world") == 0 ? MP_CONV_WORLD
                                           : MP_CONV_DIRECT;
    o->dissolved = mp_sql_col_i64(s, 1) != 0;
    mp_sql_reset(s);
    if (o->kind == MP_CONV_WORLD)
        return MP_OK;
    if ((s = mp_sql_prepare(db, SQL_CONV_MEMBERS)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW)
        conv_push(j, s);
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static void conv_done(mp_sql_job_t *job, mp_err_t rc)
{
    conv_job_t *j = (conv_job_t *)job;
    j->out.members = j->members;
    j->cb(rc, rc == MP_OK ? &j->out : NULL, j->ud);
    mp_free(j->members);
    mp_free(j);
}

mp_err_t mp_store_group_conv(mp_store_t *st, uint64_t conversation_id, mp_group_conv_fn cb,
                             void *ud)
{
    conv_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = conv_run;
    j->base.done = conv_done;
    j->conv = conversation_id;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}

/* ---- reads: members, bans, invites -------------------------------------------- */

typedef struct list_job {
    mp_sql_job_t base;
    uint64_t user, conv, after_user;
    int64_t after_joined, now;
    unsigned limit;
    bool admins_only, has_more;
    void *rows; /* members, bans or invites */
    size_t n, cap, size;
    mp_err_t (*collect)(mp_sql_conn_t *db, struct list_job *j);
    void (*finish)(struct list_job *j, mp_err_t rc);
    void (*free_row)(void *row);
    union {
        mp_group_members_fn members;
        mp_group_bans_fn bans;
        mp_group_invites_fn invites;
    } cb;
    void *ud;
} list_job_t;

static void *list_push(list_job_t *j)
{
    if (j->n == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 16;
        j->rows = mp_realloc(j->rows, j->cap * j->size);
    }
    void *r = (char *)j->rows + j->n++ * j->size;
    memset(r, 0, j->size);
    return r;
}

static const char SQL_MEMBERS_PAGE[] =
    "SELECT m.user_id, u.username, u.display_name, m.role, m.joined_at, m.muted_until"
    " FROM members m JOIN users u ON u.id = m.user_id WHERE m.conversation_id = ?1"
    " AND (m.joined_at > ?2 OR (m.joined_at = ?2 AND m.user_id > ?3))"
    " ORDER BY m.joined_at, m.user_id LIMIT ?4";

static mp_err_t members_collect(mp_sql_conn_t *db, list_job_t *j)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_MEMBERS_PAGE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    mp_sql_bind_i64(s, 2, j->after_joined);
    bind_u64(s, 3, j->after_user);
    mp_sql_bind_i64(s, 4, (int64_t)j->limit + 1);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        mp_group_member_row_t *r = list_push(j);
        r->user_id = col_u64(s, 0);
        r->username = col_dup(s, 1);
        r->display_name = col_dup(s, 2);
        r->role = mp_sqlite__group_role(mp_sql_col_text(s, 3));
        r->joined_at = mp_sql_col_i64(s, 4);
        int64_t until = mp_sql_col_i64(s, 5);
        r->muted_until = until > j->now ? until : 0;
    }
    if (rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    if (j->n > j->limit) {
        j->has_more = true;
        j->free_row((char *)j->rows + --j->n * j->size);
    }
    return MP_OK;
}

static void member_row_free(void *row)
{
    mp_group_member_row_t *r = row;
    mp_free((void *)r->username);
    mp_free((void *)r->display_name);
}

static void members_finish(list_job_t *j, mp_err_t rc)
{
    j->cb.members(rc, rc == MP_OK ? j->rows : NULL, rc == MP_OK ? j->n : 0, j->has_more, j->ud);
}

static const char SQL_BANS[] = "SELECT user_id, banned_by, banned_at FROM group_bans"
                               " WHERE conversation_id = ?1 ORDER BY banned_at, user_id";

static mp_err_t bans_collect(mp_sql_conn_t *db, list_job_t *j)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_BANS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        mp_group_ban_row_t *r = list_push(j);
        r->user_id = col_u64(s, 0);
        r->banned_by = col_u64(s, 1);
        r->banned_at = mp_sql_col_i64(s, 2);
    }
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static void bans_finish(list_job_t *j, mp_err_t rc)
{
    j->cb.bans(rc, rc == MP_OK ? j->rows : NULL, rc == MP_OK ? j->n : 0, j->ud);
}

static const char SQL_INVITES[] =
    "SELECT token, created_by, created_at, expires_at, max_uses, uses, revoked_at"
    " FROM group_invites WHERE conversation_id = ?1 ORDER BY created_at, token";

static mp_err_t invites_collect(mp_sql_conn_t *db, list_job_t *j)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_INVITES);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        mp_group_invite_row_t *r = list_push(j);
        r->token = col_dup(s, 0);
        r->conversation_id = j->conv;
        r->created_by = col_u64(s, 1);
        r->created_at = mp_sql_col_i64(s, 2);
        r->expires_at = mp_sql_col_i64(s, 3);
        r->max_uses = mp_sql_col_i64(s, 4);
        r->uses = mp_sql_col_i64(s, 5);
        r->revoked = mp_sql_col_i64(s, 6) != 0;
    }
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static void invite_row_free(void *row)
{
    mp_group_invite_row_t *r = row;
    mp_free((void *)r->token);
}

static void invites_finish(list_job_t *j, mp_err_t rc)
{
    j->cb.invites(rc, rc == MP_OK ? j->rows : NULL, rc == MP_OK ? j->n : 0, j->ud);
}

static mp_err_t list_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    list_job_t *j = (list_job_t *)job;
    mp_sqlite_grow_t g = {0};
    mp_err_t rc = mp_sqlite__group_load(db, j->conv, j->user, true, &g);
    mp_group_facts_t f = {.member = true, .role = g.row.my_role};
    mp_sqlite__grow_free(&g);
    if (rc == MP_OK)
        rc = mp_group_rule(j->admins_only ? MP_GRULE_READ_ADMIN : MP_GRULE_READ, &f);
    if (rc != MP_OK)
        return rc;
    return j->collect(db, j);
}

static void list_done(mp_sql_job_t *job, mp_err_t rc)
{
    list_job_t *j = (list_job_t *)job;
    j->finish(j, rc);
    for (size_t i = 0; j->free_row != NULL && i < j->n; i++)
        j->free_row((char *)j->rows + i * j->size);
    mp_free(j->rows);
    mp_free(j);
}

static mp_err_t list_queue(mp_store_t *st, list_job_t *j)
{
    j->base.run = list_run;
    j->base.done = list_done;
    return mp_sqlite__read_or_free(st, &j->base);
}

mp_err_t mp_store_group_members(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                                int64_t after_joined, uint64_t after_user, unsigned limit,
                                int64_t now_ms, mp_group_members_fn cb, void *ud)
{
    list_job_t *j = mp_calloc(1, sizeof *j);
    j->user = user_id;
    j->conv = conversation_id;
    j->after_joined = after_joined;
    j->after_user = after_user;
    j->limit = limit < 1 ? 1 : limit > MP_GROUP_PAGE_MAX ? MP_GROUP_PAGE_MAX : limit;
    j->now = now_ms;
    j->size = sizeof(mp_group_member_row_t);
    j->collect = members_collect;
    j->finish = members_finish;
    j->free_row = member_row_free;
    j->cb.members = cb;
    j->ud = ud;
    return list_queue(st, j);
}

mp_err_t mp_store_group_bans(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                             mp_group_bans_fn cb, void *ud)
{
    list_job_t *j = mp_calloc(1, sizeof *j);
    j->user = user_id;
    j->conv = conversation_id;
    j->admins_only = true;
    j->size = sizeof(mp_group_ban_row_t);
    j->collect = bans_collect;
    j->finish = bans_finish;
    j->cb.bans = cb;
    j->ud = ud;
    return list_queue(st, j);
}

mp_err_t mp_store_group_invites(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                                mp_group_invites_fn cb, void *ud)
{
    list_job_t *j = mp_calloc(1, sizeof *j);
    j->user = user_id;
    j->conv = conversation_id;
    j->admins_only = true;
    j->size = sizeof(mp_group_invite_row_t);
    j->collect = invites_collect;
    j->finish = invites_finish;
    j->free_row = invite_row_free;
    j->cb.invites = cb;
    j->ud = ud;
    return list_queue(st, j);
}
