/* Helpers of the store tests that look into the search index (test_search.c,
 * test_msgs.c) through their own read-only sqlite3 connection, which has
 * search.db attached as `search`. Include after cmocka.h. */
#ifndef MPU_SEARCH_UTIL_H
#define MPU_SEARCH_UTIL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fixture.h"
#include "store/sqlite_chat_int.h"
#include "store/sqlite_job.h"
#include "util/alloc.h"

/* A conversation's key in the index (mp_sqlite__conv_key) as SQL over a
 * row's conversation_id: three code points of U+F0000 + 16 bits each, from
 * the low 48 bits. Tests that index rows by hand write it, so that the C key
 * the queries use is checked against it. */
#define MPU_INDEX_KEY_SQL                                                                          \
    "char(983040 + ((conversation_id >> 32) & 65535),"                                             \
    " 983040 + ((conversation_id >> 16) & 65535),"                                                 \
    " 983040 + (conversation_id & 65535))"

/* The index's entries holding the phrase: found by its trigrams as search
 * finds them (the index keeps no positions), then held to the phrase. */
static inline int64_t mpu_fts_count(sqlite3 *db, const char *phrase)
{
    char *terms = mp_sqlite__fts_query(phrase, 0);
    int64_t n = mpu_peek_int(db,
                             "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH '%s'"
                             " AND (instr(lower(body), lower('%s'))"
                             " OR instr(lower(search_extra), lower('%s')))",
                             terms, phrase, phrase);
    mp_free(terms);
    return n;
}

/* The indexer's watermark (messages above it are not in the index yet). */
static inline uint64_t mpu_fts_upto(sqlite3 *db)
{
    return (uint64_t)mpu_peek_int(db, "SELECT upto FROM search.state");
}

/* Whether the indexer has reached the last message and applied the last
 * change (a wait predicate; ud is the peeking connection). */
static inline bool mpu_fts_caught_up(void *ud)
{
    sqlite3 *db = ud;
    return mpu_fts_upto(db) >= (uint64_t)mpu_peek_int(db, "SELECT max(id) FROM messages") &&
           mpu_peek_int(db, "SELECT changes_upto FROM search.state") >=
               mpu_peek_int(db, "SELECT coalesce(max(seq), 0) FROM search_changes");
}

/* Lets the indexer run (its timer) until it has caught up. */
static inline void mpu_fts_catch_up(mpu_store_t *s, sqlite3 *db)
{
    mp_sqlite__index_hold(s->st, false);
    MPU_WAIT_UNTIL(&s->loop, mpu_fts_caught_up, db);
}

#endif
