/* Module life of files, and its route table. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "files/files_int.h"
#include "util/alloc.h"

/* Most users with an upload bucket at once; an idle bucket refills and is
 * dropped first when the table is full. */
#define UPLOAD_LIMIT_KEYS 65536

mp_files_t *mp_files_new(const mp_module_ctx_t *ctx, char *err, size_t errlen)
{
    const mp_config_t *cfg = ctx->cfg;
    char dir[sizeof cfg->files_dir + 16];
    if (cfg->files_dir[0] != '\0')
        snprintf(dir, sizeof dir, "%s", cfg->files_dir);
    else if ((size_t)snprintf(dir, sizeof dir, "%s/files", cfg->data_dir) >= sizeof dir) {
        snprintf(err, errlen, "data directory path too long for files");
        return NULL;
    }
    mp_blobs_t *blobs = mp_blobs_open_dir(dir, err, errlen);
    if (blobs == NULL)
        return NULL;
    mp_files_t *files = mp_calloc(1, sizeof *files);
    files->ctx = ctx;
    files->blobs = blobs;
    files->limits = (mp_media_limits_t){
        .max_pixels = cfg->max_image_pixels,
        .timeout_ms = cfg->media_timeout_ms,
        .memory = cfg->media_memory,
    };
    files->upload_limit =
        mp_ratelimit_new(cfg->upload_burst, cfg->upload_rate / 60.0, UPLOAD_LIMIT_KEYS);
    mp_files__url_key_load(files);
    mp_files__sweep_start(files);
    return files;
}

size_t mp_files_pending(const mp_files_t *files)
{
    return files ? files->pending : 0;
}

void mp_files_free(mp_files_t *files)
{
    if (files == NULL)
        return;
    assert(files->pending == 0);
    mp_files__sweep_stop(files);
    mp_map_free(&files->tus_active);
    mp_ratelimit_free(files->upload_limit);
    mp_blobs_close(files->blobs);
    mp_free(files);
}

mp_files_t *mp_files__of(mp_http_req_t *req)
{
    return mp_http_req_mod(req);
}

#define USER (MP_ROUTE_AUTH | MP_ROUTE_GUEST_OK)
#define STREAM (MP_ROUTE_AUTH | MP_ROUTE_GUEST_OK | MP_ROUTE_BODY_STREAM)

/* Downloads are public routes: a signed URL carries no token, so the handler
 * checks either the bearer token or the signature itself. */
const mp_route_t mp_files_routes[] = {
    {"POST", "/v1/files", STREAM, mp_files__route_upload},
    {"GET", "/v1/files", USER, mp_files__route_list},
    {"GET", "/v1/files/{id}", MP_ROUTE_PUBLIC, mp_files__route_download},
    {"GET", "/v1/files/{id}/thumbnail", MP_ROUTE_PUBLIC, mp_files__route_thumbnail},
    {"GET", "/v1/files/{id}/info", USER, mp_files__route_info},
    {"POST", "/v1/files/{id}/url", USER | MP_ROUTE_JSON | MP_ROUTE_JSON_EMPTY_OK,
     mp_files__route_sign},
    {"OPTIONS", "/v1/uploads", MP_ROUTE_PUBLIC, mp_files__route_tus_options},
    {"POST", "/v1/uploads", USER, mp_files__route_tus_create},
    {"GET", "/v1/uploads/{id}", USER, mp_files__route_tus_get},
    {"PATCH", "/v1/uploads/{id}", STREAM, mp_files__route_tus_patch},
    {"DELETE", "/v1/uploads/{id}", USER, mp_files__route_tus_delete},
    {0},
};
