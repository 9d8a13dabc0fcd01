/* The I/O thread pool (net/iopool.h) on its own, with socket pairs: every
 * job of every run is written once and whole, by the caller or a helper;
 * runs of any size follow one another (a helper that wakes late must never
 * touch a later run); a write to a socket whose peer is gone reports the
 * error and raises no SIGPIPE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/iopool.h"

#define NSOCK 1024 /* one job per socket per run, as a flush makes them */

static int ends[NSOCK][2]; /* [0] written by the pool, [1] read by the test */

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < NSOCK; i++) {
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, ends[i]), 0);
        assert_int_equal(fcntl(ends[i][1], F_SETFL, O_NONBLOCK), 0);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NSOCK; i++) {
        close(ends[i][0]);
        if (ends[i][1] >= 0)
            close(ends[i][1]);
    }
    return 0;
}

/* Job j of run r writes "r.j|" in two buffers ("r." and "j|") to socket j;
 * the test then reads each socket and finds its job's bytes whole. */
static char text[2][NSOCK][16];
static struct iovec iov[2 * NSOCK];

static void fill(mp_iojob_t *jobs, size_t n, unsigned run)
{
    assert_true(n <= NSOCK);
    for (size_t j = 0; j < n; j++) {
        snprintf(text[0][j], sizeof text[0][j], "%u.", run);
        snprintf(text[1][j], sizeof text[1][j], "%zu|", j);
        iov[2 * j] = (struct iovec){text[0][j], strlen(text[0][j])};
        iov[2 * j + 1] = (struct iovec){text[1][j], strlen(text[1][j])};
        jobs[j] = (mp_iojob_t){.fd = ends[j % NSOCK][0], .iov_off = (unsigned)(2 * j), .niov = 2};
    }
}

/* Reads socket s and checks it holds exactly job s of run `run` (nothing
 * when the run had fewer jobs). */
static void check_socket(int s, size_t n, unsigned run)
{
    char want[64], got[64];
    size_t wl = 0;
    if ((size_t)s < n)
        wl = (size_t)snprintf(want, sizeof want, "%u.%d|", run, s);
    ssize_t gl = read(ends[s][1], got, sizeof got);
    if (wl == 0) {
        assert_true(gl < 0 && errno == EAGAIN);
        return;
    }
    assert_int_equal(gl, (ssize_t)wl);
    assert_memory_equal(got, want, wl);
}

static void run_and_check(mp_iopool_t *p, size_t n, unsigned run, unsigned threads)
{
    static mp_iojob_t jobs[NSOCK];
    fill(jobs, n, run);
    mp_iopool_run(p, jobs, n, iov);
    for (size_t j = 0; j < n; j++) {
        assert_int_equal(jobs[j].n, (ssize_t)(iov[2 * j].iov_len + iov[2 * j + 1].iov_len));
        assert_true(jobs[j].by < threads);
    }
    for (int s = 0; s < NSOCK; s++)
        check_socket(s, n, run);
}

static void test_runs_of_every_size(void **state)
{
    (void)state;
    mp_iopool_t *p = mp_iopool_new(3);
    assert_non_null(p);
    assert_int_equal(mp_iopool_threads(p), 3);
    /* Sizes around the chunk of four, and many runs in a row: a helper
     * still waking up from one run meets the next. */
    static const size_t sizes[] = {0, 1, 3, 4, 5, 8, 9, 64, 1000, 1024, 2, 700};
    unsigned run = 0;
    for (int rep = 0; rep < 20; rep++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            run_and_check(p, sizes[i], run++, 3);
    mp_iopool_free(p);
}

static void test_helpers_only(void **state)
{
    (void)state;
    mp_iopool_t *p = mp_iopool_new(2);
    assert_non_null(p);
    mp_iopool_helpers_only(p, true);
    static mp_iojob_t jobs[NSOCK];
    for (unsigned run = 0; run < 50; run++) {
        size_t n = 1 + run * 37 % 300;
        fill(jobs, n, run);
        mp_iopool_run(p, jobs, n, iov);
        for (size_t j = 0; j < n; j++)
            assert_int_equal(jobs[j].by, 1); /* the one helper, never the caller */
        for (int s = 0; s < NSOCK; s++)
            check_socket(s, n, run);
    }
    mp_iopool_free(p);
}

static void test_peer_gone(void **state)
{
    (void)state;
    mp_iopool_t *p = mp_iopool_new(2);
    assert_non_null(p);
    close(ends[5][1]);
    ends[5][1] = -1;
    static mp_iojob_t jobs[NSOCK];
    fill(jobs, NSOCK, 7);
    mp_iopool_run(p, jobs, NSOCK, iov);
    /* No SIGPIPE (the process would have died): the error is the job's. */
    assert_int_equal(jobs[5].n, -EPIPE);
    for (int s = 0; s < NSOCK; s++)
        if (s != 5)
            check_socket(s, NSOCK, 7);
    mp_iopool_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_runs_of_every_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_helpers_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_gone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
