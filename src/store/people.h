/* People in the store: public profiles as one user sees another (with the
 * viewer's relation to them), changes of one's own profile, user search and
 * the audience of a profile change. Facts only: the wire shapes and the
 * English of a deleted account live in the people module. */
#ifndef MP_STORE_PEOPLE_H
#define MP_STORE_PEOPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/contact.h" /* mp_contact_state_t: contacts.state */
#include "store/store.h"

/* One user as the viewer sees them. */
typedef struct mp_profile_row {
    uint64_t id;
    char username[MP_USERNAME_MAX + 1];
    char display_name[MP_DISPLAY_NAME_MAX + 1];
    char bio[MP_BIO_MAX + 1];
    uint64_t avatar_file_id; /* 0 = none */
    int64_t created_at;
    bool guest;
    bool deleted;               /* deleted_at > 0 */
    mp_contact_state_t contact; /* the viewer's side of the relation (contacts.state) */
    bool blocked;               /* the VIEWER blocked this user (never the reverse) */
} mp_profile_row_t;

typedef void (*mp_people_profile_fn)(mp_err_t rc, const mp_profile_row_t *p, void *ud);

/* The profile of user id as viewer sees it (read). Pending accounts (e-mail
 * not verified) are not there yet: MP_ERR_NOT_FOUND, as for no user. Deleted
 * accounts are found, with deleted set. */
mp_err_t mp_store_people_by_id(mp_store_t *st, uint64_t viewer, uint64_t id,
                               mp_people_profile_fn cb, void *ud)
    __attribute__((warn_unused_result));
/* The same by username (any case; it is lower-cased). A deleted account
 * keeps its username only to reserve it: MP_ERR_NOT_FOUND, as for pending
 * accounts and names nobody has. */
mp_err_t mp_store_people_by_username(mp_store_t *st, uint64_t viewer, const char *username,
                                     mp_people_profile_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* A change of one's own profile: each set_* field says whether to write it. */
typedef struct mp_people_update {
    bool set_display_name, set_bio, set_avatar;
    const char *display_name; /* 1..MP_DISPLAY_NAME_MAX bytes, checked by the caller */
    const char *bio;          /* 0..MP_BIO_MAX bytes, checked by the caller */
    uint64_t avatar_file_id;  /* 0 clears; else the user's own upload of an image */
} mp_people_update_t;

/* The profile after the change and its audience (see mp_store_people_audience). */
typedef void (*mp_people_updated_fn)(mp_err_t rc, const mp_profile_row_t *p,
                                     const uint64_t *audience, size_t n, void *ud);
/* Writes the fields of u to user_id's row (write job; the display-name index
 * follows through the users_fts triggers) and reads back the profile and its
 * audience in the same transaction. The strings are copied. MP_ERR_NOT_FOUND
 * when the user does not exist or is deleted, or when a non-zero
 * avatar_file_id names no file user_id uploaded; MP_ERR_BAD_REQUEST when it
 * names one that is not an image (blob class). */
mp_err_t mp_store_people_update(mp_store_t *st, uint64_t user_id, const mp_people_update_t *u,
                                mp_people_updated_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* Who is told when user_id's profile changes (read): the users who share a
 * direct conversation or a group of at most MP_CHAT_PRESENCE_GROUP_MAX
 * members with them (the presence audience, store/chat.h), and every peer of
 * a contact row of theirs with state != 0. Each once, never user_id. */
typedef void (*mp_people_ids_fn)(mp_err_t rc, const uint64_t *ids, size_t n, void *ud);
mp_err_t mp_store_people_audience(mp_store_t *st, uint64_t user_id, mp_people_ids_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* ---- search ------------------------------------------------------------- */

#define MP_PEOPLE_SEARCH_Q_MAX 256     /* bytes of q (64 characters) */
#define MP_PEOPLE_SEARCH_CURSOR_MAX 48 /* bytes of a cursor */

typedef struct mp_people_search_in {
    uint64_t viewer;
    /* The query, trimmed, without a leading '@'. Its lower-case form is
     * matched as a username prefix when it could start a username; each of
     * its words as a display-name word prefix. */
    const char *q;
    unsigned limit; /* 1..50 */
    /* "" for the first page, else next_cursor of the previous page. */
    const char *cursor;
} mp_people_search_in_t;

typedef void (*mp_people_search_fn)(mp_err_t rc, const mp_profile_row_t *rows, size_t n,
                                    const char *next_cursor /* NULL at the end */, void *ud);
/* User search (read): the user whose username is q exactly first, then
 * username-prefix matches by username, then display-name matches (each word
 * of q a word prefix) by id, each user once. Never guests, deleted, disabled
 * or pending accounts, nor users whose priv_search excludes the viewer (1:
 * friends only, 2: nobody; the viewer always finds themselves). At most
 * limit rows; next_cursor continues. Returns MP_ERR_BAD_REQUEST at once
 * (cb is not called) for a cursor this function did not make. */
mp_err_t mp_store_people_search(mp_store_t *st, const mp_people_search_in_t *in,
                                mp_people_search_fn cb, void *ud)
    __attribute__((warn_unused_result));

#endif
