/* End-to-end tests of `magpie send` against a real server: a killed
 * `send --lines --id` run again stores every line exactly once and in
 * order, wherever the kill landed; a server crash and restart in the middle
 * of a stream loses and doubles nothing; the world room (through its slow
 * mode), groups by title, replies and files; and the exit codes 1, 2 and 3
 * with what they print. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_cli_send_util.h"
#include "test_files_util.h"

static mpt_server_t *srv;

static int setup(void **state)
{
    (void)state;
    /* A short slow mode, so that the world room test rides it out quickly. */
    const char *flags[] = {CHAT_FLAGS, "--world_slow_mode", "300", NULL};
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

/* "m-1\nm-2\n...": lines from..to of printf(fmt, i), into a malloc'd string. */
static char *lines(const char *fmt, int from, int to)
{
    size_t cap = (size_t)(to - from + 1) * 64 + 1, len = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    s[0] = '\0';
    for (int i = from; i <= to; i++) {
        len += (size_t)snprintf(s + len, cap - len, fmt, i);
        s[len++] = '\n';
        s[len] = '\0';
    }
    return s;
}

/* The direct conversation of a and b, as b sees it. */
static void direct_with(const mpt_session_t *b, const char *user_id, char out[24])
{
    chat_dev_t d = {.s = *b};
    assert_int_equal(direct_conv(srv, &d, user_id, out), 200);
}

/* A killed `send --lines --id X` is run again on all the lines: the
 * recipient has each line once, seq 1..N in order. First a kill at a known
 * point (three lines acked, the command waiting for more input), then one
 * at whatever point it lands (200 lines written at once). */
static void test_killed_and_rerun(void **state)
{
    (void)state;
    cli_home_t alice;
    mpt_session_t a, b, c;
    cli_login_new(&alice, srv, "ka", &a);
    assert_int_equal(mpt_user_new(srv, "kb", &b), 0);
    assert_int_equal(mpt_user_new(srv, "kc", &c), 0);
    char to_b[40], to_c[40], conv_b[24], conv_c[24];
    snprintf(to_b, sizeof to_b, "@%s", b.username);
    snprintf(to_c, sizeof to_c, "@%s", c.username);

    cli_proc_t *p = cli_spawn(&alice, "send", "--lines", "--id", "batch7", "--json", to_b, NULL);
    cli_write(p, "line 1\nline 2\n\nline 3\n");
    for (int i = 1; i <= 3; i++) {
        json_t *ack = next_json(p);
        char want[32];
        snprintf(want, sizeof want, "batch7-%d", i);
        assert_string_equal(jstr(ack, "client_msg_id"), want);
        assert_int_equal(jint(ack, "seq"), i);
        assert_false(json_is_true(json_object_get(ack, "duplicate")));
        json_decref(ack);
    }
    kill(p->pid, SIGKILL);
    assert_int_equal(cli_wait(p, CLI_TIMEOUT_MS), 128 + SIGKILL);
    cli_proc_free(p);

    /* The rerun on all ten lines (without the empty one: empty lines are
     * not counted, so the numbering is the same). */
    static cli_result_t r;
    char *all = lines("line %d", 1, 10);
    assert_int_equal(
        cli_run(&alice, &r, all, "send", "--lines", "--id", "batch7", "--json", to_b, NULL), 0);
    json_t *acks = json_lines(r.out);
    assert_int_equal(json_array_size(acks), 10);
    for (size_t i = 0; i < 10; i++) {
        json_t *ack = json_array_get(acks, i);
        assert_int_equal(jint(ack, "seq"), (long long)i + 1);
        assert_int_equal(json_is_true(json_object_get(ack, "duplicate")), i < 3);
    }
    json_decref(acks);
    free(all);
    direct_with(&b, a.user_id, conv_b);
    assert_texts(srv, b.access, conv_b, 1, 10, "line %d");

    /* Killed wherever it is after 200 lines arrive at once. */
    all = lines("n%d", 1, 200);
    p = cli_spawn(&alice, "send", "--lines", "--id", "burst", to_c, NULL);
    cli_write(p, all);
    kill(p->pid, SIGKILL);
    assert_int_equal(cli_wait(p, CLI_TIMEOUT_MS), 128 + SIGKILL);
    cli_proc_free(p);
    assert_int_equal(cli_run(&alice, &r, all, "send", "--lines", "--id", "burst", to_c, NULL), 0);
    /* And once more: every line is already there. */
    assert_int_equal(cli_run(&alice, &r, all, "send", "--lines", "--id", "burst", to_c, NULL), 0);
    free(all);
    direct_with(&c, a.user_id, conv_c);
    assert_texts(srv, c.access, conv_c, 1, 200, "n%d");
    cli_home_free(&alice);
}

/* The server crashes while a `send --lines` streams, and comes back: every
 * message is stored exactly once, in order, and the command exits 0. Then
 * a crash it does not come back from within --timeout: exit 3. */
static void test_server_restart(void **state)
{
    (void)state;
    cli_home_t alice;
    mpt_session_t a, b;
    cli_login_new(&alice, srv, "ra", &a);
    assert_int_equal(mpt_user_new(srv, "rb", &b), 0);
    char to_b[40], conv[24];
    snprintf(to_b, sizeof to_b, "@%s", b.username);

    cli_proc_t *p = cli_spawn(&alice, "send", "--lines", "--json", to_b, NULL);
    char *first = lines("r%d", 1, 100), *second = lines("r%d", 101, 200);
    cli_write(p, first);
    json_t *ack = next_json(p); /* streaming has begun */
    json_decref(ack);
    mpt_server_kill9(srv); /* in the middle of the stream */
    assert_int_equal(mpt_server_restart(srv), 0);
    cli_write(p, second);
    assert_int_equal(cli_wait(p, 60000), 0);
    cli_proc_free(p);
    free(first);
    free(second);
    direct_with(&b, a.user_id, conv);
    assert_texts(srv, b.access, conv, 1, 200, "r%d");

    /* A server that stays away: the message waiting is given up after
     * --timeout, exit 3, and the command says how many went before. */
    p = cli_spawn(&alice, "send", "--lines", "--json", "--timeout", "2", to_b, NULL);
    cli_write(p, "r201\n");
    json_decref(next_json(p));
    mpt_server_kill9(srv);
    cli_write(p, "r202\n");
    long long t0 = mpt_mono_ms();
    assert_int_equal(cli_wait(p, CLI_TIMEOUT_MS), 3);
    assert_true(mpt_mono_ms() - t0 < 10000);
    assert_non_null(strstr(p->err, "timeout"));
    assert_non_null(strstr(p->err, "1 sent before it"));
    cli_proc_free(p);
    assert_int_equal(mpt_server_restart(srv), 0);
    assert_texts(srv, b.access, conv, 1, 201, "r%d");
    cli_home_free(&alice);
}

/* The world room (a post every 300 ms: the slow mode's refusals are waited
 * out), a group by its title, a reply, and messages from standard input. */
static void test_world_group_reply(void **state)
{
    (void)state;
    cli_home_t alice;
    mpt_session_t a, b;
    cli_login_new(&alice, srv, "wa", &a);
    assert_int_equal(mpt_user_new(srv, "wb", &b), 0);
    static cli_result_t r;

    char tag[40];
    snprintf(tag, sizeof tag, "w%d", (int)getpid());
    char *three = lines("WORLD %d", 1, 3);
    assert_int_equal(cli_run(&alice, &r, three, "send", "--lines", "-v", "world", NULL), 0);
    assert_non_null(strstr(r.err, "sent #"));
    assert_non_null(strstr(r.err, " to world"));
    free(three);
    json_t *world = NULL;
    assert_int_equal(http_json(srv, "GET", "/v1/world", b.access, NULL, &world), 200);
    json_t *wm = conv_messages(srv, b.access, jstr(world, "conversation_id"));
    size_t n = json_array_size(wm);
    assert_true(n >= 3);
    for (int i = 0; i < 3; i++) {
        json_t *m = json_array_get(wm, n - 3 + (size_t)i);
        char want[32];
        snprintf(want, sizeof want, "WORLD %d", i + 1);
        assert_string_equal(jstr(m, "text"), want);
        assert_string_equal(jstr(m, "sender"), a.user_id);
    }
    json_decref(wm);
    json_decref(world);

    /* #Title: bob's group with alice in it. */
    char title[64], group[24], to_group[80];
    snprintf(title, sizeof title, "Book club %s", tag);
    assert_int_equal(
        group_create(srv, b.access, title, json_pack("[s]", a.user_id), NULL, group, NULL), 201);
    snprintf(to_group, sizeof to_group, "#%s", title);
    assert_int_equal(cli_run(&alice, &r, "from stdin\n", "send", to_group, NULL), 0);
    assert_string_equal(r.out, ""); /* nothing on success */
    json_t *gm = conv_messages(srv, b.access, group);
    assert_int_equal(json_array_size(gm), 2); /* "created", then ours */
    assert_string_equal(jstr(json_array_get(gm, 1), "text"), "from stdin");
    json_decref(gm);

    /* A reply, by the id of the message replied to. */
    char to_b[40], conv[24];
    snprintf(to_b, sizeof to_b, "@%s", b.username);
    assert_int_equal(cli_run(&alice, &r, NULL, "send", "--json", to_b, "the question", NULL), 0);
    json_t *first = json_loads(r.out, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(first);
    assert_int_equal(cli_run(&alice, &r, NULL, "send", "--reply-to", jstr(first, "message_id"),
                             to_b, "the answer", NULL),
                     0);
    direct_with(&b, a.user_id, conv);
    json_t *dm = conv_messages(srv, b.access, conv);
    assert_int_equal(json_array_size(dm), 2);
    json_t *reply_to = json_object_get(json_array_get(dm, 1), "reply_to");
    assert_string_equal(jstr(reply_to, "message_id"), jstr(first, "message_id"));
    assert_string_equal(jstr(reply_to, "text"), "the question");
    json_decref(dm);
    json_decref(first);

    /* Anything but a message id is a usage error, not a message without its
     * reply. */
    static const char *const bad[] = {"12x", "", "#3", "123456789012345678901"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(cli_run(&alice, &r, NULL, "send", "--reply-to", bad[i], to_b, "no", NULL),
                         2);
        assert_non_null(strstr(r.err, "--reply-to"));
    }
    dm = conv_messages(srv, b.access, conv);
    assert_int_equal(json_array_size(dm), 2);
    json_decref(dm);
    cli_home_free(&alice);
}

/* --file: a picture goes as an image with its caption, other bytes as a
 * file with their name; a rerun with the same --id uploads again but sends
 * nothing new. */
static void test_file(void **state)
{
    (void)state;
    cli_home_t alice;
    mpt_session_t a, b;
    cli_login_new(&alice, srv, "fa", &a);
    assert_int_equal(mpt_user_new(srv, "fb", &b), 0);
    static cli_result_t r;
    char to_b[40], conv[24];
    snprintf(to_b, sizeof to_b, "@%s", b.username);
    fx_path_t pic = fx_image(alice.dir, "view.png", "png", 64, 48);
    fx_path_t notes = fx_join(alice.dir, "notes & plans.txt");
    fx_write(notes.s, "plain words\n", 12);

    assert_int_equal(
        cli_run(&alice, &r, NULL, "send", "--file", pic.s, "--id", "pic-1", to_b, "the view", NULL),
        0);
    assert_int_equal(cli_run(&alice, &r, NULL, "send", "--file", pic.s, "--id", "pic-1", "--json",
                             to_b, "the view", NULL),
                     0);
    assert_non_null(strstr(r.out, "\"duplicate\":true"));
    assert_int_equal(cli_run(&alice, &r, NULL, "send", "--file", notes.s, to_b, NULL), 0);

    direct_with(&b, a.user_id, conv);
    json_t *dm = conv_messages(srv, b.access, conv);
    assert_int_equal(json_array_size(dm), 2);
    json_t *img = json_array_get(dm, 0), *file = json_array_get(dm, 1);
    assert_string_equal(jstr(img, "kind"), "image");
    assert_string_equal(jstr(img, "text"), "the view");
    assert_int_equal(jint(json_object_get(img, "content"), "width"), 64);
    assert_string_equal(jstr(file, "kind"), "file");
    assert_string_equal(jstr(file, "text"), "");
    json_t *content = json_object_get(file, "content");
    assert_string_equal(jstr(content, "name"), "notes & plans.txt");
    assert_int_equal(jint(content, "size"), 12);
    assert_string_equal(jstr(content, "mime"), "text/plain");
    json_decref(dm);

    /* A missing file is the caller's mistake. */
    assert_int_equal(cli_run(&alice, &r, NULL, "send", "--file", "/nonexistent/x", to_b, NULL), 2);
    cli_home_free(&alice);
}

/* A port nothing listens on. */
static int closed_port(void)
{
    mpc_conn_t *c = NULL;
    for (int port = 20000 + (int)(getpid() % 20000);; port++) {
        c = mpc_connect("127.0.0.1", port, 1000);
        if (c == NULL)
            return port;
        mpc_conn_free(c);
    }
}

/* Exit statuses and what they print. */
static void test_errors(void **state)
{
    (void)state;
    cli_home_t alice, nobody;
    mpt_session_t a, b;
    cli_login_new(&alice, srv, "ea", &a);
    assert_int_equal(mpt_user_new(srv, "eb", &b), 0);
    static cli_result_t r;
    char to_b[40];
    snprintf(to_b, sizeof to_b, "@%s", b.username);

    /* 1: refused by the server, its code on stderr. */
    assert_int_equal(cli_run(&alice, &r, NULL, "send", "@nobody_here_at_all", "hi", NULL), 1);
    assert_non_null(strstr(r.err, "not_found"));
    char *long_text = malloc(4098);
    assert_non_null(long_text);
    memset(long_text, 'x', 4097);
    long_text[4097] = '\0';
    assert_int_equal(cli_run(&alice, &r, NULL, "send", to_b, long_text, NULL), 1);
    assert_non_null(strstr(r.err, "bad_request"));
    free(long_text);
    /* --lines stops at the first refusal and says how many went before. */
    assert_int_equal(
        cli_run(&alice, &r, "ok 1\nok 2\nbad\x01line\nnever\n", "send", "--lines", to_b, NULL), 1);
    assert_non_null(strstr(r.err, "bad_request"));
    assert_non_null(strstr(r.err, "2 sent"));
    char conv[24];
    direct_with(&b, a.user_id, conv);
    assert_texts(srv, b.access, conv, 1, 2, "ok %d");

    /* 2: usage. */
    assert_int_equal(cli_run(&alice, &r, NULL, "send", NULL), 2);
    assert_int_equal(cli_run(&alice, &r, NULL, "send", "--bogus", to_b, "hi", NULL), 2);
    assert_int_equal(cli_run(&alice, &r, NULL, "send", "--id", "has\ttab", to_b, "hi", NULL), 2);
    assert_int_equal(cli_run(&alice, &r, NULL, "send", "--lines", to_b, "text too", NULL), 2);
    assert_int_equal(cli_run(&alice, &r, "", "send", to_b, NULL), 2);
    assert_int_equal(cli_run(&alice, &r, NULL, "send", "--timeout", "soon", to_b, "x", NULL), 2);
    assert_int_equal(cli_run(&alice, &r, NULL, "send", "bob-without-at", "hi", NULL), 2);
    assert_int_equal(cli_run(&alice, &r, NULL, "send", "--help", NULL), 0);
    assert_non_null(strstr(r.out, "usage: magpie send"));

    /* 3: not logged in; and a server that is not there. */
    cli_home_new(&nobody, srv);
    assert_int_equal(cli_run(&nobody, &r, NULL, "send", to_b, "hi", NULL), 3);
    assert_non_null(strstr(r.err, "not_logged_in"));
    cli_home_free(&nobody);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", closed_port());
    assert_int_equal(cli_run(&alice, &r, NULL, "send", "--url", url, to_b, "hi", NULL), 3);
    /* The same credentials moved to the closed port: cannot connect. */
    char path[600];
    snprintf(path, sizeof path, "%s/magpie/credentials", alice.dir);
    json_t *creds = json_load_file(path, 0, NULL);
    assert_non_null(creds);
    json_object_set_new(json_array_get(json_object_get(creds, "entries"), 0), "url",
                        json_string(url));
    assert_int_equal(json_dump_file(creds, path, 0), 0);
    json_decref(creds);
    assert_int_equal(cli_run(&alice, &r, NULL, "send", "--url", url, to_b, "hi", NULL), 3);
    assert_non_null(strstr(r.err, "cannot_connect"));
    assert_int_equal(cli_run(&alice, &r, NULL, "send", "--url", url, conv, "hi", NULL), 3);
    assert_non_null(strstr(r.err, "cannot_connect"));
    cli_home_free(&alice);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_killed_and_rerun),
        cmocka_unit_test(test_world_group_reply),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_server_restart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
