/* HTTP request handling as seen by route handlers (the core side of HTTP).
 *
 * A handler receives an mp_http_req_t and must eventually call exactly one of
 * mp_http_respond() / mp_http_respond_error(), possibly later from another
 * callback on the same loop (e.g. after a store job completes). The request
 * stays valid until then even if the client disconnects (the response is then
 * discarded); after responding the handler must not touch req again.
 * Responses on one connection are written in request order (pipelining). */
#ifndef MP_NET_HTTP_H
#define MP_NET_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "proto/error.h"
#include "proto/principal.h"

typedef struct mp_http_req mp_http_req_t;
typedef void (*mp_http_handler_fn)(mp_http_req_t *req);

/* "GET", "POST", ... */
const char *mp_http_req_method(const mp_http_req_t *req);
/* Decoded path without the query string. */
const char *mp_http_req_path(const mp_http_req_t *req);
/* Value of path parameter {name} from the route pattern, or NULL. */
const char *mp_http_req_param(const mp_http_req_t *req, const char *name);
/* Percent-decoded query parameter, or NULL when absent. */
const char *mp_http_req_query(const mp_http_req_t *req, const char *name);
/* Request header (case-insensitive name), or NULL. */
const char *mp_http_req_header(const mp_http_req_t *req, const char *name);
/* Parsed JSON body (borrowed; NULL when the route has no body). Routes
 * registered with MP_ROUTE_JSON get an object here or never reach the handler
 * (bad_json / unsupported_media_type / too_large are answered for them). */
json_t *mp_http_req_json(const mp_http_req_t *req);
/* The authenticated caller (user_id 0 on public routes without a token). */
const mp_principal_t *mp_http_req_principal(const mp_http_req_t *req);
/* The peer's IP address as text. */
const char *mp_http_req_peer(const mp_http_req_t *req);
/* The peer's address as a number, for keying per-client limits: an IPv4
 * address, or the /64 prefix of an IPv6 one (one client usually owns a whole
 * /64); 0 when unknown. */
uint64_t mp_http_req_peer_key(const mp_http_req_t *req);
/* The opaque application context given to mp_server_new(). */
void *mp_http_req_ctx(const mp_http_req_t *req);
/* The module state of the route that matched (mp_server_set_route_mods), or
 * NULL. */
void *mp_http_req_mod(const mp_http_req_t *req);
/* The bearer token presented (NULL if none). */
const char *mp_http_req_token(const mp_http_req_t *req);
/* True when the client went away; responding is then harmless but useless. */
bool mp_http_req_gone(const mp_http_req_t *req);

/* Adds a response header (copied). */
void mp_http_add_header(mp_http_req_t *req, const char *name, const char *value);
/* Sends status with body as JSON (takes ownership; NULL = no body). */
void mp_http_respond(mp_http_req_t *req, int status, json_t *body);
/* Sends {"error":{"code","message"}} with the status of err; msg NULL uses the
 * default message. For MP_ERR_RATE_LIMITED set retry_after_s > 0 to add a
 * Retry-After header. */
void mp_http_respond_error(mp_http_req_t *req, mp_err_t err, const char *msg);
void mp_http_respond_retry(mp_http_req_t *req, mp_err_t err, const char *msg,
                           unsigned retry_after_s);

/* Route flags. */
enum {
    MP_ROUTE_PUBLIC = 0,    /* no token needed (a valid one is still parsed if sent) */
    MP_ROUTE_AUTH = 1 << 0, /* 401 unauthorized unless a valid bearer token */
    MP_ROUTE_JSON = 1 << 1, /* body must be a JSON object */
    /* Guests may call this MP_ROUTE_AUTH route; every other authenticated
     * route answers a guest's token with 403 guest_forbidden. */
    MP_ROUTE_GUEST_OK = 1 << 2,
    /* With MP_ROUTE_JSON: an empty body (with or without a Content-Type)
     * counts as {}, for routes whose every field is optional. */
    MP_ROUTE_JSON_EMPTY_OK = 1 << 3,
};

typedef struct mp_route {
    const char *method;  /* "GET", "POST", "PATCH", "DELETE", "PUT" */
    const char *pattern; /* "/v1/devices/{id}"; {name} matches one non-empty segment */
    unsigned flags;
    mp_http_handler_fn fn;
} mp_route_t;

#endif
