/* Route matching and percent-decoding (internal to the gateway; pure
 * functions so that they can be unit-tested and fuzzed). */
#ifndef MP_NET_ROUTER_H
#define MP_NET_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "net/conn.h"
#include "net/http.h"

/* Percent-decodes s[0..n) into a new string; with plus, '+' becomes a space
 * (query strings). Malformed escapes and %00 are kept as they are. */
char *mp_router__decode(const char *s, size_t n, bool plus);

/* Parses "a=1&b=x%20y" into decoded pairs (new array, *n entries). */
mp_kv_t *mp_router__parse_query(const char *q, size_t *n);

/* Finds the route for method and path (raw, without query string). On a
 * match fills params (owned strings, at most MP_HTTP_MAX_PARAMS) and returns
 * the route. Otherwise returns NULL and *status is 404, or 405 with the
 * methods the path accepts in allow ("GET, HEAD, POST"). A HEAD request
 * without a HEAD route of its path takes its GET route. allow may be NULL
 * (allowlen 0). */
const mp_route_t *mp_router__match(const mp_route_t *routes, const char *method, const char *path,
                                   mp_kv_t *params, size_t *nparams, char *allow, size_t allowlen,
                                   int *status);

#endif
