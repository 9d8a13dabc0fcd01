/* Messages with files in the store (store/chat.h, store/messages.h): a send
 * checks inside its write that the sender may read content.file_id and that
 * its class suits the kind, stores the content the server filled from the
 * file and a file_refs row; a forward adds a row for its copy; a delete for
 * everyone drops the message's rows. Files and blobs are rows written here
 * with SQL (no upload runs in a store test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "msg_util.h"

/* Files: ALICE's image (11) and sound (12), BOB's image (13), never sent. */
#define IMG_META "{\"width\":40,\"height\":30,\"preview\":\"data:image/webp;base64,AA\"}"
static const char SEED[] =
    "INSERT INTO blobs(id, sha256, skey, size, serve_size, mime, serve_mime, class, meta,"
    " created_at) VALUES"
    " (1, 'a1', 'a1-11', 100, 90, 'image/jpeg', 'image/jpeg', 'image', '" IMG_META "', 1),"
    " (2, 'b2', 'b2-12', 200, 200, 'audio/ogg', 'audio/ogg', 'audio',"
    "  '{\"duration_ms\":2500,\"waveform\":[0,50,100]}', 1);"
    "INSERT INTO files(id, owner_id, blob_id, name, size, created_at) VALUES"
    " (11, 1001, 1, 'a.jpg', 100, 1), (12, 1001, 2, 'v.ogg', 200, 1),"
    " (13, 1002, 1, 'b.jpg', 100, 1);";

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t id, conv;
    char content[512];
    char bad_field[32];
} fsend_t;

static void on_fsend(mp_err_t rc, const mp_chat_send_out_t *o, void *ud)
{
    fsend_t *r = ud;
    r->done++;
    r->rc = rc;
    if (o != NULL && o->bad_field != NULL)
        snprintf(r->bad_field, sizeof r->bad_field, "%s", o->bad_field);
    if (rc == MP_OK) {
        r->id = o->msg.id;
        r->conv = o->msg.conversation_id;
        snprintf(r->content, sizeof r->content, "%s", o->msg.content ? o->msg.content : "");
    }
}

/* `from` sends kind with content to user `to`. */
static fsend_t fsend(fx_t *f, uint64_t from, uint64_t to, const char *kind, const char *content)
{
    static int n;
    char cmid[32];
    snprintf(cmid, sizeof cmid, "f-%d", ++n);
    mp_chat_send_in_t in = {.sender_id = from,
                            .sender_device = 1,
                            .to_user_id = to,
                            .client_msg_id = cmid,
                            .text = "",
                            .kind = kind,
                            .content = content,
                            .now_ms = ++f->now};
    fsend_t r = {0};
    assert_int_equal(mp_store_chat_send(f->s.st, &in, on_fsend, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

static int setup(void **state)
{
    if (fx_setup(state) != 0)
        return -1;
    exec_sql(*state, SEED);
    return 0;
}

/* How many refs to file 11 the message holds in its conversation. */
static int64_t refs_of_11(fx_t *f, uint64_t msg, uint64_t conv)
{
    return mpu_store_peek_int(&f->s,
                              "SELECT count(*) FROM file_refs WHERE file_id = 11"
                              " AND message_id = %llu AND conversation_id = %llu",
                              (unsigned long long)msg, (unsigned long long)conv);
}

static void test_refused(void **state)
{
    fx_t *f = *state;
    /* Someone else's file that no message shares: the same answer as none. */
    fsend_t r = fsend(f, ALICE, BOB, "image", "{\"file_id\":\"13\"}");
    assert_int_equal(r.rc, MP_ERR_NOT_FOUND);
    assert_string_equal(r.bad_field, "content.file_id");
    r = fsend(f, ALICE, BOB, "image", "{\"file_id\":\"999\"}");
    assert_int_equal(r.rc, MP_ERR_NOT_FOUND);
    assert_string_equal(r.bad_field, "content.file_id");
    /* The kind needs another class. */
    r = fsend(f, ALICE, BOB, "image", "{\"file_id\":\"12\"}");
    assert_int_equal(r.rc, MP_ERR_BAD_REQUEST);
    assert_string_equal(r.bad_field, "content.file_id");
    r = fsend(f, ALICE, BOB, "voice", "{\"file_id\":\"11\"}");
    assert_int_equal(r.rc, MP_ERR_BAD_REQUEST);
    r = fsend(f, ALICE, BOB, "video", "{\"file_id\":\"11\"}");
    assert_int_equal(r.rc, MP_ERR_BAD_REQUEST);
    /* A media kind without a file id (only a store caller could). */
    r = fsend(f, ALICE, BOB, "file", "{\"name\":\"x\"}");
    assert_int_equal(r.rc, MP_ERR_NOT_FOUND);
    /* Nothing was stored. */
    assert_int_equal(mpu_store_peek_int(&f->s, "SELECT count(*) FROM messages"), 0);
    assert_int_equal(mpu_store_peek_int(&f->s, "SELECT count(*) FROM file_refs"), 0);
}

static void test_send_fills_and_refs(void **state)
{
    fx_t *f = *state;
    /* The client's width is replaced; mime, size and preview come from the
     * file (the bytes served). */
    fsend_t r = fsend(f, ALICE, BOB, "image", "{\"file_id\":\"11\",\"width\":5000}");
    assert_int_equal(r.rc, MP_OK);
    assert_string_equal(r.content,
                        "{\"file_id\":\"11\",\"width\":40,\"height\":30,\"mime\":\"image/jpeg\","
                        "\"size\":90,\"preview\":\"data:image/webp;base64,AA\"}");
    assert_int_equal(refs_of_11(f, r.id, r.conv), 1);
    /* What every reader gets is what was stored. */
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT length(content) FROM messages WHERE id = %llu",
             (unsigned long long)r.id);
    assert_int_equal(mpu_store_peek_int(&f->s, "%s", sql), (long long)strlen(r.content));

    /* A voice note without a duration gets the server's, and its waveform. */
    fsend_t v = fsend(f, ALICE, BOB, "voice", "{\"file_id\":\"12\"}");
    assert_int_equal(v.rc, MP_OK);
    assert_string_equal(v.content, "{\"file_id\":\"12\",\"duration_ms\":2500,\"waveform\":[0,50,"
                                   "100],\"mime\":\"audio/ogg\",\"size\":200}");
    /* Kind file takes any class, with the client's name. */
    fsend_t d = fsend(f, ALICE, BOB, "file", "{\"file_id\":\"12\",\"name\":\"n.ogg\",\"size\":1}");
    assert_int_equal(d.rc, MP_OK);
    assert_string_equal(
        d.content, "{\"file_id\":\"12\",\"name\":\"n.ogg\",\"size\":200,\"mime\":\"audio/ogg\"}");
    assert_int_equal(mpu_store_peek_int(&f->s, "SELECT count(*) FROM file_refs WHERE file_id = 12"),
                     2);
}

typedef struct {
    int done;
    mp_err_t rc;
    uint64_t id, conv;
    char bad_field[16];
} ffwd_t;

static void on_ffwd(mp_err_t rc, const mp_msg_forward_out_t *o, void *ud)
{
    ffwd_t *r = ud;
    r->done++;
    r->rc = rc;
    if (o != NULL && o->bad_field != NULL)
        snprintf(r->bad_field, sizeof r->bad_field, "%s", o->bad_field);
    if (rc == MP_OK && o->n == 1) {
        r->id = o->msgs[0].id;
        r->conv = o->msgs[0].conversation_id;
    }
}

static ffwd_t ffwd(fx_t *f, uint64_t who, uint64_t from, uint64_t mid, uint64_t to)
{
    static int n;
    char cmid[32];
    snprintf(cmid, sizeof cmid, "fw-%d", ++n);
    mp_msg_forward_in_t in = {.sender_id = who,
                              .sender_device = 1,
                              .from_conversation = from,
                              .message_ids = &mid,
                              .n = 1,
                              .to_user_id = to,
                              .client_msg_id = cmid,
                              .now_ms = ++f->now};
    ffwd_t r = {0};
    assert_int_equal(mp_store_msg_forward(f->s.st, &in, on_ffwd, &r), MP_OK);
    MPU_WAIT(&f->s.loop, &r.done, 1);
    return r;
}

typedef struct {
    int done;
    mp_err_t rc;
} del_t;

static void on_deleted(mp_err_t rc, const mp_msg_row_t *m, void *ud)
{
    (void)m;
    del_t *d = ud;
    d->rc = rc;
    d->done++;
}

static void test_forward_and_delete(void **state)
{
    fx_t *f = *state;
    fsend_t r = fsend(f, ALICE, BOB, "image", "{\"file_id\":\"11\"}");
    assert_int_equal(r.rc, MP_OK);
    /* Bob is no uploader: the ref of the message he reads grants him the
     * file, and his copy to Carol gets its own. */
    ffwd_t c = ffwd(f, BOB, r.conv, r.id, CAROL);
    assert_int_equal(c.rc, MP_OK);
    assert_true(c.conv != r.conv);
    assert_int_equal(refs_of_11(f, c.id, c.conv), 1);
    assert_int_equal(
        mpu_store_peek_int(&f->s,
                           "SELECT content = (SELECT content FROM messages WHERE id = %llu)"
                           " FROM messages WHERE id = %llu",
                           (unsigned long long)r.id, (unsigned long long)c.id),
        1);

    /* Delete for everyone: the original's ref goes, the copy's stays. */
    del_t d = {0};
    mp_msg_actor_t a = {.user_id = ALICE};
    assert_int_equal(
        mp_store_msg_delete(f->s.st, &a, r.conv, r.id, true, 0, ++f->now, on_deleted, &d), MP_OK);
    MPU_WAIT(&f->s.loop, &d.done, 1);
    assert_int_equal(d.rc, MP_OK);
    assert_int_equal(mpu_store_peek_int(&f->s,
                                        "SELECT count(*) FROM file_refs WHERE message_id = %llu",
                                        (unsigned long long)r.id),
                     0);
    assert_int_equal(mpu_store_peek_int(&f->s, "SELECT count(*) FROM file_refs WHERE file_id = 11"),
                     1);

    /* A message whose file is gone (rows removed by hand) cannot be
     * forwarded. */
    fsend_t v = fsend(f, ALICE, BOB, "voice", "{\"file_id\":\"12\"}");
    assert_int_equal(v.rc, MP_OK);
    exec_sql(f, "DELETE FROM file_refs WHERE file_id = 12; DELETE FROM files WHERE id = 12");
    ffwd_t g = ffwd(f, BOB, v.conv, v.id, CAROL);
    assert_int_equal(g.rc, MP_ERR_NOT_FOUND);
    assert_string_equal(g.bad_field, "file");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refused, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_send_fills_and_refs, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_forward_and_delete, setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
