/* The rules the store enforces in the write itself, against a real SQLite
 * store in a temporary directory, calling the store ops directly (no cached
 * pre-check in front of them):
 * - a send is refused when its group was dissolved, the sender muted or
 *   who_can_post changed in a job committed before it, even in the same
 *   group-commit batch;
 * - dedup is per device: two devices may use the same client_msg_id, a retry
 *   from the same device returns its own original, also after a restart,
 *   whatever the rules say since, without moving a counter or making a
 *   conversation;
 * - guests are neither direct peers nor group members nor owners;
 * - a deleted owner's group passes to the longest-standing admin, else member,
 *   else is dissolved.
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
#include <jansson.h>
#include <sqlite3.h>

#include "fixture.h"
#include "chat/sysmsg.h"
#include "store/chat.h"
#include "store/groups.h"
#include "store/sqlite_int.h"
#include "store/sqlite_job.h"
#include "store/world.h"
#include "util/alloc.h"
#include "util/id.h"

enum { OWNER = 3001, ADMIN = 3002, MEMBER = 3003, OTHER = 3004, FIFTH = 3005, GUEST = 3009 };

typedef struct {
    mpu_store_t s;
    int64_t now;
    sqlite3 *peek; /* a separate connection to check what was committed */
} fx_t;

static void store_open(fx_t *f)
{
    char err[256];
    if (mp_store_open(f->s.dir, &f->s.loop, &f->s.st, err, sizeof err) != MP_OK)
        fail_msg("store: %s", err);
}

static void store_close(fx_t *f)
{
    mp_store_close(f->s.st);
    MPU_RUN_IDLE(&f->s.loop);
    f->s.st = NULL;
}

static void exec_sql(fx_t *f, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(f->peek, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

static int64_t peek_int(fx_t *f, const char *fmt, ...)
{
    char sql[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->peek, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) != SQLITE_ROW)
        fail_msg("no row: %s", sql);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    if (mpu_store_open(&f->s) != 0)
        return -1;
    mp_id_init(3);
    assert_int_equal(sqlite3_open(mpu_store_db_path(&f->s), &f->peek), SQLITE_OK);
    sqlite3_busy_timeout(f->peek, 5000);
    mpu_user_add(&f->s, OWNER, "olga", "Olga", false);
    mpu_user_add(&f->s, ADMIN, "adam", "Adam", false);
    mpu_user_add(&f->s, MEMBER, "mia", "Mia", false);
    mpu_user_add(&f->s, OTHER, "otto", "Otto", false);
    mpu_user_add(&f->s, FIFTH, "fay", "Fay", false);
    mpu_user_add(&f->s, GUEST, "guest_3009", "Gus", true);
    /* Long idle, so that the guest sweep takes Gus; the store API leaves
     * last_active_at unset. */
    exec_sql(f, "UPDATE users SET last_active_at = 1");
    f->now = 1700000000000LL;
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

/* ---- sends ------------------------------------------------------------------ */

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t id, conv;
    int64_t seq, muted_until;
    bool dup;
} send_res_t;

static void on_send(mp_err_t rc, const mp_chat_send_out_t *o, void *ud)
{
    send_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_ERR_MUTED) {
        assert_non_null(o);
        r->muted_until = o->muted_until;
    }
    if (rc == MP_OK) {
        r->id = o->msg.id;
        r->conv = o->msg.conversation_id;
        r->seq = o->msg.seq;
        r->dup = o->duplicate;
    }
}

typedef struct {
    uint64_t from, device, conv, to;
    const char *cmid;
    int64_t now; /* 0 = the fixture's next tick */
} send_t;

static void queue_send(fx_t *f, send_t s, send_res_t *r)
{
    memset(r, 0, sizeof *r);
    mp_chat_send_in_t in = {.sender_id = s.from,
                            .sender_device = s.device,
                            .conversation_id = s.conv,
                            .to_user_id = s.to,
                            .client_msg_id = s.cmid,
                            .text = "text",
                            .text_len = 4,
                            .now_ms = s.now ? s.now : ++f->now};
    assert_int_equal(mp_store_chat_send(f->s.st, &in, on_send, r), MP_OK);
}

static send_res_t send_now(fx_t *f, send_t s)
{
    send_res_t r;
    queue_send(f, s, &r);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

/* ---- group ops ---------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t conv;
    int64_t last_seq; /* seq of the op's last system message */
} op_res_t;

static void on_op(mp_err_t rc, const mp_group_op_out_t *o, void *ud)
{
    op_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc == MP_OK) {
        r->conv = o->conversation_id;
        r->last_seq = o->n_msgs ? o->msgs[o->n_msgs - 1].seq : 0;
    }
}

static void queue_op(fx_t *f, mp_group_op_in_t in, op_res_t *r)
{
    memset(r, 0, sizeof *r);
    in.now_ms = ++f->now;
    if (in.max_members == 0)
        in.max_members = 1000;
    assert_int_equal(mp_store_group_op(f->s.st, &in, on_op, r), MP_OK);
}

static op_res_t op_now(fx_t *f, mp_group_op_in_t in)
{
    op_res_t r;
    queue_op(f, in, &r);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

/* A group of OWNER with `users` as members, ADMIN promoted when among them. */
static uint64_t group_of(fx_t *f, uint64_t *users, size_t n)
{
    op_res_t r = op_now(f, (mp_group_op_in_t){.op = MP_GOP_CREATE,
                                              .actor_id = OWNER,
                                              .title = "Birds",
                                              .user_ids = users,
                                              .n_users = n});
    assert_int_equal(r.rc, MP_OK);
    for (size_t i = 0; i < n; i++)
        if (users[i] == ADMIN)
            assert_int_equal(op_now(f, (mp_group_op_in_t){.op = MP_GOP_ROLE,
                                                          .actor_id = OWNER,
                                                          .conversation_id = r.conv,
                                                          .target_id = ADMIN,
                                                          .role = MP_GROUP_ADMIN})
                                 .rc,
                             MP_OK);
    return r.conv;
}

/* ---- 1. group rules inside the send ------------------------------------------------ */

static void test_send_rechecks_group_rules(void **state)
{
    fx_t *f = *state;
    uint64_t users[] = {ADMIN, MEMBER, OTHER};
    uint64_t g = group_of(f, users, 3);
    assert_int_equal(send_now(f, (send_t){MEMBER, 1, g, 0, "m-1", 0}).rc, MP_OK);

    /* A mute and a send in ONE batch, the send queued right after the mute:
     * the send runs after the mute in the same transaction and is refused. */
    mpu_gate_t gate;
    op_res_t mute;
    send_res_t after;
    int64_t until = f->now + 3600 * 1000;
    mpu_gate_close(&f->s, &gate);
    queue_op(f,
             (mp_group_op_in_t){.op = MP_GOP_MUTE,
                                .actor_id = OWNER,
                                .conversation_id = g,
                                .target_id = MEMBER,
                                .until = until},
             &mute);
    queue_send(f, (send_t){MEMBER, 1, g, 0, "m-2", 0}, &after);
    mpu_gate_open(&f->s, &gate);
    MPU_WAIT(&f->s.loop, &mute.done, 1);
    MPU_WAIT(&f->s.loop, &after.done, 1);
    assert_int_equal(mute.rc, MP_OK);
    assert_int_equal(after.rc, MP_ERR_MUTED);
    assert_int_equal(after.muted_until, until);
    /* Committed and alone: still muted; once the mute has passed, allowed. */
    assert_int_equal(send_now(f, (send_t){MEMBER, 1, g, 0, "m-3", 0}).rc, MP_ERR_MUTED);
    assert_int_equal(send_now(f, (send_t){MEMBER, 1, g, 0, "m-4", until + 1}).rc, MP_OK);

    /* who_can_post = admins: members refused, admins and the owner allowed. */
    op_res_t p = op_now(f, (mp_group_op_in_t){.op = MP_GOP_PATCH,
                                              .actor_id = OWNER,
                                              .conversation_id = g,
                                              .settings_mask = MP_GROUP_SET_POST,
                                              .settings = {.post_admins = true}});
    assert_int_equal(p.rc, MP_OK);
    assert_int_equal(send_now(f, (send_t){OTHER, 4, g, 0, "o-1", 0}).rc, MP_ERR_NOT_ALLOWED);
    assert_int_equal(send_now(f, (send_t){ADMIN, 2, g, 0, "a-1", 0}).rc, MP_OK);

    /* Dissolve, then a send from the owner in the same batch and one after:
     * nothing is stored after the `dissolved` message. */
    op_res_t d;
    send_res_t same, later;
    mpu_gate_close(&f->s, &gate);
    queue_op(f, (mp_group_op_in_t){.op = MP_GOP_DISSOLVE, .actor_id = OWNER, .conversation_id = g},
             &d);
    queue_send(f, (send_t){OWNER, 5, g, 0, "w-1", 0}, &same);
    mpu_gate_open(&f->s, &gate);
    MPU_WAIT(&f->s.loop, &d.done, 1);
    MPU_WAIT(&f->s.loop, &same.done, 1);
    assert_int_equal(d.rc, MP_OK);
    assert_int_equal(same.rc, MP_ERR_DISSOLVED);
    later = send_now(f, (send_t){ADMIN, 2, g, 0, "a-2", 0});
    assert_int_equal(later.rc, MP_ERR_DISSOLVED);
    assert_int_equal(peek_int(f, "SELECT max(seq) FROM messages WHERE conversation_id = %llu",
                              (unsigned long long)g),
                     d.last_seq);
    assert_int_equal(
        peek_int(f, "SELECT last_seq FROM conversations WHERE id = %llu", (unsigned long long)g),
        d.last_seq);

    /* Not a member stays not_member. */
    assert_int_equal(send_now(f, (send_t){FIFTH, 6, g, 0, "f-1", 0}).rc, MP_ERR_NOT_MEMBER);
}

/* ---- 2. dedup per device ------------------------------------------------------------ */

static void test_dedup_per_device(void **state)
{
    fx_t *f = *state;
    send_res_t a = send_now(f, (send_t){OWNER, 11, 0, MEMBER, "1", 0});
    assert_int_equal(a.rc, MP_OK);
    assert_false(a.dup);
    send_res_t b = send_now(f, (send_t){OWNER, 12, 0, MEMBER, "1", 0});
    assert_int_equal(b.rc, MP_OK);
    assert_false(b.dup);
    assert_true(b.id != a.id);
    assert_int_equal(b.seq, a.seq + 1);

    /* Retries from each device return that device's message. */
    send_res_t ra = send_now(f, (send_t){OWNER, 11, 0, MEMBER, "1", 0});
    assert_true(ra.dup);
    assert_true(ra.id == a.id);
    send_res_t rb = send_now(f, (send_t){OWNER, 12, 0, MEMBER, "1", 0});
    assert_true(rb.dup);
    assert_true(rb.id == b.id);

    /* ... also after a restart. */
    store_close(f);
    store_open(f);
    ra = send_now(f, (send_t){OWNER, 11, 0, MEMBER, "1", 0});
    assert_true(ra.dup);
    assert_true(ra.id == a.id);
    rb = send_now(f, (send_t){OWNER, 12, 0, MEMBER, "1", 0});
    assert_true(rb.dup);
    assert_true(rb.id == b.id);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM messages"), 2);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM messages WHERE sender_device = 12"), 1);
}

/* A retry is answered with its original whatever the rules say now, moves
 * no counter, and a client_msg_id already used for one conversation does
 * not start another: the INSERT finds a new message new (ON CONFLICT DO
 * NOTHING on the dedup index), and the lookup of the original runs before
 * anything that would write (the first message between two people) and
 * after a refusal. */
static void test_dedup_before_rules_and_writes(void **state)
{
    fx_t *f = *state;
    uint64_t users[] = {MEMBER, OTHER};
    uint64_t g = group_of(f, users, 2);
    send_res_t m1 = send_now(f, (send_t){MEMBER, 1, g, 0, "m-1", 0});
    assert_int_equal(m1.rc, MP_OK);

    /* A duplicate moves no counter: the next message takes the next seq. */
    send_res_t again = send_now(f, (send_t){MEMBER, 1, g, 0, "m-1", 0});
    assert_int_equal(again.rc, MP_OK);
    assert_true(again.dup);
    assert_true(again.id == m1.id);
    assert_int_equal(again.seq, m1.seq);
    send_res_t m2 = send_now(f, (send_t){MEMBER, 1, g, 0, "m-2", 0});
    assert_int_equal(m2.rc, MP_OK);
    assert_false(m2.dup);
    assert_int_equal(m2.seq, m1.seq + 1);

    /* Muted: a new message is refused, a retry still gets its original. */
    op_res_t mute = op_now(f, (mp_group_op_in_t){.op = MP_GOP_MUTE,
                                                 .actor_id = OWNER,
                                                 .conversation_id = g,
                                                 .target_id = MEMBER,
                                                 .until = f->now + 3600 * 1000});
    assert_int_equal(mute.rc, MP_OK);
    assert_int_equal(send_now(f, (send_t){MEMBER, 1, g, 0, "m-3", 0}).rc, MP_ERR_MUTED);
    again = send_now(f, (send_t){MEMBER, 1, g, 0, "m-2", 0});
    assert_int_equal(again.rc, MP_OK);
    assert_true(again.dup);
    assert_true(again.id == m2.id);

    /* The same client_msg_id towards someone MEMBER has no conversation
     * with: the original, and no conversation made for it. */
    int64_t pairs = peek_int(f, "SELECT count(*) FROM direct_pairs");
    int64_t convs = peek_int(f, "SELECT count(*) FROM conversations");
    send_res_t d = send_now(f, (send_t){MEMBER, 1, 0, FIFTH, "m-1", 0});
    assert_int_equal(d.rc, MP_OK);
    assert_true(d.dup);
    assert_true(d.id == m1.id);
    assert_true(d.conv == g);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM direct_pairs"), pairs);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM conversations"), convs);

    /* A first direct message, then the same id into the group: the
     * original in its own conversation, nothing stored in the group. */
    send_res_t first = send_now(f, (send_t){OTHER, 4, 0, FIFTH, "o-1", 0});
    assert_int_equal(first.rc, MP_OK);
    assert_false(first.dup);
    assert_int_equal(first.seq, 1);
    int64_t in_group = peek_int(f, "SELECT count(*) FROM messages WHERE conversation_id = %llu",
                                (unsigned long long)g);
    send_res_t cross = send_now(f, (send_t){OTHER, 4, g, 0, "o-1", 0});
    assert_int_equal(cross.rc, MP_OK);
    assert_true(cross.dup);
    assert_true(cross.id == first.id);
    assert_true(cross.conv == first.conv);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM messages WHERE conversation_id = %llu",
                              (unsigned long long)g),
                     in_group);
    assert_int_equal(
        peek_int(f, "SELECT last_seq FROM conversations WHERE id = %llu", (unsigned long long)g),
        peek_int(f, "SELECT max(seq) FROM messages WHERE conversation_id = %llu",
                 (unsigned long long)g));

    /* Left the group: not_member for a new message, the original for a
     * retry. */
    assert_int_equal(op_now(f, (mp_group_op_in_t){.op = MP_GOP_REMOVE,
                                                  .actor_id = OTHER,
                                                  .conversation_id = g,
                                                  .target_id = OTHER})
                         .rc,
                     MP_OK);
    assert_int_equal(send_now(f, (send_t){OTHER, 4, g, 0, "o-2", 0}).rc, MP_ERR_NOT_MEMBER);
    cross = send_now(f, (send_t){OTHER, 4, g, 0, "o-1", 0});
    assert_int_equal(cross.rc, MP_OK);
    assert_true(cross.dup);
    assert_true(cross.id == first.id);
}

/* ---- 3. guests ---------------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
} direct_res_t;

static void on_direct(mp_err_t rc, uint64_t conv, bool created, void *ud)
{
    (void)conv;
    (void)created;
    direct_res_t *r = ud;
    r->done++;
    r->rc = rc;
}

static void test_guests_refused(void **state)
{
    fx_t *f = *state;
    /* Direct: neither by send `to` nor by opening the conversation. */
    assert_int_equal(send_now(f, (send_t){OWNER, 1, 0, GUEST, "g-1", 0}).rc,
                     MP_ERR_GUEST_FORBIDDEN);
    direct_res_t dr = {0};
    assert_int_equal(mp_store_chat_direct(f->s.st, OWNER, GUEST, ++f->now, on_direct, &dr), MP_OK);
    MPU_WAIT(&f->s.loop, &dr.done, 1);
    assert_int_equal(dr.rc, MP_ERR_GUEST_FORBIDDEN);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM direct_pairs"), 0);

    /* A direct conversation with a guest from before the rule: no sends. */
    exec_sql(f, "INSERT INTO conversations(id, kind, version, created_at, active_at)"
                " VALUES(77, 'direct', 1, 1, 1);"
                "INSERT INTO members(conversation_id, user_id, joined_at, version)"
                " VALUES(77, 3001, 1, 1), (77, 3009, 1, 1);"
                "INSERT INTO direct_pairs VALUES(3001, 3009, 77)");
    assert_int_equal(send_now(f, (send_t){OWNER, 1, 77, 0, "g-2", 0}).rc, MP_ERR_GUEST_FORBIDDEN);
    assert_int_equal(send_now(f, (send_t){OWNER, 1, 0, GUEST, "g-3", 0}).rc,
                     MP_ERR_GUEST_FORBIDDEN);

    /* Groups: create with a guest, add a guest, a guest joining by link. */
    uint64_t with_guest[] = {MEMBER, GUEST};
    op_res_t r = op_now(f, (mp_group_op_in_t){.op = MP_GOP_CREATE,
                                              .actor_id = OWNER,
                                              .title = "x",
                                              .user_ids = with_guest,
                                              .n_users = 2});
    assert_int_equal(r.rc, MP_ERR_GUEST_FORBIDDEN);
    uint64_t users[] = {MEMBER};
    uint64_t g = group_of(f, users, 1);
    uint64_t guest[] = {GUEST};
    r = op_now(f, (mp_group_op_in_t){.op = MP_GOP_ADD,
                                     .actor_id = OWNER,
                                     .conversation_id = g,
                                     .user_ids = guest,
                                     .n_users = 1});
    assert_int_equal(r.rc, MP_ERR_GUEST_FORBIDDEN);
    r = op_now(f, (mp_group_op_in_t){.op = MP_GOP_INVITE,
                                     .actor_id = OWNER,
                                     .conversation_id = g,
                                     .token = "AAAAAAAAAAAAAAAAAAAAAA"});
    assert_int_equal(r.rc, MP_OK);
    r = op_now(f, (mp_group_op_in_t){
                      .op = MP_GOP_JOIN, .actor_id = GUEST, .token = "AAAAAAAAAAAAAAAAAAAAAA"});
    assert_int_equal(r.rc, MP_ERR_GUEST_FORBIDDEN);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM members WHERE user_id = 3009"), 1);

    /* A guest member from before the rule cannot be made the owner. */
    char sql[160];
    snprintf(sql, sizeof sql,
             "INSERT INTO members(conversation_id, user_id, joined_at, version)"
             " VALUES(%llu, 3009, 1, 1)",
             (unsigned long long)g);
    exec_sql(f, sql);
    r = op_now(
        f, (mp_group_op_in_t){
               .op = MP_GOP_TRANSFER, .actor_id = OWNER, .conversation_id = g, .target_id = GUEST});
    assert_int_equal(r.rc, MP_ERR_GUEST_FORBIDDEN);
    assert_int_equal(
        peek_int(f, "SELECT owner_id FROM conversations WHERE id = %llu", (unsigned long long)g),
        OWNER);
}

/* ---- 3b. a deleted owner ------------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    size_t n_users, n_msgs;
    char texts[4][160];
} sweep_res_t;

static void on_sweep(mp_err_t rc, const mp_guest_sweep_out_t *o, void *ud)
{
    sweep_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc != MP_OK)
        return;
    r->n_users = o->n_users;
    r->n_msgs = o->n_msgs;
    for (size_t i = 0; i < o->n_msgs && i < 4; i++) {
        json_t *body = json_loads(o->msgs[i].text, 0, NULL);
        assert_non_null(body);
        char *line = mp_chat_sysmsg_text(body); /* the line clients get */
        snprintf(r->texts[i], sizeof r->texts[i], "%s", line != NULL ? line : "(none)");
        mp_free(line);
        json_decref(body);
    }
}

static int64_t owner_of(fx_t *f, uint64_t conv)
{
    return peek_int(f, "SELECT owner_id FROM conversations WHERE id = %llu",
                    (unsigned long long)conv);
}

static void test_owner_deleted(void **state)
{
    fx_t *f = *state;
    /* g1: an admin (promoted after the others joined) and a member: the admin. */
    uint64_t u1[] = {MEMBER, ADMIN};
    uint64_t g1 = group_of(f, u1, 2);
    /* g2: members only, FIFTH first, MEMBER (a lower id) later: FIFTH. */
    uint64_t u2[] = {FIFTH};
    uint64_t g2 = group_of(f, u2, 1);
    uint64_t later[] = {MEMBER};
    assert_int_equal(op_now(f, (mp_group_op_in_t){.op = MP_GOP_ADD,
                                                  .actor_id = OWNER,
                                                  .conversation_id = g2,
                                                  .user_ids = later,
                                                  .n_users = 1})
                         .rc,
                     MP_OK);
    /* g3: the owner alone: dissolved. */
    uint64_t g3 = group_of(f, NULL, 0);
    /* g4: the owner and a guest (from before the rule): dissolved. */
    uint64_t g4 = group_of(f, NULL, 0);
    char sql[200];
    snprintf(sql, sizeof sql,
             "INSERT INTO members(conversation_id, user_id, joined_at, version)"
             " VALUES(%llu, 3009, 1, 1)",
             (unsigned long long)g4);
    exec_sql(f, sql);
    /* g5: already dissolved: untouched. */
    uint64_t g5 = group_of(f, u2, 1);
    op_res_t d = op_now(
        f, (mp_group_op_in_t){.op = MP_GOP_DISSOLVE, .actor_id = OWNER, .conversation_id = g5});
    assert_int_equal(d.rc, MP_OK);
    int64_t g5_dissolved = peek_int(f, "SELECT dissolved_at FROM conversations WHERE id = %llu",
                                    (unsigned long long)g5);
    assert_true(g5_dissolved > 0);
    int64_t g1_seq =
        peek_int(f, "SELECT last_seq FROM conversations WHERE id = %llu", (unsigned long long)g1);

    /* The owner's account becomes a guest's from before the rule, idle long
     * enough to be swept (the only way accounts are deleted). */
    exec_sql(f, "UPDATE users SET guest = 1, last_active_at = 1 WHERE id = 3001");
    sweep_res_t r = {0};
    assert_int_equal(mp_store_guest_sweep(f->s.st, f->now, 10, on_sweep, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.n_users, 2); /* Olga and Gus */
    assert_int_equal(r.n_msgs, 4);

    assert_int_equal(owner_of(f, g1), ADMIN);
    assert_int_equal(peek_int(f,
                              "SELECT count(*) FROM members WHERE conversation_id = %llu"
                              " AND user_id = 3002 AND role = 'owner'",
                              (unsigned long long)g1),
                     1);
    assert_int_equal(peek_int(f,
                              "SELECT count(*) FROM messages WHERE conversation_id = %llu"
                              " AND seq = %lld AND kind = 'system'"
                              " AND body LIKE '%%ownership_transferred%%owner_deleted%%'",
                              (unsigned long long)g1, (long long)g1_seq + 1),
                     1);
    assert_int_equal(owner_of(f, g2), FIFTH);
    const uint64_t gone[] = {g3, g4};
    for (size_t i = 0; i < 2; i++)
        assert_true(peek_int(f, "SELECT dissolved_at FROM conversations WHERE id = %llu",
                             (unsigned long long)gone[i]) > 0);
    assert_int_equal(peek_int(f, "SELECT dissolved_at FROM conversations WHERE id = %llu",
                              (unsigned long long)g5),
                     g5_dissolved);
    assert_int_equal(
        peek_int(f, "SELECT count(*) FROM messages WHERE conversation_id = %llu AND seq > %lld",
                 (unsigned long long)g5, (long long)d.last_seq),
        0);
    bool saw_transfer = false, saw_dissolve = false;
    for (size_t i = 0; i < r.n_msgs; i++) {
        saw_transfer |=
            strcmp(r.texts[i], "Olga's account was deleted; Adam is now the owner") == 0;
        saw_dissolve |=
            strcmp(r.texts[i], "Olga's account was deleted; the group was dissolved") == 0;
    }
    assert_true(saw_transfer && saw_dissolve);
    /* The new owner runs the group; the group goes on. */
    assert_int_equal(send_now(f, (send_t){ADMIN, 2, g1, 0, "after", 0}).rc, MP_OK);
    assert_int_equal(send_now(f, (send_t){FIFTH, 5, g3, 0, "gone", 0}).rc, MP_ERR_NOT_MEMBER);
}

/* ---- 2b. the upgrade to per-device dedup ------------------------------------------- */

/* A database at schema version 4 (per-user dedup) with messages in it is
 * migrated: rows kept, device 0, and a device reusing an old id is stored.
 * Groups lose their guest members, and one owned by a guest or by a deleted
 * user gets an owner (or is dissolved). */
static void test_upgrade_keeps_messages(void **state)
{
    fx_t *f = *state;
    store_close(f);
    sqlite3_close(f->peek);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir %s", f->s.dir, f->s.dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(sqlite3_open(mpu_store_db_path(&f->s), &f->peek), SQLITE_OK);
    sqlite3_busy_timeout(f->peek, 5000);
    /* Raw SQL, users too: the store API only writes the current schema. */
    for (int v = 0; v < 4; v++)
        exec_sql(f, mp_sqlite__migrations[v]);
    exec_sql(f,
             "PRAGMA user_version = 4;"
             "INSERT INTO users(id, username, display_name, created_at)"
             " VALUES(3001,'olga','Olga',1),(3003,'mia','Mia',1);"
             "INSERT INTO conversations(id, kind, version, created_at, active_at, last_seq)"
             " VALUES(88, 'direct', 2, 1, 1, 2);"
             "INSERT INTO members(conversation_id, user_id, joined_at, version)"
             " VALUES(88, 3001, 1, 1), (88, 3003, 1, 1);"
             "INSERT INTO direct_pairs VALUES(3001, 3003, 88);"
             "INSERT INTO messages(id, conversation_id, seq, sender_id, client_msg_id, body,"
             " created_at, version) VALUES(501, 88, 1, 3001, '1', 'old one', 1, 1),"
             " (502, 88, 2, 3003, '1', 'old two', 1, 2);"
             "UPDATE chat_state SET version = 2;"
             /* Guests in groups from before the rule: g90 owned by a guest
              * with an admin (later) and a member; g91 owned by a deleted
              * user; g92 owned by a guest alone with another guest. */
             "INSERT INTO users(id, username, display_name, created_at, guest)"
             " VALUES(3002,'adam','Adam',1,0),(3009,'guest_3009','Gus',1,1),"
             " (3010,'guest_3010','Gil',1,1);"
             "INSERT INTO conversations(id, kind, owner_id, version, created_at, active_at)"
             " VALUES(90, 'group', 3009, 1, 1, 1), (91, 'group', 9999, 1, 1, 1),"
             " (92, 'group', 3009, 1, 1, 1);"
             "INSERT INTO members(conversation_id, user_id, role, joined_at, version)"
             " VALUES(90, 3009, 'owner', 1, 1), (90, 3003, 'member', 2, 1),"
             " (90, 3002, 'admin', 3, 1), (90, 3010, 'member', 1, 1),"
             " (91, 3003, 'member', 5, 1), (92, 3009, 'owner', 1, 1), (92, 3010, 'member', 1, 1)");
    store_open(f);
    assert_int_equal(peek_int(f, "SELECT owner_id FROM conversations WHERE id = 90"), 3002);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM members WHERE conversation_id = 90"
                                 " AND user_id = 3002 AND role = 'owner'"),
                     1);
    assert_int_equal(peek_int(f, "SELECT owner_id FROM conversations WHERE id = 91"), 3003);
    assert_int_equal(peek_int(f, "SELECT role = 'owner' FROM members WHERE conversation_id = 91"),
                     1);
    assert_true(peek_int(f, "SELECT dissolved_at FROM conversations WHERE id = 92") > 0);
    assert_int_equal(peek_int(f, "SELECT dissolved_at FROM conversations WHERE id = 90"), 0);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM members m JOIN users u ON u.id = m.user_id"
                                 " WHERE u.guest = 1"),
                     0);
    assert_int_equal(peek_int(f, "SELECT count(*) FROM members WHERE conversation_id = 88"), 2);
    assert_int_equal(peek_int(f, "PRAGMA user_version"), mp_store_schema_version());
    assert_int_equal(peek_int(f, "SELECT count(*) FROM messages WHERE sender_device = 0"), 2);
    assert_int_equal(peek_int(f, "SELECT seq FROM messages WHERE id = 502"), 2);
    send_res_t r = send_now(f, (send_t){OWNER, 21, 88, 0, "1", 0});
    assert_int_equal(r.rc, MP_OK);
    assert_false(r.dup);
    assert_int_equal(r.seq, 3);
    r = send_now(f, (send_t){OWNER, 21, 88, 0, "1", 0});
    assert_true(r.dup);
    assert_int_equal(r.seq, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_send_rechecks_group_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_per_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_before_rules_and_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_keeps_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guests_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_deleted, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
