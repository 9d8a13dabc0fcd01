/* Module life and the membership lookup that every conversation verb starts
 * with: the cache first, the store on a miss. */
#include "chat/chat_int.h"

#include "app/app.h"
#include "util/alloc.h"
#include "util/log.h"

#define MP_CHAT_CACHE_MAX 65536
#define MP_CHAT_RL_KEYS 100000
#define MP_CHAT_TYPING_BURST 5
#define MP_CHAT_TYPING_RATE 3.0

mp_chat_t *mp_chat_new(struct mp_app *app)
{
    mp_chat_t *chat = mp_calloc(1, sizeof *chat);
    const mp_config_t *cfg = app->cfg;
    chat->app = app;
    chat->cache = mp_chat__cache_new(MP_CHAT_CACHE_MAX);
    unsigned burst = cfg->send_burst ? cfg->send_burst : 1;
    double rate = cfg->send_rate ? (double)cfg->send_rate : 1.0;
    chat->send_rl = mp_ratelimit_new(burst, rate, MP_CHAT_RL_KEYS);
    chat->typing_rl = mp_ratelimit_new(MP_CHAT_TYPING_BURST, MP_CHAT_TYPING_RATE, MP_CHAT_RL_KEYS);
    chat->presence = mp_chat__presence_new();
    return chat;
}

void mp_chat_free(mp_chat_t *chat)
{
    if (chat == NULL)
        return;
    if (chat->app->hub != NULL)
        mp_hub_on_presence(chat->app->hub, NULL, NULL);
    mp_chat__cache_free(chat->cache);
    mp_ratelimit_free(chat->send_rl);
    mp_ratelimit_free(chat->typing_rl);
    mp_chat__presence_free(chat->presence);
    mp_free(chat);
}

mp_chat_t *mp_chat__of_cmd(const mp_cmd_t *cmd)
{
    return cmd->app->chat;
}

mp_chat_t *mp_chat__of_req(mp_http_req_t *req)
{
    mp_app_t *app = mp_http_req_ctx(req);
    return app->chat;
}

/* ---- membership lookup ----------------------------------------------------- */

typedef struct load_ctx {
    mp_chat_t *chat;
    uint64_t conv_id;
    mp_chat_conv_cont cont;
    void *ud;
} load_ctx_t;

static void on_members(mp_err_t rc, mp_conv_kind_t kind, const uint64_t *members, size_t n,
                       void *ud)
{
    load_ctx_t *l = ud;
    const mp_chat_conv_t *e = NULL;
    if (rc == MP_OK)
        e = mp_chat__cache_put(l->chat->cache, l->conv_id, kind, members, n);
    else if (rc == MP_ERR_NOT_FOUND)
        rc = MP_ERR_NOT_MEMBER;
    l->cont(l->chat, rc, e, l->ud);
    mp_free(l);
}

void mp_chat__with_conv(mp_chat_t *chat, uint64_t conv_id, mp_chat_conv_cont cont, void *ud)
{
    const mp_chat_conv_t *e = mp_chat__cache_get(chat->cache, conv_id);
    if (e != NULL) {
        cont(chat, MP_OK, e, ud);
        return;
    }
    load_ctx_t *l = mp_malloc(sizeof *l);
    *l = (load_ctx_t){.chat = chat, .conv_id = conv_id, .cont = cont, .ud = ud};
    mp_err_t rc = mp_store_chat_members(chat->app->store, conv_id, on_members, l);
    if (rc != MP_OK) {
        mp_free(l);
        cont(chat, rc, NULL, ud);
    }
}
