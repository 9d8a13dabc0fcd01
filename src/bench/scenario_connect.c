/* Scenario `connect`: open N authenticated WebSockets at a ramp rate, hold
 * them for --duration, and report how long it took to have them all up, the
 * failures, and (in the parent, with --server-pid) the server's memory per
 * connection. Connection i belongs to process i % procs and uses the token
 * of user i % users. */
#include <stdio.h>

#include "bench/bench_int.h"
#include "util/alloc.h"
#include "util/clock.h"

typedef struct cengine cengine_t;

typedef struct cconn {
    cengine_t *e;
    mp_bench_conn_t *conn;
    int64_t t_start;
    unsigned global; /* index among all connections */
} cconn_t;

struct cengine {
    mp_bench_rt_t rt;
    cconn_t *c;
    unsigned n, settled;
    int64_t t0;
    bool holding;
    uint64_t held;
    uv_timer_t timer;
};

static void finish(cengine_t *e)
{
    e->rt.st->elapsed_ms = (int64_t)(e->rt.o->duration_s * 1000);
    e->held = e->rt.st->conns_open;
    for (unsigned i = 0; i < e->n; i++)
        if (e->c[i].conn != NULL)
            mp_bench_conn_close(e->c[i].conn);
    uv_close((uv_handle_t *)&e->timer, NULL);
    mp_bench__rt_stop(&e->rt);
}

static void hold_over_cb(uv_timer_t *t)
{
    finish(t->data);
}

static void settle(cengine_t *e)
{
    if (++e->settled < e->n || e->holding)
        return;
    e->holding = true;
    e->rt.st->connect_all_ms = (mp_mono_ns() - e->t0) / 1000000;
    /* Tell the parent now: it samples the server's memory with all up. */
    mp_bench_report_progress(e->rt.rep, e->rt.st);
    mp_bench__timer(&e->rt, &e->timer, (uint64_t)(e->rt.o->duration_s * 1000), 0, hold_over_cb, e);
}

static void on_open(mp_bench_conn_t *c)
{
    cconn_t *cc = mp_bench_conn_ud(c);
    mp_bench_stats_t *st = cc->e->rt.st;
    st->conns_ok++;
    st->conns_open++;
    mp_bench_hist_record(&st->hist[MP_BENCH_H_CONNECT], (uint64_t)(mp_mono_ns() - cc->t_start));
    settle(cc->e);
}

static void on_frame(mp_bench_conn_t *c, json_t *j)
{
    (void)c;
    (void)j;
    /* Idle connections: events (presence) are not what this measures. */
}

static void on_close(mp_bench_conn_t *c, int opened, const char *why)
{
    cconn_t *cc = mp_bench_conn_ud(c);
    mp_bench_stats_t *st = cc->e->rt.st;
    cc->conn = NULL;
    if (!opened) {
        st->conns_failed++;
        mp_bench_stats_error(st, "connection %u: %s", cc->global, why ? why : "timed out");
        settle(cc->e);
        return;
    }
    st->conns_open--;
    if (why != NULL) {
        st->conns_dropped++;
        mp_bench_stats_error(st, "connection %u lost: %s", cc->global, why);
    }
}

static const mp_bench_conn_cbs_t cbs = {on_open, on_frame, on_close, NULL};

static void start_conn(mp_bench_rt_t *rt, unsigned i, void *ud)
{
    cengine_t *e = ud;
    cconn_t *cc = &e->c[i];
    const mp_bench_account_t *a = &rt->ctx->acc[cc->global % rt->ctx->n_acc];
    cc->t_start = mp_mono_ns();
    cc->conn = mp_bench__rt_connect(rt, a->token, &cbs, cc);
}

static void stuck_cb(uv_timer_t *t)
{
    cengine_t *e = t->data;
    mp_bench_stats_error(e->rt.st, "%u connections still not up", e->n - e->settled);
    for (unsigned i = 0; i < e->n; i++)
        if (e->c[i].conn != NULL)
            mp_bench_conn_close(e->c[i].conn); /* not yet open: settles as failed */
}

int mp_bench__connect_worker(unsigned idx, unsigned nprocs, mp_bench_stats_t *st,
                             mp_bench_reporter_t *rep, void *ud)
{
    const mp_bench_ctx_t *ctx = ud;
    const mp_bench_opts_t *o = ctx->o;
    cengine_t *e = mp_calloc(1, sizeof(*e));
    mp_bench__rt_init(&e->rt, ctx, idx, nprocs, st, rep);
    uv_timer_init(&e->rt.loop, &e->timer);
    for (unsigned i = idx; i < o->connections; i += nprocs)
        e->n++;
    e->c = mp_calloc(e->n ? e->n : 1, sizeof(cconn_t));
    for (unsigned k = 0, i = idx; i < o->connections; i += nprocs, k++) {
        e->c[k].e = e;
        e->c[k].global = i;
    }
    e->t0 = mp_mono_ns();
    double rate = o->ramp > 0 ? o->ramp / nprocs : 0;
    if (e->n == 0) {
        finish(e);
    } else {
        /* Generous: the ramp itself plus a minute for the server to catch up. */
        uint64_t limit_ms = 60000 + (rate > 0 ? (uint64_t)(e->n / rate * 1000) : 0);
        mp_bench__timer(&e->rt, &e->timer, limit_ms, 0, stuck_cb, e);
        mp_bench__rt_ramp(&e->rt, e->n, rate, start_conn, e);
    }
    mp_bench__rt_run(&e->rt);
    st->conns_open = e->held;
    mp_free(e->c);
    mp_free(e);
    return 0;
}
