/* Process-wide metrics, rendered in the Prometheus text exposition format
 * (0.0.4) by GET /metrics (docs/metrics.md).
 *
 * Every metric and every label value is declared up front or comes from a
 * bounded set the program itself defines (route patterns, verb types, error
 * codes, HTTP statuses): no user-supplied string and no id ever becomes a
 * label. Counters and histograms are relaxed atomics, so the store's threads
 * may update them; the labelled families (HTTP requests, WebSocket requests
 * and errors) are updated and rendered on the loop thread only. */
#ifndef MP_UTIL_METRICS_H
#define MP_UTIL_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MP_MC_MESSAGES_SENT,      /* sends that stored a new message */
    MP_MC_MESSAGES_DEDUP,     /* sends answered with the message of an earlier retry */
    MP_MC_MESSAGES_DELIVERED, /* new-message events queued to WebSocket sessions */
    MP_MC_EVENTS_PUSHED,      /* every event frame queued to a WebSocket session */
    MP_MC_SLOW_READERS,       /* WebSockets closed 1008 "slow reader" */
    MP_MC_RATE_LIMITED_HTTP,  /* HTTP answers 429 */
    MP_MC_RATE_LIMITED_WS,    /* WebSocket errors rate_limited */
    MP_MC_TLS_HANDSHAKES,     /* TLS handshakes completed */
    MP_MC_TLS_FAILURES,       /* TLS connections that failed before or during the handshake */
    MP_MC_IO_SHARED_FLUSHES,  /* flushes whose socket writes the I/O threads shared */
    MP_MC_IO_HELPER_WRITES,   /* socket writes an I/O thread other than the loop made */
    MP_MC__COUNT
} mp_metric_counter_t;

typedef enum {
    MP_MH_STORE_BATCH_JOBS,     /* write jobs per group-commit transaction */
    MP_MH_STORE_TXN_SECONDS,    /* one group-commit transaction, BEGIN to COMMIT done */
    MP_MH_STORE_COMMIT_SECONDS, /* the COMMIT alone (where the fsync happens) */
    MP_MH_SEND_ACK_SECONDS,     /* a send frame's arrival to its acknowledgement */
    MP_MH__COUNT
} mp_metric_hist_t;

/* Adds 1 / n to counter c. Any thread. */
void mp_metrics_inc(mp_metric_counter_t c);
void mp_metrics_add(mp_metric_counter_t c, uint64_t n);
uint64_t mp_metrics_get(mp_metric_counter_t c);

/* Records one observation: v in nanoseconds for the *_SECONDS histograms,
 * a plain count for the others. Any thread. */
void mp_metrics_observe(mp_metric_hist_t h, uint64_t v);

/* One finished HTTP request: route is the route's pattern (a string from the
 * route table, or one of a few fixed names), status the HTTP status. Loop
 * thread only. */
void mp_metrics_http(const char *route, int status);
/* One WebSocket request frame of the given verb type (from the verb table, or
 * "unknown"). Loop thread only. */
void mp_metrics_ws_request(const char *type);
/* One WebSocket error reply, by its wire code (proto/error.c). Loop thread. */
void mp_metrics_ws_error(const char *code);

/* A growable text buffer that the renderers append to. */
typedef struct mp_metrics_buf {
    char *data;
    size_t len, cap;
} mp_metrics_buf_t;

/* Appends printf-style text. */
void mp_metrics_printf(mp_metrics_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends "# HELP name help\n# TYPE name type\n". */
void mp_metrics_header(mp_metrics_buf_t *b, const char *name, const char *type, const char *help);
/* Appends every metric of this module and of the process (RSS, open files,
 * start time, uptime, build info). Loop thread only. */
void mp_metrics_render(mp_metrics_buf_t *b);
/* Records the process's start (wall clock, ms since the epoch) for the
 * start-time and uptime gauges. Call once at start-up. */
void mp_metrics_start(int64_t now_ms);
/* Forgets every counted value (unit tests only). */
void mp_metrics_reset(void);

#endif
