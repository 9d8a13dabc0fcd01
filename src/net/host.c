/* The Host allow-list (allowed_hosts), the defence against DNS rebinding: a
 * page on an attacker's name that re-resolves to this server reaches it with
 * the attacker's name in Host, which is not in the list. */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "net/conn.h"

typedef struct {
    const char *name; /* "[::1]" keeps its brackets */
    size_t nlen;
    const char *port; /* NULL when none */
    size_t plen;
} hostport_t;

/* Splits s[0..n) ("name", "name:port", "[v6]", "[v6]:port"). False when the
 * form is wrong. One trailing dot of the name is dropped (same DNS name). */
static bool split(const char *s, size_t n, hostport_t *hp)
{
    size_t nl;
    if (n > 0 && s[0] == '[') {
        const char *end = memchr(s, ']', n);
        if (end == NULL)
            return false;
        nl = (size_t)(end - s) + 1;
    } else {
        const char *colon = memchr(s, ':', n);
        nl = colon ? (size_t)(colon - s) : n;
    }
    hp->name = s;
    hp->nlen = nl;
    hp->port = NULL;
    hp->plen = 0;
    if (nl < n) {
        if (s[nl] != ':' || nl + 1 == n)
            return false;
        hp->port = s + nl + 1;
        hp->plen = n - nl - 1;
        for (size_t i = 0; i < hp->plen; i++)
            if (!isdigit((unsigned char)hp->port[i]))
                return false;
    }
    if (hp->nlen > 1 && s[hp->nlen - 1] == '.')
        hp->nlen--;
    return hp->nlen > 0;
}

static bool is_loopback_ip(const char *s, size_t n)
{
    char buf[64];
    unsigned char a[16];
    if (n >= sizeof buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, a) == 1)
        return a[0] == 127;
    static const unsigned char one[16] = {[15] = 1};
    return inet_pton(AF_INET6, buf, a) == 1 && memcmp(a, one, 16) == 0;
}

static bool is_loopback_name(const hostport_t *hp)
{
    if (hp->nlen == 9 && strncasecmp(hp->name, "localhost", 9) == 0)
        return true;
    if (hp->name[0] == '[')
        return hp->nlen > 2 && is_loopback_ip(hp->name + 1, hp->nlen - 2);
    return is_loopback_ip(hp->name, hp->nlen);
}

bool mp_http__host_allowed(const mp_config_t *cfg, const char *host)
{
    const char *list = cfg->allowed_hosts;
    if (list[strspn(list, " \t,")] == '\0')
        return true; /* no list: any host */
    hostport_t h;
    if (host == NULL || !split(host, strlen(host), &h))
        return false;
    /* On a loopback listener only this machine connects, and nothing can
     * rebind these names: keep http://localhost:PORT working. */
    if (is_loopback_ip(cfg->listen_host, strlen(cfg->listen_host)) && is_loopback_name(&h))
        return true;
    while (*list) {
        list += strspn(list, " \t,");
        size_t n = strcspn(list, ",");
        size_t m = n;
        while (m > 0 && (list[m - 1] == ' ' || list[m - 1] == '\t'))
            m--;
        hostport_t e;
        if (m > 0 && split(list, m, &e) && e.nlen == h.nlen &&
            strncasecmp(e.name, h.name, h.nlen) == 0 &&
            (e.port == NULL ||
             (h.port != NULL && e.plen == h.plen && memcmp(e.port, h.port, h.plen) == 0)))
            return true;
        list += n;
    }
    return false;
}

bool mp_http__host_name(const char *host, char *out, size_t outlen)
{
    hostport_t h;
    if (host == NULL || !split(host, strlen(host), &h) || h.nlen >= outlen)
        return false;
    for (size_t i = 0; i < h.nlen; i++) /* a name or an address, nothing else */
        if (!isalnum((unsigned char)h.name[i]) && !strchr("-._:[]", h.name[i]))
            return false;
    memcpy(out, h.name, h.nlen);
    out[h.nlen] = '\0';
    return true;
}
