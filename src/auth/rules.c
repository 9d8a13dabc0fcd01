/* What makes a username, password, display name or device name acceptable. */
#include "auth/auth_int.h"

#include <string.h>

#include "proto/names.h"

mp_err_t mp_auth__username_norm(const char *in, size_t len, char out[MP_USERNAME_MAX + 1])
{
    return mp_name_username_norm(in, len, out);
}

mp_err_t mp_auth__password_check(size_t len)
{
    return (len >= MP_AUTH_PASSWORD_MIN && len <= MP_AUTH_PASSWORD_MAX) ? MP_OK
                                                                        : MP_ERR_WEAK_PASSWORD;
}

bool mp_auth__label_clean(const char *in, size_t len, char *out, size_t outlen)
{
    return mp_name_label_clean(in, len, out, outlen);
}
