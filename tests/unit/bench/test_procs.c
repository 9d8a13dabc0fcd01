/* Unit tests of `--procs`: forked workers report over pipes, the parent merges
 * them, and a worker that dies or lies is reported, never hidden. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* src/bench is linked into the magpie binary, not into magpie_core, which is
 * what unit tests link; compile the units under test into this binary. */
#include <sys/wait.h>

#include "bench/hist.h"
#include "bench/procs.h"
#include "bench/stats.h"

typedef enum { GOOD, CRASH, EXIT3, NO_RESULT } behaviour_t;

static int worker(unsigned idx, unsigned nprocs, mp_bench_stats_t *st, mp_bench_reporter_t *rep,
                  void *ud)
{
    (void)nprocs;
    const behaviour_t *plan = ud;
    st->sent = 10 + idx;
    st->acked = 10 + idx;
    st->elapsed_ms = 100 * (idx + 1);
    for (unsigned i = 0; i <= idx; i++)
        mp_bench_hist_record(&st->hist[MP_BENCH_H_ACK], 1000 * (idx + 1));
    mp_bench_report_progress(rep, st);
    switch (plan[idx]) {
    case CRASH:
        raise(SIGKILL);
        break;
    case EXIT3:
        return 3;
    case NO_RESULT:
        _exit(0);
    case GOOD:
        break;
    }
    return 0;
}

static void test_all_good_are_merged(void **state)
{
    (void)state;
    behaviour_t plan[4] = {GOOD, GOOD, GOOD, GOOD};
    mp_bench_stats_t *out = mp_bench_stats_new();
    assert_int_equal(mp_bench_procs_run(4, worker, plan, NULL, NULL, out), 0);
    assert_int_equal(out->sent, 10 + 11 + 12 + 13);
    assert_int_equal(out->acked, out->sent);
    assert_int_equal(out->errors, 0);
    assert_int_equal(out->elapsed_ms, 400);
    assert_int_equal(out->hist[MP_BENCH_H_ACK].n, 1 + 2 + 3 + 4);
    assert_int_equal(out->hist[MP_BENCH_H_ACK].min, 1000);
    assert_int_equal(out->hist[MP_BENCH_H_ACK].max, 4000);
    /* Every child was reaped: none is left to wait for. */
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    mp_bench_stats_free(out);
}

static void test_failures_are_reported(void **state)
{
    (void)state;
    behaviour_t plan[4] = {GOOD, CRASH, EXIT3, NO_RESULT};
    mp_bench_stats_t *out = mp_bench_stats_new();
    assert_int_equal(mp_bench_procs_run(4, worker, plan, NULL, NULL, out), 3);
    assert_int_equal(out->errors, 3);
    assert_int_equal(out->sent, 10); /* only the good worker's result */
    assert_non_null(strstr(out->first_error, "worker 1"));
    assert_non_null(strstr(out->first_error, "signal 9"));
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    mp_bench_stats_free(out);
}

static unsigned ticks, updates;

static void on_tick(const mp_bench_stats_t *sum, unsigned running, bool periodic, void *ud)
{
    (void)sum;
    (void)ud;
    if (!periodic) {
        updates++;
        return;
    }
    ticks++;
    assert_true(running >= 1);
}

static int slow_worker(unsigned idx, unsigned nprocs, mp_bench_stats_t *st,
                       mp_bench_reporter_t *rep, void *ud)
{
    (void)idx;
    (void)nprocs;
    (void)ud;
    /* Lives a little over one tick so that the parent prints progress once. */
    st->sent = 1;
    mp_bench_report_progress(rep, st);
    usleep(1300 * 1000);
    return 0;
}

static void test_progress_ticks(void **state)
{
    (void)state;
    mp_bench_stats_t *out = mp_bench_stats_new();
    ticks = updates = 0;
    assert_int_equal(mp_bench_procs_run(2, slow_worker, NULL, on_tick, NULL, out), 0);
    assert_true(ticks >= 1);
    assert_true(updates >= 1); /* the snapshots sent before the sleep */
    assert_int_equal(out->sent, 2);
    mp_bench_stats_free(out);
}

static void test_stats_json_round_trip(void **state)
{
    (void)state;
    mp_bench_stats_t *a = mp_bench_stats_new(), *b = mp_bench_stats_new();
    a->delivered = 42;
    a->connect_all_ms = 7;
    mp_bench_stats_error(a, "first %d", 1);
    mp_bench_stats_error(a, "second");
    mp_bench_hist_record(&a->hist[MP_BENCH_H_DELIVER], 12345);
    json_t *j = mp_bench_stats_to_json(a);
    assert_int_equal(mp_bench_stats_from_json(b, j), 0);
    json_decref(j);
    assert_int_equal(b->delivered, 42);
    assert_int_equal(b->errors, 2);
    assert_int_equal(b->connect_all_ms, 7);
    assert_string_equal(b->first_error, "first 1");
    assert_int_equal(b->hist[MP_BENCH_H_DELIVER].n, 1);
    j = json_pack("{s:i}", "sent", -1);
    assert_int_equal(mp_bench_stats_from_json(b, j), -1);
    json_decref(j);
    mp_bench_stats_free(a);
    mp_bench_stats_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_good_are_merged),
        cmocka_unit_test(test_failures_are_reported),
        cmocka_unit_test(test_progress_ticks),
        cmocka_unit_test(test_stats_json_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
