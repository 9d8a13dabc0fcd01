/* The option reading every client command shares: --url, --user and --json
 * (where the command has it) are the same everywhere, each command adds its
 * own, and every mistake is answered the same way: what was wrong, then the
 * command's usage, exit 2. */
#include "cli/cli.h"

#include <assert.h>
#include <stdarg.h>
#include <string.h>

enum { O_URL = 1, O_USER, O_JSON };

int mp_cli_usage_error(const mp_cli_spec_t *spec, const char *fmt, ...)
{
    fprintf(stderr, "magpie %s: ", spec->name);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n");
    spec->usage(stderr);
    return MP_CLI_USAGE;
}

int mp_cli_parse(int argc, char **argv, const mp_cli_spec_t *spec, mp_cli_common_t *common,
                 void *arg)
{
    struct option longs[24];
    size_t n = 0;
    if (spec->common & MP_CLI_URL)
        longs[n++] = (struct option){"url", required_argument, NULL, O_URL};
    if (spec->common & MP_CLI_USER)
        longs[n++] = (struct option){"user", required_argument, NULL, O_USER};
    if (spec->common & MP_CLI_JSON)
        longs[n++] = (struct option){"json", no_argument, NULL, O_JSON};
    for (const struct option *o = spec->own; o != NULL && o->name != NULL; n++, o++) {
        assert(n + 1 < sizeof longs / sizeof *longs);
        assert(o->val >= MP_CLI_OWN || (o->val > O_JSON && o->val < 128)); /* or a letter */
        longs[n] = *o;
    }
    longs[n] = (struct option){NULL, 0, NULL, 0};
    memset(common, 0, sizeof *common);
    optind = 0; /* 0: GNU getopt starts afresh, and options may follow the arguments */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, spec->shorts != NULL ? spec->shorts : "", longs, NULL)) !=
           -1) {
        int rc = 0;
        if (c == O_URL)
            common->url = optarg;
        else if (c == O_USER)
            common->user = optarg;
        else if (c == O_JSON)
            common->json = true;
        else if (c == '?' || c == ':')
            return mp_cli_usage_error(spec, "unknown option or missing value: %s",
                                      argv[optind - 1]);
        else if (spec->on_option != NULL) /* only an own option gets here */
            rc = spec->on_option(c, optarg, arg);
        if (rc != 0)
            return rc;
    }
    common->args = argv + optind;
    common->nargs = argc - optind;
    if (common->nargs < spec->min_args || common->nargs > spec->max_args)
        return mp_cli_usage_error(spec, "%s", spec->args_hint);
    return 0;
}
