/* `magpie tail`: prints messages as they arrive (docs/cli.md), each exactly
 * once across stops and reconnections.
 *
 * Direct conversations and groups are followed through `sync`: a live event
 * only says "look", and the sync from the saved cursor returns what to print,
 * the event's message included. A message comes back from sync whenever it
 * changes (an edit, a deletion, a reaction, a pin), so each catch-up sorts
 * what it gets into new messages and changes with the highest seq printed
 * per conversation before it started; those seqs are saved next to the
 * cursor, under "KEY/CONVERSATION". A catch-up is saved only once it is
 * complete, because within one a message changed after a later one was sent
 * comes after it (sync is in version order), so only at its end are the
 * printed seqs of every conversation a prefix again.
 *
 * The world room is not in sync: it is followed by seq, with `history` pages
 * after the last seq printed (the cursor of key "world") and live `message`
 * events.
 *
 * Once running, nothing but a signal, a refusal that waiting cannot change
 * or a signed-out device stops it: a lost connection, a request without an
 * answer and a server that is busy or failing (transient()) all lead to a
 * new connection after a backoff and a new catch-up. */
#include "cli/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cmd_tail.h"
#include "remote/remote.h"
#include "util/clock.h"
#include "util/map.h"

/* No frame at all for this long: ask the server whether it is still there. */
#define KEEPALIVE_MS 45000
/* How many messages one world-room catch-up step holds. */
#define WORLD_STEP 200
/* Messages whose printed state (edit, deletion) is remembered to drop
 * repeats; beyond it the memory starts again (a repeat then prints once more). */
#define SHOWN_MAX 20000
/* Once following, a request waits this long for its answer (then the
 * connection is taken for dead), so that a stop is never long in coming. */
#define FOLLOW_CALL_MS 10000
/* Live events handled together: one catch-up covers them all. */
#define BATCH_MAX 1000

typedef struct {
    const char *url, *user, *to;
    bool json, since_start, catch_up;
} tail_opts_t;

/* What the catch-up under way has printed: kept across a lost connection,
 * so that the catch-up that starts again after it does not print the same
 * messages twice; emptied once a catch-up is complete and saved. */
typedef struct {
    bool active;      /* a catch-up began and was not saved yet */
    bool from_start;  /* it began at cursor "0": nothing was printed before it */
    mp_map_t news;    /* message id -> 1: printed as new */
    mp_map_t printed; /* conversation -> highest seq printed as new */
} catchup_t;

typedef struct {
    const tail_opts_t *o;
    mpr_session_t s;
    mpr_names_t *names;
    tail_out_t out;
    mpc_ws_t *ws;
    mpr_backoff_t backoff;
    int call_ms;       /* how long a request waits for its answer */
    int retry_ms;      /* the server's retry_after_ms of the last refusal, else 0 */
    bool synced;       /* a catch-up ran after the live events at hand came */
    bool world;        /* following the world room */
    bool filtered;     /* a TO was given: only conv */
    char conv[24];     /* TO's conversation */
    char world_id[24]; /* the world room, which `tail` without TO leaves out */
    char key[24];      /* the cursor's key: "*", conv, or "world" */
    char cursor[24];   /* the sync cursor, or (world) the last seq printed */
    char saved[24];    /* (world) the cursor as saved */
    mp_map_t hw;       /* conversation -> highest seq printed (uintptr_t), as saved */
    mp_map_t shown;    /* message id -> printed state (see state_of) */
    catchup_t cu;      /* sync mode */
} tail_t;

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void tail_usage(FILE *out)
{
    fprintf(out,
            "usage: magpie tail [options] [TO]\n"
            "\n"
            "Prints messages as they arrive: from every direct conversation and group, or\n"
            "only from TO (@username, #group title, world or a conversation id). It first\n"
            "prints what arrived since the last tail of the same TO, and reconnects by itself.\n"
            "\n"
            "  --json          one JSON event per line (message, message_edited,\n"
            "                  message_deleted, receipt, typing, presence)\n"
            "  --since-start   replay everything still stored instead of resuming\n"
            "  --catch-up      print what was missed, then exit\n"
            "  --url URL       the server (default $MAGPIE_URL, else %s)\n"
            "  --user NAME     which signed-in user (default: the last one to log in)\n"
            "\n"
            "Once connected, a lost connection, a request without an answer (10 s) and a server\n"
            "that is busy or failing (unavailable, internal, rate_limited) are waited out:\n"
            "it connects again and catches up.\n"
            "\n"
            "Exit status: 0 stopped (SIGINT, SIGTERM), or caught up with --catch-up;\n"
            "1 refused by the server (before it is connected any refusal, then one that waiting\n"
            "cannot change), or standard output cannot be written; 2 usage; 3 not logged in\n"
            "or cannot connect when it starts, or the device was signed out while running.\n",
            MPR_DEFAULT_URL);
}

enum { O_SINCE_START = MP_CLI_OWN, O_CATCH_UP };

static int on_option(int id, const char *value, void *arg)
{
    (void)value;
    tail_opts_t *o = arg;
    if (id == O_SINCE_START)
        o->since_start = true;
    else if (id == O_CATCH_UP)
        o->catch_up = true;
    return 0;
}

static int parse(int argc, char **argv, tail_opts_t *o)
{
    static const struct option own[] = {
        {"since-start", no_argument, NULL, O_SINCE_START},
        {"catch-up", no_argument, NULL, O_CATCH_UP},
        {NULL, 0, NULL, 0},
    };
    static const mp_cli_spec_t spec = {
        .name = "tail",
        .usage = tail_usage,
        .common = MP_CLI_URL | MP_CLI_USER | MP_CLI_JSON,
        .own = own,
        .on_option = on_option,
        .max_args = 1,
        .args_hint = "give at most one TO",
    };
    memset(o, 0, sizeof *o);
    mp_cli_common_t c;
    int rc = mp_cli_parse(argc, argv, &spec, &c, o);
    if (rc != 0)
        return rc;
    o->url = c.url;
    o->user = c.user;
    o->json = c.json;
    o->to = c.nargs > 0 ? c.args[0] : NULL;
    return 0;
}

/* ---- small helpers ------------------------------------------------------------------- */

static uint64_t id_of(const char *s)
{
    return s != NULL ? strtoull(s, NULL, 10) : 0;
}

static int64_t int_of(json_t *o, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(o, k));
}

static const char *str_of(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v != NULL ? v : "";
}

static int output_failed(mpr_err_t *e)
{
    return mpr_fail(e, MPR_EXIT_REFUSED, "output", "cannot write to standard output: %s",
                    strerror(errno));
}

/* A request on the connection, unless a signal asked to stop (then -1 with
 * code "stopped"). Remembers how long the server asks to wait after a
 * refusal. */
static int call(tail_t *t, const char *type, json_t *fields, json_t **reply, mpr_err_t *e)
{
    if (g_stop)
        return mpr_fail(e, MPR_EXIT_OFFLINE, "stopped", "stopped by a signal");
    json_t *r = NULL;
    int rc = mpr_ws_call_within(t->ws, type, fields, t->call_ms, &r, e);
    if (rc != 0) {
        json_t *v = json_object_get(json_object_get(r, "error"), "retry_after_ms");
        if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 600000)
            t->retry_ms = (int)json_integer_value(v);
    }
    if (reply != NULL)
        *reply = r;
    else
        json_decref(r);
    return rc;
}

/* Failures a later attempt can get past: the connection, and the server's
 * refusals that say "not now" rather than "no". Signed out is for good. */
static bool transient(const mpr_err_t *e)
{
    if (strcmp(e->code, "not_logged_in") == 0)
        return false;
    if (e->exit == MPR_EXIT_OFFLINE)
        return true;
    static const char *const later[] = {"unavailable", "internal", "rate_limited"};
    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
        if (e->exit == MPR_EXIT_REFUSED && strcmp(e->code, later[i]) == 0)
            return true;
    return false;
}

/* What was printed of a message: its edit time, and whether its deletion. */
static uintptr_t state_of(json_t *m)
{
    return (uintptr_t)int_of(m, "edited_at") << 1 | (json_is_true(json_object_get(m, "deleted")));
}

static void remember(tail_t *t, uint64_t message_id, uintptr_t state)
{
    if (mp_map_len(&t->shown) >= SHOWN_MAX) {
        mp_map_free(&t->shown);
        mp_map_init(&t->shown);
    }
    mp_map_put(&t->shown, message_id, (void *)state);
}

/* The cursor key of a conversation's highest printed seq. */
static void hw_key(const tail_t *t, uint64_t conv, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%" PRIu64, t->key, conv);
}

/* The highest seq printed in conv, as saved (0: none, or --since-start). */
static uint64_t hw_get(tail_t *t, uint64_t conv)
{
    void **v = mp_map_find(&t->hw, conv);
    if (v != NULL)
        return (uint64_t)(uintptr_t)*v;
    uint64_t seq = 0;
    if (!t->o->since_start) {
        char key[64], val[24];
        hw_key(t, conv, key, sizeof key);
        mpr_cursor_get(t->s.cred.url, t->s.cred.username, key, val);
        seq = strtoull(val, NULL, 10);
    }
    mp_map_put(&t->hw, conv, (void *)(uintptr_t)seq);
    return seq;
}

/* Tells the senders that these messages reached a device: `delivered` with
 * the highest seq printed per conversation (printed: conversation ->
 * seq). A refusal (e.g. no longer a member) does not matter; a lost
 * connection does. 0 or -1 (e, exit 3). */
static int report_delivered(tail_t *t, mp_map_t *printed, mpr_err_t *e)
{
    mp_map_iter_t it;
    uint64_t conv;
    void *v;
    mp_map_iter_init(printed, &it);
    while (mp_map_iter_next(printed, &it, &conv, &v)) {
        char id[24];
        snprintf(id, sizeof id, "%" PRIu64, conv);
        json_t *f = json_pack("{s:s,s:I}", "conversation", id, "seq", (json_int_t)(uintptr_t)v);
        int rc = call(t, "delivered", f, NULL, e);
        json_decref(f);
        if (rc != 0 && e->exit == MPR_EXIT_OFFLINE)
            return -1;
    }
    return 0;
}

/* ---- direct conversations and groups: sync ------------------------------------------- */

static json_t *deleted_event(json_t *m, const char *for_whom)
{
    json_t *ev = json_pack("{s:s,s:O?,s:O?}", "event", "message_deleted", "conversation",
                           json_object_get(m, "conversation"), "message_id",
                           json_object_get(m, "message_id"));
    if (json_object_get(m, "seq") != NULL)
        json_object_set(ev, "seq", json_object_get(m, "seq"));
    json_object_set_new(ev, "for", json_string(for_whom));
    return ev;
}

/* Prints one message of a sync page: as new when nothing of it was printed
 * (its seq is above what was printed of its conversation when the catch-up
 * began, and this catch-up did not print it yet), else as the change it is
 * (an edit, a deletion; reactions and pins are not shown). 0 or -1 (output). */
static int sync_message(tail_t *t, catchup_t *cu, json_t *m)
{
    uint64_t conv = id_of(str_of(m, "conversation")), id = id_of(str_of(m, "message_id"));
    uint64_t seq = (uint64_t)int_of(m, "seq");
    bool deleted = json_is_true(json_object_get(m, "deleted"));
    uintptr_t state = state_of(m);
    int rc = 0;
    if (seq > hw_get(t, conv) && mp_map_get(&cu->news, id) == NULL) {
        json_t *ev = deleted ? deleted_event(m, "everyone") : NULL;
        rc = deleted ? tail_print_deleted(&t->out, ev, str_of(m, "sender"), int_of(m, "deleted_at"))
                     : tail_print_message(&t->out, m, false);
        json_decref(ev);
        mp_map_put(&cu->news, id, (void *)1);
        void **top = mp_map_upsert(&cu->printed, conv, NULL);
        if ((uint64_t)(uintptr_t)*top < seq)
            *top = (void *)(uintptr_t)seq;
    } else {
        void **was = mp_map_find(&t->shown, id);
        if (was != NULL && (uintptr_t)*was == state)
            return 0; /* nothing new to show: a reaction, a pin, or a repeat */
        if (deleted) {
            json_t *ev = deleted_event(m, "everyone");
            rc = tail_print_deleted(&t->out, ev, str_of(m, "sender"), int_of(m, "deleted_at"));
            json_decref(ev);
        } else if (json_object_get(m, "edited_at") != NULL) {
            rc = tail_print_message(&t->out, m, true);
        }
    }
    remember(t, id, state);
    return rc;
}

/* One sync reply: names learnt, then its messages and the messages hidden
 * for the caller, filtered to TO. */
static int sync_page(tail_t *t, catchup_t *cu, json_t *reply)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(reply, "conversations"), i, v)
    {
        mpr_names_learn_conv(t->names, v);
    }
    json_array_foreach(json_object_get(reply, "messages"), i, v)
    {
        if (t->filtered && strcmp(str_of(v, "conversation"), t->conv) != 0)
            continue;
        if (sync_message(t, cu, v) != 0)
            return -1;
    }
    json_array_foreach(json_object_get(reply, "hidden"), i, v)
    {
        if (t->filtered && strcmp(str_of(v, "conversation"), t->conv) != 0)
            continue;
        uint64_t id = id_of(str_of(v, "message_id"));
        /* From the very start nothing was printed that needs taking back. */
        if (cu->from_start && mp_map_get(&cu->news, id) == NULL)
            continue;
        json_t *ev = deleted_event(v, "me");
        int rc = tail_print_deleted(&t->out, ev, NULL, 0);
        json_decref(ev);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* Saves what a complete catch-up printed, the highest seq per conversation
 * and the cursor, in one atomic write of the credentials file. */
static int save_progress(tail_t *t, catchup_t *cu, const char *cursor, mpr_err_t *e)
{
    size_t n = mp_map_len(&cu->printed), k = 0;
    mpr_kv_t *kv = calloc(n + 1, sizeof *kv);
    char(*text)[2][64] = calloc(n + 1, sizeof *text);
    if (kv == NULL || text == NULL)
        abort();
    mp_map_iter_t it;
    uint64_t conv;
    void *v;
    mp_map_iter_init(&cu->printed, &it);
    while (mp_map_iter_next(&cu->printed, &it, &conv, &v)) {
        hw_key(t, conv, text[k][0], sizeof text[k][0]);
        snprintf(text[k][1], sizeof text[k][1], "%" PRIu64, (uint64_t)(uintptr_t)v);
        kv[k] = (mpr_kv_t){text[k][0], text[k][1]};
        k++;
    }
    kv[k++] = (mpr_kv_t){t->key, cursor};
    int rc = mpr_cursors_set(t->s.cred.url, t->s.cred.username, kv, k, e);
    free(kv);
    free(text);
    if (rc != 0)
        return -1;
    mp_map_iter_init(&cu->printed, &it);
    while (mp_map_iter_next(&cu->printed, &it, &conv, &v))
        mp_map_put(&t->hw, conv, v);
    snprintf(t->cursor, sizeof t->cursor, "%s", cursor);
    return 0;
}

/* Syncs from the cursor until has_more is false, printing as it goes. 0 or
 * -1 (e: exit 3 lost connection, exit 1 refused or output failed). */
static int sync_catch_up(tail_t *t, mpr_err_t *e)
{
    catchup_t *cu = &t->cu;
    if (!cu->active)
        *cu = (catchup_t){.active = true, .from_start = strcmp(t->cursor, "0") == 0};
    char cursor[24];
    snprintf(cursor, sizeof cursor, "%s", t->cursor);
    int rc = 0;
    for (bool more = true; more && rc == 0;) {
        json_t *f = json_pack("{s:s}", "since", cursor), *reply = NULL;
        rc = call(t, "sync", f, &reply, e);
        json_decref(f);
        if (rc == 0) {
            if (sync_page(t, cu, reply) != 0)
                rc = output_failed(e);
            const char *next = json_string_value(json_object_get(reply, "cursor"));
            if (next != NULL && strlen(next) < sizeof cursor)
                snprintf(cursor, sizeof cursor, "%s", next);
            more = json_is_true(json_object_get(reply, "has_more"));
        }
        json_decref(reply);
    }
    if (rc == 0)
        rc = save_progress(t, cu, cursor, e);
    if (rc != 0)
        return -1; /* cu stays: the next attempt knows what this one printed */
    rc = report_delivered(t, &cu->printed, e);
    mp_map_free(&cu->news);
    mp_map_free(&cu->printed);
    cu->active = false;
    return rc;
}

/* ---- the world room: history by seq ------------------------------------------------ */

static uint64_t world_last(const tail_t *t)
{
    return strtoull(t->cursor, NULL, 10);
}

/* Saves the world cursor when it moved: once per window of a catch-up and
 * per batch of live events, not per message (each save is a locked write
 * and an fsync). A tail killed without a chance to save prints those
 * messages again next time. */
static int world_save(tail_t *t, mpr_err_t *e)
{
    if (strcmp(t->cursor, t->saved) == 0)
        return 0;
    if (mpr_cursor_set(t->s.cred.url, t->s.cred.username, t->key, t->cursor, e) != 0)
        return -1;
    snprintf(t->saved, sizeof t->saved, "%s", t->cursor);
    return 0;
}

static void world_move(tail_t *t, uint64_t seq)
{
    snprintf(t->cursor, sizeof t->cursor, "%" PRIu64, seq);
}

/* Prints a world message above the cursor and moves the cursor to it (no
 * `delivered`: receipts of the world room are shown to nobody). */
static int world_print(tail_t *t, json_t *m, mpr_err_t *e)
{
    int rc;
    if (json_is_true(json_object_get(m, "deleted"))) {
        json_t *ev = deleted_event(m, "everyone");
        rc = tail_print_deleted(&t->out, ev, str_of(m, "sender"), int_of(m, "deleted_at"));
        json_decref(ev);
    } else {
        rc = tail_print_message(&t->out, m, false);
    }
    if (rc != 0)
        return output_failed(e);
    remember(t, id_of(str_of(m, "message_id")), state_of(m));
    world_move(t, (uint64_t)int_of(m, "seq"));
    return 0;
}

/* A history page: before_seq (0: the newest), at most limit messages. */
static int history(tail_t *t, uint64_t before, int limit, json_t **reply, mpr_err_t *e)
{
    json_t *f = json_pack("{s:s,s:i}", "conversation", t->conv, "limit", limit);
    if (before > 0)
        json_object_set_new(f, "before_seq", json_integer((json_int_t)before));
    int rc = call(t, "history", f, reply, e);
    json_decref(f);
    return rc;
}

/* The messages with last < seq <= upper, ascending (pages hold the newest
 * below before_seq and may end early, so read backwards down to last). */
static int world_window(tail_t *t, uint64_t last, uint64_t upper, json_t *out, mpr_err_t *e)
{
    uint64_t before = upper + 1;
    for (;;) {
        json_t *reply = NULL;
        int limit = (int)(before - 1 - last);
        if (history(t, before, limit > WORLD_STEP ? WORLD_STEP : limit, &reply, e) != 0) {
            json_decref(reply);
            return -1;
        }
        json_t *msgs = json_object_get(reply, "messages");
        size_t n = json_array_size(msgs);
        for (size_t i = n; i-- > 0;) {
            json_t *m = json_array_get(msgs, i);
            if ((uint64_t)int_of(m, "seq") > last)
                json_array_insert(out, 0, m);
        }
        uint64_t first = n > 0 ? (uint64_t)int_of(json_array_get(msgs, 0), "seq") : 0;
        bool more = json_is_true(json_object_get(reply, "has_more"));
        json_decref(reply);
        if (n == 0 || !more || first <= last + 1)
            return 0;
        before = first;
    }
}

/* Prints every world message after the cursor, WORLD_STEP at a time. */
static int world_catch_up(tail_t *t, mpr_err_t *e)
{
    json_t *reply = NULL;
    if (history(t, 0, 1, &reply, e) != 0) {
        json_decref(reply);
        return -1;
    }
    json_t *newest = json_array_get(json_object_get(reply, "messages"), 0);
    uint64_t top = newest != NULL ? (uint64_t)int_of(newest, "seq") : 0;
    json_decref(reply);
    while (world_last(t) < top) {
        uint64_t last = world_last(t);
        uint64_t upper = top - last > WORLD_STEP ? last + WORLD_STEP : top;
        json_t *window = json_array();
        int rc = world_window(t, last, upper, window, e);
        size_t i;
        json_t *m;
        json_array_foreach(window, i, m)
        {
            if (rc == 0)
                rc = world_print(t, m, e);
        }
        json_decref(window);
        /* the window's last seqs may be hidden for the caller: past them too */
        if (rc == 0 && world_last(t) < upper)
            world_move(t, upper);
        mpr_err_t se = {0};
        if (world_save(t, rc == 0 ? e : &se) != 0 || rc != 0)
            return -1; /* what was printed is saved even when the window failed */
    }
    return 0;
}

/* A live event of the world room. */
static int world_event(tail_t *t, const char *name, json_t *ev, mpr_err_t *e)
{
    json_t *m = strcmp(name, "message_deleted") == 0 ? ev : json_object_get(ev, "message");
    uint64_t seq = (uint64_t)int_of(m, "seq"), last = world_last(t);
    if (seq > last + 1 || (seq == last + 1 && strcmp(name, "message") != 0))
        return world_catch_up(t, e); /* something was missed: fill the gap in order */
    if (strcmp(name, "message") == 0)
        return seq == last + 1 ? world_print(t, m, e) : 0;
    uint64_t id = id_of(str_of(m, "message_id"));
    bool deleted = strcmp(name, "message_deleted") == 0;
    uintptr_t state = deleted ? 1 : state_of(m);
    void **was = mp_map_find(&t->shown, id);
    if (was != NULL && (uintptr_t)*was == state)
        return 0;
    remember(t, id, state);
    int rc =
        deleted ? tail_print_deleted(&t->out, ev, NULL, 0) : tail_print_message(&t->out, m, true);
    return rc == 0 ? 0 : output_failed(e);
}

/* ---- live events ---------------------------------------------------------------------- */

static int on_event(tail_t *t, json_t *ev, mpr_err_t *e)
{
    const char *name = str_of(ev, "event");
    bool msg = strcmp(name, "message") == 0 || strcmp(name, "message_edited") == 0;
    bool del = strcmp(name, "message_deleted") == 0;
    const char *conv =
        msg ? str_of(json_object_get(ev, "message"), "conversation") : str_of(ev, "conversation");
    bool in_scope = t->filtered ? strcmp(conv, t->conv) == 0 : strcmp(conv, t->world_id) != 0;
    if ((msg || del) && in_scope) {
        if (t->world)
            return world_event(t, name, ev, e);
        json_t *m = json_object_get(ev, "message");
        if (strcmp(name, "message") == 0 && (uint64_t)int_of(m, "seq") <= hw_get(t, id_of(conv)))
            return 0; /* a sync already printed it */
        if (t->synced)
            return 0; /* the catch-up of this batch began after the event came: it covered it */
        t->synced = true;
        return sync_catch_up(t, e);
    }
    bool aside = strcmp(name, "receipt") == 0 || strcmp(name, "typing") == 0;
    bool presence = strcmp(name, "presence") == 0;
    if ((aside && in_scope) || (presence && !t->filtered))
        return tail_print_event(&t->out, ev) == 0 ? 0 : output_failed(e);
    return 0;
}

/* Handles the live events at hand (batch) in order: a burst of messages
 * costs one catch-up and one save, not one per event. */
static int on_batch(tail_t *t, json_t *batch, mpr_err_t *e)
{
    t->synced = false;
    size_t i;
    json_t *ev;
    int rc = 0;
    json_array_foreach(batch, i, ev)
    {
        if (rc == 0)
            rc = on_event(t, ev, e);
    }
    mpr_err_t se = {0};
    if (t->world && world_save(t, rc == 0 ? e : &se) != 0)
        rc = -1;
    return rc;
}

/* Follows live events until a signal (0) or a lost connection or failure
 * (-1, e). */
static int follow(tail_t *t, mpr_err_t *e)
{
    int64_t quiet_since = mp_mono_ms();
    unsigned pings = mpc_ws_pings_seen(t->ws);
    while (!g_stop) {
        json_t *batch = json_array(), *ev;
        int rc = MPC_ERR_TIMEOUT;
        while (json_array_size(batch) < BATCH_MAX &&
               (rc = mpc_ws_next_event(t->ws, 0, &ev)) == MPC_OK)
            json_array_append_new(batch, ev);
        if (json_array_size(batch) > 0) {
            quiet_since = mp_mono_ms();
            int r = on_batch(t, batch, e);
            json_decref(batch);
            if (r != 0)
                return -1;
            continue; /* more may have come meanwhile */
        }
        json_decref(batch);
        if (g_stop)
            break;
        if (rc != MPC_ERR_TIMEOUT)
            return mpr_fail(e, MPR_EXIT_OFFLINE, "cannot_connect", "the connection broke (%s)",
                            mpc_strerror(rc));
        if (mpc_ws_pings_seen(t->ws) != pings) {
            pings = mpc_ws_pings_seen(t->ws);
            quiet_since = mp_mono_ms();
        }
        if (mp_mono_ms() - quiet_since > KEEPALIVE_MS) {
            if (call(t, "ping", NULL, NULL, e) != 0)
                return -1;
            quiet_since = mp_mono_ms();
        }
        struct pollfd p = {.fd = mpc_conn_fd(mpc_ws_conn(t->ws)), .events = POLLIN};
        poll(&p, 1, 1000); /* a signal or a frame wakes it; EINTR is the signal */
    }
    return 0;
}

static int catch_up(tail_t *t, mpr_err_t *e)
{
    return t->world ? world_catch_up(t, e) : sync_catch_up(t, e);
}

static void disconnect(tail_t *t)
{
    if (t->ws != NULL)
        mpc_ws_free(t->ws);
    t->ws = NULL;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* a signal ends it early: the caller looks at g_stop */
}

/* After a transient failure: reconnects with backoff (or after the wait the
 * server asked for) and catches up, for as long as it takes. 0 (connected,
 * or stopped by a signal) or -1 when it cannot go on (e: signed out,
 * refused for good, output failed). */
static int reconnect(tail_t *t, mpr_err_t *e)
{
    disconnect(t);
    while (!g_stop) {
        int wait_ms = mpr_backoff_next(&t->backoff);
        sleep_ms(t->retry_ms > wait_ms ? t->retry_ms : wait_ms);
        t->retry_ms = 0;
        if (g_stop)
            break;
        t->ws = mpr_ws_open(&t->s, e);
        if (t->ws != NULL && catch_up(t, e) == 0) {
            mpr_backoff_reset(&t->backoff);
            return 0;
        }
        if (g_stop)
            break;
        if (!transient(e))
            return -1;
        disconnect(t);
    }
    return 0;
}

/* Decides what to follow and under which key, from TO. */
static int choose(tail_t *t, mpr_err_t *e)
{
    mpr_target_t w;
    if (mpr_resolve(&t->s, "world", &w, e) != 0)
        return -1;
    snprintf(t->world_id, sizeof t->world_id, "%s", w.conversation);
    json_t *named = json_pack("{s:s,s:s}", "conversation_id", w.conversation, "kind", "world");
    mpr_names_learn_conv(t->names, named);
    json_decref(named);
    snprintf(t->key, sizeof t->key, "*");
    if (t->o->to == NULL)
        return 0;
    mpr_target_t to;
    if (mpr_resolve(&t->s, t->o->to, &to, e) != 0)
        return -1;
    t->filtered = true;
    snprintf(t->conv, sizeof t->conv, "%s", to.conversation);
    t->world = strcmp(to.conversation, t->world_id) == 0;
    snprintf(t->key, sizeof t->key, "%s", t->world ? "world" : to.conversation);
    return 0;
}

static int run(tail_t *t, mpr_err_t *e)
{
    if (mpr_session_open(&t->s, t->o->url, t->o->user, e) != 0)
        return -1;
    t->names = mpr_names_new(&t->s);
    t->out = (tail_out_t){.json = t->o->json, .names = t->names};
    if (choose(t, e) != 0)
        return -1;
    if (t->o->since_start)
        snprintf(t->cursor, sizeof t->cursor, "0");
    else
        mpr_cursor_get(t->s.cred.url, t->s.cred.username, t->key, t->cursor);
    snprintf(t->saved, sizeof t->saved, "%s", t->cursor);
    t->call_ms = MPR_TIMEOUT_MS;
    t->ws = mpr_ws_open(&t->s, e);
    if (t->ws == NULL) /* no server at the start: say so (exit 3) */
        return g_stop ? 0 : -1;
    /* From here a lost connection is waited out, also in the middle of the
     * first catch-up: the server was there a moment ago. */
    int rc = catch_up(t, e);
    while (!g_stop) {
        if (rc == 0) {
            if (t->o->catch_up)
                return 0;
            t->call_ms = FOLLOW_CALL_MS;
            if (follow(t, e) == 0 || g_stop)
                return 0;
        }
        if (!transient(e))
            return -1;
        fprintf(stderr, "magpie: %s: %s; reconnecting\n", e->code, e->msg);
        if (reconnect(t, e) != 0)
            return g_stop ? 0 : -1;
        rc = 0; /* reconnect caught up */
    }
    return 0;
}

int mp_cli_tail(int argc, char **argv)
{
    if (mp_cli_wants_help(argc, argv)) {
        tail_usage(stdout);
        return MP_CLI_OK;
    }
    tail_opts_t o;
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc;
    /* No SA_RESTART: the signal ends the wait for the next frame at once. */
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    tail_t t = {.o = &o};
    mp_map_init(&t.hw);
    mp_map_init(&t.shown);
    mpr_err_t e = {0};
    rc = run(&t, &e) == 0 ? MPR_EXIT_OK : mpr_report(&e);
    fflush(stdout);
    disconnect(&t);
    mpr_names_free(t.names);
    mp_map_free(&t.hw);
    mp_map_free(&t.shown);
    mp_map_free(&t.cu.news);
    mp_map_free(&t.cu.printed);
    return rc;
}
