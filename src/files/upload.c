/* POST /v1/files: a plain upload, the body streamed to a temporary file. */
#include "files/files_int.h"

void mp_files__route_upload(mp_http_req_t *req)
{
    mp_http_respond_error(req, MP_ERR_UNAVAILABLE, "uploads are not available yet");
}
