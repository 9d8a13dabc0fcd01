/* The metrics registry and its Prometheus text rendering (util/metrics.h). */
#include "util/metrics.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/clock.h"

/* ---- counters ---------------------------------------------------------------------------- */

static const struct {
    const char *name, *help, *labels;
} counter_info[MP_MC__COUNT] = {
    [MP_MC_MESSAGES_SENT] = {"magpie_messages_sent_total",
                             "Messages stored by a send (new messages, retries excluded).", NULL},
    [MP_MC_MESSAGES_DEDUP] = {"magpie_messages_deduplicated_total",
                              "Sends answered with the message an earlier try stored "
                              "(same client_msg_id).",
                              NULL},
    [MP_MC_MESSAGES_DELIVERED] = {"magpie_messages_delivered_total",
                                  "New-message events queued to WebSocket sessions.", NULL},
    [MP_MC_EVENTS_PUSHED] = {"magpie_events_pushed_total",
                             "Event frames queued to WebSocket sessions (every kind).", NULL},
    [MP_MC_SLOW_READERS] = {"magpie_slow_reader_disconnects_total",
                            "WebSockets closed because too much output waited unread.", NULL},
    [MP_MC_RATE_LIMITED_HTTP] = {"magpie_rate_limited_total", "Requests refused as too many.",
                                 "transport=\"http\""},
    [MP_MC_RATE_LIMITED_WS] = {"magpie_rate_limited_total", NULL, "transport=\"websocket\""},
    [MP_MC_TLS_HANDSHAKES] = {"magpie_tls_handshakes_total", "TLS handshakes completed.", NULL},
    [MP_MC_TLS_FAILURES] = {"magpie_tls_handshake_failures_total",
                            "TLS connections closed for a failed or timed-out handshake "
                            "(bad input, no common protocol version or cipher).",
                            NULL},
    [MP_MC_IO_SHARED_FLUSHES] = {"magpie_io_shared_flushes_total",
                                 "Output flushes whose socket writes the loop shared with "
                                 "the I/O threads (io_threads).",
                                 NULL},
    [MP_MC_IO_HELPER_WRITES] = {"magpie_io_helper_writes_total",
                                "Socket writes made by an I/O thread other than the loop.", NULL},
};

static atomic_uint_fast64_t counters[MP_MC__COUNT];

void mp_metrics_add(mp_metric_counter_t c, uint64_t n)
{
    atomic_fetch_add_explicit(&counters[c], n, memory_order_relaxed);
}

void mp_metrics_inc(mp_metric_counter_t c)
{
    mp_metrics_add(c, 1);
}

uint64_t mp_metrics_get(mp_metric_counter_t c)
{
    return atomic_load_explicit(&counters[c], memory_order_relaxed);
}

/* ---- histograms -------------------------------------------------------------------------- */

#define NS 1000000000.0
#define MAX_BUCKETS 16

/* Bounds in the raw unit (ns or a count); rendered divided by scale. */
static const uint64_t jobs_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
static const uint64_t sec_bounds[] = {
    100000,   250000,    500000,    1000000,   2500000,    5000000,    10000000,   25000000,
    50000000, 100000000, 250000000, 500000000, 1000000000, 2500000000, 5000000000, 10000000000};

typedef struct {
    const char *name, *help;
    const uint64_t *bounds;
    size_t n;
    double scale;
} hist_info_t;

#define BOUNDS(a) a, sizeof(a) / sizeof((a)[0])
static const hist_info_t hist_info[MP_MH__COUNT] = {
    [MP_MH_STORE_BATCH_JOBS] = {"magpie_store_batch_jobs",
                                "Write jobs carried by one group-commit transaction.",
                                BOUNDS(jobs_bounds), 1.0},
    [MP_MH_STORE_TXN_SECONDS] = {"magpie_store_transaction_seconds",
                                 "One group-commit write transaction, BEGIN to COMMIT done.",
                                 BOUNDS(sec_bounds), NS},
    [MP_MH_STORE_COMMIT_SECONDS] = {"magpie_store_commit_seconds",
                                    "The COMMIT of a write transaction alone (its fsync).",
                                    BOUNDS(sec_bounds), NS},
    [MP_MH_SEND_ACK_SECONDS] = {"magpie_send_ack_seconds",
                                "From a send frame's arrival to its acknowledgement "
                                "(the message durable).",
                                BOUNDS(sec_bounds), NS},
};

typedef struct {
    atomic_uint_fast64_t buckets[MAX_BUCKETS + 1]; /* per bucket, not cumulative; last = +Inf */
    atomic_uint_fast64_t sum;
} hist_t;

static hist_t hists[MP_MH__COUNT];

void mp_metrics_observe(mp_metric_hist_t h, uint64_t v)
{
    const hist_info_t *hi = &hist_info[h];
    size_t i = 0;
    while (i < hi->n && v > hi->bounds[i])
        i++;
    atomic_fetch_add_explicit(&hists[h].buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&hists[h].sum, v, memory_order_relaxed);
}

/* ---- labelled families (loop thread) ----------------------------------------------------- */

#define LABEL_MAX 96
#define TABLE_MAX 256

typedef struct {
    char a[LABEL_MAX];
    int b;
    uint64_t n;
} lentry_t;

typedef struct {
    lentry_t e[TABLE_MAX];
    size_t n;
} ltab_t;

static ltab_t http_tab, wsreq_tab, wserr_tab;

/* The sets are bounded by the program's own tables; should they ever outgrow
 * TABLE_MAX, the excess is counted under "other" in the last slot rather than
 * lost or grown without bound. */
static void ltab_add(ltab_t *t, const char *a, int b)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->e[i].b == b && strcmp(t->e[i].a, a) == 0) {
            t->e[i].n++;
            return;
        }
    if (t->n == TABLE_MAX - 1) {
        a = "other";
        b = 0;
        for (size_t i = 0; i < t->n; i++)
            if (t->e[i].b == b && strcmp(t->e[i].a, a) == 0) {
                t->e[i].n++;
                return;
            }
    }
    if (t->n >= TABLE_MAX) {
        t->e[TABLE_MAX - 1].n++;
        return;
    }
    lentry_t *e = &t->e[t->n++];
    snprintf(e->a, sizeof e->a, "%s", a);
    e->b = b;
    e->n = 1;
}

void mp_metrics_http(const char *route, int status)
{
    ltab_add(&http_tab, route, status);
    if (status == 429)
        mp_metrics_inc(MP_MC_RATE_LIMITED_HTTP);
}

void mp_metrics_ws_request(const char *type)
{
    ltab_add(&wsreq_tab, type, 0);
}

void mp_metrics_ws_error(const char *code)
{
    ltab_add(&wserr_tab, code, 0);
    if (strcmp(code, "rate_limited") == 0)
        mp_metrics_inc(MP_MC_RATE_LIMITED_WS);
}

/* ---- rendering --------------------------------------------------------------------------- */

static int64_t started_ms;

void mp_metrics_start(int64_t now_ms)
{
    started_ms = now_ms;
}

void mp_metrics_printf(mp_metrics_buf_t *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->data ? b->data + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (size_t)n + 256;
        b->data = mp_realloc(b->data, b->cap);
    }
}

void mp_metrics_header(mp_metrics_buf_t *b, const char *name, const char *type, const char *help)
{
    mp_metrics_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value as the format wants it: backslash, quote and newline escaped. */
static void put_label(mp_metrics_buf_t *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            mp_metrics_printf(b, "\\%c", *v);
        else if (*v == '\n')
            mp_metrics_printf(b, "\\n");
        else
            mp_metrics_printf(b, "%c", *v);
    }
}

static void render_counters(mp_metrics_buf_t *b)
{
    for (int c = 0; c < MP_MC__COUNT; c++) {
        if (counter_info[c].help != NULL)
            mp_metrics_header(b, counter_info[c].name, "counter", counter_info[c].help);
        const char *l = counter_info[c].labels;
        mp_metrics_printf(b, "%s%s%s%s %llu\n", counter_info[c].name, l ? "{" : "", l ? l : "",
                          l ? "}" : "", (unsigned long long)mp_metrics_get((mp_metric_counter_t)c));
    }
}

static void render_hists(mp_metrics_buf_t *b)
{
    for (int h = 0; h < MP_MH__COUNT; h++) {
        const hist_info_t *hi = &hist_info[h];
        mp_metrics_header(b, hi->name, "histogram", hi->help);
        /* Read every bucket once; the count is their sum, so _count always
         * equals the +Inf bucket even while other threads observe. */
        uint64_t cum = 0;
        for (size_t i = 0; i <= hi->n; i++) {
            cum += atomic_load_explicit(&hists[h].buckets[i], memory_order_relaxed);
            if (i < hi->n)
                mp_metrics_printf(b, "%s_bucket{le=\"%g\"} %llu\n", hi->name,
                                  (double)hi->bounds[i] / hi->scale, (unsigned long long)cum);
            else
                mp_metrics_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", hi->name,
                                  (unsigned long long)cum);
        }
        uint64_t sum = atomic_load_explicit(&hists[h].sum, memory_order_relaxed);
        mp_metrics_printf(b, "%s_sum %.9g\n%s_count %llu\n", hi->name, (double)sum / hi->scale,
                          hi->name, (unsigned long long)cum);
    }
}

static void render_table(mp_metrics_buf_t *b, const ltab_t *t, const char *name, const char *help,
                         const char *la, const char *lb)
{
    mp_metrics_header(b, name, "counter", help);
    for (size_t i = 0; i < t->n; i++) {
        mp_metrics_printf(b, "%s{%s=\"", name, la);
        put_label(b, t->e[i].a);
        if (lb != NULL)
            mp_metrics_printf(b, "\",%s=\"%d", lb, t->e[i].b);
        mp_metrics_printf(b, "\"} %llu\n", (unsigned long long)t->e[i].n);
    }
}

static long long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    long long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static long long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    long long size = 0, rss = -1;
    if (fscanf(f, "%lld %lld", &size, &rss) != 2)
        rss = -1;
    fclose(f);
    return rss < 0 ? -1 : rss * sysconf(_SC_PAGESIZE);
}

static void render_process(mp_metrics_buf_t *b)
{
    long long rss = rss_bytes(), fds = open_fds();
    if (rss >= 0) {
        mp_metrics_header(b, "process_resident_memory_bytes", "gauge", "Resident memory size.");
        mp_metrics_printf(b, "process_resident_memory_bytes %lld\n", rss);
    }
    if (fds >= 0) {
        mp_metrics_header(b, "process_open_fds", "gauge", "Open file descriptors.");
        mp_metrics_printf(b, "process_open_fds %lld\n", fds);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        mp_metrics_header(b, "process_max_fds", "gauge", "Limit on open file descriptors.");
        mp_metrics_printf(b, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
    }
    int64_t now = mp_now_ms(), start = started_ms ? started_ms : now;
    mp_metrics_header(b, "process_start_time_seconds", "gauge",
                      "Start time of the process since the Unix epoch, in seconds.");
    mp_metrics_printf(b, "process_start_time_seconds %.3f\n", (double)start / 1000.0);
    mp_metrics_header(b, "magpie_uptime_seconds", "gauge", "Seconds since the server started.");
    mp_metrics_printf(b, "magpie_uptime_seconds %.3f\n",
                      (double)(now > start ? now - start : 0) / 1000.0);
    mp_metrics_header(b, "magpie_build_info", "gauge", "Always 1; the version as a label.");
    mp_metrics_printf(b, "magpie_build_info{version=\"%s\"} 1\n", MAGPIE_VERSION);
}

void mp_metrics_render(mp_metrics_buf_t *b)
{
    render_process(b);
    render_counters(b);
    render_hists(b);
    render_table(b, &http_tab, "magpie_http_requests_total",
                 "HTTP requests answered, by route pattern and status.", "route", "status");
    render_table(b, &wsreq_tab, "magpie_ws_requests_total",
                 "WebSocket request frames, by verb type.", "type", NULL);
    render_table(b, &wserr_tab, "magpie_ws_errors_total", "WebSocket error replies, by error code.",
                 "code", NULL);
}

void mp_metrics_reset(void)
{
    for (int c = 0; c < MP_MC__COUNT; c++)
        atomic_store(&counters[c], 0);
    memset(hists, 0, sizeof hists);
    http_tab.n = wsreq_tab.n = wserr_tab.n = 0;
}
