/* The control socket's line protocol (docs/protocol.md, "Administration"),
 * shared by the server's end (admin) and `magpie admin` (cli): one JSON
 * object per line each way, in the data directory's control.sock. */
#ifndef MP_PROTO_CONTROL_H
#define MP_PROTO_CONTROL_H

#include <jansson.h>
#include <stddef.h>

/* The socket's file name in the data directory. */
#define MP_CTL_SOCKET_NAME "control.sock"
/* The longest line either side accepts, without its newline. */
#define MP_CTL_LINE_MAX 65536
/* The longest command name. */
#define MP_CTL_CMD_MAX 63

/* Parses one request line (len bytes, no newline): a JSON object with a
 * string "cmd" of 1..MP_CTL_CMD_MAX bytes and optionally "id" (any JSON
 * value, echoed in the answer). Returns the arguments (a new object: the
 * request without "cmd" and "id") and copies the command into cmd. On error
 * returns NULL with a message in msg. *id is a new reference or NULL, set
 * even on error when the line was an object with an "id". */
json_t *mp_ctl_parse(const char *line, size_t len, char cmd[MP_CTL_CMD_MAX + 1], json_t **id,
                     char *msg, size_t msglen);

#endif
