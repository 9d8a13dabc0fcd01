/* WebSocket session state shared by ws_handshake.c, ws_in.c, ws_out.c and
 * frame.c (internal to the gateway). */
#ifndef MP_NET_WS_H
#define MP_NET_WS_H

#include <wslay/wslay.h>

#include "net/conn.h"

/* One queued outgoing frame: a shared payload plus its own small header. */
typedef struct mp_wsq {
    struct mp_wsq *next;
    mp_frame_t *f;
    uint8_t hdr[10];
    uint8_t hlen;
} mp_wsq_t;

/* Receive-side reassembly state, allocated with wslay's frame context when
 * input starts and freed at the first frame boundary with no message pending. */
typedef struct mp_ws_rx {
    wslay_frame_context_ptr fctx;
    const uint8_t *in; /* input being handed to wslay (recv_cb) */
    size_t in_len;
    uint64_t f_got;
    char *msg; /* reassembled text message */
    size_t msg_len;
    uint8_t *ctl; /* control frame payload (<= 125) */
    size_t ctl_len;
} mp_ws_rx_t;

struct mp_ws {
    mp_sid_t sid;
    mp_principal_t who;
    bool authed;
    bool close_sent; /* no more frames are queued after the close frame */
    bool discard;    /* protocol failure or close received: input is ignored */
    bool writing;    /* a batch is being written */
    bool f_started;  /* inside a frame (wslay delivers payloads in chunks) */
    uint8_t missed;  /* pings without a pong */
    uint8_t f_op;
    /* header tracker: validates every frame header before wslay sees it */
    uint8_t th_len;
    bool t_in_msg;
    uint8_t th[14];
    /* 32 bits are enough: a data frame or message longer than
     * ws_max_message (at most 1 GiB) is refused before these are set, and a
     * control frame is at most 125 bytes. Two words fewer keep the struct
     * in a 112-byte malloc chunk, once per idle session. */
    uint32_t t_left;    /* payload bytes of the current frame still to come */
    uint32_t t_msg_len; /* declared bytes of the message being received */
    /* receive: only while a frame or a fragmented message is incomplete, so
     * that an idle session holds none of it */
    struct mp_ws_rx *rx;
    /* send */
    mp_wsq_t *qhead, *qtail;
    size_t qbytes; /* queued + being written */
    size_t wbytes; /* of which being written (the batch in flight) */
};

enum {
    MP_WS_CONT = 0,
    MP_WS_TEXT = 1,
    MP_WS_BIN = 2,
    MP_WS_CLOSE = 8,
    MP_WS_PING = 9,
    MP_WS_PONG = 10
};

/* frame.c */
mp_frame_t *mp_frame__new_raw(const void *data, size_t len);

/* ws_out.c */
/* Queues f (takes the caller's reference) with opcode op. A data frame that
 * finds ws_max_queue bytes or more still unsent ahead of it disconnects the
 * slow reader (1008); the frame's own size does not count. */
void mp_ws__queue(mp_conn_t *c, uint8_t op, mp_frame_t *f);
/* Encodes obj (stolen) and queues it as a text frame. */
void mp_ws__send_json(mp_conn_t *c, json_t *obj);
/* Sends {"id":id,"error":{...}}; id NULL means unknown (null). extra is
 * stolen and merged into the error object. */
void mp_ws__error(mp_conn_t *c, json_t *id, mp_err_t err, const char *msg, json_t *extra);
/* Starts the closing handshake (close frame after what is queued). */
void mp_ws__close(mp_conn_t *c, int code, const char *reason);
/* Fails the connection: close frame, then input is ignored. */
void mp_ws__fail(mp_conn_t *c, int code, const char *reason);
/* Looks up an open session. */
mp_conn_t *mp_ws__find(mp_server_t *srv, mp_sid_t sid);

/* ws_in.c */
/* Runs the header tracker over d[0..n). Returns how many bytes precede the
 * first invalid frame header; *code is then its close code (else 0). */
size_t mp_ws__track(mp_ws_t *ws, const uint8_t *d, size_t n, size_t max_msg, int *code);
/* Frees ws->rx and what it holds (wslay context, partial message). */
void mp_ws__rx_free(mp_ws_t *ws);

#endif
