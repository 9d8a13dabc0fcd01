/* `magpie chat`: an interactive chat in the terminal (ncursesw), on a signed-in
 * session of src/remote. Prefix mp_tui_. */
#ifndef MP_TUI_TUI_H
#define MP_TUI_TUI_H

#include "remote/remote.h"

/* Runs the chat until the user quits. to: a TO argument (see mpr_resolve) to
 * open at start, or NULL for the conversation list. Returns an MPR_EXIT_
 * status; e is filled when it is not 0. */
int mp_tui_run(mpr_session_t *s, const char *to, mpr_err_t *e);

#endif
