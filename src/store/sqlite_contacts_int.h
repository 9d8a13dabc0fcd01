/* Internal to src/store: the contacts' part of `sync` (sqlite_chat.c), read
 * by sqlite_contacts.c in the sync's own read transaction. */
#ifndef MP_STORE_SQLITE_CONTACTS_INT_H
#define MP_STORE_SQLITE_CONTACTS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/contacts.h"
#include "store/sql.h"

/* The user's contact entries with a version above since, in version order:
 * at most max of them (and never a part of one version). When there are
 * more, *ceiling drops below the first version left out (every entry at or
 * below *ceiling was read), so that the page ends before it. *rows (mp_free)
 * and *n get what was read. */
mp_err_t mp_sqlite__contacts_since(mp_sql_conn_t *db, uint64_t user, int64_t since, size_t max,
                                   mp_contact_t **rows, size_t *n, int64_t *ceiling)
    __attribute__((warn_unused_result));

/* Writer only, inside another write job that ends every relation between
 * users a and b (a block, an account deletion): each side that is not
 * none yet becomes none, stamped with *v (0: the next global change
 * version is taken here, when anything changes, and left in *v). Each
 * entry gets that user's side as it is afterwards; *changed_a / *changed_b
 * say which sides changed: those users' devices are told (people's
 * `contact` event). Either entry pointer may be NULL. */
mp_err_t mp_sqlite__contacts_end(mp_sql_conn_t *db, uint64_t a, uint64_t b, int64_t now, int64_t *v,
                                 mp_contact_t *side_a, bool *changed_a, mp_contact_t *side_b,
                                 bool *changed_b) __attribute__((warn_unused_result));

#endif
