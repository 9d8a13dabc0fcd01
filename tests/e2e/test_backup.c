/* End-to-end tests of `magpie backup` and `magpie check` (docs/operations.md,
 * "Backups and restore"), with the real binary:
 * - under a steady message load (a sender thread, one send in flight at a
 *   time, every send→ack latency recorded), `magpie backup` copies the
 *   running server's database; the copy passes `magpie check`; restored as
 *   the magpie.db of a fresh data directory, a server starts on it and every
 *   message acked before the backup began is there (in the database and
 *   through the history API), with gap-free seqs. The
 *   send→ack latencies during the copy are printed next to those before it,
 *   and none may come near the copy's duration (a copy that held up the
 *   writer would show it there);
 * - the refusals: FILE exists (then --force replaces it), a missing
 *   directory, a relative path on the socket, the live database itself; no
 *   HTTP route; the audit log records it;
 * - `magpie check` fails a copy with damaged pages, a file that is not a
 *   database, an empty file, a schema newer than the binary, and accepts an
 *   older one (migrated at start);
 * - on PostgreSQL, the clear refusal that points to pg_dump/pg_basebackup. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_chat_util.h"

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Runs `magpie args...` to its end (bounded: 120 s), capturing stdout and
 * stderr. Returns the exit code. */
#define run_magpie(out, outlen, err, errlen, ...)                                                  \
    mpt_magpie(NULL, 120000, out, outlen, err, errlen, __VA_ARGS__)

static void copy_file(const char *from, const char *to)
{
    size_t len = 0;
    unsigned char *data = mpt_read_file(from, &len);
    assert_non_null(data);
    int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fsync(fd), 0);
    close(fd);
    free(data);
}

static void write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* A scratch directory for backup files, outside every data directory. */
static void scratch_dir(char dir[64])
{
    snprintf(dir, 64, "/tmp/magpie-backup-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void scratch_rm(const char *dir, const char *const *names)
{
    char p[600];
    for (size_t i = 0; names[i] != NULL; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* ---- the steady load ------------------------------------------------------------ */

#define LOAD_MAX 200000

typedef struct load {
    mpc_ws_t *ws;
    char conv[24];
    atomic_bool stop;
    atomic_int acked; /* records complete so far */
    long long sent_us[LOAD_MAX], acked_us[LOAD_MAX], seq[LOAD_MAX];
    char failure[256]; /* set by the thread when a send fails */
} load_t;

/* One send in flight at a time, back to back: each send's latency is the
 * time the server took to commit it and answer. Records only; the test
 * thread asserts. */
static void *load_main(void *arg)
{
    load_t *L = arg;
    for (int i = 0; i < LOAD_MAX && !atomic_load(&L->stop); i++) {
        char cmid[32];
        snprintf(cmid, sizeof cmid, "bk%d", i);
        json_t *f = json_pack("{s:s,s:s,s:s}", "conversation", L->conv, "client_msg_id", cmid,
                              "text", cmid);
        L->sent_us[i] = now_us();
        json_t *r = mpt_ws_call(L->ws, "send", f);
        L->acked_us[i] = now_us();
        json_decref(f);
        if (!is_ok(r)) {
            char *d = r != NULL ? json_dumps(r, JSON_COMPACT) : NULL;
            snprintf(L->failure, sizeof L->failure, "send %d: %s", i, d ? d : "no reply");
            free(d);
            json_decref(r);
            break;
        }
        L->seq[i] = jint(r, "seq");
        json_decref(r);
        atomic_store(&L->acked, i + 1);
    }
    return NULL;
}

static void wait_acked(load_t *L, int n)
{
    long long deadline = now_us() + 60 * 1000000LL;
    while (atomic_load(&L->acked) < n) {
        if (L->failure[0] != '\0')
            fail_msg("the sender failed: %s", L->failure);
        if (now_us() > deadline)
            fail_msg("only %d sends acked in 60 s, waiting for %d", atomic_load(&L->acked), n);
        usleep(1000); /* polling a counter the sender thread advances */
    }
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* The largest and the 99th percentile send→ack latency (ms) among sends
 * that started in [from, to). */
static double max_latency_ms(const load_t *L, int n, long long from, long long to, int *count,
                             double *p99)
{
    long long *lat = malloc(sizeof *lat * (size_t)(n > 0 ? n : 1));
    assert_non_null(lat);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (L->sent_us[i] >= from && L->sent_us[i] < to)
            lat[k++] = L->acked_us[i] - L->sent_us[i];
    qsort(lat, (size_t)k, sizeof *lat, cmp_ll);
    *count = k;
    *p99 = k > 0 ? (double)lat[(k * 99) / 100] / 1000.0 : 0;
    double worst = k > 0 ? (double)lat[k - 1] / 1000.0 : 0;
    free(lat);
    return worst;
}

static long long field_ll(const char *text, const char *label)
{
    const char *p = strstr(text, label);
    assert_non_null(p);
    return strtoll(p + strlen(label), NULL, 10);
}

static void test_backup_under_load(void **state)
{
    (void)state;
    if (mpt_backend_pg())
        skip();
    const char *flags[] = {CHAT_FLAGS, NULL};
    mpt_server_t *a = mpt_server_start(flags);
    assert_non_null(a);
    chat_dev_t alice, bob;
    dev_new_user(a, "bk", &alice);
    dev_new_user(a, "bk", &bob);
    load_t *L = calloc(1, sizeof *L);
    assert_non_null(L);
    assert_int_equal(direct_conv(a, &alice, bob.s.user_id, L->conv), 201);

    /* Bulk, so that the copy takes long enough for the load to run through
     * it: 48 MiB (MAGPIE_BACKUP_BULK_MIB, to measure with more) of rows the
     * server never reads, checkpointed into the database file before the
     * load starts. */
    const char *bulk_env = getenv("MAGPIE_BACKUP_BULK_MIB");
    long bulk_mib = bulk_env != NULL ? strtol(bulk_env, NULL, 10) : 48;
    assert_true(bulk_mib >= 48);
    char bulk_sql[512];
    snprintf(bulk_sql, sizeof bulk_sql,
             "CREATE TABLE test_ballast(b BLOB);"
             "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %ld)"
             " INSERT INTO test_ballast SELECT randomblob(65536) FROM c;"
             "PRAGMA wal_checkpoint(TRUNCATE)",
             bulk_mib * 16);
    assert_int_equal(mpt_db_exec(a, bulk_sql), 0);

    L->ws = alice.ws;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, load_main, L), 0);
    /* A steady state first: the window before the backup, as long as the
     * backup, is the comparison. */
    wait_acked(L, 1000);

    char dir[64], file[128], out[8192], err[8192];
    scratch_dir(dir);
    snprintf(file, sizeof file, "%s/magpie-backup.db", dir);
    long long t0 = now_us();
    int n0 = atomic_load(&L->acked); /* acked before the backup began */
    int rc =
        run_magpie(out, sizeof out, err, sizeof err, "backup", "--data", a->data_dir, file, NULL);
    long long t1 = now_us();
    if (rc != 0)
        fail_msg("magpie backup exited %d: %s", rc, err);
    int n1 = atomic_load(&L->acked);
    wait_acked(L, n1 + 100); /* the load goes on after the copy */
    atomic_store(&L->stop, true);
    assert_int_equal(pthread_join(th, NULL), 0);
    if (L->failure[0] != '\0')
        fail_msg("the sender failed: %s", L->failure);
    int n = atomic_load(&L->acked);

    /* What the command printed. */
    assert_non_null(strstr(out, file));
    long long bytes = field_ll(out, "size:");
    assert_true(bytes > bulk_mib << 20);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal((long long)st.st_size, bytes);
    assert_int_equal(st.st_mode & 0777, 0600);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", file);
    assert_int_not_equal(access(tmp, F_OK), 0);
    assert_true(field_ll(out, "schema version:") > 0);

    /* Delivery during the copy: sends kept being acked, and none waited for
     * anything like the copy. A copy that held the writer up would make one
     * send wait about as long as the whole copy. */
    double copy_ms = (double)(t1 - t0) / 1000.0;
    int during = 0, before = 0, after = 0;
    double p99_during, p99_before, p99_after;
    double worst_during = max_latency_ms(L, n, t0, t1, &during, &p99_during);
    double worst_before = max_latency_ms(L, n, t0 - (t1 - t0), t0, &before, &p99_before);
    double worst_after = max_latency_ms(L, n, t1, t1 + 60 * 1000000LL, &after, &p99_after);
    const char *tp = strstr(out, "time:");
    assert_non_null(tp);
    double server_ms = strtod(tp + 5, NULL) * 1000.0;
    print_message("backup of %lld bytes: %.0f ms in the server, %.0f ms the command from start "
                  "to exit; send->ack latency max %.1f ms (p99 %.1f) over %d sends during it, "
                  "max %.1f ms (p99 %.1f) over %d sends in as long before, max %.1f ms (p99 "
                  "%.1f) over %d sends after\n",
                  bytes, server_ms, copy_ms, worst_during, p99_during, during, worst_before,
                  p99_before, before, worst_after, p99_after, after);
    assert_true(during >= 10);
    assert_true(worst_during < copy_ms / 2);

    /* The copy is sound. */
    assert_int_equal(run_magpie(out, sizeof out, err, sizeof err, "check", file, NULL), 0);
    assert_non_null(strstr(out, "ok"));

    /* Restore: a fresh data directory whose magpie.db is the copy (no
     * -wal or -shm beside it), and a server started on it. */
    mpt_server_t *b = mpt_server_start(flags);
    assert_non_null(b);
    assert_int_equal(mpt_server_terminate(b), 0);
    unlink(mpt_server_path(b, "magpie.db-wal"));
    unlink(mpt_server_path(b, "magpie.db-shm"));
    copy_file(file, mpt_server_path(b, "magpie.db"));
    assert_int_equal(mpt_server_restart(b), 0);

    /* Every message acked before the backup began, each with its seq. The
     * sender is alone in the conversation, one send at a time, so they are
     * seqs 1..n0 and every one of them is checked by its client id. */
    char *sql = malloc((size_t)n0 * 16 + 256);
    assert_non_null(sql);
    int off = snprintf(sql, 256,
                       "SELECT count(*) FROM messages WHERE conversation_id = %s AND "
                       "client_msg_id IN (",
                       L->conv);
    for (int i = 0; i < n0; i++) {
        assert_int_equal(L->seq[i], i + 1);
        off += sprintf(sql + off, "%s'bk%d'", i ? "," : "", i);
    }
    sprintf(sql + off, ")");
    long long v = 0;
    assert_int_equal(mpt_db_i64(b, sql, &v), 0);
    assert_int_equal(v, n0);
    free(sql);
    char q[256];
    snprintf(q, sizeof q, "SELECT count(*) FROM messages WHERE conversation_id = %s AND seq <= %d",
             L->conv, n0);
    assert_int_equal(mpt_db_i64(b, q, &v), 0);
    assert_int_equal(v, n0);
    /* One snapshot: gap-free seqs, nothing the server had not acked by the
     * time the copy ended (at most the send in flight then). */
    long long restored = 0, top = 0;
    snprintf(q, sizeof q, "SELECT count(*) FROM messages WHERE conversation_id = %s", L->conv);
    assert_int_equal(mpt_db_i64(b, q, &restored), 0);
    snprintf(q, sizeof q, "SELECT max(seq) FROM messages WHERE conversation_id = %s", L->conv);
    assert_int_equal(mpt_db_i64(b, q, &top), 0);
    assert_int_equal(restored, top);
    assert_true(restored >= n0 && restored <= n1 + 1);
    print_message("restored %lld messages: %d were acked before the backup began, %d by its "
                  "end\n",
                  restored, n0, n1);

    /* Through the API too: the sender signs in on the restored server and
     * its history holds every one of them, in order. */
    mpt_session_t s2;
    assert_int_equal(mpt_login(b, alice.s.username, alice.s.password, NULL, &s2), 200);
    mpc_ws_t *ws = mpt_ws_open(b, s2.access);
    assert_non_null(ws);
    json_t *hist = all_history(ws, L->conv);
    assert_int_equal((long long)json_array_size(hist), restored);
    for (int i = 0; i < n0; i++) {
        json_t *m = json_array_get(hist, (size_t)i);
        char cmid[32];
        snprintf(cmid, sizeof cmid, "bk%d", i);
        assert_int_equal(jint(m, "seq"), i + 1);
        assert_string_equal(jstr(m, "text"), cmid);
    }
    json_decref(hist);
    mpc_ws_free(ws);

    assert_int_equal(mpt_server_stop(b), 0);
    dev_close(&alice);
    dev_close(&bob);
    free(L);
    assert_int_equal(mpt_server_stop(a), 0);
    const char *names[] = {"magpie-backup.db", NULL};
    scratch_rm(dir, names);
}

/* ---- refusals, the audit log, the HTTP side -------------------------------------------- */

static void test_backup_refusals(void **state)
{
    (void)state;
    if (mpt_backend_pg())
        skip();
    mpt_server_t *a = mpt_server_start(NULL);
    assert_non_null(a);
    char dir[64], file[128], out[8192], err[8192];
    scratch_dir(dir);
    snprintf(file, sizeof file, "%s/b.db", dir);

    assert_int_equal(
        run_magpie(out, sizeof out, err, sizeof err, "backup", "--data", a->data_dir, file, NULL),
        0);
    /* FILE exists: refused, the file untouched; --force replaces it. */
    write_text(file, "precious");
    assert_int_equal(
        run_magpie(out, sizeof out, err, sizeof err, "backup", "--data", a->data_dir, file, NULL),
        1);
    assert_non_null(strstr(err, "exists"));
    assert_non_null(strstr(err, "--force"));
    size_t len = 0;
    unsigned char *data = mpt_read_file(file, &len);
    assert_int_equal(len, 8);
    free(data);
    assert_int_equal(run_magpie(out, sizeof out, err, sizeof err, "backup", "--data", a->data_dir,
                                "--force", file, NULL),
                     0);
    assert_int_equal(run_magpie(out, sizeof out, err, sizeof err, "check", file, NULL), 0);

    /* A directory that does not exist. */
    char missing[160];
    snprintf(missing, sizeof missing, "%s/no/such/dir/b.db", dir);
    assert_int_equal(run_magpie(out, sizeof out, err, sizeof err, "backup", "--data", a->data_dir,
                                missing, NULL),
                     1);
    assert_non_null(strstr(err, "No such file or directory"));
    /* The live database, or one of its files. */
    assert_int_equal(run_magpie(out, sizeof out, err, sizeof err, "backup", "--data", a->data_dir,
                                "--force", mpt_server_path(a, "magpie.db"), NULL),
                     1);
    assert_non_null(strstr(err, "live database"));
    long long v = 0;
    assert_int_equal(mpt_db_i64(a, "SELECT count(*) FROM users", &v), 0);
    /* Usage: no FILE. No server: 3. */
    assert_int_equal(
        run_magpie(out, sizeof out, err, sizeof err, "backup", "--data", a->data_dir, NULL), 2);
    assert_int_equal(
        run_magpie(out, sizeof out, err, sizeof err, "backup", "--data", dir, file, NULL), 3);
    assert_non_null(strstr(err, "no server is running"));

    /* The socket itself wants an absolute path; there is no HTTP route. */
    json_t *ans = NULL;
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "{\"cmd\":\"backup\",\"file\":\"relative.db\"}\n");
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", mpt_server_path(a, "control.sock"));
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
        assert_int_equal(write(fd, cmd, strlen(cmd)), (ssize_t)strlen(cmd));
        char buf[4096];
        size_t got = 0;
        long long deadline = now_us() + MPT_TIMEOUT * 1000LL;
        while (memchr(buf, '\n', got) == NULL && got < sizeof buf - 1) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            int left = (int)((deadline - now_us()) / 1000);
            assert_true(left > 0);
            assert_true(poll(&p, 1, left) >= 0);
            ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
            assert_true(r > 0);
            got += (size_t)r;
        }
        close(fd);
        ans = json_loadb(buf, (size_t)((char *)memchr(buf, '\n', got) - buf), 0, NULL);
    }
    assert_non_null(ans);
    assert_false(json_is_true(json_object_get(ans, "ok")));
    assert_string_equal(mpt_error_code(ans), "bad_request");
    assert_non_null(strstr(
        json_string_value(json_object_get(json_object_get(ans, "error"), "message")), "absolute"));
    json_decref(ans);
    mpt_session_t s;
    assert_int_equal(mpt_user_new(a, "bk", &s), 0);
    assert_int_equal(mpt_http(a, "POST", "/v1/admin/backup", s.access, NULL, NULL), 404);

    /* The audit log has the two backups that were written. */
    assert_int_equal(mpt_db_i64(a, "SELECT count(*) FROM audit_log WHERE action = 'backup'", &v),
                     0);
    assert_int_equal(v, 2);

    assert_int_equal(mpt_server_stop(a), 0);
    const char *names[] = {"b.db", NULL};
    scratch_rm(dir, names);
}

/* ---- magpie check ------------------------------------------------------------------------- */

static void set_user_version(const char *path, int v)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_check(void **state)
{
    (void)state;
    if (mpt_backend_pg())
        skip();
    mpt_server_t *a = mpt_server_start(NULL);
    assert_non_null(a);
    mpt_session_t s;
    assert_int_equal(mpt_user_new(a, "bk", &s), 0);
    char dir[64], file[128], copy[128], junk[128], empty[128], out[8192], err[8192];
    scratch_dir(dir);
    snprintf(file, sizeof file, "%s/b.db", dir);
    snprintf(copy, sizeof copy, "%s/c.db", dir);
    snprintf(junk, sizeof junk, "%s/junk.db", dir);
    snprintf(empty, sizeof empty, "%s/empty.db", dir);
    assert_int_equal(
        run_magpie(out, sizeof out, err, sizeof err, "backup", "--data", a->data_dir, file, NULL),
        0);
    assert_int_equal(mpt_server_stop(a), 0);

    assert_int_equal(run_magpie(out, sizeof out, err, sizeof err, "check", file, NULL), 0);
    assert_non_null(strstr(out, "integrity_check passed"));
    assert_int_equal(run_magpie(out, sizeof out, err, sizeof err, "check", "--quick", file, NULL),
                     0);
    assert_non_null(strstr(out, "quick_check passed"));

    /* Damaged pages: the first bytes of pages 2 to 4 (b-tree headers or
     * page pointers) overwritten. */
    copy_file(file, copy);
    size_t len = 0;
    unsigned char *data = mpt_read_file(copy, &len);
    assert_non_null(data);
    size_t page =
        ((size_t)data[16] << 8 | data[17]) == 1 ? 65536 : (size_t)data[16] << 8 | data[17];
    assert_true(len >= 5 * page);
    free(data);
    int fd = open(copy, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    unsigned char garbage[64];
    memset(garbage, 0xA5, sizeof garbage);
    for (size_t p = 1; p <= 3; p++)
        assert_int_equal(pwrite(fd, garbage, sizeof garbage, (off_t)(p * page)),
                         (ssize_t)sizeof garbage);
    close(fd);
    assert_int_equal(run_magpie(out, sizeof out, err, sizeof err, "check", copy, NULL), 1);
    assert_non_null(strstr(err, "damaged"));

    /* Not a database at all; an empty file. */
    write_text(junk, "this is not a database, only some text that is long enough\n");
    assert_int_equal(run_magpie(out, sizeof out, err, sizeof err, "check", junk, NULL), 1);
    assert_non_null(strstr(err, "not an SQLite database"));
    write_text(empty, "");
    assert_int_equal(run_magpie(out, sizeof out, err, sizeof err, "check", empty, NULL), 1);
    assert_non_null(strstr(err, "not an SQLite database"));
    assert_int_equal(run_magpie(out, sizeof out, err, sizeof err, "check", NULL), 2);

    /* Schema versions: newer than the binary fails, older passes (a server
     * migrates it), none at all is not Magpie's. */
    copy_file(file, copy);
    set_user_version(copy, 9999);
    assert_int_equal(run_magpie(out, sizeof out, err, sizeof err, "check", copy, NULL), 1);
    assert_non_null(strstr(err, "newer"));
    set_user_version(copy, 1);
    assert_int_equal(run_magpie(out, sizeof out, err, sizeof err, "check", copy, NULL), 0);
    assert_non_null(strstr(out, "migrates"));
    set_user_version(copy, 0);
    assert_int_equal(run_magpie(out, sizeof out, err, sizeof err, "check", copy, NULL), 1);
    assert_non_null(strstr(err, "not Magpie's"));

    const char *names[] = {"b.db", "c.db", "junk.db", "empty.db", NULL};
    scratch_rm(dir, names);
}

/* ---- PostgreSQL --------------------------------------------------------------------------- */

static void test_backup_pg_refused(void **state)
{
    (void)state;
    if (!mpt_backend_pg())
        skip();
    mpt_server_t *a = mpt_server_start(NULL);
    assert_non_null(a);
    char dir[64], file[128], out[8192], err[8192];
    scratch_dir(dir);
    snprintf(file, sizeof file, "%s/b.db", dir);
    assert_int_equal(
        run_magpie(out, sizeof out, err, sizeof err, "backup", "--data", a->data_dir, file, NULL),
        1);
    assert_non_null(strstr(err, "PostgreSQL"));
    assert_non_null(strstr(err, "pg_dump"));
    assert_non_null(strstr(err, "pg_basebackup"));
    assert_int_not_equal(access(file, F_OK), 0);
    assert_int_equal(mpt_server_stop(a), 0);
    const char *names[] = {NULL};
    scratch_rm(dir, names);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backup_under_load),
        cmocka_unit_test(test_backup_refusals),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_backup_pg_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
