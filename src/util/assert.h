/* Invariants as code: MP_ASSERT(cond) checks a rule the comments state (a
 * refcount never goes negative, a connection is released once, a function
 * runs on the loop thread). Active in every build without NDEBUG — Debug,
 * the sanitizer, TSan and fuzz builds — and compiled out of Release, where
 * the condition is not evaluated (so it must have no side effects).
 * A failure prints the condition and its place and aborts, which the
 * sanitizers turn into a stack trace. */
#ifndef MP_UTIL_ASSERT_H
#define MP_UTIL_ASSERT_H

#include <uv.h>

#ifdef NDEBUG
#define MP_ASSERT(cond) ((void)0)
#define MP_ASSERT_THREAD(owner) ((void)0)
#else
_Noreturn void mp_assert__fail(const char *cond, const char *file, int line, const char *func);
#define MP_ASSERT(cond) ((cond) ? (void)0 : mp_assert__fail(#cond, __FILE__, __LINE__, __func__))
/* The calling thread is `owner` (a uv_thread_t recorded with uv_thread_self
 * by the structure that may only be used from that thread). */
#define MP_ASSERT_THREAD(owner)                                                                    \
    do {                                                                                           \
        uv_thread_t mp_assert__self = uv_thread_self();                                            \
        MP_ASSERT(uv_thread_equal(&mp_assert__self, &(owner)));                                    \
    } while (0)
#endif

#endif
