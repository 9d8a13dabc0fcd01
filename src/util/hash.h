/* The hash of 64-bit keys (util/map.h and the older tables of the core): a
 * full-avalanche mix so that time-ordered ids, which differ mostly in their
 * low bits, spread over every slot. */
#ifndef MP_UTIL_HASH_H
#define MP_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline size_t mp_hash_u64(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ULL;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dULL;
    x ^= x >> 33;
    return (size_t)x;
}

#endif
