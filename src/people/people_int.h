/* Internals shared by the files of the people module: its state, the route
 * handlers and the public profile object. */
#ifndef MP_PEOPLE_PEOPLE_INT_H
#define MP_PEOPLE_PEOPLE_INT_H

#include <jansson.h>

#include "people/people.h"
#include "proto/contact.h"
#include "store/people.h"
#include "util/ratelimit.h"

struct mp_people {
    const mp_module_ctx_t *ctx;
    mp_ratelimit_t *search_limit; /* user search, per user (search.c) */
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
/* The public profile object (docs/protocol.md, "Profiles"): a deleted
 * account shows as "Deleted account" without bio or avatar. New reference. */
json_t *mp_people__profile_json(const mp_profile_row_t *p);

/* Routes (profile.c). */
void mp_people__route_me_patch(mp_http_req_t *req);
void mp_people__route_user(mp_http_req_t *req);
void mp_people__route_by_username(mp_http_req_t *req);
/* Route (search.c). */
void mp_people__route_search(mp_http_req_t *req);

/* ---- blocking and privacy (blocks.c, privacy.c) ---------------------------- */

void mp_people__route_block(mp_http_req_t *req);
void mp_people__route_unblock(mp_http_req_t *req);
void mp_people__route_blocks(mp_http_req_t *req);
void mp_people__route_privacy_get(mp_http_req_t *req);
void mp_people__route_privacy_patch(mp_http_req_t *req);
/* After a change of who may see user's presence (their presence setting, a
 * block or an unblock by them) while they are online: each online peer
 * gets the presence they may see now — online, or offline with no
 * last_seen_at — so nobody keeps showing an "online" they may no longer
 * see, and nobody newly let in waits for the next change (privacy.c). */
void mp_people__presence_refresh(const mp_module_ctx_t *ctx, uint64_t user);

/* Paging of lists (blocks.c): limit "1".."max" in decimal; a cursor is
 * "<at>.<id>", the position of the last row of the previous page. */
bool mp_people__limit_parse(const char *s, unsigned max, unsigned *out);
void mp_people__cursor_format(int64_t at, uint64_t id, char *out, size_t len);
bool mp_people__cursor_parse(const char *s, int64_t *at, uint64_t *id);

#endif
