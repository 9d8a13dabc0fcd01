/* What one bench worker measured: counters, latency histograms and the first
 * error seen; mergeable across workers and carried over a pipe as JSON. */
#ifndef MP_BENCH_STATS_H
#define MP_BENCH_STATS_H

#include <jansson.h>
#include <stdint.h>

#include "bench/hist.h"

typedef enum {
    MP_BENCH_H_CONNECT = 0, /* TCP connect + WebSocket upgrade */
    MP_BENCH_H_ACK,         /* send -> ok reply (committed and fsynced) */
    MP_BENCH_H_DELIVER,     /* send -> message event at the peer */
    MP_BENCH_H_READ,        /* history request -> reply */
    MP_BENCH_H_LAST,        /* group: send -> the last online device has it (per message) */
    MP_BENCH_H__COUNT
} mp_bench_hist_id_t;

/* Counters, in the order they are printed and serialised. */
#define MP_BENCH_COUNTERS(X)                                                                       \
    X(conns_ok)      /* connections authenticated and upgraded */                                  \
    X(conns_failed)  /* connection attempts that failed */                                         \
    X(conns_dropped) /* established connections the server closed */                               \
    X(conns_open)    /* connections open right now (progress) or at the end */                     \
    X(sent)          /* send frames written */                                                     \
    X(acked)         /* ok replies to send */                                                      \
    X(send_errors)   /* error replies to send (rate_limited, ...) */                               \
    X(delivered)     /* message events received from a peer */                                     \
    X(reads)         /* ok replies to history */                                                   \
    X(read_errors)   /* error replies to history */                                                \
    X(late)          /* fixed-rate ticks skipped because the window was full */                    \
    X(errors)        /* every error of any kind, including the ones above */

typedef struct mp_bench_stats {
#define MP_BENCH_FIELD(name) uint64_t name;
    MP_BENCH_COUNTERS(MP_BENCH_FIELD)
#undef MP_BENCH_FIELD
    int64_t elapsed_ms;     /* measured phase (max over workers) */
    int64_t connect_all_ms; /* start of ramp -> last connection up (max over workers) */
    char first_error[200];  /* first error message, "" if none */
    mp_bench_hist_t hist[MP_BENCH_H__COUNT];
} mp_bench_stats_t;

extern const char *const mp_bench_hist_names[MP_BENCH_H__COUNT];

/* Allocates a zeroed stats block (it holds the histograms, ~120 KiB). */
mp_bench_stats_t *mp_bench_stats_new(void);
void mp_bench_stats_free(mp_bench_stats_t *st);
void mp_bench_stats_reset(mp_bench_stats_t *st);

/* Counts one error and keeps its message if it is the first. */
void mp_bench_stats_error(mp_bench_stats_t *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Adds src into dst: counters summed, durations max'ed, histograms merged,
 * first error kept from dst unless it is empty. */
void mp_bench_stats_merge(mp_bench_stats_t *dst, const mp_bench_stats_t *src);

/* Counters only (progress lines): {"conns_ok":..,...}. New reference. */
json_t *mp_bench_stats_counters_json(const mp_bench_stats_t *st);
/* Everything, histograms included. New reference. */
json_t *mp_bench_stats_to_json(const mp_bench_stats_t *st);
/* Parses either form back (missing histograms stay empty). Returns 0 or -1. */
int mp_bench_stats_from_json(mp_bench_stats_t *st, const json_t *j)
    __attribute__((warn_unused_result));

#endif
