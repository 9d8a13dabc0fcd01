/* Downloads: the file, its thumbnail, its record, and the caller's list. */
#include "files/files_int.h"

void mp_files__route_download(mp_http_req_t *req)
{
    mp_http_respond_error(req, MP_ERR_NOT_FOUND, NULL);
}

void mp_files__route_thumbnail(mp_http_req_t *req)
{
    mp_http_respond_error(req, MP_ERR_NOT_FOUND, NULL);
}

void mp_files__route_info(mp_http_req_t *req)
{
    mp_http_respond_error(req, MP_ERR_NOT_FOUND, NULL);
}

void mp_files__route_list(mp_http_req_t *req)
{
    mp_http_respond(req, 200, json_pack("{s:[]}", "files"));
}
