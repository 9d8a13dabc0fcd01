/* The groups store ops (store/groups.h) against a real SQLite store in a
 * temporary directory: the rules checked inside the write job, the system
 * messages each change stores (with gap-free seqs, seen by sync), invite
 * links, and the membership view the chat cache loads. Every wait runs the
 * loop until the callback under test has fired. */
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
#include "store/groups.h"
#include "util/alloc.h"
#include "util/id.h"

typedef struct {
    mpu_store_t s;
    int64_t now;
} fx_t;

enum { OWNER = 2001, ADMIN = 2002, MEMBER = 2003, OTHER = 2004, FIFTH = 2005 };

static void add_users(fx_t *f)
{
    mpu_user_add(&f->s, OWNER, "olga", "Olga", false);
    mpu_user_add(&f->s, ADMIN, "adam", "Adam", false);
    mpu_user_add(&f->s, MEMBER, "mia", "Mia", false);
    mpu_user_add(&f->s, OTHER, "otto", "Otto", false);
    mpu_user_add(&f->s, FIFTH, "fay", "Fay", false);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    if (mpu_store_open(&f->s) != 0)
        return -1;
    mp_id_init(2);
    add_users(f);
    f->now = 1700000000000LL;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    mpu_store_close(&f->s);
    free(f);
    return 0;
}

/* ---- running ops ------------------------------------------------------------ */

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t conv;
    mp_group_row_t g; /* strings not kept */
    size_t n_msgs, n_added;
    int64_t first_seq;
    char action[32], text[160];
    uint64_t removed;
    bool already;
    char token[40];
    int64_t uses;
} op_res_t;

static void on_op(mp_err_t rc, const mp_group_op_out_t *o, void *ud)
{
    op_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc != MP_OK)
        return;
    r->conv = o->conversation_id;
    r->g = o->group;
    r->g.title = r->g.description = r->g.announcement = NULL;
    r->n_msgs = o->n_msgs;
    r->n_added = o->n_added;
    r->removed = o->removed_id;
    r->already = o->already_member;
    r->uses = o->invite.uses;
    if (o->invite.token != NULL)
        snprintf(r->token, sizeof r->token, "%s", o->invite.token);
    if (o->n_msgs > 0) {
        const mp_msg_row_t *m = &o->msgs[o->n_msgs - 1];
        r->first_seq = o->msgs[0].seq;
        assert_string_equal(m->kind, "system");
        json_t *body = json_loads(m->text, 0, NULL);
        assert_non_null(body);
        snprintf(r->action, sizeof r->action, "%s",
                 json_string_value(json_object_get(json_object_get(body, "system"), "action")));
        char *line = mp_chat_sysmsg_text(body); /* the line clients get */
        snprintf(r->text, sizeof r->text, "%s", line != NULL ? line : "(none)");
        mp_free(line);
        json_decref(body);
    }
}

static op_res_t run(fx_t *f, mp_group_op_in_t in)
{
    op_res_t r = {0};
    in.now_ms = ++f->now;
    if (in.max_members == 0)
        in.max_members = 10000;
    assert_int_equal(mp_store_group_op(f->s.st, &in, on_op, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

/* A group of OWNER with ADMIN (promoted) and MEMBER. */
static uint64_t make_group(fx_t *f)
{
    uint64_t ids[] = {ADMIN, MEMBER, MEMBER, OWNER};
    op_res_t r = run(f, (mp_group_op_in_t){.op = MP_GOP_CREATE,
                                           .actor_id = OWNER,
                                           .title = "Birds",
                                           .user_ids = ids,
                                           .n_users = 4});
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.g.member_count, 3);
    assert_int_equal(r.g.my_role, MP_GROUP_OWNER);
    assert_int_equal(r.n_msgs, 1);
    assert_string_equal(r.action, "created");
    assert_string_equal(r.text, "Olga created the group \"Birds\"");
    assert_int_equal(r.first_seq, 1);
    op_res_t p = run(f, (mp_group_op_in_t){.op = MP_GOP_ROLE,
                                           .actor_id = OWNER,
                                           .conversation_id = r.conv,
                                           .target_id = ADMIN,
                                           .role = MP_GROUP_ADMIN});
    assert_int_equal(p.rc, MP_OK);
    assert_string_equal(p.action, "role_changed");
    assert_string_equal(p.text, "Olga made Adam an admin");
    assert_int_equal(p.first_seq, 2);
    return r.conv;
}

static mp_err_t op_rc(fx_t *f, mp_group_op_t op, uint64_t actor, uint64_t conv, uint64_t target)
{
    return run(f,
               (mp_group_op_in_t){
                   .op = op, .actor_id = actor, .conversation_id = conv, .target_id = target})
        .rc;
}

/* ---- tests --------------------------------------------------------------------- */

static void test_create_rules(void **state)
{
    fx_t *f = *state;
    uint64_t ghost[] = {MEMBER, 999999};
    op_res_t r = run(
        f,
        (mp_group_op_in_t){
            .op = MP_GOP_CREATE, .actor_id = OWNER, .title = "x", .user_ids = ghost, .n_users = 2});
    assert_int_equal(r.rc, MP_ERR_NOT_FOUND);
    uint64_t two[] = {MEMBER, ADMIN};
    r = run(f, (mp_group_op_in_t){.op = MP_GOP_CREATE,
                                  .actor_id = OWNER,
                                  .title = "x",
                                  .user_ids = two,
                                  .n_users = 2,
                                  .max_members = 2});
    assert_int_equal(r.rc, MP_ERR_GROUP_FULL);
    r = run(f, (mp_group_op_in_t){.op = MP_GOP_CREATE,
                                  .actor_id = OWNER,
                                  .title = "x",
                                  .settings_mask = MP_GROUP_SET_POST,
                                  .settings = {.post_admins = true, .invite_admins = true}});
    assert_int_equal(r.rc, MP_OK);
    assert_true(r.g.settings.post_admins);
    assert_false(r.g.settings.invite_admins); /* not in the mask */
    assert_int_equal(r.g.member_count, 1);
    /* A direct conversation id or an unknown one is no group. */
    assert_int_equal(op_rc(f, MP_GOP_DISSOLVE, OWNER, 424242, 0), MP_ERR_NOT_MEMBER);
}

static void test_permissions(void **state)
{
    fx_t *f = *state;
    uint64_t g = make_group(f);
    /* Non-members learn nothing. */
    assert_int_equal(op_rc(f, MP_GOP_DISSOLVE, OTHER, g, 0), MP_ERR_NOT_MEMBER);
    /* Members may not kick, ban, mute; admins may not touch admins/owner. */
    assert_int_equal(op_rc(f, MP_GOP_REMOVE, MEMBER, g, ADMIN), MP_ERR_NOT_ALLOWED);
    assert_int_equal(op_rc(f, MP_GOP_BAN, MEMBER, g, OTHER), MP_ERR_NOT_ALLOWED);
    assert_int_equal(op_rc(f, MP_GOP_BAN, ADMIN, g, OWNER), MP_ERR_NOT_ALLOWED);
    assert_int_equal(op_rc(f, MP_GOP_REMOVE, ADMIN, g, OWNER), MP_ERR_NOT_ALLOWED);
    assert_int_equal(op_rc(f, MP_GOP_REMOVE, ADMIN, g, OTHER), MP_ERR_NOT_FOUND);
    assert_int_equal(op_rc(f, MP_GOP_ROLE, ADMIN, g, MEMBER), MP_ERR_NOT_ALLOWED);
    assert_int_equal(op_rc(f, MP_GOP_TRANSFER, ADMIN, g, MEMBER), MP_ERR_NOT_ALLOWED);
    assert_int_equal(op_rc(f, MP_GOP_DISSOLVE, ADMIN, g, 0), MP_ERR_NOT_ALLOWED);
    /* The owner cannot leave, nor have their role changed. */
    assert_int_equal(op_rc(f, MP_GOP_REMOVE, OWNER, g, OWNER), MP_ERR_CONFLICT);
    assert_int_equal(run(f, (mp_group_op_in_t){.op = MP_GOP_ROLE,
                                               .actor_id = OWNER,
                                               .conversation_id = g,
                                               .target_id = OWNER,
                                               .role = MP_GROUP_MEMBER})
                         .rc,
                     MP_ERR_CONFLICT);
    /* who_can_edit_info = admins stops members; settings always need admins. */
    mp_group_op_in_t patch = {.op = MP_GOP_PATCH,
                              .actor_id = MEMBER,
                              .conversation_id = g,
                              .settings_mask = MP_GROUP_SET_EDIT,
                              .settings = {.edit_admins = true}};
    assert_int_equal(run(f, patch).rc, MP_ERR_NOT_ALLOWED);
    patch.actor_id = ADMIN;
    op_res_t p = run(f, patch);
    assert_int_equal(p.rc, MP_OK);
    assert_string_equal(p.action, "settings_changed");
    assert_true(p.g.settings.edit_admins);
    assert_int_equal(run(f, (mp_group_op_in_t){.op = MP_GOP_PATCH,
                                               .actor_id = MEMBER,
                                               .conversation_id = g,
                                               .title = "mine"})
                         .rc,
                     MP_ERR_NOT_ALLOWED);
    /* An admin kicks a member: the removed user is reported. */
    op_res_t k = run(
        f, (mp_group_op_in_t){
               .op = MP_GOP_REMOVE, .actor_id = ADMIN, .conversation_id = g, .target_id = MEMBER});
    assert_int_equal(k.rc, MP_OK);
    assert_true(k.removed == MEMBER);
    assert_string_equal(k.action, "member_removed");
    assert_int_equal(k.g.member_count, 2);
}

static void test_transfer_leave_dissolve(void **state)
{
    fx_t *f = *state;
    uint64_t g = make_group(f);
    assert_int_equal(op_rc(f, MP_GOP_TRANSFER, OWNER, g, OTHER), MP_ERR_NOT_FOUND);
    assert_int_equal(op_rc(f, MP_GOP_TRANSFER, OWNER, g, OWNER), MP_ERR_CONFLICT);
    op_res_t t = run(f, (mp_group_op_in_t){.op = MP_GOP_TRANSFER,
                                           .actor_id = OWNER,
                                           .conversation_id = g,
                                           .target_id = MEMBER});
    assert_int_equal(t.rc, MP_OK);
    assert_true(t.g.owner_id == MEMBER);
    assert_int_equal(t.g.my_role, MP_GROUP_ADMIN);
    op_res_t l = run(
        f, (mp_group_op_in_t){
               .op = MP_GOP_REMOVE, .actor_id = OWNER, .conversation_id = g, .target_id = OWNER});
    assert_int_equal(l.rc, MP_OK);
    assert_string_equal(l.action, "member_left");
    assert_true(l.removed == OWNER);
    assert_int_equal(op_rc(f, MP_GOP_DISSOLVE, OWNER, g, 0), MP_ERR_NOT_MEMBER);
    op_res_t d =
        run(f, (mp_group_op_in_t){.op = MP_GOP_DISSOLVE, .actor_id = MEMBER, .conversation_id = g});
    assert_int_equal(d.rc, MP_OK);
    assert_true(d.g.dissolved_at != 0);
    assert_string_equal(d.action, "dissolved");
    /* Every write afterwards is refused. */
    uint64_t one[] = {OTHER};
    assert_int_equal(run(f, (mp_group_op_in_t){.op = MP_GOP_ADD,
                                               .actor_id = MEMBER,
                                               .conversation_id = g,
                                               .user_ids = one,
                                               .n_users = 1})
                         .rc,
                     MP_ERR_DISSOLVED);
    assert_int_equal(op_rc(f, MP_GOP_DISSOLVE, MEMBER, g, 0), MP_ERR_DISSOLVED);
    assert_int_equal(op_rc(f, MP_GOP_REMOVE, ADMIN, g, ADMIN), MP_ERR_DISSOLVED);
}

static void test_add_ban_mute(void **state)
{
    fx_t *f = *state;
    uint64_t g = make_group(f);
    assert_int_equal(op_rc(f, MP_GOP_BAN, ADMIN, g, 999999), MP_ERR_NOT_FOUND);
    op_res_t b =
        run(f, (mp_group_op_in_t){
                   .op = MP_GOP_BAN, .actor_id = ADMIN, .conversation_id = g, .target_id = OTHER});
    assert_int_equal(b.rc, MP_OK);
    assert_string_equal(b.action, "banned");
    assert_true(b.removed == 0); /* was no member */
    uint64_t add[] = {FIFTH, OTHER, MEMBER};
    mp_group_op_in_t in = {
        .op = MP_GOP_ADD, .actor_id = MEMBER, .conversation_id = g, .user_ids = add, .n_users = 3};
    assert_int_equal(run(f, in).rc, MP_ERR_BANNED); /* nothing added */
    assert_int_equal(op_rc(f, MP_GOP_UNBAN, ADMIN, g, OTHER), MP_OK);
    assert_int_equal(op_rc(f, MP_GOP_UNBAN, ADMIN, g, OTHER), MP_ERR_NOT_FOUND);
    in.max_members = 4;
    assert_int_equal(run(f, in).rc, MP_ERR_GROUP_FULL);
    in.max_members = 5;
    op_res_t a = run(f, in);
    assert_int_equal(a.rc, MP_OK);
    assert_int_equal(a.n_added, 2); /* MEMBER already was one */
    assert_string_equal(a.action, "members_added");
    assert_string_equal(a.text, "Mia added Otto and Fay");
    assert_int_equal(a.g.member_count, 5);
    /* Nothing new: no message. */
    op_res_t again = run(f, in);
    assert_int_equal(again.rc, MP_OK);
    assert_int_equal(again.n_added, 0);
    assert_int_equal(again.n_msgs, 0);

    /* Mutes: the cache's view carries them, sorted. */
    assert_int_equal(run(f, (mp_group_op_in_t){.op = MP_GOP_MUTE,
                                               .actor_id = ADMIN,
                                               .conversation_id = g,
                                               .target_id = FIFTH,
                                               .until = f->now - 5})
                         .rc,
                     MP_ERR_BAD_REQUEST);
    op_res_t m = run(f, (mp_group_op_in_t){.op = MP_GOP_MUTE,
                                           .actor_id = ADMIN,
                                           .conversation_id = g,
                                           .target_id = FIFTH,
                                           .until = f->now + 60000});
    assert_int_equal(m.rc, MP_OK);
    assert_string_equal(m.action, "muted");
    assert_int_equal(run(f, (mp_group_op_in_t){.op = MP_GOP_MUTE,
                                               .actor_id = ADMIN,
                                               .conversation_id = g,
                                               .target_id = OWNER,
                                               .until = f->now + 60000})
                         .rc,
                     MP_ERR_NOT_ALLOWED);
}

typedef struct {
    int done;
    mp_err_t rc;
    mp_conv_kind_t kind;
    size_t n;
    uint64_t members[8];
    bool dissolved;
} conv_res_t;

static void on_conv(mp_err_t rc, const mp_group_conv_row_t *c, void *ud)
{
    conv_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc != MP_OK)
        return;
    r->kind = c->kind;
    r->n = c->n;
    for (size_t i = 0; i < c->n && i < 8; i++)
        r->members[i] = c->members[i];
    r->dissolved = c->dissolved;
}

static void test_conv_view(void **state)
{
    fx_t *f = *state;
    uint64_t g = make_group(f);
    conv_res_t r = {0};
    assert_int_equal(mp_store_group_conv(f->s.st, g, on_conv, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.kind, MP_CONV_GROUP);
    assert_int_equal(r.n, 3);
    assert_true(r.members[0] == OWNER && r.members[1] == ADMIN && r.members[2] == MEMBER);
    assert_false(r.dissolved);
    conv_res_t none = {0};
    assert_int_equal(mp_store_group_conv(f->s.st, 4242, on_conv, &none), MP_OK);
    MPU_WAIT(&f->s.loop, &none.done, 1);
    assert_int_equal(none.rc, MP_ERR_NOT_FOUND);
}

static op_res_t join(fx_t *f, uint64_t user, const char *token)
{
    return run(f, (mp_group_op_in_t){.op = MP_GOP_JOIN, .actor_id = user, .token = token});
}

static void test_invites(void **state)
{
    fx_t *f = *state;
    uint64_t g = make_group(f);
    char tok[23];
    snprintf(tok, sizeof tok, "tok%llu", (unsigned long long)g % 1000000);
    op_res_t inv = run(f, (mp_group_op_in_t){.op = MP_GOP_INVITE,
                                             .actor_id = MEMBER,
                                             .conversation_id = g,
                                             .token = tok,
                                             .max_uses = 1});
    assert_int_equal(inv.rc, MP_OK);
    assert_string_equal(inv.token, tok);
    assert_int_equal(inv.n_msgs, 0);
    assert_int_equal(join(f, OTHER, "nope").rc, MP_ERR_NOT_FOUND);
    op_res_t j = join(f, OTHER, tok);
    assert_int_equal(j.rc, MP_OK);
    assert_string_equal(j.action, "joined_by_link");
    assert_int_equal(j.g.member_count, 4);
    op_res_t again = join(f, OTHER, tok); /* already a member: fine, uses unchanged */
    assert_int_equal(again.rc, MP_OK);
    assert_true(again.already);
    assert_int_equal(again.uses, 1);
    assert_int_equal(join(f, FIFTH, tok).rc, MP_ERR_INVITE_EXHAUSTED);

    /* Expiry and revocation. */
    char tok2[] = "second-token";
    assert_int_equal(run(f, (mp_group_op_in_t){.op = MP_GOP_INVITE,
                                               .actor_id = OWNER,
                                               .conversation_id = g,
                                               .token = tok2,
                                               .until = f->now + 3})
                         .rc,
                     MP_OK);
    f->now += 10;
    assert_int_equal(join(f, FIFTH, tok2).rc, MP_ERR_INVITE_EXPIRED);
    char tok3[] = "third-token";
    assert_int_equal(run(f, (mp_group_op_in_t){.op = MP_GOP_INVITE,
                                               .actor_id = OWNER,
                                               .conversation_id = g,
                                               .token = tok3})
                         .rc,
                     MP_OK);
    assert_int_equal(run(f, (mp_group_op_in_t){.op = MP_GOP_REVOKE,
                                               .actor_id = MEMBER,
                                               .conversation_id = g,
                                               .token = tok3})
                         .rc,
                     MP_ERR_NOT_ALLOWED);
    /* A ban beats a live link. */
    assert_int_equal(op_rc(f, MP_GOP_BAN, OWNER, g, FIFTH), MP_OK);
    assert_int_equal(join(f, FIFTH, tok3).rc, MP_ERR_BANNED);
    assert_int_equal(run(f, (mp_group_op_in_t){.op = MP_GOP_REVOKE,
                                               .actor_id = ADMIN,
                                               .conversation_id = g,
                                               .token = tok3})
                         .rc,
                     MP_OK);
    assert_int_equal(join(f, FIFTH, tok3).rc, MP_ERR_INVITE_REVOKED);
    /* who_can_invite = admins stops members creating links. */
    assert_int_equal(run(f, (mp_group_op_in_t){.op = MP_GOP_PATCH,
                                               .actor_id = OWNER,
                                               .conversation_id = g,
                                               .settings_mask = MP_GROUP_SET_INVITE,
                                               .settings = {.invite_admins = true}})
                         .rc,
                     MP_OK);
    char tok4[] = "fourth-token";
    assert_int_equal(run(f, (mp_group_op_in_t){.op = MP_GOP_INVITE,
                                               .actor_id = MEMBER,
                                               .conversation_id = g,
                                               .token = tok4})
                         .rc,
                     MP_ERR_NOT_ALLOWED);
}

typedef struct {
    int done;
    mp_err_t rc;
    size_t n;
    bool more;
    uint64_t first, last;
    int64_t last_joined;
} page_res_t;

static void on_page(mp_err_t rc, const mp_group_member_row_t *rows, size_t n, bool more, void *ud)
{
    page_res_t *r = ud;
    r->done++;
    r->rc = rc;
    r->n = n;
    r->more = more;
    if (n > 0) {
        r->first = rows[0].user_id;
        r->last = rows[n - 1].user_id;
        r->last_joined = rows[n - 1].joined_at;
    }
}

typedef struct {
    int done;
    mp_err_t rc;
    size_t n_msgs;
    mp_conv_kind_t kind;
    int64_t last_seq;
} sync_res_t;

static void on_sync(mp_err_t rc, const mp_chat_sync_out_t *o, void *ud)
{
    sync_res_t *r = ud;
    r->done++;
    r->rc = rc;
    if (rc != MP_OK)
        return;
    r->n_msgs = o->n_msgs;
    for (size_t i = 0; i < o->n_msgs; i++)
        assert_string_equal(o->msgs[i].kind, "system");
    if (o->n_convs > 0) {
        r->kind = o->convs[0].kind;
        r->last_seq = o->convs[0].last_seq;
    }
}

static void test_members_page_and_sync(void **state)
{
    fx_t *f = *state;
    uint64_t g = make_group(f);
    page_res_t p = {0};
    assert_int_equal(mp_store_group_members(f->s.st, OWNER, g, -1, 0, 2, f->now, on_page, &p),
                     MP_OK);
    MPU_WAIT(&f->s.loop, &p.done, 1);
    assert_int_equal(p.rc, MP_OK);
    assert_int_equal(p.n, 2);
    assert_true(p.more);
    assert_true(p.first == OWNER && p.last == ADMIN);
    page_res_t q = {0};
    assert_int_equal(
        mp_store_group_members(f->s.st, OWNER, g, p.last_joined, p.last, 2, f->now, on_page, &q),
        MP_OK);
    MPU_WAIT(&f->s.loop, &q.done, 1);
    assert_int_equal(q.n, 1);
    assert_false(q.more);
    assert_true(q.first == MEMBER);
    page_res_t x = {0};
    assert_int_equal(mp_store_group_members(f->s.st, OTHER, g, -1, 0, 2, f->now, on_page, &x),
                     MP_OK);
    MPU_WAIT(&f->s.loop, &x.done, 1);
    assert_int_equal(x.rc, MP_ERR_NOT_MEMBER);

    /* Sync carries the system messages (1 created, 2 role_changed). */
    sync_res_t s = {0};
    assert_int_equal(mp_store_chat_sync(f->s.st, MEMBER, 0, 100, SIZE_MAX, on_sync, &s), MP_OK);
    MPU_WAIT(&f->s.loop, &s.done, 1);
    assert_int_equal(s.rc, MP_OK);
    assert_int_equal(s.n_msgs, 2);
    assert_int_equal(s.kind, MP_CONV_GROUP);
    assert_int_equal(s.last_seq, 2);
}

/* A group's avatar: the actor's own image, checked in the write, with the
 * info_changed message; null clears it. */
static void test_avatar(void **state)
{
    fx_t *f = *state;
    uint64_t g = make_group(f);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(mpu_store_db_path(&f->s), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    /* 41: ADMIN's image, 42: ADMIN's PDF, 43: OTHER's image. */
    assert_int_equal(
        sqlite3_exec(db,
                     "INSERT INTO blobs(id, sha256, skey, size, serve_size, mime, serve_mime,"
                     " class, created_at) VALUES(1, 'i', 'i-41', 9, 9, 'image/png', 'image/png',"
                     " 'image', 1), (2, 'p', 'p-42', 9, 9, 'application/pdf', 'application/pdf',"
                     " 'file', 1);"
                     "INSERT INTO files(id, owner_id, blob_id, size, created_at) VALUES"
                     " (41, 2002, 1, 9, 1), (42, 2002, 2, 9, 1), (43, 2004, 1, 9, 1)",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    mp_group_op_in_t in = {.op = MP_GOP_PATCH,
                           .actor_id = ADMIN,
                           .conversation_id = g,
                           .set_avatar = true,
                           .avatar_file_id = 42};
    assert_int_equal(run(f, in).rc, MP_ERR_BAD_REQUEST);
    in.avatar_file_id = 43;
    assert_int_equal(run(f, in).rc, MP_ERR_NOT_FOUND);
    in.avatar_file_id = 99;
    assert_int_equal(run(f, in).rc, MP_ERR_NOT_FOUND);
    in.avatar_file_id = 41;
    op_res_t r = run(f, in);
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.g.avatar_file_id, 41);
    assert_string_equal(r.action, "info_changed");
    assert_string_equal(r.text, "Adam changed the group info");
    /* A member may not when who_can_edit_info is admins. */
    assert_int_equal(run(f, (mp_group_op_in_t){.op = MP_GOP_PATCH,
                                               .actor_id = OWNER,
                                               .conversation_id = g,
                                               .settings_mask = MP_GROUP_SET_EDIT,
                                               .settings = {.edit_admins = true}})
                         .rc,
                     MP_OK);
    in.actor_id = MEMBER;
    in.avatar_file_id = 0;
    assert_int_equal(run(f, in).rc, MP_ERR_NOT_ALLOWED);
    /* A title change keeps it; the owner clears it, and may not set the
     * admin's upload (it is not theirs). */
    r = run(f, (mp_group_op_in_t){
                   .op = MP_GOP_PATCH, .actor_id = OWNER, .conversation_id = g, .title = "Owls"});
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.g.avatar_file_id, 41);
    in.actor_id = OWNER;
    r = run(f, in);
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.g.avatar_file_id, 0);
    in.avatar_file_id = 41;
    assert_int_equal(run(f, in).rc, MP_ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_avatar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transfer_leave_dissolve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_ban_mute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conv_view, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_members_page_and_sync, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
