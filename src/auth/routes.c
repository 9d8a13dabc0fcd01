/* The route table of the auth module (handlers in routes_account.c and
 * routes_devices.c). */
#include "auth/auth_int.h"

mp_auth_t *mp_auth__of(mp_http_req_t *req)
{
    return mp_http_req_mod(req);
}

const mp_route_t mp_auth_routes[] = {
    {"POST", "/v1/auth/register", MP_ROUTE_PUBLIC | MP_ROUTE_JSON, mp_auth__h_register},
    {"POST", "/v1/auth/login", MP_ROUTE_PUBLIC | MP_ROUTE_JSON, mp_auth__h_login},
    {"POST", "/v1/auth/refresh", MP_ROUTE_PUBLIC | MP_ROUTE_JSON, mp_auth__h_refresh},
    {"POST", "/v1/auth/guest", MP_ROUTE_PUBLIC | MP_ROUTE_JSON, mp_auth__h_guest},
    {"POST", "/v1/auth/verify-email", MP_ROUTE_PUBLIC | MP_ROUTE_JSON, mp_auth__h_verify_email},
    {"POST", "/v1/auth/resend-code", MP_ROUTE_PUBLIC | MP_ROUTE_JSON, mp_auth__h_resend_code},
    {"POST", "/v1/auth/password-reset", MP_ROUTE_PUBLIC | MP_ROUTE_JSON, mp_auth__h_password_reset},
    {"POST", "/v1/auth/password-reset/confirm", MP_ROUTE_PUBLIC | MP_ROUTE_JSON,
     mp_auth__h_password_reset_confirm},
    {"POST", "/v1/auth/logout", MP_ROUTE_AUTH | MP_ROUTE_GUEST_OK, mp_auth__h_logout},
    {"GET", "/v1/me", MP_ROUTE_AUTH | MP_ROUTE_GUEST_OK, mp_auth__h_me},
    {"POST", "/v1/me/password", MP_ROUTE_AUTH | MP_ROUTE_JSON, mp_auth__h_password_change},
    {"DELETE", "/v1/me", MP_ROUTE_AUTH | MP_ROUTE_JSON, mp_auth__h_delete_me},
    {"GET", "/v1/me/export", MP_ROUTE_AUTH, mp_auth__h_export},
    {"GET", "/v1/devices", MP_ROUTE_AUTH, mp_auth__h_devices},
    {"DELETE", "/v1/devices/{id}", MP_ROUTE_AUTH, mp_auth__h_device_delete},
    {0},
};
