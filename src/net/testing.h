/* Socket-free entry points into the gateway for unit tests and fuzzers:
 * a fake connection takes raw bytes and captures what would be written. */
#ifndef MP_NET_TESTING_H
#define MP_NET_TESTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/server.h"

typedef struct mp_conn mp_conn_t;

/* A connection on srv without a socket. Free with mp_net__fake_free(). */
mp_conn_t *mp_net__fake_new(mp_server_t *srv);
/* Feeds bytes as if they had been read from the socket. */
void mp_net__fake_feed(mp_conn_t *c, const void *data, size_t len);
/* Everything written so far (NUL-terminated; *len without the NUL). */
const char *mp_net__fake_output(mp_conn_t *c, size_t *len);
/* Forgets the captured output. */
void mp_net__fake_clear(mp_conn_t *c);
/* True once the gateway has decided to close (half-closed or closed). */
bool mp_net__fake_closing(const mp_conn_t *c);
/* The session id once upgraded to WebSocket, else 0. */
mp_sid_t mp_net__fake_sid(const mp_conn_t *c);
/* Makes the fake's peer stop reading (stalled) or read again: while stalled,
 * what is written is captured but its write does not complete, so the
 * server holds it as output not yet taken. */
void mp_net__fake_stall(mp_conn_t *c, bool stalled);
/* The peer reads: every write held so far completes. */
void mp_net__fake_drain(mp_conn_t *c);
/* Server-wide output bytes held for peers (see max_output_total). */
size_t mp_net__out_total(const mp_server_t *srv);
/* With io_threads (mp_server_set_io_threads): every write of a shared flush
 * is made by a helper thread, none by the loop, so that a test knows the
 * helpers wrote. */
void mp_net__io_helpers_only(mp_server_t *srv, bool on);
/* Fires the connection's pending deadline now (timeouts without waiting). */
void mp_net__fake_expire(mp_conn_t *c);
/* Closes (session_close hook included) and frees c. */
void mp_net__fake_free(mp_conn_t *c);

/* libFuzzer bodies: raw bytes as an HTTP connection's input, and as the
 * WebSocket input after a successful (authenticated or not) upgrade. */
int mp_net__fuzz_http(const uint8_t *data, size_t size);
int mp_net__fuzz_ws(const uint8_t *data, size_t size);
/* Arbitrary bytes as the first input of a TLS connection (handshake not
 * done): a ClientHello OpenSSL takes or refuses, garbage, plain HTTP. */
int mp_net__fuzz_tls(const uint8_t *data, size_t size);

#endif
