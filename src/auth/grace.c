/* The grace sweep: frees the usernames of accounts deleted more than
 * account_delete_grace ago. One job at a time; a job that hit its batch
 * limit is followed at once by another, so a backlog drains without waiting
 * for the next tick. The sweep remembers how far it got (deleted_at), so a
 * tick looks only at accounts deleted since the last one's cutoff. */
#include "auth/deletion.h"

#include "util/alloc.h"
#include "util/clock.h"
#include "util/log.h"

/* Accounts renamed per store job: bounds one job's time in the writer. */
#define MP_GRACE_BATCH 200
#define MP_GRACE_MIN_MS 10
#define MP_GRACE_MAX_MS 3600000ULL

struct mp_grace {
    const mp_config_t *cfg;
    mp_store_t *store;
    mp_hub_t *hub;
    uv_timer_t timer;
    int64_t since;      /* every account deleted before this was looked at */
    int64_t cutoff;     /* of the job in flight */
    bool pending;       /* a job is in the store */
    bool stopping;      /* mp_grace_free was called */
    bool handle_closed; /* the timer's close callback ran */
};

static void maybe_release(mp_grace_t *g)
{
    if (g->stopping && g->handle_closed && !g->pending)
        mp_free(g);
}

static void on_released(mp_err_t rc, size_t n, int64_t last, void *ud)
{
    mp_grace_t *g = ud;
    g->pending = false;
    if (g->stopping) {
        maybe_release(g);
        return;
    }
    if (rc != MP_OK) {
        mp_log_warn("account grace sweep failed: %s", mp_err_code(rc));
        return;
    }
    if (n > 0)
        mp_log_info("account grace sweep: freed the username of %zu deleted account(s)", n);
    if (n >= MP_GRACE_BATCH) {
        g->since = last; /* ties at `last` are looked at again, renamed ones skipped */
        mp_grace_run(g);
        return;
    }
    g->since = g->cutoff;
}

void mp_grace_run(mp_grace_t *g)
{
    if (g->pending || g->stopping)
        return;
    g->cutoff = mp_now_ms() - (int64_t)g->cfg->account_delete_grace_ms;
    mp_err_t rc = mp_store_account_release_names(g->store, g->since, g->cutoff, MP_GRACE_BATCH,
                                                 on_released, g);
    /* A full queue: the next tick tries again. */
    g->pending = rc == MP_OK;
}

static void on_tick(uv_timer_t *t)
{
    mp_grace_t *g = t->data;
    /* One node of a cluster is enough (twice would only find nothing). */
    if (g->hub == NULL || mp_hub_leader(g->hub))
        mp_grace_run(g);
}

mp_grace_t *mp_grace_start(uv_loop_t *loop, const mp_config_t *cfg, mp_store_t *store,
                           mp_hub_t *hub)
{
    mp_grace_t *g = mp_calloc(1, sizeof *g);
    g->cfg = cfg;
    g->store = store;
    g->hub = hub;
    uint64_t every = cfg->account_delete_grace_ms / 4;
    if (every > MP_GRACE_MAX_MS)
        every = MP_GRACE_MAX_MS;
    if (every < MP_GRACE_MIN_MS)
        every = MP_GRACE_MIN_MS;
    uv_timer_init(loop, &g->timer);
    g->timer.data = g;
    uv_timer_start(&g->timer, on_tick, every, every);
    /* The timer alone must not keep the loop alive at shutdown. */
    uv_unref((uv_handle_t *)&g->timer);
    return g;
}

static void on_timer_closed(uv_handle_t *h)
{
    mp_grace_t *g = h->data;
    g->handle_closed = true;
    maybe_release(g);
}

void mp_grace_free(mp_grace_t *g)
{
    if (g == NULL)
        return;
    g->stopping = true;
    uv_timer_stop(&g->timer);
    uv_close((uv_handle_t *)&g->timer, on_timer_closed);
}
