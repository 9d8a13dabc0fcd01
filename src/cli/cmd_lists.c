/* Placeholder. */
#include "cli/cli.h"
#include <stdio.h>
static int todo(void) { fprintf(stderr, "magpie: not built yet\n"); return MP_CLI_USAGE; }
int mp_cli_groups(int argc, char **argv) { (void)argc; (void)argv; return todo(); }
int mp_cli_users(int argc, char **argv) { (void)argc; (void)argv; return todo(); }
int mp_cli_conversations(int argc, char **argv) { (void)argc; (void)argv; return todo(); }
