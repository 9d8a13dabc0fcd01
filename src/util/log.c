/* stderr logger; lines are written with one fputs so threads do not
 * interleave. JSON lines are built with jansson, which escapes whatever a
 * message holds (quotes, control bytes, invalid UTF-8 is refused and then
 * replaced), so that a client-supplied string can never forge a line or a
 * field. */
#include "util/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static mp_log_level_t current = MP_LOG_INFO;
static atomic_bool as_json;
static const char *names[] = {"debug", "info", "warn", "error", "off"};

void mp_log_set_level(mp_log_level_t level)
{
    current = level;
}

mp_log_level_t mp_log_get_level(void)
{
    return current;
}

void mp_log_set_json(bool json)
{
    atomic_store(&as_json, json);
}

int mp_log_level_parse(const char *name)
{
    for (int i = 0; i <= MP_LOG_OFF; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

static void timestamp(char out[32])
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
}

/* A string as a JSON value: as it is when it is UTF-8, else with every byte
 * that is not printable ASCII replaced by '?'. */
static json_t *jstr(const char *s)
{
    json_t *v = json_string(s);
    if (v != NULL)
        return v;
    char buf[2048];
    size_t i = 0;
    for (; s[i] != '\0' && i < sizeof buf - 1; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    buf[i] = '\0';
    return json_string(buf);
}

static void write_json(mp_log_level_t level, const char *ts, const char *msg,
                       const mp_log_field_t *fields, size_t n)
{
    json_t *o = json_object();
    json_object_set_new(o, "time", json_string(ts));
    json_object_set_new(o, "level", json_string(names[level]));
    json_object_set_new(o, "msg", jstr(msg));
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, fields[i].key,
                            fields[i].str ? jstr(fields[i].str) : json_integer(fields[i].num));
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (line == NULL)
        return; /* out of memory: the line is lost, nothing else */
    /* One locked stretch: other threads' lines cannot come between the
     * object and its newline. */
    flockfile(stderr);
    fputs(line, stderr);
    fputc('\n', stderr);
    funlockfile(stderr);
    free(line); /* jansson's default allocator */
}

static void vlog(mp_log_level_t level, const mp_log_field_t *fields, size_t n, const char *fmt,
                 va_list ap)
{
    char ts[32];
    timestamp(ts);
    char line[2048];
    if (atomic_load(&as_json)) {
        vsnprintf(line, sizeof line, fmt, ap);
        write_json(level, ts, line, fields, n);
        return;
    }
    int h = snprintf(line, sizeof line, "%s %-5s ", ts, names[level]);
    int m = vsnprintf(line + h, sizeof line - (size_t)h - 1, fmt, ap);
    size_t len = (size_t)h + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len] = '\n';
    line[len + 1] = '\0';
    fputs(line, stderr);
}

void mp_log(mp_log_level_t level, const char *fmt, ...)
{
    if (level < current || level >= MP_LOG_OFF)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, NULL, 0, fmt, ap);
    va_end(ap);
}

void mp_log_always(mp_log_level_t level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (atomic_load(&as_json)) {
        char ts[32];
        timestamp(ts);
        write_json(level < MP_LOG_OFF ? level : MP_LOG_ERROR, ts, line, NULL, 0);
    } else {
        flockfile(stderr);
        fputs(line, stderr);
        fputc('\n', stderr);
        funlockfile(stderr);
    }
    fflush(stderr);
}

void mp_log_fields(mp_log_level_t level, const mp_log_field_t *fields, size_t n, const char *fmt,
                   ...)
{
    if (level < current || level >= MP_LOG_OFF)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fields, n, fmt, ap);
    va_end(ap);
}
