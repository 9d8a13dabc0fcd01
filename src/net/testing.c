/* Fake connections (no socket) and the fuzzing drivers built on them. They are
 * compiled into every build so that tests and fuzzers run the real code. */
#include "net/testing.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "net/conn.h"
#include "net/iopool.h"
#include "net/ws.h"
#include "util/alloc.h"
#include "util/log.h"

/* A write the fake's peer has not read yet. */
typedef struct mp_fake_wr {
    struct mp_fake_wr *next;
    mp_conn_wdone_fn done;
    void *arg;
    size_t len;
} mp_fake_wr_t;

typedef struct mp_fake {
    mp_conn_t c; /* first: a fake is its connection */
    char *out;
    size_t len, cap;
    bool stalled;
    mp_fake_wr_t *held, **held_tail;
} mp_fake_t;

static bool fake_hold(mp_conn_t *c, mp_conn_wdone_fn done, void *arg, size_t len);
static size_t fake_unsent(const mp_conn_t *c);
static size_t fake_capture(mp_conn_t *c, const uv_buf_t *bufs, unsigned n);

mp_conn_t *mp_net__fake_new(mp_server_t *srv)
{
    mp_fake_t *f = mp_calloc(1, sizeof(*f));
    mp_net__fake_ops = (mp_net_fake_ops_t){fake_capture, fake_hold, fake_unsent};
    f->c.flags = MP_C_FAKE;
    mp_conn__init(srv, &f->c);
    mp_deadline__set(&f->c, MP_T_IDLE);
    return &f->c;
}

static bool fake_hold(mp_conn_t *c, mp_conn_wdone_fn done, void *arg, size_t len)
{
    mp_fake_t *f = (mp_fake_t *)c;
    if (!f->stalled)
        return false;
    mp_fake_wr_t *w = mp_malloc(sizeof(*w));
    w->next = NULL;
    w->done = done;
    w->arg = arg;
    w->len = len;
    if (f->held == NULL)
        f->held_tail = &f->held;
    *f->held_tail = w;
    f->held_tail = &w->next;
    return true;
}

static size_t fake_unsent(const mp_conn_t *c)
{
    size_t n = 0;
    for (const mp_fake_wr_t *w = ((const mp_fake_t *)c)->held; w; w = w->next)
        n += w->len;
    return n;
}

void mp_net__fake_stall(mp_conn_t *c, bool stalled)
{
    ((mp_fake_t *)c)->stalled = stalled;
}

/* Completes the writes held so far (status 0, or -1 when the fake goes
 * away); those the completions cause are held in turn, as on a socket. */
static void complete_held(mp_fake_t *f, int status)
{
    mp_fake_wr_t *w = f->held;
    f->held = NULL;
    while (w != NULL) {
        mp_fake_wr_t *next = w->next;
        mp_conn__wrote(&f->c, w->done, w->arg, w->len, status);
        mp_free(w);
        w = next;
    }
}

void mp_net__fake_drain(mp_conn_t *c)
{
    complete_held((mp_fake_t *)c, 0);
}

static size_t fake_capture(mp_conn_t *c, const uv_buf_t *bufs, unsigned n)
{
    mp_fake_t *f = (mp_fake_t *)c;
    size_t total = 0;
    for (unsigned i = 0; i < n; i++) {
        if (f->len + bufs[i].len + 1 > f->cap) {
            f->cap = (f->len + bufs[i].len + 1) * 2;
            f->out = mp_realloc(f->out, f->cap);
        }
        memcpy(f->out + f->len, bufs[i].base, bufs[i].len);
        f->len += bufs[i].len;
        f->out[f->len] = '\0';
        total += bufs[i].len;
    }
    return total;
}

void mp_net__fake_feed(mp_conn_t *c, const void *data, size_t len)
{
    if ((c->flags & MP_C_CLOSED) || len == 0)
        return;
    if (c->tls) { /* ciphertext, as a socket's read would hand it over */
        mp_tls__received(c, data, len);
        return;
    }
    if (c->flags & MP_C_PAUSED) { /* a socket would not be read now: keep it */
        if (c->http == NULL)      /* upgraded: nothing reads this, as on a socket */
            return;
        c->http->stash = mp_realloc(c->http->stash, c->http->stash_len + len);
        memcpy(c->http->stash + c->http->stash_len, data, len);
        c->http->stash_len += len;
        c->flags |= MP_C_STASHED;
        return;
    }
    if (c->ws)
        mp_ws__feed(c, data, len);
    else if (!(c->flags & (MP_C_SHUT | MP_C_DRAIN)))
        mp_http__feed(c, data, len);
}

const char *mp_net__fake_output(mp_conn_t *c, size_t *len)
{
    mp_fake_t *f = (mp_fake_t *)c;
    if (len)
        *len = f->len;
    return f->out ? f->out : "";
}

void mp_net__fake_clear(mp_conn_t *c)
{
    mp_fake_t *f = (mp_fake_t *)c;
    f->len = 0;
    if (f->out)
        f->out[0] = '\0';
}

bool mp_net__fake_closing(const mp_conn_t *c)
{
    return (c->flags & (MP_C_SHUT | MP_C_CLOSED)) != 0;
}

size_t mp_net__out_total(const mp_server_t *srv)
{
    return srv->out_total;
}

mp_sid_t mp_net__fake_sid(const mp_conn_t *c)
{
    return c->ws ? c->ws->sid : 0;
}

void mp_net__fake_expire(mp_conn_t *c)
{
    mp_deadline__expire_now(c);
}

void mp_net__fake_free(mp_conn_t *c)
{
    mp_fake_t *f = (mp_fake_t *)c;
    mp_conn__close(c);
    while (f->held)
        complete_held(f, -1);
    mp_conn__release(c);
    mp_free(f->out);
    mp_free(f);
}

/* ---- fuzzing drivers ---- */

static mp_http_req_t *deferred[8];
static size_t ndeferred;
static int sessions_open;

static void h_item(mp_http_req_t *req)
{
    mp_http_respond(req, 200, json_pack("{s:s}", "id", mp_http_req_param(req, "id")));
}

static void h_create(mp_http_req_t *req)
{
    mp_http_respond(req, 201, json_deep_copy(mp_http_req_json(req)));
}

static void h_query(mp_http_req_t *req)
{
    const char *a = mp_http_req_query(req, "a");
    mp_http_add_header(req, "X-Peer", mp_http_req_peer(req));
    mp_http_respond(req, 200, json_pack("{s:s?}", "a", a));
}

static void h_slow(mp_http_req_t *req)
{
    if (ndeferred < sizeof(deferred) / sizeof(deferred[0]))
        deferred[ndeferred++] = req;
    else
        mp_http_respond_retry(req, MP_ERR_RATE_LIMITED, NULL, 3);
}

/* A streamed upload: refused at the head when over 64 bytes, else consumed
 * with a pause after every other piece (resumed at once from outside the
 * parser only when the next input comes: see f_up_resume). */
static mp_http_req_t *uploading;
static unsigned up_pieces;

static void f_up_body(mp_http_req_t *req, mp_body_ev_t ev, const char *data, size_t len, void *ud)
{
    (void)data, (void)len, (void)ud;
    if (ev == MP_BODY_DATA) {
        if (++up_pieces % 2 == 0)
            mp_http_body_pause(req, true);
        return;
    }
    uploading = NULL;
    mp_http_respond(req, ev == MP_BODY_END ? 201 : 500, NULL);
}

static void h_upload(mp_http_req_t *req)
{
    if (mp_http_req_content_length(req) > 64) {
        mp_http_respond_error(req, MP_ERR_TOO_LARGE, NULL);
        return;
    }
    uploading = req;
    mp_http_body_start(req, f_up_body, NULL);
}

static void f_up_resume(void)
{
    if (uploading)
        mp_http_body_pause(uploading, false);
}

static const mp_route_t fuzz_routes[] = {
    {"POST", "/v1/up", MP_ROUTE_BODY_STREAM, h_upload},
    {"GET", "/v1/items/{id}", MP_ROUTE_PUBLIC, h_item},
    {"POST", "/v1/items", MP_ROUTE_AUTH | MP_ROUTE_JSON, h_create},
    {"DELETE", "/v1/items/{id}", MP_ROUTE_AUTH, h_item},
    {"GET", "/v1/q", MP_ROUTE_PUBLIC, h_query},
    {"GET", "/v1/slow", MP_ROUTE_PUBLIC, h_slow},
    {0},
};

static mp_err_t f_auth(void *ctx, const char *token, mp_principal_t *who)
{
    (void)ctx;
    if (strcmp(token, "good") != 0)
        return MP_ERR_UNAUTHORIZED;
    who->user_id = 1;
    who->device_id = 2;
    return MP_OK;
}

static mp_server_t *fuzz_srv;

static void f_open(void *ctx, mp_sid_t sid, const mp_principal_t *who)
{
    (void)ctx;
    (void)sid;
    (void)who;
    sessions_open++;
}

static void f_close(void *ctx, mp_sid_t sid, const mp_principal_t *who)
{
    (void)ctx;
    (void)sid;
    (void)who;
    sessions_open--;
}

static void f_frame(void *ctx, mp_sid_t sid, const mp_principal_t *who, int64_t id,
                    const char *type, json_t *frame)
{
    (void)ctx;
    (void)who;
    if (strcmp(type, "close") == 0) {
        mp_gw_close(fuzz_srv, sid, 4000, "bye");
    } else if (strcmp(type, "send") == 0) {
        mp_frame_t *f = mp_frame_new_json(frame);
        mp_gw_send(fuzz_srv, sid, f);
        mp_gw_send(fuzz_srv, sid, f);
        mp_frame_unref(f);
    } else if (strcmp(type, "ping") == 0) {
        mp_gw_reply(fuzz_srv, sid, id, json_pack("{s:b}", "pong", 1));
    } else {
        mp_gw_error(fuzz_srv, sid, id, MP_ERR_UNKNOWN_TYPE, NULL, json_pack("{s:i}", "x", 1));
    }
}

static int f_ready(void *ctx)
{
    (void)ctx;
    return 1;
}

static mp_server_t *fuzz_server(void)
{
    static uv_loop_t loop;
    static mp_config_t cfg;
    static const mp_server_hooks_t hooks = {.authenticate = f_auth,
                                            .session_open = f_open,
                                            .session_close = f_close,
                                            .frame = f_frame,
                                            .ready = f_ready};
    if (fuzz_srv)
        return fuzz_srv;
    mp_log_set_level(MP_LOG_OFF);
    uv_loop_init(&loop);
    snprintf(cfg.listen_host, sizeof(cfg.listen_host), "127.0.0.1");
    cfg.max_body = 4096;
    cfg.max_header = 2048;
    cfg.header_timeout_ms = 1000;
    cfg.idle_timeout_ms = 1000;
    snprintf(cfg.cors_origins, sizeof(cfg.cors_origins), "http://ok.example, http://b.example");
    snprintf(cfg.ws_origins, sizeof(cfg.ws_origins), "http://ok.example");
    cfg.ws_max_message = 4096;
    cfg.ws_ping_interval_ms = 1000;
    cfg.ws_auth_timeout_ms = 1000;
    cfg.ws_max_queue = 8192;
    fuzz_srv = mp_server_new(&loop, &cfg, fuzz_routes, &hooks, NULL);
    /* Allocate the session map now so that every run starts from the same
     * allocation count (see run()). */
    mp_sidmap_reserve(&fuzz_srv->sids, 1);
    mp_map_reserve(&fuzz_srv->ws_per_user, 1);
    mp_map_reserve(&fuzz_srv->ws_per_device, 1);
    return fuzz_srv;
}

static void answer_deferred(void)
{
    for (size_t i = 0; i < ndeferred; i++)
        mp_http_respond(deferred[i], 200, json_pack("{s:b}", "late", 1));
    ndeferred = 0;
}

/* Bytes in use, for the leak check below; builds without the count (Release)
 * rely on LeakSanitizer alone. */
static size_t alloc_used(void)
{
#ifdef MP_ALLOC_STATS
    return mp_alloc_used();
#else
    return 0;
#endif
}

/* data[0] is a control byte (where to split the input, whether to fire the
 * deadline and answer held requests early); the rest is the input. */
static void run(mp_conn_t *c, size_t base, const uint8_t *data, size_t size, char **out,
                size_t *outlen)
{
    uint8_t ctl = size ? data[0] : 0;
    if (size) {
        data++;
        size--;
    }
    size_t split = (size_t)(ctl & 0x3f) * size / 63;
    mp_net__fake_feed(c, data, split);
    if (ctl & 0x80)
        mp_net__fake_expire(c);
    f_up_resume();
    mp_net__fake_feed(c, data + split, size - split);
    f_up_resume();
    if (ctl & 0x40)
        answer_deferred();
    if (ctl & 0x80)
        mp_net__fake_expire(c);
    if (out != NULL) { /* plain malloc: outside the count checked below */
        const char *o = mp_net__fake_output(c, outlen);
        *out = malloc(*outlen + 1);
        memcpy(*out, o, *outlen + 1);
    }
    mp_net__fake_free(c);
    answer_deferred();
    if (sessions_open != 0)
        abort(); /* session_close must follow every session_open exactly once */
    if (alloc_used() != base)
        abort(); /* everything a connection allocated is released with it */
}

int mp_net__fuzz_http(const uint8_t *data, size_t size)
{
    mp_server_t *srv = fuzz_server();
    size_t base = alloc_used();
    run(mp_net__fake_new(srv), base, data, size, NULL, NULL);
    return 0;
}

/* One WebSocket run of the input; its output in *out (malloc'd). */
static void ws_run(mp_server_t *srv, const uint8_t *data, size_t size, char **out, size_t *len)
{
    static const char up[] = "GET /v1/ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    size_t base = alloc_used();
    mp_conn_t *c = mp_net__fake_new(srv);
    mp_net__fake_feed(c, up, sizeof(up) - 1);
    if (size > 1 && (data[1] & 1)) /* decided by the first input byte */
        mp_net__fake_feed(c, "Authorization: Bearer good\r\n", 28);
    mp_net__fake_feed(c, "\r\n", 2);
    run(c, base, data, size, out, len);
}

/* Twice: whole text frames read directly, then every frame through wslay
 * (ws_in.c); the two must answer byte for byte alike. */
int mp_net__fuzz_ws(const uint8_t *data, size_t size)
{
    mp_server_t *srv = fuzz_server();
    char *a, *b;
    size_t alen, blen;
    ws_run(srv, data, size, &a, &alen);
    srv->ws_wslay_only = true;
    ws_run(srv, data, size, &b, &blen);
    srv->ws_wslay_only = false;
    /* The upgrade's answer carries a request id of its own each time: the
     * WebSocket bytes after it are what must agree. */
    const char *wa = strstr(a, "\r\n\r\n"), *wb = strstr(b, "\r\n\r\n");
    if ((wa == NULL) != (wb == NULL))
        abort();
    if (wa != NULL && (alen - (size_t)(wa - a) != blen - (size_t)(wb - b) ||
                       memcmp(wa, wb, alen - (size_t)(wa - a)) != 0))
        abort();
    free(a);
    free(b);
    return 0;
}

/* A server context with a fresh self-signed P-256 certificate, made in
 * memory (no file to ship or find). */
static SSL_CTX *self_signed_ctx(void)
{
    char err[256];
    SSL_CTX *ctx = mp_tls__ctx_new(err, sizeof err);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    if (ctx == NULL || key == NULL || x == NULL)
        abort();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"fuzz", -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (X509_sign(x, key, EVP_sha256()) == 0 || SSL_CTX_use_certificate(ctx, x) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, key) != 1)
        abort();
    X509_free(x);
    EVP_PKEY_free(key);
    return ctx;
}

int mp_net__fuzz_tls(const uint8_t *data, size_t size)
{
    mp_server_t *srv = fuzz_server();
    if (srv->tls_ctx == NULL) {
        srv->tls_ctx = self_signed_ctx();
        /* The plaintext buffer too, so that every run starts from the same
         * allocation count (run()). */
        srv->tls_plain_cap = 4 * MP_NET_RBUF;
        srv->tls_plain = mp_malloc(srv->tls_plain_cap);
    }
    size_t base = alloc_used();
    mp_conn_t *c = mp_net__fake_new(srv);
    if (!mp_tls__conn_new(c, srv->tls_ctx))
        abort();
    run(c, base, data, size, NULL, NULL);
    return 0;
}

void mp_net__io_helpers_only(mp_server_t *srv, bool on)
{
    assert(srv->io != NULL);
    mp_iopool_helpers_only(srv->io, on);
}
