/* Signed download URLs, for <img> and <video> tags that cannot send a token.
 *
 * A URL carries its expiry (exp, ms), the user it was made for (u) and
 * sig = base64url(HMAC-SHA256(url_key, "<path>\n<exp>\n<u>")) without
 * padding, where path is /v1/files/ID or /v1/files/ID/thumbnail (the size is
 * not signed: every size of one file's thumbnail is the same permission). A
 * guest's URL signs "<path>\n<exp>\n<u>\nguest" instead, so that the download
 * applies the guest rule of access without a store round trip and without a
 * field the client could change. The signature only says who asks: access is
 * checked again at download time for that user. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "files/files_int.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"
#include "util/log.h"

#define SIG_BYTES 32
#define SIG_LEN 43 /* base64url of 32 bytes, no padding */
#define EXP_DIGITS_MAX 18

/* ---- the key ------------------------------------------------------------- */

static void on_key(mp_err_t rc, const unsigned char *value, size_t len, void *ud)
{
    mp_files_t *files = ud;
    if (rc != MP_OK || len != sizeof files->url_key) {
        mp_log_error("files: the URL-signing key could not be read (%s): signed URLs refused",
                     mp_err_code(rc));
        return;
    }
    memcpy(files->url_key, value, len);
    files->url_key_ready = true;
}

void mp_files__url_key_load(mp_files_t *files)
{
    mp_err_t rc =
        mp_store_secret(files->ctx->store, "url_key", sizeof files->url_key, on_key, files);
    if (rc != MP_OK)
        on_key(rc, NULL, 0, files);
}

/* ---- signing --------------------------------------------------------------- */

/* The signature of path for exp and user, as text (SIG_LEN + 1 bytes; ""
 * if HMAC failed, which no signature compares equal to). */
static void sign(const mp_files_t *files, const char *path, int64_t exp, uint64_t user, bool guest,
                 char out[SIG_LEN + 1])
{
    char msg[MP_FILE_KEY_MAX + 128], id[MP_ID_STRLEN];
    int n = snprintf(msg, sizeof msg, "%s\n%lld\n%s%s", path, (long long)exp,
                     mp_id_format(user, id), guest ? "\nguest" : "");
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    out[0] = '\0';
    if (n > 0 && (size_t)n < sizeof msg &&
        HMAC(EVP_sha256(), files->url_key, (int)sizeof files->url_key, (const unsigned char *)msg,
             (size_t)n, mac, &maclen) != NULL &&
        maclen == SIG_BYTES)
        sodium_bin2base64(out, SIG_LEN + 1, mac, SIG_BYTES,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    OPENSSL_cleanse(mac, sizeof mac);
}

/* exp as sent: 1..18 digits (no sign, no leading zero). */
static bool parse_exp(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > EXP_DIGITS_MAX || s[0] == '0')
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool mp_files__signed_check(const mp_files_t *files, const char *path, const char *exp,
                            const char *user, const char *sig, int64_t now, uint64_t *user_id,
                            bool *guest)
{
    int64_t e;
    uint64_t u;
    /* No key yet: fail closed. */
    if (!files->url_key_ready || path == NULL || exp == NULL || user == NULL || sig == NULL)
        return false;
    if (strlen(sig) != SIG_LEN || !parse_exp(exp, &e) || !mp_id_parse(user, &u) || e < now)
        return false;
    if (strlen(path) > MP_FILE_KEY_MAX)
        return false;
    char want[SIG_LEN + 1];
    for (int g = 0; g < 2; g++) {
        sign(files, path, e, u, g == 1, want);
        if (want[0] != '\0' && CRYPTO_memcmp(want, sig, SIG_LEN) == 0) {
            *user_id = u;
            *guest = g == 1;
            return true;
        }
    }
    return false;
}

bool mp_files__signed_ok(const mp_files_t *files, const char *path, const char *exp,
                         const char *user, const char *sig, int64_t now, uint64_t *user_id)
{
    bool guest;
    return mp_files__signed_check(files, path, exp, user, sig, now, user_id, &guest);
}

/* path + "?exp=..&u=..&sig=..", a new string. */
static json_t *signed_url(const mp_files_t *files, const char *path, int64_t exp, uint64_t user,
                          bool guest)
{
    char sig[SIG_LEN + 1], id[MP_ID_STRLEN], url[MP_FILE_KEY_MAX + 128];
    sign(files, path, exp, user, guest, sig);
    snprintf(url, sizeof url, "%s?exp=%lld&u=%s&sig=%s", path, (long long)exp,
             mp_id_format(user, id), sig);
    return json_string(url);
}

/* ---- POST /v1/files/{id}/url -------------------------------------------------- */

typedef struct {
    mp_http_req_t *req;
    mp_files_t *files;
    uint64_t user;
    bool guest;
} sign_t;

static void on_file(mp_err_t rc, const mp_file_row_t *f, void *ud)
{
    sign_t *s = ud;
    mp_http_req_t *req = s->req;
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, rc == MP_ERR_NOT_FOUND ? "no such file" : NULL);
        mp_free(s);
        return;
    }
    int64_t exp = mp_now_ms() + (int64_t)s->files->ctx->cfg->signed_url_ttl_ms;
    char id[MP_ID_STRLEN], path[64];
    snprintf(path, sizeof path, "/v1/files/%s", mp_id_format(f->id, id));
    json_t *body = json_object();
    json_object_set_new(body, "url", signed_url(s->files, path, exp, s->user, s->guest));
    if (mp_file_rendition(f, "thumb") != NULL) {
        snprintf(path, sizeof path, "/v1/files/%s/thumbnail", id);
        json_object_set_new(body, "thumbnail_url",
                            signed_url(s->files, path, exp, s->user, s->guest));
    } else {
        json_object_set_new(body, "thumbnail_url", json_null());
    }
    json_object_set_new(body, "expires_at", json_integer(exp));
    mp_http_respond(req, 200, body);
    mp_free(s);
}

void mp_files__route_sign(mp_http_req_t *req)
{
    mp_files_t *files = mp_files__of(req);
    const mp_principal_t *p = mp_http_req_principal(req);
    uint64_t file_id;
    if (!mp_id_parse(mp_http_req_param(req, "id"), &file_id)) {
        mp_http_respond_error(req, MP_ERR_NOT_FOUND, "no such file");
        return;
    }
    if (!files->url_key_ready) {
        mp_http_respond_error(req, MP_ERR_UNAVAILABLE, "signed URLs are not available yet");
        return;
    }
    sign_t *s = mp_calloc(1, sizeof *s);
    *s = (sign_t){.req = req, .files = files, .user = p->user_id, .guest = p->guest};
    mp_err_t rc = mp_store_file_get(files->ctx->store, file_id, p->user_id, p->guest,
                                    files->ctx->world_id, on_file, s);
    if (rc != MP_OK)
        on_file(rc, NULL, s);
}
