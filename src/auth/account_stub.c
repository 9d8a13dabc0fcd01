/* Placeholders for the account operations not written yet, so that every
 * layer links. Each one moves to its own file when it is written. */
#include "auth/auth_int.h"

mp_err_t mp_auth_delete_account(mp_auth_t *auth, uint64_t user_id, mp_auth_done_fn cb, void *ud)
{
    (void)auth, (void)user_id, (void)cb, (void)ud;
    return MP_ERR_INTERNAL;
}
