/* From the complete bytes of an upload to a file record. */
#include "files/files_int.h"

void mp_files__finalize(mp_files_t *files, const char *path, uint64_t owner_id, const char *name,
                        uint64_t upload_id, mp_files_final_fn cb, void *ud)
{
    (void)files, (void)path, (void)owner_id, (void)name, (void)upload_id;
    cb(MP_ERR_UNAVAILABLE, "not available yet", NULL, ud);
}
