/* `magpie bench`: the load generator (scenarios connect, direct, history,
 * group) that measures a running server through its public API. */
#ifndef MP_BENCH_BENCH_H
#define MP_BENCH_BENCH_H

/* Runs `magpie bench SCENARIO [options]` (argv[0] is "bench"). Returns the
 * exit code: 0 the run completed without errors, 1 it ran but counted errors
 * (or could not set up), 2 usage error or a scenario this server cannot run. */
int mp_bench_main(int argc, char **argv);

#endif
