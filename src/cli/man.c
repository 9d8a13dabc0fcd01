/* `magpie help --man` and `magpie help --config`: the man page magpie(1)
 * and an example config file, written from the same tables as --help (the
 * subcommands in cli.c, the configuration keys in config/config.c), so that
 * what is installed cannot drift from what the binary does. The build runs
 * both into the build directory; `make install` installs them. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"

/* Text for roff: a backslash is written \e, a dash \- (so that it stays an
 * ASCII hyphen-minus, which is what a reader copying a flag needs), and a
 * line must not start with a dot or an apostrophe (a request). */
static void roff_text(FILE *out, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", out);
    for (; *s != '\0'; s++) {
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else
            fputc(*s, out);
    }
}

static void man_key(void *ud, const char *name, const char *def, const char *help, bool secret)
{
    FILE *out = ud;
    fputs(".TP\n.BI \\-\\-", out);
    roff_text(out, name);
    fputs(" \" VALUE\"\n", out);
    roff_text(out, help);
    fputs(".\nDefault: ", out);
    if (def[0] == '\0')
        fputs("empty", out);
    else {
        fputs("\\(lq", out);
        roff_text(out, def);
        fputs("\\(rq", out);
    }
    if (secret)
        fputs("; a secret: \\-\\-print\\-config masks it, the log never shows it", out);
    fputs(".\n", out);
}

void mp_cli_man(FILE *out, const mp_cli_cmd_t *cmds)
{
    fputs(".TH MAGPIE 1 \"\" \"magpie " MAGPIE_VERSION "\" \"User Commands\"\n"
          ".SH NAME\n"
          "magpie \\- self\\-hosted instant\\-messaging server and its command\\-line client\n"
          ".SH SYNOPSIS\n"
          ".B magpie\n.I command\n.RI [ options ]\n"
          ".br\n"
          ".B magpie serve\n"
          ".RB [ \\-\\-config\n.IR FILE ]\n"
          ".RB [ \\-\\-print\\-config ]\n"
          ".RB [ \\-\\-\\fIKEY\\fP\n.IR VALUE \" ...]\"\n"
          ".SH DESCRIPTION\n"
          "Magpie is an instant\\-messaging server: accounts and devices, durable direct "
          "and group conversations with sync, a web client, and a terminal client. "
          "One process on SQLite serves a team; several on PostgreSQL and NATS serve "
          "more. Every subcommand prints its own options with\n.BR \\-\\-help .\n"
          ".SH COMMANDS\n",
          out);
    for (const mp_cli_cmd_t *c = cmds; c->name != NULL; c++) {
        fputs(".TP\n.B ", out);
        roff_text(out, c->name);
        fputc('\n', out);
        roff_text(out, c->summary);
        fputs(".\n", out);
    }
    fputs(".SH CONFIGURATION\n"
          "Each key of\n.B magpie serve\n"
          "is read from, in order of precedence: the flag\n.BI \\-\\- KEY\n"
          ".IR VALUE ,\nthe environment variable\n.BR MAGPIE_ \\fIKEY\\fP\n"
          "(upper case), the INI file given by\n.B \\-\\-config\n"
          "or\n.BR MAGPIE_CONFIG ,\nthen the default. Sizes take k, m or g; durations "
          "ms, s, m, h or d.\n",
          out);
    mp_config_each_key(man_key, out);
    fputs(".SH SIGNALS\n"
          ".B SIGTERM\nand\n.B SIGINT\n"
          "stop the server: it stops accepting, closes WebSockets with 1001, lets work in "
          "progress finish and exits 0. Under systemd the server reports readiness and "
          "stopping with sd_notify (Type=notify).\n"
          ".B SIGHUP\n"
          "with tls_cert set reloads tls_cert and tls_key: new connections get the new "
          "certificate, open ones keep theirs; a pair that cannot be loaded is logged and the "
          "one in use stays. Without tls_cert it has its default action.\n"
          ".SH EXIT STATUS\n"
          "0 success; 1 a runtime failure (the server refused, or could not start); 2 a usage "
          "or configuration error; 3 cannot connect, or not signed in.\n"
          ".SH FILES\n"
          ".TP\n.I DATA/magpie.db\nthe SQLite database (database = sqlite)\n"
          ".TP\n.I DATA/jwt.secret\nthe key that signs access tokens (the same file on "
          "every node of a cluster)\n"
          ".TP\n.I DATA/control.sock\nthe control socket of\n.B magpie admin\n"
          ".TP\n.I DATA/files\nuploaded files, unless files_dir says otherwise\n"
          ".SH SEE ALSO\n"
          "The documentation in the source tree: README.md, docs/configuration.md, "
          "docs/protocol.md, docs/cli.md, docs/cluster.md.\n",
          out);
}

/* "key=value" pairs given to --config are written uncommented. */
typedef struct example {
    FILE *out;
    char **set;
    int nset;
} example_t;

static void example_key(void *ud, const char *name, const char *def, const char *help, bool secret)
{
    example_t *e = ud;
    fprintf(e->out, "\n# %s%s\n", help, secret ? " (a secret: keep this file private)" : "");
    size_t n = strlen(name);
    for (int i = 0; i < e->nset; i++)
        if (strncmp(e->set[i], name, n) == 0 && e->set[i][n] == '=') {
            fprintf(e->out, "%s = %s\n", name, e->set[i] + n + 1);
            return;
        }
    fprintf(e->out, "# %s = %s\n", name, def);
}

void mp_cli_config_example(FILE *out, char **set, int nset)
{
    fputs("; Magpie server configuration (INI). Every key is listed with its default,\n"
          "; commented out; a flag --KEY VALUE or the environment variable MAGPIE_KEY\n"
          "; overrides what is written here. `magpie serve --print-config` shows what\n"
          "; the server would use.\n[magpie]\n",
          out);
    example_t e = {out, set, nset};
    mp_config_each_key(example_key, &e);
}
