/* End-to-end tests of `magpie chat`, driven inside tmux (an 80x24 pane,
 * send-keys, capture-pane) against a real server: alice chats in the
 * terminal, bob (and carol) talk to her over their own WebSockets. Covered:
 * typing a message sends it; bob's messages, typing and read receipts show;
 * CJK and emoji keep the layout aligned; unread counts of conversations that
 * are not open; one pane at a time on a narrow screen (and back on resize);
 * reconnecting after a server restart with the pending message sent once; a
 * refused message explained and given back; keys handled while the server
 * hangs and a new sender waits to be named; quitting exits 0 and gives the
 * terminal back; exit statuses before the screen starts. Every wait is a
 * repeated capture under a deadline. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#include <cmocka.h>

#include "test_chat_util.h"
#include "test_cli_util.h"

#define SCREEN_MS 15000 /* how long the screen may take to show something */

static mpt_server_t *srv;

/* One test's people: alice in the terminal, bob on a WebSocket. */
typedef struct fixture {
    char sock[64]; /* the tmux server's socket name (-L) */
    bool tmux_up;
    cli_home_t alice;
    mpt_session_t alice_s;
    chat_dev_t bob;
    chat_dev_t carol; /* when a test needs a third person */
    char direct[24];  /* alice and bob's conversation */
    char exit_file[300];
    bool server_stopped; /* SIGSTOPped: resumed in the teardown */
} fixture_t;

/* ---- tmux ------------------------------------------------------------------------ */

/* Runs `tmux -L sock args...` to the end (bounded), its stdout into out
 * (may be NULL). Returns its exit status, -1 when it did not finish. */
static int tmux_run(const fixture_t *f, char *out, size_t cap, const char *const *args)
{
    const char *argv[32] = {"tmux", "-L", f->sock};
    int n = 3;
    for (int i = 0; args[i] != NULL && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int po[2];
    assert_int_equal(pipe(po), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(po[1], 1);
        close(po[0]);
        close(po[1]);
        execvp("tmux", (char *const *)argv);
        _exit(127);
    }
    close(po[1]);
    size_t len = 0;
    long long deadline = mpt_mono_ms() + 10000;
    for (;;) {
        long long left = deadline - mpt_mono_ms();
        struct pollfd p = {.fd = po[0], .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        char tmp[4096];
        ssize_t r = read(po[0], tmp, sizeof tmp);
        if (r <= 0)
            break;
        if (out != NULL && len + (size_t)r < cap) {
            memcpy(out + len, tmp, (size_t)r);
            len += (size_t)r;
        }
    }
    close(po[0]);
    if (out != NULL)
        out[len] = '\0';
    int status = 0;
    for (;;) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (mpt_mono_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        poll(NULL, 0, 10);
    }
}

#define tmux(f, ...) tmux_run((f), NULL, 0, (const char *const[]){__VA_ARGS__, NULL})

static void keys(const fixture_t *f, const char *k)
{
    assert_int_equal(tmux(f, "send-keys", "-t", "chat", k), 0);
}

/* Literal text, then Enter. */
static void type_line(const fixture_t *f, const char *text)
{
    assert_int_equal(tmux(f, "send-keys", "-t", "chat", "-l", text), 0);
    keys(f, "Enter");
}

static void capture(const fixture_t *f, char *out, size_t cap)
{
    int rc = tmux_run(f, out, cap, (const char *const[]){"capture-pane", "-p", "-t", "chat", NULL});
    assert_int_equal(rc, 0);
}

/* Waits until the pane shows needle; fills screen with the last capture. */
static bool wait_screen(const fixture_t *f, const char *needle, char *screen, size_t cap)
{
    long long deadline = mpt_mono_ms() + SCREEN_MS;
    for (;;) {
        capture(f, screen, cap);
        if (strstr(screen, needle) != NULL)
            return true;
        if (mpt_mono_ms() > deadline) {
            fprintf(stderr, "screen never showed '%s'; it shows:\n%s\n", needle, screen);
            return false;
        }
        poll(NULL, 0, 50); /* the next look at the screen */
    }
}

/* Waits until the pane no longer shows needle. */
static bool wait_screen_without(const fixture_t *f, const char *needle, char *screen, size_t cap)
{
    long long deadline = mpt_mono_ms() + SCREEN_MS;
    for (;;) {
        capture(f, screen, cap);
        if (strstr(screen, needle) == NULL)
            return true;
        if (mpt_mono_ms() > deadline) {
            fprintf(stderr, "screen still shows '%s':\n%s\n", needle, screen);
            return false;
        }
        poll(NULL, 0, 50); /* the next look at the screen */
    }
}

/* The line of screen holding needle, copied into line. */
static bool line_with(const char *screen, const char *needle, char *line, size_t cap)
{
    const char *hit = strstr(screen, needle);
    if (hit == NULL)
        return false;
    const char *start = hit;
    while (start > screen && start[-1] != '\n')
        start--;
    const char *end = strchr(hit, '\n');
    size_t n = end ? (size_t)(end - start) : strlen(start);
    if (n >= cap)
        n = cap - 1;
    memcpy(line, start, n);
    line[n] = '\0';
    return true;
}

/* The display column where needle starts in line, or -1. */
static int column_of(const char *line, const char *needle)
{
    const char *hit = strstr(line, needle);
    if (hit == NULL)
        return -1;
    wchar_t w[512];
    char prefix[2048];
    size_t n = (size_t)(hit - line);
    memcpy(prefix, line, n);
    prefix[n] = '\0';
    size_t k = mbstowcs(w, prefix, 511);
    assert_true(k != (size_t)-1);
    return wcswidth(w, k);
}

/* ---- the fixture ---------------------------------------------------------------- */

/* Starts `magpie chat ARGS` as alice in a fresh tmux server, with locale
 * ("NAME=value") as its only locale variable; when it ends,
 * the shell writes its exit status and whether the terminal is back in
 * canonical mode, and waits to be looked at. */
static void start_chat_in(fixture_t *f, const char *locale, const char *args)
{
    const char *bin = getenv("MAGPIE_BIN");
    assert_non_null(bin);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "env -u LC_ALL -u LANG %s XDG_CONFIG_HOME='%s' MAGPIE_URL='%s' "
             "sh -c 'echo $$ >\"%s/pid\"; exec \"$0\" \"$@\"' '%s' chat %s "
             "2>'%s/stderr'; "
             "echo $? >'%s'; "
             "if stty -a | grep -q -- -icanon; then echo TTY-RAW; else echo TTY-COOKED; fi; "
             "echo \"chat exit=$(cat '%s')\"; sleep 60",
             locale, f->alice.dir, f->alice.url, f->alice.dir, bin, args, f->alice.dir,
             f->exit_file, f->exit_file);
    assert_int_equal(tmux(f, "new-session", "-d", "-s", "chat", "-x", "80", "-y", "24", cmd), 0);
    f->tmux_up = true;
}

static void start_chat(fixture_t *f, const char *args)
{
    start_chat_in(f, "LC_ALL=C.UTF-8", args);
}

static int fixture_setup(void **state)
{
    static int counter;
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->sock, sizeof f->sock, "magpie-chat-%d-%d", (int)getpid(), ++counter);
    cli_login_new(&f->alice, srv, "alice", &f->alice_s);
    snprintf(f->exit_file, sizeof f->exit_file, "%s/exit", f->alice.dir);
    dev_new_user(srv, "bob", &f->bob);
    json_t *body = json_pack("{s:s}", "username", f->alice_s.username);
    mpc_response_t r = {0};
    int st = mpt_http(srv, "POST", "/v1/conversations/direct", f->bob.s.access, body, &r);
    json_decref(body);
    assert_true(st == 200 || st == 201);
    snprintf(f->direct, sizeof f->direct, "%s", jstr(r.json, "conversation_id"));
    mpc_response_free(&r);
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    fixture_t *f = *state;
    if (f->server_stopped)
        kill(srv->pid, SIGCONT);
    if (f->tmux_up) {
        tmux(f, "kill-server");
        /* tmux leaves its socket behind: ${TMUX_TMPDIR:-/tmp}/tmux-UID/NAME */
        const char *dir = getenv("TMUX_TMPDIR");
        char path[512];
        snprintf(path, sizeof path, "%s/tmux-%u/%s", dir && dir[0] ? dir : "/tmp",
                 (unsigned)getuid(), f->sock);
        unlink(path);
    }
    dev_close(&f->bob);
    dev_close(&f->carol);
    cli_home_free(&f->alice);
    free(f);
    return 0;
}

/* Starts alice's chat on bob (in a locale) and waits for it to show the
 * conversation. */
static void chat_with_bob_in(fixture_t *f, const char *locale, char *screen, size_t cap)
{
    char args[64];
    snprintf(args, sizeof args, "@%s", f->bob.s.username);
    start_chat_in(f, locale, args);
    char label[64];
    snprintf(label, sizeof label, "@%s", f->bob.s.username);
    assert_true(wait_screen(f, "Enter: send", screen, cap));
    assert_true(wait_screen(f, label, screen, cap));
}

static void chat_with_bob(fixture_t *f, char *screen, size_t cap)
{
    chat_with_bob_in(f, "LC_ALL=C.UTF-8", screen, cap);
}

/* bob sends text to alice. */
static void bob_says(fixture_t *f, const char *text)
{
    static int n;
    char cmid[32];
    snprintf(cmid, sizeof cmid, "bob-%d", ++n);
    json_t *r = send_msg(f->bob.ws, f->direct, NULL, cmid, text);
    assert_true(is_ok(r));
    json_decref(r);
}

/* ---- the tests ---------------------------------------------------------------------- */

static void test_typed_message_reaches_bob(void **state)
{
    fixture_t *f = *state;
    char screen[8192];
    chat_with_bob(f, screen, sizeof screen);
    type_line(f, "hello from the terminal");
    long long deadline = mpt_mono_ms() + SCREEN_MS;
    for (;;) {
        json_t *ev = NULL;
        long long left = deadline - mpt_mono_ms();
        assert_true(left > 0);
        assert_int_equal(mpc_ws_next_event(f->bob.ws, (int)left, &ev), MPC_OK);
        json_t *m = json_object_get(ev, "message");
        bool hit = strcmp(jstr(ev, "event"), "message") == 0 &&
                   strcmp(jstr(m, "text"), "hello from the terminal") == 0;
        if (hit) {
            assert_string_equal(jstr(m, "sender"), f->alice_s.user_id);
            assert_string_equal(jstr(m, "conversation"), f->direct);
        }
        json_decref(ev);
        if (hit)
            break;
    }
    /* acked: the pending mark turned into a sent mark */
    assert_true(wait_screen(f, "hello from the terminal \xE2\x9C\x93", screen, sizeof screen));
}

static void test_bob_message_appears(void **state)
{
    fixture_t *f = *state;
    char screen[8192], line[512];
    chat_with_bob(f, screen, sizeof screen);
    bob_says(f, "hi alice, it is bob");
    assert_true(wait_screen(f, "hi alice, it is bob", screen, sizeof screen));
    assert_true(line_with(screen, "hi alice, it is bob", line, sizeof line));
    assert_non_null(strstr(line, f->bob.s.username)); /* the sender's name on its line */
}

static void test_typing_indicator(void **state)
{
    fixture_t *f = *state;
    char screen[8192];
    chat_with_bob(f, screen, sizeof screen);
    assert_null(strstr(screen, "is typing"));
    json_t *r = call(f->bob.ws, "typing", json_pack("{s:s}", "conversation", f->direct));
    assert_true(is_ok(r));
    json_decref(r);
    char want[128];
    snprintf(want, sizeof want, "%s is typing", f->bob.s.username);
    assert_true(wait_screen(f, want, screen, sizeof screen));
}

static void test_read_receipt_moves_mark(void **state)
{
    fixture_t *f = *state;
    char screen[8192], line[512];
    chat_with_bob(f, screen, sizeof screen);
    type_line(f, "please read this");
    assert_true(wait_screen(f, "please read this \xE2\x9C\x93", screen, sizeof screen));
    assert_true(line_with(screen, "please read this", line, sizeof line));
    assert_null(strstr(line, "\xE2\x9C\x93\xE2\x9C\x93")); /* not yet read: one mark */
    /* bob reads up to the newest message */
    json_t *h = call(f->bob.ws, "history", json_pack("{s:s}", "conversation", f->direct));
    json_t *msgs = json_object_get(h, "messages");
    assert_true(json_array_size(msgs) >= 1);
    json_int_t seq = jint(json_array_get(msgs, json_array_size(msgs) - 1), "seq");
    json_decref(h);
    json_t *r =
        call(f->bob.ws, "read", json_pack("{s:s,s:I}", "conversation", f->direct, "seq", seq));
    assert_true(is_ok(r));
    json_decref(r);
    assert_true(wait_screen(f, "please read this \xE2\x9C\x93\xE2\x9C\x93", screen, sizeof screen));
}

static void test_wide_characters_keep_layout(void **state)
{
    fixture_t *f = *state;
    char screen[8192], line[512];
    /* as over an SSH connection that does not pass the locale on */
    chat_with_bob_in(f, "LANG=C", screen, sizeof screen);
    const char *text = "漢字かな 한국어 😀🎉 ok";
    bob_says(f, text);
    assert_true(wait_screen(f, text, screen, sizeof screen));
    assert_true(line_with(screen, text, line, sizeof line)); /* one line, whole */
    /* the list's divider stays in the same column on every row above the input */
    int row = 0, divider = -1;
    for (char *p = screen; *p != '\0' && row < 22; row++) {
        char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        snprintf(line, sizeof line, "%.*s", (int)n, p);
        int col = column_of(line, "\xE2\x94\x82");
        if (divider < 0)
            divider = col;
        if (col != divider)
            fail_msg("row %d: divider at column %d, not %d:\n%s", row, col, divider, screen);
        p = nl ? nl + 1 : p + n;
    }
    assert_int_equal(row, 22);
    assert_int_equal(divider, 24);
    /* the message text starts right of the divider */
    assert_true(line_with(screen, text, line, sizeof line));
    assert_true(column_of(line, text) > divider);
}

static void test_unread_count_of_other_conversation(void **state)
{
    fixture_t *f = *state;
    char screen[8192], line[512];
    chat_with_bob(f, screen, sizeof screen);
    chat_dev_t *carol = &f->carol;
    dev_new_user(srv, "carol", carol);
    for (int i = 1; i <= 2; i++) {
        char cmid[16];
        snprintf(cmid, sizeof cmid, "carol-%d", i);
        json_t *r = send_msg(carol->ws, NULL, f->alice_s.user_id, cmid, "are you there?");
        assert_true(is_ok(r));
        json_decref(r);
    }
    char label[64];
    snprintf(label, sizeof label, "@%s", carol->s.username);
    long long deadline = mpt_mono_ms() + SCREEN_MS;
    for (;;) {
        assert_true(wait_screen(f, label, screen, sizeof screen));
        assert_true(line_with(screen, label, line, sizeof line));
        char *end = strstr(line, "\xE2\x94\x82");
        assert_non_null(end);
        *end = '\0';
        if (strstr(line, " 2 ") != NULL)
            break;
        if (mpt_mono_ms() > deadline)
            fail_msg("no unread count 2 for %s:\n%s", label, screen);
        poll(NULL, 0, 50);
    }
    /* the open conversation is not what counts: bob's row has no count */
    char bob_label[64];
    snprintf(bob_label, sizeof bob_label, "@%s", f->bob.s.username);
    assert_true(line_with(screen, bob_label, line, sizeof line));
    /* and carol's conversation went to the top of the list */
    const char *rows = strchr(screen, '\n') + 1; /* below the header, which names bob */
    assert_non_null(strstr(rows, bob_label));
    assert_true(strstr(rows, label) < strstr(rows, bob_label));
}

static void test_narrow_screen_shows_one_pane(void **state)
{
    fixture_t *f = *state;
    char screen[8192], line[512];
    chat_with_bob(f, screen, sizeof screen);
    bob_says(f, "seen on a narrow screen");
    assert_true(wait_screen(f, "seen on a narrow screen", screen, sizeof screen));
    /* 50 columns: the conversation alone, no list and no divider */
    assert_int_equal(tmux(f, "resize-window", "-t", "chat", "-x", "50", "-y", "24"), 0);
    assert_true(wait_screen_without(f, "\xE2\x94\x82", screen, sizeof screen));
    assert_true(line_with(screen, "seen on a narrow screen", line, sizeof line));
    assert_true(column_of(line, "seen on a narrow screen") < 24);
    assert_null(strstr(screen, "Conversations"));
    /* Esc: the list alone */
    keys(f, "Escape");
    assert_true(wait_screen(f, "Conversations", screen, sizeof screen));
    assert_null(strstr(screen, "seen on a narrow screen"));
    /* wide again: both panes */
    assert_int_equal(tmux(f, "resize-window", "-t", "chat", "-x", "80", "-y", "24"), 0);
    assert_true(wait_screen(f, "\xE2\x94\x82", screen, sizeof screen));
    assert_true(wait_screen(f, "seen on a narrow screen", screen, sizeof screen));
}

static void test_page_up_loads_older_history(void **state)
{
    fixture_t *f = *state;
    char screen[8192];
    /* more than one history page (50) before the chat starts */
    for (int i = 1; i <= 70; i++) {
        char text[32];
        snprintf(text, sizeof text, "old %03d", i);
        bob_says(f, text);
    }
    chat_with_bob(f, screen, sizeof screen);
    assert_true(wait_screen(f, "old 070", screen, sizeof screen));
    assert_null(strstr(screen, "old 001"));
    for (int i = 0; i < 6; i++)
        keys(f, "PPage");
    assert_true(wait_screen(f, "old 001", screen, sizeof screen));
    assert_null(strstr(screen, "old 070"));
    /* and back down to the newest */
    for (int i = 0; i < 6; i++)
        keys(f, "NPage");
    assert_true(wait_screen(f, "old 070", screen, sizeof screen));
}

static void test_reconnects_and_catches_up(void **state)
{
    fixture_t *f = *state;
    char screen[8192];
    chat_with_bob(f, screen, sizeof screen);
    dev_close(&f->bob);
    assert_int_equal(mpt_server_terminate(srv), 0);
    assert_true(wait_screen(f, "reconnecting", screen, sizeof screen));
    /* typed while offline: pending, sent once the connection is back */
    type_line(f, "typed while offline");
    assert_true(wait_screen(f, "typed while offline \xE2\x80\xA6", screen, sizeof screen));
    assert_int_equal(mpt_server_restart(srv), 0);
    dev_open(srv, &f->bob);
    /* most likely before alice is back (then her sync brings it), else live */
    bob_says(f, "while you were away");
    assert_true(wait_screen(f, "typed while offline \xE2\x9C\x93", screen, sizeof screen));
    assert_true(wait_screen(f, "while you were away", screen, sizeof screen));
    bob_says(f, "welcome back");
    assert_true(wait_screen(f, "welcome back", screen, sizeof screen));
    /* stored exactly once */
    json_t *h = call(f->bob.ws, "history", json_pack("{s:s}", "conversation", f->direct));
    int seen = 0;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(h, "messages"), i, m) seen +=
        strcmp(jstr(m, "text"), "typed while offline") == 0;
    json_decref(h);
    assert_int_equal(seen, 1);
}

static void test_refused_send_shows_why(void **state)
{
    fixture_t *f = *state;
    char screen[8192];
    start_chat(f, "world");
    assert_true(wait_screen(f, "Enter: send", screen, sizeof screen));
    /* two posts at once: the world room's slow mode refuses the second */
    assert_int_equal(
        tmux(f, "send-keys", "-t", "chat", "first post", "Enter", "second post", "Enter"), 0);
    assert_true(wait_screen(f, "not sent: slow mode", screen, sizeof screen));
    assert_true(wait_screen(f, "first post \xE2\x9C\x93", screen, sizeof screen));
    /* the refused text is back on the input line, to send again */
    assert_non_null(strstr(screen, "\n> second post"));
}

/* The pid of alice's chat (its shell wrote it before exec). */
static pid_t chat_pid(const fixture_t *f)
{
    char path[300];
    snprintf(path, sizeof path, "%s/pid", f->alice.dir);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    int pid = 0;
    assert_int_equal(fscanf(fp, "%d", &pid), 1);
    fclose(fp);
    assert_true(pid > 1);
    return (pid_t)pid;
}

/* A message from somebody new arrives while the server hangs: the chat must
 * not wait on the server to name the sender or the conversation before it
 * handles keys again (a lookup from inside event handling used to hold the
 * keyboard for the whole HTTP timeout, 30 s). */
static void test_keys_work_while_names_hang(void **state)
{
    fixture_t *f = *state;
    char screen[8192];
    chat_with_bob(f, screen, sizeof screen);
    dev_new_user(srv, "carol", &f->carol);
    /* alice's other connection tells when the server has sent the event */
    mpc_ws_t *other = mpt_ws_open(srv, f->alice_s.access);
    assert_non_null(other);
    /* the chat stopped, so that it reads the event only once the server hangs */
    pid_t pid = chat_pid(f);
    assert_int_equal(kill(pid, SIGSTOP), 0);
    json_t *r = send_msg(f->carol.ws, NULL, f->alice_s.user_id, "carol-1", "hello from carol");
    assert_true(is_ok(r));
    json_decref(r);
    long long deadline = mpt_mono_ms() + SCREEN_MS;
    for (bool seen = false; !seen;) {
        json_t *ev = NULL;
        long long left = deadline - mpt_mono_ms();
        assert_true(left > 0);
        assert_int_equal(mpc_ws_next_event(other, (int)left, &ev), MPC_OK);
        seen = strcmp(jstr(ev, "event"), "message") == 0 &&
               strcmp(jstr(json_object_get(ev, "message"), "text"), "hello from carol") == 0;
        json_decref(ev);
    }
    mpc_ws_free(other);
    assert_int_equal(kill(srv->pid, SIGSTOP), 0);
    f->server_stopped = true;
    assert_int_equal(kill(pid, SIGCONT), 0);
    /* well within the HTTP timeout of the lookups that used to block */
    assert_int_equal(tmux(f, "send-keys", "-t", "chat", "-l", "typed during the hang"), 0);
    long long typed = mpt_mono_ms();
    assert_true(wait_screen(f, "> typed during the hang", screen, sizeof screen));
    long long took = mpt_mono_ms() - typed;
    if (took > 8000)
        fail_msg("the typed text took %lld ms to show", took);
    /* the new conversation is listed, under its id until the server answers */
    assert_true(wait_screen(f, " 1 ", screen, sizeof screen));
    assert_int_equal(kill(srv->pid, SIGCONT), 0);
    f->server_stopped = false;
    /* and named once it does */
    char label[64];
    snprintf(label, sizeof label, "@%s", f->carol.s.username);
    long long named = mpt_mono_ms() + 30000;
    while (capture(f, screen, sizeof screen), strstr(screen, label) == NULL) {
        if (mpt_mono_ms() > named)
            fail_msg("the conversation was never named %s:\n%s", label, screen);
        poll(NULL, 0, 100); /* the next look at the screen */
    }
}

static void test_quit_restores_terminal(void **state)
{
    fixture_t *f = *state;
    char screen[8192];
    chat_with_bob(f, screen, sizeof screen);
    keys(f, "C-c");
    assert_true(wait_screen(f, "chat exit=", screen, sizeof screen));
    assert_non_null(strstr(screen, "chat exit=0"));
    assert_non_null(strstr(screen, "TTY-COOKED"));
    assert_null(strstr(screen, "Conversations")); /* the chat's screen is gone */
    /* and nothing on its standard error: no sanitizer or leak report */
    char path[300], err[4096] = "";
    snprintf(path, sizeof path, "%s/stderr", f->alice.dir);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(err, 1, sizeof err - 1, fp);
    fclose(fp);
    err[n] = '\0';
    if (n != 0)
        fail_msg("chat wrote to stderr:\n%s", err);
}

static void test_slash_quit(void **state)
{
    fixture_t *f = *state;
    char screen[8192];
    chat_with_bob(f, screen, sizeof screen);
    type_line(f, "/quit");
    assert_true(wait_screen(f, "chat exit=", screen, sizeof screen));
    assert_non_null(strstr(screen, "chat exit=0"));
}

static void test_not_logged_in_exits_3(void **state)
{
    (void)state;
    cli_home_t nobody;
    cli_home_new(&nobody, srv);
    cli_result_t *r = calloc(1, sizeof *r);
    assert_non_null(r);
    assert_int_equal(cli_run(&nobody, r, NULL, "chat", NULL), 3);
    assert_non_null(strstr(r->err, "not_logged_in"));
    assert_int_equal(cli_run(&nobody, r, NULL, "chat", "--bogus", NULL), 2);
    assert_int_equal(cli_run(&nobody, r, NULL, "chat", "--help", NULL), 0);
    assert_non_null(strstr(r->out, "usage: magpie chat"));
    free(r);
    cli_home_free(&nobody);
}

static int setup(void **state)
{
    (void)state;
    setlocale(LC_ALL, "C.UTF-8");
    /* tmux and the chat read the locale from the environment */
    setenv("LC_ALL", "C.UTF-8", 1);
    const char *flags[] = {CHAT_FLAGS, NULL};
    srv = mpt_server_start(flags);
    return srv ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = mpt_server_stop(srv);
    srv = NULL;
    return rc == 0 ? 0 : -1;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_typed_message_reaches_bob),
        T(test_bob_message_appears),
        T(test_typing_indicator),
        T(test_read_receipt_moves_mark),
        T(test_wide_characters_keep_layout),
        T(test_unread_count_of_other_conversation),
        T(test_narrow_screen_shows_one_pane),
        T(test_page_up_loads_older_history),
        T(test_reconnects_and_catches_up),
        T(test_refused_send_shows_why),
        T(test_keys_work_while_names_hang),
        T(test_quit_restores_terminal),
        T(test_slash_quit),
        cmocka_unit_test(test_not_logged_in_exits_3),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
