/* Unit tests of the bench's address parsing and of source-address binding:
 * connections made with --source-ips really leave from those addresses. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

/* src/bench is linked into the magpie binary, not into magpie_core, which is
 * what unit tests link; compile the units under test into this binary. */
#include "bench/bench_int.h"
#include "util/alloc.h"
#include "bench/conn.h"

static void test_parse_sources(void **state)
{
    (void)state;
    struct sockaddr_in *a = NULL;
    unsigned n = 0;
    char err[256], ip[INET_ADDRSTRLEN];
    assert_int_equal(mp_bench__parse_sources("127.0.0.2-127.0.0.20", &a, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 19);
    assert_string_equal(inet_ntop(AF_INET, &a[0].sin_addr, ip, sizeof(ip)), "127.0.0.2");
    assert_string_equal(inet_ntop(AF_INET, &a[18].sin_addr, ip, sizeof(ip)), "127.0.0.20");
    assert_int_equal(a[5].sin_port, 0);
    mp_free(a);
    assert_int_equal(mp_bench__parse_sources("127.0.0.9", &a, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    mp_free(a);
    /* Crossing an octet boundary is a plain range too. */
    assert_int_equal(mp_bench__parse_sources("10.0.0.250-10.0.1.5", &a, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 12);
    mp_free(a);
    static const char *bad[] = {"",    "127.0.0.5-127.0.0.2",   "127.0.0",          "127.0.0.1-",
                                "x-y", "127.0.0.1-127.0.0.256", "10.0.0.0-10.2.0.0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        a = NULL;
        if (mp_bench__parse_sources(bad[i], &a, &n, err, sizeof(err)) != -1)
            fail_msg("accepted '%s'", bad[i]);
        assert_non_null(strstr(err, "--source-ips"));
        assert_null(a);
    }
}

static void test_parse_url(void **state)
{
    (void)state;
    mp_bench_opts_t o;
    char err[256];
    memset(&o, 0, sizeof(o));
    assert_int_equal(mp_bench__parse_url("http://127.0.0.1:8080", &o, err, sizeof(err)), 0);
    assert_string_equal(o.host, "127.0.0.1");
    assert_int_equal(o.port, 8080);
    assert_string_equal(o.hostport, "127.0.0.1:8080");
    assert_int_equal(ntohs(o.server.sin_port), 8080);
    assert_int_equal(mp_bench__parse_url("localhost:9/ignored", &o, err, sizeof(err)), 0);
    assert_int_equal(o.port, 9);
    assert_int_equal(ntohl(o.server.sin_addr.s_addr), 0x7f000001);
    assert_false(o.tls);
    /* https: TLS, port 443 unless given. */
    assert_int_equal(mp_bench__parse_url("https://localhost", &o, err, sizeof(err)), 0);
    assert_true(o.tls);
    assert_int_equal(o.port, 443);
    assert_string_equal(o.hostport, "localhost:443");
    assert_int_equal(mp_bench__parse_url("wss://127.0.0.1:1", &o, err, sizeof(err)), -1);
    assert_int_equal(mp_bench__parse_url("http://127.0.0.1:0", &o, err, sizeof(err)), -1);
    assert_int_equal(mp_bench__parse_url("http://127.0.0.1:99999", &o, err, sizeof(err)), -1);
    assert_int_equal(mp_bench__parse_url("http://:80", &o, err, sizeof(err)), -1);
    assert_int_equal(o.n_servers, 0);

    /* The nodes of a cluster: the first is also the one server. */
    assert_int_equal(mp_bench__parse_url("http://127.0.0.1:8081,http://127.0.0.2:8082,127.0.0.3:83",
                                         &o, err, sizeof(err)),
                     0);
    assert_int_equal(o.n_servers, 3);
    assert_string_equal(o.hostport, "127.0.0.1:8081");
    assert_string_equal(o.hostports[0], "127.0.0.1:8081");
    assert_string_equal(o.hostports[2], "127.0.0.3:83");
    assert_int_equal(ntohs(o.servers[1].sin_port), 8082);
    assert_int_equal(ntohl(o.servers[1].sin_addr.s_addr), 0x7f000002);
    assert_int_equal(mp_bench__parse_url("http://127.0.0.1:1,", &o, err, sizeof(err)), -1);
    assert_int_equal(mp_bench__parse_url("http://127.0.0.1:1,,127.0.0.1:2", &o, err, sizeof(err)),
                     -1);
    assert_int_equal(mp_bench__parse_url("127.0.0.1:1,ftp://127.0.0.1:2", &o, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "ftp://127.0.0.1:2"));
    /* Each server keeps its scheme and the name its certificate must carry. */
    assert_int_equal(
        mp_bench__parse_url("https://localhost:8443,http://127.0.0.2:82", &o, err, sizeof(err)), 0);
    assert_int_equal(o.n_servers, 2);
    assert_true(o.tls);
    assert_true(o.tls_at[0]);
    assert_false(o.tls_at[1]);
    assert_string_equal(o.hosts[0], "localhost");
    assert_string_equal(o.hosts[1], "127.0.0.2");
}

/* A listener that records where each connection came from and closes it:
 * the bench connection must then report its failure through on_close. */
typedef struct fixture {
    uv_loop_t loop;
    uv_tcp_t listener;
    char seen[4][INET_ADDRSTRLEN];
    unsigned accepted, closed, opened;
    char why[4][160];
} fixture_t;

static void on_accepted_closed(uv_handle_t *h)
{
    mp_free(h);
}

static void on_conn(uv_stream_t *server, int status)
{
    fixture_t *f = server->data;
    assert_int_equal(status, 0);
    uv_tcp_t *c = mp_calloc(1, sizeof(*c));
    uv_tcp_init(&f->loop, c);
    assert_int_equal(uv_accept(server, (uv_stream_t *)c), 0);
    struct sockaddr_in peer;
    int len = sizeof(peer);
    assert_int_equal(uv_tcp_getpeername(c, (struct sockaddr *)&peer, &len), 0);
    inet_ntop(AF_INET, &peer.sin_addr, f->seen[f->accepted++ % 4], INET_ADDRSTRLEN);
    uv_close((uv_handle_t *)c, on_accepted_closed);
}

static void t_open(mp_bench_conn_t *c)
{
    fixture_t *f = mp_bench_conn_ud(c);
    f->opened++;
}

static void t_frame(mp_bench_conn_t *c, json_t *j)
{
    (void)c;
    (void)j;
}

static void t_close(mp_bench_conn_t *c, int opened, const char *why)
{
    (void)opened;
    fixture_t *f = mp_bench_conn_ud(c);
    snprintf(f->why[f->closed++ % 4], 160, "%s", why ? why : "(null)");
    if (f->closed == 3)
        uv_close((uv_handle_t *)&f->listener, NULL);
}

static const mp_bench_conn_cbs_t tcbs = {t_open, t_frame, t_close, NULL};

static void test_source_addresses(void **state)
{
    (void)state;
    fixture_t f;
    memset(&f, 0, sizeof(f));
    uv_loop_init(&f.loop);
    uv_tcp_init(&f.loop, &f.listener);
    f.listener.data = &f;
    struct sockaddr_in any, server;
    uv_ip4_addr("127.0.0.1", 0, &any);
    assert_int_equal(uv_tcp_bind(&f.listener, (struct sockaddr *)&any, 0), 0);
    int len = sizeof(server);
    uv_tcp_getsockname(&f.listener, (struct sockaddr *)&server, &len);
    assert_int_equal(uv_listen((uv_stream_t *)&f.listener, 16, on_conn), 0);

    struct sockaddr_in *src = NULL;
    unsigned n;
    char err[128];
    assert_int_equal(mp_bench__parse_sources("127.0.0.2-127.0.0.3", &src, &n, err, sizeof(err)), 0);
    mp_bench_conn_new(&f.loop, &server, &src[0], "127.0.0.1", NULL, "tok", &tcbs, &f);
    mp_bench_conn_new(&f.loop, &server, &src[1], "127.0.0.1", NULL, "tok", &tcbs, &f);
    mp_bench_conn_new(&f.loop, &server, NULL, "127.0.0.1", NULL, "tok", &tcbs, &f);
    MPU_RUN_IDLE(&f.loop);
    assert_int_equal(uv_loop_close(&f.loop), 0);
    mp_free(src);

    assert_int_equal(f.accepted, 3);
    assert_int_equal(f.closed, 3);
    assert_int_equal(f.opened, 0);
    int n2 = 0, n3 = 0, n1 = 0;
    for (int i = 0; i < 3; i++) {
        n1 += strcmp(f.seen[i], "127.0.0.1") == 0;
        n2 += strcmp(f.seen[i], "127.0.0.2") == 0;
        n3 += strcmp(f.seen[i], "127.0.0.3") == 0;
        /* Closed before the upgrade answer: a reason, never silence. */
        assert_string_not_equal(f.why[i], "(null)");
    }
    assert_int_equal(n1, 1);
    assert_int_equal(n2, 1);
    assert_int_equal(n3, 1);
}

static void test_connect_refused_is_reported(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    fixture_t f;
    memset(&f, 0, sizeof(f));
    struct sockaddr_in dead;
    uv_ip4_addr("127.0.0.1", 1, &dead); /* nothing listens on port 1 */
    mp_bench_conn_new(&loop, &dead, NULL, "127.0.0.1:1", NULL, "tok", &tcbs, &f);
    MPU_RUN_IDLE(&loop);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(f.closed, 1);
    assert_non_null(strstr(f.why[0], "connect"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_sources),
        cmocka_unit_test(test_parse_url),
        cmocka_unit_test(test_source_addresses),
        cmocka_unit_test(test_connect_refused_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
