/* The routing table: which WebSocket sessions are online for which user and
 * device. Owned by the core loop; no locks. Presence (first device in, last
 * device out) is derived from it. */
#ifndef MP_CORE_HUB_H
#define MP_CORE_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/gw.h"
#include "proto/principal.h"

typedef struct mp_hub mp_hub_t;

/* Called when a user's first session opens (online=true) or last closes. */
typedef void (*mp_hub_presence_fn)(void *ud, uint64_t user_id, bool online);

mp_hub_t *mp_hub_new(mp_server_t *srv);
void mp_hub_free(mp_hub_t *hub);
void mp_hub_on_presence(mp_hub_t *hub, mp_hub_presence_fn fn, void *ud);

void mp_hub_add(mp_hub_t *hub, mp_sid_t sid, const mp_principal_t *who);
void mp_hub_remove(mp_hub_t *hub, mp_sid_t sid, const mp_principal_t *who);

/* Sends f to every session of user_id except `except` (0 = none). */
void mp_hub_push_user(mp_hub_t *hub, uint64_t user_id, mp_frame_t *f, mp_sid_t except);
/* Sends f to every session of every user except skip_user (0 = none): the
 * world room's fan-out. Cost: one pass over the table plus one queued write
 * per session. */
void mp_hub_push_all(mp_hub_t *hub, mp_frame_t *f, uint64_t skip_user);
/* The same, skipping every user of skip[0..n_skip) (ascending, no
 * duplicates): the world room's fan-out when some users get another frame
 * (the mentioned ones). */
void mp_hub_push_all_except(mp_hub_t *hub, mp_frame_t *f, const uint64_t *skip, size_t n_skip);
/* Number of sessions in the table. */
size_t mp_hub_total_sessions(const mp_hub_t *hub);
/* Closes every session of a device (revocation): close 1008 "device revoked". */
void mp_hub_close_device(mp_hub_t *hub, uint64_t device_id);
/* Closes every session of a user (an account disabled or deleted) with the
 * given WebSocket close code and reason, within this loop turn. */
void mp_hub_close_user(mp_hub_t *hub, uint64_t user_id, int code, const char *reason);
/* True while the user has at least one session. */
bool mp_hub_online(const mp_hub_t *hub, uint64_t user_id);
/* Number of sessions of user_id (0 if offline). */
size_t mp_hub_sessions(const mp_hub_t *hub, uint64_t user_id);
/* Calls fn for each session of user_id. */
void mp_hub_each(const mp_hub_t *hub, uint64_t user_id,
                 void (*fn)(mp_sid_t sid, uint64_t device_id, void *ud), void *ud);

#endif
