/* A real nats-server for the unit tests (nats.h). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nats.h"

#define MPU_NATS_START_MS 10000
#define MPU_NATS_STOP_MS 10000

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mpu_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Forwards the rest of the server's stderr until it exits (EOF). */
static void forward(void *arg)
{
    mpu_nats_t *n = arg;
    char buf[4096];
    ssize_t r;
    while ((r = read(n->err_fd, buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR))
        if (r > 0)
            fprintf(stderr, "[nats:%d] %.*s", n->port, (int)r, buf);
}

/* Reads stderr until "Server is ready" (0), EOF or the deadline (-1). */
static int wait_ready(mpu_nats_t *n)
{
    char buf[8192];
    size_t len = 0;
    long long deadline = mono_ms() + MPU_NATS_START_MS;
    for (;;) {
        long long left = deadline - mono_ms();
        if (left <= 0) {
            fprintf(stderr, "nats-server on port %d: not ready within %d ms\n", n->port,
                    MPU_NATS_START_MS);
            return -1;
        }
        struct pollfd p = {.fd = n->err_fd, .events = POLLIN};
        int pr = poll(&p, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        if (len == sizeof buf - 1)
            len = 0; /* a long log before readiness: keep looking in the rest */
        ssize_t r = read(n->err_fd, buf + len, sizeof buf - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            fprintf(stderr, "nats-server on port %d exited before it was ready:\n%.*s\n", n->port,
                    (int)len, buf);
            return -1;
        }
        fprintf(stderr, "[nats:%d] %.*s", n->port, (int)r, buf + len);
        len += (size_t)r;
        buf[len] = '\0';
        if (strstr(buf, "Server is ready") != NULL)
            return 0;
    }
}

int mpu_nats_start(mpu_nats_t *n, int port)
{
    if (port == 0)
        port = mpu_free_port();
    if (port <= 0) {
        fprintf(stderr, "no free port for nats-server\n");
        return -1;
    }
    n->port = port;
    snprintf(n->url, sizeof n->url, "nats://127.0.0.1:%d", port);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        perror("pipe2");
        return -1;
    }
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], 2);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        if (n->user[0] != '\0')
            execlp("nats-server", "nats-server", "-a", "127.0.0.1", "-p", port_s, "--user", n->user,
                   "--pass", n->pass, (char *)NULL);
        else
            execlp("nats-server", "nats-server", "-a", "127.0.0.1", "-p", port_s, (char *)NULL);
        fprintf(stderr, "cannot run nats-server: %s\n", strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    n->pid = pid;
    n->err_fd = fds[0];
    if (wait_ready(n) != 0) {
        mpu_nats_kill9(n);
        return -1;
    }
    n->fwd_started = uv_thread_create(&n->fwd, forward, n) == 0;
    return 0;
}

/* Waits up to timeout_ms for the process to end (a pidfd: a real event). */
static bool exited(pid_t pid, int timeout_ms)
{
    int st;
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc;
        do
            rc = poll(&p, 1, timeout_ms);
        while (rc < 0 && errno == EINTR);
        close(fd);
        return rc > 0 && waitpid(pid, &st, 0) == pid;
    }
    /* No pidfd (an old kernel): look every 10 ms up to the bound. */
    for (long long end = mono_ms() + timeout_ms; mono_ms() < end;) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return true;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void reap(mpu_nats_t *n, int timeout_ms)
{
    if (!exited(n->pid, timeout_ms)) {
        fprintf(stderr, "nats-server %d did not stop within %d ms: killing it\n", (int)n->pid,
                timeout_ms);
        kill(n->pid, SIGKILL);
        waitpid(n->pid, NULL, 0);
    }
    n->pid = 0;
    if (n->fwd_started)
        uv_thread_join(&n->fwd); /* EOF: the process is gone */
    n->fwd_started = false;
    close(n->err_fd);
    n->err_fd = -1;
}

void mpu_nats_kill9(mpu_nats_t *n)
{
    if (n->pid <= 0)
        return;
    kill(n->pid, SIGKILL);
    reap(n, MPU_NATS_STOP_MS);
}

void mpu_nats_stop(mpu_nats_t *n)
{
    if (n->pid <= 0)
        return;
    kill(n->pid, SIGTERM);
    reap(n, MPU_NATS_STOP_MS);
}
