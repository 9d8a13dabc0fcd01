/* Module life of people, and its route table. */
#include "people/people_int.h"
#include "util/alloc.h"

mp_people_t *mp_people_new(const mp_module_ctx_t *ctx)
{
    mp_people_t *people = mp_calloc(1, sizeof *people);
    people->ctx = ctx;
    return people;
}

void mp_people_free(mp_people_t *people)
{
    if (people == NULL)
        return;
    mp_ratelimit_free(people->search_limit);
    mp_free(people);
}

mp_people_t *mp_people__of(mp_http_req_t *req)
{
    return mp_http_req_mod(req);
}

#define AUTH MP_ROUTE_AUTH
#define JSON (MP_ROUTE_AUTH | MP_ROUTE_JSON)

const mp_route_t mp_people_routes[] = {
    {"POST", "/v1/contacts/requests", JSON, mp_people__route_contact_request},
    {"GET", "/v1/contacts/requests", AUTH, mp_people__route_contact_requests},
    {"POST", "/v1/contacts/requests/{user_id}/accept", AUTH, mp_people__route_contact_accept},
    {"POST", "/v1/contacts/requests/{user_id}/decline", AUTH, mp_people__route_contact_decline},
    {"DELETE", "/v1/contacts/requests/{user_id}", AUTH, mp_people__route_contact_cancel},
    {"GET", "/v1/contacts", AUTH, mp_people__route_contacts},
    {"DELETE", "/v1/contacts/{user_id}", AUTH, mp_people__route_contact_remove},
    {"POST", "/v1/blocks", JSON, mp_people__route_block},
    {"DELETE", "/v1/blocks/{user_id}", AUTH, mp_people__route_unblock},
    {"GET", "/v1/blocks", AUTH, mp_people__route_blocks},
    {"GET", "/v1/me/privacy", AUTH, mp_people__route_privacy_get},
    {"PATCH", "/v1/me/privacy", JSON, mp_people__route_privacy_patch},
    {0},
};
