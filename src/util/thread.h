/* Thread names. */
#ifndef MP_UTIL_THREAD_H
#define MP_UTIL_THREAD_H

/* Names the calling thread, so that `top -H`, `perf` and
 * /proc/PID/task/TID/comm tell the server's threads apart (Linux keeps 15
 * bytes). Naming is best effort: a failure changes nothing else. Calling it
 * again on a thread with the same string (the same pointer) costs nothing. */
void mp_thread_name(const char *name);

#endif
