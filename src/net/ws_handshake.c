/* The RFC 6455 opening handshake at GET /v1/ws: key and version checks, the
 * Origin allow-list, optional bearer authentication, then 101 and the switch
 * of the connection to WebSocket. */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net/ws.h"
#include "util/alloc.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

void mp_ws__accept_key(const char *key, char out[29])
{
    char buf[128];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    int n = snprintf(buf, sizeof(buf), "%s%s", key, WS_GUID);
    if (n < 0 || (size_t)n >= sizeof(buf))
        n = 0;
    EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha1(), NULL);
    EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen); /* 20 bytes -> 28 chars + NUL */
}

/* A valid key is the base64 form of 16 bytes: 22 characters and "==". */
static bool key_valid(const char *key)
{
    unsigned char raw[24];
    if (key == NULL || strlen(key) != 24 || key[22] != '=' || key[23] != '=')
        return false;
    for (int i = 0; i < 22; i++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", key[i]))
            return false;
    return EVP_DecodeBlock(raw, (const unsigned char *)key, 24) == 18;
}

/* True when the comma list v contains token (case-insensitive). */
static bool has_token(const char *v, const char *token)
{
    size_t tl = strlen(token);
    while (v && *v) {
        v += strspn(v, " \t,");
        size_t n = strcspn(v, ",");
        size_t m = n;
        while (m > 0 && (v[m - 1] == ' ' || v[m - 1] == '\t'))
            m--;
        if (m == tl && strncasecmp(v, token, tl) == 0)
            return true;
        v += n;
    }
    return false;
}

/* The scheme a browser used to reach us: "https" on our own TLS listener
 * (tls_cert) or when a TLS-terminating proxy in front says so, else "http".
 * A page cannot set X-Forwarded-Proto on a WebSocket handshake, so it cannot
 * fake this. */
static const char *own_scheme(const mp_http_req_t *req)
{
    if (req->conn != NULL && req->conn->tls != NULL)
        return "https";
    const char *xfp = mp_http_req_header(req, "X-Forwarded-Proto");
    return xfp && strcasecmp(xfp, "https") == 0 ? "https" : "http";
}

/* Browsers send Origin: allowed when listed, or when it is this server's own
 * origin (same scheme and same host[:port]). */
static bool origin_ok(const mp_http_req_t *req)
{
    const char *origin = mp_http_req_header(req, "Origin");
    if (origin == NULL)
        return true;
    if (mp_http__origin_listed(req->srv->cfg->ws_origins, origin))
        return true;
    const char *host = mp_http_req_header(req, "Host");
    const char *p = strstr(origin, "://");
    const char *scheme = own_scheme(req);
    size_t sl = strlen(scheme);
    return host && p && (size_t)(p - origin) == sl && strncasecmp(origin, scheme, sl) == 0 &&
           strcasecmp(p + 3, host) == 0;
}

/* Returns the error to answer, or MP_OK with req->who filled when a token came. */
static mp_err_t check(mp_http_req_t *req, const char **msg)
{
    mp_server_t *srv = req->srv;
    *msg = NULL;
    if (!has_token(mp_http_req_header(req, "Upgrade"), "websocket") ||
        !has_token(mp_http_req_header(req, "Connection"), "upgrade")) {
        *msg = "Upgrade: websocket and Connection: Upgrade are required";
        return MP_ERR_BAD_REQUEST;
    }
    const char *ver = mp_http_req_header(req, "Sec-WebSocket-Version");
    if (ver == NULL || strcmp(ver, "13") != 0) {
        mp_http__req_add_header(req, "Sec-WebSocket-Version", "13");
        *msg = "Sec-WebSocket-Version must be 13";
        return MP_ERR_BAD_REQUEST;
    }
    if (!key_valid(mp_http_req_header(req, "Sec-WebSocket-Key"))) {
        *msg = "missing or invalid Sec-WebSocket-Key";
        return MP_ERR_BAD_REQUEST;
    }
    if (!origin_ok(req)) {
        *msg = "origin not allowed";
        return MP_ERR_FORBIDDEN;
    }
    if (req->conn->http->head != req || req->next != NULL) {
        *msg = "an upgrade must not be pipelined";
        return MP_ERR_BAD_REQUEST;
    }
    mp_http__bearer(req);
    if (req->token == NULL)
        return MP_OK;
    mp_err_t err = srv->hooks.authenticate
                       ? srv->hooks.authenticate(srv->ctx, req->token, &req->who)
                       : MP_ERR_UNAUTHORIZED;
    if (err == MP_OK)
        return MP_OK;
    memset(&req->who, 0, sizeof(req->who));
    return err == MP_ERR_ACCOUNT_DISABLED ? err : MP_ERR_UNAUTHORIZED;
}

static void written(mp_conn_t *c, void *arg)
{
    (void)c;
    mp_free(arg);
}

static void send_101(mp_conn_t *c, mp_http_req_t *req)
{
    char accept[29];
    mp_ws__accept_key(mp_http_req_header(req, "Sec-WebSocket-Key"), accept);
    char *out = mp_malloc(256);
    int n = snprintf(out, 256,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nX-Request-Id: %s\r\n\r\n",
                     accept, req->rid);
    req->status = 101;
    req->out_len = (size_t)n;
    mp_http__access_log(req);
    uv_buf_t buf = uv_buf_init(out, (unsigned)n);
    mp_conn__write(c, &buf, 1, written, out);
}

void mp_ws__upgrade(mp_http_req_t *req)
{
    mp_conn_t *c = req->conn;
    mp_server_t *srv = req->srv;
    const char *msg;
    mp_err_t err = check(req, &msg);
    const char *full =
        err == MP_OK && req->token != NULL ? mp_caps__ws_refusal(srv, &req->who) : NULL;
    if (full != NULL) {
        err = MP_ERR_RATE_LIMITED;
        msg = full;
    }
    if (err != MP_OK) {
        mp_http_respond_error(req, err, msg);
        return;
    }
    c->http->head = c->http->tail = NULL;
    c->http->nreqs = 0;
    c->flags &= (uint16_t)~MP_C_DRAIN;
    send_101(c, req);
    mp_ws_t *ws = mp_calloc(1, sizeof(*ws));
    c->ws = ws;
    c->flags |= MP_C_WS;
    ws->sid = mp_sidmap_add(&srv->sids, c);
    ws->authed = req->token != NULL; /* check() answered 401 for a bad one */
    ws->who = req->who;
    mp_http__req_free(req);
    mp_http__conn_drop(c); /* an idle session keeps no HTTP state */
    mp_deadline__set(c, ws->authed ? MP_T_WS_PING : MP_T_WS_AUTH);
    if (ws->authed)
        mp_caps__ws_open(srv, &ws->who);
    if (ws->authed && srv->hooks.session_open)
        srv->hooks.session_open(srv->ctx, ws->sid, &ws->who);
}
