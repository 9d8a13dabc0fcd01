/* End-to-end tests of e-mail: registration = email against a real SMTP
 * server (aiosmtpd with tests/e2e/support/smtp_sink.py, which writes each
 * message it accepts to a file), verification codes (wrong, spent, expired,
 * single use, resent), the rate of mails, e-mail rules at registration, a
 * mail server that is down, the sweep of unverified accounts, password reset
 * and password change with the revocation of devices. */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_groups_util.h"

#define PASSWORD "correct horse 1"

/* ---- the SMTP sink ---------------------------------------------------------------- */

typedef struct smtp {
    pid_t pid;
    int port;
    char dir[256];
} smtp_t;

static smtp_t sink;

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A loopback port nobody listens on right now. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* The folder of this source file: the handler script lives beside it. */
static void support_dir(char *out, size_t len)
{
    snprintf(out, len, "%s", __FILE__);
    char *slash = strrchr(out, '/');
    if (slash)
        snprintf(slash, len - (size_t)(slash - out), "/support");
    else
        snprintf(out, len, "tests/e2e/support");
}

static int smtp_start(smtp_t *s)
{
    char support[1024], listen[64];
    snprintf(s->dir, sizeof s->dir, "/tmp/magpie-mail-XXXXXX");
    if (mkdtemp(s->dir) == NULL)
        return -1;
    support_dir(support, sizeof support);
    s->port = free_port();
    if (s->port <= 0)
        return -1;
    snprintf(listen, sizeof listen, "127.0.0.1:%d", s->port);
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        setenv("PYTHONPATH", support, 1);
        execl("/usr/bin/python3", "python3", "-m", "aiosmtpd", "-n", "-l", listen, "-c",
              "smtp_sink.Sink", s->dir, (char *)NULL);
        _exit(127);
    }
    for (long long end = mpt_mono_ms() + 15000; mpt_mono_ms() < end; pause_ms(20)) {
        if (port_open(s->port))
            return 0;
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            fprintf(stderr, "the SMTP sink exited at start\n");
            s->pid = 0;
            return -1;
        }
    }
    fprintf(stderr, "the SMTP sink did not listen within 15 s\n");
    return -1;
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[600];
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static void smtp_stop(smtp_t *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        long long end = mpt_mono_ms() + 5000;
        while (waitpid(s->pid, NULL, WNOHANG) == 0) {
            if (mpt_mono_ms() > end) {
                kill(s->pid, SIGKILL);
                waitpid(s->pid, NULL, 0);
                break;
            }
            pause_ms(10);
        }
        s->pid = 0;
    }
    if (s->dir[0])
        rm_dir(s->dir);
    s->dir[0] = '\0';
}

/* The messages delivered to `to`, oldest first, as heap strings in out
 * (at most max); returns how many. */
static int mails_to(const char *to, char **out, int max)
{
    struct dirent **names = NULL;
    int n = scandir(sink.dir, &names, NULL, alphasort), found = 0;
    char want[300], path[600];
    snprintf(want, sizeof want, "X-Rcpt-To: %s\r\n", to);
    for (int i = 0; i < n; i++) {
        size_t len = 0;
        unsigned char *data = NULL;
        if (names[i]->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", sink.dir, names[i]->d_name);
            data = mpt_read_file(path, &len);
        }
        if (data && strncmp((char *)data, want, strlen(want)) == 0 && found < max) {
            char *copy = malloc(len + 1);
            memcpy(copy, data, len);
            copy[len] = '\0';
            out[found++] = copy;
        }
        free(data);
        free(names[i]);
    }
    free(names);
    return found;
}

static int count_mails(const char *to)
{
    char *m[64];
    int n = mails_to(to, m, 64);
    for (int i = 0; i < n; i++)
        free(m[i]);
    return n;
}

/* Waits (bounded) for the nth (1-based) mail to `to` and returns its code;
 * the whole message goes to *msg when non-NULL (caller frees). */
static void wait_code(const char *to, int nth, char code[7], char **msg)
{
    char *m[64];
    for (long long end = mpt_mono_ms() + 10000; mpt_mono_ms() < end; pause_ms(20)) {
        int n = mails_to(to, m, 64);
        if (n >= nth) {
            const char *p = strstr(m[nth - 1], "code is ");
            assert_non_null(p);
            snprintf(code, 7, "%.6s", p + 8);
            for (int i = 0; i < 6; i++)
                assert_true(code[i] >= '0' && code[i] <= '9');
            if (msg)
                *msg = m[nth - 1];
            for (int i = 0; i < n; i++)
                if (msg == NULL || i != nth - 1)
                    free(m[i]);
            return;
        }
        for (int i = 0; i < n; i++)
            free(m[i]);
    }
    fail_msg("no mail number %d to %s within 10 s", nth, to);
}

/* ---- servers ---------------------------------------------------------------------- */

static mpt_server_t *srv;      /* registration = email */
static mpt_server_t *quick;    /* email: unverified accounts live 2 s, no resend gap */
static mpt_server_t *open_srv; /* registration = open, with mail, no resend gap */
static char smtp_url[64];

static int setup(void **state)
{
    (void)state;
    if (smtp_start(&sink) != 0)
        return -1;
    snprintf(smtp_url, sizeof smtp_url, "smtp://127.0.0.1:%d", sink.port);
    const char *f1[] = {CHAT_FLAGS, "--registration", "email", "--smtp_url", smtp_url, NULL};
    const char *f2[] = {CHAT_FLAGS, "--registration",          "email", "--smtp_url",
                        smtp_url,   "--email_pending_ttl",     "2",     "--guest_sweep_interval",
                        "50",       "--email_resend_interval", "0",     NULL};
    const char *f3[] = {CHAT_FLAGS, "--smtp_url", smtp_url, "--email_resend_interval", "0", NULL};
    srv = mpt_server_start(f1);
    quick = mpt_server_start(f2);
    open_srv = mpt_server_start(f3);
    return srv && quick && open_srv ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = mpt_server_stop(srv) | mpt_server_stop(quick) | mpt_server_stop(open_srv);
    srv = quick = open_srv = NULL;
    smtp_stop(&sink);
    return rc == 0 ? 0 : -1;
}

/* ---- helpers ---------------------------------------------------------------------- */

/* A unique address for a username. */
static void address(char out[80], const char *username)
{
    snprintf(out, 80, "%s@example.org", username);
}

static int reg(const mpt_server_t *s, const char *username, const char *email, json_t **out)
{
    json_t *body = json_pack("{s:s, s:s}", "username", username, "password", PASSWORD);
    if (email)
        json_object_set_new(body, "email", json_string(email));
    return http_json(s, "POST", "/v1/auth/register", NULL, body, out);
}

static void verify(const mpt_server_t *s, const char *email, const char *code, int want,
                   const char *want_code)
{
    EXPECT(want, want_code, s, "POST", NULL, json_pack("{s:s, s:s}", "email", email, "code", code),
           "/v1/auth/verify-email");
}

static int login(const mpt_server_t *s, const char *username, const char *password,
                 mpt_session_t *out, const char **code)
{
    mpc_response_t r;
    json_t *body = json_pack("{s:s, s:s}", "username", username, "password", password);
    int st = mpt_http(s, "POST", "/v1/auth/login", NULL, body, &r);
    json_decref(body);
    static char err[64];
    err[0] = '\0';
    if (st > 0 && st != 200 && mpc_response_error_code(&r))
        snprintf(err, sizeof err, "%s", mpc_response_error_code(&r));
    if (st > 0)
        mpc_response_free(&r);
    if (code)
        *code = err;
    if (st == 200 && out)
        assert_int_equal(mpt_login(s, username, password, NULL, out), 200);
    return st;
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_register_verify_login(void **state)
{
    (void)state;
    char name[33], email[80], code[7];
    char *msg = NULL;
    const char *err = NULL;
    json_t *out = NULL;

    mpt_username(name, "ev");
    address(email, name);
    assert_int_equal(reg(srv, name, email, &out), 201);
    assert_string_equal(jstr(out, "verification"), "email_sent");
    assert_string_equal(jstr(out, "username"), name);
    json_decref(out);

    /* The mail: a proper message with the code. */
    wait_code(email, 1, code, &msg);
    assert_non_null(strstr(msg, "\r\nDate: "));
    assert_non_null(strstr(msg, "\r\nMessage-ID: <"));
    assert_non_null(strstr(msg, "\r\nFrom: magpie@localhost\r\n"));
    char to_line[120];
    snprintf(to_line, sizeof to_line, "\r\nTo: %s\r\n", email);
    assert_non_null(strstr(msg, to_line));
    assert_non_null(strstr(msg, "\r\nSubject: Your Magpie verification code\r\n"));
    assert_non_null(strstr(msg, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
    free(msg);

    /* Before verification: the right password gets email_unverified, a wrong
     * one the usual bad_credentials (nothing told to a stranger). */
    assert_int_equal(login(srv, name, PASSWORD, NULL, &err), 403);
    assert_string_equal(err, "email_unverified");
    assert_int_equal(login(srv, name, "wrong password", NULL, &err), 401);
    assert_string_equal(err, "bad_credentials");

    /* A code of the wrong shape is refused without counting; then right. */
    verify(srv, email, "12345", 400, "invalid_code");
    verify(srv, "nobody@example.org", code, 400, "invalid_code");
    verify(srv, email, code, 204, NULL);
    mpt_session_t s;
    assert_int_equal(login(srv, name, PASSWORD, &s, NULL), 200);
    EXPECT(200, NULL, srv, "GET", s.access, NULL, "/v1/me");
    /* Single use. */
    verify(srv, email, code, 400, "invalid_code");
}

static void test_wrong_codes_kill_the_code(void **state)
{
    (void)state;
    char name[33], email[80], code[7], wrong[7];
    const char *err = NULL;

    mpt_username(name, "ew");
    address(email, name);
    assert_int_equal(reg(srv, name, email, NULL), 201);
    wait_code(email, 1, code, NULL);
    snprintf(wrong, sizeof wrong, "%06d", (atoi(code) + 1) % 1000000);
    for (int i = 0; i < 5; i++)
        verify(srv, email, wrong, 400, "invalid_code");
    /* The sixth try fails even with the right code. */
    verify(srv, email, code, 400, "invalid_code");
    assert_int_equal(login(srv, name, PASSWORD, NULL, &err), 403);
    assert_string_equal(err, "email_unverified");

    /* A pending account is nobody yet: no conversation or group with it. */
    json_t *out = NULL;
    char pending_id[24];
    char other[33], other_email[80];
    mpt_username(other, "ew");
    address(other_email, other);
    assert_int_equal(reg(srv, other, other_email, &out), 201);
    json_decref(out);
    wait_code(other_email, 1, code, NULL);
    verify(srv, other_email, code, 204, NULL);
    mpt_session_t v;
    assert_int_equal(login(srv, other, PASSWORD, &v, NULL), 200);
    mpt_username(name, "ew");
    address(email, name);
    assert_int_equal(reg(srv, name, email, &out), 201);
    snprintf(pending_id, sizeof pending_id, "%s", jstr(out, "user_id"));
    json_decref(out);
    EXPECT(404, "not_found", srv, "POST", v.access, json_pack("{s:s}", "user_id", pending_id),
           "/v1/conversations/direct");
    EXPECT(404, "not_found", srv, "POST", v.access,
           json_pack("{s:s, s:[s]}", "title", "Club", "member_ids", pending_id), "/v1/groups");
}

static void test_resend(void **state)
{
    (void)state;
    char name[33], email[80], other[33], other_email[80], code[7];

    /* Within email_resend_interval (60 s here) of the first mail, a resend
     * is answered 202 but sends nothing. */
    mpt_username(name, "er");
    address(email, name);
    assert_int_equal(reg(srv, name, email, NULL), 201);
    wait_code(email, 1, code, NULL);
    EXPECT(202, NULL, srv, "POST", NULL, json_pack("{s:s}", "email", email),
           "/v1/auth/resend-code");
    /* Unknown addresses get the same answer. */
    EXPECT(202, NULL, srv, "POST", NULL, json_pack("{s:s}", "email", "nobody@example.org"),
           "/v1/auth/resend-code");
    EXPECT(400, "bad_email", srv, "POST", NULL, json_pack("{s:s}", "email", "nobody"),
           "/v1/auth/resend-code");
    /* A mail asked for afterwards arrives; by then a resent one would have too
     * (sends start in the order they were asked for). */
    mpt_username(other, "er");
    address(other_email, other);
    assert_int_equal(reg(srv, other, other_email, NULL), 201);
    wait_code(other_email, 1, code, NULL);
    pause_ms(200);
    assert_int_equal(count_mails(email), 1);

    /* With no interval, a resend mails a new code and the old one dies. */
    char old[7], fresh[7];
    mpt_username(name, "er");
    address(email, name);
    assert_int_equal(reg(quick, name, email, NULL), 201);
    wait_code(email, 1, old, NULL);
    EXPECT(202, NULL, quick, "POST", NULL, json_pack("{s:s}", "email", email),
           "/v1/auth/resend-code");
    wait_code(email, 2, fresh, NULL);
    if (strcmp(old, fresh) != 0)
        verify(quick, email, old, 400, "invalid_code");
    verify(quick, email, fresh, 204, NULL);
    /* Verified: nothing more to resend. */
    EXPECT(202, NULL, quick, "POST", NULL, json_pack("{s:s}", "email", email),
           "/v1/auth/resend-code");
    assert_int_equal(login(quick, name, PASSWORD, NULL, NULL), 200);
}

static void test_email_rules(void **state)
{
    (void)state;
    char name[33], email[80], code[7];
    json_t *out = NULL;

    mpt_username(name, "eb");
    /* Required with registration = email, and must be an address. */
    assert_int_equal(reg(srv, name, NULL, &out), 400);
    assert_string_equal(mpt_error_code(out), "bad_email");
    json_decref(out);
    const char *bad[] = {
        "",         "plain",    "a@b",      "a b@c.org", "a@b..org",           "@c.org",
        "a@.c.org", "a@c.org.", "a@@c.org", "<a@c.org>", "a@c.org\nBcc: x@y.z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(reg(srv, name, bad[i], &out), 400);
        assert_string_equal(mpt_error_code(out), "bad_email");
        json_decref(out);
    }
    /* Normalised: trimmed and lower-cased; the mail goes to that form. */
    char typed[100];
    snprintf(typed, sizeof typed, "  %s@Example.ORG ", name);
    for (char *p = typed; *p && *p != '@'; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    address(email, name);
    assert_int_equal(reg(srv, name, typed, NULL), 201);
    wait_code(email, 1, code, NULL);

    /* Taken: the address (in any case) and the username, even while pending. */
    char other[33];
    mpt_username(other, "eb");
    assert_int_equal(reg(srv, other, typed, &out), 409);
    assert_string_equal(mpt_error_code(out), "email_taken");
    json_decref(out);
    char other_email[80];
    address(other_email, other);
    assert_int_equal(reg(srv, name, other_email, &out), 409);
    assert_string_equal(mpt_error_code(out), "username_taken");
    json_decref(out);
    /* Neither refusal mailed anything. */
    pause_ms(100);
    assert_int_equal(count_mails(other_email), 0);
    assert_int_equal(count_mails(email), 1);
}

static void test_code_expires(void **state)
{
    (void)state;
    char name[33], email[80], code[7];
    const char *err = NULL;

    const char *flags[] = {CHAT_FLAGS, "--registration",   "email", "--smtp_url",
                           smtp_url,   "--email_code_ttl", "1",     NULL};
    mpt_server_t *s = mpt_server_start(flags);
    assert_non_null(s);
    mpt_username(name, "ex");
    address(email, name);
    long long t0 = mpt_mono_ms();
    assert_int_equal(reg(s, name, email, NULL), 201);
    wait_code(email, 1, code, NULL);
    /* email_code_ttl is 1 s on this server: the passing of time is the
     * subject here. */
    long long left = t0 + 1300 - mpt_mono_ms();
    if (left > 0)
        pause_ms((int)left);
    verify(s, email, code, 400, "invalid_code");
    assert_int_equal(login(s, name, PASSWORD, NULL, &err), 403);
    assert_string_equal(err, "email_unverified");
    assert_int_equal(mpt_server_stop(s), 0);
}

static void test_unverified_accounts_are_swept(void **state)
{
    (void)state;
    char name[33], email[80], code[7];
    const char *err = "";

    mpt_username(name, "es");
    address(email, name);
    assert_int_equal(reg(quick, name, email, NULL), 201);
    wait_code(email, 1, code, NULL);
    /* email_pending_ttl is 2 s and the sweep runs every 50 ms: the account
     * goes, and login then knows no such user. */
    int st = 0;
    for (long long end = mpt_mono_ms() + 10000; mpt_mono_ms() < end; pause_ms(50)) {
        st = login(quick, name, PASSWORD, NULL, &err);
        if (st == 401)
            break;
        assert_int_equal(st, 403);
    }
    assert_int_equal(st, 401);
    assert_string_equal(err, "bad_credentials");
    /* Username and address are free again. */
    assert_int_equal(reg(quick, name, email, NULL), 201);
    wait_code(email, 2, code, NULL);
    verify(quick, email, code, 204, NULL);
}

static void test_smtp_down(void **state)
{
    (void)state;
    char url[64], name[33], email[80];
    json_t *out = NULL;
    const char *err = NULL;
    int closed = free_port();
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", closed);
    const char *flags[] = {CHAT_FLAGS, "--registration", "email", "--smtp_url",
                           url,        "--smtp_timeout", "2s",    NULL};
    mpt_server_t *down = mpt_server_start(flags);
    assert_non_null(down);

    mpt_username(name, "ed");
    address(email, name);
    assert_int_equal(reg(down, name, email, &out), 503);
    assert_string_equal(mpt_error_code(out), "unavailable");
    json_decref(out);
    /* Nothing was created: the name is unknown to login... */
    assert_int_equal(login(down, name, PASSWORD, NULL, &err), 401);
    assert_string_equal(err, "bad_credentials");
    /* ...and free once mail works again (same data, the sink's address). */
    assert_int_equal(mpt_server_terminate(down), 0);
    const char *good[] = {CHAT_FLAGS, "--registration", "email", "--smtp_url", smtp_url, NULL};
    mpt_server_set_flags(down, good);
    assert_int_equal(mpt_server_restart(down), 0);
    assert_int_equal(reg(down, name, email, NULL), 201);
    char code[7];
    wait_code(email, 1, code, NULL);
    assert_int_equal(mpt_server_stop(down), 0);

    /* No smtp_url at all: registration = email and password reset cannot work. */
    const char *none[] = {CHAT_FLAGS, "--registration", "email", NULL};
    mpt_server_t *nomail = mpt_server_start(none);
    assert_non_null(nomail);
    assert_int_equal(reg(nomail, name, email, &out), 503);
    json_decref(out);
    EXPECT(503, "unavailable", nomail, "POST", NULL, json_pack("{s:s}", "email", email),
           "/v1/auth/password-reset");
    EXPECT(503, "unavailable", nomail, "POST", NULL,
           json_pack("{s:s, s:s, s:s}", "email", email, "code", "123456", "new_password",
                     "another horse 2"),
           "/v1/auth/password-reset/confirm");
    assert_int_equal(mpt_server_stop(nomail), 0);
}

static void test_open_mode_email_optional(void **state)
{
    (void)state;
    char name[33], email[80];
    json_t *out = NULL;

    mpt_username(name, "eo");
    address(email, name);
    assert_int_equal(reg(open_srv, name, NULL, NULL), 201);
    mpt_username(name, "eo");
    address(email, name);
    assert_int_equal(reg(open_srv, name, "not an address", &out), 400);
    assert_string_equal(mpt_error_code(out), "bad_email");
    json_decref(out);
    assert_int_equal(reg(open_srv, name, email, &out), 201);
    /* Usable at once, no verification mail. */
    assert_null(json_object_get(out, "verification"));
    json_decref(out);
    assert_int_equal(login(open_srv, name, PASSWORD, NULL, NULL), 200);
    char other[33];
    mpt_username(other, "eo");
    assert_int_equal(reg(open_srv, other, email, &out), 409);
    assert_string_equal(mpt_error_code(out), "email_taken");
    json_decref(out);
    pause_ms(100);
    assert_int_equal(count_mails(email), 0);
}

static void test_password_reset(void **state)
{
    (void)state;
    char name[33], email[80], code[7], *msg = NULL;
    const char *err = NULL;

    mpt_username(name, "ep");
    address(email, name);
    assert_int_equal(reg(open_srv, name, email, NULL), 201);
    mpt_session_t d1, d2;
    assert_int_equal(login(open_srv, name, PASSWORD, &d1, NULL), 200);
    assert_int_equal(login(open_srv, name, PASSWORD, &d2, NULL), 200);
    mpc_ws_t *ws = mpt_ws_open(open_srv, d1.access);
    assert_non_null(ws);

    EXPECT(202, NULL, open_srv, "POST", NULL, json_pack("{s:s}", "email", "nobody@example.org"),
           "/v1/auth/password-reset");
    EXPECT(202, NULL, open_srv, "POST", NULL, json_pack("{s:s}", "email", email),
           "/v1/auth/password-reset");
    wait_code(email, 1, code, &msg);
    assert_non_null(strstr(msg, "Subject: Your Magpie password reset code\r\n"));
    free(msg);

    char wrong[7];
    snprintf(wrong, sizeof wrong, "%06d", (atoi(code) + 1) % 1000000);
    json_t *body = json_pack("{s:s, s:s, s:s}", "email", email, "code", wrong, "new_password",
                             "another horse 2");
    EXPECT(400, "invalid_code", open_srv, "POST", NULL, body, "/v1/auth/password-reset/confirm");
    EXPECT(400, "weak_password", open_srv, "POST", NULL,
           json_pack("{s:s, s:s, s:s}", "email", email, "code", code, "new_password", "short"),
           "/v1/auth/password-reset/confirm");
    EXPECT(204, NULL, open_srv, "POST", NULL,
           json_pack("{s:s, s:s, s:s}", "email", email, "code", code, "new_password",
                     "another horse 2"),
           "/v1/auth/password-reset/confirm");

    /* Every device is signed out: the WebSocket closes, tokens die. */
    int close_code = 0;
    char *reason = NULL;
    assert_int_equal(mpc_ws_wait_close(ws, MPT_TIMEOUT, &close_code, &reason), MPC_OK);
    assert_int_equal(close_code, 1008);
    free(reason);
    mpc_ws_free(ws);
    EXPECT(401, "unauthorized", open_srv, "GET", d1.access, NULL, "/v1/me");
    EXPECT(401, "unauthorized", open_srv, "GET", d2.access, NULL, "/v1/me");
    EXPECT(401, "unauthorized", open_srv, "POST", NULL,
           json_pack("{s:s}", "refresh_token", d2.refresh), "/v1/auth/refresh");
    assert_int_equal(login(open_srv, name, PASSWORD, NULL, &err), 401);
    mpt_session_t d3;
    assert_int_equal(login(open_srv, name, "another horse 2", &d3, NULL), 200);
    /* The code was single use. */
    EXPECT(
        400, "invalid_code", open_srv, "POST", NULL,
        json_pack("{s:s, s:s, s:s}", "email", email, "code", code, "new_password", "third horse 3"),
        "/v1/auth/password-reset/confirm");
}

static void test_password_change(void **state)
{
    (void)state;
    mpt_session_t a, b, c;
    assert_int_equal(mpt_user_new(open_srv, "ec", &a), 0);
    assert_int_equal(mpt_device_new(open_srv, &a, &b), 0);
    mpc_ws_t *ws = mpt_ws_open(open_srv, b.access);
    assert_non_null(ws);

    EXPECT(401, "bad_credentials", open_srv, "POST", a.access,
           json_pack("{s:s, s:s}", "current_password", "not it at all", "new_password",
                     "new horse 22"),
           "/v1/me/password");
    EXPECT(400, "weak_password", open_srv, "POST", a.access,
           json_pack("{s:s, s:s}", "current_password", a.password, "new_password", "short"),
           "/v1/me/password");
    EXPECT(400, "bad_request", open_srv, "POST", a.access,
           json_pack("{s:s}", "current_password", a.password), "/v1/me/password");
    EXPECT(401, "unauthorized", open_srv, "POST", NULL,
           json_pack("{s:s, s:s}", "current_password", a.password, "new_password", "new horse 22"),
           "/v1/me/password");
    /* Guests have no password to change. */
    json_t *g = NULL;
    assert_int_equal(http_json(open_srv, "POST", "/v1/auth/guest", NULL,
                               json_pack("{s:s}", "display_name", "Guest"), &g),
                     200);
    EXPECT(403, "guest_forbidden", open_srv, "POST", jstr(g, "access_token"),
           json_pack("{s:s, s:s}", "current_password", "x", "new_password", "new horse 22"),
           "/v1/me/password");
    json_decref(g);

    /* Default: the other devices are signed out, this one stays. */
    EXPECT(204, NULL, open_srv, "POST", a.access,
           json_pack("{s:s, s:s}", "current_password", a.password, "new_password", "new horse 22"),
           "/v1/me/password");
    int close_code = 0;
    char *reason = NULL;
    assert_int_equal(mpc_ws_wait_close(ws, MPT_TIMEOUT, &close_code, &reason), MPC_OK);
    assert_int_equal(close_code, 1008);
    free(reason);
    mpc_ws_free(ws);
    EXPECT(401, "unauthorized", open_srv, "GET", b.access, NULL, "/v1/me");
    EXPECT(200, NULL, open_srv, "GET", a.access, NULL, "/v1/me");
    const char *err = NULL;
    assert_int_equal(login(open_srv, a.username, a.password, NULL, &err), 401);
    assert_int_equal(login(open_srv, a.username, "new horse 22", &c, NULL), 200);

    /* keep_other_devices: nobody is signed out. */
    EXPECT(204, NULL, open_srv, "POST", a.access,
           json_pack("{s:s, s:s, s:b}", "current_password", "new horse 22", "new_password",
                     "newer horse 33", "keep_other_devices", 1),
           "/v1/me/password");
    EXPECT(200, NULL, open_srv, "GET", c.access, NULL, "/v1/me");
    EXPECT(200, NULL, open_srv, "GET", a.access, NULL, "/v1/me");
    assert_int_equal(login(open_srv, a.username, "newer horse 33", NULL, NULL), 200);
}

static void test_password_change_is_rate_limited(void **state)
{
    (void)state;
    /* A server with the default login_rate (10 per minute per name/IP). */
    const char *flags[] = {"--register_rate", "100000", NULL};
    mpt_server_t *s = mpt_server_start(flags);
    assert_non_null(s);
    mpt_session_t a;
    assert_int_equal(mpt_user_new(s, "el", &a), 0);
    int st = 0;
    for (int i = 0; i < 12 && st != 429; i++) {
        json_t *body = json_pack("{s:s, s:s}", "current_password", "guess guess", "new_password",
                                 "new horse 22");
        st = http_json(s, "POST", "/v1/me/password", a.access, body, NULL);
        assert_true(st == 401 || st == 429);
    }
    assert_int_equal(st, 429);
    assert_int_equal(mpt_server_stop(s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_verify_login),
        cmocka_unit_test(test_wrong_codes_kill_the_code),
        cmocka_unit_test(test_resend),
        cmocka_unit_test(test_email_rules),
        cmocka_unit_test(test_code_expires),
        cmocka_unit_test(test_unverified_accounts_are_swept),
        cmocka_unit_test(test_smtp_down),
        cmocka_unit_test(test_open_mode_email_optional),
        cmocka_unit_test(test_password_reset),
        cmocka_unit_test(test_password_change),
        cmocka_unit_test(test_password_change_is_rate_limited),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
