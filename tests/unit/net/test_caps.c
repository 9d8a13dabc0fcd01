/* Connection caps and the Host allow-list, below the socket layer: the
 * per-address key (IPv4, IPv6 /64), Host matching on loopback and public
 * listeners, and the request-body budget through fake connections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "fixture.h"
#include "net/conn.h"
#include "net/testing.h"
#include "util/log.h"

static uint64_t key4(const char *ip)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
    return mp_caps__ip_key((struct sockaddr *)&sa);
}

static uint64_t key6(const char *ip)
{
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
    assert_int_equal(inet_pton(AF_INET6, ip, &sa.sin6_addr), 1);
    return mp_caps__ip_key((struct sockaddr *)&sa);
}

static void test_ip_key(void **state)
{
    (void)state;
    assert_true(key4("127.0.0.1") != 0);
    assert_true(key4("127.0.0.1") != key4("127.0.0.2"));
    assert_true(key4("0.0.0.0") != 0);
    /* An IPv4 client on a dual-stack listener is the same client. */
    assert_true(key6("::ffff:10.1.2.3") == key4("10.1.2.3"));
    /* One IPv6 client usually owns a /64: it counts as one address. */
    assert_true(key6("2001:db8:1:2::1") == key6("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    assert_true(key6("2001:db8:1:2::1") != key6("2001:db8:1:3::1"));
    assert_true(key6("::1") != 0);
    assert_true(key6("::1") != key4("0.0.0.1"));
    assert_true(key6("ffff:ffff::1") == key6("ffff:ffff::2")); /* not a unicast source */
    assert_true(key6("2001:db8::1") != key4("32.1.13.184"));
    struct sockaddr sa = {.sa_family = AF_UNIX};
    assert_true(mp_caps__ip_key(&sa) == 0);
}

static void test_host_allowed(void **state)
{
    (void)state;
    mp_config_t cfg;
    mp_config_defaults(&cfg); /* listen 127.0.0.1, no list */
    assert_true(mp_http__host_allowed(&cfg, "anything.example:1"));
    assert_true(mp_http__host_allowed(&cfg, NULL));

    snprintf(cfg.allowed_hosts, sizeof cfg.allowed_hosts,
             " chat.example ,api.example:8443,[2001:db8::5]");
    assert_true(mp_http__host_allowed(&cfg, "chat.example"));
    assert_true(mp_http__host_allowed(&cfg, "Chat.Example:80"));
    assert_true(mp_http__host_allowed(&cfg, "chat.example."));
    assert_true(mp_http__host_allowed(&cfg, "api.example:8443"));
    assert_false(mp_http__host_allowed(&cfg, "api.example"));
    assert_false(mp_http__host_allowed(&cfg, "api.example:8444"));
    assert_true(mp_http__host_allowed(&cfg, "[2001:db8::5]:8080"));
    assert_false(mp_http__host_allowed(&cfg, "evil.example"));
    assert_false(mp_http__host_allowed(&cfg, "chat.example.evil.example"));
    assert_false(mp_http__host_allowed(&cfg, "chat.exampl"));
    assert_false(mp_http__host_allowed(&cfg, NULL));
    assert_false(mp_http__host_allowed(&cfg, ""));
    assert_false(mp_http__host_allowed(&cfg, "chat.example:"));
    assert_false(mp_http__host_allowed(&cfg, "chat.example:80x"));
    assert_false(mp_http__host_allowed(&cfg, "[2001:db8::5"));
    /* Loopback names pass on a loopback listener... */
    assert_true(mp_http__host_allowed(&cfg, "localhost:8080"));
    assert_true(mp_http__host_allowed(&cfg, "127.0.0.1:8080"));
    assert_true(mp_http__host_allowed(&cfg, "127.1.2.3"));
    assert_true(mp_http__host_allowed(&cfg, "[::1]:8080"));
    assert_false(mp_http__host_allowed(&cfg, "localhost.evil.example"));
    snprintf(cfg.listen_host, sizeof cfg.listen_host, "::1");
    assert_true(mp_http__host_allowed(&cfg, "localhost"));
    /* ...and only there: on a public listener the list is the whole truth. */
    snprintf(cfg.listen_host, sizeof cfg.listen_host, "0.0.0.0");
    assert_false(mp_http__host_allowed(&cfg, "localhost:8080"));
    assert_false(mp_http__host_allowed(&cfg, "127.0.0.1:8080"));
    assert_false(mp_http__host_allowed(&cfg, "[::1]:8080"));
    assert_true(mp_http__host_allowed(&cfg, "chat.example"));
}

static void feed(mp_conn_t *c, const char *s)
{
    mp_net__fake_feed(c, s, strlen(s));
}

static void test_body_budget(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    mp_config_t cfg;
    mp_config_defaults(&cfg);
    cfg.max_body = 2000;
    cfg.max_body_total = 3000;
    mp_server_t *srv = mp_server_new(&loop, &cfg, (const mp_route_t[]){{0}}, NULL, NULL);

    /* A declared length is reserved whole, before any body byte. */
    mp_conn_t *a = mp_net__fake_new(srv);
    feed(a, "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 2000\r\n\r\n0123456789");
    assert_int_equal(srv->body_total, 2000);
    assert_int_equal(mp_net__fake_output(a, NULL)[0], '\0');

    /* Another that does not fit gets 503 and is not buffered. */
    mp_conn_t *b = mp_net__fake_new(srv);
    feed(b, "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\nabc");
    assert_non_null(strstr(mp_net__fake_output(b, NULL), "HTTP/1.1 503"));
    assert_non_null(strstr(mp_net__fake_output(b, NULL), "\"unavailable\""));
    assert_true(mp_net__fake_closing(b));
    assert_int_equal(srv->body_total, 2000);

    /* A chunked body reserves as its buffer grows (1024 bytes for the first
     * 1000), which no longer fits. */
    mp_conn_t *d = mp_net__fake_new(srv);
    char chunk[1000];
    memset(chunk, 'x', sizeof chunk);
    feed(d, "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n");
    mp_net__fake_feed(d, chunk, sizeof chunk);
    assert_non_null(strstr(mp_net__fake_output(d, NULL), "HTTP/1.1 503"));
    assert_int_equal(srv->body_total, 2000);

    /* Freed requests give their share back. */
    mp_net__fake_free(a);
    mp_net__fake_free(b);
    mp_net__fake_free(d);
    assert_int_equal(srv->body_total, 0);
    mp_conn_t *e = mp_net__fake_new(srv);
    feed(e, "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n");
    mp_net__fake_feed(e, chunk, sizeof chunk);
    assert_int_equal(srv->body_total, 1024);
    feed(e, "\r\n3e8\r\n");
    mp_net__fake_feed(e, chunk, sizeof chunk);
    assert_int_equal(srv->body_total, 2000); /* capped at max_body, not 2048 */
    assert_int_equal(mp_net__fake_output(e, NULL)[0], '\0');
    mp_net__fake_free(e);
    assert_int_equal(srv->body_total, 0);
    mp_server_shutdown(srv, NULL, NULL);
    MPU_RUN_IDLE(&loop);
    mp_server_free(srv);
    uv_loop_close(&loop);
}

int main(void)
{
    mp_log_set_level(MP_LOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip_key),
        cmocka_unit_test(test_host_allowed),
        cmocka_unit_test(test_body_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
