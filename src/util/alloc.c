/* Allocation wrappers; see alloc.h for the out-of-memory policy. With
 * MP_ALLOC_STATS they also count the bytes in use (for the fuzzers' leak
 * check); without it (Release) they are plain calls to the C library. */
#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef MP_ALLOC_STATS
#include <malloc.h>
#include <stdatomic.h>

static atomic_size_t used;

static void count_add(void *p)
{
    atomic_fetch_add_explicit(&used, malloc_usable_size(p), memory_order_relaxed);
}

static void count_sub(void *p)
{
    atomic_fetch_sub_explicit(&used, malloc_usable_size(p), memory_order_relaxed);
}
#else
#define count_add(p) ((void)(p))
#define count_sub(p) ((void)(p))
#endif

static void *oom(size_t n)
{
    fprintf(stderr, "magpie: fatal: out of memory allocating %zu bytes\n", n);
    abort();
}

void *mp_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        return oom(n);
    count_add(p);
    return p;
}

void *mp_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL)
        return oom(count * size);
    count_add(p);
    return p;
}

void *mp_realloc(void *p, size_t n)
{
#ifdef MP_ALLOC_STATS
    size_t old = p ? malloc_usable_size(p) : 0;
#endif
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        return oom(n);
#ifdef MP_ALLOC_STATS
    atomic_fetch_sub_explicit(&used, old, memory_order_relaxed);
    count_add(q);
#endif
    return q;
}

void mp_free(void *p)
{
    if (p == NULL)
        return;
    count_sub(p);
    free(p);
}

char *mp_strdup(const char *s)
{
    return mp_strndup(s, strlen(s));
}

char *mp_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = mp_malloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

#ifdef MP_ALLOC_STATS
size_t mp_alloc_used(void)
{
    return atomic_load_explicit(&used, memory_order_relaxed);
}
#endif
