/* End-to-end tests of reply size bounds on the read paths: `sync` and
 * `history` pages end early (has_more with fewer items than asked) once
 * their encoded size reaches the reply budget, paging on with the cursor /
 * before_seq returns every message exactly once and in order, and no reply
 * ever outgrows the connection's outgoing queue. Also: history shows the
 * same message object as the live event (sender_guest for guests). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_groups_util.h"

/* The documented reply budget (docs/protocol.md, "Reply size"). */
#define REPLY_BUDGET (256 * 1024)
/* The default ws_max_queue: a reply above it closes the socket. */
#define WS_QUEUE (1024 * 1024)

static mpt_server_t *srv;

static int setup(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS, "--guest_rate", "100000", NULL};
    srv = mpt_server_start(flags);
    return srv ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = mpt_server_stop(srv);
    srv = NULL;
    return rc == 0 ? 0 : -1;
}

typedef void (*text_fn)(int i, char *out, size_t cap);

/* Sends n messages to conv from ws, pipelined in chunks, message i with the
 * text make(i); every reply must be ok. */
static void send_many(mpc_ws_t *ws, const char *conv, const char *prefix, int n, text_fn make)
{
    enum { CHUNK = 40 };
    static char text[8192];
    int64_t base = mpc_ws_next_id(ws) + 1000000;
    for (int start = 0; start < n; start += CHUNK) {
        int k = n - start < CHUNK ? n - start : CHUNK;
        for (int i = 0; i < k; i++) {
            char cmid[64];
            snprintf(cmid, sizeof cmid, "%s%d", prefix, start + i);
            make(start + i, text, sizeof text);
            json_t *f =
                json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)(base + start + i), "type",
                          "send", "conversation", conv, "client_msg_id", cmid, "text", text);
            assert_non_null(f);
            int rc = mpc_ws_send_json(ws, f, MPT_TIMEOUT);
            json_decref(f);
            if (rc != MPC_OK)
                fail_msg("send %d: %s", start + i, mpc_strerror(rc));
        }
        for (int got = 0; got < k;) {
            mpc_ws_msg_t m;
            int rc = mpc_ws_recv(ws, MPT_TIMEOUT, &m);
            if (rc != MPC_OK)
                fail_msg("waiting for send replies: %s", mpc_strerror(rc));
            if (m.opcode == MPC_WS_CLOSE)
                fail_msg("closed while sending: %d %s", m.close_code, m.close_reason);
            json_t *id = m.json ? json_object_get(m.json, "id") : NULL;
            if (json_is_integer(id) && json_integer_value(id) >= base + start &&
                json_integer_value(id) < base + start + k) {
                if (!is_ok(m.json))
                    fail_msg("send failed: %s", mpt_error_code(m.json));
                got++;
            }
            mpc_ws_msg_free(&m);
        }
    }
}

/* One request whose reply is returned with the size of its frame (events in
 * between are dropped). A close or a timeout fails the test: that is what a
 * reply over ws_max_queue did. */
static json_t *sized_call(mpc_ws_t *ws, const char *type, json_t *fields, size_t *len)
{
    int64_t id = mpc_ws_next_id(ws) + 2000000;
    json_object_set_new(fields, "id", json_integer(id));
    json_object_set_new(fields, "type", json_string(type));
    int rc = mpc_ws_send_json(ws, fields, MPT_TIMEOUT);
    json_decref(fields);
    if (rc != MPC_OK)
        fail_msg("%s: send: %s", type, mpc_strerror(rc));
    for (;;) {
        mpc_ws_msg_t m;
        rc = mpc_ws_recv(ws, MPT_TIMEOUT * 2, &m);
        if (rc != MPC_OK)
            fail_msg("%s: no reply: %s", type, mpc_strerror(rc));
        if (m.opcode == MPC_WS_CLOSE)
            fail_msg("%s: the server closed the socket: %d %s", type, m.close_code, m.close_reason);
        json_t *jid = m.json ? json_object_get(m.json, "id") : NULL;
        if (json_is_integer(jid) && json_integer_value(jid) == id) {
            json_t *r = json_incref(m.json);
            *len = m.len;
            mpc_ws_msg_free(&m);
            return r;
        }
        mpc_ws_msg_free(&m);
    }
}

/* ---- sync --------------------------------------------------------------- */

#define SYNC_N 300
#define SYNC_CHARS 4000

static void sync_text(int i, char *out, size_t cap)
{
    assert_true(cap > SYNC_CHARS);
    int h = snprintf(out, cap, "sync %04d ", i);
    memset(out + h, 'a' + i % 26, SYNC_CHARS - (size_t)h);
    out[SYNC_CHARS] = '\0';
}

/* B sends A 300 messages of 4,000 characters: a single sync of them would
 * be ~1.2 MiB, more than ws_max_queue. A fresh device of A syncs page after
 * page and gets each message once, in order, with no socket close. */
static void test_sync_pages_by_bytes(void **state)
{
    (void)state;
    chat_dev_t a, b;
    dev_new_user(srv, "pga", &a);
    dev_new_user(srv, "pgb", &b);
    char conv[24];
    assert_int_equal(direct_conv(srv, &b, a.s.user_id, conv), 201);
    dev_close(&a);
    send_many(b.ws, conv, "sync-", SYNC_N, sync_text);

    chat_dev_t fresh;
    dev_new_device(srv, &a, &fresh);
    char cursor[32] = "0";
    static char want[SYNC_CHARS + 1];
    long long next_seq = 1, prev_cursor = 0;
    int pages = 0, short_pages = 0;
    bool conv_seen = false;
    for (;;) {
        assert_true(pages++ < 1000);
        size_t len = 0;
        json_t *r = sized_call(fresh.ws, "sync", json_pack("{s:s}", "since", cursor), &len);
        if (!is_ok(r))
            fail_msg("sync: %s", mpt_error_code(r));
        assert_true(len <= REPLY_BUDGET);
        json_t *msgs = json_object_get(r, "messages");
        bool more = json_is_true(json_object_get(r, "has_more"));
        size_t i;
        json_t *m;
        json_array_foreach(msgs, i, m)
        {
            if (strcmp(jstr(m, "conversation"), conv) != 0)
                continue;
            /* Each message exactly once, in seq order. */
            assert_int_equal(jint(m, "seq"), next_seq);
            sync_text((int)next_seq - 1, want, sizeof want);
            assert_string_equal(jstr(m, "text"), want);
            next_seq++;
        }
        /* A page with messages describes their conversation. */
        json_t *c;
        json_array_foreach(json_object_get(r, "conversations"), i, c)
        {
            if (strcmp(jstr(c, "conversation_id"), conv) == 0)
                conv_seen = true;
        }
        if (more) {
            assert_true(json_array_size(msgs) > 0); /* progress on every page */
            if (json_array_size(msgs) < 500)
                short_pages++;
        }
        long long cur = atoll(jstr(r, "cursor"));
        assert_true(cur >= prev_cursor);
        prev_cursor = cur;
        snprintf(cursor, sizeof cursor, "%s", jstr(r, "cursor"));
        json_decref(r);
        if (!more)
            break;
    }
    assert_int_equal(next_seq, SYNC_N + 1);
    assert_true(conv_seen);
    assert_true(pages >= (int)(SYNC_N * (long)SYNC_CHARS / REPLY_BUDGET));
    assert_true(short_pages >= 1);
    fprintf(stderr, "sync: %d messages in %d pages\n", SYNC_N, pages);

    /* Caught up: the cursor answers nothing new. */
    size_t len = 0;
    json_t *r = sized_call(fresh.ws, "sync", json_pack("{s:s}", "since", cursor), &len);
    assert_true(is_ok(r));
    assert_int_equal(json_array_size(json_object_get(r, "messages")), 0);
    assert_false(json_is_true(json_object_get(r, "has_more")));
    assert_string_equal(jstr(r, "cursor"), cursor);
    json_decref(r);

    /* The shared sync loop (through the client's request API) agrees. */
    char c2[32] = "0";
    json_t *all = json_array();
    assert_true(sync_until_done(fresh.ws, c2, all, NULL));
    assert_int_equal(json_array_size(all), SYNC_N);
    json_decref(all);
    dev_close(&fresh);
    dev_close(&b);
}

/* ---- history -------------------------------------------------------------- */

#define HIST_N 60
#define HIST_CHARS 4000

/* Characters the JSON encoder escapes: '"' and '\\' take 2 bytes each (the
 * control characters that took 6 are refused in text now), so a message of
 * 4,000 of them is ~8 KB encoded. */
static void hist_text(int i, char *out, size_t cap)
{
    static const char fill[] = {'"', '\\'};
    assert_true(cap > HIST_CHARS);
    int h = snprintf(out, cap, "hist %04d ", i);
    memset(out + h, fill[i % 2], HIST_CHARS - (size_t)h);
    out[HIST_CHARS] = '\0';
}

/* Pages backwards from the newest with limit 200 and returns how many pages
 * it took; each page's encoded size stays within the budget and the pages
 * together hold every message once. http: the HTTP route, else the verb. */
static int page_history(mpc_ws_t *ws, const char *token, const char *conv, bool http)
{
    static char want[HIST_CHARS + 1];
    long long before = 0, expect = HIST_N;
    int pages = 0;
    for (;;) {
        assert_true(pages++ < 1000);
        json_t *r = NULL;
        size_t len = 0;
        if (http) {
            char path[160];
            if (before > 0)
                snprintf(path, sizeof path,
                         "/v1/conversations/%s/messages?limit=200&before_seq=%lld", conv, before);
            else
                snprintf(path, sizeof path, "/v1/conversations/%s/messages?limit=200", conv);
            mpc_response_t resp;
            int st = mpt_http(srv, "GET", path, token, NULL, &resp);
            assert_int_equal(st, 200);
            len = resp.body_len;
            r = json_incref(resp.json);
            mpc_response_free(&resp);
        } else {
            json_t *f = json_pack("{s:s,s:i}", "conversation", conv, "limit", 200);
            if (before > 0)
                json_object_set_new(f, "before_seq", json_integer(before));
            r = sized_call(ws, "history", f, &len);
            assert_true(is_ok(r));
        }
        assert_non_null(r);
        assert_true(len <= REPLY_BUDGET);
        json_t *msgs = json_object_get(r, "messages");
        size_t n = json_array_size(msgs);
        assert_true(n >= 1);
        /* Ascending within the page, and the page ends right below the
         * previous one. */
        for (size_t i = 0; i < n; i++) {
            json_t *m = json_array_get(msgs, i);
            long long seq = jint(m, "seq");
            assert_int_equal(seq, expect - (long long)n + 1 + (long long)i);
            hist_text((int)seq - 1, want, sizeof want);
            assert_string_equal(jstr(m, "text"), want);
        }
        expect -= (long long)n;
        before = jint(json_array_get(msgs, 0), "seq");
        bool more = json_is_true(json_object_get(r, "has_more"));
        json_decref(r);
        assert_int_equal(more, expect > 0);
        if (!more)
            break;
    }
    assert_int_equal(expect, 0);
    return pages;
}

static void test_history_pages_by_bytes(void **state)
{
    (void)state;
    chat_dev_t a, b;
    dev_new_user(srv, "pha", &a);
    dev_new_user(srv, "phb", &b);
    char conv[24];
    assert_int_equal(direct_conv(srv, &a, b.s.user_id, conv), 201);
    send_many(a.ws, conv, "hist-", HIST_N, hist_text);

    int ws_pages = page_history(b.ws, b.s.access, conv, false);
    int http_pages = page_history(NULL, b.s.access, conv, true);
    fprintf(stderr, "history: %d messages in %d pages (ws), %d (http)\n", HIST_N, ws_pages,
            http_pages);
    /* 60 x ~8 KB: more than one page although limit is 200. */
    assert_true(ws_pages >= 2);
    assert_int_equal(ws_pages, http_pages);

    /* limit still caps the page when messages are small. */
    json_t *r = call(b.ws, "history",
                     json_pack("{s:s,s:i,s:i}", "conversation", conv, "limit", 1, "before_seq", 2));
    assert_true(is_ok(r));
    assert_int_equal(json_array_size(json_object_get(r, "messages")), 1);
    assert_false(json_is_true(json_object_get(r, "has_more")));
    json_decref(r);
    dev_close(&a);
    dev_close(&b);
}

/* ---- the conversation list -------------------------------------------------- */

#define LIST_N 40

/* Each conversation's last message is in the list: 40 conversations whose
 * last message is ~8 KB encoded outgrow one budget at limit=200, so the
 * list pages on with next_cursor and every conversation comes once. */
static void test_conversation_list_pages_by_bytes(void **state)
{
    (void)state;
    chat_dev_t me;
    dev_new_user(srv, "plme", &me);
    static char text[HIST_CHARS + 1];
    for (int i = 0; i < LIST_N; i++) {
        chat_dev_t peer;
        dev_new_user(srv, "plp", &peer);
        char conv[24];
        assert_int_equal(direct_conv(srv, &peer, me.s.user_id, conv), 201);
        hist_text(i, text, sizeof text);
        json_t *r = send_msg(peer.ws, conv, NULL, "pl-1", text);
        assert_true(is_ok(r));
        json_decref(r);
        dev_close(&peer);
    }
    char cursor[64] = "";
    int seen = 0, pages = 0;
    for (;;) {
        assert_true(pages++ < 100);
        char path[160];
        snprintf(path, sizeof path, "/v1/conversations?limit=200%s%s", cursor[0] ? "&cursor=" : "",
                 cursor);
        mpc_response_t resp;
        assert_int_equal(mpt_http(srv, "GET", path, me.s.access, NULL, &resp), 200);
        assert_true(resp.body_len <= REPLY_BUDGET);
        json_t *list = json_object_get(resp.json, "conversations");
        assert_true(json_array_size(list) >= 1);
        seen += (int)json_array_size(list);
        json_t *next = json_object_get(resp.json, "next_cursor");
        bool more = json_is_string(next);
        if (more)
            snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
        mpc_response_free(&resp);
        if (!more)
            break;
    }
    assert_int_equal(seen, LIST_N);
    assert_true(pages >= 2);
    dev_close(&me);
}

/* ---- the message object is the same everywhere ------------------------------ */

static bool has_guest_mark(const json_t *m)
{
    return json_object_get(m, "sender_guest") != NULL;
}

static void test_history_sender_guest(void **state)
{
    (void)state;
    chat_dev_t g, u;
    assert_int_equal(guest_new(srv, "Passer-by", &g.s), 200);
    dev_open(srv, &g);
    dev_new_user(srv, "pgu", &u);
    json_t *w = EXPECT_BODY(200, NULL, srv, "GET", u.s.access, NULL, "/v1/world");
    char world[24];
    snprintf(world, sizeof world, "%s", jstr(w, "conversation_id"));
    json_decref(w);

    json_t *r = send_msg(g.ws, world, NULL, "pg-guest-1", "guest words");
    assert_true(is_ok(r));
    long long gseq = jint(r, "seq");
    json_decref(r);
    r = send_msg(u.ws, world, NULL, "pg-user-1", "user words");
    assert_true(is_ok(r));
    long long useq = jint(r, "seq");
    json_decref(r);

    /* The live event a registered user got carries the mark... */
    for (;;) {
        json_t *ev = next_event(u.ws, "message");
        json_t *m = json_object_get(ev, "message");
        bool hit = strcmp(jstr(m, "conversation"), world) == 0 && jint(m, "seq") == gseq;
        if (hit)
            assert_true(json_is_true(json_object_get(m, "sender_guest")));
        json_decref(ev);
        if (hit)
            break;
    }

    /* ...and so does history, over WebSocket and HTTP, for readers and for
     * the guest; a registered sender has no mark. */
    json_t *f = json_pack("{s:s,s:I}", "conversation", world, "before_seq", (json_int_t)useq + 1);
    json_t *h = call(u.ws, "history", f);
    assert_true(is_ok(h));
    json_t *msgs = json_object_get(h, "messages");
    bool found_g = false, found_u = false;
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        if (jint(m, "seq") == gseq) {
            found_g = true;
            assert_string_equal(jstr(m, "sender"), g.s.user_id);
            assert_true(json_is_true(json_object_get(m, "sender_guest")));
        } else if (jint(m, "seq") == useq) {
            found_u = true;
            assert_false(has_guest_mark(m));
        }
    }
    assert_true(found_g && found_u);
    json_decref(h);

    json_t *body = EXPECT_BODY(200, NULL, srv, "GET", g.s.access, NULL,
                               "/v1/conversations/%s/messages?before_seq=%lld", world, useq + 1);
    found_g = false;
    json_array_foreach(json_object_get(body, "messages"), i, m)
    {
        if (jint(m, "seq") == gseq) {
            found_g = true;
            assert_true(json_is_true(json_object_get(m, "sender_guest")));
            /* The guest's own message carries its client_msg_id, as for
             * any sender. */
            assert_string_equal(jstr(m, "client_msg_id"), "pg-guest-1");
        }
    }
    assert_true(found_g);
    json_decref(body);
    dev_close(&g);
    dev_close(&u);
}

/* A swept guest's messages keep the mark: only guests are ever deleted. */
static void test_swept_guest_stays_marked(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS, "--guest_ttl", "3", "--guest_sweep_interval", "200", NULL};
    mpt_server_t *s2 = mpt_server_start(flags);
    assert_non_null(s2);
    chat_dev_t g, u;
    /* The registered user first: its password hash is slow on a loaded
     * machine, and the guest must post before its short life ends. */
    assert_int_equal(mpt_user_new(s2, "pgs", &u.s), 0);
    json_t *w = EXPECT_BODY(200, NULL, s2, "GET", u.s.access, NULL, "/v1/world");
    char world[24];
    snprintf(world, sizeof world, "%s", jstr(w, "conversation_id"));
    json_decref(w);
    assert_int_equal(guest_new(s2, "Brief", &g.s), 200);
    dev_open(s2, &g);
    json_t *r = send_msg(g.ws, world, NULL, "pgs-1", "gone soon");
    assert_true(is_ok(r));
    long long seq = jint(r, "seq");
    json_decref(r);
    /* The sweep closes the idle guest's socket (bounded wait). */
    int code = 0;
    char *reason = NULL;
    assert_int_equal(mpc_ws_wait_close(g.ws, 20000, &code, &reason), MPC_OK);
    free(reason);
    assert_int_equal(code, 1008);
    dev_close(&g);
    EXPECT(401, "unauthorized", s2, "GET", g.s.access, NULL, "/v1/me");

    json_t *body = EXPECT_BODY(200, NULL, s2, "GET", u.s.access, NULL,
                               "/v1/conversations/%s/messages?before_seq=%lld", world, seq + 1);
    json_t *m = json_array_get(json_object_get(body, "messages"), 0);
    assert_non_null(m);
    assert_int_equal(jint(m, "seq"), seq);
    assert_string_equal(jstr(m, "sender"), g.s.user_id);
    assert_true(json_is_true(json_object_get(m, "sender_guest")));
    json_decref(body);
    assert_int_equal(mpt_server_stop(s2), 0);
}

/* With a small ws_max_queue the budget shrinks with it (a quarter), so
 * history still never trips the slow-reader limit. */
static void test_budget_follows_ws_max_queue(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS, "--ws_max_queue", "131072", NULL};
    mpt_server_t *s2 = mpt_server_start(flags);
    assert_non_null(s2);
    chat_dev_t a, b = {0};
    dev_new_user(s2, "pqa", &a);
    assert_int_equal(mpt_user_new(s2, "pqb", &b.s), 0);
    char conv[24];
    assert_int_equal(direct_conv(s2, &a, b.s.user_id, conv), 201);
    /* The reader connects afterwards: the live events of these messages
     * would overflow its small queue on their own. */
    send_many(a.ws, conv, "q-", 12, hist_text);
    dev_open(s2, &b);
    long long before = 0, expect = 12;
    int pages = 0;
    for (;;) {
        assert_true(pages++ < 100);
        json_t *f = json_pack("{s:s,s:i}", "conversation", conv, "limit", 200);
        if (before > 0)
            json_object_set_new(f, "before_seq", json_integer(before));
        size_t len = 0;
        json_t *r = sized_call(b.ws, "history", f, &len);
        assert_true(is_ok(r));
        assert_true(len <= 131072 / 4);
        json_t *msgs = json_object_get(r, "messages");
        size_t n = json_array_size(msgs);
        assert_true(n >= 1);
        assert_int_equal(jint(json_array_get(msgs, n - 1), "seq"), expect);
        expect -= (long long)n;
        before = jint(json_array_get(msgs, 0), "seq");
        bool more = json_is_true(json_object_get(r, "has_more"));
        json_decref(r);
        if (!more)
            break;
    }
    assert_int_equal(expect, 0);
    assert_true(pages >= 4);
    dev_close(&a);
    dev_close(&b);
    assert_int_equal(mpt_server_stop(s2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_pages_by_bytes),
        cmocka_unit_test(test_history_pages_by_bytes),
        cmocka_unit_test(test_conversation_list_pages_by_bytes),
        cmocka_unit_test(test_history_sender_guest),
        cmocka_unit_test(test_swept_guest_stays_marked),
        cmocka_unit_test(test_budget_follows_ws_max_queue),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
