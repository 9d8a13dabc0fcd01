/* Internals shared by the files of the people module: its state and the
 * route handlers. */
#ifndef MP_PEOPLE_PEOPLE_INT_H
#define MP_PEOPLE_PEOPLE_INT_H

#include "people/people.h"
#include "util/ratelimit.h"

struct mp_people {
    const mp_module_ctx_t *ctx;
    mp_ratelimit_t *search_limit; /* user search, per user (profile.c) */
};

/* The mp_people_t of the request's route. */
mp_people_t *mp_people__of(mp_http_req_t *req);

/* Contacts (contacts.c). */
void mp_people__route_contact_request(mp_http_req_t *req);
void mp_people__route_contact_requests(mp_http_req_t *req);
void mp_people__route_contact_accept(mp_http_req_t *req);
void mp_people__route_contact_decline(mp_http_req_t *req);
void mp_people__route_contact_cancel(mp_http_req_t *req);
void mp_people__route_contacts(mp_http_req_t *req);
void mp_people__route_contact_remove(mp_http_req_t *req);

#endif
