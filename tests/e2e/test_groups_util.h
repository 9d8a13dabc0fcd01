/* Helpers shared by the end-to-end tests of groups, invites, the
 * world room and guests: formatted-path HTTP calls, group creation, guests,
 * sync loops and peeks into the server's database (SQLite or PostgreSQL,
 * through the harness). Include after cmocka.h. */
#ifndef MPT_GROUPS_UTIL_H
#define MPT_GROUPS_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test_chat_util.h"

static inline void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* HTTP with a formatted path; body (json_pack result or NULL) is stolen.
 * Returns the status (or an MPC_ERR_) and the JSON body in *out (caller
 * decrefs; out may be NULL). */
static inline int vreq(const mpt_server_t *srv, const char *method, const char *token, json_t *body,
                       json_t **out, const char *fmt, va_list ap)
{
    char path[512];
    vsnprintf(path, sizeof path, fmt, ap);
    return http_json(srv, method, path, token, body, out);
}

static inline int req(const mpt_server_t *srv, const char *method, const char *token, json_t *body,
                      json_t **out, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static inline int req(const mpt_server_t *srv, const char *method, const char *token, json_t *body,
                      json_t **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int st = vreq(srv, method, token, body, out, fmt, ap);
    va_end(ap);
    return st;
}

/* One HTTP request whose outcome must be want_st and, when want_code is
 * non-NULL, that error code; fails the test (naming the caller's line)
 * otherwise. Returns the JSON body (caller decrefs; may be NULL). */
static inline json_t *expect_req(int line, int want_st, const char *want_code,
                                 const mpt_server_t *srv, const char *method, const char *token,
                                 json_t *body, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

static inline json_t *expect_req(int line, int want_st, const char *want_code,
                                 const mpt_server_t *srv, const char *method, const char *token,
                                 json_t *body, const char *fmt, ...)
{
    json_t *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    int st = vreq(srv, method, token, body, &out, fmt, ap);
    va_end(ap);
    const char *code = out ? mpt_error_code(out) : NULL;
    if (st != want_st || (want_code && (code == NULL || strcmp(code, want_code) != 0))) {
        char *d = out ? json_dumps(out, JSON_COMPACT) : NULL;
        fail_msg("line %d: %s: want %d %s, got %d %s", line, method, want_st,
                 want_code ? want_code : "", st, d ? d : "(no body)");
    }
    return out;
}

/* EXPECT discards the body; EXPECT_BODY returns it (caller decrefs). */
#define EXPECT(...) json_decref(expect_req(__LINE__, __VA_ARGS__))
#define EXPECT_BODY(...) expect_req(__LINE__, __VA_ARGS__)

/* A user id array from a list of sessions' ids (NULL-terminated). */
static inline json_t *ids_json(const char *first, ...)
{
    json_t *a = json_array();
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s != NULL; s = va_arg(ap, const char *))
        json_array_append_new(a, json_string(s));
    va_end(ap);
    return a;
}

/* POST /v1/groups. member_ids and settings are stolen (either may be NULL).
 * On 201 the id goes to out (and *group gets the body when non-NULL). Returns
 * the status. */
static inline int group_create(const mpt_server_t *srv, const char *token, const char *title,
                               json_t *member_ids, json_t *settings, char out[24], json_t **group)
{
    json_t *body = json_pack("{s:s}", "title", title);
    if (member_ids)
        json_object_set_new(body, "member_ids", member_ids);
    if (settings)
        json_object_set_new(body, "settings", settings);
    json_t *resp = NULL;
    int st = http_json(srv, "POST", "/v1/groups", token, body, &resp);
    if (out)
        snprintf(out, 24, "%s",
                 st == 201 && jstr(resp, "conversation_id") ? jstr(resp, "conversation_id") : "");
    if (group)
        *group = resp;
    else
        json_decref(resp);
    return st;
}

/* Settings object. */
static inline json_t *settings_json(const char *post, const char *invite, const char *edit)
{
    return json_pack("{s:s,s:s,s:s}", "who_can_post", post, "who_can_invite", invite,
                     "who_can_edit_info", edit);
}

/* POST /v1/auth/guest from the default address: on 200 fills *s (user id,
 * device id, tokens; no username/password). Returns the status. */
static inline int guest_new(const mpt_server_t *srv, const char *display_name, mpt_session_t *s)
{
    json_t *resp = NULL;
    int st = http_json(srv, "POST", "/v1/auth/guest", NULL,
                       json_pack("{s:s}", "display_name", display_name), &resp);
    memset(s, 0, sizeof(*s));
    if (st == 200 && resp) {
        snprintf(s->user_id, sizeof s->user_id, "%s",
                 jstr(resp, "user_id") ? jstr(resp, "user_id") : "");
        snprintf(s->device_id, sizeof s->device_id, "%s",
                 jstr(resp, "device_id") ? jstr(resp, "device_id") : "");
        snprintf(s->access, sizeof s->access, "%s",
                 jstr(resp, "access_token") ? jstr(resp, "access_token") : "");
        snprintf(s->refresh, sizeof s->refresh, "%s",
                 jstr(resp, "refresh_token") ? jstr(resp, "refresh_token") : "");
    }
    json_decref(resp);
    return st;
}

/* Runs `sync` from *cursor until has_more is false, appending every message
 * to msgs (may be NULL) and every conversation entry to convs (may be NULL);
 * updates cursor. Returns false if a reply was not ok (the reply's error is
 * printed). */
static inline bool sync_until_done(mpc_ws_t *ws, char cursor[32], json_t *msgs, json_t *convs)
{
    for (int pages = 0; pages < 10000; pages++) {
        json_t *f = json_pack("{s:s}", "since", cursor);
        json_t *r = mpt_ws_call(ws, "sync", f);
        json_decref(f);
        if (!is_ok(r)) {
            char *d = r ? json_dumps(r, JSON_COMPACT) : NULL;
            fprintf(stderr, "sync failed: %s\n", d ? d : "(no reply)");
            free(d);
            json_decref(r);
            return false;
        }
        if (msgs)
            json_array_extend(msgs, json_object_get(r, "messages"));
        if (convs)
            json_array_extend(convs, json_object_get(r, "conversations"));
        if (jstr(r, "cursor"))
            snprintf(cursor, 32, "%s", jstr(r, "cursor"));
        bool more = json_is_true(json_object_get(r, "has_more"));
        json_decref(r);
        if (!more)
            return true;
    }
    return false;
}

/* The first message of arr (array of message objects) in conversation conv
 * (NULL = any) whose text is text (NULL = any) and, when action is non-NULL,
 * that is a system message with that system.action. Borrowed, or NULL. */
static inline json_t *find_msg(json_t *arr, const char *conv, const char *text, const char *action)
{
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m)
    {
        if (conv && (!jstr(m, "conversation") || strcmp(jstr(m, "conversation"), conv)))
            continue;
        if (text && (!jstr(m, "text") || strcmp(jstr(m, "text"), text)))
            continue;
        if (action) {
            json_t *sys = json_object_get(m, "system");
            if (!jstr(m, "kind") || strcmp(jstr(m, "kind"), "system") || !jstr(sys, "action") ||
                strcmp(jstr(sys, "action"), action))
                continue;
        }
        return m;
    }
    return NULL;
}

/* Whether the JSON array of strings contains s. */
static inline bool json_has_str(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

/* Waits for a `message` event whose message is a system message with this
 * action in conv (other events are skipped); fails after MPT_TIMEOUT. Caller
 * decrefs the event. */
static inline json_t *next_system_event(mpc_ws_t *ws, const char *conv, const char *action)
{
    long long deadline = mpt_mono_ms() + MPT_TIMEOUT;
    for (;;) {
        long long left = deadline - mpt_mono_ms();
        json_t *ev = NULL;
        int rc = mpc_ws_next_event(ws, left > 0 ? (int)left : 0, &ev);
        if (rc != MPC_OK)
            fail_msg("waiting for system message %s: %s", action, mpc_strerror(rc));
        if (getenv("MPT_TRACE")) {
            char *d = json_dumps(ev, JSON_COMPACT);
            fprintf(stderr, "skip? %s\n", d ? d : "");
            free(d);
        }
        if (strcmp(jstr(ev, "event"), "message") == 0) {
            json_t *arr = json_array();
            json_array_append(arr, json_object_get(ev, "message"));
            bool hit = find_msg(arr, conv, NULL, action) != NULL;
            json_decref(arr);
            if (hit)
                return ev;
        }
        json_decref(ev);
    }
}

/* Drops every event already received (no round trip). */
static inline void drop_events(mpc_ws_t *ws)
{
    json_t *ev = NULL;
    while (ws && mpc_ws_next_event(ws, 0, &ev) == MPC_OK)
        json_decref(ev);
}

/* One integer from a SQL query on the server's database, next to the
 * running server (mpt_db_i64). Fails the test on an error. */
static inline long long db_count(const mpt_server_t *srv, const char *sql)
{
    long long v = 0;
    if (mpt_db_i64(srv, sql, &v) < 0)
        fail_msg("query failed: %.400s", sql);
    return v;
}

/* Runs SQL statements on the server's database (mpt_db_exec), for rows no
 * route of the test makes. A server keeps some state in memory (admins,
 * settings): stop it first when the change must be seen. Fails the test on
 * an error. */
static inline void db_exec(const mpt_server_t *srv, const char *sql)
{
    if (mpt_db_exec(srv, sql) < 0)
        fail_msg("statement failed: %.400s", sql);
}

#endif
