/* A real nats-server for the unit tests: started on a loopback port, ready
 * when it says so on its stderr (bounded wait), stopped by pid. Its stderr is
 * forwarded to the test's, prefixed "[nats:PORT] ". Include after cmocka.h. */
#ifndef MPU_NATS_H
#define MPU_NATS_H

#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

typedef struct mpu_nats {
    pid_t pid; /* 0 when not running */
    int port;
    char url[64]; /* nats://127.0.0.1:PORT */
    /* Set before start to make the server require this user and password
     * (url stays without them). */
    char user[32], pass[32];
    /* private */
    int err_fd;
    uv_thread_t fwd;
    bool fwd_started;
} mpu_nats_t;

/* A free loopback port (bound and released: another process could take it
 * before us, which start then reports). */
int mpu_free_port(void);
/* Starts nats-server on 127.0.0.1:port (0 = a free one; keeps n->port when
 * restarting) and waits up to 10 s until it is ready. Returns 0, or -1
 * after printing why. */
int mpu_nats_start(mpu_nats_t *n, int port);
/* SIGKILL and reap (a crash). */
void mpu_nats_kill9(mpu_nats_t *n);
/* SIGTERM, reap (SIGKILL after 10 s). */
void mpu_nats_stop(mpu_nats_t *n);

#endif
