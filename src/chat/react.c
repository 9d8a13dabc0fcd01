/* Reactions: the verbs react / unreact {conversation, message_id, emoji} →
 * {"emoji","count","changed"} with {"event":"reaction"} to every member
 * session, and who reacted with one emoji (the `reactions` verb and
 * GET /v1/conversations/{id}/messages/{mid}/reactions). Reacting is cheap for
 * the client and a write for the server: a user may add or remove at most
 * MP_CHAT_REACT_BURST at once, then MP_CHAT_REACT_RATE a second
 * (rate_limited with retry_after_ms beyond). */
#include <stdio.h>
#include <string.h>

#include "chat/chat_int.h"
#include "proto/emoji.h"
#include "store/messages.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"

#define REACTORS_DEFAULT 50
#define REACTORS_MAX 100

static const char BAD_EMOJI[] = "field 'emoji' must be a single emoji";
static const char NO_MESSAGE[] = "field 'message_id' names no message you can see here";

const mp_field_t mp_chat_react_fields[] = {
    {"conversation", MP_F_ID, true, 0, 0},
    {"message_id", MP_F_ID, true, 0, 0},
    {"emoji", MP_F_STRING, true, 1, MP_CHAT_EMOJI_MAX},
    {NULL, 0, false, 0, 0},
};

const mp_field_t mp_chat_reactions_fields[] = {
    {"conversation", MP_F_ID, true, 0, 0},
    {"message_id", MP_F_ID, true, 0, 0},
    {"emoji", MP_F_STRING, true, 1, MP_CHAT_EMOJI_MAX},
    {"after", MP_F_ID, false, 0, 0},
    {"limit", MP_F_INT, false, 1, REACTORS_MAX},
    {NULL, 0, false, 0, 0},
};

static bool emoji_ok(const char *e)
{
    return e != NULL && mp_emoji_valid(e, strlen(e));
}

/* ---- react / unreact ----------------------------------------------------------- */

typedef struct react_ctx {
    mp_chat_rq_t rq;
    uint64_t conv, msg;
    bool add;
    char emoji[MP_CHAT_EMOJI_MAX + 1];
    int64_t count;
} react_ctx_t;

static void react_push(mp_chat_t *chat, mp_err_t rc, const mp_chat_conv_t *conv, void *ud)
{
    (void)chat;
    react_ctx_t *c = ud;
    if (rc == MP_OK) {
        json_t *ev = json_pack("{s:s,s:o,s:o,s:s,s:o,s:b,s:I}", "event", "reaction", "conversation",
                               mp_chat__id_json(c->conv), "message_id", mp_chat__id_json(c->msg),
                               "emoji", c->emoji, "user_id", mp_chat__id_json(c->rq.user), "added",
                               c->add, "count", (json_int_t)c->count);
        mp_chat__push_conv_rq(&c->rq, conv, ev);
        json_decref(ev);
    }
    mp_free(c);
}

static const char *react_error(const react_ctx_t *c, mp_err_t rc, char *buf, size_t len)
{
    switch (rc) {
    case MP_ERR_NOT_FOUND:
        return NO_MESSAGE;
    case MP_ERR_BANNED:
        return MP_CHAT_WORLD_BANNED;
    case MP_ERR_LIMIT_REACHED:
        snprintf(buf, len, "a message can carry at most %u different emoji",
                 c->rq.chat->ctx->cfg->max_reaction_kinds);
        return buf;
    default:
        return NULL;
    }
}

static void on_react(mp_err_t rc, const mp_msg_react_out_t *out, void *ud)
{
    react_ctx_t *c = ud;
    if (rc != MP_OK) {
        char buf[96];
        mp_chat__rq_err(&c->rq, rc, react_error(c, rc, buf, sizeof buf));
        mp_free(c);
        return;
    }
    c->count = out->count;
    mp_chat__rq_ok(&c->rq, json_pack("{s:s,s:I,s:b}", "emoji", c->emoji, "count",
                                     (json_int_t)out->count, "changed", out->changed));
    if (!out->changed) { /* nothing new to tell anyone */
        mp_free(c);
        return;
    }
    mp_chat__with_conv(c->rq.chat, c->conv, react_push, c);
}

static void react(mp_cmd_t *cmd, bool add)
{
    react_ctx_t *c = mp_calloc(1, sizeof *c);
    mp_chat__rq_of_cmd(&c->rq, cmd);
    mp_chat_t *chat = c->rq.chat;
    const char *emoji = json_string_value(json_object_get(cmd->frame, "emoji"));
    int64_t retry = 0;
    if (!emoji_ok(emoji)) {
        mp_chat__rq_err(&c->rq, MP_ERR_BAD_REQUEST, BAD_EMOJI);
        mp_free(c);
        return;
    }
    if (!mp_ratelimit_take(chat->react_rl, c->rq.user, mp_mono_ms(), &retry)) {
        mp_chat__rq_rate_limited(&c->rq, retry);
        mp_free(c);
        return;
    }
    c->conv = mp_chat__obj_id(cmd->frame, "conversation");
    c->msg = mp_chat__obj_id(cmd->frame, "message_id");
    c->add = add;
    snprintf(c->emoji, sizeof c->emoji, "%s", emoji);
    const mp_config_t *cfg = chat->ctx->cfg;
    mp_msg_actor_t actor = {.user_id = c->rq.user, .world_moderators = cfg->world_moderators};
    mp_err_t rc = mp_store_msg_react(chat->ctx->store, &actor, c->conv, c->msg, c->emoji, add,
                                     cfg->max_reaction_kinds, mp_now_ms(), on_react, c);
    if (rc != MP_OK)
        on_react(rc, NULL, c);
}

void mp_chat_verb_react(mp_cmd_t *cmd)
{
    react(cmd, true);
}

void mp_chat_verb_unreact(mp_cmd_t *cmd)
{
    react(cmd, false);
}

/* ---- who reacted ---------------------------------------------------------------- */

typedef struct reactors_ctx {
    mp_chat_rq_t rq;
} reactors_ctx_t;

static void on_reactors(mp_err_t rc, const mp_msg_reactor_t *rows, size_t n, bool more, void *ud)
{
    reactors_ctx_t *c = ud;
    if (rc != MP_OK) {
        mp_chat__rq_err(&c->rq, rc, rc == MP_ERR_NOT_FOUND ? NO_MESSAGE : NULL);
        mp_free(c);
        return;
    }
    json_t *users = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(users,
                              json_pack("{s:o,s:I}", "user_id", mp_chat__id_json(rows[i].user_id),
                                        "reacted_at", (json_int_t)rows[i].reacted_at));
    json_t *body = json_pack("{s:o,s:b}", "users", users, "has_more", more && n > 0);
    if (more && n > 0)
        json_object_set_new(body, "next_cursor", mp_chat__id_json(rows[n - 1].user_id));
    mp_chat__rq_ok(&c->rq, body);
    mp_free(c);
}

static void reactors_start(reactors_ctx_t *c, uint64_t conv, uint64_t msg, const char *emoji,
                           uint64_t after, unsigned limit)
{
    if (!emoji_ok(emoji)) {
        mp_chat__rq_err(&c->rq, MP_ERR_BAD_REQUEST, BAD_EMOJI);
        mp_free(c);
        return;
    }
    mp_err_t rc = mp_store_msg_reactors(c->rq.chat->ctx->store, c->rq.user, conv, msg, emoji, after,
                                        limit, on_reactors, c);
    if (rc != MP_OK)
        on_reactors(rc, NULL, 0, false, c);
}

void mp_chat_verb_reactions(mp_cmd_t *cmd)
{
    reactors_ctx_t *c = mp_calloc(1, sizeof *c);
    mp_chat__rq_of_cmd(&c->rq, cmd);
    uint64_t conv = mp_chat__obj_id(cmd->frame, "conversation");
    uint64_t msg = mp_chat__obj_id(cmd->frame, "message_id");
    uint64_t after = mp_chat__obj_id(cmd->frame, "after");
    json_t *l = json_object_get(cmd->frame, "limit");
    unsigned limit = json_is_integer(l) ? (unsigned)json_integer_value(l) : REACTORS_DEFAULT;
    reactors_start(c, conv, msg, json_string_value(json_object_get(cmd->frame, "emoji")), after,
                   limit);
}

void mp_chat__route_reactions(mp_http_req_t *req)
{
    uint64_t conv = 0, msg = 0, after = 0;
    int64_t limit = REACTORS_DEFAULT;
    bool is_id = mp_id_parse(mp_http_req_param(req, "id"), &conv);
    const char *qa = mp_http_req_query(req, "after");
    const char *ql = mp_http_req_query(req, "limit");
    const char *emoji = mp_http_req_query(req, "emoji");
    if (mp_http_req_principal(req)->guest &&
        !mp_chat__world_guest_reads(mp_chat__of_req(req), is_id ? conv : 0)) {
        mp_http_respond_error(req, MP_ERR_GUEST_FORBIDDEN, "guests may only use the world room");
        return;
    }
    if (!is_id) { /* the same answer as an unknown id */
        mp_http_respond_error(req, MP_ERR_NOT_MEMBER, NULL);
        return;
    }
    if (!mp_id_parse(mp_http_req_param(req, "mid"), &msg)) {
        mp_http_respond_error(req, MP_ERR_NOT_FOUND, NO_MESSAGE);
        return;
    }
    if (emoji == NULL || !emoji_ok(emoji)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, BAD_EMOJI);
        return;
    }
    if (qa != NULL && qa[0] != '\0' && !mp_id_parse(qa, &after)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "after must be a user id (next_cursor)");
        return;
    }
    if (ql != NULL && (!mp_chat__parse_i64(ql, &limit) || limit < 1 || limit > REACTORS_MAX)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "limit must be an integer from 1 to 100");
        return;
    }
    reactors_ctx_t *c = mp_calloc(1, sizeof *c);
    mp_chat__rq_of_req(&c->rq, req);
    reactors_start(c, conv, msg, emoji, after, (unsigned)limit);
}
