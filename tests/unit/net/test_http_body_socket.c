/* Streamed request bodies over real loopback sockets: a 64 MiB upload whose
 * consumer pauses after every piece (resuming on the next loop turn) goes
 * through without the server holding it, then the connection serves the
 * next request; a client that goes away midway (also while the consumer is
 * paused) or stalls costs one ABORT; an answer before the body reaches the
 * client although it was still sending. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "net/server.h"
#include "util/alloc.h"
#include "util/log.h"

#define BIG (64u << 20)
#define RBUF 65536 /* the server's read buffer (MP_NET_RBUF) */

static uv_loop_t loop;
static mp_config_t cfg;
static mp_server_t *srv;
static uv_timer_t resumer;

static bool refuse;     /* the handler answers 413 at the head */
static bool hold_pause; /* the consumer stays paused until the test resumes it */
static mp_http_req_t *cur;
static size_t got, max_piece, pieces;
static int ends, aborts;
static size_t base_mem, peak_mem;

static void sample_mem(void)
{
#ifdef MP_ALLOC_STATS
    size_t u = mp_alloc_used();
    if (u > peak_mem)
        peak_mem = u;
#endif
}

static void on_resume(uv_timer_t *t)
{
    (void)t;
    if (cur && !hold_pause)
        mp_http_body_pause(cur, false);
}

static void consume(mp_http_req_t *req, mp_body_ev_t ev, const char *data, size_t len, void *ud)
{
    (void)ud;
    (void)data;
    sample_mem();
    if (ev == MP_BODY_DATA) {
        got += len;
        pieces++;
        if (len > max_piece)
            max_piece = len;
        /* As a consumer writing to disk: pause, resume when "written". */
        mp_http_body_pause(req, true);
        uv_timer_start(&resumer, on_resume, 0, 0);
        return;
    }
    cur = NULL;
    if (ev == MP_BODY_END) {
        ends++;
        mp_http_respond(req, 201, json_pack("{s:I}", "bytes", (json_int_t)got));
    } else {
        aborts++;
        mp_http_respond(req, 500, NULL);
    }
}

static void h_upload(mp_http_req_t *req)
{
    if (refuse) {
        mp_http_respond_error(req, MP_ERR_TOO_LARGE, NULL);
        return;
    }
    cur = req;
    mp_http_body_start(req, consume, NULL);
}

static void h_json(mp_http_req_t *req)
{
    mp_http_respond(req, 200, json_pack("{s:s}", "after", "upload"));
}

static const mp_route_t routes[] = {
    {"POST", "/v1/up", MP_ROUTE_PUBLIC | MP_ROUTE_BODY_STREAM, h_upload},
    {"GET", "/v1/json", MP_ROUTE_PUBLIC, h_json},
    {0},
};

static void done(void *arg)
{
    *(int *)arg = 1;
}

static int setup(void **state)
{
    (void)state;
    mp_log_set_level(MP_LOG_OFF);
    mp_config_defaults(&cfg);
    cfg.max_body = 1024;
    cfg.idle_timeout_ms = 10000;
    uv_loop_init(&loop);
    uv_timer_init(&loop, &resumer);
    srv = mp_server_new(&loop, &cfg, routes, NULL, NULL);
    refuse = hold_pause = false;
    cur = NULL;
    got = max_piece = pieces = 0;
    ends = aborts = 0;
    base_mem = peak_mem = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int finished = 0;
    uv_close((uv_handle_t *)&resumer, NULL);
    mp_server_shutdown(srv, done, &finished);
    MPU_RUN_IDLE(&loop);
    assert_int_equal(finished, 1);
    mp_server_free(srv);
    uv_loop_close(&loop);
    return 0;
}

/* The test's end of the connection: sends head, body and trailer as the
 * socket takes them, and reads what comes back, without blocking. */
typedef struct client {
    int fd;
    const char *head;
    size_t head_off;
    uint64_t body, sent; /* body bytes to send, sent so far */
    const char *tail;    /* sent after the body */
    size_t tail_off;
    uint64_t stop_at; /* close once this much body is sent (0: never) */
    char in[4096];
    size_t nin;
    bool eof;
    const char *want; /* step is done once this is in the input */
} client_t;

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static bool send_some(int fd, const char *p, size_t n, size_t *off)
{
    while (*off < n) {
        ssize_t w = send(fd, p + *off, n - *off, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        *off += (size_t)w;
    }
    return true;
}

static bool client_step(void *ud)
{
    client_t *c = ud;
    static char zeros[256 * 1024];
    sample_mem();
    if (c->fd >= 0 && send_some(c->fd, c->head, strlen(c->head), &c->head_off)) {
        while (c->sent < c->body) {
            uint64_t left = c->body - c->sent;
            size_t n = left < sizeof zeros ? (size_t)left : sizeof zeros;
            ssize_t w = send(c->fd, zeros, n, MSG_NOSIGNAL);
            if (w <= 0)
                break;
            c->sent += (uint64_t)w;
            if (c->stop_at && c->sent >= c->stop_at)
                break;
        }
        if (c->sent == c->body && c->tail)
            send_some(c->fd, c->tail, strlen(c->tail), &c->tail_off);
    }
    if (c->fd >= 0 && c->stop_at && c->sent >= c->stop_at) {
        close(c->fd);
        c->fd = -1;
    }
    while (c->fd >= 0 && !c->eof && c->nin < sizeof c->in - 1) {
        ssize_t r = recv(c->fd, c->in + c->nin, sizeof c->in - 1 - c->nin, 0);
        if (r > 0) {
            c->nin += (size_t)r;
            c->in[c->nin] = '\0';
        } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            c->eof = true;
        } else {
            break;
        }
    }
    return c->want ? strstr(c->in, c->want) != NULL : c->eof;
}

static int listen_port(void)
{
    int port = 0;
    assert_int_equal(mp_server_listen(srv, &port), 0);
    return port;
}

static bool no_connections(void *ud)
{
    (void)ud;
    return mp_server_connections(srv) == 0;
}

static void test_big_body_paused(void **state)
{
    (void)state;
    client_t c = {.fd = connect_to(listen_port()),
                  .head = "POST /v1/up HTTP/1.1\r\nHost: h\r\nContent-Length: 67108864\r\n\r\n",
                  .body = BIG,
                  .tail = "GET /v1/json HTTP/1.1\r\nHost: h\r\n\r\n",
                  .want = "{\"after\":\"upload\"}"};
#ifdef MP_ALLOC_STATS
    base_mem = peak_mem = mp_alloc_used();
#endif
    MPU_WAIT_UNTIL(&loop, client_step, &c);
    assert_int_equal(got, BIG);
    assert_int_equal(ends, 1);
    assert_int_equal(aborts, 0);
    /* Straight from the socket reads: no piece beyond one read, and the
     * server never held more than a few reads' worth at once. */
    print_message("%zu pieces, largest %zu, peak +%zu bytes\n", pieces, max_piece, peak_mem - base_mem);
    assert_true(max_piece <= RBUF);
    assert_true(pieces >= BIG / RBUF);
#ifdef MP_ALLOC_STATS
    assert_true(peak_mem - base_mem < 1024 * 1024);
#endif
    /* Both answers, in order, on the one connection. */
    assert_non_null(strstr(c.in, "HTTP/1.1 201 Created\r\n"));
    assert_non_null(strstr(c.in, "{\"bytes\":67108864}"));
    assert_true(strstr(c.in, "201 Created") < strstr(c.in, "200 OK"));
    close(c.fd);
    MPU_WAIT_UNTIL(&loop, no_connections, NULL);
}

static bool aborted(void *ud)
{
    client_step(ud);
    return aborts > 0;
}

static void test_client_cut(void **state)
{
    (void)state;
    client_t c = {.fd = connect_to(listen_port()),
                  .head = "POST /v1/up HTTP/1.1\r\nHost: h\r\nContent-Length: 10000000\r\n\r\n",
                  .body = 10000000,
                  .stop_at = 300000};
    MPU_WAIT_UNTIL(&loop, aborted, &c);
    assert_int_equal(aborts, 1);
    assert_int_equal(ends, 0);
    assert_true(got < 10000000);
    MPU_WAIT_UNTIL(&loop, no_connections, NULL);
    assert_int_equal(aborts, 1);
}

static bool some_body(void *ud)
{
    client_step(ud);
    return got > 0;
}

static void test_client_cut_while_paused(void **state)
{
    (void)state;
    hold_pause = true;
    client_t c = {.fd = connect_to(listen_port()),
                  .head = "POST /v1/up HTTP/1.1\r\nHost: h\r\nContent-Length: 10000000\r\n\r\n",
                  .body = 200000};
    MPU_WAIT_UNTIL(&loop, some_body, &c);
    /* Paused; the client goes away (a reset: unread data on its side). */
    struct linger lg = {1, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c.fd);
    c.fd = -1;
    for (int i = 0; i < 20; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(aborts, 0); /* not read while paused */
    hold_pause = false;
    mp_http_body_pause(cur, false);
    MPU_WAIT_UNTIL(&loop, aborted, &c);
    assert_int_equal(aborts, 1);
    MPU_WAIT_UNTIL(&loop, no_connections, NULL);
    assert_int_equal(aborts, 1);
    assert_int_equal(ends, 0);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    cfg.idle_timeout_ms = 300;
    client_t c = {.fd = connect_to(listen_port()),
                  .head = "POST /v1/up HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n",
                  .body = 10};
    MPU_WAIT_UNTIL(&loop, aborted, &c); /* the client keeps the socket open, silent */
    assert_int_equal(got, 10);
    assert_int_equal(aborts, 1);
    close(c.fd);
    MPU_WAIT_UNTIL(&loop, no_connections, NULL);
}

/* Refused at the head while the client keeps sending: the answer reaches it
 * whole, then the connection ends. */
static void test_refuse_while_sending(void **state)
{
    (void)state;
    refuse = true;
    client_t c = {.fd = connect_to(listen_port()),
                  .head = "POST /v1/up HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000\r\n\r\n",
                  .body = 2000000};
    MPU_WAIT_UNTIL(&loop, client_step, &c); /* until EOF (or a reset after the answer) */
    assert_non_null(strstr(c.in, "HTTP/1.1 413 Payload Too Large\r\n"));
    assert_non_null(strstr(c.in, "\"code\":\"too_large\""));
    assert_non_null(strstr(c.in, "Connection: close\r\n"));
    close(c.fd);
    MPU_WAIT_UNTIL(&loop, no_connections, NULL);
    assert_int_equal(got, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_big_body_paused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_cut_while_paused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_while_sending, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
