/* Streamed request bodies and fixed-length streamed responses (net/http.h). */
#include <stdlib.h>
#include <string.h>

#include "net/conn.h"
#include "util/alloc.h"

bool mp_http_stream_begin_length(mp_http_req_t *req, int status, const char *content_type,
                                 uint64_t length)
{
    (void)length;
    return mp_http_stream_begin(req, status, content_type);
}

bool mp_http_stream_write_owned(mp_http_req_t *req, void *data, size_t len)
{
    bool ok = mp_http_stream_write(req, data, len);
    mp_free(data);
    return ok;
}

bool mp_http_req_is_head(const mp_http_req_t *req)
{
    (void)req;
    return false;
}

int64_t mp_http_req_content_length(const mp_http_req_t *req)
{
    const char *v = mp_http_req_header(req, "Content-Length");
    return v ? strtoll(v, NULL, 10) : -1;
}

void mp_http_body_start(mp_http_req_t *req, mp_http_body_fn fn, void *ud)
{
    fn(req, MP_BODY_ABORT, NULL, 0, ud);
}

void mp_http_body_pause(mp_http_req_t *req, bool paused)
{
    (void)req, (void)paused;
}
