/* Scenario `direct`: P pairs of users exchange 1:1 messages for --duration at
 * --rate messages per second in total (0: as fast as --window allows);
 * send->ack and send->delivery latency. The work is done by pairs.c. */
#include "bench/bench_int.h"

int mp_bench__direct_worker(unsigned idx, unsigned nprocs, mp_bench_stats_t *st,
                            mp_bench_reporter_t *rep, void *ud)
{
    return mp_bench__pairs_run(MP_BENCH_PAIRS_DIRECT, idx, nprocs, st, rep, ud);
}
