/* The client end of the control socket (DATA/control.sock, docs/protocol.md
 * "Administration"), shared by the commands that talk to a running server
 * through it: `magpie admin` and `magpie backup`. Messages go to stderr,
 * prefixed with the command's name. */
#ifndef MP_CLI_CTL_H
#define MP_CLI_CTL_H

#include <jansson.h>
#include <stddef.h>

#include "proto/control.h"

typedef struct mp_cli_ctl {
    const char *prog; /* "magpie admin": the prefix of every message */
    int fd;           /* -1 when not connected */
    char dir[1024];   /* the data directory */
    char buf[MP_CTL_LINE_MAX + 2];
    size_t len;
} mp_cli_ctl_t;

/* The data directory: data (--data) when not NULL, else the `data` setting
 * as serve reads it (config, else $MAGPIE_CONFIG; MAGPIE_DATA; the default).
 * Returns 0, or -1 after printing why. */
int mp_cli_ctl_data_dir(const char *prog, const char *data, const char *config, char *out,
                        size_t outlen);

/* Connects to c->dir's socket (c->prog and c->dir set). Returns 0, or
 * MP_CLI_OFFLINE (3) after printing that no server runs there. */
int mp_cli_ctl_open(mp_cli_ctl_t *c);
/* Closes the connection, if any. */
void mp_cli_ctl_close(mp_cli_ctl_t *c);

/* Sends req (stolen; its text is wiped from memory after sending, it may
 * hold a password) and reads one answer line, waiting at most timeout_ms
 * (< 0: as long as the server keeps the connection). Returns the answer
 * object, or NULL after printing why. */
json_t *mp_cli_ctl_call(mp_cli_ctl_t *c, json_t *req, int timeout_ms);

/* The exit code of an answer: MP_CLI_OK, or MP_CLI_FAIL after printing the
 * server's message and error code. */
int mp_cli_ctl_answer_code(const char *prog, const json_t *ans);

#endif
