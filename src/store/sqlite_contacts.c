/* SQLite implementation of contacts (store/contacts.h) and of their part of
 * sync (sqlite_contacts_int.h).
 *
 * One write job per change: it reads both sides and the block between the
 * two users in its own transaction, decides the new states, and stamps the
 * rows it changes with the next global change version. */
#include <stdio.h>
#include <string.h>

#include "store/contacts.h"
#include "store/sqlite_contacts_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"

_Static_assert(MP_CONTACT_USERNAME_BYTES == MP_USERNAME_MAX, "contact username size");
_Static_assert(MP_CONTACT_NAME_BYTES == MP_DISPLAY_NAME_MAX, "contact display name size");

static void copy_text(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* A username as stored (ASCII lower case, as account creation stores it). */
static void lower_copy(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src != NULL && src[i] != '\0' && i + 1 < cap; i++)
        dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] - 'A' + 'a') : src[i];
    dst[i] = '\0';
}

/* Entry columns: the row and the peer's names. A peer without a user row
 * cannot occur (the rows cascade), but reads stay total. */
#define ENTRY_COLS                                                                                 \
    "c.user_id, c.peer_id, COALESCE(u.username, ''), COALESCE(u.display_name, ''), c.state,"       \
    " c.message, c.created_at, c.updated_at, c.version"

static void entry_read(mp_sql_stmt_t *s, mp_contact_t *c)
{
    memset(c, 0, sizeof *c);
    c->user_id = col_u64(s, 0);
    c->peer_id = col_u64(s, 1);
    copy_text(c->username, sizeof c->username, mp_sql_col_text(s, 2));
    copy_text(c->display_name, sizeof c->display_name, mp_sql_col_text(s, 3));
    int st = mp_sql_col_int(s, 4);
    c->state = st >= MP_CONTACT_NONE && st <= MP_CONTACT_FRIENDS ? (mp_contact_state_t)st
                                                                 : MP_CONTACT_NONE;
    /* An ended relation shows no message, whoever ended it (a block's job
     * may leave the text on the row). */
    if (c->state != MP_CONTACT_NONE)
        copy_text(c->message, sizeof c->message, mp_sql_col_text(s, 5));
    c->created_at = mp_sql_col_i64(s, 6);
    c->updated_at = mp_sql_col_i64(s, 7);
    c->version = mp_sql_col_i64(s, 8);
}

/* ---- change (writer) ------------------------------------------------------------------ */

typedef struct change_job {
    mp_sql_job_t base;
    mp_contact_op_t op;
    uint64_t user, peer;
    int64_t now;
    char username[MP_USERNAME_MAX + 1]; /* the peer's, when peer is 0 */
    char message[MP_CONTACT_MESSAGE_BYTES + 1];
    mp_contact_change_t out;
    mp_contact_change_fn cb;
    void *ud;
} change_job_t;

/* What a side looks like before the change (absent: state none). */
typedef struct side {
    bool exists;
    mp_contact_state_t state;
} side_t;

typedef struct person {
    uint64_t id;
    char username[MP_USERNAME_MAX + 1];
    char display_name[MP_DISPLAY_NAME_MAX + 1];
    bool guest, gone; /* gone: deleted, or waiting for e-mail verification */
} person_t;

#define PERSON_COLS "id, username, display_name, guest, deleted_at <> 0 OR pending <> 0"
static const char SQL_PERSON_ID[] = "SELECT " PERSON_COLS " FROM users WHERE id = ?1";
/* The lookup ignores case, as logins do: the name is bound in lower case
 * (lower_copy), as usernames are stored. SQLite's COLLATE NOCASE would
 * ignore it anyway; PostgreSQL compares bytes. */
static const char SQL_PERSON_NAME[] = "SELECT " PERSON_COLS " FROM users WHERE username = ?1";

static mp_err_t person_load(mp_sql_conn_t *db, uint64_t id, const char *name, person_t *p)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, id != 0 ? SQL_PERSON_ID : SQL_PERSON_NAME);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    if (id != 0)
        bind_u64(s, 1, id);
    else
        mp_sql_bind_text(s, 1, name, -1);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return rc == MP_SQL_DONE ? MP_ERR_NOT_FOUND : mp_sql_err(db, rc);
    p->id = col_u64(s, 0);
    copy_text(p->username, sizeof p->username, mp_sql_col_text(s, 1));
    copy_text(p->display_name, sizeof p->display_name, mp_sql_col_text(s, 2));
    p->guest = mp_sql_col_int(s, 3) != 0;
    p->gone = mp_sql_col_int(s, 4) != 0;
    mp_sql_reset(s);
    return MP_OK;
}

static const char SQL_SIDE[] = "SELECT state FROM contacts WHERE user_id = ?1 AND peer_id = ?2";

static mp_err_t side_load(mp_sql_conn_t *db, uint64_t user, uint64_t peer, side_t *out)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SIDE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    bind_u64(s, 2, peer);
    int rc = mp_sql_step(s);
    *out = (side_t){0};
    if (rc == MP_SQL_DONE)
        return MP_OK;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    out->exists = true;
    int st = mp_sql_col_int(s, 0);
    out->state = st >= MP_CONTACT_NONE && st <= MP_CONTACT_FRIENDS ? (mp_contact_state_t)st
                                                                   : MP_CONTACT_NONE;
    mp_sql_reset(s);
    return MP_OK;
}

static const char SQL_BLOCKED[] =
    "SELECT EXISTS(SELECT 1 FROM blocks WHERE user_id = ?1 AND blocked_id = ?2)";

/* Whether user blocked peer. */
static mp_err_t blocked(mp_sql_conn_t *db, uint64_t user, uint64_t peer, bool *out)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_BLOCKED);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    bind_u64(s, 2, peer);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    *out = mp_sql_col_int(s, 0) != 0;
    mp_sql_reset(s);
    return MP_OK;
}

/* The decision: the new state of each side (-1: that side stays as it is). */
typedef struct plan {
    int mine, theirs;
} plan_t;

#define KEEP (-1)

/* The side of the other user goes to none with ours, if it is not already. */
static int to_none(side_t t)
{
    return t.state != MP_CONTACT_NONE ? MP_CONTACT_NONE : KEEP;
}

/* The transition of op from the two sides (is_blocked: the peer blocked the
 * actor). MP_ERR_NOT_FOUND when op does not apply to the actor's state. */
static mp_err_t plan_op(mp_contact_op_t op, side_t m, side_t t, bool is_blocked, plan_t *p)
{
    *p = (plan_t){KEEP, KEEP};
    mp_contact_state_t from = m.state;
    switch (op) {
    case MP_CONTACT_OP_REQUEST:
        if (from == MP_CONTACT_OUTGOING || from == MP_CONTACT_FRIENDS)
            return MP_OK; /* a repeat */
        /* The peer asked first (their side outgoing, also when it never
         * reached us because we had blocked them): it is an accept. */
        if (from == MP_CONTACT_INCOMING || t.state == MP_CONTACT_OUTGOING) {
            *p = (plan_t){MP_CONTACT_FRIENDS, MP_CONTACT_FRIENDS};
            return MP_OK;
        }
        *p = (plan_t){MP_CONTACT_OUTGOING, is_blocked ? KEEP : MP_CONTACT_INCOMING};
        return MP_OK;
    case MP_CONTACT_OP_ACCEPT:
        if (from == MP_CONTACT_FRIENDS)
            return MP_OK;
        if (from != MP_CONTACT_INCOMING)
            return MP_ERR_NOT_FOUND;
        *p = (plan_t){MP_CONTACT_FRIENDS, MP_CONTACT_FRIENDS};
        return MP_OK;
    case MP_CONTACT_OP_DECLINE:
    case MP_CONTACT_OP_CANCEL:
    case MP_CONTACT_OP_REMOVE: {
        mp_contact_state_t need = op == MP_CONTACT_OP_DECLINE  ? MP_CONTACT_INCOMING
                                  : op == MP_CONTACT_OP_CANCEL ? MP_CONTACT_OUTGOING
                                                               : MP_CONTACT_FRIENDS;
        if (from == MP_CONTACT_NONE)
            return MP_OK;
        if (from != need)
            return MP_ERR_NOT_FOUND;
        *p = (plan_t){MP_CONTACT_NONE, to_none(t)};
        return MP_OK;
    }
    }
    return MP_ERR_INTERNAL;
}

static const char SQL_SIDE_SET[] =
    "INSERT INTO contacts(user_id, peer_id, state, message, created_at, updated_at, version)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?5, ?6) ON CONFLICT(user_id, peer_id) DO UPDATE SET"
    " state = excluded.state,"
    " message = CASE WHEN excluded.state = 0 THEN '' WHEN ?7 = 1 THEN excluded.message"
    " ELSE contacts.message END,"
    " created_at = CASE WHEN contacts.state = 0 THEN excluded.created_at"
    " ELSE contacts.created_at END,"
    " updated_at = excluded.updated_at, version = excluded.version";

/* Writes a side's new state. The message is set when with_msg (a new
 * request), cleared with state none, kept otherwise (an accept); created_at
 * starts again when a relation starts from none. */
static mp_err_t side_set(mp_sql_conn_t *db, uint64_t user, uint64_t peer, int state,
                         const char *msg, bool with_msg, int64_t now, int64_t v)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SIDE_SET);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    bind_u64(s, 2, peer);
    mp_sql_bind_i64(s, 3, state);
    mp_sql_bind_text(s, 4, with_msg && state != MP_CONTACT_NONE ? msg : "", -1);
    mp_sql_bind_i64(s, 5, now);
    mp_sql_bind_i64(s, 6, v);
    mp_sql_bind_i64(s, 7, with_msg ? 1 : 0);
    return step_done(db, s);
}

static const char SQL_ENTRY[] = "SELECT " ENTRY_COLS " FROM contacts c"
                                " LEFT JOIN users u ON u.id = c.peer_id"
                                " WHERE c.user_id = ?1 AND c.peer_id = ?2";

/* The entry of user towards peer as stored now; a side without a row reads
 * as state none with the peer's names. */
static mp_err_t entry_load(mp_sql_conn_t *db, uint64_t user, const person_t *peer,
                           mp_contact_t *out)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_ENTRY);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    bind_u64(s, 2, peer->id);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_ROW) {
        entry_read(s, out);
        mp_sql_reset(s);
        return MP_OK;
    }
    if (rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    memset(out, 0, sizeof *out);
    out->user_id = user;
    out->peer_id = peer->id;
    copy_text(out->username, sizeof out->username, peer->username);
    copy_text(out->display_name, sizeof out->display_name, peer->display_name);
    return MP_OK;
}

/* Resolves and checks the peer for op. */
static mp_err_t peer_check(mp_sql_conn_t *db, change_job_t *j, person_t *peer)
{
    mp_err_t rc = person_load(db, j->peer, j->username, peer);
    if (rc != MP_OK)
        return rc;
    if (peer->id == j->user)
        return MP_ERR_BAD_REQUEST;
    if (j->op != MP_CONTACT_OP_REQUEST)
        return MP_OK; /* only rows decide; a guest or deleted peer has none */
    if (peer->gone)
        return MP_ERR_NOT_FOUND;
    return peer->guest ? MP_ERR_GUEST_FORBIDDEN : MP_OK;
}

static mp_err_t change_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    change_job_t *j = (change_job_t *)job;
    person_t peer = {0}, me = {0};
    side_t m, t;
    bool is_blocked = false;
    mp_err_t rc = peer_check(db, j, &peer);
    if (rc == MP_OK)
        rc = person_load(db, j->user, NULL, &me);
    if (rc == MP_OK)
        rc = side_load(db, j->user, peer.id, &m);
    if (rc == MP_OK)
        rc = side_load(db, peer.id, j->user, &t);
    if (rc == MP_OK && j->op == MP_CONTACT_OP_REQUEST)
        rc = blocked(db, peer.id, j->user, &is_blocked);
    plan_t p;
    if (rc == MP_OK)
        rc = plan_op(j->op, m, t, is_blocked, &p);
    if (rc != MP_OK)
        return rc;
    bool with_msg = j->op == MP_CONTACT_OP_REQUEST && p.mine == MP_CONTACT_OUTGOING;
    if (p.mine != KEEP || p.theirs != KEEP) {
        int64_t v;
        if ((rc = mp_sqlite__next_version(db, &v)) != MP_OK)
            return rc;
        if (p.mine != KEEP &&
            (rc = side_set(db, j->user, peer.id, p.mine, j->message, with_msg, j->now, v)) != MP_OK)
            return rc;
        if (p.theirs != KEEP && (rc = side_set(db, peer.id, j->user, p.theirs, j->message, with_msg,
                                               j->now, v)) != MP_OK)
            return rc;
    }
    j->out.changed = p.mine != KEEP;
    j->out.delivered = p.theirs != KEEP;
    if ((rc = entry_load(db, j->user, &peer, &j->out.mine)) != MP_OK)
        return rc;
    return entry_load(db, peer.id, &me, &j->out.theirs);
}

mp_err_t mp_sqlite__contacts_end(mp_sql_conn_t *db, uint64_t a, uint64_t b, int64_t now, int64_t *v,
                                 mp_contact_t *side_a, bool *changed_a, mp_contact_t *side_b,
                                 bool *changed_b)
{
    side_t sa, sb;
    mp_err_t rc = side_load(db, a, b, &sa);
    if (rc == MP_OK)
        rc = side_load(db, b, a, &sb);
    if (rc != MP_OK)
        return rc;
    *changed_a = sa.state != MP_CONTACT_NONE;
    *changed_b = sb.state != MP_CONTACT_NONE;
    if ((*changed_a || *changed_b) && *v == 0 && (rc = mp_sqlite__next_version(db, v)) != MP_OK)
        return rc;
    if (*changed_a && (rc = side_set(db, a, b, MP_CONTACT_NONE, "", false, now, *v)) != MP_OK)
        return rc;
    if (*changed_b && (rc = side_set(db, b, a, MP_CONTACT_NONE, "", false, now, *v)) != MP_OK)
        return rc;
    person_t pa = {0}, pb = {0};
    if (side_b != NULL && (rc = person_load(db, a, NULL, &pa)) != MP_OK)
        return rc;
    if (side_a != NULL && (rc = person_load(db, b, NULL, &pb)) != MP_OK)
        return rc;
    if (side_a != NULL && (rc = entry_load(db, a, &pb, side_a)) != MP_OK)
        return rc;
    return side_b != NULL ? entry_load(db, b, &pa, side_b) : MP_OK;
}

static void change_done(mp_sql_job_t *job, mp_err_t rc)
{
    change_job_t *j = (change_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->out : NULL, j->ud);
    mp_free(j);
}

mp_err_t mp_store_contact_change(mp_store_t *st, mp_contact_op_t op, uint64_t user_id,
                                 uint64_t peer_id, const char *peer_username, const char *message,
                                 int64_t now_ms, mp_contact_change_fn cb, void *ud)
{
    change_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = change_run;
    j->base.done = change_done;
    j->op = op;
    j->user = user_id;
    j->peer = peer_id;
    if (peer_id == 0)
        lower_copy(j->username, sizeof j->username, peer_username);
    copy_text(j->message, sizeof j->message, message);
    j->now = now_ms;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}

/* ---- list (read) ------------------------------------------------------------------------ */

typedef struct list_job {
    mp_sql_job_t base;
    uint64_t user, after_peer;
    mp_contact_state_t state;
    int64_t after_updated;
    unsigned limit;
    mp_contact_t *rows;
    size_t n;
    bool has_more;
    mp_contact_page_fn cb;
    void *ud;
} list_job_t;

/* The index contacts_list (user_id, state, updated_at) serves it. */
static const char SQL_LIST[] = "SELECT " ENTRY_COLS " FROM contacts c"
                               " LEFT JOIN users u ON u.id = c.peer_id"
                               " WHERE c.user_id = ?1 AND c.state = ?2 AND (c.updated_at < ?3"
                               " OR (c.updated_at = ?3 AND c.peer_id < ?4))"
                               " ORDER BY c.updated_at DESC, c.peer_id DESC LIMIT ?5";

static mp_err_t list_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    list_job_t *j = (list_job_t *)job;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_LIST);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    mp_sql_bind_i64(s, 2, j->state);
    mp_sql_bind_i64(s, 3, j->after_updated);
    bind_u64(s, 4, j->after_peer);
    mp_sql_bind_i64(s, 5, (int64_t)j->limit + 1);
    j->rows = mp_calloc(j->limit + 1, sizeof *j->rows);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW)
        entry_read(s, &j->rows[j->n++]);
    if (rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    if (j->n > j->limit) {
        j->has_more = true;
        j->n = j->limit;
    }
    return MP_OK;
}

static void list_done(mp_sql_job_t *job, mp_err_t rc)
{
    list_job_t *j = (list_job_t *)job;
    mp_contact_page_t page = {.v = j->rows, .n = j->n, .has_more = j->has_more};
    j->cb(rc, rc == MP_OK ? &page : NULL, j->ud);
    mp_free(j->rows);
    mp_free(j);
}

mp_err_t mp_store_contact_list(mp_store_t *st, uint64_t user_id, mp_contact_state_t state,
                               int64_t after_updated, uint64_t after_peer, unsigned limit,
                               mp_contact_page_fn cb, void *ud)
{
    list_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = list_run;
    j->base.done = list_done;
    j->user = user_id;
    j->state = state;
    /* A peer id is an INTEGER in SQLite: above INT64_MAX it would compare
     * as negative, and every real id is below it. */
    j->after_updated = after_updated;
    j->after_peer = after_peer > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : after_peer;
    j->limit = limit < 1 ? 1 : limit > MP_CONTACT_LIST_MAX ? MP_CONTACT_LIST_MAX : limit;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}

/* ---- sync (in the sync's read job) ------------------------------------------------------ */

/* The index contacts_version (user_id, version) serves it. */
static const char SQL_SINCE[] = "SELECT " ENTRY_COLS " FROM contacts c"
                                " LEFT JOIN users u ON u.id = c.peer_id"
                                " WHERE c.user_id = ?1 AND c.version > ?2"
                                " ORDER BY c.version LIMIT ?3";

mp_err_t mp_sqlite__contacts_since(mp_sql_conn_t *db, uint64_t user, int64_t since, size_t max,
                                   mp_contact_t **rows, size_t *n, int64_t *ceiling)
{
    *rows = NULL;
    *n = 0;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SINCE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    mp_sql_bind_i64(s, 2, since);
    mp_sql_bind_i64(s, 3, (int64_t)max + 1);
    mp_contact_t *v = mp_calloc(max + 1, sizeof *v);
    size_t k = 0;
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW && mp_sql_col_i64(s, 8) <= *ceiling)
        entry_read(s, &v[k++]);
    mp_sql_reset(s);
    *rows = v;
    if (rc != MP_SQL_DONE && rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    if (k > max) {
        /* Everything below the version of the first entry left out was
         * read; that version itself may have more entries than were read.
         * One change writes at most one row of a user (the two rows of a
         * pair belong to two users), so versions differ between the
         * user's rows and at least max entries stay: a page always moves
         * on. */
        int64_t top = v[max].version - 1;
        if (top < *ceiling)
            *ceiling = top;
        while (k > 0 && v[k - 1].version > top)
            k--;
    }
    *n = k;
    return MP_OK;
}
