/* A contact entry: one user's side of the relation with another user
 * (docs/protocol.md "Contacts"), as the store reads it and as clients
 * receive it, in the people routes, the `contact` event and `sync`.
 *
 * Contacts are mutual: a request leaves the requester's side `outgoing`
 * and the target's side `incoming`; an accept makes both `friends`; a
 * decline, cancel or removal makes both `none` again (kept, as a tombstone,
 * so that the users' other devices learn of it through sync).
 *
 * Here, below the store and the feature modules, because both the people
 * routes and the messaging module's `sync` encode it. */
#ifndef MP_PROTO_CONTACT_H
#define MP_PROTO_CONTACT_H

#include <jansson.h>
#include <stdint.h>

/* The user's side of the relation (the stored contacts.state). */
typedef enum {
    MP_CONTACT_NONE = 0,     /* no relation (any more) */
    MP_CONTACT_OUTGOING = 1, /* the user asked the peer */
    MP_CONTACT_INCOMING = 2, /* the peer asked the user */
    MP_CONTACT_FRIENDS = 3,  /* both agreed */
} mp_contact_state_t;

#define MP_CONTACT_MESSAGE_MAX 256 /* characters of a request's message */
#define MP_CONTACT_MESSAGE_BYTES (MP_CONTACT_MESSAGE_MAX * 4)
#define MP_CONTACT_USERNAME_BYTES 32 /* = MP_USERNAME_MAX (store.h) */
#define MP_CONTACT_NAME_BYTES 256    /* = MP_DISPLAY_NAME_MAX (store.h) */

/* One side: user_id's relation with peer_id, with the peer's names. */
typedef struct mp_contact {
    uint64_t user_id, peer_id;
    char username[MP_CONTACT_USERNAME_BYTES + 1]; /* the peer's */
    char display_name[MP_CONTACT_NAME_BYTES + 1]; /* the peer's */
    mp_contact_state_t state;
    char message[MP_CONTACT_MESSAGE_BYTES + 1]; /* the request's message, "" when none */
    int64_t created_at; /* ms: when the current relation began (the request) */
    int64_t updated_at; /* ms: its last change */
    int64_t version;    /* the global change version of its last change */
} mp_contact_t;

/* "none", "outgoing", "incoming", "friends". */
const char *mp_contact_state_name(mp_contact_state_t state);

/* The entry as clients receive it:
 * {"user":{"user_id","username","display_name"},"state","message",
 *  "created_at","updated_at"}. A new reference. */
json_t *mp_contact_json(const mp_contact_t *c);

#endif
