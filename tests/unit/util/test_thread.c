/* util/thread.h: a thread's name is what /proc shows for it, cut to the 15
 * bytes Linux keeps; a background thread runs at a lower priority than the
 * rest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "util/thread.h"

typedef struct {
    const char *name;
    char seen[64];
} named_t;

/* This thread's name as /proc has it, without the newline. */
static void read_comm(char *out, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/comm", (long)syscall(SYS_gettid));
    FILE *f = fopen(path, "r");
    out[0] = '\0';
    if (f == NULL)
        return;
    if (fgets(out, (int)cap, f) != NULL)
        out[strcspn(out, "\n")] = '\0';
    fclose(f);
}

static void named_main(void *arg)
{
    named_t *n = arg;
    mp_thread_name(n->name);
    read_comm(n->seen, sizeof n->seen);
}

static void run_named(named_t *n)
{
    uv_thread_t t;
    assert_int_equal(uv_thread_create(&t, named_main, n), 0);
    assert_int_equal(uv_thread_join(&t), 0);
}

static void test_name_shows_in_proc(void **state)
{
    (void)state;
    named_t n = {.name = "mp-writer"};
    run_named(&n);
    assert_string_equal(n.seen, "mp-writer");
}

static void test_long_name_is_cut(void **state)
{
    (void)state;
    named_t n = {.name = "mp-a-name-longer-than-fifteen"};
    run_named(&n);
    assert_string_equal(n.seen, "mp-a-name-longe");
}

typedef struct {
    int steps;
    int before, after;
} lowered_t;

static void lowered_main(void *arg)
{
    lowered_t *l = arg;
    l->before = getpriority(PRIO_PROCESS, 0);
    mp_thread_background(l->steps);
    l->after = getpriority(PRIO_PROCESS, 0);
}

/* A background thread runs `steps` nice values lower (Linux stops at 19);
 * the thread that started it keeps its own priority. */
static void test_background_lowers_only_the_caller(void **state)
{
    (void)state;
    int mine = getpriority(PRIO_PROCESS, 0);
    lowered_t l = {.steps = 10};
    uv_thread_t t;
    assert_int_equal(uv_thread_create(&t, lowered_main, &l), 0);
    assert_int_equal(uv_thread_join(&t), 0);
    assert_int_equal(l.before, mine);
    assert_int_equal(l.after, mine + 10 > 19 ? 19 : mine + 10);
    assert_int_equal(getpriority(PRIO_PROCESS, 0), mine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_shows_in_proc),
        cmocka_unit_test(test_long_name_is_cut),
        cmocka_unit_test(test_background_lowers_only_the_caller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
