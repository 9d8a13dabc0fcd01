/* Bench counters and histograms: merge and JSON form (see stats.h). */
#include "bench/stats.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

const char *const mp_bench_hist_names[MP_BENCH_H__COUNT] = {"connect", "ack", "deliver", "read",
                                                            "last"};

mp_bench_stats_t *mp_bench_stats_new(void)
{
    return mp_calloc(1, sizeof(mp_bench_stats_t));
}

void mp_bench_stats_free(mp_bench_stats_t *st)
{
    mp_free(st);
}

void mp_bench_stats_reset(mp_bench_stats_t *st)
{
    memset(st, 0, sizeof(*st));
}

void mp_bench_stats_error(mp_bench_stats_t *st, const char *fmt, ...)
{
    st->errors++;
    if (st->first_error[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->first_error, sizeof(st->first_error), fmt, ap);
    va_end(ap);
}

void mp_bench_stats_merge(mp_bench_stats_t *dst, const mp_bench_stats_t *src)
{
#define MP_BENCH_ADD(name) dst->name += src->name;
    MP_BENCH_COUNTERS(MP_BENCH_ADD)
#undef MP_BENCH_ADD
    if (src->elapsed_ms > dst->elapsed_ms)
        dst->elapsed_ms = src->elapsed_ms;
    if (src->connect_all_ms > dst->connect_all_ms)
        dst->connect_all_ms = src->connect_all_ms;
    if (dst->first_error[0] == '\0')
        memcpy(dst->first_error, src->first_error, sizeof(dst->first_error));
    for (int i = 0; i < MP_BENCH_H__COUNT; i++)
        mp_bench_hist_merge(&dst->hist[i], &src->hist[i]);
}

json_t *mp_bench_stats_counters_json(const mp_bench_stats_t *st)
{
    json_t *j = json_object();
#define MP_BENCH_PUT(name) json_object_set_new(j, #name, json_integer((json_int_t)st->name));
    MP_BENCH_COUNTERS(MP_BENCH_PUT)
#undef MP_BENCH_PUT
    json_object_set_new(j, "elapsed_ms", json_integer(st->elapsed_ms));
    json_object_set_new(j, "connect_all_ms", json_integer(st->connect_all_ms));
    if (st->first_error[0] != '\0')
        json_object_set_new(j, "first_error", json_string(st->first_error));
    return j;
}

json_t *mp_bench_stats_to_json(const mp_bench_stats_t *st)
{
    json_t *j = mp_bench_stats_counters_json(st);
    json_t *h = json_object();
    for (int i = 0; i < MP_BENCH_H__COUNT; i++)
        if (st->hist[i].n > 0)
            json_object_set_new(h, mp_bench_hist_names[i], mp_bench_hist_to_json(&st->hist[i]));
    json_object_set_new(j, "hist", h);
    return j;
}

static int get_u64(const json_t *j, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(j, key);
    if (v == NULL)
        return 0; /* absent counters are zero: older or partial snapshots */
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

int mp_bench_stats_from_json(mp_bench_stats_t *st, const json_t *j)
{
    uint64_t tmp;
    mp_bench_stats_reset(st);
    if (!json_is_object(j))
        return -1;
#define MP_BENCH_GET(name)                                                                         \
    if (get_u64(j, #name, &st->name) != 0)                                                         \
        goto bad;
    MP_BENCH_COUNTERS(MP_BENCH_GET)
#undef MP_BENCH_GET
    tmp = 0;
    if (get_u64(j, "elapsed_ms", &tmp) != 0)
        goto bad;
    st->elapsed_ms = (int64_t)tmp;
    tmp = 0;
    if (get_u64(j, "connect_all_ms", &tmp) != 0)
        goto bad;
    st->connect_all_ms = (int64_t)tmp;
    const char *fe = json_string_value(json_object_get(j, "first_error"));
    if (fe != NULL)
        snprintf(st->first_error, sizeof(st->first_error), "%s", fe);
    json_t *h = json_object_get(j, "hist");
    for (int i = 0; h != NULL && i < MP_BENCH_H__COUNT; i++) {
        json_t *hj = json_object_get(h, mp_bench_hist_names[i]);
        if (hj != NULL && mp_bench_hist_from_json(&st->hist[i], hj) != 0)
            goto bad;
    }
    return 0;
bad:
    mp_bench_stats_reset(st);
    return -1;
}
