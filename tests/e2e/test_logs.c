/* The server's log as an operator's pipeline sees it: with log_format = json
 * every line on stderr is one JSON object with time, level and msg, and an
 * HTTP request's line carries request_id, route, status, duration_ms and the
 * user; access_log = off leaves the request lines out. And at log level
 * debug, through registration, logins (one with a wrong password), token
 * refresh, a WebSocket send, a signed file URL, a password reset whose mail
 * cannot go out and an admin password change, no line holds any of the
 * secrets that passed: passwords, access and refresh tokens, the URL
 * signature, the SMTP password. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_chat_util.h"
#include "test_files_util.h"

#define SMTP_SECRET "smtp-Secret-4f9a7c"
#define WRONG_PASSWORD "wrong-Password-8d1e"

/* The server's stderr as lines (the harness copies it to DATA/stderr.log);
 * the server must have exited. Returns the count; *lines is malloc'd, each
 * line too. */
static size_t read_log(const mpt_server_t *srv, char ***lines)
{
    size_t len = 0;
    unsigned char *all = mpt_read_file(mpt_server_path(srv, "stderr.log"), &len);
    assert_non_null(all);
    size_t n = 0, cap = 64;
    *lines = malloc(cap * sizeof **lines);
    char *save = NULL;
    char *text = realloc(all, len + 1);
    assert_non_null(text);
    text[len] = '\0';
    for (char *l = strtok_r(text, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
        if (n == cap)
            *lines = realloc(*lines, (cap *= 2) * sizeof **lines);
        (*lines)[n++] = strdup(l);
    }
    free(text);
    return n;
}

static void free_lines(char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

/* Fails when any line holds secret (at least 8 bytes of it: a token's
 * prefix in a line would be as bad as the whole token). */
static void assert_not_logged(char **lines, size_t n, const char *what, const char *secret)
{
    assert_true(strlen(secret) >= 8);
    char probe[24];
    snprintf(probe, sizeof probe, "%.*s", (int)(strlen(secret) < 20 ? strlen(secret) : 20), secret);
    for (size_t i = 0; i < n; i++)
        if (strstr(lines[i], probe) != NULL)
            fail_msg("the log shows the %s: %s", what, lines[i]);
}

static void json_string_field(json_t *o, const char *key, char *out, size_t cap)
{
    const char *v = json_string_value(json_object_get(o, key));
    if (v == NULL)
        fail_msg("no string \"%s\" in the reply", key);
    snprintf(out, cap, "%s", v);
}

/* ---- JSON lines -------------------------------------------------------------------- */

static void test_json_lines(void **state)
{
    (void)state;
    const char *flags[] = {"--log_format", "json", "--log_level", "debug", NULL};
    mpt_server_t *srv = mpt_server_start(flags);
    assert_non_null(srv);
    mpt_session_t s;
    assert_int_equal(mpt_user_new(srv, "lg", &s), 0);
    char path[96];
    snprintf(path, sizeof path, "/v1/users/%s", s.user_id);
    assert_int_equal(mpt_http(srv, "GET", path, s.access, NULL, NULL), 200);
    assert_int_equal(mpt_http(srv, "GET", "/v1/no/such/route", NULL, NULL, NULL), 404);
    assert_int_equal(mpt_server_terminate(srv), 0);

    char **lines;
    size_t n = read_log(srv, &lines);
    assert_true(n > 5);
    bool listening = false, user_line = false, not_found = false;
    for (size_t i = 0; i < n; i++) {
        json_error_t err;
        json_t *o = json_loads(lines[i], 0, &err);
        if (o == NULL)
            fail_msg("not a JSON line: %s", lines[i]);
        const char *t = json_string_value(json_object_get(o, "time"));
        const char *lvl = json_string_value(json_object_get(o, "level"));
        const char *msg = json_string_value(json_object_get(o, "msg"));
        assert_non_null(t);
        assert_true(strlen(t) == 24 && t[10] == 'T' && t[23] == 'Z');
        assert_non_null(lvl);
        assert_true(strcmp(lvl, "debug") == 0 || strcmp(lvl, "info") == 0 ||
                    strcmp(lvl, "warn") == 0 || strcmp(lvl, "error") == 0);
        assert_non_null(msg);
        if (strstr(msg, "magpie: listening on 127.0.0.1:") == msg)
            listening = true;
        const char *route = json_string_value(json_object_get(o, "route"));
        if (route != NULL && strcmp(route, "/v1/users/{id}") == 0) {
            /* The request line: every field, the user who asked. */
            assert_string_equal(json_string_value(json_object_get(o, "method")), "GET");
            assert_string_equal(json_string_value(json_object_get(o, "path")), path);
            assert_int_equal(json_integer_value(json_object_get(o, "status")), 200);
            assert_true(json_is_integer(json_object_get(o, "duration_ms")));
            assert_true(json_is_integer(json_object_get(o, "bytes")));
            assert_int_equal(strlen(json_string_value(json_object_get(o, "request_id"))), 16);
            assert_string_equal(json_string_value(json_object_get(o, "user_id")), s.user_id);
            assert_string_equal(json_string_value(json_object_get(o, "client")), "127.0.0.1");
            user_line = true;
        }
        const char *p = json_string_value(json_object_get(o, "path"));
        if (p != NULL && strcmp(p, "/v1/no/such/route") == 0) {
            assert_int_equal(json_integer_value(json_object_get(o, "status")), 404);
            assert_null(json_object_get(o, "user_id")); /* anonymous */
            not_found = true;
        }
        json_decref(o);
    }
    assert_true(listening);
    assert_true(user_line);
    assert_true(not_found);
    free_lines(lines, n);
    assert_int_equal(mpt_server_stop(srv), 0);
}

/* access_log = off: no request lines, the rest as before (text). */
static void test_access_log_off(void **state)
{
    (void)state;
    const char *flags[] = {"--access_log", "off", NULL};
    mpt_server_t *srv = mpt_server_start(flags);
    assert_non_null(srv);
    assert_int_equal(mpt_http(srv, "GET", "/readyz", NULL, NULL, NULL), 200);
    assert_int_equal(mpt_server_terminate(srv), 0);
    char **lines;
    size_t n = read_log(srv, &lines);
    bool listening = false;
    for (size_t i = 0; i < n; i++) {
        assert_null(strstr(lines[i], " http GET /readyz"));
        assert_true(lines[i][0] != '{');
        if (strstr(lines[i], "magpie: listening on ") == lines[i])
            listening = true;
    }
    assert_true(listening);
    free_lines(lines, n);
    assert_int_equal(mpt_server_stop(srv), 0);
}

/* ---- no secrets ---------------------------------------------------------------------- */

static void test_no_secrets_at_debug(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS,           "--log_level", "debug",  "--smtp_url",
                           "smtp://127.0.0.1:1", "--smtp_user", "mailer", "--smtp_password",
                           SMTP_SECRET,          NULL};
    mpt_server_t *srv = mpt_server_start(flags);
    assert_non_null(srv);

    /* Register with an e-mail address, log in twice (once wrongly). */
    char name[33];
    mpt_username(name, "sec");
    json_t *reg = json_pack("{s:s,s:s,s:s}", "username", name, "password", "correct horse 1",
                            "email", "sec@example.org");
    mpc_response_t r;
    assert_int_equal(mpt_http(srv, "POST", "/v1/auth/register", NULL, reg, &r), 201);
    mpc_response_free(&r);
    json_decref(reg);
    mpt_session_t s;
    assert_int_equal(mpt_login(srv, name, "correct horse 1", "laptop", &s), 200);
    assert_int_equal(mpt_login(srv, name, WRONG_PASSWORD, "laptop", NULL), 401);

    /* A refresh: the old refresh token and the new pair. */
    char access2[1024], refresh2[256];
    json_t *rb = json_pack("{s:s}", "refresh_token", s.refresh);
    assert_int_equal(mpt_http(srv, "POST", "/v1/auth/refresh", NULL, rb, &r), 200);
    json_string_field(r.json, "access_token", access2, sizeof access2);
    json_string_field(r.json, "refresh_token", refresh2, sizeof refresh2);
    mpc_response_free(&r);
    json_decref(rb);

    /* A message over a WebSocket opened with the new token. */
    mpc_ws_t *ws = mpt_ws_open(srv, access2);
    assert_non_null(ws);
    mpt_session_t other;
    assert_int_equal(mpt_user_new(srv, "lgo", &other), 0);
    json_t *reply = send_msg(ws, NULL, other.user_id, "logtest-1", "hello there");
    assert_true(is_ok(reply));
    json_decref(reply);
    mpc_ws_free(ws);

    /* A file and its signed URL, fetched with the signature. */
    fx_path_t file = fx_join(srv->data_dir, "note.txt");
    fx_write(file.s, "a note that is a file\n", 22);
    int status = 0;
    json_t *f = NULL;
    fx_upload(srv->port, access2, file.s, "note.txt", &status, &f);
    assert_int_equal(status, 201);
    char fpath[96], url[512];
    snprintf(fpath, sizeof fpath, "/v1/files/%s/url", jstr(f, "file_id"));
    json_decref(f);
    assert_int_equal(mpt_http(srv, "POST", fpath, access2, NULL, &r), 200);
    json_string_field(r.json, "url", url, sizeof url);
    mpc_response_free(&r);
    const char *sig = strstr(url, "sig=");
    assert_non_null(sig);
    sig += 4;
    assert_int_equal(fx_request(srv->port, "GET", NULL, url, NULL, &r, NULL), 200);
    mpc_response_free(&r);

    /* A password reset whose mail cannot go out (nothing listens on port
     * 1), and a password change. */
    json_t *pr = json_pack("{s:s}", "email", "sec@example.org");
    int st = mpt_http(srv, "POST", "/v1/auth/password-reset", NULL, pr, NULL);
    assert_true(st == 202 || st == 503);
    json_decref(pr);

    assert_int_equal(mpt_server_terminate(srv), 0);
    char **lines;
    size_t n = read_log(srv, &lines);
    assert_true(n > 5);
    assert_not_logged(lines, n, "password", "correct horse 1");
    assert_not_logged(lines, n, "wrong password", WRONG_PASSWORD);
    assert_not_logged(lines, n, "access token", s.access);
    assert_not_logged(lines, n, "refresh token", s.refresh);
    assert_not_logged(lines, n, "new access token", access2);
    assert_not_logged(lines, n, "new refresh token", refresh2);
    assert_not_logged(lines, n, "SMTP password", SMTP_SECRET);
    assert_not_logged(lines, n, "URL signature", sig);
    /* The JWT's signature part alone, too. */
    const char *dot = strrchr(access2, '.');
    assert_non_null(dot);
    assert_not_logged(lines, n, "token signature", dot + 1);
    free_lines(lines, n);
    assert_int_equal(mpt_server_stop(srv), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_lines),
        cmocka_unit_test(test_access_log_off),
        cmocka_unit_test(test_no_secrets_at_debug),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
