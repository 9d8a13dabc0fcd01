/* Streamed request bodies (net/http.h, MP_ROUTE_BODY_STREAM): the handler's
 * consumer gets each piece as the parser finds it in a socket read, and
 * pauses reading while it cannot take more, so that an upload costs one read
 * buffer however large it is. The parser side is in http_conn.c
 * (stream_dispatch, body_piece, body_end, mp_http__body_resume). */
#include "net/conn.h"
#include "util/alloc.h"

static bool gone(const mp_http_req_t *req)
{
    return req->conn == NULL || (req->conn->flags & MP_C_CLOSED);
}

bool mp_http_req_is_head(const mp_http_req_t *req)
{
    return req->method == HTTP_HEAD;
}

int64_t mp_http_req_content_length(const mp_http_req_t *req)
{
    return req->clen;
}

void mp_http_body_start(mp_http_req_t *req, mp_http_body_fn fn, void *ud)
{
    /* Once, on a request of an MP_ROUTE_BODY_STREAM route, before answering. */
    MP_ASSERT(req->bstate == MP_B_WAIT && fn != NULL && !req->done && !req->streaming);
    req->body_fn = fn;
    req->body_ud = ud;
    if (gone(req)) {
        req->bstate = MP_B_OFF;
        fn(req, MP_BODY_ABORT, NULL, 0, ud);
        return;
    }
    mp_conn_t *c = req->conn;
    MP_NET_ASSERT_LOOP(c->srv);
    MP_ASSERT(c->http != NULL && c->http->sreq == req);
    if (req->clen == 0) {
        /* Nothing to read: the parser finds the (empty) end once the
         * request is answered and reading resumes. */
        req->bstate = MP_B_ENDED;
        fn(req, MP_BODY_END, NULL, 0, ud);
        return;
    }
    req->bstate = MP_B_RECV;
    /* Only now: a client that waits for it sends nothing before, so a
     * refusal at the head costs it no upload. */
    mp_http__continue(c, req);
    if (c->flags & MP_C_CLOSED)
        return;
    mp_deadline__set(c, MP_T_IDLE);
    /* From the dispatch inside the parser, parsing simply goes on. */
    mp_http__body_resume(c);
}

void mp_http_body_pause(mp_http_req_t *req, bool paused)
{
    if (req->bpaused == paused)
        return;
    req->bpaused = paused;
    if (req->bstate != MP_B_RECV || gone(req))
        return;
    mp_conn_t *c = req->conn;
    /* Inside the parser (from the consumer's callback) body_piece pauses
     * the parser itself and mp_http__feed keeps the rest; outside, reading
     * stops until the consumer resumes. The idle deadline keeps running:
     * a consumer that never resumes does not keep the connection. */
    if (paused) {
        if (!c->http->parsing)
            mp_conn__pause(c, true);
    } else {
        mp_http__body_resume(c);
    }
}

void mp_http__body_answered(mp_http_req_t *req)
{
    if (req->bstate != MP_B_WAIT && req->bstate != MP_B_RECV)
        return;
    if (req->clen == 0) { /* nothing unread: the connection may stay */
        req->bstate = MP_B_ENDED;
        return;
    }
    req->bstate = MP_B_OFF;
    req->close_after = true;
    mp_conn_t *c = req->conn;
    if (c == NULL || (c->flags & MP_C_CLOSED))
        return;
    mp_deadline__set(c, MP_T_NONE);
    /* What the client still sends is read and thrown away until the answer
     * is out and the connection half-closed: closing with unread input
     * would reset the connection, which can destroy the answer before the
     * client reads it. */
    mp_free(c->http->stash);
    c->http->stash = NULL;
    c->http->stash_len = 0;
    c->flags &= (uint16_t)~MP_C_STASHED;
    mp_conn__drain(c);
}
