/* End-to-end tests of the account hardening: registrations limited per IP
 * address and never starving logins of password-hashing capacity, revoked
 * access tokens staying dead across a restart with a shorter
 * access_token_ttl, and names and message text refusing characters that
 * hide or reorder text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <time.h>

#include "test_chat_util.h"

/* ---- registration flood vs. a login --------------------------------------------- */

/* Registrations allowed per IP per minute in the flood test, and how many
 * are attempted at once from 127.0.0.1. */
#define FLOOD_RATE 12
#define FLOOD_N 40
/* Accepted registrations wait for one hash after another, slowly on a busy
 * machine: their answers get a longer bound than MPT_TIMEOUT. */
#define FLOOD_TIMEOUT_MS 60000

typedef struct flood {
    const mpt_server_t *srv;
    char names[FLOOD_N][33]; /* made up front: mpt_username is not thread-safe */
    atomic_int next;
    atomic_int created;  /* 201s received so far */
    atomic_int limited;  /* 429s received so far */
    atomic_int other;    /* anything else */
    atomic_int no_retry; /* 429s without a usable Retry-After */
    pthread_mutex_t mu;  /* with cv: signalled on every answer */
    pthread_cond_t cv;
} flood_t;

static void *flood_one(void *arg)
{
    flood_t *f = arg;
    mpc_response_t r;
    memset(&r, 0, sizeof r);
    json_t *body = json_pack("{s:s, s:s}", "username", f->names[atomic_fetch_add(&f->next, 1)],
                             "password", "flood password 1");
    mpc_conn_t *c = mpc_connect(f->srv->host, f->srv->port, MPT_TIMEOUT);
    int st = c ? mpc_http_request(c, "POST", "/v1/auth/register", NULL, body, &r, FLOOD_TIMEOUT_MS)
               : MPC_ERR_IO;
    if (st == MPC_OK)
        st = r.status;
    if (c)
        mpc_conn_free(c);
    json_decref(body);
    if (st == 201) {
        atomic_fetch_add(&f->created, 1);
    } else if (st == 429 && mpc_response_error_code(&r) &&
               strcmp(mpc_response_error_code(&r), "rate_limited") == 0) {
        const char *ra = mpc_response_header(&r, "Retry-After");
        if (!ra || atoi(ra) < 1)
            atomic_fetch_add(&f->no_retry, 1);
        atomic_fetch_add(&f->limited, 1);
    } else {
        fprintf(stderr, "flood: register answered %d %s\n", st,
                st > 0 && mpc_response_error_code(&r) ? mpc_response_error_code(&r) : "");
        atomic_fetch_add(&f->other, 1);
    }
    if (st > 0)
        mpc_response_free(&r);
    pthread_mutex_lock(&f->mu);
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static void test_registration_flood_is_limited_and_logins_go_first(void **state)
{
    (void)state;
    char rate[16];
    snprintf(rate, sizeof rate, "%d", FLOOD_RATE);
    const char *flags[] = {"--register_rate", rate, "--login_rate", "1000", NULL};
    mpt_server_t *srv = mpt_server_start(flags);
    assert_non_null(srv);

    /* The user who wants to log in during the flood (one registration). */
    char victim[33];
    assert_int_equal(mpt_register(srv, mpt_username(victim, "victim"), "victim password 1", NULL),
                     201);

    static flood_t f;
    memset(&f, 0, sizeof f);
    f.srv = srv;
    for (int i = 0; i < FLOOD_N; i++)
        mpt_username(f.names[i], "flood");
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cv, NULL);
    pthread_t th[FLOOD_N];
    for (int i = 0; i < FLOOD_N; i++)
        assert_int_equal(pthread_create(&th[i], NULL, flood_one, &f), 0);

    /* The limiter lets the first FLOOD_RATE - 1 through and refuses the rest
     * in arrival order: the first 429 means every accepted registration has
     * reached the server and waits for (or runs) its argon2id hash. */
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&f.mu);
    while (atomic_load(&f.limited) == 0 &&
           atomic_load(&f.created) + atomic_load(&f.other) < FLOOD_N)
        if (pthread_cond_timedwait(&f.cv, &f.mu, &dl) != 0)
            break;
    pthread_mutex_unlock(&f.mu);
    if (atomic_load(&f.limited) == 0)
        fail_msg("no registration of %d from one address was refused with 429 (%d created)",
                 FLOOD_N, atomic_load(&f.created));

    /* A login now: its verification must not wait behind the queued hashes. */
    mpt_session_t s;
    assert_int_equal(mpt_login(srv, victim, "victim password 1", "during flood", &s), 200);
    int created_at_login = atomic_load(&f.created);

    for (int i = 0; i < FLOOD_N; i++)
        pthread_join(th[i], NULL);
    int created = atomic_load(&f.created), limited = atomic_load(&f.limited);
    fprintf(stderr, "flood: %d created (%d before the login answered), %d limited\n", created,
            created_at_login, limited);
    assert_int_equal(atomic_load(&f.other), 0);
    assert_int_equal(atomic_load(&f.no_retry), 0);
    assert_int_equal(created + limited, FLOOD_N);
    /* FLOOD_RATE - 1 tokens were left after the victim; a slow machine may
     * see a refill or two (one per 60 / FLOOD_RATE s) during the flood. */
    assert_true(created >= FLOOD_RATE - 1);
    assert_true(created <= FLOOD_RATE + 2);
    /* Ordering, not speed: registrations accepted before the login were
     * still waiting for their hash when the login had already been answered.
     * Behind a single FIFO the login would finish after all but the one or
     * two hashes running beside it. */
    if (created - created_at_login < 4)
        fail_msg("the login finished after %d of %d queued registrations", created_at_login,
                 created);

    /* The token works. */
    mpc_response_t r;
    assert_int_equal(mpt_http(srv, "GET", "/v1/me", s.access, NULL, &r), 200);
    mpc_response_free(&r);

    pthread_cond_destroy(&f.cv);
    pthread_mutex_destroy(&f.mu);
    assert_int_equal(mpt_server_stop(srv), 0);
}

/* ---- revocations across a restart with a shorter token lifetime ------------------ */

/* The same token as if issued age_s seconds earlier (iat and exp moved back),
 * signed with the server's own secret from its data dir. Returns a malloc'd
 * string. */
static char *token_aged(const mpt_server_t *srv, const char *token, long age_s)
{
    size_t keylen = 0;
    unsigned char *key = mpt_read_file(mpt_server_path(srv, "jwt.secret"), &keylen);
    assert_non_null(key);
    const char *dot1 = strchr(token, '.');
    assert_non_null(dot1);
    const char *dot2 = strchr(dot1 + 1, '.');
    assert_non_null(dot2);

    unsigned char raw[1024];
    size_t raw_len = 0;
    assert_int_equal(sodium_base642bin(raw, sizeof raw, dot1 + 1, (size_t)(dot2 - dot1 - 1), NULL,
                                       &raw_len, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    json_t *claims = json_loadb((const char *)raw, raw_len, 0, NULL);
    assert_non_null(claims);
    json_int_t iat = json_integer_value(json_object_get(claims, "iat"));
    json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
    assert_true(iat > 0 && exp > iat);
    json_object_set_new(claims, "iat", json_integer(iat - age_s));
    json_object_set_new(claims, "exp", json_integer(exp - age_s));
    char *payload = json_dumps(claims, JSON_COMPACT);
    json_decref(claims);

    size_t hlen = (size_t)(dot1 - token);
    size_t plen =
        sodium_base64_ENCODED_LEN(strlen(payload), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(hlen + 1 + plen + 1 + 64);
    memcpy(out, token, hlen);
    out[hlen] = '.';
    sodium_bin2base64(out + hlen + 1, plen, (const unsigned char *)payload, strlen(payload),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    free(payload);

    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, keylen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)out, strlen(out));
    crypto_auth_hmacsha256_final(&st, mac);
    free(key);
    size_t sig_at = strlen(out);
    out[sig_at] = '.';
    sodium_bin2base64(out + sig_at + 1, 64, mac, sizeof mac,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

/* Moves the device's revocation age_s seconds into the past (server stopped). */
static void revocation_aged(const mpt_server_t *srv, const char *device_id, long age_s)
{
    long long id = strtoll(device_id, NULL, 10), n = 0;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM devices WHERE id = %lld AND revoked_at > 0",
             id);
    assert_int_equal(mpt_db_i64(srv, sql, &n), 0);
    assert_int_equal(n, 1);
    snprintf(sql, sizeof sql,
             "UPDATE devices SET revoked_at = revoked_at - %lld WHERE id = %lld AND revoked_at > 0",
             (long long)age_s * 1000, id);
    assert_int_equal(mpt_db_exec(srv, sql), 0);
}

static int me_status(const mpt_server_t *srv, const char *token)
{
    mpc_response_t r;
    int st = mpt_http(srv, "GET", "/v1/me", token, NULL, &r);
    if (st > 0)
        mpc_response_free(&r);
    return st;
}

static void test_revoked_token_stays_dead_after_ttl_shrinks(void **state)
{
    (void)state;
    const char *long_ttl[] = {"--access_token_ttl", "3600", "--login_rate", "1000", NULL};
    const char *short_ttl[] = {"--access_token_ttl", "60", "--login_rate", "1000", NULL};
    mpt_server_t *srv = mpt_server_start(long_ttl);
    assert_non_null(srv);

    mpt_session_t a, b;
    assert_int_equal(mpt_user_new(srv, "ttl", &a), 0);
    assert_int_equal(mpt_device_new(srv, &a, &b), 0);
    assert_int_equal(me_status(srv, a.access), 200);
    mpc_response_t r;
    assert_int_equal(mpt_http(srv, "POST", "/v1/auth/logout", a.access, NULL, &r), 204);
    mpc_response_free(&r);
    assert_int_equal(me_status(srv, a.access), 401);

    /* The simplest case: a restart with the shorter lifetime right away. */
    assert_int_equal(mpt_server_terminate(srv), 0);
    mpt_server_set_flags(srv, short_ttl);
    assert_int_equal(mpt_server_restart(srv), 0);
    assert_int_equal(me_status(srv, a.access), 401);
    assert_int_equal(me_status(srv, b.access), 200);

    /* Now as if all that happened ten minutes ago: the tokens issued (under
     * 3600 s, so still within their exp) and the logout. */
    assert_int_equal(mpt_server_terminate(srv), 0);
    char *a_old = token_aged(srv, a.access, 600);
    char *b_old = token_aged(srv, b.access, 600);
    revocation_aged(srv, a.device_id, 300);

    /* Under the old lifetime the aged tokens are what the server issued: the
     * live device's works, the revoked one's does not. */
    mpt_server_set_flags(srv, long_ttl);
    assert_int_equal(mpt_server_restart(srv), 0);
    assert_int_equal(me_status(srv, b_old), 200);
    assert_int_equal(me_status(srv, a_old), 401);

    /* Restarted with 60 s: the revoked device's token must not come back to
     * life. A token older than the current lifetime is refused altogether;
     * the live device gets a new one with its refresh token. */
    assert_int_equal(mpt_server_terminate(srv), 0);
    mpt_server_set_flags(srv, short_ttl);
    assert_int_equal(mpt_server_restart(srv), 0);
    assert_int_equal(me_status(srv, a_old), 401);
    assert_int_equal(me_status(srv, b_old), 401);
    json_t *body = json_pack("{s:s}", "refresh_token", b.refresh);
    assert_int_equal(mpt_http(srv, "POST", "/v1/auth/refresh", NULL, body, &r), 200);
    json_decref(body);
    const char *fresh = json_string_value(json_object_get(r.json, "access_token"));
    assert_non_null(fresh);
    assert_int_equal(json_integer_value(json_object_get(r.json, "expires_in")), 60);
    assert_int_equal(me_status(srv, fresh), 200);
    mpc_response_free(&r);
    /* The revoked device cannot refresh either. */
    body = json_pack("{s:s}", "refresh_token", a.refresh);
    assert_int_equal(mpt_http(srv, "POST", "/v1/auth/refresh", NULL, body, &r), 401);
    json_decref(body);
    mpc_response_free(&r);

    free(a_old);
    free(b_old);
    assert_int_equal(mpt_server_stop(srv), 0);
}

/* ---- names and message text ------------------------------------------------------- */

/* Asserts a 400 bad_request whose message names field. */
static void assert_bad_field(int st, mpc_response_t *r, const char *field)
{
    assert_int_equal(st, 400);
    assert_non_null(mpc_response_error_code(r));
    assert_string_equal(mpc_response_error_code(r), "bad_request");
    const char *msg =
        json_string_value(json_object_get(json_object_get(r->json, "error"), "message"));
    assert_non_null(msg);
    if (!strstr(msg, field))
        fail_msg("the message \"%s\" does not name %s", msg, field);
    mpc_response_free(r);
}

static void test_names_refuse_bidi_and_invisible_characters(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS, "--guest_rate", "100000", NULL};
    mpt_server_t *srv = mpt_server_start(flags);
    assert_non_null(srv);
    /* RLO (reverses what follows), an isolate, a zero-width space, a BOM
     * inside, a right-to-left mark, and an escape (C0) character. */
    static const char *const bad[] = {
        "admin\xe2\x80\xaetxt.exe",
        ("\xe2\x81\xa7"
         "admin"),
        "ad\xe2\x80\x8bmin",
        "ad\xef\xbb\xbfmin",
        "admin\xe2\x80\x8f",
        "ad\x1b[0mmin",
    };
    char name[33];
    mpc_response_t r;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *body = json_pack("{s:s, s:s, s:s}", "username", mpt_username(name, "bidi"),
                                 "password", "bidi password 1", "display_name", bad[i]);
        int st = mpt_http(srv, "POST", "/v1/auth/register", NULL, body, &r);
        json_decref(body);
        assert_bad_field(st, &r, "display_name");

        body = json_pack("{s:s}", "display_name", bad[i]);
        st = mpt_http(srv, "POST", "/v1/auth/guest", NULL, body, &r);
        json_decref(body);
        assert_bad_field(st, &r, "display_name");
    }
    /* Device names follow the same rule. */
    assert_int_equal(mpt_register(srv, mpt_username(name, "dev"), "dev password 1", NULL), 201);
    json_t *body = json_pack("{s:s, s:s, s:s}", "username", name, "password", "dev password 1",
                             "device_name", "phone\xe2\x80\xae");
    assert_bad_field(mpt_http(srv, "POST", "/v1/auth/login", NULL, body, &r), &r, "device_name");
    json_decref(body);

    /* Ordinary non-Latin names, and spaces trimmed at the ends, are fine. */
    body = json_pack("{s:s, s:s, s:s}", "username", mpt_username(name, "ok"), "password",
                     "ok password 1", "display_name",
                     " \xd9\x85\xd8\xad\xd9\x85\xd8\xaf Ren\xc3\xa9\t");
    assert_int_equal(mpt_http(srv, "POST", "/v1/auth/register", NULL, body, &r), 201);
    json_decref(body);
    assert_string_equal(json_string_value(json_object_get(r.json, "display_name")),
                        "\xd9\x85\xd8\xad\xd9\x85\xd8\xaf Ren\xc3\xa9");
    mpc_response_free(&r);
    assert_int_equal(mpt_server_stop(srv), 0);
}

static void test_text_refuses_control_characters(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS, NULL};
    mpt_server_t *srv = mpt_server_start(flags);
    assert_non_null(srv);
    chat_dev_t a, b;
    dev_new_user(srv, "ctl", &a);
    dev_new_user(srv, "ctl", &b);

    /* Tab and newline are text; a bell, an escape, CR, DEL and a C1 are not. */
    json_t *ok = send_msg(a.ws, NULL, b.s.user_id, "c1", "line 1\n\tline 2");
    assert_true(is_ok(ok));
    char conv[24];
    snprintf(conv, sizeof conv, "%s", jstr(ok, "conversation"));
    json_decref(ok);
    static const char *const bad[] = {"ding\a", "\x1b[2Jwiped", "a\rb", "del\x7f", "csi\xc2\x9bJ"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char cmid[8];
        snprintf(cmid, sizeof cmid, "bad%zu", i);
        json_t *rep = send_msg(a.ws, conv, NULL, cmid, bad[i]);
        MPT_ASSERT_WS_ERROR(rep, "bad_request");
        const char *msg = jstr(json_object_get(rep, "error"), "message");
        assert_non_null(msg);
        if (!strstr(msg, "'text'") || !strstr(msg, "control"))
            fail_msg("send: the message \"%s\" does not name the text field", msg);
        json_decref(rep);
    }
    /* Nothing refused was stored: the next message is seq 2. */
    ok = send_msg(a.ws, conv, NULL, "c2", "after");
    assert_true(is_ok(ok));
    assert_int_equal(jint(ok, "seq"), 2);
    json_decref(ok);

    /* Group titles and descriptions are text shown to people too. */
    mpc_response_t r;
    json_t *body = json_pack("{s:s}", "title", "team\x1b[8m");
    assert_bad_field(mpt_http(srv, "POST", "/v1/groups", a.s.access, body, &r), &r, "title");
    json_decref(body);
    body = json_pack("{s:s, s:s}", "title", "team", "description", "x\x07");
    assert_bad_field(mpt_http(srv, "POST", "/v1/groups", a.s.access, body, &r), &r, "description");
    json_decref(body);

    dev_close(&a);
    dev_close(&b);
    assert_int_equal(mpt_server_stop(srv), 0);
}

static int setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registration_flood_is_limited_and_logins_go_first),
        cmocka_unit_test(test_revoked_token_stays_dead_after_ttl_shrinks),
        cmocka_unit_test(test_names_refuse_bidi_and_invisible_characters),
        cmocka_unit_test(test_text_refuses_control_characters),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
