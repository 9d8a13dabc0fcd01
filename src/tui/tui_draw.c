/* Drawing the whole screen from the model, every time something changed (an
 * 80x24 screen is cheap to redraw, and curses sends only the difference).
 * Every string is sanitized and measured in cells before it is drawn, so
 * wide characters never push the panes out of place. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "tui/tui_int.h"
#include "util/alloc.h"

#define LIST_W 24   /* the conversation list, at 60 columns and more */
#define NARROW_W 60 /* below: one pane at a time */
#define PAIR_GOOD 1 /* online dots, read marks */
#define PAIR_UNREAD 2

typedef struct layout {
    bool list, conv; /* which panes show */
    int list_w;      /* cells of the list */
    int cx, cw;      /* the conversation pane's first column and width */
    int body;        /* rows of the list and the messages (below their headers) */
} layout_t;

static layout_t layout_of(const mp_tui_t *t)
{
    layout_t l = {0};
    bool wide = COLS >= NARROW_W;
    l.body = LINES - 3 > 0 ? LINES - 3 : 0;
    if (wide) {
        l.list = l.conv = true;
        l.list_w = LIST_W;
        l.cx = LIST_W + 2; /* a blank column after the divider */
    } else {
        l.conv = t->open != NULL && t->focus == MP_TUI_FOCUS_CONV;
        l.list = !l.conv;
        l.list_w = COLS;
        l.cx = 1;
    }
    l.cw = COLS - l.cx - (wide ? 0 : 1);
    return l;
}

int mp_tui__page_lines(void)
{
    return LINES - 3 > 1 ? LINES - 3 : 1;
}

/* Draws s (any text) at y, x in at most width cells. Returns the cells used. */
static int put(int y, int x, const char *s, int width)
{
    char *safe = mpr_clean_text(s, false);
    char out[1024];
    int w = mp_tui__truncate(safe, width, out, sizeof out);
    mvaddstr(y, x, out);
    mp_free(safe);
    return w;
}

/* ---- the list ---------------------------------------------------------------------- */

static void draw_list_row(const mp_tui_t *t, const mp_tui_conv_t *c, int y, int w, bool sel)
{
    bool hl = sel && t->focus == MP_TUI_FOCUS_LIST;
    attr_t a = (hl ? A_REVERSE : 0) | (c == t->open ? A_BOLD : 0);
    attron(a);
    mvhline(y, 0, ' ', w);
    mvaddstr(y, 0, sel ? ">" : " ");
    if (c->peer[0] != '\0' && c->online) {
        attron(COLOR_PAIR(PAIR_GOOD));
        mvaddstr(y, 1, "\xE2\x97\x8F"); /* ● */
        attroff(COLOR_PAIR(PAIR_GOOD));
    }
    char count[24] = "";
    if (c->unread > 0)
        snprintf(count, sizeof count, " %lld", (long long)c->unread);
    int cw = (int)strlen(count);
    put(y, 3, c->label, w - 3 - cw - 1);
    if (cw > 0) {
        attron(A_BOLD | COLOR_PAIR(PAIR_UNREAD));
        mvaddstr(y, w - cw - 1, count);
        attroff(A_BOLD | COLOR_PAIR(PAIR_UNREAD));
    }
    attroff(a);
}

static void draw_list(const mp_tui_t *t, const layout_t *l)
{
    attron(A_BOLD);
    put(0, 1, "Conversations", l->list_w - 1);
    attroff(A_BOLD);
    size_t n = t->model.n_convs, first = 0;
    if (l->body > 0 && t->sel >= (size_t)l->body)
        first = t->sel - (size_t)l->body + 1;
    for (int r = 0; r < l->body && first + (size_t)r < n; r++)
        draw_list_row(t, t->model.convs[first + r], 1 + r, l->list_w, first + r == t->sel);
    if (l->conv)
        for (int y = 0; y < LINES - 2; y++)
            mvaddstr(y, l->list_w, "\xE2\x94\x82"); /* │ */
}

/* ---- the conversation ---------------------------------------------------------------- */

/* One message as shown: "HH:MM name: text mark", the mark (own messages)
 * at the end of the text. */
typedef struct item {
    char prefix[256];
    char *full; /* text + mark, owned */
    size_t mark_len;
    bool mark_read;
} item_t;

static const char *mark_text(mp_tui_mark_t m)
{
    switch (m) {
    case MP_TUI_MARK_PENDING:
        return "\xE2\x80\xA6"; /* … */
    case MP_TUI_MARK_SENT:
        return "\xE2\x9C\x93"; /* ✓ */
    case MP_TUI_MARK_DELIVERED:
    case MP_TUI_MARK_READ:
        return "\xE2\x9C\x93\xE2\x9C\x93";
    default:
        return "";
    }
}

static void item_make(mp_tui_t *t, item_t *it, int64_t at, const char *sender, const char *text,
                      mp_tui_mark_t mark, int w)
{
    char when[32], name[128];
    mpr_format_time(at, when, sizeof when);
    char *safe = mpr_clean_text(sender[0] ? mp_tui__user_name(t, sender) : "*", false);
    mp_tui__truncate(safe, w / 3 > 4 ? w / 3 : 4, name, sizeof name);
    mp_free(safe);
    char prefix[sizeof it->prefix];
    snprintf(prefix, sizeof prefix, "%s %s: ", when, name);
    /* leave room for the text even in the narrowest pane */
    mp_tui__truncate(prefix, w - 2, it->prefix, sizeof it->prefix);
    const char *m = mark_text(mark);
    it->mark_len = m[0] ? strlen(m) : 0;
    it->mark_read = mark == MP_TUI_MARK_READ;
    size_t n = strlen(text) + it->mark_len + 2;
    it->full = mp_malloc(n);
    snprintf(it->full, n, "%s%s%s", text, m[0] ? " " : "", m);
}

/* The wrap widths of an item in a pane of w cells: after the prefix, then
 * indented continuation lines. */
static void item_widths(const item_t *it, int w, int *first, int *rest, int *indent)
{
    *indent = w >= 30 ? 6 : 2;
    *rest = w - *indent > 2 ? w - *indent : 2;
    int pw = mp_tui__width(it->prefix, strlen(it->prefix));
    *first = w - pw >= 2 ? w - pw : 2;
}

/* Draws the lines of it that fall in the window: v is the line number,
 * counted up from the newest, of its last line; lines at or above skip and
 * below skip + body are drawn. Returns the number of lines it takes. */
static int item_draw(const item_t *it, const layout_t *l, int v, int skip)
{
    int first, rest, indent;
    item_widths(it, l->cw, &first, &rest, &indent);
    size_t n = mp_tui__wrap(it->full, first, rest, NULL, 0);
    mp_tui_span_t *sp = mp_malloc(n * sizeof *sp);
    mp_tui__wrap(it->full, first, rest, sp, n);
    for (size_t j = 0; j < n; j++) {
        int line = v + (int)(n - 1 - j) - skip; /* 0 = the bottom row */
        if (line < 0 || line >= l->body)
            continue;
        int y = l->body - line, x = l->cx;
        if (j == 0) {
            attron(A_DIM);
            mvaddstr(y, x, it->prefix);
            attroff(A_DIM);
            x += mp_tui__width(it->prefix, strlen(it->prefix));
        } else {
            x += indent;
        }
        size_t len = sp[j].len, mark = 0;
        if (j == n - 1 && it->mark_len > 0)
            mark = it->mark_len < len ? it->mark_len : len;
        mvaddnstr(y, x, it->full + sp[j].off, (int)(len - mark));
        if (mark > 0) {
            attr_t a = it->mark_read ? (A_BOLD | COLOR_PAIR(PAIR_GOOD)) : 0;
            attron(a);
            addnstr(it->full + sp[j].off + len - mark, (int)mark);
            attroff(a);
        }
    }
    mp_free(sp);
    return (int)n;
}

static int item_lines(const item_t *it, int w)
{
    int first, rest, indent;
    item_widths(it, w, &first, &rest, &indent);
    return (int)mp_tui__wrap(it->full, first, rest, NULL, 0);
}

/* Draws (when draw) or measures one item, v lines above the bottom. */
static int item_put(item_t *it, const layout_t *l, int v, int skip, bool draw)
{
    int n = draw ? item_draw(it, l, v, skip) : item_lines(it, l->cw);
    mp_free(it->full);
    return n;
}

/* Walks the open conversation from the newest item (pending sends last) up,
 * drawing when draw. Returns the lines the items walked take: all of them
 * when measuring. */
static int walk(mp_tui_t *t, const layout_t *l, bool draw)
{
    mp_tui_conv_t *c = t->open;
    int v = 0, skip = c->scroll;
    for (size_t i = t->model.n_pending; i-- > 0;) {
        mp_tui_pending_t *p = &t->model.pending[i];
        if (strcmp(p->conv, c->id) != 0)
            continue;
        item_t it;
        char *safe = mpr_clean_text(p->text, true);
        item_make(t, &it, p->created_ms, t->model.me, safe, MP_TUI_MARK_PENDING, l->cw);
        mp_free(safe);
        v += item_put(&it, l, v, skip, draw);
    }
    for (size_t i = c->n_msgs; i-- > 0;) {
        if (draw && v - skip >= l->body)
            break;
        mp_tui_msg_t *x = &c->msgs[i];
        item_t it;
        item_make(t, &it, x->created_at, x->sender, x->text, mp_tui__mark(&t->model, c, x), l->cw);
        v += item_put(&it, l, v, skip, draw);
    }
    return v;
}

int mp_tui__conv_lines(mp_tui_t *t)
{
    if (t->open == NULL)
        return 0;
    layout_t l = layout_of(t);
    return walk(t, &l, false);
}

static void draw_header(mp_tui_t *t, const layout_t *l)
{
    mp_tui_conv_t *c = t->open;
    int x = l->cx;
    attron(A_BOLD);
    x += put(0, x, c->label, l->cw - 1);
    attroff(A_BOLD);
    char what[256] = "";
    if (c->typing_user[0] != '\0') {
        snprintf(what, sizeof what, "%s is typing\xE2\x80\xA6",
                 mp_tui__user_name(t, c->typing_user));
    } else if (c->peer[0] != '\0' && c->online) {
        snprintf(what, sizeof what, "online");
    } else if (c->peer[0] != '\0' && c->last_seen_at > 0) {
        char when[32];
        mpr_format_time(c->last_seen_at, when, sizeof when);
        snprintf(what, sizeof what, "last seen %s", when);
    }
    if (what[0] != '\0' && l->cx + l->cw - x > 4) {
        attron(A_DIM);
        put(0, x + 2, what, l->cx + l->cw - x - 2);
        attroff(A_DIM);
    }
    if (t->open->has_more && t->open->scroll > 0 && walk(t, l, false) - t->open->scroll <= l->body)
        put(1, l->cx, "(PgUp for older messages)", l->cw);
}

static void draw_conv(mp_tui_t *t, const layout_t *l)
{
    if (t->open == NULL) {
        put(1, l->cx, "No conversation open: Up/Down and Enter in the list.", l->cw);
        return;
    }
    /* a taller or wider screen may show more than was scrolled to */
    if (t->open->scroll > 0) {
        int top = walk(t, l, false) - l->body;
        if (t->open->scroll > top)
            t->open->scroll = top > 0 ? top : 0;
    }
    walk(t, l, true);
    draw_header(t, l);
}

/* ---- the bottom: input and status ---------------------------------------------------- */

static void draw_input(const mp_tui_t *t)
{
    int y = LINES - 2;
    mvaddstr(y, 0, "> ");
    if (t->open == NULL)
        return;
    size_t from = mp_tui__input_view(&t->input, COLS - 2);
    const char *s = t->input.buf + from;
    int room = COLS - 2;
    /* draw character by character up to the room left */
    size_t i = 0, len = t->input.len - from;
    int w = 0;
    while (i < len) {
        uint32_t wc;
        size_t k = mpr_utf8_next(s + i, len - i, &wc);
        int cw = mp_tui__wcwidth(wc);
        if (w + cw > room)
            break;
        w += cw;
        i += k;
    }
    mvaddnstr(y, 2, s, (int)i);
}

static void draw_status(const mp_tui_t *t)
{
    int y = LINES - 1;
    attron(A_REVERSE);
    mvhline(y, 0, ' ', COLS);
    const char *text;
    if (t->status[0] != '\0')
        text = t->status;
    else if (t->ws == NULL)
        text = "reconnecting\xE2\x80\xA6";
    else if (t->focus == MP_TUI_FOCUS_LIST)
        text = "Up/Down, Enter: open  Tab: chat  Ctrl-C or F10: quit";
    else
        text = "Enter: send  Tab: list  PgUp/PgDn: scroll  Esc: back  Ctrl-C: quit";
    put(y, 1, text, COLS - 2);
    attroff(A_REVERSE);
}

static void place_cursor(const mp_tui_t *t)
{
    if (t->open == NULL || t->focus != MP_TUI_FOCUS_CONV) {
        curs_set(0);
        return;
    }
    size_t from = mp_tui__input_view(&t->input, COLS - 2);
    int x = 2 + mp_tui__width(t->input.buf + from, t->input.cur - from);
    curs_set(1);
    move(LINES - 2, x < COLS ? x : COLS - 1);
}

void mp_tui__colors(void)
{
    if (!has_colors())
        return;
    start_color();
    use_default_colors();
    init_pair(PAIR_GOOD, COLOR_GREEN, -1);
    init_pair(PAIR_UNREAD, COLOR_YELLOW, -1);
}

void mp_tui__draw(mp_tui_t *t)
{
    erase();
    if (LINES < 5 || COLS < 20) {
        put(0, 0, "terminal too small", COLS);
        refresh();
        t->dirty = false;
        return;
    }
    layout_t l = layout_of(t);
    if (l.list)
        draw_list(t, &l);
    if (l.conv)
        draw_conv(t, &l);
    draw_input(t);
    draw_status(t);
    place_cursor(t);
    refresh();
    t->dirty = false;
}
