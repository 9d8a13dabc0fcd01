#include "util/thread.h"

#include <pthread.h>
#include <stdio.h>

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
