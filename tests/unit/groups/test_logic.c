/* Pure logic of the groups module: invite tokens, the members-list cursor,
 * the settings and id-list parsers, and the group rules the membership cache
 * applies on the send path (sorted ids, roles, mutes, dissolution). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "chat/chat_int.h"
#include "groups/groups_int.h"
#include "util/alloc.h"

static void test_tokens(void **state)
{
    (void)state;
    assert_true(sodium_init() >= 0);
    char a[23], b[23];
    mp_groups_token(a);
    mp_groups_token(b);
    assert_int_equal(strlen(a), 22);
    assert_true(mp_groups_token_valid(a));
    assert_string_not_equal(a, b);
    for (size_t i = 0; i < 22; i++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", a[i]));
    assert_false(mp_groups_token_valid(""));
    assert_false(mp_groups_token_valid("a/b"));
    assert_false(mp_groups_token_valid("a b"));
    assert_false(mp_groups_token_valid(NULL));
    char longer[80];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_false(mp_groups_token_valid(longer));
}

static void test_cursor(void **state)
{
    (void)state;
    char buf[48];
    int64_t at;
    uint64_t user;
    mp_groups__cursor_format(1700000000123LL, 383212609211465728ULL, buf, sizeof buf);
    assert_string_equal(buf, "1700000000123.383212609211465728");
    assert_true(mp_groups__cursor_parse(buf, &at, &user));
    assert_true(at == 1700000000123LL && user == 383212609211465728ULL);
    assert_false(mp_groups__cursor_parse("12", &at, &user));
    assert_false(mp_groups__cursor_parse(".5", &at, &user));
    assert_false(mp_groups__cursor_parse("-1.5", &at, &user));
    assert_false(mp_groups__cursor_parse("1.x", &at, &user));
    assert_false(mp_groups__cursor_parse("1.0", &at, &user));
    assert_false(mp_groups__cursor_parse("99999999999999999999.5", &at, &user));
    assert_false(mp_groups__cursor_parse("9999999999999999999.5", &at, &user));
}

static void test_parsers(void **state)
{
    (void)state;
    char msg[160];
    unsigned mask;
    mp_group_settings_t s;
    json_t *o = json_pack("{s:s,s:s}", "who_can_post", "admins", "who_can_edit_info", "all");
    assert_true(mp_groups__settings_parse(o, &mask, &s, msg, sizeof msg));
    assert_int_equal(mask, MP_GROUP_SET_POST | MP_GROUP_SET_EDIT);
    assert_true(s.post_admins && !s.edit_admins && !s.invite_admins && !s.pin_admins);
    json_decref(o);
    o = json_pack("{s:s}", "who_can_pin", "admins");
    assert_true(mp_groups__settings_parse(o, &mask, &s, msg, sizeof msg));
    assert_int_equal(mask, MP_GROUP_SET_PIN);
    assert_true(s.pin_admins && !s.post_admins && !s.edit_admins && !s.invite_admins);
    json_decref(o);
    o = json_pack("{s:s}", "who_can_pin", "all");
    assert_true(mp_groups__settings_parse(o, &mask, &s, msg, sizeof msg));
    assert_int_equal(mask, MP_GROUP_SET_PIN);
    assert_false(s.pin_admins);
    json_decref(o);
    o = json_pack("{s:b}", "who_can_pin", 1);
    assert_false(mp_groups__settings_parse(o, &mask, &s, msg, sizeof msg));
    assert_string_equal(msg, "field 'settings.who_can_pin' must be \"all\" or \"admins\"");
    json_decref(o);
    o = json_pack("{s:s}", "who_can_invite", "everyone");
    assert_false(mp_groups__settings_parse(o, &mask, &s, msg, sizeof msg));
    assert_non_null(strstr(msg, "who_can_invite"));
    json_decref(o);
    o = json_pack("{s:i}", "who_can_post", 1);
    assert_false(mp_groups__settings_parse(o, &mask, &s, msg, sizeof msg));
    json_decref(o);
    assert_true(mp_groups__settings_parse(NULL, &mask, &s, msg, sizeof msg));
    assert_int_equal(mask, 0);

    uint64_t *ids;
    size_t n;
    json_t *a = json_pack("[s,s]", "12", "34");
    assert_true(mp_groups__ids_parse(a, "user_ids", &ids, &n, msg, sizeof msg));
    assert_int_equal(n, 2);
    assert_true(ids[0] == 12 && ids[1] == 34);
    mp_free(ids);
    json_decref(a);
    a = json_pack("[s,i]", "12", 34);
    assert_false(mp_groups__ids_parse(a, "user_ids", &ids, &n, msg, sizeof msg));
    assert_null(ids);
    json_decref(a);
    a = json_pack("[s]", "0");
    assert_false(mp_groups__ids_parse(a, "user_ids", &ids, &n, msg, sizeof msg));
    json_decref(a);
}

static void test_cache_entries(void **state)
{
    (void)state;
    mp_chat_cache_t *c = mp_chat__cache_new(4);
    uint64_t members[] = {10, 20, 30, 40};
    mp_group_conv_row_t row = {.kind = MP_CONV_GROUP, .members = members, .n = 4};
    const mp_chat_conv_t *e = mp_chat__cache_put_row(c, 7, &row);
    assert_true(mp_chat__conv_has(e, 30));
    assert_true(mp_chat__conv_has(e, 40));
    assert_false(mp_chat__conv_has(e, 35));
    assert_false(e->dissolved);
    row.dissolved = true;
    e = mp_chat__cache_put_row(c, 7, &row);
    assert_true(e->dissolved);

    /* Direct entries: unsorted input still bisects. */
    uint64_t pair[] = {90, 5};
    e = mp_chat__cache_put(c, 8, MP_CONV_DIRECT, pair, 2);
    assert_true(mp_chat__conv_has(e, 90) && mp_chat__conv_has(e, 5));
    assert_false(mp_chat__conv_has(e, 6));

    /* A large group: 10,000 members in one flat array. */
    enum { N = 10000 };
    uint64_t *big = mp_malloc(N * sizeof *big);
    for (size_t i = 0; i < N; i++)
        big[i] = 1000 + 2 * i;
    mp_group_conv_row_t brow = {.kind = MP_CONV_GROUP, .members = big, .n = N};
    e = mp_chat__cache_put_row(c, 9, &brow);
    assert_true(mp_chat__conv_has(e, 1000 + 2 * 9999));
    assert_false(mp_chat__conv_has(e, 1001));
    mp_free(big);
    mp_chat__cache_drop(c, 9);
    assert_null(mp_chat__cache_get(c, 9));
    assert_non_null(mp_chat__cache_get(c, 7));
    mp_chat__cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_parsers),
        cmocka_unit_test(test_cache_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
