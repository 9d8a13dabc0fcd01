/* Log-linear latency histogram (see hist.h): constant-time record, exact
 * min/max, mergeable and serialisable so that workers in several processes
 * can be combined without losing precision. */
#include "bench/hist.h"

#include <string.h>

#define SUB (1u << MP_BENCH_HIST_SUB_BITS)
#define EXACT (2u * SUB)

void mp_bench_hist_reset(mp_bench_hist_t *h)
{
    memset(h, 0, sizeof(*h));
}

unsigned mp_bench_hist_index(uint64_t ns)
{
    if (ns > MP_BENCH_HIST_MAX_NS)
        ns = MP_BENCH_HIST_MAX_NS;
    if (ns < EXACT)
        return (unsigned)ns;
    unsigned msb = 63u - (unsigned)__builtin_clzll(ns);
    unsigned shift = msb - MP_BENCH_HIST_SUB_BITS;
    unsigned top = (unsigned)(ns >> shift); /* in [SUB, 2*SUB) */
    return EXACT + (msb - MP_BENCH_HIST_SUB_BITS - 1) * SUB + (top - SUB);
}

void mp_bench_hist_bucket_range(unsigned idx, uint64_t *lo, uint64_t *hi)
{
    if (idx < EXACT) {
        *lo = *hi = idx;
        return;
    }
    unsigned rel = idx - EXACT;
    unsigned shift = rel / SUB + 1;
    uint64_t top = SUB + rel % SUB;
    *lo = top << shift;
    *hi = ((top + 1) << shift) - 1;
}

void mp_bench_hist_record(mp_bench_hist_t *h, uint64_t ns)
{
    h->counts[mp_bench_hist_index(ns)]++;
    if (h->n == 0 || ns < h->min)
        h->min = ns;
    if (ns > h->max)
        h->max = ns;
    h->n++;
    h->sum += (double)ns;
}

void mp_bench_hist_merge(mp_bench_hist_t *dst, const mp_bench_hist_t *src)
{
    if (src->n == 0)
        return;
    for (unsigned i = 0; i < MP_BENCH_HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    if (dst->n == 0 || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->n += src->n;
    dst->sum += src->sum;
}

uint64_t mp_bench_hist_percentile(const mp_bench_hist_t *h, double q)
{
    if (h->n == 0)
        return 0;
    if (q >= 100.0)
        return h->max;
    if (q <= 0.0)
        return h->min;
    /* Nearest rank: the smallest value with at least ceil(q% * n) values <= it. */
    double exact_rank = q / 100.0 * (double)h->n;
    uint64_t rank = (uint64_t)exact_rank;
    if ((double)rank < exact_rank)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < MP_BENCH_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen < rank)
            continue;
        uint64_t lo, hi;
        mp_bench_hist_bucket_range(i, &lo, &hi);
        uint64_t mid = lo + (hi - lo) / 2;
        if (mid < h->min)
            mid = h->min;
        if (mid > h->max)
            mid = h->max;
        return mid;
    }
    return h->max;
}

double mp_bench_hist_mean(const mp_bench_hist_t *h)
{
    return h->n ? h->sum / (double)h->n : 0.0;
}

json_t *mp_bench_hist_to_json(const mp_bench_hist_t *h)
{
    json_t *b = json_array();
    for (unsigned i = 0; i < MP_BENCH_HIST_BUCKETS; i++) {
        if (h->counts[i] == 0)
            continue;
        json_array_append_new(b, json_integer((json_int_t)i));
        json_array_append_new(b, json_integer((json_int_t)h->counts[i]));
    }
    return json_pack("{s:I,s:I,s:I,s:f,s:o}", "n", (json_int_t)h->n, "min", (json_int_t)h->min,
                     "max", (json_int_t)h->max, "sum", h->sum, "b", b);
}

int mp_bench_hist_from_json(mp_bench_hist_t *h, const json_t *j)
{
    json_int_t n, mn, mx;
    double sum;
    json_t *b;
    uint64_t total = 0;

    mp_bench_hist_reset(h);
    if (json_unpack((json_t *)j, "{s:I,s:I,s:I,s:F,s:o}", "n", &n, "min", &mn, "max", &mx, "sum",
                    &sum, "b", &b) != 0)
        goto bad;
    if (n < 0 || mn < 0 || mx < mn || !json_is_array(b) || json_array_size(b) % 2 != 0)
        goto bad;
    for (size_t k = 0; k < json_array_size(b); k += 2) {
        json_t *ji = json_array_get(b, k), *jc = json_array_get(b, k + 1);
        if (!json_is_integer(ji) || !json_is_integer(jc))
            goto bad;
        json_int_t idx = json_integer_value(ji), c = json_integer_value(jc);
        if (idx < 0 || idx >= (json_int_t)MP_BENCH_HIST_BUCKETS || c <= 0)
            goto bad;
        h->counts[idx] += (uint64_t)c;
        total += (uint64_t)c;
    }
    if (total != (uint64_t)n)
        goto bad;
    h->n = (uint64_t)n;
    h->min = n ? (uint64_t)mn : 0;
    h->max = n ? (uint64_t)mx : 0;
    h->sum = sum;
    return 0;
bad:
    mp_bench_hist_reset(h);
    return -1;
}
