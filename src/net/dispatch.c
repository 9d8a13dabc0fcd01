/* The middleware chain in front of every handler: built-in routes, CORS,
 * routing (404/405), bearer-token authentication and JSON bodies. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net/conn.h"
#include "net/router.h"
#include "util/alloc.h"

#define CORS_METHODS "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
/* What browser scripts may send: the API's own headers and those of
 * resumable uploads (tus) and downloads (ranges, revalidation). */
#define CORS_HEADERS                                                                               \
    "Authorization, Content-Type, Tus-Resumable, Upload-Length, Upload-Offset, "                   \
    "Upload-Metadata, Range, If-Range, If-None-Match"

static size_t trim(const char **s, size_t n)
{
    while (n > 0 && isspace((unsigned char)**s)) {
        (*s)++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)(*s)[n - 1]))
        n--;
    return n;
}

bool mp_http__origin_listed(const char *list, const char *origin)
{
    size_t olen = strlen(origin);
    while (list && *list) {
        size_t n = strcspn(list, ",");
        const char *item = list;
        size_t len = trim(&item, n);
        if ((len == 1 && item[0] == '*') || (len == olen && strncasecmp(item, origin, len) == 0))
            return true;
        list += n;
        if (*list == ',')
            list++;
    }
    return false;
}

static void preflight(mp_http_req_t *req)
{
    const char *origin = mp_http_req_header(req, "Origin");
    if (origin == NULL) {
        mp_http__req_add_header(req, "Allow", CORS_METHODS);
        mp_http_respond(req, 204, NULL);
        return;
    }
    if (!mp_http__origin_listed(req->srv->cfg->cors_origins, origin)) {
        mp_http_respond_error(req, MP_ERR_FORBIDDEN, "origin not allowed");
        return;
    }
    mp_http__req_add_header(req, "Access-Control-Allow-Methods", CORS_METHODS);
    mp_http__req_add_header(req, "Access-Control-Allow-Headers", CORS_HEADERS);
    mp_http__req_add_header(req, "Access-Control-Max-Age", "600");
    mp_http_respond(req, 204, NULL);
}

/* True when an OPTIONS request goes to a route of its own (the tus
 * discovery request, OPTIONS /v1/uploads) rather than the CORS preflight
 * answer: a preflight (Origin and Access-Control-Request-Method) always
 * gets the latter. */
static bool explicit_options(const mp_http_req_t *req, const char *raw)
{
    if (mp_http_req_header(req, "Origin") &&
        mp_http_req_header(req, "Access-Control-Request-Method"))
        return false;
    mp_kv_t params[MP_HTTP_MAX_PARAMS];
    size_t n = 0;
    int status;
    const mp_route_t *r =
        mp_router__match(req->srv->routes, "OPTIONS", raw, params, &n, NULL, 0, &status);
    for (size_t i = 0; i < n; i++) {
        mp_free(params[i].name);
        mp_free(params[i].value);
    }
    return r != NULL;
}

static void method_not_allowed(mp_http_req_t *req, const char *allow)
{
    mp_http__req_add_header(req, "Allow", allow);
    mp_http_respond_error(req, MP_ERR_METHOD_NOT_ALLOWED, NULL);
}

/* Routes the gateway answers itself. Returns true when req was handled. */
static bool builtin(mp_http_req_t *req, const char *path)
{
    mp_server_t *srv = req->srv;
    bool get = req->method == HTTP_GET || req->method == HTTP_HEAD;
    if (srv->metrics_only && strcmp(path, "/metrics") != 0) {
        mp_http_respond_error(req, MP_ERR_NOT_FOUND, NULL);
        return true;
    }
    if (strcmp(path, "/healthz") == 0) {
        if (!get)
            method_not_allowed(req, "GET, HEAD");
        else
            mp_http_respond(req, 200, json_pack("{s:s}", "status", "ok"));
        return true;
    }
    /* With metrics_listen set, /metrics is there only, never on the client
     * listener. */
    bool metrics_here =
        srv->cfg->metrics && (srv->metrics_only || srv->cfg->metrics_listen[0] == '\0');
    if (strcmp(path, "/metrics") == 0) {
        /* Off or elsewhere: a plain 404 here, not the web client's page
         * (which answers unknown paths), so a scraper pointed at the wrong
         * address fails loudly. */
        if (!metrics_here)
            mp_http_respond_error(req, MP_ERR_NOT_FOUND, NULL);
        else if (!get)
            method_not_allowed(req, "GET, HEAD");
        else
            mp_server__metrics(req);
        return true;
    }
    if (strcmp(path, "/readyz") == 0) {
        if (!get)
            method_not_allowed(req, "GET, HEAD");
        else if (srv->hooks.ready && !srv->hooks.ready(srv->ctx))
            mp_http_respond_error(
                req, MP_ERR_UNAVAILABLE,
                "not ready: the database or the cluster bus is unavailable (see the server's log)");
        else
            mp_http_respond(req, 200, json_pack("{s:s}", "status", "ready"));
        return true;
    }
    if (strcmp(path, "/v1/ws") == 0) {
        if (req->method != HTTP_GET)
            method_not_allowed(req, "GET");
        else if (!req->upgrade)
            mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "a WebSocket upgrade is required");
        else
            mp_ws__upgrade(req);
        return true;
    }
    return false;
}

/* Extracts "Authorization: Bearer <token>" into req->token. */
void mp_http__bearer(mp_http_req_t *req)
{
    if (req->token)
        return;
    const char *v = mp_http_req_header(req, "Authorization");
    if (v == NULL || strncasecmp(v, "Bearer ", 7) != 0)
        return;
    const char *t = v + 7;
    size_t n = trim(&t, strlen(t));
    if (n > 0)
        req->token = mp_strndup(t, n);
}

/* Fills req->who from a presented token. Returns false when the route needs
 * authentication and the caller has none (401 already sent). */
static bool authenticate(mp_http_req_t *req, bool required)
{
    mp_server_t *srv = req->srv;
    mp_err_t err = MP_ERR_UNAUTHORIZED;
    mp_http__bearer(req);
    if (req->token && srv->hooks.authenticate)
        err = srv->hooks.authenticate(srv->ctx, req->token, &req->who);
    if (err != MP_OK)
        memset(&req->who, 0, sizeof(req->who));
    if (err != MP_OK && required) {
        /* A disabled account is told so (403); every other refusal is 401. */
        mp_http_respond_error(req, err == MP_ERR_ACCOUNT_DISABLED ? err : MP_ERR_UNAUTHORIZED,
                              NULL);
        return false;
    }
    return true;
}

static bool is_json_type(const char *ct)
{
    if (ct == NULL)
        return false;
    const char *t = ct;
    size_t n = trim(&t, strcspn(ct, ";"));
    return n == 16 && strncasecmp(t, "application/json", 16) == 0;
}

/* Parses the body of an MP_ROUTE_JSON route. Returns false when answered. */
static bool json_body(mp_http_req_t *req, bool empty_ok)
{
    if (empty_ok && req->body_len == 0) {
        req->json = json_object();
        return true;
    }
    if (!is_json_type(mp_http_req_header(req, "Content-Type"))) {
        mp_http_respond_error(req, MP_ERR_UNSUPPORTED_MEDIA, NULL);
        return false;
    }
    json_error_t jerr;
    json_t *j =
        json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL || !json_is_object(j)) {
        char msg[200];
        if (j)
            snprintf(msg, sizeof(msg), "the body must be a JSON object");
        else
            snprintf(msg, sizeof(msg), "the body is not valid JSON: %s", jerr.text);
        if (j)
            json_decref(j);
        mp_http_respond_error(req, MP_ERR_BAD_JSON, msg);
        return false;
    }
    req->json = j;
    return true;
}

bool mp_http__stream_route(const mp_http_req_t *req)
{
    const char *url = req->url ? req->url : "";
    char *raw = mp_strndup(url, strcspn(url, "?#"));
    mp_kv_t params[MP_HTTP_MAX_PARAMS];
    size_t n = 0;
    int status;
    const mp_route_t *r = mp_router__match(req->srv->routes, mp_http_req_method(req), raw, params,
                                           &n, NULL, 0, &status);
    for (size_t i = 0; i < n; i++) {
        mp_free(params[i].name);
        mp_free(params[i].value);
    }
    mp_free(raw);
    return r != NULL && (r->flags & MP_ROUTE_BODY_STREAM);
}

/* A path of the web client rather than of the API: everything outside /v1/
 * (the API's 404s stay JSON errors that clients can parse). */
static bool fallback(mp_http_req_t *req, const char *raw)
{
    mp_server_t *srv = req->srv;
    bool get = req->method == HTTP_GET || req->method == HTTP_HEAD;
    if (srv->fallback == NULL || !get || strncmp(raw, "/v1/", 4) == 0 || strcmp(raw, "/v1") == 0)
        return false;
    req->fallback = true;
    srv->fallback(req);
    return true;
}

static void route(mp_http_req_t *req, const char *raw)
{
    char allow[128];
    int status;
    const mp_route_t *r =
        mp_router__match(req->srv->routes, mp_http_req_method(req), raw, req->params, &req->nparams,
                         allow, sizeof(allow), &status);
    if (r == NULL) {
        if (status == 405)
            method_not_allowed(req, allow);
        else if (fallback(req, raw))
            return;
        else
            mp_http_respond_error(req, MP_ERR_NOT_FOUND, NULL);
        return;
    }
    req->route = r;
    if (!authenticate(req, (r->flags & MP_ROUTE_AUTH) != 0))
        return;
    /* Guests may only use the world room: one gate here for every route. */
    if ((r->flags & MP_ROUTE_AUTH) && req->who.guest && !(r->flags & MP_ROUTE_GUEST_OK)) {
        mp_http_respond_error(req, MP_ERR_GUEST_FORBIDDEN, NULL);
        return;
    }
    if ((r->flags & MP_ROUTE_JSON) && !json_body(req, (r->flags & MP_ROUTE_JSON_EMPTY_OK) != 0))
        return;
    if (r->flags & MP_ROUTE_BODY_STREAM) {
        /* Streamed bodies are dispatched at the head (http_conn.c); one that
         * was not (an upgrade, HEAD on a GET stream route) cannot be read. */
        if (req->bstate != MP_B_WAIT) {
            mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "this request cannot carry an upload");
            return;
        }
        if (req->clen < 0) {
            mp_http_respond_error(req, MP_ERR_LENGTH_REQUIRED,
                                  "an upload needs a Content-Length (chunked bodies are refused)");
            return;
        }
    }
    r->fn(req); /* req belongs to the handler from here on */
}

/* The tls_redirect_listen listener: the same Host and target on https://.
 * GET and HEAD get 301 (what browsers remember); other methods 308, which
 * keeps the method and body. */
static void redirect_https(mp_http_req_t *req)
{
    char name[256], port[16] = "";
    const char *host = mp_http_req_header(req, "Host");
    const char *target = req->url && req->url[0] == '/' ? req->url : "/";
    if (!mp_http__host_name(host, name, sizeof name)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "a Host header is required");
        return;
    }
    if (req->srv->https_redirect != 443)
        snprintf(port, sizeof port, ":%d", req->srv->https_redirect);
    size_t len = strlen(name) + strlen(port) + strlen(target) + sizeof "https://";
    char *url = mp_malloc(len);
    snprintf(url, len, "https://%s%s%s", name, port, target);
    mp_http_add_header(req, "Location", url);
    mp_free(url);
    bool get = req->method == HTTP_GET || req->method == HTTP_HEAD;
    mp_http_respond(req, get ? 301 : 308, NULL);
}

void mp_http__dispatch(mp_http_req_t *req)
{
    if (req->srv->https_redirect) {
        redirect_https(req);
        return;
    }
    const char *url = req->url ? req->url : "";
    size_t plen = strcspn(url, "?#");
    char *raw = mp_strndup(url, plen);
    req->path = mp_router__decode(url, plen, false);
    /* Probes and load balancers often address a node by its IP: the health
     * routes answer whatever the Host, and reveal nothing. So does the
     * metrics listener: scrapers name their targets by address, and it is
     * meant for a private network (metrics_listen). */
    bool health =
        strcmp(raw, "/healthz") == 0 || strcmp(raw, "/readyz") == 0 || req->srv->metrics_only;
    if (raw[0] != '/' && req->method != HTTP_OPTIONS)
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "the request target must be a path");
    else if (!health && !mp_http__host_allowed(req->srv->cfg, mp_http_req_header(req, "Host")))
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "Host not allowed");
    else if (req->method == HTTP_OPTIONS && !explicit_options(req, raw))
        preflight(req);
    else if (!builtin(req, raw))
        route(req, raw);
    mp_free(raw);
}
