/* Placeholder. */
#include "cli/cli.h"
#include <stdio.h>
static int todo(void) { fprintf(stderr, "magpie: not built yet\n"); return MP_CLI_USAGE; }
int mp_cli_register(int argc, char **argv) { (void)argc; (void)argv; return todo(); }
int mp_cli_login(int argc, char **argv) { (void)argc; (void)argv; return todo(); }
int mp_cli_logout(int argc, char **argv) { (void)argc; (void)argv; return todo(); }
int mp_cli_whoami(int argc, char **argv) { (void)argc; (void)argv; return todo(); }
