/* Internal state shared by the gateway's files: the server, one connection and
 * one HTTP request, plus the connection life-cycle helpers. Not for use outside
 * src/net (everything here may change without notice). */
#ifndef MP_NET_CONN_H
#define MP_NET_CONN_H

#include <http_parser.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "net/server.h"
#include "net/sidmap.h"

typedef struct mp_conn mp_conn_t;
typedef struct mp_ws mp_ws_t;

/* Deadline kinds. Every connection in one kind's list has the same timeout, so
 * appending at the tail keeps each list sorted by deadline: set/reset/expire
 * are O(1) and one uv_timer serves the whole server. */
enum {
    MP_T_NONE = 0,
    MP_T_HEADER,  /* request must be complete within header_timeout_ms */
    MP_T_IDLE,    /* keep-alive connection without a request */
    MP_T_WS_AUTH, /* WebSocket not yet authenticated */
    MP_T_WS_PING, /* authenticated WebSocket: next ping due */
    MP_T_CLOSING, /* graceful close in progress: hard close at the latest then */
    MP_T__COUNT
};

enum {
    MP_C_CLOSED = 1 << 0,  /* hard close started: no more I/O, freed in close_cb */
    MP_C_DRAIN = 1 << 1,   /* no new requests; close once everything is written */
    MP_C_SHUT = 1 << 2,    /* write side shut down (or about to be): input is discarded */
    MP_C_FAKE = 1 << 3,    /* no socket (unit tests, fuzzers): writes are captured */
    MP_C_WS = 1 << 4,      /* upgraded to WebSocket */
    MP_C_PAUSED = 1 << 5,  /* too many pipelined requests: reading stopped */
    MP_C_STASHED = 1 << 6, /* unparsed input kept in stash while paused */
    MP_C_EOF = 1 << 7,     /* the peer shut down its side */
};

#define MP_NET_RBUF 65536         /* shared read buffer, one per server */
#define MP_NET_PIPELINE 32        /* outstanding pipelined requests before reading stops */
#define MP_NET_HTTP_WQ (1u << 20) /* unread response bytes before reading stops */
#define MP_NET_CLOSE_MS 1000

#define MP_HTTP_MAX_PARAMS 8

typedef struct mp_kv {
    char *name;
    char *value;
} mp_kv_t;

struct mp_http_req {
    mp_http_req_t *next; /* FIFO */
    mp_conn_t *conn;     /* NULL once the connection is gone */
    mp_server_t *srv;
    const mp_route_t *route;
    uint8_t method; /* enum http_method */
    bool keep_alive;
    bool upgrade;
    bool done;        /* response built (out) */
    bool close_after; /* close the connection after this response */
    bool last_was_value;
    bool query_parsed;
    int status;
    char *url; /* raw request target */
    size_t url_len;
    char *path; /* decoded path */
    mp_kv_t *hdrs;
    size_t nhdrs, hcap;
    char *body;
    size_t body_len, body_cap;
    json_t *json;
    mp_principal_t who;
    char *token;
    mp_kv_t params[MP_HTTP_MAX_PARAMS];
    size_t nparams;
    mp_kv_t *query;
    size_t nquery;
    char *rhdrs; /* extra response header lines */
    size_t rhdrs_len;
    char *out; /* serialized response */
    size_t out_len;
    size_t body_out; /* response body bytes, for the access log */
    int64_t start_ms;
    char rid[17];
    char peer[48];
};

/* The HTTP-only state of a connection, allocated with it and freed once it is
 * upgraded to WebSocket, so that an idle session does not carry it. */
typedef struct mp_http_conn {
    http_parser parser;
    mp_http_req_t *cur;         /* request being parsed */
    mp_http_req_t *head, *tail; /* FIFO of requests waiting for their turn to be written */
    char *stash;                /* unparsed input while paused (MP_C_STASHED) */
    size_t stash_len;
    uint32_t hdr_bytes; /* request line + headers of the request being parsed */
    uint16_t nreqs;     /* requests in the FIFO */
    bool parsing;       /* inside http_parser_execute: the parser must stay */
} mp_http_conn_t;

struct mp_conn {
    uv_tcp_t tcp; /* tcp.data == this */
    mp_server_t *srv;
    mp_conn_t *prev, *next;   /* server's list of connections */
    mp_conn_t *tprev, *tnext; /* deadline list of kind tkind */
    int64_t deadline;
    uint8_t tkind;
    uint16_t flags;
    uint16_t nwrites;     /* uv_write requests in flight */
    uint32_t pend_idx;    /* 1 + index in srv->pend while output waits to be flushed */
    mp_http_conn_t *http; /* HTTP-only state; NULL once upgraded */
    mp_ws_t *ws;          /* non-NULL once upgraded */
};

struct mp_tlist {
    mp_conn_t *head, *tail;
};

struct mp_server {
    uv_loop_t *loop;
    const mp_config_t *cfg;
    const mp_route_t *routes;
    mp_server_hooks_t hooks;
    void *ctx;
    uv_tcp_t listener;
    uv_timer_t timer;
    uv_prepare_t flusher; /* flushes WebSocket output before the loop blocks */
    mp_conn_t **pend;     /* connections with queued WebSocket output */
    size_t npend, pend_cap;
    bool listener_init;
    bool shutting_down;
    int64_t timer_due; /* loop time the timer fires at, or -1 when stopped */
    struct mp_tlist tl[MP_T__COUNT];
    mp_conn_t *conns;
    size_t nconns;
    unsigned nhandles; /* uv handles open (listener, timer, sockets) */
    mp_sidmap_t sids;
    uint64_t next_sid;
    uint64_t next_rid;
    uint32_t rid_salt;
    char *rbuf;
    void (*done)(void *arg);
    void *done_arg;
};

/* ---- server.c: connection life cycle ---- */

typedef void (*mp_conn_wdone_fn)(mp_conn_t *c, void *arg);
/* Writes bufs (copied array; the bytes must stay valid until done runs). done
 * runs once when the write finished or failed, possibly after close. */
void mp_conn__write(mp_conn_t *c, const uv_buf_t *bufs, unsigned n, mp_conn_wdone_fn done,
                    void *arg);
/* Graceful close: stop taking requests, flush what is queued, shut down the
 * write side and wait for EOF (at most MP_NET_CLOSE_MS). */
void mp_conn__drain(mp_conn_t *c);
/* Continues a graceful close when nothing is left to write. */
void mp_conn__maybe_finish(mp_conn_t *c);
/* Hard close: stops everything now; memory is released in close_cb. */
void mp_conn__close(mp_conn_t *c);
/* Stops/starts reading (pipelining back-pressure). */
void mp_conn__pause(mp_conn_t *c, bool paused);
/* Text form of the peer address ("?" if unknown). */
void mp_conn__peer(mp_conn_t *c, char *out, size_t len);
/* Asks for mp_ws__flush(c) before the loop next blocks, so that the frames
 * queued meanwhile leave in one write. */
void mp_conn__want_flush(mp_conn_t *c);
/* Registers a new connection in srv's list (used by accept and fakes). */
void mp_conn__init(mp_server_t *srv, mp_conn_t *c);
/* Frees what a closed connection still holds (HTTP and WebSocket state). */
void mp_conn__release(mp_conn_t *c);

/* Where a fake connection's writes go: set by testing.c (linked into tests and
 * fuzzers only) when it makes a fake, NULL in the binary, which has none. */
extern void (*mp_net__fake_capture)(mp_conn_t *c, const uv_buf_t *bufs, unsigned n);

/* ---- deadline.c ---- */

/* Puts c in the deadline list of kind (MP_T_NONE removes it). */
void mp_deadline__set(mp_conn_t *c, int kind);
void mp_deadline__init(mp_server_t *srv);
/* Fires c's pending deadline now (tests). */
void mp_deadline__expire_now(mp_conn_t *c);

/* ---- http_conn.c ---- */

void mp_http__conn_init(mp_conn_t *c);
/* Feeds raw bytes received on an HTTP connection. */
void mp_http__feed(mp_conn_t *c, const char *data, size_t len);
/* Answers err with status (0 = status of err) for the request being parsed or
 * a new one, then closes the connection gracefully (limits, timeouts). */
void mp_http__reject(mp_conn_t *c, mp_err_t err, int status);
/* True when reading should stop (pipelining or unread responses). */
bool mp_http__backlogged(const mp_conn_t *c);
/* Restarts reading (and parses the stash) once the backlog is gone. */
void mp_http__resume(mp_conn_t *c);
/* Writes every finished response at the head of the FIFO. */
void mp_http__flush(mp_conn_t *c);
/* Detaches or frees every request of a closing connection. */
void mp_http__conn_release(mp_conn_t *c);
/* Frees c->http after an upgrade unless it is still in use (parser running,
 * stashed input, requests); mp_http__conn_free then releases it. */
void mp_http__conn_drop(mp_conn_t *c);
/* Frees c->http and its stash (connection release). */
void mp_http__conn_free(mp_conn_t *c);

/* ---- http_req.c ---- */

mp_http_req_t *mp_http__req_new(mp_conn_t *c);
void mp_http__req_free(mp_http_req_t *req);
/* Appends a response header line to req. */
void mp_http__req_add_header(mp_http_req_t *req, const char *name, const char *value);
/* Responds with a JSON error and an explicit HTTP status (0 = status of err). */
void mp_http__respond_err_status(mp_http_req_t *req, int status, mp_err_t err, const char *msg);
/* Writes the access-log line of a finished request. */
void mp_http__access_log(const mp_http_req_t *req);

/* ---- dispatch.c ---- */

/* Runs the middleware chain and the route handler for a complete request. */
void mp_http__dispatch(mp_http_req_t *req);
/* Extracts "Authorization: Bearer <token>" into req->token (if any). */
void mp_http__bearer(mp_http_req_t *req);
/* True when origin is allowed by a comma list ("*" = any). */
bool mp_http__origin_listed(const char *list, const char *origin);

/* ---- ws.c ---- */

/* Handles GET /v1/ws with an Upgrade header: checks the handshake, origin and
 * token; answers an error through req, or writes 101, frees req and switches
 * the connection to WebSocket (bytes that follow go to mp_ws__feed). */
void mp_ws__upgrade(mp_http_req_t *req);
/* Computes Sec-WebSocket-Accept for key into out (29 bytes with NUL). */
void mp_ws__accept_key(const char *key, char out[29]);
void mp_ws__feed(mp_conn_t *c, const uint8_t *data, size_t len);
/* A deadline of kind fired for a WebSocket connection. */
void mp_ws__timeout(mp_conn_t *c, int kind);
/* Called on hard close: session_close hook, sid map removal. */
void mp_ws__closed(mp_conn_t *c);
void mp_ws__release(mp_conn_t *c);
/* Writes what is queued (one uv_write for up to a batch of frames). */
void mp_ws__flush(mp_conn_t *c);
/* True when the WebSocket has nothing queued or being written. */
bool mp_ws__idle(const mp_conn_t *c);

#endif
