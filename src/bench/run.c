/* The runtime of one bench worker process: its loop, the once-a-second
 * progress report to the parent, source address rotation, ramped starts. */
#include <string.h>

#include "bench/bench_int.h"
#include "util/clock.h"

static void progress_cb(uv_timer_t *t)
{
    mp_bench_rt_t *rt = t->data;
    mp_bench_report_progress(rt->rep, rt->st);
}

void mp_bench__timer(mp_bench_rt_t *rt, uv_timer_t *t, uint64_t ms, uint64_t repeat, uv_timer_cb cb,
                     void *data)
{
    if (t->loop == NULL)
        uv_timer_init(&rt->loop, t);
    t->data = data;
    uv_timer_start(t, cb, ms, repeat);
}

void mp_bench__rt_init(mp_bench_rt_t *rt, const mp_bench_ctx_t *ctx, unsigned idx, unsigned nprocs,
                       mp_bench_stats_t *st, mp_bench_reporter_t *rep)
{
    memset(rt, 0, sizeof(*rt));
    uv_loop_init(&rt->loop);
    rt->ctx = ctx;
    rt->o = ctx->o;
    rt->idx = idx;
    rt->nprocs = nprocs;
    rt->st = st;
    rt->rep = rep;
    /* Spread processes over the source addresses too. */
    rt->next_src = ctx->o->n_sources ? idx % ctx->o->n_sources : 0;
    uv_timer_init(&rt->loop, &rt->progress);
    uv_timer_init(&rt->loop, &rt->ramp);
    mp_bench__timer(rt, &rt->progress, 1000, 1000, progress_cb, rt);
}

void mp_bench__rt_stop(mp_bench_rt_t *rt)
{
    mp_bench_report_progress(rt->rep, rt->st);
    if (!uv_is_closing((uv_handle_t *)&rt->progress))
        uv_close((uv_handle_t *)&rt->progress, NULL);
    if (!uv_is_closing((uv_handle_t *)&rt->ramp))
        uv_close((uv_handle_t *)&rt->ramp, NULL);
}

void mp_bench__rt_run(mp_bench_rt_t *rt)
{
    uv_run(&rt->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&rt->loop) != 0)
        mp_bench_stats_error(rt->st, "internal: handles left open at the end of the run");
}

mp_bench_conn_t *mp_bench__rt_connect(mp_bench_rt_t *rt, const char *token,
                                      const mp_bench_conn_cbs_t *cbs, void *ud)
{
    const mp_bench_opts_t *o = rt->o;
    const struct sockaddr_in *src = NULL;
    if (o->n_sources > 0) {
        src = &o->sources[rt->next_src];
        rt->next_src = (rt->next_src + 1) % o->n_sources;
    }
    unsigned k = rt->next_server;
    rt->next_server = (rt->next_server + 1) % o->n_servers;
    return mp_bench_conn_new(&rt->loop, &o->servers[k], src, o->hostports[k],
                             o->tls_at[k] ? o->hosts[k] : NULL, token, cbs, ud);
}

static void ramp_cb(uv_timer_t *t)
{
    mp_bench_rt_t *rt = t->data;
    unsigned due = rt->ramp_n;
    if (rt->ramp_rate > 0) {
        double d = (double)(mp_mono_ms() - rt->ramp_t0) / 1000.0 * rt->ramp_rate + 1;
        if (d < (double)rt->ramp_n)
            due = (unsigned)d;
    }
    while (rt->ramp_done < due)
        rt->ramp_fn(rt, rt->ramp_done++, rt->ramp_ud);
    if (rt->ramp_done >= rt->ramp_n)
        uv_timer_stop(&rt->ramp);
}

void mp_bench__rt_ramp(mp_bench_rt_t *rt, unsigned n, double rate, mp_bench_start_fn fn, void *ud)
{
    rt->ramp_n = n;
    rt->ramp_done = 0;
    rt->ramp_rate = rate;
    rt->ramp_fn = fn;
    rt->ramp_ud = ud;
    rt->ramp_t0 = mp_mono_ms();
    mp_bench__timer(rt, &rt->ramp, 0, 5, ramp_cb, rt);
}
