/* The gateway side of the gateway/core seam: what the core may ask of the
 * gateway. The core names WebSocket sessions by a 64-bit session id (never
 * reused), never by pointer, so that a session that closed in the meantime is
 * simply skipped and the seam can later cross threads.
 *
 * All functions here must be called on the loop thread that owns the server. */
#ifndef MP_NET_GW_H
#define MP_NET_GW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/error.h"

typedef struct mp_server mp_server_t;
typedef uint64_t mp_sid_t;

/* An immutable, encoded WebSocket text frame payload, refcounted so that an
 * event fanned out to N devices is encoded once. The refcount is plain, not
 * atomic: frames are made, shared and released on the loop thread only
 * (mp_gw_* assert it). */
typedef struct mp_frame {
    unsigned refs;
    size_t len;
    char data[]; /* JSON text, NOT NUL-terminated beyond len */
} mp_frame_t;

/* Encodes obj once (compact JSON). Returns a frame with one reference. */
mp_frame_t *mp_frame_new_json(const json_t *obj);
/* A frame of len bytes of JSON text encoded already (e.g. by another node of
 * the cluster, see core/hub.h), copied as they are. One reference. */
mp_frame_t *mp_frame_new_text(const void *json, size_t len);
mp_frame_t *mp_frame_ref(mp_frame_t *f);
void mp_frame_unref(mp_frame_t *f);

/* Queues f to session sid; takes its own reference (the caller keeps its own).
 * Unknown or closing sessions are skipped. A session with ws_max_queue bytes
 * or more still unsent ahead of f is disconnected (close 1008 "slow reader");
 * f's own size never counts, so one large frame goes to a peer who reads. */
void mp_gw_send(mp_server_t *srv, mp_sid_t sid, mp_frame_t *f);

/* Replies to request req_id on session sid: {"id":req_id,"ok":true, ...fields}.
 * Takes ownership of fields (may be NULL). */
void mp_gw_reply(mp_server_t *srv, mp_sid_t sid, int64_t req_id, json_t *fields);

/* The same reply as JSON text encoded already, the whole object with its
 * "id" and "ok" (len bytes, copied): for the hottest ack and history pages
 * (chat/msgenc.c writes them without a tree). */
void mp_gw_reply_text(mp_server_t *srv, mp_sid_t sid, const void *json, size_t len);

/* Replies {"id":req_id,"error":{"code":..,"message":..}}; msg NULL uses the
 * default message of err. Extra members of `extra` (owned, may be NULL) are
 * merged into the error object (e.g. retry_after_ms). */
void mp_gw_error(mp_server_t *srv, mp_sid_t sid, int64_t req_id, mp_err_t err, const char *msg,
                 json_t *extra);

/* Closes session sid with a WebSocket close code and reason (after flushing
 * what is queued, at most ~1 s). */
void mp_gw_close(mp_server_t *srv, mp_sid_t sid, int code, const char *reason);

#endif
