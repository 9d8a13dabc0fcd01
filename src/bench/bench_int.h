/* Internals shared by the bench modules: options, accounts, the per-process
 * runtime (loop, progress, source addresses, ramped connects) and the
 * scenario entry points. Not used outside src/bench. */
#ifndef MP_BENCH_BENCH_INT_H
#define MP_BENCH_BENCH_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "bench/conn.h"
#include "client/client.h"
#include "bench/procs.h"
#include "bench/stats.h"

/* Servers --url may list (the nodes of a cluster). */
#define MP_BENCH_URLS_MAX 16

typedef struct mp_bench_opts {
    const char *scenario;
    char host[64];
    int port;
    char hostport[80];
    struct sockaddr_in server;
    bool tls; /* https:// (the WebSockets are then wss://) */
    /* --url A,B,C: WebSockets go to these in turn (the first is the one
     * above, which also takes the set-up's HTTP requests). */
    struct sockaddr_in servers[MP_BENCH_URLS_MAX];
    char hostports[MP_BENCH_URLS_MAX][80];
    char hosts[MP_BENCH_URLS_MAX][64]; /* the name the certificate must carry */
    bool tls_at[MP_BENCH_URLS_MAX];
    unsigned n_servers;
    double duration_s; /* measured phase (connect: how long connections are held) */
    double rate;       /* total messages (search: queries) per second; 0 = as fast as possible */
    unsigned pairs;
    unsigned connections;
    double ramp; /* new connections per second, all processes together */
    unsigned procs;
    struct sockaddr_in *sources; /* --source-ips, or NULL */
    unsigned n_sources;
    const char *json_path;
    const char *plot_path;
    pid_t server_pid;
    bool setup;
    const char *prefix;
    const char *password;
    unsigned users;  /* connect: distinct users whose tokens are shared */
    unsigned window; /* requests in flight per connection */
    unsigned size;   /* message text bytes */
    unsigned seed;   /* history, sync: messages stored before reading */
    unsigned limit;  /* history: page size; sync: items per page */
    double drain_s;  /* longest wait for outstanding replies and deliveries */
    bool progress;
    unsigned members;          /* group: members, the sender (owner) included */
    unsigned online;           /* group: receiving devices online (members other than the sender) */
    const char *accounts_path; /* --accounts: cache of user ids and refresh tokens, or NULL */
    unsigned convs;            /* search: conversations besides the big one */
    unsigned per_conv;         /* search: messages in each of them */
    unsigned queries;          /* search: times each query is run */
} mp_bench_opts_t;

typedef struct mp_bench_account {
    char name[40];
    char user_id[24];
    char *token;   /* access token (mp_malloc), NULL when id_only */
    char *refresh; /* refresh token (mp_malloc) from this run or the --accounts cache, or NULL */
    bool id_only;  /* only the user id is needed (offline group member): no login */
} mp_bench_account_t;

typedef struct mp_bench_gshm mp_bench_gshm_t; /* scenario_group.c */

/* What every worker process inherits through fork(). */
typedef struct mp_bench_ctx {
    const mp_bench_opts_t *o;
    mp_bench_account_t *acc;
    unsigned n_acc;
    char (*conv)[24]; /* per pair: the direct conversation of acc[2i] and acc[2i+1] */
    unsigned n_pairs;
    char nonce[24];        /* makes client_msg_ids of this run unique */
    char group[24];        /* group: the conversation id */
    mp_bench_gshm_t *gshm; /* group: memory shared with the forked workers */
} mp_bench_ctx_t;

/* What the parent concludes from a group run (scenario_group.c). */
typedef struct mp_bench_group_result {
    unsigned members;
    uint64_t online;     /* receiving devices connected when the sender started */
    uint64_t expected;   /* acked x online */
    uint64_t complete;   /* acked messages every online device received */
    uint64_t incomplete; /* acked messages some online device missed */
    int64_t settle_ms;   /* last connection up -> presence events stopped, the sender started */
} mp_bench_group_result_t;

/* ---- setup.c ---- */
/* A connection to the first --url (over TLS for https://), or NULL with
 * "cannot connect to URL: reason" in err (err may be NULL). */
mpc_conn_t *mp_bench__dial(const mp_bench_opts_t *o, int timeout_ms, char *err, size_t errlen);
/* Registers (with o->setup) and logs in n accounts named <prefix><i>.
 * Returns 0, or -1 with a message in err. */
int mp_bench__setup_users(const mp_bench_opts_t *o, mp_bench_account_t *acc, unsigned n, char *err,
                          size_t errlen);
/* Opens the direct conversation of each pair (acc[2i], acc[2i+1]). */
int mp_bench__setup_pairs(const mp_bench_opts_t *o, mp_bench_ctx_t *ctx, char *err, size_t errlen);
/* Creates a group owned by acc[0] with every other account as a member
 * (POST /v1/groups, then POST /v1/groups/{id}/members in chunks of 100) and
 * stores its id in ctx->group. */
int mp_bench__setup_group(const mp_bench_opts_t *o, mp_bench_ctx_t *ctx, char *err, size_t errlen);
/* Whether the server has an HTTP route (anything but 404 to an empty POST). */
bool mp_bench__server_has(const mp_bench_opts_t *o, const char *path);

/* ---- addr.c ---- */
/* "http://HOST:PORT" or "https://HOST:PORT" (path ignored; default port 80
 * or 443) -> host, port, hostport, server, tls; or several separated by
 * commas -> servers, hostports, hosts and tls_at too (the first also in
 * host, port, hostport, server, tls). */
int mp_bench__parse_url(const char *url, mp_bench_opts_t *o, char *err, size_t errlen);
/* "A.B.C.D-A.B.C.E" or "A.B.C.D" -> array (mp_malloc) of addresses. */
int mp_bench__parse_sources(const char *spec, struct sockaddr_in **out, unsigned *n, char *err,
                            size_t errlen);

/* ---- run.c: one worker process ---- */
typedef struct mp_bench_rt mp_bench_rt_t;
typedef void (*mp_bench_start_fn)(mp_bench_rt_t *rt, unsigned i, void *ud);

struct mp_bench_rt {
    uv_loop_t loop;
    const mp_bench_ctx_t *ctx;
    const mp_bench_opts_t *o;
    unsigned idx, nprocs;
    mp_bench_stats_t *st;
    mp_bench_reporter_t *rep;
    uv_timer_t progress;
    unsigned next_src;
    unsigned next_server;
    /* ramped starts */
    uv_timer_t ramp;
    unsigned ramp_n, ramp_done;
    double ramp_rate;
    int64_t ramp_t0;
    mp_bench_start_fn ramp_fn;
    void *ramp_ud;
};

void mp_bench__rt_init(mp_bench_rt_t *rt, const mp_bench_ctx_t *ctx, unsigned idx, unsigned nprocs,
                       mp_bench_stats_t *st, mp_bench_reporter_t *rep);
/* Runs the loop until every handle is closed, then frees the loop. */
void mp_bench__rt_run(mp_bench_rt_t *rt);
/* Stops the progress and ramp timers (the last step before the loop ends),
 * after sending one last progress snapshot. */
void mp_bench__rt_stop(mp_bench_rt_t *rt);
/* A connection from the next --source-ips address to the next --url
 * (round robin each). */
mp_bench_conn_t *mp_bench__rt_connect(mp_bench_rt_t *rt, const char *token,
                                      const mp_bench_conn_cbs_t *cbs, void *ud);
/* Calls fn(rt, i, ud) for i in [0, n) at rate per second (<= 0: all now). */
void mp_bench__rt_ramp(mp_bench_rt_t *rt, unsigned n, double rate, mp_bench_start_fn fn, void *ud);
/* A one-shot or repeating timer owned by the caller's struct. */
void mp_bench__timer(mp_bench_rt_t *rt, uv_timer_t *t, uint64_t ms, uint64_t repeat, uv_timer_cb cb,
                     void *data);

/* ---- scenarios: worker functions for mp_bench_procs_run (ud = ctx) ---- */
int mp_bench__connect_worker(unsigned idx, unsigned nprocs, mp_bench_stats_t *st,
                             mp_bench_reporter_t *rep, void *ud);
int mp_bench__direct_worker(unsigned idx, unsigned nprocs, mp_bench_stats_t *st,
                            mp_bench_reporter_t *rep, void *ud);
int mp_bench__history_worker(unsigned idx, unsigned nprocs, mp_bench_stats_t *st,
                             mp_bench_reporter_t *rep, void *ud);
int mp_bench__sync_worker(unsigned idx, unsigned nprocs, mp_bench_stats_t *st,
                          mp_bench_reporter_t *rep, void *ud);
int mp_bench__group_worker(unsigned idx, unsigned nprocs, mp_bench_stats_t *st,
                           mp_bench_reporter_t *rep, void *ud);
/* Before forking: maps the memory the group workers share (ctx->gshm). */
int mp_bench__group_prepare(mp_bench_ctx_t *ctx, char *err, size_t errlen);
/* After the workers ended: per message, the latest arrival over every
 * process minus its send time into st->hist[MP_BENCH_H_LAST]; counts and
 * consistency errors into st and *res. */
void mp_bench__group_collect(const mp_bench_ctx_t *ctx, mp_bench_stats_t *st,
                             mp_bench_group_result_t *res);
void mp_bench__group_release(mp_bench_ctx_t *ctx);

/* ---- scenario_search.c: runs in the parent, after setup (acc[0]) ---- */
int mp_bench__search_main(const mp_bench_ctx_t *ctx);

/* ---- pairs.c: the engine behind direct and history ---- */
/* What the pairs do once running: send messages, or read (after seeding)
 * history pages or sync pages from the beginning. */
typedef enum {
    MP_BENCH_PAIRS_DIRECT,
    MP_BENCH_PAIRS_HISTORY,
    MP_BENCH_PAIRS_SYNC
} mp_bench_pairs_mode_t;
int mp_bench__pairs_run(mp_bench_pairs_mode_t mode, unsigned idx, unsigned nprocs,
                        mp_bench_stats_t *st, mp_bench_reporter_t *rep, const mp_bench_ctx_t *ctx);

/* ---- report.c ---- */
typedef struct mp_bench_server_mem {
    long rss_base_kb; /* before connecting; -1 if unknown */
    long rss_peak_kb; /* with the most connections open */
    uint64_t peak_conns;
} mp_bench_server_mem_t;

/* VmRSS of pid in KiB, or -1. */
long mp_bench__rss_kb(pid_t pid);
/* grp: the group scenario's conclusions, NULL for the other scenarios. */
void mp_bench__report_table(const mp_bench_opts_t *o, const mp_bench_stats_t *st,
                            const mp_bench_server_mem_t *mem, const mp_bench_group_result_t *grp,
                            FILE *out);
int mp_bench__report_json(const mp_bench_opts_t *o, const mp_bench_stats_t *st,
                          const mp_bench_server_mem_t *mem, const mp_bench_group_result_t *grp,
                          const char *path);
/* Draws latency percentile curves with gnuplot; says so and returns 0 when
 * gnuplot is absent (not an error of the run). */
int mp_bench__report_plot(const mp_bench_opts_t *o, const mp_bench_stats_t *st, const char *path);

#endif
