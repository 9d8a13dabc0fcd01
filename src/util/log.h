/* Logging to stderr: one line per event, with a UTC timestamp and level. */
#ifndef MP_UTIL_LOG_H
#define MP_UTIL_LOG_H

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
void mp_log(mp_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define mp_log_debug(...) mp_log(MP_LOG_DEBUG, __VA_ARGS__)
#define mp_log_info(...) mp_log(MP_LOG_INFO, __VA_ARGS__)
#define mp_log_warn(...) mp_log(MP_LOG_WARN, __VA_ARGS__)
#define mp_log_error(...) mp_log(MP_LOG_ERROR, __VA_ARGS__)

#endif
