/* `magpie chat [--url URL] [--user NAME] [TO]`: the interactive terminal
 * chat (src/tui) on the signed-in session. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "remote/remote.h"
#include "tui/tui.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: magpie chat [--url URL] [--user NAME] [TO]\n"
               "\n"
               "An interactive chat in the terminal: the conversation list with unread\n"
               "counts, the open conversation with its history, typing and read receipts.\n"
               "TO (@user, #group, world or a conversation id) is opened at start.\n"
               "\n"
               "  --url URL    the server (default: $MAGPIE_URL, else " MPR_DEFAULT_URL ")\n"
               "  --user NAME  which signed-in user (default: $MAGPIE_USER, else the last)\n"
               "\n"
               "Keys: Enter sends (or opens in the list), Tab switches list/conversation,\n"
               "Up/Down move in the list, PgUp/PgDn scroll, Esc goes back to the list,\n"
               "Ctrl-C, F10 or /quit quit.\n");
}

/* The value of an option given as "--opt VALUE" or "--opt=VALUE" at argv[*i]
 * (advancing *i), or NULL when argv[*i] is not that option. */
static const char *option(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

int mp_cli_chat(int argc, char **argv)
{
    if (mp_cli_wants_help(argc, argv)) {
        usage(stdout);
        return MPR_EXIT_OK;
    }
    const char *url = NULL, *user = NULL, *to = NULL;
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *v;
        if ((v = option(argc, argv, &i, "--url", &missing)) != NULL) {
            url = v;
        } else if ((v = option(argc, argv, &i, "--user", &missing)) != NULL) {
            user = v;
        } else if (missing || (argv[i][0] == '-' && argv[i][1] != '\0') || to != NULL) {
            fprintf(stderr, "magpie: %s '%s'\n",
                    missing ? "missing value for"
                    : to    ? "unexpected argument"
                            : "unknown option",
                    argv[i]);
            usage(stderr);
            return MPR_EXIT_USAGE;
        } else {
            to = argv[i];
        }
    }
    mpr_session_t s;
    mpr_err_t e = {0};
    if (mpr_session_open(&s, url, user, &e) != 0)
        return mpr_report(&e);
    int rc = mp_tui_run(&s, to, &e);
    if (rc != MPR_EXIT_OK)
        return mpr_report(&e);
    return MPR_EXIT_OK;
}
