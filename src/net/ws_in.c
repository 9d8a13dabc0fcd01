/* The incoming side of a WebSocket: frame headers are validated by a small
 * tracker (exact close codes, oversize frames refused before any payload is
 * buffered); whole text frames are unmasked here, anything else (control
 * frames, fragments, frames split between reads) by wslay; text messages
 * become JSON frames. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "net/ws.h"
#include "proto/validate.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/id.h"

/* ---- header tracker ---- */

/* Checks what the first two bytes tell. Returns a close code or 0. */
static int check_start(const mp_ws_t *ws, uint8_t b0, uint8_t b1)
{
    int op = b0 & 0x0f;
    bool fin = (b0 & 0x80) != 0;
    if ((b0 & 0x70) || !(b1 & 0x80)) /* RSV bits without extension; unmasked */
        return 1002;
    if (op >= 8) /* control: known, unfragmented, <= 125 bytes */
        return (op > MP_WS_PONG || !fin || (b1 & 0x7f) > 125) ? 1002 : 0;
    if (op > MP_WS_BIN || (op == MP_WS_CONT) != ws->t_in_msg)
        return 1002;
    return op == MP_WS_BIN ? 1003 : 0;
}

static size_t header_len(const uint8_t *th)
{
    uint8_t l7 = th[1] & 0x7f;
    return 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + 4;
}

/* The payload length a complete header declares. */
static uint64_t payload_len(const uint8_t *th)
{
    uint8_t l7 = th[1] & 0x7f;
    if (l7 < 126)
        return l7;
    uint64_t len = 0;
    for (int i = 0; i < (l7 == 126 ? 2 : 8); i++)
        len = len << 8 | th[2 + i];
    return len;
}

/* Checks the declared length of a complete header. Returns a close code or 0. */
static int check_length(mp_ws_t *ws, size_t max_msg)
{
    uint8_t l7 = ws->th[1] & 0x7f;
    uint64_t len = payload_len(ws->th);
    if ((l7 == 126 && len < 126) || (l7 == 127 && len < 65536))
        return 1002; /* not the shortest encoding */
    int op = ws->th[0] & 0x0f;
    if (op < 8) {
        if (op != MP_WS_CONT)
            ws->t_msg_len = 0;
        if (len > max_msg || ws->t_msg_len + len > max_msg)
            return 1009;
        MP_ASSERT(ws->t_msg_len + len <= UINT32_MAX);
        ws->t_msg_len += (uint32_t)len;
        ws->t_in_msg = !(ws->th[0] & 0x80);
    }
    MP_ASSERT(len <= UINT32_MAX);
    ws->t_left = (uint32_t)len;
    return 0;
}

size_t mp_ws__track(mp_ws_t *ws, const uint8_t *d, size_t n, size_t max_msg, int *code)
{
    size_t i = 0, start = 0;
    *code = 0;
    while (i < n) {
        if (ws->t_left > 0) {
            size_t k = ws->t_left < n - i ? ws->t_left : n - i;
            i += k;
            ws->t_left -= (uint32_t)k;
            continue;
        }
        if (ws->th_len == 0)
            start = i;
        ws->th[ws->th_len++] = d[i++];
        if (ws->th_len == 2 && (*code = check_start(ws, ws->th[0], ws->th[1])) != 0)
            return start;
        if (ws->th_len < 2 || ws->th_len < header_len(ws->th))
            continue;
        ws->th_len = 0;
        if ((*code = check_length(ws, max_msg)) != 0)
            return start;
    }
    return n;
}

/* ---- messages ---- */

static void send_ok_auth(mp_conn_t *c, int64_t id)
{
    char uid[MP_ID_STRLEN], did[MP_ID_STRLEN];
    mp_id_format(c->ws->who.user_id, uid);
    mp_id_format(c->ws->who.device_id, did);
    mp_ws__send_json(c, json_pack("{s:I,s:b,s:s,s:s}", "id", (json_int_t)id, "ok", 1, "user_id",
                                  uid, "device_id", did));
}

static void on_auth(mp_conn_t *c, json_t *idv, json_t *o)
{
    mp_ws_t *ws = c->ws;
    mp_server_t *srv = c->srv;
    json_t *tok = json_object_get(o, "token");
    if (ws->authed) {
        mp_ws__error(c, idv, MP_ERR_BAD_REQUEST, "already authenticated", NULL);
        return;
    }
    if (!json_is_string(tok)) {
        mp_ws__error(c, idv, MP_ERR_BAD_REQUEST, "field 'token' must be a string", NULL);
        return;
    }
    mp_principal_t who = {0};
    mp_err_t err = MP_ERR_UNAUTHORIZED;
    if (srv->hooks.authenticate)
        err = srv->hooks.authenticate(srv->ctx, json_string_value(tok), &who);
    if (err != MP_OK) {
        mp_ws__error(c, idv, err == MP_ERR_ACCOUNT_DISABLED ? err : MP_ERR_UNAUTHORIZED, NULL,
                     NULL);
        return;
    }
    const char *msg = mp_caps__ws_refusal(srv, &who);
    if (msg != NULL) {
        mp_ws__error(c, idv, MP_ERR_RATE_LIMITED, msg, NULL);
        mp_ws__close(c, 1008, msg);
        return;
    }
    ws->who = who;
    ws->authed = true;
    mp_caps__ws_open(srv, &who);
    send_ok_auth(c, json_integer_value(idv));
    mp_deadline__set(c, MP_T_WS_PING);
    if (srv->hooks.session_open)
        srv->hooks.session_open(srv->ctx, ws->sid, &ws->who);
}

static void on_request(mp_conn_t *c, json_t *o)
{
    mp_ws_t *ws = c->ws;
    mp_server_t *srv = c->srv;
    json_t *idv = json_object_get(o, "id");
    if (!json_is_integer(idv)) {
        mp_ws__error(c, NULL, MP_ERR_BAD_REQUEST, "field 'id' must be an integer", NULL);
        return;
    }
    json_t *tv = json_object_get(o, "type");
    if (!json_is_string(tv)) {
        mp_ws__error(c, idv, MP_ERR_BAD_REQUEST, "field 'type' must be a string", NULL);
        return;
    }
    const char *type = json_string_value(tv);
    if (strcmp(type, "auth") == 0)
        on_auth(c, idv, o);
    else if (!ws->authed)
        mp_ws__error(c, idv, MP_ERR_UNAUTHORIZED, "authenticate first (auth frame)", NULL);
    else if (srv->hooks.frame)
        srv->hooks.frame(srv->ctx, ws->sid, &ws->who, json_integer_value(idv), type, o);
    else
        mp_ws__error(c, idv, MP_ERR_UNKNOWN_TYPE, NULL, NULL);
}

static void on_text(mp_conn_t *c, const char *m, size_t n)
{
    if (!mp_utf8_valid(m, n)) {
        mp_ws__fail(c, 1007, "invalid UTF-8");
        return;
    }
    mp_ws_t *ws = c->ws;
    mp_server_t *srv = c->srv;
    if (ws->authed && srv->hooks.raw_frame != NULL &&
        srv->hooks.raw_frame(srv->ctx, ws->sid, &ws->who, m, n))
        return;
    json_error_t jerr;
    json_t *o = json_loadb(m, n, JSON_REJECT_DUPLICATES, &jerr);
    if (o == NULL || !json_is_object(o)) {
        char msg[200];
        snprintf(msg, sizeof(msg), o ? "the frame must be a JSON object" : "invalid JSON: %s",
                 jerr.text);
        mp_ws__error(c, NULL, MP_ERR_BAD_JSON, msg, NULL);
    } else {
        on_request(c, o);
    }
    if (o)
        json_decref(o);
}

static bool valid_close_code(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
           (code >= 3000 && code <= 4999);
}

static void on_close_frame(mp_conn_t *c, const uint8_t *p, size_t n)
{
    mp_ws_t *ws = c->ws;
    unsigned code = n >= 2 ? (unsigned)(p[0] << 8 | p[1]) : 0;
    if (ws->close_sent) { /* the peer answered our close: done */
        mp_conn__close(c);
        return;
    }
    if (n == 1 || (n >= 2 && !valid_close_code(code))) {
        mp_ws__fail(c, 1002, "bad close frame");
        return;
    }
    if (n > 2 && !mp_utf8_valid((const char *)p + 2, n - 2)) {
        mp_ws__fail(c, 1007, "invalid UTF-8");
        return;
    }
    mp_ws__fail(c, n >= 2 ? (int)code : 1000, NULL); /* echo, then close */
}

static void on_control(mp_conn_t *c, uint8_t op, const uint8_t *p, size_t n)
{
    if (op == MP_WS_PING)
        mp_ws__queue(c, MP_WS_PONG, mp_frame__new_raw(p, n));
    else if (op == MP_WS_PONG)
        c->ws->missed = 0;
    else
        on_close_frame(c, p, n);
}

/* ---- wslay bridge ---- */

static ssize_t recv_cb(uint8_t *buf, size_t len, int flags, void *user)
{
    (void)flags;
    mp_ws_rx_t *rx = ((mp_ws_t *)user)->rx;
    size_t n = len < rx->in_len ? len : rx->in_len;
    if (n == 0)
        return 0;
    memcpy(buf, rx->in, n);
    rx->in += n;
    rx->in_len -= n;
    return (ssize_t)n;
}

static ssize_t send_cb(const uint8_t *data, size_t len, int flags, void *user)
{
    (void)data;
    (void)flags;
    (void)len;
    (void)user;
    return -1; /* we never send through wslay: see ws_out.c */
}

static int genmask_cb(uint8_t *buf, size_t len, void *user)
{
    (void)buf;
    (void)len;
    (void)user;
    return -1; /* servers do not mask */
}

static void frame_start(mp_ws_t *ws, const struct wslay_frame_iocb *io)
{
    mp_ws_rx_t *rx = ws->rx;
    ws->f_started = true;
    ws->f_op = io->opcode;
    rx->f_got = 0;
    if (io->opcode >= 8) {
        rx->ctl = mp_realloc(rx->ctl, io->payload_length + 1);
        rx->ctl_len = 0;
    } else {
        /* The tracker has bounded payload_length by ws_max_message. */
        rx->msg = mp_realloc(rx->msg, rx->msg_len + io->payload_length + 1);
    }
}

static void on_chunk(mp_conn_t *c, const struct wslay_frame_iocb *io)
{
    mp_ws_t *ws = c->ws;
    mp_ws_rx_t *rx = ws->rx;
    if (!ws->f_started)
        frame_start(ws, io);
    rx->f_got += io->data_length;
    if (io->data_length && ws->f_op >= 8) {
        memcpy(rx->ctl + rx->ctl_len, io->data, io->data_length);
        rx->ctl_len += io->data_length;
    } else if (io->data_length) {
        memcpy(rx->msg + rx->msg_len, io->data, io->data_length);
        rx->msg_len += io->data_length;
    }
    if (rx->f_got < io->payload_length)
        return;
    ws->f_started = false;
    if (ws->f_op >= 8) {
        on_control(c, ws->f_op, rx->ctl, rx->ctl_len);
    } else if (io->fin) {
        char *m = rx->msg;
        size_t n = rx->msg_len;
        rx->msg = NULL; /* an idle session holds no message buffer */
        rx->msg_len = 0;
        if (!ws->close_sent)
            on_text(c, m, n);
        mp_free(m);
    }
}

/* ---- whole text frames, without wslay ---- */

/* Texts up to this size are unmasked on the stack. */
#define DIRECT_STACK 1024

/* Copies n payload bytes from p to out, unmasked with key (RFC 6455 5.3). */
static void unmask(char *out, const uint8_t *p, size_t n, const uint8_t key[4])
{
    uint32_t k4;
    memcpy(&k4, key, 4);
    uint64_t k8 = (uint64_t)k4 << 32 | k4; /* byte i of k8 is key[i % 4] either way */
    size_t i = 0;
    for (; n - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= k8;
        memcpy(out + i, &w, 8);
    }
    for (; i < n; i++)
        out[i] = (char)(p[i] ^ key[i & 3]);
}

/* Takes the whole, unfragmented text frames at the start of d[0..n) and
 * hands each to on_text; returns the bytes taken. Only called at a frame
 * boundary with no fragmented message pending, on bytes the tracker has
 * already validated (masked, no RSV bits, shortest length, within
 * ws_max_message): what is left (a control frame, a fragment, a frame cut
 * by the end of the read) goes to wslay as before. A request frame is
 * nearly always such a frame, and wslay would allocate its 4 KiB context
 * for each read and copy the payload twice. */
static size_t run_direct(mp_conn_t *c, const uint8_t *d, size_t n)
{
    mp_ws_t *ws = c->ws;
    size_t i = 0;
    while (n - i >= 6 && d[i] == (0x80 | MP_WS_TEXT) && !(c->flags & MP_C_CLOSED) && !ws->discard) {
        const uint8_t *h = d + i;
        size_t hl = header_len(h);
        if (n - i < hl)
            break;
        uint64_t len = payload_len(h);
        if (len > n - i - hl)
            break;
        char stack[DIRECT_STACK];
        char *m = len <= sizeof stack ? stack : mp_malloc((size_t)len);
        unmask(m, h + hl, (size_t)len, h + hl - 4);
        i += hl + (size_t)len;
        if (!ws->close_sent)
            on_text(c, m, (size_t)len);
        if (m != stack)
            mp_free(m);
    }
    return i;
}

static void run_wslay(mp_conn_t *c, const uint8_t *d, size_t n)
{
    mp_ws_t *ws = c->ws;
    static const struct wslay_frame_callbacks cbs = {send_cb, recv_cb, genmask_cb};
    /* The receive state exists only inside a frame or a fragmented message
     * (mp_ws__feed frees it at every other boundary): without it, whole
     * text frames skip wslay. */
    MP_ASSERT(ws->rx != NULL || !ws->f_started);
    if (ws->rx == NULL && !c->srv->ws_wslay_only) {
        size_t k = run_direct(c, d, n);
        d += k;
        n -= k;
        if (n == 0 || (c->flags & MP_C_CLOSED) || ws->discard)
            return;
    }
    if (ws->rx == NULL)
        ws->rx = mp_calloc(1, sizeof(*ws->rx));
    mp_ws_rx_t *rx = ws->rx;
    if (rx->fctx == NULL && wslay_frame_context_init(&rx->fctx, &cbs, ws) != 0) {
        mp_conn__close(c);
        return;
    }
    rx->in = d;
    rx->in_len = n;
    for (;;) {
        struct wslay_frame_iocb io;
        memset(&io, 0, sizeof(io));
        ssize_t r = wslay_frame_recv(rx->fctx, &io);
        if (r == WSLAY_ERR_WANT_READ)
            break;
        if (r < 0) {
            mp_ws__fail(c, 1002, "protocol error");
            break;
        }
        on_chunk(c, &io);
        if ((c->flags & MP_C_CLOSED) || ws->discard)
            break;
    }
    rx->in = NULL;
    rx->in_len = 0;
}

static const char *reason_of(int code)
{
    switch (code) {
    case 1003:
        return "binary frames are not supported";
    case 1009:
        return "message too big";
    default:
        return "protocol error";
    }
}

void mp_ws__feed(mp_conn_t *c, const uint8_t *d, size_t n)
{
    mp_ws_t *ws = c->ws;
    if (ws->discard || (c->flags & MP_C_CLOSED))
        return;
    int code;
    size_t ok = mp_ws__track(ws, d, n, c->srv->cfg->ws_max_message, &code);
    if (ok > 0)
        run_wslay(c, d, ok);
    if ((c->flags & MP_C_CLOSED) || ws->discard)
        return;
    if (code) {
        mp_ws__fail(c, code, reason_of(code));
        return;
    }
    /* At a frame boundary wslay holds nothing: give its 4 KiB buffer back,
     * and the whole receive state unless a fragmented message is pending. */
    mp_ws_rx_t *rx = ws->rx;
    if (ws->th_len == 0 && ws->t_left == 0 && !ws->f_started && rx) {
        if (rx->msg == NULL) {
            mp_ws__rx_free(ws);
        } else if (rx->fctx) {
            wslay_frame_context_free(rx->fctx);
            rx->fctx = NULL;
        }
    }
}

void mp_ws__rx_free(mp_ws_t *ws)
{
    mp_ws_rx_t *rx = ws->rx;
    if (rx == NULL)
        return;
    if (rx->fctx)
        wslay_frame_context_free(rx->fctx);
    mp_free(rx->msg);
    mp_free(rx->ctl);
    mp_free(rx);
    ws->rx = NULL;
}

void mp_ws__timeout(mp_conn_t *c, int kind)
{
    mp_ws_t *ws = c->ws;
    if (ws == NULL) {
        mp_conn__close(c);
        return;
    }
    if (kind == MP_T_WS_AUTH) {
        mp_ws__close(c, 1008, "authentication timeout");
        return;
    }
    if (ws->missed >= 2) { /* two pings without a pong: the peer is gone */
        mp_conn__close(c);
        return;
    }
    ws->missed++;
    mp_ws__queue(c, MP_WS_PING, mp_frame__new_raw(NULL, 0));
    mp_deadline__set(c, MP_T_WS_PING);
}

void mp_ws__closed(mp_conn_t *c)
{
    mp_ws_t *ws = c->ws;
    mp_server_t *srv = c->srv;
    if (mp_sidmap_slot(&srv->sids, ws->sid) == c)
        mp_sidmap_del(&srv->sids, ws->sid);
    if (ws->authed) {
        ws->authed = false;
        mp_caps__ws_close(srv, &ws->who);
        if (srv->hooks.session_close)
            srv->hooks.session_close(srv->ctx, ws->sid, &ws->who);
    }
}
