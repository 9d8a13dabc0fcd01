/* Allocation wrappers: every heap allocation in Magpie goes through these.
 *
 * Out-of-memory policy (written once, applied everywhere): a chat server that
 * cannot allocate a few bytes cannot make progress safely, so these never
 * return NULL; they log and abort.
 *
 * Builds with MP_ALLOC_STATS (Debug, sanitizers, fuzzers; see CMakeLists.txt)
 * also count the bytes in use; Release builds do not pay for it. */
#ifndef MP_UTIL_ALLOC_H
#define MP_UTIL_ALLOC_H

#include <stddef.h>

void *mp_malloc(size_t n);
void *mp_calloc(size_t count, size_t size);
void *mp_realloc(void *p, size_t n);
void mp_free(void *p);
char *mp_strdup(const char *s);
char *mp_strndup(const char *s, size_t n);
#ifdef MP_ALLOC_STATS
/* Bytes currently allocated through these wrappers. Only exists when counted,
 * so that nothing can read a count that is not kept. */
size_t mp_alloc_used(void);
#endif

#endif
