/* The request object seen by handlers: accessors, response serialization and
 * the access log. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net/conn.h"
#include "net/router.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/clock.h"
#include "util/id.h"
#include "util/log.h"
#include "util/metrics.h"

mp_http_req_t *mp_http__req_new(mp_conn_t *c)
{
    mp_http_req_t *r = mp_calloc(1, sizeof(*r));
    mp_server_t *srv = c->srv;
    r->clen = -1;
    r->conn = c;
    r->srv = srv;
    r->method = HTTP_GET;
    r->keep_alive = true;
    r->start_ms = mp_mono_ms();
    snprintf(r->rid, sizeof(r->rid), "%08" PRIx32 "%08" PRIx32, srv->rid_salt,
             (uint32_t)++srv->next_rid);
    return r;
}

static void free_kvs(mp_kv_t *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mp_free(kv[i].name);
        mp_free(kv[i].value);
    }
}

void mp_http__req_free(mp_http_req_t *r)
{
    if (r == NULL)
        return;
    if (r->conn && r->conn->http && r->conn->http->sreq == r)
        r->conn->http->sreq = NULL;
    mp_free(r->url);
    mp_free(r->path);
    free_kvs(r->hdrs, r->nhdrs);
    mp_free(r->hdrs);
    mp_free(r->body);
    mp_caps__body_release(r);
    if (r->json)
        json_decref(r->json);
    mp_free(r->token);
    free_kvs(r->params, r->nparams);
    free_kvs(r->query, r->nquery);
    mp_free(r->query);
    mp_free(r->rhdrs);
    mp_free(r->out);
    mp_free(r);
}

const char *mp_http_req_method(const mp_http_req_t *req)
{
    return http_method_str((enum http_method)req->method);
}

const char *mp_http_req_path(const mp_http_req_t *req)
{
    return req->path ? req->path : "";
}

const char *mp_http_req_param(const mp_http_req_t *req, const char *name)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    return NULL;
}

const char *mp_http_req_query(const mp_http_req_t *req, const char *name)
{
    mp_http_req_t *r = (mp_http_req_t *)req; /* parsed lazily, cached */
    if (!r->query_parsed) {
        r->query_parsed = true;
        const char *q = r->url ? strchr(r->url, '?') : NULL;
        if (q)
            r->query = mp_router__parse_query(q + 1, &r->nquery);
    }
    for (size_t i = 0; i < r->nquery; i++)
        if (strcmp(r->query[i].name, name) == 0)
            return r->query[i].value;
    return NULL;
}

const char *mp_http_req_header(const mp_http_req_t *req, const char *name)
{
    for (size_t i = 0; i < req->nhdrs; i++)
        if (strcasecmp(req->hdrs[i].name, name) == 0)
            return req->hdrs[i].value;
    return NULL;
}

json_t *mp_http_req_json(const mp_http_req_t *req)
{
    return req->json;
}

const mp_principal_t *mp_http_req_principal(const mp_http_req_t *req)
{
    return &req->who;
}

const char *mp_http_req_peer(const mp_http_req_t *req)
{
    mp_http_req_t *r = (mp_http_req_t *)req;
    if (r->peer[0] == '\0') {
        uint8_t a[16];
        if (mp_caps__forwarded(r, a)) {
            mp_cidr_addr_format(a, r->peer, sizeof(r->peer));
        } else if (r->conn) {
            mp_conn__peer(r->conn, r->peer, sizeof(r->peer));
        } else {
            snprintf(r->peer, sizeof(r->peer), "?");
        }
    }
    return r->peer;
}

uint64_t mp_http_req_peer_key(const mp_http_req_t *req)
{
    uint8_t a[16];
    if (mp_caps__forwarded(req, a))
        return mp_caps__addr_key(a);
    return req->conn ? mp_conn__peer_key(req->conn) : 0;
}

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

bool mp_http_etag_match(const char *if_none_match, const char *etag)
{
    if (if_none_match == NULL)
        return false;
    size_t elen = strlen(etag);
    const char *p = if_none_match;
    for (;;) {
        p = skip_ows(p);
        while (*p == ',')
            p = skip_ows(p + 1);
        if (*p == '\0')
            return false;
        if (*p == '*') {
            const char *q = skip_ows(p + 1);
            if (*q == '\0' || *q == ',')
                return true;
        }
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        const char *end;
        if (*p == '"') {
            end = strchr(p + 1, '"');
            if (end == NULL)
                return false;
            end++;
        } else { /* not an entity tag: skip to the next element */
            end = p + strcspn(p, ",");
        }
        if ((size_t)(end - p) == elen && memcmp(p, etag, elen) == 0)
            return true;
        p = end;
        p = skip_ows(p);
        if (*p != ',' && *p != '\0')
            p += strcspn(p, ",");
    }
}

void *mp_http_req_mod(const mp_http_req_t *req)
{
    const mp_server_t *srv = req->srv;
    if (req->fallback)
        return srv->fallback_mod;
    if (req->route == NULL || srv->route_mods == NULL)
        return NULL;
    return srv->route_mods[req->route - srv->routes];
}

void *mp_http_req_ctx(const mp_http_req_t *req)
{
    return req->srv->ctx;
}

const char *mp_http_req_token(const mp_http_req_t *req)
{
    return req->token;
}

bool mp_http_req_gone(const mp_http_req_t *req)
{
    return req->conn == NULL || (req->conn->flags & MP_C_CLOSED);
}

static bool header_safe(const char *s)
{
    return strpbrk(s, "\r\n") == NULL;
}

void mp_http__req_add_header(mp_http_req_t *req, const char *name, const char *value)
{
    /* A CR or LF would let a value inject headers: such a header is dropped. */
    if (!header_safe(name) || !header_safe(value))
        return;
    size_t add = strlen(name) + strlen(value) + 4;
    req->rhdrs = mp_realloc(req->rhdrs, req->rhdrs_len + add + 1);
    snprintf(req->rhdrs + req->rhdrs_len, add + 1, "%s: %s\r\n", name, value);
    req->rhdrs_len += add;
}

void mp_http_add_header(mp_http_req_t *req, const char *name, const char *value)
{
    mp_http__req_add_header(req, name, value);
}

static bool cors_allowed(const mp_http_req_t *req, const char **origin)
{
    *origin = mp_http_req_header(req, "Origin");
    return *origin && header_safe(*origin) &&
           mp_http__origin_listed(req->srv->cfg->cors_origins, *origin);
}

/* Serializes status line, headers and body (blen bytes once encoded) into
 * req->out. The body is body encoded in place (a large reply is one
 * allocation and no copy, which is most of what it costs the loop) or, when
 * body is NULL, the text encoded already, copied. A HEAD request gets the
 * same head (Content-Length of the body it would have had) alone. */
static void build(mp_http_req_t *req, int status, const json_t *body, const char *text, size_t blen)
{
    const char *origin;
    bool cors = cors_allowed(req, &origin);
    bool ka = req->keep_alive && !req->close_after;
    bool head = req->method == HTTP_HEAD;
    size_t cap = 256 + sizeof(MP_CORS_EXPOSE) + req->rhdrs_len + blen + (cors ? strlen(origin) : 0);
    char *out = mp_malloc(cap);
    /* RFC 9110: a 204 never carries Content-Length, and a 304's would have
     * to be the length of the 200 it stands for, which only the handler
     * knows (it adds the header itself if it wants one). */
    bool bodiless = status == 204 || status == 304;
    char clen[40] = "";
    if (!bodiless)
        snprintf(clen, sizeof clen, "Content-Length: %zu\r\n", blen);
    int n = snprintf(out, cap, "HTTP/1.1 %d %s\r\nX-Request-Id: %s\r\n%s%sConnection: %s\r\n",
                     status, http_status_str((enum http_status)status), req->rid,
                     blen ? "Content-Type: application/json\r\n" : "", clen,
                     ka ? "keep-alive" : "close");
    size_t len = (size_t)n;
    if (cors)
        len += (size_t)snprintf(
            out + len, cap - len,
            "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n" MP_CORS_EXPOSE, origin);
    if (req->rhdrs_len) {
        memcpy(out + len, req->rhdrs, req->rhdrs_len);
        len += req->rhdrs_len;
    }
    memcpy(out + len, "\r\n", 2);
    len += 2;
    if (head)
        blen = 0;
    else if (blen && body != NULL)
        blen = json_dumpb(body, out + len, blen, JSON_COMPACT);
    else if (blen)
        memcpy(out + len, text, blen);
    req->out = out;
    req->out_len = len + blen;
    req->body_out = blen;
    req->status = status;
}

/* The one way an answer goes out: body (owned, may be NULL) encoded, or
 * blen bytes of text (borrowed) when body is NULL. */
static void respond(mp_http_req_t *req, int status, json_t *body, const char *text, size_t blen)
{
    if (req->done) { /* a second answer is a handler bug; ignore it */
        if (body)
            json_decref(body);
        return;
    }
    if (req->conn == NULL) {
        if (body)
            json_decref(body);
        mp_http__req_free(req);
        return;
    }
    mp_http__body_answered(req);
    if (body != NULL)
        blen = json_dumpb(body, NULL, 0, JSON_COMPACT);
    build(req, status, body, text, blen);
    if (body)
        json_decref(body);
    req->done = true;
    mp_conn__out_add(req->conn, req->out_len); /* until write_head hands it over */
    mp_http__flush(req->conn);
}

void mp_http_respond(mp_http_req_t *req, int status, json_t *body)
{
    respond(req, status, body, NULL, 0);
}

void mp_http_respond_text(mp_http_req_t *req, int status, const char *json, size_t len)
{
    MP_ASSERT(json != NULL || len == 0);
    respond(req, status, NULL, json, len);
}

static json_t *error_body(mp_err_t err, const char *msg)
{
    return json_pack("{s:{s:s,s:s}}", "error", "code", mp_err_code(err), "message",
                     msg ? msg : mp_err_message(err));
}

void mp_http__respond_err_status(mp_http_req_t *req, int status, mp_err_t err, const char *msg)
{
    if (err == MP_ERR_UNAUTHORIZED)
        mp_http__req_add_header(req, "WWW-Authenticate", "Bearer");
    mp_http_respond(req, status ? status : mp_err_status(err), error_body(err, msg));
}

void mp_http_respond_error(mp_http_req_t *req, mp_err_t err, const char *msg)
{
    mp_http__respond_err_status(req, 0, err, msg);
}

void mp_http_respond_retry(mp_http_req_t *req, mp_err_t err, const char *msg,
                           unsigned retry_after_s)
{
    if (retry_after_s > 0) {
        char v[16];
        snprintf(v, sizeof(v), "%u", retry_after_s);
        mp_http__req_add_header(req, "Retry-After", v);
    }
    mp_http__respond_err_status(req, 0, err, msg);
}

/* The route label of the request counters: the route's pattern, one of the
 * gateway's own paths, or "other" (404s, the web client's files), so that
 * the set of labels stays that of the route table. */
static const char *route_label(const mp_http_req_t *req)
{
    static const char *const own[] = {"/healthz", "/readyz", "/metrics", "/v1/ws"};
    if (req->route != NULL)
        return req->route->pattern;
    const char *u = req->url ? req->url : "";
    size_t n = strcspn(u, "?");
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (strlen(own[i]) == n && strncmp(u, own[i], n) == 0)
            return own[i];
    return "other";
}

/* Appends s[0..n) to out (of cap bytes, at *len), bytes that could forge
 * a log line or a field (controls, spaces, non-ASCII) as '?'. */
static void log_append(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *len + 1 < cap; i++)
        out[(*len)++] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '?';
    out[*len] = '\0';
}

/* The path as the access log shows it: the raw path without its query
 * (which may carry a signature), except that a route's {token} parameter
 * (an invite link: whoever holds it may join) is written as "{token}". */
static void log_path(const mp_http_req_t *req, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    const char *pat = req->route != NULL ? req->route->pattern : NULL;
    if (pat == NULL || strstr(pat, "{token}") == NULL) {
        const char *u = req->url ? req->url : "-";
        log_append(out, cap, &len, u, strcspn(u, "?"));
        return;
    }
    while (*pat) {
        const char *open = strchr(pat, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (close == NULL) {
            log_append(out, cap, &len, pat, strlen(pat));
            return;
        }
        log_append(out, cap, &len, pat, (size_t)(open - pat));
        size_t nlen = (size_t)(close - open - 1);
        const char *value = NULL;
        if (nlen != 5 || strncmp(open + 1, "token", 5) != 0)
            for (size_t i = 0; i < req->nparams; i++)
                if (strlen(req->params[i].name) == nlen &&
                    strncmp(req->params[i].name, open + 1, nlen) == 0)
                    value = req->params[i].value;
        if (value != NULL)
            log_append(out, cap, &len, value, strlen(value));
        else /* {token}, kept out of the log */
            log_append(out, cap, &len, open, nlen + 2);
        pat = close + 1;
    }
}

void mp_http__access_log(const mp_http_req_t *req)
{
    /* Every answered request ends here, logged or not. */
    mp_metrics_http(route_label(req), req->status);
    if (!req->srv->cfg->access_log || mp_log_get_level() > MP_LOG_INFO)
        return;
    char path[160];
    log_path(req, path, sizeof path);
    int64_t ms = mp_mono_ms() - req->start_ms;
    char user[MP_ID_STRLEN] = "";
    if (req->who.user_id != 0)
        mp_id_format(req->who.user_id, user);
    /* The route's pattern names the endpoint without ids ("/v1/groups/{id}"),
     * which is what a dashboard groups by. */
    const char *route = req->route != NULL ? req->route->pattern : "";
    const mp_log_field_t f[] = {
        {"request_id", req->rid, 0},
        {"method", mp_http_req_method(req), 0},
        {"path", path, 0},
        {"route", route, 0},
        {"status", NULL, req->status},
        {"bytes", NULL, (int64_t)req->out_len},
        {"duration_ms", NULL, ms},
        {"client", mp_http_req_peer(req), 0},
        {"user_id", user, 0}, /* last: left out for an anonymous request */
    };
    mp_log_fields(MP_LOG_INFO, f, user[0] ? 9 : 8, "http %s %s %d %zu %" PRId64 "ms %s",
                  mp_http_req_method(req), path, req->status, req->out_len, ms, req->rid);
}
