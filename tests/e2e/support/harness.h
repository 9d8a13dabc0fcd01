/* End-to-end test harness: starts a real `magpie serve` on a free loopback
 * port with a temporary data dir, and offers account helpers over the client
 * library (src/client/client.h).
 *
 * The backend: SQLite (DATA/magpie.db) by default; when MAGPIE_TEST_PG_DIR
 * names a running test cluster (scripts/pg-test-server.sh, the CTest fixture
 * `pg`), every server gets a fresh PostgreSQL database of its own, kept across
 * restarts and dropped when the server is stopped. mpt_db_* reach the
 * server's database, whichever it is.
 *
 * Every wait is a bounded deadline on a real event. Servers are kept in a
 * process-wide list and killed at exit or on a fatal signal, so a failing test
 * never leaves a process behind. The server's stderr is forwarded line by line
 * to the test's stderr (prefixed "[magpie:PORT] "), by a helper thread. */
#ifndef MPT_HARNESS_H
#define MPT_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "client/client.h"

/* Default timeout for one request/reply in the helpers (ms). */
#define MPT_TIMEOUT 5000

typedef struct mpt_server {
    char host[64]; /* "127.0.0.1" */
    int port;      /* the port the server printed */
    char hostport[80];
    pid_t pid;          /* 0 when not running */
    char data_dir[512]; /* mkdtemp'd; removed by mpt_server_stop */
    char db_name[64];   /* PostgreSQL: the server's database; "" on SQLite */
    char db_url[512];   /* its libpq URL (--database_url); "" on SQLite */
    /* private */
    char **extra; /* copy of the extra flags */
    int n_extra;
    int err_fd; /* read end of the stderr pipe */
    void *fwd;  /* forwarder thread state */
} mpt_server_t;

/* Every line the server writes on stderr is forwarded to the test's
 * (prefixed "[magpie:PORT] ") and appended to DATA/stderr.log
 * (mpt_server_path(srv, "stderr.log")), across restarts, complete once the
 * server has exited (mpt_server_terminate). */

/* Starts `$MAGPIE_BIN serve --listen 127.0.0.1:0 --data <tmp> <extra...>`
 * (extra is a NULL-terminated list of arguments, or NULL) and waits up to
 * 10 s for "magpie: listening on 127.0.0.1:PORT". On PostgreSQL it first
 * creates the server's database (mpt_pg_create) and adds `--database postgres
 * --database_url <its url>` before extra. Returns NULL (after printing why) if
 * MAGPIE_BIN is unset or the server fails to start. */
mpt_server_t *mpt_server_start(const char *const *extra);

/* Wall clock in ms since the epoch, as the server's times are. */
long long mpt_now_ms(void);

/* Monotonic clock in ms, for deadlines. */
long long mpt_mono_ms(void);

/* Like mpt_server_start, on a PostgreSQL database the caller owns: adds
 * `--database postgres --database_url db_url` before extra; nothing is
 * created or dropped (mpt_db_* reach db_url). For nodes that share another
 * node's database, or a database in a cluster of the test's own
 * (mpt_pg_own_start). */
mpt_server_t *mpt_server_start_db(const char *db_url, const char *const *extra);

/* SIGTERM, wait up to 10 s (then SIGKILL), remove the data dir (and drop the
 * PostgreSQL database) and free srv.
 * Returns the exit status: 0 when the server exited cleanly with code 0;
 * otherwise non-zero (a sanitizer report, a crash, a hang) and the reason is
 * printed. Tests assert_int_equal(mpt_server_stop(srv), 0). NULL is ignored
 * (returns 0). */
int mpt_server_stop(mpt_server_t *srv);

/* Graceful stop without freeing: SIGTERM + wait. Returns the same status as
 * mpt_server_stop; srv keeps its data dir and port. */
int mpt_server_terminate(mpt_server_t *srv);

/* SIGKILL and reap (simulates a crash / power loss; no shutdown code runs).
 * srv keeps its data dir and port, ready for mpt_server_restart. */
void mpt_server_kill9(mpt_server_t *srv);

/* Starts the server again on the same data dir with the same extra flags,
 * listening on the previous port explicitly (retrying for up to 5 s while the
 * port is still busy). If srv is still running it is first stopped with
 * SIGTERM. Returns 0, or -1 if it did not come up. */
int mpt_server_restart(mpt_server_t *srv);

/* Replaces the extra flags (as given to mpt_server_start) used by the next
 * mpt_server_restart, e.g. to restart on the same data dir with another
 * configuration. srv must not be running. */
void mpt_server_set_flags(mpt_server_t *srv, const char *const *extra);

/* Path of a file inside the data dir (static buffer, overwritten per call). */
const char *mpt_server_path(const mpt_server_t *srv, const char *name);

/* A new HTTP connection to srv (NULL on failure; caller mpc_conn_free's). */
mpc_conn_t *mpt_connect(const mpt_server_t *srv);

/* One HTTP request on a fresh connection (closed afterwards). body is
 * borrowed and may be NULL. Returns the status (> 0) with *out filled (caller
 * mpc_response_free's; out may be NULL to discard), or an MPC_ERR_ (< 0). */
int mpt_http(const mpt_server_t *srv, const char *method, const char *path, const char *token,
             json_t *body, mpc_response_t *out);

/* A unique valid username: "<prefix><pid>x<counter>" in lower case, cut to
 * 32 characters. prefix may be NULL ("u"). Writes into out and returns it. */
char *mpt_username(char out[33], const char *prefix);

/* A logged-in device. */
typedef struct mpt_session {
    char username[33];
    char password[64];
    char user_id[24];
    char device_id[24];
    char access[1024];
    char refresh[256];
} mpt_session_t;

/* POST /v1/auth/register. Returns the HTTP status (201 on success, with
 * user_id_out filled when non-NULL) or an MPC_ERR_. */
int mpt_register(const mpt_server_t *srv, const char *username, const char *password,
                 char user_id_out[24]);

/* POST /v1/auth/login with device_name (may be NULL). On 200 fills *s
 * (username and password too). Returns the HTTP status or an MPC_ERR_. */
int mpt_login(const mpt_server_t *srv, const char *username, const char *password,
              const char *device_name, mpt_session_t *s);

/* Registers a fresh user (unique name from prefix, password "correct horse 1")
 * and logs one device in. Returns 0, or -1 after printing what went wrong. */
int mpt_user_new(const mpt_server_t *srv, const char *prefix, mpt_session_t *s);

/* Another device of the same user (logs in again with s's credentials). */
int mpt_device_new(const mpt_server_t *srv, const mpt_session_t *s, mpt_session_t *other);

/* A WebSocket on /v1/ws authenticated by the Authorization header with
 * token (origin NULL). Returns NULL on failure (after printing the status). */
mpc_ws_t *mpt_ws_open(const mpt_server_t *srv, const char *token);

/* A WebSocket request: builds {"type":type, ...fields} (fields is borrowed,
 * may be NULL), sends it through mpc_ws_request and returns the reply (caller
 * decrefs) or NULL on timeout/close. */
json_t *mpt_ws_call(mpc_ws_t *ws, const char *type, json_t *fields);

/* Convenience for tests: the "error"."code" of a reply/body, or NULL. */
const char *mpt_error_code(const json_t *j);

/* In cmocka tests: asserts an HTTP error response (status and error code). */
#define MPT_ASSERT_HTTP_ERROR(resp, st, code)                                                      \
    do {                                                                                           \
        assert_int_equal((resp)->status, (st));                                                    \
        assert_non_null(mpc_response_error_code(resp));                                            \
        assert_string_equal(mpc_response_error_code(resp), (code));                                \
    } while (0)

/* In cmocka tests: asserts a WebSocket error reply {"id":..,"error":{"code"}}. */
#define MPT_ASSERT_WS_ERROR(reply, code)                                                           \
    do {                                                                                           \
        assert_non_null(reply);                                                                    \
        assert_non_null(mpt_error_code(reply));                                                    \
        assert_string_equal(mpt_error_code(reply), (code));                                        \
    } while (0)

/* ---- the server's database ---- */

/* True when the tests run against PostgreSQL (MAGPIE_TEST_PG_DIR is set). */
bool mpt_backend_pg(void);

/* PostgreSQL only: creates a fresh database in the test cluster (CREATE
 * DATABASE magpie_e2e_<pid>_<n> TEMPLATE template0 ENCODING 'UTF8'), for a
 * server a test starts by itself. name gets its name, url its libpq URL.
 * Returns 0, or -1 after printing why. Drop it with mpt_pg_drop. */
int mpt_pg_create(char name[64], char url[512]);

/* PostgreSQL only: DROP DATABASE IF EXISTS name WITH (FORCE) (its sessions
 * are ended). Returns 0, or -1 after printing why. */
int mpt_pg_drop(const char *name);

/* A PostgreSQL cluster of the test's own (scripts/pg-test-server.sh, path in
 * MAGPIE_PG_SCRIPT), for a test that restarts its database while other tests
 * use the shared one. */
typedef struct mpt_pg_own {
    char dir[512]; /* the script's DIR: $MAGPIE_TEST_PG_DIR-own-<pid>-<n> */
    char url[512]; /* libpq URL of its `postgres` database */
    pid_t pid;     /* the postmaster; 0 when stopped */
} mpt_pg_own_t;

/* Starts a fresh cluster on a free port and waits until it accepts
 * connections (the script's bound: 60 s). Stopped at exit if the test does
 * not. Returns 0, or -1 after printing why. */
int mpt_pg_own_start(mpt_pg_own_t *pg);

/* Fast shutdown, then postgres again on the same port and data: every
 * client's connection drops, new ones succeed on the same url. Returns 0
 * once it accepts connections again, or -1. */
int mpt_pg_own_restart(mpt_pg_own_t *pg);

/* Fast shutdown and removal of its directory (its log is kept as DIR.log).
 * Returns 0, or -1. A cluster not running is ignored. */
int mpt_pg_own_stop(mpt_pg_own_t *pg);

/* Runs SQL (one statement, or several separated by ';') on srv's database:
 * SQLite's DATA/magpie.db opened read-write next to the server (WAL, 5 s busy
 * timeout), or srv's PostgreSQL database, where several statements run as one
 * transaction. The SQL must mean the same in both dialects. Returns 0, or -1
 * after printing the statement and the error. */
int mpt_db_exec(const mpt_server_t *srv, const char *sql);

/* The first column of the first row of a query on srv's database, as an
 * integer: NULL reads as 0, a PostgreSQL boolean as 1 or 0. Returns 0 with
 * *out set, or -1 (after printing why) on an error, on no row, or when the
 * value is not an integer. */
int mpt_db_i64(const mpt_server_t *srv, const char *sql, long long *out);

/* ---- a nats-server, for the cluster tests ---- */

typedef struct mpt_nats {
    pid_t pid; /* 0 when not running */
    int port;
    char url[64]; /* nats://127.0.0.1:PORT */
    void *fwd;    /* private: the stderr forwarder */
} mpt_nats_t;

/* Starts Debian's nats-server on 127.0.0.1:port (0 = a free port; a restart
 * passes n->port) and waits up to 10 s until it says it is ready. Its stderr
 * is forwarded prefixed "[nats:PORT] "; it is killed when the test process
 * ends, whatever ends it. Returns 0, or -1 after printing why. */
int mpt_nats_start(mpt_nats_t *n, int port);
/* SIGKILL and reap (a crash); n keeps its port for a restart. */
void mpt_nats_kill9(mpt_nats_t *n);
/* SIGTERM, reap (SIGKILL after 10 s). */
void mpt_nats_stop(mpt_nats_t *n);

/* Runs `$MAGPIE_BIN first ...` (NULL-terminated arguments) to its end: stdin
 * from /dev/null, MAGPIE_CONFIG unset, MAGPIE_PASSWORD set to password (unset
 * when NULL); stdout and stderr into out and err (NUL-terminated, cut to
 * their sizes). Killed after timeout_ms. Returns its exit code, or -1 when it
 * could not run, timed out or died of a signal (after printing why). */
int mpt_magpie(const char *password, int timeout_ms, char *out, size_t outlen, char *err,
               size_t errlen, const char *first, ...);

/* Adds a secret the test used outside mpt_http (a CLI password, an SMTP
 * password) to the run's list: no server log line may hold it (CTest's
 * logscan_check; docs/testing.md). mpt_http records the passwords and tokens
 * of the bodies it sends and receives by itself. */
void mpt_record_secret(const char *secret);

/* Reads the whole file into a malloc'd buffer (caller frees), with a NUL
 * after its end for text; *len gets its
 * size. NULL if it cannot be read. */
unsigned char *mpt_read_file(const char *path, size_t *len);

#endif
