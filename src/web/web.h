/* The web client's files: served at / from the copy built into the binary
 * (web/ compiled by Vite, precompressed, embedded at build time), or from a
 * directory (web_root) while the client is being developed. Every path that
 * is not a file of the client (/chats/123, /join/TOKEN) gets index.html, so
 * that the client's own router shows the screen. docs/web.md. */
#ifndef MP_WEB_H
#define MP_WEB_H

#include <stddef.h>
#include <uv.h>

#include "config/config.h"
#include "net/http.h"

typedef struct mp_web mp_web_t;

/* Returns NULL when cfg->web is off (the server then answers the API alone).
 * cfg must outlive the result. */
mp_web_t *mp_web_new(uv_loop_t *loop, const mp_config_t *cfg);
void mp_web_free(mp_web_t *web);

/* The handler for every GET/HEAD the API's routes do not take
 * (mp_server_set_fallback, with the mp_web_t as its module state). */
void mp_web_handle(mp_http_req_t *req);

/* Files built into the binary (0 when it was built without the client). */
size_t mp_web_embedded_count(void);

/* The Content-Type for a file name, by its extension
 * ("application/octet-stream" when unknown). */
const char *mp_web_mime(const char *path);

#endif
