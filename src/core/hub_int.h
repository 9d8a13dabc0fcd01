/* Internal to the hub: the routing table (hub.c) and its cluster side
 * (hub_cluster.c), which makes the table's answers and deliveries cover
 * every node when a bus is attached. */
#ifndef MP_CORE_HUB_INT_H
#define MP_CORE_HUB_INT_H

#include "bus/bus.h"
#include "core/hub.h"
#include "util/map.h"

typedef struct mp_hub_cluster mp_hub_cluster_t;

typedef struct {
    mp_sid_t sid;
    uint64_t device_id;
} hub_sess_t;

/* The sessions of one online user (n >= 1 while in the map). */
typedef struct {
    uint32_t n, cap;
    hub_sess_t v[];
} hub_user_t;

struct mp_hub {
    mp_server_t *srv;
    mp_map_t users; /* user id -> hub_user_t *: this node's sessions */
    size_t sessions;
    mp_hub_presence_fn presence;
    void *presence_ud;
    mp_hub_closed_fn closed;
    void *closed_ud;
    mp_hub_gap_fn gap;
    void *gap_ud;
    mp_hub_cluster_t *cl;                   /* NULL: one node (no bus) */
    mp_ratelimit_t *limits[MP_HUB__LIMITS]; /* shared limiters, by kind */
};

/* ---- this node only (hub.c) ---- */
void mp_hub__local_push_user(mp_hub_t *hub, uint64_t user_id, mp_frame_t *f, mp_sid_t except);
void mp_hub__local_push_all_except(mp_hub_t *hub, mp_frame_t *f, const uint64_t *skip,
                                   size_t n_skip);
void mp_hub__local_close_device(mp_hub_t *hub, uint64_t device_id);
void mp_hub__local_close_user(mp_hub_t *hub, uint64_t user_id, int code, const char *reason);
/* Queues f on every session of this node. */
void mp_hub__local_push_every(mp_hub_t *hub, mp_frame_t *f);
/* Fires the presence hook (if any). */
void mp_hub__presence(mp_hub_t *hub, uint64_t user_id, bool online);

/* ---- the cluster (hub_cluster.c) ---- */
/* This node's first session of user_id opened / its last one closed. */
void mp_hub__cl_local_up(mp_hub_cluster_t *cl, uint64_t user_id);
void mp_hub__cl_local_down(mp_hub_cluster_t *cl, uint64_t user_id);
/* Some other node has a session of user_id. */
bool mp_hub__cl_online(const mp_hub_cluster_t *cl, uint64_t user_id);
/* Deliveries and closes on the other nodes (this node's part is done by the
 * caller). */
void mp_hub__cl_push_user(mp_hub_cluster_t *cl, uint64_t user_id, mp_frame_t *f);
void mp_hub__cl_push_all_except(mp_hub_cluster_t *cl, mp_frame_t *f, const uint64_t *skip,
                                size_t n_skip);
void mp_hub__cl_close_device(mp_hub_cluster_t *cl, uint64_t device_id);
void mp_hub__cl_close_user(mp_hub_cluster_t *cl, uint64_t user_id, int code, const char *reason);
/* A token of shared limiter `which` was taken here for key. */
void mp_hub__cl_limit_taken(mp_hub_cluster_t *cl, unsigned which, uint64_t key);
/* No known node has a lower id than this one. */
bool mp_hub__cl_leader(const mp_hub_cluster_t *cl);
/* False once the bus connection ended for good (MP_BUS_CLOSED). */
bool mp_hub__cl_ready(const mp_hub_cluster_t *cl);

#endif
