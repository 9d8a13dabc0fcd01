/* Reconnection pacing shared by `magpie send` and `magpie tail`: waits of
 * 100 ms doubling up to 2 s, each drawn at random from the upper half of its
 * bound, so that the many clients one server restart cuts off do not all
 * come back in the same millisecond. */
#ifndef MP_CLI_BACKOFF_H
#define MP_CLI_BACKOFF_H

#include <stdint.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>

#define MP_CLI_BACKOFF_FIRST_MS 100
#define MP_CLI_BACKOFF_MAX_MS 2000

typedef struct mp_cli_backoff {
    int next_ms; /* the bound of the next wait; 0 = not started */
} mp_cli_backoff_t;

/* The next wait in ms, and doubles the bound for the one after. */
static inline int mp_cli_backoff_next(mp_cli_backoff_t *b)
{
    int bound = b->next_ms > 0 ? b->next_ms : MP_CLI_BACKOFF_FIRST_MS;
    b->next_ms = bound * 2 > MP_CLI_BACKOFF_MAX_MS ? MP_CLI_BACKOFF_MAX_MS : bound * 2;
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        r = (uint32_t)time(NULL); /* jitter only: any value will do */
    return bound / 2 + (int)(r % (uint32_t)(bound / 2 + 1));
}

/* A connection worked: the next failure starts again at 100 ms. */
static inline void mp_cli_backoff_reset(mp_cli_backoff_t *b)
{
    b->next_ms = 0;
}

/* Sleeps ms milliseconds; returns early (non-zero) when a signal interrupts
 * it, so that a command can look at its stop flag. */
static inline int mp_cli_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    return nanosleep(&ts, NULL);
}

/* Monotonic clock in ms, for deadlines. */
static inline int64_t mp_cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
