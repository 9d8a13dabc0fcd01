/* Eight bytes at a time ("SIMD within a register"): word-wide tests for the
 * byte loops that every frame's text goes through several times (JSON
 * strings, UTF-8, control characters).
 *
 * A test gives a mask with the high bit set in bytes that match. The lowest
 * such byte is always a true match (a false one can only sit above a true
 * one, where a borrow carried into it), so "any match" is exact, and so is
 * the first match in memory order on a little-endian machine
 * (mp_swar_first); elsewhere the caller finds it with its byte loop. */
#ifndef MP_UTIL_SWAR_H
#define MP_UTIL_SWAR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MP_SWAR_ONES UINT64_C(0x0101010101010101)
#define MP_SWAR_HIGH UINT64_C(0x8080808080808080)

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define MP_SWAR_LE 1
#else
#define MP_SWAR_LE 0
#endif

/* The eight bytes at p, in any alignment. */
static inline uint64_t mp_swar_load(const void *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

/* The last n (< 8) bytes at p, the rest of the word filled with `fill`. */
static inline uint64_t mp_swar_load_tail(const void *p, size_t n, unsigned char fill)
{
    uint64_t w = MP_SWAR_ONES * fill;
    memcpy(&w, p, n);
    return w;
}

/* Bytes of w at 0x80 or above. */
static inline uint64_t mp_swar_high(uint64_t w)
{
    return w & MP_SWAR_HIGH;
}

/* Bytes of w below n (n <= 128): a byte below n borrows into its high bit,
 * and "& ~w" drops the bytes that had it set before. */
static inline uint64_t mp_swar_below(uint64_t w, unsigned n)
{
    return (w - MP_SWAR_ONES * n) & ~w & MP_SWAR_HIGH;
}

/* Bytes of w equal to c: those of w ^ c... that are zero. */
static inline uint64_t mp_swar_eq(uint64_t w, unsigned char c)
{
    return mp_swar_below(w ^ (MP_SWAR_ONES * c), 1);
}

/* Bytes of w outside printable ASCII, 0x20..0x7e. */
static inline uint64_t mp_swar_unprintable(uint64_t w)
{
    return mp_swar_high(w) | mp_swar_below(w, 0x20) | mp_swar_eq(w, 0x7f);
}

#if MP_SWAR_LE
/* The index, in memory order, of the first byte a non-zero mask flags. */
static inline size_t mp_swar_first(uint64_t mask)
{
    return (size_t)__builtin_ctzll(mask) >> 3;
}
#endif

#endif
