/* GET /metrics: the registry (util/metrics.h), the gateway's connections and
 * whatever the application adds through its metrics hook, in the Prometheus
 * text format (docs/metrics.md). */
#include <string.h>

#include "net/conn.h"
#include "net/ws.h"
#include "util/alloc.h"
#include "util/metrics.h"

void mp_server_render_connections(const mp_server_t *srv, mp_metrics_buf_t *b)
{
    /* Counted by walking the list at scrape time: nothing to keep in step on
     * the hot path, and a scrape every few seconds walks it cheaply. */
    size_t http_hs = 0, http_idle = 0, http_active = 0, http_closing = 0;
    size_t ws_auth = 0, ws_open = 0, ws_closing = 0;
    for (const mp_conn_t *c = srv->conns; c != NULL; c = c->next) {
        bool closing = (c->flags & (MP_C_CLOSED | MP_C_DRAIN | MP_C_SHUT)) != 0;
        if (c->ws == NULL) {
            if (closing)
                http_closing++;
            else if (!mp_tls__ready(c))
                http_hs++;
            else if (c->http != NULL && (c->http->cur != NULL || c->http->head != NULL))
                http_active++; /* a request being read, handled or written */
            else
                http_idle++;
        } else if (closing || c->ws->close_sent) {
            ws_closing++;
        } else if (c->ws->authed) {
            ws_open++;
        } else {
            ws_auth++;
        }
    }
    const char *name = "magpie_connections";
    mp_metrics_header(b, name, "gauge", "Client connections now, by protocol and state.");
    mp_metrics_printf(b, "%s{kind=\"http\",state=\"handshaking\"} %zu\n", name, http_hs);
    mp_metrics_printf(b, "%s{kind=\"http\",state=\"idle\"} %zu\n", name, http_idle);
    mp_metrics_printf(b, "%s{kind=\"http\",state=\"active\"} %zu\n", name, http_active);
    mp_metrics_printf(b, "%s{kind=\"http\",state=\"closing\"} %zu\n", name, http_closing);
    mp_metrics_printf(b, "%s{kind=\"websocket\",state=\"authenticating\"} %zu\n", name, ws_auth);
    mp_metrics_printf(b, "%s{kind=\"websocket\",state=\"authenticated\"} %zu\n", name, ws_open);
    mp_metrics_printf(b, "%s{kind=\"websocket\",state=\"closing\"} %zu\n", name, ws_closing);
    mp_metrics_header(b, "magpie_output_queued_bytes", "gauge",
                      "Output bytes held for clients that have not taken them yet.");
    mp_metrics_printf(b, "magpie_output_queued_bytes %zu\n", srv->out_total);
    double busy = mp_server_loop_busy_seconds(srv);
    if (busy >= 0) {
        mp_metrics_header(b, "magpie_loop_busy_seconds_total", "counter",
                          "Seconds the event loop spent running rather than waiting for events.");
        mp_metrics_printf(b, "magpie_loop_busy_seconds_total %.6f\n", busy);
    }
}

void mp_server__metrics(mp_http_req_t *req)
{
    mp_server_t *srv = req->srv;
    mp_metrics_buf_t b = {0};
    mp_metrics_render(&b);
    if (srv->hooks.metrics != NULL)
        srv->hooks.metrics(srv->ctx, &b);
    else
        mp_server_render_connections(srv, &b);
    if (mp_http_stream_begin_length(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.len) &&
        b.len > 0)
        mp_http_stream_write_owned(req, b.data, b.len);
    else
        mp_free(b.data);
    mp_http_stream_end(req, true);
}
