/* Access tokens (JWT HS256 through libjwt, with our own algorithm pinning and
 * exp check, because libjwt 1.10 checks neither), refresh tokens, and the
 * signing secret file. */
#include "auth/token.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <jwt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/id.h"

char *mp_auth__jwt_issue(const uint8_t secret[MP_AUTH_SECRET_LEN], uint64_t user_id,
                         uint64_t device_id, bool guest, int64_t iat_s, unsigned ttl_s)
{
    jwt_t *jwt = NULL;
    char *enc = NULL, *out = NULL;
    char sub[MP_ID_STRLEN], dev[MP_ID_STRLEN];

    if (jwt_new(&jwt) != 0)
        return NULL;
    if (jwt_set_alg(jwt, JWT_ALG_HS256, secret, MP_AUTH_SECRET_LEN) != 0 ||
        jwt_add_grant(jwt, "sub", mp_id_format(user_id, sub)) != 0 ||
        jwt_add_grant(jwt, "dev", mp_id_format(device_id, dev)) != 0 ||
        jwt_add_grant_bool(jwt, "gst", guest) != 0 ||
        jwt_add_grant_int(jwt, "iat", (long)iat_s) != 0 ||
        jwt_add_grant_int(jwt, "exp", (long)(iat_s + (int64_t)ttl_s)) != 0)
        goto done;
    enc = jwt_encode_str(jwt);
    if (enc)
        out = mp_strdup(enc);
done:
    free(enc); /* allocated by libjwt with malloc */
    jwt_free(jwt);
    return out;
}

static bool mp_auth__b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* Checks the shape header.payload.signature (all non-empty base64url) and
 * returns the header segment's length. */
static bool mp_auth__jwt_shape(const char *token, size_t *header_len)
{
    size_t dots = 0, seg = 0, len = strlen(token);

    if (len == 0 || len > MP_AUTH_JWT_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (token[i] == '.') {
            if (seg == 0)
                return false;
            if (dots++ == 0)
                *header_len = i;
            seg = 0;
        } else if (mp_auth__b64url_char(token[i])) {
            seg++;
        } else {
            return false;
        }
    }
    return dots == 2 && seg > 0;
}

/* The pin: the header must say exactly alg "HS256". Done on the raw header
 * before libjwt parses anything, so alg:none (which libjwt accepts as
 * "unsigned") or a key-confusion alg never gets to choose the verifier. */
static bool mp_auth__jwt_header_ok(const char *seg, size_t len)
{
    unsigned char raw[256];
    size_t raw_len = 0;
    json_t *hdr = NULL;
    bool ok = false;

    if (sodium_base642bin(raw, sizeof(raw), seg, len, NULL, &raw_len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return false;
    hdr = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(hdr)) {
        const char *alg = json_string_value(json_object_get(hdr, "alg"));
        ok = alg && strcmp(alg, "HS256") == 0;
    }
    json_decref(hdr);
    return ok;
}

static bool mp_auth__jwt_id_claim(jwt_t *jwt, const char *name, uint64_t *out)
{
    const char *s = jwt_get_grant(jwt, name);
    return s && mp_id_parse(s, out);
}

mp_err_t mp_auth__jwt_verify(const uint8_t secret[MP_AUTH_SECRET_LEN], const char *token,
                             int64_t now_s, mp_principal_t *who)
{
    return mp_auth__jwt_verify_age(secret, token, now_s, 0, who);
}

mp_err_t mp_auth__jwt_verify_age(const uint8_t secret[MP_AUTH_SECRET_LEN], const char *token,
                                 int64_t now_s, unsigned max_age_s, mp_principal_t *who)
{
    jwt_t *jwt = NULL;
    size_t header_len = 0;
    mp_err_t rc = MP_ERR_UNAUTHORIZED;
    mp_principal_t p = {0};

    if (!token || !mp_auth__jwt_shape(token, &header_len) ||
        !mp_auth__jwt_header_ok(token, header_len))
        return MP_ERR_UNAUTHORIZED;
    if (jwt_decode(&jwt, token, secret, MP_AUTH_SECRET_LEN) != 0 || !jwt)
        return MP_ERR_UNAUTHORIZED;
    if (jwt_get_alg(jwt) != JWT_ALG_HS256)
        goto done;

    errno = 0;
    long exp = jwt_get_grant_int(jwt, "exp");
    if (errno != 0 || (int64_t)exp <= now_s)
        goto done;
    if (max_age_s > 0) {
        errno = 0;
        long iat = jwt_get_grant_int(jwt, "iat");
        if (errno != 0 || (int64_t)iat + (int64_t)max_age_s <= now_s)
            goto done;
    }
    errno = 0;
    int gst = jwt_get_grant_bool(jwt, "gst");
    if (errno != 0)
        goto done;
    if (!mp_auth__jwt_id_claim(jwt, "sub", &p.user_id) ||
        !mp_auth__jwt_id_claim(jwt, "dev", &p.device_id))
        goto done;
    p.guest = gst != 0;
    *who = p;
    rc = MP_OK;
done:
    jwt_free(jwt);
    return rc;
}

void mp_auth__refresh_new(char out[MP_AUTH_REFRESH_LEN + 1], uint8_t hash[MP_TOKEN_HASH_LEN])
{
    unsigned char raw[MP_AUTH_REFRESH_RAW_LEN];

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, MP_AUTH_REFRESH_LEN + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    crypto_hash_sha256(hash, (const unsigned char *)out, MP_AUTH_REFRESH_LEN);
}

bool mp_auth__refresh_hash(const char *token, uint8_t hash[MP_TOKEN_HASH_LEN])
{
    /* The string itself is hashed (not its decoded bytes), so only the exact
     * string we handed out matches. */
    for (size_t i = 0; i < MP_AUTH_REFRESH_LEN; i++)
        if (!mp_auth__b64url_char(token[i]))
            return false;
    if (token[MP_AUTH_REFRESH_LEN] != '\0')
        return false;
    crypto_hash_sha256(hash, (const unsigned char *)token, MP_AUTH_REFRESH_LEN);
    return true;
}

/* Creates path with a fresh secret. Returns 0, EEXIST when someone else
 * created it first, or another errno. */
static int mp_auth__secret_create(const char *path, uint8_t secret[MP_AUTH_SECRET_LEN])
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int rc = 0;

    if (fd < 0)
        return errno;
    randombytes_buf(secret, MP_AUTH_SECRET_LEN);
    ssize_t n = write(fd, secret, MP_AUTH_SECRET_LEN);
    if (n != MP_AUTH_SECRET_LEN)
        rc = n < 0 ? errno : EIO;
    else if (fsync(fd) != 0)
        rc = errno;
    close(fd);
    if (rc != 0)
        unlink(path); /* never leave a short secret behind */
    return rc;
}

static mp_err_t mp_auth__secret_read(const char *path, uint8_t secret[MP_AUTH_SECRET_LEN],
                                     char *err, size_t errlen)
{
    struct stat st;
    mp_err_t rc = MP_ERR_INTERNAL;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return MP_ERR_INTERNAL;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        goto done;
    }
    if (st.st_mode & 077) {
        snprintf(err, errlen,
                 "%s has mode %03o but must not be accessible to group or others "
                 "(chmod 600 it if it never leaked, else delete it to issue a new one)",
                 path, (unsigned)(st.st_mode & 0777));
        goto done;
    }
    if (st.st_size != MP_AUTH_SECRET_LEN ||
        read(fd, secret, MP_AUTH_SECRET_LEN) != MP_AUTH_SECRET_LEN) {
        snprintf(err, errlen, "%s must hold exactly %d bytes (delete it to issue a new one)", path,
                 MP_AUTH_SECRET_LEN);
        goto done;
    }
    rc = MP_OK;
done:
    close(fd);
    return rc;
}

mp_err_t mp_auth__secret_load(const char *dir, uint8_t secret[MP_AUTH_SECRET_LEN], char *err,
                              size_t errlen)
{
    char path[1100];

    if ((size_t)snprintf(path, sizeof(path), "%s/jwt.secret", dir) >= sizeof(path)) {
        snprintf(err, errlen, "data directory path too long");
        return MP_ERR_INTERNAL;
    }
    int rc = mp_auth__secret_create(path, secret);
    if (rc == 0)
        return MP_OK;
    if (rc != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(rc));
        return MP_ERR_INTERNAL;
    }
    return mp_auth__secret_read(path, secret, err, errlen);
}
