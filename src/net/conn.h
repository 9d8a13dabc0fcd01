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
#include "config/config.h"
#include "util/assert.h"
#include "util/cidr.h"
#include "util/map.h"
#include "util/ratelimit.h"

typedef struct mp_conn mp_conn_t;
typedef struct mp_ws mp_ws_t;

/* Deadline kinds. Every connection in one kind's list has the same timeout, so
 * appending at the tail keeps each list sorted by deadline: set/reset/expire
 * are O(1) and one uv_timer serves the whole server. */
enum {
    MP_T_NONE = 0,
    MP_T_HEADER,  /* request must be complete within header_timeout_ms */
    MP_T_IDLE,    /* no request pending and no output written for idle_timeout_ms */
    MP_T_WS_AUTH, /* WebSocket not yet authenticated */
    MP_T_WS_PING, /* authenticated WebSocket: next ping due */
    MP_T_CLOSING, /* graceful close in progress: hard close at the latest then */
    MP_T__COUNT
};

enum {
    MP_C_CLOSED = 1 << 0,   /* hard close started: no more I/O, freed in close_cb */
    MP_C_DRAIN = 1 << 1,    /* no new requests; close once everything is written */
    MP_C_SHUT = 1 << 2,     /* write side shut down (or about to be): input is discarded */
    MP_C_FAKE = 1 << 3,     /* no socket (unit tests, fuzzers): writes are captured */
    MP_C_WS = 1 << 4,       /* upgraded to WebSocket */
    MP_C_PAUSED = 1 << 5,   /* too many pipelined requests: reading stopped */
    MP_C_STASHED = 1 << 6,  /* unparsed input kept in stash while paused */
    MP_C_EOF = 1 << 7,      /* the peer shut down its side */
    MP_C_RELEASED = 1 << 8, /* mp_conn__release ran (it must run once) */
};

#define MP_NET_RBUF 65536  /* shared read buffer, one per server */
#define MP_NET_PIPELINE 32 /* outstanding pipelined requests before reading stops */
/* Requests whose handlers run at the same time on one connection: pipelined
 * requests wait, unparsed, for the previous one's answer. A reply can only be
 * counted once built, so this is what bounds the output one connection can
 * make the server build beyond MP_NET_HTTP_WQ ahead of its peer's reading. */
#define MP_NET_INFLIGHT 1
#define MP_NET_HTTP_WQ (1u << 20) /* unwritten response bytes before reading stops */
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
    bool fallback;  /* handed to srv->fallback (no route) */
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
    size_t body_resv; /* bytes of srv->body_total held for this body */
    bool http10;      /* the request said HTTP/1.0 (no chunked encoding) */
    /* Streamed response (mp_http_stream_begin): the head is written, the
     * body goes out as it is produced; done stays false until the end. */
    bool streaming;
    bool chunked;
    mp_http_stream_fn wait_fn; /* a producer waiting for output to drain */
    void *wait_ud;
    size_t wait_mark;
    /* Fixed-length streamed response (mp_http_stream_begin_length): body
     * bytes still owed; head_only: a HEAD request, body writes are dropped. */
    bool fixed;
    bool head_only;
    uint64_t left;
    /* Streamed request body (MP_ROUTE_BODY_STREAM): see http_body.c. */
    uint8_t bstate;   /* MP_B_* */
    bool bpaused;     /* the consumer paused reading */
    int64_t clen;     /* declared Content-Length, -1 when none */
    uint64_t body_in; /* body bytes delivered so far */
    mp_http_body_fn body_fn;
    void *body_ud;
};

/* States of a streamed request body. */
enum {
    MP_B_NONE = 0, /* not a streamed-body request */
    MP_B_WAIT,     /* dispatched at the head; mp_http_body_start not called yet */
    MP_B_RECV,     /* delivering pieces to body_fn */
    MP_B_ENDED,    /* MP_BODY_END delivered (or the body was empty) */
    MP_B_OFF,      /* aborted, or answered before the end: body_fn is done */
};

/* CORS: the response headers a browser script may read (uploads, ranges). */
#define MP_CORS_EXPOSE                                                                             \
    "Access-Control-Expose-Headers: Upload-Offset, Upload-Length, Location, Tus-Resumable, "       \
    "Tus-Version, Tus-Max-Size, Tus-Extension, Magpie-File-Id, Content-Range, ETag, "              \
    "Retry-After\r\n"

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
    /* The streamed-body request (MP_ROUTE_BODY_STREAM) of this connection:
     * in the FIFO, alone in flight, its body still being parsed; cleared
     * when it is freed. */
    mp_http_req_t *sreq;
    bool parsing; /* inside http_parser_execute: the parser must stay */
} mp_http_conn_t;

struct mp_conn {
    uv_tcp_t tcp; /* tcp.data == this */
    mp_server_t *srv;
    mp_conn_t *prev, *next;   /* server's list of connections */
    mp_conn_t *tprev, *tnext; /* deadline list of kind tkind */
    uint8_t tkind;
    bool proxied; /* from a trusted proxy (trusted_proxies): not counted per address */
    uint16_t flags;
    uint16_t nwrites;  /* uv_write requests in flight */
    uint32_t pend_idx; /* 1 + index in srv->pend while output waits to be flushed */
    /* Loop time (ms) of the deadline, modulo 2^32: compared by signed
     * difference (deadline.c), exact for deadlines up to 24 days away; every
     * timeout is at most 24 h. 32 bits and the fields above keep the
     * struct at 344 bytes, a 352-byte malloc chunk, once per connection. */
    uint32_t deadline;
    size_t obytes;        /* output held for the peer: see mp_conn__out_add */
    mp_http_conn_t *http; /* HTTP-only state; NULL once upgraded */
    mp_ws_t *ws;          /* non-NULL once upgraded */
    struct mp_tls *tls;   /* TLS state on a tls_cert listener (tls.c), else NULL */
    uint64_t ip_key;      /* counted in srv->per_ip under this key; 0 = not counted */
};

struct mp_tlist {
    mp_conn_t *head, *tail;
};

struct mp_server {
    uv_loop_t *loop;
    uv_thread_t loop_thread; /* the only thread that may touch the server */
    const mp_config_t *cfg;
    const mp_route_t *routes;
    void *const *route_mods;     /* parallel to routes, or NULL */
    mp_http_handler_fn fallback; /* GET/HEAD outside /v1/ that no route took */
    void *fallback_mod;
    mp_server_hooks_t hooks;
    void *ctx;
    uv_tcp_t listener;
    uv_timer_t timer;
    uv_prepare_t flusher; /* flushes WebSocket output before the loop blocks */
    /* Since mp_server_new: the time and the loop's idle time then
     * (mp_server_loop_busy_seconds); idle_known when libuv counts it. */
    uint64_t born_ns, idle0_ns;
    bool idle_known;
    mp_conn_t **pend; /* connections with queued WebSocket output */
    size_t npend, pend_cap;
    struct mp_iopool *io;   /* io_threads > 1: flushes share their writes (iopool.h) */
    struct mp_ioflush *iof; /* the shared flush's buffers, kept between flushes */
    bool listener_init;
    bool shutting_down;
    bool timers_closed;         /* timer and flusher closed (shutdown, last socket gone) */
    bool stream_routes;         /* some route has MP_ROUTE_BODY_STREAM */
    bool metrics_only;          /* the metrics_listen listener: GET /metrics and nothing else */
    bool ws_wslay_only;         /* tests: every WebSocket frame through wslay (ws_in.c) */
    int https_redirect;         /* tls_redirect_listen: every request is redirected to this port */
    struct ssl_ctx_st *tls_ctx; /* new connections speak TLS with it (tls_cert), or NULL */
    char *tls_plain;            /* plaintext of one TLS read (tls.c) */
    size_t tls_plain_cap;
    int64_t timer_due; /* loop time the timer fires at, or -1 when stopped */
    struct mp_tlist tl[MP_T__COUNT];
    mp_conn_t *conns;
    size_t nconns;
    size_t nsockets;   /* connections with a socket not yet released (fakes excluded) */
    size_t out_total;  /* sum of every connection's obytes */
    unsigned nhandles; /* uv handles open (listener, timer, sockets) */
    mp_sidmap_t sids;
    uint64_t next_rid;
    uint32_t rid_salt;
    char *rbuf;
    void (*done)(void *arg);
    void *done_arg;
    /* caps.c */
    unsigned max_conns;        /* max_connections in effect (0 = none) */
    mp_map_t per_ip;           /* client address key -> open connections */
    mp_map_t ws_per_user;      /* user id -> authenticated WebSockets */
    mp_map_t ws_per_device;    /* device id -> authenticated WebSockets */
    mp_ratelimit_t *conn_rate; /* new connections per address (conn_rate_per_ip), or NULL */
    mp_cidr_t trusted[MP_CONFIG_PROXIES_MAX]; /* trusted_proxies */
    size_t ntrusted;
    size_t body_total; /* request body bytes reserved server-wide */
};

/* Everything in src/net runs on the loop thread: connections, frames and
 * their plain (non-atomic) refcounts are never touched from another thread. */
#define MP_NET_ASSERT_LOOP(srv) MP_ASSERT_THREAD((srv)->loop_thread)

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
/* Output accounting. A connection's obytes are the output bytes the server
 * holds for its peer: finished HTTP responses waiting for their turn,
 * WebSocket frames queued, and bytes handed to libuv whose write has not
 * completed. They are added to srv->out_total, which max_output_total bounds.
 * No-ops once the connection is closed (mp_conn__close forgets its share). */
void mp_conn__out_add(mp_conn_t *c, size_t n);
void mp_conn__out_sub(mp_conn_t *c, size_t n);
/* True when the server holds more output than max_output_total and c is one
 * of the connections it is waiting on: c should not be read. */
bool mp_conn__over_budget(const mp_conn_t *c);
/* Text form of the peer address ("?" if unknown). */
void mp_conn__peer(mp_conn_t *c, char *out, size_t len);
/* The peer address as mp_caps__ip_key gives it (0 if unknown). */
uint64_t mp_conn__peer_key(mp_conn_t *c);
/* Asks for mp_ws__flush(c) before the loop next blocks, so that the frames
 * queued meanwhile leave in one write. */
void mp_conn__want_flush(mp_conn_t *c);
/* mp_conn__write of bufs (len bytes in all) of which an I/O thread wrote
 * the first `written` already (net/iopool.h): the rest goes to the socket
 * the usual way, and done runs as if all of it had, so the accounting and
 * callbacks are those of mp_conn__write; when nothing is left, done (and
 * what follows a finished write) runs before this returns. c must be a
 * plain socket (no TLS, not fake) with nothing else being written. */
void mp_conn__write_rest(mp_conn_t *c, uv_buf_t *bufs, unsigned n, size_t len, size_t written,
                         mp_conn_wdone_fn done, void *arg);
/* The same for buf (len bytes, owned: freed once written), a TLS
 * connection's records sealed and partly written by an I/O thread. */
void mp_conn__send_owned_rest(mp_conn_t *c, char *buf, size_t len, size_t written,
                              mp_conn_wdone_fn done, void *arg);
/* Writes len bytes of buf, which it owns and frees once written (TLS). */
void mp_conn__send_owned(mp_conn_t *c, char *buf, size_t len, mp_conn_wdone_fn done, void *arg);
/* Input from the peer, in the clear: to the HTTP or WebSocket layer. */
void mp_conn__input(mp_conn_t *c, const char *data, size_t len);
/* The peer finished sending (EOF, or TLS close_notify). */
void mp_conn__eof(mp_conn_t *c);
/* Registers a new connection in srv's list (used by accept and fakes). */
void mp_conn__init(mp_server_t *srv, mp_conn_t *c);
/* Frees what a closed connection still holds (HTTP and WebSocket state). */
void mp_conn__release(mp_conn_t *c);

/* A write finished (status < 0: failed): accounting, done, back-pressure
 * and graceful close (the socket's write callback; fakes call it too). */
void mp_conn__wrote(mp_conn_t *c, mp_conn_wdone_fn done, void *arg, size_t len, int status);

/* What a fake connection (MP_C_FAKE: unit tests, fuzzers) does instead of a
 * socket write. testing.c, linked into tests and fuzzers only, fills these in
 * when it makes a fake; in the binary, which has no fakes, they stay NULL.
 * capture: appends what is written to the fake's buffer, returns the bytes;
 * hold: true when the fake's peer is not reading (mp_net__fake_stall), the
 *   write then completes at mp_net__fake_drain;
 * unsent: bytes of the fake's held writes (a socket's write_queue_size). */
typedef struct mp_net_fake_ops {
    size_t (*capture)(mp_conn_t *c, const uv_buf_t *bufs, unsigned n);
    bool (*hold)(mp_conn_t *c, mp_conn_wdone_fn done, void *arg, size_t len);
    size_t (*unsent)(const mp_conn_t *c);
} mp_net_fake_ops_t;
extern mp_net_fake_ops_t mp_net__fake_ops;

/* ---- tls.c ---- */

/* A server context with Magpie's protocol versions, ciphers and ALPN and
 * no certificate yet (tests add theirs). NULL and err on failure. */
struct ssl_ctx_st *mp_tls__ctx_new(char *err, size_t errlen);
/* The same with the PEM chain and key of these files, checked to match. */
struct ssl_ctx_st *mp_tls__ctx_load(const char *cert, const char *key, char *err, size_t errlen);
void mp_tls__ctx_free(struct ssl_ctx_st *ctx);
/* Starts TLS on an accepted connection (server side, handshake pending). */
bool mp_tls__conn_new(mp_conn_t *c, struct ssl_ctx_st *ctx);
void mp_tls__conn_free(mp_conn_t *c);
/* True when c is not TLS or its handshake is complete. */
bool mp_tls__ready(const mp_conn_t *c);
/* Ciphertext from the socket: handshake, then plaintext to mp_conn__input. */
void mp_tls__received(mp_conn_t *c, const char *data, size_t len);
/* mp_conn__write for a TLS connection: encrypts bufs into one write. */
void mp_tls__write(mp_conn_t *c, const uv_buf_t *bufs, unsigned n, mp_conn_wdone_fn done,
                   void *arg);
/* True when c is TLS and records may be written (handshake done, no
 * failure): a shared flush may seal its batch on an I/O thread. */
bool mp_tls__sealable(const mp_conn_t *c);
/* Encrypts bufs into records, returned in *out (mp_malloc, *len bytes).
 * Touches t and nothing else, so any one thread at a time may call it (an
 * I/O helper, net/ws_flush.c). False when OpenSSL refused: the connection
 * must close. */
bool mp_tls__seal(struct mp_tls *t, const uv_buf_t *bufs, unsigned n, char **out, size_t *len);
/* After a seal: gives back the write BIO's memory as mp_tls__write does.
 * Loop thread. */
void mp_tls__trim(mp_conn_t *c);
/* Sends close_notify before the write side is shut down. */
void mp_tls__shutdown(mp_conn_t *c);

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
/* Sends "100 Continue" when r asked for it (Expect: 100-continue). */
void mp_http__continue(mp_conn_t *c, mp_http_req_t *r);
/* Restarts reading for the streamed body of c->http->sreq (feeds the stash
 * first) unless its consumer paused it. */
void mp_http__body_resume(mp_conn_t *c);
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
/* Runs the wait callback of the streamed response at the head of c's FIFO
 * when its output has drained to the mark (after a write completed). */
void mp_http__stream_drained(mp_conn_t *c);
/* A request is being answered: for a streamed-body request whose body is
 * not all in, the rest is never read (the connection closes after the
 * answer, what still arrives is discarded). Before the head is built. */
void mp_http__body_answered(mp_http_req_t *req);
/* Writes the access-log line of a finished request. */
void mp_http__access_log(const mp_http_req_t *req);
/* Answers GET /metrics (net/metrics.c). */
void mp_server__metrics(mp_http_req_t *req);

/* ---- dispatch.c ---- */

/* Runs the middleware chain and the route handler for a complete request. */
void mp_http__dispatch(mp_http_req_t *req);
/* True when req (head parsed) goes to an MP_ROUTE_BODY_STREAM route. */
bool mp_http__stream_route(const mp_http_req_t *req);
/* Extracts "Authorization: Bearer <token>" into req->token (if any). */
void mp_http__bearer(mp_http_req_t *req);
/* True when origin is allowed by a comma list ("*" = any). */
bool mp_http__origin_listed(const char *list, const char *origin);

/* ---- caps.c ---- */

void mp_caps__init(mp_server_t *srv);
void mp_caps__free(mp_server_t *srv);
/* Raises the open-file limit as far as max_connections needs, and lowers the
 * cap in effect when the limit stays too low (logged). */
void mp_caps__fit_fd_limit(mp_server_t *srv);
/* Key of a client address for the per-address cap: the IPv4 address or the
 * /64 prefix of an IPv6 one (IPv4-mapped IPv6 counts as IPv4). 0 = none. */
uint64_t mp_caps__ip_key(const struct sockaddr *sa);
/* Checks a just-accepted connection against max_connections and
 * max_connections_per_ip and counts it. Over a cap it answers 503/429 without
 * reading, closes c and returns false. */
bool mp_caps__admit(mp_conn_t *c) __attribute__((warn_unused_result));
/* Uncounts c (once; called when the connection is released). */
void mp_caps__conn_gone(mp_conn_t *c);
/* NULL when who may open one more authenticated WebSocket, else why not
 * (max_ws_per_user, max_ws_per_device). */
const char *mp_caps__ws_refusal(const mp_server_t *srv, const mp_principal_t *who);
/* Counts a WebSocket that became authenticated / one that closed. Every open
 * must be matched by exactly one close (asserted). */
void mp_caps__ws_open(mp_server_t *srv, const mp_principal_t *who);
void mp_caps__ws_close(mp_server_t *srv, const mp_principal_t *who);
/* The client's address for a request that came through a trusted proxy:
 * from X-Forwarded-For, the last address not itself a trusted proxy. False
 * when the connection is not from one, or the header names no address. */
bool mp_caps__forwarded(const mp_http_req_t *req, uint8_t addr[16]);
/* The per-address key (as mp_caps__ip_key) of a 16-byte address. */
uint64_t mp_caps__addr_key(const uint8_t addr[16]);
/* Grows r's share of max_body_total to bytes. False when the budget would be
 * exceeded (nothing reserved then). */
bool mp_caps__body_reserve(mp_http_req_t *r, size_t bytes) __attribute__((warn_unused_result));
/* Gives r's share back (request freed). */
void mp_caps__body_release(mp_http_req_t *r);

/* ---- host.c ---- */

/* True when the Host header value host (may be NULL) is allowed by
 * allowed_hosts; loopback names pass when the listener is loopback. */
bool mp_http__host_allowed(const mp_config_t *cfg, const char *host);
/* The name part of a Host header value ("[v6]" keeps its brackets) into
 * out; false when the value is malformed or does not fit. */
bool mp_http__host_name(const char *host, char *out, size_t outlen);

/* ---- ws_handshake.c, ws_in.c, ws_out.c ---- */

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
#define MP_WS_BATCH 256                    /* frames per write */
#define MP_WS_BATCH_BUFS (2 * MP_WS_BATCH) /* a header and a payload each; IOV_MAX is 1024 */
/* The first half of mp_ws__flush: takes the next batch of c's queue into
 * bufs (MP_WS_BATCH_BUFS of room), marks it being written and returns the
 * buffers used, the batch (for mp_ws__batch_done) and its bytes; 0 when
 * there is nothing to write or a batch is being written already. The
 * caller must hand the batch to mp_conn__write (or mp_conn__write_rest)
 * with mp_ws__batch_done. */
unsigned mp_ws__take(mp_conn_t *c, uv_buf_t *bufs, void **batch, size_t *bytes);
void mp_ws__batch_done(mp_conn_t *c, void *arg);

/* ---- ws_flush.c: flushes shared with I/O threads ---- */

/* Writes the queued output of the connections waiting in srv->pend that it
 * can take (plain sockets with nothing in flight) on srv->io's threads and
 * the loop, when there are enough of them to pay for it, and leaves NULL in
 * their slots; the rest stay for mp_ws__flush. */
void mp_ws__flush_shared(mp_server_t *srv);
/* Stops srv's I/O threads and frees what the shared flushes kept. */
void mp_ws__io_free(mp_server_t *srv);
/* True when the WebSocket has nothing queued or being written. */
bool mp_ws__idle(const mp_conn_t *c);

#endif
