/* The bus over NATS: one libnats connection, one thread of ours that makes
 * every call that may write to its socket, and a queue back to the loop.
 *
 * Out: mp_bus_publish and mp_bus_subscribe queue an item (bounded by bytes)
 * and wake the bus thread, which hands each to libnats in order. A publish
 * can block in libnats (a full socket buffer is written out in place, up to
 * its write deadline), which is why the loop never calls it.
 *
 * In: libnats delivers every subscription's messages on ONE thread (its
 * global delivery pool, whose size is 1 unless someone raises it), in the
 * order the server sent them; the callback copies the bytes into the inbound
 * queue (bounded by bytes: past it messages are dropped and MP_BUS_LOST is
 * reported) and wakes the loop through a uv_async_t. Connection changes
 * (posted by libnats's callback thread) go into the same queue.
 *
 * Close: the bus thread sends what is queued, flushes (bounded) and ends;
 * the connection is closed, and we wait (bounded) until libnats says that
 * every subscription's handler has returned and the connection's closed
 * callback ran, so that no libnats thread can touch the bus any more; the
 * async handle's close callback frees it. */
#include "bus/bus.h"

#include <nats/nats.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/thread.h"

/* Inbound bytes waiting for the loop; past this messages are dropped. */
#define MP_BUS_IN_MAX (64u << 20)
/* The first connection attempt in mp_bus_open. */
#define MP_BUS_CONNECT_TIMEOUT_MS 2000
/* Reconnect backoff: doubling from MIN to MAX, plus up to a quarter of it at
 * random so that many nodes do not all come back in the same millisecond. */
#define MP_BUS_BACKOFF_MIN_MS 50
#define MP_BUS_BACKOFF_MAX_MS 2000
/* A server that stops answering (no RST: a cable, a frozen host) is given up
 * after about PING * (PINGS_OUT + 1) and reconnected to. */
#define MP_BUS_PING_MS 2000
#define MP_BUS_PINGS_OUT 2
/* A socket write stuck this long drops the connection (then reconnect). */
#define MP_BUS_WRITE_DEADLINE_MS 2000
/* At close: time given to the server to take what is queued, and to libnats
 * to finish its callbacks. */
#define MP_BUS_FLUSH_MS 1000
#define MP_BUS_CLOSE_WAIT_MS 5000
/* Drops are logged at most once per this many ms (they come in bursts). */
#define MP_BUS_LOG_EVERY_MS 5000

typedef struct sub {
    mp_bus_t *bus;
    char subject[MP_BUS_SUBJECT_MAX + 1];
    mp_bus_msg_fn fn;
    void *ud;
    natsSubscription *ns; /* written by the bus thread, read after it ended */
} sub_t;

/* For the bus thread: a subscription to make (sub) or a message to publish. */
typedef struct out_item {
    struct out_item *next;
    sub_t *sub;
    size_t len;
    char subject[MP_BUS_SUBJECT_MAX + 1];
    char data[];
} out_item_t;

/* For the loop: a message of a subscription or a state change. */
typedef struct in_item {
    struct in_item *next;
    sub_t *sub; /* NULL: a state change */
    mp_bus_state_t state;
    size_t len;
    char data[];
} in_item_t;

struct mp_bus {
    uv_loop_t *loop;
    uv_thread_t loop_thread;
    natsOptions *opts;
    natsConnection *nc;
    sub_t *subs[MP_BUS_SUBS_MAX]; /* loop thread */
    int n_subs;

    uv_thread_t thread;
    bool thread_started;
    uv_mutex_t out_mu;
    uv_cond_t out_cv;
    out_item_t *out_head, *out_tail;
    size_t out_bytes;
    bool out_stop;

    uv_mutex_t in_mu;
    uv_cond_t in_cv; /* close waits on it for libnats's last callbacks */
    in_item_t *in_head, *in_tail;
    size_t in_bytes;
    bool in_lost;   /* something was dropped since the last delivery */
    bool in_closed; /* closing: callbacks drop what they get */
    int live_subs;  /* subscriptions whose completion has not run */
    bool nc_closed; /* the connection's closed callback ran */
    uv_async_t async;
    bool async_open;

    mp_bus_state_fn state_fn; /* loop thread */
    void *state_ud;
    bool connected;
    atomic_bool closing;
    atomic_uint_fast64_t dropped, published, received;
    atomic_int_fast64_t drop_logged_at;
};

/* ---- inbound (libnats threads -> loop) ------------------------------------- */

/* Drops are counted and logged, not one line each. */
static void log_drop(mp_bus_t *bus, const char *what)
{
    int64_t now = mp_mono_ms();
    int64_t last = atomic_load(&bus->drop_logged_at);
    if (now - last >= MP_BUS_LOG_EVERY_MS &&
        atomic_compare_exchange_strong(&bus->drop_logged_at, &last, now))
        mp_log_warn("bus: %s", what);
}

static void in_push(mp_bus_t *bus, in_item_t *it)
{
    it->next = NULL;
    uv_mutex_lock(&bus->in_mu);
    if (bus->in_closed) {
        uv_mutex_unlock(&bus->in_mu);
        mp_free(it);
        return;
    }
    if (it->sub != NULL && bus->in_bytes + it->len > MP_BUS_IN_MAX) {
        bus->in_lost = true;
        uv_mutex_unlock(&bus->in_mu);
        mp_free(it);
        log_drop(bus, "messages received faster than the loop takes them: dropping");
        uv_async_send(&bus->async);
        return;
    }
    bus->in_bytes += it->len;
    if (bus->in_tail != NULL)
        bus->in_tail->next = it;
    else
        bus->in_head = it;
    bus->in_tail = it;
    uv_mutex_unlock(&bus->in_mu);
    uv_async_send(&bus->async);
}

static void in_state(mp_bus_t *bus, mp_bus_state_t state)
{
    in_item_t *it = mp_calloc(1, sizeof *it);
    it->state = state;
    in_push(bus, it);
}

static void on_msg(natsConnection *nc, natsSubscription *ns, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)ns;
    sub_t *sub = closure;
    int len = natsMsg_GetDataLength(msg);
    size_t n = len > 0 ? (size_t)len : 0;
    in_item_t *it = mp_malloc(sizeof *it + n);
    it->sub = sub;
    it->len = n;
    if (n > 0)
        memcpy(it->data, natsMsg_GetData(msg), n);
    natsMsg_Destroy(msg);
    in_push(sub->bus, it);
}

static void on_sub_complete(void *closure)
{
    sub_t *sub = closure;
    mp_bus_t *bus = sub->bus;
    uv_mutex_lock(&bus->in_mu);
    bus->live_subs--;
    uv_cond_broadcast(&bus->in_cv);
    uv_mutex_unlock(&bus->in_mu);
}

static void on_connected(natsConnection *nc, void *closure)
{
    (void)nc;
    in_state(closure, MP_BUS_CONNECTED);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    in_state(closure, MP_BUS_DISCONNECTED);
}

static void on_reconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    in_state(closure, MP_BUS_RECONNECTED);
}

static void on_closed(natsConnection *nc, void *closure)
{
    mp_bus_t *bus = closure;
    /* libnats gives up by itself only on errors a retry cannot mend (an
     * authorization violation, say): a node without its bus must say why
     * loudly, not run on silently. */
    if (!atomic_load(&bus->closing)) {
        const char *why = NULL;
        natsStatus s = natsConnection_GetLastError(nc, &why);
        mp_log_error("bus: NATS ended the connection for good (%s; most often every server "
                     "refused the user or password in nats_url); live events no longer reach "
                     "other nodes until this node restarts",
                     why != NULL && why[0] != '\0' ? why : natsStatus_GetText(s));
        in_state(bus, MP_BUS_CLOSED);
    }
    uv_mutex_lock(&bus->in_mu);
    bus->nc_closed = true;
    uv_cond_broadcast(&bus->in_cv);
    uv_mutex_unlock(&bus->in_mu);
}

/* libnats's asynchronous errors: a subscription whose pending messages
 * overflowed inside libnats lost some (as when our own queue overflows). */
static void on_error(natsConnection *nc, natsSubscription *ns, natsStatus err, void *closure)
{
    (void)nc;
    (void)ns;
    mp_bus_t *bus = closure;
    if (err == NATS_SLOW_CONSUMER) {
        uv_mutex_lock(&bus->in_mu);
        bus->in_lost = true;
        uv_mutex_unlock(&bus->in_mu);
        uv_async_send(&bus->async);
        log_drop(bus, "libnats dropped messages (slow consumer)");
        return;
    }
    mp_log_warn("bus: %s", natsStatus_GetText(err));
}

static int64_t reconnect_delay(natsConnection *nc, int attempts, void *closure)
{
    (void)nc;
    (void)closure;
    int shift = attempts > 1 ? attempts - 1 : 0;
    int64_t d = shift >= 6 ? MP_BUS_BACKOFF_MAX_MS : (int64_t)MP_BUS_BACKOFF_MIN_MS << shift;
    if (d > MP_BUS_BACKOFF_MAX_MS)
        d = MP_BUS_BACKOFF_MAX_MS;
    /* Jitter from the clock's low bits: good enough to spread nodes apart. */
    uint64_t x = (uint64_t)nats_NowInNanoSeconds();
    x ^= x >> 17;
    return d + (int64_t)(x % (uint64_t)(d / 4 + 1));
}

/* Runs on the loop: everything queued, in order, then a loss if any. */
static void on_async(uv_async_t *h)
{
    mp_bus_t *bus = h->data;
    MP_ASSERT_THREAD(bus->loop_thread);
    uv_mutex_lock(&bus->in_mu);
    in_item_t *it = bus->in_head;
    bus->in_head = bus->in_tail = NULL;
    bus->in_bytes = 0;
    bool lost = bus->in_lost;
    bus->in_lost = false;
    uv_mutex_unlock(&bus->in_mu);
    while (it != NULL) {
        in_item_t *next = it->next;
        if (atomic_load(&bus->closing)) {
            /* mp_bus_close was called: nothing more is delivered. */
        } else if (it->sub != NULL) {
            atomic_fetch_add(&bus->received, 1);
            it->sub->fn(it->sub->ud, it->data, it->len);
        } else {
            bus->connected = it->state != MP_BUS_DISCONNECTED && it->state != MP_BUS_CLOSED;
            if (bus->state_fn != NULL)
                bus->state_fn(bus->state_ud, it->state);
        }
        mp_free(it);
        it = next;
    }
    if (lost && !atomic_load(&bus->closing) && bus->state_fn != NULL)
        bus->state_fn(bus->state_ud, MP_BUS_LOST);
}

/* ---- outbound (loop -> bus thread -> libnats) --------------------------------- */

static mp_err_t out_push(mp_bus_t *bus, out_item_t *it)
{
    it->next = NULL;
    uv_mutex_lock(&bus->out_mu);
    if (bus->out_stop || (it->sub == NULL && bus->out_bytes + it->len > MP_BUS_QUEUE_MAX)) {
        uv_mutex_unlock(&bus->out_mu);
        mp_free(it);
        return MP_ERR_UNAVAILABLE;
    }
    bus->out_bytes += it->len;
    if (bus->out_tail != NULL)
        bus->out_tail->next = it;
    else
        bus->out_head = it;
    bus->out_tail = it;
    uv_cond_signal(&bus->out_cv);
    uv_mutex_unlock(&bus->out_mu);
    return MP_OK;
}

static void do_subscribe(mp_bus_t *bus, sub_t *sub)
{
    natsStatus s = natsConnection_Subscribe(&sub->ns, bus->nc, sub->subject, on_msg, sub);
    if (s == NATS_OK)
        s = natsSubscription_SetOnCompleteCB(sub->ns, on_sub_complete, sub);
    if (s != NATS_OK) {
        mp_log_error("bus: cannot subscribe to %s: %s", sub->subject, natsStatus_GetText(s));
        if (sub->ns != NULL) {
            natsSubscription_Destroy(sub->ns);
            sub->ns = NULL;
        }
        return;
    }
    uv_mutex_lock(&bus->in_mu);
    bus->live_subs++;
    uv_mutex_unlock(&bus->in_mu);
}

static void do_publish(mp_bus_t *bus, const out_item_t *it)
{
    natsStatus s = natsConnection_Publish(bus->nc, it->subject, it->data, (int)it->len);
    if (s == NATS_OK) {
        atomic_fetch_add(&bus->published, 1);
        return;
    }
    atomic_fetch_add(&bus->dropped, 1);
    if (s == NATS_INSUFFICIENT_BUFFER)
        log_drop(bus, "disconnected and the reconnect buffer is full: dropping messages");
    else if (s == NATS_MAX_PAYLOAD)
        mp_log_error("bus: a message of %zu bytes on %s is larger than the server takes", it->len,
                     it->subject);
    else
        log_drop(bus, natsStatus_GetText(s));
}

static void bus_thread(void *arg)
{
    mp_thread_name("mp-bus");
    mp_bus_t *bus = arg;
    for (;;) {
        uv_mutex_lock(&bus->out_mu);
        while (bus->out_head == NULL && !bus->out_stop)
            uv_cond_wait(&bus->out_cv, &bus->out_mu);
        out_item_t *it = bus->out_head;
        bus->out_head = bus->out_tail = NULL;
        bus->out_bytes = 0;
        bool stop = bus->out_stop;
        uv_mutex_unlock(&bus->out_mu);
        while (it != NULL) {
            out_item_t *next = it->next;
            if (it->sub != NULL)
                do_subscribe(bus, it->sub);
            else
                do_publish(bus, it);
            mp_free(it);
            it = next;
        }
        if (stop)
            break;
    }
    /* What was published last (a goodbye) should reach the server. */
    if (natsConnection_Status(bus->nc) == NATS_CONN_STATUS_CONNECTED)
        (void)natsConnection_FlushTimeout(bus->nc, MP_BUS_FLUSH_MS);
    nats_ReleaseThreadMemory();
}

/* ---- open / close ------------------------------------------------------------- */

/* "a, b,c" -> {"a","b","c"} in buf (modified). Returns the count. */
static int split_urls(char *buf, const char **urls, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok != NULL && n < max;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t len = strlen(tok);
        while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
            tok[--len] = '\0';
        if (len > 0)
            urls[n++] = tok;
    }
    return n;
}

static natsStatus set_options(mp_bus_t *bus, const char *url, unsigned node_id)
{
    char name[32];
    snprintf(name, sizeof name, "magpie-node-%u", node_id);
    char *buf = mp_strdup(url);
    const char *urls[32];
    int n = split_urls(buf, urls, 32);
    natsOptions *o = bus->opts;
    natsStatus s = n > 0 ? natsOptions_SetServers(o, urls, n) : NATS_INVALID_ARG;
    mp_free(buf);
    if (s == NATS_OK)
        s = natsOptions_SetName(o, name);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(o, MP_BUS_CONNECT_TIMEOUT_MS);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(o, -1); /* forever */
    if (s == NATS_OK)
        s = natsOptions_SetCustomReconnectDelay(o, reconnect_delay, bus);
    if (s == NATS_OK)
        s = natsOptions_SetPingInterval(o, MP_BUS_PING_MS);
    if (s == NATS_OK)
        s = natsOptions_SetMaxPingsOut(o, MP_BUS_PINGS_OUT);
    if (s == NATS_OK)
        s = natsOptions_SetWriteDeadline(o, MP_BUS_WRITE_DEADLINE_MS);
    /* Our own broadcasts are not for us. */
    if (s == NATS_OK)
        s = natsOptions_SetNoEcho(o, true);
    /* One delivery thread for every subscription: one order across them. */
    if (s == NATS_OK)
        s = natsOptions_UseGlobalMessageDelivery(o, true);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(o, on_disconnected, bus);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(o, on_reconnected, bus);
    if (s == NATS_OK)
        s = natsOptions_SetClosedCB(o, on_closed, bus);
    if (s == NATS_OK)
        s = natsOptions_SetErrorHandler(o, on_error, bus);
    if (s == NATS_OK)
        s = natsOptions_SetRetryOnFailedConnect(o, true, on_connected, bus);
    return s;
}

static void free_bus(mp_bus_t *bus)
{
    for (in_item_t *it = bus->in_head; it != NULL;) {
        in_item_t *next = it->next;
        mp_free(it);
        it = next;
    }
    for (out_item_t *it = bus->out_head; it != NULL;) {
        out_item_t *next = it->next;
        mp_free(it);
        it = next;
    }
    for (int i = 0; i < bus->n_subs; i++)
        mp_free(bus->subs[i]);
    uv_cond_destroy(&bus->out_cv);
    uv_mutex_destroy(&bus->out_mu);
    uv_cond_destroy(&bus->in_cv);
    uv_mutex_destroy(&bus->in_mu);
    mp_free(bus);
}

static void on_async_closed(uv_handle_t *h)
{
    free_bus(h->data);
}

mp_bus_t *mp_bus_open(uv_loop_t *loop, const char *url, unsigned node_id, char *err, size_t errlen)
{
    mp_bus_t *bus = mp_calloc(1, sizeof *bus);
    bus->loop = loop;
    bus->loop_thread = uv_thread_self();
    uv_mutex_init(&bus->out_mu);
    uv_cond_init(&bus->out_cv);
    uv_mutex_init(&bus->in_mu);
    uv_cond_init(&bus->in_cv);
    atomic_init(&bus->closing, false);
    atomic_init(&bus->dropped, 0);
    atomic_init(&bus->published, 0);
    atomic_init(&bus->received, 0);
    atomic_init(&bus->drop_logged_at, -MP_BUS_LOG_EVERY_MS);
    if (uv_async_init(loop, &bus->async, on_async) != 0) {
        snprintf(err, errlen, "bus: cannot create an async handle");
        free_bus(bus);
        return NULL;
    }
    bus->async.data = bus;
    bus->async_open = true;

    natsStatus s = natsOptions_Create(&bus->opts);
    if (s == NATS_OK)
        s = set_options(bus, url, node_id);
    if (s != NATS_OK) {
        snprintf(err, errlen, "bus: bad NATS settings (nats_url): %s", natsStatus_GetText(s));
        goto fail;
    }
    s = natsConnection_Connect(&bus->nc, bus->opts);
    if (s == NATS_OK) {
        in_state(bus, MP_BUS_CONNECTED);
    } else if (s == NATS_NOT_YET_CONNECTED) {
        /* libnats keeps why the first attempt failed (no server, or one
         * that refused the credentials in nats_url): worth telling. */
        const char *why = nats_GetLastError(NULL);
        mp_log_warn("bus: not connected to NATS yet (%s); trying again in the background",
                    why != NULL && why[0] != '\0' ? why : "no server answers");
    } else {
        snprintf(err, errlen, "bus: cannot connect to NATS (nats_url): %s",
                 nats_GetLastError(NULL) ? nats_GetLastError(NULL) : natsStatus_GetText(s));
        goto fail;
    }
    if (uv_thread_create(&bus->thread, bus_thread, bus) != 0) {
        snprintf(err, errlen, "bus: cannot start its thread");
        goto fail;
    }
    bus->thread_started = true;
    return bus;
fail:
    atomic_store(&bus->closing, true);
    if (bus->nc != NULL) {
        uv_mutex_lock(&bus->in_mu);
        bus->in_closed = true;
        uv_mutex_unlock(&bus->in_mu);
        natsConnection_Close(bus->nc);
        uv_mutex_lock(&bus->in_mu);
        while (!bus->nc_closed)
            if (uv_cond_timedwait(&bus->in_cv, &bus->in_mu,
                                  (uint64_t)MP_BUS_CLOSE_WAIT_MS * 1000000u) != 0)
                break;
        uv_mutex_unlock(&bus->in_mu);
        natsConnection_Destroy(bus->nc);
    }
    natsOptions_Destroy(bus->opts);
    uv_close((uv_handle_t *)&bus->async, on_async_closed);
    return NULL;
}

void mp_bus_on_state(mp_bus_t *bus, mp_bus_state_fn fn, void *ud)
{
    MP_ASSERT_THREAD(bus->loop_thread);
    bus->state_fn = fn;
    bus->state_ud = ud;
}

mp_err_t mp_bus_subscribe(mp_bus_t *bus, const char *subject, mp_bus_msg_fn fn, void *ud)
{
    MP_ASSERT_THREAD(bus->loop_thread);
    if (strlen(subject) > MP_BUS_SUBJECT_MAX)
        return MP_ERR_BAD_REQUEST;
    if (atomic_load(&bus->closing) || bus->n_subs == MP_BUS_SUBS_MAX)
        return MP_ERR_UNAVAILABLE;
    sub_t *sub = mp_calloc(1, sizeof *sub);
    sub->bus = bus;
    snprintf(sub->subject, sizeof sub->subject, "%s", subject);
    sub->fn = fn;
    sub->ud = ud;
    out_item_t *it = mp_calloc(1, sizeof *it);
    it->sub = sub;
    mp_err_t rc = out_push(bus, it);
    if (rc != MP_OK) {
        mp_free(sub);
        return rc;
    }
    bus->subs[bus->n_subs++] = sub;
    return MP_OK;
}

mp_err_t mp_bus_publish(mp_bus_t *bus, const char *subject, const void *data, size_t len)
{
    MP_ASSERT_THREAD(bus->loop_thread);
    size_t slen = strlen(subject);
    if (slen > MP_BUS_SUBJECT_MAX)
        return MP_ERR_BAD_REQUEST;
    if (atomic_load(&bus->closing))
        return MP_ERR_UNAVAILABLE;
    out_item_t *it = mp_malloc(sizeof *it + len);
    it->sub = NULL;
    it->len = len;
    memcpy(it->subject, subject, slen + 1);
    if (len > 0)
        memcpy(it->data, data, len);
    mp_err_t rc = out_push(bus, it);
    if (rc != MP_OK) {
        atomic_fetch_add(&bus->dropped, 1);
        log_drop(bus, "the outgoing queue is full: dropping messages");
    }
    return rc;
}

uint64_t mp_bus_take_dropped(mp_bus_t *bus)
{
    return atomic_exchange(&bus->dropped, 0);
}

bool mp_bus_connected(const mp_bus_t *bus)
{
    return bus->connected;
}

void mp_bus_stats(const mp_bus_t *bus, uint64_t *published, uint64_t *received)
{
    mp_bus_t *b = (mp_bus_t *)bus; /* atomics are read through a non-const pointer */
    if (published != NULL)
        *published = atomic_load(&b->published);
    if (received != NULL)
        *received = atomic_load(&b->received);
}

void mp_bus_close(mp_bus_t *bus)
{
    if (bus == NULL || atomic_exchange(&bus->closing, true))
        return;
    MP_ASSERT_THREAD(bus->loop_thread);
    /* 1. What is queued goes out; the thread ends. */
    uv_mutex_lock(&bus->out_mu);
    bus->out_stop = true;
    uv_cond_signal(&bus->out_cv);
    uv_mutex_unlock(&bus->out_mu);
    if (bus->thread_started)
        uv_thread_join(&bus->thread);
    /* 2. The connection closes (and with it every subscription); wait until
     * libnats has run its last callback into us. */
    uv_mutex_lock(&bus->in_mu);
    bus->in_closed = true;
    uv_mutex_unlock(&bus->in_mu);
    natsConnection_Close(bus->nc);
    for (int i = 0; i < bus->n_subs; i++)
        if (bus->subs[i]->ns != NULL)
            natsSubscription_Destroy(bus->subs[i]->ns);
    int64_t until = mp_mono_ms() + MP_BUS_CLOSE_WAIT_MS;
    uv_mutex_lock(&bus->in_mu);
    while ((bus->live_subs > 0 || !bus->nc_closed) && mp_mono_ms() < until)
        (void)uv_cond_timedwait(&bus->in_cv, &bus->in_mu, 100u * 1000000u);
    bool clean = bus->live_subs == 0 && bus->nc_closed;
    uv_mutex_unlock(&bus->in_mu);
    natsConnection_Destroy(bus->nc);
    natsOptions_Destroy(bus->opts);
    bus->nc = NULL;
    bus->opts = NULL;
    if (!clean) {
        /* Freeing now could let a late callback write into freed memory;
         * leaking one bus at shutdown is the lesser harm. */
        mp_log_error("bus: libnats did not finish its callbacks within %d ms; not freeing the bus",
                     MP_BUS_CLOSE_WAIT_MS);
        uv_close((uv_handle_t *)&bus->async, NULL);
        return;
    }
    uv_close((uv_handle_t *)&bus->async, on_async_closed);
}
