/* The PostgreSQL migration list (store/migrations_pg.h) against the SQLite
 * one: the same number of entries, so that a schema version means the same
 * tables on both databases and a migration appended to one list and not the
 * other fails here rather than on the first cluster start. (Whether the SQL
 * runs needs a real PostgreSQL: not a unit test's business.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store/migrations_pg.h"
#include "store/store.h"

static void test_as_many_as_sqlite(void **state)
{
    (void)state;
    int n = 0;
    while (mp_pg__migrations[n] != NULL)
        n++;
    assert_int_equal(n, mp_store_schema_version());
}

/* An empty entry would "apply" and bump the version without changing
 * anything: every one must hold SQL. */
static void test_entries_hold_sql(void **state)
{
    (void)state;
    for (int i = 0; mp_pg__migrations[i] != NULL; i++)
        assert_true(strlen(mp_pg__migrations[i]) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_as_many_as_sqlite),
        cmocka_unit_test(test_entries_hold_sql),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
