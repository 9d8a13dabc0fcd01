/* Placeholder until `magpie tail` lands. */
#include "cli/cli.h"

#include <stdio.h>

int mp_cli_tail(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "magpie: tail is not built yet\n");
    return MP_CLI_USAGE;
}
