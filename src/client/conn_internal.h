/* Internals shared by the blocking layer's files (conn.c, tls.c, ws.c); not
 * for users of the client library. */
#ifndef MPC_CONN_INTERNAL_H
#define MPC_CONN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/client.h"

struct mpc_conn {
    int fd;
    struct ssl_st *ssl; /* NULL: in the clear; else its memory BIOs sit between it and fd */
    char hostport[300];
    char *rbuf; /* bytes received and not yet consumed */
    size_t rlen, rcap;
};

/* Monotonic milliseconds. */
int64_t mpc__now_ms(void);
/* Writes everything before deadline (encrypted first with TLS). MPC_OK or an
 * MPC_ERR_. */
int mpc__send_until(mpc_conn_t *c, const void *data, size_t len, int64_t deadline);
/* Appends at least one received byte (plaintext) to c->rbuf before deadline.
 * Returns the count (> 0) or an MPC_ERR_ (MPC_ERR_CLOSED on EOF or reset). */
long mpc__fill(mpc_conn_t *c, int64_t deadline);
/* Makes room for at least 16 KiB more in c->rbuf. */
void mpc__reserve(mpc_conn_t *c);

/* The socket itself, whatever travels on it. send_fd: writes everything
 * before deadline. recv_fd: at least one byte into buf, or an MPC_ERR_
 * (MPC_ERR_CLOSED on EOF or reset). */
int mpc__send_fd(mpc_conn_t *c, const void *data, size_t len, int64_t deadline);
long mpc__recv_fd(mpc_conn_t *c, void *buf, size_t cap, int64_t deadline);

/* TLS over c->fd (tls.c). handshake: makes c->ssl for host and completes the
 * handshake before deadline; MPC_OK, or an MPC_ERR_ with the reason in err.
 * send/fill: mpc__send_until and mpc__fill when c->ssl is set. */
int mpc__tls_handshake(mpc_conn_t *c, const char *host, int64_t deadline, char *err, size_t errlen);
int mpc__tls_send(mpc_conn_t *c, const void *data, size_t len, int64_t deadline);
long mpc__tls_fill(mpc_conn_t *c, int64_t deadline);
/* Drops the first n buffered bytes. */
void mpc__consume(mpc_conn_t *c, size_t n);
/* Reads one HTTP response from the connection. */
int mpc__read_response(mpc_conn_t *c, bool head_only, mpc_response_t *out, int64_t deadline);

#endif
