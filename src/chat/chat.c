/* Module life and the membership lookup that every conversation verb starts
 * with: the cache first, the store on a miss. */
#include "chat/chat_int.h"

#include "util/alloc.h"
#include "util/clock.h"
#include "util/log.h"

#define MP_CHAT_CACHE_MAX 65536
#define MP_CHAT_PRESENCE_MAX 65536 /* offline users whose last_seen_at is kept */
#define MP_CHAT_RL_KEYS 100000
#define MP_CHAT_TYPING_BURST 5
#define MP_CHAT_TYPING_RATE 3.0
/* Reactions: a burst of 20, then 5 a second per user (docs/protocol.md). */
#define MP_CHAT_REACT_BURST 20
#define MP_CHAT_REACT_RATE 5.0

mp_chat_t *mp_chat_new(const mp_module_ctx_t *ctx)
{
    mp_chat_t *chat = mp_calloc(1, sizeof *chat);
    const mp_config_t *cfg = ctx->cfg;
    chat->ctx = ctx;
    chat->cache = mp_chat__cache_new(MP_CHAT_CACHE_MAX);
    unsigned burst = cfg->send_burst ? cfg->send_burst : 1;
    double rate = cfg->send_rate ? (double)cfg->send_rate : 1.0;
    chat->send_rl = mp_ratelimit_new(burst, rate, MP_CHAT_RL_KEYS);
    chat->typing_rl = mp_ratelimit_new(MP_CHAT_TYPING_BURST, MP_CHAT_TYPING_RATE, MP_CHAT_RL_KEYS);
    chat->react_rl = mp_ratelimit_new(MP_CHAT_REACT_BURST, MP_CHAT_REACT_RATE, MP_CHAT_RL_KEYS);
    chat->presence = mp_chat__presence_new(MP_CHAT_PRESENCE_MAX);
    chat->world = mp_chat__world_new(cfg);
    mp_chat__world_share(chat, true);
    return chat;
}

void mp_chat_free(mp_chat_t *chat)
{
    if (chat == NULL)
        return;
    if (chat->ctx->hub != NULL)
        mp_hub_on_presence(chat->ctx->hub, NULL, NULL);
    mp_chat__world_share(chat, false);
    mp_chat__cache_free(chat->cache);
    mp_ratelimit_free(chat->send_rl);
    mp_ratelimit_free(chat->typing_rl);
    mp_ratelimit_free(chat->react_rl);
    mp_chat__presence_free(chat->presence);
    mp_chat__world_free(chat->world);
    mp_free(chat);
}

mp_chat_t *mp_chat__of_cmd(const mp_cmd_t *cmd)
{
    return cmd->mod;
}

mp_chat_t *mp_chat__of_req(mp_http_req_t *req)
{
    return mp_http_req_mod(req);
}

/* ---- membership lookup -----------------------------------------------------
 * Concurrent misses on one conversation share ONE store read: the first
 * starts it, later ones wait on its list, and all continue in arrival order
 * when it completes. Besides saving reads (after a restart every pipelined
 * send misses), this keeps a client's pipelined sends in order: they reach
 * the writer, and get their seqs, in the order they arrived. */

typedef struct waiter {
    mp_chat_conv_cont cont;
    void *ud;
    struct waiter *next;
} waiter_t;

struct mp_chat_load {
    mp_chat_t *chat;
    uint64_t conv_id;
    uint64_t epoch; /* chat->epoch when the read was queued */
    unsigned retries;
    waiter_t *head, *tail;
    struct mp_chat_load *next; /* chat->loading list */
};

static struct mp_chat_load *load_find(mp_chat_t *chat, uint64_t conv_id)
{
    struct mp_chat_load *l = chat->loading;
    while (l != NULL && l->conv_id != conv_id)
        l = l->next;
    return l;
}

static void load_unlink(mp_chat_t *chat, struct mp_chat_load *l)
{
    struct mp_chat_load **pp = &chat->loading;
    while (*pp != l)
        pp = &(*pp)->next;
    *pp = l->next;
}

static void waiter_add(struct mp_chat_load *l, mp_chat_conv_cont cont, void *ud)
{
    waiter_t *w = mp_malloc(sizeof *w);
    *w = (waiter_t){.cont = cont, .ud = ud, .next = NULL};
    if (l->tail)
        l->tail->next = w;
    else
        l->head = w;
    l->tail = w;
}

static void on_members(mp_err_t rc, const mp_group_conv_row_t *row, void *ud);

/* Queues the store read of l (its epoch is the cache's at that moment). */
static mp_err_t load_start(mp_chat_t *chat, struct mp_chat_load *l)
{
    l->epoch = chat->epoch;
    return mp_store_group_conv(chat->ctx->store, l->conv_id, on_members, l);
}

static void on_members(mp_err_t rc, const mp_group_conv_row_t *row, void *ud)
{
    struct mp_chat_load *l = ud;
    mp_chat_t *chat = l->chat;
    /* A group changed while this read was in flight: it may predate the
     * change, so read again (a few times at most) rather than cache it. */
    if (rc == MP_OK && l->epoch != chat->epoch && l->retries < 3) {
        l->retries++;
        if (load_start(chat, l) == MP_OK)
            return;
    }
    load_unlink(chat, l);
    if (rc == MP_ERR_NOT_FOUND)
        rc = MP_ERR_NOT_MEMBER;
    for (waiter_t *w = l->head, *next; w != NULL; w = next) {
        next = w->next;
        const mp_chat_conv_t *e = NULL;
        if (rc == MP_OK) {
            /* Looked up per waiter: a continuation may have changed the
             * cache (entries are only valid until the next put). */
            e = mp_chat__cache_get(chat->cache, l->conv_id);
            if (e == NULL)
                e = mp_chat__cache_put_row(chat->cache, l->conv_id, row);
        }
        w->cont(chat, rc, e, w->ud);
        mp_free(w);
    }
    mp_free(l);
}

void mp_chat__with_conv(mp_chat_t *chat, uint64_t conv_id, mp_chat_conv_cont cont, void *ud)
{
    const mp_chat_conv_t *e = mp_chat__cache_get(chat->cache, conv_id);
    if (e != NULL) {
        cont(chat, MP_OK, e, ud);
        return;
    }
    struct mp_chat_load *l = load_find(chat, conv_id);
    if (l != NULL) {
        waiter_add(l, cont, ud);
        return;
    }
    l = mp_calloc(1, sizeof *l);
    l->chat = chat;
    l->conv_id = conv_id;
    mp_err_t rc = load_start(chat, l);
    if (rc != MP_OK) {
        mp_free(l);
        cont(chat, rc, NULL, ud);
        return;
    }
    waiter_add(l, cont, ud);
    l->next = chat->loading;
    chat->loading = l;
}
