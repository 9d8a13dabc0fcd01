/* The chat's side of the wire: loading the list and history, sending without
 * blocking the screen (frames with ids of our own, whose replies
 * tui_events.c matches), draining what arrives, keeping the connection alive
 * and coming back after it drops (sync from the cursor, reload the open
 * page, resend what was not acked with the same client_msg_id). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/tui_int.h"
#include "util/alloc.h"
#include "util/clock.h"

#define PING_EVERY_MS 25000
#define TYPING_EVERY_MS 3000
#define SEND_TIMEOUT_MS 5000
/* The server pings every 30 s and our own ping is answered: a connection
 * silent for this long is dead even if TCP has not noticed. */
#define SILENCE_MS 70000
#define PAGE 50

void mp_tui__set_status(mp_tui_t *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->status, sizeof t->status, fmt, ap);
    va_end(ap);
    t->status_until = mp_mono_ms() + 8000;
    t->dirty = true;
}

static uint64_t user_key(const char *user_id)
{
    char *end;
    unsigned long long k = strtoull(user_id, &end, 10);
    return end != user_id && *end == '\0' ? k : 0;
}

static void want(mp_tui_t *t, const char *user_id)
{
    char *free_slot = NULL;
    for (size_t i = 0; i < MP_TUI_WANTED; i++) {
        if (strcmp(t->wanted[i], user_id) == 0)
            return;
        if (free_slot == NULL && t->wanted[i][0] == '\0')
            free_slot = t->wanted[i];
    }
    /* all slots taken: the next draw wants it again */
    if (free_slot != NULL)
        snprintf(free_slot, sizeof t->wanted[0], "%s", user_id);
}

/* Keeps name as user_id's for drawing (and in the names cache). */
static void remember_user(mp_tui_t *t, const char *user_id, const char *name)
{
    uint64_t k = user_key(user_id);
    if (k == 0 || name[0] == '\0')
        return;
    size_t n = strlen(name) + 1;
    char *copy = mp_malloc(n);
    memcpy(copy, name, n);
    mp_free(mp_map_put(&t->users, k, copy));
    mpr_names_learn_user(t->names, user_id, name);
}

const char *mp_tui__user_name(mp_tui_t *t, const char *user_id)
{
    if (strcmp(user_id, t->model.me) == 0)
        return t->s->cred.username;
    uint64_t k = user_key(user_id);
    const char *name = k != 0 ? mp_map_get(&t->users, k) : NULL;
    if (name != NULL)
        return name;
    if (k != 0)
        want(t, user_id);
    return user_id;
}

void mp_tui__to_top(mp_tui_t *t, mp_tui_conv_t *c)
{
    mp_tui_conv_t *selected = t->model.n_convs ? t->model.convs[t->sel] : NULL;
    mp_tui__conv_to_top(&t->model, c);
    if (selected != NULL)
        t->sel = mp_tui__conv_index(&t->model, selected);
}

/* ---- connection ----------------------------------------------------------------- */

static void drop(mp_tui_t *t)
{
    if (t->ws == NULL)
        return;
    mpc_ws_free(t->ws);
    t->ws = NULL;
    t->reconnect_at = mp_mono_ms() + mpr_backoff_next(&t->backoff);
    t->dirty = true;
}

int64_t mp_tui__send_frame(mp_tui_t *t, json_t *req)
{
    if (t->ws == NULL)
        return 0;
    int64_t id = t->next_frame_id++;
    json_object_set_new(req, "id", json_integer(id));
    if (mpc_ws_send_json(t->ws, req, SEND_TIMEOUT_MS) != MPC_OK) {
        drop(t);
        return 0;
    }
    return id;
}

/* A blocking request (history, sync): short, and acceptable to wait for. */
static json_t *call(mp_tui_t *t, const char *type, json_t *fields)
{
    if (t->ws == NULL)
        return NULL;
    json_t *reply = NULL;
    mpr_err_t e = {0};
    if (mpr_ws_call(t->ws, type, fields, &reply, &e) != 0) {
        if (e.exit == MPR_EXIT_OFFLINE)
            drop(t);
        else
            mp_tui__set_status(t, "%s: %s", e.code, e.msg);
        json_decref(reply);
        return NULL;
    }
    return reply;
}

int mp_tui__connect(mp_tui_t *t, mpr_err_t *e)
{
    t->ws = mpr_ws_open(t->s, e);
    if (t->ws == NULL)
        return -1;
    if (t->cursor[0] == '\0') {
        /* Only what happens from now on: a since above every version answers
         * the current cursor and nothing else. */
        json_t *f = json_pack("{s:s}", "since", "9223372036854775807");
        json_t *reply = NULL;
        int rc = mpr_ws_call(t->ws, "sync", f, &reply, e);
        json_decref(f);
        if (rc != 0) {
            json_decref(reply);
            mpc_ws_free(t->ws);
            t->ws = NULL;
            return -1;
        }
        snprintf(t->cursor, sizeof t->cursor, "%s", mp_tui__jstr(reply, "cursor"));
        json_decref(reply);
    }
    t->last_ping = t->last_rx = mp_mono_ms();
    return 0;
}

/* ---- the list --------------------------------------------------------------------- */

static void apply_presence(mp_tui_conv_t *c, json_t *j)
{
    c->online = json_is_true(json_object_get(j, "online"));
    c->last_seen_at = mp_tui__jint(j, "last_seen_at");
}

static void fetch_presence(mp_tui_t *t, mp_tui_conv_t *c)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/users/%s/presence", c->peer);
    json_t *j = NULL;
    mpr_err_t e = {0};
    /* without it the dot stays off until a presence event says otherwise */
    if (mpr_http_json(t->s, "GET", path, NULL, &j, &e) == 0) {
        apply_presence(c, j);
        json_decref(j);
    }
}

/* Fills c from an entry of GET /v1/conversations. */
static void apply_list_entry(mp_tui_t *t, mp_tui_conv_t *c, json_t *entry)
{
    snprintf(c->kind, sizeof c->kind, "%s", mp_tui__jstr(entry, "kind"));
    json_t *peer = json_object_get(entry, "peer");
    if (json_is_object(peer)) {
        snprintf(c->peer, sizeof c->peer, "%s", mp_tui__jstr(peer, "user_id"));
        snprintf(c->label, sizeof c->label, "@%s", mp_tui__jstr(peer, "username"));
        remember_user(t, c->peer, mp_tui__jstr(peer, "username"));
    } else if (json_is_string(json_object_get(entry, "title"))) {
        snprintf(c->label, sizeof c->label, "#%s", mp_tui__jstr(entry, "title"));
    }
    mpr_names_learn_conv(t->names, entry);
    c->read_seq = mp_tui__jint(entry, "read_seq");
    if (mp_tui__jint(entry, "last_seq") > c->last_seq)
        c->last_seq = mp_tui__jint(entry, "last_seq");
    if (c != t->open)
        c->unread = mp_tui__jint(entry, "unread");
}

/* GET /v1/conversations (first page). only: apply just that conversation
 * (NULL: all of them). Returns the number of entries applied, -1 on error. */
static int fetch_list(mp_tui_t *t, const char *only, mpr_err_t *e)
{
    json_t *j = NULL;
    if (mpr_http_json(t->s, "GET", "/v1/conversations?limit=50", NULL, &j, e) != 0)
        return -1;
    int n = 0;
    size_t i;
    json_t *entry;
    json_array_foreach(json_object_get(j, "conversations"), i, entry)
    {
        const char *id = mp_tui__jstr(entry, "conversation_id");
        if (only != NULL && strcmp(id, only) != 0)
            continue;
        mp_tui_conv_t *c = mp_tui__conv_get(&t->model, id, false);
        apply_list_entry(t, c, entry);
        if (c->peer[0] != '\0')
            fetch_presence(t, c);
        n++;
    }
    json_decref(j);
    return n;
}

int mp_tui__load_list(mp_tui_t *t, mpr_err_t *e)
{
    if (fetch_list(t, NULL, e) < 0)
        return -1;
    json_t *j = NULL;
    if (mpr_http_json(t->s, "GET", "/v1/world", NULL, &j, e) != 0)
        return -1;
    mp_tui_conv_t *w = mp_tui__conv_get(&t->model, mp_tui__jstr(j, "conversation_id"), false);
    snprintf(w->kind, sizeof w->kind, "world");
    snprintf(w->label, sizeof w->label, "world");
    json_decref(j);
    return 0;
}

/* A new direct chat, a group we were added to. */
mp_tui_conv_t *mp_tui__discover(mp_tui_t *t, const char *id)
{
    mp_tui_conv_t *c = mp_tui__conv_get(&t->model, id, false);
    if (c->label[0] == '\0')
        snprintf(c->label, sizeof c->label, "%s", id);
    c->unknown = true;
    mp_tui__to_top(t, c);
    return c;
}

/* ---- names, between events ------------------------------------------------------------ */

/* How long one lookup may take: the keyboard waits meanwhile. */
#define LOOKUP_MS 2000
/* After a lookup finds the server unreachable or slow, none for this long
 * (the names show as ids meanwhile). */
#define LOOKUP_QUIET_MS 10000

/* GET path within LOOKUP_MS (mpr_http waits up to MPR_TIMEOUT_MS, too long
 * for the keyboard to wait on a name). Returns the HTTP status with *out
 * (the JSON answer or NULL; caller decrefs), or -1 when the server did not
 * answer in time. */
static int quick_get(mp_tui_t *t, const char *path, json_t **out)
{
    *out = NULL;
    mpr_err_t e = {0};
    mpc_response_t r;
    int status = mpr_http_within(t->s, "GET", path, NULL, LOOKUP_MS, &r, &e);
    if (status < 0)
        return -1;
    *out = r.json != NULL ? json_incref(r.json) : NULL;
    mpc_response_free(&r);
    return status;
}

static mp_tui_conv_t *unknown_conv(const mp_tui_t *t)
{
    for (size_t i = 0; i < t->model.n_convs; i++)
        if (t->model.convs[i]->unknown)
            return t->model.convs[i];
    return NULL;
}

/* The slot of a wanted name, or -1. */
static int wanted_user(const mp_tui_t *t)
{
    for (int i = 0; i < MP_TUI_WANTED; i++)
        if (t->wanted[i][0] != '\0')
            return i;
    return -1;
}

bool mp_tui__lookup_due(const mp_tui_t *t)
{
    return mp_mono_ms() >= t->lookups_at && (unknown_conv(t) != NULL || wanted_user(t) >= 0);
}

/* A direct chat is among the newest of the list; else a group. Either way
 * the conversation is no longer unknown once the server answered. */
static int lookup_conv(mp_tui_t *t, mp_tui_conv_t *c)
{
    json_t *j;
    if (quick_get(t, "/v1/conversations?limit=50", &j) < 0)
        return -1;
    size_t i;
    json_t *entry;
    bool found = false;
    json_array_foreach(json_object_get(j, "conversations"), i, entry)
    {
        if (strcmp(mp_tui__jstr(entry, "conversation_id"), c->id) == 0) {
            apply_list_entry(t, c, entry);
            found = true;
            break;
        }
    }
    json_decref(j);
    char path[96];
    if (found && c->peer[0] != '\0') {
        snprintf(path, sizeof path, "/v1/users/%s/presence", c->peer);
        if (quick_get(t, path, &j) == 200)
            apply_presence(c, j);
        json_decref(j);
    } else if (!found) {
        snprintf(path, sizeof path, "/v1/groups/%s", c->id);
        int st = quick_get(t, path, &j);
        if (st < 0)
            return -1;
        if (st == 200 && json_is_string(json_object_get(j, "title"))) {
            snprintf(c->kind, sizeof c->kind, "group");
            snprintf(c->label, sizeof c->label, "#%s", mp_tui__jstr(j, "title"));
            mpr_names_learn_conv(t->names, j);
        }
        json_decref(j);
    }
    c->unknown = false;
    return 0;
}

static int lookup_user(mp_tui_t *t, char *slot)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/users/%s", slot);
    json_t *j;
    int st = quick_get(t, path, &j);
    if (st < 0)
        return -1;
    /* Unknown or unreadable (guests may not read profiles): its id, for good. */
    const char *name = st == 200 ? json_string_value(json_object_get(j, "username")) : NULL;
    if (name == NULL)
        name = slot;
    remember_user(t, slot, name);
    json_decref(j);
    slot[0] = '\0';
    return 0;
}

void mp_tui__lookup_one(mp_tui_t *t)
{
    mp_tui_conv_t *c = unknown_conv(t);
    int i = wanted_user(t);
    int rc = 0;
    if (c != NULL)
        rc = lookup_conv(t, c);
    else if (i >= 0)
        rc = lookup_user(t, t->wanted[i]);
    if (rc != 0)
        t->lookups_at = mp_mono_ms() + LOOKUP_QUIET_MS;
    t->dirty = true;
}

/* ---- history, read, send, typing --------------------------------------------------- */

int mp_tui__load_history(mp_tui_t *t, mp_tui_conv_t *c, bool older)
{
    json_t *f = json_pack("{s:s,s:i}", "conversation", c->id, "limit", PAGE);
    if (older && c->n_msgs > 0)
        json_object_set_new(f, "before_seq", json_integer(c->msgs[0].seq));
    json_t *reply = call(t, "history", f);
    json_decref(f);
    if (reply == NULL)
        return -1;
    if (!older)
        mp_tui__conv_clear(c);
    size_t i;
    json_t *msg;
    json_array_foreach(json_object_get(reply, "messages"), i, msg) mp_tui__conv_upsert(c, msg);
    c->has_more = json_is_true(json_object_get(reply, "has_more"));
    c->loaded = true;
    json_decref(reply);
    t->dirty = true;
    return 0;
}

void mp_tui__mark_read(mp_tui_t *t)
{
    mp_tui_conv_t *c = t->open;
    if (c == NULL || c->scroll != 0 || t->ws == NULL)
        return;
    int64_t seq = mp_tui__conv_newest_seq(c);
    if (seq <= c->read_seq && c->unread == 0)
        return;
    json_t *f =
        json_pack("{s:s,s:s,s:I}", "type", "read", "conversation", c->id, "seq", (json_int_t)seq);
    if (mp_tui__send_frame(t, f) != 0) {
        c->read_seq = seq;
        c->unread = 0;
        t->dirty = true;
    }
    json_decref(f);
}

static void send_pending(mp_tui_t *t, mp_tui_pending_t *p)
{
    json_t *f = json_pack("{s:s,s:s,s:s,s:s}", "type", "send", "conversation", p->conv,
                          "client_msg_id", p->client_msg_id, "text", p->text);
    p->frame_id = mp_tui__send_frame(t, f);
    json_decref(f);
}

void mp_tui__send_text(mp_tui_t *t, const char *text)
{
    if (t->open == NULL)
        return;
    mp_tui_pending_t *p = mp_tui__pending_add(&t->model, t->open->id, text);
    p->created_ms = mp_now_ms();
    t->open->scroll = 0;
    /* Not connected: it goes out when the connection is back. */
    send_pending(t, p);
    t->dirty = true;
}

void mp_tui__send_typing(mp_tui_t *t)
{
    int64_t now = mp_mono_ms();
    if (t->open == NULL || t->ws == NULL || now - t->last_typing_sent < TYPING_EVERY_MS)
        return;
    t->last_typing_sent = now;
    json_t *f = json_pack("{s:s,s:s}", "type", "typing", "conversation", t->open->id);
    mp_tui__send_frame(t, f);
    json_decref(f);
}

/* ---- coming back ------------------------------------------------------------------------ */

static void catch_up(mp_tui_t *t)
{
    for (int pages = 0; pages < 1000 && t->ws != NULL; pages++) {
        json_t *f = json_pack("{s:s}", "since", t->cursor);
        json_t *reply = call(t, "sync", f);
        json_decref(f);
        if (reply == NULL)
            return;
        mp_tui__apply_sync(t, reply);
        snprintf(t->cursor, sizeof t->cursor, "%s", mp_tui__jstr(reply, "cursor"));
        bool more = json_is_true(json_object_get(reply, "has_more"));
        json_decref(reply);
        if (!more)
            break;
    }
    if (t->open != NULL && mp_tui__load_history(t, t->open, false) == 0)
        mp_tui__mark_read(t);
    /* Same client_msg_id: the server answers a duplicate with the original. */
    for (size_t i = 0; i < t->model.n_pending && t->ws != NULL; i++)
        send_pending(t, &t->model.pending[i]);
}

static void try_reconnect(mp_tui_t *t)
{
    mpr_err_t e = {0};
    if (mp_tui__connect(t, &e) != 0) {
        t->reconnect_at = mp_mono_ms() + mpr_backoff_next(&t->backoff);
        return;
    }
    mpr_backoff_reset(&t->backoff);
    catch_up(t);
    t->dirty = true;
}

/* Forgets the typing indicators and the status message whose time is over
 * (so that the next deadline is in the future). */
static void expire(mp_tui_t *t, int64_t now)
{
    for (size_t i = 0; i < t->model.n_convs; i++) {
        mp_tui_conv_t *c = t->model.convs[i];
        if (c->typing_user[0] != '\0' && c->typing_until <= now) {
            c->typing_user[0] = '\0';
            t->dirty = true;
        }
    }
    if (t->status[0] != '\0' && t->status_until <= now) {
        t->status[0] = '\0';
        t->dirty = true;
    }
}

void mp_tui__net_pump(mp_tui_t *t)
{
    int64_t now = mp_mono_ms();
    expire(t, now);
    if (t->ws == NULL && now >= t->reconnect_at)
        try_reconnect(t);
    if (t->ws == NULL)
        return;
    /* Drain everything the client library already holds: poll() on the fd
     * would not see bytes it buffered, nor frames mpr_ws_call queued. */
    for (int n = 0; n < 10000 && t->ws != NULL; n++) {
        mpc_ws_msg_t m;
        int rc = mpc_ws_recv(t->ws, 0, &m);
        if (rc == MPC_ERR_TIMEOUT)
            break;
        if (rc != MPC_OK || m.opcode == MPC_WS_CLOSE) {
            if (rc == MPC_OK)
                mpc_ws_msg_free(&m);
            drop(t);
            break;
        }
        t->last_rx = now;
        if (m.opcode == MPC_WS_TEXT && json_is_object(m.json)) {
            mp_tui__on_frame(t, m.json);
            t->dirty = true;
        }
        mpc_ws_msg_free(&m);
    }
    if (t->ws != NULL && now - t->last_rx >= SILENCE_MS)
        drop(t);
    if (t->ws != NULL && now - t->last_ping >= PING_EVERY_MS) {
        t->last_ping = now;
        json_t *f = json_pack("{s:s}", "type", "ping");
        mp_tui__send_frame(t, f);
        json_decref(f);
    }
}

int mp_tui__net_fd(mp_tui_t *t)
{
    return t->ws ? mpc_conn_fd(mpc_ws_conn(t->ws)) : -1;
}

int64_t mp_tui__net_deadline(mp_tui_t *t)
{
    int64_t d = t->reconnect_at;
    if (t->ws != NULL) {
        d = t->last_ping + PING_EVERY_MS;
        if (t->last_rx + SILENCE_MS < d)
            d = t->last_rx + SILENCE_MS;
    }
    for (size_t i = 0; i < t->model.n_convs; i++) {
        mp_tui_conv_t *c = t->model.convs[i];
        if (c->typing_user[0] != '\0' && c->typing_until < d)
            d = c->typing_until;
    }
    if (t->status[0] != '\0' && t->status_until < d)
        d = t->status_until;
    if ((unknown_conv(t) != NULL || wanted_user(t) >= 0) && t->lookups_at < d)
        d = t->lookups_at;
    return d;
}
