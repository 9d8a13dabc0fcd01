/* The outgoing side of a WebSocket: a bounded per-connection queue of shared
 * frames, written in batches (one uv_write, many buffers), and closing. */
#include <string.h>

#include "net/ws.h"
#include "util/alloc.h"
#include "util/metrics.h"

mp_conn_t *mp_ws__find(mp_server_t *srv, mp_sid_t sid)
{
    /* The slot may hold a later session: the id must be the one it has. */
    mp_conn_t *c = mp_sidmap_slot(&srv->sids, sid);
    if (c == NULL || c->ws == NULL || c->ws->sid != sid || c->ws->close_sent ||
        (c->flags & MP_C_CLOSED))
        return NULL;
    return c;
}

static uint8_t make_header(uint8_t *h, uint8_t op, size_t len)
{
    h[0] = (uint8_t)(0x80 | op);
    if (len < 126) {
        h[1] = (uint8_t)len;
        return 2;
    }
    if (len < 65536) {
        h[1] = 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++)
        h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

/* Frees a list of entries; returns their bytes. */
static size_t free_entries(mp_ws_t *ws, mp_wsq_t *q)
{
    size_t n = 0;
    while (q) {
        mp_wsq_t *next = q->next;
        n += q->hlen + q->f->len;
        mp_frame_unref(q->f);
        mp_free(q);
        q = next;
    }
    ws->qbytes -= n;
    return n;
}

void mp_ws__batch_done(mp_conn_t *c, void *arg)
{
    mp_ws_t *ws = c->ws;
    free_entries(ws, arg);
    ws->writing = false;
    ws->wbytes = 0;
    if (!(c->flags & MP_C_CLOSED))
        mp_ws__flush(c);
}

unsigned mp_ws__take(mp_conn_t *c, uv_buf_t *bufs, void **batch, size_t *bytes)
{
    mp_ws_t *ws = c->ws;
    if (ws->writing || ws->qhead == NULL || (c->flags & (MP_C_CLOSED | MP_C_SHUT)))
        return 0;
    unsigned nb = 0, taken = 0;
    size_t len = 0;
    mp_wsq_t *last = NULL;
    *batch = ws->qhead;
    for (mp_wsq_t *q = ws->qhead; q && taken < MP_WS_BATCH; q = q->next, taken++) {
        bufs[nb++] = uv_buf_init((char *)q->hdr, q->hlen);
        if (q->f->len)
            bufs[nb++] = uv_buf_init(q->f->data, (unsigned)q->f->len);
        len += q->hlen + q->f->len;
        last = q;
    }
    ws->qhead = last->next;
    if (ws->qhead == NULL)
        ws->qtail = NULL;
    last->next = NULL;
    ws->writing = true;
    ws->wbytes = len;
    mp_conn__out_sub(c, len); /* the write counts them from here */
    *bytes = len;
    return nb;
}

void mp_ws__flush(mp_conn_t *c)
{
    uv_buf_t bufs[MP_WS_BATCH_BUFS];
    void *batch;
    size_t bytes;
    unsigned nb = mp_ws__take(c, bufs, &batch, &bytes);
    if (nb)
        mp_conn__write(c, bufs, nb, mp_ws__batch_done, batch);
}

static void slow_reader(mp_conn_t *c)
{
    mp_ws_t *ws = c->ws;
    /* Whatever is not being written yet is dropped: memory stays bounded. */
    mp_conn__out_sub(c, free_entries(ws, ws->qhead));
    ws->qhead = ws->qtail = NULL;
    mp_metrics_inc(MP_MC_SLOW_READERS);
    mp_ws__fail(c, 1008, "slow reader");
}

void mp_ws__queue(mp_conn_t *c, uint8_t op, mp_frame_t *f)
{
    mp_ws_t *ws = c->ws;
    if (ws == NULL || (c->flags & MP_C_CLOSED) || (ws->close_sent && op != MP_WS_CLOSE)) {
        mp_frame_unref(f);
        return;
    }
    mp_wsq_t *q = mp_malloc(sizeof(*q));
    q->next = NULL;
    q->f = f;
    q->hlen = make_header(q->hdr, op, f->len);
    size_t size = q->hlen + f->len;
    /* A slow reader is one with ws_max_queue bytes or more still waiting
     * AHEAD of this frame: those queued, plus what the kernel has not taken
     * of the batch being written. The frame itself does not count, so that a
     * reply larger than the bound reaches a peer who reads; the queue then
     * holds at most ws_max_queue plus one frame. Pongs count too (a ping
     * flood must not grow memory); only the final close frame may pass. */
    size_t unsent = c->flags & MP_C_FAKE ? mp_net__fake_ops.unsent(c) : c->tcp.write_queue_size;
    size_t ahead = ws->qbytes - ws->wbytes + unsent;
    if (op != MP_WS_CLOSE && ahead >= c->srv->cfg->ws_max_queue) {
        mp_frame_unref(f);
        mp_free(q);
        slow_reader(c);
        return;
    }
    ws->qbytes += size;
    mp_conn__out_add(c, size);
    if (ws->qtail)
        ws->qtail->next = q;
    else
        ws->qhead = q;
    ws->qtail = q;
    mp_conn__want_flush(c);
}

void mp_ws__send_json(mp_conn_t *c, json_t *obj)
{
    /* one encoder pass for replies, see mp_frame_new_json */
    mp_frame_t *f = mp_frame_new_json(obj);
    json_decref(obj);
    mp_ws__queue(c, MP_WS_TEXT, f);
}

void mp_ws__error(mp_conn_t *c, json_t *id, mp_err_t err, const char *msg, json_t *extra)
{
    mp_metrics_ws_error(mp_err_code(err));
    json_t *e = json_pack("{s:s,s:s}", "code", mp_err_code(err), "message",
                          msg ? msg : mp_err_message(err));
    if (extra) {
        json_object_update_missing(e, extra);
        json_decref(extra);
    }
    json_t *o = json_object();
    json_object_set(o, "id", id ? id : json_null());
    json_object_set_new(o, "error", e);
    mp_ws__send_json(c, o);
}

void mp_ws__close(mp_conn_t *c, int code, const char *reason)
{
    mp_ws_t *ws = c->ws;
    if (ws == NULL || ws->close_sent || (c->flags & MP_C_CLOSED))
        return;
    uint8_t payload[125];
    size_t rlen = reason ? strlen(reason) : 0;
    if (rlen > sizeof(payload) - 2)
        rlen = sizeof(payload) - 2;
    payload[0] = (uint8_t)(code >> 8);
    payload[1] = (uint8_t)code;
    if (rlen)
        memcpy(payload + 2, reason, rlen);
    mp_ws__queue(c, MP_WS_CLOSE, mp_frame__new_raw(payload, code ? rlen + 2 : 0));
    ws->close_sent = true;
    /* At most ~1 s more, even if the peer never reads. */
    mp_deadline__set(c, MP_T_CLOSING);
    mp_conn__drain(c);
}

void mp_ws__fail(mp_conn_t *c, int code, const char *reason)
{
    if (c->ws == NULL)
        return;
    c->ws->discard = true;
    if (c->ws->close_sent)
        return;
    mp_ws__close(c, code, reason);
}

bool mp_ws__idle(const mp_conn_t *c)
{
    return c->ws == NULL || (!c->ws->writing && c->ws->qhead == NULL);
}

void mp_ws__release(mp_conn_t *c)
{
    mp_ws_t *ws = c->ws;
    free_entries(ws, ws->qhead);
    mp_ws__rx_free(ws);
    mp_free(ws);
    c->ws = NULL;
}
