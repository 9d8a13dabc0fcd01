/* End-to-end tests of what an operator meets first: one server per data
 * directory, a port clash that leaves no trace, private file modes, and a full
 * disk answered as "unavailable" (with readyz failing until writes succeed
 * again) without losing anything stored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_chat_util.h"

extern char **environ;

/* A `magpie serve` started by the test itself (the harness always picks its
 * own data dir), with its stderr on a pipe we read; on PostgreSQL db_url is
 * its database (passed as --database postgres --database_url db_url). */
typedef struct spawned {
    pid_t pid;
    int err_fd;
    char out[16384]; /* everything it wrote to stderr so far */
    size_t len;
} spawned_t;

/* The spawned server still running, if any, and a data dir of the test's
 * own: a failed assertion leaves its test case early, and a server left
 * running would hold CTest's output pipe (and its database) until the test's
 * timeout. Both go at exit. */
static pid_t running;
static char own_dir[64];

static void at_exit_cleanup(void)
{
    if (running > 0)
        kill(running, SIGKILL);
    if (own_dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", own_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", own_dir);
    }
}

static void spawn_serve(spawned_t *sp, const char *listen, const char *data, const char *db_url)
{
    const char *bin = getenv("MAGPIE_BIN");
    assert_non_null(bin);
    int p[2];
    assert_int_equal(pipe(p), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    const char *argv[16] = {bin,      "serve", "--listen",    listen,
                            "--data", data,    "--log_level", "info"};
    if (db_url != NULL && db_url[0] != '\0') { /* else SQLite, the default */
        argv[8] = "--database";
        argv[9] = "postgres";
        argv[10] = "--database_url";
        argv[11] = db_url;
    }
    /* The server starts with no signal blocked and default dispositions,
     * whatever this test process (or its sanitizer runtime) has set. */
    posix_spawnattr_t at;
    sigset_t none, dflt;
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGTERM);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGPIPE);
    posix_spawnattr_init(&at);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dflt);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    memset(sp, 0, sizeof *sp);
    assert_int_equal(posix_spawn(&sp->pid, bin, &fa, &at, (char *const *)argv, environ), 0);
    running = sp->pid;
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    sp->err_fd = p[0];
}

/* Reads stderr until needle appears (true) or EOF / 10 s (false). */
static bool read_until(spawned_t *sp, const char *needle)
{
    int64_t deadline = mpt_mono_ms() + 10000;
    while (strstr(sp->out, needle) == NULL) {
        int64_t left = deadline - mpt_mono_ms();
        struct pollfd pfd = {.fd = sp->err_fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            return false;
        if (sp->len + 1 >= sizeof sp->out)
            return false;
        ssize_t n = read(sp->err_fd, sp->out + sp->len, sizeof sp->out - 1 - sp->len);
        if (n <= 0)
            return false;
        sp->len += (size_t)n;
        sp->out[sp->len] = '\0';
    }
    return true;
}

/* Polls (every 10 ms, for timeout_ms at most) for the process to exit.
 * Returns true with its wait status in *st once it has. */
static bool exited_within(spawned_t *sp, int timeout_ms, int *st)
{
    int64_t deadline = mpt_mono_ms() + timeout_ms;
    while (waitpid(sp->pid, st, WNOHANG) != sp->pid) {
        if (mpt_mono_ms() > deadline)
            return false;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling a bounded wait for exit, not a synchronisation */
    }
    running = 0; /* reaped: the pid is no longer ours to kill */
    return true;
}

/* After the exit (or a kill): the rest of its stderr, to EOF; its exit code,
 * or -1 when it did not exit by itself with one. */
static int reap(spawned_t *sp, bool exited, int st)
{
    if (!exited) {
        kill(sp->pid, SIGKILL);
        waitpid(sp->pid, &st, 0);
    }
    running = 0;
    read_until(sp, "\x01never\x01");
    close(sp->err_fd);
    return exited && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Waits (10 s at most) for the process to exit by itself; returns its exit
 * code, or -1 after killing it. */
static int wait_exit(spawned_t *sp)
{
    int st = 0;
    bool exited = exited_within(sp, 10000, &st);
    return reap(sp, exited, st);
}

/* One SIGTERM to the process; it must exit with 0 within 10 s. */
static void stop_spawned(spawned_t *sp)
{
    int st = 0;
    kill(sp->pid, SIGTERM);
    bool exited = exited_within(sp, 10000, &st);
    int code = reap(sp, exited, st);
    if (code != 0)
        fail_msg("server exit %d (-1: no exit within 10 s or killed), stderr:\n%s", code, sp->out);
}

static void test_second_server_on_same_data_dir_refused(void **state)
{
    (void)state;
    mpt_server_t *srv = mpt_server_start(NULL);
    assert_non_null(srv);
    spawned_t sp;
    spawn_serve(&sp, "127.0.0.1:0", srv->data_dir, srv->db_url);
    int code = wait_exit(&sp);
    if (code != 1)
        fail_msg("second server on the same data dir: exit %d, stderr:\n%s", code, sp.out);
    assert_non_null(strstr(sp.out, "is in use by another magpie server"));
    char pid[32];
    snprintf(pid, sizeof pid, "pid %d", (int)srv->pid);
    assert_non_null(strstr(sp.out, pid));
    /* The first server is unharmed. */
    mpc_response_t r;
    assert_int_equal(mpt_http(srv, "GET", "/readyz", NULL, NULL, &r), 200);
    mpc_response_free(&r);
    assert_int_equal(mpt_server_stop(srv), 0);
}

static void test_lock_released_after_kill9(void **state)
{
    (void)state;
    mpt_server_t *srv = mpt_server_start(NULL);
    assert_non_null(srv);
    mpt_server_kill9(srv);
    assert_int_equal(mpt_server_restart(srv), 0);
    assert_int_equal(mpt_server_stop(srv), 0);
}

static void test_port_clash_leaves_no_trace(void **state)
{
    (void)state;
    mpt_server_t *srv = mpt_server_start(NULL);
    assert_non_null(srv);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/not-created", srv->data_dir);
    spawned_t sp;
    spawn_serve(&sp, srv->hostport, dir, srv->db_url);
    int code = wait_exit(&sp);
    if (code != 1)
        fail_msg("port clash: exit %d, stderr:\n%s", code, sp.out);
    assert_non_null(strstr(sp.out, "cannot listen on"));
    struct stat st;
    if (stat(dir, &st) == 0)
        fail_msg("a server that could not listen created %s", dir);
    assert_int_equal(mpt_server_stop(srv), 0);
}

static void assert_private(const char *dir, const char *name)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("%s: %s", path, strerror(errno));
    if ((st.st_mode & 077) != 0)
        fail_msg("%s has mode %03o; expected no access for group and others", path,
                 (unsigned)(st.st_mode & 0777));
}

static void test_files_private_under_loose_umask(void **state)
{
    (void)state;
    char dir[] = "/tmp/magpie-modes-XXXXXX";
    assert_non_null(mkdtemp(dir));
    snprintf(own_dir, sizeof own_dir, "%s", dir);
    assert_int_equal(chmod(dir, 0755), 0);
    char db_name[64] = "", db_url[512] = "";
    if (mpt_backend_pg())
        assert_int_equal(mpt_pg_create(db_name, db_url), 0);
    mode_t old = umask(022);
    spawned_t sp;
    spawn_serve(&sp, "127.0.0.1:0", dir, db_url);
    umask(old);
    if (!read_until(&sp, "listening on 127.0.0.1:"))
        fail_msg("server did not start:\n%s", sp.out);
    assert_non_null(strstr(sp.out, "is accessible by other users"));
    if (!mpt_backend_pg()) {
        /* The WAL and shared-memory files exist once the server has written. */
        assert_private(dir, "magpie.db");
        assert_private(dir, "magpie.db-wal");
        assert_private(dir, "magpie.db-shm");
    } else {
        /* The database is PostgreSQL's: no SQLite file is made beside it. */
        char path[700];
        struct stat st;
        snprintf(path, sizeof path, "%s/magpie.db", dir);
        assert_int_equal(stat(path, &st), -1);
    }
    assert_private(dir, "jwt.secret");
    assert_private(dir, "magpie.lock");
    stop_spawned(&sp);
    if (db_name[0])
        assert_int_equal(mpt_pg_drop(db_name), 0);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    own_dir[0] = '\0';
}

static int http_status(const mpt_server_t *srv, const char *path)
{
    mpc_response_t r;
    int st = mpt_http(srv, "GET", path, NULL, NULL, &r);
    if (st > 0)
        mpc_response_free(&r);
    return st;
}

static void set_fsize(pid_t pid, rlim_t cur)
{
    struct rlimit old, lim;
    assert_int_equal(prlimit(pid, RLIMIT_FSIZE, NULL, &old), 0);
    lim.rlim_cur = cur;
    lim.rlim_max = old.rlim_max;
    assert_int_equal(prlimit(pid, RLIMIT_FSIZE, &lim, NULL), 0);
}

/* A file-size limit makes every database write fail with EFBIG, as a full
 * disk does with ENOSPC: the server must answer "unavailable", fail readyz,
 * keep everything acked, and recover by itself once writes succeed again. */
static void test_disk_full_is_unavailable_and_recovers(void **state)
{
    (void)state;
    if (mpt_backend_pg()) {
        /* The limit acts on the magpie process's own writes: on PostgreSQL
         * the database's writes are the PostgreSQL server's, which this
         * test cannot make fail. */
        fprintf(stderr, "skipped on PostgreSQL: a full disk is tested on SQLite's database file "
                        "(RLIMIT_FSIZE on magpie does not reach the PostgreSQL server)\n");
        skip();
    }
    const char *flags[] = {CHAT_FLAGS, NULL};
    mpt_server_t *srv = mpt_server_start(flags);
    assert_non_null(srv);
    chat_dev_t a, b;
    dev_new_user(srv, "full", &a);
    dev_new_user(srv, "full", &b);
    json_t *r = send_msg(a.ws, NULL, b.s.user_id, "1", "before");
    assert_true(is_ok(r));
    const char *conv_s = jstr(r, "conversation");
    assert_non_null(conv_s);
    char conv[24];
    snprintf(conv, sizeof conv, "%s", conv_s);
    json_decref(r);

    set_fsize(srv->pid, 1);
    r = send_msg(a.ws, conv, NULL, "2", "while full");
    assert_non_null(r);
    if (mpt_error_code(r) == NULL || strcmp(mpt_error_code(r), "unavailable") != 0) {
        char *d = json_dumps(r, JSON_COMPACT);
        fail_msg("send on a full disk: %s", d);
    }
    json_decref(r);
    assert_int_equal(http_status(srv, "/readyz"), 503);
    assert_int_equal(http_status(srv, "/healthz"), 200);
    /* readyz keeps failing while the disk refuses writes (its probe fails). */
    assert_int_equal(http_status(srv, "/readyz"), 503);

    set_fsize(srv->pid, RLIM_INFINITY);
    int64_t deadline = mpt_mono_ms() + 5000;
    while (http_status(srv, "/readyz") != 200) {
        if (mpt_mono_ms() > deadline)
            fail_msg("readyz did not recover within 5 s after space came back");
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL); /* bounded poll of readyz, as a load balancer does */
    }
    r = send_msg(a.ws, conv, NULL, "3", "after");
    assert_true(is_ok(r));
    assert_int_equal(jint(r, "seq"), 2); /* gap-free: the refused send took no seq */
    json_decref(r);

    dev_close(&a);
    dev_close(&b);
    mpt_server_kill9(srv);
    assert_int_equal(mpt_server_restart(srv), 0);
    dev_open(srv, &a);
    json_t *all = all_history(a.ws, conv);
    assert_int_equal(json_array_size(all), 2);
    assert_string_equal(jstr(json_array_get(all, 0), "text"), "before");
    assert_string_equal(jstr(json_array_get(all, 1), "text"), "after");
    json_decref(all);
    dev_close(&a);
    assert_int_equal(mpt_server_stop(srv), 0);
}

/* The mask of one thread of `pid` (SigBlk in its status), or 0 if unreadable. */
static unsigned long long thread_sigblk(pid_t pid, const char *tid, char name[32])
{
    char path[128], line[256];
    unsigned long long blk = 0;
    snprintf(path, sizeof path, "/proc/%d/task/%s/status", (int)pid, tid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "Name:", 5) == 0)
            snprintf(name, 32, "%s", line + 6);
        else if (sscanf(line, "SigBlk: %llx", &blk) == 1)
            break;
    }
    fclose(f);
    return blk;
}

/* SIGTERM and SIGINT are blocked in every thread of a running server and
 * taken by its signal thread alone: sent to the process, a signal that
 * landed in a thread asleep in the store or the I/O pool could be lost (a
 * sanitizer's runtime defers it there), and the server would not stop. */
static void test_shutdown_signals_blocked_in_every_thread(void **state)
{
    (void)state;
    mpt_server_t *srv = mpt_server_start(NULL);
    assert_non_null(srv);
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)srv->pid);
    DIR *d = opendir(dir);
    assert_non_null(d);
    const unsigned long long want = (1ULL << (SIGTERM - 1)) | (1ULL << (SIGINT - 1));
    int threads = 0;
    bool signal_thread = false;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char name[32] = "";
        unsigned long long blk = thread_sigblk(srv->pid, e->d_name, name);
        threads++;
        /* Inside sigwait() the kernel unblocks what the thread waits for. */
        if (strncmp(name, "mp-signals", 10) == 0) {
            signal_thread = true;
            continue;
        }
        if ((blk & want) != want)
            fail_msg("thread %s (%.*s) does not block SIGTERM and SIGINT: SigBlk %016llx",
                     e->d_name, (int)strcspn(name, "\n"), name, blk);
    }
    closedir(d);
    assert_true(threads >= 3); /* the loop, the store's writer, the signal thread */
    assert_true(signal_thread);
    /* And one SIGTERM to the process stops it (mpt_server_stop sends one). */
    assert_int_equal(mpt_server_stop(srv), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_server_on_same_data_dir_refused),
        cmocka_unit_test(test_lock_released_after_kill9),
        cmocka_unit_test(test_port_clash_leaves_no_trace),
        cmocka_unit_test(test_shutdown_signals_blocked_in_every_thread),
        cmocka_unit_test(test_files_private_under_loose_umask),
        cmocka_unit_test(test_disk_full_is_unavailable_and_recovers),
    };
    atexit(at_exit_cleanup);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
