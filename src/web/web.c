/* Serving the web client built into the binary: content negotiation between
 * the precompressed copies, validation by ETag, and the headers that make
 * caching and the Content-Security-Policy right (docs/web.md). */
#include "web/web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "web/web_int.h"

/* Scripts, styles and connections only from the server itself; pictures and
 * sound also from blob: (files fetched with the token) and data: (the tiny
 * previews inlined in messages). No inline script or style anywhere, no
 * plugins, no framing. */
#define CSP                                                                                        \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "        \
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "             \
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

mp_web_t *mp_web_new(uv_loop_t *loop, const mp_config_t *cfg)
{
    if (!cfg->web)
        return NULL;
    mp_web_t *web = mp_calloc(1, sizeof(*web));
    web->loop = loop;
    web->cfg = cfg;
    return web;
}

void mp_web_free(mp_web_t *web)
{
    mp_free(web);
}

size_t mp_web_embedded_count(void)
{
    return mp_web__nassets;
}

const char *mp_web_mime(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".webp", "image/webp"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
        {".webmanifest", "application/manifest+json"},
        {".woff2", "font/woff2"},
        {".woff", "font/woff"},
        {".txt", "text/plain; charset=utf-8"},
        {".wasm", "application/wasm"},
        {".map", "application/json"},
    };
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && (slash == NULL || dot > slash))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

bool mp_web__is_route(const char *path)
{
    const char *last = strrchr(path, '/');
    return strchr(last ? last : path, '.') == NULL;
}

bool mp_web__path_ok(const char *path)
{
    if (path[0] != '/' || strchr(path, '\\'))
        return false;
    for (const char *p = path; *p; p++)
        if (p[0] == '/' && p[1] == '.')
            return false; /* "..", and dotfiles such as .env or .git */
    return true;
}

void mp_web__headers(mp_http_req_t *req, bool html, bool immutable)
{
    mp_http_add_header(req, "Cache-Control",
                       immutable ? "public, max-age=31536000, immutable" : "no-cache");
    mp_http_add_header(req, "X-Content-Type-Options", "nosniff");
    mp_http_add_header(req, "Referrer-Policy", "no-referrer");
    if (html) {
        mp_http_add_header(req, "Content-Security-Policy", CSP);
        mp_http_add_header(req, "X-Frame-Options", "DENY");
        mp_http_add_header(req, "Permissions-Policy",
                           "microphone=(self), camera=(), geolocation=(), payment=(), usb=()");
    }
}

static int by_path(const void *key, const void *elem)
{
    return strcmp(key, ((const mp_web_asset_t *)elem)->path);
}

static const mp_web_asset_t *find(const char *path)
{
    if (mp_web__nassets == 0)
        return NULL;
    return bsearch(path, mp_web__assets, mp_web__nassets, sizeof(mp_web__assets[0]), by_path);
}

/* Whether Accept-Encoding accepts coding (a listed token whose q is not 0).
 * "*" is not honoured: every browser names gzip and br. */
static bool accepts(const char *ae, const char *coding)
{
    size_t n = strlen(coding);
    for (const char *p = ae; p && *p;) {
        p += strspn(p, " \t,");
        size_t tok = strcspn(p, " \t;,");
        if (tok == n && strncasecmp(p, coding, n) == 0) {
            const char *end = p + strcspn(p, ",");
            const char *q = strstr(p, "q=");
            return !(q && q < end && strtod(q + 2, NULL) <= 0.0);
        }
        p = strchr(p, ',');
    }
    return false;
}

static void serve_asset(mp_http_req_t *req, const mp_web_asset_t *a)
{
    const char *ae = mp_http_req_header(req, "Accept-Encoding");
    const unsigned char *data = a->data;
    size_t len = a->len;
    const char *coding = NULL;
    if (a->br && accepts(ae, "br"))
        data = a->br, len = a->br_len, coding = "br";
    else if (a->gz && accepts(ae, "gzip"))
        data = a->gz, len = a->gz_len, coding = "gzip";
    /* Each coding is a different representation, so it has its own tag. */
    char etag[96];
    snprintf(etag, sizeof etag, "\"%s%s%s\"", a->etag, coding ? "-" : "", coding ? coding : "");
    bool html = strcmp(a->path, "/index.html") == 0;
    mp_web__headers(req, html, strncmp(a->path, "/assets/", 8) == 0);
    mp_http_add_header(req, "ETag", etag);
    if (a->gz || a->br)
        mp_http_add_header(req, "Vary", "Accept-Encoding");
    if (mp_http_etag_match(mp_http_req_header(req, "If-None-Match"), etag)) {
        mp_http_respond(req, 304, NULL);
        return;
    }
    if (coding)
        mp_http_add_header(req, "Content-Encoding", coding);
    if (mp_http_stream_begin_length(req, 200, mp_web_mime(a->path), len))
        mp_http_stream_write(req, data, len);
    mp_http_stream_end(req, true);
}

void mp_web_handle(mp_http_req_t *req)
{
    mp_web_t *web = mp_http_req_mod(req);
    MP_ASSERT(web != NULL);
    const char *path = mp_http_req_path(req);
    if (strcmp(path, "/") == 0)
        path = "/index.html";
    if (web->cfg->web_root[0]) {
        mp_web__serve_root(web, req, path);
        return;
    }
    const mp_web_asset_t *a = find(path);
    if (a == NULL && mp_web__is_route(path))
        a = find("/index.html");
    if (a == NULL) {
        mp_http_respond_error(req, MP_ERR_NOT_FOUND,
                              mp_web__nassets ? NULL
                                              : "this server was built without its web client");
        return;
    }
    serve_asset(req, a);
}
