/* Bench results: the aligned table on stdout, the JSON file, the gnuplot
 * latency plot, and the server's RSS from /proc. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_int.h"

static const char *const hist_titles[MP_BENCH_H__COUNT] = {"connect", "send->ack", "send->delivery",
                                                           "history read", "send->last device"};

/* Latency i's title in this scenario: the reads of `sync` are sync pages. */
static const char *hist_title(const mp_bench_opts_t *o, int i)
{
    if (i == MP_BENCH_H_READ && strcmp(o->scenario, "sync") == 0)
        return "sync read";
    return hist_titles[i];
}
static const double pcts[] = {50, 90, 99, 99.9, 100};
static const char *const pct_names[] = {"p50", "p90", "p99", "p99_9", "max"};
#define N_PCTS (sizeof(pcts) / sizeof(pcts[0]))

long mp_bench__rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static double secs(const mp_bench_stats_t *st)
{
    return st->elapsed_ms > 0 ? (double)st->elapsed_ms / 1000.0 : 0;
}

static double per_s(uint64_t n, const mp_bench_stats_t *st)
{
    return secs(st) > 0 ? (double)n / secs(st) : 0;
}

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static long mem_per_conn(const mp_bench_server_mem_t *mem)
{
    if (mem == NULL || mem->rss_base_kb < 0 || mem->rss_peak_kb < 0 || mem->peak_conns == 0)
        return -1;
    return (mem->rss_peak_kb - mem->rss_base_kb) * 1024 / (long)mem->peak_conns;
}

static void row(FILE *out, const char *name, uint64_t n, const mp_bench_stats_t *st, bool rate)
{
    if (rate)
        fprintf(out, "  %-22s %12" PRIu64 " %14.1f/s\n", name, n, per_s(n, st));
    else
        fprintf(out, "  %-22s %12" PRIu64 "\n", name, n);
}

void mp_bench__report_table(const mp_bench_opts_t *o, const mp_bench_stats_t *st,
                            const mp_bench_server_mem_t *mem, const mp_bench_group_result_t *grp,
                            FILE *out)
{
    bool conn = strcmp(o->scenario, "connect") == 0;
    bool sync = strcmp(o->scenario, "sync") == 0;
    bool hist = sync || strcmp(o->scenario, "history") == 0;
    fprintf(out, "magpie bench %s against %s", o->scenario, o->hostport);
    if (o->n_servers > 1)
        fprintf(out, " and %u more node%s", o->n_servers - 1, o->n_servers > 2 ? "s" : "");
    fprintf(out, ": ");
    if (conn)
        fprintf(out, "%u connections, ramp %.0f/s, held %.1f s", o->connections, o->ramp,
                o->duration_s);
    else {
        char rate[32] = "as fast as possible";
        if (o->rate > 0)
            snprintf(rate, sizeof(rate), "%.0f/s", o->rate);
        if (grp != NULL)
            fprintf(out, "1 group of %u members, %u online, %.1f s, rate %s, window %u", o->members,
                    o->online, o->duration_s, rate, o->window);
        else
            fprintf(out, "%u pairs, %.1f s, rate %s, window %u", o->pairs, o->duration_s, rate,
                    o->window);
    }
    fprintf(out, ", %u process%s\n\n", o->procs, o->procs == 1 ? "" : "es");

    fprintf(out, "  %-22s %12s %16s\n", "", "count", "rate");
    row(out, "connections ok", st->conns_ok, st, false);
    row(out, "connections failed", st->conns_failed, st, false);
    row(out, "connections dropped", st->conns_dropped, st, false);
    row(out, "connections held", st->conns_open, st, false);
    if (conn && st->connect_all_ms > 0)
        fprintf(out, "  %-22s %12.3f s\n", "time to connect all", st->connect_all_ms / 1000.0);
    if (!conn) {
        fprintf(out, "  %-22s %12.3f s\n", "measured for", secs(st));
        row(out, hist ? "seeded (sent)" : "sent", st->sent, st, !hist);
        row(out, "acked", st->acked, st, !hist);
        row(out, "send errors", st->send_errors, st, false);
        row(out, "delivered", st->delivered, st, !hist);
        if (hist) {
            row(out, sync ? "sync reads" : "history reads", st->reads, st, true);
            row(out, sync ? "sync errors" : "history errors", st->read_errors, st, false);
        }
        if (o->rate > 0)
            row(out, "late (window full)", st->late, st, false);
        if (grp != NULL) {
            row(out, "online devices", grp->online, st, false);
            fprintf(out, "  %-22s %12.3f s\n", "server settled in", grp->settle_ms / 1000.0);
            row(out, "expected deliveries", grp->expected, st, false);
            row(out, "messages complete", grp->complete, st, false);
            row(out, "messages incomplete", grp->incomplete, st, false);
        }
    }
    long pc = mem_per_conn(mem);
    if (mem != NULL && mem->rss_base_kb >= 0) {
        fprintf(out, "  %-22s %9ld KiB -> %ld KiB with %" PRIu64 " connections\n", "server RSS",
                mem->rss_base_kb, mem->rss_peak_kb, mem->peak_conns);
        if (pc >= 0)
            fprintf(out, "  %-22s %12ld B\n", "server RSS per conn", pc);
    }

    fprintf(out, "\n  %-22s %10s %9s %9s %9s %9s %9s %9s\n", "latency (ms)", "n", "p50", "p90",
            "p99", "p99.9", "max", "mean");
    for (int i = 0; i < MP_BENCH_H__COUNT; i++) {
        const mp_bench_hist_t *h = &st->hist[i];
        if (h->n == 0)
            continue;
        fprintf(out, "  %-22s %10" PRIu64, hist_title(o, i), h->n);
        for (size_t k = 0; k < N_PCTS; k++)
            fprintf(out, " %9.3f", ms(mp_bench_hist_percentile(h, pcts[k])));
        fprintf(out, " %9.3f\n", mp_bench_hist_mean(h) / 1e6);
    }
    if (st->errors == 0)
        fprintf(out, "\nRESULT: ok, no errors\n");
    else
        fprintf(out, "\nRESULT: %" PRIu64 " ERROR%s (first: %s)\n", st->errors,
                st->errors == 1 ? "" : "S", st->first_error);
}

static json_t *latency_json(const mp_bench_hist_t *h)
{
    json_t *j = json_object();
    json_object_set_new(j, "n", json_integer((json_int_t)h->n));
    for (size_t k = 0; k < N_PCTS; k++)
        json_object_set_new(j, pct_names[k], json_real(ms(mp_bench_hist_percentile(h, pcts[k]))));
    json_object_set_new(j, "mean", json_real(mp_bench_hist_mean(h) / 1e6));
    return j;
}

int mp_bench__report_json(const mp_bench_opts_t *o, const mp_bench_stats_t *st,
                          const mp_bench_server_mem_t *mem, const mp_bench_group_result_t *grp,
                          const char *path)
{
    json_t *j = json_object();
    json_object_set_new(j, "scenario", json_string(o->scenario));
    json_object_set_new(j, "options",
                        json_pack("{s:s,s:f,s:f,s:i,s:i,s:f,s:i,s:i,s:i,s:i,s:i,s:i}", "url",
                                  o->hostport, "duration_s", o->duration_s, "rate", o->rate,
                                  "pairs", (int)o->pairs, "connections", (int)o->connections,
                                  "ramp", o->ramp, "procs", (int)o->procs, "source_ips",
                                  (int)o->n_sources, "window", (int)o->window, "size", (int)o->size,
                                  "seed", (int)o->seed, "limit", (int)o->limit));
    json_object_set_new(j, "counters", mp_bench_stats_counters_json(st));
    json_object_set_new(j, "rates_per_s",
                        json_pack("{s:f,s:f,s:f,s:f}", "sent", per_s(st->sent, st), "acked",
                                  per_s(st->acked, st), "delivered", per_s(st->delivered, st),
                                  "reads", per_s(st->reads, st)));
    json_t *lat = json_object();
    for (int i = 0; i < MP_BENCH_H__COUNT; i++)
        if (st->hist[i].n > 0)
            json_object_set_new(lat, mp_bench_hist_names[i], latency_json(&st->hist[i]));
    json_object_set_new(j, "latency_ms", lat);
    if (mem != NULL && mem->rss_base_kb >= 0)
        json_object_set_new(j, "server",
                            json_pack("{s:I,s:I,s:I,s:I}", "rss_base_kb",
                                      (json_int_t)mem->rss_base_kb, "rss_peak_kb",
                                      (json_int_t)mem->rss_peak_kb, "peak_conns",
                                      (json_int_t)mem->peak_conns, "rss_per_conn_bytes",
                                      (json_int_t)mem_per_conn(mem)));
    if (grp != NULL)
        json_object_set_new(
            j, "group",
            json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "settle_ms", (json_int_t)grp->settle_ms,
                      "members", (json_int_t)grp->members, "online", (json_int_t)grp->online,
                      "expected_deliveries", (json_int_t)grp->expected, "complete",
                      (json_int_t)grp->complete, "incomplete", (json_int_t)grp->incomplete));
    json_object_set_new(j, "errors", json_integer((json_int_t)st->errors));
    json_object_set_new(j, "ok", json_boolean(st->errors == 0));
    int rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(j);
    if (rc != 0)
        fprintf(stderr, "magpie bench: cannot write %s\n", path);
    return rc;
}

static bool have_gnuplot(void)
{
    const char *path = getenv("PATH");
    char buf[1024];
    while (path != NULL && *path != '\0') {
        size_t n = strcspn(path, ":");
        snprintf(buf, sizeof(buf), "%.*s/gnuplot", (int)n, path);
        if (access(buf, X_OK) == 0)
            return true;
        path += n + (path[n] == ':');
    }
    return false;
}

int mp_bench__report_plot(const mp_bench_opts_t *o, const mp_bench_stats_t *st, const char *path)
{
    if (!have_gnuplot()) {
        fprintf(stderr, "magpie bench: --plot: gnuplot is not installed (apt-get install "
                        "gnuplot-nox); no plot written\n");
        return 0;
    }
    /* Percentile curves, x = 1/(1-q) on a log axis: the tail gets the room. */
    char data[] = "/tmp/magpie-bench-plot-XXXXXX";
    int fd = mkstemp(data);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    int series = 0;
    for (int i = 0; i < MP_BENCH_H__COUNT; i++) {
        const mp_bench_hist_t *h = &st->hist[i];
        if (h->n == 0)
            continue;
        fprintf(f, "# %s\n", hist_title(o, i));
        for (double q = 0; q < 99.9999; q = 100 - (100 - q) * 0.8)
            fprintf(f, "%g %g\n", 100.0 / (100.0 - q), ms(mp_bench_hist_percentile(h, q)));
        fprintf(f, "\n\n");
        series++;
    }
    fclose(f);
    FILE *g = popen("gnuplot", "w");
    if (g == NULL) {
        unlink(data);
        return -1;
    }
    fprintf(g,
            "set terminal png size 1000,600\nset output '%s'\nset logscale x\n"
            "set xlabel 'percentile'\nset ylabel 'ms'\nset grid\n"
            "set title 'magpie bench %s'\n"
            /* tic labels are gnuplot format strings: a literal % is %% there */
            "set xtics ('50%%%%' 2, '90%%%%' 10, '99%%%%' 100, '99.9%%%%' 1000, "
            "'99.99%%%%' 10000)\n"
            "plot ",
            path, o->scenario);
    for (int i = 0, k = 0; i < MP_BENCH_H__COUNT; i++) {
        if (st->hist[i].n == 0)
            continue;
        fprintf(g, "%s'%s' index %d with lines title '%s'", k ? ", " : "", data, k,
                hist_title(o, i));
        k++;
    }
    fprintf(g, "\n");
    int rc = pclose(g);
    unlink(data);
    if (series == 0 || rc != 0)
        fprintf(stderr, "magpie bench: --plot: gnuplot failed (%d)\n", rc);
    else
        fprintf(stderr, "magpie bench: latency plot written to %s\n", path);
    return rc == 0 ? 0 : -1;
}
