/* io_threads: the socket writes of a flush to many WebSockets shared with
 * helper threads (net/iopool.h, net/ws_flush.c), over real loopback sockets.
 * Every client must get every frame, whole and in the order it was queued,
 * whoever wrote it: when the helpers write everything, when the kernel takes
 * only part of a batch (clients that do not read yet), when a client has
 * gone, and with one thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"
#include "net/server.h"
#include "net/testing.h"
#include "util/log.h"
#include "util/metrics.h"

#define MAX_CLIENTS 80

typedef struct client {
    int fd;
    char *buf; /* bytes read and not yet parsed */
    size_t len, cap;
    bool upgraded;   /* the 101 response was read */
    unsigned frames; /* frames checked so far */
} client_t;

static uv_loop_t loop;
static mp_config_t cfg;
static mp_server_t *srv;
static int opens, closes;
static mp_sid_t sids[MAX_CLIENTS];
static client_t clients[MAX_CLIENTS];
static int nclients;

static mp_err_t auth(void *ctx, const char *token, mp_principal_t *who)
{
    (void)ctx;
    if (strcmp(token, "tok") != 0)
        return MP_ERR_UNAUTHORIZED;
    who->user_id = 12345678901234567ull;
    who->device_id = 9;
    return MP_OK;
}

static void on_open(void *ctx, mp_sid_t sid, const mp_principal_t *who)
{
    (void)ctx;
    (void)who;
    assert_true(opens < MAX_CLIENTS);
    sids[opens++] = sid;
}

static void on_close(void *ctx, mp_sid_t sid, const mp_principal_t *who)
{
    (void)ctx;
    (void)sid;
    (void)who;
    closes++;
}

static int setup(void **state)
{
    (void)state;
    static const mp_server_hooks_t hooks = {
        .authenticate = auth, .session_open = on_open, .session_close = on_close};
    mp_log_set_level(MP_LOG_WARN);
    mp_config_defaults(&cfg);
    snprintf(cfg.listen_host, sizeof(cfg.listen_host), "127.0.0.1");
    cfg.listen_port = 0;
    cfg.ws_max_queue = 8u << 20;                     /* nobody here is a slow reader */
    cfg.max_ws_per_user = cfg.max_ws_per_device = 0; /* one user, many sessions */
    uv_loop_init(&loop);
    srv = mp_server_new(&loop, &cfg, NULL, &hooks, NULL);
    mp_server_set_io_threads(srv, 3);
    opens = closes = nclients = 0;
    memset(clients, 0, sizeof clients);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < nclients; i++) {
        if (clients[i].fd >= 0)
            close(clients[i].fd);
        free(clients[i].buf);
    }
    mpu_server_close(&loop, srv);
    assert_int_equal(opens, closes);
    return 0;
}

static bool all_open(void *want)
{
    return opens >= *(int *)want;
}

/* n clients upgrade and authenticate; rcvbuf > 0 shrinks their receive
 * buffers, so that the kernel takes only part of a large batch. */
static void connect_clients(int n, int rcvbuf)
{
    int port = 0;
    assert_int_equal(mp_server_listen(srv, &port), 0);
    const char *up = "GET /v1/ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Authorization: Bearer tok\r\n\r\n";
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        if (rcvbuf > 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        fcntl(fd, F_SETFL, O_NONBLOCK);
        assert_int_equal(write(fd, up, strlen(up)), (ssize_t)strlen(up));
        clients[i].fd = fd;
        nclients++;
        /* One at a time: sids[i] is then client i's session. */
        int want = i + 1;
        MPU_WAIT_UNTIL(&loop, all_open, &want);
    }
}

/* The payload of frame k for client i: its size varies with both, between
 * big / 2 and big bytes, and its bytes say whose and which it is. */
static size_t payload(int i, unsigned k, unsigned big, char *out, size_t cap)
{
    size_t pad = big / 2 + ((size_t)i * 131 + (size_t)k * 7919) % (big / 2);
    int n = snprintf(out, cap, "{\"c\":%d,\"k\":%u,\"p\":\"", i, k);
    assert_true(n > 0 && (size_t)n + pad + 2 < cap);
    for (size_t j = 0; j < pad; j++)
        out[n + j] = (char)('a' + (i + k + j) % 26);
    memcpy(out + n + pad, "\"}", 2);
    return (size_t)n + pad + 2;
}

#define PAYLOAD_CAP (256 * 1024)

/* Queues frame k to every session, each its own payload: the flush that
 * follows (the loop's next turn) writes to every socket at once. */
static void send_round(unsigned k, unsigned big)
{
    static char p[PAYLOAD_CAP];
    for (int i = 0; i < nclients; i++) {
        mp_frame_t *f = mp_frame_new_text(p, payload(i, k, big, p, sizeof p));
        mp_gw_send(srv, sids[i], f);
        mp_frame_unref(f);
    }
}

/* Parses what client i has read: the 101 response, then text frames, each
 * compared with the payload it must be. */
static void parse(int i, unsigned big)
{
    client_t *c = &clients[i];
    size_t off = 0;
    if (!c->upgraded) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (end == NULL)
            return;
        assert_memory_equal(c->buf, "HTTP/1.1 101", 12);
        off = (size_t)(end - c->buf) + 4;
        c->upgraded = true;
    }
    static char want[PAYLOAD_CAP];
    for (;;) {
        const uint8_t *h = (const uint8_t *)c->buf + off;
        size_t avail = c->len - off, hl = 2, len;
        if (avail < 2)
            break;
        assert_int_equal(h[0], 0x81); /* final text frame, as the server sends */
        len = h[1] & 0x7f;
        if (len == 126) {
            hl = 4;
            if (avail < hl)
                break;
            len = (size_t)h[2] << 8 | h[3];
        } else if (len == 127) {
            hl = 10;
            if (avail < hl)
                break;
            len = 0;
            for (int b = 0; b < 8; b++)
                len = len << 8 | h[2 + b];
        }
        if (avail < hl + len)
            break;
        size_t wl = payload(i, c->frames, big, want, sizeof want);
        assert_int_equal(len, wl);
        assert_memory_equal(h + hl, want, wl);
        c->frames++;
        off += hl + len;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
}

typedef struct {
    unsigned frames; /* every reading client must get this many */
    unsigned big;
    int skip; /* a client that does not read (-1: none) */
} expect_t;

/* One step of the wait: every client reads what it can. True once each
 * has all its frames. */
static bool read_all(void *ud)
{
    const expect_t *e = ud;
    bool all = true;
    for (int i = 0; i < nclients; i++) {
        client_t *c = &clients[i];
        if (i == e->skip)
            continue;
        for (;;) {
            if (c->cap - c->len < 65536) {
                c->cap = c->cap ? 2 * c->cap : 262144;
                c->buf = realloc(c->buf, c->cap);
                assert_non_null(c->buf);
            }
            ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
            if (n <= 0) {
                assert_true(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
                break;
            }
            c->len += (size_t)n;
        }
        parse(i, e->big);
        all &= c->frames == e->frames;
    }
    return all;
}

static void test_helpers_write_every_frame_in_order(void **state)
{
    (void)state;
    assert_int_equal(mp_server_io_threads(srv), 3);
    mp_net__io_helpers_only(srv, true);
    connect_clients(64, 0);
    uint64_t flushes = mp_metrics_get(MP_MC_IO_SHARED_FLUSHES);
    uint64_t helped = mp_metrics_get(MP_MC_IO_HELPER_WRITES);
    expect_t e = {.frames = 24, .big = 40000, .skip = -1};
    for (unsigned k = 0; k < e.frames; k++) {
        send_round(k, e.big);
        uv_run(&loop, UV_RUN_NOWAIT); /* one flush per round */
    }
    MPU_WAIT_UNTIL(&loop, read_all, &e);
    /* The first round alone went to 64 sockets in one flush, written by the
     * helpers only. */
    assert_true(mp_metrics_get(MP_MC_IO_SHARED_FLUSHES) > flushes);
    assert_true(mp_metrics_get(MP_MC_IO_HELPER_WRITES) >= helped + 64);
    assert_int_equal(closes, 0);
}

static bool some_flushes(void *ud)
{
    return mp_metrics_get(MP_MC_IO_SHARED_FLUSHES) >= *(uint64_t *)ud;
}

static void test_partial_writes_and_a_client_gone(void **state)
{
    (void)state;
    connect_clients(34, 4096);
    /* Client 0 leaves before anything is sent: its writes fail, and only
     * its session closes. */
    close(clients[0].fd);
    clients[0].fd = -1;
    uint64_t want = mp_metrics_get(MP_MC_IO_SHARED_FLUSHES) + 2;
    /* Nobody reads yet. The first half of the frames is ~2.2 MB per socket,
     * which the kernel takes whole on loopback; once those writes are done,
     * the second half (as much again) finds the send buffers nearly full,
     * so the kernel takes part of each batch, ending anywhere in a frame,
     * or nothing, and libuv queues the rest. */
    expect_t e = {.frames = 24, .big = 250000, .skip = 0};
    for (unsigned k = 0; k < e.frames / 2; k++)
        send_round(k, e.big);
    uv_run(&loop, UV_RUN_NOWAIT); /* the flush */
    uv_run(&loop, UV_RUN_NOWAIT); /* the writes' callbacks */
    for (unsigned k = e.frames / 2; k < e.frames; k++)
        send_round(k, e.big);
    MPU_WAIT_UNTIL(&loop, some_flushes, &want);
    MPU_WAIT_UNTIL(&loop, read_all, &e);
    MPU_WAIT(&loop, &closes, 1);
    assert_int_equal(closes, 1);
}

static void test_one_thread_writes_alone(void **state)
{
    (void)state;
    mp_server_set_io_threads(srv, 1);
    assert_int_equal(mp_server_io_threads(srv), 1);
    connect_clients(40, 0);
    uint64_t flushes = mp_metrics_get(MP_MC_IO_SHARED_FLUSHES);
    expect_t e = {.frames = 8, .big = 20000, .skip = -1};
    for (unsigned k = 0; k < e.frames; k++) {
        send_round(k, e.big);
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    MPU_WAIT_UNTIL(&loop, read_all, &e);
    assert_int_equal(mp_metrics_get(MP_MC_IO_SHARED_FLUSHES), flushes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_helpers_write_every_frame_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_writes_and_a_client_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_thread_writes_alone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
