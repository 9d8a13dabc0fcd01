/* The write side of message changes against a real SQLite store in a
 * temporary directory, calling the store ops directly:
 * - send: the reply snapshot (UTF-8 safe), replies across conversations,
 *   mentions and @all with their marks, contacts;
 * - edit: own only, the window, deleted messages, the index follows;
 * - delete for everyone erases the content in the database itself (read
 *   back with a raw connection), the recall window, the group hierarchy,
 *   world moderators; delete for me;
 * - forward: copies with their origin, unreadable sources, 100 ids, dedup;
 * - sync: from every version, exactly the messages stored or changed above
 *   it (new ones found by seq, changed ones in messages_changed), also for
 *   rows from before migration 10 and across that migration.
 * Every wait runs the loop until the callback under test has fired. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fixture.h"
#include "search_util.h"
#include "store/chat.h"
#include "store/groups.h"
#include "store/messages.h"
#include "store/sqlite_chat_int.h"
#include "store/world.h"
#include "util/alloc.h"
#include "util/id.h"

/* Migration 6's generated conv_key column over a row's conversation_id
 * (four code points of U+F0000 + 16 bits each), which the test of the
 * migrations from version 9 puts back by hand. */
#define OLD_CONV_KEY_SQL                                                                           \
    "char(983040 + ((conversation_id >> 48) & 65535),"                                             \
    " 983040 + ((conversation_id >> 32) & 65535),"                                                 \
    " 983040 + ((conversation_id >> 16) & 65535),"                                                 \
    " 983040 + (conversation_id & 65535))"

enum { OWNER = 4001, ADMIN = 4002, MEMBER = 4003, OTHER = 4004, OUT = 4005 };

typedef struct {
    mpu_store_t s;
    int64_t now;
    sqlite3 *peek;
    uint64_t world;
} fx_t;

/* The text column of the one row sql selects ("<null>" for NULL). */
static void peek_text(fx_t *f, char *out, size_t n, const char *fmt, ...)
{
    char sql[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(f->peek, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(f->peek));
    if (sqlite3_step(s) != SQLITE_ROW)
        fail_msg("no row: %s", sql);
    const unsigned char *t = sqlite3_column_text(s, 0);
    snprintf(out, n, "%s", t ? (const char *)t : "<null>");
    sqlite3_finalize(s);
}

static void exec_sql(fx_t *f, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(f->peek, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

/* File 5: an upload of MEMBER that the file messages below name (the send
 * checks it exists and that the sender may read it). */
#define SEED_FILE                                                                                  \
    "INSERT INTO blobs(id, sha256, skey, size, serve_size, mime, serve_mime, class, meta,"         \
    " created_at) VALUES(1, 'f5', 'f5-5', 9, 9, 'application/pdf', 'application/pdf', 'file',"     \
    " '{}', 1);"                                                                                   \
    "INSERT INTO files(id, owner_id, blob_id, name, size, created_at) VALUES(5, 4003, 1, 'x', 9, " \
    "1)"

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    if (mpu_store_open(&f->s) != 0)
        return -1;
    mp_id_init(4);
    assert_int_equal(sqlite3_open(mpu_store_db_path(&f->s), &f->peek), SQLITE_OK);
    sqlite3_busy_timeout(f->peek, 5000);
    char attach[128];
    snprintf(attach, sizeof attach, "ATTACH '%s/search.db' AS search", f->s.dir);
    exec_sql(f, attach);
    mpu_user_add(&f->s, OWNER, "olga", "Olga", false);
    mpu_user_add(&f->s, ADMIN, "adam", "Adam", false);
    mpu_user_add(&f->s, MEMBER, "mia", "Mia", false);
    mpu_user_add(&f->s, OTHER, "otto", "Otto", false);
    mpu_user_add(&f->s, OUT, "fay", "Fay", false);
    f->now = 1700000000000LL;
    assert_int_equal(mp_store_world_ensure(f->s.st, f->now, &f->world), MP_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    sqlite3_close(f->peek);
    mpu_store_close(&f->s);
    free(f);
    return 0;
}

/* ---- send ---------------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t id, conv;
    int64_t seq, version;
    bool dup;
    char bad_field[16], quote_kind[16], quote_text[512], mentions[128];
    uint64_t quote_sender;
} send_res_t;

static void on_send(mp_err_t rc, const mp_chat_send_out_t *o, void *ud)
{
    send_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (o != NULL && o->bad_field != NULL)
        snprintf(r->bad_field, sizeof r->bad_field, "%s", o->bad_field);
    if (rc == MP_OK) {
        r->id = o->msg.id;
        r->conv = o->msg.conversation_id;
        r->seq = o->msg.seq;
        r->version = o->msg.version;
        r->dup = o->duplicate;
        r->quote_sender = o->msg.quote_sender;
        snprintf(r->quote_kind, sizeof r->quote_kind, "%s",
                 o->msg.quote_kind ? o->msg.quote_kind : "");
        snprintf(r->quote_text, sizeof r->quote_text, "%s",
                 o->msg.quote_text ? o->msg.quote_text : "");
        snprintf(r->mentions, sizeof r->mentions, "%s", o->msg.mentions ? o->msg.mentions : "");
    }
}

static int cmid_n;

/* Sends `in` (client_msg_id and now filled in when not given). */
static send_res_t send_in(fx_t *f, mp_chat_send_in_t in)
{
    char cmid[32];
    if (in.client_msg_id == NULL) {
        snprintf(cmid, sizeof cmid, "c%d", ++cmid_n);
        in.client_msg_id = cmid;
    }
    if (in.text == NULL)
        in.text = "";
    in.text_len = strlen(in.text);
    in.now_ms = in.now_ms ? in.now_ms : ++f->now;
    send_res_t r = {0};
    assert_int_equal(mp_store_chat_send(f->s.st, &in, on_send, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static send_res_t say(fx_t *f, uint64_t from, uint64_t conv, const char *text)
{
    send_res_t r = send_in(
        f, (mp_chat_send_in_t){
               .sender_id = from, .sender_device = from, .conversation_id = conv, .text = text});
    assert_int_equal(r.rc, MP_OK);
    return r;
}

static uint64_t direct_of(fx_t *f, uint64_t a, uint64_t b)
{
    send_res_t r = send_in(
        f, (mp_chat_send_in_t){.sender_id = a, .sender_device = a, .to_user_id = b, .text = "hi"});
    assert_int_equal(r.rc, MP_OK);
    return r.conv;
}

/* ---- groups ------------------------------------------------------------------------ */

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t conv;
} op_res_t;

static void on_op(mp_err_t rc, const mp_group_op_out_t *o, void *ud)
{
    op_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_OK)
        r->conv = o->conversation_id;
}

static op_res_t op_now(fx_t *f, mp_group_op_in_t in)
{
    op_res_t r = {0};
    in.now_ms = ++f->now;
    in.max_members = 1000;
    assert_int_equal(mp_store_group_op(f->s.st, &in, on_op, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

/* OWNER's group with ADMIN (an admin), MEMBER and OTHER. */
static uint64_t group_new(fx_t *f)
{
    uint64_t users[] = {ADMIN, MEMBER, OTHER};
    op_res_t r = op_now(f, (mp_group_op_in_t){.op = MP_GOP_CREATE,
                                              .actor_id = OWNER,
                                              .title = "Birds",
                                              .user_ids = users,
                                              .n_users = 3});
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(op_now(f, (mp_group_op_in_t){.op = MP_GOP_ROLE,
                                                  .actor_id = OWNER,
                                                  .conversation_id = r.conv,
                                                  .target_id = ADMIN,
                                                  .role = MP_GROUP_ADMIN})
                         .rc,
                     MP_OK);
    return r.conv;
}

/* ---- edit / delete ------------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    int64_t version, edited_at, deleted_at;
    char text[128];
} msg_res_t;

static void on_msg(mp_err_t rc, const mp_msg_row_t *m, void *ud)
{
    msg_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_OK) {
        assert_non_null(m);
        r->version = m->version;
        r->edited_at = m->edited_at;
        r->deleted_at = m->deleted_at;
        snprintf(r->text, sizeof r->text, "%s", m->text);
    }
}

#define HOUR (3600 * 1000LL)

static msg_res_t edit_at(fx_t *f, uint64_t actor, uint64_t conv, uint64_t mid, const char *text,
                         int64_t now)
{
    msg_res_t r = {0};
    mp_msg_actor_t a = {.user_id = actor};
    assert_int_equal(mp_store_msg_edit(f->s.st, &a, conv, mid, text, strlen(text), 48 * HOUR,
                                       now ? now : ++f->now, on_msg, &r),
                     MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static msg_res_t delete_as(fx_t *f, uint64_t actor, const char *mods, uint64_t conv, uint64_t mid,
                           bool everyone, int64_t now)
{
    msg_res_t r = {0};
    mp_msg_actor_t a = {.user_id = actor, .world_moderators = mods};
    assert_int_equal(mp_store_msg_delete(f->s.st, &a, conv, mid, everyone, 2 * 60 * 1000,
                                         now ? now : ++f->now, on_msg, &r),
                     MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static void fts_intact(fx_t *f)
{
    exec_sql(f, "INSERT INTO messages_fts(messages_fts, rank) VALUES('integrity-check', 0)");
}

/* ---- tests: send ------------------------------------------------------------------------ */

static void test_reply_snapshot(void **state)
{
    fx_t *f = *state;
    uint64_t d = direct_of(f, OWNER, MEMBER);
    /* 150 two-byte characters: the snapshot keeps 100 of them, whole. */
    char long_text[301];
    for (int i = 0; i < 150; i++)
        memcpy(long_text + 2 * i, "\xc3\xa9", 2);
    long_text[300] = '\0';
    send_res_t q = say(f, MEMBER, d, long_text);
    send_res_t r = send_in(f, (mp_chat_send_in_t){.sender_id = OWNER,
                                                  .sender_device = OWNER,
                                                  .conversation_id = d,
                                                  .text = "indeed",
                                                  .reply_to = q.id});
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(strlen(r.quote_text), 200);
    assert_memory_equal(r.quote_text, long_text, 200);
    assert_string_equal(r.quote_kind, "text");
    assert_true(r.quote_sender == MEMBER);
    assert_int_equal(mpu_peek_int(f->peek,
                                  "SELECT length(quote_text) FROM messages WHERE id = %llu",
                                  (unsigned long long)r.id),
                     100);
    assert_true((uint64_t)mpu_peek_int(f->peek, "SELECT reply_to FROM messages WHERE id = %llu",
                                       (unsigned long long)r.id) == q.id);

    /* A message of another conversation, or none at all: not_found. */
    uint64_t g = group_new(f);
    send_res_t other = say(f, OWNER, g, "elsewhere");
    send_res_t bad = send_in(f, (mp_chat_send_in_t){.sender_id = OWNER,
                                                    .sender_device = OWNER,
                                                    .conversation_id = d,
                                                    .text = "x",
                                                    .reply_to = other.id});
    assert_int_equal(bad.rc, MP_ERR_NOT_FOUND);
    assert_string_equal(bad.bad_field, "reply_to");
    bad = send_in(f, (mp_chat_send_in_t){.sender_id = OWNER,
                                         .sender_device = OWNER,
                                         .conversation_id = d,
                                         .text = "x",
                                         .reply_to = 12345});
    assert_int_equal(bad.rc, MP_ERR_NOT_FOUND);
    /* A contact naming nobody. */
    bad = send_in(f, (mp_chat_send_in_t){.sender_id = OWNER,
                                         .sender_device = OWNER,
                                         .conversation_id = d,
                                         .kind = "contact",
                                         .content = "{\"user_id\":\"999\"}",
                                         .contact_user = 999});
    assert_int_equal(bad.rc, MP_ERR_NOT_FOUND);
    assert_string_equal(bad.bad_field, "content");
    send_res_t ok = send_in(f, (mp_chat_send_in_t){.sender_id = OWNER,
                                                   .sender_device = OWNER,
                                                   .conversation_id = d,
                                                   .kind = "contact",
                                                   .content = "{\"user_id\":\"4004\"}",
                                                   .contact_user = OTHER});
    assert_int_equal(ok.rc, MP_OK);
    char content[64];
    peek_text(f, content, sizeof content, "SELECT content FROM messages WHERE id = %llu",
              (unsigned long long)ok.id);
    assert_string_equal(content, "{\"user_id\":\"4004\"}");
}

static void test_mentions(void **state)
{
    fx_t *f = *state;
    uint64_t g = group_new(f);
    uint64_t out[] = {OUT};
    send_res_t r = send_in(f, (mp_chat_send_in_t){.sender_id = MEMBER,
                                                  .sender_device = MEMBER,
                                                  .conversation_id = g,
                                                  .text = "hey",
                                                  .mentions = out,
                                                  .n_mentions = 1});
    assert_int_equal(r.rc, MP_ERR_BAD_REQUEST);
    assert_string_equal(r.bad_field, "mentions");

    uint64_t two[] = {ADMIN, MEMBER, ADMIN};
    r = send_in(f, (mp_chat_send_in_t){.sender_id = MEMBER,
                                       .sender_device = MEMBER,
                                       .conversation_id = g,
                                       .text = "hey",
                                       .mentions = two,
                                       .n_mentions = 3});
    assert_int_equal(r.rc, MP_OK);
    assert_string_equal(r.mentions, "4002,4003");
    /* A mark for ADMIN only: the sender does not mention themself. */
    assert_int_equal(mpu_peek_int(f->peek,
                                  "SELECT count(*) FROM mention_marks WHERE conversation_id = %llu"
                                  " AND seq = %lld",
                                  (unsigned long long)g, (long long)r.seq),
                     1);
    assert_int_equal(mpu_peek_int(f->peek,
                                  "SELECT user_id FROM mention_marks WHERE conversation_id = %llu"
                                  " AND seq = %lld",
                                  (unsigned long long)g, (long long)r.seq),
                     ADMIN);

    /* @all: admins and the owner only, groups only. */
    r = send_in(f, (mp_chat_send_in_t){.sender_id = MEMBER,
                                       .sender_device = MEMBER,
                                       .conversation_id = g,
                                       .text = "all!",
                                       .mention_all = true});
    assert_int_equal(r.rc, MP_ERR_NOT_ALLOWED);
    assert_string_equal(r.bad_field, "mention_all");
    r = send_in(f, (mp_chat_send_in_t){.sender_id = ADMIN,
                                       .sender_device = ADMIN,
                                       .conversation_id = g,
                                       .text = "all!",
                                       .mention_all = true});
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(mpu_peek_int(f->peek,
                                  "SELECT count(*) FROM mention_marks WHERE conversation_id = %llu"
                                  " AND seq = %lld AND user_id = 0",
                                  (unsigned long long)g, (long long)r.seq),
                     1);
    uint64_t d = direct_of(f, OWNER, MEMBER);
    r = send_in(f, (mp_chat_send_in_t){.sender_id = OWNER,
                                       .sender_device = OWNER,
                                       .conversation_id = d,
                                       .text = "all?",
                                       .mention_all = true});
    assert_int_equal(r.rc, MP_ERR_BAD_REQUEST);
    assert_string_equal(r.bad_field, "mention_all");

    /* The world: any existing user. */
    r = send_in(f, (mp_chat_send_in_t){.sender_id = OTHER,
                                       .sender_device = OTHER,
                                       .conversation_id = f->world,
                                       .text = "hey fay",
                                       .mentions = out,
                                       .n_mentions = 1});
    assert_int_equal(r.rc, MP_OK);
    uint64_t ghost[] = {777};
    r = send_in(f, (mp_chat_send_in_t){.sender_id = OTHER,
                                       .sender_device = OTHER,
                                       .conversation_id = f->world,
                                       .text = "hey ghost",
                                       .mentions = ghost,
                                       .n_mentions = 1});
    assert_int_equal(r.rc, MP_ERR_BAD_REQUEST);
    /* Refused sends left nothing behind. */
    assert_int_equal(
        mpu_peek_int(f->peek, "SELECT count(*) FROM messages WHERE body IN ('all?', 'hey ghost')"),
        0);
}

/* ---- tests: edit --------------------------------------------------------------------------- */

static void test_edit(void **state)
{
    fx_t *f = *state;
    uint64_t g = group_new(f);
    /* Edited before the indexer reached it: the index is left alone, and
     * the indexer takes the text as it is then. */
    mp_sqlite__index_hold(f->s.st, true);
    send_res_t m = say(f, MEMBER, g, "first draft");
    assert_true(mpu_fts_upto(f->peek) < m.id);
    assert_int_equal(edit_at(f, MEMBER, g, m.id, "early text", 0).rc, MP_OK);
    assert_int_equal(mpu_fts_count(f->peek, "draft") + mpu_fts_count(f->peek, "early"), 0);
    mpu_fts_catch_up(&f->s, f->peek);
    assert_int_equal(mpu_fts_count(f->peek, "draft"), 0);
    assert_int_equal(mpu_fts_count(f->peek, "early"), 1);
    fts_intact(f);

    /* Edited below the watermark: the entry is replaced once the indexer
     * has applied the change (test_search.c shows search meanwhile). */
    msg_res_t e = edit_at(f, MEMBER, g, m.id, "final wording", 0);
    assert_int_equal(e.rc, MP_OK);
    assert_string_equal(e.text, "final wording");
    assert_true(e.version > m.version);
    assert_int_equal(e.edited_at, f->now);
    assert_int_equal(mpu_peek_int(f->peek, "SELECT version FROM messages WHERE id = %llu",
                                  (unsigned long long)m.id),
                     e.version);
    assert_int_equal(mpu_peek_int(f->peek, "SELECT version FROM conversations WHERE id = %llu",
                                  (unsigned long long)g),
                     e.version);
    /* The index follows the text. */
    mpu_fts_catch_up(&f->s, f->peek);
    assert_int_equal(mpu_fts_count(f->peek, "early"), 0);
    assert_int_equal(mpu_fts_count(f->peek, "wording"), 1);
    fts_intact(f);

    assert_int_equal(edit_at(f, OWNER, g, m.id, "not yours", 0).rc, MP_ERR_FORBIDDEN);
    assert_int_equal(edit_at(f, OUT, g, m.id, "outsider", 0).rc, MP_ERR_NOT_MEMBER);
    assert_int_equal(edit_at(f, MEMBER, g, m.id, "too late", f->now + 49 * HOUR).rc,
                     MP_ERR_TOO_LATE);
    assert_int_equal(edit_at(f, MEMBER, g, 424242, "none", 0).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(edit_at(f, MEMBER, g, m.id, "", 0).rc, MP_ERR_BAD_REQUEST);
    send_res_t loc = send_in(f, (mp_chat_send_in_t){.sender_id = MEMBER,
                                                    .sender_device = MEMBER,
                                                    .conversation_id = g,
                                                    .kind = "location",
                                                    .content = "{\"latitude\":1,\"longitude\":2}"});
    assert_int_equal(loc.rc, MP_OK);
    assert_int_equal(edit_at(f, MEMBER, g, loc.id, "caption", 0).rc, MP_ERR_BAD_REQUEST);

    /* A mute stops edits as it stops sends. */
    assert_int_equal(op_now(f, (mp_group_op_in_t){.op = MP_GOP_MUTE,
                                                  .actor_id = OWNER,
                                                  .conversation_id = g,
                                                  .target_id = MEMBER,
                                                  .until = f->now + HOUR})
                         .rc,
                     MP_OK);
    assert_int_equal(edit_at(f, MEMBER, g, m.id, "muted", 0).rc, MP_ERR_MUTED);

    assert_int_equal(delete_as(f, OWNER, NULL, g, m.id, true, 0).rc, MP_OK);
    assert_int_equal(edit_at(f, MEMBER, g, m.id, "gone", f->now + 2 * HOUR).rc, MP_ERR_NOT_FOUND);
}

/* ---- tests: delete ------------------------------------------------------------------------- */

static void test_delete_erases(void **state)
{
    fx_t *f = *state;
    uint64_t g = group_new(f);
    exec_sql(f, SEED_FILE);
    uint64_t ment[] = {OTHER};
    send_res_t m =
        send_in(f, (mp_chat_send_in_t){.sender_id = MEMBER,
                                       .sender_device = MEMBER,
                                       .conversation_id = g,
                                       .kind = "file",
                                       .text = "secret plans",
                                       .content = "{\"file_id\":\"5\",\"name\":\"x.pdf\"}",
                                       .search_extra = "hidden-name.pdf",
                                       .mentions = ment,
                                       .n_mentions = 1});
    assert_int_equal(m.rc, MP_OK);
    send_res_t reply = send_in(f, (mp_chat_send_in_t){.sender_id = OTHER,
                                                      .sender_device = OTHER,
                                                      .conversation_id = g,
                                                      .text = "about those plans",
                                                      .reply_to = m.id});
    assert_int_equal(reply.rc, MP_OK);
    assert_string_equal(reply.quote_text, "secret plans");
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO reactions VALUES(%llu, 'x', %d, 1);"
             "UPDATE messages SET n_reactions = 1, pinned_at = 5, pinned_by = %d WHERE id = %llu",
             (unsigned long long)m.id, OWNER, OWNER, (unsigned long long)m.id);
    exec_sql(f, sql);
    assert_int_equal(mpu_peek_int(f->peek, "SELECT count(*) FROM file_refs WHERE message_id = %llu",
                                  (unsigned long long)m.id),
                     1);
    mpu_fts_catch_up(&f->s, f->peek);
    assert_int_equal(mpu_fts_count(f->peek, "secret"), 1);
    assert_int_equal(mpu_fts_count(f->peek, "hidden-name"), 1);

    msg_res_t d = delete_as(f, MEMBER, NULL, g, m.id, true, 0);
    assert_int_equal(d.rc, MP_OK);
    assert_string_equal(d.text, "");
    assert_int_equal(d.deleted_at, f->now);

    /* What the database holds now. */
    unsigned long long id = (unsigned long long)m.id;
    char t[128];
    peek_text(f, t, sizeof t, "SELECT body FROM messages WHERE id = %llu", id);
    assert_string_equal(t, "");
    peek_text(f, t, sizeof t,
              "SELECT coalesce(content, '') || coalesce(search_extra, '') ||"
              " coalesce(mentions, '') || coalesce(quote_text, '') FROM messages WHERE id = %llu",
              id);
    assert_string_equal(t, "");
    assert_int_equal(mpu_peek_int(f->peek, "SELECT deleted_at FROM messages WHERE id = %llu", id),
                     f->now);
    assert_int_equal(
        mpu_peek_int(f->peek, "SELECT n_reactions + pinned_at FROM messages WHERE id = %llu", id),
        0);
    assert_int_equal(
        mpu_peek_int(f->peek, "SELECT count(*) FROM reactions WHERE message_id = %llu", id), 0);
    assert_int_equal(
        mpu_peek_int(f->peek, "SELECT count(*) FROM file_refs WHERE message_id = %llu", id), 0);
    assert_int_equal(mpu_peek_int(f->peek,
                                  "SELECT count(*) FROM mention_marks WHERE conversation_id = %llu"
                                  " AND seq = %lld",
                                  (unsigned long long)g, (long long)m.seq),
                     0);
    mpu_fts_catch_up(&f->s, f->peek);
    assert_int_equal(mpu_fts_count(f->peek, "secret"), 0);
    assert_int_equal(mpu_fts_count(f->peek, "hidden-name"), 0);
    assert_int_equal(mpu_fts_count(f->peek, "plans"), 1); /* the reply's own text stays */
    fts_intact(f);
    /* The reply lost its snapshot, with the same new version. */
    unsigned long long rid = (unsigned long long)reply.id;
    assert_int_equal(
        mpu_peek_int(f->peek, "SELECT quote_deleted FROM messages WHERE id = %llu", rid), 1);
    peek_text(f, t, sizeof t,
              "SELECT coalesce(quote_text, '') || coalesce(quote_kind, '') FROM messages"
              " WHERE id = %llu",
              rid);
    assert_string_equal(t, "");
    assert_int_equal(mpu_peek_int(f->peek, "SELECT version FROM messages WHERE id = %llu", rid),
                     d.version);
    assert_int_equal(mpu_peek_int(f->peek, "SELECT version FROM messages WHERE id = %llu", id),
                     d.version);

    /* Again: nothing changes. */
    msg_res_t again = delete_as(f, MEMBER, NULL, g, m.id, true, 0);
    assert_int_equal(again.rc, MP_OK);
    assert_int_equal(again.version, d.version);
}

/* Deleted before the indexer reached it: the index never gets the text,
 * and the watermark still moves past it. */
static void test_delete_before_indexed(void **state)
{
    fx_t *f = *state;
    uint64_t g = group_new(f);
    exec_sql(f, SEED_FILE);
    mp_sqlite__index_hold(f->s.st, true);
    send_res_t m = send_in(f, (mp_chat_send_in_t){.sender_id = MEMBER,
                                                  .sender_device = MEMBER,
                                                  .conversation_id = g,
                                                  .kind = "file",
                                                  .text = "classified memo",
                                                  .content = "{\"file_id\":\"5\",\"name\":\"x\"}",
                                                  .search_extra = "covert-name.pdf"});
    assert_int_equal(m.rc, MP_OK);
    send_res_t kept = say(f, MEMBER, g, "a memo that stays");
    assert_true(mpu_fts_upto(f->peek) < m.id);
    assert_int_equal(delete_as(f, MEMBER, NULL, g, m.id, true, 0).rc, MP_OK);
    assert_int_equal(mpu_fts_count(f->peek, "memo"), 0);
    mpu_fts_catch_up(&f->s, f->peek);
    assert_true(mpu_fts_upto(f->peek) >= kept.id);
    assert_int_equal(mpu_fts_count(f->peek, "classified"), 0);
    assert_int_equal(mpu_fts_count(f->peek, "covert"), 0);
    assert_int_equal(mpu_fts_count(f->peek, "memo"), 1);
    /* The index's own table of entries (the text it indexed, by id). */
    assert_int_equal(mpu_peek_int(f->peek,
                                  "SELECT count(*) FROM messages_fts_content WHERE id = %llu",
                                  (unsigned long long)m.id),
                     0);
    assert_int_equal(mpu_peek_int(f->peek,
                                  "SELECT count(*) FROM messages_fts_content WHERE id = %llu",
                                  (unsigned long long)kept.id),
                     1);
    fts_intact(f);
}

static void test_delete_rights(void **state)
{
    fx_t *f = *state;
    uint64_t g = group_new(f);
    int64_t late = 3 * 60 * 1000; /* past the 2-minute recall window */
    send_res_t mine = say(f, MEMBER, g, "m1");
    assert_int_equal(delete_as(f, MEMBER, NULL, g, mine.id, true, f->now + late).rc,
                     MP_ERR_TOO_LATE);
    assert_int_equal(delete_as(f, OTHER, NULL, g, mine.id, true, 0).rc, MP_ERR_FORBIDDEN);
    assert_int_equal(delete_as(f, OUT, NULL, g, mine.id, true, 0).rc, MP_ERR_NOT_MEMBER);
    assert_int_equal(delete_as(f, ADMIN, NULL, g, mine.id, true, f->now + late).rc, MP_OK);

    send_res_t owners = say(f, OWNER, g, "o1");
    assert_int_equal(delete_as(f, ADMIN, NULL, g, owners.id, true, 0).rc, MP_ERR_FORBIDDEN);
    send_res_t admins = say(f, ADMIN, g, "a1");
    assert_int_equal(delete_as(f, OWNER, NULL, g, admins.id, true, 0).rc, MP_OK);
    /* Admins are not bound by the window on their own messages. */
    send_res_t admins2 = say(f, ADMIN, g, "a2");
    assert_int_equal(delete_as(f, ADMIN, NULL, g, admins2.id, true, f->now + late).rc, MP_OK);

    /* Direct: the sender within the window only. */
    uint64_t d = direct_of(f, MEMBER, OTHER);
    send_res_t dm = say(f, MEMBER, d, "dm");
    assert_int_equal(delete_as(f, OTHER, NULL, d, dm.id, true, 0).rc, MP_ERR_FORBIDDEN);
    assert_int_equal(delete_as(f, MEMBER, NULL, d, dm.id, true, 0).rc, MP_OK);

    /* World: moderators (case-insensitive), or the sender in the window. */
    send_res_t w = say(f, MEMBER, f->world, "world hello");
    assert_int_equal(delete_as(f, OTHER, NULL, f->world, w.id, true, 0).rc, MP_ERR_FORBIDDEN);
    assert_int_equal(delete_as(f, OTHER, "fay,ottokar", f->world, w.id, true, 0).rc,
                     MP_ERR_FORBIDDEN);
    assert_int_equal(delete_as(f, MEMBER, NULL, f->world, w.id, true, f->now + late).rc,
                     MP_ERR_TOO_LATE);
    assert_int_equal(delete_as(f, OTHER, "fay, OTTO", f->world, w.id, true, f->now + late).rc,
                     MP_OK);

    /* A kicked member loses the right at once. */
    send_res_t k = say(f, OTHER, g, "bye");
    assert_int_equal(op_now(f, (mp_group_op_in_t){.op = MP_GOP_REMOVE,
                                                  .actor_id = OWNER,
                                                  .conversation_id = g,
                                                  .target_id = OTHER})
                         .rc,
                     MP_OK);
    assert_int_equal(delete_as(f, OTHER, NULL, g, k.id, true, 0).rc, MP_ERR_NOT_MEMBER);
}

static void test_delete_for_me(void **state)
{
    fx_t *f = *state;
    uint64_t d = direct_of(f, MEMBER, OTHER);
    send_res_t m = say(f, OTHER, d, "for me only");
    msg_res_t h = delete_as(f, MEMBER, NULL, d, m.id, false, 0);
    assert_int_equal(h.rc, MP_OK);
    assert_string_equal(h.text, "for me only");
    assert_true(h.version > m.version);
    assert_int_equal(mpu_peek_int(f->peek,
                                  "SELECT version FROM hidden_messages WHERE user_id = %d AND"
                                  " message_id = %llu",
                                  MEMBER, (unsigned long long)m.id),
                     h.version);
    msg_res_t twice = delete_as(f, MEMBER, NULL, d, m.id, false, 0);
    assert_int_equal(twice.rc, MP_OK);
    assert_int_equal(twice.version, h.version);
    assert_int_equal(mpu_peek_int(f->peek, "SELECT count(*) FROM hidden_messages"), 1);
    /* Hidden for MEMBER only; OTHER still sees it. */
    assert_int_equal(delete_as(f, MEMBER, NULL, d, m.id, true, 0).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(edit_at(f, OTHER, d, m.id, "edited", 0).rc, MP_OK);
    assert_int_equal(delete_as(f, OUT, NULL, d, m.id, false, 0).rc, MP_ERR_NOT_MEMBER);
}

/* ---- tests: forward ------------------------------------------------------------------------ */

typedef struct {
    int done;
    mp_err_t rc;
    bool dup;
    size_t n;
    uint64_t ids[MP_CHAT_FORWARD_MAX];
    uint64_t fwd_sender0;
    int64_t fwd_at0, seq_last;
    char cmid_last[72], bad_field[16];
} fwd_res_t;

static void on_fwd(mp_err_t rc, const mp_msg_forward_out_t *o, void *ud)
{
    fwd_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (o != NULL && o->bad_field != NULL)
        snprintf(r->bad_field, sizeof r->bad_field, "%s", o->bad_field);
    if (rc == MP_OK) {
        r->dup = o->duplicate;
        r->n = o->n;
        for (size_t i = 0; i < o->n; i++)
            r->ids[i] = o->msgs[i].id;
        r->fwd_sender0 = o->msgs[0].fwd_sender;
        r->fwd_at0 = o->msgs[0].fwd_at;
        r->seq_last = o->msgs[o->n - 1].seq;
        snprintf(r->cmid_last, sizeof r->cmid_last, "%s", o->msgs[o->n - 1].client_msg_id);
    }
}

static fwd_res_t forward(fx_t *f, uint64_t who, uint64_t from, const uint64_t *ids, size_t n,
                         uint64_t to_conv, const char *cmid)
{
    fwd_res_t *r = calloc(1, sizeof *r);
    mp_msg_forward_in_t in = {.sender_id = who,
                              .sender_device = who,
                              .from_conversation = from,
                              .message_ids = ids,
                              .n = n,
                              .conversation_id = to_conv,
                              .client_msg_id = cmid,
                              .now_ms = ++f->now};
    assert_int_equal(mp_store_msg_forward(f->s.st, &in, on_fwd, r), MP_OK);
    MPU_WAIT(&f->s.loop, &r->done, 1);
    fwd_res_t out = *r;
    free(r);
    return out;
}

static void test_forward(void **state)
{
    fx_t *f = *state;
    uint64_t d = direct_of(f, MEMBER, OTHER);
    uint64_t g = group_new(f);
    send_res_t a = say(f, OTHER, d, "worth sharing");
    int64_t a_at = f->now;
    send_res_t b = say(f, MEMBER, d, "me too");
    uint64_t ids[] = {a.id, b.id};

    fwd_res_t r = forward(f, MEMBER, d, ids, 2, g, "fw1");
    assert_int_equal(r.rc, MP_OK);
    assert_false(r.dup);
    assert_int_equal(r.n, 2);
    assert_true(r.fwd_sender0 == OTHER);
    assert_int_equal(r.fwd_at0, a_at);
    assert_string_equal(r.cmid_last, "fw1/1");
    assert_int_equal(mpu_peek_int(f->peek, "SELECT last_seq FROM conversations WHERE id = %llu",
                                  (unsigned long long)g),
                     r.seq_last);
    assert_int_equal(mpu_peek_int(f->peek,
                                  "SELECT read_seq FROM members WHERE conversation_id = %llu AND"
                                  " user_id = %d",
                                  (unsigned long long)g, MEMBER),
                     r.seq_last);
    /* Copies are indexed like sends: by the indexer, after the ack. */
    mpu_fts_catch_up(&f->s, f->peek);
    assert_int_equal(mpu_peek_int(f->peek,
                                  "SELECT count(*) FROM messages_fts_content WHERE id = %llu",
                                  (unsigned long long)r.ids[0]),
                     1);

    /* The retry: the same copies, nothing new. */
    fwd_res_t again = forward(f, MEMBER, d, ids, 2, g, "fw1");
    assert_int_equal(again.rc, MP_OK);
    assert_true(again.dup);
    assert_int_equal(again.n, 2);
    assert_true(again.ids[0] == r.ids[0] && again.ids[1] == r.ids[1]);

    /* A forward of a forward names the first sender. */
    uint64_t copy0[] = {r.ids[0]};
    fwd_res_t second = forward(f, OWNER, g, copy0, 1, f->world, "fw2");
    assert_int_equal(second.rc, MP_OK);
    assert_true(second.fwd_sender0 == OTHER);
    assert_int_equal(second.fwd_at0, a_at);

    /* Sources the caller may not read. */
    fwd_res_t bad = forward(f, OWNER, d, ids, 2, g, "fw3");
    assert_int_equal(bad.rc, MP_ERR_NOT_MEMBER);
    assert_string_equal(bad.bad_field, "from");
    uint64_t mixed[] = {a.id, r.ids[1]};
    bad = forward(f, MEMBER, d, mixed, 2, g, "fw4");
    assert_int_equal(bad.rc, MP_ERR_NOT_FOUND);
    assert_string_equal(bad.bad_field, "message_ids");
    assert_int_equal(delete_as(f, MEMBER, NULL, d, b.id, false, 0).rc, MP_OK);
    bad = forward(f, MEMBER, d, ids, 2, g, "fw5");
    assert_int_equal(bad.rc, MP_ERR_NOT_FOUND);
    /* A target the caller may not post in. */
    bad = forward(f, OUT, f->world, copy0, 1, g, "fw6");
    assert_int_equal(bad.rc, MP_ERR_NOT_FOUND); /* the copy is not in the world */
    uint64_t wmsg[] = {second.ids[0]};
    bad = forward(f, OUT, f->world, wmsg, 1, g, "fw7");
    assert_int_equal(bad.rc, MP_ERR_NOT_MEMBER);
    assert_int_equal(
        mpu_peek_int(f->peek, "SELECT count(*) FROM messages WHERE client_msg_id LIKE 'fw7/%%'"),
        0);

    /* 100 at once. */
    uint64_t many[MP_CHAT_FORWARD_MAX];
    for (size_t i = 0; i < MP_CHAT_FORWARD_MAX; i++) {
        char t[16];
        snprintf(t, sizeof t, "n%zu", i);
        many[i] = say(f, MEMBER, g, t).id;
    }
    fwd_res_t hundred = forward(f, MEMBER, g, many, MP_CHAT_FORWARD_MAX, d, "fw8");
    assert_int_equal(hundred.rc, MP_OK);
    assert_int_equal(hundred.n, MP_CHAT_FORWARD_MAX);
    assert_string_equal(hundred.cmid_last, "fw8/99");
    assert_int_equal(
        mpu_peek_int(f->peek, "SELECT count(*) FROM messages WHERE client_msg_id LIKE 'fw8/%%'"),
        MP_CHAT_FORWARD_MAX);
}

/* Sends refused for a field, a reply to a message of the same batch, and a
 * delete between sends, all in ONE group-commit batch: the batch's counters
 * (seq, last_seq, the sender's cursor) count only what was stored. */
static void test_send_batch_with_refusals(void **state)
{
    fx_t *f = *state;
    uint64_t g = group_new(f);
    send_res_t first = say(f, MEMBER, g, "before the batch");
    uint64_t out[] = {OUT};
    mp_chat_send_in_t base = {.sender_id = MEMBER, .sender_device = MEMBER, .conversation_id = g};
    mp_chat_send_in_t in[5] = {base, base, base, base, base};
    const char *cmids[5] = {"bx0", "bx1", "bx2", "bx3", "bx4"};
    in[1].mentions = out; /* refused: not a member */
    in[1].n_mentions = 1;
    in[3].reply_to = first.id; /* refused: deleted by the job queued before it */
    send_res_t r[5] = {{0}};
    msg_res_t del = {0};
    mp_msg_actor_t a = {.user_id = MEMBER};
    mpu_gate_t gate;
    mpu_gate_close(&f->s, &gate);
    for (int i = 0; i < 5; i++) {
        in[i].client_msg_id = cmids[i];
        in[i].text = cmids[i];
        in[i].text_len = 3;
        in[i].now_ms = ++f->now;
        if (i == 3)
            assert_int_equal(
                mp_store_msg_delete(f->s.st, &a, g, first.id, true, 0, f->now, on_msg, &del),
                MP_OK);
        assert_int_equal(mp_store_chat_send(f->s.st, &in[i], on_send, &r[i]), MP_OK);
    }
    mpu_gate_open(&f->s, &gate);
    for (int i = 0; i < 5; i++)
        MPU_WAIT(&f->s.loop, &r[i].done, 1);
    MPU_WAIT(&f->s.loop, &del.done, 1);
    assert_int_equal(del.rc, MP_OK);
    assert_int_equal(r[1].rc, MP_ERR_BAD_REQUEST);
    assert_int_equal(r[3].rc, MP_ERR_NOT_FOUND);
    assert_string_equal(r[3].bad_field, "reply_to");
    assert_int_equal(r[0].seq, first.seq + 1);
    assert_int_equal(r[2].seq, first.seq + 2);
    assert_int_equal(r[4].seq, first.seq + 3);
    assert_true(r[4].version > del.version && del.version > r[2].version);
    unsigned long long conv = (unsigned long long)g;
    assert_int_equal(
        mpu_peek_int(f->peek, "SELECT last_seq FROM conversations WHERE id = %llu", conv),
        r[4].seq);
    assert_int_equal(mpu_peek_int(f->peek, "SELECT version FROM chat_state"), r[4].version);
    assert_int_equal(mpu_peek_int(f->peek,
                                  "SELECT read_seq FROM members WHERE conversation_id = %llu AND"
                                  " user_id = %d",
                                  conv, MEMBER),
                     r[4].seq);
    /* Refused sends left no index entry either. */
    mpu_fts_catch_up(&f->s, f->peek);
    assert_int_equal(mpu_fts_count(f->peek, "bx1"), 0);
    assert_int_equal(mpu_fts_count(f->peek, "bx2"), 1);
    fts_intact(f);
}

/* ---- tests: sync ------------------------------------------------------------------------- */

enum { SYNC_CAP = 256 };

typedef struct {
    int done;
    mp_err_t rc;
    size_t n;
    uint64_t ids[SYNC_CAP];
    int64_t versions[SYNC_CAP];
    int64_t cursor;
    bool more;
} sync_all_t;

static void on_sync_page(mp_err_t rc, const mp_chat_sync_out_t *o, void *ud)
{
    sync_all_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc != MP_OK)
        return;
    for (size_t i = 0; i < o->n_msgs; i++) {
        assert_true(r->n < SYNC_CAP);
        r->ids[r->n] = o->msgs[i].id;
        r->versions[r->n++] = o->msgs[i].version;
    }
    r->cursor = o->cursor;
    r->more = o->has_more;
}

/* The messages sync gives user from since on, page after page of max items:
 * ids and versions in the order the pages give them. */
static void sync_all(fx_t *f, uint64_t user, int64_t since, unsigned max, sync_all_t *r)
{
    memset(r, 0, sizeof *r);
    for (int pages = 0;; pages++) {
        assert_true(pages < 200);
        int done = r->done;
        assert_int_equal(mp_store_chat_sync(f->s.st, user, since, max, SIZE_MAX, on_sync_page, r),
                         MP_OK);
        MPU_WAIT(&f->s.loop, &r->done, done + 1);
        assert_int_equal(r->rc, MP_OK);
        assert_true(r->cursor >= since);
        since = r->cursor;
        if (!r->more)
            return;
    }
}

/* What sync must give, by its definition, read with a plain query: every
 * message of user's conversations whose version is above since, but not
 * what the user cleared or hid, by version. */
static void sync_expected(fx_t *f, uint64_t user, int64_t since, sync_all_t *r)
{
    memset(r, 0, sizeof *r);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT m.id, m.version FROM messages m JOIN members b ON b.conversation_id ="
             " m.conversation_id AND b.user_id = %llu WHERE m.version > %lld AND m.seq >"
             " b.cleared_seq AND NOT EXISTS(SELECT 1 FROM hidden_messages h WHERE h.user_id ="
             " b.user_id AND h.message_id = m.id) ORDER BY m.version",
             (unsigned long long)user, (long long)since);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->peek, sql, -1, &s, NULL), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
        assert_true(r->n < SYNC_CAP);
        r->ids[r->n] = (uint64_t)sqlite3_column_int64(s, 0);
        r->versions[r->n++] = sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
}

/* Sync from every version up to the head, in pages of 3 and in one page,
 * gives exactly the expected messages; returns how many sync gives from 0. */
static size_t sync_check_every_version(fx_t *f, uint64_t user)
{
    int64_t head = mpu_peek_int(f->peek, "SELECT version FROM chat_state");
    size_t from_zero = 0;
    static const unsigned page_sizes[] = {3, 500};
    for (int64_t since = 0; since <= head; since++) {
        sync_all_t want, got;
        sync_expected(f, user, since, &want);
        for (size_t p = 0; p < sizeof page_sizes / sizeof page_sizes[0]; p++) {
            unsigned max = page_sizes[p];
            sync_all(f, user, since, max, &got);
            if (got.n != want.n)
                fail_msg("since %lld, pages of %u: %zu messages, want %zu", (long long)since, max,
                         got.n, want.n);
            for (size_t i = 0; i < want.n; i++) {
                assert_int_equal(got.ids[i], want.ids[i]);
                assert_int_equal(got.versions[i], want.versions[i]);
            }
        }
        if (since == 0)
            from_zero = want.n;
    }
    return from_zero;
}

typedef struct {
    int done;
    mp_err_t rc;
} any_res_t;

static void on_react(mp_err_t rc, const mp_msg_react_out_t *o, void *ud)
{
    (void)o;
    any_res_t *r = ud;
    r->done++;
    r->rc = rc;
}

static void on_convset(mp_err_t rc, const mp_conv_settings_t *now, int64_t version, void *ud)
{
    (void)now;
    (void)version;
    any_res_t *r = ud;
    r->done++;
    r->rc = rc;
}

static void react(fx_t *f, uint64_t actor, uint64_t conv, uint64_t mid, bool add)
{
    any_res_t r = {0};
    mp_msg_actor_t a = {.user_id = actor};
    assert_int_equal(
        mp_store_msg_react(f->s.st, &a, conv, mid, "👍", add, 20, ++f->now, on_react, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
}

static void pin(fx_t *f, uint64_t actor, uint64_t conv, uint64_t mid)
{
    msg_res_t r = {0};
    mp_msg_actor_t a = {.user_id = actor};
    assert_int_equal(mp_store_msg_pin(f->s.st, &a, conv, mid, true, ++f->now, on_msg, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
}

static void clear_history(fx_t *f, uint64_t user, uint64_t conv)
{
    any_res_t r = {0};
    mp_convset_in_t in = {.what = MP_CONVSET_CLEAR};
    assert_int_equal(mp_store_conv_settings(f->s.st, user, conv, &in, ++f->now, on_convset, &r),
                     MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
}

/* New messages are found by seq and changed ones in the partial index
 * messages_changed (migration_sync.h): from every version, sync gives what
 * its definition says, whatever mix of sends, edits, deletions for everyone
 * and for one, reactions (added and taken back), pins, a cleared history
 * and rows from before the migration (created_version 0) came before. */
static void test_sync_new_and_changed(void **state)
{
    fx_t *f = *state;
    uint64_t g = group_new(f);
    uint64_t d = direct_of(f, MEMBER, OTHER);
    uint64_t ids[40];
    for (int i = 0; i < 40; i++)
        ids[i] = say(f, i % 3 ? MEMBER : OTHER, i % 2 ? g : d, "m").id;
    /* The first rows of each conversation as a database from before
     * migration 10 has them. */
    exec_sql(f, "UPDATE messages SET created_version = 0 WHERE seq <= 6");
    assert_int_equal(
        mpu_peek_int(f->peek, "SELECT count(*) FROM messages WHERE version > created_version"), 12);

    assert_int_equal(edit_at(f, MEMBER, g, ids[1], "edited old", 0).rc, MP_OK);
    assert_int_equal(edit_at(f, MEMBER, g, ids[31], "edited new", 0).rc, MP_OK);
    assert_int_equal(edit_at(f, MEMBER, g, ids[31], "edited twice", 0).rc, MP_OK);
    assert_int_equal(delete_as(f, MEMBER, NULL, d, ids[20], true, 0).rc, MP_OK);
    assert_int_equal(delete_as(f, MEMBER, NULL, d, ids[26], false, 0).rc, MP_OK);
    react(f, OTHER, g, ids[33], true);
    react(f, OTHER, g, ids[35], true);
    react(f, OTHER, g, ids[35], false);
    pin(f, OWNER, g, ids[37]);
    for (int i = 0; i < 6; i++)
        say(f, i % 2 ? MEMBER : OTHER, i % 2 ? g : d, "after");
    assert_int_equal(edit_at(f, OTHER, g, ids[39], "late edit", 0).rc, MP_OK);

    /* From version 0: every message of both conversations, but the one
     * MEMBER hid for themselves. */
    int64_t all =
        mpu_peek_int(f->peek, "SELECT count(*) FROM messages WHERE conversation_id IN (%llu, %llu)",
                     (unsigned long long)g, (unsigned long long)d);
    assert_true(all >= 46);
    assert_int_equal(sync_check_every_version(f, MEMBER), all - 1);
    assert_int_equal(sync_check_every_version(f, OTHER), all);

    /* A cleared history hides the direct conversation's messages so far. */
    clear_history(f, MEMBER, d);
    say(f, OTHER, d, "after the clear");
    sync_check_every_version(f, MEMBER);
    sync_check_every_version(f, OTHER);
}

/* A database from before migration 10 (messages_version, no
 * created_version) keeps every message and sync gives them as before; what
 * is stored after the migration is found by seq. */
static void test_sync_across_migration(void **state)
{
    fx_t *f = *state;
    uint64_t g = group_new(f);
    uint64_t first = say(f, MEMBER, g, "before").id;
    for (int i = 0; i < 9; i++)
        say(f, i % 2 ? MEMBER : OTHER, g, "before");
    assert_int_equal(edit_at(f, MEMBER, g, first, "edited before", 0).rc, MP_OK);

    mp_store_close(f->s.st);
    f->s.st = NULL;
    MPU_RUN_IDLE(&f->s.loop);
    /* Back to version 9: migration 12 undone (the generated conv_key back),
     * migration 11 (the index back in the database, no changes table, no
     * stamp), then migration 10. */
    exec_sql(f,
             "ALTER TABLE messages ADD COLUMN conv_key TEXT GENERATED ALWAYS AS (" OLD_CONV_KEY_SQL
             ") VIRTUAL;"
             "DROP TABLE search_changes;"
             "ALTER TABLE chat_state DROP COLUMN search_stamp;"
             "CREATE VIRTUAL TABLE messages_fts USING fts5(body, search_extra, conv_key,"
             " content='messages', content_rowid='id', tokenize='trigram');"
             "DROP INDEX messages_changed;"
             "ALTER TABLE messages DROP COLUMN created_version;"
             "CREATE INDEX messages_version ON messages(conversation_id, version);"
             "PRAGMA user_version = 9");
    char err[256] = "";
    if (mp_store_open(f->s.dir, &f->s.loop, &f->s.st, err, sizeof err) != MP_OK)
        fail_msg("reopen: %s", err);
    assert_int_equal(mpu_peek_int(f->peek, "PRAGMA user_version"), mp_store_schema_version());
    assert_int_equal(
        mpu_peek_int(f->peek, "SELECT count(*) FROM messages WHERE created_version = 0"), 12);
    assert_int_equal(
        mpu_peek_int(f->peek, "SELECT count(*) FROM sqlite_master WHERE name = 'messages_version'"),
        0);
    assert_int_equal(
        mpu_peek_int(f->peek,
                     "SELECT count(*) FROM pragma_table_xinfo('messages') WHERE name = 'conv_key'"),
        0);
    /* The index left the database for search.db, and is built there again
     * from the messages. */
    assert_int_equal(
        mpu_peek_int(f->peek, "SELECT count(*) FROM sqlite_master WHERE name = 'messages_fts'"), 0);
    mpu_fts_catch_up(&f->s, f->peek);
    assert_int_equal(mpu_fts_count(f->peek, "before"), 10);

    for (int i = 0; i < 5; i++)
        say(f, MEMBER, g, "after");
    assert_int_equal(edit_at(f, MEMBER, g, first, "edited after", 0).rc, MP_OK);
    assert_int_equal(sync_check_every_version(f, MEMBER),
                     mpu_peek_int(f->peek,
                                  "SELECT count(*) FROM messages WHERE conversation_id = %llu",
                                  (unsigned long long)g));
    assert_true(mpu_peek_int(f->peek, "SELECT count(*) FROM messages WHERE created_version > 0") >=
                5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reply_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mentions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_erases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_before_indexed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_rights, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_for_me, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_batch_with_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_new_and_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_across_migration, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
