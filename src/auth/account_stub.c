/* Placeholders for the account operations not written yet, so that every
 * layer links. Each one moves to its own file when it is written. */
#include "auth/auth_int.h"

mp_err_t mp_auth_set_password(mp_auth_t *auth, uint64_t user_id, const char *password,
                              size_t password_len, uint64_t keep_device, mp_auth_done_fn cb,
                              void *ud)
{
    (void)auth, (void)user_id, (void)password, (void)password_len, (void)keep_device;
    (void)cb, (void)ud;
    return MP_ERR_INTERNAL;
}

mp_err_t mp_auth_delete_account(mp_auth_t *auth, uint64_t user_id, mp_auth_done_fn cb, void *ud)
{
    (void)auth, (void)user_id, (void)cb, (void)ud;
    return MP_ERR_INTERNAL;
}
