/* Streamed HTTP responses (net/http.h): the head goes out at once, the body
 * as the producer makes it, in chunks (HTTP/1.1) or until the connection
 * closes (HTTP/1.0). The bytes are written straight to the socket: a
 * streamed request is always the head of its connection's FIFO (only one
 * request runs at a time per connection, MP_NET_INFLIGHT, and every answered
 * one before it was written when it was answered). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "net/conn.h"
#include "util/alloc.h"
#include "util/log.h"

static void written(mp_conn_t *c, void *arg)
{
    (void)c;
    mp_free(arg);
}

static bool gone(const mp_http_req_t *req)
{
    return req->conn == NULL || (req->conn->flags & MP_C_CLOSED);
}

/* Hands buf (mp_malloc'd, len bytes) to the socket. */
static void send_buf(mp_http_req_t *req, char *buf, size_t len)
{
    uv_buf_t b = uv_buf_init(buf, (unsigned)len);
    mp_conn__write(req->conn, &b, 1, written, buf);
}

static bool safe(const char *s)
{
    return strpbrk(s, "\r\n") == NULL;
}

/* Sends the head of a streamed response: chunked (length < 0; HTTP/1.0:
 * close-delimited) or fixed-length. */
static bool begin(mp_http_req_t *req, int status, const char *content_type, int64_t length)
{
    MP_ASSERT(!req->done && !req->streaming);
    mp_http__body_answered(req);
    req->streaming = true;
    req->status = status;
    req->head_only = req->method == HTTP_HEAD;
    req->fixed = length >= 0;
    req->left = length >= 0 ? (uint64_t)length : 0;
    if (gone(req))
        return false;
    mp_conn_t *c = req->conn;
    MP_NET_ASSERT_LOOP(c->srv);
    MP_ASSERT(c->http != NULL && c->http->head == req);
    /* HTTP/1.0 knows no chunked encoding: its body ends with the connection
     * (a HEAD response has none to end). */
    req->chunked = !req->fixed && !req->http10;
    if (!req->fixed && !req->chunked && !req->head_only)
        req->close_after = true;
    bool ka = req->keep_alive && !req->close_after;
    const char *origin = mp_http_req_header(req, "Origin");
    bool cors =
        origin != NULL && safe(origin) && mp_http__origin_listed(c->srv->cfg->cors_origins, origin);
    if (!safe(content_type))
        content_type = "application/octet-stream";
    size_t cap = 256 + sizeof(MP_CORS_EXPOSE) + strlen(content_type) + req->rhdrs_len +
                 (cors ? strlen(origin) : 0);
    char *out = mp_malloc(cap);
    char framing[64];
    if (req->fixed)
        snprintf(framing, sizeof framing, "Content-Length: %" PRIu64 "\r\n", req->left);
    else
        snprintf(framing, sizeof framing, "%s",
                 req->chunked ? "Transfer-Encoding: chunked\r\n" : "");
    size_t len = (size_t)snprintf(out, cap,
                                  "HTTP/1.1 %d %s\r\nX-Request-Id: %s\r\nContent-Type: %s\r\n"
                                  "%sConnection: %s\r\n",
                                  status, http_status_str((enum http_status)status), req->rid,
                                  content_type, framing, ka ? "keep-alive" : "close");
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
    req->out_len = len;
    send_buf(req, out, len);
    /* A client that stops reading is closed after idle_timeout: each write
     * it takes pushes the deadline back (mp_conn__wrote). */
    if (!gone(req))
        mp_deadline__set(c, MP_T_IDLE);
    return !gone(req);
}

bool mp_http_stream_begin(mp_http_req_t *req, int status, const char *content_type)
{
    return begin(req, status, content_type, -1);
}

bool mp_http_stream_begin_length(mp_http_req_t *req, int status, const char *content_type,
                                 uint64_t length)
{
    MP_ASSERT(length <= INT64_MAX);
    return begin(req, status, content_type, (int64_t)length);
}

/* Checks a write of len body bytes against what is left of a fixed length.
 * A producer writing more is a bug the client must not see as a valid body:
 * the connection is closed (false). */
static bool within(mp_http_req_t *req, size_t len)
{
    if (!req->fixed)
        return true;
    if (len <= req->left) {
        req->left -= len;
        return true;
    }
    mp_log_error("http: %s %s wrote more than its Content-Length (%s): connection closed",
                 mp_http_req_method(req), mp_http_req_path(req), req->rid);
    req->left = 0;
    mp_conn__close(req->conn);
    return false;
}

/* The chunk framing around an owned buffer: the three pieces go out in one
 * write and are freed together. */
typedef struct owned_chunk {
    char *data;
    char head[24];
} owned_chunk_t;

static void owned_written(mp_conn_t *c, void *arg)
{
    (void)c;
    owned_chunk_t *oc = arg;
    mp_free(oc->data);
    mp_free(oc);
}

bool mp_http_stream_write_owned(mp_http_req_t *req, void *data, size_t len)
{
    MP_ASSERT(req->streaming && req->wait_fn == NULL);
    if (gone(req)) {
        mp_free(data);
        return false;
    }
    if (len == 0 || req->head_only) { /* an empty chunk would end the body */
        mp_free(data);
        return true;
    }
    if (!within(req, len)) {
        mp_free(data);
        return false;
    }
    req->body_out += len;
    if (!req->chunked) {
        req->out_len += len;
        send_buf(req, data, len);
        return !gone(req);
    }
    owned_chunk_t *oc = mp_malloc(sizeof(*oc));
    oc->data = data;
    size_t hl = (size_t)snprintf(oc->head, sizeof oc->head, "%zx\r\n", len);
    uv_buf_t b[3] = {uv_buf_init(oc->head, (unsigned)hl), uv_buf_init(data, (unsigned)len),
                     uv_buf_init((char *)"\r\n", 2)};
    req->out_len += hl + len + 2;
    mp_conn__write(req->conn, b, 3, owned_written, oc);
    return !gone(req);
}

bool mp_http_stream_write(mp_http_req_t *req, const void *data, size_t len)
{
    MP_ASSERT(req->streaming && req->wait_fn == NULL);
    if (gone(req))
        return false;
    if (len == 0 || req->head_only) /* an empty chunk would end the body */
        return true;
    if (!within(req, len))
        return false;
    char head[24];
    size_t hl = req->chunked ? (size_t)snprintf(head, sizeof head, "%zx\r\n", len) : 0;
    size_t tl = req->chunked ? 2 : 0;
    char *buf = mp_malloc(hl + len + tl);
    memcpy(buf, head, hl);
    memcpy(buf + hl, data, len);
    memcpy(buf + hl + len, "\r\n", tl);
    req->out_len += hl + len + tl;
    req->body_out += len;
    send_buf(req, buf, hl + len + tl);
    return !gone(req);
}

size_t mp_http_stream_queued(const mp_http_req_t *req)
{
    return gone(req) ? 0 : req->conn->obytes;
}

void mp_http_stream_wait(mp_http_req_t *req, size_t low_mark, mp_http_stream_fn fn, void *ud)
{
    MP_ASSERT(req->streaming && req->wait_fn == NULL && fn != NULL);
    if (gone(req) || req->conn->obytes <= low_mark) {
        fn(req, gone(req), ud);
        return;
    }
    req->wait_fn = fn;
    req->wait_ud = ud;
    req->wait_mark = low_mark;
}

void mp_http__stream_drained(mp_conn_t *c)
{
    mp_http_req_t *r = c->http ? c->http->head : NULL;
    if (r == NULL || !r->streaming || r->wait_fn == NULL || c->obytes > r->wait_mark)
        return;
    mp_http_stream_fn fn = r->wait_fn;
    r->wait_fn = NULL;
    fn(r, false, r->wait_ud);
}

/* Takes req off the head of its connection's FIFO. */
static void unlink_head(mp_conn_t *c, mp_http_req_t *req)
{
    MP_ASSERT(c->http->head == req);
    c->http->head = req->next;
    if (c->http->head == NULL)
        c->http->tail = NULL;
    c->http->nreqs--;
    req->next = NULL;
}

void mp_http_stream_end(mp_http_req_t *req, bool complete)
{
    MP_ASSERT(req->streaming && !req->done && req->wait_fn == NULL);
    if (complete && req->fixed && !req->head_only && req->left > 0 && req->conn != NULL) {
        /* Fewer bytes than announced: the client must not take the body
         * for whole, and only a close tells it so. */
        mp_log_error("http: %s %s ended %" PRIu64 " bytes short of its Content-Length (%s)",
                     mp_http_req_method(req), mp_http_req_path(req), req->left, req->rid);
        complete = false;
    }
    /* A closed connection detaches its unanswered requests (conn = NULL):
     * then req is ours to free. */
    if (req->conn != NULL && complete && req->chunked && !req->head_only) {
        static const char last[] = "0\r\n\r\n";
        req->out_len += sizeof last - 1;
        send_buf(req, mp_strdup(last), sizeof last - 1); /* may close the connection */
    }
    mp_conn_t *c = req->conn;
    if (c == NULL) {
        mp_http__req_free(req);
        return;
    }
    MP_ASSERT(!(c->flags & MP_C_CLOSED));
    req->done = true;
    unlink_head(c, req);
    mp_http__access_log(req);
    bool close = req->close_after;
    mp_http__req_free(req);
    if (!complete) {
        mp_conn__close(c);
        return;
    }
    if (close)
        c->flags |= MP_C_DRAIN;
    mp_http__flush(c); /* the next request, a graceful close, or the idle deadline */
}
