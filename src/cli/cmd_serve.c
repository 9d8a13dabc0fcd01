/* `magpie serve`: load the configuration (default < file < env < flags) and
 * run the server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "cli/cli.h"
#include "config/config.h"

static void serve_usage(FILE *out)
{
    fprintf(out, "usage: magpie serve [--config FILE] [--print-config] [--KEY VALUE ...]\n\n"
                 "Runs the Magpie server until SIGINT or SIGTERM.\n\n"
                 "  --config FILE    read an INI config file (also env MAGPIE_CONFIG)\n"
                 "  --print-config   print the effective configuration and exit\n"
                 "  --help           show this help\n\n");
    mp_config_usage(out);
}

/* Finds --config FILE / --config=FILE and --print-config; the rest are keys. */
static void scan_args(int argc, char **argv, const char **path, int *print)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            *path = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            *path = argv[i] + 9;
        else if (strcmp(argv[i], "--print-config") == 0 || strcmp(argv[i], "--print_config") == 0)
            *print = 1;
    }
}

int mp_cli_serve(int argc, char **argv)
{
    if (mp_cli_wants_help(argc, argv)) {
        serve_usage(stdout);
        return MP_CLI_OK;
    }
    const char *path = getenv("MAGPIE_CONFIG");
    int print = 0;
    scan_args(argc, argv, &path, &print);
    if (path != NULL && path[0] == '\0')
        path = NULL;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--config") == 0 && i + 1 >= argc) {
            fprintf(stderr, "magpie: config: flag --config needs a value\n");
            return MP_CLI_USAGE;
        }

    mp_config_t cfg;
    char err[1024];
    mp_config_defaults(&cfg);
    if (mp_config_load(&cfg, path, argc, argv, err, sizeof err) != 0) {
        fprintf(stderr, "magpie: %s\n", err);
        return MP_CLI_USAGE;
    }
    if (print) {
        mp_config_print(&cfg, stdout);
        return MP_CLI_OK;
    }
    return mp_app_serve(&cfg);
}
