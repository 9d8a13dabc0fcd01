/* Helpers of the `magpie send` and `magpie tail` end-to-end tests
 * (test_cli_send.c, test_cli_tail.c): what a conversation holds, read over
 * HTTP by a member, and the JSON lines a command prints. Include after
 * cmocka.h. */
#ifndef MPT_CLI_SEND_UTIL_H
#define MPT_CLI_SEND_UTIL_H

#include "test_cli_util.h"
#include "test_groups_util.h"

/* Every message of conv as member token reads it, ascending by seq (paged
 * backwards with before_seq). Caller decrefs. */
static inline json_t *conv_messages(const mpt_server_t *srv, const char *token, const char *conv)
{
    json_t *all = json_array();
    long long before = 0;
    for (int pages = 0; pages < 1000; pages++) {
        char path[160];
        if (before > 0)
            snprintf(path, sizeof path, "/v1/conversations/%s/messages?limit=200&before_seq=%lld",
                     conv, before);
        else
            snprintf(path, sizeof path, "/v1/conversations/%s/messages?limit=200", conv);
        json_t *page = NULL;
        int st = http_json(srv, "GET", path, token, NULL, &page);
        assert_int_equal(st, 200);
        json_t *msgs = json_object_get(page, "messages");
        for (size_t i = json_array_size(msgs); i-- > 0;)
            json_array_insert(all, 0, json_array_get(msgs, i));
        bool more = json_is_true(json_object_get(page, "has_more"));
        before = json_array_size(msgs) > 0 ? jint(json_array_get(msgs, 0), "seq") : 0;
        json_decref(page);
        if (!more || before <= 1)
            return all;
    }
    fail_msg("conversation %s: too many pages", conv);
    return NULL;
}

/* Asserts that conv holds exactly n messages, seq first..first+n-1 without a
 * gap, whose texts are printf(fmt, 1..n) in order: each message once. */
static inline void assert_texts(const mpt_server_t *srv, const char *token, const char *conv,
                                long long first, int n, const char *fmt)
{
    json_t *all = conv_messages(srv, token, conv);
    json_t *m;
    size_t i;
    size_t at = 0;
    json_array_foreach(all, i, m)
    {
        if (jint(m, "seq") < first)
            continue;
        char want[128];
        snprintf(want, sizeof want, fmt, (int)at + 1);
        if (jint(m, "seq") != first + (long long)at || strcmp(jstr(m, "text"), want) != 0)
            fail_msg("message %zu: seq %lld text \"%s\", expected seq %lld text \"%s\"", at,
                     jint(m, "seq"), jstr(m, "text"), first + (long long)at, want);
        at++;
    }
    if (at != (size_t)n)
        fail_msg("conversation %s holds %zu messages from seq %lld, expected %d", conv, at, first,
                 n);
    json_decref(all);
}

/* The next stdout line of p parsed as JSON (caller decrefs); fails after
 * CLI_TIMEOUT_MS. */
static inline json_t *next_json(cli_proc_t *p)
{
    char line[1 << 15];
    if (!cli_read_line(p, CLI_TIMEOUT_MS, line, sizeof line))
        fail_msg("no line from the command within %d ms; stderr: %s", CLI_TIMEOUT_MS, p->err);
    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    if (j == NULL)
        fail_msg("not a JSON line: %s", line);
    return j;
}

/* The next line of a `tail --json` whose event is one of the message
 * events (message, message_edited, message_deleted), skipping receipts,
 * typing and presence. Caller decrefs. */
static inline json_t *next_message_event(cli_proc_t *p)
{
    for (;;) {
        json_t *j = next_json(p);
        const char *ev = jstr(j, "event");
        assert_non_null(ev);
        if (strncmp(ev, "message", 7) == 0)
            return j;
        json_decref(j);
    }
}

/* Every line of a finished command's output (out) as JSON, in an array;
 * fails the test on a line that is not JSON or not ended by a newline.
 * Caller decrefs. */
static inline json_t *json_lines(const char *out)
{
    json_t *all = json_array();
    for (const char *p = out; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        if (nl == NULL)
            fail_msg("a line without its newline: %s", p);
        json_t *j = json_loadb(p, (size_t)(nl - p), 0, NULL);
        if (j == NULL)
            fail_msg("not a JSON line: %.*s", (int)(nl - p), p);
        json_array_append_new(all, j);
        p = nl + 1;
    }
    return all;
}

/* The message events among the lines of a finished command's output
 * (out), as an array. Caller decrefs. */
static inline json_t *message_events(const char *out)
{
    json_t *all = json_array();
    const char *p = out;
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
        json_t *j = json_loadb(p, n, 0, NULL);
        if (j == NULL)
            fail_msg("not a JSON line: %.*s", (int)n, p);
        if (strncmp(jstr(j, "event"), "message", 7) == 0)
            json_array_append(all, j);
        json_decref(j);
        p += n + (nl != NULL);
    }
    return all;
}

/* The text of the message of a message event. */
static inline const char *event_text(json_t *ev)
{
    return jstr(json_object_get(ev, "message"), "text");
}

/* Sends SIGTERM to a running command and waits for its exit status. */
static inline int cli_stop(cli_proc_t *p)
{
    kill(p->pid, SIGTERM);
    return cli_wait(p, CLI_TIMEOUT_MS);
}

#endif
