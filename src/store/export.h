/* The reads of a user's data export (GET /v1/me/export): the profile, then
 * every list in pages with a keyset cursor, so that the caller never holds
 * more than a page however much there is.
 *
 * Same contract as store.h: asynchronous ops return MP_OK when queued (the
 * callback runs later on the loop thread) or MP_ERR_UNAVAILABLE when the
 * queue is full (the callback is then NOT called). Rows given to callbacks
 * are borrowed and valid only until the callback returns. */
#ifndef MP_STORE_EXPORT_H
#define MP_STORE_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/chat.h"
#include "store/store.h"

/* The account as its owner sees it. */
typedef struct mp_export_profile {
    uint64_t id;
    const char *username, *display_name, *bio;
    const char *email; /* NULL = none */
    bool email_pending, guest, admin;
    uint64_t avatar_file_id; /* 0 = none */
    int64_t created_at, deleted_at;
    int priv_message, priv_presence, priv_search,
        priv_groups; /* 0 everyone, 1 contacts, 2 nobody */
    bool no_receipts;
} mp_export_profile_t;

typedef void (*mp_export_profile_fn)(mp_err_t rc, const mp_export_profile_t *p, void *ud);

/* Reads user_id's profile. MP_ERR_NOT_FOUND for an unknown user. */
mp_err_t mp_store_export_profile(mp_store_t *st, uint64_t user_id, mp_export_profile_fn cb,
                                 void *ud) __attribute__((warn_unused_result));

typedef enum mp_export_list {
    MP_EXPORT_DEVICES,       /* every device, revoked ones too, by id */
    MP_EXPORT_CONTACTS,      /* contact rows in a state other than 0, by peer id */
    MP_EXPORT_BLOCKS,        /* users the user blocked, by id */
    MP_EXPORT_CONVERSATIONS, /* conversations the user is a member of, by id */
    MP_EXPORT_MESSAGES,      /* the user's own messages (not deleted for everyone, not system
                                messages) in every conversation, world room included */
} mp_export_list_t;

/* One row of a list; what each field holds depends on the list:
 *            id            ref           at          at2           at3       name       text extra
 * DEVICES    device        -             created_at  last_seen_at  revoked_at device name - -
 * CONTACTS   peer          -             created_at  updated_at    state     username   message   -
 * BLOCKS     blocked user  -             created_at  -             -         username   -         -
 * CONVERS.   conversation  direct peer   joined_at   -             -         kind       title role
 * MESSAGES   message       conversation  created_at  edited_at     seq       kind       text
 * content (direct peer: 0 unless kind is "direct"; text of a direct conversation: the peer's
 * username; content: JSON text or NULL; ref2: messages' reply_to.) */
typedef struct mp_export_row {
    uint64_t id, ref, ref2;
    int64_t at, at2, at3;
    const char *name, *text, *extra;
} mp_export_row_t;

/* Where a page starts: after the last row of the previous one (zeroed: from
 * the beginning). Messages are paged in the order of the (sender, device,
 * client_msg_id) index, so no new index is needed: not in time order. */
typedef struct mp_export_cursor {
    uint64_t id;
    int64_t device;
    char cmid[MP_CHAT_CMID_MAX + 1];
} mp_export_cursor_t;

/* more: the list may go on from *next. */
typedef void (*mp_export_page_fn)(mp_err_t rc, const mp_export_row_t *rows, size_t n, bool more,
                                  const mp_export_cursor_t *next, void *ud);

/* Reads one page of list for user_id from *from: at most limit rows and,
 * after the first, about max_bytes of strings, in one read job. */
mp_err_t mp_store_export_page(mp_store_t *st, uint64_t user_id, mp_export_list_t list,
                              const mp_export_cursor_t *from, unsigned limit, size_t max_bytes,
                              mp_export_page_fn cb, void *ud) __attribute__((warn_unused_result));

#endif
