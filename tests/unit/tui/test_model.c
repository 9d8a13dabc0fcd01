/* The terminal chat's model: messages kept in seq order and replaced by
 * message_id, receipt marks from the members' cursors, the list order, and
 * the sends waiting for their acks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/tui_int.h"

static json_t *msg(const char *id, int seq, const char *sender, const char *text)
{
    return json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:i}", "message_id", id, "conversation", "c1", "seq",
                     seq, "sender", sender, "kind", "text", "text", text, "created_at", 1000);
}

static bool upsert(mp_tui_conv_t *c, json_t *m)
{
    bool fresh = mp_tui__conv_upsert(c, m);
    json_decref(m);
    return fresh;
}

static void test_messages_in_seq_order(void **state)
{
    (void)state;
    mp_tui_model_t m = {0};
    mp_tui_conv_t *c = mp_tui__conv_get(&m, "c1", false);
    assert_true(upsert(c, msg("m3", 3, "u2", "three")));
    assert_true(upsert(c, msg("m1", 1, "u2", "one")));
    assert_true(upsert(c, msg("m2", 2, "u2", "two\x1b[31m")));
    assert_int_equal(c->n_msgs, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(c->msgs[i].seq, i + 1);
    /* stored sanitized */
    assert_null(strchr(c->msgs[1].text, 0x1b));
    /* an edit replaces in place */
    json_t *e = msg("m2", 2, "u2", "second");
    json_object_set_new(e, "edited_at", json_integer(2000));
    assert_false(upsert(c, e));
    assert_int_equal(c->n_msgs, 3);
    assert_string_equal(c->msgs[1].text, "second");
    assert_true(c->msgs[1].edited);
    /* a tombstone shows as deleted */
    json_t *d = msg("m1", 1, "u2", "");
    json_object_set_new(d, "deleted", json_true());
    assert_false(upsert(c, d));
    assert_string_equal(c->msgs[0].text, "(deleted)");
    /* other kinds show their kind and caption */
    json_t *img = msg("m4", 4, "u2", "the view");
    json_object_set_new(img, "kind", json_string("image"));
    assert_true(upsert(c, img));
    assert_string_equal(c->msgs[3].text, "[image] the view");
    assert_int_equal(mp_tui__conv_newest_seq(c), 4);
    /* hidden for the user: gone, the others in order */
    mp_tui__conv_remove(c, "m2");
    mp_tui__conv_remove(c, "nope");
    assert_int_equal(c->n_msgs, 3);
    assert_string_equal(c->msgs[1].message_id, "m3");
    mp_tui__model_free(&m);
}

static void test_marks(void **state)
{
    (void)state;
    mp_tui_model_t m = {0};
    strcpy(m.me, "me");
    mp_tui_conv_t *c = mp_tui__conv_get(&m, "c1", false);
    upsert(c, msg("m1", 1, "me", "a"));
    upsert(c, msg("m2", 2, "me", "b"));
    upsert(c, msg("m3", 3, "me", "c"));
    upsert(c, msg("m4", 4, "u2", "d"));
    c->peer_delivered_seq = 2;
    c->peer_read_seq = 1;
    assert_int_equal(mp_tui__mark(&m, c, &c->msgs[0]), MP_TUI_MARK_READ);
    assert_int_equal(mp_tui__mark(&m, c, &c->msgs[1]), MP_TUI_MARK_DELIVERED);
    assert_int_equal(mp_tui__mark(&m, c, &c->msgs[2]), MP_TUI_MARK_SENT);
    assert_int_equal(mp_tui__mark(&m, c, &c->msgs[3]), MP_TUI_MARK_NONE);
    mp_tui__model_free(&m);
}

static void test_list_order(void **state)
{
    (void)state;
    mp_tui_model_t m = {0};
    mp_tui__conv_get(&m, "a", false);
    mp_tui_conv_t *b = mp_tui__conv_get(&m, "b", false);
    mp_tui__conv_get(&m, "c", true);
    assert_string_equal(m.convs[0]->id, "c");
    assert_string_equal(m.convs[1]->id, "a");
    mp_tui__conv_to_top(&m, b);
    assert_string_equal(m.convs[0]->id, "b");
    assert_string_equal(m.convs[1]->id, "c");
    assert_string_equal(m.convs[2]->id, "a");
    assert_int_equal(mp_tui__conv_index(&m, b), 0);
    assert_ptr_equal(mp_tui__conv_get(&m, "a", true), m.convs[2]); /* present: not moved */
    mp_tui__model_free(&m);
}

static void test_pending(void **state)
{
    (void)state;
    mp_tui_model_t m = {0};
    mp_tui_pending_t *p = mp_tui__pending_add(&m, "c1", "hello");
    p->frame_id = 7;
    char first_id[24];
    strcpy(first_id, p->client_msg_id);
    p = mp_tui__pending_add(&m, "c1", "again");
    p->frame_id = 8;
    assert_string_not_equal(first_id, p->client_msg_id); /* fresh ids */
    assert_int_equal(m.n_pending, 2);
    p = mp_tui__pending_by_frame(&m, 7);
    assert_non_null(p);
    assert_string_equal(p->text, "hello");
    mp_tui__pending_remove(&m, p);
    assert_int_equal(m.n_pending, 1);
    assert_null(mp_tui__pending_by_frame(&m, 7));
    assert_string_equal(mp_tui__pending_by_frame(&m, 8)->text, "again");
    mp_tui__model_free(&m);
}

/* The reply to a send: a well-formed ack stores the message, one that lacks
 * its seq or created_at (or has them of another type) stores nothing and is
 * shown as an error. */
static void test_send_ack(void **state)
{
    (void)state;
    mp_tui_t *t = calloc(1, sizeof *t);
    assert_non_null(t);
    snprintf(t->model.me, sizeof t->model.me, "u1");
    mp_tui_conv_t *c = mp_tui__conv_get(&t->model, "c1", false);
    const char *bad[] = {
        "{\"ok\":true,\"message_id\":\"m9\",\"created_at\":1000}",
        "{\"ok\":true,\"message_id\":\"m9\",\"seq\":4}",
        "{\"ok\":true,\"message_id\":\"m9\",\"seq\":\"4\",\"created_at\":1000}",
        "{\"ok\":true,\"seq\":4,\"created_at\":1000}",
    };
    int64_t id = MP_TUI_OWN_IDS;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t->status[0] = '\0';
        mp_tui__pending_add(&t->model, "c1", "hello")->frame_id = id;
        json_t *reply = json_loads(bad[i], 0, NULL);
        assert_non_null(reply);
        json_object_set_new(reply, "id", json_integer(id++));
        mp_tui__on_frame(t, reply);
        json_decref(reply);
        assert_int_equal(c->n_msgs, 0);
        assert_int_equal(t->model.n_pending, 0);
        assert_non_null(strstr(t->status, "not understood"));
    }
    mp_tui__pending_add(&t->model, "c1", "hello")->frame_id = id;
    json_t *ok = json_pack("{s:I,s:b,s:s,s:i,s:i}", "id", (json_int_t)id, "ok", 1, "message_id",
                           "m9", "seq", 4, "created_at", 1000);
    mp_tui__on_frame(t, ok);
    json_decref(ok);
    assert_int_equal(t->model.n_pending, 0);
    assert_int_equal(c->n_msgs, 1);
    assert_int_equal(c->msgs[0].seq, 4);
    assert_int_equal(c->msgs[0].created_at, 1000);
    assert_string_equal(c->msgs[0].sender, "u1");
    assert_string_equal(c->msgs[0].text, "hello");
    assert_int_equal(c->read_seq, 4);
    mp_tui__model_free(&t->model);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages_in_seq_order),
        cmocka_unit_test(test_marks),
        cmocka_unit_test(test_list_order),
        cmocka_unit_test(test_pending),
        cmocka_unit_test(test_send_ack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
