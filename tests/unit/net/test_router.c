/* Route matching (params, 404 vs 405), percent-decoding, query parsing and
 * the session-id map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/router.h"
#include "net/sidmap.h"
#include "util/alloc.h"

static void h(mp_http_req_t *req)
{
    (void)req;
}

static const mp_route_t routes[] = {
    {"GET", "/v1/me", MP_ROUTE_AUTH, h},
    {"GET", "/v1/devices", MP_ROUTE_AUTH, h},
    {"DELETE", "/v1/devices/{id}", MP_ROUTE_AUTH, h},
    {"PATCH", "/v1/devices/{id}", MP_ROUTE_AUTH, h},
    {"GET", "/v1/conversations/{conv}/messages/{seq}", MP_ROUTE_AUTH, h},
    {0},
};

static void free_params(mp_kv_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mp_free(p[i].name);
        mp_free(p[i].value);
    }
}

static const mp_route_t *match(const char *method, const char *path, mp_kv_t *p, size_t *n,
                               char *allow, int *status)
{
    return mp_router__match(routes, method, path, p, n, allow, 128, status);
}

static void test_literal_and_params(void **state)
{
    (void)state;
    mp_kv_t p[MP_HTTP_MAX_PARAMS];
    size_t n;
    char allow[128];
    int status;
    assert_ptr_equal(match("GET", "/v1/me", p, &n, allow, &status), &routes[0]);
    assert_int_equal(n, 0);
    assert_ptr_equal(match("DELETE", "/v1/devices/42", p, &n, allow, &status), &routes[2]);
    assert_int_equal(n, 1);
    assert_string_equal(p[0].name, "id");
    assert_string_equal(p[0].value, "42");
    free_params(p, n);
    const mp_route_t *r = match("GET", "/v1/conversations/7/messages/9", p, &n, allow, &status);
    assert_ptr_equal(r, &routes[4]);
    assert_int_equal(n, 2);
    assert_string_equal(p[0].value, "7");
    assert_string_equal(p[1].name, "seq");
    assert_string_equal(p[1].value, "9");
    free_params(p, n);
}

/* A literal segment wins over a parameter, whatever the order of the table:
 * a user named "presence" is found by name, and fixed segments such as
 * "search" are never taken for an id. */
static void test_literal_beats_param(void **state)
{
    (void)state;
    static const mp_route_t t[] = {
        {"GET", "/v1/users/{id}/presence", MP_ROUTE_AUTH, h},
        {"GET", "/v1/users/{id}", MP_ROUTE_AUTH, h},
        {"GET", "/v1/users/search", MP_ROUTE_AUTH, h},
        {"GET", "/v1/users/by-username/{name}", MP_ROUTE_AUTH, h},
        {0},
    };
    mp_kv_t p[MP_HTTP_MAX_PARAMS];
    size_t n;
    char allow[128];
    int status;
    assert_ptr_equal(mp_router__match(t, "GET", "/v1/users/by-username/presence", p, &n, allow,
                                      sizeof allow, &status),
                     &t[3]);
    assert_int_equal(n, 1);
    assert_string_equal(p[0].name, "name");
    assert_string_equal(p[0].value, "presence");
    free_params(p, n);
    assert_ptr_equal(
        mp_router__match(t, "GET", "/v1/users/search", p, &n, allow, sizeof allow, &status), &t[2]);
    assert_int_equal(n, 0);
    assert_ptr_equal(
        mp_router__match(t, "GET", "/v1/users/42", p, &n, allow, sizeof allow, &status), &t[1]);
    free_params(p, n);
    assert_ptr_equal(
        mp_router__match(t, "GET", "/v1/users/42/presence", p, &n, allow, sizeof allow, &status),
        &t[0]);
    free_params(p, n);
    /* Another method on the literal path: 405 listing it. */
    assert_null(
        mp_router__match(t, "POST", "/v1/users/search", p, &n, allow, sizeof allow, &status));
    assert_int_equal(status, 405);
    assert_string_equal(allow, "GET, HEAD");
}

static void test_param_decoding(void **state)
{
    (void)state;
    mp_kv_t p[MP_HTTP_MAX_PARAMS];
    size_t n;
    char allow[128];
    int status;
    /* An encoded slash stays inside its segment. */
    assert_non_null(match("DELETE", "/v1/devices/a%2Fb%20c", p, &n, allow, &status));
    assert_string_equal(p[0].value, "a/b c");
    free_params(p, n);
}

static void test_404_vs_405(void **state)
{
    (void)state;
    mp_kv_t p[MP_HTTP_MAX_PARAMS];
    size_t n;
    char allow[128];
    int status;
    assert_null(match("GET", "/v1/nope", p, &n, allow, &status));
    assert_int_equal(status, 404);
    assert_null(match("GET", "/v1/devices/", p, &n, allow, &status)); /* empty param */
    assert_int_equal(status, 404);
    assert_null(match("GET", "/v1/me/", p, &n, allow, &status)); /* trailing slash */
    assert_int_equal(status, 404);
    assert_null(match("GET", "/v1/devices/3", p, &n, allow, &status));
    assert_int_equal(status, 405);
    assert_string_equal(allow, "DELETE, PATCH");
    assert_int_equal(n, 0);
    assert_null(match("POST", "/v1/me", p, &n, allow, &status));
    assert_int_equal(status, 405);
    assert_string_equal(allow, "GET, HEAD"); /* every GET route answers HEAD */
    /* HEAD takes the GET route when its path has no HEAD route. */
    assert_non_null(match("HEAD", "/v1/me", p, &n, allow, &status));
    free_params(p, n);
    assert_null(match("HEAD", "/v1/devices/3", p, &n, allow, &status));
    assert_int_equal(status, 405);
    assert_string_equal(allow, "DELETE, PATCH");
}

static void test_decode(void **state)
{
    (void)state;
    char *s = mp_router__decode("a%20b+c%zz%4", 12, false);
    assert_string_equal(s, "a b+c%zz%4");
    mp_free(s);
    s = mp_router__decode("a+b%00c", 7, true);
    assert_string_equal(s, "a b%00c"); /* NUL is never produced */
    mp_free(s);
}

static void test_query(void **state)
{
    (void)state;
    size_t n;
    mp_kv_t *q = mp_router__parse_query("a=1&&b=x%20y+z&flag&=v", &n);
    assert_int_equal(n, 4);
    assert_string_equal(q[0].name, "a");
    assert_string_equal(q[0].value, "1");
    assert_string_equal(q[1].name, "b");
    assert_string_equal(q[1].value, "x y z");
    assert_string_equal(q[2].name, "flag");
    assert_string_equal(q[2].value, "");
    assert_string_equal(q[3].name, "");
    free_params(q, n);
    mp_free(q);
}

static void test_sidmap(void **state)
{
    (void)state;
    mp_sidmap_t m;
    mp_sidmap_init(&m);
    assert_null(mp_sidmap_slot(&m, 1));
    assert_null(mp_sidmap_slot(&m, 0));
    static uint64_t id[5001];
    for (uintptr_t k = 1; k <= 5000; k++) {
        id[k] = mp_sidmap_add(&m, (void *)(k * 2));
        assert_true(id[k] != 0);
        assert_true(k == 1 || id[k] != id[k - 1]);
    }
    assert_int_equal(m.len, 5000);
    for (uintptr_t k = 1; k <= 5000; k += 2)
        mp_sidmap_del(&m, id[k]);
    assert_int_equal(m.len, 2500);
    for (uintptr_t k = 1; k <= 5000; k++) {
        if (k % 2)
            assert_null(mp_sidmap_slot(&m, id[k]));
        else
            assert_ptr_equal(mp_sidmap_slot(&m, id[k]), (void *)(k * 2));
    }
    /* Freed slots are reused, under new ids: the old id finds the new value
     * (the caller compares ids), the table does not grow. */
    uint32_t cap = m.cap;
    uint64_t again = mp_sidmap_add(&m, (void *)(uintptr_t)20000);
    assert_int_equal((uint32_t)again, (uint32_t)id[4999]); /* the last freed slot first */
    assert_true(again != id[4999]);
    assert_ptr_equal(mp_sidmap_slot(&m, id[4999]), (void *)(uintptr_t)20000);
    for (uintptr_t k = 1; k < 2500; k++)
        (void)mp_sidmap_add(&m, (void *)(k * 4));
    assert_int_equal(m.len, 5000);
    assert_int_equal(m.cap, cap);
    assert_null(mp_sidmap_slot(&m, (uint64_t)1 << 32 | 999999)); /* beyond the table */
    mp_sidmap_free(&m);
    assert_int_equal(m.len, 0);
    mp_sidmap_reserve(&m, 100);
    assert_true(m.cap >= 100);
    assert_true(mp_sidmap_add(&m, (void *)(uintptr_t)2) > (uint64_t)1 << 32);
    mp_sidmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_and_params),
        cmocka_unit_test(test_literal_beats_param),
        cmocka_unit_test(test_param_decoding),
        cmocka_unit_test(test_404_vs_405),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_sidmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
