/* 64-bit time-ordered, node-aware identifiers.
 *
 * Layout (most significant first): 41 bits milliseconds since 2024-01-01 UTC,
 * 10 bits node id, 12 bits counter. Ids from one node are strictly increasing;
 * ids from different nodes never collide. They travel as decimal strings in JSON
 * because JavaScript numbers lose precision past 2^53. */
#ifndef MP_UTIL_ID_H
#define MP_UTIL_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_ID_EPOCH_MS 1704067200000LL
#define MP_ID_STRLEN 21 /* 20 digits + NUL */

/* Sets this node's id (0..1023). Call once at start-up. */
void mp_id_init(unsigned node);
/* Next id; thread-safe. */
uint64_t mp_id_next(void);
/* Makes every later mp_id_next() larger than id (an id stored before a
 * restart), even when the clock now reads earlier than id's time. */
void mp_id_after(uint64_t id);
/* Milliseconds since the Unix epoch encoded in an id. */
int64_t mp_id_time_ms(uint64_t id);
/* Writes the decimal form; returns out. */
char *mp_id_format(uint64_t id, char out[MP_ID_STRLEN]);
/* Parses a decimal id string (1-20 digits, no sign, no leading zero, non-zero,
 * fits in 64 bits). Returns false on anything else. */
bool mp_id_parse(const char *s, uint64_t *out);
/* The same for the len bytes at s, which need no NUL after them (ids read
 * straight from a frame's bytes). */
bool mp_id_parse_n(const char *s, size_t len, uint64_t *out);

#endif
