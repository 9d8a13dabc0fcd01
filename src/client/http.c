/* HTTP/1.1 client, sans-I/O: request serialisation and an incremental
 * response parser (Content-Length, bodiless and close-delimited bodies). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/client.h"

/* Limits that protect the tests from a runaway server, not protocol rules. */
#define MPC_MAX_HEAD (64 * 1024)
#define MPC_MAX_BODY (64u * 1024 * 1024)

const char *mpc_strerror(int rc)
{
    switch (rc) {
    case MPC_OK:
        return "ok";
    case MPC_ERR_IO:
        return "i/o error";
    case MPC_ERR_TIMEOUT:
        return "timeout";
    case MPC_ERR_CLOSED:
        return "connection closed";
    case MPC_ERR_PROTO:
        return "protocol error";
    default:
        return "unknown error";
    }
}

/* ---- growable byte buffer ---- */

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static void buf_add(buf_t *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            abort();
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(buf_t *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

/* ---- request ---- */

char *mpc_http_build(const mpc_http_req_t *req, size_t *len)
{
    buf_t b = {0};
    char line[64];
    bool has_body = req->body != NULL || req->body_len > 0;

    buf_str(&b, req->method);
    buf_str(&b, " ");
    buf_str(&b, req->path);
    buf_str(&b, " HTTP/1.1\r\nHost: ");
    buf_str(&b, req->host ? req->host : "localhost");
    buf_str(&b, "\r\n");
    if (req->token) {
        buf_str(&b, "Authorization: Bearer ");
        buf_str(&b, req->token);
        buf_str(&b, "\r\n");
    }
    if (req->origin) {
        buf_str(&b, "Origin: ");
        buf_str(&b, req->origin);
        buf_str(&b, "\r\n");
    }
    if (has_body) {
        buf_str(&b, "Content-Type: ");
        buf_str(&b, req->content_type ? req->content_type : "application/json");
        snprintf(line, sizeof line, "\r\nContent-Length: %zu\r\n", req->body_len);
        buf_str(&b, line);
    }
    if (req->close)
        buf_str(&b, "Connection: close\r\n");
    if (req->extra_headers)
        buf_str(&b, req->extra_headers);
    buf_str(&b, "\r\n");
    if (has_body && req->body)
        buf_add(&b, req->body, req->body_len);
    *len = b.len;
    return b.p;
}

/* ---- response ---- */

const char *mpc_response_header(const mpc_response_t *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

const char *mpc_response_error_code(const mpc_response_t *r)
{
    json_t *err = r->json ? json_object_get(r->json, "error") : NULL;
    return json_string_value(json_object_get(err, "code"));
}

void mpc_response_free(mpc_response_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->reason);
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

/* ---- parser ---- */

enum { ST_HEAD, ST_BODY, ST_UNTIL_EOF, ST_DONE };

struct mpc_http_parser {
    bool head_only;
    int state;
    buf_t head; /* status line + headers, until the blank line */
    buf_t body;
    size_t want; /* Content-Length still expected */
    mpc_response_t resp;
};

mpc_http_parser_t *mpc_http_parser_new(bool head_only)
{
    mpc_http_parser_t *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->head_only = head_only;
    return p;
}

static void parser_reset(mpc_http_parser_t *p)
{
    free(p->head.p);
    free(p->body.p);
    mpc_response_free(&p->resp);
    bool head_only = p->head_only;
    memset(p, 0, sizeof *p);
    p->head_only = head_only;
}

void mpc_http_parser_free(mpc_http_parser_t *p)
{
    if (!p)
        return;
    parser_reset(p);
    free(p);
}

static char *dup_range(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        abort();
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static char *trim(char *s, size_t *n)
{
    while (*n && (*s == ' ' || *s == '\t')) {
        s++;
        (*n)--;
    }
    while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
    return s;
}

/* Parses "HTTP/1.x NNN reason" and the header lines of p->head. */
static int parse_head(mpc_http_parser_t *p)
{
    char *s = p->head.p;
    char *eol = strstr(s, "\r\n");
    mpc_response_t *r = &p->resp;

    if (!eol || strncmp(s, "HTTP/1.", 7) != 0 || eol - s < 12 || s[8] != ' ')
        return -1;
    if (!isdigit((unsigned char)s[9]) || !isdigit((unsigned char)s[10]) ||
        !isdigit((unsigned char)s[11]))
        return -1;
    r->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    r->reason = dup_range(s + 12 + (s[12] == ' '), (size_t)(eol - s) - 12 - (s[12] == ' '));
    r->keep_alive = s[7] == '1'; /* HTTP/1.1 defaults to keep-alive, 1.0 to close */

    for (char *line = eol + 2; strncmp(line, "\r\n", 2) != 0; line = eol + 2) {
        eol = strstr(line, "\r\n");
        char *colon = memchr(line, ':', eol ? (size_t)(eol - line) : 0);
        if (!eol || !colon || colon == line)
            return -1;
        size_t vn = (size_t)(eol - colon - 1);
        char *v = trim(colon + 1, &vn);
        r->headers = realloc(r->headers, (r->n_headers + 1) * sizeof *r->headers);
        if (!r->headers)
            abort();
        r->headers[r->n_headers].name = dup_range(line, (size_t)(colon - line));
        r->headers[r->n_headers].value = dup_range(v, vn);
        r->n_headers++;
    }
    return 0;
}

/* Decides how the body is delimited once the head is known. */
static int start_body(mpc_http_parser_t *p)
{
    mpc_response_t *r = &p->resp;
    const char *conn = mpc_response_header(r, "Connection");
    const char *cl = mpc_response_header(r, "Content-Length");
    const char *te = mpc_response_header(r, "Transfer-Encoding");

    if (conn && strcasecmp(conn, "close") == 0)
        r->keep_alive = false;
    else if (conn && strcasecmp(conn, "keep-alive") == 0)
        r->keep_alive = true;
    if (te && strcasecmp(te, "identity") != 0)
        return -1; /* chunked is not needed by our server */
    if (p->head_only || r->status / 100 == 1 || r->status == 204 || r->status == 304) {
        p->state = ST_DONE;
        return 0;
    }
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (end == cl || *end || n > MPC_MAX_BODY)
            return -1;
        p->want = (size_t)n;
        p->state = n ? ST_BODY : ST_DONE;
        return 0;
    }
    r->keep_alive = false;
    p->state = ST_UNTIL_EOF;
    return 0;
}

/* Feeds head bytes one line-chunk at a time so that we never read past the
 * blank line (what follows belongs to the body or the next response). */
static int feed_head(mpc_http_parser_t *p, const char *data, size_t len, size_t *used)
{
    size_t i = 0;
    while (i < len) {
        buf_add(&p->head, data + i, 1);
        i++;
        if (p->head.len >= 4 && memcmp(p->head.p + p->head.len - 4, "\r\n\r\n", 4) == 0) {
            *used += i;
            if (parse_head(p) < 0 || start_body(p) < 0)
                return MPC_PARSE_ERROR;
            return MPC_PARSE_DONE;
        }
        if (p->head.len > MPC_MAX_HEAD)
            return MPC_PARSE_ERROR;
    }
    *used += i;
    return MPC_PARSE_MORE;
}

static void finish(mpc_http_parser_t *p)
{
    mpc_response_t *r = &p->resp;
    json_error_t jerr;

    p->state = ST_DONE;
    r->body = p->body.p ? p->body.p : dup_range("", 0);
    r->body_len = p->body.len;
    p->body.p = NULL;
    p->body.len = p->body.cap = 0;
    r->json = r->body_len ? json_loadb(r->body, r->body_len, JSON_DECODE_ANY, &jerr) : NULL;
}

int mpc_http_parser_feed(mpc_http_parser_t *p, const char *data, size_t len, size_t *used)
{
    *used = 0;
    if (p->state == ST_DONE)
        return MPC_PARSE_DONE;
    if (p->state == ST_HEAD) {
        int rc = feed_head(p, data, len, used);
        if (rc != MPC_PARSE_DONE)
            return rc;
        data += *used;
        len -= *used;
    }
    if (p->state == ST_BODY) {
        size_t n = len < p->want ? len : p->want;
        buf_add(&p->body, data, n);
        *used += n;
        p->want -= n;
        if (p->want == 0)
            p->state = ST_DONE;
    } else if (p->state == ST_UNTIL_EOF) {
        if (p->body.len + len > MPC_MAX_BODY)
            return MPC_PARSE_ERROR;
        buf_add(&p->body, data, len);
        *used += len;
    }
    if (p->state == ST_DONE) {
        finish(p);
        return MPC_PARSE_DONE;
    }
    return MPC_PARSE_MORE;
}

int mpc_http_parser_eof(mpc_http_parser_t *p)
{
    if (p->state == ST_UNTIL_EOF) {
        finish(p);
        return MPC_PARSE_DONE;
    }
    return p->state == ST_DONE ? MPC_PARSE_DONE : MPC_PARSE_ERROR;
}

void mpc_http_parser_take(mpc_http_parser_t *p, mpc_response_t *out)
{
    *out = p->resp;
    if (!out->body)
        out->body = dup_range("", 0);
    memset(&p->resp, 0, sizeof p->resp);
    parser_reset(p);
}
