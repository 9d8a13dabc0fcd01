/* What makes a username, password, display name or device name acceptable. */
#include "auth/auth_int.h"

#include <string.h>

#include "proto/names.h"

mp_err_t mp_auth__username_norm(const char *in, size_t len, char out[MP_USERNAME_MAX + 1])
{
    mp_err_t rc = mp_name_username_norm(in, len, out);
    if (rc != MP_OK)
        return rc;
    /* "deleted_<digits>" is what a deleted account's username becomes once
     * its grace period ends (store/deletion.h): nobody may take it first. */
    static const char freed[] = "deleted_";
    if (len > sizeof freed - 1 && memcmp(out, freed, sizeof freed - 1) == 0 &&
        strspn(out + sizeof freed - 1, "0123456789") == len - (sizeof freed - 1))
        return MP_ERR_BAD_USERNAME;
    return MP_OK;
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
