/* GET /v1/me/export: the caller's data as one JSON document, streamed. The
 * document is written piece by piece: the profile, then each list a page at
 * a time (a store read job per page, keyset-paged), and the next page is read
 * only once the connection's queued output has drained below a mark. So
 * the server holds at most about a page and the mark however large the
 * export, and a client that reads slowly only slows its own export. One
 * export per user at a time. */
#include "auth/auth_int.h"

#include <stdio.h>
#include <string.h>

#include "store/export.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"
#include "util/log.h"

/* Rows and string bytes per store page. */
#define MP_EXPORT_PAGE_ROWS 256
#define MP_EXPORT_PAGE_BYTES (64 * 1024)
/* Queued output above which the next page waits, and the level it waits for. */
#define MP_EXPORT_HIGH (128 * 1024)
#define MP_EXPORT_LOW (32 * 1024)

typedef struct export
{
    mp_http_req_t *req;
    mp_auth_t *auth;
    uint64_t user;
    mp_export_list_t list;
    mp_export_cursor_t cursor;
    bool any;    /* a row of the current list was written (commas from then on) */
    size_t rows; /* written so far, all lists */
}
export_t;

/* The JSON key of each list, in the order they are written. */
static const char *const LIST_KEY[] = {
    [MP_EXPORT_DEVICES] = "devices",   [MP_EXPORT_CONTACTS] = "contacts",
    [MP_EXPORT_BLOCKS] = "blocks",     [MP_EXPORT_CONVERSATIONS] = "conversations",
    [MP_EXPORT_MESSAGES] = "messages",
};
#define MP_EXPORT_LAST MP_EXPORT_MESSAGES

static void next_page(export_t *e);

/* Ends the response (complete or cut off) and frees e. */
static void finish(export_t *e, bool complete)
{
    void *old = NULL;
    (void)mp_map_del(&e->auth->exports, e->user, &old);
    if (!complete && !mp_http_req_gone(e->req))
        mp_log_warn("export of user %llu cut off after %zu row(s)", (unsigned long long)e->user,
                    e->rows);
    mp_http_stream_end(e->req, complete);
    mp_free(e);
}

static bool put(export_t *e, const char *s)
{
    return mp_http_stream_write(e->req, s, strlen(s));
}

/* ---- encoding ------------------------------------------------------------------ */

static json_t *id_json(uint64_t id)
{
    char buf[MP_ID_STRLEN];
    return json_string(mp_id_format(id, buf));
}

static json_t *time_or_null(int64_t ms)
{
    return ms ? json_integer(ms) : json_null();
}

static const char *privacy_name(int v)
{
    return v == 1 ? "contacts" : v == 2 ? "nobody" : "everyone";
}

static json_t *profile_json(const mp_export_profile_t *p)
{
    json_t *priv =
        json_pack("{s:s,s:s,s:s,s:s,s:b}", "message", privacy_name(p->priv_message), "presence",
                  privacy_name(p->priv_presence), "search", privacy_name(p->priv_search), "groups",
                  privacy_name(p->priv_groups), "read_receipts", !p->no_receipts);
    json_t *o =
        json_pack("{s:o,s:s,s:s,s:s,s:o,s:o,s:b,s:b,s:b,s:I,s:o}", "user_id", id_json(p->id),
                  "username", p->username, "display_name", p->display_name, "bio", p->bio,
                  "avatar_file_id", p->avatar_file_id ? id_json(p->avatar_file_id) : json_null(),
                  "email", p->email ? json_string(p->email) : json_null(), "email_verified",
                  p->email != NULL && !p->email_pending, "guest", p->guest, "admin", p->admin,
                  "created_at", (json_int_t)p->created_at, "privacy", priv);
    return o;
}

static const char *contact_state(int64_t s)
{
    return s == 1 ? "outgoing" : s == 2 ? "incoming" : s == 3 ? "friends" : "none";
}

/* The content of a message is JSON text; kept as a value in the export. */
static json_t *content_json(const char *text)
{
    if (text == NULL)
        return NULL;
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    return v ? v : json_string(text);
}

static json_t *row_json(mp_export_list_t list, const mp_export_row_t *r)
{
    const char *name = r->name ? r->name : "", *text = r->text ? r->text : "";
    json_t *o = NULL;
    switch (list) {
    case MP_EXPORT_DEVICES:
        o = json_pack("{s:o,s:s,s:I,s:o,s:o}", "device_id", id_json(r->id), "name", name,
                      "created_at", (json_int_t)r->at, "last_seen_at", time_or_null(r->at2),
                      "revoked_at", time_or_null(r->at3));
        break;
    case MP_EXPORT_CONTACTS:
        o = json_pack("{s:o,s:s,s:s,s:s,s:I,s:I}", "user_id", id_json(r->id), "username", name,
                      "state", contact_state(r->at3), "message", text, "created_at",
                      (json_int_t)r->at, "updated_at", (json_int_t)r->at2);
        break;
    case MP_EXPORT_BLOCKS:
        o = json_pack("{s:o,s:s,s:I}", "user_id", id_json(r->id), "username", name, "created_at",
                      (json_int_t)r->at);
        break;
    case MP_EXPORT_CONVERSATIONS:
        o = json_pack("{s:o,s:s,s:s,s:I}", "conversation_id", id_json(r->id), "kind", name, "role",
                      r->extra ? r->extra : "member", "joined_at", (json_int_t)r->at);
        if (r->ref != 0)
            json_object_set_new(
                o, "peer", json_pack("{s:o,s:s}", "user_id", id_json(r->ref), "username", text));
        else
            json_object_set_new(o, "title", json_string(text));
        break;
    case MP_EXPORT_MESSAGES:
        o = json_pack("{s:o,s:o,s:I,s:s,s:s,s:I,s:o}", "message_id", id_json(r->id),
                      "conversation_id", id_json(r->ref), "seq", (json_int_t)r->at3, "kind", name,
                      "text", text, "created_at", (json_int_t)r->at, "edited_at",
                      time_or_null(r->at2));
        if (r->extra)
            json_object_set_new(o, "content", content_json(r->extra));
        if (r->ref2)
            json_object_set_new(o, "reply_to", id_json(r->ref2));
        break;
    }
    return o;
}

/* Appends the rows as JSON to *buf (comma-separated, a leading comma unless
 * they are the list's first). */
static void rows_encode(export_t *e, const mp_export_row_t *rows, size_t n, char **buf, size_t *len)
{
    for (size_t i = 0; i < n; i++) {
        json_t *o = row_json(e->list, &rows[i]);
        size_t need = o ? json_dumpb(o, NULL, 0, JSON_COMPACT) : 0;
        if (need == 0) {
            if (o)
                json_decref(o);
            continue;
        }
        *buf = mp_realloc(*buf, *len + need + 1);
        if (e->any)
            (*buf)[(*len)++] = ',';
        *len += json_dumpb(o, *buf + *len, need, JSON_COMPACT);
        json_decref(o);
        e->rows++;
        e->any = true;
    }
}

/* ---- the pages ---------------------------------------------------------------- */

static void drained(mp_http_req_t *req, bool gone, void *ud)
{
    (void)req;
    export_t *e = ud;
    if (gone)
        finish(e, false);
    else
        next_page(e);
}

/* Reads the next page once the client has taken enough of what is queued. */
static void paced(export_t *e)
{
    if (mp_http_stream_queued(e->req) > MP_EXPORT_HIGH)
        mp_http_stream_wait(e->req, MP_EXPORT_LOW, drained, e);
    else
        next_page(e);
}

/* Closes the current list and opens the next; false when the client left. */
static bool list_next(export_t *e, bool *last)
{
    *last = e->list == MP_EXPORT_LAST;
    if (!put(e, "]"))
        return false;
    if (*last)
        return put(e, "}\n");
    e->list++;
    e->any = false;
    memset(&e->cursor, 0, sizeof e->cursor);
    char key[64];
    snprintf(key, sizeof key, ",\"%s\":[", LIST_KEY[e->list]);
    return put(e, key);
}

static void on_page(mp_err_t rc, const mp_export_row_t *rows, size_t n, bool more,
                    const mp_export_cursor_t *next, void *ud)
{
    export_t *e = ud;
    if (mp_http_req_gone(e->req) || rc != MP_OK) {
        if (rc != MP_OK)
            mp_log_warn("export of user %llu: store read failed: %s", (unsigned long long)e->user,
                        mp_err_code(rc));
        finish(e, false);
        return;
    }
    char *buf = NULL;
    size_t len = 0;
    rows_encode(e, rows, n, &buf, &len);
    bool ok = mp_http_stream_write(e->req, buf, len);
    mp_free(buf);
    if (ok && more) {
        e->cursor = *next;
        paced(e);
        return;
    }
    bool last = false;
    if (ok && (ok = list_next(e, &last)) && last) {
        finish(e, true);
        return;
    }
    if (!ok) {
        finish(e, false);
        return;
    }
    paced(e);
}

static void next_page(export_t *e)
{
    mp_err_t rc = mp_store_export_page(e->auth->ctx->store, e->user, e->list, &e->cursor,
                                       MP_EXPORT_PAGE_ROWS, MP_EXPORT_PAGE_BYTES, on_page, e);
    if (rc != MP_OK)
        finish(e, false); /* the store is overloaded: the client sees a cut-off body */
}

/* ---- the route ----------------------------------------------------------------- */

static void on_profile(mp_err_t rc, const mp_export_profile_t *p, void *ud)
{
    export_t *e = ud;
    if (rc != MP_OK) {
        void *old = NULL;
        (void)mp_map_del(&e->auth->exports, e->user, &old);
        mp_http_respond_error(e->req, rc == MP_ERR_NOT_FOUND ? MP_ERR_UNAUTHORIZED : rc, NULL);
        mp_free(e);
        return;
    }
    mp_http_add_header(e->req, "Content-Disposition",
                       "attachment; filename=\"magpie-export.json\"");
    mp_http_add_header(e->req, "Cache-Control", "no-store");
    bool ok = mp_http_stream_begin(e->req, 200, "application/json");
    json_t *user = profile_json(p);
    char *u = user ? json_dumps(user, JSON_COMPACT) : NULL;
    if (user)
        json_decref(user);
    char head[64];
    snprintf(head, sizeof head, "{\"exported_at\":%lld,\"user\":", (long long)mp_now_ms());
    ok = ok && u != NULL && put(e, head) && put(e, u);
    mp_free(u);
    char key[64];
    snprintf(key, sizeof key, ",\"%s\":[", LIST_KEY[e->list]);
    if (ok && put(e, key))
        paced(e);
    else
        finish(e, false);
}

void mp_auth__h_export(mp_http_req_t *req)
{
    mp_auth_t *auth = mp_auth__of(req);
    uint64_t user = mp_http_req_principal(req)->user_id;
    if (mp_map_get(&auth->exports, user) != NULL) {
        mp_http_respond_error(req, MP_ERR_CONFLICT,
                              "an export of this account is already running; wait for it to end");
        return;
    }
    export_t *e = mp_calloc(1, sizeof *e);
    e->req = req;
    e->auth = auth;
    e->user = user;
    e->list = MP_EXPORT_DEVICES;
    mp_err_t rc = mp_store_export_profile(auth->ctx->store, user, on_profile, e);
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, NULL);
        mp_free(e);
        return;
    }
    mp_map_put(&auth->exports, user, e);
}

void mp_auth__exports_free(mp_auth_t *auth)
{
    /* Every export ends before: the server closes its connection at
     * shutdown and the store completes its last job before the modules go. */
    if (mp_map_len(&auth->exports) > 0)
        mp_log_warn("%zu export(s) still running at teardown", mp_map_len(&auth->exports));
}
