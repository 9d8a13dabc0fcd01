/* Access and refresh tokens, and the secret file: round trip, tampering,
 * alg:none and other algorithms, expiry, refresh-token encoding and hashing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jwt.h>
#include <sodium.h>

#include "auth/token.h"
#include "util/alloc.h"

static const uint8_t secret[MP_AUTH_SECRET_LEN] = "0123456789abcdef0123456789abcdef";
static const int64_t now = 1700000000;

static void test_round_trip(void **state)
{
    (void)state;
    mp_principal_t who = {0};
    char *tok = mp_auth__jwt_issue(secret, 123456789012345ULL, 987654321098765ULL, false, now, 900);
    assert_non_null(tok);
    assert_int_equal(mp_auth__jwt_verify(secret, tok, now, &who), MP_OK);
    assert_true(who.user_id == 123456789012345ULL);
    assert_true(who.device_id == 987654321098765ULL);
    assert_false(who.guest);
    assert_int_equal(mp_auth__jwt_verify(secret, tok, now + 899, &who), MP_OK);
    mp_free(tok);

    tok = mp_auth__jwt_issue(secret, 7, 8, true, now, 60);
    assert_int_equal(mp_auth__jwt_verify(secret, tok, now, &who), MP_OK);
    assert_true(who.guest);
    mp_free(tok);
}

static void test_expired(void **state)
{
    (void)state;
    mp_principal_t who = {0};
    char *tok = mp_auth__jwt_issue(secret, 1, 2, false, now - 1000, 900);
    assert_int_equal(mp_auth__jwt_verify(secret, tok, now, &who), MP_ERR_UNAUTHORIZED);
    mp_free(tok);
    tok = mp_auth__jwt_issue(secret, 1, 2, false, now, 900);
    assert_int_equal(mp_auth__jwt_verify(secret, tok, now + 900, &who), MP_ERR_UNAUTHORIZED);
    mp_free(tok);
}

/* A token issued under a longer ttl than today's is honoured only for
 * today's ttl from its iat (the server remembers revocations that long). */
static void test_max_age(void **state)
{
    (void)state;
    mp_principal_t who = {0};
    char *tok = mp_auth__jwt_issue(secret, 1, 2, false, now - 600, 3600);
    assert_int_equal(mp_auth__jwt_verify(secret, tok, now, &who), MP_OK);
    assert_int_equal(mp_auth__jwt_verify_age(secret, tok, now, 0, &who), MP_OK);
    assert_int_equal(mp_auth__jwt_verify_age(secret, tok, now, 3600, &who), MP_OK);
    assert_int_equal(mp_auth__jwt_verify_age(secret, tok, now, 601, &who), MP_OK);
    assert_int_equal(mp_auth__jwt_verify_age(secret, tok, now, 600, &who), MP_ERR_UNAUTHORIZED);
    assert_int_equal(mp_auth__jwt_verify_age(secret, tok, now, 60, &who), MP_ERR_UNAUTHORIZED);
    mp_free(tok);
    /* The age never extends exp. */
    tok = mp_auth__jwt_issue(secret, 1, 2, false, now - 600, 300);
    assert_int_equal(mp_auth__jwt_verify_age(secret, tok, now, 3600, &who), MP_ERR_UNAUTHORIZED);
    mp_free(tok);
}

static void test_wrong_secret_and_tampering(void **state)
{
    (void)state;
    mp_principal_t who = {0};
    uint8_t other[MP_AUTH_SECRET_LEN];
    memcpy(other, secret, sizeof(other));
    other[0] ^= 1;
    char *tok = mp_auth__jwt_issue(secret, 1, 2, false, now, 900);
    assert_int_equal(mp_auth__jwt_verify(other, tok, now, &who), MP_ERR_UNAUTHORIZED);

    /* Flip one character of the signature. */
    char *bad = strdup(tok);
    size_t len = strlen(bad);
    bad[len - 2] = bad[len - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(mp_auth__jwt_verify(secret, bad, now, &who), MP_ERR_UNAUTHORIZED);
    free(bad);

    /* Swap in another user's payload but keep the signature. */
    char *tok2 = mp_auth__jwt_issue(secret, 999, 2, false, now, 900);
    char *p1 = strchr(tok, '.'), *p2 = strchr(tok2, '.');
    char *s2 = strrchr(tok2, '.');
    char *sig1 = strrchr(tok, '.');
    char forged[2048];
    snprintf(forged, sizeof(forged), "%.*s%.*s%s", (int)(p1 - tok), tok, (int)(s2 - p2), p2, sig1);
    assert_int_equal(mp_auth__jwt_verify(secret, forged, now, &who), MP_ERR_UNAUTHORIZED);
    mp_free(tok2);
    mp_free(tok);

    /* Garbage of every shape. */
    assert_int_equal(mp_auth__jwt_verify(secret, "", now, &who), MP_ERR_UNAUTHORIZED);
    assert_int_equal(mp_auth__jwt_verify(secret, NULL, now, &who), MP_ERR_UNAUTHORIZED);
    assert_int_equal(mp_auth__jwt_verify(secret, "a.b", now, &who), MP_ERR_UNAUTHORIZED);
    assert_int_equal(mp_auth__jwt_verify(secret, "a.b.c.d", now, &who), MP_ERR_UNAUTHORIZED);
    assert_int_equal(mp_auth__jwt_verify(secret, "..", now, &who), MP_ERR_UNAUTHORIZED);
    assert_int_equal(mp_auth__jwt_verify(secret, "a b.c.d", now, &who), MP_ERR_UNAUTHORIZED);
}

static char *b64url(const char *s)
{
    size_t n = strlen(s);
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(cap);
    sodium_bin2base64(out, cap, (const unsigned char *)s, n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static char *hand_token(const char *header, const char *payload, const char *sig)
{
    char *h = b64url(header), *p = b64url(payload);
    char *out = malloc(strlen(h) + strlen(p) + strlen(sig) + 3);
    sprintf(out, "%s.%s.%s", h, p, sig);
    free(h);
    free(p);
    return out;
}

static void test_alg_none_refused(void **state)
{
    (void)state;
    mp_principal_t who = {0};
    char payload[256];
    snprintf(payload, sizeof(payload),
             "{\"sub\":\"1\",\"dev\":\"2\",\"gst\":false,\"iat\":%lld,\"exp\":%lld}",
             (long long)now, (long long)now + 900);

    /* The classic: alg none, empty signature. */
    char *tok = hand_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, "");
    assert_int_equal(mp_auth__jwt_verify(secret, tok, now, &who), MP_ERR_UNAUTHORIZED);
    free(tok);
    /* alg none with some signature, other spellings, and no alg at all. */
    const char *headers[] = {
        "{\"alg\":\"none\",\"typ\":\"JWT\"}",
        "{\"alg\":\"None\"}",
        "{\"alg\":\"NONE\"}",
        "{\"alg\":\"hs256\"}",
        "{\"typ\":\"JWT\"}",
        "{\"alg\":null}",
        "{\"alg\":[\"HS256\"]}",
        "[\"HS256\"]",
        "not json",
    };
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        tok = hand_token(headers[i], payload, "c2lnbmF0dXJl");
        assert_int_equal(mp_auth__jwt_verify(secret, tok, now, &who), MP_ERR_UNAUTHORIZED);
        free(tok);
    }
}

/* A token made by libjwt with claims like ours but another algorithm. */
static char *libjwt_token(jwt_alg_t alg, bool with_exp)
{
    jwt_t *jwt = NULL;
    assert_int_equal(jwt_new(&jwt), 0);
    assert_int_equal(jwt_set_alg(jwt, alg, alg == JWT_ALG_NONE ? NULL : secret,
                                 alg == JWT_ALG_NONE ? 0 : MP_AUTH_SECRET_LEN),
                     0);
    jwt_add_grant(jwt, "sub", "1");
    jwt_add_grant(jwt, "dev", "2");
    jwt_add_grant_bool(jwt, "gst", 0);
    jwt_add_grant_int(jwt, "iat", (long)now);
    if (with_exp)
        jwt_add_grant_int(jwt, "exp", (long)now + 900);
    char *s = jwt_encode_str(jwt);
    jwt_free(jwt);
    assert_non_null(s);
    return s;
}

static void test_other_algs_refused(void **state)
{
    (void)state;
    mp_principal_t who = {0};
    jwt_alg_t algs[] = {JWT_ALG_HS384, JWT_ALG_HS512, JWT_ALG_NONE};
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        char *tok = libjwt_token(algs[i], true);
        assert_int_equal(mp_auth__jwt_verify(secret, tok, now, &who), MP_ERR_UNAUTHORIZED);
        free(tok);
    }
    /* The same claims with HS256 pass: the refusals above are about the alg. */
    char *tok = libjwt_token(JWT_ALG_HS256, true);
    assert_int_equal(mp_auth__jwt_verify(secret, tok, now, &who), MP_OK);
    free(tok);
    /* ...and without exp, no token is valid (libjwt 1.10 would not care). */
    tok = libjwt_token(JWT_ALG_HS256, false);
    assert_int_equal(mp_auth__jwt_verify(secret, tok, now, &who), MP_ERR_UNAUTHORIZED);
    free(tok);
}

static void test_bad_claims_refused(void **state)
{
    (void)state;
    mp_principal_t who = {0};
    const char *claims[][2] = {
        {"sub", "0"}, {"sub", "abc"}, {"sub", "-1"}, {"dev", "18446744073709551616"}, {"dev", ""}};
    for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
        jwt_t *jwt = NULL;
        assert_int_equal(jwt_new(&jwt), 0);
        jwt_set_alg(jwt, JWT_ALG_HS256, secret, MP_AUTH_SECRET_LEN);
        jwt_add_grant(jwt, "sub", strcmp(claims[i][0], "sub") == 0 ? claims[i][1] : "1");
        jwt_add_grant(jwt, "dev", strcmp(claims[i][0], "dev") == 0 ? claims[i][1] : "2");
        jwt_add_grant_bool(jwt, "gst", 0);
        jwt_add_grant_int(jwt, "exp", (long)now + 900);
        char *tok = jwt_encode_str(jwt);
        jwt_free(jwt);
        assert_int_equal(mp_auth__jwt_verify(secret, tok, now, &who), MP_ERR_UNAUTHORIZED);
        free(tok);
    }
}

static void test_refresh_tokens(void **state)
{
    (void)state;
    char a[MP_AUTH_REFRESH_LEN + 1], b[MP_AUTH_REFRESH_LEN + 1];
    uint8_t ha[MP_TOKEN_HASH_LEN], hb[MP_TOKEN_HASH_LEN], h[MP_TOKEN_HASH_LEN];

    mp_auth__refresh_new(a, ha);
    mp_auth__refresh_new(b, hb);
    assert_int_equal(strlen(a), 43);
    assert_string_not_equal(a, b);
    assert_memory_not_equal(ha, hb, MP_TOKEN_HASH_LEN);
    for (size_t i = 0; i < 43; i++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", a[i]));
    /* The stored hash is SHA-256 of the token as handed out. */
    assert_true(mp_auth__refresh_hash(a, h));
    assert_memory_equal(h, ha, MP_TOKEN_HASH_LEN);
    uint8_t expect[MP_TOKEN_HASH_LEN];
    crypto_hash_sha256(expect, (const unsigned char *)a, 43);
    assert_memory_equal(h, expect, MP_TOKEN_HASH_LEN);
    /* Its raw form decodes to 32 bytes. */
    unsigned char raw[64];
    size_t raw_len = 0;
    assert_int_equal(sodium_base642bin(raw, sizeof(raw), a, 43, NULL, &raw_len, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    assert_int_equal(raw_len, 32);

    /* Things that cannot be ours are refused before any store lookup. */
    char longer[64];
    snprintf(longer, sizeof(longer), "%sA", a);
    assert_false(mp_auth__refresh_hash(longer, h));
    assert_false(mp_auth__refresh_hash("short", h));
    assert_false(mp_auth__refresh_hash("", h));
    char bad[MP_AUTH_REFRESH_LEN + 1];
    memcpy(bad, a, sizeof(bad));
    bad[10] = '+';
    assert_false(mp_auth__refresh_hash(bad, h));
}

static void test_secret_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/mp_auth_secret_XXXXXX", path[128], err[256];
    uint8_t s1[MP_AUTH_SECRET_LEN], s2[MP_AUTH_SECRET_LEN];
    struct stat st;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/jwt.secret", dir);
    assert_int_equal(mp_auth__secret_load(dir, s1, err, sizeof(err)), MP_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);
    /* Loaded, not regenerated, on the next start. */
    assert_int_equal(mp_auth__secret_load(dir, s2, err, sizeof(err)), MP_OK);
    assert_memory_equal(s1, s2, MP_AUTH_SECRET_LEN);

    /* Readable by others: refused, with a message naming the file. */
    assert_int_equal(chmod(path, 0644), 0);
    err[0] = '\0';
    assert_int_equal(mp_auth__secret_load(dir, s2, err, sizeof(err)), MP_ERR_INTERNAL);
    assert_non_null(strstr(err, "jwt.secret"));
    assert_int_equal(chmod(path, 0600), 0);

    /* Wrong size: refused. */
    assert_int_equal(truncate(path, 31), 0);
    assert_int_equal(mp_auth__secret_load(dir, s2, err, sizeof(err)), MP_ERR_INTERNAL);
    assert_non_null(strstr(err, "32 bytes"));

    unlink(path);
    rmdir(dir);
    /* A missing data directory is an error, not a crash. */
    assert_int_equal(mp_auth__secret_load(dir, s2, err, sizeof(err)), MP_ERR_INTERNAL);
}

static int setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_max_age),
        cmocka_unit_test(test_wrong_secret_and_tampering),
        cmocka_unit_test(test_alg_none_refused),
        cmocka_unit_test(test_other_algs_refused),
        cmocka_unit_test(test_bad_claims_refused),
        cmocka_unit_test(test_refresh_tokens),
        cmocka_unit_test(test_secret_file),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
