/* `magpie backup` and `magpie check`: an online copy of a RUNNING server's
 * SQLite database, made by the server itself through its control socket
 * (so the copy is one consistent snapshot taken while messages keep
 * flowing), and the offline verification of a database file (a backup, or
 * the data directory's magpie.db of a stopped server). docs/operations.md,
 * "Backups and restore".
 *
 * Exit codes: 0 done / sound, 1 refused / failed / not sound, 2 usage error,
 * 3 no server answers on the socket (backup). */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "app/app.h"
#include "cli/ctl.h"

static void backup_usage(FILE *out)
{
    fprintf(out,
            "usage: magpie backup [--data DIR] [--config FILE] [--force] [--json] FILE\n\n"
            "Copies the database of the running server whose data directory is DIR into FILE,\n"
            "through its control socket DIR/control.sock (default DIR: the `data` setting, as\n"
            "for serve). The copy is one consistent snapshot, taken while the server keeps\n"
            "running; the server writes it (FILE is a path on the server's machine, written as\n"
            "the server's user, mode 0600) to FILE.tmp, syncs it and renames it, so FILE is\n"
            "never a partial copy. Copy the files directory too (docs/operations.md).\n\n"
            "  --force   replace FILE if it exists\n"
            "  --json    print the server's answer as JSON\n\n"
            "A server on PostgreSQL is backed up with pg_dump or pg_basebackup instead.\n\n"
            "exit status: 0 done, 1 refused or failed, 2 usage error, 3 no server running\n");
}

static void check_usage(FILE *out)
{
    fprintf(out, "usage: magpie check [--quick] FILE\n\n"
                 "Verifies a Magpie database file without a server: SQLite's integrity check\n"
                 "and the schema version against this magpie's. Use it on a backup before\n"
                 "relying on it, or on the magpie.db of a stopped server.\n\n"
                 "  --quick   PRAGMA quick_check instead of integrity_check: much faster on a\n"
                 "            large file, skips checking that indexes match their tables\n\n"
                 "exit status: 0 sound (an older schema is fine: it is migrated when a server\n"
                 "starts on it), 1 damaged, newer than this magpie, not a Magpie database or\n"
                 "unreadable, 2 usage error\n");
}

typedef struct {
    const char *data, *config, *file;
    bool force, json, quick;
} opts_t;

/* Splits argv into the options of the command (server: backup's, else
 * check's) and one FILE; options may come anywhere. Returns 0, or 2 after
 * printing the error and the usage. */
static int parse(const char *prog, int argc, char **argv, bool server, opts_t *o,
                 void (*usage)(FILE *))
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        size_t n = 0;
        if (server && strncmp(a, "--data", 6) == 0 && (a[6] == '\0' || a[6] == '='))
            slot = &o->data, n = 6;
        else if (server && strncmp(a, "--config", 8) == 0 && (a[8] == '\0' || a[8] == '='))
            slot = &o->config, n = 8;
        if (slot != NULL) {
            if (a[n] == '=') {
                *slot = a + n + 1;
            } else if (i + 1 < argc) {
                *slot = argv[++i];
            } else {
                fprintf(stderr, "%s: %s needs a value\n", prog, a);
                return MP_CLI_USAGE;
            }
        } else if (server && strcmp(a, "--force") == 0) {
            o->force = true;
        } else if (server && strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (!server && strcmp(a, "--quick") == 0) {
            o->quick = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "%s: unknown option %s\n\n", prog, a);
            usage(stderr);
            return MP_CLI_USAGE;
        } else if (o->file != NULL) {
            fprintf(stderr, "%s: one FILE only\n\n", prog);
            usage(stderr);
            return MP_CLI_USAGE;
        } else {
            o->file = a;
        }
    }
    if (o->file == NULL) {
        fprintf(stderr, "%s: which FILE?\n\n", prog);
        usage(stderr);
        return MP_CLI_USAGE;
    }
    return 0;
}

/* FILE as an absolute path: the server resolves nothing against its own
 * working directory. Its directory must exist (realpath), the name is kept
 * as given. Returns 0, or 1 after printing why. */
static int absolute(const char *file, char *out, size_t outlen)
{
    char *a = strdup(file), *b = strdup(file);
    if (a == NULL || b == NULL) {
        free(a);
        free(b);
        return MP_CLI_FAIL;
    }
    const char *dir = dirname(a), *base = basename(b);
    char real[PATH_MAX];
    int rc = 0;
    if (strcmp(base, "/") == 0 || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        fprintf(stderr, "magpie backup: %s is not a file name\n", file);
        rc = MP_CLI_USAGE;
    } else if (realpath(dir, real) == NULL) {
        fprintf(stderr, "magpie backup: cannot use the directory %s: %s\n", dir, strerror(errno));
        rc = MP_CLI_FAIL;
    } else if ((size_t)snprintf(out, outlen, "%s/%s", strcmp(real, "/") == 0 ? "" : real, base) >=
               outlen) {
        fprintf(stderr, "magpie backup: the path %s is too long\n", file);
        rc = MP_CLI_USAGE;
    }
    free(a);
    free(b);
    return rc;
}

int mp_cli_backup(int argc, char **argv)
{
    if (mp_cli_wants_help(argc, argv)) {
        backup_usage(stdout);
        return MP_CLI_OK;
    }
    opts_t o = {0};
    int code = parse("magpie backup", argc, argv, true, &o, backup_usage);
    if (code != 0)
        return code;
    char path[PATH_MAX];
    if ((code = absolute(o.file, path, sizeof path)) != 0)
        return code;
    mp_cli_ctl_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return MP_CLI_FAIL;
    c->fd = -1;
    c->prog = "magpie backup";
    code = mp_cli_ctl_data_dir(c->prog, o.data, o.config, c->dir, sizeof c->dir) != 0
               ? MP_CLI_USAGE
               : mp_cli_ctl_open(c);
    if (code == 0) {
        /* No time limit: a large database takes as long as it takes, and
         * the server answers as soon as the copy is done (or failed). */
        json_t *ans = mp_cli_ctl_call(
            c, json_pack("{s:s, s:s, s:b}", "cmd", "backup", "file", path, "force", o.force), -1);
        code = ans == NULL ? MP_CLI_FAIL : mp_cli_ctl_answer_code(c->prog, ans);
        if (code == MP_CLI_OK && o.json) {
            json_object_del(ans, "ok");
            char *text = json_dumps(ans, JSON_INDENT(2) | JSON_SORT_KEYS);
            if (text != NULL)
                printf("%s\n", text);
            free(text);
        } else if (code == MP_CLI_OK) {
            printf("backup:         %s\nsize:           %lld bytes\nschema version: %lld\n"
                   "time:           %.3f s\n",
                   json_string_value(json_object_get(ans, "file")),
                   (long long)json_integer_value(json_object_get(ans, "bytes")),
                   (long long)json_integer_value(json_object_get(ans, "schema_version")),
                   (double)json_integer_value(json_object_get(ans, "ms")) / 1000.0);
        }
        json_decref(ans);
    }
    mp_cli_ctl_close(c);
    free(c);
    return code;
}

int mp_cli_check(int argc, char **argv)
{
    if (mp_cli_wants_help(argc, argv)) {
        check_usage(stdout);
        return MP_CLI_OK;
    }
    opts_t o = {0};
    int code = parse("magpie check", argc, argv, false, &o, check_usage);
    if (code != 0)
        return code;
    int version = 0;
    char msg[1024];
    mp_check_result_t r = mp_app_check_db(o.file, o.quick, &version, msg, sizeof msg);
    const char *what = o.quick ? "quick_check" : "integrity_check";
    switch (r) {
    case MP_CHECK_OK:
    case MP_CHECK_OLDER:
        printf("%s: ok (%s passed; %s)\n", o.file, what, msg);
        return MP_CLI_OK;
    case MP_CHECK_CORRUPT:
        fprintf(stderr, "magpie check: %s is damaged (%s failed): %s\n", o.file, what, msg);
        return MP_CLI_FAIL;
    case MP_CHECK_NEWER:
        fprintf(stderr, "magpie check: %s: %s passed, but its %s\n", o.file, what, msg);
        return MP_CLI_FAIL;
    case MP_CHECK_NOT_MAGPIE:
    case MP_CHECK_NOT_SQLITE:
    case MP_CHECK_ERROR:
        break;
    }
    fprintf(stderr, "magpie check: %s\n", msg);
    return MP_CLI_FAIL;
}
