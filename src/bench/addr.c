/* Address parsing for the bench: the server URL and --source-ips ranges. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_int.h"
#include "util/alloc.h"

static int parse_one(const char *url, mp_bench_opts_t *o, char *err, size_t errlen)
{
    const char *p = url;
    o->tls = false;
    if (strncmp(p, "http://", 7) == 0) {
        p += 7;
    } else if (strncmp(p, "https://", 8) == 0) {
        o->tls = true;
        p += 8;
    } else if (strstr(p, "://") != NULL) {
        snprintf(err, errlen, "--url: only http:// and https:// are supported: %s", url);
        return -1;
    }
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= sizeof(o->host)) {
        snprintf(err, errlen, "--url: bad host in %s", url);
        return -1;
    }
    memcpy(o->host, p, hl);
    o->host[hl] = '\0';
    o->port = o->tls ? 443 : 80;
    if (p[hl] == ':') {
        char *end;
        long port = strtol(p + hl + 1, &end, 10);
        if (end == p + hl + 1 || (*end != '\0' && *end != '/') || port < 1 || port > 65535) {
            snprintf(err, errlen, "--url: bad port in %s", url);
            return -1;
        }
        o->port = (int)port;
    }
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(o->host, NULL, &hints, &res);
    if (rc != 0 || res == NULL) {
        snprintf(err, errlen, "--url: cannot resolve %s: %s", o->host, gai_strerror(rc));
        return -1;
    }
    memcpy(&o->server, res->ai_addr, sizeof(o->server));
    o->server.sin_port = htons((uint16_t)o->port);
    freeaddrinfo(res);
    snprintf(o->hostport, sizeof(o->hostport), "%s:%d", o->host, o->port);
    return 0;
}

int mp_bench__parse_url(const char *url, mp_bench_opts_t *o, char *err, size_t errlen)
{
    char one[256];
    o->n_servers = 0;
    for (const char *p = url;;) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof one) {
            snprintf(err, errlen, "--url: expected URL[,URL...]: %s", url);
            return -1;
        }
        if (o->n_servers == MP_BENCH_URLS_MAX) {
            snprintf(err, errlen, "--url: at most %d servers", MP_BENCH_URLS_MAX);
            return -1;
        }
        memcpy(one, p, n);
        one[n] = '\0';
        mp_bench_opts_t t = {0};
        if (parse_one(one, o->n_servers == 0 ? o : &t, err, errlen) != 0)
            return -1;
        const mp_bench_opts_t *src = o->n_servers == 0 ? o : &t;
        o->servers[o->n_servers] = src->server;
        snprintf(o->hostports[o->n_servers], sizeof o->hostports[0], "%s", src->hostport);
        snprintf(o->hosts[o->n_servers], sizeof o->hosts[0], "%s", src->host);
        o->tls_at[o->n_servers] = src->tls;
        o->n_servers++;
        if (p[n] == '\0')
            return 0;
        p += n + 1;
    }
}

static int parse_ip(const char *s, size_t n, uint32_t *out)
{
    char buf[INET_ADDRSTRLEN];
    struct in_addr a;
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, &a) != 1)
        return -1;
    *out = ntohl(a.s_addr);
    return 0;
}

int mp_bench__parse_sources(const char *spec, struct sockaddr_in **out, unsigned *n, char *err,
                            size_t errlen)
{
    const char *dash = strchr(spec, '-');
    uint32_t lo, hi;
    if (parse_ip(spec, dash ? (size_t)(dash - spec) : strlen(spec), &lo) != 0 ||
        parse_ip(dash ? dash + 1 : spec, dash ? strlen(dash + 1) : strlen(spec), &hi) != 0 ||
        hi < lo || hi - lo >= 65536) {
        snprintf(err, errlen,
                 "--source-ips: expected A.B.C.D or A.B.C.D-A.B.C.E (at most 65536): %s", spec);
        return -1;
    }
    *n = hi - lo + 1;
    *out = mp_calloc(*n, sizeof(**out));
    for (uint32_t i = 0; i < *n; i++) {
        (*out)[i].sin_family = AF_INET;
        (*out)[i].sin_addr.s_addr = htonl(lo + i);
        (*out)[i].sin_port = 0;
    }
    return 0;
}
