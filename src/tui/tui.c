/* `magpie chat`: set-up before curses (everything that can fail with an exit
 * status happens first, so errors print on a normal terminal), then one
 * thread that polls the terminal and the WebSocket, handles keys, and redraws.
 * The terminal is given back on every way out. */
#include <curses.h>
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui/tui.h"
#include "tui/tui_int.h"
#include "util/alloc.h"
#include "util/clock.h"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

/* ---- keys ------------------------------------------------------------------------------ */

static void open_conv(mp_tui_t *t, mp_tui_conv_t *c)
{
    t->open = c;
    t->focus = MP_TUI_FOCUS_CONV;
    t->sel = mp_tui__conv_index(&t->model, c);
    c->scroll = 0;
    if (!c->loaded)
        mp_tui__load_history(t, c, false);
    mp_tui__mark_read(t);
}

static void scroll_by(mp_tui_t *t, int lines)
{
    mp_tui_conv_t *c = t->open;
    if (c == NULL)
        return;
    int page = mp_tui__page_lines();
    c->scroll += lines;
    int total = mp_tui__conv_lines(t);
    /* At the top of what is loaded: fetch the page before it. */
    if (lines > 0 && c->scroll + page >= total && c->has_more) {
        mp_tui__load_history(t, c, true);
        total = mp_tui__conv_lines(t);
    }
    if (c->scroll > total - page)
        c->scroll = total - page;
    if (c->scroll < 0)
        c->scroll = 0;
    if (c->scroll == 0)
        mp_tui__mark_read(t);
}

static void on_enter(mp_tui_t *t)
{
    if (t->focus == MP_TUI_FOCUS_LIST) {
        if (t->sel < t->model.n_convs)
            open_conv(t, t->model.convs[t->sel]);
        return;
    }
    if (t->open == NULL)
        return;
    const char *text = t->input.buf;
    while (*text == ' ')
        text++;
    if (strcmp(text, "/quit") == 0) {
        t->quit = true;
        return;
    }
    if (*text != '\0')
        mp_tui__send_text(t, t->input.buf);
    mp_tui__input_clear(&t->input);
}

static void on_up_down(mp_tui_t *t, int dir)
{
    if (t->focus == MP_TUI_FOCUS_CONV) {
        scroll_by(t, -dir);
        return;
    }
    if (dir < 0 && t->sel > 0)
        t->sel--;
    else if (dir > 0 && t->sel + 1 < t->model.n_convs)
        t->sel++;
}

static void on_key_code(mp_tui_t *t, wint_t k)
{
    int page = mp_tui__page_lines() - 1;
    switch (k) {
    case KEY_RESIZE:
        break;
    case KEY_F(10):
        t->quit = true;
        break;
    case KEY_UP:
        on_up_down(t, -1);
        break;
    case KEY_DOWN:
        on_up_down(t, 1);
        break;
    case KEY_PPAGE:
        scroll_by(t, page > 0 ? page : 1);
        break;
    case KEY_NPAGE:
        scroll_by(t, page > 0 ? -page : -1);
        break;
    case KEY_ENTER:
        on_enter(t);
        break;
    case KEY_BACKSPACE:
        mp_tui__input_backspace(&t->input);
        break;
    case KEY_DC:
        mp_tui__input_delete(&t->input);
        break;
    case KEY_LEFT:
        mp_tui__input_left(&t->input);
        break;
    case KEY_RIGHT:
        mp_tui__input_right(&t->input);
        break;
    case KEY_HOME:
        mp_tui__input_home(&t->input);
        break;
    case KEY_END:
        mp_tui__input_end(&t->input);
        break;
    default:
        break;
    }
}

static void on_char(mp_tui_t *t, wint_t c)
{
    switch (c) {
    case 3: /* Ctrl-C: raw mode delivers it as a key */
        t->quit = true;
        return;
    case '\t':
        if (t->focus == MP_TUI_FOCUS_LIST && t->open != NULL)
            t->focus = MP_TUI_FOCUS_CONV;
        else
            t->focus = MP_TUI_FOCUS_LIST;
        return;
    case '\r':
    case '\n':
        on_enter(t);
        return;
    case 27: /* Esc */
        t->focus = MP_TUI_FOCUS_LIST;
        return;
    case 127:
    case 8:
        mp_tui__input_backspace(&t->input);
        return;
    case 21: /* Ctrl-U */
        mp_tui__input_kill(&t->input);
        return;
    case 1: /* Ctrl-A */
        mp_tui__input_home(&t->input);
        return;
    case 5: /* Ctrl-E */
        mp_tui__input_end(&t->input);
        return;
    default:
        break;
    }
    if (t->open == NULL)
        return;
    if (mp_tui__input_insert(&t->input, (uint32_t)c)) {
        t->focus = MP_TUI_FOCUS_CONV;
        mp_tui__send_typing(t);
    }
}

static void read_keys(mp_tui_t *t)
{
    for (int n = 0; n < 4096 && !t->quit; n++) {
        wint_t k;
        int rc = get_wch(&k);
        if (rc == ERR)
            break;
        if (rc == KEY_CODE_YES)
            on_key_code(t, k);
        else
            on_char(t, k);
        t->dirty = true;
    }
}

/* ---- the loop ---------------------------------------------------------------------------- */

/* Whether a key or a frame is waiting (without waiting for one). */
static bool input_waiting(mp_tui_t *t)
{
    struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                            {.fd = mp_tui__net_fd(t), .events = POLLIN}};
    return poll(fds, 2, 0) > 0;
}

static void loop(mp_tui_t *t)
{
    while (!t->quit && got_signal == 0) {
        read_keys(t);
        if (t->quit)
            break;
        mp_tui__net_pump(t);
        if (t->dirty)
            mp_tui__draw(t);
        /* Names are asked for once the screen shows what is known, and only
         * while nothing waits to be handled. */
        if (mp_tui__lookup_due(t) && !input_waiting(t)) {
            mp_tui__lookup_one(t);
            continue;
        }
        int64_t wait = mp_tui__net_deadline(t) - mp_mono_ms();
        if (wait < 0)
            wait = 0;
        if (wait > 30000)
            wait = 30000;
        struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                                {.fd = mp_tui__net_fd(t), .events = POLLIN}};
        /* a negative fd is ignored by poll(): nothing to watch while offline */
        if (poll(fds, 2, (int)wait) < 0 && errno != EINTR)
            break;
        /* the terminal went away (an SSH connection dropped): nobody to chat with */
        if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL))
            break;
    }
}

/* ---- set-up and tear-down ----------------------------------------------------------------- */

/* Everything that can fail before the screen is taken: connect, resolve TO,
 * load the list. 0 or -1 (e). */
static int prepare(mp_tui_t *t, const char *to, mp_tui_conv_t **start, mpr_err_t *e)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        mpr_fail(e, MPR_EXIT_USAGE, "usage", "chat needs a terminal on its input and output");
        return -1;
    }
    if (mp_tui__connect(t, e) != 0)
        return -1;
    mpr_target_t target;
    if (to != NULL && mpr_resolve(t->s, to, &target, e) != 0)
        return -1;
    if (mp_tui__load_list(t, e) != 0)
        return -1;
    if (to != NULL) {
        *start = mp_tui__conv_find(&t->model, target.conversation);
        if (*start == NULL) {
            *start = mp_tui__conv_get(&t->model, target.conversation, true);
            snprintf((*start)->label, sizeof(*start)->label, "%s", target.label);
            snprintf((*start)->kind, sizeof(*start)->kind, "%s", target.kind);
        }
    }
    return 0;
}

typedef struct saved_signals {
    struct sigaction term, hup, intr, pipe;
} saved_signals_t;

static void signals_take(saved_signals_t *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns and the loop ends */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old->term);
    sigaction(SIGHUP, &sa, &old->hup);
    sigaction(SIGINT, &sa, &old->intr);
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old->pipe);
}

static void signals_give_back(const saved_signals_t *old)
{
    sigaction(SIGTERM, &old->term, NULL);
    sigaction(SIGHUP, &old->hup, NULL);
    sigaction(SIGINT, &old->intr, NULL);
    sigaction(SIGPIPE, &old->pipe, NULL);
}

static int run_screen(mp_tui_t *t, mp_tui_conv_t *start, mpr_err_t *e)
{
    /* newterm, unlike initscr, returns instead of exiting when the terminal
     * type is unknown */
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (scr == NULL) {
        const char *term = getenv("TERM");
        return mpr_fail(e, MPR_EXIT_USAGE, "usage", "cannot use the terminal type '%s'",
                        term ? term : "");
    }
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    mp_tui__colors();
    if (start != NULL)
        open_conv(t, start);
    t->dirty = true;
    loop(t);
    endwin();
    delscreen(scr);
    return 0;
}

static void free_names(mp_map_t *m)
{
    mp_map_iter_t it;
    void *v;
    mp_map_iter_init(m, &it);
    while (mp_map_iter_next(m, &it, NULL, &v))
        mp_free(v);
    mp_map_free(m);
}

int mp_tui_run(mpr_session_t *s, const char *to, mpr_err_t *e)
{
    setlocale(LC_ALL, "");
    /* Over SSH the locale is often not passed on (LANG unset: "C", ASCII);
     * message text is UTF-8 whatever the locale says, and so are nearly all
     * terminals today, so measure and draw it as such. */
    if (strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
        setlocale(LC_CTYPE, "C.UTF-8");
    memset(e, 0, sizeof *e);
    mp_tui_t *t = mp_calloc(1, sizeof *t);
    t->s = s;
    t->names = mpr_names_new(s);
    snprintf(t->model.me, sizeof t->model.me, "%s", s->cred.user_id);
    t->next_frame_id = MP_TUI_OWN_IDS;
    t->backoff.max_ms = 5000;
    mp_map_init(&t->users);
    t->focus = MP_TUI_FOCUS_LIST;
    mp_tui__input_clear(&t->input);
    mp_tui_conv_t *start = NULL;
    int rc = MPR_EXIT_OK;
    if (prepare(t, to, &start, e) != 0) {
        rc = e->exit;
        goto done;
    }
    /* From here a signal ends the loop so that the terminal is restored;
     * before, its default action is as good (nothing to restore). Quitting,
     * also by a signal, is a normal end. */
    saved_signals_t old;
    signals_take(&old);
    rc = run_screen(t, start, e);
    signals_give_back(&old);
    got_signal = 0;
done:
    if (t->ws != NULL)
        mpc_ws_free(t->ws);
    mpr_names_free(t->names);
    free_names(&t->users);
    mp_tui__model_free(&t->model);
    mp_free(t);
    return rc;
}
