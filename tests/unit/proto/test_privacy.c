/* The privacy rules of proto/privacy.h, row by row: op x blocks x setting x
 * friendship -> the verdict; and the names of the settings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proto/privacy.h"

enum {
    TB = 1 << 0, /* the target blocked the actor */
    AB = 1 << 1, /* the actor blocked the target */
    FR = 1 << 2, /* friends */
};

typedef struct row {
    int line;
    mp_privacy_op_t op;
    mp_privacy_t setting;
    unsigned flags;
    mp_privacy_verdict_t want;
} row_t;

#define R(op, setting, flags, want)                                                                \
    {                                                                                              \
        __LINE__, op, setting, flags, want                                                         \
    }

/* Short names for the table (macros, not enumerators: the rows keep the
 * enum types the functions take). */
#define E MP_PRIV_EVERYONE
#define C MP_PRIV_CONTACTS
#define N MP_PRIV_NOBODY
#define OK MP_PRIVACY_ALLOWED
#define NO MP_PRIVACY_REFUSED
#define YB MP_PRIVACY_YOU_BLOCKED

static const row_t rows[] = {
    /* message: the setting, then blocks both ways (the blocker is told). */
    R(MP_PRIVACY_MESSAGE, E, 0, OK),
    R(MP_PRIVACY_MESSAGE, E, FR, OK),
    R(MP_PRIVACY_MESSAGE, C, 0, NO),
    R(MP_PRIVACY_MESSAGE, C, FR, OK),
    R(MP_PRIVACY_MESSAGE, N, 0, NO),
    R(MP_PRIVACY_MESSAGE, N, FR, NO),
    R(MP_PRIVACY_MESSAGE, E, TB, NO),
    R(MP_PRIVACY_MESSAGE, E, TB | FR, NO),
    R(MP_PRIVACY_MESSAGE, E, AB, YB),
    R(MP_PRIVACY_MESSAGE, N, AB, YB),
    R(MP_PRIVACY_MESSAGE, E, AB | TB, YB),
    /* groups: the target's block and setting; the actor's own block is no bar. */
    R(MP_PRIVACY_GROUP, E, 0, OK),
    R(MP_PRIVACY_GROUP, C, 0, NO),
    R(MP_PRIVACY_GROUP, C, FR, OK),
    R(MP_PRIVACY_GROUP, N, FR, NO),
    R(MP_PRIVACY_GROUP, E, TB, NO),
    R(MP_PRIVACY_GROUP, C, TB | FR, NO),
    R(MP_PRIVACY_GROUP, E, AB, OK),
    /* presence: the same, and the actor's own block hides nothing from them. */
    R(MP_PRIVACY_PRESENCE, E, 0, OK),
    R(MP_PRIVACY_PRESENCE, C, 0, NO),
    R(MP_PRIVACY_PRESENCE, C, FR, OK),
    R(MP_PRIVACY_PRESENCE, N, FR, NO),
    R(MP_PRIVACY_PRESENCE, E, TB, NO),
    R(MP_PRIVACY_PRESENCE, E, AB, OK),
};

static void test_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row_t *r = &rows[i];
        mp_privacy_facts_t f = {.target_blocked_actor = (r->flags & TB) != 0,
                                .actor_blocked_target = (r->flags & AB) != 0,
                                .setting = r->setting,
                                .friends = (r->flags & FR) != 0};
        mp_privacy_verdict_t got = mp_privacy_rule(r->op, &f);
        if (got != r->want)
            fail_msg("row at line %d: got %d, want %d", r->line, (int)got, (int)r->want);
    }
}

static void test_allows(void **state)
{
    (void)state;
    assert_true(mp_privacy_allows(MP_PRIV_EVERYONE, false));
    assert_true(mp_privacy_allows(MP_PRIV_EVERYONE, true));
    assert_false(mp_privacy_allows(MP_PRIV_CONTACTS, false));
    assert_true(mp_privacy_allows(MP_PRIV_CONTACTS, true));
    assert_false(mp_privacy_allows(MP_PRIV_NOBODY, true));
    assert_false(mp_privacy_allows((mp_privacy_t)7, true));
}

static void test_names(void **state)
{
    (void)state;
    mp_privacy_t p = MP_PRIV_NOBODY;
    assert_true(mp_privacy_parse("everyone", &p));
    assert_int_equal(p, MP_PRIV_EVERYONE);
    assert_true(mp_privacy_parse("contacts", &p));
    assert_int_equal(p, MP_PRIV_CONTACTS);
    assert_true(mp_privacy_parse("nobody", &p));
    assert_int_equal(p, MP_PRIV_NOBODY);
    assert_false(mp_privacy_parse("Everyone", &p));
    assert_false(mp_privacy_parse("friends", &p));
    assert_false(mp_privacy_parse("", &p));
    assert_false(mp_privacy_parse(NULL, &p));
    for (int i = 0; i < 3; i++) {
        assert_true(mp_privacy_parse(mp_privacy_name((mp_privacy_t)i), &p));
        assert_int_equal(p, i);
        assert_int_equal(mp_privacy_from_int(i), i);
    }
    assert_string_equal(mp_privacy_name((mp_privacy_t)9), "nobody");
    assert_int_equal(mp_privacy_from_int(-1), MP_PRIV_NOBODY);
    assert_int_equal(mp_privacy_from_int(3), MP_PRIV_NOBODY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_allows),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
