/* Per-connection deadlines without a timer per connection: one FIFO list per
 * kind (same timeout, so append order is deadline order) and one uv_timer
 * armed for the earliest head. */
#include "net/conn.h"
#include "util/metrics.h"

static unsigned timeout_of(const mp_server_t *srv, int kind)
{
    const mp_config_t *cfg = srv->cfg;
    switch (kind) {
    case MP_T_HEADER:
        return cfg->header_timeout_ms;
    case MP_T_IDLE:
        return cfg->idle_timeout_ms;
    case MP_T_WS_AUTH:
        return cfg->ws_auth_timeout_ms;
    case MP_T_WS_PING:
        return cfg->ws_ping_interval_ms;
    default:
        return MP_NET_CLOSE_MS;
    }
}

static void unlink_conn(mp_conn_t *c)
{
    if (c->tkind == MP_T_NONE)
        return;
    struct mp_tlist *l = &c->srv->tl[c->tkind];
    if (c->tprev)
        c->tprev->tnext = c->tnext;
    else
        l->head = c->tnext;
    if (c->tnext)
        c->tnext->tprev = c->tprev;
    else
        l->tail = c->tprev;
    c->tprev = c->tnext = NULL;
    c->tkind = MP_T_NONE;
}

static void on_timer(uv_timer_t *t);

/* Milliseconds from now to c's deadline (negative once past): c->deadline
 * holds the loop time modulo 2^32, and every timeout is far below 2^31 ms. */
static int64_t left_ms(const mp_conn_t *c, int64_t now)
{
    return (int32_t)(c->deadline - (uint32_t)now);
}

static void arm(mp_server_t *srv)
{
    int64_t now = (int64_t)uv_now(srv->loop);
    int64_t due = -1;
    for (int k = 1; k < MP_T__COUNT; k++) {
        mp_conn_t *h = srv->tl[k].head;
        if (h == NULL)
            continue;
        int64_t left = left_ms(h, now);
        int64_t at = now + (left > 0 ? left : 0);
        if (due < 0 || at < due)
            due = at;
    }
    if (due == srv->timer_due)
        return;
    srv->timer_due = due;
    if (due < 0) {
        uv_timer_stop(&srv->timer);
        return;
    }
    uv_timer_start(&srv->timer, on_timer, (uint64_t)(due - now), 0);
}

void mp_deadline__set(mp_conn_t *c, int kind)
{
    unlink_conn(c);
    if (kind == MP_T_NONE || (c->flags & MP_C_CLOSED)) {
        arm(c->srv);
        return;
    }
    mp_server_t *srv = c->srv;
    unsigned ms = timeout_of(srv, kind);
    if (ms == 0) { /* 0 disables this deadline */
        arm(srv);
        return;
    }
    struct mp_tlist *l = &srv->tl[kind];
    int64_t at = (int64_t)uv_now(srv->loop) + ms;
    c->deadline = (uint32_t)at;
    c->tkind = (uint8_t)kind;
    c->tprev = l->tail;
    c->tnext = NULL;
    if (l->tail)
        l->tail->tnext = c;
    else
        l->head = c;
    l->tail = c;
    /* Only an earlier deadline needs the timer moved. */
    if (srv->timer_due < 0 || at < srv->timer_due) {
        srv->timer_due = -2; /* force arm() to restart */
        arm(srv);
    }
}

static void expire(mp_conn_t *c, int kind)
{
    switch (kind) {
    case MP_T_HEADER:
        if (!mp_tls__ready(c)) { /* a handshake that did not finish in time */
            mp_metrics_inc(MP_MC_TLS_FAILURES);
            mp_conn__close(c);
            break;
        }
        mp_http__reject(c, MP_ERR_TIMEOUT, 0);
        break;
    case MP_T_IDLE:
    case MP_T_CLOSING:
        mp_conn__close(c);
        break;
    default:
        mp_ws__timeout(c, kind);
        break;
    }
}

static void on_timer(uv_timer_t *t)
{
    mp_server_t *srv = t->data;
    int64_t now = (int64_t)uv_now(srv->loop);
    srv->timer_due = -1;
    for (int k = 1; k < MP_T__COUNT; k++) {
        mp_conn_t *c;
        while ((c = srv->tl[k].head) != NULL && left_ms(c, now) <= 0) {
            unlink_conn(c);
            expire(c, k);
        }
    }
    srv->timer_due = -2;
    arm(srv);
}

void mp_deadline__init(mp_server_t *srv)
{
    uv_timer_init(srv->loop, &srv->timer);
    srv->timer.data = srv;
    srv->timer_due = -1;
}

void mp_deadline__expire_now(mp_conn_t *c)
{
    int kind = c->tkind;
    if (kind == MP_T_NONE)
        return;
    unlink_conn(c);
    expire(c, kind);
    arm(c->srv);
}
