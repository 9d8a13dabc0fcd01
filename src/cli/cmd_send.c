/* Placeholder until `magpie send` lands. */
#include "cli/cli.h"

#include <stdio.h>

int mp_cli_send(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "magpie: send is not built yet\n");
    return MP_CLI_USAGE;
}
