/* `magpie admin`: administers a RUNNING server through its control socket
 * (DATA/control.sock, mode 0600: being able to open it is the
 * authorisation), the way ejabberdctl and prosodyctl work. One request line
 * out, one answer line back (docs/protocol.md, "Administration").
 *
 * Exit codes: 0 done, 1 the server refused (its message is printed), 2 a
 * usage error, 3 no server answers on the socket. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/ctl.h"
#include "remote/remote.h"

/* How long an answer may take: an account deletion or a password hash
 * under load takes well under this. */
#define ANSWER_TIMEOUT_MS 60000
#define PASSWORD_MAX 1024
#define PAGE 200

static void admin_usage(FILE *out)
{
    fprintf(out,
            "usage: magpie admin [--data DIR] [--config FILE] [--json] COMMAND ...\n\n"
            "Administers the running server whose data directory is DIR, through its control\n"
            "socket DIR/control.sock (default DIR: the `data` setting, as for serve).\n\n"
            "commands:\n"
            "  user add NAME [--admin] [--display-name N] [--password-file F]\n"
            "  user passwd NAME [--password-file F]   new password; signs out every device\n"
            "  user disable NAME | user enable NAME   suspend an account (its sockets close)\n"
            "  user delete NAME                       delete an account for good\n"
            "  user promote NAME | user demote NAME   the server-wide admin flag\n"
            "  user list [--query Q] [--admins] [--disabled] [--guests]\n"
            "  user show NAME\n"
            "  invite create [--uses N] [--expires 7d] [--note T]\n"
            "  invite list\n"
            "  invite revoke CODE\n"
            "  stats\n"
            "  audit [--limit N]\n\n"
            "Passwords come from --password-file F (its first line), else the environment\n"
            "variable MAGPIE_PASSWORD, else a prompt when standard input is a terminal.\n"
            "--json prints the server's answer as JSON.\n\n"
            "exit status: 0 done, 1 refused by the server, 2 usage error, 3 no server running\n");
}

/* ---- the command line ------------------------------------------------------- */

typedef struct {
    const char *data, *config, *password_file, *display_name, *query, *uses, *expires, *note,
        *limit;
    bool json, admin, admins, disabled, guests;
    const char *pos[4];
    int npos;
} opts_t;

/* Options may come anywhere after `admin`. Returns 0, or -1 after printing
 * a usage error. */
static int parse_opts(int argc, char **argv, opts_t *o)
{
    static const struct {
        const char *name;
        size_t off;
    } valued[] = {
        {"--data", offsetof(opts_t, data)},
        {"--config", offsetof(opts_t, config)},
        {"--password-file", offsetof(opts_t, password_file)},
        {"--display-name", offsetof(opts_t, display_name)},
        {"--query", offsetof(opts_t, query)},
        {"--uses", offsetof(opts_t, uses)},
        {"--expires", offsetof(opts_t, expires)},
        {"--note", offsetof(opts_t, note)},
        {"--limit", offsetof(opts_t, limit)},
    };
    static const struct {
        const char *name;
        size_t off;
    } flags[] = {
        {"--json", offsetof(opts_t, json)},     {"--admin", offsetof(opts_t, admin)},
        {"--admins", offsetof(opts_t, admins)}, {"--disabled", offsetof(opts_t, disabled)},
        {"--guests", offsetof(opts_t, guests)},
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool done = false;
        for (size_t k = 0; k < sizeof valued / sizeof *valued && !done; k++) {
            size_t n = strlen(valued[k].name);
            const char **slot = (const char **)((char *)o + valued[k].off);
            if (strcmp(a, valued[k].name) == 0) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "magpie admin: %s needs a value\n", a);
                    return -1;
                }
                *slot = argv[++i];
                done = true;
            } else if (strncmp(a, valued[k].name, n) == 0 && a[n] == '=') {
                *slot = a + n + 1;
                done = true;
            }
        }
        for (size_t k = 0; k < sizeof flags / sizeof *flags && !done; k++)
            if (strcmp(a, flags[k].name) == 0) {
                *(bool *)((char *)o + flags[k].off) = true;
                done = true;
            }
        if (done)
            continue;
        if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "magpie admin: unknown option %s (see magpie admin --help)\n", a);
            return -1;
        }
        if (o->npos == (int)(sizeof o->pos / sizeof *o->pos)) {
            fprintf(stderr, "magpie admin: too many arguments (see magpie admin --help)\n");
            return -1;
        }
        o->pos[o->npos++] = a;
    }
    return 0;
}

/* The data directory: --data, else the `data` setting as serve reads it
 * (--config file, MAGPIE_DATA, the default). */
static int data_dir(const opts_t *o, char *out, size_t outlen)
{
    return mp_cli_ctl_data_dir("magpie admin", o->data, o->config, out, outlen);
}

/* ---- the socket (cli/ctl.h) ---------------------------------------------------- */

typedef mp_cli_ctl_t conn_t;

static json_t *conn_call(conn_t *c, json_t *req)
{
    return mp_cli_ctl_call(c, req, ANSWER_TIMEOUT_MS);
}

static int answer_code(const json_t *ans)
{
    return mp_cli_ctl_answer_code("magpie admin", ans);
}

/* ---- passwords ------------------------------------------------------------------- */

/* The new password: --password-file, MAGPIE_PASSWORD, or a prompt on the
 * terminal (twice). Returns 0, or an exit code after printing why. */
static int get_password(const opts_t *o, const char *username, char *out, size_t cap)
{
    char prompt[128];
    snprintf(prompt, sizeof prompt, "New password for %s: ", username);
    mpr_err_t e = {0};
    if (mpr_read_new_password(o->password_file, prompt, out, cap, &e) != 0) {
        fprintf(stderr, "magpie admin: %s\n", e.msg);
        return MP_CLI_USAGE;
    }
    return 0;
}

/* ---- printing -------------------------------------------------------------------------- */

static void print_json(const json_t *ans)
{
    json_t *copy = json_deep_copy(ans);
    json_object_del(copy, "ok");
    char *text = json_dumps(copy, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(copy);
    if (text != NULL)
        printf("%s\n", text);
    free(text);
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

static void format_time(json_int_t ms, char *out, size_t cap)
{
    if (ms <= 0) {
        snprintf(out, cap, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M", &tm);
}

static void print_user_line(const json_t *u)
{
    char flags[64] = "";
    if (json_is_true(json_object_get(u, "admin")))
        strcat(flags, "admin,");
    if (json_is_true(json_object_get(u, "disabled")))
        strcat(flags, "disabled,");
    if (json_is_true(json_object_get(u, "guest")))
        strcat(flags, "guest,");
    if (json_is_true(json_object_get(u, "pending")))
        strcat(flags, "pending,");
    if (json_is_true(json_object_get(u, "deleted")))
        strcat(flags, "deleted,");
    size_t fl = strlen(flags);
    if (fl > 0)
        flags[fl - 1] = '\0';
    char created[32];
    format_time(json_integer_value(json_object_get(u, "created_at")), created, sizeof created);
    printf("%-32s %-20s %-16s %-16s %s\n", str(u, "username"), str(u, "user_id"), fl ? flags : "-",
           created, str(u, "display_name"));
}

static void print_user(const json_t *u)
{
    char created[32], seen[32];
    format_time(json_integer_value(json_object_get(u, "created_at")), created, sizeof created);
    format_time(json_integer_value(json_object_get(u, "last_seen_at")), seen, sizeof seen);
    printf("username:     %s\nuser id:      %s\ndisplay name: %s\n", str(u, "username"),
           str(u, "user_id"), str(u, "display_name"));
    printf("email:        %s\n",
           json_is_string(json_object_get(u, "email")) ? str(u, "email") : "-");
    printf("admin:        %s\ndisabled:     %s\nguest:        %s\n",
           json_is_true(json_object_get(u, "admin")) ? "yes" : "no",
           json_is_true(json_object_get(u, "disabled")) ? "yes" : "no",
           json_is_true(json_object_get(u, "guest")) ? "yes" : "no");
    printf("created:      %s UTC\nlast seen:    %s\nsessions:     %lld\n", created, seen,
           (long long)json_integer_value(json_object_get(u, "sessions")));
}

/* ---- the commands -------------------------------------------------------------------- */

/* Runs one request and prints the usual outcome. fmt (may be NULL) is a
 * printf format with one %s, the user's name, printed on success. */
static int simple(conn_t *c, const opts_t *o, json_t *req, const char *fmt, const char *name)
{
    json_t *ans = conn_call(c, req);
    if (ans == NULL)
        return MP_CLI_FAIL;
    int code = answer_code(ans);
    if (code == MP_CLI_OK) {
        if (o->json)
            print_json(ans);
        else if (fmt != NULL)
            printf(fmt, name), printf("\n");
    }
    json_decref(ans);
    return code;
}

static int flag_cmd(conn_t *c, const opts_t *o, const char *cmd, const char *name, const char *now,
                    const char *already)
{
    json_t *ans = conn_call(c, json_pack("{s:s, s:s}", "cmd", cmd, "username", name));
    if (ans == NULL)
        return MP_CLI_FAIL;
    int code = answer_code(ans);
    if (code == MP_CLI_OK) {
        if (o->json)
            print_json(ans);
        else {
            printf(json_is_true(json_object_get(ans, "changed")) ? now : already, name);
            printf("\n");
        }
    }
    json_decref(ans);
    return code;
}

static int user_add(conn_t *c, const opts_t *o, const char *name)
{
    char pw[PASSWORD_MAX + 2];
    int code = get_password(o, name, pw, sizeof pw);
    if (code != 0)
        return code;
    json_t *req = json_pack("{s:s, s:s, s:s, s:b}", "cmd", "user.add", "username", name, "password",
                            pw, "admin", o->admin);
    memset(pw, 0, sizeof pw);
    if (o->display_name != NULL)
        json_object_set_new(req, "display_name", json_string(o->display_name));
    json_t *ans = conn_call(c, req);
    if (ans == NULL)
        return MP_CLI_FAIL;
    code = answer_code(ans);
    if (code == MP_CLI_OK) {
        json_t *u = json_object_get(ans, "user");
        if (o->json)
            print_json(ans);
        else
            printf("created user %s (id %s)%s\n", str(u, "username"), str(u, "user_id"),
                   json_is_true(json_object_get(u, "admin")) ? ", an administrator" : "");
    }
    json_decref(ans);
    return code;
}

static int user_passwd(conn_t *c, const opts_t *o, const char *name)
{
    char pw[PASSWORD_MAX + 2];
    int code = get_password(o, name, pw, sizeof pw);
    if (code != 0)
        return code;
    json_t *req =
        json_pack("{s:s, s:s, s:s}", "cmd", "user.passwd", "username", name, "password", pw);
    memset(pw, 0, sizeof pw);
    return simple(c, o, req, "password of %s changed; every device of it was signed out", name);
}

/* Asks for every page of a list command: req (stolen) is sent again with
 * "limit" and each "cursor" until next_cursor is null; the items under key
 * are appended to all. Returns the exit code. */
static int fetch_all(conn_t *c, json_t *req, const char *key, json_t *all)
{
    json_t *cursor = json_null();
    int code = MP_CLI_OK;
    json_object_set_new(req, "limit", json_integer(PAGE));
    for (;;) {
        json_object_set_new(req, "cursor", cursor);
        json_t *ans = conn_call(c, json_deep_copy(req));
        if (ans == NULL) {
            code = MP_CLI_FAIL;
            break;
        }
        if ((code = answer_code(ans)) != MP_CLI_OK) {
            json_decref(ans);
            break;
        }
        json_array_extend(all, json_object_get(ans, key));
        cursor = json_incref(json_object_get(ans, "next_cursor"));
        json_decref(ans);
        if (!json_is_string(cursor)) {
            json_decref(cursor);
            break;
        }
    }
    json_decref(req);
    return code;
}

/* Every page of user.list. */
static int user_list(conn_t *c, const opts_t *o)
{
    json_t *all = json_array();
    json_t *req = json_pack("{s:s}", "cmd", "user.list");
    if (o->query != NULL)
        json_object_set_new(req, "q", json_string(o->query));
    if (o->admins)
        json_object_set_new(req, "admin", json_true());
    if (o->disabled)
        json_object_set_new(req, "disabled", json_true());
    if (o->guests)
        json_object_set_new(req, "guest", json_true());
    int code = fetch_all(c, req, "users", all);
    if (code == MP_CLI_OK) {
        if (o->json) {
            json_t *out = json_pack("{s:O}", "users", all);
            print_json(out);
            json_decref(out);
        } else {
            printf("%-32s %-20s %-16s %-16s %s\n", "USERNAME", "ID", "FLAGS", "CREATED (UTC)",
                   "DISPLAY NAME");
            size_t i;
            json_t *u;
            json_array_foreach(all, i, u) print_user_line(u);
        }
    }
    json_decref(all);
    return code;
}

static int user_show(conn_t *c, const opts_t *o, const char *name)
{
    json_t *ans = conn_call(c, json_pack("{s:s, s:s}", "cmd", "user.get", "username", name));
    if (ans == NULL)
        return MP_CLI_FAIL;
    int code = answer_code(ans);
    if (code == MP_CLI_OK) {
        if (o->json)
            print_json(ans);
        else
            print_user(json_object_get(ans, "user"));
    }
    json_decref(ans);
    return code;
}

static int cmd_user(conn_t *c, const opts_t *o)
{
    const char *verb = o->npos > 1 ? o->pos[1] : "";
    const char *name = o->npos > 2 ? o->pos[2] : NULL;
    if (strcmp(verb, "list") == 0)
        return user_list(c, o);
    if (strcmp(verb, "add") == 0)
        return user_add(c, o, name);
    if (strcmp(verb, "passwd") == 0)
        return user_passwd(c, o, name);
    if (strcmp(verb, "show") == 0)
        return user_show(c, o, name);
    if (strcmp(verb, "disable") == 0)
        return flag_cmd(c, o, "user.disable", name, "%s is disabled; its open sessions were closed",
                        "%s was already disabled");
    if (strcmp(verb, "enable") == 0)
        return flag_cmd(c, o, "user.enable", name, "%s is enabled again", "%s was not disabled");
    if (strcmp(verb, "promote") == 0)
        return flag_cmd(c, o, "user.promote", name, "%s is now an administrator",
                        "%s was already an administrator");
    if (strcmp(verb, "demote") == 0)
        return flag_cmd(c, o, "user.demote", name, "%s is no longer an administrator",
                        "%s was not an administrator");
    if (strcmp(verb, "delete") == 0)
        return simple(c, o, json_pack("{s:s, s:s}", "cmd", "user.delete", "username", name),
                      "deleted the account %s", name);
    return MP_CLI_USAGE;
}

/* "7d", "12h", "30m", "90s" or plain seconds into seconds; -1 if invalid. */
static long long parse_duration(const char *s)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno != 0 || end == s || n <= 0)
        return -1;
    long long mult = 1;
    if (*end == 'd')
        mult = 86400, end++;
    else if (*end == 'h')
        mult = 3600, end++;
    else if (*end == 'm')
        mult = 60, end++;
    else if (*end == 's')
        end++;
    if (*end != '\0' || n > 100LL * 365 * 86400 / mult)
        return -1;
    return n * mult;
}

static int invite_create(conn_t *c, const opts_t *o)
{
    json_t *req = json_pack("{s:s}", "cmd", "invite.create");
    if (o->uses != NULL) {
        char *end = NULL;
        long long n = strtoll(o->uses, &end, 10);
        if (end == o->uses || *end != '\0' || n < 0) {
            fprintf(stderr, "magpie admin: --uses must be a number (0 = unlimited)\n");
            json_decref(req);
            return MP_CLI_USAGE;
        }
        json_object_set_new(req, "max_uses", json_integer(n));
    }
    if (o->expires != NULL) {
        long long secs = parse_duration(o->expires);
        if (secs < 0) {
            fprintf(stderr, "magpie admin: --expires must be a duration such as 7d, 12h, 30m or "
                            "3600 (seconds)\n");
            json_decref(req);
            return MP_CLI_USAGE;
        }
        json_object_set_new(req, "expires_in", json_integer(secs));
    }
    if (o->note != NULL)
        json_object_set_new(req, "note", json_string(o->note));
    json_t *ans = conn_call(c, req);
    if (ans == NULL)
        return MP_CLI_FAIL;
    int code = answer_code(ans);
    if (code == MP_CLI_OK) {
        if (o->json)
            print_json(ans);
        else
            printf("%s\n", str(ans, "code"));
    }
    json_decref(ans);
    return code;
}

static int invite_list(conn_t *c, const opts_t *o)
{
    json_t *all = json_array();
    int code = fetch_all(c, json_pack("{s:s}", "cmd", "invite.list"), "invites", all);
    if (code == MP_CLI_OK) {
        if (o->json) {
            json_t *out = json_pack("{s:O}", "invites", all);
            print_json(out);
            json_decref(out);
        } else {
            printf("%-24s %-10s %-10s %-16s %s\n", "CODE", "STATE", "USES", "EXPIRES (UTC)",
                   "NOTE");
            size_t i;
            json_t *v;
            json_array_foreach(all, i, v)
            {
                char uses[32], exp[32];
                json_int_t max = json_integer_value(json_object_get(v, "max_uses"));
                json_int_t used = json_integer_value(json_object_get(v, "uses"));
                if (max > 0)
                    snprintf(uses, sizeof uses, "%lld/%lld", (long long)used, (long long)max);
                else
                    snprintf(uses, sizeof uses, "%lld", (long long)used);
                format_time(json_integer_value(json_object_get(v, "expires_at")), exp, sizeof exp);
                printf("%-24s %-10s %-10s %-16s %s\n", str(v, "code"), str(v, "state"), uses, exp,
                       str(v, "note"));
            }
        }
    }
    json_decref(all);
    return code;
}

static int cmd_invite(conn_t *c, const opts_t *o)
{
    const char *verb = o->npos > 1 ? o->pos[1] : "";
    if (strcmp(verb, "create") == 0 && o->npos == 2)
        return invite_create(c, o);
    if (strcmp(verb, "list") == 0 && o->npos == 2)
        return invite_list(c, o);
    if (strcmp(verb, "revoke") == 0 && o->npos == 3)
        return simple(c, o, json_pack("{s:s, s:s}", "cmd", "invite.revoke", "code", o->pos[2]),
                      "revoked %s", o->pos[2]);
    return MP_CLI_USAGE;
}

static int cmd_stats(conn_t *c, const opts_t *o)
{
    if (o->npos != 1)
        return MP_CLI_USAGE;
    json_t *ans = conn_call(c, json_pack("{s:s}", "cmd", "stats"));
    if (ans == NULL)
        return MP_CLI_FAIL;
    int code = answer_code(ans);
    if (code == MP_CLI_OK) {
        if (o->json) {
            print_json(ans);
        } else {
            static const char *const keys[] = {
                "users",         "guests", "admins", "disabled", "pending",         "deleted",
                "conversations", "direct", "groups", "messages", "online_sessions", "uptime_s",
            };
            for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
                printf("%-16s %lld\n", keys[i],
                       (long long)json_integer_value(json_object_get(ans, keys[i])));
            printf("%-16s %s\n", "version", str(ans, "version"));
        }
    }
    json_decref(ans);
    return code;
}

static int cmd_audit(conn_t *c, const opts_t *o)
{
    if (o->npos != 1)
        return MP_CLI_USAGE;
    json_t *req = json_pack("{s:s}", "cmd", "audit.list");
    if (o->limit != NULL)
        json_object_set_new(req, "limit", json_string(o->limit));
    json_t *ans = conn_call(c, req);
    if (ans == NULL)
        return MP_CLI_FAIL;
    int code = answer_code(ans);
    if (code == MP_CLI_OK) {
        if (o->json) {
            print_json(ans);
        } else {
            size_t i;
            json_t *e;
            json_array_foreach(json_object_get(ans, "entries"), i, e)
            {
                char at[32];
                format_time(json_integer_value(json_object_get(e, "at")), at, sizeof at);
                const char *actor =
                    json_is_string(json_object_get(e, "actor_username"))
                        ? str(e, "actor_username")
                        : (json_is_null(json_object_get(e, "actor_id")) ? "(control socket)"
                                                                        : str(e, "actor_id"));
                char *detail = json_dumps(json_object_get(e, "detail"), JSON_COMPACT);
                printf("%s  %-20s %-22s %-20s %s\n", at, actor, str(e, "action"),
                       json_is_string(json_object_get(e, "target_id")) ? str(e, "target_id") : "-",
                       detail != NULL ? detail : "");
                free(detail);
            }
        }
    }
    json_decref(ans);
    return code;
}

/* Whether the positional arguments make a command (checked before
 * connecting: a usage error is one whether a server runs or not). */
static bool usage_ok(const opts_t *o)
{
    static const struct {
        const char *area, *verb;
        int npos;
    } forms[] = {
        {"user", "add", 3},      {"user", "passwd", 3}, {"user", "show", 3},
        {"user", "disable", 3},  {"user", "enable", 3}, {"user", "delete", 3},
        {"user", "promote", 3},  {"user", "demote", 3}, {"user", "list", 2},
        {"invite", "create", 2}, {"invite", "list", 2}, {"invite", "revoke", 3},
        {"stats", NULL, 1},      {"audit", NULL, 1},
    };
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++)
        if (strcmp(o->pos[0], forms[i].area) == 0 && o->npos == forms[i].npos &&
            (forms[i].verb == NULL || strcmp(o->pos[1], forms[i].verb) == 0))
            return true;
    return false;
}

int mp_cli_admin(int argc, char **argv)
{
    if (mp_cli_wants_help(argc, argv)) {
        admin_usage(stdout);
        return MP_CLI_OK;
    }
    opts_t o = {0};
    if (parse_opts(argc, argv, &o) != 0)
        return MP_CLI_USAGE;
    if (o.npos == 0) {
        admin_usage(stderr);
        return MP_CLI_USAGE;
    }
    const char *area = o.pos[0];
    int (*fn)(conn_t *, const opts_t *) = strcmp(area, "user") == 0     ? cmd_user
                                          : strcmp(area, "invite") == 0 ? cmd_invite
                                          : strcmp(area, "stats") == 0  ? cmd_stats
                                          : strcmp(area, "audit") == 0  ? cmd_audit
                                                                        : NULL;
    if (fn == NULL || !usage_ok(&o)) {
        fprintf(stderr, "magpie admin: %s \"%s\"\n\n",
                fn == NULL ? "unknown command" : "bad arguments for", area);
        admin_usage(stderr);
        return MP_CLI_USAGE;
    }
    conn_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return MP_CLI_FAIL;
    c->fd = -1;
    c->prog = "magpie admin";
    int code = data_dir(&o, c->dir, sizeof c->dir) != 0 ? MP_CLI_USAGE : mp_cli_ctl_open(c);
    if (code == 0)
        code = fn(c, &o);
    mp_cli_ctl_close(c);
    free(c);
    return code;
}
