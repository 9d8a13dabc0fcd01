/* The guest sweep timer, which also deletes accounts whose e-mail address
 * was never verified (email_pending_ttl). One sweep of each kind at a time: a tick while a sweep is
 * still in the store is skipped; a sweep that hit its batch limit is followed at once by another,
 * so a backlog drains without waiting for the next tick. */
#include "auth/sweep.h"

#include "auth/auth_int.h"
#include "store/account.h"

#include "util/alloc.h"
#include "util/clock.h"
#include "util/log.h"

/* Guests deleted per store job: bounds one job's time in the writer. */
#define MP_SWEEP_BATCH 500
#define MP_SWEEP_MIN_MS 10

struct mp_sweep {
    const mp_config_t *cfg;
    mp_store_t *store;
    mp_auth_t *auth;
    mp_sweep_hook_fn hook;
    void *hook_ud;
    uv_timer_t timer;
    bool pending;       /* a sweep job is in the store */
    bool unverified;    /* a sweep job of unverified accounts is in the store */
    bool stopping;      /* mp_sweep_free was called */
    bool handle_closed; /* the timer's close callback ran */
    uint64_t deleted;
};

uint64_t mp_sweep_interval_ms(unsigned guest_ttl_s, unsigned sweep_interval_ms)
{
    uint64_t quarter = (uint64_t)guest_ttl_s * 1000 / 4;
    uint64_t ms = quarter < sweep_interval_ms ? quarter : sweep_interval_ms;
    return ms < MP_SWEEP_MIN_MS ? MP_SWEEP_MIN_MS : ms;
}

static void maybe_release(mp_sweep_t *sw)
{
    if (sw->stopping && sw->handle_closed && !sw->pending && !sw->unverified)
        mp_free(sw);
}

static void on_swept(mp_err_t rc, const mp_guest_sweep_out_t *out, void *ud)
{
    mp_sweep_t *sw = ud;
    sw->pending = false;
    if (sw->stopping) {
        maybe_release(sw);
        return;
    }
    if (rc != MP_OK) {
        mp_log_warn("guest sweep failed: %s", mp_err_code(rc));
        return;
    }
    for (size_t i = 0; i < out->n_devices; i++)
        mp_auth_revoke_device(sw->auth, out->devices[i]);
    /* Groups that lost their owner changed hands (or were dissolved). */
    if (sw->hook)
        sw->hook(sw->hook_ud, out);
    sw->deleted += out->n_users;
    if (out->n_users > 0)
        mp_log_info("guest sweep: deleted %zu inactive guest(s)", out->n_users);
    if (out->n_users >= MP_SWEEP_BATCH)
        mp_sweep_run(sw);
}

void mp_sweep_run(mp_sweep_t *sw)
{
    const mp_config_t *cfg = sw->cfg;
    if (sw->pending || sw->stopping)
        return;
    int64_t cutoff = mp_now_ms() - (int64_t)cfg->guest_ttl_s * 1000;
    mp_err_t rc = mp_store_guest_sweep(sw->store, cutoff, MP_SWEEP_BATCH, on_swept, sw);
    /* A full queue: the next tick tries again. */
    sw->pending = rc == MP_OK;
}

static void run_unverified(mp_sweep_t *sw);

static void on_unverified_swept(mp_err_t rc, size_t n, void *ud)
{
    mp_sweep_t *sw = ud;
    sw->unverified = false;
    if (sw->stopping) {
        maybe_release(sw);
        return;
    }
    if (rc != MP_OK) {
        mp_log_warn("unverified account sweep failed: %s", mp_err_code(rc));
        return;
    }
    if (n > 0)
        mp_log_info("sweep: deleted %zu account(s) never verified", n);
    if (n >= MP_SWEEP_BATCH)
        run_unverified(sw);
}

static void run_unverified(mp_sweep_t *sw)
{
    if (sw->unverified || sw->stopping)
        return;
    int64_t cutoff = mp_now_ms() - (int64_t)sw->cfg->email_pending_ttl_s * 1000;
    mp_err_t rc =
        mp_store_pending_sweep(sw->store, cutoff, MP_SWEEP_BATCH, on_unverified_swept, sw);
    sw->unverified = rc == MP_OK;
}

static void on_tick(uv_timer_t *t)
{
    mp_sweep_t *sw = t->data;
    /* One node of a cluster sweeps; twice at once would be harmless (each
     * delete is a transaction), only wasted. */
    const mp_module_ctx_t *ctx = sw->auth != NULL ? sw->auth->ctx : NULL;
    if (ctx != NULL && ctx->hub != NULL && !mp_hub_leader(ctx->hub))
        return;
    mp_sweep_run(sw);
    run_unverified(sw);
}

mp_sweep_t *mp_sweep_start(uv_loop_t *loop, const mp_config_t *cfg, mp_store_t *store,
                           mp_auth_t *auth, mp_sweep_hook_fn hook, void *hook_ud)
{
    mp_sweep_t *sw = mp_calloc(1, sizeof *sw);
    sw->cfg = cfg;
    sw->store = store;
    sw->auth = auth;
    sw->hook = hook;
    sw->hook_ud = hook_ud;
    uint64_t every = mp_sweep_interval_ms(cfg->guest_ttl_s, cfg->guest_sweep_interval_ms);
    uv_timer_init(loop, &sw->timer);
    sw->timer.data = sw;
    uv_timer_start(&sw->timer, on_tick, every, every);
    /* The timer alone must not keep the loop alive at shutdown. */
    uv_unref((uv_handle_t *)&sw->timer);
    return sw;
}

uint64_t mp_sweep_deleted(const mp_sweep_t *sw)
{
    return sw->deleted;
}

static void on_timer_closed(uv_handle_t *h)
{
    mp_sweep_t *sw = h->data;
    sw->handle_closed = true;
    maybe_release(sw);
}

void mp_sweep_free(mp_sweep_t *sw)
{
    if (sw == NULL)
        return;
    sw->stopping = true;
    uv_timer_stop(&sw->timer);
    uv_close((uv_handle_t *)&sw->timer, on_timer_closed);
}
