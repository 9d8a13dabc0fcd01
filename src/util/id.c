/* Id generator; see id.h for the layout. */
#include "util/id.h"

#include "util/clock.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned node_id;
static int64_t last_ms;
static unsigned counter;

void mp_id_init(unsigned node)
{
    node_id = node & 0x3ff;
}

uint64_t mp_id_next(void)
{
    pthread_mutex_lock(&lock);
    int64_t ms = mp_now_ms() - MP_ID_EPOCH_MS;
    /* A clock that steps back must not produce a smaller id: keep using the
     * last millisecond and let the counter carry us forward. */
    if (ms <= last_ms) {
        ms = last_ms;
        if (++counter > 0xfff) {
            counter = 0;
            ms = ++last_ms;
        }
    } else {
        last_ms = ms;
        counter = 0;
    }
    uint64_t id = ((uint64_t)ms << 22) | ((uint64_t)node_id << 12) | counter;
    pthread_mutex_unlock(&lock);
    return id;
}

void mp_id_after(uint64_t id)
{
    int64_t ms = (int64_t)(id >> 22);
    unsigned c = (unsigned)(id & 0xfff);
    pthread_mutex_lock(&lock);
    /* mp_id_next then goes on from (ms, c): the same millisecond with a
     * larger counter, or a later millisecond. */
    if (ms > last_ms || (ms == last_ms && c > counter)) {
        last_ms = ms;
        counter = c;
    }
    pthread_mutex_unlock(&lock);
}

int64_t mp_id_time_ms(uint64_t id)
{
    return (int64_t)(id >> 22) + MP_ID_EPOCH_MS;
}

char *mp_id_format(uint64_t id, char out[MP_ID_STRLEN])
{
    snprintf(out, MP_ID_STRLEN, "%llu", (unsigned long long)id);
    return out;
}

bool mp_id_parse_n(const char *s, size_t len, uint64_t *out)
{
    if (s == NULL || len == 0 || len > 20 || s[0] < '1' || s[0] > '9')
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool mp_id_parse(const char *s, uint64_t *out)
{
    /* 21 characters are already one too many. */
    return s != NULL && mp_id_parse_n(s, strnlen(s, 21), out);
}
