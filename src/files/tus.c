/* Resumable uploads: the tus 1.0 core protocol with the creation and
 * termination extensions. */
#include "files/files_int.h"

void mp_files__route_tus_options(mp_http_req_t *req)
{
    mp_http_respond(req, 204, NULL);
}

void mp_files__route_tus_create(mp_http_req_t *req)
{
    mp_http_respond_error(req, MP_ERR_UNAVAILABLE, "uploads are not available yet");
}

void mp_files__route_tus_get(mp_http_req_t *req)
{
    mp_http_respond_error(req, MP_ERR_NOT_FOUND, NULL);
}

void mp_files__route_tus_patch(mp_http_req_t *req)
{
    mp_http_respond_error(req, MP_ERR_NOT_FOUND, NULL);
}

void mp_files__route_tus_delete(mp_http_req_t *req)
{
    mp_http_respond_error(req, MP_ERR_NOT_FOUND, NULL);
}
