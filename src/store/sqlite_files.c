/* Files in the SQLite store (store/files.h). */
#include <string.h>

#include "store/files.h"
#include "store/sqlite_files_int.h"
#include "store/sqlite_job.h"

static const char *const class_names[] = {"file", "image", "audio", "video"};

const char *mp_file_class_name(mp_file_class_t c)
{
    return (unsigned)c < 4 ? class_names[c] : "file";
}

bool mp_file_class_parse(const char *s, mp_file_class_t *out)
{
    for (unsigned i = 0; i < 4; i++)
        if (strcmp(s, class_names[i]) == 0) {
            *out = (mp_file_class_t)i;
            return true;
        }
    return false;
}

const mp_file_rendition_t *mp_file_rendition(const mp_file_row_t *f, const char *name)
{
    for (size_t i = 0; i < f->nrend; i++)
        if (strcmp(f->rend[i].name, name) == 0)
            return &f->rend[i];
    return NULL;
}

mp_err_t mp_store_file_create(mp_store_t *st, const mp_file_create_in_t *in, mp_file_created_fn cb,
                              void *ud)
{
    (void)st, (void)in, (void)cb, (void)ud;
    return MP_ERR_UNAVAILABLE;
}

mp_err_t mp_store_blob_by_sha(mp_store_t *st, const char *sha256, mp_file_fn cb, void *ud)
{
    (void)st, (void)sha256, (void)cb, (void)ud;
    return MP_ERR_UNAVAILABLE;
}

mp_err_t mp_store_file_usage(mp_store_t *st, uint64_t user_id, mp_file_usage_fn cb, void *ud)
{
    (void)st, (void)user_id, (void)cb, (void)ud;
    return MP_ERR_UNAVAILABLE;
}

mp_err_t mp_store_upload_create(mp_store_t *st, const mp_upload_row_t *u, uint64_t quota,
                                mp_upload_fn cb, void *ud)
{
    (void)st, (void)u, (void)quota, (void)cb, (void)ud;
    return MP_ERR_UNAVAILABLE;
}

mp_err_t mp_store_upload_get(mp_store_t *st, uint64_t id, uint64_t owner_id, int64_t now,
                             mp_upload_fn cb, void *ud)
{
    (void)st, (void)id, (void)owner_id, (void)now, (void)cb, (void)ud;
    return MP_ERR_UNAVAILABLE;
}

mp_err_t mp_store_upload_delete(mp_store_t *st, uint64_t id, uint64_t owner_id,
                                void (*cb)(mp_err_t rc, void *ud), void *ud)
{
    (void)st, (void)id, (void)owner_id, (void)cb, (void)ud;
    return MP_ERR_UNAVAILABLE;
}

mp_err_t mp_store_file_get(mp_store_t *st, uint64_t file_id, uint64_t user_id, bool guest,
                           uint64_t world_id, mp_file_fn cb, void *ud)
{
    (void)st, (void)file_id, (void)user_id, (void)guest, (void)world_id, (void)cb, (void)ud;
    return MP_ERR_UNAVAILABLE;
}

mp_err_t mp_store_file_list(mp_store_t *st, uint64_t user_id, uint64_t before_id, size_t limit,
                            mp_file_list_fn cb, void *ud)
{
    (void)st, (void)user_id, (void)before_id, (void)limit, (void)cb, (void)ud;
    return MP_ERR_UNAVAILABLE;
}

mp_err_t mp_store_file_sweep(mp_store_t *st, int64_t older_than, int64_t now, size_t limit,
                             mp_file_sweep_fn cb, void *ud)
{
    (void)st, (void)older_than, (void)now, (void)limit, (void)cb, (void)ud;
    return MP_ERR_UNAVAILABLE;
}

mp_err_t mp_store_secret(mp_store_t *st, const char *name, size_t len, mp_secret_fn cb, void *ud)
{
    (void)st, (void)name, (void)len, (void)cb, (void)ud;
    return MP_ERR_UNAVAILABLE;
}

mp_err_t mp_sqlite__file_access(mp_sql_conn_t *db, uint64_t file_id, uint64_t user_id, bool guest,
                                uint64_t world_id, mp_file_row_t *out)
{
    (void)db, (void)file_id, (void)user_id, (void)guest, (void)world_id, (void)out;
    return MP_ERR_NOT_FOUND;
}

mp_err_t mp_sqlite__file_ref_add(mp_sql_conn_t *db, uint64_t file_id, uint64_t message_id,
                                 uint64_t conversation_id)
{
    (void)db, (void)file_id, (void)message_id, (void)conversation_id;
    return MP_ERR_INTERNAL;
}

mp_err_t mp_sqlite__file_refs_drop(mp_sql_conn_t *db, uint64_t message_id)
{
    (void)db, (void)message_id;
    return MP_OK;
}
