/* The search index of the SQLite backend: an FTS5 trigram index over the
 * messages, kept in a database file of its own (DIR/search.db) by a thread
 * of its own (sqlite.c, the indexer), so that its writes never share a
 * transaction, a write lock or a thread with the sends.
 *
 * Why a file of its own (migration_search.h has the history): FTS5 merges
 * its segments as the index grows, and a merge copies a term's whole list
 * of documents in one step. With trigrams a common term is in most
 * messages, so with millions of messages an indexer chunk now and then
 * writes tens of megabytes; in the database's own write transaction every
 * send waited for it, for seconds. Here only the indexer waits.
 *
 * search.db holds the index (a regular FTS5 table: it keeps the text it
 * indexed, so an entry is removed by rowid) and one row of state:
 *   - upto: every message that search may find (not system, not deleted for
 *     everyone) with id <= upto has its entry, none above it has one;
 *   - changes_upto: the last row of search_changes (in magpie.db) applied;
 *   - complete: whether the index is kept at all (search_index);
 *   - stamp, version: which database, and how far into its changes, the
 *     index was built from (a restored or copied magpie.db is caught at
 *     open and the index rebuilt).
 * Every message above upto is committed and stays where it is
 * (sqlite_chat_int.h), so the indexer takes the next ids in order. Edits
 * and deletes for everyone add a row to search_changes in their own
 * transaction; the indexer re-reads those messages and replaces their
 * entries. Search treats a message with a change not applied yet as not
 * indexed (sqlite_search.c).
 *
 * The indexer's connection is on magpie.db with search.db attached as
 * "search". A pass reads what to index in one read transaction of
 * magpie.db, then writes search.db in a transaction of its own: it holds no
 * snapshot of magpie.db while FTS5 merges, so the checkpointer can go on
 * resetting the WAL. */
#include <stdio.h>
#include <string.h>

#include "store/messages.h"
#include "store/sql_sqlite.h"
#include "store/sqlite_chat_int.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/log.h"

/* The index's table, created once and again when emptied. detail=none:
 * the index keeps which messages hold a trigram, not where, and
 * columnsize=0: nor how long each column is (nothing ranks by it). That
 * costs the indexer ~40 % less CPU per message and ~45 % of the file
 * (docs/performance.md, "An index without positions"); search checks each
 * candidate against the message instead (sqlite_search.c). */
#define SEARCH_FTS_ARGS                                                                            \
    "body, search_extra, conv_key, tokenize='trigram', detail=none, columnsize=0"
#define SEARCH_FTS "search.messages_fts USING fts5(" SEARCH_FTS_ARGS ");"

#define SEARCH_SCHEMA                                                                              \
    "CREATE VIRTUAL TABLE IF NOT EXISTS " SEARCH_FTS                                               \
    "CREATE TABLE IF NOT EXISTS search.state(id INTEGER PRIMARY KEY CHECK (id = 1),"               \
    " stamp TEXT NOT NULL, version INTEGER NOT NULL, complete INTEGER NOT NULL,"                   \
    " upto INTEGER NOT NULL, changes_upto INTEGER NOT NULL);"

/* An empty index, for a rebuild or for search_index = off. */
#define SEARCH_EMPTY "DROP TABLE search.messages_fts; CREATE VIRTUAL TABLE " SEARCH_FTS

/* magpie.db's side: its stamp, its change version, its last message and its
 * last change. */
static const char SQL_MAIN_STATE[] =
    "SELECT search_stamp, version, (SELECT coalesce(max(id), 0) FROM messages),"
    " (SELECT coalesce(max(seq), 0) FROM search_changes) FROM chat_state WHERE id = 1";
static const char SQL_STATE[] =
    "SELECT stamp, version, complete, upto, changes_upto FROM search.state WHERE id = 1";
static const char SQL_STATE_PUT[] =
    "INSERT OR REPLACE INTO search.state(id, stamp, version, complete, upto, changes_upto)"
    " VALUES(1, ?1, ?2, ?3, 0, ?4)";

/* Ends the transaction the caller began: COMMIT after rc == MP_OK, else
 * ROLLBACK. */
static mp_err_t txn_end(mp_sql_conn_t *db, mp_err_t rc)
{
    mp_sql_reset_all(db);
    if (rc == MP_OK && !mp_sql_commit(db))
        rc = MP_ERR_INTERNAL;
    if (rc != MP_OK && mp_sql_in_txn(db))
        mp_sql_rollback(db);
    return rc;
}

mp_err_t mp_sqlite__search_attach(mp_sql_conn_t *db, const char *path)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, "ATTACH DATABASE ?1 AS search");
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_text(s, 1, path, -1);
    mp_err_t rc = step_done(db, s);
    mp_sql_reset(s);
    return rc;
}

typedef struct main_state {
    char stamp[64];
    int64_t version;
    uint64_t max_id, max_change;
} main_state_t;

static mp_err_t main_state_read(mp_sql_conn_t *db, main_state_t *m)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_MAIN_STATE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW) {
        mp_sql_reset(s);
        return rc == MP_SQL_DONE ? MP_ERR_INTERNAL : mp_sql_err(db, rc);
    }
    const char *stamp = mp_sql_col_text(s, 0);
    snprintf(m->stamp, sizeof m->stamp, "%s", stamp ? stamp : "");
    m->version = mp_sql_col_i64(s, 1);
    m->max_id = col_u64(s, 2);
    m->max_change = col_u64(s, 3);
    mp_sql_reset(s);
    return MP_OK;
}

/* Whether search.db's state belongs to magpie.db as it is now: built for
 * its stamp, and not from changes it does not have (a restored backup is
 * older than the index). *found: there is a state row; *complete its flag. */
static mp_err_t state_belongs(mp_sql_conn_t *db, const main_state_t *m, bool *found, bool *complete,
                              bool *belongs)
{
    *found = *complete = *belongs = false;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_STATE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_ROW) {
        const char *stamp = mp_sql_col_text(s, 0);
        *found = true;
        *complete = mp_sql_col_int(s, 2) != 0;
        *belongs = stamp != NULL && strcmp(stamp, m->stamp) == 0 &&
                   mp_sql_col_i64(s, 1) <= m->version && col_u64(s, 3) <= m->max_id;
    }
    mp_sql_reset(s);
    return rc == MP_SQL_ROW || rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

/* An empty index that starts from the first message; changes made so far
 * are in the messages it will read. */
static mp_err_t state_reset(mp_sql_conn_t *db, const main_state_t *m, bool complete)
{
    mp_err_t rc = mp_sql_exec(db, SEARCH_EMPTY);
    if (rc != MP_OK)
        return rc;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_STATE_PUT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    mp_sql_bind_text(s, 1, m->stamp, -1);
    mp_sql_bind_i64(s, 2, m->version);
    mp_sql_bind_i64(s, 3, complete);
    bind_u64(s, 4, m->max_change);
    return step_done(db, s);
}

/* Whether the index's table is of today's format (SEARCH_FTS): one made by
 * an older release (with positions) is emptied and filled again. */
static mp_err_t format_current(mp_sql_conn_t *db, bool *current)
{
    mp_sql_stmt_t *s =
        mp_sql_prepare(db, "SELECT sql FROM search.sqlite_master WHERE name = 'messages_fts'");
    if (s == NULL)
        return MP_ERR_INTERNAL;
    int rc = mp_sql_step(s);
    const char *sql = rc == MP_SQL_ROW ? mp_sql_col_text(s, 0) : NULL;
    *current = sql != NULL && strstr(sql, SEARCH_FTS_ARGS) != NULL;
    mp_sql_reset(s);
    return rc == MP_SQL_ROW || rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static mp_err_t prepare_txn(mp_sql_conn_t *db)
{
    mp_err_t rc = mp_sql_exec(db, SEARCH_SCHEMA);
    main_state_t m;
    if (rc == MP_OK)
        rc = main_state_read(db, &m);
    bool found = false, complete = false, belongs = false, current = false;
    if (rc == MP_OK)
        rc = state_belongs(db, &m, &found, &complete, &belongs);
    if (rc == MP_OK)
        rc = format_current(db, &current);
    if (rc != MP_OK || (belongs && current))
        return rc;
    if (found && belongs)
        mp_log_info("store: search.db holds an index of an older format: "
                    "rebuilding the search index in the background");
    else if (found)
        mp_log_info("store: search.db was built from another copy of the database: "
                    "rebuilding the search index in the background");
    else
        mp_log_info("store: building the search index in search.db in the background");
    return state_reset(db, &m, found ? complete : true);
}

int mp_sqlite__search_prepare(mp_sql_conn_t *db, const char *path, char *err, size_t errlen)
{
    sqlite3 *raw = mp_sql_sqlite_db(db);
    mp_err_t rc = mp_sqlite__search_attach(db, path);
    /* The index is derived data: a power cut may lose its last passes
     * (NORMAL still never corrupts it in WAL mode), which the indexer then
     * does again, so its commits need no fsync. SQLite's default page
     * caches (2 MiB each): a merge reads and writes each page once (its
     * dirty pages may go to the WAL before the commit), and this
     * connection only reads magpie.db, so the writer's large cache would
     * only add to the server's memory. A merge's WAL (one transaction,
     * tens of MiB) is cut back after the next checkpoint. */
    if (rc == MP_OK &&
        sqlite3_exec(raw,
                     "PRAGMA search.journal_mode=WAL; PRAGMA search.synchronous=NORMAL;"
                     " PRAGMA search.journal_size_limit=67108864;"
                     " PRAGMA main.cache_size=-2048; PRAGMA search.cache_size=-2048",
                     NULL, NULL, NULL) != SQLITE_OK)
        rc = MP_ERR_INTERNAL;
    if (rc == MP_OK && !mp_sql_begin(db, false))
        rc = MP_ERR_INTERNAL;
    if (rc == MP_OK)
        rc = txn_end(db, prepare_txn(db));
    if (rc != MP_OK)
        snprintf(err, errlen, "cannot open the search index %s: %s", path, sqlite3_errmsg(raw));
    return rc == MP_OK ? 0 : -1;
}

mp_err_t mp_sqlite__search_changed(mp_sql_conn_t *db, uint64_t id)
{
    if (mp_sql_is_pg(db))
        return MP_OK;
    mp_sql_stmt_t *s = mp_sql_prepare(db, "INSERT INTO search_changes(message_id) VALUES(?1)");
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, id);
    return step_done(db, s);
}

mp_err_t mp_sqlite__search_trim(mp_sql_conn_t *db, uint64_t upto)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, "DELETE FROM search_changes WHERE seq <= ?1");
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, upto);
    return step_done(db, s);
}

/* ---- the indexer's pass ---------------------------------------------------------- */

/* One message to put in or take out. */
typedef struct entry {
    uint64_t id;
    bool del;      /* take the old entry out first (a change) */
    bool add;      /* put the text below in */
    uint64_t conv; /* its conversation, the index's conv_key */
    char *body, *extra;
} entry_t;

typedef struct pass {
    entry_t *v;
    size_t n, cap;
    uint64_t upto0, changes0;    /* the state as read */
    uint64_t upto, changes_upto; /* moved by the work read */
    int64_t version;
    size_t bytes, max_bytes; /* text read so far, and where reading stops */
} pass_t;

static void pass_free(pass_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        mp_free(p->v[i].body);
        mp_free(p->v[i].extra);
    }
    mp_free(p->v);
}

static entry_t *pass_push(pass_t *p, uint64_t id, bool del)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        p->v = mp_realloc(p->v, p->cap * sizeof *p->v);
    }
    entry_t *e = &p->v[p->n++];
    *e = (entry_t){.id = id, .del = del};
    return e;
}

/* s: (kind, body, search_extra, deleted_at, conversation_id) of message e->id. What
 * search may find is indexed: no system messages, no tombstones. */
static void entry_text(pass_t *p, entry_t *e, mp_sql_stmt_t *s, int col)
{
    const char *kind = mp_sql_col_text(s, col);
    if (kind == NULL || strcmp(kind, "system") == 0 || mp_sql_col_i64(s, col + 3) != 0)
        return;
    e->add = true;
    e->body = col_dup(s, col + 1);
    e->extra = mp_sql_col_is_null(s, col + 2) ? NULL : col_dup(s, col + 2);
    e->conv = col_u64(s, col + 4);
    p->bytes += strlen(e->body) + (e->extra != NULL ? strlen(e->extra) : 0);
}

/* Whether the pass holds all the text it may: a pass of long messages
 * stops early (and says it is full), so its memory stays bounded. */
static bool pass_full(const pass_t *p)
{
    return p->bytes >= p->max_bytes;
}

static const char SQL_CHANGES[] =
    "SELECT seq, message_id FROM search_changes WHERE seq > ?1 ORDER BY seq LIMIT ?2";
static const char SQL_ONE[] =
    "SELECT kind, body, search_extra, deleted_at, conversation_id FROM messages WHERE id = ?1";
static const char SQL_NEXT[] = "SELECT id, kind, body, search_extra, deleted_at, conversation_id"
                               " FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2";

/* The changes after changes_upto, each message as it is now. A change above
 * upto needs nothing: the message is indexed as it is when reached. */
static mp_err_t read_changes(mp_sql_conn_t *db, pass_t *p, size_t max, size_t *n)
{
    mp_sql_stmt_t *c = mp_sql_prepare(db, SQL_CHANGES);
    if (c == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(c, 1, p->changes_upto);
    mp_sql_bind_i64(c, 2, (int64_t)max);
    mp_err_t e = MP_OK;
    int rc = MP_SQL_DONE;
    *n = 0;
    while (!pass_full(p) && (rc = mp_sql_step(c)) == MP_SQL_ROW) {
        (*n)++;
        p->changes_upto = col_u64(c, 0);
        uint64_t id = col_u64(c, 1);
        if (id > p->upto)
            continue;
        entry_t *en = pass_push(p, id, true);
        mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_ONE);
        if (s == NULL) {
            e = MP_ERR_INTERNAL;
            break;
        }
        bind_u64(s, 1, id);
        int r1 = mp_sql_step(s);
        if (r1 == MP_SQL_ROW)
            entry_text(p, en, s, 0);
        mp_sql_reset(s);
        if (r1 != MP_SQL_ROW && r1 != MP_SQL_DONE) {
            e = mp_sql_err(db, r1);
            break;
        }
    }
    mp_sql_reset(c);
    if (e != MP_OK)
        return e;
    return rc == MP_SQL_ROW || rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

/* The next max messages above upto, in id order. */
static mp_err_t read_next(mp_sql_conn_t *db, pass_t *p, size_t max, size_t *n)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_NEXT);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, p->upto);
    mp_sql_bind_i64(s, 2, (int64_t)max);
    int rc = MP_SQL_DONE;
    *n = 0;
    while (!pass_full(p) && (rc = mp_sql_step(s)) == MP_SQL_ROW) {
        (*n)++;
        p->upto = col_u64(s, 0);
        entry_text(p, pass_push(p, p->upto, false), s, 1);
    }
    mp_sql_reset(s);
    return rc == MP_SQL_DONE || rc == MP_SQL_ROW ? MP_OK : mp_sql_err(db, rc);
}

/* The read half: the state, then the work, from one snapshot of each file.
 * *kept false: the index is not kept (nothing to do). */
static mp_err_t pass_read(mp_sql_conn_t *db, pass_t *p, size_t max, bool *kept, bool *full)
{
    *kept = *full = false;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_STATE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_ROW) {
        *kept = mp_sql_col_int(s, 2) != 0;
        p->upto = p->upto0 = col_u64(s, 3);
        p->changes_upto = p->changes0 = col_u64(s, 4);
    }
    mp_sql_reset(s);
    if (rc != MP_SQL_ROW)
        return rc == MP_SQL_DONE ? MP_ERR_INTERNAL : mp_sql_err(db, rc);
    if (!*kept)
        return MP_OK;
    main_state_t m;
    mp_err_t e = main_state_read(db, &m);
    size_t nc = 0, nn = 0;
    p->version = m.version;
    if (e == MP_OK)
        e = read_changes(db, p, max, &nc);
    if (e == MP_OK)
        e = read_next(db, p, max, &nn);
    *full = nc == max || nn == max || pass_full(p);
    return e;
}

static const char SQL_FTS_DEL[] = "DELETE FROM search.messages_fts WHERE rowid = ?1";
/* A plain INSERT: with OR REPLACE, FTS5 first looks for the rowid and runs
 * a delete from its content and size tables for every row, which cost 13 %
 * of the indexer's instructions. A new message (above the watermark) is
 * never in the index while the state and the index agree (they commit
 * together); a changed one was deleted just before. */
#define FTS_ROW                                                                                    \
    "INTO search.messages_fts(rowid, body, search_extra, conv_key)"                                \
    " VALUES(?1, ?2, ?3, ?4)"
static const char SQL_FTS_ADD[] = "INSERT " FTS_ROW;
/* If they ever did not agree, the plain INSERT would fail on the same
 * message for good: a pass that finds an entry above its watermark
 * replaces instead, so the indexer goes on. */
static const char SQL_FTS_REPLACE[] = "INSERT OR REPLACE " FTS_ROW;
static const char SQL_FTS_TOP[] =
    "SELECT rowid FROM search.messages_fts ORDER BY rowid DESC LIMIT 1";
/* The first write takes search.db's write lock; the guard finds the state
 * as the read half saw it (mp_store_search_index may have changed it). */
static const char SQL_STATE_MOVE[] =
    "UPDATE search.state SET upto = ?1, changes_upto = ?2, version = max(version, ?3)"
    " WHERE id = 1 AND complete = 1 AND upto = ?4 AND changes_upto = ?5";

static mp_err_t entry_write(mp_sql_conn_t *db, const entry_t *e, bool replace)
{
    mp_sql_stmt_t *s;
    mp_err_t rc = MP_OK;
    if (e->del) {
        if ((s = mp_sql_prepare(db, SQL_FTS_DEL)) == NULL)
            return MP_ERR_INTERNAL;
        bind_u64(s, 1, e->id);
        if ((rc = step_done(db, s)) != MP_OK)
            return rc;
    }
    if (!e->add)
        return MP_OK;
    if ((s = mp_sql_prepare(db, replace ? SQL_FTS_REPLACE : SQL_FTS_ADD)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, e->id);
    mp_sql_bind_text(s, 2, e->body, -1);
    if (e->extra != NULL)
        mp_sql_bind_text(s, 3, e->extra, -1);
    else
        mp_sql_bind_null(s, 3);
    char key[MP_SQLITE_CONV_KEY_LEN];
    mp_sqlite__conv_key(e->conv, key);
    mp_sql_bind_text(s, 4, key, MP_SQLITE_CONV_KEY_LEN);
    return step_done(db, s);
}

/* The index's highest entry, 0 when it is empty (FTS5 reads it from the
 * end of its content table). */
static mp_err_t index_top(mp_sql_conn_t *db, uint64_t *top)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_FTS_TOP);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    return step_u64(db, s, top);
}

/* The write half, in search.db only. *moved false: the state changed since
 * the read (nothing written). */
static mp_err_t pass_write(mp_sql_conn_t *db, const pass_t *p, bool *moved)
{
    *moved = false;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_STATE_MOVE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, p->upto);
    bind_u64(s, 2, p->changes_upto);
    mp_sql_bind_i64(s, 3, p->version);
    bind_u64(s, 4, p->upto0);
    bind_u64(s, 5, p->changes0);
    mp_err_t rc = step_done(db, s);
    if (rc != MP_OK || mp_sql_changes(db) != 1)
        return rc;
    uint64_t top = 0;
    if ((rc = index_top(db, &top)) != MP_OK)
        return rc;
    bool replace = top > p->upto0;
    if (replace)
        mp_log_warn("store: the search index holds message %llu above its watermark %llu;"
                    " this pass replaces its entries",
                    (unsigned long long)top, (unsigned long long)p->upto0);
    for (size_t i = 0; i < p->n && rc == MP_OK; i++)
        rc = entry_write(db, &p->v[i], replace);
    *moved = rc == MP_OK;
    return rc;
}

mp_err_t mp_sqlite__fts_index_pass(mp_sql_conn_t *db, size_t max, size_t max_bytes,
                                   mp_sqlite_index_pos_t *pos)
{
    MP_ASSERT(max > 0 && max_bytes > 0);
    pass_t p = {.max_bytes = max_bytes};
    bool kept = false, full = false, moved = false;
    pos->full = false;
    if (!mp_sql_begin(db, false))
        return MP_ERR_INTERNAL;
    mp_err_t rc = txn_end(db, pass_read(db, &p, max, &kept, &full));
    if (rc == MP_OK && kept && (p.upto != p.upto0 || p.changes_upto != p.changes0)) {
        if (!mp_sql_begin(db, false))
            rc = MP_ERR_INTERNAL;
        else
            rc = txn_end(db, pass_write(db, &p, &moved));
    }
    if (rc == MP_OK) {
        /* Unmoved: either nothing was new, or the state changed under the
         * pass (then the next pass starts from it). */
        pos->upto = moved ? p.upto : p.upto0;
        pos->changes_upto = moved ? p.changes_upto : p.changes0;
        pos->full = moved && full;
    }
    pass_free(&p);
    return rc;
}

/* ---- search_index = on / off ------------------------------------------------------ */

/* Off empties the index, so that content deleted while it is not kept does
 * not linger in it. On after off starts it over from the first message: the
 * indexer fills it in the background, and search scans what it has not
 * reached meanwhile. */
static mp_err_t index_set(mp_sql_conn_t *db, bool on)
{
    main_state_t m;
    bool found = false, complete = false, belongs = false;
    mp_err_t rc = main_state_read(db, &m);
    if (rc == MP_OK)
        rc = state_belongs(db, &m, &found, &complete, &belongs);
    if (rc != MP_OK || (found && on == complete))
        return rc;
    return state_reset(db, &m, on);
}

mp_err_t mp_store_search_index(mp_store_t *st, bool on, char *err, size_t errlen)
{
    /* Off takes effect before the change commits, so that no edit adds a
     * change for an index that is not kept; on only after it. */
    if (!on)
        mp_sqlite__fts_keep(st, false);
    mp_sql_conn_t *db = mp_sqlite__conn_open(st, false);
    if (db == NULL) {
        snprintf(err, errlen, "cannot open the database to set up the search index");
        return MP_ERR_INTERNAL;
    }
    /* PostgreSQL has no FTS5: the index is never kept there, whatever the
     * setting, and search scans the messages (the index-off path). */
    if (mp_sql_is_pg(db)) {
        mp_sqlite__fts_keep(st, false);
        mp_sql_close(db);
        if (on)
            mp_log_info("store: search_index is ignored on PostgreSQL: search scans the messages");
        return MP_OK;
    }
    mp_err_t rc = mp_sqlite__search_attach(db, mp_sqlite__search_path(st));
    if (rc == MP_OK && !mp_sql_begin(db, false))
        rc = MP_ERR_INTERNAL;
    if (rc == MP_OK)
        rc = txn_end(db, index_set(db, on));
    if (rc != MP_OK)
        snprintf(err, errlen, "cannot %s the search index: %s", on ? "keep" : "clear",
                 mp_sql_errmsg(db));
    mp_sql_close(db);
    if (rc == MP_OK && on)
        mp_sqlite__fts_keep(st, true);
    if (rc == MP_OK) {
        /* The state may have started over: the next pass reads it. */
        mp_sqlite__fts_upto_known(st, 0, 0);
        (void)mp_sqlite__index_now(st);
    }
    return rc;
}
