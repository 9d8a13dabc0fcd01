/* End-to-end tests of the data export (GET /v1/me/export): the document
 * (profile, devices, contacts, blocks, conversations, every own message
 * exactly once and nobody else's), chunked for HTTP/1.1 and close-delimited
 * for HTTP/1.0, one export per user at a time, a client that leaves midway,
 * and the server's memory staying flat while a slow client reads a large
 * export. The response is read over a raw socket: the client library does
 * not speak chunked encoding. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_groups_util.h"

/* How much the server's RSS may grow while it streams a 20,000-message
 * export to a slow reader: a few MiB of pages and output window, far below
 * the document's size. ThreadSanitizer shadows every byte the program
 * touches with about four more, so under it the same bound is counted in
 * its units. */
#if defined(__SANITIZE_THREAD__)
#define RSS_GROWTH_MAX_KIB (5 * 16 * 1024)
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RSS_GROWTH_MAX_KIB (5 * 16 * 1024)
#endif
#endif
#ifndef RSS_GROWTH_MAX_KIB
#define RSS_GROWTH_MAX_KIB (16 * 1024)
#endif

static mpt_server_t *srv;

static int setup(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS, "--world_slow_mode", "0", NULL};
    srv = mpt_server_start(flags);
    return srv ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = mpt_server_stop(srv);
    srv = NULL;
    return rc == 0 ? 0 : -1;
}

/* ---- a raw HTTP client ------------------------------------------------------ */

/* Connects to s; rcvbuf > 0 shrinks the receive buffer (a slow reader's
 * window). */
static int raw_connect(const mpt_server_t *s, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void raw_get(int fd, const mpt_server_t *s, const char *path, const char *token, bool http10)
{
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.%d\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", path,
                     http10 ? 0 : 1, s->hostport, token);
    assert_int_equal(write(fd, req, (size_t)n), n);
}

typedef struct resp {
    int status;
    bool chunked, close;
    long length; /* Content-Length, or -1 (chunked or close-delimited) */
    char *body;  /* decoded */
    size_t len;
    bool complete; /* last chunk seen (chunked) or EOF (close-delimited) */
} resp_t;

/* Reads up to max bytes within timeout_ms; 0 on EOF, -1 on timeout. */
static ssize_t read_some(int fd, char *buf, size_t max, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int rc = poll(&p, 1, timeout_ms);
    if (rc <= 0)
        return -1;
    ssize_t n = read(fd, buf, max);
    return n < 0 ? (errno == ECONNRESET ? 0 : -1) : n;
}

static void append(char **dst, size_t *len, const char *src, size_t n)
{
    *dst = realloc(*dst, *len + n + 1);
    memcpy(*dst + *len, src, n);
    *len += n;
    (*dst)[*len] = '\0';
}

/* Called every so often while reading (the memory sampler). */
typedef void (*tick_fn)(void *ud);

/* Reads one response: step bytes per read, pause_us between reads (a slow
 * reader), at most 60 s in all. Decodes chunked bodies. */
static void raw_read(int fd, resp_t *r, size_t step, unsigned pause_us, tick_fn tick, void *ud)
{
    memset(r, 0, sizeof *r);
    char *raw = NULL, buf[65536];
    size_t rlen = 0, pos = 0;
    bool head = true;
    long long deadline = mpt_mono_ms() + 60000;
    unsigned reads = 0;
    if (step > sizeof buf)
        step = sizeof buf;
    for (;;) {
        /* Consume what is buffered. */
        if (head) {
            char *end = raw ? strstr(raw, "\r\n\r\n") : NULL;
            if (end != NULL) {
                *end = '\0';
                assert_int_equal(sscanf(raw, "HTTP/1.%*d %d", &r->status), 1);
                r->chunked = strcasestr(raw, "Transfer-Encoding: chunked") != NULL;
                r->close = strcasestr(raw, "Connection: close") != NULL;
                const char *cl = strcasestr(raw, "Content-Length:");
                r->length = cl ? strtol(cl + 15, NULL, 10) : -1;
                pos = (size_t)(end - raw) + 4;
                head = false;
                continue;
            }
        } else if (r->chunked) {
            char *nl = pos < rlen ? strstr(raw + pos, "\r\n") : NULL;
            if (nl != NULL) {
                size_t size = strtoul(raw + pos, NULL, 16);
                size_t start = (size_t)(nl - raw) + 2;
                if (rlen >= start + size + 2) {
                    if (size == 0) {
                        r->complete = true;
                        free(raw);
                        return;
                    }
                    append(&r->body, &r->len, raw + start, size);
                    pos = start + size + 2;
                    continue;
                }
            }
        } else if (pos < rlen) {
            append(&r->body, &r->len, raw + pos, rlen - pos);
            pos = rlen;
        }
        if (!head && r->length >= 0 && r->len >= (size_t)r->length) {
            r->complete = true;
            free(raw);
            return;
        }
        /* Drop what was consumed, then read more. */
        if (pos > 0 && !head) {
            memmove(raw, raw + pos, rlen - pos);
            rlen -= pos;
            pos = 0;
            raw[rlen] = '\0';
        }
        long long left = deadline - mpt_mono_ms();
        assert_true(left > 0);
        ssize_t n = read_some(fd, buf, step, (int)left);
        if (n == 0) { /* EOF */
            r->complete = !head && !r->chunked;
            free(raw);
            return;
        }
        assert_true(n > 0);
        append(&raw, &rlen, buf, (size_t)n);
        if (tick && ++reads % 16 == 0)
            tick(ud);
        if (pause_us)
            usleep(pause_us);
    }
}

/* The export of token over a fresh connection, read at full speed; the
 * parsed document (caller decrefs) or fails. */
static json_t *export_doc(const char *token, bool http10, resp_t *r)
{
    int fd = raw_connect(srv, 0);
    raw_get(fd, srv, "/v1/me/export", token, http10);
    raw_read(fd, r, 65536, 0, NULL, NULL);
    close(fd);
    assert_int_equal(r->status, 200);
    assert_true(r->complete);
    json_error_t err;
    json_t *doc = json_loadb(r->body, r->len, 0, &err);
    if (doc == NULL)
        fail_msg("export is not JSON: %s at %d", err.text, err.position);
    return doc;
}

/* ---- helpers ----------------------------------------------------------------- */

static void burst(chat_dev_t *d, const char *conv, const char *prefix, int n)
{
    /* In slices: the replies of a whole burst would pass ws_max_queue. */
    static int64_t base = 1000000;
    for (int done = 0; done < n;) {
        int k = n - done < 1000 ? n - done : 1000;
        long long *acked = calloc((size_t)k, sizeof *acked);
        char pre[64];
        snprintf(pre, sizeof pre, "%s%d-", prefix, done);
        assert_int_equal(send_burst(d->ws, conv, pre, k, base, acked, false), k);
        for (int i = 0; i < k; i++)
            assert_true(acked[i] > 0);
        free(acked);
        base += k;
        done += k;
    }
}

static json_t *find_by(json_t *arr, const char *key, const char *value)
{
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) if (jstr(o, key) && strcmp(jstr(o, key), value) == 0) return o;
    return NULL;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_export_document(void **state)
{
    (void)state;
    chat_dev_t a, b, c;
    dev_new_user(srv, "exa", &a);
    dev_new_user(srv, "exb", &b);
    dev_new_user(srv, "exc", &c);
    char dm[24], grp[24], world[24];
    assert_int_equal(direct_conv(srv, &a, b.s.user_id, dm), 201);
    assert_int_equal(
        group_create(srv, a.s.access, "Export club", ids_json(b.s.user_id, NULL), NULL, grp, NULL),
        201);
    json_t *w = EXPECT_BODY(200, NULL, srv, "GET", a.s.access, NULL, "/v1/world");
    snprintf(world, sizeof world, "%s", jstr(w, "conversation_id"));
    json_decref(w);

    /* A few thousand own messages in three conversations, others' between. */
    burst(&a, dm, "a-dm-", 1200);
    burst(&b, dm, "b-dm-", 300);
    burst(&a, grp, "a-grp-", 1000);
    burst(&b, grp, "b-grp-", 300);
    burst(&a, world, "a-world-", 800);
    burst(&c, world, "c-world-", 300);
    /* One deleted for everyone: it is not exported. */
    char gone_id[24];
    send_text(&a, dm, "a-gone", "a-gone", gone_id);
    json_t *r = call(
        a.ws, "delete",
        json_pack("{s:s,s:s,s:s}", "conversation", dm, "message_id", gone_id, "for", "everyone"));
    assert_true(is_ok(r));
    json_decref(r);
    const int own = 1200 + 1000 + 800;

    char sql[1024];
    snprintf(sql, sizeof sql,
             "UPDATE users SET email = 'exa%s@example.org', bio = 'bio of a', priv_search = 1"
             " WHERE id = %s;"
             "INSERT INTO contacts(user_id, peer_id, state, message, created_at, updated_at,"
             " version) VALUES(%s, %s, 3, '', 5, 6, 1), (%s, %s, 1, 'hi', 7, 8, 1);"
             "INSERT INTO blocks(user_id, blocked_id, created_at) VALUES(%s, %s, 9);",
             a.s.user_id, a.s.user_id, a.s.user_id, b.s.user_id, a.s.user_id, c.s.user_id,
             a.s.user_id, c.s.user_id);
    db_exec(srv, sql);

    resp_t resp;
    json_t *doc = export_doc(a.s.access, false, &resp);
    assert_true(resp.chunked);
    free(resp.body);
    assert_true(jint(doc, "exported_at") > 0);
    json_t *u = json_object_get(doc, "user");
    assert_string_equal(jstr(u, "user_id"), a.s.user_id);
    assert_string_equal(jstr(u, "username"), a.s.username);
    assert_string_equal(jstr(u, "bio"), "bio of a");
    assert_non_null(jstr(u, "email"));
    assert_string_equal(jstr(json_object_get(u, "privacy"), "search"), "contacts");
    assert_true(json_is_true(json_object_get(json_object_get(u, "privacy"), "read_receipts")));

    json_t *devs = json_object_get(doc, "devices");
    assert_int_equal(json_array_size(devs), 1);
    assert_string_equal(jstr(json_array_get(devs, 0), "device_id"), a.s.device_id);

    json_t *contacts = json_object_get(doc, "contacts");
    assert_int_equal(json_array_size(contacts), 2);
    assert_string_equal(jstr(find_by(contacts, "user_id", b.s.user_id), "state"), "friends");
    assert_string_equal(jstr(find_by(contacts, "user_id", c.s.user_id), "state"), "outgoing");
    assert_string_equal(jstr(find_by(contacts, "user_id", c.s.user_id), "message"), "hi");
    json_t *blocks = json_object_get(doc, "blocks");
    assert_int_equal(json_array_size(blocks), 1);
    assert_string_equal(jstr(json_array_get(blocks, 0), "username"), c.s.username);

    json_t *convs = json_object_get(doc, "conversations");
    json_t *d = find_by(convs, "conversation_id", dm);
    assert_non_null(d);
    assert_string_equal(jstr(d, "kind"), "direct");
    assert_string_equal(jstr(json_object_get(d, "peer"), "user_id"), b.s.user_id);
    json_t *g = find_by(convs, "conversation_id", grp);
    assert_non_null(g);
    assert_string_equal(jstr(g, "title"), "Export club");
    assert_string_equal(jstr(g, "role"), "owner");

    /* Every own message exactly once, nobody else's, no system line. */
    json_t *msgs = json_object_get(doc, "messages");
    assert_int_equal(json_array_size(msgs), own);
    json_t *seen = json_object();
    size_t i;
    json_t *m;
    int in_world = 0;
    json_array_foreach(msgs, i, m)
    {
        const char *text = jstr(m, "text");
        assert_non_null(text);
        assert_true(strncmp(text, "a-", 2) == 0);
        assert_null(json_object_get(seen, text));
        json_object_set_new(seen, text, json_true());
        assert_string_equal(jstr(m, "kind"), "text");
        in_world += strcmp(jstr(m, "conversation_id"), world) == 0;
    }
    assert_int_equal(in_world, 800);
    assert_null(json_object_get(seen, "a-gone"));
    json_decref(seen);
    json_decref(doc);

    /* HTTP/1.0: the same document, ended by closing the connection. */
    doc = export_doc(a.s.access, true, &resp);
    assert_false(resp.chunked);
    assert_true(resp.close);
    free(resp.body);
    assert_int_equal(json_array_size(json_object_get(doc, "messages")), own);
    json_decref(doc);

    /* Someone with nothing: empty lists, still a whole document. */
    doc = export_doc(c.s.access, false, &resp);
    free(resp.body);
    assert_int_equal(json_array_size(json_object_get(doc, "messages")), 300);
    assert_int_equal(json_array_size(json_object_get(doc, "contacts")), 0);
    json_decref(doc);
    dev_close(&a);
    dev_close(&b);
    dev_close(&c);
}

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    assert_true(kib > 0);
    return kib;
}

typedef struct sampler {
    pid_t pid;
    long max_kib;
} sampler_t;

static void sample(void *ud)
{
    sampler_t *s = ud;
    long k = rss_kib(s->pid);
    if (k > s->max_kib)
        s->max_kib = k;
}

static void test_export_large_slow_reader(void **state)
{
    (void)state;
    /* Its own server: under AddressSanitizer freed memory waits in a
     * quarantine (256 MiB by default) instead of being reused, which would
     * measure the allocations' total rather than what is held at once. */
    const char *old = getenv("ASAN_OPTIONS");
    char *saved = old ? strdup(old) : NULL;
    char opts[1024];
    snprintf(opts, sizeof opts, "%s%squarantine_size_mb=0:thread_local_quarantine_size_kb=0",
             old ? old : "", old && *old ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
    const char *flags[] = {CHAT_FLAGS, NULL};
    mpt_server_t *big = mpt_server_start(flags);
    if (saved)
        setenv("ASAN_OPTIONS", saved, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(saved);
    assert_non_null(big);
    chat_dev_t a, b;
    dev_new_user(big, "exbig", &a);
    dev_new_user(big, "expeer", &b);
    char dm[24];
    assert_int_equal(direct_conv(big, &a, b.s.user_id, dm), 201);
    const int n = 20000;
    burst(&a, dm, "big-", n);
    dev_close(&b);

    /* One export at a time: a client that does not read holds it open. */
    int stalled = raw_connect(big, 4096);
    raw_get(stalled, big, "/v1/me/export", a.s.access, false);
    /* Its head arrives: the export is running. */
    char buf[512];
    assert_true(read_some(stalled, buf, sizeof buf, MPT_TIMEOUT) > 0);
    EXPECT(409, "conflict", big, "GET", a.s.access, NULL, "/v1/me/export");
    /* It leaves midway: the export ends and frees what it held (the
     * sanitizer's leak check at stop would say otherwise). */
    close(stalled);

    /* A slow reader of the whole export: the server's memory stays flat. */
    sampler_t s = {.pid = big->pid};
    long before = rss_kib(big->pid);
    s.max_kib = before;
    long long t0 = mpt_mono_ms();
    resp_t r;
    for (;;) { /* the lock goes as soon as the server notices the close */
        int fd = raw_connect(big, 8192);
        raw_get(fd, big, "/v1/me/export", a.s.access, false);
        raw_read(fd, &r, 8192, 300, sample, &s);
        close(fd);
        if (r.status != 409)
            break;
        free(r.body);
        assert_true(mpt_mono_ms() - t0 < MPT_TIMEOUT);
    }
    long long took = mpt_mono_ms() - t0;
    assert_int_equal(r.status, 200);
    assert_true(r.complete);
    fprintf(
        stderr,
        "export of %d messages: %zu bytes in %lld ms; server RSS %ld KiB before, %ld KiB at most\n",
        n, r.len, took, before, s.max_kib);
    /* The export is several MiB; the server holds a page and a window. */
    assert_true(r.len > 2 * 1024 * 1024);
    assert_true(s.max_kib - before < RSS_GROWTH_MAX_KIB);
    json_t *doc = json_loadb(r.body, r.len, 0, NULL);
    free(r.body);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "messages")), n);
    json_decref(doc);
    dev_close(&a);
    /* A server stopping in the middle of an export ends it cleanly: exit 0,
     * no leak (sanitizer build). */
    stalled = raw_connect(big, 4096);
    raw_get(stalled, big, "/v1/me/export", a.s.access, false);
    assert_true(read_some(stalled, buf, sizeof buf, MPT_TIMEOUT) > 0);
    assert_int_equal(mpt_server_stop(big), 0);
    close(stalled);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_document),
        cmocka_unit_test(test_export_large_slow_reader),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
