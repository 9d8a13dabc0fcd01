/* Latency histogram for `magpie bench`: HDR-style log-linear buckets over
 * nanoseconds, relative error <= 0.4 % (bucket midpoint), mergeable across
 * workers and processes through a compact JSON form. */
#ifndef MP_BENCH_HIST_H
#define MP_BENCH_HIST_H

#include <jansson.h>
#include <stdint.h>

/* Values below 2^MP_BENCH_HIST_SUB_BITS+1 ns are exact; above, every power of
 * two is split into 2^MP_BENCH_HIST_SUB_BITS linear sub-buckets, so a bucket
 * is at most 1/128 of its lower bound wide. Values above MP_BENCH_HIST_MAX_NS
 * (~68.7 s) are clamped into the last bucket; max still reports them exactly. */
#define MP_BENCH_HIST_SUB_BITS 7
#define MP_BENCH_HIST_MAX_BIT 36
#define MP_BENCH_HIST_MAX_NS ((UINT64_C(1) << MP_BENCH_HIST_MAX_BIT) - 1)
#define MP_BENCH_HIST_BUCKETS                                                                      \
    ((2u << MP_BENCH_HIST_SUB_BITS) +                                                              \
     (MP_BENCH_HIST_MAX_BIT - MP_BENCH_HIST_SUB_BITS - 1) * (1u << MP_BENCH_HIST_SUB_BITS))

/* Plain value type (about 30 KiB): embed it or allocate it, no hidden heap. */
typedef struct mp_bench_hist {
    uint64_t n;   /* number of recorded values */
    uint64_t min; /* exact, ns (0 when n == 0) */
    uint64_t max; /* exact, ns */
    double sum;   /* ns, for the mean */
    uint64_t counts[MP_BENCH_HIST_BUCKETS];
} mp_bench_hist_t;

/* Empties h. */
void mp_bench_hist_reset(mp_bench_hist_t *h);
/* Records one value in nanoseconds. */
void mp_bench_hist_record(mp_bench_hist_t *h, uint64_t ns);
/* Adds every value of src into dst. */
void mp_bench_hist_merge(mp_bench_hist_t *dst, const mp_bench_hist_t *src);
/* Value at percentile q (0 < q <= 100, nearest-rank definition), in ns:
 * the midpoint of the bucket holding that rank, clamped to [min, max].
 * q >= 100 returns the exact max. 0 when the histogram is empty. */
uint64_t mp_bench_hist_percentile(const mp_bench_hist_t *h, double q);
/* Mean in ns (0 when empty). */
double mp_bench_hist_mean(const mp_bench_hist_t *h);

/* Bucket index of a value and the [lo, hi] value range of a bucket (for tests
 * and plots). */
unsigned mp_bench_hist_index(uint64_t ns);
void mp_bench_hist_bucket_range(unsigned idx, uint64_t *lo, uint64_t *hi);

/* Compact JSON form {"n","min","max","sum","b":[idx,count,idx,count,...]}
 * with only non-empty buckets. Returns a new reference. */
json_t *mp_bench_hist_to_json(const mp_bench_hist_t *h);
/* Parses that form into h (reset first). Returns 0, or -1 on anything
 * malformed (h is then left reset). */
int mp_bench_hist_from_json(mp_bench_hist_t *h, const json_t *j)
    __attribute__((warn_unused_result));

#endif
