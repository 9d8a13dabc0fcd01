/* End-to-end tests of accounts and devices: registration rules, login and its
 * rate limits, refresh rotation with theft detection, logout, devices, /v1/me
 * and every kind of bad access token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jwt.h>
#include <openssl/evp.h>

#include "harness.h"

/* The main server allows many logins so that the login rate limit (per IP:
 * every test connects from 127.0.0.1) only shows in the tests made for it. */
static mpt_server_t *srv;

static int setup(void **state)
{
    (void)state;
    const char *flags[] = {"--login_rate", "1000", NULL};
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

/* POST path with body (borrowed) and optional token; returns the status. */
static int post(mpt_server_t *s, const char *path, const char *token, json_t *body,
                mpc_response_t *r)
{
    return mpt_http(s, "POST", path, token, body, r);
}

static int register_raw(const char *username, const char *password, const char *display,
                        mpc_response_t *r)
{
    json_t *b = json_pack("{s:s, s:s}", "username", username, "password", password);
    if (display)
        json_object_set_new(b, "display_name", json_string(display));
    int st = post(srv, "/v1/auth/register", NULL, b, r);
    json_decref(b);
    return st;
}

static bool is_decimal_id(const char *s)
{
    if (!s || !*s || strlen(s) > 20 || s[0] == '0')
        return false;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/* ---- registration ---- */

static void test_register_ok(void **state)
{
    (void)state;
    char name[33];
    mpc_response_t r;
    mpt_username(name, "reg");
    assert_int_equal(register_raw(name, "correct horse 1", "Réka Ü", &r), 201);
    assert_true(is_decimal_id(json_string_value(json_object_get(r.json, "user_id"))));
    assert_string_equal(json_string_value(json_object_get(r.json, "username")), name);
    assert_string_equal(json_string_value(json_object_get(r.json, "display_name")), "Réka Ü");
    mpc_response_free(&r);

    /* Without display_name: still a string. */
    mpt_username(name, "reg");
    assert_int_equal(register_raw(name, "correct horse 1", NULL, &r), 201);
    assert_true(json_is_string(json_object_get(r.json, "display_name")));
    mpc_response_free(&r);

    /* Edge lengths and every allowed character class. */
    char edge[33];
    mpt_username(edge, "a._");
    assert_int_equal(mpt_register(srv, edge, "12345678", NULL), 201);
    /* Each test file has a fresh server, so a fixed 3-character name is free. */
    assert_int_equal(mpt_register(srv, "x9_", "12345678", NULL), 201);
    char longest[33];
    mpt_username(longest, "long");
    memset(longest + strlen(longest), 'q', 32 - strlen(longest));
    longest[32] = '\0';
    assert_int_equal(mpt_register(srv, longest, "12345678", NULL), 201);
}

static void test_register_bad_username(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "ab",
                         "has space",
                         "dash-name",
                         "emoji😀",
                         "slash/x",
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 33 */,
                         "tab\tx",
                         "quote\"x",
                         "at@x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mpc_response_t r;
        register_raw(bad[i], "correct horse 1", NULL, &r);
        print_message("username '%s': %d\n", bad[i], r.status);
        MPT_ASSERT_HTTP_ERROR(&r, 400, "bad_username");
        mpc_response_free(&r);
    }
}

static void test_register_weak_password(void **state)
{
    (void)state;
    char name[33];
    mpc_response_t r;
    mpt_username(name, "pw");
    register_raw(name, "1234567", NULL, &r);
    MPT_ASSERT_HTTP_ERROR(&r, 400, "weak_password");
    mpc_response_free(&r);
    register_raw(name, "", NULL, &r);
    MPT_ASSERT_HTTP_ERROR(&r, 400, "weak_password");
    mpc_response_free(&r);
    char *huge = malloc(1026);
    memset(huge, 'p', 1025);
    huge[1025] = '\0';
    register_raw(name, huge, NULL, &r);
    MPT_ASSERT_HTTP_ERROR(&r, 400, "weak_password");
    mpc_response_free(&r);
    huge[1024] = '\0'; /* exactly 1024 bytes is fine */
    assert_int_equal(register_raw(name, huge, NULL, &r), 201);
    mpc_response_free(&r);
    mpt_session_t s;
    assert_int_equal(mpt_login(srv, name, huge, NULL, &s), 200);
    free(huge);
}

static void test_register_taken_case_insensitive(void **state)
{
    (void)state;
    char name[33], upper[33];
    mpc_response_t r;
    mpt_username(name, "dup");
    assert_int_equal(mpt_register(srv, name, "correct horse 1", NULL), 201);
    register_raw(name, "another password", NULL, &r);
    MPT_ASSERT_HTTP_ERROR(&r, 409, "username_taken");
    mpc_response_free(&r);
    for (size_t i = 0; i <= strlen(name); i++)
        upper[i] = (name[i] >= 'a' && name[i] <= 'z') ? (char)(name[i] - 32) : name[i];
    register_raw(upper, "another password", NULL, &r);
    MPT_ASSERT_HTTP_ERROR(&r, 409, "username_taken");
    mpc_response_free(&r);
}

static void test_registration_closed(void **state)
{
    (void)state;
    const char *flags[] = {"--registration", "closed", NULL};
    mpt_server_t *closed = mpt_server_start(flags);
    assert_non_null(closed);
    char name[33];
    mpc_response_t r;
    json_t *b = json_pack("{s:s, s:s}", "username", mpt_username(name, "cl"), "password",
                          "correct horse 1");
    post(closed, "/v1/auth/register", NULL, b, &r);
    json_decref(b);
    MPT_ASSERT_HTTP_ERROR(&r, 403, "registration_closed");
    mpc_response_free(&r);
    assert_int_equal(mpt_server_stop(closed), 0);
}

/* ---- login ---- */

static void test_login_ok(void **state)
{
    (void)state;
    char name[33];
    mpc_response_t r;
    mpt_username(name, "li");
    assert_int_equal(mpt_register(srv, name, "correct horse 1", NULL), 201);
    json_t *b = json_pack("{s:s, s:s, s:s}", "username", name, "password", "correct horse 1",
                          "device_name", "laptop");
    assert_int_equal(post(srv, "/v1/auth/login", NULL, b, &r), 200);
    json_decref(b);
    assert_true(is_decimal_id(json_string_value(json_object_get(r.json, "user_id"))));
    assert_true(is_decimal_id(json_string_value(json_object_get(r.json, "device_id"))));
    assert_true(json_is_string(json_object_get(r.json, "access_token")));
    assert_true(json_is_string(json_object_get(r.json, "refresh_token")));
    assert_string_equal(json_string_value(json_object_get(r.json, "token_type")), "Bearer");
    assert_int_equal(json_integer_value(json_object_get(r.json, "expires_in")), 900);
    mpc_response_free(&r);

    /* The username is case-insensitive at login too. */
    mpt_session_t s;
    name[0] = (char)(name[0] - 32);
    assert_int_equal(mpt_login(srv, name, "correct horse 1", NULL, &s), 200);
}

static void test_login_bad_credentials(void **state)
{
    (void)state;
    char name[33], unknown[33];
    mpc_response_t r1, r2;
    mpt_username(name, "lb");
    mpt_username(unknown, "nobody");
    assert_int_equal(mpt_register(srv, name, "correct horse 1", NULL), 201);
    json_t *b = json_pack("{s:s, s:s}", "username", name, "password", "wrong password");
    post(srv, "/v1/auth/login", NULL, b, &r1);
    json_decref(b);
    MPT_ASSERT_HTTP_ERROR(&r1, 401, "bad_credentials");
    b = json_pack("{s:s, s:s}", "username", unknown, "password", "wrong password");
    post(srv, "/v1/auth/login", NULL, b, &r2);
    json_decref(b);
    MPT_ASSERT_HTTP_ERROR(&r2, 401, "bad_credentials");
    /* No user enumeration: the two answers are the same bytes. */
    assert_string_equal(r1.body, r2.body);
    mpc_response_free(&r1);
    mpc_response_free(&r2);
}

/* Logs in from a given source address; returns the status, and the
 * Retry-After header value (0 if none) in *retry_after. */
static int login_from(mpt_server_t *s, const char *source, const char *user, const char *pw,
                      mpc_response_t *r)
{
    mpc_conn_t *c = mpc_connect_from(s->host, s->port, source, MPT_TIMEOUT);
    assert_non_null(c);
    json_t *b = json_pack("{s:s, s:s}", "username", user, "password", pw);
    int rc = mpc_http_request(c, "POST", "/v1/auth/login", NULL, b, r, MPT_TIMEOUT);
    json_decref(b);
    mpc_conn_free(c);
    assert_int_equal(rc, MPC_OK);
    return r->status;
}

static void assert_rate_limited(const mpc_response_t *r)
{
    MPT_ASSERT_HTTP_ERROR(r, 429, "rate_limited");
    const char *ra = mpc_response_header(r, "Retry-After");
    assert_non_null(ra);
    int secs = atoi(ra);
    assert_true(secs >= 1 && secs <= 60);
}

/* Rate-limit tests run on their own server with a small limit, and use
 * distinct 127.0.0.x source addresses to tell the per-user limit from the
 * per-IP one. The bucket refills one attempt every 60/RL_RATE seconds: with 3
 * a minute that is 20 s, far longer than the few argon2id logins take even
 * in slow (sanitizer) builds; the default of 10 refilled within the test. */
#define RL_RATE 3
static const char *const rl_flags[] = {"--login_rate", "3", NULL};

static void test_login_rate_limit_per_username(void **state)
{
    (void)state;
    mpt_server_t *rl = mpt_server_start(rl_flags);
    assert_non_null(rl);
    char name[33];
    mpc_response_t r;
    mpt_username(name, "rl");
    assert_int_equal(mpt_register(rl, name, "correct horse 1", NULL), 201);
    /* RL_RATE attempts, good and bad, from as many addresses. */
    for (int i = 0; i < RL_RATE; i++) {
        char src[16];
        snprintf(src, sizeof src, "127.0.1.%d", i + 1);
        int st = login_from(rl, src, name, i % 2 ? "wrong password" : "correct horse 1", &r);
        assert_int_equal(st, i % 2 ? 401 : 200);
        mpc_response_free(&r);
    }
    /* The next, from yet another address, is refused for the username. */
    login_from(rl, "127.0.1.100", name, "correct horse 1", &r);
    assert_rate_limited(&r);
    mpc_response_free(&r);
    /* Another user from that address is not affected. */
    char other[33];
    mpt_username(other, "rl");
    assert_int_equal(mpt_register(rl, other, "correct horse 1", NULL), 201);
    assert_int_equal(login_from(rl, "127.0.1.100", other, "correct horse 1", &r), 200);
    mpc_response_free(&r);
    assert_int_equal(mpt_server_stop(rl), 0);
}

static void test_login_rate_limit_per_ip(void **state)
{
    (void)state;
    mpt_server_t *rl = mpt_server_start(rl_flags);
    assert_non_null(rl);
    char names[RL_RATE + 2][33];
    mpc_response_t r;
    for (int i = 0; i < RL_RATE + 2; i++) {
        mpt_username(names[i], "ip");
        assert_int_equal(mpt_register(rl, names[i], "correct horse 1", NULL), 201);
    }
    for (int i = 0; i < RL_RATE; i++) {
        assert_int_equal(login_from(rl, "127.0.2.1", names[i], "correct horse 1", &r), 200);
        mpc_response_free(&r);
    }
    login_from(rl, "127.0.2.1", names[RL_RATE], "correct horse 1", &r);
    assert_rate_limited(&r);
    mpc_response_free(&r);
    /* The same user from another address gets in. */
    assert_int_equal(login_from(rl, "127.0.2.2", names[RL_RATE + 1], "correct horse 1", &r), 200);
    mpc_response_free(&r);
    assert_int_equal(mpt_server_stop(rl), 0);
}

/* ---- refresh, logout ---- */

static int refresh(const char *token, mpc_response_t *r)
{
    json_t *b = json_pack("{s:s}", "refresh_token", token);
    int st = post(srv, "/v1/auth/refresh", NULL, b, r);
    json_decref(b);
    return st;
}

static int me_status(const char *token)
{
    return mpt_http(srv, "GET", "/v1/me", token, NULL, NULL);
}

static void test_refresh_rotation(void **state)
{
    (void)state;
    mpt_session_t s;
    mpc_response_t r;
    assert_int_equal(mpt_user_new(srv, "rf", &s), 0);
    assert_int_equal(refresh(s.refresh, &r), 200);
    const char *access = json_string_value(json_object_get(r.json, "access_token"));
    const char *next = json_string_value(json_object_get(r.json, "refresh_token"));
    assert_non_null(access);
    assert_non_null(next);
    assert_string_not_equal(next, s.refresh);
    assert_int_equal(json_integer_value(json_object_get(r.json, "expires_in")), 900);
    if (json_object_get(r.json, "device_id"))
        assert_string_equal(json_string_value(json_object_get(r.json, "device_id")), s.device_id);
    assert_int_equal(me_status(access), 200);
    /* The new refresh token rotates again. */
    char second[256];
    snprintf(second, sizeof second, "%s", next);
    mpc_response_free(&r);
    assert_int_equal(refresh(second, &r), 200);
    mpc_response_free(&r);
    /* Garbage is refused. */
    refresh("not-a-token", &r);
    assert_int_equal(r.status, 401);
    mpc_response_free(&r);
}

static void test_refresh_reuse_revokes_device(void **state)
{
    (void)state;
    mpt_session_t s;
    mpc_response_t r;
    assert_int_equal(mpt_user_new(srv, "th", &s), 0);
    assert_int_equal(refresh(s.refresh, &r), 200);
    char access[1024], next[256];
    snprintf(access, sizeof access, "%s",
             json_string_value(json_object_get(r.json, "access_token")));
    snprintf(next, sizeof next, "%s", json_string_value(json_object_get(r.json, "refresh_token")));
    mpc_response_free(&r);
    assert_int_equal(me_status(access), 200);

    /* A thief replays the old token: refused, and the device is revoked. */
    refresh(s.refresh, &r);
    assert_int_equal(r.status, 401);
    mpc_response_free(&r);
    mpc_response_t m;
    mpt_http(srv, "GET", "/v1/me", access, NULL, &m);
    MPT_ASSERT_HTTP_ERROR(&m, 401, "unauthorized");
    mpc_response_free(&m);
    assert_int_equal(me_status(s.access), 401);
    refresh(next, &r);
    assert_int_equal(r.status, 401);
    mpc_response_free(&r);
}

static void test_logout(void **state)
{
    (void)state;
    mpt_session_t s, other;
    mpc_response_t r;
    assert_int_equal(mpt_user_new(srv, "lo", &s), 0);
    assert_int_equal(mpt_device_new(srv, &s, &other), 0);
    assert_int_equal(post(srv, "/v1/auth/logout", s.access, NULL, &r), 204);
    assert_int_equal(r.body_len, 0);
    mpc_response_free(&r);
    mpt_http(srv, "GET", "/v1/me", s.access, NULL, &r);
    MPT_ASSERT_HTTP_ERROR(&r, 401, "unauthorized");
    mpc_response_free(&r);
    refresh(s.refresh, &r);
    assert_int_equal(r.status, 401);
    mpc_response_free(&r);
    /* The user's other device is untouched. */
    assert_int_equal(me_status(other.access), 200);
    /* Logout needs a token. */
    post(srv, "/v1/auth/logout", NULL, NULL, &r);
    MPT_ASSERT_HTTP_ERROR(&r, 401, "unauthorized");
    mpc_response_free(&r);
}

/* ---- devices, me ---- */

static json_t *find_device(json_t *list, const char *id)
{
    size_t i;
    json_t *d;
    json_array_foreach(list, i, d)
    {
        const char *did = json_string_value(json_object_get(d, "device_id"));
        if (did && strcmp(did, id) == 0)
            return d;
    }
    return NULL;
}

static void test_devices_list(void **state)
{
    (void)state;
    mpt_session_t a, b;
    mpc_response_t r;
    assert_int_equal(mpt_user_new(srv, "dv", &a), 0);
    assert_int_equal(mpt_device_new(srv, &a, &b), 0);
    assert_string_not_equal(a.device_id, b.device_id);
    assert_int_equal(mpt_http(srv, "GET", "/v1/devices", a.access, NULL, &r), 200);
    json_t *list = json_object_get(r.json, "devices");
    assert_true(json_is_array(list));
    assert_int_equal(json_array_size(list), 2);
    json_t *da = find_device(list, a.device_id), *db = find_device(list, b.device_id);
    assert_non_null(da);
    assert_non_null(db);
    assert_true(json_is_true(json_object_get(da, "current")));
    assert_true(json_is_false(json_object_get(db, "current")));
    assert_string_equal(json_string_value(json_object_get(da, "name")), "e2e");
    assert_string_equal(json_string_value(json_object_get(db, "name")), "e2e-2");
    int64_t now = (int64_t)time(NULL) * 1000;
    int64_t created = json_integer_value(json_object_get(da, "created_at"));
    assert_true(json_is_integer(json_object_get(da, "created_at")));
    assert_true(json_is_integer(json_object_get(da, "last_seen_at")));
    assert_true(created > now - 600000 && created < now + 600000);
    mpc_response_free(&r);
    /* Seen from b, the flags swap. */
    assert_int_equal(mpt_http(srv, "GET", "/v1/devices", b.access, NULL, &r), 200);
    list = json_object_get(r.json, "devices");
    assert_true(json_is_true(json_object_get(find_device(list, b.device_id), "current")));
    assert_true(json_is_false(json_object_get(find_device(list, a.device_id), "current")));
    mpc_response_free(&r);
}

static void test_device_delete(void **state)
{
    (void)state;
    mpt_session_t a, b;
    mpc_response_t r;
    char path[128];
    assert_int_equal(mpt_user_new(srv, "dd", &a), 0);
    assert_int_equal(mpt_device_new(srv, &a, &b), 0);
    snprintf(path, sizeof path, "/v1/devices/%s", b.device_id);
    assert_int_equal(mpt_http(srv, "DELETE", path, a.access, NULL, &r), 204);
    mpc_response_free(&r);
    /* The revoked device is locked out at once. */
    mpt_http(srv, "GET", "/v1/me", b.access, NULL, &r);
    MPT_ASSERT_HTTP_ERROR(&r, 401, "unauthorized");
    mpc_response_free(&r);
    refresh(b.refresh, &r);
    assert_int_equal(r.status, 401);
    mpc_response_free(&r);
    assert_int_equal(mpt_http(srv, "GET", "/v1/devices", a.access, NULL, &r), 200);
    assert_null(find_device(json_object_get(r.json, "devices"), b.device_id));
    assert_non_null(find_device(json_object_get(r.json, "devices"), a.device_id));
    mpc_response_free(&r);
}

static void test_device_delete_other_user(void **state)
{
    (void)state;
    mpt_session_t a, b;
    mpc_response_t r;
    char path[128];
    assert_int_equal(mpt_user_new(srv, "do", &a), 0);
    assert_int_equal(mpt_user_new(srv, "do", &b), 0);
    snprintf(path, sizeof path, "/v1/devices/%s", b.device_id);
    mpt_http(srv, "DELETE", path, a.access, NULL, &r);
    MPT_ASSERT_HTTP_ERROR(&r, 404, "not_found");
    mpc_response_free(&r);
    assert_int_equal(me_status(b.access), 200); /* untouched */
    mpt_http(srv, "DELETE", "/v1/devices/123456789", a.access, NULL, &r);
    MPT_ASSERT_HTTP_ERROR(&r, 404, "not_found");
    mpc_response_free(&r);
    mpt_http(srv, "DELETE", "/v1/devices/not-an-id", a.access, NULL, &r);
    assert_true(r.status == 404 || r.status == 400);
    mpc_response_free(&r);
}

static void test_me(void **state)
{
    (void)state;
    mpt_session_t s;
    mpc_response_t r;
    assert_int_equal(mpt_user_new(srv, "me", &s), 0);
    assert_int_equal(mpt_http(srv, "GET", "/v1/me", s.access, NULL, &r), 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "user_id")), s.user_id);
    assert_string_equal(json_string_value(json_object_get(r.json, "username")), s.username);
    assert_true(json_is_string(json_object_get(r.json, "display_name")));
    assert_true(json_is_integer(json_object_get(r.json, "created_at")));
    mpc_response_free(&r);
}

/* ---- bad tokens ---- */

static char *b64url(const void *data, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    int len = EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    for (int i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    while (len > 0 && out[len - 1] == '=')
        out[--len] = '\0';
    return out;
}

/* A token signed by libjwt with alg and key, carrying s's identity. */
static char *make_token(const mpt_session_t *s, jwt_alg_t alg, const unsigned char *key,
                        size_t keylen, long iat, long exp)
{
    jwt_t *jwt = NULL;
    assert_int_equal(jwt_new(&jwt), 0);
    assert_int_equal(jwt_add_grant(jwt, "sub", s->user_id), 0);
    assert_int_equal(jwt_add_grant(jwt, "dev", s->device_id), 0);
    assert_int_equal(jwt_add_grant_bool(jwt, "gst", 0), 0);
    assert_int_equal(jwt_add_grant_int(jwt, "iat", iat), 0);
    assert_int_equal(jwt_add_grant_int(jwt, "exp", exp), 0);
    assert_int_equal(jwt_set_alg(jwt, alg, key, (int)keylen), 0);
    char *tok = jwt_encode_str(jwt);
    assert_non_null(tok);
    jwt_free(jwt);
    return tok;
}

static void expect_unauthorized(const char *token, const char *what)
{
    mpc_response_t r;
    mpt_http(srv, "GET", "/v1/me", token, NULL, &r);
    print_message("%s: %d\n", what, r.status);
    MPT_ASSERT_HTTP_ERROR(&r, 401, "unauthorized");
    mpc_response_free(&r);
}

static void test_bad_tokens(void **state)
{
    (void)state;
    mpt_session_t s;
    assert_int_equal(mpt_user_new(srv, "tk", &s), 0);
    size_t keylen = 0;
    unsigned char *key = mpt_read_file(mpt_server_path(srv, "jwt.secret"), &keylen);
    assert_non_null(key);
    assert_int_equal(keylen, 32);
    long now = (long)time(NULL);

    /* Control: a token we forge with the real key and good claims works, so
     * the refusals below are for the reason each one tests. */
    char *good = make_token(&s, JWT_ALG_HS256, key, keylen, now, now + 600);
    assert_int_equal(me_status(good), 200);
    free(good);

    mpc_response_t r;
    mpt_http(srv, "GET", "/v1/me", NULL, NULL, &r);
    MPT_ASSERT_HTTP_ERROR(&r, 401, "unauthorized");
    mpc_response_free(&r);
    expect_unauthorized("garbage", "garbage");
    expect_unauthorized("", "empty");

    char *expired = make_token(&s, JWT_ALG_HS256, key, keylen, now - 1200, now - 300);
    expect_unauthorized(expired, "expired");
    free(expired);

    unsigned char wrong[32];
    memset(wrong, 0x5a, sizeof wrong);
    char *forged = make_token(&s, JWT_ALG_HS256, wrong, sizeof wrong, now, now + 600);
    expect_unauthorized(forged, "forged");
    free(forged);

    /* Another algorithm with the right key is still refused (alg pinned). */
    char *hs512 = make_token(&s, JWT_ALG_HS512, key, keylen, now, now + 600);
    expect_unauthorized(hs512, "HS512");
    free(hs512);

    /* alg:none, built by hand: header.payload. (empty signature) */
    const char *hdr = "{\"alg\":\"none\",\"typ\":\"JWT\"}";
    char payload[256];
    snprintf(payload, sizeof payload,
             "{\"sub\":\"%s\",\"dev\":\"%s\",\"gst\":false,\"iat\":%ld,\"exp\":%ld}", s.user_id,
             s.device_id, now, now + 600);
    char *h64 = b64url(hdr, strlen(hdr)), *p64 = b64url(payload, strlen(payload));
    char none[1024];
    snprintf(none, sizeof none, "%s.%s.", h64, p64);
    expect_unauthorized(none, "alg none");
    snprintf(none, sizeof none, "%s.%s", h64, p64);
    expect_unauthorized(none, "alg none, two parts");
    free(h64);
    free(p64);

    /* A valid token with a tampered payload (another user id). */
    char *tok = strdup(s.access);
    char *dot1 = strchr(tok, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    assert_non_null(dot2);
    snprintf(payload, sizeof payload,
             "{\"sub\":\"1\",\"dev\":\"%s\",\"gst\":false,\"iat\":%ld,\"exp\":%ld}", s.device_id,
             now, now + 600);
    p64 = b64url(payload, strlen(payload));
    char tampered[2048];
    *dot1 = '\0';
    snprintf(tampered, sizeof tampered, "%s.%s%s", tok, p64, dot2);
    expect_unauthorized(tampered, "tampered");
    free(p64);
    free(tok);
    free(key);

    /* The genuine token still works. */
    assert_int_equal(me_status(s.access), 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_ok),
        cmocka_unit_test(test_register_bad_username),
        cmocka_unit_test(test_register_weak_password),
        cmocka_unit_test(test_register_taken_case_insensitive),
        cmocka_unit_test(test_registration_closed),
        cmocka_unit_test(test_login_ok),
        cmocka_unit_test(test_login_bad_credentials),
        cmocka_unit_test(test_login_rate_limit_per_username),
        cmocka_unit_test(test_login_rate_limit_per_ip),
        cmocka_unit_test(test_refresh_rotation),
        cmocka_unit_test(test_refresh_reuse_revokes_device),
        cmocka_unit_test(test_logout),
        cmocka_unit_test(test_devices_list),
        cmocka_unit_test(test_device_delete),
        cmocka_unit_test(test_device_delete_other_user),
        cmocka_unit_test(test_me),
        cmocka_unit_test(test_bad_tokens),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
