/* Scenarios `history` and `sync`: each pair first stores --seed messages,
 * then both users read concurrently for --duration (--rate reads per second
 * in total, or as fast as --window allows): history pages of --limit
 * messages of their conversation, or sync pages of at most --limit items
 * from the beginning (since "0": a device that was away for long). The work
 * is done by pairs.c. */
#include "bench/bench_int.h"

int mp_bench__history_worker(unsigned idx, unsigned nprocs, mp_bench_stats_t *st,
                             mp_bench_reporter_t *rep, void *ud)
{
    return mp_bench__pairs_run(MP_BENCH_PAIRS_HISTORY, idx, nprocs, st, rep, ud);
}

int mp_bench__sync_worker(unsigned idx, unsigned nprocs, mp_bench_stats_t *st,
                          mp_bench_reporter_t *rep, void *ud)
{
    return mp_bench__pairs_run(MP_BENCH_PAIRS_SYNC, idx, nprocs, st, rep, ud);
}
