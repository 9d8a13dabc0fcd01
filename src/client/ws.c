/* Blocking WebSocket client over mpc_conn_t: handshake, send helpers, receive
 * with automatic pong and close echo, request/reply matching by id, and a
 * queue for frames that arrive while waiting for a reply. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/client.h"
#include "client/conn_internal.h"

/* Bigger than any server message we expect; protects against garbage. */
#define MPC_WS_MAX_IN (16u * 1024 * 1024)

typedef struct qnode {
    mpc_ws_msg_t msg;
    struct qnode *next;
} qnode_t;

struct mpc_ws {
    mpc_conn_t *conn;
    mpc_ws_decoder_t *dec;
    bool auto_pong;
    bool close_sent;
    unsigned pings;
    int64_t next_id;
    qnode_t *qhead, *qtail;
};

static void q_push(mpc_ws_t *ws, mpc_ws_msg_t *m)
{
    qnode_t *n = calloc(1, sizeof *n);
    if (!n)
        abort();
    n->msg = *m;
    memset(m, 0, sizeof *m);
    if (ws->qtail)
        ws->qtail->next = n;
    else
        ws->qhead = n;
    ws->qtail = n;
}

/* Unlinks node n (whose predecessor is prev, or NULL) and moves its message out. */
static void q_take(mpc_ws_t *ws, qnode_t *prev, qnode_t *n, mpc_ws_msg_t *out)
{
    if (prev)
        prev->next = n->next;
    else
        ws->qhead = n->next;
    if (ws->qtail == n)
        ws->qtail = prev;
    *out = n->msg;
    free(n);
}

static int check_upgrade(const mpc_response_t *r, const char *key)
{
    char accept[29];
    const char *up = mpc_response_header(r, "Upgrade");
    const char *acc = mpc_response_header(r, "Sec-WebSocket-Accept");
    mpc_ws_accept_for(key, accept);
    if (!up || strcasecmp(up, "websocket") != 0 || !acc || strcmp(acc, accept) != 0)
        return MPC_ERR_PROTO;
    return MPC_OK;
}

int mpc_ws_connect(const char *host, int port, const char *path, const char *token,
                   const char *origin, mpc_ws_t **out, int *http_status, int timeout_ms)
{
    *out = NULL;
    if (http_status)
        *http_status = 0;
    mpc_conn_t *c = mpc_connect(host, port, timeout_ms);
    if (!c)
        return MPC_ERR_IO;
    return mpc_ws_upgrade(c, path, token, origin, out, http_status, timeout_ms);
}

int mpc_ws_upgrade(mpc_conn_t *c, const char *path, const char *token, const char *origin,
                   mpc_ws_t **out, int *http_status, int timeout_ms)
{
    int64_t deadline = mpc__now_ms() + timeout_ms;
    char key[25];
    size_t len;
    mpc_response_t resp = {0};
    int rc;

    *out = NULL;
    if (http_status)
        *http_status = 0;
    mpc_ws_make_key(key);
    char *req = mpc_ws_build_handshake(c->hostport, path, key, token, origin, &len);
    rc = mpc__send_until(c, req, len, deadline);
    free(req);
    if (rc == MPC_OK)
        rc = mpc__read_response(c, false, &resp, deadline);
    if (rc != MPC_OK)
        goto fail;
    if (resp.status != 101) {
        if (http_status)
            *http_status = resp.status;
        rc = MPC_ERR_PROTO;
        goto fail;
    }
    rc = check_upgrade(&resp, key);
    if (rc != MPC_OK)
        goto fail;
    mpc_response_free(&resp);

    mpc_ws_t *ws = calloc(1, sizeof *ws);
    if (!ws)
        abort();
    ws->conn = c;
    ws->dec = mpc_ws_decoder_new(MPC_WS_MAX_IN);
    ws->auto_pong = true;
    ws->next_id = 1;
    *out = ws;
    return MPC_OK;
fail:
    mpc_response_free(&resp);
    mpc_conn_free(c);
    return rc;
}

void mpc_ws_free(mpc_ws_t *ws)
{
    if (!ws)
        return;
    while (ws->qhead) {
        mpc_ws_msg_t m;
        q_take(ws, NULL, ws->qhead, &m);
        mpc_ws_msg_free(&m);
    }
    mpc_ws_decoder_free(ws->dec);
    mpc_conn_free(ws->conn);
    free(ws);
}

mpc_conn_t *mpc_ws_conn(mpc_ws_t *ws)
{
    return ws->conn;
}

void mpc_ws_set_auto_pong(mpc_ws_t *ws, bool on)
{
    ws->auto_pong = on;
}

unsigned mpc_ws_pings_seen(const mpc_ws_t *ws)
{
    return ws->pings;
}

int64_t mpc_ws_next_id(const mpc_ws_t *ws)
{
    return ws->next_id;
}

static int send_frame_until(mpc_ws_t *ws, int opcode, bool fin, const void *data, size_t len,
                            int64_t deadline)
{
    size_t flen;
    uint8_t *f = mpc_ws_frame_encode(opcode, fin, true, 0, data, len, &flen);
    int rc = mpc__send_until(ws->conn, f, flen, deadline);
    free(f);
    return rc;
}

int mpc_ws_send_frame(mpc_ws_t *ws, int opcode, bool fin, const void *data, size_t len,
                      int timeout_ms)
{
    return send_frame_until(ws, opcode, fin, data, len, mpc__now_ms() + timeout_ms);
}

int mpc_ws_send_text(mpc_ws_t *ws, const char *text, int timeout_ms)
{
    return mpc_ws_send_frame(ws, MPC_WS_TEXT, true, text, strlen(text), timeout_ms);
}

int mpc_ws_send_json(mpc_ws_t *ws, json_t *j, int timeout_ms)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        return MPC_ERR_PROTO;
    int rc = mpc_ws_send_text(ws, text, timeout_ms);
    free(text);
    return rc;
}

int mpc_ws_send_raw(mpc_ws_t *ws, const void *data, size_t len, int timeout_ms)
{
    return mpc_send_raw(ws->conn, data, len, timeout_ms);
}

static int send_close_until(mpc_ws_t *ws, int code, const char *reason, int64_t deadline)
{
    uint8_t payload[125];
    size_t rn = reason ? strlen(reason) : 0;
    if (rn > sizeof payload - 2)
        rn = sizeof payload - 2;
    payload[0] = (uint8_t)(code >> 8);
    payload[1] = (uint8_t)code;
    if (rn)
        memcpy(payload + 2, reason, rn);
    ws->close_sent = true;
    return send_frame_until(ws, MPC_WS_CLOSE, true, payload, rn + 2, deadline);
}

int mpc_ws_send_close(mpc_ws_t *ws, int code, const char *reason, int timeout_ms)
{
    return send_close_until(ws, code, reason, mpc__now_ms() + timeout_ms);
}

/* Reacts to control frames the way a well-behaved client must. */
static void on_control(mpc_ws_t *ws, const mpc_ws_msg_t *m, int64_t deadline)
{
    if (m->opcode == MPC_WS_PING) {
        ws->pings++;
        if (ws->auto_pong)
            (void)send_frame_until(ws, MPC_WS_PONG, true, m->data, m->len, deadline);
    } else if (m->opcode == MPC_WS_CLOSE && !ws->close_sent) {
        /* Echo the code, as RFC 6455 5.5.1 asks; errors do not matter now. */
        int code = m->close_code == 1005 ? 1000 : m->close_code;
        (void)send_close_until(ws, code, NULL, deadline);
    }
}

/* Next message from the wire (not the queue). */
static int read_msg(mpc_ws_t *ws, int64_t deadline, mpc_ws_msg_t *out)
{
    for (;;) {
        int st = mpc_ws_decoder_next(ws->dec, out);
        if (st < 0)
            return MPC_ERR_PROTO;
        if (st == 1) {
            on_control(ws, out, deadline);
            return MPC_OK;
        }
        long n = mpc__fill(ws->conn, deadline);
        if (n < 0)
            return (int)n;
        mpc_ws_decoder_feed(ws->dec, ws->conn->rbuf, ws->conn->rlen);
        mpc__consume(ws->conn, ws->conn->rlen);
    }
}

int mpc_ws_recv(mpc_ws_t *ws, int timeout_ms, mpc_ws_msg_t *out)
{
    memset(out, 0, sizeof *out);
    if (ws->qhead) {
        q_take(ws, NULL, ws->qhead, out);
        return MPC_OK;
    }
    /* Bytes the handshake read past the 101 response belong to the decoder. */
    if (ws->conn->rlen) {
        mpc_ws_decoder_feed(ws->dec, ws->conn->rbuf, ws->conn->rlen);
        mpc__consume(ws->conn, ws->conn->rlen);
    }
    return read_msg(ws, mpc__now_ms() + timeout_ms, out);
}

int mpc_ws_wait_close(mpc_ws_t *ws, int timeout_ms, int *code, char **reason)
{
    int64_t deadline = mpc__now_ms() + timeout_ms;
    if (reason)
        *reason = NULL;
    for (;;) {
        mpc_ws_msg_t m;
        int rc = mpc_ws_recv(ws, (int)(deadline - mpc__now_ms()), &m);
        if (rc == MPC_ERR_CLOSED || rc == MPC_ERR_IO || rc == MPC_ERR_PROTO) {
            *code = 1006;
            return MPC_OK;
        }
        if (rc != MPC_OK)
            return rc;
        if (m.opcode == MPC_WS_CLOSE) {
            *code = m.close_code;
            if (reason) {
                *reason = m.close_reason;
                m.close_reason = NULL;
            }
            mpc_ws_msg_free(&m);
            return MPC_OK;
        }
        mpc_ws_msg_free(&m);
        if (mpc__now_ms() >= deadline)
            return MPC_ERR_TIMEOUT;
    }
}

static bool is_reply_to(const mpc_ws_msg_t *m, int64_t id)
{
    json_t *jid = m->json ? json_object_get(m->json, "id") : NULL;
    return m->opcode == MPC_WS_TEXT && json_is_integer(jid) && json_integer_value(jid) == id;
}

static bool is_event(const mpc_ws_msg_t *m)
{
    return m->opcode == MPC_WS_TEXT && json_is_object(m->json) &&
           json_object_get(m->json, "event") != NULL;
}

static bool close_queued(const mpc_ws_t *ws)
{
    for (qnode_t *n = ws->qhead; n; n = n->next)
        if (n->msg.opcode == MPC_WS_CLOSE)
            return true;
    return false;
}

/* Reads from the wire until want() matches, queueing data frames and close
 * frames that do not; returns MPC_ERR_CLOSED once a close frame arrived. */
static int read_until(mpc_ws_t *ws, int64_t deadline, bool (*want)(const mpc_ws_msg_t *, int64_t),
                      int64_t arg, json_t **out)
{
    if (ws->conn->rlen) {
        mpc_ws_decoder_feed(ws->dec, ws->conn->rbuf, ws->conn->rlen);
        mpc__consume(ws->conn, ws->conn->rlen);
    }
    for (;;) {
        mpc_ws_msg_t m;
        int rc = read_msg(ws, deadline, &m);
        if (rc != MPC_OK)
            return rc;
        if (want(&m, arg)) {
            *out = m.json;
            m.json = NULL;
            mpc_ws_msg_free(&m);
            return MPC_OK;
        }
        if (m.opcode == MPC_WS_PING || m.opcode == MPC_WS_PONG) {
            mpc_ws_msg_free(&m);
            continue;
        }
        bool closing = m.opcode == MPC_WS_CLOSE;
        q_push(ws, &m);
        if (closing)
            return MPC_ERR_CLOSED;
    }
}

int mpc_ws_request(mpc_ws_t *ws, json_t *req, int timeout_ms, json_t **reply)
{
    int64_t deadline = mpc__now_ms() + timeout_ms;
    int64_t id = ws->next_id++;

    *reply = NULL;
    if (close_queued(ws))
        return MPC_ERR_CLOSED;
    json_object_set_new(req, "id", json_integer(id));
    int rc = mpc_ws_send_json(ws, req, timeout_ms);
    if (rc != MPC_OK)
        return rc;
    return read_until(ws, deadline, is_reply_to, id, reply);
}

static bool want_event(const mpc_ws_msg_t *m, int64_t unused)
{
    (void)unused;
    return is_event(m);
}

int mpc_ws_next_event(mpc_ws_t *ws, int timeout_ms, json_t **ev)
{
    qnode_t *prev = NULL;

    *ev = NULL;
    for (qnode_t *n = ws->qhead; n; prev = n, n = n->next) {
        if (is_event(&n->msg)) {
            mpc_ws_msg_t m;
            q_take(ws, prev, n, &m);
            *ev = m.json;
            m.json = NULL;
            mpc_ws_msg_free(&m);
            return MPC_OK;
        }
    }
    if (close_queued(ws))
        return MPC_ERR_CLOSED;
    return read_until(ws, mpc__now_ms() + timeout_ms, want_event, 0, ev);
}
