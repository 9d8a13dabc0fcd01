/* The `backup` operation of the control socket (`magpie backup FILE`): an
 * online copy of the SQLite database into a file the operator names, made
 * by the store on a thread of its own (store/backup.h). Control socket
 * only: see MP_ADMIN_CTL_OPS. Audited as "backup" with the file and its
 * size. */
#include <limits.h>
#include <stdio.h>

#include "admin/admin_int.h"
#include "store/backup.h"

static void on_backup(mp_err_t rc, const char *message, const mp_store_backup_info_t *info,
                      void *ud)
{
    mp_admin_call_t *call = ud;
    if (rc != MP_OK) {
        mp_admin__reply(call, rc, message, NULL);
        return;
    }
    const char *file = json_string_value(json_object_get(call->args, "file"));
    mp_admin__audit(call, "backup", 0,
                    json_pack("{s:s, s:I}", "file", file, "bytes", (json_int_t)info->bytes));
    mp_admin__reply(call, MP_OK, NULL,
                    json_pack("{s:s, s:I, s:I, s:i, s:I}", "file", file, "bytes",
                              (json_int_t)info->bytes, "pages", (json_int_t)info->pages,
                              "schema_version", info->schema_version, "ms", (json_int_t)info->ms));
}

void mp_admin__op_backup(mp_admin_call_t *call)
{
    const char *file = NULL;
    int force = 0;
    if (!mp_admin__arg_str(call, "file", true, PATH_MAX - 8, &file) ||
        !mp_admin__arg_bool(call, "force", &force))
        return;
    if (file[0] != '/') {
        mp_admin__reply(call, MP_ERR_BAD_REQUEST,
                        "field 'file' must be an absolute path (the server's working directory "
                        "is not the client's)",
                        NULL);
        return;
    }
    char err[300];
    mp_err_t rc = mp_store_backup(call->admin->ctx->store, file, force == 1, on_backup, call, err,
                                  sizeof err);
    if (rc != MP_OK)
        mp_admin__reply(call, rc, err, NULL);
}
