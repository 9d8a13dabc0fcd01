/* The output of `magpie tail` (cmd_tail_print.c): one line per event, as
 * JSON (--json) or for people, flushed at once so that a pipe sees each line
 * when it happens. Private to cmd_tail*.c. */
#ifndef MP_CLI_TAIL_H
#define MP_CLI_TAIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "remote/remote.h"

typedef struct tail_out {
    bool json;
    mpr_names_t *names; /* borrowed: labels and usernames for the text form */
} tail_out_t;

/* Every function returns 0, or -1 when standard output cannot be written
 * (the caller then stops without saving its cursor). */

/* A message (m: the server's message object, borrowed): a new one, or with
 * edited set the new state of one printed before. */
int tail_print_message(const tail_out_t *out, json_t *m, bool edited);

/* A deletion: ev is {"event":"message_deleted","conversation","message_id",
 * "seq"?,"for"} (borrowed), printed as it is with --json; the text form
 * names sender (may be NULL) at at_ms. */
int tail_print_deleted(const tail_out_t *out, json_t *ev, const char *sender, int64_t at_ms);

/* Any other live event (receipt, typing, presence), borrowed: --json only;
 * the text form shows nothing. */
int tail_print_event(const tail_out_t *out, json_t *ev);

#endif
