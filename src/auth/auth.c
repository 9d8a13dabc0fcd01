/* The auth module's lifecycle, the in-memory set of revoked devices, the
 * login rate limits, and access-token authentication for the gateway. */
#include "auth/auth_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"
#include "util/log.h"

/* Distinct usernames / IPs tracked by the login limiters (memory bound). */
#define MP_AUTH_LIMIT_KEYS 16384
/* argon2id jobs at once (2 cores here) and waiting per queue, logins and
 * registrations each (beyond: 503). */
#define MP_AUTH_PW_PARALLEL 2
#define MP_AUTH_PW_QUEUE 256
/* last_seen_at is written at most once per this many ms per device. */
#define MP_AUTH_TOUCH_EVERY_MS 60000

/* ---- revoked devices --------------------------------------------------- */

/* Forgets revocations older than the token lifetime: a token that old is
 * refused by its age anyway. */
static void mp_auth__revoked_prune(mp_auth_t *auth, int64_t now_ms)
{
    int64_t horizon = now_ms - (int64_t)auth->ttl_s * 1000 - 60000; /* + clock slack */
    mp_map_iter_t it;
    void *at;
    mp_map_iter_init(&auth->revoked, &it);
    while (mp_map_iter_next(&auth->revoked, &it, NULL, &at))
        if ((int64_t)(intptr_t)at < horizon)
            mp_map_iter_del(&auth->revoked, &it);
    auth->revoked_prune_at = 2 * mp_map_len(&auth->revoked) + 64;
}

bool mp_auth__is_revoked(const mp_auth_t *auth, uint64_t device_id)
{
    return mp_map_find(&auth->revoked, device_id) != NULL;
}

static void mp_auth__revoked_add(mp_auth_t *auth, uint64_t device_id, int64_t now_ms)
{
    if (device_id == 0)
        return;
    _Static_assert(sizeof(intptr_t) >= sizeof(int64_t), "times are kept in map values");
    mp_map_put(&auth->revoked, device_id, (void *)(intptr_t)now_ms);
    if (mp_map_len(&auth->revoked) >= auth->revoked_prune_at)
        mp_auth__revoked_prune(auth, now_ms);
}

void mp_auth__revoke(mp_auth_t *auth, uint64_t device_id)
{
    mp_auth__revoked_add(auth, device_id, mp_now_ms());
    if (auth->ctx && auth->ctx->hub)
        mp_hub_close_device(auth->ctx->hub, device_id);
}

bool mp_auth__disabled(const mp_auth_t *auth, uint64_t user_id)
{
    return auth->ctx != NULL && mp_userflags_has(auth->ctx->flags, user_id, MP_UF_DISABLED);
}

void mp_auth_close_user(mp_auth_t *auth, uint64_t user_id)
{
    if (auth->ctx != NULL && auth->ctx->hub != NULL)
        mp_hub_close_user(auth->ctx->hub, user_id, 1008, "account disabled");
}

void mp_auth_revoke_device(mp_auth_t *auth, uint64_t device_id)
{
    mp_auth__revoke(auth, device_id);
}

void mp_auth_revoked_elsewhere(mp_auth_t *auth, uint64_t device_id)
{
    mp_auth__revoked_add(auth, device_id, mp_now_ms());
}

static void mp_auth__revoked_load_one(uint64_t device_id, void *ud)
{
    mp_auth_t *auth = ud;
    mp_auth__revoked_add(auth, device_id, mp_now_ms());
}

/* ---- lifecycle ------------------------------------------------------------ */

/* The limits that protect accounts hold across a cluster (core/hub.h). */
static mp_hub_t *hub_of(const mp_auth_t *auth)
{
    return auth->ctx != NULL ? auth->ctx->hub : NULL;
}

static void mp_auth__share_limits(mp_auth_t *auth, bool on)
{
    mp_hub_t *hub = hub_of(auth);
    if (hub == NULL)
        return;
    mp_hub_share_limit(hub, MP_HUB_LIMIT_LOGIN_USER, on ? auth->login_by_user : NULL);
    mp_hub_share_limit(hub, MP_HUB_LIMIT_LOGIN_IP, on ? auth->login_by_ip : NULL);
    mp_hub_share_limit(hub, MP_HUB_LIMIT_REGISTER_IP, on ? auth->register_by_ip : NULL);
    mp_hub_share_limit(hub, MP_HUB_LIMIT_GUEST_IP, on ? auth->guest_by_ip : NULL);
}

mp_auth_t *mp_auth__create(const mp_module_ctx_t *ctx, const uint8_t secret[MP_AUTH_SECRET_LEN])
{
    mp_auth_t *auth = mp_calloc(1, sizeof(*auth));
    const mp_config_t *cfg = ctx ? ctx->cfg : NULL;
    unsigned rate = cfg ? cfg->login_rate_per_min : 10;

    auth->ctx = ctx;
    memcpy(auth->secret, secret, MP_AUTH_SECRET_LEN);
    auth->ttl_s = cfg ? cfg->access_token_ttl_s : 900;
    mp_map_init(&auth->revoked);
    mp_map_init(&auth->exports);
    auth->revoked_prune_at = 64;
    if (rate > 0) {
        auth->login_by_user = mp_ratelimit_new(rate, rate / 60.0, MP_AUTH_LIMIT_KEYS);
        auth->login_by_ip = mp_ratelimit_new(rate, rate / 60.0, MP_AUTH_LIMIT_KEYS);
    }
    auth->touch = mp_ratelimit_new(1, 1000.0 / MP_AUTH_TOUCH_EVERY_MS, MP_AUTH_LIMIT_KEYS);
    unsigned guest_rate = cfg && cfg->guest_rate_per_min ? cfg->guest_rate_per_min : 10;
    auth->guest_by_ip = mp_ratelimit_new(guest_rate, guest_rate / 60.0, MP_AUTH_LIMIT_KEYS);
    unsigned reg_rate = cfg && cfg->register_rate_per_min ? cfg->register_rate_per_min : 5;
    auth->register_by_ip = mp_ratelimit_new(reg_rate, reg_rate / 60.0, MP_AUTH_LIMIT_KEYS);
    if (ctx && ctx->loop)
        auth->pw = mp_auth__pwpool_new(ctx->loop, MP_AUTH_PW_PARALLEL, MP_AUTH_PW_QUEUE);
    mp_auth__share_limits(auth, true);
    return auth;
}

mp_auth_t *mp_auth_new(const mp_module_ctx_t *ctx, char *err, size_t errlen)
{
    uint8_t secret[MP_AUTH_SECRET_LEN];
    mp_auth_t *auth = NULL;

    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        return NULL;
    }
    if (mp_auth__secret_load(ctx->cfg->data_dir, secret, err, errlen) != MP_OK)
        return NULL;
    auth = mp_auth__create(ctx, secret);
    sodium_memzero(secret, sizeof(secret));
    if (ctx->store) {
        int64_t since = mp_now_ms() - (int64_t)auth->ttl_s * 1000 - 60000;
        if (mp_store_revoked_since(ctx->store, since, mp_auth__revoked_load_one, auth) != MP_OK) {
            snprintf(err, errlen, "cannot load revoked devices from the store");
            mp_auth_free(auth);
            return NULL;
        }
    }
    return auth;
}

void mp_auth_free(mp_auth_t *auth)
{
    if (!auth)
        return;
    mp_auth__share_limits(auth, false);
    mp_auth__exports_free(auth);
    mp_map_free(&auth->exports);
    mp_auth__pwpool_free(auth->pw);
    mp_ratelimit_free(auth->login_by_user);
    mp_ratelimit_free(auth->login_by_ip);
    mp_ratelimit_free(auth->touch);
    mp_ratelimit_free(auth->guest_by_ip);
    mp_ratelimit_free(auth->register_by_ip);
    mp_map_free(&auth->revoked);
    sodium_memzero(auth->secret, sizeof(auth->secret));
    mp_free(auth);
}

/* Records that the device was seen (for GET /v1/devices), throttled so that a
 * busy device costs one store write a minute, not one per request. */
static void mp_auth__touch(mp_auth_t *auth, uint64_t device_id)
{
    int64_t now = mp_mono_ms();

    if (!auth->ctx || !auth->ctx->store)
        return;
    if (mp_ratelimit_take(auth->touch, device_id, now, NULL)) {
        /* Best effort: a full store queue only means last_seen_at is a bit stale. */
        mp_err_t queued =
            mp_store_device_touch(auth->ctx->store, device_id, mp_now_ms(), NULL, NULL);
        (void)queued;
    }
}

/* ---- tokens ------------------------------------------------------------------ */

mp_err_t mp_auth_authenticate(mp_auth_t *auth, const char *token, mp_principal_t *who)
{
    mp_principal_t p;

    /* A token is honoured for at most the current access_token_ttl from its
     * iat, even if it was issued under a longer ttl (its exp says more): the
     * revocations we keep (loaded at start, dropped by the rebuild) cover
     * exactly the last ttl, so a token older than that could belong to a
     * device whose revocation we no longer remember. Keeping revocations for
     * the longest ttl ever used instead would need that maximum stored and
     * would keep up to 30 days of them in memory; clients refresh on 401
     * anyway. */
    if (!auth ||
        mp_auth__jwt_verify_age(auth->secret, token, mp_now_ms() / 1000, auth->ttl_s, &p) != MP_OK)
        return MP_ERR_UNAUTHORIZED;
    if (mp_auth__is_revoked(auth, p.device_id))
        return MP_ERR_UNAUTHORIZED;
    if (mp_auth__disabled(auth, p.user_id))
        return MP_ERR_ACCOUNT_DISABLED;
    mp_auth__touch(auth, p.device_id);
    *who = p;
    return MP_OK;
}

char *mp_auth_issue_token(mp_auth_t *auth, uint64_t user_id, uint64_t device_id, bool guest)
{
    return mp_auth__jwt_issue(auth->secret, user_id, device_id, guest, mp_now_ms() / 1000,
                              auth->ttl_s);
}

json_t *mp_auth__pair_json(mp_auth_t *auth, uint64_t user_id, uint64_t device_id, bool guest,
                           const char *refresh_token)
{
    char uid[MP_ID_STRLEN], did[MP_ID_STRLEN];
    char *access = mp_auth_issue_token(auth, user_id, device_id, guest);

    if (!access)
        return NULL;
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "user_id", mp_id_format(user_id, uid),
                  "device_id", mp_id_format(device_id, did), "access_token", access, "token_type",
                  "Bearer", "expires_in", (json_int_t)auth->ttl_s, "refresh_token", refresh_token);
    mp_free(access);
    return o;
}

/* ---- login limits -------------------------------------------------------------- */

unsigned mp_auth__login_limit(mp_auth_t *auth, const char *username_lc, uint64_t peer_key)
{
    int64_t now = mp_mono_ms(), wait_user = 0, wait_ip = 0;

    if (!auth->login_by_user)
        return 0;
    /* Both buckets are charged: every attempt counts against each. Names
     * are keyed by a 64-bit hash: two names that collide share a bucket,
     * which only makes their limit stricter. */
    bool ok_user = mp_hub_limit_take(hub_of(auth), MP_HUB_LIMIT_LOGIN_USER, auth->login_by_user,
                                     mp_ratelimit_key_str(username_lc), now, &wait_user);
    bool ok_ip = mp_hub_limit_take(hub_of(auth), MP_HUB_LIMIT_LOGIN_IP, auth->login_by_ip, peer_key,
                                   now, &wait_ip);
    if (ok_user && ok_ip)
        return 0;
    int64_t wait = ok_user ? wait_ip
                   : ok_ip ? wait_user
                           : (wait_user > wait_ip ? wait_user : wait_ip);
    return (unsigned)((wait + 999) / 1000);
}

unsigned mp_auth__register_limit(mp_auth_t *auth, uint64_t peer_key)
{
    int64_t wait = 0;
    if (mp_hub_limit_take(hub_of(auth), MP_HUB_LIMIT_REGISTER_IP, auth->register_by_ip, peer_key,
                          mp_mono_ms(), &wait))
        return 0;
    return (unsigned)((wait + 999) / 1000);
}
