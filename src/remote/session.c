/* A signed-in session: tokens kept fresh (under the credentials lock), and
 * HTTP and WebSocket calls that refresh once when the server says the access
 * token is no longer good. */
#include "remote/remote_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A token this close to its expiry is refreshed before use, so that it does
 * not expire between our check and the server's. */
#define TOKEN_MARGIN_MS 60000
#define CONNECT_TIMEOUT_MS 5000

void mpr_cred_from_tokens(mpr_cred_t *c, json_t *answer)
{
    const char *v;
    if ((v = json_string_value(json_object_get(answer, "user_id"))) != NULL)
        snprintf(c->user_id, sizeof c->user_id, "%s", v);
    if ((v = json_string_value(json_object_get(answer, "device_id"))) != NULL)
        snprintf(c->device_id, sizeof c->device_id, "%s", v);
    if ((v = json_string_value(json_object_get(answer, "access_token"))) != NULL)
        snprintf(c->access_token, sizeof c->access_token, "%s", v);
    if ((v = json_string_value(json_object_get(answer, "refresh_token"))) != NULL)
        snprintf(c->refresh_token, sizeof c->refresh_token, "%s", v);
    json_int_t ttl = json_integer_value(json_object_get(answer, "expires_in"));
    c->access_expires_ms = mp_now_ms() + (int64_t)(ttl > 0 ? ttl : 0) * 1000;
}

int mpr_session_open(mpr_session_t *s, const char *url_flag, const char *username, mpr_err_t *e)
{
    memset(s, 0, sizeof *s);
    if (mpr_url_parse(mpr_url_choose(url_flag), &s->url, e) != 0)
        return -1;
    return mpr_creds_find(s->url.url, username, &s->cred, e);
}

/* ---- HTTP -------------------------------------------------------------------- */

/* Whether a connection failed for a certificate chain we do not trust (as
 * opposed to one for another host, which no CA setting cures). */
static bool untrusted(const char *why)
{
    return strncmp(why, "certificate verify failed", 25) == 0 && strstr(why, "mismatch") == NULL;
}

/* A connection to u (over TLS for https://), or NULL with e filled (exit 3,
 * "cannot_connect", the reason: refused, a certificate that failed, ...). */
static mpc_conn_t *dial(const mpr_url_t *u, int timeout_ms, mpr_err_t *e)
{
    mpc_connect_opts_t o = {.tls = u->tls};
    char why[256];
    mpc_conn_t *c = mpc_connect_ex(u->host, u->port, &o, timeout_ms, why, sizeof why);
    if (c == NULL)
        mpr_fail(e, MPR_EXIT_OFFLINE, "cannot_connect", "cannot connect to %s: %s%s", u->url, why,
                 untrusted(why) ? " (SSL_CERT_FILE or SSL_CERT_DIR can name the CA to trust)" : "");
    return c;
}

static int send_http(const mpr_url_t *u, const mpc_http_req_t *req, int timeout_ms,
                     mpc_response_t *out, mpr_err_t *e)
{
    memset(out, 0, sizeof *out);
    mpc_conn_t *c = dial(u, timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms : CONNECT_TIMEOUT_MS, e);
    if (c == NULL)
        return -1;
    int rc = mpc_http_send(c, req, out, timeout_ms);
    mpc_conn_free(c);
    if (rc != MPC_OK) {
        mpc_response_free(out);
        return mpr_fail(e, MPR_EXIT_OFFLINE, "cannot_connect", "%s did not answer (%s)", u->url,
                        mpc_strerror(rc));
    }
    return out->status;
}

static int json_http(const mpr_url_t *u, const char *method, const char *path, const char *token,
                     json_t *body, mpc_response_t *out, mpr_err_t *e)
{
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    mpc_http_req_t req = {
        .method = method,
        .path = path,
        .token = token,
        .body = text,
        .body_len = text != NULL ? strlen(text) : 0,
        .close = true,
    };
    int st = send_http(u, &req, MPR_TIMEOUT_MS, out, e);
    if (text != NULL) {
        explicit_bzero(text, strlen(text)); /* bodies may carry passwords and tokens */
        free(text);
    }
    return st;
}

int mpr_http_anon(const mpr_url_t *u, const char *method, const char *path, json_t *body,
                  mpc_response_t *out, mpr_err_t *e)
{
    return json_http(u, method, path, NULL, body, out, e);
}

int mpr_http_check(const mpc_response_t *r, mpr_err_t *e)
{
    if (r->status >= 200 && r->status < 300)
        return 0;
    const char *code = mpc_response_error_code(r);
    json_t *err = json_object_get(r->json, "error");
    const char *msg = json_string_value(json_object_get(err, "message"));
    const char *retry = mpc_response_header(r, "Retry-After");
    char status[64];
    snprintf(status, sizeof status, "HTTP %d", r->status);
    mpr_fail(e, MPR_EXIT_REFUSED, code != NULL ? code : "error", "%s%s%s%s",
             msg != NULL ? msg : status, retry != NULL ? " (retry after " : "",
             retry != NULL ? retry : "", retry != NULL ? " s)" : "");
    return -1;
}

/* The refresh itself, with the lock held: POST /v1/auth/refresh with the
 * stored token and the new pair written back before the lock goes. */
static int refresh_locked(mpr_session_t *s, json_t *root, json_t *entry, mpr_err_t *e)
{
    json_t *body = json_pack("{s:s}", "refresh_token", s->cred.refresh_token);
    mpc_response_t r;
    int st = json_http(&s->url, "POST", "/v1/auth/refresh", NULL, body, &r, e);
    json_decref(body);
    if (st < 0)
        return -1;
    if (st == 401) {
        /* Revoked, signed out elsewhere, or the token was used already:
         * this entry is dead for good. */
        mpc_response_free(&r);
        size_t i;
        if (mpr__entry(root, s->url.url, s->cred.username, &i) != NULL) {
            json_array_remove(json_object_get(root, "entries"), i);
            mpr__save(root, e);
        }
        return mpr_fail(e, MPR_EXIT_OFFLINE, "not_logged_in",
                        "%s's sign-in on %s is no longer valid (the device was revoked or "
                        "signed out): run `magpie login %s`",
                        s->cred.username, s->url.url, s->cred.username);
    }
    if (mpr_http_check(&r, e) != 0) {
        mpc_response_free(&r);
        return -1;
    }
    mpr_cred_from_tokens(&s->cred, r.json);
    mpc_response_free(&r);
    mpr__cred_to_json(&s->cred, entry);
    return mpr__save(root, e);
}

const char *mpr_session_token(mpr_session_t *s, bool force, mpr_err_t *e)
{
    if (!force && s->cred.access_expires_ms - mp_now_ms() > TOKEN_MARGIN_MS)
        return s->cred.access_token;
    int lock = mpr__lock(e);
    if (lock < 0)
        return NULL;
    json_t *root;
    const char *token = NULL;
    if (mpr__load(&root, e) == 0) {
        json_t *entry = mpr__entry(root, s->url.url, s->cred.username, NULL);
        mpr_cred_t now;
        if (entry == NULL) {
            mpr_fail(e, MPR_EXIT_OFFLINE, "not_logged_in",
                     "%s logged out of %s: run `magpie login %s`", s->cred.username, s->url.url,
                     s->cred.username);
        } else {
            mpr__cred_from_json(entry, &now);
            bool replaced = strcmp(now.access_token, s->cred.access_token) != 0;
            bool fresh = now.access_expires_ms - mp_now_ms() > TOKEN_MARGIN_MS;
            /* Another command refreshed while we waited, or we only looked
             * at an old copy: its pair is the one to use, and its refresh
             * token the only live one. */
            s->cred = now;
            if (fresh && (replaced || !force))
                token = s->cred.access_token;
            else if (refresh_locked(s, root, entry, e) == 0)
                token = s->cred.access_token;
        }
        json_decref(root);
    }
    mpr__unlock(lock);
    return token;
}

static bool is_unauthorized(const mpc_response_t *r)
{
    const char *code = mpc_response_error_code(r);
    return r->status == 401 && code != NULL && strcmp(code, "unauthorized") == 0;
}

/* Sends req with the session's token; on a 401 "unauthorized" refreshes once
 * and sends it again. */
static int authed(mpr_session_t *s, mpc_http_req_t *req, int timeout_ms, mpc_response_t *out,
                  mpr_err_t *e)
{
    for (int attempt = 0;; attempt++) {
        const char *token = mpr_session_token(s, attempt > 0, e);
        if (token == NULL)
            return -1;
        req->token = token;
        int st = send_http(&s->url, req, timeout_ms, out, e);
        if (st < 0 || attempt > 0 || !is_unauthorized(out))
            return st;
        mpc_response_free(out);
    }
}

int mpr_http(mpr_session_t *s, const char *method, const char *path, json_t *body,
             mpc_response_t *out, mpr_err_t *e)
{
    return mpr_http_within(s, method, path, body, MPR_TIMEOUT_MS, out, e);
}

int mpr_http_within(mpr_session_t *s, const char *method, const char *path, json_t *body,
                    int timeout_ms, mpc_response_t *out, mpr_err_t *e)
{
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    mpc_http_req_t req = {
        .method = method,
        .path = path,
        .body = text,
        .body_len = text != NULL ? strlen(text) : 0,
        .close = true,
    };
    int st = authed(s, &req, timeout_ms, out, e);
    if (text != NULL) {
        explicit_bzero(text, strlen(text)); /* e.g. a password change */
        free(text);
    }
    return st;
}

int mpr_http_json(mpr_session_t *s, const char *method, const char *path, json_t *body,
                  json_t **out, mpr_err_t *e)
{
    *out = NULL;
    mpc_response_t r;
    if (mpr_http(s, method, path, body, &r, e) < 0)
        return -1;
    int rc = mpr_http_check(&r, e);
    if (rc == 0)
        *out = r.json != NULL ? json_incref(r.json) : json_object();
    mpc_response_free(&r);
    return rc;
}

int mpr_http_pages(mpr_session_t *s, const char *path, const char *key, int max_pages,
                   bool (*fn)(json_t *item, void *arg), void *arg, mpr_err_t *e)
{
    char cursor[200] = "";
    for (int page = 0; page < max_pages; page++) {
        char full[600];
        if ((size_t)snprintf(full, sizeof full, "%s%s%s", path, cursor[0] ? "&cursor=" : "",
                             cursor) >= sizeof full)
            return mpr_fail(e, MPR_EXIT_USAGE, "usage", "%s: the request is too long", path);
        json_t *ans;
        if (mpr_http_json(s, "GET", full, NULL, &ans, e) != 0)
            return -1;
        size_t i;
        json_t *item;
        bool go_on = true;
        json_array_foreach(json_object_get(ans, key), i, item)
        {
            if (go_on)
                go_on = fn(item, arg);
        }
        const char *next = json_string_value(json_object_get(ans, "next_cursor"));
        int rc = 0;
        if (!go_on || next == NULL)
            cursor[0] = '\0';
        else if (mpr_urlencode(next, cursor, sizeof cursor) != 0)
            rc = mpr_fail(e, MPR_EXIT_REFUSED, "internal", "%s: the next page's cursor is too long",
                          path);
        json_decref(ans);
        if (rc != 0)
            return -1;
        if (cursor[0] == '\0')
            break;
    }
    return 0;
}

int mpr_http_raw(mpr_session_t *s, const char *method, const char *path, const char *content_type,
                 const void *body, size_t body_len, mpc_response_t *out, mpr_err_t *e)
{
    mpc_http_req_t req = {
        .method = method,
        .path = path,
        .content_type = content_type != NULL ? content_type : "application/octet-stream",
        .body = body,
        .body_len = body_len,
        .close = true,
    };
    return authed(s, &req, MPR_TIMEOUT_MS, out, e);
}

/* ---- WebSocket ------------------------------------------------------------------ */

mpc_ws_t *mpr_ws_open(mpr_session_t *s, mpr_err_t *e)
{
    for (int attempt = 0;; attempt++) {
        const char *token = mpr_session_token(s, attempt > 0, e);
        if (token == NULL)
            return NULL;
        mpc_ws_t *ws = NULL;
        int status = 0;
        mpc_conn_t *c = dial(&s->url, CONNECT_TIMEOUT_MS, e);
        if (c == NULL)
            return NULL;
        int rc = mpc_ws_upgrade(c, "/v1/ws", token, NULL, &ws, &status, CONNECT_TIMEOUT_MS);
        if (rc == MPC_OK)
            return ws;
        if (status == 401 && attempt == 0)
            continue;
        if (status != 0)
            mpr_fail(e, status == 429 ? MPR_EXIT_REFUSED : MPR_EXIT_OFFLINE,
                     status == 429 ? "rate_limited" : "cannot_connect",
                     "%s refused the WebSocket (HTTP %d)", s->url.url, status);
        else
            mpr_fail(e, MPR_EXIT_OFFLINE, "cannot_connect", "cannot connect to %s (%s)", s->url.url,
                     mpc_strerror(rc));
        return NULL;
    }
}

int mpr_ws_call(mpc_ws_t *ws, const char *type, json_t *fields, json_t **reply, mpr_err_t *e)
{
    return mpr_ws_call_within(ws, type, fields, MPR_TIMEOUT_MS, reply, e);
}

int mpr_ws_call_within(mpc_ws_t *ws, const char *type, json_t *fields, int timeout_ms,
                       json_t **reply, mpr_err_t *e)
{
    if (reply != NULL)
        *reply = NULL;
    json_t *req = fields != NULL ? json_deep_copy(fields) : json_object();
    json_object_set_new(req, "type", json_string(type));
    json_t *ans = NULL;
    int rc = mpc_ws_request(ws, req, timeout_ms, &ans);
    json_decref(req);
    if (rc != MPC_OK)
        return mpr_fail(e, MPR_EXIT_OFFLINE, "cannot_connect", "the connection broke (%s)",
                        mpc_strerror(rc));
    json_t *err = json_object_get(ans, "error");
    int ret = 0;
    if (err != NULL) {
        const char *code = json_string_value(json_object_get(err, "code"));
        const char *msg = json_string_value(json_object_get(err, "message"));
        ret = mpr_fail(e, MPR_EXIT_REFUSED, code != NULL ? code : "error", "%s",
                       msg != NULL ? msg : "refused");
    }
    if (reply != NULL)
        *reply = ans;
    else
        json_decref(ans);
    return ret;
}
