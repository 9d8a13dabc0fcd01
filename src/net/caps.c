/* Connection caps: the server-wide connection limit, connections per client
 * address, authenticated WebSockets per user, and the budget for request
 * bodies being buffered. They keep one client from taking the memory, file
 * descriptors or sessions that every other client needs. */
#include <assert.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "net/conn.h"
#include "util/log.h"
#include "util/metrics.h"

/* Descriptors kept for everything but client sockets: the database and its
 * WAL files for the writer and the readers, the listener, libuv's internal
 * descriptors, logs. */
#define FD_RESERVE 128

void mp_caps__init(mp_server_t *srv)
{
    srv->max_conns = srv->cfg->max_connections;
    mp_map_init(&srv->per_ip);
    mp_map_init(&srv->ws_per_user);
}

void mp_caps__free(mp_server_t *srv)
{
    /* Every count belongs to a live connection: none may be left over. */
    assert(srv->conns != NULL || mp_map_len(&srv->per_ip) == 0);
    assert(srv->conns != NULL || mp_map_len(&srv->ws_per_user) == 0);
    mp_map_free(&srv->per_ip);
    mp_map_free(&srv->ws_per_user);
}

void mp_caps__fit_fd_limit(mp_server_t *srv)
{
    unsigned want = srv->cfg->max_connections;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    /* Take as much of the hard limit as the cap needs (all of it for 0). */
    rlim_t need = want ? (rlim_t)want + FD_RESERVE : rl.rlim_max;
    if (rl.rlim_cur != RLIM_INFINITY && need > rl.rlim_cur && rl.rlim_cur < rl.rlim_max) {
        struct rlimit nl = rl;
        nl.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
            rl = nl;
    }
    rlim_t room = rl.rlim_cur > 2 * FD_RESERVE ? rl.rlim_cur - FD_RESERVE : rl.rlim_cur / 2;
    if (room > UINT32_MAX / 2)
        room = UINT32_MAX / 2;
    /* Over the open-file limit accept() itself fails and the store can no
     * longer open files: stop below it, where refusing is still polite. */
    if (want == 0 || want > room) {
        if (want != 0)
            mp_log_warn("net: max_connections lowered from %u to %u: the open-file limit is %llu",
                        want, (unsigned)room, (unsigned long long)rl.rlim_cur);
        srv->max_conns = (unsigned)room;
    } else {
        srv->max_conns = want;
    }
}

uint64_t mp_caps__ip_key(const struct sockaddr *sa)
{
    /* IPv4 addresses sit under ffff:ffff::/32, which is multicast space and
     * never the source of a TCP connection, so they cannot collide with an
     * IPv6 /64 prefix. One IPv6 client usually owns a whole /64. 0 is never a
     * key: it means "not counted". */
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
        return 0xffffffff00000000ULL | ntohl(s->sin_addr.s_addr);
    }
    if (sa->sa_family == AF_INET6) {
        const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(b, mapped, 12) == 0)
            return 0xffffffff00000000ULL | (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
                   (uint32_t)b[14] << 8 | b[15];
        uint64_t k = 0;
        for (int i = 0; i < 8; i++)
            k = k << 8 | b[i];
        return k ? k : 0xff00000000000001ULL; /* ::1 and :: (loopback, unspecified) */
    }
    return 0;
}

/* Answers a connection nobody read from yet and closes it at once: one
 * non-blocking write of a canned response, no state kept. Input that already
 * arrived is read away first, so that the close sends FIN rather than a
 * reset that could destroy the answer in flight. */
static void refuse(mp_conn_t *c, mp_err_t err, const char *reason, const char *msg)
{
    char body[256], out[512];
    int bl = snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
                      mp_err_code(err), msg);
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     "Connection: close\r\n\r\n%s",
                     mp_err_status(err), reason, bl, body);
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
        (void)recv(fd, c->srv->rbuf, MP_NET_RBUF, MSG_DONTWAIT);
    uv_buf_t buf = uv_buf_init(out, (unsigned)n);
    (void)uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
    /* Answered before any request exists, so not in the request counters. */
    if (err == MP_ERR_RATE_LIMITED)
        mp_metrics_inc(MP_MC_RATE_LIMITED_HTTP);
    mp_conn__close(c);
}

bool mp_caps__admit(mp_conn_t *c)
{
    mp_server_t *srv = c->srv;
    /* c is already in nconns. */
    if (srv->max_conns && srv->nconns > srv->max_conns) {
        refuse(c, MP_ERR_UNAVAILABLE, "Service Unavailable",
               "the server has too many connections, retry later");
        return false;
    }
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return true; /* already gone: the first read will say so */
    uint64_t key = mp_caps__ip_key((const struct sockaddr *)&ss);
    if (key == 0)
        return true;
    void **slot = mp_map_upsert(&srv->per_ip, key, NULL);
    uintptr_t n = (uintptr_t)*slot;
    unsigned max = srv->cfg->max_connections_per_ip;
    if (max && n >= max) {
        refuse(c, MP_ERR_RATE_LIMITED, "Too Many Requests",
               "too many connections from this address");
        return false;
    }
    *slot = (void *)(n + 1);
    c->ip_key = key;
    return true;
}

void mp_caps__conn_gone(mp_conn_t *c)
{
    if (c->ip_key == 0)
        return;
    void **slot = mp_map_find(&c->srv->per_ip, c->ip_key);
    assert(slot != NULL && (uintptr_t)*slot > 0);
    if (slot != NULL && (uintptr_t)*slot > 1)
        *slot = (void *)((uintptr_t)*slot - 1);
    else
        mp_map_del(&c->srv->per_ip, c->ip_key, NULL);
    c->ip_key = 0;
}

bool mp_caps__ws_room(const mp_server_t *srv, uint64_t user_id)
{
    unsigned max = srv->cfg->max_ws_per_user;
    return max == 0 || (uintptr_t)mp_map_get(&srv->ws_per_user, user_id) < max;
}

void mp_caps__ws_open(mp_server_t *srv, uint64_t user_id)
{
    void **slot = mp_map_upsert(&srv->ws_per_user, user_id, NULL);
    *slot = (void *)((uintptr_t)*slot + 1);
}

void mp_caps__ws_close(mp_server_t *srv, uint64_t user_id)
{
    void **slot = mp_map_find(&srv->ws_per_user, user_id);
    /* Exactly one close per open: a missing or zero count is a double close. */
    assert(slot != NULL && (uintptr_t)*slot > 0);
    if (slot != NULL && (uintptr_t)*slot > 1)
        *slot = (void *)((uintptr_t)*slot - 1);
    else
        mp_map_del(&srv->ws_per_user, user_id, NULL);
}

bool mp_caps__body_reserve(mp_http_req_t *r, size_t bytes)
{
    if (bytes <= r->body_resv)
        return true;
    mp_server_t *srv = r->srv;
    size_t extra = bytes - r->body_resv;
    size_t max = srv->cfg->max_body_total;
    if (max && (srv->body_total > max || extra > max - srv->body_total))
        return false;
    srv->body_total += extra;
    r->body_resv = bytes;
    return true;
}

void mp_caps__body_release(mp_http_req_t *r)
{
    assert(r->srv->body_total >= r->body_resv);
    r->srv->body_total -= r->body_resv;
    r->body_resv = 0;
}
