/* POST /v1/auth/guest {"display_name"}: a guest account and its device in
 * one store write, answered with a token pair like login plus "guest":true.
 * Guests have no password (they can never log in), a generated username
 * "guest_<id>", may only use the world room, and are deleted by the sweep
 * (auth/sweep.c) after guest_ttl seconds of inactivity. */
#include "auth/auth_int.h"

#include <sodium.h>
#include <stdio.h>

#include "proto/validate.h"
#include "store/world.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"

#define MP_AUTH_GUEST_DEVICE_NAME "guest"

typedef struct guest_ctx {
    mp_http_req_t *req;
    mp_auth_t *auth;
    mp_user_row_t user;
    mp_device_row_t dev;
    char refresh[MP_AUTH_REFRESH_LEN + 1];
    uint8_t refresh_hash[MP_TOKEN_HASH_LEN];
} guest_ctx_t;

static void guest_finish(guest_ctx_t *ctx, mp_err_t rc)
{
    json_t *out = NULL;
    if (rc == MP_OK) {
        out = mp_auth__pair_json(ctx->auth, ctx->user.id, ctx->dev.id, true, ctx->refresh);
        if (out == NULL)
            rc = MP_ERR_INTERNAL;
    }
    if (rc == MP_OK) {
        json_object_set_new(out, "guest", json_true());
        mp_http_respond(ctx->req, 200, out);
    } else {
        /* A taken "guest_<id>" name means a fresh id collided with a
         * registered name: rare enough to report as a retryable failure. */
        mp_http_respond_error(ctx->req, rc == MP_ERR_USERNAME_TAKEN ? MP_ERR_UNAVAILABLE : rc,
                              NULL);
    }
    sodium_memzero(ctx->refresh, sizeof ctx->refresh);
    mp_free(ctx);
}

static void guest_created(mp_err_t rc, void *ud)
{
    guest_finish(ud, rc);
}

/* Answers 429 and returns false when this IP created too many guests. */
static bool guest_rate_ok(mp_http_req_t *req, mp_auth_t *auth)
{
    int64_t wait_ms = 0;
    mp_hub_t *hub = auth->ctx != NULL ? auth->ctx->hub : NULL;
    if (mp_hub_limit_take(hub, MP_HUB_LIMIT_GUEST_IP, auth->guest_by_ip, mp_http_req_peer_key(req),
                          mp_mono_ms(), &wait_ms))
        return true;
    mp_http_respond_retry(req, MP_ERR_RATE_LIMITED, "too many guest accounts from this address",
                          (unsigned)((wait_ms + 999) / 1000));
    return false;
}

/* Cleans the display name into out; answers 400 and returns false if invalid. */
static bool guest_display_name(mp_http_req_t *req, char *out, size_t outlen)
{
    static const mp_field_t fields[] = {
        {"display_name", MP_F_STRING, true, 0, 0},
        {0},
    };
    char msg[200] = "";
    json_t *body = mp_http_req_json(req);
    if (mp_validate(body, fields, msg, sizeof msg) != MP_OK) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, msg[0] ? msg : NULL);
        return false;
    }
    json_t *v = json_object_get(body, "display_name");
    if (mp_auth__label_clean(json_string_value(v), json_string_length(v), out, outlen))
        return true;
    snprintf(msg, sizeof msg, MP_AUTH_LABEL_RULE, "display_name", MP_AUTH_LABEL_MAX_CHARS);
    mp_http_respond_error(req, MP_ERR_BAD_REQUEST, msg);
    return false;
}

void mp_auth__h_guest(mp_http_req_t *req)
{
    mp_auth_t *auth = mp_auth__of(req);
    const mp_module_ctx_t *mod_ctx = auth->ctx;
    if (mod_ctx->cfg->guests == MP_GUESTS_OFF) {
        mp_http_respond_error(req, MP_ERR_GUEST_FORBIDDEN, "guest accounts are disabled");
        return;
    }
    guest_ctx_t *ctx = mp_calloc(1, sizeof *ctx);
    ctx->req = req;
    ctx->auth = auth;
    if (!guest_display_name(req, ctx->user.display_name, sizeof ctx->user.display_name) ||
        !guest_rate_ok(req, auth)) {
        mp_free(ctx);
        return;
    }
    int64_t now = mp_now_ms();
    char id[MP_ID_STRLEN];
    ctx->user.id = mp_id_next();
    ctx->user.guest = true;
    ctx->user.created_at = now;
    snprintf(ctx->user.username, sizeof ctx->user.username, "guest_%s",
             mp_id_format(ctx->user.id, id));
    ctx->dev.id = mp_id_next();
    ctx->dev.user_id = ctx->user.id;
    ctx->dev.created_at = ctx->dev.last_seen_at = now;
    snprintf(ctx->dev.name, sizeof ctx->dev.name, "%s", MP_AUTH_GUEST_DEVICE_NAME);
    mp_auth__refresh_new(ctx->refresh, ctx->refresh_hash);
    mp_err_t rc = mp_store_guest_create(mod_ctx->store, &ctx->user, &ctx->dev, ctx->refresh_hash,
                                        guest_created, ctx);
    if (rc != MP_OK)
        guest_finish(ctx, rc);
}
