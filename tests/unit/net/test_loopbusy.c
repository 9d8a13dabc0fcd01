/* mp_server_loop_busy_seconds (magpie_loop_busy_seconds_total): the time the
 * loop thread spends running callbacks counts, the time it waits for events
 * does not. A real libuv loop: one timer whose callback keeps the thread busy
 * for a known time, one that only makes the loop wait. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "net/server.h"
#include "util/log.h"
#include "util/metrics.h"

static uv_loop_t loop;
static mp_config_t cfg;
static mp_server_t *srv;

static int setup(void **state)
{
    (void)state;
    mp_log_set_level(MP_LOG_WARN);
    mp_config_defaults(&cfg);
    uv_loop_init(&loop);
    srv = mp_server_new(&loop, &cfg, NULL, NULL, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mpu_server_close(&loop, srv);
    return 0;
}

typedef struct tick {
    uv_timer_t t;
    uint64_t spin_ns; /* how long the callback keeps the thread busy */
    bool fired;
} tick_t;

static void on_tick(uv_timer_t *t)
{
    tick_t *k = t->data;
    uint64_t until = uv_hrtime() + k->spin_ns;
    while (uv_hrtime() < until) {
        /* the work being measured: the thread runs, it does not wait */
    }
    k->fired = true;
}

static bool fired(void *ud)
{
    return ((tick_t *)ud)->fired;
}

/* A timer due in due_ms whose callback runs for spin_ms; returns once it has
 * fired, its handle closed. */
static void run_tick(uint64_t due_ms, uint64_t spin_ms)
{
    tick_t k = {.spin_ns = spin_ms * 1000000u};
    uv_timer_init(&loop, &k.t);
    k.t.data = &k;
    uv_timer_start(&k.t, on_tick, due_ms, 0);
    MPU_WAIT_UNTIL(&loop, fired, &k);
    uv_close((uv_handle_t *)&k.t, NULL);
    MPU_RUN_IDLE(&loop);
}

static void test_busy_counts_work_not_waiting(void **state)
{
    (void)state;
    double b0 = mp_server_loop_busy_seconds(srv);
    assert_true(b0 >= 0);
    /* 300 ms of waiting for a timer with nothing to do: hardly any of it is
     * busy (the bound leaves room for a machine that runs other tests). */
    run_tick(300, 0);
    double b1 = mp_server_loop_busy_seconds(srv);
    assert_true(b1 >= b0);
    assert_true(b1 - b0 < 0.15);
    /* 250 ms of work in a callback: all of it is. */
    run_tick(0, 250);
    double b2 = mp_server_loop_busy_seconds(srv);
    assert_true(b2 - b1 >= 0.25);
    assert_true(b2 - b1 < 1.0);
}

/* The metric is in the text the server renders, with the same value. */
static void test_rendered(void **state)
{
    (void)state;
    run_tick(0, 20);
    mp_metrics_buf_t b = {0};
    mp_server_render_connections(srv, &b);
    mp_metrics_printf(&b, "%c", '\0');
    const char *line = strstr(b.data, "\nmagpie_loop_busy_seconds_total ");
    assert_non_null(line);
    assert_non_null(strstr(b.data, "# TYPE magpie_loop_busy_seconds_total counter\n"));
    double v = -1;
    assert_int_equal(sscanf(line + 1, "magpie_loop_busy_seconds_total %lf", &v), 1);
    assert_true(v >= 0.02);
    assert_true(v <= mp_server_loop_busy_seconds(srv));
    free(b.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_busy_counts_work_not_waiting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rendered, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
