/* The routing table: which WebSocket sessions are online for which user and
 * device. Owned by the core loop; no locks. Presence (first device in, last
 * device out) is derived from it.
 *
 * Cluster: with a bus attached (mp_hub_attach_bus, bus = nats), the hub
 * covers every node and the rest of the code does not change: a push to a
 * user reaches the user's sessions on every node, the world room's fan-out
 * every node's sessions, a close every node's sessions, and online/presence
 * mean "somewhere in the cluster". What stays per node is said below
 * (session ids, mp_hub_sessions, mp_hub_each, mp_hub_total_sessions). How it
 * works (a directory of who is online where, one publish per node) is in
 * docs/cluster.md. */
#ifndef MP_CORE_HUB_H
#define MP_CORE_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "bus/bus.h"
#include "core/userflags.h"
#include "net/gw.h"
#include "proto/principal.h"
#include "util/ratelimit.h"

typedef struct mp_hub mp_hub_t;

/* Called when a user's first session opens (online=true) or last closes.
 * In a cluster: when the user's first session anywhere opens or the last one
 * anywhere closes, and on EVERY node (each one learns it from the
 * directory), so a hook that tells people must tell only this node's
 * sessions (mp_hub_push_local), or they would hear it once per node. */
typedef void (*mp_hub_presence_fn)(void *ud, uint64_t user_id, bool online);
/* Called when another node closed a device's sessions (device_id != 0: a
 * revocation, mp_hub_close_device there) or a user's (user_id != 0,
 * mp_hub_close_user there, with its code and reason), after this node closed
 * its own; what the closing node remembers (a revoked device) can be
 * remembered here too. */
typedef void (*mp_hub_closed_fn)(void *ud, uint64_t device_id, uint64_t user_id, int code,
                                 const char *reason);

mp_hub_t *mp_hub_new(mp_server_t *srv);
void mp_hub_free(mp_hub_t *hub);
void mp_hub_on_presence(mp_hub_t *hub, mp_hub_presence_fn fn, void *ud);
void mp_hub_on_remote_close(mp_hub_t *hub, mp_hub_closed_fn fn, void *ud);
/* Called when this node may have missed messages from the other nodes (its
 * bus link came up or back, it dropped some, or a node says it dropped some
 * it sent): what it learns only from them (user flags, revoked devices)
 * should be read again from the store. */
typedef void (*mp_hub_gap_fn)(void *ud);
void mp_hub_on_gap(mp_hub_t *hub, mp_hub_gap_fn fn, void *ud);

/* Makes the hub cluster-wide over bus (connected or not yet), as node
 * node_id: subscribes, says hello, keeps the directory of who is online on
 * which node, and carries flags' changes (mp_userflags_set) to the other
 * nodes and theirs into flags. Timers run on loop. Returns MP_OK or
 * MP_ERR_UNAVAILABLE when the bus refused a subscription. */
mp_err_t mp_hub_attach_bus(mp_hub_t *hub, uv_loop_t *loop, mp_bus_t *bus, unsigned node_id,
                           mp_userflags_t *flags) __attribute__((warn_unused_result));
/* Says goodbye (the other nodes forget this node's sessions at once) and
 * stops using the bus; the hub is one node's again. Call before closing the
 * bus; run the loop afterwards (handles close). */
void mp_hub_detach_bus(mp_hub_t *hub);

void mp_hub_add(mp_hub_t *hub, mp_sid_t sid, const mp_principal_t *who);
void mp_hub_remove(mp_hub_t *hub, mp_sid_t sid, const mp_principal_t *who);

/* True when this node should run the work that one node of a cluster is
 * enough for (the sweeps): no node it knows to be up has a lower node_id.
 * Always true on one node. Two nodes may both think so for a moment (at
 * start, across a partition): such work must stay harmless when run twice. */
bool mp_hub_leader(const mp_hub_t *hub);

/* False when this node cannot take part in its cluster any more (its bus
 * connection ended for good): /readyz reports it. Always true on one node. */
bool mp_hub_ready(const mp_hub_t *hub);

/* Rate limits that hold across the cluster: each node keeps its own
 * limiter, and every token a node takes is taken from the other nodes'
 * limiter of the same kind too (within a few ms: attempts on several nodes
 * at the same moment may pass a little over the limit). */
typedef enum {
    MP_HUB_LIMIT_LOGIN_USER,  /* logins per username */
    MP_HUB_LIMIT_LOGIN_IP,    /* logins per address */
    MP_HUB_LIMIT_REGISTER_IP, /* registrations per address */
    MP_HUB_LIMIT_GUEST_IP,    /* guest accounts per address */
    MP_HUB_LIMIT_WORLD_SLOW,  /* the world room's slow mode, per user */
    MP_HUB__LIMITS
} mp_hub_limit_t;
/* rl (NULL: none) is this node's limiter of that kind: what the other nodes
 * take is taken from it. rl must outlive the registration. */
void mp_hub_share_limit(mp_hub_t *hub, mp_hub_limit_t which, mp_ratelimit_t *rl);
/* mp_ratelimit_take on rl; a token taken is taken on the other nodes too.
 * hub may be NULL (then it is a plain take). */
bool mp_hub_limit_take(mp_hub_t *hub, mp_hub_limit_t which, mp_ratelimit_t *rl, uint64_t key,
                       int64_t now_ms, int64_t *retry_after_ms);

/* Sends f to every session of user_id except `except` (0 = none). A session
 * id names a session of THIS node: on the other nodes every session of the
 * user gets f. */
void mp_hub_push_user(mp_hub_t *hub, uint64_t user_id, mp_frame_t *f, mp_sid_t except);
/* The same, on this node's sessions only. */
void mp_hub_push_local(mp_hub_t *hub, uint64_t user_id, mp_frame_t *f, mp_sid_t except);
/* Sends f to every session of every user except skip_user (0 = none): the
 * world room's fan-out. Cost: one pass over the table plus one queued write
 * per session. */
void mp_hub_push_all(mp_hub_t *hub, mp_frame_t *f, uint64_t skip_user);
/* The same, skipping every user of skip[0..n_skip) (ascending, no
 * duplicates): the world room's fan-out when some users get another frame
 * (the mentioned ones). */
void mp_hub_push_all_except(mp_hub_t *hub, mp_frame_t *f, const uint64_t *skip, size_t n_skip);
/* Number of sessions on this node. */
size_t mp_hub_total_sessions(const mp_hub_t *hub);
/* Closes every session of a device (revocation): close 1008 "device revoked". */
void mp_hub_close_device(mp_hub_t *hub, uint64_t device_id);
/* Closes every session of a user (an account disabled or deleted) with the
 * given WebSocket close code and reason, within this loop turn. */
void mp_hub_close_user(mp_hub_t *hub, uint64_t user_id, int code, const char *reason);
/* True while the user has at least one session (on any node). */
bool mp_hub_online(const mp_hub_t *hub, uint64_t user_id);
/* True while the user has a session other than `except` (a session of this
 * node, 0 = none) on any node. */
bool mp_hub_online_except(const mp_hub_t *hub, uint64_t user_id, mp_sid_t except);
/* Number of sessions of user_id on this node (0 if none). */
size_t mp_hub_sessions(const mp_hub_t *hub, uint64_t user_id);
/* Calls fn for each session of user_id on this node. */
void mp_hub_each(const mp_hub_t *hub, uint64_t user_id,
                 void (*fn)(mp_sid_t sid, uint64_t device_id, void *ud), void *ud);

#endif
