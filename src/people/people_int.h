/* Internals shared by the files of the people module: its state and the
 * route handlers. */
#ifndef MP_PEOPLE_PEOPLE_INT_H
#define MP_PEOPLE_PEOPLE_INT_H

#include "people/people.h"
#include "proto/contact.h"
#include "util/ratelimit.h"

struct mp_people {
    const mp_module_ctx_t *ctx;
    mp_ratelimit_t *search_limit; /* user search, per user (profile.c) */
};

/* The mp_people_t of the request's route. */
mp_people_t *mp_people__of(mp_http_req_t *req);

/* Contacts (contacts.c). */
/* The `contact` event with entry c as user c->user_id sees it, to every
 * session of that user (for every change of a side: also a block's). */
void mp_people__contact_push(const mp_module_ctx_t *ctx, const mp_contact_t *c);
void mp_people__route_contact_request(mp_http_req_t *req);
void mp_people__route_contact_requests(mp_http_req_t *req);
void mp_people__route_contact_accept(mp_http_req_t *req);
void mp_people__route_contact_decline(mp_http_req_t *req);
void mp_people__route_contact_cancel(mp_http_req_t *req);
void mp_people__route_contacts(mp_http_req_t *req);
void mp_people__route_contact_remove(mp_http_req_t *req);

#endif
