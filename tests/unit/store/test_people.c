/* Store operations of people (store/people.h): profiles with the viewer's
 * relation, own-profile updates (and the display-name index kept by the
 * triggers), user search (order, exclusions, privacy, paging) and the
 * audience of a profile change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "msg_util.h"
#include "store/people.h"

/* alice (1001), bob (1002), carol (1003) come from msg_util.h. */
enum {
    ANN = 2001,   /* "ann": the exact match */
    ANNA = 2002,  /* "anna" */
    ANNU = 2003,  /* "ann_b": '_' is no wildcard */
    ANXB = 2004,  /* "anxb" */
    SMITH = 2005, /* "zsmith", display name "Ann Smith" */
    GUEST = 2006, /* "annguest" */
    GONE = 2007,  /* "annex", deleted */
    OFF = 2008,   /* "annoff", disabled */
    WAIT = 2009,  /* "annwait", pending */
    HIDE = 2010,  /* "annhide", priv_search nobody */
    FRND = 2011,  /* "annfriend", priv_search contacts */
};

static int setup(void **state)
{
    if (fx_setup(state) != 0)
        return -1;
    fx_t *f = *state;
    mpu_user_add(&f->s, ANN, "ann", "Ann", false);
    mpu_user_add(&f->s, ANNA, "anna", "Anna", false);
    mpu_user_add(&f->s, ANNU, "ann_b", "B", false);
    mpu_user_add(&f->s, ANXB, "anxb", "X", false);
    mpu_user_add(&f->s, SMITH, "zsmith", "Ann Smith", false);
    mpu_user_add(&f->s, GUEST, "annguest", "Ann Guest", true);
    mpu_user_add(&f->s, GONE, "annex", "Ann Ex", false);
    mpu_user_add(&f->s, OFF, "annoff", "Ann Off", false);
    mpu_user_add(&f->s, WAIT, "annwait", "Ann Wait", false);
    mpu_user_add(&f->s, HIDE, "annhide", "Ann Hide", false);
    mpu_user_add(&f->s, FRND, "annfriend", "Ann Friend", false);
    exec_sql(f, "UPDATE users SET deleted_at = 5 WHERE id = 2007;"
                "UPDATE users SET disabled_at = 5 WHERE id = 2008;"
                "UPDATE users SET pending = 1 WHERE id = 2009;"
                "UPDATE users SET priv_search = 2 WHERE id = 2010;"
                "UPDATE users SET priv_search = 1 WHERE id = 2011;");
    return 0;
}

/* ---- blocking wrappers ---------------------------------------------------------- */

typedef struct {
    int done;
    mp_err_t rc;
    mp_profile_row_t p;
    uint64_t ids[64];
    size_t n;
    char next[64];
    bool has_next;
    mp_profile_row_t rows[64];
} res_t;

static void on_profile(mp_err_t rc, const mp_profile_row_t *p, void *ud)
{
    res_t *r = ud;
    r->rc = rc;
    if (rc == MP_OK)
        r->p = *p;
    r->done++;
}

static res_t by_id(fx_t *f, uint64_t viewer, uint64_t id)
{
    res_t r = {0};
    assert_int_equal(mp_store_people_by_id(f->s.st, viewer, id, on_profile, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static res_t by_name(fx_t *f, uint64_t viewer, const char *name)
{
    res_t r = {0};
    assert_int_equal(mp_store_people_by_username(f->s.st, viewer, name, on_profile, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static void on_updated(mp_err_t rc, const mp_profile_row_t *p, const uint64_t *aud, size_t n,
                       void *ud)
{
    res_t *r = ud;
    r->rc = rc;
    if (rc == MP_OK) {
        r->p = *p;
        assert_true(n <= 64);
        if (n > 0)
            memcpy(r->ids, aud, n * sizeof *aud);
        r->n = n;
    }
    r->done++;
}

static res_t update(fx_t *f, uint64_t user, const mp_people_update_t *u)
{
    res_t r = {0};
    assert_int_equal(mp_store_people_update(f->s.st, user, u, on_updated, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static void on_ids(mp_err_t rc, const uint64_t *ids, size_t n, void *ud)
{
    res_t *r = ud;
    r->rc = rc;
    assert_true(n <= 64);
    if (n > 0)
        memcpy(r->ids, ids, n * sizeof *ids);
    r->n = n;
    r->done++;
}

static void on_found(mp_err_t rc, const mp_profile_row_t *rows, size_t n, const char *next,
                     void *ud)
{
    res_t *r = ud;
    r->rc = rc;
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++) {
        r->rows[i] = rows[i];
        r->ids[i] = rows[i].id;
    }
    r->n = n;
    r->has_next = next != NULL;
    if (next)
        snprintf(r->next, sizeof r->next, "%s", next);
    r->done++;
}

static res_t search(fx_t *f, uint64_t viewer, const char *q, unsigned limit, const char *cursor)
{
    res_t r = {0};
    mp_people_search_in_t in = {.viewer = viewer, .q = q, .limit = limit, .cursor = cursor};
    assert_int_equal(mp_store_people_search(f->s.st, &in, on_found, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    return r;
}

static bool has(const res_t *r, uint64_t id)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->ids[i] == id)
            return true;
    return false;
}

/* ---- profiles -------------------------------------------------------------------- */

static void test_profile_reads(void **state)
{
    fx_t *f = *state;
    res_t r = by_id(f, ALICE, BOB);
    assert_int_equal(r.rc, MP_OK);
    assert_string_equal(r.p.username, "bob");
    assert_string_equal(r.p.display_name, "Bob");
    assert_string_equal(r.p.bio, "");
    assert_int_equal(r.p.avatar_file_id, 0);
    assert_false(r.p.deleted);
    assert_int_equal(r.p.contact, MP_CONTACT_NONE);
    assert_false(r.p.blocked);

    r = by_name(f, ALICE, "BoB");
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.p.id, BOB);
    assert_int_equal(by_name(f, ALICE, "nobody").rc, MP_ERR_NOT_FOUND);
    assert_int_equal(by_name(f, ALICE, "a_name_much_longer_than_any_username_is").rc,
                     MP_ERR_NOT_FOUND);
    assert_int_equal(by_id(f, ALICE, 999999).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(by_id(f, ALICE, 0).rc, MP_ERR_NOT_FOUND);

    /* Deleted: found by id (its messages name it), not by its reserved name. */
    r = by_id(f, ALICE, GONE);
    assert_int_equal(r.rc, MP_OK);
    assert_true(r.p.deleted);
    assert_int_equal(by_name(f, ALICE, "annex").rc, MP_ERR_NOT_FOUND);
    /* Pending: not there yet, either way. */
    assert_int_equal(by_id(f, ALICE, WAIT).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(by_name(f, ALICE, "annwait").rc, MP_ERR_NOT_FOUND);
    /* Guests have profiles too. */
    r = by_id(f, ALICE, GUEST);
    assert_int_equal(r.rc, MP_OK);
    assert_true(r.p.guest);
}

/* contact = the viewer's row; blocked = the viewer blocked them, never the
 * reverse. */
static void test_profile_relation(void **state)
{
    fx_t *f = *state;
    exec_sql(f, "INSERT INTO contacts(user_id, peer_id, state, created_at, updated_at, version)"
                " VALUES (1001, 1002, 1, 1, 1, 1), (1002, 1001, 2, 1, 1, 1),"
                " (1001, 1003, 3, 1, 1, 1), (1003, 1001, 3, 1, 1, 1);"
                "INSERT INTO blocks(user_id, blocked_id, created_at) VALUES (1003, 1002, 1);");
    assert_int_equal(by_id(f, ALICE, BOB).p.contact, MP_CONTACT_OUTGOING);
    assert_int_equal(by_id(f, BOB, ALICE).p.contact, MP_CONTACT_INCOMING);
    assert_int_equal(by_name(f, ALICE, "carol").p.contact, MP_CONTACT_FRIENDS);
    assert_true(by_id(f, CAROL, BOB).p.blocked);
    assert_false(by_id(f, BOB, CAROL).p.blocked);
    assert_int_equal(by_id(f, BOB, CAROL).p.contact, MP_CONTACT_NONE);
}

static void test_update(void **state)
{
    fx_t *f = *state;
    mp_people_update_t u = {.set_bio = true, .bio = "line one\nline two"};
    res_t r = update(f, BOB, &u);
    assert_int_equal(r.rc, MP_OK);
    assert_string_equal(r.p.bio, "line one\nline two");
    assert_string_equal(r.p.display_name, "Bob"); /* untouched */

    /* Uploads: 77 Bob's image, 78 Bob's PDF, 79 Alice's image. */
    exec_sql(f, "INSERT INTO blobs(id, sha256, skey, size, serve_size, mime, serve_mime, class,"
                " created_at) VALUES(1, 'i', 'i-77', 9, 9, 'image/png', 'image/png', 'image', 1),"
                " (2, 'p', 'p-78', 9, 9, 'application/pdf', 'application/pdf', 'file', 1);"
                "INSERT INTO files(id, owner_id, blob_id, size, created_at) VALUES"
                " (77, 1002, 1, 9, 1), (78, 1002, 2, 9, 1), (79, 1001, 1, 9, 1)");
    /* An avatar is one's own image, else nothing is written. */
    u = (mp_people_update_t){
        .set_bio = true, .bio = "no", .set_avatar = true, .avatar_file_id = 78};
    assert_int_equal(update(f, BOB, &u).rc, MP_ERR_BAD_REQUEST);
    u.avatar_file_id = 79;
    assert_int_equal(update(f, BOB, &u).rc, MP_ERR_NOT_FOUND);
    u.avatar_file_id = 80;
    assert_int_equal(update(f, BOB, &u).rc, MP_ERR_NOT_FOUND);
    assert_string_equal(by_id(f, ALICE, BOB).p.bio, "line one\nline two");

    u = (mp_people_update_t){.set_display_name = true,
                             .display_name = "Robert Quux",
                             .set_avatar = true,
                             .avatar_file_id = 77};
    r = update(f, BOB, &u);
    assert_int_equal(r.rc, MP_OK);
    assert_string_equal(r.p.display_name, "Robert Quux");
    assert_string_equal(r.p.bio, "line one\nline two");
    assert_int_equal(r.p.avatar_file_id, 77);
    r = by_id(f, ALICE, BOB);
    assert_string_equal(r.p.display_name, "Robert Quux");
    assert_int_equal(r.p.avatar_file_id, 77);

    u = (mp_people_update_t){.set_avatar = true, .avatar_file_id = 0};
    assert_int_equal(update(f, BOB, &u).p.avatar_file_id, 0);

    /* A deleted account has no profile to change; no user at all neither. */
    u = (mp_people_update_t){.set_bio = true, .bio = "x"};
    assert_int_equal(update(f, GONE, &u).rc, MP_ERR_NOT_FOUND);
    assert_int_equal(update(f, 999999, &u).rc, MP_ERR_NOT_FOUND);
}

/* The display-name index follows a rename through the triggers: the new
 * words are found, the old ones no longer. */
static void test_fts_follows_rename(void **state)
{
    fx_t *f = *state;
    res_t r = search(f, ALICE, "bob", 20, "");
    assert_true(has(&r, BOB));
    r = search(f, ALICE, "quux", 20, "");
    assert_false(has(&r, BOB));

    mp_people_update_t u = {.set_display_name = true, .display_name = "Robert Quux"};
    assert_int_equal(update(f, BOB, &u).rc, MP_OK);
    r = search(f, ALICE, "quu", 20, "");
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ids[0], BOB);
    /* The old words go: anxb was found as "X" by name only. */
    r = search(f, ALICE, "x", 20, "");
    assert_true(has(&r, ANXB));
    u = (mp_people_update_t){.set_display_name = true, .display_name = "Yolanda"};
    assert_int_equal(update(f, ANXB, &u).rc, MP_OK);
    r = search(f, ALICE, "x", 20, "");
    assert_false(has(&r, ANXB));
    r = search(f, ALICE, "yol", 20, "");
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ids[0], ANXB);
    r = search(f, ALICE, "robert quux", 20, "");
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ids[0], BOB);
}

/* ---- search ------------------------------------------------------------------------ */

/* Exact username first, then the username prefixes by name, then the
 * display-name matches; never guests, deleted, disabled, pending or
 * privacy-hidden users; '_' is a character, not a wildcard. */
static void test_search_order_and_exclusions(void **state)
{
    fx_t *f = *state;
    res_t r = search(f, ALICE, "ann", 50, "");
    /* ann, ann_b, anna (username order: '_' < 'a'), then zsmith by name. */
    assert_int_equal(r.n, 4);
    assert_int_equal(r.ids[0], ANN);
    assert_int_equal(r.ids[1], ANNU);
    assert_int_equal(r.ids[2], ANNA);
    assert_int_equal(r.ids[3], SMITH);
    assert_false(r.has_next);
    assert_false(has(&r, GUEST));
    assert_false(has(&r, GONE));
    assert_false(has(&r, OFF));
    assert_false(has(&r, WAIT));
    assert_false(has(&r, HIDE));
    assert_false(has(&r, FRND)); /* contacts only, and alice is not one */

    /* "ann_" prefixes ann_b only (LIKE would take anna too); the words
     * ("ann"*) find the others by name, in id order. */
    r = search(f, ALICE, "ann_", 50, "");
    assert_int_equal(r.n, 4);
    assert_int_equal(r.ids[0], ANNU);
    assert_int_equal(r.ids[1], ANN);
    assert_int_equal(r.ids[2], ANNA);
    assert_int_equal(r.ids[3], SMITH);
    r = search(f, ALICE, "ANX", 50, "");
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ids[0], ANXB);
    /* Words: every one must prefix a word of the display name. */
    r = search(f, ALICE, "smi an", 50, "");
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ids[0], SMITH);
    r = search(f, ALICE, "smith bob", 50, "");
    assert_int_equal(r.n, 0);
    /* Query syntax is not injected. */
    r = search(f, ALICE, "\"ann\" OR *", 50, "");
    assert_int_equal(r.n, 0);
    r = search(f, ALICE, "-", 50, "");
    assert_int_equal(r.n, 0);
}

static void test_search_privacy(void **state)
{
    fx_t *f = *state;
    /* Friends of annfriend find it; a pending request is not enough. */
    exec_sql(f, "INSERT INTO contacts(user_id, peer_id, state, created_at, updated_at, version)"
                " VALUES (2011, 1002, 3, 1, 1, 1), (1002, 2011, 3, 1, 1, 1),"
                " (2011, 1003, 2, 1, 1, 1), (1003, 2011, 1, 1, 1, 1),"
                " (2010, 1002, 3, 1, 1, 1), (1002, 2010, 3, 1, 1, 1);");
    res_t r = search(f, BOB, "annf", 50, "");
    assert_true(has(&r, FRND));
    r = search(f, CAROL, "annf", 50, "");
    assert_false(has(&r, FRND));
    /* Nobody: not even friends. */
    r = search(f, BOB, "annh", 50, "");
    assert_false(has(&r, HIDE));
    /* The user always finds themselves. */
    r = search(f, HIDE, "annhide", 50, "");
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ids[0], HIDE);
    /* Blocked the searcher? Still found (as Telegram does). */
    exec_sql(f, "INSERT INTO blocks(user_id, blocked_id, created_at) VALUES (2001, 1001, 1);");
    r = search(f, ALICE, "ann", 50, "");
    assert_true(has(&r, ANN));
    assert_false(r.rows[0].blocked); /* blocked = the viewer blocked them */
}

/* Pages of one, two and three rows give the same sequence as one page, with
 * the cursor crossing the username and name parts. */
static void test_search_paging(void **state)
{
    fx_t *f = *state;
    res_t all = search(f, ALICE, "ann", 50, "");
    assert_int_equal(all.n, 4);
    for (unsigned limit = 1; limit <= 3; limit++) {
        uint64_t got[16];
        size_t n = 0;
        char cursor[64] = "";
        for (int page = 0; page < 10; page++) {
            res_t r = search(f, ALICE, "ann", limit, cursor);
            assert_true(r.n <= limit);
            for (size_t i = 0; i < r.n; i++)
                got[n++] = r.ids[i];
            if (!r.has_next)
                break;
            assert_int_equal(r.n, limit);
            snprintf(cursor, sizeof cursor, "%s", r.next);
        }
        assert_int_equal(n, all.n);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(got[i], all.ids[i]);
    }
    /* A cursor the store did not make. */
    const char *bad[] = {"x1", "n", "nabc", "u", "uBAD!", "n0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        res_t r = {0};
        mp_people_search_in_t in = {.viewer = ALICE, .q = "ann", .limit = 5, .cursor = bad[i]};
        assert_int_equal(mp_store_people_search(f->s.st, &in, on_found, &r), MP_ERR_BAD_REQUEST);
        assert_int_equal(r.done, 0);
    }
}

/* ---- audience ----------------------------------------------------------------------- */

static void test_audience(void **state)
{
    fx_t *f = *state;
    /* alice-bob share a direct conversation; alice → carol is a pending
     * request; alice-ann was a contact once (tombstone): not told. */
    (void)send_msg(f, ALICE, 0, BOB, "hi");
    exec_sql(f, "INSERT INTO contacts(user_id, peer_id, state, created_at, updated_at, version)"
                " VALUES (1001, 1003, 1, 1, 1, 1), (1003, 1001, 2, 1, 1, 1),"
                " (1001, 2001, 0, 1, 1, 1), (2001, 1001, 0, 1, 1, 1);");
    res_t r = {0};
    assert_int_equal(mp_store_people_audience(f->s.st, ALICE, on_ids, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    assert_int_equal(r.rc, MP_OK);
    assert_int_equal(r.n, 2);
    assert_true(has(&r, BOB));
    assert_true(has(&r, CAROL));
    assert_false(has(&r, ANN));
    assert_false(has(&r, ALICE));

    /* The update answers the same audience. */
    mp_people_update_t u = {.set_bio = true, .bio = "hello"};
    res_t up = update(f, ALICE, &u);
    assert_int_equal(up.rc, MP_OK);
    assert_int_equal(up.n, 2);
    assert_true(has(&up, BOB));
    assert_true(has(&up, CAROL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_profile_reads, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_profile_relation, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_update, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_fts_follows_rename, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_search_order_and_exclusions, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_search_privacy, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_search_paging, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_audience, setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
