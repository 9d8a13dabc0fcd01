/* SQLite implementation of the groups write op (store/groups.h): every group
 * change is ONE write job that checks the rules, applies the change and
 * inserts its system message(s) with the next seq of the conversation, all in
 * the group-commit transaction. The reads are in sqlite_groups_read.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/group_fact.h"
#include "proto/group_rules.h"
#include "store/groups.h"
#include "store/sqlite_groups_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_people_int.h"
#include "store/sqlite_privacy_int.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"
#include "util/id.h"

/* ---- small helpers ------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Sorts ids and drops duplicates and `skip`; returns the new count. */
static size_t ids_unique(uint64_t *ids, size_t n, uint64_t skip)
{
    if (n > 1)
        qsort(ids, n, sizeof *ids, cmp_u64);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] != skip && (k == 0 || ids[k - 1] != ids[i]))
            ids[k++] = ids[i];
    return k;
}

const char *mp_group_role_name(mp_group_role_t role)
{
    switch (role) {
    case MP_GROUP_OWNER:
        return "owner";
    case MP_GROUP_ADMIN:
        return "admin";
    case MP_GROUP_MEMBER:
    default:
        return "member";
    }
}

bool mp_group_role_parse(const char *s, mp_group_role_t *out)
{
    static const mp_group_role_t all[] = {MP_GROUP_MEMBER, MP_GROUP_ADMIN, MP_GROUP_OWNER};
    for (size_t i = 0; s != NULL && i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, mp_group_role_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    return false;
}

mp_group_role_t mp_sqlite__group_role(const char *s)
{
    mp_group_role_t r = MP_GROUP_MEMBER;
    (void)mp_group_role_parse((const char *)s, &r);
    return r;
}

/* ---- group rows ------------------------------------------------------------ */

void mp_sqlite__grow_free(mp_sqlite_grow_t *g)
{
    mp_free(g->title);
    mp_free(g->desc);
    mp_free(g->ann);
    memset(g, 0, sizeof *g);
}

static const char SQL_GROUP[] =
    "SELECT c.kind, c.title, c.description, c.owner_id, c.who_can_post, c.who_can_invite,"
    " c.who_can_edit_info, c.created_at, c.dissolved_at, c.announcement, c.announcement_by,"
    " c.announcement_at, (SELECT count(*) FROM members m WHERE m.conversation_id = c.id),"
    " (SELECT role FROM members m WHERE m.conversation_id = c.id AND m.user_id = ?2),"
    " c.who_can_pin, c.avatar_file_id FROM conversations c WHERE c.id = ?1";

/* Loads group conv as user sees it. MP_ERR_NOT_MEMBER when it is no group,
 * or (need_member) user is not a member. */
mp_err_t mp_sqlite__group_load(mp_sql_conn_t *db, uint64_t conv, uint64_t user, bool need_member,
                               mp_sqlite_grow_t *g)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_GROUP);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, conv);
    bind_u64(s, 2, user);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_MEMBER;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    const char *kind = mp_sql_col_text(s, 0);
    bool member = !mp_sql_col_is_null(s, 13);
    if (kind == NULL || strcmp(kind, "group") != 0 || (need_member && !member)) {
        mp_sql_reset(s);
        return MP_ERR_NOT_MEMBER;
    }
    mp_sqlite__grow_free(g);
    mp_group_row_t *r = &g->row;
    r->id = conv;
    r->title = g->title = col_dup(s, 1);
    r->description = g->desc = col_dup(s, 2);
    r->owner_id = col_u64(s, 3);
    r->settings.post_admins = mp_sql_col_int(s, 4) != 0;
    r->settings.invite_admins = mp_sql_col_int(s, 5) != 0;
    r->settings.edit_admins = mp_sql_col_int(s, 6) != 0;
    r->settings.pin_admins = mp_sql_col_int(s, 14) != 0;
    r->created_at = mp_sql_col_i64(s, 7);
    r->dissolved_at = mp_sql_col_i64(s, 8);
    r->announcement = g->ann = col_dup(s, 9);
    r->announcement_by = col_u64(s, 10);
    r->announcement_at = mp_sql_col_i64(s, 11);
    r->member_count = mp_sql_col_i64(s, 12);
    r->my_role = member ? mp_sqlite__group_role(mp_sql_col_text(s, 13)) : MP_GROUP_MEMBER;
    r->avatar_file_id = col_u64(s, 15);
    mp_sql_reset(s);
    return MP_OK;
}

static const char SQL_ROLE[] =
    "SELECT role FROM members WHERE conversation_id = ?1 AND user_id = ?2";

/* The role of user in conv; MP_ERR_NOT_FOUND when not a member. */
static mp_err_t member_role(mp_sql_conn_t *db, uint64_t conv, uint64_t user, mp_group_role_t *role)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_ROLE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, conv);
    bind_u64(s, 2, user);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_FOUND;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    *role = mp_sqlite__group_role(mp_sql_col_text(s, 0));
    mp_sql_reset(s);
    return MP_OK;
}

static const char SQL_USER[] = "SELECT display_name FROM users WHERE id = ?1";

/* MP_OK when user exists; its display name into *name (mp_free it; name may
 * be NULL). */
static mp_err_t user_name(mp_sql_conn_t *db, uint64_t user, char **name)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_USER);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_FOUND;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    if (name != NULL)
        *name = col_dup(s, 0);
    mp_sql_reset(s);
    return MP_OK;
}

/* A pending account (e-mail not verified) is nobody yet: not found. */
static const char SQL_USER_GUEST[] = "SELECT guest FROM users WHERE id = ?1 AND pending = 0";

/* MP_OK when user exists and may belong to a group: guests may only use the
 * world room (MP_ERR_GUEST_FORBIDDEN); MP_ERR_NOT_FOUND for an unknown id. */
static mp_err_t member_allowed(mp_sql_conn_t *db, uint64_t user)
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

static const char SQL_BANNED[] =
    "SELECT 1 FROM group_bans WHERE conversation_id = ?1 AND user_id = ?2";

static mp_err_t is_banned(mp_sql_conn_t *db, uint64_t conv, uint64_t user, bool *banned)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_BANNED);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, conv);
    bind_u64(s, 2, user);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW && rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    *banned = rc == MP_SQL_ROW;
    mp_sql_reset(s);
    return MP_OK;
}

/* ---- the op job ----------------------------------------------------------- */

/* Message rows whose strings the vector owns. */
typedef struct msgs {
    mp_msg_row_t v[4];
    size_t n;
} msgs_t;

typedef struct op_job {
    mp_sql_job_t base;
    mp_group_op_in_t in; /* strings and user_ids point to the copies below */
    char *title, *desc, *text, *token;
    uint64_t *users;
    uint64_t conv;
    mp_group_facts_t f; /* what the rules look at, once loaded */
    mp_sqlite_grow_t g; /* the group before (checks) and after (the answer) */
    msgs_t msgs;
    uint64_t *added;
    size_t n_added;
    mp_group_op_out_t out;
    mp_group_op_fn cb;
    void *ud;
} op_job_t;

static const char SQL_NEXT_SEQ[] =
    "UPDATE conversations SET last_seq = last_seq + 1, version = ?2, active_at = ?3"
    " WHERE id = ?1 RETURNING last_seq";
static const char SQL_MSG_INSERT[] =
    "INSERT INTO messages(id, conversation_id, seq, sender_id, client_msg_id, kind, body,"
    " created_at, version, created_version) VALUES(?1, ?2, ?3, ?4, ?5, 'system', ?6, ?7, ?8, ?8)";
/* CASE: the larger of two values in both dialects (see SQL_SENDER_READ). */
static const char SQL_ACTOR_READ[] =
    "UPDATE members SET read_seq = CASE WHEN read_seq > ?3 THEN read_seq ELSE ?3 END,"
    " delivered_seq = CASE WHEN delivered_seq > ?3 THEN delivered_seq ELSE ?3 END,"
    " version = ?4 WHERE conversation_id = ?1 AND user_id = ?2";

static mp_err_t next_seq(mp_sql_conn_t *db, uint64_t conv, int64_t v, int64_t now, int64_t *seq)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_NEXT_SEQ);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, conv);
    mp_sql_bind_i64(s, 2, v);
    mp_sql_bind_i64(s, 3, now);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return rc == MP_SQL_DONE ? MP_ERR_NOT_MEMBER : mp_sql_err(db, rc);
    *seq = mp_sql_col_i64(s, 0);
    mp_sql_reset(s);
    return MP_OK;
}

static mp_err_t actor_read(mp_sql_conn_t *db, const mp_msg_row_t *m)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_ACTOR_READ);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, m->conversation_id);
    bind_u64(s, 2, m->sender_id);
    mp_sql_bind_i64(s, 3, m->seq);
    mp_sql_bind_i64(s, 4, m->version);
    return step_done(db, s);
}

/* A fact by the actor, to be completed by the caller (proto/group_fact.h). */
static mp_group_fact_t fact(const op_job_t *j, const char *action)
{
    return (mp_group_fact_t){.action = action, .actor_id = j->in.actor_id};
}

/* Stores f as a system message with the next seq. The names its line needs
 * are read now, as they are when it happens: the actor's (unless f brings
 * it), and with name_users those of its user ids when there are at most
 * three (a longer list is shown as a count). */
static mp_err_t sys_insert(mp_sql_conn_t *db, op_job_t *j, mp_group_fact_t *f, bool name_users)
{
    char *owned[MP_GROUP_FACT_NAMES] = {0};
    mp_err_t rc = MP_OK;
    /* A user without a row is named by nobody (NULL); a failed read ends the
     * job (PostgreSQL would refuse every later statement anyway). */
    if (f->n_names == 0) {
        rc = user_name(db, f->actor_id, &owned[0]);
        f->names[0] = owned[0];
        f->n_names = 1;
    }
    if (name_users && f->n_users <= 3)
        for (size_t i = 0; i < f->n_users && (rc == MP_OK || rc == MP_ERR_NOT_FOUND); i++) {
            rc = user_name(db, f->user_ids[i], &owned[f->n_names]);
            f->names[f->n_names] = owned[f->n_names];
            f->n_names++;
        }
    if (rc != MP_OK && rc != MP_ERR_NOT_FOUND) {
        for (size_t i = 0; i < MP_GROUP_FACT_NAMES; i++)
            mp_free(owned[i]);
        return rc;
    }
    rc = MP_ERR_INTERNAL;
    char *body = mp_group_fact_encode(f);
    for (size_t i = 0; i < MP_GROUP_FACT_NAMES; i++)
        mp_free(owned[i]);
    if (body == NULL || j->msgs.n == sizeof j->msgs.v / sizeof j->msgs.v[0])
        goto done;
    mp_msg_row_t m = {.id = mp_id_next(),
                      .conversation_id = j->conv,
                      .sender_id = j->in.actor_id,
                      .created_at = j->in.now_ms};
    if ((rc = mp_sqlite__next_version(db, &m.version)) != MP_OK ||
        (rc = next_seq(db, j->conv, m.version, j->in.now_ms, &m.seq)) != MP_OK)
        goto done;
    char cmid[32];
    snprintf(cmid, sizeof cmid, "sys-%llu", (unsigned long long)m.id);
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_MSG_INSERT);
    rc = MP_ERR_INTERNAL;
    if (s == NULL)
        goto done;
    bind_u64(s, 1, m.id);
    bind_u64(s, 2, m.conversation_id);
    mp_sql_bind_i64(s, 3, m.seq);
    bind_u64(s, 4, m.sender_id);
    mp_sql_bind_text_copy(s, 5, cmid, -1);
    mp_sql_bind_text(s, 6, body, -1);
    mp_sql_bind_i64(s, 7, m.created_at);
    mp_sql_bind_i64(s, 8, m.version);
    if ((rc = step_done(db, s)) != MP_OK || (rc = actor_read(db, &m)) != MP_OK)
        goto done;
    m.client_msg_id = mp_strdup(cmid);
    m.kind = mp_strdup("system");
    m.text = body;
    body = NULL;
    j->msgs.v[j->msgs.n++] = m;
done:
    mp_free(body);
    return rc;
}

/* A system message about one target user (member_removed, banned, ...). */
static mp_err_t sys_target(mp_sql_conn_t *db, op_job_t *j, mp_group_fact_t f)
{
    f.has_users = true;
    f.user_ids = &j->in.target_id;
    f.n_users = 1;
    return sys_insert(db, j, &f, true);
}

/* A system message about the actor alone (member_left, joined_by_link). */
static mp_err_t sys_self(mp_sql_conn_t *db, op_job_t *j, const char *action)
{
    mp_group_fact_t f = fact(j, action);
    f.has_users = true;
    f.user_ids = &j->in.actor_id;
    f.n_users = 1;
    return sys_insert(db, j, &f, false);
}

/* ---- rules shared by the ops ---------------------------------------------- */

/* The rules themselves are proto/group_rules.h; the store reads the facts
 * they look at inside the write transaction, so no change can slip between
 * the check and the write. */

/* Loads the group for an op on an existing group and the facts about the
 * actor: the actor must be a member, the group alive. */
static mp_err_t op_prologue(mp_sql_conn_t *db, op_job_t *j)
{
    j->conv = j->in.conversation_id;
    mp_err_t rc = mp_sqlite__group_load(db, j->conv, j->in.actor_id, true, &j->g);
    if (rc != MP_OK && rc != MP_ERR_NOT_MEMBER)
        return rc;
    j->f = (mp_group_facts_t){.member = rc == MP_OK,
                              .dissolved = j->g.row.dissolved_at != 0,
                              .role = j->g.row.my_role,
                              .settings = j->g.row.settings,
                              .self = j->in.target_id == j->in.actor_id};
    return mp_group_rule(MP_GRULE_WRITE, &j->f);
}

/* Adds the target's membership and role to j->f. */
static mp_err_t target_facts(mp_sql_conn_t *db, op_job_t *j)
{
    mp_err_t rc = member_role(db, j->conv, j->in.target_id, &j->f.target_role);
    if (rc != MP_OK && rc != MP_ERR_NOT_FOUND)
        return rc;
    j->f.target_member = rc == MP_OK;
    return MP_OK;
}

/* The rule of op for the facts loaded so far (plus the target's, if asked). */
static mp_err_t rule(mp_sql_conn_t *db, op_job_t *j, mp_group_rule_op_t op, bool with_target)
{
    mp_err_t rc = with_target ? target_facts(db, j) : MP_OK;
    return rc != MP_OK ? rc : mp_group_rule(op, &j->f);
}

static void added_push(op_job_t *j, uint64_t user)
{
    j->added = mp_realloc(j->added, (j->n_added + 1) * sizeof *j->added);
    j->added[j->n_added++] = user;
}

/* Whether the actor may add user to a group (proto/privacy.h, the target's
 * block and groups setting); the refused user is remembered for the
 * answer, which names them. */
static mp_err_t add_allowed(mp_sql_conn_t *db, op_job_t *j, uint64_t user)
{
    mp_err_t rc = mp_sqlite__privacy_check(db, j->in.actor_id, user, MP_PRIVACY_GROUP, NULL);
    if (rc == MP_ERR_PRIVACY)
        j->out.refused_id = user;
    return rc;
}

static const char SQL_MEMBER_INSERT[] =
    "INSERT INTO members(conversation_id, user_id, role, joined_at, version)"
    " VALUES(?1, ?2, ?3, ?4, ?5)";
static const char SQL_MEMBER_DELETE[] =
    "DELETE FROM members WHERE conversation_id = ?1 AND user_id = ?2";
static const char SQL_MEMBER_COUNT[] = "SELECT count(*) FROM members WHERE conversation_id = ?1";

static mp_err_t member_insert(mp_sql_conn_t *db, op_job_t *j, uint64_t user, mp_group_role_t role,
                              int64_t v)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_MEMBER_INSERT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    bind_u64(s, 2, user);
    mp_sql_bind_text(s, 3, mp_group_role_name(role), -1);
    mp_sql_bind_i64(s, 4, j->in.now_ms);
    mp_sql_bind_i64(s, 5, v);
    mp_err_t rc = step_done(db, s);
    if (rc == MP_OK)
        added_push(j, user);
    return rc;
}

static mp_err_t member_delete(mp_sql_conn_t *db, op_job_t *j, uint64_t user)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_MEMBER_DELETE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    bind_u64(s, 2, user);
    return step_done(db, s);
}

static mp_err_t member_count(mp_sql_conn_t *db, uint64_t conv, int64_t *n)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_MEMBER_COUNT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, conv);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    *n = mp_sql_col_i64(s, 0);
    mp_sql_reset(s);
    return MP_OK;
}

/* Runs a one-statement update bound as (?1 = conv, ?2 = a), and ?3 = b when
 * nargs is 3: exactly the parameters the statement has (PostgreSQL refuses
 * others). */
static mp_err_t exec3(mp_sql_conn_t *db, const char *sql, uint64_t conv, int64_t a, int64_t b,
                      int nargs)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, sql);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, conv);
    mp_sql_bind_i64(s, 2, a);
    if (nargs > 2)
        mp_sql_bind_i64(s, 3, b);
    return step_done(db, s);
}

/* ---- ops: create, patch, add ------------------------------------------------ */

static const char SQL_GROUP_INSERT[] =
    "INSERT INTO conversations(id, kind, title, description, creator_id, owner_id, who_can_post,"
    " who_can_invite, who_can_edit_info, version, created_at, active_at, who_can_pin)"
    " VALUES(?1, 'group', ?2, ?3, ?4, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)";

static mp_err_t op_create(mp_sql_conn_t *db, op_job_t *j)
{
    j->in.n_users = ids_unique(j->users, j->in.n_users, j->in.actor_id);
    mp_err_t rc = member_allowed(db, j->in.actor_id);
    if (rc != MP_OK && rc != MP_ERR_NOT_FOUND)
        return rc;
    for (size_t i = 0; i < j->in.n_users; i++)
        if ((rc = member_allowed(db, j->users[i])) != MP_OK)
            return rc;
    for (size_t i = 0; i < j->in.n_users; i++)
        if ((rc = add_allowed(db, j, j->users[i])) != MP_OK)
            return rc;
    if (1 + j->in.n_users > j->in.max_members)
        return MP_ERR_GROUP_FULL;
    int64_t v;
    if ((rc = mp_sqlite__next_version(db, &v)) != MP_OK)
        return rc;
    j->conv = mp_id_next();
    const mp_group_settings_t *st = &j->in.settings;
    unsigned m = j->in.settings_mask;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_GROUP_INSERT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    mp_sql_bind_text(s, 2, j->title ? j->title : "", -1);
    mp_sql_bind_text(s, 3, j->desc ? j->desc : "", -1);
    bind_u64(s, 4, j->in.actor_id);
    mp_sql_bind_i64(s, 5, (m & MP_GROUP_SET_POST) && st->post_admins);
    mp_sql_bind_i64(s, 6, (m & MP_GROUP_SET_INVITE) && st->invite_admins);
    mp_sql_bind_i64(s, 7, (m & MP_GROUP_SET_EDIT) && st->edit_admins);
    mp_sql_bind_i64(s, 8, v);
    mp_sql_bind_i64(s, 9, j->in.now_ms);
    mp_sql_bind_i64(s, 10, (m & MP_GROUP_SET_PIN) && st->pin_admins);
    if ((rc = step_done(db, s)) != MP_OK)
        return rc;
    if ((rc = member_insert(db, j, j->in.actor_id, MP_GROUP_OWNER, v)) != MP_OK)
        return rc;
    for (size_t i = 0; i < j->in.n_users; i++)
        if ((rc = member_insert(db, j, j->users[i], MP_GROUP_MEMBER, v)) != MP_OK)
            return rc;
    mp_group_fact_t f = fact(j, "created");
    f.has_users = true; /* the initial members */
    f.user_ids = j->users;
    f.n_users = j->in.n_users;
    f.title = j->title ? j->title : "";
    return sys_insert(db, j, &f, false);
}

static const char SQL_SET_INFO[] =
    "UPDATE conversations SET title = ?2, description = ?3, avatar_file_id = ?4 WHERE id = ?1";
static const char SQL_SET_SETTINGS[] =
    "UPDATE conversations SET who_can_post = ?2, who_can_invite = ?3, who_can_edit_info = ?4,"
    " who_can_pin = ?5 WHERE id = ?1";

static mp_err_t patch_info(mp_sql_conn_t *db, op_job_t *j)
{
    const mp_group_row_t *g = &j->g.row;
    const char *title = j->title ? j->title : g->title;
    const char *desc = j->desc ? j->desc : g->description;
    uint64_t avatar = j->in.set_avatar ? j->in.avatar_file_id : g->avatar_file_id;
    mp_err_t rc;
    /* A new avatar: the actor's own image, checked here in the write. */
    if (j->in.set_avatar && avatar != 0 && avatar != g->avatar_file_id &&
        (rc = mp_sqlite__avatar_check(db, avatar, j->in.actor_id)) != MP_OK)
        return rc;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SET_INFO);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    mp_sql_bind_text_copy(s, 2, title, -1);
    mp_sql_bind_text_copy(s, 3, desc, -1);
    bind_u64(s, 4, avatar);
    if ((rc = step_done(db, s)) != MP_OK)
        return rc;
    mp_group_fact_t f = fact(j, "info_changed");
    f.title = title;
    f.description = desc;
    f.renamed = strcmp(title, g->title) != 0;
    f.has_avatar = true;
    f.avatar_file_id = avatar;
    return sys_insert(db, j, &f, false);
}

static mp_err_t patch_settings(mp_sql_conn_t *db, op_job_t *j)
{
    mp_group_settings_t now = j->g.row.settings;
    const mp_group_settings_t *in = &j->in.settings;
    unsigned m = j->in.settings_mask;
    if (m & MP_GROUP_SET_POST)
        now.post_admins = in->post_admins;
    if (m & MP_GROUP_SET_INVITE)
        now.invite_admins = in->invite_admins;
    if (m & MP_GROUP_SET_EDIT)
        now.edit_admins = in->edit_admins;
    if (m & MP_GROUP_SET_PIN)
        now.pin_admins = in->pin_admins;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SET_SETTINGS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    mp_sql_bind_i64(s, 2, now.post_admins);
    mp_sql_bind_i64(s, 3, now.invite_admins);
    mp_sql_bind_i64(s, 4, now.edit_admins);
    mp_sql_bind_i64(s, 5, now.pin_admins);
    mp_err_t rc = step_done(db, s);
    if (rc != MP_OK)
        return rc;
    mp_group_fact_t f = fact(j, "settings_changed");
    f.settings = &now;
    return sys_insert(db, j, &f, false);
}

static mp_err_t op_patch(mp_sql_conn_t *db, op_job_t *j)
{
    bool info = j->title != NULL || j->desc != NULL || j->in.set_avatar;
    mp_err_t rc;
    if (info && (rc = rule(db, j, MP_GRULE_EDIT_INFO, false)) != MP_OK)
        return rc;
    if (j->in.settings_mask != 0 && (rc = rule(db, j, MP_GRULE_EDIT_SETTINGS, false)) != MP_OK)
        return rc;
    rc = info ? patch_info(db, j) : MP_OK;
    if (rc == MP_OK && j->in.settings_mask != 0)
        rc = patch_settings(db, j);
    return rc;
}

static mp_err_t op_add(mp_sql_conn_t *db, op_job_t *j)
{
    mp_err_t rc = rule(db, j, MP_GRULE_INVITE, false);
    if (rc != MP_OK)
        return rc;
    j->in.n_users = ids_unique(j->users, j->in.n_users, 0);
    size_t fresh = 0;
    for (size_t i = 0; i < j->in.n_users; i++) {
        uint64_t u = j->users[i];
        mp_group_role_t r;
        bool banned = false;
        if ((rc = member_allowed(db, u)) != MP_OK)
            return rc;
        if ((rc = is_banned(db, j->conv, u, &banned)) != MP_OK)
            return rc;
        if (banned)
            return MP_ERR_BANNED;
        rc = member_role(db, j->conv, u, &r);
        if (rc == MP_ERR_NOT_FOUND)
            j->users[fresh++] = u; /* in place: fresh <= i */
        else if (rc != MP_OK)
            return rc;
    }
    /* Only those who would become members: naming a member changes nothing. */
    for (size_t i = 0; i < fresh; i++)
        if ((rc = add_allowed(db, j, j->users[i])) != MP_OK)
            return rc;
    if (fresh == 0)
        return MP_OK;
    if ((uint64_t)j->g.row.member_count + fresh > j->in.max_members)
        return MP_ERR_GROUP_FULL;
    int64_t v;
    if ((rc = mp_sqlite__next_version(db, &v)) != MP_OK)
        return rc;
    for (size_t i = 0; i < fresh; i++)
        if ((rc = member_insert(db, j, j->users[i], MP_GROUP_MEMBER, v)) != MP_OK)
            return rc;
    mp_group_fact_t f = fact(j, "members_added");
    f.has_users = true;
    f.user_ids = j->users;
    f.n_users = fresh;
    return sys_insert(db, j, &f, true);
}

/* ---- ops: remove, role, transfer -------------------------------------------- */

static mp_err_t op_remove(mp_sql_conn_t *db, op_job_t *j)
{
    mp_err_t rc;
    if (j->in.target_id == j->in.actor_id) {
        if ((rc = rule(db, j, MP_GRULE_LEAVE, false)) != MP_OK)
            return rc;
        if ((rc = member_delete(db, j, j->in.actor_id)) != MP_OK)
            return rc;
        j->out.removed_id = j->in.actor_id;
        return sys_self(db, j, "member_left");
    }
    if ((rc = rule(db, j, MP_GRULE_KICK, true)) != MP_OK)
        return rc;
    if ((rc = member_delete(db, j, j->in.target_id)) != MP_OK)
        return rc;
    j->out.removed_id = j->in.target_id;
    return sys_target(db, j, fact(j, "member_removed"));
}

static const char SQL_SET_ROLE[] =
    "UPDATE members SET role = ?3 WHERE conversation_id = ?1 AND user_id = ?2";
static const char SQL_SET_OWNER[] = "UPDATE conversations SET owner_id = ?2 WHERE id = ?1";

static mp_err_t set_role(mp_sql_conn_t *db, uint64_t conv, uint64_t user, mp_group_role_t role)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SET_ROLE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, conv);
    bind_u64(s, 2, user);
    mp_sql_bind_text(s, 3, mp_group_role_name(role), -1);
    return step_done(db, s);
}

static mp_err_t op_role(mp_sql_conn_t *db, op_job_t *j)
{
    j->f.new_role = j->in.role;
    mp_err_t rc = rule(db, j, MP_GRULE_ROLE, true);
    if (rc != MP_OK)
        return rc;
    if (j->f.target_role == j->in.role)
        return MP_OK;
    if ((rc = set_role(db, j->conv, j->in.target_id, j->in.role)) != MP_OK)
        return rc;
    mp_group_fact_t f = fact(j, "role_changed");
    f.role = mp_group_role_name(j->in.role);
    return sys_target(db, j, f);
}

static mp_err_t op_transfer(mp_sql_conn_t *db, op_job_t *j)
{
    /* An unknown user is no guest: "not a member" by the rule. */
    mp_err_t rc = member_allowed(db, j->in.target_id);
    if (rc != MP_OK && rc != MP_ERR_GUEST_FORBIDDEN && rc != MP_ERR_NOT_FOUND)
        return rc;
    j->f.target_guest = rc == MP_ERR_GUEST_FORBIDDEN;
    if ((rc = rule(db, j, MP_GRULE_TRANSFER, true)) != MP_OK)
        return rc;
    if ((rc = set_role(db, j->conv, j->in.target_id, MP_GROUP_OWNER)) != MP_OK ||
        (rc = set_role(db, j->conv, j->in.actor_id, MP_GROUP_ADMIN)) != MP_OK ||
        (rc = exec3(db, SQL_SET_OWNER, j->conv, (int64_t)j->in.target_id, 0, 2)) != MP_OK)
        return rc;
    return sys_target(db, j, fact(j, "ownership_transferred"));
}

/* ---- ops: ban, unban, mute, unmute -------------------------------------------- */

/* A standing ban is kept (its first banner and time): the conflict on the
 * primary key is what "already banned" looks like, and changes() says
 * which it was. */
static const char SQL_BAN[] =
    "INSERT INTO group_bans(conversation_id, user_id, banned_by, banned_at)"
    " VALUES(?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING";
static const char SQL_UNBAN[] =
    "DELETE FROM group_bans WHERE conversation_id = ?1 AND user_id = ?2";

static mp_err_t op_ban(mp_sql_conn_t *db, op_job_t *j)
{
    mp_err_t rc = user_name(db, j->in.target_id, NULL);
    if (rc != MP_OK && rc != MP_ERR_NOT_FOUND)
        return rc;
    j->f.target_exists = rc == MP_OK;
    if ((rc = rule(db, j, MP_GRULE_BAN, true)) != MP_OK)
        return rc;
    bool member = j->f.target_member;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_BAN);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    bind_u64(s, 2, j->in.target_id);
    bind_u64(s, 3, j->in.actor_id);
    mp_sql_bind_i64(s, 4, j->in.now_ms);
    if ((rc = step_done(db, s)) != MP_OK)
        return rc;
    bool fresh = mp_sql_changes(db) > 0;
    if (member) {
        if ((rc = member_delete(db, j, j->in.target_id)) != MP_OK)
            return rc;
        j->out.removed_id = j->in.target_id;
    }
    if (!fresh && !member)
        return MP_OK; /* already banned: nothing changed */
    return sys_target(db, j, fact(j, "banned"));
}

static mp_err_t op_unban(mp_sql_conn_t *db, op_job_t *j)
{
    mp_err_t rc = rule(db, j, MP_GRULE_UNBAN, false);
    if (rc != MP_OK)
        return rc;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_UNBAN);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    bind_u64(s, 2, j->in.target_id);
    if ((rc = step_done(db, s)) != MP_OK)
        return rc;
    if (mp_sql_changes(db) == 0)
        return MP_ERR_NOT_FOUND;
    return sys_target(db, j, fact(j, "unbanned"));
}

static const char SQL_SET_MUTE[] =
    "UPDATE members SET muted_until = ?3 WHERE conversation_id = ?1 AND user_id = ?2";
static const char SQL_GET_MUTE[] =
    "SELECT muted_until FROM members WHERE conversation_id = ?1 AND user_id = ?2";

static mp_err_t op_mute(mp_sql_conn_t *db, op_job_t *j, bool mute)
{
    mp_err_t rc = rule(db, j, MP_GRULE_MUTE, true);
    if (rc != MP_OK)
        return rc;
    if (mute && j->in.until <= j->in.now_ms)
        return MP_ERR_BAD_REQUEST;
    if (!mute) {
        mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_GET_MUTE);
        if (s == NULL)
            return MP_ERR_INTERNAL;
        bind_u64(s, 1, j->conv);
        bind_u64(s, 2, j->in.target_id);
        int step = mp_sql_step(s);
        if (step != MP_SQL_ROW && step != MP_SQL_DONE)
            return mp_sql_err(db, step);
        int64_t until = step == MP_SQL_ROW ? mp_sql_col_i64(s, 0) : 0;
        mp_sql_reset(s);
        if (until <= j->in.now_ms)
            return exec3(db, SQL_SET_MUTE, j->conv, (int64_t)j->in.target_id, 0, 3);
    }
    if ((rc = exec3(db, SQL_SET_MUTE, j->conv, (int64_t)j->in.target_id, mute ? j->in.until : 0,
                    3)) != MP_OK)
        return rc;
    mp_group_fact_t f = fact(j, mute ? "muted" : "unmuted");
    f.until = mute ? j->in.until : 0;
    return sys_target(db, j, f);
}

/* ---- ops: dissolve, announcement ---------------------------------------------- */

static const char SQL_DISSOLVE[] = "UPDATE conversations SET dissolved_at = ?2 WHERE id = ?1";
static const char SQL_ANNOUNCE[] =
    "UPDATE conversations SET announcement = ?2, announcement_by = ?3, announcement_at = ?4"
    " WHERE id = ?1";

static mp_err_t op_dissolve(mp_sql_conn_t *db, op_job_t *j)
{
    mp_err_t rc = rule(db, j, MP_GRULE_DISSOLVE, false);
    if (rc != MP_OK)
        return rc;
    mp_group_fact_t f = fact(j, "dissolved");
    rc = sys_insert(db, j, &f, false);
    if (rc != MP_OK)
        return rc;
    return exec3(db, SQL_DISSOLVE, j->conv, j->in.now_ms, 0, 2);
}

static mp_err_t op_announce(mp_sql_conn_t *db, op_job_t *j, bool set)
{
    mp_err_t rc = rule(db, j, MP_GRULE_ANNOUNCE, false);
    if (rc != MP_OK)
        return rc;
    if (!set && j->g.row.announcement_at == 0)
        return MP_OK;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_ANNOUNCE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    mp_sql_bind_text(s, 2, set ? j->text : "", -1);
    bind_u64(s, 3, set ? j->in.actor_id : 0);
    mp_sql_bind_i64(s, 4, set ? j->in.now_ms : 0);
    if ((rc = step_done(db, s)) != MP_OK)
        return rc;
    mp_group_fact_t f = fact(j, set ? "announcement_set" : "announcement_cleared");
    f.text = set ? j->text : NULL;
    return sys_insert(db, j, &f, false);
}

/* ---- ops: invite links ---------------------------------------------------------- */

static const char SQL_INVITE_INSERT[] =
    "INSERT INTO group_invites(token, conversation_id, created_by, created_at, expires_at,"
    " max_uses) VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_INVITE_GET[] =
    "SELECT conversation_id, created_by, created_at, expires_at, max_uses, uses, revoked_at"
    " FROM group_invites WHERE token = ?1";
static const char SQL_INVITE_REVOKE[] =
    "UPDATE group_invites SET revoked_at = ?2 WHERE token = ?1 AND revoked_at = 0";
static const char SQL_INVITE_USE[] = "UPDATE group_invites SET uses = uses + 1 WHERE token = ?1";

static mp_err_t op_invite(mp_sql_conn_t *db, op_job_t *j)
{
    mp_err_t rc = rule(db, j, MP_GRULE_INVITE, false);
    if (rc != MP_OK)
        return rc;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_INVITE_INSERT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_text(s, 1, j->token, -1);
    bind_u64(s, 2, j->conv);
    bind_u64(s, 3, j->in.actor_id);
    mp_sql_bind_i64(s, 4, j->in.now_ms);
    mp_sql_bind_i64(s, 5, j->in.until);
    mp_sql_bind_i64(s, 6, j->in.max_uses);
    if ((rc = step_done(db, s)) != MP_OK)
        return rc;
    j->out.invite = (mp_group_invite_row_t){.token = j->token,
                                            .conversation_id = j->conv,
                                            .created_by = j->in.actor_id,
                                            .created_at = j->in.now_ms,
                                            .expires_at = j->in.until,
                                            .max_uses = j->in.max_uses};
    return MP_OK;
}

/* Loads the invite of j->token into j->out.invite (conversation, counters). */
static mp_err_t invite_load(mp_sql_conn_t *db, op_job_t *j, int64_t *revoked_at)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_INVITE_GET);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_text(s, 1, j->token, -1);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_FOUND;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    mp_group_invite_row_t *r = &j->out.invite;
    r->token = j->token;
    r->conversation_id = col_u64(s, 0);
    r->created_by = col_u64(s, 1);
    r->created_at = mp_sql_col_i64(s, 2);
    r->expires_at = mp_sql_col_i64(s, 3);
    r->max_uses = mp_sql_col_i64(s, 4);
    r->uses = mp_sql_col_i64(s, 5);
    *revoked_at = mp_sql_col_i64(s, 6);
    r->revoked = *revoked_at != 0;
    mp_sql_reset(s);
    return MP_OK;
}

static mp_err_t op_revoke(mp_sql_conn_t *db, op_job_t *j)
{
    mp_err_t rc = rule(db, j, MP_GRULE_REVOKE_INVITE, false);
    if (rc != MP_OK)
        return rc;
    int64_t revoked_at = 0;
    rc = invite_load(db, j, &revoked_at);
    if (rc != MP_OK)
        return rc;
    if (j->out.invite.conversation_id != j->conv)
        return MP_ERR_NOT_FOUND;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_INVITE_REVOKE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_text(s, 1, j->token, -1);
    mp_sql_bind_i64(s, 2, j->in.now_ms);
    return step_done(db, s);
}

/* Join by link. Order of checks: the link (unknown, revoked, expired), the
 * group (gone, dissolved), already a member (answered with the group, uses
 * unchanged), then uses left, ban, and the member limit. */
static mp_err_t op_join(mp_sql_conn_t *db, op_job_t *j)
{
    int64_t revoked_at = 0;
    mp_err_t rc = invite_load(db, j, &revoked_at);
    if (rc != MP_OK)
        return rc;
    const mp_group_invite_row_t *inv = &j->out.invite;
    j->conv = inv->conversation_id;
    if (revoked_at != 0)
        return MP_ERR_INVITE_REVOKED;
    if (inv->expires_at != 0 && j->in.now_ms >= inv->expires_at)
        return MP_ERR_INVITE_EXPIRED;
    if ((rc = mp_sqlite__group_load(db, j->conv, j->in.actor_id, false, &j->g)) != MP_OK)
        return rc == MP_ERR_NOT_MEMBER ? MP_ERR_NOT_FOUND : rc;
    if (j->g.row.dissolved_at != 0)
        return MP_ERR_DISSOLVED;
    mp_group_role_t r;
    rc = member_role(db, j->conv, j->in.actor_id, &r);
    if (rc == MP_OK) {
        j->out.already_member = true;
        return MP_OK;
    }
    if (rc != MP_ERR_NOT_FOUND)
        return rc;
    if (inv->max_uses != 0 && inv->uses >= inv->max_uses)
        return MP_ERR_INVITE_EXHAUSTED;
    if ((rc = member_allowed(db, j->in.actor_id)) != MP_OK)
        return rc;
    bool banned = false;
    if ((rc = is_banned(db, j->conv, j->in.actor_id, &banned)) != MP_OK)
        return rc;
    if (banned)
        return MP_ERR_BANNED;
    int64_t count = 0;
    if ((rc = member_count(db, j->conv, &count)) != MP_OK)
        return rc;
    if ((uint64_t)count + 1 > j->in.max_members)
        return MP_ERR_GROUP_FULL;
    int64_t v;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_INVITE_USE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_text(s, 1, j->token, -1);
    if ((rc = step_done(db, s)) != MP_OK || (rc = mp_sqlite__next_version(db, &v)) != MP_OK ||
        (rc = member_insert(db, j, j->in.actor_id, MP_GROUP_MEMBER, v)) != MP_OK)
        return rc;
    return sys_self(db, j, "joined_by_link");
}

/* ---- a deleted owner -------------------------------------------------------------- */

static const char SQL_OWNED_LIVE[] = "SELECT id FROM conversations WHERE kind = 'group'"
                                     " AND owner_id = ?1 AND dissolved_at = 0";
/* Admins before members, then by seniority; guests never inherit a group. */
static const char SQL_SUCCESSOR[] =
    "SELECT m.user_id FROM members m JOIN users u ON u.id = m.user_id"
    " WHERE m.conversation_id = ?1 AND u.guest = 0"
    " ORDER BY m.role = 'admin' DESC, m.joined_at, m.user_id LIMIT 1";

void mp_sqlite__msgs_free(mp_sqlite_msgs_t *m)
{
    for (size_t i = 0; i < m->n; i++) {
        mp_free((void *)m->v[i].client_msg_id);
        mp_free((void *)m->v[i].kind);
        mp_free((void *)m->v[i].text);
    }
    mp_free(m->v);
    m->v = NULL;
    m->n = 0;
}

/* conv's successor of a deleted owner (0 = nobody is left). */
static mp_err_t successor(mp_sql_conn_t *db, uint64_t conv, uint64_t *out)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SUCCESSOR);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, conv);
    return step_u64(db, s, out);
}

/* Hands conv on (or dissolves it) and stores the system message into j. */
static mp_err_t owner_gone_one(mp_sql_conn_t *db, op_job_t *j, const char *name)
{
    uint64_t heir = 0;
    mp_err_t rc = successor(db, j->conv, &heir);
    if (rc != MP_OK)
        return rc;
    /* The deleted user is named as the deletion gave the name: the row is
     * gone already. */
    mp_group_fact_t f = {
        .actor_id = j->in.actor_id, .reason = "owner_deleted", .names = {name}, .n_names = 1};
    if (heir == 0) {
        f.action = "dissolved";
        if ((rc = sys_insert(db, j, &f, false)) != MP_OK)
            return rc;
        return exec3(db, SQL_DISSOLVE, j->conv, j->in.now_ms, 0, 2);
    }
    if ((rc = set_role(db, j->conv, heir, MP_GROUP_OWNER)) != MP_OK ||
        (rc = exec3(db, SQL_SET_OWNER, j->conv, (int64_t)heir, 0, 2)) != MP_OK)
        return rc;
    f.action = "ownership_transferred";
    f.has_users = true;
    f.user_ids = &heir;
    f.n_users = 1;
    return sys_insert(db, j, &f, true);
}

mp_err_t mp_sqlite__groups_owner_gone(mp_sql_conn_t *db, uint64_t user, const char *name,
                                      int64_t now_ms, mp_sqlite_msgs_t *out)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_OWNED_LIVE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    uint64_t *convs = NULL;
    size_t n = 0;
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        convs = mp_realloc(convs, (n + 1) * sizeof *convs);
        convs[n++] = col_u64(s, 0);
    }
    mp_sql_reset(s);
    mp_err_t err = rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
    for (size_t i = 0; err == MP_OK && i < n; i++) {
        op_job_t j;
        memset(&j, 0, sizeof j);
        j.in.actor_id = user;
        j.in.now_ms = now_ms;
        j.conv = convs[i];
        err = owner_gone_one(db, &j, name);
        if (j.msgs.n > 0)
            out->v = mp_realloc(out->v, (out->n + j.msgs.n) * sizeof *out->v);
        for (size_t k = 0; k < j.msgs.n; k++)
            out->v[out->n++] = j.msgs.v[k]; /* the strings move with the rows */
    }
    mp_free(convs);
    return err;
}

/* ---- a deleted account ------------------------------------------------------------ */

/* Every group the user is a member of, live or dissolved. */
static const char SQL_USER_GROUPS[] =
    "SELECT c.id, c.dissolved_at, c.owner_id FROM members m JOIN conversations c"
    " ON c.id = m.conversation_id WHERE m.user_id = ?1 AND c.kind = 'group'";

/* One group membership of a deleted account ends: a live group the user does
 * not own gets the "left" line a member's own leave writes; membership of a
 * dissolved group just goes. */
static mp_err_t user_gone_one(mp_sql_conn_t *db, op_job_t *j, bool live, bool owner)
{
    mp_err_t rc = member_delete(db, j, j->in.actor_id);
    if (rc != MP_OK || !live || owner)
        return rc;
    return sys_self(db, j, "member_left");
}

static void msgs_move(op_job_t *j, mp_sqlite_msgs_t *out)
{
    if (j->msgs.n > 0)
        out->v = mp_realloc(out->v, (out->n + j->msgs.n) * sizeof *out->v);
    for (size_t k = 0; k < j->msgs.n; k++)
        out->v[out->n++] = j->msgs.v[k]; /* the strings move with the rows */
    j->msgs.n = 0;
}

mp_err_t mp_sqlite__groups_user_gone(mp_sql_conn_t *db, uint64_t user, const char *name,
                                     int64_t now_ms, mp_sqlite_msgs_t *out)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_USER_GROUPS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    struct {
        uint64_t conv;
        bool live, owner;
    } *gs = NULL;
    size_t n = 0;
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        gs = mp_realloc(gs, (n + 1) * sizeof *gs);
        gs[n].conv = col_u64(s, 0);
        gs[n].live = mp_sql_col_i64(s, 1) == 0;
        gs[n].owner = col_u64(s, 2) == user;
        n++;
    }
    mp_sql_reset(s);
    mp_err_t err = rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
    for (size_t i = 0; err == MP_OK && i < n; i++) {
        op_job_t j;
        memset(&j, 0, sizeof j);
        j.in.actor_id = user;
        j.in.now_ms = now_ms;
        j.conv = gs[i].conv;
        err = user_gone_one(db, &j, gs[i].live, gs[i].owner);
        msgs_move(&j, out);
    }
    mp_free(gs);
    /* The groups it owned pass on exactly as when an owner's account is
     * removed by the guest sweep. */
    return err == MP_OK ? mp_sqlite__groups_owner_gone(db, user, name, now_ms, out) : err;
}

/* ---- the job ------------------------------------------------------------------ */

static mp_err_t op_dispatch(mp_sql_conn_t *db, op_job_t *j)
{
    switch (j->in.op) {
    case MP_GOP_PATCH:
        return op_patch(db, j);
    case MP_GOP_ADD:
        return op_add(db, j);
    case MP_GOP_REMOVE:
        return op_remove(db, j);
    case MP_GOP_ROLE:
        return op_role(db, j);
    case MP_GOP_TRANSFER:
        return op_transfer(db, j);
    case MP_GOP_BAN:
        return op_ban(db, j);
    case MP_GOP_UNBAN:
        return op_unban(db, j);
    case MP_GOP_MUTE:
        return op_mute(db, j, true);
    case MP_GOP_UNMUTE:
        return op_mute(db, j, false);
    case MP_GOP_DISSOLVE:
        return op_dissolve(db, j);
    case MP_GOP_ANNOUNCE:
        return op_announce(db, j, true);
    case MP_GOP_UNANNOUNCE:
        return op_announce(db, j, false);
    case MP_GOP_INVITE:
        return op_invite(db, j);
    case MP_GOP_REVOKE:
        return op_revoke(db, j);
    case MP_GOP_CREATE:
    case MP_GOP_JOIN:
    default:
        return MP_ERR_INTERNAL;
    }
}

static mp_err_t op_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    op_job_t *j = (op_job_t *)job;
    mp_err_t rc;
    if (j->in.op == MP_GOP_CREATE)
        rc = op_create(db, j);
    else if (j->in.op == MP_GOP_JOIN)
        rc = op_join(db, j);
    else if ((rc = op_prologue(db, j)) == MP_OK)
        rc = op_dispatch(db, j);
    if (rc == MP_OK)
        rc = mp_sqlite__group_load(db, j->conv, j->in.actor_id, false, &j->g);
    return rc;
}

static void msgs_free(msgs_t *m)
{
    for (size_t i = 0; i < m->n; i++) {
        mp_free((void *)m->v[i].client_msg_id);
        mp_free((void *)m->v[i].kind);
        mp_free((void *)m->v[i].text);
    }
    m->n = 0;
}

static void op_free(op_job_t *j)
{
    mp_free(j->title);
    mp_free(j->desc);
    mp_free(j->text);
    mp_free(j->token);
    mp_free(j->users);
    mp_free(j->added);
    mp_sqlite__grow_free(&j->g);
    msgs_free(&j->msgs);
    mp_free(j);
}

static void op_done(mp_sql_job_t *job, mp_err_t rc)
{
    op_job_t *j = (op_job_t *)job;
    if (rc == MP_OK) {
        mp_group_op_out_t *o = &j->out;
        o->conversation_id = j->conv;
        o->group = j->g.row;
        o->msgs = j->msgs.v;
        o->n_msgs = j->msgs.n;
        o->added = j->added;
        o->n_added = j->n_added;
        j->cb(rc, o, j->ud);
    } else if (rc == MP_ERR_PRIVACY) {
        j->cb(rc, &j->out, j->ud); /* refused_id only */
    } else {
        j->cb(rc, NULL, j->ud);
    }
    op_free(j);
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? mp_strdup(s) : NULL;
}

mp_err_t mp_store_group_op(mp_store_t *st, const mp_group_op_in_t *in, mp_group_op_fn cb, void *ud)
{
    op_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = op_run;
    j->base.done = op_done;
    j->in = *in;
    j->title = dup_or_null(in->title);
    j->desc = dup_or_null(in->description);
    j->text = dup_or_null(in->text);
    j->token = dup_or_null(in->token);
    if (in->n_users > 0) {
        j->users = mp_malloc(in->n_users * sizeof *j->users);
        memcpy(j->users, in->user_ids, in->n_users * sizeof *j->users);
    }
    j->in.title = j->title;
    j->in.description = j->desc;
    j->in.text = j->text;
    j->in.token = j->token;
    j->in.user_ids = j->users;
    j->cb = cb;
    j->ud = ud;
    mp_err_t rc = mp_sqlite__write(st, &j->base);
    if (rc != MP_OK)
        op_free(j);
    return rc;
}
