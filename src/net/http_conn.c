/* http-parser glue: turns bytes into requests, enforces the size limits and
 * keeps the per-connection FIFO so that pipelined responses go out in order. */
#include <string.h>
#include <strings.h>

#include "net/conn.h"
#include "util/alloc.h"

static int on_message_begin(http_parser *p);
static int on_url(http_parser *p, const char *at, size_t n);
static int on_header_field(http_parser *p, const char *at, size_t n);
static int on_header_value(http_parser *p, const char *at, size_t n);
static int on_headers_complete(http_parser *p);
static int on_body(http_parser *p, const char *at, size_t n);
static int on_message_complete(http_parser *p);

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void mp_http__conn_init(mp_conn_t *c)
{
    c->http = mp_calloc(1, sizeof(*c->http));
    http_parser_init(&c->http->parser, HTTP_REQUEST);
    c->http->parser.data = c;
}

void mp_http__conn_drop(mp_conn_t *c)
{
    mp_http_conn_t *h = c->http;
    /* The parser must outlive http_parser_execute, and bytes kept while
     * paused or a request still referenced keep the state alive (until
     * mp_conn__release). */
    if (h == NULL || h->parsing || h->stash || h->head || h->cur)
        return;
    mp_free(h);
    c->http = NULL;
}

void mp_http__conn_free(mp_conn_t *c)
{
    if (c->http == NULL)
        return;
    mp_free(c->http->stash);
    mp_free(c->http);
    c->http = NULL;
}

/* Appends n bytes to the NUL-terminated string *s of length *len. */
static void str_append(char **s, size_t *len, const char *at, size_t n)
{
    *s = mp_realloc(*s, *len + n + 1);
    memcpy(*s + *len, at, n);
    *len += n;
    (*s)[*len] = '\0';
}

static bool header_budget(mp_conn_t *c, size_t n)
{
    /* Counts request-target, names and values; 4 bytes per line stand for
     * ": " and CRLF. */
    c->http->hdr_bytes += (uint32_t)(n > UINT32_MAX / 2 ? UINT32_MAX / 2 : n);
    if (c->http->hdr_bytes <= c->srv->cfg->max_header)
        return true;
    mp_http__reject(c, MP_ERR_TOO_LARGE, 431);
    return false;
}

static int on_message_begin(http_parser *p)
{
    mp_conn_t *c = p->data;
    if (c->flags & (MP_C_DRAIN | MP_C_CLOSED)) {
        http_parser_pause(p, 1);
        return 0;
    }
    c->http->cur = mp_http__req_new(c);
    c->http->hdr_bytes = 16; /* method, version and the final CRLF */
    mp_deadline__set(c, MP_T_HEADER);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    mp_conn_t *c = p->data;
    if (c->http->cur == NULL || !header_budget(c, n))
        return 0;
    str_append(&c->http->cur->url, &c->http->cur->url_len, at, n);
    return 0;
}

static void header_piece(mp_conn_t *c, const char *at, size_t n, bool value)
{
    mp_http_req_t *r = c->http->cur;
    if (!value && (r->nhdrs == 0 || r->last_was_value)) {
        if (r->nhdrs == r->hcap) {
            r->hcap = r->hcap ? r->hcap * 2 : 8;
            r->hdrs = mp_realloc(r->hdrs, r->hcap * sizeof(*r->hdrs));
        }
        r->hdrs[r->nhdrs].name = mp_strdup("");
        r->hdrs[r->nhdrs].value = mp_strdup("");
        r->nhdrs++;
    }
    if (r->nhdrs == 0)
        return;
    r->last_was_value = value;
    char **s = value ? &r->hdrs[r->nhdrs - 1].value : &r->hdrs[r->nhdrs - 1].name;
    size_t len = strlen(*s);
    str_append(s, &len, at, n);
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    mp_conn_t *c = p->data;
    if (c->http->cur == NULL || !header_budget(c, n + 4))
        return 0;
    header_piece(c, at, n, false);
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    mp_conn_t *c = p->data;
    if (c->http->cur == NULL || !header_budget(c, n))
        return 0;
    header_piece(c, at, n, true);
    return 0;
}

static void written(mp_conn_t *c, void *arg);

/* curl and others wait for "100 Continue" before sending a larger body. Only
 * when no earlier response is pending, so that the interim reply cannot
 * overtake one. */
void mp_http__continue(mp_conn_t *c, mp_http_req_t *r)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    const char *e = mp_http_req_header(r, "Expect");
    if (e == NULL || strcasecmp(e, "100-continue") != 0 || (c->flags & (MP_C_CLOSED | MP_C_SHUT)))
        return;
    if (c->http->head != NULL && c->http->head != r)
        return;
    uv_buf_t buf = uv_buf_init(mp_strdup(cont), sizeof(cont) - 1);
    mp_conn__write(c, &buf, 1, written, buf.base);
}

static void enqueue(mp_conn_t *c, mp_http_req_t *r);

/* A request for an MP_ROUTE_BODY_STREAM route: dispatched now, its body
 * delivered to the handler's consumer as it is parsed (body_piece) instead
 * of being buffered, so max_body and the body budget do not apply. */
static void stream_dispatch(http_parser *p, mp_conn_t *c, mp_http_req_t *r)
{
    mp_http_conn_t *h = c->http;
    /* One request in flight per connection: everything before it has been
     * answered and written (MP_NET_INFLIGHT). */
    MP_ASSERT(h->head == NULL && h->sreq == NULL);
    h->cur = NULL;
    h->sreq = r;
    r->bstate = MP_B_WAIT;
    /* The handler's time is not bounded; the body's pace is, from
     * mp_http_body_start on (idle_timeout between pieces). */
    mp_deadline__set(c, MP_T_NONE);
    enqueue(c, r);
    if (!r->keep_alive)
        r->close_after = true; /* not MP_C_DRAIN: the body is still to be parsed */
    mp_http__dispatch(r);
    /* The handler may have answered (r freed), started the body (parsing
     * goes on) or not yet: then nothing more is parsed until it does. */
    if (h->sreq != r || r->bstate != MP_B_RECV || r->bpaused)
        http_parser_pause(p, 1);
}

static int on_headers_complete(http_parser *p)
{
    mp_conn_t *c = p->data;
    mp_http_req_t *r = c->http->cur;
    if (r == NULL)
        return 0;
    r->method = (uint8_t)p->method;
    r->keep_alive = http_should_keep_alive(p) != 0;
    r->http10 = p->http_major < 1 || (p->http_major == 1 && p->http_minor == 0);
    r->upgrade = p->upgrade;
    r->clen = (p->flags & F_CONTENTLENGTH) ? (int64_t)p->content_length : -1;
    if (!r->upgrade && c->srv->stream_routes && mp_http__stream_route(r)) {
        stream_dispatch(p, c, r);
        return 0;
    }
    /* Refuse a declared oversize body before reading any of it; a declared
     * length is reserved in the server-wide budget up front. */
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->srv->cfg->max_body)
        mp_http__reject(c, MP_ERR_TOO_LARGE, 0);
    else if ((p->flags & F_CONTENTLENGTH) && !mp_caps__body_reserve(r, p->content_length))
        mp_http__reject(c, MP_ERR_UNAVAILABLE, 0);
    else
        mp_http__continue(c, r);
    return 0;
}

/* A piece of a streamed body, straight from the read buffer (or the stash):
 * nothing is copied or kept. */
static void body_piece(http_parser *p, mp_conn_t *c, const char *at, size_t n)
{
    mp_http_req_t *s = c->http->sreq;
    if (s == NULL || s->bstate != MP_B_RECV)
        return; /* answered before its end: the rest is discarded */
    mp_deadline__set(c, MP_T_IDLE);
    s->body_in += n;
    s->body_fn(s, MP_BODY_DATA, at, n, s->body_ud);
    /* s may be freed now (answered from the callback). */
    if (c->http->sreq != s || s->bstate != MP_B_RECV || s->bpaused)
        http_parser_pause(p, 1);
}

/* The streamed body is complete. */
static void body_end(http_parser *p, mp_conn_t *c)
{
    mp_http_req_t *s = c->http->sreq;
    if (s == NULL || s->bstate != MP_B_RECV)
        return;
    s->bstate = MP_B_ENDED;
    mp_deadline__set(c, MP_T_NONE);
    http_parser_pause(p, 1); /* the next request waits for the answer */
    s->body_fn(s, MP_BODY_END, NULL, 0, s->body_ud);
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    mp_conn_t *c = p->data;
    mp_http_req_t *r = c->http->cur;
    if (r == NULL) {
        body_piece(p, c, at, n);
        return 0;
    }
    /* Chunked bodies have no declared length: check while streaming. */
    if (n > c->srv->cfg->max_body - r->body_len) {
        mp_http__reject(c, MP_ERR_TOO_LARGE, 0);
        return 0;
    }
    if (r->body_len + n > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap * 2 : 1024;
        while (cap < r->body_len + n)
            cap *= 2;
        if (cap > c->srv->cfg->max_body)
            cap = c->srv->cfg->max_body;
        /* A declared length was reserved whole: never allocate beyond it.
         * Chunked bodies reserve as they grow. */
        if (r->body_resv >= r->body_len + n && cap > r->body_resv)
            cap = r->body_resv;
        if (!mp_caps__body_reserve(r, cap)) {
            mp_http__reject(c, MP_ERR_UNAVAILABLE, 0);
            return 0;
        }
        r->body_cap = cap;
        r->body = mp_realloc(r->body, r->body_cap + 1);
    }
    memcpy(r->body + r->body_len, at, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return 0;
}

static void enqueue(mp_conn_t *c, mp_http_req_t *r)
{
    r->next = NULL;
    if (c->http->tail)
        c->http->tail->next = r;
    else
        c->http->head = r;
    c->http->tail = r;
    c->http->nreqs++;
}

static int on_message_complete(http_parser *p)
{
    mp_conn_t *c = p->data;
    mp_http_req_t *r = c->http->cur;
    if (r == NULL) {
        body_end(p, c);
        return 0;
    }
    c->http->cur = NULL;
    mp_deadline__set(c, MP_T_NONE);
    http_parser_pause(p, 1); /* one request at a time: see mp_http__feed */
    if (r->upgrade)
        r->keep_alive = false; /* unless the upgrade succeeds, what follows is not HTTP */
    enqueue(c, r);
    if (!r->keep_alive) {
        r->close_after = true;
        c->flags |= MP_C_DRAIN;
    }
    mp_http__dispatch(r);
    return 0;
}

static void stash(mp_conn_t *c, const char *data, size_t len)
{
    char *s = NULL;
    if (len > 0) {
        s = mp_malloc(len);
        memcpy(s, data, len);
    }
    mp_free(c->http->stash);
    c->http->stash = s;
    c->http->stash_len = len;
    if (len > 0)
        c->flags |= MP_C_STASHED;
    else
        c->flags &= (uint16_t)~MP_C_STASHED;
}

void mp_http__feed(mp_conn_t *c, const char *data, size_t len)
{
    while (len > 0 && !(c->flags & (MP_C_CLOSED | MP_C_DRAIN))) {
        c->http->parsing = true;
        size_t n = http_parser_execute(&c->http->parser, &settings, data, len);
        c->http->parsing = false;
        enum http_errno e = HTTP_PARSER_ERRNO(&c->http->parser);
        data += n;
        len -= n;
        if (c->flags & MP_C_CLOSED)
            return;
        if (c->ws) {
            mp_http__conn_drop(c); /* upgraded while parsing: see mp_ws__upgrade */
            if (len > 0)
                mp_ws__feed(c, (const uint8_t *)data, len);
            return;
        }
        if (e == HPE_PAUSED) {
            http_parser_pause(&c->http->parser, 0);
            if (mp_http__backlogged(c) && !(c->flags & MP_C_DRAIN)) {
                /* Back-pressure: keep the rest until responses drain. */
                stash(c, data, len);
                mp_conn__pause(c, true);
                return;
            }
            continue;
        }
        if (e != HPE_OK) {
            mp_http__reject(c, e == HPE_HEADER_OVERFLOW ? MP_ERR_TOO_LARGE : MP_ERR_BAD_REQUEST,
                            e == HPE_HEADER_OVERFLOW ? 431 : 0);
            return;
        }
        if (n == 0)
            return;
    }
}

/* Requests in the FIFO whose handler has not answered yet. */
static unsigned busy(const mp_http_conn_t *h)
{
    unsigned n = 0;
    for (const mp_http_req_t *r = h->head; r; r = r->next)
        n += !r->done;
    return n;
}

/* True when no further request should be dispatched: too many waiting for
 * their turn or running, or a client that sends but does not read. obytes
 * counts finished responses still queued behind a slower one as well as
 * those handed to the socket, so that pipelining cannot hide output from the
 * bound; the requests already running complete and add at most
 * MP_NET_INFLIGHT replies on top. */
static bool over(const mp_conn_t *c, unsigned div)
{
    return c->http->nreqs >= MP_NET_PIPELINE / div || busy(c->http) >= MP_NET_INFLIGHT ||
           c->obytes >= MP_NET_HTTP_WQ / div || mp_conn__over_budget(c);
}

bool mp_http__backlogged(const mp_conn_t *c)
{
    return (c->flags & MP_C_PAUSED) || over(c, 1);
}

void mp_http__resume(mp_conn_t *c)
{
    /* Half the bounds before reading again, so that a connection at the edge
     * does not stop and start on every response. */
    if (!(c->flags & MP_C_PAUSED) || c->ws || (c->flags & (MP_C_CLOSED | MP_C_DRAIN)) || over(c, 2))
        return;
    char *s = c->http->stash;
    size_t len = c->http->stash_len;
    c->http->stash = NULL;
    c->http->stash_len = 0;
    c->flags &= (uint16_t)~MP_C_STASHED;
    mp_conn__pause(c, false);
    if (s) {
        mp_http__feed(c, s, len);
        mp_free(s);
    }
}

void mp_http__body_resume(mp_conn_t *c)
{
    mp_http_conn_t *h = c->http;
    if ((c->flags & (MP_C_CLOSED | MP_C_DRAIN)) || c->ws || h == NULL || h->parsing)
        return;
    mp_http_req_t *s = h->sreq;
    if (s == NULL || s->bstate != MP_B_RECV || s->bpaused)
        return;
    mp_deadline__set(c, MP_T_IDLE); /* a fresh idle_timeout for the next piece */
    char *st = h->stash;
    size_t len = h->stash_len;
    h->stash = NULL;
    h->stash_len = 0;
    c->flags &= (uint16_t)~MP_C_STASHED;
    mp_conn__pause(c, false);
    if (st) {
        mp_http__feed(c, st, len); /* may pause (and stash) again */
        mp_free(st);
    }
}

static void written(mp_conn_t *c, void *arg)
{
    (void)c;
    mp_free(arg);
}

/* Writes the head of the FIFO; returns false when the connection should stop. */
static bool write_head(mp_conn_t *c)
{
    mp_http_req_t *r = c->http->head;
    c->http->head = r->next;
    if (c->http->head == NULL)
        c->http->tail = NULL;
    c->http->nreqs--;
    mp_conn__out_sub(c, r->out_len); /* mp_conn__write counts it from here */
    uv_buf_t buf = uv_buf_init(r->out, (unsigned)r->out_len);
    char *out = r->out;
    r->out = NULL;
    mp_http__access_log(r);
    bool close = r->close_after;
    mp_http__req_free(r);
    mp_conn__write(c, &buf, 1, written, out);
    if (close) {
        c->flags |= MP_C_DRAIN;
        return false;
    }
    return !(c->flags & MP_C_CLOSED);
}

void mp_http__flush(mp_conn_t *c)
{
    if (c->ws)
        return;
    while (c->http->head && c->http->head->done) {
        if (!write_head(c))
            break;
    }
    if (c->flags & MP_C_CLOSED)
        return;
    if (c->flags & MP_C_DRAIN) {
        /* Nothing after a closing response is answered. */
        mp_conn__maybe_finish(c);
        return;
    }
    if (over(c, 1))
        mp_conn__pause(c, true);
    else
        mp_http__resume(c);
    if (c->http->head == NULL && c->http->cur == NULL && !(c->flags & MP_C_CLOSED) &&
        c->tkind == MP_T_NONE)
        mp_deadline__set(c, MP_T_IDLE);
}

void mp_http__reject(mp_conn_t *c, mp_err_t err, int status)
{
    if (c->flags & (MP_C_CLOSED | MP_C_SHUT) || c->ws || c->http == NULL)
        return;
    mp_http_req_t *r = c->http->cur ? c->http->cur : mp_http__req_new(c);
    c->http->cur = NULL;
    enum http_errno e = HTTP_PARSER_ERRNO(&c->http->parser);
    if (e == HPE_OK || e == HPE_PAUSED) /* pausing a failed parser asserts */
        http_parser_pause(&c->http->parser, 1);
    mp_deadline__set(c, MP_T_NONE);
    c->flags |= MP_C_DRAIN;
    r->close_after = true;
    r->keep_alive = false;
    enqueue(c, r);
    mp_http__respond_err_status(r, status, err, NULL);
}

void mp_http__conn_release(mp_conn_t *c)
{
    if (c->http == NULL)
        return;
    mp_http_req_t *r = c->http->head, *waiting = NULL;
    mp_http_req_t *body = c->http->sreq;
    c->http->sreq = NULL;
    if (body && body->bstate != MP_B_RECV)
        body = NULL; /* not started (mp_http_body_start will see it gone) or over */
    while (r) {
        mp_http_req_t *next = r->next;
        r->next = NULL;
        if (r->done) {
            mp_http__req_free(r);
        } else {
            r->conn = NULL; /* the handler still owns it */
            if (r->streaming && r->wait_fn)
                waiting = r;
        }
        r = next;
    }
    c->http->head = c->http->tail = NULL;
    c->http->nreqs = 0;
    if (c->http->cur) {
        mp_http__req_free(c->http->cur);
        c->http->cur = NULL;
    }
    /* Last: the producer may end (free) its request from the callback, and
     * a body consumer may answer (free) its own. They are never the same
     * request: a streamed response ends the body's deliveries. */
    if (body) {
        body->bstate = MP_B_OFF;
        body->body_fn(body, MP_BODY_ABORT, NULL, 0, body->body_ud);
    }
    if (waiting) {
        mp_http_stream_fn fn = waiting->wait_fn;
        waiting->wait_fn = NULL;
        fn(waiting, true, waiting->wait_ud);
    }
}
