/* Placeholder until the chat lands. */
#include "tui/tui.h"

int mp_tui_run(mpr_session_t *s, const char *to, mpr_err_t *e)
{
    (void)s;
    (void)to;
    return mpr_fail(e, MPR_EXIT_USAGE, "usage", "chat is not built yet");
}
