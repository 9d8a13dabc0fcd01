/* SQLite implementation of search (store/messages.h): mp_store_search and
 * mp_store_search_index.
 *
 * Candidates come newest first, either from the messages themselves (the
 * scan) or, for queries of 3+ characters while the index is kept, from the
 * scan of the messages above the indexer's watermark (search.state.upto,
 * which the index has not reached yet) followed by the FTS5 trigram index
 * (search.messages_fts, in DIR/search.db: sqlite_index.c) below it. A
 * message below the watermark with a change the indexer has not applied
 * (search_changes) is checked itself, in its place in that order, whatever
 * its old entry says. Each candidate is checked against
 * what the user may read, in C, with the conversation's access cached for
 * the request. A request examines at most MP_CHAT_SEARCH_SCAN candidates,
 * so its cost is bounded whatever the query, and the cursor (a message id)
 * lets the next request go on from there. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store/messages.h"
#include "store/sqlite_chat_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/log.h"
#include "util/map.h"

typedef struct search_job {
    mp_sql_job_t base;
    mp_search_in_t in; /* query and kind point into this allocation */
    bool fts_kept;
    size_t examined; /* candidates so far, of both parts */
    uint64_t last;   /* the last candidate's id */
    size_t query_len;
    mp_map_t access;     /* conversation id -> int64_t * cleared_seq (-1: may not read) */
    int64_t one_cleared; /* in.conversation_id != 0: the user's cleared_seq there */
    uint64_t *changed;   /* ids at or below the watermark with a change not applied, newest first */
    size_t n_changed, next_changed;
    mp_sqlite_msgvec_t hits;
    char **marked; /* per hit */
    size_t cap_marked;
    mp_search_hit_t *out;
    bool has_more;
    uint64_t next_before;
    mp_search_fn cb;
    void *ud;
} search_job_t;

/* ---- who may read what ---------------------------------------------------------- */

static const char SQL_ONE_CONV[] =
    "SELECT c.kind, m.cleared_seq, m.user_id FROM conversations c LEFT JOIN members m"
    " ON m.conversation_id = c.id AND m.user_id = ?1 WHERE c.id = ?2";
static const char SQL_MEMBER_CLEARED[] =
    "SELECT cleared_seq FROM members WHERE conversation_id = ?1 AND user_id = ?2";
static const char SQL_HIDDEN[] =
    "SELECT 1 FROM hidden_messages WHERE user_id = ?1 AND message_id = ?2";
static const char SQL_FTS_STATE[] =
    "SELECT complete, upto, changes_upto FROM search.state WHERE id = 1";
static const char SQL_CHANGED[] = "SELECT DISTINCT message_id FROM search_changes"
                                  " WHERE seq > ?1 AND message_id <= ?2 ORDER BY message_id DESC";

/* The named conversation: a member's (with their cleared_seq), or the world
 * room, which has no member rows and nothing cleared. */
static mp_err_t one_conv_load(mp_sql_conn_t *db, search_job_t *j)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_ONE_CONV);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->in.user_id);
    bind_u64(s, 2, j->in.conversation_id);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return rc == MP_SQL_DONE ? MP_ERR_NOT_MEMBER : mp_sql_err(db, rc);
    bool member = !mp_sql_col_is_null(s, 2);
    bool world = mp_sqlite__conv_kind(mp_sql_col_text(s, 0)) == MP_CONV_WORLD;
    j->one_cleared = member ? mp_sql_col_i64(s, 1) : 0;
    mp_sql_reset(s);
    return member || world ? MP_OK : MP_ERR_NOT_MEMBER;
}

/* Whether the user may read conversation conv in this search, and up to
 * which seq they cleared it. Without a named conversation: the direct and
 * group conversations they are a member of (the world room has no member
 * row, so it is left out, as documented). */
static mp_err_t conv_readable(mp_sql_conn_t *db, search_job_t *j, uint64_t conv, bool *ok,
                              int64_t *cleared)
{
    if (j->in.conversation_id != 0) {
        *ok = conv == j->in.conversation_id;
        *cleared = j->one_cleared;
        return MP_OK;
    }
    int64_t *known = mp_map_get(&j->access, conv);
    if (known == NULL) {
        mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_MEMBER_CLEARED);
        if (s == NULL)
            return MP_ERR_INTERNAL;
        bind_u64(s, 1, conv);
        bind_u64(s, 2, j->in.user_id);
        int rc = mp_sql_step(s);
        if (rc != MP_SQL_ROW && rc != MP_SQL_DONE)
            return mp_sql_err(db, rc);
        known = mp_malloc(sizeof *known);
        *known = rc == MP_SQL_ROW ? mp_sql_col_i64(s, 0) : -1;
        mp_sql_reset(s);
        mp_map_put(&j->access, conv, known);
    }
    *ok = *known >= 0;
    *cleared = *known;
    return MP_OK;
}

static mp_err_t hidden_for(mp_sql_conn_t *db, uint64_t user, uint64_t mid, bool *hidden)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_HIDDEN);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    bind_u64(s, 2, mid);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW && rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    *hidden = rc == MP_SQL_ROW;
    mp_sql_reset(s);
    return MP_OK;
}

/* Whether the candidate row s is on (MP_SQLITE_MSG_COLS) may be shown:
 * readable conversation, above the cleared history, live, not system, the
 * filters, and (last, it costs a lookup) not hidden for the user. */
static mp_err_t candidate_ok(mp_sql_conn_t *db, search_job_t *j, mp_sql_stmt_t *s, bool *ok)
{
    const mp_search_in_t *in = &j->in;
    const char *kind = mp_sql_col_text(s, 5);
    int64_t at = mp_sql_col_i64(s, 7);
    *ok = false;
    if (mp_sql_col_i64(s, 12) != 0 || kind == NULL || strcmp(kind, "system") == 0)
        return MP_OK;
    if ((in->sender_id != 0 && col_u64(s, 3) != in->sender_id) ||
        (in->kind != NULL && strcmp(kind, in->kind) != 0) ||
        (in->from_ms != 0 && at < in->from_ms) || (in->to_ms != 0 && at >= in->to_ms))
        return MP_OK;
    bool readable = false, hidden = false;
    int64_t cleared = 0;
    mp_err_t rc = conv_readable(db, j, col_u64(s, 1), &readable, &cleared);
    if (rc != MP_OK || !readable || mp_sql_col_i64(s, 2) <= cleared)
        return rc;
    if ((rc = hidden_for(db, in->user_id, col_u64(s, 0), &hidden)) != MP_OK)
        return rc;
    *ok = !hidden;
    return MP_OK;
}

/* ---- matching and marking (the scan path) ------------------------------------------ */

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* The first occurrence of needle (n bytes) in hay, ASCII letters compared
 * without case. Both are UTF-8, so a byte match is a character match. */
static const char *find_ci(const char *hay, const char *needle, size_t n)
{
    for (const char *p = hay; *p != '\0'; p++) {
        size_t k = 0;
        while (k < n && p[k] != '\0' &&
               ascii_lower((unsigned char)p[k]) == ascii_lower((unsigned char)needle[k]))
            k++;
        if (k == n)
            return p;
    }
    return NULL;
}

/* text with every (non-overlapping) match of the query wrapped in the marks;
 * NULL when there is none. */
static char *mark_matches(const char *text, const char *q, size_t qlen)
{
    if (text == NULL || qlen == 0 || find_ci(text, q, qlen) == NULL)
        return NULL;
    size_t len = strlen(text);
    /* At most one pair of marks per qlen bytes of text. */
    char *out = mp_malloc(len + 2 * (len / qlen + 1) + 1), *o = out;
    const char *p = text, *hit;
    while ((hit = find_ci(p, q, qlen)) != NULL) {
        memcpy(o, p, (size_t)(hit - p));
        o += hit - p;
        *o++ = MP_SEARCH_MARK_ON;
        memcpy(o, hit, qlen);
        o += qlen;
        *o++ = MP_SEARCH_MARK_OFF;
        p = hit + qlen;
    }
    strcpy(o, p);
    return out;
}

/* ---- the hits ---------------------------------------------------------------------- */

static void hit_push(search_job_t *j, mp_sql_stmt_t *s, char *marked)
{
    mp_sqlite__msgvec_push(&j->hits, s);
    if (j->hits.n > j->cap_marked) {
        j->cap_marked = j->hits.cap;
        j->marked = mp_realloc(j->marked, j->cap_marked * sizeof *j->marked);
    }
    j->marked[j->hits.n - 1] = marked;
}

static const char SQL_GUEST[] = "SELECT guest FROM users WHERE id = ?1";

/* What read paths show with each message: the sender's guest mark (a swept
 * guest has no row) and the reactions as the user sees them. */
static mp_err_t hits_finish(mp_sql_conn_t *db, search_job_t *j)
{
    for (size_t i = 0; i < j->hits.n; i++) {
        mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_GUEST);
        if (s == NULL)
            return MP_ERR_INTERNAL;
        bind_u64(s, 1, j->hits.v[i].sender_id);
        int rc = mp_sql_step(s);
        if (rc != MP_SQL_ROW && rc != MP_SQL_DONE)
            return mp_sql_err(db, rc);
        j->hits.v[i].sender_guest = rc == MP_SQL_DONE || mp_sql_col_int(s, 0) != 0;
        mp_sql_reset(s);
    }
    return mp_sqlite__msgs_reactions(db, j->hits.v, j->hits.n, j->in.user_id);
}

/* One step of the candidate loop, shared by both paths (and both parts of
 * the index path, which share the budget and the cursor): before taking
 * another candidate, stop once limit hits were found or the budget is
 * spent; has_more then says that a candidate is left, next_before where the
 * next request goes on. */
static bool budget_take(search_job_t *j, uint64_t id)
{
    if (j->hits.n >= j->in.limit || j->examined >= MP_CHAT_SEARCH_SCAN) {
        j->has_more = true;
        j->next_before = j->last;
        return false;
    }
    j->examined++;
    j->last = id;
    return true;
}

/* ---- the index path ------------------------------------------------------------------ */

/* SQLite only (FTS5 MATCH): PostgreSQL has no index and always takes the
 * scan path (use_index). The index keeps no positions (detail=none,
 * sqlite_index.c), so what it finds are candidates, each checked against
 * the message as it is now. */
static const char SQL_FTS_FIND[] =
    "SELECT rowid FROM messages_fts"
    " WHERE messages_fts MATCH ?1 AND rowid < ?2 ORDER BY rowid DESC";
static const char SQL_MSG_BY_ID[] = "SELECT " MP_SQLITE_MSG_COLS " FROM messages WHERE id = ?1";

void mp_sqlite__conv_key(uint64_t conv, char out[MP_SQLITE_CONV_KEY_LEN])
{
    char *o = out;
    for (int shift = 32; shift >= 0; shift -= 16) {
        uint32_t c = 0xF0000u + (uint32_t)((conv >> shift) & 0xFFFF);
        *o++ = (char)(0xF0 | (c >> 18));
        *o++ = (char)(0x80 | ((c >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
        *o++ = (char)(0x80 | (c & 0x3F));
    }
    MP_ASSERT(o == out + MP_SQLITE_CONV_KEY_LEN);
}

/* Appends one term of the FTS5 query: n bytes in double quotes (inner
 * quotes doubled, so no character of it is FTS5 syntax), after " AND "
 * unless it is the first. */
static char *fts_term(char *o, const char *term, size_t n, bool first)
{
    if (!first) {
        memcpy(o, " AND ", 5);
        o += 5;
    }
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (term[i] == '"')
            *o++ = '"';
        *o++ = term[i];
    }
    *o++ = '"';
    return o;
}

/* Whether the trigram at character k of q (n bytes) came at an earlier
 * character already (at: where each character starts). */
static bool fts_term_seen(const char *q, const size_t *at, size_t k, size_t n)
{
    for (size_t i = 0; i < k; i++)
        if (at[i + 3] - at[i] == n && memcmp(q + at[i], q + at[k], n) == 0)
            return true;
    return false;
}

char *mp_sqlite__fts_query(const char *q, uint64_t conv)
{
    size_t n = strlen(q), chars = 0;
    size_t *at = mp_malloc((n + 1) * sizeof *at); /* where each character starts */
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)q[i] & 0xC0) != 0x80)
            at[chars++] = i;
    at[chars] = n;
    MP_ASSERT(chars >= 3);
    /* Each term: at most 3 characters of 4 bytes, each byte a doubled
     * quote at worst, two quotes and " AND ". */
    char *out = mp_malloc((chars - 2) * 31 + 19 + 1), *o = out;
    bool first = true;
    if (conv != 0) {
        char key[MP_SQLITE_CONV_KEY_LEN];
        mp_sqlite__conv_key(conv, key);
        o = fts_term(o, key, MP_SQLITE_CONV_KEY_LEN, true);
        first = false;
    }
    for (size_t k = 0; k + 3 <= chars; k++) {
        size_t len = at[k + 3] - at[k];
        if (fts_term_seen(q, at, k, len))
            continue;
        o = fts_term(o, q + at[k], len, first);
        first = false;
    }
    *o = '\0';
    mp_free(at);
    return out;
}

static mp_err_t scan_candidate(mp_sql_conn_t *db, search_job_t *j, mp_sql_stmt_t *s);

/* Whether the index's hit id is a changed message (changed_until has just
 * taken every changed id above it, and both walk newest first). */
static bool changed_at(const search_job_t *j, uint64_t id)
{
    return j->next_changed < j->n_changed && j->changed[j->next_changed] == id;
}

/* A message the index found, or one with a change the index has not
 * applied, checked as the scan checks one: its text as it is now. */
static mp_err_t id_candidate(mp_sql_conn_t *db, search_job_t *j, uint64_t id)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_MSG_BY_ID);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, id);
    int rc = mp_sql_step(s);
    mp_err_t e = MP_OK;
    if (rc == MP_SQL_ROW)
        e = scan_candidate(db, j, s); /* candidate_ok keeps to the named conversation */
    else if (rc != MP_SQL_ROW && rc != MP_SQL_DONE)
        e = mp_sql_err(db, rc);
    mp_sql_reset(s);
    return e;
}

/* The changed messages above id (newest first, below the cursor before),
 * each in its place: false when the budget stopped the walk. */
static bool changed_until(mp_sql_conn_t *db, search_job_t *j, uint64_t id, uint64_t before,
                          mp_err_t *e)
{
    while (*e == MP_OK && j->next_changed < j->n_changed && j->changed[j->next_changed] > id) {
        uint64_t c = j->changed[j->next_changed++];
        if (c >= before)
            continue;
        if (!budget_take(j, c))
            return false;
        *e = id_candidate(db, j, c);
    }
    return true;
}

/* The index part: messages at or below the watermark upto (the caller's
 * cursor applies as well). */
static mp_err_t fts_search(mp_sql_conn_t *db, search_job_t *j, uint64_t upto)
{
    uint64_t before = j->in.before_id && j->in.before_id <= upto ? j->in.before_id : upto + 1;
    if (before > (uint64_t)INT64_MAX)
        before = (uint64_t)INT64_MAX;
    mp_sql_stmt_t *f = mp_sql_prepare(db, SQL_FTS_FIND);
    if (f == NULL)
        return MP_ERR_INTERNAL;
    char *terms = mp_sqlite__fts_query(j->in.query, j->in.conversation_id);
    mp_sql_bind_text(f, 1, terms, -1);
    mp_sql_bind_i64(f, 2, (int64_t)before);
    mp_err_t e = MP_OK;
    int rc;
    bool walked = true;
    while ((rc = mp_sql_step(f)) == MP_SQL_ROW) {
        uint64_t id = col_u64(f, 0);
        if (!(walked = changed_until(db, j, id, before, &e)) || e != MP_OK)
            break;
        if (changed_at(j, id))
            continue; /* changed_until checks it, in this place, next */
        if (!budget_take(j, id))
            break;
        if ((e = id_candidate(db, j, j->last)) != MP_OK)
            break;
    }
    mp_sql_reset(f);
    mp_free(terms);
    if (e != MP_OK)
        return e;
    if (rc != MP_SQL_ROW && rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    /* The index is done: the changed messages below its last hit. */
    if (rc == MP_SQL_DONE && walked)
        (void)changed_until(db, j, 0, before, &e);
    return e;
}

/* ---- the scan path ------------------------------------------------------------------- */

/* Newest first by id: message ids grow with time and, within one
 * conversation, with seq, so the per-conversation scan walks the
 * (conversation_id, seq) index and the other walks the table itself. */
static const char SQL_SCAN_CONV[] = "SELECT " MP_SQLITE_MSG_COLS " FROM messages"
                                    " WHERE conversation_id = ?1 AND seq < ?2 AND id < ?3"
                                    " ORDER BY seq DESC";
static const char SQL_SCAN_ALL[] =
    "SELECT " MP_SQLITE_MSG_COLS " FROM messages WHERE id < ?1 AND id > ?2 ORDER BY id DESC";
static const char SQL_SEQ_OF[] = "SELECT seq FROM messages WHERE id = ?1 AND conversation_id = ?2";

/* The seq bound of the per-conversation scan: the cursor message's seq. */
static mp_err_t scan_seq_bound(mp_sql_conn_t *db, const search_job_t *j, int64_t *seq)
{
    *seq = INT64_MAX;
    if (j->in.before_id == 0)
        return MP_OK;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SEQ_OF);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->in.before_id);
    bind_u64(s, 2, j->in.conversation_id);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_ROW)
        *seq = mp_sql_col_i64(s, 0);
    else if (rc != MP_SQL_DONE)
        return mp_sql_err(db, rc);
    mp_sql_reset(s);
    return MP_OK;
}

static mp_err_t scan_candidate(mp_sql_conn_t *db, search_job_t *j, mp_sql_stmt_t *s)
{
    char *marked = mark_matches(mp_sql_col_text(s, 6), j->in.query, j->query_len);
    if (marked == NULL)
        marked = mark_matches(mp_sql_col_text(s, 10), j->in.query, j->query_len);
    if (marked == NULL)
        return MP_OK;
    bool ok = false;
    mp_err_t rc = candidate_ok(db, j, s, &ok);
    if (rc == MP_OK && ok)
        hit_push(j, s, marked);
    else
        mp_free(marked);
    return rc;
}

/* The scan: every message below the cursor newest first, down to (not
 * including) floor: 0 for a whole scan, the watermark for the part of the
 * index path the index has not reached. The walk stops at the first message
 * at or below floor (ids grow with seq within a conversation), before it
 * counts against the budget. */
static mp_err_t scan_search(mp_sql_conn_t *db, search_job_t *j, uint64_t floor)
{
    mp_sql_stmt_t *s;
    int64_t before = j->in.before_id ? (int64_t)j->in.before_id : INT64_MAX;
    if (j->in.conversation_id != 0) {
        int64_t seq;
        mp_err_t e = scan_seq_bound(db, j, &seq);
        if (e != MP_OK)
            return e;
        if ((s = mp_sql_prepare(db, SQL_SCAN_CONV)) == NULL)
            return MP_ERR_INTERNAL;
        bind_u64(s, 1, j->in.conversation_id);
        mp_sql_bind_i64(s, 2, seq);
        mp_sql_bind_i64(s, 3, before);
    } else {
        if ((s = mp_sql_prepare(db, SQL_SCAN_ALL)) == NULL)
            return MP_ERR_INTERNAL;
        mp_sql_bind_i64(s, 1, before);
        bind_u64(s, 2, floor);
    }
    mp_err_t e = MP_OK;
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        uint64_t id = col_u64(s, 0);
        if (id <= floor) {
            rc = MP_SQL_DONE;
            break;
        }
        if (!budget_take(j, id))
            break;
        if ((e = scan_candidate(db, j, s)) != MP_OK)
            break;
    }
    mp_sql_reset(s);
    if (e != MP_OK)
        return e;
    return rc == MP_SQL_ROW || rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

/* ---- the op ------------------------------------------------------------------------------ */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* The index answers only when it is kept (and so complete up to its
 * watermark, *upto), and only for queries it can match (trigrams: 3+
 * characters). PostgreSQL never keeps one (no FTS5): it scans. */
static mp_err_t use_index(mp_sql_conn_t *db, const search_job_t *j, bool *yes, uint64_t *upto,
                          uint64_t *changes_upto)
{
    *yes = false;
    *upto = *changes_upto = 0;
    if (!j->fts_kept || mp_sql_is_pg(db) || utf8_chars(j->in.query) < 3)
        return MP_OK;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_FTS_STATE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return rc == MP_SQL_DONE ? MP_ERR_INTERNAL : mp_sql_err(db, rc);
    *yes = mp_sql_col_int(s, 0) != 0;
    *upto = col_u64(s, 1);
    *changes_upto = col_u64(s, 2);
    mp_sql_reset(s);
    return MP_OK;
}

/* The messages at or below the watermark whose change the index has not
 * applied yet (few: edits and deletes of the last moments). */
static mp_err_t changed_load(mp_sql_conn_t *db, search_job_t *j, uint64_t upto,
                             uint64_t changes_upto)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_CHANGED);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, changes_upto);
    bind_u64(s, 2, upto);
    size_t cap = 0;
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW) {
        if (j->n_changed == cap) {
            cap = cap ? 2 * cap : 16;
            j->changed = mp_realloc(j->changed, cap * sizeof *j->changed);
        }
        j->changed[j->n_changed++] = col_u64(s, 0);
    }
    mp_sql_reset(s);
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

/* A read job is one read transaction: one snapshot of each file, search.db's
 * taken first (its state is the first read), so the messages read after it
 * are at least as new as the index: every message at or below the
 * watermark is there, and every change the index has not applied is in
 * search_changes. The scan covers the ids above the watermark, the index
 * those at or below it, newest first. */
static mp_err_t search_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    search_job_t *j = (search_job_t *)job;
    bool fts = false;
    uint64_t upto = 0, changes_upto = 0;
    mp_err_t rc = use_index(db, j, &fts, &upto, &changes_upto);
    if (rc == MP_OK && fts)
        rc = changed_load(db, j, upto, changes_upto);
    if (rc == MP_OK && j->in.conversation_id != 0)
        rc = one_conv_load(db, j);
    if (rc == MP_OK)
        rc = scan_search(db, j, fts ? upto : 0);
    if (rc == MP_OK && fts && !j->has_more)
        rc = fts_search(db, j, upto);
    if (rc == MP_OK)
        rc = hits_finish(db, j);
    return rc;
}

static void search_done(mp_sql_job_t *job, mp_err_t rc)
{
    search_job_t *j = (search_job_t *)job;
    size_t n = rc == MP_OK ? j->hits.n : 0;
    if (n != 0) {
        j->out = mp_malloc(n * sizeof *j->out);
        for (size_t i = 0; i < n; i++)
            j->out[i] = (mp_search_hit_t){.msg = j->hits.v[i], .marked = j->marked[i]};
    }
    j->cb(rc, j->out, n, rc == MP_OK && j->has_more, rc == MP_OK ? j->next_before : 0, j->ud);
    for (size_t i = 0; i < j->hits.n; i++)
        mp_free(j->marked[i]);
    mp_free(j->marked);
    mp_free(j->changed);
    mp_free(j->out);
    mp_sqlite__msgvec_free(&j->hits);
    mp_map_iter_t it;
    void *v;
    mp_map_iter_init(&j->access, &it);
    while (mp_map_iter_next(&j->access, &it, NULL, &v))
        mp_free(v);
    mp_map_free(&j->access);
    mp_free(j);
}

mp_err_t mp_store_search(mp_store_t *st, const mp_search_in_t *in, mp_search_fn cb, void *ud)
{
    MP_ASSERT(in->query != NULL && in->limit >= 1 && in->limit <= MP_CHAT_SEARCH_MAX);
    size_t nq = strlen(in->query) + 1, nk = in->kind ? strlen(in->kind) + 1 : 0;
    search_job_t *j = mp_calloc(1, sizeof *j + nq + nk);
    j->base.run = search_run;
    j->base.done = search_done;
    j->in = *in;
    j->fts_kept = mp_sqlite__fts_kept(st);
    char *q = (char *)(j + 1);
    memcpy(q, in->query, nq);
    j->in.query = q;
    j->query_len = nq - 1;
    if (in->kind != NULL) {
        memcpy(q + nq, in->kind, nk);
        j->in.kind = q + nq;
    }
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}
