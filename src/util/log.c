/* stderr logger; lines are written with one fputs so threads do not interleave. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static mp_log_level_t current = MP_LOG_INFO;
static const char *names[] = {"debug", "info", "warn", "error", "off"};

void mp_log_set_level(mp_log_level_t level)
{
    current = level;
}

mp_log_level_t mp_log_get_level(void)
{
    return current;
}

int mp_log_level_parse(const char *name)
{
    for (int i = 0; i <= MP_LOG_OFF; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

void mp_log(mp_log_level_t level, const char *fmt, ...)
{
    if (level < current || level >= MP_LOG_OFF)
        return;
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(tv.tv_usec / 1000), names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len] = '\n';
    line[len + 1] = '\0';
    fputs(line, stderr);
}
