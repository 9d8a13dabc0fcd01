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

static const mp_cli_spec_t chat_spec = {
    .name = "chat",
    .usage = usage,
    .common = MP_CLI_URL | MP_CLI_USER,
    .max_args = 1,
    .args_hint = "give at most one TO",
};

int mp_cli_chat(int argc, char **argv)
{
    if (mp_cli_wants_help(argc, argv)) {
        usage(stdout);
        return MPR_EXIT_OK;
    }
    mp_cli_common_t c;
    int rc = mp_cli_parse(argc, argv, &chat_spec, &c, NULL);
    if (rc != 0)
        return rc;
    const char *url = c.url, *user = c.user, *to = c.nargs > 0 ? c.args[0] : NULL;
    mpr_session_t s;
    mpr_err_t e = {0};
    if (mpr_session_open(&s, url, user, &e) != 0)
        return mpr_report(&e);
    rc = mp_tui_run(&s, to, &e);
    if (rc != MPR_EXIT_OK)
        return mpr_report(&e);
    return MPR_EXIT_OK;
}
