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
#include <stdint.h>

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
/* Whether an If-None-Match header value (NULL: none) matches etag (with its
 * quotes): "*" or any entity tag of its list, compared weakly (W/ ignored),
 * so that the handler answers 304. */
bool mp_http_etag_match(const char *if_none_match, const char *etag);
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
/* The same with the body as JSON text encoded already (len bytes, copied):
 * for replies written without a tree (chat/history.c). */
void mp_http_respond_text(mp_http_req_t *req, int status, const char *json, size_t len);
/* Sends {"error":{"code","message"}} with the status of err; msg NULL uses the
 * default message. For MP_ERR_RATE_LIMITED set retry_after_s > 0 to add a
 * Retry-After header. */
void mp_http_respond_error(mp_http_req_t *req, mp_err_t err, const char *msg);
void mp_http_respond_retry(mp_http_req_t *req, mp_err_t err, const char *msg,
                           unsigned retry_after_s);

/* ---- streamed responses ---------------------------------------------------
 *
 * For a body too large to build in memory (a data export): the handler
 * begins the response instead of answering, writes the body piece by piece
 * and ends it. HTTP/1.1 clients get chunked transfer encoding; HTTP/1.0
 * clients get a body that ends when the connection closes. The producer
 * keeps memory bounded by writing only while the connection's queued output
 * is low (mp_http_stream_queued) and otherwise waiting for it to drain
 * (mp_http_stream_wait). A client that goes away ends nothing by itself: the
 * producer learns it (a write returns false, or its wait callback runs with
 * gone = true) and must still call mp_http_stream_end, which frees req. A
 * client that stops reading for idle_timeout is closed (gone). */

/* gone: the client went away (nothing more can be sent). */
typedef void (*mp_http_stream_fn)(mp_http_req_t *req, bool gone, void *ud);

/* Sends the status line and headers (content_type, plus those added with
 * mp_http_add_header). Instead of mp_http_respond: req is then answered only
 * by mp_http_stream_end. Returns false when the client is gone already. */
bool mp_http_stream_begin(mp_http_req_t *req, int status, const char *content_type);
/* Queues len bytes of body (copied; len 0 does nothing). Returns false when
 * the client is gone. Not while a wait is pending. */
bool mp_http_stream_write(mp_http_req_t *req, const void *data, size_t len);
/* Output bytes the connection holds that the client has not taken yet. */
size_t mp_http_stream_queued(const mp_http_req_t *req);
/* Calls fn once: when the queued output falls to low_mark or below (at once,
 * from this call, if it is there already), or when the client goes away.
 * One wait at a time. */
void mp_http_stream_wait(mp_http_req_t *req, size_t low_mark, mp_http_stream_fn fn, void *ud);
/* Ends the response and frees req. complete: the body is whole (the last
 * chunk is sent, the connection may serve the next request); false: the
 * producer failed midway, so the connection is closed without ending the
 * body, which the client sees as a truncated response. */
void mp_http_stream_end(mp_http_req_t *req, bool complete);

/* A fixed-length streamed response: like mp_http_stream_begin, but the body
 * is exactly length bytes, announced in Content-Length and never chunked
 * (downloads, so that clients show progress and Range replies are exact).
 * The producer writes exactly length bytes, then mp_http_stream_end(req,
 * true). For a HEAD request only the head is sent: writes are accepted and
 * dropped, so a producer may simply end at once (check
 * mp_http_req_is_head). */
bool mp_http_stream_begin_length(mp_http_req_t *req, int status, const char *content_type,
                                 uint64_t length);
/* Like mp_http_stream_write but takes ownership of data (allocated with
 * mp_malloc), so that a buffer filled from disk goes to the socket without
 * another copy. data is freed in every case. */
bool mp_http_stream_write_owned(mp_http_req_t *req, void *data, size_t len);
/* True for a HEAD request (routed to the GET route of its path unless a HEAD
 * route exists; the response head is sent without a body). */
bool mp_http_req_is_head(const mp_http_req_t *req);

/* ---- streamed request bodies (routes with MP_ROUTE_BODY_STREAM) -----------
 *
 * For uploads larger than memory. The handler runs as soon as the request
 * head is in and authenticated, before any of the body is read, so it can
 * refuse at once (too large, over quota, rate limited): it answers with
 * mp_http_respond* as usual and the connection is then closed after the
 * answer, the unread body never read. To take the body it calls
 * mp_http_body_start once: the net layer sends "100 Continue" if the client
 * asked for it, then calls fn with the body piece by piece as it arrives.
 * The consumer pauses reading while it cannot take more (its write to disk
 * is in flight) and resumes later, so memory stays bounded by one socket
 * read per connection. Time between two pieces is bounded by idle_timeout
 * (the connection is closed and fn gets MP_BODY_ABORT).
 *
 * Routes with this flag are never MP_ROUTE_JSON; max_body does not apply
 * (the handler checks mp_http_req_content_length against its own limit);
 * a chunked body is refused with 411 length_required before the handler
 * runs, so content_length is always known there. */
typedef enum {
    MP_BODY_DATA,  /* data/len: the next piece (valid during the call only) */
    MP_BODY_END,   /* the whole body arrived (len 0) */
    MP_BODY_ABORT, /* the client went away, timed out or the body was cut short */
} mp_body_ev_t;
typedef void (*mp_http_body_fn)(mp_http_req_t *req, mp_body_ev_t ev, const char *data, size_t len,
                                void *ud);
/* The declared Content-Length, or -1 when there is none. */
int64_t mp_http_req_content_length(const mp_http_req_t *req);
/* Starts delivering the body to fn (once per request). With a
 * Content-Length of 0 fn gets MP_BODY_END at once (from this call). After
 * MP_BODY_END or MP_BODY_ABORT fn is not called again; the handler must
 * still answer (after ABORT the answer is discarded, but it frees req). */
void mp_http_body_start(mp_http_req_t *req, mp_http_body_fn fn, void *ud);
/* paused = true: no more MP_BODY_DATA until called with false (ABORT may
 * still come: the client can go away while paused). Cheap; may be called
 * from inside fn. */
void mp_http_body_pause(mp_http_req_t *req, bool paused);

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
    /* The body is streamed to the handler (see mp_http_body_start), which
     * runs when the head is in. */
    MP_ROUTE_BODY_STREAM = 1 << 4,
};

typedef struct mp_route {
    const char *method;  /* "GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS" */
    const char *pattern; /* "/v1/devices/{id}"; {name} matches one non-empty segment */
    unsigned flags;
    mp_http_handler_fn fn;
} mp_route_t;

#endif
