/* System messages: the store records facts (proto/group_fact.h), the line
 * clients read is rendered from them (chat/sysmsg.h), and bodies stored
 * before the facts still show their own line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "chat/sysmsg.h"
#include "proto/group_fact.h"
#include "util/alloc.h"

/* The line for a stored body given as JSON text. */
static char *line_of(const char *stored)
{
    json_t *body = json_loads(stored, 0, NULL);
    if (body == NULL)
        fail_msg("bad test JSON %s", stored);
    char *line = mp_chat_sysmsg_text(body);
    json_decref(body);
    return line;
}

static void expect_line(const char *stored, const char *want)
{
    char *got = line_of(stored);
    if (got == NULL || strcmp(got, want) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", stored, got ? got : "(null)", want);
    mp_free(got);
}

/* Encodes f and checks the stored record: its "system" object (exactly what
 * clients get, members in their documented order) and its line. */
static void expect_fact(const mp_group_fact_t *f, const char *system, const char *line)
{
    char *stored = mp_group_fact_encode(f);
    assert_non_null(stored);
    json_t *body = json_loads(stored, 0, NULL);
    assert_non_null(body);
    char *sys = json_dumps(json_object_get(body, "system"), JSON_COMPACT);
    if (strcmp(sys, system) != 0)
        fail_msg("system: got %s, want %s", sys, system);
    free(sys);
    assert_null(json_object_get(body, "text")); /* no prose stored */
    json_decref(body);
    expect_line(stored, line);
    mp_free(stored);
}

static const uint64_t U2[] = {2}, U234[] = {2, 3, 4}, U2345[] = {2, 3, 4, 5};

static void test_every_action(void **state)
{
    (void)state;
    mp_group_fact_t f;
#define FACT(act)                                                                                  \
    (f = (mp_group_fact_t){.action = act, .actor_id = 1, .names = {"Alice"}, .n_names = 1})
    FACT("created");
    f.has_users = true, f.user_ids = U2345, f.n_users = 4, f.title = "Birds";
    expect_fact(&f,
                "{\"action\":\"created\",\"actor_id\":\"1\",\"user_ids\":[\"2\",\"3\",\"4\",\"5\"],"
                "\"title\":\"Birds\"}",
                "Alice created the group \"Birds\"");
    FACT("members_added");
    f.has_users = true, f.user_ids = U234, f.n_users = 3;
    f.names[1] = "Bob", f.names[2] = "Carol", f.names[3] = "Dan", f.n_names = 4;
    expect_fact(
        &f, "{\"action\":\"members_added\",\"actor_id\":\"1\",\"user_ids\":[\"2\",\"3\",\"4\"]}",
        "Alice added Bob, Carol and Dan");
    FACT("members_added");
    f.has_users = true, f.user_ids = U2345, f.n_users = 4;
    expect_fact(
        &f,
        "{\"action\":\"members_added\",\"actor_id\":\"1\",\"user_ids\":[\"2\",\"3\",\"4\",\"5\"]}",
        "Alice added 4 members");
    FACT("member_removed");
    f.has_users = true, f.user_ids = U2, f.n_users = 1, f.names[1] = "Bob", f.n_names = 2;
    expect_fact(&f, "{\"action\":\"member_removed\",\"actor_id\":\"1\",\"user_ids\":[\"2\"]}",
                "Alice removed Bob");
    FACT("member_left");
    f.has_users = true, f.user_ids = U2, f.n_users = 1;
    expect_fact(&f, "{\"action\":\"member_left\",\"actor_id\":\"1\",\"user_ids\":[\"2\"]}",
                "Alice left the group");
    FACT("role_changed");
    f.role = "admin", f.has_users = true, f.user_ids = U2, f.n_users = 1, f.names[1] = "Bob",
    f.n_names = 2;
    expect_fact(
        &f,
        "{\"action\":\"role_changed\",\"actor_id\":\"1\",\"role\":\"admin\",\"user_ids\":[\"2\"]}",
        "Alice made Bob an admin");
    f.role = "member";
    expect_fact(
        &f,
        "{\"action\":\"role_changed\",\"actor_id\":\"1\",\"role\":\"member\",\"user_ids\":[\"2\"]}",
        "Alice made Bob a member");
    FACT("ownership_transferred");
    f.has_users = true, f.user_ids = U2, f.n_users = 1, f.names[1] = "Bob", f.n_names = 2;
    expect_fact(&f,
                "{\"action\":\"ownership_transferred\",\"actor_id\":\"1\",\"user_ids\":[\"2\"]}",
                "Alice transferred ownership to Bob");
    f.reason = "owner_deleted";
    expect_fact(
        &f,
        "{\"action\":\"ownership_transferred\",\"actor_id\":\"1\",\"reason\":\"owner_deleted\","
        "\"user_ids\":[\"2\"]}",
        "Alice's account was deleted; Bob is now the owner");
    FACT("dissolved");
    f.reason = "owner_deleted";
    expect_fact(&f, "{\"action\":\"dissolved\",\"actor_id\":\"1\",\"reason\":\"owner_deleted\"}",
                "Alice's account was deleted; the group was dissolved");
    FACT("dissolved");
    expect_fact(&f, "{\"action\":\"dissolved\",\"actor_id\":\"1\"}", "Alice dissolved the group");
    FACT("banned");
    f.has_users = true, f.user_ids = U2, f.n_users = 1, f.names[1] = "Bob", f.n_names = 2;
    expect_fact(&f, "{\"action\":\"banned\",\"actor_id\":\"1\",\"user_ids\":[\"2\"]}",
                "Alice banned Bob");
    f.action = "unbanned";
    expect_fact(&f, "{\"action\":\"unbanned\",\"actor_id\":\"1\",\"user_ids\":[\"2\"]}",
                "Alice unbanned Bob");
    f.action = "muted", f.until = 1735689700000;
    expect_fact(
        &f,
        "{\"action\":\"muted\",\"actor_id\":\"1\",\"until\":1735689700000,\"user_ids\":[\"2\"]}",
        "Alice muted Bob");
    f.action = "unmuted", f.until = 0;
    expect_fact(&f, "{\"action\":\"unmuted\",\"actor_id\":\"1\",\"user_ids\":[\"2\"]}",
                "Alice unmuted Bob");
    FACT("info_changed");
    f.title = "Owls", f.description = "", f.renamed = true;
    expect_fact(
        &f,
        "{\"action\":\"info_changed\",\"actor_id\":\"1\",\"title\":\"Owls\",\"description\":\"\"}",
        "Alice renamed the group to \"Owls\"");
    f.renamed = false;
    expect_fact(
        &f,
        "{\"action\":\"info_changed\",\"actor_id\":\"1\",\"title\":\"Owls\",\"description\":\"\"}",
        "Alice changed the group info");
    FACT("settings_changed");
    mp_group_settings_t st = {.post_admins = true};
    f.settings = &st;
    expect_fact(
        &f,
        "{\"action\":\"settings_changed\",\"actor_id\":\"1\",\"settings\":{\"who_can_post\":"
        "\"admins\",\"who_can_invite\":\"all\",\"who_can_edit_info\":\"all\","
        "\"who_can_pin\":\"all\"}}",
        "Alice changed the group settings");
    st = (mp_group_settings_t){.pin_admins = true};
    expect_fact(
        &f,
        "{\"action\":\"settings_changed\",\"actor_id\":\"1\",\"settings\":{\"who_can_post\":"
        "\"all\",\"who_can_invite\":\"all\",\"who_can_edit_info\":\"all\","
        "\"who_can_pin\":\"admins\"}}",
        "Alice changed the group settings");
    FACT("announcement_set");
    f.text = "Tuesday";
    expect_fact(&f, "{\"action\":\"announcement_set\",\"actor_id\":\"1\",\"text\":\"Tuesday\"}",
                "Alice pinned an announcement");
    FACT("announcement_cleared");
    expect_fact(&f, "{\"action\":\"announcement_cleared\",\"actor_id\":\"1\"}",
                "Alice cleared the announcement");
    FACT("joined_by_link");
    f.has_users = true, f.user_ids = U2, f.n_users = 1;
    expect_fact(&f, "{\"action\":\"joined_by_link\",\"actor_id\":\"1\",\"user_ids\":[\"2\"]}",
                "Alice joined the group by invite link");
#undef FACT
}

/* A user gone since is "a deleted user"; the record keeps the name it had. */
static void test_names(void **state)
{
    (void)state;
    expect_line("{\"system\":{\"action\":\"banned\",\"actor_id\":\"1\",\"user_ids\":[\"2\"]},"
                "\"names\":[\"Alice\",null]}",
                "Alice banned a deleted user");
    expect_line("{\"system\":{\"action\":\"member_left\",\"actor_id\":\"1\"},\"names\":[]}",
                "a deleted user left the group");
    /* A name is cut at 95 bytes, on a whole character. */
    char name[201], stored[400];
    memset(name, 'x', 94);
    strcpy(name + 94, "\xc3\xa9tail"); /* a two-byte character across byte 95 */
    snprintf(stored, sizeof stored,
             "{\"system\":{\"action\":\"dissolved\",\"actor_id\":\"1\"},\"names\":[\"%s\"]}", name);
    char *got = line_of(stored);
    assert_non_null(got);
    assert_int_equal(strlen(got), 94 + strlen(" dissolved the group"));
    json_t *valid = json_string(got); /* NULL unless valid UTF-8 */
    assert_non_null(valid);
    json_decref(valid);
    mp_free(got);
}

/* Bodies stored before the facts carry their own line: it is shown as it is. */
static void test_old_rows(void **state)
{
    (void)state;
    expect_line("{\"text\":\"alice added bob\",\"system\":{\"action\":\"members_added\","
                "\"actor_id\":\"1\",\"user_ids\":[\"2\"]}}",
                "alice added bob");
    assert_null(line_of("{\"text\":\"not a system body\"}"));
    assert_null(line_of("[1,2]"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_action),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_old_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
