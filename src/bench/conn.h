/* An asynchronous WebSocket client connection on libuv for `magpie bench`,
 * driven by the client library's sans-I/O handshake builder, response parser
 * and frame encoder/decoder (client/client.h).
 *
 * Thousands live in one process, so a connection is small: no thread, no
 * buffer while idle (reads go through one shared per-process buffer; only the
 * bytes of an incomplete frame are kept per connection until it completes).
 *
 * wss://: OpenSSL on a pair of memory BIOs, on the loop like the rest:
 * ciphertext read from the socket goes into the read BIO, SSL_read drains the
 * plaintext into the frame decoder, and what SSL puts in the write BIO is
 * written to the socket. Verified as the client library does (client.h: the
 * default trust store, SSL_CERT_FILE / SSL_CERT_DIR, the host name). */
#ifndef MP_BENCH_CONN_H
#define MP_BENCH_CONN_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct mp_bench_conn mp_bench_conn_t;

typedef struct mp_bench_conn_cbs {
    /* The upgrade succeeded (101 with the right Sec-WebSocket-Accept). */
    void (*on_open)(mp_bench_conn_t *c);
    /* A text message parsed as JSON; j is borrowed for the call. Messages
     * that are not JSON end the connection with an error instead. */
    void (*on_frame)(mp_bench_conn_t *c, json_t *j);
    /* The connection failed or ended: once, whatever the cause, including
     * mp_bench_conn_close(). why is NULL after mp_bench_conn_close(), else a
     * short reason ("connect: connection refused", "http 401", "close 1008
     * slow reader", ...); opened says whether on_open had run. The connection
     * is freed after this returns (on the loop, in its close callback). */
    void (*on_close)(mp_bench_conn_t *c, int opened, const char *why);
    /* Optional fast path, tried before the JSON parser: returns true when it
     * has handled the text message (data[0..len), not NUL-terminated), false
     * to have it parsed and given to on_frame. Lets a scenario recognise its
     * hot frames without building a JSON tree (the load generator shares the
     * server's cores, so its CPU per message counts). */
    bool (*on_text)(mp_bench_conn_t *c, const char *data, size_t len);
} mp_bench_conn_cbs_t;

/* Starts connecting to server, from source (NULL: let the kernel choose; else
 * bound with IP_BIND_ADDRESS_NO_PORT so the port is picked at connect time),
 * then upgrades on /v1/ws with "Authorization: Bearer token" (copied).
 * hostport is the Host header value (copied). tls_host: NULL in the clear,
 * else TLS first, with the server's certificate checked for this name or IP
 * address (a failure is an on_close reason such as "certificate verify
 * failed: ..."). cbs must outlive the connection. Never NULL: a failure to
 * start is reported through on_close on a later loop iteration. */
mp_bench_conn_t *mp_bench_conn_new(uv_loop_t *loop, const struct sockaddr_in *server,
                                   const struct sockaddr_in *source, const char *hostport,
                                   const char *tls_host, const char *token,
                                   const mp_bench_conn_cbs_t *cbs, void *ud);

/* Sends one text message (copied into the frame). Returns 0, or -1 if the
 * connection is not open (nothing is sent). A write error closes the
 * connection later through on_close. Messages sent while a read callback of
 * this process runs are coalesced per connection and written with one
 * syscall when it returns; others are written at once. */
int mp_bench_conn_send(mp_bench_conn_t *c, const char *text, size_t len);

/* Closes the connection (no close handshake: the bench is done with it);
 * on_close runs with why == NULL unless it already ran. Idempotent. */
void mp_bench_conn_close(mp_bench_conn_t *c);

void *mp_bench_conn_ud(const mp_bench_conn_t *c);
int mp_bench_conn_is_open(const mp_bench_conn_t *c);

/* Bytes of the per-connection struct (for the memory estimate in reports). */
size_t mp_bench_conn_size(void);

#endif
