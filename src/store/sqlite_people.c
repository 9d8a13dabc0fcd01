/* People operations of store/people.h on the SQLite job machinery: profile
 * reads with the viewer's relation, the profile update (a write job that
 * also reads the audience, so the event names who could see the change when
 * it committed), user search and the audience of a profile change. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/people.h"
#include "store/sqlite_chat_int.h"
#include "store/sqlite_job.h"
#include "store/sqlite_people_int.h"
#include "store/sqlite_util.h"
#include "util/alloc.h"
#include "util/assert.h"

/* ---- profile rows --------------------------------------------------------------- */

#define PROFILE_COLS MP_SQLITE_PROFILE_COLS

/* Who may be found by viewer ?1 in search: no guests, deleted, disabled or
 * pending accounts, and only users whose priv_search lets the viewer in
 * (0 everyone, 1 friends, 2 nobody). */
#define SEARCHABLE                                                                                 \
    " u.guest = 0 AND u.deleted_at = 0 AND u.disabled_at = 0 AND u.pending = 0"                    \
    " AND (u.id = ?1 OR u.priv_search = 0 OR (u.priv_search = 1 AND EXISTS (SELECT 1"              \
    " FROM contacts k WHERE k.user_id = u.id AND k.peer_id = ?1 AND k.state = 3)))"

static void copy_text(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

void mp_sqlite__profile_read(mp_sql_stmt_t *s, mp_profile_row_t *p)
{
    p->id = col_u64(s, 0);
    copy_text(p->username, sizeof p->username, mp_sql_col_text(s, 1));
    copy_text(p->display_name, sizeof p->display_name, mp_sql_col_text(s, 2));
    copy_text(p->bio, sizeof p->bio, mp_sql_col_text(s, 3));
    p->avatar_file_id = col_u64(s, 4);
    p->created_at = mp_sql_col_i64(s, 5);
    p->guest = mp_sql_col_int(s, 6) != 0;
    p->deleted = mp_sql_col_i64(s, 7) > 0;
    int c = mp_sql_col_int(s, 8);
    p->contact =
        c >= MP_CONTACT_NONE && c <= MP_CONTACT_FRIENDS ? (mp_contact_state_t)c : MP_CONTACT_NONE;
    p->blocked = mp_sql_col_int(s, 9) != 0;
}

static const char SQL_PROFILE_BY_ID[] =
    "SELECT " PROFILE_COLS " FROM users u WHERE u.id = ?2 AND u.pending = 0";
static const char SQL_PROFILE_BY_NAME[] = "SELECT " PROFILE_COLS " FROM users u"
                                          " WHERE u.username = ?2 AND u.pending = 0"
                                          " AND u.deleted_at = 0";

/* Loads one profile: by id when id != 0, else by (lower-case) name. */
static mp_err_t profile_load(mp_sql_conn_t *db, uint64_t viewer, uint64_t id, const char *name,
                             mp_profile_row_t *out)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, id ? SQL_PROFILE_BY_ID : SQL_PROFILE_BY_NAME);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, viewer);
    if (id)
        bind_u64(s, 2, id);
    else
        mp_sql_bind_text(s, 2, name, -1);
    int rc = mp_sql_step(s);
    if (rc == MP_SQL_ROW) {
        mp_sqlite__profile_read(s, out);
        mp_sql_reset(s);
        return MP_OK;
    }
    return rc == MP_SQL_DONE ? MP_ERR_NOT_FOUND : mp_sql_err(db, rc);
}

typedef struct profile_job {
    mp_sql_job_t base;
    uint64_t viewer, id;
    char name[MP_USERNAME_MAX + 1];
    mp_profile_row_t row;
    mp_people_profile_fn cb;
    void *ud;
} profile_job_t;

static mp_err_t profile_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    profile_job_t *j = (profile_job_t *)job;
    if (j->id == 0 && j->name[0] == '\0')
        return MP_ERR_NOT_FOUND;
    return profile_load(db, j->viewer, j->id, j->name, &j->row);
}

static void profile_done(mp_sql_job_t *job, mp_err_t rc)
{
    profile_job_t *j = (profile_job_t *)job;
    j->cb(rc, rc == MP_OK ? &j->row : NULL, j->ud);
    mp_free(j);
}

static mp_err_t profile_queue(mp_store_t *st, uint64_t viewer, uint64_t id, const char *name,
                              mp_people_profile_fn cb, void *ud)
{
    profile_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = profile_run;
    j->base.done = profile_done;
    j->viewer = viewer;
    j->id = id;
    /* A name longer than any username matches nobody: leave it empty. */
    if (name != NULL && strlen(name) <= MP_USERNAME_MAX)
        for (size_t i = 0; name[i] != '\0'; i++)
            j->name[i] = (char)tolower((unsigned char)name[i]);
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}

mp_err_t mp_store_people_by_id(mp_store_t *st, uint64_t viewer, uint64_t id,
                               mp_people_profile_fn cb, void *ud)
{
    /* id 0 never exists; profile_run answers not found for it. */
    return profile_queue(st, viewer, id, NULL, cb, ud);
}

mp_err_t mp_store_people_by_username(mp_store_t *st, uint64_t viewer, const char *username,
                                     mp_people_profile_fn cb, void *ud)
{
    MP_ASSERT(username != NULL);
    return profile_queue(st, viewer, 0, username, cb, ud);
}

/* ---- audience ------------------------------------------------------------------- */

typedef struct idvec {
    uint64_t *v;
    size_t n, cap;
} idvec_t;

static void idvec_push(idvec_t *iv, uint64_t id)
{
    if (iv->n == iv->cap) {
        iv->cap = iv->cap ? iv->cap * 2 : 16;
        iv->v = mp_realloc(iv->v, iv->cap * sizeof *iv->v);
    }
    iv->v[iv->n++] = id;
}

/* The presence peers plus every contact row that is not a tombstone; UNION
 * makes each user appear once. */
static const char SQL_AUDIENCE[] = MP_SQLITE_PEERS_SQL " UNION SELECT peer_id FROM contacts"
                                                       " WHERE user_id = ?1 AND state <> 0";

static mp_err_t audience_load(mp_sql_conn_t *db, uint64_t user, idvec_t *out)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_AUDIENCE);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    mp_sql_bind_i64(s, 2, MP_CHAT_PRESENCE_GROUP_MAX);
    int rc;
    while ((rc = mp_sql_step(s)) == MP_SQL_ROW)
        if (col_u64(s, 0) != user)
            idvec_push(out, col_u64(s, 0));
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

typedef struct audience_job {
    mp_sql_job_t base;
    uint64_t user;
    idvec_t ids;
    mp_people_ids_fn cb;
    void *ud;
} audience_job_t;

static mp_err_t audience_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    audience_job_t *j = (audience_job_t *)job;
    return audience_load(db, j->user, &j->ids);
}

static void audience_done(mp_sql_job_t *job, mp_err_t rc)
{
    audience_job_t *j = (audience_job_t *)job;
    j->cb(rc, j->ids.v, rc == MP_OK ? j->ids.n : 0, j->ud);
    mp_free(j->ids.v);
    mp_free(j);
}

mp_err_t mp_store_people_audience(mp_store_t *st, uint64_t user_id, mp_people_ids_fn cb, void *ud)
{
    audience_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = audience_run;
    j->base.done = audience_done;
    j->user = user_id;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__read_or_free(st, &j->base);
}

/* ---- update --------------------------------------------------------------------- */

typedef struct update_job {
    mp_sql_job_t base;
    uint64_t user;
    bool set_name, set_bio, set_avatar;
    char name[MP_DISPLAY_NAME_MAX + 1];
    char bio[MP_BIO_MAX + 1];
    uint64_t avatar;
    mp_profile_row_t row;
    idvec_t audience;
    mp_people_updated_fn cb;
    void *ud;
} update_job_t;

/* One statement per column: the display-name index trigger fires only on an
 * UPDATE that names display_name, so a bio change leaves the index alone. */
static const char SQL_SET_NAME[] =
    "UPDATE users SET display_name = ?2 WHERE id = ?1 AND deleted_at = 0";
static const char SQL_SET_BIO[] = "UPDATE users SET bio = ?2 WHERE id = ?1 AND deleted_at = 0";
static const char SQL_SET_AVATAR[] =
    "UPDATE users SET avatar_file_id = ?2 WHERE id = ?1 AND deleted_at = 0";

static mp_err_t set_text(mp_sql_conn_t *db, const char *sql, uint64_t user, const char *v)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, sql);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, user);
    mp_sql_bind_text(s, 2, v, -1);
    return step_done(db, s);
}

static const char SQL_AVATAR_CHECK[] =
    "SELECT b.class FROM files f JOIN blobs b ON b.id = f.blob_id"
    " WHERE f.id = ?1 AND f.owner_id = ?2";

mp_err_t mp_sqlite__avatar_check(mp_sql_conn_t *db, uint64_t file_id, uint64_t owner_id)
{
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_AVATAR_CHECK);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, file_id);
    bind_u64(s, 2, owner_id);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return rc == MP_SQL_DONE ? MP_ERR_NOT_FOUND : mp_sql_err(db, rc);
    const char *cls = mp_sql_col_text(s, 0);
    bool image = cls != NULL && strcmp(cls, "image") == 0;
    mp_sql_reset(s);
    return image ? MP_OK : MP_ERR_BAD_REQUEST;
}

static mp_err_t update_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    update_job_t *j = (update_job_t *)job;
    /* The profile first: it answers not found for a missing or deleted user
     * before anything is written. */
    mp_err_t rc = profile_load(db, j->user, j->user, NULL, &j->row);
    if (rc == MP_OK && j->row.deleted)
        rc = MP_ERR_NOT_FOUND;
    if (rc == MP_OK && j->set_avatar && j->avatar != 0)
        rc = mp_sqlite__avatar_check(db, j->avatar, j->user);
    if (rc == MP_OK && j->set_name)
        rc = set_text(db, SQL_SET_NAME, j->user, j->name);
    if (rc == MP_OK && j->set_bio)
        rc = set_text(db, SQL_SET_BIO, j->user, j->bio);
    if (rc == MP_OK && j->set_avatar) {
        mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SET_AVATAR);
        if (s == NULL)
            return MP_ERR_INTERNAL;
        bind_u64(s, 1, j->user);
        bind_u64(s, 2, j->avatar);
        rc = step_done(db, s);
    }
    if (rc == MP_OK)
        rc = profile_load(db, j->user, j->user, NULL, &j->row);
    if (rc == MP_OK)
        rc = audience_load(db, j->user, &j->audience);
    return rc;
}

static void update_done(mp_sql_job_t *job, mp_err_t rc)
{
    update_job_t *j = (update_job_t *)job;
    if (rc == MP_OK)
        j->cb(rc, &j->row, j->audience.v, j->audience.n, j->ud);
    else
        j->cb(rc, NULL, NULL, 0, j->ud);
    mp_free(j->audience.v);
    mp_free(j);
}

mp_err_t mp_store_people_update(mp_store_t *st, uint64_t user_id, const mp_people_update_t *u,
                                mp_people_updated_fn cb, void *ud)
{
    update_job_t *j = mp_calloc(1, sizeof *j);
    j->base.run = update_run;
    j->base.done = update_done;
    j->user = user_id;
    j->set_name = u->set_display_name && u->display_name != NULL;
    j->set_bio = u->set_bio && u->bio != NULL;
    j->set_avatar = u->set_avatar;
    if (j->set_name)
        copy_text(j->name, sizeof j->name, u->display_name);
    if (j->set_bio)
        copy_text(j->bio, sizeof j->bio, u->bio);
    j->avatar = u->avatar_file_id;
    j->cb = cb;
    j->ud = ud;
    return mp_sqlite__write_or_free(st, &j->base);
}

/* ---- search --------------------------------------------------------------------- */

#define SEARCH_LIMIT_MAX 50

/* Where a page starts: the three parts in order, and the key within one. */
enum { PART_EXACT, PART_PREFIX, PART_NAME };

typedef struct search_job {
    mp_sql_job_t base;
    uint64_t viewer;
    unsigned limit;
    /* The username part: lower-case q, and the first string after every
     * name it prefixes (q with its last byte raised); both "" when q cannot
     * start a username. */
    char lo[MP_USERNAME_MAX + 1], hi[MP_USERNAME_MAX + 1];
    char *match; /* the FTS5 query of the name part (NULL: no word) */
    char *words; /* PostgreSQL: the same words, one space between them */
    int part;    /* where the cursor resumes */
    char after_name[MP_USERNAME_MAX + 1];
    uint64_t after_id;
    uint64_t resume_id;     /* PostgreSQL: the name part stopped at its budget there */
    mp_profile_row_t *rows; /* limit + 1 */
    int *row_part;
    size_t n;
    char next[MP_PEOPLE_SEARCH_CURSOR_MAX + 1];
    mp_people_search_fn cb;
    void *ud;
} search_job_t;

static bool username_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

/* Fills lo/hi from q when q could start a username. Characters are compared
 * as bytes (BINARY collation), so [lo, hi) holds exactly the names that
 * start with lo: no LIKE, whose '_' would be a wildcard. */
static void search_username_range(search_job_t *j, const char *q)
{
    size_t len = strlen(q);
    if (len == 0 || len > MP_USERNAME_MAX)
        return;
    for (size_t i = 0; i < len; i++) {
        char c = (char)tolower((unsigned char)q[i]);
        if (!username_char(c)) {
            j->lo[0] = '\0';
            return;
        }
        j->lo[i] = c;
    }
    j->lo[len] = '\0';
    memcpy(j->hi, j->lo, len + 1);
    j->hi[len - 1] = (char)(j->hi[len - 1] + 1);
}

/* The next word of q (a run of non-space bytes) at *p: its start, with its
 * length in *len, and *p moved past it; NULL when no word is left. */
static const char *next_word(const char **p, size_t *len)
{
    const char *s = *p;
    while (*s != '\0' && isspace((unsigned char)*s))
        s++;
    if (*s == '\0')
        return NULL;
    const char *e = s;
    while (*e != '\0' && !isspace((unsigned char)*e))
        e++;
    *len = (size_t)(e - s);
    *p = e;
    return s;
}

/* The words of q joined by one space, each written by put (which returns the
 * new length); NULL when q has no word. out_max bounds what put may write
 * for all of q. */
typedef size_t (*word_put_fn)(char *out, size_t o, const char *w, size_t len);

static char *join_words(const char *q, size_t out_max, word_put_fn put)
{
    char *out = mp_malloc(out_max + 1);
    size_t o = 0, len;
    for (const char *p = q, *w; (w = next_word(&p, &len)) != NULL;) {
        if (o > 0)
            out[o++] = ' ';
        o = put(out, o, w, len);
    }
    out[o] = '\0';
    if (o == 0) {
        mp_free(out);
        return NULL;
    }
    return out;
}

/* A word as an FTS5 prefix query term: "word"*, quotes doubled so that the
 * query syntax cannot be injected. */
static size_t put_fts_term(char *out, size_t o, const char *w, size_t len)
{
    out[o++] = '"';
    for (size_t i = 0; i < len; i++) {
        if (w[i] == '"')
            out[o++] = '"';
        out[o++] = w[i];
    }
    out[o++] = '"';
    out[o++] = '*';
    return o;
}

static size_t put_plain(char *out, size_t o, const char *w, size_t len)
{
    memcpy(out + o, w, len);
    return o + len;
}

/* The FTS5 query for q: every word a quoted prefix, all of them required.
 * NULL when q has no word. */
static char *search_fts_query(const char *q)
{
    size_t len = strlen(q);
    return join_words(q, len * 2 + 4 * (len + 1), put_fts_term);
}

/* The words of q for PostgreSQL's name part: those of search_fts_query,
 * unquoted (NULL when q has none). */
static char *search_words(const char *q)
{
    return join_words(q, strlen(q), put_plain);
}

/* "u<username>": resume after that username (the exact match is past);
 * "n<id>": resume in the name part after that user id. */
static bool search_cursor_parse(search_job_t *j, const char *c)
{
    if (c == NULL || c[0] == '\0') {
        j->part = PART_EXACT;
        return true;
    }
    size_t len = strlen(c);
    if (c[0] == 'u' && len >= 2 && len - 1 <= MP_USERNAME_MAX) {
        for (size_t i = 1; i < len; i++)
            if (!username_char(c[i]))
                return false;
        j->part = PART_PREFIX;
        memcpy(j->after_name, c + 1, len);
        return true;
    }
    if (c[0] == 'n' && len >= 2 && len <= 21) {
        char *end = NULL;
        for (size_t i = 1; i < len; i++)
            if (c[i] < '0' || c[i] > '9')
                return false;
        unsigned long long v = strtoull(c + 1, &end, 10);
        j->part = PART_NAME;
        j->after_id = (uint64_t)v;
        return v != 0;
    }
    return false;
}

static void search_push(search_job_t *j, mp_sql_stmt_t *s, int part)
{
    MP_ASSERT(j->n <= j->limit);
    mp_sqlite__profile_read(s, &j->rows[j->n]);
    j->row_part[j->n] = part;
    j->n++;
}

/* Steps s, pushing every row while there is room for limit + 1. */
static mp_err_t search_collect(mp_sql_conn_t *db, search_job_t *j, mp_sql_stmt_t *s, int part)
{
    int rc;
    while (j->n <= j->limit && (rc = mp_sql_step(s)) == MP_SQL_ROW)
        search_push(j, s, part);
    if (j->n > j->limit) {
        mp_sql_reset(s);
        return MP_OK;
    }
    return rc == MP_SQL_DONE ? MP_OK : mp_sql_err(db, rc);
}

static const char SQL_SEARCH_EXACT[] =
    "SELECT " PROFILE_COLS " FROM users u WHERE u.username = ?2 AND" SEARCHABLE;
static const char SQL_SEARCH_PREFIX[] =
    "SELECT " PROFILE_COLS " FROM users u"
    " WHERE u.username > ?2 AND u.username < ?3 AND" SEARCHABLE " ORDER BY u.username LIMIT ?4";
/* The name part, a dialect pair. Users the username part found ([?4, ?5))
 * are left out: each user once.
 *
 * SQLite: the FTS5 index users_fts (kept by triggers), in rowid (= user id)
 * order; its cost is the index's, whatever the table's size. */
static const char SQL_SEARCH_NAME[] =
    "SELECT " PROFILE_COLS " FROM users_fts JOIN users u ON u.id = users_fts.rowid"
    " WHERE users_fts MATCH ?2 AND users_fts.rowid > ?3"
    " AND NOT (u.username >= ?4 AND u.username < ?5) AND" SEARCHABLE
    " ORDER BY users_fts.rowid LIMIT ?6";

/* PostgreSQL: no FTS5, so the same match is computed from display_name:
 * both the name and each word of q are folded the way the FTS5 tokenizer
 * (unicode61 remove_diacritics 2) folds them, and a word matches when
 * " " + the folded name contains " " + the folded word (a word of q that
 * holds several tokens: consecutive words of the name, the last one a
 * prefix, as an FTS5 phrase). The folding:
 * - lower case in every script (ICU's root locale: the "und-x-icu"
 *   collation, which PostgreSQL creates when built with ICU, as Debian's
 *   is; not the database's locale, which may fold ASCII only);
 * - the diacritics of Latin letters off: NFD (normalize(), which needs a
 *   UTF8 database), then the combining marks FTS5 drops (PG_DROPPED) after
 *   a Latin letter go;
 * - the few letters FTS5 case-folds to another letter (final sigma, long s,
 *   the Greek symbol variants, micro sign), by translate();
 * - every run of separators becomes one space: PG_SEPARATORS is the set of
 *   code points FTS5 splits words at (ASCII punctuation, spaces and
 *   controls, other punctuation, symbols, emoji and most combining marks
 *   outside U+0300-U+036F), read off an FTS5 table with fts5vocab one code
 *   point at a time over the BMP and U+1F000-U+1FAFF.
 * Checked against FTS5 over every code point of those ranges (the same
 * words come out but for combining marks standing alone, which NFC text
 * does not have, and a few Greek spacing accents) and with ~100 queries on
 * names in Latin, Greek, Cyrillic, CJK scripts with punctuation and emoji
 * (the same users found). The folded word holds no LIKE wildcard: % _ \
 * are separators. A word that folds to nothing is ignored, and q whose
 * words all do finds nobody, as in FTS5. */
#define PG_FOLD_WORDS(x)                                                                           \
    "regexp_replace(translate(regexp_replace(normalize(lower((" x                                  \
    ") COLLATE \"und-x-icu\"), NFD),"                                                              \
    " '([a-z\\u00df-\\u02af\\u1e00-\\u1eff])[" PG_DROPPED "]+', '\\1', 'g'),"                      \
    " 'µſςϐϑϕϖϰϱϵ', 'μsσβθφπκρε'), '[" PG_SEPARATORS "]+', ' ', 'g')"
#define PG_SEPARATORS                                                                              \
    "\\u0001-\\u002f\\u003a-\\u0040\\u005b-\\u0060\\u007b-\\u00a9\\u00ab-\\u00b1\\u00b4"           \
    "\\u00b6-\\u00b8\\u00bb\\u00bf\\u00d7\\u00f7\\u02c2-\\u02c5\\u02d2-\\u02df\\u02e5-\\u02eb"     \
    "\\u02ed\\u02ef-\\u02ff\\u0375\\u037e\\u0384-\\u0385\\u0387\\u03f6\\u0482-\\u0489"             \
    "\\u055a-\\u055f\\u0589-\\u058a\\u058f\\u0591-\\u05c7\\u05f3-\\u05f4\\u0600-\\u0604"           \
    "\\u0606-\\u061b\\u061e-\\u061f\\u064b-\\u065f\\u066a-\\u066d\\u0670\\u06d4\\u06d6-\\u06e4"    \
    "\\u06e7-\\u06ed\\u06fd-\\u06fe\\u0700-\\u070d\\u070f\\u0711\\u0730-\\u074a\\u07a6-\\u07b0"    \
    "\\u07eb-\\u07f3\\u07f6-\\u07f9\\u0816-\\u0819\\u081b-\\u0823\\u0825-\\u0827\\u0829-\\u082d"   \
    "\\u0830-\\u083e\\u0859-\\u085b\\u085e\\u08e4-\\u08fe\\u0900-\\u0903\\u093a-\\u093c"           \
    "\\u093e-\\u094f\\u0951-\\u0957\\u0962-\\u0965\\u0970\\u0981-\\u0983\\u09bc\\u09be-\\u09c4"    \
    "\\u09c7-\\u09c8\\u09cb-\\u09cd\\u09d7\\u09e2-\\u09e3\\u09f2-\\u09f3\\u09fa-\\u09fb"           \
    "\\u0a01-\\u0a03\\u0a3c\\u0a3e-\\u0a42\\u0a47-\\u0a48\\u0a4b-\\u0a4d\\u0a51\\u0a70-\\u0a71"    \
    "\\u0a75\\u0a81-\\u0a83\\u0abc\\u0abe-\\u0ac5\\u0ac7-\\u0ac9\\u0acb-\\u0acd\\u0ae2-\\u0ae3"    \
    "\\u0af0-\\u0af1\\u0b01-\\u0b03\\u0b3c\\u0b3e-\\u0b44\\u0b47-\\u0b48\\u0b4b-\\u0b4d"           \
    "\\u0b56-\\u0b57\\u0b62-\\u0b63\\u0b70\\u0b82\\u0bbe-\\u0bc2\\u0bc6-\\u0bc8\\u0bca-\\u0bcd"    \
    "\\u0bd7\\u0bf3-\\u0bfa\\u0c01-\\u0c03\\u0c3e-\\u0c44\\u0c46-\\u0c48\\u0c4a-\\u0c4d"           \
    "\\u0c55-\\u0c56\\u0c62-\\u0c63\\u0c7f\\u0c82-\\u0c83\\u0cbc\\u0cbe-\\u0cc4\\u0cc6-\\u0cc8"    \
    "\\u0cca-\\u0ccd\\u0cd5-\\u0cd6\\u0ce2-\\u0ce3\\u0d02-\\u0d03\\u0d3e-\\u0d44\\u0d46-\\u0d48"   \
    "\\u0d4a-\\u0d4d\\u0d57\\u0d62-\\u0d63\\u0d79\\u0d82-\\u0d83\\u0dca\\u0dcf-\\u0dd4\\u0dd6"     \
    "\\u0dd8-\\u0ddf\\u0df2-\\u0df4\\u0e31\\u0e34-\\u0e3a\\u0e3f\\u0e47-\\u0e4f\\u0e5a-\\u0e5b"    \
    "\\u0eb1\\u0eb4-\\u0eb9\\u0ebb-\\u0ebc\\u0ec8-\\u0ecd\\u0f01-\\u0f1f\\u0f34-\\u0f3f"           \
    "\\u0f71-\\u0f87\\u0f8d-\\u0f97\\u0f99-\\u0fbc\\u0fbe-\\u0fcc\\u0fce-\\u0fda\\u102b-\\u103e"   \
    "\\u104a-\\u104f\\u1056-\\u1059\\u105e-\\u1060\\u1062-\\u1064\\u1067-\\u106d\\u1071-\\u1074"   \
    "\\u1082-\\u108d\\u108f\\u109a-\\u109f\\u10fb\\u135d-\\u1368\\u1390-\\u1399\\u1400"            \
    "\\u166d-\\u166e\\u1680\\u169b-\\u169c\\u16eb-\\u16ed\\u1712-\\u1714\\u1732-\\u1736"           \
    "\\u1752-\\u1753\\u1772-\\u1773\\u17b4-\\u17d6\\u17d8-\\u17db\\u17dd\\u1800-\\u180e\\u18a9"    \
    "\\u1920-\\u192b\\u1930-\\u193b\\u1940\\u1944-\\u1945\\u19b0-\\u19c0\\u19c8-\\u19c9"           \
    "\\u19de-\\u19ff\\u1a17-\\u1a1b\\u1a1e-\\u1a1f\\u1a55-\\u1a5e\\u1a60-\\u1a7c\\u1a7f"           \
    "\\u1aa0-\\u1aa6\\u1aa8-\\u1aad\\u1b00-\\u1b04\\u1b34-\\u1b44\\u1b5a-\\u1b7c\\u1b80-\\u1b82"   \
    "\\u1ba1-\\u1bad\\u1be6-\\u1bf3\\u1bfc-\\u1bff\\u1c24-\\u1c37\\u1c3b-\\u1c3f\\u1c7e-\\u1c7f"   \
    "\\u1cc0-\\u1cc7\\u1cd0-\\u1ce8\\u1ced\\u1cf2-\\u1cf4\\u1dc0-\\u1de6\\u1dfc-\\u1dff\\u1fbd"    \
    "\\u1fbf-\\u1fc1\\u1fcd-\\u1fcf\\u1fdd-\\u1fdf\\u1fed-\\u1fef\\u1ffd-\\u1ffe\\u2000-\\u2064"   \
    "\\u206a-\\u206f\\u207a-\\u207e\\u208a-\\u208e\\u20a0-\\u20b9\\u20d0-\\u20f0\\u2100-\\u2101"   \
    "\\u2103-\\u2106\\u2108-\\u2109\\u2114\\u2116-\\u2118\\u211e-\\u2123\\u2125\\u2127\\u2129"     \
    "\\u212e\\u213a-\\u213b\\u2140-\\u2144\\u214a-\\u214d\\u214f\\u2190-\\u23f3\\u2400-\\u2426"    \
    "\\u2440-\\u244a\\u249c-\\u24e9\\u2500-\\u26ff\\u2701-\\u2775\\u2794-\\u2b4c\\u2b50-\\u2b59"   \
    "\\u2ce5-\\u2cea\\u2cef-\\u2cf1\\u2cf9-\\u2cfc\\u2cfe-\\u2cff\\u2d70\\u2d7f\\u2de0-\\u2e2e"    \
    "\\u2e30-\\u2e3b\\u2e80-\\u2e99\\u2e9b-\\u2ef3\\u2f00-\\u2fd5\\u2ff0-\\u2ffb\\u3000-\\u3004"   \
    "\\u3008-\\u3020\\u302a-\\u3030\\u3036-\\u3037\\u303d-\\u303f\\u3099-\\u309c\\u30a0\\u30fb"    \
    "\\u3190-\\u3191\\u3196-\\u319f\\u31c0-\\u31e3\\u3200-\\u321e\\u322a-\\u3247\\u3250"           \
    "\\u3260-\\u327f\\u328a-\\u32b0\\u32c0-\\u32fe\\u3300-\\u33ff\\u4dc0-\\u4dff\\ua490-\\ua4c6"   \
    "\\ua4fe-\\ua4ff\\ua60d-\\ua60f\\ua66f-\\ua67e\\ua69f\\ua6f0-\\ua6f7\\ua700-\\ua716"           \
    "\\ua720-\\ua721\\ua789-\\ua78a\\ua802\\ua806\\ua80b\\ua823-\\ua82b\\ua836-\\ua839"            \
    "\\ua874-\\ua877\\ua880-\\ua881\\ua8b4-\\ua8c4\\ua8ce-\\ua8cf\\ua8e0-\\ua8f1\\ua8f8-\\ua8fa"   \
    "\\ua926-\\ua92f\\ua947-\\ua953\\ua95f\\ua980-\\ua983\\ua9b3-\\ua9cd\\ua9de-\\ua9df"           \
    "\\uaa29-\\uaa36\\uaa43\\uaa4c-\\uaa4d\\uaa5c-\\uaa5f\\uaa77-\\uaa79\\uaa7b\\uaab0"            \
    "\\uaab2-\\uaab4\\uaab7-\\uaab8\\uaabe-\\uaabf\\uaac1\\uaade-\\uaadf\\uaaeb-\\uaaf1"           \
    "\\uaaf5-\\uaaf6\\uabe3-\\uabed\\ufb1e\\ufb29\\ufbb2-\\ufbc1\\ufd3e-\\ufd3f\\ufdfc-\\ufdfd"    \
    "\\ufe00-\\ufe19\\ufe20-\\ufe26\\ufe30-\\ufe52\\ufe54-\\ufe66\\ufe68-\\ufe6b\\ufeff"           \
    "\\uff01-\\uff0f\\uff1a-\\uff20\\uff3b-\\uff40\\uff5b-\\uff65\\uffe0-\\uffe6\\uffe8-\\uffee"   \
    "\\ufff9-\\uffff\\U0001f000-\\U0001f02b\\U0001f030-\\U0001f093\\U0001f0a0-\\U0001f0ae"         \
    "\\U0001f0b1-\\U0001f0be\\U0001f0c1-\\U0001f0cf\\U0001f0d1-\\U0001f0df\\U0001f110-\\U0001f12e" \
    "\\U0001f130-\\U0001f16b\\U0001f170-\\U0001f19a\\U0001f1e6-\\U0001f202\\U0001f210-\\U0001f23a" \
    "\\U0001f240-\\U0001f248\\U0001f250-\\U0001f251\\U0001f300-\\U0001f320\\U0001f330-\\U0001f335" \
    "\\U0001f337-\\U0001f37c\\U0001f380-\\U0001f393\\U0001f3a0-\\U0001f3c4\\U0001f3c6-\\U0001f3ca" \
    "\\U0001f3e0-\\U0001f3f0\\U0001f400-\\U0001f43e\\U0001f440\\U0001f442-\\U0001f4f7"             \
    "\\U0001f4f9-\\U0001f4fc\\U0001f500-\\U0001f53d\\U0001f540-\\U0001f543\\U0001f550-\\U0001f567" \
    "\\U0001f5fb-\\U0001f640\\U0001f645-\\U0001f64f\\U0001f680-\\U0001f6c5\\U0001f700-\\U0001f773" \
    "\\u0338"
#define PG_DROPPED                                                                                 \
    "\\u0300-\\u0304\\u0306-\\u030c\\u030f\\u0311\\u031b\\u0323-\\u0328\\u032d-\\u032e\\u0330-"    \
    "\\u0331"

/* Cost: no index can answer a word-prefix match, so the name part reads
 * the users in id order (the primary key) from the cursor, at most
 * MP_PEOPLE_NAME_SCAN of them per request: SQL_SEARCH_WINDOW_PG finds the
 * last id of that window (?7), and a page that the window cut short ends
 * with a cursor after it (search_run), which a request with fewer rows than
 * limit is allowed to have (store/people.h: "at most limit rows"). Each
 * user in the window costs the cheap filters first, then the folding of its
 * name (about 7 microseconds: some 35 ms for a whole window here). ?2: the
 * words of q (search_words). */
#define MP_PEOPLE_NAME_SCAN 5000
static const char SQL_SEARCH_WINDOW_PG[] =
    "SELECT max(id), count(*) FROM (SELECT id FROM users WHERE id > ?1 ORDER BY id LIMIT ?2) w";
#define PG_WORD_FOLDED PG_FOLD_WORDS("t.w")
#define PG_NAME_FOLDED PG_FOLD_WORDS("u.display_name")
static const char SQL_SEARCH_NAME_PG[] =
    "WITH q AS (SELECT trim(" PG_WORD_FOLDED ") AS w"
    " FROM unnest(string_to_array(?2, ' ')) AS t(w))"
    " SELECT " PROFILE_COLS " FROM users u WHERE u.id > ?3 AND u.id <= ?7"
    " AND NOT (u.username >= ?4 AND u.username < ?5) AND" SEARCHABLE
    " AND EXISTS(SELECT 1 FROM q WHERE q.w <> '')"
    " AND NOT EXISTS(SELECT 1 FROM q WHERE q.w <> ''"
    " AND (' ' || " PG_NAME_FOLDED ") NOT LIKE ('% ' || q.w || '%'))"
    " ORDER BY u.id LIMIT ?6";

static mp_err_t search_usernames(mp_sql_conn_t *db, search_job_t *j)
{
    mp_sql_stmt_t *s;
    mp_err_t rc = MP_OK;
    if (j->part == PART_EXACT) {
        if ((s = mp_sql_prepare(db, SQL_SEARCH_EXACT)) == NULL)
            return MP_ERR_INTERNAL;
        bind_u64(s, 1, j->viewer);
        mp_sql_bind_text(s, 2, j->lo, -1);
        rc = search_collect(db, j, s, PART_EXACT);
    }
    if (rc != MP_OK || j->n > j->limit)
        return rc;
    if ((s = mp_sql_prepare(db, SQL_SEARCH_PREFIX)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->viewer);
    /* After the cursor's name, or after q itself (the exact match). */
    mp_sql_bind_text(
        s, 2, j->part == PART_PREFIX && strcmp(j->after_name, j->lo) > 0 ? j->after_name : j->lo,
        -1);
    mp_sql_bind_text(s, 3, j->hi, -1);
    mp_sql_bind_i64(s, 4, (int64_t)(j->limit + 1 - j->n));
    return search_collect(db, j, s, PART_PREFIX);
}

/* PostgreSQL's name part (see SQL_SEARCH_NAME_PG): the window of users
 * after the cursor, then the matches in it. */
static mp_err_t search_names_pg(mp_sql_conn_t *db, search_job_t *j)
{
    uint64_t after = j->part == PART_NAME ? j->after_id : 0;
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SEARCH_WINDOW_PG);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, after);
    mp_sql_bind_i64(s, 2, MP_PEOPLE_NAME_SCAN);
    int rc = mp_sql_step(s);
    if (rc != MP_SQL_ROW)
        return rc == MP_SQL_DONE ? MP_ERR_INTERNAL : mp_sql_err(db, rc);
    bool none = mp_sql_col_is_null(s, 0);
    uint64_t last = col_u64(s, 0);
    bool cut = mp_sql_col_i64(s, 1) >= MP_PEOPLE_NAME_SCAN;
    mp_sql_reset(s);
    if (none)
        return MP_OK; /* nobody after the cursor */
    if ((s = mp_sql_prepare(db, SQL_SEARCH_NAME_PG)) == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->viewer);
    mp_sql_bind_text(s, 2, j->words, -1);
    bind_u64(s, 3, after);
    mp_sql_bind_text(s, 4, j->lo, -1);
    mp_sql_bind_text(s, 5, j->hi, -1);
    mp_sql_bind_i64(s, 6, (int64_t)(j->limit + 1 - j->n));
    bind_u64(s, 7, last);
    mp_err_t err = search_collect(db, j, s, PART_NAME);
    if (err == MP_OK && cut && j->n <= j->limit)
        j->resume_id = last; /* more users after the window */
    return err;
}

static mp_err_t search_names(mp_sql_conn_t *db, search_job_t *j)
{
    if (mp_sql_is_pg(db))
        return search_names_pg(db, j);
    mp_sql_stmt_t *s = mp_sql_prepare(db, SQL_SEARCH_NAME);
    if (s == NULL)
        return MP_ERR_INTERNAL;
    bind_u64(s, 1, j->viewer);
    mp_sql_bind_text(s, 2, j->match, -1);
    bind_u64(s, 3, j->part == PART_NAME ? j->after_id : 0);
    mp_sql_bind_text(s, 4, j->lo, -1);
    mp_sql_bind_text(s, 5, j->hi, -1);
    mp_sql_bind_i64(s, 6, (int64_t)(j->limit + 1 - j->n));
    return search_collect(db, j, s, PART_NAME);
}

static mp_err_t search_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    search_job_t *j = (search_job_t *)job;
    mp_err_t rc = MP_OK;
    if (j->lo[0] != '\0' && j->part != PART_NAME)
        rc = search_usernames(db, j);
    if (rc == MP_OK && j->n <= j->limit && j->match != NULL)
        rc = search_names(db, j);
    if (rc == MP_OK && j->n <= j->limit && j->resume_id != 0)
        snprintf(j->next, sizeof j->next, "n%llu", (unsigned long long)j->resume_id);
    if (rc != MP_OK || j->n <= j->limit)
        return rc;
    /* One row more than the page: there is a next page, after the last row
     * shown. */
    j->n = j->limit;
    const mp_profile_row_t *last = &j->rows[j->n - 1];
    if (j->row_part[j->n - 1] == PART_NAME)
        snprintf(j->next, sizeof j->next, "n%llu", (unsigned long long)last->id);
    else
        snprintf(j->next, sizeof j->next, "u%s", last->username);
    return MP_OK;
}

static void search_done(mp_sql_job_t *job, mp_err_t rc)
{
    search_job_t *j = (search_job_t *)job;
    if (rc == MP_OK)
        j->cb(rc, j->rows, j->n, j->next[0] ? j->next : NULL, j->ud);
    else
        j->cb(rc, NULL, 0, NULL, j->ud);
    mp_free(j->match);
    mp_free(j->words);
    mp_free(j->rows);
    mp_free(j->row_part);
    mp_free(j);
}

mp_err_t mp_store_people_search(mp_store_t *st, const mp_people_search_in_t *in,
                                mp_people_search_fn cb, void *ud)
{
    MP_ASSERT(in->q != NULL);
    search_job_t *j = mp_calloc(1, sizeof *j);
    if (!search_cursor_parse(j, in->cursor)) {
        mp_free(j);
        return MP_ERR_BAD_REQUEST;
    }
    j->base.run = search_run;
    j->base.done = search_done;
    j->viewer = in->viewer;
    j->limit = in->limit < 1 ? 1 : in->limit > SEARCH_LIMIT_MAX ? SEARCH_LIMIT_MAX : in->limit;
    search_username_range(j, in->q);
    j->match = search_fts_query(in->q);
    j->words = search_words(in->q);
    j->rows = mp_calloc(j->limit + 1, sizeof *j->rows);
    j->row_part = mp_calloc(j->limit + 1, sizeof *j->row_part);
    j->cb = cb;
    j->ud = ud;
    mp_err_t rc = mp_sqlite__read(st, &j->base);
    if (rc != MP_OK) {
        mp_free(j->match);
        mp_free(j->words);
        mp_free(j->rows);
        mp_free(j->row_part);
        mp_free(j);
    }
    return rc;
}
