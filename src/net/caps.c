/* Connection caps: the server-wide connection limit, connections and new
 * connections a second per client address, authenticated WebSockets per
 * user and per device, and the budget for request bodies being buffered.
 * They keep one client from taking the memory, file descriptors or sessions
 * that every other client needs.
 *
 * Behind a reverse proxy every connection comes from the proxy: connections
 * from a trusted_proxies address are not capped per address (the proxy
 * caps its own clients), and the client address of their requests, for the
 * per-address limits of the routes and for the log, is read from
 * X-Forwarded-For. Only then: a header from anyone else is ignored, or any
 * client could pick its own address. */
#include <assert.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "net/conn.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/metrics.h"

/* Descriptors kept for everything but client sockets: the database and its
 * WAL files for the writer and the readers, the listener, libuv's internal
 * descriptors, logs. */
#define FD_RESERVE 128

/* Addresses whose new-connection buckets are kept at once (a flood of
 * fresh addresses makes the limiter more lenient, never unbounded). */
#define CONN_RATE_KEYS 65536

void mp_caps__init(mp_server_t *srv)
{
    srv->max_conns = srv->cfg->max_connections;
    mp_map_init(&srv->per_ip);
    mp_map_init(&srv->ws_per_user);
    mp_map_init(&srv->ws_per_device);
    unsigned rate = srv->cfg->conn_rate_per_ip;
    srv->conn_rate = rate ? mp_ratelimit_new(rate, rate, CONN_RATE_KEYS) : NULL;
    char err[160];
    int n = mp_cidr_parse_list(srv->cfg->trusted_proxies, srv->trusted, MP_CONFIG_PROXIES_MAX, err,
                               sizeof err);
    MP_ASSERT(n >= 0); /* the config refused a bad list */
    srv->ntrusted = n > 0 ? (size_t)n : 0;
}

void mp_caps__free(mp_server_t *srv)
{
    /* Every count belongs to a live connection: none may be left over. */
    assert(srv->conns != NULL || mp_map_len(&srv->per_ip) == 0);
    assert(srv->conns != NULL || mp_map_len(&srv->ws_per_user) == 0);
    assert(srv->conns != NULL || mp_map_len(&srv->ws_per_device) == 0);
    mp_map_free(&srv->per_ip);
    mp_map_free(&srv->ws_per_user);
    mp_map_free(&srv->ws_per_device);
    mp_ratelimit_free(srv->conn_rate);
    srv->conn_rate = NULL;
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
static void refuse(mp_conn_t *c, mp_err_t err, const char *reason, const char *msg,
                   unsigned retry_after_s)
{
    char body[256], out[600], retry[40] = "";
    int bl = snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
                      mp_err_code(err), msg);
    if (retry_after_s > 0)
        snprintf(retry, sizeof retry, "Retry-After: %u\r\n", retry_after_s);
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     "%sConnection: close\r\n\r\n%s",
                     mp_err_status(err), reason, bl, retry, body);
    /* On a TLS listener the answer would need a handshake first: spending
     * one on a connection refused for load would defeat the point, so the
     * socket just closes. */
    if (c->srv->tls_ctx == NULL) {
        uv_os_fd_t fd;
        if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            (void)recv(fd, c->srv->rbuf, MP_NET_RBUF, MSG_DONTWAIT);
        uv_buf_t buf = uv_buf_init(out, (unsigned)n);
        (void)uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
    }
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
               "the server has too many connections, retry later", 1);
        return false;
    }
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return true; /* already gone: the first read will say so */
    uint8_t addr[16];
    if (srv->ntrusted > 0 && mp_cidr_addr_of((const struct sockaddr *)&ss, addr) &&
        mp_cidr_match(srv->trusted, srv->ntrusted, addr)) {
        c->proxied = true;
        return true;
    }
    uint64_t key = mp_caps__ip_key((const struct sockaddr *)&ss);
    if (key == 0)
        return true;
    int64_t wait_ms = 0;
    if (srv->conn_rate != NULL && !mp_ratelimit_take(srv->conn_rate, key, mp_mono_ms(), &wait_ms)) {
        refuse(c, MP_ERR_RATE_LIMITED, "Too Many Requests",
               "too many new connections from this address", (unsigned)((wait_ms + 999) / 1000));
        return false;
    }
    void **slot = mp_map_upsert(&srv->per_ip, key, NULL);
    uintptr_t n = (uintptr_t)*slot;
    unsigned max = srv->cfg->max_connections_per_ip;
    if (max && n >= max) {
        refuse(c, MP_ERR_RATE_LIMITED, "Too Many Requests",
               "too many connections from this address", 1);
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

const char *mp_caps__ws_refusal(const mp_server_t *srv, const mp_principal_t *who)
{
    unsigned max = srv->cfg->max_ws_per_user;
    if (max != 0 && (uintptr_t)mp_map_get(&srv->ws_per_user, who->user_id) >= max)
        return "too many open WebSockets for this user";
    max = srv->cfg->max_ws_per_device;
    if (max != 0 && (uintptr_t)mp_map_get(&srv->ws_per_device, who->device_id) >= max)
        return "too many open WebSockets for this device";
    return NULL;
}

static void count_up(mp_map_t *m, uint64_t key)
{
    void **slot = mp_map_upsert(m, key, NULL);
    *slot = (void *)((uintptr_t)*slot + 1);
}

static void count_down(mp_map_t *m, uint64_t key)
{
    void **slot = mp_map_find(m, key);
    /* Exactly one close per open: a missing or zero count is a double close. */
    assert(slot != NULL && (uintptr_t)*slot > 0);
    if (slot != NULL && (uintptr_t)*slot > 1)
        *slot = (void *)((uintptr_t)*slot - 1);
    else
        mp_map_del(m, key, NULL);
}

void mp_caps__ws_open(mp_server_t *srv, const mp_principal_t *who)
{
    count_up(&srv->ws_per_user, who->user_id);
    count_up(&srv->ws_per_device, who->device_id);
}

void mp_caps__ws_close(mp_server_t *srv, const mp_principal_t *who)
{
    count_down(&srv->ws_per_user, who->user_id);
    count_down(&srv->ws_per_device, who->device_id);
}

uint64_t mp_caps__addr_key(const uint8_t addr[16])
{
    struct sockaddr_in6 s = {.sin6_family = AF_INET6};
    memcpy(&s.sin6_addr, addr, 16);
    return mp_caps__ip_key((const struct sockaddr *)&s);
}

/* One entry of X-Forwarded-For (between commas), trimmed, as an address. A
 * port or brackets ("[::1]:443", "1.2.3.4:80") are not part of the standard
 * form, but some proxies write them: taken off. */
static bool forwarded_entry(const char *s, size_t len, uint8_t out[16])
{
    while (len > 0 && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *p = buf;
    if (*p == '[') {
        char *end = strchr(p, ']');
        if (end == NULL)
            return false;
        *end = '\0';
        p++;
    } else if (strchr(p, ':') == strrchr(p, ':') && strchr(p, '.') != NULL) {
        char *colon = strchr(p, ':'); /* IPv4 with a port */
        if (colon != NULL)
            *colon = '\0';
    }
    return mp_cidr_addr_parse(p, out);
}

bool mp_caps__forwarded(const mp_http_req_t *req, uint8_t addr[16])
{
    if (req->conn == NULL || !req->conn->proxied)
        return false;
    const mp_server_t *srv = req->srv;
    const char *xff = mp_http_req_header(req, "X-Forwarded-For");
    if (xff == NULL)
        return false;
    /* Right to left: each trusted proxy appended the address it saw; the
     * first one that is not a trusted proxy is the client. What lies left of
     * it was written by the client and proves nothing. */
    size_t end = strlen(xff);
    bool any = false;
    while (end > 0) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        uint8_t a[16];
        if (!forwarded_entry(xff + start, end - start, a))
            return any; /* garbage: the last good proxy hop stands */
        memcpy(addr, a, 16);
        any = true;
        if (!mp_cidr_match(srv->trusted, srv->ntrusted, a))
            return true;
        end = start > 0 ? start - 1 : 0;
    }
    return any;
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
