/* The failure path of MP_ASSERT (util/assert.h). */
#include "util/assert.h"

#include <stdio.h>
#include <stdlib.h>

#ifndef NDEBUG
_Noreturn void mp_assert__fail(const char *cond, const char *file, int line, const char *func)
{
    fprintf(stderr, "magpie: assertion failed: %s (%s:%d, %s)\n", cond, file, line, func);
    fflush(stderr);
    abort();
}
#else
/* ISO C forbids an empty translation unit. */
typedef int mp_assert__unused_t;
#endif
