/* `magpie bench SCENARIO [options]`: options, user setup, the forked workers,
 * the live progress line, and the result (table, JSON, plot, exit code). */
#include "bench/bench.h"

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench/bench_int.h"
#include "util/alloc.h"
#include "util/clock.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: magpie bench SCENARIO [options]\n"
            "\n"
            "Scenarios:\n"
            "  connect   open --connections authenticated WebSockets at --ramp per second,\n"
            "            hold them for --duration; time to connect all, failures, server RSS\n"
            "            per connection (with --server-pid)\n"
            "  direct    --pairs pairs of users exchange 1:1 messages for --duration at --rate\n"
            "            (or as fast as --window allows); sent/acked/delivered, send->ack and\n"
            "            send->delivery latency\n"
            "  history   each pair stores --seed messages, then both read pages of --limit\n"
            "            concurrently for --duration; reads/s and latency\n"
            "  sync      as history, but each read is a sync from the beginning (since \"0\")\n"
            "            of at most --limit items\n"
            "  group     one group of --members members, --online of them connected (one\n"
            "            device each, spread over --procs); the owner sends to it at --rate\n"
            "            for --duration; per message the time until the last online device\n"
            "            has it (send->last device), sent/acked/delivered = acked x online\n"
            "  search    one user stores --seed messages in one group and --per-conv in each\n"
            "            of --convs more, then runs each search query --queries times in the\n"
            "            big group and across all; p50/p99/max latency per query; with\n"
            "            --rate, at most that many queries a second (one in flight)\n"
            "\n"
            "Options:\n"
            "  --url URL[,URL...]   server (default http://127.0.0.1:8080); several: the\n"
            "                       nodes of a cluster, WebSockets go to each in turn;\n"
            "                       https://: TLS and wss://, verified (SSL_CERT_FILE\n"
            "                       names a private CA to trust)\n"
            "  --duration S         measured seconds; connect: seconds to hold (default 5)\n"
            "  --rate R             total messages (history, sync: reads; search: queries) per\n"
            "                       second; 0 = as fast\n"
            "                       as the window allows (default 0)\n"
            "  --window W           requests in flight per connection (default 16)\n"
            "  --pairs P            user pairs for direct/history/sync (default 10)\n"
            "  --connections N      connections for connect (default 100)\n"
            "  --members M          group: members, the sender included (default 100)\n"
            "  --online K           group: members online besides the sender\n"
            "                       (default members - 1: everyone)\n"
            "  --users U            connect: distinct users sharing the connections\n"
            "                       (default min(N, 10))\n"
            "  --ramp R             new connections per second (default 1000; 0 = all at once)\n"
            "  --procs N            client processes (default 1); one holds < 20,000 files\n"
            "  --source-ips A-B     spread connections over source addresses, e.g.\n"
            "                       127.0.0.2-127.0.0.20 (IP_BIND_ADDRESS_NO_PORT)\n"
            "  --setup              register the users first (else they must exist)\n"
            "  --users-prefix P     usernames are P0, P1, ... (default bench_)\n"
            "  --password PW        their password (default bench-password-1)\n"
            "  --accounts FILE      keep user ids and refresh tokens in FILE: later runs\n"
            "                       refresh tokens instead of logging in again\n"
            "  --size B             message text bytes (default 32)\n"
            "  --seed N             history, sync: messages stored per pair first (default 50)\n"
            "  --limit N            history: page size; sync: items per page (default 50)\n"
            "  --convs C            search: conversations besides the big one (default 10)\n"
            "  --per-conv M         search: messages in each of them (default 100)\n"
            "  --queries Q          search: runs of each query (default 100)\n"
            "  --drain S            longest wait for outstanding replies (default 10)\n"
            "  --server-pid PID     sample the server's RSS from /proc/PID/status\n"
            "  --json FILE          also write the result as JSON\n"
            "  --plot FILE.png      latency percentile plot (needs gnuplot)\n"
            "  --no-progress        no progress line on stderr\n"
            "\n"
            "The server limits logins (login_rate), registrations per IP (register_rate) and\n"
            "sends (send_rate); for big runs start it with e.g. --login_rate 100000\n"
            "--register_rate 100000 --send_rate 1000000 --send_burst 1000000.\n"
            "Registering and logging in cost one argon2id hash each on the server (~90 ms;\n"
            "logins 2 at a time, ~20/s, registrations 1 at a time, ~10/s, so that logins\n"
            "always find a free slot): a 10,000-member group takes ~16 min to register and\n"
            "~8 min to log in. Reuse the users (same --users-prefix, no --setup needed)\n"
            "and --accounts FILE, so that later runs only refresh tokens (no hashing).\n"
            "Exit status: 0 no errors, 1 errors were counted (see RESULT), 2 usage.\n");
}

enum {
    O_URL = 256,
    O_DURATION,
    O_RATE,
    O_WINDOW,
    O_PAIRS,
    O_CONNECTIONS,
    O_USERS,
    O_RAMP,
    O_PROCS,
    O_SOURCES,
    O_SETUP,
    O_PREFIX,
    O_PASSWORD,
    O_SIZE,
    O_SEED,
    O_LIMIT,
    O_DRAIN,
    O_PID,
    O_JSON,
    O_PLOT,
    O_NOPROGRESS,
    O_MEMBERS,
    O_ONLINE,
    O_ACCOUNTS,
    O_CONVS,
    O_PER_CONV,
    O_QUERIES,
    O_HELP
};

static const struct option longopts[] = {
    {"url", required_argument, NULL, O_URL},
    {"duration", required_argument, NULL, O_DURATION},
    {"rate", required_argument, NULL, O_RATE},
    {"window", required_argument, NULL, O_WINDOW},
    {"pairs", required_argument, NULL, O_PAIRS},
    {"connections", required_argument, NULL, O_CONNECTIONS},
    {"users", required_argument, NULL, O_USERS},
    {"ramp", required_argument, NULL, O_RAMP},
    {"procs", required_argument, NULL, O_PROCS},
    {"source-ips", required_argument, NULL, O_SOURCES},
    {"setup", no_argument, NULL, O_SETUP},
    {"users-prefix", required_argument, NULL, O_PREFIX},
    {"password", required_argument, NULL, O_PASSWORD},
    {"size", required_argument, NULL, O_SIZE},
    {"seed", required_argument, NULL, O_SEED},
    {"limit", required_argument, NULL, O_LIMIT},
    {"drain", required_argument, NULL, O_DRAIN},
    {"server-pid", required_argument, NULL, O_PID},
    {"json", required_argument, NULL, O_JSON},
    {"plot", required_argument, NULL, O_PLOT},
    {"no-progress", no_argument, NULL, O_NOPROGRESS},
    {"members", required_argument, NULL, O_MEMBERS},
    {"online", required_argument, NULL, O_ONLINE},
    {"accounts", required_argument, NULL, O_ACCOUNTS},
    {"convs", required_argument, NULL, O_CONVS},
    {"per-conv", required_argument, NULL, O_PER_CONV},
    {"queries", required_argument, NULL, O_QUERIES},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

static int num(const char *name, const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v >= lo && v <= hi)) {
        fprintf(stderr, "magpie bench: --%s: expected a number in [%g, %g], got '%s'\n", name, lo,
                hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int unum(const char *name, const char *s, double lo, double hi, unsigned *out)
{
    double v;
    if (num(name, s, lo, hi, &v) != 0)
        return -1;
    if (v != (double)(unsigned)v) {
        fprintf(stderr, "magpie bench: --%s: expected a whole number, got '%s'\n", name, s);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

static bool valid_prefix(const char *p)
{
    size_t n = strlen(p);
    if (n > 24)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '_' ||
              p[i] == '.'))
            return false;
    return true;
}

/* Returns 0, 2 on a usage error, or -1 for --help. */
static int parse(int argc, char **argv, mp_bench_opts_t *o)
{
    char err[256];
    const char *url = "http://127.0.0.1:8080";
    double d;
    int rc = 0, c;
    bool online_set = false;
    *o = (mp_bench_opts_t){.duration_s = 5,
                           .pairs = 10,
                           .connections = 100,
                           .ramp = 1000,
                           .procs = 1,
                           .prefix = "bench_",
                           .password = "bench-password-1",
                           .window = 16,
                           .size = 32,
                           .seed = 50,
                           .limit = 50,
                           .drain_s = 10,
                           .progress = true,
                           .members = 100,
                           .convs = 10,
                           .per_conv = 100,
                           .queries = 100};
    optind = 1;
    while (rc == 0 && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_URL:
            url = optarg;
            break;
        case O_DURATION:
            rc = num("duration", optarg, 0.1, 86400, &o->duration_s);
            break;
        case O_RATE:
            rc = num("rate", optarg, 0, 1e8, &o->rate);
            break;
        case O_WINDOW:
            rc = unum("window", optarg, 1, 4096, &o->window);
            break;
        case O_PAIRS:
            rc = unum("pairs", optarg, 1, 100000, &o->pairs);
            break;
        case O_CONNECTIONS:
            rc = unum("connections", optarg, 1, 10000000, &o->connections);
            break;
        case O_USERS:
            rc = unum("users", optarg, 1, 1000000, &o->users);
            break;
        case O_RAMP:
            rc = num("ramp", optarg, 0, 1e7, &o->ramp);
            break;
        case O_PROCS:
            rc = unum("procs", optarg, 1, 256, &o->procs);
            break;
        case O_SOURCES:
            mp_free(o->sources);
            o->sources = NULL;
            if (mp_bench__parse_sources(optarg, &o->sources, &o->n_sources, err, sizeof(err)) !=
                0) {
                fprintf(stderr, "magpie bench: %s\n", err);
                rc = -1;
            }
            break;
        case O_SETUP:
            o->setup = true;
            break;
        case O_PREFIX:
            o->prefix = optarg;
            break;
        case O_PASSWORD:
            o->password = optarg;
            break;
        case O_SIZE:
            rc = unum("size", optarg, 1, 4000, &o->size);
            break;
        case O_SEED:
            rc = unum("seed", optarg, 0, 1000000, &o->seed);
            break;
        case O_LIMIT:
            rc = unum("limit", optarg, 1, 200, &o->limit);
            break;
        case O_DRAIN:
            rc = num("drain", optarg, 0, 3600, &o->drain_s);
            break;
        case O_PID:
            rc = num("server-pid", optarg, 1, 4194304, &d);
            o->server_pid = (pid_t)d;
            break;
        case O_JSON:
            o->json_path = optarg;
            break;
        case O_PLOT:
            o->plot_path = optarg;
            break;
        case O_NOPROGRESS:
            o->progress = false;
            break;
        case O_MEMBERS:
            rc = unum("members", optarg, 2, 1000000, &o->members);
            break;
        case O_ONLINE:
            rc = unum("online", optarg, 0, 1000000, &o->online);
            online_set = true;
            break;
        case O_ACCOUNTS:
            o->accounts_path = optarg;
            break;
        case O_CONVS:
            rc = unum("convs", optarg, 0, 100000, &o->convs);
            break;
        case O_PER_CONV:
            rc = unum("per-conv", optarg, 0, 1000000, &o->per_conv);
            break;
        case O_QUERIES:
            rc = unum("queries", optarg, 1, 1000000, &o->queries);
            break;
        case 'h':
        case O_HELP:
            usage(stdout);
            return -1;
        default:
            rc = -1;
            break;
        }
    }
    if (rc != 0)
        return 2;
    if (optind != argc - 1) {
        fprintf(stderr, "magpie bench: expected exactly one scenario (connect, direct, "
                        "history, sync, group, search); see magpie bench --help\n");
        return 2;
    }
    o->scenario = argv[optind];
    if (strcmp(o->scenario, "connect") != 0 && strcmp(o->scenario, "direct") != 0 &&
        strcmp(o->scenario, "history") != 0 && strcmp(o->scenario, "sync") != 0 &&
        strcmp(o->scenario, "group") != 0 && strcmp(o->scenario, "search") != 0) {
        fprintf(stderr,
                "magpie bench: unknown scenario '%s' (connect, direct, history, sync, group, "
                "search)\n",
                o->scenario);
        return 2;
    }
    if (!valid_prefix(o->prefix)) {
        fprintf(stderr, "magpie bench: --users-prefix: at most 24 of [a-z0-9_.]\n");
        return 2;
    }
    if (mp_bench__parse_url(url, o, err, sizeof(err)) != 0) {
        fprintf(stderr, "magpie bench: %s\n", err);
        return 2;
    }
    if (o->users == 0)
        o->users = o->connections < 10 ? o->connections : 10;
    if (!online_set)
        o->online = o->members - 1;
    if (o->online > o->members - 1) {
        fprintf(stderr,
                "magpie bench: --online: at most --members - 1 (%u): the sender is a "
                "member too\n",
                o->members - 1);
        return 2;
    }
    return 0;
}

/* A process may open at most 20,000 files here: take all of it. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

typedef struct ticker {
    const mp_bench_opts_t *o;
    mp_bench_server_mem_t mem;
    int64_t t0;
    uint64_t last_sent, last_delivered, last_reads;
    bool tty, printed;
} ticker_t;

static void on_tick(const mp_bench_stats_t *s, unsigned running, bool periodic, void *ud)
{
    (void)running;
    ticker_t *t = ud;
    if (t->o->server_pid > 0 && s->conns_open >= t->mem.peak_conns) {
        long rss = mp_bench__rss_kb(t->o->server_pid);
        if (rss >= 0) {
            t->mem.peak_conns = s->conns_open;
            t->mem.rss_peak_kb = rss;
        }
    }
    if (!t->o->progress || !periodic)
        return;
    const char *sc = t->o->scenario;
    char line[256];
    int n = snprintf(line, sizeof(line), "[%4.0fs] conns %" PRIu64 " open, %" PRIu64 " failed",
                     (double)(mp_mono_ms() - t->t0) / 1000.0, s->conns_open, s->conns_failed);
    if (strcmp(sc, "connect") != 0)
        n += snprintf(line + n, sizeof(line) - (size_t)n,
                      " | sent %" PRIu64 " acked %" PRIu64 " delivered %" PRIu64 " (%" PRIu64 "/s)",
                      s->sent, s->acked, s->delivered, s->delivered - t->last_delivered);
    if (strcmp(sc, "history") == 0 || strcmp(sc, "sync") == 0)
        n += snprintf(line + n, sizeof(line) - (size_t)n, " | reads %" PRIu64 " (%" PRIu64 "/s)",
                      s->reads, s->reads - t->last_reads);
    snprintf(line + n, sizeof(line) - (size_t)n, " | errors %" PRIu64, s->errors);
    fprintf(stderr, "%s%s%s", t->tty ? "\r" : "", line, t->tty ? "   " : "\n");
    t->printed = true;
    t->last_sent = s->sent;
    t->last_delivered = s->delivered;
    t->last_reads = s->reads;
}

static mp_bench_worker_fn worker_for(const char *scenario)
{
    if (strcmp(scenario, "connect") == 0)
        return mp_bench__connect_worker;
    if (strcmp(scenario, "direct") == 0)
        return mp_bench__direct_worker;
    if (strcmp(scenario, "group") == 0)
        return mp_bench__group_worker;
    if (strcmp(scenario, "sync") == 0)
        return mp_bench__sync_worker;
    return mp_bench__history_worker;
}

static int setup(const mp_bench_opts_t *o, mp_bench_ctx_t *ctx)
{
    char err[512];
    bool conn = strcmp(o->scenario, "connect") == 0;
    bool group = strcmp(o->scenario, "group") == 0;
    bool search = strcmp(o->scenario, "search") == 0;
    ctx->o = o;
    ctx->n_acc = conn ? o->users : group ? o->members : search ? 1 : 2 * o->pairs;
    ctx->acc = mp_calloc(ctx->n_acc, sizeof(*ctx->acc));
    /* Group members that stay offline need an id, not a session. */
    for (unsigned i = group ? 1 + o->online : ctx->n_acc; i < ctx->n_acc; i++)
        ctx->acc[i].id_only = true;
    snprintf(ctx->nonce, sizeof(ctx->nonce), "%" PRIx64 "%x", (uint64_t)mp_now_ms(),
             (unsigned)getpid());
    int64_t t0 = mp_mono_ms();
    if (o->progress)
        fprintf(stderr, "magpie bench: %s %u users (%s*) on %s ...\n",
                o->setup ? "registering and logging in" : "logging in", ctx->n_acc, o->prefix,
                o->hostport);
    if (mp_bench__setup_users(o, ctx->acc, ctx->n_acc, err, sizeof(err)) != 0)
        goto fail;
    if (group) {
        if (mp_bench__setup_group(o, ctx, err, sizeof(err)) != 0 ||
            mp_bench__group_prepare(ctx, err, sizeof(err)) != 0)
            goto fail;
    } else if (!conn && !search) {
        ctx->n_pairs = o->pairs;
        ctx->conv = mp_calloc(o->pairs, sizeof(*ctx->conv));
        if (mp_bench__setup_pairs(o, ctx, err, sizeof(err)) != 0)
            goto fail;
    }
    if (o->progress)
        fprintf(stderr, "magpie bench: setup done in %.1f s\n",
                (double)(mp_mono_ms() - t0) / 1000.0);
    return 0;
fail:
    fprintf(stderr, "magpie bench: %s\n", err);
    return -1;
}

static void ctx_free(mp_bench_ctx_t *ctx)
{
    for (unsigned i = 0; ctx->acc != NULL && i < ctx->n_acc; i++) {
        mp_free(ctx->acc[i].token);
        mp_free(ctx->acc[i].refresh);
    }
    mp_bench__group_release(ctx);
    mp_free(ctx->acc);
    mp_free(ctx->conv);
}

int mp_bench_main(int argc, char **argv)
{
    mp_bench_opts_t o;
    mp_bench_ctx_t ctx = {0};
    mp_bench_stats_t *st = NULL;
    int rc = parse(argc, argv, &o);
    if (rc != 0) {
        mp_free(o.sources);
        return rc < 0 ? 0 : rc;
    }
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    rc = 1;
    if (setup(&o, &ctx) != 0)
        goto done;
    if (strcmp(o.scenario, "search") == 0) {
        rc = mp_bench__search_main(&ctx) == 0 ? 0 : 1;
        goto done;
    }

    ticker_t t = {.o = &o, .t0 = mp_mono_ms(), .tty = isatty(2)};
    t.mem.rss_base_kb = o.server_pid > 0 ? mp_bench__rss_kb(o.server_pid) : -1;
    t.mem.rss_peak_kb = -1;
    if (o.server_pid > 0 && t.mem.rss_base_kb < 0)
        fprintf(stderr, "magpie bench: cannot read /proc/%d/status; no server memory figures\n",
                (int)o.server_pid);
    st = mp_bench_stats_new();
    int failed = mp_bench_procs_run(o.procs, worker_for(o.scenario), &ctx, on_tick, &t, st);
    if (t.printed && t.tty)
        fputc('\n', stderr);
    if (failed != 0)
        fprintf(stderr, "magpie bench: %d worker process%s failed\n", failed < 0 ? 1 : failed,
                failed == 1 ? "" : "es");

    mp_bench_group_result_t grp_res, *grp = NULL;
    if (ctx.gshm != NULL) {
        grp = &grp_res;
        mp_bench__group_collect(&ctx, st, grp);
    }
    mp_bench__report_table(&o, st, &t.mem, grp, stdout);
    fflush(stdout);
    if (o.json_path != NULL && mp_bench__report_json(&o, st, &t.mem, grp, o.json_path) != 0)
        st->errors++;
    if (o.plot_path != NULL)
        mp_bench__report_plot(&o, st, o.plot_path);
    rc = st->errors == 0 && failed == 0 ? 0 : 1;
done:
    mp_bench_stats_free(st);
    ctx_free(&ctx);
    mp_free(o.sources);
    return rc;
}
