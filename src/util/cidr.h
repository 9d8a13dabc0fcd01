/* IP address ranges (CIDR blocks), for lists such as trusted_proxies. */
#ifndef MP_UTIL_CIDR_H
#define MP_UTIL_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* One block; IPv4 is kept as its IPv4-mapped IPv6 form (::ffff:a.b.c.d,
 * prefix + 96), so one comparison covers both families. */
typedef struct mp_cidr {
    uint8_t addr[16];
    uint8_t bits; /* 0..128 */
} mp_cidr_t;

/* Parses "A[/N], B[/N], ..." (IPv4 or IPv6; no /N = one address) into out
 * (at most max blocks). Returns the count, or -1 with a message in err
 * naming the bad entry. An empty list gives 0. */
int mp_cidr_parse_list(const char *list, mp_cidr_t *out, size_t max, char *err, size_t errlen);

/* An address in text form (IPv4 or IPv6, no port) as 16 bytes (IPv4 mapped);
 * false when it is not an address. */
bool mp_cidr_addr_parse(const char *text, uint8_t out[16]);
/* A 16-byte address as text: dotted IPv4 for an IPv4-mapped one, else IPv6
 * (out: at least 46 bytes, INET6_ADDRSTRLEN). */
void mp_cidr_addr_format(const uint8_t addr[16], char *out, size_t len);
/* The address of a socket (AF_INET or AF_INET6) as 16 bytes (IPv4 mapped). */
bool mp_cidr_addr_of(const struct sockaddr *sa, uint8_t out[16]);

/* Whether addr is in one of the n blocks. */
bool mp_cidr_match(const mp_cidr_t *blocks, size_t n, const uint8_t addr[16]);

#endif
