/* `magpie conversations`, `magpie groups` and `magpie users search`: the
 * basics a script or a person needs to find where to write (docs/cli.md).
 * Text for people, or --json: one JSON object per line (JSON Lines), as the
 * server gives it, for `jq`. */
#include "cli/cli.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/remote.h"

/* Pages read at most: 200 a page. */
#define MAX_PAGES 50

typedef struct {
    bool archived;
    const char *limit;
} list_opts_t;

enum { O_ARCHIVED = MP_CLI_OWN, O_LIMIT };

static int on_option(int id, const char *value, void *arg)
{
    list_opts_t *o = arg;
    if (id == O_ARCHIVED)
        o->archived = true;
    else if (id == O_LIMIT)
        o->limit = value;
    return 0;
}

/* ---- conversations ----------------------------------------------------------------- */

typedef struct {
    bool json;
    bool groups_only;
    mpr_names_t *names;
    int count;
} conv_print_t;

static void conv_usage(FILE *out)
{
    fprintf(out, "usage: magpie conversations [--url URL] [--user NAME] [--archived] [--json]\n\n"
                 "Lists your direct conversations and groups, pinned first, then by latest\n"
                 "activity: who or which group, unread messages, the last message. --archived\n"
                 "lists the archived ones instead. --json prints each conversation as the server\n"
                 "describes it (GET /v1/conversations), one per line.\n\n"
                 "exit status: 0, 1 refused, 2 usage, 3 not logged in or cannot connect\n");
}

static bool print_conversation(json_t *conv, void *arg)
{
    conv_print_t *p = arg;
    const char *kind = json_string_value(json_object_get(conv, "kind"));
    if (p->groups_only && (kind == NULL || strcmp(kind, "group") != 0))
        return true;
    p->count++;
    if (p->json) {
        mpr_print_json_line(stdout, conv);
        return true;
    }
    mpr_names_learn_conv(p->names, conv);
    const char *id = json_string_value(json_object_get(conv, "conversation_id"));
    char label[64], text[64] = "", when[32] = "";
    mpr_clean_line(mpr_names_conv(p->names, id != NULL ? id : ""), label, 40);
    json_t *last = json_object_get(conv, "last_message");
    if (json_is_object(last)) {
        const char *sender = json_string_value(json_object_get(last, "sender"));
        const char *lkind = json_string_value(json_object_get(last, "kind"));
        char body[48];
        mpr_clean_line(json_string_value(json_object_get(last, "text")), body, 40);
        if (lkind != NULL && strcmp(lkind, "system") == 0) /* "alice created the group" */
            snprintf(text, sizeof text, "%s", body);
        else
            snprintf(text, sizeof text, "%s: %s", sender ? mpr_names_user(p->names, sender) : "?",
                     body[0] ? body : "[attachment]");
        mpr_format_time(json_integer_value(json_object_get(last, "created_at")), when, sizeof when);
    }
    json_int_t unread = json_integer_value(json_object_get(conv, "unread"));
    char badge[24] = "";
    if (unread > 0)
        snprintf(badge, sizeof badge, "%lld new", (long long)unread);
    printf("%-24s %-8s %-16s %s\n", label, badge, when, text);
    return true;
}

static int list_conversations(int argc, char **argv, bool groups_only, void (*usage)(FILE *))
{
    if (mp_cli_wants_help(argc, argv)) {
        usage(stdout);
        return MP_CLI_OK;
    }
    static const struct option own[] = {
        {"archived", no_argument, NULL, O_ARCHIVED},
        {NULL, 0, NULL, 0},
    };
    const mp_cli_spec_t spec = {
        .name = argv[0],
        .usage = usage,
        .common = MP_CLI_URL | MP_CLI_USER | MP_CLI_JSON,
        .own = own,
        .on_option = on_option,
        .max_args = 0,
        .args_hint = "takes no arguments",
    };
    list_opts_t o = {0};
    mp_cli_common_t c;
    int rc = mp_cli_parse(argc, argv, &spec, &c, &o);
    if (rc != 0)
        return rc;
    mpr_err_t e = {0};
    mpr_session_t s;
    if (mpr_session_open(&s, c.url, c.user, &e) != 0)
        return mpr_report(&e);
    conv_print_t p = {.json = c.json, .groups_only = groups_only};
    p.names = mpr_names_new(&s);
    const char *path =
        o.archived ? "/v1/conversations?limit=200&archived=true" : "/v1/conversations?limit=200";
    if (mpr_http_pages(&s, path, "conversations", MAX_PAGES, print_conversation, &p, &e) != 0)
        rc = mpr_report(&e);
    mpr_names_free(p.names);
    if (rc == MP_CLI_OK && p.count == 0 && !c.json)
        fprintf(stderr, groups_only ? "You are in no group.\n" : "No conversations yet.\n");
    return rc;
}

int mp_cli_conversations(int argc, char **argv)
{
    return list_conversations(argc, argv, false, conv_usage);
}

/* ---- groups -------------------------------------------------------------------------- */

static void groups_usage(FILE *out)
{
    fprintf(out,
            "usage: magpie groups [--url URL] [--user NAME] [--archived] [--json]\n\n"
            "Lists the groups you are a member of (send to one with `magpie send \"#TITLE\"`).\n"
            "--json prints each as its conversation list entry, one per line.\n\n"
            "exit status: 0, 1 refused, 2 usage, 3 not logged in or cannot connect\n");
}

int mp_cli_groups(int argc, char **argv)
{
    return list_conversations(argc, argv, true, groups_usage);
}

/* ---- users search ------------------------------------------------------------------- */

static void users_usage(FILE *out)
{
    fprintf(out,
            "usage: magpie users search [--url URL] [--user NAME] [--limit N] [--json] QUERY\n\n"
            "Finds people by username prefix and by the words of their display name. Prints\n"
            "@username, display name and your relation (friends, asked, ...). --limit N\n"
            "(1-50, default 20) caps the answer; --json prints each profile on a line.\n\n"
            "exit status: 0 (also when nobody is found), 1 refused, 2 usage, 3 not logged in\n"
            "or cannot connect\n");
}

static bool print_user(json_t *u, void *arg)
{
    bool json = *(bool *)arg;
    if (json) {
        mpr_print_json_line(stdout, u);
        return true;
    }
    char name[48], display[80];
    mpr_clean_line(json_string_value(json_object_get(u, "username")), name, 40);
    mpr_clean_line(json_string_value(json_object_get(u, "display_name")), display, 64);
    const char *contact = json_string_value(json_object_get(u, "contact"));
    const char *rel = "";
    if (contact != NULL && strcmp(contact, "friends") == 0)
        rel = "friends";
    else if (contact != NULL && strcmp(contact, "outgoing") == 0)
        rel = "you asked to be friends";
    else if (contact != NULL && strcmp(contact, "incoming") == 0)
        rel = "asks to be friends";
    printf("@%-24s %-32s %s\n", name, display, rel);
    return true;
}

int mp_cli_users(int argc, char **argv)
{
    if (mp_cli_wants_help(argc, argv)) {
        users_usage(stdout);
        return MP_CLI_OK;
    }
    static const struct option own[] = {
        {"limit", required_argument, NULL, O_LIMIT},
        {NULL, 0, NULL, 0},
    };
    static const mp_cli_spec_t spec = {
        .name = "users",
        .usage = users_usage,
        .common = MP_CLI_URL | MP_CLI_USER | MP_CLI_JSON,
        .own = own,
        .on_option = on_option,
        .min_args = 2,
        .max_args = 2,
        .args_hint = "expected `users search QUERY`",
    };
    list_opts_t o = {0};
    mp_cli_common_t c;
    int rc = mp_cli_parse(argc, argv, &spec, &c, &o);
    if (rc != 0)
        return rc;
    if (strcmp(c.args[0], "search") != 0)
        return mp_cli_usage_error(&spec, "expected `users search QUERY`");
    char *end = NULL;
    long limit = o.limit != NULL ? strtol(o.limit, &end, 10) : 20;
    if (o.limit != NULL && (*end != '\0' || limit < 1 || limit > 50))
        return mp_cli_usage_error(&spec, "--limit must be 1 to 50");
    char q[400], path[512];
    if (mpr_urlencode(c.args[1], q, sizeof q) != 0)
        return mp_cli_usage_error(&spec, "the query is too long");
    snprintf(path, sizeof path, "/v1/users/search?q=%s&limit=%ld", q, limit);
    mpr_err_t e = {0};
    mpr_session_t s;
    if (mpr_session_open(&s, c.url, c.user, &e) != 0)
        return mpr_report(&e);
    if (mpr_http_pages(&s, path, "users", 1, print_user, &c.json, &e) != 0)
        return mpr_report(&e);
    return MP_CLI_OK;
}
