/* End-to-end tests of the clients over TLS: the CLI (https:// and wss://) and
 * `magpie bench --url https://...` against a real server terminating TLS
 * itself (tls_cert, tls_key), with a throwaway certificate chain
 * (scripts/test-certs.sh: a root, an intermediate, a leaf for localhost and
 * 127.0.0.1). The clients trust the root only through SSL_CERT_FILE, as a
 * user with a private CA would. For the host check, a relay in this process
 * makes the same server reachable at 127.0.0.2, which the certificate does
 * not name (the server listens on one address). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "test_cli_util.h"

/* The CLI's exit statuses (docs/cli.md). */
#define EXIT_REFUSED 1
#define EXIT_OFFLINE 3

#ifndef MPT_CERTS_SCRIPT
#error "MPT_CERTS_SCRIPT: the path of scripts/test-certs.sh (CMakeLists.txt)"
#endif

static mpt_server_t *srv;
static char dir[64];         /* the certificates */
static char ca_env[128];     /* "SSL_CERT_FILE=DIR/ca.pem" */
static char url_ip[64];      /* https://127.0.0.1:PORT */
static char url_name[64];    /* https://localhost:PORT */
static char url_foreign[64]; /* https://127.0.0.2:RELAY: an address the certificate lacks */
static int plain_port;       /* tls_redirect_listen: plain HTTP */

/* Runs argv (NULL-terminated) to the end within 30 s; its exit status. */
static int run_tool(const char *const *argv, const char *log)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    long long deadline = mpt_mono_ms() + 30000;
    int status;
    while (waitpid(pid, &status, WNOHANG) != pid) {
        if (mpt_mono_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("%s did not finish in 30 s", argv[0]);
        }
        usleep(10000);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- the relay: 127.0.0.2:port -> the server, bytes untouched ----------- */

/* One connection at a time: the TLS handshake that crosses it is the
 * server's own, only the address the client dialled differs. */
typedef struct relay {
    int lfd, port, target_port;
    bool running; /* th was started */
    atomic_bool stop;
    pthread_t th;
} relay_t;

static relay_t relay;

/* Copies what is readable on from to to; false at EOF or on an error. */
static bool relay_copy(int from, int to)
{
    char buf[16384];
    ssize_t n = read(from, buf, sizeof buf);
    for (ssize_t off = 0; n > 0 && off < n;) {
        ssize_t w = send(to, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        off += w;
    }
    return n > 0;
}

static void relay_pump(relay_t *r, int a)
{
    int b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)r->target_port),
                             .sin_addr.s_addr = htonl(0x7f000001)};
    bool open = connect(b, (struct sockaddr *)&to, sizeof to) == 0;
    while (open && !atomic_load(&r->stop)) {
        struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
        if (poll(p, 2, 100) <= 0)
            continue;
        if (p[0].revents != 0 && !relay_copy(a, b))
            open = false;
        if (p[1].revents != 0 && !relay_copy(b, a))
            open = false;
    }
    close(b);
}

static void *relay_main(void *arg)
{
    relay_t *r = arg;
    while (!atomic_load(&r->stop)) {
        struct pollfd p = {.fd = r->lfd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int a = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (a < 0)
            continue;
        relay_pump(r, a);
        close(a);
    }
    return NULL;
}

static int relay_start(relay_t *r, int target_port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000002)};
    socklen_t len = sizeof a;
    r->target_port = target_port;
    r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (r->lfd < 0 || bind(r->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(r->lfd, 8) != 0 || getsockname(r->lfd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    r->port = ntohs(a.sin_port);
    atomic_store(&r->stop, false);
    r->running = pthread_create(&r->th, NULL, relay_main, r) == 0;
    return r->running ? 0 : -1;
}

static void relay_stop(relay_t *r)
{
    if (r->running) {
        atomic_store(&r->stop, true);
        pthread_join(r->th, NULL); /* it looks at stop every 100 ms */
    }
    if (r->lfd > 0)
        close(r->lfd);
    r->lfd = 0;
    r->running = false;
}

/* ---- the server ---------------------------------------------------------- */

/* The port of the tls_redirect_listen listener, from the server's log
 * (within 10 s); 0 if it never appears. */
/* The port the server announced after marker in its log, or 0. */
static int announced_port(const char *marker)
{
    long long deadline = mpt_mono_ms() + 10000;
    int port = 0;
    while (port == 0 && mpt_mono_ms() < deadline) {
        size_t len = 0;
        unsigned char *log = mpt_read_file(mpt_server_path(srv, "stderr.log"), &len);
        const char *m = log != NULL ? strstr((const char *)log, marker) : NULL;
        if (m != NULL)
            port = atoi(m + strlen(marker));
        free(log);
        if (port == 0)
            usleep(20000);
    }
    return port;
}

static int redirect_port(void)
{
    return announced_port("magpie: redirecting to https on 127.0.0.1:");
}

static int group_setup(void **state)
{
    (void)state;
    /* The clients' trust comes from SSL_CERT_FILE given per command only. */
    unsetenv("SSL_CERT_FILE");
    unsetenv("SSL_CERT_DIR");
    snprintf(dir, sizeof dir, "/tmp/magpie-tls-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    char log[128], cert[128], key[128];
    snprintf(log, sizeof log, "%s/certs.log", dir);
    if (run_tool((const char *const[]){"bash", MPT_CERTS_SCRIPT, dir, NULL}, log) != 0) {
        fprintf(stderr, "test-certs.sh failed: see %s\n", log);
        return -1;
    }
    snprintf(ca_env, sizeof ca_env, "SSL_CERT_FILE=%s/ca.pem", dir);
    snprintf(cert, sizeof cert, "%s/chain.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    /* Generous per-user limits: the bench registers its users at once and
     * sends as fast as it can. */
    /* clang-format off */
    const char *const flags[] = {
        "--tls_cert", cert,
        "--tls_key", key,
        "--tls_redirect_listen", "127.0.0.1:0",
        "--metrics_listen", "127.0.0.1:0",
        "--io_threads", "3",
        "--send_rate", "100000",
        "--send_burst", "100000",
        "--login_rate", "10000",
        "--register_rate", "10000",
        NULL};
    /* clang-format on */
    srv = mpt_server_start(flags);
    if (srv == NULL)
        return -1;
    plain_port = redirect_port();
    if (plain_port == 0 || relay_start(&relay, srv->port) != 0) {
        fprintf(stderr, "no redirect listener (%d) or no relay\n", plain_port);
        return -1;
    }
    snprintf(url_ip, sizeof url_ip, "https://127.0.0.1:%d", srv->port);
    snprintf(url_name, sizeof url_name, "https://localhost:%d", srv->port);
    snprintf(url_foreign, sizeof url_foreign, "https://127.0.0.2:%d", relay.port);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    relay_stop(&relay);
    int rc = mpt_server_stop(srv);
    nftw(dir, cli__rm, 16, FTW_DEPTH | FTW_PHYS);
    return rc == 0 ? 0 : -1;
}

/* `magpie args...` for h with the extra environment env (NULL-terminated, or
 * NULL), to the end; fills *r and returns its exit status. */
static int run_env(const cli_home_t *h, cli_result_t *r, const char *const *env,
                   const char *const *args)
{
    cli_proc_t *p = cli_spawnv(h, args, env);
    r->status = cli_wait(p, CLI_TIMEOUT_MS);
    snprintf(r->out, sizeof r->out, "%s", p->out);
    snprintf(r->err, sizeof r->err, "%s", p->err);
    cli_proc_free(p);
    if (r->status != 0)
        fprintf(stderr, "magpie %s exited %d: %s", args[0], r->status, r->err);
    return r->status;
}

static cli_home_t *home_at(const char *url, const char *password)
{
    static cli_home_t homes[8];
    static int n;
    assert_true(n < 8);
    cli_home_t *h = &homes[n++];
    cli_home_new(h, srv);
    snprintf(h->url, sizeof h->url, "%s", url);
    snprintf(h->password, sizeof h->password, "%s", password);
    return h;
}

/* Register, send over wss://, read it back with tail over wss://, by an IP
 * address and by a name; the credentials are keyed by scheme too. */
static void test_cli_over_https(void **state)
{
    (void)state;
    static cli_result_t r;
    const char *const trust[] = {ca_env, NULL};
    char alice[33], bob[33], to_bob[40];
    mpt_username(alice, "tlsa");
    mpt_username(bob, "tlsb");
    snprintf(to_bob, sizeof to_bob, "@%s", bob);
    cli_home_t *ha = home_at(url_ip, "correct horse 1");
    cli_home_t *hb = home_at(url_name, "correct horse 2");

    assert_int_equal(run_env(ha, &r, trust, (const char *const[]){"register", alice, NULL}), 0);
    assert_non_null(strstr(r.out, url_ip));
    assert_int_equal(run_env(hb, &r, trust, (const char *const[]){"register", bob, NULL}), 0);

    cli_proc_t *tail = cli_spawnv(hb, (const char *const[]){"tail", "--json", NULL}, trust);
    assert_int_equal(
        run_env(ha, &r, trust, (const char *const[]){"send", to_bob, "hello over tls", NULL}), 0);
    char line[4096];
    bool seen = false;
    long long deadline = mpt_mono_ms() + CLI_TIMEOUT_MS;
    while (!seen && mpt_mono_ms() < deadline &&
           cli_read_line(tail, (int)(deadline - mpt_mono_ms()), line, sizeof line))
        seen = strstr(line, "\"text\":\"hello over tls\"") != NULL;
    if (!seen)
        fail_msg("tail over wss:// did not print the message; stderr: %s", tail->err);
    cli_proc_free(tail);

    /* whoami answers over https and names the URL with its scheme. */
    assert_int_equal(run_env(ha, &r, trust, (const char *const[]){"whoami", "--json", NULL}), 0);
    char want[80];
    snprintf(want, sizeof want, "\"url\":\"%s\"", url_ip);
    assert_non_null(strstr(r.out, want));
    /* The same host and port over http:// is another entry: not logged in. */
    char plain[64];
    snprintf(plain, sizeof plain, "http://127.0.0.1:%d", srv->port);
    assert_int_equal(run_env(ha, &r, trust, (const char *const[]){"whoami", "--url", plain, NULL}),
                     EXIT_OFFLINE);
    assert_non_null(strstr(r.err, "not_logged_in"));
    cli_home_free(ha);
    cli_home_free(hb);
}

/* Without the private CA the chain does not verify: a clear error, exit 3,
 * and no request reached the server (the account does not exist). */
static void test_cli_untrusted(void **state)
{
    (void)state;
    static cli_result_t r;
    char name[33];
    mpt_username(name, "tlsu");
    cli_home_t *h = home_at(url_ip, "correct horse 3");
    assert_int_equal(run_env(h, &r, NULL, (const char *const[]){"register", name, NULL}),
                     EXIT_OFFLINE);
    assert_non_null(
        strstr(r.err, "certificate verify failed: unable to get local issuer certificate"));
    assert_non_null(strstr(r.err, "SSL_CERT_FILE")); /* the hint says what to do */
    const char *const trust[] = {ca_env, NULL};
    assert_int_equal(run_env(h, &r, trust, (const char *const[]){"login", name, NULL}),
                     EXIT_REFUSED);
    assert_non_null(strstr(r.err, "bad_credentials"));
    cli_home_free(h);
}

/* A trusted certificate for another host is refused all the same. */
static void test_cli_wrong_host(void **state)
{
    (void)state;
    static cli_result_t r;
    const char *const trust[] = {ca_env, NULL};
    char name[33];
    mpt_username(name, "tlsw");
    cli_home_t *h = home_at(url_foreign, "correct horse 4");
    assert_int_equal(run_env(h, &r, trust, (const char *const[]){"register", name, NULL}),
                     EXIT_OFFLINE);
    assert_non_null(strstr(r.err, "certificate verify failed: IP address mismatch"));
    assert_null(strstr(r.err, "SSL_CERT_FILE")); /* no CA setting cures this */
    cli_home_free(h);
}

/* The client library alone: TLS to a plain HTTP listener (the server's
 * redirecting one) says what is wrong. */
static void test_library_tls_to_plain(void **state)
{
    (void)state;
    char why[256] = "";
    mpc_connect_opts_t o = {.tls = true};
    mpc_conn_t *c = mpc_connect_ex("127.0.0.1", plain_port, &o, 5000, why, sizeof why);
    assert_null(c);
    if (strstr(why, "TLS handshake failed: wrong version number") == NULL)
        fail_msg("unexpected reason: %s", why);
}

/* Runs `magpie bench args... --json FILE --no-progress` with env; its exit
 * status, *json the result (caller decrefs), err its stderr. */
static int bench(const char *const *env, json_t **json, char *err, size_t errlen, ...)
{
    char json_path[] = "/tmp/magpie-tls-bench-XXXXXX";
    int jfd = mkstemp(json_path);
    assert_true(jfd >= 0);
    close(jfd);
    const char *args[40];
    int n = 0;
    args[n++] = "bench";
    va_list ap;
    va_start(ap, errlen);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 34)
        args[n++] = a;
    va_end(ap);
    args[n++] = "--json";
    args[n++] = json_path;
    args[n++] = "--no-progress";
    args[n] = NULL;
    cli_home_t h;
    cli_home_new(&h, srv);
    cli_proc_t *p = cli_spawnv(&h, args, env);
    int st = cli_wait(p, 60000);
    snprintf(err, errlen, "%s", p->err);
    fprintf(stderr, "%s", p->err);
    cli_proc_free(p);
    cli_home_free(&h);
    *json = json_load_file(json_path, 0, NULL);
    unlink(json_path);
    return st;
}

static uint64_t counter(json_t *j, const char *name)
{
    json_t *v = json_object_get(json_object_get(j, "counters"), name);
    if (!json_is_integer(v))
        fail_msg("counter %s missing from the JSON result", name);
    return (uint64_t)json_integer_value(v);
}

/* Setup over https, WebSockets over wss:// to two names of the server. */
static void test_bench_over_https(void **state)
{
    (void)state;
    const char *const trust[] = {ca_env, NULL};
    char urls[160], prefix[32], err[8192];
    snprintf(urls, sizeof urls, "%s,%s", url_name, url_ip);
    snprintf(prefix, sizeof prefix, "tb%dx_", (int)getpid() % 100000);
    json_t *j = NULL;
    int st = bench(trust, &j, err, sizeof err, "direct", "--setup", "--users-prefix", prefix,
                   "--pairs", "2", "--duration", "1", "--window", "4", "--url", urls, NULL);
    assert_int_equal(st, 0);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_int_equal(counter(j, "errors"), 0);
    assert_int_equal(counter(j, "conns_ok"), 4);
    assert_true(counter(j, "sent") > 0);
    assert_int_equal(counter(j, "acked"), counter(j, "sent"));
    assert_int_equal(counter(j, "delivered"), counter(j, "acked"));
    json_decref(j);

    /* Untrusted: the set-up stops at once and says why. */
    st = bench(NULL, &j, err, sizeof err, "direct", "--setup", "--users-prefix", prefix, "--pairs",
               "1", "--duration", "1", "--url", url_ip, NULL);
    assert_int_not_equal(st, 0);
    assert_non_null(strstr(err, "certificate verify failed"));
    json_decref(j);
}

/* magpie_io_shared_flushes_total, from the plain metrics listener. */
static long long shared_flushes(void)
{
    int port = announced_port("magpie: metrics on 127.0.0.1:");
    assert_true(port > 0);
    mpc_conn_t *c = mpc_connect("127.0.0.1", port, 5000);
    assert_non_null(c);
    mpc_response_t r;
    assert_int_equal(mpc_http_request(c, "GET", "/metrics", NULL, NULL, &r, 5000), MPC_OK);
    mpc_conn_free(c);
    assert_int_equal(r.status, 200);
    static const char name[] = "\nmagpie_io_shared_flushes_total ";
    const char *m = strstr(r.body, name);
    assert_non_null(m);
    long long v = atoll(m + strlen(name));
    mpc_response_free(&r);
    return v;
}

/* A group of 40 over wss:// with I/O threads (io_threads = 3): each
 * message leaves in a flush shared with them, sealed into TLS records on
 * the thread that writes it, and every device gets every message. */
static void test_group_over_wss_with_io_threads(void **state)
{
    (void)state;
    const char *const trust[] = {ca_env, NULL};
    char prefix[32], err[8192];
    snprintf(prefix, sizeof prefix, "tg%dx_", (int)getpid() % 100000);
    long long before = shared_flushes();
    json_t *j = NULL;
    int st = bench(trust, &j, err, sizeof err, "group", "--setup", "--users-prefix", prefix,
                   "--members", "40", "--rate", "10", "--duration", "2", "--url", url_ip, NULL);
    assert_int_equal(st, 0);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_int_equal(counter(j, "errors"), 0);
    assert_true(counter(j, "acked") >= 10);
    assert_int_equal(counter(j, "delivered"), counter(j, "acked") * 39);
    json_decref(j);
    assert_true(shared_flushes() >= before + 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_over_https),       /* the CLI */
        cmocka_unit_test(test_cli_untrusted),        /* the CLI */
        cmocka_unit_test(test_cli_wrong_host),       /* the CLI */
        cmocka_unit_test(test_library_tls_to_plain), /* the client library */
        cmocka_unit_test(test_bench_over_https),     /* the load generator */
        cmocka_unit_test(test_group_over_wss_with_io_threads),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
