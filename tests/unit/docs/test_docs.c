/* Keeps the reference docs true: every route the server has is in the route
 * table at the top of docs/protocol.md (and nothing else is), and every
 * configuration key is in the keys table of docs/configuration.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "auth/auth.h"
#include "chat/chat.h"
#include "config/config.h"
#include "files/files.h"
#include "groups/groups.h"
#include "people/people.h"

/* The repository root, from this file's own path (CMake passes absolute
 * source paths to the compiler). */
static const char *doc_path(const char *rel)
{
    static char buf[4096];
    const char *me = __FILE__;
    const char *cut = strstr(me, "tests/unit/docs/");
    assert_non_null(cut);
    snprintf(buf, sizeof buf, "%.*s%s", (int)(cut - me), me, rel);
    return buf;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static const mp_route_t *const tables[] = {mp_auth_routes,   mp_chat_routes,  mp_groups_routes,
                                           mp_people_routes, mp_admin_routes, mp_files_routes};

/* Routes the gateway serves itself, outside the modules' tables. */
static const char *const builtin[][2] = {
    {"GET", "/healthz"}, {"GET", "/readyz"}, {"GET", "/v1/ws"}, {"GET", "/metrics"}};

static bool server_has(const char *method, const char *path)
{
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        if (strcmp(builtin[i][0], method) == 0 && strcmp(builtin[i][1], path) == 0)
            return true;
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const mp_route_t *r = tables[t]; r->method != NULL; r++)
            if (strcmp(r->method, method) == 0 && strcmp(r->pattern, path) == 0)
                return true;
    return false;
}

/* The "## HTTP routes" table: lines "| METHOD | `PATH` | ...". */
static char *route_table(char *doc)
{
    char *start = strstr(doc, "## HTTP routes");
    assert_non_null(start);
    char *end = strstr(start, "\n### ");
    assert_non_null(end);
    *end = '\0';
    return start;
}

static bool doc_has(const char *table, const char *method, const char *path)
{
    char line[512];
    snprintf(line, sizeof line, "| %s | `%s` |", method, path);
    return strstr(table, line) != NULL;
}

static void test_every_route_is_documented(void **state)
{
    (void)state;
    char *doc = slurp(doc_path("docs/protocol.md"));
    const char *table = route_table(doc);
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const mp_route_t *r = tables[t]; r->method != NULL; r++)
            if (!doc_has(table, r->method, r->pattern))
                fail_msg("%s %s is missing from the route table of docs/protocol.md", r->method,
                         r->pattern);
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        assert_true(doc_has(table, builtin[i][0], builtin[i][1]));
    free(doc);
}

static void test_every_documented_route_exists(void **state)
{
    (void)state;
    char *doc = slurp(doc_path("docs/protocol.md"));
    char *line = route_table(doc);
    int rows = 0;
    while ((line = strstr(line, "\n| ")) != NULL) {
        line += 3;
        char method[16], path[256];
        if (sscanf(line, "%15[A-Z] | `%255[^`]`", method, path) != 2)
            continue; /* the header row */
        rows++;
        if (!server_has(method, path))
            fail_msg("docs/protocol.md lists %s %s, which the server does not have", method, path);
    }
    assert_true(rows > 10);
    free(doc);
}

static void test_every_config_key_is_documented(void **state)
{
    (void)state;
    char *doc = slurp(doc_path("docs/configuration.md"));
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    mp_config_t cfg;
    mp_config_defaults(&cfg);
    mp_config_print(&cfg, f);
    fclose(f);
    int keys = 0;
    for (char *l = strtok(out, "\n"); l != NULL; l = strtok(NULL, "\n")) {
        char key[64], row[80];
        if (sscanf(l, "%63[a-z_0-9] =", key) != 1)
            continue;
        keys++;
        snprintf(row, sizeof row, "| `%s` |", key);
        if (strstr(doc, row) == NULL)
            fail_msg("config key %s is missing from the keys table of docs/configuration.md", key);
    }
    assert_true(keys > 10);
    free(out);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_is_documented),
        cmocka_unit_test(test_every_documented_route_exists),
        cmocka_unit_test(test_every_config_key_is_documented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
