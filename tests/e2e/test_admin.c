/* End-to-end tests of server administration: every /v1/admin route refuses
 * non-admins and guests; an admin promoted over the control socket uses
 * them; user.add over HTTP and the socket; promote/demote and the last
 * administrator; disabling closes the user's WebSockets within a second
 * and refuses its tokens, logins and refreshes until enabled; the audit log
 * (actor, target, paging); stats; the control socket itself (mode 0600,
 * line protocol, many clients, a client leaving mid-operation, removed at
 * shutdown, a stale one replaced, a live one refused); and the `magpie
 * admin` command line (exit codes 0/1/2/3, user add/list/promote). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_groups_util.h"

static mpt_server_t *srv;

static int setup(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS, "--guest_rate", "100000", NULL};
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

/* ---- the control socket ----------------------------------------------------- */

static int ctl_connect(const mpt_server_t *s)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", mpt_server_path(s, "control.sock"));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        fail_msg("cannot connect to %s: %s", sa.sun_path, strerror(errno));
    return fd;
}

static void ctl_send_raw(int fd, const char *text)
{
    size_t n = strlen(text);
    while (n > 0) {
        ssize_t w = send(fd, text, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        text += w;
        n -= (size_t)w;
    }
}

/* What was read past the last line, per descriptor (one test at a time). */
static struct {
    int fd;
    size_t len;
    char buf[1 << 17];
} rd = {.fd = -1};

/* Reads one line (bounded wait); NULL when the server closed first. */
static json_t *ctl_read(int fd)
{
    if (rd.fd != fd)
        rd.fd = fd, rd.len = 0;
    long long deadline = mpt_mono_ms() + MPT_TIMEOUT;
    for (;;) {
        char *nl = memchr(rd.buf, '\n', rd.len);
        if (nl != NULL) {
            json_t *j = json_loadb(rd.buf, (size_t)(nl - rd.buf), 0, NULL);
            rd.len -= (size_t)(nl - rd.buf) + 1;
            memmove(rd.buf, nl + 1, rd.len);
            assert_non_null(j);
            return j;
        }
        int left = (int)(deadline - mpt_mono_ms());
        assert_true(left > 0);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_true(poll(&p, 1, left) >= 0);
        ssize_t r = recv(fd, rd.buf + rd.len, sizeof rd.buf - rd.len, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno == ECONNRESET)) /* reset: it hung up on unread data */
            return NULL;
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        assert_true(r > 0);
        rd.len += (size_t)r;
    }
}

/* One request (stolen) on a fresh connection; returns the answer. */
static json_t *ctl(const mpt_server_t *s, json_t *req)
{
    int fd = ctl_connect(s);
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    ctl_send_raw(fd, text);
    ctl_send_raw(fd, "\n");
    free(text);
    json_t *ans = ctl_read(fd);
    close(fd);
    rd.fd = -1;
    assert_non_null(ans);
    return ans;
}

static bool ctl_ok(const json_t *ans)
{
    return json_is_true(json_object_get(ans, "ok"));
}

static void ctl_expect_ok(const mpt_server_t *s, json_t *req)
{
    json_t *ans = ctl(s, req);
    if (!ctl_ok(ans)) {
        char *d = json_dumps(ans, JSON_COMPACT);
        fail_msg("control socket refused: %s", d);
    }
    json_decref(ans);
}

static void promote(const mpt_server_t *s, const char *username)
{
    ctl_expect_ok(s, json_pack("{s:s, s:s}", "cmd", "user.promote", "username", username));
}

/* A fresh user promoted to administrator over the control socket. */
static void new_admin(const mpt_server_t *s, mpt_session_t *a)
{
    assert_int_equal(mpt_user_new(s, "adm", a), 0);
    promote(s, a->username);
}

static const char *error_code_of(const json_t *ans)
{
    return json_string_value(json_object_get(json_object_get(ans, "error"), "code"));
}

/* ---- every route refuses everyone but administrators --------------------------- */

static const struct {
    const char *method, *path;
} admin_routes[] = {
    {"GET", "/v1/admin/users"},
    {"POST", "/v1/admin/users"},
    {"GET", "/v1/admin/users/1"},
    {"DELETE", "/v1/admin/users/1"},
    {"POST", "/v1/admin/users/1/password"},
    {"POST", "/v1/admin/users/1/disable"},
    {"POST", "/v1/admin/users/1/enable"},
    {"POST", "/v1/admin/users/1/promote"},
    {"POST", "/v1/admin/users/1/demote"},
    {"POST", "/v1/admin/invites"},
    {"GET", "/v1/admin/invites"},
    {"DELETE", "/v1/admin/invites/ABC"},
    {"DELETE", "/v1/admin/world/messages/1"},
    {"POST", "/v1/admin/world/bans"},
    {"GET", "/v1/admin/world/bans"},
    {"DELETE", "/v1/admin/world/bans/1"},
    {"GET", "/v1/admin/stats"},
    {"GET", "/v1/admin/audit"},
};

static void test_non_admins_refused(void **state)
{
    (void)state;
    mpt_session_t u, a;
    assert_int_equal(mpt_user_new(srv, "plain", &u), 0);
    new_admin(srv, &a);
    json_t *g = EXPECT_BODY(200, NULL, srv, "POST", NULL, json_pack("{s:s}", "display_name", "G"),
                            "/v1/auth/guest");
    char guest[1024];
    snprintf(guest, sizeof guest, "%s", jstr(g, "access_token"));
    json_decref(g);

    for (size_t i = 0; i < sizeof admin_routes / sizeof *admin_routes; i++) {
        const char *m = admin_routes[i].method, *p = admin_routes[i].path;
        json_t *body = strcmp(m, "POST") == 0 ? json_object() : NULL;
        EXPECT(401, "unauthorized", srv, m, NULL, json_incref(body), "%s", p);
        json_t *r = EXPECT_BODY(403, "forbidden", srv, m, u.access, json_incref(body), "%s", p);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(r, "error"), "message")),
            "administrators only");
        json_decref(r);
        EXPECT(403, "forbidden", srv, m, guest, json_incref(body), "%s", p);
        /* The administrator reaches the operation: whatever it answers, it
         * is not the refusal. */
        json_t *out = NULL;
        int st = req(srv, m, a.access, body, &out, "%s", p);
        const char *code = out ? mpt_error_code(out) : NULL;
        if (st == 403 && code != NULL && strcmp(code, "forbidden") == 0)
            fail_msg("%s %s refused an administrator", m, p);
        json_decref(out);
    }
    /* A demoted administrator is refused from the next request on (another
     * one remains: the last one cannot be demoted). */
    mpt_session_t b;
    new_admin(srv, &b);
    ctl_expect_ok(srv, json_pack("{s:s, s:s}", "cmd", "user.demote", "username", a.username));
    EXPECT(403, "forbidden", srv, "GET", a.access, NULL, "/v1/admin/stats");
}

/* ---- users over HTTP ---------------------------------------------------------------- */

static void test_users_http(void **state)
{
    (void)state;
    mpt_session_t a;
    new_admin(srv, &a);

    /* user.add over HTTP: 201 with the user; the new account logs in. */
    char name[33];
    mpt_username(name, "made");
    json_t *r = EXPECT_BODY(201, NULL, srv, "POST", a.access,
                            json_pack("{s:s, s:s, s:s}", "username", name, "password",
                                      "a fine password", "display_name", "Made By Admin"),
                            "/v1/admin/users");
    json_t *u = json_object_get(r, "user");
    assert_string_equal(jstr(u, "username"), name);
    assert_string_equal(jstr(u, "display_name"), "Made By Admin");
    assert_false(json_is_true(json_object_get(u, "admin")));
    char uid[24];
    snprintf(uid, sizeof uid, "%s", jstr(u, "user_id"));
    json_decref(r);
    mpt_session_t made;
    assert_int_equal(mpt_login(srv, name, "a fine password", NULL, &made), 200);
    /* The checks of registration. */
    EXPECT(409, "username_taken", srv, "POST", a.access,
           json_pack("{s:s, s:s}", "username", name, "password", "another password"),
           "/v1/admin/users");
    EXPECT(400, "weak_password", srv, "POST", a.access,
           json_pack("{s:s, s:s}", "username", "shortpw", "password", "short"), "/v1/admin/users");
    EXPECT(400, "bad_username", srv, "POST", a.access,
           json_pack("{s:s, s:s}", "username", "no spaces", "password", "long enough"),
           "/v1/admin/users");
    EXPECT(400, "bad_request", srv, "POST", a.access, json_pack("{s:s}", "username", "x"),
           "/v1/admin/users");

    /* user.get */
    r = EXPECT_BODY(200, NULL, srv, "GET", a.access, NULL, "/v1/admin/users/%s", uid);
    u = json_object_get(r, "user");
    assert_string_equal(jstr(u, "username"), name);
    assert_true(json_is_null(json_object_get(u, "email")));
    assert_false(json_is_true(json_object_get(u, "disabled")));
    json_decref(r);
    EXPECT(404, "not_found", srv, "GET", a.access, NULL, "/v1/admin/users/12345");
    EXPECT(400, "bad_request", srv, "GET", a.access, NULL, "/v1/admin/users/abc");

    /* promote / demote over HTTP; a repeat changes nothing. */
    r = EXPECT_BODY(200, NULL, srv, "POST", a.access, NULL, "/v1/admin/users/%s/promote", uid);
    assert_true(json_is_true(json_object_get(r, "admin")));
    assert_true(json_is_true(json_object_get(r, "changed")));
    json_decref(r);
    r = EXPECT_BODY(200, NULL, srv, "POST", a.access, NULL, "/v1/admin/users/%s/promote", uid);
    assert_false(json_is_true(json_object_get(r, "changed")));
    json_decref(r);
    EXPECT(200, NULL, srv, "GET", made.access, NULL, "/v1/admin/stats");
    r = EXPECT_BODY(200, NULL, srv, "POST", a.access, NULL, "/v1/admin/users/%s/demote", uid);
    assert_false(json_is_true(json_object_get(r, "admin")));
    json_decref(r);
    EXPECT(403, "forbidden", srv, "GET", made.access, NULL, "/v1/admin/stats");

    /* A guest cannot be an administrator. */
    json_t *g = EXPECT_BODY(200, NULL, srv, "POST", NULL, json_pack("{s:s}", "display_name", "G"),
                            "/v1/auth/guest");
    EXPECT(400, "bad_request", srv, "POST", a.access, NULL, "/v1/admin/users/%s/promote",
           jstr(g, "user_id"));
    json_decref(g);

    /* user.list: filters and paging. */
    r = EXPECT_BODY(200, NULL, srv, "GET", a.access, NULL, "/v1/admin/users?q=%s", name);
    assert_int_equal(json_array_size(json_object_get(r, "users")), 1);
    json_decref(r);
    r = EXPECT_BODY(200, NULL, srv, "GET", a.access, NULL, "/v1/admin/users?admin=true&limit=200");
    size_t i;
    json_t *v;
    bool seen = false;
    json_array_foreach(json_object_get(r, "users"), i, v)
    {
        assert_true(json_is_true(json_object_get(v, "admin")));
        seen = seen || strcmp(jstr(v, "username"), a.username) == 0;
    }
    assert_true(seen);
    json_decref(r);
    /* Pages of one, following next_cursor, see every user once, in order. */
    char cursor[64] = "";
    size_t n = 0;
    char prev[64] = "";
    for (int page = 0; page < 1000; page++) {
        r = EXPECT_BODY(200, NULL, srv, "GET", a.access, NULL, "/v1/admin/users?limit=1%s%s",
                        cursor[0] ? "&cursor=" : "", cursor);
        json_t *users = json_object_get(r, "users");
        assert_true(json_array_size(users) <= 1);
        if (json_array_size(users) == 1) {
            const char *un = jstr(json_array_get(users, 0), "username");
            assert_true(strcmp(prev, un) < 0);
            snprintf(prev, sizeof prev, "%s", un);
            n++;
        }
        json_t *next = json_object_get(r, "next_cursor");
        bool more = json_is_string(next);
        if (more)
            snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
        json_decref(r);
        if (!more)
            break;
    }
    r = EXPECT_BODY(200, NULL, srv, "GET", a.access, NULL, "/v1/admin/users?limit=200");
    assert_int_equal(json_array_size(json_object_get(r, "users")), n);
    json_decref(r);
    EXPECT(400, "bad_request", srv, "GET", a.access, NULL, "/v1/admin/users?limit=0");
    EXPECT(400, "bad_request", srv, "GET", a.access, NULL, "/v1/admin/users?admin=maybe");
}

/* user.add over the socket, with the admin flag; the last administrator
 * cannot be demoted. */
static void test_users_socket(void **state)
{
    (void)state;
    char name[33];
    mpt_username(name, "sock");
    json_t *ans = ctl(srv, json_pack("{s:s, s:s, s:s, s:b, s:i}", "cmd", "user.add", "username",
                                     name, "password", "socket password", "admin", 1, "id", 7));
    assert_true(ctl_ok(ans));
    assert_int_equal(json_integer_value(json_object_get(ans, "id")), 7);
    assert_true(json_is_true(json_object_get(json_object_get(ans, "user"), "admin")));
    json_decref(ans);
    mpt_session_t s;
    assert_int_equal(mpt_login(srv, name, "socket password", NULL, &s), 200);
    EXPECT(200, NULL, srv, "GET", s.access, NULL, "/v1/admin/stats");

    ans = ctl(srv, json_pack("{s:s, s:s, s:s}", "cmd", "user.add", "username", name, "password",
                             "socket password"));
    assert_false(ctl_ok(ans));
    assert_string_equal(error_code_of(ans), "username_taken");
    json_decref(ans);

    /* Demote every administrator but one; the last one stays. */
    ans = ctl(srv, json_pack("{s:s, s:b, s:i}", "cmd", "user.list", "admin", 1, "limit", 200));
    assert_true(ctl_ok(ans));
    json_t *admins = json_incref(json_object_get(ans, "users"));
    json_decref(ans);
    size_t i;
    json_t *v;
    json_array_foreach(admins, i, v)
    {
        if (strcmp(jstr(v, "username"), name) == 0)
            continue;
        ctl_expect_ok(
            srv, json_pack("{s:s, s:s}", "cmd", "user.demote", "username", jstr(v, "username")));
    }
    json_decref(admins);
    ans = ctl(srv, json_pack("{s:s, s:s}", "cmd", "user.demote", "username", name));
    assert_false(ctl_ok(ans));
    assert_string_equal(error_code_of(ans), "conflict");
    json_decref(ans);
    EXPECT(409, "conflict", srv, "POST", s.access, NULL, "/v1/admin/users/%s/demote", s.user_id);

    /* Unknown users and bad names of users. */
    ans = ctl(srv, json_pack("{s:s, s:s}", "cmd", "user.disable", "username", "nobody_here"));
    assert_string_equal(error_code_of(ans), "not_found");
    json_decref(ans);
    ans = ctl(srv, json_pack("{s:s}", "cmd", "user.disable"));
    assert_string_equal(error_code_of(ans), "bad_request");
    json_decref(ans);
}

/* user.passwd signs every device out; user.delete deletes the account. */
static void test_passwd_and_delete(void **state)
{
    (void)state;
    mpt_session_t a;
    new_admin(srv, &a);
    chat_dev_t d;
    dev_new_user(srv, "pw", &d);

    /* Over the socket, by name: the old password and the open socket go. */
    ctl_expect_ok(srv, json_pack("{s:s, s:s, s:s}", "cmd", "user.passwd", "username", d.s.username,
                                 "password", "a brand new one"));
    int code = 0;
    assert_int_equal(mpc_ws_wait_close(d.ws, MPT_TIMEOUT, &code, NULL), MPC_OK);
    dev_close(&d);
    mpt_session_t s;
    assert_int_equal(mpt_login(srv, d.s.username, d.s.password, NULL, &s), 401);
    assert_int_equal(mpt_login(srv, d.s.username, "a brand new one", NULL, &s), 200);
    /* Over HTTP, by id. */
    EXPECT(400, "weak_password", srv, "POST", a.access, json_pack("{s:s}", "password", "short"),
           "/v1/admin/users/%s/password", d.s.user_id);
    EXPECT(204, NULL, srv, "POST", a.access, json_pack("{s:s}", "password", "third password"),
           "/v1/admin/users/%s/password", d.s.user_id);
    EXPECT(401, "unauthorized", srv, "GET", s.access, NULL, "/v1/me");
    assert_int_equal(mpt_login(srv, d.s.username, "third password", NULL, &s), 200);

    /* Deleted: no login, shown as deleted, a second delete is 404. */
    EXPECT(204, NULL, srv, "DELETE", a.access, NULL, "/v1/admin/users/%s", d.s.user_id);
    assert_int_not_equal(mpt_login(srv, d.s.username, "third password", NULL, &s), 200);
    json_t *r =
        EXPECT_BODY(200, NULL, srv, "GET", a.access, NULL, "/v1/admin/users/%s", d.s.user_id);
    assert_true(json_is_true(json_object_get(json_object_get(r, "user"), "deleted")));
    json_decref(r);
    EXPECT(404, "not_found", srv, "DELETE", a.access, NULL, "/v1/admin/users/%s", d.s.user_id);
    r = EXPECT_BODY(200, NULL, srv, "GET", a.access, NULL, "/v1/admin/audit?limit=3");
    json_t *e = json_object_get(r, "entries");
    assert_string_equal(jstr(json_array_get(e, 0), "action"), "user.delete");
    assert_string_equal(jstr(json_array_get(e, 1), "action"), "user.passwd");
    assert_string_equal(jstr(json_array_get(e, 2), "action"), "user.passwd");
    assert_true(json_is_null(json_object_get(json_array_get(e, 2), "actor_id")));
    json_decref(r);
}

/* ---- disabled accounts ---------------------------------------------------------------- */

static void test_disable(void **state)
{
    (void)state;
    mpt_session_t a;
    new_admin(srv, &a);
    chat_dev_t d1, d2;
    dev_new_user(srv, "victim", &d1);
    dev_new_device(srv, &d1, &d2);

    /* Both sockets close with 1008 within a second of the answer. */
    EXPECT(200, NULL, srv, "POST", a.access, NULL, "/v1/admin/users/%s/disable", d1.s.user_id);
    long long t0 = mpt_mono_ms();
    chat_dev_t *devs[] = {&d1, &d2};
    for (int k = 0; k < 2; k++) {
        int code = 0;
        char *reason = NULL;
        int left = (int)(t0 + 1000 - mpt_mono_ms());
        assert_int_equal(mpc_ws_wait_close(devs[k]->ws, left > 0 ? left : 1, &code, &reason),
                         MPC_OK);
        assert_int_equal(code, 1008);
        assert_string_equal(reason, "account disabled");
        free(reason);
        dev_close(devs[k]);
    }

    /* Its tokens, its password and its refresh tokens are refused. */
    EXPECT(403, "account_disabled", srv, "GET", d1.s.access, NULL, "/v1/me");
    mpc_ws_t *ws = NULL;
    int status = 0;
    assert_int_not_equal(mpc_ws_connect(srv->host, srv->port, "/v1/ws", d1.s.access, NULL, &ws,
                                        &status, MPT_TIMEOUT),
                         MPC_OK);
    assert_int_equal(status, 403);
    assert_int_equal(
        mpc_ws_connect(srv->host, srv->port, "/v1/ws", NULL, NULL, &ws, &status, MPT_TIMEOUT),
        MPC_OK);
    json_t *tok = json_pack("{s:s}", "token", d2.s.access);
    json_t *reply = mpt_ws_call(ws, "auth", tok);
    json_decref(tok);
    MPT_ASSERT_WS_ERROR(reply, "account_disabled");
    json_decref(reply);
    mpc_ws_free(ws);
    mpt_session_t again;
    assert_int_equal(mpt_login(srv, d1.s.username, d1.s.password, NULL, &again), 403);
    /* Only after the password matched: a wrong one says nothing of it. */
    assert_int_equal(mpt_login(srv, d1.s.username, "wrong password", NULL, &again), 401);
    EXPECT(403, "account_disabled", srv, "POST", NULL,
           json_pack("{s:s}", "refresh_token", d2.s.refresh), "/v1/auth/refresh");

    /* The admin's view, and a repeat that changes nothing. */
    json_t *r =
        EXPECT_BODY(200, NULL, srv, "GET", a.access, NULL, "/v1/admin/users/%s", d1.s.user_id);
    assert_true(json_is_true(json_object_get(json_object_get(r, "user"), "disabled")));
    json_decref(r);
    r = EXPECT_BODY(200, NULL, srv, "GET", a.access, NULL, "/v1/admin/users?disabled=true");
    size_t i;
    json_t *v;
    bool seen = false;
    json_array_foreach(json_object_get(r, "users"), i, v) seen =
        seen || strcmp(jstr(v, "user_id"), d1.s.user_id) == 0;
    assert_true(seen);
    json_decref(r);
    r = EXPECT_BODY(200, NULL, srv, "POST", a.access, NULL, "/v1/admin/users/%s/disable",
                    d1.s.user_id);
    assert_false(json_is_true(json_object_get(r, "changed")));
    json_decref(r);

    /* Enabled again: login works, and so do the tokens still in hand. */
    r = EXPECT_BODY(200, NULL, srv, "POST", a.access, NULL, "/v1/admin/users/%s/enable",
                    d1.s.user_id);
    assert_false(json_is_true(json_object_get(r, "disabled")));
    json_decref(r);
    assert_int_equal(mpt_login(srv, d1.s.username, d1.s.password, NULL, &again), 200);
    EXPECT(200, NULL, srv, "GET", again.access, NULL, "/v1/me");
    EXPECT(200, NULL, srv, "GET", d1.s.access, NULL, "/v1/me");
    ws = mpt_ws_open(srv, again.access);
    assert_non_null(ws);
    mpc_ws_free(ws);

    /* Over the socket, by name, the same. */
    chat_dev_t d3;
    d3.s = again;
    dev_open(srv, &d3);
    ctl_expect_ok(srv, json_pack("{s:s, s:s}", "cmd", "user.disable", "username", d1.s.username));
    int code = 0;
    assert_int_equal(mpc_ws_wait_close(d3.ws, 1000, &code, NULL), MPC_OK);
    assert_int_equal(code, 1008);
    dev_close(&d3);
    ctl_expect_ok(srv, json_pack("{s:s, s:s}", "cmd", "user.enable", "username", d1.s.username));
}

/* ---- the audit log and stats --------------------------------------------------------- */

static void test_audit_and_stats(void **state)
{
    (void)state;
    mpt_session_t a, t;
    new_admin(srv, &a);
    assert_int_equal(mpt_user_new(srv, "target", &t), 0);
    const char *actions[] = {"disable", "enable", "promote", "demote"};
    for (int k = 0; k < 4; k++)
        EXPECT(200, NULL, srv, "POST", a.access, NULL, "/v1/admin/users/%s/%s", t.user_id,
               actions[k]);

    /* Newest first, with the actor and the target. */
    json_t *r = EXPECT_BODY(200, NULL, srv, "GET", a.access, NULL, "/v1/admin/audit?limit=5");
    json_t *e = json_object_get(r, "entries");
    assert_int_equal(json_array_size(e), 5);
    for (int k = 0; k < 4; k++) {
        json_t *row = json_array_get(e, 3 - (size_t)k);
        char want[32];
        snprintf(want, sizeof want, "user.%s", actions[k]);
        assert_string_equal(jstr(row, "action"), want);
        assert_string_equal(jstr(row, "actor_id"), a.user_id);
        assert_string_equal(jstr(row, "actor_username"), a.username);
        assert_string_equal(jstr(row, "target_id"), t.user_id);
        assert_string_equal(jstr(json_object_get(row, "detail"), "username"), t.username);
        assert_true(jint(row, "at") > 0);
    }
    /* The fifth: the promotion of the admin, by the operator on the socket. */
    json_t *first = json_array_get(e, 4);
    assert_string_equal(jstr(first, "action"), "user.promote");
    assert_true(json_is_null(json_object_get(first, "actor_id")));
    assert_string_equal(jstr(first, "target_id"), a.user_id);

    /* Paging: pages of two continue exactly where the last one stopped. */
    char cursor[64];
    json_t *p1 = EXPECT_BODY(200, NULL, srv, "GET", a.access, NULL, "/v1/admin/audit?limit=2");
    snprintf(cursor, sizeof cursor, "%s", jstr(p1, "next_cursor"));
    json_t *p2 = EXPECT_BODY(200, NULL, srv, "GET", a.access, NULL,
                             "/v1/admin/audit?limit=2&cursor=%s", cursor);
    json_t *e1 = json_object_get(p1, "entries"), *e2 = json_object_get(p2, "entries");
    assert_string_equal(jstr(json_array_get(e1, 0), "id"), jstr(json_array_get(e, 0), "id"));
    assert_string_equal(jstr(json_array_get(e1, 1), "id"), jstr(json_array_get(e, 1), "id"));
    assert_string_equal(jstr(json_array_get(e2, 0), "id"), jstr(json_array_get(e, 2), "id"));
    assert_string_equal(jstr(json_array_get(e2, 1), "id"), jstr(json_array_get(e, 3), "id"));
    json_decref(p1);
    json_decref(p2);
    json_decref(r);
    EXPECT(400, "bad_request", srv, "GET", a.access, NULL, "/v1/admin/audit?cursor=x");

    /* stats: every field, counts that include what this test made. */
    chat_dev_t d;
    dev_new_user(srv, "online", &d);
    r = EXPECT_BODY(200, NULL, srv, "GET", a.access, NULL, "/v1/admin/stats");
    const char *fields[] = {"users",       "guests",   "admins",          "disabled",
                            "pending",     "deleted",  "conversations",   "direct",
                            "groups",      "messages", "online_sessions", "uptime_s",
                            "connections", "db_bytes", "files",           "file_bytes"};
    for (size_t k = 0; k < sizeof fields / sizeof *fields; k++)
        if (!json_is_integer(json_object_get(r, fields[k])))
            fail_msg("stats: no integer %s", fields[k]);
    assert_true(jint(r, "users") >= 3);
    assert_true(jint(r, "admins") >= 1);
    assert_true(jint(r, "conversations") >= 1); /* the world room */
    assert_true(jint(r, "online_sessions") >= 1);
    /* This request's connection and d's WebSocket at least. */
    assert_true(jint(r, "connections") >= 2);
    assert_true(jint(r, "db_bytes") >= 4096);
    assert_true(jint(r, "file_bytes") >= 0 && jint(r, "files") >= 0);
    assert_non_null(jstr(r, "version"));
    json_decref(r);
    dev_close(&d);
}

/* ---- the socket itself ----------------------------------------------------------------- */

static void test_socket_protocol(void **state)
{
    (void)state;
    struct stat st;
    assert_int_equal(lstat(mpt_server_path(srv, "control.sock"), &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);

    /* Bad lines are answered and the connection goes on. */
    int fd = ctl_connect(srv);
    ctl_send_raw(fd, "not json\n{\"id\":3}\n[1]\n{\"cmd\":\"no.such\",\"id\":\"x\"}\n\n"
                     "{\"cmd\":\"stats\",\"id\":4}\r\n");
    json_t *ans = ctl_read(fd);
    assert_string_equal(error_code_of(ans), "bad_request");
    json_decref(ans);
    ans = ctl_read(fd);
    assert_string_equal(error_code_of(ans), "bad_request");
    assert_int_equal(json_integer_value(json_object_get(ans, "id")), 3);
    json_decref(ans);
    ans = ctl_read(fd);
    assert_string_equal(error_code_of(ans), "bad_request");
    json_decref(ans);
    ans = ctl_read(fd);
    assert_string_equal(error_code_of(ans), "bad_request");
    assert_string_equal(json_string_value(json_object_get(ans, "id")), "x");
    json_decref(ans);
    ans = ctl_read(fd);
    assert_true(ctl_ok(ans));
    assert_int_equal(json_integer_value(json_object_get(ans, "id")), 4);
    json_decref(ans);

    /* Pipelined requests are answered in order. */
    ctl_send_raw(fd, "{\"cmd\":\"stats\",\"id\":1}\n{\"cmd\":\"audit.list\",\"id\":2}\n"
                     "{\"cmd\":\"user.list\",\"id\":3}\n");
    for (int k = 1; k <= 3; k++) {
        ans = ctl_read(fd);
        assert_int_equal(json_integer_value(json_object_get(ans, "id")), k);
        assert_true(ctl_ok(ans));
        json_decref(ans);
    }

    /* A line over the bound: an error, then the server hangs up. */
    size_t big = 70000;
    char *line = malloc(big + 1);
    memset(line, 'x', big);
    line[big] = '\0';
    ctl_send_raw(fd, line);
    free(line);
    ans = ctl_read(fd);
    assert_string_equal(error_code_of(ans), "too_large");
    json_decref(ans);
    assert_null(ctl_read(fd));
    close(fd);
    rd.fd = -1;

    /* Many clients at once, each answered. */
    int fds[20];
    for (int k = 0; k < 20; k++) {
        fds[k] = ctl_connect(srv);
        ctl_send_raw(fds[k], "{\"cmd\":\"stats\"}\n");
    }
    for (int k = 0; k < 20; k++) {
        ans = ctl_read(fds[k]);
        assert_true(ctl_ok(ans));
        json_decref(ans);
        close(fds[k]);
        rd.fd = -1;
    }

    /* A client that leaves while its operation runs: the operation
     * completes (the account exists), its answer is dropped. */
    char name[33];
    mpt_username(name, "gone");
    fd = ctl_connect(srv);
    char req[256];
    snprintf(req, sizeof req,
             "{\"cmd\":\"user.add\",\"username\":\"%s\",\"password\":\"left early pw\"}\n", name);
    ctl_send_raw(fd, req);
    close(fd);
    mpt_session_t s;
    long long deadline = mpt_mono_ms() + MPT_TIMEOUT;
    int status;
    while ((status = mpt_login(srv, name, "left early pw", NULL, &s)) != 200 &&
           mpt_mono_ms() < deadline)
        ;
    assert_int_equal(status, 200);
}

/* ---- start and stop ---------------------------------------------------------------------- */

/* Runs the magpie binary with args (NULL-terminated), MAGPIE_PASSWORD set to
 * password when non-NULL; captures stdout and stderr (bounded wait). */
#define run_magpie(password, out, outlen, err, errlen, ...)                                        \
    mpt_magpie(password, 3 * MPT_TIMEOUT, out, outlen, err, errlen, __VA_ARGS__)

static void test_start_and_stop(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS, NULL};
    mpt_server_t *s = mpt_server_start(flags);
    assert_non_null(s);
    char sock[1024];
    snprintf(sock, sizeof sock, "%s", mpt_server_path(s, "control.sock"));
    struct stat st;
    assert_int_equal(lstat(sock, &st), 0);

    /* Removed at shutdown. */
    assert_int_equal(mpt_server_terminate(s), 0);
    assert_int_equal(lstat(sock, &st), -1);
    assert_int_equal(errno, ENOENT);

    /* A stale socket (a crashed server's) is replaced. */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
    assert_int_equal(lstat(sock, &st), 0);
    assert_int_equal(mpt_server_restart(s), 0);
    ctl_expect_ok(s, json_pack("{s:s}", "cmd", "stats"));
    /* Also after a crash. */
    mpt_server_kill9(s);
    assert_int_equal(lstat(sock, &st), 0);
    assert_int_equal(mpt_server_restart(s), 0);
    ctl_expect_ok(s, json_pack("{s:s}", "cmd", "stats"));
    assert_int_equal(mpt_server_terminate(s), 0);

    /* One that something live answers on is not taken over. */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 4), 0);
    char out[4096], err[8192];
    int code = s->db_url[0]
                   ? run_magpie(NULL, out, sizeof out, err, sizeof err, "serve", "--listen",
                                "127.0.0.1:0", "--data", s->data_dir, "--database", "postgres",
                                "--database_url", s->db_url, NULL)
                   : run_magpie(NULL, out, sizeof out, err, sizeof err, "serve", "--listen",
                                "127.0.0.1:0", "--data", s->data_dir, NULL);
    assert_int_equal(code, 1);
    assert_non_null(strstr(err, "answers on"));
    close(fd);
    unlink(sock);
    assert_int_equal(mpt_server_stop(s), 0);
}

/* ---- magpie admin ------------------------------------------------------------------------ */

static void test_cli(void **state)
{
    (void)state;
    char out[65536], err[8192];
    char dir[600];
    snprintf(dir, sizeof dir, "%s", srv->data_dir);

    /* Usage errors: 2, whether a server runs or not. */
    assert_int_equal(
        run_magpie(NULL, out, sizeof out, err, sizeof err, "admin", "--data", dir, "user", NULL),
        2);
    assert_int_equal(run_magpie(NULL, out, sizeof out, err, sizeof err, "admin", "--data", dir,
                                "frobnicate", NULL),
                     2);
    assert_int_equal(run_magpie(NULL, out, sizeof out, err, sizeof err, "admin", "--data", dir,
                                "user", "add", "x", "--bogus", NULL),
                     2);
    /* No password from anywhere (stdin is not a terminal). */
    assert_int_equal(run_magpie(NULL, out, sizeof out, err, sizeof err, "admin", "--data", dir,
                                "user", "add", "nopassword", NULL),
                     2);
    assert_non_null(strstr(err, "MAGPIE_PASSWORD"));

    /* No server: 3 and the message that says so. */
    char empty[] = "/tmp/magpie-admin-XXXXXX";
    assert_non_null(mkdtemp(empty));
    assert_int_equal(
        run_magpie(NULL, out, sizeof out, err, sizeof err, "admin", "--data", empty, "stats", NULL),
        3);
    char want[1024];
    snprintf(want, sizeof want,
             "magpie admin: no server is running with data directory %s (cannot connect to "
             "%s/control.sock)",
             empty, empty);
    assert_non_null(strstr(err, want));
    rmdir(empty);

    /* user add, then list, promote, the JSON forms. */
    char name[33];
    mpt_username(name, "cli");
    assert_int_equal(run_magpie("cli password 1", out, sizeof out, err, sizeof err, "admin",
                                "--data", dir, "user", "add", name, "--display-name", "Cli User",
                                NULL),
                     0);
    assert_non_null(strstr(out, name));
    mpt_session_t s;
    assert_int_equal(mpt_login(srv, name, "cli password 1", NULL, &s), 200);
    /* A refusal: 1 and the server's message. */
    assert_int_equal(run_magpie("cli password 1", out, sizeof out, err, sizeof err, "admin",
                                "--data", dir, "user", "add", name, NULL),
                     1);
    assert_non_null(strstr(err, "username_taken"));
    assert_int_equal(run_magpie(NULL, out, sizeof out, err, sizeof err, "admin", "--data", dir,
                                "user", "promote", "no_such_user_here", NULL),
                     1);

    assert_int_equal(run_magpie(NULL, out, sizeof out, err, sizeof err, "admin", "--data", dir,
                                "user", "list", NULL),
                     0);
    assert_non_null(strstr(out, name));
    assert_non_null(strstr(out, "Cli User"));

    assert_int_equal(run_magpie(NULL, out, sizeof out, err, sizeof err, "admin", "--data", dir,
                                "user", "promote", name, NULL),
                     0);
    EXPECT(200, NULL, srv, "GET", s.access, NULL, "/v1/admin/stats");
    assert_int_equal(run_magpie(NULL, out, sizeof out, err, sizeof err, "admin", "--data", dir,
                                "--json", "user", "list", "--admins", NULL),
                     0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    size_t i;
    json_t *v;
    bool seen = false;
    json_array_foreach(json_object_get(j, "users"), i, v)
    {
        assert_true(json_is_true(json_object_get(v, "admin")));
        seen = seen || strcmp(jstr(v, "username"), name) == 0;
    }
    assert_true(seen);
    json_decref(j);

    assert_int_equal(run_magpie(NULL, out, sizeof out, err, sizeof err, "admin", "--data", dir,
                                "stats", "--json", NULL),
                     0);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_true(jint(j, "users") >= 1);
    assert_true(jint(j, "admins") >= 1);
    json_decref(j);

    /* A password from a file; disable and enable by name. */
    char pwfile[] = "/tmp/magpie-pw-XXXXXX";
    int pfd = mkstemp(pwfile);
    assert_true(pfd >= 0);
    assert_int_equal(write(pfd, "from a file 1\n", 14), 14);
    close(pfd);
    char name2[33];
    mpt_username(name2, "clif");
    assert_int_equal(run_magpie(NULL, out, sizeof out, err, sizeof err, "admin", "--data", dir,
                                "user", "add", name2, "--password-file", pwfile, NULL),
                     0);
    unlink(pwfile);
    assert_int_equal(mpt_login(srv, name2, "from a file 1", NULL, &s), 200);
    assert_int_equal(run_magpie(NULL, out, sizeof out, err, sizeof err, "admin", "--data", dir,
                                "user", "disable", name2, NULL),
                     0);
    assert_int_equal(mpt_login(srv, name2, "from a file 1", NULL, &s), 403);
    assert_int_equal(run_magpie(NULL, out, sizeof out, err, sizeof err, "admin", "--data", dir,
                                "user", "enable", name2, NULL),
                     0);
    assert_int_equal(mpt_login(srv, name2, "from a file 1", NULL, &s), 200);
    assert_int_equal(run_magpie(NULL, out, sizeof out, err, sizeof err, "admin", "--data", dir,
                                "audit", "--limit", "3", NULL),
                     0);
    assert_non_null(strstr(out, "user.enable"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_non_admins_refused),
        cmocka_unit_test(test_users_http),
        cmocka_unit_test(test_users_socket),
        cmocka_unit_test(test_passwd_and_delete),
        cmocka_unit_test(test_disable),
        cmocka_unit_test(test_audit_and_stats),
        cmocka_unit_test(test_socket_protocol),
        cmocka_unit_test(test_start_and_stop),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
