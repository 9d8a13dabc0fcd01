#include "util/thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util/assert.h"

void mp_thread_name(const char *name)
{
    /* libuv's pool threads are named by each job that runs on them: once
     * per thread is enough (the name is the caller's literal). */
    static _Thread_local const char *named;
    if (named == name)
        return;
    named = name;
    char cut[16];
    snprintf(cut, sizeof cut, "%s", name);
    (void)pthread_setname_np(pthread_self(), cut);
}

void mp_thread_background(int steps)
{
    MP_ASSERT(steps > 0 && steps < 20);
    /* PRIO_PROCESS with a thread id names that one thread on Linux. */
    id_t tid = (id_t)gettid();
    errno = 0;
    int now = getpriority(PRIO_PROCESS, tid);
    if (now == -1 && errno != 0)
        return;
    (void)setpriority(PRIO_PROCESS, tid, now + steps);
}
