/* Internal to src/store: the contacts' part of `sync` (sqlite_chat.c), read
 * by sqlite_contacts.c in the sync's own read transaction. */
#ifndef MP_STORE_SQLITE_CONTACTS_INT_H
#define MP_STORE_SQLITE_CONTACTS_INT_H

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

#endif
