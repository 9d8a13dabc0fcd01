/* The module's work on the thread pool, media processing bounded by
 * media_workers. */
#include "files/files_int.h"

void mp_files__work(mp_files_t *files, bool heavy, void (*fn)(void *ud), void (*done)(void *ud),
                    void *ud)
{
    (void)files, (void)heavy;
    fn(ud);
    done(ud);
}
