/* End-to-end harness: runs `magpie serve` as a child process, forwards its
 * stderr, learns its port, stops it and checks its exit status; gives each
 * server its own PostgreSQL database when the tests run on PostgreSQL; plus
 * account and WebSocket helpers over the client library. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 10000
#define MAX_SERVERS 64
/* How much of a statement an error message shows (some are a megabyte). */
#define SQL_SHOWN 400

/* ---- clocks ---- */

long long mpt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long mpt_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- stderr forwarder ---- */

typedef struct fwd {
    pthread_t th;
    int fd;
    int tag_port; /* 0 until known */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int port; /* from the "listening" line, 0 until seen */
    bool eof;
    FILE *copy; /* DATA/stderr.log (mpt_server_path), or NULL */
} fwd_t;

static const char listen_marker[] = "magpie: listening on ";

static void scan_append(const char *var, const char *line);

/* Handles one line of the server's stderr. */
static void fwd_line(void *arg, const char *line)
{
    fwd_t *f = arg;
    const char *m = strstr(line, listen_marker);
    fprintf(stderr, "[magpie:%d] %s\n", f->tag_port, line);
    if (f->copy != NULL) {
        fprintf(f->copy, "%s\n", line);
        fflush(f->copy);
    }
    scan_append("MAGPIE_TEST_LOGS", line);
    if (m) {
        const char *colon = strrchr(m + sizeof listen_marker - 1, ':');
        int port = colon ? atoi(colon + 1) : 0;
        pthread_mutex_lock(&f->mu);
        if (port > 0 && f->port == 0) {
            f->port = port;
            f->tag_port = port;
        }
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
    }
}

/* Reads fd to its end, calling fn for each complete line (without its
 * newline); an overlong line is passed on in pieces, and a last line without
 * a newline as it is. Shared by the server's and nats-server's forwarders. */
static void read_lines(int fd, void (*fn)(void *arg, const char *line), void *arg)
{
    char buf[8192];
    size_t len = 0;

    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        char *start = buf, *nl;
        while ((nl = strchr(start, '\n')) != NULL) {
            *nl = '\0';
            fn(arg, start);
            start = nl + 1;
        }
        len -= (size_t)(start - buf);
        memmove(buf, start, len);
        if (len == sizeof buf - 1) {
            buf[len] = '\0';
            fn(arg, buf);
            len = 0;
        }
    }
    if (len) {
        buf[len] = '\0';
        fn(arg, buf);
    }
}

static void *fwd_main(void *arg)
{
    fwd_t *f = arg;
    read_lines(f->fd, fwd_line, f);
    pthread_mutex_lock(&f->mu);
    f->eof = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* Waits until the port is known or the pipe ended; returns the port or 0. */
static int fwd_wait_port(fwd_t *f, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&f->mu);
    while (f->port == 0 && !f->eof) {
        if (pthread_cond_timedwait(&f->cv, &f->mu, &ts) == ETIMEDOUT)
            break;
    }
    int port = f->port;
    pthread_mutex_unlock(&f->mu);
    return port;
}

static void fwd_join(fwd_t *f)
{
    if (!f)
        return;
    pthread_join(f->th, NULL);
    close(f->fd);
    if (f->copy != NULL)
        fclose(f->copy);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f);
}

/* ---- registry: nothing outlives the test process ---- */

static mpt_server_t *servers[MAX_SERVERS];
static volatile sig_atomic_t live_pids[MAX_SERVERS];
static bool registry_ready;

/* Other processes a test starts (nats-server). */
#define MAX_OTHERS 8
static volatile sig_atomic_t other_pids[MAX_OTHERS];

/* PostgreSQL clusters a test started (mpt_pg_own_start), stopped at exit
 * whatever the test did. On a fatal signal their postmasters get SIGQUIT
 * (immediate shutdown), the one signal that also ends the backends. */
#define MAX_OWN_PG 4
static mpt_pg_own_t *own_pgs[MAX_OWN_PG];
static volatile sig_atomic_t own_pg_pids[MAX_OWN_PG];

static void kill_all_now(void)
{
    for (int i = 0; i < MAX_SERVERS; i++)
        if (live_pids[i] > 0)
            kill((pid_t)live_pids[i], SIGKILL);
    for (int i = 0; i < MAX_OTHERS; i++)
        if (other_pids[i] > 0)
            kill((pid_t)other_pids[i], SIGKILL);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *dir)
{
    if (dir[0])
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Servers a test never stopped (a failed assertion returns early): their
 * processes, data dirs and databases; then the test's own PostgreSQL
 * clusters. A fatal signal only kills the processes (nothing else is
 * async-signal-safe); the databases then go with the test cluster when the
 * fixture stops it, and an own cluster's directory stays behind. */
static void at_exit_cleanup(void)
{
    kill_all_now();
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (servers[i] && servers[i]->pid > 0) {
            waitpid(servers[i]->pid, NULL, 0);
            servers[i]->pid = 0;
        }
        if (servers[i]) {
            remove_tree(servers[i]->data_dir);
            if (servers[i]->db_name[0])
                mpt_pg_drop(servers[i]->db_name);
        }
    }
    for (int i = 0; i < MAX_OWN_PG; i++)
        if (own_pgs[i])
            mpt_pg_own_stop(own_pgs[i]);
}

static void on_fatal_signal(int sig)
{
    kill_all_now();
    for (int i = 0; i < MAX_OWN_PG; i++)
        if (own_pg_pids[i] > 0)
            kill((pid_t)own_pg_pids[i], SIGQUIT);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void registry_init(void)
{
    if (registry_ready)
        return;
    registry_ready = true;
    atexit(at_exit_cleanup);
    signal(SIGINT, on_fatal_signal);
    signal(SIGTERM, on_fatal_signal);
    signal(SIGHUP, on_fatal_signal);
    /* A sanitizer report ends in abort(): servers die with us anyway
     * (PR_SET_PDEATHSIG), a PostgreSQL of the test's own does not. */
    signal(SIGABRT, on_fatal_signal);
    signal(SIGPIPE, SIG_IGN);
}

static int registry_slot(const mpt_server_t *srv)
{
    for (int i = 0; i < MAX_SERVERS; i++)
        if (servers[i] == srv)
            return i;
    return -1;
}

static void registry_set_pid(mpt_server_t *srv, pid_t pid)
{
    int i = registry_slot(srv);
    if (i >= 0)
        live_pids[i] = pid;
}

/* ---- process control ---- */

static char **build_argv(const mpt_server_t *srv, int port)
{
    const char *bin = getenv("MAGPIE_BIN");
    char **argv = calloc((size_t)srv->n_extra + 12, sizeof *argv);
    char listen[96];
    int n = 0;

    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    argv[n++] = strdup(bin);
    argv[n++] = strdup("serve");
    argv[n++] = strdup("--listen");
    argv[n++] = strdup(listen);
    argv[n++] = strdup("--data");
    argv[n++] = strdup(srv->data_dir);
    if (srv->db_url[0]) { /* before extra: a test's own flags come last */
        argv[n++] = strdup("--database");
        argv[n++] = strdup("postgres");
        argv[n++] = strdup("--database_url");
        argv[n++] = strdup(srv->db_url);
    }
    for (int i = 0; i < srv->n_extra; i++)
        argv[n++] = strdup(srv->extra[i]);
    argv[n] = NULL;
    return argv;
}

static void free_argv(char **argv)
{
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
}

/* Forks and execs the server with stderr into a pipe; returns 0 and sets
 * srv->pid and srv->fwd, or -1. */
static int spawn(mpt_server_t *srv, int port)
{
    int pfd[2];
    pid_t parent = getpid();
    char **argv = build_argv(srv, port);

    if (pipe2(pfd, O_CLOEXEC) < 0) {
        free_argv(argv);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* Die with the test process, whatever kills it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(pfd[1], STDERR_FILENO);
        execv(argv[0], argv);
        dprintf(STDERR_FILENO, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    free_argv(argv);
    if (pid < 0) {
        close(pfd[0]);
        return -1;
    }
    fwd_t *f = calloc(1, sizeof *f);
    f->fd = pfd[0];
    f->tag_port = port;
    f->copy = fopen(mpt_server_path(srv, "stderr.log"), "ae");
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    pthread_create(&f->th, NULL, fwd_main, f);
    srv->pid = pid;
    srv->fwd = f;
    registry_set_pid(srv, pid);
    return 0;
}

/* Waits up to timeout_ms for the child to exit; returns its wait status or
 * -1 on timeout. Uses a pidfd so the wait is a real event, not a poll loop. */
static int wait_exit(pid_t pid, int timeout_ms)
{
    int status = 0;
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd >= 0) {
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        int rc;
        do
            rc = poll(&p, 1, timeout_ms);
        while (rc < 0 && errno == EINTR);
        close(pidfd);
        if (rc == 0)
            return -1;
        return waitpid(pid, &status, 0) == pid ? status : -1;
    }
    /* No pidfd (old kernel): check in 10 ms steps up to the deadline. */
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* After the child is gone: collect the forwarder. */
static void reaped(mpt_server_t *srv)
{
    registry_set_pid(srv, 0);
    srv->pid = 0;
    fwd_join(srv->fwd);
    srv->fwd = NULL;
}

/* Starts the process and waits for its port; 0 or -1 (child reaped). */
static int launch(mpt_server_t *srv, int port)
{
    if (spawn(srv, port) < 0)
        return -1;
    int got = fwd_wait_port(srv->fwd, START_TIMEOUT_MS);
    if (got > 0) {
        srv->port = got;
        snprintf(srv->hostport, sizeof srv->hostport, "%s:%d", srv->host, got);
        return 0;
    }
    fprintf(stderr, "harness: the server %s\n",
            ((fwd_t *)srv->fwd)->eof ? "exited before listening"
                                     : "did not report its port in time");
    kill(srv->pid, SIGKILL);
    wait_exit(srv->pid, STOP_TIMEOUT_MS);
    reaped(srv);
    return -1;
}

/* db_url: a database the caller owns (nothing created or dropped), or NULL
 * for the backend's default (a fresh PostgreSQL database, or SQLite). */
static mpt_server_t *server_start(const char *db_url, const char *const *extra)
{
    const char *bin = getenv("MAGPIE_BIN");
    const char *tmp = getenv("TMPDIR");

    registry_init();
    if (!bin || !*bin) {
        fprintf(stderr, "harness: MAGPIE_BIN is not set (run through ctest)\n");
        return NULL;
    }
    int slot = registry_slot(NULL);
    if (slot < 0) {
        fprintf(stderr, "harness: too many servers\n");
        return NULL;
    }
    mpt_server_t *srv = calloc(1, sizeof *srv);
    snprintf(srv->host, sizeof srv->host, "127.0.0.1");
    snprintf(srv->data_dir, sizeof srv->data_dir, "%s/magpie-e2e-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(srv->data_dir)) {
        fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
        free(srv);
        return NULL;
    }
    if (db_url != NULL)
        snprintf(srv->db_url, sizeof srv->db_url, "%s", db_url);
    else if (mpt_backend_pg() && mpt_pg_create(srv->db_name, srv->db_url) < 0) {
        remove_tree(srv->data_dir);
        free(srv);
        return NULL;
    }
    mpt_server_set_flags(srv, extra);
    servers[slot] = srv;
    if (launch(srv, 0) < 0) {
        servers[slot] = NULL;
        remove_tree(srv->data_dir);
        if (srv->db_name[0])
            mpt_pg_drop(srv->db_name);
        for (int i = 0; i < srv->n_extra; i++)
            free(srv->extra[i]);
        free(srv->extra);
        free(srv);
        return NULL;
    }
    return srv;
}

mpt_server_t *mpt_server_start(const char *const *extra)
{
    return server_start(NULL, extra);
}

mpt_server_t *mpt_server_start_db(const char *db_url, const char *const *extra)
{
    return server_start(db_url, extra);
}

static int describe_status(const mpt_server_t *srv, int status)
{
    if (status == -1) {
        fprintf(stderr, "harness: server on port %d did not exit within %d ms; killed\n", srv->port,
                STOP_TIMEOUT_MS);
        return -1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status)) {
        fprintf(stderr, "harness: server on port %d exited with code %d (sanitizer report?)\n",
                srv->port, WEXITSTATUS(status));
        return WEXITSTATUS(status);
    }
    fprintf(stderr, "harness: server on port %d died of signal %d\n", srv->port, WTERMSIG(status));
    return 128 + WTERMSIG(status);
}

int mpt_server_terminate(mpt_server_t *srv)
{
    if (!srv || srv->pid <= 0)
        return 0;
    /* One SIGTERM, sent to the process as a supervisor sends it: the server
     * must take it whichever thread the kernel picks (app/signals.h). */
    kill(srv->pid, SIGTERM);
    int status = wait_exit(srv->pid, STOP_TIMEOUT_MS);
    if (status == -1) {
        kill(srv->pid, SIGKILL);
        wait_exit(srv->pid, STOP_TIMEOUT_MS);
    }
    int rc = describe_status(srv, status);
    reaped(srv);
    return rc;
}

void mpt_server_kill9(mpt_server_t *srv)
{
    if (!srv || srv->pid <= 0)
        return;
    kill(srv->pid, SIGKILL);
    wait_exit(srv->pid, STOP_TIMEOUT_MS);
    reaped(srv);
}

int mpt_server_stop(mpt_server_t *srv)
{
    if (!srv)
        return 0;
    int rc = mpt_server_terminate(srv);
    int slot = registry_slot(srv);
    if (slot >= 0)
        servers[slot] = NULL;
    remove_tree(srv->data_dir);
    if (srv->db_name[0] && mpt_pg_drop(srv->db_name) < 0 && rc == 0)
        rc = -1;
    for (int i = 0; i < srv->n_extra; i++)
        free(srv->extra[i]);
    free(srv->extra);
    free(srv);
    return rc;
}

int mpt_server_restart(mpt_server_t *srv)
{
    if (srv->pid > 0 && mpt_server_terminate(srv) != 0)
        fprintf(stderr, "harness: restart: the previous run did not exit cleanly\n");
    /* The old port may be in TIME_WAIT or briefly held; retry a bounded time,
     * then take any free port rather than fail the test. */
    for (int attempt = 0; attempt < 50; attempt++) {
        if (launch(srv, srv->port) == 0)
            return 0;
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "harness: restart: port %d stays busy, taking another\n", srv->port);
    return launch(srv, 0);
}

void mpt_server_set_flags(mpt_server_t *srv, const char *const *extra)
{
    for (int i = 0; i < srv->n_extra; i++)
        free(srv->extra[i]);
    free(srv->extra);
    srv->n_extra = 0;
    for (const char *const *e = extra; e && *e; e++)
        srv->n_extra++;
    srv->extra = calloc((size_t)srv->n_extra + 1, sizeof *srv->extra);
    for (int i = 0; i < srv->n_extra; i++)
        srv->extra[i] = strdup(extra[i]);
}

const char *mpt_server_path(const mpt_server_t *srv, const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", srv->data_dir, name);
    return path;
}

/* ---- the server's database ---- */

bool mpt_backend_pg(void)
{
    const char *dir = getenv("MAGPIE_TEST_PG_DIR");
    return dir && *dir;
}

/* The test cluster's URL (of its `postgres` database), from
 * $MAGPIE_TEST_PG_DIR/url; NULL after printing why. Read once. */
static const char *pg_admin_url(void)
{
    static char url[512];
    if (url[0])
        return url;
    const char *dir = getenv("MAGPIE_TEST_PG_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/url", dir ? dir : "");
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "harness: %s: %s (is the test cluster running? see docs/testing.md)\n",
                path, strerror(errno));
        return NULL;
    }
    char line[sizeof url];
    bool ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    line[ok ? strcspn(line, "\r\n") : 0] = '\0';
    if (!line[0]) {
        fprintf(stderr, "harness: %s is empty\n", path);
        return NULL;
    }
    snprintf(url, sizeof url, "%s", line);
    return url;
}

/* A session on url (a bounded connect); NULL after printing why. */
static PGconn *pg_connect(const char *url)
{
    const char *keys[] = {"dbname", "connect_timeout", NULL};
    const char *vals[] = {url, "10", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "harness: connect to %s: %s", url, PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* Runs one administrative statement on the cluster's `postgres` database.
 * Returns 0, the SQLSTATE of the error in state (when given), or -1. */
static int pg_admin(const char *sql, char state[6])
{
    const char *admin = pg_admin_url();
    PGconn *c = admin ? pg_connect(admin) : NULL;
    if (!c)
        return -1;
    PGresult *r = PQexec(c, sql);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (state)
            snprintf(state, 6, "%s", st ? st : "");
        if (!state || !st || strcmp(state, "42P04") != 0)
            fprintf(stderr, "harness: %.*s: %s", SQL_SHOWN, sql, PQerrorMessage(c));
        rc = -1;
    }
    PQclear(r);
    PQfinish(c);
    return rc;
}

int mpt_pg_create(char name[64], char url[512])
{
    static atomic_uint counter;
    const char *admin = pg_admin_url();
    const char *auth = admin ? strstr(admin, "://") : NULL;
    if (!auth) {
        fprintf(stderr, "harness: the test cluster's url is not a postgresql:// URL\n");
        return -1;
    }
    snprintf(name, 64, "magpie_e2e_%ld_%u", (long)getpid(), atomic_fetch_add(&counter, 1) + 1);
    char sql[256], state[6] = "";
    snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8'", name);
    if (pg_admin(sql, state) < 0) {
        /* duplicate_database: left by a killed test process that had this
         * pid; that process is gone, so its database can go too. */
        if (strcmp(state, "42P04") != 0 || mpt_pg_drop(name) < 0 || pg_admin(sql, NULL) < 0)
            return -1;
    }
    /* The same URL with the database replaced: scheme://authority/<name>,
     * any ?parameters kept. */
    size_t plen = (size_t)(auth + 3 - admin) + strcspn(auth + 3, "/?");
    const char *query = strchr(admin, '?');
    snprintf(url, 512, "%.*s/%s%s", (int)plen, admin, name, query ? query : "");
    return 0;
}

int mpt_pg_drop(const char *name)
{
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    return pg_admin(sql, NULL);
}

/* ---- a PostgreSQL cluster of the test's own ---- */

/* Runs `$MAGPIE_PG_SCRIPT cmd dir` (its output goes to the test's stderr)
 * and waits for it, bounded. Returns 0 when it exited with 0. */
static int pg_script(const char *cmd, const char *dir)
{
    const char *script = getenv("MAGPIE_PG_SCRIPT");
    if (!script || !*script) {
        fprintf(stderr, "harness: MAGPIE_PG_SCRIPT is not set (run through ctest)\n");
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execl(script, script, cmd, dir, (char *)NULL);
        dprintf(STDERR_FILENO, "exec %s: %s\n", script, strerror(errno));
        _exit(127);
    }
    if (pid < 0)
        return -1;
    /* The script's own waits are 60 s for a start and 30 s for a stop. */
    int status = wait_exit(pid, 120000);
    if (status == -1) {
        kill(pid, SIGKILL);
        wait_exit(pid, STOP_TIMEOUT_MS);
        fprintf(stderr, "harness: %s %s %s did not finish in 120 s\n", script, cmd, dir);
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "harness: %s %s %s failed\n", script, cmd, dir);
        return -1;
    }
    return 0;
}

/* Reads DIR/name's first line into out; 0 or -1. */
static int read_line_file(const char *dir, const char *name, char *out, size_t cap)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    bool ok = fgets(out, (int)cap, f) != NULL;
    fclose(f);
    out[ok ? strcspn(out, "\r\n") : 0] = '\0';
    return out[0] ? 0 : -1;
}

static int own_pg_slot(const mpt_pg_own_t *pg)
{
    for (int i = 0; i < MAX_OWN_PG; i++)
        if (own_pgs[i] == pg)
            return i;
    return -1;
}

/* After a start or restart: the postmaster's pid from DIR/pid. */
static int own_pg_learn_pid(mpt_pg_own_t *pg)
{
    char line[32];
    if (read_line_file(pg->dir, "pid", line, sizeof line) < 0) {
        fprintf(stderr, "harness: no %s/pid\n", pg->dir);
        return -1;
    }
    pg->pid = (pid_t)atol(line);
    int slot = own_pg_slot(pg);
    if (slot >= 0)
        own_pg_pids[slot] = pg->pid;
    return 0;
}

int mpt_pg_own_start(mpt_pg_own_t *pg)
{
    static atomic_uint counter;
    registry_init();
    int slot = own_pg_slot(NULL);
    if (slot < 0) {
        fprintf(stderr, "harness: too many PostgreSQL clusters\n");
        return -1;
    }
    memset(pg, 0, sizeof *pg);
    /* Next to the shared test cluster (the build directory), else in TMPDIR. */
    const char *base = getenv("MAGPIE_TEST_PG_DIR");
    const char *tmp = getenv("TMPDIR");
    if (base && *base)
        snprintf(pg->dir, sizeof pg->dir, "%s-own-%ld-%u", base, (long)getpid(),
                 atomic_fetch_add(&counter, 1) + 1);
    else
        snprintf(pg->dir, sizeof pg->dir, "%s/magpie-pg-own-%ld-%u", tmp && *tmp ? tmp : "/tmp",
                 (long)getpid(), atomic_fetch_add(&counter, 1) + 1);
    own_pgs[slot] = pg;
    if (pg_script("start", pg->dir) < 0 || own_pg_learn_pid(pg) < 0 ||
        read_line_file(pg->dir, "url", pg->url, sizeof pg->url) < 0) {
        fprintf(stderr, "harness: no PostgreSQL of our own in %s\n", pg->dir);
        mpt_pg_own_stop(pg);
        return -1;
    }
    return 0;
}

int mpt_pg_own_restart(mpt_pg_own_t *pg)
{
    if (pg_script("restart", pg->dir) < 0)
        return -1;
    return own_pg_learn_pid(pg);
}

int mpt_pg_own_stop(mpt_pg_own_t *pg)
{
    int slot = own_pg_slot(pg);
    if (slot < 0)
        return 0; /* not running (never started, or stopped already) */
    int rc = pg_script("stop", pg->dir);
    own_pgs[slot] = NULL;
    own_pg_pids[slot] = 0;
    pg->pid = 0;
    return rc;
}

/* srv's database file for the SQLite helpers; NULL after printing why. */
static sqlite3 *sqlite_open(const mpt_server_t *srv, int flags)
{
    sqlite3 *db = NULL;
    const char *path = mpt_server_path(srv, "magpie.db");
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        fprintf(stderr, "harness: open %s: %s\n", path, db ? sqlite3_errmsg(db) : "?");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
}

int mpt_db_exec(const mpt_server_t *srv, const char *sql)
{
    int rc = -1;
    if (srv->db_url[0]) {
        PGconn *c = pg_connect(srv->db_url);
        if (!c)
            return -1;
        PGresult *r = PQexec(c, sql);
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
            rc = 0;
        else
            fprintf(stderr, "harness: %.*s: %s", SQL_SHOWN, sql, PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        return rc;
    }
    sqlite3 *db = sqlite_open(srv, SQLITE_OPEN_READWRITE);
    if (!db)
        return -1;
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK)
        rc = 0;
    else
        fprintf(stderr, "harness: %.*s: %s\n", SQL_SHOWN, sql, err ? err : sqlite3_errmsg(db));
    sqlite3_free(err);
    sqlite3_close(db);
    return rc;
}

/* Parses an integer column's text (PostgreSQL's text results). */
static int parse_i64(const char *sql, const char *v, long long *out)
{
    if (strcmp(v, "t") == 0 || strcmp(v, "f") == 0) { /* a boolean */
        *out = v[0] == 't';
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end) {
        fprintf(stderr, "harness: %.*s: '%s' is not an integer\n", SQL_SHOWN, sql, v);
        return -1;
    }
    *out = n;
    return 0;
}

int mpt_db_i64(const mpt_server_t *srv, const char *sql, long long *out)
{
    int rc = -1;
    if (srv->db_url[0]) {
        PGconn *c = pg_connect(srv->db_url);
        if (!c)
            return -1;
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            fprintf(stderr, "harness: %.*s: %s", SQL_SHOWN, sql, PQerrorMessage(c));
        else if (PQntuples(r) < 1 || PQnfields(r) < 1)
            fprintf(stderr, "harness: %.*s: no row\n", SQL_SHOWN, sql);
        else if (PQgetisnull(r, 0, 0)) {
            *out = 0;
            rc = 0;
        } else
            rc = parse_i64(sql, PQgetvalue(r, 0, 0), out);
        PQclear(r);
        PQfinish(c);
        return rc;
    }
    sqlite3 *db = sqlite_open(srv, SQLITE_OPEN_READONLY);
    if (!db)
        return -1;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fprintf(stderr, "harness: %.*s: %s\n", SQL_SHOWN, sql, sqlite3_errmsg(db));
    else if (sqlite3_step(st) != SQLITE_ROW)
        fprintf(stderr, "harness: %.*s: no row (%s)\n", SQL_SHOWN, sql, sqlite3_errmsg(db));
    else {
        *out = sqlite3_column_int64(st, 0);
        rc = 0;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

/* ---- HTTP and account helpers ---- */

mpc_conn_t *mpt_connect(const mpt_server_t *srv)
{
    return mpc_connect(srv->host, srv->port, MPT_TIMEOUT);
}

/* ---- the run's secrets and logs (docs/testing.md, "Secrets in logs") ---- */

static pthread_mutex_t scan_mu = PTHREAD_MUTEX_INITIALIZER;

/* Appends line and a newline to the file $var names, if it is set. */
static void scan_append(const char *var, const char *line)
{
    const char *path = getenv(var);
    if (path == NULL || line == NULL)
        return;
    pthread_mutex_lock(&scan_mu);
    FILE *f = fopen(path, "ae");
    if (f != NULL) {
        fprintf(f, "%s\n", line);
        fclose(f);
    }
    pthread_mutex_unlock(&scan_mu);
}

/* The secret fields of a request or response body the harness saw go to
 * $MAGPIE_TEST_SECRETS: passwords, access and refresh tokens, invite-link
 * tokens. Short values (a test's deliberately bad password) are left out:
 * they could match innocent text. */
static void record_secrets(json_t *obj)
{
    static const char *const keys[] = {
        "password", "current_password", "new_password", "access_token", "refresh_token", "token",
        NULL};
    if (!json_is_object(obj))
        return;
    for (const char *const *k = keys; *k; k++) {
        const char *v = json_string_value(json_object_get(obj, *k));
        if (v != NULL && strlen(v) >= 12)
            scan_append("MAGPIE_TEST_SECRETS", v);
    }
}

void mpt_record_secret(const char *secret)
{
    if (secret != NULL && strlen(secret) >= 12)
        scan_append("MAGPIE_TEST_SECRETS", secret);
}

int mpt_http(const mpt_server_t *srv, const char *method, const char *path, const char *token,
             json_t *body, mpc_response_t *out)
{
    mpc_response_t tmp;
    mpc_response_t *r = out ? out : &tmp;
    mpc_conn_t *c = mpt_connect(srv);

    memset(r, 0, sizeof *r);
    if (!c)
        return MPC_ERR_IO;
    record_secrets(body);
    int rc = mpc_http_request(c, method, path, token, body, r, MPT_TIMEOUT);
    mpc_conn_free(c);
    if (rc != MPC_OK)
        return rc;
    record_secrets(r->json);
    int status = r->status;
    if (!out)
        mpc_response_free(&tmp);
    return status;
}

char *mpt_username(char out[33], const char *prefix)
{
    static unsigned counter;
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s%ldx%u", prefix ? prefix : "u", (long)getpid(), ++counter);
    for (char *p = tmp; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    size_t n = strnlen(tmp, 32); /* usernames are at most 32 characters */
    memcpy(out, tmp, n);
    out[n] = '\0';
    return out;
}

static void copy_str(char *dst, size_t cap, json_t *j)
{
    const char *s = json_string_value(j);
    snprintf(dst, cap, "%s", s ? s : "");
}

int mpt_register(const mpt_server_t *srv, const char *username, const char *password,
                 char user_id_out[24])
{
    mpc_response_t r;
    json_t *body = json_pack("{s:s, s:s}", "username", username, "password", password);
    int status = mpt_http(srv, "POST", "/v1/auth/register", NULL, body, &r);
    json_decref(body);
    if (status == 201 && user_id_out)
        copy_str(user_id_out, 24, json_object_get(r.json, "user_id"));
    mpc_response_free(&r);
    return status;
}

int mpt_login(const mpt_server_t *srv, const char *username, const char *password,
              const char *device_name, mpt_session_t *s)
{
    mpc_response_t r;
    json_t *body = json_pack("{s:s, s:s}", "username", username, "password", password);
    if (device_name)
        json_object_set_new(body, "device_name", json_string(device_name));
    int status = mpt_http(srv, "POST", "/v1/auth/login", NULL, body, &r);
    json_decref(body);
    if (status == 200) {
        memset(s, 0, sizeof *s);
        snprintf(s->username, sizeof s->username, "%s", username);
        snprintf(s->password, sizeof s->password, "%s", password);
        copy_str(s->user_id, sizeof s->user_id, json_object_get(r.json, "user_id"));
        copy_str(s->device_id, sizeof s->device_id, json_object_get(r.json, "device_id"));
        copy_str(s->access, sizeof s->access, json_object_get(r.json, "access_token"));
        copy_str(s->refresh, sizeof s->refresh, json_object_get(r.json, "refresh_token"));
    }
    mpc_response_free(&r);
    return status;
}

int mpt_user_new(const mpt_server_t *srv, const char *prefix, mpt_session_t *s)
{
    char name[33];
    const char *password = "correct horse 1";
    mpt_username(name, prefix);
    int status = mpt_register(srv, name, password, NULL);
    if (status != 201) {
        fprintf(stderr, "harness: register %s: status %d\n", name, status);
        return -1;
    }
    status = mpt_login(srv, name, password, "e2e", s);
    if (status != 200) {
        fprintf(stderr, "harness: login %s: status %d\n", name, status);
        return -1;
    }
    return 0;
}

int mpt_device_new(const mpt_server_t *srv, const mpt_session_t *s, mpt_session_t *other)
{
    int status = mpt_login(srv, s->username, s->password, "e2e-2", other);
    if (status != 200) {
        fprintf(stderr, "harness: login %s: status %d\n", s->username, status);
        return -1;
    }
    return 0;
}

mpc_ws_t *mpt_ws_open(const mpt_server_t *srv, const char *token)
{
    mpc_ws_t *ws = NULL;
    int status = 0;
    int rc = mpc_ws_connect(srv->host, srv->port, "/v1/ws", token, NULL, &ws, &status, MPT_TIMEOUT);
    if (rc != MPC_OK) {
        fprintf(stderr, "harness: websocket: %s (status %d)\n", mpc_strerror(rc), status);
        return NULL;
    }
    return ws;
}

json_t *mpt_ws_call(mpc_ws_t *ws, const char *type, json_t *fields)
{
    json_t *req = json_object();
    json_t *reply = NULL;
    if (fields)
        json_object_update(req, fields);
    json_object_set_new(req, "type", json_string(type));
    int rc = mpc_ws_request(ws, req, MPT_TIMEOUT, &reply);
    json_decref(req);
    if (rc != MPC_OK) {
        fprintf(stderr, "harness: ws %s: %s\n", type, mpc_strerror(rc));
        return NULL;
    }
    return reply;
}

const char *mpt_error_code(const json_t *j)
{
    json_t *err = j ? json_object_get(j, "error") : NULL;
    return json_string_value(json_object_get(err, "code"));
}

unsigned char *mpt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    size_t cap = 0, n = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (n + 1 >= cap) {
            cap = cap ? cap * 2 : 4096;
            data = realloc(data, cap);
        }
        size_t got = fread(data + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    data[n] = '\0'; /* text files can be searched as strings */
    *len = n;
    return data;
}

/* ---- nats-server ---- */

#define NATS_READY_MARKER "Server is ready"

typedef struct nats_fwd {
    pthread_t th;
    int fd, port;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool ready, eof;
} nats_fwd_t;

static void nats_line(void *arg, const char *line)
{
    nats_fwd_t *f = arg;
    fprintf(stderr, "[nats:%d] %s\n", f->port, line);
    if (strstr(line, NATS_READY_MARKER) != NULL) {
        pthread_mutex_lock(&f->mu);
        f->ready = true;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
    }
}

static void *nats_fwd_main(void *arg)
{
    nats_fwd_t *f = arg;
    read_lines(f->fd, nats_line, f);
    pthread_mutex_lock(&f->mu);
    f->eof = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void other_pid_set(pid_t old, pid_t pid)
{
    for (int i = 0; i < MAX_OTHERS; i++)
        if (other_pids[i] == old) {
            other_pids[i] = pid;
            return;
        }
}

static void nats_reap(mpt_nats_t *n, int status_wait_ms)
{
    if (wait_exit(n->pid, status_wait_ms) == -1) {
        kill(n->pid, SIGKILL);
        wait_exit(n->pid, STOP_TIMEOUT_MS);
    }
    other_pid_set(n->pid, 0);
    n->pid = 0;
    nats_fwd_t *f = n->fwd;
    if (f != NULL) {
        pthread_join(f->th, NULL);
        close(f->fd);
        pthread_mutex_destroy(&f->mu);
        pthread_cond_destroy(&f->cv);
        free(f);
    }
    n->fwd = NULL;
}

int mpt_nats_start(mpt_nats_t *n, int port)
{
    registry_init();
    if (port == 0)
        port = free_port();
    if (port <= 0) {
        fprintf(stderr, "harness: no free port for nats-server\n");
        return -1;
    }
    n->port = port;
    snprintf(n->url, sizeof n->url, "nats://127.0.0.1:%d", port);
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -1;
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(pfd[1], STDERR_FILENO);
        execlp("nats-server", "nats-server", "-a", "127.0.0.1", "-p", port_s, (char *)NULL);
        dprintf(STDERR_FILENO, "exec nats-server: %s (Debian: apt-get install nats-server)\n",
                strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        return -1;
    }
    other_pid_set(0, pid);
    nats_fwd_t *f = calloc(1, sizeof *f);
    f->fd = pfd[0];
    f->port = port;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    pthread_create(&f->th, NULL, nats_fwd_main, f);
    n->pid = pid;
    n->fwd = f;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += START_TIMEOUT_MS / 1000;
    pthread_mutex_lock(&f->mu);
    while (!f->ready && !f->eof)
        if (pthread_cond_timedwait(&f->cv, &f->mu, &ts) == ETIMEDOUT)
            break;
    bool ready = f->ready;
    pthread_mutex_unlock(&f->mu);
    if (!ready) {
        fprintf(stderr, "harness: nats-server on port %d did not get ready\n", port);
        kill(pid, SIGKILL);
        nats_reap(n, STOP_TIMEOUT_MS);
        return -1;
    }
    return 0;
}

void mpt_nats_kill9(mpt_nats_t *n)
{
    if (n->pid <= 0)
        return;
    kill(n->pid, SIGKILL);
    nats_reap(n, STOP_TIMEOUT_MS);
}

void mpt_nats_stop(mpt_nats_t *n)
{
    if (n->pid <= 0)
        return;
    kill(n->pid, SIGTERM);
    nats_reap(n, STOP_TIMEOUT_MS);
}

/* ---- running the magpie binary ---- */

/* Reads what is ready on fd into buf (at most cap - 1 bytes in all); false
 * once it reached the end. */
static bool drain_into(int fd, char *buf, size_t cap, size_t *len)
{
    char scratch[4096];
    size_t room = cap - 1 - *len;
    ssize_t r = read(fd, room > 0 ? buf + *len : scratch, room > 0 ? room : sizeof scratch);
    if (r <= 0)
        return r < 0 && errno == EINTR;
    if (room > 0)
        *len += (size_t)r;
    return true;
}

int mpt_magpie(const char *password, int timeout_ms, char *out, size_t outlen, char *err,
               size_t errlen, const char *first, ...)
{
    mpt_record_secret(password);
    const char *argv[32];
    int argc = 0;
    argv[argc++] = getenv("MAGPIE_BIN");
    if (argv[0] == NULL) {
        fprintf(stderr, "harness: MAGPIE_BIN is not set (run through ctest)\n");
        return -1;
    }
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a != NULL && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(pe, O_CLOEXEC) != 0) {
        close(po[0]);
        close(po[1]);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(po[1], STDOUT_FILENO);
        dup2(pe[1], STDERR_FILENO);
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, STDIN_FILENO);
        if (password != NULL)
            setenv("MAGPIE_PASSWORD", password, 1);
        else
            unsetenv("MAGPIE_PASSWORD");
        unsetenv("MAGPIE_CONFIG");
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    if (pid < 0) {
        close(po[0]);
        close(pe[0]);
        return -1;
    }
    size_t no = 0, ne = 0;
    long long deadline = mpt_mono_ms() + timeout_ms;
    bool open_o = true, open_e = true, timed_out = false;
    while (open_o || open_e) {
        struct pollfd p[2] = {{.fd = open_o ? po[0] : -1, .events = POLLIN},
                              {.fd = open_e ? pe[0] : -1, .events = POLLIN}};
        long long left = deadline - mpt_mono_ms();
        if (left <= 0) {
            kill(pid, SIGKILL);
            timed_out = true;
            break;
        }
        poll(p, 2, (int)left);
        if (open_o && (p[0].revents & (POLLIN | POLLHUP)))
            open_o = drain_into(po[0], out, outlen, &no);
        if (open_e && (p[1].revents & (POLLIN | POLLHUP)))
            open_e = drain_into(pe[0], err, errlen, &ne);
    }
    out[no] = '\0';
    err[ne] = '\0';
    close(po[0]);
    close(pe[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out) {
        fprintf(stderr, "harness: magpie %s did not finish within %d ms\n", first, timeout_ms);
        return -1;
    }
    if (!WIFEXITED(status)) {
        fprintf(stderr, "harness: magpie %s died of signal %d\n", first, WTERMSIG(status));
        return -1;
    }
    return WEXITSTATUS(status);
}
