/* The control socket's request parsing (proto/control.h): a JSON object
 * with a command name, an optional id echoed back, the rest as arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "proto/control.h"

static json_t *parse(const char *line, char cmd[MP_CTL_CMD_MAX + 1], json_t **id, char *msg)
{
    return mp_ctl_parse(line, strlen(line), cmd, id, msg, 200);
}

static void test_request(void **state)
{
    (void)state;
    char cmd[MP_CTL_CMD_MAX + 1], msg[200];
    json_t *id = NULL;
    json_t *args = parse("{\"cmd\":\"user.add\",\"id\":7,\"username\":\"alice\",\"admin\":true}",
                         cmd, &id, msg);
    assert_non_null(args);
    assert_string_equal(cmd, "user.add");
    assert_int_equal(json_integer_value(id), 7);
    /* The arguments are what is left: no cmd, no id. */
    assert_int_equal(json_object_size(args), 2);
    assert_string_equal(json_string_value(json_object_get(args, "username")), "alice");
    assert_true(json_is_true(json_object_get(args, "admin")));
    assert_null(json_object_get(args, "cmd"));
    json_decref(args);
    json_decref(id);

    /* No id: none echoed; any JSON value may be one. */
    args = parse("{\"cmd\":\"stats\"}", cmd, &id, msg);
    assert_non_null(args);
    assert_null(id);
    assert_int_equal(json_object_size(args), 0);
    json_decref(args);
    args = parse("{\"id\":{\"a\":[1]},\"cmd\":\"stats\"}", cmd, &id, msg);
    assert_non_null(args);
    assert_true(json_is_object(id));
    json_decref(args);
    json_decref(id);
}

static void test_refused(void **state)
{
    (void)state;
    char cmd[MP_CTL_CMD_MAX + 1], msg[200];
    json_t *id = NULL;
    const char *bad[] = {
        "",
        "not json",
        "[1,2]",
        "\"cmd\"",
        "{}",
        "{\"cmd\":7}",
        "{\"cmd\":\"\"}",
        "{\"cmd\":\"a\\u0000b\"}",
        "{\"cmd\":\"stats\",\"cmd\":\"user.add\"}", /* duplicate keys are refused */
        "{\"cmd\":\"stats\"} trailing",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        msg[0] = '\0';
        json_t *args = parse(bad[i], cmd, &id, msg);
        if (args != NULL)
            fail_msg("accepted: %s", bad[i]);
        assert_true(msg[0] != '\0');
        json_decref(id);
        id = NULL;
    }
    /* A command name longer than the bound. */
    char line[200];
    snprintf(line, sizeof line, "{\"cmd\":\"%070d\"}", 0);
    assert_null(parse(line, cmd, &id, msg));
    assert_non_null(strstr(msg, "'cmd'"));

    /* The id of a refused request is still known, to be echoed. */
    assert_null(parse("{\"id\":5,\"cmd\":1}", cmd, &id, msg));
    assert_int_equal(json_integer_value(id), 5);
    json_decref(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
