/* Clock helpers over clock_gettime. */
#include "util/clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t mp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mp_mono_ms(void)
{
    return mp_mono_ns() / 1000000;
}

int64_t mp_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void mp_time_format(int64_t ms, char out[25])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    /* Formatted into a roomy buffer first: the compiler cannot know the
     * fields are in range, and years past 9999 must truncate, not overflow. */
    char buf[64];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    size_t n = strnlen(buf, 24);
    memcpy(out, buf, n);
    out[n] = '\0';
}
