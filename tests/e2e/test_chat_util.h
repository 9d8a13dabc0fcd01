/* Helpers shared by the messaging end-to-end tests (tests/e2e/test_chat*.c):
 * sending, pipelined bursts, draining events, sync and history loops. All
 * waits are bounded by MPT_TIMEOUT on real events. Include after cmocka.h. */
#ifndef MPT_CHAT_UTIL_H
#define MPT_CHAT_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Flags that lift the limits the messaging tests are not about. */
#define CHAT_FLAGS                                                                                 \
    "--login_rate", "100000", "--send_rate", "100000", "--send_burst", "100000",                   \
        "--register_rate", "100000"

/* A user with a WebSocket open. */
typedef struct chat_dev {
    mpt_session_t s;
    mpc_ws_t *ws;
} chat_dev_t;

static inline void dev_open(const mpt_server_t *srv, chat_dev_t *d)
{
    d->ws = mpt_ws_open(srv, d->s.access);
    assert_non_null(d->ws);
}

static inline void dev_new_user(const mpt_server_t *srv, const char *prefix, chat_dev_t *d)
{
    assert_int_equal(mpt_user_new(srv, prefix, &d->s), 0);
    dev_open(srv, d);
}

static inline void dev_new_device(const mpt_server_t *srv, const chat_dev_t *of, chat_dev_t *d)
{
    assert_int_equal(mpt_device_new(srv, &of->s, &d->s), 0);
    dev_open(srv, d);
}

static inline void dev_close(chat_dev_t *d)
{
    if (d->ws)
        mpc_ws_free(d->ws);
    d->ws = NULL;
}

static inline const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static inline long long jint(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static inline bool is_ok(const json_t *reply)
{
    return reply != NULL && json_is_true(json_object_get(reply, "ok"));
}

/* A verb call with fields given as a json_pack format (reply: caller decrefs). */
static inline json_t *call(mpc_ws_t *ws, const char *type, json_t *fields)
{
    json_t *r = mpt_ws_call(ws, type, fields);
    json_decref(fields);
    assert_non_null(r);
    return r;
}

/* `send` to a conversation (conv) or a user (to); exactly one non-NULL. */
static inline json_t *send_msg(mpc_ws_t *ws, const char *conv, const char *to, const char *cmid,
                               const char *text)
{
    json_t *f = json_pack("{s:s,s:s}", "client_msg_id", cmid, "text", text);
    if (conv)
        json_object_set_new(f, "conversation", json_string(conv));
    if (to)
        json_object_set_new(f, "to", json_string(to));
    return call(ws, "send", f);
}

/* Sends text into conv from device d, asserts it was stored, and copies the
 * new message id into out (when not NULL). */
static inline void send_text(chat_dev_t *d, const char *conv, const char *cmid, const char *text,
                             char out[24])
{
    json_t *r = send_msg(d->ws, conv, NULL, cmid, text);
    assert_true(is_ok(r));
    if (out)
        snprintf(out, 24, "%s", jstr(r, "message_id"));
    json_decref(r);
}

/* Asserts the reply is an error with this code. */
static inline void assert_err(json_t *reply, const char *code)
{
    assert_non_null(reply);
    const char *got = mpt_error_code(reply);
    if (got == NULL || strcmp(got, code) != 0) {
        char *dump = json_dumps(reply, JSON_COMPACT);
        fail_msg("expected error %s, got %s", code, dump ? dump : "?");
    }
    json_decref(reply);
}

/* The next event of a given name (others are skipped), or fails. */
static inline json_t *next_event(mpc_ws_t *ws, const char *name)
{
    for (;;) {
        json_t *ev = NULL;
        int rc = mpc_ws_next_event(ws, MPT_TIMEOUT, &ev);
        if (rc != MPC_OK)
            fail_msg("waiting for event %s: %s", name, mpc_strerror(rc));
        if (strcmp(jstr(ev, "event"), name) == 0)
            return ev;
        json_decref(ev);
    }
}

/* After a ping round trip, every event the server sent before the ping is
 * queued: returns how many events named `name` are queued (and drops all). */
static inline int drain_events(mpc_ws_t *ws, const char *name)
{
    json_t *pong = mpt_ws_call(ws, "ping", NULL);
    assert_true(is_ok(pong));
    json_decref(pong);
    int n = 0;
    json_t *ev = NULL;
    while (mpc_ws_next_event(ws, 0, &ev) == MPC_OK) {
        if (name == NULL || strcmp(jstr(ev, "event"), name) == 0)
            n++;
        json_decref(ev);
    }
    return n;
}

/* HTTP with a JSON body from json_pack (NULL = none); returns the status and
 * the body in *out (caller decrefs, may be NULL). */
static inline int http_json(const mpt_server_t *srv, const char *method, const char *path,
                            const char *token, json_t *body, json_t **out)
{
    mpc_response_t r;
    int status = mpt_http(srv, method, path, token, body, &r);
    json_decref(body);
    if (out)
        *out = status > 0 && r.json ? json_incref(r.json) : NULL;
    if (status > 0)
        mpc_response_free(&r);
    return status;
}

/* POST /v1/conversations/direct; copies the id into out. Returns the status. */
static inline int direct_conv(const mpt_server_t *srv, const chat_dev_t *d, const char *user_id,
                              char out[24])
{
    json_t *body = NULL;
    int st = http_json(srv, "POST", "/v1/conversations/direct", d->s.access,
                       json_pack("{s:s}", "user_id", user_id), &body);
    if (out)
        snprintf(out, 24, "%s",
                 body && jstr(body, "conversation_id") ? jstr(body, "conversation_id") : "");
    json_decref(body);
    return st;
}

/* Pipelined burst: sends n `send` frames (ids base..base+n-1, client ids
 * "<prefix><i>") without waiting, then reads until every reply came or the
 * connection died. acked[i] is set to the seq of each ok reply (0 when none).
 * Returns the number of replies read. */
static inline int send_burst(mpc_ws_t *ws, const char *conv, const char *prefix, int n,
                             int64_t base, long long *acked, bool stop_on_error)
{
    int sent = 0, got = 0;
    for (int i = 0; i < n; i++) {
        char cmid[64];
        snprintf(cmid, sizeof cmid, "%s%d", prefix, i);
        json_t *f = json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)(base + i), "type", "send",
                              "conversation", conv, "client_msg_id", cmid, "text", cmid);
        int rc = mpc_ws_send_json(ws, f, MPT_TIMEOUT);
        json_decref(f);
        if (rc != MPC_OK) {
            if (stop_on_error)
                break;
            fail_msg("burst send: %s", mpc_strerror(rc));
        }
        sent++;
    }
    while (got < sent) {
        mpc_ws_msg_t m;
        int rc = mpc_ws_recv(ws, MPT_TIMEOUT, &m);
        if (rc != MPC_OK) {
            if (stop_on_error)
                break;
            fail_msg("burst recv: %s", mpc_strerror(rc));
        }
        if (m.opcode == MPC_WS_CLOSE) {
            mpc_ws_msg_free(&m);
            if (stop_on_error)
                break;
            fail_msg("burst: closed");
        }
        json_t *id = m.json ? json_object_get(m.json, "id") : NULL;
        if (json_is_integer(id)) {
            int64_t k = (int64_t)json_integer_value(id) - base;
            if (k >= 0 && k < n) {
                got++;
                if (is_ok(m.json))
                    acked[k] = jint(m.json, "seq");
                else if (!stop_on_error)
                    fail_msg("burst: error %s", mpt_error_code(m.json));
            }
        }
        mpc_ws_msg_free(&m);
    }
    return got;
}

/* All messages of conv via `history`, oldest first (caller decrefs the
 * array). */
static inline json_t *all_history(mpc_ws_t *ws, const char *conv)
{
    json_t *all = json_array();
    long long before = 0;
    for (;;) {
        json_t *f = json_pack("{s:s,s:i}", "conversation", conv, "limit", 200);
        if (before > 0)
            json_object_set_new(f, "before_seq", json_integer(before));
        json_t *r = call(ws, "history", f);
        assert_true(is_ok(r));
        json_t *msgs = json_object_get(r, "messages");
        json_t *page = json_array();
        json_array_extend(page, msgs);
        json_array_extend(page, all);
        json_decref(all);
        all = page;
        bool more = json_is_true(json_object_get(r, "has_more"));
        if (json_array_size(msgs) > 0)
            before = jint(json_array_get(msgs, 0), "seq");
        json_decref(r);
        if (!more)
            return all;
    }
}

#endif
