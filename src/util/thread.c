#include "util/thread.h"

#include <pthread.h>
#include <stdio.h>

void mp_thread_name(const char *name)
{
    char cut[16];
    snprintf(cut, sizeof cut, "%s", name);
    (void)pthread_setname_np(pthread_self(), cut);
}
