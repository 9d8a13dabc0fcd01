/* The unit tests' fixture library (fixture.h). */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "util/id.h"

int mpu_store_open(mpu_store_t *f)
{
    char err[512];
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/magpie-unit-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        perror("mkdtemp");
        return -1;
    }
    mp_id_init(1);
    if (uv_loop_init(&f->loop) != 0) {
        fprintf(stderr, "uv_loop_init failed\n");
        return -1;
    }
    if (mp_store_open(f->dir, &f->loop, &f->st, err, sizeof err) != MP_OK) {
        fprintf(stderr, "store: %s\n", err);
        return -1;
    }
    return 0;
}

void mpu_store_close(mpu_store_t *f)
{
    char cmd[128];
    if (f->st != NULL) {
        mp_store_close(f->st);
        f->st = NULL;
    }
    mpu_run_idle(&f->loop, MPU_TIMEOUT, "the store to close");
    assert_int_equal(uv_loop_close(&f->loop), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
}

const char *mpu_store_db_path(const mpu_store_t *f)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/magpie.db", f->dir);
    return path;
}

static int64_t vpeek_int(sqlite3 *db, const char *fmt, va_list ap)
{
    char sql[1024];
    int n = vsnprintf(sql, sizeof sql, fmt, ap);
    if (n < 0 || (size_t)n >= sizeof sql)
        fail_msg("query too long: %s", fmt);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(s) != SQLITE_ROW)
        fail_msg("no row: %s", sql);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

int64_t mpu_peek_int(sqlite3 *db, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int64_t v = vpeek_int(db, fmt, ap);
    va_end(ap);
    return v;
}

void mpu_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : sqlite3_errmsg(db));
}

int64_t mpu_store_peek_int(const mpu_store_t *f, const char *fmt, ...)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(mpu_store_db_path(f), &db) != SQLITE_OK)
        fail_msg("open %s: %s", mpu_store_db_path(f), sqlite3_errmsg(db));
    sqlite3_busy_timeout(db, 5000);
    va_list ap;
    va_start(ap, fmt);
    int64_t v = vpeek_int(db, fmt, ap);
    va_end(ap);
    sqlite3_close(db);
    return v;
}

int mpu_thread_nice(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    struct dirent *e;
    int nice = 0;
    bool found = false;
    while (!found && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *fp = fopen(path, "r");
        if (fp == NULL)
            continue;
        if (fgets(comm, sizeof comm, fp) != NULL)
            comm[strcspn(comm, "\n")] = '\0';
        fclose(fp);
        if (strcmp(comm, name) != 0)
            continue;
        errno = 0;
        nice = getpriority(PRIO_PROCESS, (id_t)atoi(e->d_name));
        found = !(nice == -1 && errno != 0);
    }
    closedir(d);
    if (!found)
        fail_msg("no thread named %s", name);
    return nice;
}

static void on_tick(uv_timer_t *t)
{
    (void)t; /* only wakes uv_run(UV_RUN_ONCE) up */
}

static void wait_until(uv_loop_t *loop, const volatile int *counter, int want, bool up,
                       int timeout_ms, const char *what)
{
    uv_timer_t timer;
    uv_timer_init(loop, &timer);
    uint64_t deadline = uv_now(loop) + (uint64_t)timeout_ms;
    while (up ? *counter < want : *counter > want) {
        uv_update_time(loop);
        if (uv_now(loop) >= deadline) {
            uv_close((uv_handle_t *)&timer, NULL);
            uv_run(loop, UV_RUN_NOWAIT);
            fail_msg("waited %d ms for %s to reach %d (it is %d): a callback never came",
                     timeout_ms, what, want, *counter);
        }
        /* The timer bounds this iteration when no other event comes. */
        uv_timer_start(&timer, on_tick, deadline - uv_now(loop), 0);
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&timer, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

void mpu_wait_int(uv_loop_t *loop, const volatile int *counter, int want, int timeout_ms,
                  const char *what)
{
    wait_until(loop, counter, want, true, timeout_ms, what);
}

void mpu_wait_down(uv_loop_t *loop, const volatile int *counter, int want, int timeout_ms,
                   const char *what)
{
    wait_until(loop, counter, want, false, timeout_ms, what);
}

void mpu_wait_until(uv_loop_t *loop, bool (*step)(void *ud), void *ud, int timeout_ms,
                    const char *what)
{
    uv_timer_t timer;
    uv_timer_init(loop, &timer);
    uint64_t deadline = uv_now(loop) + (uint64_t)timeout_ms;
    /* The tick wakes the loop up so that step sees what the loop does not
     * watch (the test's own end of a socket). */
    uv_timer_start(&timer, on_tick, MPU_TICK, MPU_TICK);
    while (!step(ud)) {
        uv_update_time(loop);
        if (uv_now(loop) >= deadline) {
            uv_close((uv_handle_t *)&timer, NULL);
            uv_run(loop, UV_RUN_NOWAIT);
            fail_msg("waited %d ms for %s: it never happened", timeout_ms, what);
        }
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&timer, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

void mpu_run_idle(uv_loop_t *loop, int timeout_ms, const char *what)
{
    uv_timer_t timer;
    uv_timer_init(loop, &timer);
    /* Unreferenced: the timer bounds each turn without keeping the loop
     * alive, so the loop is idle exactly when uv_run(UV_RUN_DEFAULT) would
     * have returned. */
    uv_unref((uv_handle_t *)&timer);
    uint64_t deadline = uv_now(loop) + (uint64_t)timeout_ms;
    while (uv_loop_alive(loop)) {
        uv_update_time(loop);
        if (uv_now(loop) >= deadline) {
            uv_close((uv_handle_t *)&timer, NULL);
            uv_run(loop, UV_RUN_NOWAIT);
            fail_msg("waited %d ms for %s: a handle or request is still active", timeout_ms, what);
        }
        uv_timer_start(&timer, on_tick, deadline - uv_now(loop), 0);
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&timer, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

typedef struct {
    int done;
    mp_err_t rc;
} user_res_t;

static void on_user(mp_err_t rc, void *ud)
{
    user_res_t *r = ud;
    r->rc = rc;
    r->done++;
}

void mpu_user_add(mpu_store_t *f, uint64_t id, const char *username, const char *display_name,
                  bool guest)
{
    mp_user_row_t u;
    memset(&u, 0, sizeof u);
    u.id = id;
    snprintf(u.username, sizeof u.username, "%s", username);
    snprintf(u.display_name, sizeof u.display_name, "%s", display_name);
    if (!guest)
        snprintf(u.password_hash, sizeof u.password_hash, "$argon2id$unused-in-unit-tests");
    u.created_at = 1;
    u.guest = guest;
    user_res_t r = {0, MP_OK};
    assert_int_equal(mp_store_user_create(f->st, &u, on_user, &r), MP_OK);
    MPU_WAIT(&f->loop, &r.done, 1);
    if (r.rc != MP_OK)
        fail_msg("creating user %s: %s", username, mp_err_code(r.rc));
}

/* ---- the gate ------------------------------------------------------------ */

static mp_err_t gate_run(mp_sql_conn_t *db, mp_sql_job_t *job)
{
    (void)db;
    mpu_gate_t *g = (mpu_gate_t *)job;
    uv_mutex_lock(&g->mu);
    g->inside = true;
    uv_cond_signal(&g->cv);
    uint64_t limit = uv_hrtime() + (uint64_t)MPU_TIMEOUT * 1000000;
    while (!g->go && uv_hrtime() < limit)
        (void)uv_cond_timedwait(&g->cv, &g->mu, 100 * 1000000);
    uv_mutex_unlock(&g->mu);
    return MP_OK;
}

static void gate_done(mp_sql_job_t *job, mp_err_t rc)
{
    (void)rc;
    ((mpu_gate_t *)job)->done++;
}

void mpu_gate_close(mpu_store_t *f, mpu_gate_t *g)
{
    memset(g, 0, sizeof *g);
    assert_int_equal(uv_mutex_init(&g->mu), 0);
    assert_int_equal(uv_cond_init(&g->cv), 0);
    g->base.run = gate_run;
    g->base.done = gate_done;
    assert_int_equal(mp_sqlite__write(f->st, &g->base), MP_OK);
    uint64_t limit = uv_hrtime() + (uint64_t)MPU_TIMEOUT * 1000000;
    uv_mutex_lock(&g->mu);
    while (!g->inside && uv_hrtime() < limit)
        (void)uv_cond_timedwait(&g->cv, &g->mu, 100 * 1000000);
    bool inside = g->inside;
    uv_mutex_unlock(&g->mu);
    if (!inside)
        fail_msg("the store's writer did not reach the gate within %d ms", MPU_TIMEOUT);
}

void mpu_gate_open(mpu_store_t *f, mpu_gate_t *g)
{
    uv_mutex_lock(&g->mu);
    g->go = true;
    uv_cond_signal(&g->cv);
    uv_mutex_unlock(&g->mu);
    MPU_WAIT(&f->loop, &g->done, 1);
    uv_cond_destroy(&g->cv);
    uv_mutex_destroy(&g->mu);
}

static void server_shut(void *arg)
{
    *(int *)arg = 1;
}

void mpu_server_close(uv_loop_t *loop, mp_server_t *srv)
{
    int finished = 0;
    mp_server_shutdown(srv, server_shut, &finished);
    mpu_run_idle(loop, MPU_TIMEOUT, "the server's shutdown");
    assert_int_equal(finished, 1);
    mp_server_free(srv);
    assert_int_equal(uv_loop_close(loop), 0);
}
