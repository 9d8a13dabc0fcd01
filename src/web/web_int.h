/* Internal to src/web: the embedded file table (written by
 * web/scripts/embed.mjs at build time) and what web.c and root.c share. */
#ifndef MP_WEB_INT_H
#define MP_WEB_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "net/http.h"
#include "web/web.h"

/* One file of the built client, with its precompressed copies (NULL when a
 * copy would not be smaller). The table is sorted by path (strcmp). */
typedef struct mp_web_asset {
    const char *path; /* "/index.html", "/assets/index-3f2a.js" */
    const char *etag; /* hex digest of the identity bytes */
    const unsigned char *data;
    size_t len;
    const unsigned char *gz;
    size_t gz_len;
    const unsigned char *br;
    size_t br_len;
} mp_web_asset_t;

extern const mp_web_asset_t mp_web__assets[];
extern const size_t mp_web__nassets;

struct mp_web {
    uv_loop_t *loop;
    const mp_config_t *cfg;
};

/* Security and caching headers of every answer of the web client. html: the
 * answer is a page (it gets the Content-Security-Policy). */
void mp_web__headers(mp_http_req_t *req, bool html, bool immutable);

/* True when the last segment of path has no dot: a client route
 * (/chats/123), answered with index.html, not a missing file. */
bool mp_web__is_route(const char *path);

/* True when path is safe to map onto a directory: absolute, no "..", no
 * segment starting with a dot, no backslash or NUL. */
bool mp_web__path_ok(const char *path);

/* Serves path from cfg->web_root (root.c). */
void mp_web__serve_root(mp_web_t *web, mp_http_req_t *req, const char *path);

#endif
