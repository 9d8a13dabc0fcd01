/* GET /metrics: after registrations, logins, WebSocket sends (one a retry),
 * an unknown verb and a 404, the counters say exactly that, the histograms
 * are well formed, and `promtool check metrics` accepts the whole text.
 * metrics_listen moves /metrics to a listener of its own (and off the client
 * one); metrics = off answers 404. And the real Prometheus, scraping a
 * server every second on loopback, holds the series: its HTTP API answers
 * magpie_build_info and the registrations this test drove. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_chat_util.h"

/* GET path from host:port; the body (malloc'd) or NULL; *status set. */
static char *get(const char *host, int port, const char *path, int *status)
{
    *status = 0;
    mpc_conn_t *c = mpc_connect(host, port, MPT_TIMEOUT);
    if (c == NULL)
        return NULL;
    mpc_response_t r;
    memset(&r, 0, sizeof r);
    int rc = mpc_http_request(c, "GET", path, NULL, NULL, &r, MPT_TIMEOUT);
    mpc_conn_free(c);
    if (rc != MPC_OK)
        return NULL;
    *status = r.status;
    char *body = strdup(r.body ? r.body : "");
    mpc_response_free(&r);
    return body;
}

static char *scrape(const mpt_server_t *srv)
{
    mpc_conn_t *c = mpt_connect(srv);
    assert_non_null(c);
    mpc_response_t r;
    assert_int_equal(mpc_http_request(c, "GET", "/metrics", NULL, NULL, &r, MPT_TIMEOUT), MPC_OK);
    mpc_conn_free(c);
    assert_int_equal(r.status, 200);
    const char *ct = mpc_response_header(&r, "Content-Type");
    assert_non_null(ct);
    assert_non_null(strstr(ct, "text/plain; version=0.0.4"));
    char *body = strdup(r.body);
    mpc_response_free(&r);
    return body;
}

/* The value of the sample whose name and labels are exactly series, or -1. */
static double sample(const char *body, const char *series)
{
    size_t n = strlen(series);
    for (const char *l = body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, series, n) == 0 && l[n] == ' ')
            return strtod(l + n + 1, NULL);
    }
    return -1;
}

#define ASSERT_SAMPLE(body, series, want)                                                          \
    do {                                                                                           \
        double got_ = sample((body), (series));                                                    \
        if (got_ != (double)(want))                                                                \
            fail_msg("%s: %g, expected %g", (series), got_, (double)(want));                       \
    } while (0)

/* Every line is a comment or `name[{labels}] value`; each family has HELP
 * and TYPE before its samples; a histogram's buckets never decrease and its
 * +Inf bucket equals its _count. */
static void check_format(const char *body)
{
    assert_true(strlen(body) > 0 && body[strlen(body) - 1] == '\n');
    char *copy = strdup(body), *save = NULL;
    double last_bucket = -1;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (l[0] == '#') {
            assert_true(strncmp(l, "# HELP ", 7) == 0 || strncmp(l, "# TYPE ", 7) == 0);
            last_bucket = -1;
            continue;
        }
        char *sp = strrchr(l, ' ');
        assert_non_null(sp);
        char *end = NULL;
        double v = strtod(sp + 1, &end);
        assert_true(*end == '\0');
        if (strstr(l, "_bucket{le=")) {
            assert_true(v >= last_bucket);
            last_bucket = v;
        }
    }
    free(copy);
    static const char *const hists[] = {"magpie_store_batch_jobs",
                                        "magpie_store_transaction_seconds",
                                        "magpie_store_commit_seconds", "magpie_send_ack_seconds"};
    for (size_t i = 0; i < sizeof hists / sizeof hists[0]; i++) {
        char inf[128], count[128];
        snprintf(inf, sizeof inf, "%s_bucket{le=\"+Inf\"}", hists[i]);
        snprintf(count, sizeof count, "%s_count", hists[i]);
        assert_true(sample(body, count) >= 0);
        assert_true(sample(body, inf) == sample(body, count));
    }
}

/* `promtool check metrics` on body: its exit status (0 = valid, no lint). */
static void promtool_accepts(const char *body)
{
    char path[] = "/tmp/mpt-metrics-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
    close(fd);
    char cmd[256], out[4096] = "";
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    unlink(path);
    if (st != 0)
        fail_msg("promtool check metrics (status %d; is the prometheus package installed? "
                 "scripts/deps.sh): %s",
                 st, out);
}

static void test_counts(void **state)
{
    (void)state;
    mpt_server_t *srv = mpt_server_start((const char *const[]){CHAT_FLAGS, NULL});
    assert_non_null(srv);
    char *body = scrape(srv);
    check_format(body);
    ASSERT_SAMPLE(body, "magpie_messages_sent_total", 0);
    free(body);

    chat_dev_t a, b;
    dev_new_user(srv, "ma", &a);
    dev_new_user(srv, "mb", &b);
    assert_int_equal(mpt_http(srv, "GET", "/v1/no-such-thing", NULL, NULL, NULL), 404);
    json_t *r = send_msg(a.ws, NULL, b.s.user_id, "metrics-1", "hello");
    assert_true(is_ok(r));
    json_decref(r);
    r = send_msg(a.ws, NULL, b.s.user_id, "metrics-1", "hello"); /* the retry */
    assert_true(is_ok(r));
    assert_true(json_is_true(json_object_get(r, "duplicate")));
    json_decref(r);
    assert_err(call(a.ws, "no_such_verb", json_object()), "unknown_type");
    json_decref(next_event(b.ws, "message"));

    body = scrape(srv);
    check_format(body);
    ASSERT_SAMPLE(body, "magpie_messages_sent_total", 1);
    ASSERT_SAMPLE(body, "magpie_messages_deduplicated_total", 1);
    ASSERT_SAMPLE(body, "magpie_messages_delivered_total", 1);
    assert_true(sample(body, "magpie_events_pushed_total") >= 1); /* b's message event */
    ASSERT_SAMPLE(body, "magpie_send_ack_seconds_count", 2);
    ASSERT_SAMPLE(body, "magpie_ws_requests_total{type=\"send\"}", 2);
    ASSERT_SAMPLE(body, "magpie_ws_requests_total{type=\"unknown\"}", 1);
    ASSERT_SAMPLE(body, "magpie_ws_errors_total{code=\"unknown_type\"}", 1);
    ASSERT_SAMPLE(body, "magpie_http_requests_total{route=\"/v1/auth/register\",status=\"201\"}",
                  2);
    ASSERT_SAMPLE(body, "magpie_http_requests_total{route=\"/v1/auth/login\",status=\"200\"}", 2);
    ASSERT_SAMPLE(body, "magpie_http_requests_total{route=\"/v1/ws\",status=\"101\"}", 2);
    ASSERT_SAMPLE(body, "magpie_http_requests_total{route=\"/metrics\",status=\"200\"}", 1);
    ASSERT_SAMPLE(body, "magpie_http_requests_total{route=\"other\",status=\"404\"}", 1);
    ASSERT_SAMPLE(body, "magpie_connections{kind=\"websocket\",state=\"authenticated\"}", 2);
    ASSERT_SAMPLE(body, "magpie_sessions", 2);
    /* The scrape's own connection is busy with it; no TLS on this one. */
    assert_true(sample(body, "magpie_connections{kind=\"http\",state=\"active\"}") >= 1);
    ASSERT_SAMPLE(body, "magpie_connections{kind=\"http\",state=\"handshaking\"}", 0);
    ASSERT_SAMPLE(body, "magpie_build_info{version=\"" MAGPIE_VERSION "\"}", 1);
    ASSERT_SAMPLE(body, "magpie_store_ready", 1);
    ASSERT_SAMPLE(body, "magpie_rate_limited_total{transport=\"http\"}", 0);
    ASSERT_SAMPLE(body, "magpie_slow_reader_disconnects_total", 0);
    /* Registrations, logins and the message: at least three write jobs,
     * each in some group-commit transaction. */
    assert_true(sample(body, "magpie_store_write_jobs_total") >= 3);
    assert_true(sample(body, "magpie_store_batch_jobs_sum") >= 3);
    assert_true(sample(body, "magpie_store_batch_jobs_count") >= 1);
    assert_true(sample(body, "magpie_store_transaction_seconds_count") ==
                sample(body, "magpie_store_batch_jobs_count"));
    assert_true(sample(body, "magpie_send_ack_seconds_sum") > 0);
    assert_true(sample(body, "magpie_store_queue_depth{queue=\"write\"}") >= 0);
    assert_true(sample(body, "process_resident_memory_bytes") > 1e6);
    assert_true(sample(body, "process_open_fds") >= 5);
    assert_true(sample(body, "magpie_uptime_seconds") >= 0);
    /* The loop has run (the registrations, the sends, this scrape) and
     * cannot have been busy for longer than the server has lived. */
    assert_true(sample(body, "magpie_loop_busy_seconds_total") > 0);
    assert_true(sample(body, "magpie_loop_busy_seconds_total") <=
                sample(body, "magpie_uptime_seconds") + 1);
    /* No id and no name is ever a label. */
    assert_null(strstr(body, b.s.user_id));
    assert_null(strstr(body, a.s.username));
    promtool_accepts(body);
    free(body);

    dev_close(&a);
    dev_close(&b);
    assert_int_equal(mpt_server_stop(srv), 0);
}

/* The port of "magpie: metrics on 127.0.0.1:PORT" in the server's log. */
static int metrics_port(const mpt_server_t *srv)
{
    long long deadline = mpt_mono_ms() + 10000;
    while (mpt_mono_ms() < deadline) {
        size_t len = 0;
        unsigned char *log = mpt_read_file(mpt_server_path(srv, "stderr.log"), &len);
        if (log != NULL) {
            char *text = realloc(log, len + 1);
            text[len] = '\0';
            const char *p = strstr(text, "magpie: metrics on 127.0.0.1:");
            int port = p ? atoi(p + strlen("magpie: metrics on 127.0.0.1:")) : 0;
            free(text);
            if (port > 0)
                return port;
        }
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL); /* a poll interval, not a synchronisation */
    }
    fail_msg("no \"magpie: metrics on\" line within 10 s");
    return 0;
}

static void test_listen_and_off(void **state)
{
    (void)state;
    mpt_server_t *srv = mpt_server_start(
        (const char *const[]){"--metrics_listen", "127.0.0.1:0", "--register_rate", "1", NULL});
    assert_non_null(srv);
    int port = metrics_port(srv);
    assert_int_not_equal(port, srv->port);
    /* One registration a minute: the second is refused, and counted. */
    char name[33];
    assert_int_equal(mpt_register(srv, mpt_username(name, "mr"), "correct horse 1", NULL), 201);
    assert_int_equal(mpt_register(srv, mpt_username(name, "mr"), "correct horse 1", NULL), 429);
    int st = 0;
    char *body = get("127.0.0.1", port, "/metrics", &st);
    assert_int_equal(st, 200);
    assert_true(sample(body, "magpie_rate_limited_total{transport=\"http\"}") == 1);
    assert_true(sample(body, "magpie_http_requests_total{route=\"/v1/auth/register\","
                             "status=\"429\"}") == 1);
    assert_true(sample(body, "magpie_build_info{version=\"" MAGPIE_VERSION "\"}") == 1);
    /* The client listener's connections, not the metrics listener's own. */
    assert_true(sample(body, "magpie_connections{kind=\"http\",state=\"idle\"}") == 0);
    assert_true(sample(body, "magpie_connections{kind=\"http\",state=\"active\"}") == 0);
    free(body);
    /* Nothing else on the metrics listener, and no /metrics on the client one. */
    free(get("127.0.0.1", port, "/healthz", &st));
    assert_int_equal(st, 404);
    free(get("127.0.0.1", port, "/v1/auth/login", &st));
    assert_int_equal(st, 404);
    assert_int_equal(mpt_http(srv, "GET", "/metrics", NULL, NULL, NULL), 404);
    assert_int_equal(mpt_http(srv, "GET", "/healthz", NULL, NULL, NULL), 200);
    assert_int_equal(mpt_server_stop(srv), 0);

    srv = mpt_server_start((const char *const[]){"--metrics", "off", NULL});
    assert_non_null(srv);
    assert_int_equal(mpt_http(srv, "GET", "/metrics", NULL, NULL, NULL), 404);
    assert_int_equal(mpt_server_stop(srv), 0);
}

/* ---- the real Prometheus ------------------------------------------------------------ */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void stop_pid(pid_t pid)
{
    kill(pid, SIGTERM);
    long long deadline = mpt_mono_ms() + 10000;
    int st;
    while (mpt_mono_ms() < deadline) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return;
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
}

/* Prometheus's answer to an (URL-encoded) instant query: 1 when it has a
 * non-empty result, 0 when it succeeded empty, -1 when it failed. */
static int query(int port, const char *q)
{
    char path[2048];
    snprintf(path, sizeof path, "/api/v1/query?query=%s", q);
    int st = 0;
    char *body = get("127.0.0.1", port, path, &st);
    int rc = -1;
    if (body != NULL && st == 200) {
        json_t *j = json_loads(body, 0, NULL);
        json_t *res = json_object_get(json_object_get(j, "data"), "result");
        if (json_is_string(json_object_get(j, "status")) &&
            strcmp(json_string_value(json_object_get(j, "status")), "success") == 0)
            rc = json_array_size(res) > 0 ? 1 : 0;
        json_decref(j);
    } else if (body != NULL) {
        fprintf(stderr, "prometheus: %d %s\n", st, body);
    }
    free(body);
    return rc;
}

static bool query_has_result(int port, const char *q)
{
    return query(port, q) == 1;
}

/* Every query of the Grafana dashboard, for every node ($instance = .*),
 * is valid PromQL that Prometheus evaluates over these metrics. */
static bool dashboard_queries_run(int port)
{
    bool ok = true;
    json_error_t err;
    json_t *d = json_load_file(MPT_DASHBOARD, 0, &err);
    if (d == NULL) {
        fprintf(stderr, "%s: %s (line %d)\n", MPT_DASHBOARD, err.text, err.line);
        return false;
    }
    size_t i, k, n = 0;
    json_t *p, *t;
    json_array_foreach(json_object_get(d, "panels"), i, p)
    {
        json_array_foreach(json_object_get(p, "targets"), k, t)
        {
            const char *e = json_string_value(json_object_get(t, "expr"));
            if (e == NULL)
                continue;
            char enc[2048];
            size_t o = 0;
            for (const char *c = e; *c && o + 4 < sizeof enc; c++) {
                if (strncmp(c, "$instance", 9) == 0) {
                    o += (size_t)snprintf(enc + o, sizeof enc - o, ".%%2A");
                    c += 8;
                } else if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                           (*c >= '0' && *c <= '9') || strchr("-_.~", *c)) {
                    enc[o++] = *c;
                } else {
                    o += (size_t)snprintf(enc + o, sizeof enc - o, "%%%02X", (unsigned char)*c);
                }
            }
            enc[o] = '\0';
            if (query(port, enc) < 0) {
                fprintf(stderr, "the dashboard's query fails in Prometheus: %s\n", e);
                ok = false;
            }
            n++;
        }
    }
    json_decref(d);
    return ok && n >= 10;
}

static void test_prometheus(void **state)
{
    (void)state;
    if (access("/usr/bin/prometheus", X_OK) != 0)
        fail_msg("/usr/bin/prometheus is missing (the prometheus package: scripts/deps.sh)");
    mpt_server_t *srv = mpt_server_start((const char *const[]){CHAT_FLAGS, NULL});
    assert_non_null(srv);
    chat_dev_t a;
    dev_new_user(srv, "mp", &a);
    dev_close(&a);

    char dir[] = "/tmp/mpt-prom-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char conf[600], data[600], logf[600], listen[64];
    snprintf(conf, sizeof conf, "%s/prometheus.yml", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(logf, sizeof logf, "%s/prometheus.log", dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f,
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: magpie\n    static_configs:\n"
            "      - targets: ['127.0.0.1:%d']\n",
            srv->port);
    fclose(f);
    int pport = free_port();
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", pport);
    char a_conf[700], a_data[700];
    snprintf(a_conf, sizeof a_conf, "--config.file=%s", conf);
    snprintf(a_data, sizeof a_data, "--storage.tsdb.path=%s", data);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Gone with the test process, whatever ends it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        execl("/usr/bin/prometheus", "prometheus", a_conf, a_data, listen, (char *)NULL);
        _exit(127);
    }
    /* Prometheus scrapes every second: give it a bounded while to start,
     * scrape and answer. */
    long long t0 = mpt_mono_ms(), deadline = t0 + 30000;
    bool info = false, regs = false;
    while (mpt_mono_ms() < deadline && !(info && regs)) {
        info = info || query_has_result(pport, "magpie_build_info");
        regs = regs || query_has_result(pport, "magpie_http_requests_total%7Broute%3D%22/v1/auth/"
                                               "register%22%2Cstatus%3D%22201%22%7D%3D%3D1");
        if (!(info && regs)) {
            struct timespec ts = {0, 200 * 1000000};
            nanosleep(&ts, NULL); /* a poll interval */
        }
    }
    print_message("prometheus had the series after %lld ms\n", mpt_mono_ms() - t0);
    /* The target is up, as Prometheus itself sees it. */
    bool up = query_has_result(pport, "up%3D%3D1");
    /* Prometheus is stopped before any assertion can end the test. */
    bool dash = info && regs && up && dashboard_queries_run(pport);
    stop_pid(pid);
    if (!(info && regs && up)) {
        size_t len = 0;
        unsigned char *log = mpt_read_file(logf, &len);
        fprintf(stderr, "%.*s\n", (int)len, log ? (char *)log : "");
        free(log);
    }
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    assert_true(info);
    assert_true(regs);
    assert_true(up);
    assert_true(dash);
    assert_int_equal(mpt_server_stop(srv), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_listen_and_off),
        cmocka_unit_test(test_prometheus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
