/* End-to-end tests of the server's output side: clients that pipeline
 * requests with large replies and never read them cannot grow the server's
 * memory or stall others; one WebSocket reply larger than ws_max_queue still
 * reaches a reader who reads; a graceful shutdown tells every WebSocket why
 * it closes (1001). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sys/socket.h>

#include "test_chat_util.h"

#define TEXT_CHARS 4096
#define NMSG 200
#define NATTACK 12
#define NPIPE 200
#define RSS_BOUND_KB (48 * 1024)

/* VmRSS of pid in KiB, or -1. */
static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* Under AddressSanitizer, freed memory is held in a quarantine (256 MiB by
 * default) that would count as growth; keep it small so that RSS measures
 * what the server holds, not what it freed. */
static void small_asan_quarantine(void)
{
    const char *old = getenv("ASAN_OPTIONS");
    char buf[512];
    snprintf(buf, sizeof buf, "%s%squarantine_size_mb=4", old ? old : "", old && *old ? ":" : "");
    setenv("ASAN_OPTIONS", buf, 1);
}

/* GET /healthz on a fresh connection, waiting at most 2 s. Returns how long
 * it took, or -1 when it did not answer 200 in time. */
static long long healthz_ms(const mpt_server_t *srv)
{
    long long t0 = mpt_mono_ms();
    mpc_conn_t *c = mpc_connect(srv->host, srv->port, 2000);
    if (c == NULL)
        return -1;
    mpc_response_t r;
    int rc = mpc_http_request(c, "GET", "/healthz", NULL, NULL, &r, 2000);
    long long ms = mpt_mono_ms() - t0;
    mpc_conn_free(c);
    if (rc != MPC_OK)
        return -1;
    int status = r.status;
    mpc_response_free(&r);
    return status == 200 && ms <= 2000 ? ms : -1;
}

/* A text of n characters, each the UTF-8 sequence ch (of clen bytes). */
static char *text_of(size_t n, const char *ch)
{
    size_t clen = strlen(ch);
    char *t = malloc(n * clen + 1);
    assert_non_null(t);
    for (size_t i = 0; i < n; i++)
        memcpy(t + i * clen, ch, clen);
    t[n * clen] = '\0';
    return t;
}

/* Sends n messages of text to conv over ws, pipelined by send_burst's rules
 * but with a large text: one at a time, each acked. */
static void store_messages(mpc_ws_t *ws, const char *conv, int n, const char *text)
{
    for (int i = 0; i < n; i++) {
        char cmid[32];
        snprintf(cmid, sizeof cmid, "big%d", i);
        json_t *r = send_msg(ws, conv, NULL, cmid, text);
        if (!is_ok(r)) {
            char *dump = json_dumps(r, JSON_COMPACT);
            fail_msg("send %d: %s", i, dump ? dump : "?");
        }
        json_decref(r);
    }
}

/* Two users with a direct conversation; the first one's WebSocket stays open.
 * Copies the conversation id into conv. */
static void two_users(const mpt_server_t *srv, chat_dev_t *a, chat_dev_t *b, char conv[24])
{
    dev_new_user(srv, "no", a);
    assert_int_equal(mpt_user_new(srv, "np", &b->s), 0);
    b->ws = NULL;
    assert_int_equal(direct_conv(srv, a, b->s.user_id, conv), 201);
    assert_true(conv[0] != '\0');
}

/* ---- A: pipelined large replies that are never read ---- */

static void test_unread_pipelined_replies_are_bounded(void **state)
{
    (void)state;
    small_asan_quarantine();
    /* No search index: its background pass over the large messages stored
     * below would run during the window and count in the RSS, which is
     * about the output path only. */
    const char *flags[] = {CHAT_FLAGS, "--search_index", "off", NULL};
    mpt_server_t *srv = mpt_server_start(flags);
    assert_non_null(srv);
    chat_dev_t a, b;
    char conv[24];
    two_users(srv, &a, &b, conv);
    /* The largest messages allowed: 4,096 characters of four bytes each
     * (U+1D11E); a page is then cut by the reply budget (256 KiB). Without
     * the output bounds, each attacker had 32 such replies built ahead
     * (12 x 32 x 256 KiB = 96 MiB); with them, about 1 MiB plus one reply. */
    char *text = text_of(TEXT_CHARS, "\xf0\x9d\x84\x9e");
    store_messages(a.ws, conv, NMSG, text);
    free(text);

    /* One page read normally: its size, and a warm server for the baseline. */
    char path[128];
    snprintf(path, sizeof path, "/v1/conversations/%s/messages?limit=%d", conv, NMSG);
    mpc_response_t page;
    assert_int_equal(mpt_http(srv, "GET", path, a.s.access, NULL, &page), 200);
    print_message("one page of %d messages: %zu bytes\n", NMSG, page.body_len);
    assert_true(page.body_len > 200 * 1024);
    mpc_response_free(&page);
    long base = rss_kb(srv->pid);
    assert_true(base > 0);

    /* Attackers: many pipelined GETs each, then never a byte read. */
    char one[1536];
    int olen =
        snprintf(one, sizeof one, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n",
                 path, srv->hostport, a.s.access);
    assert_true(olen > 0 && (size_t)olen < sizeof one);
    char *burst = malloc((size_t)olen * NPIPE);
    assert_non_null(burst);
    for (int i = 0; i < NPIPE; i++)
        memcpy(burst + (size_t)i * (size_t)olen, one, (size_t)olen);
    mpc_conn_t *att[NATTACK];
    for (int i = 0; i < NATTACK; i++) {
        att[i] = mpt_connect(srv);
        assert_non_null(att[i]);
        int small = 4096;
        setsockopt(mpc_conn_fd(att[i]), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        assert_int_equal(mpc_send_raw(att[i], burst, (size_t)olen * NPIPE, 5000), MPC_OK);
    }
    free(burst);

    /* While they are connected, the server stays small and answers others.
     * The window is long enough for the old behaviour (hundreds of replies
     * built ahead of a peer who never reads) to show. */
    long peak = base;
    long long worst = 0, t_end = mpt_mono_ms() + 8000;
    int late = 0, retried = 0;
    while (mpt_mono_ms() < t_end) {
        /* On this shared 2-core machine one probe can miss 2 s on its own;
         * a stalled server misses two in a row (the reported stall: 11 s). */
        long long ms = healthz_ms(srv);
        if (ms < 0) {
            retried++;
            ms = healthz_ms(srv);
        }
        if (ms < 0)
            late++;
        else if (ms > worst)
            worst = ms;
        long kb = rss_kb(srv->pid);
        assert_true(kb > 0);
        if (kb > peak)
            peak = kb;
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL); /* sampling period, not a synchronisation */
    }
    print_message("RSS %ld KiB -> peak %ld KiB (+%ld); slowest /healthz %lld ms, %d retried, "
                  "%d late twice in a row\n",
                  base, peak, peak - base, worst, retried, late);
    if (peak - base > RSS_BOUND_KB)
        fail_msg("server RSS grew by %ld KiB (bound %d KiB)", peak - base, RSS_BOUND_KB);
    if (late > 0)
        fail_msg("/healthz did not answer within 2 s, twice in a row, %d times while under attack",
                 late);

    for (int i = 0; i < NATTACK; i++)
        mpc_conn_free(att[i]);
    assert_true(healthz_ms(srv) >= 0);
    dev_close(&a);
    assert_int_equal(mpt_server_stop(srv), 0);
}

/* ---- B: one WebSocket reply larger than ws_max_queue ---- */

static void test_ws_reply_larger_than_queue_bound(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS, "--ws_max_queue", "65536", NULL};
    mpt_server_t *srv = mpt_server_start(flags);
    assert_non_null(srv);
    chat_dev_t a, b;
    char conv[24];
    two_users(srv, &a, &b, conv);
    char *text = text_of(4000, "q");
    store_messages(a.ws, conv, 30, text);
    free(text);

    /* 30 messages of ~4 KB: more than ws_max_queue's 64 KiB in all. The
     * replies are cut to a quarter of the queue bound (Reply size), so a
     * client who reads pages through everything without being taken for
     * a slow reader; the rule for one frame larger than the bound itself is
     * covered by tests/unit/net/test_ws.c (test_queue_bound_is_ahead_of_frame). */
    json_t *r = NULL;
    for (int round = 0; round < 2; round++) {
        long long before = 0;
        size_t got = 0;
        for (int pages = 0;; pages++) {
            assert_true(pages < 100);
            json_t *f = json_pack("{s:s,s:i}", "conversation", conv, "limit", 30);
            if (before > 0)
                json_object_set_new(f, "before_seq", json_integer(before));
            r = call(a.ws, "history", f);
            if (!is_ok(r)) {
                char *dump = json_dumps(r, JSON_COMPACT);
                fail_msg("history: %s", dump ? dump : "?");
            }
            json_t *msgs = json_object_get(r, "messages");
            got += json_array_size(msgs);
            bool more = json_is_true(json_object_get(r, "has_more"));
            if (json_array_size(msgs) > 0)
                before = jint(json_array_get(msgs, 0), "seq");
            json_decref(r);
            if (!more)
                break;
        }
        assert_int_equal(got, 30);
    }
    r = call(a.ws, "ping", NULL);
    assert_true(is_ok(r));
    json_decref(r);
    dev_close(&a);
    assert_int_equal(mpt_server_stop(srv), 0);
}

/* ---- C: graceful shutdown closes WebSockets with 1001 ---- */

static void test_shutdown_sends_going_away(void **state)
{
    (void)state;
    mpt_server_t *srv = mpt_server_start(NULL);
    assert_non_null(srv);
    mpt_session_t s;
    assert_int_equal(mpt_user_new(srv, "ga", &s), 0);
    mpc_ws_t *ws = mpt_ws_open(srv, s.access);
    assert_non_null(ws);
    json_t *r = mpt_ws_call(ws, "ping", NULL);
    assert_true(is_ok(r));
    json_decref(r);

    assert_int_equal(mpt_server_terminate(srv), 0);
    int code = 0;
    char *reason = NULL;
    assert_int_equal(mpc_ws_wait_close(ws, 5000, &code, &reason), MPC_OK);
    print_message("closed with %d (%s)\n", code, reason ? reason : "");
    assert_int_equal(code, 1001);
    free(reason);
    mpc_ws_free(ws);
    assert_int_equal(mpt_server_stop(srv), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unread_pipelined_replies_are_bounded),
        cmocka_unit_test(test_ws_reply_larger_than_queue_bound),
        cmocka_unit_test(test_shutdown_sends_going_away),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
