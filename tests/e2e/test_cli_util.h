/* Helpers for the end-to-end tests of the client commands (magpie login,
 * send, tail, chat, ...; tests/e2e/test_cli_*.c): each test user gets a
 * config home of its own (XDG_CONFIG_HOME, where the credentials file
 * lives), and the real `magpie` binary ($MAGPIE_BIN) runs as a child with
 * MAGPIE_URL pointing at the test's server. Every wait is bounded. Include
 * after cmocka.h. */
#ifndef MPT_CLI_UTIL_H
#define MPT_CLI_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* How long one command may take before the test fails. */
#define CLI_TIMEOUT_MS 20000

/* One person at a terminal: a config home and the server they talk to. */
typedef struct cli_home {
    char dir[256];     /* XDG_CONFIG_HOME */
    char url[128];     /* MAGPIE_URL */
    char password[64]; /* MAGPIE_PASSWORD for commands that read one ("" = unset) */
} cli_home_t;

static inline void cli_home_new(cli_home_t *h, const mpt_server_t *srv)
{
    memset(h, 0, sizeof *h);
    snprintf(h->dir, sizeof h->dir, "/tmp/magpie-cli-XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    snprintf(h->url, sizeof h->url, "http://%s", srv->hostport);
}

static inline int cli__rm(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static inline void cli_home_free(cli_home_t *h)
{
    if (h->dir[0] != '\0')
        nftw(h->dir, cli__rm, 16, FTW_DEPTH | FTW_PHYS);
    h->dir[0] = '\0';
}

/* A running command. */
typedef struct cli_proc {
    pid_t pid;
    int in_fd;  /* write end of its stdin (-1 when closed) */
    int out_fd; /* read end of its stdout */
    int err_fd; /* read end of its stderr */
    char out[1 << 16];
    size_t out_len, out_used; /* bytes read so far; bytes already returned as lines */
    char err[1 << 14];
    size_t err_len;
} cli_proc_t;

/* Starts `magpie args...` (argv NULL-terminated, without the program) for h.
 * extra_env: NULL-terminated "NAME=value" strings or NULL. */
static inline cli_proc_t *cli_spawnv(const cli_home_t *h, const char *const *args,
                                     const char *const *extra_env)
{
    const char *bin = getenv("MAGPIE_BIN");
    assert_non_null(bin);
    const char *argv[64];
    int argc = 0;
    argv[argc++] = bin;
    for (int i = 0; args[i] != NULL && argc < 63; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    int pi[2], po[2], pe[2];
    /* Close-on-exec: a server the test (re)starts later must not inherit
     * them, or the command would never see the end of its input. */
    assert_int_equal(pipe2(pi, O_CLOEXEC), 0);
    assert_int_equal(pipe2(po, O_CLOEXEC), 0);
    assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Dies with the test, even when a failed assertion jumps past
         * cli_proc_free (a tail would otherwise run forever). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(pi[0], 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        setenv("XDG_CONFIG_HOME", h->dir, 1);
        setenv("MAGPIE_URL", h->url, 1);
        if (h->password[0] != '\0')
            setenv("MAGPIE_PASSWORD", h->password, 1);
        else
            unsetenv("MAGPIE_PASSWORD");
        unsetenv("MAGPIE_USER");
        unsetenv("MAGPIE_CONFIG");
        for (int i = 0; extra_env != NULL && extra_env[i] != NULL; i++)
            putenv((char *)extra_env[i]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pi[0]);
    close(po[1]);
    close(pe[1]);
    cli_proc_t *p = calloc(1, sizeof *p);
    assert_non_null(p);
    p->pid = pid;
    p->in_fd = pi[1];
    p->out_fd = po[0];
    p->err_fd = pe[0];
    fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);
    return p;
}

/* Reads what the child wrote, waiting up to timeout_ms for something.
 * Returns false when both pipes are at EOF. */
static inline bool cli__pump(cli_proc_t *p, int timeout_ms)
{
    struct pollfd f[2] = {{.fd = p->out_fd, .events = POLLIN}, {.fd = p->err_fd, .events = POLLIN}};
    if (p->out_fd < 0 && p->err_fd < 0)
        return false;
    poll(f, 2, timeout_ms);
    if (p->out_fd >= 0 && (f[0].revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t r = read(p->out_fd, p->out + p->out_len, sizeof p->out - 1 - p->out_len);
        if (r == 0 || (r < 0 && errno != EAGAIN) || p->out_len + 1 >= sizeof p->out) {
            close(p->out_fd);
            p->out_fd = -1;
        } else if (r > 0) {
            p->out_len += (size_t)r;
        }
        p->out[p->out_len] = '\0';
    }
    if (p->err_fd >= 0 && (f[1].revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t r = read(p->err_fd, p->err + p->err_len, sizeof p->err - 1 - p->err_len);
        if (r == 0 || (r < 0 && errno != EAGAIN) || p->err_len + 1 >= sizeof p->err) {
            close(p->err_fd);
            p->err_fd = -1;
        } else if (r > 0) {
            p->err_len += (size_t)r;
            /* a server-side log line interleaved in test output helps when a test fails */
        }
        p->err[p->err_len] = '\0';
    }
    return true;
}

/* The next whole line of the child's stdout (without the newline) into line,
 * waiting up to timeout_ms. Returns true, or false on timeout or EOF. */
static inline bool cli_read_line(cli_proc_t *p, int timeout_ms, char *line, size_t cap)
{
    long long deadline = mpt_mono_ms() + timeout_ms;
    for (;;) {
        char *start = p->out + p->out_used;
        char *nl = memchr(start, '\n', p->out_len - p->out_used);
        if (nl != NULL) {
            size_t n = (size_t)(nl - start);
            if (n >= cap)
                n = cap - 1;
            memcpy(line, start, n);
            line[n] = '\0';
            p->out_used = (size_t)(nl - p->out) + 1;
            return true;
        }
        long long left = deadline - mpt_mono_ms();
        if (left <= 0 || p->out_fd < 0)
            return false;
        cli__pump(p, (int)left);
    }
}

/* Writes s to the child's stdin. */
static inline void cli_write(cli_proc_t *p, const char *s)
{
    size_t n = strlen(s);
    assert_true(p->in_fd >= 0);
    assert_int_equal(write(p->in_fd, s, n), (ssize_t)n);
}

static inline void cli_close_stdin(cli_proc_t *p)
{
    if (p->in_fd >= 0)
        close(p->in_fd);
    p->in_fd = -1;
}

/* Waits up to timeout_ms for the child to exit, collecting its output.
 * Returns its exit status (128+N when killed by signal N), or -1 on timeout
 * (the child is then killed). Frees nothing: see cli_proc_free. */
static inline int cli_wait(cli_proc_t *p, int timeout_ms)
{
    long long deadline = mpt_mono_ms() + timeout_ms;
    cli_close_stdin(p);
    int status = 0;
    for (;;) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid)
            break;
        long long left = deadline - mpt_mono_ms();
        if (left <= 0) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            p->pid = 0;
            fprintf(stderr, "cli: command did not finish in %d ms; stderr: %s\n", timeout_ms,
                    p->err);
            return -1;
        }
        if (!cli__pump(p, left > 50 ? 50 : (int)left))
            usleep(5000); /* both pipes closed, the child is exiting: poll its status */
    }
    p->pid = 0;
    while (cli__pump(p, 0) && (p->out_fd >= 0 || p->err_fd >= 0))
        ;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

static inline void cli_proc_free(cli_proc_t *p)
{
    if (p == NULL)
        return;
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
    }
    cli_close_stdin(p);
    if (p->out_fd >= 0)
        close(p->out_fd);
    if (p->err_fd >= 0)
        close(p->err_fd);
    free(p);
}

/* The output of a finished command. */
typedef struct cli_result {
    int status;
    char out[1 << 16];
    char err[1 << 14];
} cli_result_t;

/* Runs `magpie args...` to the end with stdin_data (may be NULL) as its
 * standard input; fills *r (status, stdout, stderr). Returns r->status. */
static inline int cli_runv(const cli_home_t *h, cli_result_t *r, const char *stdin_data,
                           const char *const *args)
{
    cli_proc_t *p = cli_spawnv(h, args, NULL);
    if (stdin_data != NULL)
        cli_write(p, stdin_data);
    r->status = cli_wait(p, CLI_TIMEOUT_MS);
    snprintf(r->out, sizeof r->out, "%s", p->out);
    snprintf(r->err, sizeof r->err, "%s", p->err);
    cli_proc_free(p);
    return r->status;
}

/* cli_run(h, &r, stdin_data, "send", "@bob", "hi", NULL) */
#define cli_run(h, r, stdin_data, ...)                                                             \
    cli_runv((h), (r), (stdin_data), (const char *const[]){__VA_ARGS__})

/* cli_spawn(h, "tail", "--json", NULL) */
#define cli_spawn(h, ...) cli_spawnv((h), (const char *const[]){__VA_ARGS__}, NULL)

/* Registers a fresh user on srv with mpt_user_new and logs h in as them with
 * `magpie login` (password through MAGPIE_PASSWORD). s gets the user (its
 * own device, separate from the CLI's). */
static inline void cli_login_new(cli_home_t *h, const mpt_server_t *srv, const char *prefix,
                                 mpt_session_t *s)
{
    cli_home_new(h, srv);
    assert_int_equal(mpt_user_new(srv, prefix, s), 0);
    snprintf(h->password, sizeof h->password, "%s", s->password);
    static cli_result_t r;
    int st = cli_run(h, &r, NULL, "login", s->username, NULL);
    if (st != 0)
        fprintf(stderr, "login failed (%d): %s%s\n", st, r.out, r.err);
    assert_int_equal(st, 0);
    h->password[0] = '\0';
}

#endif
