/* Blocking: POST /v1/blocks, DELETE /v1/blocks/{user_id}, GET /v1/blocks.
 * The store writes the block (and ends a friendship or pending request
 * between the two in the same transaction); what a block stops is checked by
 * the write jobs of those actions (store/privacy.h, proto/privacy.h). The
 * blocker's sessions hear of every change of their list
 * ({"event":"block","user_id","blocked"}); the blocked user is told nothing
 * of the block (docs/protocol.md "Blocking"). A friendship or request the
 * block ends reaches both users' devices as a `contact` event with state
 * none, which reads like a removal or a declined request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "people/people_int.h"
#include "proto/validate.h"
#include "store/privacy.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"

#define BLOCKS_DEFAULT 50

typedef struct block_ctx {
    mp_http_req_t *req;
    const mp_module_ctx_t *ctx;
    uint64_t user, other;
    bool block;
} block_ctx_t;

static json_t *id_json(uint64_t id)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)id);
    return json_string(buf);
}

/* The blocker's devices keep their list current; the other user hears
 * nothing. */
static void block_event(const block_ctx_t *c)
{
    json_t *ev = json_object();
    json_object_set_new(ev, "event", json_string("block"));
    json_object_set_new(ev, "user_id", id_json(c->other));
    json_object_set_new(ev, "blocked", json_boolean(c->block));
    mp_frame_t *f = mp_frame_new_json(ev);
    json_decref(ev);
    mp_hub_push_user(c->ctx->hub, c->user, f, 0);
    mp_frame_unref(f);
}

static void on_block(mp_err_t rc, const mp_block_out_t *o, void *ud)
{
    block_ctx_t *c = ud;
    if (rc != MP_OK) {
        const char *msg = NULL;
        if (rc == MP_ERR_BAD_REQUEST)
            msg = "field 'user_id' cannot be yourself";
        else if (rc == MP_ERR_NOT_FOUND)
            msg = c->block ? "field 'user_id' names no user" : "no such user";
        mp_http_respond_error(c->req, rc, msg);
        mp_free(c);
        return;
    }
    mp_http_respond(c->req, 204, NULL);
    if (o->changed) {
        block_event(c);
        mp_people__presence_refresh(c->ctx, c->user);
    }
    /* The friendship or request the block ended: both sides' devices, as
     * after a removal (which is all the blocked user can tell it from). */
    for (size_t i = 0; o->contacts_reset && i < o->n_sides; i++)
        mp_people__contact_push(c->ctx, &o->sides[i]);
    mp_free(c);
}

static void block_start(mp_http_req_t *req, uint64_t other, bool block)
{
    block_ctx_t *c = mp_calloc(1, sizeof *c);
    c->req = req;
    c->ctx = mp_people__of(req)->ctx;
    c->user = mp_http_req_principal(req)->user_id;
    c->other = other;
    c->block = block;
    mp_err_t rc = block ? mp_store_block(c->ctx->store, c->user, other, mp_now_ms(), on_block, c)
                        : mp_store_unblock(c->ctx->store, c->user, other, on_block, c);
    if (rc != MP_OK)
        on_block(rc, NULL, c);
}

static const mp_field_t block_fields[] = {
    {"user_id", MP_F_ID, true, 0, 0},
    {NULL, 0, false, 0, 0},
};

void mp_people__route_block(mp_http_req_t *req)
{
    char msg[160];
    json_t *body = mp_http_req_json(req);
    mp_err_t rc = mp_validate(body, block_fields, msg, sizeof msg);
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, msg);
        return;
    }
    uint64_t other = 0;
    (void)mp_id_parse(json_string_value(json_object_get(body, "user_id")), &other);
    block_start(req, other, true);
}

void mp_people__route_unblock(mp_http_req_t *req)
{
    uint64_t other;
    if (!mp_id_parse(mp_http_req_param(req, "user_id"), &other)) {
        mp_http_respond_error(req, MP_ERR_NOT_FOUND, "no such user");
        return;
    }
    block_start(req, other, false);
}

/* ---- GET /v1/blocks?limit=&cursor= ---------------------------------------------- */

/* {"user":{profile},"blocked_at"}: the public profile as on every route
 * that returns a user ("blocked" is true, of course). */
static json_t *block_json(const mp_block_row_t *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "user", mp_people__profile_json(&r->user));
    json_object_set_new(o, "blocked_at", json_integer(r->blocked_at));
    return o;
}

static void on_list(mp_err_t rc, const mp_block_row_t *rows, size_t n, bool more, void *ud)
{
    mp_http_req_t *req = ud;
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, NULL);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, block_json(&rows[i]));
    json_t *next = json_null();
    if (more && n > 0) {
        char cur[48];
        mp_people__cursor_format(rows[n - 1].blocked_at, rows[n - 1].user.id, cur, sizeof cur);
        next = json_string(cur);
    }
    mp_http_respond(req, 200, json_pack("{s:o,s:o}", "blocks", arr, "next_cursor", next));
}

void mp_people__route_blocks(mp_http_req_t *req)
{
    unsigned limit = BLOCKS_DEFAULT;
    int64_t after_at = -1;
    uint64_t after_id = 0;
    const char *ql = mp_http_req_query(req, "limit");
    const char *qc = mp_http_req_query(req, "cursor");
    if (ql != NULL && !mp_people__limit_parse(ql, MP_BLOCKS_PAGE_MAX, &limit)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "limit must be an integer from 1 to 200");
        return;
    }
    if (qc != NULL && qc[0] != '\0' && !mp_people__cursor_parse(qc, &after_at, &after_id)) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, "cursor is not a cursor from this list");
        return;
    }
    mp_err_t rc =
        mp_store_block_list(mp_people__of(req)->ctx->store, mp_http_req_principal(req)->user_id,
                            after_at, after_id, limit, on_list, req);
    if (rc != MP_OK)
        on_list(rc, NULL, 0, false, req);
}

/* ---- paging helpers --------------------------------------------------------------- */

bool mp_people__limit_parse(const char *s, unsigned max, unsigned *out)
{
    char *end = NULL;
    if (s[0] < '1' || s[0] > '9')
        return false;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || v < 1 || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

void mp_people__cursor_format(int64_t at, uint64_t id, char *out, size_t len)
{
    snprintf(out, len, "%lld.%llu", (long long)at, (unsigned long long)id);
}

/* Strict: "<digits>.<id>", no signs, no spaces. */
bool mp_people__cursor_parse(const char *s, int64_t *at, uint64_t *id)
{
    const char *dot = strchr(s, '.');
    if (dot == NULL || dot == s || dot - s > 18)
        return false;
    int64_t v = 0;
    for (const char *p = s; p < dot; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0'); /* 18 digits cannot overflow an int64_t */
    }
    if (!mp_id_parse(dot + 1, id))
        return false;
    *at = v;
    return true;
}
