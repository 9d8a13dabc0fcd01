/* The sweep of files nothing references and of expired upload sessions. */
#include "files/files_int.h"

void mp_files__sweep_start(mp_files_t *files)
{
    (void)files;
}

void mp_files__sweep_stop(mp_files_t *files)
{
    (void)files;
}
