/* The gateway: listener, HTTP/1.1 connections, router and middleware, and
 * WebSocket sessions at GET /v1/ws. It knows nothing of chat: routes and
 * WebSocket verbs are handed to it, and it reports session life to hooks. */
#ifndef MP_NET_SERVER_H
#define MP_NET_SERVER_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "net/gw.h"
#include "net/http.h"
#include "proto/principal.h"
#include "util/metrics.h"

/* Hooks the application gives the gateway. All run on the loop thread. */
typedef struct mp_server_hooks {
    /* Validates a bearer token (HTTP Authorization header, the WebSocket
     * upgrade header, or the `auth` frame). Returns MP_OK and fills *who, or
     * MP_ERR_UNAUTHORIZED. Must not block. */
    mp_err_t (*authenticate)(void *ctx, const char *token, mp_principal_t *who);
    /* A WebSocket session became authenticated. */
    void (*session_open)(void *ctx, mp_sid_t sid, const mp_principal_t *who);
    /* An authenticated session closed (called once, after session_open). */
    void (*session_close)(void *ctx, mp_sid_t sid, const mp_principal_t *who);
    /* A request frame from an authenticated session, other than `auth`:
     * {"id":<int>,"type":"<string>",...}. The gateway has checked that id is an
     * integer and type a string; everything else is the callee's. The callee
     * answers later with mp_gw_reply()/mp_gw_error(). frame is borrowed. */
    void (*frame)(void *ctx, mp_sid_t sid, const mp_principal_t *who, int64_t req_id,
                  const char *type, json_t *frame);
    /* GET /readyz: returns 1 when the store answers. */
    int (*ready)(void *ctx);
    /* GET /metrics: appends the application's metrics (its server's
     * connections among them, mp_server_render_connections) to those of
     * util/metrics.h. NULL: this server's connections only. */
    void (*metrics)(void *ctx, mp_metrics_buf_t *b);
    /* Optional, tried first for each text frame of an authenticated session
     * (m is valid UTF-8, borrowed): true when the callee read the frame
     * itself and answers it; false sends it down the usual path (parsed,
     * checked, `frame`). For the hot frames, read without a JSON tree. */
    bool (*raw_frame)(void *ctx, mp_sid_t sid, const mp_principal_t *who, const char *m, size_t n);
} mp_server_hooks_t;

/* Creates a server on loop. cfg must outlive it. routes is an array ended by a
 * zeroed entry and must outlive the server. ctx is passed to every hook and
 * handler. */
mp_server_t *mp_server_new(uv_loop_t *loop, const mp_config_t *cfg, const mp_route_t *routes,
                           const mp_server_hooks_t *hooks, void *ctx);

/* Gives each route's handler the state of the module that owns it: mods[i]
 * goes with routes[i] of mp_server_new and is what mp_http_req_mod()
 * answers (NULL for every route until this is called). mods must outlive the
 * server. */
void mp_server_set_route_mods(mp_server_t *srv, void *const *mods);

/* Makes srv answer GET /metrics only (404 to everything else): the listener
 * of metrics_listen. Call before mp_server_listen. */
void mp_server_set_metrics_only(mp_server_t *srv);
/* Makes srv answer every request with a 301 to the same Host and path on
 * https:// at https_port (443 is left out of the URL): the listener of
 * tls_redirect_listen. Call before mp_server_listen. */
void mp_server_set_https_redirect(mp_server_t *srv, int https_port);
/* TLS on srv's listener from cfg's tls_cert and tls_key: loads them, or
 * again (SIGHUP), for the connections accepted from now on; open ones keep
 * the certificate they began with. On failure the one in use stays and err
 * says why. Call before mp_server_listen for the first load. Loop thread. */
int mp_server_tls_load(mp_server_t *srv, char *err, size_t errlen);
/* Appends the gauges of srv's connections (by protocol and state) and of its
 * queued output, and the loop's busy time, in the Prometheus text format.
 * Loop thread only. */
void mp_server_render_connections(const mp_server_t *srv, mp_metrics_buf_t *b);
/* Seconds srv's loop thread has spent since mp_server_new doing anything
 * but waiting for events (libuv's idle time taken from the time gone by);
 * -1 when libuv cannot count its idle time. Loop thread only. */
double mp_server_loop_busy_seconds(const mp_server_t *srv);

/* Shares the socket writes of large flushes (a message to many sessions)
 * between the loop and n - 1 I/O threads (net/iopool.h); n <= 1 writes on
 * the loop alone (the default). Threads that cannot be started leave it at
 * one (logged by the caller: mp_server_io_threads says what is in effect).
 * Loop thread; call before mp_server_listen. */
void mp_server_set_io_threads(mp_server_t *srv, unsigned n);
unsigned mp_server_io_threads(const mp_server_t *srv);

/* Hands every GET or HEAD request that no route takes, outside /v1/ and
 * the health routes, to fn (with mod as mp_http_req_mod) instead of
 * answering 404: the web client's files and its client-side routes. The
 * request has no principal (nothing of the client needs one). */
void mp_server_set_fallback(mp_server_t *srv, mp_http_handler_fn fn, void *mod);

/* Binds and listens on cfg->listen_host:listen_port. On success the bound port
 * (useful with port 0) is in *port_out. Returns 0 or a negative libuv error. */
int mp_server_listen(mp_server_t *srv, int *port_out);

/* Stops accepting and closes every connection: HTTP ones at once, WebSockets
 * with a close frame 1001 "going away" that they get up to MP_NET_CLOSE_MS
 * (1 s) to read. Calls done when all handles are closed (the loop can then be
 * stopped); the loop must keep running until then. */
void mp_server_shutdown(mp_server_t *srv, void (*done)(void *arg), void *arg);
void mp_server_free(mp_server_t *srv);

/* True on the thread that created srv (the loop thread), for the asserts of
 * modules that share the loop's no-lock rule. */
bool mp_server_on_loop(const mp_server_t *srv);

/* Number of open connections (HTTP + WebSocket). */
size_t mp_server_connections(const mp_server_t *srv);

#endif
