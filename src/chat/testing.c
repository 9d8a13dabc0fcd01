/* The references of chat/testing.h. A difference is printed to stderr with
 * both texts, so that the test or fuzzer that stops on it says why. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/chat_int.h"
#include "chat/msgenc.h"
#include "chat/testing.h"
#include "net/gw.h"
#include "proto/contact.h"

static bool same(const char *what, const mp_msgenc_t *e, const char *ref, size_t ref_len)
{
    if (e->len == ref_len && memcmp(e->buf, ref, ref_len) == 0)
        return true;
    fprintf(stderr, "%s differs:\n fast %.*s\n json %.*s\n", what, (int)e->len, e->buf,
            (int)ref_len, ref);
    return false;
}

bool mp_chat__ack_same(int64_t req_id, const mp_msg_row_t *m, bool duplicate)
{
    json_t *f = json_object();
    json_object_set_new(f, "message_id", mp_chat__id_json(m->id));
    json_object_set_new(f, "conversation", mp_chat__id_json(m->conversation_id));
    json_object_set_new(f, "seq", json_integer(m->seq));
    json_object_set_new(f, "created_at", json_integer(m->created_at));
    json_object_set_new(f, "duplicate", json_boolean(duplicate));
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(req_id));
    json_object_set_new(o, "ok", json_true());
    json_object_update(o, f);
    json_decref(f);
    mp_frame_t *ref = mp_frame_new_json(o);
    json_decref(o);
    mp_msgenc_t e;
    mp_msgenc_init(&e);
    mp_msgenc_ack(&e, req_id, m, duplicate);
    bool ok = same("ack", &e, ref->data, ref->len);
    mp_msgenc_free(&e);
    mp_frame_unref(ref);
    return ok;
}

void mp_chat__vary_rows(mp_msg_row_t m[9])
{
    static const mp_reaction_sum_t r[] = {{"\xf0\x9f\x91\x8d", 2, true}};
    m[2].kind = "image";
    m[2].content = "{\"file_id\":\"77\",\"width\":640}";
    m[4].reactions = r;
    m[4].n_reactions = 1;
    m[5].deleted_at = 5;
    m[7].reply_to = m[6].id;
    m[7].quote_sender = 8;
    m[7].quote_text = "quoted";
    m[8].mentions = "7,8";
}

bool mp_chat__item_same(const mp_msg_row_t *m, bool own)
{
    if (!mp_msgenc_covers(m))
        return true;
    json_t *j = mp_chat__msg_json(m, own);
    char *ref = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    mp_msgenc_t e;
    mp_msgenc_init(&e);
    mp_msgenc_msg(&e, m, own);
    bool ok = ref != NULL && same(own ? "item (own)" : "item", &e, ref, strlen(ref));
    mp_msgenc_free(&e);
    free(ref);
    return ok;
}

typedef struct ref {
    const mp_chat_sync_out_t *o;
    bool *conv_in;
    json_t *arr[5], *stage[5]; /* convs, msgs, receipts, hidden, contacts */
    size_t used, s_size, marked[16], n_marked;
} ref_t;

static void ref_add(ref_t *r, int a, json_t *j)
{
    r->s_size += json_dumpb(j, NULL, 0, JSON_COMPACT) + 1;
    json_array_append_new(r->stage[a], j);
}

static void ref_conv(ref_t *r, uint64_t id)
{
    for (size_t i = 0; i < r->o->n_convs; i++)
        if (r->o->convs[i].id == id && !r->conv_in[i]) {
            r->conv_in[i] = true;
            if (r->n_marked == 16)
                abort(); /* more conversations than the reference keeps */
            r->marked[r->n_marked++] = i;
            ref_add(r, 0, mp_chat__sync_conv_json(&r->o->convs[i]));
        }
}

static void ref_stage_end(ref_t *r, bool keep)
{
    for (int a = 0; a < 5; a++) {
        if (keep)
            json_array_extend(r->arr[a], r->stage[a]);
        json_array_clear(r->stage[a]);
    }
    if (keep)
        r->used += r->s_size;
    else
        for (size_t i = 0; i < r->n_marked; i++)
            r->conv_in[r->marked[i]] = false;
    r->s_size = 0;
    r->n_marked = 0;
}

/* The reply as sync.c built it with jansson. */
static char *sync_ref(const mp_chat_t *chat, const mp_chat_page_t *pg, const mp_chat_sync_out_t *o)
{
    ref_t r = {.o = o, .used = 512};
    r.conv_in = calloc(o->n_convs + 1, sizeof *r.conv_in);
    for (int a = 0; a < 5; a++) {
        r.arr[a] = json_array();
        r.stage[a] = json_array();
    }
    int64_t cursor = o->cursor;
    bool more = o->has_more, any = false;
    size_t im = 0, ir = 0, is = 0, ic = 0;
    while (im < o->n_msgs || ir < o->n_receipts || is < o->n_selfs || ic < o->n_contacts) {
        int64_t v = im < o->n_msgs ? o->msgs[im].version : INT64_MAX;
        if (ir < o->n_receipts && o->receipts[ir].version < v)
            v = o->receipts[ir].version;
        if (is < o->n_selfs && o->selfs[is].version < v)
            v = o->selfs[is].version;
        if (ic < o->n_contacts && o->contacts[ic].version < v)
            v = o->contacts[ic].version;
        for (; im < o->n_msgs && o->msgs[im].version == v; im++) {
            ref_conv(&r, o->msgs[im].conversation_id);
            ref_add(&r, 1, mp_chat__msg_json(&o->msgs[im], o->msgs[im].sender_id == pg->user));
        }
        for (; ir < o->n_receipts && o->receipts[ir].version == v; ir++) {
            ref_conv(&r, o->receipts[ir].conversation_id);
            ref_add(&r, 2, mp_chat__sync_receipt_json(chat, pg->user, &o->receipts[ir]));
        }
        for (; is < o->n_selfs && o->selfs[is].version == v; is++) {
            ref_conv(&r, o->selfs[is].conversation_id);
            if (o->selfs[is].message_id != 0)
                ref_add(&r, 3, mp_chat__sync_hidden_json(&o->selfs[is]));
        }
        for (; ic < o->n_contacts && o->contacts[ic].version == v; ic++)
            ref_add(&r, 4, mp_contact_json(&o->contacts[ic]));
        if (any && r.used + r.s_size > pg->budget) {
            ref_stage_end(&r, false);
            more = true;
            break;
        }
        ref_stage_end(&r, true);
        cursor = v;
        any = true;
    }
    if (!more)
        cursor = o->cursor;
    for (size_t i = 0; !more && i < o->n_convs; i++)
        if (!r.conv_in[i])
            json_array_append_new(r.arr[0], mp_chat__sync_conv_json(&o->convs[i]));
    char cur[24];
    snprintf(cur, sizeof cur, "%lld", (long long)cursor);
    json_t *f = json_object();
    json_object_set_new(f, "id", json_integer(pg->req_id));
    json_object_set_new(f, "ok", json_true());
    json_object_set_new(f, "cursor", json_string(cur));
    json_object_set_new(f, "has_more", json_boolean(more));
    static const char *const keys[5] = {"conversations", "messages", "receipts", "hidden",
                                        "contacts"};
    for (int a = 0; a < 5; a++) {
        json_object_set_new(f, keys[a], r.arr[a]);
        json_decref(r.stage[a]);
    }
    char *text = json_dumps(f, JSON_COMPACT);
    json_decref(f);
    free(r.conv_in);
    return text;
}

bool mp_chat__sync_page_same(const mp_chat_t *chat, const mp_chat_page_t *pg,
                             const mp_chat_sync_out_t *o)
{
    char *ref = sync_ref(chat, pg, o);
    mp_msgenc_t e;
    mp_msgenc_init(&e);
    mp_chat__sync_page(&e, chat, pg, o);
    bool ok = ref != NULL && same("sync page", &e, ref, strlen(ref));
    mp_msgenc_free(&e);
    free(ref);
    return ok;
}
