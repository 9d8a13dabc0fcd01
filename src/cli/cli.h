/* The `magpie` command line: one table of subcommands, each a function taking
 * its own argc/argv (argv[0] is the subcommand name). Adding a subcommand is
 * one line in the table in cli.c plus its declaration here. */
#ifndef MP_CLI_CLI_H
#define MP_CLI_CLI_H

typedef struct mp_cli_cmd {
    const char *name;
    const char *summary;
    int (*fn)(int argc, char **argv); /* returns the process exit code */
} mp_cli_cmd_t;

/* Exit codes: 0 success, 1 runtime failure (the server refused), 2 usage or
 * configuration error, 3 cannot connect or not logged in. The client
 * commands get theirs from src/remote (MPR_EXIT_*, the same values). */
enum { MP_CLI_OK = 0, MP_CLI_FAIL = 1, MP_CLI_USAGE = 2, MP_CLI_OFFLINE = 3 };

/* Runs the whole command line (argv[0] is the program name). */
int mp_cli_main(int argc, char **argv);

/* True when argv[1..] contains -h or --help before any "--" (for
 * subcommands' own --help). */
int mp_cli_wants_help(int argc, char **argv);

/* Subcommands. */
int mp_cli_serve(int argc, char **argv);
int mp_cli_version(int argc, char **argv);
int mp_cli_admin(int argc, char **argv); /* cmd_admin.c */
/* The client commands (docs/cli.md), on src/remote. */
int mp_cli_register(int argc, char **argv);      /* cmd_account.c */
int mp_cli_login(int argc, char **argv);         /* cmd_account.c */
int mp_cli_logout(int argc, char **argv);        /* cmd_account.c */
int mp_cli_whoami(int argc, char **argv);        /* cmd_account.c */
int mp_cli_groups(int argc, char **argv);        /* cmd_lists.c */
int mp_cli_users(int argc, char **argv);         /* cmd_lists.c */
int mp_cli_conversations(int argc, char **argv); /* cmd_lists.c */
int mp_cli_send(int argc, char **argv);          /* cmd_send.c */
int mp_cli_tail(int argc, char **argv);          /* cmd_tail.c */
int mp_cli_chat(int argc, char **argv);          /* cmd_chat.c */

#endif
