/* What the chat shows, without any terminal or network: the conversations in
 * list order, their messages in seq order (kept by message_id, replaced by
 * newer states), receipts, typing and presence, and the sends waiting for
 * their acks. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "tui/tui_int.h"
#include "util/alloc.h"

static void msg_free(mp_tui_msg_t *x)
{
    mp_free(x->text);
    x->text = NULL;
}

static void conv_free(mp_tui_conv_t *c)
{
    mp_tui__conv_clear(c);
    mp_free(c->msgs);
    mp_free(c);
}

void mp_tui__model_free(mp_tui_model_t *m)
{
    for (size_t i = 0; i < m->n_convs; i++)
        conv_free(m->convs[i]);
    mp_free(m->convs);
    for (size_t i = 0; i < m->n_pending; i++)
        mp_free(m->pending[i].text);
    mp_free(m->pending);
    memset(m, 0, sizeof *m);
}

mp_tui_conv_t *mp_tui__conv_find(mp_tui_model_t *m, const char *id)
{
    for (size_t i = 0; i < m->n_convs; i++)
        if (strcmp(m->convs[i]->id, id) == 0)
            return m->convs[i];
    return NULL;
}

size_t mp_tui__conv_index(const mp_tui_model_t *m, const mp_tui_conv_t *c)
{
    for (size_t i = 0; i < m->n_convs; i++)
        if (m->convs[i] == c)
            return i;
    assert(!"conversation not in the list");
    return 0;
}

mp_tui_conv_t *mp_tui__conv_get(mp_tui_model_t *m, const char *id, bool at_top)
{
    mp_tui_conv_t *c = mp_tui__conv_find(m, id);
    if (c != NULL)
        return c;
    c = mp_calloc(1, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", id);
    snprintf(c->label, sizeof c->label, "%s", id);
    if (m->n_convs == m->cap_convs) {
        m->cap_convs = m->cap_convs ? m->cap_convs * 2 : 16;
        m->convs = mp_realloc(m->convs, m->cap_convs * sizeof *m->convs);
    }
    m->convs[m->n_convs++] = c;
    if (at_top)
        mp_tui__conv_to_top(m, c);
    return c;
}

void mp_tui__conv_to_top(mp_tui_model_t *m, mp_tui_conv_t *c)
{
    size_t i = mp_tui__conv_index(m, c);
    memmove(m->convs + 1, m->convs, i * sizeof *m->convs);
    m->convs[0] = c;
}

mp_tui_msg_t *mp_tui__conv_msg(mp_tui_conv_t *c, const char *message_id)
{
    for (size_t i = c->n_msgs; i-- > 0;)
        if (strcmp(c->msgs[i].message_id, message_id) == 0)
            return &c->msgs[i];
    return NULL;
}

int64_t mp_tui__conv_newest_seq(const mp_tui_conv_t *c)
{
    return c->n_msgs ? c->msgs[c->n_msgs - 1].seq : 0;
}

void mp_tui__conv_clear(mp_tui_conv_t *c)
{
    for (size_t i = 0; i < c->n_msgs; i++)
        msg_free(&c->msgs[i]);
    c->n_msgs = 0;
    c->loaded = false;
    c->has_more = false;
    c->scroll = 0;
}

/* Fills x from a message object (x->text replaced). */
static void msg_set(mp_tui_msg_t *x, json_t *msg)
{
    snprintf(x->message_id, sizeof x->message_id, "%s", mp_tui__jstr(msg, "message_id"));
    snprintf(x->client_msg_id, sizeof x->client_msg_id, "%s", mp_tui__jstr(msg, "client_msg_id"));
    snprintf(x->sender, sizeof x->sender, "%s", mp_tui__jstr(msg, "sender"));
    x->seq = mp_tui__jint(msg, "seq");
    x->created_at = mp_tui__jint(msg, "created_at");
    x->deleted = json_is_true(json_object_get(msg, "deleted"));
    x->edited = json_object_get(msg, "edited_at") != NULL;
    const char *kind = mp_tui__jstr(msg, "kind"), *text = mp_tui__jstr(msg, "text");
    /* media and other kinds show as "[kind] caption" */
    bool plain = strcmp(kind, "text") == 0 || strcmp(kind, "system") == 0 || kind[0] == '\0';
    size_t cap = strlen(text) + strlen(kind) + 16;
    char *shown = mp_malloc(cap);
    if (x->deleted)
        snprintf(shown, cap, "(deleted)");
    else if (plain)
        snprintf(shown, cap, "%s", text);
    else
        snprintf(shown, cap, "[%s]%s%s", kind, text[0] ? " " : "", text);
    mp_free(x->text);
    x->text = mpr_clean_text(shown, true);
    mp_free(shown);
}

bool mp_tui__conv_upsert(mp_tui_conv_t *c, json_t *msg)
{
    mp_tui_msg_t *have = mp_tui__conv_msg(c, mp_tui__jstr(msg, "message_id"));
    if (have != NULL) {
        msg_set(have, msg);
        return false;
    }
    int64_t seq = mp_tui__jint(msg, "seq");
    if (c->n_msgs == c->cap_msgs) {
        c->cap_msgs = c->cap_msgs ? c->cap_msgs * 2 : 64;
        c->msgs = mp_realloc(c->msgs, c->cap_msgs * sizeof *c->msgs);
    }
    /* Usually the newest: find the place from the end. */
    size_t at = c->n_msgs;
    while (at > 0 && c->msgs[at - 1].seq > seq)
        at--;
    memmove(c->msgs + at + 1, c->msgs + at, (c->n_msgs - at) * sizeof *c->msgs);
    memset(&c->msgs[at], 0, sizeof c->msgs[at]);
    msg_set(&c->msgs[at], msg);
    c->n_msgs++;
    return true;
}

void mp_tui__conv_remove(mp_tui_conv_t *c, const char *message_id)
{
    mp_tui_msg_t *x = mp_tui__conv_msg(c, message_id);
    if (x == NULL)
        return;
    size_t i = (size_t)(x - c->msgs);
    msg_free(x);
    memmove(c->msgs + i, c->msgs + i + 1, (c->n_msgs - i - 1) * sizeof *c->msgs);
    c->n_msgs--;
}

mp_tui_mark_t mp_tui__mark(const mp_tui_model_t *m, const mp_tui_conv_t *c, const mp_tui_msg_t *x)
{
    if (strcmp(x->sender, m->me) != 0)
        return MP_TUI_MARK_NONE;
    if (x->seq <= c->peer_read_seq)
        return MP_TUI_MARK_READ;
    if (x->seq <= c->peer_delivered_seq)
        return MP_TUI_MARK_DELIVERED;
    return MP_TUI_MARK_SENT;
}

mp_tui_pending_t *mp_tui__pending_add(mp_tui_model_t *m, const char *conv, const char *text)
{
    if (m->n_pending == m->cap_pending) {
        m->cap_pending = m->cap_pending ? m->cap_pending * 2 : 8;
        m->pending = mp_realloc(m->pending, m->cap_pending * sizeof *m->pending);
    }
    mp_tui_pending_t *p = &m->pending[m->n_pending++];
    memset(p, 0, sizeof *p);
    mpr_msg_id(p->client_msg_id);
    snprintf(p->conv, sizeof p->conv, "%s", conv);
    p->text = mp_strdup(text);
    return p;
}

mp_tui_pending_t *mp_tui__pending_by_frame(mp_tui_model_t *m, int64_t frame_id)
{
    for (size_t i = 0; i < m->n_pending; i++)
        if (m->pending[i].frame_id == frame_id)
            return &m->pending[i];
    return NULL;
}

void mp_tui__pending_remove(mp_tui_model_t *m, mp_tui_pending_t *p)
{
    size_t i = (size_t)(p - m->pending);
    assert(i < m->n_pending);
    mp_free(p->text);
    memmove(m->pending + i, m->pending + i + 1, (m->n_pending - i - 1) * sizeof *m->pending);
    m->n_pending--;
}
