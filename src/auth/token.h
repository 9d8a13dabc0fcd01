/* Token primitives of the auth module (internal): HS256 access tokens with the
 * algorithm pinned and exp checked by us, opaque refresh tokens stored only as
 * their SHA-256, and the on-disk signing secret. Pure functions, no loop. */
#ifndef MP_AUTH_TOKEN_H
#define MP_AUTH_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/error.h"
#include "proto/principal.h"
#include "store/store.h"

#define MP_AUTH_SECRET_LEN 32
#define MP_AUTH_REFRESH_RAW_LEN 32
/* base64url without padding of 32 bytes. */
#define MP_AUTH_REFRESH_LEN 43
/* Longest access token we even look at (ours are ~200 bytes). */
#define MP_AUTH_JWT_MAX 2048

/* Issues an HS256 JWT with claims sub, dev (decimal strings), gst, iat, and
 * exp = iat_s + ttl_s. Returns a heap string (mp_free); NULL only if libjwt
 * fails (out of memory). */
char *mp_auth__jwt_issue(const uint8_t secret[MP_AUTH_SECRET_LEN], uint64_t user_id,
                         uint64_t device_id, bool guest, int64_t iat_s, unsigned ttl_s);

/* Verifies token: three base64url segments, a header whose alg is exactly
 * "HS256" (alg:none and every other alg are refused before and after libjwt
 * sees them), a valid signature under secret, an integer exp > now_s, and
 * sub/dev that parse as ids. Fills *who (revocation is NOT checked here).
 * Returns MP_OK or MP_ERR_UNAUTHORIZED. */
mp_err_t mp_auth__jwt_verify(const uint8_t secret[MP_AUTH_SECRET_LEN], const char *token,
                             int64_t now_s, mp_principal_t *who)
    __attribute__((warn_unused_result));
/* The same, and when max_age_s > 0 also refuses a token without an integer
 * iat or with iat + max_age_s <= now_s, whatever its exp says. */
mp_err_t mp_auth__jwt_verify_age(const uint8_t secret[MP_AUTH_SECRET_LEN], const char *token,
                                 int64_t now_s, unsigned max_age_s, mp_principal_t *who)
    __attribute__((warn_unused_result));

/* New refresh token: 32 random bytes as base64url without padding in out,
 * and its SHA-256 in hash. */
void mp_auth__refresh_new(char out[MP_AUTH_REFRESH_LEN + 1], uint8_t hash[MP_TOKEN_HASH_LEN]);

/* SHA-256 of a presented refresh token. Returns false (hash untouched) when
 * token cannot be one of ours (wrong length or alphabet), so that garbage
 * never reaches the store. */
bool mp_auth__refresh_hash(const char *token, uint8_t hash[MP_TOKEN_HASH_LEN])
    __attribute__((warn_unused_result));

/* Loads DIR/jwt.secret, or creates it (32 random bytes, O_CREAT|O_EXCL, mode
 * 0600) when absent. Refuses (MP_ERR_INTERNAL, message in err) a file that is
 * not a regular file, is not exactly 32 bytes, or is readable or writable by
 * group or others: such a secret may have leaked, and silently fixing the
 * mode would hide that. sodium_init() must have run. */
mp_err_t mp_auth__secret_load(const char *dir, uint8_t secret[MP_AUTH_SECRET_LEN], char *err,
                              size_t errlen) __attribute__((warn_unused_result));

#endif
