/* People: profiles and user search, contacts (mutual, through friend
 * requests), blocking and the privacy settings, over HTTP, with events to
 * the users concerned. Rules that must hold against races (a block, a
 * privacy setting) are checked by the store inside the write they govern;
 * this module changes and reads them. */
#ifndef MP_PEOPLE_PEOPLE_H
#define MP_PEOPLE_PEOPLE_H

#include "core/module.h"
#include "net/http.h"
#include "store/deletion.h"

typedef struct mp_people mp_people_t;

/* Creates the module (ctx must outlive it; it is the module state of
 * mp_people_routes). Never returns NULL. */
mp_people_t *mp_people_new(const mp_module_ctx_t *ctx);
/* NULL is ignored. */
void mp_people_free(mp_people_t *people);

/* An account was deleted (auth's deletion hook, wired by app): each peer
 * whose contact entry with it went to none gets the `contact` event. */
void mp_people_account_deleted(mp_people_t *people, const mp_account_delete_out_t *out);

/* HTTP routes, ended by a zeroed entry (docs/protocol.md, "People"). */
extern const mp_route_t mp_people_routes[];

#endif
