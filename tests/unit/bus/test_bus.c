/* The bus against a real nats-server on a loopback port: two buses on one
 * loop exchange messages in order, both report a server killed with -9 and
 * its restart (disconnected, then reconnected) and deliver again afterwards,
 * a bus opened before any server answers connects when one comes, a server
 * that requires a password takes buses that give it in the URL and not one
 * that does not, and a bad URL is refused at open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "bus/bus.h"
#include "fixture.h"
#include "nats.h"
#include "util/alloc.h"

#define N_ORDERED 2000

typedef struct peer {
    mp_bus_t *bus;
    int connected, disconnected, reconnected, lost, closed;
    int got;          /* messages received on "t.data" */
    int pings;        /* messages received on "t.ping" */
    int out_of_order; /* a numbered message that was not the next one */
    uint32_t next;    /* number of the next numbered message expected */
    size_t bin_len;   /* length of the last binary message */
    unsigned char bin[64];
} peer_t;

static void on_state(void *ud, mp_bus_state_t st)
{
    peer_t *p = ud;
    switch (st) {
    case MP_BUS_CONNECTED:
        p->connected++;
        break;
    case MP_BUS_DISCONNECTED:
        p->disconnected++;
        break;
    case MP_BUS_RECONNECTED:
        p->reconnected++;
        break;
    case MP_BUS_LOST:
        p->lost++;
        break;
    case MP_BUS_CLOSED:
        p->closed++;
        break;
    }
}

static void on_data(void *ud, const void *data, size_t len)
{
    peer_t *p = ud;
    p->got++;
    if (len == 4) {
        uint32_t v;
        memcpy(&v, data, 4);
        if (v != p->next)
            p->out_of_order++;
        p->next = v + 1;
    } else if (len <= sizeof p->bin) {
        memcpy(p->bin, data, len);
        p->bin_len = len;
    }
}

static void on_ping(void *ud, const void *data, size_t len)
{
    (void)data;
    (void)len;
    ((peer_t *)ud)->pings++;
}

static void peer_open(uv_loop_t *loop, peer_t *p, const char *url, unsigned node)
{
    char err[256] = "";
    memset(p, 0, sizeof *p);
    p->bus = mp_bus_open(loop, url, node, err, sizeof err);
    if (p->bus == NULL)
        fail_msg("mp_bus_open: %s", err);
    mp_bus_on_state(p->bus, on_state, p);
    assert_int_equal(mp_bus_subscribe(p->bus, "t.data", on_data, p), MP_OK);
    assert_int_equal(mp_bus_subscribe(p->bus, "t.ping", on_ping, p), MP_OK);
}

/* The subscriber's SUB and the publisher's PUB travel on two connections, so
 * a first message may reach the server before the subscription does: ping
 * until one arrives (a real event, bounded by the wait). */
typedef struct ping_ctx {
    peer_t *from, *to;
    uint64_t last_ms;
    uv_loop_t *loop;
} ping_ctx_t;

static bool ping_step(void *ud)
{
    ping_ctx_t *c = ud;
    if (c->to->pings > 0)
        return true;
    if (uv_now(c->loop) >= c->last_ms + 20) {
        c->last_ms = uv_now(c->loop);
        (void)mp_bus_publish(c->from->bus, "t.ping", "p", 1);
    }
    return false;
}

static void wait_route(uv_loop_t *loop, peer_t *from, peer_t *to)
{
    to->pings = 0;
    ping_ctx_t c = {from, to, 0, loop};
    MPU_WAIT_UNTIL(loop, ping_step, &c);
}

static void send_ordered(uv_loop_t *loop, peer_t *from, peer_t *to, int n)
{
    int base = to->got;
    to->next = 0;
    to->out_of_order = 0;
    for (uint32_t i = 0; i < (uint32_t)n; i++)
        assert_int_equal(mp_bus_publish(from->bus, "t.data", &i, 4), MP_OK);
    MPU_WAIT(loop, &to->got, base + n);
    assert_int_equal(to->out_of_order, 0);
    assert_int_equal(to->next, (uint32_t)n);
}

static void close_all(uv_loop_t *loop, peer_t *a, peer_t *b)
{
    mp_bus_close(a->bus);
    mp_bus_close(b->bus);
    MPU_RUN_IDLE(loop);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    mpu_nats_t srv = {0};
    assert_int_equal(mpu_nats_start(&srv, 0), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    peer_t a, b;
    peer_open(&loop, &a, srv.url, 1);
    peer_open(&loop, &b, srv.url, 2);
    MPU_WAIT(&loop, &a.connected, 1);
    MPU_WAIT(&loop, &b.connected, 1);
    assert_true(mp_bus_connected(a.bus));

    wait_route(&loop, &a, &b);
    send_ordered(&loop, &a, &b, N_ORDERED);
    /* No echo: a publisher never receives its own messages. */
    assert_int_equal(a.got, 0);
    wait_route(&loop, &b, &a);
    /* Bytes travel as they are, NUL and high bytes included. */
    unsigned char bin[] = {0, 1, 2, 0xff, 0, '{', '"'};
    int before = a.got;
    assert_int_equal(mp_bus_publish(b.bus, "t.data", bin, sizeof bin), MP_OK);
    MPU_WAIT(&loop, &a.got, before + 1);
    assert_int_equal(a.bin_len, sizeof bin);
    assert_memory_equal(a.bin, bin, sizeof bin);

    /* Subjects longer than the bus takes are refused, not cut. */
    char longsub[MP_BUS_SUBJECT_MAX + 2];
    memset(longsub, 'x', sizeof longsub - 1);
    longsub[sizeof longsub - 1] = '\0';
    assert_int_equal(mp_bus_publish(a.bus, longsub, "x", 1), MP_ERR_BAD_REQUEST);

    uint64_t pub = 0, recv = 0;
    mp_bus_stats(a.bus, &pub, &recv);
    assert_true(pub >= N_ORDERED);
    assert_int_equal(a.lost + b.lost, 0);
    assert_int_equal(mp_bus_take_dropped(a.bus), 0);

    /* Messages still queued at close are sent before it returns. */
    close_all(&loop, &a, &b);
    mpu_nats_stop(&srv);
}

static void test_reconnect(void **state)
{
    (void)state;
    mpu_nats_t srv = {0};
    assert_int_equal(mpu_nats_start(&srv, 0), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    peer_t a, b;
    peer_open(&loop, &a, srv.url, 1);
    peer_open(&loop, &b, srv.url, 2);
    MPU_WAIT(&loop, &a.connected, 1);
    MPU_WAIT(&loop, &b.connected, 1);
    wait_route(&loop, &a, &b);
    send_ordered(&loop, &a, &b, 100);

    for (int round = 1; round <= 2; round++) {
        mpu_nats_kill9(&srv);
        MPU_WAIT(&loop, &a.disconnected, round);
        MPU_WAIT(&loop, &b.disconnected, round);
        assert_false(mp_bus_connected(a.bus));
        /* Publishing while disconnected neither blocks nor fails: libnats
         * keeps it for the reconnect. */
        uint32_t v = 0;
        assert_int_equal(mp_bus_publish(a.bus, "t.ping", &v, 4), MP_OK);
        assert_int_equal(mpu_nats_start(&srv, srv.port), 0);
        MPU_WAIT(&loop, &a.reconnected, round);
        MPU_WAIT(&loop, &b.reconnected, round);
        assert_true(mp_bus_connected(a.bus));
        assert_true(mp_bus_connected(b.bus));
        /* Subscriptions came back with the connection. */
        wait_route(&loop, &a, &b);
        send_ordered(&loop, &a, &b, 100);
        wait_route(&loop, &b, &a);
    }
    assert_int_equal(a.connected, 1);
    close_all(&loop, &a, &b);
    mpu_nats_stop(&srv);
}

/* No server yet: open succeeds and reports CONNECTED once one starts. */
static void test_connect_later(void **state)
{
    (void)state;
    int port = mpu_free_port();
    assert_true(port > 0);
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
    uv_loop_t loop;
    uv_loop_init(&loop);
    peer_t a, b;
    peer_open(&loop, &a, url, 1);
    peer_open(&loop, &b, url, 2);
    assert_false(mp_bus_connected(a.bus));
    /* Publishing before the first connection is fine too. */
    assert_int_equal(mp_bus_publish(a.bus, "t.ping", "x", 1), MP_OK);
    mpu_nats_t srv = {0};
    assert_int_equal(mpu_nats_start(&srv, port), 0);
    MPU_WAIT(&loop, &a.connected, 1);
    MPU_WAIT(&loop, &b.connected, 1);
    wait_route(&loop, &a, &b);
    send_ordered(&loop, &a, &b, 10);
    assert_int_equal(a.reconnected + a.disconnected, 0);
    close_all(&loop, &a, &b);
    mpu_nats_stop(&srv);
}

/* The password travels in nats_url; a bus without it is refused by the
 * server and says so with MP_BUS_CLOSED (libnats does not retry that). */
static void test_password(void **state)
{
    (void)state;
    mpu_nats_t srv = {.user = "magpie", .pass = "s3cret-Pass"};
    assert_int_equal(mpu_nats_start(&srv, 0), 0);
    char with[128];
    snprintf(with, sizeof with, "nats://%s:%s@127.0.0.1:%d", srv.user, srv.pass, srv.port);
    uv_loop_t loop;
    uv_loop_init(&loop);
    peer_t a, b, anon;
    peer_open(&loop, &anon, srv.url, 3);
    peer_open(&loop, &a, with, 1);
    peer_open(&loop, &b, with, 2);
    MPU_WAIT(&loop, &a.connected, 1);
    MPU_WAIT(&loop, &b.connected, 1);
    wait_route(&loop, &a, &b);
    send_ordered(&loop, &a, &b, 10);
    MPU_WAIT(&loop, &anon.closed, 1);
    assert_false(mp_bus_connected(anon.bus));
    assert_int_equal(anon.connected, 0);
    assert_int_equal(anon.got, 0);
    mp_bus_close(anon.bus);
    close_all(&loop, &a, &b);
    mpu_nats_stop(&srv);
}

static void test_bad_url(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[256] = "";
    assert_null(mp_bus_open(&loop, " , ", 1, err, sizeof err));
    assert_non_null(strstr(err, "nats_url"));
    MPU_RUN_IDLE(&loop);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_reconnect),
        cmocka_unit_test(test_connect_later), cmocka_unit_test(test_password),
        cmocka_unit_test(test_bad_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
