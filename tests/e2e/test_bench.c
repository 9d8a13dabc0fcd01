/* End-to-end tests of `magpie bench`: each scenario runs briefly against a
 * real server and must report consistent counts (sent = acked = delivered,
 * no errors). Benchmarks are never timed tests: counts, not speed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* Generous per-user limits: the bench, not the limiter, is under test. */
static const char *const fast_flags[] = {"--send_rate", "100000", "--send_burst", "100000",
                                         "--login_rate", "10000",
                                         /* setup registers every user from 127.0.0.1 */
                                         "--register_rate", "10000", NULL};

static mpt_server_t *srv;

static int setup_server(void **state)
{
    (void)state;
    srv = mpt_server_start(fast_flags);
    return srv ? 0 : -1;
}

static int teardown_server(void **state)
{
    (void)state;
    return mpt_server_stop(srv) == 0 ? 0 : -1;
}

typedef struct run {
    int status;     /* exit status of magpie bench, or -1 */
    json_t *json;   /* the --json result, or NULL */
    char err[8192]; /* its stderr */
} run_t;

/* Runs `$MAGPIE_BIN bench <args...> --url <srv> --json <tmp> --no-progress`
 * and collects its exit status, JSON result and stderr. */
static void bench(const mpt_server_t *s, run_t *r, ...)
{
    const char *bin = getenv("MAGPIE_BIN");
    assert_non_null(bin);
    char url[128], json_path[] = "/tmp/magpie-bench-json-XXXXXX",
                   err_path[] = "/tmp/magpie-bench-err-XXXXXX";
    int jfd = mkstemp(json_path), efd = mkstemp(err_path);
    assert_true(jfd >= 0 && efd >= 0);
    close(jfd);
    snprintf(url, sizeof(url), "http://%s", s->hostport);

    const char *argv[64];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "bench";
    va_list ap;
    va_start(ap, r);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 56)
        argv[n++] = a;
    va_end(ap);
    argv[n++] = "--url";
    argv[n++] = url;
    argv[n++] = "--json";
    argv[n++] = json_path;
    argv[n++] = "--no-progress";
    argv[n] = NULL;

    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(efd, 2);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;

    ssize_t len = pread(efd, r->err, sizeof(r->err) - 1, 0);
    r->err[len > 0 ? len : 0] = '\0';
    close(efd);
    unlink(err_path);
    fprintf(stderr, "%s", r->err); /* the test log shows what the bench said */
    r->json = json_load_file(json_path, 0, NULL);
    unlink(json_path);
}

static uint64_t counter(const run_t *r, const char *name)
{
    json_t *v = json_object_get(json_object_get(r->json, "counters"), name);
    if (!json_is_integer(v))
        fail_msg("counter %s missing from the JSON result", name);
    return (uint64_t)json_integer_value(v);
}

static const char *prefix(void)
{
    static char buf[32];
    static unsigned n;
    snprintf(buf, sizeof(buf), "b%dx%u_", (int)getpid() % 100000, n++);
    return buf;
}

static void assert_messages_consistent(const run_t *r)
{
    assert_true(counter(r, "sent") > 0);
    assert_int_equal(counter(r, "acked"), counter(r, "sent"));
    assert_int_equal(counter(r, "delivered"), counter(r, "acked"));
    assert_int_equal(counter(r, "send_errors"), 0);
}

static void assert_clean(const run_t *r)
{
    assert_non_null(r->json);
    if (r->status != 0 || counter(r, "errors") != 0)
        fail_msg("bench exited %d with %llu errors", r->status,
                 (unsigned long long)counter(r, "errors"));
    assert_true(json_is_true(json_object_get(r->json, "ok")));
}

static void test_direct_fixed_rate(void **state)
{
    (void)state;
    run_t r;
    bench(srv, &r, "direct", "--setup", "--users-prefix", prefix(), "--pairs", "2", "--duration",
          "2", "--rate", "40", NULL);
    assert_clean(&r);
    assert_messages_consistent(&r);
    assert_int_equal(counter(&r, "conns_ok"), 4);
    /* ~80 at 40/s for 2 s; a loaded test machine may send fewer, never zero. */
    assert_true(counter(&r, "sent") <= 82);
    json_t *lat = json_object_get(r.json, "latency_ms");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(lat, "deliver"), "n")),
                     (json_int_t)counter(&r, "delivered"));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(lat, "ack"), "n")),
                     (json_int_t)counter(&r, "acked"));
    json_decref(r.json);
}

static void test_direct_max_two_procs(void **state)
{
    (void)state;
    run_t r;
    bench(srv, &r, "direct", "--setup", "--users-prefix", prefix(), "--pairs", "3", "--duration",
          "1", "--window", "4", "--procs", "2", NULL);
    assert_clean(&r);
    assert_messages_consistent(&r);
    assert_int_equal(counter(&r, "conns_ok"), 6);
    json_decref(r.json);
}

static void test_history(void **state)
{
    (void)state;
    run_t r;
    bench(srv, &r, "history", "--setup", "--users-prefix", prefix(), "--pairs", "2", "--duration",
          "1", "--seed", "30", "--limit", "20", "--window", "2", NULL);
    assert_clean(&r);
    assert_messages_consistent(&r);
    assert_int_equal(counter(&r, "sent"), 2 * 30);
    assert_true(counter(&r, "reads") > 0);
    assert_int_equal(counter(&r, "read_errors"), 0);
    json_decref(r.json);
}

/* Sync pages from the beginning: every one holds the seeded messages. */
static void test_sync(void **state)
{
    (void)state;
    run_t r;
    bench(srv, &r, "sync", "--setup", "--users-prefix", prefix(), "--pairs", "2", "--duration", "1",
          "--seed", "30", "--limit", "20", "--window", "2", NULL);
    assert_clean(&r);
    assert_messages_consistent(&r);
    assert_int_equal(counter(&r, "sent"), 2 * 30);
    assert_true(counter(&r, "reads") > 0);
    assert_int_equal(counter(&r, "read_errors"), 0);
    assert_string_equal(json_string_value(json_object_get(r.json, "scenario")), "sync");
    json_decref(r.json);
}

/* The search scenario seeds through the server and fails (exit 1) when any
 * search reply is not a result page. */
static void test_search(void **state)
{
    (void)state;
    run_t r;
    bench(srv, &r, "search", "--setup", "--users-prefix", prefix(), "--seed", "300", "--convs", "2",
          "--per-conv", "50", "--queries", "3", "--window", "8", NULL);
    if (r.status != 0)
        fail_msg("bench search exited %d: %s", r.status, r.err);
    json_decref(r.json);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* With --rate the queries start on a schedule: 8 queries of 6 runs each at
 * 20 a second cannot end in under 8 x 5 / 20 = 2 s (the query phase alone;
 * unpaced, the same 48 queries on this small database take milliseconds). */
static void test_search_rate(void **state)
{
    (void)state;
    run_t r;
    double t0 = now_s();
    bench(srv, &r, "search", "--setup", "--users-prefix", prefix(), "--seed", "50", "--convs", "1",
          "--per-conv", "10", "--queries", "6", "--rate", "20", NULL);
    double took = now_s() - t0;
    if (r.status != 0)
        fail_msg("bench search exited %d: %s", r.status, r.err);
    json_decref(r.json);
    if (took < 2.0)
        fail_msg("bench search --rate 20 ran 48 queries in %.2f s", took);
}

static void test_connect_with_sources_and_rss(void **state)
{
    (void)state;
    run_t r;
    char pid[16];
    snprintf(pid, sizeof(pid), "%d", (int)srv->pid);
    bench(srv, &r, "connect", "--setup", "--users-prefix", prefix(), "--connections", "40",
          "--users", "3", "--duration", "1.5", "--procs", "2", "--source-ips",
          "127.0.0.2-127.0.0.4", "--server-pid", pid, NULL);
    assert_clean(&r);
    assert_int_equal(counter(&r, "conns_ok"), 40);
    assert_int_equal(counter(&r, "conns_failed"), 0);
    assert_int_equal(counter(&r, "conns_open"), 40);
    json_t *server = json_object_get(r.json, "server");
    assert_non_null(server);
    assert_true(json_integer_value(json_object_get(server, "rss_base_kb")) > 0);
    json_decref(r.json);
}

/* A run that meets errors says so and exits non-zero: the default send rate
 * limit (20/s, burst 50) refuses most of an unthrottled run. */
static void test_errors_are_not_hidden(void **state)
{
    (void)state;
    mpt_server_t *strict = mpt_server_start(NULL);
    assert_non_null(strict);
    run_t r;
    bench(strict, &r, "direct", "--setup", "--users-prefix", prefix(), "--pairs", "1", "--duration",
          "1", "--window", "8", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(r.json);
    assert_true(counter(&r, "send_errors") > 0);
    assert_true(counter(&r, "errors") >= counter(&r, "send_errors"));
    assert_false(json_is_true(json_object_get(r.json, "ok")));
    /* What was acked was still delivered. */
    assert_int_equal(counter(&r, "delivered"), counter(&r, "acked"));
    assert_int_equal(counter(&r, "sent"), counter(&r, "acked") + counter(&r, "send_errors"));
    json_decref(r.json);

    /* Users that do not exist (no --setup): setup fails, exit 1. */
    bench(strict, &r, "direct", "--users-prefix", "nobody_here_", "--pairs", "1", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "login"));
    json_decref(r.json);
    assert_int_equal(mpt_server_stop(strict), 0);
}

static uint64_t group_field(const run_t *r, const char *name)
{
    json_t *v = json_object_get(json_object_get(r->json, "group"), name);
    if (!json_is_integer(v))
        fail_msg("group.%s missing from the JSON result", name);
    return (uint64_t)json_integer_value(v);
}

/* Every acked message reached every online device, and the per-message
 * "last device" latency covers each of them. */
static void assert_group_consistent(const run_t *r, uint64_t online)
{
    assert_clean(r);
    assert_true(counter(r, "sent") > 0);
    assert_int_equal(counter(r, "acked"), counter(r, "sent"));
    assert_int_equal(counter(r, "send_errors"), 0);
    assert_int_equal(group_field(r, "online"), online);
    assert_int_equal(group_field(r, "expected_deliveries"), counter(r, "acked") * online);
    assert_int_equal(counter(r, "delivered"), counter(r, "acked") * online);
    assert_int_equal(group_field(r, "complete"), counter(r, "acked"));
    assert_int_equal(group_field(r, "incomplete"), 0);
    json_t *last = json_object_get(json_object_get(r->json, "latency_ms"), "last");
    assert_int_equal(json_integer_value(json_object_get(last, "n")),
                     (json_int_t)counter(r, "acked"));
}

static void test_group_fanout(void **state)
{
    (void)state;
    run_t r;
    char accounts[] = "/tmp/magpie-bench-accounts-XXXXXX";
    int fd = mkstemp(accounts);
    assert_true(fd >= 0);
    close(fd);
    unlink(accounts); /* the bench creates it */
    const char *pfx = prefix();

    bench(srv, &r, "group", "--setup", "--users-prefix", pfx, "--members", "20", "--online", "10",
          "--procs", "2", "--rate", "10", "--duration", "2", "--accounts", accounts, NULL);
    assert_group_consistent(&r, 10);
    assert_int_equal(group_field(&r, "members"), 20);
    assert_int_equal(counter(&r, "conns_ok"), 11); /* the sender too */
    assert_true(counter(&r, "sent") <= 21);
    json_decref(r.json);

    /* The same users again, everyone online: ids and sessions come from the
     * --accounts file (refresh) or a login, never a second registration. */
    bench(srv, &r, "group", "--users-prefix", pfx, "--members", "20", "--procs", "3",
          "--source-ips", "127.0.0.2-127.0.0.3", "--rate", "20", "--duration", "1", "--accounts",
          accounts, NULL);
    assert_group_consistent(&r, 19);
    assert_int_equal(counter(&r, "conns_ok"), 20);
    json_decref(r.json);
    unlink(accounts);
}

static void test_usage(void **state)
{
    (void)state;
    run_t r;
    bench(srv, &r, "group", "--members", "5", "--online", "5", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--online"));
    json_decref(r.json);
    bench(srv, &r, "nonsense", NULL);
    assert_int_equal(r.status, 2);
    json_decref(r.json);
    bench(srv, &r, "direct", "--pairs", "zero", NULL);
    assert_int_equal(r.status, 2);
    json_decref(r.json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_fixed_rate),
        cmocka_unit_test(test_direct_max_two_procs),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_sync),
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_search_rate),
        cmocka_unit_test(test_connect_with_sources_and_rss),
        cmocka_unit_test(test_errors_are_not_hidden),
        cmocka_unit_test(test_group_fanout),
        cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
