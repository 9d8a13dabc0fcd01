/* Time sources. */
#ifndef MP_UTIL_CLOCK_H
#define MP_UTIL_CLOCK_H

#include <stdint.h>

/* Wall-clock milliseconds since the Unix epoch (timestamps we store and send). */
int64_t mp_now_ms(void);
/* Monotonic milliseconds (timeouts, rate limits); never goes backwards. */
int64_t mp_mono_ms(void);
/* Monotonic nanoseconds (latency measurements). */
int64_t mp_mono_ns(void);
/* Formats ms-since-epoch as RFC 3339 UTC with milliseconds: out needs 25 bytes. */
void mp_time_format(int64_t ms, char out[25]);

#endif
