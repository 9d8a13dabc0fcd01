/* End-to-end tests of what a message can be and become, over real sockets:
 * replies (their snapshot, and what is left of it after a delete), mentions
 * (the flag on the event of the mentioned user only), kinds with content,
 * edits, deletes for everyone and for me (with their windows, group roles
 * and world moderators), and forwards. Alice has two devices, one of which
 * is often OFFLINE and catches up through sync; Bob and Carol one each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <time.h>
#include <stdio.h>

#include "test_groups_util.h"

#define MODERATOR "moderator_m1"

static mpt_server_t *srv;  /* default windows */
static mpt_server_t *srv1; /* edit_window and recall_window of 1 ms */

/* An upload of owner's, as its rows: this test is about messages, not
 * uploads (tests/e2e/test_files_access.c sends real ones). id: a number of
 * this test's own, for the file and its blob; an image of 1280x960 served as
 * JPEG (1000 bytes). */
static void seed_image(const mpt_server_t *s, const char *id, const char *owner)
{
    char sql[640];
    snprintf(
        sql, sizeof sql,
        "INSERT INTO blobs(id, sha256, skey, size, serve_size, mime, serve_mime, class, meta,"
        " created_at) VALUES(%s, 'seed%s', 'seed%s-%s', 1000, 1000, 'image/jpeg', 'image/jpeg',"
        " 'image', '{\"width\":1280,\"height\":960,\"preview\":\"data:image/webp;base64,AA\"}',"
        " 1);"
        "INSERT INTO files(id, owner_id, blob_id, name, size, created_at)"
        " VALUES(%s, %s, %s, 'p.jpg', 1000, 1)",
        id, id, id, id, id, owner, id);
    db_exec(s, sql);
}

static int setup(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS,           "--world_slow_mode", "0",
                           "--world_moderators", MODERATOR,           NULL};
    srv = mpt_server_start(flags);
    const char *flags1[] = {CHAT_FLAGS, "--edit_window", "1", "--recall_window", "1", NULL};
    srv1 = srv ? mpt_server_start(flags1) : NULL;
    return srv && srv1 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = mpt_server_stop(srv);
    int rc1 = mpt_server_stop(srv1);
    srv = srv1 = NULL;
    return rc == 0 && rc1 == 0 ? 0 : -1;
}

/* ---- helpers ------------------------------------------------------------------ */

/* Alice (two devices), Bob and Carol, all online, and the direct
 * conversation of Alice and Bob. */
typedef struct cast {
    chat_dev_t a1, a2, b1, c1;
    char ab[24];
} cast_t;

static void cast_new(const mpt_server_t *s, cast_t *c)
{
    memset(c, 0, sizeof *c);
    dev_new_user(s, "alice", &c->a1);
    dev_new_device(s, &c->a1, &c->a2);
    dev_new_user(s, "bob", &c->b1);
    dev_new_user(s, "carol", &c->c1);
    assert_int_equal(direct_conv(s, &c->a1, c->b1.s.user_id, c->ab), 201);
}

static void cast_free(cast_t *c)
{
    dev_close(&c->a1);
    dev_close(&c->a2);
    dev_close(&c->b1);
    dev_close(&c->c1);
}

/* A group of Alice (owner), Bob and Carol. */
static void group_new(const mpt_server_t *s, const cast_t *c, char out[24])
{
    assert_int_equal(group_create(s, c->a1.s.access, "crew",
                                  ids_json(c->b1.s.user_id, c->c1.s.user_id, NULL), NULL, out,
                                  NULL),
                     201);
}

/* `send` with more fields (extra is stolen; may be NULL; text NULL = none). */
static json_t *send_ex(mpc_ws_t *ws, const char *conv, const char *cmid, const char *text,
                       json_t *extra)
{
    json_t *f = json_pack("{s:s,s:s}", "conversation", conv, "client_msg_id", cmid);
    if (text)
        json_object_set_new(f, "text", json_string(text));
    if (extra) {
        json_object_update(f, extra);
        json_decref(extra);
    }
    return call(ws, "send", f);
}

/* Sends and copies the new message id into id; fails unless ok. */
static void send_ok(mpc_ws_t *ws, const char *conv, const char *cmid, const char *text,
                    json_t *extra, char id[24])
{
    json_t *r = send_ex(ws, conv, cmid, text, extra);
    if (!is_ok(r)) {
        char *d = json_dumps(r, JSON_COMPACT);
        fail_msg("send %s: %s", cmid, d ? d : "?");
    }
    snprintf(id, 24, "%s", jstr(r, "message_id"));
    json_decref(r);
}

/* Asserts an error reply with this code whose message contains `needle`. */
static void assert_err_msg(json_t *reply, const char *code, const char *needle)
{
    json_t *e = json_object_get(reply, "error");
    const char *msg = jstr(e, "message");
    if (msg == NULL || strstr(msg, needle) == NULL) {
        char *d = json_dumps(reply, JSON_COMPACT);
        fail_msg("expected a message about '%s', got %s", needle, d ? d : "?");
    }
    assert_err(reply, code);
}

/* The next event named `name` about message id (others are skipped). */
static json_t *next_event_for(mpc_ws_t *ws, const char *name, const char *id)
{
    for (;;) {
        json_t *ev = next_event(ws, name);
        json_t *m = json_object_get(ev, "message");
        const char *got = m ? jstr(m, "message_id") : jstr(ev, "message_id");
        if (got && strcmp(got, id) == 0)
            return ev;
        json_decref(ev);
    }
}

/* The message with this id in an array of messages (borrowed), or NULL. */
static json_t *by_id(json_t *arr, const char *id)
{
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m)
    {
        if (jstr(m, "message_id") && strcmp(jstr(m, "message_id"), id) == 0)
            return m;
    }
    return NULL;
}

/* The sync cursor of a device now (syncs everything first). */
static void cursor_now(chat_dev_t *d, char cursor[32])
{
    snprintf(cursor, 32, "0");
    assert_true(sync_until_done(d->ws, cursor, NULL, NULL));
}

/* Every sync reply from cursor on, as one object {"messages","hidden",
 * "conversations"} (caller decrefs); *dump gets every reply's text. */
static json_t *sync_all(mpc_ws_t *ws, char cursor[32], char **dump)
{
    json_t *all = json_pack("{s:[],s:[],s:[]}", "messages", "hidden", "conversations");
    size_t cap = 1, len = 0;
    char *text = calloc(1, 1);
    for (int pages = 0; pages < 1000; pages++) {
        json_t *r = call(ws, "sync", json_pack("{s:s}", "since", cursor));
        assert_true(is_ok(r));
        char *d = json_dumps(r, JSON_COMPACT);
        size_t n = strlen(d);
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            text = realloc(text, cap);
        }
        memcpy(text + len, d, n + 1);
        len += n;
        free(d);
        const char *keys[] = {"messages", "hidden", "conversations"};
        for (int k = 0; k < 3; k++) {
            assert_true(json_is_array(json_object_get(r, keys[k])));
            json_array_extend(json_object_get(all, keys[k]), json_object_get(r, keys[k]));
        }
        snprintf(cursor, 32, "%s", jstr(r, "cursor"));
        bool more = json_is_true(json_object_get(r, "has_more"));
        json_decref(r);
        if (!more)
            break;
    }
    if (dump)
        *dump = text;
    else
        free(text);
    return all;
}

static json_t *edit(mpc_ws_t *ws, const char *conv, const char *id, const char *text)
{
    return call(ws, "edit",
                json_pack("{s:s,s:s,s:s}", "conversation", conv, "message_id", id, "text", text));
}

static json_t *del(mpc_ws_t *ws, const char *conv, const char *id, const char *who)
{
    return call(ws, "delete",
                json_pack("{s:s,s:s,s:s}", "conversation", conv, "message_id", id, "for", who));
}

/* ---- replies and mentions ------------------------------------------------------ */

static void check_snapshot(json_t *m, const char *id, const char *sender, const char *text)
{
    json_t *q = json_object_get(m, "reply_to");
    assert_true(json_is_object(q));
    assert_string_equal(jstr(q, "message_id"), id);
    assert_string_equal(jstr(q, "sender"), sender);
    assert_string_equal(jstr(q, "kind"), "text");
    assert_string_equal(jstr(q, "text"), text);
    assert_null(json_object_get(q, "deleted"));
}

static void test_replies(void **state)
{
    (void)state;
    cast_t c;
    cast_new(srv, &c);
    char q[24], longq[24], r[24], g[24], other[24];
    send_ok(c.a1.ws, c.ab, "q1", "where are you?", NULL, q);
    /* A snapshot keeps the first 100 characters. */
    char long_text[151], first100[101];
    for (int i = 0; i < 150; i++)
        long_text[i] = (char)('a' + i % 26);
    long_text[150] = '\0';
    memcpy(first100, long_text, 100);
    first100[100] = '\0';
    send_ok(c.a1.ws, c.ab, "q2", long_text, NULL, longq);
    drop_events(c.b1.ws);

    send_ok(c.b1.ws, c.ab, "r1", "at home", json_pack("{s:s}", "reply_to", q), r);
    json_t *ev = next_event_for(c.a1.ws, "message", r);
    check_snapshot(json_object_get(ev, "message"), q, c.a1.s.user_id, "where are you?");
    json_decref(ev);
    send_ok(c.b1.ws, c.ab, "r2", "long", json_pack("{s:s}", "reply_to", longq), other);
    json_t *hist = all_history(c.b1.ws, c.ab);
    check_snapshot(by_id(hist, r), q, c.a1.s.user_id, "where are you?");
    check_snapshot(by_id(hist, other), longq, c.a1.s.user_id, first100);
    assert_null(json_object_get(by_id(hist, q), "reply_to"));
    json_decref(hist);

    /* The quoted message must be of the same conversation, and exist. */
    group_new(srv, &c, g);
    char in_group[24];
    send_ok(c.a1.ws, g, "g1", "in the group", NULL, in_group);
    assert_err_msg(send_ex(c.b1.ws, c.ab, "r3", "x", json_pack("{s:s}", "reply_to", in_group)),
                   "not_found", "reply_to");
    assert_err_msg(send_ex(c.b1.ws, c.ab, "r4", "x", json_pack("{s:s}", "reply_to", "12345")),
                   "not_found", "reply_to");
    assert_err_msg(send_ex(c.b1.ws, c.ab, "r5", "x", json_pack("{s:s}", "reply_to", "nope")),
                   "bad_request", "reply_to");
    cast_free(&c);
}

/* Whether an event carries the mention flag. */
static bool mentioned(json_t *ev)
{
    return json_is_true(json_object_get(ev, "mention"));
}

static void test_mentions(void **state)
{
    (void)state;
    cast_t c;
    cast_new(srv, &c);
    char g[24], id[24];
    group_new(srv, &c, g);

    /* Bob mentions Carol (twice: counted once): only Carol's event says so. */
    send_ok(c.b1.ws, g, "m1", "@carol look",
            json_pack("{s:[s,s]}", "mentions", c.c1.s.user_id, c.c1.s.user_id), id);
    json_t *ev = next_event_for(c.c1.ws, "message", id);
    assert_true(mentioned(ev));
    json_t *ms = json_object_get(json_object_get(ev, "message"), "mentions");
    assert_int_equal(json_array_size(ms), 1);
    assert_string_equal(json_string_value(json_array_get(ms, 0)), c.c1.s.user_id);
    json_decref(ev);
    for (int i = 0; i < 2; i++) {
        ev = next_event_for(i ? c.a2.ws : c.a1.ws, "message", id);
        assert_false(mentioned(ev));
        assert_non_null(json_object_get(json_object_get(ev, "message"), "mentions"));
        json_decref(ev);
    }

    /* Mentioning Alice in the direct conversation: both her devices. */
    send_ok(c.b1.ws, c.ab, "m2", "@alice", json_pack("{s:[s]}", "mentions", c.a1.s.user_id), id);
    for (int i = 0; i < 2; i++) {
        ev = next_event_for(i ? c.a2.ws : c.a1.ws, "message", id);
        assert_true(mentioned(ev));
        json_decref(ev);
    }

    /* @all: the owner may; everyone but her gets the flag, her other
     * device gets its own message without it. */
    send_ok(c.a1.ws, g, "m3", "@all meeting", json_pack("{s:b}", "mention_all", 1), id);
    for (int i = 0; i < 2; i++) {
        ev = next_event_for(i ? c.c1.ws : c.b1.ws, "message", id);
        assert_true(mentioned(ev));
        assert_true(json_is_true(json_object_get(json_object_get(ev, "message"), "mention_all")));
        json_decref(ev);
    }
    ev = next_event_for(c.a2.ws, "message", id);
    assert_false(mentioned(ev));
    assert_string_equal(jstr(json_object_get(ev, "message"), "client_msg_id"), "m3");
    json_decref(ev);

    /* A plain message carries no flag and no mention parts. */
    send_ok(c.b1.ws, g, "m4", "plain", NULL, id);
    ev = next_event_for(c.c1.ws, "message", id);
    assert_false(mentioned(ev));
    assert_null(json_object_get(json_object_get(ev, "message"), "mentions"));
    assert_null(json_object_get(json_object_get(ev, "message"), "mention_all"));
    json_decref(ev);

    /* Refusals name the field. */
    assert_err_msg(send_ex(c.b1.ws, g, "x1", "@all", json_pack("{s:b}", "mention_all", 1)),
                   "not_allowed", "mention_all");
    assert_err_msg(send_ex(c.a1.ws, c.ab, "x2", "@all", json_pack("{s:b}", "mention_all", 1)),
                   "bad_request", "mention_all");
    assert_err_msg(
        send_ex(c.a1.ws, c.ab, "x3", "@carol", json_pack("{s:[s]}", "mentions", c.c1.s.user_id)),
        "bad_request", "mentions");
    assert_err_msg(send_ex(c.a1.ws, c.ab, "x4", "@?", json_pack("{s:[s]}", "mentions", "bob")),
                   "bad_request", "mentions");
    assert_err_msg(send_ex(c.a1.ws, c.ab, "x5", "@?", json_pack("{s:[i]}", "mentions", 5)),
                   "bad_request", "mentions");
    json_t *many = json_array();
    for (int i = 0; i < 51; i++)
        json_array_append_new(many, json_string(c.b1.s.user_id));
    assert_err_msg(send_ex(c.a1.ws, c.ab, "x6", "@bob", json_pack("{s:o}", "mentions", many)),
                   "bad_request", "mentions");

    /* The offline way: the unread mention is counted in sync. */
    char cur[32];
    snprintf(cur, sizeof cur, "0");
    json_t *all = sync_all(c.c1.ws, cur, NULL);
    json_t *conv;
    size_t i;
    bool seen = false;
    json_array_foreach(json_object_get(all, "conversations"), i, conv)
    {
        assert_true(json_is_integer(json_object_get(conv, "unread_mentions")));
        assert_true(json_is_object(json_object_get(conv, "settings")));
        if (strcmp(jstr(conv, "conversation_id"), g) == 0) {
            assert_int_equal(jint(conv, "unread_mentions"), 2); /* m1 and @all */
            seen = true;
        }
    }
    assert_true(seen);
    json_decref(all);
    cast_free(&c);
}

/* ---- kinds and content ------------------------------------------------------------ */

static void test_kinds(void **state)
{
    (void)state;
    cast_t c;
    cast_new(srv, &c);
    char img[24], loc[24], card[24], bare[24];
    seed_image(srv, "383209000000000123", c.a1.s.user_id);
    seed_image(srv, "77", c.a1.s.user_id);
    /* The server's width wins over the client's. */
    send_ok(c.a1.ws, c.ab, "k1", "the view",
            json_pack("{s:s,s:{s:s,s:i,s:i}}", "kind", "image", "content", "file_id",
                      "383209000000000123", "width", 1, "height", 960),
            img);
    json_t *ev = next_event_for(c.b1.ws, "message", img);
    json_t *m = json_object_get(ev, "message");
    assert_string_equal(jstr(m, "kind"), "image");
    assert_string_equal(jstr(m, "text"), "the view");
    json_t *ct = json_object_get(m, "content");
    assert_true(json_is_object(ct));
    assert_string_equal(jstr(ct, "file_id"), "383209000000000123");
    assert_int_equal(jint(ct, "width"), 1280);
    assert_string_equal(jstr(ct, "mime"), "image/jpeg");
    assert_int_equal(jint(ct, "size"), 1000);
    json_decref(ev);

    send_ok(c.a1.ws, c.ab, "k2", NULL,
            json_pack("{s:s,s:{s:s}}", "kind", "image", "content", "file_id", "77"), bare);
    send_ok(c.a1.ws, c.ab, "k3", NULL,
            json_pack("{s:s,s:{s:f,s:f,s:s}}", "kind", "location", "content", "latitude", 48.8584,
                      "longitude", 2.2945, "title", "Eiffel Tower"),
            loc);
    send_ok(c.a1.ws, c.ab, "k4", NULL,
            json_pack("{s:s,s:{s:s}}", "kind", "contact", "content", "user_id", c.c1.s.user_id),
            card);

    json_t *hist = all_history(c.b1.ws, c.ab);
    assert_string_equal(jstr(by_id(hist, bare), "text"), "");
    m = by_id(hist, loc);
    assert_string_equal(jstr(m, "kind"), "location");
    assert_string_equal(jstr(m, "text"), "");
    assert_string_equal(jstr(json_object_get(m, "content"), "title"), "Eiffel Tower");
    m = by_id(hist, card);
    assert_string_equal(jstr(m, "kind"), "contact");
    assert_string_equal(jstr(json_object_get(m, "content"), "user_id"), c.c1.s.user_id);
    assert_null(json_object_get(by_id(hist, img), "edited_at"));
    json_decref(hist);

    /* Bad content is refused with the field named, and nothing is stored. */
    assert_err_msg(send_ex(c.a1.ws, c.ab, "b1", NULL,
                           json_pack("{s:s,s:{s:i,s:i}}", "kind", "location", "content", "latitude",
                                     91, "longitude", 0)),
                   "bad_request", "content.latitude");
    assert_err_msg(send_ex(c.a1.ws, c.ab, "b2", "hi",
                           json_pack("{s:s,s:{s:f,s:f}}", "kind", "location", "content", "latitude",
                                     1.0, "longitude", 1.0)),
                   "bad_request", "text");
    assert_err_msg(send_ex(c.a1.ws, c.ab, "b3", "x",
                           json_pack("{s:s,s:{s:i}}", "kind", "image", "content", "width", 5)),
                   "bad_request", "content.file_id");
    assert_err_msg(send_ex(c.a1.ws, c.ab, "b4", "x", json_pack("{s:s}", "kind", "image")),
                   "bad_request", "content");
    assert_err_msg(
        send_ex(c.a1.ws, c.ab, "b5", NULL,
                json_pack("{s:s,s:{s:s}}", "kind", "contact", "content", "user_id", "123456789")),
        "not_found", "content");
    assert_err_msg(send_ex(c.a1.ws, c.ab, "b6", "x", json_pack("{s:s}", "kind", "sticker")),
                   "bad_request", "kind");
    assert_err_msg(send_ex(c.a1.ws, c.ab, "b7", "x", json_pack("{s:s}", "kind", "system")),
                   "bad_request", "kind");
    assert_err_msg(send_ex(c.a1.ws, c.ab, "b8", "x", json_pack("{s:{s:s}}", "content", "a", "b")),
                   "bad_request", "content");
    json_t *r = send_ex(c.a1.ws, c.ab, "b1", "nothing was stored", NULL);
    assert_true(is_ok(r));
    assert_false(json_is_true(json_object_get(r, "duplicate")));
    json_decref(r);
    cast_free(&c);
}

/* ---- edit ---------------------------------------------------------------------------- */

/* A device that wants only what happens from now on (a browser signing in
 * on a big account) takes its cursor from a sync "from the future": no
 * items, the current cursor; a sync from that cursor then brings exactly
 * what came after. */
static void test_sync_from_now(void **state)
{
    (void)state;
    cast_t c;
    cast_new(srv, &c);
    char old[24], fresh[24], cur[32];
    send_ok(c.a1.ws, c.ab, "n1", "before", NULL, old);
    json_t *r = call(c.b1.ws, "sync", json_pack("{s:s}", "since", "9223372036854775807"));
    assert_true(is_ok(r));
    assert_int_equal(json_array_size(json_object_get(r, "messages")), 0);
    assert_int_equal(json_array_size(json_object_get(r, "conversations")), 0);
    assert_false(json_is_true(json_object_get(r, "has_more")));
    snprintf(cur, sizeof cur, "%s", jstr(r, "cursor"));
    assert_true(strtoll(cur, NULL, 10) > 0 && strcmp(cur, "9223372036854775807") != 0);
    json_decref(r);
    send_ok(c.a1.ws, c.ab, "n2", "after", NULL, fresh);
    json_t *all = sync_all(c.b1.ws, cur, NULL);
    json_t *msgs = json_object_get(all, "messages");
    assert_non_null(by_id(msgs, fresh));
    assert_null(by_id(msgs, old));
    json_decref(all);
    cast_free(&c);
}

static void test_edit(void **state)
{
    (void)state;
    cast_t c;
    cast_new(srv, &c);
    char id[24], loc[24], img[24], cur[32];
    send_ok(c.a1.ws, c.ab, "e1", "helo", NULL, id);
    cursor_now(&c.b1, cur); /* Bob has the message as sent */

    json_t *r = edit(c.a1.ws, c.ab, id, "hello");
    assert_true(is_ok(r));
    assert_string_equal(jstr(r, "message_id"), id);
    long long edited_at = jint(r, "edited_at");
    assert_true(edited_at > 0);
    json_decref(r);

    /* Bob's device and Alice's other one get the new state; hers with
     * the client id. */
    json_t *ev = next_event_for(c.b1.ws, "message_edited", id);
    json_t *m = json_object_get(ev, "message");
    assert_string_equal(jstr(m, "text"), "hello");
    assert_int_equal(jint(m, "edited_at"), edited_at);
    assert_null(json_object_get(m, "client_msg_id"));
    json_decref(ev);
    ev = next_event_for(c.a2.ws, "message_edited", id);
    assert_string_equal(jstr(json_object_get(ev, "message"), "client_msg_id"), "e1");
    json_decref(ev);
    assert_int_equal(drain_events(c.a1.ws, "message_edited"), 0); /* the reply said it */

    /* A sync from before the edit brings the message again, edited. */
    json_t *all = sync_all(c.b1.ws, cur, NULL);
    m = by_id(json_object_get(all, "messages"), id);
    assert_non_null(m);
    assert_string_equal(jstr(m, "text"), "hello");
    assert_int_equal(jint(m, "edited_at"), edited_at);
    json_decref(all);

    /* Only one's own messages, only editable kinds, only with text. */
    assert_err(edit(c.b1.ws, c.ab, id, "hacked"), "forbidden");
    assert_err_msg(edit(c.a1.ws, c.ab, id, ""), "bad_request", "text");
    assert_err_msg(edit(c.a1.ws, c.ab, "12345", "x"), "not_found", "message_id");
    assert_err(edit(c.c1.ws, c.ab, id, "x"), "not_member");
    assert_err(
        call(c.a1.ws, "edit", json_pack("{s:s,s:s}", "conversation", c.ab, "message_id", id)),
        "bad_request");
    send_ok(c.a1.ws, c.ab, "e2", NULL,
            json_pack("{s:s,s:{s:f,s:f}}", "kind", "location", "content", "latitude", 1.5,
                      "longitude", 2.5),
            loc);
    assert_err(edit(c.a1.ws, c.ab, loc, "a title?"), "bad_request");
    /* A caption may become empty. */
    seed_image(srv, "99", c.a1.s.user_id);
    send_ok(c.a1.ws, c.ab, "e3", "caption",
            json_pack("{s:s,s:{s:s}}", "kind", "image", "content", "file_id", "99"), img);
    r = edit(c.a1.ws, c.ab, img, "");
    assert_true(is_ok(r));
    json_decref(r);
    json_t *hist = all_history(c.b1.ws, c.ab);
    assert_string_equal(jstr(by_id(hist, img), "text"), "");
    assert_string_equal(jstr(by_id(hist, id), "text"), "hello");
    json_decref(hist);
    cast_free(&c);
}

/* ---- windows and roles (edit_window = recall_window = 1 ms) ---------------------------- */

/* Lets a 1 ms window close: the server's clock (the same clock) moves on by
 * more than 2 ms from now, the ack of the last send. Bounded by the clock. */
static void window_passes(void)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_REALTIME, &t0);
    do
        clock_gettime(CLOCK_REALTIME, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000000000LL + (t.tv_nsec - t0.tv_nsec) < 3000000LL);
}

static void test_windows_and_roles(void **state)
{
    (void)state;
    cast_t c;
    cast_new(srv1, &c);
    char id[24], g[24], by_carol[24], by_bob[24], by_alice[24];
    send_ok(c.a1.ws, c.ab, "w1", "too late to change", NULL, id);
    window_passes();
    assert_err(edit(c.a1.ws, c.ab, id, "changed"), "too_late");
    assert_err(del(c.a1.ws, c.ab, id, "everyone"), "too_late");
    json_t *r = del(c.a1.ws, c.ab, id, "me"); /* for me: no window */
    assert_true(is_ok(r));
    assert_string_equal(jstr(r, "for"), "me");
    json_decref(r);

    /* Groups: admins delete members' messages (at any time), not the
     * owner's; members nobody else's; the owner anyone's. */
    group_new(srv1, &c, g);
    EXPECT(204, NULL, srv1, "PUT", c.a1.s.access, json_pack("{s:s}", "role", "admin"),
           "/v1/groups/%s/members/%s/role", g, c.b1.s.user_id);
    send_ok(c.c1.ws, g, "w2", "carol says", NULL, by_carol);
    send_ok(c.b1.ws, g, "w3", "bob says", NULL, by_bob);
    send_ok(c.a1.ws, g, "w4", "alice says", NULL, by_alice);
    window_passes();
    drop_events(c.c1.ws);
    assert_err(del(c.c1.ws, g, by_bob, "everyone"), "forbidden");
    assert_err(del(c.c1.ws, g, by_carol, "everyone"), "too_late"); /* her own, too late */
    r = del(c.b1.ws, g, by_carol, "everyone");
    assert_true(is_ok(r));
    assert_string_equal(jstr(r, "for"), "everyone");
    json_decref(r);
    json_t *ev = next_event_for(c.c1.ws, "message_deleted", by_carol);
    assert_string_equal(jstr(ev, "for"), "everyone");
    assert_string_equal(jstr(ev, "conversation"), g);
    json_decref(ev);
    r = del(c.b1.ws, g, by_alice, "everyone");
    assert_true(mpt_error_code(r) != NULL);
    json_decref(r);
    r = del(c.a1.ws, g, by_bob, "everyone");
    assert_true(is_ok(r));
    json_decref(r);
    json_t *hist = all_history(c.c1.ws, g);
    assert_true(json_is_true(json_object_get(by_id(hist, by_carol), "deleted")));
    assert_true(json_is_true(json_object_get(by_id(hist, by_bob), "deleted")));
    assert_string_equal(jstr(by_id(hist, by_alice), "text"), "alice says");
    json_decref(hist);
    cast_free(&c);
}

/* ---- delete for everyone ------------------------------------------------------------------ */

static void test_delete_for_everyone(void **state)
{
    (void)state;
    cast_t c;
    cast_new(srv, &c);
    char cur[32], s[24], reply[24], other[24];
    cursor_now(&c.a2, cur);
    dev_close(&c.a2); /* offline from here */

    send_ok(c.a1.ws, c.ab, "d1", "the secret-7f3a code", NULL, s);
    send_ok(c.b1.ws, c.ab, "d2", "noted", json_pack("{s:s}", "reply_to", s), reply);
    send_ok(c.a1.ws, c.ab, "d3", "stays", NULL, other);
    drop_events(c.b1.ws);
    json_t *r = del(c.a1.ws, c.ab, s, "everyone");
    assert_true(is_ok(r));
    assert_string_equal(jstr(r, "message_id"), s);
    assert_string_equal(jstr(r, "for"), "everyone");
    json_decref(r);

    json_t *ev = next_event_for(c.b1.ws, "message_deleted", s);
    assert_string_equal(jstr(ev, "conversation"), c.ab);
    assert_string_equal(jstr(ev, "for"), "everyone");
    assert_int_equal(jint(ev, "seq"), 1);
    json_decref(ev);

    /* The tombstone, and the reply without its snapshot. */
    json_t *hist = all_history(c.b1.ws, c.ab);
    json_t *m = by_id(hist, s);
    assert_true(json_is_true(json_object_get(m, "deleted")));
    assert_true(jint(m, "deleted_at") > 0);
    assert_string_equal(jstr(m, "text"), "");
    json_t *q = json_object_get(by_id(hist, reply), "reply_to");
    assert_string_equal(jstr(q, "message_id"), s);
    assert_true(json_is_true(json_object_get(q, "deleted")));
    assert_null(json_object_get(q, "text"));
    char *dump = json_dumps(hist, JSON_COMPACT);
    assert_null(strstr(dump, "secret-7f3a"));
    free(dump);
    json_decref(hist);

    /* Others may not; again is fine; a deleted message is gone for edits,
     * replies and forwards. */
    assert_err(del(c.b1.ws, c.ab, other, "everyone"), "forbidden");
    r = del(c.a1.ws, c.ab, s, "everyone");
    assert_true(is_ok(r));
    json_decref(r);
    assert_err(edit(c.a1.ws, c.ab, s, "back"), "not_found");
    assert_err(send_ex(c.b1.ws, c.ab, "d4", "re", json_pack("{s:s}", "reply_to", s)), "not_found");
    assert_err(call(c.a1.ws, "forward",
                    json_pack("{s:s,s:[s],s:s,s:s}", "from", c.ab, "message_ids", s, "to",
                              c.c1.s.user_id, "client_msg_id", "fd")),
               "not_found");
    assert_err_msg(del(c.a1.ws, c.ab, s, "both"), "bad_request", "for");

    /* The offline device catches up: it never sees the text. */
    dev_open(srv, &c.a2);
    json_t *all = sync_all(c.a2.ws, cur, &dump);
    assert_null(strstr(dump, "secret-7f3a"));
    free(dump);
    m = by_id(json_object_get(all, "messages"), s);
    assert_non_null(m);
    assert_true(json_is_true(json_object_get(m, "deleted")));
    assert_string_equal(jstr(m, "text"), "");
    assert_true(json_is_true(json_object_get(
        json_object_get(by_id(json_object_get(all, "messages"), reply), "reply_to"), "deleted")));
    json_decref(all);
    /* Nor is it anywhere in the database. */
    assert_int_equal(db_count(srv, "SELECT count(*) FROM messages WHERE body LIKE '%secret-7f3a%'"
                                   " OR quote_text LIKE '%secret-7f3a%'"),
                     0);
    cast_free(&c);
}

/* ---- delete for me ------------------------------------------------------------------------- */

static void test_delete_for_me(void **state)
{
    (void)state;
    cast_t c;
    cast_new(srv, &c);
    char cur[32], h[24], kept[24];
    send_ok(c.b1.ws, c.ab, "h1", "hide me", NULL, h);
    send_ok(c.b1.ws, c.ab, "h2", "keep me", NULL, kept);
    cursor_now(&c.a2, cur);
    drop_events(c.b1.ws);

    json_t *r = del(c.a1.ws, c.ab, h, "me");
    assert_true(is_ok(r));
    assert_string_equal(jstr(r, "for"), "me");
    json_decref(r);
    json_t *ev = next_event_for(c.a2.ws, "message_deleted", h);
    assert_string_equal(jstr(ev, "for"), "me");
    json_decref(ev);
    assert_int_equal(drain_events(c.b1.ws, "message_deleted"), 0);
    r = del(c.a1.ws, c.ab, h, "me"); /* twice is fine */
    assert_true(is_ok(r));
    json_decref(r);

    /* Alice's devices no longer show it; Bob's do. */
    json_t *hist = all_history(c.a1.ws, c.ab);
    assert_null(by_id(hist, h));
    assert_non_null(by_id(hist, kept));
    json_decref(hist);
    hist = all_history(c.b1.ws, c.ab);
    assert_string_equal(jstr(by_id(hist, h), "text"), "hide me");
    json_decref(hist);

    /* A device syncing later finds it in `hidden`, never in `messages`. */
    json_t *all = sync_all(c.a2.ws, cur, NULL);
    json_t *hidden = json_object_get(all, "hidden");
    assert_int_equal(json_array_size(hidden), 1);
    assert_string_equal(jstr(json_array_get(hidden, 0), "message_id"), h);
    assert_string_equal(jstr(json_array_get(hidden, 0), "conversation"), c.ab);
    assert_null(by_id(json_object_get(all, "messages"), h));
    json_decref(all);
    snprintf(cur, sizeof cur, "0");
    all = sync_all(c.a1.ws, cur, NULL);
    assert_null(by_id(json_object_get(all, "messages"), h));
    assert_non_null(by_id(json_object_get(all, "messages"), kept));
    json_decref(all);

    /* Hidden is gone for her: she cannot forward it. */
    assert_err_msg(call(c.a1.ws, "forward",
                        json_pack("{s:s,s:[s],s:s,s:s}", "from", c.ab, "message_ids", h, "to",
                                  c.c1.s.user_id, "client_msg_id", "h3")),
                   "not_found", "message_ids");
    cast_free(&c);
}

/* ---- forward ----------------------------------------------------------------------------------
 */

static json_t *forward(mpc_ws_t *ws, const char *from, json_t *ids, const char *conv,
                       const char *cmid)
{
    return call(ws, "forward",
                json_pack("{s:s,s:o,s:s,s:s}", "from", from, "message_ids", ids, "conversation",
                          conv, "client_msg_id", cmid));
}

static void test_forward(void **state)
{
    (void)state;
    cast_t c;
    cast_new(srv, &c);
    char g[24], t1[24], t2[24], bc[24];
    group_new(srv, &c, g);
    send_ok(c.a1.ws, c.ab, "o1", "forward me", NULL, t1);
    seed_image(srv, "4242", c.b1.s.user_id);
    send_ok(c.b1.ws, c.ab, "o2", "a picture",
            json_pack("{s:s,s:{s:s}}", "kind", "image", "content", "file_id", "4242"), t2);
    drop_events(c.c1.ws);
    drop_events(c.a2.ws);

    json_t *r = forward(c.a1.ws, c.ab, json_pack("[s,s]", t1, t2), g, "f1");
    assert_true(is_ok(r));
    assert_string_equal(jstr(r, "conversation"), g);
    assert_false(json_is_true(json_object_get(r, "duplicate")));
    json_t *copies = json_object_get(r, "messages");
    assert_int_equal(json_array_size(copies), 2);
    char c0[24], c1[24];
    snprintf(c0, sizeof c0, "%s", jstr(json_array_get(copies, 0), "message_id"));
    snprintf(c1, sizeof c1, "%s", jstr(json_array_get(copies, 1), "message_id"));
    assert_int_equal(jint(json_array_get(copies, 1), "seq"),
                     jint(json_array_get(copies, 0), "seq") + 1);
    json_decref(r);

    /* Carol gets both copies, sent by Alice, from their original senders. */
    json_t *ev = next_event_for(c.c1.ws, "message", c0);
    json_t *m = json_object_get(ev, "message");
    assert_string_equal(jstr(m, "sender"), c.a1.s.user_id);
    assert_string_equal(jstr(m, "text"), "forward me");
    json_t *ff = json_object_get(m, "forwarded_from");
    assert_string_equal(jstr(ff, "sender"), c.a1.s.user_id);
    assert_true(jint(ff, "created_at") > 0);
    json_decref(ev);
    ev = next_event_for(c.c1.ws, "message", c1);
    m = json_object_get(ev, "message");
    assert_string_equal(jstr(m, "kind"), "image");
    assert_string_equal(jstr(json_object_get(m, "content"), "file_id"), "4242");
    assert_string_equal(jstr(json_object_get(m, "forwarded_from"), "sender"), c.b1.s.user_id);
    assert_null(json_object_get(m, "reply_to"));
    json_decref(ev);
    ev = next_event_for(c.a2.ws, "message", c1);
    assert_string_equal(jstr(json_object_get(ev, "message"), "client_msg_id"), "f1/1");
    json_decref(ev);

    /* A retry is a duplicate: the same copies, nothing sent again. */
    r = forward(c.a1.ws, c.ab, json_pack("[s,s]", t1, t2), g, "f1");
    assert_true(is_ok(r));
    assert_true(json_is_true(json_object_get(r, "duplicate")));
    assert_string_equal(jstr(json_array_get(json_object_get(r, "messages"), 0), "message_id"), c0);
    json_decref(r);
    assert_int_equal(drain_events(c.c1.ws, "message"), 0);

    /* Forwarding a copy keeps the first original's sender; `to` works. */
    r = call(c.c1.ws, "forward",
             json_pack("{s:s,s:[s],s:s,s:s}", "from", g, "message_ids", c1, "to", c.b1.s.user_id,
                       "client_msg_id", "f2"));
    assert_true(is_ok(r));
    snprintf(bc, sizeof bc, "%s", jstr(r, "conversation"));
    char again[24];
    snprintf(again, sizeof again, "%s",
             jstr(json_array_get(json_object_get(r, "messages"), 0), "message_id"));
    json_decref(r);
    ev = next_event_for(c.b1.ws, "message", again);
    assert_string_equal(
        jstr(json_object_get(json_object_get(ev, "message"), "forwarded_from"), "sender"),
        c.b1.s.user_id);
    json_decref(ev);

    /* Refusals. */
    assert_err_msg(forward(c.a1.ws, bc, json_pack("[s]", again), g, "f3"), "not_member", "from");
    assert_err_msg(forward(c.a1.ws, c.ab, json_pack("[s]", "12345"), g, "f4"), "not_found",
                   "message_ids");
    assert_err_msg(forward(c.a1.ws, c.ab, json_pack("[s,s]", t1, t1), g, "f5"), "bad_request",
                   "message_ids");
    assert_err_msg(forward(c.a1.ws, c.ab, json_pack("[]"), g, "f6"), "bad_request", "message_ids");
    json_t *many = json_array();
    for (int i = 0; i < 101; i++) {
        char id[24];
        snprintf(id, sizeof id, "%d", 1000 + i);
        json_array_append_new(many, json_string(id));
    }
    assert_err_msg(forward(c.a1.ws, c.ab, many, g, "f7"), "bad_request", "message_ids");
    assert_err(call(c.a1.ws, "forward",
                    json_pack("{s:s,s:[s],s:s,s:s,s:s}", "from", c.ab, "message_ids", t1,
                              "conversation", g, "to", c.b1.s.user_id, "client_msg_id", "f8")),
               "bad_request");
    assert_err_msg(forward(c.a1.ws, c.ab, json_pack("[s]", t1), bc, "f9"), "not_member",
                   "conversation");
    char long_cmid[62];
    memset(long_cmid, 'x', 61);
    long_cmid[61] = '\0';
    assert_err_msg(forward(c.a1.ws, c.ab, json_pack("[s]", t1), g, long_cmid), "bad_request",
                   "client_msg_id");
    cast_free(&c);
}

/* ---- the world room: mentions, guests, moderators -------------------------------------------- */

static void test_world(void **state)
{
    (void)state;
    cast_t c;
    cast_new(srv, &c);
    json_t *w = EXPECT_BODY(200, NULL, srv, "GET", c.a1.s.access, NULL, "/v1/world");
    char world[24];
    snprintf(world, sizeof world, "%s", jstr(w, "conversation_id"));
    json_decref(w);

    /* A mention there reaches Bob flagged, Carol plain. */
    char id[24];
    send_ok(c.a1.ws, world, "wm1", "@bob hi", json_pack("{s:[s]}", "mentions", c.b1.s.user_id), id);
    json_t *ev = next_event_for(c.b1.ws, "message", id);
    assert_true(mentioned(ev));
    json_decref(ev);
    ev = next_event_for(c.c1.ws, "message", id);
    assert_false(mentioned(ev));
    json_decref(ev);
    ev = next_event_for(c.a2.ws, "message", id);
    assert_false(mentioned(ev));
    assert_string_equal(jstr(json_object_get(ev, "message"), "client_msg_id"), "wm1");
    json_decref(ev);
    assert_int_equal(drain_events(c.b1.ws, "message"), 0); /* once, not twice */
    assert_err_msg(send_ex(c.a1.ws, world, "wm2", "@all", json_pack("{s:b}", "mention_all", 1)),
                   "bad_request", "mention_all");

    /* A guest edits and deletes its own world posts, and nothing else. */
    mpt_session_t gs;
    assert_int_equal(guest_new(srv, "Visitor", &gs), 200);
    chat_dev_t guest = {.s = gs};
    dev_open(srv, &guest);
    char gid[24];
    send_ok(guest.ws, world, "gw1", "hi from a guest", NULL, gid);
    json_t *r = edit(guest.ws, world, gid, "hello from a guest");
    assert_true(is_ok(r));
    json_decref(r);
    ev = next_event_for(c.b1.ws, "message_edited", gid);
    assert_true(json_is_true(json_object_get(json_object_get(ev, "message"), "sender_guest")));
    json_decref(ev);
    assert_err(edit(guest.ws, c.ab, id, "x"), "guest_forbidden");
    assert_err(forward(guest.ws, world, json_pack("[s]", gid), world, "gf"), "guest_forbidden");
    r = del(guest.ws, world, gid, "everyone");
    assert_true(is_ok(r));
    json_decref(r);

    /* Moderators delete anyone's world message; others only their own. */
    char mid[24], mod_id[24];
    assert_int_equal(mpt_register(srv, MODERATOR, "correct horse 1", mod_id), 201);
    chat_dev_t mod;
    assert_int_equal(mpt_login(srv, MODERATOR, "correct horse 1", NULL, &mod.s), 200);
    dev_open(srv, &mod);
    send_ok(c.a1.ws, world, "wm3", "off topic", NULL, mid);
    assert_err(del(c.b1.ws, world, mid, "everyone"), "forbidden");
    r = del(mod.ws, world, mid, "everyone");
    assert_true(is_ok(r));
    json_decref(r);
    ev = next_event_for(c.a2.ws, "message_deleted", mid);
    assert_string_equal(jstr(ev, "for"), "everyone");
    json_decref(ev);

    /* Pins in the world: moderators only; everyone online sees them. */
    char pid[24];
    send_ok(c.a1.ws, world, "wm4", "house rules", NULL, pid);
    assert_err(
        call(c.a1.ws, "pin", json_pack("{s:s,s:s}", "conversation", world, "message_id", pid)),
        "forbidden");
    r = call(mod.ws, "pin", json_pack("{s:s,s:s}", "conversation", world, "message_id", pid));
    assert_true(is_ok(r));
    json_decref(r);
    ev = next_event_for(c.c1.ws, "pinned", pid);
    assert_true(json_is_true(json_object_get(ev, "pinned")));
    assert_string_equal(jstr(ev, "by"), mod_id);
    json_decref(ev);

    /* Reactions in the world reach every online session, a guest's too. */
    r = call(guest.ws, "react",
             json_pack("{s:s,s:s,s:s}", "conversation", world, "message_id", pid, "emoji", "👍"));
    assert_true(is_ok(r));
    assert_int_equal(jint(r, "count"), 1);
    json_decref(r);
    ev = next_event_for(c.b1.ws, "reaction", pid);
    assert_string_equal(jstr(ev, "emoji"), "👍");
    assert_string_equal(jstr(ev, "user_id"), gs.user_id);
    assert_true(json_is_true(json_object_get(ev, "added")));
    json_decref(ev);
    dev_close(&mod);
    dev_close(&guest);
    cast_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_mentions),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_sync_from_now),
        cmocka_unit_test(test_edit),
        cmocka_unit_test(test_windows_and_roles),
        cmocka_unit_test(test_delete_for_everyone),
        cmocka_unit_test(test_delete_for_me),
        cmocka_unit_test(test_forward),
        cmocka_unit_test(test_world),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
