/* Subcommand table and dispatch for the `magpie` binary. */
#include "cli/cli.h"

#include "bench/bench.h"

#include <stdio.h>
#include <string.h>

static int cmd_help(int argc, char **argv);

/* One line per subcommand. */
static const mp_cli_cmd_t cmds[] = {
    {"serve", "run the server", mp_cli_serve},
    {"version", "print the version", mp_cli_version},
    {"admin", "administer the running server: users, invites, stats", mp_cli_admin},
    {"backup", "copy the running server's database into a file", mp_cli_backup},
    {"check", "verify a database file (a backup) offline", mp_cli_check},
    {"register", "create an account on a server", mp_cli_register},
    {"login", "sign in to a server on this machine", mp_cli_login},
    {"logout", "sign out (revokes this machine's device)", mp_cli_logout},
    {"whoami", "show who is signed in", mp_cli_whoami},
    {"send", "send messages: @user, #group, world or a conversation id", mp_cli_send},
    {"tail", "print messages as they arrive", mp_cli_tail},
    {"chat", "chat in the terminal", mp_cli_chat},
    {"conversations", "list your conversations", mp_cli_conversations},
    {"groups", "list your groups", mp_cli_groups},
    {"users", "find people: users search QUERY", mp_cli_users},
    {"bench", "load generator: connect, direct, history, group", mp_bench_main},
    {"help", "show this help", cmd_help},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: magpie <command> [options]\n\ncommands:\n");
    for (const mp_cli_cmd_t *c = cmds; c->name != NULL; c++)
        fprintf(out, "  %-14s %s\n", c->name, c->summary);
    fprintf(out, "\nRun `magpie <command> --help` for the options of a command.\n");
}

/* `magpie help`; `--man` prints the man page and `--config [KEY=VALUE...]`
 * an example config file (both installed by `make install`). */
static int cmd_help(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--man") == 0) {
        mp_cli_man(stdout, cmds);
        return MP_CLI_OK;
    }
    if (argc >= 2 && strcmp(argv[1], "--config") == 0) {
        for (int i = 2; i < argc; i++)
            if (strchr(argv[i], '=') == NULL) {
                fprintf(stderr, "magpie: help --config takes KEY=VALUE arguments: %s\n", argv[i]);
                return MP_CLI_USAGE;
            }
        mp_cli_config_example(stdout, argv + 2, argc - 2);
        return MP_CLI_OK;
    }
    if (argc > 1 && !mp_cli_wants_help(argc, argv)) {
        fprintf(stderr, "magpie: help takes no arguments but --man or --config [KEY=VALUE...]\n");
        return MP_CLI_USAGE;
    }
    usage(stdout);
    return MP_CLI_OK;
}

int mp_cli_wants_help(int argc, char **argv)
{
    /* Not past "--": `magpie send @bob -- --help` sends the text "--help". */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

int mp_cli_version(int argc, char **argv)
{
    if (mp_cli_wants_help(argc, argv)) {
        printf("usage: magpie version\n\nPrints the version of this binary.\n");
        return MP_CLI_OK;
    }
    if (argc > 1) {
        fprintf(stderr, "magpie: version takes no arguments\n");
        return MP_CLI_USAGE;
    }
    printf("magpie %s\n", MAGPIE_VERSION);
    return MP_CLI_OK;
}

int mp_cli_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return MP_CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        return cmd_help(argc - 1, argv + 1);
    if (strcmp(name, "--version") == 0)
        return mp_cli_version(1, argv + 1);
    for (const mp_cli_cmd_t *c = cmds; c->name != NULL; c++)
        if (strcmp(c->name, name) == 0)
            return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "magpie: unknown command \"%s\"\n\n", name);
    usage(stderr);
    return MP_CLI_USAGE;
}
