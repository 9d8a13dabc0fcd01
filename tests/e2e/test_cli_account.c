/* magpie register / login / logout / whoami and the lists (conversations,
 * groups, users search), run as the real binary against a real server:
 * credentials kept in a 0600 file, tokens refreshed by themselves without
 * ever tripping theft detection, exit statuses a script can branch on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "test_cli_util.h"
#include "test_groups_util.h"

#define PW "correct horse 1"

static mpt_server_t *srv;

static int setup(void **state)
{
    (void)state;
    /* 10 s tokens: every command finds its access token within a minute of
     * expiry, so every command refreshes, the case rotation must survive. */
    static const char *const flags[] = {
        "--login_rate", "100000", "--register_rate", "100000", "--access_token_ttl", "10", NULL};
    srv = mpt_server_start(flags);
    return srv == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    return mpt_server_stop(srv) == 0 ? 0 : -1;
}

/* The credentials file of h as JSON (caller decrefs). */
static json_t *creds_of(const cli_home_t *h)
{
    char path[400];
    snprintf(path, sizeof path, "%s/magpie/credentials", h->dir);
    json_t *j = json_load_file(path, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_register_login_whoami(void **state)
{
    (void)state;
    cli_home_t h;
    cli_home_new(&h, srv);
    char name[33];
    mpt_username(name, "reg");
    static cli_result_t r;
    snprintf(h.password, sizeof h.password, PW);
    assert_int_equal(cli_run(&h, &r, NULL, "register", name, "--display-name", "Reg Person", NULL),
                     0);
    assert_non_null(strstr(r.out, "Registered"));
    assert_non_null(strstr(r.out, "Logged in"));
    h.password[0] = '\0';

    assert_int_equal(cli_run(&h, &r, NULL, "whoami", NULL), 0);
    assert_non_null(strstr(r.out, name));
    assert_non_null(strstr(r.out, "Reg Person"));
    assert_int_equal(cli_run(&h, &r, NULL, "whoami", "--json", NULL), 0);
    json_t *me = json_loads(r.out, 0, NULL);
    assert_non_null(me);
    assert_string_equal(json_string_value(json_object_get(me, "username")), name);
    assert_string_equal(json_string_value(json_object_get(me, "url")), h.url);
    json_decref(me);

    /* The file: 0600 in a 0700 directory, one entry, no password in it. */
    char path[400];
    struct stat st;
    snprintf(path, sizeof path, "%s/magpie", h.dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(path, sizeof path, "%s/magpie/credentials", h.dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    size_t len;
    unsigned char *text = mpt_read_file(path, &len);
    assert_non_null(text);
    assert_null(memmem(text, len, PW, strlen(PW)));
    free(text);
    json_t *c = creds_of(&h);
    assert_int_equal(json_array_size(json_object_get(c, "entries")), 1);
    json_decref(c);
    cli_home_free(&h);
}

static void test_exit_statuses(void **state)
{
    (void)state;
    cli_home_t h;
    mpt_session_t s;
    cli_login_new(&h, srv, "ex", &s);
    static cli_result_t r;

    snprintf(h.password, sizeof h.password, "not the password");
    assert_int_equal(cli_run(&h, &r, NULL, "login", s.username, NULL), 1);
    assert_non_null(strstr(r.err, "bad_credentials"));
    h.password[0] = '\0';
    /* No password anywhere and no terminal to ask: a usage error. */
    assert_int_equal(cli_run(&h, &r, NULL, "login", s.username, NULL), 2);
    assert_int_equal(cli_run(&h, &r, NULL, "login", NULL), 2);
    assert_int_equal(cli_run(&h, &r, NULL, "whoami", "--bogus", NULL), 2);
    assert_int_equal(cli_run(&h, &r, NULL, "whoami", "--url", "ftp://x", NULL), 2);
    assert_int_equal(cli_run(&h, &r, NULL, "users", "find", "x", NULL), 2);
    /* Nothing listens on port 1; nobody is logged in on that URL either. */
    assert_int_equal(cli_run(&h, &r, NULL, "whoami", "--url", "http://127.0.0.1:1", NULL), 3);
    assert_non_null(strstr(r.err, "not_logged_in"));
    snprintf(h.password, sizeof h.password, PW);
    assert_int_equal(
        cli_run(&h, &r, NULL, "login", "--url", "http://127.0.0.1:1", s.username, NULL), 3);
    assert_non_null(strstr(r.err, "cannot_connect"));
    /* The same name again: refused by the server, its code printed. */
    assert_int_equal(cli_run(&h, &r, NULL, "register", "--no-login", s.username, NULL), 1);
    assert_non_null(strstr(r.err, "username_taken"));
    h.password[0] = '\0';
    /* --help is not an error. */
    assert_int_equal(cli_run(&h, &r, NULL, "login", "--help", NULL), 0);
    assert_non_null(strstr(r.out, "usage: magpie login"));
    cli_home_free(&h);
}

/* Eight commands at once, each refreshing (10 s tokens): the lock makes
 * them take turns, each using the newest refresh token, so the server never
 * sees one twice and the device stays signed in. */
static void test_concurrent_refresh_is_safe(void **state)
{
    (void)state;
    cli_home_t h;
    mpt_session_t s;
    cli_login_new(&h, srv, "conc", &s);
    cli_proc_t *p[8];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 8; i++)
            p[i] = cli_spawn(&h, "whoami", NULL);
        for (int i = 0; i < 8; i++) {
            int st = cli_wait(p[i], CLI_TIMEOUT_MS);
            if (st != 0)
                fprintf(stderr, "whoami %d: %s\n", i, p[i]->err);
            assert_int_equal(st, 0);
            cli_proc_free(p[i]);
        }
    }
    /* Still the same device, and still valid: theft detection never fired. */
    json_t *c = creds_of(&h);
    json_t *entry = json_array_get(json_object_get(c, "entries"), 0);
    const char *access = json_string_value(json_object_get(entry, "access_token"));
    mpc_response_t resp;
    assert_int_equal(mpt_http(srv, "GET", "/v1/devices", access, NULL, &resp), 200);
    assert_int_equal(json_array_size(json_object_get(resp.json, "devices")), 2);
    mpc_response_free(&resp);
    json_decref(c);
    cli_home_free(&h);
}

static void test_logout_revokes(void **state)
{
    (void)state;
    cli_home_t h;
    mpt_session_t s;
    cli_login_new(&h, srv, "out", &s);
    json_t *c = creds_of(&h);
    char refresh[256];
    snprintf(refresh, sizeof refresh, "%s",
             json_string_value(json_object_get(json_array_get(json_object_get(c, "entries"), 0),
                                               "refresh_token")));
    json_decref(c);
    static cli_result_t r;
    assert_int_equal(cli_run(&h, &r, NULL, "logout", NULL), 0);
    /* The server forgot the device: its refresh token is refused. */
    json_t *body = json_pack("{s:s}", "refresh_token", refresh);
    assert_int_equal(mpt_http(srv, "POST", "/v1/auth/refresh", NULL, body, NULL), 401);
    json_decref(body);
    c = creds_of(&h);
    assert_int_equal(json_array_size(json_object_get(c, "entries")), 0);
    json_decref(c);
    assert_int_equal(cli_run(&h, &r, NULL, "whoami", NULL), 3);
    assert_non_null(strstr(r.err, "not_logged_in"));
    assert_int_equal(cli_run(&h, &r, NULL, "logout", NULL), 3);
    cli_home_free(&h);
}

/* A device revoked from elsewhere: the next command says so (exit 3) and
 * drops the dead entry. Logging in again replaces the device. */
static void test_revoked_and_relogin(void **state)
{
    (void)state;
    cli_home_t h;
    mpt_session_t s;
    cli_login_new(&h, srv, "rev", &s);
    json_t *c = creds_of(&h);
    char dev[24];
    snprintf(dev, sizeof dev, "%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(c, "entries"), 0), "device_id")));
    json_decref(c);

    static cli_result_t r;
    snprintf(h.password, sizeof h.password, "%s", s.password);
    assert_int_equal(cli_run(&h, &r, NULL, "login", s.username, NULL), 0);
    h.password[0] = '\0';
    /* The first CLI device was signed out by the second login. */
    mpc_response_t resp;
    assert_int_equal(mpt_http(srv, "GET", "/v1/devices", s.access, NULL, &resp), 200);
    assert_int_equal(json_array_size(json_object_get(resp.json, "devices")), 2);
    assert_null(strstr(resp.body, dev));
    mpc_response_free(&resp);

    c = creds_of(&h);
    snprintf(dev, sizeof dev, "%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(c, "entries"), 0), "device_id")));
    json_decref(c);
    char path[64];
    snprintf(path, sizeof path, "/v1/devices/%s", dev);
    assert_int_equal(mpt_http(srv, "DELETE", path, s.access, NULL, NULL), 204);
    assert_int_equal(cli_run(&h, &r, NULL, "whoami", NULL), 3);
    assert_non_null(strstr(r.err, "not_logged_in"));
    c = creds_of(&h);
    assert_int_equal(json_array_size(json_object_get(c, "entries")), 0);
    json_decref(c);
    cli_home_free(&h);
}

/* Two users on one machine: the latest login is the default; --user and
 * MAGPIE_USER choose. */
static void test_two_users(void **state)
{
    (void)state;
    cli_home_t h;
    mpt_session_t a, b;
    cli_login_new(&h, srv, "twoa", &a);
    assert_int_equal(mpt_user_new(srv, "twob", &b), 0);
    static cli_result_t r;
    snprintf(h.password, sizeof h.password, "%s", b.password);
    assert_int_equal(cli_run(&h, &r, NULL, "login", b.username, NULL), 0);
    h.password[0] = '\0';
    assert_int_equal(cli_run(&h, &r, NULL, "whoami", NULL), 0);
    assert_non_null(strstr(r.out, b.username));
    assert_int_equal(cli_run(&h, &r, NULL, "whoami", "--user", a.username, NULL), 0);
    assert_non_null(strstr(r.out, a.username));
    char env[80];
    snprintf(env, sizeof env, "MAGPIE_USER=%s", a.username);
    cli_proc_t *p =
        cli_spawnv(&h, (const char *const[]){"whoami", NULL}, (const char *const[]){env, NULL});
    assert_int_equal(cli_wait(p, CLI_TIMEOUT_MS), 0);
    assert_non_null(strstr(p->out, a.username));
    cli_proc_free(p);
    cli_home_free(&h);
}

static void test_lists(void **state)
{
    (void)state;
    cli_home_t h;
    mpt_session_t a, b;
    cli_login_new(&h, srv, "lista", &a);
    assert_int_equal(mpt_user_new(srv, "listb", &b), 0);
    char gid[24];
    assert_int_equal(group_create(srv, a.access, "Book club", NULL, NULL, gid, NULL), 201);
    json_t *body = json_pack("{s:s}", "username", b.username);
    assert_int_equal(mpt_http(srv, "POST", "/v1/conversations/direct", a.access, body, NULL), 201);
    json_decref(body);

    static cli_result_t r;
    assert_int_equal(cli_run(&h, &r, NULL, "conversations", NULL), 0);
    assert_non_null(strstr(r.out, "#Book club"));
    char at[40];
    snprintf(at, sizeof at, "@%s", b.username);
    assert_non_null(strstr(r.out, at));

    assert_int_equal(cli_run(&h, &r, NULL, "groups", "--json", NULL), 0);
    json_t *g = json_loads(r.out, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(g);
    assert_string_equal(json_string_value(json_object_get(g, "conversation_id")), gid);
    assert_string_equal(json_string_value(json_object_get(g, "title")), "Book club");
    json_decref(g);
    assert_null(strchr(strchr(r.out, '\n') + 1, '{')); /* the group only, not the direct one */

    assert_int_equal(cli_run(&h, &r, NULL, "users", "search", b.username, NULL), 0);
    assert_non_null(strstr(r.out, at));
    assert_int_equal(cli_run(&h, &r, NULL, "users", "search", "--json", b.username, NULL), 0);
    json_t *u = json_loads(r.out, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(u);
    assert_string_equal(json_string_value(json_object_get(u, "user_id")), b.user_id);
    json_decref(u);
    /* An empty query is the server's to refuse. */
    assert_int_equal(cli_run(&h, &r, NULL, "users", "search", " ", NULL), 1);
    assert_non_null(strstr(r.err, "bad_request"));
    cli_home_free(&h);
}

/* Every command of `magpie help` answers --help with its usage, and every
 * client command is in docs/cli.md (the server's own are in the README and
 * docs/configuration.md). */
static void test_help_and_docs(void **state)
{
    (void)state;
    cli_home_t h;
    cli_home_new(&h, srv);
    static cli_result_t r, u;
    assert_int_equal(cli_run(&h, &r, NULL, "help", NULL), 0);
    char docs[512];
    snprintf(docs, sizeof docs, "%s", __FILE__);
    *strstr(docs, "/tests/e2e/") = '\0';
    strncat(docs, "/docs/cli.md", sizeof docs - strlen(docs) - 1);
    size_t len;
    unsigned char *text = mpt_read_file(docs, &len);
    assert_non_null(text);
    int checked = 0;
    for (char *line = strtok(r.out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char name[32];
        if (strncmp(line, "  ", 2) != 0 || sscanf(line, "%31s", name) != 1)
            continue;
        if (strcmp(name, "help") == 0)
            continue;
        assert_int_equal(cli_run(&h, &u, NULL, name, "--help", NULL), 0);
        char want[64];
        snprintf(want, sizeof want, "usage: magpie %s", name);
        if (strstr(u.out, want) == NULL)
            fail_msg("`magpie %s --help` printed no \"%s\"", name, want);
        static const char *const server_side[] = {"serve", "version", "admin", "bench"};
        bool client = true;
        for (size_t i = 0; i < sizeof server_side / sizeof *server_side; i++)
            client = client && strcmp(name, server_side[i]) != 0;
        snprintf(want, sizeof want, "magpie %s", name);
        if (client && memmem(text, len, want, strlen(want)) == NULL)
            fail_msg("docs/cli.md does not mention `%s`", want);
        checked++;
    }
    assert_true(checked >= 14);
    free(text);
    cli_home_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_login_whoami),
        cmocka_unit_test(test_exit_statuses),
        cmocka_unit_test(test_concurrent_refresh_is_safe),
        cmocka_unit_test(test_logout_revokes),
        cmocka_unit_test(test_revoked_and_relogin),
        cmocka_unit_test(test_two_users),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_help_and_docs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
