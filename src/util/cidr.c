/* CIDR blocks: parsed with inet_pton, matched bit by bit on 16-byte
 * addresses. */
#include "util/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool mp_cidr_addr_parse(const char *text, uint8_t out[16])
{
    struct in_addr a4;
    if (inet_pton(AF_INET, text, &a4) == 1) {
        memcpy(out, v4_mapped, 12);
        memcpy(out + 12, &a4, 4);
        return true;
    }
    return inet_pton(AF_INET6, text, out) == 1;
}

void mp_cidr_addr_format(const uint8_t addr[16], char *out, size_t len)
{
    if (memcmp(addr, v4_mapped, 12) == 0)
        inet_ntop(AF_INET, addr + 12, out, (socklen_t)len);
    else
        inet_ntop(AF_INET6, addr, out, (socklen_t)len);
}

bool mp_cidr_addr_of(const struct sockaddr *sa, uint8_t out[16])
{
    if (sa->sa_family == AF_INET) {
        memcpy(out, v4_mapped, 12);
        memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return true;
    }
    return false;
}

/* One entry, trimmed, of at most 63 bytes. */
static bool parse_one(const char *s, size_t len, mp_cidr_t *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *slash = strchr(buf, '/');
    long bits = -1;
    if (slash != NULL) {
        *slash = '\0';
        char *end;
        if (slash[1] < '0' || slash[1] > '9')
            return false;
        bits = strtol(slash + 1, &end, 10);
        if (*end != '\0')
            return false;
    }
    if (!mp_cidr_addr_parse(buf, out->addr))
        return false;
    bool v4 = strchr(buf, ':') == NULL;
    long max = v4 ? 32 : 128;
    if (bits < 0)
        bits = max;
    if (bits > max)
        return false;
    out->bits = (uint8_t)(v4 ? bits + 96 : bits);
    return true;
}

int mp_cidr_parse_list(const char *list, mp_cidr_t *out, size_t max, char *err, size_t errlen)
{
    size_t n = 0;
    for (const char *p = list; *p != '\0';) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        size_t len = strcspn(p, ", \t");
        if (n == max) {
            snprintf(err, errlen, "more than %zu address ranges", max);
            return -1;
        }
        if (!parse_one(p, len, &out[n])) {
            snprintf(err, errlen, "\"%.*s\" is not an IP address or CIDR block (e.g. 10.0.0.0/8)",
                     (int)(len < 64 ? len : 64), p);
            return -1;
        }
        n++;
        p += len;
    }
    return (int)n;
}

bool mp_cidr_match(const mp_cidr_t *blocks, size_t n, const uint8_t addr[16])
{
    for (size_t i = 0; i < n; i++) {
        unsigned bits = blocks[i].bits, whole = bits / 8, rest = bits % 8;
        if (memcmp(blocks[i].addr, addr, whole) != 0)
            continue;
        if (rest == 0)
            return true;
        uint8_t mask = (uint8_t)(0xff << (8 - rest));
        if ((blocks[i].addr[whole] & mask) == (addr[whole] & mask))
            return true;
    }
    return false;
}
