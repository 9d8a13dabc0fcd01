/* End-to-end tests of the clients over TLS: the CLI (https:// and wss://) and
 * `magpie bench --url https://...` against a real server, with a throwaway
 * certificate chain (scripts/test-certs.sh: a root, an intermediate, a leaf
 * for localhost and 127.0.0.1). TLS is terminated by haproxy in front of a
 * plain `magpie serve`, on 127.0.0.1 and 127.0.0.2 (the latter is not in the
 * certificate: the host check must refuse it). The clients trust the root
 * only through SSL_CERT_FILE, as a user with a private CA would. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "test_cli_util.h"

/* The CLI's exit status for "cannot connect" (docs/cli.md). */
#define EXIT_OFFLINE 3

#ifndef MPT_CERTS_SCRIPT
#error "MPT_CERTS_SCRIPT: the path of scripts/test-certs.sh (CMakeLists.txt)"
#endif

/* Generous per-user limits: every client comes through the proxy from
 * 127.0.0.1, and the bench registers its users at once. */
static const char *const fast_flags[] = {
    "--send_rate",  "100000", "--send_burst",    "100000", /* the bench sends as fast as it can */
    "--login_rate", "10000",  "--register_rate", "10000",  NULL};

static mpt_server_t *srv;
static char dir[64];         /* certificates, the proxy's config and log */
static char ca_env[128];     /* "SSL_CERT_FILE=DIR/ca.pem" */
static pid_t proxy_pid;      /* haproxy */
static int tls_port;         /* where TLS is served, on 127.0.0.1 and 127.0.0.2 */
static char url_ip[64];      /* https://127.0.0.1:PORT */
static char url_name[64];    /* https://localhost:PORT */
static char url_foreign[64]; /* https://127.0.0.2:PORT: an address the certificate lacks */

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
    long long deadline = cli_mono_ms() + 30000;
    int status;
    while (waitpid(pid, &status, WNOHANG) != pid) {
        if (cli_mono_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("%s did not finish in 30 s", argv[0]);
        }
        usleep(10000);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A port nobody listens on right now (the kernel's choice for port 0). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* Concatenates the leaf chain and its key: haproxy's `crt` takes one file. */
static void write_pem_bundle(const char *path)
{
    char chain[128], key[128], buf[4096];
    snprintf(chain, sizeof chain, "%s/chain.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    const char *parts[] = {chain, key};
    for (int i = 0; i < 2; i++) {
        FILE *in = fopen(parts[i], "r");
        assert_non_null(in);
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, in)) > 0)
            assert_int_equal(fwrite(buf, 1, n, out), n);
        fclose(in);
    }
    assert_int_equal(fclose(out), 0);
}

/* Starts haproxy terminating TLS on 127.0.0.{1,2}:port in front of srv;
 * true once it accepts connections (within 10 s). */
static bool proxy_start(int port)
{
    char cfg[128], bundle[128], log[128];
    snprintf(cfg, sizeof cfg, "%s/haproxy.cfg", dir);
    snprintf(bundle, sizeof bundle, "%s/bundle.pem", dir);
    snprintf(log, sizeof log, "%s/haproxy.log", dir);
    write_pem_bundle(bundle);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "global\n  maxconn 2000\n"
            "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n"
            "  timeout server 60s\n"
            "frontend tls\n  bind 127.0.0.1:%d ssl crt %s\n  bind 127.0.0.2:%d ssl crt %s\n"
            "  default_backend plain\n"
            "backend plain\n  server magpie %s\n",
            port, bundle, port, bundle, srv->hostport);
    assert_int_equal(fclose(f), 0);

    proxy_pid = fork();
    assert_true(proxy_pid >= 0);
    if (proxy_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        execlp("haproxy", "haproxy", "-db", "-f", cfg, (char *)NULL);
        _exit(127);
    }
    long long deadline = cli_mono_ms() + 10000;
    while (cli_mono_ms() < deadline) {
        mpc_conn_t *c = mpc_connect("127.0.0.2", port, 1000);
        if (c != NULL) {
            mpc_conn_free(c);
            return true;
        }
        if (waitpid(proxy_pid, NULL, WNOHANG) == proxy_pid) {
            proxy_pid = 0;
            return false; /* e.g. the port was taken meanwhile */
        }
        usleep(20000);
    }
    return false;
}

static void proxy_stop(void)
{
    if (proxy_pid > 0) {
        kill(proxy_pid, SIGTERM);
        waitpid(proxy_pid, NULL, 0);
    }
    proxy_pid = 0;
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
    char log[128];
    snprintf(log, sizeof log, "%s/certs.log", dir);
    if (run_tool((const char *const[]){"bash", MPT_CERTS_SCRIPT, dir, NULL}, log) != 0) {
        fprintf(stderr, "test-certs.sh failed: see %s\n", log);
        return -1;
    }
    snprintf(ca_env, sizeof ca_env, "SSL_CERT_FILE=%s/ca.pem", dir);
    srv = mpt_server_start(fast_flags);
    if (srv == NULL)
        return -1;
    for (int attempt = 0; attempt < 5 && proxy_pid == 0; attempt++) {
        tls_port = free_port();
        if (!proxy_start(tls_port))
            proxy_stop();
    }
    if (proxy_pid == 0) {
        fprintf(stderr, "haproxy did not start: see %s/haproxy.log\n", dir);
        return -1;
    }
    snprintf(url_ip, sizeof url_ip, "https://127.0.0.1:%d", tls_port);
    snprintf(url_name, sizeof url_name, "https://localhost:%d", tls_port);
    snprintf(url_foreign, sizeof url_foreign, "https://127.0.0.2:%d", tls_port);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    proxy_stop();
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
    long long deadline = cli_mono_ms() + CLI_TIMEOUT_MS;
    while (!seen && cli_mono_ms() < deadline &&
           cli_read_line(tail, (int)(deadline - cli_mono_ms()), line, sizeof line))
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
    snprintf(plain, sizeof plain, "http://127.0.0.1:%d", tls_port);
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
    assert_int_equal(mpt_login(srv, name, "correct horse 3", NULL, &(mpt_session_t){0}), 401);
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

/* The client library alone: TLS to a plain HTTP server says what is wrong. */
static void test_library_tls_to_plain(void **state)
{
    (void)state;
    char why[256] = "";
    mpc_connect_opts_t o = {.tls = true};
    mpc_conn_t *c = mpc_connect_ex(srv->host, srv->port, &o, 5000, why, sizeof why);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_over_https),       /* the CLI */
        cmocka_unit_test(test_cli_untrusted),        /* the CLI */
        cmocka_unit_test(test_cli_wrong_host),       /* the CLI */
        cmocka_unit_test(test_library_tls_to_plain), /* the client library */
        cmocka_unit_test(test_bench_over_https),     /* the load generator */
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
