/* HTTP routes for a user's devices: list them, revoke one. */
#include "auth/auth_int.h"

#include "util/clock.h"
#include "util/id.h"

static mp_store_t *mp_auth__dev_store(mp_http_req_t *req)
{
    return mp_auth__of(req)->ctx->store;
}

/* ---- GET /v1/devices ------------------------------------------------------- */

static void mp_auth__devices_listed(mp_err_t rc, const mp_device_row_t *devs, size_t n, void *ud)
{
    mp_http_req_t *req = ud;
    uint64_t current = mp_http_req_principal(req)->device_id;
    char did[MP_ID_STRLEN];

    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, NULL);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I, s:b}", "device_id",
                                             mp_id_format(devs[i].id, did), "name", devs[i].name,
                                             "created_at", (json_int_t)devs[i].created_at,
                                             "last_seen_at", (json_int_t)devs[i].last_seen_at,
                                             "current", devs[i].id == current));
    mp_http_respond(req, 200, json_pack("{s:o}", "devices", arr));
}

void mp_auth__h_devices(mp_http_req_t *req)
{
    mp_err_t rc = mp_store_device_list(mp_auth__dev_store(req), mp_http_req_principal(req)->user_id,
                                       mp_auth__devices_listed, req);
    if (rc != MP_OK)
        mp_http_respond_error(req, rc, NULL);
}

/* ---- DELETE /v1/devices/{id} --------------------------------------------------- */

static void mp_auth__device_revoked(mp_err_t rc, void *ud)
{
    mp_http_req_t *req = ud;
    uint64_t id = 0;

    /* The id parsed before the store op; parse again rather than keep state. */
    if (rc == MP_OK && mp_id_parse(mp_http_req_param(req, "id"), &id)) {
        mp_auth__revoke(mp_auth__of(req), id);
        mp_http_respond(req, 204, NULL);
        return;
    }
    mp_http_respond_error(req, rc == MP_OK ? MP_ERR_INTERNAL : rc, NULL);
}

void mp_auth__h_device_delete(mp_http_req_t *req)
{
    const char *param = mp_http_req_param(req, "id");
    uint64_t id = 0;

    /* Malformed, unknown, revoked or someone else's: all look the same. */
    if (!param || !mp_id_parse(param, &id)) {
        mp_http_respond_error(req, MP_ERR_NOT_FOUND, NULL);
        return;
    }
    mp_err_t rc =
        mp_store_device_revoke(mp_auth__dev_store(req), mp_http_req_principal(req)->user_id, id,
                               mp_now_ms(), mp_auth__device_revoked, req);
    if (rc != MP_OK)
        mp_http_respond_error(req, rc, NULL);
}
