/* The bus: live messages between the nodes of a cluster, over NATS (libnats).
 * At most once: a message published while the connection is down is kept by
 * libnats up to its reconnect buffer and sent after the reconnect, beyond
 * that it is dropped; a message published to a node that is disconnected is
 * lost. Users never depend on it for what is stored (the database is the
 * source of truth): a client that missed a live event catches up by `sync`.
 *
 * Threads: the NATS connection lives on libnats's own threads (reader,
 * flusher, reconnect, one delivery thread) and one thread of the bus that
 * makes every libnats call that may write to the socket (publish, subscribe),
 * so that nothing here ever blocks the loop. Whatever the bus hands to
 * Magpie (messages, state changes) is queued and delivered on the loop
 * thread given to mp_bus_open, through a uv_async_t, in the order the
 * connection received it. Every function here must be called on that loop
 * thread. */
#ifndef MP_BUS_BUS_H
#define MP_BUS_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "proto/error.h"

typedef struct mp_bus mp_bus_t;

/* Longest subject (bytes, without the NUL). */
#define MP_BUS_SUBJECT_MAX 63

typedef enum {
    MP_BUS_CONNECTED,    /* the first connection is up */
    MP_BUS_DISCONNECTED, /* the connection dropped; libnats reconnects (forever) */
    MP_BUS_RECONNECTED,  /* up again: messages sent to us meanwhile are lost */
    MP_BUS_LOST,         /* messages received were dropped (the loop fell behind) */
    MP_BUS_CLOSED,       /* ended for good, no more reconnects (e.g. the server refused
                            the credentials in the URL): the reason was logged */
} mp_bus_state_t;

/* A message received on a subscription: data is borrowed, valid until the
 * callback returns. */
typedef void (*mp_bus_msg_fn)(void *ud, const void *data, size_t len);
typedef void (*mp_bus_state_fn)(void *ud, mp_bus_state_t state);

/* Connects to url (one NATS URL or several separated by commas; it may carry
 * credentials and is never logged). Tries once at once (on loopback a few
 * ms; an unreachable host may take up to 2 s); when no server answers the
 * bus keeps trying in the background and reports MP_BUS_CONNECTED later.
 * node_id names the connection on the server (monitoring). Returns NULL with
 * a message in err on a malformed URL or when libnats cannot start. */
mp_bus_t *mp_bus_open(uv_loop_t *loop, const char *url, unsigned node_id, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Who is told about connection changes (one callback; NULL to stop). */
void mp_bus_on_state(mp_bus_t *bus, mp_bus_state_fn fn, void *ud);

/* Receives every message published on subject (NATS wildcards allowed),
 * from the next loop turn on (the subscription is made by the bus thread,
 * ordered with the publishes queued before and after it). ud must outlive
 * the bus. At most MP_BUS_SUBS_MAX subscriptions per bus. Returns MP_OK,
 * MP_ERR_BAD_REQUEST for a subject that is too long, MP_ERR_UNAVAILABLE when
 * closing or full. */
#define MP_BUS_SUBS_MAX 8
mp_err_t mp_bus_subscribe(mp_bus_t *bus, const char *subject, mp_bus_msg_fn fn, void *ud)
    __attribute__((warn_unused_result));

/* Queues len bytes of data (copied) for subject and returns at once. Returns
 * MP_OK, MP_ERR_BAD_REQUEST for a subject that is too long, or
 * MP_ERR_UNAVAILABLE when the bus is closing or its queue holds
 * MP_BUS_QUEUE_MAX bytes (then the message is dropped and counted, see
 * mp_bus_take_dropped). */
#define MP_BUS_QUEUE_MAX (64u << 20)
mp_err_t mp_bus_publish(mp_bus_t *bus, const char *subject, const void *data, size_t len);

/* Messages dropped on the way out (queue full, or libnats's reconnect
 * buffer full while disconnected) since the previous call; resets the count.
 * Whoever should have received them missed them without knowing. */
uint64_t mp_bus_take_dropped(mp_bus_t *bus);

/* True while the connection is up, as last reported on the loop. */
bool mp_bus_connected(const mp_bus_t *bus);

/* Counters since open (either pointer may be NULL). */
void mp_bus_stats(const mp_bus_t *bus, uint64_t *published, uint64_t *received);

/* Sends what is queued (waiting at most ~1 s for the server to take it),
 * closes the connection and stops the threads; no callback runs from here
 * on. Blocks for that long at most. The bus is freed from a close callback:
 * run the loop afterwards until its handles are closed. Never from a bus
 * callback. NULL is ignored. */
void mp_bus_close(mp_bus_t *bus);

#endif
