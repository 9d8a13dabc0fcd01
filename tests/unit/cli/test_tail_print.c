/* The lines `magpie tail` prints (src/cli/cmd_tail_print.c), without a
 * server: no control character the server might send reaches the terminal
 * (the server refuses them in texts; this is the second line of defence),
 * multi-line texts are indented under their first line, each kind has its
 * tag, and --json prints the server's objects as they are. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd_tail.h"

static mpr_session_t session; /* never used: every name is learnt first */
static mpr_names_t *names;

static int setup(void **state)
{
    (void)state;
    names = mpr_names_new(&session);
    mpr_names_learn_user(names, "11", "bob");
    json_t *group = json_pack("{s:s,s:s,s:s}", "conversation_id", "22", "kind", "group", "title",
                              "Ops\x1b]0;owned\x07");
    mpr_names_learn_conv(names, group);
    json_decref(group);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mpr_names_free(names);
    return 0;
}

/* What fn printed on standard output (malloc'd). */
static char *captured(int (*fn)(const tail_out_t *, json_t *), const tail_out_t *out, json_t *arg)
{
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDOUT_FILENO) >= 0);
    assert_int_equal(fn(out, arg), 0);
    fflush(stdout);
    assert_true(dup2(saved, STDOUT_FILENO) >= 0);
    close(saved);
    long n = ftell(tmp);
    assert_true(n >= 0);
    char *s = calloc(1, (size_t)n + 1);
    assert_non_null(s);
    rewind(tmp);
    assert_int_equal(fread(s, 1, (size_t)n, tmp), (size_t)n);
    fclose(tmp);
    return s;
}

static int print_new(const tail_out_t *out, json_t *m)
{
    return tail_print_message(out, m, false);
}

static int print_edit(const tail_out_t *out, json_t *m)
{
    return tail_print_message(out, m, true);
}

static json_t *message(const char *kind, const char *text, json_t *content)
{
    json_t *m = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:I}", "message_id", "33", "conversation", "22",
                          "seq", 7, "sender", "11", "kind", kind, "text", text, "created_at",
                          (json_int_t)time(NULL) * 1000);
    if (content != NULL)
        json_object_set_new(m, "content", content);
    return m;
}

/* Nothing below U+0020 but newline and tab, no DEL, no C1 control; in the
 * text form (text) no bidirectional override either (JSON carries it as the
 * sender wrote it, for programs). */
static void assert_clean(const char *s, bool text)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
            fail_msg("control byte 0x%02x at %ld of: %s", *p, (long)(p - (const unsigned char *)s),
                     s);
        if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            fail_msg("C1 control at %ld of: %s", (long)(p - (const unsigned char *)s), s);
        if (text && *p == 0xe2 && p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae)
            fail_msg("bidirectional override at %ld of: %s", (long)(p - (const unsigned char *)s),
                     s);
    }
}

static void test_controls_and_lines(void **state)
{
    (void)state;
    tail_out_t out = {.json = false, .names = names};
    json_t *m = message("text",
                        "red \x1b[31mtext\r\n\tsecond\xc2\x9b"
                        "2J\x7f!\xe2\x80\xae"
                        "evil",
                        NULL);
    char *s = captured(print_new, &out, m);
    assert_clean(s, true);
    /* "HH:MM  #Ops<U+FFFD>]0;owned<U+FFFD>  bob: red <U+FFFD>[31mtext<U+FFFD>" */
    const char *head = "  #Ops\xef\xbf\xbd]0;owned\xef\xbf\xbd  bob: ";
    assert_int_equal(strncmp(s + 5, head, strlen(head)), 0);
    char *text = s + 5 + strlen(head);
    assert_int_equal(strncmp(text, "red \xef\xbf\xbd[31mtext\xef\xbf\xbd\n", 19), 0);
    /* The second line starts under the first one's text. */
    int indent = 5 + 2 + 14 + 2 + 5; /* "HH:MM", "  ", the label (14 columns), "  ", "bob: " */
    char *second = strchr(s, '\n');
    assert_non_null(second);
    second++;
    for (int i = 0; i < indent; i++)
        assert_int_equal(second[i], ' ');
    /* A tab is a space; a right-to-left override cannot turn the rest around. */
    assert_string_equal(second + indent, " second\xef\xbf\xbd"
                                         "2J\xef\xbf\xbd!\xef\xbf\xbd"
                                         "evil\n");
    free(s);

    s = captured(print_edit, &out, m);
    assert_non_null(strstr(s, " (edited)\n"));
    free(s);

    /* --json: the server's object, its controls escaped. */
    out.json = true;
    s = captured(print_new, &out, m);
    assert_clean(s, false);
    json_t *back = json_loads(s, 0, NULL);
    assert_non_null(back);
    assert_string_equal(json_string_value(json_object_get(back, "event")), "message");
    assert_true(json_equal(json_object_get(back, "message"), m));
    json_decref(back);
    free(s);
    json_decref(m);
}

static void test_kinds(void **state)
{
    (void)state;
    tail_out_t out = {.json = false, .names = names};
    struct {
        json_t *m;
        const char *want; /* what follows "bob: " */
    } cases[] = {
        {message("image", "the view", json_pack("{s:s}", "file_id", "1")), "[image] the view\n"},
        {message("file", "", json_pack("{s:s,s:s}", "file_id", "1", "name", "a\x1b.pdf")),
         "[file a\xef\xbf\xbd.pdf]\n"},
        {message("voice", "", json_pack("{s:s,s:i}", "file_id", "1", "duration_ms", 12400)),
         "[voice 0:12]\n"},
        {message("video", "clip", json_pack("{s:s,s:i}", "file_id", "1", "duration_ms", 65000)),
         "[video 1:05] clip\n"},
        {message(
             "location", "",
             json_pack("{s:f,s:f,s:s}", "latitude", 48.85, "longitude", 2.29, "title", "Tower")),
         "[location Tower]\n"},
        {message("contact", "", json_pack("{s:s}", "user_id", "11")), "[contact @bob]\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = captured(print_new, &out, cases[i].m);
        char *after = strstr(s, "bob: ");
        assert_non_null(after);
        assert_string_equal(after + 5, cases[i].want);
        free(s);
        json_decref(cases[i].m);
    }
    json_t *sys = message("system", "bob added carol", NULL);
    char *s = captured(print_new, &out, sys);
    assert_non_null(strstr(s, "  #Ops"));
    assert_non_null(strstr(s, "  * bob added carol\n"));
    free(s);
    json_decref(sys);
}

static int print_deleted(const tail_out_t *out, json_t *ev)
{
    return tail_print_deleted(out, ev, "11", 0);
}

static void test_deleted(void **state)
{
    (void)state;
    tail_out_t out = {.json = false, .names = names};
    json_t *ev = json_pack("{s:s,s:s,s:s,s:i,s:s}", "event", "message_deleted", "conversation",
                           "22", "message_id", "33", "seq", 7, "for", "everyone");
    char *s = captured(print_deleted, &out, ev);
    assert_non_null(strstr(s, "  bob: (deleted)\n"));
    free(s);
    out.json = true;
    s = captured(print_deleted, &out, ev);
    json_t *back = json_loads(s, 0, NULL);
    assert_true(json_equal(back, ev));
    json_decref(back);
    free(s);
    json_decref(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_controls_and_lines),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_deleted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
