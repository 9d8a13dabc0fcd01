/* Entry point of the `magpie` binary: everything happens in src/cli/. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return mp_cli_main(argc, argv);
}
