/* End-to-end tests of `magpie tail` against a real server: two users
 * exchange messages with `send` and `tail --json`; a stopped tail prints on
 * restart exactly what it missed, then live messages; edits and deletions
 * come as such and reactions not at all, also across restarts;
 * --since-start, --catch-up, a group by title, the world room, the text
 * form; a server crash under a running tail; and the exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_cli_send_util.h"

static mpt_server_t *srv;

static int setup(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS, "--world_slow_mode", "0", NULL};
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

/* A person at a terminal: a logged-in config home and the same user's own
 * device for checks over HTTP. */
typedef struct {
    cli_home_t h;
    mpt_session_t s;
    char at[40]; /* "@username" */
} person_t;

static void person_new(person_t *p, const char *prefix)
{
    cli_login_new(&p->h, srv, prefix, &p->s);
    snprintf(p->at, sizeof p->at, "@%s", p->s.username);
}

/* `from` sends text to `to` with `magpie send`; returns the ack (caller
 * decrefs). */
static json_t *say(person_t *from, const char *to, const char *text)
{
    static cli_result_t r;
    int st = cli_run(&from->h, &r, NULL, "send", "--json", to, text, NULL);
    if (st != 0)
        fail_msg("send %s %s: exit %d: %s", to, text, st, r.err);
    json_t *ack = json_loads(r.out, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(ack);
    return ack;
}

/* Asserts a `message` event of text from sender in conv at seq. */
static void assert_message(json_t *ev, const char *text, const char *sender, const char *conv,
                           long long seq)
{
    assert_string_equal(jstr(ev, "event"), "message");
    json_t *m = json_object_get(ev, "message");
    assert_string_equal(jstr(m, "text"), text);
    assert_string_equal(jstr(m, "sender"), sender);
    assert_string_equal(jstr(m, "conversation"), conv);
    assert_int_equal(jint(m, "seq"), seq);
}

/* Stops a running tail with sig (exit 0) and asserts that it printed no
 * message event beyond those already read. */
static void stop_quiet(cli_proc_t *p, int sig)
{
    kill(p->pid, sig);
    assert_int_equal(cli_wait(p, CLI_TIMEOUT_MS), 0);
    json_t *rest = message_events(p->out + p->out_used);
    if (json_array_size(rest) != 0)
        fail_msg("printed more than expected: %s", p->out + p->out_used);
    json_decref(rest);
    cli_proc_free(p);
}

/* Alice tails, Bob sends to @alice; then Bob tails and Alice sends to @bob. */
static void test_exchange(void **state)
{
    (void)state;
    person_t alice, bob;
    person_new(&alice, "xa");
    person_new(&bob, "xb");

    mpc_ws_t *bob_ws = mpt_ws_open(srv, bob.s.access); /* bob's phone, say */
    assert_non_null(bob_ws);
    cli_proc_t *ta = cli_spawn(&alice.h, "tail", "--json", NULL);
    json_t *ack = say(&bob, alice.at, "hello alice");
    char conv[24];
    snprintf(conv, sizeof conv, "%s", jstr(ack, "conversation"));
    json_decref(ack);
    json_t *ev = next_message_event(ta);
    assert_message(ev, "hello alice", bob.s.user_id, conv, 1);
    json_decref(ev);
    /* Printed means delivered to a device: bob sees the receipt. */
    for (;;) {
        ev = next_event(bob_ws, "receipt");
        bool hers = strcmp(jstr(ev, "user_id"), alice.s.user_id) == 0;
        if (hers) {
            assert_string_equal(jstr(ev, "conversation"), conv);
            assert_int_equal(jint(ev, "delivered_seq"), 1);
        }
        json_decref(ev);
        if (hers)
            break;
    }
    json_decref(say(&bob, alice.at, "are you there?")); /* the tail is live by now */
    ev = next_message_event(ta);
    assert_message(ev, "are you there?", bob.s.user_id, conv, 2);
    json_decref(ev);
    /* Live events besides messages: bob typing. */
    json_decref(call(bob_ws, "typing", json_pack("{s:s}", "conversation", conv)));
    do {
        ev = next_json(ta);
        if (strcmp(jstr(ev, "event"), "typing") == 0)
            break;
        json_decref(ev);
    } while (true);
    assert_string_equal(jstr(ev, "conversation"), conv);
    assert_string_equal(jstr(ev, "user_id"), bob.s.user_id);
    json_decref(ev);
    mpc_ws_free(bob_ws);

    cli_proc_t *tb = cli_spawn(&bob.h, "tail", "--json", NULL);
    json_decref(say(&alice, bob.at, "hi bob"));
    /* Bob's first tail starts from the beginning: his own two, then hers. */
    const char *texts[] = {"hello alice", "are you there?", "hi bob"};
    for (int i = 0; i < 3; i++) {
        ev = next_message_event(tb);
        assert_message(ev, texts[i], i < 2 ? bob.s.user_id : alice.s.user_id, conv, i + 1);
        json_decref(ev);
    }
    /* Alice sees her own message too (sent from her device's other session). */
    ev = next_message_event(ta);
    assert_message(ev, "hi bob", alice.s.user_id, conv, 3);
    assert_non_null(jstr(json_object_get(ev, "message"), "client_msg_id"));
    json_decref(ev);
    stop_quiet(ta, SIGINT);
    stop_quiet(tb, SIGTERM);
    cli_home_free(&alice.h);
    cli_home_free(&bob.h);
}

/* A stopped tail prints exactly what it missed, then live messages; edits
 * and deletions made while it was stopped come as such, reactions not at
 * all; --since-start replays; the text form. */
static void test_catch_up(void **state)
{
    (void)state;
    person_t alice, bob;
    person_new(&alice, "ca");
    person_new(&bob, "cb");
    static cli_result_t r;

    json_t *ack = say(&bob, alice.at, "one");
    char conv[24];
    snprintf(conv, sizeof conv, "%s", jstr(ack, "conversation"));
    json_decref(ack);
    cli_proc_t *t = cli_spawn(&alice.h, "tail", "--json", bob.at, NULL);
    json_t *ev = next_message_event(t);
    assert_message(ev, "one", bob.s.user_id, conv, 1);
    json_decref(ev);
    stop_quiet(t, SIGTERM);

    json_decref(say(&bob, alice.at, "two"));
    json_decref(say(&bob, alice.at, "three"));
    t = cli_spawn(&alice.h, "tail", "--json", bob.at, NULL);
    ev = next_message_event(t);
    assert_message(ev, "two", bob.s.user_id, conv, 2);
    json_decref(ev);
    ev = next_message_event(t);
    assert_message(ev, "three", bob.s.user_id, conv, 3);
    json_decref(ev);
    json_decref(say(&bob, alice.at, "four"));
    ev = next_message_event(t);
    assert_message(ev, "four", bob.s.user_id, conv, 4);
    json_decref(ev);
    stop_quiet(t, SIGTERM);

    /* Nothing new: --catch-up prints nothing and exits 0. */
    assert_int_equal(cli_run(&alice.h, &r, NULL, "tail", "--json", "--catch-up", bob.at, NULL), 0);
    json_t *evs = message_events(r.out);
    assert_int_equal(json_array_size(evs), 0);
    json_decref(evs);
    /* --since-start replays all four, once each. */
    assert_int_equal(
        cli_run(&alice.h, &r, NULL, "tail", "--json", "--since-start", "--catch-up", bob.at, NULL),
        0);
    evs = message_events(r.out);
    assert_int_equal(json_array_size(evs), 4);
    const char *texts[] = {"one", "two", "three", "four"};
    char ids[4][24];
    for (int i = 0; i < 4; i++) {
        assert_message(json_array_get(evs, (size_t)i), texts[i], bob.s.user_id, conv, i + 1);
        snprintf(ids[i], sizeof ids[i], "%s",
                 jstr(json_object_get(json_array_get(evs, (size_t)i), "message"), "message_id"));
    }
    json_decref(evs);

    /* While no tail runs: "two" edited, "three" deleted, "four" reacted to. */
    mpc_ws_t *ws = mpt_ws_open(srv, bob.s.access);
    assert_non_null(ws);
    json_t *rep = call(ws, "edit",
                       json_pack("{s:s,s:s,s:s}", "conversation", conv, "message_id", ids[1],
                                 "text", "two, edited"));
    assert_true(is_ok(rep));
    json_decref(rep);
    rep = call(
        ws, "delete",
        json_pack("{s:s,s:s,s:s}", "conversation", conv, "message_id", ids[2], "for", "everyone"));
    assert_true(is_ok(rep));
    json_decref(rep);
    rep = call(ws, "react",
               json_pack("{s:s,s:s,s:s}", "conversation", conv, "message_id", ids[3], "emoji",
                         "\xf0\x9f\x91\x8d"));
    assert_true(is_ok(rep));
    json_decref(rep);
    mpc_ws_free(ws);
    assert_int_equal(cli_run(&alice.h, &r, NULL, "tail", "--json", "--catch-up", bob.at, NULL), 0);
    evs = message_events(r.out);
    if (json_array_size(evs) != 2)
        fail_msg("expected an edit and a deletion, got: %s", r.out);
    json_t *edit = json_array_get(evs, 0), *del = json_array_get(evs, 1);
    assert_string_equal(jstr(edit, "event"), "message_edited");
    assert_string_equal(event_text(edit), "two, edited");
    assert_string_equal(jstr(del, "event"), "message_deleted");
    assert_string_equal(jstr(del, "message_id"), ids[2]);
    assert_string_equal(jstr(del, "for"), "everyone");
    assert_int_equal(jint(del, "seq"), 3);
    json_decref(evs);

    /* The text form, from the start: time, conversation, sender, text. */
    assert_int_equal(
        cli_run(&alice.h, &r, NULL, "tail", "--since-start", "--catch-up", bob.at, NULL), 0);
    char want[160];
    snprintf(want, sizeof want, "  %s  %s: one\n", bob.at, bob.s.username);
    assert_non_null(strstr(r.out, want));
    snprintf(want, sizeof want, "  %s  %s: two, edited (edited)\n", bob.at, bob.s.username);
    assert_non_null(strstr(r.out, want));
    snprintf(want, sizeof want, "  %s  %s: (deleted)\n", bob.at, bob.s.username);
    assert_non_null(strstr(r.out, want));
    assert_int_equal(r.out[2], ':'); /* "HH:MM" first */
    cli_home_free(&alice.h);
    cli_home_free(&bob.h);
}

/* A group followed by its title prints only the group's messages (its
 * "created" system message first); the world room is followed by seq; a
 * multi-line text is indented under its first line. */
static void test_group_and_world(void **state)
{
    (void)state;
    person_t alice, bob;
    person_new(&alice, "ga");
    person_new(&bob, "gb");
    static cli_result_t r;

    char title[64], group[24], to_group[80];
    snprintf(title, sizeof title, "Climbing %d", (int)getpid());
    assert_int_equal(group_create(srv, bob.s.access, title, json_pack("[s]", alice.s.user_id), NULL,
                                  group, NULL),
                     201);
    snprintf(to_group, sizeof to_group, "#%s", title);
    json_decref(say(&bob, alice.at, "not in the group"));
    json_decref(say(&bob, to_group, "tuesday?"));
    assert_int_equal(cli_run(&alice.h, &r, NULL, "tail", "--json", "--catch-up", to_group, NULL),
                     0);
    json_t *evs = message_events(r.out);
    assert_int_equal(json_array_size(evs), 2);
    json_t *created = json_object_get(json_array_get(evs, 0), "message");
    assert_string_equal(jstr(created, "kind"), "system");
    assert_message(json_array_get(evs, 1), "tuesday?", bob.s.user_id, group, 2);
    json_decref(evs);
    json_decref(say(&bob, to_group, "at seven\nbring rope"));
    assert_int_equal(cli_run(&alice.h, &r, NULL, "tail", "--catch-up", to_group, NULL), 0);
    char want[200];
    snprintf(want, sizeof want, "  #%s  %s: at seven\n", title, bob.s.username);
    char *line = strstr(r.out, want);
    assert_non_null(line);
    int indent = (int)(strstr(line, "at seven") - line) + 5; /* "HH:MM" before it */
    char *second = strchr(line, '\n');
    assert_non_null(second);
    second++;
    for (int i = 0; i < indent; i++)
        assert_int_equal(second[i], ' ');
    assert_memory_equal(second + indent, "bring rope\n", 11);

    /* The world room: live, then what was missed. */
    cli_proc_t *t = cli_spawn(&alice.h, "tail", "--json", "world", NULL);
    json_decref(say(&bob, "world", "w1"));
    json_t *ev;
    do { /* the world holds the other tests' posts too */
        ev = next_message_event(t);
        if (strcmp(event_text(ev), "w1") == 0)
            break;
        json_decref(ev);
    } while (true);
    assert_string_equal(jstr(json_object_get(ev, "message"), "sender"), bob.s.user_id);
    json_decref(ev);
    stop_quiet(t, SIGTERM);
    json_decref(say(&bob, "world", "w2"));
    json_decref(say(&alice, "world", "w3"));
    assert_int_equal(cli_run(&alice.h, &r, NULL, "tail", "--json", "--catch-up", "world", NULL), 0);
    evs = message_events(r.out);
    assert_int_equal(json_array_size(evs), 2);
    assert_string_equal(event_text(json_array_get(evs, 0)), "w2");
    assert_string_equal(event_text(json_array_get(evs, 1)), "w3");
    json_decref(evs);
    /* `tail` without TO leaves the world room out. */
    assert_int_equal(cli_run(&alice.h, &r, NULL, "tail", "--json", "--catch-up", NULL), 0);
    assert_null(strstr(r.out, "\"w2\""));
    assert_non_null(strstr(r.out, "\"not in the group\""));
    cli_home_free(&alice.h);
    cli_home_free(&bob.h);
}

/* The server crashes and comes back under a running tail: it reconnects,
 * and prints what was sent meanwhile and afterwards, once each. */
static void test_reconnect(void **state)
{
    (void)state;
    person_t alice, bob;
    person_new(&alice, "na");
    person_new(&bob, "nb");
    cli_proc_t *t = cli_spawn(&alice.h, "tail", "--json", NULL);
    json_decref(say(&bob, alice.at, "before"));
    json_t *ev = next_message_event(t);
    assert_string_equal(event_text(ev), "before");
    json_decref(ev);
    mpt_server_kill9(srv);
    assert_int_equal(mpt_server_restart(srv), 0);
    json_decref(say(&bob, alice.at, "after 1"));
    json_decref(say(&bob, alice.at, "after 2"));
    for (int i = 1; i <= 2; i++) {
        ev = next_message_event(t);
        char want[16];
        snprintf(want, sizeof want, "after %d", i);
        assert_string_equal(event_text(ev), want);
        assert_int_equal(jint(json_object_get(ev, "message"), "seq"), i + 1);
        json_decref(ev);
    }
    stop_quiet(t, SIGTERM);
    cli_home_free(&alice.h);
    cli_home_free(&bob.h);
}

/* A running tail whose device is revoked (as from another device) stops
 * with exit 3 and says so: no amount of waiting brings the device back. */
static void test_signed_out(void **state)
{
    (void)state;
    person_t alice, bob;
    person_new(&alice, "oa");
    person_new(&bob, "ob");
    cli_proc_t *t = cli_spawn(&alice.h, "tail", "--json", NULL);
    json_decref(say(&bob, alice.at, "still here?"));
    json_t *ev = next_message_event(t);
    assert_string_equal(event_text(ev), "still here?");
    json_decref(ev);

    char path[600], url[80];
    snprintf(path, sizeof path, "%s/magpie/credentials", alice.h.dir);
    json_t *creds = json_load_file(path, 0, NULL);
    assert_non_null(creds);
    snprintf(url, sizeof url, "/v1/devices/%s",
             jstr(json_array_get(json_object_get(creds, "entries"), 0), "device_id"));
    json_decref(creds);
    assert_int_equal(mpt_http(srv, "DELETE", url, alice.s.access, NULL, NULL), 204);
    assert_int_equal(cli_wait(t, CLI_TIMEOUT_MS), 3);
    assert_non_null(strstr(t->err, "not_logged_in"));
    cli_proc_free(t);
    cli_home_free(&alice.h);
    cli_home_free(&bob.h);
}

/* Exit statuses: 3 not logged in or no server, 2 usage, 1 refused. */
static void test_errors(void **state)
{
    (void)state;
    person_t alice;
    person_new(&alice, "ta");
    static cli_result_t r;
    assert_int_equal(cli_run(&alice.h, &r, NULL, "tail", "@nobody_here_at_all", NULL), 1);
    assert_non_null(strstr(r.err, "not_found"));
    assert_int_equal(cli_run(&alice.h, &r, NULL, "tail", "--bogus", NULL), 2);
    assert_int_equal(cli_run(&alice.h, &r, NULL, "tail", "world", "@two", NULL), 2);
    assert_int_equal(cli_run(&alice.h, &r, NULL, "tail", "--help", NULL), 0);
    assert_non_null(strstr(r.out, "usage: magpie tail"));

    cli_home_t nobody;
    cli_home_new(&nobody, srv);
    assert_int_equal(cli_run(&nobody, &r, NULL, "tail", NULL), 3);
    assert_non_null(strstr(r.err, "not_logged_in"));
    cli_home_free(&nobody);

    /* Alice's credentials pointed at a port where nothing listens. */
    int port = 0;
    for (int p = 20000 + (int)(getpid() % 20000); port == 0; p++) {
        mpc_conn_t *c = mpc_connect("127.0.0.1", p, 1000);
        if (c == NULL)
            port = p;
        mpc_conn_free(c);
    }
    char url[64], path[600];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    snprintf(path, sizeof path, "%s/magpie/credentials", alice.h.dir);
    json_t *creds = json_load_file(path, 0, NULL);
    assert_non_null(creds);
    json_object_set_new(json_array_get(json_object_get(creds, "entries"), 0), "url",
                        json_string(url));
    assert_int_equal(json_dump_file(creds, path, 0), 0);
    json_decref(creds);
    assert_int_equal(cli_run(&alice.h, &r, NULL, "tail", "--url", url, NULL), 3);
    assert_non_null(strstr(r.err, "cannot_connect"));
    cli_home_free(&alice.h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exchange),        cmocka_unit_test(test_catch_up),
        cmocka_unit_test(test_group_and_world), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_reconnect),       cmocka_unit_test(test_signed_out),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
