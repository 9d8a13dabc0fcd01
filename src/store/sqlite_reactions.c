/* SQLite implementation of reactions and pins (store/messages.h), and the
 * per-reader reaction sums every read path shows (sqlite_chat_int.h).
 *
 * Each write is one job that checks access in its own transaction, so a
 * reaction or pin can never land after the kick, ban or dissolve that should
 * have refused it; each change takes the next global version and stamps the
 * message (and the conversation, which is how sync finds it) with it. */
#include <string.h>
#include <strings.h>

#include "proto/group_rules.h"
#include "store/messages.h"
#include "store/sqlite_chat_int.h"
#include "store/sqlite_groups_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"

/* ---- reaction sums (read paths) ------------------------------------------------ */

/* The primary key (message_id, emoji, user_id) serves the grouping; the
 * number of distinct emoji per message is bounded by max_reaction_kinds.
 * "Is the reader among them" is the max of a 0/1 CASE: PostgreSQL has no
 * max() of a comparison (a boolean). */
static const char SQL_REACTION_SUMS[] =
    "SELECT emoji, count(*), max(CASE WHEN user_id = ?2 THEN 1 ELSE 0 END),"
    " min(created_at) AS first FROM reactions"
    " WHERE message_id = ?1 GROUP BY emoji ORDER BY first, emoji";

static mp_err_t msg_reactions(mp_sql_conn_t *db, mp_sql_stmt_t *s, mp_msg_row_t *m, uint64_t reader)
{
    bind_u64(s, 1, m->id);
    bind_u64(s, 2, reader);
    mp_reaction_sum_t *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            v = mp_realloc(v, cap * sizeof *v);
        }
        v[n].emoji = col_dup(s, 0);
        v[n].count = mp_sql_col_i64(s, 1);
        v[n].me = mp_sql_col_int(s, 2) != 0;
        n++;
    }
    mp_sql_reset(s);
    /* The row owns what was read even on an error, so nothing leaks. */
    m->reactions = v;
    m->n_reactions = n;
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

mp_err_t mp_sqlite__msgs_reactions(mp_sql_conn_t *db, mp_msg_row_t *msgs, size_t n, uint64_t reader)
{
    for (size_t i = 0; i < n; i++) {
        mp_msg_row_t *m = &msgs[i];
        if (m->reactions != NULL)
            continue; /* already loaded */
        bool stored = m->n_reactions > 0 && m->deleted_at == 0;
        m->n_reactions = 0;
        if (!stored)
            continue;
        mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_REACTION_SUMS);
        if (s == NULL)
            return MP_ERR_INTERNAL;
        mp_err_t rc = msg_reactions(db, s, m, reader);
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

/* ---- shared checks (writer and readers) ------------------------------------------ */

/* The message as the user may act on it: of conv, live, not hidden for the
 * user (else MP_ERR_NOT_FOUND). */
static const char SQL_MSG_STATE[] =
    "SELECT conversation_id, COALESCE(deleted_at, 0), pinned_at, version,"
    " EXISTS(SELECT 1 FROM hidden_messages h WHERE h.user_id = ?2 AND h.message_id = ?1)"
    " FROM messages WHERE id = ?1";

typedef struct msg_state {
    int64_t pinned_at, version;
} msg_state_t;

static mp_err_t msg_state(mp_sql_conn_t *db, uint64_t user, uint64_t conv, uint64_t msg,
                          msg_state_t *out)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_MSG_STATE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, msg);
    bind_u64(s, 2, user);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_FOUND;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    bool ok = col_u64(s, 0) == conv && mp_sql_col_i64(s, 1) == 0 && mp_sql_col_int(s, 4) == 0;
    if (out != NULL) {
        out->pinned_at = mp_sql_col_i64(s, 2);
        out->version = mp_sql_col_i64(s, 3);
    }
    mp_sql_reset(s);
    return ok ? MP_OK : MP_ERR_NOT_FOUND;
}

/* Membership first (MP_ERR_NOT_MEMBER), then the message. */
static mp_err_t msg_access(mp_sql_conn_t *db, uint64_t user, uint64_t conv, uint64_t msg,
                           mp_conv_kind_t *kind, msg_state_t *out)
{
    mp_err_t rc = mp_sqlite__chat_access(db, user, conv, kind);
    return rc != MP_OK ? rc : msg_state(db, user, conv, msg, out);
}

static const char SQL_GROUP_FACTS[] =
    "SELECT c.dissolved_at, c.who_can_pin, m.role FROM conversations c"
    " JOIN members m ON m.conversation_id = c.id AND m.user_id = ?2 WHERE c.id = ?1";

/* The group rule op for user in group conv, read in this transaction. */
static mp_err_t group_check(mp_sql_conn_t *db, uint64_t user, uint64_t conv, mp_group_rule_op_t op)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_GROUP_FACTS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, conv);
    bind_u64(s, 2, user);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_MEMBER;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    mp_group_facts_t f = {
        .member = true,
        .dissolved = mp_sql_col_i64(s, 0) != 0,
        .settings.pin_admins = mp_sql_col_int(s, 1) != 0,
        .role = mp_sqlite__group_role(mp_sql_col_text(s, 2)),
    };
    mp_sql_reset(s);
    return mp_group_rule(op, &f);
}

/* Whether name is one of the comma-separated names of list, ignoring case
 * and the blanks around each name. */
static bool name_listed(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; p != NULL && *p != '\0';) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *end = p;
        while (*end != '\0' && *end != ',')
            end++;
        const char *last = end;
        while (last > p && (last[-1] == ' ' || last[-1] == '\t'))
            last--;
        if ((size_t)(last - p) == len && len > 0 && strncasecmp(p, name, len) == 0)
            return true;
        p = end;
    }
    return false;
}

static const char SQL_USERNAME[] = "SELECT username, admin FROM users WHERE id = ?1";

/* MP_OK when the actor is a world moderator (vouched for by the caller, a
 * server admin, or named by world_moderators), else MP_ERR_FORBIDDEN. */
static mp_err_t world_moderator(mp_sql_conn_t *db, const mp_msg_actor_t *actor)
{
    if (actor->moderator)
        return MP_OK;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_USERNAME);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, actor->user_id);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_FORBIDDEN;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    const char *name = mp_sql_col_text(s, 0);
    bool ok = mp_sql_col_int(s, 1) != 0 || (name != NULL && actor->world_moderators != NULL &&
                                            name_listed(actor->world_moderators, name));
    mp_sql_reset(s);
    return ok ? MP_OK : MP_ERR_FORBIDDEN;
}

static const char SQL_MSG_STAMP[] = "UPDATE messages SET version = ?2, n_reactions = n_reactions"
                                    " + ?3 WHERE id = ?1";
static const char SQL_CONV_STAMP[] = "UPDATE conversations SET version = ?2 WHERE id = ?1";

/* Gives the message (and its conversation, so that sync looks there) the
 * next version; delta changes its stored reaction count. */
static mp_err_t msg_stamp(mp_sql_conn_t *db, uint64_t conv, uint64_t msg, int delta, int64_t *v)
{
    mp_err_t rc = mp_sqlite__next_version(db, v);
    if (rc != MP_OK)
        return rc;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_MSG_STAMP);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, msg);
    mp_sql_bind_i64(s, 2, *v);
    mp_sql_bind_i64(s, 3, delta);
    if ((rc = step_done(db, s)) != MP_OK)
        return rc;
    if ((s = mp_sql_prepare(db, SQL_CONV_STAMP)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, conv);
    mp_sql_bind_i64(s, 2, *v);
    return step_done(db, s);
}

/* Runs a statement whose one row is one integer. */
static mp_err_t query_i64(mp_sql_conn_t *db, mp_sql_stmt_t *s, int64_t *out)
{
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return rc == MP_SQL_DONE ? MP_ERR_INTERNAL : mp_sql_err(db, rc);
    *out = mp_sql_col_i64(s, 0);
    mp_sql_reset(s);
    return MP_OK;
}

/* ---- react (writer) ----------------------------------------------------------------- */

typedef struct react_job {
    mp_sql_job_t base;
    mp_msg_actor_t actor;
    uint64_t conv, msg;
    bool add;
    unsigned max_kinds;
    int64_t now;
    mp_msg_react_out_t out;
    mp_msg_react_fn cb;
    void *ud;
    char emoji[]; /* NUL-terminated */
} react_job_t;

static const char SQL_REACTION_HAS[] =
    "SELECT EXISTS(SELECT 1 FROM reactions WHERE message_id = ?1 AND emoji = ?2 AND user_id = ?3),"
    " EXISTS(SELECT 1 FROM reactions WHERE message_id = ?1 AND emoji = ?2),"
    " (SELECT count(DISTINCT emoji) FROM reactions WHERE message_id = ?1)";
static const char SQL_REACTION_ADD[] =
    "INSERT INTO reactions(message_id, emoji, user_id, created_at) VALUES(?1, ?2, ?3, ?4)";
static const char SQL_REACTION_DEL[] =
    "DELETE FROM reactions WHERE message_id = ?1 AND emoji = ?2 AND user_id = ?3";
static const char SQL_REACTION_COUNT[] =
    "SELECT count(*) FROM reactions WHERE message_id = ?1 AND emoji = ?2";

static mp_sql_stmt_t *prepare_mer(mp_sql_conn_t *db, const char *sql, const react_job_t *j,
                                  int nargs)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, sql);
    if (s == NULL)
        return NULL;
    bind_u64(s, 1, j->msg);
    mp_sql_bind_text(s, 2, j->emoji, -1);
    if (nargs > 2)
        bind_u64(s, 3, j->actor.user_id);
    if (nargs > 3)
        mp_sql_bind_i64(s, 4, j->now);
    return s;
}

/* Adds or removes the actor's reaction; *changed says whether it did. */
static mp_err_t react_apply(mp_sql_conn_t *db, react_job_t *j, bool *changed)
{
    mp_sql_stmt_t *s = prepare_mer(db, SQL_REACTION_HAS, j, 3);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    bool mine = mp_sql_col_int(s, 0) != 0, known = mp_sql_col_int(s, 1) != 0;
    int64_t kinds = mp_sql_col_i64(s, 2);
    mp_sql_reset(s);
    *changed = j->add != mine;
    if (!*changed)
        return MP_OK;
    if (j->add && !known && kinds >= (int64_t)j->max_kinds)
        return MP_ERR_LIMIT_REACHED;
    s = prepare_mer(db, j->add ? SQL_REACTION_ADD : SQL_REACTION_DEL, j, j->add ? 4 : 3);
    return s == NULL ? MP_ERR_INTERNAL : step_done(db, s);
}

static mp_err_t react_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    react_job_t *j = (react_job_t *)job;
    mp_conv_kind_t kind = MP_CONV_DIRECT;
    msg_state_t ms = {0};
    mp_err_t rc = msg_access(db, j->actor.user_id, j->conv, j->msg, &kind, &ms);
    if (rc == MP_OK && kind == MP_CONV_GROUP)
        rc = group_check(db, j->actor.user_id, j->conv, MP_GRULE_WRITE);
    if (rc == MP_OK && kind == MP_CONV_WORLD) {
        bool banned = false;
        if ((rc = mp_sqlite__world_banned(db, j->actor.user_id, &banned)) == MP_OK && banned)
            rc = MP_ERR_BANNED;
    }
    bool changed = false;
    if (rc == MP_OK)
        rc = react_apply(db, j, &changed);
    j->out.version = ms.version;
    if (rc == MP_OK && changed)
        rc = msg_stamp(db, j->conv, j->msg, j->add ? 1 : -1, &j->out.version);
    if (rc != MP_OK)
        return rc;
    j->out.changed = changed;
    j->out.conversation_id = j->conv;
    j->out.message_id = j->msg;
    mp_sql_stmt_t *s = prepare_mer(db, SQL_REACTION_COUNT, j, 2);
    return s == NULL ? MP_ERR_INTERNAL : query_i64(db, s, &j->out.count);
}

static void react_done(mp_sql_job_t *job, mp_err_t rc)
{
    react_job_t *j = (react_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->out : NULL, j->ud);
    mp_free(j);
}

mp_err_t mp_store_msg_react(mp_store_t *st, const mp_msg_actor_t *actor, uint64_t conversation_id,
                            uint64_t message_id, const char *emoji, bool add, unsigned max_kinds,
                            int64_t now_ms, mp_msg_react_fn cb, void *ud)
{
    size_t len = strlen(emoji);
    react_job_t *j = mp_calloc(1, sizeof *j + len + 1);
    j->base.run = react_run;
    j->base.done = react_done;
    j->actor = *actor;
    j->actor.world_moderators = NULL; /* never needed for reactions */
    j->conv = conversation_id;
    j->msg = message_id;
    j->add = add;
    j->max_kinds = max_kinds;
    j->now = now_ms;
    memcpy(j->emoji, emoji, len + 1);
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}

/* ---- reactors (read) ------------------------------------------------------------------ */

typedef struct reactors_job {
    mp_sql_job_t base;
    uint64_t user, conv, msg, after;
    unsigned limit;
    mp_msg_reactor_t *rows;
    size_t n;
    bool has_more;
    mp_msg_reactors_fn cb;
    void *ud;
    char emoji[];
} reactors_job_t;

static const char SQL_REACTORS[] =
    "SELECT user_id, created_at FROM reactions WHERE message_id = ?1 AND emoji = ?2"
    " AND user_id > ?3 ORDER BY user_id LIMIT ?4";

static mp_err_t reactors_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    reactors_job_t *j = (reactors_job_t *)job;
    mp_err_t err = msg_access(db, j->user, j->conv, j->msg, NULL, NULL);
    if (err != MP_OK)
        return err;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_REACTORS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->msg);
    mp_sql_bind_text(s, 2, j->emoji, -1);
    bind_u64(s, 3, j->after);
    mp_sql_bind_i64(s, 4, (int64_t)j->limit + 1);
    j->rows = mp_calloc(j->limit + 1, sizeof *j->rows);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        j->rows[j->n].user_id = col_u64(s, 0);
        j->rows[j->n++].reacted_at = mp_sql_col_i64(s, 1);
    }
    if (rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    if (j->n > j->limit) {
        j->has_more = true;
        j->n = j->limit;
    }
    return MP_OK;
}

static void reactors_done(mp_sql_job_t *job, mp_err_t rc)
{
    reactors_job_t *j = (reactors_job_t *)job;
    if (rc == MP_OK)
        j->cb(rc, j->rows, j->n, j->has_more, j->ud);
    else
        j->cb(rc, NULL, 0, false, j->ud);
    mp_free(j->rows);
    mp_free(j);
}

mp_err_t mp_store_msg_reactors(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                               uint64_t message_id, const char *emoji, uint64_t after_user,
                               unsigned limit, mp_msg_reactors_fn cb, void *ud)
{
    size_t len = strlen(emoji);
    reactors_job_t *j = mp_calloc(1, sizeof *j + len + 1);
    j->base.run = reactors_run;
    j->base.done = reactors_done;
    j->user = user_id;
    j->conv = conversation_id;
    j->msg = message_id;
    j->after = after_user;
    j->limit = limit < 1 ? 1 : limit > 100 ? 100 : limit;
    memcpy(j->emoji, emoji, len + 1);
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}

/* ---- pin (writer) ------------------------------------------------------------------- */

typedef struct pin_job {
    mp_sql_job_t base;
    mp_msg_actor_t actor;
    uint64_t conv, msg;
    bool pin;
    int64_t now;
    mp_sqlite_msgvec_t row; /* the message after the change */
    bool changed;           /* the pin state changed (not already as asked) */
    mp_msg_fn cb;
    void *ud;
    char mods[]; /* copy of actor.world_moderators */
} pin_job_t;

static const char SQL_PIN_COUNT[] =
    "SELECT count(*) FROM messages WHERE conversation_id = ?1 AND pinned_at > 0";
static const char SQL_PIN_SET[] =
    "UPDATE messages SET pinned_at = ?2, pinned_by = ?3, version = ?4 WHERE id = ?1";
static const char SQL_MSG_READ[] = "SELECT " MP_SQLITE_MSG_READ_COLS " FROM messages WHERE id = ?1";

static mp_err_t pin_allowed(mp_sql_conn_t *db, const pin_job_t *j, mp_conv_kind_t kind)
{
    if (kind == MP_CONV_GROUP)
        return group_check(db, j->actor.user_id, j->conv, MP_GRULE_PIN);
    if (kind == MP_CONV_WORLD)
        return world_moderator(db, &j->actor);
    return MP_OK; /* direct: both members may */
}

static mp_err_t pin_apply(mp_sql_conn_t *db, pin_job_t *j)
{
    mp_sql_stmt_t *s;
    mp_err_t rc;
    if (j->pin) {
        int64_t pinned;
        if ((s = mp_sql_prepare(db, SQL_PIN_COUNT)) == NULL)
            return MP_ERR_INTERNAL;
        bind_u64(s, 1, j->conv);
        if ((rc = query_i64(db, s, &pinned)) != MP_OK)
            return rc;
        if (pinned >= MP_CHAT_PINS_MAX)
            return MP_ERR_LIMIT_REACHED;
    }
    int64_t v;
    if ((rc = msg_stamp(db, j->conv, j->msg, 0, &v)) != MP_OK)
        return rc;
    if ((s = mp_sql_prepare(db, SQL_PIN_SET)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->msg);
    mp_sql_bind_i64(s, 2, j->pin ? j->now : 0);
    bind_u64(s, 3, j->pin ? j->actor.user_id : 0);
    mp_sql_bind_i64(s, 4, v);
    return step_done(db, s);
}

static mp_err_t pin_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    pin_job_t *j = (pin_job_t *)job;
    mp_conv_kind_t kind = MP_CONV_DIRECT;
    msg_state_t ms = {0};
    mp_err_t rc = msg_access(db, j->actor.user_id, j->conv, j->msg, &kind, &ms);
    if (rc == MP_OK)
        rc = pin_allowed(db, j, kind);
    if (rc == MP_OK && (ms.pinned_at != 0) != j->pin) {
        rc = pin_apply(db, j);
        j->changed = rc == MP_OK;
    }
    if (rc != MP_OK)
        return rc;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_MSG_READ);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->msg);
    int step = mp_sql_step(s);
    if (step != MP_SQL_ROW)
        return step == MP_SQL_DONE ? MP_ERR_INTERNAL : mp_sql_err(db, step);
    mp_sqlite__msgvec_push(&j->row, s);
    mp_sql_reset(s);
    return mp_sqlite__msgs_reactions(db, j->row.v, j->row.n, j->actor.user_id);
}

static void pin_done(mp_sql_job_t *job, mp_err_t rc)
{
    pin_job_t *j = (pin_job_t *)job;
    if (rc == MP_OK && j->row.n == 1)
        j->row.v[0].changed = j->changed;
    j->cb(rc, rc == MP_OK && j->row.n == 1 ? &j->row.v[0] : NULL, j->ud);
    mp_sqlite__msgvec_free(&j->row);
    mp_free(j);
}

mp_err_t mp_store_msg_pin(mp_store_t *st, const mp_msg_actor_t *actor, uint64_t conversation_id,
                          uint64_t message_id, bool pin, int64_t now_ms, mp_msg_fn cb, void *ud)
{
    const char *mods = actor->world_moderators ? actor->world_moderators : "";
    size_t len = strlen(mods);
    pin_job_t *j = mp_calloc(1, sizeof *j + len + 1);
    j->base.run = pin_run;
    j->base.done = pin_done;
    memcpy(j->mods, mods, len + 1);
    j->actor.user_id = actor->user_id;
    j->actor.world_moderators = j->mods;
    j->conv = conversation_id;
    j->msg = message_id;
    j->pin = pin;
    j->now = now_ms;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}

/* ---- pins (read) --------------------------------------------------------------------- */

typedef struct pins_job {
    mp_sql_job_t base;
    uint64_t user, conv;
    mp_sqlite_msgvec_t msgs;
    mp_msg_rows_fn cb;
    void *ud;
} pins_job_t;

/* At most MP_CHAT_PINS_MAX rows (messages_pinned); what the user cleared or
 * hid stays out, as in history. */
static const char SQL_PINS[] =
    "SELECT " MP_SQLITE_MSG_READ_COLS " FROM messages WHERE conversation_id = ?1"
    " AND pinned_at > 0 AND COALESCE(deleted_at, 0) = 0 AND seq > ?3 AND NOT EXISTS(SELECT 1"
    " FROM hidden_messages h WHERE h.user_id = ?2 AND h.message_id = messages.id)"
    " ORDER BY pinned_at DESC, id DESC";
static const char SQL_CLEARED[] =
    "SELECT cleared_seq FROM members WHERE conversation_id = ?1 AND user_id = ?2";

static mp_err_t pins_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    pins_job_t *j = (pins_job_t *)job;
    mp_err_t err = mp_sqlite__chat_access(db, j->user, j->conv, NULL);
    if (err != MP_OK)
        return err;
    int64_t cleared = 0; /* the world room has no member row */
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_CLEARED);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    bind_u64(s, 2, j->user);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_ROW)
        cleared = mp_sql_col_i64(s, 0);
    else if (rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    mp_sql_reset(s);
    if ((s = mp_sql_prepare(db, SQL_PINS)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    bind_u64(s, 2, j->user);
    mp_sql_bind_i64(s, 3, cleared);
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW)
        mp_sqlite__msgvec_push(&j->msgs, s);
    if (rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    return mp_sqlite__msgs_reactions(db, j->msgs.v, j->msgs.n, j->user);
}

static void pins_done(mp_sql_job_t *job, mp_err_t rc)
{
    pins_job_t *j = (pins_job_t *)job;
    if (rc == MP_OK)
        j->cb(rc, j->msgs.v, j->msgs.n, j->ud);
    else
        j->cb(rc, NULL, 0, j->ud);
    mp_sqlite__msgvec_free(&j->msgs);
    mp_free(j);
}

mp_err_t mp_store_msg_pins(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                           mp_msg_rows_fn cb, void *ud)
{
    pins_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = pins_run;
    j->base.done = pins_done;
    j->user = user_id;
    j->conv = conversation_id;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}
