/* Internals shared by the blocking layer's files (conn.c, ws.c); not for
 * users of the client library. */
#ifndef MPC_CONN_INTERNAL_H
#define MPC_CONN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/client.h"

struct mpc_conn {
    int fd;
    char hostport[300];
    char *rbuf; /* bytes received and not yet consumed */
    size_t rlen, rcap;
};

/* Monotonic milliseconds. */
int64_t mpc__now_ms(void);
/* Writes everything before deadline. MPC_OK or an MPC_ERR_. */
int mpc__send_until(mpc_conn_t *c, const void *data, size_t len, int64_t deadline);
/* Appends at least one received byte to c->rbuf before deadline. Returns the
 * count (> 0) or an MPC_ERR_ (MPC_ERR_CLOSED on EOF or reset). */
long mpc__fill(mpc_conn_t *c, int64_t deadline);
/* Drops the first n buffered bytes. */
void mpc__consume(mpc_conn_t *c, size_t n);
/* Reads one HTTP response from the connection. */
int mpc__read_response(mpc_conn_t *c, bool head_only, mpc_response_t *out, int64_t deadline);

#endif
