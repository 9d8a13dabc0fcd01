/* Thread names. */
#ifndef MP_UTIL_THREAD_H
#define MP_UTIL_THREAD_H

/* Names the calling thread, so that `top -H`, `perf` and
 * /proc/PID/task/TID/comm tell the server's threads apart (Linux keeps 15
 * bytes). Naming is best effort: a failure changes nothing else. Calling it
 * again on a thread with the same string (the same pointer) costs nothing. */
void mp_thread_name(const char *name);

/* Lowers the calling thread's CPU priority by `steps` nice values (1..19),
 * for background work that nobody waits for and that must not take a core
 * from the loop or the writer when every core is wanted: keeping the search
 * index.
 * Linux schedules each thread on its own, so only the caller changes (and
 * threads it starts later inherit it). Lowering needs no privilege; best
 * effort, as naming: a failure leaves the priority as it was. */
void mp_thread_background(int steps);

#endif
