/* Files: uploads (plain and resumable), downloads with access control and
 * signed URLs, thumbnails and avatars' renditions, and the sweep of files
 * nothing references (docs/media.md). The bytes go through the storage seam
 * (blobs/blobs.h); what a file is and what is derived from it comes from the
 * media library (media/media.h), run on the thread pool with bounded
 * concurrency; the records are in the store (store/files.h). */
#ifndef MP_FILES_FILES_H
#define MP_FILES_FILES_H

#include <stddef.h>

#include "core/module.h"
#include "net/http.h"

typedef struct mp_files mp_files_t;

/* Creates the module: opens the storage (cfg files_dir, or DATA/files),
 * reads the URL-signing key and starts the sweep timer. ctx must outlive
 * it; it is the module state of mp_files_routes. NULL with a message in err
 * on failure. mp_media_init must have run. */
mp_files_t *mp_files_new(const mp_module_ctx_t *ctx, char *err, size_t errlen);
/* Work handed to the thread pool and not finished yet (the app lets it
 * finish before freeing the module). */
size_t mp_files_pending(const mp_files_t *files);
/* NULL is ignored. No work may be pending. */
void mp_files_free(mp_files_t *files);

/* HTTP routes, ended by a zeroed entry (docs/protocol.md, "Files"). */
extern const mp_route_t mp_files_routes[];

#endif
