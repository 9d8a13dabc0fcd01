/* Module life of people, and its route table. */
#include "people/people_int.h"
#include "util/alloc.h"

/* Most users with a search bucket at once; an idle bucket refills and is
 * dropped first when the table is full. */
#define SEARCH_LIMIT_KEYS 65536

mp_people_t *mp_people_new(const mp_module_ctx_t *ctx)
{
    mp_people_t *people = mp_calloc(1, sizeof *people);
    people->ctx = ctx;
    unsigned rate = ctx->cfg ? ctx->cfg->user_search_rate : 1;
    unsigned burst = ctx->cfg ? ctx->cfg->user_search_burst : 30;
    people->search_limit = mp_ratelimit_new(burst ? burst : 1, rate ? rate : 1, SEARCH_LIMIT_KEYS);
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

/* The router prefers literal segments to parameters (net/router.c), so
 * "search" and "by-username" are never taken for an {id}. */
const mp_route_t mp_people_routes[] = {
    {"PATCH", "/v1/me", JSON, mp_people__route_me_patch},
    {"GET", "/v1/users/search", AUTH, mp_people__route_search},
    {"GET", "/v1/users/by-username/{name}", AUTH, mp_people__route_by_username},
    {"GET", "/v1/users/{id}", AUTH, mp_people__route_user},
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
