/* Internals shared by the files of the chat module: module state, the
 * membership cache, JSON shapes of messages and events, fan-out helpers and
 * small parsers. */
#ifndef MP_CHAT_CHAT_INT_H
#define MP_CHAT_CHAT_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/ratelimit.h"
#include "chat/chat.h"
#include "net/gw.h"
#include "store/chat.h"

/* ---- membership cache (convcache.c) --------------------------------------
 * conversation id -> kind + member user ids, filled from the store on a miss.
 * Direct conversations never change members, so entries never go stale in
 * this issue; group changes will update or drop entries. Bounded: when full,
 * the whole cache is dropped (a cheap, rare refill beats an LRU on the hot
 * path). Entries are valid until the next put/drop/clear: never hold one
 * across an asynchronous step. */

typedef struct mp_chat_conv {
    uint64_t id; /* 0 = empty slot */
    mp_conv_kind_t kind;
    uint32_t n;
    uint64_t *members; /* owned */
} mp_chat_conv_t;

typedef struct mp_chat_cache mp_chat_cache_t;

/* max_entries >= 1. Never returns NULL. */
mp_chat_cache_t *mp_chat__cache_new(size_t max_entries);
void mp_chat__cache_free(mp_chat_cache_t *c);
/* The entry for id, or NULL. */
const mp_chat_conv_t *mp_chat__cache_get(mp_chat_cache_t *c, uint64_t id);
/* Inserts or replaces (members copied). Returns the stored entry. */
const mp_chat_conv_t *mp_chat__cache_put(mp_chat_cache_t *c, uint64_t id, mp_conv_kind_t kind,
                                         const uint64_t *members, size_t n);
void mp_chat__cache_drop(mp_chat_cache_t *c, uint64_t id);
size_t mp_chat__cache_size(const mp_chat_cache_t *c);
/* True when user may use conversation e (a member, or the world room). */
bool mp_chat__conv_has(const mp_chat_conv_t *e, uint64_t user);

/* ---- module state (chat.c) -------------------------------------------------- */

typedef struct mp_chat_presence mp_chat_presence_t;

struct mp_chat {
    struct mp_app *app;
    mp_chat_cache_t *cache;
    mp_ratelimit_t *send_rl;      /* cfg send_rate / send_burst per user */
    mp_ratelimit_t *typing_rl;    /* a few typing events per second per user */
    mp_chat_presence_t *presence; /* user -> last_seen_at (presence.c) */
    struct mp_chat_load *loading; /* member-list reads in flight (chat.c) */
};

/* The module of a command / request. */
mp_chat_t *mp_chat__of_cmd(const mp_cmd_t *cmd);
mp_chat_t *mp_chat__of_req(mp_http_req_t *req);

/* Calls cont with the conversation (from the cache, or loaded into it). On a
 * miss this is asynchronous; an unknown conversation gives MP_ERR_NOT_MEMBER
 * (never "not found": ids must not leak), a full store queue
 * MP_ERR_UNAVAILABLE. conv is valid only during the call. */
typedef void (*mp_chat_conv_cont)(mp_chat_t *chat, mp_err_t rc, const mp_chat_conv_t *conv,
                                  void *ud);
void mp_chat__with_conv(mp_chat_t *chat, uint64_t conv_id, mp_chat_conv_cont cont, void *ud);

/* ---- JSON shapes and fan-out (events.c) ----------------------------------- */

/* {"message_id","conversation","seq","sender","kind","text","created_at"
 * [,"client_msg_id" when with_cmid]}. */
json_t *mp_chat__msg_json(const mp_msg_row_t *m, bool with_cmid);
/* A decimal id string value. */
json_t *mp_chat__id_json(uint64_t id);

/* Sends f to every online session of every member of conv except `skip_user`
 * (0 = none). */
void mp_chat__push_members(mp_chat_t *chat, const mp_chat_conv_t *conv, uint64_t skip_user,
                           mp_frame_t *f);

/* ---- presence (presence.c) ------------------------------------------------- */

mp_chat_presence_t *mp_chat__presence_new(void);
void mp_chat__presence_free(mp_chat_presence_t *p);
/* Records when user was last seen (now) and returns 0, or looks it up
 * (at_ms < 0): returns the last time recorded, 0 if never. */
int64_t mp_chat__presence_seen(mp_chat_presence_t *p, uint64_t user, int64_t at_ms);

/* ---- HTTP handlers (routes.c, history.c, presence.c) ----------------------- */

void mp_chat__route_direct(mp_http_req_t *req);
void mp_chat__route_list(mp_http_req_t *req);
void mp_chat__route_history(mp_http_req_t *req);
void mp_chat__route_presence(mp_http_req_t *req);

/* ---- parsers (parse.c) ------------------------------------------------------ */

/* Strict non-negative decimal (1-19 digits, no sign, no leading zero unless
 * "0"). Returns false on anything else. */
bool mp_chat__parse_i64(const char *s, int64_t *out);
/* The opaque conversation-list cursor "<active_at>.<conversation id>". */
void mp_chat__list_cursor_format(int64_t active_at, uint64_t id, char *out, size_t len);
bool mp_chat__list_cursor_parse(const char *s, int64_t *active_at, uint64_t *id);

#endif
