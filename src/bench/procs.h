/* `--procs N`: runs a bench worker in N forked processes (one process may hold
 * at most 20,000 files here) and merges what they report over pipes.
 *
 * Protocol on each child's pipe, one compact JSON object per line:
 *   {"p":{counters}}  progress snapshot (cumulative), about once per second
 *   {"r":{stats}}     the final result, histograms included, exactly once
 * The parent reaps every child by pid. A child that exits non-zero, dies of a
 * signal, or ends without a well-formed result is reported as an error in the
 * merged stats, never hidden. */
#ifndef MP_BENCH_PROCS_H
#define MP_BENCH_PROCS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bench/stats.h"

/* The child's end of the pipe. */
typedef struct mp_bench_reporter mp_bench_reporter_t;

/* Sends a progress snapshot (counters only). Safe to call often; it writes
 * one short line. */
void mp_bench_report_progress(mp_bench_reporter_t *rep, const mp_bench_stats_t *st);

/* Runs in the child: idx in [0, nprocs). Measures into *st (zeroed) and returns
 * a process exit code (0 = the worker ran; errors it counted are in st). */
typedef int (*mp_bench_worker_fn)(unsigned idx, unsigned nprocs, mp_bench_stats_t *st,
                                  mp_bench_reporter_t *rep, void *ud);

/* Called in the parent with the sum of the latest snapshots of every child
 * (and the final results of finished ones): with periodic=true about once per
 * second (print progress), and with periodic=false whenever a child sent a
 * new snapshot (sample something at the moment it changed). */
typedef void (*mp_bench_tick_fn)(const mp_bench_stats_t *sum, unsigned running, bool periodic,
                                 void *ud);

/* Forks nprocs children running fn(idx, ...), each ending with _exit(), and
 * merges their results into *out (which it resets first). tick may be NULL.
 * Returns the number of children that failed (0 = all reported); each failure
 * is also counted in out->errors with its reason. Returns -1 if a fork or pipe
 * could not be created (children already started are still reaped). */
int mp_bench_procs_run(unsigned nprocs, mp_bench_worker_fn fn, void *ud, mp_bench_tick_fn tick,
                       void *tick_ud, mp_bench_stats_t *out);

#endif
