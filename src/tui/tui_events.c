/* What arrives on the WebSocket, one handler per event from one table: new,
 * edited and deleted messages, typing, receipts, the user's own reads on
 * other devices, presence; the replies to the sends of the loop; and the
 * items of a catching-up sync. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "tui/tui_int.h"
#include "util/clock.h"

#define TYPING_SHOWN_MS 5000 /* how long "NAME is typing..." stays after the event */

static void on_send_reply(mp_tui_t *t, mp_tui_pending_t *p, json_t *reply)
{
    json_t *err = json_object_get(reply, "error");
    if (err != NULL) {
        mp_tui__set_status(t, "not sent: %s", mp_tui__jstr(err, "message"));
        /* give the text back to edit and send again, unless a new line is
         * being typed */
        if (t->input.len == 0 && t->open != NULL && strcmp(t->open->id, p->conv) == 0)
            mp_tui__input_set(&t->input, p->text);
        mp_tui__pending_remove(&t->model, p);
        return;
    }
    json_t *seq = json_object_get(reply, "seq"), *at = json_object_get(reply, "created_at");
    const char *mid = json_string_value(json_object_get(reply, "message_id"));
    if (!json_is_integer(seq) || !json_is_integer(at) || mid == NULL) {
        /* The server may have stored it: not given back to send again (that
         * would be a second message); history shows it if it was. */
        mp_tui__set_status(t, "not sent? the server's answer to a message was not understood");
        mp_tui__pending_remove(&t->model, p);
        return;
    }
    mp_tui_conv_t *c = mp_tui__conv_get(&t->model, p->conv, false);
    json_t *msg = json_pack("{s:s,s:s,s:O,s:s,s:s,s:O,s:s}", "message_id", mid, "conversation",
                            p->conv, "seq", seq, "sender", t->model.me, "kind", "text",
                            "created_at", at, "client_msg_id", p->client_msg_id);
    assert(msg != NULL);
    json_object_set_new(msg, "text", json_string(p->text));
    mp_tui__conv_upsert(c, msg);
    json_decref(msg);
    /* sending moves the sender's own cursors to the message */
    if (mp_tui__jint(reply, "seq") > c->read_seq)
        c->read_seq = mp_tui__jint(reply, "seq");
    if (mp_tui__jint(reply, "seq") > c->last_seq)
        c->last_seq = mp_tui__jint(reply, "seq");
    mp_tui__pending_remove(&t->model, p);
    mp_tui__to_top(t, c);
}

static void on_reply(mp_tui_t *t, json_t *reply)
{
    int64_t id = mp_tui__jint(reply, "id");
    mp_tui_pending_t *p = mp_tui__pending_by_frame(&t->model, id);
    if (p != NULL) {
        on_send_reply(t, p, reply);
        return;
    }
    json_t *err = json_object_get(reply, "error");
    /* typing beyond its rate limit is harmless: the indicator just lags */
    if (err != NULL && strcmp(mp_tui__jstr(err, "code"), "rate_limited") != 0)
        mp_tui__set_status(t, "%s: %s", mp_tui__jstr(err, "code"), mp_tui__jstr(err, "message"));
}

static void send_delivered(mp_tui_t *t, mp_tui_conv_t *c, int64_t seq)
{
    json_t *f = json_pack("{s:s,s:s,s:I}", "type", "delivered", "conversation", c->id, "seq",
                          (json_int_t)seq);
    mp_tui__send_frame(t, f);
    json_decref(f);
}

static void on_message(mp_tui_t *t, json_t *ev)
{
    json_t *msg = json_object_get(ev, "message");
    const char *cid = mp_tui__jstr(msg, "conversation");
    mp_tui_conv_t *c = mp_tui__conv_find(&t->model, cid);
    if (c == NULL)
        c = mp_tui__discover(t, cid);
    /* Counted once: a conversation just fetched from the list may already
     * count this message as unread. */
    int64_t seq = mp_tui__jint(msg, "seq");
    bool fresh = seq > c->last_seq;
    if (fresh)
        c->last_seq = seq;
    /* Messages are kept only for conversations whose history was loaded:
     * opening one loads its newest page anyway, and a busy room nobody
     * looks at must not grow without bound. */
    bool added = c->loaded ? mp_tui__conv_upsert(c, msg) : fresh;
    if (!added)
        return;
    const char *sender = mp_tui__jstr(msg, "sender");
    if (strcmp(c->typing_user, sender) == 0)
        c->typing_user[0] = '\0';
    if (strcmp(sender, t->model.me) == 0) {
        mp_tui__to_top(t, c);
        return;
    }
    if (c == t->open) {
        mp_tui__mark_read(t);
    } else {
        if (fresh)
            c->unread++;
        mp_tui__to_top(t, c);
        /* the world room keeps no cursors for readers who do not ask */
        if (strcmp(c->kind, "world") != 0)
            send_delivered(t, c, seq);
    }
}

static void on_message_edited(mp_tui_t *t, json_t *ev)
{
    json_t *msg = json_object_get(ev, "message");
    mp_tui_conv_t *c = mp_tui__conv_find(&t->model, mp_tui__jstr(msg, "conversation"));
    if (c != NULL && mp_tui__conv_msg(c, mp_tui__jstr(msg, "message_id")) != NULL)
        mp_tui__conv_upsert(c, msg);
}

static void on_message_deleted(mp_tui_t *t, json_t *ev)
{
    mp_tui_conv_t *c = mp_tui__conv_find(&t->model, mp_tui__jstr(ev, "conversation"));
    if (c == NULL)
        return;
    if (strcmp(mp_tui__jstr(ev, "for"), "me") == 0) {
        mp_tui__conv_remove(c, mp_tui__jstr(ev, "message_id"));
        return;
    }
    mp_tui_msg_t *x = mp_tui__conv_msg(c, mp_tui__jstr(ev, "message_id"));
    if (x == NULL)
        return;
    json_t *tomb = json_pack("{s:s,s:s,s:I,s:s,s:s,s:I,s:b}", "message_id", x->message_id,
                             "conversation", c->id, "seq", (json_int_t)x->seq, "sender", x->sender,
                             "kind", "text", "created_at", (json_int_t)x->created_at, "deleted", 1);
    mp_tui__conv_upsert(c, tomb);
    json_decref(tomb);
}

static void on_typing(mp_tui_t *t, json_t *ev)
{
    mp_tui_conv_t *c = mp_tui__conv_find(&t->model, mp_tui__jstr(ev, "conversation"));
    const char *user = mp_tui__jstr(ev, "user_id");
    if (c == NULL || strcmp(user, t->model.me) == 0)
        return;
    snprintf(c->typing_user, sizeof c->typing_user, "%s", user);
    c->typing_until = mp_mono_ms() + TYPING_SHOWN_MS;
}

/* A member's cursors moved (a receipt event or a sync receipts entry). */
static void on_receipt(mp_tui_t *t, json_t *ev)
{
    mp_tui_conv_t *c = mp_tui__conv_find(&t->model, mp_tui__jstr(ev, "conversation"));
    if (c == NULL)
        return;
    int64_t rd = mp_tui__jint(ev, "read_seq"), dl = mp_tui__jint(ev, "delivered_seq");
    if (strcmp(mp_tui__jstr(ev, "user_id"), t->model.me) == 0) {
        if (rd > c->read_seq)
            c->read_seq = rd;
        return;
    }
    if (rd > c->peer_read_seq)
        c->peer_read_seq = rd;
    if (dl > c->peer_delivered_seq)
        c->peer_delivered_seq = dl;
}

static void on_read(mp_tui_t *t, json_t *ev)
{
    mp_tui_conv_t *c = mp_tui__conv_find(&t->model, mp_tui__jstr(ev, "conversation"));
    if (c == NULL)
        return;
    c->read_seq = mp_tui__jint(ev, "read_seq");
    c->unread = mp_tui__jint(ev, "unread");
}

static void on_presence(mp_tui_t *t, json_t *ev)
{
    const char *user = mp_tui__jstr(ev, "user_id");
    for (size_t i = 0; i < t->model.n_convs; i++) {
        mp_tui_conv_t *c = t->model.convs[i];
        if (strcmp(c->peer, user) == 0) {
            c->online = json_is_true(json_object_get(ev, "online"));
            c->last_seen_at = mp_tui__jint(ev, "last_seen_at");
        }
    }
}

static const struct {
    const char *name;
    void (*fn)(mp_tui_t *t, json_t *ev);
} handlers[] = {
    {"message", on_message},
    {"message_edited", on_message_edited},
    {"message_deleted", on_message_deleted},
    {"typing", on_typing},
    {"receipt", on_receipt},
    {"read", on_read},
    {"presence", on_presence},
};

void mp_tui__on_frame(mp_tui_t *t, json_t *j)
{
    const char *ev = json_string_value(json_object_get(j, "event"));
    if (ev == NULL) {
        if (mp_tui__jint(j, "id") >= MP_TUI_OWN_IDS)
            on_reply(t, j);
        return;
    }
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        if (strcmp(handlers[i].name, ev) == 0) {
            handlers[i].fn(t, j);
            return;
        }
}

void mp_tui__apply_sync(mp_tui_t *t, json_t *reply)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(reply, "conversations"), i, x)
    {
        const char *id = mp_tui__jstr(x, "conversation_id");
        mp_tui_conv_t *c = mp_tui__conv_find(&t->model, id);
        if (c == NULL)
            c = mp_tui__discover(t, id);
        if (mp_tui__jint(x, "last_seq") > c->last_seq)
            c->last_seq = mp_tui__jint(x, "last_seq");
        if (c != t->open && mp_tui__jint(x, "unread") > 0) {
            c->unread = mp_tui__jint(x, "unread");
            mp_tui__to_top(t, c);
        }
    }
    json_array_foreach(json_object_get(reply, "messages"), i, x)
    {
        mp_tui_conv_t *c = mp_tui__conv_find(&t->model, mp_tui__jstr(x, "conversation"));
        if (c != NULL && c->loaded)
            mp_tui__conv_upsert(c, x);
    }
    json_array_foreach(json_object_get(reply, "receipts"), i, x) on_receipt(t, x);
    json_array_foreach(json_object_get(reply, "hidden"), i, x)
    {
        mp_tui_conv_t *c = mp_tui__conv_find(&t->model, mp_tui__jstr(x, "conversation"));
        if (c != NULL)
            mp_tui__conv_remove(c, mp_tui__jstr(x, "message_id"));
    }
}
