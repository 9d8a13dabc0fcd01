/* Placeholder until `magpie chat` lands. */
#include "cli/cli.h"

#include <stdio.h>

int mp_cli_chat(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "magpie: chat is not built yet\n");
    return MP_CLI_USAGE;
}
