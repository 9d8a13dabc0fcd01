/* Signed download URLs (files/urls.c): the signature is the documented
 * HMAC-SHA256, computed here independently, and every change to what it
 * covers, an expiry in the past or a missing key make it fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "files/files_int.h"

#define NOW 1800000000000LL

static mp_files_t *key_files(void)
{
    static mp_files_t files;
    memset(&files, 0, sizeof files);
    for (size_t i = 0; i < sizeof files.url_key; i++)
        files.url_key[i] = (unsigned char)(i * 7 + 1);
    files.url_key_ready = true;
    return &files;
}

/* base64url without padding of HMAC-SHA256(key, msg). */
static void ref_sig(const mp_files_t *files, const char *msg, char out[64])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char mac[32];
    unsigned int len = 0;
    assert_non_null(HMAC(EVP_sha256(), files->url_key, (int)sizeof files->url_key,
                         (const unsigned char *)msg, strlen(msg), mac, &len));
    assert_int_equal(len, 32);
    size_t o = 0;
    unsigned bits = 0, acc = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | mac[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = b64[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[o++] = b64[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

static bool check(const mp_files_t *files, const char *path, const char *exp, const char *u,
                  const char *sig, uint64_t *user, bool *guest)
{
    return mp_files__signed_check(files, path, exp, u, sig, NOW, user, guest);
}

static void test_valid(void **state)
{
    (void)state;
    mp_files_t *files = key_files();
    char sig[64];
    ref_sig(files, "/v1/files/42\n1800000060000\n7", sig);
    assert_int_equal(strlen(sig), 43);
    uint64_t user = 0;
    bool guest = true;
    assert_true(check(files, "/v1/files/42", "1800000060000", "7", sig, &user, &guest));
    assert_int_equal(user, 7);
    assert_false(guest);
    user = 0;
    assert_true(mp_files__signed_ok(files, "/v1/files/42", "1800000060000", "7", sig, NOW, &user));
    assert_int_equal(user, 7);
    /* Valid up to and including its expiry. */
    assert_true(mp_files__signed_ok(files, "/v1/files/42", "1800000060000", "7", sig,
                                    1800000060000LL, &user));
    /* A guest's URL. */
    ref_sig(files, "/v1/files/42/thumbnail\n1800000060000\n9\nguest", sig);
    assert_true(check(files, "/v1/files/42/thumbnail", "1800000060000", "9", sig, &user, &guest));
    assert_int_equal(user, 9);
    assert_true(guest);
}

static void test_refused(void **state)
{
    (void)state;
    mp_files_t *files = key_files();
    char sig[64], bad[64];
    uint64_t user;
    bool guest;
    ref_sig(files, "/v1/files/42\n1800000060000\n7", sig);
    /* Expired. */
    assert_false(mp_files__signed_ok(files, "/v1/files/42", "1800000060000", "7", sig,
                                     1800000060001LL, &user));
    /* Another file, the thumbnail path, another user, another expiry. */
    assert_false(check(files, "/v1/files/43", "1800000060000", "7", sig, &user, &guest));
    assert_false(check(files, "/v1/files/42/thumbnail", "1800000060000", "7", sig, &user, &guest));
    assert_false(check(files, "/v1/files/42", "1800000060000", "8", sig, &user, &guest));
    assert_false(check(files, "/v1/files/42", "1800000060001", "7", sig, &user, &guest));
    /* Non-canonical numbers are not the signed text. */
    assert_false(check(files, "/v1/files/42", "01800000060000", "7", sig, &user, &guest));
    assert_false(check(files, "/v1/files/42", "1800000060000", "07", sig, &user, &guest));
    assert_false(check(files, "/v1/files/42", "+1800000060000", "7", sig, &user, &guest));
    assert_false(check(files, "/v1/files/42", "1800000060000x", "7", sig, &user, &guest));
    /* Tampered: each position flipped, cut, lengthened, padded. */
    for (size_t i = 0; i < 43; i++) {
        snprintf(bad, sizeof bad, "%s", sig);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        assert_false(check(files, "/v1/files/42", "1800000060000", "7", bad, &user, &guest));
    }
    snprintf(bad, sizeof bad, "%.42s", sig);
    assert_false(check(files, "/v1/files/42", "1800000060000", "7", bad, &user, &guest));
    snprintf(bad, sizeof bad, "%s=", sig);
    assert_false(check(files, "/v1/files/42", "1800000060000", "7", bad, &user, &guest));
    /* Missing parts. */
    assert_false(check(files, "/v1/files/42", NULL, "7", sig, &user, &guest));
    assert_false(check(files, "/v1/files/42", "1800000060000", NULL, sig, &user, &guest));
    assert_false(check(files, "/v1/files/42", "1800000060000", "7", NULL, &user, &guest));
    assert_false(check(files, "/v1/files/42", "", "7", sig, &user, &guest));
    /* A user's URL is not a guest's, nor the reverse. */
    ref_sig(files, "/v1/files/42\n1800000060000\n7\nguest", bad);
    assert_true(check(files, "/v1/files/42", "1800000060000", "7", bad, &user, &guest));
    assert_true(guest);
    /* Without the key, nothing is valid (fail closed). */
    files->url_key_ready = false;
    assert_false(check(files, "/v1/files/42", "1800000060000", "7", sig, &user, &guest));
    /* Another key. */
    files->url_key_ready = true;
    files->url_key[0] ^= 1;
    assert_false(check(files, "/v1/files/42", "1800000060000", "7", sig, &user, &guest));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
