/* The `magpie` command line: one table of subcommands, each a function taking
 * its own argc/argv (argv[0] is the subcommand name). Adding a subcommand is
 * one line in the table in cli.c plus its declaration here. */
#ifndef MP_CLI_CLI_H
#define MP_CLI_CLI_H

#include <assert.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

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

/* ---- generated documents (man.c) ---- */

/* The man page magpie(1), in roff, from the subcommand table cmds (NULL-name
 * terminated) and the configuration keys. */
void mp_cli_man(FILE *out, const mp_cli_cmd_t *cmds);
/* An example config file: every key commented out with its default and
 * description, but those named in set ("key=value") written as given. */
void mp_cli_config_example(FILE *out, char **set, int nset);

/* ---- options of the client commands (opts.c) ---- */

/* Which of the shared options a command takes. */
enum { MP_CLI_URL = 1, MP_CLI_USER = 2, MP_CLI_JSON = 4 };
/* A command's own option ids start here (below are the shared ones). */
#define MP_CLI_OWN 256

typedef struct mp_cli_spec {
    const char *name;         /* "send": for messages */
    void (*usage)(FILE *out); /* printed after a usage error */
    unsigned common;          /* MP_CLI_URL | MP_CLI_USER | MP_CLI_JSON */
    const struct option *own; /* the command's options (val >= MP_CLI_OWN, or a short
                                 option's letter), NULL-name terminated; may be NULL */
    const char *shorts;       /* short options for getopt ("v"), or NULL */
    /* Called for each own option (val, its value or NULL); returns 0, or an
     * exit status (e.g. from mp_cli_usage_error) to stop. */
    int (*on_option)(int id, const char *value, void *arg);
    int min_args, max_args; /* how many arguments it takes */
    const char *args_hint;  /* the message when their number is wrong */
} mp_cli_spec_t;

/* What the shared options said, and the arguments left. */
typedef struct mp_cli_common {
    const char *url, *user;
    bool json;
    char **args; /* the arguments (options removed), borrowed from argv */
    int nargs;
} mp_cli_common_t;

/* Reads argv (argv[0] the command's name) by spec; options may come before
 * or after the arguments, "--" ends them. Returns 0, or 2 after printing
 * what was wrong and the usage. */
int mp_cli_parse(int argc, char **argv, const mp_cli_spec_t *spec, mp_cli_common_t *common,
                 void *arg);
/* Prints "magpie NAME: <message>" and the usage; returns 2. */
int mp_cli_usage_error(const mp_cli_spec_t *spec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Subcommands. */
int mp_cli_serve(int argc, char **argv);
int mp_cli_version(int argc, char **argv);
int mp_cli_admin(int argc, char **argv);  /* cmd_admin.c */
int mp_cli_backup(int argc, char **argv); /* cmd_backup.c */
int mp_cli_check(int argc, char **argv);  /* cmd_backup.c */
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
