/* Forked bench workers and the parent that merges their reports (procs.h). */
#include "bench/procs.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/clock.h"

struct mp_bench_reporter {
    int fd;
};

typedef struct child {
    pid_t pid;
    int fd; /* read end; -1 once EOF was seen */
    char *buf;
    size_t len, cap;
    mp_bench_stats_t *snap; /* latest progress, then the final result */
    bool has_result;
    bool bad_line;
    bool fresh; /* a snapshot arrived since the last tick */
} child_t;

static void write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* the parent is gone; nobody is left to tell */
        s += w;
        n -= (size_t)w;
    }
}

static void write_line(int fd, const char *key, json_t *val)
{
    json_t *j = json_pack("{s:o}", key, val);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (s == NULL)
        return;
    write_all(fd, s, strlen(s));
    write_all(fd, "\n", 1);
    free(s);
}

void mp_bench_report_progress(mp_bench_reporter_t *rep, const mp_bench_stats_t *st)
{
    if (rep != NULL)
        write_line(rep->fd, "p", mp_bench_stats_counters_json(st));
}

static void __attribute__((noreturn))
child_main(unsigned idx, unsigned nprocs, int fd, mp_bench_worker_fn fn, void *ud)
{
    mp_bench_reporter_t rep = {.fd = fd};
    mp_bench_stats_t *st = mp_bench_stats_new();
    int rc = fn(idx, nprocs, st, &rep, ud);
    write_line(fd, "r", mp_bench_stats_to_json(st));
    mp_bench_stats_free(st);
    close(fd);
    fflush(NULL);
    /* _exit: the parent's atexit handlers and stdio buffers are not ours. */
    _exit(rc);
}

static void handle_line(child_t *c, char *line)
{
    json_error_t jerr;
    json_t *j = json_loads(line, 0, &jerr);
    json_t *p = j ? json_object_get(j, "p") : NULL;
    json_t *r = j ? json_object_get(j, "r") : NULL;
    if (c->has_result) {
        c->bad_line = true; /* nothing may follow the result */
    } else if (r != NULL) {
        if (mp_bench_stats_from_json(c->snap, r) == 0)
            c->has_result = true;
        else
            c->bad_line = true;
    } else if (p != NULL) {
        if (mp_bench_stats_from_json(c->snap, p) != 0)
            c->bad_line = true;
        c->fresh = true;
    } else {
        c->bad_line = true;
    }
    json_decref(j);
}

/* Reads what is available; returns false at EOF or on a read error. */
static bool read_child(child_t *c)
{
    if (c->cap - c->len < 65536) {
        c->cap = c->cap ? c->cap * 2 : 131072;
        c->buf = mp_realloc(c->buf, c->cap);
    }
    ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0)
        return false;
    c->len += (size_t)n;
    char *start = c->buf, *nl;
    while ((nl = memchr(start, '\n', (size_t)(c->buf + c->len - start))) != NULL) {
        *nl = '\0';
        handle_line(c, start);
        start = nl + 1;
    }
    c->len = (size_t)(c->buf + c->len - start);
    memmove(c->buf, start, c->len);
    return true;
}

static void sum_children(child_t *ch, unsigned n, mp_bench_stats_t *sum)
{
    mp_bench_stats_reset(sum);
    for (unsigned i = 0; i < n; i++)
        if (ch[i].pid > 0)
            mp_bench_stats_merge(sum, ch[i].snap);
}

static void pump(child_t *ch, unsigned n, mp_bench_tick_fn tick, void *tick_ud,
                 mp_bench_stats_t *sum)
{
    struct pollfd *pfd = mp_calloc(n, sizeof(*pfd));
    int64_t next_tick = mp_mono_ms() + 1000;
    for (;;) {
        unsigned open = 0;
        for (unsigned i = 0; i < n; i++) {
            pfd[i].fd = ch[i].fd; /* negative fds are ignored by poll */
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
            open += ch[i].fd >= 0;
        }
        if (open == 0)
            break;
        int64_t wait = next_tick - mp_mono_ms();
        int rc = poll(pfd, n, wait < 0 ? 0 : (int)wait);
        if (rc < 0 && errno != EINTR)
            break;
        bool fresh = false;
        for (unsigned i = 0; rc > 0 && i < n; i++) {
            if (pfd[i].revents == 0 || ch[i].fd < 0)
                continue;
            if (!read_child(&ch[i])) {
                close(ch[i].fd);
                ch[i].fd = -1;
            }
            fresh |= ch[i].fresh;
            ch[i].fresh = false;
        }
        if (tick != NULL && fresh) {
            sum_children(ch, n, sum);
            tick(sum, open, false, tick_ud);
        }
        if (mp_mono_ms() >= next_tick) {
            next_tick += 1000;
            if (tick != NULL) {
                sum_children(ch, n, sum);
                tick(sum, open, true, tick_ud);
            }
        }
    }
    mp_free(pfd);
}

static int reap(child_t *c, unsigned idx, mp_bench_stats_t *out)
{
    int status = 0;
    pid_t r;
    while ((r = waitpid(c->pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (r < 0) {
        mp_bench_stats_error(out, "worker %u (pid %d): waitpid: %s", idx, (int)c->pid,
                             strerror(errno));
        return 1;
    }
    if (WIFSIGNALED(status)) {
        mp_bench_stats_error(out, "worker %u (pid %d) killed by signal %d", idx, (int)c->pid,
                             WTERMSIG(status));
        return 1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        mp_bench_stats_error(out, "worker %u (pid %d) exited with status %d", idx, (int)c->pid,
                             WEXITSTATUS(status));
        return 1;
    }
    if (!c->has_result || c->bad_line) {
        mp_bench_stats_error(out, "worker %u (pid %d) %s", idx, (int)c->pid,
                             c->has_result ? "sent a malformed report" : "ended without a result");
        return 1;
    }
    return 0;
}

int mp_bench_procs_run(unsigned nprocs, mp_bench_worker_fn fn, void *ud, mp_bench_tick_fn tick,
                       void *tick_ud, mp_bench_stats_t *out)
{
    child_t *ch = mp_calloc(nprocs, sizeof(*ch));
    mp_bench_stats_t *sum = mp_bench_stats_new();
    int failed = 0, spawn_error = 0;
    unsigned started = 0;

    mp_bench_stats_reset(out);
    for (unsigned i = 0; i < nprocs; i++) {
        int p[2];
        if (pipe(p) != 0) {
            mp_bench_stats_error(out, "pipe: %s", strerror(errno));
            spawn_error = 1;
            break;
        }
        fflush(NULL); /* or buffered output would be written twice */
        pid_t pid = fork();
        if (pid < 0) {
            mp_bench_stats_error(out, "fork: %s", strerror(errno));
            close(p[0]);
            close(p[1]);
            spawn_error = 1;
            break;
        }
        if (pid == 0) {
            close(p[0]);
            for (unsigned k = 0; k < i; k++)
                close(ch[k].fd);
            child_main(i, nprocs, p[1], fn, ud);
        }
        close(p[1]);
        ch[i].pid = pid;
        ch[i].fd = p[0];
        ch[i].snap = mp_bench_stats_new();
        started++;
    }
    pump(ch, started, tick, tick_ud, sum);
    for (unsigned i = 0; i < started; i++) {
        if (reap(&ch[i], i, out) != 0)
            failed++;
        else
            mp_bench_stats_merge(out, ch[i].snap);
        mp_bench_stats_free(ch[i].snap);
        mp_free(ch[i].buf);
    }
    mp_bench_stats_free(sum);
    mp_free(ch);
    return spawn_error ? -1 : failed;
}
