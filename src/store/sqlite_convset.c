/* SQLite implementation of the user's own conversation settings
 * (mp_store_conv_settings, store/messages.h): mute, pin to the top, archive,
 * clear history, delete a direct conversation for oneself.
 *
 * They live in the user's member row. A change takes the next global version
 * into members.self_version only: the member row's own version (which sync
 * sends to every member as a receipt) and the conversation's version stay,
 * so other members see nothing of it; sync finds it by self_version. */
#include <string.h>

#include "store/messages.h"
#include "store/sqlite_chat_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"

typedef struct convset_job {
    mp_sql_job_t base;
    uint64_t user, conv;
    mp_convset_in_t in;
    int64_t now;
    mp_conv_kind_t kind;
    mp_conv_settings_t set;
    int64_t read_seq, delivered_seq, last_seq;
    int64_t version; /* 0: nothing changed */
    mp_convset_fn cb;
    void *ud;
} convset_job_t;

static const char SQL_SETTINGS_GET[] =
    "SELECT m.notify_until, m.pinned_at, m.archived, m.cleared_seq, m.hidden, m.read_seq,"
    " m.delivered_seq, c.last_seq FROM members m JOIN conversations c ON c.id = m.conversation_id"
    " WHERE m.conversation_id = ?1 AND m.user_id = ?2";
static const char SQL_PINNED_COUNT[] =
    "SELECT count(*) FROM members WHERE user_id = ?1 AND pinned_at > 0";
static const char SQL_SETTINGS_SET[] =
    "UPDATE members SET notify_until = ?3, pinned_at = ?4, archived = ?5, cleared_seq = ?6,"
    " hidden = ?7, read_seq = ?8, delivered_seq = ?9, self_version = ?10"
    " WHERE conversation_id = ?1 AND user_id = ?2";

static mp_err_t convset_load(mp_sql_conn_t *db, convset_job_t *j)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SETTINGS_GET);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    bind_u64(s, 2, j->user);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_DONE)
        return MP_ERR_NOT_MEMBER;
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    j->read_seq = mp_sql_col_i64(s, 5);
    j->delivered_seq = mp_sql_col_i64(s, 6);
    j->last_seq = mp_sql_col_i64(s, 7);
    mp_sqlite__settings_read(s, 0, j->last_seq, &j->set);
    mp_sql_reset(s);
    return MP_OK;
}

/* Pinning one more conversation: at most MP_CHAT_PINNED_CONVS_MAX. */
static mp_err_t convset_pin_room(mp_sql_conn_t *db, convset_job_t *j)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_PINNED_COUNT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->user);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return mp_sql_err(db, rc);
    int64_t n = mp_sql_col_i64(s, 0);
    mp_sql_reset(s);
    return n >= MP_CHAT_PINNED_CONVS_MAX ? MP_ERR_LIMIT_REACHED : MP_OK;
}

/* Applies the asked changes to j->set (and the cursors, for a clear). */
static mp_err_t convset_apply(mp_sql_conn_t *db, convset_job_t *j)
{
    const mp_convset_in_t *in = &j->in;
    mp_conv_settings_t *set = &j->set;
    if (in->what & MP_CONVSET_MUTE)
        set->muted_until = in->muted_until;
    if ((in->what & MP_CONVSET_PIN) && in->pinned != (set->pinned_at != 0)) {
        if (in->pinned) {
            mp_err_t rc = convset_pin_room(db, j);
            if (rc != MP_OK)
                return rc;
        }
        set->pinned_at = in->pinned ? j->now : 0;
    }
    if (in->what & MP_CONVSET_ARCHIVE)
        set->archived = in->archived;
    if (in->what & (MP_CONVSET_CLEAR | MP_CONVSET_DELETE)) {
        set->cleared_seq = j->last_seq;
        if (j->read_seq < j->last_seq)
            j->read_seq = j->last_seq;
        if (j->delivered_seq < j->read_seq)
            j->delivered_seq = j->read_seq;
    }
    if (in->what & MP_CONVSET_DELETE)
        set->deleted = true;
    return MP_OK;
}

static mp_err_t convset_store(mp_sql_conn_t *db, convset_job_t *j)
{
    mp_err_t rc = mp_sqlite__next_version(db, &j->version);
    if (rc != MP_OK)
        return rc;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SETTINGS_SET);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->conv);
    bind_u64(s, 2, j->user);
    mp_sql_bind_i64(s, 3, j->set.muted_until);
    mp_sql_bind_i64(s, 4, j->set.pinned_at);
    mp_sql_bind_i64(s, 5, j->set.archived);
    mp_sql_bind_i64(s, 6, j->set.cleared_seq);
    mp_sql_bind_i64(s, 7, j->set.deleted);
    mp_sql_bind_i64(s, 8, j->read_seq);
    mp_sql_bind_i64(s, 9, j->delivered_seq);
    mp_sql_bind_i64(s, 10, j->version);
    return step_done(db, s);
}

static bool settings_equal(const mp_conv_settings_t *a, const mp_conv_settings_t *b)
{
    return a->muted_until == b->muted_until && a->pinned_at == b->pinned_at &&
           a->archived == b->archived && a->cleared_seq == b->cleared_seq &&
           a->deleted == b->deleted;
}

static mp_err_t convset_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    convset_job_t *j = (convset_job_t *)job;
    mp_err_t rc = mp_sqlite__chat_access(db, j->user, j->conv, &j->kind);
    if (rc != MP_OK)
        return rc;
    if (j->kind == MP_CONV_WORLD)
        return MP_ERR_BAD_REQUEST; /* no member row to keep settings in */
    if ((j->in.what & MP_CONVSET_DELETE) && j->kind != MP_CONV_DIRECT)
        return MP_ERR_BAD_REQUEST; /* a group is left, not deleted */
    if ((rc = convset_load(db, j)) != MP_OK)
        return rc;
    mp_conv_settings_t before = j->set;
    int64_t read = j->read_seq;
    if ((rc = convset_apply(db, j)) != MP_OK)
        return rc;
    if (settings_equal(&before, &j->set) && read == j->read_seq)
        return MP_OK;
    return convset_store(db, j);
}

static void convset_done(mp_sql_job_t *job, mp_err_t rc)
{
    convset_job_t *j = (convset_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->set : NULL, rc == MP_OK ? j->version : 0, j->ud);
    mp_free(j);
}

mp_err_t mp_store_conv_settings(mp_store_t *st, uint64_t user_id, uint64_t conversation_id,
                                const mp_convset_in_t *in, int64_t now_ms, mp_convset_fn cb,
                                void *ud)
{
    convset_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = convset_run;
    j->base.done = convset_done;
    j->user = user_id;
    j->conv = conversation_id;
    j->in = *in;
    j->now = now_ms;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}
