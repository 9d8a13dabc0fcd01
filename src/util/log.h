/* Logging to stderr: one line per event, with a UTC timestamp and level; as
 * text, or as one JSON object per line (log_format = json) for a log
 * pipeline. */
#ifndef MP_UTIL_LOG_H
#define MP_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    MP_LOG_DEBUG = 0,
    MP_LOG_INFO,
    MP_LOG_WARN,
    MP_LOG_ERROR,
    MP_LOG_OFF
} mp_log_level_t;

void mp_log_set_level(mp_log_level_t level);
mp_log_level_t mp_log_get_level(void);
/* Parses "debug|info|warn|error|off"; returns -1 on an unknown name. */
int mp_log_level_parse(const char *name);
/* JSON lines: {"time":"2026-...Z","level":"info","msg":"...", fields...}. */
void mp_log_set_json(bool json);
void mp_log(mp_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line that is written whatever log_level says (what scripts and
 * supervisors wait for, "magpie: listening on ...", and why the server could
 * not start): as text, the message alone; as JSON, an object of that level. */
void mp_log_always(mp_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One named value of a structured line: a string (str != NULL) or a number.
 * In JSON each is a key of the object; text lines show only the message,
 * which should carry what a person needs. */
typedef struct mp_log_field {
    const char *key;
    const char *str;
    int64_t num;
} mp_log_field_t;

void mp_log_fields(mp_log_level_t level, const mp_log_field_t *fields, size_t n, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

#define mp_log_debug(...) mp_log(MP_LOG_DEBUG, __VA_ARGS__)
#define mp_log_info(...) mp_log(MP_LOG_INFO, __VA_ARGS__)
#define mp_log_warn(...) mp_log(MP_LOG_WARN, __VA_ARGS__)
#define mp_log_error(...) mp_log(MP_LOG_ERROR, __VA_ARGS__)

#endif
