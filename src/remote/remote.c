/* Placeholder: the implementation follows. */
#include "remote/remote.h"

#include <stdarg.h>
#include <stdio.h>

int mpr_fail(mpr_err_t *e, int exit, const char *code, const char *fmt, ...)
{
    e->exit = exit;
    snprintf(e->code, sizeof e->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return exit;
}

int mpr_report(const mpr_err_t *e)
{
    fprintf(stderr, "magpie: %s: %s\n", e->code, e->msg);
    return e->exit;
}
