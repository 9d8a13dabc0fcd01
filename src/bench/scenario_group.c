/* Scenario `group`: fan-out to one large group. It needs the groups API
 * (the next issue); until the server has it, say so clearly and exit 2. */
#include <stdio.h>

#include "bench/bench_int.h"

int mp_bench__group_check(const mp_bench_opts_t *o)
{
    if (mp_bench__server_has(o, "/v1/groups"))
        fprintf(stderr, "magpie bench: the server has /v1/groups, but this bench does not "
                        "implement the group scenario yet\n");
    else
        fprintf(stderr, "magpie bench: group scenario needs groups (not available on this "
                        "server)\n");
    return 2;
}
