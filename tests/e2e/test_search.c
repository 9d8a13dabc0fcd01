/* End-to-end tests of search (the `search` verb and GET /v1/search): English,
 * Chinese and Japanese substrings with their snippets and highlights; what is
 * never found (a conversation the caller left or is not in, messages deleted
 * for everyone, hidden for the caller); the sender, kind and date filters;
 * paging; the input checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_chat_util.h"
#include "test_groups_util.h"

static mpt_server_t *srv;

static int setup(void **state)
{
    (void)state;
    const char *flags[] = {CHAT_FLAGS, NULL};
    srv = mpt_server_start(flags);
    return srv ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = mpt_server_stop(srv);
    srv = NULL;
    return rc == 0 ? 0 : -1;
}

/* The search reply (ok asserted); fields is stolen. */
static json_t *search(chat_dev_t *d, json_t *fields)
{
    json_t *r = call(d->ws, "search", fields);
    if (!is_ok(r)) {
        char *dump = json_dumps(r, JSON_COMPACT);
        fail_msg("search failed: %s", dump ? dump : "?");
    }
    return r;
}

static size_t n_results(const json_t *r)
{
    return json_array_size(json_object_get(r, "results"));
}

/* Whether any result's message has this text. */
static bool has_text(const json_t *r, const char *text)
{
    size_t i;
    json_t *hit;
    json_array_foreach(json_object_get(r, "results"), i, hit)
    {
        if (strcmp(jstr(json_object_get(hit, "message"), "text"), text) == 0)
            return true;
    }
    return false;
}

static void check_hit(const json_t *hit, const char *text, const char *snippet, long long start,
                      long long len)
{
    assert_string_equal(jstr(json_object_get(hit, "message"), "text"), text);
    assert_string_equal(jstr(hit, "snippet"), snippet);
    json_t *hl = json_array_get(json_object_get(hit, "highlights"), 0);
    assert_int_equal(json_integer_value(json_array_get(hl, 0)), start);
    assert_int_equal(json_integer_value(json_array_get(hl, 1)), len);
}

static void test_languages_and_snippets(void **state)
{
    (void)state;
    chat_dev_t a, b;
    dev_new_user(srv, "srch", &a);
    dev_new_user(srv, "srch", &b);
    char ab[24];
    assert_int_equal(direct_conv(srv, &a, b.s.user_id, ab), 201);
    send_text(&a, ab, "e1", "the quick brown fox", NULL);
    send_text(&b, ab, "z1", "下周我们在东京见面", NULL);
    send_text(&b, ab, "j1", "東京タワーに行きました", NULL);
    char longer[400] = "";
    for (int i = 0; i < 10; i++)
        strcat(longer, "lorem ipsum ");
    strcat(longer, "needle");
    for (int i = 0; i < 10; i++)
        strcat(longer, " dolor sit");
    send_text(&a, ab, "l1", longer, NULL);

    json_t *r = search(&a, json_pack("{s:s}", "query", "brown"));
    assert_int_equal(n_results(r), 1);
    check_hit(json_array_get(json_object_get(r, "results"), 0), "the quick brown fox",
              "the quick brown fox", 10, 5);
    assert_false(json_is_true(json_object_get(r, "has_more")));
    json_decref(r);
    /* Case does not matter for English. */
    r = search(&b, json_pack("{s:s}", "query", "QUICK"));
    assert_int_equal(n_results(r), 1);
    json_decref(r);
    /* Two CJK characters (shorter than a trigram) and a Japanese substring. */
    r = search(&a, json_pack("{s:s}", "query", "东京"));
    assert_int_equal(n_results(r), 1);
    check_hit(json_array_get(json_object_get(r, "results"), 0), "下周我们在东京见面",
              "下周我们在东京见面", 5, 2);
    json_decref(r);
    r = search(&a, json_pack("{s:s}", "query", "タワー"));
    assert_int_equal(n_results(r), 1);
    check_hit(json_array_get(json_object_get(r, "results"), 0), "東京タワーに行きました",
              "東京タワーに行きました", 2, 3);
    json_decref(r);
    /* A long text: about 64 characters, cut with "…" on both sides. */
    r = search(&a, json_pack("{s:s}", "query", "needle"));
    assert_int_equal(n_results(r), 1);
    const json_t *hit = json_array_get(json_object_get(r, "results"), 0);
    const char *snip = jstr(hit, "snippet");
    assert_true(strncmp(snip, "\xe2\x80\xa6", 3) == 0);
    assert_true(strcmp(snip + strlen(snip) - 3, "\xe2\x80\xa6") == 0);
    assert_non_null(strstr(snip, "needle"));
    json_t *hl = json_array_get(json_object_get(hit, "highlights"), 0);
    assert_int_equal(json_integer_value(json_array_get(hl, 1)), 6);
    json_decref(r);
    /* HTTP. */
    json_t *body = EXPECT_BODY(200, NULL, srv, "GET", b.s.access, NULL,
                               "/v1/search?q=%%E4%%B8%%9C%%E4%%BA%%AC&conversation=%s", ab);
    assert_int_equal(n_results(body), 1);
    json_decref(body);
    dev_close(&a);
    dev_close(&b);
}

static void test_never_found(void **state)
{
    (void)state;
    chat_dev_t a, b, c;
    dev_new_user(srv, "hide", &a);
    dev_new_user(srv, "hide", &b);
    dev_new_user(srv, "hide", &c);
    char ab[24], g[24], gone[24], hidden[24];
    assert_int_equal(direct_conv(srv, &a, b.s.user_id, ab), 201);
    assert_int_equal(group_create(srv, a.s.access, "grp", ids_json(b.s.user_id, c.s.user_id, NULL),
                                  NULL, g, NULL),
                     201);
    send_text(&a, ab, "p1", "private zebra", NULL);
    send_text(&a, g, "g1", "group zebra", NULL);
    send_text(&a, g, "g2", "deleted zebra", gone);
    send_text(&a, g, "g3", "hidden zebra", hidden);

    /* Carol: the group, never the direct conversation she is not in. */
    json_t *r = search(&c, json_pack("{s:s}", "query", "zebra"));
    assert_int_equal(n_results(r), 3);
    assert_false(has_text(r, "private zebra"));
    json_decref(r);
    assert_err(call(c.ws, "search", json_pack("{s:s,s:s}", "query", "zebra", "conversation", ab)),
               "not_member");

    /* Deleted for everyone: nobody finds it; hidden: not the one who hid it. */
    r = call(a.ws, "delete",
             json_pack("{s:s,s:s,s:s}", "conversation", g, "message_id", gone, "for", "everyone"));
    assert_true(is_ok(r));
    json_decref(r);
    r = call(c.ws, "delete",
             json_pack("{s:s,s:s,s:s}", "conversation", g, "message_id", hidden, "for", "me"));
    assert_true(is_ok(r));
    json_decref(r);
    r = search(&c, json_pack("{s:s}", "query", "zebra"));
    assert_int_equal(n_results(r), 1);
    assert_true(has_text(r, "group zebra"));
    json_decref(r);
    r = search(&b, json_pack("{s:s}", "query", "zebra"));
    assert_int_equal(n_results(r), 3); /* private, group, hidden (for Carol only) */
    assert_false(has_text(r, "deleted zebra"));
    json_decref(r);

    /* Carol leaves: the group is gone from her results. */
    EXPECT(204, NULL, srv, "POST", c.s.access, NULL, "/v1/groups/%s/leave", g);
    r = search(&c, json_pack("{s:s}", "query", "zebra"));
    assert_int_equal(n_results(r), 0);
    json_decref(r);
    assert_err(call(c.ws, "search", json_pack("{s:s,s:s}", "query", "zebra", "conversation", g)),
               "not_member");
    dev_close(&a);
    dev_close(&b);
    dev_close(&c);
}

static void test_filters_and_paging(void **state)
{
    (void)state;
    chat_dev_t a, b;
    dev_new_user(srv, "filt", &a);
    dev_new_user(srv, "filt", &b);
    char ab[24];
    assert_int_equal(direct_conv(srv, &a, b.s.user_id, ab), 201);
    send_text(&a, ab, "f1", "apple one", NULL);
    json_t *hist = all_history(a.ws, ab);
    long long t1 = jint(json_array_get(hist, 0), "created_at");
    json_decref(hist);
    for (int i = 2; i <= 5; i++) {
        char cmid[8], text[32];
        snprintf(cmid, sizeof cmid, "f%d", i);
        snprintf(text, sizeof text, "apple %d", i);
        send_text(i % 2 ? &a : &b, ab, cmid, text, NULL);
    }

    /* By sender: Bob sent 2 and 4. */
    json_t *r = search(&a, json_pack("{s:s,s:s}", "query", "apple", "sender", b.s.user_id));
    assert_int_equal(n_results(r), 2);
    assert_true(has_text(r, "apple 4") && has_text(r, "apple 2"));
    json_decref(r);
    /* By kind. */
    r = search(&a, json_pack("{s:s,s:s}", "query", "apple", "kind", "text"));
    assert_int_equal(n_results(r), 5);
    json_decref(r);
    r = search(&a, json_pack("{s:s,s:s}", "query", "apple", "kind", "image"));
    assert_int_equal(n_results(r), 0);
    json_decref(r);
    /* By date: [t1, t1 + 1) holds the first message only (the others came
     * later, or in the same ms — then the count is larger). */
    r = search(&a, json_pack("{s:s,s:I,s:I}", "query", "apple", "from", (json_int_t)t1, "to",
                             (json_int_t)(t1 + 1)));
    assert_true(n_results(r) >= 1);
    assert_true(has_text(r, "apple one"));
    json_decref(r);
    r = search(&a, json_pack("{s:s,s:I}", "query", "apple", "to", (json_int_t)t1));
    assert_int_equal(n_results(r), 0);
    json_decref(r);

    /* Paging, newest first, two at a time. */
    const char *want[] = {"apple 5", "apple 4", "apple 3", "apple 2", "apple one"};
    char before[24] = "";
    int seen = 0;
    for (int page = 0; page < 5; page++) {
        json_t *f = json_pack("{s:s,s:i}", "query", "apple", "limit", 2);
        if (before[0])
            json_object_set_new(f, "before", json_string(before));
        r = search(&a, f);
        size_t i;
        json_t *hit;
        json_array_foreach(json_object_get(r, "results"), i, hit)
        {
            assert_true(seen < 5);
            assert_string_equal(jstr(json_object_get(hit, "message"), "text"), want[seen]);
            seen++;
        }
        bool more = json_is_true(json_object_get(r, "has_more"));
        if (more)
            snprintf(before, sizeof before, "%s", jstr(r, "next_cursor"));
        json_decref(r);
        if (!more)
            break;
    }
    assert_int_equal(seen, 5);
    dev_close(&a);
    dev_close(&b);
}

static void test_bad_input(void **state)
{
    (void)state;
    chat_dev_t a;
    dev_new_user(srv, "sbad", &a);
    char q[600];
    memset(q, 'q', 257);
    q[257] = '\0';
    json_t *r = call(a.ws, "search", json_pack("{s:s}", "query", ""));
    assert_non_null(strstr(jstr(json_object_get(r, "error"), "message"), "'query'"));
    assert_err(r, "bad_request");
    r = call(a.ws, "search", json_pack("{s:s}", "query", q));
    assert_non_null(strstr(jstr(json_object_get(r, "error"), "message"), "'query'"));
    assert_err(r, "bad_request");
    q[256] = '\0';
    r = search(&a, json_pack("{s:s}", "query", q));
    json_decref(r);
    assert_err(call(a.ws, "search", json_pack("{s:s,s:s}", "query", "x", "kind", "picture")),
               "bad_request");
    assert_err(call(a.ws, "search", json_pack("{s:s,s:i}", "query", "x", "limit", 51)),
               "bad_request");
    assert_err(call(a.ws, "search", json_pack("{s:s,s:i}", "query", "x", "limit", 0)),
               "bad_request");
    assert_err(call(a.ws, "search", json_pack("{s:s,s:i,s:i}", "query", "x", "from", 10, "to", 5)),
               "bad_request");
    EXPECT(400, "bad_request", srv, "GET", a.s.access, NULL, "/v1/search");
    EXPECT(400, "bad_request", srv, "GET", a.s.access, NULL, "/v1/search?q=");
    EXPECT(400, "bad_request", srv, "GET", a.s.access, NULL, "/v1/search?q=x&limit=99");
    EXPECT(400, "bad_request", srv, "GET", a.s.access, NULL, "/v1/search?q=x&sender=bob");
    dev_close(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_languages_and_snippets),
        cmocka_unit_test(test_never_found),
        cmocka_unit_test(test_filters_and_paging),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
