/* Refcounted encoded frames and the mp_gw_* calls the core uses to talk to
 * WebSocket sessions by id. */
#include <string.h>

#include "net/ws.h"
#include "util/alloc.h"
#include "util/metrics.h"

mp_frame_t *mp_frame__new_raw(const void *data, size_t len)
{
    mp_frame_t *f = mp_malloc(sizeof(*f) + len);
    f->refs = 1;
    f->len = len;
    if (len)
        memcpy(f->data, data, len);
    return f;
}

mp_frame_t *mp_frame_new_text(const void *json, size_t len)
{
    return mp_frame__new_raw(json, len);
}

/* One pass of the encoder when the frame fits a scratch buffer (acks, errors
 * and almost every event do), then one allocation of the exact size; larger
 * frames fall back to sizing first and filling second. _Thread_local rather
 * than plain static: today only the loop thread encodes, but the buffer must
 * not be shared if another thread ever does. */
mp_frame_t *mp_frame_new_json(const json_t *obj)
{
    static _Thread_local char scratch[4096];
    size_t len = json_dumpb(obj, scratch, sizeof scratch, JSON_COMPACT);
    if (len <= sizeof scratch)
        return mp_frame__new_raw(scratch, len);
    len = json_dumpb(obj, NULL, 0, JSON_COMPACT);
    mp_frame_t *f = mp_malloc(sizeof(*f) + len);
    f->refs = 1;
    f->len = json_dumpb(obj, f->data, len, JSON_COMPACT);
    return f;
}

mp_frame_t *mp_frame_ref(mp_frame_t *f)
{
    if (f) {
        MP_ASSERT(f->refs > 0);
        f->refs++;
    }
    return f;
}

void mp_frame_unref(mp_frame_t *f)
{
    if (f == NULL)
        return;
    MP_ASSERT(f->refs > 0); /* a reference given back twice */
    if (--f->refs == 0)
        mp_free(f);
}

void mp_gw_send(mp_server_t *srv, mp_sid_t sid, mp_frame_t *f)
{
    MP_NET_ASSERT_LOOP(srv);
    mp_conn_t *c = mp_ws__find(srv, sid);
    if (c && f) {
        mp_metrics_inc(MP_MC_EVENTS_PUSHED);
        mp_ws__queue(c, MP_WS_TEXT, mp_frame_ref(f));
    }
}

void mp_gw_reply(mp_server_t *srv, mp_sid_t sid, int64_t req_id, json_t *fields)
{
    MP_NET_ASSERT_LOOP(srv);
    mp_conn_t *c = mp_ws__find(srv, sid);
    if (c == NULL) {
        if (fields)
            json_decref(fields);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(req_id));
    json_object_set_new(o, "ok", json_true());
    if (fields) {
        json_object_update(o, fields);
        json_decref(fields);
    }
    mp_ws__send_json(c, o);
}

void mp_gw_reply_text(mp_server_t *srv, mp_sid_t sid, const void *json, size_t len)
{
    MP_NET_ASSERT_LOOP(srv);
    mp_conn_t *c = mp_ws__find(srv, sid);
    if (c != NULL)
        mp_ws__queue(c, MP_WS_TEXT, mp_frame__new_raw(json, len));
}

void mp_gw_error(mp_server_t *srv, mp_sid_t sid, int64_t req_id, mp_err_t err, const char *msg,
                 json_t *extra)
{
    MP_NET_ASSERT_LOOP(srv);
    mp_conn_t *c = mp_ws__find(srv, sid);
    if (c == NULL) {
        if (extra)
            json_decref(extra);
        return;
    }
    json_t *id = json_integer(req_id);
    mp_ws__error(c, id, err, msg, extra);
    json_decref(id);
}

void mp_gw_close(mp_server_t *srv, mp_sid_t sid, int code, const char *reason)
{
    MP_NET_ASSERT_LOOP(srv);
    mp_conn_t *c = mp_ws__find(srv, sid);
    if (c)
        mp_ws__close(c, code, reason);
}
