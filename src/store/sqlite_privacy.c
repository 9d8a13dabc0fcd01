/* Blocking and the privacy settings (store/privacy.h) on the SQLite job
 * machinery, and the facts the write jobs of the actions they govern read
 * in their own transaction (sqlite_privacy_int.h). */
#include <string.h>

#include "store/privacy.h"
#include "store/chat.h"
#include "store/sqlite_chat_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_people_int.h"
#include "store/sqlite_privacy_int.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"
#include "util/assert.h"

static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n > 0)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---- facts (any thread, inside the caller's transaction) ----------------------- */

/* Everything of a pair in one statement: the target's settings, blocks both
 * ways and the target's contacts row (?1 = actor, ?2 = target). Reads
 * EXISTS(...) as an integer (see SQL_ACCESS in sqlite_chat.c). */
static const char SQL_PAIR[] =
    "SELECT u.priv_message, u.priv_presence, u.priv_search, u.priv_groups, u.priv_receipts,"
    " EXISTS(SELECT 1 FROM blocks b WHERE b.user_id = ?2 AND b.blocked_id = ?1),"
    " EXISTS(SELECT 1 FROM blocks b WHERE b.user_id = ?1 AND b.blocked_id = ?2),"
    " EXISTS(SELECT 1 FROM contacts k WHERE k.user_id = ?2 AND k.peer_id = ?1 AND k.state = 3)"
    " FROM users u WHERE u.id = ?2";

static void settings_read(mp_sql_stmt_t *s, int col, mp_privacy_settings_t *out)
{
    out->message = mp_privacy_from_int(mp_sql_col_i64(s, col));
    out->presence = mp_privacy_from_int(mp_sql_col_i64(s, col + 1));
    out->search = mp_privacy_from_int(mp_sql_col_i64(s, col + 2));
    out->groups = mp_privacy_from_int(mp_sql_col_i64(s, col + 3));
    out->receipts = mp_sql_col_i64(s, col + 4) == 0;
}

static mp_err_t pair_load(mp_sql_conn_t *db, uint64_t actor, uint64_t target, mp_privacy_pair_t *p)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_PAIR);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, actor);
    bind_u64(s, 2, target);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_FOUND;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    settings_read(s, 0, &p->target);
    p->target_blocked_actor = mp_sql_col_int(s, 5) != 0;
    p->actor_blocked_target = mp_sql_col_int(s, 6) != 0;
    p->friends = mp_sql_col_int(s, 7) != 0;
    mp_sql_reset(s);
    return MP_OK;
}

mp_privacy_facts_t mp_privacy_pair_facts(const mp_privacy_pair_t *p, mp_privacy_op_t op)
{
    mp_privacy_t setting = op == MP_PRIVACY_MESSAGE ? p->target.message
                           : op == MP_PRIVACY_GROUP ? p->target.groups
                                                    : p->target.presence;
    return (mp_privacy_facts_t){.target_blocked_actor = p->target_blocked_actor,
                                .actor_blocked_target = p->actor_blocked_target,
                                .setting = setting,
                                .friends = p->friends};
}

mp_err_t mp_sqlite__privacy_facts(mp_sql_conn_t *db, uint64_t actor, uint64_t target,
                                  mp_privacy_op_t op, mp_privacy_facts_t *f)
{
    mp_privacy_pair_t p;
    mp_err_t rc = pair_load(db, actor, target, &p);
    if (rc == MP_OK)
        *f = mp_privacy_pair_facts(&p, op);
    return rc;
}

static mp_err_t verdict_err(mp_privacy_verdict_t v, bool *you_blocked)
{
    if (you_blocked != NULL)
        *you_blocked = v == MP_PRIVACY_YOU_BLOCKED;
    return v == MP_PRIVACY_ALLOWED ? MP_OK : MP_ERR_PRIVACY;
}

mp_err_t mp_sqlite__privacy_check(mp_sql_conn_t *db, uint64_t actor, uint64_t target,
                                  mp_privacy_op_t op, bool *you_blocked)
{
    mp_privacy_facts_t f;
    mp_err_t rc = mp_sqlite__privacy_facts(db, actor, target, op, &f);
    if (rc != MP_OK)
        return rc;
    return verdict_err(mp_privacy_rule(op, &f), you_blocked);
}

/* The peer is the other member row of the direct conversation (two rows
 * under the (conversation_id, user_id) key). CASE keeps the contacts probe
 * off the common path: it runs only for the setting "contacts". Its
 * branches are both integers (a bare EXISTS is a boolean in PostgreSQL,
 * which does not mix with the 0 of the other branch). */
static const char SQL_DIRECT_PRIV[] =
    "SELECT u.priv_message,"
    " EXISTS(SELECT 1 FROM blocks b WHERE b.user_id = u.id AND b.blocked_id = ?1),"
    " EXISTS(SELECT 1 FROM blocks b WHERE b.user_id = ?1 AND b.blocked_id = u.id),"
    " CASE WHEN u.priv_message = 1 THEN CASE WHEN EXISTS(SELECT 1 FROM contacts k"
    " WHERE k.user_id = u.id AND k.peer_id = ?1 AND k.state = 3) THEN 1 ELSE 0 END ELSE 0 END,"
    " u.deleted_at > 0"
    " FROM members p JOIN users u ON u.id = p.user_id"
    " WHERE p.conversation_id = ?2 AND p.user_id <> ?1";

mp_err_t mp_sqlite__direct_privacy(mp_sql_conn_t *db, uint64_t sender, uint64_t conv,
                                   mp_err_t *deny, bool *you_blocked)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_DIRECT_PRIV);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, sender);
    bind_u64(s, 2, conv);
    int rc = mp_sql_step(s);
    *deny = MP_OK;
    if (you_blocked != NULL)
        *you_blocked = false;
    if (rc == MP_SQL_DONE) /* no peer row left: nobody to protect */
        return MP_OK;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    /* A deleted account takes no new messages: it reads as "nobody". */
    bool deleted = mp_sql_col_int(s, 4) != 0;
    mp_privacy_facts_t f = {.setting = deleted ? MP_PRIV_NOBODY
                                               : mp_privacy_from_int(mp_sql_col_i64(s, 0)),
                            .target_blocked_actor = mp_sql_col_int(s, 1) != 0,
                            .actor_blocked_target = mp_sql_col_int(s, 2) != 0,
                            .friends = mp_sql_col_int(s, 3) != 0};
    mp_sql_reset(s);
    *deny = verdict_err(mp_privacy_rule(MP_PRIVACY_MESSAGE, &f), you_blocked);
    return MP_OK;
}

/* ---- block / unblock (writer) ---------------------------------------------------- */

typedef struct block_job {
    mp_sql_job_t base;
    uint64_t user, other;
    int64_t now;
    mp_block_out_t out;
    mp_store_block_fn cb;
    void *ud;
} block_job_t;

static const char SQL_USER_EXISTS[] = "SELECT 1 FROM users WHERE id = ?1";
/* A repeated block keeps the first one's time; changes() tells them apart. */
static const char SQL_BLOCK_INSERT[] =
    "INSERT INTO blocks(user_id, blocked_id, created_at) VALUES(?1, ?2, ?3)"
    " ON CONFLICT DO NOTHING";
static const char SQL_BLOCK_DELETE[] = "DELETE FROM blocks WHERE user_id = ?1 AND blocked_id = ?2";
static const char SQL_PAIR_LIVE[] = "SELECT 1 FROM contacts WHERE ((user_id = ?1 AND peer_id = ?2) "
                                    "OR (user_id = ?2 AND peer_id = ?1))"
                                    " AND state <> 0";
/* A tombstone keeps no request message (as the contacts ops leave it). */
static const char SQL_PAIR_RESET[] =
    "UPDATE contacts SET state = 0, message = '', updated_at = ?3, version = ?4"
    " WHERE ((user_id = ?1 AND peer_id = ?2) OR (user_id = ?2 AND peer_id = ?1)) AND state <> 0";
static const char SQL_PAIR_CHANGED[] =
    "SELECT c.user_id, c.peer_id, COALESCE(u.username, ''), COALESCE(u.display_name, ''),"
    " c.created_at, c.updated_at FROM contacts c LEFT JOIN users u ON u.id = c.peer_id"
    " WHERE ((c.user_id = ?1 AND c.peer_id = ?2) OR (c.user_id = ?2 AND c.peer_id = ?1))"
    " AND c.version = ?3";

/* The rows the reset changed, for the contact events of both users. */
static mp_err_t contacts_changed(mp_sql_conn_t *db, block_job_t *j)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_PAIR_CHANGED);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    bind_u64(s, 2, j->other);
    mp_sql_bind_i64(s, 3, j->out.version);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW && j->out.n_sides < 2) {
        mp_contact_t *c = &j->out.sides[j->out.n_sides++];
        c->user_id = col_u64(s, 0);
        c->peer_id = col_u64(s, 1);
        copy_text(c->username, sizeof c->username, mp_sql_col_text(s, 2));
        copy_text(c->display_name, sizeof c->display_name, mp_sql_col_text(s, 3));
        c->state = MP_CONTACT_NONE;
        c->created_at = mp_sql_col_i64(s, 4);
        c->updated_at = mp_sql_col_i64(s, 5);
        c->version = j->out.version;
    }
    mp_sql_reset(s);
    return rc == MP_SQL_DONE || rc == MP_SQL_ROW ? MP_OK : mp_sql_err(db, rc);
}

/* The friendship or pending request of the pair ends with the block: both
 * rows become tombstones with one new version, so sync tells both users'
 * devices (the contacts list reads state 0 as "none"). */
static mp_err_t contacts_reset(mp_sql_conn_t *db, block_job_t *j)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_PAIR_LIVE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    bind_u64(s, 2, j->other);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_OK;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    mp_sql_reset(s);
    mp_err_t err = mp_sqlite__next_version(db, &j->out.version);
    if (err != MP_OK)
        return err;
    if ((s = mp_sql_prepare(db, SQL_PAIR_RESET)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    bind_u64(s, 2, j->other);
    mp_sql_bind_i64(s, 3, j->now);
    mp_sql_bind_i64(s, 4, j->out.version);
    if ((err = step_done(db, s)) != MP_OK)
        return err;
    j->out.contacts_reset = true;
    return contacts_changed(db, j);
}

static mp_err_t block_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    block_job_t *j = (block_job_t *)job;
    if (j->user == j->other)
        return MP_ERR_BAD_REQUEST;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_USER_EXISTS);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->other);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_FOUND;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    mp_sql_reset(s);
    if ((s = mp_sql_prepare(db, SQL_BLOCK_INSERT)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    bind_u64(s, 2, j->other);
    mp_sql_bind_i64(s, 3, j->now);
    mp_err_t err = step_done(db, s);
    if (err != MP_OK)
        return err;
    j->out.changed = mp_sql_changes(db) > 0;
    /* A repeated block changes nothing: a request the blocked user made
     * since (kept for them alone, see the contacts requests) stays. */
    return j->out.changed ? contacts_reset(db, j) : MP_OK;
}

static mp_err_t unblock_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    block_job_t *j = (block_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_BLOCK_DELETE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    bind_u64(s, 2, j->other);
    mp_err_t err = step_done(db, s);
    if (err == MP_OK)
        j->out.changed = mp_sql_changes(db) > 0;
    return err;
}

static void block_done(mp_sql_job_t *job, mp_err_t rc)
{
    block_job_t *j = (block_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->out : NULL, j->ud);
    mp_free(j);
}

static mp_err_t block_queue(mp_store_t *st, mp_err_t (*run)(mp_sql_conn_t *, mp_sql_job_t *),
                            uint64_t user, uint64_t other, int64_t now, mp_store_block_fn cb,
                            void *ud)
{
    block_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = run;
    j->base.done = block_done;
    j->user = user;
    j->other = other;
    j->now = now;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}

mp_err_t mp_store_block(mp_store_t *st, uint64_t user_id, uint64_t blocked_id, int64_t now_ms,
                        mp_store_block_fn cb, void *ud)
{
    return block_queue(st, block_run, user_id, blocked_id, now_ms, cb, ud);
}

mp_err_t mp_store_unblock(mp_store_t *st, uint64_t user_id, uint64_t blocked_id,
                          mp_store_block_fn cb, void *ud)
{
    return block_queue(st, unblock_run, user_id, blocked_id, 0, cb, ud);
}

/* ---- block list (read) -------------------------------------------------------------- */

typedef struct blist_job {
    mp_sql_job_t base;
    uint64_t user, after_id;
    int64_t after_at;
    unsigned limit;
    mp_block_row_t *rows;
    size_t n;
    bool more;
    mp_store_blocks_fn cb;
    void *ud;
} blist_job_t;

/* A user blocks few others: the sort over their rows of the primary key is
 * cheap, and the page position is (created_at, blocked_id) descending. */
static const char SQL_BLOCK_LIST[] =
    "SELECT " MP_SQLITE_PROFILE_COLS ", b.created_at"
    " FROM blocks b JOIN users u ON u.id = b.blocked_id WHERE b.user_id = ?1"
    " AND (?2 < 0 OR b.created_at < ?2 OR (b.created_at = ?2 AND b.blocked_id < ?3))"
    " ORDER BY b.created_at DESC, b.blocked_id DESC LIMIT ?4";

static mp_err_t blist_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    blist_job_t *j = (blist_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_BLOCK_LIST);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    mp_sql_bind_i64(s, 2, j->after_at);
    bind_u64(s, 3, j->after_id);
    mp_sql_bind_i64(s, 4, (int64_t)j->limit + 1);
    j->rows = mp_calloc(j->limit, sizeof *j->rows);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        if (j->n == j->limit) {
            j->more = true;
            mp_sql_reset(s);
            return MP_OK;
        }
        mp_block_row_t *r = &j->rows[j->n++];
        mp_sqlite__profile_read(s, &r->user);
        r->blocked_at = mp_sql_col_i64(s, MP_SQLITE_PROFILE_NCOLS);
    }
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static void blist_done(mp_sql_job_t *job, mp_err_t rc)
{
    blist_job_t *j = (blist_job_t *)job;
    if (rc == MP_OK)
        j->cb(rc, j->rows, j->n, j->more, j->ud);
    else
        j->cb(rc, NULL, 0, false, j->ud);
    mp_free(j->rows);
    mp_free(j);
}

mp_err_t mp_store_block_list(mp_store_t *st, uint64_t user_id, int64_t after_at, uint64_t after_id,
                             unsigned limit, mp_store_blocks_fn cb, void *ud)
{
    MP_ASSERT(limit >= 1 && limit <= MP_BLOCKS_PAGE_MAX);
    blist_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = blist_run;
    j->base.done = blist_done;
    j->user = user_id;
    j->after_at = after_at;
    j->after_id = after_id;
    j->limit = limit;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}

/* ---- privacy settings ------------------------------------------------------------------ */

typedef struct priv_job {
    mp_sql_job_t base;
    uint64_t user;
    unsigned mask;
    mp_privacy_settings_t set, out;
    mp_store_privacy_fn cb;
    void *ud;
} priv_job_t;

static const char SQL_PRIV_GET[] = "SELECT priv_message, priv_presence, priv_search, priv_groups,"
                                   " priv_receipts FROM users WHERE id = ?1";
/* One statement per field (each a literal: the statement cache's key). */
static const char SQL_SET_MESSAGE[] = "UPDATE users SET priv_message = ?2 WHERE id = ?1";
static const char SQL_SET_PRESENCE[] = "UPDATE users SET priv_presence = ?2 WHERE id = ?1";
static const char SQL_SET_SEARCH[] = "UPDATE users SET priv_search = ?2 WHERE id = ?1";
static const char SQL_SET_GROUPS[] = "UPDATE users SET priv_groups = ?2 WHERE id = ?1";
static const char SQL_SET_RECEIPTS[] = "UPDATE users SET priv_receipts = ?2 WHERE id = ?1";

static mp_err_t priv_load(mp_sql_conn_t *db, priv_job_t *j)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_PRIV_GET);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_FOUND;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    settings_read(s, 0, &j->out);
    mp_sql_reset(s);
    return MP_OK;
}

static mp_err_t priv_get_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    return priv_load(db, (priv_job_t *)job);
}

static mp_err_t priv_set_one(mp_sql_conn_t *db, const char *sql, uint64_t user, int64_t v)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, sql);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    mp_sql_bind_i64(s, 2, v);
    return step_done(db, s);
}

static mp_err_t priv_set_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    priv_job_t *j = (priv_job_t *)job;
    mp_err_t rc = priv_load(db, j); /* also: the user exists */
    const struct {
        unsigned bit;
        const char *sql;
        int64_t v;
    } fields[] = {
        {MP_PRIVSET_MESSAGE, SQL_SET_MESSAGE, j->set.message},
        {MP_PRIVSET_PRESENCE, SQL_SET_PRESENCE, j->set.presence},
        {MP_PRIVSET_SEARCH, SQL_SET_SEARCH, j->set.search},
        {MP_PRIVSET_GROUPS, SQL_SET_GROUPS, j->set.groups},
        {MP_PRIVSET_RECEIPTS, SQL_SET_RECEIPTS, j->set.receipts ? 0 : 1},
    };
    for (size_t i = 0; rc == MP_OK && i < sizeof fields / sizeof fields[0]; i++)
        if (j->mask & fields[i].bit)
            rc = priv_set_one(db, fields[i].sql, j->user, fields[i].v);
    return rc == MP_OK ? priv_load(db, j) : rc;
}

static void priv_done(mp_sql_job_t *job, mp_err_t rc)
{
    priv_job_t *j = (priv_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->out : NULL, j->ud);
    mp_free(j);
}

mp_err_t mp_store_privacy_get(mp_store_t *st, uint64_t user_id, mp_store_privacy_fn cb, void *ud)
{
    priv_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = priv_get_run;
    j->base.done = priv_done;
    j->user = user_id;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}

mp_err_t mp_store_privacy_set(mp_store_t *st, uint64_t user_id, unsigned mask,
                              const mp_privacy_settings_t *set, mp_store_privacy_fn cb, void *ud)
{
    priv_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = priv_set_run;
    j->base.done = priv_done;
    j->user = user_id;
    j->mask = mask;
    j->set = *set;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}

/* ---- pair facts and the presence audience (read) ------------------------------------------ */

typedef struct pair_job {
    mp_sql_job_t base;
    uint64_t actor, target;
    mp_privacy_pair_t out;
    mp_store_privacy_pair_fn cb;
    void *ud;
} pair_job_t;

static mp_err_t pair_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    pair_job_t *j = (pair_job_t *)job;
    return pair_load(db, j->actor, j->target, &j->out);
}

static void pair_done(mp_sql_job_t *job, mp_err_t rc)
{
    pair_job_t *j = (pair_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->out : NULL, j->ud);
    mp_free(j);
}

mp_err_t mp_store_privacy_pair(mp_store_t *st, uint64_t actor_id, uint64_t target_id,
                               mp_store_privacy_pair_fn cb, void *ud)
{
    pair_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = pair_run;
    j->base.done = pair_done;
    j->actor = actor_id;
    j->target = target_id;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}

typedef struct aud_job {
    mp_sql_job_t base;
    uint64_t user;
    uint64_t *ids, *out; /* allowed; excluded (split only) */
    size_t n, cap, n_out, cap_out;
    size_t n_allowed; /* split: the first n_allowed of ids */
    bool split;
    mp_store_ids_fn cb;
    mp_store_split_fn split_cb;
    void *ud;
} aud_job_t;

static void ids_add(uint64_t **v, size_t *n, size_t *cap, uint64_t id)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *v = mp_realloc(*v, *cap * sizeof **v);
    }
    (*v)[(*n)++] = id;
}

static const char SQL_PRESENCE_SETTING[] = "SELECT priv_presence FROM users WHERE id = ?1";
/* The peers of store/chat.h (mp_store_chat_peers), each with whether ?1
 * blocked them and, only for the setting "contacts" (?3 = 1), whether they
 * are friends (integer branches, as in SQL_DIRECT_PRIV). */
static const char SQL_AUDIENCE[] =
    "SELECT DISTINCT m2.user_id,"
    " EXISTS(SELECT 1 FROM blocks b WHERE b.user_id = ?1 AND b.blocked_id = m2.user_id),"
    " CASE WHEN ?3 = 1 THEN CASE WHEN EXISTS(SELECT 1 FROM contacts k WHERE k.user_id = ?1"
    " AND k.peer_id = m2.user_id AND k.state = 3) THEN 1 ELSE 0 END ELSE 0 "
    "END" MP_SQLITE_PEERS_FROM;

static mp_err_t aud_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    aud_job_t *j = (aud_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_PRESENCE_SETTING);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE) /* a swept guest: nobody to tell */
        return MP_OK;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    mp_privacy_t setting = mp_privacy_from_int(mp_sql_col_i64(s, 0));
    mp_sql_reset(s);
    if (setting == MP_PRIV_NOBODY && !j->split)
        return MP_OK;
    if ((s = mp_sql_prepare(db, SQL_AUDIENCE)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    mp_sql_bind_i64(s, 2, MP_CHAT_PRESENCE_GROUP_MAX);
    mp_sql_bind_i64(s, 3, setting);
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        /* The viewer is the actor, j->user the target whose presence it is. */
        mp_privacy_facts_t f = {.target_blocked_actor = mp_sql_col_int(s, 1) != 0,
                                .setting = setting,
                                .friends = mp_sql_col_int(s, 2) != 0};
        if (mp_privacy_rule(MP_PRIVACY_PRESENCE, &f) == MP_PRIVACY_ALLOWED)
            ids_add(&j->ids, &j->n, &j->cap, col_u64(s, 0));
        else if (j->split)
            ids_add(&j->out, &j->n_out, &j->cap_out, col_u64(s, 0));
    }
    if (rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    size_t n_allowed = j->n;
    for (size_t i = 0; i < j->n_out; i++)
        ids_add(&j->ids, &j->n, &j->cap, j->out[i]);
    j->n_allowed = n_allowed;
    return MP_OK;
}

static void aud_done(mp_sql_job_t *job, mp_err_t rc)
{
    aud_job_t *j = (aud_job_t *)job;
    if (j->split)
        j->split_cb(rc, j->ids, rc == MP_OK ? j->n : 0, rc == MP_OK ? j->n_allowed : 0, j->ud);
    else
        j->cb(rc, j->ids, rc == MP_OK ? j->n : 0, j->ud);
    mp_free(j->ids);
    mp_free(j->out);
    mp_free(j);
}

mp_err_t mp_store_presence_split(mp_store_t *st, uint64_t user_id, mp_store_split_fn cb, void *ud)
{
    aud_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = aud_run;
    j->base.done = aud_done;
    j->user = user_id;
    j->split = true;
    j->split_cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}

mp_err_t mp_store_presence_audience(mp_store_t *st, uint64_t user_id, mp_store_ids_fn cb, void *ud)
{
    aud_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = aud_run;
    j->base.done = aud_done;
    j->user = user_id;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}
