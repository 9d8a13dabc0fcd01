/* Contacts: mutual friendships made through requests (docs/protocol.md
 * "Contacts"). Two rows per pair of users, one per side (proto/contact.h);
 * every change stamps the rows it changes with the next global change
 * version, so `sync` carries it to the users' other devices (tombstones of
 * state none included).
 *
 * A request to a user who blocked the requester is stored on the
 * requester's side only: it looks pending to them and never reaches the
 * blocker (no row, no event). That check runs inside the write job, so a
 * block can never race a request. */
#ifndef MP_STORE_CONTACTS_H
#define MP_STORE_CONTACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/contact.h"
#include "store/store.h"

#define MP_CONTACT_LIST_MAX 100 /* entries per list page */

typedef enum {
    /* Ask the peer (message optional). Outgoing or friends already: no
     * change. Incoming (the peer asked first): the same as accept. */
    MP_CONTACT_OP_REQUEST,
    MP_CONTACT_OP_ACCEPT,  /* incoming → friends on both sides */
    MP_CONTACT_OP_DECLINE, /* incoming → none on both sides */
    MP_CONTACT_OP_CANCEL,  /* outgoing → none on both sides */
    MP_CONTACT_OP_REMOVE,  /* friends → none on both sides */
} mp_contact_op_t;

typedef struct mp_contact_change {
    mp_contact_t mine;   /* the actor's side, after the op */
    mp_contact_t theirs; /* the peer's side, after the op (valid when delivered) */
    bool changed;        /* the actor's side changed (false: a repeat, nothing written) */
    /* The peer's side changed: their devices are told. False for a repeat,
     * and for a request to a user who blocked the actor. */
    bool delivered;
} mp_contact_change_t;

typedef void (*mp_contact_change_fn)(mp_err_t rc, const mp_contact_change_t *out, void *ud);

/* Applies op for user_id towards the peer, named by peer_id, or (peer_id 0)
 * by peer_username. message: a request's message (NULL or "" = none; at most
 * MP_CONTACT_MESSAGE_MAX characters, checked by the caller); ignored by the
 * other ops.
 * Errors: MP_ERR_NOT_FOUND when the peer does not exist (or is deleted or
 * not yet verified, for a request) or, for accept / decline / cancel /
 * remove, when the actor's side is in another non-none state than the op
 * starts from (no such request, not friends); MP_ERR_BAD_REQUEST when the
 * peer is the user; MP_ERR_GUEST_FORBIDDEN when a request names a guest.
 * Decline, cancel and remove of a relation that is already none are
 * repeats: MP_OK with changed false. */
mp_err_t mp_store_contact_change(mp_store_t *st, mp_contact_op_t op, uint64_t user_id,
                                 uint64_t peer_id, const char *peer_username, const char *message,
                                 int64_t now_ms, mp_contact_change_fn cb, void *ud)
    __attribute__((warn_unused_result));

typedef struct mp_contact_page {
    const mp_contact_t *v; /* newest change first: updated_at, then peer_id, descending */
    size_t n;
    bool has_more; /* ask again after the last entry */
} mp_contact_page_t;

typedef void (*mp_contact_page_fn)(mp_err_t rc, const mp_contact_page_t *page, void *ud);

/* The user's entries in state (outgoing, incoming or friends), newest change
 * first, strictly after the entry (after_updated, after_peer) in that order
 * (after_updated INT64_MAX: from the start); at most limit (1 to
 * MP_CONTACT_LIST_MAX) entries. */
mp_err_t mp_store_contact_list(mp_store_t *st, uint64_t user_id, mp_contact_state_t state,
                               int64_t after_updated, uint64_t after_peer, unsigned limit,
                               mp_contact_page_fn cb, void *ud) __attribute__((warn_unused_result));

#endif
